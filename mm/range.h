/* Sets of physical address ranges kept sorted and merged (boot-time memory planning). */
#ifndef HV_MM_RANGE_H
#define HV_MM_RANGE_H

#include "lib/types.h"

struct range {
	u64 start, end; /* [start, end) */
};

/* A caller-provided array of `cap` ranges, sorted, disjoint and not touching. */
struct range_set {
	struct range *r;
	u32 nr, cap;
};

static inline void range_set_init(struct range_set *s, struct range *buf, u32 cap)
{
	s->r = buf;
	s->nr = 0;
	s->cap = cap;
}

/* Add [start, end), merging with overlapping or touching ranges. 0 or -ENOSPC. */
int range_set_add(struct range_set *s, u64 start, u64 end);
/* Remove [start, end) (may split a range in two). 0 or -ENOSPC. */
int range_set_remove(struct range_set *s, u64 start, u64 end);
/* Total length of all ranges. */
u64 range_set_total(const struct range_set *s);

#endif
