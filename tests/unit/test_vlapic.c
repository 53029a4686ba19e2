/* Virtual LAPIC: priorities, EOI, errors, timer modes on a fake clock, IPIs, destinations, x2APIC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "hv/dev/vlapic.h"
#include "hv/vcpu.h"
#include "test_vdev_stubs.h"

/* ---- fake clock and recording hooks ---- */
#define TSC_HZ 2000000000ULL /* 2 TSC ticks per ns */

static u64 fake_ns;
static int notifies;
static int eois[8], nr_eois;
static struct vlapic_ipi ipis[16];
static struct vlapic *ipi_src[16];
static int nr_ipis;

static u64 hook_now(void *ctx) { return fake_ns; }
static u64 hook_tsc(void *ctx) { return fake_ns * 2 + 12345; }
static void hook_notify(void *ctx) { notifies++; }
static void hook_eoi(void *ctx, u8 vector)
{
	assert_true(nr_eois < 8);
	eois[nr_eois++] = vector;
}
static void hook_ipi(void *ctx, struct vlapic *src, const struct vlapic_ipi *ipi)
{
	assert_true(nr_ipis < 16);
	ipi_src[nr_ipis] = src;
	ipis[nr_ipis++] = *ipi;
}

static const struct vlapic_hooks hooks = {
	.now_ns = hook_now,
	.read_tsc = hook_tsc,
	.tsc_hz = TSC_HZ,
	.send_ipi = hook_ipi,
	.notify = hook_notify,
	.eoi = hook_eoi,
};

static u32 rd(struct vlapic *l, u32 reg) { return (u32)vlapic_mmio_read(l, reg, 4); }
static void wr(struct vlapic *l, u32 reg, u32 v) { vlapic_mmio_write(l, reg, 4, v); }

static void sw_enable(struct vlapic *l) { wr(l, APIC_REG_SVR, APIC_SVR_ENABLE | 0xff); }

static int allocs_before;

static int setup(void **state)
{
	allocs_before = vdev_stub_live_allocs;
	fake_ns = 1000000;
	notifies = nr_eois = nr_ipis = 0;
	*state = vlapic_create(&hooks, 3, false);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	vlapic_destroy(*state);
	assert_int_equal(vdev_stub_live_allocs, allocs_before);
	return 0;
}

static void test_reset_state(void **state)
{
	struct vlapic *l = *state, *bsp = vlapic_create(&hooks, 0, true);
	u64 base = 0;

	assert_int_equal(rd(l, APIC_REG_ID), 3U << 24);
	assert_int_equal(vlapic_id(l), 3);
	assert_int_equal(rd(l, APIC_REG_VERSION), 0x00050014);
	assert_int_equal(rd(l, APIC_REG_SVR), 0xff);
	assert_int_equal(rd(l, APIC_REG_DFR), 0xffffffffU);
	assert_int_equal(rd(l, APIC_REG_TPR), 0);
	for (u32 r = APIC_REG_LVT_TIMER; r <= APIC_REG_LVT_ERROR; r += 0x10)
		assert_int_equal(rd(l, r), APIC_LVT_MASKED);
	assert_true(vlapic_rdmsr(l, MSR_IA32_APIC_BASE, &base));
	assert_int_equal(base, 0xfee00800ULL);
	assert_true(vlapic_rdmsr(bsp, MSR_IA32_APIC_BASE, &base));
	assert_int_equal(base, 0xfee00900ULL);
	/* Reset restores a rewritten xAPIC ID. */
	wr(bsp, APIC_REG_ID, 7U << 24);
	assert_int_equal(vlapic_id(bsp), 7);
	vlapic_reset(bsp);
	assert_int_equal(vlapic_id(bsp), 0);
	vlapic_destroy(bsp);
}

