/* Slab caches and kmalloc over a simulated frame allocator (host memory). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include "mm/kmalloc.h"
#include "mm/frame.h"
#include "asm/page.h"
#include "kernel/log.h"

/* ---- stand-ins for log and panic ---- */
static int nr_errors;

void printk(int level, const char *fmt, ...)
{
	(void)fmt;
	if (level <= LOG_ERR)
		__atomic_fetch_add(&nr_errors, 1, __ATOMIC_RELAXED);
}

void panic(const char *fmt, ...)
{
	(void)fmt;
	fail_msg("panic called");
	abort();
}

/*
 * ---- simulated frames ----
 * A "physical address" is the host address minus DIRECT_MAP_BASE, so the real
 * phys_to_virt()/virt_to_phys() of asm/page.h turn it back into the pointer.
 */
#define FAKE_SLOTS (1 << 16)
struct fake_frame {
	u64 pfn; /* 0: empty slot */
	u16 owner;
	u64 priv;
	u8 head_order; /* 0xff: not the first frame of a block */
};
static struct fake_frame fake[FAKE_SLOTS];
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static long fake_budget = 1 << 20; /* frames that may still be allocated */
static long fake_live;

static struct fake_frame *fake_find(u64 pfn, bool create)
{
	u64 h = (pfn * 0x9E3779B97F4A7C15ULL) >> 48;

	for (unsigned i = 0; i < FAKE_SLOTS; i++) {
		struct fake_frame *f = &fake[(h + i) % FAKE_SLOTS];

		if (f->pfn == pfn)
			return f;
		if (f->pfn == 0)
			return create ? f : NULL;
	}
	return NULL;
}

paddr_t frame_alloc(unsigned order)
{
	size_t bytes = PAGE_SIZE << order;
	void *mem;
	paddr_t pa;

	pthread_mutex_lock(&fake_lock);
	if (fake_budget < (1L << order)) {
		pthread_mutex_unlock(&fake_lock);
		return 0;
	}
	fake_budget -= 1L << order;
	fake_live += 1L << order;
	mem = aligned_alloc(bytes, bytes);
	assert_non_null(mem);
	memset(mem, 0xa5, bytes);
	pa = (paddr_t)(uintptr_t)mem - DIRECT_MAP_BASE;
	for (unsigned i = 0; i < (1U << order); i++) {
		struct fake_frame *f = fake_find(pa / PAGE_SIZE + i, true);

		assert_non_null(f);
		f->pfn = pa / PAGE_SIZE + i;
		f->owner = FRAME_OWNER_NONE;
		f->head_order = i == 0 ? (u8)order : 0xff;
	}
	pthread_mutex_unlock(&fake_lock);
	return pa;
}

/* Frees are never recycled into the hash (slots stay "tombstoned" with owner 0). */
void frame_free(paddr_t pa, unsigned order)
{
	struct fake_frame *f;

	pthread_mutex_lock(&fake_lock);
	f = fake_find(pa / PAGE_SIZE, false);
	assert_non_null(f);
	assert_int_equal(f->head_order, order);
	assert_int_equal(f->owner, FRAME_OWNER_NONE);
	for (unsigned i = 0; i < (1U << order); i++) {
		struct fake_frame *g = fake_find(pa / PAGE_SIZE + i, false);

		assert_int_equal(g->owner, FRAME_OWNER_NONE);
		g->head_order = 0xfe; /* freed */
	}
	fake_budget += 1L << order;
	fake_live -= 1L << order;
	free(phys_to_virt(pa));
	pthread_mutex_unlock(&fake_lock);
}

void frame_set_owner(paddr_t pa, u16 owner, u64 priv)
{
	struct fake_frame *f;

	pthread_mutex_lock(&fake_lock);
	f = fake_find(pa / PAGE_SIZE, false);
	assert_non_null(f);
	assert_true(f->head_order != 0xfe);
	f->owner = owner;
	f->priv = priv;
	pthread_mutex_unlock(&fake_lock);
}

u16 frame_get_owner(paddr_t pa, u64 *priv)
{
	struct fake_frame *f;
	u16 owner = FRAME_OWNER_NONE;

	pthread_mutex_lock(&fake_lock);
	f = fake_find(pa / PAGE_SIZE, false);
	if (f && f->head_order != 0xfe && f->owner) {
		owner = f->owner;
		*priv = f->priv;
	}
	pthread_mutex_unlock(&fake_lock);
	return owner;
}

/* ---- helpers ---- */
struct block {
	u8 *p;
	size_t size;
	u8 fill;
};

static int block_cmp(const void *a, const void *b)
{
	const struct block *x = a, *y = b;

	return x->p < y->p ? -1 : x->p > y->p;
}

