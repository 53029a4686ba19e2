/* Building a VM: its devices, LAPICs and IPIs, nested tables, vCPUs, the guest image. */
#include "hv/vm_internal.h"
#include "hv/dev/vlapic.h"
#include "hv/dev/vuart.h"
#include "hv/load/multiboot.h"
#include "hv/mmu/shadow.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "kernel/log.h"
#include "asm/bootinfo.h"
#include "asm/cpu.h"
#include "asm/page.h"
#include "asm/time.h"
#include "mm/kmalloc.h"

/* A boot module by name: the first word of its GRUB command line. */
static const struct boot_module *find_module(const char *name)
{
	size_t n = strlen(name);

	for (u32 i = 0; i < boot_info.nr_modules; i++) {
		const char *s = boot_info.modules[i].cmdline;

		if (!strncmp(s, name, n) && (s[n] == '\0' || s[n] == ' '))
			return &boot_info.modules[i];
	}
	return NULL;
}

/* --- vLAPIC wiring -------------------------------------------------------- */

static u64 lapic_now(void *ctx) { return time_now_ns(); }
static u64 lapic_tsc(void *ctx) { return rdtsc(); }
static void lapic_notify(void *ctx) { vcpu_request(ctx, VCPU_REQ_EVENT); }

static void lapic_send_ipi(void *ctx, struct vlapic *src, const struct vlapic_ipi *ipi)
{
	struct vcpu *sender = ctx;
	struct vm *vm = sender->vm;

	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *t = vm->vcpus[i];

		if (!vlapic_ipi_targets(t->lapic, src, ipi))
			continue;
		switch (ipi->mode) {
		case VLAPIC_DM_FIXED:
		case VLAPIC_DM_LOWEST:
			vlapic_set_irq(t->lapic, ipi->vector, ipi->level);
			vcpu_request(t, VCPU_REQ_EVENT);
			if (ipi->mode == VLAPIC_DM_LOWEST)
				return;
			break;
		case VLAPIC_DM_NMI:
			vcpu_request(t, VCPU_REQ_NMI);
			break;
		case VLAPIC_DM_INIT:
			vcpu_send_init(t);
			break;
		case VLAPIC_DM_SIPI:
			vcpu_send_sipi(t, ipi->vector);
			break;
		default:
			break; /* SMI, ExtINT: not delivered */
		}
	}
}

static int create_vcpus(struct vm *vm, char *err, size_t errlen)
{
	for (u32 i = 0; i < vm->cfg.vcpus; i++) {
		struct vcpu *v = kzalloc(sizeof(*v));
		struct vlapic_hooks hooks = {
			.ctx = v, .now_ns = lapic_now, .read_tsc = lapic_tsc, .tsc_hz = tsc_hz(),
			.send_ipi = lapic_send_ipi, .notify = lapic_notify,
		};

		if (!v) {
			vm_set_err(err, errlen, "out of memory for vCPUs");
			return -ENOMEM;
		}
		v->vm = vm;
		v->id = i;
		vm->vcpus[vm->nr_vcpus++] = v;
		v->lapic = vlapic_create(&hooks, i, i == 0);
		if (!v->lapic) {
			vm_set_err(err, errlen, "out of memory for LAPICs");
			return -ENOMEM;
		}
	}
	return 0;
}

/* --- devices -------------------------------------------------------------- */

static int add_devices(struct vm *vm, char *err, size_t errlen)
{
	struct vuart_hooks uart_hooks = { .ctx = vm };
	int ret;

	vm->uart = vuart_create(&uart_hooks);
	if (!vm->uart) {
		vm_set_err(err, errlen, "out of memory for devices");
		return -ENOMEM;
	}
	ret = vuart_register(vm->uart, &vm->pio, VUART_COM1_BASE);
	if (!ret)
		ret = vlapic_register_mmio(&vm->mmio);
	if (!ret)
		ret = vm_add_platform_devices(vm);
	if (ret)
		vm_set_err(err, errlen, "cannot register the devices (%d)", ret);
	return ret;
}

/* --- the guest image ------------------------------------------------------ */

