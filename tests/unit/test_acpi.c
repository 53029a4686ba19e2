/* acpi_parse on ACPI table images built in memory: good, odd and deliberately broken ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "asm/acpi.h"

/*
 * Simulated physical memory: a set of regions, each its own heap block of
 * exactly its size, so ASan reports any read outside what map() handed out.
 */
#define MAX_REGIONS 32
struct region {
	u64 pa;
	size_t len;
	u8 *buf;
};
static struct region regions[MAX_REGIONS];
static int nr_regions;
static int nr_map_calls;

static const void *sim_map(u64 pa, size_t len)
{
	nr_map_calls++;
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

static struct region *find_region(u64 pa)
{
	for (int i = 0; i < nr_regions; i++)
		if (regions[i].pa == pa)
			return &regions[i];
	return NULL;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < nr_regions; i++)
		free(regions[i].buf);
	nr_regions = 0;
	nr_map_calls = 0;
	return 0;
}

static void put16(u8 *p, u16 v) { memcpy(p, &v, 2); }
static void put32(u8 *p, u32 v) { memcpy(p, &v, 4); }
static void put64(u8 *p, u64 v) { memcpy(p, &v, 8); }

static u8 sum(const u8 *p, size_t n)
{
	u8 s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* Header fields at the offsets of ACPI 6.x section 5.2.6; checksum fixed later. */
static void sdt_header(u8 *t, const char *sig, u32 len, u8 rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "HVTEST", 6);
	memcpy(t + 16, "TESTTBL ", 8);
}

static void sdt_fix(u8 *t)
{
	u32 len;

	memcpy(&len, t + 4, 4);
	t[9] = 0;
	t[9] = (u8)(0 - sum(t, len));
}

/* Physical addresses of the test platform's tables. */
#define PA_RSDP 0xf5a40
#define PA_RSDT 0x7fe0000
#define PA_XSDT 0x7fe1000
#define PA_MADT 0x7fe2000
#define PA_HPET 0x7fe3000
#define PA_FADT 0x7fe4000
#define PA_DSDT 0x7fe5000
#define PA_FACS 0x7fe6000

static void make_rsdp(u8 *r, u8 rev, u32 rsdt, u64 xsdt)
{
	memset(r, 0, rev >= 2 ? 36 : 20);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "HVTEST", 6);
	r[15] = rev;
	put32(r + 16, rsdt);
	r[8] = (u8)(0 - sum(r, 20));
	if (rev >= 2) {
		put32(r + 20, 36);
		put64(r + 24, xsdt);
		r[32] = (u8)(0 - sum(r, 36));
	}
}

/* A root table (RSDT: esize 4, XSDT: esize 8) listing `n` addresses. */
static u8 *make_root(u64 pa, const char *sig, unsigned esize, const u64 *addrs, unsigned n)
{
	u32 len = 36 + esize * n;
	u8 *t = add_region(pa, len);

	sdt_header(t, sig, len, 1);
	for (unsigned i = 0; i < n; i++) {
		if (esize == 8)
			put64(t + 36 + 8 * i, addrs[i]);
		else
			put32(t + 36 + 4 * i, (u32)addrs[i]);
	}
	sdt_fix(t);
	return t;
}

/* MADT builder: entries appended into a buffer, then copied into its region. */
struct madt_b {
	u8 b[4096];
	u32 len;
};

static void madt_begin(struct madt_b *m, u32 lapic, u32 flags)
{
	memset(m, 0, sizeof(*m));
	m->len = 44;
	put32(m->b + 36, lapic);
	put32(m->b + 40, flags);
}

static u8 *madt_entry(struct madt_b *m, u8 type, u8 len)
{
	u8 *e = m->b + m->len;

	e[0] = type;
	e[1] = len;
	m->len += len;
	return e;
}

static void madt_lapic(struct madt_b *m, u8 uid, u8 id, u32 flags)
{
	u8 *e = madt_entry(m, 0, 8);

	e[2] = uid;
	e[3] = id;
	put32(e + 4, flags);
}

static void madt_x2apic(struct madt_b *m, u32 id, u32 flags, u32 uid)
{
	u8 *e = madt_entry(m, 9, 16);

	put32(e + 4, id);
	put32(e + 8, flags);
	put32(e + 12, uid);
}

