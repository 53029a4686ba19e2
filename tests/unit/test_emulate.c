/*
 * Emulator tests: every emulated opcode form, operand size and addressing mode, with
 * results and flags checked against the host CPU running the same operation.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>
#include "hv/decode.h"
#include "hv/emulate.h"
#include "tests/unit/test_emulate_native.h"

#define DATA_SIZE 0x2000
#define TARGET_LO 0x800
#define TARGET_SPAN 0x1000

static uint8_t *native_mem;
static uint8_t emu_mem[DATA_SIZE];
static uint64_t data_base, fs_base, gs_base;
static unsigned long n_cases, n_failures;

static uint64_t rng = 0x243F6A8885A308D3ull;

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

/* Values that reach carries, overflows and zero results more often than uniform ones. */
static uint64_t rnd_value(void)
{
	static const uint64_t edges[] = { 0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF,
					  0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF,
					  0x8000000000000000, ~0ull };

	switch (rnd_below(4)) {
	case 0: return edges[rnd_below(sizeof(edges) / sizeof(edges[0]))];
	case 1: return rnd() & 0xFF;
	default: return rnd();
	}
}

/* ---- emulator memory: a copy of the native data area, anything else is a #PF ---- */

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

/* ---- instruction templates ---- */

enum tkind {
	T_RM_REG,  /* ModRM r/m and reg operands */
	T_RM_EXT,  /* ModRM r/m with a fixed /digit */
	T_ACC_IMM, /* AL/eAX with an immediate, no ModRM */
	T_REG_IMM, /* B0+r / B8+r */
	T_MOFFS,   /* A0-A3 */
};

#define S1 1
#define SW 2
#define SD 4
#define SQ 8
#define SV (SW | SD | SQ)
#define IMM_Z 'z' /* 2 bytes at operand size 16, else 4 */
#define IMM_V 'v' /* operand size (MOV r, imm) */
#define FL_ALL X86_RFLAGS_ARITH
#define FL_LOGIC (X86_RFLAGS_ARITH & ~X86_RFLAGS_AF)
#define FL_CF X86_RFLAGS_CF

struct tmpl {
	char name[16];
	uint8_t kind;
	bool twobyte;
	uint8_t opcode;
	uint8_t ext;
	uint8_t imm;
	uint8_t sizes;
	bool mem_only;
	bool only64;
	uint64_t flags; /* flags the CPU defines for this instruction */
};

static struct tmpl tmpls[160];
static size_t n_tmpls;

static void add(const char *name, uint8_t kind, bool twobyte, uint8_t opcode, uint8_t ext,
		uint8_t imm, uint8_t sizes, uint64_t flags)
{
	struct tmpl *t = &tmpls[n_tmpls++];

	snprintf(t->name, sizeof(t->name), "%s", name);
	t->kind = kind;
	t->twobyte = twobyte;
	t->opcode = opcode;
	t->ext = ext;
	t->imm = imm;
	t->sizes = sizes;
	t->flags = flags;
}

