/* Kernel heap: slab caches for small objects, whole frames for large ones. */
#ifndef HV_MM_KMALLOC_H
#define HV_MM_KMALLOC_H

#include "lib/types.h"

struct kmem_cache;

/* Set up the size-class caches; once, on the boot CPU, after frame_init(). */
void kmalloc_init(void);

/*
 * All return NULL on exhaustion (and for size 0); callable from any CPU and
 * from IRQ context (cache locks are taken with interrupts off).
 * kmalloc memory is aligned to its size class: a power of two from 16 to
 * 2048 bytes; requests above 2048 bytes get whole frames (page aligned).
 * The memory lies in the direct map (virt_to_phys works on it).
 */
void *kmalloc(size_t size);
void *kzalloc(size_t size);
/* NULL is ignored; a pointer kmalloc did not return (or a double free) is reported and ignored. */
void kfree(void *p);
/* Usable size of a kmalloc block (its size class or frames), 0 for anything else. */
size_t kmalloc_size(const void *p);

/*
 * A cache of `size`-byte objects aligned to `align` (a power of two, at most
 * PAGE_SIZE; objects up to 64 KiB). Returns NULL on bad arguments or before
 * kmalloc_init. Caches are never destroyed.
 */
struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align);
void *kmem_cache_alloc(struct kmem_cache *c);
/* p must come from kmem_cache_alloc(c); anything else is reported and ignored. */
void kmem_cache_free(struct kmem_cache *c, void *p);

struct heap_stats {
	u64 bytes_in_use;    /* live allocations: slab objects at their object size, large ones as requested */
	u64 bytes_reserved;  /* frames held by the heap (slabs + large allocations) */
	u64 allocs, frees;   /* counts since boot */
};
void heap_get_stats(struct heap_stats *st);

struct kmem_cache_info {
	const char *name;
	u64 obj_size, objs_per_slab, slab_bytes;
	u64 nr_slabs, nr_inuse; /* slabs held, objects allocated */
};
/*
 * Call fn for every cache (for the shell). fn runs with the cache-list lock
 * held and interrupts off: it must not create caches.
 */
void heap_for_each_cache(void (*fn)(const struct kmem_cache_info *info, void *ctx), void *ctx);

#endif
