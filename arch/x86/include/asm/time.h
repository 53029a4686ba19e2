/* Time keeping: calibrated TSC as the clock, HPET/PIT as the reference. */
#ifndef HV_ASM_TIME_H
#define HV_ASM_TIME_H

#include "lib/types.h"

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_USEC 1000ULL

/*
 * Calibrate the TSC and the LAPIC timer against the HPET (when the ACPI HPET
 * table exists and the HPET looks sane) or else PIT channel 2, print the
 * figures, make time_now_ns() the log clock, and check that a periodic LAPIC
 * timer interrupt fires at the calibrated rate (needs the IDT; briefly enables
 * interrupts). Boot CPU, after acpi_init(), pic_disable() and lapic_init_bsp().
 */
void time_init(void);
/* TSC ticks per second; 0 before time_init(). */
u64 tsc_hz(void);
/* Which reference calibrated: "HPET" or "PIT" (NULL before time_init()). */
const char *time_reference(void);
/*
 * Nanoseconds since time_init() (TSC-based; monotonic on each CPU; 0 before).
 * Any CPU, any context.
 */
u64 time_now_ns(void);
/* Conversions with the calibrated TSC rate. */
u64 tsc_to_ns(u64 cycles);
u64 ns_to_tsc(u64 ns);
/* Busy-wait. Before time_init() they fall back to port-0x80 delays (~1 us each on PCs). */
void udelay(u64 us);
void mdelay(u64 ms);

#endif
