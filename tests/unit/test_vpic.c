/* Virtual dual 8259A: init sequence, masks, IRR/ISR reads, priorities, EOI forms, cascade, ELCR, poll. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "hv/dev/vpic.h"
#include "test_vdev_stubs.h"

static bool intr;
static int intr_changes;
static struct io_bus bus;

static void hook_output(void *ctx, bool level)
{
	assert_ptr_equal(ctx, &intr);
	assert_true(level != intr);
	intr = level;
	intr_changes++;
}

static const struct vpic_hooks hooks = { .ctx = &intr, .set_output = hook_output };

/* Guest-style port I/O through the VM's bus, as the core will dispatch it. */
static void outb(u16 port, u8 v) { assert_int_equal(io_bus_write(&bus, NULL, port, 1, v), 0); }
static u8 inb(u16 port)
{
	u64 v = 0;

	assert_int_equal(io_bus_read(&bus, NULL, port, 1, &v), 0);
	return (u8)v;
}

/* The usual PC programming: master at 0x20, slave at 0x28 on IRQ 2, 8086 mode. */
static void init_pair(u8 icw4)
{
	outb(0x20, 0x11);
	outb(0x21, 0x20);
	outb(0x21, 0x04);
	outb(0x21, icw4);
	outb(0xa0, 0x11);
	outb(0xa1, 0x28);
	outb(0xa1, 0x02);
	outb(0xa1, icw4);
}

static u8 read_isr(u16 cmd)
{
	outb(cmd, 0x0b);
	return inb(cmd);
}

static u8 read_irr(u16 cmd)
{
	outb(cmd, 0x0a);
	return inb(cmd);
}

static int allocs_before;

static int setup(void **state)
{
	allocs_before = vdev_stub_live_allocs;
	intr = false;
	intr_changes = 0;
	io_bus_init(&bus);
	*state = vpic_create(&hooks);
	if (!*state)
		return -1;
	return vpic_register(*state, &bus);
}

static int teardown(void **state)
{
	vpic_destroy(*state);
	assert_int_equal(vdev_stub_live_allocs, allocs_before);
	return 0;
}

static void test_reset_state(void **state)
{
	struct vpic *p = *state;

	assert_int_equal(inb(0x21), 0xff);
	assert_int_equal(inb(0xa1), 0xff);
	assert_int_equal(inb(0x20), 0); /* IRR */
	assert_int_equal(inb(0x4d0), 0);
	assert_int_equal(inb(0x4d1), 0);
	/* Fully masked: a raised input does not reach INTR. */
	vpic_set_irq(p, 4, true);
	assert_false(intr);
	assert_int_equal(read_irr(0x20), 0x10);
	assert_int_equal(vpic_pending_vector(p), -1);
}

static void test_init_and_masks(void **state)
{
	struct vpic *p = *state;

	init_pair(0x01);
	/* ICW1 clears IMR. */
	assert_int_equal(inb(0x21), 0);
	assert_int_equal(inb(0xa1), 0);
	assert_int_equal(p->chip[0].vector_base, 0x20);
	assert_int_equal(p->chip[1].vector_base, 0x28);
	assert_int_equal(p->chip[0].icw3, 0x04);
	assert_int_equal(p->chip[1].icw3, 0x02);
	outb(0x21, 0xfb); /* all but the cascade */
	outb(0xa1, 0xff);
	assert_int_equal(inb(0x21), 0xfb);
	assert_int_equal(inb(0xa1), 0xff);
	vpic_set_irq(p, 1, true);
	vpic_set_irq(p, 12, true);
	assert_false(intr);
	assert_int_equal(read_irr(0x20), 0x02);
	assert_int_equal(read_irr(0xa0), 0x10);
	/* Unmasking delivers what was latched. */
	outb(0x21, 0xf9);
	assert_true(intr);
	assert_int_equal(vpic_pending_vector(p), 0x21);
	/* A second ICW1 starts over: masks and requests cleared, base reprogrammed. */
	outb(0x20, 0x11);
	outb(0x21, 0x30);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	assert_false(intr);
	assert_int_equal(inb(0x21), 0);
	assert_int_equal(read_irr(0x20), 0);
	/* Single mode without ICW4: ICW2 is the last word; the next data write is OCW1. */
	outb(0xa0, 0x12);
	outb(0xa1, 0x70);
	outb(0xa1, 0x5a);
	assert_int_equal(inb(0xa1), 0x5a);
	assert_int_equal(p->chip[1].vector_base, 0x70);
}

