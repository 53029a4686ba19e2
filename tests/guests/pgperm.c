/*
 * Test guest "pgperm": page permissions in 32-bit, PAE and 4-level paging. For
 * every combination of R/W, U/S and XD in a page-directory entry and in the
 * page-table entry under it, with CR0.WP off and on (and SMEP, SMAP and
 * RFLAGS.AC when CPUID offers them), it reads, writes and executes the page
 * from CPL 0 and from CPL 3. Every access the architecture forbids must raise
 * #PF with the exact error code and CR2; every other one must work (and set
 * Accessed/Dirty). Then not-present entries at each level and reserved bits.
 * The kernel's identity map is supervisor-only; CPL-3 code and stack live on
 * their own user pages. Intel SDM vol. 3A 4.6 (rights), 4.7 (error codes).
 */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "rt/paging.h"
#include "lib/printf.h"

#define TEST_VA 0x40000000U          /* 1 GiB: own PDE (32-bit) / PD (PAE, 4-level) */
#define TARGET (TEST_VA + 0x1000)    /* the page whose rights are varied */
#define TARGET_OFF 0x120
#define USER_VA (TEST_VA + 0x400000) /* another PDE: CPL-3 code and stack */
#define USER_CODE USER_VA
#define USER_STACK (USER_VA + 0x1000)
#define PREPARED 0x909090c3U         /* RET, NOPs: fetchable and readable */
#define WRITTEN 0x600dc0deU          /* what both write paths store */
#define PF_VECTOR 14
#define MAX_DETAILS 8

#define CR4_SMEP BIT(20)
#define CR4_SMAP BIT(21)
#define EFLAGS_AC BIT(18)
#define PFEC_P BIT(0)
#define PFEC_W BIT(1)
#define PFEC_U BIT(2)
#define PFEC_RSVD BIT(3)
#define PFEC_I BIT(4)

#define SEL_TSS32 0x30
#define SEL_TSS64 0x50
#define GATE_INT32 0x8e00U
#define GATE_INT32_DPL3 0xee00U
#define VEC_USER_RETURN 0x80
#define STUB_SIZE 16
#define KERNEL_CS 0x08
#define CODE64_SEL 0x18

enum kind { READ, WRITE, FETCH };
enum mode { M32, MPAE, MLONG };
static const char *const mode_name[] = { "32-bit", "PAE", "4-level" };
static const char *const kind_name[] = { "read", "write", "fetch" };

/* ---- descriptor tables: the runtime's segments plus CPL-3 segments and TSSs ---- */

struct tss32 {
	u32 link, esp0, ss0, rest[22];
	u16 trap, iomap;
} __packed;

struct tss64 {
	u32 reserved0;
	u64 rsp0, rsp1, rsp2, reserved1, ist[7], reserved2;
	u16 reserved3, iomap;
} __packed;

static u64 gdt[12] __aligned(16) = {
	0, 0x00cf9a000000ffffULL, 0x00cf92000000ffffULL, 0x00af9a000000ffffULL,
	0x00009a000000ffffULL, 0x000092000000ffffULL, 0, 0,
	0x00cffa000000ffffULL, 0x00cff2000000ffffULL, 0, 0, /* 0x40 user code, 0x48 user data */
};
static struct tss32 tss32 __aligned(128);
static struct tss64 tss64 __aligned(128);
static u8 ring0_stack[8192] __aligned(16);

struct gate32 {
	u16 off_lo, sel, flags, off_hi;
} __packed;
struct gate64 {
	u16 off_lo, sel, flags, off_mid;
	u32 off_hi, reserved;
} __packed;
static struct gate32 idt32[256] __aligned(16);
static struct gate64 idt64[256] __aligned(16);

