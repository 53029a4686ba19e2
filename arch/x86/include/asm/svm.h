/* AMD SVM hardware definitions: CPUID, MSRs, VMCB layout, exit codes (AMD APM vol. 2 ch. 15). */
#ifndef HV_ASM_SVM_H
#define HV_ASM_SVM_H

#include "lib/types.h"

/* CPUID (APM vol. 3 appendix E.4.1 and E.4.10). */
#define CPUID_EXT_FEATURES 0x80000001U
#define CPUID_EXT_ECX_SVM BIT(2)
#define CPUID_SVM_FEATURES 0x8000000aU
#define CPUID_SVM_EAX_REVISION GENMASK(7, 0)
/* EDX of leaf 0x8000000A */
#define SVM_FEAT_NPT BIT(0)
#define SVM_FEAT_LBRV BIT(1)
#define SVM_FEAT_SVML BIT(2)
#define SVM_FEAT_NRIPS BIT(3)
#define SVM_FEAT_TSC_RATE BIT(4)
#define SVM_FEAT_VMCB_CLEAN BIT(5)
#define SVM_FEAT_FLUSH_BY_ASID BIT(6)
#define SVM_FEAT_DECODE_ASSISTS BIT(7)
#define SVM_FEAT_PAUSE_FILTER BIT(10)
#define SVM_FEAT_PAUSE_THRESHOLD BIT(12)
#define SVM_FEAT_AVIC BIT(13)
#define SVM_FEAT_VMSAVE_VIRT BIT(15)
#define SVM_FEAT_VGIF BIT(16)

/* MSRs (APM vol. 2 15.30). */
#define MSR_VM_CR 0xc0010114U
#define VM_CR_DPD BIT(0)
#define VM_CR_R_INIT BIT(1)
#define VM_CR_DIS_A20M BIT(2)
#define VM_CR_LOCK BIT(3)
#define VM_CR_SVMDIS BIT(4)
#define MSR_VM_HSAVE_PA 0xc0010117U

/* Intercept vector 3 (VMCB 0x00C, APM table B-1). */
#define SVM_INTERCEPT_INTR BIT(0)
#define SVM_INTERCEPT_NMI BIT(1)
#define SVM_INTERCEPT_SMI BIT(2)
#define SVM_INTERCEPT_INIT BIT(3)
#define SVM_INTERCEPT_VINTR BIT(4)
#define SVM_INTERCEPT_CR0_SEL_WRITE BIT(5)
#define SVM_INTERCEPT_RDTSC BIT(14)
#define SVM_INTERCEPT_RDPMC BIT(15)
#define SVM_INTERCEPT_CPUID BIT(18)
#define SVM_INTERCEPT_RSM BIT(19)
#define SVM_INTERCEPT_IRET BIT(20)
#define SVM_INTERCEPT_INVD BIT(22)
#define SVM_INTERCEPT_PAUSE BIT(23)
#define SVM_INTERCEPT_HLT BIT(24)
#define SVM_INTERCEPT_INVLPG BIT(25)
#define SVM_INTERCEPT_INVLPGA BIT(26)
#define SVM_INTERCEPT_IOIO_PROT BIT(27)
#define SVM_INTERCEPT_MSR_PROT BIT(28)
#define SVM_INTERCEPT_TASK_SWITCH BIT(29)
#define SVM_INTERCEPT_FERR_FREEZE BIT(30)
#define SVM_INTERCEPT_SHUTDOWN BIT(31)
/* Intercept vector 4 (VMCB 0x010). */
#define SVM_INTERCEPT_VMRUN BIT(0)
#define SVM_INTERCEPT_VMMCALL BIT(1)
#define SVM_INTERCEPT_VMLOAD BIT(2)
#define SVM_INTERCEPT_VMSAVE BIT(3)
#define SVM_INTERCEPT_STGI BIT(4)
#define SVM_INTERCEPT_CLGI BIT(5)
#define SVM_INTERCEPT_SKINIT BIT(6)
#define SVM_INTERCEPT_RDTSCP BIT(7)
#define SVM_INTERCEPT_ICEBP BIT(8)
#define SVM_INTERCEPT_WBINVD BIT(9)
#define SVM_INTERCEPT_MONITOR BIT(10)
#define SVM_INTERCEPT_MWAIT BIT(11)
#define SVM_INTERCEPT_MWAIT_COND BIT(12)
#define SVM_INTERCEPT_XSETBV BIT(13)

