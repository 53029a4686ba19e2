/*
 * Test guest "paging": turns on 32-bit paging, then PAE paging, then enters
 * 64-bit long mode on its own, and checks memory through different mappings
 * in each: aliases, remapping with INVLPG, not-present and read-only faults,
 * NX, accessed/dirty bits, large pages, and high canonical addresses.
 */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "rt/paging.h"

#define ALIAS_VA 0x40000000U
#define LARGE_VA 0x80000000U
#define LARGE_PA 0x00400000U
#define E1_EDX_NX BIT(20)
#define OPCODE_RET 0xc3
#define PF_VECTOR 14
#define GP_VECTOR 13

static u8 page_a[4096] __aligned(4096);
static u8 page_b[4096] __aligned(4096);

struct arg64 {
	u64 va, value, result;
};
int pg_store64(void);
int pg_load64(void);
int pg_try_load64(void);
int pg_try_call(u32 addr);

/* The mapping layer a phase uses: map one 4 KiB page, read its leaf entry. */
struct mapper {
	const char *mode;
	u32 cr3;
	void (*map)(u32 cr3, u32 va, u32 pa, u64 flags);
	u64 (*get)(u32 cr3, u32 va);
	void (*set)(u32 cr3, u32 va, u64 e);
};

static void fill(u8 *p, u8 seed)
{
	for (u32 i = 0; i < 4096; i++)
		p[i] = (u8)(seed + i * 13);
}

/* Write through one address, read through the other. */
static void check_alias(const struct mapper *m)
{
	volatile u32 *alias = (volatile u32 *)ALIAS_VA;
	u32 got_a, got_b;

	m->map(m->cr3, ALIAS_VA, (u32)page_a, PTE_P | PTE_W);
	invlpg(ALIAS_VA);
	fill(page_a, 1);
	fill(page_b, 2);
	alias[5] = 0xa11a5a11;
	got_a = ((u32 *)page_a)[5];
	rt_check(got_a == 0xa11a5a11 && alias[6] == ((u32 *)page_a)[6],
		 "paging %s: alias and identity mapping see the same page", m->mode);
	m->map(m->cr3, ALIAS_VA, (u32)page_b, PTE_P | PTE_W);
	invlpg(ALIAS_VA);
	got_b = alias[5];
	rt_check(got_b == ((u32 *)page_b)[5], "paging %s: remap + INVLPG shows the new page", m->mode);
}

/* Not-present and read-only pages fault with the right CR2 and error code. */
static void check_faults(const struct mapper *m)
{
	u32 v, before = rt_last_fault.count;
	int rc;

	m->map(m->cr3, ALIAS_VA, (u32)page_a, 0);
	invlpg(ALIAS_VA);
	rc = rt_try_read32(ALIAS_VA + 8, &v);
	rt_check(rc == -1 && rt_last_fault.vector == PF_VECTOR && rt_last_fault.cr2 == ALIAS_VA + 8 &&
		 !(rt_last_fault.error & (PF_ERR_P | PF_ERR_W)),
		 "paging %s: not-present read faults (#PF, cr2 0x%x, error 0x%x)", m->mode,
		 rt_last_fault.cr2, rt_last_fault.error);
	m->map(m->cr3, ALIAS_VA, (u32)page_a, PTE_P);
	invlpg(ALIAS_VA);
	write_cr0(read_cr0() | CR0_WP);
	rc = rt_try_read32(ALIAS_VA, &v);
	rt_check(rc == 0 && v == ((u32 *)page_a)[0], "paging %s: read-only page readable", m->mode);
	rc = rt_try_write32(ALIAS_VA + 4, 0x12345678);
	rt_check(rc == -1 && rt_last_fault.vector == PF_VECTOR &&
		 (rt_last_fault.error & (PF_ERR_P | PF_ERR_W)) == (PF_ERR_P | PF_ERR_W) &&
		 ((u32 *)page_a)[1] != 0x12345678,
		 "paging %s: write to a read-only page faults (error 0x%x)", m->mode, rt_last_fault.error);
	rt_check(rt_last_fault.count == before + 2, "paging %s: exactly two faults taken", m->mode);
}

