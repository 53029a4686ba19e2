/*
 * Guest page walker (hv/mmu/walk.c) against a reference model written for this
 * test: page tables built in simulated guest memory for every paging mode and
 * page size, every combination of P/R/W/U/S/XD per level with every setting of
 * CR0.WP, CR4.SMEP, CR4.SMAP, EFER.NXE and RFLAGS.AC and every kind of access;
 * expected error codes and Accessed/Dirty updates; reserved bits per MAXPHYADDR.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "hv/mmu/walk.h"

/* ---- simulated guest memory ------------------------------------------------- */

#define MEM_SIZE (8u << 20)
static u8 *mem;
static int cmpxchg_calls;
static int interfere;        /* cmpxchg calls left before one that loses a race */
static u64 interfere_set;    /* what the "other CPU" sets in the entry then */
static u64 interfere_clear;  /* and what it clears */

static int mem_read(void *ctx, gpa_t gpa, void *buf, u32 size)
{
	if (gpa + size > MEM_SIZE || gpa + size < gpa)
		return -EFAULT;
	memcpy(buf, mem + gpa, size);
	return 0;
}

static int mem_cmpxchg(void *ctx, gpa_t gpa, u64 old, u64 new, u32 size)
{
	u64 cur = 0;

	if (gpa + size > MEM_SIZE)
		return -EFAULT;
	cmpxchg_calls++;
	memcpy(&cur, mem + gpa, size);
	if (interfere > 0 && --interfere == 0) {
		cur = (cur | interfere_set) & ~interfere_clear;
		memcpy(mem + gpa, &cur, size);
		return -EAGAIN;
	}
	if (cur != old)
		return -EAGAIN;
	memcpy(mem + gpa, &new, size);
	return 0;
}

static u64 mem_get(gpa_t gpa, u32 size)
{
	u64 v = 0;

	memcpy(&v, mem + gpa, size);
	return v;
}

static void mem_put(gpa_t gpa, u64 v, u32 size)
{
	if (gpa + size <= MEM_SIZE)
		memcpy(mem + gpa, &v, size);
}

/* ---- test set-up: one translation path, described level by level ------------- */

enum tmode { T32, TPAE, T4L };

#define CR0_PE BIT(0)
#define CR0_WP BIT(16)
#define CR0_PG BIT(31)
#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define CR4_SMEP BIT(20)
#define CR4_SMAP BIT(21)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)
#define RFLAGS_AC BIT(18)

/* One level of the path, as the test builds it. */
struct lvl {
	bool p, w, u, nx, a, d;
	bool ps;         /* this level maps the page (levels 2 and 3 only) */
	u64 extra;       /* further bits ORed in (reserved-bit tests) */
};

struct path {
	enum tmode mode;
	int top;                 /* 2, 3, 4 */
	int leaf;                /* level that maps the page */
	struct lvl l[5];         /* by level */
	gpa_t table[5];          /* where each level's table lives */
	gpa_t page;              /* physical page (leaf frame base) */
	gva_t gva;
};

static u64 page_size_of(const struct path *p)
{
	if (p->leaf == 1)
		return 4096;
	if (p->mode == T32)
		return 4u << 20;
	return 1ULL << (12 + 9 * (p->leaf - 1));
}

static u32 esize(const struct path *p) { return p->mode == T32 ? 4 : 8; }

static u64 index_of(const struct path *p, int level)
{
	if (p->mode == T32)
		return (p->gva >> (level == 2 ? 22 : 12)) & 1023;
	if (p->mode == TPAE && level == 3)
		return (p->gva >> 30) & 3;
	return (p->gva >> (12 + 9 * (level - 1))) & 511;
}

static gpa_t entry_addr(const struct path *p, int level)
{
	return p->table[level] + index_of(p, level) * esize(p);
}

