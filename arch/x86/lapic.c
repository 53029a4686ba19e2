/* Local APIC driver: xAPIC through MMIO or x2APIC through MSRs, IPIs, timer (SDM vol. 3A ch. 11). */
#include "asm/lapic.h"
#include "asm/acpi.h"
#include "asm/cpu.h"
#include "asm/irq_vectors.h"
#include "asm/msr.h"
#include "asm/trap.h"
#include "kernel/log.h"
#include "kernel/panic.h"

/* Register offsets of the xAPIC page (SDM table 11-1); x2APIC MSR = 0x800 + offset / 16. */
#define APIC_ID 0x020
#define APIC_VERSION 0x030
#define APIC_TPR 0x080
#define APIC_EOI 0x0b0
#define APIC_SVR 0x0f0
#define APIC_ESR 0x280
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_THERMAL 0x330
#define APIC_LVT_PERF 0x340
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR 0x390
#define APIC_TIMER_DIV 0x3e0
#define APIC_MMIO_SIZE 0x1000

#define APIC_ID_SHIFT 24               /* xAPIC ID register and ICR high: bits 31:24 */
#define APIC_VERSION_MAXLVT(v) (((v) >> 16) & 0xff)
#define APIC_SVR_ENABLE BIT(8)
#define APIC_LVT_MASKED BIT(16)
#define APIC_LVT_DM_NMI 0x400
#define APIC_TIMER_PERIODIC BIT(17)
#define APIC_ICR_DELIVERY_PENDING BIT(12)
#define APIC_ICR_LEVEL_ASSERT BIT(14)
#define APIC_ICR_ALL_BUT_SELF (BIT(19) | BIT(18))
#define APIC_DIV_1 0xb                 /* divide configuration (SDM figure 11-10) */
#define APIC_DIV_16 0x3
#define APIC_BASE_ADDR_MASK GENMASK(51, 12)
#define APIC_XAPIC_MAX_ID 0xff
#define LVT_THERMAL_MIN_MAXLVT 4
#define LVT_PERF_MIN_MAXLVT 5

#define CPUID1_EDX_APIC BIT(9)
#define CPUID1_ECX_X2APIC BIT(21)
#define ICR_WAIT_LOOPS 1000000

static bool x2apic_mode;
static volatile u32 *xapic_regs;   /* set once by the boot CPU before any AP starts */
static u32 timer_divider = 16;
static u64 timer_hz;               /* written once by time_init() */

static u32 lapic_read(u32 reg)
{
	if (x2apic_mode)
		return (u32)rdmsr(MSR_X2APIC_BASE + (reg >> 4));
	return xapic_regs[reg / 4];
}

static void lapic_write(u32 reg, u32 v)
{
	if (x2apic_mode)
		wrmsr(MSR_X2APIC_BASE + (reg >> 4), v);
	else
		xapic_regs[reg / 4] = v;
}

bool lapic_is_x2apic(void) { return x2apic_mode; }

u32 lapic_id(void)
{
	u32 a, b, c, d;

	if (x2apic_mode)
		return (u32)rdmsr(MSR_X2APIC_BASE + (APIC_ID >> 4));
	if (xapic_regs)
		return xapic_regs[APIC_ID / 4] >> APIC_ID_SHIFT;
	/* Before lapic_init_bsp(): the initial APIC id, CPUID.1:EBX[31:24]. */
	cpuid(1, &a, &b, &c, &d);
	return b >> 24;
}

void lapic_eoi(void)
{
	if (x2apic_mode)
		wrmsr(MSR_X2APIC_BASE + (APIC_EOI >> 4), 0);
	else if (xapic_regs)
		xapic_regs[APIC_EOI / 4] = 0;
}

/* SDM 11.4.3 / 11.12.1: xAPIC -> x2APIC needs EN first; x2APIC -> xAPIC goes through disabled. */
static void lapic_enable_mode(void)
{
	u64 base = rdmsr(MSR_IA32_APIC_BASE);

	if ((base & APIC_BASE_X2APIC) && !x2apic_mode) {
		base &= ~(APIC_BASE_X2APIC | APIC_BASE_ENABLE);
		wrmsr(MSR_IA32_APIC_BASE, base);
	}
	base |= APIC_BASE_ENABLE;
	wrmsr(MSR_IA32_APIC_BASE, base);
	if (x2apic_mode)
		wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_X2APIC);
}

