/* Guest memory slots: layout checks and bounds-checked access on malloc'd chunks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "hv/mmu/gmem.h"

static int live_chunks;
static int fail_after = -1; /* allocations allowed before failing; -1: never fail */

static int fake_chunk_alloc(struct gmem_chunk *c)
{
	if (fail_after == 0)
		return -ENOMEM;
	if (fail_after > 0)
		fail_after--;
	c->hva = aligned_alloc(GMEM_CHUNK_SIZE, GMEM_CHUNK_SIZE);
	if (!c->hva)
		return -ENOMEM;
	memset(c->hva, 0, GMEM_CHUNK_SIZE);
	c->hpa = (hpa_t)(uintptr_t)c->hva ^ 0x5000000000ULL; /* a distinct fake address */
	live_chunks++;
	return 0;
}

static void fake_chunk_free(const struct gmem_chunk *c)
{
	free(c->hva);
	live_chunks--;
}

static const struct gmem_allocator alloc = { fake_chunk_alloc, fake_chunk_free };
#define MB (1ULL << 20)

static void test_layout_rules(void **state)
{
	struct gmem m;

	(void)state;
	gmem_init(&m);
	assert_int_equal(gmem_add_ram(&m, 0, 0, &alloc), -EINVAL);
	assert_int_equal(gmem_add_ram(&m, 1 * MB, 2 * MB, &alloc), -EINVAL);  /* misaligned base */
	assert_int_equal(gmem_add_ram(&m, 0, 3 * MB, &alloc), -EINVAL);       /* misaligned size */
	assert_int_equal(gmem_add_ram(&m, ~0ULL & ~(2 * MB - 1), 4 * MB, &alloc), -EINVAL); /* wraps */
	assert_int_equal(gmem_add_ram(&m, 0, 8 * MB, &alloc), 0);
	assert_int_equal(gmem_add_ram(&m, 6 * MB, 4 * MB, &alloc), -EINVAL);  /* overlap */
	assert_int_equal(gmem_add_ram(&m, 4096 * MB, 4 * MB, &alloc), 0);
	assert_int_equal(m.total, 12 * MB);
	assert_int_equal(live_chunks, 6);
	gmem_destroy(&m, &alloc);
	assert_int_equal(live_chunks, 0);
	assert_int_equal(m.nr_slots, 0);
}

static void test_alloc_failure_leaves_nothing(void **state)
{
	struct gmem m;

	(void)state;
	gmem_init(&m);
	fail_after = 3;
	assert_int_equal(gmem_add_ram(&m, 0, 16 * MB, &alloc), -ENOMEM);
	fail_after = -1;
	assert_int_equal(live_chunks, 0);
	assert_int_equal(m.nr_slots, 0);
	assert_false(gmem_is_ram(&m, 0, 1));
}

static void test_bounds(void **state)
{
	struct gmem m;
	u8 buf[64];

	(void)state;
	gmem_init(&m);
	assert_int_equal(gmem_add_ram(&m, 0, 4 * MB, &alloc), 0);
	assert_int_equal(gmem_add_ram(&m, 16 * MB, 2 * MB, &alloc), 0);
	assert_true(gmem_is_ram(&m, 0, 4 * MB));
	assert_false(gmem_is_ram(&m, 0, 4 * MB + 1));
	assert_false(gmem_is_ram(&m, 4 * MB - 1, 2));
	assert_true(gmem_is_ram(&m, 16 * MB, 2 * MB));
	assert_false(gmem_is_ram(&m, 18 * MB, 1));
	assert_false(gmem_is_ram(&m, ~0ULL - 3, 8)); /* wraps around */
	/* gmem_ptr never spans chunks */
	assert_non_null(gmem_ptr(&m, 2 * MB - 8, 8));
	assert_null(gmem_ptr(&m, 2 * MB - 8, 9));
	assert_null(gmem_ptr(&m, 4 * MB, 1));
	assert_null(gmem_ptr(&m, 0, 0));
	assert_int_equal(gmem_chunk_hpa(&m, 5 * MB), 0);
	assert_true(gmem_chunk_hpa(&m, 3 * MB) != 0);
	/* copies across a chunk boundary land in both chunks */
	for (int i = 0; i < 64; i++)
		buf[i] = (u8)(i + 1);
	assert_int_equal(gmem_write(&m, 2 * MB - 32, buf, 64), 0);
	assert_int_equal(((u8 *)gmem_ptr(&m, 2 * MB - 32, 1))[0], 1);
	assert_int_equal(((u8 *)gmem_ptr(&m, 2 * MB, 1))[0], 33);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(gmem_read(&m, 2 * MB - 32, buf, 64), 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(buf[i], i + 1);
	/* any byte outside RAM fails the whole copy, and nothing is written */
	assert_int_equal(gmem_write(&m, 4 * MB - 32, buf, 64), -EFAULT);
	assert_int_equal(((u8 *)gmem_ptr(&m, 4 * MB - 32, 1))[0], 0);
	assert_int_equal(gmem_read(&m, 20 * MB, buf, 1), -EFAULT);
	gmem_clear(&m);
	assert_int_equal(((u8 *)gmem_ptr(&m, 2 * MB, 1))[0], 0);
	gmem_destroy(&m, &alloc);
	assert_int_equal(live_chunks, 0);
}

static void test_random_access_model(void **state)
{
	struct gmem m;
	static u8 model[8 * 1024 * 1024];
	u8 buf[300];

	(void)state;
	gmem_init(&m);
	assert_int_equal(gmem_add_ram(&m, 0, 8 * MB, &alloc), 0);
	srand(7);
	for (int i = 0; i < 20000; i++) {
		u64 len = (u64)(rand() % 300) + 1;
		u64 gpa = ((u64)rand() * 4099u) % (9 * MB);
		bool inside = gpa + len <= 8 * MB;

		for (u64 j = 0; j < len; j++)
			buf[j] = (u8)rand();
		assert_int_equal(gmem_write(&m, gpa, buf, len), inside ? 0 : -EFAULT);
		if (inside)
			memcpy(model + gpa, buf, len);
	}
	for (u64 off = 0; off < 8 * MB; off += 4096) {
		assert_int_equal(gmem_read(&m, off, buf, 256), 0);
		assert_memory_equal(buf, model + off, 256);
	}
	gmem_destroy(&m, &alloc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_rules),
		cmocka_unit_test(test_alloc_failure_leaves_nothing),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_random_access_model),
	};
	return cmocka_run_group_tests_name("gmem", tests, NULL, NULL);
}
