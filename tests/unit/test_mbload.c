/* hv/load/multiboot: ELF32/ELF64/a.out-kludge images built here, loaded into malloc'd guest RAM. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "hv/load/multiboot.h"
#include "hv/mmu/gmem.h"

#define MiB (1ULL << 20)
#define GARBAGE 0xcc
#define IMG_CAP (1u << 20)

static int live_chunks;

static int fake_chunk_alloc(struct gmem_chunk *c)
{
	c->hva = aligned_alloc(GMEM_CHUNK_SIZE, GMEM_CHUNK_SIZE);
	if (!c->hva)
		return -ENOMEM;
	memset(c->hva, 0, GMEM_CHUNK_SIZE);
	c->hpa = (hpa_t)(uintptr_t)c->hva;
	live_chunks++;
	return 0;
}

static void fake_chunk_free(const struct gmem_chunk *c)
{
	free(c->hva);
	live_chunks--;
}

static const struct gmem_allocator alloc = { fake_chunk_alloc, fake_chunk_free };

/* ---- guest memory ---- */

static struct gmem mem;

/* RAM at [base, base+size) for each pair; every byte filled with GARBAGE. */
static void setup_ram(int n, const u64 *ranges)
{
	gmem_init(&mem);
	for (int i = 0; i < n; i++)
		assert_int_equal(gmem_add_ram(&mem, ranges[2 * i], ranges[2 * i + 1], &alloc), 0);
	for (u32 i = 0; i < mem.nr_slots; i++)
		for (u64 c = 0; c < mem.slots[i].size / GMEM_CHUNK_SIZE; c++)
			memset(mem.slots[i].chunks[c].hva, GARBAGE, GMEM_CHUNK_SIZE);
}

static void setup_ram_simple(u64 size)
{
	u64 r[2] = { 0, size };

	setup_ram(1, r);
}

static int teardown(void **state)
{
	(void)state;
	gmem_destroy(&mem, &alloc);
	assert_int_equal(live_chunks, 0);
	return 0;
}

static u8 g8(u64 gpa)
{
	u8 v;

	assert_int_equal(gmem_read(&mem, gpa, &v, 1), 0);
	return v;
}

static u32 g32(u64 gpa)
{
	u32 v;

	assert_int_equal(gmem_read(&mem, gpa, &v, 4), 0);
	return v;
}

static u64 g64(u64 gpa)
{
	u64 v;

	assert_int_equal(gmem_read(&mem, gpa, &v, 8), 0);
	return v;
}

static void gstr(u64 gpa, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		buf[i] = (char)g8(gpa + i);
		if (!buf[i])
			return;
	}
	buf[i] = '\0';
	fail_msg("string at 0x%llx not terminated", (unsigned long long)gpa);
}

/* ---- image building ---- */

struct seg {
	u64 paddr, vaddr;
	u32 filesz, memsz;
	u8 seed;
};

static u8 img[IMG_CAP];

static u8 pattern(u8 seed, u64 i) { return (u8)(seed + i * 7 + (i >> 8)); }

static void put16(u64 off, u16 v) { memcpy(img + off, &v, 2); }
static void put32(u64 off, u32 v) { memcpy(img + off, &v, 4); }
static void put64(u64 off, u64 v) { memcpy(img + off, &v, 8); }

/* A Multiboot header at off; kludge holds header/load/load_end/bss_end/entry if flag 16. */
static void put_mb_header(u64 off, u32 flags, const u32 *kludge)
{
	put32(off, MB1_HEADER_MAGIC);
	put32(off + 4, flags);
	put32(off + 8, (u32)-(MB1_HEADER_MAGIC + flags));
	if (kludge)
		for (int i = 0; i < 5; i++)
			put32(off + 12 + 4 * i, kludge[i]);
}

/* File offset of segment i's data in images from build_elf. */
static u64 seg_file_off(const struct seg *s, int i)
{
	u64 off = 0x2000;

	for (int j = 0; j < i; j++)
		off += (s[j].filesz + 0xfffULL) & ~0xfffULL;
	return off;
}

/*
 * An ELF executable: header, program headers, a Multiboot header at 0x400
 * (flags mb_flags), then each segment's file bytes page aligned from 0x2000.
 */
