/* Self-test of the SVM backend with tiny built-in guests (the `selftest svm` command). */
#ifndef HV_SVM_SVM_SELFTEST_H
#define HV_SVM_SVM_SELFTEST_H

#include "kernel/selftest.h"

/*
 * Runs guests in real mode, 32-bit protected mode without paging and 64-bit
 * mode directly on the backend (not through the core's run loop): exit
 * decoding, register round trips, events and the interrupt window, NPF for
 * unmapped GPAs, triple fault, host interrupts while a guest spins with
 * interrupts off, and vCPU threads migrating between CPUs (ASIDs). Prints
 * one PASS/FAIL line per check and a summary with the measured exit rate.
 * Thread context (it sleeps). Returns the number of failed checks, or 1 if
 * SVM is not usable here. `bochs` leaves out two checks Bochs 2.7 cannot
 * pass: its debugger build stops the whole emulator at a guest's triple fault
 * (before the SHUTDOWN intercept is checked), and VMRUN of a guest with
 * RFLAGS.IF=0 masks host interrupts until the guest changes IF (the mask is
 * computed before Bochs marks the CPU as in guest mode), so an IF=0 spin
 * never exits there.
 */
int svm_selftest(bool bochs, selftest_say_fn say, void *ctx);

#endif
