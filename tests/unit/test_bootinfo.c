/* bootinfo_parse on Multiboot 1 and 2 information images built in memory, good and malformed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "asm/bootinfo.h"

/* Simulated physical memory: exact-size heap blocks so ASan catches stray reads. */
#define MAX_REGIONS 16
struct region {
	u64 pa;
	size_t len;
	u8 *buf;
};
static struct region regions[MAX_REGIONS];
static int nr_regions;

static const void *sim_map(u64 pa, size_t len)
{
	for (int i = 0; i < nr_regions; i++) {
		struct region *r = &regions[i];

		if (pa >= r->pa && len <= r->len && pa - r->pa <= r->len - len)
			return r->buf + (pa - r->pa);
	}
	return NULL;
}

static u8 *add_region(u64 pa, size_t len)
{
	u8 *b = calloc(1, len);

	assert_non_null(b);
	assert_true(nr_regions < MAX_REGIONS);
	regions[nr_regions++] = (struct region){ pa, len, b };
	return b;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < nr_regions; i++)
		free(regions[i].buf);
	nr_regions = 0;
	return 0;
}

static void put32(u8 *p, u32 v) { memcpy(p, &v, 4); }
static void put64(u8 *p, u64 v) { memcpy(p, &v, 8); }

/* ---- Multiboot2: a growing image of 8-byte aligned tags (spec section 3.6). ---- */
struct mb2 {
	u8 b[8192];
	u32 len;
};

static void mb2_begin(struct mb2 *m)
{
	memset(m, 0, sizeof(*m));
	m->len = 8;
}

/* Append a tag with `size` bytes after its 8-byte header; returns the payload. */
static u8 *mb2_tag(struct mb2 *m, u32 type, u32 size)
{
	u8 *t = m->b + m->len;

	put32(t, type);
	put32(t + 4, 8 + size);
	m->len += (8 + size + 7) & ~7u;
	return t + 8;
}

static void mb2_string_tag(struct mb2 *m, u32 type, const char *s)
{
	memcpy(mb2_tag(m, type, (u32)strlen(s) + 1), s, strlen(s) + 1);
}

static void mb2_end(struct mb2 *m)
{
	mb2_tag(m, 0, 0);
	put32(m->b, m->len);
}

/* Parse an exact-size heap copy of the image. */
static int mb2_parse(struct boot_info *bi, const struct mb2 *m, u32 copy_len)
{
	u8 *copy = malloc(copy_len);
	int r;

	memcpy(copy, m->b, copy_len);
	r = bootinfo_parse(bi, MULTIBOOT2_BOOT_MAGIC, copy, 0x10000, sim_map);
	free(copy);
	return r;
}

static void mb2_mmap(struct mb2 *m, unsigned n)
{
	u8 *p = mb2_tag(m, 6, 8 + 24 * n);

	put32(p, 24);
	put32(p + 4, 0);
	for (unsigned i = 0; i < n; i++) {
		u8 *e = p + 8 + 24 * i;

		put64(e, 0x100000ULL * i);
		put64(e + 8, 0x1000 * (i + 1));
		put32(e + 16, i == 1 ? BOOT_MEM_RESERVED : BOOT_MEM_RAM);
	}
}