static size_t build_elf(bool is64, const struct seg *s, int n, u64 entry, u32 mb_flags)
{
	u64 ph = is64 ? 64 : 52, phsz = is64 ? 56 : 32, end = 0x2000;

	memset(img, 0, sizeof(img));
	memcpy(img, "\x7f" "ELF", 4);
	img[4] = is64 ? 2 : 1;
	img[5] = 1;
	img[6] = 1;
	put16(16, 2);
	put16(18, is64 ? 62 : 3);
	put32(20, 1);
	if (is64) {
		put64(24, entry);
		put64(32, ph);
		put16(52, 64);
		put16(54, 56);
		put16(56, (u16)n);
	} else {
		put32(24, (u32)entry);
		put32(28, (u32)ph);
		put16(40, 52);
		put16(42, 32);
		put16(44, (u16)n);
	}
	for (int i = 0; i < n; i++) {
		u64 p = ph + i * phsz, off = seg_file_off(s, i);

		put32(p, 1);
		if (is64) {
			put32(p + 4, 7);
			put64(p + 8, off);
			put64(p + 16, s[i].vaddr);
			put64(p + 24, s[i].paddr);
			put64(p + 32, s[i].filesz);
			put64(p + 40, s[i].memsz);
			put64(p + 48, 0x1000);
		} else {
			put32(p + 4, (u32)off);
			put32(p + 8, (u32)s[i].vaddr);
			put32(p + 12, (u32)s[i].paddr);
			put32(p + 16, s[i].filesz);
			put32(p + 20, s[i].memsz);
			put32(p + 24, 7);
			put32(p + 28, 0x1000);
		}
		assert_true(off + s[i].filesz <= IMG_CAP);
		for (u64 j = 0; j < s[i].filesz; j++)
			img[off + j] = pattern(s[i].seed, j);
		end = off + s[i].filesz;
	}
	put_mb_header(0x400, mb_flags, NULL);
	return end;
}

/* ---- checks ---- */

static struct guest_boot_state boot;
static struct multiboot_layout lay;
static char err[256];

static int load(size_t size, const char *name, const char *cmdline,
		const struct multiboot_module *mods, u32 nr)
{
	u8 *exact = malloc(size ? size : 1);
	int rc;

	/* An exactly-sized copy: ASan catches any read past the image. */
	memcpy(exact, img, size);
	memset(&boot, 0x5a, sizeof(boot));
	rc = multiboot_load(&mem, exact, size, name, cmdline, mods, nr, &boot, &lay, err,
			    sizeof(err));
	free(exact);
	return rc;
}

static void load_ok(size_t size, const char *name, const char *cmdline,
		    const struct multiboot_module *mods, u32 nr)
{
	int rc = load(size, name, cmdline, mods, nr);

	if (rc)
		fail_msg("load failed (%d): %s", rc, err);
	assert_string_equal(err, "");
}

static void check_segment_loaded(const struct seg *s)
{
	for (u64 j = 0; j < s->memsz; j++) {
		u8 want = j < s->filesz ? pattern(s->seed, j) : 0;

		if (g8(s->paddr + j) != want)
			fail_msg("segment at 0x%llx byte %llu: 0x%02x, want 0x%02x",
				 (unsigned long long)s->paddr, (unsigned long long)j, g8(s->paddr + j),
				 want);
	}
}

static void check_flat(const struct vcpu_segment *sg, u8 type)
{
	assert_int_equal(sg->base, 0);
	assert_int_equal(sg->limit, 0xffffffff);
	assert_int_equal(sg->attr & 0xf, type);
	assert_true(sg->attr & SEG_ATTR_S);
	assert_true(sg->attr & SEG_ATTR_P);
	assert_true(sg->attr & SEG_ATTR_DB);  /* 32-bit */
	assert_true(sg->attr & SEG_ATTR_G);
	assert_false(sg->attr & SEG_ATTR_L);
	assert_int_equal((sg->attr >> 5) & 3, 0); /* DPL 0 */
}

/* Section 3.2 machine state. */
static void check_machine_state(u64 entry)
{
	const struct vcpu_sregs *s = &boot.sregs;

	assert_int_equal(boot.regs.gpr[VCPU_RAX], 0x2BADB002);
	assert_int_equal(boot.regs.gpr[VCPU_RBX], lay.info);
	assert_int_equal(boot.regs.rip, entry);
	assert_int_equal(lay.entry, entry);
	assert_false(boot.regs.rflags & BIT(9));  /* IF */
	assert_false(boot.regs.rflags & BIT(17)); /* VM */
	assert_true(boot.regs.rflags & BIT(1));
	check_flat(&s->seg[VCPU_SEG_CS], 0xb);
	assert_true(s->seg[VCPU_SEG_CS].attr & BIT(3)); /* code */
	for (int i = 0; i < VCPU_SEG_NR; i++) {
		if (i == VCPU_SEG_CS || i == VCPU_SEG_TR || i == VCPU_SEG_LDTR)
			continue;
		check_flat(&s->seg[i], 0x3);
		assert_int_equal(s->seg[i].selector, s->seg[VCPU_SEG_DS].selector);
	}
	assert_int_not_equal(s->seg[VCPU_SEG_CS].selector, 0);
	assert_int_not_equal(s->seg[VCPU_SEG_DS].selector, 0);
	assert_true(s->seg[VCPU_SEG_TR].attr & SEG_ATTR_P);
	assert_true(s->cr0 & BIT(0));   /* PE */
	assert_false(s->cr0 & BIT(31)); /* PG */
	assert_int_equal(s->cr4, 0);
	assert_int_equal(s->efer, 0);
	assert_int_equal(boot.regs.gpr[VCPU_RSP], 0);
}

