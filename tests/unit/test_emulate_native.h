/* Host-CPU oracle for the emulator tests: runs one instruction natively with a chosen register file. */
#ifndef HV_TESTS_UNIT_TEST_EMULATE_NATIVE_H
#define HV_TESTS_UNIT_TEST_EMULATE_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Register file in and out of a native run (x86-64 user mode on the test host). */
struct native_regs {
	uint64_t gpr[16];
	uint64_t rflags;
};

/*
 * Map the code page and a data area below 2 GiB (so disp32, RIP-relative and
 * 32-bit addressing reach it). Returns the data area of data_size bytes, or NULL.
 */
uint8_t *native_init(size_t data_size);

/* Address the instruction will run at (for RIP-relative operands). */
uint64_t native_insn_addr(void);

/*
 * Execute bytes[0..len) once with regs loaded (RFLAGS arithmetic bits, DF), then
 * store the registers back. Returns false (and leaves regs undefined) when the
 * instruction faulted: a test bug, reported by the caller.
 */
bool native_run(const uint8_t *bytes, size_t len, struct native_regs *regs);

#endif
