/* VMX vCPUs: VMCS per vCPU, loading it where the thread runs (migration), the entry path, exits, events. */
#include "arch/x86/vmx/vmx_internal.h"
#include "arch/x86/vmx/vmx_ops.h"
#include "arch/x86/vmx/vmx_shadow.h"
#include "hv/vcpu.h"
#include "hv/vm.h"
#include "kernel/log.h"
#include "kernel/smp.h"
#include "mm/frame.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "asm/cpu.h"
#include "asm/gdt.h"
#include "asm/msr.h"
#include "asm/page.h"
#include "asm/percpu.h"

#define X86_VEC_NMI 2
#define X86_VEC_PF 14
#define X86_VEC_MC 18
#define PDPTE_COUNT 4

/* vmx_entry.asm */
int vmx_enter(u64 *gprs, u32 launched);
extern char vmx_exit_point[];
#define VMX_ENTER_FAIL_INVALID 1
#define VMX_ENTER_FAIL_VALID 2

/* The stub indexes v->regs.gpr by hardware register number. */
_Static_assert(offsetof(struct vcpu_regs, gpr) == 0, "vmx_entry.asm: gpr[] first");
_Static_assert(VCPU_RAX == 0 && VCPU_RCX == 1 && VCPU_RDX == 2 && VCPU_RBX == 3 &&
	       VCPU_RSP == 4 && VCPU_RBP == 5 && VCPU_RSI == 6 && VCPU_RDI == 7 &&
	       VCPU_R8 == 8 && VCPU_R15 == 15, "vmx_entry.asm register offsets");
_Static_assert(sizeof(struct vmx_vcpu) <= PAGE_SIZE, "vmx_vcpu fits its page");

static inline struct vmx_vcpu *to_vmx(struct vcpu *v) { return v->arch; }

/*
 * The one outstanding `virt corrupt` request: the vCPU it is for. Only
 * compared, never dereferenced, so a request cannot outlive its vCPU's memory
 * (vmx_vcpu_destroy withdraws it).
 */
static struct vcpu *corrupt_target;

static void say_log(void *ctx, const char *line)
{
	struct vmx_vcpu *vv = ctx;

	pr_err("vmx: vm %s vcpu %u: %s\n", vv->vcpu->vm->name, vv->vcpu->id, line);
}

/* ---- VMREAD/VMWRITE failures (vmx_ops.h) ------------------------------------------ */

static void access_failed(const char *what, u32 field, const char *func, int line)
{
	struct vmx_vcpu *vv = vmx_cpus[cpu_id()].current;
	u64 err = 0;
	bool have_err = vmx_vmread(VM_INSTRUCTION_ERROR, &err);
	char buf[VMX_WHY_LEN];

	ksnprintf(buf, sizeof(buf), "%s of VMCS field %#x failed in %s:%d: %s (VM-instruction "
		  "error %llu)", what, field, func, line,
		  vmx_insn_error_name(have_err ? (u32)err : 0), (unsigned long long)err);
	if (!vv) {
		pr_err("vmx: CPU %u: %s\n", cpu_id(), buf);
		return;
	}
	if (!vv->failed) {
		pr_err("vmx: vm %s vcpu %u: %s\n", vv->vcpu->vm->name, vv->vcpu->id, buf);
		memcpy(vv->fail_what, buf, sizeof(buf));
		vv->failed = true;
	}
}

void vmx_vmread_failed(u32 field, const char *func, int line)
{
	access_failed("VMREAD", field, func, line);
}

void vmx_vmwrite_failed(u32 field, u64 value, const char *func, int line)
{
	access_failed("VMWRITE", field, func, line);
}

/* ---- Loading the VMCS where the thread runs ---------------------------------------- */

