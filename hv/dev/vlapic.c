/* Virtual local APIC: lifecycle, IRR/ISR/PPR, EOI, errors, IPIs and destinations (SDM 11.5-11.8). */
#include "hv/dev/vlapic_internal.h"
#include "mm/kmalloc.h"

#define LVT_WRITABLE_TIMER 0x000700ffU   /* vector, mask, timer mode (SDM figure 11-8) */
#define LVT_WRITABLE_LINT 0x0001a7ffU    /* vector, delivery mode, polarity, trigger, mask */
#define LVT_WRITABLE_DM 0x000107ffU      /* vector, delivery mode, mask (thermal, perf) */
#define LVT_WRITABLE_ERROR 0x000100ffU   /* vector, mask */
#define SVR_WRITABLE 0x000003ffU         /* vector, enable, focus check (no EOI suppression) */

static const u32 lvt_writable[VLAPIC_NR_LVT] = {
	[VLAPIC_LVT_TIMER] = LVT_WRITABLE_TIMER,
	[VLAPIC_LVT_THERMAL] = LVT_WRITABLE_DM,
	[VLAPIC_LVT_PERF] = LVT_WRITABLE_DM,
	[VLAPIC_LVT_LINT0] = LVT_WRITABLE_LINT,
	[VLAPIC_LVT_LINT1] = LVT_WRITABLE_LINT,
	[VLAPIC_LVT_ERROR] = LVT_WRITABLE_ERROR,
};

static void vec_set(u32 *map, u8 v) { map[v / 32] |= 1U << (v % 32); }
static void vec_clear(u32 *map, u8 v) { map[v / 32] &= ~(1U << (v % 32)); }
static bool vec_test(const u32 *map, u8 v) { return map[v / 32] & (1U << (v % 32)); }

/* Highest vector set in a 256-bit map, or -1. */
static int vec_highest(const u32 *map)
{
	for (int w = 7; w >= 0; w--)
		if (map[w])
			return w * 32 + 31 - __builtin_clz(map[w]);
	return -1;
}

u64 vlapic_lock(struct vlapic *l) { return spin_lock_irqsave(&l->lock); }

void vlapic_unlock_post(struct vlapic *l, u64 flags, struct vlapic_post *post)
{
	spin_unlock_irqrestore(&l->lock, flags);
	if (post->notify && l->hooks.notify)
		l->hooks.notify(l->hooks.ctx);
	if (post->eoi_vector >= 0 && l->hooks.eoi)
		l->hooks.eoi(l->hooks.ctx, (u8)post->eoi_vector);
	if (post->send && l->hooks.send_ipi)
		l->hooks.send_ipi(l->hooks.ctx, l, &post->ipi);
}

/* PPR from TPR and the highest in-service vector (SDM 11.8.3.1). */
u32 vlapic_ppr(const struct vlapic *l)
{
	int isrv = vec_highest(l->isr);
	u32 isr_class = isrv < 0 ? 0 : (u32)isrv & 0xf0;

	if ((l->tpr & 0xf0) >= isr_class)
		return l->tpr & 0xff;
	return isr_class;
}

bool vlapic_accept_irq_locked(struct vlapic *l, u8 vector, bool level, struct vlapic_post *post)
{
	if (vector < 16) {
		vlapic_error_locked(l, APIC_ESR_RECV_ILLEGAL_VECTOR, post);
		return false;
	}
	/* A software- or hardware-disabled APIC drops fixed interrupts (SDM 11.4.7.2). */
	if (!vlapic_hw_enabled(l) || !vlapic_sw_enabled(l))
		return false;
	vec_set(l->irr, vector);
	if (level)
		vec_set(l->tmr, vector);
	else
		vec_clear(l->tmr, vector);
	post->notify = true;
	return true;
}

void vlapic_error_locked(struct vlapic *l, u32 esr_bits, struct vlapic_post *post)
{
	u32 lvt = l->lvt[VLAPIC_LVT_ERROR];
	u8 vector = lvt & 0xff;

	l->esr_pending |= esr_bits;
	/* An illegal error vector would recurse: it only sets ESR. */
	if (!(lvt & APIC_LVT_MASKED) && vector >= 16)
		vlapic_accept_irq_locked(l, vector, false, post);
}

