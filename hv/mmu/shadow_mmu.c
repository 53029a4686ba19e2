/* Shadow MMU state: per VM and per vCPU, guest control registers, roots, VM entry. */
#include "hv/mmu/shadow_internal.h"
#include "lib/string.h"
#include "kernel/log.h"

#define CR0_PE BIT(0)
#define CR0_ET BIT(4)
#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define CR0_WP BIT(16)
#define CR0_PG BIT(31)
#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define CR4_PGE BIT(7)
#define CR4_SMEP BIT(20)
#define CR4_SMAP BIT(21)
#define EFER_SCE BIT(0)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)
#define EFER_WRITABLE (EFER_SCE | EFER_LME | EFER_NXE)
/* CR4 bits whose change flushes the TLB (SDM 4.10.4.1) or changes what entries mean. */
#define CR4_PAGING_BITS (CR4_PSE | CR4_PAE | CR4_PGE | CR4_SMEP | CR4_SMAP)

/* ---- per VM ---------------------------------------------------------------------- */

struct shadow_mmu *shadow_mmu_create(const struct gmem *mem, const struct shadow_config *cfg,
				     const struct shadow_ops *ops, void *ctx)
{
	struct shadow_mmu *m = ops->zalloc(ctx, sizeof(*m));

	if (!m)
		return NULL;
	spin_lock_init(&m->lock);
	m->ops = ops;
	m->ctx = ctx;
	m->mem = mem;
	m->cfg = *cfg;
	m->cfg.budget = MAX(cfg->budget, SHADOW_MIN_BUDGET);
	m->stats.budget = m->cfg.budget;
	for (u32 i = 0; i < SHADOW_HASH_SIZE; i++) {
		list_init(&m->hash[i]);
		list_init(&m->by_hpa[i]);
	}
	list_init(&m->lru);
	list_init(&m->doomed);
	list_init(&m->dead_roots);
	list_init(&m->cpus);
	for (u32 i = 0; i < mem->nr_slots; i++) {
		m->gfns[i] = ops->zalloc(ctx, (mem->slots[i].size >> 12) * sizeof(struct shadow_gfn));
		if (!m->gfns[i]) {
			shadow_mmu_destroy(m);
			return NULL;
		}
	}
	return m;
}

void shadow_mmu_destroy(struct shadow_mmu *m)
{
	if (!m)
		return;
	if (!list_empty(&m->cpus))
		pr_err("shadow: MMU destroyed with vCPUs still attached\n");
	shadow_zap_all_locked(m);
	while (!list_empty(&m->dead_roots)) {
		struct shadow_page *sp = list_entry(m->dead_roots.next, struct shadow_page, lru_link);

		sp->root_count = 1;
		sp_put_root(m, sp);
	}
	m->need_flush = false; /* no vCPU runs any more */
	shadow_commit(m);
	for (u32 i = 0; i < GMEM_MAX_SLOTS; i++)
		m->ops->free(m->ctx, m->gfns[i]);
	m->ops->free(m->ctx, m);
}

void shadow_mmu_zap_all(struct shadow_mmu *m)
{
	u64 f = spin_lock_irqsave(&m->lock);

	m->op_seq++;
	shadow_zap_all_locked(m);
	shadow_commit(m);
	spin_unlock_irqrestore(&m->lock, f);
}

void shadow_mmu_configure(struct shadow_mmu *m, u32 budget, bool cache)
{
	u64 f = spin_lock_irqsave(&m->lock);

	m->op_seq++;
	m->cfg.budget = MAX(budget, SHADOW_MIN_BUDGET);
	m->stats.budget = m->cfg.budget;
	m->cfg.cache = cache;
	if (m->nr_pages > m->cfg.budget)
		shadow_reclaim(m, m->nr_pages - m->cfg.budget);
	shadow_commit(m);
	spin_unlock_irqrestore(&m->lock, f);
}

bool shadow_mmu_cache_enabled(struct shadow_mmu *m) { return READ_ONCE(m->cfg.cache); }

void shadow_mmu_get_stats(struct shadow_mmu *m, struct shadow_stats *out)
{
	u64 f = spin_lock_irqsave(&m->lock);

	m->stats.pages_in_use = m->nr_pages;
	*out = m->stats;
	spin_unlock_irqrestore(&m->lock, f);
}

