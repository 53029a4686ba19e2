/* Virtual 16550 UART: register semantics, interrupts, FIFO, loopback and the console ring. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "hv/dev/vuart.h"
#include "test_vdev_stubs.h"

/* Interrupt line as the hook saw it, and every change in order. */
static bool irq_line;
static int irq_rises, irq_falls;
static int tx_notifies;

static void hook_set_irq(void *ctx, bool level)
{
	assert_ptr_equal(ctx, &irq_line);
	assert_true(level != irq_line); /* the hook only hears changes */
	irq_line = level;
	if (level)
		irq_rises++;
	else
		irq_falls++;
}

static void hook_tx(void *ctx) { tx_notifies++; }

static const struct vuart_hooks hooks = {
	.ctx = &irq_line,
	.set_irq = hook_set_irq,
	.tx_notify = hook_tx,
};

static int allocs_before;

static int setup(void **state)
{
	allocs_before = vdev_stub_live_allocs;
	irq_line = false;
	irq_rises = irq_falls = tx_notifies = 0;
	*state = vuart_create(&hooks);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	vuart_destroy(*state);
	assert_int_equal(vdev_stub_live_allocs, allocs_before);
	return 0;
}

static void put_string(struct vuart *u, const char *s)
{
	while (*s)
		vuart_write(u, VUART_THR, (u8)*s++);
}

static void test_reset_values(void **state)
{
	struct vuart *u = *state;

	assert_int_equal(vuart_read(u, VUART_IER), 0);
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_NONE);
	assert_int_equal(vuart_read(u, VUART_LCR), 0);
	assert_int_equal(vuart_read(u, VUART_MCR), 0);
	assert_int_equal(vuart_read(u, VUART_LSR), VUART_LSR_THRE | VUART_LSR_TEMT);
	assert_int_equal(vuart_read(u, VUART_MSR), VUART_MSR_CTS | VUART_MSR_DSR | VUART_MSR_DCD);
	assert_false(irq_line);
	vuart_write(u, VUART_SCR, 0xa5);
	assert_int_equal(vuart_read(u, VUART_SCR), 0xa5);
}

static void test_transmit_to_console(void **state)
{
	struct vuart *u = *state;
	char buf[32] = { 0 };
	u64 pos = 0;
	bool lost = true;

	put_string(u, "hello");
	assert_int_equal(vuart_console_pos(u), 5);
	assert_int_equal(vuart_console_read(u, &pos, buf, sizeof(buf), &lost), 5);
	assert_string_equal(buf, "hello");
	assert_false(lost);
	assert_int_equal(pos, 5);
	/* Nothing new after the end; a position from the future is clamped. */
	assert_int_equal(vuart_console_read(u, &pos, buf, sizeof(buf), &lost), 0);
	pos = 1000;
	assert_int_equal(vuart_console_read(u, &pos, buf, sizeof(buf), NULL), 0);
	assert_int_equal(pos, 5);
	assert_int_equal(tx_notifies, 5);
	assert_true(vdev_stub_wakeups >= 5);
	/* No interrupt without IER. */
	assert_int_equal(irq_rises, 0);
}

static void test_thre_interrupt(void **state)
{
	struct vuart *u = *state;

	/* Enabling ETBEI with THR empty raises the THRE interrupt at once. */
	vuart_write(u, VUART_IER, VUART_IER_ETBEI);
	assert_true(irq_line);
	assert_int_equal(vuart_read(u, VUART_LSR) & VUART_LSR_THRE, VUART_LSR_THRE);
	/* Reading IIR reports and clears it. */
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_THRI);
	assert_false(irq_line);
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_NONE);
	/* Each THR write empties again at once: a new rising edge per byte. */
	vuart_write(u, VUART_THR, 'a');
	assert_true(irq_line);
	assert_int_equal(irq_rises, 2);
	/* Writing THR while THRE is pending pulses the line (an edge for edge-triggered inputs). */
	vuart_write(u, VUART_THR, 'b');
	assert_true(irq_line);
	assert_int_equal(irq_rises, 3);
	assert_int_equal(irq_falls, 2);
	/* Rewriting IER with ETBEI already set does not re-arm after an IIR read. */
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_THRI);
	vuart_write(u, VUART_IER, VUART_IER_ETBEI);
	assert_false(irq_line);
	/* Clearing and setting ETBEI re-arms. */
	vuart_write(u, VUART_IER, 0);
	vuart_write(u, VUART_IER, VUART_IER_ETBEI);
	assert_true(irq_line);
	/* Masking in IER drops the line but keeps the condition. */
	vuart_write(u, VUART_IER, 0);
	assert_false(irq_line);
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_NONE);
}

