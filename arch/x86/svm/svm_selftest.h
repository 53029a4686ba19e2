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
 * SVM is not usable here. Without `triple_fault` the triple-fault check is
 * left out: Bochs 2.7 built with its debugger stops the whole emulator at a
 * guest's triple fault instead of taking the SHUTDOWN intercept.
 */
int svm_selftest(bool triple_fault, selftest_say_fn say, void *ctx);

#endif
