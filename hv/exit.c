/* Dispatch of VM exits to the vendor-neutral handlers (one entry per exit reason). */
#include "hv/exit_handlers.h"
#include "hv/cpuid.h"
#include "hv/insn.h"
#include "hv/msr.h"
#include "hv/vcpu.h"
#include "hv/vm.h"
#include "hv/mmu/shadow.h"
#include "hv/mmu/walk.h"
#include "hv/dev/vlapic.h"
#include "kernel/log.h"
#include "asm/cpu.h"
#include "asm/time.h"

#define X86_VEC_GP 13
#define X86_VEC_UD 6
#define STRING_IO_BUDGET 1024 /* elements per exit; the guest re-executes REP for the rest */

typedef enum exit_action (*exit_handler_fn)(struct vcpu *v, struct vm_exit *e);

static const char *const reason_names[EXIT_NR] = {
	[EXIT_NONE] = "none", [EXIT_CPUID] = "cpuid", [EXIT_HLT] = "hlt", [EXIT_IO] = "io",
	[EXIT_MSR_READ] = "rdmsr", [EXIT_MSR_WRITE] = "wrmsr", [EXIT_NPF] = "npf",
	[EXIT_NPT_MISCONFIG] = "npt-misconfig", [EXIT_EXTINT] = "extint", [EXIT_NMI] = "nmi",
	[EXIT_HYPERCALL] = "hypercall", [EXIT_TRIPLE_FAULT] = "triple-fault",
	[EXIT_INVLPG] = "invlpg", [EXIT_CR_ACCESS] = "cr-access", [EXIT_EXCEPTION] = "exception",
	[EXIT_IRQ_WINDOW] = "irq-window", [EXIT_NMI_WINDOW] = "nmi-window", [EXIT_PAUSE] = "pause",
	[EXIT_XSETBV] = "xsetbv", [EXIT_RDTSC] = "rdtsc", [EXIT_INVALID_STATE] = "invalid-state",
	[EXIT_UNHANDLED] = "unhandled",
};

const char *exit_reason_name(enum exit_reason r)
{
	return r < EXIT_NR && reason_names[r] ? reason_names[r] : "?";
}

/* Move RIP past the exiting instruction (its length from the backend or the decoder). */
static enum exit_action skip_insn(struct vcpu *v, const struct vm_exit *e)
{
	u32 len = e->insn_len ? e->insn_len : vcpu_insn_length(v);

	if (!len) {
		vm_end(v->vm, VM_CRASHED, "vcpu %u: cannot read the instruction at rip %#llx after a "
		       "%s exit", v->id, (unsigned long long)v->regs.rip, exit_reason_name(e->reason));
		return EXIT_ACTION_END;
	}
	v->regs.rip += len;
	return EXIT_ACTION_RESUME;
}

static void host_cpuid(u32 leaf, u32 sub, struct cpuid_regs *r)
{
	cpuid_count(leaf, sub, &r->eax, &r->ebx, &r->ecx, &r->edx);
}

static enum exit_action handle_cpuid(struct vcpu *v, struct vm_exit *e)
{
	struct cpuid_env env = {
		.host_cpuid = host_cpuid,
		.vcpu_id = v->id,
		.nr_vcpus = v->vm->nr_vcpus,
		.tsc_khz = tsc_hz() / 1000,
		.lapic_khz = VLAPIC_TIMER_HZ / 1000,
	};
	struct cpuid_regs r;
	u64 *g = v->regs.gpr;

	cpuid_policy(&env, (u32)g[VCPU_RAX], (u32)g[VCPU_RCX], &r);
	g[VCPU_RAX] = r.eax;
	g[VCPU_RBX] = r.ebx;
	g[VCPU_RCX] = r.ecx;
	g[VCPU_RDX] = r.edx;
	return skip_insn(v, e);
}

static enum exit_action handle_hlt(struct vcpu *v, struct vm_exit *e)
{
	enum exit_action a = skip_insn(v, e);

	return a == EXIT_ACTION_RESUME ? EXIT_ACTION_HALT : a;
}

static u64 size_mask(u8 bytes) { return bytes >= 8 ? ~0ULL : (1ULL << (bytes * 8)) - 1; }

/* Write the low `bytes` of a register as the CPU does (32-bit writes zero-extend). */
static void set_reg_sized(u64 *reg, u64 val, u8 bytes)
{
	if (bytes >= 4)
		*reg = val & size_mask(bytes);
	else
		*reg = (*reg & ~size_mask(bytes)) | (val & size_mask(bytes));
}

