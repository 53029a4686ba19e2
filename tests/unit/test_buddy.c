/* Buddy allocator, range sets and frame_init planning, checked against simple models. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mm/buddy.h"
#include "mm/range.h"
#include "mm/frame.h"
#include "mm/frame_internal.h"
#include "asm/page.h"
#include "kernel/log.h"

/* ---- stand-ins for the kernel's log, panic and linker symbols ---- */
char _kernel_phys_start[1], _kernel_phys_end[1];
static int nr_errors;
static char last_msg[256];

void printk(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	if (level <= LOG_ERR)
		nr_errors++;
}

void panic(const char *fmt, ...)
{
	(void)fmt;
	fail_msg("panic called");
	abort();
}

/* ---- range sets ---- */
static void test_range_set(void **state)
{
	struct range buf[8];
	struct range_set s;

	(void)state;
	range_set_init(&s, buf, 8);
	assert_int_equal(range_set_add(&s, 100, 200), 0);
	assert_int_equal(range_set_add(&s, 300, 400), 0);
	assert_int_equal(range_set_add(&s, 0, 50), 0);
	assert_int_equal(s.nr, 3);
	assert_true(buf[0].start == 0 && buf[1].start == 100 && buf[2].start == 300);
	assert_int_equal(range_set_add(&s, 150, 300), 0); /* overlaps one, touches next */
	assert_int_equal(s.nr, 2);
	assert_true(buf[1].start == 100 && buf[1].end == 400);
	assert_int_equal(range_set_remove(&s, 200, 250), 0); /* split */
	assert_int_equal(s.nr, 3);
	assert_true(buf[1].end == 200 && buf[2].start == 250 && buf[2].end == 400);
	assert_int_equal(range_set_remove(&s, 10, 260), 0); /* spans several */
	assert_int_equal(s.nr, 2);
	assert_true(buf[0].start == 0 && buf[0].end == 10 && buf[1].start == 260);
	assert_int_equal(range_set_total(&s), 10 + 140);
	assert_int_equal(range_set_remove(&s, 0, 1000), 0);
	assert_int_equal(s.nr, 0);
	/* Capacity is reported, never overrun. */
	range_set_init(&s, buf, 2);
	assert_int_equal(range_set_add(&s, 0, 10), 0);
	assert_int_equal(range_set_add(&s, 20, 30), 0);
	assert_int_equal(range_set_add(&s, 40, 50), -ENOSPC);
	assert_int_equal(range_set_remove(&s, 2, 3), -ENOSPC);
}

/* ---- buddy core ---- */
#define ZONE_BASE 0x1f3 /* deliberately unaligned */
#define ZONE_FRAMES 6000

struct zone_fixture {
	struct buddy_zone z;
	struct buddy_frame *meta;
};

static struct zone_fixture *zone_new(void)
{
	struct zone_fixture *f = calloc(1, sizeof(*f));

	f->meta = calloc(ZONE_FRAMES, sizeof(*f->meta));
	buddy_zone_init(&f->z, ZONE_BASE, ZONE_FRAMES, f->meta);
	return f;
}

static void zone_free_fixture(struct zone_fixture *f)
{
	free(f->meta);
	free(f);
}

static void zone_verify(const struct buddy_zone *z)
{
	const char *why = NULL;

	if (buddy_zone_verify(z, &why))
		fail_msg("zone invalid: %s", why);
}

