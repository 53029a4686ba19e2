/* VMCS contents: controls, guest reset state, segment/control registers, VMCS-held MSRs, dump. */
#include "arch/x86/vmx/vmx_internal.h"
#include "arch/x86/vmx/vmx_ops.h"
#include "asm/cpu.h"
#include "asm/msr.h"
#include "lib/printf.h"
#include "lib/string.h"

#define X86_VEC_MC 18
/* Power-on PAT (SDM vol. 3A 13.12.4): WB, WT, UC-, UC repeated. */
#define PAT_POWER_ON 0x0007040600070406ULL
#define DR7_RESET 0x400ULL
#define CR0_RESET (X86_CR0_CD | X86_CR0_NW | X86_CR0_ET)
#define VMCS_LINK_NONE (~0ULL)
/* EFER bits a guest may set: SCE, LME, NXE (LMA is the CPU's). */
#define GUEST_EFER_WRITABLE (EFER_SCE | EFER_LME | EFER_NXE)

/* VMCS slot of each struct vcpu_sregs segment: the VMCS orders ES CS SS DS FS GS LDTR TR. */
static const u8 seg_slot[VCPU_SEG_NR] = {
	[VCPU_SEG_ES] = 0, [VCPU_SEG_CS] = 1, [VCPU_SEG_SS] = 2, [VCPU_SEG_DS] = 3,
	[VCPU_SEG_FS] = 4, [VCPU_SEG_GS] = 5, [VCPU_SEG_LDTR] = 6, [VCPU_SEG_TR] = 7,
};

static u32 seg_field(u32 es_field, int seg) { return es_field + VMCS_SEG_STRIDE * seg_slot[seg]; }

/* struct vcpu_segment keeps SVM's packing: bits 7:0 as in the descriptor, then AVL L D/B G. */
u32 vmx_ar_from_attr(u16 attr)
{
	u32 ar = (attr & 0xffU) | ((u32)(attr & 0xf00U) << 4);

	if (!(attr & SEG_ATTR_P))
		ar |= VMX_AR_UNUSABLE;
	return ar;
}

u16 vmx_attr_from_ar(u32 ar)
{
	u16 attr = (u16)((ar & 0xffU) | ((ar >> 4) & 0xf00U));

	if (ar & VMX_AR_UNUSABLE)
		attr &= ~SEG_ATTR_P;
	return attr;
}

void vmx_vmcs_init_controls(const struct vmx_config *c, u64 eptp, u16 vpid)
{
	vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, c->pin);
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, c->proc);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, c->proc2);
	vmcs_write32(VM_EXIT_CONTROLS, c->exit);
	vmcs_write32(VM_ENTRY_CONTROLS, c->entry);
	/* Only #MC: it belongs to the host (the exit handler passes it on). */
	vmcs_write32(EXCEPTION_BITMAP, BIT(X86_VEC_MC));
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write32(CR3_TARGET_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_INTR_INFO, 0);
	vmcs_writenat(CR0_GUEST_HOST_MASK, c->cr0_mask);
	vmcs_writenat(CR4_GUEST_HOST_MASK, c->cr4_mask);
	vmcs_write64(VMCS_LINK_POINTER, VMCS_LINK_NONE);
	vmcs_write64(EPT_POINTER, eptp);
	if (c->vpid)
		vmcs_write16(VIRTUAL_PROCESSOR_ID, vpid);
	/* Reloaded at every entry (the exit does not save it): a bound on each stay in the guest. */
	if (c->pin & PIN_PREEMPTION_TIMER)
		vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, c->preempt_value);
}