/* No byte outside the kernel's segments and [info, end) was touched. */
static void check_untouched(const struct seg *s, int n)
{
	for (u32 i = 0; i < mem.nr_slots; i++) {
		const struct gmem_slot *sl = &mem.slots[i];

		for (u64 gpa = sl->base; gpa < sl->base + sl->size; gpa++) {
			const u8 *p = sl->chunks[(gpa - sl->base) / GMEM_CHUNK_SIZE].hva +
				      gpa % GMEM_CHUNK_SIZE;
			bool written = gpa >= lay.info && gpa < lay.end;

			for (int k = 0; k < n && !written; k++)
				written = gpa >= s[k].paddr && gpa < s[k].paddr + s[k].memsz;
			if (!written && *p != GARBAGE)
				fail_msg("byte at 0x%llx changed", (unsigned long long)gpa);
		}
	}
}

struct want_mmap {
	u64 base, len;
	u32 type;
};

static void check_mmap(const struct want_mmap *w, u32 n)
{
	u32 flags = g32(lay.info);
	u32 len = g32(lay.info + 44), addr = g32(lay.info + 48);

	assert_true(flags & MB1_INFO_MEM_MAP);
	assert_int_equal(len, n * 24);
	for (u32 i = 0; i < n; i++) {
		u64 e = addr + 24ULL * i;

		assert_int_equal(g32(e), 20);
		assert_int_equal(g64(e + 4), w[i].base);
		assert_int_equal(g64(e + 12), w[i].len);
		assert_int_equal(g32(e + 20), w[i].type);
	}
}

/* ---- good images ---- */

static void test_elf32_basic(void **state)
{
	const struct seg s[] = {
		{ .paddr = 0x100000, .vaddr = 0x100000, .filesz = 0x1234, .memsz = 0x1234, .seed = 1 },
		{ .paddr = 0x102000, .vaddr = 0x102000, .filesz = 0x800, .memsz = 0x5000, .seed = 9 },
	};
	const struct want_mmap map[] = {
		{ 0, 0xA0000, 1 }, { 0xA0000, 0x60000, 2 }, { 0x100000, 15 * MiB, 1 },
	};
	char str[300];
	size_t size;

	(void)state;
	setup_ram_simple(16 * MiB);
	size = build_elf(false, s, 2, 0x100010, MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMORY_INFO);
	load_ok(size, "guest-hello.elf", "console=ttyS0 verbose", NULL, 0);
	check_segment_loaded(&s[0]);
	check_segment_loaded(&s[1]);
	check_machine_state(0x100010);
	assert_int_equal(lay.kernel_start, 0x100000);
	assert_int_equal(lay.kernel_end, 0x107000);
	assert_true(lay.info >= lay.kernel_end);
	assert_int_equal(lay.info % 4096, 0);

	assert_int_equal(g32(lay.info), MB1_INFO_MEMORY | MB1_INFO_CMDLINE | MB1_INFO_MODS |
						MB1_INFO_MEM_MAP | MB1_INFO_LOADER_NAME);
	assert_int_equal(g32(lay.info + 4), 640);
	assert_int_equal(g32(lay.info + 8), 15 * 1024);
	gstr(g32(lay.info + 16), str, sizeof(str));
	assert_string_equal(str, "guest-hello.elf console=ttyS0 verbose");
	assert_int_equal(g32(lay.info + 20), 0);
	gstr(g32(lay.info + 64), str, sizeof(str));
	assert_string_equal(str, "hv");
	check_mmap(map, 3);
	/* Everything the info points at lies inside [info, end), after the kernel. */
	for (int i = 0; i < 4; i++) {
		static const int ptr_fields[] = { 16, 24, 48, 64 };
		u32 p = g32(lay.info + ptr_fields[i]);

		assert_true(p >= lay.info && p < lay.end);
	}
	check_untouched(s, 2);
}

