/* Shadow MMU pages: the (gfn, role) hash, reverse map, linking, zapping, LRU reclaim. */
#include "hv/mmu/shadow_internal.h"
#include "lib/string.h"
#include "kernel/log.h"

#define PTE_LIST_IS_DESC 1ULL
#define RECLAIM_BATCH 8 /* pages reclaimed at once when the budget is reached */

/* ---- entry lists (reverse map, parents) ---------------------------------------- */

static struct pte_desc *desc_of(u64 head) { return (struct pte_desc *)(uintptr_t)(head & ~PTE_LIST_IS_DESC); }

int pte_list_add(struct shadow_mmu *m, struct pte_list *l, u64 *sptep)
{
	struct pte_desc *d;

	if (!l->head) {
		l->head = (u64)(uintptr_t)sptep;
	} else if (!(l->head & PTE_LIST_IS_DESC)) {
		d = m->ops->zalloc(m->ctx, sizeof(*d));
		if (!d)
			return -ENOMEM;
		d->sptes[0] = (u64 *)(uintptr_t)l->head;
		d->sptes[1] = sptep;
		d->n = 2;
		l->head = (u64)(uintptr_t)d | PTE_LIST_IS_DESC;
	} else if ((d = desc_of(l->head))->n < PTE_DESC_N) {
		d->sptes[d->n++] = sptep;
	} else {
		struct pte_desc *nd = m->ops->zalloc(m->ctx, sizeof(*nd));

		if (!nd)
			return -ENOMEM;
		nd->sptes[0] = sptep;
		nd->n = 1;
		nd->next = d;
		l->head = (u64)(uintptr_t)nd | PTE_LIST_IS_DESC;
	}
	l->count++;
	if (l->count > m->stats.rmap_max)
		m->stats.rmap_max = l->count;
	return 0;
}

/* Remove by moving the first descriptor's last pointer into the hole. */
void pte_list_remove(struct shadow_mmu *m, struct pte_list *l, u64 *sptep)
{
	struct pte_desc *first, *d;

	if (!(l->head & PTE_LIST_IS_DESC)) {
		if (l->head == (u64)(uintptr_t)sptep) {
			l->head = 0;
			l->count = 0;
			return;
		}
		pr_err("shadow: entry %p missing from its list (single)\n", (void *)sptep);
		return;
	}
	first = desc_of(l->head);
	for (d = first; d; d = d->next) {
		for (u32 i = 0; i < d->n; i++) {
			if (d->sptes[i] != sptep)
				continue;
			d->sptes[i] = first->sptes[--first->n];
			first->sptes[first->n] = NULL;
			l->count--;
			if (!first->n) {
				l->head = first->next ? (u64)(uintptr_t)first->next | PTE_LIST_IS_DESC : 0;
				m->ops->free(m->ctx, first);
			}
			if (l->count == 1 && (l->head & PTE_LIST_IS_DESC)) {
				struct pte_desc *last = desc_of(l->head);

				l->head = (u64)(uintptr_t)last->sptes[0];
				m->ops->free(m->ctx, last);
			}
			return;
		}
	}
	pr_err("shadow: entry %p missing from its list\n", (void *)sptep);
}

void pte_list_each(const struct pte_list *l, void (*fn)(u64 *sptep, void *arg), void *arg)
{
	if (!l->head)
		return;
	if (!(l->head & PTE_LIST_IS_DESC)) {
		fn((u64 *)(uintptr_t)l->head, arg);
		return;
	}
	for (struct pte_desc *d = desc_of(l->head); d; d = d->next)
		for (u32 i = 0; i < d->n; i++)
			fn(d->sptes[i], arg);
}

bool pte_list_contains(const struct pte_list *l, const u64 *sptep)
{
	if (!l->head)
		return false;
	if (!(l->head & PTE_LIST_IS_DESC))
		return l->head == (u64)(uintptr_t)sptep;
	for (struct pte_desc *d = desc_of(l->head); d; d = d->next)
		for (u32 i = 0; i < d->n; i++)
			if (d->sptes[i] == sptep)
				return true;
	return false;
}

/* The first entry of a non-empty list (for draining it). */
static u64 *pte_list_first(const struct pte_list *l)
{
	if (!(l->head & PTE_LIST_IS_DESC))
		return (u64 *)(uintptr_t)l->head;
	return desc_of(l->head)->sptes[0];
}

