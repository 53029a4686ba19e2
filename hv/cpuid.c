/* CPUID policy (Intel SDM vol. 2A CPUID, AMD APM vol. 3 appendix E): what guests may see. */
#include "hv/cpuid.h"
#include "lib/string.h"

#define BASIC_MAX 0x0dU
#define EXT_MAX 0x80000008U

/* Leaf 1 ECX: SSE3 PCLMULQDQ SSSE3 CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES RDRAND (FMA needs AVX: no) */
#define L1_ECX_KEEP (BIT(0) | BIT(1) | BIT(9) | BIT(13) | BIT(19) | BIT(20) | BIT(22) | BIT(23) | \
		     BIT(25) | BIT(30))
#define L1_ECX_TSC_DEADLINE BIT(24)
#define L1_ECX_HYPERVISOR BIT(31)
/* Leaf 1 EDX: FPU VME DE PSE TSC MSR PAE CX8 APIC SEP PGE CMOV PAT PSE36 CLFSH MMX FXSR SSE SSE2 HTT */
#define L1_EDX_KEEP (BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(8) | \
		     BIT(9) | BIT(11) | BIT(13) | BIT(15) | BIT(16) | BIT(17) | BIT(19) | BIT(23) | \
		     BIT(24) | BIT(25) | BIT(26) | BIT(28))
/* Leaf 7.0 EBX: FSGSBASE BMI1 SMEP BMI2 ERMS RDSEED ADX SMAP CLFLUSHOPT SHA */
#define L7_EBX_KEEP (BIT(0) | BIT(3) | BIT(7) | BIT(8) | BIT(9) | BIT(18) | BIT(19) | BIT(20) | \
		     BIT(23) | BIT(29))
/* 0x80000001 ECX: LAHF/SAHF, ABM (LZCNT), SSE4A, misaligned SSE, 3DNow! prefetch */
#define E1_ECX_KEEP (BIT(0) | BIT(5) | BIT(6) | BIT(7) | BIT(8))
/* 0x80000001 EDX: the leaf-1 bits AMD mirrors, SYSCALL, NX, MMXEXT, FFXSR, 1 GiB pages, LM */
#define E1_EDX_KEEP ((L1_EDX_KEEP & ~BIT(28)) | BIT(11) | BIT(20) | BIT(22) | BIT(25) | BIT(26) | \
		     BIT(29))
/* 0x80000007 EDX: invariant TSC */
#define E7_EDX_KEEP BIT(8)

static void signature(struct cpuid_regs *r)
{
	const char *s = HV_CPUID_SIGNATURE;

	memcpy(&r->ebx, s, 4);
	memcpy(&r->ecx, s + 4, 4);
	memcpy(&r->edx, s + 8, 4);
}

static void hypervisor_leaf(const struct cpuid_env *env, u32 leaf, struct cpuid_regs *r)
{
	memset(r, 0, sizeof(*r));
	switch (leaf) {
	case HV_CPUID_LEAF_BASE:
		r->eax = HV_CPUID_LEAF_MAX;
		signature(r);
		break;
	case HV_CPUID_LEAF_BASE + 1: /* interface version; no paravirtual features yet */
		r->eax = 1;
		break;
	case HV_CPUID_LEAF_MAX: /* timing, in the layout other hypervisors use for this leaf */
		r->eax = (u32)env->tsc_khz;
		r->ebx = (u32)env->lapic_khz;
		break;
	default:
		break;
	}
}

static void basic_leaf(const struct cpuid_env *env, u32 leaf, u32 sub, struct cpuid_regs *r)
{
	switch (leaf) {
	case 0:
		r->eax = MIN(r->eax, BASIC_MAX);
		break;
	case 1:
		r->ecx = (r->ecx & L1_ECX_KEEP) | L1_ECX_TSC_DEADLINE | L1_ECX_HYPERVISOR;
		r->edx &= L1_EDX_KEEP;
		/* EBX: APIC id 31:24, logical processors 23:16, CLFLUSH size 15:8, brand 7:0 */
		r->ebx = (r->ebx & 0xff00U) | (env->vcpu_id << 24) | (MIN(env->nr_vcpus, 255U) << 16);
		if (env->nr_vcpus > 1)
			r->edx |= BIT(28);
		else
			r->edx &= ~BIT(28);
		break;
	case 7:
		if (sub == 0) {
			r->eax = 0;
			r->ebx &= L7_EBX_KEEP;
			r->ecx = 0;
			r->edx = 0;
		} else {
			memset(r, 0, sizeof(*r));
		}
		break;
	case 2: case 4:
		break; /* cache descriptors: as on the host */
	default:
		/* monitor/mwait, thermal, perf counters, topology, XSAVE: not offered */
		memset(r, 0, sizeof(*r));
		break;
	}
}

static void extended_leaf(const struct cpuid_env *env, u32 leaf, struct cpuid_regs *r)
{
	switch (leaf) {
	case 0x80000000:
		r->eax = MIN(r->eax, EXT_MAX);
		break;
	case 0x80000001:
		r->ecx &= E1_ECX_KEEP;
		r->edx &= E1_EDX_KEEP;
		break;
	case 0x80000002: case 0x80000003: case 0x80000004: /* brand string */
	case 0x80000005: case 0x80000006:                   /* caches */
		break;
	case 0x80000007:
		r->eax = r->ebx = r->ecx = 0;
		r->edx &= E7_EDX_KEEP;
		break;
	case 0x80000008:
		r->eax &= 0xffffU; /* physical and linear address sizes */
		r->ebx = 0;
		r->ecx = 0;        /* AMD core count: described by leaf 1 only */
		r->edx = 0;
		break;
	default:
		memset(r, 0, sizeof(*r));
		break;
	}
}

void cpuid_policy(const struct cpuid_env *env, u32 leaf, u32 subleaf, struct cpuid_regs *out)
{
	struct cpuid_regs max;

	if (leaf >= HV_CPUID_LEAF_BASE && leaf <= 0x4fffffffU) {
		hypervisor_leaf(env, leaf, out);
		return;
	}
	if (leaf >= 0x80000000U) {
		env->host_cpuid(0x80000000U, 0, &max);
		if (leaf > MIN(max.eax, EXT_MAX)) {
			memset(out, 0, sizeof(*out));
			return;
		}
		env->host_cpuid(leaf, subleaf, out);
		extended_leaf(env, leaf, out);
		return;
	}
	env->host_cpuid(0, 0, &max);
	if (leaf > MIN(max.eax, BASIC_MAX)) {
		memset(out, 0, sizeof(*out));
		return;
	}
	env->host_cpuid(leaf, subleaf, out);
	basic_leaf(env, leaf, subleaf, out);
}
