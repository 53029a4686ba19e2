/* Test-guest runtime: 32-bit IDT; exceptions are recorded, recovered from or reported. */
#include "rt/rt.h"
#include "rt/cpu.h"

#define IDT_GATE_INT32 0x8e00   /* present, DPL 0, 32-bit interrupt gate (SDM vol. 3A 6.11) */
#define STUB_SIZE 16
#define KERNEL_CS 0x08

struct idt_gate {
	u16 off_lo, sel, flags, off_hi;
} __packed;

struct idt_desc {
	u16 limit;
	u32 base;
} __packed;

extern const u8 rt_isr_stubs[];
static struct idt_gate idt[256] __aligned(16);
static rt_irq_fn irq_handlers[256];
volatile struct rt_fault rt_last_fault;
volatile u32 rt_recover_eip;

void rt_idt_load(void)
{
	struct idt_desc d = { sizeof(idt) - 1, (u32)idt };

	__asm__ __volatile__("lidt %0" : : "m"(d));
}

void rt_idt_init(void)
{
	for (u32 v = 0; v < 256; v++) {
		u32 addr = (u32)rt_isr_stubs + v * STUB_SIZE;

		idt[v] = (struct idt_gate){ (u16)addr, KERNEL_CS, IDT_GATE_INT32, (u16)(addr >> 16) };
	}
	rt_idt_load();
}

void rt_set_irq_handler(u8 vector, rt_irq_fn fn) { irq_handlers[vector] = fn; }

void rt_isr(struct rt_frame *f);

void rt_isr(struct rt_frame *f)
{
	if (f->vector >= 32) {
		/* A spurious LAPIC interrupt needs no EOI and means nothing (SDM 10.9). */
		if (f->vector == 0xff && !irq_handlers[f->vector])
			return;
		if (irq_handlers[f->vector])
			irq_handlers[f->vector](f);
		else
			rt_fail("unexpected interrupt, vector %u at eip 0x%x", f->vector, f->eip);
		return;
	}
	rt_last_fault.vector = f->vector;
	rt_last_fault.error = f->error;
	rt_last_fault.eip = f->eip;
	rt_last_fault.cr2 = read_cr2();
	rt_last_fault.count++;
	if (rt_recover_eip) {
		f->eip = rt_recover_eip;
		rt_recover_eip = 0;
		return;
	}
	rt_fail("unexpected exception %u (error 0x%x) at eip 0x%x, cr2 0x%x", f->vector, f->error,
		f->eip, rt_last_fault.cr2);
	rt_finish();
}