/* Encode one entry of the path (what a guest OS would write). */
static u64 encode(const struct path *p, int level)
{
	const struct lvl *l = &p->l[level];
	bool pdpte = p->mode == TPAE && level == 3;
	u64 e = 0;

	if (l->p)
		e |= GPTE_P;
	if (!pdpte) {
		e |= (l->w ? GPTE_W : 0) | (l->u ? GPTE_U : 0) | (l->a ? GPTE_A : 0);
		if (p->mode != T32 && l->nx)
			e |= GPTE_NX;
	}
	if (level == p->leaf) {
		if (l->d)
			e |= GPTE_D;
		if (level > 1)
			e |= GPTE_PS;
		if (p->mode == T32 && level == 2)
			e |= (p->page & 0xffc00000u) | (((p->page >> 32) & 0xff) << 13);
		else
			e |= p->page;
	} else {
		e |= p->table[level - 1];
	}
	return e | l->extra;
}

/* Write the path's entries (the rest of memory is never read by a walk of this path). */
static void build(struct path *p)
{
	for (int level = p->top; level >= p->leaf; level--)
		mem_put(entry_addr(p, level), encode(p, level), esize(p));
}

/* A path whose indices are non-zero at every level (so wrong indexing shows). */
static void path_init(struct path *p, enum tmode mode, int leaf)
{
	memset(p, 0, sizeof(*p));
	p->mode = mode;
	p->top = mode == T32 ? 2 : mode == TPAE ? 3 : 4;
	p->leaf = leaf;
	p->table[4] = 0x10000;
	p->table[3] = mode == TPAE ? 0x20040 : 0x20000; /* PAE: a 32-byte aligned PDPT */
	p->table[2] = 0x30000;
	p->table[1] = 0x40000;
	if (mode == T32)
		p->gva = (0x2d5ULL << 22) | (0x1a7ULL << 12) | 0x9c4;
	else if (mode == TPAE)
		p->gva = (2ULL << 30) | (0x1b3ULL << 21) | (0x0f1ULL << 12) | 0x9c4;
	else
		p->gva = 0xffff800000000000ULL | (0x1e2ULL << 39) | (0x0c5ULL << 30) |
			 (0x1b3ULL << 21) | (0x0f1ULL << 12) | 0x9c4;
	if (leaf == 1)
		p->page = 0x7654000;
	else if (mode == T32)
		p->page = 0x3400000ULL | (0x5aULL << 32); /* PSE-36: bits 39:32 in PDE 20:13 */
	else
		p->page = (0x123ULL << 30) & ~(page_size_of(p) - 1);
	for (int level = 1; level <= 4; level++)
		p->l[level] = (struct lvl){ .p = true, .w = true, .u = true };
}

struct ctl {
	bool wp, smep, smap, nxe, ac, pse;
};

static struct walk_env env_for(const struct path *p, const struct ctl *c, u8 maxphy, u32 feat)
{
	struct walk_env env = { 0 };

	env.cr0 = CR0_PE | CR0_PG | (c->wp ? CR0_WP : 0);
	env.cr3 = p->table[p->top];
	env.cr4 = (c->smep ? CR4_SMEP : 0) | (c->smap ? CR4_SMAP : 0) | (c->pse ? CR4_PSE : 0) |
		  (p->mode != T32 ? CR4_PAE : 0);
	env.efer = (c->nxe ? EFER_NXE : 0) | (p->mode == T4L ? EFER_LME | EFER_LMA : 0);
	env.rflags = c->ac ? RFLAGS_AC : 0;
	env.read_gpa = mem_read;
	env.cmpxchg_gpa = mem_cmpxchg;
	env.maxphyaddr = maxphy;
	env.features = feat;
	return env;
}

/* ---- the reference model --------------------------------------------------- */

struct expect {
	bool fault;
	u32 pfec;
	gpa_t gpa;
	bool a_after[5]; /* Accessed flag of each level after the walk */
	bool d_after;    /* Dirty flag of the leaf after the walk */
};

/*
 * SDM vol. 3A 4.6.1, read as a list of what each kind of access may do.
 * Written from the manual's sentences, not from the walker.
 */
