/* VMCS contents on a software VMCS: field table, accessors, controls, segments, CR shadows, MSRs, guest-state checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "tests/unit/vmx_fake_vmcs.h"
#include "asm/cpu.h"
#include "asm/msr.h"

static const struct vmx_caps bochs_skylake = {
	.basic = 0x00d810000000002bULL, .pin = 0x7f00000016ULL, .proc = 0xf7f9fffe04006172ULL,
	.proc2 = 0x2177fff00000000ULL, .exit = 0x7fffff00036dfbULL, .entry = 0xffff000011fbULL,
	.misc = 0x600401e0ULL, .ept_vpid = 0xf0106334141ULL, .cr0_fixed0 = 0x80000021ULL,
	.cr0_fixed1 = 0xffffffffULL, .cr4_fixed0 = 0x2000ULL, .cr4_fixed1 = 0x3727ffULL,
};

static struct vmx_config cfg;

static int setup(void **state)
{
	char why[200];

	fake_vmcs_reset();
	assert_int_equal(vmx_config_compute(&bochs_skylake, &cfg, why, sizeof(why)), 0);
	cfg.preempt_value = 50000;
	vmx_vmcs_init_controls(&cfg, 0x1234501eULL, 7);
	vmx_vmcs_reset_guest(&cfg);
	return 0;
}

/* Every field's encoding says the width and type of its SDM appendix B group. */
static void test_field_table(void **state)
{
	for (size_t i = 0; i < fake_vmcs_nr_fields; i++) {
		const struct fake_vmcs_field *f = &fake_vmcs_fields[i];

		if (VMCS_FIELD_WIDTH(f->field) != f->width || VMCS_FIELD_TYPE(f->field) != f->type)
			fail_msg("%s (%#x): encoding width %u type %u, its group says %u/%u", f->name,
				 f->field, VMCS_FIELD_WIDTH(f->field), VMCS_FIELD_TYPE(f->field),
				 f->width, f->type);
		assert_int_equal(f->field & (VMCS_ENC_HIGH | VMCS_ENC_RESERVED), 0);
		for (size_t j = 0; j < i; j++)
			if (fake_vmcs_fields[j].field == f->field)
				fail_msg("%s and %s share encoding %#x", f->name,
					 fake_vmcs_fields[j].name, f->field);
	}
	assert_true(fake_vmcs_nr_fields > 140);
}

static void test_accessors(void **state)
{
	vmcs_write16(GUEST_CS_SELECTOR, 0x12345);
	assert_int_equal(vmcs_read16(GUEST_CS_SELECTOR), 0x2345);
	vmcs_write32(GUEST_CS_LIMIT, 0x1ffffffffULL);
	assert_int_equal(vmcs_read32(GUEST_CS_LIMIT), 0xffffffffU);
	vmcs_write64(GUEST_IA32_EFER, 0x123456789abcULL);
	assert_int_equal(vmcs_read64(GUEST_IA32_EFER), 0x123456789abcULL);
	vmcs_writenat(GUEST_RIP, 0xffff800000001000ULL);
	assert_int_equal(vmcs_readnat(GUEST_RIP), 0xffff800000001000ULL);
	assert_int_equal(fake_vmcs_failures, 0);
	/* Failures reach the handler with the field, and reads give 0. */
	assert_int_equal(vmcs_read_any(0x6ffe), 0);
	assert_int_equal(fake_vmcs_failures, 1);
	assert_int_equal(fake_vmcs_failed_field, 0x6ffe);
	assert_int_equal(fake_vmcs_error, 12);
	vmcs_write_any(VM_EXIT_REASON, 1);
	assert_int_equal(fake_vmcs_failures, 2);
	assert_int_equal(fake_vmcs_error, 13);
}

