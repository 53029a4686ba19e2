/* VMX exit decoding onto struct vm_exit, the exit-reason and error tables, event encoding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "arch/x86/vmx/vmx_internal.h"
#include "hv/decode.h"

static u64 gprs[16];

static struct vm_exit decode(u32 reason, u64 qual, u32 insn_len)
{
	struct vmx_exit_raw r = { .reason = reason, .qual = qual, .insn_len = insn_len };
	struct vm_exit e;

	memset(&e, 0xa5, sizeof(e)); /* the decoder must clear what it does not fill */
	vmx_exit_decode(&r, gprs, true, &e);
	return e;
}

static void test_instruction_exits(void **state)
{
	static const struct { u32 reason; enum exit_reason want; } cases[] = {
		{ EXIT_REASON_CPUID, EXIT_CPUID }, { EXIT_REASON_HLT, EXIT_HLT },
		{ EXIT_REASON_VMCALL, EXIT_HYPERCALL }, { EXIT_REASON_XSETBV, EXIT_XSETBV },
		{ EXIT_REASON_PAUSE, EXIT_PAUSE }, { EXIT_REASON_RDTSC, EXIT_RDTSC },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vm_exit e = decode(cases[i].reason, 0, 2);

		assert_int_equal(e.reason, cases[i].want);
		assert_int_equal(e.insn_len, 2);
		assert_int_equal(e.hw_code, cases[i].reason);
	}
	/* A length the CPU cannot give (0 or > 15) is "unknown": the core decodes. */
	assert_int_equal(decode(EXIT_REASON_CPUID, 0, 0).insn_len, 0);
	assert_int_equal(decode(EXIT_REASON_CPUID, 0, 16).insn_len, 0);
	/* Exits not caused by instructions carry no length even if the field has one. */
	assert_int_equal(decode(EXIT_REASON_EXTERNAL_INTERRUPT, 0, 3).insn_len, 0);
	assert_int_equal(decode(EXIT_REASON_EXTERNAL_INTERRUPT, 0, 3).reason, EXIT_EXTINT);
	assert_int_equal(decode(EXIT_REASON_PREEMPTION_TIMER, 0, 0).reason, EXIT_EXTINT);
	assert_int_equal(decode(EXIT_REASON_TRIPLE_FAULT, 0, 0).reason, EXIT_TRIPLE_FAULT);
	assert_int_equal(decode(EXIT_REASON_INTERRUPT_WINDOW, 0, 0).reason, EXIT_IRQ_WINDOW);
	assert_int_equal(decode(EXIT_REASON_NMI_WINDOW, 0, 0).reason, EXIT_NMI_WINDOW);
}

static void test_io_qualification(void **state)
{
	struct vmx_exit_raw r = { .reason = EXIT_REASON_IO_INSTRUCTION, .insn_len = 1 };
	struct vm_exit e;

	/* OUT DX, AL to 0x3f8 */
	r.qual = 0x3f8ULL << 16;
	vmx_exit_decode(&r, gprs, true, &e);
	assert_int_equal(e.reason, EXIT_IO);
	assert_int_equal(e.io.port, 0x3f8);
	assert_int_equal(e.io.size, 1);
	assert_false(e.io.in);
	assert_false(e.io.string);
	assert_int_equal(e.insn_len, 1);
	/* IN EAX, imm8 0xf4 */
	r.qual = (0xf4ULL << 16) | IO_QUAL_IMMEDIATE | IO_QUAL_IN | 3;
	r.insn_len = 2;
	vmx_exit_decode(&r, gprs, true, &e);
	assert_int_equal(e.io.port, 0xf4);
	assert_int_equal(e.io.size, 4);
	assert_true(e.io.in);
	/* REP OUTSW with a 32-bit address and an FS override */
	r.qual = (0x510ULL << 16) | IO_QUAL_STRING | IO_QUAL_REP | 1;
	r.insn_info = (1U << IO_INFO_ADDR_SIZE_SHIFT) | (4U << IO_INFO_SEG_SHIFT);
	vmx_exit_decode(&r, gprs, true, &e);
	assert_int_equal(e.io.size, 2);
	assert_true(e.io.string && e.io.rep);
	assert_int_equal(e.io.addr_size, 4);
	assert_int_equal(e.io.seg, X86_SEG_FS);
	/* Without the INS/OUTS information (IA32_VMX_BASIC bit 54): DS, size unknown. */
	vmx_exit_decode(&r, gprs, false, &e);
	assert_int_equal(e.io.seg, X86_SEG_DS);
	assert_int_equal(e.io.addr_size, 0);
	/* INSQ with a 64-bit address */
	r.qual = (0x60ULL << 16) | IO_QUAL_STRING | IO_QUAL_IN | 3;
	r.insn_info = 2U << IO_INFO_ADDR_SIZE_SHIFT;
	vmx_exit_decode(&r, gprs, true, &e);
	assert_int_equal(e.io.addr_size, 8);
	assert_true(e.io.in && e.io.string && !e.io.rep);
	/* An impossible size field is not passed on. */
	r.qual = 2;
	vmx_exit_decode(&r, gprs, true, &e);
	assert_int_equal(e.reason, EXIT_UNHANDLED);
}

