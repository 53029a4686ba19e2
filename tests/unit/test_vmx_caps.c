/* VMX control fields computed from allowed-0/allowed-1 capability MSRs; CR fixed bits; the description. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "arch/x86/vmx/vmx_internal.h"
#include "asm/cpu.h"

/* Bochs 2.7 corei7_skylake_x, as its hypervisor boot log prints them (loglevel=7). */
static const struct vmx_caps bochs_skylake = {
	.basic = 0x00d810000000002bULL,
	.pin = 0x7f00000016ULL,
	.proc = 0xf7f9fffe04006172ULL,
	.proc2 = 0x2177fff00000000ULL,
	.exit = 0x7fffff00036dfbULL,
	.entry = 0xffff000011fbULL,
	.misc = 0x600401e0ULL,
	.ept_vpid = 0xf0106334141ULL,
	.cr0_fixed0 = 0x80000021ULL,
	.cr0_fixed1 = 0xffffffffULL,
	.cr4_fixed0 = 0x2000ULL,
	.cr4_fixed1 = 0x3727ffULL,
};

static u64 cap(u32 must1, u32 may1) { return ((u64)may1 << 32) | must1; }

static void test_adjust_takes_wanted_and_forced_bits(void **state)
{
	u32 out, bad;

	/* Bit 1 forced on by allowed-0, bit 4 wanted and allowed, bit 8 wanted but not allowed. */
	assert_int_equal(vmx_ctl_adjust(cap(0x2, 0xff), 0x110, 0x10, 0, 0, &out, &bad), 0);
	assert_int_equal(out, 0x12);
	assert_int_equal(bad, 0);
}

static void test_adjust_missing_need_fails(void **state)
{
	u32 out, bad;

	assert_int_equal(vmx_ctl_adjust(cap(0, 0xff), 0x100, 0x100, 0, 0, &out, &bad), -ENODEV);
	assert_int_equal(bad, 0x100);
}

static void test_adjust_dynamic_bits(void **state)
{
	u32 out, bad;

	/* Dynamic: must be settable to 1 and to 0; never in the base value. */
	assert_int_equal(vmx_ctl_adjust(cap(0, 0x4), 0x4, 0, 0x4, 0, &out, &bad), 0);
	assert_int_equal(out, 0);
	assert_int_equal(vmx_ctl_adjust(cap(0, 0), 0, 0, 0x4, 0, &out, &bad), -ENODEV);
	assert_int_equal(bad, 0x4);
	assert_int_equal(vmx_ctl_adjust(cap(0x4, 0x4), 0, 0, 0x4, 0, &out, &bad), -ENODEV);
	assert_int_equal(bad, 0x4);
}

static void test_adjust_forbidden_forced_on_fails(void **state)
{
	u32 out, bad;

	assert_int_equal(vmx_ctl_adjust(cap(0x8000, 0xffff), 0, 0, 0, 0x8000, &out, &bad), -ENODEV);
	assert_int_equal(bad, 0x8000);
	/* Forbidden but not forced: fine, and left out. */
	assert_int_equal(vmx_ctl_adjust(cap(0, 0xffff), 0x8000, 0, 0, 0x8000, &out, &bad), 0);
}

