/* I/O APIC redirection (82093AA data sheet) and the legacy 8259 PIC. */
#ifndef HV_ASM_IOAPIC_H
#define HV_ASM_IOAPIC_H

#include "lib/types.h"

/* Map every IOAPIC from the MADT, mask all inputs. Boot CPU, after acpi_init and lapic_init_bsp. */
void ioapic_init(void);
/*
 * Route GSI to `vector` (>= 0x20) on the CPU with `apic_id` (physical
 * destination, so 0-255), unmasked. Returns 0 or -EINVAL (no IOAPIC has that
 * GSI, or a bad vector/destination). Any CPU; takes the IOAPIC's lock.
 */
int ioapic_route(u32 gsi, u8 vector, u32 apic_id, bool level, bool active_low);
/* Mask or unmask a routed GSI. Returns 0 or -EINVAL. */
int ioapic_mask(u32 gsi, bool masked);
/*
 * Route an ISA IRQ (applying the MADT interrupt source overrides for GSI,
 * trigger and polarity) to VEC_GSI_BASE + gsi on the boot CPU. Returns 0 or
 * -EINVAL (GSI beyond VEC_GSI_COUNT or not on any IOAPIC).
 */
int ioapic_route_isa(u8 irq);
/* The raw 64-bit redirection entry of a GSI. Returns 0 or -EINVAL. */
int ioapic_read_route(u32 gsi, u64 *rte);

/* Remap the 8259 pair to VEC_PIC_BASE and mask every input. */
void pic_disable(void);

#endif
