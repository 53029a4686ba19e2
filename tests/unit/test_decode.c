/* x86 decoder: hand-checked lengths, fields and error codes (values from the SDM tables). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "hv/decode.h"

struct len_case {
	int mode;
	int len; /* expected length, or negative error */
	const char *hex;
};

static size_t parse_hex(const char *s, uint8_t *out)
{
	size_t n = 0;
	unsigned int v;
	int used;

	while (sscanf(s, " %2x%n", &v, &used) == 1) {
		out[n++] = (uint8_t)v;
		s += used;
	}
	return n;
}

static int decode_hex(int mode, const char *hex, struct x86_insn *in)
{
	uint8_t b[32];
	size_t n = parse_hex(hex, b);

	return x86_decode(b, n, (enum x86_mode)mode, in);
}

/* Exit-relevant instructions, addressing forms and immediates with known lengths. */
static const struct len_case len_cases[] = {
	{ 64, 2, "0f a2" },		      /* CPUID */
	{ 64, 1, "f4" },		      /* HLT */
	{ 64, 3, "0f 01 d9" },		      /* VMMCALL */
	{ 64, 3, "0f 01 c1" },		      /* VMCALL */
	{ 64, 2, "0f 32" },		      /* RDMSR */
	{ 64, 2, "0f 30" },		      /* WRMSR */
	{ 64, 3, "0f 22 d8" },		      /* MOV CR3, RAX */
	{ 64, 4, "44 0f 22 c0" },	      /* MOV CR8, RAX */
	{ 64, 3, "0f 20 00" },		      /* MOV RAX, CR0: mod ignored, no disp */
	{ 64, 3, "0f 22 45" },		      /* mod=01 still no disp8 */
	{ 32, 3, "0f 20 e0" },		      /* MOV EAX, CR4 */
	{ 64, 3, "0f 01 f9" },		      /* RDTSCP */
	{ 64, 3, "0f 01 38" },		      /* INVLPG [RAX] */
	{ 64, 2, "f3 90" },		      /* PAUSE */
	{ 64, 3, "0f 01 d8" },		      /* VMRUN */
	{ 64, 2, "89 00" },		      /* MOV [RAX], EAX */
	{ 64, 3, "8b 04 24" },		      /* MOV EAX, [RSP] (SIB) */
	{ 64, 4, "8b 44 24 08" },	      /* disp8 */
	{ 64, 7, "8b 84 24 00 01 00 00" },    /* disp32 */
	{ 64, 6, "8b 05 00 10 00 00" },	      /* RIP-relative */
	{ 64, 7, "8b 04 25 00 10 00 00" },    /* SIB no base, no index: absolute */
	{ 64, 3, "8b 45 00" },		      /* [RBP+0] needs disp8 */
	{ 64, 4, "41 8b 45 00" },	      /* [R13+0] too */
	{ 64, 4, "41 8b 04 24" },	      /* [R12] needs SIB */
	{ 64, 10, "48 b8 01 02 03 04 05 06 07 08" }, /* MOV RAX, imm64 */
	{ 64, 5, "b8 01 02 03 04" },	      /* MOV EAX, imm32 */
	{ 64, 4, "66 b8 01 02" },	      /* MOV AX, imm16 */
	{ 64, 7, "48 c7 00 01 02 03 04" },    /* MOV QWORD [RAX], imm32 */
	{ 64, 9, "a1 01 02 03 04 05 06 07 08" }, /* MOV EAX, moffs64 */
	{ 64, 6, "67 a1 01 02 03 04" },	      /* moffs32 with 67 */
	{ 32, 5, "a1 01 02 03 04" },	      /* moffs32 */
	{ 32, 4, "67 a1 01 02" },	      /* moffs16 */
	{ 16, 3, "a1 01 02" },		      /* moffs16 */
	{ 16, 2, "8b 00" },		      /* MOV AX, [BX+SI] */
	{ 16, 4, "8b 06 34 12" },	      /* MOV AX, [1234h] */
	{ 16, 3, "8b 46 fe" },		      /* MOV AX, [BP-2] */
	{ 16, 4, "8b 86 00 10" },	      /* disp16 */
	{ 16, 4, "67 8b 04 24" },	      /* 32-bit addressing in 16-bit code */
	{ 32, 3, "67 8b 00" },		      /* 16-bit addressing in 32-bit code */
	{ 32, 6, "81 c0 01 02 03 04" },	      /* ADD EAX, imm32 */
	{ 32, 5, "66 81 c0 01 02" },	      /* ADD AX, imm16 */
	{ 16, 4, "81 c0 01 02" },	      /* ADD AX, imm16 */
	{ 16, 7, "66 81 c0 01 02 03 04" },    /* ADD EAX, imm32 */
	{ 64, 3, "83 c0 01" },		      /* ADD EAX, imm8 */
	{ 64, 3, "f6 00 01" },		      /* TEST BYTE [RAX], imm8 */
	{ 64, 6, "f7 00 01 02 03 04" },	      /* TEST DWORD [RAX], imm32 */
	{ 64, 2, "f7 18" },		      /* NEG DWORD [RAX]: no immediate */
	{ 64, 4, "c8 10 00 01" },	      /* ENTER */
	{ 64, 3, "c2 08 00" },		      /* RET imm16 */
	{ 32, 7, "9a 01 02 03 04 05 06" },    /* CALL far ptr16:32 */
	{ 16, 5, "ea 01 02 03 04" },	      /* JMP far ptr16:16 */
	{ 64, 5, "e8 01 02 03 04" },	      /* CALL rel32 */
	{ 64, 4, "66 e8 01 02" },	      /* CALL rel16 (AMD semantics) */
	{ 16, 3, "e8 01 02" },		      /* CALL rel16 */
	{ 64, 6, "0f 84 01 02 03 04" },	      /* JE rel32 */
	{ 64, 4, "0f ba 20 05" },	      /* BT DWORD [RAX], 5 */
	{ 64, 3, "0f a3 08" },		      /* BT [RAX], ECX */
	{ 64, 3, "0f b6 00" },		      /* MOVZX EAX, BYTE [RAX] */
	{ 64, 4, "48 0f bf 00" },	      /* MOVSX RAX, WORD [RAX] */
	{ 64, 3, "48 63 00" },		      /* MOVSXD */
	{ 64, 3, "f3 48 a5" },		      /* REP MOVSQ */
	{ 64, 2, "f3 aa" },		      /* REP STOSB */
	{ 64, 4, "f0 0f c7 08" },	      /* LOCK CMPXCHG8B [RAX] */
	{ 64, 6, "66 0f 3a 0f c1 08" },	      /* PALIGNR imm8 */
	{ 64, 4, "0f 0f c1 9e" },	      /* 3DNow! PFADD */
	{ 64, 3, "c5 f8 77" },		      /* VZEROUPPER: no ModRM */
	{ 64, 4, "c5 f9 6f c1" },	      /* VMOVDQA xmm0, xmm1 */
	{ 64, 6, "c4 e3 79 0f c1 08" },	      /* VPALIGNR imm8 */
	{ 64, 6, "62 f1 7c 48 10 00" },	      /* EVEX VMOVUPS zmm0, [rax] */
	{ 64, 7, "62 f1 7c 48 10 40 01" },    /* EVEX with disp8*N */
	{ 32, 2, "c5 00" },		      /* LDS in 32-bit mode (mod != 3) */
	{ 32, 3, "c5 f8 77" },		      /* VEX in 32-bit mode (mod = 3) */
	{ 64, 6, "8f e8 78 c0 c1 05" },	      /* XOP VPROTB imm8 */
	{ 64, 2, "8f c0" },		      /* POP RAX via 8F /0 */
	{ 64, 6, "66 0f 78 c0 01 02" },	      /* EXTRQ xmm0, imm, imm */
	{ 64, 3, "0f 78 c0" },		      /* VMREAD */
	{ 64, 15, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 90" },
	{ 64, -E2BIG, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90" },
	{ 64, -E2BIG, "66 66 66 66 66 66 66 66 66 66 48 c7 84 24 00 01 00 00 01 02 03 04" },
	{ 64, -EINVAL, "06" },		      /* PUSH ES */
	{ 64, -EINVAL, "9a 01 02 03 04 05 06" },
	{ 64, -EINVAL, "d4 0a" },	      /* AAM */
	{ 32, 2, "d4 0a" },
	{ 64, -EINVAL, "0f 0b" },	      /* UD2 */
	{ 64, -EINVAL, "f0 01 c0" },	      /* LOCK with a register destination */
	{ 64, -EINVAL, "f0 8b 00" },	      /* LOCK MOV */
	{ 64, 3, "f0 01 00" },		      /* LOCK ADD [RAX], EAX */
	{ 64, -EINVAL, "8d c0" },	      /* LEA with a register */
	{ 64, -EINVAL, "ff f8" },	      /* FF /7 */
	{ 64, -EINVAL, "66 c5 f8 77" },	      /* 66 before VEX */
	{ 64, -EINVAL, "c4 e0 79 00 c0" },    /* VEX map 0 */
	{ 64, -EAGAIN, "8b" },
	{ 64, -EAGAIN, "8b 84 24 00 01" },
	{ 64, -EAGAIN, "66" },
	{ 64, -EAGAIN, "" },
};

static void check_len_case(const struct len_case *c)
{
	struct x86_insn in;
	int err = decode_hex(c->mode, c->hex, &in);
	int got = err ? err : in.len;

	if (got != c->len)
		fail_msg("%d-bit [%s]: got %d, want %d", c->mode, c->hex, got, c->len);
}

static void test_lengths(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(len_cases) / sizeof(len_cases[0]); i++)
		check_len_case(&len_cases[i]);
}

static void test_fields_64(void **state)
{
	struct x86_insn in;

	(void)state;
	/* MOV R9, [R12 + R13*4 + 0x12345678] */
	assert_int_equal(decode_hex(64, "4f 8b 8c ac 78 56 34 12", &in), 0);
	assert_int_equal(in.len, 8);
	assert_int_equal(in.opsize, 8);
	assert_int_equal(in.adsize, 8);
	assert_int_equal(in.reg, X86_R9);
	assert_int_equal(in.base, X86_R12);
	assert_int_equal(in.index, X86_R13);
	assert_int_equal(in.scale, 4);
	assert_int_equal(in.disp, 0x12345678);
	assert_int_equal(in.disp_size, 4);
	assert_true(in.has_mem && in.has_sib && !in.rip_rel);
	assert_int_equal(in.op, X86_OP_MOV);
	/* ADD BYTE [RIP-8], 0x7F with FS override and LOCK */
	assert_int_equal(decode_hex(64, "f0 64 80 05 f8 ff ff ff 7f", &in), 0);
	assert_true(in.rip_rel);
	assert_int_equal(in.base, -1);
	assert_int_equal(in.disp, -8);
	assert_int_equal(in.seg, X86_SEG_FS);
	assert_int_equal(in.opsize, 1);
	assert_int_equal(in.imm, 0x7F);
	assert_int_equal(in.imm_size, 1);
	assert_true(in.prefixes & X86_PFX_LOCK);
	assert_int_equal(in.op, X86_OP_ADD);
	/* 66 then REX.W: REX.W wins; a REX before 66 is dropped. */
	assert_int_equal(decode_hex(64, "66 48 89 00", &in), 0);
	assert_int_equal(in.opsize, 8);
	assert_int_equal(decode_hex(64, "48 66 89 00", &in), 0);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(in.rex, 0);
	/* SIB index 100b means none, but REX.X makes it R12. */
	assert_int_equal(decode_hex(64, "8b 04 20", &in), 0);
	assert_int_equal(in.index, -1);
	assert_int_equal(decode_hex(64, "42 8b 04 20", &in), 0);
	assert_int_equal(in.index, X86_R12);
	/* moffs */
	assert_int_equal(decode_hex(64, "48 a3 88 77 66 55 44 33 22 11", &in), 0);
	assert_int_equal((uint64_t)in.disp, 0x1122334455667788ull);
	assert_int_equal(in.opsize, 8);
	assert_true(in.has_mem);
	assert_int_equal(in.base, -1);
	/* PUSH defaults to 64-bit; 66 gives 16. */
	assert_int_equal(decode_hex(64, "ff 30", &in), 0);
	assert_int_equal(in.opsize, 8);
	assert_int_equal(decode_hex(64, "66 ff 30", &in), 0);
	assert_int_equal(in.opsize, 2);
	/* BT group and CMPXCHG16B */
	assert_int_equal(decode_hex(64, "48 0f ba 38 3f", &in), 0);
	assert_int_equal(in.op, X86_OP_BTC);
	assert_int_equal(decode_hex(64, "f0 48 0f c7 0f", &in), 0);
	assert_int_equal(in.op, X86_OP_CMPXCHG8B);
	assert_int_equal(in.opsize, 8);
}

static void test_fields_16_32(void **state)
{
	struct x86_insn in;

	(void)state;
	/* MOV AX, [BP+DI-2]: base BP, index DI */
	assert_int_equal(decode_hex(16, "8b 43 fe", &in), 0);
	assert_int_equal(in.adsize, 2);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(in.base, X86_RBP);
	assert_int_equal(in.index, X86_RDI);
	assert_int_equal(in.disp, -2);
	/* [disp16] has neither base nor index */
	assert_int_equal(decode_hex(16, "8b 36 34 12", &in), 0);
	assert_int_equal(in.base, -1);
	assert_int_equal(in.index, -1);
	assert_int_equal(in.disp, 0x1234);
	assert_int_equal(in.reg, X86_RSI);
	/* 32-bit: no REX, 40-4F are INC/DEC; disp32 form is absolute, not RIP-relative */
	assert_int_equal(decode_hex(32, "48", &in), 0);
	assert_int_equal(in.len, 1);
	assert_int_equal(decode_hex(32, "8b 05 00 10 00 00", &in), 0);
	assert_false(in.rip_rel);
	assert_int_equal(in.base, -1);
	assert_int_equal(decode_hex(32, "66 a5", &in), 0);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(in.op, X86_OP_MOVS);
	assert_int_equal(decode_hex(16, "66 a5", &in), 0);
	assert_int_equal(in.opsize, 4);
	/* segment override, last one wins */
	assert_int_equal(decode_hex(32, "26 2e 89 00", &in), 0);
	assert_int_equal(in.seg, X86_SEG_CS);
}

/* Every prefix of a decodable instruction asks for more bytes; the full one decodes the same. */
static void test_truncation(void **state)
{
	uint64_t x = 0x123456789ABCDEFull;
	uint8_t b[16];
	unsigned long decoded = 0;

	(void)state;
	for (int iter = 0; iter < 200000; iter++) {
		struct x86_insn full, part;
		static const enum x86_mode modes[3] = { X86_MODE_16, X86_MODE_32, X86_MODE_64 };
		enum x86_mode mode = modes[iter % 3];

		for (int i = 0; i < 16; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			b[i] = (uint8_t)x;
		}
		if (x86_decode(b, 16, mode, &full))
			continue;
		decoded++;
		for (size_t n = 0; n < full.len; n++) {
			int err = x86_decode(b, n, mode, &part);

			if (err != -EAGAIN && err != -EINVAL)
				fail_msg("avail %zu of %u: %d", n, full.len, err);
		}
		assert_int_equal(x86_decode(b, full.len, mode, &part), 0);
		assert_memory_equal(&part, &full, sizeof(part));
	}
	printf("truncation: %lu decoded instructions checked\n", decoded);
}

static void test_describe(void **state)
{
	struct x86_insn in;
	char buf[96];

	(void)state;
	assert_int_equal(decode_hex(64, "0f 01 d9", &in), 0);
	x86_insn_describe(&in, buf, sizeof(buf));
	assert_string_equal(buf, "0f 01 d9 (64-bit 0f 01 vmmcall)");
	x86_insn_describe(&in, buf, 6);
	assert_string_equal(buf, "0f 01");
	assert_string_equal(x86_op_name(X86_OP_COUNT + 5), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_fields_64),
		cmocka_unit_test(test_fields_16_32),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
