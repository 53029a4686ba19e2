/* x86 instruction emulator: effective addresses, operands, ALU flags, string ops (SDM Vol. 1/2). */
#include "hv/emulate.h"
#include "lib/string.h"

#define EMU_DEFAULT_REP_LIMIT 256

/* One operand: a register (possibly AH..BH) or a memory location. */
struct emu_opnd {
	bool is_mem;
	bool high8;	/* AH, CH, DH, BH: bits 15:8 of gpr[reg] */
	u8 reg;
	u8 size;
	u64 addr;	/* linear address */
};

int x86_emu_raise(struct x86_emu_ctx *ctx, u8 vector, bool has_error_code, u32 error_code,
		  u64 address)
{
	ctx->fault.valid = true;
	ctx->fault.vector = vector;
	ctx->fault.has_error_code = has_error_code;
	ctx->fault.error_code = error_code;
	ctx->fault.address = address;
	return -EIO;
}

static u64 size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : BIT(size * 8) - 1;
}

static u64 sign_bit(unsigned int size)
{
	return BIT(size * 8 - 1);
}

static u64 sext(u64 v, unsigned int size)
{
	unsigned int shift = 64 - 8 * size;

	if (!size)
		return 0;
	return size >= 8 ? v : (u64)((s64)(v << shift) >> shift);
}

/* ---- registers ---- */

static u64 reg_read(const struct x86_emu_ctx *ctx, const struct emu_opnd *o)
{
	u64 v = ctx->gpr[o->reg];

	return o->high8 ? (v >> 8) & 0xFF : v & size_mask(o->size);
}

/* 32-bit writes zero-extend (SDM Vol. 1 3.4.1.1); 8/16-bit writes merge. */
static void reg_write(struct x86_emu_ctx *ctx, const struct emu_opnd *o, u64 v)
{
	u64 *r = &ctx->gpr[o->reg];

	if (o->high8)
		*r = (*r & ~0xFF00ULL) | ((v & 0xFF) << 8);
	else if (o->size == 1)
		*r = (*r & ~0xFFULL) | (v & 0xFF);
	else if (o->size == 2)
		*r = (*r & ~0xFFFFULL) | (v & 0xFFFF);
	else if (o->size == 4)
		*r = v & 0xFFFFFFFFULL;
	else
		*r = v;
}

/* A GPR operand; without REX, byte registers 4-7 are AH, CH, DH, BH. */
static struct emu_opnd opnd_reg(const struct x86_insn *insn, unsigned int reg, unsigned int size)
{
	struct emu_opnd o = { .reg = (u8)reg, .size = (u8)size };

	if (size == 1 && !insn->rex && reg >= 4 && reg < 8) {
		o.high8 = true;
		o.reg = (u8)(reg - 4);
	}
	return o;
}

static void gpr_write_sized(struct x86_emu_ctx *ctx, unsigned int reg, unsigned int size, u64 v)
{
	struct emu_opnd o = { .reg = (u8)reg, .size = (u8)size };

	reg_write(ctx, &o, v);
}

/* ---- addresses ---- */

static bool is_canonical(u64 a)
{
	return (u64)((s64)(a << 16) >> 16) == a;
}

/*
 * Segment base plus effective address (SDM Vol. 3A 3.4, 3.3.7.1). 64-bit mode: only
 * FS/GS bases count, and the whole access must be canonical (#SS for SS, else #GP).
 * Segment limits and access rights are not checked.
 */
static int linear_addr(struct x86_emu_ctx *ctx, unsigned int seg, u64 ea, unsigned int size,
		       u64 *la)
{
	if (ctx->mode == X86_MODE_64) {
		u64 a = ea + ((seg == X86_SEG_FS || seg == X86_SEG_GS) ? ctx->seg_base[seg] : 0);

		if (!is_canonical(a) || !is_canonical(a + size - 1))
			return x86_emu_raise(ctx, seg == X86_SEG_SS ? X86_VEC_SS : X86_VEC_GP,
					     true, 0, a);
		*la = a;
		return 0;
	}
	*la = (ctx->seg_base[seg] + ea) & 0xFFFFFFFFULL;
	return 0;
}