/* TLB_CONTROL (VMCB 0x05C, APM 15.16.1). */
#define SVM_TLB_CONTROL_NOTHING 0x00U
#define SVM_TLB_CONTROL_FLUSH_ALL 0x01U   /* every ASID, on this VMRUN */
#define SVM_TLB_CONTROL_FLUSH_ASID 0x03U  /* this guest's ASID only (FlushByAsid) */

/* Virtual interrupt control (VMCB 0x060, APM 15.21). */
#define SVM_VINTR_TPR GENMASK(7, 0)
#define SVM_VINTR_IRQ BIT(8)
#define SVM_VINTR_GIF BIT(9)
#define SVM_VINTR_PRIO_SHIFT 16
#define SVM_VINTR_PRIO GENMASK(19, 16)
#define SVM_VINTR_IGN_TPR BIT(20)
#define SVM_VINTR_MASKING BIT(24)
#define SVM_VINTR_GIF_ENABLE BIT(25)

/* Interrupt state (VMCB 0x068). */
#define SVM_INT_STATE_SHADOW BIT(0)
#define SVM_INT_STATE_GUEST_MASK BIT(1)

/* Nested control (VMCB 0x090). */
#define SVM_NESTED_CTL_NP_ENABLE BIT(0)

/* EVENTINJ and EXITINTINFO (APM 15.20): vector, type, error-code valid, valid. */
#define SVM_EVT_VECTOR GENMASK(7, 0)
#define SVM_EVT_TYPE_SHIFT 8
#define SVM_EVT_TYPE GENMASK(10, 8)
#define SVM_EVT_TYPE_INTR 0U
#define SVM_EVT_TYPE_NMI 2U
#define SVM_EVT_TYPE_EXCEPTION 3U
#define SVM_EVT_TYPE_SOFTINT 4U
#define SVM_EVT_EV BIT(11)
#define SVM_EVT_VALID BIT(31)
#define SVM_EVT_ERROR_SHIFT 32

/* IOIO EXITINFO1 (APM 15.10.2, figure 15-2). */
#define SVM_IOIO_TYPE_IN BIT(0)
#define SVM_IOIO_STR BIT(2)
#define SVM_IOIO_REP BIT(3)
#define SVM_IOIO_SZ8 BIT(4)
#define SVM_IOIO_SZ16 BIT(5)
#define SVM_IOIO_SZ32 BIT(6)
#define SVM_IOIO_A16 BIT(7)
#define SVM_IOIO_A32 BIT(8)
#define SVM_IOIO_A64 BIT(9)
#define SVM_IOIO_SEG_SHIFT 10
#define SVM_IOIO_SEG GENMASK(12, 10)  /* only with decode assists */
#define SVM_IOIO_PORT_SHIFT 16
#define SVM_IOIO_PORT GENMASK(31, 16)

/* NPF EXITINFO1 (APM 15.25.6): a #PF-style error code plus where the fault happened. */
#define SVM_NPF_P BIT(0)
#define SVM_NPF_RW BIT(1)
#define SVM_NPF_US BIT(2)
#define SVM_NPF_RSV BIT(3)
#define SVM_NPF_ID BIT(4)
#define SVM_NPF_FINAL BIT(32)      /* fault on the final guest-physical address */
#define SVM_NPF_PT_WALK BIT(33)    /* fault while walking the guest's page tables */

/* CR/INVLPG EXITINFO1 with decode assists (APM 15.33). */
#define SVM_CR_INFO_VALID BIT(63)
#define SVM_CR_INFO_GPR GENMASK(3, 0)

