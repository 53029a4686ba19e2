/* lib/cmdline: word splitting, number parsing and boot-option lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "lib/cmdline.h"

#define MAXV 8

/* Split `in` and compare with the expected words (NULL-terminated list). */
static void check_split(const char *in, const char *const *want)
{
	char line[256];
	char *argv[MAXV];
	const char *msg = "unset";
	int argc, n = 0;

	strcpy(line, in);
	argc = cmdline_split(line, argv, MAXV, &msg);
	while (want[n])
		n++;
	if (argc != n)
		fail_msg("split \"%s\": argc %d, want %d (%s)", in, argc, n, argc < 0 ? msg : "");
	for (int i = 0; i < n; i++)
		if (strcmp(argv[i], want[i]) != 0)
			fail_msg("split \"%s\": argv[%d] \"%s\", want \"%s\"", in, i, argv[i], want[i]);
	assert_null(argv[argc]);
}

static void test_split_words(void **state)
{
	(void)state;
	check_split("", (const char *[]){ NULL });
	check_split("   \t ", (const char *[]){ NULL });
	check_split("help", (const char *[]){ "help", NULL });
	check_split("  log   level\t7  ", (const char *[]){ "log", "level", "7", NULL });
	check_split("a b c d e f g", (const char *[]){ "a", "b", "c", "d", "e", "f", "g", NULL });
}

static void test_split_quotes_escapes(void **state)
{
	(void)state;
	check_split("echo \"a  b\" c", (const char *[]){ "echo", "a  b", "c", NULL });
	check_split("x\"y z\"w", (const char *[]){ "xy zw", NULL });
	check_split("\"\" a", (const char *[]){ "", "a", NULL });
	check_split("a\\ b c", (const char *[]){ "a b", "c", NULL });
	check_split("\"say \\\"hi\\\"\"", (const char *[]){ "say \"hi\"", NULL });
	check_split("back\\\\slash", (const char *[]){ "back\\slash", NULL });
	check_split("\\\"", (const char *[]){ "\"", NULL });
}

static void check_split_error(const char *in, int want_err, const char *want_msg)
{
	char line[256];
	char *argv[MAXV];
	const char *msg = NULL;

	strcpy(line, in);
	assert_int_equal(cmdline_split(line, argv, MAXV, &msg), want_err);
	assert_non_null(msg);
	assert_string_equal(msg, want_msg);
}

static void test_split_errors(void **state)
{
	char line[] = "a b";
	char *argv[1];

	(void)state;
	check_split_error("echo \"abc", -EINVAL, "unterminated quote");
	check_split_error("\"", -EINVAL, "unterminated quote");
	check_split_error("abc\\", -EINVAL, "trailing backslash");
	check_split_error("1 2 3 4 5 6 7 8", -E2BIG, "too many arguments");
	/* room for the NULL only: no word fits; errmsg may be NULL */
	assert_int_equal(cmdline_split(line, argv, 1, NULL), -E2BIG);
}