static void test_controls_written(void **state)
{
	assert_int_equal(vmcs_read32(PIN_BASED_VM_EXEC_CONTROL), cfg.pin);
	assert_int_equal(vmcs_read32(CPU_BASED_VM_EXEC_CONTROL), cfg.proc);
	assert_int_equal(vmcs_read32(SECONDARY_VM_EXEC_CONTROL), cfg.proc2);
	assert_int_equal(vmcs_read32(VM_EXIT_CONTROLS), cfg.exit);
	assert_int_equal(vmcs_read32(VM_ENTRY_CONTROLS), cfg.entry);
	assert_int_equal(vmcs_read32(EXCEPTION_BITMAP), 1U << 18);
	assert_int_equal(vmcs_read64(VMCS_LINK_POINTER), ~0ULL);
	assert_int_equal(vmcs_read64(EPT_POINTER), 0x1234501eULL);
	assert_int_equal(vmcs_read16(VIRTUAL_PROCESSOR_ID), 7);
	assert_int_equal(vmcs_readnat(CR0_GUEST_HOST_MASK), cfg.cr0_mask);
	assert_int_equal(vmcs_readnat(CR4_GUEST_HOST_MASK), cfg.cr4_mask);
	assert_int_equal(vmcs_read32(VMX_PREEMPTION_TIMER_VALUE), 50000);
	assert_int_equal(fake_vmcs_failures, 0);
}

/* RESET state: real mode at F000:FFF0, CR0 = CD|NW|ET as the guest sees it, NE and VMXE hidden. */
static void test_reset_state(void **state)
{
	struct vcpu_sregs s;

	vmx_vmcs_get_sregs(&cfg, &s);
	assert_int_equal(vmcs_readnat(GUEST_RIP), 0xfff0);
	assert_int_equal(s.seg[VCPU_SEG_CS].selector, 0xf000);
	assert_int_equal(s.seg[VCPU_SEG_CS].base, 0xffff0000ULL);
	assert_int_equal(s.cr0, X86_CR0_CD | X86_CR0_NW | X86_CR0_ET);
	assert_int_equal(vmcs_readnat(GUEST_CR0), X86_CR0_CD | X86_CR0_NW | X86_CR0_ET | X86_CR0_NE);
	assert_int_equal(s.cr4, 0);
	assert_int_equal(vmcs_readnat(GUEST_CR4), X86_CR4_VMXE);
	assert_int_equal(vmcs_read64(GUEST_IA32_PAT), 0x0007040600070406ULL);
	assert_null(vmx_vmcs_check_guest(&cfg));
	assert_int_equal(fake_vmcs_failures, 0);
}

static struct vcpu_sregs flat32(void)
{
	struct vcpu_sregs s;

	memset(&s, 0, sizeof(s));
	for (int i = 0; i < VCPU_SEG_NR; i++)
		s.seg[i] = (struct vcpu_segment){ 0x10, 0, 0xffffffff, SEG_ATTR_TYPE(2) | SEG_ATTR_S |
							 SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G };
	s.seg[VCPU_SEG_CS] = (struct vcpu_segment){ 0x08, 0, 0xffffffff, SEG_ATTR_TYPE(0xa) |
						    SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G };
	s.seg[VCPU_SEG_TR] = (struct vcpu_segment){ 0, 0, 0xffff, SEG_ATTR_TYPE(0xb) | SEG_ATTR_P };
	s.seg[VCPU_SEG_LDTR] = (struct vcpu_segment){ 0, 0, 0xffff, SEG_ATTR_TYPE(2) };
	s.gdt_limit = 0x2f;
	s.idt_limit = 0x7ff;
	s.cr0 = X86_CR0_PE | X86_CR0_ET;
	s.dr7 = 0x400;
	return s;
}

/* Multiboot state: the backend marks segments accessed and LDTR (P clear) unusable. */
static void test_sregs_round_trip(void **state)
{
	struct vcpu_sregs in = flat32(), out;

	vmx_vmcs_set_sregs(&cfg, &in, cfg.entry);
	assert_int_equal(vmcs_read32(GUEST_CS_AR_BYTES), 0xc09b);
	assert_int_equal(vmcs_read32(GUEST_DS_AR_BYTES), 0xc093);
	assert_true(vmcs_read32(GUEST_LDTR_AR_BYTES) & VMX_AR_UNUSABLE);
	assert_null(vmx_vmcs_check_guest(&cfg));
	vmx_vmcs_get_sregs(&cfg, &out);
	for (int i = 0; i < VCPU_SEG_NR; i++) {
		u16 want = in.seg[i].attr;

		if ((want & SEG_ATTR_S) && (want & SEG_ATTR_P))
			want |= 1;
		assert_int_equal(out.seg[i].selector, in.seg[i].selector);
		assert_int_equal(out.seg[i].base, in.seg[i].base);
		assert_int_equal(out.seg[i].limit, in.seg[i].limit);
		assert_int_equal(out.seg[i].attr, want);
	}
	assert_int_equal(out.cr0, in.cr0);
	assert_int_equal(out.gdt_limit, 0x2f);
	assert_int_equal(out.idt_limit, 0x7ff);
	assert_int_equal(out.dr7, 0x400);
}

