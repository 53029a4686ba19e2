/*
 * virtio-net over PCI through the legacy (transitional) I/O-port interface:
 * Virtio 1.0 spec 4.1.4.8 (legacy register layout), 2.4 (split virtqueues,
 * legacy layout 2.4.2), 3.1 (initialization), 5.1 (network device).
 */
#include "drivers/netdev.h"
#include "drivers/pci.h"
#include "lib/string.h"
#include "asm/io.h"
#include "asm/lapic.h"
#include "asm/page.h"
#include "mm/kmalloc.h"
#include "kernel/log.h"

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_NET_LEGACY_ID 0x1000 /* transitional network device */
#define VIRTIO_NET_MODERN_ID 0x1041

/* Legacy registers in BAR0 (4.1.4.8), device config follows at 0x14 without MSI-X. */
#define VIO_DEVICE_FEATURES 0x00
#define VIO_GUEST_FEATURES 0x04
#define VIO_QUEUE_PFN 0x08
#define VIO_QUEUE_SIZE 0x0c
#define VIO_QUEUE_SELECT 0x0e
#define VIO_QUEUE_NOTIFY 0x10
#define VIO_STATUS 0x12
#define VIO_ISR 0x13
#define VIO_NET_MAC 0x14
#define VIO_NET_STATUS 0x1a
#define VIO_LEGACY_PFN_SHIFT 12
#define VIO_LEGACY_ALIGN 4096

#define STATUS_ACKNOWLEDGE BIT(0)
#define STATUS_DRIVER BIT(1)
#define STATUS_DRIVER_OK BIT(2)
#define STATUS_FAILED BIT(7)
#define ISR_QUEUE BIT(0)
#define ISR_CONFIG BIT(1)

#define NET_F_MAC BIT(5)
#define NET_F_STATUS BIT(16)
#define NET_S_LINK_UP BIT(0)

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2

#define RXQ 0
#define TXQ 1
#define MAX_BUFS 64     /* frames in flight per queue (each uses two descriptors) */
#define BUF_SIZE 2048
#define QUEUE_MAX 32768 /* legacy queue sizes are powers of two up to 32768 */

/* The legacy header without mergeable buffers (5.1.6): 10 bytes, all zero on transmit. */
struct virtio_net_hdr {
	u8 flags;
	u8 gso_type;
	u16 hdr_len;
	u16 gso_size;
	u16 csum_start;
	u16 csum_offset;
} __packed;

struct vring_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
} __packed;

struct vring_used_elem {
	u32 id;
	u32 len;
} __packed;

_Static_assert(sizeof(struct virtio_net_hdr) == 10, "legacy net header is 10 bytes");
_Static_assert(sizeof(struct vring_desc) == 16, "descriptor is 16 bytes");

/* One split virtqueue in the legacy layout; touched by the network thread only. */
struct vq {
	u16 size;
	struct vring_desc *desc;
	volatile u16 *avail;    /* flags, idx, ring[size] */
	volatile u16 *used_hdr; /* flags, idx */
	volatile struct vring_used_elem *used;
	u16 avail_idx;  /* our copy of avail->idx */
	u16 used_seen;  /* used->idx already processed */
	u16 in_flight;
};

struct virtio_net {
	struct netdev nd;
	u16 io;
	bool has_status;
	struct vq q[2];
	u8 *buf[2][MAX_BUFS];            /* frame buffers: rx and tx */
	struct virtio_net_hdr *hdr[2];   /* MAX_BUFS headers per queue */
	u16 tx_free[MAX_BUFS];           /* free transmit slots (stack) */
	u16 nr_tx_free;
};

static bool virtio_net_irq(void *ctx)
{
	struct virtio_net *v = ctx;

	/* Reading ISR acknowledges the interrupt and drops the INTx line (4.1.4.5). */
	if (!(inb(v->io + VIO_ISR) & (ISR_QUEUE | ISR_CONFIG)))
		return false;
	netdev_irq(&v->nd);
	return true;
}

static int vq_setup(struct virtio_net *v, int qi)
{
	struct vq *q = &v->q[qi];
	size_t desc_sz, avail_sz, used_off, total;
	u8 *mem;

	outw(v->io + VIO_QUEUE_SELECT, (u16)qi);
	q->size = inw(v->io + VIO_QUEUE_SIZE);
	if (q->size < 2 * MAX_BUFS || q->size > QUEUE_MAX || (q->size & (q->size - 1)))
		return -ENODEV;
	desc_sz = 16u * q->size;
	avail_sz = 6u + 2u * q->size;
	used_off = ALIGN_UP(desc_sz + avail_sz, VIO_LEGACY_ALIGN);
	total = used_off + 6u + 8u * q->size;
	mem = kzalloc(ALIGN_UP(total, PAGE_SIZE));
	if (!mem)
		return -ENOMEM;
	q->desc = (struct vring_desc *)mem;
	q->avail = (volatile u16 *)(mem + desc_sz);
	q->used_hdr = (volatile u16 *)(mem + used_off);
	q->used = (volatile struct vring_used_elem *)(mem + used_off + 4);
	outl(v->io + VIO_QUEUE_PFN, (u32)(virt_to_phys(mem) >> VIO_LEGACY_PFN_SHIFT));
	return 0;
}

