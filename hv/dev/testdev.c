/* Test device: read-back port registers, a FIFO port for string I/O, an MMIO RAM page with counters. */
#include "hv/dev/testdev.h"
#include "lib/string.h"
#include "mm/kmalloc.h"

#define PORT_OFF_DATA (TESTDEV_PORT_DATA - TESTDEV_PORT_BASE)
#define PORT_OFF_FIFO (TESTDEV_PORT_FIFO - TESTDEV_PORT_BASE)
#define PORT_OFF_FIFO_COUNT (TESTDEV_PORT_FIFO_COUNT - TESTDEV_PORT_BASE)
#define PORT_OFF_COUNTER (TESTDEV_PORT_COUNTER - TESTDEV_PORT_BASE)

static u64 size_mask(u8 size) { return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1; }

static void fifo_push(struct testdev *t, u8 b)
{
	if (t->fifo_count == TESTDEV_FIFO_SIZE) {
		t->fifo_overflows++;
		return;
	}
	t->fifo[(t->fifo_head + t->fifo_count) % TESTDEV_FIFO_SIZE] = b;
	t->fifo_count++;
}

static u8 fifo_pop(struct testdev *t)
{
	u8 b;

	if (!t->fifo_count) {
		t->fifo_underflows++;
		return 0xff;
	}
	b = t->fifo[t->fifo_head];
	t->fifo_head = (t->fifo_head + 1) % TESTDEV_FIFO_SIZE;
	t->fifo_count--;
	return b;
}

static u64 port_read_locked(struct testdev *t, u64 off, u8 size)
{
	u64 v = 0;

	t->port_accesses++;
	switch (off) {
	case PORT_OFF_DATA ... PORT_OFF_DATA + 3:
		for (u32 i = 0; i < size; i++)
			v |= (u64)(off + i < 4 ? t->data[off + i] : 0xff) << (8 * i);
		return v;
	case PORT_OFF_FIFO:
		for (u32 i = 0; i < size; i++)
			v |= (u64)fifo_pop(t) << (8 * i);
		return v;
	case PORT_OFF_FIFO_COUNT:
		return t->fifo_count & size_mask(size);
	case PORT_OFF_COUNTER:
		return t->port_accesses & size_mask(size);
	default:
		return size_mask(size);
	}
}

static void port_write_locked(struct testdev *t, u64 off, u8 size, u64 val)
{
	t->port_accesses++;
	switch (off) {
	case PORT_OFF_DATA ... PORT_OFF_DATA + 3:
		for (u32 i = 0; i < size && off + i < 4; i++)
			t->data[off + i] = (u8)(val >> (8 * i));
		break;
	case PORT_OFF_FIFO:
		for (u32 i = 0; i < size; i++)
			fifo_push(t, (u8)(val >> (8 * i)));
		break;
	case PORT_OFF_FIFO_COUNT:
		t->fifo_head = t->fifo_count = 0;
		break;
	case PORT_OFF_COUNTER:
		t->port_accesses = 0;
		break;
	default:
		break;
	}
}

static int testdev_port_read(void *dev, struct vcpu *v, u64 offset, u8 size, u64 *val)
{
	struct testdev *t = dev;
	u64 f = spin_lock_irqsave(&t->lock);

	*val = port_read_locked(t, offset, MIN(size, (u8)8));
	spin_unlock_irqrestore(&t->lock, f);
	return 0;
}

static int testdev_port_write(void *dev, struct vcpu *v, u64 offset, u8 size, u64 val)
{
	struct testdev *t = dev;
	u64 f = spin_lock_irqsave(&t->lock);

	port_write_locked(t, offset, MIN(size, (u8)8), val);
	spin_unlock_irqrestore(&t->lock, f);
	return 0;
}

const struct io_ops testdev_pio_ops = {
	.read = testdev_port_read,
	.write = testdev_port_write,
};

