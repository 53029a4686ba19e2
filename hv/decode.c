/* x86 instruction decoder: prefixes, maps, ModRM/SIB, displacement, immediates (SDM Vol. 2 ch. 2). */
#include "hv/decode.h"
#include "hv/decode_tables.h"
#include "lib/printf.h"
#include "lib/string.h"

/* Cursor over the caller's bytes; every byte taken is copied into insn->bytes. */
struct dec {
	const u8 *p;
	size_t avail;
	size_t pos;
	struct x86_insn *in;
};

static int dec_need(const struct dec *d, size_t pos)
{
	if (pos >= X86_MAX_INSN_LEN)
		return -E2BIG;
	if (pos >= d->avail)
		return -EAGAIN;
	return 0;
}

static int dec_byte(struct dec *d, u8 *b)
{
	int err = dec_need(d, d->pos);

	if (err)
		return err;
	*b = d->p[d->pos];
	d->in->bytes[d->pos++] = *b;
	return 0;
}

/* Little-endian value of n bytes (n <= 8), zero-extended. */
static int dec_value(struct dec *d, unsigned int n, u64 *v)
{
	u64 val = 0;
	u8 b;

	for (unsigned int i = 0; i < n; i++) {
		int err = dec_byte(d, &b);

		if (err)
			return err;
		val |= (u64)b << (8 * i);
	}
	*v = val;
	return 0;
}

static s64 sign_extend(u64 v, unsigned int bytes)
{
	unsigned int shift = 64 - 8 * bytes;

	return bytes >= 8 ? (s64)v : (s64)(v << shift) >> shift;
}

/* Legacy prefixes and REX (SDM Vol. 2A 2.1.1, 2.2.1). Stops at the first opcode byte. */
static int dec_prefixes(struct dec *d, u8 *opbyte)
{
	struct x86_insn *in = d->in;
	u8 b;

	for (;;) {
		int err = dec_byte(d, &b);

		if (err)
			return err;
		switch (b) {
		case 0x66: in->prefixes |= X86_PFX_OPSIZE; break;
		case 0x67: in->prefixes |= X86_PFX_ADSIZE; break;
		case 0xF0: in->prefixes |= X86_PFX_LOCK; break;
		case 0xF2:
			in->prefixes = (in->prefixes & ~X86_PFX_REP) | X86_PFX_REPNE;
			break;
		case 0xF3:
			in->prefixes = (in->prefixes & ~X86_PFX_REPNE) | X86_PFX_REP;
			break;
		case 0x26: in->seg = X86_SEG_ES; break;
		case 0x2E: in->seg = X86_SEG_CS; break;
		case 0x36: in->seg = X86_SEG_SS; break;
		case 0x3E: in->seg = X86_SEG_DS; break;
		case 0x64: in->seg = X86_SEG_FS; break;
		case 0x65: in->seg = X86_SEG_GS; break;
		default:
			if (in->mode == X86_MODE_64 && (b & 0xF0) == 0x40) {
				in->rex = b; /* only effective right before the opcode */
				continue;
			}
			*opbyte = b;
			return 0;
		}
		in->num_prefixes++;
		in->rex = 0; /* a legacy prefix after REX cancels it */
	}
}

static void dec_sizes(struct x86_insn *in, u16 attr)
{
	bool o16 = in->prefixes & X86_PFX_OPSIZE;
	bool a16 = in->prefixes & X86_PFX_ADSIZE;

	switch (in->mode) {
	case X86_MODE_16:
		in->opsize = o16 ? 4 : 2;
		in->adsize = a16 ? 4 : 2;
		break;
	case X86_MODE_32:
		in->opsize = o16 ? 2 : 4;
		in->adsize = a16 ? 2 : 4;
		break;
	default:
		in->adsize = a16 ? 4 : 8;
		/* Near branches honour 66 as AMD CPUs (and QEMU) do; Intel ignores it. */
		if (in->rex & X86_REX_W)
			in->opsize = 8;
		else if (o16)
			in->opsize = 2;
		else if (attr & (DT_DEF64 | DT_FORCE64))
			in->opsize = 8;
		else
			in->opsize = 4;
		break;
	}
	if (attr & DT_BYTE)
		in->opsize = 1;
}