/* IPI target (or local): VMCLEAR writes the VMCS back to memory and makes it launchable anywhere. */
static void vmclear_here(void *arg)
{
	struct vmx_vcpu *vv = arg;
	struct vmx_cpu *vc = &vmx_cpus[cpu_id()];

	if (!vmx_vmclear(vv->vmcs_pa))
		pr_err("vmx: CPU %u: VMCLEAR of %#llx failed\n", cpu_id(),
		       (unsigned long long)vv->vmcs_pa);
	if (vc->current == vv)
		vc->current = NULL;
}

/* VMCLEAR the VMCS on the CPU where it is active (SDM vol. 3C 25.11.1). Interrupts off. */
static void vmx_vcpu_unload(struct vmx_vcpu *vv)
{
	u32 where = vv->cpu;

	if (where == VMX_NO_CPU)
		return;
	if (where == cpu_id()) {
		vmclear_here(vv);
	} else {
		if (smp_call_on_cpu(where, vmclear_here, vv, true))
			pr_err("vmx: cannot reach CPU %u to VMCLEAR a vCPU's VMCS\n", where);
		vv->remote_clears++;
		VMX_COUNT(remote_vmclears);
	}
	vv->cpu = VMX_NO_CPU;
	vv->launched = false;
}

static u64 read_idtr_base(void)
{
	struct {
		u16 limit;
		u64 base;
	} __packed idtr;

	__asm__ __volatile__("sidt %0" : "=m"(idtr));
	return idtr.base;
}

static u16 read_fs_selector(void)
{
	u16 sel;

	__asm__ __volatile__("mov %%fs, %0" : "=r"(sel));
	return sel;
}