static void test_bochs_configuration(void **state)
{
	struct vmx_config c;
	char why[200] = "";

	assert_int_equal(vmx_config_compute(&bochs_skylake, &c, why, sizeof(why)), 0);
	assert_int_equal(c.revision, 0x2b);
	assert_int_equal(c.pin, PIN_EXT_INTR_EXITING | PIN_NMI_EXITING | PIN_PREEMPTION_TIMER | 0x16);
	assert_true(c.proc & PROC_HLT_EXITING);
	assert_true(c.proc & PROC_UNCOND_IO_EXITING);
	assert_true(c.proc & PROC_INVLPG_EXITING);
	assert_true(c.proc & PROC_MWAIT_EXITING);
	assert_true(c.proc & PROC_MONITOR_EXITING);
	assert_true(c.proc & PROC_SECONDARY_CONTROLS);
	assert_false(c.proc & (PROC_USE_MSR_BITMAPS | PROC_USE_IO_BITMAPS | PROC_INTR_WINDOW_EXITING |
			       PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_TPR_SHADOW));
	assert_int_equal(c.proc & 0x04006172U, 0x04006172U); /* the default-1 bits */
	assert_int_equal(c.proc2, PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_VPID);
	assert_true(c.exit & EXIT_CTL_HOST_ADDR_SPACE_SIZE);
	assert_true(c.exit & EXIT_CTL_SAVE_IA32_EFER && c.exit & EXIT_CTL_LOAD_IA32_EFER);
	assert_true(c.exit & EXIT_CTL_SAVE_IA32_PAT && c.exit & EXIT_CTL_LOAD_IA32_PAT);
	assert_false(c.exit & EXIT_CTL_ACK_INTR_ON_EXIT);
	assert_int_equal(c.exit & 0x36dfb, 0x36dfb);
	assert_true(c.entry & ENTRY_CTL_LOAD_IA32_EFER && c.entry & ENTRY_CTL_LOAD_IA32_PAT);
	assert_false(c.entry & ENTRY_CTL_IA32E_MODE_GUEST);
	assert_int_equal(c.entry & 0x11fb, 0x11fb);
	assert_true(c.vpid);
	assert_true(c.ept_1g);
	assert_int_equal(c.invept_type, INVEPT_SINGLE_CONTEXT);
	assert_int_equal(c.invvpid_type, INVVPID_SINGLE_CONTEXT);
	assert_true(c.invvpid_addr);
	assert_int_equal(c.preempt_shift, 0);
}

/* Fixed bits: CR0.NE on and hidden behind the shadow; PE/PG free (unrestricted guest); CR4.VMXE hidden. */
static void test_cr_fixed_bits_and_masks(void **state)
{
	struct vmx_config c;
	char why[200];

	assert_int_equal(vmx_config_compute(&bochs_skylake, &c, why, sizeof(why)), 0);
	assert_int_equal(c.cr0_on, X86_CR0_NE);
	assert_int_equal(c.cr0_mask, X86_CR0_NE);
	assert_int_equal(vmx_real_cr0(&c, X86_CR0_CD | X86_CR0_NW | X86_CR0_ET),
			 X86_CR0_CD | X86_CR0_NW | X86_CR0_ET | X86_CR0_NE);
	assert_int_equal(vmx_real_cr0(&c, X86_CR0_PG | X86_CR0_PE) & (X86_CR0_PG | X86_CR0_PE),
			 X86_CR0_PG | X86_CR0_PE);
	assert_int_equal(c.cr4_on, X86_CR4_VMXE);
	assert_true(c.cr4_mask & X86_CR4_VMXE);
	assert_false(c.cr4_mask & (X86_CR4_PAE | X86_CR4_PSE | X86_CR4_PGE | X86_CR4_OSFXSR));
	/* Bits the CPU cannot set (CR4_FIXED1 clear) are owned by the hypervisor and forced off. */
	assert_true(c.cr4_mask & X86_CR4_LA57);
	assert_int_equal(vmx_real_cr4(&c, X86_CR4_PAE | X86_CR4_LA57), X86_CR4_PAE | X86_CR4_VMXE);
}

/* A CPU without TRUE controls forces CR3-load/store exiting: accepted, the core handles them. */
static void test_non_true_controls(void **state)
{
	struct vmx_caps caps = bochs_skylake;
	struct vmx_config c;
	char why[200];

	caps.basic &= ~VMX_BASIC_TRUE_CTLS;
	caps.proc = cap(0x0401e172, 0xf7f9fffe);
	assert_int_equal(vmx_config_compute(&caps, &c, why, sizeof(why)), 0);
	assert_true(c.proc & PROC_CR3_LOAD_EXITING);
	assert_true(c.proc & PROC_CR3_STORE_EXITING);
}

static void expect_refusal(const struct vmx_caps *caps, const char *words)
{
	struct vmx_config c;
	char why[200] = "";

	assert_int_equal(vmx_config_compute(caps, &c, why, sizeof(why)), -ENODEV);
	if (!strstr(why, words))
		fail_msg("reason '%s' does not mention '%s'", why, words);
}