/* ModRM with 16-bit addressing (SDM Vol. 2A Table 2-1). */
static const s8 modrm16_base[8] = { X86_RBX, X86_RBX, X86_RBP, X86_RBP, -1, -1, X86_RBP, X86_RBX };
static const s8 modrm16_index[8] = { X86_RSI, X86_RDI, X86_RSI, X86_RDI, X86_RSI, X86_RDI, -1, -1 };

static unsigned int dec_modrm16(struct x86_insn *in)
{
	in->rm = in->modrm & 7;
	in->base = modrm16_base[in->rm];
	in->index = modrm16_index[in->rm];
	if (in->mod == 0 && in->rm == 6) {
		in->base = -1;
		return 2;
	}
	return in->mod == 1 ? 1 : in->mod == 2 ? 2 : 0;
}

/* ModRM/SIB with 32/64-bit addressing (SDM Vol. 2A Tables 2-2, 2-3, 2-7). */
static int dec_modrm32(struct dec *d, unsigned int *disp_size)
{
	struct x86_insn *in = d->in;
	u8 rexb = (in->rex & X86_REX_B) ? 8 : 0;
	u8 rm = in->modrm & 7;

	*disp_size = in->mod == 1 ? 1 : in->mod == 2 ? 4 : 0;
	if (rm == 4) {
		u8 idx;
		int err = dec_byte(d, &in->sib);

		if (err)
			return err;
		in->has_sib = true;
		in->scale = 1 << (in->sib >> 6);
		idx = ((in->sib >> 3) & 7) | ((in->rex & X86_REX_X) ? 8 : 0);
		in->index = idx == X86_RSP ? -1 : (s8)idx;
		in->base = (in->sib & 7) | rexb;
		if ((in->sib & 7) == 5 && in->mod == 0) {
			in->base = -1;
			*disp_size = 4;
		}
	} else if (rm == 5 && in->mod == 0) {
		in->base = -1;
		in->rip_rel = in->mode == X86_MODE_64;
		*disp_size = 4;
	} else {
		in->base = rm | rexb;
	}
	in->rm = rm | rexb;
	return 0;
}

static int dec_modrm(struct dec *d, u16 attr)
{
	struct x86_insn *in = d->in;
	unsigned int disp_size = 0;
	u64 disp;
	int err = dec_byte(d, &in->modrm);

	if (err)
		return err;
	in->has_modrm = true;
	in->mod = (attr & DT_REGONLY) ? 3 : in->modrm >> 6;
	in->reg = ((in->modrm >> 3) & 7) | ((in->rex & X86_REX_R) ? 8 : 0);
	in->scale = 1;
	in->index = -1;
	in->base = -1;
	if (in->mod == 3) {
		in->rm = (in->modrm & 7) | ((in->rex & X86_REX_B) ? 8 : 0);
		return 0;
	}
	in->has_mem = true;
	if (in->adsize == 2)
		disp_size = dec_modrm16(in);
	else if ((err = dec_modrm32(d, &disp_size)))
		return err;
	if (disp_size) {
		if ((err = dec_value(d, disp_size, &disp)))
			return err;
		in->disp = sign_extend(disp, disp_size);
		in->disp_size = disp_size;
	}
	return 0;
}

static int dec_imm(struct dec *d, unsigned int size, bool second)
{
	struct x86_insn *in = d->in;
	u64 v;
	int err = dec_value(d, size, &v);

	if (err)
		return err;
	if (second) {
		in->imm2 = v;
		in->imm2_size = size;
	} else {
		in->imm = v;
		in->imm_size = size;
	}
	return 0;
}

