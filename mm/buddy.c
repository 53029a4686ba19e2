/* Buddy allocator core: split and merge naturally aligned blocks within one zone. */
#include "mm/buddy.h"
#include "lib/string.h"

static u32 zone_index(const struct buddy_zone *z, u64 pfn) { return (u32)(pfn - z->base_pfn); }

static void list_push(struct buddy_zone *z, u32 idx, unsigned order)
{
	struct buddy_frame *f = &z->frames[idx];
	u32 head = z->free_head[order];

	f->state = BUDDY_FREE;
	f->order = (u8)order;
	f->tag = 0;
	f->link.prev = BUDDY_NIL;
	f->link.next = head;
	if (head != BUDDY_NIL)
		z->frames[head].link.prev = idx;
	z->free_head[order] = idx;
	z->nr_free_blocks[order]++;
	z->nr_free += 1ULL << order;
}

static void list_remove(struct buddy_zone *z, u32 idx)
{
	struct buddy_frame *f = &z->frames[idx];
	unsigned order = f->order;

	if (f->link.prev != BUDDY_NIL)
		z->frames[f->link.prev].link.next = f->link.next;
	else
		z->free_head[order] = f->link.next;
	if (f->link.next != BUDDY_NIL)
		z->frames[f->link.next].link.prev = f->link.prev;
	f->state = BUDDY_NONE;
	z->nr_free_blocks[order]--;
	z->nr_free -= 1ULL << order;
}

void buddy_zone_init(struct buddy_zone *z, u64 base_pfn, u64 nr_frames, struct buddy_frame *meta)
{
	z->base_pfn = base_pfn;
	z->nr_frames = nr_frames;
	z->frames = meta;
	z->nr_free = 0;
	for (unsigned o = 0; o <= FRAME_MAX_ORDER; o++) {
		z->free_head[o] = BUDDY_NIL;
		z->nr_free_blocks[o] = 0;
	}
	memset(meta, 0, nr_frames * sizeof(*meta));
}

/* Insert the block at pfn into the free lists, merging with free buddies. */
static void free_and_merge(struct buddy_zone *z, u64 pfn, unsigned order)
{
	while (order < FRAME_MAX_ORDER) {
		u64 buddy = pfn ^ (1ULL << order);
		struct buddy_frame *b;

		if (!buddy_zone_contains(z, buddy))
			break;
		b = buddy_frame_of(z, buddy);
		if (b->state != BUDDY_FREE || b->order != order)
			break;
		list_remove(z, zone_index(z, buddy));
		buddy_frame_of(z, pfn)->state = BUDDY_NONE;
		pfn = MIN(pfn, buddy);
		order++;
	}
	list_push(z, zone_index(z, pfn), order);
}

u64 buddy_zone_add(struct buddy_zone *z, u64 pfn, u64 count)
{
	u64 end = pfn + count, added = 0;

	if (pfn < z->base_pfn || end > z->base_pfn + z->nr_frames || end < pfn)
		return 0;
	while (pfn < end) {
		unsigned order = 0;

		while (order < FRAME_MAX_ORDER && !(pfn & (1ULL << order)) &&
		       pfn + (2ULL << order) <= end)
			order++;
		free_and_merge(z, pfn, order);
		pfn += 1ULL << order;
		added += 1ULL << order;
	}
	return added;
}

/* First block on the order's free list that ends at or below limit_pfn, or BUDDY_NIL. */
static u32 find_block(const struct buddy_zone *z, unsigned order, u64 limit_pfn)
{
	u32 idx = z->free_head[order];

	while (idx != BUDDY_NIL && z->base_pfn + idx + (1ULL << order) > limit_pfn)
		idx = z->frames[idx].link.next;
	return idx;
}

