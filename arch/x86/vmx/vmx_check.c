/*
 * Explaining a refused VM entry: the guest-state checks of Intel SDM vol. 3C
 * "Checks on the Guest State Area" (27.3.1) and the event-injection checks on
 * the entry controls (27.2.1.3), applied in software to the current VMCS so
 * that the log can name the field at fault. Not every check is here; the ones
 * that are follow the SDM's wording.
 */
#include "arch/x86/vmx/vmx_internal.h"
#include "arch/x86/vmx/vmx_ops.h"
#include "asm/cpu.h"
#include "asm/msr.h"

#define RFLAGS_VM BIT(17)
#define RFLAGS_RESERVED (GENMASK(63, 22) | BIT(15) | BIT(5) | BIT(3))
#define EFER_KNOWN (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)
#define PDPTE_P BIT(0)
#define PDPTE_RESERVED (GENMASK(2, 1) | GENMASK(8, 5))
#define SEL_TI BIT(2)
#define TYPE_CODE BIT(3)
#define TYPE_READABLE BIT(1)
#define TYPE_ACCESSED BIT(0)
#define VMCS_LINK_NONE (~0ULL)

/* The guest state and controls the checks look at, read once. */
struct guest_view {
	u32 entry, proc2;
	u64 cr0, cr4, cr3, dr7, efer, pat, rip, rflags;
	u64 sysenter_esp, sysenter_eip;
	u16 sel[8];
	u64 base[8];
	u32 limit[8], ar[8];
	u64 gdtr_base, idtr_base;
	u32 gdtr_limit, idtr_limit;
	u32 activity, intr_state, entry_intr, entry_len;
	u64 pending_dbg, link;
	u64 pdpte[4];
};

/* VMCS segment order. */
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_LDTR, S_TR };

static void read_view(struct guest_view *g)
{
	g->entry = vmcs_read32(VM_ENTRY_CONTROLS);
	g->proc2 = vmcs_read32(SECONDARY_VM_EXEC_CONTROL);
	g->cr0 = vmcs_readnat(GUEST_CR0);
	g->cr3 = vmcs_readnat(GUEST_CR3);
	g->cr4 = vmcs_readnat(GUEST_CR4);
	g->dr7 = vmcs_readnat(GUEST_DR7);
	g->efer = vmcs_read64(GUEST_IA32_EFER);
	g->pat = vmcs_read64(GUEST_IA32_PAT);
	g->rip = vmcs_readnat(GUEST_RIP);
	g->rflags = vmcs_readnat(GUEST_RFLAGS);
	g->sysenter_esp = vmcs_readnat(GUEST_SYSENTER_ESP);
	g->sysenter_eip = vmcs_readnat(GUEST_SYSENTER_EIP);
	for (u32 i = 0; i < 8; i++) {
		g->sel[i] = (u16)vmcs_read_any(GUEST_ES_SELECTOR + VMCS_SEG_STRIDE * i);
		g->base[i] = vmcs_read_any(GUEST_ES_BASE + VMCS_SEG_STRIDE * i);
		g->limit[i] = (u32)vmcs_read_any(GUEST_ES_LIMIT + VMCS_SEG_STRIDE * i);
		g->ar[i] = (u32)vmcs_read_any(GUEST_ES_AR_BYTES + VMCS_SEG_STRIDE * i);
	}
	g->gdtr_base = vmcs_readnat(GUEST_GDTR_BASE);
	g->idtr_base = vmcs_readnat(GUEST_IDTR_BASE);
	g->gdtr_limit = vmcs_read32(GUEST_GDTR_LIMIT);
	g->idtr_limit = vmcs_read32(GUEST_IDTR_LIMIT);
	g->activity = vmcs_read32(GUEST_ACTIVITY_STATE);
	g->intr_state = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
	g->entry_intr = vmcs_read32(VM_ENTRY_INTR_INFO);
	g->entry_len = vmcs_read32(VM_ENTRY_INSTRUCTION_LEN);
	g->pending_dbg = vmcs_readnat(GUEST_PENDING_DBG_EXCEPTIONS);
	g->link = vmcs_read64(VMCS_LINK_POINTER);
	for (u32 i = 0; i < 4; i++)
		g->pdpte[i] = vmcs_read_any(GUEST_PDPTE0 + 2 * i);
}

