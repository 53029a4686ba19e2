/* Shared between the vLAPIC files (vlapic.c, vlapic_timer.c, vlapic_regs.c); not an interface. */
#ifndef HV_HV_DEV_VLAPIC_INTERNAL_H
#define HV_HV_DEV_VLAPIC_INTERNAL_H

#include "hv/dev/vlapic.h"

/*
 * Work found under the lock that must run after it is dropped (hooks may
 * take other LAPICs' locks): notify, an IPI to send, an EOI to broadcast.
 */
struct vlapic_post {
	bool notify;
	bool send;
	struct vlapic_ipi ipi;
	int eoi_vector;  /* -1: none */
};

#define VLAPIC_POST_INIT { .notify = false, .send = false, .eoi_vector = -1 }

/* Lock helpers: take/drop the lock; vlapic_unlock_post also runs the post work. */
u64 vlapic_lock(struct vlapic *l);
void vlapic_unlock_post(struct vlapic *l, u64 flags, struct vlapic_post *post);

static inline bool vlapic_hw_enabled(const struct vlapic *l) { return l->apic_base & APIC_BASE_EN; }
static inline bool vlapic_sw_enabled(const struct vlapic *l) { return l->svr & APIC_SVR_ENABLE; }
static inline bool vlapic_is_x2apic(const struct vlapic *l)
{
	return (l->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD)) == (APIC_BASE_EN | APIC_BASE_EXTD);
}
static inline bool vlapic_is_xapic(const struct vlapic *l)
{
	return (l->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD)) == APIC_BASE_EN;
}
/* The LDR as x2APIC mode derives it from the id (SDM 11.12.10.2). */
static inline u32 vlapic_x2apic_ldr(u32 id) { return ((id >> 4) << 16) | (1U << (id & 0xf)); }

/* vlapic.c, all with the lock held. */
u32 vlapic_ppr(const struct vlapic *l);
/* Set IRR (and TMR per level); false when dropped. Sets post->notify. */
bool vlapic_accept_irq_locked(struct vlapic *l, u8 vector, bool level, struct vlapic_post *post);
/* Record errors in ESR and raise the error LVT. */
void vlapic_error_locked(struct vlapic *l, u32 esr_bits, struct vlapic_post *post);
void vlapic_eoi_locked(struct vlapic *l, struct vlapic_post *post);
void vlapic_write_svr_locked(struct vlapic *l, u32 val);
void vlapic_write_lvt_locked(struct vlapic *l, enum vlapic_lvt i, u32 val, struct vlapic_post *post);
/* ICR write: build the IPI; a fixed self IPI is delivered here, others go to post->send. */
void vlapic_icr_write_locked(struct vlapic *l, u32 lo, u32 hi, struct vlapic_post *post);
/* Registers to power-on values except id and apic_base. */
void vlapic_regs_reset_locked(struct vlapic *l);

/* vlapic_timer.c, all with the lock held; `now` from hooks.now_ns. */
void vlapic_timer_sync(struct vlapic *l, u64 now, struct vlapic_post *post);
u32 vlapic_timer_current_count(const struct vlapic *l, u64 now);
void vlapic_timer_write_lvt(struct vlapic *l, u32 val, struct vlapic_post *post);
void vlapic_timer_write_tmict(struct vlapic *l, u32 val, struct vlapic_post *post);
void vlapic_timer_write_tdcr(struct vlapic *l, u32 val, struct vlapic_post *post);
u64 vlapic_timer_read_deadline(const struct vlapic *l);
void vlapic_timer_write_deadline(struct vlapic *l, u64 val, struct vlapic_post *post);
u64 vlapic_timer_next_ns(const struct vlapic *l);
void vlapic_timer_reset(struct vlapic *l);
u64 vlapic_now(const struct vlapic *l);

#endif
