/* Buddy allocator core for one zone of frames: metadata only, no locking (host-testable). */
#ifndef HV_MM_BUDDY_H
#define HV_MM_BUDDY_H

#include "lib/types.h"
#include "mm/frame.h"

#define BUDDY_NIL 0xffffffffU /* end of a free list */

enum buddy_state {
	BUDDY_NONE = 0,  /* not the first frame of a block: interior, or not managed */
	BUDDY_FREE = 1,  /* first frame of a free block of `order`, on a free list */
	BUDDY_ALLOC = 2, /* first frame of an allocated block of `order` */
};

/*
 * One descriptor per frame of a zone (16 bytes). `state`, `order` and `link`
 * belong to the zone's owner (under its lock); `tag` and `priv` of an
 * allocated block belong to whoever allocated it (frame_set_owner()).
 */
struct buddy_frame {
	union {
		struct {
			u32 next, prev; /* free-list neighbours (zone frame indices) */
		} link;
		u64 priv; /* owner's word while allocated */
	};
	u8 order;
	u8 state;
	u16 tag; /* owner's tag while allocated, 0 otherwise */
	u32 unused;
};
_Static_assert(sizeof(struct buddy_frame) == 16, "frame descriptor size");

/* A contiguous run of physical frames with its own metadata and free lists. */
struct buddy_zone {
	u64 base_pfn;  /* first frame number covered */
	u64 nr_frames; /* frames covered (managed or not) */
	struct buddy_frame *frames;
	u32 free_head[FRAME_MAX_ORDER + 1];
	u64 nr_free_blocks[FRAME_MAX_ORDER + 1];
	u64 nr_free; /* free frames */
};

/*
 * Set up a zone covering frames [base_pfn, base_pfn + nr_frames) with `meta`
 * (nr_frames descriptors) as its metadata; every frame starts unmanaged.
 * nr_frames must be below 2^32.
 */
void buddy_zone_init(struct buddy_zone *z, u64 base_pfn, u64 nr_frames, struct buddy_frame *meta);

/*
 * Hand frames [pfn, pfn + count) of the zone to the allocator as free. The
 * range must lie in the zone and must not have been added before. Returns the
 * number of frames added.
 */
u64 buddy_zone_add(struct buddy_zone *z, u64 pfn, u64 count);

/*
 * Allocate 2^order frames, naturally aligned, ending at or below frame
 * limit_pfn (pass ~0ULL for no limit). Returns 0 and the first frame in *pfn,
 * or -ENOMEM.
 */
int buddy_alloc(struct buddy_zone *z, unsigned order, u64 limit_pfn, u64 *pfn);

/*
 * Free a block allocated with buddy_alloc() and the same order. Returns 0, or
 * -EINVAL without changing anything when the block is not allocated with
 * that order (double free, a frame inside a block, an unmanaged frame); *why
 * then says which.
 */
int buddy_free(struct buddy_zone *z, u64 pfn, unsigned order, const char **why);

static inline bool buddy_zone_contains(const struct buddy_zone *z, u64 pfn)
{
	return pfn >= z->base_pfn && pfn - z->base_pfn < z->nr_frames;
}

/* Descriptor of a frame the zone contains. */
static inline struct buddy_frame *buddy_frame_of(struct buddy_zone *z, u64 pfn)
{
	return &z->frames[pfn - z->base_pfn];
}

/*
 * Check the zone's invariants: free lists well linked, every free block
 * aligned, inside the zone, not overlapping another, counters right. Returns
 * 0 or -EINVAL with a reason in *why. Walks all metadata: tests and debug only.
 */
int buddy_zone_verify(const struct buddy_zone *z, const char **why);

#endif
