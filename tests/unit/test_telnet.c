/* mgmt/telnet_proto: option negotiation, commands, subnegotiation, escaping, password reader, fuzzing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mgmt/lineedit.h"
#include "mgmt/telnet_proto.h"

#define IAC TELNET_IAC

/* Collects replies and data bytes of one feed run. */
struct io {
	u8 reply[1 << 16];
	size_t nreply;
	u8 data[1 << 16];
	size_t ndata;
};

static void on_reply(void *ctx, const u8 *b, size_t n)
{
	struct io *io = ctx;

	assert_true(io->nreply + n <= sizeof(io->reply));
	memcpy(io->reply + io->nreply, b, n);
	io->nreply += n;
}

static void feed(struct telnet_proto *tp, struct io *io, const u8 *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int d = telnet_proto_feed(tp, in[i], on_reply, io);

		assert_true(d >= -1 && d <= 255);
		if (d >= 0) {
			assert_true(io->ndata < sizeof(io->data));
			io->data[io->ndata++] = (u8)d;
		}
	}
}

#define FEED(tp, io, ...)                                   \
	do {                                                \
		static const u8 in_[] = { __VA_ARGS__ };    \
		feed((tp), (io), in_, sizeof(in_));         \
	} while (0)

static struct io *new_io(void)
{
	struct io *io = calloc(1, sizeof(*io));

	assert_non_null(io);
	return io;
}

static void opened(struct telnet_proto *tp)
{
	u8 offers[TELNET_OPEN_LEN];
	static const u8 want[] = { IAC, TELNET_WILL, TELOPT_ECHO, IAC, TELNET_WILL, TELOPT_SGA,
				   IAC, TELNET_DO, TELOPT_SGA, IAC, TELNET_DO, TELOPT_NAWS };

	telnet_proto_init(tp);
	assert_int_equal(telnet_proto_open(tp, offers), sizeof(want));
	assert_memory_equal(offers, want, sizeof(want));
}

/* A client that agrees to everything we offered: no further replies, options on. */
static void test_offers_accepted_silently(void **state)
{
	struct telnet_proto tp;
	struct io *io = new_io();

	opened(&tp);
	FEED(&tp, io, IAC, TELNET_DO, TELOPT_ECHO, IAC, TELNET_DO, TELOPT_SGA, IAC, TELNET_WILL,
	     TELOPT_SGA, IAC, TELNET_WILL, TELOPT_NAWS);
	assert_int_equal(io->nreply, 0);
	assert_int_equal(io->ndata, 0);
	assert_true(telnet_proto_us(&tp, TELOPT_ECHO));
	assert_true(telnet_proto_us(&tp, TELOPT_SGA));
	assert_true(telnet_proto_him(&tp, TELOPT_SGA));
	assert_true(telnet_proto_him(&tp, TELOPT_NAWS));
	/* Repeating an accepted request changes nothing and is not answered (no loop). */
	FEED(&tp, io, IAC, TELNET_DO, TELOPT_ECHO, IAC, TELNET_WILL, TELOPT_SGA);
	assert_int_equal(io->nreply, 0);
	free(io);
}

static void test_unsupported_options_refused(void **state)
{
	struct telnet_proto tp;
	struct io *io = new_io();
	static const u8 want[] = { IAC, TELNET_WONT, TELOPT_BINARY, IAC, TELNET_DONT, TELOPT_TTYPE,
				   IAC, TELNET_DONT, TELOPT_ECHO, IAC, TELNET_DONT, TELOPT_LINEMODE };

	opened(&tp);
	FEED(&tp, io, IAC, TELNET_DO, TELOPT_BINARY, IAC, TELNET_WILL, TELOPT_TTYPE, IAC,
	     TELNET_WILL, TELOPT_ECHO, IAC, TELNET_WILL, TELOPT_LINEMODE);
	assert_int_equal(io->nreply, sizeof(want));
	assert_memory_equal(io->reply, want, sizeof(want));
	assert_false(telnet_proto_us(&tp, TELOPT_BINARY));
	assert_false(telnet_proto_him(&tp, TELOPT_ECHO));
	assert_int_equal(tp.refused, 4);
	/* Refusals of things already off are not answered. */
	io->nreply = 0;
	FEED(&tp, io, IAC, TELNET_DONT, TELOPT_BINARY, IAC, TELNET_WONT, TELOPT_TTYPE);
	assert_int_equal(io->nreply, 0);
	free(io);
}

