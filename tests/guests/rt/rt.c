/* Test-guest runtime: start-up, serial output, PASS/FAIL bookkeeping, exit port, boot info. */
#include "rt/rt.h"
#include "rt/cpu.h"
#include "lib/printf.h"

#define COM1 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE BIT(5)
#define UART_LCR_DLAB BIT(7)
#define DEBUG_EXIT_PORT 0xf4
#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1
#define MB_BOOT_MAGIC 0x2BADB002U
#define MB_INFO_CMDLINE BIT(2)
#define MB_INFO_MEM_MAP BIT(6)
#define LINE_MAX 256

u32 rt_boot_magic;
const struct rt_mb_info *rt_boot_info;
static struct rt_lock print_lock;
static volatile u32 failures;

void rt_serial_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, UART_LCR_DLAB);
	outb(COM1 + 0, 1);               /* divisor 1: 115200 baud */
	outb(COM1 + 1, 0);
	outb(COM1 + UART_LCR, 0x03);     /* 8N1 */
	outb(COM1 + UART_FCR, 0x07);     /* FIFOs on and cleared */
	outb(COM1 + UART_MCR, 0x03);     /* DTR, RTS */
}

void rt_putc(char c)
{
	/* Bounded: a UART that never shows THRE must not hang the guest. */
	for (u32 i = 0; i < 1000000 && !(inb(COM1 + UART_LSR) & UART_LSR_THRE); i++)
		pause();
	outb(COM1 + UART_THR, (u8)c);
}

void rt_lock(struct rt_lock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		pause();
}

void rt_unlock(struct rt_lock *l) { __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE); }

static void put_line(const char *prefix, const char *fmt, va_list ap)
{
	char line[LINE_MAX];
	size_t n = 0;

	if (prefix) {
		n = strlen(prefix);
		memcpy(line, prefix, n);
	}
	kvsnprintf(line + n, sizeof(line) - n, fmt, ap);
	rt_lock(&print_lock);
	for (const char *s = line; *s; s++) {
		if (*s == '\n')
			rt_putc('\r');
		rt_putc(*s);
	}
	rt_unlock(&print_lock);
}

void rt_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	put_line(NULL, fmt, ap);
	va_end(ap);
}

/* One result line: prefix, the message, a newline. */
static void result_line(const char *prefix, const char *fmt, va_list ap)
{
	char msg[LINE_MAX - 16];

	kvsnprintf(msg, sizeof(msg), fmt, ap);
	rt_printf("%s%s\n", prefix, msg);
}

void rt_pass(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	result_line("PASS: ", fmt, ap);
	va_end(ap);
}

void rt_fail(const char *fmt, ...)
{
	va_list ap;

	__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
	va_start(ap, fmt);
	result_line("FAIL: ", fmt, ap);
	va_end(ap);
}

void rt_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	result_line("SKIP: ", fmt, ap);
	va_end(ap);
}

bool rt_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (!ok)
		__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
	va_start(ap, fmt);
	result_line(ok ? "PASS: " : "FAIL: ", fmt, ap);
	va_end(ap);
	return ok;
}

u32 rt_failures(void) { return READ_ONCE(failures); }

__noreturn void rt_exit(u32 code)
{
	cli();
	outl(DEBUG_EXIT_PORT, code);
	for (;;)
		hlt();
}

__noreturn void rt_finish(void)
{
	bool ok = rt_failures() == 0;

	rt_printf("RESULT: %s\n", ok ? "PASS" : "FAIL");
	rt_exit(ok ? 0 : 1);
}

const char *rt_cmdline(void)
{
	const char *s;

	if (!rt_boot_info || !(rt_boot_info->flags & MB_INFO_CMDLINE) || !rt_boot_info->cmdline)
		return "";
	s = (const char *)rt_boot_info->cmdline;
	/* The first word is the image name (Multiboot loaders put it there). */
	while (*s && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	return s;
}

/* Find `key` as a whole word or as the key of key=value; returns the word or NULL. */
static const char *find_word(const char *key, bool with_value)
{
	size_t n = strlen(key);

	for (const char *s = rt_cmdline(); *s;) {
		const char *end = s;

		while (*end && *end != ' ')
			end++;
		if ((size_t)(end - s) >= n && strncmp(s, key, n) == 0 &&
		    (with_value ? s[n] == '=' : s + n == end))
			return s;
		s = end;
		while (*s == ' ')
			s++;
	}
	return NULL;
}

bool rt_has_word(const char *word) { return find_word(word, false) != NULL; }

u32 rt_param(const char *key, u32 def)
{
	const char *s = find_word(key, true);
	u32 v = 0, base = 10;

	if (!s)
		return def;
	s += strlen(key) + 1;
	if (s[0] == '0' && s[1] == 'x') {
		base = 16;
		s += 2;
	}
	if (!*s || *s == ' ')
		return def;
	for (; *s && *s != ' '; s++) {
		u32 d = *s >= '0' && *s <= '9' ? (u32)(*s - '0')
		      : *s >= 'a' && *s <= 'f' ? (u32)(*s - 'a' + 10) : 99;

		if (d >= base)
			return def;
		v = v * base + d;
	}
	return v;
}

bool rt_under_hv(void) { return rt_has_word("hv"); }

u64 rt_ram_top(void)
{
	u64 top = 0;
	u32 off = 0;

	if (!rt_boot_info || !(rt_boot_info->flags & MB_INFO_MEM_MAP))
		return 0;
	while (off + sizeof(struct rt_mb_mmap) <= rt_boot_info->mmap_length) {
		const struct rt_mb_mmap *e = (const void *)(rt_boot_info->mmap_addr + off);
		u64 end = e->base + e->len;

		if (e->type == 1 && end <= (1ULL << 32) && end > top)
			top = end;
		off += e->size + 4;
	}
	return top;
}

void rt_spin(u32 n)
{
	while (n--)
		pause();
}

static void pic_mask_all(void)
{
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

void rt_main(u32 magic, u32 info);

void rt_main(u32 magic, u32 info)
{
	rt_boot_magic = magic;
	rt_boot_info = magic == MB_BOOT_MAGIC ? (const void *)info : NULL;
	rt_serial_init();
	pic_mask_all();
	rt_idt_init();
	if (!rt_boot_info)
		rt_fail("boot: EAX 0x%x is not the Multiboot magic", magic);
	guest_main();
	rt_finish();
}
