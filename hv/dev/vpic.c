/* Virtual dual 8259A: initialization words, masks, IRR/ISR, priorities and rotation, EOI, INTA, poll. */
#include "hv/dev/vpic.h"
#include "mm/kmalloc.h"

#define ICW1_IC4 BIT(0)     /* ICW4 follows */
#define ICW1_SNGL BIT(1)    /* single PIC, no ICW3 */
#define ICW1_LTIM BIT(3)    /* level-triggered inputs */
#define ICW1_INIT BIT(4)    /* a command-port write with this bit is ICW1 */
#define OCW3_SELECT BIT(3)  /* command-port write with bit 4 clear: OCW3, else OCW2 */
#define OCW3_RIS BIT(0)
#define OCW3_RR BIT(1)
#define OCW3_POLL BIT(2)
#define OCW3_SMM BIT(5)
#define OCW3_ESMM BIT(6)
#define ICW4_AEOI BIT(1)
#define ICW4_SFNM BIT(4)

enum ocw2_cmd {
	OCW2_ROTATE_AEOI_CLEAR = 0,
	OCW2_EOI = 1,
	OCW2_NOP = 2,
	OCW2_SPECIFIC_EOI = 3,
	OCW2_ROTATE_AEOI_SET = 4,
	OCW2_ROTATE_EOI = 5,
	OCW2_SET_PRIORITY = 6,
	OCW2_ROTATE_SPECIFIC_EOI = 7,
};

static bool is_level(const struct vpic_chip *c, u32 irq) { return c->ltim || (c->elcr & BIT(irq)); }

/* Priority rank (0 = highest) of the best input in `mask`, 8 if none. */
static u32 best_rank(const struct vpic_chip *c, u8 mask)
{
	for (u32 rank = 0; rank < 8; rank++)
		if (mask & BIT((rank + c->priority_add) & 7))
			return rank;
	return 8;
}

/* The input this chip would signal: unmasked, requested and above what is in service. */
static int chip_request(const struct vpic_chip *c, bool is_master)
{
	u32 req = best_rank(c, c->irr & ~c->imr);
	u8 in_service = c->isr;

	if (req == 8)
		return -1;
	/* Special mask mode: masked inputs in service do not block others. */
	if (c->special_mask)
		in_service &= ~c->imr;
	/* Special fully nested: the slave may interrupt its own in-service request. */
	if (is_master && c->special_fully_nested)
		in_service &= ~BIT(VPIC_CASCADE_IRQ);
	if (req >= best_rank(c, in_service))
		return -1;
	return (int)((req + c->priority_add) & 7);
}

