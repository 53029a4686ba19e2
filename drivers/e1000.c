/*
 * Intel 8254x (e1000) NIC driver: legacy descriptors, one receive and one
 * transmit ring, interrupts. Register names and bits from the "PCI/PCI-X
 * Family of Gigabit Ethernet Controllers Software Developer's Manual"
 * (8254x SDM rev. 4.0): section 13 registers, 3.2/3.3 descriptors, 14 init.
 */
#include "drivers/netdev.h"
#include "drivers/pci.h"
#include "lib/string.h"
#include "asm/cpu.h"
#include "asm/lapic.h"
#include "asm/page.h"
#include "asm/time.h"
#include "mm/kmalloc.h"
#include "kernel/log.h"

#define E1000_VENDOR 0x8086

/* Registers (13.4). */
#define REG_CTRL 0x0000
#define REG_STATUS 0x0008
#define REG_EERD 0x0014
#define REG_ICR 0x00c0
#define REG_ITR 0x00c4
#define REG_IMS 0x00d0
#define REG_IMC 0x00d8
#define REG_RCTL 0x0100
#define REG_TCTL 0x0400
#define REG_TIPG 0x0410
#define REG_RDBAL 0x2800
#define REG_RDBAH 0x2804
#define REG_RDLEN 0x2808
#define REG_RDH 0x2810
#define REG_RDT 0x2818
#define REG_RDTR 0x2820
#define REG_TDBAL 0x3800
#define REG_TDBAH 0x3804
#define REG_TDLEN 0x3808
#define REG_TDH 0x3810
#define REG_TDT 0x3818
#define REG_MPC 0x4010 /* missed packets: no receive descriptor free */
#define REG_MTA 0x5200
#define REG_RAL0 0x5400
#define REG_RAH0 0x5404
#define MTA_ENTRIES 128

#define CTRL_LRST BIT(3)
#define CTRL_ASDE BIT(5)
#define CTRL_SLU BIT(6)
#define CTRL_ILOS BIT(7)
#define CTRL_RST BIT(26)
#define CTRL_VME BIT(30)
#define CTRL_PHY_RST BIT(31)
#define STATUS_LU BIT(1)
#define EERD_START BIT(0)
#define EERD_DONE BIT(4)
#define EERD_ADDR_SHIFT 8
#define EERD_DATA_SHIFT 16
#define RAH_AV BIT(31)

#define RCTL_EN BIT(1)
#define RCTL_BAM BIT(15)
#define RCTL_BSIZE_2048 0 /* BSIZE 00 with BSEX 0 */
#define RCTL_SECRC BIT(26)
#define TCTL_EN BIT(1)
#define TCTL_PSP BIT(3)
#define TCTL_CT_SHIFT 4
#define TCTL_COLD_SHIFT 12
#define TCTL_CT 0x0f     /* collision threshold (14.5) */
#define TCTL_COLD_FD 0x40 /* collision distance, full duplex */
/* Inter-packet gap for IEEE 802.3 on copper (13.4.34): IPGT 10, IPGR1 8, IPGR2 6. */
#define TIPG_DEFAULT (10u | 8u << 10 | 6u << 20)

/* Interrupt causes (13.4.17). */
#define ICR_TXDW BIT(0)
#define ICR_LSC BIT(2)
#define ICR_RXDMT0 BIT(4)
#define ICR_RXO BIT(6)
#define ICR_RXT0 BIT(7)
#define IMS_WANTED (ICR_TXDW | ICR_LSC | ICR_RXDMT0 | ICR_RXO | ICR_RXT0)

/* Legacy descriptors (3.2.3, 3.3.3). */
#define RXD_STAT_DD BIT(0)
#define RXD_STAT_EOP BIT(1)
#define TXD_CMD_EOP BIT(0)
#define TXD_CMD_IFCS BIT(1)
#define TXD_CMD_RS BIT(3)
#define TXD_STAT_DD BIT(0)

