/*
 * Test guest "mmio": every instruction form the hypervisor emulates on MMIO
 * (mmio_cases.asm), run on the test device's RAM-like page at 0xfe000000 and
 * on ordinary RAM with the same contents and registers: the CPU running the
 * RAM copy is the oracle for registers, flags and memory. First in 32-bit
 * protected mode, then again in 64-bit mode. Also moffs forms and the
 * device's access counters (one access of the right size per simple MOV).
 */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "rt/paging.h"
#include "rt/testdev.h"

#define WIN ((u32)TESTDEV_MMIO_BASE)
#define REGION 0x400U      /* bytes initialized and compared per case */
#define BASE_OFF 0x100U    /* ESI/RSI start here */
#define SCRATCH 0x800U
#define EFLAGS_FIXED 0x2U
#define EFLAGS_CF 0x1U
#define MAX_REPORTS 40

struct mm_case {
	u32 fn;
	const char *name;
	u32 mask;
};
struct mm_regs32 {
	u32 eax, ebx, ecx, edx, esi, edi, eflags;
};
struct mm_regs64 {
	u64 rax, rbx, rcx, rdx, rsi, rdi, r[8], rflags;
	u32 index;
};

extern const struct mm_case mm_cases32[], mm_cases64[];
extern const u32 mm_nr_cases32, mm_nr_cases64;
void mm_run32(struct mm_regs32 *r, u32 index);
int mm_run64(void);
u32 mm_moffs32_load(void);
void mm_moffs32_store(u32 v);
int mm_moffs64(void);

static u8 ram_copy[REGION] __aligned(16);
static u8 scratch_ram[SCRATCH] __aligned(16);
static u8 scratch_mmio[SCRATCH] __aligned(16);
static u8 readback[REGION];
static u32 reports;

static u8 pattern(u32 i) { return (u8)(i * 0x9d + 0x3b + (i >> 7)); }

/* Same contents in the RAM copy, the MMIO page and both scratch buffers. */
static void init_buffers(void)
{
	for (u32 i = 0; i < REGION; i++)
		ram_copy[i] = pattern(i);
	for (u32 i = 0; i < REGION; i += 4)
		mmio_write32(WIN + i, *(u32 *)&ram_copy[i]);
	for (u32 i = 0; i < SCRATCH; i++)
		scratch_ram[i] = scratch_mmio[i] = pattern(i + 0x55);
}

static void read_window(void)
{
	for (u32 i = 0; i < REGION; i += 4)
		*(u32 *)&readback[i] = mmio_read32(WIN + i);
}

/* First differing byte of two buffers, or -1. */
static int first_diff(const u8 *a, const u8 *b, u32 n)
{
	for (u32 i = 0; i < n; i++)
		if (a[i] != b[i])
			return (int)i;
	return -1;
}

static bool report(bool ok, const char *mode, const char *name, const char *what, u64 want, u64 got)
{
	if (!ok && reports++ < MAX_REPORTS)
		rt_fail("mmio %s: %s: %s 0x%llx, RAM gives 0x%llx", mode, name, what, got, want);
	return ok;
}

/* Compare memory after both runs; the register comparisons are done by the callers. */
static bool compare_memory(const char *mode, const char *name)
{
	int d;

	read_window();
	d = first_diff(ram_copy, readback, REGION);
	if (!report(d < 0, mode, name, "MMIO byte differs, at offset", d < 0 ? 0 : ram_copy[d], d))
		return false;
	d = first_diff(scratch_ram, scratch_mmio, SCRATCH);
	return report(d < 0, mode, name, "scratch byte differs, at offset", d < 0 ? 0 : scratch_ram[d], d);
}

/*
 * Pointer registers differ between the runs by where the buffers are: they
 * match when they point at the same offset of corresponding buffers.
 */
