/* Command-line helpers: word splitting, checked number parsing, boot option lookup. */
#include "lib/cmdline.h"
#include "lib/string.h"

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/*
 * Copy one word from *rp to *wp (w never passes r, so this works in place),
 * removing quotes and escapes, and NUL-terminate it.
 */
static int split_word(char **rp, char **wp, const char **msg)
{
	char *r = *rp, *w = *wp;
	bool quoted = false;

	while (*r && (quoted || !is_blank(*r))) {
		if (*r == '"') {
			quoted = !quoted;
			r++;
			continue;
		}
		if (*r == '\\' && !*++r) {
			*msg = "trailing backslash";
			return -EINVAL;
		}
		*w++ = *r++;
	}
	if (quoted) {
		*msg = "unterminated quote";
		return -EINVAL;
	}
	if (*r)
		r++; /* the separator; read before the NUL below may overwrite it */
	*w++ = '\0';
	*rp = r;
	*wp = w;
	return 0;
}

int cmdline_split(char *line, char **argv, int max_argv, const char **errmsg)
{
	char *r = line, *w = line;
	const char *msg = NULL;
	int argc = 0, err = 0;

	for (;;) {
		while (is_blank(*r))
			r++;
		if (!*r)
			break;
		if (argc >= max_argv - 1) {
			msg = "too many arguments";
			err = -E2BIG;
			break;
		}
		argv[argc++] = w;
		err = split_word(&r, &w, &msg);
		if (err)
			break;
	}
	if (err) {
		if (max_argv > 0)
			argv[0] = NULL;
		if (errmsg)
			*errmsg = msg;
		return err;
	}
	argv[argc] = NULL;
	return argc;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/*
 * Parse digits (0x-prefixed: hexadecimal) at *sp, advancing *sp past them.
 * -EINVAL when there are none, -ERANGE when the value overflows 64 bits.
 */
static int parse_magnitude(const char **sp, u64 *out)
{
	const char *s = *sp;
	unsigned base = 10;
	bool overflow = false;
	u64 v = 0;
	int d;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (digit_value(*s) >= (int)base)
		return -EINVAL;
	for (; (d = digit_value(*s)) < (int)base; s++) {
		if (v > (UINT64_MAX - (u64)d) / base)
			overflow = true;
		v = v * base + (u64)d;
	}
	*sp = s;
	*out = v;
	return overflow ? -ERANGE : 0;
}

int cmdline_parse_u64(const char *s, u64 min, u64 max, u64 *out)
{
	u64 v;
	int err;

	if (*s == '+')
		s++;
	err = parse_magnitude(&s, &v);
	if (err == -EINVAL || *s)
		return -EINVAL;
	if (err || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cmdline_parse_s64(const char *s, s64 min, s64 max, s64 *out)
{
	bool negative = false;
	u64 mag;
	s64 v;
	int err;

	if (*s == '-' || *s == '+')
		negative = *s++ == '-';
	err = parse_magnitude(&s, &mag);
	if (err == -EINVAL || *s)
		return -EINVAL;
	if (err)
		return -ERANGE;
	if (negative) {
		if (mag > (u64)INT64_MAX + 1)
			return -ERANGE;
		v = mag == (u64)INT64_MAX + 1 ? INT64_MIN : -(s64)mag;
	} else {
		if (mag > (u64)INT64_MAX)
			return -ERANGE;
		v = (s64)mag;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int size_shift(char c)
{
	switch (c) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	case 't': case 'T': return 40;
	default: return -1;
	}
}

int cmdline_parse_size(const char *s, u64 max, u64 *out)
{
	int err, shift = 0;
	u64 v;

	err = parse_magnitude(&s, &v);
	if (err == -EINVAL)
		return err;
	if (*s) {
		shift = size_shift(*s);
		if (shift < 0 || s[1])
			return -EINVAL;
	}
	if (err || v > (UINT64_MAX >> shift) || (v << shift) > max)
		return -ERANGE;
	*out = v << shift;
	return 0;
}

/* One `key[=value]` word of the boot command line; val_raw still holds quotes. */
struct boot_opt {
	const char *key;
	size_t key_len;
	const char *val_raw;
	size_t val_raw_len;
	bool has_val;
};

/* Read the option starting at or after p; returns the position after it, NULL at the end. */
static const char *next_opt(const char *p, struct boot_opt *o)
{
	bool quoted = false;

	while (is_blank(*p))
		p++;
	if (!*p)
		return NULL;
	o->key = p;
	while (*p && *p != '=' && !is_blank(*p))
		p++;
	o->key_len = (size_t)(p - o->key);
	o->has_val = *p == '=';
	o->val_raw = o->has_val ? ++p : p;
	while (*p && (quoted || !is_blank(*p))) {
		if (*p == '"')
			quoted = !quoted;
		p++;
	}
	o->val_raw_len = (size_t)(p - o->val_raw);
	return p;
}

/* Find the last occurrence of key; false when absent. */
static bool find_opt(const char *cmdline, const char *key, struct boot_opt *found)
{
	size_t key_len = strlen(key);
	struct boot_opt o;
	bool any = false;

	if (!cmdline)
		return false;
	for (const char *p = cmdline; (p = next_opt(p, &o)) != NULL;) {
		if (o.key_len == key_len && memcmp(o.key, key, key_len) == 0) {
			*found = o;
			any = true;
		}
	}
	return any;
}

int cmdline_get(const char *cmdline, const char *key, char *buf, size_t len)
{
	struct boot_opt o;
	size_t n = 0;

	if (len > 0)
		buf[0] = '\0';
	if (!find_opt(cmdline, key, &o))
		return -ENOENT;
	for (size_t i = 0; i < o.val_raw_len; i++) {
		if (o.val_raw[i] == '"')
			continue;
		if (n + 1 >= len) {
			if (len > 0)
				buf[0] = '\0';
			return -ENOSPC;
		}
		buf[n++] = o.val_raw[i];
	}
	if (len == 0)
		return -ENOSPC;
	buf[n] = '\0';
	return 0;
}

int cmdline_get_u64(const char *cmdline, const char *key, u64 min, u64 max, u64 *out)
{
	char buf[32];
	int err = cmdline_get(cmdline, key, buf, sizeof(buf));

	if (err == -ENOSPC)
		return -ERANGE;
	if (err)
		return err;
	return cmdline_parse_u64(buf, min, max, out);
}

bool cmdline_has_flag(const char *cmdline, const char *key)
{
	static const char *const off_words[] = { "0", "no", "off", "false" };
	char buf[8];
	int err = cmdline_get(cmdline, key, buf, sizeof(buf));

	if (err == -ENOENT)
		return false;
	if (err)
		return true; /* a long value is none of the "off" words */
	for (size_t i = 0; i < ARRAY_SIZE(off_words); i++)
		if (strcmp(buf, off_words[i]) == 0)
			return false;
	return true;
}
