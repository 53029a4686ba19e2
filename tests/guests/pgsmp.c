/*
 * Test guest "pgsmp": paging on every vCPU at once (cpus=N, 2..8). Each CPU
 * enters 4-level paging and switches between its own 4 address spaces; all
 * address spaces of all CPUs share one page directory whose page table number
 * c belongs to CPU c, and each space has a private page table too. Each CPU,
 * concurrently, checks after every CR3 switch that its pages hold what it
 * last wrote, writes new values, and swaps page-table entries (its page table
 * in the shared directory, and the current space's private one) with INVLPG.
 * `rounds=N` rounds of 4 switches per CPU (default 200).
 */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "rt/lapic.h"
#include "rt/paging.h"

#define MAX_CPUS 8U
#define SPACES 4U
#define PAGES 8U
#define SHARED_VA 0x40000000U  /* PDPTE 1: the shared directory, 2 MiB per CPU */
#define PRIVATE_VA 0x80000000U /* PDPTE 2: a private directory per address space */
#define TRAMPOLINE 0x8000U
#define WAIT_SPINS 400000000U
#define DEFAULT_ROUNDS 200U
#define PTE_G BIT(8)
#define CR4_PGE BIT(7)

extern const u8 pgsmp_tramp_start[], pgsmp_tramp_end[];
void pgsmp_ap_main(u32 index);

static u8 shared_frames[MAX_CPUS][PAGES][4096] __aligned(4096);
static u8 private_frames[MAX_CPUS][SPACES][PAGES][4096] __aligned(4096);
static u64 pml4[MAX_CPUS][SPACES][512] __aligned(4096);
static u64 pdpt[MAX_CPUS][SPACES][512] __aligned(4096);
static u64 private_pd[MAX_CPUS][SPACES][512] __aligned(4096);
static u64 private_pt[MAX_CPUS][SPACES][512] __aligned(4096);
static u64 shared_pd[512] __aligned(4096), shared_pt[MAX_CPUS][512] __aligned(4096);
static u64 kernel_pd[2][512] __aligned(4096);
static u32 want_shared[MAX_CPUS][PAGES], want_private[MAX_CPUS][SPACES][PAGES];
static volatile u32 cpus_in, cpus_done, bad[MAX_CPUS], switches[MAX_CPUS];

static u32 shared_va(u32 c, u32 p) { return SHARED_VA + c * (2U << 20) + p * 4096U; }
static u32 private_va(u32 p) { return PRIVATE_VA + p * 4096U; }

static void build(u32 ncpus)
{
	for (u32 e = 0; e < 512; e++) {
		kernel_pd[0][e] = ((u64)e << 21) | PTE_P | PTE_W | PTE_PS | PTE_G;
		kernel_pd[1][e] = (3ULL << 30) + ((u64)e << 21) + (PTE_P | PTE_W | PTE_PS | PTE_G);
	}
	for (u32 c = 0; c < ncpus; c++) {
		shared_pd[c] = (u32)shared_pt[c] | PTE_P | PTE_W;
		for (u32 p = 0; p < PAGES; p++) {
			shared_pt[c][p] = (u32)shared_frames[c][p] | PTE_P | PTE_W;
			want_shared[c][p] = (c << 24) | p;
			*(u32 *)shared_frames[c][p] = want_shared[c][p];
		}
		for (u32 s = 0; s < SPACES; s++) {
			pml4[c][s][0] = (u32)pdpt[c][s] | PTE_P | PTE_W;
			pdpt[c][s][0] = (u32)kernel_pd[0] | PTE_P | PTE_W;
			pdpt[c][s][3] = (u32)kernel_pd[1] | PTE_P | PTE_W;
			pdpt[c][s][SHARED_VA >> 30] = (u32)shared_pd | PTE_P | PTE_W;
			pdpt[c][s][PRIVATE_VA >> 30] = (u32)private_pd[c][s] | PTE_P | PTE_W;
			private_pd[c][s][0] = (u32)private_pt[c][s] | PTE_P | PTE_W;
			for (u32 p = 0; p < PAGES; p++) {
				private_pt[c][s][p] = (u32)private_frames[c][s][p] | PTE_P | PTE_W;
				want_private[c][s][p] = (c << 24) | (s << 16) | 0x100 | p;
				*(u32 *)private_frames[c][s][p] = want_private[c][s][p];
			}
		}
	}
}