void shadow_unprotect(struct shadow_mmu *m, gfn_t gfn)
{
	u64 f = spin_lock_irqsave(&m->lock);
	struct list_node *n, *t;

	m->op_seq++;
	for (u32 i = 0; i < SHADOW_HASH_SIZE; i++) {
		list_for_each_safe(n, t, &m->hash[i]) {
			struct shadow_page *sp = list_entry(n, struct shadow_page, hash_link);

			if (sp->gfn == gfn && !(sp->role & ROLE_DIRECT))
				sp_zap(m, sp);
		}
	}
	shadow_commit(m);
	spin_unlock_irqrestore(&m->lock, f);
}

bool shadow_gfn_protected(struct shadow_mmu *m, gfn_t gfn)
{
	u64 f = spin_lock_irqsave(&m->lock);
	bool p = shadow_gfn_is_protected(m, gfn);

	spin_unlock_irqrestore(&m->lock, f);
	return p;
}

/* ---- guest memory for walks ------------------------------------------------------ */

static int walk_read(void *ctx, gpa_t gpa, void *buf, u32 size)
{
	struct shadow_cpu *c = ctx;

	return gmem_read(c->mmu->mem, gpa, buf, size);
}

/* The CPU's locked update of a guest paging entry (SDM 4.8), on guest RAM. */
static int walk_cmpxchg(void *ctx, gpa_t gpa, u64 old, u64 new, u32 size)
{
	struct shadow_cpu *c = ctx;
	void *p = gmem_ptr(c->mmu->mem, gpa, size);
	bool ok;

	if (!p || (gpa & (size - 1)))
		return -EIO;
	if (size == 4) {
		u32 o = (u32)old;

		ok = __atomic_compare_exchange_n((u32 *)p, &o, (u32)new, false, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST);
	} else {
		ok = __atomic_compare_exchange_n((u64 *)p, &old, new, false, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST);
	}
	return ok ? 0 : -EAGAIN;
}

void shadow_cpu_walk_env(const struct shadow_cpu *c, u64 rflags, struct walk_env *env)
{
	memset(env, 0, sizeof(*env));
	env->cr0 = c->cr0;
	env->cr3 = c->cr3;
	env->cr4 = c->cr4;
	env->efer = c->efer;
	env->read_gpa = walk_read;
	env->ctx = (void *)c;
	env->rflags = rflags;
	env->maxphyaddr = c->mmu->cfg.maxphyaddr;
	env->features = c->mmu->cfg.walk_features;
	env->pdptes = c->mode == SHADOW_MODE_PAE ? c->pdptes : NULL;
	env->cmpxchg_gpa = walk_cmpxchg;
}

/* ---- modes and roots ---------------------------------------------------------------- */

static enum shadow_mode mode_of(u64 cr0, u64 cr4, u64 efer)
{
	if (!(cr0 & CR0_PG))
		return SHADOW_MODE_NONPAGING;
	if (!(cr4 & CR4_PAE))
		return SHADOW_MODE_32BIT;
	return (efer & EFER_LMA) ? SHADOW_MODE_LONG : SHADOW_MODE_PAE;
}

static u32 role_base_of(enum shadow_mode mode, u64 cr4, u64 efer)
{
	u32 r = (u32)mode << ROLE_MODE_SHIFT;

	if ((mode == SHADOW_MODE_PAE || mode == SHADOW_MODE_LONG) && (efer & EFER_NXE))
		r |= ROLE_NXE;
	if (mode == SHADOW_MODE_32BIT && (cr4 & CR4_PSE))
		r |= ROLE_PSE;
	return r;
}

static u64 maxphy_mask(const struct shadow_mmu *m)
{
	u8 mp = m->cfg.maxphyaddr ? m->cfg.maxphyaddr : 52;

	return mp >= 52 ? 0 : GENMASK(63, mp);
}

/*
 * PAE paging: load the four PDPTE registers from the 32-byte table at cr3
 * (SDM 4.4.1). A present entry with reserved bits is refused: -EINVAL (#GP)
 * when strict, else treated as not present.
 */
static int load_pdptes(struct shadow_cpu *c, u64 cr3, u64 out[4], bool strict)
{
	u64 rsvd = GENMASK(2, 1) | GENMASK(8, 5) | maxphy_mask(c->mmu);

	if (gmem_read(c->mmu->mem, cr3 & 0xffffffe0ULL, out, 4 * sizeof(u64))) {
		memset(out, 0, 4 * sizeof(u64));
		return strict ? -EINVAL : 0;
	}
	for (int q = 0; q < 4; q++) {
		if ((out[q] & GPTE_P) && (out[q] & rsvd)) {
			if (strict)
				return -EINVAL;
			out[q] = 0;
		}
	}
	return 0;
}

