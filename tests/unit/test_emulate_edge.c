/* Emulator edge cases: faults, REP budget, partial REP, callback errors, random bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "hv/decode.h"
#include "hv/emulate.h"

#define DATA_SIZE 0x2000
#define FL_ALL X86_RFLAGS_ARITH

/* Guest memory is one buffer at a fixed guest address; anything else is a #PF. */
static uint8_t emu_mem[DATA_SIZE];
static const uint64_t data_base = 0x7000000;
static uint64_t rng = 0x13198A2E03707344ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned int rnd_below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

static uint64_t rnd_value(void)
{
	return rnd_below(3) ? rnd() : rnd() & 0xFF;
}

static int mem_read(struct x86_emu_ctx *ctx, u64 gva, void *buf, unsigned int size)
{
	if (gva - data_base >= DATA_SIZE || DATA_SIZE - (gva - data_base) < size)
		return x86_emu_raise(ctx, X86_VEC_PF, true, 0, gva);
	memcpy(buf, emu_mem + (gva - data_base), size);
	return 0;
}

static int mem_write(struct x86_emu_ctx *ctx, u64 gva, const void *buf, unsigned int size)
{
	if (gva - data_base >= DATA_SIZE || DATA_SIZE - (gva - data_base) < size)
		return x86_emu_raise(ctx, X86_VEC_PF, true, 2, gva);
	memcpy(emu_mem + (gva - data_base), buf, size);
	return 0;
}

static void init_ctx(struct x86_emu_ctx *ctx, enum x86_mode mode)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->mode = mode;
	ctx->read_mem = mem_read;
	ctx->write_mem = mem_write;
	ctx->rep_limit = 1u << 20;
}

static int emulate_hex(struct x86_emu_ctx *ctx, const uint8_t *b, size_t n)
{
	struct x86_insn insn;
	int err = x86_decode(b, n, ctx->mode, &insn);

	return err ? err : x86_emulate(ctx, &insn);
}

static void test_faults(void **state)
{
	static const uint8_t mov_store[] = { 0x89, 0x18 };	     /* mov [rax], ebx */
	static const uint8_t mov_rbp[] = { 0x89, 0x5D, 0x00 };	     /* mov [rbp+0], ebx */
	static const uint8_t cpuid[] = { 0x0F, 0xA2 };
	static const uint8_t cx16[] = { 0x48, 0x0F, 0xC7, 0x08 };   /* cmpxchg16b [rax] */
	struct x86_emu_ctx ctx;

	(void)state;
	init_ctx(&ctx, X86_MODE_64);
	ctx.rip = 0x1000;
	ctx.gpr[X86_RAX] = data_base + DATA_SIZE - 2; /* 4-byte store crosses the end */
	ctx.gpr[X86_RBX] = 0x11223344;
	assert_int_equal(emulate_hex(&ctx, mov_store, sizeof(mov_store)), -EIO);
	assert_true(ctx.fault.valid);
	assert_int_equal(ctx.fault.vector, X86_VEC_PF);
	assert_int_equal(ctx.fault.address, data_base + DATA_SIZE - 2);
	assert_int_equal(ctx.rip, 0x1000);
	ctx.gpr[X86_RAX] = 0x0000800000000000ull; /* non-canonical */
	assert_int_equal(emulate_hex(&ctx, mov_store, sizeof(mov_store)), -EIO);
	assert_int_equal(ctx.fault.vector, X86_VEC_GP);
	ctx.gpr[X86_RBP] = 0xFFFF7FFFFFFFFFFFull;
	assert_int_equal(emulate_hex(&ctx, mov_rbp, sizeof(mov_rbp)), -EIO);
	assert_int_equal(ctx.fault.vector, X86_VEC_SS);
	assert_int_equal(emulate_hex(&ctx, cpuid, sizeof(cpuid)), -ENOSYS);
	assert_int_equal(ctx.rip, 0x1000);
	ctx.gpr[X86_RAX] = data_base + 0x808; /* not 16-byte aligned */
	assert_int_equal(emulate_hex(&ctx, cx16, sizeof(cx16)), -EIO);
	assert_int_equal(ctx.fault.vector, X86_VEC_GP);
	ctx.mode = X86_MODE_32;
	{
		struct x86_insn insn;

		assert_int_equal(x86_decode(mov_store, 2, X86_MODE_64, &insn), 0);
		assert_int_equal(x86_emulate(&ctx, &insn), -EINVAL);
	}
}

static int failing_write(struct x86_emu_ctx *ctx, u64 gva, const void *buf, unsigned int size)
{
	(void)ctx;
	(void)gva;
	(void)buf;
	(void)size;
	return -ENODEV;
}

