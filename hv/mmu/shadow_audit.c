/* Shadow MMU audit: every shadow entry checked against the guest tables and the bookkeeping. */
#include "hv/mmu/shadow_internal.h"
#include "lib/printf.h"
#include "lib/string.h"

#define PSE_LARGE_ADDR 0xffc00000ULL
#define TABLE32_ADDR 0xfffff000ULL
#define SPTE_IGNORE (GPTE_A | GPTE_D) /* hardware sets these in shadow entries */

struct audit {
	struct shadow_mmu *m;
	void (*say)(void *ctx, const char *line);
	void *ctx;
	u32 problems, max;
	u64 leaves;            /* present leaf entries seen */
	u64 tables;            /* valid shadow pages that shadow a guest table */
};

static void problem(struct audit *a, const char *fmt, ...) __printf(2, 3);
static void problem(struct audit *a, const char *fmt, ...)
{
	char line[200];
	va_list ap;

	if (a->problems++ >= a->max || !a->say)
		return;
	va_start(ap, fmt);
	kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	a->say(a->ctx, line);
}

static u32 audit_guest_index(const struct shadow_page *sp, u32 idx)
{
	if (role_mode(sp->role) != SHADOW_MODE_32BIT)
		return idx;
	if (role_level(sp->role) == 1)
		return role_quadrant(sp->role) * 512 + idx;
	return role_quadrant(sp->role) * 256 + idx / 2;
}

static bool audit_is_large(u32 role, u32 level, u64 g)
{
	if (!(g & GPTE_PS) || level == 1)
		return false;
	if (role_mode(role) == SHADOW_MODE_32BIT)
		return level == 2 && (role & ROLE_PSE);
	return level == 2 || (level == 3 && role_mode(role) == SHADOW_MODE_LONG);
}

/* The page (gfn, role) and flags a table entry idx of sp must point to, from the guest. */
static bool expected_child(struct audit *a, struct shadow_page *sp, u32 idx, gfn_t *gfn, u32 *role,
			   u64 *flags)
{
	u32 level = role_level(sp->role);
	bool is32 = role_mode(sp->role) == SHADOW_MODE_32BIT;
	u64 g;

	*role = (sp->role & (ROLE_MODE | ROLE_NXE | ROLE_PSE)) | (level - 1);
	if (sp->role & ROLE_DIRECT) {
		*gfn = sp->gfn + idx * level_pages(level);
		*role |= sp->role & (ROLE_DIRECT | ROLE_WRITABLE);
		*flags = SPTE_DIRECT_TABLE;
		return true;
	}
	if (!sp_read_guest(a->m, sp, audit_guest_index(sp, idx), &g) ||
	    (g & (GPTE_P | GPTE_A)) != (GPTE_P | GPTE_A))
		return false;
	*flags = GPTE_P | GPTE_A | (g & (GPTE_W | GPTE_U)) | ((sp->role & ROLE_NXE) ? g & GPTE_NX : 0);
	if (audit_is_large(sp->role, level, g)) {
		u64 pa = is32 ? (g & PSE_LARGE_ADDR) | (((g >> 13) & 0xff) << 32) : g & SPTE_ADDR;

		*gfn = (pa >> 12) & ~(level_pages(level) - 1);
		if (is32)
			*gfn = (pa >> 12) + (idx & 1) * level_pages(level);
		*role |= ROLE_DIRECT | ((g & GPTE_D) ? ROLE_WRITABLE : 0);
	} else {
		*gfn = (g & (is32 ? TABLE32_ADDR : SPTE_ADDR)) >> 12;
		if (is32 && level == 2)
			*role |= (idx & 1) << ROLE_QUADRANT_SHIFT;
	}
	return true;
}

