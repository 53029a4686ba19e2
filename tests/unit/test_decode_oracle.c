/* Instruction lengths of hv/decode.c cross-checked against capstone on generated and random bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "hv/decode.h"
#include "tests/unit/test_decode_cs.h"

/* Outcome classes of one comparison. */
enum cmp_class {
	CMP_AGREE,	 /* both decode, same length */
	CMP_BOTH_REJECT, /* neither decodes */
	CMP_ONLY_US,	 /* we decode, capstone refuses (coverage gap of capstone or us) */
	CMP_ONLY_CS,	 /* capstone decodes, we refuse (#UD in our tables) */
	CMP_EXCEPTION,	 /* lengths differ in a documented capstone 4 defect */
	CMP_DISAGREE,	 /* lengths differ: a decoder bug unless documented */
	CMP_NCLASS,
};

static const char *const class_names[CMP_NCLASS] = {
	"agree", "both-reject", "only-ours", "only-capstone", "capstone-defect", "DISAGREE",
};

struct stats {
	unsigned long n[CMP_NCLASS];
	unsigned int printed[CMP_NCLASS];
};

static const enum x86_mode modes[3] = { X86_MODE_16, X86_MODE_32, X86_MODE_64 };
static unsigned int print_limit = 8;

static int oracle_setup(void **state)
{
	(void)state;
	if (getenv("DECODE_ORACLE_VERBOSE"))
		print_limit = (unsigned int)strtoul(getenv("DECODE_ORACLE_VERBOSE"), NULL, 0);
	return cs_oracle_open();
}

static int oracle_teardown(void **state)
{
	(void)state;
	cs_oracle_close();
	return 0;
}

/* Skip legacy prefixes and REX to find the first opcode byte. */
static size_t opcode_offset(const uint8_t *b, int mode)
{
	size_t i = 0;

	while (i < 15) {
		uint8_t c = b[i];

		if (c == 0x66 || c == 0x67 || c == 0xF0 || c == 0xF2 || c == 0xF3 || c == 0x26 ||
		    c == 0x2E || c == 0x36 || c == 0x3E || c == 0x64 || c == 0x65 ||
		    (mode == 64 && (c & 0xF0) == 0x40))
			i++;
		else
			break;
	}
	return i;
}

/*
 * Known defects of capstone 4.0.2 where it reports a length the CPU does not use
 * (each checked against the SDM/APM and binutils' objdump). Legacy prefixes work in
 * any order on the CPU; capstone's prefix handling depends on their order:
 *  1. A 66 prefix that is not the last prefix byte before an opcode with an Iz
 *     immediate (CALL rel E8, PUSH imm 68, ...) is dropped when F2/F3 or a segment
 *     prefix follows it: capstone reads 4 bytes where AMD CPUs, QEMU and objdump read 2.
 *  2. 66/F2 0F 78 (SSE4a EXTRQ/INSERTQ, two immediate bytes) decodes as VMREAD in
 *     16-bit mode, and in every mode when another prefix stands between 66/F2 and 0F.
 *  3. 64-bit mode, RET/RETF imm16 (C2/CA) with REX.W after a legacy prefix gets a
 *     4-byte immediate; it is always 2 bytes ("C2 iw"; objdump: "rex.W ret $imm16").
 *  4. 64-bit mode, CALL rel (E8) with 67 and REX.W gets rel16: 67 changes the address
 *     size only, REX.W gives 64-bit operand size and so rel32.
 *  5. EVEX register forms (ModRM.mod = 3) with EVEX.b set (static rounding {er}) come
 *     out one byte too long: the rounding control lives in EVEX.L'L.
 *  6. 16-bit mode, XOP map 0Ah (TBM BEXTR, LWP) gets a 2-byte immediate; it is always
 *     4 bytes ("/id" in AMD APM Vol. 3, these have 32/64-bit operands only).
 */
static bool capstone_defect(const uint8_t *b, int mode, const struct x86_insn *in, int cs_len)
{
	bool o16 = in->prefixes & X86_PFX_OPSIZE, rexw = in->rex & X86_REX_W;
	size_t op = opcode_offset(b, mode);
	int diff = cs_len - in->len;

	if (in->prefixes & X86_PFX_EVEX)
		return in->mod == 3 && (b[op + 3] & 0x10) && diff == 1;
	if (in->map == X86_MAP_XOPA)
		return mode == 16 && diff == -2;
	if (in->map == X86_MAP_0F && in->opcode == 0x78 && in->imm2_size)
		return diff == -2 &&
		       (mode == 16 || op == 0 || (b[op - 1] != 0x66 && b[op - 1] != 0xF2));
	if (in->map != X86_MAP_1B || op == 0)
		return false;
	if (o16 && !rexw && in->imm_size == 2 && diff == 2 && b[op - 1] != 0x66)
		return true;
	if (mode != 64)
		return false;
	if (in->opcode == 0xC2 || in->opcode == 0xCA)
		return rexw && in->num_prefixes > 0 && diff == 2;
	if (in->opcode == 0xE8)
		return rexw && (in->prefixes & X86_PFX_ADSIZE) && diff == -2;
	return false;
}

