/* Multiboot (version 1, specification 0.6.96) guest loader: image, modules, boot information. */
#include "hv/load/multiboot.h"
#include "hv/mmu/gmem.h"
#include "lib/printf.h"
#include "lib/string.h"

#define MB_PAGE 4096ULL
#define MB_4G (1ULL << 32)
#define MB_HDR_MIN 12          /* magic, flags, checksum */
#define MB_HDR_KLUDGE 32       /* + header/load/load_end/bss_end/entry addresses */
#define MB_MAX_SEGS 16
#define MB_MAX_MMAP (2 * GMEM_MAX_SLOTS + 2)

/* ELF (System V ABI, ELF-64 Object File Format): the fields the loader reads. */
#define ELF_MAGIC 0x464C457FU  /* "\x7fELF" read little endian */
#define ELF_CLASS32 1
#define ELF_CLASS64 2
#define ELF_DATA_LSB 1
#define ELF_ET_EXEC 2
#define ELF_EM_386 3
#define ELF_EM_X86_64 62
#define ELF_PT_LOAD 1
#define ELF32_EHDR_SIZE 52
#define ELF64_EHDR_SIZE 64
#define ELF32_PHDR_SIZE 32
#define ELF64_PHDR_SIZE 56

/* Initial segment state of section 3.2 (attributes: see struct vcpu_segment). */
#define MB_CODE_SEL 0x08
#define MB_DATA_SEL 0x10
#define SEG_TYPE_CODE_RX_ACC 0xb
#define SEG_TYPE_DATA_RW_ACC 0x3
#define SEG_TYPE_TSS32_BUSY 0xb
#define SEG_TYPE_LDT 0x2
#define X86_CR0_PE BIT(0)
#define X86_CR0_ET BIT(4)
#define X86_RFLAGS_FIXED BIT(1)
#define X86_DR7_FIXED 0x400ULL

/* A piece of the image to put in guest RAM: file bytes, then zeros up to memsz. */
struct mb_segment {
	u64 offset, filesz;
	u64 paddr, vaddr, memsz;
};

struct mb_loader {
	struct gmem *mem;
	const u8 *image;
	u64 size;
	char *err;
	size_t errlen;
	u64 hdr_off;
	u32 hdr_flags;
	u32 nr_segs;
	struct mb_segment segs[MB_MAX_SEGS];
	u64 entry;
};

static int mb_error(struct mb_loader *l, const char *fmt, ...) __printf(2, 3);

