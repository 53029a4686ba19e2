/*
 * Shadow MMU core (hv/mmu/shadow_*.c) on simulated memory. A simulated CPU
 * walks the shadow tables the MMU builds (with the verified guest walker as
 * its page-walk hardware: it sets Accessed/Dirty in shadow entries as a CPU
 * does) and keeps a TLB that is only flushed when the MMU asks. Every access
 * is compared with a reference walk of the guest's own tables; the audit must
 * be clean after every step. Covers every paging mode and page size,
 * write-protection of guest tables and emulated entry writes, reverse-map
 * chains with thousands of mappings of one frame, root reuse across CR3
 * switches (and its absence with the cache off), INVLPG, global pages, write
 * flooding, reclaim under a tiny budget, CR checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/mman.h>
#include "hv/mmu/shadow_internal.h"
#include "kernel/log.h"

#define MB (1ULL << 20)
#define GUEST_RAM (16 * MB)
#define MMIO_GPA 0xfee00000ULL

#define CR0_PE BIT(0)
#define CR0_WP BIT(16)
#define CR0_PG BIT(31)
#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define CR4_PGE BIT(7)
#define CR4_SMEP BIT(20)
#define CR4_SMAP BIT(21)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)
#define RFLAGS_AC BIT(18)

/* ---- host stand-ins ------------------------------------------------------------------ */

static int log_errors;
void printk(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (level <= LOG_ERR) {
		log_errors++;
		vfprintf(stderr, fmt, ap);
	}
	va_end(ap);
}

static int live_allocs, live_pages, remote_flushes;
static int fail_page_allocs; /* > 0: that many page allocations fail */

/* "Host-physical" addresses are host pointers: the simulated CPU reads tables by address. */
static int t_alloc_page(void *ctx, bool below_4g, hpa_t *pa, u64 **va)
{
	void *p;

	if (fail_page_allocs > 0) {
		fail_page_allocs--;
		return -ENOMEM;
	}
	if (below_4g) { /* a PAE root: CR3 holds 32 bits */
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
		assert_true((uintptr_t)p < (1ULL << 32));
	} else {
		p = aligned_alloc(4096, 4096);
		if (!p)
			return -ENOMEM;
	}
	memset(p, 0, 4096);
	*pa = (hpa_t)(uintptr_t)p;
	*va = p;
	live_pages++;
	return 0;
}

static void t_free_page(void *ctx, hpa_t pa, u64 *va)
{
	assert_int_equal(pa, (hpa_t)(uintptr_t)va);
	memset(va, 0x5a, 4096); /* a freed page must never be walked again */
	if ((uintptr_t)va < (1ULL << 32))
		munmap(va, 4096);
	else
		free(va);
	live_pages--;
}

static void *t_zalloc(void *ctx, size_t size)
{
	void *p = calloc(1, size);

	if (p)
		live_allocs++;
	return p;
}

static void t_free(void *ctx, void *p)
{
	if (p)
		live_allocs--;
	free(p);
}

static void t_remote_flush(void *ctx) { remote_flushes++; }

static const struct shadow_ops ops = { t_alloc_page, t_free_page, t_zalloc, t_free, t_remote_flush };

static int chunk_alloc(struct gmem_chunk *c)
{
	c->hva = aligned_alloc(GMEM_CHUNK_SIZE, GMEM_CHUNK_SIZE);
	if (!c->hva)
		return -ENOMEM;
	memset(c->hva, 0, GMEM_CHUNK_SIZE);
	c->hpa = (hpa_t)(uintptr_t)c->hva;
	return 0;
}

static void chunk_free(const struct gmem_chunk *c) { free(c->hva); }

static const struct gmem_allocator chunks = { chunk_alloc, chunk_free };

/* ---- the guest: memory, page-table builder --------------------------------------------- */

static struct gmem mem;
static gpa_t next_frame;

static gpa_t gframe(void)
{
	gpa_t pa = next_frame;
	u8 zero[4096] = { 0 };

	next_frame += 4096;
	assert_true(next_frame <= GUEST_RAM);
	assert_int_equal(gmem_write(&mem, pa, zero, 4096), 0);
	return pa;
}

static u64 gget(gpa_t gpa, u32 size)
{
	u64 v = 0;

	assert_int_equal(gmem_read(&mem, gpa, &v, size), 0);
	return v;
}

static void gput(gpa_t gpa, u64 v, u32 size) { assert_int_equal(gmem_write(&mem, gpa, &v, size), 0); }

struct space {
	enum shadow_mode mode;
	u64 cr3;
};

static u32 esz(const struct space *s) { return s->mode == SHADOW_MODE_32BIT ? 4 : 8; }
static int top_of(const struct space *s) { return s->mode == SHADOW_MODE_32BIT ? 2 : s->mode == SHADOW_MODE_PAE ? 3 : 4; }

static u64 gindex(const struct space *s, int level, gva_t va)
{
	if (s->mode == SHADOW_MODE_32BIT)
		return (va >> (level == 2 ? 22 : 12)) & 1023;
	if (s->mode == SHADOW_MODE_PAE && level == 3)
		return (va >> 30) & 3;
	return (va >> (12 + 9 * (level - 1))) & 511;
}

static gpa_t space_new(struct space *s, enum shadow_mode mode)
{
	s->mode = mode;
	s->cr3 = gframe();
	if (mode == SHADOW_MODE_PAE)
		s->cr3 += 0x40; /* a PDPT need only be 32-byte aligned */
	return s->cr3;
}

#define TABLE_FLAGS (GPTE_P | GPTE_W | GPTE_U)