/* No two live blocks overlap, and each still holds its own fill pattern. */
static void check_blocks(struct block *b, size_t n)
{
	qsort(b, n, sizeof(*b), block_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && b[i].p + b[i].size > b[i + 1].p)
			fail_msg("blocks %p+%zu and %p overlap", (void *)b[i].p, b[i].size,
				 (void *)b[i + 1].p);
		for (size_t j = 0; j < b[i].size; j++)
			if (b[i].p[j] != b[i].fill)
				fail_msg("block %p byte %zu changed", (void *)b[i].p, j);
	}
}

static size_t class_of(size_t size)
{
	size_t c = 16;

	while (c < size)
		c <<= 1;
	return c;
}

static int setup_heap(void **state)
{
	(void)state;
	kmalloc_init();
	return 0;
}

/* ---- tests ---- */
static void test_kmalloc_many_sizes(void **state)
{
	enum { N = 3000 };
	struct block *b = calloc(N, sizeof(*b));
	struct heap_stats before, mid, after;

	(void)state;
	heap_get_stats(&before);
	srand(7);
	for (size_t i = 0; i < N; i++) {
		size_t size = i % 10 == 9 ? 2049 + rand() % 20000 : 1 + rand() % 2048;

		b[i].size = size;
		b[i].p = kmalloc(size);
		assert_non_null(b[i].p);
		b[i].fill = (u8)i;
		memset(b[i].p, b[i].fill, size);
		if (size <= 2048) {
			assert_true(((uintptr_t)b[i].p & (class_of(size) - 1)) == 0);
			assert_int_equal(kmalloc_size(b[i].p), class_of(size));
		} else {
			assert_true(((uintptr_t)b[i].p & (PAGE_SIZE - 1)) == 0);
			assert_true(kmalloc_size(b[i].p) >= size);
		}
	}
	check_blocks(b, N);
	heap_get_stats(&mid);
	assert_int_equal(mid.allocs - before.allocs, N);
	assert_true(mid.bytes_reserved >= mid.bytes_in_use);
	for (size_t i = 0; i < N; i++)
		kfree(b[i].p);
	heap_get_stats(&after);
	assert_int_equal(after.frees - before.frees, N);
	assert_int_equal(after.bytes_in_use, before.bytes_in_use);
	/* At most one empty slab per size class stays behind. */
	assert_true(after.bytes_reserved <= before.bytes_reserved + 8 * 4 * PAGE_SIZE);
	assert_int_equal(nr_errors, 0);
	free(b);
}

static void test_bytes_in_use_exact(void **state)
{
	struct heap_stats a, b;
	void *p, *q;

	(void)state;
	heap_get_stats(&a);
	p = kmalloc(100);     /* class 128 */
	q = kmalloc(10000);   /* large: counted as requested */
	heap_get_stats(&b);
	assert_int_equal(b.bytes_in_use - a.bytes_in_use, 128 + 10000);
	assert_int_equal(b.allocs - a.allocs, 2);
	kfree(p);
	kfree(q);
	heap_get_stats(&b);
	assert_int_equal(b.bytes_in_use, a.bytes_in_use);
	assert_null(kmalloc(0));
	kfree(NULL);
}

static void test_reuse_after_free(void **state)
{
	void *p, *q;

	(void)state;
	p = kmalloc(40);
	kfree(p);
	q = kmalloc(33);
	assert_ptr_equal(p, q); /* same class, most recently freed object first */
	kfree(q);
	p = kzalloc(1000);
	assert_non_null(p);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(((u8 *)p)[i], 0);
	kfree(p);
}

static void test_custom_caches(void **state)
{
	static const struct { size_t size, align; } shapes[] = {
		{ 100, 64 }, { 24, 8 }, { 3000, 8 }, { 4096, 4096 }, { 600, 512 }, { 9000, 16 },
	};

	(void)state;
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		struct kmem_cache *c = kmem_cache_create("test", shapes[s].size, shapes[s].align);
		struct block b[70];

		assert_non_null(c);
		for (int i = 0; i < 70; i++) {
			b[i].p = kmem_cache_alloc(c);
			assert_non_null(b[i].p);
			assert_true(((uintptr_t)b[i].p & (shapes[s].align - 1)) == 0);
			b[i].size = shapes[s].size;
			b[i].fill = (u8)(i + 1);
			memset(b[i].p, b[i].fill, b[i].size);
		}
		check_blocks(b, 70);
		for (int i = 0; i < 70; i++)
			kmem_cache_free(c, b[i].p);
		/* The freed objects come back. */
		b[0].p = kmem_cache_alloc(c);
		assert_non_null(b[0].p);
		kfree(b[0].p); /* kfree finds the cache too */
	}
	assert_null(kmem_cache_create("bad", 64, 48));
	assert_null(kmem_cache_create("bad", 0, 8));
	assert_int_equal(nr_errors, 2);
	nr_errors = 0;
}

