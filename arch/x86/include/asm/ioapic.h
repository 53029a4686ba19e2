/* I/O APIC redirection (82093AA data sheet) and the legacy 8259 PIC. */
#ifndef HV_ASM_IOAPIC_H
#define HV_ASM_IOAPIC_H

#include "lib/types.h"

/* Map every IOAPIC from the MADT, mask all inputs. */
void ioapic_init(void);
/* Route GSI to `vector` on the CPU with `apic_id`, unmasked. Returns 0 or -EINVAL. */
int ioapic_route(u32 gsi, u8 vector, u32 apic_id, bool level, bool active_low);
int ioapic_mask(u32 gsi, bool masked);
/* Route an ISA IRQ (applying MADT overrides) to VEC_GSI_BASE + gsi on the boot CPU. */
int ioapic_route_isa(u8 irq);

/* Remap the 8259 pair to VEC_PIC_BASE and mask every input. */
void pic_disable(void);

#endif
