/* x86 opcode attribute tables for the decoder (SDM Vol. 2D Appendix A, AMD APM Vol. 3 App. A). */
#include "hv/decode_tables.h"

#define M DT_MODRM
#define B DT_BYTE
#define X DT_INVALID
#define N64 DT_INV64
#define D64 DT_DEF64
#define F64 DT_FORCE64
#define R DT_REGONLY
#define L DT_LOCKABLE
#define IB DT_IMM(DT_I_B)
#define IW DT_IMM(DT_I_W)
#define IZ DT_IMM(DT_I_Z)
#define IV DT_IMM(DT_I_V)
#define MO DT_IMM(DT_I_MOFFS)
#define AP DT_IMM(DT_I_AP)
#define WB DT_IMM(DT_I_WB)
#define G3 DT_IMM(DT_I_GRP3)
#define ST DT_STRING

/* ALU row: op r/m,r (8 and full), op r,r/m (8 and full), op AL,ib, op eAX,iz. */
#define ALU_ROW M | B | L, M | L, M | B, M, IB | B, IZ

const u16 x86_map1b_attr[256] = {
	/* 00 */ ALU_ROW, N64, N64,
	/* 08 */ ALU_ROW, N64, X /* 0F escape, handled before the table */,
	/* 10 */ ALU_ROW, N64, N64,
	/* 18 */ ALU_ROW, N64, N64,
	/* 20 */ ALU_ROW, X /* ES: */, N64,
	/* 28 */ ALU_ROW, X /* CS: */, N64,
	/* 30 */ ALU_ROW, X /* SS: */, N64,
	/* 38 */ M | B, M, M | B, M, IB | B, IZ, X /* DS: */, N64,
	/* 40 INC/DEC r (REX in 64-bit mode) */ 0, 0, 0, 0, 0, 0, 0, 0,
	/* 48 */ 0, 0, 0, 0, 0, 0, 0, 0,
	/* 50 PUSH r */ D64, D64, D64, D64, D64, D64, D64, D64,
	/* 58 POP r */ D64, D64, D64, D64, D64, D64, D64, D64,
	/* 60 */ N64, N64, M | N64 /* BOUND; EVEX */, M /* ARPL / MOVSXD */,
	/* 64 */ X, X, X, X /* FS: GS: 66 67 */,
	/* 68 */ IZ | D64, M | IZ, IB | D64, M | IB, ST | B, ST, ST | B, ST,
	/* 70 Jcc rel8 */ IB | F64, IB | F64, IB | F64, IB | F64, IB | F64, IB | F64, IB | F64, IB | F64,
	/* 78 */ IB | F64, IB | F64, IB | F64, IB | F64, IB | F64, IB | F64, IB | F64, IB | F64,
	/* 80 */ M | IB | B | L, M | IZ | L, M | IB | B | L | N64, M | IB | L,
	/* 84 */ M | B, M, M | B | L, M | L,
	/* 88 */ M | B, M, M | B, M, M, M /* LEA */, M, M | D64 /* POP r/m; XOP */,
	/* 90 */ 0, 0, 0, 0, 0, 0, 0, 0,
	/* 98 */ 0, 0, AP | N64, 0, D64, D64, 0, 0,
	/* A0 */ MO | B, MO, MO | B, MO, ST | B, ST, ST | B, ST,
	/* A8 */ IB | B, IZ, ST | B, ST, ST | B, ST, ST | B, ST,
	/* B0 */ IB | B, IB | B, IB | B, IB | B, IB | B, IB | B, IB | B, IB | B,
	/* B8 */ IV, IV, IV, IV, IV, IV, IV, IV,
	/* C0 */ M | IB | B, M | IB, IW | F64, F64, M | N64 /* LES; VEX3 */, M | N64 /* LDS; VEX2 */,
	/* C6 */ M | IB | B, M | IZ,
	/* C8 */ WB | D64, D64, IW, 0, 0, IB, N64, 0,
	/* D0 */ M | B, M, M | B, M, IB | N64, IB | N64, N64 /* SALC */, ST | B /* XLAT */,
	/* D8 x87 */ M, M, M, M, M, M, M, M,
	/* E0 */ IB | F64, IB | F64, IB | F64, IB | F64, IB | B, IB, IB | B, IB,
	/* E8 */ IZ | F64, IZ | F64, AP | N64, IB | F64, B, 0, B, 0,
	/* F0 */ X /* LOCK */, 0, X, X /* REPNE REP */, 0, 0, M | B | G3 | L, M | G3 | L,
	/* F8 */ 0, 0, 0, 0, 0, 0, M | B | L, M | L,
};

