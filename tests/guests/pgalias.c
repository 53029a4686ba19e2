/*
 * Test guest "pgalias": one page mapped at thousands of linear addresses
 * (4-level paging). Writes through each alias must be seen through every
 * other; then half the aliases become read-only (writes through them fault,
 * #PF with error code and CR2 checked), a third are moved to another page,
 * and finally all are unmapped (not-present faults). A shadow MMU keeps a
 * reverse map of every mapping of the page: this stresses it.
 */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "rt/paging.h"

#define ALIASES 4096U
#define ALIAS_BASE 0x80000000U        /* PDPTE 2: 8 page tables of aliases */
#define WORDS 1024U
#define PF_VECTOR 14
#define PFEC_P BIT(0)
#define PFEC_W BIT(1)
#define TABLES (ALIASES / 512)

static u32 shared[WORDS] __aligned(4096), other[WORDS] __aligned(4096);
static u64 pml4[512] __aligned(4096), pdpt[512] __aligned(4096);
static u64 ident_pd[4][512] __aligned(4096), alias_pd[512] __aligned(4096);
static u64 alias_pt[TABLES][512] __aligned(4096);

static u32 va_of(u32 i) { return ALIAS_BASE + i * 4096U; }
static u64 *pte_of(u32 i) { return &alias_pt[i / 512][i % 512]; }
static u32 value_of(u32 i) { return i * 0x9e3779b1U + 0x1234U; }

static void build(void)
{
	for (u32 g = 0; g < 4; g++) {
		for (u32 e = 0; e < 512; e++)
			ident_pd[g][e] = ((u64)g << 30) + ((u64)e << 21) + (PTE_P | PTE_W | PTE_PS);
		pdpt[g] = (u32)ident_pd[g] | PTE_P | PTE_W;
	}
	for (u32 t = 0; t < TABLES; t++)
		alias_pd[t] = (u32)alias_pt[t] | PTE_P | PTE_W;
	pdpt[ALIAS_BASE >> 30] = (u32)alias_pd | PTE_P | PTE_W;
	pml4[0] = (u32)pdpt | PTE_P | PTE_W;
	for (u32 i = 0; i < ALIASES; i++)
		*pte_of(i) = (u32)shared | PTE_P | PTE_W;
}

/* Every alias writes its own word; each word must read back as its last writer left it. */
static void check_sharing(void)
{
	u32 bad = 0;

	for (u32 i = 0; i < ALIASES; i++)
		((volatile u32 *)va_of(i))[i % WORDS] = value_of(i);
	for (u32 w = 0; w < WORDS; w++) {
		u32 reader = (w * 2654435761U) % ALIASES, last = (ALIASES - WORDS) + w;

		if (((volatile u32 *)va_of(reader))[w] != value_of(last) || shared[w] != value_of(last))
			bad++;
	}
	rt_check(bad == 0, "pgalias: %u aliases of one page share every write (%u words wrong)",
		 ALIASES, bad);
}

/* Odd aliases read-only: writes there fault (P|W, CR2); even ones still write. */
static void check_read_only(void)
{
	u32 bad = 0, faults = 0;

	for (u32 i = 1; i < ALIASES; i += 2) {
		*pte_of(i) &= ~(u64)PTE_W;
		invlpg(va_of(i));
	}
	for (u32 i = 0; i < ALIASES; i += 7) {
		u32 before = rt_last_fault.count, addr = va_of(i) + (i % WORDS) * 4;
		int rc = rt_try_write32(addr, ~value_of(i));

		if (i & 1) {
			faults += rc != 0;
			if (rc == 0 || rt_last_fault.vector != PF_VECTOR ||
			    rt_last_fault.error != (PFEC_P | PFEC_W) || rt_last_fault.cr2 != addr ||
			    rt_last_fault.count != before + 1)
				bad++;
		} else if (rc != 0 || ((volatile u32 *)va_of(i + 1))[i % WORDS] != ~value_of(i)) {
			bad++;
		}
	}
	rt_check(bad == 0 && faults > 0,
		 "pgalias: read-only aliases fault on write (%u faults, %u wrong)", faults, bad);
}

/* Every third alias moves to another page. */
static void check_remap(void)
{
	u32 bad = 0;

	for (u32 w = 0; w < WORDS; w++)
		other[w] = ~w;
	for (u32 i = 0; i < ALIASES; i += 3) {
		*pte_of(i) = (u32)other | PTE_P | PTE_W;
		invlpg(va_of(i));
	}
	for (u32 i = 0; i < ALIASES; i += 5) {
		u32 w = (i * 13) % WORDS, want = (i % 3) ? shared[w] : other[w];

		if (((volatile u32 *)va_of(i))[w] != want)
			bad++;
	}
	rt_check(bad == 0, "pgalias: remapped aliases show the other page (%u wrong)", bad);
}

/* Unmapped: every alias faults not-present with its own CR2. */
static void check_unmap(void)
{
	u32 bad = 0, v;

	for (u32 i = 0; i < ALIASES; i++) {
		*pte_of(i) = 0;
		invlpg(va_of(i));
	}
	for (u32 i = 0; i < ALIASES; i += 11) {
		u32 addr = va_of(i) + 0x40;

		if (rt_try_read32(addr, &v) == 0 || rt_last_fault.vector != PF_VECTOR ||
		    rt_last_fault.error != 0 || rt_last_fault.cr2 != addr)
			bad++;
	}
	rt_check(bad == 0, "pgalias: unmapped aliases fault not-present (%u wrong)", bad);
}

void guest_main(void)
{
	build();
	lm_enter((u32)pml4);
	write_cr0(read_cr0() | CR0_WP);
	rt_check(rt_in_long_mode(), "pgalias: 4-level paging on");
	check_sharing();
	check_read_only();
	check_remap();
	check_unmap();
}