static void build_templates(void)
{
	static const char *const alu[8] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };

	n_tmpls = 0;
	for (int i = 0; i < 8; i++) {
		uint64_t fl = (i == 1 || i == 4 || i == 6) ? FL_LOGIC : FL_ALL;

		add(alu[i], T_RM_REG, false, (uint8_t)(i * 8), 0, 0, S1, fl);
		add(alu[i], T_RM_REG, false, (uint8_t)(i * 8 + 1), 0, 0, SV, fl);
		add(alu[i], T_RM_REG, false, (uint8_t)(i * 8 + 2), 0, 0, S1, fl);
		add(alu[i], T_RM_REG, false, (uint8_t)(i * 8 + 3), 0, 0, SV, fl);
		add(alu[i], T_ACC_IMM, false, (uint8_t)(i * 8 + 4), 0, 1, S1, fl);
		add(alu[i], T_ACC_IMM, false, (uint8_t)(i * 8 + 5), 0, IMM_Z, SV, fl);
		add(alu[i], T_RM_EXT, false, 0x80, (uint8_t)i, 1, S1, fl);
		add(alu[i], T_RM_EXT, false, 0x81, (uint8_t)i, IMM_Z, SV, fl);
		add(alu[i], T_RM_EXT, false, 0x83, (uint8_t)i, 1, SV, fl);
	}
	add("test", T_RM_REG, false, 0x84, 0, 0, S1, FL_LOGIC);
	add("test", T_RM_REG, false, 0x85, 0, 0, SV, FL_LOGIC);
	add("test", T_ACC_IMM, false, 0xA8, 0, 1, S1, FL_LOGIC);
	add("test", T_ACC_IMM, false, 0xA9, 0, IMM_Z, SV, FL_LOGIC);
	add("test", T_RM_EXT, false, 0xF6, 0, 1, S1, FL_LOGIC);
	add("test", T_RM_EXT, false, 0xF7, 0, IMM_Z, SV, FL_LOGIC);
	add("not", T_RM_EXT, false, 0xF6, 2, 0, S1, FL_ALL);
	add("not", T_RM_EXT, false, 0xF7, 2, 0, SV, FL_ALL);
	add("neg", T_RM_EXT, false, 0xF6, 3, 0, S1, FL_ALL);
	add("neg", T_RM_EXT, false, 0xF7, 3, 0, SV, FL_ALL);
	add("inc", T_RM_EXT, false, 0xFE, 0, 0, S1, FL_ALL);
	add("inc", T_RM_EXT, false, 0xFF, 0, 0, SV, FL_ALL);
	add("dec", T_RM_EXT, false, 0xFE, 1, 0, S1, FL_ALL);
	add("dec", T_RM_EXT, false, 0xFF, 1, 0, SV, FL_ALL);
	add("mov", T_RM_REG, false, 0x88, 0, 0, S1, FL_ALL);
	add("mov", T_RM_REG, false, 0x89, 0, 0, SV, FL_ALL);
	add("mov", T_RM_REG, false, 0x8A, 0, 0, S1, FL_ALL);
	add("mov", T_RM_REG, false, 0x8B, 0, 0, SV, FL_ALL);
	add("mov", T_RM_EXT, false, 0xC6, 0, 1, S1, FL_ALL);
	add("mov", T_RM_EXT, false, 0xC7, 0, IMM_Z, SV, FL_ALL);
	add("mov", T_REG_IMM, false, 0xB0, 0, 1, S1, FL_ALL);
	add("mov", T_REG_IMM, false, 0xB8, 0, IMM_V, SV, FL_ALL);
	for (uint8_t o = 0xA0; o <= 0xA3; o++)
		add("mov-moffs", T_MOFFS, false, o, 0, 0, (o & 1) ? SV : S1, FL_ALL);
	add("movzx", T_RM_REG, true, 0xB6, 0, 0, SV, FL_ALL);
	add("movzx", T_RM_REG, true, 0xB7, 0, 0, SV, FL_ALL);
	add("movsx", T_RM_REG, true, 0xBE, 0, 0, SV, FL_ALL);
	add("movsx", T_RM_REG, true, 0xBF, 0, 0, SV, FL_ALL);
	add("movsxd", T_RM_REG, false, 0x63, 0, 0, SD | SQ, FL_ALL);
	tmpls[n_tmpls - 1].only64 = true;
	add("movnti", T_RM_REG, true, 0xC3, 0, 0, SD | SQ, FL_ALL);
	tmpls[n_tmpls - 1].mem_only = true;
	add("xchg", T_RM_REG, false, 0x86, 0, 0, S1, FL_ALL);
	add("xchg", T_RM_REG, false, 0x87, 0, 0, SV, FL_ALL);
	add("bt", T_RM_REG, true, 0xA3, 0, 0, SV, FL_CF);
	add("bts", T_RM_REG, true, 0xAB, 0, 0, SV, FL_CF);
	add("btr", T_RM_REG, true, 0xB3, 0, 0, SV, FL_CF);
	add("btc", T_RM_REG, true, 0xBB, 0, 0, SV, FL_CF);
	for (uint8_t e = 4; e < 8; e++)
		add("bt-imm", T_RM_EXT, true, 0xBA, e, 1, SV, FL_CF);
	add("cmpxchg", T_RM_REG, true, 0xB0, 0, 0, S1, FL_ALL);
	add("cmpxchg", T_RM_REG, true, 0xB1, 0, 0, SV, FL_ALL);
	add("xadd", T_RM_REG, true, 0xC0, 0, 0, S1, FL_ALL);
	add("xadd", T_RM_REG, true, 0xC1, 0, 0, SV, FL_ALL);
	add("cmpxchg8b", T_RM_EXT, true, 0xC7, 1, 0, SD | SQ, FL_ALL);
	tmpls[n_tmpls - 1].mem_only = true;
}

static bool is_bt_reg(const struct tmpl *t)
{
	return t->twobyte && (t->opcode == 0xA3 || t->opcode == 0xAB || t->opcode == 0xB3 ||
			      t->opcode == 0xBB);
}

static bool is_cmpxchg(const struct tmpl *t)
{
	return t->twobyte && (t->opcode == 0xB0 || t->opcode == 0xB1);
}

static bool is_cmpxchg8b(const struct tmpl *t)
{
	return t->twobyte && t->opcode == 0xC7;
}

/* ---- instruction bytes ---- */

struct ibuf {
	uint8_t b[32];
	size_t n;
};

static void emit(struct ibuf *ib, uint64_t v, unsigned int size)
{
	for (unsigned int i = 0; i < size; i++)
		ib->b[ib->n++] = (uint8_t)(v >> (8 * i));
}

