/* Single-instruction wrappers and control-register bits (Intel SDM vol. 3A ch. 2). */
#ifndef HV_ASM_CPU_H
#define HV_ASM_CPU_H

#include "lib/types.h"

#define X86_CR0_PE BIT(0)
#define X86_CR0_MP BIT(1)
#define X86_CR0_EM BIT(2)
#define X86_CR0_TS BIT(3)
#define X86_CR0_ET BIT(4)
#define X86_CR0_NE BIT(5)
#define X86_CR0_WP BIT(16)
#define X86_CR0_AM BIT(18)
#define X86_CR0_NW BIT(29)
#define X86_CR0_CD BIT(30)
#define X86_CR0_PG BIT(31)

#define X86_CR4_VME BIT(0)
#define X86_CR4_PVI BIT(1)
#define X86_CR4_TSD BIT(2)
#define X86_CR4_DE BIT(3)
#define X86_CR4_PSE BIT(4)
#define X86_CR4_PAE BIT(5)
#define X86_CR4_MCE BIT(6)
#define X86_CR4_PGE BIT(7)
#define X86_CR4_PCE BIT(8)
#define X86_CR4_OSFXSR BIT(9)
#define X86_CR4_OSXMMEXCPT BIT(10)
#define X86_CR4_UMIP BIT(11)
#define X86_CR4_LA57 BIT(12)
#define X86_CR4_VMXE BIT(13)
#define X86_CR4_SMXE BIT(14)
#define X86_CR4_FSGSBASE BIT(16)
#define X86_CR4_PCIDE BIT(17)
#define X86_CR4_OSXSAVE BIT(18)
#define X86_CR4_SMEP BIT(20)
#define X86_CR4_SMAP BIT(21)
#define X86_CR4_PKE BIT(22)

#define X86_RFLAGS_CF BIT(0)
#define X86_RFLAGS_FIXED BIT(1)
#define X86_RFLAGS_PF BIT(2)
#define X86_RFLAGS_AF BIT(4)
#define X86_RFLAGS_ZF BIT(6)
#define X86_RFLAGS_SF BIT(7)
#define X86_RFLAGS_TF BIT(8)
#define X86_RFLAGS_IF BIT(9)
#define X86_RFLAGS_DF BIT(10)
#define X86_RFLAGS_OF BIT(11)

static inline void cpu_relax(void) { __asm__ __volatile__("pause" ::: "memory"); }
static inline void irq_disable(void) { __asm__ __volatile__("cli" ::: "memory"); }
static inline void irq_enable(void) { __asm__ __volatile__("sti" ::: "memory"); }
static inline void cpu_halt(void) { __asm__ __volatile__("hlt" ::: "memory"); }
/* Enable interrupts and halt with no window between them. */
static inline void irq_enable_and_halt(void) { __asm__ __volatile__("sti; hlt" ::: "memory"); }

static inline u64 read_rflags(void)
{
	u64 f;
	__asm__ __volatile__("pushfq; popq %0" : "=r"(f) : : "memory");
	return f;
}

static inline bool irqs_enabled(void) { return read_rflags() & X86_RFLAGS_IF; }

/* Save the interrupt flag and disable interrupts; restore with irq_restore(). */
static inline u64 irq_save(void)
{
	u64 f = read_rflags();
	irq_disable();
	return f;
}

static inline void irq_restore(u64 flags)
{
	if (flags & X86_RFLAGS_IF)
		irq_enable();
}

static inline void cpuid_count(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ __volatile__("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d) { cpuid_count(leaf, 0, a, b, c, d); }

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ __volatile__("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

#define DEFINE_CR_ACCESS(n)                                                        \
	static inline u64 read_cr##n(void)                                         \
	{                                                                          \
		u64 v;                                                             \
		__asm__ __volatile__("mov %%cr" #n ", %0" : "=r"(v) : : "memory"); \
		return v;                                                          \
	}                                                                          \
	static inline void write_cr##n(u64 v)                                      \
	{                                                                          \
		__asm__ __volatile__("mov %0, %%cr" #n : : "r"(v) : "memory");     \
	}
DEFINE_CR_ACCESS(0)
DEFINE_CR_ACCESS(2)
DEFINE_CR_ACCESS(3)
DEFINE_CR_ACCESS(4)
#undef DEFINE_CR_ACCESS

static inline void invlpg(const void *va) { __asm__ __volatile__("invlpg (%0)" : : "r"(va) : "memory"); }

static inline void flush_tlb_local(void) { write_cr3(read_cr3()); }

#endif
