/* Host network interfaces: the small interface between NIC drivers and the network stack. */
#ifndef HV_DRIVERS_NETDEV_H
#define HV_DRIVERS_NETDEV_H

#include "lib/types.h"

#define NETDEV_MAX 4
#define ETH_ALEN 6
#define ETH_FRAME_MAX 1514 /* without the FCS, which the NIC adds and strips */
#define ETH_FRAME_MIN 60

struct netdev;
struct pci_dev;

/*
 * Counters. Written by the stack's thread (and `irqs` by the interrupt
 * handler), read by anyone: u64 stores are atomic on x86-64, a reader sees
 * each counter consistent but not all of them at one instant.
 */
struct netdev_stats {
	u64 rx_packets, rx_bytes, rx_errors, rx_dropped;
	u64 tx_packets, tx_bytes, tx_errors, tx_busy;
	u64 irqs;
};

/* A piece of a frame to send (the stack's buffers are chains). */
struct netdev_frag {
	const void *data;
	size_t len;
};

/*
 * What a driver implements. All but `irq` run in the stack's one thread (no
 * locking between them is needed); none sleeps.
 */
struct netdev_ops {
	/* Start receiving and sending, enable interrupts. 0 or -EXXX. */
	int (*open)(struct netdev *nd);
	/*
	 * Queue one frame made of `n` fragments (copied; total 14..1514 bytes).
	 * 0, -EBUSY when the transmit ring is full, -EINVAL for a bad length.
	 */
	int (*xmit)(struct netdev *nd, const struct netdev_frag *frags, int n);
	/*
	 * Reclaim sent frames and hand up to `budget` received frames to
	 * nd->rx(); returns how many were received.
	 */
	int (*poll)(struct netdev *nd, int budget);
	/* Link state as the NIC reports it now. */
	bool (*link_up)(struct netdev *nd);
};

/*
 * One interface. The driver fills name..priv before netdev_register(); the
 * stack sets rx, notify and stack_ctx before open().
 */
struct netdev {
	char name[8];          /* "eth0" */
	const char *driver;    /* "e1000", "virtio-net" */
	u8 mac[ETH_ALEN];
	struct pci_dev *pci;
	const struct netdev_ops *ops;
	void *priv;
	const char *irq_kind;  /* "MSI", "INTx", or "polled" */
	u8 irq_vector;
	struct netdev_stats stats;
	/* A received frame (valid during the call only). */
	void (*rx)(struct netdev *nd, const void *frame, size_t len);
	/* Called from the interrupt handler after it acknowledged the NIC. */
	void (*notify)(struct netdev *nd);
	void *stack_ctx;
};

/*
 * Probe every known driver against the PCI functions found by pci_init().
 * Returns the number of interfaces registered. Boot CPU, once.
 */
int netdev_probe_all(void);
/* Give the device a name and add it to the list; -ENOSPC when NETDEV_MAX are there. */
int netdev_register(struct netdev *nd);
/* The i-th registered interface, or NULL. */
struct netdev *netdev_get(int i);
int netdev_count(void);

/*
 * From a driver's interrupt handler: count it and tell the stack (which
 * wakes its thread). Interrupt context.
 */
void netdev_irq(struct netdev *nd);

/* Drivers: probe functions tried by netdev_probe_all (0: nothing found). */
int e1000_probe(void);
int virtio_net_probe(void);

#endif
