/* Deliberate faults for testing the fatal-error path (the `crash` shell command). */
#ifndef HV_KERNEL_DEBUG_H
#define HV_KERNEL_DEBUG_H

/*
 * Trigger the fault named by `kind`: "pf" (write to an unmapped address),
 * "gp" (non-canonical access), "ud" (invalid opcode), "de" (divide by zero),
 * "panic" (a panic() call). Returns -EINVAL for an unknown kind; otherwise
 * does not return.
 */
int debug_crash(const char *kind);
/* The list of kinds, for help text. */
#define DEBUG_CRASH_KINDS "pf|gp|ud|de|panic"

#endif