static enum exit_action io_failed(struct vcpu *v, int err, u16 port)
{
	vm_end(v->vm, VM_CRASHED, "vcpu %u: device error %d on port %#x", v->id, err, port);
	return EXIT_ACTION_END;
}

static enum exit_action handle_string_io(struct vcpu *v, struct vm_exit *e)
{
	struct vcpu_sregs s;
	struct x86_insn insn;
	u64 *g = v->regs.gpr;
	u8 size = e->io.size, asz;
	u64 amask, count, done = 0;
	int seg, step;

	virt->get_sregs(v, &s);
	if (vcpu_decode_current(v, &s, &insn)) {
		vm_end(v->vm, VM_CRASHED, "vcpu %u: cannot decode string I/O at rip %#llx", v->id,
		       (unsigned long long)v->regs.rip);
		return EXIT_ACTION_END;
	}
	asz = insn.adsize;
	amask = size_mask(asz);
	/* OUTS: DS unless overridden (X86_SEG_NONE is 7, which is not a data segment). */
	seg = e->io.in ? VCPU_SEG_ES : (insn.seg <= X86_SEG_GS ? insn.seg : VCPU_SEG_DS);
	count = e->io.rep ? (g[VCPU_RCX] & amask) : 1;
	step = (v->regs.rflags & X86_RFLAGS_DF) ? -(int)size : (int)size;
	for (; done < count && done < STRING_IO_BUDGET; done++) {
		int reg = e->io.in ? VCPU_RDI : VCPU_RSI;
		u64 off = g[reg] & amask;
		gva_t gva = (vcpu_code_mode(&s) == X86_MODE_64 && seg < VCPU_SEG_FS ? 0 : s.seg[seg].base) + off;
		u64 val = 0;
		int err;

		if (e->io.in) {
			err = io_bus_read(&v->vm->pio, v, e->io.port, size, &val);
			if (!err)
				err = vcpu_write_gva(v, gva, &val, size);
		} else {
			err = vcpu_read_gva(v, gva, &val, size);
			if (!err)
				err = io_bus_write(&v->vm->pio, v, e->io.port, size, val);
		}
		if (err == -EFAULT) {
			/* The guest's buffer is not mapped: let it take the page fault. */
			u32 pfec = 0;
			gpa_t gpa;

			vcpu_translate(v, &s, gva, e->io.in ? WALK_WRITE : 0, &gpa, &pfec);
			vcpu_queue_page_fault(v, pfec, gva);
			break;
		}
		if (err)
			return io_failed(v, err, e->io.port);
		set_reg_sized(&g[reg], off + (u64)(s64)step, asz);
		if (e->io.rep)
			set_reg_sized(&g[VCPU_RCX], (g[VCPU_RCX] & amask) - 1, asz);
	}
	if (v->event.pending || (e->io.rep && (g[VCPU_RCX] & amask)))
		return EXIT_ACTION_RESUME; /* not finished: the guest executes it again */
	v->regs.rip += insn.len;
	return EXIT_ACTION_RESUME;
}

static enum exit_action handle_io(struct vcpu *v, struct vm_exit *e)
{
	u64 *rax = &v->regs.gpr[VCPU_RAX];
	u64 val;
	int err;

	if (e->io.string)
		return handle_string_io(v, e);
	if (e->io.in) {
		err = io_bus_read(&v->vm->pio, v, e->io.port, e->io.size, &val);
		if (!err)
			set_reg_sized(rax, val, e->io.size);
	} else {
		err = io_bus_write(&v->vm->pio, v, e->io.port, e->io.size, *rax & size_mask(e->io.size));
	}
	if (err)
		return io_failed(v, err, e->io.port);
	if (v->vm->state != VM_RUNNING && v->vm->state != VM_PAUSED)
		return EXIT_ACTION_END; /* e.g. the debug-exit port ended it */
	return skip_insn(v, e);
}

static enum exit_action handle_msr(struct vcpu *v, struct vm_exit *e)
{
	u64 *g = v->regs.gpr;
	u32 index = (u32)g[VCPU_RCX];
	u64 val;

	if (e->reason == EXIT_MSR_READ) {
		if (hv_msr_read(v, index, &val)) {
			vcpu_queue_exception(v, X86_VEC_GP, true, 0);
			return EXIT_ACTION_RESUME;
		}
		g[VCPU_RAX] = (u32)val;
		g[VCPU_RDX] = val >> 32;
	} else if (hv_msr_write(v, index, (g[VCPU_RDX] << 32) | (u32)g[VCPU_RAX])) {
		vcpu_queue_exception(v, X86_VEC_GP, true, 0);
		return EXIT_ACTION_RESUME;
	}
	return skip_insn(v, e);
}

