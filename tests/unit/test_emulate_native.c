/* Host-CPU oracle: a generated stub loads a register file, runs one instruction, stores the result. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "tests/unit/test_emulate_native.h"

#define CODE_SIZE 4096

struct native_state {
	uint64_t gpr[16];
	uint64_t rflags;
	uint64_t host_rsp;
};

static uint8_t *code;
static struct native_state *st;
static size_t insn_off;
static sigjmp_buf fault_env;
static volatile sig_atomic_t in_native;

static void put(uint8_t **p, const void *b, size_t n)
{
	memcpy(*p, b, n);
	*p += n;
}

static void put_abs(uint8_t **p, uint8_t op, const void *addr) /* 48 A1/A3 moffs64 */
{
	uint8_t b[2] = { 0x48, op };
	uint64_t a = (uint64_t)(uintptr_t)addr;

	put(p, b, 2);
	put(p, &a, 8);
}

static void on_fault(int sig)
{
	(void)sig;
	if (in_native)
		siglongjmp(fault_env, 1);
	abort();
}

uint8_t *native_init(size_t data_size)
{
	static const uint8_t save[] = { 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57,
					0x48, 0x89, 0xE0 };
	static uint8_t altstack[65536];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;
	uint8_t *data, *p;

	code = mmap(NULL, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	data = mmap(NULL, data_size + 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (code == MAP_FAILED || data == MAP_FAILED)
		return NULL;
	st = (struct native_state *)(data + data_size);
	p = code;
	put(&p, save, sizeof(save));		/* push callee-saved; mov rax, rsp */
	put_abs(&p, 0xA3, &st->host_rsp);
	put_abs(&p, 0xA1, &st->rflags);
	put(&p, "\x50\x9D", 2);			/* push rax; popfq */
	for (int r = 1; r < 16; r++) {
		uint8_t mov[3] = { (uint8_t)(0x48 | (r >= 8)), 0x89, (uint8_t)(0xC0 | (r & 7)) };

		put_abs(&p, 0xA1, &st->gpr[r]);
		put(&p, mov, 3);		/* mov r, rax */
	}
	put_abs(&p, 0xA1, &st->gpr[0]);
	insn_off = (size_t)(p - code);

	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_ONSTACK | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	return data;
}

uint64_t native_insn_addr(void)
{
	return (uint64_t)(uintptr_t)(code + insn_off);
}

static void emit_epilogue(uint8_t *p)
{
	static const uint8_t restore[] = { 0x9C, 0x58 }; /* pushfq; pop rax */
	static const uint8_t tail[] = { 0xFC, 0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C,
					0x5D, 0x5B, 0xC3 }; /* cld; pop callee-saved; ret */

	put_abs(&p, 0xA3, &st->gpr[0]);
	for (int r = 1; r < 16; r++) {
		uint8_t mov[3] = { (uint8_t)(0x48 | (r >= 8 ? 4 : 0)), 0x89, (uint8_t)(0xC0 | ((r & 7) << 3)) };

		put(&p, mov, 3);		/* mov rax, r */
		put_abs(&p, 0xA3, &st->gpr[r]);
	}
	put_abs(&p, 0xA1, &st->host_rsp);
	put(&p, "\x48\x89\xC4", 3);		/* mov rsp, rax */
	put(&p, restore, sizeof(restore));
	put_abs(&p, 0xA3, &st->rflags);
	put(&p, tail, sizeof(tail));
}

bool native_run(const uint8_t *bytes, size_t len, struct native_regs *regs)
{
	void (*fn)(void) = (void (*)(void))(uintptr_t)code;

	memcpy(code + insn_off, bytes, len);
	emit_epilogue(code + insn_off + len);
	memcpy(st->gpr, regs->gpr, sizeof(st->gpr));
	/* only status flags and DF; bit 1 is always one */
	st->rflags = (regs->rflags & 0xCD5) | 0x2;
	if (sigsetjmp(fault_env, 1)) {
		in_native = 0;
		__asm__ __volatile__("cld");
		return false;
	}
	in_native = 1;
	fn();
	in_native = 0;
	memcpy(regs->gpr, st->gpr, sizeof(st->gpr));
	regs->rflags = st->rflags;
	return true;
}