/* One byte of the register page (offset >= TESTDEV_RAM_SIZE). */
static u8 reg_byte(const struct testdev *t, u64 off)
{
	u64 reg;

	switch (off & ~7ULL) {
	case TESTDEV_MMIO_READS:
		reg = t->mmio_reads;
		break;
	case TESTDEV_MMIO_WRITES:
		reg = t->mmio_writes;
		break;
	case TESTDEV_MMIO_ACCESSES:
		reg = t->mmio_reads + t->mmio_writes;
		break;
	case TESTDEV_MMIO_LAST:
		reg = t->mmio_last;
		break;
	default:
		return 0xff;
	}
	return (u8)(reg >> (8 * (off & 7)));
}

/* Count an access to the RAM page; register-page accesses are not counted. */
static void note_ram_access(struct testdev *t, u64 off, u8 size, bool write)
{
	if (off >= TESTDEV_RAM_SIZE)
		return;
	if (write)
		t->mmio_writes++;
	else
		t->mmio_reads++;
	t->mmio_last = off | ((u64)size << 16) | (write ? TESTDEV_LAST_WRITE : 0);
}

static int testdev_mmio_read(void *dev, struct vcpu *v, u64 offset, u8 size, u64 *val)
{
	struct testdev *t = dev;
	u64 f = spin_lock_irqsave(&t->lock);
	u64 r = 0;

	for (u32 i = 0; i < size && i < 8; i++) {
		u64 at = offset + i;
		u8 b = at < TESTDEV_RAM_SIZE ? t->ram[at] : reg_byte(t, at);

		r |= (u64)b << (8 * i);
	}
	note_ram_access(t, offset, size, false);
	*val = r;
	spin_unlock_irqrestore(&t->lock, f);
	return 0;
}

static int testdev_mmio_write(void *dev, struct vcpu *v, u64 offset, u8 size, u64 val)
{
	struct testdev *t = dev;
	u64 f = spin_lock_irqsave(&t->lock);

	if (offset >= TESTDEV_RAM_SIZE) {
		if (offset < TESTDEV_MMIO_LAST + 8) {
			t->mmio_reads = t->mmio_writes = 0;
			t->mmio_last = 0;
		}
	} else {
		for (u32 i = 0; i < size && i < 8 && offset + i < TESTDEV_RAM_SIZE; i++)
			t->ram[offset + i] = (u8)(val >> (8 * i));
		note_ram_access(t, offset, size, true);
	}
	spin_unlock_irqrestore(&t->lock, f);
	return 0;
}

const struct io_ops testdev_mmio_ops = {
	.read = testdev_mmio_read,
	.write = testdev_mmio_write,
};

static void reset_locked(struct testdev *t)
{
	memset(t->data, 0, sizeof(t->data));
	t->fifo_head = t->fifo_count = 0;
	t->fifo_overflows = t->fifo_underflows = 0;
	t->port_accesses = 0;
	memset(t->ram, 0, sizeof(t->ram));
	t->mmio_reads = t->mmio_writes = 0;
	t->mmio_last = 0;
}

struct testdev *testdev_create(void)
{
	struct testdev *t = kzalloc(sizeof(*t));

	if (!t)
		return NULL;
	spin_lock_init(&t->lock);
	return t;
}

void testdev_destroy(struct testdev *t) { kfree(t); }

void testdev_reset(struct testdev *t)
{
	u64 f = spin_lock_irqsave(&t->lock);

	reset_locked(t);
	spin_unlock_irqrestore(&t->lock, f);
}

int testdev_register(struct testdev *t, struct io_bus *pio, struct io_bus *mmio)
{
	int err = io_bus_register(pio, TESTDEV_PORT_BASE, TESTDEV_NR_PORTS, &testdev_pio_ops, t,
				  "testdev");

	if (!err)
		err = io_bus_register(mmio, TESTDEV_MMIO_BASE, TESTDEV_MMIO_SIZE, &testdev_mmio_ops, t,
				      "testdev-mmio");
	return err;
}
