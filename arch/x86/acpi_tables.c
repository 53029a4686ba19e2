/* ACPI table parser (RSDP, RSDT/XSDT, MADT, HPET, FADT, DSDT \_S5): pure, host-testable. */
#include "asm/acpi.h"
#include "lib/printf.h"
#include "lib/string.h"

/* ACPI 6.x section 5.2.5.3: RSDP layout. */
#define RSDP_SIG "RSD PTR "
#define RSDP_V1_LEN 20
#define RSDP_V2_LEN 36
#define RSDP_OFF_OEM 9
#define RSDP_OFF_REV 15
#define RSDP_OFF_RSDT 16
#define RSDP_OFF_LEN 20
#define RSDP_OFF_XSDT 24

/* Section 5.2.6: the common header of every description table. */
#define SDT_HDR_LEN 36
#define SDT_OFF_LEN 4
#define SDT_MAX_LEN (4u << 20) /* larger than any real table: treat as corrupt */

/* BIOS areas scanned for the RSDP (section 5.2.5.1). */
#define BDA_EBDA_SEG 0x40e
#define EBDA_SCAN_LEN 1024
#define BIOS_ROM_START 0xe0000
#define BIOS_ROM_LEN 0x20000

/* Section 5.2.12: MADT. */
#define MADT_OFF_LAPIC 36
#define MADT_OFF_FLAGS 40
#define MADT_HDR_LEN 44
#define MADT_PCAT_COMPAT BIT(0)
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_LAPIC_OVERRIDE 5
#define MADT_X2APIC 9
#define MADT_CPU_ENABLED BIT(0)
#define MADT_CPU_ONLINE_CAPABLE BIT(1)
#define ISA_BUS 0

/* Section 5.2.9: FADT offsets. */
#define FADT_MIN_LEN 116 /* ACPI 1.0 */
#define FADT_OFF_DSDT 40
#define FADT_OFF_SMI_CMD 48
#define FADT_OFF_ACPI_ENABLE 52
#define FADT_OFF_PM1A_CNT 64
#define FADT_OFF_PM1B_CNT 68
#define FADT_OFF_FLAGS 112
#define FADT_OFF_RESET_REG 116
#define FADT_OFF_RESET_VALUE 128
#define FADT_OFF_X_DSDT 140
#define FADT_OFF_X_PM1A_CNT 172
#define FADT_OFF_X_PM1B_CNT 184
#define FADT_RESET_REG_SUP BIT(10)
#define FADT_HW_REDUCED BIT(20)
#define GAS_LEN 12
#define GAS_OFF_ADDR 4

/* IA-PC HPET specification 1.0a section 3.2.4: the HPET table. */
#define HPET_OFF_BASE 40
#define HPET_TABLE_LEN 56

/* AML opcodes (section 20.3) used by the \_S5 scan. */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_PACKAGE 0x12
#define AML_ROOT_CHAR '\\'
#define SLP_TYP_MAX 7

struct parse_ctx {
	struct acpi_info *ai;
	const void *(*map)(u64 pa, size_t len);
	char *err;
	size_t errlen;
};

static u16 get16(const u8 *p) { u16 v; memcpy(&v, p, 2); return v; }
static u32 get32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
static u64 get64(const u8 *p) { u64 v; memcpy(&v, p, 8); return v; }

static u8 checksum(const u8 *p, size_t len)
{
	u8 sum = 0;

	while (len--)
		sum += *p++;
	return sum;
}

static int fail(struct parse_ctx *c, int code, const char *fmt, ...) __printf(3, 4);
static int fail(struct parse_ctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errlen) {
		va_start(ap, fmt);
		kvsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static void warn(struct parse_ctx *c, const char *fmt, ...) __printf(2, 3);
static void warn(struct parse_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->ai->nr_warnings++ == 0) {
		va_start(ap, fmt);
		kvsnprintf(c->ai->warning, sizeof(c->ai->warning), fmt, ap);
		va_end(ap);
	}
}

