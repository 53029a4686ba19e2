/* Host 16550 UART (COM1): polled output, interrupt-driven input ring. */
#ifndef HV_DRIVERS_UART_H
#define HV_DRIVERS_UART_H

#include "lib/types.h"

#define COM1_PORT 0x3f8
#define COM1_IRQ 4

/* Program the UART (115200 8N1, FIFOs on); returns false if none answers. */
bool uart_init(u16 port);
/* Polled transmit; '\n' becomes "\r\n". Callable with interrupts off. */
void uart_write(const char *s, size_t len);
void uart_putc(char c);
/* Enable the receive-data interrupt (after the IOAPIC route is in place). */
void uart_enable_rx_irq(void);
/* Interrupt handler body: drain the receive FIFO into the input ring. */
void uart_irq(void);
/* Next received byte, or -1 if none. Polls the UART too, so works before IRQs. */
int uart_getc(void);
/*
 * Route the UART's ISA IRQ through the IOAPIC and turn on the receive
 * interrupt; afterwards uart_getc_wait() sleeps instead of polling.
 * After the scheduler, IOAPIC and ACPI are up. Returns 0 or -errno.
 */
int uart_start_rx_irq(u8 isa_irq);
/* Next received byte; the calling thread sleeps until one arrives. */
int uart_getc_wait(void);

#endif