static void test_sw_disabled_drops_and_masks(void **state)
{
	struct vlapic *l = *state;

	vlapic_set_irq(l, 0x40, false);
	assert_int_equal(vlapic_pending_vector(l), -1);
	assert_int_equal(notifies, 0);
	/* LVT writes keep the mask while software-disabled. */
	wr(l, APIC_REG_LVT_LINT0, 0x20);
	assert_int_equal(rd(l, APIC_REG_LVT_LINT0), APIC_LVT_MASKED | 0x20);
	sw_enable(l);
	wr(l, APIC_REG_LVT_LINT0, 0x700); /* ExtINT, unmasked */
	assert_int_equal(rd(l, APIC_REG_LVT_LINT0), 0x700);
	vlapic_set_irq(l, 0x40, false);
	assert_int_equal(vlapic_pending_vector(l), 0x40);
	assert_int_equal(notifies, 1);
	assert_int_equal(rd(l, APIC_REG_IRR + 0x20), 1U << 0);
	/* Disabling masks every LVT again; pending IRR bits stay. */
	wr(l, APIC_REG_SVR, 0xff);
	assert_int_equal(rd(l, APIC_REG_LVT_LINT0), 0x700 | APIC_LVT_MASKED);
	assert_int_equal(vlapic_pending_vector(l), 0x40);
}

static void test_priorities_and_eoi(void **state)
{
	struct vlapic *l = *state;

	sw_enable(l);
	vlapic_set_irq(l, 0x40, false);
	vlapic_set_irq(l, 0x81, false);
	assert_int_equal(vlapic_pending_vector(l), 0x81);
	vlapic_accept(l, 0x81);
	assert_int_equal(rd(l, APIC_REG_ISR + 0x40), 1U << 1);
	assert_int_equal(rd(l, APIC_REG_IRR + 0x40), 0);
	assert_int_equal(rd(l, APIC_REG_PPR), 0x80);
	/* TPR in the same class as the ISR vector wins (PPR = TPR), a lower one does not. */
	wr(l, APIC_REG_TPR, 0x85);
	assert_int_equal(rd(l, APIC_REG_PPR), 0x85);
	wr(l, APIC_REG_TPR, 0x7f);
	assert_int_equal(rd(l, APIC_REG_PPR), 0x80);
	wr(l, APIC_REG_TPR, 0);
	/* Same class as the one in service: held; higher class: deliverable. */
	assert_int_equal(vlapic_pending_vector(l), -1);
	vlapic_set_irq(l, 0x8f, false);
	assert_int_equal(vlapic_pending_vector(l), -1);
	vlapic_set_irq(l, 0x90, false);
	assert_int_equal(vlapic_pending_vector(l), 0x90);
	vlapic_accept(l, 0x90);
	assert_int_equal(rd(l, APIC_REG_PPR), 0x90);
	/* EOI retires the highest in service first. */
	wr(l, APIC_REG_EOI, 0);
	assert_int_equal(rd(l, APIC_REG_ISR + 0x40), 1U << 1);
	assert_int_equal(rd(l, APIC_REG_PPR), 0x80);
	wr(l, APIC_REG_EOI, 0);
	assert_int_equal(rd(l, APIC_REG_PPR), 0);
	assert_int_equal(vlapic_pending_vector(l), 0x8f);
	vlapic_accept(l, 0x8f);
	wr(l, APIC_REG_EOI, 0);
	/* TPR blocks its class and below; PPR = TPR when above the ISR class. */
	wr(l, APIC_REG_TPR, 0x45);
	assert_int_equal(rd(l, APIC_REG_PPR), 0x45);
	assert_int_equal(vlapic_pending_vector(l), -1);
	wr(l, APIC_REG_TPR, 0x3f);
	assert_int_equal(vlapic_pending_vector(l), 0x40);
	assert_int_equal(nr_eois, 0); /* all edge-triggered */
	/* EOI with nothing in service does nothing. */
	wr(l, APIC_REG_EOI, 0);
	assert_int_equal(vlapic_pending_vector(l), 0x40);
}

static void test_level_triggered_eoi(void **state)
{
	struct vlapic *l = *state;

	sw_enable(l);
	vlapic_set_irq(l, 0x61, true);
	assert_int_equal(rd(l, APIC_REG_TMR + 0x30), 1U << 1);
	vlapic_accept(l, 0x61);
	wr(l, APIC_REG_EOI, 0);
	assert_int_equal(nr_eois, 1);
	assert_int_equal(eois[0], 0x61);
	vlapic_set_irq(l, 0x61, false);
	assert_int_equal(rd(l, APIC_REG_TMR + 0x30), 0);
	vlapic_accept(l, 0x61);
	wr(l, APIC_REG_EOI, 0);
	assert_int_equal(nr_eois, 1);
}