int buddy_alloc(struct buddy_zone *z, unsigned order, u64 limit_pfn, u64 *pfn)
{
	unsigned k;
	u32 idx = BUDDY_NIL;

	if (order > FRAME_MAX_ORDER)
		return -ENOMEM;
	for (k = order; k <= FRAME_MAX_ORDER; k++) {
		idx = find_block(z, k, limit_pfn);
		if (idx != BUDDY_NIL)
			break;
	}
	if (idx == BUDDY_NIL)
		return -ENOMEM;
	list_remove(z, idx);
	/* Keep the lower half, give back the upper halves. */
	while (k > order) {
		k--;
		list_push(z, idx + (1U << k), k);
	}
	z->frames[idx].state = BUDDY_ALLOC;
	z->frames[idx].order = (u8)order;
	z->frames[idx].tag = 0;
	z->frames[idx].priv = 0;
	*pfn = z->base_pfn + idx;
	return 0;
}

int buddy_free(struct buddy_zone *z, u64 pfn, unsigned order, const char **why)
{
	struct buddy_frame *f;

	if (order > FRAME_MAX_ORDER || (pfn & ((1ULL << order) - 1))) {
		*why = "bad order or misaligned block";
		return -EINVAL;
	}
	if (!buddy_zone_contains(z, pfn)) {
		*why = "frame not managed by this zone";
		return -EINVAL;
	}
	f = buddy_frame_of(z, pfn);
	if (f->state == BUDDY_FREE) {
		*why = "double free: block is already free";
		return -EINVAL;
	}
	if (f->state != BUDDY_ALLOC) {
		*why = "not the start of an allocated block (inside a block, or reserved)";
		return -EINVAL;
	}
	if (f->order != order) {
		*why = "order differs from the order allocated";
		return -EINVAL;
	}
	f->state = BUDDY_NONE;
	free_and_merge(z, pfn, order);
	return 0;
}

/* Walk one free list: links, states, alignment, bounds. Counts frames into *frames. */
static int verify_list(const struct buddy_zone *z, unsigned o, u64 *frames, const char **why)
{
	u32 prev = BUDDY_NIL;
	u64 n = 0;

	for (u32 idx = z->free_head[o]; idx != BUDDY_NIL; idx = z->frames[idx].link.next) {
		const struct buddy_frame *f;
		u64 pfn = z->base_pfn + idx;

		if (idx >= z->nr_frames || n > z->nr_frames) {
			*why = "free-list index out of range or cycle";
			return -EINVAL;
		}
		f = &z->frames[idx];
		if (f->state != BUDDY_FREE || f->order != o || f->link.prev != prev) {
			*why = "free-list entry with wrong state, order or back link";
			return -EINVAL;
		}
		if ((pfn & ((1ULL << o) - 1)) || idx + (1ULL << o) > z->nr_frames) {
			*why = "free block misaligned or past the zone end";
			return -EINVAL;
		}
		prev = idx;
		n++;
	}
	if (n != z->nr_free_blocks[o]) {
		*why = "free block count differs from the free list";
		return -EINVAL;
	}
	*frames += n << o;
	return 0;
}

int buddy_zone_verify(const struct buddy_zone *z, const char **why)
{
	u64 listed = 0, walked = 0;

	for (unsigned o = 0; o <= FRAME_MAX_ORDER; o++)
		if (verify_list(z, o, &listed, why))
			return -EINVAL;
	if (listed != z->nr_free) {
		*why = "free frame count differs from the free lists";
		return -EINVAL;
	}
	/* No block head may lie inside a free block. */
	for (u64 i = 0; i < z->nr_frames;) {
		const struct buddy_frame *f = &z->frames[i];

		if (f->state != BUDDY_FREE) {
			i++;
			continue;
		}
		for (u64 j = 1; j < (1ULL << f->order); j++)
			if (z->frames[i + j].state != BUDDY_NONE) {
				*why = "a block starts inside a free block";
				return -EINVAL;
			}
		walked += 1ULL << f->order;
		i += 1ULL << f->order;
	}
	if (walked != listed) {
		*why = "free blocks in metadata differ from the free lists";
		return -EINVAL;
	}
	return 0;
}
