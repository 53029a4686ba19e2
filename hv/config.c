/* VM configuration: parse the text file GRUB loads as a module into vm_config entries. */
#include "hv/config.h"
#include "lib/cmdline.h"
#include "lib/printf.h"
#include "lib/string.h"

/*
 * The format, one statement per line:
 *   # comment                       (whole line; blank lines are ignored too)
 *   [vm NAME]                       starts an entry; NAME is [A-Za-z0-9_-]+
 *   key = value                     inside an entry
 * A value is either "double quoted" (\" and \\ escape) or a bare word. After
 * it only blanks and a '# comment' may follow. The one exception is an
 * unquoted cmdline: the rest of the line, trimmed, is taken verbatim ('#'
 * included). Lines end in LF or CRLF and hold at most CONFIG_LINE_MAX bytes.
 */
#define CONFIG_LINE_MAX 512
#define CONFIG_MEMORY_MIN (2ULL << 20)
#define CONFIG_MEMORY_MAX (64ULL << 30)
#define CONFIG_MEMORY_ALIGN (2ULL << 20)
#define CONFIG_MAX_CPUS 64

struct config_parser {
	struct vm_config_set *set;
	struct vm_config cur;       /* the entry being read */
	bool in_vm;                 /* cur is open */
	u32 key_line[16];           /* line where each key of cur was given (0: not yet) */
	u32 line;                   /* current line number, from 1 */
	char *err;
	size_t errlen;
};

struct config_key {
	const char *name;
	int (*parse)(struct config_parser *p, const char *val);
	bool repeatable;
	bool verbatim;              /* an unquoted value is the whole rest of the line */
};

static int config_error(struct config_parser *p, const char *fmt, ...) __printf(2, 3);

