/* Shell command `mem`: physical frames and kernel heap usage from the mm statistics. */
#include "mgmt/shell.h"
#include "asm/page.h"
#include "mm/frame.h"
#include "mm/kmalloc.h"

#define FRAMES_PER_MIB (1ULL << (20 - PAGE_SHIFT))

static unsigned long long frames_mib(u64 frames)
{
	return (unsigned long long)(frames / FRAMES_PER_MIB);
}

static int cmd_mem(int argc, char **argv, struct shell_out *out)
{
	struct frame_stats fs;
	struct heap_stats hs;

	if (argc != 1)
		return SHELL_USAGE;
	frame_get_stats(&fs);
	heap_get_stats(&hs);
	shell_printf(out, "RAM:      %llu MiB (%llu frames of 4 KiB)\n",
		     frames_mib(fs.total + fs.reserved),
		     (unsigned long long)(fs.total + fs.reserved));
	shell_printf(out, "managed:  %llu MiB (%llu frames)\n", frames_mib(fs.total),
		     (unsigned long long)fs.total);
	shell_printf(out, "free:     %llu MiB (%llu frames)\n", frames_mib(fs.free),
		     (unsigned long long)fs.free);
	shell_printf(out, "reserved: %llu MiB (%llu frames: image, modules, low memory)\n",
		     frames_mib(fs.reserved), (unsigned long long)fs.reserved);
	shell_printf(out, "heap:     %llu bytes in use, %llu KiB held, %llu allocations, %llu frees\n",
		     (unsigned long long)hs.bytes_in_use,
		     (unsigned long long)(hs.bytes_reserved >> 10),
		     (unsigned long long)hs.allocs, (unsigned long long)hs.frees);
	return 0;
}
SHELL_COMMAND(mem, "mem", "", "show physical memory and heap usage", cmd_mem);