static bool is_canonical(u64 a) { return (a >> 47) == 0 || (a >> 47) == 0x1ffff; }
static bool ia32e(const struct guest_view *g) { return (g->entry & ENTRY_CTL_IA32E_MODE_GUEST) != 0; }
static bool usable(const struct guest_view *g, int s) { return !(g->ar[s] & VMX_AR_UNUSABLE); }
static u32 seg_type(const struct guest_view *g, int s) { return g->ar[s] & VMX_AR_TYPE; }
static u32 seg_dpl(const struct guest_view *g, int s) { return (g->ar[s] & VMX_AR_DPL) >> VMX_AR_DPL_SHIFT; }

/* Limit and granularity agree: a limit not ending in FFF needs G=0, one above 1 MiB needs G=1. */
static bool limit_g_ok(u32 limit, u32 ar)
{
	if ((limit & 0xfff) != 0xfff && (ar & VMX_AR_G))
		return false;
	if ((limit >> 20) && !(ar & VMX_AR_G))
		return false;
	return true;
}

static const char *check_control_regs(const struct vmx_config *c, const struct guest_view *g)
{
	if ((g->cr0 & c->cr0_on) != c->cr0_on)
		return "guest CR0 has a bit clear that VMX operation fixes to 1 (IA32_VMX_CR0_FIXED0)";
	if (g->cr0 & c->cr0_off)
		return "guest CR0 has a bit set that VMX operation fixes to 0 (IA32_VMX_CR0_FIXED1)";
	if ((g->cr0 & X86_CR0_PG) && !(g->cr0 & X86_CR0_PE))
		return "guest CR0.PG is set while CR0.PE is clear";
	if ((g->cr4 & c->cr4_on) != c->cr4_on)
		return "guest CR4 has a bit clear that VMX operation fixes to 1 (IA32_VMX_CR4_FIXED0)";
	if (g->cr4 & c->cr4_off)
		return "guest CR4 has a bit set that VMX operation fixes to 0 (IA32_VMX_CR4_FIXED1)";
	if (ia32e(g) && !(g->cr0 & X86_CR0_PG))
		return "IA-32e mode guest with guest CR0.PG clear";
	if (ia32e(g) && !(g->cr4 & X86_CR4_PAE))
		return "IA-32e mode guest with guest CR4.PAE clear";
	if (!ia32e(g) && (g->cr4 & X86_CR4_PCIDE))
		return "guest CR4.PCIDE set outside IA-32e mode";
	if ((g->entry & ENTRY_CTL_LOAD_DEBUG_CONTROLS) && (g->dr7 >> 32))
		return "guest DR7 bits 63:32 are not zero";
	if (!is_canonical(g->sysenter_esp) || !is_canonical(g->sysenter_eip))
		return "guest IA32_SYSENTER_ESP/EIP is not canonical";
	return NULL;
}

static const char *check_msrs(const struct guest_view *g)
{
	if (g->entry & ENTRY_CTL_LOAD_IA32_PAT) {
		for (int i = 0; i < 8; i++) {
			u8 t = (g->pat >> (8 * i)) & 0xff;

			if (t > 7 || t == 2 || t == 3)
				return "guest IA32_PAT holds an invalid memory type";
		}
	}
	if (!(g->entry & ENTRY_CTL_LOAD_IA32_EFER))
		return NULL;
	if (g->efer & ~EFER_KNOWN)
		return "guest IA32_EFER has reserved bits set";
	if (!(g->efer & EFER_LMA) != !ia32e(g))
		return "guest IA32_EFER.LMA differs from the IA-32e mode guest entry control";
	if ((g->cr0 & X86_CR0_PG) && !(g->efer & EFER_LMA) != !(g->efer & EFER_LME))
		return "guest IA32_EFER.LME differs from LMA while CR0.PG is set";
	return NULL;
}

static const char *check_system_segments(const struct guest_view *g)
{
	u32 tr = g->ar[S_TR], ldtr = g->ar[S_LDTR];

	if (g->sel[S_TR] & SEL_TI)
		return "guest TR selector has TI set";
	if (tr & VMX_AR_UNUSABLE)
		return "guest TR is marked unusable";
	if (seg_type(g, S_TR) != 11 && (ia32e(g) || seg_type(g, S_TR) != 3))
		return "guest TR type is not a busy TSS (11, or 3 outside IA-32e mode)";
	if ((tr & VMX_AR_S) || !(tr & VMX_AR_P) || (tr & VMX_AR_RESERVED))
		return "guest TR access rights: S set, P clear or reserved bits set";
	if (!limit_g_ok(g->limit[S_TR], tr) || !is_canonical(g->base[S_TR]))
		return "guest TR limit disagrees with its G bit, or its base is not canonical";
	if (!usable(g, S_LDTR))
		return NULL;
	if ((g->sel[S_LDTR] & SEL_TI) || seg_type(g, S_LDTR) != 2 || (ldtr & VMX_AR_S) ||
	    !(ldtr & VMX_AR_P) || (ldtr & VMX_AR_RESERVED))
		return "guest LDTR is usable but not a present LDT descriptor with TI clear";
	if (!limit_g_ok(g->limit[S_LDTR], ldtr) || !is_canonical(g->base[S_LDTR]))
		return "guest LDTR limit disagrees with its G bit, or its base is not canonical";
	return NULL;
}