static void lapic_clear_esr(void)
{
	/* In xAPIC mode the ESR latches on a write (SDM 11.5.3); x2APIC ignores the read order. */
	lapic_write(APIC_ESR, 0);
	lapic_write(APIC_ESR, 0);
}

static u32 divider_code(u32 divider) { return divider == 1 ? APIC_DIV_1 : APIC_DIV_16; }

static void lapic_setup_local(bool bsp)
{
	u32 maxlvt;

	lapic_enable_mode();
	maxlvt = APIC_VERSION_MAXLVT(lapic_read(APIC_VERSION));
	lapic_write(APIC_TPR, 0);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | VEC_LAPIC_TIMER);
	lapic_write(APIC_TIMER_INIT, 0);
	lapic_write(APIC_TIMER_DIV, divider_code(timer_divider));
	if (maxlvt >= LVT_THERMAL_MIN_MAXLVT)
		lapic_write(APIC_LVT_THERMAL, APIC_LVT_MASKED);
	if (maxlvt >= LVT_PERF_MIN_MAXLVT)
		lapic_write(APIC_LVT_PERF, APIC_LVT_MASKED);
	/* The 8259 is masked and never used: no ExtINT; LINT1 carries NMI to the boot CPU. */
	lapic_write(APIC_LVT_LINT0, APIC_LVT_MASKED);
	lapic_write(APIC_LVT_LINT1, bsp ? APIC_LVT_DM_NMI : APIC_LVT_MASKED);
	lapic_write(APIC_LVT_ERROR, VEC_LAPIC_ERROR);
	lapic_clear_esr();
	lapic_write(APIC_SVR, APIC_SVR_ENABLE | VEC_SPURIOUS);
	lapic_eoi();
}

static void lapic_error_irq(struct trap_frame *tf)
{
	static u32 reported;
	u32 esr;

	lapic_write(APIC_ESR, 0);
	esr = lapic_read(APIC_ESR);
	if (reported++ < 8)
		pr_warn("lapic: APIC error on APIC id %u: ESR %#x\n", lapic_id(), esr);
	lapic_eoi();
}

static void lapic_map_xapic(void)
{
	paddr_t pa = rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK;

	if (acpi.lapic_addr && acpi.lapic_addr != pa)
		pr_warn("lapic: MADT says %#llx, IA32_APIC_BASE says %#llx; using the MSR\n",
			(unsigned long long)acpi.lapic_addr, (unsigned long long)pa);
	xapic_regs = platform_map_mmio(pa, APIC_MMIO_SIZE);
	if (!xapic_regs)
		panic("lapic: cannot map the xAPIC registers at %#llx", (unsigned long long)pa);
}

void lapic_init_bsp(bool allow_x2apic)
{
	u32 a, b, c, d;

	cpuid(1, &a, &b, &c, &d);
	if (!(d & CPUID1_EDX_APIC))
		panic("lapic: this CPU has no local APIC");
	x2apic_mode = allow_x2apic && (c & CPUID1_ECX_X2APIC);
	if (!x2apic_mode)
		lapic_map_xapic();
	trap_set_handler(VEC_LAPIC_ERROR, lapic_error_irq);
	lapic_setup_local(true);
	pr_info("lapic: %s mode (CPU %s x2APIC%s), boot CPU APIC id %u, version %#x\n",
		x2apic_mode ? "x2APIC" : "xAPIC", (c & CPUID1_ECX_X2APIC) ? "has" : "lacks",
		(c & CPUID1_ECX_X2APIC) && !allow_x2apic ? ", disabled by nox2apic" : "",
		lapic_id(), lapic_read(APIC_VERSION) & 0xff);
}

void lapic_init_ap(void) { lapic_setup_local(false); }

