/* Virtual dual 8259A PIC (master 0x20/0x21, slave 0xa0/0xa1, ELCR 0x4d0/0x4d1). */
#ifndef HV_HV_DEV_VPIC_H
#define HV_HV_DEV_VPIC_H

#include "lib/types.h"
#include "hv/iobus.h"
#include "asm/spinlock.h"

#define VPIC_MASTER_BASE 0x20
#define VPIC_SLAVE_BASE 0xa0
#define VPIC_ELCR_BASE 0x4d0
#define VPIC_CASCADE_IRQ 2
#define VPIC_NR_IRQS 16

/*
 * What the VM provides (may be NULL). set_output: the INTR line to the CPU
 * changed (the core would route it as ExtINT through LINT0 of vCPU 0 and
 * take the vector with vpic_ack when the guest can be interrupted). Called
 * with the vpic lock held, interrupts off: must not call back into the vpic.
 *
 * Nothing in the core consumes INTR yet: today the PIC is there so guests
 * can program and mask it. The delivery logic (IRR/ISR, priorities, EOI,
 * INTA) is complete and unit-tested for when it is wired.
 */
struct vpic_hooks {
	void *ctx;
	void (*set_output)(void *ctx, bool level);
};

/* One 8259A (8259A data sheet: ICW1-4, OCW1-3). */
struct vpic_chip {
	u8 irr, isr, imr;
	u8 last_line;           /* input levels seen, for edge detection */
	u8 elcr, elcr_mask;     /* level-triggered inputs (PIIX ELCR) and writable bits */
	u8 vector_base;         /* ICW2 & 0xf8 */
	u8 icw3;
	u8 init_step;           /* 0: operational; 2, 3, 4: the ICW expected next */
	u8 priority_add;        /* the input with the highest priority (rotation) */
	bool icw4_needed, single, ltim, auto_eoi, rotate_on_aeoi, special_fully_nested;
	bool special_mask, read_isr, poll;
};

/* Locking: `lock` (a spinlock, interrupts off) protects chips and output. */
struct vpic {
	struct spinlock lock;
	struct vpic_hooks hooks;
	struct vpic_chip chip[2];   /* [0] master, [1] slave on master input 2 */
	bool output;                /* INTR as last signalled */
};

/* A PIC in its reset state (see vpic_reset). NULL when out of memory. */
struct vpic *vpic_create(const struct vpic_hooks *hooks);
void vpic_destroy(struct vpic *p);
/*
 * Reset (VM reset): as a BIOS leaves it but fully masked: vector bases 0x08
 * and 0x70, all inputs masked and edge-triggered, nothing pending.
 */
void vpic_reset(struct vpic *p);
/* Register the six ports on a VM's port bus. 0 or io_bus_register's error. */
int vpic_register(struct vpic *p, struct io_bus *pio);

/* Port accesses; `port` is the absolute port (0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1). */
u8 vpic_read(struct vpic *p, u16 port);
void vpic_write(struct vpic *p, u16 port, u8 val);

/* Drive input `irq` (0-15) to `level`; edge inputs latch on a rising edge. Any thread. */
void vpic_set_irq(struct vpic *p, u32 irq, bool level);
/* The vector an INTA cycle would return now, or -1 when INTR is low. No side effects. */
int vpic_pending_vector(struct vpic *p);
/* INTA: take the highest-priority request (IRR -> ISR) and return its vector (spurious: IRQ 7/15). */
u8 vpic_ack(struct vpic *p);

#endif
