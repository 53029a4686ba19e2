/* Time keeping: calibrated TSC as the clock, HPET/PIT as the reference. */
#ifndef HV_ASM_TIME_H
#define HV_ASM_TIME_H

#include "lib/types.h"

/*
 * Calibrate the TSC and the LAPIC timer against the HPET (when the ACPI HPET
 * table exists) or the PIT channel 2. Boot CPU, after lapic_init_bsp().
 */
void time_init(void);
u64 tsc_hz(void);
/* Which reference calibrated: "HPET" or "PIT". */
const char *time_reference(void);
/* Nanoseconds since time_init() (TSC-based; monotonic on each CPU). */
u64 time_now_ns(void);
/* Busy-wait. */
void udelay(u64 us);
void mdelay(u64 ms);

#endif
