/* mgmt/lineedit: the editor driven byte by byte, its output rendered on a model terminal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mgmt/lineedit.h"

#define PROMPT "hv> "
#define COLS 512

/*
 * A one-row terminal: printable bytes overwrite at the cursor, '\b' moves left,
 * '\r' to column 0, ESC [ K erases to the end, '\n' starts a fresh row (the
 * old one is kept in `last`), BEL is counted. Anything else fails the test.
 */
struct term {
	char row[COLS + 1];
	char last[COLS + 1];
	size_t col;
	int bells;
	int newlines;
	int esc; /* bytes of ESC [ K seen so far */
};

static void term_out(const char *s, size_t len, void *ctx)
{
	struct term *t = ctx;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (t->esc) {
			if ((t->esc == 1 && c != '[') || (t->esc == 2 && c != 'K'))
				fail_msg("unexpected escape sequence byte '%c'", c);
			if (t->esc == 2) {
				memset(t->row + t->col, 0, COLS - t->col);
				t->esc = 0;
			} else {
				t->esc++;
			}
			continue;
		}
		switch (c) {
		case '\x1b': t->esc = 1; break;
		case '\b': assert_true(t->col > 0); t->col--; break;
		case '\r': t->col = 0; break;
		case '\a': t->bells++; break;
		case '\n':
			memcpy(t->last, t->row, sizeof(t->row));
			memset(t->row, 0, sizeof(t->row));
			t->col = 0;
			t->newlines++;
			break;
		default:
			if (c < 0x20 || c >= 0x7f)
				fail_msg("unexpected output byte 0x%02x", (unsigned char)c);
			assert_true(t->col < COLS);
			t->row[t->col++] = c;
		}
	}
}

struct fixture {
	struct lineedit le;
	struct term term;
};

/* Two fixtures are enough for any test; static so a failing test leaks nothing. */
static struct fixture *new_fixture(void)
{
	static struct fixture pool[2];
	static unsigned next;
	struct fixture *f = &pool[next++ % 2];

	memset(f, 0, sizeof(*f));
	lineedit_init(&f->le, PROMPT, term_out, &f->term);
	lineedit_start(&f->le);
	return f;
}

static void trim_right(char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == ' ')
		s[--n] = '\0';
}

/*
 * The screen must show exactly the prompt and the line, with the cursor in
 * place. A space and an erased cell look the same, so trailing spaces are ignored.
 */
static void check_screen(struct fixture *f)
{
	char want[COLS + 1], got[COLS + 1];

	snprintf(want, sizeof(want), "%s%s", PROMPT, f->le.line);
	memcpy(got, f->term.row, sizeof(got));
	trim_right(want);
	trim_right(got);
	if (strcmp(got, want) != 0)
		fail_msg("screen \"%s\", want \"%s\"", got, want);
	assert_int_equal(f->term.col, strlen(PROMPT) + f->le.cursor);
	assert_int_equal(strlen(f->le.line), f->le.len);
}

/* Feed bytes; return the number of finished lines, the last one copied to `done`. */
static int feed(struct fixture *f, const char *s, size_t n, char *done)
{
	int lines = 0;

	for (size_t i = 0; i < n; i++) {
		enum lineedit_event ev = lineedit_feed(&f->le, (unsigned char)s[i]);

		if (ev == LINEEDIT_LINE) {
			lines++;
			if (done)
				strcpy(done, lineedit_line(&f->le));
			lineedit_start(&f->le);
		}
		if (f->le.esc == LINEEDIT_ESC_NONE)
			check_screen(f);
	}
	return lines;
}

#define FEED(f, lit, done) feed((f), (lit), sizeof(lit) - 1, (done))
#define UP "\x1b[A"
#define DOWN "\x1b[B"
#define RIGHT "\x1b[C"
#define LEFT "\x1b[D"

static void test_type_and_enter(void **state)
{
	struct fixture *f = new_fixture();
	char done[256] = "";

	(void)state;
	assert_string_equal(f->term.row, PROMPT);
	assert_int_equal(FEED(f, "help", done), 0);
	assert_int_equal(FEED(f, "\r", done), 1);
	assert_string_equal(done, "help");
	assert_string_equal(f->term.last, PROMPT "help");
	assert_string_equal(f->term.row, PROMPT);
}

