/* SVM exit decoding: EXITCODE/EXITINFO of the VMCB turned into the common struct vm_exit. */
#include "arch/x86/svm/svm_internal.h"
#include "hv/decode.h"
#include "lib/string.h"

#define X86_VEC_UD 6

/* Exceptions that push an error code (APM vol. 2 8.2, table 8-1). */
#define EXC_HAS_ERROR_CODE (BIT(8) | BIT(10) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(17) | \
			    BIT(21) | BIT(29) | BIT(30))
#define X86_VEC_PF 14

/* How one exit code maps onto the common record. */
struct svm_exit_kind {
	const char *name;           /* APM name, lower case */
	u8 reason;                  /* enum exit_reason */
	bool insn;                  /* an instruction intercept: nRIP gives its length */
};

#define K(code, nm, r, i) [code] = { nm, r, i }

/*
 * Every exit code from 0x60 to 0x8f, by its APM vol. 2 appendix C name.
 * SVM instructions (VMLOAD, STGI, ...) and MONITOR/MWAIT are not offered to
 * guests (CPUID and EFER.SVME say so), so they appear as the #UD the guest
 * would have seen; the core reflects an EXIT_EXCEPTION into the guest.
 */
static const struct svm_exit_kind svm_exit_misc[] = {
	K(SVM_EXIT_INTR, "intr", EXIT_EXTINT, false),
	K(SVM_EXIT_NMI, "nmi", EXIT_NMI, false),
	K(SVM_EXIT_SMI, "smi", EXIT_EXTINT, false),
	K(SVM_EXIT_INIT, "init", EXIT_UNHANDLED, false),
	K(SVM_EXIT_VINTR, "vintr", EXIT_IRQ_WINDOW, false),
	K(SVM_EXIT_CR0_SEL_WRITE, "cr0_sel_write", EXIT_CR_ACCESS, true),
	K(SVM_EXIT_IDTR_READ, "idtr_read", EXIT_UNHANDLED, true),
	K(SVM_EXIT_GDTR_READ, "gdtr_read", EXIT_UNHANDLED, true),
	K(SVM_EXIT_LDTR_READ, "ldtr_read", EXIT_UNHANDLED, true),
	K(SVM_EXIT_TR_READ, "tr_read", EXIT_UNHANDLED, true),
	K(SVM_EXIT_IDTR_WRITE, "idtr_write", EXIT_UNHANDLED, true),
	K(SVM_EXIT_GDTR_WRITE, "gdtr_write", EXIT_UNHANDLED, true),
	K(SVM_EXIT_LDTR_WRITE, "ldtr_write", EXIT_UNHANDLED, true),
	K(SVM_EXIT_TR_WRITE, "tr_write", EXIT_UNHANDLED, true),
	K(SVM_EXIT_RDTSC, "rdtsc", EXIT_RDTSC, true),
	K(SVM_EXIT_RDPMC, "rdpmc", EXIT_UNHANDLED, true),
	K(SVM_EXIT_PUSHF, "pushf", EXIT_UNHANDLED, true),
	K(SVM_EXIT_POPF, "popf", EXIT_UNHANDLED, true),
	K(SVM_EXIT_CPUID, "cpuid", EXIT_CPUID, true),
	K(SVM_EXIT_RSM, "rsm", EXIT_UNHANDLED, true),
	K(SVM_EXIT_IRET, "iret", EXIT_NMI_WINDOW, false),
	K(SVM_EXIT_SWINT, "swint", EXIT_UNHANDLED, true),
	K(SVM_EXIT_INVD, "invd", EXIT_UNHANDLED, true),
	K(SVM_EXIT_PAUSE, "pause", EXIT_PAUSE, true),
	K(SVM_EXIT_HLT, "hlt", EXIT_HLT, true),
	K(SVM_EXIT_INVLPG, "invlpg", EXIT_INVLPG, true),
	K(SVM_EXIT_INVLPGA, "invlpga", EXIT_EXCEPTION, true),
	K(SVM_EXIT_IOIO, "ioio", EXIT_IO, true),
	K(SVM_EXIT_MSR, "msr", EXIT_MSR_READ, true),
	K(SVM_EXIT_TASK_SWITCH, "task_switch", EXIT_UNHANDLED, false),
	K(SVM_EXIT_FERR_FREEZE, "ferr_freeze", EXIT_UNHANDLED, false),
	K(SVM_EXIT_SHUTDOWN, "shutdown", EXIT_TRIPLE_FAULT, false),
	K(SVM_EXIT_VMRUN, "vmrun", EXIT_EXCEPTION, true),
	K(SVM_EXIT_VMMCALL, "vmmcall", EXIT_HYPERCALL, true),
	K(SVM_EXIT_VMLOAD, "vmload", EXIT_EXCEPTION, true),
	K(SVM_EXIT_VMSAVE, "vmsave", EXIT_EXCEPTION, true),
	K(SVM_EXIT_STGI, "stgi", EXIT_EXCEPTION, true),
	K(SVM_EXIT_CLGI, "clgi", EXIT_EXCEPTION, true),
	K(SVM_EXIT_SKINIT, "skinit", EXIT_EXCEPTION, true),
	K(SVM_EXIT_RDTSCP, "rdtscp", EXIT_UNHANDLED, true),
	K(SVM_EXIT_ICEBP, "icebp", EXIT_UNHANDLED, false),
	K(SVM_EXIT_WBINVD, "wbinvd", EXIT_UNHANDLED, true),
	K(SVM_EXIT_MONITOR, "monitor", EXIT_EXCEPTION, true),
	K(SVM_EXIT_MWAIT, "mwait", EXIT_EXCEPTION, true),
	K(SVM_EXIT_MWAIT_COND, "mwait_conditional", EXIT_EXCEPTION, true),
	K(SVM_EXIT_XSETBV, "xsetbv", EXIT_XSETBV, true),
	K(SVM_EXIT_RDPRU, "rdpru", EXIT_UNHANDLED, true),
	K(SVM_EXIT_EFER_WRITE_TRAP, "efer_write_trap", EXIT_UNHANDLED, false),
};