/* Host state that depends on the CPU (SDM vol. 3C 25.5): reloaded on every exit. */
static void set_host_state(void)
{
	struct percpu *pc = this_cpu();

	vmcs_writenat(HOST_CR0, read_cr0());
	vmcs_writenat(HOST_CR3, read_cr3());
	vmcs_writenat(HOST_CR4, read_cr4());
	vmcs_write16(HOST_CS_SELECTOR, GDT_KERNEL_CS);
	vmcs_write16(HOST_SS_SELECTOR, GDT_KERNEL_DS);
	vmcs_write16(HOST_DS_SELECTOR, GDT_KERNEL_DS);
	vmcs_write16(HOST_ES_SELECTOR, GDT_KERNEL_DS);
	vmcs_write16(HOST_FS_SELECTOR, read_fs_selector() & ~7);
	vmcs_write16(HOST_GS_SELECTOR, 0);
	vmcs_write16(HOST_TR_SELECTOR, GDT_TSS);
	vmcs_writenat(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmcs_writenat(HOST_GS_BASE, (u64)pc); /* the per-CPU pointer (asm/percpu.h) */
	vmcs_writenat(HOST_TR_BASE, (u64)&pc->tss);
	vmcs_writenat(HOST_GDTR_BASE, (u64)pc->gdt);
	vmcs_writenat(HOST_IDTR_BASE, read_idtr_base());
	vmcs_write32(HOST_IA32_SYSENTER_CS, (u32)rdmsr(MSR_IA32_SYSENTER_CS));
	vmcs_writenat(HOST_IA32_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
	vmcs_writenat(HOST_IA32_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));
	vmcs_write64(HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmcs_write64(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_writenat(HOST_RIP, (u64)vmx_exit_point);
}

/*
 * Make the vCPU's VMCS current on this CPU (interrupts off, so the thread
 * cannot move meanwhile). A vCPU arriving from another CPU has its VMCS
 * cleared there by IPI first, then gets this CPU's host state and a flush of
 * its VPID's translations, which may be stale here. False if VMPTRLD failed.
 */
static bool vmx_vcpu_load(struct vmx_vcpu *vv)
{
	u32 cpu = cpu_id();
	struct vmx_cpu *vc = &vmx_cpus[cpu];
	bool arrived = vv->cpu != cpu;

	if (vc->current == vv)
		return true;
	if (arrived) {
		if (vv->cpu != VMX_NO_CPU) {
			vv->migrations++;
			VMX_COUNT(migrations);
		}
		vmx_vcpu_unload(vv);
	}
	if (!vmx_vmptrld(vv->vmcs_pa)) {
		vc->current = NULL;
		if (!vv->failed)
			ksnprintf(vv->fail_what, sizeof(vv->fail_what), "VMPTRLD of the vCPU's VMCS "
				  "failed on CPU %u", cpu);
		vv->failed = true;
		return false;
	}
	vc->current = vv;
	vv->cpu = cpu;
	if (arrived) {
		set_host_state();
		vv->flush = true;
	}
	return true;
}

/* For the virt_ops called between entries: interrupts off and the VMCS current. */
static bool vmx_get(struct vmx_vcpu *vv, u64 *flags)
{
	*flags = irq_save();
	return vmx_vcpu_load(vv);
}

static void vmx_put(u64 flags) { irq_restore(flags); }

/* ---- vCPU life ------------------------------------------------------------------- */

int vmx_vcpu_init(struct vcpu *v)
{
	struct vmx_vm *xv = v->vm->arch;
	struct vmx_vcpu *vv;
	paddr_t vmcs_pa, priv_pa;
	u64 f;

	if (!xv || (!xv->ept.root_pa && !v->vm->shadow))
		return -EINVAL;
	if (v->vm->shadow && vmx_shadow_vcpu_init(v))
		return -ENOMEM;
	vmcs_pa = frame_alloc_zeroed(0);
	priv_pa = frame_alloc_zeroed(0);
	if (!vmcs_pa || !priv_pa) {
		if (vmcs_pa)
			frame_free(vmcs_pa, 0);
		if (priv_pa)
			frame_free(priv_pa, 0);
		if (v->shadow)
			vmx_shadow_vcpu_destroy(v);
		return -ENOMEM;
	}
	vv = phys_to_virt(priv_pa);
	vv->vcpu = v;
	vv->vmcs = phys_to_virt(vmcs_pa);
	vv->vmcs_pa = vmcs_pa;
	vv->cpu = VMX_NO_CPU;
	vv->vpid = vmx_cfg.vpid ? vmx_vpid_alloc() : 0;
	vv->proc = vmx_cfg.proc;
	*(u32 *)vv->vmcs = vmx_cfg.revision; /* SDM vol. 3C 25.2: revision identifier first */
	v->arch = vv;
	if (vmx_cfg.vpid && !vv->vpid) {
		vmx_vcpu_destroy(v);
		return -ENOSPC;
	}
	f = irq_save();
	vmx_vmclear(vmcs_pa); /* a new VMCS starts clear (launch state "clear") */
	if (vmx_vcpu_load(vv)) {
		vmx_vmcs_init_controls(&vmx_cfg, xv->eptp, vv->vpid);
		vmx_vmcs_reset_guest(&vmx_cfg);
		vv->entry = vmx_cfg.entry;
		if (v->shadow)
			vmx_shadow_vmcs_setup(v, vv);
	}
	irq_restore(f);
	return 0;
}

/* On the vCPU thread: VMCLEAR wherever the VMCS is active, then free it. */
void vmx_vcpu_destroy(struct vcpu *v)
{
	struct vmx_vcpu *vv = to_vmx(v);
	struct vcpu *target = v;
	u64 f;

	__atomic_compare_exchange_n(&corrupt_target, &target, NULL, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_ACQUIRE);
	if (v->shadow)
		vmx_shadow_vcpu_destroy(v);
	if (!vv)
		return;
	f = irq_save();
	vmx_vcpu_unload(vv);
	irq_restore(f);
	if (vv->vpid)
		vmx_vpid_free(vv->vpid);
	frame_free(vv->vmcs_pa, 0);
	v->arch = NULL;
	frame_free(virt_to_phys(vv), 0);
}

/* ---- Entry and exit --------------------------------------------------------------- */

/* Guest translations tagged with this vCPU's VPID may be stale (SDM vol. 3C 29.4.3). */
static void flush_vpid(struct vmx_vcpu *vv)
{
	if (!vmx_cfg.vpid)
		return; /* without VPIDs every entry and exit flushes them already */
	if (!vmx_invvpid(vmx_cfg.invvpid_type, vv->vpid, 0))
		pr_err("vmx: INVVPID for VPID %u failed\n", vv->vpid);
	VMX_COUNT(vpid_flushes);
}

/* Swap the syscall MSRs the VMCS does not hold; only those that differ are written. */
static void msrs_to_guest(const struct vmx_vcpu *vv, const struct vmx_cpu *vc)
{
	for (int i = 0; i < VMX_NR_SWITCHED_MSRS; i++)
		if (vv->msr[i] != vc->host_msr[i])
			wrmsr(vmx_switched_msr_index[i], vv->msr[i]);
}

static void msrs_to_host(struct vmx_vcpu *vv, const struct vmx_cpu *vc)
{
	/* SWAPGS in the guest changes KERNEL_GS_BASE without an exit. */
	vv->msr[VMX_MSR_KERNEL_GS_BASE] = rdmsr(MSR_KERNEL_GS_BASE);
	for (int i = 0; i < VMX_NR_SWITCHED_MSRS; i++)
		if (vv->msr[i] != vc->host_msr[i])
			wrmsr(vmx_switched_msr_index[i], vc->host_msr[i]);
}

/* Debug (`virt corrupt`): one guest field the entry checks refuse (SDM vol. 3C 27.3.1.2: TR usable). */
static void corrupt_guest_state(struct vmx_vcpu *vv)
{
	pr_warn("vmx: vm %s vcpu %u: debug: marking guest TR unusable before the next VM entry\n",
		vv->vcpu->vm->name, vv->vcpu->id);
	vmcs_write32(GUEST_TR_AR_BYTES, vmcs_read32(GUEST_TR_AR_BYTES) | VMX_AR_UNUSABLE);
}

static int refuse(struct vmx_vcpu *vv, struct vm_exit *exit, int err, const char *what)
{
	memset(exit, 0, sizeof(*exit));
	exit->reason = EXIT_INVALID_STATE;
	if (what != vv->why)
		ksnprintf(vv->why, sizeof(vv->why), "%s", what);
	exit->invalid.what = vv->why;
	return err;
}

static void prepare_entry(struct vcpu *v, struct vmx_vcpu *vv)
{
	struct vcpu *target = v;

	if (READ_ONCE(corrupt_target) == v &&
	    __atomic_compare_exchange_n(&corrupt_target, &target, NULL, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		corrupt_guest_state(vv);
	if (vv->flush) {
		flush_vpid(vv);
		vv->flush = false;
	}
	vmcs_writenat(GUEST_RIP, v->regs.rip);
	vmcs_writenat(GUEST_RSP, v->regs.gpr[VCPU_RSP]);
	vmcs_writenat(GUEST_RFLAGS, v->regs.rflags);
	/* The core moved RIP past the exiting instruction: its STI/MOV-SS shadow has ended. */
	if ((vv->intr_state & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) &&
	    v->regs.rip != vv->exit_rip) {
		vv->intr_state &= ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, vv->intr_state);
	}
}

/* VMLAUNCH/VMRESUME itself failed (VMfail): the VM-instruction error says why (SDM vol. 3C 31.4). */
static int entry_vmfail(struct vmx_vcpu *vv, struct vm_exit *exit, int how)
{
	u32 err = how == VMX_ENTER_FAIL_VALID ? vmcs_read32(VM_INSTRUCTION_ERROR) : 0;
	const char *check = err == 7 ? vmx_vmcs_check_guest(&vmx_cfg) : NULL;

	ksnprintf(vv->why, sizeof(vv->why), "%s failed: %s (VM-instruction error %u)%s%s",
		  vv->launched ? "VMRESUME" : "VMLAUNCH", vmx_insn_error_name(err), err,
		  check ? ": " : "", check ? check : "");
	pr_err("vmx: vm %s vcpu %u: %s\n", vv->vcpu->vm->name, vv->vcpu->id, vv->why);
	vmx_vmcs_dump(say_log, vv);
	refuse(vv, exit, -EIO, vv->why);
	exit->invalid.error = err;
	return -EIO;
}

/* An exit with reason bit 31: the entry checks refused the guest state (SDM vol. 3C 27.8). */
static int entry_failure(struct vmx_vcpu *vv, struct vm_exit *exit, u32 reason)
{
	u32 basic = reason & VMX_EXIT_BASIC;
	u64 qual = vmcs_readnat(EXIT_QUALIFICATION);
	const char *check = basic == EXIT_REASON_INVALID_GUEST_STATE ?
			    vmx_vmcs_check_guest(&vmx_cfg) : NULL;

	ksnprintf(vv->why, sizeof(vv->why), "VM-entry failure, %s (exit reason %u)%s%s",
		  vmx_entry_failure_name(basic, qual), basic, check ? ": " : "", check ? check : "");
	pr_err("vmx: vm %s vcpu %u: %s\n", vv->vcpu->vm->name, vv->vcpu->id, vv->why);
	vmx_vmcs_dump(say_log, vv);
	refuse(vv, exit, -EINVAL, vv->why);
	exit->hw_code = reason;
	exit->qual = qual;
	exit->invalid.error = basic;
	return -EINVAL;
}

/* Read what the decoder needs for this exit (fewer VMREADs for the frequent ones). */
static void read_exit(struct vmx_exit_raw *r, u32 reason)
{
	u32 basic = reason & VMX_EXIT_BASIC;

	memset(r, 0, sizeof(*r));
	r->reason = reason;
	r->qual = vmcs_readnat(EXIT_QUALIFICATION);
	r->insn_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
	if (vmx_exit_needs_gpa(basic))
		r->gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
	if (basic == EXIT_REASON_EPT_VIOLATION && (r->qual & EPT_QUAL_GLA_VALID))
		r->gla = vmcs_readnat(GUEST_LINEAR_ADDRESS);
	if (vmx_exit_needs_intr_info(basic)) {
		r->intr_info = vmcs_read32(VM_EXIT_INTR_INFO);
		if (r->intr_info & INTR_INFO_ERROR_CODE)
			r->intr_error = vmcs_read32(VM_EXIT_INTR_ERROR_CODE);
	}
	if (basic == EXIT_REASON_IO_INSTRUCTION && (r->qual & IO_QUAL_STRING) &&
	    (vmx_caps.basic & VMX_BASIC_INOUT_INFO))
		r->insn_info = vmcs_read32(VMX_INSTRUCTION_INFO);
}

/*
 * IRET unblocked NMIs and then faulted into an exit (SDM vol. 3C 28.2.3): the
 * guest must again block NMIs when it re-executes the IRET.
 */
static void restore_nmi_blocking(struct vmx_vcpu *vv, const struct vmx_exit_raw *r)
{
	u32 basic = r->reason & VMX_EXIT_BASIC;
	bool unblock = basic == EXIT_REASON_EPT_VIOLATION ? (r->qual & EPT_QUAL_NMI_UNBLOCK) :
		       basic == EXIT_REASON_EXCEPTION_NMI && (r->intr_info & INTR_INFO_NMI_UNBLOCK);

	if (unblock && !(vv->idt_info & INTR_INFO_VALID)) {
		vv->intr_state |= INTERRUPTIBILITY_NMI;
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, vv->intr_state);
	}
}

/* After a VM exit: guest registers back into the vCPU, the exit decoded. */
static int finish_exit(struct vcpu *v, struct vmx_vcpu *vv, struct vm_exit *exit)
{
	u32 reason = vmcs_read32(VM_EXIT_REASON);
	struct vmx_exit_raw r;

	vv->entry_intr = 0; /* every exit clears its valid bit */
	v->regs.rip = vmcs_readnat(GUEST_RIP);
	v->regs.gpr[VCPU_RSP] = vmcs_readnat(GUEST_RSP);
	v->regs.rflags = vmcs_readnat(GUEST_RFLAGS);
	vv->exit_rip = v->regs.rip;
	vv->last_reason = reason & VMX_EXIT_BASIC;
	if (reason & VMX_EXIT_ENTRY_FAILURE)
		return entry_failure(vv, exit, reason);
	read_exit(&r, reason);
	vv->idt_info = vmcs_read32(IDT_VECTORING_INFO);
	if (vv->idt_info & INTR_INFO_VALID) {
		vv->idt_error = (vv->idt_info & INTR_INFO_ERROR_CODE) ?
				vmcs_read32(IDT_VECTORING_ERROR_CODE) : 0;
		vv->idt_len = r.insn_len;
	}
	vv->intr_state = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
	restore_nmi_blocking(vv, &r);
	vmx_exit_decode(&r, v->regs.gpr, (vmx_caps.basic & VMX_BASIC_INOUT_INFO) != 0, exit);
	if (exit->reason == EXIT_INVLPG) {
		if (vmx_cfg.invvpid_addr)
			vmx_invvpid(INVVPID_ADDRESS, vv->vpid, exit->invlpg.gva);
		else
			vv->flush = true;
	}
	if (exit->reason == EXIT_UNHANDLED)
		pr_warn("vmx: vm %s vcpu %u: exit '%s' (reason %u, qualification %#llx) is not "
			"handled\n", v->vm->name, v->id, vmx_exit_name(vv->last_reason),
			vv->last_reason, (unsigned long long)r.qual);
	return 0;
}

/*
 * Enter the guest once (virt_ops.vcpu_run; vCPU thread, interrupts off on
 * entry and on return). External-interrupt exiting with acknowledge-on-exit
 * off: a host interrupt ends guest mode and stays pending in the LAPIC until
 * the core enables interrupts. A host NMI or #MC that caused the exit is
 * handed to the host's own handler here.
 */
int vmx_vcpu_run(struct vcpu *v, struct vm_exit *exit)
{
	struct vmx_vcpu *vv = to_vmx(v);
	struct vmx_cpu *vc = &vmx_cpus[cpu_id()];
	int how, err;

	if (!vc->enabled)
		return refuse(vv, exit, -ENODEV, "VMX is not enabled on this CPU");
	if (!vmx_vcpu_load(vv) || vv->failed)
		return refuse(vv, exit, -EIO, vv->fail_what);
	if (v->shadow) {
		const char *why = vmx_shadow_before_entry(v, vv);

		if (why)
			return refuse(vv, exit, -EINVAL, why);
	}
	prepare_entry(v, vv);
	if (vv->failed)
		return refuse(vv, exit, -EIO, vv->fail_what);
	msrs_to_guest(vv, vc);
	write_cr2(vv->cr2);
	VMX_COUNT(entries);
	how = vmx_enter(v->regs.gpr, vv->launched);
	vv->cr2 = read_cr2();
	msrs_to_host(vv, vc);
	if (how)
		return entry_vmfail(vv, exit, how);
	vv->launched = true;
	err = finish_exit(v, vv, exit);
	if (!err && exit->reason == EXIT_NMI)
		__asm__ __volatile__("int $2");
	if (!err && exit->reason == EXIT_EXCEPTION && exit->exc.vector == X86_VEC_MC)
		__asm__ __volatile__("int $18");
	if (!err && vv->failed)
		return refuse(vv, exit, -EIO, vv->fail_what);
	return err;
}

/* ---- State and events between entries (vCPU thread) --------------------------------- */

void vmx_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
	struct vmx_vcpu *vv = to_vmx(v);
	u64 f;

	memset(s, 0, sizeof(*s));
	if (vmx_get(vv, &f))
		vmx_vmcs_get_sregs(&vmx_cfg, s);
	vmx_put(f);
	s->cr2 = vv->cr2;
	if (v->shadow)
		vmx_shadow_get_sregs(v, s);
}

/* PAE paging outside long mode: the CPU takes the PDPTEs from the VMCS at entry (SDM vol. 3C 27.3.2.4). */
static void load_pdptes(struct vcpu *v, const struct vcpu_sregs *s)
{
	u64 pdpte[PDPTE_COUNT];

	if (!(s->cr0 & X86_CR0_PG) || !(s->cr4 & X86_CR4_PAE) || (s->efer & EFER_LME))
		return;
	if (gmem_read(&v->vm->mem, s->cr3 & ~0x1fULL, pdpte, sizeof(pdpte)))
		memset(pdpte, 0, sizeof(pdpte)); /* not RAM: nothing present */
	for (u32 i = 0; i < PDPTE_COUNT; i++)
		vmcs_write_any(GUEST_PDPTE0 + 2 * i, pdpte[i]);
}

void vmx_set_sregs(struct vcpu *v, const struct vcpu_sregs *s)
{
	struct vmx_vcpu *vv = to_vmx(v);
	u64 f;

	if (vmx_get(vv, &f)) {
		vv->entry = vmx_vmcs_set_sregs(&vmx_cfg, s, vv->entry);
		load_pdptes(v, s);
		if (v->shadow)
			vmx_shadow_set_sregs(v, vv, s);
	}
	vmx_put(f);
	vv->cr2 = s->cr2;
}

int vmx_get_msr(struct vcpu *v, u32 index, u64 *value)
{
	struct vmx_vcpu *vv = to_vmx(v);
	int slot = vmx_switched_msr_slot(index), err = -EIO;
	u64 f;

	if (slot >= 0) {
		*value = vv->msr[slot];
		return 0;
	}
	if (v->shadow && index == MSR_EFER)
		return vmx_shadow_get_efer(v, value);
	if (vmx_get(vv, &f))
		err = vmx_vmcs_get_msr(index, value);
	vmx_put(f);
	return err;
}

int vmx_set_msr(struct vcpu *v, u32 index, u64 value)
{
	struct vmx_vcpu *vv = to_vmx(v);
	int slot = vmx_switched_msr_slot(index), err = -EIO;
	u64 f;

	if (slot >= 0) {
		err = vmx_switched_msr_check(index, value);
		if (!err)
			vv->msr[slot] = value;
		return err;
	}
	if (v->shadow && index == MSR_EFER)
		return vmx_shadow_set_efer(v, value);
	if (vmx_get(vv, &f))
		err = vmx_vmcs_set_msr(index, value);
	vmx_put(f);
	return err;
}

void vmx_inject_event(struct vcpu *v, const struct vcpu_event *e)
{
	struct vmx_vcpu *vv = to_vmx(v);
	u32 info, type;
	u64 f;

	if (!vmx_get(vv, &f)) {
		vmx_put(f);
		return;
	}
	info = vmx_event_encode(e, (vmcs_readnat(GUEST_CR0) & X86_CR0_PE) != 0);
	type = (info & INTR_INFO_TYPE) >> INTR_INFO_TYPE_SHIFT;
	if (info & INTR_INFO_ERROR_CODE)
		vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, e->error_code);
	if (type >= INTR_TYPE_SOFT_INTR && type <= INTR_TYPE_SW_EXCEPTION)
		vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, vv->reinject_len ? vv->reinject_len : 1);
	if (type == INTR_TYPE_HW_EXCEPTION && e->vector == X86_VEC_PF)
		vv->cr2 = e->cr2; /* VMX does not load CR2 when it delivers a #PF */
	if (type == INTR_TYPE_NMI) {
		/* Without virtual NMIs the core decides; entry refuses an NMI under MOV-SS blocking. */
		vv->intr_state &= ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS |
				    INTERRUPTIBILITY_NMI);
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, vv->intr_state);
	}
	vmcs_write32(VM_ENTRY_INTR_INFO, info);
	vv->entry_intr = info;
	vmx_put(f);
}