static int dec_immediates(struct dec *d, u16 attr)
{
	struct x86_insn *in = d->in;
	unsigned int z = in->opsize == 2 ? 2 : 4;
	u64 moffs;
	int err;

	switch (DT_IMM_KIND(attr)) {
	case DT_I_B:
		return dec_imm(d, 1, false);
	case DT_I_W:
		return dec_imm(d, 2, false);
	case DT_I_Z:
		return dec_imm(d, z, false);
	case DT_I_V:
		return dec_imm(d, in->opsize, false);
	case DT_I_GRP3:
		return (in->reg & 7) < 2 ? dec_imm(d, in->opsize == 1 ? 1 : z, false) : 0;
	case DT_I_WB:
		return dec_imm(d, 2, false) ?: dec_imm(d, 1, true);
	case DT_I_AP:
		return dec_imm(d, z, false) ?: dec_imm(d, 2, true);
	case DT_I_MOFFS:
		if ((err = dec_value(d, in->adsize, &moffs)))
			return err;
		in->disp = (s64)moffs;
		in->disp_size = in->adsize;
		in->has_mem = true;
		return 0;
	default:
		return 0;
	}
}

/* Group encodings that are #UD although the opcode byte is defined. */
static bool dec_group_invalid(const struct x86_insn *in)
{
	u8 r = in->reg & 7;
	bool m3 = in->mod == 3;

	if (in->map == X86_MAP_1B) {
		switch (in->opcode) {
		case 0x8D: return m3;			/* LEA needs memory */
		case 0x8F: return r != 0;		/* POP r/m (XOP handled before) */
		case 0xC6: return r != 0 && in->modrm != 0xF8; /* MOV / XABORT */
		case 0xC7: return r != 0 && in->modrm != 0xF8; /* MOV / XBEGIN */
		case 0xFE: return r > 1;
		case 0xFF: return r == 7 || (m3 && (r == 3 || r == 5));
		case 0xC4: case 0xC5: case 0x62: return m3; /* LES/LDS/BOUND */
		case 0x8C: return r > 5;			/* MOV r/m, Sreg */
		case 0x8E: return r > 5 || r == X86_SEG_CS;	/* MOV Sreg, r/m */
		default: return false;
		}
	}
	if (in->map != X86_MAP_0F)
		return false;
	switch (in->opcode) {
	case 0x00: return r > 5;
	case 0x01: return !m3 && r == 5 && !(in->prefixes & X86_PFX_REP);
	case 0xB2: case 0xB4: case 0xB5: return m3; /* LSS/LFS/LGS */
	case 0xBA: return r < 4;
	case 0xB8: return !(in->prefixes & X86_PFX_REP); /* POPCNT; JMPE is IA-64 only */
	case 0x71: case 0x72: return !m3 || (r != 2 && r != 4 && r != 6);
	case 0x73: return !m3 || r < 2 || r == 4 || r == 5 || (r & 1 && !(in->prefixes & X86_PFX_OPSIZE));
	case 0xC7: return r == 0 || r == 2 || (m3 && r >= 1 && r <= 5);
	case 0xC3: return m3;			/* MOVNTI */
	case 0x0F: return !dt_bit_test(x86_3dnow_valid, (u8)in->imm);
	default: return false;
	}
}

/* LOCK is allowed only on the read-modify-write forms with a memory destination. */
static bool dec_lock_invalid(const struct x86_insn *in, u16 attr)
{
	if (!(in->prefixes & X86_PFX_LOCK))
		return false;
	if (in->map == X86_MAP_0F && (in->opcode == 0x20 || in->opcode == 0x22))
		return false; /* AMD alternate encoding of MOV CR8 */
	if (!(attr & DT_LOCKABLE) || !in->has_mem)
		return true;
	if (in->map == X86_MAP_1B) {
		switch (in->opcode) {
		case 0xF6: case 0xF7: return (in->reg & 7) != 2 && (in->reg & 7) != 3;
		case 0xFE: case 0xFF: return (in->reg & 7) > 1;
		case 0x80: case 0x81: case 0x82: case 0x83: return (in->reg & 7) == 7;
		default: return false;
		}
	}
	if (in->opcode == 0xBA)
		return (in->reg & 7) == 4;
	if (in->opcode == 0xC7)
		return (in->reg & 7) != 1;
	return false;
}