static void release_root(struct shadow_cpu *c)
{
	struct shadow_mmu *m = c->mmu;

	if (c->root) {
		sp_put_root(m, c->root);
		c->root = NULL;
	}
	for (int q = 0; q < 4; q++) {
		spte_unlink(m, &c->pdpt[q]);
		if (c->pd[q]) {
			sp_put_root(m, c->pd[q]);
			c->pd[q] = NULL;
		}
	}
}

/* What sits in PDPT slot q for this vCPU's mode: false when nothing. */
static bool pdpt_slot(const struct shadow_cpu *c, int q, gfn_t *gfn, u32 *role)
{
	switch (c->mode) {
	case SHADOW_MODE_NONPAGING:
		*gfn = (gfn_t)q << 18;
		*role = c->role_base | 2 | ROLE_DIRECT | ROLE_WRITABLE;
		return true;
	case SHADOW_MODE_32BIT:
		*gfn = (c->cr3 & 0xfffff000ULL) >> 12;
		*role = c->role_base | 2 | ((u32)q << ROLE_QUADRANT_SHIFT);
		return true;
	case SHADOW_MODE_PAE:
		*gfn = (c->pdptes[q] & SPTE_ADDR) >> 12;
		*role = c->role_base | 2;
		return c->pdptes[q] & GPTE_P;
	default:
		return false;
	}
}

/* Build (or find again) the root for the current CR3 and mode. Counts hit or miss. */
static void build_root(struct shadow_cpu *c)
{
	struct shadow_mmu *m = c->mmu;
	bool created, any_created = false, changed;

	if (c->mode == SHADOW_MODE_LONG) {
		gfn_t gfn = (c->cr3 & SPTE_ADDR & ~maxphy_mask(m)) >> 12;

		c->root = sp_get(m, gfn, c->role_base | 4, &created);
		if (c->root)
			c->root->root_count++;
		any_created = created;
	} else {
		for (int q = 0; q < 4; q++) {
			struct shadow_page *sp;
			gfn_t gfn;
			u32 role;

			if (!pdpt_slot(c, q, &gfn, &role))
				continue;
			sp = sp_get(m, gfn, role, &created);
			if (!sp || !spte_link(m, &c->pdpt[q], sp, SPTE_PDPT_FLAGS, &changed))
				continue;
			sp->root_count++;
			c->pd[q] = sp;
			any_created |= created;
		}
	}
	if (any_created)
		m->stats.root_misses++;
	else
		m->stats.root_hits++;
}

void shadow_cpu_reload_locked(struct shadow_cpu *c)
{
	release_root(c);
	c->mode = mode_of(c->cr0, c->cr4, c->efer);
	c->role_base = role_base_of(c->mode, c->cr4, c->efer);
	build_root(c);
	c->reload = false;
	c->local_flush |= SHADOW_FLUSH_ALL;
	c->nofix_pfec = ~0U;
}

/* ---- per vCPU ------------------------------------------------------------------------ */

struct shadow_cpu *shadow_cpu_create(struct shadow_mmu *m)
{
	struct shadow_cpu *c = m->ops->zalloc(m->ctx, sizeof(*c));
	u64 f;

	if (!c)
		return NULL;
	c->mmu = m;
	if (m->ops->alloc_page(m->ctx, true, &c->pdpt_hpa, &c->pdpt)) {
		m->ops->free(m->ctx, c);
		return NULL;
	}
	c->nofix_pfec = ~0U;
	f = spin_lock_irqsave(&m->lock);
	list_add_tail(&m->cpus, &c->link);
	c->seen_flush_gen = __atomic_load_n(&m->flush_gen, __ATOMIC_SEQ_CST);
	spin_unlock_irqrestore(&m->lock, f);
	return c;
}

void shadow_cpu_destroy(struct shadow_cpu *c)
{
	struct shadow_mmu *m;
	u64 f;

	if (!c)
		return;
	m = c->mmu;
	f = spin_lock_irqsave(&m->lock);
	m->op_seq++;
	release_root(c);
	list_del(&c->link);
	shadow_commit(m);
	spin_unlock_irqrestore(&m->lock, f);
	m->ops->free_page(m->ctx, c->pdpt_hpa, c->pdpt);
	m->ops->free(m->ctx, c);
}

