/* Port-I/O and MMIO buses of a VM: devices register ranges, exits are routed to them. */
#ifndef HV_HV_IOBUS_H
#define HV_HV_IOBUS_H

#include "hv/types.h"

struct vcpu;

/*
 * A device's access functions. `offset` is relative to the registered base;
 * size is 1, 2, 4 (ports) or 1, 2, 4, 8 (MMIO). Reads fill *val (zero-extended).
 * Return 0, or a negative error to stop the VM (a device that cannot go on).
 * Called on the vCPU thread of the accessing vCPU; a device shared by vCPUs
 * locks itself.
 */
struct io_ops {
	int (*read)(void *dev, struct vcpu *v, u64 offset, u8 size, u64 *val);
	int (*write)(void *dev, struct vcpu *v, u64 offset, u8 size, u64 val);
};

struct io_range {
	u64 base;
	u64 len;
	const struct io_ops *ops;
	void *dev;
	const char *name;
};

#define IOBUS_MAX_RANGES 32

/* Ranges are registered before the VM runs and not changed while it runs. */
struct io_bus {
	u32 nr;
	struct io_range r[IOBUS_MAX_RANGES];
	u64 unclaimed;          /* accesses nobody claimed */
	u64 last_unclaimed;     /* address of the last one */
};

void io_bus_init(struct io_bus *bus);
/* Add [base, base+len); -EEXIST on overlap, -ENOSPC when full, -EINVAL for len 0. */
int io_bus_register(struct io_bus *bus, u64 base, u64 len, const struct io_ops *ops, void *dev,
		    const char *name);
/* The range holding [addr, addr+size), or NULL. */
const struct io_range *io_bus_find(const struct io_bus *bus, u64 addr, u8 size);

/*
 * Dispatch one access. Unclaimed: reads give all ones, writes are dropped;
 * both are counted and the first one per bus is logged. Returns the device's
 * error, else 0.
 */
int io_bus_read(struct io_bus *bus, struct vcpu *v, u64 addr, u8 size, u64 *val);
int io_bus_write(struct io_bus *bus, struct vcpu *v, u64 addr, u8 size, u64 val);

#endif
