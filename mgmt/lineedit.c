/* Line editor state machine: bytes in, terminal output through the session's sink. */
#include "mgmt/lineedit.h"
#include "lib/string.h"

#define KEY_CTRL(c) ((c) & 0x1f)
#define KEY_BS 0x08
#define KEY_DEL 0x7f
#define KEY_ESC 0x1b
#define KEY_BELL 0x07

/* The few terminal sequences we print (ECMA-48 EL: erase to the end of the line). */
#define TERM_ERASE_EOL "\x1b[K"

static void emit(struct lineedit *le, const char *s, size_t n)
{
	if (n)
		le->out(s, n, le->ctx);
}

static void emit_str(struct lineedit *le, const char *s) { emit(le, s, strlen(s)); }

static void emit_left(struct lineedit *le, size_t n)
{
	static const char backs[] = "\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b\b";

	while (n) {
		size_t k = MIN(n, sizeof(backs) - 1);

		emit(le, backs, k);
		n -= k;
	}
}

/* Redraw prompt and line, then put the cursor back where it belongs. */
static void refresh(struct lineedit *le)
{
	emit_str(le, "\r");
	emit_str(le, le->prompt);
	emit(le, le->line, le->len);
	emit_str(le, TERM_ERASE_EOL);
	emit_left(le, le->len - le->cursor);
}

static void bell(struct lineedit *le) { emit(le, "\a", 1); }

void lineedit_init(struct lineedit *le, const char *prompt, lineedit_out_fn out, void *ctx)
{
	memset(le, 0, sizeof(*le));
	le->out = out;
	le->ctx = ctx;
	le->prompt = prompt;
}

void lineedit_start(struct lineedit *le)
{
	le->len = 0;
	le->cursor = 0;
	le->line[0] = '\0';
	le->esc = LINEEDIT_ESC_NONE;
	le->hist_pos = 0;
	emit_str(le, le->prompt);
}

const char *lineedit_line(const struct lineedit *le) { return le->line; }

/* Replace the whole line (history recall) and leave the cursor at its end. */
static void set_line(struct lineedit *le, const char *s)
{
	size_t n = strnlen(s, LINEEDIT_LINE_MAX);

	memcpy(le->line, s, n);
	le->line[n] = '\0';
	le->len = n;
	le->cursor = n;
	refresh(le);
}

static void insert_char(struct lineedit *le, char c)
{
	if (le->len >= LINEEDIT_LINE_MAX) {
		bell(le);
		return;
	}
	memmove(le->line + le->cursor + 1, le->line + le->cursor, le->len - le->cursor + 1);
	le->line[le->cursor++] = c;
	le->len++;
	if (le->cursor == le->len)
		emit(le, &c, 1);
	else
		refresh(le);
}

/* Delete n characters starting at `at`. */
static void delete_range(struct lineedit *le, size_t at, size_t n)
{
	bool at_end = at + n == le->len && le->cursor == le->len;

	if (n == 0)
		return;
	memmove(le->line + at, le->line + at + n, le->len - at - n + 1);
	le->len -= n;
	if (le->cursor > at)
		le->cursor = le->cursor - at >= n ? le->cursor - n : at;
	if (at_end && n == 1)
		emit_str(le, "\b \b");
	else
		refresh(le);
}

static void move_to(struct lineedit *le, size_t pos)
{
	if (pos < le->cursor)
		emit_left(le, le->cursor - pos);
	else
		emit(le, le->line + le->cursor, pos - le->cursor);
	le->cursor = pos;
}

static const char *history_entry(const struct lineedit *le, unsigned k)
{
	return le->history[(le->hist_next + LINEEDIT_HISTORY - k) % LINEEDIT_HISTORY];
}

static void history_older(struct lineedit *le)
{
	if (le->hist_pos >= le->hist_count) {
		bell(le);
		return;
	}
	if (le->hist_pos == 0)
		memcpy(le->saved, le->line, le->len + 1);
	le->hist_pos++;
	set_line(le, history_entry(le, le->hist_pos));
}

static void history_newer(struct lineedit *le)
{
	if (le->hist_pos == 0) {
		bell(le);
		return;
	}
	le->hist_pos--;
	set_line(le, le->hist_pos ? history_entry(le, le->hist_pos) : le->saved);
}

/* Remember a finished line unless it is blank or repeats the previous entry. */
static void history_add(struct lineedit *le)
{
	size_t i = 0;

	while (le->line[i] == ' ' || le->line[i] == '\t')
		i++;
	if (!le->line[i])
		return;
	if (le->hist_count && strcmp(history_entry(le, 1), le->line) == 0)
		return;
	memcpy(le->history[le->hist_next], le->line, le->len + 1);
	le->hist_next = (le->hist_next + 1) % LINEEDIT_HISTORY;
	if (le->hist_count < LINEEDIT_HISTORY)
		le->hist_count++;
}

