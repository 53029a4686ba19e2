/* lwIP port layer: clock, random numbers, diagnostics and the few libc pieces lwIP uses. */
#include "lwip/opt.h"
#include "lwip/sys.h"
#include "asm/cpu.h"
#include "asm/time.h"
#include "kernel/log.h"
#include "kernel/panic.h"

/* Milliseconds for lwIP's timers (wraps after 49 days; lwIP compares with wrap-around). */
u32_t sys_now(void) { return (u32_t)(time_now_ns() / NSEC_PER_MSEC); }

/*
 * xorshift64* (Vigna 2014), seeded from the TSC on first use: TCP initial
 * sequence numbers, ephemeral ports and DHCP transaction ids only need to be
 * unpredictable across boots, not cryptographic. Network thread only.
 */
u32 lwip_port_rand(void)
{
	static u64 state;

	if (!state)
		state = rdtsc() | 1;
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return (u32)((state * 0x2545f4914f6cdd1dULL) >> 32);
}

void lwip_port_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void lwip_port_assert(const char *msg, const char *file, int line)
{
	panic("lwIP assertion '%s' failed at %s:%d", msg, file, line);
}

/* netif_find() parses interface numbers with atoi. */
int atoi(const char *s);
int atoi(const char *s)
{
	int v = 0, sign = 1;

	if (*s == '-' || *s == '+')
		sign = *s++ == '-' ? -1 : 1;
	while (*s >= '0' && *s <= '9' && v < 100000000)
		v = v * 10 + (*s++ - '0');
	return sign * v;
}