static unsigned int imm_bytes(const struct tmpl *t, unsigned int size)
{
	if (t->imm == IMM_Z)
		return size == 2 ? 2 : 4;
	if (t->imm == IMM_V)
		return size;
	return t->imm;
}

/* A memory or register r/m operand as the test generated it. */
struct addr {
	bool reg_form;
	int rm_reg;
	int base;	/* -1 none, -2 RIP */
	int index;	/* -1 none */
	int scale;
	int disp_size;
	int64_t disp;
	int adbits;	/* 16, 32, 64 */
};

/* ModRM/SIB/displacement for 32/64-bit addressing; returns the REX.X/B bits needed. */
static uint8_t encode_modrm32(struct ibuf *ib, const struct addr *a, int reg)
{
	uint8_t rex = 0, mod;
	bool sib = a->index >= 0 || a->base == -1 || (a->base >= 0 && (a->base & 7) == 4);

	if (a->reg_form) {
		ib->b[ib->n++] = (uint8_t)(0xC0 | (reg & 7) << 3 | (a->rm_reg & 7));
		return a->rm_reg >= 8 ? X86_REX_B : 0;
	}
	if (a->base == -2) {
		ib->b[ib->n++] = (uint8_t)(0x05 | (reg & 7) << 3);
		emit(ib, (uint64_t)a->disp, 4);
		return 0;
	}
	mod = a->base < 0 ? 0 : a->disp_size == 0 ? 0 : a->disp_size == 1 ? 1 : 2;
	ib->b[ib->n++] = (uint8_t)(mod << 6 | (reg & 7) << 3 | (sib ? 4 : (a->base & 7)));
	if (sib) {
		int idx = a->index < 0 ? 4 : a->index;
		int sc = a->scale == 8 ? 3 : a->scale == 4 ? 2 : a->scale == 2 ? 1 : 0;

		ib->b[ib->n++] = (uint8_t)(sc << 6 | (idx & 7) << 3 | (a->base < 0 ? 5 : (a->base & 7)));
		rex |= idx >= 8 ? X86_REX_X : 0;
	}
	if (a->base >= 8)
		rex |= X86_REX_B;
	emit(ib, (uint64_t)a->disp, a->base < 0 ? 4 : (unsigned int)a->disp_size);
	return rex;
}

/* 16-bit ModRM forms (SDM Vol. 2A Table 2-1): base/index per rm. */
static const int rm16_base[8] = { 3, 3, 5, 5, -1, -1, 5, 3 };
static const int rm16_index[8] = { 6, 7, 6, 7, 6, 7, -1, -1 };

static void encode_modrm16(struct ibuf *ib, const struct addr *a, int reg, int rm)
{
	int mod = a->disp_size == 0 ? 0 : a->disp_size == 1 ? 1 : 2;

	if (a->reg_form) {
		ib->b[ib->n++] = (uint8_t)(0xC0 | (reg & 7) << 3 | (a->rm_reg & 7));
		return;
	}
	if (a->base == -1 && a->index == -1)
		mod = 0;
	ib->b[ib->n++] = (uint8_t)(mod << 6 | (reg & 7) << 3 | rm);
	emit(ib, (uint64_t)a->disp, a->base == -1 && a->index == -1 ? 2 : (unsigned int)a->disp_size);
}

/* ---- one test case ---- */

struct tcase {
	const struct tmpl *t;
	enum x86_mode mode;
	unsigned int size;
	struct ibuf emu_insn;	 /* instruction as the emulator sees it (in mode) */
	struct ibuf native_insn; /* 64-bit equivalent the host runs */
	uint64_t gpr[16];
	uint64_t native_gpr[16];
	uint64_t rflags;
	uint64_t rip;
	uint64_t seg_base[6];
	int cmp_regs;		 /* registers to compare: 8 or 16 */
	bool str16;		 /* 16-bit string op run natively with 32-bit addresses */
};

/* Map the host's ESI/EDI/ECX after a 32-bit-address run back to 16-bit SI/DI/CX. */
static void str16_adjust(const struct tcase *c, uint64_t *g)
{
	g[X86_RSI] = (c->gpr[X86_RSI] & ~0xFFFFull) | ((g[X86_RSI] - c->seg_base[X86_SEG_DS]) & 0xFFFF);
	g[X86_RDI] = (c->gpr[X86_RDI] & ~0xFFFFull) | ((g[X86_RDI] - c->seg_base[X86_SEG_ES]) & 0xFFFF);
	g[X86_RCX] = (c->gpr[X86_RCX] & ~0xFFFFull) | (g[X86_RCX] & 0xFFFF);
}

static void report_case(const struct tcase *c, const char *what)
{
	char hex[100];
	size_t n = 0;

	for (size_t i = 0; i < c->emu_insn.n; i++)
		n += snprintf(hex + n, sizeof(hex) - n, "%02x ", c->emu_insn.b[i]);
	if (n_failures++ < 12)
		printf("  FAIL %s (%d-bit, size %u) [%s]: %s\n", c->t ? c->t->name : "string",
		       c->mode, c->size, hex, what);
}

