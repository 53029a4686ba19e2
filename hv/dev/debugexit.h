/* Debug-exit port with QEMU isa-debug-exit semantics: a guest ends its own VM with a status. */
#ifndef HV_HV_DEV_DEBUGEXIT_H
#define HV_HV_DEV_DEBUGEXIT_H

#include "lib/types.h"
#include "hv/iobus.h"

#define DEBUGEXIT_PORT 0xf4
#define DEBUGEXIT_NR_PORTS 4   /* as QEMU's -device isa-debug-exit,iobase=0xf4,iosize=4 */

/* What writing v means: the VM ends with this status ((v << 1) | 1, never 0). */
static inline u64 debugexit_status(u32 value) { return ((u64)value << 1) | 1; }

/*
 * end: the guest wrote `value` (zero-extended from the access size); the VM
 * should stop with `status` = debugexit_status(value). Called on the
 * writing vCPU's thread, no lock held. The core sets vm->exit_status and
 * calls vm_end(vm, VM_STOPPED, "debug-exit: guest wrote %#x (status %llu)").
 */
struct debugexit_hooks {
	void *ctx;
	void (*end)(void *ctx, u32 value, u64 status);
};

struct debugexit {
	struct debugexit_hooks hooks;
	u64 writes;     /* writes seen (atomic) */
};

/* Port ops for [DEBUGEXIT_PORT, +DEBUGEXIT_NR_PORTS): writes of 1, 2 or 4 bytes end the VM; reads give all ones. */
extern const struct io_ops debugexit_io_ops;

struct debugexit *debugexit_create(const struct debugexit_hooks *hooks);
void debugexit_destroy(struct debugexit *d);
/* Register the port on a VM's port bus. 0 or io_bus_register's error. */
int debugexit_register(struct debugexit *d, struct io_bus *pio);

#endif
