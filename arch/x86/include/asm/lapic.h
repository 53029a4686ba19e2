/* Local APIC in xAPIC (MMIO) or x2APIC (MSR) mode (Intel SDM vol. 3A ch. 11). */
#ifndef HV_ASM_LAPIC_H
#define HV_ASM_LAPIC_H

#include "lib/types.h"

/* ICR delivery modes */
#define APIC_DM_FIXED 0x000
#define APIC_DM_NMI 0x400
#define APIC_DM_INIT 0x500
#define APIC_DM_STARTUP 0x600

/*
 * Enable this CPU's LAPIC (x2APIC when the CPU has it, unless `nox2apic` is on
 * the command line), spurious vector VEC_SPURIOUS, error vector, TPR 0.
 * Boot CPU first (lapic_init_bsp decides the mode), then each AP.
 */
void lapic_init_bsp(bool allow_x2apic);
void lapic_init_ap(void);
bool lapic_is_x2apic(void);
u32 lapic_id(void);
void lapic_eoi(void);

/* Send an IPI: vector with delivery mode to one APIC id; waits for delivery in xAPIC mode. */
void lapic_send_ipi(u32 apic_id, u32 vector, u32 mode);
/* Fixed IPI to all CPUs but this one. */
void lapic_send_ipi_all_but_self(u32 vector, u32 mode);

/* Timer: one-shot after `ns` nanoseconds on VEC_LAPIC_TIMER (0 stops it). */
void lapic_timer_oneshot_ns(u64 ns);
void lapic_timer_periodic_ns(u64 ns);
void lapic_timer_stop(void);
/* LAPIC timer ticks per second (bus clock / divider), from calibration. */
u64 lapic_timer_hz(void);

#endif