void shadow_cpu_set_state(struct shadow_cpu *c, u64 cr0, u64 cr3, u64 cr4, u64 efer)
{
	struct shadow_mmu *m = c->mmu;
	u64 f = spin_lock_irqsave(&m->lock);

	m->op_seq++;
	c->cr0 = cr0;
	c->cr3 = cr3;
	c->cr4 = cr4;
	c->efer = efer;
	if (mode_of(cr0, cr4, efer) == SHADOW_MODE_PAE)
		load_pdptes(c, cr3, c->pdptes, false);
	shadow_cpu_reload_locked(c);
	shadow_commit(m);
	spin_unlock_irqrestore(&m->lock, f);
}

/* Checks of MOV to CR0 (SDM vol. 2 MOV-Move to/from Control Registers, APM vol. 2 3.1.1). */
static int check_cr0(struct shadow_cpu *c, u64 *value, bool cs_long, u64 *efer, u64 *pdptes,
		     bool *load)
{
	u64 v = *value | CR0_ET, old = c->cr0;

	if ((v >> 32) || ((v & CR0_PG) && !(v & CR0_PE)) || ((v & CR0_NW) && !(v & CR0_CD)))
		return -EINVAL;
	*efer = c->efer;
	if ((v & CR0_PG) && !(old & CR0_PG)) {
		if (c->efer & EFER_LME) {
			if (!(c->cr4 & CR4_PAE))
				return -EINVAL;
			*efer |= EFER_LMA;
		} else if (c->cr4 & CR4_PAE) {
			*load = true;
			if (load_pdptes(c, c->cr3, pdptes, true))
				return -EINVAL;
		}
	}
	if (!(v & CR0_PG) && (old & CR0_PG)) {
		if ((c->efer & EFER_LMA) && cs_long)
			return -EINVAL;
		*efer &= ~EFER_LMA;
	}
	*value = v;
	return 0;
}

static int check_cr4(struct shadow_cpu *c, u64 v, u64 *pdptes, bool *load)
{
	if (v & ~c->mmu->cfg.cr4_allowed)
		return -EINVAL;
	if ((c->efer & EFER_LMA) && !(v & CR4_PAE))
		return -EINVAL;
	/* PAE paging reloads the PDPTEs when these bits change (SDM 4.4.1). */
	if ((c->cr0 & CR0_PG) && !(c->efer & EFER_LMA) && (v & CR4_PAE) &&
	    ((v ^ c->cr4) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP))) {
		*load = true;
		return load_pdptes(c, c->cr3, pdptes, true);
	}
	return 0;
}

static int check_cr3(struct shadow_cpu *c, u64 v, u64 *pdptes, bool *load)
{
	if (c->efer & EFER_LMA)
		return (v & maxphy_mask(c->mmu)) ? -EINVAL : 0;
	if (mode_of(c->cr0, c->cr4, c->efer) == SHADOW_MODE_PAE) {
		*load = true;
		return load_pdptes(c, v, pdptes, true);
	}
	return 0;
}

/* Apply a checked change: roots follow mode, role and CR3; the TLB is flushed as the CPU does. */
static void apply_cr(struct shadow_cpu *c, int cr, u64 value, u64 efer)
{
	struct shadow_mmu *m = c->mmu;
	u64 old_cr0 = c->cr0, old_cr4 = c->cr4;
	enum shadow_mode mode;

	if (cr == 0)
		c->cr0 = value;
	else if (cr == 3)
		c->cr3 = value;
	else
		c->cr4 = value;
	c->efer = efer;
	mode = mode_of(c->cr0, c->cr4, c->efer);
	if (cr == 3) {
		m->stats.cr3_loads++;
		if (!m->cfg.cache)
			shadow_zap_all_locked(m); /* the old KVM: nothing survives a context switch */
	}
	if (cr == 3 || mode != c->mode || role_base_of(mode, c->cr4, c->efer) != c->role_base)
		shadow_cpu_reload_locked(c);
	else if (((old_cr0 ^ c->cr0) & (CR0_PG | CR0_WP)) || ((old_cr4 ^ c->cr4) & CR4_PAGING_BITS))
		c->local_flush |= SHADOW_FLUSH_ALL;
}

int shadow_cpu_write_cr(struct shadow_cpu *c, int cr, u64 value, bool cs_long)
{
	struct shadow_mmu *m = c->mmu;
	u64 f = spin_lock_irqsave(&m->lock), efer = c->efer, pdptes[4];
	bool load = false;
	int err;

	m->op_seq++;
	switch (cr) {
	case 0:
		err = check_cr0(c, &value, cs_long, &efer, pdptes, &load);
		break;
	case 3:
		err = check_cr3(c, value, pdptes, &load);
		break;
	case 4:
		err = check_cr4(c, value, pdptes, &load);
		break;
	default:
		err = -EINVAL;
		break;
	}
	if (!err) {
		if (load)
			memcpy(c->pdptes, pdptes, sizeof(pdptes));
		apply_cr(c, cr, value, efer);
	}
	shadow_commit(m);
	spin_unlock_irqrestore(&m->lock, f);
	return err;
}

