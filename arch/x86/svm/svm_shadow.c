/*
 * SVM without nested paging (APM vol. 2 15.8-15.9, 15.19): the intercepts and
 * hardware control registers of a shadow-paged vCPU (hv/mmu/shadow.h).
 *
 * The VMCB holds what the CPU must run with: CR0 with PG and WP forced, CR3
 * the shadow root, CR4 with PAE forced, EFER.LME = EFER.LMA (long mode only
 * once the guest has paging on). The guest's own CR0/CR3/CR4/EFER live in the
 * shadow MMU; reads and writes of CR0/CR3/CR4 are intercepted, and get/set_sregs
 * and the EFER MSR go through it. A guest with paging off (real mode, or
 * protected mode before it enables paging) runs on an identity-mapped shadow of
 * guest-physical memory with CR0.PG=1; real mode with CR0.PE=0 and CR0.PG=1 is
 * the "paged real mode" that VMRUN accepts for exactly this purpose.
 */
#include "arch/x86/svm/svm_internal.h"
#include "arch/x86/svm/svm_shadow.h"
#include "hv/mmu/shadow.h"
#include "hv/vcpu.h"
#include "hv/vm.h"
#include "asm/msr.h"

#define X86_VEC_PF 14
#define SVM_CR_READ(n) BIT(n)
#define SVM_CR_WRITE(n) BIT(16 + (n))
#define SHADOW_CR_INTERCEPTS (SVM_CR_READ(0) | SVM_CR_READ(3) | SVM_CR_READ(4) | \
			      SVM_CR_WRITE(0) | SVM_CR_WRITE(3) | SVM_CR_WRITE(4))

u32 svm_paging_modes(void)
{
	return (svm_has(SVM_FEAT_NPT) ? VIRT_PAGING_NESTED : 0) | VIRT_PAGING_SHADOW;
}

static void load_hw(struct vmcb *vmcb, const struct shadow_hw *hw)
{
	vmcb->save.cr0 = hw->cr0;
	vmcb->save.cr3 = hw->cr3;
	vmcb->save.cr4 = hw->cr4;
	vmcb->save.efer = hw->efer | EFER_SVME;
}

int svm_shadow_vcpu_init(struct vcpu *v, struct vmcb *vmcb)
{
	struct shadow_hw hw;
	int err;

	vmcb->ctl.nested_ctl &= ~SVM_NESTED_CTL_NP_ENABLE;
	vmcb->ctl.n_cr3 = 0;
	vmcb->ctl.intercept_cr |= SHADOW_CR_INTERCEPTS;
	vmcb->ctl.intercept_exceptions |= BIT(X86_VEC_PF);
	/* INVLPG is intercepted for every guest (SVM_MISC1_DEFAULT). */
	err = shadow_vcpu_init(v);
	if (err)
		return err;
	shadow_cpu_hw(v->shadow, &hw);
	load_hw(vmcb, &hw);
	return 0;
}

void svm_shadow_vcpu_destroy(struct vcpu *v) { shadow_vcpu_destroy(v); }

/*
 * Just before VMRUN (host interrupts off): the shadow MMU's root, control
 * registers and TLB flushes. One address is flushed with INVLPGA in the
 * vCPU's ASID (APM vol. 3): if the ASID is still this vCPU's on this CPU at
 * VMRUN, that was the flush; if svm_asid_prepare hands out a fresh one
 * instead, it holds no translations anyway.
 */
void svm_shadow_before_run(struct vcpu *v, struct svm_vcpu *sv)
{
	struct shadow_hw hw;
	gva_t addr;
	u32 flush = shadow_cpu_enter(v->shadow, &hw, &addr);

	if (flush & SHADOW_FLUSH_ALL)
		sv->asid.flush = true;
	else if ((flush & SHADOW_FLUSH_ADDR) && sv->asid.asid)
		svm_invlpga(addr, sv->asid.asid);
	load_hw(sv->vmcb, &hw);
}

void svm_shadow_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
	s->cr0 = shadow_cpu_read_cr(v->shadow, 0);
	s->cr3 = shadow_cpu_read_cr(v->shadow, 3);
	s->cr4 = shadow_cpu_read_cr(v->shadow, 4);
	s->efer = shadow_cpu_efer(v->shadow);
}

void svm_shadow_set_sregs(struct vcpu *v, struct vmcb *vmcb, const struct vcpu_sregs *s)
{
	struct shadow_hw hw;

	shadow_cpu_set_state(v->shadow, s->cr0, s->cr3, s->cr4, s->efer);
	shadow_cpu_hw(v->shadow, &hw);
	load_hw(vmcb, &hw);
}

int svm_shadow_get_efer(struct vcpu *v, u64 *value)
{
	*value = shadow_cpu_efer(v->shadow);
	return 0;
}

int svm_shadow_set_efer(struct vcpu *v, struct vmcb *vmcb, u64 value)
{
	struct shadow_hw hw;
	int err = shadow_cpu_write_efer(v->shadow, value);

	shadow_cpu_hw(v->shadow, &hw);
	load_hw(vmcb, &hw);
	return err;
}
