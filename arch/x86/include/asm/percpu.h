/* Per-CPU data, reached through the GS base. */
#ifndef HV_ASM_PERCPU_H
#define HV_ASM_PERCPU_H

#include "lib/types.h"
#include "asm/msr.h"
#include "asm/cpu.h"

#define MAX_CPUS 64
#define IST_DF 1
#define IST_NMI 2
#define IST_MC 3
#define IST_STACK_SIZE 8192
#define KERNEL_STACK_SIZE 16384

struct thread;
struct run_queue;

struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;

/*
 * One per CPU, never freed. Written by the owning CPU only, except `online`
 * (set once by the CPU itself, read by all) and fields documented as atomic.
 */
struct percpu {
	struct percpu *self;     /* %gs:0 */
	struct thread *current;  /* %gs:8: the thread running here */
	u32 cpu;                 /* logical number, 0 = boot CPU */
	u32 apic_id;
	bool online;
	bool in_panic;
	u64 gdt[8] __aligned(16);
	struct tss64 tss __aligned(16);
	u8 *ist_stacks[3];       /* #DF, NMI, #MC */
	struct run_queue *rq;    /* owned by kernel/sched */
	u64 irq_count;           /* interrupts taken (atomic increments by self) */
	u64 idle_ns;             /* time in the idle thread */
	void *vcpu_state;        /* owned by hv/ backends */
};

extern struct percpu *percpu_table[MAX_CPUS];
extern u32 nr_cpus;          /* CPUs found in the MADT (possible) */

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;

	__asm__ __volatile__("movq %%gs:0, %0" : "=r"(p));
	return p;
}

static inline struct thread *current_thread(void)
{
	struct thread *t;

	__asm__ __volatile__("movq %%gs:8, %0" : "=r"(t));
	return t;
}

static inline u32 cpu_id(void) { return this_cpu()->cpu; }

static inline struct percpu *cpu_data(u32 cpu) { return percpu_table[cpu]; }

/* Make `p` this CPU's per-CPU area (sets GS base). */
static inline void percpu_install(struct percpu *p)
{
	p->self = p;
	wrmsr(MSR_GS_BASE, (u64)p);
}

#endif