/* Address of the guest entry for va at `level`, creating tables above it. */
static gpa_t gentry(struct space *s, gva_t va, int level)
{
	gpa_t table = s->mode == SHADOW_MODE_32BIT ? s->cr3 & ~0xfffULL : s->cr3;

	for (int l = top_of(s); ; l--) {
		gpa_t at = (table & ~(s->mode == SHADOW_MODE_PAE && l == 3 ? 0x1fULL : 0xfffULL)) +
			   gindex(s, l, va) * esz(s);
		u64 e;

		if (s->mode == SHADOW_MODE_PAE && l == 3)
			at = s->cr3 + gindex(s, l, va) * 8;
		if (l == level)
			return at;
		e = gget(at, esz(s));
		if (!(e & GPTE_P)) {
			bool pdpte = s->mode == SHADOW_MODE_PAE && l == 3;

			e = gframe() | (pdpte ? GPTE_P : TABLE_FLAGS);
			gput(at, e, esz(s));
		}
		table = e & (s->mode == SHADOW_MODE_32BIT ? 0xfffff000ULL : GPTE_ADDR_MASK);
	}
}

/* Map va -> pa with leaf flags at leaf level (PS added for large pages). */
static void gmap(struct space *s, gva_t va, gpa_t pa, u64 flags, int level)
{
	u64 e = flags | (level > 1 ? GPTE_PS : 0);

	if (s->mode == SHADOW_MODE_32BIT && level == 2)
		e |= (pa & 0xffc00000ULL) | (((pa >> 32) & 0xff) << 13);
	else
		e |= pa;
	gput(gentry(s, va, level), e, esz(s));
}

/* ---- the simulated CPU ------------------------------------------------------------------- */

#define TLB_SIZE 64
struct tlb_entry {
	bool valid;
	gva_t page;
	hpa_t frame;
	u32 perm;
};

struct cpu {
	struct shadow_cpu *sc;
	struct space *space;
	u64 cr0, cr4, efer, rflags;
	struct tlb_entry tlb[TLB_SIZE];
	u64 hits, walks;
};

static struct shadow_mmu *mmu;
static struct shadow_config cfg;

static int host_read(void *ctx, gpa_t pa, void *buf, u32 size)
{
	memcpy(buf, (void *)(uintptr_t)pa, size);
	return 0;
}

/* Hardware sets A/D in shadow entries with a locked update. */
static int host_cmpxchg(void *ctx, gpa_t pa, u64 old, u64 new, u32 size)
{
	return __atomic_compare_exchange_n((u64 *)(uintptr_t)pa, &old, new, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST) ? 0 : -EAGAIN;
}

static void tlb_flush(struct cpu *c, u32 flags, gva_t addr)
{
	for (int i = 0; i < TLB_SIZE; i++)
		if ((flags & SHADOW_FLUSH_ALL) || c->tlb[i].page == (addr & ~0xfffULL))
			c->tlb[i].valid = false;
}

static bool tlb_allows(u32 perm, u32 access, const struct walk_env *hw)
{
	if ((access & WALK_USER) && !(perm & WALK_PERM_U))
		return false;
	if ((access & WALK_WRITE) && !(perm & WALK_PERM_W))
		return false; /* hardware CR0.WP is always on */
	if ((access & WALK_FETCH) && !(perm & WALK_PERM_X))
		return false;
	if (!(access & WALK_USER) && (perm & WALK_PERM_U)) {
		if ((access & WALK_FETCH) && (hw->cr4 & CR4_SMEP))
			return false;
		if (!(access & WALK_FETCH) && (hw->cr4 & CR4_SMAP) && !(hw->rflags & RFLAGS_AC))
			return false;
	}
	return true;
}

enum outcome { OK, GUEST_PF, MMIO, EMULATED, FATAL };

struct result {
	enum outcome what;
	hpa_t hpa;        /* OK: host address reached */
	gpa_t gpa;        /* MMIO / EMULATED */
	u32 pfec;         /* GUEST_PF */
	bool wp0;
};

/* One hardware attempt: TLB, else a walk of the shadow tables. 0 or -EFAULT with *pfec. */
static int hw_access(struct cpu *c, gva_t va, u32 access, hpa_t *hpa, u32 *pfec)
{
	struct shadow_hw hw;
	struct walk_env env = { 0 };
	struct walk_result r;
	struct tlb_entry *t = &c->tlb[(va >> 12) % TLB_SIZE];
	gva_t addr;
	u32 flags = shadow_cpu_enter(c->sc, &hw, &addr);

	tlb_flush(c, flags, addr);
	env.cr0 = hw.cr0;
	env.cr3 = hw.cr3;
	env.cr4 = hw.cr4;
	env.efer = hw.efer;
	env.rflags = c->rflags;
	env.read_gpa = host_read;
	env.cmpxchg_gpa = host_cmpxchg;
	assert_true(hw.cr0 & CR0_PG);
	assert_true(hw.cr0 & CR0_WP);
	assert_true(hw.cr4 & CR4_PAE);
	if (t->valid && t->page == (va & ~0xfffULL)) {
		if (tlb_allows(t->perm, access, &env)) {
			c->hits++;
			*hpa = t->frame | (va & 0xfff);
			return 0;
		}
		*pfec = walk_access_pfec(&env, access) | PFEC_P; /* faults on the cached rights */
		return -EFAULT;
	}
	c->walks++;
	if (guest_walk(&env, va, access & ~WALK_IMPLICIT, &r)) {
		*pfec = r.pfec;
		return -EFAULT;
	}
	*hpa = r.gpa;
	*t = (struct tlb_entry){ true, va & ~0xfffULL, r.gpa & ~0xfffULL, r.perm };
	return 0;
}

/* An access by the guest until it completes, faults for the guest, or needs emulation. */
static struct result cpu_access(struct cpu *c, gva_t va, u32 access)
{
	struct result res = { 0 };

	for (int tries = 0; tries < 16; tries++) {
		struct shadow_fault_info info;
		u32 pfec;

		if (!hw_access(c, va, access, &res.hpa, &pfec)) {
			res.what = OK;
			return res;
		}
		switch (shadow_page_fault(c->sc, va, pfec, c->rflags, &info)) {
		case SHADOW_FIXED:
			continue;
		case SHADOW_INJECT:
			res.what = GUEST_PF;
			res.pfec = info.pfec;
			return res;
		case SHADOW_MMIO:
			res.what = MMIO;
			res.gpa = info.gpa;
			return res;
		case SHADOW_EMULATE:
			res.what = EMULATED;
			res.gpa = info.gpa;
			res.wp0 = info.wp0;
			return res;
		case SHADOW_FATAL:
			res.what = FATAL;
			return res;
		}
	}
	fail_msg("access to %#llx never completes", (unsigned long long)va);
	return res;
}

