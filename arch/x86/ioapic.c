/* I/O APIC redirection tables: map, mask, route GSIs (82093AA I/O APIC data sheet). */
#include "asm/ioapic.h"
#include "asm/acpi.h"
#include "asm/irq_vectors.h"
#include "asm/lapic.h"
#include "asm/spinlock.h"
#include "kernel/log.h"

/* Data sheet section 3.0: index/data window and indirect registers. */
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_MMIO_SIZE 0x20
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_REDTBL(pin) (0x10 + 2 * (pin))
#define IOAPIC_VER_MAXREDIR(v) (((v) >> 16) & 0xff)

/* Redirection entry, section 3.2.4. */
#define RTE_ACTIVE_LOW BIT(13)
#define RTE_LEVEL BIT(15)
#define RTE_MASKED BIT(16)
#define RTE_DEST_SHIFT 24 /* in the high dword: bits 63:56 */
#define RTE_MAX_DEST 0xff

struct ioapic {
	volatile u32 *regs;
	u32 id;
	u32 gsi_base;
	u32 nr_pins;
	struct spinlock lock; /* protects the REGSEL/WIN pair */
};

static struct ioapic ioapics[ACPI_MAX_IOAPICS];
static u32 nr_ioapics;
static u32 boot_apic_id;

static u32 ioapic_read(struct ioapic *io, u32 reg)
{
	io->regs[IOAPIC_REGSEL / 4] = reg;
	return io->regs[IOAPIC_WIN / 4];
}

static void ioapic_write(struct ioapic *io, u32 reg, u32 v)
{
	io->regs[IOAPIC_REGSEL / 4] = reg;
	io->regs[IOAPIC_WIN / 4] = v;
}

static struct ioapic *ioapic_for_gsi(u32 gsi, u32 *pin)
{
	for (u32 i = 0; i < nr_ioapics; i++) {
		struct ioapic *io = &ioapics[i];

		if (gsi >= io->gsi_base && gsi - io->gsi_base < io->nr_pins) {
			*pin = gsi - io->gsi_base;
			return io;
		}
	}
	return NULL;
}

static void ioapic_mask_all(struct ioapic *io)
{
	for (u32 pin = 0; pin < io->nr_pins; pin++) {
		ioapic_write(io, IOAPIC_REG_REDTBL(pin), RTE_MASKED);
		ioapic_write(io, IOAPIC_REG_REDTBL(pin) + 1, 0);
	}
}

void ioapic_init(void)
{
	boot_apic_id = lapic_id();
	for (u32 i = 0; i < acpi.nr_ioapics; i++) {
		const struct acpi_ioapic *a = &acpi.ioapics[i];
		struct ioapic *io = &ioapics[nr_ioapics];

		io->regs = platform_map_mmio(a->addr, IOAPIC_MMIO_SIZE);
		if (!io->regs) {
			pr_err("ioapic: cannot map IOAPIC %u at %#llx, skipped\n", a->id,
			       (unsigned long long)a->addr);
			continue;
		}
		spin_lock_init(&io->lock);
		io->id = a->id;
		io->gsi_base = a->gsi_base;
		io->nr_pins = IOAPIC_VER_MAXREDIR(ioapic_read(io, IOAPIC_REG_VER)) + 1;
		ioapic_mask_all(io);
		nr_ioapics++;
		pr_info("ioapic: id %u at %#llx, GSIs %u-%u, all masked\n", io->id,
			(unsigned long long)a->addr, io->gsi_base, io->gsi_base + io->nr_pins - 1);
	}
	if (!nr_ioapics)
		pr_warn("ioapic: none usable: device interrupts are unavailable\n");
}

int ioapic_route(u32 gsi, u8 vector, u32 apic_id, bool level, bool active_low)
{
	struct ioapic *io;
	u32 pin, lo;
	u64 flags;

	io = ioapic_for_gsi(gsi, &pin);
	/* Physical destination mode reaches 8-bit APIC ids only (no interrupt remapping). */
	if (!io || apic_id > RTE_MAX_DEST || vector < VEC_PIC_BASE)
		return -EINVAL;
	lo = vector | (level ? RTE_LEVEL : 0) | (active_low ? RTE_ACTIVE_LOW : 0);
	flags = spin_lock_irqsave(&io->lock);
	/* Keep it masked while the two halves disagree. */
	ioapic_write(io, IOAPIC_REG_REDTBL(pin), lo | RTE_MASKED);
	ioapic_write(io, IOAPIC_REG_REDTBL(pin) + 1, apic_id << RTE_DEST_SHIFT);
	ioapic_write(io, IOAPIC_REG_REDTBL(pin), lo);
	spin_unlock_irqrestore(&io->lock, flags);
	return 0;
}

int ioapic_mask(u32 gsi, bool masked)
{
	struct ioapic *io;
	u32 pin, lo;
	u64 flags;

	io = ioapic_for_gsi(gsi, &pin);
	if (!io)
		return -EINVAL;
	flags = spin_lock_irqsave(&io->lock);
	lo = ioapic_read(io, IOAPIC_REG_REDTBL(pin));
	lo = masked ? lo | RTE_MASKED : lo & ~RTE_MASKED;
	ioapic_write(io, IOAPIC_REG_REDTBL(pin), lo);
	spin_unlock_irqrestore(&io->lock, flags);
	return 0;
}

int ioapic_route_isa(u8 irq)
{
	bool level, active_low;
	u32 gsi = acpi_isa_irq_to_gsi(irq, &level, &active_low);

	if (gsi >= VEC_GSI_COUNT)
		return -EINVAL;
	return ioapic_route(gsi, (u8)(VEC_GSI_BASE + gsi), boot_apic_id, level, active_low);
}

/* Read back a redirection entry (for the boot summary and the shell). */
int ioapic_read_route(u32 gsi, u64 *rte)
{
	struct ioapic *io;
	u32 pin;
	u64 flags;

	io = ioapic_for_gsi(gsi, &pin);
	if (!io)
		return -EINVAL;
	flags = spin_lock_irqsave(&io->lock);
	*rte = ioapic_read(io, IOAPIC_REG_REDTBL(pin)) |
	       (u64)ioapic_read(io, IOAPIC_REG_REDTBL(pin) + 1) << 32;
	spin_unlock_irqrestore(&io->lock, flags);
	return 0;
}