static void audit_table_entry(struct audit *a, struct shadow_page *sp, u32 idx)
{
	u64 e = sp->spt[idx], flags;
	struct shadow_page *child = sp_from_hpa(a->m, e & SPTE_ADDR);
	gfn_t gfn;
	u32 role;

	if (!child || child->invalid) {
		problem(a, "page gfn %#llx role %#x entry %u: points at %#llx, no live shadow page",
			(unsigned long long)sp->gfn, sp->role, idx, (unsigned long long)e);
		return;
	}
	if (!pte_list_contains(&child->parents, &sp->spt[idx]))
		problem(a, "page gfn %#llx entry %u: missing from its child's parent list",
			(unsigned long long)sp->gfn, idx);
	if (!expected_child(a, sp, idx, &gfn, &role, &flags)) {
		problem(a, "page gfn %#llx role %#x entry %u: present, guest entry is not",
			(unsigned long long)sp->gfn, sp->role, idx);
		return;
	}
	if (child->gfn != gfn || child->role != role)
		problem(a, "page gfn %#llx entry %u: child (%#llx, %#x), guest says (%#llx, %#x)",
			(unsigned long long)sp->gfn, idx, (unsigned long long)child->gfn, child->role,
			(unsigned long long)gfn, role);
	if ((e & ~SPTE_ADDR & ~SPTE_IGNORE) != (flags & ~SPTE_IGNORE))
		problem(a, "page gfn %#llx entry %u: flags %#llx, guest says %#llx",
			(unsigned long long)sp->gfn, idx, (unsigned long long)(e & ~SPTE_ADDR),
			(unsigned long long)flags);
}

static void audit_leaf_entry(struct audit *a, struct shadow_page *sp, u32 idx)
{
	struct shadow_mmu *m = a->m;
	u64 e = sp->spt[idx], g = 0, want_u = GPTE_U, want_nx = 0;
	gfn_t gfn = sp_leaf_gfn(sp, idx);
	struct shadow_gfn *meta = shadow_gfn_meta(m, gfn);
	bool may_write = sp->role & ROLE_WRITABLE;

	a->leaves++;
	if (!meta || (e & SPTE_ADDR) != shadow_gfn_hpa(m, gfn)) {
		problem(a, "leaf gfn %#llx entry %u: maps %#llx, not guest frame %#llx",
			(unsigned long long)sp->gfn, idx, (unsigned long long)e, (unsigned long long)gfn);
		return;
	}
	if (!pte_list_contains(&meta->rmap, &sp->spt[idx]))
		problem(a, "leaf gfn %#llx entry %u: missing from the reverse map of %#llx",
			(unsigned long long)sp->gfn, idx, (unsigned long long)gfn);
	if ((e & GPTE_W) && meta->protect)
		problem(a, "leaf gfn %#llx entry %u: writable mapping of guest table frame %#llx",
			(unsigned long long)sp->gfn, idx, (unsigned long long)gfn);
	if (sp->role & ROLE_DIRECT) {
		if (gfn != sp->gfn + idx)
			problem(a, "direct leaf %#llx entry %u maps frame %#llx",
				(unsigned long long)sp->gfn, idx, (unsigned long long)gfn);
	} else {
		bool is32 = role_mode(sp->role) == SHADOW_MODE_32BIT;

		if (!sp_read_guest(m, sp, audit_guest_index(sp, idx), &g) ||
		    (g & (GPTE_P | GPTE_A)) != (GPTE_P | GPTE_A) ||
		    ((g & (is32 ? TABLE32_ADDR : SPTE_ADDR)) >> 12) != gfn) {
			problem(a, "leaf gfn %#llx entry %u: maps frame %#llx, guest entry %#llx",
				(unsigned long long)sp->gfn, idx, (unsigned long long)gfn,
				(unsigned long long)g);
			return;
		}
		may_write = (g & GPTE_W) && (g & GPTE_D);
		want_u = g & GPTE_U;
		want_nx = (sp->role & ROLE_NXE) ? g & GPTE_NX : 0;
	}
	if (((e & GPTE_W) && !may_write) || (e & GPTE_U) != want_u || (e & GPTE_NX) != want_nx)
		problem(a, "leaf gfn %#llx entry %u: flags %#llx do not follow the guest (%#llx)",
			(unsigned long long)sp->gfn, idx, (unsigned long long)(e & ~SPTE_ADDR),
			(unsigned long long)g);
}

static void check_parent(u64 *sptep, void *arg)
{
	struct shadow_page **sp = arg;

	if (!(*sptep & GPTE_P) || (*sptep & SPTE_ADDR) != (*sp)->hpa)
		*sp = NULL; /* reported by the caller */
}

