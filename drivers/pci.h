/* PCI: configuration space (mechanism #1), bus enumeration, BARs, INTx/MSI interrupts. */
#ifndef HV_DRIVERS_PCI_H
#define HV_DRIVERS_PCI_H

#include "lib/types.h"

/* Configuration header offsets (PCI Local Bus Specification 3.0, 6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_PROG_IF 0x09
#define PCI_SUBCLASS 0x0a
#define PCI_CLASS 0x0b
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYS_ID 0x2e
#define PCI_CAP_PTR 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_CMD_IO BIT(0)
#define PCI_CMD_MEMORY BIT(1)
#define PCI_CMD_MASTER BIT(2)
#define PCI_CMD_INTX_DISABLE BIT(10)
#define PCI_STATUS_CAP_LIST BIT(4)
#define PCI_HEADER_MULTI_FN BIT(7)

#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_VENDOR 0x09
#define PCI_CAP_ID_MSIX 0x11

#define PCI_MAX_DEVICES 64
#define PCI_NUM_BARS 6

struct pci_bar {
	u64 base;  /* bus address (memory) or port number (I/O); 0: not implemented */
	u64 size;
	bool is_io;
	bool is_64;      /* memory BAR taking two slots (the next one is empty here) */
	bool prefetch;
};

/* One function found by pci_init(). Fields are fixed after enumeration. */
struct pci_dev {
	u8 bus, dev, fn;
	u16 vendor, device;
	u8 class_code, subclass, prog_if, revision;
	u16 subsys_id;
	u8 irq_line, irq_pin; /* from the firmware: ISA IRQ (0xff: none), INTA=1..INTD=4 */
	struct pci_bar bars[PCI_NUM_BARS];
	u8 msi_cap;  /* config offset of the MSI capability, 0: none */
	u8 msix_cap; /* same for MSI-X (not used by the drivers yet) */
	bool claimed; /* a driver owns it */
};

/* Config space access (any CPU; a spinlock serializes the 0xCF8/0xCFC pair). */
u32 pci_read32(const struct pci_dev *d, u16 off);
u16 pci_read16(const struct pci_dev *d, u16 off);
u8 pci_read8(const struct pci_dev *d, u16 off);
void pci_write32(const struct pci_dev *d, u16 off, u32 v);
void pci_write16(const struct pci_dev *d, u16 off, u16 v);
void pci_write8(const struct pci_dev *d, u16 off, u8 v);

/*
 * Scan every bus/device/function once (boot CPU, after mm and the IOAPIC),
 * sizing BARs and finding capabilities. Returns the number of functions found
 * (at most PCI_MAX_DEVICES are kept; more are logged and ignored).
 */
int pci_init(void);
/* Number of functions found, and the i-th one (NULL when out of range). */
int pci_count(void);
struct pci_dev *pci_get(int i);
/* Next unclaimed function after index *pos with this vendor and device (*pos starts at 0). */
struct pci_dev *pci_find(u16 vendor, u16 device, int *pos);

/* Turn on memory/I/O decoding and bus mastering (DMA). */
void pci_enable(struct pci_dev *d);

/*
 * Map a memory BAR uncached; returns its virtual address or NULL (not a
 * memory BAR, too small for `min_size`, or mapping failed).
 */
void *pci_map_bar(struct pci_dev *d, int bar, u64 min_size);

/*
 * Interrupt handler of a device. Runs in interrupt context with interrupts
 * off: it must only acknowledge the device and wake a thread. Returns true
 * when the device had raised the interrupt (shared INTx lines call every
 * handler on the line).
 */
typedef bool (*pci_irq_fn)(void *ctx);

/*
 * Route the device's interrupt to `fn` on the CPU with APIC id `apic_id`:
 * MSI when the device has the capability (a vector of its own, edge),
 * else INTx through the IOAPIC (the line the firmware assigned, level and
 * shared; trigger and polarity from the MADT overrides, PCI default
 * level/active-low otherwise). INTx is left disabled in the command register
 * while MSI is in use. Returns 0 or -ENODEV (no interrupt line), -ENOSPC (no
 * vector or handler slot left), -EINVAL (IOAPIC refused the route).
 * `kind` receives "MSI" or "INTx" and *vector the IDT vector.
 */
int pci_request_irq(struct pci_dev *d, pci_irq_fn fn, void *ctx, u32 apic_id,
		    const char **kind, u8 *vector);

/* "bb:dd.f" into buf (at least 8 bytes). */
void pci_format_addr(const struct pci_dev *d, char *buf, size_t len);

#endif
