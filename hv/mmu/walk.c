/* Guest page-table walks (Intel SDM vol. 3A ch. 4, AMD APM vol. 2 ch. 5). */
#include "hv/mmu/walk.h"
#include "lib/string.h"

#define CR0_PG BIT(31)
#define CR0_WP BIT(16)
#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)

#define PTE_P BIT(0)
#define PTE_W BIT(1)
#define PTE_U BIT(2)
#define PTE_PS BIT(7)
#define PTE_NX BIT(63)
#define PTE_ADDR_MASK GENMASK(51, 12)

struct perms {
	bool w, u, x;
};

static void perms_and(struct perms *p, u64 e, bool nx_enabled)
{
	p->w = p->w && (e & PTE_W);
	p->u = p->u && (e & PTE_U);
	if (nx_enabled && (e & PTE_NX))
		p->x = false;
}

/* Does the accumulated permission allow the access? Sets the error code if not. */
static int check(const struct walk_env *env, const struct perms *p, u32 access)
{
	bool user = access & WALK_USER;

	if (user && !p->u)
		return -EFAULT;
	if ((access & WALK_WRITE) && !p->w && (user || (env->cr0 & CR0_WP)))
		return -EFAULT;
	if ((access & WALK_FETCH) && !p->x)
		return -EFAULT;
	return 0;
}

static u32 base_pfec(u32 access, bool nx_or_pae)
{
	u32 pfec = 0;

	if (access & WALK_WRITE)
		pfec |= PFEC_W;
	if (access & WALK_USER)
		pfec |= PFEC_U;
	if ((access & WALK_FETCH) && nx_or_pae)
		pfec |= PFEC_I;
	return pfec;
}

static int read_entry(const struct walk_env *env, gpa_t gpa, u32 size, u64 *e, struct walk_result *r)
{
	u64 v = 0;

	r->levels++;
	if (env->read_gpa(env->ctx, gpa, &v, size))
		return -EIO;
	*e = v;
	return 0;
}

static int walk_32bit(const struct walk_env *env, gva_t gva, u32 access, struct walk_result *r)
{
	struct perms p = { true, true, true };
	u64 pde, pte;

	if (read_entry(env, (env->cr3 & 0xfffff000U) + ((gva >> 22) & 0x3ff) * 4, 4, &pde, r))
		return -EIO;
	if (!(pde & PTE_P))
		return -EFAULT;
	perms_and(&p, pde, false);
	if ((pde & PTE_PS) && (env->cr4 & CR4_PSE)) {
		/* 4 MiB page; PSE-36: PDE bits 20:13 are physical address bits 39:32. */
		r->gpa = (pde & 0xffc00000U) | ((pde & GENMASK(20, 13)) << 19) | (gva & 0x3fffff);
		r->page_size = 4ULL << 20;
		if (pde & BIT(21))
			goto rsvd;
		return check(env, &p, access);
	}
	if (read_entry(env, (pde & 0xfffff000U) + ((gva >> 12) & 0x3ff) * 4, 4, &pte, r))
		return -EIO;
	if (!(pte & PTE_P))
		return -EFAULT;
	perms_and(&p, pte, false);
	r->gpa = (pte & 0xfffff000U) | (gva & 0xfff);
	r->page_size = 4096;
	return check(env, &p, access);
rsvd:
	r->pfec |= PFEC_RSVD | PFEC_P;
	return -EFAULT;
}

/* PAE (3 levels from a 4-entry PDPT) and 4-level long mode. */
static int walk_64bit(const struct walk_env *env, gva_t gva, u32 access, struct walk_result *r)
{
	bool lm = env->efer & EFER_LMA, nxe = env->efer & EFER_NXE;
	struct perms p = { true, true, true };
	int level = lm ? 4 : 3;
	u64 table = lm ? (env->cr3 & PTE_ADDR_MASK) : (env->cr3 & 0xffffffe0U);

	for (; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		u64 idx = (gva >> shift) & (level == 3 && !lm ? 3 : 511);
		u64 e;

		if (read_entry(env, table + idx * 8, 8, &e, r))
			return -EIO;
		if (!(e & PTE_P))
			return -EFAULT;
		if (!nxe && (e & PTE_NX))
			goto rsvd;
		if (level == 3 && !lm) {
			/* PAE PDPTEs carry no permissions; their bits 1,2,5-8 and 63 are reserved. */
			if (e & (PTE_W | PTE_U | GENMASK(8, 5) | PTE_NX))
				goto rsvd;
		} else {
			perms_and(&p, e, nxe);
		}
		if ((e & PTE_PS) && (level == 2 || (level == 3 && lm))) {
			u64 size = 1ULL << shift;

			/* Large-page bits between 12 and the page size (bit 12 is PAT) must be zero. */
			if (e & GENMASK(shift - 1, 13))
				goto rsvd;
			r->gpa = (e & PTE_ADDR_MASK & ~(size - 1)) | (gva & (size - 1));
			r->page_size = size;
			return check(env, &p, access);
		}
		if (level == 4 && (e & PTE_PS))
			goto rsvd;
		table = e & PTE_ADDR_MASK;
	}
	r->gpa = table | (gva & 0xfff);
	r->page_size = 4096;
	return check(env, &p, access);
rsvd:
	r->pfec |= PFEC_RSVD | PFEC_P;
	return -EFAULT;
}

int guest_walk(const struct walk_env *env, gva_t gva, u32 access, struct walk_result *res)
{
	int err;

	memset(res, 0, sizeof(*res));
	if (!(env->cr0 & CR0_PG)) {
		res->gpa = (env->efer & EFER_LMA) ? gva : (gva & 0xffffffffU);
		res->page_size = 4096;
		return 0;
	}
	res->pfec = base_pfec(access, (env->efer & EFER_NXE) && (env->cr4 & CR4_PAE));
	if (env->cr4 & CR4_PAE)
		err = walk_64bit(env, gva, access, res);
	else
		err = walk_32bit(env, gva, access, res);
	if (err == -EFAULT && res->levels && !(res->pfec & PFEC_RSVD)) {
		/* A walk that read a present leaf and failed on rights: P is set. */
		if (res->page_size)
			res->pfec |= PFEC_P;
	}
	return err;
}
