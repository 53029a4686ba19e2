/* Debug-exit port (QEMU isa-debug-exit): a write ends the VM with status (value << 1) | 1. */
#include "hv/dev/debugexit.h"
#include "mm/kmalloc.h"

static int debugexit_read(void *dev, struct vcpu *v, u64 offset, u8 size, u64 *val)
{
	*val = size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	return 0;
}

/* Any write at any offset of the range ends the VM, as QEMU's device does. */
static int debugexit_write(void *dev, struct vcpu *v, u64 offset, u8 size, u64 val)
{
	struct debugexit *d = dev;
	u32 value = (u32)(size >= 4 ? val : val & ((1ULL << (8 * size)) - 1));

	__atomic_fetch_add(&d->writes, 1, __ATOMIC_RELAXED);
	if (d->hooks.end)
		d->hooks.end(d->hooks.ctx, value, debugexit_status(value));
	return 0;
}

const struct io_ops debugexit_io_ops = {
	.read = debugexit_read,
	.write = debugexit_write,
};

struct debugexit *debugexit_create(const struct debugexit_hooks *hooks)
{
	struct debugexit *d = kzalloc(sizeof(*d));

	if (d && hooks)
		d->hooks = *hooks;
	return d;
}

void debugexit_destroy(struct debugexit *d) { kfree(d); }

int debugexit_register(struct debugexit *d, struct io_bus *pio)
{
	return io_bus_register(pio, DEBUGEXIT_PORT, DEBUGEXIT_NR_PORTS, &debugexit_io_ops, d,
			       "debug-exit");
}
