/* Virtual 16550 UART: register model (PC16550D data sheet), receive FIFO, console ring. */
#include "hv/dev/vuart.h"
#include "lib/string.h"
#include "mm/kmalloc.h"

/*
 * Model notes.
 * - Transmission is instantaneous: a byte written to THR is in the console
 *   buffer (or, in loopback, in the receive FIFO) when the OUT returns, so
 *   LSR.THRE and LSR.TEMT always read 1 and the THRE interrupt condition
 *   comes back right after each THR write. The interrupt output drops and
 *   rises again around each THR write, so an edge-triggered input sees an
 *   edge per byte (Linux's 8250 driver needs that THRE interrupt).
 * - The interrupt output is the chip's INTRPT pin: not gated by MCR.OUT2.
 *   On a PC board OUT2 gates the line, but QEMU does not gate it either and
 *   test kernels written for QEMU rely on that.
 * - The character-timeout interrupt is reported at once for data below the
 *   FIFO trigger level (there is no line timing to wait for).
 * - Console input queues behind the FIFO (flow control, not overrun); only
 *   loopback bytes can overrun the FIFO.
 */

static const u8 rx_trigger_bytes[4] = { 1, 4, 8, 14 };

static bool fifo_enabled(const struct vuart *u) { return u->fcr & VUART_FCR_ENABLE; }
static bool in_loopback(const struct vuart *u) { return u->mcr & VUART_MCR_LOOP; }

static u32 rx_capacity(const struct vuart *u)
{
	return fifo_enabled(u) ? VUART_FIFO_SIZE : 1;
}

/* The highest-priority pending interrupt as IIR bits 3:0 (PC16550D table IV). */
static u8 pending_interrupt(const struct vuart *u)
{
	if ((u->ier & VUART_IER_ELSI) && (u->lsr_errors & VUART_LSR_ERRORS))
		return VUART_IIR_RLSI;
	if ((u->ier & VUART_IER_ERBFI) && u->rx_count) {
		if (fifo_enabled(u) && u->rx_count < rx_trigger_bytes[VUART_FCR_TRIGGER(u->fcr)])
			return VUART_IIR_CTI;
		return VUART_IIR_RDI;
	}
	if ((u->ier & VUART_IER_ETBEI) && u->thr_ipending)
		return VUART_IIR_THRI;
	if ((u->ier & VUART_IER_EDSSI) && (u->msr & VUART_MSR_DELTAS))
		return VUART_IIR_MSI;
	return VUART_IIR_NONE;
}

/* Drive the interrupt output from the current state. Lock held. */
static void update_irq(struct vuart *u)
{
	bool level = pending_interrupt(u) != VUART_IIR_NONE;

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->hooks.set_irq)
		u->hooks.set_irq(u->hooks.ctx, level);
}

