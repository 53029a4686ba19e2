/* Shadow paging exits: #PF (fill, reflect, emulate), control-register accesses, INVLPG. */
#include "hv/mmu/shadow.h"
#include "hv/emulate.h"
#include "hv/insn.h"
#include "hv/vcpu.h"
#include "hv/virt.h"
#include "hv/vm.h"
#include "lib/string.h"
#include "kernel/log.h"
#include "asm/cpu.h"

#define RFLAGS_VM BIT(17)
#define CR0_PE BIT(0)
#define CR0_TS BIT(3)
#define LMSW_BITS 0xfULL /* PE MP EM TS (SDM vol. 2A LMSW) */
#define OP_0F_MOV_FROM_CR 0x20
#define OP_0F_MOV_TO_CR 0x22
#define OP_0F_CLTS 0x06
#define OP_0F_GROUP7 0x01
#define GROUP7_SMSW 4
#define GROUP7_LMSW 6

static u64 size_mask(unsigned bytes) { return bytes >= 8 ? ~0ULL : (1ULL << (bytes * 8)) - 1; }

static u32 guest_cpl(const struct vcpu *v, const struct vcpu_sregs *s)
{
	if (!(s->cr0 & CR0_PE))
		return 0;
	if (v->regs.rflags & RFLAGS_VM)
		return 3;
	return (s->seg[VCPU_SEG_SS].attr >> 5) & 3;
}

/* Linear address of the instruction's memory operand (SDM vol. 1 3.7.5, 3.4.2.1). */
static gva_t operand_linear(const struct x86_insn *in, const struct vcpu_sregs *s,
			    const struct vcpu_regs *r)
{
	u64 ea = (u64)in->disp;
	int seg = in->seg;

	if (in->base >= 0)
		ea += r->gpr[in->base];
	if (in->index >= 0)
		ea += r->gpr[in->index] * in->scale;
	if (in->rip_rel)
		ea += r->rip + in->len;
	ea &= size_mask(in->adsize);
	if (seg == X86_SEG_NONE)
		seg = (in->base == X86_RSP || in->base == X86_RBP) ? X86_SEG_SS : X86_SEG_DS;
	if (vcpu_code_mode(s) == X86_MODE_64)
		return seg == X86_SEG_FS || seg == X86_SEG_GS ? ea + s->seg[seg].base : ea;
	return (s->seg[seg].base + ea) & 0xffffffffULL;
}

static enum exit_action crash(struct vcpu *v, const char *what)
{
	vm_end(v->vm, VM_CRASHED, "vcpu %u: shadow paging: %s at rip %#llx", v->id, what,
	       (unsigned long long)v->regs.rip);
	return EXIT_ACTION_END;
}

/* ---- emulation of an access the shadow must not allow, or of MMIO -------------------- */

struct semu {
	struct x86_emu_ctx emu;
	struct vcpu *v;
	struct vcpu_sregs s;
	struct walk_env env;
	u32 user;          /* WALK_USER at CPL 3 */
	gfn_t fault_gfn;   /* the frame whose write faulted */
	bool guard;        /* the first write must go to fault_gfn, else nothing is done */
	bool hit;          /* a write went to fault_gfn */
};

static int semu_mmio(struct semu *m, gpa_t gpa, void *buf, unsigned size, bool write)
{
	struct vm *vm = m->v->vm;

	for (unsigned off = 0; off < size;) {
		unsigned piece = size - off >= 8 && !((gpa + off) & 7) ? 8 :
				 size - off >= 4 && !((gpa + off) & 3) ? 4 :
				 size - off >= 2 && !((gpa + off) & 1) ? 2 : 1;
		u64 val = 0;
		int err;

		if (write) {
			memcpy(&val, (u8 *)buf + off, piece);
			err = io_bus_write(&vm->mmio, m->v, gpa + off, (u8)piece, val);
		} else {
			err = io_bus_read(&vm->mmio, m->v, gpa + off, (u8)piece, &val);
			memcpy((u8 *)buf + off, &val, piece);
		}
		if (err)
			return err;
		off += piece;
	}
	return 0;
}

