/* Line editor for a terminal session (serial now, telnet later): one struct per session. */
#ifndef HV_MGMT_LINEEDIT_H
#define HV_MGMT_LINEEDIT_H

#include "lib/types.h"

#define LINEEDIT_LINE_MAX 200 /* bytes in a line, not counting the NUL */
#define LINEEDIT_HISTORY 16   /* lines remembered */

/*
 * Output sink: raw bytes for the terminal. '\n' means "new line" (the sink
 * turns it into CR LF), '\r' alone returns to column 0, '\b' moves left.
 */
typedef void (*lineedit_out_fn)(const char *s, size_t len, void *ctx);

enum lineedit_event {
	LINEEDIT_NONE,   /* byte consumed, line still being edited */
	LINEEDIT_LINE,   /* Enter: lineedit_line() holds the finished line */
	LINEEDIT_CANCEL, /* Ctrl-C: line abandoned, a fresh prompt was printed */
};

enum lineedit_esc {
	LINEEDIT_ESC_NONE,
	LINEEDIT_ESC_START, /* after ESC */
	LINEEDIT_ESC_CSI,   /* after ESC [ : parameters, then a final byte */
	LINEEDIT_ESC_SS3,   /* after ESC O : one final byte */
};

/*
 * Editor state of one session. Not locked: one session is driven by one
 * thread at a time. history[] is a ring: hist_next is the slot for the next
 * line, hist_count the slots in use; hist_pos is 0 while editing a new line
 * and k while showing the k-th most recent entry (the new line is in saved[]).
 */
struct lineedit {
	lineedit_out_fn out;
	void *ctx;
	const char *prompt;
	char line[LINEEDIT_LINE_MAX + 1];
	size_t len;
	size_t cursor;
	enum lineedit_esc esc;
	unsigned esc_param; /* first numeric CSI parameter */
	bool esc_param_done;
	bool after_cr; /* swallow the LF (or NUL) of a CR LF / CR NUL pair */
	char history[LINEEDIT_HISTORY][LINEEDIT_LINE_MAX + 1];
	unsigned hist_next;
	unsigned hist_count;
	unsigned hist_pos;
	char saved[LINEEDIT_LINE_MAX + 1];
};

/* Set up an editor; `prompt` must stay valid for its lifetime. Prints nothing. */
void lineedit_init(struct lineedit *le, const char *prompt, lineedit_out_fn out, void *ctx);

/* Begin a new, empty line and print the prompt. Call after init and after each LINEEDIT_LINE. */
void lineedit_start(struct lineedit *le);

/*
 * Feed one input byte. Keys: printable ASCII inserts at the cursor (a full
 * line rings the bell); Backspace (0x7f or 0x08) deletes left; Delete
 * (ESC [ 3 ~) deletes under the cursor; Ctrl-U deletes everything left of the
 * cursor; Ctrl-K everything from it; Ctrl-A / Home and Ctrl-E / End move to
 * the ends; Left/Right (ESC [ D / C, Ctrl-B / Ctrl-F) move one character;
 * Up/Down (ESC [ A / B, Ctrl-P / Ctrl-N) walk the history; Ctrl-C abandons
 * the line; CR, LF or CR LF (counted once) finishes it. Other bytes are ignored.
 */
enum lineedit_event lineedit_feed(struct lineedit *le, u8 c);

/* The finished line (NUL-terminated); valid after LINEEDIT_LINE until lineedit_start. */
const char *lineedit_line(const struct lineedit *le);

#endif
