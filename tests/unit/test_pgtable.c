/* Page-table editing (map with large pages, split, unmap, translate) against a per-page model. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mm/pgtable.h"
#include "asm/page.h"

/*
 * Tables live in host memory; their "physical address" is the host address
 * minus DIRECT_MAP_BASE, so phys_to_virt() in pgtable.c finds them again.
 */
#define MAX_TABLES 32768
static void *tables[MAX_TABLES];
static unsigned nr_tables, table_budget = MAX_TABLES;
static unsigned nr_flushes;

static paddr_t test_alloc_table(void)
{
	void *p;

	if (nr_tables >= table_budget)
		return 0;
	p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	memset(p, 0, PAGE_SIZE);
	tables[nr_tables++] = p;
	return (paddr_t)(uintptr_t)p - DIRECT_MAP_BASE;
}

static void test_flush(vaddr_t va)
{
	(void)va;
	nr_flushes++;
}

static void pt_new(struct pgtable *pt, bool has_1g)
{
	nr_tables = 0;
	table_budget = MAX_TABLES;
	pt->has_1g = has_1g;
	pt->table_flags = X86_PTE_P | X86_PTE_RW;
	pt->alloc_table = test_alloc_table;
	pt->flush = test_flush;
	pt->root = test_alloc_table();
}

static void pt_free(void)
{
	for (unsigned i = 0; i < nr_tables; i++)
		free(tables[i]);
	nr_tables = 0;
}

#define GIB (1ULL << 30)
#define MIB (1ULL << 20)
#define KB4 PAGE_SIZE
#define BASE 0xffff880000000000ULL /* a 512 GiB-aligned kernel VA */
#define FLAGS (X86_PTE_RW | X86_PTE_NX)

static void test_large_pages_and_split(void **state)
{
	struct pgtable pt;
	u64 leaf;

	(void)state;
	pt_new(&pt, true);
	/* 1 GiB + 2 MiB + 4 KiB pieces: one 1G leaf, one 2M leaf, one PTE. */
	assert_int_equal(pgtable_map(&pt, BASE, 0x40000000, GIB + 2 * MIB + KB4, FLAGS | X86_PTE_G), 0);
	assert_int_equal(pgtable_translate(&pt, BASE + 12345, &leaf), 0x40000000 + 12345);
	assert_true(leaf & X86_PTE_PS);
	assert_int_equal(pgtable_translate(&pt, BASE + GIB + MIB, &leaf), 0x80000000 + MIB);
	assert_true(leaf & X86_PTE_PS);
	assert_int_equal(pgtable_translate(&pt, BASE + GIB + 2 * MIB, &leaf), 0x80200000);
	assert_false(leaf & X86_PTE_PS);
	assert_int_equal(pgtable_translate(&pt, BASE + GIB + 2 * MIB + KB4, NULL), (paddr_t)-1);
	assert_int_equal(nr_tables, 4); /* PML4, PDPT, PD, PT */
	/* Punch a 4 KiB hole in the 1 GiB page: split twice, neighbours keep their attributes. */
	nr_flushes = 0;
	assert_int_equal(pgtable_unmap(&pt, BASE + 300 * MIB, KB4), 0);
	assert_int_equal(nr_flushes, 1);
	assert_int_equal(pgtable_translate(&pt, BASE + 300 * MIB, NULL), (paddr_t)-1);
	assert_int_equal(pgtable_translate(&pt, BASE + 300 * MIB + KB4, &leaf),
			 0x40000000 + 300 * MIB + KB4);
	assert_true((leaf & (X86_PTE_RW | X86_PTE_NX | X86_PTE_G)) == (X86_PTE_RW | X86_PTE_NX | X86_PTE_G));
	assert_false(leaf & X86_PTE_PS);
	assert_int_equal(pgtable_translate(&pt, BASE + 300 * MIB - 1, NULL), 0x40000000 + 300 * MIB - 1);
	assert_int_equal(pgtable_translate(&pt, BASE + 900 * MIB, &leaf), 0x40000000 + 900 * MIB);
	assert_true(leaf & X86_PTE_PS); /* other 2 MiB pieces stay large */
	/* Mapping over something mapped fails and leaves everything as it was. */
	assert_int_equal(pgtable_map(&pt, BASE + 298 * MIB, 0x1000000, 4 * MIB, FLAGS), -EEXIST);
	assert_int_equal(pgtable_translate(&pt, BASE + 298 * MIB, NULL), 0x40000000 + 298 * MIB);
	/* The hole can be filled again. */
	assert_int_equal(pgtable_map(&pt, BASE + 300 * MIB, 0x5000, KB4, FLAGS), 0);
	assert_int_equal(pgtable_translate(&pt, BASE + 300 * MIB + 7, NULL), 0x5007);
	/* Misaligned requests are refused. */
	assert_int_equal(pgtable_map(&pt, BASE + 5, 0, KB4, FLAGS), -EINVAL);
	assert_int_equal(pgtable_map(&pt, BASE + 8 * GIB, 0x10, KB4, FLAGS), -EINVAL);
	assert_int_equal(pgtable_unmap(&pt, BASE + 1, KB4), -EINVAL);
	pt_free();
}

