/* Test device (ports, FIFO, counters, MMIO RAM window) and the debug-exit port, through real buses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "hv/dev/testdev.h"
#include "hv/dev/debugexit.h"
#include "test_vdev_stubs.h"

static struct io_bus pio, mmio;
static int allocs_before;

static u64 in(u16 port, u8 size)
{
	u64 v = 0;

	assert_int_equal(io_bus_read(&pio, NULL, port, size, &v), 0);
	return v;
}

static void out(u16 port, u8 size, u64 v) { assert_int_equal(io_bus_write(&pio, NULL, port, size, v), 0); }

static u64 mrd(u64 off, u8 size)
{
	u64 v = 0;

	assert_int_equal(io_bus_read(&mmio, NULL, TESTDEV_MMIO_BASE + off, size, &v), 0);
	return v;
}

static void mwr(u64 off, u8 size, u64 v)
{
	assert_int_equal(io_bus_write(&mmio, NULL, TESTDEV_MMIO_BASE + off, size, v), 0);
}

static int setup(void **state)
{
	allocs_before = vdev_stub_live_allocs;
	io_bus_init(&pio);
	io_bus_init(&mmio);
	*state = testdev_create();
	if (!*state)
		return -1;
	return testdev_register(*state, &pio, &mmio);
}

static int teardown(void **state)
{
	testdev_destroy(*state);
	assert_int_equal(vdev_stub_live_allocs, allocs_before);
	return 0;
}

static void test_data_register(void **state)
{
	assert_int_equal(in(TESTDEV_PORT_DATA, 4), 0);
	out(TESTDEV_PORT_DATA, 4, 0x11223344);
	assert_int_equal(in(TESTDEV_PORT_DATA, 4), 0x11223344);
	assert_int_equal(in(TESTDEV_PORT_DATA + 1, 1), 0x33);
	assert_int_equal(in(TESTDEV_PORT_DATA + 2, 2), 0x1122);
	assert_int_equal(in(TESTDEV_PORT_DATA + 1, 2), 0x2233);
	/* Byte and word writes at every offset change just those bytes. */
	out(TESTDEV_PORT_DATA + 3, 1, 0xaa);
	assert_int_equal(in(TESTDEV_PORT_DATA, 4), 0xaa223344);
	out(TESTDEV_PORT_DATA + 1, 2, 0xbbcc);
	assert_int_equal(in(TESTDEV_PORT_DATA, 4), 0xaabbcc44);
	/* Bytes past 0xe3 are not the data register. */
	out(TESTDEV_PORT_DATA + 2, 4, 0x55667788);
	assert_int_equal(in(TESTDEV_PORT_DATA, 4), 0x7788cc44);
	assert_int_equal(in(TESTDEV_PORT_DATA, 4) >> 24, 0x77);
	assert_int_equal(in(TESTDEV_PORT_DATA + 3, 2), 0xff77);
}

static void test_fifo(void **state)
{
	struct testdev *t = *state;

	/* Mixed sizes in, other sizes out: the byte stream is what counts. */
	out(TESTDEV_PORT_FIFO, 1, 0x01);
	out(TESTDEV_PORT_FIFO, 2, 0x0302);
	out(TESTDEV_PORT_FIFO, 4, 0x07060504);
	assert_int_equal(in(TESTDEV_PORT_FIFO_COUNT, 4), 7);
	assert_int_equal(in(TESTDEV_PORT_FIFO, 4), 0x04030201);
	assert_int_equal(in(TESTDEV_PORT_FIFO, 2), 0x0605);
	assert_int_equal(in(TESTDEV_PORT_FIFO, 1), 0x07);
	/* Empty: 0xff bytes, counted. */
	assert_int_equal(in(TESTDEV_PORT_FIFO, 2), 0xffff);
	assert_int_equal(t->fifo_underflows, 2);
	/* Fill past the end: the excess is dropped, order kept across the wrap. */
	for (u32 i = 0; i < TESTDEV_FIFO_SIZE / 4 + 1; i++)
		out(TESTDEV_PORT_FIFO, 4, i);
	assert_int_equal(in(TESTDEV_PORT_FIFO_COUNT, 2), TESTDEV_FIFO_SIZE);
	assert_int_equal(t->fifo_overflows, 4);
	for (u32 i = 0; i < TESTDEV_FIFO_SIZE / 4; i++)
		assert_int_equal(in(TESTDEV_PORT_FIFO, 4), i);
	out(TESTDEV_PORT_FIFO, 1, 9);
	out(TESTDEV_PORT_FIFO_COUNT, 1, 0);
	assert_int_equal(in(TESTDEV_PORT_FIFO_COUNT, 4), 0);
}