static void test_line_endings(void **state)
{
	struct fixture *f = new_fixture();
	char done[256];

	(void)state;
	assert_int_equal(FEED(f, "a\r\nb\r\n", done), 2);
	assert_string_equal(done, "b");
	assert_int_equal(FEED(f, "c\nd\n", done), 2);
	assert_string_equal(done, "d");
	assert_int_equal(FEED(f, "e\r", done), 1);
	assert_int_equal(FEED(f, "f\r", done), 1);
	assert_string_equal(done, "f");
	/* telnet's CR NUL is one Enter too */
	assert_int_equal(feed(f, "g\r\0h\r", 5, done), 2);
	assert_string_equal(done, "h");
	/* an empty line is still a line; CR LF CR LF is two Enters */
	assert_int_equal(FEED(f, "\r\n\r\n", done), 2);
	assert_string_equal(done, "");
}

static void test_backspace(void **state)
{
	struct fixture *f = new_fixture();
	char done[256];

	(void)state;
	FEED(f, "helpx\x7f", NULL);
	assert_string_equal(f->le.line, "help");
	FEED(f, "\b\b", NULL);
	assert_string_equal(f->le.line, "he");
	FEED(f, "\x7f\x7f\x7f\x7f", NULL); /* extra backspaces on an empty line do nothing */
	assert_string_equal(f->le.line, "");
	assert_int_equal(FEED(f, "ok\r", done), 1);
	assert_string_equal(done, "ok");
}

static void test_cursor_movement(void **state)
{
	struct fixture *f = new_fixture();
	char done[256];

	(void)state;
	FEED(f, "ac" LEFT "b", NULL);
	assert_string_equal(f->le.line, "abc");
	assert_int_equal(f->le.cursor, 2);
	FEED(f, "\x01" "x", NULL); /* Ctrl-A */
	assert_string_equal(f->le.line, "xabc");
	FEED(f, "\x05" "y", NULL); /* Ctrl-E */
	assert_string_equal(f->le.line, "xabcy");
	FEED(f, LEFT LEFT LEFT "\x7f", NULL); /* cursor between 'a' and 'b' */
	assert_string_equal(f->le.line, "xbcy");
	FEED(f, RIGHT RIGHT RIGHT RIGHT RIGHT "z", NULL); /* stops at the end */
	assert_string_equal(f->le.line, "xbcyz");
	FEED(f, "\x1b[H" "<" "\x1b[F" ">", NULL);
	assert_string_equal(f->le.line, "<xbcyz>");
	FEED(f, "\x1bOH" "\x1b[3~", NULL); /* Home (SS3), Delete */
	assert_string_equal(f->le.line, "xbcyz>");
	FEED(f, "\x1b[1;5C" "-", NULL); /* Ctrl-Right counts as Right */
	assert_string_equal(f->le.line, "x-bcyz>");
	FEED(f, "\x1b[Z\x1b[99~\x1bx", NULL); /* unknown sequences are ignored */
	assert_string_equal(f->le.line, "x-bcyz>");
	assert_int_equal(FEED(f, LEFT "\r", done), 1);
	assert_string_equal(done, "x-bcyz>"); /* Enter takes the whole line, not up to the cursor */
}

static void test_kill(void **state)
{
	struct fixture *f = new_fixture();

	(void)state;
	FEED(f, "hello world\x15", NULL);
	assert_string_equal(f->le.line, "");
	assert_string_equal(f->term.row, PROMPT);
	FEED(f, "abcdef" LEFT LEFT "\x15", NULL);
	assert_string_equal(f->le.line, "ef");
	assert_int_equal(f->le.cursor, 0);
	FEED(f, RIGHT "\x0b", NULL); /* Ctrl-K */
	assert_string_equal(f->le.line, "e");
}

static void test_ctrl_c(void **state)
{
	struct fixture *f = new_fixture();
	char done[256];

	(void)state;
	FEED(f, "reboot", NULL);
	assert_int_equal(lineedit_feed(&f->le, 0x03), LINEEDIT_CANCEL);
	assert_string_equal(f->term.last, PROMPT "reboot^C");
	check_screen(f);
	assert_string_equal(f->le.line, "");
	assert_int_equal(FEED(f, "ls\r", done), 1);
	assert_string_equal(done, "ls");
	/* Ctrl-C inside an escape sequence still cancels */
	FEED(f, "x\x1b[", NULL);
	assert_int_equal(lineedit_feed(&f->le, 0x03), LINEEDIT_CANCEL);
	assert_string_equal(f->le.line, "");
}