/* Attributes of a 0F 38 / 0F 3A opcode (always ModRM; 0F 3A adds an imm8). */
static int dec_3byte_attr(const struct x86_insn *in, u16 *attr)
{
	if (in->map == X86_MAP_0F38) {
		*attr = DT_MODRM;
		return dt_bit_test(x86_map0f38_valid, in->opcode) ? 0 : -EINVAL;
	}
	*attr = DT_MODRM | DT_IMM(DT_I_B);
	return dt_bit_test(x86_map0f3a_valid, in->opcode) ? 0 : -EINVAL;
}

static int dec_legacy_attr(struct dec *d, u8 b, u16 *attr)
{
	struct x86_insn *in = d->in;
	int err;

	if (b != 0x0F) {
		in->map = X86_MAP_1B;
		in->opcode = b;
		*attr = x86_map1b_attr[b];
	} else {
		if ((err = dec_byte(d, &b)))
			return err;
		if (b == 0x38 || b == 0x3A) {
			in->map = b == 0x38 ? X86_MAP_0F38 : X86_MAP_0F3A;
			if ((err = dec_byte(d, &in->opcode)))
				return err;
			return dec_3byte_attr(in, attr);
		}
		in->map = X86_MAP_0F;
		in->opcode = b;
		*attr = x86_map0f_attr[b];
	}
	if ((*attr & DT_INVALID) || ((*attr & DT_INV64) && in->mode == X86_MODE_64))
		return -EINVAL;
	return 0;
}

/* SSE4a EXTRQ/INSERTQ (66/F2 0F 78 /r ib ib) share VMREAD's opcode. */
static int dec_sse4a(struct dec *d)
{
	struct x86_insn *in = d->in;

	if (in->map != X86_MAP_0F || in->opcode != 0x78 ||
	    !(in->prefixes & (X86_PFX_OPSIZE | X86_PFX_REPNE)))
		return 0;
	if (in->mod != 3)
		return -EINVAL;
	return dec_imm(d, 1, false) ?: dec_imm(d, 1, true);
}

static int dec_legacy(struct dec *d, u8 b)
{
	struct x86_insn *in = d->in;
	u16 attr;
	int err = dec_legacy_attr(d, b, &attr);

	if (err)
		return err;
	dec_sizes(in, attr);
	if ((attr & DT_MODRM) && (err = dec_modrm(d, attr)))
		return err;
	/* FF /2 /4 /6 (near CALL/JMP, PUSH) default to 64-bit operands like 8F /0. */
	if (in->map == X86_MAP_1B && in->opcode == 0xFF && ((in->reg & 7) % 2 == 0) && (in->reg & 7))
		dec_sizes(in, DT_DEF64);
	if (attr & DT_STRING)
		in->has_mem = true;
	if ((err = dec_immediates(d, attr)) || (err = dec_sse4a(d)))
		return err;
	if (dec_group_invalid(in) || dec_lock_invalid(in, attr))
		return -EINVAL;
	return 0;
}

/* Does this C4/C5/62/8F byte start a VEX/EVEX/XOP prefix rather than LES/LDS/BOUND/POP? */
static int dec_is_vex(struct dec *d, u8 b, bool *vex)
{
	u8 next;
	int err;

	*vex = false;
	if (b != 0xC4 && b != 0xC5 && b != 0x62 && b != 0x8F)
		return 0;
	if ((err = dec_need(d, d->pos)))
		return err;
	next = d->p[d->pos];
	if (b == 0x8F)
		*vex = (next & 0x1F) >= 8; /* XOP map select; POP r/m has reg = 0 */
	else
		*vex = d->in->mode == X86_MODE_64 || (next & 0xC0) == 0xC0;
	return 0;
}

/* Fold inverted VEX/XOP R/X/B bits into a REX image. */
static void vex_set_rxb(struct x86_insn *in, u8 byte1, bool w)
{
	u8 rxb = (~byte1 >> 5) & 7;

	if (in->mode != X86_MODE_64)
		rxb = 0;
	in->rex = 0x40 | (rxb & 1 ? X86_REX_B : 0) | (rxb & 2 ? X86_REX_X : 0) |
		  (rxb & 4 ? X86_REX_R : 0) | (w && in->mode == X86_MODE_64 ? X86_REX_W : 0);
	in->vex_w = w;
}