extern const u8 rt_isr_stubs[], rt_isr64_stubs[];
extern const u8 pgp_user_stub[], pgp_user_stub_after[], pgp_user_stub_end[];
u32 pgp_user_run(u32 op, u32 addr, u32 stub, u32 stack_top);
__noreturn void pgp_user_return(void);
void pgp_isr80_64(void);
int pgp_try_call(u32 addr);

static u64 tss_desc(u32 base, u32 limit)
{
	/* An available TSS (type 9), present, DPL 0 (SDM vol. 3A 7.2.2, 7.7). */
	return (limit & 0xffff) | ((u64)(base & 0xffffff) << 16) | (0x89ULL << 40) |
	       ((u64)((limit >> 16) & 0xf) << 48) | ((u64)(base >> 24) << 56);
}

static void load_idt(void *base, u32 size)
{
	struct {
		u16 limit;
		u32 base;
	} __packed d = { (u16)(size - 1), (u32)base };

	__asm__ __volatile__("lidt %0" : : "m"(d));
}

static void back_from_user(struct rt_frame *f) { pgp_user_return(); }

static void tables_init(void)
{
	struct {
		u16 limit;
		u32 base;
	} __packed g = { sizeof(gdt) - 1, (u32)gdt };
	u32 top = (u32)ring0_stack + sizeof(ring0_stack);

	tss32.ss0 = 0x10;
	tss32.esp0 = top;
	tss32.iomap = sizeof(tss32);
	tss64.rsp0 = top;
	tss64.iomap = sizeof(tss64);
	gdt[SEL_TSS32 / 8] = tss_desc((u32)&tss32, sizeof(tss32) - 1);
	gdt[SEL_TSS64 / 8] = tss_desc((u32)&tss64, sizeof(tss64) - 1);
	__asm__ __volatile__("lgdt %0" : : "m"(g));
	__asm__ __volatile__("ltr %w0" : : "r"(SEL_TSS32));
	for (u32 v = 0; v < 256; v++) {
		u32 a = (u32)rt_isr_stubs + v * STUB_SIZE;

		idt32[v] = (struct gate32){ (u16)a, KERNEL_CS,
					    v == VEC_USER_RETURN ? GATE_INT32_DPL3 : GATE_INT32, (u16)(a >> 16) };
		a = v == VEC_USER_RETURN ? (u32)pgp_isr80_64 : (u32)rt_isr64_stubs + v * STUB_SIZE;
		idt64[v] = (struct gate64){ (u16)a, CODE64_SEL,
					    v == VEC_USER_RETURN ? GATE_INT32_DPL3 : GATE_INT32, (u16)(a >> 16), 0, 0 };
	}
	load_idt(idt32, sizeof(idt32));
	rt_set_irq_handler(VEC_USER_RETURN, back_from_user);
}

/* ---- page tables ---- */

static u8 target_page[4096] __aligned(4096);
static u8 user_code_page[4096] __aligned(4096);
static u8 user_stack_page[4096] __aligned(4096);
static u32 pd32[1024] __aligned(4096);
static u32 pt32_test[1024] __aligned(4096), pt32_user[1024] __aligned(4096);
static u64 pdpt[512] __aligned(4096), pml4[512] __aligned(4096), pdpt_lm[512] __aligned(4096);
static u64 ident_pd[4][512] __aligned(4096), test_pd[512] __aligned(4096);
static u64 pt_test[512] __aligned(4096), pt_user[512] __aligned(4096);

static bool has_nx, has_smep, has_smap;
static u32 maxphyaddr;

/* The two entries whose rights are varied, and the upper one above them. */
struct layout {
	enum mode mode;
	u32 cr3;
	void *parent;    /* the PDE over the target's page table */
	void *leaf;      /* the target's PTE */
	void *upper;     /* PAE: PDPTE; 4-level: PDPTE (only the test region); 32-bit: NULL */
	u64 parent_base, leaf_base, upper_base;
};

static void set_entry(const struct layout *l, void *e, u64 v)
{
	if (l->mode == M32)
		*(u32 *)e = (u32)v;
	else
		*(u64 *)e = v;
}

