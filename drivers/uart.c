/* 16550 UART driver for the host console (PC16550D data sheet register map). */
#include "drivers/uart.h"
#include "asm/acpi.h"
#include "asm/io.h"
#include "asm/ioapic.h"
#include "asm/irq_vectors.h"
#include "asm/lapic.h"
#include "asm/spinlock.h"
#include "asm/trap.h"
#include "kernel/log.h"
#include "kernel/thread.h"

#define UART_RBR 0 /* receive buffer (read) */
#define UART_THR 0 /* transmit holding (write) */
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7
#define UART_DLL 0 /* with LCR.DLAB */
#define UART_DLM 1

#define IER_RDA BIT(0)
#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define MCR_DTR_RTS_OUT2 0x0b
#define LSR_DR BIT(0)
#define LSR_THRE BIT(5)

#define RX_RING 256

static u16 base;
/* rx_lock protects rx_ring, rx_head and rx_tail. */
static struct spinlock rx_lock = SPINLOCK_INIT;
static u8 rx_ring[RX_RING];
static unsigned rx_head, rx_tail;
/* Readers sleeping in uart_getc_wait(); woken by the receive interrupt. */
static struct wait_queue rx_wq;
static bool rx_irq_on;

bool uart_init(u16 port)
{
	outb(port + UART_SCR, 0x5a);
	if (inb(port + UART_SCR) != 0x5a)
		return false;
	base = port;
	outb(base + UART_IER, 0);
	outb(base + UART_LCR, LCR_DLAB);
	outb(base + UART_DLL, 1); /* 115200 baud */
	outb(base + UART_DLM, 0);
	outb(base + UART_LCR, LCR_8N1);
	/*
	 * Enable and clear the FIFOs, 1-byte trigger: the interrupt comes with the
	 * first byte, so the FIFO absorbs 15 bytes (1.3 ms at 115200) of interrupt
	 * latency, e.g. a guest holding a CPU until the VMX-preemption timer ends it.
	 */
	outb(base + UART_FCR, 0x07);
	outb(base + UART_MCR, MCR_DTR_RTS_OUT2);
	return true;
}

void uart_putc(char c)
{
	if (!base)
		return;
	for (int spins = 0; !(inb(base + UART_LSR) & LSR_THRE) && spins < 100000; spins++)
		cpu_relax();
	outb(base + UART_THR, (u8)c);
}

void uart_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

void uart_enable_rx_irq(void)
{
	if (base)
		outb(base + UART_IER, IER_RDA);
}

static void drain_fifo(void)
{
	while (inb(base + UART_LSR) & LSR_DR) {
		u8 c = inb(base + UART_RBR);

		if (rx_head - rx_tail < RX_RING)
			rx_ring[rx_head++ % RX_RING] = c;
	}
}

void uart_irq(void)
{
	if (!base)
		return;
	spin_lock(&rx_lock);
	drain_fifo();
	spin_unlock(&rx_lock);
}

int uart_getc(void)
{
	int c = -1;
	u64 f;

	if (!base)
		return -1;
	f = spin_lock_irqsave(&rx_lock);
	drain_fifo();
	if (rx_tail != rx_head)
		c = rx_ring[rx_tail++ % RX_RING];
	spin_unlock_irqrestore(&rx_lock, f);
	return c;
}

static void uart_irq_handler(struct trap_frame *tf)
{
	uart_irq();
	lapic_eoi();
	wake_up_all(&rx_wq);
}

int uart_start_rx_irq(u8 isa_irq)
{
	bool level, active_low;
	u32 gsi = acpi_isa_irq_to_gsi(isa_irq, &level, &active_low);
	int err;

	if (!base)
		return -ENODEV;
	wait_queue_init(&rx_wq);
	trap_set_handler((u8)(VEC_GSI_BASE + gsi), uart_irq_handler);
	err = ioapic_route_isa(isa_irq);
	if (err) {
		pr_warn("uart: cannot route IRQ %u (%d): input is polled\n", isa_irq, err);
		return err;
	}
	uart_enable_rx_irq();
	WRITE_ONCE(rx_irq_on, true);
	pr_info("uart: COM1 input on IRQ %u (GSI %u, vector %#x)\n", isa_irq, gsi,
		VEC_GSI_BASE + gsi);
	return 0;
}

static bool rx_take(void *arg)
{
	int *c = arg;

	*c = uart_getc();
	return *c >= 0;
}

int uart_getc_wait(void)
{
	int c = -1;

	if (!READ_ONCE(rx_irq_on)) {
		while ((c = uart_getc()) < 0)
			thread_sleep_ns(10 * 1000 * 1000);
		return c;
	}
	wait_event(&rx_wq, rx_take, &c);
	return c;
}
