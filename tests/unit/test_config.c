/* hv/config: VM configuration parser: good files, every malformed case, random mutations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "hv/config.h"

#define ERRLEN 200

static struct vm_config_set set;
static char err[ERRLEN];

/* Parse from an exactly-sized heap copy, so ASan catches any read past len. */
static int parse(const char *text)
{
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, text, len);
	memset(&set, 0xa5, sizeof(set));
	rc = config_parse(copy, len, &set, err, sizeof(err));
	free(copy);
	return rc;
}

static void parse_ok(const char *text)
{
	int rc = parse(text);

	if (rc != 0)
		fail_msg("parse failed (%d): %s\n--- input:\n%s", rc, err, text);
	assert_string_equal(err, "");
}

static void test_all_keys(void **state)
{
	const struct vm_config *c;

	(void)state;
	parse_ok("# a full entry\n"
		 "[vm web1]\n"
		 "memory = 64M\n"
		 "vcpus = 2\n"
		 "kernel = guest-cpuid.elf\n"
		 "cmdline = \"console=ttyS0 quiet\"\n"
		 "module = initrd.img\n"
		 "module = extra.bin\n"
		 "autostart = yes\n"
		 "cpus = 0-3,6\n"
		 "mmu = shadow\n"
		 "testdev = yes\n");
	assert_int_equal(set.nr, 1);
	c = &set.vms[0];
	assert_string_equal(c->name, "web1");
	assert_int_equal(c->memory, 64ULL << 20);
	assert_int_equal(c->vcpus, 2);
	assert_string_equal(c->kernel, "guest-cpuid.elf");
	assert_string_equal(c->cmdline, "console=ttyS0 quiet");
	assert_int_equal(c->nr_modules, 2);
	assert_string_equal(c->modules[0], "initrd.img");
	assert_string_equal(c->modules[1], "extra.bin");
	assert_true(c->autostart);
	assert_int_equal(c->cpu_affinity, 0x4f);
	assert_int_equal(c->mmu, VM_MMU_SHADOW);
	assert_true(c->testdev);
	assert_int_equal(c->line, 2);
}

static void test_defaults(void **state)
{
	const struct vm_config *c;
	struct vm_config d;

	(void)state;
	parse_ok("[vm a]\nkernel = k.elf\n");
	assert_int_equal(set.nr, 1);
	c = &set.vms[0];
	assert_int_equal(c->memory, 32ULL << 20);
	assert_int_equal(c->vcpus, 1);
	assert_string_equal(c->cmdline, "");
	assert_int_equal(c->nr_modules, 0);
	assert_false(c->autostart);
	assert_false(c->testdev);
	assert_int_equal(c->cpu_affinity, 0);
	assert_int_equal(c->mmu, VM_MMU_AUTO);
	assert_int_equal(c->shadow_pages, 0);
	assert_true(c->shadow_cache);
	assert_int_equal(c->line, 1);

	memset(&d, 0x5a, sizeof(d));
	config_defaults(&d);
	assert_int_equal(d.memory, 32ULL << 20);
	assert_int_equal(d.vcpus, 1);
	assert_int_equal(d.nr_modules, 0);
	assert_string_equal(d.name, "");
	assert_string_equal(d.kernel, "");
}

static void test_empty_and_comments(void **state)
{
	(void)state;
	parse_ok("");
	assert_int_equal(set.nr, 0);
	parse_ok("\n\n   \n\t\n");
	assert_int_equal(set.nr, 0);
	parse_ok("# only\n   # comments\n#[vm x]\n");
	assert_int_equal(set.nr, 0);
}

static void test_many_vms(void **state)
{
	char text[4096];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < CONFIG_MAX_VMS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "[vm vm%d]\nkernel = k%d.elf\nvcpus = %d\n\n", i, i,
				      i % VM_MAX_VCPUS + 1);
	parse_ok(text);
	assert_int_equal(set.nr, CONFIG_MAX_VMS);
	for (int i = 0; i < CONFIG_MAX_VMS; i++) {
		char want[32];

		snprintf(want, sizeof(want), "vm%d", i);
		assert_string_equal(set.vms[i].name, want);
		snprintf(want, sizeof(want), "k%d.elf", i);
		assert_string_equal(set.vms[i].kernel, want);
		assert_int_equal(set.vms[i].vcpus, i % VM_MAX_VCPUS + 1);
		assert_int_equal(set.vms[i].line, 1 + 4 * i);
	}
}

