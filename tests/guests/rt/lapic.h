/* Test-guest runtime: local APIC in xAPIC mode (Intel SDM vol. 3A ch. 10 / 11). */
#ifndef GUEST_RT_LAPIC_H
#define GUEST_RT_LAPIC_H

#include "lib/types.h"

#define LAPIC_BASE 0xfee00000U
#define LAPIC_ID 0x020
#define LAPIC_VERSION 0x030
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0

#define LAPIC_SVR_ENABLE BIT(8)
#define LAPIC_LVT_MASKED BIT(16)
#define LAPIC_TIMER_ONESHOT (0U << 17)
#define LAPIC_TIMER_PERIODIC (1U << 17)
#define LAPIC_TIMER_TSC_DEADLINE (2U << 17)
#define LAPIC_DIV_1 0xb
#define LAPIC_DIV_16 0x3

#define LAPIC_ICR_INIT (5U << 8)
#define LAPIC_ICR_STARTUP (6U << 8)
#define LAPIC_ICR_FIXED (0U << 8)
#define LAPIC_ICR_PENDING BIT(12)
#define LAPIC_ICR_ASSERT BIT(14)
#define LAPIC_ICR_LEVEL BIT(15)
#define LAPIC_ICR_SELF (1U << 18)
#define LAPIC_ICR_ALL_BUT_SELF (3U << 18)

#define LAPIC_SPURIOUS_VECTOR 0xff

u32 lapic_read(u32 reg);
void lapic_write(u32 reg, u32 v);
/* Software-enable the LAPIC (SVR), accept all priorities; records nothing else. */
void lapic_enable(void);
u32 lapic_id(void);
void lapic_eoi(void);
/* Timer: mode is one of LAPIC_TIMER_*; count is the initial count (ignored for deadline). */
void lapic_timer_start(u8 vector, u32 mode, u32 divide, u32 count);
void lapic_timer_stop(void);
/* Send an IPI and wait (bounded) until it left; false if it never did. */
bool lapic_send_ipi(u32 dest_apic_id, u32 icr_lo);

#endif
