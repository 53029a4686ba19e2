/* PCI configuration mechanism #1 (PCI Local Bus Spec 3.0, 3.2.2.3.2), enumeration, BARs, MSI (6.8.1). */
#include "drivers/pci.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "asm/acpi.h"
#include "asm/io.h"
#include "asm/ioapic.h"
#include "asm/irq_vectors.h"
#include "asm/lapic.h"
#include "asm/page.h"
#include "asm/spinlock.h"
#include "asm/trap.h"
#include "mm/paging.h"
#include "kernel/log.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define PCI_CONFIG_ENABLE BIT(31)

#define PCI_BAR_IO BIT(0)
#define PCI_BAR_MEM_TYPE GENMASK(2, 1)
#define PCI_BAR_MEM_64 (2u << 1)
#define PCI_BAR_PREFETCH BIT(3)
#define PCI_BAR_IO_MASK GENMASK(31, 2)
#define PCI_BAR_MEM_MASK GENMASK(31, 4)

/* MSI capability registers (6.8.1.3-6.8.1.6). */
#define MSI_CTRL 2
#define MSI_ADDR_LO 4
#define MSI_ADDR_HI 8
#define MSI_DATA_32 8
#define MSI_DATA_64 12
#define MSI_CTRL_ENABLE BIT(0)
#define MSI_CTRL_MME GENMASK(6, 4)
#define MSI_CTRL_64BIT BIT(7)
/* Message address for the local APIC (Intel SDM vol. 3A 11.11.1): fixed, physical. */
#define MSI_ADDR_BASE 0xfee00000u
#define MSI_ADDR_DEST_SHIFT 12

#define PCI_CAPS_MAX 48 /* capability list walk limit: a looping list ends here */

/* Vectors for MSI: the top of the dynamic range, owned by this file. */
#define PCI_MSI_VEC_COUNT 16
#define PCI_MSI_VEC_FIRST (VEC_DYNAMIC_END + 1 - PCI_MSI_VEC_COUNT)
#define PCI_IRQ_SHARE 4 /* handlers on one INTx line */

struct irq_slot {
	pci_irq_fn fn;
	void *ctx;
};

static struct spinlock cfg_lock = SPINLOCK_INIT;
static struct pci_dev devices[PCI_MAX_DEVICES];
static int nr_devices;

/* irq_lock protects the tables below while handlers are added (the IRQ path only reads them). */
static struct spinlock irq_lock = SPINLOCK_INIT;
static struct irq_slot intx_slots[VEC_GSI_COUNT][PCI_IRQ_SHARE];
static struct irq_slot msi_slots[PCI_MSI_VEC_COUNT];
static unsigned msi_next;

static u32 cfg_address(u8 bus, u8 dev, u8 fn, u16 off)
{
	return PCI_CONFIG_ENABLE | (u32)bus << 16 | (u32)(dev & 0x1f) << 11 |
	       (u32)(fn & 7) << 8 | (off & 0xfc);
}

static u32 cfg_read(u8 bus, u8 dev, u8 fn, u16 off)
{
	u64 f = spin_lock_irqsave(&cfg_lock);
	u32 v;

	outl(PCI_CONFIG_ADDRESS, cfg_address(bus, dev, fn, off));
	v = inl(PCI_CONFIG_DATA);
	spin_unlock_irqrestore(&cfg_lock, f);
	return v;
}

static void cfg_write(u8 bus, u8 dev, u8 fn, u16 off, u32 v)
{
	u64 f = spin_lock_irqsave(&cfg_lock);

	outl(PCI_CONFIG_ADDRESS, cfg_address(bus, dev, fn, off));
	outl(PCI_CONFIG_DATA, v);
	spin_unlock_irqrestore(&cfg_lock, f);
}

u32 pci_read32(const struct pci_dev *d, u16 off) { return cfg_read(d->bus, d->dev, d->fn, off); }

u16 pci_read16(const struct pci_dev *d, u16 off)
{
	return (u16)(pci_read32(d, off) >> ((off & 2) * 8));
}