static enum exit_action handle_npf(struct vcpu *v, struct vm_exit *e)
{
	if (e->npf.fetch) {
		vm_end(v->vm, VM_CRASHED, "vcpu %u: executing from %#llx, which is not RAM (rip %#llx)",
		       v->id, (unsigned long long)e->npf.gpa, (unsigned long long)v->regs.rip);
		return EXIT_ACTION_END;
	}
	if (hv_emulate_mmio(v, e))
		return EXIT_ACTION_END;
	return v->vm->state == VM_RUNNING || v->vm->state == VM_PAUSED ? EXIT_ACTION_RESUME
								       : EXIT_ACTION_END;
}

static enum exit_action handle_nothing(struct vcpu *v, struct vm_exit *e) { return EXIT_ACTION_RESUME; }

/* Hypercalls: RAX = number. 0: "are you there?" -> RAX = 'H','V' signature. Others: -ENOSYS. */
#define HC_PING 0
#define HC_PING_REPLY 0x4856U
static enum exit_action handle_hypercall(struct vcpu *v, struct vm_exit *e)
{
	u64 *rax = &v->regs.gpr[VCPU_RAX];

	*rax = *rax == HC_PING ? HC_PING_REPLY : (u64)-(s64)ENOSYS;
	return skip_insn(v, e);
}

static enum exit_action handle_triple_fault(struct vcpu *v, struct vm_exit *e)
{
	vm_end(v->vm, VM_CRASHED, "vcpu %u: triple fault (shutdown) at rip %#llx", v->id,
	       (unsigned long long)v->regs.rip);
	return EXIT_ACTION_END;
}

static enum exit_action handle_invlpg(struct vcpu *v, struct vm_exit *e)
{
	/* With nested paging the guest's own TLB entries are tagged by ASID/VPID: flush them. */
	virt->flush_guest_tlb(v);
	return skip_insn(v, e);
}

static enum exit_action handle_unexpected(struct vcpu *v, struct vm_exit *e);

/* CR4 bits a guest may set: those whose features the CPUID policy can offer. */
#define CR4_GUEST_VALID (X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE | \
			 X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR | \
			 X86_CR4_OSXMMEXCPT | X86_CR4_FSGSBASE | X86_CR4_SMEP | X86_CR4_SMAP)

#define X86_EFER_LME BIT(8)
#define X86_EFER_LMA BIT(10)