static void cpu_set(struct cpu *c, u64 cr0, u64 cr4, u64 efer)
{
	c->cr0 = cr0;
	c->cr4 = cr4;
	c->efer = efer;
	shadow_cpu_set_state(c->sc, cr0, c->space ? c->space->cr3 : 0, cr4, efer);
}

/* MOV CR3 by the guest. */
static void cpu_switch(struct cpu *c, struct space *s)
{
	c->space = s;
	assert_int_equal(shadow_cpu_write_cr(c->sc, 3, s->cr3, false), 0);
}

/* ---- the reference: the guest's own tables, as the architecture says -------------------- */

static int ref_walk(struct cpu *c, gva_t va, u32 access, struct walk_result *r)
{
	struct walk_env env;

	shadow_cpu_walk_env(c->sc, c->rflags, &env);
	env.cmpxchg_gpa = NULL; /* look without touching */
	return guest_walk(&env, va, access, r);
}

static u32 problems;
static void say(void *ctx, const char *line)
{
	fprintf(stderr, "audit: %s\n", line);
}

static void audit_clean(void)
{
	problems = shadow_audit(mmu, say, NULL, 20);
	assert_int_equal(problems, 0);
	assert_int_equal(log_errors, 0);
}

/*
 * Access va and check the outcome against the reference: same fault and error
 * code, or the frame the guest tables name; Accessed/Dirty set in the guest
 * entry on success. Writes that must be emulated are done here the way the
 * hypervisor would (store to guest memory, then tell the MMU).
 */
static struct result check_access(struct cpu *c, gva_t va, u32 access)
{
	struct walk_result ref;
	int err = ref_walk(c, va, access, &ref);
	struct result res = cpu_access(c, va, access);