/* One access within a page: translate (setting A/D as the CPU does), then RAM or devices. */
static int semu_page(struct semu *m, u64 gva, void *buf, unsigned size, bool write)
{
	struct vm *vm = m->v->vm;
	u32 access = (write ? WALK_WRITE : 0) | m->user;
	struct walk_result r;
	int err = guest_walk(&m->env, gva, access, &r);

	if (err == -EFAULT)
		return x86_emu_raise(&m->emu, X86_VEC_PF, true, r.pfec, gva);
	if (err)
		return x86_emu_raise(&m->emu, X86_VEC_PF, true,
				     walk_access_pfec(&m->env, access) | PFEC_P | PFEC_RSVD, gva);
	if (m->guard && !m->hit && (!write || !gmem_is_ram(&vm->mem, r.gpa, size) ||
				    (r.gpa >> 12) != m->fault_gfn))
		return write || !gmem_is_ram(&vm->mem, r.gpa, size) ? -EAGAIN
								   : gmem_read(&vm->mem, r.gpa, buf, size);
	if (!gmem_is_ram(&vm->mem, r.gpa, size))
		return semu_mmio(m, r.gpa, buf, size, write);
	if (!write)
		return gmem_read(&vm->mem, r.gpa, buf, size);
	m->hit = true;
	err = gmem_write(&vm->mem, r.gpa, buf, size);
	if (!err)
		shadow_guest_write(vm->shadow, r.gpa, size);
	return err;
}

static int semu_access(struct x86_emu_ctx *ctx, u64 gva, void *buf, unsigned size, bool write)
{
	struct semu *m = container_of(ctx, struct semu, emu);
	unsigned first = (unsigned)MIN((u64)size, 4096 - (gva & 0xfff));
	int err = semu_page(m, gva, buf, first, write);

	if (!err && first < size)
		err = semu_page(m, gva + first, (u8 *)buf + first, size - first, write);
	return err;
}

static int semu_read(struct x86_emu_ctx *ctx, u64 gva, void *buf, unsigned int size)
{
	return semu_access(ctx, gva, buf, size, false);
}

static int semu_write(struct x86_emu_ctx *ctx, u64 gva, const void *buf, unsigned int size)
{
	return semu_access(ctx, gva, (void *)buf, size, true);
}

static int semu_run(struct semu *m, const struct x86_insn *insn, bool guard)
{
	struct vcpu *v = m->v;

	memset(&m->emu, 0, sizeof(m->emu));
	memcpy(m->emu.gpr, v->regs.gpr, sizeof(m->emu.gpr));
	m->emu.rip = v->regs.rip;
	m->emu.rflags = v->regs.rflags;
	for (int i = 0; i < 6; i++)
		m->emu.seg_base[i] = m->s.seg[i].base;
	m->emu.mode = vcpu_code_mode(&m->s);
	m->emu.read_mem = semu_read;
	m->emu.write_mem = semu_write;
	m->guard = guard;
	m->hit = false;
	shadow_cpu_walk_env(v->shadow, v->regs.rflags, &m->env);
	return x86_emulate(&m->emu, insn);
}

static enum exit_action semu_finish(struct vcpu *v, struct semu *m, const struct x86_insn *insn,
				    int err)
{
	char desc[96];

	if (err == 0) {
		memcpy(v->regs.gpr, m->emu.gpr, sizeof(v->regs.gpr));
		v->regs.rip = m->emu.rip;
		v->regs.rflags = m->emu.rflags;
		return EXIT_ACTION_RESUME;
	}
	if (err == -EIO) {
		if (m->emu.fault.vector == X86_VEC_PF)
			vcpu_queue_page_fault(v, m->emu.fault.error_code, m->emu.fault.address);
		else
			vcpu_queue_exception(v, m->emu.fault.vector, m->emu.fault.has_error_code,
					     m->emu.fault.error_code);
		return EXIT_ACTION_RESUME;
	}
	x86_insn_describe(insn, desc, sizeof(desc));
	if (err == -ENOSYS) {
		pr_warn("vm %s vcpu %u: memory access by an instruction not emulated: %s: #UD\n",
			v->vm->name, v->id, desc);
		vcpu_queue_exception(v, X86_VEC_UD, false, 0);
		return EXIT_ACTION_RESUME;
	}
	vm_end(v->vm, VM_CRASHED, "vcpu %u: emulation failed (%d): %s", v->id, err, desc);
	return EXIT_ACTION_END;
}

