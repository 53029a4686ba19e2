/* Telnet protocol state machine (RFC 854, 855, 1143 option rules) and the password line reader. */
#include "mgmt/telnet_proto.h"
#include "lib/string.h"

#define KEY_CTRL(c) ((c) & 0x1f)
#define KEY_DEL 0x7f
#define KEY_BS 0x08

static const u8 ayt_reply[] = "\r\n[hv: yes]\r\n";

static bool bit_get(const u8 *map, u8 opt) { return map[opt / 8] & (1u << (opt % 8)); }

static void bit_set(u8 *map, u8 opt, bool on)
{
	if (on)
		map[opt / 8] |= (u8)(1u << (opt % 8));
	else
		map[opt / 8] &= (u8)~(1u << (opt % 8));
}

/* Options we agree to perform, and to let the client perform. */
static bool us_supported(u8 opt) { return opt == TELOPT_ECHO || opt == TELOPT_SGA; }
static bool him_supported(u8 opt) { return opt == TELOPT_SGA || opt == TELOPT_NAWS; }

void telnet_proto_init(struct telnet_proto *tp) { memset(tp, 0, sizeof(*tp)); }

size_t telnet_proto_open(struct telnet_proto *tp, u8 *out)
{
	static const u8 offers[TELNET_OPEN_LEN] = {
		TELNET_IAC, TELNET_WILL, TELOPT_ECHO, TELNET_IAC, TELNET_WILL, TELOPT_SGA,
		TELNET_IAC, TELNET_DO, TELOPT_SGA, TELNET_IAC, TELNET_DO, TELOPT_NAWS,
	};

	bit_set(tp->us_want, TELOPT_ECHO, true);
	bit_set(tp->us_want, TELOPT_SGA, true);
	bit_set(tp->him_want, TELOPT_SGA, true);
	bit_set(tp->him_want, TELOPT_NAWS, true);
	memcpy(out, offers, sizeof(offers));
	return sizeof(offers);
}

bool telnet_proto_us(const struct telnet_proto *tp, u8 opt) { return bit_get(tp->us_on, opt); }
bool telnet_proto_him(const struct telnet_proto *tp, u8 opt) { return bit_get(tp->him_on, opt); }

static void send3(telnet_reply_fn reply, void *ctx, u8 verb, u8 opt)
{
	u8 b[3] = { TELNET_IAC, verb, opt };

	reply(ctx, b, sizeof(b));
}

/*
 * One side of an option (RFC 1143 without the queue bits): a request that
 * matches what we asked for completes it silently; one that changes the
 * state is acknowledged; one that changes nothing is ignored.
 */
static void negotiate(u8 *on, u8 *want, u8 opt, bool enable, bool supported, u8 yes, u8 no,
		      telnet_reply_fn reply, void *ctx, u32 *refused)
{
	bool was_wanted = bit_get(want, opt);

	bit_set(want, opt, false);
	if (enable && !supported) {
		(*refused)++;
		send3(reply, ctx, no, opt);
		return;
	}
	if (bit_get(on, opt) == enable)
		return;
	bit_set(on, opt, enable);
	if (!was_wanted)
		send3(reply, ctx, enable ? yes : no, opt);
}

static void handle_option(struct telnet_proto *tp, u8 opt, telnet_reply_fn reply, void *ctx)
{
	switch (tp->verb) {
	case TELNET_DO:
	case TELNET_DONT:
		negotiate(tp->us_on, tp->us_want, opt, tp->verb == TELNET_DO, us_supported(opt),
			  TELNET_WILL, TELNET_WONT, reply, ctx, &tp->refused);
		break;
	default:
		negotiate(tp->him_on, tp->him_want, opt, tp->verb == TELNET_WILL,
			  him_supported(opt), TELNET_DO, TELNET_DONT, reply, ctx, &tp->refused);
		break;
	}
}

/* A complete subnegotiation: only NAWS (width and height, 16 bits each, big-endian) is used. */
static void handle_sb(struct telnet_proto *tp)
{
	if (tp->sb_opt == TELOPT_NAWS && tp->sb_len == 4) {
		tp->width = (u16)(tp->sb_buf[0] << 8 | tp->sb_buf[1]);
		tp->height = (u16)(tp->sb_buf[2] << 8 | tp->sb_buf[3]);
	}
}

/* The byte after IAC. Returns a data byte or -1. */
static int handle_command(struct telnet_proto *tp, u8 c, telnet_reply_fn reply, void *ctx)
{
	tp->state = TELNET_ST_DATA;
	tp->commands++;
	switch (c) {
	case TELNET_IAC: return TELNET_IAC;
	case TELNET_WILL:
	case TELNET_WONT:
	case TELNET_DO:
	case TELNET_DONT:
		tp->verb = c;
		tp->state = TELNET_ST_OPT;
		return -1;
	case TELNET_SB:
		tp->state = TELNET_ST_SB;
		tp->sb_len = 0;
		tp->sb_total = 0;
		return -1;
	case TELNET_IP:
	case TELNET_BRK: return KEY_CTRL('C');
	case TELNET_EC: return KEY_DEL;
	case TELNET_EL: return KEY_CTRL('U');
	case TELNET_AYT:
		reply(ctx, ayt_reply, sizeof(ayt_reply) - 1);
		return -1;
	case TELNET_NOP:
	case TELNET_DM:
	case TELNET_GA:
	case TELNET_AO:
	case TELNET_SE: return -1;
	default:
		tp->bad++;
		return -1;
	}
}

