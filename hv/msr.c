/* MSR emulation policy (Intel SDM vol. 4; AMD APM vol. 2 appendix A). */
#include "hv/msr.h"
#include "hv/vcpu.h"
#include "hv/vm.h"
#include "hv/dev/vlapic.h"
#include "asm/cpu.h"
#include "kernel/log.h"

#define MSR_TSC 0x10U
#define MSR_PLATFORM_ID 0x17U
#define MSR_APIC_BASE 0x1bU
#define MSR_BIOS_SIGN_ID 0x8bU
#define MSR_MISC_ENABLE 0x1a0U
#define MSR_TSC_DEADLINE 0x6e0U
#define MSR_X2APIC_FIRST 0x800U
#define MSR_X2APIC_LAST 0x8ffU
#define MSR_AMD_HWCR 0xc0010015U
#define MSR_AMD_NB_CFG 0xc001001fU
#define MSR_AMD_DE_CFG 0xc0011029U
#define MSR_AMD_PATCH_LEVEL 0x8bU
#define MSR_TSC_AUX 0xc0000103U

#define MISC_ENABLE_FAST_STRINGS BIT(0)

static bool is_vlapic_msr(u32 index)
{
	return index == MSR_APIC_BASE || index == MSR_TSC_DEADLINE ||
	       (index >= MSR_X2APIC_FIRST && index <= MSR_X2APIC_LAST);
}

/*
 * Log an unknown MSR, remembering the last one per hash bucket, so a guest
 * probing many MSRs in a loop cannot flood the log.
 */
static void note_unknown(struct vcpu *v, u32 index, bool write)
{
	static u32 reported[64];
	u32 slot = (index * 2654435761u) >> 26;

	if (__atomic_exchange_n(&reported[slot], index + 1, __ATOMIC_RELAXED) == index + 1)
		return;
	pr_info("vm %s vcpu %u: %s of unknown MSR %#x: #GP\n", v->vm->name, v->id,
		write ? "write" : "read", index);
}

int hv_msr_read(struct vcpu *v, u32 index, u64 *value)
{
	switch (index) {
	case MSR_TSC:
		*value = rdtsc();
		return 0;
	case MSR_PLATFORM_ID:
	case MSR_BIOS_SIGN_ID:
	case MSR_AMD_HWCR:
	case MSR_AMD_NB_CFG:
	case MSR_AMD_DE_CFG:
		*value = 0;
		return 0;
	case MSR_MISC_ENABLE:
		*value = MISC_ENABLE_FAST_STRINGS;
		return 0;
	case MSR_TSC_AUX:
		*value = v->tsc_aux;
		return 0;
	default:
		break;
	}
	if (is_vlapic_msr(index) && v->lapic)
		return vlapic_rdmsr(v->lapic, index, value) ? 0 : -EINVAL;
	if (virt->get_msr(v, index, value) == 0)
		return 0;
	note_unknown(v, index, false);
	return -EINVAL;
}

int hv_msr_write(struct vcpu *v, u32 index, u64 value)
{
	int err;

	switch (index) {
	case MSR_TSC:
		/* Guests share the host TSC (no offsetting): a write is accepted and ignored. */
		return 0;
	case MSR_BIOS_SIGN_ID:
	case MSR_AMD_HWCR:
	case MSR_AMD_NB_CFG:
	case MSR_AMD_DE_CFG:
	case MSR_MISC_ENABLE:
		return 0;
	case MSR_TSC_AUX:
		v->tsc_aux = (u32)value;
		return value >> 32 ? -EINVAL : 0;
	default:
		break;
	}
	if (is_vlapic_msr(index) && v->lapic)
		return vlapic_wrmsr(v->lapic, index, value) ? 0 : -EINVAL;
	err = virt->set_msr(v, index, value);
	if (err == 0)
		return 0;
	if (err == -ENOENT)
		note_unknown(v, index, true);
	return -EINVAL;
}
