/* panic(): report, stop every other CPU by NMI, halt. */
#include "kernel/panic.h"
#include "kernel/log.h"
#include "lib/printf.h"
#include "asm/cpu.h"
#include "asm/irq_vectors.h"
#include "asm/lapic.h"
#include "asm/percpu.h"
#include "asm/trap.h"

static bool lapic_ready(void)
{
	/* Before the LAPIC is set up there is only the boot CPU to stop. */
	return nr_cpus > 1;
}

bool panic_begin(void)
{
	bool expected = false;

	irq_disable();
	if (!__atomic_compare_exchange_n(&system_stopping, &expected, true, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return false;
	log_enter_panic();
	if (lapic_ready())
		lapic_send_ipi_all_but_self(0, APIC_DM_NMI);
	return true;
}

void panic_halt(const char *why)
{
	printk(LOG_EMERG, "system halted: %s\n", why);
	for (;;) {
		irq_disable();
		cpu_halt();
	}
}

void panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!panic_begin()) {
		for (;;)
			cpu_halt();
	}
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printk(LOG_EMERG, "PANIC on CPU %u: %s\n", cpu_id(), msg);
	dump_stack();
	panic_halt("panic");
}