_Static_assert(ARRAY_SIZE(svm_exit_misc) == SVM_EXIT_EFER_WRITE_TRAP + 1,
	       "exit table covers 0x60-0x8f");

static const char *const exc_names[32] = {
	"excp_de", "excp_db", "excp_nmi", "excp_bp", "excp_of", "excp_br", "excp_ud", "excp_nm",
	"excp_df", "excp_09", "excp_ts", "excp_np", "excp_ss", "excp_gp", "excp_pf", "excp_0f",
	"excp_mf", "excp_ac", "excp_mc", "excp_xf", "excp_14", "excp_cp", "excp_16", "excp_17",
	"excp_18", "excp_19", "excp_1a", "excp_1b", "excp_hv", "excp_vc", "excp_sx", "excp_1f",
};

static const char *const cr_names[2][16] = {
	{ "read_cr0", "read_cr1", "read_cr2", "read_cr3", "read_cr4", "read_cr5", "read_cr6", "read_cr7",
	  "read_cr8", "read_cr9", "read_cr10", "read_cr11", "read_cr12", "read_cr13", "read_cr14",
	  "read_cr15" },
	{ "write_cr0", "write_cr1", "write_cr2", "write_cr3", "write_cr4", "write_cr5", "write_cr6",
	  "write_cr7", "write_cr8", "write_cr9", "write_cr10", "write_cr11", "write_cr12",
	  "write_cr13", "write_cr14", "write_cr15" },
};

const char *svm_exit_name(u64 exitcode)
{
	if ((u32)exitcode == SVM_EXIT_INVALID)
		return "invalid";
	if (exitcode <= SVM_EXIT_WRITE_CR15)
		return cr_names[exitcode >= SVM_EXIT_WRITE_CR0][exitcode & 0xf];
	if (exitcode <= SVM_EXIT_WRITE_DR15)
		return exitcode < SVM_EXIT_WRITE_DR0 ? "read_dr" : "write_dr";
	if (exitcode <= SVM_EXIT_EXCP_LAST)
		return exc_names[exitcode - SVM_EXIT_EXCP_BASE];
	if (exitcode < ARRAY_SIZE(svm_exit_misc))
		return svm_exit_misc[exitcode].name;
	switch (exitcode) {
	case SVM_EXIT_NPF: return "npf";
	case SVM_EXIT_AVIC_INCOMPLETE_IPI: return "avic_incomplete_ipi";
	case SVM_EXIT_AVIC_NOACCEL: return "avic_noaccel";
	case SVM_EXIT_VMGEXIT: return "vmgexit";
	default: return "unknown";
	}
}

/* nRIP is the address after an intercepted instruction (APM 15.7.1); only some CPUs save it. */
static u32 insn_len_from(u64 rip, u64 next, bool known)
{
	u64 len = next - rip;

	if (!known || len == 0 || len > X86_MAX_INSN_LEN)
		return 0;
	return (u32)len;
}

static void decode_io(const struct vmcb *vmcb, u32 features, struct vm_exit *e)
{
	u64 info = vmcb->ctl.exitinfo1;

	e->io.port = (info & SVM_IOIO_PORT) >> SVM_IOIO_PORT_SHIFT;
	e->io.in = (info & SVM_IOIO_TYPE_IN) != 0;
	e->io.string = (info & SVM_IOIO_STR) != 0;
	e->io.rep = (info & SVM_IOIO_REP) != 0;
	e->io.size = (info & SVM_IOIO_SZ32) ? 4 : (info & SVM_IOIO_SZ16) ? 2 : 1;
	e->io.addr_size = (info & SVM_IOIO_A64) ? 8 : (info & SVM_IOIO_A32) ? 4 : 2;
	/* The segment field is filled only with decode assists; otherwise assume no override. */
	if (features & SVM_FEAT_DECODE_ASSISTS)
		e->io.seg = (info & SVM_IOIO_SEG) >> SVM_IOIO_SEG_SHIFT;
	else
		e->io.seg = X86_SEG_DS;
	/* EXITINFO2 is the next RIP on every SVM CPU. */
	e->insn_len = insn_len_from(vmcb->save.rip, vmcb->ctl.exitinfo2, true);
}

