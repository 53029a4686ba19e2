/*
 * Test guest "realmode": drops from protected mode to real mode and back, twice. In real
 * mode it takes INT n, #DE and #BP through its own IVT, does REP OUTSB and CPUID, reads
 * one linear address through two segment:offset pairs, and (second round) sleeps in HLT
 * until the LAPIC timer interrupt arrives through the IVT; then it switches itself back
 * to protected mode (the second time also setting CR0.NE).
 */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "rt/lapic.h"

#define RM_BASE 0x4000U  /* realmode_rm.asm */
#define RM_SEG (RM_BASE >> 4)
#define MODE_TIMER 1
#define MODE_SET_NE 2
#define TIMER_VECTOR 0x40
#define SOFT_INT_ADD 0x1111
#define X86_CR0_PE BIT(0)
#define X86_CR0_NE BIT(5)
#define CPUID_EXT_EDX_LM BIT(29)

/* Syscall MSRs (AMD64/Intel 64) a hypervisor must keep per guest: written before, read after. */
static const struct {
	u32 index;
	u64 value;
} syscall_msrs[] = {
	{ 0xc0000081U, 0x0023001000000000ULL }, /* STAR */
	{ 0xc0000082U, 0xffffffff81000000ULL }, /* LSTAR */
	{ 0xc0000083U, 0xffffffff81000800ULL }, /* CSTAR */
	{ 0xc0000084U, 0x0000000000047700ULL }, /* SFMASK */
	{ 0xc0000102U, 0xffff888000001000ULL }, /* KERNEL_GS_BASE */
};

extern const u8 rm_blob_start[], rm_blob_end[], rm_isr_start[], rm_isr_end[];
extern const u8 rm_results_start[];
u32 rm_enter(u32 mode);

/* What the real-mode code stored (realmode_rm.asm, same order). */
struct rm_results {
	u16 int_ax, int_ax2, soft, soft_cs, flags, de, de_cs, bp, outs_si, outs_cx, alias, sum;
	u16 ticks, hlts;
	u32 cpuid_b, cpuid_c, cpuid_d;
} __packed;

static struct rm_results *results(void)
{
	return (struct rm_results *)(RM_BASE + (u32)(rm_results_start - rm_blob_start));
}

static u16 isr_checksum(void)
{
	u16 sum = 0;

	for (const u8 *p = rm_isr_start; p < rm_isr_end; p += 2)
		sum = (u16)(sum + (p[0] | (p[1] << 8)));
	return sum;
}

static void check_round(const char *round, u32 cr0_seen)
{
	struct rm_results *r = results();
	struct cpuid_out v = cpuid(0, 0);
	u32 msg_end = (u32)(rm_results_start - rm_blob_start); /* any offset past the message */

	rt_check(!(cr0_seen & X86_CR0_PE), "realmode %s: CR0.PE clear in real mode (CR0 0x%x)",
		 round, cr0_seen);
	rt_check(r->int_ax == 0x1234 + SOFT_INT_ADD && r->int_ax2 == 0x0100 + SOFT_INT_ADD &&
		 r->soft == 2 && r->soft_cs == RM_SEG,
		 "realmode %s: INT 0x80 through the IVT (AX 0x%x, 0x%x; %u calls; CS 0x%x)", round,
		 r->int_ax, r->int_ax2, r->soft, r->soft_cs);
	rt_check(!(r->flags & BIT(9)), "realmode %s: IRET restored IF=0 (FLAGS 0x%x)", round,
		 r->flags);
	rt_check(r->de == 1 && r->de_cs == RM_SEG, "realmode %s: #DE from DIV by 0 through the "
		 "IVT, resumed after it (%u, CS 0x%x)", round, r->de, r->de_cs);
	rt_check(r->bp == 2, "realmode %s: INT3 twice through the IVT (%u)", round, r->bp);
	rt_check(r->outs_cx == 0 && r->outs_si > 0 && r->outs_si < msg_end,
		 "realmode %s: REP OUTSB from DS:SI done (SI 0x%x, CX %u)", round, r->outs_si,
		 r->outs_cx);
	rt_check(r->alias == 0xbeef, "realmode %s: 0x4f0:0x20 and 0x4f1:0x10 are one address "
		 "(read 0x%x)", round, r->alias);
	rt_check(r->cpuid_b == v.ebx && r->cpuid_c == v.ecx && r->cpuid_d == v.edx,
		 "realmode %s: CPUID leaf 0 in real mode matches protected mode", round);
	rt_check(r->sum == isr_checksum(), "realmode %s: 16-bit checksum of the handlers 0x%x "
		 "(expected 0x%x)", round, r->sum, isr_checksum());
}

