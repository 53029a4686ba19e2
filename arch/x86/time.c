/* TSC and LAPIC-timer calibration against the HPET or PIT; the TSC clock; busy-wait delays. */
#include "asm/time.h"
#include "lib/printf.h"
#include "arch/x86/timer_ref.h"
#include "asm/acpi.h"
#include "asm/cpu.h"
#include "asm/io.h"
#include "asm/irq_vectors.h"
#include "asm/lapic.h"
#include "asm/trap.h"
#include "kernel/log.h"

#define CAL_WINDOWS 5
#define CAL_WINDOW_US 10000
#define CAL_WAIT_LOOPS 20000000 /* reference never advancing: give up */
#define LAPIC_MIN_HZ 1000000ULL /* below this at /16, use /1 for resolution */
#define FALLBACK_TSC_HZ 1000000000ULL
#define SELFTEST_HZ 1000
#define SELFTEST_TICKS 50
/*
 * The check catches a miscalibrated timer (a wrong divider or clock is off by
 * a factor of 2 or more), not jitter: in an emulator on a loaded host the
 * median interval moves by tens of percent.
 */
#define SELFTEST_TOLERANCE_PCT 40

/* One calibration window: what each counter advanced while the reference ran ref_ns. */
struct cal_window {
	u64 tsc;
	u64 lapic;
	u64 ref_ns;
};

/* Written once by time_init() on the boot CPU, read-only afterwards. */
static u64 tsc_freq;
static u64 tsc_base;
static u64 tsc_ns_mult; /* ns = cycles * mult >> 32 */
static const char *reference;

u64 tsc_hz(void) { return tsc_freq; }
const char *time_reference(void) { return reference; }

u64 tsc_to_ns(u64 cycles) { return (u64)(((unsigned __int128)cycles * tsc_ns_mult) >> 32); }

u64 ns_to_tsc(u64 ns)
{
	return ns / NSEC_PER_SEC * tsc_freq + ns % NSEC_PER_SEC * tsc_freq / NSEC_PER_SEC;
}

u64 time_now_ns(void)
{
	if (!tsc_freq)
		return 0;
	return tsc_to_ns(rdtsc() - tsc_base);
}

void udelay(u64 us)
{
	u64 start, cycles;

	if (!tsc_freq) {
		while (us--)
			io_delay();
		return;
	}
	cycles = us / 1000000 * tsc_freq + us % 1000000 * tsc_freq / 1000000;
	start = rdtsc();
	while (rdtsc() - start < cycles)
		cpu_relax();
}

void mdelay(u64 ms)
{
	while (ms--)
		udelay(1000);
}

static int window_hpet(struct cal_window *w)
{
	u64 mask = hpet_counter_bits() == 32 ? 0xffffffffULL : ~0ULL;
	u64 want = CAL_WINDOW_US * hpet_hz() / 1000000;
	u64 r0, r, t0, l0, ticks;
	u32 i = 0;

	r0 = hpet_read();
	t0 = rdtsc();
	l0 = lapic_timer_current();
	do {
		if (++i > CAL_WAIT_LOOPS)
			return -ETIMEDOUT;
		r = hpet_read();
		ticks = (r - r0) & mask;
	} while (ticks < want);
	w->tsc = rdtsc() - t0;
	w->lapic = l0 - lapic_timer_current();
	w->ref_ns = ticks * NSEC_PER_SEC / hpet_hz();
	return 0;
}

static int window_pit(struct cal_window *w)
{
	u64 count = CAL_WINDOW_US * PIT_HZ / 1000000;
	u64 t0, l0;
	u32 i = 0;

	pit_oneshot_start((u16)count);
	t0 = rdtsc();
	l0 = lapic_timer_current();
	while (!pit_oneshot_done()) {
		if (++i > CAL_WAIT_LOOPS) {
			pit_oneshot_stop();
			return -ETIMEDOUT;
		}
	}
	w->tsc = rdtsc() - t0;
	w->lapic = l0 - lapic_timer_current();
	w->ref_ns = count * NSEC_PER_SEC / PIT_HZ;
	pit_oneshot_stop();
	return 0;
}

