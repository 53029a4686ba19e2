/* Virtual LAPIC register interface: xAPIC MMIO page, x2APIC MSRs, IA32_APIC_BASE (SDM 11.4, 11.12). */
#include "hv/dev/vlapic_internal.h"
#include "hv/vcpu.h"

/* Version 0x14 (integrated APIC), 6 LVT entries (no CMCI), no EOI-broadcast suppression. */
#define VLAPIC_VERSION (0x14U | (5U << 16))

static bool is_lvt_reg(u32 off) { return off >= APIC_REG_LVT_TIMER && off <= APIC_REG_LVT_ERROR; }
static enum vlapic_lvt lvt_index(u32 off) { return (enum vlapic_lvt)((off - APIC_REG_LVT_TIMER) >> 4); }

/* The 8-word maps: ISR at 0x100, TMR at 0x180, IRR at 0x200, one word per 0x10. */
static const u32 *map_reg(const struct vlapic *l, u32 off)
{
	if (off >= APIC_REG_ISR && off < APIC_REG_ISR + 0x80)
		return &l->isr[(off - APIC_REG_ISR) >> 4];
	if (off >= APIC_REG_TMR && off < APIC_REG_TMR + 0x80)
		return &l->tmr[(off - APIC_REG_TMR) >> 4];
	if (off >= APIC_REG_IRR && off < APIC_REG_IRR + 0x80)
		return &l->irr[(off - APIC_REG_IRR) >> 4];
	return NULL;
}

/*
 * Read the register at 16-byte-aligned `off`. False: no such register in
 * this mode (x2APIC: #GP; xAPIC: illegal register address).
 */
static bool read_reg(struct vlapic *l, u32 off, bool x2, u64 *val)
{
	const u32 *map = map_reg(l, off);

	if (map) {
		*val = *map;
		return true;
	}
	if (is_lvt_reg(off)) {
		*val = l->lvt[lvt_index(off)];
		return true;
	}
	switch (off) {
	case APIC_REG_ID:
		*val = x2 ? l->id : (u32)(l->id << 24);
		return true;
	case APIC_REG_VERSION:
		*val = VLAPIC_VERSION;
		return true;
	case APIC_REG_TPR:
		*val = l->tpr;
		return true;
	case APIC_REG_PPR:
		*val = vlapic_ppr(l);
		return true;
	case APIC_REG_APR: /* arbitration priority: xAPIC only, not modelled */
	case APIC_REG_RRD: /* remote read: xAPIC only, never valid */
	case APIC_REG_EOI: /* write-only; reads 0 in xAPIC mode */
		*val = 0;
		return !x2;
	case APIC_REG_LDR:
		*val = x2 ? vlapic_x2apic_ldr(l->id) : l->ldr;
		return true;
	case APIC_REG_DFR:
		*val = l->dfr;
		return !x2;
	case APIC_REG_SVR:
		*val = l->svr;
		return true;
	case APIC_REG_ESR:
		*val = l->esr;
		return true;
	case APIC_REG_ICR_LO:
		*val = x2 ? ((u64)l->icr_hi << 32 | l->icr_lo) : l->icr_lo;
		return true;
	case APIC_REG_ICR_HI:
		*val = l->icr_hi;
		return !x2;
	case APIC_REG_TMICT:
		*val = l->tmict;
		return true;
	case APIC_REG_TMCCT:
		*val = vlapic_timer_current_count(l, vlapic_now(l));
		return true;
	case APIC_REG_TDCR:
		*val = l->tdcr;
		return true;
	default: /* reserved, CMCI (not implemented), SELF IPI (write-only) */
		return false;
	}
}

/* Registers whose writes xAPIC ignores and x2APIC faults. */
static bool is_read_only(u32 off)
{
	return (off >= APIC_REG_ISR && off < APIC_REG_IRR + 0x80) || off == APIC_REG_VERSION || off == APIC_REG_PPR ||
	       off == APIC_REG_APR || off == APIC_REG_RRD || off == APIC_REG_TMCCT;
}

