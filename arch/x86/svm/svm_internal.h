/* Shared declarations of the SVM backend (not an interface for other subsystems). */
#ifndef HV_SVM_SVM_INTERNAL_H
#define HV_SVM_SVM_INTERNAL_H

#include "hv/types.h"
#include "hv/exit.h"
#include "hv/virt.h"
#include "hv/mmu/gmem.h"
#include "asm/svm.h"

/* What CPUID 0x8000000A says (filled once by svm_probe; identical on every CPU). */
struct svm_caps {
	u32 revision;
	u32 nr_asids;   /* ASIDs 1 .. nr_asids-1 are usable by guests (0 is the host) */
	u32 features;   /* EDX: SVM_FEAT_* */
};
extern struct svm_caps svm_caps;

static inline bool svm_has(u32 feat) { return (svm_caps.features & feat) != 0; }

/* ---- ASIDs (svm_asid.c): per-CPU generations, as in KVM. ---- */

/* One per CPU; touched only by that CPU with GIF clear. */
struct svm_asid_cpu {
	u64 generation;  /* bumped whenever the CPU's ASIDs are all flushed and reused */
	u32 next;        /* next ASID to hand out in this generation */
	u32 max;         /* highest usable ASID */
	u64 handed_out;  /* ASIDs given to vCPUs so far (statistics) */
};

/* One per vCPU: the ASID it owns on `cpu` in `generation`. Owned by the vCPU thread. */
struct svm_asid_vcpu {
	u32 cpu;
	u32 asid;
	u64 generation;  /* 0: none yet */
	bool flush;      /* flush its translations at the next entry */
};

/* Set up a CPU's allocator for nr_asids ASIDs (>= 2). The first assignment flushes all. */
void svm_asid_cpu_init(struct svm_asid_cpu *c, u32 nr_asids);
/*
 * Before VMRUN on `cpu`: make sure `v` holds an ASID that is valid there and
 * has no stale translations, and return the TLB_CONTROL value for this VMRUN.
 * A vCPU that moved from another CPU, or whose generation is stale, gets a
 * fresh ASID; running out starts a new generation with a full flush. A
 * requested flush is done by ASID when `flush_by_asid`, else by a fresh ASID.
 */
u8 svm_asid_prepare(struct svm_asid_cpu *c, u32 cpu, struct svm_asid_vcpu *v, bool flush_by_asid);

/* ---- Nested page tables (svm_npt.c). ---- */

/* Page-table page allocator, replaceable by a fake in host tests. */
struct svm_page_alloc {
	void *ctx;
	/* A zeroed 4 KiB page: its host-physical address and a pointer to it; 0 or -ENOMEM. */
	int (*alloc)(void *ctx, hpa_t *pa, void **va);
	void (*free)(void *ctx, hpa_t pa);
	void *(*pa_to_va)(void *ctx, hpa_t pa);
};

struct svm_npt {
	hpa_t root_pa;   /* nCR3 */
	u64 *root;
	u32 nr_tables;   /* pages held, root included */
};

/*
 * Map every RAM slot of `mem` with 2 MiB pages (RW, user, executable, WB) and
 * leave everything else unmapped so that accesses there exit with NPF. On
 * failure returns -ENOMEM/-EINVAL and holds nothing.
 */
int svm_npt_build(struct svm_npt *npt, const struct gmem *mem, const struct svm_page_alloc *a);
void svm_npt_free(struct svm_npt *npt, const struct svm_page_alloc *a);
/* Walk the tables: host-physical address for gpa, or 0 if unmapped. */
hpa_t svm_npt_translate(const struct svm_npt *npt, gpa_t gpa, const struct svm_page_alloc *a);

/* ---- VMCB contents (svm_vmcb.c). ---- */

/* Program the control area (intercepts, maps, nested paging) and the reset state. */
void svm_vmcb_init(struct vmcb *vmcb, hpa_t iopm_pa, hpa_t msrpm_pa, hpa_t ncr3);
/* Guest state of an x86 processor after RESET (APM vol. 2 14.1.3); GPRs are the caller's. */
void svm_vmcb_reset_state(struct vmcb *vmcb);
void svm_vmcb_get_sregs(const struct vmcb *vmcb, struct vcpu_sregs *s);
void svm_vmcb_set_sregs(struct vmcb *vmcb, const struct vcpu_sregs *s);
/*
 * MSRs kept in the VMCB (EFER, PAT, syscall/sysenter MSRs, FS/GS/KernelGS
 * bases): 0, -ENOENT if not held here, -EINVAL for a value a real CPU would
 * refuse with #GP. EFER.SVME stays set and is hidden.
 */