static void test_msr_exits_take_rcx(void **state)
{
	struct vm_exit e;

	gprs[1] = 0xffffffffc0000080ULL; /* only ECX counts */
	e = decode(EXIT_REASON_RDMSR, 0, 2);
	assert_int_equal(e.reason, EXIT_MSR_READ);
	assert_int_equal(e.msr.index, 0xc0000080U);
	e = decode(EXIT_REASON_WRMSR, 0, 2);
	assert_int_equal(e.reason, EXIT_MSR_WRITE);
	assert_int_equal(e.msr.index, 0xc0000080U);
	gprs[1] = 0;
}

static void test_cr_access(void **state)
{
	struct vm_exit e;

	/* MOV CR0, RBX */
	e = decode(EXIT_REASON_CR_ACCESS, (3U << CR_QUAL_GPR_SHIFT) | 0, 3);
	assert_int_equal(e.reason, EXIT_CR_ACCESS);
	assert_int_equal(e.cr.cr, 0);
	assert_true(e.cr.write);
	assert_int_equal(e.cr.gpr, 3);
	/* MOV R12, CR4 */
	e = decode(EXIT_REASON_CR_ACCESS, (12U << CR_QUAL_GPR_SHIFT) |
					  (CR_ACCESS_MOV_FROM << CR_QUAL_ACCESS_SHIFT) | 4, 4);
	assert_int_equal(e.cr.cr, 4);
	assert_false(e.cr.write);
	assert_int_equal(e.cr.gpr, 12);
	/* CLTS and LMSW are not expected (the backend owns no CR0 bit they touch). */
	assert_int_equal(decode(EXIT_REASON_CR_ACCESS, CR_ACCESS_CLTS << CR_QUAL_ACCESS_SHIFT, 2).reason,
			 EXIT_UNHANDLED);
	assert_int_equal(decode(EXIT_REASON_CR_ACCESS, CR_ACCESS_LMSW << CR_QUAL_ACCESS_SHIFT, 3).reason,
			 EXIT_UNHANDLED);
}

static void test_ept_violation(void **state)
{
	struct vmx_exit_raw r = { .reason = EXIT_REASON_EPT_VIOLATION, .gpa = 0xfe000010,
				  .gla = 0xc0000010, .insn_len = 7 };
	struct vm_exit e;

	/* A write to an unmapped page, linear address valid. */
	r.qual = EPT_QUAL_WRITE | EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_TRANSLATED;
	vmx_exit_decode(&r, gprs, true, &e);
	assert_int_equal(e.reason, EXIT_NPF);
	assert_int_equal(e.npf.gpa, 0xfe000010);
	assert_true(e.npf.gva_valid);
	assert_int_equal(e.npf.gva, 0xc0000010);
	assert_true(e.npf.write);
	assert_false(e.npf.fetch);
	assert_false(e.npf.present);
	assert_int_equal(e.insn_len, 0); /* not an instruction exit: the length field is undefined */
	/* A fetch from a present but non-executable page, no linear address. */
	r.qual = EPT_QUAL_FETCH | EPT_QUAL_READABLE | EPT_QUAL_WRITABLE;
	vmx_exit_decode(&r, gprs, true, &e);
	assert_true(e.npf.fetch);
	assert_true(e.npf.present);
	assert_false(e.npf.write);
	assert_false(e.npf.gva_valid);
	assert_int_equal(e.npf.gva, 0);
	/* Misconfiguration: the address only. */
	r.reason = EXIT_REASON_EPT_MISCONFIG;
	vmx_exit_decode(&r, gprs, true, &e);
	assert_int_equal(e.reason, EXIT_NPT_MISCONFIG);
	assert_int_equal(e.npf.gpa, 0xfe000010);
	assert_true(vmx_exit_needs_gpa(EXIT_REASON_EPT_VIOLATION));
	assert_true(vmx_exit_needs_gpa(EXIT_REASON_EPT_MISCONFIG));
	assert_false(vmx_exit_needs_gpa(EXIT_REASON_IO_INSTRUCTION));
}

