/* Kernel heap: slab caches of fixed-size objects, kmalloc size classes, large blocks. */
#include "mm/kmalloc.h"
#include "mm/frame.h"
#include "lib/list.h"
#include "lib/string.h"
#include "asm/page.h"
#include "asm/spinlock.h"
#include "kernel/log.h"
#include "kernel/panic.h"

#define KMALLOC_MIN_SHIFT 4  /* 16 bytes */
#define KMALLOC_MAX_SHIFT 11 /* 2048 bytes; larger requests take whole frames */
#define KMALLOC_CLASSES (KMALLOC_MAX_SHIFT - KMALLOC_MIN_SHIFT + 1)
#define SLAB_MAX_OBJS 256
#define SLAB_OFF_SLAB_MIN 512 /* objects this large keep their slab header elsewhere */
#define SLAB_KEEP_EMPTY 1     /* empty slabs a cache keeps instead of freeing */
#define SLAB_MAX_OBJ_SIZE (PAGE_SIZE << 4)

/*
 * One slab: 2^order frames cut into objects. Lives at the start of its memory
 * (small objects) or in slab_hdr_cache (large ones). Every frame of the slab
 * is tagged FRAME_OWNER_SLAB with a pointer to it. Protected by cache->lock.
 */
struct slab {
	struct list_node link; /* on cache->partial, ->full or ->empty */
	struct kmem_cache *cache;
	u8 *mem;    /* first object */
	void *free; /* free objects, linked through their first word */
	u32 inuse, total;
	u64 used[SLAB_MAX_OBJS / 64]; /* bit set: object allocated */
};

/* A cache of equal objects; `lock` protects the lists and counters. */
struct kmem_cache {
	char name[24];
	u32 size;     /* object stride: requested size rounded to the alignment */
	u32 align;
	u32 order;    /* frames per slab: 2^order */
	u32 objs;     /* objects per slab */
	u32 offset;   /* first object's offset in the slab memory */
	bool off_slab;
	struct spinlock lock;
	struct list_node partial, full, empty;
	u32 nr_empty;
	u64 nr_slabs, nr_inuse;
	struct list_node link; /* on all_caches */
};

static struct kmem_cache kmalloc_caches[KMALLOC_CLASSES];
static struct kmem_cache slab_hdr_cache;
static struct kmem_cache cache_cache; /* struct kmem_cache objects */
static struct list_node all_caches = LIST_INIT(all_caches);
static struct spinlock all_caches_lock = SPINLOCK_INIT;
static bool heap_ready;

static u64 st_bytes_in_use, st_bytes_reserved, st_allocs, st_frees;

static void *cache_alloc(struct kmem_cache *c);
static bool cache_free(struct kmem_cache *c, void *p, void *caller);

static void stat_add(u64 *v, u64 d) { __atomic_fetch_add(v, d, __ATOMIC_RELAXED); }
static void stat_sub(u64 *v, u64 d) { __atomic_fetch_sub(v, d, __ATOMIC_RELAXED); }