static void test_buddy_add_and_coalesce(void **state)
{
	struct zone_fixture *f = zone_new();
	struct buddy_zone *z = &f->z;
	u64 before[FRAME_MAX_ORDER + 1], pfns[64];
	const char *why;

	(void)state;
	/* Add in pieces, out of order: the pieces merge as if added at once. */
	assert_int_equal(buddy_zone_add(z, ZONE_BASE + 3000, ZONE_FRAMES - 3000), ZONE_FRAMES - 3000);
	assert_int_equal(buddy_zone_add(z, ZONE_BASE, 1000), 1000);
	assert_int_equal(buddy_zone_add(z, ZONE_BASE + 1000, 2000), 2000);
	assert_int_equal(z->nr_free, ZONE_FRAMES);
	zone_verify(z);
	/* A zone built from one add has the same block structure. */
	{
		struct zone_fixture *g = zone_new();

		buddy_zone_add(&g->z, ZONE_BASE, ZONE_FRAMES);
		assert_memory_equal(g->z.nr_free_blocks, z->nr_free_blocks, sizeof(z->nr_free_blocks));
		zone_free_fixture(g);
	}
	memcpy(before, z->nr_free_blocks, sizeof(before));
	for (unsigned i = 0; i < 64; i++) {
		unsigned order = i % 7;

		assert_int_equal(buddy_alloc(z, order, ~0ULL, &pfns[i]), 0);
		assert_true((pfns[i] & ((1ULL << order) - 1)) == 0);
		assert_true(pfns[i] >= ZONE_BASE && pfns[i] + (1ULL << order) <= ZONE_BASE + ZONE_FRAMES);
	}
	zone_verify(z);
	/* Free in a different order than allocated. */
	for (unsigned i = 0; i < 64; i++) {
		unsigned j = (i * 37) % 64;

		assert_int_equal(buddy_free(z, pfns[j], j % 7, &why), 0);
	}
	zone_verify(z);
	assert_int_equal(z->nr_free, ZONE_FRAMES);
	assert_memory_equal(before, z->nr_free_blocks, sizeof(before));
	zone_free_fixture(f);
}

static void test_buddy_exhaustion_and_limit(void **state)
{
	struct zone_fixture *f = zone_new();
	struct buddy_zone *z = &f->z;
	u64 pfn, n = 0;
	const char *why;

	(void)state;
	buddy_zone_add(z, ZONE_BASE + 100, 1024);
	/* Nothing larger than what exists. */
	assert_int_equal(buddy_alloc(z, 11, ~0ULL, &pfn), -ENOMEM);
	assert_int_equal(buddy_alloc(z, FRAME_MAX_ORDER + 1, ~0ULL, &pfn), -ENOMEM);
	/* Limit: a block must end at or below it. */
	assert_int_equal(buddy_alloc(z, 0, ZONE_BASE + 100, &pfn), -ENOMEM);
	assert_int_equal(buddy_alloc(z, 2, ZONE_BASE + 110, &pfn), 0);
	assert_true(pfn + 4 <= ZONE_BASE + 110);
	assert_int_equal(buddy_free(z, pfn, 2, &why), 0);
	while (buddy_alloc(z, 0, ~0ULL, &pfn) == 0)
		n++;
	assert_int_equal(n, 1024);
	assert_int_equal(z->nr_free, 0);
	zone_verify(z);
	zone_free_fixture(f);
}

static void test_buddy_bad_free(void **state)
{
	struct zone_fixture *f = zone_new();
	struct buddy_zone *z = &f->z;
	u64 a, b, snapshot_free;
	const char *why;

	(void)state;
	buddy_zone_add(z, ZONE_BASE + 13, 512);
	assert_int_equal(buddy_alloc(z, 3, ~0ULL, &a), 0);
	assert_int_equal(buddy_alloc(z, 0, ~0ULL, &b), 0);
	snapshot_free = z->nr_free;
	/* Wrong order, interior frame, misaligned, outside, never handed out. */
	assert_int_equal(buddy_free(z, a, 2, &why), -EINVAL);
	assert_int_equal(buddy_free(z, a + 1, 0, &why), -EINVAL);
	assert_int_equal(buddy_free(z, a + 4, 2, &why), -EINVAL);
	assert_int_equal(buddy_free(z, a + 1, 3, &why), -EINVAL);
	assert_int_equal(buddy_free(z, ZONE_BASE + ZONE_FRAMES + 8, 0, &why), -EINVAL);
	assert_int_equal(buddy_free(z, ZONE_BASE + 3, 0, &why), -EINVAL);
	assert_int_equal(z->nr_free, snapshot_free);
	zone_verify(z);
	/* Double free: the first succeeds, the second is refused without damage. */
	assert_int_equal(buddy_free(z, b, 0, &why), 0);
	assert_int_equal(buddy_free(z, b, 0, &why), -EINVAL);
	assert_non_null(strstr(why, "double free"));
	assert_int_equal(buddy_free(z, a, 3, &why), 0);
	assert_int_equal(buddy_free(z, a, 3, &why), -EINVAL);
	zone_verify(z);
	assert_int_equal(z->nr_free, 512);
	zone_free_fixture(f);
}

