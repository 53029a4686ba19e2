/* The small platform devices of every VM: debug-exit port, dual PIC, optional test device. */
#include "hv/vm_internal.h"
#include "hv/dev/debugexit.h"
#include "hv/dev/testdev.h"
#include "hv/dev/vpic.h"

/* QEMU isa-debug-exit semantics: the guest ends its VM with status (value << 1) | 1. */
static void debug_exit_end(void *ctx, u32 value, u64 status)
{
	struct vm *vm = ctx;
	u64 f = spin_lock_irqsave(&vm->state_lock);

	if (vm->state == VM_RUNNING || vm->state == VM_PAUSED) /* the first end wins */
		vm->exit_status = (int)status;
	spin_unlock_irqrestore(&vm->state_lock, f);
	vm_end(vm, VM_STOPPED, "debug-exit: guest wrote %#x (status %llu)", value,
	       (unsigned long long)status);
}

int vm_add_platform_devices(struct vm *vm)
{
	struct debugexit_hooks dx = { .ctx = vm, .end = debug_exit_end };
	int err;

	vm->debugexit = debugexit_create(&dx);
	vm->pic = vpic_create(NULL);
	if (!vm->debugexit || !vm->pic)
		return -ENOMEM;
	err = debugexit_register(vm->debugexit, &vm->pio);
	if (!err)
		err = vpic_register(vm->pic, &vm->pio);
	if (err || !vm->cfg.testdev)
		return err;
	vm->testdev = testdev_create();
	if (!vm->testdev)
		return -ENOMEM;
	return testdev_register(vm->testdev, &vm->pio, &vm->mmio);
}

void vm_reset_platform_devices(struct vm *vm)
{
	vpic_reset(vm->pic);
	if (vm->testdev)
		testdev_reset(vm->testdev);
}

void vm_free_platform_devices(struct vm *vm)
{
	debugexit_destroy(vm->debugexit);
	vpic_destroy(vm->pic);
	testdev_destroy(vm->testdev);
}