void vmx_vmcs_reset_guest(const struct vmx_config *c)
{
	struct vcpu_sregs s;

	memset(&s, 0, sizeof(s));
	for (int i = 0; i < VCPU_SEG_NR; i++) {
		s.seg[i].limit = 0xffff;
		s.seg[i].attr = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(3);
	}
	s.seg[VCPU_SEG_CS] = (struct vcpu_segment){ 0xf000, 0xffff0000ULL, 0xffff,
						    SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(0xb) };
	s.seg[VCPU_SEG_TR].attr = SEG_ATTR_P | SEG_ATTR_TYPE(0xb);
	s.seg[VCPU_SEG_LDTR].attr = SEG_ATTR_P | SEG_ATTR_TYPE(2);
	s.gdt_limit = s.idt_limit = 0xffff;
	s.cr0 = CR0_RESET;
	s.dr7 = DR7_RESET;
	vmx_vmcs_set_sregs(c, &s, c->entry);
	vmcs_writenat(GUEST_RIP, 0xfff0);
	vmcs_writenat(GUEST_RSP, 0);
	vmcs_writenat(GUEST_RFLAGS, X86_RFLAGS_FIXED);
	vmcs_write64(GUEST_IA32_PAT, PAT_POWER_ON);
	vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write32(GUEST_SYSENTER_CS, 0);
	vmcs_writenat(GUEST_SYSENTER_ESP, 0);
	vmcs_writenat(GUEST_SYSENTER_EIP, 0);
	vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_writenat(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	for (u32 f = GUEST_PDPTE0; f <= GUEST_PDPTE3; f += 2)
		vmcs_write_any(f, 0);
}

void vmx_vmcs_get_sregs(const struct vmx_config *c, struct vcpu_sregs *s)
{
	u64 mask;

	for (int i = 0; i < VCPU_SEG_NR; i++) {
		s->seg[i].selector = (u16)vmcs_read_any(seg_field(GUEST_ES_SELECTOR, i));
		s->seg[i].base = vmcs_read_any(seg_field(GUEST_ES_BASE, i));
		s->seg[i].limit = (u32)vmcs_read_any(seg_field(GUEST_ES_LIMIT, i));
		s->seg[i].attr = vmx_attr_from_ar((u32)vmcs_read_any(seg_field(GUEST_ES_AR_BYTES, i)));
	}
	s->gdt_base = vmcs_readnat(GUEST_GDTR_BASE);
	s->gdt_limit = (u16)vmcs_read32(GUEST_GDTR_LIMIT);
	s->idt_base = vmcs_readnat(GUEST_IDTR_BASE);
	s->idt_limit = (u16)vmcs_read32(GUEST_IDTR_LIMIT);
	/* Bits the hypervisor owns are seen through the read shadows (SDM vol. 3C 26.3). */
	mask = vmcs_readnat(CR0_GUEST_HOST_MASK);
	s->cr0 = (vmcs_readnat(GUEST_CR0) & ~mask) | (vmcs_readnat(CR0_READ_SHADOW) & mask);
	mask = vmcs_readnat(CR4_GUEST_HOST_MASK);
	s->cr4 = (vmcs_readnat(GUEST_CR4) & ~mask) | (vmcs_readnat(CR4_READ_SHADOW) & mask);
	s->cr3 = vmcs_readnat(GUEST_CR3);
	s->efer = vmcs_read64(GUEST_IA32_EFER);
	s->dr7 = vmcs_readnat(GUEST_DR7);
	s->cr2 = 0; /* not in the VMCS: the caller knows it */
}

/* A usable code/data segment is marked accessed, as loading it would have done (27.3.1.2). */
static u32 seg_ar(const struct vcpu_segment *seg)
{
	u32 ar = vmx_ar_from_attr(seg->attr);

	if (!(ar & VMX_AR_UNUSABLE) && (ar & VMX_AR_S))
		ar |= 1; /* type bit 0: accessed */
	return ar;
}

u32 vmx_vmcs_set_sregs(const struct vmx_config *c, const struct vcpu_sregs *s, u32 entry)
{
	u64 efer = s->efer & ~EFER_LMA;

	for (int i = 0; i < VCPU_SEG_NR; i++) {
		vmcs_write_any(seg_field(GUEST_ES_SELECTOR, i), s->seg[i].selector);
		vmcs_write_any(seg_field(GUEST_ES_BASE, i), s->seg[i].base);
		vmcs_write_any(seg_field(GUEST_ES_LIMIT, i), s->seg[i].limit);
		vmcs_write_any(seg_field(GUEST_ES_AR_BYTES, i), seg_ar(&s->seg[i]));
	}
	vmcs_writenat(GUEST_GDTR_BASE, s->gdt_base);
	vmcs_write32(GUEST_GDTR_LIMIT, s->gdt_limit);
	vmcs_writenat(GUEST_IDTR_BASE, s->idt_base);
	vmcs_write32(GUEST_IDTR_LIMIT, s->idt_limit);
	vmcs_writenat(GUEST_CR0, vmx_real_cr0(c, s->cr0));
	vmcs_writenat(CR0_READ_SHADOW, s->cr0);
	vmcs_writenat(GUEST_CR3, s->cr3);
	vmcs_writenat(GUEST_CR4, vmx_real_cr4(c, s->cr4));
	vmcs_writenat(CR4_READ_SHADOW, s->cr4);
	vmcs_writenat(GUEST_DR7, s->dr7);
	/* EFER.LMA follows LME and CR0.PG, and is the IA-32e mode entry control (27.3.1.1). */
	if ((efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		efer |= EFER_LMA;
		entry |= ENTRY_CTL_IA32E_MODE_GUEST;
	} else {
		entry &= ~ENTRY_CTL_IA32E_MODE_GUEST;
	}
	vmcs_write64(GUEST_IA32_EFER, efer);
	vmcs_write32(VM_ENTRY_CONTROLS, entry);
	return entry;
}

/* 48-bit linear addresses: bits 63:47 all equal. */
static bool is_canonical(u64 a) { return (a >> 47) == 0 || (a >> 47) == 0x1ffff; }

/* PAT entries may hold UC, WC, WT, WP, WB, UC- only (types 0, 1, 4, 5, 6, 7). */
static bool pat_valid(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 t = (pat >> (8 * i)) & 0xff;

		if (t > 7 || t == 2 || t == 3)
			return false;
	}
	return true;
}

/* Natural-width guest fields that hold an MSR, or 0. */
static u32 msr_nat_field(u32 index)
{
	switch (index) {
	case MSR_FS_BASE: return GUEST_FS_BASE;
	case MSR_GS_BASE: return GUEST_GS_BASE;
	case MSR_IA32_SYSENTER_ESP: return GUEST_SYSENTER_ESP;
	case MSR_IA32_SYSENTER_EIP: return GUEST_SYSENTER_EIP;
	default: return 0;
	}
}

int vmx_vmcs_get_msr(u32 index, u64 *value)
{
	u32 f = msr_nat_field(index);

	if (f) {
		*value = vmcs_read_any(f);
		return 0;
	}
	switch (index) {
	case MSR_EFER:
		*value = vmcs_read64(GUEST_IA32_EFER);
		return 0;
	case MSR_IA32_PAT:
		*value = vmcs_read64(GUEST_IA32_PAT);
		return 0;
	case MSR_IA32_SYSENTER_CS:
		*value = vmcs_read32(GUEST_SYSENTER_CS);
		return 0;
	default:
		return -ENOENT;
	}
}

/* WRMSR EFER (SDM vol. 3A 2.2.1, 10.8.5): LME cannot change while paging is on; LMA is read-only. */
static int set_efer(u64 value)
{
	u64 old = vmcs_read64(GUEST_IA32_EFER);
	u64 cr0 = vmcs_readnat(GUEST_CR0);

	value &= ~EFER_LMA;
	if (value & ~GUEST_EFER_WRITABLE)
		return -EINVAL;
	if ((cr0 & X86_CR0_PG) && ((value ^ old) & EFER_LME))
		return -EINVAL;
	vmcs_write64(GUEST_IA32_EFER, value | (old & EFER_LMA));
	return 0;
}

int vmx_vmcs_set_msr(u32 index, u64 value)
{
	u32 f = msr_nat_field(index);

	if (f) {
		if (!is_canonical(value))
			return -EINVAL;
		vmcs_write_any(f, value);
		return 0;
	}
	switch (index) {
	case MSR_EFER:
		return set_efer(value);
	case MSR_IA32_PAT:
		if (!pat_valid(value))
			return -EINVAL;
		vmcs_write64(GUEST_IA32_PAT, value);
		return 0;
	case MSR_IA32_SYSENTER_CS:
		vmcs_write32(GUEST_SYSENTER_CS, (u32)value);
		return 0;
	default:
		return -ENOENT;
	}
}

/* The syscall MSRs the VMCS does not hold: the backend switches them around each entry. */
const u32 vmx_switched_msr_index[VMX_NR_SWITCHED_MSRS] = {
	[VMX_MSR_STAR] = MSR_STAR, [VMX_MSR_LSTAR] = MSR_LSTAR, [VMX_MSR_CSTAR] = MSR_CSTAR,
	[VMX_MSR_SFMASK] = MSR_SFMASK, [VMX_MSR_KERNEL_GS_BASE] = MSR_KERNEL_GS_BASE,
};

int vmx_switched_msr_slot(u32 index)
{
	for (int i = 0; i < VMX_NR_SWITCHED_MSRS; i++)
		if (vmx_switched_msr_index[i] == index)
			return i;
	return -1;
}

int vmx_switched_msr_check(u32 index, u64 value)
{
	if (index == MSR_SFMASK)
		return value >> 32 ? -EINVAL : 0;
	if (index == MSR_STAR)
		return 0;
	return is_canonical(value) ? 0 : -EINVAL;
}

static void dump_segments(char *buf, size_t n, void (*say)(void *ctx, const char *line),
			  void *ctx)
{
	static const char *const names[VCPU_SEG_NR] = { "es", "cs", "ss", "ds", "fs", "gs",
							"tr", "ldtr" };

	for (int i = 0; i < VCPU_SEG_NR; i++) {
		ksnprintf(buf, n, "%-4s sel=%04llx ar=%05llx limit=%08llx base=%016llx", names[i],
			  (unsigned long long)vmcs_read_any(seg_field(GUEST_ES_SELECTOR, i)),
			  (unsigned long long)vmcs_read_any(seg_field(GUEST_ES_AR_BYTES, i)),
			  (unsigned long long)vmcs_read_any(seg_field(GUEST_ES_LIMIT, i)),
			  (unsigned long long)vmcs_read_any(seg_field(GUEST_ES_BASE, i)));
		say(ctx, buf);
	}
}

void vmx_vmcs_dump(void (*say)(void *ctx, const char *line), void *ctx)
{
	char buf[160];

	ksnprintf(buf, sizeof(buf), "rip=%016llx rsp=%016llx rflags=%08llx activity=%u intr=%#x",
		  (unsigned long long)vmcs_readnat(GUEST_RIP), (unsigned long long)vmcs_readnat(GUEST_RSP),
		  (unsigned long long)vmcs_readnat(GUEST_RFLAGS), vmcs_read32(GUEST_ACTIVITY_STATE),
		  vmcs_read32(GUEST_INTERRUPTIBILITY_INFO));
	say(ctx, buf);
	ksnprintf(buf, sizeof(buf), "cr0=%08llx (shadow %08llx) cr3=%016llx cr4=%08llx (shadow %08llx)",
		  (unsigned long long)vmcs_readnat(GUEST_CR0), (unsigned long long)vmcs_readnat(CR0_READ_SHADOW),
		  (unsigned long long)vmcs_readnat(GUEST_CR3), (unsigned long long)vmcs_readnat(GUEST_CR4),
		  (unsigned long long)vmcs_readnat(CR4_READ_SHADOW));
	say(ctx, buf);
	ksnprintf(buf, sizeof(buf), "efer=%08llx pat=%016llx dr7=%08llx link=%016llx",
		  (unsigned long long)vmcs_read64(GUEST_IA32_EFER), (unsigned long long)vmcs_read64(GUEST_IA32_PAT),
		  (unsigned long long)vmcs_readnat(GUEST_DR7), (unsigned long long)vmcs_read64(VMCS_LINK_POINTER));
	say(ctx, buf);
	dump_segments(buf, sizeof(buf), say, ctx);
	ksnprintf(buf, sizeof(buf), "gdtr base=%016llx limit=%04x idtr base=%016llx limit=%04x",
		  (unsigned long long)vmcs_readnat(GUEST_GDTR_BASE), vmcs_read32(GUEST_GDTR_LIMIT),
		  (unsigned long long)vmcs_readnat(GUEST_IDTR_BASE), vmcs_read32(GUEST_IDTR_LIMIT));
	say(ctx, buf);
	ksnprintf(buf, sizeof(buf), "controls: pin=%08x proc=%08x proc2=%08x exit=%08x entry=%08x "
		  "entry-intr=%08x", vmcs_read32(PIN_BASED_VM_EXEC_CONTROL),
		  vmcs_read32(CPU_BASED_VM_EXEC_CONTROL), vmcs_read32(SECONDARY_VM_EXEC_CONTROL),
		  vmcs_read32(VM_EXIT_CONTROLS), vmcs_read32(VM_ENTRY_CONTROLS),
		  vmcs_read32(VM_ENTRY_INTR_INFO));
	say(ctx, buf);
}
