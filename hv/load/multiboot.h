/* Multiboot (version 1) guest loader: kernel image + modules into guest RAM, initial vCPU state. */
#ifndef HV_HV_LOAD_MULTIBOOT_H
#define HV_HV_LOAD_MULTIBOOT_H

#include "hv/types.h"
#include "hv/vcpu.h"
#include "hv/virt.h"

struct gmem;

/* Multiboot Specification 0.6.96, section 3.1: the OS image header. */
#define MB1_HEADER_MAGIC 0x1BADB002U
#define MB1_HEADER_SEARCH 8192        /* the header lies in the image's first 8 KiB */
#define MB1_FLAG_PAGE_ALIGN BIT(0)    /* modules page aligned */
#define MB1_FLAG_MEMORY_INFO BIT(1)   /* mem_* and mmap_* wanted */
#define MB1_FLAG_VIDEO_MODE BIT(2)    /* video mode table wanted (not provided here) */
#define MB1_FLAG_AOUT_KLUDGE BIT(16)  /* header address fields are valid */
#define MB1_FLAGS_REQUIRED GENMASK(15, 0) /* loader must refuse bits it does not know */

/* Section 3.2: machine state. */
#define MB1_BOOTLOADER_MAGIC 0x2BADB002U

/* Section 3.3: flags of the boot information structure. */
#define MB1_INFO_MEMORY BIT(0)
#define MB1_INFO_BOOTDEV BIT(1)
#define MB1_INFO_CMDLINE BIT(2)
#define MB1_INFO_MODS BIT(3)
#define MB1_INFO_MEM_MAP BIT(6)
#define MB1_INFO_LOADER_NAME BIT(9)

/* The boot information structure as the guest sees it (offsets per section 3.3). */
struct mb1_info {
	u32 flags;              /* 0 */
	u32 mem_lower;          /* 4: KiB from 0 */
	u32 mem_upper;          /* 8: KiB from 1 MiB up to the first hole */
	u32 boot_device;        /* 12 */
	u32 cmdline;            /* 16 */
	u32 mods_count;         /* 20 */
	u32 mods_addr;          /* 24 */
	u32 syms[4];            /* 28 */
	u32 mmap_length;        /* 44 */
	u32 mmap_addr;          /* 48 */
	u32 drives_length;      /* 52 */
	u32 drives_addr;        /* 56 */
	u32 config_table;       /* 60 */
	u32 boot_loader_name;   /* 64 */
	u32 apm_table;          /* 68 */
	u32 vbe[4];             /* 72 */
	u64 framebuffer_addr;   /* 88 */
	u32 framebuffer_pitch;  /* 96 */
	u32 framebuffer_width;  /* 100 */
	u32 framebuffer_height; /* 104 */
	u8 framebuffer_bpp;     /* 108 */
	u8 framebuffer_type;    /* 109 */
	u8 color_info[6];       /* 110 */
} __packed;
_Static_assert(sizeof(struct mb1_info) == 116, "multiboot info layout");

/* One module list entry (mods_addr points to mods_count of these). */
struct mb1_module {
	u32 mod_start;
	u32 mod_end;            /* one past the last byte */
	u32 string;             /* its name, NUL-terminated */
	u32 reserved;
} __packed;

/* One memory map entry; `size` counts the bytes after itself (20). */
struct mb1_mmap_entry {
	u32 size;
	u64 base_addr;
	u64 length;
	u32 type;
} __packed;
_Static_assert(sizeof(struct mb1_mmap_entry) == 24, "multiboot mmap entry layout");

#define MB1_MEMORY_AVAILABLE 1
#define MB1_MEMORY_RESERVED 2

/* The legacy hole below 1 MiB (VGA memory, option ROMs, BIOS): reserved in the map. */
#define MB1_LEGACY_HOLE_START 0xA0000ULL
#define MB1_LEGACY_HOLE_END 0x100000ULL

#define MB1_LOADER_NAME "hv"

#define MULTIBOOT_MAX_MODULES 16

/* A module for the guest: the bytes (host memory) and the string it gets with it. */
struct multiboot_module {
	const char *name;
	const u8 *data;
	size_t size;
};

/* The vCPU state a loader leaves for the boot processor. */
struct guest_boot_state {
	struct vcpu_regs regs;
	struct vcpu_sregs sregs;
};

/* What multiboot_load placed where, for logs and tests. */
struct multiboot_layout {
	gpa_t kernel_start, kernel_end;   /* lowest and highest+1 byte loaded (with bss) */
	gpa_t entry;
	gpa_t info;                       /* the boot information structure */
	gpa_t mods_start, mods_end;       /* the module area (may be empty) */
	gpa_t end;                        /* first byte after everything the loader wrote */
};

/*
 * Load a Multiboot v1 kernel (ELF32, ELF64 or a.out-kludge image) and its
 * modules into guest RAM, write the boot information structure and fill
 * *boot with the machine state of specification section 3.2: 32-bit
 * protected mode, paging off, flat segments, EAX = MB1_BOOTLOADER_MAGIC,
 * EBX = the information structure, interrupts off.
 *
 * image_name is the first word of the guest's command line; cmdline (may be
 * NULL or empty) follows it. Modules are placed page aligned after the kernel,
 * the information structure between the two. Every guest address comes
 * from the image and is checked against RAM (gmem_is_ram) and the file
 * bounds before any write. On failure (no or bad header, unsupported image,
 * a segment outside RAM or the file, not enough RAM for modules and boot
 * information) returns -EINVAL with a message in err; guest RAM may then
 * hold part of the image.
 * layout may be NULL. Host-testable; no locks (the VM is not running).
 */
int multiboot_load(struct gmem *mem, const u8 *image, size_t image_size, const char *image_name,
		   const char *cmdline, const struct multiboot_module *mods, u32 nr_mods,
		   struct guest_boot_state *boot, struct multiboot_layout *layout, char *err,
		   size_t errlen);

#endif