static void test_crlf_and_blanks(void **state)
{
	(void)state;
	parse_ok("# windows\r\n\r\n  [ vm  win_1 ]  # trailing comment\r\n"
		 "\tmemory\t=\t128M\t\r\n"
		 "kernel=k.elf\r\n"
		 "cmdline =   a b  c   \r\n"
		 "autostart = no # not now\r\n"
		 "[vm last]\r\nkernel = z");
	assert_int_equal(set.nr, 2);
	assert_string_equal(set.vms[0].name, "win_1");
	assert_int_equal(set.vms[0].memory, 128ULL << 20);
	assert_string_equal(set.vms[0].kernel, "k.elf");
	assert_string_equal(set.vms[0].cmdline, "a b  c");
	assert_false(set.vms[0].autostart);
	assert_int_equal(set.vms[0].line, 3);
	assert_string_equal(set.vms[1].kernel, "z");
	assert_int_equal(set.vms[1].line, 8);
}

static void test_values(void **state)
{
	static const struct {
		const char *mem;
		unsigned long long bytes;
	} mems[] = {
		{ "2M", 2ULL << 20 },       { "2m", 2ULL << 20 },   { "2048K", 2ULL << 20 },
		{ "0x200000", 2ULL << 20 }, { "1G", 1ULL << 30 },   { "64G", 64ULL << 30 },
		{ "4194304", 4ULL << 20 },  { "\"8M\"", 8ULL << 20 },
	};
	static const struct {
		const char *cpus;
		unsigned long long mask;
	} cpus[] = {
		{ "0", 1 },          { "63", 1ULL << 63 }, { "0-63", ~0ULL }, { "1,3,5", 0x2a },
		{ "2-2", 4 },        { "any", 0 },         { "all", 0 },      { "0x3", 8 },
		{ "0-1,1-2", 7 },
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(mems) / sizeof(mems[0]); i++) {
		snprintf(text, sizeof(text), "[vm m]\nkernel = k\nmemory = %s\n", mems[i].mem);
		parse_ok(text);
		assert_int_equal(set.vms[0].memory, mems[i].bytes);
	}
	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		snprintf(text, sizeof(text), "[vm c]\nkernel = k\ncpus = %s\n", cpus[i].cpus);
		parse_ok(text);
		assert_int_equal(set.vms[0].cpu_affinity, cpus[i].mask);
	}
	parse_ok("[vm v]\nkernel = k\nvcpus = 16\nmmu = nested\nautostart = true\n");
	assert_int_equal(set.vms[0].vcpus, 16);
	assert_int_equal(set.vms[0].mmu, VM_MMU_NESTED);
	assert_true(set.vms[0].autostart);
	parse_ok("[vm v]\nkernel = k\nmmu = auto\ntestdev = off\n");
	assert_int_equal(set.vms[0].mmu, VM_MMU_AUTO);
	assert_false(set.vms[0].testdev);
	parse_ok("[vm v]\nkernel = k\nmmu = shadow\nshadow_pages = 16\nshadow_cache = no\n");
	assert_int_equal(set.vms[0].shadow_pages, 16);
	assert_false(set.vms[0].shadow_cache);
	parse_ok("[vm v]\nkernel = k\nshadow_pages = 1048576\nshadow_cache = yes\n");
	assert_int_equal(set.vms[0].shadow_pages, 1048576);
	assert_true(set.vms[0].shadow_cache);
}