static void test_illegal_vector_and_esr(void **state)
{
	struct vlapic *l = *state;

	sw_enable(l);
	/* With the error LVT masked an error only shows in ESR... */
	vlapic_set_irq(l, 3, false);
	assert_int_equal(vlapic_pending_vector(l), -1);
	/* ...and only after a write latches it; the next write latches nothing new. */
	assert_int_equal(rd(l, APIC_REG_ESR), 0);
	wr(l, APIC_REG_ESR, 0);
	assert_int_equal(rd(l, APIC_REG_ESR), APIC_ESR_RECV_ILLEGAL_VECTOR);
	wr(l, APIC_REG_ESR, 0);
	assert_int_equal(rd(l, APIC_REG_ESR), 0);
	/* Unmasked, it raises the error vector. */
	wr(l, APIC_REG_LVT_ERROR, 0xfe);
	vlapic_set_irq(l, 5, false);
	assert_int_equal(vlapic_pending_vector(l), 0xfe);
	wr(l, APIC_REG_ESR, 0);
	assert_int_equal(rd(l, APIC_REG_ESR), APIC_ESR_RECV_ILLEGAL_VECTOR);
	/* Sending an illegal fixed vector: send error, no IPI. */
	wr(l, APIC_REG_ICR_LO, 0x4005);
	assert_int_equal(nr_ipis, 0);
	wr(l, APIC_REG_ESR, 0);
	assert_int_equal(rd(l, APIC_REG_ESR), APIC_ESR_SEND_ILLEGAL_VECTOR);
	/* A reserved register: illegal register address. */
	wr(l, 0x040, 1);
	wr(l, APIC_REG_ESR, 0);
	assert_int_equal(rd(l, APIC_REG_ESR), APIC_ESR_ILLEGAL_REGISTER);
}

static void test_mmio_access_sizes(void **state)
{
	struct vlapic *l = *state;
	struct vcpu vc = { .lapic = l };
	u64 v = 0;

	/* Byte reads inside a register, zeros past its 32 bits. */
	assert_int_equal(vlapic_mmio_read(l, APIC_REG_ID + 3, 1), 3);
	assert_int_equal(vlapic_mmio_read(l, APIC_REG_VERSION, 2), 0x0014);
	assert_int_equal(vlapic_mmio_read(l, APIC_REG_VERSION + 2, 1), 0x05);
	assert_int_equal(vlapic_mmio_read(l, APIC_REG_VERSION + 4, 4), 0);
	/* Only aligned 32-bit writes count. */
	vlapic_mmio_write(l, APIC_REG_TPR, 2, 0x20);
	vlapic_mmio_write(l, APIC_REG_TPR + 4, 4, 0x20);
	vlapic_mmio_write(l, APIC_REG_TPR, 8, 0x20);
	assert_int_equal(rd(l, APIC_REG_TPR), 0);
	/* Through the bus ops: the vCPU picks the LAPIC. */
	assert_int_equal(vlapic_mmio_ops.write(NULL, &vc, APIC_REG_TPR, 4, 0x30), 0);
	assert_int_equal(vlapic_mmio_ops.read(NULL, &vc, APIC_REG_TPR, 4, &v), 0);
	assert_int_equal(v, 0x30);
	/* Registered on a VM's MMIO bus: the accessing vCPU picks the LAPIC. */
	{
		struct io_bus bus;
		struct vlapic *other = vlapic_create(&hooks, 5, false);
		struct vcpu vc2 = { .lapic = other };

		io_bus_init(&bus);
		assert_int_equal(vlapic_register_mmio(&bus), 0);
		assert_int_equal(io_bus_read(&bus, &vc, VLAPIC_DEFAULT_BASE + APIC_REG_ID, 4, &v), 0);
		assert_int_equal(v, 3U << 24);
		assert_int_equal(io_bus_read(&bus, &vc2, VLAPIC_DEFAULT_BASE + APIC_REG_ID, 4, &v), 0);
		assert_int_equal(v, 5U << 24);
		vlapic_destroy(other);
	}
	/* LDR and DFR writable bits. */
	wr(l, APIC_REG_LDR, 0x12345678);
	assert_int_equal(rd(l, APIC_REG_LDR), 0x12000000);
	wr(l, APIC_REG_DFR, 0x0);
	assert_int_equal(rd(l, APIC_REG_DFR), 0x0fffffff);
}

