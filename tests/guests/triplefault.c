/* Test guest "triplefault": prints a line, loads an empty IDT and faults: the VM must crash. */
#include "rt/rt.h"
#include "rt/cpu.h"

void guest_main(void)
{
	struct {
		u16 limit;
		u32 base;
	} __packed empty = { 0, 0 };

	rt_printf("triplefault: loading an empty IDT and executing ud2\n");
	cli();
	/* #UD cannot be delivered (limit 0) -> #GP -> #DF -> shutdown. */
	__asm__ __volatile__("lidt %0; ud2" : : "m"(empty));
	rt_fail("triplefault: still running after the triple fault");
}
