/* Guest page-table walks (Intel SDM vol. 3A ch. 4, AMD APM vol. 2 ch. 5). */
#include "hv/mmu/walk.h"
#include "lib/string.h"

#define CR0_WP BIT(16)
#define CR0_PG BIT(31)
#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define CR4_SMEP BIT(20)
#define CR4_SMAP BIT(21)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)
#define RFLAGS_AC BIT(18)

#define MAXPHYADDR_ARCH 52
#define PSE36_TOP 40         /* 32-bit 4 MiB pages reach physical bit 39 (PSE-36) */
#define WALK_RETRIES 16      /* an entry changed under a flag update: walk again */

/* The paging mode of one walk. */
struct walk_mode {
	int top;    /* level of the first entry: 2 (32-bit), 3 (PAE), 4 (4-level) */
	u32 esize;  /* entry size in bytes */
	bool nxe;   /* XD bits are valid */
	bool pse;   /* 32-bit paging: CR4.PSE enables 4 MiB pages */
	bool gb;    /* 4-level: 1 GiB pages */
	u8 m;       /* MAXPHYADDR */
};

/* Bits hi..m (inclusive); none when m > hi. */
static u64 bits_from(int hi, int m) { return m > hi ? 0 : GENMASK(hi, m); }

u32 walk_access_pfec(const struct walk_env *env, u32 access)
{
	bool pae_nx = (env->cr4 & CR4_PAE) && (env->efer & EFER_NXE);
	u32 pfec = 0;

	if (access & WALK_WRITE)
		pfec |= PFEC_W;
	if (access & WALK_USER)
		pfec |= PFEC_U;
	/* I/D is reported only with SMEP or with PAE/4-level paging and NXE (SDM 4.7). */
	if ((access & WALK_FETCH) && ((env->cr4 & CR4_SMEP) || pae_nx))
		pfec |= PFEC_I;
	return pfec;
}

/* Index of gva's entry in the table of this level. */
static u64 entry_index(const struct walk_mode *wm, int level, gva_t gva)
{
	if (wm->top == 2)
		return (gva >> (level == 2 ? 22 : 12)) & 0x3ff;
	if (wm->top == 3 && level == 3)
		return (gva >> 30) & 3;
	return (gva >> (12 + 9 * (level - 1))) & 0x1ff;
}

static bool is_leaf(const struct walk_mode *wm, int level, u64 e)
{
	if (level == 1)
		return true;
	if (!(e & GPTE_PS))
		return false;
	if (level == 2)
		return wm->top != 2 || wm->pse;
	return level == 3 && wm->top == 4;
}

/* Reserved bits of a present entry (SDM tables 4-4..4-20). */
static u64 reserved_bits(const struct walk_mode *wm, int level, u64 e)
{
	u64 r;

	if (wm->top == 2) {
		if (level == 2 && (e & GPTE_PS) && wm->pse) /* PDE bits 20:13 are PA bits 39:32 */
			return BIT(21) | (wm->m < PSE36_TOP ? bits_from(20, MAX(wm->m - 19, 13)) : 0);
		return 0;
	}
	/*
	 * PAE PDPTE: no rights, no XD. Bit 5 is left out of the reserved set:
	 * AMD processors (and QEMU's emulation of them) set it as an Accessed
	 * bit while walking, so a guest's PDPTEs may legitimately have it.
	 */
	if (wm->top == 3 && level == 3)
		return GENMASK(2, 1) | GENMASK(8, 6) | bits_from(63, wm->m);
	r = bits_from(wm->top == 3 ? 62 : 51, wm->m) | (wm->nxe ? 0 : GPTE_NX);
	if (wm->top == 4 && level == 4)
		r |= GPTE_PS;
	else if (level == 3 && (e & GPTE_PS))
		r |= wm->gb ? GENMASK(29, 13) : GPTE_PS;
	else if (level == 2 && (e & GPTE_PS))
		r |= GENMASK(20, 13);
	return r;
}

/* Guest-physical address of gva through the leaf entry e at this level. */
static gpa_t leaf_gpa(const struct walk_mode *wm, int level, u64 e, gva_t gva, u64 *size)
{
	if (level == 1) {
		*size = 4096;
		return (e & (wm->top == 2 ? 0xfffff000ULL : GPTE_ADDR_MASK)) | (gva & 0xfff);
	}
	if (wm->top == 2) {
		*size = 4ULL << 20;
		return (e & 0xffc00000ULL) | (((e >> 13) & 0xff) << 32) | (gva & 0x3fffff);
	}
	*size = 1ULL << (12 + 9 * (level - 1));
	return (e & GPTE_ADDR_MASK & ~(*size - 1)) | (gva & (*size - 1));
}

/* Rights of the whole translation allow the access? (SDM 4.6) */
static bool access_allowed(const struct walk_env *env, u32 perm, u32 access)
{
	bool w = perm & WALK_PERM_W, u = perm & WALK_PERM_U, x = perm & WALK_PERM_X;
	bool wp = env->cr0 & CR0_WP;

	if (access & WALK_USER) {
		if (!u)
			return false;
		if ((access & WALK_WRITE) && !w)
			return false;
		return !(access & WALK_FETCH) || x;
	}
	if (access & WALK_FETCH)
		return x && !(u && (env->cr4 & CR4_SMEP));
	if (u && (env->cr4 & CR4_SMAP) && ((access & WALK_IMPLICIT) || !(env->rflags & RFLAGS_AC)))
		return false;
	return !(access & WALK_WRITE) || w || !wp;
}