static bool model_allows(bool user_addr, bool writable, bool executable, const struct ctl *c,
			 u32 access)
{
	bool write = access & WALK_WRITE, fetch = access & WALK_FETCH;

	if (access & WALK_USER) {
		/* "user-mode accesses ... only to user-mode addresses" */
		if (fetch)
			return user_addr && executable;
		if (write)
			return user_addr && writable;
		return user_addr;
	}
	if (fetch) {
		/* supervisor fetches: XD applies; SMEP forbids user-mode addresses */
		if (user_addr && c->smep)
			return false;
		return executable;
	}
	/* supervisor data access to a user-mode address under SMAP: only explicit with AC=1 */
	if (user_addr && c->smap && ((access & WALK_IMPLICIT) || !c->ac))
		return false;
	if (write)
		return writable || !c->wp;
	return true;
}

static bool model_pdpte(const struct path *p, int level) { return p->mode == TPAE && level == 3; }

static void model(const struct path *p, const struct ctl *c, u32 access, struct expect *x)
{
	bool user_addr = true, writable = true, executable = true;
	bool xd_valid = p->mode != T32 && c->nxe;
	int level;

	memset(x, 0, sizeof(*x));
	for (level = 1; level <= 4; level++)
		x->a_after[level] = p->l[level].a;
	x->d_after = p->l[p->leaf].d;
	if (access & WALK_WRITE)
		x->pfec |= PFEC_W;
	if (access & WALK_USER)
		x->pfec |= PFEC_U;
	if ((access & WALK_FETCH) && (c->smep || (p->mode != T32 && c->nxe)))
		x->pfec |= PFEC_I;
	for (level = p->top; level >= p->leaf; level--) {
		const struct lvl *l = &p->l[level];
		bool nx_reserved = p->mode != T32 && !model_pdpte(p, level) && l->nx && !c->nxe;

		if (!l->p) {
			x->fault = true;
			return;
		}
		if (nx_reserved || l->extra) { /* the tests only put reserved bits in extra */
			x->fault = true;
			x->pfec |= PFEC_P | PFEC_RSVD;
			return;
		}
		if (!model_pdpte(p, level)) {
			user_addr = user_addr && l->u;
			writable = writable && l->w;
			executable = executable && !(xd_valid && l->nx);
			if (level != p->leaf)
				x->a_after[level] = true;
		}
	}
	x->gpa = p->page | (p->gva & (page_size_of(p) - 1));
	if (!model_allows(user_addr, writable, executable, c, access)) {
		x->fault = true;
		x->pfec |= PFEC_P;
		return;
	}
	x->a_after[p->leaf] = true;
	if (access & WALK_WRITE)
		x->d_after = true;
}

/* ---- comparing ------------------------------------------------------------- */

static const u32 accesses[] = {
	0, WALK_WRITE, WALK_FETCH,
	WALK_USER, WALK_USER | WALK_WRITE, WALK_USER | WALK_FETCH,
	WALK_IMPLICIT, WALK_IMPLICIT | WALK_WRITE,
};

static unsigned long checked;

static void check_one(struct path *p, const struct ctl *c, u32 access, u8 maxphy, u32 feat)
{
	struct walk_env env = env_for(p, c, maxphy, feat);
	struct walk_result r;
	struct expect x;
	int err;

	build(p);
	model(p, c, access, &x);
	err = guest_walk(&env, p->gva, access, &r);
	if (err != (x.fault ? -EFAULT : 0) || (x.fault && r.pfec != x.pfec) ||
	    (!x.fault && r.gpa != x.gpa)) {
		print_error("mode %d leaf %d access %#x wp%d smep%d smap%d nxe%d ac%d: err %d pfec %#x "
			    "gpa %#llx, expected fault %d pfec %#x gpa %#llx\n", p->mode, p->leaf, access,
			    c->wp, c->smep, c->smap, c->nxe, c->ac, err, r.pfec,
			    (unsigned long long)r.gpa, x.fault, x.pfec, (unsigned long long)x.gpa);
		for (int lv = p->top; lv >= p->leaf; lv--)
			print_error("  level %d: %#llx\n", lv, (unsigned long long)encode(p, lv));
		fail();
	}
	for (int level = p->top; level >= p->leaf; level--) {
		u64 e = mem_get(entry_addr(p, level), esize(p));

		if (model_pdpte(p, level)) {
			assert_int_equal(e, encode(p, level)); /* PAE PDPTEs are never written */
			continue;
		}
		if (!!(e & GPTE_A) != x.a_after[level]) {
			print_error("level %d A=%d, expected %d (access %#x, fault %d)\n", level,
				    !!(e & GPTE_A), x.a_after[level], access, x.fault);
			fail();
		}
		if (level == p->leaf)
			assert_int_equal(!!(e & GPTE_D), x.d_after);
		/* Nothing but A and D ever changes. */
		assert_int_equal(e & ~(GPTE_A | GPTE_D), encode(p, level) & ~(GPTE_A | GPTE_D));
	}
	checked++;
}