static void chip_set_input(struct vpic_chip *c, u32 irq, bool level)
{
	u8 bit = BIT(irq);

	if (is_level(c, irq)) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= ~bit;
	} else if (level && !(c->last_line & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->last_line |= bit;
	else
		c->last_line &= ~bit;
}

/*
 * Cascade the slave into master input 2 and drive INTR. Lock held. The
 * cascade request follows the slave's INT level (so a slave request that
 * goes away before INTA leaves nothing behind); IRQ 2 has no device on a PC.
 */
static void update_output(struct vpic *p)
{
	bool out;

	if (chip_request(&p->chip[1], false) >= 0)
		p->chip[0].irr |= BIT(VPIC_CASCADE_IRQ);
	else
		p->chip[0].irr &= ~BIT(VPIC_CASCADE_IRQ);
	out = chip_request(&p->chip[0], true) >= 0;
	if (out == p->output)
		return;
	p->output = out;
	if (p->hooks.set_output)
		p->hooks.set_output(p->hooks.ctx, out);
}

/* Acknowledge `irq` on one chip: in service unless auto-EOI; edge requests are consumed. */
static void chip_ack(struct vpic_chip *c, u32 irq)
{
	if (c->auto_eoi) {
		if (c->rotate_on_aeoi)
			c->priority_add = (irq + 1) & 7;
	} else {
		c->isr |= BIT(irq);
	}
	/* A level request stays in IRR while its line is high. */
	if (!is_level(c, irq))
		c->irr &= ~BIT(irq);
}

static u8 ack_locked(struct vpic *p)
{
	int irq = chip_request(&p->chip[0], true);
	int slave_irq;
	u8 vector;

	if (irq < 0) /* spurious: IRQ 7, nothing goes in service */
		return p->chip[0].vector_base + 7;
	chip_ack(&p->chip[0], (u32)irq);
	if (irq != VPIC_CASCADE_IRQ) {
		vector = p->chip[0].vector_base + (u8)irq;
	} else {
		slave_irq = chip_request(&p->chip[1], false);
		if (slave_irq >= 0)
			chip_ack(&p->chip[1], (u32)slave_irq);
		else
			slave_irq = 7;
		vector = p->chip[1].vector_base + (u8)slave_irq;
	}
	update_output(p);
	return vector;
}

/* ICW1: start initialization (8259A data sheet, "initialization command words"). */
static void write_icw1(struct vpic_chip *c, u8 val)
{
	c->irr = c->isr = c->imr = 0;
	c->last_line = 0;
	c->priority_add = 0;
	c->special_mask = c->read_isr = c->poll = false;
	c->auto_eoi = c->rotate_on_aeoi = c->special_fully_nested = false;
	c->icw4_needed = val & ICW1_IC4;
	c->single = val & ICW1_SNGL;
	c->ltim = val & ICW1_LTIM;
	c->init_step = 2;
}

static void write_ocw2(struct vpic_chip *c, u8 val)
{
	u32 irq = val & 7, rank;

	switch ((enum ocw2_cmd)(val >> 5)) {
	case OCW2_ROTATE_AEOI_CLEAR:
	case OCW2_ROTATE_AEOI_SET:
		c->rotate_on_aeoi = (val >> 5) == OCW2_ROTATE_AEOI_SET;
		break;
	case OCW2_EOI:
	case OCW2_ROTATE_EOI:
		rank = best_rank(c, c->isr);
		if (rank == 8)
			break;
		irq = (rank + c->priority_add) & 7;
		c->isr &= ~BIT(irq);
		if ((val >> 5) == OCW2_ROTATE_EOI)
			c->priority_add = (irq + 1) & 7;
		break;
	case OCW2_SPECIFIC_EOI:
		c->isr &= ~BIT(irq);
		break;
	case OCW2_ROTATE_SPECIFIC_EOI:
		c->isr &= ~BIT(irq);
		c->priority_add = (irq + 1) & 7;
		break;
	case OCW2_SET_PRIORITY: /* irq becomes the lowest priority */
		c->priority_add = (irq + 1) & 7;
		break;
	case OCW2_NOP:
		break;
	}
}

static void write_command(struct vpic_chip *c, u8 val)
{
	if (val & ICW1_INIT) {
		write_icw1(c, val);
	} else if (val & OCW3_SELECT) {
		if (val & OCW3_POLL)
			c->poll = true;
		if (val & OCW3_RR)
			c->read_isr = val & OCW3_RIS;
		if (val & OCW3_ESMM)
			c->special_mask = val & OCW3_SMM;
	} else {
		write_ocw2(c, val);
	}
}

static void write_data(struct vpic_chip *c, u8 val)
{
	switch (c->init_step) {
	case 2:
		c->vector_base = val & 0xf8;
		c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
		break;
	case 3:
		c->icw3 = val;
		c->init_step = c->icw4_needed ? 4 : 0;
		break;
	case 4:
		c->auto_eoi = val & ICW4_AEOI;
		c->special_fully_nested = val & ICW4_SFNM;
		c->init_step = 0;
		break;
	default: /* OCW1 */
		c->imr = val;
		break;
	}
}

/* Poll command: the read is an interrupt acknowledge on this chip (0x80 | irq), or 0. */
static u8 poll_read(struct vpic *p, u32 idx)
{
	struct vpic_chip *c = &p->chip[idx];
	int irq = chip_request(c, idx == 0);

	c->poll = false;
	if (irq < 0)
		return 0;
	chip_ack(c, (u32)irq);
	return 0x80 | (u8)irq;
}

static int chip_of(u16 port)
{
	if ((port & ~1) == VPIC_MASTER_BASE)
		return 0;
	if ((port & ~1) == VPIC_SLAVE_BASE)
		return 1;
	return -1;
}

u8 vpic_read(struct vpic *p, u16 port)
{
	u64 f = spin_lock_irqsave(&p->lock);
	int idx = chip_of(port);
	u8 v = 0xff;

	if (idx >= 0) {
		struct vpic_chip *c = &p->chip[idx];

		if (port & 1)
			v = c->imr;
		else if (c->poll)
			v = poll_read(p, (u32)idx);
		else
			v = c->read_isr ? c->isr : c->irr;
	} else if (port == VPIC_ELCR_BASE || port == VPIC_ELCR_BASE + 1) {
		v = p->chip[port - VPIC_ELCR_BASE].elcr;
	}
	update_output(p);
	spin_unlock_irqrestore(&p->lock, f);
	return v;
}

void vpic_write(struct vpic *p, u16 port, u8 val)
{
	u64 f = spin_lock_irqsave(&p->lock);
	int idx = chip_of(port);

	if (idx >= 0) {
		if (port & 1)
			write_data(&p->chip[idx], val);
		else
			write_command(&p->chip[idx], val);
	} else if (port == VPIC_ELCR_BASE || port == VPIC_ELCR_BASE + 1) {
		struct vpic_chip *c = &p->chip[port - VPIC_ELCR_BASE];

		c->elcr = val & c->elcr_mask;
	}
	update_output(p);
	spin_unlock_irqrestore(&p->lock, f);
}

void vpic_set_irq(struct vpic *p, u32 irq, bool level)
{
	u64 f;

	if (irq >= VPIC_NR_IRQS)
		return;
	f = spin_lock_irqsave(&p->lock);
	chip_set_input(&p->chip[irq / 8], irq % 8, level);
	update_output(p);
	spin_unlock_irqrestore(&p->lock, f);
}

int vpic_pending_vector(struct vpic *p)
{
	u64 f = spin_lock_irqsave(&p->lock);
	int irq = chip_request(&p->chip[0], true);
	int v = -1;

	if (irq >= 0 && irq != VPIC_CASCADE_IRQ) {
		v = p->chip[0].vector_base + irq;
	} else if (irq == VPIC_CASCADE_IRQ) {
		int s = chip_request(&p->chip[1], false);

		v = p->chip[1].vector_base + (s >= 0 ? s : 7);
	}
	spin_unlock_irqrestore(&p->lock, f);
	return v;
}

u8 vpic_ack(struct vpic *p)
{
	u64 f = spin_lock_irqsave(&p->lock);
	u8 v = ack_locked(p);

	spin_unlock_irqrestore(&p->lock, f);
	return v;
}

static void chip_reset(struct vpic_chip *c, u8 base, u8 elcr_mask)
{
	*c = (struct vpic_chip){ .imr = 0xff, .vector_base = base, .elcr_mask = elcr_mask };
}

void vpic_reset(struct vpic *p)
{
	u64 f = spin_lock_irqsave(&p->lock);

	/* ELCR: IRQ 0, 1, 2, 8 and 13 are always edge-triggered (PIIX). */
	chip_reset(&p->chip[0], 0x08, 0xf8);
	chip_reset(&p->chip[1], 0x70, 0xde);
	update_output(p);
	spin_unlock_irqrestore(&p->lock, f);
}

struct vpic *vpic_create(const struct vpic_hooks *hooks)
{
	struct vpic *p = kzalloc(sizeof(*p));

	if (!p)
		return NULL;
	spin_lock_init(&p->lock);
	if (hooks)
		p->hooks = *hooks;
	vpic_reset(p);
	return p;
}

void vpic_destroy(struct vpic *p) { kfree(p); }

/* Bus glue: 8-bit registers; a wider access covers consecutive ports. */
static int port_read(struct vpic *p, u16 port, u8 size, u64 *val)
{
	u64 r = 0;

	for (u32 i = 0; i < size && i < 8; i++)
		r |= (u64)vpic_read(p, (u16)(port + i)) << (8 * i);
	*val = r;
	return 0;
}

static int port_write(struct vpic *p, u16 port, u8 size, u64 val)
{
	for (u32 i = 0; i < size && i < 8; i++)
		vpic_write(p, (u16)(port + i), (u8)(val >> (8 * i)));
	return 0;
}

#define VPIC_PORT_OPS(name, base)                                                              \
	static int name##_read(void *dev, struct vcpu *v, u64 off, u8 size, u64 *val)          \
	{                                                                                      \
		return port_read(dev, (u16)((base) + off), size, val);                         \
	}                                                                                      \
	static int name##_write(void *dev, struct vcpu *v, u64 off, u8 size, u64 val)          \
	{                                                                                      \
		return port_write(dev, (u16)((base) + off), size, val);                        \
	}                                                                                      \
	static const struct io_ops name##_ops = { .read = name##_read, .write = name##_write }

VPIC_PORT_OPS(master, VPIC_MASTER_BASE);
VPIC_PORT_OPS(slave, VPIC_SLAVE_BASE);
VPIC_PORT_OPS(elcr, VPIC_ELCR_BASE);

int vpic_register(struct vpic *p, struct io_bus *pio)
{
	int err = io_bus_register(pio, VPIC_MASTER_BASE, 2, &master_ops, p, "pic-master");

	if (!err)
		err = io_bus_register(pio, VPIC_SLAVE_BASE, 2, &slave_ops, p, "pic-slave");
	if (!err)
		err = io_bus_register(pio, VPIC_ELCR_BASE, 2, &elcr_ops, p, "elcr");
	return err;
}