/* Exit codes (APM vol. 2 appendix C). */
#define SVM_EXIT_READ_CR0 0x000U
#define SVM_EXIT_READ_CR15 0x00fU
#define SVM_EXIT_WRITE_CR0 0x010U
#define SVM_EXIT_WRITE_CR15 0x01fU
#define SVM_EXIT_READ_DR0 0x020U
#define SVM_EXIT_WRITE_DR0 0x030U
#define SVM_EXIT_WRITE_DR15 0x03fU
#define SVM_EXIT_EXCP_BASE 0x040U /* + vector */
#define SVM_EXIT_EXCP_LAST 0x05fU
#define SVM_EXIT_INTR 0x060U
#define SVM_EXIT_NMI 0x061U
#define SVM_EXIT_SMI 0x062U
#define SVM_EXIT_INIT 0x063U
#define SVM_EXIT_VINTR 0x064U
#define SVM_EXIT_CR0_SEL_WRITE 0x065U
#define SVM_EXIT_IDTR_READ 0x066U
#define SVM_EXIT_GDTR_READ 0x067U
#define SVM_EXIT_LDTR_READ 0x068U
#define SVM_EXIT_TR_READ 0x069U
#define SVM_EXIT_IDTR_WRITE 0x06aU
#define SVM_EXIT_GDTR_WRITE 0x06bU
#define SVM_EXIT_LDTR_WRITE 0x06cU
#define SVM_EXIT_TR_WRITE 0x06dU
#define SVM_EXIT_RDTSC 0x06eU
#define SVM_EXIT_RDPMC 0x06fU
#define SVM_EXIT_PUSHF 0x070U
#define SVM_EXIT_POPF 0x071U
#define SVM_EXIT_CPUID 0x072U
#define SVM_EXIT_RSM 0x073U
#define SVM_EXIT_IRET 0x074U
#define SVM_EXIT_SWINT 0x075U
#define SVM_EXIT_INVD 0x076U
#define SVM_EXIT_PAUSE 0x077U
#define SVM_EXIT_HLT 0x078U
#define SVM_EXIT_INVLPG 0x079U
#define SVM_EXIT_INVLPGA 0x07aU
#define SVM_EXIT_IOIO 0x07bU
#define SVM_EXIT_MSR 0x07cU
#define SVM_EXIT_TASK_SWITCH 0x07dU
#define SVM_EXIT_FERR_FREEZE 0x07eU
#define SVM_EXIT_SHUTDOWN 0x07fU
#define SVM_EXIT_VMRUN 0x080U
#define SVM_EXIT_VMMCALL 0x081U
#define SVM_EXIT_VMLOAD 0x082U
#define SVM_EXIT_VMSAVE 0x083U
#define SVM_EXIT_STGI 0x084U
#define SVM_EXIT_CLGI 0x085U
#define SVM_EXIT_SKINIT 0x086U
#define SVM_EXIT_RDTSCP 0x087U
#define SVM_EXIT_ICEBP 0x088U
#define SVM_EXIT_WBINVD 0x089U
#define SVM_EXIT_MONITOR 0x08aU
#define SVM_EXIT_MWAIT 0x08bU
#define SVM_EXIT_MWAIT_COND 0x08cU
#define SVM_EXIT_XSETBV 0x08dU
#define SVM_EXIT_RDPRU 0x08eU
#define SVM_EXIT_EFER_WRITE_TRAP 0x08fU
#define SVM_EXIT_NPF 0x400U
#define SVM_EXIT_AVIC_INCOMPLETE_IPI 0x401U
#define SVM_EXIT_AVIC_NOACCEL 0x402U
#define SVM_EXIT_VMGEXIT 0x403U
/* VMEXIT_INVALID is -1; QEMU writes it as 0x00000000ffffffff: compare the low 32 bits. */
#define SVM_EXIT_INVALID 0xffffffffU

/* Nested page-table entries use the long-mode format (APM 15.25.5, 5.3). */
#define NPT_P BIT(0)
#define NPT_RW BIT(1)
#define NPT_US BIT(2)
#define NPT_PWT BIT(3)
#define NPT_PCD BIT(4)
#define NPT_A BIT(5)
#define NPT_D BIT(6)
#define NPT_PS BIT(7)
#define NPT_NX BIT(63)
#define NPT_ADDR_MASK GENMASK(51, 12)
#define NPT_LARGE_ADDR_MASK GENMASK(51, 21)

/* One segment in the VMCB state-save area. Every VMCB field is naturally aligned: no packing. */
struct vmcb_seg {
	u16 selector;
	u16 attrib;
	u32 limit;
	u64 base;
};

