/* Shadow paging for a VM of the hypervisor: choosing it, host pages, remote TLB flushes. */
#include "hv/mmu/shadow.h"
#include "hv/cpuid.h"
#include "hv/vcpu.h"
#include "hv/virt.h"
#include "hv/vm.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "kernel/log.h"
#include "mm/frame.h"
#include "mm/kmalloc.h"
#include "asm/cpu.h"
#include "asm/page.h"

#define PAGE_BELOW_4G (1ULL << 32)
#define DEFAULT_BUDGET_MIN 256
#define DEFAULT_BUDGET_MAX 65536
#define DEFAULT_BUDGET_SHARE 16 /* one shadow page per 16 guest pages */

/* CPUID bits that let the guest use a CR4 bit or an EFER bit (SDM vol. 2A CPUID). */
#define L1_EDX_VME BIT(1)
#define L1_EDX_DE BIT(2)
#define L1_EDX_PSE BIT(3)
#define L1_EDX_PAE BIT(6)
#define L1_EDX_MCE BIT(7)
#define L1_EDX_PGE BIT(13)
#define L1_EDX_FXSR BIT(24)
#define L1_EDX_SSE BIT(25)
#define L7_EBX_FSGSBASE BIT(0)
#define L7_EBX_SMEP BIT(7)
#define L7_EBX_SMAP BIT(20)
#define E1_EDX_NX BIT(20)
#define E1_EDX_PAGE1GB BIT(26)

/* ---- host pages and memory --------------------------------------------------------- */

static int host_alloc_page(void *ctx, bool below_4g, hpa_t *pa, u64 **va)
{
	paddr_t p = below_4g ? frame_alloc_below(0, PAGE_BELOW_4G) : frame_alloc_zeroed(0);

	if (!p)
		return -ENOMEM;
	*pa = p;
	*va = phys_to_virt(p);
	if (below_4g)
		memset(*va, 0, PAGE_SIZE);
	return 0;
}

static void host_free_page(void *ctx, hpa_t pa, u64 *va) { frame_free(pa, 0); }
static void *host_zalloc(void *ctx, size_t size) { return kzalloc(size); }
static void host_free(void *ctx, void *p) { kfree(p); }

/*
 * Every vCPU of the VM drops its cached translations before it runs guest code
 * again (shadow_cpu_enter sees the new generation); we wait for those in guest
 * mode now to leave it. A vCPU counts its entry before it reads the
 * generation, and the core marks it in_guest before that: so either it reads
 * the new generation, or we see it in the guest and wait until it has left or
 * entered again. The caller holds the MMU lock; vCPUs leave guest mode without
 * it (they take it only afterwards, in exit handling), and one that waits for
 * it on its way in (shadow_cpu_locking) reads the generation after we are done.
 */
static void host_remote_flush(void *ctx)
{
	struct vm *vm = ctx;

	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		struct shadow_cpu *sc = READ_ONCE(v->shadow);
		u64 seen;

		if (!sc)
			continue;
		seen = shadow_cpu_entries(sc);
		if (!__atomic_load_n(&v->in_guest, __ATOMIC_SEQ_CST) || shadow_cpu_locking(sc))
			continue;
		vcpu_kick(v);
		while (__atomic_load_n(&v->in_guest, __ATOMIC_SEQ_CST) &&
		       shadow_cpu_entries(sc) == seen && !shadow_cpu_locking(sc))
			cpu_relax();
	}
}

static const struct shadow_ops host_ops = {
	.alloc_page = host_alloc_page,
	.free_page = host_free_page,
	.zalloc = host_zalloc,
	.free = host_free,
	.remote_flush = host_remote_flush,
};

/* ---- what the guest's CPUID offers ------------------------------------------------------ */

static void host_cpuid(u32 leaf, u32 sub, struct cpuid_regs *r)
{
	cpuid_count(leaf, sub, &r->eax, &r->ebx, &r->ecx, &r->edx);
}

static void guest_cpuid(u32 leaf, struct cpuid_regs *r)
{
	struct cpuid_env env = { .host_cpuid = host_cpuid, .nr_vcpus = 1 };

	cpuid_policy(&env, leaf, 0, r);
}

