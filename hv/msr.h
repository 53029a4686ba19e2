/* The MSR policy: which MSRs a guest may use, and how each is emulated. */
#ifndef HV_HV_MSR_H
#define HV_HV_MSR_H

#include "lib/types.h"

struct vcpu;

/*
 * Guest RDMSR/WRMSR (every MSR is intercepted). Handled here: TSC, APIC base
 * and the x2APIC/TSC-deadline range (vLAPIC), a few read-as-fixed model
 * registers guests probe; the MSRs kept in the VMCB/VMCS go to the backend.
 * Returns 0, or -EINVAL: the guest gets #GP (unknown MSR or bad value, logged
 * once per MSR).
 */
int hv_msr_read(struct vcpu *v, u32 index, u64 *value);
int hv_msr_write(struct vcpu *v, u32 index, u64 value);

#endif