/* Every control setting and access for the current path. */
static void check_all_controls(struct path *p, u8 maxphy, u32 feat)
{
	for (int bits = 0; bits < 32; bits++) {
		struct ctl c = { bits & 1, bits & 2, bits & 4, bits & 8, bits & 16, true };

		for (size_t i = 0; i < sizeof(accesses) / sizeof(accesses[0]); i++)
			check_one(p, &c, accesses[i], maxphy, feat);
	}
}

/*
 * Every combination of W, U, XD at every level of the path (XD only where the
 * format has it), each with every level present and with each level missing.
 */
static void sweep_path(enum tmode mode, int leaf, u32 feat)
{
	struct path p;
	int top = mode == T32 ? 2 : mode == TPAE ? 3 : 4;
	int perm_levels = 0, bits_per = mode == T32 ? 2 : 3;
	int lv[5];

	path_init(&p, mode, leaf);
	for (int level = top; level >= leaf; level--)
		if (!(mode == TPAE && level == 3))
			lv[perm_levels++] = level;
	for (u32 combo = 0; combo < (1u << (perm_levels * bits_per)); combo++) {
		for (int i = 0; i < perm_levels; i++) {
			u32 b = combo >> (i * bits_per);

			p.l[lv[i]].w = b & 1;
			p.l[lv[i]].u = b & 2;
			p.l[lv[i]].nx = bits_per == 3 && (b & 4);
		}
		for (int missing = 0; missing <= top; missing++) {
			if (missing && missing < leaf)
				continue;
			for (int level = 1; level <= 4; level++)
				p.l[level].p = level != missing;
			check_all_controls(&p, 40, feat);
		}
	}
}

static void test_32bit_4k(void **state) { sweep_path(T32, 1, 0); }
static void test_32bit_4m(void **state) { sweep_path(T32, 2, 0); }
static void test_pae_4k(void **state) { sweep_path(TPAE, 1, 0); }
static void test_pae_2m(void **state) { sweep_path(TPAE, 2, 0); }
static void test_4level_4k(void **state) { sweep_path(T4L, 1, 0); }
static void test_4level_2m(void **state) { sweep_path(T4L, 2, 0); }
static void test_4level_1g(void **state) { sweep_path(T4L, 3, WALK_F_1G_PAGES); }

/* A and D already set: the walk writes nothing; clear: set with one update per entry. */
static void test_accessed_dirty_updates(void **state)
{
	struct ctl c = { .wp = true, .nxe = true, .pse = true };
	struct path p;

	path_init(&p, T4L, 1);
	for (int level = 1; level <= 4; level++)
		p.l[level].a = p.l[level].d = true;
	cmpxchg_calls = 0;
	check_one(&p, &c, WALK_WRITE, 40, 0);
	assert_int_equal(cmpxchg_calls, 0);
	for (int level = 1; level <= 4; level++)
		p.l[level].a = p.l[level].d = false;
	cmpxchg_calls = 0;
	check_one(&p, &c, WALK_WRITE, 40, 0);
	assert_int_equal(cmpxchg_calls, 4); /* 3 non-leaf A, one leaf A|D */
	cmpxchg_calls = 0;
	check_one(&p, &c, 0, 40, 0); /* a read sets A only */
	assert_int_equal(cmpxchg_calls, 4);
}

