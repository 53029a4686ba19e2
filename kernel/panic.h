/* Stopping the system on a broken invariant of the hypervisor itself. */
#ifndef HV_KERNEL_PANIC_H
#define HV_KERNEL_PANIC_H

#include "lib/types.h"

/* Print the message and a stack trace, stop all other CPUs, halt. Never returns. */
void panic(const char *fmt, ...) __printf(1, 2) __noreturn;

/*
 * The two halves of panic() for the exception path, which prints its own
 * register dump in between. panic_begin() stops the other CPUs (NMI) and puts
 * the log into panic mode; it returns false when a stop is already under way
 * (another CPU panicked, or this one panicked again while reporting): the
 * caller must then just halt. panic_halt() prints the final line and halts.
 */
bool panic_begin(void);
void panic_halt(const char *why) __noreturn;

#define BUG_ON(cond)                                                             \
	do {                                                                     \
		if (unlikely(cond))                                              \
			panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__); \
	} while (0)

#endif
