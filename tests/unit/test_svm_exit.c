/* SVM exit decoding, VMCB state, event encoding and VMCB-held MSRs, on a VMCB in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "arch/x86/svm/svm_internal.h"
#include "asm/cpu.h"
#include "asm/msr.h"
#include "hv/decode.h"

#define ALL_FEATURES \
	(SVM_FEAT_NPT | SVM_FEAT_NRIPS | SVM_FEAT_DECODE_ASSISTS | SVM_FEAT_FLUSH_BY_ASID)
#define QEMU_FEATURES SVM_FEAT_NPT /* QEMU TCG: NPT, no NRIPS, no decode assists */

static struct vmcb *new_vmcb(void)
{
	struct vmcb *v = aligned_alloc(4096, sizeof(*v));

	svm_vmcb_init(v, 0x100000, 0x200000, 0x300000);
	v->ctl.asid = 1;
	return v;
}

static void set_exit(struct vmcb *v, u64 code, u64 info1, u64 info2, u64 rip, u64 nrip)
{
	v->ctl.exitcode = code;
	v->ctl.exitinfo1 = info1;
	v->ctl.exitinfo2 = info2;
	v->save.rip = rip;
	v->ctl.next_rip = nrip;
}

static void test_ioio(void **state)
{
	struct vmcb *v = new_vmcb();
	struct vm_exit e;

	(void)state;
	/* out dx, al to 0x3f8 in 16-bit code */
	set_exit(v, SVM_EXIT_IOIO, (0x3f8ULL << 16) | SVM_IOIO_SZ8 | SVM_IOIO_A16, 0x7c01, 0x7c00, 0);
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_IO);
	assert_int_equal(e.hw_code, SVM_EXIT_IOIO);
	assert_int_equal(e.io.port, 0x3f8);
	assert_int_equal(e.io.size, 1);
	assert_false(e.io.in);
	assert_false(e.io.string);
	assert_false(e.io.rep);
	assert_int_equal(e.io.addr_size, 2);
	assert_int_equal(e.insn_len, 1); /* from EXITINFO2 even without NRIPS */

	/* rep insw, 32-bit addressing, ES (decode assists give the segment) */
	set_exit(v, SVM_EXIT_IOIO, (0x1f0ULL << 16) | SVM_IOIO_TYPE_IN | SVM_IOIO_STR | SVM_IOIO_REP |
		 SVM_IOIO_SZ16 | SVM_IOIO_A32 | (0ULL << SVM_IOIO_SEG_SHIFT), 0x100003, 0x100000, 0);
	svm_exit_decode(v, 0, ALL_FEATURES, &e);
	assert_int_equal(e.io.port, 0x1f0);
	assert_int_equal(e.io.size, 2);
	assert_true(e.io.in && e.io.string && e.io.rep);
	assert_int_equal(e.io.addr_size, 4);
	assert_int_equal(e.io.seg, X86_SEG_ES);
	assert_int_equal(e.insn_len, 3);

	/* outsd with FS override, 64-bit addressing */
	set_exit(v, SVM_EXIT_IOIO, (0xf4ULL << 16) | SVM_IOIO_STR | SVM_IOIO_SZ32 | SVM_IOIO_A64 |
		 ((u64)X86_SEG_FS << SVM_IOIO_SEG_SHIFT), 0xffff800000001002ULL, 0xffff800000001000ULL, 0);
	svm_exit_decode(v, 0, ALL_FEATURES, &e);
	assert_int_equal(e.io.size, 4);
	assert_int_equal(e.io.addr_size, 8);
	assert_int_equal(e.io.seg, X86_SEG_FS);
	assert_int_equal(e.insn_len, 2);
	/* Without decode assists the segment field is not filled: the default (DS) is reported. */
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_int_equal(e.io.seg, X86_SEG_DS);
	free(v);
}