static void sort_u64(u64 *v, u32 n)
{
	for (u32 i = 1; i < n; i++)
		for (u32 j = i; j > 0 && v[j - 1] > v[j]; j--) {
			u64 t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

/*
 * Median over CAL_WINDOWS windows of the TSC and LAPIC-timer rates (Hz), the
 * LAPIC timer counting down at `divider`. *spread_ppm: max-min of the TSC
 * rates relative to the median. Returns 0 or -ETIMEDOUT.
 */
static int calibrate(bool use_hpet, u32 divider, u64 *tsc, u64 *lapic, u64 *spread_ppm)
{
	u64 t[CAL_WINDOWS], l[CAL_WINDOWS];
	struct cal_window w;
	u64 flags = irq_save();
	int err = 0;

	for (u32 i = 0; i < CAL_WINDOWS; i++) {
		lapic_timer_start_masked(divider, 0xffffffffU);
		err = use_hpet ? window_hpet(&w) : window_pit(&w);
		if (!err && w.ref_ns == 0)
			err = -ETIMEDOUT;
		if (err)
			break;
		t[i] = w.tsc * NSEC_PER_SEC / w.ref_ns;
		l[i] = w.lapic * NSEC_PER_SEC / w.ref_ns;
	}
	irq_restore(flags);
	if (err)
		return err;
	sort_u64(t, CAL_WINDOWS);
	sort_u64(l, CAL_WINDOWS);
	*tsc = t[CAL_WINDOWS / 2];
	*lapic = l[CAL_WINDOWS / 2];
	*spread_ppm = *tsc ? (t[CAL_WINDOWS - 1] - t[0]) * 1000000 / *tsc : 0;
	return 0;
}

static bool choose_reference(void)
{
	if (acpi.hpet_addr && hpet_init(acpi.hpet_addr) == 0) {
		reference = "HPET";
		return true;
	}
	if (acpi.hpet_addr)
		pr_warn("time: HPET at %#llx unusable, falling back to the PIT\n",
			(unsigned long long)acpi.hpet_addr);
	reference = "PIT";
	return false;
}

static volatile u32 selftest_ticks;
static u64 selftest_tsc[SELFTEST_TICKS];

static void selftest_irq(struct trap_frame *tf)
{
	u32 n = selftest_ticks;

	if (n < SELFTEST_TICKS)
		selftest_tsc[n] = rdtsc();
	selftest_ticks = n + 1;
	lapic_eoi();
}

/*
 * A periodic LAPIC timer must interrupt every 1/SELFTEST_HZ s by the TSC
 * clock. The median interval between interrupts is checked, not their count:
 * an emulator whose thread is descheduled merges pending timer interrupts.
 */
static void lapic_timer_selftest(void)
{
	u64 period_ns = NSEC_PER_SEC / SELFTEST_HZ, iv[SELFTEST_TICKS - 1], median;
	u64 start = rdtsc(), limit = ns_to_tsc(SELFTEST_TICKS * 4 * period_ns);
	u32 got;

	trap_set_handler(VEC_LAPIC_TIMER, selftest_irq);
	selftest_ticks = 0;
	lapic_timer_periodic_ns(period_ns);
	irq_enable();
	while (selftest_ticks < SELFTEST_TICKS && rdtsc() - start < limit)
		cpu_relax();
	irq_disable();
	lapic_timer_stop();
	trap_set_handler(VEC_LAPIC_TIMER, NULL);
	got = MIN(selftest_ticks, (u32)SELFTEST_TICKS);
	if (got < 3) {
		pr_warn("time: LAPIC timer check FAILED: %u interrupts in %llu ms\n", got,
			(unsigned long long)(tsc_to_ns(rdtsc() - start) / NSEC_PER_MSEC));
		return;
	}
	for (u32 i = 0; i + 1 < got; i++)
		iv[i] = tsc_to_ns(selftest_tsc[i + 1] - selftest_tsc[i]);
	sort_u64(iv, got - 1);
	median = iv[(got - 1) / 2];
	pr_info("time: LAPIC timer check %s: %u interrupts at %u Hz, median interval %llu us "
		"(expected %llu, min %llu, max %llu)\n",
		median * 100 < period_ns * (100 - SELFTEST_TOLERANCE_PCT) ||
				median * 100 > period_ns * (100 + SELFTEST_TOLERANCE_PCT)
			? "FAILED" : "ok",
		got, SELFTEST_HZ, (unsigned long long)(median / 1000),
		(unsigned long long)(period_ns / 1000), (unsigned long long)(iv[0] / 1000),
		(unsigned long long)(iv[got - 2] / 1000));
}

static void calibrate_all(bool use_hpet, u64 *spread)
{
	u32 divider = 16;
	u64 tsc = 0, lapic = 0, tsc1, lapic1;

	if (calibrate(use_hpet, divider, &tsc, &lapic, spread))
		tsc = lapic = 0;
	if (lapic && lapic < LAPIC_MIN_HZ &&
	    calibrate(use_hpet, 1, &tsc1, &lapic1, spread) == 0 && lapic1 > lapic) {
		divider = 1;
		lapic = lapic1;
	}
	if (!tsc) {
		pr_err("time: calibration by %s failed: assuming a %llu MHz TSC\n", reference,
		       (unsigned long long)(FALLBACK_TSC_HZ / 1000000));
		tsc = FALLBACK_TSC_HZ;
	}
	if (!lapic)
		pr_err("time: the LAPIC timer did not count: no timer interrupts\n");
	tsc_freq = tsc;
	lapic_timer_set_calibration(divider, lapic);
}

void time_init(void)
{
	bool use_hpet = choose_reference();
	u64 spread = 0;
	char ref[48];

	calibrate_all(use_hpet, &spread);
	tsc_ns_mult = (NSEC_PER_SEC << 32) / tsc_freq;
	tsc_base = rdtsc();
	log_set_clock(time_now_ns);
	if (use_hpet)
		ksnprintf(ref, sizeof(ref), "HPET (%llu Hz, %u-bit)", (unsigned long long)hpet_hz(),
			  hpet_counter_bits());
	else
		ksnprintf(ref, sizeof(ref), "PIT channel 2");
	pr_info("time: TSC %llu.%03llu MHz, LAPIC timer %llu Hz (bus / %u), calibrated by %s, "
		"median of %u x %u ms, TSC spread %llu ppm\n",
		(unsigned long long)(tsc_freq / 1000000), (unsigned long long)(tsc_freq / 1000 % 1000),
		(unsigned long long)lapic_timer_hz(), lapic_timer_divider(), ref, CAL_WINDOWS,
		CAL_WINDOW_US / 1000, (unsigned long long)spread);
	if (lapic_timer_hz())
		lapic_timer_selftest();
}