/* Make the chain at descriptor 2*slot (header, then frame) available to the device. */
static void vq_publish(struct virtio_net *v, int qi, u16 slot)
{
	struct vq *q = &v->q[qi];

	q->avail[2 + q->avail_idx % q->size] = (u16)(2 * slot);
	barrier(); /* ring entry before the index (x86 keeps stores in order) */
	q->avail_idx++;
	q->avail[1] = q->avail_idx;
	q->in_flight++;
}

static void fill_chain(struct virtio_net *v, int qi, u16 slot, u32 len, bool writable)
{
	struct vring_desc *d = &v->q[qi].desc[2 * slot];
	u16 w = writable ? VRING_DESC_F_WRITE : 0;

	d[0].addr = virt_to_phys(&v->hdr[qi][slot]);
	d[0].len = sizeof(struct virtio_net_hdr);
	d[0].flags = VRING_DESC_F_NEXT | w;
	d[0].next = (u16)(2 * slot + 1);
	d[1].addr = virt_to_phys(v->buf[qi][slot]);
	d[1].len = len;
	d[1].flags = w;
	d[1].next = 0;
}

static int alloc_bufs(struct virtio_net *v)
{
	for (int qi = 0; qi < 2; qi++) {
		v->hdr[qi] = kzalloc(MAX_BUFS * sizeof(struct virtio_net_hdr));
		if (!v->hdr[qi])
			return -ENOMEM;
		for (int i = 0; i < MAX_BUFS; i++) {
			v->buf[qi][i] = kmalloc(BUF_SIZE);
			if (!v->buf[qi][i])
				return -ENOMEM;
		}
	}
	for (u16 i = 0; i < MAX_BUFS; i++)
		v->tx_free[v->nr_tx_free++] = (u16)(MAX_BUFS - 1 - i);
	return 0;
}

static int virtio_net_open(struct netdev *nd)
{
	struct virtio_net *v = nd->priv;

	for (u16 i = 0; i < MAX_BUFS; i++) {
		fill_chain(v, RXQ, i, BUF_SIZE, true);
		vq_publish(v, RXQ, i);
	}
	outb(v->io + VIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_DRIVER_OK);
	outw(v->io + VIO_QUEUE_NOTIFY, RXQ);
	return 0;
}

static int virtio_net_xmit(struct netdev *nd, const struct netdev_frag *frags, int n)
{
	struct virtio_net *v = nd->priv;
	size_t len = 0;
	u16 slot;
	u8 *buf;

	if (!v->nr_tx_free)
		return -EBUSY;
	slot = v->tx_free[v->nr_tx_free - 1];
	buf = v->buf[TXQ][slot];
	for (int i = 0; i < n; i++) {
		if (frags[i].len > ETH_FRAME_MAX - len)
			return -EINVAL;
		memcpy(buf + len, frags[i].data, frags[i].len);
		len += frags[i].len;
	}
	v->nr_tx_free--;
	memset(&v->hdr[TXQ][slot], 0, sizeof(struct virtio_net_hdr));
	fill_chain(v, TXQ, slot, (u32)len, false);
	vq_publish(v, TXQ, slot);
	outw(v->io + VIO_QUEUE_NOTIFY, TXQ);
	nd->stats.tx_packets++;
	nd->stats.tx_bytes += len;
	return 0;
}

/* Next used element of queue qi, or false when the device has returned nothing new. */
static bool vq_next_used(struct virtio_net *v, int qi, u32 *id, u32 *len)
{
	struct vq *q = &v->q[qi];
	volatile struct vring_used_elem *e;

	if (q->used_hdr[1] == q->used_seen)
		return false;
	barrier(); /* index before the element it covers */
	e = &q->used[q->used_seen % q->size];
	*id = e->id;
	*len = e->len;
	q->used_seen++;
	q->in_flight--;
	return true;
}