/* VMCB control area (APM vol. 2 appendix B, table B-1). */
struct vmcb_control {
	/* 0x000 */ u32 intercept_cr;       /* reads 15:0, writes 31:16 */
	/* 0x004 */ u32 intercept_dr;
	/* 0x008 */ u32 intercept_exceptions;
	/* 0x00c */ u32 intercept_misc1;    /* SVM_INTERCEPT_INTR ... SHUTDOWN */
	/* 0x010 */ u32 intercept_misc2;    /* SVM_INTERCEPT_VMRUN ... XSETBV */
	/* 0x014 */ u32 intercept_misc3;
	/* 0x018 */ u8 reserved_018[0x3c - 0x18];
	/* 0x03c */ u16 pause_filter_threshold;
	/* 0x03e */ u16 pause_filter_count;
	/* 0x040 */ u64 iopm_base_pa;
	/* 0x048 */ u64 msrpm_base_pa;
	/* 0x050 */ u64 tsc_offset;
	/* 0x058 */ u32 asid;
	/* 0x05c */ u8 tlb_control;
	/* 0x05d */ u8 reserved_05d[3];
	/* 0x060 */ u32 vintr;              /* V_TPR, V_IRQ, V_INTR_PRIO, V_IGN_TPR, V_INTR_MASKING */
	/* 0x064 */ u32 vintr_vector;
	/* 0x068 */ u64 int_state;          /* interrupt shadow */
	/* 0x070 */ u64 exitcode;
	/* 0x078 */ u64 exitinfo1;
	/* 0x080 */ u64 exitinfo2;
	/* 0x088 */ u64 exitintinfo;
	/* 0x090 */ u64 nested_ctl;         /* NP_ENABLE */
	/* 0x098 */ u64 avic_apic_bar;
	/* 0x0a0 */ u64 ghcb_pa;
	/* 0x0a8 */ u64 eventinj;
	/* 0x0b0 */ u64 n_cr3;
	/* 0x0b8 */ u64 virt_ext;           /* LBR virtualization, VMSAVE/VMLOAD virtualization */
	/* 0x0c0 */ u32 clean;              /* VMCB clean bits */
	/* 0x0c4 */ u32 reserved_0c4;
	/* 0x0c8 */ u64 next_rip;           /* nRIP, with NRIPS */
	/* 0x0d0 */ u8 insn_len;            /* bytes fetched, with decode assists */
	/* 0x0d1 */ u8 insn_bytes[15];
	/* 0x0e0 */ u8 reserved_0e0[0x400 - 0xe0];
};

/* VMCB state-save area (APM vol. 2 appendix B, table B-2); offsets from the VMCB start. */
struct vmcb_save {
	/* 0x400 */ struct vmcb_seg es;
	/* 0x410 */ struct vmcb_seg cs;
	/* 0x420 */ struct vmcb_seg ss;
	/* 0x430 */ struct vmcb_seg ds;
	/* 0x440 */ struct vmcb_seg fs;
	/* 0x450 */ struct vmcb_seg gs;
	/* 0x460 */ struct vmcb_seg gdtr;
	/* 0x470 */ struct vmcb_seg ldtr;
	/* 0x480 */ struct vmcb_seg idtr;
	/* 0x490 */ struct vmcb_seg tr;
	/* 0x4a0 */ u8 reserved_4a0[0x4cb - 0x4a0];
	/* 0x4cb */ u8 cpl;
	/* 0x4cc */ u32 reserved_4cc;
	/* 0x4d0 */ u64 efer;
	/* 0x4d8 */ u8 reserved_4d8[0x548 - 0x4d8];
	/* 0x548 */ u64 cr4;
	/* 0x550 */ u64 cr3;
	/* 0x558 */ u64 cr0;
	/* 0x560 */ u64 dr7;
	/* 0x568 */ u64 dr6;
	/* 0x570 */ u64 rflags;
	/* 0x578 */ u64 rip;
	/* 0x580 */ u8 reserved_580[0x5d8 - 0x580];
	/* 0x5d8 */ u64 rsp;
	/* 0x5e0 */ u8 reserved_5e0[0x5f8 - 0x5e0];
	/* 0x5f8 */ u64 rax;
	/* 0x600 */ u64 star;
	/* 0x608 */ u64 lstar;
	/* 0x610 */ u64 cstar;
	/* 0x618 */ u64 sfmask;
	/* 0x620 */ u64 kernel_gs_base;
	/* 0x628 */ u64 sysenter_cs;
	/* 0x630 */ u64 sysenter_esp;
	/* 0x638 */ u64 sysenter_eip;
	/* 0x640 */ u64 cr2;
	/* 0x648 */ u8 reserved_648[0x668 - 0x648];
	/* 0x668 */ u64 g_pat;
	/* 0x670 */ u64 dbgctl;
	/* 0x678 */ u64 br_from;
	/* 0x680 */ u64 br_to;
	/* 0x688 */ u64 last_excp_from;
	/* 0x690 */ u64 last_excp_to;
	/* 0x698 */ u8 reserved_698[0x1000 - 0x698];
};

/* The whole VMCB: one 4 KiB-aligned page. */
struct vmcb {
	struct vmcb_control ctl;
	struct vmcb_save save;
};

