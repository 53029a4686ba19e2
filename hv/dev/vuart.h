/* Virtual 16550 UART (PC16550D) of a VM, with the per-VM console buffer of its output. */
#ifndef HV_HV_DEV_VUART_H
#define HV_HV_DEV_VUART_H

#include "lib/types.h"
#include "hv/iobus.h"
#include "kernel/thread.h"

#define VUART_COM1_BASE 0x3f8
#define VUART_COM1_IRQ 4
#define VUART_NR_PORTS 8

/* Register offsets (PC16550D data sheet, table II). */
#define VUART_RBR 0 /* receive buffer (read, DLAB=0) */
#define VUART_THR 0 /* transmit holding (write, DLAB=0) */
#define VUART_DLL 0 /* divisor latch low (DLAB=1) */
#define VUART_IER 1 /* interrupt enable (DLAB=0) */
#define VUART_DLM 1 /* divisor latch high (DLAB=1) */
#define VUART_IIR 2 /* interrupt identification (read) */
#define VUART_FCR 2 /* FIFO control (write) */
#define VUART_LCR 3
#define VUART_MCR 4
#define VUART_LSR 5
#define VUART_MSR 6
#define VUART_SCR 7

#define VUART_IER_ERBFI BIT(0) /* received data available */
#define VUART_IER_ETBEI BIT(1) /* transmitter holding register empty */
#define VUART_IER_ELSI BIT(2)  /* receiver line status */
#define VUART_IER_EDSSI BIT(3) /* modem status */
#define VUART_IER_MASK 0x0fU

#define VUART_IIR_NONE 0x01U   /* bit 0 set: no interrupt pending */
#define VUART_IIR_MSI 0x00U    /* modem status */
#define VUART_IIR_THRI 0x02U   /* transmitter holding register empty */
#define VUART_IIR_RDI 0x04U    /* received data available (trigger level reached) */
#define VUART_IIR_RLSI 0x06U   /* receiver line status */
#define VUART_IIR_CTI 0x0cU    /* character timeout (FIFO mode, below trigger level) */
#define VUART_IIR_FIFO 0xc0U   /* FIFOs enabled */

#define VUART_FCR_ENABLE BIT(0)
#define VUART_FCR_CLEAR_RX BIT(1)
#define VUART_FCR_CLEAR_TX BIT(2)
#define VUART_FCR_DMA BIT(3)
#define VUART_FCR_TRIGGER(fcr) (((fcr) >> 6) & 3) /* 1, 4, 8 or 14 bytes */

#define VUART_LCR_DLAB BIT(7)

#define VUART_MCR_DTR BIT(0)
#define VUART_MCR_RTS BIT(1)
#define VUART_MCR_OUT1 BIT(2)
#define VUART_MCR_OUT2 BIT(3)
#define VUART_MCR_LOOP BIT(4)
#define VUART_MCR_MASK 0x1fU

#define VUART_LSR_DR BIT(0)
#define VUART_LSR_OE BIT(1)
#define VUART_LSR_PE BIT(2)
#define VUART_LSR_FE BIT(3)
#define VUART_LSR_BI BIT(4)
#define VUART_LSR_THRE BIT(5)
#define VUART_LSR_TEMT BIT(6)
#define VUART_LSR_ERRORS (VUART_LSR_OE | VUART_LSR_PE | VUART_LSR_FE | VUART_LSR_BI)

#define VUART_MSR_DCTS BIT(0)
#define VUART_MSR_DDSR BIT(1)
#define VUART_MSR_TERI BIT(2)
#define VUART_MSR_DDCD BIT(3)
#define VUART_MSR_CTS BIT(4)
#define VUART_MSR_DSR BIT(5)
#define VUART_MSR_RI BIT(6)
#define VUART_MSR_DCD BIT(7)
#define VUART_MSR_DELTAS 0x0fU

#define VUART_FIFO_SIZE 16
#define VUART_INPUT_SIZE 1024     /* console input waiting "on the wire" behind the FIFO */
#define VUART_CONSOLE_SIZE (64 * 1024) /* console ring; a power of two */

