/* Virtual LAPIC timer: one-shot, periodic and TSC-deadline modes, computed from time (SDM 11.5.4). */
#include "hv/dev/vlapic_internal.h"

/*
 * The timer is not a running counter: one-shot and periodic keep the time of
 * the next expiry, the current count is derived from the clock when read, and
 * expiries are processed lazily by vlapic_timer_sync (from vlapic_update, and
 * before every timer register write so an expiry is judged with the LVT mask
 * it happened under).
 */

#define NS_PER_TIMER_TICK (1000000000ULL / VLAPIC_TIMER_HZ)

u64 vlapic_now(const struct vlapic *l) { return l->hooks.now_ns ? l->hooks.now_ns(l->hooks.ctx) : 0; }

static u64 read_tsc(const struct vlapic *l)
{
	return l->hooks.read_tsc ? l->hooks.read_tsc(l->hooks.ctx) : 0;
}

static u32 timer_mode(const struct vlapic *l) { return APIC_LVT_TIMER_MODE(l->lvt[VLAPIC_LVT_TIMER]); }

static bool is_counting_mode(u32 mode) { return mode == APIC_TIMER_ONESHOT || mode == APIC_TIMER_PERIODIC; }

/* Divide configuration (SDM figure 11-10): bits 3,1,0 give 2, 4, ... 128, or 1 for 111b. */
static u64 ns_per_count(const struct vlapic *l)
{
	u32 code = ((l->tdcr & 8) >> 1) | (l->tdcr & 3);

	return (code == 7 ? 1ULL : 2ULL << code) * NS_PER_TIMER_TICK;
}

/* a * b / c without 128-bit division; b * c must fit in 64 bits. */
static u64 mul_div(u64 a, u64 b, u64 c) { return a / c * b + a % c * b / c; }

static void fire(struct vlapic *l, struct vlapic_post *post)
{
	u32 lvt = l->lvt[VLAPIC_LVT_TIMER];

	if (lvt & APIC_LVT_MASKED)
		return;
	if (vlapic_accept_irq_locked(l, lvt & 0xff, false, post))
		l->timer_fired++;
}

void vlapic_timer_sync(struct vlapic *l, u64 now, struct vlapic_post *post)
{
	switch (timer_mode(l)) {
	case APIC_TIMER_ONESHOT:
		if (l->timer_expire_ns && now >= l->timer_expire_ns) {
			l->timer_expire_ns = 0;
			fire(l, post);
		}
		break;
	case APIC_TIMER_PERIODIC:
		if (l->timer_expire_ns && now >= l->timer_expire_ns) {
			/* Expiries missed while the vCPU was away coalesce into one interrupt. */
			u64 missed = (now - l->timer_expire_ns) / l->timer_period_ns + 1;

			l->timer_expire_ns += missed * l->timer_period_ns;
			fire(l, post);
		}
		break;
	case APIC_TIMER_TSC_DEADLINE:
		if (l->tsc_deadline && read_tsc(l) >= l->tsc_deadline) {
			l->tsc_deadline = 0;
			fire(l, post);
		}
		break;
	default: /* mode 3 is reserved: the timer does nothing */
		break;
	}
}

/* Load the count from TMICT at `now` (TMICT 0 stops the timer). */
static void start_counting(struct vlapic *l, u64 now)
{
	if (!l->tmict || !is_counting_mode(timer_mode(l))) {
		l->timer_expire_ns = 0;
		l->timer_period_ns = 0;
		return;
	}
	l->timer_period_ns = (u64)l->tmict * ns_per_count(l);
	if (timer_mode(l) == APIC_TIMER_PERIODIC && l->timer_period_ns < VLAPIC_MIN_PERIOD_NS)
		l->timer_period_ns = VLAPIC_MIN_PERIOD_NS;
	l->timer_expire_ns = now + l->timer_period_ns;
}