/* The client turns ECHO off, then on again: each change is acknowledged once. */
static void test_option_toggle(void **state)
{
	struct telnet_proto tp;
	struct io *io = new_io();

	opened(&tp);
	FEED(&tp, io, IAC, TELNET_DO, TELOPT_ECHO);
	assert_int_equal(io->nreply, 0);
	FEED(&tp, io, IAC, TELNET_DONT, TELOPT_ECHO);
	assert_int_equal(io->nreply, 3);
	assert_memory_equal(io->reply, ((u8[]){ IAC, TELNET_WONT, TELOPT_ECHO }), 3);
	assert_false(telnet_proto_us(&tp, TELOPT_ECHO));
	FEED(&tp, io, IAC, TELNET_DO, TELOPT_ECHO);
	assert_int_equal(io->nreply, 6);
	assert_memory_equal(io->reply + 3, ((u8[]){ IAC, TELNET_WILL, TELOPT_ECHO }), 3);
	assert_true(telnet_proto_us(&tp, TELOPT_ECHO));
	/* A refusal of our own offer completes it silently. */
	opened(&tp);
	io->nreply = 0;
	FEED(&tp, io, IAC, TELNET_DONT, TELOPT_ECHO, IAC, TELNET_WONT, TELOPT_NAWS);
	assert_int_equal(io->nreply, 0);
	assert_false(telnet_proto_us(&tp, TELOPT_ECHO));
	assert_false(telnet_proto_him(&tp, TELOPT_NAWS));
	free(io);
}

/* Two servers talking to each other settle: negotiation never loops. */
static void test_no_negotiation_loop(void **state)
{
	struct telnet_proto a, b;
	struct io *to_a = new_io(), *to_b = new_io();
	u8 offers[TELNET_OPEN_LEN];
	int rounds = 0;

	opened(&a);
	telnet_proto_init(&b);
	telnet_proto_open(&b, offers);
	feed(&a, to_b, offers, sizeof(offers));
	memcpy(to_a->reply, to_b->reply, 0);
	while (to_b->nreply && rounds < 10) {
		size_t n = to_b->nreply;
		u8 msg[256];

		memcpy(msg, to_b->reply, n);
		to_b->nreply = 0;
		to_a->nreply = 0;
		feed(&b, to_a, msg, n);
		memcpy(msg, to_a->reply, to_a->nreply);
		n = to_a->nreply;
		feed(&a, to_b, msg, n);
		rounds++;
	}
	assert_true(rounds < 10);
	free(to_a);
	free(to_b);
}

static void test_data_and_commands(void **state)
{
	struct telnet_proto tp;
	struct io *io = new_io();
	static const u8 want[] = { 'a', 0xff, 'b', '\r', 'c', '\r', '\n', 0x03, 0x03, 0x7f, 0x15, 0 };

	opened(&tp);
	FEED(&tp, io, 'a', IAC, IAC, 'b', '\r', 0, 'c', '\r', '\n', IAC, TELNET_IP, IAC, TELNET_BRK,
	     IAC, TELNET_EC, IAC, TELNET_EL, IAC, TELNET_NOP, IAC, TELNET_GA, IAC, TELNET_DM, 0);
	assert_int_equal(io->ndata, sizeof(want));
	assert_memory_equal(io->data, want, sizeof(want));
	assert_int_equal(io->nreply, 0);
	FEED(&tp, io, IAC, TELNET_AYT);
	assert_string_equal((char *)io->reply, "\r\n[hv: yes]\r\n");
	FEED(&tp, io, IAC, 17, 'x');
	assert_int_equal(tp.bad, 1); /* unknown command skipped, data goes on */
	assert_int_equal(io->data[io->ndata - 1], 'x');
	free(io);
}