static void test_quoting(void **state)
{
	(void)state;
	/* Quotes are optional; escapes only inside them; unquoted cmdline is verbatim. */
	parse_ok("[vm q]\nkernel = \"my kernel.elf\"\n"
		 "cmdline = a=\"b c\" # not a comment \\x\n"
		 "module = \"say \\\"hi\\\" \\\\ done\"  # comment\n");
	assert_string_equal(set.vms[0].kernel, "my kernel.elf");
	assert_string_equal(set.vms[0].cmdline, "a=\"b c\" # not a comment \\x");
	assert_string_equal(set.vms[0].modules[0], "say \"hi\" \\ done");
	parse_ok("[vm q]\nkernel = k\ncmdline = \"\"\n");
	assert_string_equal(set.vms[0].cmdline, "");
	parse_ok("[vm q]\nkernel = k\ncmdline =\n");
	assert_string_equal(set.vms[0].cmdline, "");
	parse_ok("[vm q]\nkernel = k\ncmdline = \"  padded  \"\n");
	assert_string_equal(set.vms[0].cmdline, "  padded  ");
}

static void test_limits_ok(void **state)
{
	char text[1024], name[VM_NAME_MAX], cmd[VM_CMDLINE_MAX], mod[VM_MODNAME_MAX];

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(cmd, 'c', sizeof(cmd) - 1);
	cmd[sizeof(cmd) - 1] = '\0';
	memset(mod, 'm', sizeof(mod) - 1);
	mod[sizeof(mod) - 1] = '\0';
	snprintf(text, sizeof(text), "[vm %s]\nkernel = %s\ncmdline = %s\n", name, mod, cmd);
	for (int i = 0; i < VM_MAX_EXTRA_MODULES; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "module = %s\n", mod);
	parse_ok(text);
	assert_string_equal(set.vms[0].name, name);
	assert_string_equal(set.vms[0].cmdline, cmd);
	assert_string_equal(set.vms[0].kernel, mod);
	assert_int_equal(set.vms[0].nr_modules, VM_MAX_EXTRA_MODULES);
	assert_string_equal(set.vms[0].modules[VM_MAX_EXTRA_MODULES - 1], mod);
}

/* A malformed input, the line the message must name, and words it must contain. */
struct bad_case {
	const char *text;
	unsigned line;
	const char *words;
	unsigned complete; /* entries fully parsed before the error */
};

