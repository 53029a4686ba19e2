/* Shadow MMU internals shared by hv/mmu/shadow_*.c (not an interface for other subsystems). */
#ifndef HV_HV_MMU_SHADOW_INTERNAL_H
#define HV_HV_MMU_SHADOW_INTERNAL_H

#include "hv/mmu/shadow.h"
#include "asm/spinlock.h"
#include "lib/list.h"

/*
 * Shadow entries use the PAE / 4-level hardware format (Intel SDM vol. 3A
 * 4.4-4.5, AMD APM vol. 2 5.3-5.4) with the same bit names as guest entries
 * (GPTE_*). PAT/PCD/PWT stay 0: guest RAM is always write-back (without
 * nested paging the guest PAT has no effect; MMIO is never mapped, it faults
 * and is emulated). Bits 11:9 are ignored by hardware and unused here.
 */
#define SPTES_PER_PAGE 512
#define SPTE_ADDR GENMASK(51, 12)
#define SPTE_PDPT_FLAGS GPTE_P   /* PAE PDPTEs take only P (W/U/XD are reserved there) */
#define SPTE_TABLE_MIRROR (GPTE_W | GPTE_U | GPTE_NX) /* copied from the guest's entry */
#define SPTE_DIRECT_TABLE (GPTE_P | GPTE_W | GPTE_U | GPTE_A)

/*
 * Role of a shadow page: what the guest table it shadows means. Two shadow
 * pages of one guest frame differ when any of these differs. Not in the role
 * (hardware applies them, on mirrored rights): CR0.WP, CR4.SMEP/SMAP, CPL.
 */
#define ROLE_LEVEL GENMASK(2, 0)          /* 1 = page table ... 4 = PML4 */
#define ROLE_MODE_SHIFT 3                 /* enum shadow_mode of the guest */
#define ROLE_MODE GENMASK(4, 3)
#define ROLE_QUADRANT_SHIFT 5             /* 32-bit guests: which part of the guest table */
#define ROLE_QUADRANT GENMASK(6, 5)
#define ROLE_DIRECT BIT(7)                /* maps guest-physical frames gfn.. directly */
#define ROLE_NXE BIT(8)                   /* EFER.NXE: XD bits are valid in the guest table */
#define ROLE_PSE BIT(9)                   /* 32-bit: CR4.PSE, PS in a PDE maps 4 MiB */
#define ROLE_WRITABLE BIT(10)             /* direct: the guest large page is dirty */

static inline u32 role_level(u32 role) { return role & ROLE_LEVEL; }
static inline enum shadow_mode role_mode(u32 role)
{
	return (enum shadow_mode)((role & ROLE_MODE) >> ROLE_MODE_SHIFT);
}
static inline u32 role_quadrant(u32 role) { return (role & ROLE_QUADRANT) >> ROLE_QUADRANT_SHIFT; }

/*
 * A list of pointers to shadow entries: the reverse map of a guest frame, or
 * the parents of a shadow page. 0 = empty; bit 0 clear: one entry pointer;
 * bit 0 set: a chain of descriptors holding PTE_DESC_N pointers each, so a
 * frame mapped at thousands of addresses costs ~9 bytes per mapping.
 */
#define PTE_DESC_N 14
struct pte_desc {
	u64 *sptes[PTE_DESC_N];
	struct pte_desc *next;
	u32 n;                   /* used slots; only the first descriptor is ever partly full */
};

struct pte_list {
	u64 head;
	u32 count;
};

/*
 * One page of shadow entries. Fields change under the MMU lock; hardware
 * reads spt[] concurrently (entries are written with single 64-bit stores).
 */
struct shadow_page {
	struct list_node hash_link; /* mmu->hash by gfn (unhashed once zapped) */
	struct list_node hpa_link;  /* mmu->by_hpa: from an entry's address back to the page */
	struct list_node lru_link;  /* mmu->lru while valid, then mmu->doomed or mmu->dead_roots */
	u64 *spt;
	hpa_t hpa;
	gfn_t gfn;                  /* the guest table's frame; direct: first frame mapped */
	u32 role;
	u32 root_count;             /* vCPUs using it as (part of) their root */
	u32 flood;                  /* emulated writes since hardware last walked through it */
	u64 pin;                    /* == mmu->op_seq: the running operation holds a pointer */
	bool invalid;               /* zapped; freed when the last root user lets go */
	u32 *gfns;                  /* leaf tables (not direct): the frame each entry maps */
	struct pte_list parents;    /* shadow entries pointing at this page */
};

/* Per guest frame of RAM. */
struct shadow_gfn {
	struct pte_list rmap;       /* leaf shadow entries mapping the frame */
	u32 protect;                /* shadow pages shadowing it as a table: writes are trapped */
};

#define SHADOW_HASH_BITS 11
#define SHADOW_HASH_SIZE (1u << SHADOW_HASH_BITS)
#define SHADOW_FLOOD_LIMIT 3        /* unused-table writes before the page is dropped */

/*
 * Locking: everything below changes under `lock` (a spinlock, taken with
 * interrupts off: vCPUs take it around VM entry). flush_gen is also read
 * without it (atomic). Statistics are read racily for display.
 */