static void test_msr_and_nrip(void **state)
{
	struct vmcb *v = new_vmcb();
	struct vm_exit e;

	(void)state;
	set_exit(v, SVM_EXIT_MSR, 0, 0, 0x2000, 0x2002);
	svm_exit_decode(v, 0xc0000080, ALL_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_MSR_READ);
	assert_int_equal(e.msr.index, 0xc0000080);
	assert_int_equal(e.insn_len, 2);
	set_exit(v, SVM_EXIT_MSR, 1, 0, 0x2000, 0x2002);
	svm_exit_decode(v, 0xffffffff00000010ULL, ALL_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_MSR_WRITE);
	assert_int_equal(e.msr.index, 0x10); /* ECX only */
	/* QEMU TCG: nRIP stays 0, length unknown -> the core decodes */
	set_exit(v, SVM_EXIT_MSR, 1, 0, 0x2000, 0);
	svm_exit_decode(v, 0x10, QEMU_FEATURES, &e);
	assert_int_equal(e.insn_len, 0);
	/* a CPU claiming NRIPS but giving garbage is not trusted */
	set_exit(v, SVM_EXIT_CPUID, 0, 0, 0x2000, 0x3000);
	svm_exit_decode(v, 0, ALL_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_CPUID);
	assert_int_equal(e.insn_len, 0);
	set_exit(v, SVM_EXIT_HLT, 0, 0, 0x2000, 0x2001);
	svm_exit_decode(v, 0, ALL_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_HLT);
	assert_int_equal(e.insn_len, 1);
	set_exit(v, SVM_EXIT_VMMCALL, 0, 0, 0x2000, 0x2003);
	svm_exit_decode(v, 0, ALL_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_HYPERCALL);
	assert_int_equal(e.insn_len, 3);
	/* not an instruction intercept: nRIP is not used even if set */
	set_exit(v, SVM_EXIT_INTR, 0, 0, 0x2000, 0x2001);
	svm_exit_decode(v, 0, ALL_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_EXTINT);
	assert_int_equal(e.insn_len, 0);
	free(v);
}

static void test_npf(void **state)
{
	struct vmcb *v = new_vmcb();
	struct vm_exit e;

	(void)state;
	set_exit(v, SVM_EXIT_NPF, SVM_NPF_RW | SVM_NPF_US | SVM_NPF_FINAL, 0xfee000b0, 0x1000, 0);
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_NPF);
	assert_int_equal(e.npf.gpa, 0xfee000b0);
	assert_true(e.npf.write && e.npf.user);
	assert_false(e.npf.present || e.npf.fetch || e.npf.gva_valid);
	assert_int_equal(e.qual, SVM_NPF_RW | SVM_NPF_US | SVM_NPF_FINAL);
	set_exit(v, SVM_EXIT_NPF, SVM_NPF_P | SVM_NPF_ID, 0x12345678, 0x1000, 0);
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_true(e.npf.present && e.npf.fetch);
	assert_false(e.npf.write);
	free(v);
}

static void test_exceptions_and_misc(void **state)
{
	struct vmcb *v = new_vmcb();
	struct vm_exit e;

	(void)state;
	set_exit(v, SVM_EXIT_EXCP_BASE + 14, 0x6, 0xdeadb000, 0x1000, 0);
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_EXCEPTION);
	assert_int_equal(e.exc.vector, 14);
	assert_true(e.exc.has_error_code);
	assert_int_equal(e.exc.error_code, 6);
	assert_int_equal(e.exc.cr2, 0xdeadb000);
	set_exit(v, SVM_EXIT_EXCP_BASE + 18, 0, 0, 0x1000, 0);
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_int_equal(e.exc.vector, 18);
	assert_false(e.exc.has_error_code);
	/* SVM instructions look like the #UD the guest would get on a CPU without SVM */
	set_exit(v, SVM_EXIT_VMLOAD, 0, 0, 0x1000, 0x1003);
	svm_exit_decode(v, 0, ALL_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_EXCEPTION);
	assert_int_equal(e.exc.vector, 6);
	assert_false(e.exc.has_error_code);
	assert_int_equal(e.hw_code, SVM_EXIT_VMLOAD);

	set_exit(v, SVM_EXIT_SHUTDOWN, 0, 0, 0x1000, 0);
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_TRIPLE_FAULT);
	set_exit(v, SVM_EXIT_VINTR, 0, 0, 0x1000, 0);
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_IRQ_WINDOW);
	set_exit(v, SVM_EXIT_NMI, 0, 0, 0x1000, 0);
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_NMI);
	set_exit(v, SVM_EXIT_INVLPG, 0xffffffff81000000ULL, 0, 0x1000, 0x1003);
	svm_exit_decode(v, 0, ALL_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_INVLPG);
	assert_int_equal(e.invlpg.gva, 0xffffffff81000000ULL);
	assert_int_equal(e.insn_len, 3);
	/* CR write with decode assists: the source register is known */
	set_exit(v, SVM_EXIT_WRITE_CR0 + 3, SVM_CR_INFO_VALID | 5, 0, 0x1000, 0x1003);
	svm_exit_decode(v, 0, ALL_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_CR_ACCESS);
	assert_int_equal(e.cr.cr, 3);
	assert_true(e.cr.write);
	assert_int_equal(e.cr.gpr, 5);
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_int_equal(e.cr.gpr, 0xff);
	set_exit(v, SVM_EXIT_READ_CR0 + 4, 0, 0, 0x1000, 0);
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_int_equal(e.cr.cr, 4);
	assert_false(e.cr.write);
	free(v);
}