static void test_naws_subnegotiation(void **state)
{
	struct telnet_proto tp;
	struct io *io = new_io();

	opened(&tp);
	FEED(&tp, io, IAC, TELNET_SB, TELOPT_NAWS, 0, 80, 0, 24, IAC, TELNET_SE, 'x');
	assert_int_equal(tp.width, 80);
	assert_int_equal(tp.height, 24);
	assert_int_equal(io->ndata, 1);
	/* 255 inside a subnegotiation is doubled */
	FEED(&tp, io, IAC, TELNET_SB, TELOPT_NAWS, 1, IAC, IAC, 0, 50, IAC, TELNET_SE);
	assert_int_equal(tp.width, 0x1ff);
	assert_int_equal(tp.height, 50);
	/* a short NAWS is ignored */
	FEED(&tp, io, IAC, TELNET_SB, TELOPT_NAWS, 0, 10, IAC, TELNET_SE);
	assert_int_equal(tp.width, 0x1ff);
	assert_int_equal(io->ndata, 1);
	free(io);
}

static void test_overlong_subnegotiation(void **state)
{
	struct telnet_proto tp;
	struct io *io = new_io();
	u8 in[TELNET_SB_GIVE_UP + 100];

	opened(&tp);
	/* Longer than kept but ended: discarded, input continues. */
	memset(in, 7, sizeof(in));
	FEED(&tp, io, IAC, TELNET_SB, TELOPT_NAWS);
	feed(&tp, io, in, 100);
	FEED(&tp, io, IAC, TELNET_SE, 'y');
	assert_int_equal(tp.width, 0);
	assert_int_equal(io->ndata, 1);
	assert_int_equal(tp.bad, 1);
	/* Never ended: after TELNET_SB_GIVE_UP bytes the rest is data again. */
	FEED(&tp, io, IAC, TELNET_SB, TELOPT_TTYPE);
	memset(in, 'z', sizeof(in));
	feed(&tp, io, in, sizeof(in));
	assert_int_equal(tp.state, TELNET_ST_DATA);
	assert_true(io->ndata >= 1 + sizeof(in) - TELNET_SB_GIVE_UP);
	assert_int_equal(io->data[io->ndata - 1], 'z');
	free(io);
}

/* Random bytes: every input byte yields at most one data byte and a bounded reply. */
static void test_fuzz(void **state)
{
	struct telnet_proto tp;
	struct io *io = new_io();
	u8 chunk[4096];

	srand(1234);
	opened(&tp);
	for (int round = 0; round < 256; round++) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = (u8)(round & 1 ? rand() : (rand() % 8 ? rand() : IAC));
		io->ndata = 0;
		io->nreply = 0;
		feed(&tp, io, chunk, sizeof(chunk));
		assert_true(io->ndata <= sizeof(chunk));
		assert_true(io->nreply <= 13 * sizeof(chunk) / 2);
	}
	free(io);
}

static void test_escape(void **state)
{
	u8 out[16];
	size_t used;
	static const char in[] = "a\nb\rc\xff";
	static const u8 want[] = { 'a', '\r', '\n', 'b', '\r', 0, 'c', IAC, IAC };

	assert_int_equal(telnet_escape(in, 6, out, sizeof(out), &used), sizeof(want));
	assert_int_equal(used, 6);
	assert_memory_equal(out, want, sizeof(want));
	/* A two-byte sequence is never split: with room for 2, "a\n" gives only "a". */
	assert_int_equal(telnet_escape(in, 6, out, 2, &used), 1);
	assert_int_equal(used, 1);
	assert_int_equal(telnet_escape(in, 6, out, 0, &used), 0);
	assert_int_equal(used, 0);
}

static enum telnet_pw_event pw_feed_str(struct telnet_pwline *pw, const char *s)
{
	enum telnet_pw_event ev = TELNET_PW_MORE;

	while (*s && ev == TELNET_PW_MORE)
		ev = telnet_pw_feed(pw, (u8)*s++);
	return ev;
}