/* Set flags in the entry at gpa (holding e) the way the CPU does: atomically. */
static int set_flags(const struct walk_env *env, const struct walk_mode *wm, gpa_t gpa, u64 *e,
		     u64 flags)
{
	int err;

	if (!env->cmpxchg_gpa || (*e & flags) == flags)
		return 0;
	err = env->cmpxchg_gpa(env->ctx, gpa, *e, *e | flags, wm->esize);
	if (err)
		return err == -EAGAIN ? -EAGAIN : -EIO;
	*e |= flags;
	return 0;
}

static int read_entry(const struct walk_env *env, const struct walk_mode *wm, int level,
		      gpa_t gpa, u64 idx, u64 *e, struct walk_result *r)
{
	u64 v = 0;

	r->levels++;
	r->pte_gpa[level] = gpa;
	if (wm->top == 3 && level == 3 && env->pdptes)
		v = env->pdptes[idx];
	else if (env->read_gpa(env->ctx, gpa, &v, wm->esize))
		return -EIO;
	*e = v;
	r->pte[level] = v;
	return 0;
}

static gpa_t top_table(const struct walk_env *env, const struct walk_mode *wm)
{
	if (wm->top == 2)
		return env->cr3 & 0xfffff000ULL;
	if (wm->top == 3)
		return env->cr3 & 0xffffffe0ULL;
	return env->cr3 & bits_from(MAXPHYADDR_ARCH - 1, 12) & ~bits_from(63, wm->m);
}

/* The leaf: rights, then Accessed (and Dirty for a write) only when allowed. */
static int finish_leaf(const struct walk_env *env, const struct walk_mode *wm, int level, u64 e,
		       gva_t gva, u32 access, struct walk_result *r)
{
	int err;

	r->leaf_level = level;
	r->gpa = leaf_gpa(wm, level, e, gva, &r->page_size);
	if (!access_allowed(env, r->perm, access)) {
		r->pfec |= PFEC_P;
		return -EFAULT;
	}
	err = set_flags(env, wm, r->pte_gpa[level], &e, GPTE_A | ((access & WALK_WRITE) ? GPTE_D : 0));
	r->pte[level] = e;
	return err;
}

static int walk_once(const struct walk_env *env, const struct walk_mode *wm, gva_t gva,
		     u32 access, struct walk_result *r)
{
	gpa_t table = top_table(env, wm);
	int level, err;

	memset(r, 0, sizeof(*r));
	r->top_level = wm->top;
	r->pfec = walk_access_pfec(env, access);
	r->perm = WALK_PERM_W | WALK_PERM_U | WALK_PERM_X;
	for (level = wm->top; level >= 1; level--) {
		u64 idx = entry_index(wm, level, gva), e;
		gpa_t at = table + idx * wm->esize;

		if (read_entry(env, wm, level, at, idx, &e, r))
			return -EIO;
		if (!(e & GPTE_P))
			return -EFAULT;
		if (e & reserved_bits(wm, level, e)) {
			r->pfec |= PFEC_RSVD | PFEC_P;
			return -EFAULT;
		}
		if (!(wm->top == 3 && level == 3)) {
			if (!(e & GPTE_W))
				r->perm &= ~WALK_PERM_W;
			if (!(e & GPTE_U))
				r->perm &= ~WALK_PERM_U;
			if (wm->nxe && (e & GPTE_NX))
				r->perm &= ~WALK_PERM_X;
		}
		if (is_leaf(wm, level, e))
			return finish_leaf(env, wm, level, e, gva, access, r);
		if (!(wm->top == 3 && level == 3)) {
			err = set_flags(env, wm, at, &e, GPTE_A);
			if (err)
				return err;
			r->pte[level] = e;
		}
		table = e & (wm->top == 2 ? 0xfffff000ULL : GPTE_ADDR_MASK);
	}
	return -EIO; /* not reached: level 1 is always a leaf */
}

int guest_walk(const struct walk_env *env, gva_t gva, u32 access, struct walk_result *res)
{
	struct walk_mode wm;
	int err = -EIO;

	if (!(env->cr0 & CR0_PG)) {
		memset(res, 0, sizeof(*res));
		res->gpa = (env->efer & EFER_LMA) ? gva : (gva & 0xffffffffULL);
		res->page_size = 4096;
		res->perm = WALK_PERM_W | WALK_PERM_U | WALK_PERM_X;
		return 0;
	}
	wm.m = env->maxphyaddr ? MIN(env->maxphyaddr, MAXPHYADDR_ARCH) : MAXPHYADDR_ARCH;
	wm.pse = env->cr4 & CR4_PSE;
	wm.gb = env->features & WALK_F_1G_PAGES;
	if (!(env->cr4 & CR4_PAE)) {
		wm.top = 2;
		wm.esize = 4;
		wm.nxe = false; /* 32-bit entries have no XD bit */
	} else {
		wm.top = (env->efer & EFER_LMA) ? 4 : 3;
		wm.esize = 8;
		wm.nxe = env->efer & EFER_NXE;
	}
	for (int i = 0; i < WALK_RETRIES; i++) {
		err = walk_once(env, &wm, gva, access, res);
		if (err != -EAGAIN)
			return err;
	}
	return -EIO;
}
