/* Shadow MMU: hypervisor-built page tables that mirror a guest's, cached across CR3 switches. */
#ifndef HV_HV_MMU_SHADOW_H
#define HV_HV_MMU_SHADOW_H

#include "hv/types.h"
#include "hv/exit_handlers.h"
#include "hv/mmu/gmem.h"
#include "hv/mmu/walk.h"

/*
 * How it works (see also hv/mmu/shadow_internal.h):
 * - The guest's CR3 is virtual. Hardware walks shadow tables in PAE format
 *   (guests with paging off, 32-bit and PAE paging; the root is a per-vCPU
 *   PDPT below 4 GiB) or 4-level format (long-mode guests). Hardware runs
 *   with CR0.PG and CR0.WP forced on.
 * - Each shadow page shadows one guest table page (or a quarter/half of a
 *   32-bit one) in a role (level, guest paging mode, EFER.NXE, CR4.PSE), or
 *   maps a guest large page / guest-physical memory directly. Pages live in
 *   a hash keyed by (guest frame, role) and survive CR3 switches: loading a
 *   CR3 seen before finds its root there.
 * - Non-leaf shadow entries carry the guest entry's R/W, U/S and XD, leaf
 *   entries the guest leaf's, so hardware applies CR0.WP, SMEP, SMAP and
 *   RFLAGS.AC itself. A leaf is writable only if the guest's Dirty flag is set
 *   and its frame is not a shadowed guest table (those are write-protected;
 *   writes to them are emulated and applied to the shadow entries they touch).
 * - A reverse map per guest frame lists the leaf shadow entries that map it.
 * - A per-VM budget of shadow pages; past it, least recently used pages are
 *   reclaimed (second chance from the Accessed bits hardware sets in shadow
 *   entries).
 */

struct shadow_mmu;
struct shadow_cpu;

/* Paging mode of the guest, as far as the shadow is concerned. */
enum shadow_mode {
	SHADOW_MODE_NONPAGING = 0, /* CR0.PG = 0: identity shadow of guest-physical memory */
	SHADOW_MODE_32BIT = 1,
	SHADOW_MODE_PAE = 2,
	SHADOW_MODE_LONG = 3,
};

struct shadow_stats {
	u64 pages_in_use;   /* shadow page-table pages held now (roots included) */
	u64 pages_peak;
	u64 budget;         /* pages allowed */
	u64 root_hits;      /* CR3 loads whose shadow root already existed (reused, no rebuild) */
	u64 root_misses;    /* CR3 loads that had to build a new shadow root */
	u64 cr3_loads;
	u64 guest_faults;   /* #PF the guest's own tables call for: injected into the guest */
	u64 fills;          /* #PF fixed by filling shadow entries (invisible to the guest) */
	u64 mmio_faults;    /* #PF on addresses that are not RAM: emulated against devices */
	u64 wp_emulations;  /* emulated writes to write-protected guest page tables */
	u64 wp0_emulations; /* emulated supervisor writes to read-only pages under CR0.WP=0 */
	u64 pte_updates;    /* shadow entries changed by those writes */
	u64 zaps;           /* shadow pages dropped (any reason) */
	u64 flood_zaps;     /* ... because their guest page was written but not used as a table */
	u64 unsyncs;        /* pages left out of sync (not implemented: always 0) */
	u64 reclaims;       /* ... because the budget was reached */
	u64 invlpgs;
	u64 remote_flushes; /* TLB flushes of every vCPU of the VM */
	u64 spurious;       /* faults that needed no fill (stale TLB; retried or reflected) */
	u64 rmap_max;       /* longest reverse-map chain seen (mappings of one guest frame) */
};

/* What the shadow MMU needs from its host (the hypervisor, or a unit test). */
struct shadow_ops {
	/*
	 * A zeroed 4 KiB page for shadow tables: its host-physical address and a
	 * pointer to it; below_4g for PAE roots (32-bit CR3). 0 or -ENOMEM.
	 */
	int (*alloc_page)(void *ctx, bool below_4g, hpa_t *pa, u64 **va);
	void (*free_page)(void *ctx, hpa_t pa, u64 *va);
	/* Zeroed bookkeeping memory (reverse-map chains, page descriptors); NULL when out. */
	void *(*zalloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p);
	/*
	 * Make every vCPU of the VM drop its TLB and paging-structure caches
	 * before it runs guest code again, and wait until no vCPU can still be
	 * walking with old ones. Called with the MMU lock held.
	 */
	void (*remote_flush)(void *ctx);
};

