/* The legacy 8259A PIC pair: remapped away from the exception vectors, then fully masked. */
#include "asm/io.h"
#include "asm/ioapic.h"
#include "asm/irq_vectors.h"

/* Intel 8259A data sheet: command/data ports and initialization words. */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define ICW1_INIT BIT(4)
#define ICW1_ICW4 BIT(0)
#define ICW3_MASTER_SLAVE_ON_IRQ2 BIT(2)
#define ICW3_SLAVE_ID 2
#define ICW4_8086 BIT(0)
#define PIC_MASK_ALL 0xff

static void pic_out(u16 port, u8 v)
{
	outb(port, v);
	io_delay();
}

void pic_disable(void)
{
	/*
	 * Even masked, a PIC can deliver a spurious IRQ 7/15 through LINT0 in
	 * virtual-wire mode: remap first so it never lands on an exception vector.
	 */
	pic_out(PIC1_DATA, PIC_MASK_ALL);
	pic_out(PIC2_DATA, PIC_MASK_ALL);
	pic_out(PIC1_CMD, ICW1_INIT | ICW1_ICW4);
	pic_out(PIC2_CMD, ICW1_INIT | ICW1_ICW4);
	pic_out(PIC1_DATA, VEC_PIC_BASE);
	pic_out(PIC2_DATA, VEC_PIC_BASE + 8);
	pic_out(PIC1_DATA, ICW3_MASTER_SLAVE_ON_IRQ2);
	pic_out(PIC2_DATA, ICW3_SLAVE_ID);
	pic_out(PIC1_DATA, ICW4_8086);
	pic_out(PIC2_DATA, ICW4_8086);
	pic_out(PIC1_DATA, PIC_MASK_ALL);
	pic_out(PIC2_DATA, PIC_MASK_ALL);
}
