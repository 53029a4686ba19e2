/* Intel VMX backend: detection, VMXON on each CPU, per-VM EPT, VPIDs, the virt_ops table. */
#include "arch/x86/vmx/vmx_internal.h"
#include "arch/x86/vmx/vmx_ops.h"
#include "arch/x86/vmx/vmx_shadow.h"
#include "hv/vm.h"
#include "kernel/log.h"
#include "kernel/smp.h"
#include "mm/frame.h"
#include "mm/kmalloc.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "asm/cpu.h"
#include "asm/msr.h"
#include "asm/page.h"
#include "asm/percpu.h"
#include "asm/spinlock.h"
#include "asm/time.h"

struct vmx_caps vmx_caps;
struct vmx_config vmx_cfg;
struct vmx_cpu vmx_cpus[MAX_CPUS];
struct vmx_stats vmx_stats;

#define VPID_COUNT 65536
#define PREEMPT_HZ 1000 /* the longest stay in the guest without an exit: 1 ms */

static bool cpu_has_vmx(void)
{
	u32 a, b, c, d;

	cpuid(1, &a, &b, &c, &d);
	return (c & CPUID_1_ECX_VMX) != 0;
}

/*
 * IA32_FEATURE_CONTROL (SDM vol. 3C 24.7): VMXON needs "enable VMX outside
 * SMX". Firmware usually locks the MSR; if it did not, set the bit and lock.
 * -EPERM when it is locked with VMX off.
 */
static int feature_control_enable(void)
{
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);

	if (fc & FEATURE_CONTROL_LOCKED)
		return (fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX) ? 0 : -EPERM;
	wrmsr(MSR_IA32_FEATURE_CONTROL,
	      fc | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCKED);
	return 0;
}

/*
 * Turn VMX on for the calling CPU (SDM vol. 3C 24.7, 24.8): feature control,
 * the CR0/CR4 fixed bits (CR0.NE, CR4.VMXE), a VMXON region of its own.
 * Interrupts off (IPI); idempotent.
 */