/* The CPU (or the hypervisor's MMU) sets A on access and D on write. */
static void check_accessed_dirty(const struct mapper *m)
{
	volatile u32 *alias = (volatile u32 *)ALIAS_VA;
	u64 e;

	m->map(m->cr3, ALIAS_VA, (u32)page_a, PTE_P | PTE_W);
	invlpg(ALIAS_VA);
	(void)alias[0];
	e = m->get(m->cr3, ALIAS_VA);
	rt_check((e & PTE_A) && !(e & PTE_D), "paging %s: read sets A only (entry 0x%llx)", m->mode, e);
	alias[0] = 1;
	e = m->get(m->cr3, ALIAS_VA);
	rt_check((e & PTE_A) && (e & PTE_D), "paging %s: write sets D (entry 0x%llx)", m->mode, e);
}

/* A large page (4 MiB or 2 MiB) maps RAM at a different linear address. */
static void check_large(const struct mapper *m, u32 size)
{
	volatile u32 *phys = (volatile u32 *)(LARGE_PA + 0x1230);
	volatile u32 *virt = (volatile u32 *)(LARGE_VA + 0x1230);

	if (rt_ram_top() < LARGE_PA + size) {
		rt_skip("paging %s: large page (RAM ends at 0x%llx)", m->mode, rt_ram_top());
		return;
	}
	m->set(m->cr3, LARGE_VA, LARGE_PA | PTE_P | PTE_W | PTE_PS);
	invlpg(LARGE_VA);
	*phys = 0xb16b00b5;
	virt[1] = 0x600df00d;
	rt_check(*virt == 0xb16b00b5 && phys[1] == 0x600df00d,
		 "paging %s: %u KiB page aliases RAM", m->mode, size >> 10);
}

static void check_nx(const struct mapper *m)
{
	int rc;

	if (!(cpuid(0x80000000, 0).eax >= 0x80000001 && (cpuid(0x80000001, 0).edx & E1_EDX_NX))) {
		rt_skip("paging %s: NX not offered", m->mode);
		return;
	}
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	page_a[0] = OPCODE_RET;
	m->map(m->cr3, ALIAS_VA, (u32)page_a, PTE_P);
	invlpg(ALIAS_VA);
	rc = pg_try_call(ALIAS_VA);
	rt_check(rc == 0, "paging %s: code runs from an executable alias", m->mode);
	m->map(m->cr3, ALIAS_VA, (u32)page_a, PTE_P | PTE_NX);
	invlpg(ALIAS_VA);
	rc = pg_try_call(ALIAS_VA);
	rt_check(rc == -1 && rt_last_fault.vector == PF_VECTOR && (rt_last_fault.error & PF_ERR_ID) &&
		 rt_last_fault.cr2 == ALIAS_VA,
		 "paging %s: fetch from an NX page faults (error 0x%x)", m->mode, rt_last_fault.error);
}

/* ---- 32-bit paging ---- */
static void map32(u32 cr3, u32 va, u32 pa, u64 flags) { pg32_map4k(cr3, va, pa, (u32)flags); }

static u32 *pte32(u32 cr3, u32 va)
{
	u32 *pde = &((u32 *)cr3)[va >> 22];

	return (*pde & PTE_PS) ? pde : &((u32 *)(*pde & ~0xfffU))[(va >> 12) & 1023];
}

static u64 get32(u32 cr3, u32 va) { return *pte32(cr3, va); }
static void set32(u32 cr3, u32 va, u64 e) { ((u32 *)cr3)[va >> 22] = (u32)e; }

/* ---- PAE and 4-level share the leaf layout ---- */
static void map_pae(u32 cr3, u32 va, u32 pa, u64 flags) { pae_map4k(cr3, va, pa, flags); }
static u64 get_pae(u32 cr3, u32 va) { return *pae_entry(cr3, va); }
static void set_pae(u32 cr3, u32 va, u64 e) { *pae_entry(cr3, va) = e; }

