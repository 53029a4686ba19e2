/* Test-guest runtime: local APIC helpers (xAPIC MMIO at 0xfee00000). */
#include "rt/lapic.h"
#include "rt/cpu.h"

u32 lapic_read(u32 reg) { return mmio_read32(LAPIC_BASE + reg); }
void lapic_write(u32 reg, u32 v) { mmio_write32(LAPIC_BASE + reg, v); }

void lapic_enable(void)
{
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
}

u32 lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }
void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

void lapic_timer_start(u8 vector, u32 mode, u32 divide, u32 count)
{
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_write(LAPIC_TIMER_DIV, divide);
	lapic_write(LAPIC_LVT_TIMER, mode | vector);
	if (mode != LAPIC_TIMER_TSC_DEADLINE)
		lapic_write(LAPIC_TIMER_INIT, count);
}

void lapic_timer_stop(void)
{
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | LAPIC_SPURIOUS_VECTOR);
	lapic_write(LAPIC_TIMER_INIT, 0);
}

bool lapic_send_ipi(u32 dest_apic_id, u32 icr_lo)
{
	lapic_write(LAPIC_ICR_HI, dest_apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo);
	for (u32 i = 0; i < 1000000; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & LAPIC_ICR_PENDING))
			return true;
		pause();
	}
	return false;
}
