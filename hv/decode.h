/* x86 instruction decoder: exact lengths for all modes and the fields the emulator needs. */
#ifndef HV_HV_DECODE_H
#define HV_HV_DECODE_H

#include "lib/types.h"

/* Architectural maximum instruction length (Intel SDM Vol. 2A 2.3.11). */
#define X86_MAX_INSN_LEN 15

/* Not in lib/types.h yet: "give me more instruction bytes and call again". */
#ifndef EAGAIN
#define EAGAIN 11
#endif

/* Code size of the decoding context: CS.D / CS.L / CR0.PE and EFER.LMA decide it. */
enum x86_mode {
	X86_MODE_16 = 16,
	X86_MODE_32 = 32,
	X86_MODE_64 = 64,
};

/* Opcode maps (SDM Vol. 2D Appendix A; AMD APM Vol. 3 Appendix A for XOP). */
enum x86_map {
	X86_MAP_1B = 0, /* one-byte opcodes */
	X86_MAP_0F,
	X86_MAP_0F38,
	X86_MAP_0F3A,
	X86_MAP_XOP8, /* AMD XOP maps 8, 9, 0Ah */
	X86_MAP_XOP9,
	X86_MAP_XOPA,
};

/* Legacy prefix bits in x86_insn.prefixes. */
#define X86_PFX_OPSIZE BIT(0) /* 66 */
#define X86_PFX_ADSIZE BIT(1) /* 67 */
#define X86_PFX_LOCK BIT(2) /* F0 */
#define X86_PFX_REPNE BIT(3) /* F2 (the last of F2/F3 wins) */
#define X86_PFX_REP BIT(4) /* F3 */
#define X86_PFX_VEX BIT(5) /* VEX (C4/C5) encoded */
#define X86_PFX_EVEX BIT(6) /* EVEX (62) encoded */
#define X86_PFX_XOP BIT(7) /* XOP (8F) encoded */

/* REX bits (SDM Vol. 2A 2.2.1); x86_insn.rex keeps the raw byte or 0. */
#define X86_REX_B BIT(0)
#define X86_REX_X BIT(1)
#define X86_REX_R BIT(2)
#define X86_REX_W BIT(3)

/* Segment registers in SDM encoding order (Sreg field of MOV Sreg). */
enum x86_seg {
	X86_SEG_ES = 0,
	X86_SEG_CS,
	X86_SEG_SS,
	X86_SEG_DS,
	X86_SEG_FS,
	X86_SEG_GS,
	X86_SEG_NONE = 7, /* no override prefix */
};

/* General-purpose registers, in ModRM encoding order. */
enum x86_reg {
	X86_RAX = 0, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
	X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
};

/* Instructions the decoder names (the emulator's set plus exit-relevant ones). */
enum x86_op {
	X86_OP_UNKNOWN = 0, /* valid encoding, not named here */
	X86_OP_MOV,	/* 88-8B, C6/0, C7/0, A0-A3 (moffs), B0-BF */
	X86_OP_MOVZX,	/* 0F B6/B7 */
	X86_OP_MOVSX,	/* 0F BE/BF */
	X86_OP_MOVSXD,	/* 63 in 64-bit mode */
	X86_OP_MOVNTI,	/* 0F C3 */
	X86_OP_MOVS,	/* A4/A5 */
	X86_OP_STOS,	/* AA/AB */
	X86_OP_LODS,	/* AC/AD */
	X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,	/* group-1 order */
	X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_CMP,
	X86_OP_TEST,	/* 84/85, A8/A9, F6/F7 /0 /1 */
	X86_OP_NOT, X86_OP_NEG,	/* F6/F7 /2 /3 */
	X86_OP_INC, X86_OP_DEC,	/* FE/FF /0 /1 */
	X86_OP_XCHG,	/* 86/87 */
	X86_OP_BT, X86_OP_BTS, X86_OP_BTR, X86_OP_BTC,	/* 0F A3/AB/B3/BB, 0F BA /4-7 */
	X86_OP_CMPXCHG,	/* 0F B0/B1 */
	X86_OP_XADD,	/* 0F C0/C1 */
	X86_OP_CMPXCHG8B, /* 0F C7 /1 (CMPXCHG16B with REX.W) */
	X86_OP_CPUID, X86_OP_HLT, X86_OP_RDMSR, X86_OP_WRMSR,
	X86_OP_MOV_CR, X86_OP_MOV_DR, X86_OP_VMCALL, X86_OP_VMMCALL,
	X86_OP_INVLPG, X86_OP_RDTSC, X86_OP_RDTSCP, X86_OP_PAUSE,
	X86_OP_IN, X86_OP_OUT, X86_OP_INS, X86_OP_OUTS,
	X86_OP_VEX,	/* any VEX/EVEX/XOP instruction (length only) */
	X86_OP_COUNT,
};

