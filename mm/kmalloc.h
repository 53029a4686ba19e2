/* Kernel heap: slab caches for small objects, whole frames for large ones. */
#ifndef HV_MM_KMALLOC_H
#define HV_MM_KMALLOC_H

#include "lib/types.h"

struct kmem_cache;

/* Set up the size-class caches; after frame_init(). */
void kmalloc_init(void);

/* All return NULL on exhaustion; callable from any CPU and from IRQ context. */
void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p); /* NULL is ignored */

struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align);
void *kmem_cache_alloc(struct kmem_cache *c);
void kmem_cache_free(struct kmem_cache *c, void *p);

struct heap_stats {
	u64 bytes_in_use;    /* requested bytes of live allocations */
	u64 bytes_reserved;  /* frames held by the heap (slabs + large allocations) */
	u64 allocs, frees;   /* counts since boot */
};
void heap_get_stats(struct heap_stats *st);

#endif