static void test_unknown_and_invalid(void **state)
{
	struct vmcb *v = new_vmcb();
	struct vm_exit e;

	(void)state;
	set_exit(v, 0x500, 1, 2, 0x1000, 0);
	svm_exit_decode(v, 0, ALL_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_UNHANDLED);
	assert_int_equal(e.hw_code, 0x500);
	assert_string_equal(svm_exit_name(0x500), "unknown");
	set_exit(v, SVM_EXIT_TASK_SWITCH, 0, 0, 0x1000, 0);
	svm_exit_decode(v, 0, ALL_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_UNHANDLED);
	set_exit(v, SVM_EXIT_READ_DR0 + 7, 0, 0, 0x1000, 0);
	svm_exit_decode(v, 0, ALL_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_UNHANDLED);

	/* QEMU writes VMEXIT_INVALID as 0x00000000ffffffff, Bochs as -1: both are invalid. */
	v->ctl.asid = 0;
	set_exit(v, 0x00000000ffffffffULL, 0, 0, 0x1000, 0);
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_INVALID_STATE);
	assert_string_equal(e.invalid.what, "guest ASID is 0");
	v->ctl.asid = 1;
	v->save.cr0 = X86_CR0_NW;
	set_exit(v, ~0ULL, 0, 0, 0x1000, 0);
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_int_equal(e.reason, EXIT_INVALID_STATE);
	assert_string_equal(e.invalid.what, "guest CR0.NW set with CR0.CD clear");
	v->save.cr0 = X86_CR0_PE;
	svm_exit_decode(v, 0, QEMU_FEATURES, &e);
	assert_non_null(strstr(e.invalid.what, "no consistency check"));
	free(v);
}

/* Every exit code has a name; the documented ones a real one. */
static void test_names(void **state)
{
	(void)state;
	for (u64 c = 0; c < 0x600; c++)
		assert_non_null(svm_exit_name(c));
	for (u64 c = SVM_EXIT_INTR; c <= SVM_EXIT_EFER_WRITE_TRAP; c++)
		assert_string_not_equal(svm_exit_name(c), "unknown");
	assert_string_equal(svm_exit_name(SVM_EXIT_CPUID), "cpuid");
	assert_string_equal(svm_exit_name(SVM_EXIT_NPF), "npf");
	assert_string_equal(svm_exit_name(SVM_EXIT_WRITE_CR0 + 4), "write_cr4");
	assert_string_equal(svm_exit_name(SVM_EXIT_EXCP_BASE + 14), "excp_pf");
	assert_string_equal(svm_exit_name(SVM_EXIT_READ_DR0 + 3), "read_dr");
	assert_string_equal(svm_exit_name(SVM_EXIT_WRITE_DR0 + 3), "write_dr");
	assert_string_equal(svm_exit_name(0xffffffffULL), "invalid");
}

static void test_init_and_reset_state(void **state)
{
	struct vmcb *v = new_vmcb();
	struct vcpu_sregs s;

	(void)state;
	assert_null(svm_vmcb_check(v));
	assert_true(v->ctl.intercept_misc2 & SVM_INTERCEPT_VMRUN);
	assert_true(v->ctl.intercept_misc1 & SVM_INTERCEPT_INTR);
	assert_true(v->ctl.intercept_misc1 & SVM_INTERCEPT_IOIO_PROT);
	assert_true(v->ctl.intercept_misc1 & SVM_INTERCEPT_MSR_PROT);
	assert_true(v->ctl.intercept_misc1 & SVM_INTERCEPT_SHUTDOWN);
	assert_true(v->ctl.intercept_exceptions & BIT(18));
	assert_true(v->ctl.vintr & SVM_VINTR_MASKING);
	assert_int_equal(v->ctl.nested_ctl, SVM_NESTED_CTL_NP_ENABLE);
	assert_int_equal(v->ctl.n_cr3, 0x300000);
	assert_int_equal(v->ctl.iopm_base_pa, 0x100000);
	assert_int_equal(v->ctl.msrpm_base_pa, 0x200000);
	svm_vmcb_get_sregs(v, &s);
	assert_int_equal(s.seg[VCPU_SEG_CS].selector, 0xf000);
	assert_int_equal(s.seg[VCPU_SEG_CS].base, 0xffff0000);
	assert_int_equal(v->save.rip, 0xfff0);
	assert_int_equal(s.cr0, 0x60000010);
	assert_int_equal(s.efer, 0); /* SVME hidden */
	assert_true(v->save.efer & EFER_SVME);
	assert_int_equal(v->save.g_pat, 0x0007040600070406ULL);
	free(v);
}