/* VEX (SDM Vol. 2A 2.3.5) and XOP (AMD APM Vol. 6 1.3) prefixes; sets map and opcode. */
static int dec_vex_prefix(struct dec *d, u8 b)
{
	struct x86_insn *in = d->in;
	u8 p1, p2 = 0;
	int err = dec_byte(d, &p1);

	if (err)
		return err;
	if (b == 0xC5) {
		in->map = X86_MAP_0F;
		vex_set_rxb(in, p1 & 0x80, false);
		p2 = p1;
	} else {
		u8 sel = p1 & 0x1F;

		if ((err = dec_byte(d, &p2)))
			return err;
		if (b == 0xC4 && (sel < 1 || sel > 3))
			return -EINVAL;
		if (b == 0x8F && (sel < 8 || sel > 10))
			return -EINVAL;
		in->map = b == 0xC4 ? X86_MAP_0F + sel - 1 : X86_MAP_XOP8 + sel - 8;
		vex_set_rxb(in, p1, p2 & 0x80);
	}
	in->prefixes |= b == 0x8F ? X86_PFX_XOP : X86_PFX_VEX;
	in->vex_vvvv = (~p2 >> 3) & 15;
	in->vex_l = (p2 >> 2) & 1;
	in->vex_pp = p2 & 3;
	return dec_byte(d, &in->opcode);
}

/* EVEX prefix (SDM Vol. 2A 2.7.1): P0 = R X B R' 0 0 m m, P1 = W vvvv 1 pp, P2. */
static int dec_evex_prefix(struct dec *d)
{
	struct x86_insn *in = d->in;
	u8 p0, p1, p2;
	int err;

	if ((err = dec_byte(d, &p0)) || (err = dec_byte(d, &p1)) || (err = dec_byte(d, &p2)))
		return err;
	if ((p0 & 0x0C) || !(p0 & 3) || !(p1 & 0x04))
		return -EINVAL;
	in->map = X86_MAP_0F + (p0 & 3) - 1;
	vex_set_rxb(in, p0, p1 & 0x80);
	in->prefixes |= X86_PFX_EVEX;
	in->vex_vvvv = (~p1 >> 3) & 15;
	in->vex_l = (p2 >> 5) & 3;
	in->vex_pp = p1 & 3;
	return dec_byte(d, &in->opcode);
}

/* Immediate size of a VEX/EVEX/XOP instruction. */
static unsigned int vex_imm_size(const struct x86_insn *in)
{
	switch (in->map) {
	case X86_MAP_0F:
		switch (in->opcode) {
		case 0x70: case 0x71: case 0x72: case 0x73:
		case 0xC2: case 0xC4: case 0xC5: case 0xC6:
			return 1;
		default:
			return 0;
		}
	case X86_MAP_0F3A:
	case X86_MAP_XOP8:
		return 1;
	case X86_MAP_XOPA:
		return 4;
	default:
		return 0;
	}
}

static int dec_vex(struct dec *d, u8 b)
{
	struct x86_insn *in = d->in;
	unsigned int imm;
	int err;

	/* 66, F2, F3, LOCK or REX before VEX/EVEX/XOP is #UD (SDM Vol. 2A 2.3.2). */
	if (in->rex || (in->prefixes & (X86_PFX_OPSIZE | X86_PFX_LOCK | X86_PFX_REP | X86_PFX_REPNE)))
		return -EINVAL;
	err = b == 0x62 ? dec_evex_prefix(d) : dec_vex_prefix(d, b);
	if (err)
		return err;
	in->op = X86_OP_VEX;
	dec_sizes(in, 0);
	if (!(in->map == X86_MAP_0F && in->opcode == 0x77 && !(in->prefixes & X86_PFX_EVEX))) {
		if ((err = dec_modrm(d, 0)))
			return err;
	}
	imm = vex_imm_size(in);
	return imm ? dec_imm(d, imm, false) : 0;
}

/* Names for ops of the one-byte map that follow the group-1 pattern. */
static const u8 alu_ops[8] = {
	X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,
	X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_CMP,
};