static void test_history(void **state)
{
	struct fixture *f = new_fixture();
	char done[256];

	(void)state;
	FEED(f, UP, NULL); /* empty history: bell, nothing changes */
	assert_int_equal(f->term.bells, 1);
	assert_int_equal(FEED(f, "one\rtwo\rtwo\r   \rthree\r", done), 5);
	FEED(f, "par", NULL);
	FEED(f, UP, NULL);
	assert_string_equal(f->le.line, "three");
	FEED(f, UP, NULL);
	assert_string_equal(f->le.line, "two");
	FEED(f, UP, NULL); /* "two" was stored once, the blank line not at all */
	assert_string_equal(f->le.line, "one");
	FEED(f, UP, NULL);
	assert_string_equal(f->le.line, "one");
	assert_int_equal(f->term.bells, 2);
	FEED(f, DOWN DOWN, NULL);
	assert_string_equal(f->le.line, "three");
	FEED(f, DOWN, NULL); /* back to the line being typed */
	assert_string_equal(f->le.line, "par");
	FEED(f, "\x10", NULL); /* Ctrl-P */
	FEED(f, "X", NULL);  /* edit the recalled copy */
	assert_int_equal(FEED(f, "\r", done), 1);
	assert_string_equal(done, "threeX");
	FEED(f, UP UP, NULL); /* the entry itself was not changed */
	assert_string_equal(f->le.line, "three");
	FEED(f, "\x0e", NULL); /* Ctrl-N */
	assert_string_equal(f->le.line, "threeX");
	FEED(f, "\x03", NULL);
	assert_int_equal(FEED(f, "\x1bOA\r", done), 1); /* Up in SS3 form */
	assert_string_equal(done, "threeX");
}

static void test_history_bounded(void **state)
{
	struct fixture *f = new_fixture();
	char cmd[32];

	(void)state;
	for (int i = 1; i <= LINEEDIT_HISTORY + 4; i++) {
		snprintf(cmd, sizeof(cmd), "cmd%d\r", i);
		assert_int_equal(feed(f, cmd, strlen(cmd), NULL), 1);
	}
	for (int i = 0; i < LINEEDIT_HISTORY; i++)
		FEED(f, UP, NULL);
	assert_string_equal(f->le.line, "cmd5");
	assert_int_equal(f->term.bells, 0);
	FEED(f, UP, NULL);
	assert_string_equal(f->le.line, "cmd5");
	assert_int_equal(f->term.bells, 1);
}

static void test_line_bounded(void **state)
{
	struct fixture *f = new_fixture();
	char big[LINEEDIT_LINE_MAX + 50];
	char done[256];

	(void)state;
	memset(big, 'x', sizeof(big));
	feed(f, big, sizeof(big), NULL);
	assert_int_equal(f->le.len, LINEEDIT_LINE_MAX);
	assert_int_equal(f->term.bells, 50);
	FEED(f, "\x01", NULL);
	FEED(f, "y", NULL); /* full: inserting in the middle is refused too */
	assert_int_equal(f->term.bells, 51);
	assert_int_equal(FEED(f, "\r", done), 1);
	assert_int_equal(strlen(done), LINEEDIT_LINE_MAX);
}

static void test_ignored_bytes(void **state)
{
	struct fixture *f = new_fixture();

	(void)state;
	FEED(f, "a\tb\x80\xff\x02\x06" "c", NULL);
	assert_string_equal(f->le.line, "abc");
}

static void test_sessions_independent(void **state)
{
	struct fixture *a = new_fixture(), *b = new_fixture();
	char done[256];

	(void)state;
	FEED(a, "alpha", NULL);
	FEED(b, "beta\r", done);
	assert_string_equal(done, "beta");
	assert_string_equal(a->le.line, "alpha");
	FEED(a, UP, NULL); /* b's history is not a's */
	assert_string_equal(a->le.line, "alpha");
}

/* Random key presses: the screen always matches the state, nothing overflows. */
static void test_random_keys(void **state)
{
	static const char *const keys[] = { "a", "b", "Z", " ", "\x7f", "\b", "\x15", "\x0b",
					    "\x01", "\x05", UP, DOWN, LEFT, RIGHT, "\x1b[3~",
					    "\r", "\n", "\r\n", "\x03", "\x1b", "[", "~" };
	struct fixture *f = new_fixture();

	(void)state;
	srand(1234);
	for (int i = 0; i < 200000; i++) {
		const char *k = keys[rand() % (int)(sizeof(keys) / sizeof(keys[0]))];

		feed(f, k, strlen(k), NULL);
		assert_true(f->le.len <= LINEEDIT_LINE_MAX);
		assert_true(f->le.cursor <= f->le.len);
		assert_true(f->le.hist_count <= LINEEDIT_HISTORY);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_and_enter),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_backspace),
		cmocka_unit_test(test_cursor_movement),
		cmocka_unit_test(test_kill),
		cmocka_unit_test(test_ctrl_c),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_history_bounded),
		cmocka_unit_test(test_line_bounded),
		cmocka_unit_test(test_ignored_bytes),
		cmocka_unit_test(test_sessions_independent),
		cmocka_unit_test(test_random_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
