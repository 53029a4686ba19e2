/* Test-guest runtime: page-table builders (32-bit, PAE, 4-level) and the switch to long mode. */
#include "rt/paging.h"
#include "rt/rt.h"
#include "rt/cpu.h"

#define PT_POOL_PAGES 64
#define PAGE 4096U
#define ADDR_MASK 0x000ffffffffff000ULL
#define TABLE_FLAGS (PTE_P | PTE_W | PTE_U)
#define CODE64_SEL 0x18
#define IDT_GATE_INT64 0x8e00
#define STUB_SIZE 16

static u8 pt_pool[PT_POOL_PAGES][PAGE] __aligned(4096);
static u32 pt_used;

void *rt_pt_page(void)
{
	if (pt_used >= PT_POOL_PAGES) {
		rt_fail("paging: out of page-table pages");
		rt_finish();
	}
	memset(pt_pool[pt_used], 0, PAGE);
	return pt_pool[pt_used++];
}

u32 pg32_identity(void)
{
	u32 *pd = rt_pt_page();

	for (u32 i = 0; i < 1024; i++)
		pd[i] = (i << 22) | PTE_P | PTE_W | PTE_U | PTE_PS;
	return (u32)pd;
}

void pg32_map4k(u32 cr3, u32 va, u32 pa, u32 flags)
{
	u32 *pd = (u32 *)cr3, *pde = &pd[va >> 22], *pt;

	if (*pde & PTE_PS) {
		u32 base = *pde & 0xffc00000U, f = *pde & 0xfffU & ~(u32)PTE_PS;

		pt = rt_pt_page();
		for (u32 i = 0; i < 1024; i++)
			pt[i] = (base + i * PAGE) | f;
		*pde = (u32)pt | TABLE_FLAGS;
	}
	pt = (u32 *)(*pde & ~0xfffU);
	pt[(va >> 12) & 1023] = (pa & ~0xfffU) | flags;
}

void pg32_enable(u32 cr3)
{
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3(cr3);
	write_cr0(read_cr0() | CR0_PG);
}

/* A page directory of 2 MiB identity pages for [gib * 1 GiB, +1 GiB). */
static u64 *identity_pd(u32 gib)
{
	u64 *pd = rt_pt_page();

	for (u32 i = 0; i < 512; i++)
		pd[i] = ((u64)gib << 30) + ((u64)i << 21) + (PTE_P | PTE_W | PTE_U | PTE_PS);
	return pd;
}

u32 pae_identity(void)
{
	u64 *pdpt = rt_pt_page();

	/* PAE PDPTEs take only P, PWT, PCD (SDM 4.4.1). */
	for (u32 i = 0; i < 4; i++)
		pdpt[i] = (u32)identity_pd(i) | PTE_P;
	return (u32)pdpt;
}

/* Split a 2 MiB PDE into a page table with the same mapping. */
static void split_2m(u64 *pde)
{
	u64 *pt = rt_pt_page(), base = *pde & ADDR_MASK & ~0x1fffffULL;
	u64 f = *pde & (0xfffULL | PTE_NX) & ~PTE_PS;

	for (u32 i = 0; i < 512; i++)
		pt[i] = (base + (u64)i * PAGE) | f;
	*pde = (u32)pt | TABLE_FLAGS;
}

u64 *pae_entry(u32 cr3, u32 va)
{
	u64 *pdpt = (u64 *)cr3;
	u64 *pd = (u64 *)(u32)(pdpt[va >> 30] & ADDR_MASK), *pde = &pd[(va >> 21) & 511];

	if (*pde & PTE_PS)
		return pde;
	return &((u64 *)(u32)(*pde & ADDR_MASK))[(va >> 12) & 511];
}

void pae_map4k(u32 cr3, u32 va, u64 pa, u64 flags)
{
	u64 *pdpt = (u64 *)cr3;
	u64 *pd = (u64 *)(u32)(pdpt[va >> 30] & ADDR_MASK), *pde = &pd[(va >> 21) & 511];

	if (*pde & PTE_PS)
		split_2m(pde);
	((u64 *)(u32)(*pde & ADDR_MASK))[(va >> 12) & 511] = (pa & ADDR_MASK) | flags;
}

void pae_enable(u32 cr3)
{
	write_cr4(read_cr4() | CR4_PAE);
	write_cr3(cr3);
	write_cr0(read_cr0() | CR0_PG);
}

u32 lm_identity(void)
{
	u64 *pml4 = rt_pt_page(), *pdpt = rt_pt_page();

	for (u32 i = 0; i < 4; i++)
		pdpt[i] = (u32)identity_pd(i) | TABLE_FLAGS;
	pml4[0] = (u32)pdpt | TABLE_FLAGS;
	return (u32)pml4;
}

/* The next-level table under *e, created when absent. */
static u64 *next_table(u64 *e)
{
	if (!(*e & PTE_P))
		*e = (u32)rt_pt_page() | TABLE_FLAGS;
	else if (*e & PTE_PS)
		split_2m(e);
	return (u64 *)(u32)(*e & ADDR_MASK);
}

void lm_map4k(u32 cr3, u64 va, u64 pa, u64 flags)
{
	u64 *t = (u64 *)cr3;

	t = next_table(&t[(va >> 39) & 511]);
	t = next_table(&t[(va >> 30) & 511]);
	t = next_table(&t[(va >> 21) & 511]);
	t[(va >> 12) & 511] = (pa & ADDR_MASK) | flags;
}

struct idt64_gate {
	u16 off_lo, sel, flags, off_mid;
	u32 off_hi, reserved;
} __packed;

extern const u8 rt_isr64_stubs[];
static struct idt64_gate idt64[256] __aligned(16);

static void idt64_load(void)
{
	struct {
		u16 limit;
		u32 base;
	} __packed d = { sizeof(idt64) - 1, (u32)idt64 };

	for (u32 v = 0; v < 256; v++) {
		u32 a = (u32)rt_isr64_stubs + v * STUB_SIZE;

		idt64[v] = (struct idt64_gate){ (u16)a, CODE64_SEL, IDT_GATE_INT64, (u16)(a >> 16), 0, 0 };
	}
	__asm__ __volatile__("lidt %0" : : "m"(d));
}

void lm_enter(u32 cr3)
{
	u32 cr0 = read_cr0();

	if (cr0 & CR0_PG)
		write_cr0(cr0 & ~CR0_PG);
	idt64_load();
	write_cr4(read_cr4() | CR4_PAE);
	write_cr3(cr3);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_LME);
	write_cr0(read_cr0() | CR0_PG);
}

bool rt_in_long_mode(void) { return (rdmsr(MSR_EFER) & EFER_LMA) != 0; }

/* Reached through IRET from the 64-bit exception stub when no recovery was armed. */
void rt_fatal64(void);

void rt_fatal64(void)
{
	rt_fail("unexpected exception %u (error 0x%x) in long mode at rip 0x%x, cr2 0x%x",
		rt_last_fault.vector, rt_last_fault.error, rt_last_fault.eip, rt_last_fault.cr2);
	rt_finish();
}