static const struct bad_case bad_cases[] = {
	{ "[vm a]\nkernel = k\nfoo = 1\n", 3, "unknown key 'foo'", 0 },
	{ "[vm a]\nkernel = k\n[host x]\n", 3, "unknown section '[host]'", 1 },
	{ "[vma]\nkernel = k\n", 1, "unknown section", 0 },
	{ "[vm a]\nkernel = k\n[vm b]\nkernel = k\n[vm a]\n", 5, "duplicate VM name 'a' (first on line 1)", 2 },
	{ "[vm a.b]\n", 1, "bad VM name 'a.b'", 0 },
	{ "[vm a b]\n", 1, "bad VM name 'a b'", 0 },
	{ "[vm]\n", 1, "missing VM name", 0 },
	{ "[vm a\n", 1, "missing ']'", 0 },
	{ "[vm a] x\n", 1, "unexpected text after ']'", 0 },
	{ "[vm nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn]\n", 1, "too long", 0 },
	{ "\n# c\n[vm a]\nmemory = 8M\n", 3, "VM 'a' has no kernel", 0 },
	{ "[vm a]\nkernel = k\n[vm b]\nvcpus = 2\n[vm c]\nkernel = k\n", 3, "VM 'b' has no kernel", 1 },
	{ "[vm a]\nkernel = k\nmemory = lots\n", 3, "memory: bad size 'lots'", 0 },
	{ "[vm a]\nkernel = k\nmemory = 64MB\n", 3, "memory: bad size", 0 },
	{ "[vm a]\nkernel = k\nmemory = 3M\n", 3, "not a multiple of 2M", 0 },
	{ "[vm a]\nkernel = k\nmemory = 1M\n", 3, "out of range", 0 },
	{ "[vm a]\nkernel = k\nmemory = 0\n", 3, "out of range", 0 },
	{ "[vm a]\nkernel = k\nmemory = 66G\n", 3, "out of range", 0 },
	{ "[vm a]\nkernel = k\nmemory = 99999999999999999999999\n", 3, "out of range", 0 },
	{ "[vm a]\nkernel = k\nmemory = 64M 128M\n", 3, "unexpected text after the value: '128M'", 0 },
	{ "[vm a]\nkernel = k\nvcpus = 0\n", 3, "vcpus: '0' is out of range (1 .. 16)", 0 },
	{ "[vm a]\nkernel = k\nvcpus = 17\n", 3, "out of range", 0 },
	{ "[vm a]\nkernel = k\nvcpus = -1\n", 3, "vcpus: bad number '-1'", 0 },
	{ "[vm a]\nkernel = k\nvcpus = two\n", 3, "bad number 'two'", 0 },
	{ "[vm a]\nkernel = k\nvcpus = 2x\n", 3, "bad number '2x'", 0 },
	{ "[vm a]\nkernel = k\nvcpus =\n", 3, "vcpus: missing value", 0 },
	{ "[vm a]\nkernel = \"\"\n", 2, "kernel: missing value", 0 },
	{ "[vm a]\nkernel = k\nkernel = j\n", 3, "kernel given twice (first on line 2)", 0 },
	{ "[vm a]\n\nkernel = k\nvcpus = 1\nvcpus = 2\n", 5, "vcpus given twice (first on line 4)", 0 },
	{ "[vm a]\nkernel = k\nautostart = maybe\n", 3, "expected yes or no", 0 },
	{ "[vm a]\nkernel = k\ntestdev = 2\n", 3, "testdev: expected yes or no", 0 },
	{ "[vm a]\nkernel = k\nmmu = ept\n", 3, "expected auto, nested or shadow", 0 },
	{ "[vm a]\nkernel = k\nshadow_pages = 15\n", 3, "shadow_pages: '15' is out of range", 0 },
	{ "[vm a]\nkernel = k\nshadow_pages = 2097152\n", 3, "out of range (16 .. 1048576)", 0 },
	{ "[vm a]\nkernel = k\nshadow_pages = many\n", 3, "shadow_pages: bad number 'many'", 0 },
	{ "[vm a]\nkernel = k\nshadow_cache = sometimes\n", 3, "shadow_cache: expected yes or no", 0 },
	{ "[vm a]\nkernel = k\ncpus = 64\n", 3, "cpus: CPU 64 is out of range", 0 },
	{ "[vm a]\nkernel = k\ncpus = 3-1\n", 3, "runs backwards", 0 },
	{ "[vm a]\nkernel = k\ncpus = 1,,2\n", 3, "empty item", 0 },
	{ "[vm a]\nkernel = k\ncpus = 1-\n", 3, "empty item", 0 },
	{ "[vm a]\nkernel = k\ncpus = ,\n", 3, "empty item", 0 },
	{ "[vm a]\nkernel = k\ncpus = x\n", 3, "bad CPU number 'x'", 0 },
	{ "[vm a]\nkernel = k\ncpus = 1-2-3\n", 3, "bad CPU number '2-3'", 0 },
	{ "[vm a]\nkernel = k\ncpus = 12345678901234567890123456\n", 3, "too long", 0 },
	{ "[vm a]\nkernel = k\nmodule = a\nmodule = b\nmodule = c\nmodule = d\nmodule = e\n", 7, "too many modules (max 4)", 0 },
	{ "[vm a]\nkernel = k\nmodule = \"\"\n", 3, "module: missing value", 0 },
	{ "memory = 8M\n[vm a]\n", 1, "'memory' outside a [vm NAME] section", 0 },
	{ "[vm a]\nkernel k\n", 2, "missing '=' after 'kernel'", 0 },
	{ "[vm a]\nkernel\n", 2, "missing '=' after 'kernel'", 0 },
	{ "[vm a]\n= 5\n", 2, "missing key before '='", 0 },
	{ "[vm a]\n!!\n", 2, "expected 'key = value'", 0 },
	{ "[vm a]\nkernel = \"k\n", 2, "kernel: missing closing quote", 0 },
	{ "[vm a]\nkernel = \"k\" j\n", 2, "kernel: unexpected text after the value: 'j'", 0 },
	{ "[vm a]\nkernel = k\ncmdline = \"a\" b\n", 3, "cmdline: unexpected text", 0 },
	{ "[vm a]\nkernel = k\r\nvcpus = 1\rx\n", 3, "control character 0x0d", 0 },
	{ "[vm a]\nkernel = k\x01\n", 2, "control character 0x01", 0 },
	{ "[vm a]\nkernel = k\nKernel = k\n", 3, "unknown key 'Kernel'", 0 },
};