/* ---- guest frames ----------------------------------------------------------------- */

struct shadow_gfn *shadow_gfn_meta(struct shadow_mmu *m, gfn_t gfn)
{
	gpa_t gpa = gfn << 12;

	for (u32 i = 0; i < m->mem->nr_slots; i++) {
		const struct gmem_slot *s = &m->mem->slots[i];

		if (gpa >= s->base && gpa - s->base < s->size)
			return &m->gfns[i][(gpa - s->base) >> 12];
	}
	return NULL;
}

hpa_t shadow_gfn_hpa(struct shadow_mmu *m, gfn_t gfn)
{
	gpa_t gpa = gfn << 12;
	hpa_t chunk = gmem_chunk_hpa(m->mem, gpa);

	return chunk ? chunk + (gpa & (GMEM_CHUNK_SIZE - 1)) : 0;
}

bool shadow_gfn_is_protected(struct shadow_mmu *m, gfn_t gfn)
{
	struct shadow_gfn *g = shadow_gfn_meta(m, gfn);

	return g && g->protect;
}

static void write_protect_one(u64 *sptep, void *arg)
{
	bool *flush = arg;

	if (__atomic_load_n(sptep, __ATOMIC_RELAXED) & GPTE_W) {
		__atomic_fetch_and(sptep, ~(u64)GPTE_W, __ATOMIC_RELAXED);
		*flush = true;
	}
}

/* A guest frame becomes a shadowed table: no writable mapping of it may remain. */
static void protect_gfn(struct shadow_mmu *m, gfn_t gfn)
{
	struct shadow_gfn *g = shadow_gfn_meta(m, gfn);
	bool flush = false;

	if (!g || g->protect++)
		return;
	pte_list_each(&g->rmap, write_protect_one, &flush);
	if (flush)
		m->need_flush = true;
}

static void unprotect_gfn(struct shadow_mmu *m, gfn_t gfn)
{
	struct shadow_gfn *g = shadow_gfn_meta(m, gfn);

	if (g && g->protect)
		g->protect--;
}

/* ---- the hash ---------------------------------------------------------------------- */

static u32 hash_of(u64 key) { return (u32)((key * 0x9e3779b97f4a7c15ULL) >> (64 - SHADOW_HASH_BITS)); }

struct list_node *sp_bucket(struct shadow_mmu *m, gfn_t gfn) { return &m->hash[hash_of(gfn)]; }

struct shadow_page *sp_lookup(struct shadow_mmu *m, gfn_t gfn, u32 role)
{
	struct list_node *n;

	list_for_each(n, &m->hash[hash_of(gfn)]) {
		struct shadow_page *sp = list_entry(n, struct shadow_page, hash_link);

		if (sp->gfn == gfn && sp->role == role)
			return sp;
	}
	return NULL;
}

struct shadow_page *sp_from_hpa(struct shadow_mmu *m, hpa_t hpa)
{
	struct list_node *n;

	list_for_each(n, &m->by_hpa[hash_of(hpa >> 12)]) {
		struct shadow_page *sp = list_entry(n, struct shadow_page, hpa_link);

		if (sp->hpa == hpa)
			return sp;
	}
	return NULL;
}

void sp_touch(struct shadow_mmu *m, struct shadow_page *sp)
{
	sp->pin = m->op_seq;
	if (m->lru.next != &sp->lru_link) {
		list_del(&sp->lru_link);
		list_add_head(&m->lru, &sp->lru_link);
	}
}

static struct shadow_page *sp_alloc(struct shadow_mmu *m, gfn_t gfn, u32 role)
{
	struct shadow_page *sp = m->ops->zalloc(m->ctx, sizeof(*sp));

	if (!sp)
		return NULL;
	if (role_level(role) == 1 && !(role & ROLE_DIRECT)) {
		sp->gfns = m->ops->zalloc(m->ctx, SPTES_PER_PAGE * sizeof(u32));
		if (!sp->gfns)
			goto err_sp;
	}
	if (m->ops->alloc_page(m->ctx, false, &sp->hpa, &sp->spt))
		goto err_gfns;
	sp->gfn = gfn;
	sp->role = role;
	list_add_head(&m->hash[hash_of(gfn)], &sp->hash_link);
	list_add_head(&m->by_hpa[hash_of(sp->hpa >> 12)], &sp->hpa_link);
	list_add_head(&m->lru, &sp->lru_link);
	m->nr_pages++;
	if (m->nr_pages > m->stats.pages_peak)
		m->stats.pages_peak = m->nr_pages;
	return sp;
err_gfns:
	m->ops->free(m->ctx, sp->gfns);
err_sp:
	m->ops->free(m->ctx, sp);
	return NULL;
}

