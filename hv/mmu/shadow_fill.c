/* Shadow MMU fills: guest walks turned into shadow entries; guest table writes; INVLPG. */
#include "hv/mmu/shadow_internal.h"
#include "lib/string.h"
#include "kernel/log.h"

#define PSE_LARGE_ADDR 0xffc00000ULL    /* 32-bit 4 MiB page base, bits 31:22 */
#define PSE36_BITS GENMASK(21, 13)      /* PSE-36 and reserved bits of a 4 MiB PDE */
#define TABLE32_ADDR 0xfffff000ULL

static u32 guest_esize(u32 role) { return role_mode(role) == SHADOW_MODE_32BIT ? 4 : 8; }

/* Index of gva in a PAE/4-level format table of this level. */
static u32 hw_index(gva_t gva, u32 level) { return (gva >> (12 + 9 * (level - 1))) & 0x1ff; }

bool sp_read_guest(struct shadow_mmu *m, const struct shadow_page *sp, u32 e, u64 *g)
{
	u32 size = guest_esize(sp->role);

	*g = 0;
	return !gmem_read(m->mem, (sp->gfn << 12) + (u64)e * size, g, size);
}

/* What a shadow table entry takes from the guest's: present, accessed, R/W, U/S, XD. */
static u64 mirror_flags(u64 g, u32 role)
{
	u64 f = GPTE_P | GPTE_A | (g & (GPTE_W | GPTE_U));

	if (role & ROLE_NXE)
		f |= g & GPTE_NX;
	return f;
}

/* Leaf flags for a guest 4 KiB entry g mapping gfn. */
static u64 leaf_flags(struct shadow_mmu *m, u32 role, u64 g, gfn_t gfn, bool *wp_blocked)
{
	u64 f = GPTE_P | GPTE_A | (g & (GPTE_U | GPTE_G));

	if (role & ROLE_NXE)
		f |= g & GPTE_NX;
	if ((g & GPTE_W) && (g & GPTE_D)) {
		if (shadow_gfn_is_protected(m, gfn))
			*wp_blocked = true;
		else
			f |= GPTE_W | GPTE_D;
	}
	return f;
}

static bool guest_is_large(u32 role, u32 level, u64 g)
{
	enum shadow_mode mode = role_mode(role);

	if (!(g & GPTE_PS) || level == 1)
		return false;
	if (mode == SHADOW_MODE_32BIT)
		return level == 2 && (role & ROLE_PSE);
	return level == 2 || (level == 3 && mode == SHADOW_MODE_LONG);
}

/*
 * A guest entry seen outside a walk (resync after a write, INVLPG) that may be
 * shadowed as it is: present, accessed, nothing reserved or unusual. When in
 * doubt the answer is no: the shadow entry is dropped and the next access
 * goes through the full walker.
 */
static bool guest_entry_usable(struct shadow_mmu *m, u32 role, u32 level, u64 g)
{
	enum shadow_mode mode = role_mode(role);
	u8 mp = m->cfg.maxphyaddr ? m->cfg.maxphyaddr : 52;
	u64 rsvd;

	if ((g & (GPTE_P | GPTE_A)) != (GPTE_P | GPTE_A))
		return false;
	if (mode == SHADOW_MODE_32BIT)
		return !(guest_is_large(role, level, g) && (g & PSE36_BITS));
	rsvd = (mp < 52 ? GENMASK(51, mp) : 0) | (mode == SHADOW_MODE_PAE ? GENMASK(62, 52) : 0);
	if (!(role & ROLE_NXE))
		rsvd |= GPTE_NX;
	if (level == 4 || (level == 3 && (g & GPTE_PS)))
		rsvd |= GPTE_PS; /* 1 GiB pages: left to the walker */
	if (level == 2 && (g & GPTE_PS))
		rsvd |= GENMASK(20, 13);
	return !(g & rsvd);
}

static u64 guest_addr(u32 role, u64 g)
{
	return g & (role_mode(role) == SHADOW_MODE_32BIT ? TABLE32_ADDR : SPTE_ADDR);
}

/* ---- filling on a fault ---------------------------------------------------------------- */

struct fill {
	struct shadow_cpu *c;
	gva_t gva;
	const struct walk_result *w;
	bool changed;     /* some shadow entry changed */
	bool wp_blocked;  /* the leaf stays read-only: its frame is a shadowed guest table */
};

static u32 child_role(u32 parent_role, u32 level)
{
	return (parent_role & (ROLE_MODE | ROLE_NXE | ROLE_PSE)) | (level - 1);
}