static void test_mb2_full(void **state)
{
	static struct boot_info bi;
	struct mb2 m;
	u8 *p;

	(void)state;
	mb2_begin(&m);
	mb2_string_tag(&m, 1, "console=com1 nox2apic");
	mb2_string_tag(&m, 2, "GRUB test");
	p = mb2_tag(&m, 4, 8);
	put32(p, 639);
	put32(p + 4, 261120);
	mb2_mmap(&m, 3);
	p = mb2_tag(&m, 3, 8 + 9);
	put32(p, 0x200000);
	put32(p + 4, 0x280000);
	memcpy(p + 8, "guest.cfg", 10);
	p = mb2_tag(&m, 3, 8 + 1);
	put32(p, 0x300000);
	put32(p + 4, 0x300100);
	p = mb2_tag(&m, 14, 20);
	memcpy(p, "RSD PTR ", 8);
	mb2_tag(&m, 0x4242, 5); /* unknown tags are skipped */
	mb2_end(&m);
	assert_int_equal(mb2_parse(&bi, &m, m.len), 0);
	assert_int_equal(bi.loader, 2);
	assert_string_equal(bi.cmdline, "console=com1 nox2apic");
	assert_string_equal(bi.loader_name, "GRUB test");
	assert_int_equal(bi.mem_lower_kb, 639);
	assert_int_equal(bi.mem_upper_kb, 261120);
	assert_int_equal(bi.nr_mmap, 3);
	assert_int_equal(bi.mmap[2].base, 0x200000);
	assert_int_equal(bi.mmap[2].len, 0x3000);
	assert_int_equal(bi.mmap[1].type, BOOT_MEM_RESERVED);
	assert_int_equal(bi.nr_modules, 2);
	assert_int_equal(bi.modules[0].start, 0x200000);
	assert_int_equal(bi.modules[0].end, 0x280000);
	assert_string_equal(bi.modules[0].cmdline, "guest.cfg");
	assert_string_equal(bi.modules[1].cmdline, "");
	assert_int_equal(bi.rsdp_len, 20);
	assert_memory_equal(bi.rsdp, "RSD PTR ", 8);
	assert_int_equal(bi.info_phys, 0x10000);
	assert_int_equal(bi.info_len, m.len);
}

/* The ACPI 2.0 copy wins over the 1.0 one, whichever comes first; oversize copies are clipped. */
static void test_mb2_rsdp_choice(void **state)
{
	static struct boot_info bi;
	struct mb2 m;
	u8 *p;

	(void)state;
	mb2_begin(&m);
	p = mb2_tag(&m, 15, 36);
	memset(p, 0x22, 36);
	p = mb2_tag(&m, 14, 20);
	memset(p, 0x11, 20);
	mb2_end(&m);
	assert_int_equal(mb2_parse(&bi, &m, m.len), 0);
	assert_int_equal(bi.rsdp_len, 36);
	assert_int_equal(bi.rsdp[0], 0x22);

	mb2_begin(&m);
	p = mb2_tag(&m, 14, 20);
	memset(p, 0x11, 20);
	p = mb2_tag(&m, 15, 60);
	memset(p, 0x33, 60);
	mb2_end(&m);
	assert_int_equal(mb2_parse(&bi, &m, m.len), 0);
	assert_int_equal(bi.rsdp_len, 36);
	assert_int_equal(bi.rsdp[35], 0x33);
}

/* Strings without a terminator inside their tag stop at the tag's end. */
static void test_mb2_unterminated_strings(void **state)
{
	static struct boot_info bi;
	struct mb2 m;
	u8 *p;

	(void)state;
	mb2_begin(&m);
	p = mb2_tag(&m, 1, 5);
	memcpy(p, "abcde", 5);
	p = mb2_tag(&m, 3, 8 + 3);
	put32(p, 0x1000);
	put32(p + 4, 0x2000);
	memcpy(p + 8, "xyz", 3);
	/* A tag whose padding holds non-zero bytes must not leak into the string. */
	m.b[m.len - 5] = 'Q';
	mb2_end(&m);
	assert_int_equal(mb2_parse(&bi, &m, m.len), 0);
	assert_string_equal(bi.cmdline, "abcde");
	assert_string_equal(bi.modules[0].cmdline, "xyz");
}

