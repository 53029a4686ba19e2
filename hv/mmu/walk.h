/* Guest page-table walker: guest-virtual -> guest-physical in every paging mode. */
#ifndef HV_HV_MMU_WALK_H
#define HV_HV_MMU_WALK_H

#include "hv/types.h"

/* Access kinds (combine) */
#define WALK_WRITE BIT(0)
#define WALK_USER BIT(1)     /* user-mode access: CPL 3 and not an implicit supervisor access */
#define WALK_FETCH BIT(2)
#define WALK_IMPLICIT BIT(3) /* implicit supervisor access (GDT, IDT, TSS...): SMAP ignores AC */

/* Page-fault error code bits (Intel SDM vol. 3A 4.7, AMD APM vol. 2 8.4.2) */
#define PFEC_P BIT(0)
#define PFEC_W BIT(1)
#define PFEC_U BIT(2)
#define PFEC_RSVD BIT(3)
#define PFEC_I BIT(4)
#define PFEC_PK BIT(5)

/* Guest CPU features a walk depends on (walk_env.features) */
#define WALK_F_1G_PAGES BIT(0) /* CPUID 0x80000001 EDX.Page1GB: PS in a 4-level PDPTE */

/* Effective rights of a translation (walk_result.perm): ANDed over every level. */
#define WALK_PERM_W BIT(0) /* R/W set at every level */
#define WALK_PERM_U BIT(1) /* U/S set at every level: a user-mode address */
#define WALK_PERM_X BIT(2) /* no level has XD (with EFER.NXE) */

/* Paging-structure entry bits shared by all modes (SDM vol. 3A 4.3-4.5) */
#define GPTE_P BIT(0)
#define GPTE_W BIT(1)
#define GPTE_U BIT(2)
#define GPTE_PWT BIT(3)
#define GPTE_PCD BIT(4)
#define GPTE_A BIT(5)
#define GPTE_D BIT(6)
#define GPTE_PS BIT(7)
#define GPTE_G BIT(8)
#define GPTE_NX BIT(63)
#define GPTE_ADDR_MASK GENMASK(51, 12)

#define WALK_MAX_LEVELS 4

/*
 * What a walk needs to know about the guest. The first six fields keep their
 * order (callers initialize them positionally); every later field may be left
 * zero: rflags 0 (AC clear), maxphyaddr 0 means 52, no features, PDPTEs read
 * from memory, and no Accessed/Dirty updates without cmpxchg_gpa.
 */
struct walk_env {
	u64 cr0, cr3, cr4, efer;
	/* Read a guest page-table entry (size 4 or 8) at a guest-physical address: 0 or -errno. */
	int (*read_gpa)(void *ctx, gpa_t gpa, void *buf, u32 size);
	void *ctx;
	u64 rflags;            /* RFLAGS.AC decides SMAP for explicit supervisor accesses */
	u8 maxphyaddr;         /* the guest's MAXPHYADDR (CPUID 0x80000008 EAX[7:0]) */
	u32 features;          /* WALK_F_* */
	/*
	 * PAE paging: the four PDPTE registers as loaded by the last CR3 load
	 * (SDM 4.4.1); NULL reads them from memory at every walk.
	 */
	const u64 *pdptes;
	/*
	 * Atomically replace the entry (size 4 or 8) at gpa by new if it still
	 * holds old: 0, -EAGAIN when it changed meanwhile (the walk starts over),
	 * other -errno on failure. NULL: Accessed and Dirty flags are left alone.
	 */
	int (*cmpxchg_gpa)(void *ctx, gpa_t gpa, u64 old, u64 new, u32 size);
};

struct walk_result {
	gpa_t gpa;
	u64 page_size;   /* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
	u32 pfec;        /* the page-fault error code when the walk faults */
	int levels;      /* entries read */
	int top_level;   /* 4 (4-level), 3 (PAE), 2 (32-bit), 0 (paging off) */
	int leaf_level;  /* level of the entry that maps the page (1 = 4 KiB); 0 if none */
	u32 perm;        /* WALK_PERM_* of the translation (valid when it reached a leaf) */
	/* The entries used, by level (1..top_level), as left in memory, and their addresses. */
	u64 pte[WALK_MAX_LEVELS + 1];
	gpa_t pte_gpa[WALK_MAX_LEVELS + 1];
};

/*
 * Translate gva for an access of the given kind (WALK_*) with the guest's
 * CR0/CR3/CR4/EFER/RFLAGS: paging off, 32-bit (PSE, PSE-36), PAE, 4-level
 * (2 MiB and, with WALK_F_1G_PAGES, 1 GiB pages). Checks P, R/W with CR0.WP,
 * U/S, XD with EFER.NXE, SMEP, SMAP with RFLAGS.AC (SDM 4.6), and reserved
 * bits against MAXPHYADDR (SDM 4.3-4.5). With cmpxchg_gpa it sets Accessed
 * flags as the CPU does: in each non-leaf entry used on the way down, and in
 * the leaf (with Dirty for a write) only when the access is allowed.
 * Returns 0; -EFAULT when the guest must get #PF (res->pfec holds the exact
 * error code: P, W, U, RSVD, I; PK is 0; CR2 = gva); -EIO when a table or an
 * entry update is not in guest RAM. The caller checks canonical addresses and
 * segmentation first. Host-testable; no locks.
 */
int guest_walk(const struct walk_env *env, gva_t gva, u32 access, struct walk_result *res);

/* The error-code bits an access of this kind always carries (W, U, I) in this paging state. */
u32 walk_access_pfec(const struct walk_env *env, u32 access);

#endif