u32 vlapic_timer_current_count(const struct vlapic *l, u64 now)
{
	u64 left, count;

	if (!is_counting_mode(timer_mode(l)) || !l->timer_expire_ns)
		return 0;
	if (now < l->timer_expire_ns)
		left = l->timer_expire_ns - now;
	else if (timer_mode(l) == APIC_TIMER_PERIODIC)
		left = l->timer_period_ns - (now - l->timer_expire_ns) % l->timer_period_ns;
	else
		return 0;
	count = left / ns_per_count(l);
	return (u32)MIN(count, (u64)l->tmict);
}

void vlapic_timer_write_lvt(struct vlapic *l, u32 val, struct vlapic_post *post)
{
	u32 old_mode = timer_mode(l);

	vlapic_timer_sync(l, vlapic_now(l), post);
	l->lvt[VLAPIC_LVT_TIMER] = val;
	/* A mode change disarms the timer (as KVM; SDM 11.5.4.1 for TSC-deadline). */
	if (timer_mode(l) != old_mode) {
		l->tmict = 0;
		l->timer_expire_ns = 0;
		l->timer_period_ns = 0;
		l->tsc_deadline = 0;
	}
}

void vlapic_timer_write_tmict(struct vlapic *l, u32 val, struct vlapic_post *post)
{
	u64 now = vlapic_now(l);

	/* In TSC-deadline mode TMICT writes are ignored (SDM 11.5.4.1). */
	if (timer_mode(l) == APIC_TIMER_TSC_DEADLINE)
		return;
	vlapic_timer_sync(l, now, post);
	l->tmict = val;
	start_counting(l, now);
}

void vlapic_timer_write_tdcr(struct vlapic *l, u32 val, struct vlapic_post *post)
{
	u64 now = vlapic_now(l);
	u32 left;

	vlapic_timer_sync(l, now, post);
	left = vlapic_timer_current_count(l, now);
	l->tdcr = val & 0xb;
	if (!l->timer_expire_ns)
		return;
	/* The counts left run on at the new rate. */
	l->timer_period_ns = (u64)l->tmict * ns_per_count(l);
	if (timer_mode(l) == APIC_TIMER_PERIODIC && l->timer_period_ns < VLAPIC_MIN_PERIOD_NS)
		l->timer_period_ns = VLAPIC_MIN_PERIOD_NS;
	l->timer_expire_ns = now + (u64)left * ns_per_count(l);
}

u64 vlapic_timer_read_deadline(const struct vlapic *l)
{
	return timer_mode(l) == APIC_TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
}

void vlapic_timer_write_deadline(struct vlapic *l, u64 val, struct vlapic_post *post)
{
	/* Outside TSC-deadline mode the MSR ignores writes (SDM 11.5.4.1). */
	if (timer_mode(l) != APIC_TIMER_TSC_DEADLINE)
		return;
	l->tsc_deadline = val;
	vlapic_timer_sync(l, vlapic_now(l), post);
}

u64 vlapic_timer_next_ns(const struct vlapic *l)
{
	u64 now, tsc, delta;

	if (l->lvt[VLAPIC_LVT_TIMER] & APIC_LVT_MASKED)
		return 0;
	if (is_counting_mode(timer_mode(l)))
		return l->timer_expire_ns;
	if (timer_mode(l) != APIC_TIMER_TSC_DEADLINE || !l->tsc_deadline)
		return 0;
	now = vlapic_now(l);
	tsc = read_tsc(l);
	if (tsc >= l->tsc_deadline || !l->hooks.tsc_hz)
		return MAX(now, 1ULL);
	delta = mul_div(l->tsc_deadline - tsc, 1000000000ULL, l->hooks.tsc_hz);
	if (delta > ~0ULL - now)
		return ~0ULL;
	return MAX(now + delta, 1ULL);
}

void vlapic_timer_reset(struct vlapic *l)
{
	l->tmict = 0;
	l->tdcr = 0;
	l->timer_expire_ns = 0;
	l->timer_period_ns = 0;
	l->tsc_deadline = 0;
}