static void decode_npf(const struct vmcb *vmcb, struct vm_exit *e)
{
	u64 info = vmcb->ctl.exitinfo1;

	e->npf.gpa = vmcb->ctl.exitinfo2;
	e->npf.gva = 0;
	e->npf.gva_valid = false; /* SVM does not report the linear address */
	e->npf.present = (info & SVM_NPF_P) != 0;
	e->npf.write = (info & SVM_NPF_RW) != 0;
	e->npf.user = (info & SVM_NPF_US) != 0;
	e->npf.fetch = (info & SVM_NPF_ID) != 0;
}

static void decode_exception(const struct vmcb *vmcb, u32 vector, struct vm_exit *e)
{
	e->reason = EXIT_EXCEPTION;
	e->exc.vector = vector;
	e->exc.has_error_code = (EXC_HAS_ERROR_CODE & BIT(vector)) != 0;
	e->exc.error_code = e->exc.has_error_code ? (u32)vmcb->ctl.exitinfo1 : 0;
	e->exc.cr2 = vector == X86_VEC_PF ? vmcb->ctl.exitinfo2 : 0;
}

static void decode_cr(const struct vmcb *vmcb, u32 features, u8 cr, bool write, struct vm_exit *e)
{
	u64 info = vmcb->ctl.exitinfo1;

	e->reason = EXIT_CR_ACCESS;
	e->cr.cr = cr;
	e->cr.write = write;
	e->cr.gpr = 0xff;
	if ((features & SVM_FEAT_DECODE_ASSISTS) && (info & SVM_CR_INFO_VALID))
		e->cr.gpr = info & SVM_CR_INFO_GPR;
}

/* Exit codes 0x60-0x8f: the table, plus the fields some of them carry. */
static void decode_misc(const struct vmcb *vmcb, u64 rcx, u32 features, struct vm_exit *e)
{
	const struct svm_exit_kind *k = &svm_exit_misc[e->hw_code];

	e->reason = k->name ? k->reason : EXIT_UNHANDLED;
	if (k->name && k->insn)
		e->insn_len = insn_len_from(vmcb->save.rip, vmcb->ctl.next_rip,
					    (features & SVM_FEAT_NRIPS) != 0);
	switch (e->hw_code) {
	case SVM_EXIT_IOIO:
		decode_io(vmcb, features, e);
		break;
	case SVM_EXIT_MSR:
		e->reason = vmcb->ctl.exitinfo1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		e->msr.index = (u32)rcx;
		break;
	case SVM_EXIT_INVLPG:
		/* With decode assists EXITINFO1 is the linear address; else the core decodes. */
		e->invlpg.gva = (features & SVM_FEAT_DECODE_ASSISTS) ? vmcb->ctl.exitinfo1 : 0;
		break;
	case SVM_EXIT_CR0_SEL_WRITE:
		decode_cr(vmcb, features, 0, true, e);
		break;
	default:
		if (e->reason == EXIT_EXCEPTION) {
			e->exc.vector = X86_VEC_UD;
			e->exc.has_error_code = false;
		}
		break;
	}
}

void svm_exit_decode(const struct vmcb *vmcb, u64 rcx, u32 features, struct vm_exit *e)
{
	u64 code = vmcb->ctl.exitcode;

	memset(e, 0, sizeof(*e));
	e->hw_code = code;
	e->qual = vmcb->ctl.exitinfo1;
	e->info2 = vmcb->ctl.exitinfo2;
	if ((u32)code == SVM_EXIT_INVALID) {
		e->reason = EXIT_INVALID_STATE;
		e->invalid.error = 0;
		e->invalid.what = svm_vmcb_check(vmcb);
		if (!e->invalid.what)
			e->invalid.what = "VMRUN refused the guest state (no consistency check explains it)";
		return;
	}
	if (code <= SVM_EXIT_WRITE_CR15) {
		decode_cr(vmcb, features, code & 0xf, code >= SVM_EXIT_WRITE_CR0, e);
		e->insn_len = insn_len_from(vmcb->save.rip, vmcb->ctl.next_rip,
					    (features & SVM_FEAT_NRIPS) != 0);
	} else if (code >= SVM_EXIT_EXCP_BASE && code <= SVM_EXIT_EXCP_LAST) {
		decode_exception(vmcb, code - SVM_EXIT_EXCP_BASE, e);
	} else if (code >= SVM_EXIT_INTR && code < ARRAY_SIZE(svm_exit_misc)) {
		decode_misc(vmcb, rcx, features, e);
	} else if (code == SVM_EXIT_NPF) {
		e->reason = EXIT_NPF;
		decode_npf(vmcb, e);
	} else {
		e->reason = EXIT_UNHANDLED;
	}
}