/* Revision-dependent RSDP validation of `avail` readable bytes (5.2.5.3). */
static bool rsdp_valid(const u8 *p, size_t avail)
{
	u32 len;

	if (avail < RSDP_V1_LEN || memcmp(p, RSDP_SIG, 8) != 0 || checksum(p, RSDP_V1_LEN))
		return false;
	if (p[RSDP_OFF_REV] < 2)
		return true;
	if (avail < RSDP_V2_LEN)
		return false;
	len = get32(p + RSDP_OFF_LEN);
	return len >= RSDP_V2_LEN && len <= avail && checksum(p, len) == 0;
}

static const u8 *rsdp_scan_range(struct parse_ctx *c, u64 pa, size_t len)
{
	const u8 *p = c->map(pa, len);

	if (!p)
		return NULL;
	for (size_t off = 0; off + RSDP_V1_LEN <= len; off += 16) {
		if (rsdp_valid(p + off, len - off)) {
			c->ai->rsdp_phys = pa + off;
			return p + off;
		}
	}
	return NULL;
}

/* Section 5.2.5.1: the first KiB of the EBDA, then the BIOS read-only area. */
static const u8 *rsdp_scan(struct parse_ctx *c)
{
	const u8 *bda = c->map(BDA_EBDA_SEG, 2);
	const u8 *r = NULL;

	if (bda) {
		u64 ebda = (u64)get16(bda) << 4;

		if (ebda >= 0x400 && ebda < BIOS_ROM_START)
			r = rsdp_scan_range(c, ebda, EBDA_SCAN_LEN);
	}
	if (!r)
		r = rsdp_scan_range(c, BIOS_ROM_START, BIOS_ROM_LEN);
	return r;
}

/*
 * Map a whole description table at `pa` after checking its signature (when
 * `sig` is given), length and checksum. Returns NULL with the reason in
 * `why` (a buffer of ACPI_WARN_MAX bytes).
 */
static const u8 *map_table(struct parse_ctx *c, u64 pa, const char *sig, u32 *lenp, char *why)
{
	const u8 *h = c->map(pa, SDT_HDR_LEN);
	u32 len;

	if (!h) {
		ksnprintf(why, ACPI_WARN_MAX, "%s at %#llx: cannot map", sig ? sig : "table",
			  (unsigned long long)pa);
		return NULL;
	}
	if (sig && memcmp(h, sig, 4) != 0) {
		ksnprintf(why, ACPI_WARN_MAX, "%s at %#llx: wrong signature", sig,
			  (unsigned long long)pa);
		return NULL;
	}
	len = get32(h + SDT_OFF_LEN);
	if (len < SDT_HDR_LEN || len > SDT_MAX_LEN) {
		ksnprintf(why, ACPI_WARN_MAX, "%.4s at %#llx: bad length %u", (const char *)h,
			  (unsigned long long)pa, len);
		return NULL;
	}
	h = c->map(pa, len);
	if (!h) {
		ksnprintf(why, ACPI_WARN_MAX, "%.4s at %#llx: cannot map %u bytes",
			  sig ? sig : "table", (unsigned long long)pa, len);
		return NULL;
	}
	if (checksum(h, len)) {
		ksnprintf(why, ACPI_WARN_MAX, "%.4s at %#llx: bad checksum", (const char *)h,
			  (unsigned long long)pa);
		return NULL;
	}
	*lenp = len;
	return h;
}