static void test_exception_and_nmi(void **state)
{
	struct vmx_exit_raw r = { .reason = EXIT_REASON_EXCEPTION_NMI };
	struct vm_exit e;

	r.intr_info = INTR_INFO_VALID | (INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT) | 2;
	vmx_exit_decode(&r, gprs, true, &e);
	assert_int_equal(e.reason, EXIT_NMI);
	r.intr_info = INTR_INFO_VALID | INTR_INFO_ERROR_CODE |
		      (INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) | 14;
	r.intr_error = 6;
	r.qual = 0xdead000;
	vmx_exit_decode(&r, gprs, true, &e);
	assert_int_equal(e.reason, EXIT_EXCEPTION);
	assert_int_equal(e.exc.vector, 14);
	assert_true(e.exc.has_error_code);
	assert_int_equal(e.exc.error_code, 6);
	assert_int_equal(e.exc.cr2, 0xdead000);
	r.intr_info = INTR_INFO_VALID | (INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) | 18;
	vmx_exit_decode(&r, gprs, true, &e);
	assert_int_equal(e.exc.vector, 18);
	assert_false(e.exc.has_error_code);
	assert_int_equal(e.exc.cr2, 0);
	assert_true(vmx_exit_needs_intr_info(EXIT_REASON_EXCEPTION_NMI));
}

static void test_invlpg_and_unhandled(void **state)
{
	struct vm_exit e = decode(EXIT_REASON_INVLPG, 0xffff800000001000ULL, 3);

	assert_int_equal(e.reason, EXIT_INVLPG);
	assert_int_equal(e.invlpg.gva, 0xffff800000001000ULL);
	/* Instructions the guest is not offered: the #UD it must get. */
	static const u32 ud[] = { EXIT_REASON_VMCLEAR, EXIT_REASON_VMLAUNCH, EXIT_REASON_VMPTRLD,
				  EXIT_REASON_VMPTRST, EXIT_REASON_VMREAD, EXIT_REASON_VMRESUME,
				  EXIT_REASON_VMWRITE, EXIT_REASON_VMXOFF, EXIT_REASON_VMXON,
				  EXIT_REASON_INVEPT, EXIT_REASON_INVVPID, EXIT_REASON_VMFUNC,
				  EXIT_REASON_GETSEC, EXIT_REASON_MONITOR, EXIT_REASON_MWAIT };

	for (size_t i = 0; i < ARRAY_SIZE(ud); i++) {
		e = decode(ud[i], 0x1234, 3);
		assert_int_equal(e.reason, EXIT_EXCEPTION);
		assert_int_equal(e.exc.vector, 6);
		assert_false(e.exc.has_error_code);
		assert_int_equal(e.exc.cr2, 0);
	}
	/* Exits the core has no handler for. */
	assert_int_equal(decode(EXIT_REASON_TASK_SWITCH, 0, 0).reason, EXIT_UNHANDLED);
	assert_int_equal(decode(EXIT_REASON_INVD, 0, 2).reason, EXIT_UNHANDLED);
	/* Reasons the SDM leaves unused, or past the table. */
	assert_int_equal(decode(35, 0, 0).reason, EXIT_UNHANDLED);
	assert_int_equal(decode(38, 0, 0).reason, EXIT_UNHANDLED);
	assert_int_equal(decode(VMX_EXIT_REASON_MAX, 0, 0).reason, EXIT_UNHANDLED);
	assert_int_equal(decode(0xffff, 0, 0).reason, EXIT_UNHANDLED);
}

static void test_entry_failure(void **state)
{
	struct vm_exit e = decode(VMX_EXIT_ENTRY_FAILURE | EXIT_REASON_INVALID_GUEST_STATE, 0, 0);

	assert_int_equal(e.reason, EXIT_INVALID_STATE);
	assert_int_equal(e.invalid.error, EXIT_REASON_INVALID_GUEST_STATE);
	assert_string_equal(vmx_entry_failure_name(33, 0), "invalid guest state");
	assert_non_null(strstr(vmx_entry_failure_name(33, 2), "PDPTE"));
	assert_non_null(strstr(vmx_entry_failure_name(33, 4), "link pointer"));
	assert_non_null(strstr(vmx_entry_failure_name(34, 3), "MSR-load"));
	assert_non_null(strstr(vmx_entry_failure_name(41, 0), "machine-check"));
	e = decode(VMX_EXIT_ENTRY_FAILURE | EXIT_REASON_MSR_LOADING, 1, 0);
	assert_int_equal(e.reason, EXIT_INVALID_STATE);
}