static const char *check_cs_ss(const struct guest_view *g)
{
	u32 cs = g->ar[S_CS], ct = seg_type(g, S_CS);
	bool ug = (g->proc2 & PROC2_UNRESTRICTED_GUEST) != 0;

	if (!usable(g, S_CS) || !(cs & VMX_AR_S) || !(cs & VMX_AR_P) || (cs & VMX_AR_RESERVED))
		return "guest CS access rights: unusable, S or P clear, or reserved bits set";
	if (ct != 9 && ct != 11 && ct != 13 && ct != 15 && !(ug && ct == 3))
		return "guest CS type is not an accessed code segment (nor 3 with unrestricted guest)";
	if (ct == 3 && seg_dpl(g, S_CS) != 0)
		return "guest CS type 3 with DPL not 0";
	if ((ct == 9 || ct == 11) && seg_dpl(g, S_CS) != seg_dpl(g, S_SS))
		return "guest CS DPL differs from SS DPL for a non-conforming code segment";
	if (ia32e(g) && (cs & VMX_AR_L) && (cs & VMX_AR_DB))
		return "guest CS has both L and D/B set in IA-32e mode";
	if (!limit_g_ok(g->limit[S_CS], cs) || (g->base[S_CS] >> 32))
		return "guest CS limit disagrees with its G bit, or base bits 63:32 are set";
	if (usable(g, S_SS) && seg_type(g, S_SS) != 3 && seg_type(g, S_SS) != 7)
		return "guest SS is usable but not a read/write data segment (type 3 or 7)";
	if ((ct == 3 || !(g->cr0 & X86_CR0_PE)) && seg_dpl(g, S_SS) != 0)
		return "guest SS DPL is not 0 in real mode (or with CS type 3)";
	return NULL;
}

static const char *check_data_segments(const struct guest_view *g)
{
	static const int segs[] = { S_ES, S_SS, S_DS, S_FS, S_GS };

	for (size_t i = 0; i < ARRAY_SIZE(segs); i++) {
		int s = segs[i];
		u32 ar = g->ar[s], t = seg_type(g, s);

		if (!usable(g, s))
			continue;
		if (!(ar & VMX_AR_S) || !(ar & VMX_AR_P) || (ar & VMX_AR_RESERVED))
			return "a usable guest data segment has S or P clear or reserved bits set";
		if (!(t & TYPE_ACCESSED) || ((t & TYPE_CODE) && !(t & TYPE_READABLE)))
			return "a usable guest data segment is not accessed, or is execute-only code";
		if (!limit_g_ok(g->limit[s], ar))
			return "a usable guest data segment limit disagrees with its G bit";
		if (s != S_FS && s != S_GS && (g->base[s] >> 32))
			return "guest ES/SS/DS base bits 63:32 are set";
	}
	if (!is_canonical(g->base[S_FS]) || !is_canonical(g->base[S_GS]))
		return "guest FS/GS base is not canonical";
	return NULL;
}

static const char *check_tables_rip_rflags(const struct guest_view *g)
{
	bool long_cs = ia32e(g) && (g->ar[S_CS] & VMX_AR_L);

	if (!is_canonical(g->gdtr_base) || !is_canonical(g->idtr_base))
		return "guest GDTR/IDTR base is not canonical";
	if ((g->gdtr_limit >> 16) || (g->idtr_limit >> 16))
		return "guest GDTR/IDTR limit bits 31:16 are set";
	if (!long_cs && (g->rip >> 32))
		return "guest RIP bits 63:32 are set outside 64-bit mode";
	if (long_cs && !is_canonical(g->rip))
		return "guest RIP is not canonical in 64-bit mode";
	if ((g->rflags & RFLAGS_RESERVED) || !(g->rflags & X86_RFLAGS_FIXED))
		return "guest RFLAGS reserved bits are wrong (bit 1 must be 1, bits 3, 5, 15, 63:22 zero)";
	if ((g->rflags & RFLAGS_VM) && (ia32e(g) || !(g->cr0 & X86_CR0_PE)))
		return "guest RFLAGS.VM set in IA-32e mode or real mode";
	return NULL;
}