static void test_ar_conversion(void **state)
{
	for (u32 attr = 0; attr < 0x1000; attr++) {
		u32 ar = vmx_ar_from_attr((u16)attr);

		assert_int_equal(!!(ar & VMX_AR_UNUSABLE), !(attr & SEG_ATTR_P));
		assert_int_equal(ar & VMX_AR_RESERVED & ~VMX_AR_UNUSABLE, 0);
		assert_int_equal(vmx_attr_from_ar(ar), attr);
	}
	assert_int_equal(vmx_ar_from_attr(SEG_ATTR_TYPE(0xb) | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_L),
			 0x209b);
}

/* Long mode: LMA follows LME and CR0.PG, and sets the IA-32e mode entry control. */
static void test_long_mode_entry_control(void **state)
{
	struct vcpu_sregs s = flat32(), out;
	u32 entry;

	s.cr4 = X86_CR4_PAE;
	s.efer = EFER_LME;
	entry = vmx_vmcs_set_sregs(&cfg, &s, cfg.entry);
	assert_false(entry & ENTRY_CTL_IA32E_MODE_GUEST);
	assert_int_equal(vmcs_read64(GUEST_IA32_EFER), EFER_LME);
	s.cr0 |= X86_CR0_PG;
	s.seg[VCPU_SEG_CS].attr = SEG_ATTR_TYPE(0xb) | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_L | SEG_ATTR_G;
	entry = vmx_vmcs_set_sregs(&cfg, &s, entry);
	assert_true(entry & ENTRY_CTL_IA32E_MODE_GUEST);
	assert_int_equal(vmcs_read32(VM_ENTRY_CONTROLS), entry);
	assert_int_equal(vmcs_read64(GUEST_IA32_EFER), EFER_LME | EFER_LMA);
	assert_null(vmx_vmcs_check_guest(&cfg));
	vmx_vmcs_get_sregs(&cfg, &out);
	assert_int_equal(out.efer, EFER_LME | EFER_LMA);
	assert_int_equal(out.cr4, X86_CR4_PAE);
	/* Back out of long mode: the control clears again. */
	s.cr0 &= ~X86_CR0_PG;
	entry = vmx_vmcs_set_sregs(&cfg, &s, entry);
	assert_false(entry & ENTRY_CTL_IA32E_MODE_GUEST);
}

