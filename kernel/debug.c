/* Deliberate faults: they exercise exception reports and the system stop. */
#include "kernel/debug.h"
#include "kernel/panic.h"
#include "lib/string.h"

/* Kept out of line so the faulting function shows up in the stack trace. */
static __attribute__((noinline)) void crash_page_fault(void)
{
	/* Canonical, in a PML4 slot the hypervisor never maps. */
	*(volatile u64 *)0xfffffe0000000000ULL = 0xdead;
}

static __attribute__((noinline)) void crash_general_protection(void)
{
	*(volatile u64 *)0x8000000000000000ULL = 0xdead;
}

static __attribute__((noinline)) void crash_invalid_opcode(void)
{
	__asm__ __volatile__("ud2");
}

static __attribute__((noinline)) void crash_divide_error(void)
{
	u32 zero = 0;

	/* In assembly: a C division by zero is undefined and may be optimized away. */
	__asm__ __volatile__("xorl %%edx, %%edx\n\tmovl $1, %%eax\n\tdivl %0"
			     : : "r"(zero) : "rax", "rdx");
}

int debug_crash(const char *kind)
{
	if (!strcmp(kind, "pf"))
		crash_page_fault();
	else if (!strcmp(kind, "gp"))
		crash_general_protection();
	else if (!strcmp(kind, "ud"))
		crash_invalid_opcode();
	else if (!strcmp(kind, "de"))
		crash_divide_error();
	else if (!strcmp(kind, "panic"))
		panic("deliberate panic requested by 'crash panic'");
	else
		return -EINVAL;
	panic("debug_crash(%s): the fault did not happen", kind);
}
