/* Shell commands for telnet sessions: who, kick, exit. */
#include "mgmt/telnet.h"
#include "lib/cmdline.h"
#include "lib/string.h"
#include "asm/time.h"

struct who_row {
	u32 id;
	char peer[TELNET_PEER_MAX];
	u64 since_ns, idle_ns;
	enum telnet_phase phase;
	bool closing;
	u16 width, height;
};

static void print_duration(struct shell_out *out, u64 ns)
{
	u64 s = ns / NSEC_PER_SEC;

	if (s >= 3600)
		shell_printf(out, "%3lluh%02llum", (unsigned long long)(s / 3600),
			     (unsigned long long)(s / 60 % 60));
	else
		shell_printf(out, "%3llum%02llus", (unsigned long long)(s / 60),
			     (unsigned long long)(s % 60));
}

static bool snapshot(struct telnet_session *s, struct who_row *r, u64 now)
{
	u64 f = spin_lock_irqsave(&s->lock);
	bool used = s->in_use && !s->thread_done;

	if (used) {
		r->id = s->id;
		memcpy(r->peer, s->peer, sizeof(r->peer));
		r->since_ns = s->since_ns;
		r->idle_ns = now - MIN(now, s->last_input_ns);
		r->phase = s->phase;
		r->closing = s->close_req || s->conn_gone;
		r->width = s->proto.width;
		r->height = s->proto.height;
	}
	spin_unlock_irqrestore(&s->lock, f);
	return used;
}

static int cmd_who(int argc, char **argv, struct shell_out *out)
{
	struct telnet_session *me = NULL;
	u64 now = time_now_ns();
	u32 n = 0;

	if (argc != 1)
		return SHELL_USAGE;
	telnet_out_session(out, &me);
	shell_printf(out, "  session  peer                   since        for       idle      state\n");
	shell_printf(out, "%c serial   console                boot         -         -         shell\n",
		     me ? ' ' : '*');
	for (u32 i = 0; i < TELNET_MAX_SESSIONS_LIMIT; i++) {
		struct who_row r;

		if (!snapshot(&telnet_sessions[i], &r, now))
			continue;
		n++;
		shell_printf(out, "%c %-8u %-22s %7llu.%03llus ",
			     me == &telnet_sessions[i] ? '*' : ' ', r.id, r.peer,
			     (unsigned long long)(r.since_ns / NSEC_PER_SEC),
			     (unsigned long long)(r.since_ns / NSEC_PER_MSEC % 1000));
		print_duration(out, now - r.since_ns);
		shell_printf(out, "    ");
		print_duration(out, r.idle_ns);
		shell_printf(out, "    %s", r.closing ? "closing" : r.phase == TELNET_SHELL ? "shell" : "login");
		if (r.width && r.height)
			shell_printf(out, " (%ux%u)", r.width, r.height);
		shell_printf(out, "\n");
	}
	if (!READ_ONCE(telnet_running)) {
		shell_printf(out, "telnet: off\n");
		return 0;
	}
	shell_printf(out, "telnet: %u of %u sessions, %llu logins, %llu wrong passwords, "
		     "%llu refused (full), %llu idle timeouts, %llu kicked\n", n,
		     telnet_cfg.max_sessions, (unsigned long long)telnet_stats.logins,
		     (unsigned long long)telnet_stats.failed_logins,
		     (unsigned long long)telnet_stats.refused_full,
		     (unsigned long long)telnet_stats.timeouts,
		     (unsigned long long)telnet_stats.kicked);
	return 0;
}
SHELL_COMMAND(who, "who", "", "list the shell sessions (serial and telnet)", cmd_who);

static int cmd_kick(int argc, char **argv, struct shell_out *out)
{
	u64 id;

	if (argc != 2 || cmdline_parse_u64(argv[1], 1, ~0u, &id))
		return SHELL_USAGE;
	for (u32 i = 0; i < TELNET_MAX_SESSIONS_LIMIT; i++) {
		struct telnet_session *s = &telnet_sessions[i];
		struct who_row r;

		if (!snapshot(s, &r, time_now_ns()) || r.id != id)
			continue;
		__atomic_fetch_add(&telnet_stats.kicked, 1, __ATOMIC_RELAXED);
		telnet_session_close(s, r.id, "closed by the operator");
		shell_printf(out, "session %llu (%s): closing\n", (unsigned long long)id, r.peer);
		return 0;
	}
	shell_printf(out, "kick: no session %llu (see 'who')\n", (unsigned long long)id);
	return -ENOENT;
}
SHELL_COMMAND(kick, "kick", "<session>", "close a telnet session (numbers from 'who')", cmd_kick);

static int cmd_exit(int argc, char **argv, struct shell_out *out)
{
	struct telnet_session *s;

	if (argc != 1)
		return SHELL_USAGE;
	if (!telnet_out_session(out, &s)) {
		shell_printf(out, "exit: the serial console stays open\n");
		return -EPERM;
	}
	telnet_session_close(s, 0, "logged out");
	return 0;
}
SHELL_COMMAND(exit, "exit", "", "end this telnet session", cmd_exit);
