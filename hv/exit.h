/* The vendor-neutral VM-exit record that both backends fill in. */
#ifndef HV_HV_EXIT_H
#define HV_HV_EXIT_H

#include "hv/types.h"

enum exit_reason {
	EXIT_NONE = 0,
	EXIT_CPUID,
	EXIT_HLT,
	EXIT_IO,          /* port I/O, incl. INS/OUTS and REP */
	EXIT_MSR_READ,
	EXIT_MSR_WRITE,
	EXIT_NPF,         /* nested page fault / EPT violation: MMIO or a bad access */
	EXIT_NPT_MISCONFIG, /* EPT misconfiguration: a hypervisor bug in its tables */
	EXIT_EXTINT,      /* a host interrupt arrived while the guest ran */
	EXIT_NMI,         /* a host NMI */
	EXIT_HYPERCALL,   /* VMMCALL / VMCALL */
	EXIT_TRIPLE_FAULT,/* SVM SHUTDOWN, VMX triple fault */
	EXIT_INVLPG,
	EXIT_CR_ACCESS,
	EXIT_EXCEPTION,   /* an intercepted guest exception */
	EXIT_IRQ_WINDOW,  /* the guest can take an interrupt now */
	EXIT_NMI_WINDOW,
	EXIT_PAUSE,
	EXIT_XSETBV,
	EXIT_RDTSC,
	EXIT_INVALID_STATE, /* VM entry failed: bad guest state */
	EXIT_UNHANDLED,   /* an exit the backend knows but the core does not handle */
	EXIT_NR
};

/* Name for logs and statistics ("cpuid", "io", ...). */
const char *exit_reason_name(enum exit_reason r);

struct vm_exit {
	enum exit_reason reason;
	u64 hw_code;      /* the backend's raw exit code (SVM EXITCODE, VMX basic reason) */
	u64 qual;         /* raw qualification (SVM EXITINFO1, VMX exit qualification) */
	u64 info2;        /* SVM EXITINFO2 / VMX second piece, raw */
	u32 insn_len;     /* length of the exiting instruction, 0 when unknown */

	union {
		struct {
			u16 port;
			u8 size;        /* 1, 2 or 4 */
			bool in;
			bool string;
			bool rep;
			u8 addr_size;   /* string forms: 2, 4 or 8 */
			u8 seg;         /* string OUTS: source segment (enum x86_seg), default DS */
		} io;
		struct {
			u32 index;      /* ECX */
		} msr;
		struct {
			gpa_t gpa;
			gva_t gva;
			bool gva_valid;
			bool write, fetch, present, user;
		} npf;
		struct {
			u8 vector;
			bool has_error_code;
			u32 error_code;
			u64 cr2;        /* #PF */
		} exc;
		struct {
			u8 cr;
			bool write;
			u8 gpr;         /* source/destination register when known, else 0xff */
		} cr;
		struct {
			gva_t gva;
		} invlpg;
		struct {
			u32 error;      /* VMX entry failure reason / SVM: 0 */
			const char *what; /* a backend's words for it */
		} invalid;
	};
};

#endif