/* EOI clears the highest ISR bit; a level-triggered vector is broadcast (SDM 11.8.5). */
void vlapic_eoi_locked(struct vlapic *l, struct vlapic_post *post)
{
	int v = vec_highest(l->isr);

	if (v < 0)
		return;
	vec_clear(l->isr, (u8)v);
	if (vec_test(l->tmr, (u8)v))
		post->eoi_vector = v;
}

void vlapic_write_svr_locked(struct vlapic *l, u32 val)
{
	l->svr = val & SVR_WRITABLE;
	/* Software disable masks every LVT entry (SDM 11.4.7.2). */
	if (!vlapic_sw_enabled(l))
		for (int i = 0; i < VLAPIC_NR_LVT; i++)
			l->lvt[i] |= APIC_LVT_MASKED;
}

void vlapic_write_lvt_locked(struct vlapic *l, enum vlapic_lvt i, u32 val, struct vlapic_post *post)
{
	val &= lvt_writable[i];
	if (!vlapic_sw_enabled(l))
		val |= APIC_LVT_MASKED;
	if (i == VLAPIC_LVT_TIMER)
		vlapic_timer_write_lvt(l, val, post);
	else
		l->lvt[i] = val;
}

/* Decode an ICR write (SDM 11.6.1, 11.12.9) into an IPI. */
void vlapic_icr_write_locked(struct vlapic *l, u32 lo, u32 hi, struct vlapic_post *post)
{
	struct vlapic_ipi ipi = {
		.mode = (u8)APIC_ICR_MODE(lo),
		.vector = (u8)APIC_ICR_VECTOR(lo),
		.shorthand = (u8)APIC_ICR_SHORTHAND(lo),
		.logical = lo & APIC_ICR_LOGICAL,
		.level = lo & APIC_ICR_TRIGGER_LEVEL,
		.x2apic = vlapic_is_x2apic(l),
	};

	ipi.dest = ipi.x2apic ? hi : hi >> 24;
	/* Delivery is immediate: the delivery-status bit (12) always reads idle. */
	l->icr_lo = lo & ~BIT(12);
	l->icr_hi = hi;
	switch (ipi.mode) {
	case VLAPIC_DM_FIXED:
	case VLAPIC_DM_LOWEST:
		if (ipi.vector < 16) {
			vlapic_error_locked(l, APIC_ESR_SEND_ILLEGAL_VECTOR, post);
			return;
		}
		break;
	case VLAPIC_DM_INIT:
		/* INIT level de-assert only synchronizes arbitration IDs: nothing to do. */
		if (ipi.level && !(lo & APIC_ICR_LEVEL_ASSERT))
			return;
		break;
	case VLAPIC_DM_NMI:
	case VLAPIC_DM_SIPI:
		break;
	default: /* SMI, ExtINT and the reserved mode are not modelled */
		return;
	}
	if (ipi.shorthand == VLAPIC_SH_SELF && ipi.mode == VLAPIC_DM_FIXED) {
		vlapic_accept_irq_locked(l, ipi.vector, ipi.level, post);
		return;
	}
	post->send = true;
	post->ipi = ipi;
}

void vlapic_regs_reset_locked(struct vlapic *l)
{
	l->tpr = 0;
	l->ldr = 0;
	l->dfr = 0xffffffffU;
	l->svr = 0xff;
	for (int i = 0; i < 8; i++)
		l->isr[i] = l->tmr[i] = l->irr[i] = 0;
	l->esr = l->esr_pending = 0;
	l->icr_lo = l->icr_hi = 0;
	for (int i = 0; i < VLAPIC_NR_LVT; i++)
		l->lvt[i] = APIC_LVT_MASKED;
	vlapic_timer_reset(l);
}

struct vlapic *vlapic_create(const struct vlapic_hooks *hooks, u32 apic_id, bool bsp)
{
	struct vlapic *l = kzalloc(sizeof(*l));

	if (!l)
		return NULL;
	spin_lock_init(&l->lock);
	if (hooks)
		l->hooks = *hooks;
	l->initial_id = apic_id;
	l->apic_base = bsp ? APIC_BASE_BSP : 0;
	vlapic_reset(l);
	return l;
}