	if (err == -EFAULT) {
		if (res.what != GUEST_PF || res.pfec != ref.pfec)
			fail_msg("va %#llx access %#x: outcome %d pfec %#x, reference #PF %#x",
				 (unsigned long long)va, access, res.what, res.pfec, ref.pfec);
		return res;
	}
	assert_int_equal(err, 0);
	if (!gmem_is_ram(&mem, ref.gpa, 1)) {
		assert_int_equal(res.what, MMIO);
		assert_int_equal(res.gpa, ref.gpa);
		return res;
	}
	if (res.what == EMULATED) {
		assert_true(access & WALK_WRITE);
		assert_int_equal(res.gpa, ref.gpa);
		shadow_guest_write(mmu, ref.gpa, 1);
	} else if (res.what != OK || res.hpa != gmem_chunk_hpa(&mem, ref.gpa) + (ref.gpa & (GMEM_CHUNK_SIZE - 1))) {
		fail_msg("va %#llx access %#x: outcome %d hpa %#llx, reference gpa %#llx",
			 (unsigned long long)va, access, res.what, (unsigned long long)res.hpa,
			 (unsigned long long)ref.gpa);
	}
	if (ref.leaf_level) {
		u64 e = gget(ref.pte_gpa[ref.leaf_level], esz(c->space));

		assert_true(e & GPTE_A);
		if (access & WALK_WRITE)
			assert_true(e & GPTE_D);
	}
	return res;
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static struct cpu cpus[2];

static void mmu_new(u32 budget, bool cache)
{
	cfg = (struct shadow_config){ .budget = budget, .cache = cache, .maxphyaddr = 40,
				      .walk_features = WALK_F_1G_PAGES, .nx_allowed = true,
				      .cr4_allowed = CR4_PSE | CR4_PAE | CR4_PGE | CR4_SMEP | CR4_SMAP | BIT(9) };
	mmu = shadow_mmu_create(&mem, &cfg, &ops, NULL);
	assert_non_null(mmu);
	for (int i = 0; i < 2; i++) {
		memset(&cpus[i], 0, sizeof(cpus[i]));
		cpus[i].sc = shadow_cpu_create(mmu);
		assert_non_null(cpus[i].sc);
	}
}

static int setup(void **state)
{
	gmem_init(&mem);
	if (gmem_add_ram(&mem, 0, GUEST_RAM, &chunks))
		return -1;
	next_frame = 1 * MB;
	log_errors = 0;
	remote_flushes = 0;
	fail_page_allocs = 0;
	mmu_new(4096, true);
	return 0;
}

static int teardown(void **state)
{
	for (int i = 0; i < 2; i++)
		shadow_cpu_destroy(cpus[i].sc);
	shadow_mmu_destroy(mmu);
	gmem_destroy(&mem, &chunks);
	assert_int_equal(live_allocs, 0);
	assert_int_equal(live_pages, 0);
	return 0;
}

static u64 mode_cr4(enum shadow_mode mode) { return mode == SHADOW_MODE_32BIT ? CR4_PSE : CR4_PAE; }
static u64 mode_efer(enum shadow_mode mode)
{
	return EFER_NXE | (mode == SHADOW_MODE_LONG ? EFER_LME | EFER_LMA : 0);
}

static void start(struct cpu *c, struct space *s, enum shadow_mode mode)
{
	space_new(s, mode);
	c->space = s;
	cpu_set(c, CR0_PE | CR0_PG | CR0_WP, mode_cr4(mode), mode_efer(mode));
}

static const u32 all_access[] = { 0, WALK_WRITE, WALK_FETCH, WALK_USER, WALK_USER | WALK_WRITE,
				  WALK_USER | WALK_FETCH };

/* ---- tests ------------------------------------------------------------------------------------ */

/* Paging off: an identity shadow of guest-physical memory; MMIO stays unmapped. */
static void test_nonpaging_identity(void **state)
{
	struct cpu *c = &cpus[0];
	struct result r;

	cpu_set(c, CR0_PE, 0, 0);
	assert_int_equal(shadow_cpu_mode(c->sc), SHADOW_MODE_NONPAGING);
	for (gpa_t pa = 0; pa < GUEST_RAM; pa += 0x13000) {
		r = cpu_access(c, pa + 0x10, WALK_WRITE);
		assert_int_equal(r.what, OK);
		assert_int_equal(r.hpa, gmem_chunk_hpa(&mem, pa) + (pa & (GMEM_CHUNK_SIZE - 1)) + 0x10);
	}
	r = cpu_access(c, MMIO_GPA + 0x30, 0);
	assert_int_equal(r.what, MMIO);
	assert_int_equal(r.gpa, MMIO_GPA + 0x30);
	audit_clean();
}

/* Every permission combination of a 4 KiB page in each mode, under every CR0.WP/SMEP/SMAP/AC. */
static void sweep_mode(enum shadow_mode mode, int leaf_level)
{
	struct cpu *c = &cpus[0];
	struct space s;
	gva_t base = mode == SHADOW_MODE_LONG ? 0x7f0000000000ULL : 0x40000000ULL;
	u64 size = leaf_level == 1 ? 4096 : leaf_level == 2 ? (mode == SHADOW_MODE_32BIT ? 4 * MB : 2 * MB)
								: 1ULL << 30;
	gpa_t data = leaf_level == 1 ? gframe() : 0;
	u32 combos = mode == SHADOW_MODE_32BIT ? 4 : 8;

	start(c, &s, mode);
	for (u32 p = 0; p < combos; p++) {
		u64 flags = GPTE_P | ((p & 1) ? GPTE_W : 0) | ((p & 2) ? GPTE_U : 0) | ((p & 4) ? GPTE_NX : 0);

		gmap(&s, base + p * size, data, flags, leaf_level);
	}
	for (u32 ctl = 0; ctl < 16; ctl++) {
		u64 cr0 = CR0_PE | CR0_PG | ((ctl & 1) ? CR0_WP : 0);
		u64 cr4 = mode_cr4(mode) | ((ctl & 2) ? CR4_SMEP : 0) | ((ctl & 4) ? CR4_SMAP : 0);

		c->rflags = (ctl & 8) ? RFLAGS_AC : 0;
		cpu_set(c, cr0, cr4, mode_efer(mode));
		for (u32 p = 0; p < combos; p++)
			for (size_t a = 0; a < sizeof(all_access) / sizeof(all_access[0]); a++)
				check_access(c, base + p * size + 0x88, all_access[a]);
		audit_clean();
	}
}

static void test_32bit_4k(void **state) { sweep_mode(SHADOW_MODE_32BIT, 1); }
static void test_32bit_4m(void **state) { sweep_mode(SHADOW_MODE_32BIT, 2); }
static void test_pae_4k(void **state) { sweep_mode(SHADOW_MODE_PAE, 1); }
static void test_pae_2m(void **state) { sweep_mode(SHADOW_MODE_PAE, 2); }
static void test_long_4k(void **state) { sweep_mode(SHADOW_MODE_LONG, 1); }
static void test_long_2m(void **state) { sweep_mode(SHADOW_MODE_LONG, 2); }
static void test_long_1g(void **state) { sweep_mode(SHADOW_MODE_LONG, 3); }

/* A write to a guest table page is emulated; the shadow follows the new entry. */
static void test_write_protect_and_emulated_pte_writes(void **state)
{
	struct cpu *c = &cpus[0];
	struct space s;
	gva_t va = 0x40000000, window = 0x50000000;
	gpa_t a = gframe(), b = gframe(), pte;
	struct result r;

	start(c, &s, SHADOW_MODE_LONG);
	gmap(&s, va, a, GPTE_P | GPTE_W, 1);
	pte = gentry(&s, va, 1);
	/* The page table holding va's entry, also mapped as data at `window`. */
	gmap(&s, window, pte & ~0xfffULL, GPTE_P | GPTE_W, 1);
	assert_int_equal(check_access(c, va, WALK_WRITE).what, OK);
	assert_true(shadow_gfn_protected(mmu, pte >> 12));
	r = check_access(c, window + (pte & 0xfff), WALK_WRITE);
	assert_int_equal(r.what, EMULATED);
	assert_false(r.wp0);
	/* The guest remaps va to b through its window; the emulated write carries it. */
	gput(pte, b | GPTE_P | GPTE_W | GPTE_A | GPTE_D, 8);
	shadow_guest_write(mmu, pte, 8);
	audit_clean();
	shadow_invlpg(c->sc, va);
	r = check_access(c, va, 0);
	assert_int_equal(r.hpa, gmem_chunk_hpa(&mem, b) + (b & (GMEM_CHUNK_SIZE - 1)));
	/* Read-only now: a write faults for the guest (P|W), as the reference says. */
	gput(pte, b | GPTE_P | GPTE_A, 8);
	shadow_guest_write(mmu, pte, 8);
	shadow_invlpg(c->sc, va);
	r = check_access(c, va, WALK_WRITE);
	assert_int_equal(r.what, GUEST_PF);
	assert_int_equal(r.pfec, PFEC_P | PFEC_W);
	/* Half of an 8-byte entry written (as 32-bit PAE code does): still followed. */
	gput(pte, 0, 4);
	shadow_guest_write(mmu, pte, 4);
	gput(pte + 4, 0, 4);
	shadow_guest_write(mmu, pte + 4, 4);
	shadow_invlpg(c->sc, va);
	assert_int_equal(check_access(c, va, 0).what, GUEST_PF);
	audit_clean();
}

/* Clearing A or D in a guest entry through emulation makes the next access set them again. */
static void test_accessed_dirty_tracking(void **state)
{
	struct cpu *c = &cpus[0];
	struct space s;
	gva_t va = 0x80001000;
	gpa_t a = gframe(), pte;

	start(c, &s, SHADOW_MODE_PAE);
	gmap(&s, va, a, GPTE_P | GPTE_W, 1);
	pte = gentry(&s, va, 1);
	cpu_switch(c, &s); /* the new PDPTE takes effect at a CR3 load */
	check_access(c, va, 0);
	assert_int_equal(gget(pte, 8) & (GPTE_A | GPTE_D), GPTE_A);
	check_access(c, va, WALK_WRITE);
	assert_int_equal(gget(pte, 8) & (GPTE_A | GPTE_D), GPTE_A | GPTE_D);
	gput(pte, gget(pte, 8) & ~(GPTE_A | GPTE_D), 8);
	shadow_guest_write(mmu, pte, 8);
	shadow_invlpg(c->sc, va);
	check_access(c, va, 0);
	assert_int_equal(gget(pte, 8) & (GPTE_A | GPTE_D), GPTE_A);
	check_access(c, va, WALK_WRITE);
	assert_int_equal(gget(pte, 8) & (GPTE_A | GPTE_D), GPTE_A | GPTE_D);
	audit_clean();
}

/* One frame mapped at thousands of addresses: long reverse-map chains, then protected. */
static void test_rmap_thousands(void **state)
{
	enum { N = 5000 };
	struct cpu *c = &cpus[0];
	struct space s;
	gpa_t shared = gframe();
	gva_t base = 0x10000000;
	struct shadow_stats st;
	struct shadow_gfn *meta;

	start(c, &s, SHADOW_MODE_LONG);
	for (u32 i = 0; i < N; i++)
		gmap(&s, base + i * 4096ULL, shared, GPTE_P | GPTE_W | GPTE_D, 1);
	for (u32 i = 0; i < N; i++)
		assert_int_equal(cpu_access(c, base + i * 4096ULL, WALK_WRITE).what, OK);
	meta = shadow_gfn_meta(mmu, shared >> 12);
	assert_int_equal(meta->rmap.count, N);
	shadow_mmu_get_stats(mmu, &st);
	assert_true(st.rmap_max >= N);
	audit_clean();
	/* The frame becomes a page table (of another address): every mapping turns read-only. */
	gput(shared, gframe() | GPTE_P, 8);
	gput(gentry(&s, 0x7000000000ULL, 2), shared | TABLE_FLAGS, 8);
	assert_int_equal(check_access(c, 0x7000000000ULL, 0).what, OK);
	assert_true(shadow_gfn_protected(mmu, shared >> 12));
	audit_clean();
	/* (More than SHADOW_FLOOD_LIMIT writes to a table nobody walks would unprotect it.) */
	for (u32 i = 0; i < N && i < 3 * 1601; i += 1601)
		assert_int_equal(check_access(c, base + i * 4096ULL, WALK_WRITE).what, EMULATED);
	/*
	 * Unmap every other mapping by emulated writes: the chain shrinks (page
	 * tables written this often without being walked may be dropped whole:
	 * touching the rest again brings back exactly those).
	 */
	for (u32 i = 0; i < N; i += 2) {
		gpa_t e = gentry(&s, base + i * 4096ULL, 1);

		gput(e, 0, 8);
		shadow_guest_write(mmu, e, 8);
	}
	assert_true(meta->rmap.count <= N / 2);
	audit_clean();
	for (u32 i = 0; i < N; i++) {
		shadow_invlpg(c->sc, base + i * 4096ULL);
		assert_int_equal(check_access(c, base + i * 4096ULL, 0).what, i & 1 ? OK : GUEST_PF);
	}
	assert_int_equal(meta->rmap.count, N / 2);
	audit_clean();
	shadow_mmu_zap_all(mmu);
	assert_int_equal(meta->rmap.count, 0);
	assert_false(shadow_gfn_protected(mmu, shared >> 12));
	audit_clean();
}

/* A tiny budget: pages are reclaimed, translations stay right, the audit stays clean. */
static void test_reclaim_tiny_budget(void **state)
{
	struct cpu *c = &cpus[0];
	struct space s;
	struct shadow_stats st;
	gpa_t data = gframe();

	shadow_mmu_configure(mmu, 20, true);
	start(c, &s, SHADOW_MODE_LONG);
	for (u32 i = 0; i < 64; i++)
		gmap(&s, 0x100000000ULL + i * (2 * MB) + (i % 7) * 4096, data + 0, GPTE_P | GPTE_W, 1);
	for (int round = 0; round < 3; round++) {
		for (u32 i = 0; i < 64; i++) {
			check_access(c, 0x100000000ULL + i * (2 * MB) + (i % 7) * 4096, i & 1 ? WALK_WRITE : 0);
			shadow_mmu_get_stats(mmu, &st);
			assert_true(st.pages_in_use <= 20);
		}
		audit_clean();
	}
	shadow_mmu_get_stats(mmu, &st);
	assert_true(st.reclaims > 50);
	assert_int_equal(st.budget, 20);
}

/* 16 address spaces: switching back reuses the root and its tables; the cache off does not. */
static void run_switches(bool cache, u64 *fills_per_switch, u64 *hits)
{
	struct cpu *c = &cpus[0];
	struct space s[16];
	struct shadow_stats a, b;
	gpa_t data[16];

	shadow_mmu_configure(mmu, 4096, cache);
	for (int i = 0; i < 16; i++) {
		data[i] = gframe();
		space_new(&s[i], SHADOW_MODE_LONG);
		for (int p = 0; p < 16; p++)
			gmap(&s[i], 0x400000 + p * 4096, data[i], GPTE_P | GPTE_W | GPTE_U, 1);
		gmap(&s[i], 0xffff800000000000ULL, data[0], GPTE_P | GPTE_W | GPTE_G, 1);
	}
	c->space = &s[0];
	cpu_set(c, CR0_PE | CR0_PG | CR0_WP, CR4_PAE | CR4_PGE, mode_efer(SHADOW_MODE_LONG));
	for (int round = 0; round < 4; round++) {
		if (round == 1)
			shadow_mmu_get_stats(mmu, &a);
		for (int i = 0; i < 16; i++) {
			cpu_switch(c, &s[i]);
			for (int p = 0; p < 16; p++)
				assert_int_equal(check_access(c, 0x400000 + p * 4096, WALK_WRITE).what, OK);
			assert_int_equal(check_access(c, 0xffff800000000000ULL, 0).what, OK);
		}
		audit_clean();
	}
	shadow_mmu_get_stats(mmu, &b);
	*fills_per_switch = (b.fills - a.fills) / 48;
	*hits = b.root_hits - a.root_hits;
}

static void test_root_reuse_across_cr3(void **state)
{
	u64 fills_on, fills_off, hits_on, hits_off;

	run_switches(true, &fills_on, &hits_on);
	run_switches(false, &fills_off, &hits_off);
	print_message("shadow: fills per switch %llu with the cache, %llu without; root hits %llu/48 vs %llu/48\n",
		      (unsigned long long)fills_on, (unsigned long long)fills_off,
		      (unsigned long long)hits_on, (unsigned long long)hits_off);
	assert_int_equal(fills_on, 0);
	assert_int_equal(hits_on, 48);
	assert_true(fills_off >= 17);
	assert_int_equal(hits_off, 0);
}

/* INVLPG resynchronizes exactly the entry of that address (here changed behind the MMU's back). */
static void test_invlpg_precise(void **state)
{
	struct cpu *c = &cpus[0];
	struct space s;
	gpa_t a = gframe(), b = gframe(), pte0, pte1;
	struct shadow_stats st0, st1;

	start(c, &s, SHADOW_MODE_32BIT);
	gmap(&s, 0x1000, a, GPTE_P | GPTE_W, 1);
	gmap(&s, 0x2000, a, GPTE_P | GPTE_W, 1);
	check_access(c, 0x1000, 0);
	check_access(c, 0x2000, 0);
	pte0 = gentry(&s, 0x1000, 1);
	pte1 = gentry(&s, 0x2000, 1);
	/* A device (not the CPU) rewrites both entries: the shadow cannot know ... */
	assert_int_equal(gmem_write(&mem, pte0, &(u32){ (u32)b | GPTE_P | GPTE_A }, 4), 0);
	assert_int_equal(gmem_write(&mem, pte1, &(u32){ (u32)b | GPTE_P | GPTE_A }, 4), 0);
	/* ... until the guest flushes one address: only that entry changes. */
	shadow_mmu_get_stats(mmu, &st0);
	shadow_invlpg(c->sc, 0x1000);
	shadow_mmu_get_stats(mmu, &st1);
	assert_int_equal(st1.pte_updates - st0.pte_updates, 1);
	assert_int_equal(cpu_access(c, 0x1000, 0).hpa, gmem_chunk_hpa(&mem, b) + (b & (GMEM_CHUNK_SIZE - 1)));
	assert_int_equal(cpu_access(c, 0x2000, 0).hpa, gmem_chunk_hpa(&mem, a) + (a & (GMEM_CHUNK_SIZE - 1)));
	shadow_invlpg(c->sc, 0x2000);
	audit_clean();
}

/* A guest table page written again and again but no longer walked: dropped, writes go native. */
static void test_write_flooding(void **state)
{
	struct cpu *c = &cpus[0];
	struct space s;
	gpa_t old_pt;
	gva_t window = 0x60000000;
	struct shadow_stats st;

	start(c, &s, SHADOW_MODE_LONG);
	gmap(&s, 0x200000, gframe(), GPTE_P | GPTE_W, 1);
	check_access(c, 0x200000, 0);
	old_pt = gentry(&s, 0x200000, 1) & ~0xfffULL;
	/* The guest frees that page table (PDE cleared) and reuses the frame as data. */
	gput(gentry(&s, 0x200000, 2), 0, 8);
	shadow_guest_write(mmu, gentry(&s, 0x200000, 2), 8);
	gmap(&s, window, old_pt, GPTE_P | GPTE_W, 1);
	for (int i = 0; i < 8; i++) {
		struct result r = check_access(c, window + i * 8, WALK_WRITE);

		if (r.what == OK)
			break;
		assert_int_equal(r.what, EMULATED);
	}
	shadow_mmu_get_stats(mmu, &st);
	assert_true(st.flood_zaps >= 1);
	assert_false(shadow_gfn_protected(mmu, old_pt >> 12));
	assert_int_equal(check_access(c, window + 64, WALK_WRITE).what, OK);
	audit_clean();
}

/* CR0.WP=0: a supervisor write to a read-only page is allowed by the guest: emulated. */
static void test_wp0_supervisor_write(void **state)
{
	struct cpu *c = &cpus[0];
	struct space s;
	struct result r;

	start(c, &s, SHADOW_MODE_PAE);
	gmap(&s, 0x300000, gframe(), GPTE_P | GPTE_U, 1);
	cpu_set(c, CR0_PE | CR0_PG, CR4_PAE, EFER_NXE);
	r = check_access(c, 0x300000, WALK_WRITE);
	assert_int_equal(r.what, EMULATED);
	assert_true(r.wp0);
	assert_int_equal(check_access(c, 0x300000, WALK_USER | WALK_WRITE).what, GUEST_PF);
	audit_clean();
}

/* Reserved bits and MMIO through the guest tables. */
static void test_reserved_and_mmio(void **state)
{
	struct cpu *c = &cpus[0];
	struct space s;
	struct result r;

	start(c, &s, SHADOW_MODE_LONG);
	gmap(&s, 0x500000, gframe() | BIT(45), GPTE_P | GPTE_W, 1); /* above MAXPHYADDR 40 */
	r = check_access(c, 0x500000, 0);
	assert_int_equal(r.what, GUEST_PF);
	assert_int_equal(r.pfec, PFEC_P | PFEC_RSVD);
	gmap(&s, 0x501000, MMIO_GPA, GPTE_P | GPTE_W, 1);
	r = check_access(c, 0x501008, WALK_WRITE);
	assert_int_equal(r.what, MMIO);
	audit_clean();
}

/* Control-register writes a CPU refuses with #GP are refused; PAE reloads PDPTEs. */
static void test_cr_checks(void **state)
{
	struct shadow_cpu *sc = cpus[0].sc;
	struct space s;

	shadow_cpu_set_state(sc, CR0_PE, 0, 0, 0);
	assert_int_equal(shadow_cpu_write_cr(sc, 0, CR0_PG, false), -EINVAL);          /* PG without PE */
	assert_int_equal(shadow_cpu_write_cr(sc, 0, CR0_PE | BIT(29), false), -EINVAL); /* NW without CD */
	assert_int_equal(shadow_cpu_write_cr(sc, 4, BIT(22), false), -EINVAL);          /* PKE not offered */
	assert_int_equal(shadow_cpu_write_efer(sc, EFER_LME), 0);
	assert_int_equal(shadow_cpu_write_cr(sc, 0, CR0_PE | CR0_PG, false), -EINVAL);  /* LME, no PAE */
	space_new(&s, SHADOW_MODE_LONG);
	assert_int_equal(shadow_cpu_write_cr(sc, 3, s.cr3, false), 0);
	assert_int_equal(shadow_cpu_write_cr(sc, 4, CR4_PAE, false), 0);
	assert_int_equal(shadow_cpu_write_cr(sc, 0, CR0_PE | CR0_PG, false), 0);
	assert_int_equal(shadow_cpu_mode(sc), SHADOW_MODE_LONG);
	assert_true(shadow_cpu_efer(sc) & EFER_LMA);
	assert_int_equal(shadow_cpu_write_efer(sc, 0), -EINVAL);                       /* LME with PG */
	assert_int_equal(shadow_cpu_write_cr(sc, 4, 0, false), -EINVAL);                 /* PAE off in LM */
	assert_int_equal(shadow_cpu_write_cr(sc, 3, BIT(45), false), -EINVAL);           /* above MAXPHYADDR */
	assert_int_equal(shadow_cpu_write_cr(sc, 0, CR0_PE, true), -EINVAL);             /* paging off in 64-bit code */
	assert_int_equal(shadow_cpu_write_cr(sc, 0, CR0_PE, false), 0);
	assert_false(shadow_cpu_efer(sc) & EFER_LMA);
	/* PAE: a PDPTE with reserved bits makes the CR3 load fault. */
	assert_int_equal(shadow_cpu_write_efer(sc, 0), 0);
	space_new(&s, SHADOW_MODE_PAE);
	assert_int_equal(shadow_cpu_write_cr(sc, 3, s.cr3, false), 0);
	gput(s.cr3 + 8, gframe() | GPTE_P | GPTE_W, 8);                                  /* bit 1 reserved */
	assert_int_equal(shadow_cpu_write_cr(sc, 0, CR0_PE | CR0_PG, false), -EINVAL);
	gput(s.cr3 + 8, 0, 8);
	assert_int_equal(shadow_cpu_write_cr(sc, 0, CR0_PE | CR0_PG, false), 0);
	assert_int_equal(shadow_cpu_mode(sc), SHADOW_MODE_PAE);
	assert_int_equal(shadow_cpu_read_cr(sc, 0), CR0_PE | CR0_PG | BIT(4));          /* ET reads as 1 */
	audit_clean();
}

/* Two vCPUs share pages; a zap of one's root makes it rebuild; remote flushes happen. */
static void test_two_cpus_and_zap_all(void **state)
{
	struct space s;
	gpa_t data = gframe();

	start(&cpus[0], &s, SHADOW_MODE_LONG);
	cpus[1].space = &s;
	cpu_set(&cpus[1], cpus[0].cr0, cpus[0].cr4, cpus[0].efer);
	gmap(&s, 0x700000, data, GPTE_P | GPTE_W, 1);
	check_access(&cpus[0], 0x700000, WALK_WRITE);
	check_access(&cpus[1], 0x700000, 0);
	remote_flushes = 0;
	shadow_mmu_zap_all(mmu);
	assert_true(remote_flushes >= 1);
	audit_clean();
	check_access(&cpus[1], 0x700000, WALK_WRITE);
	check_access(&cpus[0], 0x700000, 0);
	audit_clean();
}

/*
 * A frame another vCPU writes through a cached writable translation becomes a
 * page table: that vCPU's TLB must be flushed, so its next write traps.
 */
static void test_protect_flushes_other_cpus(void **state)
{
	struct space s;
	gpa_t x = gframe();

	start(&cpus[0], &s, SHADOW_MODE_LONG);
	cpus[1].space = &s;
	cpu_set(&cpus[1], cpus[0].cr0, cpus[0].cr4, cpus[0].efer);
	gmap(&s, 0x900000, x, GPTE_P | GPTE_W, 1);
	assert_int_equal(check_access(&cpus[1], 0x900000, WALK_WRITE).what, OK);
	assert_int_equal(check_access(&cpus[1], 0x900008, WALK_WRITE).what, OK); /* from its TLB */
	gput(x, gframe() | GPTE_P, 8);
	gput(gentry(&s, 0xa0000000ULL, 2), x | TABLE_FLAGS, 8);
	assert_int_equal(check_access(&cpus[0], 0xa0000000ULL, 0).what, OK); /* x is now a table */
	assert_int_equal(check_access(&cpus[1], 0x900010, WALK_WRITE).what, EMULATED);
	audit_clean();
}

/* Random guest activity in every mode, compared with the reference, audited after every step. */
static u64 rng = 0x243f6a8885a308d3ULL;
static u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void random_mode(enum shadow_mode mode)
{
	struct cpu *c = &cpus[0];
	struct space sp[3];
	gpa_t frames[8];
	gva_t base = mode == SHADOW_MODE_LONG ? 0x7fff00000000ULL : 0x10000000;

	for (int i = 0; i < 8; i++)
		frames[i] = gframe();
	for (int i = 0; i < 3; i++)
		space_new(&sp[i], mode);
	/* One "data" frame is also a page table: its writes are trapped and emulated. */
	frames[7] = gentry(&sp[0], base, 1) & ~0xfffULL;
	for (int i = 0; i < 3; i++) /* PAE: PDPTEs exist before CR3 is loaded */
		for (int r = 0; r < 4; r++)
			gentry(&sp[i], base + r * (4 * MB), 2);
	c->space = &sp[0];
	cpu_set(c, CR0_PE | CR0_PG | CR0_WP, mode_cr4(mode), mode_efer(mode));
	for (int step = 0; step < 1500; step++) {
		struct space *s = c->space;
		gva_t va = base + (rnd() % 24) * 4096 + (rnd() % 4) * (4 * MB);
		u64 r = rnd();

		switch (r % 8) {
		case 0: case 1: { /* the guest changes an entry (emulated write), then flushes it */
			u64 flags = (rnd() & (GPTE_P | GPTE_W | GPTE_U | GPTE_A | GPTE_D)) | GPTE_P;
			gpa_t e;

			if (mode != SHADOW_MODE_32BIT && (rnd() & 3) == 0)
				flags |= GPTE_NX;
			e = gentry(s, va, 1);
			gput(e, frames[rnd() % 8] | flags, esz(s));
			shadow_guest_write(mmu, e, esz(s));
			shadow_invlpg(c->sc, va);
			break;
		}
		case 2:
			if ((rnd() & 7) == 0) {
				cpu_switch(c, &sp[rnd() % 3]);
				break;
			}
			/* fall through */
		default:
			c->rflags = (rnd() & 1) ? RFLAGS_AC : 0;
			check_access(c, va + (rnd() & 0xff8), all_access[rnd() % 6]);
			break;
		}
		audit_clean();
	}
}

static void test_random_32bit(void **state) { random_mode(SHADOW_MODE_32BIT); }
static void test_random_pae(void **state) { random_mode(SHADOW_MODE_PAE); }
static void test_random_long(void **state) { random_mode(SHADOW_MODE_LONG); }

/* Mode changes: paging off -> 32-bit -> off -> PAE -> long; each audited. */
static void test_mode_changes(void **state)
{
	struct cpu *c = &cpus[0];
	struct space s32, spae, slm;
	gpa_t data = gframe();

	cpu_set(c, CR0_PE, 0, 0);
	assert_int_equal(cpu_access(c, data, WALK_WRITE).what, OK);
	space_new(&s32, SHADOW_MODE_32BIT);
	gmap(&s32, 0xc0000000, data, GPTE_P | GPTE_W, 1);
	c->space = &s32;
	assert_int_equal(shadow_cpu_write_cr(c->sc, 3, s32.cr3, false), 0);
	assert_int_equal(shadow_cpu_write_cr(c->sc, 4, CR4_PSE, false), 0);
	assert_int_equal(shadow_cpu_write_cr(c->sc, 0, CR0_PE | CR0_PG, false), 0);
	c->cr0 = CR0_PE | CR0_PG;
	c->cr4 = CR4_PSE;
	check_access(c, 0xc0000000, WALK_WRITE);
	assert_int_equal(shadow_cpu_write_cr(c->sc, 0, CR0_PE, false), 0);
	assert_int_equal(cpu_access(c, data, 0).what, OK);
	space_new(&spae, SHADOW_MODE_PAE);
	gmap(&spae, 0xc0000000, data, GPTE_P | GPTE_W, 1);
	c->space = &spae;
	assert_int_equal(shadow_cpu_write_cr(c->sc, 3, spae.cr3, false), 0);
	assert_int_equal(shadow_cpu_write_cr(c->sc, 4, CR4_PAE, false), 0);
	assert_int_equal(shadow_cpu_write_cr(c->sc, 0, CR0_PE | CR0_PG, false), 0);
	check_access(c, 0xc0000000, WALK_WRITE);
	assert_int_equal(shadow_cpu_write_cr(c->sc, 0, CR0_PE, false), 0);
	space_new(&slm, SHADOW_MODE_LONG);
	gmap(&slm, 0xffffffffc0000000ULL, data, GPTE_P | GPTE_W, 1);
	c->space = &slm;
	assert_int_equal(shadow_cpu_write_cr(c->sc, 3, slm.cr3, false), 0);
	assert_int_equal(shadow_cpu_write_efer(c->sc, EFER_LME), 0);
	assert_int_equal(shadow_cpu_write_cr(c->sc, 0, CR0_PE | CR0_PG, false), 0);
	assert_int_equal(shadow_cpu_mode(c->sc), SHADOW_MODE_LONG);
	check_access(c, 0xffffffffc0000000ULL, WALK_WRITE);
	audit_clean();
}

/* Out of host pages: the fault says so instead of crashing; later it works again. */
static void test_out_of_memory(void **state)
{
	struct cpu *c = &cpus[0];
	struct space s;

	start(c, &s, SHADOW_MODE_LONG);
	gmap(&s, 0x12345000, gframe(), GPTE_P, 1);
	shadow_mmu_zap_all(mmu);
	fail_page_allocs = 1000;
	log_errors = 0;
	assert_int_equal(cpu_access(c, 0x12345000, 0).what, FATAL);
	fail_page_allocs = 0;
	shadow_cpu_set_state(c->sc, c->cr0, s.cr3, c->cr4, c->efer);
	assert_int_equal(check_access(c, 0x12345000, 0).what, OK);
	audit_clean();
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_nonpaging_identity),
		T(test_32bit_4k),
		T(test_32bit_4m),
		T(test_pae_4k),
		T(test_pae_2m),
		T(test_long_4k),
		T(test_long_2m),
		T(test_long_1g),
		T(test_write_protect_and_emulated_pte_writes),
		T(test_accessed_dirty_tracking),
		T(test_rmap_thousands),
		T(test_reclaim_tiny_budget),
		T(test_root_reuse_across_cr3),
		T(test_invlpg_precise),
		T(test_write_flooding),
		T(test_wp0_supervisor_write),
		T(test_reserved_and_mmio),
		T(test_cr_checks),
		T(test_two_cpus_and_zap_all),
		T(test_protect_flushes_other_cpus),
		T(test_random_32bit),
		T(test_random_pae),
		T(test_random_long),
		T(test_mode_changes),
		T(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