static void arm_oneshot(struct vlapic *l, u32 lvt, u32 tdcr, u32 count)
{
	sw_enable(l);
	wr(l, APIC_REG_LVT_TIMER, lvt);
	wr(l, APIC_REG_TDCR, tdcr);
	wr(l, APIC_REG_TMICT, count);
}

static void test_timer_oneshot(void **state)
{
	struct vlapic *l = *state;
	u64 t0 = fake_ns;

	arm_oneshot(l, 0x30, 0xb, 1000); /* divide by 1: 1 count per ns */
	assert_int_equal(vlapic_next_event_ns(l), t0 + 1000);
	fake_ns = t0 + 400;
	assert_int_equal(rd(l, APIC_REG_TMCCT), 600);
	vlapic_update(l, t0 + 999);
	assert_int_equal(vlapic_pending_vector(l), -1);
	fake_ns = t0 + 1000;
	vlapic_update(l, fake_ns);
	assert_int_equal(vlapic_pending_vector(l), 0x30);
	assert_int_equal(notifies, 1);
	assert_int_equal(rd(l, APIC_REG_TMCCT), 0);
	assert_int_equal(rd(l, APIC_REG_TMICT), 1000);
	assert_int_equal(vlapic_next_event_ns(l), 0);
	/* One-shot: no second expiry. */
	vlapic_accept(l, 0x30);
	wr(l, APIC_REG_EOI, 0);
	vlapic_update(l, t0 + 100000);
	assert_int_equal(vlapic_pending_vector(l), -1);
	/* Divide by 2 (TDCR 0): twice as long. TMICT 0 stops it. */
	fake_ns = t0 = 5000000;
	wr(l, APIC_REG_TDCR, 0);
	wr(l, APIC_REG_TMICT, 100);
	assert_int_equal(vlapic_next_event_ns(l), t0 + 200);
	fake_ns += 50;
	assert_int_equal(rd(l, APIC_REG_TMCCT), 75);
	wr(l, APIC_REG_TMICT, 0);
	assert_int_equal(vlapic_next_event_ns(l), 0);
	assert_int_equal(rd(l, APIC_REG_TMCCT), 0);
}

static void test_timer_divide_values(void **state)
{
	struct vlapic *l = *state;
	static const struct { u32 tdcr, div; } cases[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		u64 t0 = fake_ns;

		arm_oneshot(l, 0x30, cases[i].tdcr, 1000);
		assert_int_equal(rd(l, APIC_REG_TDCR), cases[i].tdcr);
		assert_int_equal(vlapic_next_event_ns(l), t0 + 1000ULL * cases[i].div);
		/* Changing the divider mid-count keeps the counts left. */
		fake_ns = t0 + 500ULL * cases[i].div;
		assert_int_equal(rd(l, APIC_REG_TMCCT), 500);
		wr(l, APIC_REG_TDCR, 0xb);
		assert_int_equal(rd(l, APIC_REG_TMCCT), 500);
		assert_int_equal(vlapic_next_event_ns(l), fake_ns + 500);
		fake_ns += 1000000;
	}
}

static void test_timer_masked(void **state)
{
	struct vlapic *l = *state;
	u64 t0 = fake_ns;

	arm_oneshot(l, APIC_LVT_MASKED | 0x30, 0xb, 1000);
	assert_int_equal(vlapic_next_event_ns(l), 0);
	/* It counts while masked... */
	fake_ns = t0 + 300;
	assert_int_equal(rd(l, APIC_REG_TMCCT), 700);
	/* ...and an expiry while masked is lost even if unmasked afterwards. */
	fake_ns = t0 + 2000;
	wr(l, APIC_REG_LVT_TIMER, 0x30);
	vlapic_update(l, fake_ns);
	assert_int_equal(vlapic_pending_vector(l), -1);
	/* An expiry before masking is not lost. */
	wr(l, APIC_REG_TMICT, 10);
	fake_ns += 20;
	wr(l, APIC_REG_LVT_TIMER, APIC_LVT_MASKED | 0x30);
	assert_int_equal(vlapic_pending_vector(l), 0x30);
}