void vlapic_destroy(struct vlapic *l) { kfree(l); }

void vlapic_reset(struct vlapic *l)
{
	u64 f = vlapic_lock(l);

	l->id = l->initial_id;
	l->apic_base = VLAPIC_DEFAULT_BASE | APIC_BASE_EN | (l->apic_base & APIC_BASE_BSP);
	vlapic_regs_reset_locked(l);
	spin_unlock_irqrestore(&l->lock, f);
}

void vlapic_init_reset(struct vlapic *l)
{
	u64 f = vlapic_lock(l);

	vlapic_regs_reset_locked(l);
	spin_unlock_irqrestore(&l->lock, f);
}

u32 vlapic_id(struct vlapic *l)
{
	u64 f = vlapic_lock(l);
	u32 id = l->id;

	spin_unlock_irqrestore(&l->lock, f);
	return id;
}

int vlapic_pending_vector(struct vlapic *l)
{
	u64 f = vlapic_lock(l);
	int v = vec_highest(l->irr);

	if (!vlapic_hw_enabled(l) || v < 0 || ((u32)v & 0xf0) <= (vlapic_ppr(l) & 0xf0))
		v = -1;
	spin_unlock_irqrestore(&l->lock, f);
	return v;
}

void vlapic_accept(struct vlapic *l, u8 vector)
{
	u64 f = vlapic_lock(l);

	vec_clear(l->irr, vector);
	vec_set(l->isr, vector);
	spin_unlock_irqrestore(&l->lock, f);
}

u64 vlapic_next_event_ns(struct vlapic *l)
{
	u64 f = vlapic_lock(l);
	u64 t = vlapic_timer_next_ns(l);

	spin_unlock_irqrestore(&l->lock, f);
	return t;
}

void vlapic_update(struct vlapic *l, u64 now_ns)
{
	struct vlapic_post post = VLAPIC_POST_INIT;
	u64 f = vlapic_lock(l);

	vlapic_timer_sync(l, now_ns, &post);
	vlapic_unlock_post(l, f, &post);
}

void vlapic_set_irq(struct vlapic *l, u8 vector, bool level)
{
	struct vlapic_post post = VLAPIC_POST_INIT;
	u64 f = vlapic_lock(l);

	vlapic_accept_irq_locked(l, vector, level, &post);
	vlapic_unlock_post(l, f, &post);
}

/* Destination match (SDM 11.6.2, 11.12.10): physical id, flat or cluster logical, broadcast. */
static bool dest_matches(const struct vlapic *t, const struct vlapic_ipi *ipi)
{
	u32 broadcast = ipi->x2apic ? 0xffffffffU : 0xffU;
	u32 ldr;

	if (ipi->dest == broadcast)
		return true;
	if (!ipi->logical)
		return ipi->dest == t->id;
	if (vlapic_is_x2apic(t)) {
		ldr = vlapic_x2apic_ldr(t->id);
		return (ipi->dest >> 16) == (ldr >> 16) && (ipi->dest & ldr & 0xffff);
	}
	ldr = t->ldr >> 24;
	if ((t->dfr >> 28) == 0xf) /* flat model: one bit per APIC */
		return (ipi->dest & ldr & 0xff) != 0;
	/* cluster model: cluster in bits 7:4, member bits 3:0 */
	return ((ipi->dest >> 4) & 0xf) == (ldr >> 4) && (ipi->dest & ldr & 0xf);
}

bool vlapic_ipi_targets(struct vlapic *target, const struct vlapic *src, const struct vlapic_ipi *ipi)
{
	u64 f = vlapic_lock(target);
	bool hit = false;

	if (vlapic_hw_enabled(target)) {
		switch (ipi->shorthand) {
		case VLAPIC_SH_SELF:
			hit = target == src;
			break;
		case VLAPIC_SH_ALL:
			hit = true;
			break;
		case VLAPIC_SH_OTHERS:
			hit = target != src;
			break;
		default:
			hit = dest_matches(target, ipi);
			break;
		}
	}
	spin_unlock_irqrestore(&target->lock, f);
	return hit;
}