/* Effective address of the ModRM (or moffs) memory operand, truncated to the address size. */
static u64 modrm_ea(const struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	u64 ea = (u64)insn->disp;

	if (insn->base >= 0)
		ea += ctx->gpr[insn->base];
	if (insn->index >= 0)
		ea += ctx->gpr[insn->index] * insn->scale;
	if (insn->rip_rel)
		ea += ctx->rip + insn->len;
	return ea & size_mask(insn->adsize);
}

/* SS is the default segment with an rBP or rSP base (SDM Vol. 1 3.7.4). */
static unsigned int modrm_seg(const struct x86_insn *insn)
{
	if (insn->seg != X86_SEG_NONE)
		return insn->seg;
	if (insn->base == X86_RSP || insn->base == X86_RBP)
		return X86_SEG_SS;
	return X86_SEG_DS;
}

/* The r/m operand of size bytes: a register or memory at an extra byte offset. */
static int opnd_rm(struct x86_emu_ctx *ctx, const struct x86_insn *insn, unsigned int size,
		   s64 extra, struct emu_opnd *o)
{
	u64 ea;

	if (!insn->has_mem) {
		*o = opnd_reg(insn, insn->rm, size);
		return 0;
	}
	ea = (modrm_ea(ctx, insn) + (u64)extra) & size_mask(insn->adsize);
	o->is_mem = true;
	o->size = (u8)size;
	return linear_addr(ctx, modrm_seg(insn), ea, size, &o->addr);
}

static int opnd_read(struct x86_emu_ctx *ctx, const struct emu_opnd *o, u64 *v)
{
	u64 val = 0;
	int err;

	if (!o->is_mem) {
		*v = reg_read(ctx, o);
		return 0;
	}
	err = ctx->read_mem(ctx, o->addr, &val, o->size);
	if (err)
		return err;
	*v = val & size_mask(o->size); /* little-endian host and guest */
	return 0;
}

static int opnd_write(struct x86_emu_ctx *ctx, const struct emu_opnd *o, u64 v)
{
	if (!o->is_mem) {
		reg_write(ctx, o, v);
		return 0;
	}
	return ctx->write_mem(ctx, o->addr, &v, o->size);
}

/* ---- flags (SDM Vol. 1 3.4.3.1 and the per-instruction "Flags Affected") ---- */

static u64 flags_szp(u64 res, unsigned int size)
{
	u64 f = 0;
	u8 low = (u8)res;

	low ^= low >> 4;
	low ^= low >> 2;
	low ^= low >> 1;
	if (!(low & 1))
		f |= X86_RFLAGS_PF;
	if (!(res & size_mask(size)))
		f |= X86_RFLAGS_ZF;
	if (res & sign_bit(size))
		f |= X86_RFLAGS_SF;
	return f;
}

static u64 flags_add(u64 a, u64 b, u64 res, bool carry_in, unsigned int size)
{
	u64 f = flags_szp(res, size);

	if (carry_in ? res <= a : res < a)
		f |= X86_RFLAGS_CF;
	if ((a ^ res) & (b ^ res) & sign_bit(size))
		f |= X86_RFLAGS_OF;
	if ((a ^ b ^ res) & 0x10)
		f |= X86_RFLAGS_AF;
	return f;
}

static u64 flags_sub(u64 a, u64 b, u64 res, bool borrow_in, unsigned int size)
{
	u64 f = flags_szp(res, size);

	if (borrow_in ? a <= b : a < b)
		f |= X86_RFLAGS_CF;
	if ((a ^ b) & (a ^ res) & sign_bit(size))
		f |= X86_RFLAGS_OF;
	if ((a ^ b ^ res) & 0x10)
		f |= X86_RFLAGS_AF;
	return f;
}

static void flags_set(struct x86_emu_ctx *ctx, u64 mask, u64 value)
{
	ctx->rflags = (ctx->rflags & ~mask) | (value & mask);
}

/*
 * Two-operand ALU: a op b at size bytes (a, b already masked). Returns the result
 * and updates the arithmetic flags. Logic ops clear CF/OF and, like the CPUs the
 * tests ran on, AF (architecturally undefined).
 */
