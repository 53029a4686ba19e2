/* Physical frame allocator: a buddy allocator of 4 KiB frames. */
#ifndef HV_MM_FRAME_H
#define HV_MM_FRAME_H

#include "lib/types.h"
#include "asm/bootinfo.h"

#define FRAME_MAX_ORDER 18 /* largest block: 2^18 frames = 1 GiB */

/*
 * Hand every RAM range of the boot memory map to the allocator, except the
 * first 1 MiB (BIOS data, AP trampoline), the kernel image, the loader's
 * information structure, the modules and anything a non-RAM entry overlaps.
 * The metadata (16 bytes per frame) is carved from that RAM below 4 GiB and
 * reached through the early direct map. Call once on the boot CPU, before
 * any other mm_ function. Panics if no usable RAM is found.
 */
void frame_init(const struct boot_info *bi);

/*
 * 2^order contiguous, naturally aligned frames, or 0 when none. Lowest
 * addresses first. Any CPU, any context (takes the allocator's spinlock with
 * interrupts off, for a bounded time).
 */
paddr_t frame_alloc(unsigned order);
/* Same, zero-filled (through the direct map). */
paddr_t frame_alloc_zeroed(unsigned order);
/* Same as frame_alloc, but the block ends at or below `limit` (e.g. 4 GiB for 32-bit users). */
paddr_t frame_alloc_below(unsigned order, paddr_t limit);
/*
 * Give back a block from frame_alloc*() with the same order. A double free, a
 * wrong order or an address the allocator never handed out is reported with
 * pr_err and ignored (nothing is changed).
 */
void frame_free(paddr_t pa, unsigned order);

/*
 * Owner bookkeeping kept with an allocated frame (one per frame, so a
 * multi-frame owner sets each frame it wants to find again). Only the holder
 * of the block may set it, and must reset it to FRAME_OWNER_NONE before
 * freeing the block. frame_get_owner returns FRAME_OWNER_NONE for frames not
 * managed here, free, or never tagged.
 */
enum frame_owner {
	FRAME_OWNER_NONE = 0,
	FRAME_OWNER_SLAB = 1,       /* priv: the struct slab the frame belongs to */
	FRAME_OWNER_HEAP_LARGE = 2, /* first frame of a large kmalloc; priv: its size */
};
void frame_set_owner(paddr_t pa, u16 owner, u64 priv);
u16 frame_get_owner(paddr_t pa, u64 *priv);

struct frame_stats {
	u64 total;    /* frames handed to the allocator at boot */
	u64 free;     /* frames free now */
	u64 reserved; /* RAM frames kept out (low 1 MiB, image, modules, loader data, metadata) */
	u64 free_by_order[FRAME_MAX_ORDER + 1]; /* free blocks per order */
};
void frame_get_stats(struct frame_stats *st);

#endif