static void test_set_in_place(void **state)
{
	struct pgtable pt;
	u64 leaf;

	(void)state;
	pt_new(&pt, true);
	assert_int_equal(pgtable_map(&pt, BASE, 0, GIB, FLAGS), 0);
	nr_flushes = 0;
	assert_int_equal(pgtable_set(&pt, BASE + 0xfee00000ULL % GIB, 0xfee00000ULL % GIB, KB4,
				     FLAGS | X86_PTE_PCD | X86_PTE_PWT), 0);
	assert_int_equal(nr_flushes, 1);
	assert_int_equal(pgtable_translate(&pt, BASE + 0x3ee00000, &leaf), 0x3ee00000);
	assert_true(leaf & X86_PTE_PCD);
	assert_int_equal(pgtable_translate(&pt, BASE + 0x3ee01000, &leaf), 0x3ee01000);
	assert_false(leaf & X86_PTE_PCD);
	assert_int_equal(pgtable_translate(&pt, BASE + 0x100000, &leaf), 0x100000);
	assert_true(leaf & X86_PTE_PS);
	/* Over a split region with a 2 MiB-sized request: replaces inside the page table. */
	assert_int_equal(pgtable_set(&pt, BASE + 0x3ee00000, 0x7ee00000, 2 * MIB, FLAGS), 0);
	assert_int_equal(pgtable_translate(&pt, BASE + 0x3ef00000, &leaf), 0x7ef00000);
	assert_false(leaf & X86_PTE_PCD);
	/* Where nothing is mapped it maps. */
	assert_int_equal(pgtable_set(&pt, BASE + 2 * GIB, 0x1000, KB4, FLAGS), 0);
	assert_int_equal(pgtable_translate(&pt, BASE + 2 * GIB, NULL), 0x1000);
	pt_free();
}

static void test_pat_bit_on_split(void **state)
{
	struct pgtable pt;
	u64 leaf;

	(void)state;
	pt_new(&pt, false);
	assert_int_equal(pgtable_map(&pt, BASE, 0x200000, 2 * MIB, X86_PTE_PCD), 0);
	/* Set the large-page PAT bit by hand, then split: it must move to bit 7 of the PTEs. */
	{
		u64 *pml4 = phys_to_virt(pt.root);
		u64 *pdpt = phys_to_virt(pml4[(BASE >> 39) & 511] & X86_PTE_ADDR);
		u64 *pd = phys_to_virt(pdpt[(BASE >> 30) & 511] & X86_PTE_ADDR);

		pd[0] |= X86_PTE_PAT_LARGE;
		assert_int_equal(pgtable_translate(&pt, BASE + 5, NULL), 0x200005); /* bit 12 not address */
	}
	assert_int_equal(pgtable_unmap(&pt, BASE, KB4), 0);
	/* 0x202000: bit 12 of this PTE is an address bit, and here it is 0. */
	assert_int_equal(pgtable_translate(&pt, BASE + 2 * KB4, &leaf), 0x202000);
	assert_true(leaf & X86_PTE_PAT_4K);
	assert_true(leaf & X86_PTE_PCD);
	assert_false(leaf & X86_PTE_PAT_LARGE);
	pt_free();
}

