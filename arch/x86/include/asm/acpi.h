/* ACPI tables the host needs: RSDP, RSDT/XSDT, MADT, HPET (ACPI spec 6.x ch. 5). */
#ifndef HV_ASM_ACPI_H
#define HV_ASM_ACPI_H

#include "lib/types.h"

#define ACPI_MAX_CPUS 64
#define ACPI_MAX_IOAPICS 8
#define ACPI_MAX_OVERRIDES 16

struct acpi_cpu {
	u32 apic_id;
	u32 acpi_uid;
	bool enabled;      /* usable now */
	bool online_capable;
};

struct acpi_ioapic {
	u32 id;
	u64 addr;
	u32 gsi_base;
};

/* Interrupt source override: ISA IRQ `source` is GSI `gsi` with these flags. */
struct acpi_override {
	u8 source;
	u32 gsi;
	u16 flags; /* MPS INTI flags: polarity bits 1:0, trigger bits 3:2 */
};

struct acpi_info {
	u8 revision;           /* RSDP revision */
	u64 rsdp_phys;
	u64 lapic_addr;        /* from the MADT (and its 64-bit override) */
	bool has_8259;         /* MADT PCAT_COMPAT */
	u32 nr_cpus;
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	u32 nr_ioapics;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	u32 nr_overrides;
	struct acpi_override overrides[ACPI_MAX_OVERRIDES];
	u64 hpet_addr;         /* 0 when there is no HPET table */
	u64 fadt_phys;
	u16 pm1a_cnt_port;     /* for power-off, 0 if unknown */
	u8 reset_reg_space;    /* FADT reset register (1 = I/O port), 0 if none */
	u64 reset_reg_addr;
	u8 reset_value;
	char oem_id[7];
};

/*
 * Parse the tables reachable from the RSDP. `map` turns a physical range into
 * a readable pointer (NULL if it cannot), so the parser is host-testable.
 * `rsdp_copy` may be the loader's copy (Multiboot2 tag), else pass NULL and the
 * parser scans the EBDA and 0xe0000-0xfffff through `map`. Every table's
 * length and checksum is checked. Returns 0, or -ENOENT (no RSDP/MADT) /
 * -EINVAL (a malformed table) with the reason in `err` when given.
 */
int acpi_parse(struct acpi_info *ai, const void *rsdp_copy, size_t rsdp_len,
	       const void *(*map)(u64 pa, size_t len), char *err, size_t errlen);

/* The platform's parsed tables (filled once at boot by acpi_init). */
extern struct acpi_info acpi;
/* Parse on the real machine; panics with a clear message only if no MADT is found. */
void acpi_init(const void *rsdp_copy, size_t rsdp_len);
/* Map an ISA IRQ to its GSI and trigger/polarity using the overrides. */
u32 acpi_isa_irq_to_gsi(u8 irq, bool *level, bool *active_low);

#endif