static void test_vmcs_msrs(void **state)
{
	u64 v;

	assert_int_equal(vmx_vmcs_set_msr(MSR_EFER, EFER_SCE | EFER_NXE), 0);
	assert_int_equal(vmx_vmcs_get_msr(MSR_EFER, &v), 0);
	assert_int_equal(v, EFER_SCE | EFER_NXE);
	assert_int_equal(vmx_vmcs_set_msr(MSR_EFER, BIT(12)), -EINVAL);  /* SVME: reserved here */
	assert_int_equal(vmx_vmcs_set_msr(MSR_EFER, EFER_LMA), 0);       /* LMA is ignored */
	assert_int_equal(vmx_vmcs_get_msr(MSR_EFER, &v), 0);
	assert_int_equal(v, 0);
	/* LME cannot change while paging is on. */
	vmcs_writenat(GUEST_CR0, X86_CR0_PE | X86_CR0_PG | X86_CR0_NE);
	assert_int_equal(vmx_vmcs_set_msr(MSR_EFER, EFER_LME), -EINVAL);
	vmcs_writenat(GUEST_CR0, X86_CR0_PE | X86_CR0_NE);
	assert_int_equal(vmx_vmcs_set_msr(MSR_EFER, EFER_LME), 0);
	assert_int_equal(vmx_vmcs_set_msr(MSR_IA32_PAT, 0x0007040600070406ULL), 0);
	assert_int_equal(vmx_vmcs_set_msr(MSR_IA32_PAT, 0x0207040600070406ULL), -EINVAL);
	assert_int_equal(vmx_vmcs_set_msr(MSR_FS_BASE, 0xffff800000000000ULL), 0);
	assert_int_equal(vmcs_readnat(GUEST_FS_BASE), 0xffff800000000000ULL);
	assert_int_equal(vmx_vmcs_set_msr(MSR_GS_BASE, 0x0000800000000000ULL), -EINVAL);
	assert_int_equal(vmx_vmcs_set_msr(MSR_IA32_SYSENTER_CS, 0x10), 0);
	assert_int_equal(vmcs_read32(GUEST_SYSENTER_CS), 0x10);
	assert_int_equal(vmx_vmcs_set_msr(MSR_IA32_SYSENTER_EIP, 0x1000), 0);
	assert_int_equal(vmx_vmcs_get_msr(MSR_IA32_SYSENTER_EIP, &v), 0);
	assert_int_equal(v, 0x1000);
	assert_int_equal(vmx_vmcs_get_msr(MSR_STAR, &v), -ENOENT); /* not held in the VMCS */
	assert_int_equal(vmx_vmcs_set_msr(0x10, 0), -ENOENT);
}

static void test_switched_msrs(void **state)
{
	assert_int_equal(vmx_switched_msr_slot(MSR_STAR), VMX_MSR_STAR);
	assert_int_equal(vmx_switched_msr_slot(MSR_KERNEL_GS_BASE), VMX_MSR_KERNEL_GS_BASE);
	assert_int_equal(vmx_switched_msr_slot(MSR_EFER), -1);
	assert_int_equal(vmx_switched_msr_check(MSR_STAR, ~0ULL), 0);
	assert_int_equal(vmx_switched_msr_check(MSR_SFMASK, 1ULL << 32), -EINVAL);
	assert_int_equal(vmx_switched_msr_check(MSR_LSTAR, 0x0000800000000000ULL), -EINVAL);
	assert_int_equal(vmx_switched_msr_check(MSR_KERNEL_GS_BASE, 0xffff880000000000ULL), 0);
}

static void expect_refused(const char *words)
{
	const char *why = vmx_vmcs_check_guest(&cfg);

	if (!why || !strstr(why, words))
		fail_msg("check says '%s', expected '%s'", why ? why : "(passes)", words);
}

