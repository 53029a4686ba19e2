/* Built-in self-tests of the scheduler and SMP code (for the `selftest` command). */
#ifndef HV_KERNEL_SELFTEST_H
#define HV_KERNEL_SELFTEST_H

#include "lib/types.h"

typedef void (*selftest_say_fn)(void *ctx, const char *line);

/*
 * Run the scheduler/SMP checks from a thread context; each check reports one
 * "PASS: ..." or "FAIL: ..." line through say(), then a summary line.
 * Returns the number of failed checks.
 */
int selftest_sched(selftest_say_fn say, void *ctx);

#endif