static void madt_add_cpu(struct parse_ctx *c, u32 apic_id, u32 uid, u32 flags)
{
	struct acpi_info *ai = c->ai;
	struct acpi_cpu *cpu;

	if (!(flags & (MADT_CPU_ENABLED | MADT_CPU_ONLINE_CAPABLE)))
		return; /* neither present nor hot-pluggable: the OS must not use it */
	for (u32 i = 0; i < ai->nr_cpus; i++)
		if (ai->cpus[i].apic_id == apic_id)
			return; /* listed both as LAPIC and x2APIC */
	if (ai->nr_cpus >= ACPI_MAX_CPUS) {
		ai->nr_cpus_dropped++;
		return;
	}
	cpu = &ai->cpus[ai->nr_cpus++];
	cpu->apic_id = apic_id;
	cpu->acpi_uid = uid;
	cpu->enabled = flags & MADT_CPU_ENABLED;
	cpu->online_capable = !cpu->enabled && (flags & MADT_CPU_ONLINE_CAPABLE);
}

static void madt_add_ioapic(struct parse_ctx *c, const u8 *e)
{
	struct acpi_info *ai = c->ai;
	struct acpi_ioapic *io;

	if (ai->nr_ioapics >= ACPI_MAX_IOAPICS) {
		warn(c, "MADT: more than %u IOAPICs, extra ones ignored", ACPI_MAX_IOAPICS);
		return;
	}
	io = &ai->ioapics[ai->nr_ioapics++];
	io->id = e[2];
	io->addr = get32(e + 4);
	io->gsi_base = get32(e + 8);
}

static void madt_add_override(struct parse_ctx *c, const u8 *e)
{
	struct acpi_info *ai = c->ai;
	struct acpi_override *o;

	if (e[2] != ISA_BUS)
		return;
	if (ai->nr_overrides >= ACPI_MAX_OVERRIDES) {
		warn(c, "MADT: more than %u overrides, extra ones ignored", ACPI_MAX_OVERRIDES);
		return;
	}
	o = &ai->overrides[ai->nr_overrides++];
	o->source = e[3];
	o->gsi = get32(e + 4);
	o->flags = get16(e + 8);
}

/* Minimum entry length of each MADT structure type this parser reads. */
static u8 madt_entry_min_len(u8 type)
{
	switch (type) {
	case MADT_LAPIC:
		return 8;
	case MADT_IOAPIC:
		return 12;
	case MADT_ISO:
		return 10;
	case MADT_LAPIC_OVERRIDE:
		return 12;
	case MADT_X2APIC:
		return 16;
	default:
		return 2;
	}
}

static void madt_entry(struct parse_ctx *c, const u8 *e)
{
	switch (e[0]) {
	case MADT_LAPIC:
		madt_add_cpu(c, e[3], e[2], get32(e + 4));
		break;
	case MADT_IOAPIC:
		madt_add_ioapic(c, e);
		break;
	case MADT_ISO:
		madt_add_override(c, e);
		break;
	case MADT_LAPIC_OVERRIDE:
		c->ai->lapic_addr = get64(e + 4);
		break;
	case MADT_X2APIC:
		madt_add_cpu(c, get32(e + 4), get32(e + 12), get32(e + 8));
		break;
	default:
		break;
	}
}

static int parse_madt(struct parse_ctx *c, const u8 *t, u32 len)
{
	u32 off = MADT_HDR_LEN;

	if (len < MADT_HDR_LEN)
		return fail(c, -EINVAL, "MADT: length %u shorter than its %u-byte header", len,
			    MADT_HDR_LEN);
	c->ai->lapic_addr = get32(t + MADT_OFF_LAPIC);
	c->ai->has_8259 = get32(t + MADT_OFF_FLAGS) & MADT_PCAT_COMPAT;
	while (off < len) {
		u8 type, elen;

		if (len - off < 2)
			return fail(c, -EINVAL, "MADT: entry header at offset %u runs past the end (%u)",
				    off, len);
		type = t[off];
		elen = t[off + 1];
		if (elen < 2)
			return fail(c, -EINVAL, "MADT: entry of type %u at offset %u has length %u",
				    type, off, elen);
		if (elen > len - off)
			return fail(c, -EINVAL,
				    "MADT: entry of type %u at offset %u (length %u) runs past the end (%u)",
				    type, off, elen, len);
		if (elen < madt_entry_min_len(type))
			return fail(c, -EINVAL, "MADT: entry of type %u at offset %u too short (%u < %u)",
				    type, off, elen, madt_entry_min_len(type));
		madt_entry(c, t + off);
		off += elen;
	}
	if (c->ai->nr_cpus == 0)
		return fail(c, -EINVAL, "MADT: no usable processor entry");
	return 0;
}