static void print_case(const char *what, const uint8_t *b, int mode, int ours, int theirs, int mi)
{
	char hex[64];
	size_t n = 0;

	for (int i = 0; i < 15; i++)
		n += snprintf(hex + n, sizeof(hex) - n, "%02x%s", b[i], i < 14 ? " " : "");
	char text[160] = "";

	if (theirs > 0)
		cs_oracle_length(mode, b, 15, text, sizeof(text));
	printf("  %s %d-bit [%s]: ours %d capstone %d (%s)\n", what, mode, hex, ours, theirs, text);
}

/* Compare one 15-byte window in one mode and count the outcome. */
static void compare_one(struct stats *st, const uint8_t *b, int mi)
{
	struct x86_insn in;
	int mode = modes[mi];
	int err = x86_decode(b, 15, modes[mi], &in);
	int cl = cs_oracle_length(mode, b, 15, NULL, 0);
	int ours = err ? err : in.len;
	enum cmp_class c;

	if (!err && in.len > 15)
		fail_msg("length %u > 15", in.len);
	if (err && err != -EINVAL && err != -E2BIG)
		fail_msg("unexpected error %d with 15 bytes available", err);
	if (err && cl < 0)
		c = CMP_BOTH_REJECT;
	else if (err)
		c = CMP_ONLY_CS;
	else if (cl < 0)
		c = CMP_ONLY_US;
	else if (cl == in.len)
		c = CMP_AGREE;
	else if (capstone_defect(b, mode, &in, cl))
		c = CMP_EXCEPTION;
	else
		c = CMP_DISAGREE;
	st->n[c]++;
	if ((c == CMP_DISAGREE || c == CMP_EXCEPTION || (print_limit > 8 && c >= CMP_ONLY_US)) &&
	    st->printed[c]++ < print_limit)
		print_case(class_names[c], b, mode, ours, cl, mi);
}

