/* VMX backend: shadow-paged vCPUs with EPT off (arch/x86/vmx/vmx_shadow.c); not an interface for others. */
#ifndef HV_VMX_VMX_SHADOW_H
#define HV_VMX_VMX_SHADOW_H

#include "arch/x86/vmx/vmx_internal.h"

struct vcpu;
struct vcpu_sregs;

/* virt_ops.paging_modes: nested (EPT) always, shadow when CR3 and INVLPG exiting are available. */
u32 vmx_paging_modes(void);
/* For a VM with vm->shadow: the shadow state (before the VMCS), then the VMCS controls. */
int vmx_shadow_vcpu_init(struct vcpu *v);
void vmx_shadow_vcpu_destroy(struct vcpu *v);
void vmx_shadow_vmcs_setup(struct vcpu *v, struct vmx_vcpu *vv);
/* Before VM entry, VMCS current: NULL, or why the guest cannot be entered (real mode). */
const char *vmx_shadow_before_entry(struct vcpu *v, struct vmx_vcpu *vv);
/* The guest-visible CR0/CR3/CR4/EFER over the VMCS values. */
void vmx_shadow_get_sregs(struct vcpu *v, struct vcpu_sregs *s);
void vmx_shadow_set_sregs(struct vcpu *v, struct vmx_vcpu *vv, const struct vcpu_sregs *s);
/* RDMSR/WRMSR EFER of a shadow-paged guest: 0, or -EINVAL (#GP). */
int vmx_shadow_get_efer(struct vcpu *v, u64 *value);
int vmx_shadow_set_efer(struct vcpu *v, u64 value);

#endif
