/* Virtual local APIC of a vCPU (Intel SDM vol. 3A ch. 11): xAPIC MMIO, x2APIC MSRs, timer. */
#ifndef HV_HV_DEV_VLAPIC_H
#define HV_HV_DEV_VLAPIC_H

#include "lib/types.h"
#include "hv/iobus.h"
#include "asm/spinlock.h"

struct vlapic;

#define VLAPIC_DEFAULT_BASE 0xfee00000ULL
#define VLAPIC_MMIO_SIZE 0x1000

/* Timer input clock: 1 GHz (one count per ns at divide-by-1), as KVM. For CPUID 0x15/0x16. */
#define VLAPIC_TIMER_HZ 1000000000ULL
/* A periodic timer never fires more often than this (a guest cannot storm the host). */
#define VLAPIC_MIN_PERIOD_NS 100000ULL

/* IA32_APIC_BASE (SDM 11.4.4) and the MSRs this device answers. */
#define MSR_IA32_APIC_BASE 0x1bU
#define MSR_IA32_TSC_DEADLINE 0x6e0U
#define MSR_X2APIC_BASE 0x800U /* MSR = 0x800 + (MMIO offset >> 4) (SDM 11.12.1.2) */
#define MSR_X2APIC_END 0x8ffU
#define APIC_BASE_BSP BIT(8)
#define APIC_BASE_EXTD BIT(10) /* x2APIC mode */
#define APIC_BASE_EN BIT(11)
#define APIC_BASE_ADDR_MASK GENMASK(51, 12)

/* Register offsets in the xAPIC page (SDM table 11-1). */
#define APIC_REG_ID 0x020
#define APIC_REG_VERSION 0x030
#define APIC_REG_TPR 0x080
#define APIC_REG_APR 0x090
#define APIC_REG_PPR 0x0a0
#define APIC_REG_EOI 0x0b0
#define APIC_REG_RRD 0x0c0
#define APIC_REG_LDR 0x0d0
#define APIC_REG_DFR 0x0e0
#define APIC_REG_SVR 0x0f0
#define APIC_REG_ISR 0x100 /* 8 registers, 0x10 apart */
#define APIC_REG_TMR 0x180
#define APIC_REG_IRR 0x200
#define APIC_REG_ESR 0x280
#define APIC_REG_LVT_CMCI 0x2f0
#define APIC_REG_ICR_LO 0x300
#define APIC_REG_ICR_HI 0x310
#define APIC_REG_LVT_TIMER 0x320
#define APIC_REG_LVT_THERMAL 0x330
#define APIC_REG_LVT_PERF 0x340
#define APIC_REG_LVT_LINT0 0x350
#define APIC_REG_LVT_LINT1 0x360
#define APIC_REG_LVT_ERROR 0x370
#define APIC_REG_TMICT 0x380
#define APIC_REG_TMCCT 0x390
#define APIC_REG_TDCR 0x3e0
#define APIC_REG_SELF_IPI 0x3f0 /* x2APIC only */

#define APIC_SVR_ENABLE BIT(8)
#define APIC_SVR_FOCUS_DISABLE BIT(9)
#define APIC_LVT_MASKED BIT(16)
#define APIC_LVT_TIMER_MODE(v) (((v) >> 17) & 3)
#define APIC_TIMER_ONESHOT 0U
#define APIC_TIMER_PERIODIC 1U
#define APIC_TIMER_TSC_DEADLINE 2U

/* ESR bits (SDM 11.5.3). */
#define APIC_ESR_SEND_ILLEGAL_VECTOR BIT(5)
#define APIC_ESR_RECV_ILLEGAL_VECTOR BIT(6)
#define APIC_ESR_ILLEGAL_REGISTER BIT(7)

/* ICR fields (SDM 11.6.1). */
#define APIC_ICR_VECTOR(lo) ((lo) & 0xffU)
#define APIC_ICR_MODE(lo) (((lo) >> 8) & 7U)
#define APIC_ICR_LOGICAL BIT(11)
#define APIC_ICR_LEVEL_ASSERT BIT(14)
#define APIC_ICR_TRIGGER_LEVEL BIT(15)
#define APIC_ICR_SHORTHAND(lo) (((lo) >> 18) & 3U)