static void test_divisor_latch(void **state)
{
	struct vuart *u = *state;
	u64 pos = 0;
	char buf[8];

	vuart_write(u, VUART_IER, VUART_IER_ERBFI);
	vuart_write(u, VUART_LCR, VUART_LCR_DLAB | 0x03);
	/* Reset divisor is 12 (9600 baud). */
	assert_int_equal(vuart_read(u, VUART_DLL), 12);
	assert_int_equal(vuart_read(u, VUART_DLM), 0);
	vuart_write(u, VUART_DLL, 0x01);
	vuart_write(u, VUART_DLM, 0x02);
	assert_int_equal(vuart_read(u, VUART_DLL), 0x01);
	assert_int_equal(vuart_read(u, VUART_DLM), 0x02);
	assert_int_equal(u->divisor, 0x0201);
	/* DLAB writes reached neither the console nor IER. */
	assert_int_equal(vuart_console_pos(u), 0);
	vuart_write(u, VUART_LCR, 0x03);
	assert_int_equal(vuart_read(u, VUART_IER), VUART_IER_ERBFI);
	assert_int_equal(vuart_read(u, VUART_LCR), 0x03);
	vuart_write(u, VUART_THR, 'x');
	assert_int_equal(vuart_console_read(u, &pos, buf, sizeof(buf), NULL), 1);
	assert_int_equal(buf[0], 'x');
}

static void test_receive_nonfifo(void **state)
{
	struct vuart *u = *state;

	vuart_write(u, VUART_IER, VUART_IER_ERBFI);
	assert_false(irq_line);
	assert_int_equal(vuart_console_input(u, "ab", 2), 2);
	assert_true(irq_line);
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_RDI);
	assert_int_equal(vuart_read(u, VUART_LSR) & VUART_LSR_DR, VUART_LSR_DR);
	assert_int_equal(vuart_read(u, VUART_RBR), 'a');
	/* The next byte moves in from the input queue: no overrun. */
	assert_true(irq_line);
	assert_int_equal(vuart_read(u, VUART_RBR), 'b');
	assert_false(irq_line);
	assert_int_equal(vuart_read(u, VUART_LSR), VUART_LSR_THRE | VUART_LSR_TEMT);
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_NONE);
}

static void test_fifo_and_trigger_levels(void **state)
{
	struct vuart *u = *state;
	char in[40];

	for (int i = 0; i < 40; i++)
		in[i] = (char)('A' + i);
	/* FIFO on, trigger level 4 (FCR bits 7:6 = 01). */
	vuart_write(u, VUART_FCR, 0x41 | VUART_FCR_CLEAR_RX | VUART_FCR_CLEAR_TX);
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_NONE | VUART_IIR_FIFO);
	vuart_write(u, VUART_IER, VUART_IER_ERBFI);
	vuart_console_input(u, in, 2);
	/* Below the trigger level: character timeout. */
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_CTI | VUART_IIR_FIFO);
	vuart_console_input(u, in + 2, 38);
	assert_int_equal(u->rx_count, VUART_FIFO_SIZE);
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_RDI | VUART_IIR_FIFO);
	/* Bytes come out in order across FIFO refills, no overrun. */
	for (int i = 0; i < 40; i++) {
		assert_int_equal(vuart_read(u, VUART_LSR) & (VUART_LSR_DR | VUART_LSR_OE), VUART_LSR_DR);
		assert_int_equal(vuart_read(u, VUART_RBR), 'A' + i);
	}
	assert_false(irq_line);
	assert_int_equal(vuart_read(u, VUART_LSR) & VUART_LSR_DR, 0);
	/* Turning the FIFO off drops back to one holding register. */
	vuart_write(u, VUART_FCR, 0);
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_NONE);
	vuart_console_input(u, in, 5);
	assert_int_equal(u->rx_count, 1);
}