static void test_timer_periodic(void **state)
{
	struct vlapic *l = *state;
	u64 t0 = fake_ns;
	const u32 period = 200000;

	arm_oneshot(l, (APIC_TIMER_PERIODIC << 17) | 0x31, 0xb, period);
	assert_int_equal(vlapic_next_event_ns(l), t0 + period);
	vlapic_update(l, t0 + period);
	assert_int_equal(vlapic_pending_vector(l), 0x31);
	vlapic_accept(l, 0x31);
	wr(l, APIC_REG_EOI, 0);
	assert_int_equal(vlapic_next_event_ns(l), t0 + 2 * period);
	/* Periods missed while away coalesce into one interrupt; the phase is kept. */
	fake_ns = t0 + 5 * period + 50000;
	assert_int_equal(rd(l, APIC_REG_TMCCT), period - 50000);
	vlapic_update(l, fake_ns);
	assert_int_equal(vlapic_pending_vector(l), 0x31);
	assert_int_equal(vlapic_next_event_ns(l), t0 + 6 * period);
	assert_int_equal(l->timer_fired, 2);
	/* A tiny period is stretched to the minimum. */
	wr(l, APIC_REG_TMICT, 10);
	assert_int_equal(vlapic_next_event_ns(l), fake_ns + VLAPIC_MIN_PERIOD_NS);
	/* Mode change disarms. */
	wr(l, APIC_REG_LVT_TIMER, 0x31);
	assert_int_equal(vlapic_next_event_ns(l), 0);
	assert_int_equal(rd(l, APIC_REG_TMICT), 0);
}

static void test_timer_tsc_deadline(void **state)
{
	struct vlapic *l = *state;
	u64 dl = 0, tsc;

	sw_enable(l);
	/* Outside deadline mode the MSR reads 0 and ignores writes. */
	assert_true(vlapic_wrmsr(l, MSR_IA32_TSC_DEADLINE, hook_tsc(NULL) + 100));
	assert_true(vlapic_rdmsr(l, MSR_IA32_TSC_DEADLINE, &dl));
	assert_int_equal(dl, 0);
	wr(l, APIC_REG_LVT_TIMER, (APIC_TIMER_TSC_DEADLINE << 17) | 0x32);
	tsc = hook_tsc(NULL);
	assert_true(vlapic_wrmsr(l, MSR_IA32_TSC_DEADLINE, tsc + 2000)); /* 1000 ns away */
	assert_true(vlapic_rdmsr(l, MSR_IA32_TSC_DEADLINE, &dl));
	assert_int_equal(dl, tsc + 2000);
	assert_int_equal(vlapic_next_event_ns(l), fake_ns + 1000);
	/* TMICT is ignored in this mode. */
	wr(l, APIC_REG_TMICT, 5);
	assert_int_equal(rd(l, APIC_REG_TMICT), 0);
	fake_ns += 999;
	vlapic_update(l, fake_ns);
	assert_int_equal(vlapic_pending_vector(l), -1);
	fake_ns += 1;
	vlapic_update(l, fake_ns);
	assert_int_equal(vlapic_pending_vector(l), 0x32);
	assert_true(vlapic_rdmsr(l, MSR_IA32_TSC_DEADLINE, &dl));
	assert_int_equal(dl, 0);
	assert_int_equal(vlapic_next_event_ns(l), 0);
	vlapic_accept(l, 0x32);
	wr(l, APIC_REG_EOI, 0);
	/* A deadline already passed fires at once; 0 disarms. */
	assert_true(vlapic_wrmsr(l, MSR_IA32_TSC_DEADLINE, 1));
	assert_int_equal(vlapic_pending_vector(l), 0x32);
	vlapic_accept(l, 0x32);
	wr(l, APIC_REG_EOI, 0);
	assert_true(vlapic_wrmsr(l, MSR_IA32_TSC_DEADLINE, hook_tsc(NULL) + 10));
	assert_true(vlapic_wrmsr(l, MSR_IA32_TSC_DEADLINE, 0));
	fake_ns += 100;
	vlapic_update(l, fake_ns);
	assert_int_equal(vlapic_pending_vector(l), -1);
	/* Leaving the mode clears the deadline. */
	assert_true(vlapic_wrmsr(l, MSR_IA32_TSC_DEADLINE, hook_tsc(NULL) + 1000000));
	wr(l, APIC_REG_LVT_TIMER, 0x32);
	wr(l, APIC_REG_LVT_TIMER, (APIC_TIMER_TSC_DEADLINE << 17) | 0x32);
	assert_true(vlapic_rdmsr(l, MSR_IA32_TSC_DEADLINE, &dl));
	assert_int_equal(dl, 0);
}