#define RX_RING 64 /* ring lengths must be multiples of 128 bytes = 8 descriptors */
#define TX_RING 64
#define BUF_SIZE 2048
#define RESET_WAIT_US 10000
#define EEPROM_WAIT_US 10000

struct rx_desc {
	u64 addr;
	u16 length;
	u16 csum;
	u8 status;
	u8 errors;
	u16 special;
} __packed;

struct tx_desc {
	u64 addr;
	u16 length;
	u8 cso;
	u8 cmd;
	u8 status;
	u8 css;
	u16 special;
} __packed;

_Static_assert(sizeof(struct rx_desc) == 16, "receive descriptor is 16 bytes");
_Static_assert(sizeof(struct tx_desc) == 16, "transmit descriptor is 16 bytes");

/* Rings and indices belong to the network thread; the IRQ handler only reads ICR. */
struct e1000 {
	struct netdev nd;
	volatile u8 *regs;
	struct rx_desc *rx;
	struct tx_desc *tx;
	u8 *rx_buf[RX_RING];
	u8 *tx_buf[TX_RING];
	unsigned rx_next;  /* next descriptor the NIC will complete */
	unsigned tx_tail;  /* next free transmit descriptor */
	unsigned tx_clean; /* oldest descriptor not yet reclaimed */
	u64 missed_seen;
};

static const struct {
	u16 device;
	const char *model;
} e1000_ids[] = {
	{ 0x100e, "82540EM" },
	{ 0x100f, "82545EM" },
	{ 0x1015, "82540EM-LOM" },
	{ 0x1017, "82545GM" },
	{ 0x10d3, "82574L" }, /* e1000e family; its legacy descriptors and registers match */
};

static u32 rd(struct e1000 *e, u32 reg) { return *(volatile u32 *)(e->regs + reg); }
static void wr(struct e1000 *e, u32 reg, u32 v) { *(volatile u32 *)(e->regs + reg) = v; }

/* Interrupt context: reading ICR acknowledges every cause and drops the line (13.4.17). */
static bool e1000_irq(void *ctx)
{
	struct e1000 *e = ctx;

	if (!rd(e, REG_ICR))
		return false;
	netdev_irq(&e->nd);
	return true;
}

static int eeprom_read(struct e1000 *e, u8 word, u16 *out)
{
	wr(e, REG_EERD, EERD_START | (u32)word << EERD_ADDR_SHIFT);
	for (int i = 0; i < EEPROM_WAIT_US; i++) {
		u32 v = rd(e, REG_EERD);

		if (v & EERD_DONE) {
			*out = (u16)(v >> EERD_DATA_SHIFT);
			return 0;
		}
		udelay(1);
	}
	return -ETIMEDOUT;
}

/* Receive address 0 when the NIC loaded it (AV), else words 0-2 of the EEPROM (5.6.1). */
static int read_mac(struct e1000 *e)
{
	u32 lo = rd(e, REG_RAL0), hi = rd(e, REG_RAH0);
	u8 *m = e->nd.mac;

	if (hi & RAH_AV) {
		for (int i = 0; i < 4; i++)
			m[i] = (u8)(lo >> (8 * i));
		m[4] = (u8)hi, m[5] = (u8)(hi >> 8);
		return 0;
	}
	for (u8 w = 0; w < 3; w++) {
		u16 v;

		if (eeprom_read(e, w, &v))
			return -EIO;
		m[2 * w] = (u8)v, m[2 * w + 1] = (u8)(v >> 8);
	}
	wr(e, REG_RAL0, m[0] | m[1] << 8 | m[2] << 16 | (u32)m[3] << 24);
	wr(e, REG_RAH0, m[4] | m[5] << 8 | RAH_AV);
	return 0;
}