enum emul_kind {
	EMUL_MMIO,      /* the address is not RAM */
	EMUL_PROTECTED, /* a write to a guest page table (write-protected in the shadow) */
	EMUL_WP0,       /* a supervisor write to a read-only page with CR0.WP=0 */
};

/*
 * Emulate the instruction at CS:RIP. For a write the shadow refused, the
 * instruction's first write must go to the faulting frame: else (a fault
 * while the CPU delivered an event, or no such instruction there) nothing is
 * done, and neither when the emulator does not know the instruction; a guest
 * table frame is then unprotected and the guest runs the instruction again
 * natively. Reads before that first write touch RAM only.
 */
static enum exit_action emulate_at_rip(struct vcpu *v, gpa_t gpa, enum emul_kind kind)
{
	struct semu m = { .v = v, .fault_gfn = gpa >> 12 };
	struct x86_insn insn;
	int err;

	virt->get_sregs(v, &m.s);
	m.user = guest_cpl(v, &m.s) == 3 ? WALK_USER : 0;
	if (vcpu_decode_current(v, &m.s, &insn)) {
		if (kind != EMUL_PROTECTED)
			return crash(v, "cannot read or decode the instruction that faulted");
		shadow_unprotect(v->vm->shadow, gpa >> 12);
		return EXIT_ACTION_RESUME;
	}
	err = semu_run(&m, &insn, kind != EMUL_MMIO);
	if (kind != EMUL_MMIO && !m.hit && (err == -EAGAIN || err == -ENOSYS || err == -EIO || !err)) {
		if (kind == EMUL_WP0)
			return crash(v, "a supervisor write to a read-only page with CR0.WP=0 that "
				     "cannot be emulated");
		shadow_unprotect(v->vm->shadow, gpa >> 12);
		return EXIT_ACTION_RESUME;
	}
	return semu_finish(v, &m, &insn, err);
}

/* ---- #PF ------------------------------------------------------------------------------ */

static enum exit_action handle_page_fault(struct vcpu *v, struct vm_exit *e)
{
	struct shadow_fault_info info;
	gva_t gva = e->exc.cr2;

	switch (shadow_page_fault(v->shadow, gva, e->exc.error_code, v->regs.rflags, &info)) {
	case SHADOW_FIXED:
		return EXIT_ACTION_RESUME;
	case SHADOW_INJECT:
		vcpu_queue_page_fault(v, info.pfec, gva);
		return EXIT_ACTION_RESUME;
	case SHADOW_MMIO:
		if (e->exc.error_code & PFEC_I) {
			vm_end(v->vm, VM_CRASHED, "vcpu %u: executing from %#llx, which is not RAM "
			       "(rip %#llx)", v->id, (unsigned long long)info.gpa,
			       (unsigned long long)v->regs.rip);
			return EXIT_ACTION_END;
		}
		return emulate_at_rip(v, info.gpa, EMUL_MMIO);
	case SHADOW_EMULATE:
		return emulate_at_rip(v, info.gpa, info.wp0 ? EMUL_WP0 : EMUL_PROTECTED);
	case SHADOW_FATAL:
	default:
		return crash(v, info.why ? info.why : "page fault not handled");
	}
}

/* ---- control registers ------------------------------------------------------------------ */

/* LMSW r/m16 and SMSW r/m: the register or memory operand (SDM vol. 2A). */
static int msw_operand(struct vcpu *v, const struct vcpu_sregs *s, const struct x86_insn *in,
		       u64 *val, bool write)
{
	gva_t gva;
	u16 w = (u16)*val;

	if (!in->has_mem) {
		u64 *reg = &v->regs.gpr[in->rm];

		if (!write)
			*val = *reg;
		else if (in->opsize == 2)
			*reg = (*reg & ~0xffffULL) | (*val & 0xffff);
		else
			*reg = *val & size_mask(in->opsize);
		return 0;
	}
	gva = operand_linear(in, s, &v->regs);
	if (!write) {
		int err = vcpu_read_gva(v, gva, &w, sizeof(w));

		*val = w;
		return err;
	}
	return vcpu_write_gva(v, gva, &w, sizeof(w));
}

