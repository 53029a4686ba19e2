/* The CPUID a guest sees: host values filtered by what the hypervisor supports. */
#ifndef HV_HV_CPUID_H
#define HV_HV_CPUID_H

#include "lib/types.h"

#define HV_CPUID_SIGNATURE "HvMicroVisor" /* leaf 0x40000000 EBX ECX EDX, 12 characters */
#define HV_CPUID_LEAF_BASE 0x40000000U
#define HV_CPUID_LEAF_MAX 0x40000010U

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

/* What the policy needs to know about the guest and the host. */
struct cpuid_env {
	void (*host_cpuid)(u32 leaf, u32 subleaf, struct cpuid_regs *r);
	u32 vcpu_id;      /* becomes the initial APIC id */
	u32 nr_vcpus;
	u64 tsc_khz;      /* reported in leaf 0x40000010 */
	u64 lapic_khz;    /* guest LAPIC timer input clock */
};

/*
 * The guest's answer for (leaf, subleaf): vendor and family as on the host,
 * features limited to what is safe and emulated (no VMX/SVM, no XSAVE/AVX,
 * no MTRR/MCE, no x2APIC, no RDTSCP; TSC-deadline and the hypervisor bit on),
 * topology from the VM's vCPUs, the hypervisor leaves 0x40000000-0x40000010.
 * Leaves beyond the maxima read as zeros. Host-testable.
 */
void cpuid_policy(const struct cpuid_env *env, u32 leaf, u32 subleaf, struct cpuid_regs *out);

#endif
