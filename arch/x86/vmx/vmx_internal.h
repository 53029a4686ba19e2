/* Shared declarations of the Intel VMX backend (not an interface for other subsystems). */
#ifndef HV_VMX_VMX_INTERNAL_H
#define HV_VMX_VMX_INTERNAL_H

#include "hv/types.h"
#include "hv/exit.h"
#include "hv/virt.h"
#include "hv/mmu/gmem.h"
#include "asm/vmx.h"

struct vcpu;
struct vm;

/* ---- Capabilities and controls (vmx_caps.c: pure, host-tested). ---- */

/* The capability MSRs, read once by vmx_probe on the boot CPU (identical on every CPU). */
struct vmx_caps {
	u64 basic;
	/* Allowed settings of each control field: the TRUE_* MSRs when BASIC bit 55 says so. */
	u64 pin, proc, proc2, exit, entry;
	u64 misc;
	u64 ept_vpid;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

/* What the backend runs with, computed from vmx_caps (never hard-coded). */
struct vmx_config {
	u32 pin, proc, proc2, exit, entry;  /* base values of the control fields */
	u32 revision;                       /* VMCS revision identifier */
	bool vpid;                          /* a VPID per vCPU */
	u32 preempt_shift;                  /* the preemption timer counts TSC >> this */
	u32 preempt_value;                  /* its value at each entry (pin control set) */
	bool ept_1g;                        /* 1 GiB EPT pages */
	u8 invept_type;                     /* INVEPT_SINGLE_CONTEXT or INVEPT_ALL_CONTEXT */
	u8 invvpid_type;                    /* INVVPID_SINGLE_CONTEXT or _ALL_CONTEXT (vpid only) */
	bool invvpid_addr;                  /* individual-address INVVPID */
	/* Guest CR0/CR4: bits forced on and off in the real register, and the bits the
	 * hypervisor owns (guest/host mask: the guest sees the read shadow there). */
	u64 cr0_on, cr0_off, cr0_mask;
	u64 cr4_on, cr4_off, cr4_mask;
};

/*
 * The value of one control field: `want` plus what the allowed-0 settings
 * (low half of cap) force on, minus what the allowed-1 settings (high half)
 * forbid. Fails with -ENODEV when a bit of `need` cannot be 1, a bit of
 * `dynamic` (switched at run time) cannot be both 0 and 1, or a bit of
 * `forbid` is forced to 1; *bad then holds the offending bits.
 */
int vmx_ctl_adjust(u64 cap, u32 want, u32 need, u32 dynamic, u32 forbid, u32 *out, u32 *bad);

/* Compute the configuration; -ENODEV with words in why when the CPU cannot run the backend. */
int vmx_config_compute(const struct vmx_caps *caps, struct vmx_config *cfg, char *why,
		       size_t len);

/* One line: revision, EPT, VPID, unrestricted guest, large pages, A/D, INVEPT/INVVPID, APIC virtualization. */
void vmx_caps_describe(const struct vmx_caps *caps, char *buf, size_t len);

/* Real CR0/CR4 for what the guest asked (with the fixed bits applied). */
static inline u64 vmx_real_cr0(const struct vmx_config *c, u64 cr0)
{
	return (cr0 | c->cr0_on) & ~c->cr0_off;
}

static inline u64 vmx_real_cr4(const struct vmx_config *c, u64 cr4)
{
	return (cr4 | c->cr4_on) & ~c->cr4_off;
}

extern struct vmx_caps vmx_caps;
extern struct vmx_config vmx_cfg;

/* ---- EPT (vmx_ept.c: pure, host-tested). ---- */

/* Page-table page allocator, replaceable by a fake in host tests. */
struct vmx_page_alloc {
	void *ctx;
	/* A zeroed 4 KiB page: host-physical address and pointer; 0 or -ENOMEM. */
	int (*alloc)(void *ctx, hpa_t *pa, void **va);
	void (*free)(void *ctx, hpa_t pa);
	void *(*pa_to_va)(void *ctx, hpa_t pa);
};

struct vmx_ept {
	hpa_t root_pa;     /* the PML4 */
	u64 *root;
	u32 nr_tables;     /* pages held, root included */
	u32 nr_1g, nr_2m;  /* leaf entries made */
};

/*
 * Map every RAM slot of `mem` read/write/execute with memory type WB: 1 GiB
 * pages where `use_1g` and a 1 GiB-aligned gigabyte of guest memory is one
 * host-contiguous, 1 GiB-aligned run, else 2 MiB pages (SDM vol. 3C 29.3.2).
 * Everything else stays unmapped, so accesses there exit (EPT violation). On
 * failure returns -ENOMEM/-EINVAL and holds nothing.
 */
int vmx_ept_build(struct vmx_ept *ept, const struct gmem *mem, bool use_1g,
		  const struct vmx_page_alloc *a);
void vmx_ept_free(struct vmx_ept *ept, const struct vmx_page_alloc *a);
/* Walk the tables: host-physical address of gpa, or 0 when not mapped. *level: 1G=3, 2M=2, 4K=1. */
hpa_t vmx_ept_translate(const struct vmx_ept *ept, gpa_t gpa, int *level,
			const struct vmx_page_alloc *a);
/* The EPT pointer for the VMCS: WB, 4-level walk (25.6.11). */
u64 vmx_eptp(const struct vmx_ept *ept);

/* ---- Exits (vmx_exit.c: pure, host-tested). ---- */

/* The raw exit information read from the VMCS after an exit (what the decoder needs). */
struct vmx_exit_raw {
	u32 reason;        /* full exit-reason field */
	u64 qual;
	u64 gpa;           /* EPT violation / misconfiguration */
	u64 gla;           /* EPT violation with a valid linear address */
	u32 intr_info;     /* exception or NMI exits */
	u32 intr_error;
	u32 insn_len;
	u32 insn_info;     /* INS/OUTS */
};

/* SDM appendix C name of a basic exit reason ("EPT violation"), never NULL. */
const char *vmx_exit_name(u32 basic_reason);
/* Does the decoder need these fields for this basic reason? (what to VMREAD) */
bool vmx_exit_needs_gpa(u32 basic_reason);
bool vmx_exit_needs_intr_info(u32 basic_reason);
/* Words for a VM-instruction error number (table 31-1), never NULL. */
const char *vmx_insn_error_name(u32 error);
/* Words for an entry failure: reason 33/34/41 with its qualification. */
const char *vmx_entry_failure_name(u32 basic_reason, u64 qual);
/*
 * Turn a VMX exit into the common record. gprs: the guest's general
 * registers (RCX for MSR exits). Entry failures become EXIT_INVALID_STATE
 * (what is left for the caller). Pure.
 */
void vmx_exit_decode(const struct vmx_exit_raw *r, const u64 *gprs, bool inout_info,
		     struct vm_exit *e);

/* Event encoding for VM_ENTRY_INTR_INFO from the common record (PE: guest CR0.PE). */
u32 vmx_event_encode(const struct vcpu_event *e, bool pe);
/* Decode IDT-vectoring information; false when its valid bit is clear. */
bool vmx_event_decode(u32 info, u32 error, struct vcpu_event *e);

/* ---- VMCS contents (vmx_vmcs.c: through the accessors; host-tested on a fake VMCS). ---- */

/* Segment attributes: struct vcpu_segment packing <-> VMCS access rights. */
u32 vmx_ar_from_attr(u16 attr);
u16 vmx_attr_from_ar(u32 ar);

/* Control fields, exception bitmap, CR masks, link pointer, EPTP, VPID. */
void vmx_vmcs_init_controls(const struct vmx_config *c, u64 eptp, u16 vpid);
/* Guest state of an x86 processor after RESET (SDM vol. 3A 10.1.1); GPRs are the caller's. */
void vmx_vmcs_reset_guest(const struct vmx_config *c);
void vmx_vmcs_get_sregs(const struct vmx_config *c, struct vcpu_sregs *s);
/* Also sets the IA-32e mode entry control from EFER.LMA; returns the new entry controls. */
u32 vmx_vmcs_set_sregs(const struct vmx_config *c, const struct vcpu_sregs *s, u32 entry_ctls);
/* MSRs held in the VMCS: EFER, PAT, SYSENTER_CS/ESP/EIP, FS/GS base. 0, -ENOENT or -EINVAL. */
int vmx_vmcs_get_msr(u32 index, u64 *value);
int vmx_vmcs_set_msr(u32 index, u64 value);
/* NULL if the guest state passes the checks of SDM vol. 3C 27.3.1 we know, else words naming the first problem. */
const char *vmx_vmcs_check_guest(const struct vmx_config *c);
/* Print the guest state and the controls, one line per call of say. */
void vmx_vmcs_dump(void (*say)(void *ctx, const char *line), void *ctx);

/* MSRs not held in the VMCS, switched around each entry (vmx_run.c). */
enum vmx_switched_msr { VMX_MSR_STAR, VMX_MSR_LSTAR, VMX_MSR_CSTAR, VMX_MSR_SFMASK,
			VMX_MSR_KERNEL_GS_BASE, VMX_NR_SWITCHED_MSRS };
extern const u32 vmx_switched_msr_index[VMX_NR_SWITCHED_MSRS];
/* Which switched MSR an index is, or -1. */
int vmx_switched_msr_slot(u32 index);
/* Validate a guest write to a switched MSR (canonical addresses, SFMASK 32 bits). */
int vmx_switched_msr_check(u32 index, u64 value);

/* ---- Run time (vmx.c, vmx_run.c; hypervisor only). ---- */

#define VMX_NO_CPU (~0u)

/* Per-CPU state; touched by its CPU only (with interrupts off), or by IPIs to it. */
struct vmx_cpu {
	bool enabled;
	hpa_t vmxon_pa;
	struct vmx_vcpu *current;               /* the VMCS made current here, if ours */
	u64 host_msr[VMX_NR_SWITCHED_MSRS];     /* as the host left them at enable time */
};
extern struct vmx_cpu vmx_cpus[];

/* Per-VM data (vm->arch). */
struct vmx_vm {
	struct vmx_ept ept;
	u64 eptp;
};

#define VMX_WHY_LEN 200

/*
 * Per-vCPU data (vcpu->arch). Owned by the vCPU thread, which touches the
 * VMCS only with interrupts off after vmx_vcpu_load (so it cannot migrate
 * meanwhile).
 */
struct vmx_vcpu {
	struct vcpu *vcpu;
	void *vmcs;
	hpa_t vmcs_pa;
	u32 cpu;                 /* where the VMCS is active, VMX_NO_CPU when clear */
	bool launched;           /* VMLAUNCH done since the last VMCLEAR: VMRESUME next */
	bool flush;              /* flush the guest's translations (INVVPID) before entry */
	u16 vpid;
	u32 proc;                /* primary controls as last written */
	u32 entry;               /* entry controls as last written */
	u32 entry_intr;          /* VM_ENTRY_INTR_INFO as written; cleared by each exit */
	u32 intr_state;          /* guest interruptibility state (cache of the field) */
	u64 exit_rip;            /* RIP at the last exit: a skipped instruction ends STI/MOV-SS blocking */
	u32 idt_info, idt_error, idt_len;  /* event interrupted by the last exit, until taken */
	u32 reinject_len;        /* instruction length of a re-injected software event */
	u64 cr2;                 /* guest CR2 (VMX does not switch it) */
	u64 msr[VMX_NR_SWITCHED_MSRS];
	bool failed;             /* a VMREAD/VMWRITE on this VMCS failed: refuse entry */
	char fail_what[VMX_WHY_LEN];
	char why[VMX_WHY_LEN];   /* the words EXIT_INVALID_STATE points to */
	u64 migrations;          /* entries on a CPU other than the previous one */
	u64 remote_clears;       /* VMCLEARs done by IPI on the previous CPU */
	u32 last_reason;         /* basic reason of the last exit */
};

int vmx_vcpu_init(struct vcpu *v);
void vmx_vcpu_destroy(struct vcpu *v);
int vmx_vcpu_run(struct vcpu *v, struct vm_exit *exit);
void vmx_get_sregs(struct vcpu *v, struct vcpu_sregs *s);
void vmx_set_sregs(struct vcpu *v, const struct vcpu_sregs *s);
int vmx_get_msr(struct vcpu *v, u32 index, u64 *value);
int vmx_set_msr(struct vcpu *v, u32 index, u64 value);
void vmx_inject_event(struct vcpu *v, const struct vcpu_event *e);
bool vmx_irq_allowed(struct vcpu *v);
void vmx_request_irq_window(struct vcpu *v, bool on);
bool vmx_take_interrupted_event(struct vcpu *v, struct vcpu_event *e);
void vmx_flush_guest_tlb(struct vcpu *v);
void vmx_dump(struct vcpu *v, void (*say)(void *ctx, const char *line), void *ctx);
int vmx_debug_corrupt(struct vcpu *v);

/* Event counters over all vCPUs (atomic increments), for `virt`. */
struct vmx_stats {
	u64 entries, migrations, remote_vmclears, vpid_flushes, invept;
};
extern struct vmx_stats vmx_stats;
#define VMX_COUNT(field) __atomic_fetch_add(&vmx_stats.field, 1, __ATOMIC_RELAXED)

/* VPIDs 1..65535, one per vCPU (vmx.c). 0 when none is free (the vCPU then shares VPID 0 semantics). */
u16 vmx_vpid_alloc(void);
void vmx_vpid_free(u16 vpid);

#endif
