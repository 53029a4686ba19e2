/* frame_init's work with its platform inputs passed in, so host tests can drive it. */
#ifndef HV_MM_FRAME_INTERNAL_H
#define HV_MM_FRAME_INTERNAL_H

#include "mm/frame.h"

/* Most zones (RAM extents); a memory map with more gets its closest extents joined. */
#define FRAME_MAX_ZONES 16

/*
 * Set up the allocator from the memory map `bi`, keeping [kstart, kend) (the
 * image) out. meta_ptr(pa, len) returns a writable pointer to physical memory
 * [pa, pa+len) or NULL when it cannot reach it; metadata is placed only where
 * it succeeds. Resets all previous allocator state. Returns 0 or -ENOMEM when
 * no RAM is usable.
 */
int frame_init_from(const struct boot_info *bi, paddr_t kstart, paddr_t kend,
		    void *(*meta_ptr)(paddr_t pa, u64 len));

#endif
