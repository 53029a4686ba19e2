/* The kernel message log: a ring buffer of text lines plus console output. */
#include "kernel/log.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "asm/spinlock.h"

#define LOG_BUF_SIZE (64 * 1024)
#define LOG_MAX_CONSOLES 4
#define LOG_LINE_MAX 512

/* log_lock protects ring[], head, tail and the console list. */
static struct spinlock log_lock = SPINLOCK_INIT;
static char ring[LOG_BUF_SIZE];
static size_t head; /* total bytes ever written; ring index is head % size */
static size_t tail; /* first byte still held (always at a line start) */
static console_write_fn consoles[LOG_MAX_CONSOLES];
static int nconsoles;
static int console_level = LOG_INFO;
static u64 (*clock_ns)(void);
static unsigned (*cpu_id_fn)(void);
static bool at_line_start = true;
static bool panic_mode;

void log_enter_panic(void) { WRITE_ONCE(panic_mode, true); }

/*
 * Take the log lock; in panic mode give up after a bounded wait and go on
 * without it (returns false then), so a CPU stopped while holding it cannot
 * silence the panic report.
 */
static bool log_lock_acquire(u64 *flags)
{
	*flags = irq_save();
	if (!READ_ONCE(panic_mode)) {
		spin_lock(&log_lock);
		return true;
	}
	for (long i = 0; i < 50000000; i++) {
		if (spin_trylock(&log_lock))
			return true;
		cpu_relax();
	}
	return false;
}

static void log_lock_release(bool locked, u64 flags)
{
	if (locked)
		spin_unlock(&log_lock);
	irq_restore(flags);
}

void log_set_clock(u64 (*now_ns)(void)) { clock_ns = now_ns; }
void log_set_cpu_id(unsigned (*fn)(void)) { cpu_id_fn = fn; }
int log_get_console_level(void) { return console_level; }

void log_set_console_level(int level)
{
	if (level < LOG_EMERG)
		level = LOG_EMERG;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	console_level = level;
}

void log_register_console(console_write_fn fn)
{
	u64 f = spin_lock_irqsave(&log_lock);

	if (nconsoles < LOG_MAX_CONSOLES)
		consoles[nconsoles++] = fn;
	spin_unlock_irqrestore(&log_lock, f);
}

static void consoles_write(const char *s, size_t len)
{
	for (int i = 0; i < nconsoles; i++)
		consoles[i](s, len);
}

void console_write(const char *s, size_t len)
{
	u64 f;
	bool locked = log_lock_acquire(&f);

	consoles_write(s, len);
	log_lock_release(locked, f);
}

/* Drop whole lines from the tail until n more bytes fit. */
static void ring_make_room(size_t n)
{
	while (head + n - tail > LOG_BUF_SIZE) {
		while (tail < head && ring[tail % LOG_BUF_SIZE] != '\n')
			tail++;
		tail++;
	}
}

static void ring_append(const char *s, size_t n)
{
	if (n > LOG_BUF_SIZE / 2)
		n = LOG_BUF_SIZE / 2;
	ring_make_room(n);
	for (size_t i = 0; i < n; i++)
		ring[(head + i) % LOG_BUF_SIZE] = s[i];
	head += n;
}

void vprintk(int level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n = 0;
	bool locked;
	u64 f;

	if (at_line_start) {
		u64 ns = clock_ns ? clock_ns() : 0;
		unsigned cpu = cpu_id_fn ? cpu_id_fn() : 0;

		n = (size_t)ksnprintf(line, sizeof(line), "[%5llu.%06llu] cpu%u: ",
				      (unsigned long long)(ns / 1000000000ULL),
				      (unsigned long long)(ns % 1000000000ULL / 1000), cpu);
	}
	n += (size_t)kvsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n >= sizeof(line) - 1) {
		n = sizeof(line) - 2;
		line[n++] = '\n';
		line[n] = '\0';
	}

	locked = log_lock_acquire(&f);
	ring_append(line, n);
	at_line_start = n && line[n - 1] == '\n';
	if (level <= console_level)
		consoles_write(line, n);
	log_lock_release(locked, f);
}

void printk(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(level, fmt, ap);
	va_end(ap);
}

size_t log_dump(void (*out)(const char *line, size_t len, void *ctx), void *ctx)
{
	static char copy[LOG_BUF_SIZE];
	static struct spinlock dump_lock = SPINLOCK_INIT;
	size_t len, lines = 0, start = 0;
	u64 f;

	spin_lock(&dump_lock);
	f = spin_lock_irqsave(&log_lock);
	len = head - tail;
	for (size_t i = 0; i < len; i++)
		copy[i] = ring[(tail + i) % LOG_BUF_SIZE];
	spin_unlock_irqrestore(&log_lock, f);

	for (size_t i = 0; i < len; i++) {
		if (copy[i] == '\n') {
			out(copy + start, i + 1 - start, ctx);
			start = i + 1;
			lines++;
		}
	}
	spin_unlock(&dump_lock);
	return lines;
}