/* Run the emulator and the host on the same case; compare registers, flags, memory, RIP. */
static void run_case(struct tcase *c, uint64_t flag_mask)
{
	struct x86_emu_ctx ctx;
	struct native_regs nr;
	struct x86_insn insn;
	char msg[160];
	int err;

	n_cases++;
	memcpy(emu_mem, native_mem, DATA_SIZE);
	init_ctx(&ctx, c->mode);
	memcpy(ctx.gpr, c->gpr, sizeof(ctx.gpr));
	memcpy(ctx.seg_base, c->seg_base, sizeof(ctx.seg_base));
	ctx.rip = c->rip;
	ctx.rflags = c->rflags;
	err = x86_decode(c->emu_insn.b, c->emu_insn.n, c->mode, &insn);
	if (err || insn.len != c->emu_insn.n) {
		snprintf(msg, sizeof(msg), "decode %d len %u", err, err ? 0 : insn.len);
		return report_case(c, msg);
	}
	err = x86_emulate(&ctx, &insn);
	memcpy(nr.gpr, c->native_gpr, sizeof(nr.gpr));
	nr.rflags = c->rflags;
	if (!native_run(c->native_insn.b, c->native_insn.n, &nr))
		return report_case(c, "host faulted (test bug)");
	if (c->str16)
		str16_adjust(c, nr.gpr);
	if (err) {
		snprintf(msg, sizeof(msg), "emulate returned %d (fault vec %u addr %#llx)", err,
			 ctx.fault.vector, (unsigned long long)ctx.fault.address);
		return report_case(c, msg);
	}
	for (int r = 0; r < c->cmp_regs; r++) {
		if (ctx.gpr[r] != nr.gpr[r]) {
			snprintf(msg, sizeof(msg), "reg %d: emulated %#llx host %#llx", r,
				 (unsigned long long)ctx.gpr[r], (unsigned long long)nr.gpr[r]);
			return report_case(c, msg);
		}
	}
	for (int r = c->cmp_regs; r < 16; r++) {
		if (ctx.gpr[r] != c->gpr[r])
			return report_case(c, "register beyond the mode changed");
	}
	flag_mask |= X86_RFLAGS_DF;
	if ((ctx.rflags ^ nr.rflags) & flag_mask) {
		snprintf(msg, sizeof(msg), "rflags: emulated %#llx host %#llx mask %#llx",
			 (unsigned long long)ctx.rflags, (unsigned long long)nr.rflags,
			 (unsigned long long)flag_mask);
		return report_case(c, msg);
	}
	if (memcmp(emu_mem, native_mem, DATA_SIZE) != 0)
		return report_case(c, "memory differs");
	if (ctx.rip != ((c->rip + insn.len) & (c->mode == 64 ? ~0ull : c->mode == 32 ? 0xFFFFFFFFull : 0xFFFF)))
		return report_case(c, "rip");
}

static uint64_t pick_target(unsigned int align)
{
	uint64_t t = data_base + TARGET_LO + rnd_below(TARGET_SPAN);

	return align > 1 ? t & ~(uint64_t)(align - 1) : t;
}

static void randomize_state(struct tcase *c)
{
	for (int r = 0; r < 16; r++)
		c->gpr[r] = rnd_value();
	c->rflags = rnd() & (FL_ALL | X86_RFLAGS_DF);
	for (size_t i = 0; i < DATA_SIZE; i += 8) {
		uint64_t v = rnd_value();

		memcpy(native_mem + i, &v, 8);
	}
}

/* Implicit/explicit operand fix-ups shared by every mode. */
static void tune_operands(struct tcase *c, int reg, const struct addr *a, uint64_t target)
{
	const struct tmpl *t = c->t;
	bool rax_free = a->reg_form || (a->base != X86_RAX && a->index != X86_RAX);

	if (is_bt_reg(t) && !a->reg_form) { /* bit offsets within +-64 bytes */
		int64_t off = (int64_t)rnd_below(1024) - 512;
		uint64_t m = c->size == 8 ? ~0ull : (1ull << (8 * c->size)) - 1;

		c->gpr[reg] = (c->gpr[reg] & ~m) | ((uint64_t)off & m);
	}
	if (is_cmpxchg(t) && !a->reg_form && rax_free && rnd_below(2)) {
		uint64_t v;

		memcpy(&v, native_mem + (target - data_base), 8);
		c->gpr[X86_RAX] = v;
	}
	if (is_cmpxchg8b(t) && rax_free && a->base != X86_RDX && a->index != X86_RDX && rnd_below(2)) {
		uint64_t v[2];

		memcpy(v, native_mem + (target - data_base), 16);
		if (c->size == 4) {
			c->gpr[X86_RAX] = v[0] & 0xFFFFFFFF;
			c->gpr[X86_RDX] = v[0] >> 32;
		} else {
			c->gpr[X86_RAX] = v[0];
			c->gpr[X86_RDX] = v[1];
		}
	}
}