static int reset(struct e1000 *e)
{
	wr(e, REG_IMC, ~0u);
	wr(e, REG_CTRL, rd(e, REG_CTRL) | CTRL_RST);
	udelay(10);
	for (int i = 0; rd(e, REG_CTRL) & CTRL_RST; i++) {
		if (i == RESET_WAIT_US)
			return -ETIMEDOUT;
		udelay(1);
	}
	wr(e, REG_IMC, ~0u);
	rd(e, REG_ICR);
	wr(e, REG_CTRL, (rd(e, REG_CTRL) | CTRL_SLU | CTRL_ASDE) &
				~(CTRL_LRST | CTRL_PHY_RST | CTRL_VME | CTRL_ILOS));
	return 0;
}

static int alloc_rings(struct e1000 *e)
{
	e->rx = kzalloc(RX_RING * sizeof(struct rx_desc));
	e->tx = kzalloc(TX_RING * sizeof(struct tx_desc));
	if (!e->rx || !e->tx)
		return -ENOMEM;
	for (int i = 0; i < RX_RING; i++) {
		e->rx_buf[i] = kmalloc(BUF_SIZE);
		if (!e->rx_buf[i])
			return -ENOMEM;
		e->rx[i].addr = virt_to_phys(e->rx_buf[i]);
	}
	for (int i = 0; i < TX_RING; i++) {
		e->tx_buf[i] = kmalloc(BUF_SIZE);
		if (!e->tx_buf[i])
			return -ENOMEM;
		e->tx[i].addr = virt_to_phys(e->tx_buf[i]);
	}
	return 0;
}

/* Receive and transmit set-up (14.4, 14.5), then interrupts on. */
static int e1000_open(struct netdev *nd)
{
	struct e1000 *e = nd->priv;
	u64 rx_pa = virt_to_phys(e->rx), tx_pa = virt_to_phys(e->tx);

	for (int i = 0; i < MTA_ENTRIES; i++)
		wr(e, REG_MTA + 4 * i, 0);
	wr(e, REG_RDBAL, (u32)rx_pa);
	wr(e, REG_RDBAH, (u32)(rx_pa >> 32));
	wr(e, REG_RDLEN, RX_RING * sizeof(struct rx_desc));
	wr(e, REG_RDH, 0);
	wr(e, REG_RDT, RX_RING - 1);
	wr(e, REG_RDTR, 0);
	wr(e, REG_RCTL, RCTL_EN | RCTL_BAM | RCTL_BSIZE_2048 | RCTL_SECRC);
	wr(e, REG_TDBAL, (u32)tx_pa);
	wr(e, REG_TDBAH, (u32)(tx_pa >> 32));
	wr(e, REG_TDLEN, TX_RING * sizeof(struct tx_desc));
	wr(e, REG_TDH, 0);
	wr(e, REG_TDT, 0);
	wr(e, REG_TCTL, TCTL_EN | TCTL_PSP | TCTL_CT << TCTL_CT_SHIFT |
				TCTL_COLD_FD << TCTL_COLD_SHIFT);
	wr(e, REG_TIPG, TIPG_DEFAULT);
	wr(e, REG_ITR, 0);
	rd(e, REG_ICR);
	wr(e, REG_IMS, IMS_WANTED);
	return 0;
}

static int e1000_xmit(struct netdev *nd, const struct netdev_frag *frags, int n)
{
	struct e1000 *e = nd->priv;
	unsigned t = e->tx_tail;
	size_t len = 0;
	u8 *buf;

	if ((t + 1) % TX_RING == e->tx_clean)
		return -EBUSY;
	buf = e->tx_buf[t];
	for (int i = 0; i < n; i++) {
		if (frags[i].len > ETH_FRAME_MAX - len)
			return -EINVAL;
		memcpy(buf + len, frags[i].data, frags[i].len);
		len += frags[i].len;
	}
	e->tx[t].length = (u16)len;
	e->tx[t].cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
	e->tx[t].status = 0;
	e->tx_tail = (t + 1) % TX_RING;
	barrier(); /* descriptor before the tail: x86 keeps stores in order */
	wr(e, REG_TDT, e->tx_tail);
	nd->stats.tx_packets++;
	nd->stats.tx_bytes += len;
	return 0;
}

