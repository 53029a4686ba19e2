/* Telnet server, session side: the shell thread of one connection (login, input, output). */
#include "mgmt/telnet.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "asm/time.h"
#include "kernel/log.h"
#include "kernel/thread.h"
#include "kernel/version.h"

#define KEY_CTRL(c) ((c) & 0x1f)
/* What poll_byte gives a raw-input command (console) once the session is over: its escape. */
#define SESSION_GONE_BYTE KEY_CTRL(']')
#define ESCAPE_CHUNK 256

static u32 ring_used(u32 head, u32 tail) { return head - tail; }

static u64 deadline_of(struct telnet_session *s, u64 login_deadline)
{
	if (s->phase == TELNET_LOGIN)
		return login_deadline;
	return telnet_cfg.idle_s ? s->last_input_ns + telnet_cfg.idle_s * NSEC_PER_SEC : 0;
}

/*
 * Take one input byte; [L] held. Asks for the network thread (to reopen the
 * receive window) when the client is held back and a good share was read.
 */
static int take_byte(struct telnet_session *s, bool *wake_net)
{
	int c = s->rx[s->rx_tail++ % TELNET_RX_BUF];
	u32 used = ring_used(s->rx_head, s->rx_tail);

	*wake_net = s->rx_unacked && (used == 0 || used % 1024 == 0);
	return c;
}

/*
 * Wait for the next input byte until `login_deadline` (login phase) or the
 * idle timeout. Returns the byte, -1 when the session is over, -ETIMEDOUT.
 */
static int read_input(struct telnet_session *s, u64 login_deadline)
{
	for (;;) {
		u64 f = spin_lock_irqsave(&s->lock);
		bool wake_net = false;
		u64 deadline;
		int c = -1;

		if (s->close_req || s->conn_gone) {
			spin_unlock_irqrestore(&s->lock, f);
			return -1;
		}
		if (s->rx_head != s->rx_tail)
			c = take_byte(s, &wake_net);
		else if (s->rx_eof)
			c = -2;
		deadline = deadline_of(s, login_deadline);
		spin_unlock_irqrestore(&s->lock, f);
		if (wake_net)
			net_wake();
		if (c != -1)
			return c == -2 ? -1 : c;
		if (deadline && time_now_ns() >= deadline)
			return -ETIMEDOUT;
		net_wake(); /* about to wait: send what the last input produced */
		thread_block_until(deadline);
	}
}

static void session_print(struct telnet_session *s, const char *fmt, ...) __printf(2, 3);
static void session_print(struct telnet_session *s, const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		telnet_session_write(s, buf, MIN((size_t)n, sizeof(buf) - 1));
}

void telnet_session_close(struct telnet_session *s, u32 id, const char *reason)
{
	u64 f = spin_lock_irqsave(&s->lock);

	if (s->in_use && !s->close_req && (!id || s->id == id)) {
		s->close_req = true;
		if (!s->close_reason)
			s->close_reason = reason;
		if (s->thread && !s->thread_done)
			thread_wake(s->thread);
	}
	spin_unlock_irqrestore(&s->lock, f);
	net_wake();
}

/* Copy escaped bytes into the output ring; returns bytes copied. [L] held. */
static size_t queue_output(struct telnet_session *s, const char *buf, size_t len, size_t *used)
{
	u8 tmp[ESCAPE_CHUNK];
	size_t room = TELNET_TX_BUF - ring_used(s->tx_head, s->tx_tail);
	size_t n = telnet_escape(buf, len, tmp, MIN(room, sizeof(tmp)), used);

	for (size_t i = 0; i < n; i++)
		s->tx[s->tx_head++ % TELNET_TX_BUF] = tmp[i];
	return n;
}

void telnet_session_write(struct telnet_session *s, const char *buf, size_t len)
{
	u64 stall_since = 0;

	while (len) {
		u64 f = spin_lock_irqsave(&s->lock);
		size_t used = 0;
		bool flush;

		if (s->conn_gone) {
			spin_unlock_irqrestore(&s->lock, f);
			return; /* nobody to read it */
		}
		queue_output(s, buf, len, &used);
		flush = ring_used(s->tx_head, s->tx_tail) > TELNET_TX_BUF / 2;
		spin_unlock_irqrestore(&s->lock, f);
		/*
		 * Output is pushed when the ring is half full or the thread waits
		 * for input (read_input): echo is immediate, bursts go out in
		 * full segments instead of one packet per byte.
		 */
		if (flush || !used)
			net_wake();
		buf += used;
		len -= used;
		if (used) {
			stall_since = 0;
			continue;
		}
		if (!stall_since)
			stall_since = time_now_ns();
		if (time_now_ns() - stall_since > TELNET_WRITE_STALL_S * NSEC_PER_SEC) {
			f = spin_lock_irqsave(&s->lock);
			s->conn_gone = true; /* the client stopped reading: drop the rest */
			s->close_req = true;
			if (!s->close_reason)
				s->close_reason = "client stopped reading";
			spin_unlock_irqrestore(&s->lock, f);
			return;
		}
		thread_block_until(time_now_ns() + 100 * NSEC_PER_MSEC);
	}
}

static void sink_write(const char *s, size_t len, void *ctx) { telnet_session_write(ctx, s, len); }