static void report(const char *name, const struct stats *st)
{
	printf("%s:", name);
	for (int c = 0; c < CMP_NCLASS; c++)
		printf(" %s=%lu", class_names[c], st->n[c]);
	printf("\n");
	if (st->n[CMP_DISAGREE])
		fail_msg("%s: %lu length disagreements with capstone", name, st->n[CMP_DISAGREE]);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill_random(uint8_t *b, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		b[i] = (uint8_t)rnd();
}

/* Prefix sets applied to generated encodings; 64-bit-only ones contain REX. */
static const struct {
	uint8_t len;
	uint8_t b[3];
	bool only64;
} prefix_sets[] = {
	{ 0, { 0 }, false },	       { 1, { 0x66 }, false },	     { 1, { 0x67 }, false },
	{ 2, { 0x66, 0x67 }, false },  { 1, { 0xF3 }, false },	     { 1, { 0xF2 }, false },
	{ 1, { 0xF0 }, false },	       { 1, { 0x2E }, false },	     { 1, { 0x65 }, false },
	{ 2, { 0xF3, 0x66 }, false },  { 1, { 0x48 }, true },	     { 1, { 0x41 }, true },
	{ 1, { 0x4F }, true },	       { 2, { 0x66, 0x48 }, true },  { 2, { 0x48, 0x66 }, true },
	{ 2, { 0x67, 0x44 }, true },   { 3, { 0xF0, 0x67, 0x4C }, true },
};

/* ModRM values that cover every mod, every rm special case and every reg. */
static const uint8_t modrm_sample[] = {
	0x00, 0x04, 0x05, 0x06, 0x0C, 0x15, 0x1E, 0x27, 0x28, 0x31, 0x3A, 0x3D,
	0x40, 0x44, 0x45, 0x4E, 0x53, 0x6F, 0x7C, 0x80, 0x84, 0x85, 0x96, 0xB4,
	0xBD, 0xC0, 0xC9, 0xD2, 0xDB, 0xE4, 0xED, 0xF6, 0xF8, 0xFF,
};
static const uint8_t sib_sample[] = { 0x00, 0x05, 0x24, 0x25, 0x65, 0xA5, 0xE4, 0xFD };

static void gen_one(struct stats *st, int mi, const uint8_t *pre, size_t plen, const uint8_t *op,
		    size_t olen, uint8_t modrm, int sib)
{
	uint8_t b[16];
	size_t n = 0;

	if (plen)
		memcpy(b, pre, plen);
	n = plen;
	memcpy(b + n, op, olen);
	n += olen;
	b[n++] = modrm;
	if (sib >= 0)
		b[n++] = (uint8_t)sib;
	fill_random(b, n, 16);
	compare_one(st, b, mi);
}

/* Every opcode of a map, every ModRM byte, with and without prefixes, in all modes. */
static void gen_map(struct stats *st, const uint8_t *esc, size_t elen)
{
	uint8_t op[4];

	if (elen)
		memcpy(op, esc, elen);
	for (int mi = 0; mi < 3; mi++) {
		for (int o = 0; o < 256; o++) {
			op[elen] = (uint8_t)o;
			for (int m = 0; m < 256; m++)
				gen_one(st, mi, NULL, 0, op, elen + 1, (uint8_t)m, -1);
			for (size_t p = 1; p < sizeof(prefix_sets) / sizeof(prefix_sets[0]); p++) {
				if (prefix_sets[p].only64 && modes[mi] != X86_MODE_64)
					continue;
				for (size_t m = 0; m < sizeof(modrm_sample); m++)
					gen_one(st, mi, prefix_sets[p].b, prefix_sets[p].len, op,
						elen + 1, modrm_sample[m], -1);
			}
			for (size_t m = 0; m < sizeof(modrm_sample); m++) {
				if ((modrm_sample[m] & 7) != 4 || modrm_sample[m] >= 0xC0)
					continue;
				for (size_t s = 0; s < sizeof(sib_sample); s++)
					gen_one(st, mi, NULL, 0, op, elen + 1, modrm_sample[m],
						sib_sample[s]);
			}
		}
	}
}

static void test_oracle_generated_legacy(void **state)
{
	static const uint8_t esc0f[] = { 0x0F }, esc38[] = { 0x0F, 0x38 }, esc3a[] = { 0x0F, 0x3A };
	struct stats st = { 0 };

	(void)state;
	gen_map(&st, NULL, 0);
	gen_map(&st, esc0f, 1);
	gen_map(&st, esc38, 2);
	gen_map(&st, esc3a, 2);
	report("generated one-byte/0F/0F38/0F3A", &st);
}

/* VEX2/VEX3/EVEX/XOP prefixes with every opcode and sampled ModRM, in all modes. */
static void test_oracle_generated_vex(void **state)
{
	struct stats st = { 0 };
	uint8_t pre[4];

	(void)state;
	for (int mi = 0; mi < 3; mi++) {
		for (int kind = 0; kind < 10; kind++) {
			size_t plen;

			switch (kind) {
			case 0: case 1: pre[0] = 0xC5; pre[1] = kind ? 0x7D : 0xF8; plen = 2; break;
			case 2: case 3: case 4:
				pre[0] = 0xC4; pre[1] = 0xE0 | (kind - 1); pre[2] = 0x79; plen = 3; break;
			case 5: case 6: case 7:
				pre[0] = 0x62; pre[1] = 0xF0 | (kind - 4); pre[2] = 0x7D; pre[3] = 0x48;
				plen = 4; break;
			default:
				pre[0] = 0x8F; pre[1] = 0xE0 | (kind == 8 ? 8 : 9); pre[2] = 0x78;
				plen = 3; break;
			}
			for (int o = 0; o < 256; o++) {
				uint8_t op = (uint8_t)o;

				for (size_t m = 0; m < sizeof(modrm_sample); m++)
					gen_one(&st, mi, pre, plen, &op, 1, modrm_sample[m], -1);
			}
		}
	}
	report("generated VEX/EVEX/XOP", &st);
}

/* Purely random bytes, and random bytes behind each escape and prefix. */
static void test_oracle_random(void **state)
{
	static const uint8_t starts[][3] = {
		{ 0 }, { 0x0F }, { 0x0F, 0x38 }, { 0x0F, 0x3A }, { 0xC4 }, { 0xC5 }, { 0x62 }, { 0x8F },
		{ 0x66 }, { 0xF3, 0x0F }, { 0x66, 0x0F }, { 0xF2, 0x0F }, { 0x67 }, { 0x48 },
	};
	static const uint8_t start_len[] = { 0, 1, 2, 2, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1 };
	unsigned long per = getenv("DECODE_ORACLE_RANDOM") ? strtoul(getenv("DECODE_ORACLE_RANDOM"), NULL, 0) : 40000;
	struct stats st = { 0 };
	uint8_t b[16];

	(void)state;
	for (size_t s = 0; s < sizeof(start_len); s++) {
		unsigned long count = s == 0 ? per * 3 : per / 4;

		for (unsigned long i = 0; i < count; i++) {
			memcpy(b, starts[s], start_len[s]);
			fill_random(b, start_len[s], 16);
			for (int mi = 0; mi < 3; mi++)
				compare_one(&st, b, mi);
		}
	}
	report("random", &st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oracle_generated_legacy),
		cmocka_unit_test(test_oracle_generated_vex),
		cmocka_unit_test(test_oracle_random),
	};

	return cmocka_run_group_tests(tests, oracle_setup, oracle_teardown);
}