static u64 get_entry(const struct layout *l, void *e)
{
	return l->mode == M32 ? *(u32 *)e : *(u64 *)e;
}

static void build32(struct layout *l)
{
	for (u32 i = 0; i < 1024; i++)
		pd32[i] = (i << 22) | PTE_P | PTE_W | PTE_PS; /* supervisor-only identity */
	pt32_test[1] = (u32)target_page | PTE_P | PTE_W | PTE_U;
	pt32_user[0] = (u32)user_code_page | PTE_P | PTE_U;
	pt32_user[1] = (u32)user_stack_page | PTE_P | PTE_W | PTE_U;
	pd32[USER_VA >> 22] = (u32)pt32_user | PTE_P | PTE_W | PTE_U;
	*l = (struct layout){ M32, (u32)pd32, &pd32[TEST_VA >> 22], &pt32_test[1], NULL,
			      (u32)pt32_test | PTE_P, (u32)target_page | PTE_P, 0 };
}

/* PAE and 4-level share the directories below the PDPT. */
static void build_pds(void)
{
	for (u32 g = 0; g < 4; g++)
		for (u32 i = 0; i < 512; i++)
			ident_pd[g][i] = ((u64)g << 30) + ((u64)i << 21) + (PTE_P | PTE_W | PTE_PS);
	pt_test[1] = (u32)target_page | PTE_P | PTE_W | PTE_U;
	pt_user[0] = (u32)user_code_page | PTE_P | PTE_U;
	pt_user[1] = (u32)user_stack_page | PTE_P | PTE_W | PTE_U;
	test_pd[((USER_VA - TEST_VA) >> 21)] = (u32)pt_user | PTE_P | PTE_W | PTE_U;
}

static void build_pae(struct layout *l)
{
	build_pds();
	for (u32 g = 0; g < 4; g++)
		pdpt[g] = (u32)ident_pd[g] | PTE_P; /* PAE PDPTEs carry no rights */
	pdpt[1] = (u32)test_pd | PTE_P;
	*l = (struct layout){ MPAE, (u32)pdpt, &test_pd[0], &pt_test[1], &pdpt[1],
			      (u32)pt_test | PTE_P, (u32)target_page | PTE_P, (u32)test_pd | PTE_P };
}

static void build_long(struct layout *l)
{
	build_pds();
	for (u32 g = 0; g < 4; g++)
		pdpt_lm[g] = (u32)ident_pd[g] | PTE_P | PTE_W | PTE_U;
	pdpt_lm[1] = (u32)test_pd | PTE_P | PTE_W | PTE_U;
	pml4[0] = (u32)pdpt_lm | PTE_P | PTE_W | PTE_U;
	*l = (struct layout){ MLONG, (u32)pml4, &test_pd[0], &pt_test[1], &pdpt_lm[1],
			      (u32)pt_test | PTE_P, (u32)target_page | PTE_P,
			      (u32)test_pd | PTE_P | PTE_W | PTE_U };
}

/* ---- accesses ---- */

struct ctl {
	bool wp, smep, smap, ac;
};

static void set_ac(bool on)
{
	u32 f = read_eflags();

	f = on ? f | EFLAGS_AC : f & ~EFLAGS_AC;
	__asm__ __volatile__("pushl %0; popfl" : : "r"(f) : "cc", "memory");
}

static void apply_ctl(const struct layout *l, const struct ctl *c)
{
	u32 cr4 = read_cr4() & ~(CR4_SMEP | CR4_SMAP);

	write_cr4(cr4 | (c->smep ? CR4_SMEP : 0) | (c->smap ? CR4_SMAP : 0));
	write_cr0(c->wp ? read_cr0() | CR0_WP : read_cr0() & ~CR0_WP);
	write_cr3(l->cr3); /* flush all */
}

