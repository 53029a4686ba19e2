/* SVM VMCB contents: intercepts, reset state, segment/control state, events, checks, dump. */
#include "arch/x86/svm/svm_internal.h"
#include "asm/cpu.h"
#include "asm/msr.h"
#include "lib/printf.h"
#include "lib/string.h"

#define X86_VEC_UD 6
#define X86_VEC_MC 18

/* Exits every guest takes (APM vol. 2 15.9-15.14); more are switched on at run time. */
#define SVM_MISC1_DEFAULT                                                                  \
	(SVM_INTERCEPT_INTR | SVM_INTERCEPT_NMI | SVM_INTERCEPT_SMI | SVM_INTERCEPT_CPUID |       \
	 SVM_INTERCEPT_HLT | SVM_INTERCEPT_INVLPG | SVM_INTERCEPT_INVLPGA | SVM_INTERCEPT_INVD |  \
	 SVM_INTERCEPT_IOIO_PROT | SVM_INTERCEPT_MSR_PROT | SVM_INTERCEPT_SHUTDOWN)
/* VMRUN must be intercepted (15.5.1); the other SVM instructions would act on host state. */
#define SVM_MISC2_DEFAULT                                                                  \
	(SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL | SVM_INTERCEPT_VMLOAD |                     \
	 SVM_INTERCEPT_VMSAVE | SVM_INTERCEPT_STGI | SVM_INTERCEPT_CLGI | SVM_INTERCEPT_SKINIT |  \
	 SVM_INTERCEPT_MONITOR | SVM_INTERCEPT_MWAIT | SVM_INTERCEPT_MWAIT_COND |                 \
	 SVM_INTERCEPT_XSETBV)

/* Power-on PAT (AMD APM vol. 2 7.8.2): WB, WT, UC-, UC repeated. */
#define PAT_POWER_ON 0x0007040600070406ULL
#define DR6_RESET 0xffff0ff0ULL
#define DR7_RESET 0x400ULL
#define CR0_RESET (X86_CR0_CD | X86_CR0_NW | X86_CR0_ET)

#define SEG_CODE_RESET (SEG_ATTR_TYPE(0xb) | SEG_ATTR_S | SEG_ATTR_P)
#define SEG_DATA_RESET (SEG_ATTR_TYPE(0x3) | SEG_ATTR_S | SEG_ATTR_P)
#define SEG_LDT_RESET (SEG_ATTR_TYPE(0x2) | SEG_ATTR_P)
#define SEG_TSS_RESET (SEG_ATTR_TYPE(0xb) | SEG_ATTR_P)

void svm_vmcb_init(struct vmcb *vmcb, hpa_t iopm_pa, hpa_t msrpm_pa, hpa_t ncr3)
{
	struct vmcb_control *c = &vmcb->ctl;

	memset(vmcb, 0, sizeof(*vmcb));
	c->intercept_exceptions = BIT(X86_VEC_MC);
	c->intercept_misc1 = SVM_MISC1_DEFAULT;
	c->intercept_misc2 = SVM_MISC2_DEFAULT;
	c->iopm_base_pa = iopm_pa;
	c->msrpm_base_pa = msrpm_pa;
	/* Physical interrupts follow the host's RFLAGS.IF, the guest's IF only gates virtual ones. */
	c->vintr = SVM_VINTR_MASKING;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->n_cr3 = ncr3;
	svm_vmcb_reset_state(vmcb);
}

static void seg_set(struct vmcb_seg *s, u16 sel, u64 base, u32 limit, u16 attr)
{
	s->selector = sel;
	s->base = base;
	s->limit = limit;
	s->attrib = attr;
}