static u8 classify_1b(const struct x86_insn *in)
{
	u8 o = in->opcode, r = in->reg & 7;

	if (o < 0x40 && (o & 7) < 6)
		return alu_ops[o >> 3];
	if (o >= 0x80 && o <= 0x83)
		return alu_ops[r];
	if ((o >= 0x88 && o <= 0x8B) || (o >= 0xA0 && o <= 0xA3) || (o >= 0xB0 && o <= 0xBF))
		return X86_OP_MOV;
	switch (o) {
	case 0x63: return in->mode == X86_MODE_64 ? X86_OP_MOVSXD : X86_OP_UNKNOWN;
	case 0x84: case 0x85: case 0xA8: case 0xA9: return X86_OP_TEST;
	case 0x86: case 0x87: return X86_OP_XCHG;
	case 0xA4: case 0xA5: return X86_OP_MOVS;
	case 0xAA: case 0xAB: return X86_OP_STOS;
	case 0xAC: case 0xAD: return X86_OP_LODS;
	case 0xC6: case 0xC7: return r == 0 ? X86_OP_MOV : X86_OP_UNKNOWN;
	case 0xF6: case 0xF7:
		return r < 2 ? X86_OP_TEST : r == 2 ? X86_OP_NOT : r == 3 ? X86_OP_NEG : X86_OP_UNKNOWN;
	case 0xFE: case 0xFF:
		return r == 0 ? X86_OP_INC : r == 1 ? X86_OP_DEC : X86_OP_UNKNOWN;
	case 0xF4: return X86_OP_HLT;
	case 0x90: return (in->prefixes & X86_PFX_REP) && !(in->rex & X86_REX_B) ? X86_OP_PAUSE : 0;
	case 0xE4: case 0xE5: case 0xEC: case 0xED: return X86_OP_IN;
	case 0xE6: case 0xE7: case 0xEE: case 0xEF: return X86_OP_OUT;
	case 0x6C: case 0x6D: return X86_OP_INS;
	case 0x6E: case 0x6F: return X86_OP_OUTS;
	default: return X86_OP_UNKNOWN;
	}
}

static u8 classify_0f01(const struct x86_insn *in)
{
	switch (in->modrm) {
	case 0xC1: return X86_OP_VMCALL;
	case 0xD9: return X86_OP_VMMCALL;
	case 0xF9: return X86_OP_RDTSCP;
	default: return in->mod != 3 && (in->reg & 7) == 7 ? X86_OP_INVLPG : X86_OP_UNKNOWN;
	}
}

static u8 classify_0f(const struct x86_insn *in)
{
	u8 r = in->reg & 7;

	switch (in->opcode) {
	case 0x01: return classify_0f01(in);
	case 0x20: case 0x22: return X86_OP_MOV_CR;
	case 0x21: case 0x23: return X86_OP_MOV_DR;
	case 0x30: return X86_OP_WRMSR;
	case 0x31: return X86_OP_RDTSC;
	case 0x32: return X86_OP_RDMSR;
	case 0xA2: return X86_OP_CPUID;
	case 0xA3: return X86_OP_BT;
	case 0xAB: return X86_OP_BTS;
	case 0xB3: return X86_OP_BTR;
	case 0xBB: return X86_OP_BTC;
	case 0xBA: return r >= 4 ? X86_OP_BT + (r - 4) : X86_OP_UNKNOWN;
	case 0xB0: case 0xB1: return X86_OP_CMPXCHG;
	case 0xC0: case 0xC1: return X86_OP_XADD;
	case 0xB6: case 0xB7: return X86_OP_MOVZX;
	case 0xBE: case 0xBF: return X86_OP_MOVSX;
	case 0xC3: return X86_OP_MOVNTI;
	case 0xC7: return r == 1 && in->mod != 3 ? X86_OP_CMPXCHG8B : X86_OP_UNKNOWN;
	default: return X86_OP_UNKNOWN;
	}
}

