/* x86-64 4-level page tables: walk, map with large pages, split, unmap, translate. */
#include "mm/pgtable.h"
#include "asm/page.h"

static u64 *table_of(paddr_t pa) { return phys_to_virt(pa & X86_PTE_ADDR); }

static unsigned index_of(vaddr_t va, int level) { return (va >> (12 + 9 * (level - 1))) & 511; }

static bool is_leaf(u64 e, int level) { return level == 1 || (e & X86_PTE_PS); }

/*
 * Follow va down to `level`, stopping early at a non-present entry or a
 * larger leaf. Returns the entry where the walk stopped and its level.
 */
static u64 *walk_lookup(const struct pgtable *pt, vaddr_t va, int *level)
{
	u64 *tab = table_of(pt->root);

	for (int l = PGTABLE_LEVELS;; l--) {
		u64 *e = &tab[index_of(va, l)];

		if (!(*e & X86_PTE_P) || is_leaf(*e, l) || l == *level) {
			*level = l;
			return e;
		}
		tab = table_of(*e);
	}
}

/* Replace the large leaf *e at `level` by a table mapping the same range the same way. */
static int split_large(struct pgtable *pt, u64 *e, int level)
{
	u64 old = *e, sub = pgtable_level_size(level - 1);
	u64 attrs = old & ~X86_PTE_ADDR & ~X86_PTE_PS;
	paddr_t base = old & X86_PTE_ADDR & ~(pgtable_level_size(level) - 1);
	bool pat = old & X86_PTE_PAT_LARGE;
	paddr_t t = pt->alloc_table();
	u64 *tab;

	if (!t)
		return -ENOMEM;
	tab = table_of(t);
	if (level - 1 == 1)
		attrs |= pat ? X86_PTE_PAT_4K : 0;
	else
		attrs |= X86_PTE_PS | (pat ? X86_PTE_PAT_LARGE : 0);
	for (unsigned i = 0; i < PGTABLE_ENTRIES; i++)
		tab[i] = (base + i * sub) | attrs;
	/* Same translations before and after: no window where the range is unmapped. */
	WRITE_ONCE(*e, t | pt->table_flags);
	return 0;
}

/*
 * The entry for va at `level`, allocating missing tables above it. A larger
 * leaf in the way gives -EEXIST.
 */
static u64 *walk_create(struct pgtable *pt, vaddr_t va, int level, int *err)
{
	u64 *tab = table_of(pt->root);

	for (int l = PGTABLE_LEVELS; l > level; l--) {
		u64 *e = &tab[index_of(va, l)];

		if (!(*e & X86_PTE_P)) {
			paddr_t t = pt->alloc_table();

			if (!t) {
				*err = -ENOMEM;
				return NULL;
			}
			WRITE_ONCE(*e, t | pt->table_flags);
		} else if (is_leaf(*e, l)) {
			*err = -EEXIST;
			return NULL;
		}
		tab = table_of(*e);
	}
	return &tab[index_of(va, level)];
}

static int pick_level(const struct pgtable *pt, vaddr_t va, paddr_t pa, u64 left)
{
	for (int l = pt->has_1g ? 3 : 2; l > 1; l--) {
		u64 sz = pgtable_level_size(l);

		if (IS_ALIGNED(va | pa, sz) && left >= sz)
			return l;
	}
	return 1;
}

