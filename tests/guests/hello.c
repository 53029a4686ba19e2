/* Test guest "hello": prints its command line and memory map from the Multiboot info, exits 0. */
#include "rt/rt.h"

#define MB_INFO_MEMORY BIT(0)
#define MB_INFO_MEM_MAP BIT(6)

static void show_mmap(void)
{
	const struct rt_mb_info *mb = rt_boot_info;
	u32 n = 0;

	if (!(mb->flags & MB_INFO_MEM_MAP)) {
		rt_fail("hello: no memory map in the boot information (flags 0x%x)", mb->flags);
		return;
	}
	for (u32 off = 0; off + sizeof(struct rt_mb_mmap) <= mb->mmap_length; n++) {
		const struct rt_mb_mmap *e = (const void *)(mb->mmap_addr + off);

		rt_printf("mmap: 0x%010llx-0x%010llx type %u\n", e->base, e->base + e->len - 1,
			  e->type);
		off += e->size + 4;
	}
	rt_check(n > 0 && rt_ram_top() > 0x100000, "hello: memory map has %u entries, RAM up to 0x%llx",
		 n, rt_ram_top());
}

void guest_main(void)
{
	const struct rt_mb_info *mb = rt_boot_info;

	rt_printf("hello: command line \"%s\"\n", rt_cmdline());
	if (!mb)
		return;
	rt_printf("hello: full command line \"%s\"\n",
		  mb->flags & BIT(2) ? (const char *)mb->cmdline : "");
	if (mb->flags & MB_INFO_MEMORY)
		rt_printf("hello: mem_lower %u KiB, mem_upper %u KiB\n", mb->mem_lower, mb->mem_upper);
	show_mmap();
	rt_pass("hello: booted and printed its boot information");
}