const u16 x86_map0f_attr[256] = {
	/* 00 */ M, M, M, M, X, 0, 0, 0,
	/* 08 */ 0, 0, X, X /* UD2 */, X, M /* PREFETCH */, 0 /* FEMMS */, M | IB /* 3DNow! */,
	/* 10 */ M, M, M, M, M, M, M, M,
	/* 18 hint NOPs, MPX, CET */ M, M, M, M, M, M, M, M,
	/* 20 MOV CR/DR */ M | R | L, M | R, M | R | L, M | R, X, X, X, X,
	/* 28 */ M, M, M, M, M, M, M, M,
	/* 30 */ 0, 0, 0, 0, 0, 0, X, 0,
	/* 38 */ X, X, X, X, X, X, X, X /* 38/3A are escapes, handled before */,
	/* 40 CMOVcc */ M, M, M, M, M, M, M, M,
	/* 48 */ M, M, M, M, M, M, M, M,
	/* 50 */ M, M, M, M, M, M, M, M,
	/* 58 */ M, M, M, M, M, M, M, M,
	/* 60 */ M, M, M, M, M, M, M, M,
	/* 68 */ M, M, M, M, M, M, M, M,
	/* 70 */ M | IB, M | IB, M | IB, M | IB, M, M, M, 0 /* EMMS */,
	/* 78 VMREAD/VMWRITE; SSE4a */ M, M, X, X, M, M, M, M,
	/* 80 Jcc rel16/32 */ IZ | F64, IZ | F64, IZ | F64, IZ | F64, IZ | F64, IZ | F64, IZ | F64, IZ | F64,
	/* 88 */ IZ | F64, IZ | F64, IZ | F64, IZ | F64, IZ | F64, IZ | F64, IZ | F64, IZ | F64,
	/* 90 SETcc */ M | B, M | B, M | B, M | B, M | B, M | B, M | B, M | B,
	/* 98 */ M | B, M | B, M | B, M | B, M | B, M | B, M | B, M | B,
	/* A0 */ D64, D64, 0, M, M | IB, M, X, X,
	/* A8 */ D64, D64, 0, M | L, M | IB, M, M, M,
	/* B0 */ M | B | L, M | L, M, M | L, M, M, M, M,
	/* B8 */ M /* POPCNT */, X /* UD1 */, M | IB | L, M | L, M, M, M, M,
	/* C0 */ M | B | L, M | L, M | IB, M, M | IB, M | IB, M | IB, M | L,
	/* C8 BSWAP */ 0, 0, 0, 0, 0, 0, 0, 0,
	/* D0 */ M, M, M, M, M, M, M, M,
	/* D8 */ M, M, M, M, M, M, M, M,
	/* E0 */ M, M, M, M, M, M, M, M,
	/* E8 */ M, M, M, M, M, M, M, M,
	/* F0 */ M, M, M, M, M, M, M, M,
	/* F8 */ M, M, M, M, M, M, M, X /* UD0 */,
};

/*
 * Defined opcodes of the three-byte maps without VEX (SSSE3, SSE4.1/4.2, AES, SHA,
 * GFNI, MOVBE/CRC32, ADX, INVEPT/INVVPID/INVPCID, CET WRUSS/WRSS, MOVDIR*, ENQCMD):
 * one bit per opcode, 32 bytes each.
 */
#define BITS8(a, b, c, d, e, f, g, h) \
	((a) | (b) << 1 | (c) << 2 | (d) << 3 | (e) << 4 | (f) << 5 | (g) << 6 | (h) << 7)

const u8 x86_map0f38_valid[32] = {
	/* 00 */ 0xff, /* 08 */ BITS8(1, 1, 1, 1, 0, 0, 0, 0),
	/* 10 */ BITS8(1, 0, 0, 0, 1, 1, 0, 1), /* 18 */ BITS8(0, 0, 0, 0, 1, 1, 1, 0),
	/* 20 */ BITS8(1, 1, 1, 1, 1, 1, 0, 0), /* 28 */ BITS8(1, 1, 1, 1, 0, 0, 0, 0),
	/* 30 */ BITS8(1, 1, 1, 1, 1, 1, 0, 1), /* 38 */ 0xff,
	/* 40 */ BITS8(1, 1, 0, 0, 0, 0, 0, 0), 0, 0, 0, 0, 0, 0, 0,
	/* 80 */ BITS8(1, 1, 1, 0, 0, 0, 0, 0), 0, 0, 0, 0, 0, 0, 0,
	/* C0 */ 0, /* C8 */ BITS8(1, 1, 1, 1, 1, 1, 0, 1),
	/* D0 */ 0, /* D8 */ BITS8(0, 0, 0, 1, 1, 1, 1, 1),
	/* E0 */ 0, 0,
	/* F0 */ BITS8(1, 1, 0, 0, 0, 1, 1, 0), /* F8 */ BITS8(1, 1, 0, 0, 0, 0, 0, 0),
};

const u8 x86_map0f3a_valid[32] = {
	/* 00 */ 0, /* 08 */ 0xff,
	/* 10 */ BITS8(0, 0, 0, 0, 1, 1, 1, 1), 0,
	/* 20 */ BITS8(1, 1, 1, 0, 0, 0, 0, 0), 0,
	/* 30 */ 0, 0,
	/* 40 */ BITS8(1, 1, 1, 0, 1, 0, 0, 0), 0,
	/* 50 */ 0, 0,
	/* 60 */ BITS8(1, 1, 1, 1, 0, 0, 0, 0), 0,
	/* 70 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* C0 */ 0, /* C8 */ BITS8(0, 0, 0, 0, 1, 0, 1, 1),
	/* D0 */ 0, /* D8 */ BITS8(0, 0, 0, 0, 0, 0, 0, 1),
	/* E0 */ 0, 0, 0, 0,
};

/* 3DNow! suffix opcodes (AMD APM Vol. 5, 3DNow! opcode map). */
const u8 x86_3dnow_valid[32] = {
	/* 00 */ 0, /* 08 */ BITS8(0, 0, 0, 0, 1, 1, 0, 0),
	/* 10 */ 0, /* 18 */ BITS8(0, 0, 0, 0, 1, 1, 0, 0),
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 80 */ 0, /* 88 */ BITS8(0, 0, 1, 0, 0, 0, 1, 0),
	/* 90 */ BITS8(1, 0, 0, 0, 1, 0, 1, 1), /* 98 */ BITS8(0, 0, 1, 0, 0, 0, 1, 0),
	/* A0 */ BITS8(1, 0, 0, 0, 1, 0, 1, 1), /* A8 */ BITS8(0, 0, 1, 0, 0, 0, 1, 0),
	/* B0 */ BITS8(1, 0, 0, 0, 1, 0, 1, 1), /* B8 */ BITS8(0, 0, 0, 1, 0, 0, 0, 1),
	0, 0, 0, 0, 0, 0, 0, 0,
};