/* ---- 64-bit mode: the host runs the very same bytes ---- */

static int rnd_reg_except(int a, int b, bool no_rsp)
{
	for (;;) {
		int r = (int)rnd_below(16);

		if (r != a && r != b && !(no_rsp && r == X86_RSP))
			return r;
	}
}

/* Choose an addressing form and register values so that the operand lands at target. */
static void gen_addr64(struct tcase *c, struct addr *a, int reg, uint64_t ea, bool absolute_ok)
{
	unsigned int kind = rnd_below(absolute_ok ? 7 : 4);
	uint64_t m, idx = 0;

	a->adbits = absolute_ok && rnd_below(4) == 0 ? 32 : 64;
	m = a->adbits == 32 ? 0xFFFFFFFFull : ~0ull;
	a->scale = 1 << rnd_below(4);
	a->base = a->index = -1;
	a->disp = 0;
	a->disp_size = 0;
	if (kind == 6) {
		a->base = -2; /* RIP: displacement patched once the length is known */
		return;
	}
	if (kind == 5) {
		a->disp = (int64_t)ea;
		a->disp_size = 4;
		return;
	}
	if (kind == 3 || kind == 4)
		a->index = rnd_reg_except(is_bt_reg(c->t) ? reg : -1, -1, true);
	if (kind != 4)
		a->base = rnd_reg_except(a->index, is_bt_reg(c->t) ? reg : -1, false);
	static const int kind3_disp[3] = { 0, 1, 4 };

	a->disp_size = kind == 1 ? 1 : kind == 2 || kind == 4 ? 4 : kind == 3 ? kind3_disp[rnd_below(3)] : 0;
	if (a->base >= 0 && (a->base & 7) == 5 && a->disp_size == 0)
		a->disp_size = 1;
	a->disp = a->disp_size == 1 ? (int8_t)rnd() : a->disp_size == 4 ? (int32_t)rnd() : 0;
	if (a->base < 0) { /* index*scale + disp32 == ea */
		a->disp = (int32_t)(((uint32_t)rnd() & ~(uint32_t)(a->scale - 1)) | (ea & (a->scale - 1)));
		c->gpr[a->index] = ((ea - (uint64_t)a->disp) & m) / (uint64_t)a->scale;
		return;
	}
	if (a->index >= 0) {
		idx = rnd_value();
		c->gpr[a->index] = idx;
	}
	c->gpr[a->base] = (ea - (uint64_t)a->disp - idx * (uint64_t)a->scale) & m;
	if (a->adbits == 32)
		c->gpr[a->base] |= rnd() << 32;
}

static void gen_case64(struct tcase *c, const struct tmpl *t, unsigned int size)
{
	static const uint8_t segs[] = { 0x64, 0x65, 0x2E, 0x3E, 0x26, 0x36 };
	struct ibuf *ib = &c->emu_insn;
	struct addr a = { 0 };
	int reg = (int)rnd_below(16), seg = rnd_below(4) == 0 ? (int)rnd_below(6) : -1;
	uint64_t segbase = seg == 0 ? fs_base : seg == 1 ? gs_base : 0;
	uint64_t target = pick_target(is_cmpxchg8b(t) && size == 8 ? 16 : 1);
	uint8_t rex = 0;
	size_t rex_at, rip_disp_at = 0;
	bool a67;

	memset(c, 0, sizeof(*c));
	c->t = t;
	c->mode = X86_MODE_64;
	c->size = size;
	c->cmp_regs = 16;
	c->rip = native_insn_addr();
	c->seg_base[X86_SEG_FS] = fs_base;
	c->seg_base[X86_SEG_GS] = gs_base;
	randomize_state(c);
	if (t->kind == T_RM_EXT)
		reg = t->ext;
	a.reg_form = (t->kind == T_RM_REG || t->kind == T_RM_EXT) && !t->mem_only && rnd_below(4) == 0;
	a.rm_reg = (int)rnd_below(16);
	if (!a.reg_form && (t->kind == T_RM_REG || t->kind == T_RM_EXT))
		gen_addr64(c, &a, reg, target - segbase, segbase == 0);
	if (seg >= 0)
		ib->b[ib->n++] = segs[seg];
	if (size == 2 && !(t->sizes & S1))
		ib->b[ib->n++] = 0x66;
	a67 = a.adbits == 32 || (t->kind == T_MOFFS && segbase == 0 && rnd_below(3) == 0);
	if (a67)
		ib->b[ib->n++] = 0x67;
	rex_at = ib->n++;
	if (t->twobyte)
		ib->b[ib->n++] = 0x0F;
	if (t->kind == T_REG_IMM) {
		ib->b[ib->n++] = (uint8_t)(t->opcode + (reg & 7));
		rex |= reg >= 8 ? X86_REX_B : 0;
	} else {
		ib->b[ib->n++] = t->opcode;
	}
	if (t->kind == T_RM_REG || t->kind == T_RM_EXT) {
		if (a.base == -2)
			rip_disp_at = ib->n + 1;
		rex |= encode_modrm32(ib, &a, reg);
		if (t->kind == T_RM_REG && reg >= 8)
			rex |= X86_REX_R;
	}
	if (t->kind == T_MOFFS)
		emit(ib, target - segbase, a67 ? 4 : 8);
	emit(ib, rnd(), imm_bytes(t, size));
	if (size == 8)
		rex |= X86_REX_W;
	if (rex || rnd_below(3) == 0) {
		ib->b[rex_at] = 0x40 | rex;
	} else {
		memmove(ib->b + rex_at, ib->b + rex_at + 1, ib->n - rex_at - 1);
		ib->n--;
		if (rip_disp_at)
			rip_disp_at--;
	}
	if (rip_disp_at) {
		uint32_t d = (uint32_t)(target - (c->rip + ib->n));

		memcpy(ib->b + rip_disp_at, &d, 4);
	}
	tune_operands(c, reg, &a, target);
	memcpy(c->native_gpr, c->gpr, sizeof(c->gpr));
	c->native_insn = c->emu_insn;
}