struct shadow_page *sp_get(struct shadow_mmu *m, gfn_t gfn, u32 role, bool *created)
{
	struct shadow_page *sp = sp_lookup(m, gfn, role);

	*created = false;
	if (sp) {
		sp_touch(m, sp);
		return sp;
	}
	if (m->nr_pages >= m->cfg.budget)
		shadow_reclaim(m, RECLAIM_BATCH);
	sp = sp_alloc(m, gfn, role);
	if (!sp && shadow_reclaim(m, RECLAIM_BATCH))
		sp = sp_alloc(m, gfn, role);
	if (!sp)
		return NULL;
	*created = true;
	sp->pin = m->op_seq;
	if (!(role & ROLE_DIRECT))
		protect_gfn(m, gfn);
	return sp;
}

/* ---- entries --------------------------------------------------------------------------- */

gfn_t sp_leaf_gfn(const struct shadow_page *sp, u32 idx)
{
	return (sp->role & ROLE_DIRECT) ? sp->gfn + idx : sp->gfns[idx];
}

bool spte_link(struct shadow_mmu *m, u64 *sptep, struct shadow_page *child, u64 flags, bool *changed)
{
	u64 old = *sptep, new = child->hpa | flags;

	if ((old & ~GPTE_A) == (new & ~GPTE_A))
		return true;
	if (pte_list_add(m, &child->parents, sptep))
		return false;
	if (old & GPTE_P)
		spte_unlink(m, sptep);
	__atomic_store_n(sptep, new, __ATOMIC_RELEASE);
	*changed = true;
	return true;
}

void spte_unlink(struct shadow_mmu *m, u64 *sptep)
{
	u64 old = *sptep;
	struct shadow_page *child;

	if (!(old & GPTE_P))
		return;
	__atomic_store_n(sptep, 0, __ATOMIC_RELEASE);
	child = sp_from_hpa(m, old & SPTE_ADDR);
	if (child)
		pte_list_remove(m, &child->parents, sptep);
	else
		pr_err("shadow: entry %p points at %#llx, not a shadow page\n", (void *)sptep,
		       (unsigned long long)old);
}

bool spte_set_leaf(struct shadow_mmu *m, struct shadow_page *sp, u32 idx, u64 new, gfn_t gfn,
		   bool *changed)
{
	u64 *sptep = &sp->spt[idx], old = *sptep;
	struct shadow_gfn *g;

	if ((old & ~(GPTE_A | GPTE_D)) == (new & ~(GPTE_A | GPTE_D)))
		return true;
	*changed = true;
	if ((old & GPTE_P) && (!(new & GPTE_P) || sp_leaf_gfn(sp, idx) != gfn)) {
		g = shadow_gfn_meta(m, sp_leaf_gfn(sp, idx));
		if (g)
			pte_list_remove(m, &g->rmap, sptep);
		old = 0;
	}
	if ((new & GPTE_P) && !(old & GPTE_P)) {
		g = shadow_gfn_meta(m, gfn);
		if (!g || pte_list_add(m, &g->rmap, sptep)) {
			__atomic_store_n(sptep, 0, __ATOMIC_RELEASE);
			return false;
		}
		if (sp->gfns)
			sp->gfns[idx] = (u32)gfn;
	}
	__atomic_store_n(sptep, new, __ATOMIC_RELEASE);
	return true;
}

/* ---- zapping ---------------------------------------------------------------------------- */

static void sp_clear_entries(struct shadow_mmu *m, struct shadow_page *sp)
{
	for (u32 i = 0; i < SPTES_PER_PAGE; i++) {
		u64 e = sp->spt[i];
		bool changed;

		if (!(e & GPTE_P))
			continue;
		if (role_level(sp->role) == 1)
			spte_set_leaf(m, sp, i, 0, 0, &changed);
		else
			spte_unlink(m, &sp->spt[i]);
	}
}

