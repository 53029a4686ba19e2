/* VMX exit decoding: exit reasons and qualifications turned into the common struct vm_exit; error words. */
#include "arch/x86/vmx/vmx_internal.h"
#include "hv/decode.h"
#include "lib/string.h"

#define X86_VEC_NMI 2
#define X86_VEC_UD 6
#define X86_VEC_PF 14

/* How one basic exit reason maps onto the common record. */
struct vmx_exit_kind {
	const char *name;   /* SDM vol. 3C appendix C wording */
	u8 reason;          /* enum exit_reason */
	bool insn;          /* caused by an instruction: the exit instruction length is valid */
};

#define K(code, nm, r, i) [code] = { nm, r, i }

/*
 * Every basic exit reason of appendix C. The VMX instructions, GETSEC and
 * MONITOR/MWAIT are not offered to guests (CPUID hides VMX, SMX and MONITOR;
 * CR4.VMXE reads as 0), so they exit as the #UD the guest must get. The core
 * ends the VM on the reasons it has no handler for (INVD, RSM, task switch...)
 * with the reason's name in the log.
 */
static const struct vmx_exit_kind vmx_exits[VMX_EXIT_REASON_MAX] = {
	K(EXIT_REASON_EXCEPTION_NMI, "exception or NMI", EXIT_EXCEPTION, false),
	K(EXIT_REASON_EXTERNAL_INTERRUPT, "external interrupt", EXIT_EXTINT, false),
	K(EXIT_REASON_TRIPLE_FAULT, "triple fault", EXIT_TRIPLE_FAULT, false),
	K(EXIT_REASON_INIT_SIGNAL, "INIT signal", EXIT_UNHANDLED, false),
	K(EXIT_REASON_SIPI, "start-up IPI", EXIT_UNHANDLED, false),
	K(EXIT_REASON_IO_SMI, "I/O SMI", EXIT_UNHANDLED, false),
	K(EXIT_REASON_OTHER_SMI, "other SMI", EXIT_UNHANDLED, false),
	K(EXIT_REASON_INTERRUPT_WINDOW, "interrupt window", EXIT_IRQ_WINDOW, false),
	K(EXIT_REASON_NMI_WINDOW, "NMI window", EXIT_NMI_WINDOW, false),
	K(EXIT_REASON_TASK_SWITCH, "task switch", EXIT_UNHANDLED, false),
	K(EXIT_REASON_CPUID, "CPUID", EXIT_CPUID, true),
	K(EXIT_REASON_GETSEC, "GETSEC", EXIT_EXCEPTION, true),
	K(EXIT_REASON_HLT, "HLT", EXIT_HLT, true),
	K(EXIT_REASON_INVD, "INVD", EXIT_UNHANDLED, true),
	K(EXIT_REASON_INVLPG, "INVLPG", EXIT_INVLPG, true),
	K(EXIT_REASON_RDPMC, "RDPMC", EXIT_UNHANDLED, true),
	K(EXIT_REASON_RDTSC, "RDTSC", EXIT_RDTSC, true),
	K(EXIT_REASON_RSM, "RSM", EXIT_UNHANDLED, true),
	K(EXIT_REASON_VMCALL, "VMCALL", EXIT_HYPERCALL, true),
	K(EXIT_REASON_VMCLEAR, "VMCLEAR", EXIT_EXCEPTION, true),
	K(EXIT_REASON_VMLAUNCH, "VMLAUNCH", EXIT_EXCEPTION, true),
	K(EXIT_REASON_VMPTRLD, "VMPTRLD", EXIT_EXCEPTION, true),
	K(EXIT_REASON_VMPTRST, "VMPTRST", EXIT_EXCEPTION, true),
	K(EXIT_REASON_VMREAD, "VMREAD", EXIT_EXCEPTION, true),
	K(EXIT_REASON_VMRESUME, "VMRESUME", EXIT_EXCEPTION, true),
	K(EXIT_REASON_VMWRITE, "VMWRITE", EXIT_EXCEPTION, true),
	K(EXIT_REASON_VMXOFF, "VMXOFF", EXIT_EXCEPTION, true),
	K(EXIT_REASON_VMXON, "VMXON", EXIT_EXCEPTION, true),
	K(EXIT_REASON_CR_ACCESS, "control-register access", EXIT_CR_ACCESS, true),
	K(EXIT_REASON_MOV_DR, "MOV DR", EXIT_UNHANDLED, true),
	K(EXIT_REASON_IO_INSTRUCTION, "I/O instruction", EXIT_IO, true),
	K(EXIT_REASON_RDMSR, "RDMSR", EXIT_MSR_READ, true),
	K(EXIT_REASON_WRMSR, "WRMSR", EXIT_MSR_WRITE, true),
	K(EXIT_REASON_INVALID_GUEST_STATE, "VM-entry failure due to invalid guest state",
	  EXIT_INVALID_STATE, false),
	K(EXIT_REASON_MSR_LOADING, "VM-entry failure due to MSR loading", EXIT_INVALID_STATE,
	  false),
	K(EXIT_REASON_MWAIT, "MWAIT", EXIT_EXCEPTION, true),
	K(EXIT_REASON_MONITOR_TRAP_FLAG, "monitor trap flag", EXIT_UNHANDLED, false),
	K(EXIT_REASON_MONITOR, "MONITOR", EXIT_EXCEPTION, true),
	K(EXIT_REASON_PAUSE, "PAUSE", EXIT_PAUSE, true),
	K(EXIT_REASON_MACHINE_CHECK, "VM-entry failure due to machine-check event",
	  EXIT_INVALID_STATE, false),
	K(EXIT_REASON_TPR_BELOW_THRESHOLD, "TPR below threshold", EXIT_UNHANDLED, false),
	K(EXIT_REASON_APIC_ACCESS, "APIC access", EXIT_UNHANDLED, false),
	K(EXIT_REASON_VIRTUALIZED_EOI, "virtualized EOI", EXIT_UNHANDLED, false),
	K(EXIT_REASON_GDTR_IDTR_ACCESS, "access to GDTR or IDTR", EXIT_UNHANDLED, true),
	K(EXIT_REASON_LDTR_TR_ACCESS, "access to LDTR or TR", EXIT_UNHANDLED, true),
	K(EXIT_REASON_EPT_VIOLATION, "EPT violation", EXIT_NPF, false),
	K(EXIT_REASON_EPT_MISCONFIG, "EPT misconfiguration", EXIT_NPT_MISCONFIG, false),
	K(EXIT_REASON_INVEPT, "INVEPT", EXIT_EXCEPTION, true),
	K(EXIT_REASON_RDTSCP, "RDTSCP", EXIT_UNHANDLED, true),
	/* Only a bound on the time in the guest: the host looks at its pending work. */
	K(EXIT_REASON_PREEMPTION_TIMER, "VMX-preemption timer expired", EXIT_EXTINT, false),
	K(EXIT_REASON_INVVPID, "INVVPID", EXIT_EXCEPTION, true),
	K(EXIT_REASON_WBINVD, "WBINVD or WBNOINVD", EXIT_UNHANDLED, true),
	K(EXIT_REASON_XSETBV, "XSETBV", EXIT_XSETBV, true),
	K(EXIT_REASON_APIC_WRITE, "APIC write", EXIT_UNHANDLED, false),
	K(EXIT_REASON_RDRAND, "RDRAND", EXIT_UNHANDLED, true),
	K(EXIT_REASON_INVPCID, "INVPCID", EXIT_UNHANDLED, true),
	K(EXIT_REASON_VMFUNC, "VMFUNC", EXIT_EXCEPTION, true),
	K(EXIT_REASON_ENCLS, "ENCLS", EXIT_UNHANDLED, true),
	K(EXIT_REASON_RDSEED, "RDSEED", EXIT_UNHANDLED, true),
	K(EXIT_REASON_PML_FULL, "page-modification log full", EXIT_UNHANDLED, false),
	K(EXIT_REASON_XSAVES, "XSAVES", EXIT_UNHANDLED, true),
	K(EXIT_REASON_XRSTORS, "XRSTORS", EXIT_UNHANDLED, true),
	K(EXIT_REASON_PCONFIG, "PCONFIG", EXIT_UNHANDLED, true),
	K(EXIT_REASON_SPP_EVENT, "SPP-related event", EXIT_UNHANDLED, false),
	K(EXIT_REASON_UMWAIT, "UMWAIT", EXIT_UNHANDLED, true),
	K(EXIT_REASON_TPAUSE, "TPAUSE", EXIT_UNHANDLED, true),
	K(EXIT_REASON_LOADIWKEY, "LOADIWKEY", EXIT_UNHANDLED, true),
};