static u64 alu2(struct x86_emu_ctx *ctx, unsigned int op, u64 a, u64 b, unsigned int size)
{
	bool cf = ctx->rflags & X86_RFLAGS_CF;
	u64 m = size_mask(size), res;

	switch (op) {
	case X86_OP_ADD:
	case X86_OP_ADC:
		cf = op == X86_OP_ADC && cf;
		res = (a + b + cf) & m;
		flags_set(ctx, X86_RFLAGS_ARITH, flags_add(a, b, res, cf, size));
		return res;
	case X86_OP_SUB:
	case X86_OP_SBB:
	case X86_OP_CMP:
		cf = op == X86_OP_SBB && cf;
		res = (a - b - cf) & m;
		flags_set(ctx, X86_RFLAGS_ARITH, flags_sub(a, b, res, cf, size));
		return res;
	case X86_OP_OR:
		res = a | b;
		break;
	case X86_OP_XOR:
		res = a ^ b;
		break;
	default: /* AND, TEST */
		res = a & b;
		break;
	}
	flags_set(ctx, X86_RFLAGS_ARITH, flags_szp(res, size));
	return res;
}

/* One-operand ALU: NOT, NEG, INC, DEC. */
static u64 alu1(struct x86_emu_ctx *ctx, unsigned int op, u64 a, unsigned int size)
{
	u64 m = size_mask(size), res;

	switch (op) {
	case X86_OP_NOT:
		return ~a & m;
	case X86_OP_NEG:
		res = (0 - a) & m;
		flags_set(ctx, X86_RFLAGS_ARITH, flags_sub(0, a, res, false, size));
		return res;
	case X86_OP_INC:
		res = (a + 1) & m;
		flags_set(ctx, X86_RFLAGS_ARITH & ~X86_RFLAGS_CF, flags_add(a, 1, res, false, size));
		return res;
	default: /* DEC */
		res = (a - 1) & m;
		flags_set(ctx, X86_RFLAGS_ARITH & ~X86_RFLAGS_CF, flags_sub(a, 1, res, false, size));
		return res;
	}
}

/* ---- instruction groups ---- */

/* Immediate of an instruction, sign-extended from its encoded size and cut to size. */
static u64 imm_value(const struct x86_insn *insn, unsigned int size)
{
	return sext(insn->imm, insn->imm_size) & size_mask(size);
}

/* Destination and source of the two-operand ALU forms (SDM Vol. 2D Table A-2). */
static int alu2_operands(struct x86_emu_ctx *ctx, const struct x86_insn *insn,
			 struct emu_opnd *dst, struct emu_opnd *src, u64 *srcval)
{
	unsigned int size = insn->opsize, form = insn->opcode & 7;
	bool imm = insn->imm_size != 0;

	if (insn->opcode < 0x40 && form >= 4) /* AL/eAX, imm */
		*dst = opnd_reg(insn, X86_RAX, size);
	else if (insn->opcode < 0x40 && form >= 2) { /* reg, r/m */
		*dst = opnd_reg(insn, insn->reg, size);
		return opnd_rm(ctx, insn, size, 0, src) ?: opnd_read(ctx, src, srcval);
	} else if (insn->opcode == 0xA8 || insn->opcode == 0xA9)
		*dst = opnd_reg(insn, X86_RAX, size);
	else {
		int err = opnd_rm(ctx, insn, size, 0, dst);

		if (err)
			return err;
	}
	if (imm) {
		*srcval = imm_value(insn, size);
		return 0;
	}
	*src = opnd_reg(insn, insn->reg, size);
	*srcval = reg_read(ctx, src);
	return 0;
}

static int emu_alu2(struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	struct emu_opnd dst, src;
	u64 a, b, res, saved = ctx->rflags;
	int err = alu2_operands(ctx, insn, &dst, &src, &b) ?: opnd_read(ctx, &dst, &a);

	if (err)
		return err;
	res = alu2(ctx, insn->op, a, b, insn->opsize);
	if (insn->op == X86_OP_CMP || insn->op == X86_OP_TEST)
		return 0;
	err = opnd_write(ctx, &dst, res);
	if (err)
		ctx->rflags = saved;
	return err;
}

static int emu_alu1(struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	struct emu_opnd o;
	u64 a, res, saved = ctx->rflags;
	int err = opnd_rm(ctx, insn, insn->opsize, 0, &o) ?: opnd_read(ctx, &o, &a);

	if (err)
		return err;
	res = alu1(ctx, insn->op, a, insn->opsize);
	err = opnd_write(ctx, &o, res);
	if (err)
		ctx->rflags = saved;
	return err;
}

