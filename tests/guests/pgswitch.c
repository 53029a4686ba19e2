/*
 * Test guest "pgswitch": 16 address spaces (4-level paging), each with 16
 * private pages at the same linear addresses over a shared kernel mapping
 * (global 2 MiB pages). It switches CR3 between them thousands of times
 * (`rounds=N` rounds of 16 switches, default 256); after each switch it
 * checks that every private page holds what that space last wrote there,
 * writes new values, and every few switches changes page tables: swaps two
 * pages of the current space (INVLPG) or of another space (seen at its next
 * CR3 load). Prints the switches and TSC ticks per switch (exact under
 * -icount: see TESTING.md) for `make bench`.
 */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "rt/paging.h"

#define SPACES 16U
#define PAGES 16U
#define PRIVATE_VA 0x40000000U /* PDPTE 1 of every space */
#define CR4_PGE BIT(7)
#define PTE_G BIT(8) /* global (SDM 4.10.2.4) */
#define DEFAULT_ROUNDS 256U

static u8 frames[SPACES][PAGES][4096] __aligned(4096);
static u64 pml4[SPACES][512] __aligned(4096), pdpt[SPACES][512] __aligned(4096);
static u64 pd[SPACES][512] __aligned(4096), pt[SPACES][512] __aligned(4096);
static u64 kernel_pd[2][512] __aligned(4096);
static u32 expected[SPACES][PAGES];

static u32 va_of(u32 p) { return PRIVATE_VA + p * 4096U; }

static void build(void)
{
	for (u32 e = 0; e < 512; e++) {
		kernel_pd[0][e] = ((u64)e << 21) | PTE_P | PTE_W | PTE_PS | PTE_G;
		kernel_pd[1][e] = (3ULL << 30) + ((u64)e << 21) + (PTE_P | PTE_W | PTE_PS | PTE_G);
	}
	for (u32 s = 0; s < SPACES; s++) {
		pml4[s][0] = (u32)pdpt[s] | PTE_P | PTE_W;
		pdpt[s][0] = (u32)kernel_pd[0] | PTE_P | PTE_W;
		pdpt[s][3] = (u32)kernel_pd[1] | PTE_P | PTE_W;
		pdpt[s][PRIVATE_VA >> 30] = (u32)pd[s] | PTE_P | PTE_W;
		pd[s][0] = (u32)pt[s] | PTE_P | PTE_W;
		for (u32 p = 0; p < PAGES; p++) {
			pt[s][p] = (u32)frames[s][p] | PTE_P | PTE_W;
			expected[s][p] = (s << 8) | p;
			*(u32 *)frames[s][p] = expected[s][p];
		}
	}
}

static u32 tag(u32 round, u32 s, u32 p) { return (round * 0x9e3779b1U) ^ (s << 20) ^ (p << 4) ^ 0x5; }

/* Swap the mappings of two private pages of space s (the contents travel with them). */
static void swap_pages(u32 s, u32 a, u32 b, bool current)
{
	u64 t = pt[s][a];
	u32 e = expected[s][a];

	pt[s][a] = pt[s][b];
	pt[s][b] = t;
	expected[s][a] = expected[s][b];
	expected[s][b] = e;
	if (current) {
		invlpg(va_of(a));
		invlpg(va_of(b));
	}
}

void guest_main(void)
{
	u32 rounds = rt_param("rounds", DEFAULT_ROUNDS), bad = 0, switches = 0;
	u64 t0, t1;

	build();
	lm_enter((u32)pml4[0]);
	write_cr4(read_cr4() | CR4_PGE);
	rt_check(rt_in_long_mode(), "pgswitch: 4-level paging with global kernel pages");
	t0 = rdtsc();
	for (u32 r = 0; r < rounds; r++) {
		for (u32 s = 0; s < SPACES; s++) {
			write_cr3((u32)pml4[s]);
			switches++;
			for (u32 p = 0; p < PAGES; p++) {
				volatile u32 *w = (volatile u32 *)va_of(p);

				if (*w != expected[s][p] && bad++ < 5)
					rt_fail("pgswitch: round %u space %u page %u holds 0x%x, want 0x%x", r,
						s, p, *w, expected[s][p]);
				expected[s][p] = tag(r, s, p);
				*w = expected[s][p];
			}
			if ((switches & 3) == 0)
				swap_pages(s, (r + s) % PAGES, (r + 3 * s + 1) % PAGES, true);
			else if ((switches & 7) == 1)
				swap_pages((s + 5) % SPACES, r % PAGES, (r + 7) % PAGES, false);
		}
	}
	t1 = rdtsc();
	rt_check(bad == 0, "pgswitch: %u switches between %u address spaces, every page as expected",
		 switches, SPACES);
	rt_printf("pgswitch: switches %u tsc_per_switch %llu\n", switches,
		  switches ? (t1 - t0) / switches : 0);
}