static u64 *lm_entry(u32 cr3, u64 va)
{
	u64 *t = (u64 *)cr3;

	for (int shift = 39; shift >= 12; shift -= 9) {
		u64 *e = &t[(va >> shift) & 511];

		if (shift == 12 || (*e & PTE_PS))
			return e;
		t = (u64 *)(u32)(*e & 0x000ffffffffff000ULL);
	}
	return NULL;
}

static void map_lm(u32 cr3, u32 va, u32 pa, u64 flags) { lm_map4k(cr3, va, pa, flags); }
static u64 get_lm(u32 cr3, u32 va) { return *lm_entry(cr3, va); }
static void set_lm(u32 cr3, u32 va, u64 e) { *lm_entry(cr3, va) = e; }

static void run_checks(const struct mapper *m, u32 large, bool nx)
{
	check_alias(m);
	check_faults(m);
	check_accessed_dirty(m);
	check_large(m, large);
	if (nx)
		check_nx(m);
}

/* 64-bit code: an address above 4 GiB and a high canonical one, and a non-canonical one. */
static void check_64bit(u32 cr3)
{
	static struct arg64 a;
	u64 high = 0xffff800000000000ULL, user = 0x00007ffffffff000ULL;
	u32 rc, vec, cr2;

	lm_map4k(cr3, high, (u32)page_a, PTE_P | PTE_W);
	lm_map4k(cr3, user, (u32)page_b, PTE_P | PTE_W);
	a = (struct arg64){ high + 0x40, 0x0123456789abcdefULL, 0 };
	rt_call64((u32)pg_store64, (u32)&a);
	rt_check(*(u64 *)(page_a + 0x40) == 0x0123456789abcdefULL,
		 "paging long: 64-bit store through 0x%llx", high + 0x40);
	*(u64 *)(page_b + 0x80) = 0xfedcba9876543210ULL;
	a = (struct arg64){ user + 0x80, 0, 0 };
	rt_call64((u32)pg_load64, (u32)&a);
	rt_check(a.result == 0xfedcba9876543210ULL, "paging long: 64-bit load through 0x%llx", user);
	a = (struct arg64){ 0x0000800000000000ULL, 0, 0 };
	rc = rt_call64((u32)pg_try_load64, (u32)&a);
	vec = rt_last_fault.vector;
	rt_check(rc == 1 && vec == GP_VECTOR, "paging long: non-canonical load raises #GP (vector %u)",
		 vec);
	a = (struct arg64){ 0x0000000500000000ULL, 0, 0 };
	rc = rt_call64((u32)pg_try_load64, (u32)&a);
	vec = rt_last_fault.vector;
	cr2 = rt_last_fault.cr2;
	rt_check(rc == 1 && vec == PF_VECTOR && cr2 == 0,
		 "paging long: unmapped address above 4 GiB raises #PF (vector %u, cr2 low half 0x%x)",
		 vec, cr2);
}

void guest_main(void)
{
	struct mapper m32 = { "32-bit", pg32_identity(), map32, get32, set32 };
	struct mapper pae = { "PAE", 0, map_pae, get_pae, set_pae };
	struct mapper lm = { "long", 0, map_lm, get_lm, set_lm };

	pg32_enable(m32.cr3);
	rt_check(read_cr0() & CR0_PG, "paging 32-bit: enabled");
	run_checks(&m32, 4 << 20, false);

	write_cr0(read_cr0() & ~CR0_PG);
	pae.cr3 = pae_identity();
	pae_enable(pae.cr3);
	rt_check((read_cr0() & CR0_PG) && (read_cr4() & CR4_PAE), "paging PAE: enabled");
	run_checks(&pae, 2 << 20, true);

	lm.cr3 = lm_identity();
	lm_enter(lm.cr3);
	rt_check(rt_in_long_mode(), "paging long: EFER.LMA set, running in compatibility mode");
	run_checks(&lm, 2 << 20, true);
	check_64bit(lm.cr3);
}