/*
 * What the VM provides. All optional (NULL: nothing happens).
 * set_irq: the UART's interrupt output changed level. Called with the vuart
 *   lock held and interrupts off: it must not sleep nor call back into this
 *   vuart (it typically raises an IOAPIC/PIC input and kicks a vCPU).
 * tx_notify: new bytes reached the console buffer. Called with no vuart lock
 *   held, on the vCPU thread that wrote THR.
 */
struct vuart_hooks {
	void *ctx;
	void (*set_irq)(void *ctx, bool level);
	void (*tx_notify)(void *ctx);
};

/*
 * Locking: `lock` (a spinlock, taken with interrupts off) protects every
 * field below except `hooks` (fixed at creation) and `out_wq` (its own lock).
 */
struct vuart {
	struct spinlock lock;
	struct vuart_hooks hooks;

	u8 ier, lcr, mcr, lsr_errors, msr, scr, fcr;
	u16 divisor;
	bool thr_ipending;      /* THRE interrupt condition (cleared by IIR read / THR write) */
	bool irq_level;         /* last level given to set_irq */

	u8 rx_fifo[VUART_FIFO_SIZE];
	u32 rx_head, rx_count;  /* in FIFO-disabled mode rx_count is at most 1 */
	u8 input[VUART_INPUT_SIZE];
	u32 in_head, in_count;  /* bytes from vuart_console_input not yet in the FIFO */

	u8 *console;            /* VUART_CONSOLE_SIZE bytes */
	u64 console_pos;        /* bytes ever transmitted; byte i is at console[i % SIZE] */
	struct wait_queue out_wq; /* readers in vuart_wait_output */

	u64 tx_bytes, rx_bytes, overruns;
};

/* Port ops for [VUART_COM1_BASE, +VUART_NR_PORTS); dev is the struct vuart *. */
extern const struct io_ops vuart_io_ops;

/*
 * Allocate a UART in its reset state with an empty console buffer. hooks may
 * be NULL. Returns NULL when out of memory.
 */
struct vuart *vuart_create(const struct vuart_hooks *hooks);
/* Free it. The caller makes sure no vCPU or reader uses it any more. */
void vuart_destroy(struct vuart *u);
/*
 * Master reset (VM reset): registers to their power-on values, FIFOs and
 * pending input emptied, interrupt output low. The console buffer is kept.
 */
void vuart_reset(struct vuart *u);

/* Register the UART's eight ports at `base` (VUART_COM1_BASE) on a VM's port bus. 0 or -errno. */
int vuart_register(struct vuart *u, struct io_bus *pio, u16 base);

/*
 * Register access at `reg` (0..7), one byte: what a guest IN/OUT does.
 * Exposed for tests and for other bus front-ends; takes the lock.
 */
u8 vuart_read(struct vuart *u, u32 reg);
void vuart_write(struct vuart *u, u32 reg, u8 val);

/*
 * Copy console output from position *pos on into buf (at most len bytes) and
 * advance *pos. When *pos is older than what the ring still holds, copying
 * starts at the oldest byte kept and *lost (if not NULL) is set to true,
 * else false. A *pos beyond the end is treated as the end. Returns the
 * number of bytes copied (0: nothing new). Any thread; takes the lock.
 */
size_t vuart_console_read(struct vuart *u, u64 *pos, void *buf, size_t len, bool *lost);
/* The position just after the newest byte (start here to see only new output). */
u64 vuart_console_pos(struct vuart *u);
/*
 * Send bytes to the guest (the shell's `console` command). They queue behind
 * the receive FIFO and move into it as the guest reads. Returns how many were
 * accepted (fewer than len when the input queue is full).
 */
size_t vuart_console_input(struct vuart *u, const void *buf, size_t len);

/*
 * Sleep until the console holds output beyond `pos`, or *stop is true after
 * a vuart_wake_readers(). Thread context only, no locks held.
 */
void vuart_wait_output(struct vuart *u, u64 pos, const bool *stop);
/* Wake every thread in vuart_wait_output so it rechecks its condition. */
void vuart_wake_readers(struct vuart *u);

#endif