static void test_sregs_roundtrip(void **state)
{
	struct vmcb *v = new_vmcb();
	struct vcpu_sregs in, out;

	(void)state;
	memset(&in, 0, sizeof(in));
	for (int i = 0; i < VCPU_SEG_NR; i++) {
		in.seg[i].selector = (u16)(0x10 + 8 * i);
		in.seg[i].base = 0x1000ULL * (i + 1);
		in.seg[i].limit = 0xfffff;
		in.seg[i].attr = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(3) | SEG_ATTR_DB | SEG_ATTR_G;
	}
	in.seg[VCPU_SEG_SS].attr |= SEG_ATTR_DPL(3);
	in.gdt_base = 0x5000;
	in.gdt_limit = 0x27;
	in.idt_base = 0x6000;
	in.idt_limit = 0x7ff;
	in.cr0 = X86_CR0_PE | X86_CR0_ET;
	in.cr3 = 0x9000;
	in.cr4 = X86_CR4_PSE;
	in.efer = 0;
	in.dr7 = 0x400;
	svm_vmcb_set_sregs(v, &in);
	memset(&out, 0, sizeof(out)); /* padding compares equal */
	svm_vmcb_get_sregs(v, &out);
	assert_memory_equal(&in, &out, sizeof(in));
	assert_int_equal(v->save.cpl, 3); /* SS.DPL in protected mode */
	assert_int_equal(v->save.ss.attrib, in.seg[VCPU_SEG_SS].attr);
	assert_true(v->save.efer & EFER_SVME);
	in.cr0 = 0; /* real mode: CPL 0 whatever SS says */
	svm_vmcb_set_sregs(v, &in);
	assert_int_equal(v->save.cpl, 0);
	assert_null(svm_vmcb_check(v));
	/* long mode without PAE is refused, and said so */
	in.cr0 = X86_CR0_PE | X86_CR0_PG;
	in.efer = EFER_LME | EFER_LMA;
	in.cr4 = 0;
	svm_vmcb_set_sregs(v, &in);
	assert_string_equal(svm_vmcb_check(v), "guest EFER.LME and CR0.PG set with CR4.PAE clear");
	in.cr4 = X86_CR4_PAE;
	in.seg[VCPU_SEG_CS].attr |= SEG_ATTR_L;
	svm_vmcb_set_sregs(v, &in);
	assert_string_equal(svm_vmcb_check(v), "guest in long mode with both CS.L and CS.D set");
	in.seg[VCPU_SEG_CS].attr &= ~SEG_ATTR_DB;
	svm_vmcb_set_sregs(v, &in);
	assert_null(svm_vmcb_check(v));
	free(v);
}

static void test_events(void **state)
{
	struct vmcb *v = new_vmcb();
	struct vcpu_event in = { .pending = true, .type = EVENT_EXCEPTION, .vector = 13,
				 .has_error_code = true, .error_code = 0x18 };
	struct vcpu_event out;
	u64 enc;

	(void)state;
	enc = svm_event_encode(&in);
	assert_int_equal(enc, SVM_EVT_VALID | SVM_EVT_EV | (3ULL << 8) | 13 | (0x18ULL << 32));
	assert_true(svm_event_decode(enc, &out));
	assert_true(out.pending);
	assert_int_equal(out.type, EVENT_EXCEPTION);
	assert_int_equal(out.vector, 13);
	assert_true(out.has_error_code);
	assert_int_equal(out.error_code, 0x18);
	in = (struct vcpu_event){ .pending = true, .type = EVENT_EXTINT, .vector = 0x30 };
	enc = svm_event_encode(&in);
	assert_int_equal(enc, SVM_EVT_VALID | 0x30);
	assert_false(svm_event_decode(0x30, &out)); /* valid bit clear */
	assert_false(out.pending);

	/* interrupt window */
	v->save.rflags = X86_RFLAGS_FIXED;
	assert_false(svm_vmcb_irq_allowed(v));
	v->save.rflags |= X86_RFLAGS_IF;
	assert_true(svm_vmcb_irq_allowed(v));
	v->ctl.int_state = SVM_INT_STATE_SHADOW;
	assert_false(svm_vmcb_irq_allowed(v));
	v->ctl.int_state = 0;
	v->ctl.eventinj = enc;
	assert_false(svm_vmcb_irq_allowed(v));
	assert_null(svm_vmcb_check(v));
	v->ctl.eventinj = SVM_EVT_VALID | (3ULL << 8) | 2; /* NMI vector as an exception */
	assert_non_null(svm_vmcb_check(v));
	v->ctl.eventinj = 0;
	svm_vmcb_irq_window(v, true);
	assert_true(v->ctl.vintr & SVM_VINTR_IRQ);
	assert_true(v->ctl.intercept_misc1 & SVM_INTERCEPT_VINTR);
	assert_true(v->ctl.vintr & SVM_VINTR_MASKING);
	svm_vmcb_irq_window(v, false);
	assert_false(v->ctl.vintr & SVM_VINTR_IRQ);
	assert_false(v->ctl.intercept_misc1 & SVM_INTERCEPT_VINTR);
	assert_true(v->ctl.vintr & SVM_VINTR_MASKING);
	free(v);
}