static void for_each_form(void (*gen)(struct tcase *, const struct tmpl *, unsigned int),
			  bool legacy, unsigned int iterations)
{
	struct tcase c;

	for (size_t i = 0; i < n_tmpls; i++) {
		const struct tmpl *t = &tmpls[i];

		for (unsigned int size = 1; size <= 8; size <<= 1) {
			if (!(t->sizes & size) || (legacy && (size == 8 || t->only64)))
				continue;
			for (unsigned int k = 0; k < iterations; k++) {
				gen(&c, t, size);
				run_case(&c, t->flags);
			}
		}
	}
}

static void test_forms_64(void **state)
{
	(void)state;
	n_cases = n_failures = 0;
	for_each_form(gen_case64, false, 200);
	printf("64-bit forms: %lu cases, %lu failures\n", n_cases, n_failures);
	assert_int_equal(n_failures, 0);
}

/* ---- 16/32-bit modes: the host runs the same operation on [disp32] in 64-bit mode ---- */

/* Effective address, default segment and encoding of a random 16/32-bit memory operand. */
static uint64_t gen_addr_legacy(struct tcase *c, struct addr *a, int reg, int *rm16, int *defseg)
{
	bool bt = is_bt_reg(c->t);
	uint64_t ea;

	a->base = a->index = -1;
	a->scale = 1;
	if (a->adbits == 16) {
		/* BT's bit offset moves the address: keep it clear of the 64 KiB wrap. */
		do {
			do {
				*rm16 = (int)rnd_below(8);
				a->disp_size = (int)rnd_below(3);
			} while (bt && (rm16_base[*rm16] == reg || rm16_index[*rm16] == reg));
			a->base = a->index = -1;
			if (!(a->disp_size == 0 && *rm16 == 6)) {
				a->base = rm16_base[*rm16];
				a->index = rm16_index[*rm16];
			}
			a->disp = a->disp_size == 1 ? (int8_t)rnd() : (int16_t)rnd();
			if (a->disp_size == 0 && *rm16 != 6)
				a->disp = 0;
			if (bt && a->base >= 0)
				c->gpr[a->base] = rnd_value();
			if (bt && a->index >= 0)
				c->gpr[a->index] = rnd_value();
			ea = ((uint64_t)a->disp + (a->base >= 0 ? c->gpr[a->base] : 0) +
			      (a->index >= 0 ? c->gpr[a->index] : 0)) & 0xFFFF;
		} while (bt && (ea < 0x100 || ea > 0xFF00));
		*defseg = a->base == X86_RBP ? X86_SEG_SS : X86_SEG_DS;
		return ea;
	}
	do {
		unsigned int kind = rnd_below(4);

		a->index = kind >= 2 ? (int)rnd_below(8) : -1;
		if (a->index == X86_RSP)
			a->index = -1;
		a->base = kind == 3 ? -1 : (int)rnd_below(8);
		a->scale = 1 << rnd_below(4);
		a->disp_size = a->base < 0 ? 4 : (int)(rnd_below(3) == 2 ? 4 : rnd_below(2));
	} while (bt && (a->base == reg || a->index == reg));
	if (a->base >= 0 && (a->base & 7) == 5 && a->disp_size == 0)
		a->disp_size = 1;
	a->disp = a->disp_size == 1 ? (int8_t)rnd() : a->disp_size == 4 ? (int32_t)rnd() : 0;
	ea = (uint64_t)a->disp + (a->base >= 0 ? c->gpr[a->base] : 0) +
	     (a->index >= 0 ? c->gpr[a->index] * (uint64_t)a->scale : 0);
	*defseg = (a->base == X86_RSP || a->base == X86_RBP) ? X86_SEG_SS : X86_SEG_DS;
	return ea & 0xFFFFFFFF;
}