static int mb_error(struct mb_loader *l, const char *fmt, ...)
{
	va_list ap;

	if (l->err && l->errlen) {
		va_start(ap, fmt);
		kvsnprintf(l->err, l->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Little-endian reads from the image; callers have checked the bounds. */
static u16 rd16(const struct mb_loader *l, u64 off)
{
	return (u16)(l->image[off] | l->image[off + 1] << 8);
}

static u32 rd32(const struct mb_loader *l, u64 off)
{
	return (u32)rd16(l, off) | (u32)rd16(l, off + 2) << 16;
}

static u64 rd64(const struct mb_loader *l, u64 off)
{
	return (u64)rd32(l, off) | (u64)rd32(l, off + 4) << 32;
}

/* True when [off, off+len) lies inside the image (no overflow). */
static bool in_file(const struct mb_loader *l, u64 off, u64 len)
{
	return off <= l->size && len <= l->size - off;
}

/* Section 3.1.1: the first valid header on a 4-byte boundary in the first 8 KiB. */
static int mb_find_header(struct mb_loader *l)
{
	u64 limit = MIN(l->size, (u64)MB1_HEADER_SEARCH);
	s64 bad_sum = -1;

	for (u64 off = 0; off + MB_HDR_MIN <= limit; off += 4) {
		u32 flags, sum;

		if (rd32(l, off) != MB1_HEADER_MAGIC)
			continue;
		flags = rd32(l, off + 4);
		sum = rd32(l, off + 8);
		if ((u32)(MB1_HEADER_MAGIC + flags + sum) != 0) {
			if (bad_sum < 0)
				bad_sum = (s64)off;
			continue;
		}
		l->hdr_off = off;
		l->hdr_flags = flags;
		return 0;
	}
	if (bad_sum >= 0)
		return mb_error(l, "multiboot: header at offset 0x%llx has a bad checksum",
				(unsigned long long)bad_sum);
	return mb_error(l, "multiboot: no Multiboot header in the first %u bytes of the image",
			MB1_HEADER_SEARCH);
}

static int mb_check_flags(struct mb_loader *l)
{
	u32 unknown = l->hdr_flags & (u32)MB1_FLAGS_REQUIRED &
		      ~(u32)(MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMORY_INFO | MB1_FLAG_VIDEO_MODE);

	if (unknown)
		return mb_error(l, "multiboot: header flags 0x%x require features this loader "
				"does not know (0x%x)", l->hdr_flags, unknown);
	return 0;
}

/* Section 3.1.3: flag 16, the image says where it goes (a.out kludge). */
static int mb_parse_kludge(struct mb_loader *l)
{
	u64 h = l->hdr_off, header_addr, load_addr, load_end, bss_end, file_off, load_size;

	if (!in_file(l, h, MB_HDR_KLUDGE))
		return mb_error(l, "multiboot: image truncated: the header's address fields "
				"(offset 0x%llx) lie past its end", (unsigned long long)h + 12);
	header_addr = rd32(l, h + 12);
	load_addr = rd32(l, h + 16);
	load_end = rd32(l, h + 20);
	bss_end = rd32(l, h + 24);
	l->entry = rd32(l, h + 28);
	if (load_addr > header_addr || header_addr - load_addr > h)
		return mb_error(l, "multiboot: load_addr 0x%llx does not fit header_addr 0x%llx "
				"with the header at file offset 0x%llx", (unsigned long long)load_addr,
				(unsigned long long)header_addr, (unsigned long long)h);
	file_off = h - (header_addr - load_addr);
	if (load_end && load_end < load_addr)
		return mb_error(l, "multiboot: load_end_addr 0x%llx is below load_addr 0x%llx",
				(unsigned long long)load_end, (unsigned long long)load_addr);
	load_size = load_end ? load_end - load_addr : l->size - file_off;
	if (!in_file(l, file_off, load_size))
		return mb_error(l, "multiboot: image truncated: %llu bytes to load from offset "
				"0x%llx, the image has %llu", (unsigned long long)load_size,
				(unsigned long long)file_off, (unsigned long long)l->size);
	if (bss_end && bss_end < load_addr + load_size)
		return mb_error(l, "multiboot: bss_end_addr 0x%llx is below the loaded end 0x%llx",
				(unsigned long long)bss_end,
				(unsigned long long)(load_addr + load_size));
	l->segs[0] = (struct mb_segment){
		.offset = file_off, .filesz = load_size, .paddr = load_addr, .vaddr = load_addr,
		.memsz = bss_end ? bss_end - load_addr : load_size,
	};
	l->nr_segs = 1;
	return 0;
}

/* Read program header i (ELF32 or ELF64) into *s; false when it is not PT_LOAD. */
static bool mb_read_phdr(const struct mb_loader *l, bool is64, u64 ph, struct mb_segment *s)
{
	if (rd32(l, ph) != ELF_PT_LOAD)
		return false;
	if (is64) {
		s->offset = rd64(l, ph + 8);
		s->vaddr = rd64(l, ph + 16);
		s->paddr = rd64(l, ph + 24);
		s->filesz = rd64(l, ph + 32);
		s->memsz = rd64(l, ph + 40);
	} else {
		s->offset = rd32(l, ph + 4);
		s->vaddr = rd32(l, ph + 8);
		s->paddr = rd32(l, ph + 12);
		s->filesz = rd32(l, ph + 16);
		s->memsz = rd32(l, ph + 20);
	}
	return true;
}

/* Check the ELF header (identification, type, machine) and find the program headers. */
static int mb_elf_header(struct mb_loader *l, bool *is64, u64 *phoff, u64 *phentsize,
			 u64 *phnum)
{
	u16 machine;

	if (!in_file(l, 0, ELF32_EHDR_SIZE) || rd32(l, 0) != ELF_MAGIC)
		return mb_error(l, "multiboot: the image is not ELF and its header lacks the "
				"address fields (flag 16)");
	if (l->image[4] != ELF_CLASS32 && l->image[4] != ELF_CLASS64)
		return mb_error(l, "multiboot: unknown ELF class %u", l->image[4]);
	*is64 = l->image[4] == ELF_CLASS64;
	if (*is64 && !in_file(l, 0, ELF64_EHDR_SIZE))
		return mb_error(l, "multiboot: image truncated inside the ELF header");
	machine = rd16(l, 18);
	if (l->image[5] != ELF_DATA_LSB || rd16(l, 16) != ELF_ET_EXEC ||
	    machine != (*is64 ? ELF_EM_X86_64 : ELF_EM_386))
		return mb_error(l, "multiboot: not a little-endian x86 ELF executable "
				"(type %u, machine %u)", rd16(l, 16), machine);
	l->entry = *is64 ? rd64(l, 24) : rd32(l, 24);
	*phoff = *is64 ? rd64(l, 32) : rd32(l, 28);
	*phentsize = rd16(l, *is64 ? 54 : 42);
	*phnum = rd16(l, *is64 ? 56 : 44);
	if (*phentsize < (*is64 ? ELF64_PHDR_SIZE : ELF32_PHDR_SIZE))
		return mb_error(l, "multiboot: ELF program header size %llu is too small",
				(unsigned long long)*phentsize);
	if (!in_file(l, *phoff, *phentsize * *phnum))
		return mb_error(l, "multiboot: image truncated: ELF program headers at 0x%llx "
				"lie past its end", (unsigned long long)*phoff);
	return 0;
}

/* ELF: the PT_LOAD program headers go to their physical addresses (p_paddr). */
static int mb_parse_elf(struct mb_loader *l)
{
	u64 phoff = 0, phentsize = 0, phnum = 0;
	bool is64 = false;
	int err = mb_elf_header(l, &is64, &phoff, &phentsize, &phnum);

	if (err)
		return err;
	for (u64 i = 0; i < phnum; i++) {
		struct mb_segment s;

		if (!mb_read_phdr(l, is64, phoff + i * phentsize, &s) || s.memsz == 0)
			continue;
		if (l->nr_segs >= MB_MAX_SEGS)
			return mb_error(l, "multiboot: more than %u loadable ELF segments",
					MB_MAX_SEGS);
		l->segs[l->nr_segs++] = s;
	}
	if (l->nr_segs == 0)
		return mb_error(l, "multiboot: the ELF image has no loadable segment");
	/* Like GRUB: an entry given as a virtual address is moved to its physical one. */
	for (u32 i = 0; i < l->nr_segs; i++) {
		const struct mb_segment *s = &l->segs[i];

		if (l->entry >= s->vaddr && l->entry - s->vaddr < s->memsz) {
			l->entry = l->entry - s->vaddr + s->paddr;
			break;
		}
	}
	return 0;
}

/* Every segment inside the file, inside guest RAM below 4 GiB; the entry in RAM. */
static int mb_check_segments(struct mb_loader *l)
{
	for (u32 i = 0; i < l->nr_segs; i++) {
		const struct mb_segment *s = &l->segs[i];

		if (s->filesz > s->memsz)
			return mb_error(l, "multiboot: segment %u has more file bytes (%llu) than "
					"memory bytes (%llu)", i, (unsigned long long)s->filesz,
					(unsigned long long)s->memsz);
		if (!in_file(l, s->offset, s->filesz))
			return mb_error(l, "multiboot: image truncated: segment %u needs file bytes "
					"0x%llx..0x%llx, the image has %llu", i,
					(unsigned long long)s->offset,
					(unsigned long long)(s->offset + s->filesz),
					(unsigned long long)l->size);
		if (s->paddr >= MB_4G || s->memsz > MB_4G - s->paddr ||
		    !gmem_is_ram(l->mem, s->paddr, s->memsz))
			return mb_error(l, "multiboot: segment %u at 0x%llx..0x%llx is outside guest "
					"RAM (%llu MiB)", i, (unsigned long long)s->paddr,
					(unsigned long long)(s->paddr + s->memsz),
					(unsigned long long)(l->mem->total >> 20));
	}
	if (l->entry >= MB_4G || !gmem_is_ram(l->mem, l->entry, 1))
		return mb_error(l, "multiboot: entry point 0x%llx is outside guest RAM",
				(unsigned long long)l->entry);
	return 0;
}

/* Zero guest RAM [gpa, gpa+len), chunk by chunk; the range was checked to be RAM. */
static int mb_zero(struct gmem *mem, gpa_t gpa, u64 len)
{
	while (len) {
		u64 n = MIN(len, ALIGN_UP(gpa + 1, GMEM_CHUNK_SIZE) - gpa);
		void *p = gmem_ptr(mem, gpa, n);

		if (!p)
			return -EINVAL;
		memset(p, 0, n);
		gpa += n;
		len -= n;
	}
	return 0;
}

static int mb_copy_segments(struct mb_loader *l, struct multiboot_layout *lay)
{
	lay->kernel_start = ~0ULL;
	lay->kernel_end = 0;
	for (u32 i = 0; i < l->nr_segs; i++) {
		const struct mb_segment *s = &l->segs[i];

		if (gmem_write(l->mem, s->paddr, l->image + s->offset, s->filesz) ||
		    mb_zero(l->mem, s->paddr + s->filesz, s->memsz - s->filesz))
			return mb_error(l, "multiboot: writing segment %u failed", i);
		lay->kernel_start = MIN(lay->kernel_start, s->paddr);
		lay->kernel_end = MAX(lay->kernel_end, s->paddr + s->memsz);
	}
	lay->entry = l->entry;
	return 0;
}

/* End of the RAM run that contains gpa (slots may touch), or gpa when it is not RAM. */
static gpa_t mb_ram_run_end(const struct gmem *mem, gpa_t gpa)
{
	bool moved = true;

	while (moved) {
		moved = false;
		for (u32 i = 0; i < mem->nr_slots; i++) {
			const struct gmem_slot *s = &mem->slots[i];

			if (gpa >= s->base && gpa < s->base + s->size) {
				gpa = s->base + s->size;
				moved = true;
			}
		}
	}
	return gpa;
}

static void mb_add_range(struct mb1_mmap_entry *map, u32 *n, u64 base, u64 end, u32 type)
{
	if (end <= base || *n >= MB_MAX_MMAP)
		return;
	map[(*n)++] = (struct mb1_mmap_entry){
		.size = sizeof(struct mb1_mmap_entry) - sizeof(u32),
		.base_addr = base, .length = end - base, .type = type,
	};
}

/* The memory map: RAM runs in address order, the legacy hole cut out as reserved. */
static u32 mb_build_mmap(const struct gmem *mem, struct mb1_mmap_entry *map)
{
	gpa_t next = 0;
	u32 n = 0;

	for (;;) {
		gpa_t base = ~0ULL, end;

		for (u32 i = 0; i < mem->nr_slots; i++)
			if (mem->slots[i].base >= next && mem->slots[i].base < base)
				base = mem->slots[i].base;
		if (base == ~0ULL)
			return n;
		end = mb_ram_run_end(mem, base);
		if (base < MB1_LEGACY_HOLE_END && end > MB1_LEGACY_HOLE_START) {
			mb_add_range(map, &n, base, MB1_LEGACY_HOLE_START, MB1_MEMORY_AVAILABLE);
			mb_add_range(map, &n, MAX(base, MB1_LEGACY_HOLE_START),
				     MIN(end, MB1_LEGACY_HOLE_END), MB1_MEMORY_RESERVED);
			mb_add_range(map, &n, MB1_LEGACY_HOLE_END, end, MB1_MEMORY_AVAILABLE);
		} else {
			mb_add_range(map, &n, base, end, MB1_MEMORY_AVAILABLE);
		}
		next = end;
	}
}

/* Where each piece of the boot information goes (guest-physical addresses). */
struct mb_info_plan {
	gpa_t info, mmap, mods, cmdline, loader_name, mod_names, end;
	u32 mmap_len;
	u64 cmdline_len;          /* with the NUL */
};

static u64 mb_strlen0(const char *s) { return s ? strlen(s) + 1 : 1; }

/* Plan the boot information area at `base` and the modules after it. */
static void mb_plan(struct mb_info_plan *p, gpa_t base, u32 nr_map, const char *image_name,
		    const char *cmdline, const struct multiboot_module *mods, u32 nr_mods,
		    gpa_t *mod_addr)
{
	gpa_t at;

	p->info = base;
	p->mmap = ALIGN_UP(base + sizeof(struct mb1_info), 8);
	p->mmap_len = nr_map * (u32)sizeof(struct mb1_mmap_entry);
	p->mods = p->mmap + p->mmap_len;
	p->cmdline = p->mods + nr_mods * sizeof(struct mb1_module);
	p->cmdline_len = mb_strlen0(image_name) + (cmdline && *cmdline ? strlen(cmdline) + 1 : 0);
	p->loader_name = p->cmdline + p->cmdline_len;
	p->mod_names = p->loader_name + sizeof(MB1_LOADER_NAME);
	at = p->mod_names;
	for (u32 i = 0; i < nr_mods; i++)
		at += mb_strlen0(mods[i].name);
	for (u32 i = 0; i < nr_mods; i++) {
		at = ALIGN_UP(at, MB_PAGE);
		mod_addr[i] = at;
		at += mods[i].size;
	}
	p->end = at;
}

static int mb_put_str(struct gmem *mem, gpa_t *at, const char *s)
{
	static const char nul;
	u64 n = s ? strlen(s) : 0;

	if (gmem_write(mem, *at, s ? s : &nul, n) || gmem_write(mem, *at + n, &nul, 1))
		return -EINVAL;
	*at += n + 1;
	return 0;
}

/* Write the strings, module list, modules, memory map and the info structure itself. */
static int mb_write_info(struct gmem *mem, const struct mb_info_plan *p,
			 const struct mb1_mmap_entry *map, const char *image_name,
			 const char *cmdline, const struct multiboot_module *mods, u32 nr_mods,
			 const gpa_t *mod_addr)
{
	struct mb1_info info = {
		.flags = MB1_INFO_MEMORY | MB1_INFO_CMDLINE | MB1_INFO_MODS | MB1_INFO_MEM_MAP |
			 MB1_INFO_LOADER_NAME,
		.cmdline = (u32)p->cmdline, .mods_count = nr_mods, .mods_addr = (u32)p->mods,
		.mmap_length = p->mmap_len, .mmap_addr = (u32)p->mmap,
		.boot_loader_name = (u32)p->loader_name,
	};
	gpa_t at = p->cmdline, name_at = p->mod_names;
	gpa_t lower_end = mb_ram_run_end(mem, 0);
	gpa_t upper_end = mb_ram_run_end(mem, MB1_LEGACY_HOLE_END);
	int err = mb_put_str(mem, &at, image_name);

	if (!err && cmdline && *cmdline) {
		at--; /* replace the NUL by the separating space */
		err = gmem_write(mem, at++, " ", 1) ?: mb_put_str(mem, &at, cmdline);
	}
	err = err ?: mb_put_str(mem, &at, MB1_LOADER_NAME);
	for (u32 i = 0; i < nr_mods && !err; i++) {
		struct mb1_module m = {
			.mod_start = (u32)mod_addr[i], .mod_end = (u32)(mod_addr[i] + mods[i].size),
			.string = (u32)name_at,
		};
		err = mb_put_str(mem, &name_at, mods[i].name) ?:
		      gmem_write(mem, mod_addr[i], mods[i].data, mods[i].size) ?:
		      gmem_write(mem, p->mods + i * sizeof(m), &m, sizeof(m));
	}
	info.mem_lower = (u32)(MIN(lower_end, MB1_LEGACY_HOLE_START) >> 10);
	info.mem_upper = (u32)((upper_end - MB1_LEGACY_HOLE_END) >> 10);
	return err ?: gmem_write(mem, p->mmap, map, p->mmap_len) ?:
	       gmem_write(mem, p->info, &info, sizeof(info));
}

static struct vcpu_segment mb_flat_segment(u16 sel, u8 type)
{
	return (struct vcpu_segment){
		.selector = sel, .base = 0, .limit = 0xffffffff,
		.attr = SEG_ATTR_TYPE(type) | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G,
	};
}

/* Section 3.2, machine state: 32-bit flat protected mode, paging and interrupts off. */
static void mb_boot_state(struct guest_boot_state *b, gpa_t entry, gpa_t info)
{
	struct vcpu_sregs *s = &b->sregs;

	memset(b, 0, sizeof(*b));
	b->regs.gpr[VCPU_RAX] = MB1_BOOTLOADER_MAGIC;
	b->regs.gpr[VCPU_RBX] = info;
	b->regs.rip = entry;
	b->regs.rflags = X86_RFLAGS_FIXED;
	s->seg[VCPU_SEG_CS] = mb_flat_segment(MB_CODE_SEL, SEG_TYPE_CODE_RX_ACC);
	s->seg[VCPU_SEG_DS] = mb_flat_segment(MB_DATA_SEL, SEG_TYPE_DATA_RW_ACC);
	s->seg[VCPU_SEG_ES] = s->seg[VCPU_SEG_DS];
	s->seg[VCPU_SEG_FS] = s->seg[VCPU_SEG_DS];
	s->seg[VCPU_SEG_GS] = s->seg[VCPU_SEG_DS];
	s->seg[VCPU_SEG_SS] = s->seg[VCPU_SEG_DS];
	/* The specification leaves TR, LDTR, GDTR and IDTR undefined: reset values. */
	s->seg[VCPU_SEG_TR] = (struct vcpu_segment){
		.limit = 0xffff, .attr = SEG_ATTR_TYPE(SEG_TYPE_TSS32_BUSY) | SEG_ATTR_P };
	s->seg[VCPU_SEG_LDTR] = (struct vcpu_segment){
		.limit = 0xffff, .attr = SEG_ATTR_TYPE(SEG_TYPE_LDT) | SEG_ATTR_P };
	s->gdt_limit = 0xffff;
	s->idt_limit = 0xffff;
	s->cr0 = X86_CR0_PE | X86_CR0_ET;
	s->dr7 = X86_DR7_FIXED;
}

/* Place the boot information after the kernel and the modules after it; check it fits. */
static int mb_place(struct mb_loader *l, const char *image_name, const char *cmdline,
		    const struct multiboot_module *mods, u32 nr_mods,
		    struct multiboot_layout *lay)
{
	struct mb1_mmap_entry map[MB_MAX_MMAP];
	gpa_t mod_addr[MULTIBOOT_MAX_MODULES];
	struct mb_info_plan plan;
	u64 mod_bytes = 0;
	u32 nr_map = mb_build_mmap(l->mem, map);

	if (nr_mods > ARRAY_SIZE(mod_addr))
		return mb_error(l, "multiboot: %u modules, at most %zu", nr_mods,
				ARRAY_SIZE(mod_addr));
	for (u32 i = 0; i < nr_mods; i++) {
		if (mods[i].size >= MB_4G)
			return mb_error(l, "multiboot: module %u is larger than 4 GiB", i);
		mod_bytes += mods[i].size;
	}
	mb_plan(&plan, MAX(ALIGN_UP(lay->kernel_end, MB_PAGE), MB1_LEGACY_HOLE_END), nr_map,
		image_name, cmdline, mods, nr_mods, mod_addr);
	if (plan.end > MB_4G || !gmem_is_ram(l->mem, plan.info, plan.end - plan.info))
		return mb_error(l, "multiboot: not enough memory: the kernel ends at 0x%llx; "
				"boot information and %u modules (%llu KiB) need RAM up to 0x%llx, "
				"guest RAM there ends at 0x%llx", (unsigned long long)lay->kernel_end,
				nr_mods, (unsigned long long)(mod_bytes >> 10),
				(unsigned long long)plan.end,
				(unsigned long long)mb_ram_run_end(l->mem, plan.info));
	if (mb_write_info(l->mem, &plan, map, image_name, cmdline, mods, nr_mods, mod_addr))
		return mb_error(l, "multiboot: writing the boot information failed");
	lay->info = plan.info;
	lay->mods_start = nr_mods ? mod_addr[0] : plan.end;
	lay->mods_end = plan.end;
	lay->end = plan.end;
	return 0;
}

int multiboot_load(struct gmem *mem, const u8 *image, size_t image_size, const char *image_name,
		   const char *cmdline, const struct multiboot_module *mods, u32 nr_mods,
		   struct guest_boot_state *boot, struct multiboot_layout *layout, char *err,
		   size_t errlen)
{
	struct mb_loader l = { .mem = mem, .image = image, .size = image_size, .err = err,
			       .errlen = errlen };
	struct multiboot_layout lay_local = { 0 }, *lay = layout ? layout : &lay_local;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	memset(lay, 0, sizeof(*lay));
	rc = mb_find_header(&l);
	rc = rc ?: mb_check_flags(&l);
	if (!rc)
		rc = l.hdr_flags & MB1_FLAG_AOUT_KLUDGE ? mb_parse_kludge(&l) : mb_parse_elf(&l);
	rc = rc ?: mb_check_segments(&l);
	rc = rc ?: mb_copy_segments(&l, lay);
	rc = rc ?: mb_place(&l, image_name, cmdline, mods, nr_mods, lay);
	if (rc)
		return rc;
	mb_boot_state(boot, lay->entry, lay->info);
	return 0;
}