static void test_counter_and_reserved(void **state)
{
	out(TESTDEV_PORT_COUNTER, 4, 0);
	/* The read counts itself. */
	assert_int_equal(in(TESTDEV_PORT_COUNTER, 4), 1);
	for (int i = 0; i < 10; i++)
		out(TESTDEV_PORT_FIFO, 2, (u64)i);
	in(TESTDEV_PORT_DATA, 1);
	assert_int_equal(in(0xe5, 1), 0xff); /* reserved: all ones, still counted */
	assert_int_equal(in(0xef, 1), 0xff);
	assert_int_equal(in(TESTDEV_PORT_COUNTER, 2), 15);
	out(0xed, 1, 0x12); /* dropped */
	assert_int_equal(in(TESTDEV_PORT_COUNTER, 4), 17);
	/* The ports around are not the test device's. */
	assert_int_equal(in(0xdf, 1), 0xff);
	assert_int_equal(in(0xf0, 1), 0xff);
	assert_int_equal(in(TESTDEV_PORT_COUNTER, 4), 18);
}

static void test_mmio_ram(void **state)
{
	/* Every size at every alignment in the first 16 bytes, against a byte model. */
	u8 model[TESTDEV_RAM_SIZE] = { 0 };
	static const u8 sizes[] = { 1, 2, 4, 8 };
	u64 seed = 0x9e3779b97f4a7c15ULL;

	for (u64 off = 0; off < 16; off++) {
		for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
			u8 size = sizes[s];
			u64 v = (seed = seed * 6364136223846793005ULL + 1442695040888963407ULL);
			u64 expect = 0;

			mwr(off, size, v);
			for (u32 i = 0; i < size; i++)
				model[off + i] = (u8)(v >> (8 * i));
			for (u32 i = 0; i < size; i++)
				expect |= (u64)model[off + i] << (8 * i);
			assert_int_equal(mrd(off, size), expect);
			/* Reading the neighbourhood in other sizes agrees with the model. */
			for (u64 o = 0; o + 8 <= 32; o++) {
				u64 want = 0;

				for (u32 i = 0; i < 8; i++)
					want |= (u64)model[o + i] << (8 * i);
				assert_int_equal(mrd(o, 8), want);
			}
		}
	}
	/* The last bytes of the page. */
	mwr(TESTDEV_RAM_SIZE - 8, 8, 0x0102030405060708ULL);
	assert_int_equal(mrd(TESTDEV_RAM_SIZE - 1, 1), 0x01);
	assert_int_equal(mrd(TESTDEV_RAM_SIZE - 3, 2), 0x0203);
}

static void test_mmio_counters(void **state)
{
	u64 last;

	mwr(TESTDEV_MMIO_ACCESSES, 8, 0);
	assert_int_equal(mrd(TESTDEV_MMIO_ACCESSES, 8), 0);
	mwr(0x10, 4, 0xdeadbeef);
	mwr(0x123, 2, 0xbeef);
	mrd(0x7, 1);
	assert_int_equal(mrd(TESTDEV_MMIO_WRITES, 8), 2);
	assert_int_equal(mrd(TESTDEV_MMIO_READS, 8), 1);
	assert_int_equal(mrd(TESTDEV_MMIO_ACCESSES, 4), 3);
	assert_int_equal(mrd(TESTDEV_MMIO_ACCESSES, 1), 3);
	/* The last RAM access: offset, size and direction. */
	last = mrd(TESTDEV_MMIO_LAST, 8);
	assert_int_equal(last, 0x7 | (1ULL << 16));
	mwr(0xabc, 8, 1);
	assert_int_equal(mrd(TESTDEV_MMIO_LAST, 8), 0xabc | (8ULL << 16) | TESTDEV_LAST_WRITE);
	assert_int_equal(mrd(TESTDEV_MMIO_LAST + 2, 1), 8);
	/* Unknown register-page offsets read all ones; a counter write resets them all. */
	assert_int_equal(mrd(0x1800, 4), 0xffffffffULL);
	mwr(TESTDEV_MMIO_READS, 1, 0);
	assert_int_equal(mrd(TESTDEV_MMIO_ACCESSES, 8), 0);
	assert_int_equal(mrd(TESTDEV_MMIO_LAST, 8), 0);
	/* An access straddling into the register page: the RAM part only. */
	mwr(TESTDEV_RAM_SIZE - 2, 4, 0x11223344);
	assert_int_equal(mrd(TESTDEV_RAM_SIZE - 2, 2), 0x3344);
	assert_int_equal(mrd(TESTDEV_MMIO_WRITES, 8), 1);
	/* Outside the window: unclaimed. */
	assert_int_equal(mrd(TESTDEV_MMIO_SIZE, 4), 0xffffffffULL);
}