static void parse_hpet(struct parse_ctx *c, const u8 *t, u32 len)
{
	u64 addr;

	if (len < HPET_TABLE_LEN) {
		warn(c, "HPET: table length %u < %u, ignored", len, HPET_TABLE_LEN);
		return;
	}
	addr = get64(t + HPET_OFF_BASE + GAS_OFF_ADDR);
	if (t[HPET_OFF_BASE] != ACPI_GAS_MEMORY || addr == 0) {
		warn(c, "HPET: base is not a memory address, ignored");
		return;
	}
	c->ai->hpet_addr = addr;
}

/* A PM1x control block port: the X_ GAS when present and I/O, else the 32-bit field. */
static u16 fadt_pm1_port(struct parse_ctx *c, const u8 *t, u32 len, u32 x_off, u32 off)
{
	u64 port = get32(t + off);

	if (len >= x_off + GAS_LEN && t[x_off] == ACPI_GAS_IO && get64(t + x_off + GAS_OFF_ADDR))
		port = get64(t + x_off + GAS_OFF_ADDR);
	if (port > 0xffff) {
		warn(c, "FADT: PM1 control block %#llx is not an I/O port", (unsigned long long)port);
		return 0;
	}
	return (u16)port;
}

static void parse_fadt(struct parse_ctx *c, const u8 *t, u32 len, u64 pa)
{
	struct acpi_info *ai = c->ai;
	const u8 *reset = t + FADT_OFF_RESET_REG;

	if (len < FADT_MIN_LEN) {
		warn(c, "FADT: length %u < %u, ignored", len, FADT_MIN_LEN);
		return;
	}
	ai->fadt_phys = pa;
	ai->fadt_flags = get32(t + FADT_OFF_FLAGS);
	ai->hw_reduced = ai->fadt_flags & FADT_HW_REDUCED;
	ai->dsdt_phys = get32(t + FADT_OFF_DSDT);
	if (len >= FADT_OFF_X_DSDT + 8 && get64(t + FADT_OFF_X_DSDT))
		ai->dsdt_phys = get64(t + FADT_OFF_X_DSDT);
	ai->pm1a_cnt_port = fadt_pm1_port(c, t, len, FADT_OFF_X_PM1A_CNT, FADT_OFF_PM1A_CNT);
	ai->pm1b_cnt_port = fadt_pm1_port(c, t, len, FADT_OFF_X_PM1B_CNT, FADT_OFF_PM1B_CNT);
	if (get32(t + FADT_OFF_SMI_CMD) <= 0xffff) {
		ai->smi_cmd_port = (u16)get32(t + FADT_OFF_SMI_CMD);
		ai->acpi_enable = t[FADT_OFF_ACPI_ENABLE];
	}
	if (len > FADT_OFF_RESET_VALUE && (ai->fadt_flags & FADT_RESET_REG_SUP) &&
	    get64(reset + GAS_OFF_ADDR)) {
		ai->has_reset_reg = true;
		ai->reset_reg_space = reset[0];
		ai->reset_reg_addr = get64(reset + GAS_OFF_ADDR);
		ai->reset_value = t[FADT_OFF_RESET_VALUE];
	}
}

/* One AML integer constant small enough for a SLP_TYP field; -1 if it is not one. */
static int aml_small_int(const u8 *p, size_t avail, size_t *used)
{
	if (avail < 1)
		return -1;
	*used = 1;
	switch (p[0]) {
	case AML_ZERO:
		return 0;
	case AML_ONE:
		return 1;
	case AML_BYTE_PREFIX:
	case AML_WORD_PREFIX:
	case AML_DWORD_PREFIX: {
		size_t n = p[0] == AML_BYTE_PREFIX ? 1 : p[0] == AML_WORD_PREFIX ? 2 : 4;

		if (avail < 1 + n)
			return -1;
		*used = 1 + n;
		for (size_t i = 2; i <= n; i++)
			if (p[i])
				return -1;
		return p[1] <= SLP_TYP_MAX ? p[1] : -1;
	}
	default:
		return -1;
	}
}