int shadow_cpu_write_efer(struct shadow_cpu *c, u64 value)
{
	struct shadow_mmu *m = c->mmu;
	u64 f;
	int err = 0;

	value &= ~EFER_LMA; /* read-only */
	if ((value & ~EFER_WRITABLE) || ((value & EFER_NXE) && !m->cfg.nx_allowed))
		return -EINVAL;
	f = spin_lock_irqsave(&m->lock);
	m->op_seq++;
	if ((c->cr0 & CR0_PG) && ((value ^ c->efer) & EFER_LME))
		err = -EINVAL; /* LME cannot change while paging is on (APM 3.1.7) */
	else
		apply_cr(c, 0, c->cr0, value | (c->efer & EFER_LMA));
	shadow_commit(m);
	spin_unlock_irqrestore(&m->lock, f);
	return err;
}

u64 shadow_cpu_read_cr(const struct shadow_cpu *c, int cr)
{
	return cr == 0 ? c->cr0 : cr == 3 ? c->cr3 : cr == 4 ? c->cr4 : 0;
}

u64 shadow_cpu_efer(const struct shadow_cpu *c) { return c->efer; }
enum shadow_mode shadow_cpu_mode(const struct shadow_cpu *c) { return c->mode; }
const u64 *shadow_cpu_pdptes(const struct shadow_cpu *c)
{
	return c->mode == SHADOW_MODE_PAE ? c->pdptes : NULL;
}

/* Hardware runs paged (CR0.PG, CR0.WP forced) on PAE or 4-level shadow tables. */
void shadow_cpu_hw(const struct shadow_cpu *c, struct shadow_hw *hw)
{
	bool lm = c->mode == SHADOW_MODE_LONG;

	hw->cr0 = c->cr0 | CR0_PG | CR0_WP;
	hw->cr4 = c->cr4 | CR4_PAE;
	if (c->mode == SHADOW_MODE_NONPAGING)
		hw->cr4 &= ~(CR4_SMEP | CR4_SMAP); /* no user/supervisor pages without paging */
	hw->efer = (c->efer & ~(EFER_LME | EFER_LMA)) | (lm ? EFER_LME | EFER_LMA : 0);
	hw->cr3 = lm && c->root ? c->root->hpa : c->pdpt_hpa;
}

u32 shadow_cpu_enter(struct shadow_cpu *c, struct shadow_hw *hw, gva_t *flush_addr)
{
	struct shadow_mmu *m = c->mmu;
	u32 flags;
	u64 gen;

	/* Count the entry before looking at the flush generation (see shadow_vm.c). */
	__atomic_add_fetch(&c->entries, 1, __ATOMIC_SEQ_CST);
	gen = __atomic_load_n(&m->flush_gen, __ATOMIC_SEQ_CST);
	if (READ_ONCE(c->reload)) {
		u64 f;

		/*
		 * Whoever holds the lock may be flushing and must not wait for us: we
		 * read the generation again once we have the lock (shadow_cpu_locking).
		 */
		__atomic_store_n(&c->locking, true, __ATOMIC_SEQ_CST);
		f = spin_lock_irqsave(&m->lock);
		m->op_seq++;
		if (c->reload)
			shadow_cpu_reload_locked(c);
		shadow_commit(m);
		spin_unlock_irqrestore(&m->lock, f);
		gen = __atomic_load_n(&m->flush_gen, __ATOMIC_SEQ_CST);
		__atomic_store_n(&c->locking, false, __ATOMIC_SEQ_CST);
	}
	flags = c->local_flush;
	c->local_flush = 0;
	if (gen != c->seen_flush_gen) {
		c->seen_flush_gen = gen;
		flags |= SHADOW_FLUSH_ALL;
	}
	*flush_addr = c->flush_addr;
	shadow_cpu_hw(c, hw);
	return flags;
}

u64 shadow_cpu_entries(const struct shadow_cpu *c) { return __atomic_load_n(&c->entries, __ATOMIC_SEQ_CST); }

bool shadow_cpu_locking(const struct shadow_cpu *c) { return __atomic_load_n(&c->locking, __ATOMIC_SEQ_CST); }
