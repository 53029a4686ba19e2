/* Test guest "cpuid": the hypervisor's CPUID policy (hv/cpuid.c) as the guest sees it. */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "hv/cpuid.h"

#define L1_ECX_VMX BIT(5)
#define L1_ECX_X2APIC BIT(21)
#define L1_ECX_TSC_DEADLINE BIT(24)
#define L1_ECX_XSAVE BIT(26)
#define L1_ECX_AVX BIT(28)
#define L1_ECX_HYPERVISOR BIT(31)
#define L1_EDX_APIC BIT(9)
#define E1_ECX_SVM BIT(2)
#define E1_EDX_LM BIT(29)
#define CPUID_REPEAT 1000

/* Every CPUID of this guest goes through here, so the total can be compared with exit counts. */
static u32 cpuid_executed;

static struct cpuid_out counted_cpuid(u32 leaf, u32 sub)
{
	cpuid_executed++;
	return cpuid(leaf, sub);
}
#define cpuid(leaf, sub) counted_cpuid(leaf, sub)

static bool same(struct cpuid_out a, struct cpuid_out b)
{
	return a.eax == b.eax && a.ebx == b.ebx && a.ecx == b.ecx && a.edx == b.edx;
}

/* Leaf 0: vendor string printable and the same every time. */
static void check_vendor(void)
{
	struct cpuid_out first = cpuid(0, 0);
	char vendor[13];
	bool printable = true, stable = true;

	memcpy(vendor, &first.ebx, 4);
	memcpy(vendor + 4, &first.edx, 4);
	memcpy(vendor + 8, &first.ecx, 4);
	vendor[12] = '\0';
	for (int i = 0; i < 12; i++)
		printable &= vendor[i] >= 0x20 && vendor[i] < 0x7f;
	for (int i = 0; i < CPUID_REPEAT && stable; i++)
		stable = same(cpuid(0, 0), first);
	rt_check(printable && stable && first.eax >= 1,
		 "cpuid: vendor \"%s\", max basic leaf 0x%x, same over %d calls", vendor, first.eax,
		 CPUID_REPEAT);
}

static void check_features(bool hv)
{
	struct cpuid_out l1 = cpuid(1, 0), e0 = cpuid(0x80000000, 0), e1 = { 0, 0, 0, 0 };

	if (e0.eax >= 0x80000001)
		e1 = cpuid(0x80000001, 0);
	rt_printf("cpuid: leaf 1 ecx 0x%08x edx 0x%08x; 0x80000001 ecx 0x%08x edx 0x%08x\n",
		  l1.ecx, l1.edx, e1.ecx, e1.edx);
	if (!hv) {
		rt_skip("cpuid: feature policy (not under hv: no 'hv' on the command line)");
		return;
	}
	rt_check(l1.ecx & L1_ECX_HYPERVISOR, "cpuid: hypervisor bit CPUID.1:ECX[31] set");
	rt_check(!(l1.ecx & L1_ECX_VMX), "cpuid: VMX hidden");
	rt_check(!(e1.ecx & E1_ECX_SVM), "cpuid: SVM hidden");
	rt_check(!(l1.ecx & (L1_ECX_X2APIC | L1_ECX_XSAVE | L1_ECX_AVX)),
		 "cpuid: x2APIC, XSAVE and AVX hidden");
	rt_check(l1.ecx & L1_ECX_TSC_DEADLINE, "cpuid: TSC-deadline timer offered");
	rt_check(l1.edx & L1_EDX_APIC, "cpuid: APIC present");
	rt_check(e1.edx & E1_EDX_LM, "cpuid: long mode offered");
	rt_check(l1.ebx >> 24 == 0, "cpuid: boot vCPU has initial APIC id 0 (got %u)", l1.ebx >> 24);
	rt_check(((l1.ebx >> 16) & 0xff) == rt_param("cpus", 1),
		 "cpuid: logical processor count %u matches cpus=%u", (l1.ebx >> 16) & 0xff,
		 rt_param("cpus", 1));
}

static void check_hypervisor_leaves(bool hv)
{
	struct cpuid_out base = cpuid(HV_CPUID_LEAF_BASE, 0), beyond;
	char sig[13];

	memcpy(sig, &base.ebx, 4);
	memcpy(sig + 4, &base.ecx, 4);
	memcpy(sig + 8, &base.edx, 4);
	sig[12] = '\0';
	for (int i = 0; i < 12; i++)
		if (sig[i] < 0x20 || sig[i] >= 0x7f)
			sig[i] = '?';
	rt_printf("cpuid: leaf 0x40000000: max 0x%x signature \"%s\"\n", base.eax, sig);
	if (!hv) {
		rt_skip("cpuid: hypervisor leaves (not under hv)");
		return;
	}
	rt_check(strcmp(sig, HV_CPUID_SIGNATURE) == 0, "cpuid: hypervisor signature \"%s\"",
		 HV_CPUID_SIGNATURE);
	rt_check(base.eax >= HV_CPUID_LEAF_BASE && base.eax == HV_CPUID_LEAF_MAX,
		 "cpuid: max hypervisor leaf 0x%x", base.eax);
	rt_check(cpuid(HV_CPUID_LEAF_MAX, 0).eax != 0, "cpuid: leaf 0x%x reports the TSC frequency (%u kHz)",
		 HV_CPUID_LEAF_MAX, cpuid(HV_CPUID_LEAF_MAX, 0).eax);
	beyond = cpuid(HV_CPUID_LEAF_MAX + 1, 0);
	rt_check(!beyond.eax && !beyond.ebx && !beyond.ecx && !beyond.edx,
		 "cpuid: leaf beyond the hypervisor range reads zeros");
	rt_check(same(cpuid(HV_CPUID_LEAF_BASE, 0), base), "cpuid: hypervisor leaf stable");
}

/* A fixed number of CPUIDs the integration test can count in the exit statistics. */
static void counted_cpuids(void)
{
	u32 n = rt_param("count", 0);

	if (!n)
		return;
	rt_printf("cpuid: executing %u CPUIDs now\n", n);
	for (u32 i = 0; i < n; i++)
		cpuid(0, 0);
	rt_pass("cpuid: executed %u CPUIDs", n);
}

void guest_main(void)
{
	bool hv = rt_under_hv();

	check_vendor();
	check_features(hv);
	check_hypervisor_leaves(hv);
	counted_cpuids();
	rt_printf("cpuid: executed %u CPUID instructions in total\n", cpuid_executed);
}