/* MAXPHYADDR, 1 GiB pages, NX and the CR4 bits the guest may set, from its CPUID. */
static void features_from_cpuid(struct shadow_config *cfg)
{
	struct cpuid_regs l1, l7, e1, e8;
	u64 cr4 = X86_CR4_TSD | X86_CR4_PVI | X86_CR4_PCE;

	guest_cpuid(1, &l1);
	guest_cpuid(7, &l7);
	guest_cpuid(0x80000001U, &e1);
	guest_cpuid(0x80000008U, &e8);
	cfg->maxphyaddr = (e8.eax & 0xff) ? (u8)(e8.eax & 0xff) : 36;
	cfg->walk_features = (e1.edx & E1_EDX_PAGE1GB) ? WALK_F_1G_PAGES : 0;
	cfg->nx_allowed = e1.edx & E1_EDX_NX;
	cr4 |= (l1.edx & L1_EDX_VME) ? X86_CR4_VME : 0;
	cr4 |= (l1.edx & L1_EDX_DE) ? X86_CR4_DE : 0;
	cr4 |= (l1.edx & L1_EDX_PSE) ? X86_CR4_PSE : 0;
	cr4 |= (l1.edx & L1_EDX_PAE) ? X86_CR4_PAE : 0;
	cr4 |= (l1.edx & L1_EDX_MCE) ? X86_CR4_MCE : 0;
	cr4 |= (l1.edx & L1_EDX_PGE) ? X86_CR4_PGE : 0;
	cr4 |= (l1.edx & L1_EDX_FXSR) ? X86_CR4_OSFXSR : 0;
	cr4 |= (l1.edx & L1_EDX_SSE) ? X86_CR4_OSXMMEXCPT : 0;
	cr4 |= (l7.ebx & L7_EBX_FSGSBASE) ? X86_CR4_FSGSBASE : 0;
	cr4 |= (l7.ebx & L7_EBX_SMEP) ? X86_CR4_SMEP : 0;
	cr4 |= (l7.ebx & L7_EBX_SMAP) ? X86_CR4_SMAP : 0;
	cfg->cr4_allowed = cr4;
}

/* ---- per VM ------------------------------------------------------------------------------ */

static u32 default_budget(const struct vm *vm)
{
	u64 pages = (vm->cfg.memory >> 12) / DEFAULT_BUDGET_SHARE;

	return (u32)MIN(MAX(pages, (u64)DEFAULT_BUDGET_MIN), (u64)DEFAULT_BUDGET_MAX);
}

/* Nested or shadow, from the configuration and what the backend offers. */
static int choose(struct vm *vm, bool *shadow, char *err, size_t errlen)
{
	u32 modes = virt->paging_modes ? virt->paging_modes() : VIRT_PAGING_NESTED;

	switch (vm->cfg.mmu) {
	case VM_MMU_NESTED:
		*shadow = false;
		if (!(modes & VIRT_PAGING_NESTED)) {
			ksnprintf(err, errlen, "mmu = nested, but the CPU has no nested paging (%s)",
				  virt->name);
			return -ENODEV;
		}
		return 0;
	case VM_MMU_SHADOW:
		*shadow = true;
		break;
	default:
		*shadow = !(modes & VIRT_PAGING_NESTED);
		break;
	}
	if (*shadow && !(modes & VIRT_PAGING_SHADOW)) {
		ksnprintf(err, errlen, "the %s backend cannot run shadow-paged VMs%s", virt->name,
			  vm->cfg.mmu == VM_MMU_AUTO ? " and the CPU has no nested paging" : "");
		return -ENODEV;
	}
	return 0;
}

int shadow_vm_setup(struct vm *vm, char *err, size_t errlen)
{
	struct shadow_config cfg = { 0 };
	bool shadow;
	int ret = choose(vm, &shadow, err, errlen);

	if (ret || !shadow)
		return ret;
	cfg.budget = vm->cfg.shadow_pages ? vm->cfg.shadow_pages : default_budget(vm);
	cfg.cache = vm->cfg.shadow_cache;
	features_from_cpuid(&cfg);
	vm->shadow = shadow_mmu_create(&vm->mem, &cfg, &host_ops, vm);
	if (!vm->shadow) {
		ksnprintf(err, errlen, "out of memory for the shadow MMU");
		return -ENOMEM;
	}
	pr_info("vm %s: shadow paging, budget %u pages, root cache %s, MAXPHYADDR %u\n", vm->name,
		cfg.budget, cfg.cache ? "on" : "off", cfg.maxphyaddr);
	return 0;
}

void shadow_vm_teardown(struct vm *vm)
{
	shadow_mmu_destroy(vm->shadow);
	vm->shadow = NULL;
}

void shadow_vm_reset(struct vm *vm)
{
	if (vm->shadow)
		shadow_mmu_zap_all(vm->shadow);
}

/* ---- per vCPU ------------------------------------------------------------------------------- */

int shadow_vcpu_init(struct vcpu *v)
{
	struct shadow_cpu *c = shadow_cpu_create(v->vm->shadow);

	if (!c)
		return -ENOMEM;
	/* The x86 reset state (SDM vol. 3A 9.1.1) until the core loads its own. */
	shadow_cpu_set_state(c, X86_CR0_ET | X86_CR0_CD | X86_CR0_NW, 0, 0, 0);
	WRITE_ONCE(v->shadow, c);
	return 0;
}

void shadow_vcpu_destroy(struct vcpu *v)
{
	struct shadow_cpu *c = v->shadow;

	WRITE_ONCE(v->shadow, NULL);
	shadow_cpu_destroy(c);
}