/* MOV forms: 88-8B, C6/C7 /0, A0-A3 (moffs), B0-BF, and MOVNTI. */
static int emu_mov(struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	unsigned int size = insn->opsize, o = insn->opcode;
	struct emu_opnd dst, src;
	u64 v;
	int err;

	if (insn->map == X86_MAP_1B && o >= 0xB0 && o <= 0xBF) { /* reg from the opcode */
		dst = opnd_reg(insn, (o & 7) | ((insn->rex & X86_REX_B) ? 8 : 0), size);
		return opnd_write(ctx, &dst, insn->imm);
	}
	if (insn->map == X86_MAP_1B && o >= 0xA0 && o <= 0xA3) {
		struct emu_opnd acc = opnd_reg(insn, X86_RAX, size);
		unsigned int seg = insn->seg == X86_SEG_NONE ? X86_SEG_DS : insn->seg;
		struct emu_opnd mem = { .is_mem = true, .size = (u8)size };

		err = linear_addr(ctx, seg, (u64)insn->disp & size_mask(insn->adsize), size, &mem.addr);
		if (err)
			return err;
		dst = o < 0xA2 ? acc : mem;
		src = o < 0xA2 ? mem : acc;
		return opnd_read(ctx, &src, &v) ?: opnd_write(ctx, &dst, v);
	}
	if (insn->map == X86_MAP_1B && (o == 0xC6 || o == 0xC7))
		return opnd_rm(ctx, insn, size, 0, &dst) ?: opnd_write(ctx, &dst, imm_value(insn, size));
	if (insn->map == X86_MAP_1B && (o == 0x8A || o == 0x8B)) {
		dst = opnd_reg(insn, insn->reg, size);
		return opnd_rm(ctx, insn, size, 0, &src) ?: opnd_read(ctx, &src, &v) ?:
		       opnd_write(ctx, &dst, v);
	}
	/* 88, 89, 0F C3: r/m <- reg */
	src = opnd_reg(insn, insn->reg, size);
	return opnd_rm(ctx, insn, size, 0, &dst) ?: opnd_write(ctx, &dst, reg_read(ctx, &src));
}

/* MOVZX, MOVSX (0F B6/B7/BE/BF) and MOVSXD (63). */
static int emu_movx(struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	unsigned int srcsize = insn->op == X86_OP_MOVSXD ? 4 : (insn->opcode & 1) ? 2 : 1;
	struct emu_opnd src, dst = opnd_reg(insn, insn->reg, insn->opsize);
	u64 v;
	int err;

	if (insn->op == X86_OP_MOVSXD && insn->opsize < 4)
		srcsize = insn->opsize;
	err = opnd_rm(ctx, insn, srcsize, 0, &src) ?: opnd_read(ctx, &src, &v);
	if (err)
		return err;
	if (insn->op != X86_OP_MOVZX)
		v = sext(v, srcsize);
	return opnd_write(ctx, &dst, v & size_mask(insn->opsize));
}

/* XCHG r/m, reg (86/87): memory is read, then written; LOCK is implied on hardware. */
static int emu_xchg(struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	struct emu_opnd rm, reg = opnd_reg(insn, insn->reg, insn->opsize);
	u64 a, b = reg_read(ctx, &reg);
	int err = opnd_rm(ctx, insn, insn->opsize, 0, &rm) ?: opnd_read(ctx, &rm, &a) ?:
		  opnd_write(ctx, &rm, b);

	if (err)
		return err;
	reg_write(ctx, &reg, a);
	return 0;
}

/*
 * BT, BTS, BTR, BTC (SDM Vol. 2A "BT"): with a register bit offset and a memory
 * operand the offset is signed and selects an operand-sized unit beyond the address.
 */
static int emu_bt(struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	unsigned int size = insn->opsize, bits = size * 8;
	s64 unit = 0;
	u64 off, v, mask;
	struct emu_opnd o;
	int err;

	if (insn->opcode == 0xBA) {
		off = insn->imm & (bits - 1);
	} else {
		struct emu_opnd r = opnd_reg(insn, insn->reg, size);

		off = reg_read(ctx, &r);
		if (insn->has_mem) {
			s64 soff = (s64)sext(off, size);

			unit = soff >= 0 ? soff / (s64)bits :
					   -(s64)((0 - (u64)soff + bits - 1) / bits);
			off = (u64)(soff - unit * (s64)bits);
		}
		off &= bits - 1;
	}
	err = opnd_rm(ctx, insn, size, unit * (s64)size, &o) ?: opnd_read(ctx, &o, &v);
	if (err)
		return err;
	mask = BIT(off);
	if (insn->op != X86_OP_BT) {
		u64 nv = insn->op == X86_OP_BTS ? v | mask : insn->op == X86_OP_BTR ? v & ~mask : v ^ mask;

		if ((err = opnd_write(ctx, &o, nv)))
			return err;
	}
	flags_set(ctx, X86_RFLAGS_CF, (v & mask) ? X86_RFLAGS_CF : 0);
	return 0;
}