/* Random allocations and frees checked against a map of used frames. */
static void test_buddy_random_model(void **state)
{
	enum { LIVE_MAX = 400 };
	struct zone_fixture *f = zone_new();
	struct buddy_zone *z = &f->z;
	u8 *used = calloc(ZONE_FRAMES, 1), *managed = calloc(ZONE_FRAMES, 1);
	struct { u64 pfn; unsigned order; } live[LIVE_MAX];
	unsigned nlive = 0;
	u64 in_use = 0, added = 0;
	const char *why;

	(void)state;
	srand(12345);
	/* Managed pieces with holes between them. */
	for (u64 s = 5; s + 700 < ZONE_FRAMES; s += 900) {
		added += buddy_zone_add(z, ZONE_BASE + s, 700);
		memset(managed + s, 1, 700);
	}
	for (unsigned step = 0; step < 20000; step++) {
		if (nlive < LIVE_MAX && (rand() % 3 != 0 || nlive == 0)) {
			unsigned order = rand() % 7;
			u64 pfn;

			if (buddy_alloc(z, order, ~0ULL, &pfn) != 0)
				continue;
			assert_true((pfn & ((1ULL << order) - 1)) == 0);
			for (u64 i = 0; i < (1ULL << order); i++) {
				u64 idx = pfn - ZONE_BASE + i;

				assert_true(idx < ZONE_FRAMES);
				assert_true(managed[idx]);
				assert_false(used[idx]);
				used[idx] = 1;
			}
			live[nlive].pfn = pfn;
			live[nlive++].order = order;
			in_use += 1ULL << order;
		} else {
			unsigned k = rand() % nlive;

			assert_int_equal(buddy_free(z, live[k].pfn, live[k].order, &why), 0);
			memset(used + (live[k].pfn - ZONE_BASE), 0, 1ULL << live[k].order);
			in_use -= 1ULL << live[k].order;
			live[k] = live[--nlive];
		}
		assert_int_equal(z->nr_free + in_use, added);
		if (step % 1000 == 0)
			zone_verify(z);
	}
	while (nlive) {
		nlive--;
		assert_int_equal(buddy_free(z, live[nlive].pfn, live[nlive].order, &why), 0);
	}
	zone_verify(z);
	assert_int_equal(z->nr_free, added);
	free(used);
	free(managed);
	zone_free_fixture(f);
}

/* ---- frame_init planning over fake memory maps ---- */
#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

struct meta_block {
	paddr_t pa;
	u64 len;
	void *p;
};
static struct meta_block metas[FRAME_MAX_ZONES];
static unsigned nr_metas;

static void *fake_meta_ptr(paddr_t pa, u64 len)
{
	if (pa + len > 4 * GIB || nr_metas >= FRAME_MAX_ZONES)
		return NULL;
	metas[nr_metas].pa = pa;
	metas[nr_metas].len = len;
	metas[nr_metas].p = calloc(1, len);
	return metas[nr_metas++].p;
}

static void metas_release(void)
{
	for (unsigned i = 0; i < nr_metas; i++)
		free(metas[i].p);
	nr_metas = 0;
}

static void add_entry(struct boot_info *bi, u64 base, u64 len, u32 type)
{
	bi->mmap[bi->nr_mmap].base = base;
	bi->mmap[bi->nr_mmap].len = len;
	bi->mmap[bi->nr_mmap++].type = type;
}

static bool overlaps(paddr_t a, u64 alen, paddr_t b, u64 blen) { return a < b + blen && b < a + alen; }