bool vmx_irq_allowed(struct vcpu *v)
{
	struct vmx_vcpu *vv = to_vmx(v);
	bool shadow = (vv->intr_state & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) &&
		      v->regs.rip == vv->exit_rip;

	return !(vv->entry_intr & INTR_INFO_VALID) && (v->regs.rflags & X86_RFLAGS_IF) && !shadow;
}

/* Interrupt-window exiting (SDM vol. 3C 26.7.5): an exit as soon as the guest can take an interrupt. */
void vmx_request_irq_window(struct vcpu *v, bool on)
{
	struct vmx_vcpu *vv = to_vmx(v);
	u32 proc = on ? vv->proc | PROC_INTR_WINDOW_EXITING : vv->proc & ~PROC_INTR_WINDOW_EXITING;
	u64 f;

	if (proc == vv->proc)
		return;
	if (vmx_get(vv, &f)) {
		vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, proc);
		vv->proc = proc;
	}
	vmx_put(f);
}

bool vmx_take_interrupted_event(struct vcpu *v, struct vcpu_event *e)
{
	struct vmx_vcpu *vv = to_vmx(v);
	bool valid = vmx_event_decode(vv->idt_info, vv->idt_error, e);

	vv->reinject_len = valid ? vv->idt_len : 0;
	vv->idt_info = 0;
	/* A #PF cut short keeps its CR2: an exit for a #PF or an EPT violation leaves CR2 alone. */
	if (valid && e->type == EVENT_EXCEPTION && e->vector == X86_VEC_PF)
		e->cr2 = vv->cr2;
	return valid;
}