static int virtio_net_poll(struct netdev *nd, int budget)
{
	struct virtio_net *v = nd->priv;
	u32 id, len;
	int got = 0;

	while (vq_next_used(v, TXQ, &id, &len))
		if (id % 2 == 0 && id / 2 < MAX_BUFS && v->nr_tx_free < MAX_BUFS)
			v->tx_free[v->nr_tx_free++] = (u16)(id / 2);
	while (got < budget && vq_next_used(v, RXQ, &id, &len)) {
		u16 slot = (u16)(id / 2);

		got++;
		if (id % 2 || slot >= MAX_BUFS) {
			nd->stats.rx_errors++; /* a device bug: that buffer is lost */
			continue;
		}
		len = len > sizeof(struct virtio_net_hdr) ? len - sizeof(struct virtio_net_hdr) : 0;
		if (len >= 14 && len <= ETH_FRAME_MAX) {
			nd->stats.rx_packets++;
			nd->stats.rx_bytes += len;
			nd->rx(nd, v->buf[RXQ][slot], len);
		} else {
			nd->stats.rx_errors++;
		}
		fill_chain(v, RXQ, slot, BUF_SIZE, true);
		vq_publish(v, RXQ, slot);
	}
	if (got)
		outw(v->io + VIO_QUEUE_NOTIFY, RXQ);
	return got;
}

static bool virtio_net_link_up(struct netdev *nd)
{
	struct virtio_net *v = nd->priv;

	return !v->has_status || (inw(v->io + VIO_NET_STATUS) & NET_S_LINK_UP);
}

static const struct netdev_ops virtio_net_ops = {
	.open = virtio_net_open,
	.xmit = virtio_net_xmit,
	.poll = virtio_net_poll,
	.link_up = virtio_net_link_up,
};

/* Reset, negotiate features, queues (3.1.1 with the legacy differences of 3.1.2). */
static int init_device(struct virtio_net *v)
{
	u32 features, wanted;
	int err;

	outb(v->io + VIO_STATUS, 0);
	outb(v->io + VIO_STATUS, STATUS_ACKNOWLEDGE);
	outb(v->io + VIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
	features = inl(v->io + VIO_DEVICE_FEATURES);
	wanted = features & (NET_F_MAC | NET_F_STATUS);
	outl(v->io + VIO_GUEST_FEATURES, wanted);
	v->has_status = wanted & NET_F_STATUS;
	if (!(wanted & NET_F_MAC))
		return -ENODEV; /* no address to use: nothing sensible to do */
	for (int i = 0; i < ETH_ALEN; i++)
		v->nd.mac[i] = inb(v->io + VIO_NET_MAC + i);
	err = vq_setup(v, RXQ);
	if (!err)
		err = vq_setup(v, TXQ);
	if (!err)
		err = alloc_bufs(v);
	if (err)
		outb(v->io + VIO_STATUS, STATUS_FAILED);
	return err;
}

static int attach(struct pci_dev *pd)
{
	struct virtio_net *v;
	char addr[16];
	int err;

	pci_format_addr(pd, addr, sizeof(addr));
	if (!pd->bars[0].is_io || pd->bars[0].size < 0x20) {
		pr_warn("virtio-net: %s has no legacy I/O BAR: not supported\n", addr);
		return -ENODEV;
	}
	v = kzalloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->io = (u16)pd->bars[0].base;
	pci_enable(pd);
	err = init_device(v);
	if (err) {
		pr_err("virtio-net: %s: set-up failed (%d)\n", addr, err);
		return err;
	}
	v->nd.driver = "virtio-net";
	v->nd.pci = pd;
	v->nd.ops = &virtio_net_ops;
	v->nd.priv = v;
	/* INTx (the device has MSI-X only, which would move the device config: 4.1.4.8). */
	err = pci_request_irq(pd, virtio_net_irq, v, lapic_id(), &v->nd.irq_kind,
			      &v->nd.irq_vector);
	if (err) {
		pr_warn("virtio-net: %s: no interrupt (%d): polled\n", addr, err);
		v->nd.irq_kind = "polled";
	}
	pd->claimed = true;
	if (netdev_register(&v->nd))
		return -ENOSPC;
	pr_info("virtio-net: %s at %s (legacy I/O %#x), MAC %02x:%02x:%02x:%02x:%02x:%02x, "
		"%s vector %#x\n", v->nd.name, addr, v->io, v->nd.mac[0], v->nd.mac[1],
		v->nd.mac[2], v->nd.mac[3], v->nd.mac[4], v->nd.mac[5], v->nd.irq_kind,
		v->nd.irq_vector);
	return 0;
}

int virtio_net_probe(void)
{
	struct pci_dev *pd;
	int pos = 0, found = 0;

	while ((pd = pci_find(VIRTIO_VENDOR, VIRTIO_NET_LEGACY_ID, &pos)))
		if (attach(pd) == 0)
			found++;
	pos = 0;
	while ((pd = pci_find(VIRTIO_VENDOR, VIRTIO_NET_MODERN_ID, &pos)))
		pr_warn("virtio-net: modern-only device %02x:%02x.%u not supported (needs the "
			"legacy interface)\n", pd->bus, pd->dev, pd->fn);
	return found;
}
