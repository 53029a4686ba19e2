/* Telnet protocol state machine (RFC 854/855) and the password line reader: pure, host-tested. */
#ifndef HV_MGMT_TELNET_PROTO_H
#define HV_MGMT_TELNET_PROTO_H

#include "lib/types.h"

/* Commands (RFC 854, "TELNET COMMAND STRUCTURE"). */
#define TELNET_SE 240
#define TELNET_NOP 241
#define TELNET_DM 242
#define TELNET_BRK 243
#define TELNET_IP 244
#define TELNET_AO 245
#define TELNET_AYT 246
#define TELNET_EC 247
#define TELNET_EL 248
#define TELNET_GA 249
#define TELNET_SB 250
#define TELNET_WILL 251
#define TELNET_WONT 252
#define TELNET_DO 253
#define TELNET_DONT 254
#define TELNET_IAC 255

/* Options we know by name. */
#define TELOPT_BINARY 0   /* RFC 856 */
#define TELOPT_ECHO 1     /* RFC 857 */
#define TELOPT_SGA 3      /* RFC 858 */
#define TELOPT_TTYPE 24   /* RFC 1091 */
#define TELOPT_NAWS 31    /* RFC 1073 */
#define TELOPT_LINEMODE 34 /* RFC 1184 */

/* Longest subnegotiation kept; longer ones are discarded up to IAC SE (or this many bytes more). */
#define TELNET_SB_MAX 32
/* A subnegotiation that never ends is abandoned after this many bytes: input flows again. */
#define TELNET_SB_GIVE_UP 512
/* Bytes telnet_proto_open() writes. */
#define TELNET_OPEN_LEN 12

enum telnet_state {
	TELNET_ST_DATA,
	TELNET_ST_IAC,    /* after IAC */
	TELNET_ST_OPT,    /* after IAC WILL/WONT/DO/DONT: the option byte */
	TELNET_ST_SB,     /* inside IAC SB ... */
	TELNET_ST_SB_IAC, /* IAC inside a subnegotiation */
};

/*
 * Per-connection protocol state, driven by one thread. Options use the
 * "Q method" of RFC 1143 reduced to on/wanted bits: we answer a request only
 * when it changes the option's state, so no negotiation loops.
 */
struct telnet_proto {
	enum telnet_state state;
	u8 verb;          /* WILL/WONT/DO/DONT waiting for its option */
	bool after_cr;    /* last data byte was CR: a NUL after it is dropped */
	u8 sb_opt;
	u8 sb_buf[TELNET_SB_MAX];
	u16 sb_len;
	u16 sb_total;     /* bytes in this subnegotiation, for the give-up limit */
	u8 us_on[32], us_want[32];   /* options we perform (bitmaps by option number) */
	u8 him_on[32], him_want[32]; /* options the client performs */
	u16 width, height;           /* from NAWS; 0 = unknown */
	u32 commands;                /* telnet commands seen */
	u32 refused;                 /* option requests we refused */
	u32 bad;                     /* malformed sequences (unknown command, overlong SB) */
};

/* Called with protocol replies to send back to the client (a few bytes at a time). */
typedef void (*telnet_reply_fn)(void *ctx, const u8 *bytes, size_t len);

void telnet_proto_init(struct telnet_proto *tp);
/*
 * The server's opening offers (WILL ECHO, WILL SGA, DO SGA, DO NAWS) into
 * out (at least TELNET_OPEN_LEN bytes); returns the length. Marks them wanted.
 */
size_t telnet_proto_open(struct telnet_proto *tp, u8 *out);
/*
 * Feed one received byte. Returns the data byte for the application (0-255),
 * or -1 when the byte was part of the protocol. IAC IP and IAC BRK become
 * Ctrl-C, IAC EC Backspace (0x7f), IAC EL Ctrl-U; IAC AYT is answered;
 * CR NUL becomes CR. Replies go through `reply`.
 */
int telnet_proto_feed(struct telnet_proto *tp, u8 c, telnet_reply_fn reply, void *ctx);
/* Whether an option is on for us (we WILL) or for the client (it WILL). */
bool telnet_proto_us(const struct telnet_proto *tp, u8 opt);
bool telnet_proto_him(const struct telnet_proto *tp, u8 opt);

/*
 * Escape output for the wire: '\n' becomes CR LF, a bare '\r' CR NUL, 0xff
 * IAC IAC. Converts as much of in[0..n) as fits in out[0..cap) (a sequence is
 * never split); *used receives the input bytes consumed. Returns bytes written.
 */
size_t telnet_escape(const char *in, size_t n, u8 *out, size_t cap, size_t *used);

/* The password prompt's line reader: no echo, Backspace, Ctrl-U, Ctrl-C. */
#define TELNET_PW_MAX 64

enum telnet_pw_event {
	TELNET_PW_MORE,   /* byte taken */
	TELNET_PW_DONE,   /* Enter: the line is complete */
	TELNET_PW_CANCEL, /* Ctrl-C or Ctrl-D */
};

struct telnet_pwline {
	char buf[TELNET_PW_MAX + 1];
	size_t len;
	bool too_long; /* more than TELNET_PW_MAX characters were typed: never matches */
	bool after_cr;
};

void telnet_pw_init(struct telnet_pwline *pw);
enum telnet_pw_event telnet_pw_feed(struct telnet_pwline *pw, u8 c);
/*
 * Whether the finished line equals `password` (NUL-terminated), in time that
 * does not depend on where they differ. An overlong line never matches.
 */
bool telnet_pw_matches(const struct telnet_pwline *pw, const char *password);

#endif
