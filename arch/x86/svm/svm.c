/* AMD SVM backend: detection, enabling on each CPU, per-VM nested tables, the virt_ops table. */
#include "arch/x86/svm/svm_internal.h"
#include "arch/x86/svm/svm_shadow.h"
#include "hv/vm.h"
#include "mm/frame.h"
#include "mm/kmalloc.h"
#include "asm/cpu.h"
#include "asm/msr.h"
#include "asm/page.h"
#include "asm/percpu.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "kernel/log.h"

struct svm_caps svm_caps;
struct svm_cpu svm_cpus[MAX_CPUS];
hpa_t svm_iopm_pa, svm_msrpm_pa;

#define IOPM_ORDER 2  /* 16 KiB block for the 12 KiB map */
#define MSRPM_ORDER 1 /* 8 KiB */
_Static_assert((PAGE_SIZE << IOPM_ORDER) >= SVM_IOPM_SIZE, "IOPM fits");
_Static_assert((PAGE_SIZE << MSRPM_ORDER) >= SVM_MSRPM_SIZE, "MSRPM fits");

static bool cpu_has_svm(void)
{
	u32 a, b, c, d;

	cpuid(0x80000000U, &a, &b, &c, &d);
	if (a < CPUID_SVM_FEATURES)
		return false;
	cpuid(CPUID_EXT_FEATURES, &a, &b, &c, &d);
	return (c & CPUID_EXT_ECX_SVM) != 0;
}

/* Permission maps with every bit set: every port and every MSR exits (APM 15.10.1, 15.11). */
static int svm_alloc_maps(void)
{
	if (svm_iopm_pa)
		return 0;
	svm_iopm_pa = frame_alloc(IOPM_ORDER);
	svm_msrpm_pa = frame_alloc(MSRPM_ORDER);
	if (!svm_iopm_pa || !svm_msrpm_pa) {
		if (svm_iopm_pa)
			frame_free(svm_iopm_pa, IOPM_ORDER);
		if (svm_msrpm_pa)
			frame_free(svm_msrpm_pa, MSRPM_ORDER);
		svm_iopm_pa = svm_msrpm_pa = 0;
		return -ENOMEM;
	}
	memset(phys_to_virt(svm_iopm_pa), 0xff, PAGE_SIZE << IOPM_ORDER);
	memset(phys_to_virt(svm_msrpm_pa), 0xff, PAGE_SIZE << MSRPM_ORDER);
	return 0;
}

/*
 * Turn SVM on for the calling CPU (APM vol. 2 15.4): EFER.SVME, a host save
 * area, a host VMCB for VMSAVE/VMLOAD, the ASID allocator. Any context
 * (interrupts may be off); idempotent.
 */
static int svm_cpu_enable(void)
{
	u32 cpu = cpu_id();
	struct svm_cpu *sc = &svm_cpus[cpu];
	paddr_t hsave, host;

	if (sc->enabled)
		return 0;
	if (!cpu_has_svm() || (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS)) {
		pr_err("svm: CPU %u: SVM missing or disabled (VM_CR.SVMDIS)\n", cpu);
		return -ENODEV;
	}
	hsave = frame_alloc_zeroed(0);
	host = frame_alloc_zeroed(0);
	if (!hsave || !host) {
		if (hsave)
			frame_free(hsave, 0);
		if (host)
			frame_free(host, 0);
		return -ENOMEM;
	}
	sc->hsave_pa = hsave;
	sc->host_vmcb_pa = host;
	svm_asid_cpu_init(&sc->asid, svm_caps.nr_asids);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, hsave);
	this_cpu()->vcpu_state = sc;
	sc->enabled = true;
	return 0;
}

static void svm_describe(char *buf, size_t len)
{
	static const struct { u32 bit; const char *name; } feats[] = {
		{ SVM_FEAT_NPT, "NPT" },
		{ SVM_FEAT_NRIPS, "NRIPS" },
		{ SVM_FEAT_VGIF, "VGIF" },
		{ SVM_FEAT_FLUSH_BY_ASID, "flush-by-ASID" },
		{ SVM_FEAT_DECODE_ASSISTS, "decode-assists" },
		{ SVM_FEAT_VMCB_CLEAN, "VMCB-clean" },
		{ SVM_FEAT_PAUSE_FILTER, "pause-filter" },
		{ SVM_FEAT_AVIC, "AVIC" },
	};
	size_t i, n;

	n = ksnprintf(buf, len, "SVM rev %u, %u ASIDs, features %#x:", svm_caps.revision,
		      svm_caps.nr_asids, svm_caps.features);
	for (i = 0; i < ARRAY_SIZE(feats) && n < len; i++)
		n += ksnprintf(buf + n, len - n, " %s%s", svm_has(feats[i].bit) ? "" : "no-",
			       feats[i].name);
}

