/* kmain: the boot CPU's init sequence (the composition root: may call any layer). */
#include "lib/cmdline.h"
#include "lib/string.h"
#include "asm/acpi.h"
#include "asm/bootinfo.h"
#include "asm/gdt.h"
#include "asm/ioapic.h"
#include "asm/lapic.h"
#include "asm/time.h"
#include "asm/trap.h"
#include "asm/page.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/debug.h"
#include "kernel/version.h"
#include "mm/frame.h"
#include "mm/kmalloc.h"
#include "mm/paging.h"
#include "drivers/uart.h"
#include "mgmt/shell.h"
#include "mgmt/net.h"
#include "kernel/thread.h"
#include "kernel/smp.h"
#include "hv/virt.h"
#include "hv/vm.h"

struct boot_info boot_info;

static struct percpu bsp_percpu;
static u8 bsp_ist_stacks[3][IST_STACK_SIZE] __aligned(16);

static unsigned log_cpu_id(void) { return cpu_id(); }

static const void *early_phys_to_ptr(u64 pa, size_t len)
{
	/* The early map covers the first 4 GiB. */
	if (pa >= (1ULL << 32) || len > (1ULL << 32) - pa)
		return NULL;
	return phys_to_virt(pa);
}

/* The command line for the log, with the value of password= (telnet login) shown as ***. */
static void redact_cmdline(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = in; *p && o + 1 < len;) {
		bool word_start = p == in || p[-1] == ' ';

		if (word_start && !strncmp(p, "password=", 9)) {
			bool quoted = false;

			o += strlcpy(out + o, "password=***", len - o);
			for (p += 9; *p && (quoted || *p != ' '); p++)
				quoted ^= *p == '"';
			continue;
		}
		out[o++] = *p++;
	}
	out[MIN(o, len - 1)] = '\0';
}

static void print_boot_info(const struct boot_info *bi)
{
	static char shown[BOOT_CMDLINE_MAX];
	u64 ram = 0;

	for (u32 i = 0; i < bi->nr_mmap; i++)
		if (bi->mmap[i].type == BOOT_MEM_RAM)
			ram += bi->mmap[i].len;
	redact_cmdline(bi->cmdline, shown, sizeof(shown));
	pr_info("boot: Multiboot%u from '%s', cmdline '%s'\n", bi->loader, bi->loader_name,
		shown);
	pr_info("boot: %u memory ranges, %llu MiB usable, %u modules, RSDP %s\n", bi->nr_mmap,
		(unsigned long long)(ram >> 20), bi->nr_modules, bi->rsdp_len ? "given" : "not given");
}

/*
 * The serial shell, after the VMs of the configuration module are created
 * (in thread context: that takes mutexes and may sleep), so their messages
 * come before the first prompt.
 */
static void shell_thread(void *arg)
{
	if (virt)
		vm_create_from_boot_config();
	shell_run();
}

/* loglevel=N (0-7) on the command line sets the console log level. */
static void apply_log_level(const char *cmdline)
{
	u64 level;
	int err = cmdline_get_u64(cmdline, "loglevel", LOG_EMERG, LOG_DEBUG, &level);

	if (!err)
		log_set_console_level((int)level);
	else if (err != -ENOENT)
		pr_warn("boot: ignoring loglevel: not a number from 0 to 7\n");
}

void kmain(u32 magic, u32 info_phys);
void kmain(u32 magic, u32 info_phys)
{
	int err;

	idt_init();
	cpu_setup(&bsp_percpu, 0, bsp_ist_stacks[0], bsp_ist_stacks[1], bsp_ist_stacks[2]);
	log_set_cpu_id(log_cpu_id);
	if (uart_init(COM1_PORT))
		log_register_console(uart_write);
	pr_info("%s %s starting\n", HV_NAME, HV_VERSION);
	err = bootinfo_parse(&boot_info, magic, early_phys_to_ptr(info_phys, 8), info_phys,
			     early_phys_to_ptr);
	if (err)
		panic("unknown boot loader (magic %#x) or malformed boot information", magic);
	print_boot_info(&boot_info);
	apply_log_level(boot_info.cmdline);
	frame_init(&boot_info);
	paging_init(&boot_info);
	platform_set_mmio_mapper(paging_map_mmio);
	kmalloc_init();
	acpi_init(boot_info.rsdp_len ? boot_info.rsdp : NULL, boot_info.rsdp_len);
	pic_disable();
	lapic_init_bsp(!cmdline_has_flag(boot_info.cmdline, "nox2apic"));
	ioapic_init();
	time_init();
	platform_print_summary();
	sched_init();
	smp_boot_aps(sched_start_cpu);
	paging_set_tlb_shootdown(tlb_shootdown);
	uart_start_rx_irq(COM1_IRQ);
	virt_init();
	if (!thread_create("shell", shell_thread, NULL, 0))
		panic("cannot create the shell thread");
	net_init(boot_info.cmdline);
	sched_start_cpu();
}