/* A small messy map: unsorted, overlapping RAM, RAM overlapped by reserved, modules. */
static void messy_map(struct boot_info *bi)
{
	memset(bi, 0, sizeof(*bi));
	add_entry(bi, 40 * MIB, 24 * MIB, BOOT_MEM_RAM);       /* 40..64 */
	add_entry(bi, 0, 0x9fc00, BOOT_MEM_RAM);
	add_entry(bi, 1 * MIB, 30 * MIB, BOOT_MEM_RAM);        /* 1..31 */
	add_entry(bi, 20 * MIB, 16 * MIB + 0x800, BOOT_MEM_RAM); /* overlaps, unaligned end */
	add_entry(bi, 50 * MIB + 0x10, 0x2000, BOOT_MEM_RESERVED); /* inside RAM */
	add_entry(bi, 63 * MIB, 2 * MIB, BOOT_MEM_ACPI);       /* tail of 40..64 */
	add_entry(bi, 0xf0000, 0x10000, BOOT_MEM_RESERVED);
	bi->info_phys = 0x2345678;
	bi->info_len = 0x1200;
	bi->nr_modules = 2;
	bi->modules[0].start = 3 * MIB + 5;
	bi->modules[0].end = 5 * MIB + 7;
	bi->modules[1].start = 44 * MIB;
	bi->modules[1].end = 44 * MIB + 1;
}

static bool in_ram_of_messy_map(paddr_t pa)
{
	return (pa >= 1 * MIB && pa < 36 * MIB) || (pa >= 40 * MIB && pa < 63 * MIB);
}

static void test_frame_init_exclusions(void **state)
{
	struct boot_info *bi = calloc(1, sizeof(*bi));
	paddr_t kstart = 1 * MIB, kend = 2 * MIB + 0x123;
	u8 *seen = calloc(64 * MIB / PAGE_SIZE, 1);
	struct frame_stats st;
	u64 n = 0;
	paddr_t pa;

	(void)state;
	messy_map(bi);
	assert_int_equal(frame_init_from(bi, kstart, kend, fake_meta_ptr), 0);
	frame_get_stats(&st);
	assert_int_equal(st.free, st.total);
	assert_true(st.total > 0);
	while ((pa = frame_alloc(0)) != 0) {
		assert_true(IS_ALIGNED(pa, PAGE_SIZE));
		assert_true(in_ram_of_messy_map(pa));
		assert_false(overlaps(pa, PAGE_SIZE, 50 * MIB + 0x10, 0x2000));
		assert_false(overlaps(pa, PAGE_SIZE, kstart, kend - kstart));
		assert_false(overlaps(pa, PAGE_SIZE, bi->info_phys, bi->info_len));
		for (u32 m = 0; m < bi->nr_modules; m++)
			assert_false(overlaps(pa, PAGE_SIZE, bi->modules[m].start,
					      bi->modules[m].end - bi->modules[m].start));
		for (unsigned m = 0; m < nr_metas; m++)
			assert_false(overlaps(pa, PAGE_SIZE, metas[m].pa, metas[m].len));
		assert_false(seen[pa / PAGE_SIZE]);
		seen[pa / PAGE_SIZE] = 1;
		n++;
	}
	assert_int_equal(n, st.total);
	/* Everything not handed out is accounted as reserved. */
	{
		u64 ram = (36 - 1) * MIB + (63 - 40) * MIB + 0x9f000;

		ram -= 0x2000 + PAGE_SIZE;            /* reserved entry straddles 3 pages */
		assert_int_equal((st.total + st.reserved) * PAGE_SIZE, ram);
	}
	frame_get_stats(&st);
	assert_int_equal(st.free, 0);
	/* Give everything back: the pool is whole again. */
	for (u64 f = 0; f < 64 * MIB / PAGE_SIZE; f++)
		if (seen[f])
			frame_free(f * PAGE_SIZE, 0);
	frame_get_stats(&st);
	assert_int_equal(st.free, st.total);
	assert_int_equal(nr_errors, 0);
	metas_release();
	free(seen);
	free(bi);
}

