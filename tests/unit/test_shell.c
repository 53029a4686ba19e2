/* mgmt/shell core: command table, dispatch, error messages, help, and a scripted session. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "mgmt/shell.h"
#include "kernel/log.h"

/* printk stand-in: keep the last message for the table checks. */
static char last_log[512];
void printk(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
}

static char outbuf[8192];
static size_t outlen;

static void capture(const char *s, size_t len, void *ctx)
{
	assert_true(outlen + len < sizeof(outbuf));
	memcpy(outbuf + outlen, s, len);
	outlen += len;
	outbuf[outlen] = '\0';
}

static struct shell_out out = { .write = capture };

static void reset_output(void)
{
	outlen = 0;
	outbuf[0] = '\0';
}

/* Run a line through shell_exec; returns its result, output in outbuf. */
static int run(const char *line)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", line);
	reset_output();
	return shell_exec(&out, buf);
}

static int cmd_echo(int argc, char **argv, struct shell_out *o)
{
	if (argc < 2)
		return SHELL_USAGE;
	for (int i = 1; i < argc; i++)
		shell_printf(o, "%s[%s]", i > 1 ? " " : "", argv[i]);
	shell_printf(o, "\n");
	return 0;
}
SHELL_COMMAND(echo, "echo", "<word>...", "print the words, bracketed", cmd_echo);

static int cmd_silent_fail(int argc, char **argv, struct shell_out *o) { return -ENOMEM; }
SHELL_COMMAND(silent, "silentfail", "", "fail without a word", cmd_silent_fail);

static int cmd_loud_fail(int argc, char **argv, struct shell_out *o)
{
	shell_printf(o, "loudfail: the widget is missing\n");
	return -ENODEV;
}
SHELL_COMMAND(loud, "loudfail", "", "fail with a message", cmd_loud_fail);

static int dup_calls;
static int cmd_dup(int argc, char **argv, struct shell_out *o)
{
	dup_calls++;
	return 0;
}
SHELL_COMMAND(dup1, "dup", "", "first", cmd_dup);
SHELL_COMMAND(dup2, "dup", "", "second", cmd_dup);
SHELL_COMMAND(broken, "broken", "", "no handler", NULL);

static void test_dispatch_args(void **state)
{
	(void)state;
	assert_int_equal(run("echo a \"b c\" d\\ e"), 0);
	assert_string_equal(outbuf, "[a] [b c] [d e]\n");
	assert_int_equal(run("   echo   x  "), 0);
	assert_string_equal(outbuf, "[x]\n");
}

static void test_empty_line(void **state)
{
	(void)state;
	assert_int_equal(run(""), 0);
	assert_string_equal(outbuf, "");
	assert_int_equal(run(" \t "), 0);
	assert_string_equal(outbuf, "");
}

static void test_unknown(void **state)
{
	(void)state;
	assert_int_equal(run("frobnicate now"), -ENOENT);
	assert_string_equal(outbuf, "unknown command 'frobnicate' (try 'help')\n");
	assert_int_equal(run("broken"), -ENOENT); /* an entry with no handler is not a command */
	assert_int_equal(run("echo ok"), 0);
	assert_string_equal(outbuf, "[ok]\n");
}

static void test_usage_and_errors(void **state)
{
	(void)state;
	assert_int_equal(run("echo"), SHELL_USAGE);
	assert_string_equal(outbuf, "usage: echo <word>...\n");
	assert_int_equal(run("silentfail"), -ENOMEM);
	assert_string_equal(outbuf, "silentfail: out of memory (error -12)\n");
	assert_int_equal(run("loudfail"), -ENODEV);
	assert_string_equal(outbuf, "loudfail: the widget is missing\n");
	assert_int_equal(run("echo \"open"), -EINVAL);
	assert_string_equal(outbuf, "error: unterminated quote\n");
	assert_int_equal(run("echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"), -E2BIG);
	assert_string_equal(outbuf, "error: too many arguments\n");
	assert_int_equal(run("echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15"), 0);
}

static void test_help(void **state)
{
	const char *names[] = { "dup", "echo", "help", "loudfail", "silentfail" };
	const char *prev = outbuf;

	(void)state;
	assert_int_equal(run("help"), 0);
	/* every command once, in name order, each with its help text */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[64];
		const char *at;

		snprintf(want, sizeof(want), "\n  %s ", names[i]);
		at = strstr(outbuf, want);
		if (!at || at < prev)
			fail_msg("help: '%s' missing or out of order:\n%s", names[i], outbuf);
		assert_null(strstr(at + 1, want));
		prev = at;
	}
	assert_non_null(strstr(outbuf, "print the words, bracketed\n"));
	assert_null(strstr(outbuf, "broken"));

	assert_int_equal(run("help echo"), 0);
	assert_string_equal(outbuf, "usage: echo <word>...\n  print the words, bracketed\n");
	assert_int_equal(run("help nosuch"), -ENOENT);
	assert_string_equal(outbuf, "unknown command 'nosuch' (try 'help')\n");
	assert_int_equal(run("help a b"), SHELL_USAGE);
	assert_string_equal(outbuf, "usage: help [command]\n");
}

static void test_table_check(void **state)
{
	(void)state;
	last_log[0] = '\0';
	/* help echo silentfail loudfail dup (once) */
	assert_int_equal(shell_check_table(), 5);
	assert_non_null(strstr(last_log, "'dup' defined twice"));
	dup_calls = 0;
	assert_int_equal(run("dup"), 0);
	assert_int_equal(dup_calls, 1);
}

/* A session fed from a script; -1 ends it. */
struct script {
	const char *bytes;
	size_t pos, len;
};

static int script_read(void *ctx)
{
	struct script *s = ctx;

	return s->pos < s->len ? (unsigned char)s->bytes[s->pos++] : -1;
}

static void test_session(void **state)
{
	static const char input[] = "echo one\rbogus\r\x1b[A\x1b[A\r" "ech\x7f\x7f\x7f\x15help echo\r";
	static struct shell_session session;
	struct script sc = { input, 0, sizeof(input) - 1 };
	const char *want =
		"hv> echo one\n[one]\n"
		"hv> bogus\nunknown command 'bogus' (try 'help')\n"
		"hv> \rhv> bogus\x1b[K\rhv> echo one\x1b[K\n[one]\n";

	(void)state;
	reset_output();
	shell_session_init(&session, out, script_read, &sc);
	shell_session_run(&session);
	if (strncmp(outbuf, want, strlen(want)) != 0)
		fail_msg("session output:\n%s", outbuf);
	assert_non_null(strstr(outbuf, "\b \bhelp echo\nusage: echo <word>...\n"));
	assert_int_equal(sc.pos, sc.len);
	/* ends at a fresh prompt */
	assert_string_equal(outbuf + outlen - strlen(SHELL_PROMPT), SHELL_PROMPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_args),
		cmocka_unit_test(test_empty_line),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_usage_and_errors),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_table_check),
		cmocka_unit_test(test_session),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
