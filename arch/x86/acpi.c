/* ACPI on the real machine: parse the firmware's tables once at boot; MMIO mapping hook. */
#include "asm/acpi.h"
#include "lib/printf.h"
#include "asm/lapic.h"
#include "asm/page.h"
#include "asm/time.h"
#include "kernel/log.h"
#include "kernel/panic.h"

#define EARLY_MAP_LIMIT (1ULL << 32) /* the boot page tables map the first 4 GiB */

struct acpi_info acpi;
static void *(*mmio_mapper)(paddr_t pa, u64 size);

void platform_set_mmio_mapper(void *(*map)(paddr_t pa, u64 size)) { mmio_mapper = map; }

void *platform_map_mmio(paddr_t pa, u64 size)
{
	if (size == 0 || pa + size < pa)
		return NULL;
	if (mmio_mapper)
		return mmio_mapper(pa, size);
	if (pa >= EARLY_MAP_LIMIT || size > EARLY_MAP_LIMIT - pa)
		return NULL;
	return phys_to_virt(pa);
}

static const void *acpi_map(u64 pa, size_t len) { return platform_map_mmio(pa, len); }

void acpi_init(const void *rsdp_copy, size_t rsdp_len)
{
	char err[128], reset[48];
	int ret;

	ret = acpi_parse(&acpi, rsdp_copy, rsdp_len, acpi_map, err, sizeof(err));
	if (ret == 0 && acpi.nr_cpus == 0)
		ret = -ENOENT;
	if (ret)
		panic("ACPI: %s (the hypervisor needs the MADT to find CPUs and IOAPICs)", err);
	pr_info("acpi: RSDP rev %u (%s) OEM '%s' via %s: %u CPUs, %u IOAPICs, %u overrides, "
		"LAPIC %#llx\n",
		acpi.revision, rsdp_copy ? "from the loader" : "found by scan", acpi.oem_id,
		acpi.used_xsdt ? "XSDT" : "RSDT", acpi.nr_cpus, acpi.nr_ioapics, acpi.nr_overrides,
		(unsigned long long)acpi.lapic_addr);
	if (acpi.has_reset_reg)
		ksnprintf(reset, sizeof(reset), "%s %#llx <- %#x",
			  acpi.reset_reg_space == ACPI_GAS_IO ? "port" : "register",
			  (unsigned long long)acpi.reset_reg_addr, acpi.reset_value);
	pr_info("acpi: HPET %#llx, PM1a_CNT %#x, reset %s, \\_S5 %s (SLP_TYP %u)\n",
		(unsigned long long)acpi.hpet_addr, acpi.pm1a_cnt_port,
		acpi.has_reset_reg ? reset : "register none", acpi.has_s5 ? "found" : "missing",
		acpi.s5_slp_typa);
	if (acpi.nr_cpus_dropped)
		pr_warn("acpi: %u CPUs beyond the first %u ignored\n", acpi.nr_cpus_dropped,
			ACPI_MAX_CPUS);
	if (acpi.nr_warnings)
		pr_warn("acpi: %u problem(s) in optional tables, first: %s\n", acpi.nr_warnings,
			acpi.warning);
}

u32 acpi_isa_irq_to_gsi(u8 irq, bool *level, bool *active_low)
{
	return acpi_info_isa_irq(&acpi, irq, level, active_low);
}

void platform_print_summary(void)
{
	pr_info("platform: %u CPUs in the MADT, %u IOAPICs, LAPIC %s, HPET %s, clock by %s, "
		"TSC %llu MHz\n",
		acpi.nr_cpus, acpi.nr_ioapics, lapic_is_x2apic() ? "x2APIC" : "xAPIC",
		acpi.hpet_addr ? "yes" : "no", time_reference() ? time_reference() : "none",
		(unsigned long long)(tsc_hz() / 1000000));
}