/* Decode `Package (n) {a, b, ...}` at p: PackageOp PkgLength NumElements elements. */
static int aml_s5_package(const u8 *p, size_t avail, u8 *a, u8 *b)
{
	size_t pos, used;
	int va, vb;

	if (avail < 3 || p[0] != AML_PACKAGE)
		return -ENOENT;
	pos = 1 + 1 + (p[1] >> 6); /* PkgLength: lead byte bits 7:6 count the extra bytes */
	if (pos >= avail || p[pos] < 2)
		return -ENOENT;
	pos++;
	va = aml_small_int(p + pos, avail - pos, &used);
	if (va < 0)
		return -ENOENT;
	pos += used;
	vb = aml_small_int(p + pos, avail - pos, &used);
	if (vb < 0)
		return -ENOENT;
	*a = (u8)va;
	*b = (u8)vb;
	return 0;
}

int acpi_aml_find_s5(const u8 *aml, size_t len, u8 *slp_typa, u8 *slp_typb)
{
	for (size_t i = 1; i + 4 <= len; i++) {
		bool named;

		if (memcmp(aml + i, "_S5_", 4) != 0)
			continue;
		named = aml[i - 1] == AML_NAME ||
			(i >= 2 && aml[i - 1] == AML_ROOT_CHAR && aml[i - 2] == AML_NAME);
		if (named && aml_s5_package(aml + i + 4, len - i - 4, slp_typa, slp_typb) == 0)
			return 0;
	}
	return -ENOENT;
}

static void parse_dsdt(struct parse_ctx *c)
{
	char why[ACPI_WARN_MAX];
	const u8 *t;
	u32 len;

	if (!c->ai->dsdt_phys)
		return;
	t = map_table(c, c->ai->dsdt_phys, "DSDT", &len, why);
	if (!t) {
		warn(c, "%s", why);
		return;
	}
	if (acpi_aml_find_s5(t + SDT_HDR_LEN, len - SDT_HDR_LEN, &c->ai->s5_slp_typa,
			     &c->ai->s5_slp_typb) == 0)
		c->ai->has_s5 = true;
	else
		warn(c, "DSDT: no \\_S5 package found (power-off unavailable)");
}

static const u8 *map_root(struct parse_ctx *c, const u8 *rsdp, u32 *len, u32 *esize)
{
	char why[ACPI_WARN_MAX];
	u64 xsdt = rsdp[RSDP_OFF_REV] >= 2 ? get64(rsdp + RSDP_OFF_XSDT) : 0;
	u32 rsdt = get32(rsdp + RSDP_OFF_RSDT);
	const u8 *t;

	if (xsdt) {
		t = map_table(c, xsdt, "XSDT", len, why);
		if (t) {
			c->ai->used_xsdt = true;
			*esize = 8;
			return t;
		}
		if (!rsdt) {
			fail(c, -EINVAL, "%s", why);
			return NULL;
		}
		warn(c, "%s; using the RSDT", why);
	}
	if (!rsdt) {
		fail(c, -EINVAL, "RSDP: no RSDT or XSDT address");
		return NULL;
	}
	t = map_table(c, rsdt, "RSDT", len, why);
	if (!t)
		fail(c, -EINVAL, "%s", why);
	*esize = 4;
	return t;
}