/* MOV to CR0/CR3/CR4 (SDM vol. 3A 2.5, 4.1.1): 0, or -EINVAL where the CPU raises #GP. */
static int cr_write(struct vcpu_sregs *s, u8 cr, u64 val)
{
	bool long_mode = (s->efer & X86_EFER_LMA) != 0;

	switch (cr) {
	case 0:
		val |= X86_CR0_ET;
		if ((val >> 32) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
		    ((val & X86_CR0_NW) && !(val & X86_CR0_CD)))
			return -EINVAL;
		if ((val & X86_CR0_PG) && !(s->cr0 & X86_CR0_PG) && (s->efer & X86_EFER_LME) &&
		    !(s->cr4 & X86_CR4_PAE))
			return -EINVAL;
		if (long_mode && !(val & X86_CR0_PG) && (s->seg[VCPU_SEG_CS].attr & SEG_ATTR_L))
			return -EINVAL;
		s->cr0 = val;
		if ((s->efer & X86_EFER_LME) && (val & X86_CR0_PG))
			s->efer |= X86_EFER_LMA;
		else
			s->efer &= ~X86_EFER_LMA;
		return 0;
	case 3:
		s->cr3 = val;
		return 0;
	case 4:
		if ((val & ~CR4_GUEST_VALID) || (long_mode && !(val & X86_CR4_PAE)))
			return -EINVAL;
		s->cr4 = val;
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * A control-register access the backend had to intercept (VMX: bits its
 * CR0/CR4 guest/host masks own, or CR3 where the CPU forces exiting). The
 * backend names the register and the general register; the core does the rest.
 */
static enum exit_action handle_cr_access(struct vcpu *v, struct vm_exit *e)
{
	struct vcpu_sregs s;
	u64 *reg, val;
	bool wide;

	if (e->cr.gpr >= VCPU_NR_GPRS || (e->cr.cr != 0 && e->cr.cr != 3 && e->cr.cr != 4))
		return handle_unexpected(v, e);
	virt->get_sregs(v, &s);
	wide = vcpu_code_mode(&s) == X86_MODE_64;
	reg = &v->regs.gpr[e->cr.gpr];
	if (!e->cr.write) {
		val = e->cr.cr == 0 ? s.cr0 : e->cr.cr == 3 ? s.cr3 : s.cr4;
		*reg = wide ? val : (u32)val;
		return skip_insn(v, e);
	}
	val = wide ? *reg : (u32)*reg;
	if (cr_write(&s, e->cr.cr, val)) {
		vcpu_queue_exception(v, X86_VEC_GP, true, 0);
		return EXIT_ACTION_RESUME;
	}
	virt->set_sregs(v, &s);
	virt->flush_guest_tlb(v); /* paging changes flush the TLB on hardware too */
	return skip_insn(v, e);
}

static enum exit_action handle_irq_window(struct vcpu *v, struct vm_exit *e)
{
	virt->request_irq_window(v, false);
	return EXIT_ACTION_RESUME;
}

static enum exit_action handle_xsetbv(struct vcpu *v, struct vm_exit *e)
{
	/* XSAVE is not offered (CPUID): XSETBV is undefined for the guest. */
	vcpu_queue_exception(v, X86_VEC_UD, false, 0);
	return EXIT_ACTION_RESUME;
}

/*
 * An exception the backend reports for the guest: reflect it. Nested paging
 * intercepts none, but SVM reports the SVM instructions a guest may not use
 * (VMLOAD, STGI, ...) as the #UD the guest must get. #MC (18) is the host's.
 */
static enum exit_action handle_exception(struct vcpu *v, struct vm_exit *e)
{
	if (e->exc.vector == 18 || e->exc.vector > 31)
		return handle_unexpected(v, e);
	if (e->exc.vector == 14)
		vcpu_queue_page_fault(v, e->exc.error_code, e->exc.cr2);
	else
		vcpu_queue_exception(v, e->exc.vector, e->exc.has_error_code, e->exc.error_code);
	return EXIT_ACTION_RESUME;
}

static enum exit_action handle_invalid(struct vcpu *v, struct vm_exit *e)
{
	vm_end(v->vm, VM_CRASHED, "vcpu %u: VM entry refused the guest state: %s (%u)", v->id,
	       e->invalid.what ? e->invalid.what : "no details", e->invalid.error);
	return EXIT_ACTION_END;
}

static enum exit_action handle_unexpected(struct vcpu *v, struct vm_exit *e)
{
	vm_end(v->vm, VM_CRASHED, "vcpu %u: unexpected exit %s (hardware code %#llx, info %#llx) "
	       "at rip %#llx", v->id, exit_reason_name(e->reason), (unsigned long long)e->hw_code,
	       (unsigned long long)e->qual, (unsigned long long)v->regs.rip);
	return EXIT_ACTION_END;
}

static const exit_handler_fn handlers[EXIT_NR] = {
	[EXIT_CPUID] = handle_cpuid,
	[EXIT_HLT] = handle_hlt,
	[EXIT_IO] = handle_io,
	[EXIT_MSR_READ] = handle_msr,
	[EXIT_MSR_WRITE] = handle_msr,
	[EXIT_NPF] = handle_npf,
	[EXIT_NPT_MISCONFIG] = handle_unexpected,
	[EXIT_EXTINT] = handle_nothing,  /* the host took the interrupt when it re-enabled them */
	[EXIT_NMI] = handle_nothing,
	[EXIT_HYPERCALL] = handle_hypercall,
	[EXIT_TRIPLE_FAULT] = handle_triple_fault,
	[EXIT_INVLPG] = handle_invlpg,
	[EXIT_CR_ACCESS] = handle_cr_access,
	[EXIT_EXCEPTION] = handle_exception,
	[EXIT_IRQ_WINDOW] = handle_irq_window,
	[EXIT_NMI_WINDOW] = handle_nothing,
	[EXIT_PAUSE] = handle_nothing,
	[EXIT_XSETBV] = handle_xsetbv,
	[EXIT_RDTSC] = handle_unexpected,
	[EXIT_INVALID_STATE] = handle_invalid,
	[EXIT_UNHANDLED] = handle_unexpected,
};

enum exit_action hv_handle_exit(struct vcpu *v, struct vm_exit *e)
{
	enum exit_action shadow_action;

	if (v->shadow && shadow_handle_exit(v, e, &shadow_action))
		return shadow_action; /* #PF, CR access, INVLPG of a shadow-paged vCPU */
	if (e->reason <= EXIT_NONE || e->reason >= EXIT_NR || !handlers[e->reason]) {
		e->reason = EXIT_UNHANDLED;
		return handle_unexpected(v, e);
	}
	return handlers[e->reason](v, e);
}
