/* Test-guest runtime: single x86 instructions as inline functions (32-bit code). */
#ifndef GUEST_RT_CPU_H
#define GUEST_RT_CPU_H

#include "lib/types.h"
#include "asm/io.h" /* port I/O: the same wrappers as the hypervisor's */

struct cpuid_out {
	u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_out cpuid(u32 leaf, u32 sub)
{
	struct cpuid_out r;

	__asm__ __volatile__("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			     : "a"(leaf), "c"(sub));
	return r;
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (u64)hi << 32 | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ __volatile__("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return (u64)hi << 32 | lo;
}

static inline void cli(void) { __asm__ __volatile__("cli" : : : "memory"); }
static inline void sti(void) { __asm__ __volatile__("sti" : : : "memory"); }
static inline void hlt(void) { __asm__ __volatile__("hlt" : : : "memory"); }
/* STI's interrupt shadow covers the HLT: no wake-up is lost between the two. */
static inline void sti_hlt(void) { __asm__ __volatile__("sti; hlt" : : : "memory"); }
static inline void pause(void) { __asm__ __volatile__("pause" : : : "memory"); }

static inline u32 read_eflags(void)
{
	u32 f;

	__asm__ __volatile__("pushfl; popl %0" : "=r"(f));
	return f;
}

#define DEFINE_CR(n) \
	static inline u32 read_cr##n(void) \
	{ \
		u32 v; \
		__asm__ __volatile__("mov %%cr" #n ", %0" : "=r"(v)); \
		return v; \
	} \
	static inline void write_cr##n(u32 v) { __asm__ __volatile__("mov %0, %%cr" #n : : "r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)

static inline void invlpg(u32 va) { __asm__ __volatile__("invlpg (%0)" : : "r"(va) : "memory"); }

static inline u8 mmio_read8(u32 a) { return *(volatile u8 *)a; }
static inline u16 mmio_read16(u32 a) { return *(volatile u16 *)a; }
static inline u32 mmio_read32(u32 a) { return *(volatile u32 *)a; }
static inline void mmio_write8(u32 a, u8 v) { *(volatile u8 *)a = v; }
static inline void mmio_write16(u32 a, u16 v) { *(volatile u16 *)a = v; }
static inline void mmio_write32(u32 a, u32 v) { *(volatile u32 *)a = v; }

/* Architectural bits the guests use (Intel SDM vol. 3A 2.5, AMD APM vol. 2 3.1). */
#define CR0_PE BIT(0)
#define CR0_WP BIT(16)
#define CR0_PG BIT(31)
#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define EFLAGS_IF BIT(9)
#define EFLAGS_DF BIT(10)
#define MSR_APIC_BASE 0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_EFER 0xc0000080
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)

#endif