/* Look at one root-table entry: MADT is required to be sound, the others are optional. */
static int parse_entry(struct parse_ctx *c, u64 pa, bool *have_madt)
{
	char why[ACPI_WARN_MAX];
	const u8 *h = c->map(pa, SDT_HDR_LEN);
	const u8 *t;
	u32 len;
	int err;

	if (!h) {
		warn(c, "table at %#llx: cannot map", (unsigned long long)pa);
		return 0;
	}
	if (memcmp(h, "APIC", 4) == 0) {
		if (*have_madt) {
			warn(c, "second MADT at %#llx ignored", (unsigned long long)pa);
			return 0;
		}
		t = map_table(c, pa, "APIC", &len, why);
		if (!t)
			return fail(c, -EINVAL, "%s", why);
		err = parse_madt(c, t, len);
		*have_madt = true;
		return err;
	}
	if (memcmp(h, "HPET", 4) == 0 && !c->ai->hpet_addr) {
		t = map_table(c, pa, "HPET", &len, why);
		if (t)
			parse_hpet(c, t, len);
		else
			warn(c, "%s", why);
	} else if (memcmp(h, "FACP", 4) == 0 && !c->ai->fadt_phys) {
		t = map_table(c, pa, "FACP", &len, why);
		if (t)
			parse_fadt(c, t, len, pa);
		else
			warn(c, "%s", why);
	}
	return 0;
}

static int walk_root(struct parse_ctx *c, const u8 *root, u32 len, u32 esize)
{
	u32 body = len - SDT_HDR_LEN;
	bool have_madt = false;
	int err;

	if (body % esize)
		warn(c, "%.4s: length %u leaves a partial entry, ignored", (const char *)root, len);
	for (u32 off = 0; off + esize <= body; off += esize) {
		const u8 *e = root + SDT_HDR_LEN + off;
		u64 pa = esize == 8 ? get64(e) : get32(e);

		if (!pa)
			continue;
		err = parse_entry(c, pa, &have_madt);
		if (err)
			return err;
	}
	if (!have_madt)
		return fail(c, -ENOENT, "%.4s lists no MADT (APIC) table", (const char *)root);
	return 0;
}

int acpi_parse(struct acpi_info *ai, const void *rsdp_copy, size_t rsdp_len,
	       const void *(*map)(u64 pa, size_t len), char *err, size_t errlen)
{
	struct parse_ctx c = { ai, map, err, errlen };
	const u8 *rsdp, *root;
	u32 len, esize;
	int ret;

	memset(ai, 0, sizeof(*ai));
	if (err && errlen)
		err[0] = '\0';
	if (rsdp_copy) {
		rsdp = rsdp_copy;
		if (!rsdp_valid(rsdp, rsdp_len))
			return fail(&c, -EINVAL, "RSDP from the boot loader (%zu bytes) is invalid",
				    rsdp_len);
	} else {
		rsdp = rsdp_scan(&c);
		if (!rsdp)
			return fail(&c, -ENOENT, "no RSDP in the EBDA or 0xe0000-0xfffff");
	}
	ai->revision = rsdp[RSDP_OFF_REV];
	memcpy(ai->oem_id, rsdp + RSDP_OFF_OEM, 6);
	ai->oem_id[6] = '\0';
	root = map_root(&c, rsdp, &len, &esize);
	if (!root)
		return -EINVAL;
	ret = walk_root(&c, root, len, esize);
	if (ret)
		return ret;
	parse_dsdt(&c);
	return 0;
}

u32 acpi_info_isa_irq(const struct acpi_info *ai, u8 irq, bool *level, bool *active_low)
{
	/* MPS INTI flags (ACPI table 5.50): 0 = bus default, 1 = high/edge, 3 = low/level. */
	for (u32 i = 0; i < ai->nr_overrides; i++) {
		const struct acpi_override *o = &ai->overrides[i];

		if (o->source != irq)
			continue;
		*active_low = (o->flags & GENMASK(1, 0)) == 3;
		*level = ((o->flags & GENMASK(3, 2)) >> 2) == 3;
		return o->gsi;
	}
	*level = false; /* ISA default: edge, active high */
	*active_low = false;
	return irq;
}