static void madt_ioapic(struct madt_b *m, u8 id, u32 addr, u32 gsi_base)
{
	u8 *e = madt_entry(m, 1, 12);

	e[2] = id;
	put32(e + 4, addr);
	put32(e + 8, gsi_base);
}

static void madt_iso(struct madt_b *m, u8 bus, u8 src, u32 gsi, u16 flags)
{
	u8 *e = madt_entry(m, 2, 10);

	e[2] = bus;
	e[3] = src;
	put32(e + 4, gsi);
	put16(e + 8, flags);
}

/* Finish: header with `len` (normally m->len) into a region of `region_len` bytes. */
static u8 *madt_place(struct madt_b *m, u32 len, size_t region_len)
{
	u8 *t = add_region(PA_MADT, region_len);

	sdt_header(m->b, "APIC", len, 5);
	memcpy(t, m->b, MIN(region_len, sizeof(m->b)));
	if (len <= region_len)
		sdt_fix(t);
	return t;
}

/* The QEMU-like standard MADT: 4 CPUs, one IOAPIC, overrides IRQ0->GSI2 and IRQ9 level. */
static void std_madt(struct madt_b *m)
{
	madt_begin(m, 0xfee00000, 1);
	for (u8 i = 0; i < 4; i++)
		madt_lapic(m, i, i, 1);
	madt_ioapic(m, 0, 0xfec00000, 0);
	madt_iso(m, 0, 0, 2, 0);
	madt_iso(m, 0, 5, 5, 0xd);
	madt_iso(m, 0, 9, 9, 0xd);
	madt_iso(m, 0, 10, 10, 0xd);
	madt_iso(m, 0, 11, 11, 0xd);
}

static void make_hpet(u64 base)
{
	u8 *t = add_region(PA_HPET, 56);

	sdt_header(t, "HPET", 56, 1);
	put32(t + 36, 0x8086a201);
	t[40] = 0; /* system memory */
	t[41] = 64;
	put64(t + 44, base);
	sdt_fix(t);
}

/* AML of the DSDT body: Name (\_S5, Package (4) { typa, typb, Zero, Zero }). */
static u32 s5_aml(u8 *p, u8 typa, u8 typb)
{
	const u8 pre[] = { 0x10, 0x05, 0x5c, 0x00 }; /* a stray Scope op before it */
	u32 n = 0;

	memcpy(p, pre, sizeof(pre));
	n = sizeof(pre);
	p[n++] = 0x08;
	p[n++] = '\\';
	memcpy(p + n, "_S5_", 4);
	n += 4;
	p[n++] = 0x12;
	p[n++] = 0x0a; /* PkgLength */
	p[n++] = 0x04; /* NumElements */
	p[n++] = 0x0a;
	p[n++] = typa;
	p[n++] = 0x0a;
	p[n++] = typb;
	p[n++] = 0x00;
	p[n++] = 0x00;
	return n;
}

static void make_dsdt(u8 typa, u8 typb)
{
	u8 aml[64];
	u32 n = s5_aml(aml, typa, typb);
	u8 *t = add_region(PA_DSDT, 36 + n);

	sdt_header(t, "DSDT", 36 + n, 1);
	memcpy(t + 36, aml, n);
	sdt_fix(t);
}

/* FADT of `len` bytes (116 = ACPI 1.0, 244 = 2.0+) with PM1a at 0x604 and reset via 0xcf9. */
static u8 *make_fadt(u32 len)
{
	u8 *t = add_region(PA_FADT, len);

	sdt_header(t, "FACP", len, len > 116 ? 3 : 1);
	put32(t + 36, PA_FACS);
	put32(t + 40, PA_DSDT);
	put32(t + 48, 0xb2);
	t[52] = 0xf1;
	put32(t + 56, 0x600);
	put32(t + 64, 0x604);
	put32(t + 112, 1u << 10);
	if (len >= 129) {
		t[116] = 1; /* I/O */
		t[117] = 8;
		put64(t + 120, 0xcf9);
		t[128] = 0x06;
	}
	sdt_fix(t);
	return t;
}