enum vlapic_delivery {
	VLAPIC_DM_FIXED = 0,
	VLAPIC_DM_LOWEST = 1,
	VLAPIC_DM_SMI = 2,
	VLAPIC_DM_NMI = 4,
	VLAPIC_DM_INIT = 5,
	VLAPIC_DM_SIPI = 6,
	VLAPIC_DM_EXTINT = 7,
};

enum vlapic_shorthand {
	VLAPIC_SH_NONE = 0,
	VLAPIC_SH_SELF = 1,
	VLAPIC_SH_ALL = 2,        /* all including self */
	VLAPIC_SH_OTHERS = 3,     /* all excluding self */
};

/* An interprocessor interrupt as written to the ICR. */
struct vlapic_ipi {
	u8 mode;          /* enum vlapic_delivery: FIXED, LOWEST, NMI, INIT or SIPI */
	u8 vector;        /* FIXED/LOWEST: the vector; SIPI: start page (CS base = vector << 12) */
	u8 shorthand;     /* enum vlapic_shorthand */
	bool logical;     /* destination mode */
	bool level;       /* trigger mode level (sets TMR at the receiver) */
	bool x2apic;      /* sent in x2APIC mode: dest is 32 bits, broadcast 0xffffffff */
	u32 dest;         /* xAPIC: ICR bits 63:56; x2APIC: bits 63:32 */
};

/*
 * What the core provides; ctx is passed back (typically the struct vcpu).
 * now_ns and read_tsc are required; the others may be NULL.
 * now_ns, read_tsc: called with the vlapic lock held (must not take locks
 *   that are held around vlapic calls). Same clock as the now_ns given to
 *   vlapic_update. TSC-deadline compares with read_tsc; tsc_hz converts
 *   TSC deltas into ns for vlapic_next_event_ns.
 * send_ipi: an ICR write other than a fixed IPI to self (which the vlapic
 *   delivers itself). Called with no vlapic lock held, on the sender's vCPU
 *   thread. The core loops over the VM's LAPICs with vlapic_ipi_targets()
 *   and, per target: FIXED -> vlapic_set_irq(target, vector, level);
 *   LOWEST -> the same for one target (the first match is fine); NMI ->
 *   inject an NMI; INIT -> vlapic_init_reset() and park the vCPU until SIPI;
 *   SIPI -> start a parked vCPU at CS selector vector << 8 (base vector <<
 *   12), IP 0. Then kick the target.
 * notify: an interrupt became pending in IRR (re-evaluate injection; kick
 *   the vCPU if it is elsewhere). No vlapic lock held; any thread.
 * eoi: the guest EOI'd a level-triggered vector (for the IOAPIC's remote
 *   IRR). No vlapic lock held; the vCPU's thread.
 */
struct vlapic_hooks {
	void *ctx;
	u64 (*now_ns)(void *ctx);
	u64 (*read_tsc)(void *ctx);
	u64 tsc_hz;
	void (*send_ipi)(void *ctx, struct vlapic *src, const struct vlapic_ipi *ipi);
	void (*notify)(void *ctx);
	void (*eoi)(void *ctx, u8 vector);
};

enum vlapic_lvt {
	VLAPIC_LVT_TIMER,
	VLAPIC_LVT_THERMAL,
	VLAPIC_LVT_PERF,
	VLAPIC_LVT_LINT0,
	VLAPIC_LVT_LINT1,
	VLAPIC_LVT_ERROR,
	VLAPIC_NR_LVT
};

/*
 * Locking: `lock` (a spinlock, interrupts off) protects every field but
 * `hooks` (fixed at creation). IRR/TMR are set by any thread (devices,
 * IPIs); everything else changes on the vCPU's own thread.
 */