static u32 next_pow2(u64 v)
{
	u32 p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/* Smallest slab order (up to 3 above the minimum) wasting at most 1/8 of the slab. */
static void cache_pick_layout(struct kmem_cache *c)
{
	u32 hdr = c->off_slab ? 0 : (u32)ALIGN_UP(sizeof(struct slab), (u64)c->align);
	u32 order = 0;

	while ((PAGE_SIZE << order) < hdr + c->size)
		order++;
	for (u32 o = order; o <= order + 3; o++) {
		u64 bytes = PAGE_SIZE << o;
		u64 objs = MIN((bytes - hdr) / c->size, (u64)SLAB_MAX_OBJS);

		c->order = o;
		c->objs = (u32)objs;
		if ((bytes - hdr - objs * c->size) * 8 <= bytes || objs == SLAB_MAX_OBJS)
			break;
	}
	c->offset = hdr;
}

static void cache_setup(struct kmem_cache *c, const char *name, size_t size, size_t align)
{
	u64 flags;

	memset(c, 0, sizeof(*c));
	memcpy(c->name, name, strnlen(name, sizeof(c->name) - 1));
	c->align = next_pow2(MAX(align, (size_t)8));
	c->size = (u32)ALIGN_UP((u64)MAX(size, (size_t)8), (u64)c->align);
	c->off_slab = c->size >= SLAB_OFF_SLAB_MIN;
	spin_lock_init(&c->lock);
	list_init(&c->partial);
	list_init(&c->full);
	list_init(&c->empty);
	cache_pick_layout(c);
	flags = spin_lock_irqsave(&all_caches_lock);
	list_add_tail(&all_caches, &c->link);
	spin_unlock_irqrestore(&all_caches_lock, flags);
}

/* Allocate and format a new slab; called without the cache lock. */
static struct slab *slab_create(struct kmem_cache *c)
{
	paddr_t pa = frame_alloc(c->order);
	struct slab *s;
	u8 *base;

	if (!pa)
		return NULL;
	base = phys_to_virt(pa);
	s = c->off_slab ? cache_alloc(&slab_hdr_cache) : (struct slab *)base;
	if (!s) {
		frame_free(pa, c->order);
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	list_init(&s->link);
	s->cache = c;
	s->mem = base + c->offset;
	s->total = c->objs;
	for (u32 i = c->objs; i-- > 0;) {
		void **obj = (void **)(s->mem + (u64)i * c->size);

		*obj = s->free;
		s->free = obj;
	}
	for (u32 i = 0; i < (1U << c->order); i++)
		frame_set_owner(pa + i * PAGE_SIZE, FRAME_OWNER_SLAB, (u64)(uintptr_t)s);
	stat_add(&st_bytes_reserved, PAGE_SIZE << c->order);
	return s;
}

/* Give an empty slab's frames back; called without the cache lock. */
static void slab_destroy(struct kmem_cache *c, struct slab *s)
{
	paddr_t pa = virt_to_phys(s->mem - c->offset);

	for (u32 i = 0; i < (1U << c->order); i++)
		frame_set_owner(pa + i * PAGE_SIZE, FRAME_OWNER_NONE, 0);
	if (c->off_slab)
		cache_free(&slab_hdr_cache, s, __builtin_return_address(0));
	frame_free(pa, c->order);
	stat_sub(&st_bytes_reserved, PAGE_SIZE << c->order);
}

/* Take one object from a slab with room; cache lock held. */
static void *slab_take(struct kmem_cache *c, struct slab *s)
{
	void **obj = s->free;
	u32 idx = (u32)(((u8 *)obj - s->mem) / c->size);

	s->free = *obj;
	s->used[idx / 64] |= BIT(idx % 64);
	if (s->inuse++ == 0)
		c->nr_empty--;
	c->nr_inuse++;
	list_del(&s->link);
	list_add_head(s->inuse == s->total ? &c->full : &c->partial, &s->link);
	return obj;
}

/* Allocate an object without counting it in the heap statistics (internal users too). */
static void *cache_alloc(struct kmem_cache *c)
{
	struct slab *s, *fresh = NULL;
	void *obj;
	u64 flags;

	for (;;) {
		flags = spin_lock_irqsave(&c->lock);
		if (fresh) {
			list_add_head(&c->empty, &fresh->link);
			c->nr_empty++;
			c->nr_slabs++;
		}
		if (!list_empty(&c->partial))
			s = list_first_entry(&c->partial, struct slab, link);
		else if (!list_empty(&c->empty))
			s = list_first_entry(&c->empty, struct slab, link);
		else
			s = NULL;
		if (s)
			break;
		spin_unlock_irqrestore(&c->lock, flags);
		fresh = slab_create(c);
		if (!fresh)
			return NULL;
	}
	obj = slab_take(c, s);
	spin_unlock_irqrestore(&c->lock, flags);
	return obj;
}

void *kmem_cache_alloc(struct kmem_cache *c)
{
	void *obj = cache_alloc(c);

	if (obj) {
		stat_add(&st_bytes_in_use, c->size);
		stat_add(&st_allocs, 1);
	}
	return obj;
}

/* The slab holding p, checked to belong to c (or any cache when c is NULL). */
static struct slab *slab_of(struct kmem_cache *c, const void *p, u32 *idx)
{
	u64 priv = 0;
	struct slab *s;
	u64 off;

	if (frame_get_owner(virt_to_phys(p), &priv) != FRAME_OWNER_SLAB)
		return NULL;
	s = (struct slab *)(uintptr_t)priv;
	if (c && s->cache != c)
		return NULL;
	if ((const u8 *)p < s->mem)
		return NULL;
	off = (u64)((const u8 *)p - s->mem);
	if (off % s->cache->size || off / s->cache->size >= s->total)
		return NULL;
	*idx = (u32)(off / s->cache->size);
	return s;
}

/* Return an object to its slab; cache lock held. Returns a slab to destroy, or NULL. */
static struct slab *slab_put(struct kmem_cache *c, struct slab *s, void *p, u32 idx)
{
	*(void **)p = s->free;
	s->free = p;
	s->used[idx / 64] &= ~BIT(idx % 64);
	s->inuse--;
	c->nr_inuse--;
	list_del(&s->link);
	if (s->inuse) {
		list_add_head(&c->partial, &s->link);
		return NULL;
	}
	if (c->nr_empty >= SLAB_KEEP_EMPTY) {
		c->nr_slabs--;
		return s;
	}
	list_add_head(&c->empty, &s->link);
	c->nr_empty++;
	return NULL;
}

/* Free an object; false (after reporting) when p is not a live object of c. */
static bool cache_free(struct kmem_cache *c, void *p, void *caller)
{
	struct slab *s, *dead = NULL;
	const char *why = NULL;
	u32 idx = 0;
	u64 flags;

	s = slab_of(c, p, &idx);
	if (!s) {
		pr_err("slab: free of %p from %p refused: not an object of cache '%s'\n", p,
		       caller, c->name);
		return false;
	}
	flags = spin_lock_irqsave(&c->lock);
	if (!(s->used[idx / 64] & BIT(idx % 64)))
		why = "double free";
	else
		dead = slab_put(c, s, p, idx);
	spin_unlock_irqrestore(&c->lock, flags);
	if (why) {
		pr_err("slab: free of %p from %p refused: %s in cache '%s'\n", p, caller, why,
		       c->name);
		return false;
	}
	if (dead)
		slab_destroy(c, dead);
	return true;
}

void kmem_cache_free(struct kmem_cache *c, void *p)
{
	if (cache_free(c, p, __builtin_return_address(0))) {
		stat_sub(&st_bytes_in_use, c->size);
		stat_add(&st_frees, 1);
	}
}

struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align)
{
	struct kmem_cache *c;

	if (!heap_ready || size == 0 || size > SLAB_MAX_OBJ_SIZE || align > PAGE_SIZE ||
	    (align & (align - 1))) {
		pr_err("slab: cannot create cache '%s' (size %zu, align %zu)\n", name, size, align);
		return NULL;
	}
	c = cache_alloc(&cache_cache);
	if (c)
		cache_setup(c, name, size, align);
	return c;
}

/* A few allocations of every kind; they must not overlap and must all go back. */
static void heap_self_test(void)
{
	static const size_t sizes[] = { 1, 16, 17, 200, 2048, 2049, 5 * PAGE_SIZE };
	void *p[ARRAY_SIZE(sizes)];
	struct heap_stats before, after;

	heap_get_stats(&before);
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		p[i] = kmalloc(sizes[i]);
		BUG_ON(!p[i] || kmalloc_size(p[i]) < sizes[i]);
		memset(p[i], (int)i, sizes[i]);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		BUG_ON(((u8 *)p[i])[0] != i || ((u8 *)p[i])[sizes[i] - 1] != i);
		kfree(p[i]);
	}
	heap_get_stats(&after);
	BUG_ON(after.bytes_in_use != before.bytes_in_use);
}

