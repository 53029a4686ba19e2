/* printk: leveled kernel messages into a ring buffer and the console. */
#ifndef HV_KERNEL_LOG_H
#define HV_KERNEL_LOG_H

#include "lib/types.h"

enum log_level {
	LOG_EMERG = 0,
	LOG_ERR = 3,
	LOG_WARN = 4,
	LOG_NOTICE = 5,
	LOG_INFO = 6,
	LOG_DEBUG = 7,
};

/*
 * printk(level, fmt, ...): every line goes into the ring buffer, prefixed with
 * "[seconds.micros] cpuN"; lines at or below the console level also go to the
 * consoles. Safe from any CPU and from interrupt context.
 */
void printk(int level, const char *fmt, ...) __printf(2, 3);
void vprintk(int level, const char *fmt, va_list ap);

#define pr_emerg(...) printk(LOG_EMERG, __VA_ARGS__)
#define pr_err(...) printk(LOG_ERR, __VA_ARGS__)
#define pr_warn(...) printk(LOG_WARN, __VA_ARGS__)
#define pr_notice(...) printk(LOG_NOTICE, __VA_ARGS__)
#define pr_info(...) printk(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) printk(LOG_DEBUG, __VA_ARGS__)

/* A console receives finished text; called with the log lock held, IRQs off. */
typedef void (*console_write_fn)(const char *s, size_t len);
void log_register_console(console_write_fn fn);

/* Write raw text to the consoles, bypassing the ring buffer (panic path, shell). */
void console_write(const char *s, size_t len);

int log_get_console_level(void);
void log_set_console_level(int level);

/*
 * Copy ring-buffer lines to out(): oldest first. Lines are complete, each
 * ending with '\n'. Returns the number of lines.
 */
size_t log_dump(void (*out)(const char *line, size_t len, void *ctx), void *ctx);

/*
 * Panic mode: from now on printk does not wait long for the log lock (its
 * holder may have been stopped by NMI). Called once by panic.
 */
void log_enter_panic(void);

/* Time source for the prefix (nanoseconds since boot); 0 until timers are up. */
void log_set_clock(u64 (*now_ns)(void));
/* CPU number for the prefix. */
void log_set_cpu_id(unsigned (*cpu_id)(void));

#endif