/* Access addr as kind from CPL 0 or 3: 0, or -1 when an exception was taken. */
static int access(enum kind k, bool user, const struct ctl *c, u32 addr)
{
	u32 before = rt_last_fault.count, v;

	if (user) {
		rt_recover_eip = USER_CODE + (u32)(pgp_user_stub_after - pgp_user_stub);
		pgp_user_run(k, addr, USER_CODE, USER_STACK + 4096);
		rt_recover_eip = 0;
		return rt_last_fault.count == before ? 0 : -1;
	}
	set_ac(c->ac);
	if (k == READ)
		(void)rt_try_read32(addr, &v);
	else if (k == WRITE)
		(void)rt_try_write32(addr, WRITTEN);
	else
		(void)pgp_try_call(addr);
	set_ac(false);
	return rt_last_fault.count == before ? 0 : -1;
}

/* SDM vol. 3A 4.6.1, case by case. */
static bool allowed(enum kind k, bool user, bool w, bool u, bool x, const struct ctl *c)
{
	if (user)
		return u && (k == READ || (k == WRITE && w) || (k == FETCH && x));
	if (k == FETCH)
		return x && !(u && c->smep);
	if (u && c->smap && !c->ac)
		return false;
	return k == READ || w || !c->wp;
}

static u32 expected_pfec(const struct layout *l, enum kind k, bool user, const struct ctl *c)
{
	u32 e = PFEC_P | (k == WRITE ? PFEC_W : 0) | (user ? PFEC_U : 0);

	if (k == FETCH && (c->smep || (l->mode != M32 && has_nx)))
		e |= PFEC_I;
	return e;
}

static u32 mismatches;

/*
 * A reserved-bit fault sets P and RSVD (SDM 4.7: P is 0 only for a missing
 * translation). QEMU's TCG MMU leaves P clear there, so where QEMU walks the
 * guest's tables (plain QEMU, nested paging) that is accepted; the word
 * "sdm_rsvd" (a shadow MMU walks them) asks for the exact code.
 */
static bool pfec_matches(u32 got, u32 want)
{
	if (got == want)
		return true;
	return (want & PFEC_RSVD) && !rt_has_word("sdm_rsvd") && got == (want & ~PFEC_P);
}

static void detail(const char *fmt, ...) __printf(1, 2);
static void detail(const char *fmt, ...)
{
	char line[200];
	va_list ap;

	if (mismatches++ >= MAX_DETAILS)
		return;
	va_start(ap, fmt);
	kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	rt_fail("%s", line);
}

/* One access, checked: outcome, error code, CR2, memory, Accessed/Dirty. */
static void check(const struct layout *l, enum kind k, bool user, bool ok, u32 pfec,
		  const struct ctl *c, const char *what)
{
	u32 addr = TARGET + TARGET_OFF, *word = (u32 *)(target_page + TARGET_OFF);
	u64 leaf;
	int rc;

	*word = PREPARED;
	set_entry(l, l->leaf, get_entry(l, l->leaf) & ~(u64)(PTE_A | PTE_D));
	invlpg(TARGET);
	rc = access(k, user, c, addr);
	leaf = get_entry(l, l->leaf);
	if (ok && rc) {
		detail("%s %s %s %s: faulted (vector %u error 0x%x), should not", mode_name[l->mode],
		       what, user ? "user" : "supervisor", kind_name[k], rt_last_fault.vector,
		       rt_last_fault.error);
	} else if (!ok && !rc) {
		detail("%s %s %s %s: allowed, should fault with 0x%x", mode_name[l->mode], what,
		       user ? "user" : "supervisor", kind_name[k], pfec);
	} else if (!ok && (rt_last_fault.vector != PF_VECTOR || !pfec_matches(rt_last_fault.error, pfec) ||
			   rt_last_fault.cr2 != addr)) {
		detail("%s %s %s %s: vector %u error 0x%x cr2 0x%x, want #PF 0x%x cr2 0x%x",
		       mode_name[l->mode], what, user ? "user" : "supervisor", kind_name[k],
		       rt_last_fault.vector, rt_last_fault.error, rt_last_fault.cr2, pfec, addr);
	} else if (k == WRITE && *word != (ok ? WRITTEN : PREPARED)) {
		detail("%s %s %s write: memory holds 0x%x", mode_name[l->mode], what,
		       user ? "user" : "supervisor", *word);
	} else if (ok && (!(leaf & PTE_A) || (k == WRITE) != !!(leaf & PTE_D))) {
		detail("%s %s %s %s: entry 0x%llx after the access (A/D)", mode_name[l->mode], what,
		       user ? "user" : "supervisor", kind_name[k], leaf);
	}
}