static void test_mb2_limits(void **state)
{
	static struct boot_info bi;
	struct mb2 m;
	char longline[BOOT_CMDLINE_MAX + 100];

	(void)state;
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	mb2_begin(&m);
	mb2_string_tag(&m, 1, longline);
	mb2_mmap(&m, BOOT_MAX_MMAP + 10);
	for (int i = 0; i < BOOT_MAX_MODULES + 3; i++) {
		u8 *p = mb2_tag(&m, 3, 8 + 2);

		put32(p, 0x1000 * i);
		put32(p + 4, 0x1000 * i + 0x800);
		memcpy(p + 8, "m", 2);
	}
	mb2_end(&m);
	assert_true(m.len < sizeof(m.b));
	assert_int_equal(mb2_parse(&bi, &m, m.len), 0);
	assert_int_equal(strlen(bi.cmdline), BOOT_CMDLINE_MAX - 1);
	assert_int_equal(bi.nr_mmap, BOOT_MAX_MMAP);
	assert_int_equal(bi.nr_modules, BOOT_MAX_MODULES);
}

static void test_mb2_malformed(void **state)
{
	static struct boot_info bi;
	struct mb2 m;
	u8 *p;

	(void)state;
	/* total_size too small, too large. */
	mb2_begin(&m);
	mb2_end(&m);
	put32(m.b, 8);
	assert_int_equal(mb2_parse(&bi, &m, 16), -EINVAL);
	put32(m.b, 64u << 20);
	assert_int_equal(mb2_parse(&bi, &m, 16), -EINVAL);

	/* No end tag before total_size runs out. */
	mb2_begin(&m);
	mb2_string_tag(&m, 1, "abc");
	put32(m.b, m.len);
	assert_int_equal(mb2_parse(&bi, &m, m.len), -EINVAL);

	/* A tag claiming fewer than 8 bytes (would loop forever). */
	mb2_begin(&m);
	p = mb2_tag(&m, 1, 0);
	put32(p - 4, 0);
	mb2_end(&m);
	assert_int_equal(mb2_parse(&bi, &m, m.len), -EINVAL);

	/* A tag running past total_size. */
	mb2_begin(&m);
	p = mb2_tag(&m, 1, 8);
	put32(p - 4, 4000);
	mb2_end(&m);
	assert_int_equal(mb2_parse(&bi, &m, m.len), -EINVAL);

	/* A memory map whose entry size is too small is ignored, not misread. */
	mb2_begin(&m);
	p = mb2_tag(&m, 6, 8 + 48);
	put32(p, 8);
	mb2_end(&m);
	assert_int_equal(mb2_parse(&bi, &m, m.len), 0);
	assert_int_equal(bi.nr_mmap, 0);

	/* A memory map tag too short for its own header, a truncated module tag. */
	mb2_begin(&m);
	mb2_tag(&m, 6, 4);
	mb2_tag(&m, 3, 4);
	mb2_tag(&m, 4, 4);
	mb2_end(&m);
	assert_int_equal(mb2_parse(&bi, &m, m.len), 0);
	assert_int_equal(bi.nr_mmap, 0);
	assert_int_equal(bi.nr_modules, 0);
	assert_int_equal(bi.mem_upper_kb, 0);

	/* Unknown magic, missing structure. */
	assert_int_equal(bootinfo_parse(&bi, 0x12345678, m.b, 0, sim_map), -EINVAL);
	assert_int_equal(bootinfo_parse(&bi, MULTIBOOT2_BOOT_MAGIC, NULL, 0, sim_map), -EINVAL);
}

/* Random corruption of a good image: any result but a crash or a stray read. */
static void test_mb2_fuzz(void **state)
{
	static struct boot_info bi;
	struct mb2 good, m;
	unsigned seed = 777;
	int ok = 0, bad = 0;

	(void)state;
	mb2_begin(&good);
	mb2_string_tag(&good, 1, "console=com1");
	mb2_mmap(&good, 4);
	mb2_string_tag(&good, 2, "GRUB");
	mb2_end(&good);
	for (int it = 0; it < 5000; it++) {
		m = good;
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			/* total_size itself stays: it is the only bound the parser can have. */
			m.b[4 + (seed >> 8) % (good.len - 4)] = (u8)(seed >> 20);
		}
		if (mb2_parse(&bi, &m, good.len) == 0)
			ok++;
		else
			bad++;
		assert_true(bi.nr_mmap <= BOOT_MAX_MMAP);
		assert_true(strlen(bi.cmdline) < BOOT_CMDLINE_MAX);
	}
	assert_true(ok > 0 && bad > 0);
}

