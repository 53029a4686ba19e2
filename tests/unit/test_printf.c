/* kvsnprintf checked against the C library's snprintf on the same formats. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "lib/printf.h"

static void check(const char *fmt, ...)
{
	char got[256], want[256];
	va_list ap, aq;
	int n1, n2;

	va_start(ap, fmt);
	va_copy(aq, ap);
	n1 = kvsnprintf(got, sizeof(got), fmt, ap);
	n2 = vsnprintf(want, sizeof(want), fmt, aq);
	va_end(aq);
	va_end(ap);
	if (strcmp(got, want) != 0 || n1 != n2)
		fail_msg("format \"%s\": got \"%s\" (%d), want \"%s\" (%d)", fmt, got, n1, want, n2);
}

static void test_integers(void **state)
{
	(void)state;
	long long vals[] = { 0, 1, -1, 7, -42, 255, 65535, 2147483647LL, -2147483648LL,
			     9223372036854775807LL, (-9223372036854775807LL - 1) };
	const char *fmts[] = { "%lld", "%5lld", "%-5lld|", "%05lld", "%+lld", "% lld",
			       "%.3lld", "%8.3lld", "%-8.3lld|", "%llx", "%#llx", "%llX",
			       "%#llX", "%llo", "%#llo", "%020llx", "%.0lld", "%llu" };

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		for (size_t j = 0; j < sizeof(fmts) / sizeof(fmts[0]); j++)
			check(fmts[j], vals[i]);
	check("%d %i %u", -5, 17, 3000000000u);
	check("%hhd %hd %hhu %hu", 300, 70000, 300, 70000);
	check("%zu %zx", (size_t)12345, (size_t)0xdead);
	check("%ld %lx", -123456789L, 0xfeedfaceUL);
	check("%*d|%-*d|%.*d", 6, 42, 6, 42, 4, 42);
}

static void test_strings_chars(void **state)
{
	(void)state;
	check("%s", "hello");
	check("[%10s]", "hi");
	check("[%-10s]", "hi");
	check("[%.2s]", "hello");
	check("[%8.3s]", "hello");
	check("%c%c%c", 'a', 'b', 'c');
	check("[%3c][%-3c]", 'x', 'y');
	check("100%%");
	check("%p", (void *)0x1234);
	check("plain text");
}

static void test_truncation(void **state)
{
	char buf[8];
	int n;

	(void)state;
	n = ksnprintf(buf, sizeof(buf), "%s", "0123456789");
	assert_int_equal(n, 10);
	assert_string_equal(buf, "0123456");
	n = ksnprintf(buf, 1, "abc");
	assert_int_equal(n, 3);
	assert_string_equal(buf, "");
	n = ksnprintf(NULL, 0, "%d", 12345);
	assert_int_equal(n, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_strings_chars),
		cmocka_unit_test(test_truncation),
	};
	return cmocka_run_group_tests_name("printf", tests, NULL, NULL);
}