u8 pci_read8(const struct pci_dev *d, u16 off)
{
	return (u8)(pci_read32(d, off) >> ((off & 3) * 8));
}

void pci_write32(const struct pci_dev *d, u16 off, u32 v) { cfg_write(d->bus, d->dev, d->fn, off, v); }

/* Narrow writes as read-modify-write of the dword (mechanism #1 has byte enables, ports do too). */
void pci_write16(const struct pci_dev *d, u16 off, u16 v)
{
	u64 f = spin_lock_irqsave(&cfg_lock);

	outl(PCI_CONFIG_ADDRESS, cfg_address(d->bus, d->dev, d->fn, off));
	outw(PCI_CONFIG_DATA + (off & 2), v);
	spin_unlock_irqrestore(&cfg_lock, f);
}

void pci_write8(const struct pci_dev *d, u16 off, u8 v)
{
	u64 f = spin_lock_irqsave(&cfg_lock);

	outl(PCI_CONFIG_ADDRESS, cfg_address(d->bus, d->dev, d->fn, off));
	outb(PCI_CONFIG_DATA + (off & 3), v);
	spin_unlock_irqrestore(&cfg_lock, f);
}

/* Size one BAR by writing all ones (6.2.5.1); decoding is off meanwhile. Returns slots used. */
static int probe_bar(struct pci_dev *d, int i)
{
	u16 off = PCI_BAR0 + 4 * i;
	u32 orig = pci_read32(d, off), mask;
	struct pci_bar *b = &d->bars[i];
	u64 size_mask;

	pci_write32(d, off, 0xffffffff);
	mask = pci_read32(d, off);
	pci_write32(d, off, orig);
	if (mask == 0 || mask == 0xffffffff)
		return 1;
	if (orig & PCI_BAR_IO) {
		b->is_io = true;
		b->base = orig & PCI_BAR_IO_MASK;
		b->size = (u32)(~(mask & PCI_BAR_IO_MASK) + 1) & 0xffff;
		return 1;
	}
	b->prefetch = orig & PCI_BAR_PREFETCH;
	b->base = orig & PCI_BAR_MEM_MASK;
	size_mask = mask & PCI_BAR_MEM_MASK;
	if ((orig & PCI_BAR_MEM_TYPE) == PCI_BAR_MEM_64 && i + 1 < PCI_NUM_BARS) {
		u32 orig_hi = pci_read32(d, off + 4), mask_hi;

		pci_write32(d, off + 4, 0xffffffff);
		mask_hi = pci_read32(d, off + 4);
		pci_write32(d, off + 4, orig_hi);
		b->is_64 = true;
		b->base |= (u64)orig_hi << 32;
		size_mask |= (u64)mask_hi << 32;
		b->size = ~size_mask + 1;
		return 2;
	}
	b->size = (u32)(~size_mask + 1);
	return 1;
}

/* Walk the capability list (6.7) for MSI and MSI-X, bounded against loops. */
static void find_caps(struct pci_dev *d)
{
	u8 p;

	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return;
	p = pci_read8(d, PCI_CAP_PTR) & 0xfc;
	for (int n = 0; p >= 0x40 && n < PCI_CAPS_MAX; n++) {
		u8 id = pci_read8(d, p);

		if (id == PCI_CAP_ID_MSI && !d->msi_cap)
			d->msi_cap = p;
		else if (id == PCI_CAP_ID_MSIX && !d->msix_cap)
			d->msix_cap = p;
		p = pci_read8(d, p + 1) & 0xfc;
	}
}

