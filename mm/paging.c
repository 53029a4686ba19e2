/* Host page tables: build the kernel address space at boot, map and unmap at run time. */
#include "mm/paging.h"
#include "mm/pgtable.h"
#include "mm/frame.h"
#include "mm/range.h"
#include "lib/string.h"
#include "asm/cpu.h"
#include "asm/msr.h"
#include "asm/page.h"
#include "asm/spinlock.h"
#include "kernel/log.h"
#include "kernel/panic.h"

#define CPUID_EXT_FEATURES 0x80000001U
#define CPUID_EXT_EDX_PDPE1GB BIT(26) /* 1 GiB pages (Intel SDM vol. 2A CPUID, AMD APM vol. 3 E.4.2) */
#define LOW_4G (1ULL << 32)
#define UPPER_HALF 0xffff800000000000UL
#define IDENTITY_LOW_SIZE LARGE_PAGE_SIZE

/* Linker symbols bounding the image's sections (linker.ld). */
extern char _rodata[], _data[];

/* paging_lock serializes every change to kernel_pt. */
static struct spinlock paging_lock = SPINLOCK_INIT;
static struct pgtable kernel_pt;
static u64 pte_nx;      /* X86_PTE_NX when EFER.NXE is on, else 0 */
static bool paging_live; /* the kernel tables are in CR3 */
static void (*tlb_shootdown_fn)(u64 va, u64 size);
static paddr_t low_pdpt; /* identity map of the first 2 MiB, built on first use */