struct vlapic {
	struct spinlock lock;
	struct vlapic_hooks hooks;
	u64 apic_base;          /* IA32_APIC_BASE */
	u32 id;                 /* full 32-bit x2APIC id; the xAPIC ID register shows bits 7:0 */
	u32 initial_id;         /* what reset restores (an xAPIC guest may rewrite ID) */
	u32 tpr, ldr, dfr, svr;
	u32 isr[8], tmr[8], irr[8]; /* 256-bit maps: vector v is bit v%32 of word v/32 */
	u32 esr;                /* as last latched by an ESR write */
	u32 esr_pending;        /* errors since that write */
	u32 icr_lo, icr_hi;
	u32 lvt[VLAPIC_NR_LVT];
	u32 tmict, tdcr;
	u64 timer_expire_ns;    /* one-shot/periodic: next expiry, 0 = not counting */
	u64 timer_period_ns;    /* TMICT * divisor in ns (periodic: at least VLAPIC_MIN_PERIOD_NS) */
	u64 tsc_deadline;       /* IA32_TSC_DEADLINE, 0 = disarmed */
	u64 timer_fired;        /* expiries that set IRR (statistics) */
};

/*
 * Allocate a LAPIC in its power-on state: enabled in xAPIC mode at
 * VLAPIC_DEFAULT_BASE, software-disabled (SVR 0xff), all LVTs masked.
 * `bsp` sets IA32_APIC_BASE.BSP. hooks is copied. NULL when out of memory.
 */
struct vlapic *vlapic_create(const struct vlapic_hooks *hooks, u32 apic_id, bool bsp);
void vlapic_destroy(struct vlapic *l);
/* Power-on / RESET state (VM reset). */
void vlapic_reset(struct vlapic *l);
/* INIT (SDM 11.4.7.3): like reset, but the APIC id and IA32_APIC_BASE are kept. */
void vlapic_init_reset(struct vlapic *l);
u32 vlapic_id(struct vlapic *l);

/*
 * For the run loop (vCPU thread). The highest IRR vector whose priority
 * class is above PPR, or -1 (none, or the APIC is hardware-disabled).
 */
int vlapic_pending_vector(struct vlapic *l);
/* The guest took `vector` (injected it): IRR -> ISR, PPR follows. */
void vlapic_accept(struct vlapic *l, u8 vector);
/* Absolute time (now_ns clock) of the next timer expiry that raises an interrupt; 0: none. */
u64 vlapic_next_event_ns(struct vlapic *l);
/* Process timer expiries up to now_ns: set IRR, re-arm periodic, disarm one-shot/deadline. */
void vlapic_update(struct vlapic *l, u64 now_ns);

/*
 * Post an interrupt (devices, IPI delivery): sets IRR and, for level = true
 * (level-triggered), TMR. Dropped while the APIC is disabled; vectors 0-15
 * are illegal (ESR). Calls the notify hook. Any thread, no vlapic lock held.
 */
void vlapic_set_irq(struct vlapic *l, u8 vector, bool level);

/*
 * Does `ipi`, sent by `src`, address `target`? Shorthands, physical and
 * logical (flat/cluster xAPIC, x2APIC cluster) destinations, broadcast.
 * A hardware-disabled target is never addressed. Takes target's lock.
 */
bool vlapic_ipi_targets(struct vlapic *target, const struct vlapic *src, const struct vlapic_ipi *ipi);

/*
 * xAPIC page accesses at `offset` (0..0xfff). Registers are read in any size
 * (bytes of the 16-byte slot past the 32-bit register read 0); only aligned
 * 32-bit writes take effect (SDM 11.4.1). Nothing happens unless the APIC is
 * enabled in xAPIC mode.
 */
u64 vlapic_mmio_read(struct vlapic *l, u32 offset, u8 size);
void vlapic_mmio_write(struct vlapic *l, u32 offset, u8 size, u64 val);
/* MMIO ops for [VLAPIC_DEFAULT_BASE, +VLAPIC_MMIO_SIZE): they use v->lapic, dev is unused. */
extern const struct io_ops vlapic_mmio_ops;
/* Register those ops once per VM on its MMIO bus. 0 or io_bus_register's error. */
int vlapic_register_mmio(struct io_bus *mmio);

/*
 * RDMSR/WRMSR of IA32_APIC_BASE, IA32_TSC_DEADLINE and 0x800-0x8ff.
 * Returns true when done, false when the guest gets #GP (x2APIC range
 * outside x2APIC mode, read-only/write-only register, reserved bits, an
 * invalid mode change) or when the MSR is not one of these.
 */
bool vlapic_rdmsr(struct vlapic *l, u32 msr, u64 *val);
bool vlapic_wrmsr(struct vlapic *l, u32 msr, u64 val);

#endif
