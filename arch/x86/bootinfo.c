/* Multiboot 1 and 2 information parsing into struct boot_info (host-testable). */
#include "asm/bootinfo.h"
#include "lib/string.h"

/* Multiboot2 specification section 3.6: tag types. */
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_LOADER 2
#define MB2_TAG_MODULE 3
#define MB2_TAG_MEMINFO 4
#define MB2_TAG_MMAP 6
#define MB2_TAG_ACPI_OLD 14
#define MB2_TAG_ACPI_NEW 15
#define MB2_MAX_INFO (1u << 20)

struct mb2_tag {
	u32 type;
	u32 size;
} __packed;

static void copy_str(char *dst, size_t cap, const char *src, size_t maxlen)
{
	size_t n = strnlen(src, maxlen);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void add_range(struct boot_info *bi, u64 base, u64 len, u32 type)
{
	if (bi->nr_mmap >= BOOT_MAX_MMAP || len == 0)
		return;
	bi->mmap[bi->nr_mmap].base = base;
	bi->mmap[bi->nr_mmap].len = len;
	bi->mmap[bi->nr_mmap].type = type;
	bi->nr_mmap++;
}

static void add_module(struct boot_info *bi, u64 start, u64 end, const char *s, size_t smax)
{
	struct boot_module *m;

	if (bi->nr_modules >= BOOT_MAX_MODULES || end < start)
		return;
	m = &bi->modules[bi->nr_modules++];
	m->start = start;
	m->end = end;
	if (s)
		copy_str(m->cmdline, sizeof(m->cmdline), s, smax);
	else
		m->cmdline[0] = '\0';
}

static void set_rsdp(struct boot_info *bi, const u8 *p, size_t len)
{
	if (len > sizeof(bi->rsdp))
		len = sizeof(bi->rsdp);
	memcpy(bi->rsdp, p, len);
	bi->rsdp_len = (u32)len;
}

static void mb2_mmap(struct boot_info *bi, const u8 *tag, u32 size)
{
	u32 entry_size, off;

	if (size < 16)
		return;
	memcpy(&entry_size, tag + 8, 4);
	if (entry_size < 24)
		return;
	for (off = 16; off + entry_size <= size; off += entry_size) {
		u64 base, len;
		u32 type;

		memcpy(&base, tag + off, 8);
		memcpy(&len, tag + off + 8, 8);
		memcpy(&type, tag + off + 16, 4);
		add_range(bi, base, len, type);
	}
}

static int parse_mb2(struct boot_info *bi, const u8 *info)
{
	u32 total;
	u32 off = 8;

	memcpy(&total, info, 4);
	if (total < 16 || total > MB2_MAX_INFO)
		return -EINVAL;
	bi->info_len = total;
	while (off + 8 <= total) {
		struct mb2_tag t;
		const u8 *p = info + off;

		memcpy(&t, p, sizeof(t));
		if (t.type == MB2_TAG_END)
			return 0;
		if (t.size < 8 || t.size > total - off)
			return -EINVAL;
		switch (t.type) {
		case MB2_TAG_CMDLINE:
			copy_str(bi->cmdline, sizeof(bi->cmdline), (const char *)p + 8, t.size - 8);
			break;
		case MB2_TAG_LOADER:
			copy_str(bi->loader_name, sizeof(bi->loader_name), (const char *)p + 8,
				 t.size - 8);
			break;
		case MB2_TAG_MODULE:
			if (t.size >= 16) {
				u32 s, e;
				memcpy(&s, p + 8, 4);
				memcpy(&e, p + 12, 4);
				add_module(bi, s, e, (const char *)p + 16, t.size - 16);
			}
			break;
		case MB2_TAG_MEMINFO:
			if (t.size >= 16) {
				u32 lo, hi;
				memcpy(&lo, p + 8, 4);
				memcpy(&hi, p + 12, 4);
				bi->mem_lower_kb = lo;
				bi->mem_upper_kb = hi;
			}
			break;
		case MB2_TAG_MMAP:
			mb2_mmap(bi, p, t.size);
			break;
		case MB2_TAG_ACPI_OLD:
			if (!bi->rsdp_len || bi->rsdp_len < 36)
				set_rsdp(bi, p + 8, t.size - 8);
			break;
		case MB2_TAG_ACPI_NEW:
			set_rsdp(bi, p + 8, t.size - 8);
			break;
		default:
			break;
		}
		off += ALIGN_UP(t.size, 8u);
	}
	return -EINVAL; /* no end tag */
}

/* Multiboot 0.6.96 section 3.3: the information structure. */
struct mb1_info {
	u32 flags;
	u32 mem_lower, mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
	u32 drives_length, drives_addr;
	u32 config_table;
	u32 boot_loader_name;
} __packed;

struct mb1_module {
	u32 start, end, string, reserved;
} __packed;

static void parse_mb1_mmap(struct boot_info *bi, const struct mb1_info *mi,
			   const void *(*p2v)(u64, size_t))
{
	const u8 *m = p2v(mi->mmap_addr, mi->mmap_length);
	u32 off = 0;

	if (!m)
		return;
	/* Each entry starts with its size, which does not count the size field. */
	while (off + 4 <= mi->mmap_length) {
		u32 esize;
		u64 base, len;
		u32 type;

		memcpy(&esize, m + off, 4);
		if (esize < 20 || esize > mi->mmap_length - off - 4) /* no u32 wrap-around */
			break;
		memcpy(&base, m + off + 4, 8);
		memcpy(&len, m + off + 12, 8);
		memcpy(&type, m + off + 20, 4);
		add_range(bi, base, len, type);
		off += esize + 4;
	}
}

static int parse_mb1(struct boot_info *bi, const struct mb1_info *mi,
		     const void *(*p2v)(u64, size_t))
{
	bi->info_len = sizeof(*mi);
	if (mi->flags & BIT(0)) {
		bi->mem_lower_kb = mi->mem_lower;
		bi->mem_upper_kb = mi->mem_upper;
	}
	if (mi->flags & BIT(2)) {
		const char *s = p2v(mi->cmdline, 1);
		if (s)
			copy_str(bi->cmdline, sizeof(bi->cmdline), s, BOOT_CMDLINE_MAX);
	}
	if (mi->flags & BIT(9)) {
		const char *s = p2v(mi->boot_loader_name, 1);
		if (s)
			copy_str(bi->loader_name, sizeof(bi->loader_name), s, 64);
	}
	if (mi->flags & BIT(3)) {
		const struct mb1_module *mods =
			p2v(mi->mods_addr, (size_t)mi->mods_count * sizeof(*mods));
		for (u32 i = 0; mods && i < mi->mods_count; i++) {
			const char *s = mods[i].string ? p2v(mods[i].string, 1) : NULL;
			add_module(bi, mods[i].start, mods[i].end, s, BOOT_MODSTR_MAX);
		}
	}
	if (mi->flags & BIT(6))
		parse_mb1_mmap(bi, mi, p2v);
	else if (mi->flags & BIT(0)) {
		add_range(bi, 0, (u64)mi->mem_lower * 1024, BOOT_MEM_RAM);
		add_range(bi, 0x100000, (u64)mi->mem_upper * 1024, BOOT_MEM_RAM);
	}
	return 0;
}

int bootinfo_parse(struct boot_info *bi, u32 magic, const void *info, u64 info_phys,
		   const void *(*phys_to_ptr)(u64 pa, size_t len))
{
	memset(bi, 0, sizeof(*bi));
	bi->info_phys = info_phys;
	if (!info)
		return -EINVAL;
	if (magic == MULTIBOOT2_BOOT_MAGIC) {
		bi->loader = 2;
		return parse_mb2(bi, info);
	}
	if (magic == MULTIBOOT1_BOOT_MAGIC) {
		bi->loader = 1;
		return parse_mb1(bi, info, phys_to_ptr);
	}
	return -EINVAL;
}