static void test_modules(void **state)
{
	const struct seg s[] = {
		{ .paddr = 0x200000, .vaddr = 0x200000, .filesz = 0x3000, .memsz = 0x3100, .seed = 3 },
	};
	static u8 m0[5000], m1[1], m2[4096];
	const struct multiboot_module mods[] = {
		{ "initrd.img", m0, sizeof(m0) },
		{ "x", m1, sizeof(m1) },
		{ "", m2, sizeof(m2) },
		{ "empty", NULL, 0 },
	};
	const char *names[] = { "initrd.img", "x", "", "empty" };
	char str[100];
	u64 prev_end;
	u32 list;

	(void)state;
	for (size_t i = 0; i < sizeof(m0); i++)
		m0[i] = (u8)(i * 13);
	m1[0] = 0x42;
	memset(m2, 0x77, sizeof(m2));
	setup_ram_simple(8 * MiB);
	load_ok(build_elf(false, s, 1, 0x200000, 0), "k", "", mods, 4);
	check_machine_state(0x200000);
	gstr(g32(lay.info + 16), str, sizeof(str));
	assert_string_equal(str, "k");
	assert_int_equal(g32(lay.info + 20), 4);
	list = g32(lay.info + 24);
	prev_end = lay.info;
	assert_true(lay.info >= 0x203100);
	for (u32 i = 0; i < 4; i++) {
		u32 start = g32(list + 16 * i), end = g32(list + 16 * i + 4);

		assert_int_equal(start % 4096, 0);
		assert_true(start >= prev_end);
		assert_int_equal(end - start, mods[i].size);
		gstr(g32(list + 16 * i + 8), str, sizeof(str));
		assert_string_equal(str, names[i]);
		for (u32 j = 0; j < mods[i].size; j++)
			assert_int_equal(g8(start + j), mods[i].data[j]);
		prev_end = end;
	}
	assert_int_equal(lay.mods_start, g32(list));
	assert_int_equal(lay.mods_end, prev_end);
	assert_int_equal(lay.end, prev_end);
	check_untouched(s, 1);
}

static void test_elf64_higher_half(void **state)
{
	/* Linked at -2 GiB, loaded at 1 MiB (p_paddr); the entry is virtual. */
	const u64 vbase = 0xffffffff80100000ULL;
	const struct seg s[] = {
		{ .paddr = 0x100000, .vaddr = vbase, .filesz = 0x2000, .memsz = 0x2000, .seed = 5 },
		{ .paddr = 0x400000, .vaddr = vbase + 0x300000, .filesz = 0, .memsz = 0x10000, .seed = 0 },
	};

	(void)state;
	setup_ram_simple(6 * MiB);
	load_ok(build_elf(true, s, 2, vbase + 0x40, 0), "hv.elf", NULL, NULL, 0);
	check_segment_loaded(&s[0]);
	check_segment_loaded(&s[1]);
	check_machine_state(0x100040);
	assert_int_equal(lay.kernel_end, 0x410000);
	assert_int_equal(lay.info, 0x410000);
	check_untouched(s, 2);
}

static void test_elf64_physical_entry(void **state)
{
	/* An entry outside every segment's virtual range is taken as is. */
	const struct seg s[] = {
		{ .paddr = 0x100000, .vaddr = 0xffffffff80100000ULL, .filesz = 0x100, .memsz = 0x100, .seed = 2 },
	};

	(void)state;
	setup_ram_simple(4 * MiB);
	load_ok(build_elf(true, s, 1, 0x100020, 0), "x", NULL, NULL, 0);
	check_machine_state(0x100020);
}

static void test_aout_kludge(void **state)
{
	/* Header at file offset 0x40; the file from offset 0 goes to 0x100000. */
	const struct seg s = { .paddr = 0x100000, .filesz = 0x3000, .memsz = 0x8000, .seed = 0 };
	const u32 k[5] = { 0x100040, 0x100000, 0x103000, 0x108000, 0x100060 };

	(void)state;
	memset(img, 0, sizeof(img));
	for (u32 i = 0; i < 0x4000; i++)
		img[i] = pattern(0, i);
	put_mb_header(0x40, MB1_FLAG_AOUT_KLUDGE, k);
	setup_ram_simple(4 * MiB);
	load_ok(0x4000, "aout", "a b", NULL, 0);
	for (u32 i = 0; i < 0x8000; i++) {
		u8 want = i < 0x3000 ? img[i] : 0;

		if (g8(0x100000 + i) != want)
			fail_msg("kludge byte %u", i);
	}
	check_machine_state(0x100060);
	assert_int_equal(lay.kernel_end, 0x108000);
	check_untouched(&s, 1);
}