/* One broken field at a time: the check names it (what an entry failure reports). */
static void test_guest_state_checks(void **state)
{
	static const struct { u32 field; u64 value; const char *words; } cases[] = {
		{ GUEST_TR_AR_BYTES, 0x1008b, "TR is marked unusable" },
		{ GUEST_TR_AR_BYTES, 0x89, "busy TSS" },
		{ GUEST_CR0, X86_CR0_PG | X86_CR0_NE | X86_CR0_ET, "CR0.PG is set while CR0.PE" },
		{ GUEST_CR0, X86_CR0_ET, "fixes to 1 (IA32_VMX_CR0_FIXED0)" },
		{ GUEST_CR4, 0, "IA32_VMX_CR4_FIXED0" },
		{ GUEST_CR4, X86_CR4_VMXE | X86_CR4_LA57, "IA32_VMX_CR4_FIXED1" },
		{ GUEST_CS_AR_BYTES, 0x91, "CS type" }, /* type 3 is allowed: unrestricted guest */
		{ GUEST_CS_AR_BYTES, 0x1009b, "CS access rights" },
		{ GUEST_SS_AR_BYTES, 0xf3, "SS DPL" },
		{ GUEST_DS_AR_BYTES, 0x92, "not accessed" },
		{ GUEST_DS_LIMIT, 0x1fffff, "G bit" },
		{ GUEST_RFLAGS, 0, "RFLAGS reserved bits" },
		{ GUEST_RIP, 1ULL << 32, "RIP bits 63:32" },
		{ GUEST_GDTR_LIMIT, 0x10000, "limit bits 31:16" },
		{ VMCS_LINK_POINTER, 0, "link pointer" },
		{ GUEST_INTERRUPTIBILITY_INFO, 3, "STI and by MOV SS" },
		{ GUEST_IA32_EFER, BIT(12), "EFER has reserved bits" },
		{ GUEST_IA32_PAT, 2, "IA32_PAT" },
		{ GUEST_ACTIVITY_STATE, 4, "activity state" },
		{ VM_ENTRY_INTR_INFO, INTR_INFO_VALID | (1 << 8), "type 1 is reserved" },
		{ VM_ENTRY_INTR_INFO, INTR_INFO_VALID | (3 << 8) | 40, "above 31" },
		{ VM_ENTRY_INTR_INFO, INTR_INFO_VALID | (2 << 8) | 3, "NMI injection" },
		{ VM_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_INFO_ERROR_CODE | (3 << 8) | 13,
		  "error code delivered" },
		{ VM_ENTRY_INTR_INFO, INTR_INFO_VALID | (4 << 8) | 0x21, "instruction length" },
		{ VM_ENTRY_INTR_INFO, INTR_INFO_VALID | 0x30, "RFLAGS.IF clear" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		u64 saved = vmcs_read_any(cases[i].field);

		assert_null(vmx_vmcs_check_guest(&cfg));
		vmcs_write_any(cases[i].field, cases[i].value);
		expect_refused(cases[i].words);
		vmcs_write_any(cases[i].field, saved);
	}
	assert_null(vmx_vmcs_check_guest(&cfg));
}

/* Long-mode and PAE rules need their own state. */
static void test_mode_dependent_checks(void **state)
{
	struct vcpu_sregs s = flat32();
	u32 entry;

	s.cr0 |= X86_CR0_PG;
	s.cr4 = X86_CR4_PAE;
	vmx_vmcs_set_sregs(&cfg, &s, cfg.entry);
	assert_null(vmx_vmcs_check_guest(&cfg));
	vmcs_write64(GUEST_PDPTE2, 1 | BIT(5));
	expect_refused("PDPTE has reserved bits");
	vmcs_write64(GUEST_PDPTE2, 1 | BIT(12));
	assert_null(vmx_vmcs_check_guest(&cfg));
	s.efer = EFER_LME;
	s.seg[VCPU_SEG_CS].attr |= SEG_ATTR_L;
	entry = vmx_vmcs_set_sregs(&cfg, &s, cfg.entry);
	expect_refused("both L and D/B");
	s.seg[VCPU_SEG_CS].attr &= ~SEG_ATTR_DB;
	vmx_vmcs_set_sregs(&cfg, &s, entry);
	assert_null(vmx_vmcs_check_guest(&cfg));
	vmcs_writenat(GUEST_CR4, X86_CR4_VMXE);
	expect_refused("CR4.PAE clear");
	vmcs_writenat(GUEST_CR4, X86_CR4_VMXE | X86_CR4_PAE);
	vmcs_write64(GUEST_IA32_EFER, EFER_LME);
	expect_refused("LMA differs");
	vmcs_write64(GUEST_IA32_EFER, EFER_LME | EFER_LMA);
	vmcs_writenat(GUEST_RIP, 0x0000800000000000ULL);
	expect_refused("not canonical in 64-bit mode");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_field_table, setup),
		cmocka_unit_test_setup(test_accessors, setup),
		cmocka_unit_test_setup(test_controls_written, setup),
		cmocka_unit_test_setup(test_reset_state, setup),
		cmocka_unit_test_setup(test_sregs_round_trip, setup),
		cmocka_unit_test_setup(test_ar_conversion, setup),
		cmocka_unit_test_setup(test_long_mode_entry_control, setup),
		cmocka_unit_test_setup(test_vmcs_msrs, setup),
		cmocka_unit_test_setup(test_switched_msrs, setup),
		cmocka_unit_test_setup(test_guest_state_checks, setup),
		cmocka_unit_test_setup(test_mode_dependent_checks, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