void svm_vmcb_reset_state(struct vmcb *vmcb)
{
	struct vmcb_save *s = &vmcb->save;

	memset(s, 0, sizeof(*s));
	seg_set(&s->cs, 0xf000, 0xffff0000ULL, 0xffff, SEG_CODE_RESET);
	seg_set(&s->ds, 0, 0, 0xffff, SEG_DATA_RESET);
	seg_set(&s->es, 0, 0, 0xffff, SEG_DATA_RESET);
	seg_set(&s->ss, 0, 0, 0xffff, SEG_DATA_RESET);
	seg_set(&s->fs, 0, 0, 0xffff, SEG_DATA_RESET);
	seg_set(&s->gs, 0, 0, 0xffff, SEG_DATA_RESET);
	seg_set(&s->gdtr, 0, 0, 0xffff, 0);
	seg_set(&s->idtr, 0, 0, 0xffff, 0);
	seg_set(&s->ldtr, 0, 0, 0xffff, SEG_LDT_RESET);
	seg_set(&s->tr, 0, 0, 0xffff, SEG_TSS_RESET);
	s->cpl = 0;
	s->efer = EFER_SVME; /* VMRUN requires it in the guest image; hidden from the guest */
	s->cr0 = CR0_RESET;
	s->dr6 = DR6_RESET;
	s->dr7 = DR7_RESET;
	s->rflags = X86_RFLAGS_FIXED;
	s->rip = 0xfff0;
	s->g_pat = PAT_POWER_ON;
	vmcb->ctl.eventinj = 0;
	vmcb->ctl.int_state = 0;
	vmcb->ctl.vintr &= ~(SVM_VINTR_IRQ | SVM_VINTR_TPR);
}

static struct vmcb_seg *vmcb_seg_ptr(struct vmcb_save *s, enum vcpu_seg i)
{
	switch (i) {
	case VCPU_SEG_ES: return &s->es;
	case VCPU_SEG_CS: return &s->cs;
	case VCPU_SEG_SS: return &s->ss;
	case VCPU_SEG_DS: return &s->ds;
	case VCPU_SEG_FS: return &s->fs;
	case VCPU_SEG_GS: return &s->gs;
	case VCPU_SEG_TR: return &s->tr;
	case VCPU_SEG_LDTR: return &s->ldtr;
	default: return NULL;
	}
}

void svm_vmcb_get_sregs(const struct vmcb *vmcb, struct vcpu_sregs *out)
{
	struct vmcb_save *s = (struct vmcb_save *)&vmcb->save;
	int i;

	for (i = 0; i < VCPU_SEG_NR; i++) {
		const struct vmcb_seg *v = vmcb_seg_ptr(s, i);

		out->seg[i].selector = v->selector;
		out->seg[i].base = v->base;
		out->seg[i].limit = v->limit;
		out->seg[i].attr = v->attrib;
	}
	out->gdt_base = s->gdtr.base;
	out->gdt_limit = (u16)s->gdtr.limit;
	out->idt_base = s->idtr.base;
	out->idt_limit = (u16)s->idtr.limit;
	out->cr0 = s->cr0;
	out->cr2 = s->cr2;
	out->cr3 = s->cr3;
	out->cr4 = s->cr4;
	out->efer = s->efer & ~EFER_SVME;
	out->dr7 = s->dr7;
}

void svm_vmcb_set_sregs(struct vmcb *vmcb, const struct vcpu_sregs *in)
{
	struct vmcb_save *s = &vmcb->save;
	int i;

	for (i = 0; i < VCPU_SEG_NR; i++)
		seg_set(vmcb_seg_ptr(s, i), in->seg[i].selector, in->seg[i].base, in->seg[i].limit,
			in->seg[i].attr);
	s->gdtr.base = in->gdt_base;
	s->gdtr.limit = in->gdt_limit;
	s->idtr.base = in->idt_base;
	s->idtr.limit = in->idt_limit;
	s->cr0 = in->cr0;
	s->cr2 = in->cr2;
	s->cr3 = in->cr3;
	s->cr4 = in->cr4;
	s->efer = in->efer | EFER_SVME;
	s->dr7 = in->dr7;
	/* SVM takes the CPL from the VMCB: SS.DPL in protected mode (APM 15.5.1), 0 in real mode. */
	if (in->cr0 & X86_CR0_PE)
		s->cpl = (in->seg[VCPU_SEG_SS].attr >> 5) & 3;
	else
		s->cpl = 0;
}

