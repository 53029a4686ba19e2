/* kvsnprintf: the one formatter behind printk, the shell and the log. */
#include "lib/printf.h"

struct out {
	char *buf;
	size_t size;
	size_t pos;
};

static void put(struct out *o, char c)
{
	if (o->pos + 1 < o->size)
		o->buf[o->pos] = c;
	o->pos++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

#define F_LEFT 1
#define F_ZERO 2
#define F_SPACE 4
#define F_PLUS 8
#define F_ALT 16

static void put_number(struct out *o, u64 v, bool neg, unsigned base, bool upper,
		       int flags, int width, int prec)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;
	char sign = 0;
	const char *prefix = "";
	int plen;
	bool zero = v == 0;

	while (v) {
		/* base is 8, 10 or 16 (constants at every call); cppcheck cannot see that. */
		/* cppcheck-suppress zerodivcond */
		tmp[n++] = digits[v % base];
		v /= base;
	}
	if (prec < 0 && n == 0)
		tmp[n++] = '0';
	if (neg)
		sign = '-';
	else if (flags & F_PLUS)
		sign = '+';
	else if (flags & F_SPACE)
		sign = ' ';
	if ((flags & F_ALT) && base == 16 && !zero)
		prefix = upper ? "0X" : "0x";
	if ((flags & F_ALT) && base == 8 && !zero && prec <= n)
		prefix = "0";
	plen = (int)(sign != 0) + (prefix[0] ? (prefix[1] ? 2 : 1) : 0);

	int zeros = prec > n ? prec - n : 0;
	int total = plen + zeros + n;

	if (prec < 0 && (flags & F_ZERO) && !(flags & F_LEFT) && width > total) {
		zeros += width - total;
		total = width;
	}
	if (!(flags & F_LEFT))
		pad(o, ' ', width - total);
	if (sign)
		put(o, sign);
	for (const char *p = prefix; *p; p++)
		put(o, *p);
	pad(o, '0', zeros);
	while (n)
		put(o, tmp[--n]);
	if (flags & F_LEFT)
		pad(o, ' ', width - total);
}

static int parse_int(const char **fmt)
{
	int v = 0;

	while (**fmt >= '0' && **fmt <= '9')
		v = v * 10 + (*(*fmt)++ - '0');
	return v;
}

enum len { L_INT, L_CHAR, L_SHORT, L_LONG, L_LLONG, L_SIZE };

static u64 get_unsigned(va_list *ap, enum len len)
{
	switch (len) {
	case L_CHAR: return (u8)va_arg(*ap, unsigned int);
	case L_SHORT: return (u16)va_arg(*ap, unsigned int);
	case L_LONG: return va_arg(*ap, unsigned long);
	case L_LLONG: return va_arg(*ap, unsigned long long);
	case L_SIZE: return va_arg(*ap, size_t);
	default: return va_arg(*ap, unsigned int);
	}
}

static s64 get_signed(va_list *ap, enum len len)
{
	switch (len) {
	case L_CHAR: return (s8)va_arg(*ap, int);
	case L_SHORT: return (s16)va_arg(*ap, int);
	case L_LONG: return va_arg(*ap, long);
	case L_LLONG: return va_arg(*ap, long long);
	case L_SIZE: return va_arg(*ap, ptrdiff_t);
	default: return va_arg(*ap, int);
	}
}

static void put_string(struct out *o, const char *s, int flags, int width, int prec)
{
	int n = 0;

	if (!s)
		s = "(null)";
	while (s[n] && (prec < 0 || n < prec))
		n++;
	if (!(flags & F_LEFT))
		pad(o, ' ', width - n);
	for (int i = 0; i < n; i++)
		put(o, s[i]);
	if (flags & F_LEFT)
		pad(o, ' ', width - n);
}

static void format_one(struct out *o, const char **fmtp, va_list *ap)
{
	const char *fmt = *fmtp;
	int flags = 0, width = 0, prec = -1;
	enum len len = L_INT;

	for (;; fmt++) {
		if (*fmt == '-') flags |= F_LEFT;
		else if (*fmt == '0') flags |= F_ZERO;
		else if (*fmt == ' ') flags |= F_SPACE;
		else if (*fmt == '+') flags |= F_PLUS;
		else if (*fmt == '#') flags |= F_ALT;
		else break;
	}
	if (*fmt == '*') {
		width = va_arg(*ap, int);
		if (width < 0) {
			flags |= F_LEFT;
			width = -width;
		}
		fmt++;
	} else {
		width = parse_int(&fmt);
	}
	if (*fmt == '.') {
		fmt++;
		if (*fmt == '*') {
			prec = va_arg(*ap, int);
			fmt++;
		} else {
			prec = parse_int(&fmt);
		}
	}
	if (*fmt == 'h') {
		fmt++;
		len = L_SHORT;
		if (*fmt == 'h') {
			fmt++;
			len = L_CHAR;
		}
	} else if (*fmt == 'l') {
		fmt++;
		len = L_LONG;
		if (*fmt == 'l') {
			fmt++;
			len = L_LLONG;
		}
	} else if (*fmt == 'z' || *fmt == 't' || *fmt == 'j') {
		fmt++;
		len = L_SIZE;
	}

	switch (*fmt) {
	case 'd':
	case 'i': {
		s64 v = get_signed(ap, len);
		put_number(o, v < 0 ? -(u64)v : (u64)v, v < 0, 10, false, flags, width, prec);
		break;
	}
	case 'u': put_number(o, get_unsigned(ap, len), false, 10, false, flags, width, prec); break;
	case 'x': put_number(o, get_unsigned(ap, len), false, 16, false, flags, width, prec); break;
	case 'X': put_number(o, get_unsigned(ap, len), false, 16, true, flags, width, prec); break;
	case 'o': put_number(o, get_unsigned(ap, len), false, 8, false, flags, width, prec); break;
	case 'p':
		put_number(o, (u64)(uintptr_t)va_arg(*ap, void *), false, 16, false,
			   flags | F_ALT, width, prec);
		break;
	case 'c': {
		char c = (char)va_arg(*ap, int);
		if (!(flags & F_LEFT))
			pad(o, ' ', width - 1);
		put(o, c);
		if (flags & F_LEFT)
			pad(o, ' ', width - 1);
		break;
	}
	case 's': put_string(o, va_arg(*ap, const char *), flags, width, prec); break;
	case '%': put(o, '%'); break;
	case '\0': fmt--; break; /* lone '%' at the end: print nothing */
	default:
		put(o, '%');
		put(o, *fmt);
		break;
	}
	*fmtp = fmt + 1;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	va_list aq;

	va_copy(aq, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt++;
		format_one(&o, &fmt, &aq);
	}
	va_end(aq);
	if (size)
		buf[o.pos < size ? o.pos : size - 1] = '\0';
	return (int)o.pos;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