int svm_vmcb_get_msr(const struct vmcb *vmcb, u32 index, u64 *value);
int svm_vmcb_set_msr(struct vmcb *vmcb, u32 index, u64 value);
/* NULL if VMRUN would accept the guest state, else words naming the first problem (APM 15.5.1). */
const char *svm_vmcb_check(const struct vmcb *vmcb);

u64 svm_event_encode(const struct vcpu_event *e);
/* Decode EVENTINJ/EXITINTINFO; false when its valid bit is clear. */
bool svm_event_decode(u64 info, struct vcpu_event *e);

bool svm_vmcb_irq_allowed(const struct vmcb *vmcb);
void svm_vmcb_irq_window(struct vmcb *vmcb, bool on);

/* Print the main fields, one line per call of say. */
void svm_vmcb_dump(const struct vmcb *vmcb, void (*say)(void *ctx, const char *line), void *ctx);

/* ---- Exits (svm_exit.c). ---- */

/* APM name of an exit code ("cpuid", "npf", "excp_0e", ...), never NULL. */
const char *svm_exit_name(u64 exitcode);
/*
 * Describe the exit recorded in vmcb as a vendor-neutral record. rcx is the
 * guest's RCX (the MSR index). features are SVM_FEAT_* (NRIPS, decode assists
 * decide which fields are known). Pure: reads vmcb only.
 */
void svm_exit_decode(const struct vmcb *vmcb, u64 rcx, u32 features, struct vm_exit *exit);

/* ---- Run time (svm.c, svm_run.c; hypervisor only). ---- */

/* What happened around VMRUN on one CPU (written by that CPU, read racily by anyone). */
struct svm_cpu_stats {
	u64 entries;
	u64 migrations;          /* entries of a vCPU that last ran on another CPU */
	u64 flush_all;           /* VMRUNs with TLB_CONTROL = flush all ASIDs (new generation) */
	u64 flush_asid;          /* VMRUNs with TLB_CONTROL = flush this ASID */
};

/* Per-CPU state, touched only by its CPU (enable, and with GIF clear around VMRUN). */
struct svm_cpu {
	bool enabled;
	hpa_t hsave_pa;          /* VM_HSAVE_PA: VMRUN saves host state here */
	hpa_t host_vmcb_pa;      /* VMSAVE/VMLOAD of host FS/GS/TR/LDTR/syscall MSRs */
	struct svm_asid_cpu asid;
	struct svm_cpu_stats stats;
};
extern struct svm_cpu svm_cpus[];

/* I/O and MSR permission maps, all bits set (intercept everything), shared by all vCPUs. */
extern hpa_t svm_iopm_pa, svm_msrpm_pa;

/* Per-VM data (vm->arch). */
struct svm_vm {
	struct svm_npt npt;
};

/* Per-vCPU data (vcpu->arch); owned by the vCPU thread. */
struct svm_vcpu {
	struct vmcb *vmcb;
	hpa_t vmcb_pa;
	struct svm_asid_vcpu asid;
	u64 exitintinfo;         /* event interrupted by the last exit, until taken */
};

struct vcpu;
struct vm;
int svm_vcpu_init(struct vcpu *v);
void svm_vcpu_destroy(struct vcpu *v);
int svm_vcpu_run(struct vcpu *v, struct vm_exit *exit);
void svm_get_sregs(struct vcpu *v, struct vcpu_sregs *s);
void svm_set_sregs(struct vcpu *v, const struct vcpu_sregs *s);
int svm_get_msr(struct vcpu *v, u32 index, u64 *value);
int svm_set_msr(struct vcpu *v, u32 index, u64 value);
void svm_inject_event(struct vcpu *v, const struct vcpu_event *e);
bool svm_irq_allowed(struct vcpu *v);
void svm_request_irq_window(struct vcpu *v, bool on);
bool svm_take_interrupted_event(struct vcpu *v, struct vcpu_event *e);
void svm_flush_guest_tlb(struct vcpu *v);
void svm_dump(struct vcpu *v, void (*say)(void *ctx, const char *line), void *ctx);
int svm_debug_corrupt(struct vcpu *v);
void svm_counters(char *buf, size_t len);

#endif