/* Without a cmpxchg callback the tables are left untouched (the old behaviour). */
static void test_no_updates_without_cmpxchg(void **state)
{
	struct ctl c = { .wp = true, .pse = true };
	struct walk_result r;
	struct walk_env env;
	struct path p;

	path_init(&p, TPAE, 1);
	build(&p);
	env = env_for(&p, &c, 40, 0);
	env.cmpxchg_gpa = NULL;
	assert_int_equal(guest_walk(&env, p.gva, WALK_WRITE, &r), 0);
	assert_int_equal(mem_get(entry_addr(&p, 1), 8), encode(&p, 1));
	assert_int_equal(mem_get(entry_addr(&p, 2), 8), encode(&p, 2));
}

/* Another CPU changes an entry between the read and the update: the walk starts over. */
static void test_update_race_retries(void **state)
{
	struct ctl c = { .wp = true, .pse = true };
	struct walk_result r;
	struct walk_env env;
	struct path p;

	path_init(&p, T4L, 1);
	build(&p);
	env = env_for(&p, &c, 40, 0);
	interfere = 2;                 /* the second update (level 3's A) loses the race */
	interfere_set = BIT(9);        /* an ignored bit, as an OS would use */
	interfere_clear = 0;
	assert_int_equal(guest_walk(&env, p.gva, WALK_WRITE, &r), 0);
	assert_int_equal(interfere, 0);
	assert_true(mem_get(entry_addr(&p, 3), 8) & BIT(9));
	for (int level = 1; level <= 4; level++)
		assert_true(mem_get(entry_addr(&p, level), 8) & GPTE_A);
	assert_true(mem_get(entry_addr(&p, 1), 8) & GPTE_D);
	/* The other CPU clears the leaf's present bit meanwhile: the new walk faults. */
	build(&p);
	interfere = 4;                 /* the leaf's A|D update */
	interfere_set = 0;
	interfere_clear = GPTE_P;
	assert_int_equal(guest_walk(&env, p.gva, WALK_WRITE, &r), -EFAULT);
	assert_int_equal(r.pfec, PFEC_W);
	assert_false(mem_get(entry_addr(&p, 1), 8) & (GPTE_A | GPTE_D));
	interfere_clear = 0;
}

/* ---- reserved bits: the SDM's tables, for several MAXPHYADDR values --------- */

/* Bits that must be zero in a present entry of this level (SDM tables 4-4 .. 4-20). */
static u64 sdm_reserved(enum tmode mode, int level, bool ps, u8 m, bool nxe, bool gb)
{
	u64 r = 0;

	switch (mode) {
	case T32:
		if (level == 2 && ps) {
			r |= BIT(21);
			for (int b = m - 19; b <= 20 && m < 40; b++)
				if (b >= 13)
					r |= BIT(b);
		}
		return r;
	case TPAE:
		if (level == 3) /* bit 5 is tolerated: AMD CPUs and QEMU set it as Accessed */
			return BIT(1) | BIT(2) | BIT(6) | BIT(7) | BIT(8) | GENMASK(63, m);
		r = GENMASK(62, m) | (nxe ? 0 : BIT(63));
		if (level == 2 && ps)
			r |= GENMASK(20, 13);
		return r;
	case T4L:
		r = (m < 52 ? GENMASK(51, m) : 0) | (nxe ? 0 : BIT(63));
		if (level == 4)
			r |= BIT(7);
		if (level == 3 && ps)
			r |= gb ? GENMASK(29, 13) : BIT(7);
		if (level == 2 && ps)
			r |= GENMASK(20, 13);
		return r;
	}
	return 0;
}