const char *vmx_exit_name(u32 basic)
{
	if (basic < ARRAY_SIZE(vmx_exits) && vmx_exits[basic].name)
		return vmx_exits[basic].name;
	return "unknown exit reason";
}

bool vmx_exit_needs_gpa(u32 basic)
{
	return basic == EXIT_REASON_EPT_VIOLATION || basic == EXIT_REASON_EPT_MISCONFIG;
}

bool vmx_exit_needs_intr_info(u32 basic) { return basic == EXIT_REASON_EXCEPTION_NMI; }

/* Table 31-1. */
static const char *const insn_errors[VMX_ERR_MAX + 1] = {
	[1] = "VMCALL executed in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[16] = "VM entry with invalid executive-VMCS pointer",
	[17] = "VM entry with non-launched executive VMCS",
	[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
	[19] = "VMCALL with non-clear VMCS",
	[20] = "VMCALL with invalid VM-exit control fields",
	[22] = "VMCALL with incorrect MSEG revision identifier",
	[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
	[24] = "VMCALL with invalid SMM-monitor features",
	[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "invalid operand to INVEPT/INVVPID",
};

const char *vmx_insn_error_name(u32 error)
{
	if (error == 0)
		return "no VM-instruction error recorded (no current VMCS: VMfailInvalid)";
	if (error <= VMX_ERR_MAX && insn_errors[error])
		return insn_errors[error];
	return "unknown VM-instruction error";
}

const char *vmx_entry_failure_name(u32 basic, u64 qual)
{
	switch (basic) {
	case EXIT_REASON_INVALID_GUEST_STATE:
		switch (qual) {
		case VMX_ENTRY_FAIL_PDPTE:
			return "invalid guest state: the PAE PDPTEs could not be loaded";
		case VMX_ENTRY_FAIL_NMI_STI:
			return "invalid guest state: NMI injected while blocked by STI";
		case VMX_ENTRY_FAIL_LINK_POINTER:
			return "invalid guest state: bad VMCS link pointer";
		default:
			return "invalid guest state";
		}
	case EXIT_REASON_MSR_LOADING:
		return "an MSR of the VM-entry MSR-load area could not be loaded";
	case EXIT_REASON_MACHINE_CHECK:
		return "a machine-check event during VM entry";
	default:
		return "VM-entry failure of an unknown kind";
	}
}

static void decode_io(const struct vmx_exit_raw *r, bool inout_info, struct vm_exit *e)
{
	static const u8 addr_sizes[] = { 2, 4, 8 };
	u32 info_asz = (r->insn_info & IO_INFO_ADDR_SIZE) >> IO_INFO_ADDR_SIZE_SHIFT;

	e->io.port = (r->qual & IO_QUAL_PORT) >> IO_QUAL_PORT_SHIFT;
	e->io.size = (r->qual & IO_QUAL_SIZE) + 1;
	e->io.in = (r->qual & IO_QUAL_IN) != 0;
	e->io.string = (r->qual & IO_QUAL_STRING) != 0;
	e->io.rep = (r->qual & IO_QUAL_REP) != 0;
	e->io.addr_size = 0;
	e->io.seg = X86_SEG_DS;
	/* Instruction information for INS/OUTS only when IA32_VMX_BASIC bit 54 says so. */
	if (e->io.string && inout_info) {
		e->io.addr_size = info_asz < ARRAY_SIZE(addr_sizes) ? addr_sizes[info_asz] : 0;
		e->io.seg = (r->insn_info & IO_INFO_SEG) >> IO_INFO_SEG_SHIFT;
	}
	if (e->io.size != 1 && e->io.size != 2 && e->io.size != 4)
		e->reason = EXIT_UNHANDLED;
}

static void decode_ept_violation(const struct vmx_exit_raw *r, struct vm_exit *e)
{
	e->npf.gpa = r->gpa;
	e->npf.gva_valid = (r->qual & EPT_QUAL_GLA_VALID) != 0;
	e->npf.gva = e->npf.gva_valid ? r->gla : 0;
	e->npf.write = (r->qual & EPT_QUAL_WRITE) != 0;
	e->npf.fetch = (r->qual & EPT_QUAL_FETCH) != 0;
	e->npf.present = (r->qual & (EPT_QUAL_READABLE | EPT_QUAL_WRITABLE |
				     EPT_QUAL_EXECUTABLE)) != 0;
	e->npf.user = false; /* VMX does not report the guest's privilege level here */
}

static void decode_exception_nmi(const struct vmx_exit_raw *r, struct vm_exit *e)
{
	u32 type = (r->intr_info & INTR_INFO_TYPE) >> INTR_INFO_TYPE_SHIFT;

	if (type == INTR_TYPE_NMI) {
		e->reason = EXIT_NMI;
		return;
	}
	e->reason = EXIT_EXCEPTION;
	e->exc.vector = r->intr_info & INTR_INFO_VECTOR;
	e->exc.has_error_code = (r->intr_info & INTR_INFO_ERROR_CODE) != 0;
	e->exc.error_code = e->exc.has_error_code ? r->intr_error : 0;
	e->exc.cr2 = e->exc.vector == X86_VEC_PF ? r->qual : 0;
}

static void decode_cr(const struct vmx_exit_raw *r, struct vm_exit *e)
{
	u32 access = (r->qual & CR_QUAL_ACCESS) >> CR_QUAL_ACCESS_SHIFT;

	e->cr.cr = r->qual & CR_QUAL_NUMBER;
	e->cr.write = access == CR_ACCESS_MOV_TO;
	e->cr.gpr = (r->qual & CR_QUAL_GPR) >> CR_QUAL_GPR_SHIFT;
	/* CLTS and LMSW only touch CR0 bits 3:0, which the backend leaves to the guest. */
	if (access != CR_ACCESS_MOV_TO && access != CR_ACCESS_MOV_FROM)
		e->reason = EXIT_UNHANDLED;
}

void vmx_exit_decode(const struct vmx_exit_raw *r, const u64 *gprs, bool inout_info,
		     struct vm_exit *e)
{
	u32 basic = r->reason & VMX_EXIT_BASIC;
	const struct vmx_exit_kind *k = basic < ARRAY_SIZE(vmx_exits) ? &vmx_exits[basic] : NULL;

	memset(e, 0, sizeof(*e));
	e->hw_code = r->reason;
	e->qual = r->qual;
	e->info2 = r->gpa;
	if (r->reason & VMX_EXIT_ENTRY_FAILURE) {
		e->reason = EXIT_INVALID_STATE;
		e->invalid.error = basic;
		return;
	}
	if (!k || !k->name) {
		e->reason = EXIT_UNHANDLED;
		return;
	}
	e->reason = k->reason;
	if (k->insn && r->insn_len >= 1 && r->insn_len <= X86_MAX_INSN_LEN)
		e->insn_len = r->insn_len;
	switch (basic) {
	case EXIT_REASON_EXCEPTION_NMI:
		decode_exception_nmi(r, e);
		break;
	case EXIT_REASON_IO_INSTRUCTION:
		decode_io(r, inout_info, e);
		break;
	case EXIT_REASON_RDMSR:
	case EXIT_REASON_WRMSR:
		e->msr.index = (u32)gprs[1];
		break;
	case EXIT_REASON_INVLPG:
		e->invlpg.gva = r->qual;
		break;
	case EXIT_REASON_CR_ACCESS:
		decode_cr(r, e);
		break;
	case EXIT_REASON_EPT_VIOLATION:
		decode_ept_violation(r, e);
		break;
	case EXIT_REASON_EPT_MISCONFIG:
		e->npf.gpa = r->gpa;
		break;
	default:
		if (e->reason == EXIT_EXCEPTION) { /* an instruction the guest must see fault */
			e->exc.vector = X86_VEC_UD;
			e->exc.has_error_code = false;
		}
		break;
	}
}

/* Exceptions that deliver an error code (SDM vol. 3A 6.15): #DF #TS #NP #SS #GP #PF #AC. */
#define EXC_ERROR_CODE (BIT(8) | BIT(10) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(17))

/*
 * VM_ENTRY_INTR_INFO for an event (SDM vol. 3C 25.8.3). The deliver-error-code
 * bit must be set exactly for hardware exceptions that push one in protected
 * mode (27.2.1.3): in real mode (CR0.PE=0, unrestricted guest) never.
 */
u32 vmx_event_encode(const struct vcpu_event *e, bool pe)
{
	u32 info = INTR_INFO_VALID | e->vector | ((u32)(e->type & 7) << INTR_INFO_TYPE_SHIFT);

	if (e->type == EVENT_NMI)
		info = INTR_INFO_VALID | X86_VEC_NMI | (INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT);
	if (e->type == INTR_TYPE_HW_EXCEPTION && pe && e->vector < 32 &&
	    (EXC_ERROR_CODE & BIT(e->vector)))
		info |= INTR_INFO_ERROR_CODE;
	return info;
}

bool vmx_event_decode(u32 info, u32 error, struct vcpu_event *e)
{
	memset(e, 0, sizeof(*e));
	if (!(info & INTR_INFO_VALID))
		return false;
	e->pending = true;
	e->vector = info & INTR_INFO_VECTOR;
	e->type = (info & INTR_INFO_TYPE) >> INTR_INFO_TYPE_SHIFT;
	e->has_error_code = (info & INTR_INFO_ERROR_CODE) != 0;
	e->error_code = e->has_error_code ? error : 0;
	return true;
}