/* Registers whose meaning is the same in both modes. */
static void write_common(struct vlapic *l, u32 off, u32 v, struct vlapic_post *post)
{
	switch (off) {
	case APIC_REG_TPR:
		l->tpr = v & 0xff;
		break;
	case APIC_REG_SVR:
		vlapic_write_svr_locked(l, v);
		break;
	case APIC_REG_TMICT:
		vlapic_timer_write_tmict(l, v, post);
		break;
	case APIC_REG_TDCR:
		vlapic_timer_write_tdcr(l, v, post);
		break;
	default:
		vlapic_write_lvt_locked(l, lvt_index(off), v, post);
		break;
	}
}

static bool write_xapic(struct vlapic *l, u32 off, u32 v, struct vlapic_post *post)
{
	switch (off) {
	case APIC_REG_ID:
		l->id = v >> 24;
		return true;
	case APIC_REG_EOI:
		vlapic_eoi_locked(l, post);
		return true;
	case APIC_REG_LDR:
		l->ldr = v & 0xff000000U;
		return true;
	case APIC_REG_DFR:
		l->dfr = (v & 0xf0000000U) | 0x0fffffffU;
		return true;
	case APIC_REG_ESR: /* a write latches the errors seen since the last one (SDM 11.5.3) */
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		return true;
	case APIC_REG_ICR_LO:
		vlapic_icr_write_locked(l, v, l->icr_hi, post);
		return true;
	case APIC_REG_ICR_HI:
		l->icr_hi = v & 0xff000000U;
		return true;
	case APIC_REG_TPR:
	case APIC_REG_SVR:
	case APIC_REG_TMICT:
	case APIC_REG_TDCR:
		write_common(l, off, v, post);
		return true;
	default:
		if (is_lvt_reg(off)) {
			write_common(l, off, v, post);
			return true;
		}
		return is_read_only(off); /* read-only: ignored; reserved: illegal */
	}
}

/* x2APIC writes (SDM 11.12.1.2): false means #GP. */
static bool write_x2apic(struct vlapic *l, u32 off, u64 v, struct vlapic_post *post)
{
	if (off == APIC_REG_ICR_LO) {
		vlapic_icr_write_locked(l, (u32)v, (u32)(v >> 32), post);
		return true;
	}
	if (v >> 32)
		return false;
	switch (off) {
	case APIC_REG_EOI:
		if (v)
			return false;
		vlapic_eoi_locked(l, post);
		return true;
	case APIC_REG_ESR:
		if (v)
			return false;
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		return true;
	case APIC_REG_SELF_IPI:
		vlapic_accept_irq_locked(l, v & 0xff, false, post);
		return true;
	case APIC_REG_TPR:
	case APIC_REG_SVR:
	case APIC_REG_TMICT:
	case APIC_REG_TDCR:
		write_common(l, off, (u32)v, post);
		return true;
	default:
		if (is_lvt_reg(off)) {
			write_common(l, off, (u32)v, post);
			return true;
		}
		return false; /* ID, LDR, read-only and reserved registers */
	}
}

u64 vlapic_mmio_read(struct vlapic *l, u32 offset, u8 size)
{
	struct vlapic_post post = VLAPIC_POST_INIT;
	u64 f = vlapic_lock(l);
	u64 result = 0, reg = 0;
	u32 slot = ~0U;

	for (u32 i = 0; i < size && i < 8 && vlapic_is_xapic(l); i++) {
		u32 at = (offset + i) & (VLAPIC_MMIO_SIZE - 1);
		u32 byte = at & 0xf;

		if ((at & ~0xfU) != slot) {
			slot = at & ~0xfU;
			if (!read_reg(l, slot, false, &reg)) {
				reg = 0;
				vlapic_error_locked(l, APIC_ESR_ILLEGAL_REGISTER, &post);
			}
		}
		if (byte < 4)
			result |= ((reg >> (8 * byte)) & 0xff) << (8 * i);
	}
	vlapic_unlock_post(l, f, &post);
	return result;
}

void vlapic_mmio_write(struct vlapic *l, u32 offset, u8 size, u64 val)
{
	struct vlapic_post post = VLAPIC_POST_INIT;
	u64 f;

	/* Only aligned 32-bit stores reach a register (SDM 11.4.1). */
	if (size != 4 || (offset & 0xf) || offset >= VLAPIC_MMIO_SIZE)
		return;
	f = vlapic_lock(l);
	if (vlapic_is_xapic(l) && !write_xapic(l, offset, (u32)val, &post))
		vlapic_error_locked(l, APIC_ESR_ILLEGAL_REGISTER, &post);
	vlapic_unlock_post(l, f, &post);
}