/* MOV from/to CR0/CR3/CR4, CLTS, LMSW, SMSW: decoded here (no decode assists needed). */
static enum exit_action handle_cr(struct vcpu *v, struct vm_exit *e)
{
	struct shadow_cpu *sc = v->shadow;
	struct vcpu_sregs s;
	struct x86_insn in;
	bool wide, write = true;
	int cr = 0, err;
	u64 val = 0;

	virt->get_sregs(v, &s);
	if (vcpu_decode_current(v, &s, &in) || in.map != X86_MAP_0F)
		return crash(v, "cannot decode the control-register access");
	wide = vcpu_code_mode(&s) == X86_MODE_64;
	switch (in.opcode) {
	case OP_0F_MOV_FROM_CR:
	case OP_0F_MOV_TO_CR:
		cr = in.reg;
		if (cr != 0 && cr != 3 && cr != 4)
			return crash(v, "access to a control register that is not intercepted");
		if (in.opcode == OP_0F_MOV_FROM_CR) {
			val = shadow_cpu_read_cr(sc, cr);
			v->regs.gpr[in.rm] = wide ? val : (u32)val;
			v->regs.rip += in.len;
			return EXIT_ACTION_RESUME;
		}
		val = wide ? v->regs.gpr[in.rm] : (u32)v->regs.gpr[in.rm];
		break;
	case OP_0F_CLTS:
		val = shadow_cpu_read_cr(sc, 0) & ~CR0_TS;
		break;
	case OP_0F_GROUP7:
		if ((in.reg & 7) == GROUP7_SMSW) {
			val = shadow_cpu_read_cr(sc, 0);
			write = false;
		} else if ((in.reg & 7) != GROUP7_LMSW) {
			return crash(v, "unexpected instruction in a control-register exit");
		}
		if (msw_operand(v, &s, &in, &val, !write))
			return crash(v, "cannot reach the operand of LMSW/SMSW");
		if (!write) {
			v->regs.rip += in.len;
			return EXIT_ACTION_RESUME;
		}
		/* LMSW loads PE MP EM TS; it can set PE but never clear it. */
		val = (shadow_cpu_read_cr(sc, 0) & ~(LMSW_BITS & ~CR0_PE)) | (val & LMSW_BITS);
		break;
	default:
		return crash(v, "unexpected instruction in a control-register exit");
	}
	err = shadow_cpu_write_cr(sc, cr, val, wide && (s.seg[VCPU_SEG_CS].attr & SEG_ATTR_L));
	if (err) {
		vcpu_queue_exception(v, X86_VEC_GP, true, 0);
		return EXIT_ACTION_RESUME;
	}
	v->regs.rip += in.len;
	return EXIT_ACTION_RESUME;
}

/* ---- INVLPG ------------------------------------------------------------------------------------ */

static enum exit_action handle_invlpg(struct vcpu *v, struct vm_exit *e)
{
	struct vcpu_sregs s;
	struct x86_insn in;

	virt->get_sregs(v, &s);
	if (vcpu_decode_current(v, &s, &in) || in.op != X86_OP_INVLPG || !in.has_mem)
		return crash(v, "cannot decode INVLPG");
	shadow_invlpg(v->shadow, operand_linear(&in, &s, &v->regs));
	v->regs.rip += in.len;
	return EXIT_ACTION_RESUME;
}

bool shadow_handle_exit(struct vcpu *v, struct vm_exit *e, enum exit_action *action)
{
	switch (e->reason) {
	case EXIT_EXCEPTION:
		if (e->exc.vector != X86_VEC_PF)
			return false;
		*action = handle_page_fault(v, e);
		return true;
	case EXIT_CR_ACCESS:
		*action = handle_cr(v, e);
		return true;
	case EXIT_INVLPG:
		*action = handle_invlpg(v, e);
		return true;
	default:
		return false;
	}
}