static void test_msrs(void **state)
{
	struct vmcb *v = new_vmcb();
	u64 val;

	(void)state;
	assert_int_equal(svm_vmcb_get_msr(v, MSR_EFER, &val), 0);
	assert_int_equal(val, 0);
	assert_int_equal(svm_vmcb_set_msr(v, MSR_EFER, EFER_LME | EFER_SCE | EFER_NXE), 0);
	assert_int_equal(v->save.efer, EFER_LME | EFER_SCE | EFER_NXE | EFER_SVME);
	assert_int_equal(svm_vmcb_get_msr(v, MSR_EFER, &val), 0);
	assert_int_equal(val, EFER_LME | EFER_SCE | EFER_NXE);
	assert_int_equal(svm_vmcb_set_msr(v, MSR_EFER, EFER_SVME), -EINVAL); /* not the guest's */
	assert_int_equal(svm_vmcb_set_msr(v, MSR_EFER, BIT(40)), -EINVAL);
	/* LME cannot change while paging is on */
	v->save.cr0 = X86_CR0_PE | X86_CR0_PG;
	v->save.efer |= EFER_LMA;
	assert_int_equal(svm_vmcb_set_msr(v, MSR_EFER, EFER_SCE), -EINVAL);
	assert_int_equal(svm_vmcb_set_msr(v, MSR_EFER, EFER_LME | EFER_SCE), 0);
	assert_true(v->save.efer & EFER_LMA); /* read-only bit kept */

	assert_int_equal(svm_vmcb_set_msr(v, MSR_LSTAR, 0xffffffff81000000ULL), 0);
	assert_int_equal(v->save.lstar, 0xffffffff81000000ULL);
	assert_int_equal(svm_vmcb_set_msr(v, MSR_LSTAR, 0x0000800000000000ULL), -EINVAL);
	assert_int_equal(svm_vmcb_set_msr(v, MSR_FS_BASE, 0x7fff00001000ULL), 0);
	assert_int_equal(v->save.fs.base, 0x7fff00001000ULL);
	assert_int_equal(svm_vmcb_set_msr(v, MSR_KERNEL_GS_BASE, 0x1234), 0);
	assert_int_equal(svm_vmcb_get_msr(v, MSR_KERNEL_GS_BASE, &val), 0);
	assert_int_equal(val, 0x1234);
	assert_int_equal(svm_vmcb_set_msr(v, 0x176, 0xffffffff81000100ULL), 0); /* SYSENTER_EIP */
	assert_int_equal(v->save.sysenter_eip, 0xffffffff81000100ULL);
	assert_int_equal(svm_vmcb_set_msr(v, MSR_STAR, 0x0023001000000000ULL), 0);
	assert_int_equal(v->save.star, 0x0023001000000000ULL);
	assert_int_equal(svm_vmcb_set_msr(v, MSR_IA32_PAT, 0x0007010600070106ULL), 0);
	assert_int_equal(svm_vmcb_set_msr(v, MSR_IA32_PAT, 0x0007040600070402ULL), -EINVAL);
	assert_int_equal(v->save.g_pat, 0x0007010600070106ULL);
	assert_int_equal(svm_vmcb_get_msr(v, 0x10, &val), -ENOENT);
	assert_int_equal(svm_vmcb_set_msr(v, 0x10, 0), -ENOENT);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ioio),
		cmocka_unit_test(test_msr_and_nrip),
		cmocka_unit_test(test_npf),
		cmocka_unit_test(test_exceptions_and_misc),
		cmocka_unit_test(test_unknown_and_invalid),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_init_and_reset_state),
		cmocka_unit_test(test_sregs_roundtrip),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_msrs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