/* Per-VM settings. */
struct shadow_config {
	u32 budget;         /* shadow pages allowed (>= SHADOW_MIN_BUDGET) */
	bool cache;         /* keep shadow pages across CR3 loads (false: throw all away, old KVM) */
	u8 maxphyaddr;      /* the guest's MAXPHYADDR */
	u32 walk_features;  /* WALK_F_* the guest's CPUID offers */
	u64 cr4_allowed;    /* CR4 bits the guest may set (others: #GP) */
	bool nx_allowed;    /* EFER.NXE may be set */
};

#define SHADOW_MIN_BUDGET 16

/* Where a vCPU's shadow fault handling leads (shadow_page_fault). */
enum shadow_fault_action {
	SHADOW_FIXED,      /* shadow entries filled: resume the guest */
	SHADOW_INJECT,     /* the guest's own #PF: inject it with info.pfec, CR2 = the address */
	SHADOW_MMIO,       /* not RAM (info.gpa): emulate the instruction against the devices */
	SHADOW_EMULATE,    /* a write the shadow must not allow: emulate the instruction */
	SHADOW_FATAL,      /* the guest cannot go on (info.why says why) */
};

struct shadow_fault_info {
	u32 pfec;           /* SHADOW_INJECT: error code */
	gpa_t gpa;          /* SHADOW_MMIO / SHADOW_EMULATE: the translated address */
	bool wp0;           /* SHADOW_EMULATE: because of CR0.WP=0, not a guest page table */
	const char *why;
};

/* ---- per VM ------------------------------------------------------------------ */

/*
 * Create the shadow MMU of a VM whose memory slots are final (mem must stay
 * valid and unchanged). Returns NULL when out of memory.
 */
struct shadow_mmu *shadow_mmu_create(const struct gmem *mem, const struct shadow_config *cfg,
				     const struct shadow_ops *ops, void *ctx);
/* Free everything; no vCPU may use it any more (all shadow_cpu destroyed). */
void shadow_mmu_destroy(struct shadow_mmu *m);
/* Drop every shadow page (guest memory was rewritten behind the MMU's back, e.g. VM reset). */
void shadow_mmu_zap_all(struct shadow_mmu *m);
/* Change the budget (reclaims at once when over it) and the root cache setting. */
void shadow_mmu_configure(struct shadow_mmu *m, u32 budget, bool cache);
void shadow_mmu_get_stats(struct shadow_mmu *m, struct shadow_stats *out);
bool shadow_mmu_cache_enabled(struct shadow_mmu *m);

/*
 * Guest memory at [gpa, gpa+len) was written by emulation (already stored):
 * update the shadow entries of the guest tables it holds. Takes the MMU lock.
 */
void shadow_guest_write(struct shadow_mmu *m, gpa_t gpa, u32 len);
/* Stop shadowing guest frame gfn (its pages are zapped); used when a write cannot be emulated. */
void shadow_unprotect(struct shadow_mmu *m, gfn_t gfn);
/* Is gfn shadowed as a guest page table (its writes are trapped)? */
bool shadow_gfn_protected(struct shadow_mmu *m, gfn_t gfn);

/*
 * Check every shadow entry against the guest tables, the reverse map and the
 * parent links; say() each problem (at most `max_reports` lines). Returns the
 * number of problems (0: consistent). Takes the MMU lock.
 */
u32 shadow_audit(struct shadow_mmu *m, void (*say)(void *ctx, const char *line), void *ctx,
		 u32 max_reports);

/* ---- per vCPU ---------------------------------------------------------------- */

/* Values the hardware must run with (the backend loads them into the VMCB/VMCS). */
struct shadow_hw {
	u64 cr0, cr3, cr4, efer;
};

/* Local TLB work a vCPU must do at its next entry (shadow_cpu_enter). */
#define SHADOW_FLUSH_ALL BIT(0)
#define SHADOW_FLUSH_ADDR BIT(1)

struct shadow_cpu *shadow_cpu_create(struct shadow_mmu *m);
void shadow_cpu_destroy(struct shadow_cpu *c);

/*
 * Set the guest-visible CR0/CR3/CR4/EFER without checks (reset, INIT/SIPI,
 * loader state, set_sregs): mode and roots follow. PAE PDPTEs that a real
 * CPU would refuse are treated as not present. May allocate; vCPU thread.
 */