/* Every rights combination of the PDE and the PTE, every access, for one control setting. */
static u32 sweep(const struct layout *l, const struct ctl *c)
{
	u32 combos = (l->mode == M32 || !has_nx) ? 16 : 64, n = 0;
	char what[48];

	apply_ctl(l, c);
	for (u32 p = 0; p < combos; p++) {
		bool pw = p & 1, pu = p & 2, lw = p & 4, lu = p & 8, pnx = p & 16, lnx = p & 32;
		bool w = pw && lw, u = pu && lu, x = !(pnx || lnx);

		set_entry(l, l->parent, l->parent_base | (pw ? PTE_W : 0) | (pu ? PTE_U : 0) |
			  (pnx ? PTE_NX : 0));
		set_entry(l, l->leaf, l->leaf_base | (lw ? PTE_W : 0) | (lu ? PTE_U : 0) |
			  (lnx ? PTE_NX : 0));
		ksnprintf(what, sizeof(what), "pde %c%c%c pte %c%c%c", pw ? 'W' : '-', pu ? 'U' : '-',
			 pnx ? 'X' : '-', lw ? 'W' : '-', lu ? 'U' : '-', lnx ? 'X' : '-');
		for (int user = 0; user <= 1; user++)
			for (enum kind k = READ; k <= FETCH; k++, n++)
				check(l, k, user, allowed(k, user, w, u, x, c),
				      expected_pfec(l, k, user, c), c, what);
	}
	set_entry(l, l->parent, l->parent_base | PTE_W | PTE_U);
	set_entry(l, l->leaf, l->leaf_base | PTE_W | PTE_U);
	return n;
}

static void sweep_all(const struct layout *l)
{
	u32 sets = (has_smep ? 2 : 1) * (has_smap ? 4 : 1);

	for (u32 wp = 0; wp <= 1; wp++) {
		for (u32 s = 0; s < sets; s++) {
			struct ctl c = { wp, has_smep && (s & 1), has_smap && (s & 2), has_smap && (s & 4) };
			u32 before = mismatches, n = sweep(l, &c);

			rt_check(mismatches == before,
				 "pgperm %s CR0.WP=%u SMEP=%u SMAP=%u AC=%u: %u accesses as the SDM says",
				 mode_name[l->mode], c.wp, c.smep, c.smap, c.ac, n);
		}
	}
	apply_ctl(l, &(struct ctl){ .wp = true });
}

