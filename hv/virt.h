/* The hardware-virtualization backend interface: one of SVM or VMX, chosen at boot. */
#ifndef HV_HV_VIRT_H
#define HV_HV_VIRT_H

#include "hv/types.h"
#include "hv/exit.h"

struct vm;
struct vcpu;

/* virt_ops.paging_modes */
#define VIRT_PAGING_NESTED BIT(0) /* NPT / EPT */
#define VIRT_PAGING_SHADOW BIT(1) /* shadow page tables (hv/mmu/shadow.h) */

/* A segment register in the architectural (unpacked) form. */
struct vcpu_segment {
	u16 selector;
	u64 base;
	u32 limit;
	u16 attr;  /* SVM-style packed attributes: type(4) S DPL(2) P AVL L D/B G */
};

/* Attribute bits of struct vcpu_segment.attr */
#define SEG_ATTR_TYPE(t) ((t) & 0xf)
#define SEG_ATTR_S BIT(4)
#define SEG_ATTR_DPL(d) (((d) & 3) << 5)
#define SEG_ATTR_P BIT(7)
#define SEG_ATTR_AVL BIT(8)
#define SEG_ATTR_L BIT(9)
#define SEG_ATTR_DB BIT(10)
#define SEG_ATTR_G BIT(11)

enum vcpu_seg { VCPU_SEG_ES, VCPU_SEG_CS, VCPU_SEG_SS, VCPU_SEG_DS, VCPU_SEG_FS, VCPU_SEG_GS,
		VCPU_SEG_TR, VCPU_SEG_LDTR, VCPU_SEG_NR };

/* Control and segment state: read with get_sregs, changed with set_sregs. */
struct vcpu_sregs {
	struct vcpu_segment seg[VCPU_SEG_NR];
	u64 gdt_base, idt_base;
	u16 gdt_limit, idt_limit;
	u64 cr0, cr2, cr3, cr4, efer;
	u64 dr7;
};

enum event_type {
	EVENT_EXTINT = 0,   /* external interrupt */
	EVENT_NMI = 2,
	EVENT_EXCEPTION = 3,
	EVENT_SOFTINT = 4,
};

struct vcpu_event {
	bool pending;
	u8 type;            /* enum event_type */
	u8 vector;
	bool has_error_code;
	u32 error_code;
	u64 cr2;            /* #PF: the faulting address; the backend loads it into guest CR2 */
};

/*
 * Filled by a backend. Unless said otherwise, a vCPU operation runs on the
 * vCPU's own thread, on the CPU where the vCPU last ran or is about to run.
 */
struct virt_ops {
	const char *name;          /* "SVM" or "VMX" */
	/* Turn virtualization on for this CPU (called on every CPU). 0 or -errno. */
	int (*cpu_enable)(void);
	/* One-line description of what the CPU offers, for the boot log and shell. */
	void (*describe)(char *buf, size_t len);
	/*
	 * Optional: the guest paging the backend can run, VIRT_PAGING_* (NULL:
	 * nested only). With VIRT_PAGING_SHADOW, a VM whose vm->shadow is set
	 * before vm_init gets no nested tables; its vCPUs (vcpu_init calls
	 * shadow_vcpu_init) intercept CR0/CR3/CR4 reads and writes, INVLPG and
	 * #PF; before every entry the backend takes the hardware CR0/CR3/CR4/EFER
	 * and TLB flushes from shadow_cpu_enter; get/set_sregs and the EFER MSR go
	 * through v->shadow (hv/mmu/shadow.h) so the guest sees its own values.
	 */
	u32 (*paging_modes)(void);

	/* Build the nested page tables from vm->mem (after all RAM is added). */
	int (*vm_init)(struct vm *vm);
	void (*vm_destroy)(struct vm *vm);

