/* Guest "demo": the VM of `make run`. Ticks once a second and answers what is typed into its console. */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "rt/lapic.h"

#define TIMER_VECTOR 0x40
#define TICKS_PER_SECOND 10
#define COM1 0x3f8
#define COM1_LSR (COM1 + 5)
#define LSR_DATA_READY 0x01
#define HV_LEAF_TIMING 0x40000010U
#define DEFAULT_TIMER_KHZ 1000000U /* the hypervisor's LAPIC timer: 1 GHz */

static volatile u32 ticks;

static void timer_irq(struct rt_frame *f)
{
	ticks++;
	lapic_eoi();
}

/* LAPIC timer input clock in kHz: the hypervisor says it in leaf 0x40000010 EBX. */
static u32 timer_khz(void)
{
	struct cpuid_out base = cpuid(0x40000000U, 0);
	struct cpuid_out timing;

	if (base.eax < HV_LEAF_TIMING)
		return DEFAULT_TIMER_KHZ;
	timing = cpuid(HV_LEAF_TIMING, 0);
	return timing.ebx ? timing.ebx : DEFAULT_TIMER_KHZ;
}

static void echo_input(void)
{
	while (inb(COM1_LSR) & LSR_DATA_READY) {
		char c = (char)inb(COM1);

		if (c == '\r' || c == '\n')
			rt_printf("demo: (enter)\n");
		else if (c >= 0x20 && c < 0x7f)
			rt_printf("demo: you typed '%c'\n", c);
		else
			rt_printf("demo: you typed byte 0x%02x\n", (u8)c);
	}
}

void guest_main(void)
{
	u32 last = 0;

	rt_printf("demo: hello from a guest of the hv hypervisor (command line: '%s')\n",
		  rt_cmdline());
	rt_printf("demo: type into this console; Ctrl-] returns to the hv shell\n");
	rt_set_irq_handler(TIMER_VECTOR, timer_irq);
	lapic_enable();
	lapic_timer_start(TIMER_VECTOR, LAPIC_TIMER_PERIODIC, LAPIC_DIV_1,
			  timer_khz() * (1000 / TICKS_PER_SECOND));
	for (;;) {
		u32 now;

		sti_hlt();
		cli();
		echo_input();
		now = READ_ONCE(ticks);
		if (now / TICKS_PER_SECOND != last / TICKS_PER_SECOND)
			rt_printf("demo: tick %u\n", now / TICKS_PER_SECOND);
		last = now;
	}
}