static int sink_read_byte(void *ctx)
{
	struct telnet_session *s = ctx;
	int c = read_input(s, 0);

	if (s->skip_lf) {
		s->skip_lf = false;
		if (c == '\n' || c == '\0')
			c = read_input(s, 0);
	}
	if (c == -ETIMEDOUT) {
		u64 f = spin_lock_irqsave(&s->lock);

		s->close_reason = "idle timeout";
		spin_unlock_irqrestore(&s->lock, f);
		__atomic_fetch_add(&telnet_stats.timeouts, 1, __ATOMIC_RELAXED);
		session_print(s, "\nidle for %u s: closing the session\n", telnet_cfg.idle_s);
		return -1;
	}
	return c;
}

/* Raw input for `console`: a byte, -1 for none, the escape byte once the session is over. */
static int sink_poll_byte(void *ctx)
{
	struct telnet_session *s = ctx;
	u64 f = spin_lock_irqsave(&s->lock);
	bool wake_net = false;
	int c = -1;

	if (s->close_req || s->conn_gone || (s->rx_eof && s->rx_head == s->rx_tail))
		c = SESSION_GONE_BYTE;
	else if (s->rx_head != s->rx_tail)
		c = take_byte(s, &wake_net);
	else
		wake_net = s->tx_head != s->tx_tail; /* the caller will sleep: send its output */
	if (c >= 0)
		s->last_input_ns = time_now_ns();
	spin_unlock_irqrestore(&s->lock, f);
	if (wake_net)
		net_wake();
	return c;
}

bool telnet_out_session(const struct shell_out *out, struct telnet_session **s)
{
	if (out->write != sink_write)
		return false;
	*s = out->ctx;
	return true;
}

/* Discard input typed while a wrong password was being delayed. */
static void drop_input(struct telnet_session *s)
{
	u64 f = spin_lock_irqsave(&s->lock);
	bool wake_net = s->rx_unacked;

	s->rx_tail = s->rx_head;
	spin_unlock_irqrestore(&s->lock, f);
	if (wake_net)
		net_wake();
}

static int read_password(struct telnet_session *s, u64 deadline)
{
	telnet_pw_init(&s->pw);
	session_print(s, "Password: ");
	for (;;) {
		int c = read_input(s, deadline);

		if (c < 0)
			return c;
		switch (telnet_pw_feed(&s->pw, (u8)c)) {
		case TELNET_PW_DONE: session_print(s, "\n"); return 0;
		case TELNET_PW_CANCEL: session_print(s, "\n"); return -1;
		default: break;
		}
	}
}

static void count_failure(struct telnet_session *s, int attempt)
{
	u64 total = __atomic_add_fetch(&telnet_stats.failed_logins, 1, __ATOMIC_RELAXED);

	pr_warn("telnet: wrong password from %s (session %u, attempt %d; %llu since boot)\n",
		s->peer, s->id, attempt, (unsigned long long)total);
	thread_sleep_ns((u64)attempt * TELNET_FAIL_DELAY_MS * NSEC_PER_MSEC);
	drop_input(s);
}

/* Ask for the password (TELNET_LOGIN_TRIES times, TELNET_LOGIN_TIMEOUT_S in all). 0: logged in. */
static int login(struct telnet_session *s)
{
	u64 deadline = s->since_ns + TELNET_LOGIN_TIMEOUT_S * NSEC_PER_SEC;
	bool ok;

	for (int attempt = 1; attempt <= TELNET_LOGIN_TRIES; attempt++) {
		int err = read_password(s, deadline);
		u64 f;

		if (err == -ETIMEDOUT) {
			session_print(s, "\nno password within %d s: closing\n", TELNET_LOGIN_TIMEOUT_S);
			return err;
		}
		if (err)
			return err;
		ok = telnet_pw_matches(&s->pw, telnet_cfg.password);
		s->skip_lf = s->pw.after_cr;
		memset(&s->pw, 0, sizeof(s->pw));
		if (ok) {
			f = spin_lock_irqsave(&s->lock);
			s->phase = TELNET_SHELL;
			s->last_input_ns = time_now_ns();
			spin_unlock_irqrestore(&s->lock, f);
			__atomic_fetch_add(&telnet_stats.logins, 1, __ATOMIC_RELAXED);
			pr_info("telnet: session %u (%s) logged in\n", s->id, s->peer);
			return 0;
		}
		count_failure(s, attempt);
		session_print(s, "Login incorrect\n");
	}
	session_print(s, "Too many wrong passwords: closing\n");
	return -EPERM;
}

void telnet_session_thread(void *arg)
{
	struct telnet_session *s = arg;
	struct shell_out out = { .write = sink_write, .ctx = s, .poll_byte = sink_poll_byte };
	const char *reason = NULL;
	u64 f;

	session_print(s, "%s %s management shell (session %u)\n", HV_NAME, HV_VERSION, s->id);
	if (login(s) == 0) {
		session_print(s, "Type 'help' for the commands, 'exit' to leave.\n");
		shell_session_init(&s->shell, out, sink_read_byte, s);
		shell_session_run(&s->shell);
	}
	f = spin_lock_irqsave(&s->lock);
	if (s->close_req && s->close_reason && !s->conn_gone)
		reason = s->close_reason;
	spin_unlock_irqrestore(&s->lock, f);
	if (reason)
		session_print(s, "\n[session closed: %s]\n", reason);
	f = spin_lock_irqsave(&s->lock);
	s->thread_done = true; /* last touch of the thread: the network thread frees the slot */
	spin_unlock_irqrestore(&s->lock, f);
	net_wake();
}