static void test_input_queue_limit(void **state)
{
	struct vuart *u = *state;
	static u8 in[VUART_INPUT_SIZE + 100];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (u8)(i * 7);
	assert_int_equal(vuart_console_input(u, in, sizeof(in)), VUART_INPUT_SIZE);
	/* One byte moved into the holding register: room for exactly one more. */
	assert_int_equal(vuart_console_input(u, in + VUART_INPUT_SIZE, 100), 1);
	for (size_t i = 0; i <= VUART_INPUT_SIZE; i++)
		assert_int_equal(vuart_read(u, VUART_RBR), (u8)(i * 7));
	assert_int_equal(vuart_read(u, VUART_LSR) & VUART_LSR_DR, 0);
}

static void test_loopback(void **state)
{
	struct vuart *u = *state;

	vuart_write(u, VUART_MCR, VUART_MCR_LOOP);
	/* Loopback: modem inputs follow MCR (all off now) with deltas latched. */
	assert_int_equal(vuart_read(u, VUART_MSR), VUART_MSR_DCTS | VUART_MSR_DDSR | VUART_MSR_DDCD);
	assert_int_equal(vuart_read(u, VUART_MSR), 0);
	vuart_write(u, VUART_MCR, VUART_MCR_LOOP | VUART_MCR_RTS | VUART_MCR_OUT1);
	assert_int_equal(vuart_read(u, VUART_MSR), VUART_MSR_CTS | VUART_MSR_RI | VUART_MSR_DCTS);
	vuart_write(u, VUART_MCR, VUART_MCR_LOOP | VUART_MCR_DTR | VUART_MCR_OUT2);
	/* RI 1->0 is the trailing edge (TERI). */
	assert_int_equal(vuart_read(u, VUART_MSR), VUART_MSR_DSR | VUART_MSR_DCD | VUART_MSR_DCTS |
							   VUART_MSR_DDSR | VUART_MSR_TERI |
							   VUART_MSR_DDCD);
	/* Console input waits while the receiver is looped. */
	vuart_console_input(u, "z", 1);
	assert_int_equal(vuart_read(u, VUART_LSR) & VUART_LSR_DR, 0);
	/* Transmitted bytes come back and never reach the console. */
	vuart_write(u, VUART_THR, 0x5a);
	assert_int_equal(vuart_console_pos(u), 0);
	assert_int_equal(vuart_read(u, VUART_LSR) & VUART_LSR_DR, VUART_LSR_DR);
	/* A second byte overruns the one-byte holding register. */
	vuart_write(u, VUART_IER, VUART_IER_ELSI | VUART_IER_ERBFI);
	vuart_write(u, VUART_THR, 0x33);
	assert_true(irq_line);
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_RLSI);
	assert_int_equal(vuart_read(u, VUART_LSR) & (VUART_LSR_OE | VUART_LSR_DR), VUART_LSR_OE | VUART_LSR_DR);
	/* LSR read cleared OE: now the data interrupt shows. */
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_RDI);
	assert_int_equal(vuart_read(u, VUART_RBR), 0x5a);
	assert_false(irq_line);
	/* Leaving loopback lets the queued console byte in. */
	vuart_write(u, VUART_MCR, 0);
	assert_int_equal(vuart_read(u, VUART_RBR), 'z');
	assert_int_equal(vuart_read(u, VUART_MSR) & 0xf0, VUART_MSR_CTS | VUART_MSR_DSR | VUART_MSR_DCD);
}

static void test_modem_status_interrupt(void **state)
{
	struct vuart *u = *state;

	vuart_write(u, VUART_IER, VUART_IER_EDSSI);
	assert_false(irq_line);
	vuart_write(u, VUART_MCR, VUART_MCR_LOOP | VUART_MCR_RTS | VUART_MCR_DTR | VUART_MCR_OUT2);
	vuart_write(u, VUART_MCR, VUART_MCR_LOOP); /* CTS, DSR, DCD drop: deltas */
	assert_true(irq_line);
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_MSI);
	vuart_read(u, VUART_MSR);
	assert_false(irq_line);
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_NONE);
}