/* The page a table entry at `level` of sp must point to for f->gva, and the entry's flags. */
static struct shadow_page *fill_child(struct fill *f, struct shadow_page *sp, u32 level, u64 *flags)
{
	struct shadow_mmu *m = f->c->mmu;
	u32 role = child_role(sp->role, level);
	bool created;
	gfn_t gfn;
	u64 g;

	if (sp->role & ROLE_DIRECT) {
		gfn = sp->gfn + hw_index(f->gva, level) * level_pages(level);
		*flags = SPTE_DIRECT_TABLE;
		return sp_get(m, gfn, role | (sp->role & (ROLE_DIRECT | ROLE_WRITABLE)), &created);
	}
	g = f->w->pte[level];
	*flags = mirror_flags(g, sp->role);
	if (f->w->leaf_level == (int)level) {
		/* A guest large page: the rest of the way maps its frames directly. */
		gfn = (f->w->gpa >> 12) & ~(level_pages(level) - 1);
		role |= ROLE_DIRECT | ((g & GPTE_D) ? ROLE_WRITABLE : 0);
	} else {
		gfn = guest_addr(sp->role, g) >> 12;
		if (role_mode(sp->role) == SHADOW_MODE_32BIT && level == 2)
			role |= (u32)((f->gva >> 21) & 1) << ROLE_QUADRANT_SHIFT;
	}
	return sp_get(m, gfn, role, &created);
}

static bool fill_leaf(struct fill *f, struct shadow_page *sp)
{
	struct shadow_mmu *m = f->c->mmu;
	gfn_t gfn = f->w->gpa >> 12;
	u64 flags;

	if (sp->role & ROLE_DIRECT) {
		flags = GPTE_P | GPTE_A | GPTE_U;
		if (sp->role & ROLE_WRITABLE) {
			if (shadow_gfn_is_protected(m, gfn))
				f->wp_blocked = true;
			else
				flags |= GPTE_W | GPTE_D;
		}
	} else {
		flags = leaf_flags(m, sp->role, f->w->pte[1], gfn, &f->wp_blocked);
	}
	return spte_set_leaf(m, sp, hw_index(f->gva, 1), shadow_gfn_hpa(m, gfn) | flags, gfn,
			     &f->changed);
}

static struct shadow_page *top_table(struct shadow_cpu *c, gva_t gva)
{
	return c->mode == SHADOW_MODE_LONG ? c->root : c->pd[(gva >> 30) & 3];
}

/* Link or update every shadow level for f->gva from the guest walk. False: out of memory. */
static bool fill(struct fill *f)
{
	struct shadow_mmu *m = f->c->mmu;
	struct shadow_page *sp = top_table(f->c, f->gva);

	while (sp) {
		u32 level = role_level(sp->role);
		struct shadow_page *child;
		u64 flags;

		sp_touch(m, sp);
		sp->flood = 0;
		if (level == 1)
			return fill_leaf(f, sp);
		child = fill_child(f, sp, level, &flags);
		if (!child || !spte_link(m, &sp->spt[hw_index(f->gva, level)], child, flags, &f->changed))
			return false;
		sp = child;
	}
	return false;
}

static u32 pfec_access(u32 pfec)
{
	return ((pfec & PFEC_W) ? WALK_WRITE : 0) | ((pfec & PFEC_U) ? WALK_USER : 0) |
	       ((pfec & PFEC_I) ? WALK_FETCH : 0);
}

/* The walk succeeded: fill, then say whether the access can run or must be emulated. */
static enum shadow_fault_action fill_fault(struct shadow_cpu *c, gva_t gva, u32 hw_pfec,
					   const struct walk_result *w, struct shadow_fault_info *info)
{
	struct shadow_mmu *m = c->mmu;
	struct fill f = { .c = c, .gva = gva, .w = w };
	bool write = hw_pfec & PFEC_W;

	if (!fill(&f)) {
		shadow_reclaim(m, 8);
		f.changed = f.wp_blocked = false;
		if (!fill(&f)) {
			info->why = "out of memory for shadow page tables";
			return SHADOW_FATAL;
		}
	}
	info->gpa = w->gpa;
	if (write && (f.wp_blocked || !(w->perm & WALK_PERM_W))) {
		info->wp0 = !f.wp_blocked;
		if (info->wp0)
			m->stats.wp0_emulations++;
		else
			m->stats.wp_emulations++;
		return SHADOW_EMULATE;
	}
	if (f.changed) {
		m->stats.fills++;
		c->nofix_pfec = ~0U;
		if (hw_pfec & PFEC_P) { /* an upgraded entry may still be cached read-only */
			c->local_flush |= (c->local_flush & SHADOW_FLUSH_ADDR) && c->flush_addr != gva
					  ? SHADOW_FLUSH_ALL : SHADOW_FLUSH_ADDR;
			c->flush_addr = gva;
		}
		return SHADOW_FIXED;
	}
	/* Nothing to fill: a stale TLB entry (flush, retry once), else the guest's own fault. */
	m->stats.spurious++;
	if (c->nofix_gva == gva && c->nofix_pfec == hw_pfec) {
		c->nofix_pfec = ~0U;
		info->pfec = hw_pfec & (PFEC_P | PFEC_W | PFEC_U | PFEC_I);
		m->stats.guest_faults++;
		return SHADOW_INJECT;
	}
	c->nofix_gva = gva;
	c->nofix_pfec = hw_pfec;
	c->local_flush |= SHADOW_FLUSH_ALL;
	return SHADOW_FIXED;
}