void vmx_flush_guest_tlb(struct vcpu *v) { to_vmx(v)->flush = true; }

/* Software state only: callable from any thread (the VMCS itself is read on the vCPU's thread). */
void vmx_dump(struct vcpu *v, void (*say)(void *ctx, const char *line), void *ctx)
{
	struct vmx_vcpu *vv = to_vmx(v);
	char buf[160];
	u32 cpu;

	if (!vv) {
		say(ctx, "vmx: no VMCS (the vCPU is not running)");
		return;
	}
	cpu = READ_ONCE(vv->cpu);
	ksnprintf(buf, sizeof(buf), "vmx: vmcs=%#llx vpid=%u %s%d launched=%d migrations=%llu "
		  "remote-vmclears=%llu", (unsigned long long)vv->vmcs_pa, vv->vpid,
		  cpu == VMX_NO_CPU ? "clear" : "active-on-cpu", cpu == VMX_NO_CPU ? -1 : (int)cpu,
		  READ_ONCE(vv->launched), (unsigned long long)READ_ONCE(vv->migrations),
		  (unsigned long long)READ_ONCE(vv->remote_clears));
	say(ctx, buf);
	ksnprintf(buf, sizeof(buf), "vmx: last exit %s (%u); controls proc=%#x entry=%#x; "
		  "interruptibility %#x", vmx_exit_name(READ_ONCE(vv->last_reason)),
		  READ_ONCE(vv->last_reason), READ_ONCE(vv->proc), READ_ONCE(vv->entry),
		  READ_ONCE(vv->intr_state));
	say(ctx, buf);
}

int vmx_debug_corrupt(struct vcpu *v)
{
	struct vcpu *none = NULL;

	if (!__atomic_compare_exchange_n(&corrupt_target, &none, v, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return -EBUSY;
	vcpu_kick(v);
	return 0;
}