struct shadow_mmu {
	struct spinlock lock;
	const struct shadow_ops *ops;
	void *ctx;
	const struct gmem *mem;
	struct shadow_config cfg;
	struct shadow_gfn *gfns[GMEM_MAX_SLOTS];
	struct list_node hash[SHADOW_HASH_SIZE];
	struct list_node by_hpa[SHADOW_HASH_SIZE];
	struct list_node lru;        /* valid pages, most recently used first */
	struct list_node doomed;     /* zapped, freed after the next remote flush */
	struct list_node dead_roots; /* zapped but still some vCPU's root */
	struct list_node cpus;       /* struct shadow_cpu of the VM */
	u32 nr_pages;                /* every page held (valid, doomed, dead roots) */
	u64 op_seq;                  /* one per locked operation (for pinning) */
	bool need_flush;             /* a remote flush is due before the lock is dropped */
	u64 flush_gen;               /* remote flushes so far (atomic) */
	struct shadow_stats stats;
};

/*
 * Per vCPU. The guest-visible state is written by the vCPU thread under the
 * MMU lock; `reload` is set by others (under the lock) when they zap a page of
 * this vCPU's root. `entries` and `locking` are atomic.
 */
struct shadow_cpu {
	struct shadow_mmu *mmu;
	struct list_node link;       /* mmu->cpus */
	u64 cr0, cr3, cr4, efer;     /* as the guest sees them */
	u64 pdptes[4];               /* PAE paging: the PDPTE registers */
	enum shadow_mode mode;
	u32 role_base;               /* role bits every page of this mode carries */
	struct shadow_page *root;    /* 4-level: the PML4 page */
	u64 *pdpt;                   /* PAE format: this vCPU's PDPT page (below 4 GiB) */
	hpa_t pdpt_hpa;
	struct shadow_page *pd[4];   /* PAE format: the page in each PDPT slot */
	bool reload;                 /* a root page was zapped: rebuild before running */
	u64 seen_flush_gen;
	u32 local_flush;             /* SHADOW_FLUSH_* for the next entry */
	gva_t flush_addr;
	u64 entries;
	bool locking;                /* in shadow_cpu_enter, taking the MMU lock (atomic) */
	gva_t nofix_gva;             /* the last fault that needed no fill */
	u32 nofix_pfec;
};

/* ---- shadow_page.c: pages, hash, reverse map, zapping, reclaim ---- */
int pte_list_add(struct shadow_mmu *m, struct pte_list *l, u64 *sptep);
void pte_list_remove(struct shadow_mmu *m, struct pte_list *l, u64 *sptep);
/* Visit every entry pointer; fn may change *sptep but not the list. */
void pte_list_each(const struct pte_list *l, void (*fn)(u64 *sptep, void *arg), void *arg);
bool pte_list_contains(const struct pte_list *l, const u64 *sptep);

struct shadow_gfn *shadow_gfn_meta(struct shadow_mmu *m, gfn_t gfn);
hpa_t shadow_gfn_hpa(struct shadow_mmu *m, gfn_t gfn); /* 0 when not RAM */
bool shadow_gfn_is_protected(struct shadow_mmu *m, gfn_t gfn);

/* The hash chain of gfn's pages (every role). */
struct list_node *sp_bucket(struct shadow_mmu *m, gfn_t gfn);
struct shadow_page *sp_lookup(struct shadow_mmu *m, gfn_t gfn, u32 role);
struct shadow_page *sp_from_hpa(struct shadow_mmu *m, hpa_t hpa);
/* The page for (gfn, role), made if needed (*created); NULL when out of memory. */
struct shadow_page *sp_get(struct shadow_mmu *m, gfn_t gfn, u32 role, bool *created);
void sp_touch(struct shadow_mmu *m, struct shadow_page *sp);
/* Has hardware walked through an entry pointing at sp since the last look? (clears the marks) */
bool sp_recently_used(struct shadow_page *sp);
void sp_zap(struct shadow_mmu *m, struct shadow_page *sp);
void sp_put_root(struct shadow_mmu *m, struct shadow_page *sp);
void shadow_zap_all_locked(struct shadow_mmu *m);
/* Reclaim until at least `want` pages are free under the budget; returns pages reclaimed. */
u32 shadow_reclaim(struct shadow_mmu *m, u32 want);
/* End of a locked operation: remote flush if due, then free zapped pages. */
void shadow_commit(struct shadow_mmu *m);

/* Point *sptep (in a table, or a PDPT slot) at child with flags; false when out of memory. */
bool spte_link(struct shadow_mmu *m, u64 *sptep, struct shadow_page *child, u64 flags,
	       bool *changed);
void spte_unlink(struct shadow_mmu *m, u64 *sptep);
/* Set leaf entry idx of sp (level 1) to new (0 or a frame of gfn with flags). */
bool spte_set_leaf(struct shadow_mmu *m, struct shadow_page *sp, u32 idx, u64 new, gfn_t gfn,
		   bool *changed);
/* The guest frame a present leaf entry of sp maps. */
gfn_t sp_leaf_gfn(const struct shadow_page *sp, u32 idx);
/* Frames one entry of a table at this level covers (1, 512, 512*512, ...). */
static inline u64 level_pages(u32 level) { return 1ULL << (9 * (level - 1)); }

/* ---- shadow_cpu.c: guest control state, roots ---- */
void shadow_cpu_reload_locked(struct shadow_cpu *c);

/* ---- shadow_fill.c: guest entries -> shadow entries ---- */
/* Read entry e of the guest table sp shadows; false when not in RAM. */
bool sp_read_guest(struct shadow_mmu *m, const struct shadow_page *sp, u32 e, u64 *g);
/* Make shadow entry idx of sp agree with the guest again (or clear it). */
void sp_resync_entry(struct shadow_mmu *m, struct shadow_page *sp, u32 idx);

#endif