#define VMCB_OFF(f) offsetof(struct vmcb, f)
_Static_assert(sizeof(struct vmcb) == 4096, "VMCB is one page");
_Static_assert(VMCB_OFF(ctl.intercept_cr) == 0x000, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.intercept_exceptions) == 0x008, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.intercept_misc1) == 0x00c, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.intercept_misc2) == 0x010, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.pause_filter_count) == 0x03e, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.iopm_base_pa) == 0x040, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.msrpm_base_pa) == 0x048, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.tsc_offset) == 0x050, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.asid) == 0x058, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.tlb_control) == 0x05c, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.vintr) == 0x060, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.vintr_vector) == 0x064, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.int_state) == 0x068, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.exitcode) == 0x070, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.exitinfo1) == 0x078, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.exitinfo2) == 0x080, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.exitintinfo) == 0x088, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.nested_ctl) == 0x090, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.eventinj) == 0x0a8, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.n_cr3) == 0x0b0, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.clean) == 0x0c0, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.next_rip) == 0x0c8, "VMCB layout");
_Static_assert(VMCB_OFF(ctl.insn_len) == 0x0d0, "VMCB layout");
_Static_assert(VMCB_OFF(save.es) == 0x400, "VMCB layout");
_Static_assert(VMCB_OFF(save.cs) == 0x410, "VMCB layout");
_Static_assert(VMCB_OFF(save.ss) == 0x420, "VMCB layout");
_Static_assert(VMCB_OFF(save.ds) == 0x430, "VMCB layout");
_Static_assert(VMCB_OFF(save.fs) == 0x440, "VMCB layout");
_Static_assert(VMCB_OFF(save.gs) == 0x450, "VMCB layout");
_Static_assert(VMCB_OFF(save.gdtr) == 0x460, "VMCB layout");
_Static_assert(VMCB_OFF(save.ldtr) == 0x470, "VMCB layout");
_Static_assert(VMCB_OFF(save.idtr) == 0x480, "VMCB layout");
_Static_assert(VMCB_OFF(save.tr) == 0x490, "VMCB layout");
_Static_assert(VMCB_OFF(save.cpl) == 0x4cb, "VMCB layout");
_Static_assert(VMCB_OFF(save.efer) == 0x4d0, "VMCB layout");
_Static_assert(VMCB_OFF(save.cr4) == 0x548, "VMCB layout");
_Static_assert(VMCB_OFF(save.cr3) == 0x550, "VMCB layout");
_Static_assert(VMCB_OFF(save.cr0) == 0x558, "VMCB layout");
_Static_assert(VMCB_OFF(save.dr7) == 0x560, "VMCB layout");
_Static_assert(VMCB_OFF(save.dr6) == 0x568, "VMCB layout");
_Static_assert(VMCB_OFF(save.rflags) == 0x570, "VMCB layout");
_Static_assert(VMCB_OFF(save.rip) == 0x578, "VMCB layout");
_Static_assert(VMCB_OFF(save.rsp) == 0x5d8, "VMCB layout");
_Static_assert(VMCB_OFF(save.rax) == 0x5f8, "VMCB layout");
_Static_assert(VMCB_OFF(save.star) == 0x600, "VMCB layout");
_Static_assert(VMCB_OFF(save.kernel_gs_base) == 0x620, "VMCB layout");
_Static_assert(VMCB_OFF(save.sysenter_cs) == 0x628, "VMCB layout");
_Static_assert(VMCB_OFF(save.cr2) == 0x640, "VMCB layout");
_Static_assert(VMCB_OFF(save.g_pat) == 0x668, "VMCB layout");

/* I/O and MSR permission maps (APM 15.10.1, 15.11). */
#define SVM_IOPM_SIZE (12 * 1024)
#define SVM_MSRPM_SIZE (8 * 1024)

/* SVM instructions (APM vol. 3). rAX holds a physical address for VMLOAD/VMSAVE. */
static inline void svm_clgi(void) { __asm__ __volatile__("clgi" ::: "memory"); }
static inline void svm_stgi(void) { __asm__ __volatile__("stgi" ::: "memory"); }
static inline void svm_vmload(u64 pa)
{
	__asm__ __volatile__("vmload %%rax" : : "a"(pa) : "memory");
}

static inline void svm_vmsave(u64 pa)
{
	__asm__ __volatile__("vmsave %%rax" : : "a"(pa) : "memory");
}
/* Invalidate the TLB mapping of `va` for `asid` (INVLPGA: rAX = address, ECX = ASID). */
static inline void svm_invlpga(u64 va, u32 asid)
{
	__asm__ __volatile__("invlpga %%rax, %%ecx" : : "a"(va), "c"(asid) : "memory");
}

#endif