static int vlapic_io_read(void *dev, struct vcpu *v, u64 offset, u8 size, u64 *val)
{
	*val = v && v->lapic ? vlapic_mmio_read(v->lapic, (u32)offset, size) : 0;
	return 0;
}

static int vlapic_io_write(void *dev, struct vcpu *v, u64 offset, u8 size, u64 val)
{
	if (v && v->lapic)
		vlapic_mmio_write(v->lapic, (u32)offset, size, val);
	return 0;
}

const struct io_ops vlapic_mmio_ops = {
	.read = vlapic_io_read,
	.write = vlapic_io_write,
};

int vlapic_register_mmio(struct io_bus *mmio)
{
	return io_bus_register(mmio, VLAPIC_DEFAULT_BASE, VLAPIC_MMIO_SIZE, &vlapic_mmio_ops, NULL,
			       "lapic");
}

/*
 * IA32_APIC_BASE write (SDM 11.4.4, 11.12.5): the mode changes allowed are
 * disabled <-> xAPIC, xAPIC -> x2APIC and x2APIC -> disabled. Relocating the
 * page is not supported (#GP). Disabling resets the registers.
 */
static bool write_apic_base(struct vlapic *l, u64 val)
{
	u64 allowed = APIC_BASE_BSP | APIC_BASE_EXTD | APIC_BASE_EN | APIC_BASE_ADDR_MASK;
	u64 mode = val & (APIC_BASE_EN | APIC_BASE_EXTD);
	u64 old = l->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD);

	if (val & ~allowed)
		return false;
	if (mode == APIC_BASE_EXTD)
		return false;
	if ((val & APIC_BASE_EN) && (val & APIC_BASE_ADDR_MASK) != VLAPIC_DEFAULT_BASE)
		return false;
	if (old == (APIC_BASE_EN | APIC_BASE_EXTD) && mode == APIC_BASE_EN)
		return false;
	if (old == 0 && mode == (APIC_BASE_EN | APIC_BASE_EXTD))
		return false;
	if ((old & APIC_BASE_EN) && !(mode & APIC_BASE_EN))
		vlapic_regs_reset_locked(l);
	/* BSP is fixed by the platform; the address stays the default one. */
	l->apic_base = VLAPIC_DEFAULT_BASE | mode | (l->apic_base & APIC_BASE_BSP);
	return true;
}

bool vlapic_rdmsr(struct vlapic *l, u32 msr, u64 *val)
{
	struct vlapic_post post = VLAPIC_POST_INIT;
	u64 f = vlapic_lock(l);
	bool ok = true;

	if (msr == MSR_IA32_APIC_BASE)
		*val = l->apic_base;
	else if (msr == MSR_IA32_TSC_DEADLINE)
		*val = vlapic_timer_read_deadline(l);
	else if (msr >= MSR_X2APIC_BASE && msr <= MSR_X2APIC_END && vlapic_is_x2apic(l))
		ok = read_reg(l, (msr - MSR_X2APIC_BASE) << 4, true, val);
	else
		ok = false;
	vlapic_unlock_post(l, f, &post);
	return ok;
}

bool vlapic_wrmsr(struct vlapic *l, u32 msr, u64 val)
{
	struct vlapic_post post = VLAPIC_POST_INIT;
	u64 f = vlapic_lock(l);
	bool ok = true;

	if (msr == MSR_IA32_APIC_BASE)
		ok = write_apic_base(l, val);
	else if (msr == MSR_IA32_TSC_DEADLINE)
		vlapic_timer_write_deadline(l, val, &post);
	else if (msr >= MSR_X2APIC_BASE && msr <= MSR_X2APIC_END && vlapic_is_x2apic(l))
		ok = write_x2apic(l, (msr - MSR_X2APIC_BASE) << 4, val, &post);
	else
		ok = false;
	vlapic_unlock_post(l, f, &post);
	return ok;
}