static void test_interrupt_priority(void **state)
{
	struct vuart *u = *state;

	vuart_write(u, VUART_FCR, VUART_FCR_ENABLE);
	vuart_write(u, VUART_MCR, VUART_MCR_LOOP);
	vuart_read(u, VUART_MSR); /* clear deltas from entering loopback */
	for (int i = 0; i < VUART_FIFO_SIZE + 1; i++)
		vuart_write(u, VUART_THR, (u8)i); /* the last one overruns */
	vuart_write(u, VUART_MCR, VUART_MCR_LOOP | VUART_MCR_RTS); /* modem delta */
	vuart_write(u, VUART_IER, VUART_IER_MASK);
	assert_int_equal(vuart_read(u, VUART_IIR) & 0x0f, VUART_IIR_RLSI);
	vuart_read(u, VUART_LSR);
	assert_int_equal(vuart_read(u, VUART_IIR) & 0x0f, VUART_IIR_RDI);
	for (int i = 0; i < VUART_FIFO_SIZE; i++)
		assert_int_equal(vuart_read(u, VUART_RBR), i);
	assert_int_equal(vuart_read(u, VUART_IIR) & 0x0f, VUART_IIR_THRI);
	assert_int_equal(vuart_read(u, VUART_IIR) & 0x0f, VUART_IIR_MSI);
	vuart_read(u, VUART_MSR);
	assert_int_equal(vuart_read(u, VUART_IIR) & 0x0f, VUART_IIR_NONE);
	assert_false(irq_line);
}

static void test_fcr_clears_fifo(void **state)
{
	struct vuart *u = *state;

	vuart_write(u, VUART_FCR, VUART_FCR_ENABLE);
	vuart_write(u, VUART_MCR, VUART_MCR_LOOP);
	vuart_write(u, VUART_THR, 1);
	vuart_write(u, VUART_THR, 2);
	assert_int_equal(u->rx_count, 2);
	vuart_write(u, VUART_FCR, VUART_FCR_ENABLE | VUART_FCR_CLEAR_RX);
	assert_int_equal(vuart_read(u, VUART_LSR) & VUART_LSR_DR, 0);
	vuart_write(u, VUART_THR, 3);
	assert_int_equal(vuart_read(u, VUART_RBR), 3);
}

static void test_wide_port_access(void **state)
{
	struct vuart *u = *state;
	u64 v = 0;

	/* A 16-bit OUT at LCR writes LCR then MCR. */
	assert_int_equal(vuart_io_ops.write(u, NULL, VUART_LCR, 2, 0x0203), 0);
	assert_int_equal(vuart_read(u, VUART_LCR), 0x03);
	assert_int_equal(vuart_read(u, VUART_MCR), 0x02);
	assert_int_equal(vuart_io_ops.read(u, NULL, VUART_LCR, 2, &v), 0);
	assert_int_equal(v, 0x0203);
	assert_int_equal(vuart_io_ops.read(u, NULL, VUART_LSR, 1, &v), 0);
	assert_int_equal(v, VUART_LSR_THRE | VUART_LSR_TEMT);
	assert_int_equal(vuart_io_ops.write(u, NULL, VUART_THR, 1, 'q'), 0);
	assert_int_equal(vuart_console_pos(u), 1);
}

static void test_on_port_bus(void **state)
{
	struct vuart *u = *state;
	struct io_bus bus;
	u64 v = 0;

	io_bus_init(&bus);
	assert_int_equal(vuart_register(u, &bus, VUART_COM1_BASE), 0);
	assert_int_equal(vuart_register(u, &bus, VUART_COM1_BASE + 4), -EEXIST);
	assert_int_equal(io_bus_write(&bus, NULL, VUART_COM1_BASE + VUART_THR, 1, 'p'), 0);
	assert_int_equal(vuart_console_pos(u), 1);
	assert_int_equal(io_bus_read(&bus, NULL, VUART_COM1_BASE + VUART_LSR, 1, &v), 0);
	assert_int_equal(v, VUART_LSR_THRE | VUART_LSR_TEMT);
	/* COM2 is not there: all ones. */
	assert_int_equal(io_bus_read(&bus, NULL, 0x2f8 + VUART_LSR, 1, &v), 0);
	assert_int_equal(v, 0xff);
}

