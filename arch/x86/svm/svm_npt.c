/* SVM nested page tables: the guest-physical -> host-physical map from a VM's memory slots. */
#include "arch/x86/svm/svm_internal.h"

/*
 * NPT uses the host's long-mode page-table format (APM vol. 2 15.25.5): four
 * levels, 2 MiB pages at the page-directory level. Guest page-table walks are
 * user accesses at the nested level (15.25.6), so every entry carries U/S.
 * PAT/PCD/PWT = 0 selects host PAT entry 0, write-back; the guest's own PAT
 * (VMCB G_PAT) then combines with it.
 */
#define NPT_LEVEL_SHIFT(l) (12 + 9 * (l)) /* l: 0 = PT, 1 = PD, 2 = PDPT, 3 = PML4 */
#define NPT_INDEX(gpa, l) (((gpa) >> NPT_LEVEL_SHIFT(l)) & 0x1ffU)
#define NPT_ENTRIES 512
#define NPT_GPA_LIMIT (1ULL << 48)
#define NPT_TABLE_FLAGS (NPT_P | NPT_RW | NPT_US)
#define NPT_LARGE_FLAGS (NPT_P | NPT_RW | NPT_US | NPT_PS)

_Static_assert(GMEM_CHUNK_SIZE == (1ULL << NPT_LEVEL_SHIFT(1)),
	       "a guest RAM chunk is one 2 MiB NPT page");

/* The next-level table under entry *e, allocated if absent. */
static u64 *npt_next(struct svm_npt *npt, u64 *e, const struct svm_page_alloc *a)
{
	hpa_t pa;
	void *va;

	if (*e & NPT_P)
		return a->pa_to_va(a->ctx, *e & NPT_ADDR_MASK);
	if (a->alloc(a->ctx, &pa, &va))
		return NULL;
	npt->nr_tables++;
	*e = (pa & NPT_ADDR_MASK) | NPT_TABLE_FLAGS;
	return va;
}

static int npt_map_large(struct svm_npt *npt, gpa_t gpa, hpa_t hpa, const struct svm_page_alloc *a)
{
	u64 *pdpt, *pd;

	if (!IS_ALIGNED(gpa, GMEM_CHUNK_SIZE) || !IS_ALIGNED(hpa, GMEM_CHUNK_SIZE) || !hpa ||
	    gpa >= NPT_GPA_LIMIT || (hpa & ~NPT_LARGE_ADDR_MASK))
		return -EINVAL;
	pdpt = npt_next(npt, &npt->root[NPT_INDEX(gpa, 3)], a);
	if (!pdpt)
		return -ENOMEM;
	pd = npt_next(npt, &pdpt[NPT_INDEX(gpa, 2)], a);
	if (!pd)
		return -ENOMEM;
	if (pd[NPT_INDEX(gpa, 1)] & NPT_P)
		return -EINVAL; /* overlapping slots */
	pd[NPT_INDEX(gpa, 1)] = hpa | NPT_LARGE_FLAGS;
	return 0;
}

static int npt_map_slot(struct svm_npt *npt, const struct gmem_slot *s,
			const struct svm_page_alloc *a)
{
	u64 i, n = s->size / GMEM_CHUNK_SIZE;
	int err;

	if (!IS_ALIGNED(s->base, GMEM_CHUNK_SIZE) || !IS_ALIGNED(s->size, GMEM_CHUNK_SIZE) ||
	    s->base + s->size < s->base || (n && !s->chunks))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		err = npt_map_large(npt, s->base + i * GMEM_CHUNK_SIZE, s->chunks[i].hpa, a);
		if (err)
			return err;
	}
	return 0;
}

int svm_npt_build(struct svm_npt *npt, const struct gmem *mem, const struct svm_page_alloc *a)
{
	void *va;
	u32 i;
	int err;

	npt->root = NULL;
	npt->root_pa = 0;
	npt->nr_tables = 0;
	if (mem->nr_slots > GMEM_MAX_SLOTS)
		return -EINVAL;
	if (a->alloc(a->ctx, &npt->root_pa, &va))
		return -ENOMEM;
	npt->root = va;
	npt->nr_tables = 1;
	for (i = 0; i < mem->nr_slots; i++) {
		err = npt_map_slot(npt, &mem->slots[i], a);
		if (err) {
			svm_npt_free(npt, a);
			return err;
		}
	}
	return 0;
}

void svm_npt_free(struct svm_npt *npt, const struct svm_page_alloc *a)
{
	u32 i, j;

	if (!npt->root)
		return;
	for (i = 0; i < NPT_ENTRIES; i++) {
		u64 *pdpt;

		if (!(npt->root[i] & NPT_P))
			continue;
		pdpt = a->pa_to_va(a->ctx, npt->root[i] & NPT_ADDR_MASK);
		for (j = 0; j < NPT_ENTRIES; j++) {
			/* The builder makes no 1 GiB pages: every present PDPT entry is a table. */
			if (pdpt[j] & NPT_P)
				a->free(a->ctx, pdpt[j] & NPT_ADDR_MASK);
		}
		a->free(a->ctx, npt->root[i] & NPT_ADDR_MASK);
	}
	a->free(a->ctx, npt->root_pa);
	npt->root = NULL;
	npt->root_pa = 0;
	npt->nr_tables = 0;
}

hpa_t svm_npt_translate(const struct svm_npt *npt, gpa_t gpa, const struct svm_page_alloc *a)
{
	const u64 *table = npt->root;
	int level;

	if (!table || gpa >= NPT_GPA_LIMIT)
		return 0;
	for (level = 3; level >= 0; level--) {
		u64 e = table[NPT_INDEX(gpa, level)];

		if (!(e & NPT_P))
			return 0;
		if (level == 1 && (e & NPT_PS))
			return (e & NPT_LARGE_ADDR_MASK) | (gpa & (GMEM_CHUNK_SIZE - 1));
		if (level == 0)
			return (e & NPT_ADDR_MASK) | (gpa & 0xfffU);
		table = a->pa_to_va(a->ctx, e & NPT_ADDR_MASK);
	}
	return 0;
}