/*
 * CMPXCHG r/m, reg (0F B0/B1). A memory destination is written back even on a
 * mismatch (a locked read-modify-write on hardware); a register destination is then
 * left alone, so a 32-bit one keeps its upper half, as the CPUs do.
 */
static int emu_cmpxchg(struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	unsigned int size = insn->opsize;
	struct emu_opnd dst, src = opnd_reg(insn, insn->reg, size), acc = opnd_reg(insn, X86_RAX, size);
	u64 d, a = reg_read(ctx, &acc), saved = ctx->rflags;
	bool equal;
	int err = opnd_rm(ctx, insn, size, 0, &dst) ?: opnd_read(ctx, &dst, &d);

	if (err)
		return err;
	alu2(ctx, X86_OP_CMP, a, d, size);
	equal = a == d;
	err = equal || dst.is_mem ? opnd_write(ctx, &dst, equal ? reg_read(ctx, &src) : d) : 0;
	if (err) {
		ctx->rflags = saved;
		return err;
	}
	if (!equal)
		reg_write(ctx, &acc, d);
	return 0;
}

/* XADD r/m, reg (0F C0/C1): TEMP = SRC + DEST; SRC = DEST; DEST = TEMP. */
static int emu_xadd(struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	unsigned int size = insn->opsize;
	struct emu_opnd dst, src = opnd_reg(insn, insn->reg, size);
	u64 d, s = reg_read(ctx, &src), sum, saved = ctx->rflags;
	int err = opnd_rm(ctx, insn, size, 0, &dst) ?: opnd_read(ctx, &dst, &d);

	if (err)
		return err;
	sum = alu2(ctx, X86_OP_ADD, d, s, size);
	reg_write(ctx, &src, d);
	err = opnd_write(ctx, &dst, sum);
	if (err) {
		ctx->rflags = saved;
		reg_write(ctx, &src, s);
	}
	return err;
}

/* CMPXCHG8B/16B m64/m128 (0F C7 /1): compare rDX:rAX, store rCX:rBX; only ZF changes. */
static int emu_cmpxchg8b(struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	unsigned int half = (insn->rex & X86_REX_W) ? 8 : 4;
	u64 m = size_mask(half), cur[2] = { 0, 0 }, nv[2];
	struct emu_opnd o;
	bool equal;
	int err = opnd_rm(ctx, insn, 2 * half, 0, &o);

	if (err)
		return err;
	if (half == 8 && (o.addr & 15))
		return x86_emu_raise(ctx, X86_VEC_GP, true, 0, o.addr);
	if (half == 4) {
		err = ctx->read_mem(ctx, o.addr, cur, 8);
		cur[1] = cur[0] >> 32;
		cur[0] &= m;
	} else {
		err = ctx->read_mem(ctx, o.addr, cur, 16);
	}
	if (err)
		return err;
	equal = cur[0] == (ctx->gpr[X86_RAX] & m) && cur[1] == (ctx->gpr[X86_RDX] & m);
	nv[0] = equal ? ctx->gpr[X86_RBX] & m : cur[0];
	nv[1] = equal ? ctx->gpr[X86_RCX] & m : cur[1];
	if (half == 4)
		nv[0] |= nv[1] << 32;
	if ((err = ctx->write_mem(ctx, o.addr, nv, 2 * half)))
		return err;
	if (!equal) {
		gpr_write_sized(ctx, X86_RAX, half, cur[0]);
		gpr_write_sized(ctx, X86_RDX, half, cur[1]);
	}
	flags_set(ctx, X86_RFLAGS_ZF, equal ? X86_RFLAGS_ZF : 0);
	return 0;
}

/* ---- string instructions (SDM Vol. 1 7.3.9, Vol. 2B "REP") ---- */