static void reclaim_tx(struct e1000 *e)
{
	while (e->tx_clean != e->tx_tail) {
		struct tx_desc *d = &e->tx[e->tx_clean];

		if (!(READ_ONCE(d->status) & TXD_STAT_DD))
			break;
		d->status = 0;
		e->tx_clean = (e->tx_clean + 1) % TX_RING;
	}
}

static int e1000_poll(struct netdev *nd, int budget)
{
	struct e1000 *e = nd->priv;
	int got = 0;
	u64 missed;

	reclaim_tx(e);
	while (got < budget) {
		struct rx_desc *d = &e->rx[e->rx_next];
		u8 st = READ_ONCE(d->status);

		if (!(st & RXD_STAT_DD))
			break;
		barrier(); /* status before the data it covers */
		if ((st & RXD_STAT_EOP) && !d->errors && d->length >= 14 &&
		    d->length <= ETH_FRAME_MAX) {
			nd->stats.rx_packets++;
			nd->stats.rx_bytes += d->length;
			nd->rx(nd, e->rx_buf[e->rx_next], d->length);
		} else {
			nd->stats.rx_errors++;
		}
		d->status = 0;
		wr(e, REG_RDT, e->rx_next);
		e->rx_next = (e->rx_next + 1) % RX_RING;
		got++;
	}
	missed = rd(e, REG_MPC); /* statistics registers clear on read */
	nd->stats.rx_dropped += missed;
	return got;
}

static bool e1000_link_up(struct netdev *nd)
{
	struct e1000 *e = nd->priv;

	return rd(e, REG_STATUS) & STATUS_LU;
}

static const struct netdev_ops e1000_ops = {
	.open = e1000_open,
	.xmit = e1000_xmit,
	.poll = e1000_poll,
	.link_up = e1000_link_up,
};

static int attach(struct pci_dev *pd, const char *model)
{
	struct e1000 *e = kzalloc(sizeof(*e));
	char addr[16];
	int err;

	pci_format_addr(pd, addr, sizeof(addr));
	if (!e)
		return -ENOMEM;
	pci_enable(pd);
	e->regs = pci_map_bar(pd, 0, 0x20000);
	err = e->regs ? reset(e) : -ENODEV;
	if (!err)
		err = read_mac(e);
	if (!err)
		err = alloc_rings(e);
	if (err) {
		pr_err("e1000: %s (%s): set-up failed (%d)\n", addr, model, err);
		return err; /* e and its buffers stay allocated: a rare boot-time failure */
	}
	e->nd.driver = "e1000";
	e->nd.pci = pd;
	e->nd.ops = &e1000_ops;
	e->nd.priv = e;
	err = pci_request_irq(pd, e1000_irq, e, lapic_id(), &e->nd.irq_kind, &e->nd.irq_vector);
	if (err) {
		pr_warn("e1000: %s: no interrupt (%d): polled\n", addr, err);
		e->nd.irq_kind = "polled";
	}
	pd->claimed = true;
	if (netdev_register(&e->nd))
		return -ENOSPC;
	pr_info("e1000: %s %s at %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, %s vector %#x\n",
		e->nd.name, model, addr, e->nd.mac[0], e->nd.mac[1], e->nd.mac[2], e->nd.mac[3],
		e->nd.mac[4], e->nd.mac[5], e->nd.irq_kind, e->nd.irq_vector);
	return 0;
}

int e1000_probe(void)
{
	int found = 0;

	for (size_t i = 0; i < ARRAY_SIZE(e1000_ids); i++) {
		struct pci_dev *pd;
		int pos = 0;

		while ((pd = pci_find(E1000_VENDOR, e1000_ids[i].device, &pos)))
			if (attach(pd, e1000_ids[i].model) == 0)
				found++;
	}
	return found;
}
