/* Per-CPU descriptor tables: GDT, TSS with IST stacks (Intel SDM vol. 3A 3.4, 7.7). */
#include "asm/gdt.h"
#include "asm/trap.h"
#include "lib/string.h"

struct percpu *percpu_table[MAX_CPUS];
u32 nr_cpus = 1;

#define SEG_CODE64 0x00af9a000000ffffULL /* present, DPL0, execute/read, L=1 */
#define SEG_DATA 0x00cf92000000ffffULL   /* present, DPL0, read/write, 4 GiB */
#define SYS_TSS_AVAIL 0x9ULL

struct desc_ptr {
	u16 limit;
	u64 base;
} __packed;

static void gdt_set_tss(u64 *gdt, const struct tss64 *tss)
{
	u64 base = (u64)tss;
	u64 limit = sizeof(*tss) - 1;

	gdt[GDT_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (SYS_TSS_AVAIL << 40) |
			   BIT(47) | (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[GDT_TSS / 8 + 1] = base >> 32;
}

static void gdt_load(const u64 *gdt, size_t size)
{
	struct desc_ptr d = { (u16)(size - 1), (u64)gdt };

	__asm__ __volatile__(
		"lgdt %0\n\t"
		"pushq %1\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movl %2, %%eax\n\t"
		"movl %%eax, %%ds\n\t"
		"movl %%eax, %%es\n\t"
		"movl %%eax, %%ss\n\t"
		"xorl %%eax, %%eax\n\t"
		"movl %%eax, %%fs\n\t"
		: : "m"(d), "i"(GDT_KERNEL_CS), "i"(GDT_KERNEL_DS) : "rax", "memory");
}

/*
 * FPU/SSE usable by FXSAVE/FXRSTOR (the hypervisor itself never uses them: it
 * is built with -mgeneral-regs-only; guests' state is switched per thread).
 */
static void fpu_setup(void)
{
	write_cr0((read_cr0() & ~(X86_CR0_EM | X86_CR0_TS)) | X86_CR0_MP | X86_CR0_NE);
	write_cr4(read_cr4() | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT);
}

void cpu_setup(struct percpu *p, u32 cpu, u8 *ist_df, u8 *ist_nmi, u8 *ist_mc)
{
	fpu_setup();
	p->cpu = cpu;
	p->gdt[0] = 0;
	p->gdt[GDT_KERNEL_CS / 8] = SEG_CODE64;
	p->gdt[GDT_KERNEL_DS / 8] = SEG_DATA;
	memset(&p->tss, 0, sizeof(p->tss));
	p->ist_stacks[0] = ist_df;
	p->ist_stacks[1] = ist_nmi;
	p->ist_stacks[2] = ist_mc;
	p->tss.ist[IST_DF - 1] = (u64)ist_df + IST_STACK_SIZE;
	p->tss.ist[IST_NMI - 1] = (u64)ist_nmi + IST_STACK_SIZE;
	p->tss.ist[IST_MC - 1] = (u64)ist_mc + IST_STACK_SIZE;
	p->tss.iomap_base = sizeof(p->tss); /* no I/O permission bitmap */
	gdt_set_tss(p->gdt, &p->tss);
	gdt_load(p->gdt, 5 * sizeof(u64));
	/* GS must be loaded (as null) before the base is set: a selector load clears it. */
	__asm__ __volatile__("movl %0, %%gs" : : "r"(0));
	percpu_install(p);
	percpu_table[cpu] = p;
	__asm__ __volatile__("ltr %w0" : : "r"(GDT_TSS));
	idt_load();
}