/* Not present at each level, and reserved bits: the P and RSVD bits of the error code. */
static void check_present_and_reserved(const struct layout *l)
{
	struct ctl c = { .wp = true };
	u32 before = mismatches;
	u64 bit;

	apply_ctl(l, &c);
	set_entry(l, l->leaf, l->leaf_base & ~(u64)PTE_P);
	check(l, READ, false, false, 0, &c, "pte not present");
	check(l, WRITE, true, false, PFEC_W | PFEC_U, &c, "pte not present");
	set_entry(l, l->leaf, l->leaf_base | PTE_W | PTE_U);
	set_entry(l, l->parent, l->parent_base & ~(u64)PTE_P);
	check(l, FETCH, false, false, (l->mode != M32 && has_nx) ? PFEC_I : 0, &c, "pde not present");
	set_entry(l, l->parent, l->parent_base | PTE_W | PTE_U);
	if (l->upper) {
		set_entry(l, l->upper, l->upper_base & ~(u64)PTE_P);
		write_cr3(l->cr3); /* PAE: PDPTEs are loaded with CR3 */
		check(l, READ, false, false, 0, &c, "pdpte not present");
		set_entry(l, l->upper, l->upper_base);
		write_cr3(l->cr3);
	}
	if (l->mode == M32) /* a 4 MiB page with bit 21 set (SDM table 4-4) */
		bit = PTE_PS | BIT(21);
	else if (!has_nx) /* XD without EFER.NXE is reserved */
		bit = 0;
	else if (maxphyaddr < 52)
		bit = 1ULL << maxphyaddr;
	else
		bit = 0;
	if (bit) {
		void *e = l->mode == M32 ? l->parent : l->leaf;
		u64 base = l->mode == M32 ? l->parent_base : l->leaf_base;

		set_entry(l, e, base | PTE_W | PTE_U | bit);
		check(l, READ, false, false, PFEC_P | PFEC_RSVD, &c, "reserved bit");
		set_entry(l, e, base | PTE_W | PTE_U);
	}
	if (l->mode != M32 && has_nx) {
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_NXE);
		set_entry(l, l->leaf, l->leaf_base | PTE_W | PTE_U | PTE_NX);
		check(l, WRITE, false, false, PFEC_P | PFEC_W | PFEC_RSVD, &c, "XD with NXE=0");
		set_entry(l, l->leaf, l->leaf_base | PTE_W | PTE_U);
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	}
	rt_check(mismatches == before, "pgperm %s: not-present and reserved-bit faults", mode_name[l->mode]);
}

static void probe_cpu(void)
{
	struct cpuid_out ext = cpuid(0x80000000, 0);

	has_nx = ext.eax >= 0x80000001 && (cpuid(0x80000001, 0).edx & BIT(20));
	maxphyaddr = ext.eax >= 0x80000008 ? (cpuid(0x80000008, 0).eax & 0xff) : 36;
	if (cpuid(0, 0).eax >= 7) {
		has_smep = cpuid(7, 0).ebx & BIT(7);
		has_smap = cpuid(7, 0).ebx & BIT(20);
	}
	if (!has_smep || !has_smap)
		rt_skip("pgperm: SMEP %s, SMAP %s: their combinations are not checked",
			has_smep ? "offered" : "not offered", has_smap ? "offered" : "not offered");
}

void guest_main(void)
{
	struct layout l;
	u32 n = (u32)(pgp_user_stub_end - pgp_user_stub);

	probe_cpu();
	tables_init();
	memcpy(user_code_page, pgp_user_stub, n);
	if (has_nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);

	build32(&l);
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3(l.cr3);
	write_cr0(read_cr0() | CR0_PG);
	sweep_all(&l);
	check_present_and_reserved(&l);

	write_cr0(read_cr0() & ~CR0_PG);
	build_pae(&l);
	write_cr4(read_cr4() | CR4_PAE);
	write_cr3(l.cr3);
	write_cr0(read_cr0() | CR0_PG);
	sweep_all(&l);
	check_present_and_reserved(&l);

	write_cr0(read_cr0() & ~CR0_PG);
	build_long(&l);
	write_cr3(l.cr3);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_LME);
	write_cr0(read_cr0() | CR0_PG);
	load_idt(idt64, sizeof(idt64));
	__asm__ __volatile__("ltr %w0" : : "r"(SEL_TSS64));
	rt_check(rt_in_long_mode(), "pgperm 4-level: long mode active");
	sweep_all(&l);
	check_present_and_reserved(&l);
	if (mismatches > MAX_DETAILS)
		rt_fail("pgperm: %u mismatches in all (only the first %u shown)", mismatches, MAX_DETAILS);
}