static void rx_clear(struct vuart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

/* Put one byte into the receive FIFO; false (and LSR.OE) when it is full. */
static bool rx_push(struct vuart *u, u8 b)
{
	if (u->rx_count >= rx_capacity(u)) {
		u->lsr_errors |= VUART_LSR_OE;
		u->overruns++;
		return false;
	}
	u->rx_fifo[(u->rx_head + u->rx_count) % VUART_FIFO_SIZE] = b;
	u->rx_count++;
	u->rx_bytes++;
	return true;
}

/* Move queued console input into the FIFO while there is room (not in loopback). */
static void rx_refill(struct vuart *u)
{
	if (in_loopback(u))
		return;
	while (u->in_count && u->rx_count < rx_capacity(u)) {
		rx_push(u, u->input[u->in_head]);
		u->in_head = (u->in_head + 1) % VUART_INPUT_SIZE;
		u->in_count--;
	}
}

static u8 rx_pop(struct vuart *u)
{
	u8 b;

	if (!u->rx_count)
		return 0;
	b = u->rx_fifo[u->rx_head];
	u->rx_head = (u->rx_head + 1) % VUART_FIFO_SIZE;
	u->rx_count--;
	rx_refill(u);
	return b;
}

static void console_put(struct vuart *u, u8 b)
{
	u->console[u->console_pos % VUART_CONSOLE_SIZE] = b;
	u->console_pos++;
	u->tx_bytes++;
}

/* The modem-status inputs: looped back from MCR, else a terminal that is there. */
static u8 msr_inputs(const struct vuart *u)
{
	u8 m = u->mcr;

	if (!in_loopback(u))
		return VUART_MSR_CTS | VUART_MSR_DSR | VUART_MSR_DCD;
	return ((m & VUART_MCR_RTS) ? VUART_MSR_CTS : 0) | ((m & VUART_MCR_DTR) ? VUART_MSR_DSR : 0) |
	       ((m & VUART_MCR_OUT1) ? VUART_MSR_RI : 0) | ((m & VUART_MCR_OUT2) ? VUART_MSR_DCD : 0);
}

/* Recompute MSR bits 7:4 and latch the delta bits of what changed. */
static void msr_update(struct vuart *u)
{
	u8 old = u->msr, now = msr_inputs(u);
	u8 deltas = old & VUART_MSR_DELTAS;

	if ((old ^ now) & VUART_MSR_CTS)
		deltas |= VUART_MSR_DCTS;
	if ((old ^ now) & VUART_MSR_DSR)
		deltas |= VUART_MSR_DDSR;
	if ((old ^ now) & VUART_MSR_DCD)
		deltas |= VUART_MSR_DDCD;
	if ((old & VUART_MSR_RI) && !(now & VUART_MSR_RI))
		deltas |= VUART_MSR_TERI;
	u->msr = now | deltas;
}

/* Registers to power-on values (PC16550D table V, "master reset"). Lock held. */
static void reset_locked(struct vuart *u)
{
	u->ier = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->fcr = 0;
	u->lsr_errors = 0;
	u->scr = 0;
	u->divisor = 12; /* 9600 baud, what a BIOS leaves behind */
	u->thr_ipending = false;
	rx_clear(u);
	u->in_head = 0;
	u->in_count = 0;
	u->msr = msr_inputs(u);
	update_irq(u);
}

/* THR write: the byte leaves at once; the THRE condition pulses low then high. */
static bool write_thr(struct vuart *u, u8 val)
{
	bool to_console = !in_loopback(u);

	u->thr_ipending = false;
	update_irq(u);
	if (to_console)
		console_put(u, val);
	else
		rx_push(u, val);
	u->thr_ipending = true;
	return to_console;
}

static void write_ier(struct vuart *u, u8 val)
{
	u8 old = u->ier;

	u->ier = val & VUART_IER_MASK;
	/* Enabling ETBEI with THR empty (always, here) raises THRE at once. */
	if (!(old & VUART_IER_ETBEI) && (u->ier & VUART_IER_ETBEI))
		u->thr_ipending = true;
}

static void write_fcr(struct vuart *u, u8 val)
{
	/* Changing the enable bit clears both FIFOs; other bits need it set. */
	if ((val ^ u->fcr) & VUART_FCR_ENABLE)
		rx_clear(u);
	if (!(val & VUART_FCR_ENABLE)) {
		u->fcr = 0;
		rx_refill(u);
		return;
	}
	if (val & VUART_FCR_CLEAR_RX)
		rx_clear(u);
	u->fcr = val & (VUART_FCR_ENABLE | VUART_FCR_DMA | 0xc0);
	rx_refill(u);
}

static void write_mcr(struct vuart *u, u8 val)
{
	bool was_loop = in_loopback(u);

	u->mcr = val & VUART_MCR_MASK;
	msr_update(u);
	if (was_loop && !in_loopback(u))
		rx_refill(u);
}

/* One register write; returns true when a byte went to the console. Lock held. */
static bool write_locked(struct vuart *u, u32 reg, u8 val)
{
	bool dlab = u->lcr & VUART_LCR_DLAB;
	bool sent = false;

	switch (reg) {
	case VUART_THR:
		if (dlab)
			u->divisor = (u->divisor & 0xff00) | val;
		else
			sent = write_thr(u, val);
		break;
	case VUART_IER:
		if (dlab)
			u->divisor = (u->divisor & 0x00ff) | (u16)(val << 8);
		else
			write_ier(u, val);
		break;
	case VUART_FCR:
		write_fcr(u, val);
		break;
	case VUART_LCR:
		u->lcr = val;
		break;
	case VUART_MCR:
		write_mcr(u, val);
		break;
	case VUART_SCR:
		u->scr = val;
		break;
	default: /* LSR and MSR are read-only (factory test writes are not modelled) */
		break;
	}
	update_irq(u);
	return sent;
}

static u8 read_iir(struct vuart *u)
{
	u8 id = pending_interrupt(u);

	/* Reading IIR while it reports THRE clears that condition. */
	if (id == VUART_IIR_THRI)
		u->thr_ipending = false;
	return id | (fifo_enabled(u) ? VUART_IIR_FIFO : 0);
}

static u8 read_lsr(struct vuart *u)
{
	u8 v = u->lsr_errors | VUART_LSR_THRE | VUART_LSR_TEMT;

	if (u->rx_count)
		v |= VUART_LSR_DR;
	u->lsr_errors = 0;
	return v;
}

static u8 read_locked(struct vuart *u, u32 reg)
{
	bool dlab = u->lcr & VUART_LCR_DLAB;
	u8 v = 0xff;

	switch (reg) {
	case VUART_RBR:
		v = dlab ? (u8)u->divisor : rx_pop(u);
		break;
	case VUART_IER:
		v = dlab ? (u8)(u->divisor >> 8) : u->ier;
		break;
	case VUART_IIR:
		v = read_iir(u);
		break;
	case VUART_LCR:
		v = u->lcr;
		break;
	case VUART_MCR:
		v = u->mcr;
		break;
	case VUART_LSR:
		v = read_lsr(u);
		break;
	case VUART_MSR:
		v = u->msr;
		u->msr &= ~VUART_MSR_DELTAS;
		break;
	case VUART_SCR:
		v = u->scr;
		break;
	}
	update_irq(u);
	return v;
}

static void notify_output(struct vuart *u)
{
	wake_up_all(&u->out_wq);
	if (u->hooks.tx_notify)
		u->hooks.tx_notify(u->hooks.ctx);
}

u8 vuart_read(struct vuart *u, u32 reg)
{
	u64 f = spin_lock_irqsave(&u->lock);
	u8 v = read_locked(u, reg & 7);

	spin_unlock_irqrestore(&u->lock, f);
	return v;
}

void vuart_write(struct vuart *u, u32 reg, u8 val)
{
	u64 f = spin_lock_irqsave(&u->lock);
	bool sent = write_locked(u, reg & 7, val);

	spin_unlock_irqrestore(&u->lock, f);
	if (sent)
		notify_output(u);
}

/* Wider port accesses touch consecutive registers, lowest byte first (8-bit device). */
static int vuart_io_read(void *dev, struct vcpu *v, u64 offset, u8 size, u64 *val)
{
	struct vuart *u = dev;
	u64 r = 0;

	for (u32 i = 0; i < size && i < 8; i++)
		r |= (u64)vuart_read(u, (u32)(offset + i)) << (8 * i);
	*val = r;
	return 0;
}

static int vuart_io_write(void *dev, struct vcpu *v, u64 offset, u8 size, u64 val)
{
	struct vuart *u = dev;

	for (u32 i = 0; i < size && i < 8; i++)
		vuart_write(u, (u32)(offset + i), (u8)(val >> (8 * i)));
	return 0;
}

const struct io_ops vuart_io_ops = {
	.read = vuart_io_read,
	.write = vuart_io_write,
};

int vuart_register(struct vuart *u, struct io_bus *pio, u16 base)
{
	return io_bus_register(pio, base, VUART_NR_PORTS, &vuart_io_ops, u, "uart");
}

struct vuart *vuart_create(const struct vuart_hooks *hooks)
{
	struct vuart *u = kzalloc(sizeof(*u));

	if (!u)
		return NULL;
	u->console = kmalloc(VUART_CONSOLE_SIZE);
	if (!u->console) {
		kfree(u);
		return NULL;
	}
	spin_lock_init(&u->lock);
	wait_queue_init(&u->out_wq);
	if (hooks)
		u->hooks = *hooks;
	reset_locked(u);
	return u;
}

void vuart_destroy(struct vuart *u)
{
	if (!u)
		return;
	kfree(u->console);
	kfree(u);
}

void vuart_reset(struct vuart *u)
{
	u64 f = spin_lock_irqsave(&u->lock);

	reset_locked(u);
	spin_unlock_irqrestore(&u->lock, f);
}

size_t vuart_console_read(struct vuart *u, u64 *pos, void *buf, size_t len, bool *lost)
{
	u64 f = spin_lock_irqsave(&u->lock);
	u64 end = u->console_pos;
	u64 oldest = end > VUART_CONSOLE_SIZE ? end - VUART_CONSOLE_SIZE : 0;
	u64 p = *pos;
	bool missed = false;
	size_t n;

	if (p < oldest) {
		p = oldest;
		missed = true;
	}
	if (p > end)
		p = end;
	n = (size_t)MIN((u64)len, end - p);
	for (size_t done = 0; done < n;) {
		size_t at = (size_t)((p + done) % VUART_CONSOLE_SIZE);
		size_t chunk = MIN(n - done, (size_t)VUART_CONSOLE_SIZE - at);

		memcpy((u8 *)buf + done, u->console + at, chunk);
		done += chunk;
	}
	*pos = p + n;
	spin_unlock_irqrestore(&u->lock, f);
	if (lost)
		*lost = missed;
	return n;
}

u64 vuart_console_pos(struct vuart *u)
{
	u64 f = spin_lock_irqsave(&u->lock);
	u64 p = u->console_pos;

	spin_unlock_irqrestore(&u->lock, f);
	return p;
}

size_t vuart_console_input(struct vuart *u, const void *buf, size_t len)
{
	u64 f = spin_lock_irqsave(&u->lock);
	const u8 *b = buf;
	size_t n = 0;

	while (n < len && u->in_count < VUART_INPUT_SIZE) {
		u->input[(u->in_head + u->in_count) % VUART_INPUT_SIZE] = b[n++];
		u->in_count++;
	}
	rx_refill(u);
	update_irq(u);
	spin_unlock_irqrestore(&u->lock, f);
	return n;
}

struct output_wait {
	struct vuart *u;
	u64 pos;
	const bool *stop;
};

static bool output_ready(void *arg)
{
	struct output_wait *w = arg;

	return READ_ONCE(w->u->console_pos) > w->pos || (w->stop && READ_ONCE(*w->stop));
}

void vuart_wait_output(struct vuart *u, u64 pos, const bool *stop)
{
	struct output_wait w = { .u = u, .pos = pos, .stop = stop };

	wait_event(&u->out_wq, output_ready, &w);
}

void vuart_wake_readers(struct vuart *u) { wake_up_all(&u->out_wq); }
