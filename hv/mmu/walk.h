/* Guest page-table walker: guest-virtual -> guest-physical in every paging mode. */
#ifndef HV_HV_MMU_WALK_H
#define HV_HV_MMU_WALK_H

#include "hv/types.h"

/* Access kinds (combine) */
#define WALK_WRITE BIT(0)
#define WALK_USER BIT(1)
#define WALK_FETCH BIT(2)

/* Page-fault error code bits (SDM vol. 3A 4.7) */
#define PFEC_P BIT(0)
#define PFEC_W BIT(1)
#define PFEC_U BIT(2)
#define PFEC_RSVD BIT(3)
#define PFEC_I BIT(4)

struct walk_env {
	u64 cr0, cr3, cr4, efer;
	/* Read a guest page-table entry (size 4 or 8) at a guest-physical address. */
	int (*read_gpa)(void *ctx, gpa_t gpa, void *buf, u32 size);
	void *ctx;
};

struct walk_result {
	gpa_t gpa;
	u64 page_size;  /* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
	u32 pfec;       /* the page-fault error code when the walk faults */
	int levels;     /* entries read */
};

/*
 * Translate gva for an access of the given kind with the guest's CR0/CR3/CR4/
 * EFER: paging off, 32-bit (with PSE and PSE-36), PAE, 4-level. Checks P, R/W
 * (with CR0.WP), U/S, NX (with EFER.NXE) and reserved bits of large pages.
 * Returns 0, -EFAULT when the guest must get #PF (res->pfec, CR2 = gva), or
 * -EIO when a table is not in guest RAM. Does not set Accessed/Dirty bits.
 * Host-testable.
 */
int guest_walk(const struct walk_env *env, gva_t gva, u32 access, struct walk_result *res);

#endif