	int (*vcpu_init)(struct vcpu *v);
	void (*vcpu_destroy)(struct vcpu *v);
	/*
	 * Enter the guest until the next exit and describe it in *exit.
	 * General registers are in v->regs (rax..r15, rip, rflags) before and after.
	 * Called with host interrupts DISABLED (the core checks its pending
	 * requests with interrupts off, so a kick IPI arriving after the check
	 * is not lost) and returns with them disabled. While the guest runs,
	 * host interrupts must cause exits: SVM does CLGI; STI; VMRUN; CLI; STGI
	 * (GIF=0 holds interrupts pending around VMRUN, host IF=1 makes them exit
	 * the guest under V_INTR_MASKING); VMX uses external-interrupt exiting.
	 * The core re-enables interrupts afterwards, and the pending host interrupt
	 * is then handled (EXIT_EXTINT needs no further work from the backend).
	 * Returns 0, or -errno if entry itself failed (then *exit is
	 * EXIT_INVALID_STATE with the reason).
	 */
	int (*vcpu_run)(struct vcpu *v, struct vm_exit *exit);
	void (*get_sregs)(struct vcpu *v, struct vcpu_sregs *s);
	void (*set_sregs)(struct vcpu *v, const struct vcpu_sregs *s);
	/*
	 * MSRs whose guest value lives in the VMCB/VMCS (EFER, PAT, STAR, LSTAR,
	 * CSTAR, SFMASK, KERNEL_GS_BASE, FS_BASE, GS_BASE, SYSENTER_CS/ESP/EIP, ...).
	 * The core intercepts every MSR and asks the backend through these for the
	 * ones it does not emulate itself. Return 0, or -ENOENT when the backend
	 * does not hold that MSR (the core then injects #GP), -EINVAL for a value
	 * the guest may not write (the core injects #GP). The backend keeps its own
	 * required bits (e.g. EFER.SVME) and hides them from the guest.
	 */
	int (*get_msr)(struct vcpu *v, u32 index, u64 *value);
	int (*set_msr)(struct vcpu *v, u32 index, u64 value);
	/* Deliver at the next entry. The core only calls it when injection is allowed. */
	void (*inject_event)(struct vcpu *v, const struct vcpu_event *e);
	/*
	 * Can an external interrupt be delivered now (RFLAGS.IF, no interrupt
	 * shadow, no pending event)? When v->regs.rip differs from the RIP of the
	 * last exit, the core completed the exiting instruction: an interrupt
	 * shadow it ran in (STI; HLT) is over. Backends apply that here and at entry.
	 */
	bool (*irq_allowed)(struct vcpu *v);
	/* Ask for an EXIT_IRQ_WINDOW as soon as interrupts can be delivered (or stop asking). */
	void (*request_irq_window)(struct vcpu *v, bool on);
	/* The event whose delivery an exit interrupted, to re-inject (cleared on read). */
	bool (*take_interrupted_event)(struct vcpu *v, struct vcpu_event *e);
	/* Flush this vCPU's guest TLB entries at the next entry. */
	void (*flush_guest_tlb)(struct vcpu *v);
	/* Print backend-specific state (VMCB/VMCS fields) for the shell and crash reports. */
	void (*dump)(struct vcpu *v, void (*say)(void *ctx, const char *line), void *ctx);
	/*
	 * Optional (NULL when the backend has none). Make the vCPU's next VM
	 * entry fail on purpose by breaking one guest-state field, to show how a
	 * refused entry is reported (the VM must end crashed, nothing else).
	 * Takes effect when the vCPU next enters the guest. Any thread, with the
	 * VM admin lock held; 0, or -EBUSY while another request is outstanding.
	 */
	int (*debug_corrupt)(struct vcpu *v);
	/* Optional: one line of backend event counters (entries, migrations, flushes). Any thread. */
	void (*counters)(char *buf, size_t len);
};

/* The backend in use, or NULL when the CPU has neither SVM nor VMX (set by virt_init). */
extern const struct virt_ops *virt;

/*
 * Pick the backend from CPUID, enable it on every online CPU, log what the
 * CPU offers. Returns 0, or -ENODEV when there is no usable backend (the
 * hypervisor then runs without VMs and says why).
 */
int virt_init(void);

/* Backends, tried by virt_init in this order; each returns NULL if unusable here. */
const struct virt_ops *svm_probe(void);
const struct virt_ops *vmx_probe(void);

#endif