/* The whole good platform. rsdp_rev 0 or 2; the RSDT and XSDT both list every table. */
static void make_platform(u8 *rsdp_copy, u8 rsdp_rev)
{
	struct madt_b m;
	u64 tabs[] = { PA_FADT, PA_MADT, PA_HPET };

	std_madt(&m);
	madt_place(&m, m.len, m.len);
	make_hpet(0xfed00000);
	make_fadt(244);
	make_dsdt(5, 5);
	make_root(PA_RSDT, "RSDT", 4, tabs, 3);
	if (rsdp_rev >= 2)
		make_root(PA_XSDT, "XSDT", 8, tabs, 3);
	make_rsdp(rsdp_copy, rsdp_rev, PA_RSDT, rsdp_rev >= 2 ? PA_XSDT : 0);
}

static int parse_copy(struct acpi_info *ai, const u8 *rsdp, char *err)
{
	return acpi_parse(ai, rsdp, rsdp[15] >= 2 ? 36 : 20, sim_map, err, 160);
}

static void test_good_v2_copy(void **state)
{
	static struct acpi_info ai;
	u8 rsdp[36];
	char err[160];
	bool level, low;

	(void)state;
	make_platform(rsdp, 2);
	assert_int_equal(parse_copy(&ai, rsdp, err), 0);
	assert_string_equal(err, "");
	assert_int_equal(ai.nr_warnings, 0);
	assert_true(ai.used_xsdt);
	assert_int_equal(ai.revision, 2);
	assert_string_equal(ai.oem_id, "HVTEST");
	assert_int_equal(ai.rsdp_phys, 0);
	assert_int_equal(ai.lapic_addr, 0xfee00000);
	assert_true(ai.has_8259);
	assert_int_equal(ai.nr_cpus, 4);
	for (u32 i = 0; i < 4; i++) {
		assert_int_equal(ai.cpus[i].apic_id, i);
		assert_true(ai.cpus[i].enabled);
	}
	assert_int_equal(ai.nr_ioapics, 1);
	assert_int_equal(ai.ioapics[0].addr, 0xfec00000);
	assert_int_equal(ai.ioapics[0].gsi_base, 0);
	assert_int_equal(ai.nr_overrides, 5);
	assert_int_equal(ai.hpet_addr, 0xfed00000);
	assert_int_equal(ai.fadt_phys, PA_FADT);
	assert_int_equal(ai.pm1a_cnt_port, 0x604);
	assert_int_equal(ai.pm1b_cnt_port, 0);
	assert_int_equal(ai.smi_cmd_port, 0xb2);
	assert_int_equal(ai.acpi_enable, 0xf1);
	assert_true(ai.has_reset_reg);
	assert_int_equal(ai.reset_reg_space, ACPI_GAS_IO);
	assert_int_equal(ai.reset_reg_addr, 0xcf9);
	assert_int_equal(ai.reset_value, 6);
	assert_int_equal(ai.dsdt_phys, PA_DSDT);
	assert_true(ai.has_s5);
	assert_int_equal(ai.s5_slp_typa, 5);
	assert_int_equal(ai.s5_slp_typb, 5);

	assert_int_equal(acpi_info_isa_irq(&ai, 0, &level, &low), 2);
	assert_false(level);
	assert_false(low);
	assert_int_equal(acpi_info_isa_irq(&ai, 9, &level, &low), 9);
	assert_true(level);
	assert_false(low);
	assert_int_equal(acpi_info_isa_irq(&ai, 4, &level, &low), 4);
	assert_false(level);
	assert_false(low);
}

/* Revision 0 RSDP found by scanning the BIOS area: the RSDT is walked. */
static void test_v1_scan_bios_area(void **state)
{
	static struct acpi_info ai;
	u8 *bios, *bda;
	char err[160];

	(void)state;
	bda = add_region(0x400, 0x100);
	put16(bda + 0x0e, 0x9fc0); /* EBDA at 0x9fc00, not mapped: the scan must go on */
	bios = add_region(0xe0000, 0x20000);
	memcpy(bios + 0x100, "RSD PTR ", 8); /* a decoy with a bad checksum */
	make_platform(bios + (PA_RSDP - 0xe0000), 0);
	assert_int_equal(acpi_parse(&ai, NULL, 0, sim_map, err, sizeof(err)), 0);
	assert_false(ai.used_xsdt);
	assert_int_equal(ai.rsdp_phys, PA_RSDP);
	assert_int_equal(ai.revision, 0);
	assert_int_equal(ai.nr_cpus, 4);
	assert_true(ai.has_s5);
}

