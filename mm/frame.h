/* Physical frame allocator: a buddy allocator of 4 KiB frames. */
#ifndef HV_MM_FRAME_H
#define HV_MM_FRAME_H

#include "lib/types.h"
#include "asm/bootinfo.h"

#define FRAME_MAX_ORDER 18 /* largest block: 2^18 frames = 1 GiB */

/*
 * Hand every RAM range of the boot memory map to the allocator, except the
 * first 1 MiB (BIOS data, AP trampoline), the kernel image, the loader's
 * information structure and the modules. Call once on the boot CPU, before
 * any other mm_ function.
 */
void frame_init(const struct boot_info *bi);

/* 2^order contiguous, naturally aligned frames, or 0 when none. Any CPU, any context. */
paddr_t frame_alloc(unsigned order);
/* Same, zero-filled. */
paddr_t frame_alloc_zeroed(unsigned order);
void frame_free(paddr_t pa, unsigned order);

struct frame_stats {
	u64 total;    /* frames handed to the allocator at boot */
	u64 free;     /* frames free now */
	u64 reserved; /* RAM frames kept out (image, modules, low memory) */
	u64 free_by_order[FRAME_MAX_ORDER + 1]; /* free blocks per order */
};
void frame_get_stats(struct frame_stats *st);

#endif