static void test_reset(void **state)
{
	struct testdev *t = *state;

	out(TESTDEV_PORT_DATA, 4, 0x12345678);
	out(TESTDEV_PORT_FIFO, 1, 1);
	mwr(0, 8, ~0ULL);
	testdev_reset(t);
	assert_int_equal(in(TESTDEV_PORT_DATA, 4), 0);
	assert_int_equal(in(TESTDEV_PORT_FIFO_COUNT, 4), 0);
	assert_int_equal(mrd(0, 8), 0);
	assert_int_equal(in(TESTDEV_PORT_COUNTER, 4), 3);
}

/* ---- debug-exit ---- */
static u32 end_value;
static u64 end_status;
static int end_calls;

static void hook_end(void *ctx, u32 value, u64 status)
{
	assert_ptr_equal(ctx, &end_calls);
	end_value = value;
	end_status = status;
	end_calls++;
}

static void test_debugexit(void **state)
{
	static const struct debugexit_hooks h = { .ctx = &end_calls, .end = hook_end };
	struct debugexit *d = debugexit_create(&h);
	struct io_bus bus;
	u64 v = 0;

	assert_non_null(d);
	io_bus_init(&bus);
	assert_int_equal(debugexit_register(d, &bus), 0);
	/* Reads: all ones of the access size. */
	assert_int_equal(io_bus_read(&bus, NULL, DEBUGEXIT_PORT, 1, &v), 0);
	assert_int_equal(v, 0xff);
	assert_int_equal(io_bus_read(&bus, NULL, DEBUGEXIT_PORT, 4, &v), 0);
	assert_int_equal(v, 0xffffffffULL);
	assert_int_equal(end_calls, 0);
	/* Writes of each size end the VM with (v << 1) | 1. */
	assert_int_equal(io_bus_write(&bus, NULL, DEBUGEXIT_PORT, 1, 0x1234), 0);
	assert_int_equal(end_calls, 1);
	assert_int_equal(end_value, 0x34);
	assert_int_equal(end_status, 0x69);
	assert_int_equal(io_bus_write(&bus, NULL, DEBUGEXIT_PORT, 2, 0x10000 | 0x21), 0);
	assert_int_equal(end_value, 0x21);
	assert_int_equal(end_status, 0x43);
	assert_int_equal(io_bus_write(&bus, NULL, DEBUGEXIT_PORT, 4, 0xffffffffULL), 0);
	assert_int_equal(end_value, 0xffffffffU);
	assert_int_equal(end_status, 0x1ffffffffULL);
	assert_int_equal(io_bus_write(&bus, NULL, DEBUGEXIT_PORT, 4, 0), 0);
	assert_int_equal(end_status, 1);
	assert_int_equal(d->writes, 4);
	assert_int_equal(debugexit_status(0x10), 0x21);
	debugexit_destroy(d);
	/* Without a hook a write is harmless. */
	d = debugexit_create(NULL);
	assert_int_equal(debugexit_io_ops.write(d, NULL, 0, 1, 1), 0);
	debugexit_destroy(d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_data_register),
		T(test_fifo),
		T(test_counter_and_reserved),
		T(test_mmio_ram),
		T(test_mmio_counters),
		T(test_reset),
		cmocka_unit_test(test_debugexit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