static void test_rep_limit_and_partial_fault(void **state)
{
	static const uint8_t rep_stosb[] = { 0xF3, 0xAA };
	static const uint8_t rep_movsd[] = { 0xF3, 0xA5 };
	struct x86_emu_ctx ctx;
	int rounds = 0;

	(void)state;
	init_ctx(&ctx, X86_MODE_64);
	ctx.rep_limit = 100;
	ctx.rip = 0x2000;
	ctx.gpr[X86_RCX] = 1000;
	ctx.gpr[X86_RDI] = data_base;
	ctx.gpr[X86_RAX] = 0x5A;
	do {
		assert_int_equal(emulate_hex(&ctx, rep_stosb, sizeof(rep_stosb)), 0);
		rounds++;
		if (ctx.gpr[X86_RCX])
			assert_int_equal(ctx.rip, 0x2000); /* re-executed by the guest */
	} while (ctx.gpr[X86_RCX] && rounds < 20);
	assert_int_equal(rounds, 10);
	assert_int_equal(ctx.rip, 0x2002);
	assert_int_equal(ctx.gpr[X86_RDI], data_base + 1000);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(emu_mem[i], 0x5A);
	/* A fault in iteration 5 leaves the first 4 done and RIP on the instruction. */
	ctx.rip = 0x3000;
	ctx.gpr[X86_RCX] = 10;
	ctx.gpr[X86_RSI] = data_base;
	ctx.gpr[X86_RDI] = data_base + DATA_SIZE - 16;
	assert_int_equal(emulate_hex(&ctx, rep_movsd, sizeof(rep_movsd)), -EIO);
	assert_int_equal(ctx.gpr[X86_RCX], 6);
	assert_int_equal(ctx.gpr[X86_RDI], data_base + DATA_SIZE);
	assert_int_equal(ctx.gpr[X86_RSI], data_base + 16);
	assert_int_equal(ctx.rip, 0x3000);
	/* A callback's own error comes back unchanged, without a fault. */
	ctx.write_mem = failing_write;
	ctx.gpr[X86_RDI] = data_base;
	assert_int_equal(emulate_hex(&ctx, rep_stosb, sizeof(rep_stosb)), -ENODEV);
	assert_false(ctx.fault.valid);
}

/* Random bytes through decode and emulate: no crash, only documented results. */
static void test_random_robustness(void **state)
{
	static const uint8_t starts[] = { 0x00, 0x01, 0x02, 0x03, 0x08, 0x0F, 0x20, 0x30, 0x38, 0x63,
					  0x80, 0x81, 0x83, 0x84, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B,
					  0xA0, 0xA1, 0xA3, 0xA4, 0xA5, 0xAA, 0xAB, 0xAD, 0xC6, 0xC7,
					  0xF6, 0xF7, 0xFE, 0xFF, 0xF3, 0x66, 0x67, 0x48 };
	static const uint8_t twobyte[] = { 0xA3, 0xAB, 0xB0, 0xB1, 0xB3, 0xB6, 0xB7, 0xBA, 0xBB,
					   0xBE, 0xBF, 0xC0, 0xC1, 0xC3, 0xC7 };
	static const enum x86_mode modes[3] = { X86_MODE_16, X86_MODE_32, X86_MODE_64 };
	unsigned long emulated = 0, ok = 0;
	uint8_t b[16];

	(void)state;
	for (int iter = 0; iter < 300000; iter++) {
		struct x86_emu_ctx ctx;
		struct x86_insn insn;
		int err;

		for (int i = 0; i < 16; i++)
			b[i] = (uint8_t)rnd();
		if (iter & 1)
			b[0] = starts[rnd_below(sizeof(starts))];
		if (b[0] == 0x0F && (iter & 2))
			b[1] = twobyte[rnd_below(sizeof(twobyte))];
		init_ctx(&ctx, modes[iter % 3]);
		ctx.rep_limit = 64;
		for (int r = 0; r < 16; r++)
			ctx.gpr[r] = rnd_below(2) ? data_base + rnd_below(DATA_SIZE) : rnd_value();
		for (int s = 0; s < 6; s++)
			ctx.seg_base[s] = modes[iter % 3] == X86_MODE_64 ? rnd_value() : 0;
		ctx.rflags = rnd() & (FL_ALL | X86_RFLAGS_DF);
		ctx.rip = rnd();
		if (x86_decode(b, sizeof(b), ctx.mode, &insn))
			continue;
		emulated++;
		err = x86_emulate(&ctx, &insn);
		if (err != 0 && err != -ENOSYS && err != -EIO)
			fail_msg("emulate returned %d", err);
		if (err == -EIO && !ctx.fault.valid)
			fail_msg("-EIO without a fault");
		ok += err == 0;
	}
	printf("robustness: %lu decoded, %lu emulated without fault\n", emulated, ok);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_rep_limit_and_partial_fault),
		cmocka_unit_test(test_random_robustness),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