static void test_parse_u64(void **state)
{
	u64 v = 12345;

	(void)state;
	assert_int_equal(cmdline_parse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cmdline_parse_u64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cmdline_parse_u64("+7", 0, 100, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cmdline_parse_u64("0x1F", 0, 100, &v), 0);
	assert_int_equal(v, 31);
	assert_int_equal(cmdline_parse_u64("0XfF", 0, 1000, &v), 0);
	assert_int_equal(v, 255);
	assert_int_equal(cmdline_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(cmdline_parse_u64("0xffffffffffffffff", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);

	v = 99;
	assert_int_equal(cmdline_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(cmdline_parse_u64("0x10000000000000000", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(cmdline_parse_u64("8", 0, 7, &v), -ERANGE);
	assert_int_equal(cmdline_parse_u64("2", 3, 7, &v), -ERANGE);
	assert_int_equal(cmdline_parse_u64("", 0, 7, &v), -EINVAL);
	assert_int_equal(cmdline_parse_u64("x", 0, 7, &v), -EINVAL);
	assert_int_equal(cmdline_parse_u64("0x", 0, 7, &v), -EINVAL);
	assert_int_equal(cmdline_parse_u64("-1", 0, 7, &v), -EINVAL);
	assert_int_equal(cmdline_parse_u64("1 ", 0, 7, &v), -EINVAL);
	assert_int_equal(cmdline_parse_u64(" 1", 0, 7, &v), -EINVAL);
	assert_int_equal(cmdline_parse_u64("12ab", 0, 7000, &v), -EINVAL);
	assert_int_equal(cmdline_parse_u64("0x1g", 0, 7000, &v), -EINVAL);
	assert_int_equal(v, 99); /* untouched on error */
}

static void test_parse_s64(void **state)
{
	s64 v = 5;

	(void)state;
	assert_int_equal(cmdline_parse_s64("-42", -100, 100, &v), 0);
	assert_int_equal(v, -42);
	assert_int_equal(cmdline_parse_s64("+42", -100, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cmdline_parse_s64("-0x10", -100, 100, &v), 0);
	assert_int_equal(v, -16);
	assert_int_equal(cmdline_parse_s64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(cmdline_parse_s64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);

	v = 5;
	assert_int_equal(cmdline_parse_s64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -ERANGE);
	assert_int_equal(cmdline_parse_s64("-9223372036854775809", INT64_MIN, INT64_MAX, &v), -ERANGE);
	assert_int_equal(cmdline_parse_s64("-101", -100, 100, &v), -ERANGE);
	assert_int_equal(cmdline_parse_s64("101", -100, 100, &v), -ERANGE);
	assert_int_equal(cmdline_parse_s64("-", -100, 100, &v), -EINVAL);
	assert_int_equal(cmdline_parse_s64("--1", -100, 100, &v), -EINVAL);
	assert_int_equal(cmdline_parse_s64("1-", -100, 100, &v), -EINVAL);
	assert_int_equal(v, 5);
}

static void test_parse_size(void **state)
{
	u64 v = 1;

	(void)state;
	assert_int_equal(cmdline_parse_size("4096", UINT64_MAX, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(cmdline_parse_size("4k", UINT64_MAX, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(cmdline_parse_size("16M", UINT64_MAX, &v), 0);
	assert_int_equal(v, 16ULL << 20);
	assert_int_equal(cmdline_parse_size("2G", UINT64_MAX, &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(cmdline_parse_size("0x10m", UINT64_MAX, &v), 0);
	assert_int_equal(v, 16ULL << 20);
	assert_int_equal(cmdline_parse_size("1t", UINT64_MAX, &v), 0);
	assert_int_equal(v, 1ULL << 40);

	v = 1;
	assert_int_equal(cmdline_parse_size("1G", (1ULL << 30) - 1, &v), -ERANGE);
	assert_int_equal(cmdline_parse_size("16777216T", UINT64_MAX, &v), -ERANGE);
	assert_int_equal(cmdline_parse_size("4KB", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(cmdline_parse_size("4X", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(cmdline_parse_size("K", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(cmdline_parse_size("-4K", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(v, 1);
}

static void test_boot_get(void **state)
{
	const char *cl = "console=com1 loglevel=6  nox2apic name=\"my host\" loglevel=7 empty=";
	char buf[32];
	u64 v = 0;

	(void)state;
	assert_int_equal(cmdline_get(cl, "console", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "com1");
	assert_int_equal(cmdline_get(cl, "loglevel", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "7"); /* the last one counts */
	assert_int_equal(cmdline_get(cl, "name", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "my host");
	assert_int_equal(cmdline_get(cl, "nox2apic", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(cmdline_get(cl, "empty", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(cmdline_get(cl, "log", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(cmdline_get(cl, "consol", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(cmdline_get(cl, "com1", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(cmdline_get(NULL, "console", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(cmdline_get("", "console", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(cmdline_get(cl, "console", buf, 4), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(cmdline_get(cl, "console", buf, 5), 0);
	assert_string_equal(buf, "com1");

	assert_int_equal(cmdline_get_u64(cl, "loglevel", 0, 7, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cmdline_get_u64(cl, "loglevel", 0, 6, &v), -ERANGE);
	assert_int_equal(cmdline_get_u64(cl, "console", 0, 6, &v), -EINVAL);
	assert_int_equal(cmdline_get_u64(cl, "missing", 0, 6, &v), -ENOENT);
}

static void test_boot_flags(void **state)
{
	const char *cl = "nox2apic smp=off debug=1 quiet=no verbose=yes x=false long=enabledandmore";

	(void)state;
	assert_true(cmdline_has_flag(cl, "nox2apic"));
	assert_false(cmdline_has_flag(cl, "smp"));
	assert_true(cmdline_has_flag(cl, "debug"));
	assert_false(cmdline_has_flag(cl, "quiet"));
	assert_true(cmdline_has_flag(cl, "verbose"));
	assert_false(cmdline_has_flag(cl, "x"));
	assert_true(cmdline_has_flag(cl, "long"));
	assert_false(cmdline_has_flag(cl, "nox2api"));
	assert_false(cmdline_has_flag(cl, "x2apic"));
	assert_false(cmdline_has_flag(NULL, "nox2apic"));
	assert_true(cmdline_has_flag("smp=off smp", "smp"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_words),
		cmocka_unit_test(test_split_quotes_escapes),
		cmocka_unit_test(test_split_errors),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_s64),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_boot_get),
		cmocka_unit_test(test_boot_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