static enum shadow_fault_action fault_locked(struct shadow_cpu *c, gva_t gva, u32 hw_pfec,
					     u64 rflags, struct shadow_fault_info *info)
{
	struct shadow_mmu *m = c->mmu;
	u32 access = pfec_access(hw_pfec);
	struct walk_result w;
	struct walk_env env;
	int err;

	if (c->reload)
		shadow_cpu_reload_locked(c);
	if (hw_pfec & PFEC_RSVD) {
		pr_err("shadow: reserved bit in a shadow entry for %#llx: rebuilding all\n",
		       (unsigned long long)gva);
		shadow_zap_all_locked(m);
		return SHADOW_FIXED;
	}
	shadow_cpu_walk_env(c, rflags, &env);
	err = guest_walk(&env, gva, access, &w);
	if (err) {
		/* Tables outside RAM read as all ones: present with reserved bits set. */
		info->pfec = err == -EFAULT ? w.pfec : walk_access_pfec(&env, access) | PFEC_P | PFEC_RSVD;
		m->stats.guest_faults++;
		return SHADOW_INJECT;
	}
	if (!shadow_gfn_meta(m, w.gpa >> 12)) {
		info->gpa = w.gpa;
		m->stats.mmio_faults++;
		return SHADOW_MMIO;
	}
	return fill_fault(c, gva, hw_pfec, &w, info);
}

enum shadow_fault_action shadow_page_fault(struct shadow_cpu *c, gva_t gva, u32 hw_pfec,
					   u64 rflags, struct shadow_fault_info *info)
{
	struct shadow_mmu *m = c->mmu;
	enum shadow_fault_action a;
	u64 f = spin_lock_irqsave(&m->lock);

	m->op_seq++;
	memset(info, 0, sizeof(*info));
	a = fault_locked(c, gva, hw_pfec, rflags, info);
	shadow_commit(m);
	spin_unlock_irqrestore(&m->lock, f);
	return a;
}

/* ---- keeping entries in step with guest tables -------------------------------------- */

/* Leaf entry idx of sp from the guest's entry g (0 when it cannot be shadowed as it is). */
static u64 resync_leaf_value(struct shadow_mmu *m, struct shadow_page *sp, u64 g, gfn_t *gfn)
{
	bool blocked = false;
	hpa_t hpa;

	if (!guest_entry_usable(m, sp->role, 1, g))
		return 0;
	*gfn = guest_addr(sp->role, g) >> 12;
	hpa = shadow_gfn_hpa(m, *gfn);
	return hpa ? hpa | leaf_flags(m, sp->role, g, *gfn, &blocked) : 0;
}

/* Does table entry idx of sp still point where guest entry g says, with g's rights? */
static bool resync_link_ok(struct shadow_mmu *m, struct shadow_page *sp, u32 idx, u64 g)
{
	u32 level = role_level(sp->role), role = child_role(sp->role, level);
	struct shadow_page *child;
	gfn_t gfn;

	if (!guest_entry_usable(m, sp->role, level, g))
		return false;
	if (guest_is_large(sp->role, level, g)) {
		gfn = (g & (role_mode(sp->role) == SHADOW_MODE_32BIT ? PSE_LARGE_ADDR : SPTE_ADDR)) >> 12;
		gfn &= ~(level_pages(level) - 1);
		if (role_mode(sp->role) == SHADOW_MODE_32BIT)
			gfn += (idx & 1) * level_pages(level);
		role |= ROLE_DIRECT | ((g & GPTE_D) ? ROLE_WRITABLE : 0);
	} else {
		gfn = guest_addr(sp->role, g) >> 12;
		if (role_mode(sp->role) == SHADOW_MODE_32BIT && level == 2)
			role |= (idx & 1) << ROLE_QUADRANT_SHIFT;
	}
	child = sp_lookup(m, gfn, role);
	return child && (sp->spt[idx] & ~GPTE_A) == ((child->hpa | mirror_flags(g, sp->role)) & ~GPTE_A);
}