/* Every reason of SDM appendix C has its name; the unused numbers have none. */
static void test_reason_names(void **state)
{
	for (u32 r = 0; r < VMX_EXIT_REASON_MAX; r++) {
		const char *n = vmx_exit_name(r);
		bool unused = r == 35 || r == 38 || r == 42;

		assert_non_null(n);
		if (unused != !strcmp(n, "unknown exit reason"))
			fail_msg("exit reason %u named '%s'", r, n);
	}
	assert_string_equal(vmx_exit_name(EXIT_REASON_EPT_VIOLATION), "EPT violation");
	assert_string_equal(vmx_exit_name(EXIT_REASON_IO_INSTRUCTION), "I/O instruction");
	assert_string_equal(vmx_exit_name(70), "unknown exit reason");
}

static void test_instruction_error_words(void **state)
{
	assert_string_equal(vmx_insn_error_name(7), "VM entry with invalid control field(s)");
	assert_string_equal(vmx_insn_error_name(8), "VM entry with invalid host-state field(s)");
	assert_string_equal(vmx_insn_error_name(12),
			    "VMREAD/VMWRITE from/to unsupported VMCS component");
	assert_string_equal(vmx_insn_error_name(13), "VMWRITE to read-only VMCS component");
	assert_non_null(strstr(vmx_insn_error_name(0), "VMfailInvalid"));
	assert_string_equal(vmx_insn_error_name(14), "unknown VM-instruction error");
	assert_string_equal(vmx_insn_error_name(1000), "unknown VM-instruction error");
	for (u32 i = 1; i <= VMX_ERR_MAX; i++)
		assert_non_null(vmx_insn_error_name(i));
}

static void test_event_encoding(void **state)
{
	struct vcpu_event gp = { .pending = true, .type = EVENT_EXCEPTION, .vector = 13,
				 .has_error_code = true };
	struct vcpu_event ud = { .pending = true, .type = EVENT_EXCEPTION, .vector = 6 };
	struct vcpu_event irq = { .pending = true, .type = EVENT_EXTINT, .vector = 0x30 };
	struct vcpu_event nmi = { .pending = true, .type = EVENT_NMI, .vector = 0 };
	struct vcpu_event d;

	assert_int_equal(vmx_event_encode(&gp, true), 0x80000b0dU);
	/* Real mode (unrestricted guest): no error code may be delivered (SDM 27.2.1.3). */
	assert_int_equal(vmx_event_encode(&gp, false), 0x8000030dU);
	assert_int_equal(vmx_event_encode(&ud, true), 0x80000306U);
	/* The error-code bit follows the vector, not the caller. */
	ud.has_error_code = true;
	assert_int_equal(vmx_event_encode(&ud, true), 0x80000306U);
	assert_int_equal(vmx_event_encode(&irq, true), 0x80000030U);
	assert_int_equal(vmx_event_encode(&nmi, true), 0x80000202U);
	assert_false(vmx_event_decode(0x30, 0, &d));
	assert_false(d.pending);
	assert_true(vmx_event_decode(0x80000b0eU, 0x7, &d));
	assert_int_equal(d.type, EVENT_EXCEPTION);
	assert_int_equal(d.vector, 14);
	assert_true(d.has_error_code);
	assert_int_equal(d.error_code, 7);
	assert_true(vmx_event_decode(0x80000421U, 0x99, &d)); /* INT 0x21 interrupted */
	assert_int_equal(d.type, EVENT_SOFTINT);
	assert_false(d.has_error_code);
	assert_int_equal(d.error_code, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_instruction_exits),
		cmocka_unit_test(test_io_qualification),
		cmocka_unit_test(test_msr_exits_take_rcx),
		cmocka_unit_test(test_cr_access),
		cmocka_unit_test(test_ept_violation),
		cmocka_unit_test(test_exception_and_nmi),
		cmocka_unit_test(test_invlpg_and_unhandled),
		cmocka_unit_test(test_entry_failure),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_instruction_error_words),
		cmocka_unit_test(test_event_encoding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