static void test_console_ring_wrap(void **state)
{
	struct vuart *u = *state;
	static u8 buf[VUART_CONSOLE_SIZE + 64];
	const u64 total = VUART_CONSOLE_SIZE + 100;
	u64 pos = 0, mark;
	bool lost = false;
	size_t n;

	for (u64 i = 0; i < total; i++)
		vuart_write(u, VUART_THR, (u8)(i % 251));
	assert_int_equal(vuart_console_pos(u), total);
	/* Position 0 was overwritten: the read starts at the oldest byte kept. */
	n = vuart_console_read(u, &pos, buf, sizeof(buf), &lost);
	assert_true(lost);
	assert_int_equal(n, VUART_CONSOLE_SIZE);
	assert_int_equal(pos, total);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf[i], (u8)((i + 100) % 251));
	/* A reader that keeps up loses nothing across the wrap point, in small pieces. */
	mark = vuart_console_pos(u);
	for (u64 i = 0; i < 5000; i++)
		vuart_write(u, VUART_THR, (u8)(i % 13));
	pos = mark;
	for (u64 got = 0; got < 5000;) {
		n = vuart_console_read(u, &pos, buf, 7, &lost);
		assert_false(lost);
		assert_true(n > 0);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(buf[i], (u8)((got + i) % 13));
		got += n;
	}
	assert_int_equal(pos, mark + 5000);
	/* One byte too old: lost, and reading resumes at the oldest kept. */
	pos = vuart_console_pos(u) - VUART_CONSOLE_SIZE - 1;
	n = vuart_console_read(u, &pos, buf, 1, &lost);
	assert_true(lost);
	assert_int_equal(n, 1);
	assert_int_equal(pos, vuart_console_pos(u) - VUART_CONSOLE_SIZE + 1);
}

static void test_reset(void **state)
{
	struct vuart *u = *state;
	u64 pos = 0;
	char c;

	put_string(u, "kept");
	vuart_write(u, VUART_IER, VUART_IER_ETBEI | VUART_IER_ERBFI);
	vuart_write(u, VUART_LCR, 0x83);
	vuart_write(u, VUART_FCR, VUART_FCR_ENABLE);
	vuart_console_input(u, "xyz", 3);
	assert_true(irq_line);
	vuart_reset(u);
	assert_false(irq_line);
	assert_int_equal(vuart_read(u, VUART_LCR), 0);
	assert_int_equal(vuart_read(u, VUART_IER), 0);
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_NONE);
	assert_int_equal(vuart_read(u, VUART_LSR), VUART_LSR_THRE | VUART_LSR_TEMT);
	assert_int_equal(vuart_console_pos(u), 4);
	assert_int_equal(vuart_console_read(u, &pos, &c, 1, NULL), 1);
	assert_int_equal(c, 'k');
}

static void test_wait_output(void **state)
{
	struct vuart *u = *state;
	bool stop = true;

	/* The stub aborts if the condition is false: these must return at once. */
	vuart_write(u, VUART_THR, 'w');
	vuart_wait_output(u, 0, NULL);
	vuart_wait_output(u, 1, &stop);
	vuart_wake_readers(u);
}

static void test_no_hooks(void **state)
{
	struct vuart *u = vuart_create(NULL);

	assert_non_null(u);
	vuart_write(u, VUART_IER, VUART_IER_ETBEI);
	vuart_write(u, VUART_THR, 'n');
	assert_int_equal(vuart_read(u, VUART_IIR), VUART_IIR_THRI);
	vuart_destroy(u);
	vuart_destroy(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reset_values),
		T(test_transmit_to_console),
		T(test_thre_interrupt),
		T(test_divisor_latch),
		T(test_receive_nonfifo),
		T(test_fifo_and_trigger_levels),
		T(test_input_queue_limit),
		T(test_loopback),
		T(test_modem_status_interrupt),
		T(test_interrupt_priority),
		T(test_fcr_clears_fifo),
		T(test_wide_port_access),
		T(test_on_port_bus),
		T(test_console_ring_wrap),
		T(test_reset),
		T(test_wait_output),
		cmocka_unit_test(test_no_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