static void test_icr_ipis(void **state)
{
	struct vlapic *l = *state;

	sw_enable(l);
	/* Fixed, physical destination 2. */
	wr(l, APIC_REG_ICR_HI, 2U << 24);
	wr(l, APIC_REG_ICR_LO, 0x4031);
	assert_int_equal(nr_ipis, 1);
	assert_ptr_equal(ipi_src[0], l);
	assert_int_equal(ipis[0].mode, VLAPIC_DM_FIXED);
	assert_int_equal(ipis[0].vector, 0x31);
	assert_int_equal(ipis[0].dest, 2);
	assert_int_equal(ipis[0].shorthand, VLAPIC_SH_NONE);
	assert_false(ipis[0].logical);
	assert_false(ipis[0].x2apic);
	assert_int_equal(rd(l, APIC_REG_ICR_LO), 0x4031); /* delivery status idle */
	assert_int_equal(rd(l, APIC_REG_ICR_HI), 2U << 24);
	/* Fixed to self: delivered locally, no hook. */
	wr(l, APIC_REG_ICR_LO, (VLAPIC_SH_SELF << 18) | 0x4042);
	assert_int_equal(nr_ipis, 1);
	assert_int_equal(vlapic_pending_vector(l), 0x42);
	/* All-but-self, logical, level-triggered. */
	wr(l, APIC_REG_ICR_LO, (VLAPIC_SH_OTHERS << 18) | APIC_ICR_TRIGGER_LEVEL | 0x4800 | 0x55);
	assert_int_equal(nr_ipis, 2);
	assert_int_equal(ipis[1].shorthand, VLAPIC_SH_OTHERS);
	assert_true(ipis[1].logical);
	assert_true(ipis[1].level);
	/* INIT assert; INIT level de-assert is swallowed; SIPI with its vector; NMI to all. */
	wr(l, APIC_REG_ICR_LO, 0x4500);
	wr(l, APIC_REG_ICR_LO, 0x8500);
	wr(l, APIC_REG_ICR_LO, 0x4608);
	wr(l, APIC_REG_ICR_LO, (VLAPIC_SH_ALL << 18) | 0x4400);
	assert_int_equal(nr_ipis, 5);
	assert_int_equal(ipis[2].mode, VLAPIC_DM_INIT);
	assert_int_equal(ipis[3].mode, VLAPIC_DM_SIPI);
	assert_int_equal(ipis[3].vector, 0x08);
	assert_int_equal(ipis[4].mode, VLAPIC_DM_NMI);
	assert_int_equal(ipis[4].shorthand, VLAPIC_SH_ALL);
	/* SMI and ExtINT are not sent. */
	wr(l, APIC_REG_ICR_LO, 0x4200);
	wr(l, APIC_REG_ICR_LO, 0x4700);
	assert_int_equal(nr_ipis, 5);
}

