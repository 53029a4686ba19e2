/* Interrupt/exception entry: the saved register frame and handler registration. */
#ifndef HV_ASM_TRAP_H
#define HV_ASM_TRAP_H

#include "lib/types.h"

/*
 * Built by the entry stubs in arch/x86/vectors.asm. Layout is fixed: the stubs
 * push r15..rax in this order after the vector and error code (offsets are
 * checked by _Static_assert in trap.c).
 */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector;
	u64 error_code; /* 0 for vectors without one */
	/* pushed by the CPU */
	u64 rip, cs, rflags, rsp, ss;
};

typedef void (*irq_handler_fn)(struct trap_frame *tf);

/* Route a vector (>= 0x20) to a handler. The handler runs with IRQs off; EOI is the handler's job. */
void trap_set_handler(u8 vector, irq_handler_fn fn);

/* Load the IDT on this CPU (the table is shared); idt_init() builds it once. */
void idt_init(void);
void idt_load(void);

/* Print registers and a symbolized stack trace of a frame (to LOG_EMERG). */
void trap_dump_frame(const struct trap_frame *tf);

/* Print a symbolized trace starting at frame pointer rbp. */
void dump_stack_from(u64 rip, u64 rbp);
void dump_stack(void);

/* Set once a CPU has started stopping the system: NMIs then halt every CPU. */
extern bool system_stopping;

#endif
