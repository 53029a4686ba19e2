/* Port-I/O and MMIO buses: route guest accesses to the device that registered the range. */
#include "hv/iobus.h"
#include "lib/string.h"
#include "kernel/log.h"

void io_bus_init(struct io_bus *bus) { memset(bus, 0, sizeof(*bus)); }

static bool overlaps(u64 a, u64 alen, u64 b, u64 blen) { return a < b + blen && b < a + alen; }

int io_bus_register(struct io_bus *bus, u64 base, u64 len, const struct io_ops *ops, void *dev,
		    const char *name)
{
	if (!len || base + len < base || !ops)
		return -EINVAL;
	if (bus->nr >= IOBUS_MAX_RANGES)
		return -ENOSPC;
	for (u32 i = 0; i < bus->nr; i++)
		if (overlaps(base, len, bus->r[i].base, bus->r[i].len))
			return -EEXIST;
	bus->r[bus->nr++] = (struct io_range){ base, len, ops, dev, name };
	return 0;
}

const struct io_range *io_bus_find(const struct io_bus *bus, u64 addr, u8 size)
{
	for (u32 i = 0; i < bus->nr; i++) {
		const struct io_range *r = &bus->r[i];

		if (addr >= r->base && addr - r->base < r->len && size <= r->len - (addr - r->base))
			return r;
	}
	return NULL;
}

static void note_unclaimed(struct io_bus *bus, u64 addr, u8 size, bool write)
{
	u64 n = __atomic_fetch_add(&bus->unclaimed, 1, __ATOMIC_RELAXED);

	WRITE_ONCE(bus->last_unclaimed, addr);
	if (n == 0)
		pr_info("vm: unclaimed %u-byte %s at %#llx (reads give all ones, writes are "
			"dropped; further ones only counted)\n",
			size, write ? "write" : "read", (unsigned long long)addr);
}

int io_bus_read(struct io_bus *bus, struct vcpu *v, u64 addr, u8 size, u64 *val)
{
	const struct io_range *r = io_bus_find(bus, addr, size);

	if (!r || !r->ops->read) {
		*val = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
		if (!r)
			note_unclaimed(bus, addr, size, false);
		return 0;
	}
	*val = 0;
	return r->ops->read(r->dev, v, addr - r->base, size, val);
}

int io_bus_write(struct io_bus *bus, struct vcpu *v, u64 addr, u8 size, u64 val)
{
	const struct io_range *r = io_bus_find(bus, addr, size);

	if (!r || !r->ops->write) {
		if (!r)
			note_unclaimed(bus, addr, size, true);
		return 0;
	}
	return r->ops->write(r->dev, v, addr - r->base, size, val);
}
