/* Test guest "spin": prints a line, disables interrupts and spins forever (the VM must be preempted). */
#include "rt/rt.h"
#include "rt/cpu.h"

void guest_main(void)
{
	volatile u32 counter = 0;

	rt_printf("spin: spinning forever with interrupts off\n");
	cli();
	for (;;)
		counter++;
}