static void test_scan_ebda(void **state)
{
	static struct acpi_info ai;
	u8 *bda, *ebda;

	(void)state;
	bda = add_region(0x400, 0x100);
	put16(bda + 0x0e, 0x9fc0);
	ebda = add_region(0x9fc00, 0x400);
	make_platform(ebda + 0x40, 2);
	assert_int_equal(acpi_parse(&ai, NULL, 0, sim_map, NULL, 0), 0);
	assert_int_equal(ai.rsdp_phys, 0x9fc40);
	assert_true(ai.used_xsdt);
}

static void test_no_rsdp(void **state)
{
	static struct acpi_info ai;
	u8 *bios;
	char err[160];

	(void)state;
	bios = add_region(0xe0000, 0x20000);
	make_rsdp(bios + 0x1000, 2, PA_RSDT, PA_XSDT);
	bios[0x1000 + 30] ^= 0x55; /* breaks only the extended checksum */
	assert_int_equal(acpi_parse(&ai, NULL, 0, sim_map, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no RSDP"));
}

static void test_bad_rsdp_copy(void **state)
{
	static struct acpi_info ai;
	u8 rsdp[36];
	char err[160];

	(void)state;
	make_platform(rsdp, 2);
	assert_int_equal(acpi_parse(&ai, rsdp, 20, sim_map, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "RSDP"));
	rsdp[0] = 'X';
	assert_int_equal(acpi_parse(&ai, rsdp, 36, sim_map, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "RSDP"));
	/* A length field larger than the copy: never summed past the copy's end. */
	{
		u8 *heap = malloc(36);

		make_rsdp(heap, 2, PA_RSDT, PA_XSDT);
		put32(heap + 20, 100);
		heap[8] = 0;
		heap[8] = (u8)(0 - sum(heap, 20));
		assert_int_equal(acpi_parse(&ai, heap, 36, sim_map, err, sizeof(err)), -EINVAL);
		free(heap);
	}
}

/* Replace the platform's MADT with `m` (header length `len`, region `region_len`). */
static int parse_with_madt(struct acpi_info *ai, struct madt_b *m, u32 len, size_t region_len,
			   char *err)
{
	u8 rsdp[36];
	struct region *r;

	make_platform(rsdp, 2);
	r = find_region(PA_MADT);
	free(r->buf);
	*r = regions[--nr_regions];
	madt_place(m, len, region_len);
	return parse_copy(ai, rsdp, err);
}

static void test_madt_bad_checksum(void **state)
{
	static struct acpi_info ai;
	struct madt_b m;
	char err[160];
	u8 rsdp[36];

	(void)state;
	make_platform(rsdp, 2);
	find_region(PA_MADT)->buf[50] ^= 1;
	assert_int_equal(parse_copy(&ai, rsdp, err), -EINVAL);
	assert_non_null(strstr(err, "APIC"));
	assert_non_null(strstr(err, "checksum"));
	teardown(NULL);
	std_madt(&m);
	assert_int_equal(parse_with_madt(&ai, &m, m.len, m.len, err), 0);
}

static void test_madt_truncated(void **state)
{
	static struct acpi_info ai;
	struct madt_b m;
	char err[160];

	(void)state;
	std_madt(&m);
	/* The header claims more than is there: the parser must not read past the region. */
	assert_int_equal(parse_with_madt(&ai, &m, m.len + 64, m.len, err), -EINVAL);
	assert_non_null(strstr(err, "cannot map"));
	teardown(NULL);
	/* Shorter than the MADT header. */
	std_madt(&m);
	assert_int_equal(parse_with_madt(&ai, &m, 40, 40, err), -EINVAL);
	assert_non_null(strstr(err, "shorter"));
	teardown(NULL);
	/* Shorter than the common header: rejected before anything else is read. */
	std_madt(&m);
	assert_int_equal(parse_with_madt(&ai, &m, 20, 36, err), -EINVAL);
	assert_non_null(strstr(err, "bad length"));
}

static void test_madt_entry_past_end(void **state)
{
	static struct acpi_info ai;
	struct madt_b m;
	char err[160];

	(void)state;
	std_madt(&m);
	madt_lapic(&m, 9, 9, 1);
	/* Cut the table in the middle of the last entry. */
	assert_int_equal(parse_with_madt(&ai, &m, m.len - 3, m.len - 3, err), -EINVAL);
	assert_non_null(strstr(err, "runs past the end"));
	teardown(NULL);
	/* Only one byte of an entry header left. */
	std_madt(&m);
	madt_entry(&m, 0, 1);
	assert_int_equal(parse_with_madt(&ai, &m, m.len, m.len, err), -EINVAL);
	teardown(NULL);
	std_madt(&m);
	m.b[m.len] = 0;
	assert_int_equal(parse_with_madt(&ai, &m, m.len + 1, m.len + 1, err), -EINVAL);
	assert_non_null(strstr(err, "entry header"));
}

static void test_madt_zero_length_entry(void **state)
{
	static struct acpi_info ai;
	struct madt_b m;
	char err[160];

	(void)state;
	std_madt(&m);
	madt_entry(&m, 0, 0);
	m.len += 8; /* room after it, so only the zero length can stop the loop */
	assert_int_equal(parse_with_madt(&ai, &m, m.len, m.len, err), -EINVAL);
	assert_non_null(strstr(err, "has length 0"));
}

static void test_madt_short_entry(void **state)
{
	static struct acpi_info ai;
	struct madt_b m;
	char err[160];

	(void)state;
	madt_begin(&m, 0xfee00000, 0);
	madt_lapic(&m, 0, 0, 1);
	madt_entry(&m, 1, 8); /* IOAPIC entries are 12 bytes */
	assert_int_equal(parse_with_madt(&ai, &m, m.len, m.len, err), -EINVAL);
	assert_non_null(strstr(err, "too short"));
	teardown(NULL);
	madt_begin(&m, 0xfee00000, 0);
	madt_lapic(&m, 0, 0, 1);
	madt_entry(&m, 9, 12); /* x2APIC entries are 16 */
	assert_int_equal(parse_with_madt(&ai, &m, m.len, m.len, err), -EINVAL);
	assert_non_null(strstr(err, "type 9"));
}

static void test_madt_cpu_flags_and_x2apic(void **state)
{
	static struct acpi_info ai;
	struct madt_b m;
	char err[160];
	u8 *e;

	(void)state;
	madt_begin(&m, 0xfee00000, 0);
	madt_lapic(&m, 0, 0, 1);         /* enabled */
	madt_lapic(&m, 1, 1, 0);         /* unusable: skipped */
	madt_lapic(&m, 2, 2, 2);         /* online capable */
	madt_x2apic(&m, 0, 1, 0);        /* duplicate of APIC id 0 */
	madt_x2apic(&m, 300, 1, 7);      /* beyond 8-bit ids */
	madt_entry(&m, 0x7f, 6);         /* unknown type: skipped by its length */
	e = madt_entry(&m, 5, 12);       /* 64-bit LAPIC address override */
	put64(e + 4, 0x1fee00000ULL);
	assert_int_equal(parse_with_madt(&ai, &m, m.len, m.len, err), 0);
	assert_false(ai.has_8259);
	assert_int_equal(ai.lapic_addr, 0x1fee00000ULL);
	assert_int_equal(ai.nr_cpus, 3);
	assert_int_equal(ai.cpus[0].apic_id, 0);
	assert_true(ai.cpus[0].enabled);
	assert_int_equal(ai.cpus[1].apic_id, 2);
	assert_false(ai.cpus[1].enabled);
	assert_true(ai.cpus[1].online_capable);
	assert_int_equal(ai.cpus[2].apic_id, 300);
	assert_int_equal(ai.cpus[2].acpi_uid, 7);
	assert_true(ai.cpus[2].enabled);
}

static void test_madt_limits(void **state)
{
	static struct acpi_info ai;
	struct madt_b m;
	char err[160];

	(void)state;
	madt_begin(&m, 0xfee00000, 0);
	for (u32 i = 0; i < ACPI_MAX_CPUS + 5; i++)
		madt_x2apic(&m, i, 1, i);
	for (u8 i = 0; i < ACPI_MAX_IOAPICS + 1; i++)
		madt_ioapic(&m, i, 0xfec00000 + 0x1000 * i, 24 * i);
	for (u8 i = 0; i < ACPI_MAX_OVERRIDES + 1; i++)
		madt_iso(&m, 0, i, i, 0);
	madt_iso(&m, 1, 3, 40, 0); /* not the ISA bus: ignored */
	assert_int_equal(parse_with_madt(&ai, &m, m.len, m.len, err), 0);
	assert_int_equal(ai.nr_cpus, ACPI_MAX_CPUS);
	assert_int_equal(ai.nr_cpus_dropped, 5);
	assert_int_equal(ai.nr_ioapics, ACPI_MAX_IOAPICS);
	assert_int_equal(ai.nr_overrides, ACPI_MAX_OVERRIDES);
	assert_true(ai.nr_warnings >= 2);
	assert_non_null(strstr(ai.warning, "IOAPIC"));
}

static void test_madt_no_cpu(void **state)
{
	static struct acpi_info ai;
	struct madt_b m;
	char err[160];

	(void)state;
	madt_begin(&m, 0xfee00000, 0);
	madt_lapic(&m, 0, 0, 0);
	madt_ioapic(&m, 0, 0xfec00000, 0);
	assert_int_equal(parse_with_madt(&ai, &m, m.len, m.len, err), -EINVAL);
	assert_non_null(strstr(err, "no usable processor"));
}

static void test_no_madt(void **state)
{
	static struct acpi_info ai;
	u64 tabs[] = { PA_FADT, PA_HPET };
	u8 rsdp[36];
	char err[160];

	(void)state;
	make_fadt(116);
	make_hpet(0xfed00000);
	make_dsdt(0, 0);
	make_root(PA_RSDT, "RSDT", 4, tabs, 2);
	make_rsdp(rsdp, 0, PA_RSDT, 0);
	assert_int_equal(parse_copy(&ai, rsdp, err), -ENOENT);
	assert_non_null(strstr(err, "no MADT"));
}

static void test_xsdt_broken_falls_back(void **state)
{
	static struct acpi_info ai;
	u8 rsdp[36];
	char err[160];

	(void)state;
	make_platform(rsdp, 2);
	find_region(PA_XSDT)->buf[40] ^= 0x80;
	assert_int_equal(parse_copy(&ai, rsdp, err), 0);
	assert_false(ai.used_xsdt);
	assert_int_equal(ai.nr_cpus, 4);
	assert_non_null(strstr(ai.warning, "XSDT"));
	/* Without an RSDT to fall back on, a broken XSDT is an error. */
	make_rsdp(rsdp, 2, 0, PA_XSDT);
	assert_int_equal(parse_copy(&ai, rsdp, err), -EINVAL);
	assert_non_null(strstr(err, "XSDT"));
	assert_non_null(strstr(err, "checksum"));
}

static void test_root_partial_entry(void **state)
{
	static struct acpi_info ai;
	u64 tabs[] = { PA_MADT, 0, PA_FADT };
	struct madt_b m;
	u8 rsdp[36], *x;
	char err[160];

	(void)state;
	std_madt(&m);
	madt_place(&m, m.len, m.len);
	make_fadt(244);
	make_dsdt(7, 0);
	x = make_root(PA_XSDT, "XSDT", 8, tabs, 3);
	put32(x + 4, 36 + 8 * 3 - 4); /* the last entry is cut in half */
	sdt_fix(x);
	make_rsdp(rsdp, 2, 0, PA_XSDT);
	assert_int_equal(parse_copy(&ai, rsdp, err), 0);
	assert_int_equal(ai.fadt_phys, 0); /* the cut entry is not followed */
	assert_false(ai.has_s5);
	assert_non_null(strstr(ai.warning, "partial entry"));
	assert_int_equal(ai.nr_cpus, 4);
}

static void test_bad_optional_tables(void **state)
{
	static struct acpi_info ai;
	u8 rsdp[36];
	char err[160];

	(void)state;
	make_platform(rsdp, 2);
	find_region(PA_HPET)->buf[50] ^= 1;
	find_region(PA_DSDT)->buf[4] = 0xff; /* length beyond the region */
	assert_int_equal(parse_copy(&ai, rsdp, err), 0);
	assert_int_equal(ai.hpet_addr, 0);
	assert_false(ai.has_s5);
	assert_int_equal(ai.nr_warnings, 2);
	assert_non_null(strstr(ai.warning, "HPET"));
	assert_int_equal(ai.fadt_phys, PA_FADT);
	assert_int_equal(ai.nr_cpus, 4);
}

static void test_fadt_v1_and_x_blocks(void **state)
{
	static struct acpi_info ai;
	u64 tabs[] = { PA_FADT, PA_MADT };
	struct madt_b m;
	u8 rsdp[36], *f;
	char err[160];

	(void)state;
	std_madt(&m);
	madt_place(&m, m.len, m.len);
	make_dsdt(0, 0);
	f = make_fadt(116); /* ACPI 1.0: no reset register */
	make_root(PA_RSDT, "RSDT", 4, tabs, 2);
	make_rsdp(rsdp, 0, PA_RSDT, 0);
	assert_int_equal(parse_copy(&ai, rsdp, err), 0);
	assert_false(ai.has_reset_reg);
	assert_int_equal(ai.pm1a_cnt_port, 0x604);
	assert_true(ai.has_s5);
	assert_int_equal(ai.s5_slp_typa, 0);
	(void)f;
	teardown(NULL);

	std_madt(&m);
	madt_place(&m, m.len, m.len);
	make_dsdt(0, 0);
	f = make_fadt(244);
	f[172] = 1; /* X_PM1a_CNT_BLK overrides the 32-bit field */
	put64(f + 176, 0xb004);
	f[184] = 1;
	put64(f + 188, 0x1000b004ULL); /* not a port: dropped with a warning */
	put32(f + 112, 1u << 20); /* HW_REDUCED, no RESET_REG_SUP */
	sdt_fix(f);
	make_root(PA_RSDT, "RSDT", 4, tabs, 2);
	make_rsdp(rsdp, 0, PA_RSDT, 0);
	assert_int_equal(parse_copy(&ai, rsdp, err), 0);
	assert_int_equal(ai.pm1a_cnt_port, 0xb004);
	assert_int_equal(ai.pm1b_cnt_port, 0);
	assert_true(ai.hw_reduced);
	assert_false(ai.has_reset_reg);
	assert_non_null(strstr(ai.warning, "PM1"));
	teardown(NULL);

	/* Too short to be a FADT. */
	std_madt(&m);
	madt_place(&m, m.len, m.len);
	f = add_region(PA_FADT, 80);
	sdt_header(f, "FACP", 80, 1);
	sdt_fix(f);
	make_root(PA_RSDT, "RSDT", 4, tabs, 2);
	make_rsdp(rsdp, 0, PA_RSDT, 0);
	assert_int_equal(parse_copy(&ai, rsdp, err), 0);
	assert_int_equal(ai.fadt_phys, 0);
	assert_int_equal(ai.pm1a_cnt_port, 0);
	assert_non_null(strstr(ai.warning, "FADT"));
}

/* Exact-size heap copy so ASan sees reads past the end of the AML. */
static int find_s5(const u8 *aml, size_t len, u8 *a, u8 *b)
{
	u8 *copy = malloc(len ? len : 1);
	int r;

	memcpy(copy, aml, len);
	r = acpi_aml_find_s5(copy, len, a, b);
	free(copy);
	return r;
}

static void test_aml_s5(void **state)
{
	u8 aml[64], a = 0xee, b = 0xee;
	u32 n;

	(void)state;
	n = s5_aml(aml, 5, 3);
	assert_int_equal(find_s5(aml, n, &a, &b), 0);
	assert_int_equal(a, 5);
	assert_int_equal(b, 3);
	/* Every truncation either fails cleanly or still finds both values. */
	for (u32 cut = 0; cut < n; cut++) {
		int r = find_s5(aml, cut, &a, &b);

		assert_true(r == -ENOENT || (r == 0 && cut >= n - 2));
	}
	/* Zero/One opcodes, no root prefix, a 2-byte PkgLength. */
	{
		const u8 z[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x40, 0x06, 0x02, 0x01, 0x00 };

		assert_int_equal(find_s5(z, sizeof(z), &a, &b), 0);
		assert_int_equal(a, 1);
		assert_int_equal(b, 0);
	}
	/* A reference to _S5_ that is not a Name definition, then the real one. */
	{
		const u8 z[] = { 0xa0, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x09, 0x00,
				 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a, 0x07, 0x0a, 0x07 };

		assert_int_equal(find_s5(z, sizeof(z), &a, &b), 0);
		assert_int_equal(a, 7);
		assert_int_equal(b, 7);
	}
	/* Values that cannot be SLP_TYP (> 7, or Ones) and a Method are refused. */
	{
		const u8 big[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a, 0x10, 0x00 };
		const u8 ones[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0xff, 0x00 };
		const u8 meth[] = { 0x14, 0x08, '_', 'S', '5', '_', 0x00, 0xa4, 0x00 };

		assert_int_equal(find_s5(big, sizeof(big), &a, &b), -ENOENT);
		assert_int_equal(find_s5(ones, sizeof(ones), &a, &b), -ENOENT);
		assert_int_equal(find_s5(meth, sizeof(meth), &a, &b), -ENOENT);
	}
}

/* Random corruption of a good image: any result is fine, a crash or a bad read is not. */
static void test_fuzz_madt(void **state)
{
	static struct acpi_info ai;
	struct madt_b m, orig;
	char err[160];
	unsigned seed = 12345;
	int ok = 0, bad = 0;

	(void)state;
	std_madt(&orig);
	madt_x2apic(&orig, 77, 1, 77);
	for (int iter = 0; iter < 3000; iter++) {
		u32 len = orig.len;

		m = orig;
		for (int k = 0; k < 4; k++) {
			seed = seed * 1103515245 + 12345;
			m.b[44 + (seed >> 8) % (orig.len - 44)] = (u8)(seed >> 20);
		}
		if (iter % 3 == 0)
			len = 44 + (seed >> 4) % (orig.len - 44);
		if (parse_with_madt(&ai, &m, len, len, err) == 0) {
			ok++;
			assert_true(ai.nr_cpus >= 1 && ai.nr_cpus <= ACPI_MAX_CPUS);
		} else {
			bad++;
			assert_true(strlen(err) > 0);
		}
		teardown(NULL);
	}
	assert_true(ok > 0);
	assert_true(bad > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_good_v2_copy, teardown),
		cmocka_unit_test_teardown(test_v1_scan_bios_area, teardown),
		cmocka_unit_test_teardown(test_scan_ebda, teardown),
		cmocka_unit_test_teardown(test_no_rsdp, teardown),
		cmocka_unit_test_teardown(test_bad_rsdp_copy, teardown),
		cmocka_unit_test_teardown(test_madt_bad_checksum, teardown),
		cmocka_unit_test_teardown(test_madt_truncated, teardown),
		cmocka_unit_test_teardown(test_madt_entry_past_end, teardown),
		cmocka_unit_test_teardown(test_madt_zero_length_entry, teardown),
		cmocka_unit_test_teardown(test_madt_short_entry, teardown),
		cmocka_unit_test_teardown(test_madt_cpu_flags_and_x2apic, teardown),
		cmocka_unit_test_teardown(test_madt_limits, teardown),
		cmocka_unit_test_teardown(test_madt_no_cpu, teardown),
		cmocka_unit_test_teardown(test_no_madt, teardown),
		cmocka_unit_test_teardown(test_xsdt_broken_falls_back, teardown),
		cmocka_unit_test_teardown(test_root_partial_entry, teardown),
		cmocka_unit_test_teardown(test_bad_optional_tables, teardown),
		cmocka_unit_test_teardown(test_fadt_v1_and_x_blocks, teardown),
		cmocka_unit_test(test_aml_s5),
		cmocka_unit_test_teardown(test_fuzz_madt, teardown),
	};
	return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
