/* EPT paging structures built from a VM's memory slots (Intel SDM vol. 3C 29.3). */
#include "arch/x86/vmx/vmx_internal.h"
#include "lib/string.h"

#define EPT_ENTRIES 512
#define SIZE_2M (1ULL << 21)
#define SIZE_1G (1ULL << 30)
#define EPT_LEVELS 4
#define EPT_PML4_SHIFT 39
#define EPT_LEVEL_SHIFT(level) (12 + 9 * ((level) - 1)) /* level 4: PML4 ... 1: PT */

/* A non-leaf entry: read/write/execute allowed below, no memory type (reserved there). */
#define EPT_TABLE_FLAGS EPT_RWX
/* A leaf: read/write/execute, write-back; the guest's PAT still combines with it (29.3.7.2). */
#define EPT_LEAF_FLAGS (EPT_RWX | (EPT_MT_WB << EPT_MEM_TYPE_SHIFT) | EPT_LARGE)

_Static_assert((EPT_ADDR & (EPT_RWX | EPT_MEM_TYPE | EPT_IGNORE_PAT | EPT_LARGE)) == 0,
	       "EPT address field and flags do not overlap");
_Static_assert(EPT_LEVEL_SHIFT(EPT_LEVELS) == EPT_PML4_SHIFT, "4-level EPT covers 48 bits");

static unsigned ept_index(gpa_t gpa, int level)
{
	return (gpa >> EPT_LEVEL_SHIFT(level)) & (EPT_ENTRIES - 1);
}

/* The table an entry of `table` points to, made if absent. NULL when out of memory. */
static u64 *ept_next(struct vmx_ept *ept, u64 *table, unsigned idx, const struct vmx_page_alloc *a)
{
	hpa_t pa;
	void *va;

	if (table[idx] & EPT_RWX)
		return a->pa_to_va(a->ctx, table[idx] & EPT_ADDR);
	if (a->alloc(a->ctx, &pa, &va))
		return NULL;
	ept->nr_tables++;
	table[idx] = (pa & EPT_ADDR) | EPT_TABLE_FLAGS;
	return va;
}

/* Map one leaf of 2 MiB (level 2) or 1 GiB (level 3) at gpa. */
static int ept_map(struct vmx_ept *ept, gpa_t gpa, hpa_t hpa, int level,
		   const struct vmx_page_alloc *a)
{
	u64 *table = ept->root;

	for (int l = EPT_LEVELS; l > level; l--) {
		table = ept_next(ept, table, ept_index(gpa, l), a);
		if (!table)
			return -ENOMEM;
	}
	if (table[ept_index(gpa, level)] & EPT_RWX)
		return -EINVAL; /* slots overlap: gmem forbids it, so this is a bug */
	table[ept_index(gpa, level)] = (hpa & EPT_ADDR) | EPT_LEAF_FLAGS;
	if (level == 3)
		ept->nr_1g++;
	else
		ept->nr_2m++;
	return 0;
}

/* Is the gigabyte of slot s at offset off one host-contiguous, 1 GiB-aligned run? */
static bool is_1g_run(const struct gmem_slot *s, u64 off)
{
	u64 first = off / GMEM_CHUNK_SIZE, n = SIZE_1G / GMEM_CHUNK_SIZE;
	hpa_t base = s->chunks[first].hpa;

	if (!IS_ALIGNED(s->base + off, SIZE_1G) || off + SIZE_1G > s->size ||
	    !IS_ALIGNED(base, SIZE_1G))
		return false;
	for (u64 i = 1; i < n; i++)
		if (s->chunks[first + i].hpa != base + i * GMEM_CHUNK_SIZE)
			return false;
	return true;
}

static int ept_map_slot(struct vmx_ept *ept, const struct gmem_slot *s, bool use_1g,
			const struct vmx_page_alloc *a)
{
	_Static_assert(GMEM_CHUNK_SIZE == SIZE_2M, "guest chunks are EPT 2 MiB pages");
	u64 off = 0;
	int err;

	while (off < s->size) {
		const struct gmem_chunk *c = &s->chunks[off / GMEM_CHUNK_SIZE];

		if (use_1g && is_1g_run(s, off)) {
			err = ept_map(ept, s->base + off, c->hpa, 3, a);
			off += SIZE_1G;
		} else {
			if (!IS_ALIGNED(c->hpa, SIZE_2M))
				return -EINVAL;
			err = ept_map(ept, s->base + off, c->hpa, 2, a);
			off += SIZE_2M;
		}
		if (err)
			return err;
	}
	return 0;
}

int vmx_ept_build(struct vmx_ept *ept, const struct gmem *mem, bool use_1g,
		  const struct vmx_page_alloc *a)
{
	void *va;
	int err;

	memset(ept, 0, sizeof(*ept));
	if (a->alloc(a->ctx, &ept->root_pa, &va))
		return -ENOMEM;
	ept->root = va;
	ept->nr_tables = 1;
	for (u32 i = 0; i < mem->nr_slots; i++) {
		const struct gmem_slot *s = &mem->slots[i];

		if (!IS_ALIGNED(s->base, SIZE_2M) || !IS_ALIGNED(s->size, SIZE_2M) ||
		    s->base + s->size > (1ULL << 48) || s->base + s->size < s->base) {
			err = -EINVAL;
			goto err_free;
		}
		err = ept_map_slot(ept, s, use_1g, a);
		if (err)
			goto err_free;
	}
	return 0;

err_free:
	vmx_ept_free(ept, a);
	return err;
}

/* Free the tables below `table` at `level` (leaves are guest RAM: not ours). */
static void ept_free_level(u64 *table, int level, const struct vmx_page_alloc *a)
{
	for (unsigned i = 0; i < EPT_ENTRIES; i++) {
		u64 e = table[i];

		if (!(e & EPT_RWX) || (e & EPT_LARGE) || level == 1)
			continue;
		ept_free_level(a->pa_to_va(a->ctx, e & EPT_ADDR), level - 1, a);
		a->free(a->ctx, e & EPT_ADDR);
	}
}

void vmx_ept_free(struct vmx_ept *ept, const struct vmx_page_alloc *a)
{
	if (!ept->root)
		return;
	ept_free_level(ept->root, EPT_LEVELS, a);
	a->free(a->ctx, ept->root_pa);
	memset(ept, 0, sizeof(*ept));
}

hpa_t vmx_ept_translate(const struct vmx_ept *ept, gpa_t gpa, int *level,
			const struct vmx_page_alloc *a)
{
	const u64 *table = ept->root;

	for (int l = EPT_LEVELS; l >= 1 && table; l--) {
		u64 e = table[ept_index(gpa, l)];
		u64 span = 1ULL << EPT_LEVEL_SHIFT(l);

		if (!(e & EPT_RWX))
			return 0;
		if ((e & EPT_LARGE) || l == 1) {
			if (level)
				*level = l;
			return (e & EPT_ADDR & ~(span - 1)) | (gpa & (span - 1));
		}
		table = a->pa_to_va(a->ctx, e & EPT_ADDR);
	}
	return 0;
}

u64 vmx_eptp(const struct vmx_ept *ept)
{
	return (ept->root_pa & EPT_ADDR) | EPTP_MEM_TYPE_WB |
	       ((u64)(EPT_LEVELS - 1) << EPTP_WALK_LENGTH_SHIFT);
}