static void audit_page(struct audit *a, struct shadow_page *sp)
{
	struct shadow_page *check = sp;

	if (sp->invalid || sp_lookup(a->m, sp->gfn, sp->role) != sp || sp_from_hpa(a->m, sp->hpa) != sp)
		problem(a, "page gfn %#llx role %#x: not findable in the hashes",
			(unsigned long long)sp->gfn, sp->role);
	if (!(sp->role & ROLE_DIRECT)) {
		a->tables++;
		if (!shadow_gfn_is_protected(a->m, sp->gfn) && shadow_gfn_meta(a->m, sp->gfn))
			problem(a, "guest table frame %#llx is shadowed but not write-protected",
				(unsigned long long)sp->gfn);
	}
	pte_list_each(&sp->parents, check_parent, &check);
	if (!check)
		problem(a, "page gfn %#llx role %#x: a parent entry does not point at it",
			(unsigned long long)sp->gfn, sp->role);
	for (u32 i = 0; i < SPTES_PER_PAGE; i++) {
		if (!(sp->spt[i] & GPTE_P))
			continue;
		if (role_level(sp->role) == 1)
			audit_leaf_entry(a, sp, i);
		else
			audit_table_entry(a, sp, i);
	}
}

/* Every reverse-map entry is a present leaf mapping its frame; counts match the pages'. */
static void audit_frames(struct audit *a)
{
	struct shadow_mmu *m = a->m;
	u64 rmaps = 0, protects = 0, protected_tables = 0;
	struct list_node *n;

	list_for_each(n, &m->lru) {
		struct shadow_page *sp = list_entry(n, struct shadow_page, lru_link);

		if (!(sp->role & ROLE_DIRECT) && shadow_gfn_meta(m, sp->gfn))
			protected_tables++;
	}
	for (u32 s = 0; s < m->mem->nr_slots; s++) {
		u64 frames = m->mem->slots[s].size >> 12;

		for (u64 i = 0; i < frames; i++) {
			struct shadow_gfn *g = &m->gfns[s][i];

			rmaps += g->rmap.count;
			protects += g->protect;
		}
	}
	if (rmaps != a->leaves)
		problem(a, "reverse maps hold %llu entries, %llu leaf entries are present",
			(unsigned long long)rmaps, (unsigned long long)a->leaves);
	if (protects != protected_tables)
		problem(a, "frames are protected %llu times for %llu shadowed guest tables",
			(unsigned long long)protects, (unsigned long long)protected_tables);
}

static void audit_cpus(struct audit *a)
{
	struct list_node *n;

	list_for_each(n, &a->m->cpus) {
		struct shadow_cpu *c = list_entry(n, struct shadow_cpu, link);

		if (c->reload)
			continue; /* rebuilt before it runs */
		if (c->mode == SHADOW_MODE_LONG && (!c->root || c->root->invalid))
			problem(a, "a vCPU in long mode has no live root");
		for (int q = 0; q < 4; q++) {
			u64 want = c->pd[q] ? c->pd[q]->hpa | SPTE_PDPT_FLAGS : 0;

			if ((c->pdpt[q] & ~SPTE_IGNORE) != want)
				problem(a, "PDPT slot %d holds %#llx, the vCPU's root says %#llx", q,
					(unsigned long long)c->pdpt[q], (unsigned long long)want);
		}
	}
}

u32 shadow_audit(struct shadow_mmu *m, void (*say)(void *ctx, const char *line), void *ctx,
		 u32 max_reports)
{
	struct audit a = { .m = m, .say = say, .ctx = ctx, .max = max_reports };
	u64 f = spin_lock_irqsave(&m->lock);
	u32 counted = 0;
	struct list_node *n;

	list_for_each(n, &m->lru) {
		audit_page(&a, list_entry(n, struct shadow_page, lru_link));
		counted++;
	}
	counted += (u32)list_length(&m->dead_roots);
	if (!list_empty(&m->doomed))
		problem(&a, "pages wait to be freed outside an operation");
	if (counted != m->nr_pages)
		problem(&a, "%u pages counted, %u pages on the lists", m->nr_pages, counted);
	audit_frames(&a);
	audit_cpus(&a);
	spin_unlock_irqrestore(&m->lock, f);
	return a.problems;
}