int pgtable_map(struct pgtable *pt, vaddr_t va, paddr_t pa, u64 size, u64 flags)
{
	u64 done = 0;
	int err = 0;

	if (!size || !IS_ALIGNED(va | pa | size, PAGE_SIZE) || pa + size - 1 > GENMASK(51, 0) ||
	    pa + size < pa)
		return -EINVAL;
	flags &= ~(X86_PTE_ADDR | X86_PTE_PS);
	while (done < size) {
		vaddr_t v = va + done;
		paddr_t p = pa + done;
		int level = pick_level(pt, v, p, size - done);
		u64 *e;

		for (;;) {
			e = walk_create(pt, v, level, &err);
			/* A table already there (maybe empty): map inside it with smaller pages. */
			if (e && (*e & X86_PTE_P) && !is_leaf(*e, level) && level > 1)
				level--;
			else
				break;
		}
		if (!e)
			goto undo;
		if (*e & X86_PTE_P) {
			err = -EEXIST;
			goto undo;
		}
		WRITE_ONCE(*e, p | flags | X86_PTE_P | (level > 1 ? X86_PTE_PS : 0));
		done += pgtable_level_size(level);
	}
	return 0;
undo:
	if (done)
		pgtable_unmap(pt, va, done);
	return err;
}

/*
 * The entry at which va should get a leaf of at most `*level`: splits larger
 * leaves in the way, creates missing tables, descends into existing tables.
 */
static u64 *walk_replace(struct pgtable *pt, vaddr_t va, int *level, int *err)
{
	for (;;) {
		int l = *level;
		u64 *e = walk_lookup(pt, va, &l);

		if (l > *level && (*e & X86_PTE_P)) {
			/* A larger leaf covers va: split it, keeping the rest as it is. */
			*err = split_large(pt, e, l);
			if (*err)
				return NULL;
			continue;
		}
		if (l > *level)
			return walk_create(pt, va, *level, err);
		if ((*e & X86_PTE_P) && !is_leaf(*e, l)) {
			(*level)--; /* a table is there: replace inside it with smaller pages */
			continue;
		}
		return e;
	}
}

int pgtable_set(struct pgtable *pt, vaddr_t va, paddr_t pa, u64 size, u64 flags)
{
	u64 done = 0;
	int err = 0;

	if (!size || !IS_ALIGNED(va | pa | size, PAGE_SIZE) || pa + size - 1 > GENMASK(51, 0) ||
	    pa + size < pa)
		return -EINVAL;
	flags &= ~(X86_PTE_ADDR | X86_PTE_PS);
	while (done < size) {
		vaddr_t v = va + done;
		int level = pick_level(pt, v, pa + done, size - done);
		u64 *e = walk_replace(pt, v, &level, &err);
		u64 old;

		if (!e)
			return err;
		old = *e;
		WRITE_ONCE(*e, (pa + done) | flags | X86_PTE_P | (level > 1 ? X86_PTE_PS : 0));
		if ((old & X86_PTE_P) && pt->flush)
			pt->flush(v);
		done += pgtable_level_size(level);
	}
	return 0;
}

int pgtable_unmap(struct pgtable *pt, vaddr_t va, u64 size)
{
	u64 left = size;

	if (!IS_ALIGNED(va | size, PAGE_SIZE))
		return -EINVAL;
	while (left) {
		int level = 1;
		u64 *e = walk_lookup(pt, va, &level);
		u64 sz = pgtable_level_size(level), off = va & (sz - 1);

		if (!(*e & X86_PTE_P)) {
			/* Hole: skip to the end of what this entry would cover. */
			if (sz - off >= left)
				return 0;
			left -= sz - off;
			va += sz - off;
			continue;
		}
		if (off == 0 && left >= sz) {
			WRITE_ONCE(*e, 0);
			if (pt->flush)
				pt->flush(va);
			left -= sz;
			va += sz;
			continue;
		}
		if (split_large(pt, e, level))
			return -ENOMEM;
	}
	return 0;
}

paddr_t pgtable_translate(const struct pgtable *pt, vaddr_t va, u64 *leaf)
{
	int level = 1;
	u64 *e = walk_lookup(pt, va, &level);
	u64 sz = pgtable_level_size(level);

	if (!(*e & X86_PTE_P))
		return (paddr_t)-1;
	if (leaf)
		*leaf = *e;
	return (*e & X86_PTE_ADDR & ~(sz - 1)) | (va & (sz - 1));
}
