/* EPT tables built from fake guest memory slots with a fake page allocator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "arch/x86/vmx/vmx_internal.h"

#define MB (1ULL << 20)
#define GB (1ULL << 30)
#define FAKE_PA_BASE 0x7000000000ULL /* table "physical" addresses: base + 4 KiB * index */
#define MAX_PAGES 64

struct fake_alloc {
	void *pages[MAX_PAGES];
	bool live[MAX_PAGES];
	int used;
	int budget;
	int frees;
};

static int fake_page(void *ctx, hpa_t *pa, void **va)
{
	struct fake_alloc *f = ctx;
	void *p;

	if (f->used >= f->budget || f->used >= MAX_PAGES)
		return -ENOMEM;
	p = aligned_alloc(4096, 4096);
	memset(p, 0, 4096);
	f->pages[f->used] = p;
	f->live[f->used] = true;
	*pa = FAKE_PA_BASE + 4096ULL * f->used;
	*va = p;
	f->used++;
	return 0;
}

static int fake_index(hpa_t pa)
{
	assert_true(pa >= FAKE_PA_BASE && (pa - FAKE_PA_BASE) % 4096 == 0);
	assert_true((pa - FAKE_PA_BASE) / 4096 < MAX_PAGES);
	return (int)((pa - FAKE_PA_BASE) / 4096);
}

static void fake_free(void *ctx, hpa_t pa)
{
	struct fake_alloc *f = ctx;
	int i = fake_index(pa);

	assert_true(f->live[i]);
	f->live[i] = false;
	free(f->pages[i]);
	f->frees++;
}

static void *fake_va(void *ctx, hpa_t pa)
{
	struct fake_alloc *f = ctx;
	int i = fake_index(pa);

	assert_true(f->live[i]);
	return f->pages[i];
}

static struct fake_alloc fa;
static struct vmx_page_alloc alloc = { &fa, fake_page, fake_free, fake_va };

static void fresh_alloc(int budget)
{
	memset(&fa, 0, sizeof(fa));
	fa.budget = budget;
}

/* A slot whose chunk i is backed at host address hpa_of(i). */
static void make_slot(struct gmem *m, gpa_t base, u64 size, hpa_t (*hpa_of)(u64 i))
{
	struct gmem_slot *s = &m->slots[m->nr_slots++];
	u64 n = size / GMEM_CHUNK_SIZE;

	s->base = base;
	s->size = size;
	s->chunks = calloc(n, sizeof(*s->chunks));
	for (u64 i = 0; i < n; i++)
		s->chunks[i].hpa = hpa_of(i);
	m->total += size;
}

static void free_slots(struct gmem *m)
{
	for (u32 i = 0; i < m->nr_slots; i++)
		free(m->slots[i].chunks);
	memset(m, 0, sizeof(*m));
}

/* Host chunks scattered in reverse order: never contiguous. */
static hpa_t scattered(u64 i) { return 0x40000000ULL + (63 - i) * 2 * MB; }
/* One contiguous, 1 GiB-aligned run at 4 GiB. */
static hpa_t contiguous(u64 i) { return 4 * GB + i * 2 * MB; }
/* Contiguous but only 2 MiB aligned. */
static hpa_t misaligned_run(u64 i) { return 4 * GB + 2 * MB + i * 2 * MB; }
static hpa_t odd(u64 i) { return 0x40001000ULL; }

static u64 entry_at(struct vmx_ept *ept, gpa_t gpa, int level)
{
	u64 *t = ept->root;

	for (int l = 4; l > level; l--) {
		u64 e = t[(gpa >> (12 + 9 * (l - 1))) & 511];

		assert_int_equal(e & 0xff, EPT_RWX); /* tables: RWX, no memory type, not large */
		t = fake_va(&fa, e & EPT_ADDR);
	}
	return t[(gpa >> (12 + 9 * (level - 1))) & 511];
}

static void test_2m_pages_for_scattered_chunks(void **state)
{
	struct gmem m = { 0 };
	struct vmx_ept ept;
	int level;

	make_slot(&m, 0, 32 * MB, scattered);
	fresh_alloc(MAX_PAGES);
	assert_int_equal(vmx_ept_build(&ept, &m, true, &alloc), 0);
	assert_int_equal(ept.nr_2m, 16);
	assert_int_equal(ept.nr_1g, 0);
	assert_int_equal(ept.nr_tables, 3); /* PML4, PDPT, PD */
	for (gpa_t g = 0; g < 32 * MB; g += 2 * MB) {
		u64 e = entry_at(&ept, g, 2);

		assert_int_equal(e & ~EPT_ADDR, EPT_RWX | (EPT_MT_WB << EPT_MEM_TYPE_SHIFT) | EPT_LARGE);
		assert_int_equal(e & EPT_ADDR, scattered(g / (2 * MB)));
		assert_int_equal(vmx_ept_translate(&ept, g + 0x12345, &level, &alloc),
				 scattered(g / (2 * MB)) + 0x12345);
		assert_int_equal(level, 2);
	}
	/* Past RAM and in MMIO space: unmapped, so EPT violations. */
	assert_int_equal(vmx_ept_translate(&ept, 32 * MB, NULL, &alloc), 0);
	assert_int_equal(vmx_ept_translate(&ept, 0xfee00000, NULL, &alloc), 0);
	assert_int_equal(vmx_ept_translate(&ept, 1ULL << 47, NULL, &alloc), 0);
	vmx_ept_free(&ept, &alloc);
	assert_int_equal(fa.frees, fa.used);
	free_slots(&m);
}