static void test_destinations(void **state)
{
	struct vlapic *l[4];
	struct vlapic_ipi ipi = { .mode = VLAPIC_DM_FIXED, .vector = 0x40 };

	for (u32 i = 0; i < 4; i++) {
		l[i] = vlapic_create(&hooks, i, i == 0);
		wr(l[i], APIC_REG_LDR, 1U << (24 + i)); /* flat: one bit each */
	}
#define HITS(src) ({ u32 h_ = 0; for (u32 i_ = 0; i_ < 4; i_++) \
	h_ |= vlapic_ipi_targets(l[i_], (src), &ipi) ? 1U << i_ : 0; h_; })
	ipi.dest = 2;
	assert_int_equal(HITS(l[0]), 0x4);
	ipi.dest = 0xff;
	assert_int_equal(HITS(l[0]), 0xf);
	ipi.logical = true;
	ipi.dest = 0x06;
	assert_int_equal(HITS(l[0]), 0x6);
	ipi.dest = 0xff;
	assert_int_equal(HITS(l[0]), 0xf);
	/* Cluster model: cluster in the high nibble. */
	for (u32 i = 0; i < 4; i++)
		wr(l[i], APIC_REG_DFR, 0x0fffffff);
	wr(l[0], APIC_REG_LDR, 0x11U << 24);
	wr(l[1], APIC_REG_LDR, 0x12U << 24);
	wr(l[2], APIC_REG_LDR, 0x21U << 24);
	wr(l[3], APIC_REG_LDR, 0x22U << 24);
	ipi.dest = 0x13;
	assert_int_equal(HITS(l[0]), 0x3);
	ipi.dest = 0x22;
	assert_int_equal(HITS(l[0]), 0x8);
	/* Shorthands. */
	ipi.shorthand = VLAPIC_SH_SELF;
	assert_int_equal(HITS(l[1]), 0x2);
	ipi.shorthand = VLAPIC_SH_ALL;
	assert_int_equal(HITS(l[1]), 0xf);
	ipi.shorthand = VLAPIC_SH_OTHERS;
	assert_int_equal(HITS(l[1]), 0xd);
	/* A hardware-disabled APIC is never addressed. */
	assert_true(vlapic_wrmsr(l[3], MSR_IA32_APIC_BASE, 0));
	assert_int_equal(HITS(l[1]), 0x5);
	/* x2APIC cluster: cluster = id >> 4, bit = id & 15. */
	ipi.shorthand = VLAPIC_SH_NONE;
	ipi.x2apic = true;
	for (u32 i = 0; i < 3; i++)
		assert_true(vlapic_wrmsr(l[i], MSR_IA32_APIC_BASE, 0xfee00c00ULL | (i == 0 ? APIC_BASE_BSP : 0)));
	ipi.dest = (0U << 16) | 0x5;
	assert_int_equal(HITS(l[0]), 0x5);
	ipi.dest = (1U << 16) | 0x5;
	assert_int_equal(HITS(l[0]), 0);
	ipi.dest = 0xffffffffU;
	assert_int_equal(HITS(l[0]), 0x7);
	ipi.logical = false;
	ipi.dest = 1;
	assert_int_equal(HITS(l[0]), 0x2);
#undef HITS
	for (u32 i = 0; i < 4; i++)
		vlapic_destroy(l[i]);
}

