/* Test-guest runtime: the test device's register map from hv/dev/testdev.h (one source of truth). */
#ifndef GUEST_RT_TESTDEV_H
#define GUEST_RT_TESTDEV_H

#include "lib/types.h"

/*
 * hv/dev/testdev.h is a hypervisor header: keep its 64-bit host dependencies
 * (the spinlock and I/O bus headers) out of 32-bit guest code by defining
 * their include guards first. Only its constants are used here.
 */
#define HV_ASM_SPINLOCK_H
#define HV_HV_IOBUS_H
struct spinlock {
	u32 unused;
};
struct io_bus;
struct io_ops;
#include "hv/dev/testdev.h"

#endif