void kmalloc_init(void)
{
	static const char *const names[KMALLOC_CLASSES] = {
		"kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-128",
		"kmalloc-256", "kmalloc-512", "kmalloc-1024", "kmalloc-2048",
	};

	_Static_assert(KMALLOC_CLASSES == 8, "one name per class");
	cache_setup(&slab_hdr_cache, "slab-headers", sizeof(struct slab), 8);
	BUG_ON(slab_hdr_cache.off_slab);
	cache_setup(&cache_cache, "kmem-caches", sizeof(struct kmem_cache), 8);
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++) {
		u32 size = 1U << (KMALLOC_MIN_SHIFT + i);

		cache_setup(&kmalloc_caches[i], names[i], size, size);
	}
	heap_ready = true;
	heap_self_test();
}

static unsigned order_for(size_t size)
{
	unsigned order = 0;

	while ((PAGE_SIZE << order) < size)
		order++;
	return order;
}

static void *kmalloc_large(size_t size)
{
	unsigned order = order_for(size);
	paddr_t pa;

	if (order > FRAME_MAX_ORDER)
		return NULL;
	pa = frame_alloc(order);
	if (!pa)
		return NULL;
	frame_set_owner(pa, FRAME_OWNER_HEAP_LARGE, size);
	stat_add(&st_bytes_reserved, PAGE_SIZE << order);
	stat_add(&st_bytes_in_use, size);
	stat_add(&st_allocs, 1);
	return phys_to_virt(pa);
}

