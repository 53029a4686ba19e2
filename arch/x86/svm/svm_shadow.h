/* SVM backend: shadow-paged vCPUs (arch/x86/svm/svm_shadow.c); not an interface for others. */
#ifndef HV_SVM_SVM_SHADOW_H
#define HV_SVM_SVM_SHADOW_H

#include "arch/x86/svm/svm_internal.h"

struct vcpu;
struct vcpu_sregs;

/* virt_ops.paging_modes: nested when the CPU has NPT, shadow always. */
u32 svm_paging_modes(void);
/* After svm_vmcb_init for a VM with vm->shadow: no NPT, CR/#PF intercepts, shadow state. */
int svm_shadow_vcpu_init(struct vcpu *v, struct vmcb *vmcb);
void svm_shadow_vcpu_destroy(struct vcpu *v);
/* Host interrupts off, before CLGI/VMRUN: hardware CR0/CR3/CR4/EFER, TLB flush request. */
void svm_shadow_before_run(struct vcpu *v, struct svm_vcpu *sv);
/* The guest-visible CR0/CR3/CR4/EFER over what the VMCB holds. */
void svm_shadow_get_sregs(struct vcpu *v, struct vcpu_sregs *s);
void svm_shadow_set_sregs(struct vcpu *v, struct vmcb *vmcb, const struct vcpu_sregs *s);
/* RDMSR/WRMSR EFER of a shadow-paged guest: 0, or -EINVAL (#GP). */
int svm_shadow_get_efer(struct vcpu *v, u64 *value);
int svm_shadow_set_efer(struct vcpu *v, struct vmcb *vmcb, u64 value);

#endif