/* vCPUs whose root holds sp must rebuild it before they run again. */
static void mark_root_users(struct shadow_mmu *m, struct shadow_page *sp)
{
	struct list_node *n;

	list_for_each(n, &m->cpus) {
		struct shadow_cpu *c = list_entry(n, struct shadow_cpu, link);
		bool uses = c->root == sp;

		for (int q = 0; q < 4; q++)
			uses = uses || c->pd[q] == sp;
		if (uses)
			WRITE_ONCE(c->reload, true);
	}
}

/*
 * Drop a shadow page: its entries, the entries pointing at it, its hash and
 * protection. It is freed at the next commit (after the remote flush), or when
 * its last root user lets go.
 */
void sp_zap(struct shadow_mmu *m, struct shadow_page *sp)
{
	if (sp->invalid)
		return;
	sp_clear_entries(m, sp);
	while (sp->parents.head)
		spte_unlink(m, pte_list_first(&sp->parents));
	list_del(&sp->hash_link);
	list_del(&sp->hpa_link);
	list_del(&sp->lru_link);
	if (!(sp->role & ROLE_DIRECT))
		unprotect_gfn(m, sp->gfn);
	sp->invalid = true;
	m->stats.zaps++;
	m->need_flush = true;
	if (sp->root_count) {
		mark_root_users(m, sp);
		list_add_head(&m->dead_roots, &sp->lru_link);
	} else {
		list_add_head(&m->doomed, &sp->lru_link);
	}
}

static void sp_free(struct shadow_mmu *m, struct shadow_page *sp)
{
	list_del(&sp->lru_link);
	m->ops->free_page(m->ctx, sp->hpa, sp->spt);
	m->ops->free(m->ctx, sp->gfns);
	m->ops->free(m->ctx, sp);
	m->nr_pages--;
}

void sp_put_root(struct shadow_mmu *m, struct shadow_page *sp)
{
	if (--sp->root_count || !sp->invalid)
		return;
	/* No vCPU loads it any more; the zap already flushed every TLB that cached it. */
	list_del(&sp->lru_link);
	list_add_head(&m->doomed, &sp->lru_link);
}

void shadow_zap_all_locked(struct shadow_mmu *m)
{
	while (!list_empty(&m->lru))
		sp_zap(m, list_entry(m->lru.prev, struct shadow_page, lru_link));
}

void shadow_commit(struct shadow_mmu *m)
{
	if (m->need_flush) {
		__atomic_fetch_add(&m->flush_gen, 1, __ATOMIC_SEQ_CST);
		m->ops->remote_flush(m->ctx);
		m->stats.remote_flushes++;
		m->need_flush = false;
	}
	while (!list_empty(&m->doomed))
		sp_free(m, list_entry(m->doomed.next, struct shadow_page, lru_link));
	m->stats.pages_in_use = m->nr_pages;
}

/* ---- reclaim ----------------------------------------------------------------------------- */

static void test_and_clear_accessed(u64 *sptep, void *arg)
{
	bool *used = arg;

	if (__atomic_load_n(sptep, __ATOMIC_RELAXED) & GPTE_A) {
		__atomic_fetch_and(sptep, ~(u64)GPTE_A, __ATOMIC_RELAXED);
		*used = true;
	}
}

bool sp_recently_used(struct shadow_page *sp)
{
	bool used = false;

	pte_list_each(&sp->parents, test_and_clear_accessed, &used);
	return used;
}

/*
 * Second chance from the tail of the LRU list: a page in use as a root, held
 * by the running operation, or walked by hardware since the last pass moves
 * to the head; the others are zapped.
 */
u32 shadow_reclaim(struct shadow_mmu *m, u32 want)
{
	u32 done = 0, visits = 2 * m->nr_pages + 2;

	while (done < want && visits-- && !list_empty(&m->lru)) {
		struct shadow_page *sp = list_entry(m->lru.prev, struct shadow_page, lru_link);

		if (sp->root_count || sp->pin == m->op_seq || sp_recently_used(sp)) {
			list_del(&sp->lru_link);
			list_add_head(&m->lru, &sp->lru_link);
			continue;
		}
		sp_zap(m, sp);
		m->stats.reclaims++;
		done++;
	}
	return done;
}