/* Write "line N: <message>" into the caller's buffer; returns -EINVAL. */
static int config_error(struct config_parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || p->errlen == 0)
		return -EINVAL;
	n = ksnprintf(p->err, p->errlen, "line %u: ", p->line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		kvsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static char *skip_blanks(char *s)
{
	while (is_blank(*s))
		s++;
	return s;
}

/* Copy src into a fixed field; false (nothing copied) when it does not fit. */
static bool copy_field(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

/* Accept the usual spellings of a boolean. */
static int parse_bool(struct config_parser *p, const char *key, const char *val, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(val, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(val, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return config_error(p, "%s: expected yes or no, not '%s'", key, val);
}

static int key_memory(struct config_parser *p, const char *val)
{
	u64 bytes;
	int err = cmdline_parse_size(val, UINT64_MAX, &bytes);

	if (err == -EINVAL)
		return config_error(p, "memory: bad size '%s' (a number with an optional K, M or G)",
				    val);
	if (err || bytes < CONFIG_MEMORY_MIN || bytes > CONFIG_MEMORY_MAX)
		return config_error(p, "memory: '%s' is out of range (2M .. 64G)", val);
	if (!IS_ALIGNED(bytes, CONFIG_MEMORY_ALIGN))
		return config_error(p, "memory: '%s' is not a multiple of 2M", val);
	p->cur.memory = bytes;
	return 0;
}

static int key_vcpus(struct config_parser *p, const char *val)
{
	u64 n;
	int err = cmdline_parse_u64(val, 1, VM_MAX_VCPUS, &n);

	if (err == -EINVAL)
		return config_error(p, "vcpus: bad number '%s'", val);
	if (err)
		return config_error(p, "vcpus: '%s' is out of range (1 .. %u)", val, VM_MAX_VCPUS);
	p->cur.vcpus = (u32)n;
	return 0;
}

static int key_kernel(struct config_parser *p, const char *val)
{
	if (!*val)
		return config_error(p, "kernel: empty module name");
	if (!copy_field(p->cur.kernel, sizeof(p->cur.kernel), val))
		return config_error(p, "kernel: module name too long (max %zu characters)",
				    sizeof(p->cur.kernel) - 1);
	return 0;
}

static int key_cmdline(struct config_parser *p, const char *val)
{
	if (!copy_field(p->cur.cmdline, sizeof(p->cur.cmdline), val))
		return config_error(p, "cmdline: too long (max %zu characters)",
				    sizeof(p->cur.cmdline) - 1);
	return 0;
}

static int key_module(struct config_parser *p, const char *val)
{
	struct vm_config *c = &p->cur;

	if (!*val)
		return config_error(p, "module: empty module name");
	if (c->nr_modules >= VM_MAX_EXTRA_MODULES)
		return config_error(p, "module: too many modules (max %u)", VM_MAX_EXTRA_MODULES);
	if (!copy_field(c->modules[c->nr_modules], sizeof(c->modules[0]), val))
		return config_error(p, "module: name too long (max %zu characters)",
				    sizeof(c->modules[0]) - 1);
	c->nr_modules++;
	return 0;
}

static int key_autostart(struct config_parser *p, const char *val)
{
	return parse_bool(p, "autostart", val, &p->cur.autostart);
}

static int key_testdev(struct config_parser *p, const char *val)
{
	return parse_bool(p, "testdev", val, &p->cur.testdev);
}

static int key_mmu(struct config_parser *p, const char *val)
{
	if (strcmp(val, "auto") == 0)
		p->cur.mmu = VM_MMU_AUTO;
	else if (strcmp(val, "nested") == 0)
		p->cur.mmu = VM_MMU_NESTED;
	else if (strcmp(val, "shadow") == 0)
		p->cur.mmu = VM_MMU_SHADOW;
	else
		return config_error(p, "mmu: expected auto, nested or shadow, not '%s'", val);
	return 0;
}

#define SHADOW_PAGES_MIN 16
#define SHADOW_PAGES_MAX (1u << 20)

static int key_shadow_pages(struct config_parser *p, const char *val)
{
	u64 n;
	int err = cmdline_parse_u64(val, SHADOW_PAGES_MIN, SHADOW_PAGES_MAX, &n);

	if (err == -EINVAL)
		return config_error(p, "shadow_pages: bad number '%s'", val);
	if (err)
		return config_error(p, "shadow_pages: '%s' is out of range (%u .. %u)", val,
				    SHADOW_PAGES_MIN, SHADOW_PAGES_MAX);
	p->cur.shadow_pages = (u32)n;
	return 0;
}

static int key_shadow_cache(struct config_parser *p, const char *val)
{
	return parse_bool(p, "shadow_cache", val, &p->cur.shadow_cache);
}

/* One CPU number of a cpus list, [s, end). */
static int parse_cpu(struct config_parser *p, const char *s, const char *end, u64 *cpu)
{
	char num[24];
	size_t n = (size_t)(end - s);
	int err;

	if (n == 0)
		return config_error(p, "cpus: empty item in the list");
	if (n >= sizeof(num))
		return config_error(p, "cpus: CPU number too long");
	memcpy(num, s, n);
	num[n] = '\0';
	err = cmdline_parse_u64(num, 0, CONFIG_MAX_CPUS - 1, cpu);
	if (err == -EINVAL)
		return config_error(p, "cpus: bad CPU number '%s'", num);
	if (err)
		return config_error(p, "cpus: CPU %s is out of range (0 .. %u)", num,
				    CONFIG_MAX_CPUS - 1);
	return 0;
}

/* "0-3,6" -> bitmask; "any" (or "all") -> 0, meaning no restriction. */
static int key_cpus(struct config_parser *p, const char *val)
{
	u64 mask = 0, lo, hi;
	const char *s = val;

	if (strcmp(val, "any") == 0 || strcmp(val, "all") == 0) {
		p->cur.cpu_affinity = 0;
		return 0;
	}
	for (;;) {
		const char *item_end = strchr(s, ',');
		const char *dash;
		int err;

		if (!item_end)
			item_end = s + strlen(s);
		for (dash = s; dash < item_end && *dash != '-'; dash++)
			;
		if (dash == item_end)
			dash = NULL;
		err = parse_cpu(p, s, dash ? dash : item_end, &lo);
		hi = lo;
		if (!err && dash)
			err = parse_cpu(p, dash + 1, item_end, &hi);
		if (err)
			return err;
		if (hi < lo)
			return config_error(p, "cpus: range %llu-%llu runs backwards",
					    (unsigned long long)lo, (unsigned long long)hi);
		mask |= GENMASK(hi, lo);
		if (!*item_end)
			break;
		s = item_end + 1;
	}
	p->cur.cpu_affinity = mask;
	return 0;
}

static const struct config_key config_keys[] = {
	{ "memory", key_memory, false, false },
	{ "vcpus", key_vcpus, false, false },
	{ "kernel", key_kernel, false, false },
	{ "cmdline", key_cmdline, false, true },
	{ "module", key_module, true, false },
	{ "autostart", key_autostart, false, false },
	{ "cpus", key_cpus, false, false },
	{ "mmu", key_mmu, false, false },
	{ "testdev", key_testdev, false, false },
	{ "shadow_pages", key_shadow_pages, false, false },
	{ "shadow_cache", key_shadow_cache, false, false },
};
_Static_assert(ARRAY_SIZE(config_keys) <= ARRAY_SIZE(((struct config_parser *)0)->key_line),
	       "key_line too small");

/* Only a '# comment' may follow a value (or a section header, key NULL). */
static int check_rest(struct config_parser *p, const char *key, char *rest)
{
	rest = skip_blanks(rest);
	if (!*rest || *rest == '#')
		return 0;
	if (!key)
		return config_error(p, "unexpected text after ']': '%s'", rest);
	return config_error(p, "%s: unexpected text after the value: '%s'", key, rest);
}

/* Unquote "..." at s in place (\" and \\ escapes) and check what follows. */
static int read_quoted(struct config_parser *p, const char *key, char *s)
{
	char *r = s + 1, *w = s;

	while (*r != '"') {
		if (!*r)
			return config_error(p, "%s: missing closing quote", key);
		if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
			r++;
		*w++ = *r++;
	}
	*w = '\0';
	return check_rest(p, key, r + 1);
}

/* Turn the raw text after '=' and its blanks into the value, in place. */
static int read_value(struct config_parser *p, const struct config_key *k, char *s)
{
	char *end;

	if (*s == '"')
		return read_quoted(p, k->name, s);
	end = s + strlen(s);
	if (k->verbatim) {
		while (end > s && is_blank(end[-1]))
			end--;
		*end = '\0';
		return 0;
	}
	for (end = s; *end && !is_blank(*end); end++)
		;
	if (*end) {
		*end = '\0';
		return check_rest(p, k->name, end + 1);
	}
	return 0;
}

/* "key = value" inside an entry. */
static int parse_assignment(struct config_parser *p, char *s)
{
	const struct config_key *k = NULL;
	char *key = s, *eq, *val;
	size_t i;
	int err;

	while (is_name_char(*s))
		s++;
	eq = skip_blanks(s);
	if (s == key)
		return config_error(p, *eq == '=' ? "missing key before '='"
				    : "expected 'key = value', '[vm NAME]' or a # comment");
	if (*eq != '=') {
		*s = '\0';
		return config_error(p, "missing '=' after '%s'", key);
	}
	*s = '\0';
	for (i = 0; i < ARRAY_SIZE(config_keys) && !k; i++)
		if (strcmp(config_keys[i].name, key) == 0)
			k = &config_keys[i];
	if (!k)
		return config_error(p, "unknown key '%s'", key);
	if (!p->in_vm)
		return config_error(p, "'%s' outside a [vm NAME] section", key);
	i = (size_t)(k - config_keys);
	if (p->key_line[i] && !k->repeatable)
		return config_error(p, "%s given twice (first on line %u)", key, p->key_line[i]);
	val = skip_blanks(eq + 1);
	err = read_value(p, k, val);
	if (!err && !*val && !k->verbatim)
		err = config_error(p, "%s: missing value", key);
	if (err)
		return err;
	err = k->parse(p, val);
	if (!err && !p->key_line[i])
		p->key_line[i] = p->line;
	return err;
}

/* Close the open entry: check it is complete and add it to the set. */
static int finish_vm(struct config_parser *p)
{
	struct vm_config *c = &p->cur;

	if (!p->in_vm)
		return 0;
	p->in_vm = false;
	if (!c->kernel[0]) {
		p->line = c->line;
		return config_error(p, "VM '%s' has no kernel (add 'kernel = <module name>')",
				    c->name);
	}
	p->set->vms[p->set->nr++] = *c;
	return 0;
}

/* Check the name of a new entry: well-formed, not in use. */
static int check_vm_name(struct config_parser *p, const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return config_error(p, "missing VM name: write [vm NAME]");
	for (const char *s = name; *s; s++)
		if (!is_name_char(*s))
			return config_error(p, "bad VM name '%s': use letters, digits, '_' and '-'",
					    name);
	if (len >= VM_NAME_MAX)
		return config_error(p, "VM name '%s' too long (max %u characters)", name,
				    VM_NAME_MAX - 1);
	for (u32 i = 0; i < p->set->nr; i++)
		if (strcmp(p->set->vms[i].name, name) == 0)
			return config_error(p, "duplicate VM name '%s' (first on line %u)", name,
					    p->set->vms[i].line);
	return 0;
}

/* "[vm NAME]": close the previous entry and open a new one. */
static int parse_section(struct config_parser *p, char *s)
{
	char *close = strchr(s, ']'), *kind, *name, *end;
	int err = finish_vm(p);

	if (err)
		return err;
	if (!close)
		return config_error(p, "missing ']' in the section header");
	err = check_rest(p, NULL, close + 1);
	if (err)
		return err;
	*close = '\0';
	kind = skip_blanks(s + 1);
	for (end = kind; *end && !is_blank(*end); end++)
		;
	name = skip_blanks(end);
	*end = '\0';
	if (strcmp(kind, "vm") != 0)
		return config_error(p, "unknown section '[%s]' (expected [vm NAME])", kind);
	for (end = name + strlen(name); end > name && is_blank(end[-1]); end--)
		;
	*end = '\0';
	err = check_vm_name(p, name);
	if (err)
		return err;
	if (p->set->nr >= CONFIG_MAX_VMS)
		return config_error(p, "too many VMs (max %u)", CONFIG_MAX_VMS);
	config_defaults(&p->cur);
	copy_field(p->cur.name, sizeof(p->cur.name), name);
	p->cur.line = p->line;
	memset(p->key_line, 0, sizeof(p->key_line));
	p->in_vm = true;
	return 0;
}

/* One line without its end-of-line characters. */
static int parse_line(struct config_parser *p, char *line)
{
	char *s = skip_blanks(line);

	if (!*s || *s == '#')
		return 0;
	if (*s == '[')
		return parse_section(p, s);
	return parse_assignment(p, s);
}

/*
 * Copy the line at text[*pos] into buf (NUL-terminated, without LF or CRLF)
 * and move *pos past it. Rejects long lines and control characters.
 */
static int take_line(struct config_parser *p, const char *text, size_t len, size_t *pos,
		     char *buf)
{
	size_t start = *pos, end = start, n;

	while (end < len && text[end] != '\n')
		end++;
	*pos = end < len ? end + 1 : end;
	n = end - start;
	if (n > 0 && text[end - 1] == '\r')
		n--;
	if (n > CONFIG_LINE_MAX)
		return config_error(p, "line too long (%zu characters, max %u)", n,
				    CONFIG_LINE_MAX);
	for (size_t i = 0; i < n; i++) {
		u8 c = (u8)text[start + i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return config_error(p, "control character 0x%02x in column %zu", c, i + 1);
	}
	memcpy(buf, text + start, n);
	buf[n] = '\0';
	return 0;
}

int config_parse(const char *text, size_t len, struct vm_config_set *set, char *err,
		 size_t errlen)
{
	struct config_parser p = { .set = set, .err = err, .errlen = errlen };
	char buf[CONFIG_LINE_MAX + 1];
	size_t pos = 0;
	int rc = 0;

	set->nr = 0;
	if (err && errlen)
		err[0] = '\0';
	while (pos < len && !rc) {
		p.line++;
		rc = take_line(&p, text, len, &pos, buf);
		if (!rc)
			rc = parse_line(&p, buf);
	}
	if (!rc)
		rc = finish_vm(&p);
	return rc;
}

void config_defaults(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->memory = 32ULL << 20;
	c->vcpus = 1;
	c->mmu = VM_MMU_AUTO;
	c->shadow_cache = true;
}