static void test_password_reader(void **state)
{
	struct telnet_pwline pw;
	char longpw[TELNET_PW_MAX + 10];

	telnet_pw_init(&pw);
	assert_int_equal(pw_feed_str(&pw, "secret\r"), TELNET_PW_DONE);
	assert_true(telnet_pw_matches(&pw, "secret"));
	assert_false(telnet_pw_matches(&pw, "secreT"));
	assert_false(telnet_pw_matches(&pw, "secret2"));
	assert_false(telnet_pw_matches(&pw, "secre"));
	assert_true(pw.after_cr);
	assert_int_equal(telnet_pw_feed(&pw, '\n'), TELNET_PW_MORE); /* the LF of CR LF */

	telnet_pw_init(&pw);
	assert_int_equal(pw_feed_str(&pw, "sex\x7f\x08" "ecret\x01\n"), TELNET_PW_DONE);
	assert_true(telnet_pw_matches(&pw, "secret"));
	telnet_pw_init(&pw);
	assert_int_equal(pw_feed_str(&pw, "junk\x15secret\n"), TELNET_PW_DONE);
	assert_true(telnet_pw_matches(&pw, "secret"));
	telnet_pw_init(&pw);
	assert_int_equal(pw_feed_str(&pw, "sec\x03"), TELNET_PW_CANCEL);

	/* Overlong input never matches, even if its start does. */
	memset(longpw, 'p', sizeof(longpw));
	longpw[sizeof(longpw) - 1] = '\0';
	telnet_pw_init(&pw);
	assert_int_equal(pw_feed_str(&pw, longpw), TELNET_PW_MORE);
	assert_int_equal(telnet_pw_feed(&pw, '\r'), TELNET_PW_DONE);
	longpw[TELNET_PW_MAX] = '\0';
	assert_false(telnet_pw_matches(&pw, longpw));
	telnet_pw_init(&pw);
	assert_int_equal(pw_feed_str(&pw, longpw), TELNET_PW_MORE);
	assert_int_equal(telnet_pw_feed(&pw, '\r'), TELNET_PW_DONE);
	assert_true(telnet_pw_matches(&pw, longpw)); /* exactly TELNET_PW_MAX is fine */
}

/* Line editing over telnet: protocol bytes, then the shell's line editor, as a session does. */
static char echo[4096];
static size_t echo_len;

static void echo_out(const char *s, size_t len, void *ctx)
{
	assert_true(echo_len + len < sizeof(echo));
	memcpy(echo + echo_len, s, len);
	echo_len += len;
}

static enum lineedit_event edit(struct telnet_proto *tp, struct lineedit *le, const u8 *in,
				size_t n)
{
	enum lineedit_event ev = LINEEDIT_NONE;
	struct io *io = new_io();

	for (size_t i = 0; i < n; i++) {
		int d = telnet_proto_feed(tp, in[i], on_reply, io);

		if (d >= 0)
			ev = lineedit_feed(le, (u8)d);
		if (ev != LINEEDIT_NONE)
			break;
	}
	free(io);
	return ev;
}

static void test_line_editing_over_telnet(void **state)
{
	struct telnet_proto tp;
	struct lineedit le;
	/* character mode client: Backspace as DEL, Enter as CR NUL, a NAWS in the middle */
	static const u8 a[] = { 'v', 'e', 'r', 'x', 0x7f, IAC, TELNET_SB, TELOPT_NAWS, 0, 80, 0, 24,
				IAC, TELNET_SE, 's', 'i', 'o', 'n', '\r', 0 };
	/* erase character and erase line as telnet commands */
	static const u8 b[] = { 'x', 'y', IAC, TELNET_EL, 'w', 'h', 'x', IAC, TELNET_EC, 'o', '\r', '\n' };
	static const u8 c[] = { 'a', 'b', IAC, TELNET_IP };

	opened(&tp);
	lineedit_init(&le, "hv> ", echo_out, NULL);
	lineedit_start(&le);
	assert_int_equal(edit(&tp, &le, a, sizeof(a)), LINEEDIT_LINE);
	assert_string_equal(lineedit_line(&le), "version");
	lineedit_start(&le);
	assert_int_equal(edit(&tp, &le, b, sizeof(b)), LINEEDIT_LINE);
	assert_string_equal(lineedit_line(&le), "who");
	lineedit_start(&le);
	assert_int_equal(edit(&tp, &le, c, sizeof(c)), LINEEDIT_CANCEL);
	assert_int_equal(tp.width, 80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offers_accepted_silently),
		cmocka_unit_test(test_unsupported_options_refused),
		cmocka_unit_test(test_option_toggle),
		cmocka_unit_test(test_no_negotiation_loop),
		cmocka_unit_test(test_data_and_commands),
		cmocka_unit_test(test_naws_subnegotiation),
		cmocka_unit_test(test_overlong_subnegotiation),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_password_reader),
		cmocka_unit_test(test_line_editing_over_telnet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