/* Segment bases: the used one maps ea to target, every other one far outside the data. */
static void set_seg_bases(struct tcase *c, int seg, uint64_t ea, uint64_t target)
{
	for (int s = 0; s < 6; s++)
		c->seg_base[s] = (target - ea + (s == seg ? 0 : 0x20000000ull + (uint64_t)s * 0x1000000)) &
				 0xFFFFFFFF;
}

static void gen_case_legacy(struct tcase *c, const struct tmpl *t, unsigned int size,
			    enum x86_mode mode)
{
	static const uint8_t seg_prefix[6] = { 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65 };
	struct ibuf *ib = &c->emu_insn, *nb = &c->native_insn;
	struct addr a = { 0 };
	int reg = t->kind == T_RM_EXT ? t->ext : (int)rnd_below(8), rm16 = 0, defseg = X86_SEG_DS;
	int ovr = rnd_below(4) == 0 ? (int)rnd_below(6) : -1;
	unsigned int defsize = mode == X86_MODE_16 ? 2 : 4;
	bool mem = (t->kind == T_RM_REG || t->kind == T_RM_EXT) && (t->mem_only || rnd_below(4));
	uint64_t target = pick_target(1), ea = 0;

	memset(c, 0, sizeof(*c));
	c->t = t;
	c->mode = mode;
	c->size = size;
	c->cmp_regs = 8;
	c->rip = rnd() & (mode == X86_MODE_16 ? 0xFFFF : 0xFFFFFFFF);
	randomize_state(c);
	a.adbits = rnd_below(4) == 0 ? 48 - mode : mode;
	a.reg_form = !mem;
	a.rm_reg = (int)rnd_below(8);
	if (mem)
		ea = gen_addr_legacy(c, &a, reg, &rm16, &defseg);
	if (t->kind == T_MOFFS) {
		ea = rnd() & (a.adbits == 16 ? 0xFFFF : 0xFFFFFFFF);
		a.reg_form = false;
	}
	set_seg_bases(c, ovr >= 0 ? ovr : defseg, ea, target);
	if (ovr >= 0)
		ib->b[ib->n++] = seg_prefix[ovr];
	if (!(t->sizes & S1) && size != defsize)
		ib->b[ib->n++] = 0x66;
	if (a.adbits != (int)mode)
		ib->b[ib->n++] = 0x67;
	if (!(t->sizes & S1) && size == 2)
		nb->b[nb->n++] = 0x66;
	if (t->twobyte) {
		ib->b[ib->n++] = 0x0F;
		nb->b[nb->n++] = 0x0F;
	}
	ib->b[ib->n] = nb->b[nb->n] = (uint8_t)(t->opcode + (t->kind == T_REG_IMM ? reg : 0));
	ib->n++;
	nb->n++;
	if (t->kind == T_RM_REG || t->kind == T_RM_EXT) {
		struct addr abs = { .base = -1, .index = -1, .scale = 1, .disp = (int64_t)target,
				    .reg_form = a.reg_form, .rm_reg = a.rm_reg };

		if (a.adbits == 16)
			encode_modrm16(ib, &a, reg, rm16);
		else
			encode_modrm32(ib, &a, reg);
		encode_modrm32(nb, &abs, reg);
	}
	if (t->kind == T_MOFFS) {
		emit(ib, ea, a.adbits / 8);
		emit(nb, target, 8);
	}
	{
		uint64_t imm = rnd();
		unsigned int n = imm_bytes(t, size);

		emit(ib, imm, n);
		emit(nb, imm, n);
	}
	tune_operands(c, reg, &a, target);
	memcpy(c->native_gpr, c->gpr, sizeof(c->gpr));
	for (int r = 8; r < 16; r++)
		c->native_gpr[r] = rnd();
}

static void gen_case32(struct tcase *c, const struct tmpl *t, unsigned int size)
{
	gen_case_legacy(c, t, size, X86_MODE_32);
}

static void gen_case16(struct tcase *c, const struct tmpl *t, unsigned int size)
{
	gen_case_legacy(c, t, size, X86_MODE_16);
}

static void test_forms_32(void **state)
{
	(void)state;
	n_cases = n_failures = 0;
	for_each_form(gen_case32, true, 200);
	printf("32-bit forms: %lu cases, %lu failures\n", n_cases, n_failures);
	assert_int_equal(n_failures, 0);
}

static void test_forms_16(void **state)
{
	(void)state;
	n_cases = n_failures = 0;
	for_each_form(gen_case16, true, 200);
	printf("16-bit forms: %lu cases, %lu failures\n", n_cases, n_failures);
	assert_int_equal(n_failures, 0);
}

/* ---- string instructions ---- */