/* Inside IAC SB: the option, its bytes (IAC IAC is one 0xff), until IAC SE. */
static void feed_sb(struct telnet_proto *tp, u8 c)
{
	if (++tp->sb_total > TELNET_SB_GIVE_UP) {
		tp->bad++;
		tp->state = TELNET_ST_DATA; /* never ended: stop swallowing input */
		return;
	}
	if (tp->state == TELNET_ST_SB_IAC) {
		tp->state = TELNET_ST_SB;
		if (c == TELNET_SE) {
			tp->state = TELNET_ST_DATA;
			if (tp->sb_len <= TELNET_SB_MAX)
				handle_sb(tp);
			else
				tp->bad++;
			return;
		}
		if (c != TELNET_IAC) {
			tp->bad++; /* IAC x inside SB: treat x as data of the subnegotiation */
		}
	} else if (c == TELNET_IAC) {
		tp->state = TELNET_ST_SB_IAC;
		return;
	}
	if (tp->sb_total == 1) {
		tp->sb_opt = c;
		return;
	}
	if (tp->sb_len < TELNET_SB_MAX)
		tp->sb_buf[tp->sb_len] = c;
	if (tp->sb_len <= TELNET_SB_MAX)
		tp->sb_len++;
}

int telnet_proto_feed(struct telnet_proto *tp, u8 c, telnet_reply_fn reply, void *ctx)
{
	bool after_cr;

	switch (tp->state) {
	case TELNET_ST_IAC: return handle_command(tp, c, reply, ctx);
	case TELNET_ST_OPT:
		tp->state = TELNET_ST_DATA;
		handle_option(tp, c, reply, ctx);
		return -1;
	case TELNET_ST_SB:
	case TELNET_ST_SB_IAC:
		feed_sb(tp, c);
		return -1;
	case TELNET_ST_DATA:
	default:
		break;
	}
	if (c == TELNET_IAC) {
		tp->state = TELNET_ST_IAC;
		return -1;
	}
	after_cr = tp->after_cr;
	tp->after_cr = c == '\r';
	if (after_cr && c == '\0')
		return -1;
	return c;
}

/* Length of the wire form of one output byte. */
static size_t escaped_len(char c) { return c == '\n' || c == '\r' || (u8)c == TELNET_IAC ? 2 : 1; }

size_t telnet_escape(const char *in, size_t n, u8 *out, size_t cap, size_t *used)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + escaped_len(in[i]) <= cap; i++) {
		u8 c = (u8)in[i];

		if (c == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
		} else if (c == '\r') {
			out[o++] = '\r';
			out[o++] = '\0';
		} else if (c == TELNET_IAC) {
			out[o++] = TELNET_IAC;
			out[o++] = TELNET_IAC;
		} else {
			out[o++] = c;
		}
	}
	*used = i;
	return o;
}

void telnet_pw_init(struct telnet_pwline *pw) { memset(pw, 0, sizeof(*pw)); }

enum telnet_pw_event telnet_pw_feed(struct telnet_pwline *pw, u8 c)
{
	bool after_cr = pw->after_cr;

	pw->after_cr = c == '\r';
	if (after_cr && (c == '\n' || c == '\0'))
		return TELNET_PW_MORE; /* second half of CR LF / CR NUL: already counted */
	switch (c) {
	case '\r':
	case '\n': return TELNET_PW_DONE;
	case KEY_CTRL('C'):
	case KEY_CTRL('D'): return TELNET_PW_CANCEL;
	case KEY_DEL:
	case KEY_BS:
		if (pw->len && !pw->too_long)
			pw->buf[--pw->len] = '\0';
		return TELNET_PW_MORE;
	case KEY_CTRL('U'):
		memset(pw->buf, 0, sizeof(pw->buf));
		pw->len = 0;
		pw->too_long = false;
		return TELNET_PW_MORE;
	default: break;
	}
	if (c < 0x20)
		return TELNET_PW_MORE; /* other control bytes are not part of a password */
	if (pw->len == TELNET_PW_MAX)
		pw->too_long = true;
	else
		pw->buf[pw->len++] = (char)c;
	return TELNET_PW_MORE;
}

bool telnet_pw_matches(const struct telnet_pwline *pw, const char *password)
{
	size_t plen = strnlen(password, TELNET_PW_MAX + 1);
	u8 diff = (u8)(pw->too_long || plen > TELNET_PW_MAX || plen != pw->len);

	/* Compare every position of the buffer whatever the lengths: no early exit. */
	for (size_t i = 0; i < TELNET_PW_MAX; i++) {
		u8 want = i < plen ? (u8)password[i] : 0;

		diff |= (u8)(pw->buf[i] ^ want);
	}
	return diff == 0;
}