static void test_aout_kludge_whole_file(void **state)
{
	/* load_end_addr 0: the rest of the file; bss_end_addr 0: no bss. The header is
	 * at 0x1000 in the file and at 0x201000 in memory, so loading starts at 0. */
	const struct seg s = { .paddr = 0x200000, .filesz = 0x1800, .memsz = 0x1800 };
	const u32 k[5] = { 0x201000, 0x200000, 0, 0, 0x201100 };

	(void)state;
	memset(img, 0, sizeof(img));
	for (u32 i = 0; i < 0x1800; i++)
		img[i] = (u8)(i ^ 0x5a);
	put_mb_header(0x1000, MB1_FLAG_AOUT_KLUDGE | MB1_FLAG_MEMORY_INFO, k);
	setup_ram_simple(4 * MiB);
	load_ok(0x1800, "w", NULL, NULL, 0);
	for (u32 i = 0; i < 0x1800; i++)
		assert_int_equal(g8(0x200000 + i), img[i]);
	assert_int_equal(lay.kernel_end, 0x201800);
	check_machine_state(0x201100);
	check_untouched(&s, 1);
}

static void test_kludge_wins_over_elf(void **state)
{
	const struct seg s[] = {
		{ .paddr = 0x100000, .vaddr = 0x100000, .filesz = 0x1000, .memsz = 0x1000, .seed = 4 },
	};
	/* header_addr - load_addr = 0x400: the file from offset 0 goes to 0x300000. */
	const u32 k[5] = { 0x300400, 0x300000, 0x301000, 0, 0x300800 };
	size_t size;

	(void)state;
	size = build_elf(false, s, 1, 0x100000, 0);
	put_mb_header(0x400, MB1_FLAG_AOUT_KLUDGE, k);
	setup_ram_simple(4 * MiB);
	load_ok(size, "both", NULL, NULL, 0);
	check_machine_state(0x300800);
	assert_int_equal(g8(0x100000), GARBAGE); /* the ELF segment was not used */
	assert_int_equal(g32(0x300000), 0x464c457f);
	assert_int_equal(g32(0x300400), MB1_HEADER_MAGIC);
}

static void test_mmap_slots(void **state)
{
	/* Slots out of order, two adjacent ones (one run), a gap, RAM above 4 GiB. */
	const u64 ranges[] = { 32 * MiB, 8 * MiB, 4 * MiB, 12 * MiB, 0, 4 * MiB, 4096 * MiB, 2 * MiB };
	const struct want_mmap map[] = {
		{ 0, 0xA0000, 1 }, { 0xA0000, 0x60000, 2 }, { 0x100000, 15 * MiB, 1 },
		{ 32 * MiB, 8 * MiB, 1 }, { 4096 * MiB, 2 * MiB, 1 },
	};
	const struct seg s[] = {
		{ .paddr = 0x100000, .vaddr = 0x100000, .filesz = 0x10, .memsz = 0x10, .seed = 1 },
	};

	(void)state;
	setup_ram(4, ranges);
	load_ok(build_elf(false, s, 1, 0x100000, 0), "m", NULL, NULL, 0);
	check_mmap(map, 5);
	assert_int_equal(g32(lay.info + 4), 640);
	assert_int_equal(g32(lay.info + 8), 15 * 1024);
}

static void test_mmap_no_low_ram(void **state)
{
	/* RAM only from 2 MiB: no lower memory, no upper memory at 1 MiB, no hole entry. */
	const u64 ranges[] = { 2 * MiB, 4 * MiB };
	const struct want_mmap map[] = { { 2 * MiB, 4 * MiB, 1 } };
	const struct seg s[] = {
		{ .paddr = 0x200000, .vaddr = 0x200000, .filesz = 0x10, .memsz = 0x10, .seed = 1 },
	};

	(void)state;
	setup_ram(1, ranges);
	load_ok(build_elf(false, s, 1, 0x200000, 0), "m", NULL, NULL, 0);
	check_mmap(map, 1);
	assert_int_equal(g32(lay.info + 4), 0);
	assert_int_equal(g32(lay.info + 8), 0);
}

static void test_low_kernel(void **state)
{
	/* A kernel below 640 KiB: the boot information still goes above 1 MiB, not in the hole. */
	const struct seg s[] = {
		{ .paddr = 0x8000, .vaddr = 0x8000, .filesz = 0x1000, .memsz = 0x1000, .seed = 6 },
	};

	(void)state;
	setup_ram_simple(2 * MiB);
	load_ok(build_elf(false, s, 1, 0x8000, 0), "low", NULL, NULL, 0);
	check_segment_loaded(&s[0]);
	assert_int_equal(lay.info, 0x100000);
	check_untouched(s, 1);
}

static void test_video_flag_accepted(void **state)
{
	const struct seg s[] = {
		{ .paddr = 0x100000, .vaddr = 0x100000, .filesz = 0x10, .memsz = 0x10, .seed = 1 },
	};

	(void)state;
	setup_ram_simple(2 * MiB);
	load_ok(build_elf(false, s, 1, 0x100000, MB1_FLAG_VIDEO_MODE), "v", NULL, NULL, 0);
	assert_false(g32(lay.info) & (BIT(11) | BIT(12))); /* no video information offered */
}