static void test_refusals(void **state)
{
	struct vmx_caps caps;

	caps = bochs_skylake;
	caps.proc2 &= ~((u64)PROC2_UNRESTRICTED_GUEST << 32);
	expect_refusal(&caps, "unrestricted guest");
	caps = bochs_skylake;
	caps.proc &= ~((u64)PROC_SECONDARY_CONTROLS << 32);
	expect_refusal(&caps, "secondary");
	caps = bochs_skylake;
	caps.proc2 &= ~((u64)PROC2_ENABLE_EPT << 32);
	expect_refusal(&caps, "secondary processor-based");
	caps = bochs_skylake;
	caps.ept_vpid &= ~VMX_EPT_2M_PAGES;
	expect_refusal(&caps, "2 MiB");
	caps = bochs_skylake;
	caps.ept_vpid &= ~VMX_EPT_INVEPT;
	expect_refusal(&caps, "INVEPT");
	caps = bochs_skylake;
	caps.exit |= EXIT_CTL_ACK_INTR_ON_EXIT; /* forced on by allowed-0 */
	expect_refusal(&caps, "VM-exit");
	caps = bochs_skylake;
	caps.entry &= ~((u64)ENTRY_CTL_LOAD_IA32_EFER << 32);
	expect_refusal(&caps, "VM-entry");
	caps = bochs_skylake;
	caps.pin &= ~((u64)PIN_NMI_EXITING << 32);
	expect_refusal(&caps, "pin-based");
	caps = bochs_skylake;
	caps.misc &= ~VMX_MISC_SAVES_LMA;
	expect_refusal(&caps, "LMA");
}

static void test_optional_features(void **state)
{
	struct vmx_caps caps = bochs_skylake;
	struct vmx_config c;
	char why[200];

	caps.ept_vpid &= ~(VMX_VPID_INVVPID | VMX_EPT_1G_PAGES | VMX_EPT_INVEPT_SINGLE);
	caps.pin &= ~((u64)PIN_PREEMPTION_TIMER << 32);
	assert_int_equal(vmx_config_compute(&caps, &c, why, sizeof(why)), 0);
	assert_false(c.vpid);
	assert_false(c.proc2 & PROC2_ENABLE_VPID);
	assert_false(c.ept_1g);
	assert_false(c.invvpid_addr);
	assert_false(c.pin & PIN_PREEMPTION_TIMER);
	assert_int_equal(c.invept_type, INVEPT_ALL_CONTEXT);
}

static void test_describe(void **state)
{
	struct vmx_caps caps = bochs_skylake;
	char buf[512];

	vmx_caps_describe(&caps, buf, sizeof(buf));
	assert_non_null(strstr(buf, "VMX rev 0x2b (true controls)"));
	assert_non_null(strstr(buf, "EPT yes: 2M,1G,A/D,exec-only"));
	assert_non_null(strstr(buf, "VPID yes"));
	assert_non_null(strstr(buf, "unrestricted guest yes"));
	assert_non_null(strstr(buf, "INVEPT single,all"));
	assert_non_null(strstr(buf, "INVVPID addr,single,all,single-globals"));
	assert_non_null(strstr(buf, "APIC virtualization TPR-shadow,APIC-access,x2APIC,register,"
				    "interrupt-delivery"));
	caps.proc2 &= ~((u64)(PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST) << 32);
	caps.ept_vpid = VMX_EPT_2M_PAGES;
	vmx_caps_describe(&caps, buf, sizeof(buf));
	assert_non_null(strstr(buf, "VPID no"));
	assert_non_null(strstr(buf, "unrestricted guest no"));
	assert_non_null(strstr(buf, "INVEPT none"));
	/* A short buffer is cut, never overrun (ASan watches). */
	vmx_caps_describe(&bochs_skylake, buf, 40);
	assert_int_equal(strlen(buf), 39);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adjust_takes_wanted_and_forced_bits),
		cmocka_unit_test(test_adjust_missing_need_fails),
		cmocka_unit_test(test_adjust_dynamic_bits),
		cmocka_unit_test(test_adjust_forbidden_forced_on_fails),
		cmocka_unit_test(test_bochs_configuration),
		cmocka_unit_test(test_cr_fixed_bits_and_masks),
		cmocka_unit_test(test_non_true_controls),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_optional_features),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
