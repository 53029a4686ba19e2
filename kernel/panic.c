/* panic(): report and stop the whole machine. */
#include "kernel/panic.h"
#include "kernel/log.h"
#include "lib/printf.h"
#include "asm/cpu.h"

void panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	irq_disable();
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printk(LOG_EMERG, "PANIC: %s\n", msg);
	printk(LOG_EMERG, "system halted\n");
	for (;;)
		cpu_halt();
}
