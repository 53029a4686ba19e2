/* ACPI tables the host needs: RSDP, RSDT/XSDT, MADT, HPET, FADT, \_S5 (ACPI spec 6.x ch. 5). */
#ifndef HV_ASM_ACPI_H
#define HV_ASM_ACPI_H

#include "lib/types.h"

#define ACPI_MAX_CPUS 64
#define ACPI_MAX_IOAPICS 8
#define ACPI_MAX_OVERRIDES 16
#define ACPI_WARN_MAX 112

/* Generic Address Structure address space ids (ACPI 6.x section 5.2.3.2). */
#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO 1
#define ACPI_GAS_PCI_CONFIG 2

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

/*
 * What the parser found. Written once by acpi_parse(); read-only afterwards.
 * cpus[] holds each usable processor (enabled or online-capable) once, in
 * MADT order, local APIC (type 0) and x2APIC (type 9) entries merged by APIC id.
 */
struct acpi_info {
	u8 revision;           /* RSDP revision */
	u64 rsdp_phys;         /* 0 when the loader's copy was used */
	bool used_xsdt;        /* the XSDT (not the RSDT) was walked */
	u64 lapic_addr;        /* from the MADT (and its 64-bit override) */
	bool has_8259;         /* MADT PCAT_COMPAT */
	u32 nr_cpus;
	u32 nr_cpus_dropped;   /* usable CPUs beyond ACPI_MAX_CPUS */
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	u32 nr_ioapics;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	u32 nr_overrides;
	struct acpi_override overrides[ACPI_MAX_OVERRIDES];
	u64 hpet_addr;         /* 0 when there is no (valid) HPET table */
	u64 fadt_phys;         /* 0 when there is no (valid) FADT */
	u32 fadt_flags;
	bool hw_reduced;       /* FADT HW_REDUCED_ACPI: no PM1 blocks */
	u16 pm1a_cnt_port;     /* for power-off, 0 if unknown */
	u16 pm1b_cnt_port;     /* 0 if absent */
	u16 smi_cmd_port;      /* write acpi_enable here to leave legacy mode; 0 if none */
	u8 acpi_enable;
	bool has_reset_reg;    /* FADT RESET_REG_SUP and a non-zero RESET_REG */
	u8 reset_reg_space;    /* ACPI_GAS_* */
	u64 reset_reg_addr;
	u8 reset_value;
	u64 dsdt_phys;
	bool has_s5;           /* \_S5 found in the DSDT */
	u8 s5_slp_typa, s5_slp_typb;
	char oem_id[7];
	/* Problems in optional tables (FADT, HPET, DSDT, extra entries): skipped, not fatal. */
	u32 nr_warnings;
	char warning[ACPI_WARN_MAX]; /* the first one */
};

/*
 * Parse the tables reachable from the RSDP. `map` turns a physical range into
 * a readable pointer (NULL if it cannot), so the parser is host-testable; the
 * parser never reads outside what it asked `map` for.
 * `rsdp_copy` may be the loader's copy (Multiboot2 tag), else pass NULL and the
 * parser scans the first KiB of the EBDA and 0xe0000-0xfffff through `map`.
 * The XSDT is used when the RSDP revision is >= 2 and its address is non-zero
 * (the RSDT if the XSDT is broken, with a warning). Every table's length and
 * checksum is checked. Returns 0, or -ENOENT (no RSDP/MADT) / -EINVAL (a
 * malformed RSDP, root table or MADT) with the reason in `err` when given.
 * Broken optional tables only add a warning (ai->warning).
 */
int acpi_parse(struct acpi_info *ai, const void *rsdp_copy, size_t rsdp_len,
	       const void *(*map)(u64 pa, size_t len), char *err, size_t errlen);

/*
 * The \_S5 sleep types from AML: finds `Name (_S5_, Package () {a, b, ...})`
 * by a byte scan (NameOp, optional root prefix, "_S5_", PackageOp) and decodes
 * the first two integer elements. Only the DSDT is scanned; a _S5 defined in
 * an SSDT or as a Method is not found. Returns 0 or -ENOENT.
 */
int acpi_aml_find_s5(const u8 *aml, size_t len, u8 *slp_typa, u8 *slp_typb);

/* ISA IRQ -> GSI with trigger and polarity, from `ai`'s overrides (ISA defaults otherwise). */
u32 acpi_info_isa_irq(const struct acpi_info *ai, u8 irq, bool *level, bool *active_low);

/* The platform's parsed tables (filled once at boot by acpi_init). */
extern struct acpi_info acpi;
/* Parse on the real machine; panics with a clear message only if no usable MADT is found. */
void acpi_init(const void *rsdp_copy, size_t rsdp_len);
/* Map an ISA IRQ to its GSI and trigger/polarity using the overrides. */
u32 acpi_isa_irq_to_gsi(u8 irq, bool *level, bool *active_low);

/*
 * Device-register mapping for the platform code (LAPIC, IOAPIC, HPET, ACPI
 * tables). mm/ sits above arch/x86, so kernel/main.c hands its mapper in with
 * platform_set_mmio_mapper(paging_map_mmio) once paging is up; until then the
 * boot page tables' direct map of the first 4 GiB is used.
 */
void platform_set_mmio_mapper(void *(*map)(paddr_t pa, u64 size));
/* Uncached VA for [pa, pa+size), or NULL when it cannot be mapped. */
void *platform_map_mmio(paddr_t pa, u64 size);

/* One boot line: CPUs in the MADT, IOAPICs, LAPIC mode, HPET, clock. After time_init(). */
void platform_print_summary(void);

#endif