void *kmalloc(size_t size)
{
	unsigned cls = 0;

	if (size == 0 || !heap_ready)
		return NULL;
	if (size > (1U << KMALLOC_MAX_SHIFT))
		return kmalloc_large(size);
	while ((1U << (KMALLOC_MIN_SHIFT + cls)) < size)
		cls++;
	return kmem_cache_alloc(&kmalloc_caches[cls]);
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	paddr_t pa;
	u64 priv = 0;
	u16 owner;

	if (!p)
		return;
	pa = virt_to_phys(p);
	owner = frame_get_owner(pa, &priv);
	if (owner == FRAME_OWNER_SLAB) {
		struct kmem_cache *c = ((struct slab *)(uintptr_t)priv)->cache;

		if (cache_free(c, p, __builtin_return_address(0))) {
			stat_sub(&st_bytes_in_use, c->size);
			stat_add(&st_frees, 1);
		}
		return;
	}
	if (owner == FRAME_OWNER_HEAP_LARGE && IS_ALIGNED(pa, PAGE_SIZE)) {
		unsigned order = order_for(priv);

		frame_set_owner(pa, FRAME_OWNER_NONE, 0);
		frame_free(pa, order);
		stat_sub(&st_bytes_reserved, PAGE_SIZE << order);
		stat_sub(&st_bytes_in_use, priv);
		stat_add(&st_frees, 1);
		return;
	}
	pr_err("kfree(%p) from %p refused: not a live heap allocation\n", p,
	       __builtin_return_address(0));
}

size_t kmalloc_size(const void *p)
{
	u64 priv = 0;
	u16 owner;

	if (!p)
		return 0;
	owner = frame_get_owner(virt_to_phys(p), &priv);
	if (owner == FRAME_OWNER_SLAB)
		return ((struct slab *)(uintptr_t)priv)->cache->size;
	if (owner == FRAME_OWNER_HEAP_LARGE)
		return PAGE_SIZE << order_for(priv);
	return 0;
}

void heap_get_stats(struct heap_stats *st)
{
	st->bytes_in_use = __atomic_load_n(&st_bytes_in_use, __ATOMIC_RELAXED);
	st->bytes_reserved = __atomic_load_n(&st_bytes_reserved, __ATOMIC_RELAXED);
	st->allocs = __atomic_load_n(&st_allocs, __ATOMIC_RELAXED);
	st->frees = __atomic_load_n(&st_frees, __ATOMIC_RELAXED);
}

void heap_for_each_cache(void (*fn)(const struct kmem_cache_info *info, void *ctx), void *ctx)
{
	struct kmem_cache_info info;
	struct list_node *n;
	u64 flags = spin_lock_irqsave(&all_caches_lock);

	list_for_each(n, &all_caches) {
		struct kmem_cache *c = list_entry(n, struct kmem_cache, link);
		u64 cf = spin_lock_irqsave(&c->lock);

		info.name = c->name;
		info.obj_size = c->size;
		info.objs_per_slab = c->objs;
		info.slab_bytes = PAGE_SIZE << c->order;
		info.nr_slabs = c->nr_slabs;
		info.nr_inuse = c->nr_inuse;
		spin_unlock_irqrestore(&c->lock, cf);
		fn(&info, ctx);
	}
	spin_unlock_irqrestore(&all_caches_lock, flags);
}
