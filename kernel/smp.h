/* Starting the other CPUs, and running functions on them (IPIs). */
#ifndef HV_KERNEL_SMP_H
#define HV_KERNEL_SMP_H

#include "lib/types.h"

/*
 * Start every enabled CPU of the MADT (INIT-SIPI-SIPI). Each gets its per-CPU
 * area, stacks and LAPIC, and then runs `ap_main_fn` (which must not return).
 * Boot CPU, after mm, ACPI, LAPIC and timers. Returns the number of CPUs online.
 */
u32 smp_boot_aps(void (*ap_main_fn)(void));
u32 smp_online_cpus(void);

/*
 * Run fn(arg) on `cpu` from its IPI handler (interrupts off there; fn must be
 * short and must not sleep). On this CPU it runs directly. With `wait`, return
 * after fn has finished. Returns 0, or -EINVAL for a CPU that is not online,
 * -ENOMEM when a non-waiting request cannot be queued.
 * Callable with interrupts off: while waiting the caller serves its own queue.
 */
typedef void (*smp_call_fn)(void *arg);
int smp_call_on_cpu(u32 cpu, smp_call_fn fn, void *arg, bool wait);
/* Same on every online CPU, this one included, in parallel; waits for all. */
void smp_call_on_all(smp_call_fn fn, void *arg);

/* Invalidate [va, va+size) in every CPU's TLB (size 0 or large: flush all). */
void tlb_shootdown(u64 va, u64 size);

/* Ask `cpu` to reschedule (VEC_IPI_RESCHED). */
void smp_send_resched(u32 cpu);

#endif