static const char *check_non_register(const struct guest_view *g)
{
	u32 type = (g->entry_intr & INTR_INFO_TYPE) >> INTR_INFO_TYPE_SHIFT;
	bool inject = (g->entry_intr & INTR_INFO_VALID) != 0;

	if (g->activity > 3)
		return "guest activity state is not 0-3";
	if (g->intr_state & INTERRUPTIBILITY_RESERVED)
		return "guest interruptibility state has reserved bits set";
	if ((g->intr_state & INTERRUPTIBILITY_STI) && (g->intr_state & INTERRUPTIBILITY_MOV_SS))
		return "guest interruptibility: blocking by STI and by MOV SS both set";
	if ((g->intr_state & INTERRUPTIBILITY_STI) && !(g->rflags & X86_RFLAGS_IF))
		return "guest interruptibility: blocking by STI with RFLAGS.IF clear";
	if (inject && type == INTR_TYPE_EXT_INTR &&
	    (g->intr_state & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)))
		return "external interrupt injected while the guest blocks it by STI or MOV SS";
	if (inject && type == INTR_TYPE_EXT_INTR && !(g->rflags & X86_RFLAGS_IF))
		return "external interrupt injected with guest RFLAGS.IF clear";
	if (inject && type == INTR_TYPE_NMI && (g->intr_state & INTERRUPTIBILITY_MOV_SS))
		return "NMI injected while the guest blocks events by MOV SS";
	if (g->pending_dbg & (GENMASK(63, 17) | BIT(13) | GENMASK(11, 4)))
		return "guest pending debug exceptions has reserved bits set";
	if (g->link != VMCS_LINK_NONE)
		return "VMCS link pointer is not all ones";
	return NULL;
}

static const char *check_pdptes(const struct guest_view *g)
{
	if (!(g->cr0 & X86_CR0_PG) || !(g->cr4 & X86_CR4_PAE) || ia32e(g))
		return NULL;
	for (int i = 0; i < 4; i++)
		if ((g->pdpte[i] & PDPTE_P) && (g->pdpte[i] & PDPTE_RESERVED))
			return "a present guest PDPTE has reserved bits set (PAE paging)";
	return NULL;
}

/* Event injection (27.2.1.3); a failure here is VM-instruction error 7. */
static const char *check_injection(const struct guest_view *g)
{
	u32 info = g->entry_intr, type = (info & INTR_INFO_TYPE) >> INTR_INFO_TYPE_SHIFT;
	u32 vec = info & INTR_INFO_VECTOR;

	if (!(info & INTR_INFO_VALID))
		return NULL;
	if (info & GENMASK(30, 12))
		return "VM-entry interruption information has reserved bits set";
	if (type == 1)
		return "VM-entry interruption type 1 is reserved";
	if (type == INTR_TYPE_NMI && vec != 2)
		return "NMI injection with a vector other than 2";
	if (type == INTR_TYPE_HW_EXCEPTION && vec > 31)
		return "hardware exception injection with a vector above 31";
	if ((info & INTR_INFO_ERROR_CODE) && (type != INTR_TYPE_HW_EXCEPTION ||
					       ((g->proc2 & PROC2_UNRESTRICTED_GUEST) &&
						!(g->cr0 & X86_CR0_PE))))
		return "error code delivered for an event that has none (or in real mode)";
	if (type >= INTR_TYPE_SOFT_INTR && type <= INTR_TYPE_SW_EXCEPTION &&
	    (g->entry_len == 0 || g->entry_len > 15))
		return "software event injected without an instruction length of 1 to 15";
	return NULL;
}

const char *vmx_vmcs_check_guest(const struct vmx_config *c)
{
	struct guest_view g;
	const char *why;

	read_view(&g);
	if ((why = check_injection(&g)) || (why = check_control_regs(c, &g)) ||
	    (why = check_msrs(&g)) || (why = check_non_register(&g)) ||
	    (why = check_tables_rip_rflags(&g)) || (why = check_pdptes(&g)))
		return why;
	if (g.rflags & RFLAGS_VM)
		return NULL; /* virtual-8086 segment rules: not checked here */
	if ((why = check_system_segments(&g)) || (why = check_cs_ss(&g)) ||
	    (why = check_data_segments(&g)))
		return why;
	return NULL;
}