/* ---- malformed images ---- */

static void load_bad(size_t size, const char *words, const struct multiboot_module *mods, u32 nr)
{
	int rc = load(size, "bad", "x", mods, nr);

	if (rc != -EINVAL)
		fail_msg("rc %d (want -EINVAL, words \"%s\"), message \"%s\"", rc, words, err);
	if (!strstr(err, words))
		fail_msg("message \"%s\" lacks \"%s\"", err, words);
	assert_true(strncmp(err, "multiboot: ", 11) == 0);
}

static const struct seg one_seg[] = {
	{ .paddr = 0x100000, .vaddr = 0x100000, .filesz = 0x1000, .memsz = 0x2000, .seed = 1 },
};

static void test_bad_header(void **state)
{
	size_t size;

	(void)state;
	setup_ram_simple(4 * MiB);
	memset(img, 0x90, 0x4000);
	load_bad(0x4000, "no Multiboot header in the first 8192 bytes", NULL, 0);
	load_bad(0, "no Multiboot header", NULL, 0);
	load_bad(11, "no Multiboot header", NULL, 0);
	/* A header starting after 8 KiB, or not on a 4-byte boundary, does not count. */
	put_mb_header(0x2000, 0, NULL);
	load_bad(0x4000, "no Multiboot header", NULL, 0);
	memset(img, 0x90, 0x4000);
	put_mb_header(0x102, 0, NULL);
	load_bad(0x4000, "no Multiboot header", NULL, 0);
	/* Cut inside the header: magic present, checksum missing. */
	memset(img, 0x90, 0x4000);
	put_mb_header(0x100, 0, NULL);
	load_bad(0x108, "no Multiboot header", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x100000, 0);
	put32(0x408, 0x12345678);
	load_bad(size, "header at offset 0x400 has a bad checksum", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x100000, BIT(3));
	load_bad(size, "require features this loader does not know (0x8)", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x100000, BIT(15) | BIT(1));
	load_bad(size, "(0x8000)", NULL, 0);
}

static void test_bad_elf(void **state)
{
	const struct seg s64[] = {
		{ .paddr = 0x100000, .vaddr = 0x100000, .filesz = 0x100, .memsz = 0x100, .seed = 1 },
	};
	size_t size;

	(void)state;
	setup_ram_simple(4 * MiB);
	/* Not ELF and no address fields. */
	memset(img, 0, 0x1000);
	put_mb_header(0x10, 0, NULL);
	load_bad(0x1000, "not ELF", NULL, 0);
	load_bad(0x20, "not ELF", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x100000, 0);
	img[4] = 3;
	load_bad(size, "unknown ELF class 3", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x100000, 0);
	img[5] = 2;
	load_bad(size, "not a little-endian x86 ELF executable", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x100000, 0);
	put16(16, 3); /* ET_DYN */
	load_bad(size, "type 3", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x100000, 0);
	put16(18, 62); /* x86-64 machine in an ELF32 file */
	load_bad(size, "machine 62", NULL, 0);
	size = build_elf(true, s64, 1, 0x100000, 0);
	put16(18, 3);
	load_bad(size, "machine 3", NULL, 0);
	/* ELF64 cut inside its header (the Multiboot header moved before the cut). */
	size = build_elf(true, s64, 1, 0x100000, 0);
	put_mb_header(0x30, 0, NULL);
	load_bad(0x3c, "truncated inside the ELF header", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x100000, 0);
	put16(42, 16);
	load_bad(size, "program header size 16 is too small", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x100000, 0);
	put32(28, (u32)size - 8);
	load_bad(size, "ELF program headers at", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x100000, 0);
	put16(44, 0);
	load_bad(size, "no loadable segment", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x100000, 0);
	put32(52, 4); /* PT_NOTE */
	load_bad(size, "no loadable segment", NULL, 0);
	size = build_elf(true, s64, 1, 0x100000, 0);
	put16(56, 17);
	for (int i = 1; i < 17; i++)
		memcpy(img + 64 + 56 * i, img + 64, 56);
	load_bad(size, "more than 16 loadable ELF segments", NULL, 0);
}