static void add_function(u8 bus, u8 dev, u8 fn, u32 id)
{
	struct pci_dev *d;
	u16 cmd;
	u32 cls;

	if (nr_devices == PCI_MAX_DEVICES) {
		pr_warn("pci: more than %d functions; %02x:%02x.%u ignored\n", PCI_MAX_DEVICES,
			bus, dev, fn);
		return;
	}
	d = &devices[nr_devices++];
	memset(d, 0, sizeof(*d));
	d->bus = bus, d->dev = dev, d->fn = fn;
	d->vendor = (u16)id, d->device = (u16)(id >> 16);
	cls = pci_read32(d, PCI_REVISION);
	d->revision = (u8)cls, d->prog_if = (u8)(cls >> 8);
	d->subclass = (u8)(cls >> 16), d->class_code = (u8)(cls >> 24);
	d->irq_line = pci_read8(d, PCI_INTERRUPT_LINE);
	d->irq_pin = pci_read8(d, PCI_INTERRUPT_PIN);
	if ((pci_read8(d, PCI_HEADER_TYPE) & 0x7f) != 0)
		return; /* bridges: BARs and interrupts are not ours to use */
	d->subsys_id = pci_read16(d, PCI_SUBSYS_ID);
	cmd = pci_read16(d, PCI_COMMAND);
	pci_write16(d, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEMORY));
	for (int i = 0; i < PCI_NUM_BARS;)
		i += probe_bar(d, i);
	pci_write16(d, PCI_COMMAND, cmd);
	find_caps(d);
}

int pci_init(void)
{
	for (unsigned bus = 0; bus < 256; bus++) {
		for (u8 dev = 0; dev < 32; dev++) {
			u32 id = cfg_read((u8)bus, dev, 0, PCI_VENDOR_ID);
			u8 nfn;

			if ((u16)id == 0xffff)
				continue;
			nfn = (cfg_read((u8)bus, dev, 0, PCI_HEADER_TYPE & ~3) >> 16) &
				      PCI_HEADER_MULTI_FN ? 8 : 1;
			add_function((u8)bus, dev, 0, id);
			for (u8 fn = 1; fn < nfn; fn++) {
				id = cfg_read((u8)bus, dev, fn, PCI_VENDOR_ID);
				if ((u16)id != 0xffff)
					add_function((u8)bus, dev, fn, id);
			}
		}
	}
	pr_info("pci: %d functions\n", nr_devices);
	return nr_devices;
}

int pci_count(void) { return nr_devices; }

struct pci_dev *pci_get(int i) { return i >= 0 && i < nr_devices ? &devices[i] : NULL; }

struct pci_dev *pci_find(u16 vendor, u16 device, int *pos)
{
	for (; *pos < nr_devices; (*pos)++) {
		struct pci_dev *d = &devices[*pos];

		if (d->vendor == vendor && d->device == device && !d->claimed) {
			(*pos)++;
			return d;
		}
	}
	return NULL;
}

void pci_enable(struct pci_dev *d)
{
	u16 cmd = pci_read16(d, PCI_COMMAND);

	pci_write16(d, PCI_COMMAND, cmd | PCI_CMD_IO | PCI_CMD_MEMORY | PCI_CMD_MASTER);
}

void *pci_map_bar(struct pci_dev *d, int bar, u64 min_size)
{
	struct pci_bar *b;

	if (bar < 0 || bar >= PCI_NUM_BARS)
		return NULL;
	b = &d->bars[bar];
	if (b->is_io || !b->base || b->size < min_size || b->size > (1ULL << 32))
		return NULL;
	return paging_map_mmio(b->base, ALIGN_UP(b->size, PAGE_SIZE));
}

void pci_format_addr(const struct pci_dev *d, char *buf, size_t len)
{
	ksnprintf(buf, len, "%02x:%02x.%u", d->bus, d->dev, d->fn);
}

static void run_slots(struct irq_slot *slots, int n)
{
	for (int i = 0; i < n; i++) {
		pci_irq_fn fn = READ_ONCE(slots[i].fn);

		if (fn)
			fn(slots[i].ctx);
	}
}

static void intx_handler(struct trap_frame *tf)
{
	u64 gsi = tf->vector - VEC_GSI_BASE;

	if (gsi < VEC_GSI_COUNT)
		run_slots(intx_slots[gsi], PCI_IRQ_SHARE);
	lapic_eoi();
}

static void msi_handler(struct trap_frame *tf)
{
	u64 i = tf->vector - PCI_MSI_VEC_FIRST;

	if (i < PCI_MSI_VEC_COUNT)
		run_slots(&msi_slots[i], 1);
	lapic_eoi();
}