static paddr_t kernel_table_alloc(void)
{
	/* Until CR3 switches, only the boot map's first 4 GiB are reachable. */
	paddr_t pa = paging_live ? frame_alloc(0) : frame_alloc_below(0, LOW_4G);

	if (pa)
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

static void kernel_flush(vaddr_t va)
{
	if (paging_live)
		invlpg((const void *)va);
}

static u64 pte_flags(u64 map_flags)
{
	u64 f = X86_PTE_P;

	if (map_flags & MAP_WRITE)
		f |= X86_PTE_RW;
	if (!(map_flags & MAP_EXEC))
		f |= pte_nx;
	if (map_flags & MAP_UNCACHED)
		f |= X86_PTE_PCD | X86_PTE_PWT;
	if (map_flags & MAP_GLOBAL)
		f |= X86_PTE_G;
	return f;
}

static void shootdown(vaddr_t va, u64 size)
{
	void (*fn)(u64, u64) = READ_ONCE(tlb_shootdown_fn);

	if (fn && paging_live)
		fn(va, size);
}

int paging_map(vaddr_t va, paddr_t pa, u64 size, u64 flags)
{
	u64 irq;
	int err;

	if (va < UPPER_HALF || va + size < va)
		return -EINVAL;
	irq = spin_lock_irqsave(&paging_lock);
	err = pgtable_map(&kernel_pt, va, pa, size, pte_flags(flags));
	spin_unlock_irqrestore(&paging_lock, irq);
	return err;
}

int paging_unmap(vaddr_t va, u64 size)
{
	u64 irq;
	int err;

	if (va < UPPER_HALF || va + size < va)
		return -EINVAL;
	irq = spin_lock_irqsave(&paging_lock);
	err = pgtable_unmap(&kernel_pt, va, size);
	spin_unlock_irqrestore(&paging_lock, irq);
	shootdown(va, size);
	return err;
}

void *paging_map_mmio(paddr_t pa, u64 size)
{
	paddr_t start = ALIGN_DOWN(pa, PAGE_SIZE);
	u64 len = ALIGN_UP(pa + size, PAGE_SIZE) - start;
	vaddr_t va = DIRECT_MAP_BASE + start;
	u64 irq;
	int err;

	if (!size || pa + size < pa || pa + size > DIRECT_MAP_SIZE)
		return NULL;
	if (!paging_live)
		return phys_to_virt(pa); /* the boot map covers the first 4 GiB */
	irq = spin_lock_irqsave(&paging_lock);
	err = pgtable_set(&kernel_pt, va, start, len, pte_flags(MAP_WRITE | MAP_UNCACHED));
	spin_unlock_irqrestore(&paging_lock, irq);
	shootdown(va, len);
	if (err) {
		pr_err("paging: cannot map MMIO %#llx+%#llx (%d)\n", (unsigned long long)pa,
		       (unsigned long long)size, err);
		return NULL;
	}
	return phys_to_virt(pa);
}

paddr_t paging_translate(vaddr_t va)
{
	u64 irq = spin_lock_irqsave(&paging_lock);
	paddr_t pa = pgtable_translate(&kernel_pt, va, NULL);

	spin_unlock_irqrestore(&paging_lock, irq);
	return pa;
}

paddr_t paging_kernel_cr3(void) { return kernel_pt.root; }

void paging_load_kernel(void) { write_cr3(kernel_pt.root); }

void paging_set_tlb_shootdown(void (*fn)(u64 va, u64 size)) { WRITE_ONCE(tlb_shootdown_fn, fn); }

int paging_identity_map_low(bool on)
{
	u64 *pml4 = phys_to_virt(kernel_pt.root);
	u64 irq = spin_lock_irqsave(&paging_lock);
	int err = 0;

	if (on && !low_pdpt) {
		paddr_t pdpt = kernel_table_alloc(), pd = kernel_table_alloc();

		if (pdpt && pd) {
			((u64 *)phys_to_virt(pd))[0] = X86_PTE_P | X86_PTE_RW | X86_PTE_PS;
			((u64 *)phys_to_virt(pdpt))[0] = pd | kernel_pt.table_flags;
			low_pdpt = pdpt;
		} else {
			if (pdpt)
				frame_free(pdpt, 0);
			if (pd)
				frame_free(pd, 0);
			err = -ENOMEM;
		}
	}
	if (!err)
		WRITE_ONCE(pml4[0], on ? low_pdpt | kernel_pt.table_flags : 0);
	spin_unlock_irqrestore(&paging_lock, irq);
	if (!err && !on) {
		flush_tlb_local();
		shootdown(0, IDENTITY_LOW_SIZE);
	}
	return err;
}

static void map_or_panic(vaddr_t va, paddr_t pa, u64 size, u64 flags, const char *what)
{
	int err = pgtable_map(&kernel_pt, va, pa, size, pte_flags(flags));

	if (err)
		panic("paging: cannot map %s %#llx+%#llx (%d)", what, (unsigned long long)pa,
		      (unsigned long long)size, err);
}

/* Image window: text RX, rodata R, data/ksyms/bss RW; all 4 KiB-grained. */
static void map_image(void)
{
	vaddr_t text = ALIGN_DOWN((vaddr_t)_text, PAGE_SIZE);
	vaddr_t rodata = (vaddr_t)_rodata, data = (vaddr_t)_data;
	vaddr_t end = ALIGN_UP((vaddr_t)_end, PAGE_SIZE);

	if (!(text <= ALIGN_UP((vaddr_t)_etext, PAGE_SIZE) && (vaddr_t)_etext <= rodata &&
	      rodata <= data && data <= end && IS_ALIGNED(rodata | data, PAGE_SIZE)))
		panic("paging: image sections out of order or misaligned (linker.ld)");
	map_or_panic(text, text - KERNEL_VMA, rodata - text, MAP_EXEC, "kernel text");
	if (data > rodata)
		map_or_panic(rodata, rodata - KERNEL_VMA, data - rodata, 0, "kernel rodata");
	map_or_panic(data, data - KERNEL_VMA, end - data, MAP_WRITE, "kernel data");
}

/* Direct map: the first 4 GiB, then RAM/ACPI/NVS ranges above it. */
static void map_direct(const struct boot_info *bi)
{
	static struct range buf[BOOT_MAX_MMAP];
	struct range_set set;

	range_set_init(&set, buf, ARRAY_SIZE(buf));
	for (u32 i = 0; i < bi->nr_mmap; i++) {
		const struct boot_mem_range *m = &bi->mmap[i];
		u64 s = MAX(m->base, LOW_4G), e = m->base + m->len;

		if (m->type != BOOT_MEM_RAM && m->type != BOOT_MEM_ACPI && m->type != BOOT_MEM_NVS)
			continue;
		if (e < m->base || e > DIRECT_MAP_SIZE)
			e = DIRECT_MAP_SIZE;
		if (s < e)
			range_set_add(&set, ALIGN_DOWN(s, PAGE_SIZE), ALIGN_UP(e, PAGE_SIZE));
	}
	map_or_panic(DIRECT_MAP_BASE, 0, LOW_4G, MAP_WRITE, "direct map");
	for (u32 i = 0; i < set.nr; i++)
		map_or_panic(DIRECT_MAP_BASE + set.r[i].start, set.r[i].start,
			     set.r[i].end - set.r[i].start, MAP_WRITE, "direct map");
}

/* Descriptor-table register image for SGDT/SIDT (Intel SDM vol. 3A 2.4). */
struct desc_reg {
	u16 limit;
	u64 base;
} __packed;

/* The GDT and IDT must stay reachable once the identity map is gone. */
static void check_descriptor_tables(void)
{
	struct desc_reg gdtr, idtr;

	__asm__ __volatile__("sgdt %0" : "=m"(gdtr));
	__asm__ __volatile__("sidt %0" : "=m"(idtr));
	if (pgtable_translate(&kernel_pt, gdtr.base, NULL) == (paddr_t)-1 ||
	    (idtr.limit && pgtable_translate(&kernel_pt, idtr.base, NULL) == (paddr_t)-1))
		panic("paging: GDT (%#llx) or IDT (%#llx) would be unmapped by the new tables",
		      (unsigned long long)gdtr.base, (unsigned long long)idtr.base);
}

static bool cpu_has_1g_pages(void)
{
	u32 a, b, c, d;

	cpuid(0x80000000U, &a, &b, &c, &d);
	if (a < CPUID_EXT_FEATURES)
		return false;
	cpuid(CPUID_EXT_FEATURES, &a, &b, &c, &d);
	return d & CPUID_EXT_EDX_PDPE1GB;
}

/* Spot checks of the new tables and of map/unmap/split on a scratch frame. */
static void paging_self_test(const struct boot_info *bi)
{
	vaddr_t text = (vaddr_t)_text;
	paddr_t pa = frame_alloc(0), top = 0;
	u64 leaf = 0;

	/* The last byte of the highest RAM range must be readable through the direct map. */
	for (u32 i = 0; i < bi->nr_mmap; i++)
		if (bi->mmap[i].type == BOOT_MEM_RAM && bi->mmap[i].len &&
		    bi->mmap[i].base + bi->mmap[i].len <= DIRECT_MAP_SIZE)
			top = MAX(top, bi->mmap[i].base + bi->mmap[i].len);
	if (top)
		(void)*(volatile u8 *)phys_to_virt(top - 1);

	BUG_ON(pgtable_translate(&kernel_pt, text, &leaf) != text - KERNEL_VMA);
	BUG_ON((leaf & X86_PTE_RW) || (leaf & X86_PTE_NX));
	BUG_ON(pgtable_translate(&kernel_pt, (vaddr_t)_data, &leaf) != (vaddr_t)_data - KERNEL_VMA);
	BUG_ON(!(leaf & X86_PTE_RW) || (leaf & X86_PTE_NX) != pte_nx);
	BUG_ON(pgtable_translate(&kernel_pt, (vaddr_t)_kernel_phys_start, NULL) != (paddr_t)-1);
	BUG_ON(!pa || paging_translate((vaddr_t)phys_to_virt(pa)) != pa);
	/* Remap the frame uncached in place (splits the large page around it). */
	BUG_ON(paging_map_mmio(pa, PAGE_SIZE) != phys_to_virt(pa));
	BUG_ON(pgtable_translate(&kernel_pt, (vaddr_t)phys_to_virt(pa), &leaf) != pa);
	BUG_ON(!(leaf & X86_PTE_PCD));
	*(volatile u64 *)phys_to_virt(pa) = 0x1234;
	BUG_ON(paging_translate((vaddr_t)phys_to_virt(pa) + PAGE_SIZE) != pa + PAGE_SIZE &&
	       pa + PAGE_SIZE < LOW_4G);
	frame_free(pa, 0);
	/* The optional low identity map comes and goes. */
	BUG_ON(paging_identity_map_low(true) || paging_translate(0x1000) != 0x1000);
	BUG_ON(paging_identity_map_low(false) || paging_translate(0x1000) != (paddr_t)-1);
}

void paging_init(const struct boot_info *bi)
{
	paddr_t root;

	pte_nx = (rdmsr(MSR_EFER) & EFER_NXE) ? X86_PTE_NX : 0;
	kernel_pt.has_1g = cpu_has_1g_pages();
	kernel_pt.table_flags = X86_PTE_P | X86_PTE_RW;
	kernel_pt.alloc_table = kernel_table_alloc;
	kernel_pt.flush = kernel_flush;
	root = kernel_table_alloc();
	if (!root)
		panic("paging: no memory below 4 GiB for the page tables");
	kernel_pt.root = root;
	map_image();
	map_direct(bi);
	check_descriptor_tables();
	write_cr3(root);
	paging_live = true;
	paging_self_test(bi);
	pr_info("paging: kernel CR3 %#llx, direct map with %s pages, NX %s\n",
		(unsigned long long)root, kernel_pt.has_1g ? "1 GiB" : "2 MiB",
		pte_nx ? "on" : "unavailable");
}