static bool xapic_wait_idle(void)
{
	for (u32 i = 0; i < ICR_WAIT_LOOPS; i++) {
		if (!(xapic_regs[APIC_ICR_LO / 4] & APIC_ICR_DELIVERY_PENDING))
			return true;
		cpu_relax();
	}
	return false;
}

/* SDM 11.6.1 (xAPIC) and 11.12.9 (x2APIC: one 64-bit ICR write, no delivery status). */
static int lapic_write_icr(u32 dest, u32 low)
{
	u64 flags = irq_save();
	int ret = 0;

	if (x2apic_mode) {
		/* WRMSR to the ICR is not ordered with earlier stores: fence them first. */
		__asm__ __volatile__("mfence; lfence" ::: "memory");
		wrmsr(MSR_X2APIC_BASE + (APIC_ICR_LO >> 4), ((u64)dest << 32) | low);
	} else if (!xapic_regs || !xapic_wait_idle()) {
		ret = -ETIMEDOUT;
	} else {
		xapic_regs[APIC_ICR_HI / 4] = dest << APIC_ID_SHIFT;
		xapic_regs[APIC_ICR_LO / 4] = low;
		if (!xapic_wait_idle())
			ret = -ETIMEDOUT;
	}
	irq_restore(flags);
	return ret;
}

/* Only fixed and start-up IPIs carry a vector; level is "assert" for everything but INIT de-assert. */
static u32 icr_low(u32 vector, u32 mode)
{
	bool has_vector = mode == APIC_DM_FIXED || mode == APIC_DM_STARTUP;

	return mode | (has_vector ? (vector & 0xff) : 0) | APIC_ICR_LEVEL_ASSERT;
}

int lapic_send_ipi(u32 apic_id, u32 vector, u32 mode)
{
	if (!x2apic_mode && apic_id > APIC_XAPIC_MAX_ID)
		return -EINVAL;
	return lapic_write_icr(apic_id, icr_low(vector, mode));
}

int lapic_send_ipi_all_but_self(u32 vector, u32 mode)
{
	return lapic_write_icr(0, icr_low(vector, mode) | APIC_ICR_ALL_BUT_SELF);
}

u64 lapic_timer_hz(void) { return timer_hz; }
u32 lapic_timer_divider(void) { return timer_divider; }

void lapic_timer_start_masked(u32 divider, u32 count)
{
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | VEC_LAPIC_TIMER);
	lapic_write(APIC_TIMER_DIV, divider_code(divider));
	lapic_write(APIC_TIMER_INIT, count);
}

u32 lapic_timer_current(void) { return lapic_read(APIC_TIMER_CUR); }

void lapic_timer_set_calibration(u32 divider, u64 hz)
{
	timer_divider = divider == 1 ? 1 : 16;
	timer_hz = hz;
	lapic_write(APIC_TIMER_INIT, 0);
	lapic_write(APIC_TIMER_DIV, divider_code(timer_divider));
}

/* ns -> timer ticks, at least 1, at most the 32-bit counter. */
static u32 ns_to_ticks(u64 ns)
{
	u64 t;

	if (ns < ~0ULL / timer_hz)
		t = ns * timer_hz / 1000000000ULL;
	else
		t = ns / 1000 * timer_hz / 1000000ULL;
	if (t == 0)
		return 1;
	return t > 0xffffffffULL ? 0xffffffffU : (u32)t;
}

static void lapic_timer_arm(u64 ns, u32 lvt_mode)
{
	if (!timer_hz || ns == 0) {
		lapic_timer_stop();
		return;
	}
	/* Writing the LVT first, then the count, starts the timer (SDM 11.5.4). */
	lapic_write(APIC_LVT_TIMER, lvt_mode | VEC_LAPIC_TIMER);
	lapic_write(APIC_TIMER_INIT, ns_to_ticks(ns));
}

void lapic_timer_oneshot_ns(u64 ns) { lapic_timer_arm(ns, 0); }
void lapic_timer_periodic_ns(u64 ns) { lapic_timer_arm(ns, APIC_TIMER_PERIODIC); }

void lapic_timer_stop(void)
{
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | VEC_LAPIC_TIMER);
	lapic_write(APIC_TIMER_INIT, 0);
}