/* One decoded instruction. All fields are valid after x86_decode() returns 0. */
struct x86_insn {
	u8 bytes[X86_MAX_INSN_LEN];
	u8 len;		/* total length in bytes, 1..15 */
	u8 mode;	/* enum x86_mode it was decoded in */
	u8 prefixes;	/* X86_PFX_* */
	u8 num_prefixes; /* legacy prefix bytes, REX and VEX/EVEX/XOP bytes not counted */
	u8 seg;		/* enum x86_seg: last segment override, or X86_SEG_NONE */
	u8 rex;		/* REX byte in effect (0x40-0x4F) or 0; VEX/EVEX bits folded in */
	u8 map;		/* enum x86_map */
	u8 opcode;	/* opcode byte within its map */
	u8 op;		/* enum x86_op */
	u8 opsize;	/* effective operand size in bytes: 1, 2, 4 or 8 */
	u8 adsize;	/* effective address size in bytes: 2, 4 or 8 */
	bool has_modrm;
	bool has_sib;
	bool has_mem;	/* the ModRM (or moffs / string) operand is in memory */
	bool rip_rel;	/* memory operand is RIP-relative (64-bit mode) */
	u8 modrm;	/* raw bytes */
	u8 sib;
	u8 mod;		/* ModRM.mod */
	u8 reg;		/* ModRM.reg extended by REX.R (0..15) */
	u8 rm;		/* ModRM.rm extended by REX.B (0..15); 16-bit forms: raw rm */
	u8 scale;	/* SIB scale as a factor: 1, 2, 4, 8 */
	s8 index;	/* SIB index extended by REX.X, -1 for none */
	s8 base;	/* base register, -1 for none (disp32 / RIP-relative / moffs) */
	u8 disp_size;	/* 0, 1, 2, 4 or 8 (moffs) bytes */
	u8 imm_size;	/* 0, 1, 2, 4 or 8 bytes */
	u8 imm2_size;	/* second immediate: ENTER, far pointer selector, EXTRQ */
	s64 disp;	/* sign-extended displacement (moffs: zero-extended) */
	u64 imm;	/* raw immediate, zero-extended */
	u64 imm2;
	/* VEX/EVEX/XOP fields (only when one of those prefixes is set) */
	u8 vex_vvvv;
	u8 vex_l;
	u8 vex_pp;
	bool vex_w;
};

/*
 * Decode one instruction from bytes[0..avail) as code of the given mode.
 * Returns 0 and fills *out (out->len is the length), or:
 *   -EAGAIN  avail ends before the instruction does (fetch more, e.g. the next
 *            page, and call again with the longer buffer);
 *   -E2BIG   the instruction would be longer than 15 bytes (#GP on hardware);
 *   -EINVAL  undefined or invalid opcode in this mode (#UD on hardware).
 * Pure function: no locks, no global state; safe on untrusted guest bytes.
 *
 * Coverage: every opcode of the one-byte and 0F maps, the defined (non-VEX) opcodes of
 * 0F 38 / 0F 3A, 3DNow!, SSE4a EXTRQ/INSERTQ, and the length of any VEX, EVEX or XOP
 * instruction (undefined VEX/EVEX/XOP opcodes are accepted for their length; they
 * are reported as X86_OP_VEX, which the emulator does not handle). Choices where
 * vendors differ: a 66 prefix on near CALL/JMP/Jcc in 64-bit mode gives a 16-bit
 * displacement as on AMD CPUs and QEMU (Intel ignores it); UD0 (0F FF), UD1 (0F B9)
 * and UD2 (0F 0B) are reported as -EINVAL since they always raise #UD. Mandatory
 * prefixes of SSE opcodes and reserved /digit slots of most groups are not checked:
 * such encodings decode with their correct length.
 */
int x86_decode(const u8 *bytes, size_t avail, enum x86_mode mode, struct x86_insn *out);

/* Short name of an op id, "?" for unknown ids. */
const char *x86_op_name(unsigned int op);

/*
 * Describe an instruction for a log line: mode, bytes in hex, map/opcode and op name.
 * Always NUL-terminates when size > 0; returns the length written.
 */
int x86_insn_describe(const struct x86_insn *insn, char *buf, size_t size);

#endif
