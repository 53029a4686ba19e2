/* SVM nested page tables built from fake guest memory slots with a fake page allocator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "arch/x86/svm/svm_internal.h"

#define MB (1ULL << 20)
#define GB (1ULL << 30)
#define FAKE_PA_BASE 0x7000000000ULL /* table "physical" addresses: base + 4 KiB * index */
#define MAX_PAGES 64

struct fake_alloc {
	void *pages[MAX_PAGES];
	bool live[MAX_PAGES];
	int used;       /* slots handed out so far */
	int budget;     /* allocations allowed before failing */
	int frees;
};

static int fake_alloc_page(void *ctx, hpa_t *pa, void **va)
{
	struct fake_alloc *f = ctx;
	void *p;

	if (f->used >= f->budget || f->used >= MAX_PAGES)
		return -ENOMEM;
	p = aligned_alloc(4096, 4096);
	memset(p, 0xa5, 4096);  /* prove the allocator contract: zeroed below */
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

static void fake_free_page(void *ctx, hpa_t pa)
{
	struct fake_alloc *f = ctx;
	int i = fake_index(pa);

	assert_true(f->live[i]); /* no double free, no foreign address */
	f->live[i] = false;
	free(f->pages[i]);
	f->frees++;
}

static void *fake_pa_to_va(void *ctx, hpa_t pa)
{
	struct fake_alloc *f = ctx;
	int i = fake_index(pa);

	assert_true(f->live[i]);
	return f->pages[i];
}

static void fake_init(struct fake_alloc *f, struct svm_page_alloc *a, int budget)
{
	memset(f, 0, sizeof(*f));
	f->budget = budget;
	a->ctx = f;
	a->alloc = fake_alloc_page;
	a->free = fake_free_page;
	a->pa_to_va = fake_pa_to_va;
}

static int fake_live(const struct fake_alloc *f)
{
	int n = 0;

	for (int i = 0; i < f->used; i++)
		n += f->live[i];
	return n;
}

/* Chunk i of a slot sits at a recognisable, descending host address (not identity). */
static hpa_t chunk_hpa(int slot, u64 i)
{
	return 0x40000000ULL * (slot + 1) + 0x10000000ULL - i * 2 * MB;
}

static void add_slot(struct gmem *m, gpa_t base, u64 size)
{
	struct gmem_slot *s = &m->slots[m->nr_slots];
	u64 n = size / GMEM_CHUNK_SIZE;

	s->base = base;
	s->size = size;
	s->chunks = calloc(n ? n : 1, sizeof(*s->chunks));
	for (u64 i = 0; i < n; i++)
		s->chunks[i].hpa = chunk_hpa((int)m->nr_slots, i);
	m->total += size;
	m->nr_slots++;
}

static void free_slots(struct gmem *m)
{
	for (u32 i = 0; i < m->nr_slots; i++)
		free(m->slots[i].chunks);
	memset(m, 0, sizeof(*m));
}

/* Low RAM below the PCI hole, and RAM above 4 GiB (a different PDPT entry). */
static void two_slot_memory(struct gmem *m)
{
	memset(m, 0, sizeof(*m));
	add_slot(m, 0, 8 * MB);
	add_slot(m, 4 * GB, 4 * MB);
}

static void check_entry_flags(u64 e, bool leaf)
{
	assert_true(e & NPT_P);
	assert_true(e & NPT_RW);
	assert_true(e & NPT_US); /* guest page-table walks are user accesses */
	assert_false(e & (NPT_PWT | NPT_PCD | NPT_NX)); /* write-back, executable */
	assert_int_equal(!!(e & NPT_PS), leaf);
}

static void test_maps_ram_with_2m_pages(void **state)
{
	struct fake_alloc f;
	struct svm_page_alloc a;
	struct svm_npt npt;
	struct gmem m;

	(void)state;
	two_slot_memory(&m);
	fake_init(&f, &a, MAX_PAGES);
	assert_int_equal(svm_npt_build(&npt, &m, &a), 0);
	/* root + one PDPT (0 and 4 GiB share it) + two page directories */
	assert_int_equal(npt.nr_tables, 4);
	assert_int_equal(fake_live(&f), 4);
	for (u32 s = 0; s < m.nr_slots; s++) {
		for (u64 i = 0; i < m.slots[s].size / GMEM_CHUNK_SIZE; i++) {
			gpa_t gpa = m.slots[s].base + i * GMEM_CHUNK_SIZE;
			hpa_t hpa = chunk_hpa((int)s, i);

			assert_int_equal(svm_npt_translate(&npt, gpa, &a), hpa);
			assert_int_equal(svm_npt_translate(&npt, gpa + 0x1234, &a), hpa + 0x1234);
			assert_int_equal(svm_npt_translate(&npt, gpa + GMEM_CHUNK_SIZE - 1, &a),
					 hpa + GMEM_CHUNK_SIZE - 1);
		}
	}
	/* Walk by hand: table entries and the leaf carry P, RW, US; only the leaf has PS. */
	{
		u64 pml4e = npt.root[0], pdpte, pde;
		u64 *pdpt, *pd;

		check_entry_flags(pml4e, false);
		pdpt = fake_pa_to_va(&f, pml4e & NPT_ADDR_MASK);
		pdpte = pdpt[4];
		check_entry_flags(pdpte, false);
		pd = fake_pa_to_va(&f, pdpte & NPT_ADDR_MASK);
		pde = pd[1];
		check_entry_flags(pde, true);
		assert_int_equal(pde & NPT_LARGE_ADDR_MASK, chunk_hpa(1, 1));
	}
	svm_npt_free(&npt, &a);
	assert_int_equal(fake_live(&f), 0);
	assert_null(npt.root);
	free_slots(&m);
}

static void test_holes_stay_unmapped(void **state)
{
	static const gpa_t holes[] = { 8 * MB, 8 * MB + 4096, 0xfec00000ULL, 0xfee00000ULL, 4 * GB - 1,
				       4 * GB + 4 * MB, 512 * GB, (1ULL << 48) - 4096, 1ULL << 48,
				       ~0ULL };
	struct fake_alloc f;
	struct svm_page_alloc a;
	struct svm_npt npt;
	struct gmem m;

	(void)state;
	two_slot_memory(&m);
	fake_init(&f, &a, MAX_PAGES);
	assert_int_equal(svm_npt_build(&npt, &m, &a), 0);
	for (size_t i = 0; i < sizeof(holes) / sizeof(holes[0]); i++)
		assert_int_equal(svm_npt_translate(&npt, holes[i], &a), 0);
	svm_npt_free(&npt, &a);
	free_slots(&m);
}

static void test_empty_memory(void **state)
{
	struct fake_alloc f;
	struct svm_page_alloc a;
	struct svm_npt npt;
	struct gmem m;

	(void)state;
	memset(&m, 0, sizeof(m));
	fake_init(&f, &a, MAX_PAGES);
	assert_int_equal(svm_npt_build(&npt, &m, &a), 0);
	assert_int_equal(npt.nr_tables, 1);
	assert_int_equal(svm_npt_translate(&npt, 0, &a), 0);
	svm_npt_free(&npt, &a);
	assert_int_equal(fake_live(&f), 0);
}

/* Bad slots are refused and nothing is left allocated. */
static void test_bad_slots(void **state)
{
	struct fake_alloc f;
	struct svm_page_alloc a;
	struct svm_npt npt;
	struct gmem m;

	(void)state;
	memset(&m, 0, sizeof(m));
	add_slot(&m, 0, 4 * MB);
	add_slot(&m, 2 * MB, 2 * MB); /* overlaps the first */
	fake_init(&f, &a, MAX_PAGES);
	assert_int_equal(svm_npt_build(&npt, &m, &a), -EINVAL);
	assert_int_equal(fake_live(&f), 0);
	assert_null(npt.root);
	free_slots(&m);

	memset(&m, 0, sizeof(m));
	add_slot(&m, 1 * MB, 2 * MB); /* not 2 MiB aligned */
	fake_init(&f, &a, MAX_PAGES);
	assert_int_equal(svm_npt_build(&npt, &m, &a), -EINVAL);
	assert_int_equal(fake_live(&f), 0);
	free_slots(&m);

	memset(&m, 0, sizeof(m));
	add_slot(&m, 1ULL << 48, 2 * MB); /* beyond what 4-level tables reach */
	fake_init(&f, &a, MAX_PAGES);
	assert_int_equal(svm_npt_build(&npt, &m, &a), -EINVAL);
	assert_int_equal(fake_live(&f), 0);
	free_slots(&m);

	memset(&m, 0, sizeof(m));
	add_slot(&m, 0, 2 * MB);
	m.slots[0].chunks[0].hpa = 0x12345000; /* host chunk not 2 MiB aligned */
	fake_init(&f, &a, MAX_PAGES);
	assert_int_equal(svm_npt_build(&npt, &m, &a), -EINVAL);
	assert_int_equal(fake_live(&f), 0);
	free_slots(&m);
}

/* Out of pages at every possible point: -ENOMEM and no page kept. */
static void test_out_of_pages(void **state)
{
	struct fake_alloc f;
	struct svm_page_alloc a;
	struct svm_npt npt;
	struct gmem m;

	(void)state;
	two_slot_memory(&m);
	for (int budget = 0; budget < 4; budget++) {
		fake_init(&f, &a, budget);
		assert_int_equal(svm_npt_build(&npt, &m, &a), -ENOMEM);
		assert_int_equal(fake_live(&f), 0);
		assert_int_equal(f.frees, f.used);
	}
	fake_init(&f, &a, 4);
	assert_int_equal(svm_npt_build(&npt, &m, &a), 0);
	svm_npt_free(&npt, &a);
	free_slots(&m);
}

/* Many slots across the address space: every chunk translates, every hole does not. */
static void test_many_slots(void **state)
{
	struct fake_alloc f;
	struct svm_page_alloc a;
	struct svm_npt npt;
	struct gmem m;

	(void)state;
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < GMEM_MAX_SLOTS; i++)
		add_slot(&m, (u64)i * 3 * GB + (u64)i * 6 * MB, (u64)(i + 1) * 2 * MB);
	fake_init(&f, &a, MAX_PAGES);
	assert_int_equal(svm_npt_build(&npt, &m, &a), 0);
	for (u32 s = 0; s < m.nr_slots; s++) {
		u64 n = m.slots[s].size / GMEM_CHUNK_SIZE;

		for (u64 i = 0; i < n; i++)
			assert_int_equal(svm_npt_translate(&npt, m.slots[s].base + i * GMEM_CHUNK_SIZE + 8, &a),
					 chunk_hpa((int)s, i) + 8);
		assert_int_equal(svm_npt_translate(&npt, m.slots[s].base + n * GMEM_CHUNK_SIZE, &a), 0);
		if (m.slots[s].base)
			assert_int_equal(svm_npt_translate(&npt, m.slots[s].base - 1, &a), 0);
	}
	svm_npt_free(&npt, &a);
	assert_int_equal(fake_live(&f), 0);
	free_slots(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_ram_with_2m_pages),
		cmocka_unit_test(test_holes_stay_unmapped),
		cmocka_unit_test(test_empty_memory),
		cmocka_unit_test(test_bad_slots),
		cmocka_unit_test(test_out_of_pages),
		cmocka_unit_test(test_many_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