static void reserved_sweep(enum tmode mode, int leaf, u32 feat)
{
	static const u8 maxphys[] = { 36, 40, 46, 52 };
	bool gb = feat & WALK_F_1G_PAGES;

	for (size_t mi = 0; mi < sizeof(maxphys); mi++) {
		u8 m = maxphys[mi];

		for (int nxe = 0; nxe <= 1; nxe++) {
			struct ctl c = { .wp = true, .nxe = nxe, .pse = true };
			struct path p;
			int top;

			path_init(&p, mode, leaf);
			top = p.top;
			for (int level = top; level >= leaf; level--) {
				u64 rs = sdm_reserved(mode, level, level == leaf && leaf > 1, m, nxe, gb);
				int width = mode == T32 ? 32 : 64;

				for (int b = 0; b < width; b++) {
					u64 bit = 1ULL << b;
					struct walk_env env;
					struct walk_result r;
					u64 e;
					int err;

					path_init(&p, mode, leaf);
					p.page &= (1ULL << m) - 1; /* an address the CPU can have */
					build(&p);
					e = encode(&p, level);
					if (e & bit)
						continue; /* a bit the entry needs (P, PS, address) */
					if (b == 7 && level != leaf && !(rs & bit))
						continue; /* PS there makes it a large page: another test */
					mem_put(entry_addr(&p, level), e | bit, esize(&p));
					env = env_for(&p, &c, m, feat);
					err = guest_walk(&env, p.gva, 0, &r);
					if (rs & bit) {
						if (err != -EFAULT || r.pfec != (PFEC_P | PFEC_RSVD)) {
							print_error("mode %d level %d bit %d M=%u nxe=%d: not "
								    "reserved (err %d pfec %#x)\n", mode, level,
								    b, m, nxe, err, r.pfec);
							fail();
						}
					} else if (err == -EFAULT && (r.pfec & PFEC_RSVD)) {
						print_error("mode %d level %d bit %d M=%u nxe=%d: wrongly "
							    "reserved\n", mode, level, b, m, nxe);
						fail();
					}
					checked++;
				}
			}
		}
	}
}

static void test_reserved_bits(void **state)
{
	reserved_sweep(T32, 1, 0);
	reserved_sweep(T32, 2, 0);
	reserved_sweep(TPAE, 1, 0);
	reserved_sweep(TPAE, 2, 0);
	reserved_sweep(T4L, 1, 0);
	reserved_sweep(T4L, 2, 0);
	reserved_sweep(T4L, 3, WALK_F_1G_PAGES);
}

/* Without 1 GiB pages (CPUID), PS in a PDPTE is a reserved bit. */
static void test_1g_page_without_feature(void **state)
{
	struct ctl c = { .wp = true, .pse = true };
	struct walk_result r;
	struct walk_env env;
	struct path p;

	path_init(&p, T4L, 3);
	build(&p);
	env = env_for(&p, &c, 40, 0);
	assert_int_equal(guest_walk(&env, p.gva, WALK_WRITE, &r), -EFAULT);
	assert_int_equal(r.pfec, PFEC_P | PFEC_RSVD | PFEC_W);
	env.features = WALK_F_1G_PAGES;
	assert_int_equal(guest_walk(&env, p.gva, WALK_WRITE, &r), 0);
	assert_int_equal(r.page_size, 1u << 30);
}

/* ---- smaller cases ----------------------------------------------------------- */

static void test_paging_off(void **state)
{
	struct walk_env env = { .cr0 = CR0_PE, .read_gpa = mem_read };
	struct walk_result r;

	assert_int_equal(guest_walk(&env, 0x1234567890ULL, WALK_WRITE | WALK_USER, &r), 0);
	assert_int_equal(r.gpa, 0x34567890ULL);
	assert_int_equal(r.levels, 0);
}