static void test_out_of_tables(void **state)
{
	struct pgtable pt;

	(void)state;
	pt_new(&pt, false);
	table_budget = 3; /* PML4 + PDPT + PD: no page table for 4 KiB pages */
	assert_int_equal(pgtable_map(&pt, BASE, 0, 2 * MIB, FLAGS), 0);
	assert_int_equal(pgtable_map(&pt, BASE + 2 * MIB, 0, 2 * MIB + KB4, FLAGS), -ENOMEM);
	/* The 2 MiB part mapped before the failure was taken back. */
	assert_int_equal(pgtable_translate(&pt, BASE + 2 * MIB, NULL), (paddr_t)-1);
	assert_int_equal(pgtable_unmap(&pt, BASE + KB4, KB4), -ENOMEM);
	assert_int_equal(pgtable_translate(&pt, BASE + KB4, NULL), KB4); /* split failed: intact */
	pt_free();
}

/* Random maps and unmaps in an 8 GiB window, checked page by page against a model. */
#define WIN (8 * GIB)
#define WIN_PAGES (WIN / KB4)

static u64 *model; /* per page: pa | 1 when mapped, 0 when not */

static bool model_any(u64 first, u64 n)
{
	for (u64 i = 0; i < n; i++)
		if (model[first + i])
			return true;
	return false;
}

static void check_pages(const struct pgtable *pt, u64 first, u64 n)
{
	for (u64 i = first; i < first + n && i < WIN_PAGES; i++) {
		paddr_t want = model[i] ? model[i] & ~1ULL : (paddr_t)-1;
		paddr_t got = pgtable_translate(pt, BASE + i * KB4, NULL);

		if (got != want)
			fail_msg("page %#llx: got %#llx want %#llx", (unsigned long long)i,
				 (unsigned long long)got, (unsigned long long)want);
	}
}

static void test_random_model(void **state)
{
	static const u64 sizes[] = { KB4, 3 * KB4, 2 * MIB, 2 * MIB + KB4, 6 * MIB, GIB, GIB + 2 * MIB };
	struct pgtable pt;

	(void)state;
	model = calloc(WIN_PAGES, sizeof(*model));
	pt_new(&pt, true);
	srand(99);
	for (int step = 0; step < 3000; step++) {
		u64 size = sizes[rand() % 7];
		u64 align = rand() % 3 == 0 ? GIB : rand() % 2 ? 2 * MIB : KB4;
		u64 off = ALIGN_DOWN(((u64)rand() * KB4 * 7919) % (WIN - size), align);
		u64 first = off / KB4, n = size / KB4;

		if (rand() % 5 == 0) {
			paddr_t pa = off + 32 * GIB;

			assert_int_equal(pgtable_set(&pt, BASE + off, pa, size, FLAGS), 0);
			for (u64 i = 0; i < n; i++)
				model[first + i] = (pa + i * KB4) | 1;
		} else if (rand() % 2) {
			paddr_t pa = off + 16 * GIB;
			int want = model_any(first, n) ? -EEXIST : 0;

			assert_int_equal(pgtable_map(&pt, BASE + off, pa, size, FLAGS), want);
			if (want == 0)
				for (u64 i = 0; i < n; i++)
					model[first + i] = (pa + i * KB4) | 1;
		} else {
			assert_int_equal(pgtable_unmap(&pt, BASE + off, size), 0);
			memset(&model[first], 0, n * sizeof(*model));
		}
		/* Around the edges of this operation, and a random sample. */
		check_pages(&pt, first >= 2 ? first - 2 : 0, 4);
		check_pages(&pt, first + n >= 2 ? first + n - 2 : 0, 4);
		for (int k = 0; k < 64; k++)
			check_pages(&pt, (u64)rand() % WIN_PAGES, 1);
	}
	check_pages(&pt, 0, WIN_PAGES);
	/* Unmapping everything leaves nothing behind. */
	assert_int_equal(pgtable_unmap(&pt, BASE, WIN), 0);
	memset(model, 0, WIN_PAGES * sizeof(*model));
	check_pages(&pt, 0, WIN_PAGES);
	pt_free();
	free(model);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_pages_and_split),
		cmocka_unit_test(test_set_in_place),
		cmocka_unit_test(test_pat_bit_on_split),
		cmocka_unit_test(test_out_of_tables),
		cmocka_unit_test(test_random_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