/* Program the MSI capability for one message to `vector` on `apic_id` (edge, fixed). */
static void msi_program(struct pci_dev *d, u8 vector, u32 apic_id)
{
	u8 c = d->msi_cap;
	u16 ctrl = pci_read16(d, c + MSI_CTRL);
	u32 addr = MSI_ADDR_BASE | (apic_id & 0xff) << MSI_ADDR_DEST_SHIFT;

	pci_write32(d, c + MSI_ADDR_LO, addr);
	if (ctrl & MSI_CTRL_64BIT) {
		pci_write32(d, c + MSI_ADDR_HI, 0);
		pci_write16(d, c + MSI_DATA_64, vector);
	} else {
		pci_write16(d, c + MSI_DATA_32, vector);
	}
	ctrl = (ctrl & ~MSI_CTRL_MME) | MSI_CTRL_ENABLE; /* one message */
	pci_write16(d, c + MSI_CTRL, ctrl);
	pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | PCI_CMD_INTX_DISABLE);
}

static int request_msi(struct pci_dev *d, pci_irq_fn fn, void *ctx, u32 apic_id, u8 *vector)
{
	u64 f;
	unsigned i;

	if (apic_id > 0xff)
		return -EINVAL; /* needs interrupt remapping or extended destination ids */
	f = spin_lock_irqsave(&irq_lock);
	if (msi_next == PCI_MSI_VEC_COUNT) {
		spin_unlock_irqrestore(&irq_lock, f);
		return -ENOSPC;
	}
	i = msi_next++;
	msi_slots[i].ctx = ctx;
	WRITE_ONCE(msi_slots[i].fn, fn);
	spin_unlock_irqrestore(&irq_lock, f);
	*vector = (u8)(PCI_MSI_VEC_FIRST + i);
	trap_set_handler(*vector, msi_handler);
	msi_program(d, *vector, apic_id);
	return 0;
}

/* Trigger and polarity of a PCI line: a MADT override for that IRQ, else level/active-low. */
static u32 intx_gsi(u8 line, bool *level, bool *active_low)
{
	for (u32 i = 0; i < acpi.nr_overrides; i++)
		if (acpi.overrides[i].source == line)
			return acpi_isa_irq_to_gsi(line, level, active_low);
	*level = true;
	*active_low = true;
	return line;
}

static int request_intx(struct pci_dev *d, pci_irq_fn fn, void *ctx, u32 apic_id, u8 *vector)
{
	bool level, active_low;
	u32 gsi;
	int slot = -1, err;
	u64 f;

	if (d->irq_pin == 0 || d->irq_line == 0 || d->irq_line == 0xff)
		return -ENODEV;
	gsi = intx_gsi(d->irq_line, &level, &active_low);
	if (gsi >= VEC_GSI_COUNT)
		return -EINVAL;
	f = spin_lock_irqsave(&irq_lock);
	for (int i = 0; i < PCI_IRQ_SHARE && slot < 0; i++)
		if (!intx_slots[gsi][i].fn)
			slot = i;
	if (slot >= 0) {
		intx_slots[gsi][slot].ctx = ctx;
		WRITE_ONCE(intx_slots[gsi][slot].fn, fn);
	}
	spin_unlock_irqrestore(&irq_lock, f);
	if (slot < 0)
		return -ENOSPC;
	*vector = (u8)(VEC_GSI_BASE + gsi);
	trap_set_handler(*vector, intx_handler);
	err = ioapic_route(gsi, *vector, apic_id, level, active_low);
	if (err)
		return err;
	pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) & ~PCI_CMD_INTX_DISABLE);
	return 0;
}

int pci_request_irq(struct pci_dev *d, pci_irq_fn fn, void *ctx, u32 apic_id,
		    const char **kind, u8 *vector)
{
	if (d->msi_cap && request_msi(d, fn, ctx, apic_id, vector) == 0) {
		*kind = "MSI";
		return 0;
	}
	*kind = "INTx";
	return request_intx(d, fn, ctx, apic_id, vector);
}