static void test_bad_segments(void **state)
{
	struct seg s[2];
	size_t size;

	(void)state;
	setup_ram_simple(4 * MiB);
	size = build_elf(false, one_seg, 1, 0x100000, 0);
	load_bad(size - 1, "image truncated: segment 0 needs file bytes 0x2000..0x3000", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x100000, 0);
	put32(52 + 4, 0xfffff800); /* p_offset near the top: the end wraps */
	load_bad(size, "image truncated", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x100000, 0);
	put32(52 + 16, 0x3000); /* filesz > memsz */
	load_bad(size, "more file bytes (12288) than memory bytes (8192)", NULL, 0);

	s[0] = one_seg[0];
	s[0].paddr = 4 * MiB - 0x1000; /* straddles the end of RAM */
	size = build_elf(false, s, 1, s[0].paddr, 0);
	load_bad(size, "segment 0 at 0x3ff000..0x401000 is outside guest RAM (4 MiB)", NULL, 0);
	s[0].paddr = 0xfee00000;
	size = build_elf(false, s, 1, 0x100000, 0);
	load_bad(size, "outside guest RAM", NULL, 0);
	s[0].paddr = 0xfffff000; /* wraps at 4 GiB */
	size = build_elf(false, s, 1, 0x100000, 0);
	load_bad(size, "outside guest RAM", NULL, 0);
	s[0] = one_seg[0];
	s[1] = one_seg[0];
	s[1].paddr = 0x100000000ULL; /* ELF64 above 4 GiB */
	size = build_elf(true, s, 2, 0x100000, 0);
	load_bad(size, "segment 1 at 0x100000000", NULL, 0);
	s[1].paddr = 0x200000;
	s[1].filesz = 0;
	size = build_elf(true, s, 2, 0x100000, 0);
	put64(64 + 56 + 40, 0xffffffffffff0000ULL); /* a huge p_memsz */
	load_bad(size, "segment 1", NULL, 0);
	size = build_elf(false, one_seg, 1, 0x800000, 0);
	load_bad(size, "entry point 0x800000 is outside guest RAM", NULL, 0);
	size = build_elf(true, one_seg, 1, 0x100000000ULL, 0);
	load_bad(size, "entry point 0x100000000", NULL, 0);
}

static void test_bad_kludge(void **state)
{
	static const struct {
		u32 k[5];
		u32 size;
		const char *words;
	} cases[] = {
		{ { 0x100040, 0x100050, 0, 0, 0x100040 }, 0x1000, "does not fit header_addr" },
		{ { 0x100080, 0x100000, 0, 0, 0x100040 }, 0x1000, "does not fit header_addr" },
		{ { 0x100040, 0x100000, 0xff000, 0, 0x100040 }, 0x1000, "load_end_addr 0xff000 is below" },
		{ { 0x100040, 0x100000, 0x102000, 0, 0x100040 }, 0x1000, "image truncated: 8192 bytes" },
		{ { 0x100040, 0x100000, 0x101000, 0x100800, 0x100040 }, 0x1000, "bss_end_addr 0x100800 is below" },
		{ { 0x100040, 0x100000, 0, 0x500000, 0x100040 }, 0x1000, "outside guest RAM" },
		{ { 0x3ff040, 0x3ff000, 0, 0, 0x3ff040 }, 0x2000, "outside guest RAM" },
		{ { 0x100040, 0x100000, 0, 0, 0x900000 }, 0x1000, "entry point 0x900000" },
		{ { 0x100040, 0x100000, 0, 0, 0x100040 }, 0x50, "header's address fields" },
	};

	(void)state;
	setup_ram_simple(4 * MiB);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(img, 0, 0x4000);
		put_mb_header(0x40, MB1_FLAG_AOUT_KLUDGE, cases[i].k);
		load_bad(cases[i].size, cases[i].words, NULL, 0);
	}
}

static void test_not_enough_memory(void **state)
{
	const struct seg near_end[] = {
		{ .paddr = 4 * MiB - 0x1000, .vaddr = 0, .filesz = 0x10, .memsz = 0x1000, .seed = 1 },
	};
	static u8 big[3 * 1024 * 1024];
	struct multiboot_module many[MULTIBOOT_MAX_MODULES + 1];
	const struct multiboot_module m = { "big", big, sizeof(big) };
	size_t size;

	(void)state;
	setup_ram_simple(4 * MiB);
	/* Kernel at the very end of RAM: no room for the boot information. */
	size = build_elf(false, near_end, 1, near_end[0].paddr, 0);
	load_bad(size, "not enough memory: the kernel ends at 0x400000", NULL, 0);
	/* A module bigger than the RAM left after the kernel. */
	size = build_elf(false, one_seg, 1, 0x100000, 0);
	load_bad(size, "1 modules (3072 KiB) need RAM up to", &m, 1);
	assert_non_null(strstr(err, "guest RAM there ends at 0x400000"));
	for (int i = 0; i <= MULTIBOOT_MAX_MODULES; i++)
		many[i] = (struct multiboot_module){ "m", big, 1 };
	load_bad(size, "17 modules, at most 16", many, MULTIBOOT_MAX_MODULES + 1);
	/* Exactly MULTIBOOT_MAX_MODULES fit. */
	load_ok(size, "k", NULL, many, MULTIBOOT_MAX_MODULES);
	assert_int_equal(g32(lay.info + 20), MULTIBOOT_MAX_MODULES);
}