static void test_ack_and_eoi(void **state)
{
	struct vpic *p = *state;

	init_pair(0x01);
	vpic_set_irq(p, 1, true);
	assert_true(intr);
	assert_int_equal(vpic_ack(p), 0x21);
	assert_false(intr);
	assert_int_equal(read_isr(0x20), 0x02);
	assert_int_equal(read_irr(0x20), 0x00);
	/* Lower priority waits while IRQ 1 is in service; higher priority nests. */
	vpic_set_irq(p, 5, true);
	assert_false(intr);
	vpic_set_irq(p, 0, true);
	assert_true(intr);
	assert_int_equal(vpic_ack(p), 0x20);
	assert_int_equal(read_isr(0x20), 0x03);
	/* Non-specific EOI retires the highest priority in service (IRQ 0). */
	outb(0x20, 0x20);
	assert_int_equal(read_isr(0x20), 0x02);
	assert_false(intr);
	outb(0x20, 0x20);
	assert_true(intr);
	assert_int_equal(vpic_ack(p), 0x25);
	/* Specific EOI names the level. */
	outb(0x20, 0x60 | 5);
	assert_int_equal(read_isr(0x20), 0);
	/* Masking in service does not retire it. */
	vpic_set_irq(p, 5, false);
	vpic_set_irq(p, 5, true);
	assert_int_equal(vpic_ack(p), 0x25);
	outb(0x21, 0x20);
	assert_int_equal(read_isr(0x20), 0x20);
	/* Nothing pending: spurious IRQ 7, nothing in service. */
	outb(0x20, 0x20);
	assert_int_equal(vpic_ack(p), 0x27);
	assert_int_equal(read_isr(0x20), 0);
}

static void test_edge_and_level(void **state)
{
	struct vpic *p = *state;

	init_pair(0x01);
	/* Edge: a line held high requests once. */
	vpic_set_irq(p, 3, true);
	assert_int_equal(vpic_ack(p), 0x23);
	outb(0x20, 0x20);
	vpic_set_irq(p, 3, true);
	assert_false(intr);
	vpic_set_irq(p, 3, false);
	vpic_set_irq(p, 3, true);
	assert_true(intr);
	assert_int_equal(vpic_ack(p), 0x23);
	outb(0x20, 0x20);
	/* Level (ELCR): requests again after EOI while the line is high, stops when it drops. */
	outb(0x4d1, 0xff);
	assert_int_equal(inb(0x4d1), 0xde); /* IRQ 8 and 13 stay edge */
	outb(0x4d0, 0xff);
	assert_int_equal(inb(0x4d0), 0xf8);
	vpic_set_irq(p, 10, true);
	assert_true(intr);
	assert_int_equal(vpic_ack(p), 0x2a);
	assert_int_equal(read_isr(0xa0), 0x04);
	assert_int_equal(read_isr(0x20), 0x04);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	assert_true(intr);
	assert_int_equal(read_irr(0xa0), 0x04);
	vpic_set_irq(p, 10, false);
	assert_false(intr);
	assert_int_equal(read_irr(0xa0), 0);
	assert_int_equal(vpic_pending_vector(p), -1);
}