void shadow_cpu_set_state(struct shadow_cpu *c, u64 cr0, u64 cr3, u64 cr4, u64 efer);
/*
 * A guest MOV to CR0/CR3/CR4 (or LMSW/CLTS as a CR0 write), or WRMSR EFER:
 * checks it as the CPU does. Returns 0 (done), or -EINVAL when the guest
 * must get #GP(0) (nothing changed). cs_long: CS.L (64-bit code).
 */
int shadow_cpu_write_cr(struct shadow_cpu *c, int cr, u64 value, bool cs_long);
int shadow_cpu_write_efer(struct shadow_cpu *c, u64 value);
/* Guest-visible control registers. */
u64 shadow_cpu_read_cr(const struct shadow_cpu *c, int cr);
u64 shadow_cpu_efer(const struct shadow_cpu *c);
enum shadow_mode shadow_cpu_mode(const struct shadow_cpu *c);
/* PAE paging: the PDPTE registers loaded at the last CR3 load (NULL in other modes). */
const u64 *shadow_cpu_pdptes(const struct shadow_cpu *c);
/* A walk environment for the guest's current paging state (A/D updates included). */
void shadow_cpu_walk_env(const struct shadow_cpu *c, u64 rflags, struct walk_env *env);

/*
 * Just before entering the guest (vCPU thread, interrupts may be off):
 * reload a root that was zapped, note that this vCPU now sees every remote
 * flush so far. Fills *hw and returns SHADOW_FLUSH_* work for this entry
 * (*flush_addr for SHADOW_FLUSH_ADDR). The MMU lock must not be held.
 */
u32 shadow_cpu_enter(struct shadow_cpu *c, struct shadow_hw *hw, gva_t *flush_addr);
/* The hardware values now (for a backend that loads them outside shadow_cpu_enter). */
void shadow_cpu_hw(const struct shadow_cpu *c, struct shadow_hw *hw);
/* How many entries this vCPU has made (read by remote flushes; atomic). */
u64 shadow_cpu_entries(const struct shadow_cpu *c);
/*
 * Is the vCPU inside shadow_cpu_enter waiting for the MMU lock? It reads the
 * flush generation again after it gets the lock, so a flush (which holds the
 * lock) must not wait for it to leave guest mode.
 */
bool shadow_cpu_locking(const struct shadow_cpu *c);

/*
 * A #PF the hardware raised at gva with its error code hw_pfec, while the
 * guest ran with rflags. Decides and fills; see enum shadow_fault_action.
 */
enum shadow_fault_action shadow_page_fault(struct shadow_cpu *c, gva_t gva, u32 hw_pfec,
					   u64 rflags, struct shadow_fault_info *info);
/* Guest INVLPG gva: resynchronize that entry and flush it from this vCPU's TLB. */
void shadow_invlpg(struct shadow_cpu *c, gva_t gva);

/* ---- the hypervisor's side (hv/mmu/shadow_vcpu.c, arch backends) ------------- */

struct vm;
struct vcpu;

/*
 * Decide the VM's MMU from vm->cfg.mmu and the backend (auto: nested when the
 * CPU has NPT/EPT) and create vm->shadow when it is shadow. Before virt->vm_init.
 * 0, or -ENODEV (shadow asked for, backend cannot), -ENOMEM; words in err.
 */
int shadow_vm_setup(struct vm *vm, char *err, size_t errlen);
void shadow_vm_teardown(struct vm *vm);
/* VM reset: guest RAM was cleared and reloaded, drop every shadow page. */
void shadow_vm_reset(struct vm *vm);

/* Backends: per-vCPU state for a shadow-paged VM (vcpu_init/vcpu_destroy). */
int shadow_vcpu_init(struct vcpu *v);
void shadow_vcpu_destroy(struct vcpu *v);

/*
 * Exits of a shadow-paged vCPU that belong to the shadow MMU: #PF (filled,
 * reflected, or the instruction emulated), CR0/CR3/CR4 accesses (decoded
 * here: MOV CR, CLTS, LMSW, SMSW), INVLPG. Returns true with *action when
 * it handled e; false for every other exit. vCPU thread; hv/exit.c calls it
 * first when v->shadow.
 */
bool shadow_handle_exit(struct vcpu *v, struct vm_exit *e, enum exit_action *action);

#endif