static const char *svm_check_event(u64 inj)
{
	u32 type = (inj & SVM_EVT_TYPE) >> SVM_EVT_TYPE_SHIFT;
	u32 vec = inj & SVM_EVT_VECTOR;

	if (!(inj & SVM_EVT_VALID))
		return NULL;
	if (type != SVM_EVT_TYPE_INTR && type != SVM_EVT_TYPE_NMI && type != SVM_EVT_TYPE_EXCEPTION &&
	    type != SVM_EVT_TYPE_SOFTINT)
		return "EVENTINJ has a reserved event type";
	if (type == SVM_EVT_TYPE_EXCEPTION && (vec == 2 || vec > 31))
		return "EVENTINJ injects an exception with a vector that is not an exception";
	return NULL;
}

const char *svm_vmcb_check(const struct vmcb *vmcb)
{
	const struct vmcb_save *s = &vmcb->save;
	bool lme_pg = (s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG);

	if (!(s->efer & EFER_SVME))
		return "guest EFER.SVME is clear";
	if (s->efer >> 32)
		return "guest EFER has reserved bits set";
	if (!(s->cr0 & X86_CR0_CD) && (s->cr0 & X86_CR0_NW))
		return "guest CR0.NW set with CR0.CD clear";
	if (s->cr0 >> 32)
		return "guest CR0 bits 63:32 are not zero";
	if (s->cr4 >> 32)
		return "guest CR4 bits 63:32 are not zero";
	if ((s->dr6 >> 32) || (s->dr7 >> 32))
		return "guest DR6/DR7 bits 63:32 are not zero";
	if (lme_pg && !(s->cr4 & X86_CR4_PAE))
		return "guest EFER.LME and CR0.PG set with CR4.PAE clear";
	if (lme_pg && !(s->cr0 & X86_CR0_PE))
		return "guest EFER.LME and CR0.PG set with CR0.PE clear";
	if (lme_pg && (s->cs.attrib & SEG_ATTR_L) && (s->cs.attrib & SEG_ATTR_DB))
		return "guest in long mode with both CS.L and CS.D set";
	if (!(vmcb->ctl.intercept_misc2 & SVM_INTERCEPT_VMRUN))
		return "VMRUN intercept is clear";
	if (vmcb->ctl.asid == 0)
		return "guest ASID is 0";
	return svm_check_event(vmcb->ctl.eventinj);
}

u64 svm_event_encode(const struct vcpu_event *e)
{
	u64 v = SVM_EVT_VALID | e->vector | ((u64)(e->type & 7) << SVM_EVT_TYPE_SHIFT);

	if (e->has_error_code)
		v |= SVM_EVT_EV | ((u64)e->error_code << SVM_EVT_ERROR_SHIFT);
	return v;
}

bool svm_event_decode(u64 info, struct vcpu_event *e)
{
	memset(e, 0, sizeof(*e));
	if (!(info & SVM_EVT_VALID))
		return false;
	e->pending = true;
	e->vector = info & SVM_EVT_VECTOR;
	e->type = (info & SVM_EVT_TYPE) >> SVM_EVT_TYPE_SHIFT;
	e->has_error_code = (info & SVM_EVT_EV) != 0;
	if (e->has_error_code)
		e->error_code = (u32)(info >> SVM_EVT_ERROR_SHIFT);
	return true;
}

/* MSRs the VMCB holds (Intel SDM vol. 4 / AMD APM vol. 2 appendix A numbers). */
#define SVM_MSR_SYSENTER_CS 0x00000174U
#define SVM_MSR_SYSENTER_ESP 0x00000175U
#define SVM_MSR_SYSENTER_EIP 0x00000176U
#define SVM_MSR_CSTAR 0xc0000083U
#define SVM_MSR_SFMASK 0xc0000084U
/* EFER bits a guest may set: SCE, LME, NXE (LMA is the CPU's; SVME ours). */
#define GUEST_EFER_WRITABLE (EFER_SCE | EFER_LME | EFER_NXE)