static void check_bad(const struct bad_case *b)
{
	char want[32];
	int rc = parse(b->text);

	if (rc != -EINVAL)
		fail_msg("accepted (rc %d) bad input:\n%s", rc, b->text);
	snprintf(want, sizeof(want), "line %u: ", b->line);
	if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, b->words))
		fail_msg("message \"%s\", want \"%s...%s\" for:\n%s", err, want, b->words, b->text);
	if (set.nr != b->complete)
		fail_msg("%u complete entries, want %u, for:\n%s", set.nr, b->complete, b->text);
}

static void test_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		check_bad(&bad_cases[i]);
}

static void test_too_many_vms(void **state)
{
	char text[4096];
	size_t n = 0;

	(void)state;
	for (int i = 0; i <= CONFIG_MAX_VMS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "[vm v%d]\nkernel = k\n", i);
	assert_int_equal(parse(text), -EINVAL);
	snprintf(text, sizeof(text), "line %d: too many VMs (max %d)", 2 * CONFIG_MAX_VMS + 1,
		 CONFIG_MAX_VMS);
	assert_string_equal(err, text);
	assert_int_equal(set.nr, CONFIG_MAX_VMS);
}

static void test_too_long(void **state)
{
	char text[2048];
	int n;

	(void)state;
	/* 512 characters are fine (the CR of CRLF not counted), 513 are not. */
	n = snprintf(text, sizeof(text), "[vm a]\nkernel = k\n# %0510d\r\n", 0);
	assert_true(n > 0);
	parse_ok(text);
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\n# %0511d\n", 0);
	assert_int_equal(parse(text), -EINVAL);
	assert_string_equal(err, "line 3: line too long (513 characters, max 512)");
	/* Values longer than their field. */
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\ncmdline = %0*d\n", VM_CMDLINE_MAX, 0);
	assert_int_equal(parse(text), -EINVAL);
	assert_string_equal(err, "line 3: cmdline: too long (max 255 characters)");
	snprintf(text, sizeof(text), "[vm a]\nkernel = %0*d\n", VM_MODNAME_MAX, 0);
	assert_int_equal(parse(text), -EINVAL);
	assert_string_equal(err, "line 2: kernel: module name too long (max 63 characters)");
	snprintf(text, sizeof(text), "[vm a]\nkernel = k\n\nmodule = %0*d\n", VM_MODNAME_MAX, 0);
	assert_int_equal(parse(text), -EINVAL);
	assert_string_equal(err, "line 4: module: name too long (max 63 characters)");
}

