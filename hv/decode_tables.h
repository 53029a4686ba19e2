/* Opcode attribute tables shared by the x86 decoder (internal to hv/decode*.c). */
#ifndef HV_HV_DECODE_TABLES_H
#define HV_HV_DECODE_TABLES_H

#include "lib/types.h"

/* Attribute bits of one opcode in a legacy map. */
#define DT_MODRM BIT(0)	   /* a ModRM byte follows */
#define DT_BYTE BIT(1)	   /* byte operand size */
#define DT_INVALID BIT(2)  /* #UD in every mode (or a prefix byte) */
#define DT_INV64 BIT(3)	   /* #UD in 64-bit mode */
#define DT_DEF64 BIT(4)	   /* 64-bit default operand size in 64-bit mode (66 gives 16) */
#define DT_FORCE64 BIT(5)  /* near branch: 64-bit operand size in 64-bit mode */
#define DT_REGONLY BIT(6)  /* ModRM.mod is ignored and taken as 11b (MOV CR/DR) */
#define DT_LOCKABLE BIT(7) /* LOCK allowed with a memory destination */
#define DT_STRING BIT(8)   /* implicit memory operand(s): string ops, XLAT */
#define DT_IMM_SHIFT 12
#define DT_IMM(kind) ((kind) << DT_IMM_SHIFT)
#define DT_IMM_KIND(attr) ((attr) >> DT_IMM_SHIFT)

/* Immediate kinds (SDM Vol. 2D A.2.2 operand type codes). */
enum dt_imm {
	DT_I_NONE = 0,
	DT_I_B,	    /* Ib/Jb: 1 byte */
	DT_I_W,	    /* Iw: 2 bytes */
	DT_I_Z,	    /* Iz/Jz: 2 bytes with 16-bit operand size, else 4 */
	DT_I_V,	    /* Iv: operand size (MOV r, imm64) */
	DT_I_MOFFS, /* moffs: address size */
	DT_I_AP,    /* Ap: offset of operand size + 2-byte selector */
	DT_I_WB,    /* ENTER: Iw then Ib */
	DT_I_GRP3,  /* F6/F7: Ib/Iz only for /0 and /1 (TEST) */
};

extern const u16 x86_map1b_attr[256];
extern const u16 x86_map0f_attr[256];
extern const u8 x86_map0f38_valid[32];
extern const u8 x86_map0f3a_valid[32];
extern const u8 x86_3dnow_valid[32];

static inline bool dt_bit_test(const u8 *bits, u8 op)
{
	return (bits[op >> 3] >> (op & 7)) & 1;
}

#endif