static bool same_pointer(u64 ram, u64 mmio)
{
	if (ram - (u32)ram_copy <= REGION)
		return mmio - WIN == ram - (u32)ram_copy;
	if (ram - (u32)scratch_ram <= SCRATCH)
		return mmio - (u32)scratch_mmio == ram - (u32)scratch_ram;
	return ram == mmio;
}

static bool run_case32(u32 i)
{
	const struct mm_case *c = &mm_cases32[i];
	struct mm_regs32 init = { 0x11223344, 0x8899aabb, 3, 0x7f80ff01, 0, 0,
				  EFLAGS_FIXED | EFLAGS_CF };
	struct mm_regs32 a = init, b = init;
	bool ok;

	init_buffers();
	a.esi = (u32)ram_copy + BASE_OFF;
	a.edi = (u32)scratch_ram + BASE_OFF;
	b.esi = WIN + BASE_OFF;
	b.edi = (u32)scratch_mmio + BASE_OFF;
	mm_run32(&a, i);
	mm_run32(&b, i);
	ok = report(a.eax == b.eax, "32-bit", c->name, "eax", a.eax, b.eax);
	ok &= report(a.ebx == b.ebx, "32-bit", c->name, "ebx", a.ebx, b.ebx);
	ok &= report(a.ecx == b.ecx, "32-bit", c->name, "ecx", a.ecx, b.ecx);
	ok &= report(a.edx == b.edx, "32-bit", c->name, "edx", a.edx, b.edx);
	ok &= report(same_pointer(a.esi, b.esi), "32-bit", c->name, "esi", a.esi, b.esi);
	ok &= report(same_pointer(a.edi, b.edi), "32-bit", c->name, "edi", a.edi, b.edi);
	ok &= report((a.eflags & c->mask) == (b.eflags & c->mask), "32-bit", c->name, "flags",
		     a.eflags & c->mask, b.eflags & c->mask);
	return compare_memory("32-bit", c->name) && ok;
}

static bool compare64(const struct mm_case *c, const struct mm_regs64 *a, const struct mm_regs64 *b)
{
	static const char *const names[] = { "rax", "rbx", "rcx", "rdx" };
	const u64 *ra = &a->rax, *rb = &b->rax;
	bool ok = true;

	for (u32 i = 0; i < 4; i++)
		ok &= report(ra[i] == rb[i], "64-bit", c->name, names[i], ra[i], rb[i]);
	ok &= report(same_pointer(a->rsi, b->rsi), "64-bit", c->name, "rsi", a->rsi, b->rsi);
	ok &= report(same_pointer(a->rdi, b->rdi), "64-bit", c->name, "rdi", a->rdi, b->rdi);
	for (u32 i = 0; i < 8; i++)
		ok &= report(a->r[i] == b->r[i], "64-bit", c->name, "r8+n", a->r[i], b->r[i]);
	ok &= report((a->rflags & c->mask) == (b->rflags & c->mask), "64-bit", c->name, "flags",
		     a->rflags & c->mask, b->rflags & c->mask);
	return ok;
}

static bool run_case64(u32 i)
{
	static struct mm_regs64 a, b;
	const struct mm_case *c = &mm_cases64[i];
	struct mm_regs64 init = {
		0x1122334455667788ULL, 0x8899aabbccddeeffULL, 3, 0x7f80ff01ULL, 0, 0,
		{ 0x0102030405060708ULL, 0xf0e0d0c0b0a09080ULL, 0x5555aaaa5555aaaaULL, 7,
		  0x8000000000000000ULL, 0xfedcba9876543210ULL, 0x30, 0xffffffffffffffffULL },
		EFLAGS_FIXED | EFLAGS_CF, i,
	};

	init_buffers();
	a = init;
	b = init;
	a.rsi = (u32)ram_copy + BASE_OFF;
	a.rdi = (u32)scratch_ram + BASE_OFF;
	b.rsi = WIN + BASE_OFF;
	b.rdi = (u32)scratch_mmio + BASE_OFF;
	rt_call64((u32)mm_run64, (u32)&a);
	rt_call64((u32)mm_run64, (u32)&b);
	return compare_memory("64-bit", c->name) & compare64(c, &a, &b);
}