int x86_decode(const u8 *bytes, size_t avail, enum x86_mode mode, struct x86_insn *out)
{
	struct dec d = { .p = bytes, .avail = avail, .pos = 0, .in = out };
	bool vex;
	u8 b;
	int err;

	memset(out, 0, sizeof(*out));
	out->mode = mode;
	out->seg = X86_SEG_NONE;
	out->index = -1;
	out->base = -1;
	out->scale = 1;
	if (mode != X86_MODE_16 && mode != X86_MODE_32 && mode != X86_MODE_64)
		return -EINVAL;
	if ((err = dec_prefixes(&d, &b)) || (err = dec_is_vex(&d, b, &vex)))
		return err;
	err = vex ? dec_vex(&d, b) : dec_legacy(&d, b);
	if (err)
		return err;
	out->len = (u8)d.pos;
	if (out->map == X86_MAP_1B)
		out->op = classify_1b(out);
	else if (out->map == X86_MAP_0F && !vex)
		out->op = classify_0f(out);
	return 0;
}

static const char *const op_names[X86_OP_COUNT] = {
	[X86_OP_UNKNOWN] = "unknown", [X86_OP_MOV] = "mov", [X86_OP_MOVZX] = "movzx",
	[X86_OP_MOVSX] = "movsx", [X86_OP_MOVSXD] = "movsxd", [X86_OP_MOVNTI] = "movnti",
	[X86_OP_MOVS] = "movs", [X86_OP_STOS] = "stos", [X86_OP_LODS] = "lods",
	[X86_OP_ADD] = "add", [X86_OP_OR] = "or", [X86_OP_ADC] = "adc", [X86_OP_SBB] = "sbb",
	[X86_OP_AND] = "and", [X86_OP_SUB] = "sub", [X86_OP_XOR] = "xor", [X86_OP_CMP] = "cmp",
	[X86_OP_TEST] = "test", [X86_OP_NOT] = "not", [X86_OP_NEG] = "neg",
	[X86_OP_INC] = "inc", [X86_OP_DEC] = "dec", [X86_OP_XCHG] = "xchg",
	[X86_OP_BT] = "bt", [X86_OP_BTS] = "bts", [X86_OP_BTR] = "btr", [X86_OP_BTC] = "btc",
	[X86_OP_CMPXCHG] = "cmpxchg", [X86_OP_XADD] = "xadd", [X86_OP_CMPXCHG8B] = "cmpxchg8b",
	[X86_OP_CPUID] = "cpuid", [X86_OP_HLT] = "hlt", [X86_OP_RDMSR] = "rdmsr",
	[X86_OP_WRMSR] = "wrmsr", [X86_OP_MOV_CR] = "mov-cr", [X86_OP_MOV_DR] = "mov-dr",
	[X86_OP_VMCALL] = "vmcall", [X86_OP_VMMCALL] = "vmmcall", [X86_OP_INVLPG] = "invlpg",
	[X86_OP_RDTSC] = "rdtsc", [X86_OP_RDTSCP] = "rdtscp", [X86_OP_PAUSE] = "pause",
	[X86_OP_IN] = "in", [X86_OP_OUT] = "out", [X86_OP_INS] = "ins", [X86_OP_OUTS] = "outs",
	[X86_OP_VEX] = "vex",
};

const char *x86_op_name(unsigned int op)
{
	return op < X86_OP_COUNT && op_names[op] ? op_names[op] : "?";
}

static const char *const map_names[] = { "", "0f ", "0f38 ", "0f3a ", "xop8 ", "xop9 ", "xopa " };

int x86_insn_describe(const struct x86_insn *insn, char *buf, size_t size)
{
	const char *map = insn->map < ARRAY_SIZE(map_names) ? map_names[insn->map] : "? ";
	unsigned int len = MIN(insn->len, X86_MAX_INSN_LEN);
	size_t n = 0;

	if (!size)
		return 0;
	buf[0] = '\0';
	for (unsigned int i = 0; i < len && n < size; i++)
		n += ksnprintf(buf + n, size - n, "%s%02x", i ? " " : "", insn->bytes[i]);
	if (n < size)
		n += ksnprintf(buf + n, size - n, " (%u-bit %s%02x %s)", insn->mode, map,
			       insn->opcode, x86_op_name(insn->op));
	return (int)MIN(n, size - 1);
}
