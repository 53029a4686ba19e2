/* Intrusive doubly-linked circular lists. */
#ifndef HV_LIB_LIST_H
#define HV_LIB_LIST_H

#include "lib/types.h"

struct list_node {
	struct list_node *next, *prev;
};

#define LIST_INIT(name) { &(name), &(name) }

static inline void list_init(struct list_node *h) { h->next = h->prev = h; }
static inline bool list_empty(const struct list_node *h) { return h->next == h; }

static inline void list_insert_between(struct list_node *n, struct list_node *prev,
				       struct list_node *next)
{
	n->prev = prev;
	n->next = next;
	prev->next = n;
	next->prev = n;
}

static inline void list_add_head(struct list_node *h, struct list_node *n) { list_insert_between(n, h, h->next); }
static inline void list_add_tail(struct list_node *h, struct list_node *n) { list_insert_between(n, h->prev, h); }

static inline void list_del(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

static inline bool list_is_linked(const struct list_node *n) { return n->next != n; }

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(h, type, member) list_entry((h)->next, type, member)
#define list_for_each(pos, h) for (pos = (h)->next; pos != (h); pos = pos->next)
#define list_for_each_safe(pos, tmp, h) \
	for (pos = (h)->next, tmp = pos->next; pos != (h); pos = tmp, tmp = pos->next)

static inline size_t list_length(const struct list_node *h)
{
	size_t n = 0;
	for (const struct list_node *p = h->next; p != h; p = p->next)
		n++;
	return n;
}

#endif
