/* Sorted, merged sets of physical ranges: union and difference on a fixed array. */
#include "mm/range.h"
#include "lib/string.h"

static void remove_at(struct range_set *s, u32 i, u32 n)
{
	memmove(&s->r[i], &s->r[i + n], (s->nr - i - n) * sizeof(s->r[0]));
	s->nr -= n;
}

static int insert_at(struct range_set *s, u32 i, u64 start, u64 end)
{
	if (s->nr >= s->cap)
		return -ENOSPC;
	memmove(&s->r[i + 1], &s->r[i], (s->nr - i) * sizeof(s->r[0]));
	s->r[i].start = start;
	s->r[i].end = end;
	s->nr++;
	return 0;
}

int range_set_add(struct range_set *s, u64 start, u64 end)
{
	u32 i = 0, j;

	if (start >= end)
		return 0;
	/* First range that ends at or after start: it may touch or overlap. */
	while (i < s->nr && s->r[i].end < start)
		i++;
	j = i;
	while (j < s->nr && s->r[j].start <= end) {
		start = MIN(start, s->r[j].start);
		end = MAX(end, s->r[j].end);
		j++;
	}
	if (j == i)
		return insert_at(s, i, start, end);
	s->r[i].start = start;
	s->r[i].end = end;
	remove_at(s, i + 1, j - i - 1);
	return 0;
}

int range_set_remove(struct range_set *s, u64 start, u64 end)
{
	u32 i = 0;

	if (start >= end)
		return 0;
	while (i < s->nr && s->r[i].end <= start)
		i++;
	while (i < s->nr && s->r[i].start < end) {
		struct range *r = &s->r[i];

		if (r->start < start && r->end > end) {
			/* Split: keep [r->start, start) and [end, r->end). */
			u64 old_end = r->end;

			r->end = start;
			return insert_at(s, i + 1, end, old_end);
		}
		if (r->start < start) {
			r->end = start;
			i++;
		} else if (r->end > end) {
			r->start = end;
			return 0;
		} else {
			remove_at(s, i, 1);
		}
	}
	return 0;
}

u64 range_set_total(const struct range_set *s)
{
	u64 t = 0;

	for (u32 i = 0; i < s->nr; i++)
		t += s->r[i].end - s->r[i].start;
	return t;
}
