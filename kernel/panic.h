/* Stopping the system on a broken invariant of the hypervisor itself. */
#ifndef HV_KERNEL_PANIC_H
#define HV_KERNEL_PANIC_H

#include "lib/types.h"

/* Print the message and a stack trace, stop all other CPUs, halt. Never returns. */
void panic(const char *fmt, ...) __printf(1, 2) __noreturn;

#define BUG_ON(cond)                                                             \
	do {                                                                     \
		if (unlikely(cond))                                              \
			panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__); \
	} while (0)

#endif