static int vmx_cpu_enable(void)
{
	u32 cpu = cpu_id();
	struct vmx_cpu *vc = &vmx_cpus[cpu];
	paddr_t region;

	if (vc->enabled)
		return 0;
	if (!cpu_has_vmx())
		return -ENODEV;
	if (feature_control_enable()) {
		pr_err("vmx: CPU %u: IA32_FEATURE_CONTROL is locked with VMX disabled\n", cpu);
		return -EPERM;
	}
	region = frame_alloc_zeroed(0);
	if (!region)
		return -ENOMEM;
	*(u32 *)phys_to_virt(region) = vmx_cfg.revision;
	write_cr0((read_cr0() | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1);
	write_cr4((read_cr4() | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
	if (!vmx_on(region)) {
		pr_err("vmx: CPU %u: VMXON failed\n", cpu);
		write_cr4(read_cr4() & ~X86_CR4_VMXE);
		frame_free(region, 0);
		return -EIO;
	}
	vc->vmxon_pa = region;
	for (int i = 0; i < VMX_NR_SWITCHED_MSRS; i++)
		vc->host_msr[i] = rdmsr(vmx_switched_msr_index[i]);
	/* Start from clean TLBs: nothing tagged with an EPTP or VPID is ours yet. */
	vmx_invept(INVEPT_ALL_CONTEXT, 0);
	if (vmx_cfg.vpid)
		vmx_invvpid(INVVPID_ALL_CONTEXT, 0, 0);
	this_cpu()->vcpu_state = vc;
	vc->enabled = true;
	return 0;
}

static void vmx_describe(char *buf, size_t len) { vmx_caps_describe(&vmx_caps, buf, len); }

static void vmx_counters(char *buf, size_t len)
{
	ksnprintf(buf, len, "entries %llu, vCPU migrations %llu, VMCLEARs by IPI %llu, "
		  "VPID flushes %llu, INVEPTs %llu",
		  (unsigned long long)READ_ONCE(vmx_stats.entries),
		  (unsigned long long)READ_ONCE(vmx_stats.migrations),
		  (unsigned long long)READ_ONCE(vmx_stats.remote_vmclears),
		  (unsigned long long)READ_ONCE(vmx_stats.vpid_flushes),
		  (unsigned long long)READ_ONCE(vmx_stats.invept));
}

/* ---- VPIDs ---- */

static struct spinlock vpid_lock = SPINLOCK_INIT;
static u64 vpid_used[VPID_COUNT / 64];
static u32 vpid_next = 1;

u16 vmx_vpid_alloc(void)
{
	u64 f = spin_lock_irqsave(&vpid_lock);
	u16 found = 0;

	for (u32 n = 0; n < VPID_COUNT - 1 && !found; n++) {
		u32 id = vpid_next;

		vpid_next = vpid_next + 1 < VPID_COUNT ? vpid_next + 1 : 1;
		if (!(vpid_used[id / 64] & BIT(id % 64))) {
			vpid_used[id / 64] |= BIT(id % 64);
			found = (u16)id;
		}
	}
	spin_unlock_irqrestore(&vpid_lock, f);
	return found;
}

/* A freed VPID may still tag translations on some CPU: each vCPU flushes its VPID where it arrives. */
void vmx_vpid_free(u16 vpid)
{
	u64 f = spin_lock_irqsave(&vpid_lock);

	vpid_used[vpid / 64] &= ~BIT(vpid % 64);
	spin_unlock_irqrestore(&vpid_lock, f);
}

/* ---- Per-VM EPT ---- */

static int ept_page_alloc(void *ctx, hpa_t *pa, void **va)
{
	paddr_t p = frame_alloc_zeroed(0);

	if (!p)
		return -ENOMEM;
	*pa = p;
	*va = phys_to_virt(p);
	return 0;
}

static void ept_page_free(void *ctx, hpa_t pa) { frame_free(pa, 0); }

static void *ept_pa_to_va(void *ctx, hpa_t pa) { return phys_to_virt(pa); }

static const struct vmx_page_alloc ept_frames = {
	.alloc = ept_page_alloc,
	.free = ept_page_free,
	.pa_to_va = ept_pa_to_va,
};

/* On every CPU: forget what any CPU cached for this EPTP (its PML4 page may have served an earlier VM). */
static void invept_here(void *arg)
{
	u64 eptp = *(const u64 *)arg;

	if (vmx_cpus[cpu_id()].enabled) {
		vmx_invept(vmx_cfg.invept_type, vmx_cfg.invept_type == INVEPT_SINGLE_CONTEXT ? eptp : 0);
		VMX_COUNT(invept);
	}
}

/* EPT from vm->mem (all RAM added); the VM's lifecycle lock held, thread context. */
static int vmx_vm_init(struct vm *vm)
{
	struct vmx_vm *xv = kzalloc(sizeof(*xv));
	int err;

	if (!xv)
		return -ENOMEM;
	if (vm->shadow) { /* shadow paging (vmx_shadow.c): no EPT */
		vm->arch = xv;
		return 0;
	}
	err = vmx_ept_build(&xv->ept, &vm->mem, vmx_cfg.ept_1g, &ept_frames);
	if (err) {
		kfree(xv);
		return err;
	}
	xv->eptp = vmx_eptp(&xv->ept);
	smp_call_on_all(invept_here, &xv->eptp);
	vm->arch = xv;
	pr_debug("vmx: VM %s: EPT at %#llx, %u 1G and %u 2M pages, %u tables\n", vm->name,
		 (unsigned long long)xv->ept.root_pa, xv->ept.nr_1g, xv->ept.nr_2m,
		 xv->ept.nr_tables);
	return 0;
}

/* After every vCPU of the VM is destroyed. */
static void vmx_vm_destroy(struct vm *vm)
{
	struct vmx_vm *xv = vm->arch;

	if (!xv)
		return;
	vmx_ept_free(&xv->ept, &ept_frames);
	kfree(xv);
	vm->arch = NULL;
}

static const struct virt_ops vmx_ops = {
	.name = "VMX",
	.cpu_enable = vmx_cpu_enable,
	.describe = vmx_describe,
	.paging_modes = vmx_paging_modes,
	.vm_init = vmx_vm_init,
	.vm_destroy = vmx_vm_destroy,
	.vcpu_init = vmx_vcpu_init,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_run = vmx_vcpu_run,
	.get_sregs = vmx_get_sregs,
	.set_sregs = vmx_set_sregs,
	.get_msr = vmx_get_msr,
	.set_msr = vmx_set_msr,
	.inject_event = vmx_inject_event,
	.irq_allowed = vmx_irq_allowed,
	.request_irq_window = vmx_request_irq_window,
	.take_interrupted_event = vmx_take_interrupted_event,
	.flush_guest_tlb = vmx_flush_guest_tlb,
	.dump = vmx_dump,
	.debug_corrupt = vmx_debug_corrupt,
	.counters = vmx_counters,
};

/* The capability MSRs (SDM vol. 3C appendix A); the TRUE_* ones when IA32_VMX_BASIC bit 55 is set. */
static void read_caps(struct vmx_caps *c)
{
	bool true_ctls;

	c->basic = rdmsr(MSR_IA32_VMX_BASIC);
	true_ctls = (c->basic & VMX_BASIC_TRUE_CTLS) != 0;
	c->pin = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
	c->proc = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
	c->exit = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
	c->entry = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
	c->proc2 = (c->proc >> 32) & PROC_SECONDARY_CONTROLS ? rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) : 0;
	c->ept_vpid = (c->proc2 >> 32) & (PROC2_ENABLE_EPT | PROC2_ENABLE_VPID) ?
		      rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) : 0;
	c->misc = rdmsr(MSR_IA32_VMX_MISC);
	c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
}

/*
 * The VMX backend if this CPU can run it (CPUID.1:ECX.VMX, feature control
 * not locked against VMX, EPT with unrestricted guest), else NULL with the
 * reason logged. Boot CPU, once, before cpu_enable runs anywhere.
 */
const struct virt_ops *vmx_probe(void)
{
	char why[200];
	u64 fc;

	if (!cpu_has_vmx())
		return NULL;
	fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if ((fc & FEATURE_CONTROL_LOCKED) && !(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		pr_warn("vmx: VMX is disabled by the firmware (IA32_FEATURE_CONTROL %#llx is locked "
			"without 'VMX outside SMX'): VMs cannot run\n", (unsigned long long)fc);
		return NULL;
	}
	read_caps(&vmx_caps);
	pr_debug("vmx: BASIC %#llx PIN %#llx PROC %#llx PROC2 %#llx EXIT %#llx ENTRY %#llx MISC %#llx "
		 "EPT_VPID %#llx CR0 %#llx/%#llx CR4 %#llx/%#llx\n",
		 (unsigned long long)vmx_caps.basic, (unsigned long long)vmx_caps.pin,
		 (unsigned long long)vmx_caps.proc, (unsigned long long)vmx_caps.proc2,
		 (unsigned long long)vmx_caps.exit, (unsigned long long)vmx_caps.entry,
		 (unsigned long long)vmx_caps.misc, (unsigned long long)vmx_caps.ept_vpid,
		 (unsigned long long)vmx_caps.cr0_fixed0, (unsigned long long)vmx_caps.cr0_fixed1,
		 (unsigned long long)vmx_caps.cr4_fixed0, (unsigned long long)vmx_caps.cr4_fixed1);
	if (vmx_config_compute(&vmx_caps, &vmx_cfg, why, sizeof(why))) {
		pr_warn("vmx: this CPU's VMX cannot run the backend: %s. VMs cannot run\n", why);
		return NULL;
	}
	vmx_cfg.preempt_value = (u32)MAX(1ULL, MIN(0xffffffffULL, (tsc_hz() / PREEMPT_HZ) >>
							 vmx_cfg.preempt_shift));
	return &vmx_ops;
}