static void run_all(const char *mode, u32 n, bool (*run)(u32))
{
	u32 bad = 0;

	for (u32 i = 0; i < n; i++)
		bad += !run(i);
	rt_check(bad == 0, "mmio %s: %u instruction forms match the CPU on RAM (%u differ)", mode, n,
		 bad);
}

static void check_moffs32(void)
{
	u32 got, want;

	init_buffers();
	want = (*(u32 *)&ram_copy[0x20] & ~0xffU) | ram_copy[0x29];
	got = mm_moffs32_load();
	rt_check(got == want, "mmio 32-bit: moffs loads (A0/A1): 0x%x, want 0x%x", got, want);
	mm_moffs32_store(0xa1b2c3d4);
	rt_check(mmio_read32(WIN + 0x30) == 0xa1b2c3d4 && mmio_read16(WIN + 0x36) == 0xc3d4 &&
		 mmio_read8(WIN + 0x39) == 0xd4 && mmio_read8(WIN + 0x38) == ram_copy[0x38],
		 "mmio 32-bit: moffs stores (A2/A3)");
}

static void check_moffs64(void)
{
	static u32 out[3];

	init_buffers();
	rt_call64((u32)mm_moffs64, (u32)out);
	rt_check(out[0] == *(u32 *)&ram_copy[0x40] && out[1] == *(u32 *)&ram_copy[0x44] &&
		 out[2] == ram_copy[0x41] && mmio_read32(WIN + 0x48) == 0xc0ffee11 &&
		 mmio_read32(WIN + 0x4c) == *(u32 *)&ram_copy[0x4c],
		 "mmio 64-bit: moffs forms with a 64-bit address");
}

static u64 reg64(u32 off) { return (u64)mmio_read32(WIN + off) | (u64)mmio_read32(WIN + off + 4) << 32; }

/* The device sees each simple access once, with its size: no extra or split accesses. */
static void check_access_shape(void)
{
	u32 v;
	u64 reads, writes, last;

	mmio_write32(WIN + TESTDEV_MMIO_ACCESSES, 0);
	v = mmio_read32(WIN + 0x104);
	mmio_write16(WIN + 0x10a, (u16)v);
	__asm__ __volatile__("addl %1, %0" : "+m"(*(volatile u32 *)(WIN + 0x110)) : "r"(v));
	reads = reg64(TESTDEV_MMIO_READS);
	writes = reg64(TESTDEV_MMIO_WRITES);
	last = reg64(TESTDEV_MMIO_LAST);
	rt_check(reads == 2 && writes == 2 && last == (0x110 | 4U << 16 | TESTDEV_LAST_WRITE),
		 "mmio: load + store + read-modify-write = 2 reads, 2 writes (%llu, %llu), last 0x%llx",
		 reads, writes, last);
}

static bool window_present(void)
{
	mmio_write32(WIN + 0x10, 0x13572468);
	mmio_write8(WIN + 0x11, 0xaa);
	return mmio_read32(WIN + 0x10) == 0x1357aa68;
}

void guest_main(void)
{
	if (!window_present()) {
		if (rt_under_hv())
			rt_fail("mmio: no test device at 0x%x (is 'testdev = yes' set?)", WIN);
		else
			rt_skip("mmio: no test device MMIO page at 0x%x (not under hv)", WIN);
		return;
	}
	check_access_shape();
	run_all("32-bit", mm_nr_cases32, run_case32);
	check_moffs32();
	lm_enter(lm_identity());
	if (!rt_check(rt_in_long_mode(), "mmio: entered long mode"))
		return;
	run_all("64-bit", mm_nr_cases64, run_case64);
	check_moffs64();
}