static void test_error_buffer(void **state)
{
	char small[10];

	(void)state;
	setup_ram_simple(2 * MiB);
	memset(img, 0, 64);
	memset(small, 'x', sizeof(small));
	assert_int_equal(multiboot_load(&mem, img, 64, "a", NULL, NULL, 0, &boot, NULL, small,
					sizeof(small)), -EINVAL);
	assert_string_equal(small, "multiboot");
	assert_int_equal(multiboot_load(&mem, img, 64, "a", NULL, NULL, 0, &boot, NULL, NULL, 0),
			 -EINVAL);
	/* layout is optional on success too */
	build_elf(false, one_seg, 1, 0x100000, 0);
	assert_int_equal(multiboot_load(&mem, img, 0x3000, NULL, NULL, NULL, 0, &boot, NULL, err,
					sizeof(err)), 0);
	assert_int_equal(boot.regs.gpr[VCPU_RAX], MB1_BOOTLOADER_MAGIC);
}

/* Random mutations of headers and program headers: no crash, no stray write, clear result. */
static void test_fuzz(void **state)
{
	const struct seg s[] = {
		{ .paddr = 0x100000, .vaddr = 0xc0100000, .filesz = 0x1800, .memsz = 0x3000, .seed = 1 },
		{ .paddr = 0x104000, .vaddr = 0xc0104000, .filesz = 0x100, .memsz = 0x100, .seed = 2 },
	};
	static u8 modbytes[100];
	const struct multiboot_module mods[] = { { "mod", modbytes, sizeof(modbytes) } };
	u8 *base = malloc(IMG_CAP);
	unsigned ok = 0, bad = 0;

	(void)state;
	setup_ram_simple(4 * MiB);
	srand(4242);
	for (int r = 0; r < 6000; r++) {
		bool is64 = r & 1;
		size_t size = build_elf(is64, s, 2, 0xc0100000, 0), cut;
		int rc;

		if (r % 7 == 0) { /* make some a.out-kludge images */
			const u32 k[5] = { 0x100400, 0x100000, 0x101000, 0x102000, 0x100400 };

			put_mb_header(0x400, MB1_FLAG_AOUT_KLUDGE, k);
		}
		memcpy(base, img, size);
		for (int m = rand() % 6 + 1; m > 0; m--) {
			/* Mostly the headers (first 0x440 bytes), sometimes anywhere. */
			size_t pos = rand() % 4 ? (size_t)rand() % 0x440 : (size_t)rand() % size;

			base[pos] = rand() % 3 ? (u8)rand() : (u8)(rand() % 2 ? 0xff : 0);
		}
		cut = rand() % 5 ? size : (size_t)rand() % size;
		memcpy(img, base, size);
		rc = load(cut, "f", "c", mods, rand() % 2);
		if (rc == 0) {
			ok++;
			assert_int_equal(boot.regs.gpr[VCPU_RAX], MB1_BOOTLOADER_MAGIC);
			assert_true(gmem_is_ram(&mem, boot.regs.rip, 1));
			assert_true(lay.info >= lay.kernel_end && lay.end <= 4 * MiB);
		} else {
			bad++;
			assert_int_equal(rc, -EINVAL);
			assert_true(strncmp(err, "multiboot: ", 11) == 0);
		}
	}
	free(base);
	assert_true(ok > 100);
	assert_true(bad > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_elf32_basic, teardown),
		cmocka_unit_test_teardown(test_modules, teardown),
		cmocka_unit_test_teardown(test_elf64_higher_half, teardown),
		cmocka_unit_test_teardown(test_elf64_physical_entry, teardown),
		cmocka_unit_test_teardown(test_aout_kludge, teardown),
		cmocka_unit_test_teardown(test_aout_kludge_whole_file, teardown),
		cmocka_unit_test_teardown(test_kludge_wins_over_elf, teardown),
		cmocka_unit_test_teardown(test_mmap_slots, teardown),
		cmocka_unit_test_teardown(test_mmap_no_low_ram, teardown),
		cmocka_unit_test_teardown(test_low_kernel, teardown),
		cmocka_unit_test_teardown(test_video_flag_accepted, teardown),
		cmocka_unit_test_teardown(test_bad_header, teardown),
		cmocka_unit_test_teardown(test_bad_elf, teardown),
		cmocka_unit_test_teardown(test_bad_segments, teardown),
		cmocka_unit_test_teardown(test_bad_kludge, teardown),
		cmocka_unit_test_teardown(test_not_enough_memory, teardown),
		cmocka_unit_test_teardown(test_error_buffer, teardown),
		cmocka_unit_test_teardown(test_fuzz, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
