/* Host GDT selectors and per-CPU descriptor set-up. */
#ifndef HV_ASM_GDT_H
#define HV_ASM_GDT_H

#include "asm/percpu.h"

#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS 0x18 /* 16-byte system descriptor: slots 3 and 4 */

/*
 * Make `p` this CPU's per-CPU area and load its GDT, TSS (with the three IST
 * stacks given, each IST_STACK_SIZE bytes) and the shared IDT. Boot CPU and APs.
 */
void cpu_setup(struct percpu *p, u32 cpu, u8 *ist_df, u8 *ist_nmi, u8 *ist_mc);

#endif
