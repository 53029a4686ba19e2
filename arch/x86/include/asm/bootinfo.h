/* What the boot loader told us, in one loader-independent structure. */
#ifndef HV_ASM_BOOTINFO_H
#define HV_ASM_BOOTINFO_H

#include "lib/types.h"

#define BOOT_MAX_MMAP 128
#define BOOT_MAX_MODULES 16
#define BOOT_CMDLINE_MAX 512
#define BOOT_MODSTR_MAX 128

/* Memory-map entry types (as Multiboot and the E820 BIOS call define them). */
enum boot_mem_type {
	BOOT_MEM_RAM = 1,
	BOOT_MEM_RESERVED = 2,
	BOOT_MEM_ACPI = 3,
	BOOT_MEM_NVS = 4,
	BOOT_MEM_BAD = 5,
};

struct boot_mem_range {
	u64 base;
	u64 len;
	u32 type;
};

struct boot_module {
	u64 start; /* physical, inclusive */
	u64 end;   /* physical, exclusive */
	char cmdline[BOOT_MODSTR_MAX];
};

struct boot_info {
	u32 loader;              /* 1 or 2: Multiboot version */
	char loader_name[64];
	char cmdline[BOOT_CMDLINE_MAX];
	u32 nr_mmap;
	struct boot_mem_range mmap[BOOT_MAX_MMAP];
	u32 nr_modules;
	struct boot_module modules[BOOT_MAX_MODULES];
	u64 mem_lower_kb, mem_upper_kb; /* basic memory information, if given */
	u64 rsdp_phys;          /* 0 when the loader gave no RSDP copy */
	u8 rsdp[36];            /* the loader's copy of the RSDP (v1: 20 bytes, v2: 36) */
	u32 rsdp_len;
	u64 info_phys, info_len; /* the loader's own structure, to keep out of the allocator */
};

/* What this boot's loader said (filled by kmain before anything else runs). */
extern struct boot_info boot_info;

#define MULTIBOOT1_BOOT_MAGIC 0x2badb002U
#define MULTIBOOT2_BOOT_MAGIC 0x36d76289U

/*
 * Parse the loader's information structure. `info` is readable memory holding
 * it; `info_phys` is its physical address (recorded only). `phys_to_ptr`
 * turns physical addresses inside the information (Multiboot 1 keeps pointers)
 * into readable pointers, or returns NULL when it cannot. Returns 0 or -EINVAL
 * for an unknown magic or malformed structure.
 */
int bootinfo_parse(struct boot_info *bi, u32 magic, const void *info, u64 info_phys,
		   const void *(*phys_to_ptr)(u64 pa, size_t len));

#endif