static void gen_string(struct tcase *c, uint8_t op, unsigned int size, bool rep, enum x86_mode mode)
{
	struct ibuf *ib = &c->emu_insn, *nb = &c->native_insn;
	unsigned int count = rep ? rnd_below(40) : 1, span = (count + 1) * size;
	bool df, a67 = mode == X86_MODE_64 && rnd_below(3) == 0;
	bool fs = mode == X86_MODE_64 && !a67 && op != 0xAA && op != 0xAB && rnd_below(4) == 0;
	uint64_t src = pick_target(1), dst = pick_target(1);
	unsigned int defsize = mode == X86_MODE_16 ? 2 : 4;

	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->size = size;
	c->cmp_regs = mode == X86_MODE_64 ? 16 : 8;
	c->rip = mode == X86_MODE_64 ? native_insn_addr() : rnd() & 0xFFFF;
	if (mode == X86_MODE_64) {
		c->seg_base[X86_SEG_FS] = fs_base;
		c->seg_base[X86_SEG_GS] = gs_base;
	}
	randomize_state(c);
	df = c->rflags & X86_RFLAGS_DF;
	if (df) {
		src += span;
		dst += span;
	}
	if (fs)
		ib->b[ib->n++] = 0x64;
	if (size > 1 && size != (mode == X86_MODE_64 ? 4 : defsize) && size != 8)
		ib->b[ib->n++] = 0x66;
	if (a67)
		ib->b[ib->n++] = 0x67;
	if (rep)
		ib->b[ib->n++] = 0xF3;
	if (size == 8)
		ib->b[ib->n++] = 0x48;
	ib->b[ib->n++] = (uint8_t)(op | (size > 1));
	c->gpr[X86_RSI] = src - (fs ? fs_base : 0);
	c->gpr[X86_RDI] = dst;
	if (rep)
		c->gpr[X86_RCX] = (rnd() << 32) | count;
	if (a67) {
		c->gpr[X86_RSI] |= rnd() << 32;
		c->gpr[X86_RDI] |= rnd() << 32;
	} else if (mode == X86_MODE_64 && rep) {
		c->gpr[X86_RCX] = count;
	}
	memcpy(c->native_gpr, c->gpr, sizeof(c->gpr));
	*nb = *ib;
	if (mode == X86_MODE_16) {
		uint16_t si = (uint16_t)(0x1000 + rnd_below(0xE000)), di = (uint16_t)(0x1000 + rnd_below(0xE000));

		for (int s = 0; s < 6; s++)
			c->seg_base[s] = 0x40000000u + (uint32_t)s * 0x100000u;
		c->seg_base[X86_SEG_DS] = (src - si) & 0xFFFFFFFF;
		c->seg_base[X86_SEG_ES] = (dst - di) & 0xFFFFFFFF;
		c->gpr[X86_RSI] = (rnd() & ~0xFFFFull) | si;
		c->gpr[X86_RDI] = (rnd() & ~0xFFFFull) | di;
		c->gpr[X86_RCX] = (rnd() & ~0xFFFFull) | count;
		c->native_gpr[X86_RSI] = src;
		c->native_gpr[X86_RDI] = dst;
		c->native_gpr[X86_RCX] = count;
		c->str16 = true;
	}
	if (mode != X86_MODE_64) { /* the host runs it with 32-bit addresses */
		nb->n = 0;
		if (size == 2)
			nb->b[nb->n++] = 0x66;
		nb->b[nb->n++] = 0x67;
		if (rep)
			nb->b[nb->n++] = 0xF3;
		nb->b[nb->n++] = (uint8_t)(op | (size > 1));
	}
}

static void test_strings(void **state)
{
	static const uint8_t ops[3] = { 0xA4, 0xAA, 0xAC };
	static const enum x86_mode modes[3] = { X86_MODE_16, X86_MODE_32, X86_MODE_64 };
	struct tcase c;

	(void)state;
	n_cases = n_failures = 0;
	for (int m = 0; m < 3; m++)
		for (int o = 0; o < 3; o++)
			for (unsigned int size = 1; size <= (modes[m] == X86_MODE_64 ? 8u : 4u); size <<= 1)
				for (int k = 0; k < 300; k++) {
					gen_string(&c, ops[o], size, k % 3 != 0, modes[m]);
					run_case(&c, FL_ALL);
				}
	printf("string ops: %lu cases, %lu failures\n", n_cases, n_failures);
	assert_int_equal(n_failures, 0);
}

static int setup(void **state)
{
	(void)state;
	native_mem = native_init(DATA_SIZE);
	if (!native_mem)
		return -1;
	data_base = (uint64_t)(uintptr_t)native_mem;
	if (syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_base) || syscall(SYS_arch_prctl, ARCH_GET_GS, &gs_base))
		return -1;
	build_templates();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms_64),
		cmocka_unit_test(test_forms_32),
		cmocka_unit_test(test_forms_16),
		cmocka_unit_test(test_strings),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