static int npt_page_alloc(void *ctx, hpa_t *pa, void **va)
{
	paddr_t p = frame_alloc_zeroed(0);

	if (!p)
		return -ENOMEM;
	*pa = p;
	*va = phys_to_virt(p);
	return 0;
}

static void npt_page_free(void *ctx, hpa_t pa) { frame_free(pa, 0); }

static void *npt_pa_to_va(void *ctx, hpa_t pa) { return phys_to_virt(pa); }

static const struct svm_page_alloc npt_frames = {
	.alloc = npt_page_alloc,
	.free = npt_page_free,
	.pa_to_va = npt_pa_to_va,
};

/* Nested page tables from vm->mem (all RAM added). Lifecycle lock of the VM held. */
static int svm_vm_init(struct vm *vm)
{
	struct svm_vm *sv;
	int err;

	if (vm->shadow) { /* shadow paging (svm_shadow.c): no nested tables */
		vm->arch = kzalloc(sizeof(struct svm_vm));
		return vm->arch ? 0 : -ENOMEM;
	}
	if (!svm_has(SVM_FEAT_NPT)) {
		pr_err("svm: VM %s: the CPU has no nested paging and there is no shadow MMU yet\n",
		       vm->name);
		return -ENODEV;
	}
	sv = kzalloc(sizeof(*sv));
	if (!sv)
		return -ENOMEM;
	err = svm_npt_build(&sv->npt, &vm->mem, &npt_frames);
	if (err) {
		kfree(sv);
		return err;
	}
	vm->arch = sv;
	return 0;
}

/* After every vCPU of the VM is destroyed. */
static void svm_vm_destroy(struct vm *vm)
{
	struct svm_vm *sv = vm->arch;

	if (!sv)
		return;
	svm_npt_free(&sv->npt, &npt_frames);
	kfree(sv);
	vm->arch = NULL;
}

static const struct virt_ops svm_ops = {
	.name = "SVM",
	.cpu_enable = svm_cpu_enable,
	.describe = svm_describe,
	.paging_modes = svm_paging_modes,
	.vm_init = svm_vm_init,
	.vm_destroy = svm_vm_destroy,
	.vcpu_init = svm_vcpu_init,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_run = svm_vcpu_run,
	.get_sregs = svm_get_sregs,
	.set_sregs = svm_set_sregs,
	.get_msr = svm_get_msr,
	.set_msr = svm_set_msr,
	.inject_event = svm_inject_event,
	.irq_allowed = svm_irq_allowed,
	.request_irq_window = svm_request_irq_window,
	.take_interrupted_event = svm_take_interrupted_event,
	.flush_guest_tlb = svm_flush_guest_tlb,
	.dump = svm_dump,
	.debug_corrupt = svm_debug_corrupt,
	.counters = svm_counters,
};

/*
 * The SVM backend if this CPU can run it (APM vol. 2 15.4: CPUID
 * 0x80000001 ECX.SVM, VM_CR.SVMDIS clear), else NULL with the reason logged.
 * Boot CPU, once, before cpu_enable runs anywhere.
 */
const struct virt_ops *svm_probe(void)
{
	u32 a, b, c, d;

	if (!cpu_has_svm())
		return NULL;
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		pr_warn("svm: SVM is disabled by the firmware (VM_CR.SVMDIS)\n");
		return NULL;
	}
	cpuid(CPUID_SVM_FEATURES, &a, &b, &c, &d);
	svm_caps.revision = a & CPUID_SVM_EAX_REVISION;
	svm_caps.nr_asids = b;
	svm_caps.features = d;
	if (svm_caps.nr_asids < 2) {
		pr_warn("svm: the CPU offers %u ASIDs, need at least 2\n", svm_caps.nr_asids);
		return NULL;
	}
	if (svm_alloc_maps()) {
		pr_err("svm: no memory for the I/O and MSR permission maps\n");
		return NULL;
	}
	return &svm_ops;
}