/* ---- Multiboot 1 (spec 0.6.96 section 3.3): fixed structure with physical pointers. ---- */
#define MB1_INFO_LEN 88
#define MB1_PA_CMDLINE 0x9000
#define MB1_PA_NAME 0x9100
#define MB1_PA_MODS 0x9200
#define MB1_PA_MMAP 0x9400
#define MB1_PA_MODSTR 0x9800

static void mb1_string(u64 pa, const char *s)
{
	memcpy(add_region(pa, strlen(s) + 1), s, strlen(s) + 1);
}

/* A memory map of `n` entries, each `size` = 20 after the size field. */
static u8 *mb1_mmap(u8 *info, unsigned n)
{
	u8 *mm = add_region(MB1_PA_MMAP, 24 * n);
	u32 flags;

	for (unsigned i = 0; i < n; i++) {
		put32(mm + 24 * i, 20);
		put64(mm + 24 * i + 4, 0x100000ULL * i);
		put64(mm + 24 * i + 12, 0x10000);
		put32(mm + 24 * i + 20, BOOT_MEM_RAM);
	}
	put32(info + 44, 24 * n);
	put32(info + 48, MB1_PA_MMAP);
	memcpy(&flags, info, 4);
	put32(info, flags | (1u << 6));
	return mm;
}

static void test_mb1_full(void **state)
{
	static struct boot_info bi;
	u8 info[MB1_INFO_LEN] = { 0 };
	u8 *mods;

	(void)state;
	put32(info, (1u << 0) | (1u << 2) | (1u << 3) | (1u << 9));
	put32(info + 4, 639);
	put32(info + 8, 130048);
	put32(info + 16, MB1_PA_CMDLINE);
	mb1_string(MB1_PA_CMDLINE, "loglevel=7");
	put32(info + 64, MB1_PA_NAME);
	mb1_string(MB1_PA_NAME, "QEMU");
	put32(info + 20, 2);
	put32(info + 24, MB1_PA_MODS);
	mods = add_region(MB1_PA_MODS, 32);
	put32(mods, 0x400000);
	put32(mods + 4, 0x401000);
	put32(mods + 8, MB1_PA_MODSTR);
	put32(mods + 16, 0x500000);
	put32(mods + 20, 0x500800);
	put32(mods + 24, 0); /* no string */
	mb1_string(MB1_PA_MODSTR, "initrd");
	mb1_mmap(info, 3);
	assert_int_equal(bootinfo_parse(&bi, MULTIBOOT1_BOOT_MAGIC, info, 0x8000, sim_map), 0);
	assert_int_equal(bi.loader, 1);
	assert_string_equal(bi.cmdline, "loglevel=7");
	assert_string_equal(bi.loader_name, "QEMU");
	assert_int_equal(bi.mem_upper_kb, 130048);
	assert_int_equal(bi.nr_modules, 2);
	assert_string_equal(bi.modules[0].cmdline, "initrd");
	assert_int_equal(bi.modules[1].start, 0x500000);
	assert_string_equal(bi.modules[1].cmdline, "");
	assert_int_equal(bi.nr_mmap, 3);
	assert_int_equal(bi.mmap[2].base, 0x200000);
	assert_int_equal(bi.rsdp_len, 0);
}

/* Without a memory map, the basic lower/upper sizes become two RAM ranges. */
static void test_mb1_basic_memory(void **state)
{
	static struct boot_info bi;
	u8 info[MB1_INFO_LEN] = { 0 };

	(void)state;
	put32(info, 1u << 0);
	put32(info + 4, 640);
	put32(info + 8, 1024);
	assert_int_equal(bootinfo_parse(&bi, MULTIBOOT1_BOOT_MAGIC, info, 0, sim_map), 0);
	assert_int_equal(bi.nr_mmap, 2);
	assert_int_equal(bi.mmap[0].len, 640 * 1024);
	assert_int_equal(bi.mmap[1].base, 0x100000);
	assert_int_equal(bi.mmap[1].len, 1024 * 1024);
}