/* 32-bit paging without CR4.PSE: PS in a PDE is ignored and the PDE points to a table. */
static void test_32bit_ps_ignored_without_pse(void **state)
{
	struct ctl c = { .wp = true, .pse = false };
	struct walk_result r;
	struct walk_env env;
	struct path p;

	path_init(&p, T32, 1);
	build(&p);
	mem_put(entry_addr(&p, 2), encode(&p, 2) | GPTE_PS, 4);
	env = env_for(&p, &c, 40, 0);
	assert_int_equal(guest_walk(&env, p.gva, 0, &r), 0);
	assert_int_equal(r.gpa, p.page | (p.gva & 0xfff));
	assert_int_equal(r.leaf_level, 1);
	assert_int_equal(r.page_size, 4096);
}

/* PAE with PDPTE registers: the walk uses them, not the PDPT in memory. */
static void test_pae_pdpte_registers(void **state)
{
	struct ctl c = { .wp = true, .pse = true };
	u64 regs[4] = { 0 };
	struct walk_result r;
	struct walk_env env;
	struct path p;

	path_init(&p, TPAE, 1);
	build(&p);
	env = env_for(&p, &c, 40, 0);
	env.pdptes = regs;
	assert_int_equal(guest_walk(&env, p.gva, 0, &r), -EFAULT);   /* register not present */
	assert_int_equal(r.pfec, 0);
	regs[index_of(&p, 3)] = encode(&p, 3);
	mem_put(entry_addr(&p, 3), 0, 8);                             /* memory changed since */
	assert_int_equal(guest_walk(&env, p.gva, 0, &r), 0);
	assert_int_equal(r.gpa, p.page | (p.gva & 0xfff));
}

/* Trace of the walk: levels, entries and their addresses, effective rights. */
static void test_trace(void **state)
{
	struct ctl c = { .wp = true, .nxe = true, .pse = true };
	struct walk_result r;
	struct walk_env env;
	struct path p;

	path_init(&p, T4L, 2);
	p.l[3].w = false;
	p.l[2].nx = true;
	build(&p);
	env = env_for(&p, &c, 40, 0);
	assert_int_equal(guest_walk(&env, p.gva, WALK_USER, &r), 0);
	assert_int_equal(r.top_level, 4);
	assert_int_equal(r.leaf_level, 2);
	assert_int_equal(r.levels, 3);
	assert_int_equal(r.page_size, 2u << 20);
	assert_int_equal(r.perm, WALK_PERM_U);
	for (int level = 4; level >= 2; level--) {
		assert_int_equal(r.pte_gpa[level], entry_addr(&p, level));
		assert_int_equal(r.pte[level], mem_get(entry_addr(&p, level), 8));
	}
}

/* A table outside guest memory is -EIO, not a fault. */
static void test_table_not_in_ram(void **state)
{
	struct ctl c = { .wp = true, .pse = true };
	struct walk_result r;
	struct walk_env env;
	struct path p;

	path_init(&p, T4L, 1);
	p.table[2] = 0x7ff0000000ULL;
	build(&p);
	env = env_for(&p, &c, 40, 0);
	assert_int_equal(guest_walk(&env, p.gva, 0, &r), -EIO);
}

static int setup(void **state)
{
	mem = calloc(1, MEM_SIZE);
	return mem ? 0 : -1;
}

static int teardown(void **state)
{
	free(mem);
	print_message("walk: %lu walks checked against the model\n", checked);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_32bit_4k),
		cmocka_unit_test(test_32bit_4m),
		cmocka_unit_test(test_pae_4k),
		cmocka_unit_test(test_pae_2m),
		cmocka_unit_test(test_4level_4k),
		cmocka_unit_test(test_4level_2m),
		cmocka_unit_test(test_4level_1g),
		cmocka_unit_test(test_accessed_dirty_updates),
		cmocka_unit_test(test_no_updates_without_cmpxchg),
		cmocka_unit_test(test_update_race_retries),
		cmocka_unit_test(test_reserved_bits),
		cmocka_unit_test(test_1g_page_without_feature),
		cmocka_unit_test(test_paging_off),
		cmocka_unit_test(test_32bit_ps_ignored_without_pse),
		cmocka_unit_test(test_pae_pdpte_registers),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_table_not_in_ram),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