/* Guest entry index that shadow entry idx of sp comes from. */
static u32 guest_index(const struct shadow_page *sp, u32 idx)
{
	if (role_mode(sp->role) != SHADOW_MODE_32BIT)
		return idx;
	if (role_level(sp->role) == 1)
		return role_quadrant(sp->role) * 512 + idx;
	return role_quadrant(sp->role) * 256 + idx / 2;
}

void sp_resync_entry(struct shadow_mmu *m, struct shadow_page *sp, u32 idx)
{
	u64 g, old = sp->spt[idx];
	bool changed = false;

	if (sp->role & ROLE_DIRECT)
		return; /* follows its parent's entry */
	if (!sp_read_guest(m, sp, guest_index(sp, idx), &g))
		g = 0;
	if (role_level(sp->role) == 1) {
		gfn_t gfn = 0;
		u64 v = resync_leaf_value(m, sp, g, &gfn);

		if (!spte_set_leaf(m, sp, idx, v, gfn, &changed))
			spte_set_leaf(m, sp, idx, 0, 0, &changed);
	} else if ((old & GPTE_P) && !resync_link_ok(m, sp, idx, g)) {
		spte_unlink(m, &sp->spt[idx]);
		changed = true;
	}
	if (changed)
		m->stats.pte_updates++;
}

/* Guest entry e of sp's table was written: the shadow entries it feeds follow. */
static void resync_guest_entry(struct shadow_mmu *m, struct shadow_page *sp, u32 e)
{
	u32 level = role_level(sp->role);

	if (role_mode(sp->role) != SHADOW_MODE_32BIT) {
		sp_resync_entry(m, sp, e);
	} else if (level == 1) {
		if (e / 512 == role_quadrant(sp->role))
			sp_resync_entry(m, sp, e % 512);
	} else if (e / 256 == role_quadrant(sp->role)) {
		sp_resync_entry(m, sp, (e % 256) * 2);
		sp_resync_entry(m, sp, (e % 256) * 2 + 1);
	}
}

/* Bytes [off, off+len) of guest frame gfn changed. */
static void write_page_locked(struct shadow_mmu *m, gfn_t gfn, u32 off, u32 len)
{
	struct shadow_gfn *meta = shadow_gfn_meta(m, gfn);
	struct list_node *n, *t;

	if (!meta || !meta->protect)
		return;
	list_for_each_safe(n, t, sp_bucket(m, gfn)) {
		struct shadow_page *sp = list_entry(n, struct shadow_page, hash_link);
		u32 es = guest_esize(sp->role);

		if (sp->gfn != gfn || (sp->role & ROLE_DIRECT))
			continue;
		/* Written but not walked by hardware since the last write: probably no table any more. */
		sp->flood = sp_recently_used(sp) ? 0 : sp->flood + 1;
		if (sp->flood > SHADOW_FLOOD_LIMIT && !sp->root_count) {
			sp_zap(m, sp);
			m->stats.flood_zaps++;
			continue;
		}
		for (u32 e = off / es; e <= (off + len - 1) / es; e++)
			resync_guest_entry(m, sp, e);
	}
}

void shadow_guest_write(struct shadow_mmu *m, gpa_t gpa, u32 len)
{
	u64 f = spin_lock_irqsave(&m->lock);

	m->op_seq++;
	while (len) {
		u32 off = gpa & 0xfff, n = MIN(len, 4096 - off);

		write_page_locked(m, gpa >> 12, off, n);
		gpa += n;
		len -= n;
	}
	shadow_commit(m);
	spin_unlock_irqrestore(&m->lock, f);
}

void shadow_invlpg(struct shadow_cpu *c, gva_t gva)
{
	struct shadow_mmu *m = c->mmu;
	u64 f = spin_lock_irqsave(&m->lock);
	struct shadow_page *sp;

	m->op_seq++;
	m->stats.invlpgs++;
	if (c->reload)
		shadow_cpu_reload_locked(c);
	/* Resynchronize every level of gva's path, as INVLPG drops its paging-structure caches. */
	for (sp = top_table(c, gva); sp;) {
		u32 level = role_level(sp->role), idx = hw_index(gva, level);
		u64 e;

		sp_resync_entry(m, sp, idx);
		e = sp->spt[idx];
		if (level == 1 || !(e & GPTE_P))
			break;
		sp = sp_from_hpa(m, e & SPTE_ADDR);
	}
	if ((c->local_flush & SHADOW_FLUSH_ADDR) && c->flush_addr != gva)
		c->local_flush |= SHADOW_FLUSH_ALL;
	c->local_flush |= SHADOW_FLUSH_ADDR;
	c->flush_addr = gva;
	shadow_commit(m);
	spin_unlock_irqrestore(&m->lock, f);
}