static int load_image(struct vm *vm, char *err, size_t errlen)
{
	struct multiboot_module mods[VM_MAX_EXTRA_MODULES];
	const struct boot_module *kernel = find_module(vm->cfg.kernel);
	struct guest_boot_state boot;
	struct multiboot_layout layout;
	struct vcpu *bsp = vm->vcpus[0];
	int ret;

	if (!kernel) {
		vm_set_err(err, errlen, "no boot module named '%s' (add it to grub.cfg with module2)",
			vm->cfg.kernel);
		return -ENOENT;
	}
	for (u32 i = 0; i < vm->cfg.nr_modules; i++) {
		const struct boot_module *m = find_module(vm->cfg.modules[i]);

		if (!m) {
			vm_set_err(err, errlen, "no boot module named '%s'", vm->cfg.modules[i]);
			return -ENOENT;
		}
		mods[i] = (struct multiboot_module){ vm->cfg.modules[i], phys_to_virt(m->start),
						     m->end - m->start };
	}
	ret = multiboot_load(&vm->mem, phys_to_virt(kernel->start), kernel->end - kernel->start,
			     vm->cfg.kernel, vm->cfg.cmdline, mods, vm->cfg.nr_modules, &boot, &layout,
			     err, errlen);
	if (ret)
		return ret;
	bsp->boot_regs = boot.regs;
	bsp->boot_sregs = boot.sregs;
	bsp->has_boot_state = true;
	return 0;
}

int vm_build(struct vm *vm, char *err, size_t errlen)
{
	int ret = add_devices(vm, err, errlen);

	if (!ret)
		ret = create_vcpus(vm, err, errlen);
	if (!ret)
		ret = shadow_vm_setup(vm, err, errlen); /* nested or shadow paging */
	if (!ret) {
		ret = virt->vm_init(vm);
		if (ret)
			vm_set_err(err, errlen, "cannot build the nested page tables (%d)", ret);
	}
	if (!ret)
		ret = load_image(vm, err, errlen);
	return ret;
}

int vm_reload(struct vm *vm, char *err, size_t errlen)
{
	gmem_clear(&vm->mem);
	shadow_vm_reset(vm);
	vuart_reset(vm->uart);
	vm_reset_platform_devices(vm);
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		vlapic_reset(vm->vcpus[i]->lapic);
	return load_image(vm, err, errlen);
}

void vm_free(struct vm *vm)
{
	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i]->lapic)
			vlapic_destroy(vm->vcpus[i]->lapic);
		kfree(vm->vcpus[i]);
	}
	if (vm->arch)
		virt->vm_destroy(vm);
	shadow_vm_teardown(vm);
	vm_free_platform_devices(vm);
	if (vm->uart)
		vuart_destroy(vm->uart);
	gmem_destroy(&vm->mem, &gmem_host_allocator);
	kfree(vm);
}

/* --- the configuration module ---------------------------------------------- */

#define BOOT_CONFIG_DEFAULT "vms.conf"

static struct vm_config_set boot_set;

const struct vm_config *vm_boot_config_find(const char *name)
{
	for (u32 i = 0; i < boot_set.nr; i++)
		if (!strcmp(boot_set.vms[i].name, name))
			return &boot_set.vms[i];
	return NULL;
}

void vm_create_from_boot_config(void)
{
	struct vm_config_set *set = &boot_set;
	const char *name = BOOT_CONFIG_DEFAULT;
	const struct boot_module *m = find_module(name);
	char err[160];
	int ret;

	if (!m) {
		pr_info("vm: no '%s' module: no VMs at boot\n", name);
		return;
	}
	ret = config_parse(phys_to_virt(m->start), m->end - m->start, set, err, sizeof(err));
	if (ret)
		pr_err("vm: %s: %s (VMs before that line are still created)\n", name, err);
	for (u32 i = 0; i < set->nr; i++) {
		struct vm *vm;

		if (vm_create(&set->vms[i], &vm, err, sizeof(err))) {
			pr_err("vm: %s line %u: cannot create '%s': %s\n", name, set->vms[i].line,
			       set->vms[i].name, err);
			continue;
		}
		if (set->vms[i].autostart && vm_start(vm, err, sizeof(err)))
			pr_err("vm %s: cannot start: %s\n", vm->name, err);
	}
}