static void test_1g_page_when_contiguous_and_aligned(void **state)
{
	struct gmem m = { 0 };
	struct vmx_ept ept;
	int level;

	make_slot(&m, 1 * GB, 1 * GB + 4 * MB, contiguous);
	fresh_alloc(MAX_PAGES);
	assert_int_equal(vmx_ept_build(&ept, &m, true, &alloc), 0);
	assert_int_equal(ept.nr_1g, 1);
	assert_int_equal(ept.nr_2m, 2);
	assert_int_equal(vmx_ept_translate(&ept, 1 * GB + 0x3456789, &level, &alloc),
			 4 * GB + 0x3456789);
	assert_int_equal(level, 3);
	assert_true(entry_at(&ept, 1 * GB, 3) & EPT_LARGE);
	assert_int_equal(vmx_ept_translate(&ept, 2 * GB + 3 * MB, &level, &alloc),
			 contiguous(512 + 1) + 1 * MB);
	assert_int_equal(level, 2);
	vmx_ept_free(&ept, &alloc);
	assert_int_equal(fa.frees, fa.used);
	/* The same memory with 1 GiB pages off: all 2 MiB. */
	fresh_alloc(MAX_PAGES);
	assert_int_equal(vmx_ept_build(&ept, &m, false, &alloc), 0);
	assert_int_equal(ept.nr_1g, 0);
	assert_int_equal(ept.nr_2m, 514);
	vmx_ept_free(&ept, &alloc);
	free_slots(&m);
}

static void test_no_1g_page_for_misaligned_host_run(void **state)
{
	struct gmem m = { 0 };
	struct vmx_ept ept;

	make_slot(&m, 0, 1 * GB, misaligned_run);
	fresh_alloc(MAX_PAGES);
	assert_int_equal(vmx_ept_build(&ept, &m, true, &alloc), 0);
	assert_int_equal(ept.nr_1g, 0);
	assert_int_equal(ept.nr_2m, 512);
	vmx_ept_free(&ept, &alloc);
	free_slots(&m);
}

static void test_two_slots_and_hole(void **state)
{
	struct gmem m = { 0 };
	struct vmx_ept ept;

	make_slot(&m, 0, 4 * MB, scattered);
	make_slot(&m, 4 * GB, 2 * MB, scattered);
	fresh_alloc(MAX_PAGES);
	assert_int_equal(vmx_ept_build(&ept, &m, true, &alloc), 0);
	assert_int_equal(ept.nr_2m, 3);
	assert_int_equal(vmx_ept_translate(&ept, 4 * GB + 5, NULL, &alloc), scattered(0) + 5);
	assert_int_equal(vmx_ept_translate(&ept, 8 * MB, NULL, &alloc), 0);
	assert_int_equal(ept.nr_tables, 4); /* PML4, one PDPT, two PDs */
	vmx_ept_free(&ept, &alloc);
	assert_int_equal(fa.frees, 4);
	free_slots(&m);
}

static void test_out_of_memory_holds_nothing(void **state)
{
	struct gmem m = { 0 };
	struct vmx_ept ept;

	make_slot(&m, 0, 2 * MB, scattered);
	make_slot(&m, 600 * GB, 2 * MB, scattered); /* needs its own PDPT and PD */
	for (int budget = 0; budget < 5; budget++) {
		fresh_alloc(budget);
		assert_int_equal(vmx_ept_build(&ept, &m, true, &alloc), -ENOMEM);
		assert_int_equal(fa.frees, fa.used);
	}
	fresh_alloc(5);
	assert_int_equal(vmx_ept_build(&ept, &m, true, &alloc), 0);
	vmx_ept_free(&ept, &alloc);
	free_slots(&m);
}

static void test_bad_slots_refused(void **state)
{
	struct gmem m = { 0 };
	struct vmx_ept ept;

	make_slot(&m, 0, 2 * MB, odd); /* host chunk not 2 MiB aligned */
	fresh_alloc(MAX_PAGES);
	assert_int_equal(vmx_ept_build(&ept, &m, true, &alloc), -EINVAL);
	assert_int_equal(fa.frees, fa.used);
	free_slots(&m);
	make_slot(&m, (1ULL << 48) - 2 * MB, 4 * MB, scattered); /* beyond 48 bits */
	fresh_alloc(MAX_PAGES);
	assert_int_equal(vmx_ept_build(&ept, &m, true, &alloc), -EINVAL);
	assert_int_equal(fa.frees, fa.used);
	free_slots(&m);
}

static void test_eptp(void **state)
{
	struct vmx_ept ept = { .root_pa = 0x12345000 };

	/* WB (6), 4-level walk (3 << 3), no A/D: SDM vol. 3C 25.6.11. */
	assert_int_equal(vmx_eptp(&ept), 0x12345000ULL | 6 | (3 << 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_2m_pages_for_scattered_chunks),
		cmocka_unit_test(test_1g_page_when_contiguous_and_aligned),
		cmocka_unit_test(test_no_1g_page_for_misaligned_host_run),
		cmocka_unit_test(test_two_slots_and_hole),
		cmocka_unit_test(test_out_of_memory_holds_nothing),
		cmocka_unit_test(test_bad_slots_refused),
		cmocka_unit_test(test_eptp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