static void test_nul_and_small_errbuf(void **state)
{
	static const char text[] = "[vm a]\nkernel = k\0j\n";
	char small[12];

	(void)state;
	/* An embedded NUL is a control character, not the end of the text. */
	assert_int_equal(config_parse(text, sizeof(text) - 1, &set, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 2: control character 0x00 in column 11");
	/* The message is cut to the buffer; no buffer at all is fine too. */
	memset(small, 'x', sizeof(small));
	assert_int_equal(config_parse("[vm", 3, &set, small, sizeof(small)), -EINVAL);
	assert_string_equal(small, "line 1: mis");
	assert_int_equal(config_parse("[vm", 3, &set, NULL, 0), -EINVAL);
	assert_int_equal(config_parse("[vm", 3, &set, small, 0), -EINVAL);
	/* len bounds the text: a shorter len ignores the rest. */
	assert_int_equal(config_parse("[vm a]\nkernel = k\nbad", 18, &set, err, sizeof(err)), 0);
	assert_int_equal(set.nr, 1);
}

/* What every successful parse must guarantee. */
static void check_invariants(const char *text)
{
	for (unsigned i = 0; i < set.nr; i++) {
		const struct vm_config *c = &set.vms[i];
		size_t nl = strnlen(c->name, VM_NAME_MAX);

		if (nl == 0 || nl >= VM_NAME_MAX || strspn(c->name,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != nl)
			fail_msg("bad name accepted from:\n%s", text);
		if (c->memory < (2ULL << 20) || c->memory > (64ULL << 30) || c->memory % (2ULL << 20))
			fail_msg("bad memory %llu from:\n%s", (unsigned long long)c->memory, text);
		if (c->vcpus < 1 || c->vcpus > VM_MAX_VCPUS || c->nr_modules > VM_MAX_EXTRA_MODULES)
			fail_msg("bad counts from:\n%s", text);
		if (!c->kernel[0] || strnlen(c->kernel, VM_MODNAME_MAX) >= VM_MODNAME_MAX ||
		    strnlen(c->cmdline, VM_CMDLINE_MAX) >= VM_CMDLINE_MAX)
			fail_msg("bad strings from:\n%s", text);
		for (unsigned j = 0; j < i; j++)
			if (strcmp(set.vms[j].name, c->name) == 0)
				fail_msg("duplicate name accepted from:\n%s", text);
	}
}

static const char fuzz_seed[] =
	"# seed\n[vm web1]\nmemory = 64M\nvcpus = 2\nkernel = guest.elf\n"
	"cmdline = \"console=ttyS0 a=b\"\nmodule = initrd\nmodule = m2\nautostart = yes\n"
	"cpus = 0-3,6\nmmu = nested\ntestdev = no\n\n[vm b]\r\nkernel=x # c\r\n";

static const char fuzz_alphabet[] = "[]=\"\\#-,\n\r\t x0123456789vmMKG\x01\x7f\xff";

static void mutate(char *buf, size_t *len, size_t cap)
{
	size_t pos = *len ? (size_t)rand() % *len : 0;
	char c = fuzz_alphabet[rand() % (sizeof(fuzz_alphabet) - 1)];

	switch (rand() % 5) {
	case 0: /* replace */
		if (*len)
			buf[pos] = c;
		break;
	case 1: /* insert */
		if (*len < cap) {
			memmove(buf + pos + 1, buf + pos, *len - pos);
			buf[pos] = c;
			(*len)++;
		}
		break;
	case 2: /* delete */
		if (*len) {
			memmove(buf + pos, buf + pos + 1, *len - pos - 1);
			(*len)--;
		}
		break;
	case 3: /* random byte */
		if (*len)
			buf[pos] = (char)rand();
		break;
	default: /* duplicate a run (repeats lines, keys and sections) */
		if (*len) {
			size_t n = (size_t)rand() % 40 + 1;

			n = n > *len - pos ? *len - pos : n;
			if (*len + n <= cap) {
				memmove(buf + pos + n, buf + pos, *len - pos);
				(*len) += n;
			}
		}
		break;
	}
}

static void test_fuzz(void **state)
{
	enum { CAP = 4096, ROUNDS = 20000 };
	unsigned ok = 0, bad = 0;

	(void)state;
	srand(12345);
	for (int r = 0; r < ROUNDS; r++) {
		char *buf = malloc(CAP), *exact;
		size_t len = sizeof(fuzz_seed) - 1;
		int rc, muts = rand() % 8 + 1;
		unsigned line;

		memcpy(buf, fuzz_seed, len);
		for (int m = 0; m < muts; m++)
			mutate(buf, &len, CAP);
		exact = malloc(len ? len : 1);
		memcpy(exact, buf, len);
		memset(&set, 0, sizeof(set));
		err[0] = 'x';
		rc = config_parse(exact, len, &set, err, sizeof(err));
		if (rc == 0) {
			ok++;
			if (err[0])
				fail_msg("success with a message: %s", err);
			buf[len < CAP ? len : CAP - 1] = '\0';
			check_invariants(buf);
		} else {
			bad++;
			assert_int_equal(rc, -EINVAL);
			if (sscanf(err, "line %u: ", &line) != 1 || line == 0 || line > len + 1)
				fail_msg("bad message \"%s\"", err);
			assert_true(strlen(err) < sizeof(err));
		}
		free(exact);
		free(buf);
	}
	/* Both outcomes must occur, or the mutations test nothing. */
	assert_true(ok > 100);
	assert_true(bad > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_many_vms),
		cmocka_unit_test(test_crlf_and_blanks),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_limits_ok),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_too_many_vms),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_nul_and_small_errbuf),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