/* 48-bit linear addresses: bits 63:47 all equal. */
static bool is_canonical(u64 a) { return (a >> 47) == 0 || (a >> 47) == 0x1ffff; }

/* PAT entries may hold UC, WC, WT, WP, WB, UC- only (types 0, 1, 4, 5, 6, 7). */
static bool pat_valid(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 t = (pat >> (8 * i)) & 0xff;

		if (t > 7 || t == 2 || t == 3)
			return false;
	}
	return true;
}

/* Where an address-valued MSR lives in the VMCB, or NULL. */
static u64 *vmcb_msr_slot(struct vmcb *vmcb, u32 index)
{
	struct vmcb_save *s = &vmcb->save;

	switch (index) {
	case MSR_STAR: return &s->star;
	case MSR_LSTAR: return &s->lstar;
	case SVM_MSR_CSTAR: return &s->cstar;
	case SVM_MSR_SFMASK: return &s->sfmask;
	case MSR_KERNEL_GS_BASE: return &s->kernel_gs_base;
	case MSR_FS_BASE: return &s->fs.base;
	case MSR_GS_BASE: return &s->gs.base;
	case SVM_MSR_SYSENTER_CS: return &s->sysenter_cs;
	case SVM_MSR_SYSENTER_ESP: return &s->sysenter_esp;
	case SVM_MSR_SYSENTER_EIP: return &s->sysenter_eip;
	case MSR_IA32_PAT: return &s->g_pat;
	default: return NULL;
	}
}

int svm_vmcb_get_msr(const struct vmcb *vmcb, u32 index, u64 *value)
{
	const u64 *slot;

	if (index == MSR_EFER) {
		*value = vmcb->save.efer & ~EFER_SVME;
		return 0;
	}
	slot = vmcb_msr_slot((struct vmcb *)vmcb, index);
	if (!slot)
		return -ENOENT;
	*value = *slot;
	return 0;
}

/* WRMSR EFER (APM vol. 2 3.1.7): LME cannot change while paging is on; LMA is read-only. */
static int svm_set_efer(struct vmcb *vmcb, u64 value)
{
	struct vmcb_save *s = &vmcb->save;

	value &= ~EFER_LMA;
	if (value & ~GUEST_EFER_WRITABLE)
		return -EINVAL;
	if ((s->cr0 & X86_CR0_PG) && ((value ^ s->efer) & EFER_LME))
		return -EINVAL;
	s->efer = value | (s->efer & EFER_LMA) | EFER_SVME;
	return 0;
}

int svm_vmcb_set_msr(struct vmcb *vmcb, u32 index, u64 value)
{
	u64 *slot;

	switch (index) {
	case MSR_EFER:
		return svm_set_efer(vmcb, value);
	case MSR_IA32_PAT:
		if (!pat_valid(value))
			return -EINVAL;
		break;
	case MSR_STAR:
	case SVM_MSR_SYSENTER_CS:
		break;
	case SVM_MSR_SFMASK:
		if (value >> 32)
			return -EINVAL;
		break;
	default:
		if (!is_canonical(value))
			return -EINVAL;
		break;
	}
	slot = vmcb_msr_slot(vmcb, index);
	if (!slot)
		return -ENOENT;
	*slot = value;
	return 0;
}

bool svm_vmcb_irq_allowed(const struct vmcb *vmcb)
{
	return (vmcb->save.rflags & X86_RFLAGS_IF) && !(vmcb->ctl.int_state & SVM_INT_STATE_SHADOW) &&
	       !(vmcb->ctl.eventinj & SVM_EVT_VALID);
}

/*
 * A virtual interrupt that is never delivered: V_IRQ with the VINTR intercept
 * exits as soon as the guest could take it (APM 15.21.4), which is the
 * interrupt window. Priority 15 and V_IGN_TPR so the guest's TPR cannot hold
 * it back (the core decides about priorities when it injects).
 */
