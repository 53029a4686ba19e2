/*
 * VMX with EPT off (SDM vol. 3C 25.6, 26.3, 28.3): a shadow-paged vCPU (hv/mmu/shadow.h).
 *
 * GUEST_CR3 is the shadow root, GUEST_CR0/CR4/EFER what the shadow MMU wants
 * the CPU to run with (CR0.PG and WP on, CR4.PAE on, EFER.LMA only in long
 * mode); the guest/host masks own every CR0 and CR4 bit, so the guest reads
 * its own values from the read shadows without an exit and every write exits.
 * CR3 loads and stores exit; INVLPG exits; every #PF exits (bit 14 of the
 * exception bitmap with PFEC mask = match = 0, 25.6.3).
 *
 * Without EPT there is no unrestricted guest (26.3.1.1: CR0.PE and CR0.PG must
 * be 1 in VMX operation). A guest with paging off but protection on runs on
 * the identity-mapped shadow of guest-physical memory with CR0.PG=1 in
 * hardware. Real-mode code (CR0.PE=0: the reset state, an AP after SIPI)
 * cannot be entered at all: such a vCPU's entry is refused with words saying
 * so, and its VM ends crashed. Multiboot guests start in protected mode.
 */
#include "arch/x86/vmx/vmx_internal.h"
#include "arch/x86/vmx/vmx_ops.h"
#include "arch/x86/vmx/vmx_shadow.h"
#include "hv/mmu/shadow.h"
#include "hv/vcpu.h"
#include "hv/vm.h"
#include "asm/cpu.h"
#include "asm/msr.h"

#define X86_VEC_PF 14
#define X86_VEC_MC 18
#define CR_ALL_OWNED 0xffffffffULL
#define SHADOW_PROC (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_INVLPG_EXITING)

u32 vmx_paging_modes(void)
{
	u32 may_be_1 = (u32)(vmx_caps.proc >> 32);

	return VIRT_PAGING_NESTED | ((may_be_1 & SHADOW_PROC) == SHADOW_PROC ? VIRT_PAGING_SHADOW : 0);
}

/* Hardware and guest-visible control registers into the current VMCS. */
static void load_hw(struct vcpu *v, struct vmx_vcpu *vv, const struct shadow_hw *hw)
{
	u32 entry = (hw->efer & EFER_LMA) ? vv->entry | ENTRY_CTL_IA32E_MODE_GUEST
					   : vv->entry & ~ENTRY_CTL_IA32E_MODE_GUEST;

	vmcs_writenat(GUEST_CR0, vmx_real_cr0(&vmx_cfg, hw->cr0));
	vmcs_writenat(CR0_READ_SHADOW, shadow_cpu_read_cr(v->shadow, 0));
	vmcs_writenat(GUEST_CR3, hw->cr3);
	vmcs_writenat(GUEST_CR4, vmx_real_cr4(&vmx_cfg, hw->cr4));
	vmcs_writenat(CR4_READ_SHADOW, shadow_cpu_read_cr(v->shadow, 4));
	vmcs_write64(GUEST_IA32_EFER, hw->efer);
	if (entry != vv->entry) {
		vmcs_write32(VM_ENTRY_CONTROLS, entry);
		vv->entry = entry;
	}
}

/* Before the VMCS is set up (allocations): the vCPU's shadow state. */
int vmx_shadow_vcpu_init(struct vcpu *v) { return shadow_vcpu_init(v); }

void vmx_shadow_vcpu_destroy(struct vcpu *v) { shadow_vcpu_destroy(v); }

/* The VMCS of a shadow-paged vCPU: current, interrupts off, after the common set-up. */
void vmx_shadow_vmcs_setup(struct vcpu *v, struct vmx_vcpu *vv)
{
	struct shadow_hw hw;

	vv->proc |= SHADOW_PROC;
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, vv->proc);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL,
		     vmx_cfg.proc2 & ~(PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST));
	vmcs_write32(EXCEPTION_BITMAP, BIT(X86_VEC_MC) | BIT(X86_VEC_PF));
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_writenat(CR0_GUEST_HOST_MASK, CR_ALL_OWNED);
	vmcs_writenat(CR4_GUEST_HOST_MASK, CR_ALL_OWNED);
	shadow_cpu_hw(v->shadow, &hw);
	load_hw(v, vv, &hw);
}

/*
 * Before VM entry (VMCS current, interrupts off): the shadow MMU's state for
 * this entry. Returns NULL, or words why the guest cannot be entered.
 */
const char *vmx_shadow_before_entry(struct vcpu *v, struct vmx_vcpu *vv)
{
	struct shadow_hw hw;
	gva_t addr;
	u32 flush = shadow_cpu_enter(v->shadow, &hw, &addr);

	/* One address: INVVPID of that address where the CPU has it (SDM vol. 3C 30.3), else all. */
	if ((flush & SHADOW_FLUSH_ALL) || (flush && (!vmx_cfg.invvpid_addr || !vv->vpid)))
		vv->flush = true;
	else if (flush && !vmx_invvpid(INVVPID_ADDRESS, vv->vpid, addr))
		vv->flush = true;
	load_hw(v, vv, &hw);
	if (!(hw.cr0 & X86_CR0_PE))
		return "the guest is in real mode (CR0.PE=0), which VMX cannot run without EPT "
		       "(no unrestricted guest) and this backend does not emulate";
	return NULL;
}

void vmx_shadow_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
	s->cr0 = shadow_cpu_read_cr(v->shadow, 0);
	s->cr3 = shadow_cpu_read_cr(v->shadow, 3);
	s->cr4 = shadow_cpu_read_cr(v->shadow, 4);
	s->efer = shadow_cpu_efer(v->shadow);
}

void vmx_shadow_set_sregs(struct vcpu *v, struct vmx_vcpu *vv, const struct vcpu_sregs *s)
{
	struct shadow_hw hw;

	shadow_cpu_set_state(v->shadow, s->cr0, s->cr3, s->cr4, s->efer);
	shadow_cpu_hw(v->shadow, &hw);
	load_hw(v, vv, &hw);
}

int vmx_shadow_get_efer(struct vcpu *v, u64 *value)
{
	*value = shadow_cpu_efer(v->shadow);
	return 0;
}

/* The hardware EFER follows at the next entry (vmx_shadow_before_entry). */
int vmx_shadow_set_efer(struct vcpu *v, u64 value) { return shadow_cpu_write_efer(v->shadow, value); }
