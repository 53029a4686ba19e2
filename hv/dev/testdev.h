/* Test device for the project's test guests: port registers, a FIFO port, and an MMIO RAM window. */
#ifndef HV_HV_DEV_TESTDEV_H
#define HV_HV_DEV_TESTDEV_H

#include "lib/types.h"
#include "hv/iobus.h"
#include "asm/spinlock.h"

/*
 * Created when a VM's configuration says `testdev = yes`.
 *
 * Ports 0xe0-0xef (every access counts, see COUNTER):
 *   0xe0-0xe3 DATA     a 32-bit register kept per byte: any 1/2/4-byte access at
 *                      any of 0xe0-0xe3 reads back what was written to those
 *                      bytes (bytes of an access past 0xe3 read 0xff, writes
 *                      to them are dropped). Reset value 0.
 *   0xe4      FIFO     1/2/4-byte accesses: a write appends its bytes (low byte
 *                      first), a read takes that many bytes off the front, so
 *                      `rep outs` then `rep ins` give the data back in order.
 *                      Holds TESTDEV_FIFO_SIZE bytes: more are dropped; reading
 *                      an empty FIFO gives 0xff bytes. Both are counted.
 *   0xe8      FIFO_COUNT  read: bytes in the FIFO; write (any value): empty it.
 *   0xec      COUNTER  read: accesses to these ports so far, this read
 *                      included (a REP INS/OUTS of n elements is n accesses);
 *                      write (any value): set to 0.
 *   others (0xe5-0xe7, 0xe9-0xeb, 0xed-0xef): reads all ones, writes dropped.
 *
 * MMIO at 0xfe000000, two pages:
 *   0xfe000000-0xfe000fff  RAM: reads give back what was written, every size
 *                      (1, 2, 4, 8) at any alignment; starts zeroed. Bytes of
 *                      an access that run into the register page read 0xff
 *                      and are not written.
 *   0xfe001000 MMIO_ACCESSES  u64: accesses to the RAM page (reads + writes).
 *   0xfe001008 MMIO_READS     u64.
 *   0xfe001010 MMIO_WRITES    u64.
 *   0xfe001018 MMIO_LAST      u64: the last RAM-page access: offset in bits
 *                      15:0, size in bits 23:16, bit 24 set for a write.
 *   Register reads of any size return the bytes at that address (little
 *   endian); a write to any of them sets all four to 0. Register-page
 *   accesses are not counted; the rest of the page reads all ones.
 */
#define TESTDEV_PORT_BASE 0xe0
#define TESTDEV_NR_PORTS 16
#define TESTDEV_PORT_DATA 0xe0
#define TESTDEV_PORT_FIFO 0xe4
#define TESTDEV_PORT_FIFO_COUNT 0xe8
#define TESTDEV_PORT_COUNTER 0xec
#define TESTDEV_FIFO_SIZE 4096

#define TESTDEV_MMIO_BASE 0xfe000000ULL
#define TESTDEV_MMIO_SIZE 0x2000ULL
#define TESTDEV_RAM_SIZE 0x1000U
#define TESTDEV_MMIO_ACCESSES 0x1000U /* offsets in the MMIO window */
#define TESTDEV_MMIO_READS 0x1008U
#define TESTDEV_MMIO_WRITES 0x1010U
#define TESTDEV_MMIO_LAST 0x1018U
#define TESTDEV_LAST_WRITE BIT(24)

/* Locking: `lock` (a spinlock, interrupts off) protects everything. */
struct testdev {
	struct spinlock lock;
	u8 data[4];
	u8 fifo[TESTDEV_FIFO_SIZE];
	u32 fifo_head, fifo_count;
	u64 fifo_overflows, fifo_underflows;
	u64 port_accesses;
	u8 ram[TESTDEV_RAM_SIZE];
	u64 mmio_reads, mmio_writes;
	u64 mmio_last;
};

/* Port ops for [TESTDEV_PORT_BASE, +TESTDEV_NR_PORTS) and MMIO ops for the window; dev = testdev. */
extern const struct io_ops testdev_pio_ops;
extern const struct io_ops testdev_mmio_ops;

/* A zeroed device; NULL when out of memory. */
struct testdev *testdev_create(void);
void testdev_destroy(struct testdev *t);
/* Back to the zeroed state (VM reset). */
void testdev_reset(struct testdev *t);
/* Register the ports and the MMIO window on a VM's buses. 0 or io_bus_register's error. */
int testdev_register(struct testdev *t, struct io_bus *pio, struct io_bus *mmio);

#endif
