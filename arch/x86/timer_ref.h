/* Reference clocks for calibrating the TSC and the LAPIC timer: HPET and PIT channel 2. */
#ifndef HV_ARCH_X86_TIMER_REF_H
#define HV_ARCH_X86_TIMER_REF_H

#include "lib/types.h"

/*
 * Map the HPET at `base` (from the ACPI HPET table), check its period and
 * start its main counter if it is stopped. Returns 0, or -ENODEV when it
 * cannot be mapped or reports an impossible period. Boot CPU, once.
 */
int hpet_init(paddr_t base);
/* Main-counter frequency in Hz (after hpet_init). */
u64 hpet_hz(void);
/* Main counter; only the low 32 bits are meaningful when hpet_counter_bits() is 32. */
u64 hpet_read(void);
u32 hpet_counter_bits(void);

#define PIT_HZ 1193182ULL

/*
 * PIT channel 2 as a one-shot (mode 0) gated through port 0x61: counting
 * starts when this returns; pit_oneshot_done() turns true after `count`
 * input clocks (count / PIT_HZ seconds). The speaker stays off.
 */
void pit_oneshot_start(u16 count);
bool pit_oneshot_done(void);
/* Gate off: stop channel 2. */
void pit_oneshot_stop(void);

#endif
