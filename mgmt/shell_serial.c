/* The shell session on the serial console (COM1). */
#include "mgmt/shell.h"
#include "drivers/uart.h"
#include "asm/cpu.h"
#include "kernel/log.h"

static struct shell_session serial_session;

/* Through the log's console lock, so log lines from other CPUs never split the shell's output. */
static void serial_write(const char *s, size_t len, void *ctx) { console_write(s, len); }

/* Wait for the next byte from COM1: the shell thread sleeps until the UART interrupt. */
static int serial_read_byte(void *ctx)
{
	return uart_getc_wait();
}

static int serial_poll_byte(void *ctx) { return uart_getc(); }

void shell_run(void)
{
	struct shell_out out = { .write = serial_write, .poll_byte = serial_poll_byte };

	pr_info("shell: %zu commands, serial console ready\n", shell_check_table());
	shell_session_init(&serial_session, out, serial_read_byte, NULL);
	for (;;)
		shell_session_run(&serial_session);
}