static void test_mb1_malformed(void **state)
{
	static struct boot_info bi;
	u8 info[MB1_INFO_LEN] = { 0 };
	u8 *mm;

	(void)state;
	/* Pointers to unmapped memory and an absurd module count: skipped. */
	put32(info, (1u << 2) | (1u << 3) | (1u << 9));
	put32(info + 16, 0xdead0000);
	put32(info + 20, 0x10000000);
	put32(info + 24, MB1_PA_MODS);
	put32(info + 64, 0xdead1000);
	assert_int_equal(bootinfo_parse(&bi, MULTIBOOT1_BOOT_MAGIC, info, 0, sim_map), 0);
	assert_string_equal(bi.cmdline, "");
	assert_string_equal(bi.loader_name, "");
	assert_int_equal(bi.nr_modules, 0);

	/* A memory map entry whose size runs past the map: the map ends there. */
	memset(info, 0, sizeof(info));
	mm = mb1_mmap(info, 2);
	put32(mm + 24, 100);
	assert_int_equal(bootinfo_parse(&bi, MULTIBOOT1_BOOT_MAGIC, info, 0, sim_map), 0);
	assert_int_equal(bi.nr_mmap, 1);
	teardown(NULL);

	/* An entry size that wraps the 32-bit offset arithmetic must not loop or misread. */
	memset(info, 0, sizeof(info));
	mm = mb1_mmap(info, 2);
	put32(mm + 24, 0xfffffffcU);
	assert_int_equal(bootinfo_parse(&bi, MULTIBOOT1_BOOT_MAGIC, info, 0, sim_map), 0);
	assert_int_equal(bi.nr_mmap, 1);
	teardown(NULL);

	/* A map length that is not a whole number of entries. */
	memset(info, 0, sizeof(info));
	mb1_mmap(info, 2);
	put32(info + 44, 24 + 10);
	assert_int_equal(bootinfo_parse(&bi, MULTIBOOT1_BOOT_MAGIC, info, 0, sim_map), 0);
	assert_int_equal(bi.nr_mmap, 1);
}

/* Random memory-map sizes and entry sizes: never a hang, a stray read or a bogus count. */
static void test_mb1_mmap_fuzz(void **state)
{
	static struct boot_info bi;
	unsigned seed = 4242;

	(void)state;
	for (int it = 0; it < 3000; it++) {
		u8 info[MB1_INFO_LEN] = { 0 };
		u8 *mm = mb1_mmap(info, 6);

		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			mm[(seed >> 8) % (24 * 6)] = (u8)(seed >> 20);
		}
		if (it % 4 == 0)
			put32(info + 44, (seed >> 4) % (24 * 6 + 1));
		assert_int_equal(bootinfo_parse(&bi, MULTIBOOT1_BOOT_MAGIC, info, 0, sim_map), 0);
		assert_true(bi.nr_mmap <= 6);
		teardown(NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_mb2_full, teardown),
		cmocka_unit_test_teardown(test_mb2_rsdp_choice, teardown),
		cmocka_unit_test_teardown(test_mb2_unterminated_strings, teardown),
		cmocka_unit_test_teardown(test_mb2_limits, teardown),
		cmocka_unit_test_teardown(test_mb2_malformed, teardown),
		cmocka_unit_test_teardown(test_mb2_fuzz, teardown),
		cmocka_unit_test_teardown(test_mb1_full, teardown),
		cmocka_unit_test_teardown(test_mb1_basic_memory, teardown),
		cmocka_unit_test_teardown(test_mb1_malformed, teardown),
		cmocka_unit_test_teardown(test_mb1_mmap_fuzz, teardown),
	};
	return cmocka_run_group_tests_name("bootinfo", tests, NULL, NULL);
}