/* QEMU -m 4096 on pc: RAM below 3 GiB and from 4 GiB to 5 GiB. */
static void test_frame_init_4g_split(void **state)
{
	struct boot_info *bi = calloc(1, sizeof(*bi));
	struct frame_stats st;
	paddr_t blocks[8], pa;
	unsigned nb = 0;

	(void)state;
	add_entry(bi, 0x100000000ULL, 1 * GIB, BOOT_MEM_RAM);
	add_entry(bi, 0, 0x9fc00, BOOT_MEM_RAM);
	add_entry(bi, 0x9fc00, 0x400, BOOT_MEM_RESERVED);
	add_entry(bi, 0x100000, 0xbfee0000ULL, BOOT_MEM_RAM);
	add_entry(bi, 0xfffc0000ULL, 0x40000, BOOT_MEM_RESERVED);
	add_entry(bi, 0xfd00000000ULL, 0x300000000ULL, BOOT_MEM_RESERVED);
	assert_int_equal(frame_init_from(bi, 1 * MIB, 3 * MIB, fake_meta_ptr), 0);
	frame_get_stats(&st);
	/* 4 GiB of RAM, minus low memory, image and 16 B per frame of metadata. */
	assert_true(st.total * PAGE_SIZE > 4 * GIB - 20 * MIB);
	assert_true(st.total * PAGE_SIZE < 4 * GIB - 16 * MIB);
	for (unsigned m = 0; m < nr_metas; m++)
		assert_true(metas[m].pa + metas[m].len <= 4 * GIB);
	/* 1 GiB blocks: the high GiB is one, aligned; below-limit requests stay low. */
	while (nb < 8 && (pa = frame_alloc(FRAME_MAX_ORDER)) != 0) {
		assert_true(IS_ALIGNED(pa, 1 * GIB));
		blocks[nb++] = pa;
	}
	assert_true(nb >= 2); /* 1..2 GiB and 4..5 GiB at least */
	assert_int_equal(blocks[nb - 1], 4 * GIB);
	pa = frame_alloc_below(9, 4 * GIB);
	assert_true(pa != 0 && pa + (2 * MIB) <= 4 * GIB);
	frame_free(pa, 9);
	while (nb)
		frame_free(blocks[--nb], FRAME_MAX_ORDER);
	frame_get_stats(&st);
	assert_int_equal(st.free, st.total);
	assert_int_equal(nr_errors, 0);
	metas_release();
	free(bi);
}

static void test_frame_free_errors(void **state)
{
	struct boot_info *bi = calloc(1, sizeof(*bi));
	struct frame_stats before, after;
	paddr_t a, b;
	u64 priv = 0;

	(void)state;
	messy_map(bi);
	assert_int_equal(frame_init_from(bi, 1 * MIB, 2 * MIB, fake_meta_ptr), 0);
	a = frame_alloc(2);
	b = frame_alloc(0);
	assert_true(a && b);
	frame_set_owner(b, FRAME_OWNER_SLAB, 0xabcdef);
	assert_int_equal(frame_get_owner(b, &priv), FRAME_OWNER_SLAB);
	assert_int_equal(priv, 0xabcdef);
	frame_set_owner(b, FRAME_OWNER_NONE, 0);
	frame_get_stats(&before);
	nr_errors = 0;
	frame_free(a + PAGE_SIZE, 0);     /* inside a block */
	frame_free(a, 1);                 /* wrong order */
	frame_free(a + 1, 2);             /* not aligned */
	frame_free(0x1000, 0);            /* low memory: never managed */
	frame_free(1 * MIB, 0);           /* the image */
	frame_free(100 * GIB, 0);         /* no RAM there */
	assert_int_equal(nr_errors, 6);
	frame_get_stats(&after);
	assert_int_equal(after.free, before.free);
	frame_free(b, 0);
	frame_free(b, 0);                 /* double free */
	assert_int_equal(nr_errors, 7);
	assert_non_null(strstr(last_msg, "double free"));
	assert_int_equal(frame_get_owner(b, &priv), FRAME_OWNER_NONE);
	frame_free(a, 2);
	frame_get_stats(&after);
	assert_int_equal(after.free, after.total);
	nr_errors = 0;
	metas_release();
	free(bi);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_set),
		cmocka_unit_test(test_buddy_add_and_coalesce),
		cmocka_unit_test(test_buddy_exhaustion_and_limit),
		cmocka_unit_test(test_buddy_bad_free),
		cmocka_unit_test(test_buddy_random_model),
		cmocka_unit_test(test_frame_init_exclusions),
		cmocka_unit_test(test_frame_init_4g_split),
		cmocka_unit_test(test_frame_free_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
