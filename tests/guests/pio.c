/*
 * Test guest "pio": port I/O of every size against the test device
 * (hv/dev/testdev.h): byte-granular read-back of DATA at every offset, the
 * access counter, and REP INS/OUTS of bytes, words and dwords through the
 * FIFO (forwards, backwards, 16-bit addressing, page-crossing buffers).
 */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "rt/testdev.h"

#define BUF_SIZE 8192
#define LOW_BUF 0x7000U     /* below 64 KiB, for 16-bit address-size string I/O */
#define UNCLAIMED_PORT 0x2f0

static u8 src[BUF_SIZE] __aligned(4096);
static u8 dst[BUF_SIZE] __aligned(4096);
static u8 data_model[4];

/* What a read of `size` bytes at DATA+off returns per the device's rules. */
static u32 model_read(u32 off, u32 size)
{
	u32 v = 0;

	for (u32 i = 0; i < size; i++)
		v |= (u32)(off + i < 4 ? data_model[off + i] : 0xff) << (8 * i);
	return v;
}

static void model_write(u32 off, u32 size, u32 v)
{
	for (u32 i = 0; i < size && off + i < 4; i++)
		data_model[off + i] = (u8)(v >> (8 * i));
}

static u32 port_in(u16 port, u32 size)
{
	return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

static void port_out(u16 port, u32 size, u32 v)
{
	if (size == 1)
		outb(port, (u8)v);
	else if (size == 2)
		outw(port, (u16)v);
	else
		outl(port, v);
}

static bool testdev_present(void)
{
	outl(TESTDEV_PORT_DATA, 0x5aa5c33c);
	return inl(TESTDEV_PORT_DATA) == 0x5aa5c33c;
}

/* Every size at every offset 0..3, written and read back, against the model. */
static void check_data_register(void)
{
	static const u32 sizes[] = { 1, 2, 4 };
	volatile u16 port_var;
	u32 bad = 0, n = 0, seed = 0x1234567;

	outl(TESTDEV_PORT_DATA, 0);
	model_write(0, 4, 0);
	for (u32 w = 0; w < 3; w++)
		for (u32 woff = 0; woff < 4; woff++)
			for (u32 r = 0; r < 3; r++)
				for (u32 roff = 0; roff < 4; roff++) {
					u32 got, want;

					seed = seed * 1103515245 + 12345;
					/* DX form for the write, immediate form for the read where constant. */
					port_var = (u16)(TESTDEV_PORT_DATA + woff);
					port_out(port_var, sizes[w], seed);
					model_write(woff, sizes[w], seed);
					got = port_in((u16)(TESTDEV_PORT_DATA + roff), sizes[r]);
					want = model_read(roff, sizes[r]);
					n++;
					if (got != want && bad++ < 5)
						rt_printf("pio: out%u 0x%x at +%u, in%u at +%u: 0x%x, want 0x%x\n",
							  sizes[w], seed, woff, sizes[r], roff, got, want);
				}
	rt_check(bad == 0, "pio: DATA read-back, %u size/offset combinations (%u wrong)", n, bad);
	rt_check(inb(TESTDEV_PORT_DATA + 3) == data_model[3] && inb(0xe0) == data_model[0],
		 "pio: immediate-port IN forms");
}

static void check_counter(void)
{
	u32 c;

	outl(TESTDEV_PORT_COUNTER, 0);
	for (int i = 0; i < 10; i++)
		inb(TESTDEV_PORT_DATA);
	for (int i = 0; i < 5; i++)
		outw(TESTDEV_PORT_DATA, 0);
	c = inl(TESTDEV_PORT_COUNTER);
	rt_check(c == 16, "pio: counter saw 10 INs, 5 OUTs and its own read (%u)", c);
}

static void fifo_reset(void) { outb(TESTDEV_PORT_FIFO_COUNT, 0); }

static void fill(u8 *p, u32 n, u32 seed)
{
	for (u32 i = 0; i < n; i++)
		p[i] = (u8)(i * 31 + seed + (i >> 8));
}

/* REP OUTS of count units; backwards: with DF=1 (DF is clear again afterwards). */
static void rep_outs(u32 size, const void *from, u32 count, bool backwards)
{
	u32 s = (u32)from, df = backwards;

#define REP_OUTS(insn) \
	__asm__ __volatile__("test %2, %2; jz 1f; std; 1: rep " insn "; cld" \
			     : "+S"(s), "+c"(count) : "r"(df), "d"(TESTDEV_PORT_FIFO) : "memory", "cc")
	if (size == 1)
		REP_OUTS("outsb");
	else if (size == 2)
		REP_OUTS("outsw");
	else
		REP_OUTS("outsl");
#undef REP_OUTS
}

static void rep_ins(u32 size, void *to, u32 count)
{
	u32 d = (u32)to;

	if (size == 1)
		__asm__ __volatile__("rep insb" : "+D"(d), "+c"(count) : "d"(TESTDEV_PORT_FIFO) : "memory");
	else if (size == 2)
		__asm__ __volatile__("rep insw" : "+D"(d), "+c"(count) : "d"(TESTDEV_PORT_FIFO) : "memory");
	else
		__asm__ __volatile__("rep insl" : "+D"(d), "+c"(count) : "d"(TESTDEV_PORT_FIFO) : "memory");
}

/* rep outs of `bytes` at src+off in `size` units, rep ins back into dst+off, compare. */
static void check_fifo_round_trip(u32 size, u32 off, u32 bytes)
{
	u32 n = bytes / size, count, accesses;

	fill(src + off, bytes, size + off);
	memset(dst, 0, sizeof(dst));
	fifo_reset();
	outl(TESTDEV_PORT_COUNTER, 0);
	rep_outs(size, src + off, n, false);
	accesses = inl(TESTDEV_PORT_COUNTER) - 1;
	count = inl(TESTDEV_PORT_FIFO_COUNT);
	rep_ins(size, dst + off, n);
	rt_check(count == bytes && accesses == n && memcmp(src + off, dst + off, bytes) == 0 &&
		 inl(TESTDEV_PORT_FIFO_COUNT) == 0,
		 "pio: rep outs/ins size %u, %u bytes at page offset 0x%x (fifo %u, %u accesses)", size,
		 bytes, (u32)(src + off) & 0xfff, count, accesses);
}

static void check_fifo_forms(void)
{
	u32 n, s, d;
	bool ok = true;

	/* Mixed sizes: dwords in, bytes out, little-endian order. */
	fill(src, 64, 7);
	fifo_reset();
	rep_outs(4, src, 16, false);
	rep_ins(1, dst, 64);
	rt_check(memcmp(src, dst, 64) == 0, "pio: rep outsl then rep insb keep byte order");
	/* Backwards (DF=1): the FIFO receives the buffer reversed. */
	fifo_reset();
	rep_outs(1, src + 99, 100, true);
	rep_ins(1, dst, 100);
	for (u32 i = 0; i < 100; i++)
		ok &= dst[i] == src[99 - i];
	rt_check(ok, "pio: rep outsb with DF=1 walks backwards");
	/* Single OUTS/INS and a zero count. */
	fifo_reset();
	n = 0;
	rep_outs(2, src, n, false);
	s = (u32)src;
	__asm__ __volatile__("outsw; outsb" : "+S"(s) : "d"(TESTDEV_PORT_FIFO) : "memory");
	rt_check(inl(TESTDEV_PORT_FIFO_COUNT) == 3 && s == (u32)src + 3,
		 "pio: single OUTSW + OUTSB, rep count 0 moves nothing");
	memset(dst, 0, 4);
	d = (u32)dst;
	__asm__ __volatile__("insb; insw" : "+D"(d) : "d"(TESTDEV_PORT_FIFO) : "memory");
	rt_check(memcmp(dst, src, 3) == 0 && d == (u32)dst + 3, "pio: single INSB + INSW");
	/* Overflow and underflow. */
	fifo_reset();
	rep_outs(4, src, TESTDEV_FIFO_SIZE / 4 + 8, false);
	n = inl(TESTDEV_PORT_FIFO_COUNT);
	fifo_reset();
	rt_check(n == TESTDEV_FIFO_SIZE && inl(TESTDEV_PORT_FIFO) == 0xffffffffU,
		 "pio: FIFO holds %u bytes, empty FIFO reads ones", n);
}

/* 16-bit address size (0x67): SI/DI/CX instead of ESI/EDI/ECX. */
static void check_addr16(void)
{
	u8 *low_src = (u8 *)LOW_BUF, *low_dst = (u8 *)(LOW_BUF + 0x400);
	u32 si = LOW_BUF, di = LOW_BUF + 0x400, cx = 100;

	fill(low_src, 100, 3);
	memset(low_dst, 0, 100);
	fifo_reset();
	__asm__ __volatile__(".byte 0x67; rep outsb" : "+S"(si), "+c"(cx) : "d"(TESTDEV_PORT_FIFO) : "memory");
	cx = 100;
	__asm__ __volatile__(".byte 0x67; rep insb" : "+D"(di), "+c"(cx) : "d"(TESTDEV_PORT_FIFO) : "memory");
	rt_check(memcmp(low_src, low_dst, 100) == 0 && si == LOW_BUF + 100 && di == LOW_BUF + 0x464,
		 "pio: rep outs/ins with 16-bit addressing (si 0x%x di 0x%x)", si, di);
}

static void check_unclaimed(void)
{
	u32 a = inb(0xe5), b = inw(0xe9), c = inl(UNCLAIMED_PORT);

	outl(UNCLAIMED_PORT, 0x12345678);
	rt_check(a == 0xff && b == 0xffff && c == 0xffffffffU && inb(UNCLAIMED_PORT) == 0xff,
		 "pio: unused test-device ports and an unclaimed port read all ones");
}

void guest_main(void)
{
	static const u32 offsets[] = { 0, 1, 0xffe, 0xffd };

	if (!testdev_present()) {
		if (rt_under_hv())
			rt_fail("pio: test device missing (is 'testdev = yes' in the VM configuration?)");
		else
			rt_skip("pio: no test device at ports 0xe0-0xef (not under hv)");
		return;
	}
	check_data_register();
	check_counter();
	for (u32 size = 1; size <= 4; size *= 2)
		for (u32 i = 0; i < ARRAY_SIZE(offsets); i++)
			check_fifo_round_trip(size, offsets[i], 4000);
	check_fifo_forms();
	check_addr16();
	check_unclaimed();
}
