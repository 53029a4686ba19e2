/* Test guest "timer": HLT woken by the LAPIC timer in one-shot, periodic and TSC-deadline modes. */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "rt/lapic.h"

#define TIMER_VECTOR 0x40
#define L1_ECX_TSC_DEADLINE BIT(24)
#define MAX_HLTS 1000
#define PERIODIC_TICKS 5

static volatile u32 ticks;
static volatile u64 last_tick_tsc;

static void timer_irq(struct rt_frame *f)
{
	last_tick_tsc = rdtsc();
	ticks++;
	lapic_eoi();
}

/* HLT (interrupts enabled only across it) until `want` ticks arrived; false after MAX_HLTS. */
static bool wait_ticks(u32 want, u32 *hlts)
{
	*hlts = 0;
	while (READ_ONCE(ticks) < want) {
		if (++*hlts > MAX_HLTS)
			return false;
		sti_hlt();
		cli();
	}
	return true;
}

/* A long count: the current count runs down from it (timing-independent). */
static void test_counting(void)
{
	u32 c1, c2;

	ticks = 0;
	lapic_timer_start(TIMER_VECTOR, LAPIC_TIMER_ONESHOT, LAPIC_DIV_16, 0xf0000000U);
	c1 = lapic_read(LAPIC_TIMER_CUR);
	rt_spin(100000);
	c2 = lapic_read(LAPIC_TIMER_CUR);
	lapic_timer_stop();
	rt_check(c1 > 0 && c1 <= 0xf0000000U && c2 < c1 && ticks == 0,
		 "timer: current count runs down (0x%x, then 0x%x)", c1, c2);
	rt_check(lapic_read(LAPIC_TIMER_CUR) == 0, "timer: writing initial count 0 stops it");
}

static void test_oneshot(void)
{
	u32 hlts;
	u64 t0;
	bool ok;

	ticks = 0;
	t0 = rdtsc();
	lapic_timer_start(TIMER_VECTOR, LAPIC_TIMER_ONESHOT, LAPIC_DIV_16, 200000);
	ok = wait_ticks(1, &hlts);
	if (!rt_check(ok, "timer: one-shot woke HLT (%u HLTs)", hlts))
		return;
	rt_check(last_tick_tsc > t0, "timer: one-shot tick after arming");
	rt_check(lapic_read(LAPIC_TIMER_CUR) == 0, "timer: one-shot current count 0 after expiry");
	/* A one-shot timer fires once: nothing more may arrive. */
	sti();
	rt_spin(2000000);
	cli();
	rt_check(ticks == 1, "timer: one-shot fired exactly once (%u ticks)", ticks);
}

static void test_periodic(void)
{
	u32 hlts, after;
	bool ok;

	ticks = 0;
	lapic_timer_start(TIMER_VECTOR, LAPIC_TIMER_PERIODIC, LAPIC_DIV_16, 100000);
	ok = wait_ticks(PERIODIC_TICKS, &hlts);
	if (!rt_check(ok, "timer: periodic gave %u ticks (%u HLTs)", ticks, hlts)) {
		lapic_timer_stop();
		return;
	}
	rt_check(lapic_read(LAPIC_TIMER_CUR) != 0, "timer: periodic count reloads");
	lapic_timer_stop();
	/* A tick already pending when the timer stopped may still arrive; then none. */
	sti();
	rt_spin(100000);
	cli();
	after = ticks;
	sti();
	rt_spin(2000000);
	cli();
	rt_check(ticks == after, "timer: no tick after stopping the periodic timer (%u -> %u)", after,
		 ticks);
}

static void test_masked(void)
{
	u32 start;

	ticks = 0;
	lapic_timer_start(TIMER_VECTOR, LAPIC_TIMER_ONESHOT | LAPIC_LVT_MASKED, LAPIC_DIV_1, 1000);
	sti();
	rt_spin(2000000);
	cli();
	start = lapic_read(LAPIC_TIMER_CUR);
	rt_check(ticks == 0 && start == 0, "timer: masked timer counts down without interrupting "
		 "(%u ticks, count %u)", ticks, start);
	lapic_timer_stop();
}

static void test_deadline(void)
{
	u32 hlts;
	u64 deadline;
	bool ok;

	if (!(cpuid(1, 0).ecx & L1_ECX_TSC_DEADLINE)) {
		if (rt_under_hv())
			rt_fail("timer: TSC-deadline mode not offered in CPUID");
		else
			rt_skip("timer: TSC-deadline mode not offered in CPUID");
		return;
	}
	ticks = 0;
	lapic_timer_start(TIMER_VECTOR, LAPIC_TIMER_TSC_DEADLINE, LAPIC_DIV_1, 0);
	deadline = rdtsc() + 20000000;
	wrmsr(MSR_TSC_DEADLINE, deadline);
	ok = wait_ticks(1, &hlts);
	if (!rt_check(ok, "timer: TSC deadline woke HLT (%u HLTs)", hlts))
		return;
	rt_check(last_tick_tsc >= deadline, "timer: TSC-deadline tick not early (%lld cycles after)",
		 (long long)(last_tick_tsc - deadline));
	rt_check(rdmsr(MSR_TSC_DEADLINE) == 0, "timer: deadline MSR reads 0 after firing");
	/* A deadline in the past fires at once; writing 0 disarms. */
	ticks = 0;
	wrmsr(MSR_TSC_DEADLINE, 1);
	ok = wait_ticks(1, &hlts);
	rt_check(ok, "timer: past deadline fires at once (%u HLTs)", hlts);
	ticks = 0;
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + 5000000);
	wrmsr(MSR_TSC_DEADLINE, 0);
	sti();
	rt_spin(2000000);
	cli();
	rt_check(ticks == 0, "timer: writing 0 disarms the deadline (%u ticks)", ticks);
	lapic_timer_stop();
}

void guest_main(void)
{
	rt_set_irq_handler(TIMER_VECTOR, timer_irq);
	lapic_enable();
	rt_printf("timer: LAPIC id %u version 0x%x\n", lapic_id(), lapic_read(LAPIC_VERSION));
	test_counting();
	test_oneshot();
	test_periodic();
	test_masked();
	test_deadline();
}
