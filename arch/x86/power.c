/* Reboot and power-off: ACPI reset register and S5, with the PC's legacy fallbacks. */
#include "asm/power.h"
#include "asm/acpi.h"
#include "asm/cpu.h"
#include "asm/io.h"
#include "asm/time.h"
#include "kernel/log.h"

/* ACPI 6.x section 4.8.3.2.1: PM1 control register. */
#define PM1_SCI_EN BIT(0)
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_MASK GENMASK(12, 10)
#define PM1_SLP_EN BIT(13)
#define ACPI_ENABLE_WAIT_MS 300

/* PCI configuration mechanism #1 (PCI local bus spec 3.0 section 3.2.2.3.2). */
#define PCI_CONFIG_ADDR 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define PCI_CONFIG_ENABLE BIT(31)

/* Intel PIIX/ICH reset control register: SYS_RST BIT(1) selects a hard reset, RST_CPU BIT(2) fires it. */
#define RST_CNT_PORT 0xcf9
#define RST_CNT_SYS_RST BIT(1)
#define RST_CNT_RST_CPU BIT(2)

/* i8042 keyboard controller: status bit 1 = input buffer full; command 0xfe pulses reset. */
#define KBC_STATUS 0x64
#define KBC_STATUS_IBF BIT(1)
#define KBC_CMD_RESET 0xfe
#define KBC_WAIT_LOOPS 100000

#define RESET_SETTLE_MS 50

/* ACPI 6.x section 4.8.3.6: write RESET_VALUE to the RESET_REG address. */
static void acpi_reset(void)
{
	u64 a = acpi.reset_reg_addr;
	volatile u8 *mmio;

	switch (acpi.reset_reg_space) {
	case ACPI_GAS_IO:
		if (a <= 0xffff)
			outb((u16)a, acpi.reset_value);
		break;
	case ACPI_GAS_MEMORY:
		mmio = platform_map_mmio(a, 1);
		if (mmio)
			*mmio = acpi.reset_value;
		break;
	case ACPI_GAS_PCI_CONFIG:
		/* Bus 0; device in bits 47:32, function in 31:16, register in 15:0 (table 5.1). */
		outl(PCI_CONFIG_ADDR, PCI_CONFIG_ENABLE | (u32)((a >> 32) & 0x1f) << 11 |
					      (u32)((a >> 16) & 0x7) << 8 | (u32)(a & 0xfc));
		outb(PCI_CONFIG_DATA + (a & 3), acpi.reset_value);
		break;
	default:
		break;
	}
}

static void kbc_reset(void)
{
	for (u32 i = 0; i < KBC_WAIT_LOOPS && (inb(KBC_STATUS) & KBC_STATUS_IBF); i++)
		udelay(1);
	outb(KBC_STATUS, KBC_CMD_RESET);
}

static void __noreturn triple_fault(void)
{
	struct {
		u16 limit;
		u64 base;
	} __packed empty_idt = { 0, 0 };

	__asm__ __volatile__("lidt %0; int3" : : "m"(empty_idt) : "memory");
	for (;;)
		cpu_halt();
}

void machine_reboot(void)
{
	irq_disable();
	pr_notice("reboot: resetting the machine\n");
	if (acpi.has_reset_reg) {
		acpi_reset();
		mdelay(RESET_SETTLE_MS);
	}
	outb(RST_CNT_PORT, RST_CNT_SYS_RST);
	udelay(50);
	outb(RST_CNT_PORT, RST_CNT_SYS_RST | RST_CNT_RST_CPU);
	mdelay(RESET_SETTLE_MS);
	kbc_reset();
	mdelay(RESET_SETTLE_MS);
	pr_emerg("reboot: reset register, port 0xcf9 and the keyboard controller failed: "
		 "triple fault\n");
	triple_fault();
}

/* ACPI 6.x section 16.3.1: legacy -> ACPI mode by writing ACPI_ENABLE to SMI_CMD. */
static void acpi_enter_acpi_mode(void)
{
	if (inw(acpi.pm1a_cnt_port) & PM1_SCI_EN)
		return;
	if (!acpi.smi_cmd_port || !acpi.acpi_enable)
		return;
	outb(acpi.smi_cmd_port, acpi.acpi_enable);
	for (u32 ms = 0; ms < ACPI_ENABLE_WAIT_MS; ms++) {
		if (inw(acpi.pm1a_cnt_port) & PM1_SCI_EN)
			return;
		mdelay(1);
	}
	pr_warn("power: the chipset did not enter ACPI mode; trying S5 anyway\n");
}

static void pm1_sleep(u16 port, u8 slp_typ)
{
	u16 v = inw(port) & ~(PM1_SLP_TYP_MASK | PM1_SLP_EN);

	outw(port, v | (u16)(slp_typ << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN);
}

static const char *poweroff_unavailable(void)
{
	if (acpi.hw_reduced)
		return "hardware-reduced ACPI (sleep control register) is not supported";
	if (!acpi.pm1a_cnt_port)
		return "the FADT gives no PM1a control block";
	if (!acpi.has_s5)
		return "no \\_S5 sleep type found in the DSDT";
	return NULL;
}

void machine_poweroff(void)
{
	const char *why = poweroff_unavailable();

	irq_disable();
	if (!why) {
		pr_notice("power: entering S5 (PM1a_CNT %#x, SLP_TYP %u)\n", acpi.pm1a_cnt_port,
			  acpi.s5_slp_typa);
		acpi_enter_acpi_mode();
		pm1_sleep(acpi.pm1a_cnt_port, acpi.s5_slp_typa);
		if (acpi.pm1b_cnt_port)
			pm1_sleep(acpi.pm1b_cnt_port, acpi.s5_slp_typb);
		mdelay(RESET_SETTLE_MS * 4);
		why = "the S5 write did not switch the machine off";
	}
	pr_emerg("power: cannot power off: %s. Halted; it is safe to switch off now.\n", why);
	for (;;) {
		irq_disable();
		cpu_halt();
	}
}