void svm_vmcb_irq_window(struct vmcb *vmcb, bool on)
{
	struct vmcb_control *c = &vmcb->ctl;

	c->vintr &= ~(SVM_VINTR_IRQ | SVM_VINTR_IGN_TPR | SVM_VINTR_PRIO);
	if (on) {
		c->vintr |= SVM_VINTR_IRQ | SVM_VINTR_IGN_TPR | (0xfU << SVM_VINTR_PRIO_SHIFT);
		c->intercept_misc1 |= SVM_INTERCEPT_VINTR;
	} else {
		c->intercept_misc1 &= ~SVM_INTERCEPT_VINTR;
	}
}

static void dump_seg(char *buf, size_t n, const char *name, const struct vmcb_seg *s)
{
	ksnprintf(buf, n, "%-4s sel=%04x attr=%03x limit=%08x base=%016llx", name, s->selector,
		  s->attrib, s->limit, (unsigned long long)s->base);
}

static void dump_control(const struct vmcb_control *c, char *buf, size_t n,
			 void (*say)(void *ctx, const char *line), void *ctx)
{
	ksnprintf(buf, n, "exit %s (%#llx) info1=%#llx info2=%#llx intinfo=%#llx",
		  svm_exit_name(c->exitcode), (unsigned long long)c->exitcode,
		  (unsigned long long)c->exitinfo1, (unsigned long long)c->exitinfo2,
		  (unsigned long long)c->exitintinfo);
	say(ctx, buf);
	ksnprintf(buf, n, "asid=%u tlb_ctl=%u vintr=%#x int_state=%#llx eventinj=%#llx nrip=%#llx",
		  c->asid, c->tlb_control, c->vintr, (unsigned long long)c->int_state,
		  (unsigned long long)c->eventinj, (unsigned long long)c->next_rip);
	say(ctx, buf);
	ksnprintf(buf, n, "intercepts: cr=%#x exc=%#x misc1=%#x misc2=%#x np=%#llx ncr3=%#llx",
		  c->intercept_cr, c->intercept_exceptions, c->intercept_misc1, c->intercept_misc2,
		  (unsigned long long)c->nested_ctl, (unsigned long long)c->n_cr3);
	say(ctx, buf);
}

void svm_vmcb_dump(const struct vmcb *vmcb, void (*say)(void *ctx, const char *line), void *ctx)
{
	static const char *const names[VCPU_SEG_NR] = { "es", "cs", "ss", "ds", "fs", "gs", "tr", "ldtr" };
	const struct vmcb_save *s = &vmcb->save;
	char buf[160];
	int i;

	dump_control(&vmcb->ctl, buf, sizeof(buf), say, ctx);
	ksnprintf(buf, sizeof(buf), "rip=%016llx rsp=%016llx rax=%016llx rflags=%08llx cpl=%u",
		  (unsigned long long)s->rip, (unsigned long long)s->rsp, (unsigned long long)s->rax,
		  (unsigned long long)s->rflags, s->cpl);
	say(ctx, buf);
	ksnprintf(buf, sizeof(buf), "cr0=%08llx cr2=%016llx cr3=%016llx cr4=%08llx efer=%08llx",
		  (unsigned long long)s->cr0, (unsigned long long)s->cr2, (unsigned long long)s->cr3,
		  (unsigned long long)s->cr4, (unsigned long long)s->efer);
	say(ctx, buf);
	for (i = 0; i < VCPU_SEG_NR; i++) {
		dump_seg(buf, sizeof(buf), names[i], vmcb_seg_ptr((struct vmcb_save *)s, i));
		say(ctx, buf);
	}
	ksnprintf(buf, sizeof(buf), "gdtr base=%016llx limit=%04x idtr base=%016llx limit=%04x",
		  (unsigned long long)s->gdtr.base, s->gdtr.limit, (unsigned long long)s->idtr.base,
		  s->idtr.limit);
	say(ctx, buf);
	ksnprintf(buf, sizeof(buf), "dr6=%08llx dr7=%08llx g_pat=%016llx", (unsigned long long)s->dr6,
		  (unsigned long long)s->dr7, (unsigned long long)s->g_pat);
	say(ctx, buf);
}