static void test_bad_frees(void **state)
{
	struct kmem_cache *c = kmem_cache_create("victim", 48, 16);
	struct heap_stats a, b;
	int on_stack;
	u8 *p, *q, *big;

	(void)state;
	p = kmalloc(64);
	q = kmem_cache_alloc(c);
	big = kmalloc(3 * PAGE_SIZE);
	heap_get_stats(&a);
	nr_errors = 0;
	kfree(&on_stack);                 /* not heap memory */
	kfree(p + 8);                     /* inside an object */
	kfree(big + PAGE_SIZE);           /* inside a large block */
	kmem_cache_free(c, p);            /* wrong cache */
	kfree(p);
	kfree(p);                         /* double free (slab) */
	kfree(big);
	kfree(big);                       /* double free (large) */
	kmem_cache_free(c, q);
	kmem_cache_free(c, q);            /* double free (cache) */
	assert_int_equal(nr_errors, 7);
	heap_get_stats(&b);
	assert_int_equal(b.frees - a.frees, 3);
	/* The cache still works and never hands out an object twice. */
	p = kmem_cache_alloc(c);
	q = kmem_cache_alloc(c);
	assert_true(p && q && p != q);
	kmem_cache_free(c, p);
	kmem_cache_free(c, q);
	nr_errors = 0;
}

static void test_exhaustion(void **state)
{
	void *held[200];
	int n = 0;
	long saved;

	(void)state;
	pthread_mutex_lock(&fake_lock);
	saved = fake_budget;
	fake_budget = 20;
	pthread_mutex_unlock(&fake_lock);
	assert_null(kmalloc(64 * PAGE_SIZE));
	while (n < 200 && (held[n] = kmalloc(2048)) != NULL)
		n++;
	assert_true(n > 0 && n < 200);
	while (n)
		kfree(held[--n]);
	pthread_mutex_lock(&fake_lock);
	fake_budget = saved - (20 - fake_budget);
	pthread_mutex_unlock(&fake_lock);
	assert_non_null(held[0] = kmalloc(2048));
	kfree(held[0]);
	assert_int_equal(nr_errors, 0);
}

static void *stress_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	u8 *live[64] = { 0 };
	size_t sizes[64] = { 0 };

	for (int step = 0; step < 20000; step++) {
		unsigned k = rand_r(&seed) % 64;

		if (live[k]) {
			for (size_t j = 0; j < sizes[k]; j++)
				if (live[k][j] != (u8)k)
					return (void *)1;
			kfree(live[k]);
			live[k] = NULL;
		} else {
			sizes[k] = 1 + rand_r(&seed) % 3000;
			live[k] = kmalloc(sizes[k]);
			if (!live[k])
				return (void *)2;
			memset(live[k], (u8)k, sizes[k]);
		}
	}
	for (int k = 0; k < 64; k++)
		kfree(live[k]);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	struct heap_stats a, b;

	(void)state;
	heap_get_stats(&a);
	for (uintptr_t i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, stress_thread, (void *)(i + 1)), 0);
	for (int i = 0; i < 4; i++) {
		void *ret;

		pthread_join(t[i], &ret);
		assert_null(ret);
	}
	heap_get_stats(&b);
	assert_int_equal(b.bytes_in_use, a.bytes_in_use);
	assert_int_equal(b.allocs - a.allocs, b.frees - a.frees);
	assert_int_equal(nr_errors, 0);
}

static void count_cache(const struct kmem_cache_info *info, void *ctx)
{
	if (strcmp(info->name, "kmalloc-64") == 0)
		*(u64 *)ctx = info->nr_inuse;
}

static void test_cache_info(void **state)
{
	u64 before = 0, after = 0;
	void *p[5];

	(void)state;
	heap_for_each_cache(count_cache, &before);
	for (int i = 0; i < 5; i++)
		p[i] = kmalloc(64);
	heap_for_each_cache(count_cache, &after);
	assert_int_equal(after - before, 5);
	for (int i = 0; i < 5; i++)
		kfree(p[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kmalloc_many_sizes),
		cmocka_unit_test(test_bytes_in_use_exact),
		cmocka_unit_test(test_reuse_after_free),
		cmocka_unit_test(test_custom_caches),
		cmocka_unit_test(test_bad_frees),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_cache_info),
	};

	return cmocka_run_group_tests(tests, setup_heap, NULL);
}