static enum lineedit_event finish_line(struct lineedit *le)
{
	emit_str(le, "\n");
	history_add(le);
	le->hist_pos = 0;
	return LINEEDIT_LINE;
}

static enum lineedit_event cancel_line(struct lineedit *le)
{
	emit_str(le, "^C\n");
	lineedit_start(le);
	return LINEEDIT_CANCEL;
}

/* Final byte of ESC [ ... or ESC O ...: arrow keys, Home, End, Delete. */
static void handle_escape_final(struct lineedit *le, u8 c)
{
	unsigned p = le->esc_param;

	switch (c) {
	case 'A': history_older(le); break;
	case 'B': history_newer(le); break;
	case 'C': if (le->cursor < le->len) move_to(le, le->cursor + 1); break;
	case 'D': if (le->cursor > 0) move_to(le, le->cursor - 1); break;
	case 'H': move_to(le, 0); break;
	case 'F': move_to(le, le->len); break;
	case '~':
		if (p == 1 || p == 7)
			move_to(le, 0);
		else if (p == 4 || p == 8)
			move_to(le, le->len);
		else if (p == 3 && le->cursor < le->len)
			delete_range(le, le->cursor, 1);
		break;
	default: break;
	}
}

/* Bytes after ESC; control bytes abort the sequence and are handled normally. */
static bool handle_escape(struct lineedit *le, u8 c)
{
	if (c < 0x20) {
		le->esc = LINEEDIT_ESC_NONE;
		return false;
	}
	if (le->esc == LINEEDIT_ESC_START) {
		le->esc = c == '[' ? LINEEDIT_ESC_CSI : c == 'O' ? LINEEDIT_ESC_SS3 : LINEEDIT_ESC_NONE;
		le->esc_param = 0;
		le->esc_param_done = false;
		return true;
	}
	if (le->esc == LINEEDIT_ESC_CSI && c >= '0' && c <= '9') {
		if (!le->esc_param_done && le->esc_param < 1000)
			le->esc_param = le->esc_param * 10 + (c - '0');
		return true;
	}
	if (le->esc == LINEEDIT_ESC_CSI && c < 0x40) {
		le->esc_param_done = true; /* ';' or an intermediate byte */
		return true;
	}
	le->esc = LINEEDIT_ESC_NONE;
	handle_escape_final(le, c);
	return true;
}

static enum lineedit_event handle_control(struct lineedit *le, u8 c)
{
	switch (c) {
	case '\r': le->after_cr = true; return finish_line(le);
	case '\n': return finish_line(le);
	case KEY_CTRL('C'): return cancel_line(le);
	case KEY_ESC: le->esc = LINEEDIT_ESC_START; break;
	case KEY_BS:
	case KEY_DEL:
		if (le->cursor > 0)
			delete_range(le, le->cursor - 1, 1);
		break;
	case KEY_CTRL('U'): delete_range(le, 0, le->cursor); break;
	case KEY_CTRL('K'): delete_range(le, le->cursor, le->len - le->cursor); break;
	case KEY_CTRL('A'): move_to(le, 0); break;
	case KEY_CTRL('E'): move_to(le, le->len); break;
	case KEY_CTRL('B'): if (le->cursor > 0) move_to(le, le->cursor - 1); break;
	case KEY_CTRL('F'): if (le->cursor < le->len) move_to(le, le->cursor + 1); break;
	case KEY_CTRL('P'): history_older(le); break;
	case KEY_CTRL('N'): history_newer(le); break;
	case KEY_CTRL('L'): refresh(le); break;
	default: break;
	}
	return LINEEDIT_NONE;
}

enum lineedit_event lineedit_feed(struct lineedit *le, u8 c)
{
	bool after_cr = le->after_cr;

	le->after_cr = false;
	if (after_cr && (c == '\n' || c == '\0'))
		return LINEEDIT_NONE;
	if (le->esc != LINEEDIT_ESC_NONE && handle_escape(le, c))
		return LINEEDIT_NONE;
	if (c >= 0x20 && c < KEY_DEL) {
		insert_char(le, (char)c);
		return LINEEDIT_NONE;
	}
	if (c < 0x20 || c == KEY_DEL)
		return handle_control(le, c);
	return LINEEDIT_NONE; /* 8-bit bytes: not part of the ASCII command language */
}