static void test_x2apic_msrs(void **state)
{
	struct vlapic *l = vlapic_create(&hooks, 0x23, false);
	u64 v = 0;

	/* The x2APIC range faults in xAPIC mode. */
	assert_false(vlapic_rdmsr(l, 0x802, &v));
	assert_false(vlapic_wrmsr(l, 0x808, 0));
	/* Disabled -> x2APIC directly is invalid; EXTD without EN too. */
	assert_true(vlapic_wrmsr(l, MSR_IA32_APIC_BASE, 0));
	assert_false(vlapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00c00ULL));
	assert_false(vlapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00400ULL));
	assert_true(vlapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00800ULL));
	/* Relocation and reserved bits fault. */
	assert_false(vlapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfec00800ULL));
	assert_false(vlapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00801ULL));
	assert_true(vlapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00c00ULL));
	assert_true(vlapic_rdmsr(l, MSR_IA32_APIC_BASE, &v));
	assert_int_equal(v, 0xfee00c00ULL);
	/* MMIO is gone in x2APIC mode. */
	assert_int_equal(rd(l, APIC_REG_VERSION), 0);
	assert_true(vlapic_rdmsr(l, 0x802, &v));
	assert_int_equal(v, 0x23);
	assert_true(vlapic_rdmsr(l, 0x80d, &v));
	assert_int_equal(v, (2U << 16) | (1U << 3));
	assert_true(vlapic_rdmsr(l, 0x803, &v));
	assert_int_equal(v, 0x00050014);
	/* Registers x2APIC does not have, read-only and write-only ones fault. */
	assert_false(vlapic_rdmsr(l, 0x80e, &v));  /* DFR */
	assert_false(vlapic_rdmsr(l, 0x831, &v));  /* ICR high */
	assert_false(vlapic_rdmsr(l, 0x80b, &v));  /* EOI */
	assert_false(vlapic_rdmsr(l, 0x83f, &v));  /* SELF IPI */
	assert_false(vlapic_wrmsr(l, 0x802, 0));   /* ID */
	assert_false(vlapic_wrmsr(l, 0x80d, 0));   /* LDR */
	assert_false(vlapic_wrmsr(l, 0x839, 0));   /* TMCCT */
	assert_false(vlapic_wrmsr(l, 0x80a, 0));   /* PPR */
	assert_false(vlapic_wrmsr(l, 0x808, 1ULL << 32)); /* high bits */
	/* SVR, TPR, SELF IPI, EOI. */
	assert_true(vlapic_wrmsr(l, 0x80f, APIC_SVR_ENABLE | 0xff));
	assert_true(vlapic_wrmsr(l, 0x808, 0x20));
	assert_true(vlapic_rdmsr(l, 0x808, &v));
	assert_int_equal(v, 0x20);
	assert_true(vlapic_wrmsr(l, 0x83f, 0x51));
	assert_int_equal(vlapic_pending_vector(l), 0x51);
	vlapic_accept(l, 0x51);
	assert_true(vlapic_rdmsr(l, 0x80a, &v));
	assert_int_equal(v, 0x50);
	assert_false(vlapic_wrmsr(l, 0x80b, 1));
	assert_true(vlapic_wrmsr(l, 0x80b, 0));
	assert_true(vlapic_rdmsr(l, 0x810 + 2, &v));
	assert_int_equal(v, 0);
	/* ICR is one 64-bit register with a 32-bit destination. */
	assert_true(vlapic_wrmsr(l, 0x830, (0x1234ULL << 32) | 0x4861));
	assert_int_equal(nr_ipis, 1);
	assert_true(ipis[0].x2apic);
	assert_true(ipis[0].logical);
	assert_int_equal(ipis[0].dest, 0x1234);
	assert_int_equal(ipis[0].vector, 0x61);
	assert_true(vlapic_rdmsr(l, 0x830, &v));
	assert_int_equal(v, (0x1234ULL << 32) | 0x4861);
	/* ESR writes must be 0. */
	assert_false(vlapic_wrmsr(l, 0x828, 1));
	assert_true(vlapic_wrmsr(l, 0x828, 0));
	/* Timer through MSRs. */
	assert_true(vlapic_wrmsr(l, 0x832, 0x33));
	assert_true(vlapic_wrmsr(l, 0x83e, 0xb));
	assert_true(vlapic_wrmsr(l, 0x838, 500));
	assert_int_equal(vlapic_next_event_ns(l), fake_ns + 500);
	/* x2APIC -> xAPIC is invalid; via disabled it works and resets. */
	assert_false(vlapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00800ULL));
	assert_true(vlapic_wrmsr(l, MSR_IA32_APIC_BASE, 0));
	assert_true(vlapic_wrmsr(l, MSR_IA32_APIC_BASE, 0xfee00800ULL));
	assert_int_equal(rd(l, APIC_REG_SVR), 0xff);
	assert_int_equal(rd(l, APIC_REG_TPR), 0);
	assert_int_equal(vlapic_next_event_ns(l), 0);
	/* Not a LAPIC MSR. */
	assert_false(vlapic_rdmsr(l, 0x10, &v));
	vlapic_destroy(l);
}

static void test_init_reset(void **state)
{
	struct vlapic *l = *state;

	sw_enable(l);
	wr(l, APIC_REG_ID, 9U << 24);
	vlapic_set_irq(l, 0x70, false);
	wr(l, APIC_REG_TPR, 0x10);
	vlapic_init_reset(l);
	assert_int_equal(vlapic_id(l), 9);
	assert_int_equal(rd(l, APIC_REG_SVR), 0xff);
	assert_int_equal(rd(l, APIC_REG_TPR), 0);
	assert_int_equal(vlapic_pending_vector(l), -1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reset_state),
		T(test_sw_disabled_drops_and_masks),
		T(test_priorities_and_eoi),
		T(test_level_triggered_eoi),
		T(test_illegal_vector_and_esr),
		T(test_mmio_access_sizes),
		T(test_timer_oneshot),
		T(test_timer_divide_values),
		T(test_timer_masked),
		T(test_timer_periodic),
		T(test_timer_tsc_deadline),
		T(test_icr_ipis),
		T(test_destinations),
		T(test_x2apic_msrs),
		T(test_init_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