/* One MOVS/STOS/LODS element; advances rSI/rDI by the element size in the DF direction. */
static int string_step(struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	unsigned int size = insn->opsize, as = insn->adsize;
	u64 am = size_mask(as), delta = (ctx->rflags & X86_RFLAGS_DF) ? -(u64)size : size;
	unsigned int srcseg = insn->seg == X86_SEG_NONE ? X86_SEG_DS : insn->seg;
	struct emu_opnd acc = opnd_reg(insn, X86_RAX, size);
	struct emu_opnd mem = { .is_mem = true, .size = (u8)size };
	u64 v;
	int err;

	if (insn->op != X86_OP_STOS) {
		err = linear_addr(ctx, srcseg, ctx->gpr[X86_RSI] & am, size, &mem.addr) ?:
		      opnd_read(ctx, &mem, &v);
		if (err)
			return err;
	} else {
		v = reg_read(ctx, &acc);
	}
	if (insn->op == X86_OP_LODS) {
		reg_write(ctx, &acc, v);
	} else {
		err = linear_addr(ctx, X86_SEG_ES, ctx->gpr[X86_RDI] & am, size, &mem.addr) ?:
		      opnd_write(ctx, &mem, v);
		if (err)
			return err;
		gpr_write_sized(ctx, X86_RDI, as, ctx->gpr[X86_RDI] + delta);
	}
	if (insn->op != X86_OP_STOS)
		gpr_write_sized(ctx, X86_RSI, as, ctx->gpr[X86_RSI] + delta);
	return 0;
}

/* Returns 1 when a REP was cut short and RIP must stay on the instruction. */
static int emu_string(struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	u32 limit = ctx->rep_limit ? ctx->rep_limit : EMU_DEFAULT_REP_LIMIT;
	unsigned int as = insn->adsize;
	int err;

	if (!(insn->prefixes & (X86_PFX_REP | X86_PFX_REPNE)))
		return string_step(ctx, insn);
	for (u32 i = 0; i < limit; i++) {
		u64 count = ctx->gpr[X86_RCX] & size_mask(as);

		if (!count)
			return 0;
		if ((err = string_step(ctx, insn)))
			return err;
		gpr_write_sized(ctx, X86_RCX, as, count - 1);
	}
	return (ctx->gpr[X86_RCX] & size_mask(as)) ? 1 : 0;
}

static int emu_dispatch(struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	switch (insn->op) {
	case X86_OP_MOV:
	case X86_OP_MOVNTI:
		return emu_mov(ctx, insn);
	case X86_OP_MOVZX:
	case X86_OP_MOVSX:
	case X86_OP_MOVSXD:
		return emu_movx(ctx, insn);
	case X86_OP_MOVS:
	case X86_OP_STOS:
	case X86_OP_LODS:
		return emu_string(ctx, insn);
	case X86_OP_ADD: case X86_OP_OR: case X86_OP_ADC: case X86_OP_SBB:
	case X86_OP_AND: case X86_OP_SUB: case X86_OP_XOR: case X86_OP_CMP:
	case X86_OP_TEST:
		return emu_alu2(ctx, insn);
	case X86_OP_NOT: case X86_OP_NEG: case X86_OP_INC: case X86_OP_DEC:
		return emu_alu1(ctx, insn);
	case X86_OP_XCHG:
		return emu_xchg(ctx, insn);
	case X86_OP_BT: case X86_OP_BTS: case X86_OP_BTR: case X86_OP_BTC:
		return emu_bt(ctx, insn);
	case X86_OP_CMPXCHG:
		return emu_cmpxchg(ctx, insn);
	case X86_OP_XADD:
		return emu_xadd(ctx, insn);
	case X86_OP_CMPXCHG8B:
		return emu_cmpxchg8b(ctx, insn);
	default:
		return -ENOSYS;
	}
}

int x86_emulate(struct x86_emu_ctx *ctx, const struct x86_insn *insn)
{
	int ret;

	ctx->fault.valid = false;
	if (insn->mode != ctx->mode || !insn->len || insn->len > X86_MAX_INSN_LEN)
		return -EINVAL;
	if (!ctx->read_mem || !ctx->write_mem)
		return -EINVAL;
	ret = emu_dispatch(ctx, insn);
	if (ret < 0)
		return ret;
	if (ret == 0)
		ctx->rip = (ctx->rip + insn->len) &
			   (ctx->mode == X86_MODE_64 ? ~0ULL : size_mask(ctx->mode / 8));
	return 0;
}
