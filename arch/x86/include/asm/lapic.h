/* Local APIC in xAPIC (MMIO) or x2APIC (MSR) mode (Intel SDM vol. 3A ch. 11). */
#ifndef HV_ASM_LAPIC_H
#define HV_ASM_LAPIC_H

#include "lib/types.h"

/* ICR delivery modes (SDM 11.6.1) */
#define APIC_DM_FIXED 0x000
#define APIC_DM_NMI 0x400
#define APIC_DM_INIT 0x500
#define APIC_DM_STARTUP 0x600

/*
 * Enable this CPU's LAPIC (x2APIC when the CPU has it and `allow_x2apic`,
 * i.e. no `nox2apic` on the command line), spurious vector VEC_SPURIOUS,
 * error vector VEC_LAPIC_ERROR, TPR 0, LINT0 masked, LINT1 NMI on the boot
 * CPU, timer masked. Boot CPU first (lapic_init_bsp decides the mode for
 * every CPU and registers the error handler; needs the IDT), then each AP
 * with lapic_init_ap() on that AP.
 */
void lapic_init_bsp(bool allow_x2apic);
void lapic_init_ap(void);
bool lapic_is_x2apic(void);
/* This CPU's APIC id (32-bit in x2APIC mode, 8-bit in xAPIC mode; the CPUID one before init). */
u32 lapic_id(void);
/* End of interrupt for the in-service vector; any context, IRQs off; no-op before init. */
void lapic_eoi(void);

/*
 * Send an IPI: vector with delivery mode to one APIC id (the vector is
 * ignored for NMI and INIT; for STARTUP it is the trampoline's page number).
 * In xAPIC mode waits (bounded) for the previous and this IPI to be accepted.
 * Returns 0, -EINVAL for an id the mode cannot address, -ETIMEDOUT when the
 * delivery status never cleared. Any context; never sleeps, never logs.
 */
int lapic_send_ipi(u32 apic_id, u32 vector, u32 mode);
/* Same to all CPUs but this one (ICR destination shorthand). */
int lapic_send_ipi_all_but_self(u32 vector, u32 mode);

/*
 * Timer on VEC_LAPIC_TIMER, this CPU only (SDM 11.5.4). Need the calibration
 * of time_init(); before it they do nothing. One-shot after `ns` (0 stops
 * it), periodic every `ns`; counts beyond the 32-bit counter are clamped.
 */
void lapic_timer_oneshot_ns(u64 ns);
void lapic_timer_periodic_ns(u64 ns);
void lapic_timer_stop(void);
/* LAPIC timer ticks per second (bus clock / divider), from calibration; 0 before. */
u64 lapic_timer_hz(void);
/* Divider in use (1 or 16). */
u32 lapic_timer_divider(void);

/*
 * For the calibration in time.c: select the divider (1 or 16) on this CPU,
 * start a masked one-shot count-down from `count`, read the current count,
 * and record the result (ticks per second at that divider) for every CPU.
 */
void lapic_timer_start_masked(u32 divider, u32 count);
u32 lapic_timer_current(void);
void lapic_timer_set_calibration(u32 divider, u64 hz);

#endif