static void swap(u64 *pt, u32 *want, u32 a, u32 b, u32 va_a, u32 va_b)
{
	u64 e = pt[a];
	u32 w = want[a];

	pt[a] = pt[b];
	pt[b] = e;
	want[a] = want[b];
	want[b] = w;
	invlpg(va_a);
	invlpg(va_b);
}

static void check_page(u32 c, u32 va, u32 *want, u32 value)
{
	volatile u32 *w = (volatile u32 *)va;

	if (*w != *want && bad[c]++ < 3)
		rt_fail("pgsmp: CPU %u: 0x%x holds 0x%x, want 0x%x", c, va, *w, *want);
	*want = value;
	*w = value;
}

/* What every CPU runs, in 4-level paging in its own address spaces. */
static void work(u32 c)
{
	u32 rounds = rt_param("rounds", DEFAULT_ROUNDS);

	lm_enter((u32)pml4[c][0]);
	write_cr4(read_cr4() | CR4_PGE);
	__atomic_fetch_add(&cpus_in, 1, __ATOMIC_SEQ_CST);
	for (u32 r = 0; r < rounds; r++) {
		for (u32 s = 0; s < SPACES; s++) {
			write_cr3((u32)pml4[c][s]);
			switches[c]++;
			for (u32 p = 0; p < PAGES; p++) {
				u32 v = (r << 8) ^ (s << 4) ^ p ^ (c << 28);

				check_page(c, shared_va(c, p), &want_shared[c][p], v ^ 0x05a50000);
				check_page(c, private_va(p), &want_private[c][s][p], v ^ 0x0a5a0000);
			}
			if ((r + s) & 1)
				swap(shared_pt[c], want_shared[c], r % PAGES, (r + s + 1) % PAGES,
				     shared_va(c, r % PAGES), shared_va(c, (r + s + 1) % PAGES));
			else
				swap(private_pt[c][s], want_private[c][s], s % PAGES, (r + 3) % PAGES,
				     private_va(s % PAGES), private_va((r + 3) % PAGES));
		}
	}
	__atomic_fetch_add(&cpus_done, 1, __ATOMIC_SEQ_CST);
}

void pgsmp_ap_main(u32 index)
{
	rt_idt_load();
	if (index < rt_param("cpus", 1))
		work(index);
	for (;;) {
		cli();
		hlt();
	}
}

static u32 wait_for(volatile u32 *what, u32 want)
{
	for (u32 i = 0; i < WAIT_SPINS && READ_ONCE(*what) < want; i++)
		pause();
	return READ_ONCE(*what);
}

void guest_main(void)
{
	u32 cpus = rt_param("cpus", 0), total = 0, wrong = 0, done;
	bool sent;

	if (cpus < 2 || cpus > MAX_CPUS) {
		rt_skip("pgsmp: needs cpus=N (2..%u), got %u", MAX_CPUS, cpus);
		return;
	}
	build(cpus);
	lapic_enable();
	memcpy((void *)TRAMPOLINE, pgsmp_tramp_start, (size_t)(pgsmp_tramp_end - pgsmp_tramp_start));
	sent = lapic_send_ipi(0, LAPIC_ICR_INIT | LAPIC_ICR_ASSERT | LAPIC_ICR_ALL_BUT_SELF);
	rt_spin(100000);
	sent &= lapic_send_ipi(0, LAPIC_ICR_STARTUP | LAPIC_ICR_ASSERT | LAPIC_ICR_ALL_BUT_SELF |
				  (TRAMPOLINE >> 12));
	rt_spin(10000);
	sent &= lapic_send_ipi(0, LAPIC_ICR_STARTUP | LAPIC_ICR_ASSERT | LAPIC_ICR_ALL_BUT_SELF |
				  (TRAMPOLINE >> 12));
	rt_check(sent, "pgsmp: INIT-SIPI-SIPI sent");
	work(0);
	done = wait_for(&cpus_done, cpus);
	rt_check(done == cpus, "pgsmp: %u of %u CPUs finished", done, cpus);
	for (u32 c = 0; c < cpus; c++) {
		total += switches[c];
		wrong += bad[c];
	}
	rt_check(wrong == 0 && total >= cpus * SPACES,
		 "pgsmp: %u CPUs switched CR3 %u times among %u address spaces each, concurrently, "
		 "%u wrong pages", cpus, total, SPACES, wrong);
}