static void test_cascade_priorities(void **state)
{
	struct vpic *p = *state;

	init_pair(0x01);
	vpic_set_irq(p, 12, true);
	vpic_set_irq(p, 9, true);
	vpic_set_irq(p, 4, true);
	/* Slave inputs sit at master priority 2: above IRQ 4. */
	assert_int_equal(vpic_pending_vector(p), 0x29);
	assert_int_equal(vpic_ack(p), 0x29);
	/* IRQ 12 waits for the slave EOI; IRQ 4 waits for the cascade EOI. */
	assert_false(intr);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	assert_int_equal(vpic_ack(p), 0x2c);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	assert_int_equal(vpic_ack(p), 0x24);
	outb(0x20, 0x20);
	assert_false(intr);
	/* A masked slave input does not raise the cascade. */
	outb(0xa1, 0x01);
	vpic_set_irq(p, 8, true);
	assert_false(intr);
	outb(0xa1, 0x00);
	assert_int_equal(vpic_ack(p), 0x28);
}

static void test_auto_eoi_and_rotation(void **state)
{
	struct vpic *p = *state;

	init_pair(0x03); /* auto-EOI */
	vpic_set_irq(p, 6, true);
	assert_int_equal(vpic_ack(p), 0x26);
	assert_int_equal(read_isr(0x20), 0);
	/* Set priority: IRQ 4 lowest, so IRQ 5 is now the highest. */
	init_pair(0x01);
	outb(0x20, 0xc0 | 4);
	vpic_set_irq(p, 0, true);
	vpic_set_irq(p, 6, true);
	assert_int_equal(vpic_ack(p), 0x26);
	/* Rotate on non-specific EOI: IRQ 6 becomes the lowest, IRQ 7 the highest. */
	outb(0x20, 0xa0);
	assert_int_equal(read_isr(0x20), 0);
	vpic_set_irq(p, 6, false);
	vpic_set_irq(p, 6, true);
	vpic_set_irq(p, 7, true);
	assert_int_equal(vpic_ack(p), 0x27);
	outb(0x20, 0x20);
	assert_int_equal(vpic_ack(p), 0x20);
	outb(0x20, 0x20);
	assert_int_equal(vpic_ack(p), 0x26);
	outb(0x20, 0x20);
	assert_false(intr);
}

static void test_poll_and_special_mask(void **state)
{
	struct vpic *p = *state;

	init_pair(0x01);
	outb(0x21, 0xff);
	vpic_set_irq(p, 3, true);
	/* Poll with nothing unmasked: 0. */
	outb(0x20, 0x0c);
	assert_int_equal(inb(0x20), 0);
	outb(0x21, 0x00);
	outb(0x20, 0x0c);
	assert_int_equal(inb(0x20), 0x83);
	assert_int_equal(read_isr(0x20), 0x08);
	/* The poll is one read only: the next read is the selected register again. */
	assert_int_equal(inb(0x20), 0x08);
	/* Special mask mode: masking IRQ 3 in service lets lower priorities through. */
	vpic_set_irq(p, 6, true);
	assert_false(intr);
	outb(0x21, 0x08);
	outb(0x20, 0x68); /* OCW3: ESMM|SMM */
	assert_true(intr);
	assert_int_equal(vpic_ack(p), 0x26);
	outb(0x20, 0x48); /* leave special mask mode */
	assert_false(intr);
}

static void test_wide_and_direct_access(void **state)
{
	struct vpic *p = *state;
	u64 v = 0;

	init_pair(0x01);
	/* A 16-bit write at the command port: command then data. */
	assert_int_equal(io_bus_write(&bus, NULL, 0x20, 2, 0x5a0b), 0);
	assert_int_equal(vpic_read(p, 0x21), 0x5a);
	assert_int_equal(io_bus_read(&bus, NULL, 0xa0, 2, &v), 0);
	assert_int_equal(v, 0x0000);
	vpic_write(p, 0x4d1, 0x04);
	assert_int_equal(vpic_read(p, 0x4d1), 0x04);
	vpic_set_irq(p, 99, true); /* out of range: ignored */
	assert_int_equal(intr_changes, 0);
	vpic_reset(p);
	assert_int_equal(vpic_read(p, 0x21), 0xff);
	assert_int_equal(vpic_read(p, 0x4d1), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reset_state),
		T(test_init_and_masks),
		T(test_ack_and_eoi),
		T(test_edge_and_level),
		T(test_cascade_priorities),
		T(test_auto_eoi_and_rotation),
		T(test_poll_and_special_mask),
		T(test_wide_and_direct_access),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