/* A #UD through the protected-mode IDT, resumed after the UD2. */
static bool pm_idt_works(void)
{
	u32 before = rt_last_fault.count;

	__asm__ __volatile__("movl $1f, %0\n\tud2\n1:" : "=m"(rt_recover_eip) : : "memory");
	return rt_last_fault.count == before + 1 && rt_last_fault.vector == 6;
}

static void check_back_in_protected_mode(const char *round, bool ne)
{
	u32 cr0 = read_cr0();
	u16 cs, ds;

	__asm__ __volatile__("mov %%cs, %0; mov %%ds, %1" : "=r"(cs), "=r"(ds));
	rt_check((cr0 & X86_CR0_PE) && cs == 0x08 && ds == 0x10,
		 "realmode %s: back in 32-bit protected mode (CR0 0x%x, CS 0x%x, DS 0x%x)", round,
		 cr0, cs, ds);
	if (ne)
		rt_check(cr0 & X86_CR0_NE, "realmode %s: CR0.NE set on the way back reads back",
			 round);
	rt_check(pm_idt_works(), "realmode %s: the protected-mode IDT is back (#UD recovered)",
		 round);
}

static bool has_long_mode(void)
{
	return cpuid(0x80000000U, 0).eax >= 0x80000001U &&
	       (cpuid(0x80000001U, 0).edx & CPUID_EXT_EDX_LM);
}

static void check_syscall_msrs(void)
{
	u32 wrong = 0;

	for (u32 i = 0; i < ARRAY_SIZE(syscall_msrs); i++)
		wrong += rdmsr(syscall_msrs[i].index) != syscall_msrs[i].value;
	rt_check(!wrong, "realmode: STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE kept across both "
		 "rounds (%u wrong)", wrong);
}

void guest_main(void)
{
	bool lm = has_long_mode();
	u32 cr0;

	if (lm)
		for (u32 i = 0; i < ARRAY_SIZE(syscall_msrs); i++)
			wrmsr(syscall_msrs[i].index, syscall_msrs[i].value);

	memcpy((void *)RM_BASE, rm_blob_start, (size_t)(rm_blob_end - rm_blob_start));
	rt_printf("realmode: %u bytes of 16-bit code at 0x%x\n",
		  (u32)(rm_blob_end - rm_blob_start), RM_BASE);

	memset(results(), 0, sizeof(struct rm_results));
	cr0 = rm_enter(0);
	check_back_in_protected_mode("round 1", false);
	check_round("round 1", cr0);

	memset(results(), 0, sizeof(struct rm_results));
	lapic_enable();
	lapic_timer_start(TIMER_VECTOR, LAPIC_TIMER_ONESHOT, LAPIC_DIV_16, 50000);
	cr0 = rm_enter(MODE_TIMER | MODE_SET_NE);
	lapic_timer_stop();
	if (results()->ticks)
		lapic_eoi();
	check_back_in_protected_mode("round 2", true);
	check_round("round 2", cr0);
	rt_check(results()->ticks == 1, "realmode round 2: the LAPIC timer interrupt came through "
		 "the IVT while halted in real mode (%u ticks, %u HLTs)", results()->ticks,
		 results()->hlts);
	if (lm)
		check_syscall_msrs();
	else
		rt_skip("realmode: no long mode, so no syscall MSRs to keep");
}
