/* x86 instruction emulator for MMIO and guest page-table writes (memory-operand forms). */
#ifndef HV_HV_EMULATE_H
#define HV_HV_EMULATE_H

#include "lib/types.h"
#include "hv/decode.h"

/* Exception vectors the emulator raises itself (SDM Vol. 3A 6.15). */
#define X86_VEC_UD 6
#define X86_VEC_SS 12
#define X86_VEC_GP 13
#define X86_VEC_PF 14

/* RFLAGS bits (SDM Vol. 1 3.4.3). */
#define X86_RFLAGS_CF BIT(0)
#define X86_RFLAGS_PF BIT(2)
#define X86_RFLAGS_AF BIT(4)
#define X86_RFLAGS_ZF BIT(6)
#define X86_RFLAGS_SF BIT(7)
#define X86_RFLAGS_DF BIT(10)
#define X86_RFLAGS_OF BIT(11)
#define X86_RFLAGS_ARITH (X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | X86_RFLAGS_ZF | \
			  X86_RFLAGS_SF | X86_RFLAGS_OF)

/* An exception to inject into the guest, as found by the emulator or a callback. */
struct x86_fault {
	bool valid;
	u8 vector;
	bool has_error_code;
	u32 error_code;
	u64 address; /* linear address of the access (#PF: goes to CR2) */
};

struct x86_emu_ctx;

/*
 * Guest memory access at a linear address (segment base already added), size 1..16
 * bytes. Return 0, or a negative error: after x86_emu_raise() for an exception the
 * guest should see (-EIO), or any other code for a failure that should stop the VM.
 * The caller decides whether gva means MMIO or RAM; an access may cross a page.
 */
typedef int (*x86_read_fn)(struct x86_emu_ctx *ctx, u64 gva, void *buf, unsigned int size);
typedef int (*x86_write_fn)(struct x86_emu_ctx *ctx, u64 gva, const void *buf, unsigned int size);

/* Guest state seen and changed by one emulation; owned by the calling vCPU thread. */
struct x86_emu_ctx {
	u64 gpr[16];	  /* enum x86_reg order */
	u64 rip;	  /* of the instruction (RIP-relative operands use it) */
	u64 rflags;	  /* only CF PF AF ZF SF OF are changed; DF is read */
	u64 seg_base[6];  /* enum x86_seg order; only FS/GS are used in 64-bit mode */
	enum x86_mode mode; /* from CR0.PE, EFER.LMA, CS.L and CS.D */
	x86_read_fn read_mem;
	x86_write_fn write_mem;
	void *opaque;	  /* for the callbacks */
	u32 rep_limit;	  /* REP iterations per call before returning to the guest; 0: 256 */
	struct x86_fault fault; /* set when x86_emulate() returns -EIO */
};

/*
 * Emulate one decoded instruction (decoded in ctx->mode) against ctx.
 * Emulated: MOV (88-8B, C6/C7, A0-A3 moffs, B0-BF), MOVZX, MOVSX, MOVSXD, MOVNTI,
 * MOVS/STOS/LODS with REP, ADD/OR/ADC/SBB/AND/SUB/XOR/CMP/TEST (all forms), NOT, NEG,
 * INC, DEC, XCHG (86/87), BT/BTS/BTR/BTC, CMPXCHG, XADD, CMPXCHG8B/16B; every operand
 * size and addressing mode in 16/32/64-bit code. LOCK is accepted but not atomic
 * against other vCPUs: memory is read, computed and written through the callbacks.
 * Segment limits/rights, alignment checks (#AC), RFLAGS.TF/RF and #DB are the
 * caller's business.
 * Returns:
 *   0        done: registers, RFLAGS, memory and RIP updated (a REP string op cut
 *            at rep_limit leaves RIP on the instruction, so the guest runs it again);
 *   -ENOSYS  not emulated: log it (x86_insn_describe) and inject #UD or stop the VM;
 *   -EIO     inject ctx->fault; state is as the CPU leaves it on that fault;
 *   other    a callback's own error, returned unchanged.
 */
int x86_emulate(struct x86_emu_ctx *ctx, const struct x86_insn *insn);

/* For callbacks and the emulator: record an exception to inject; returns -EIO. */
int x86_emu_raise(struct x86_emu_ctx *ctx, u8 vector, bool has_error_code, u32 error_code,
		  u64 address);

#endif
