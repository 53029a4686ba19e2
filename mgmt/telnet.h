/* Telnet management server: sessions shared by the network thread and one shell thread each. */
#ifndef HV_MGMT_TELNET_H
#define HV_MGMT_TELNET_H

#include "lib/types.h"
#include "asm/spinlock.h"
#include "mgmt/shell.h"
#include "mgmt/telnet_proto.h"

#define TELNET_MAX_SESSIONS_LIMIT 8 /* hard cap; telnet_max= picks 1..8 (default 4) */
#define TELNET_DEFAULT_SESSIONS 4
#define TELNET_DEFAULT_PORT 23
#define TELNET_DEFAULT_IDLE_S 600
#define TELNET_LOGIN_TIMEOUT_S 60
#define TELNET_LOGIN_TRIES 3
#define TELNET_FAIL_DELAY_MS 1000 /* after the n-th wrong password: n times this */
/*
 * Input bytes buffered per session. Received data is acknowledged to TCP
 * (tcp_recved) only while the buffer could still take a whole receive window
 * (TCP_WND) on top of what it holds, so lwIP never has to hold or drop data
 * for a slow shell: the client's window closes instead.
 */
#define TELNET_RX_BUF 8192
/* Output bytes buffered per session (after escaping); writers wait when it is full. */
#define TELNET_TX_BUF 16384
/* A writer that cannot make progress for this long gives up and closes the session. */
#define TELNET_WRITE_STALL_S 60
#define TELNET_PEER_MAX 24

struct tcp_pcb;
struct thread;

struct telnet_config {
	char password[TELNET_PW_MAX + 1]; /* "" : telnet off */
	u16 port;
	u32 max_sessions;
	u32 idle_s;                       /* 0: no idle timeout */
};

enum telnet_phase {
	TELNET_FREE,
	TELNET_LOGIN,
	TELNET_SHELL,
};

/*
 * One connection. `lock` protects everything marked [L]; [N] fields belong
 * to the network thread; [S] fields to the session's shell thread; [F] are
 * fixed while the slot is in use. The slot is freed by the network thread
 * once both sides are done (net_done and thread_done).
 */
struct telnet_session {
	struct spinlock lock;
	bool in_use;                     /* [L] */
	u32 id;                          /* [F] 1, 2, ... never reused */
	char peer[TELNET_PEER_MAX];      /* [F] "a.b.c.d:port" */
	u64 since_ns;                    /* [F] connect time (time_now_ns) */
	enum telnet_phase phase;         /* [L] */
	u64 last_input_ns;               /* [L] */
	u8 rx[TELNET_RX_BUF];            /* [L] data bytes for the shell (protocol removed) */
	u32 rx_head, rx_tail;            /* [L] */
	u32 rx_unacked;                  /* [L] bytes received, not yet given back with tcp_recved */
	bool rx_eof;                     /* [L] the client closed its side: no more input */
	u8 tx[TELNET_TX_BUF];            /* [L] escaped bytes for the wire */
	u32 tx_head, tx_tail;            /* [L] */
	u32 tx_dropped;                  /* [L] protocol replies lost to a full buffer */
	bool close_req;                  /* [L] end the session now (kick, error, stalled writer) */
	const char *close_reason;        /* [L] for the log */
	bool conn_gone;                  /* [L] the connection is closed: no input, output dropped */
	bool net_done;                   /* [L] the network side let go of the pcb */
	bool thread_done;                /* [L] the shell thread has finished */
	struct thread *thread;           /* [L] valid while !thread_done */
	u64 bytes_in, bytes_out;         /* [L] */
	struct tcp_pcb *pcb;             /* [N] NULL once closed or reset */
	u64 close_started_ns;            /* [N] */
	struct telnet_proto proto;       /* [N] */
	struct shell_session shell;      /* [S] */
	struct telnet_pwline pw;         /* [S] */
	bool skip_lf;                    /* [S] the password ended with CR: drop an LF/NUL after it */
};

/* Configuration from the command line (password=, telnet_port=, telnet_max=, telnet_idle=). */
void telnet_parse_config(const char *cmdline, struct telnet_config *cfg);

/*
 * Network thread only (mgmt/telnet.c): listen (after lwIP is up); service
 * every session once per loop (send queued output, retry held input, close
 * finished sessions). telnet_start returns 0 or -EXXX.
 */
int telnet_start(const struct telnet_config *cfg);
void telnet_service(void);

/* Shell-thread side (mgmt/telnet_session.c): the thread body for a new session. */
void telnet_session_thread(void *arg);

/* Shared by both sides. */
extern struct telnet_session telnet_sessions[TELNET_MAX_SESSIONS_LIMIT];
extern struct telnet_config telnet_cfg;
/* Counters for `who` and `net` (written under the session locks or by the network thread). */
struct telnet_counters {
	u64 accepted, refused_full, refused_nomem, failed_logins, logins, timeouts, kicked;
};
extern struct telnet_counters telnet_stats;
extern bool telnet_running;

/*
 * Queue output on a session ([L] taken inside): escapes, waits while the
 * buffer is full (wakes the network thread), drops output once the
 * connection is gone. Session thread only.
 */
void telnet_session_write(struct telnet_session *s, const char *buf, size_t len);
/*
 * Ask the session to end (any thread): its shell stops reading, prints the
 * reason, and the connection closes after the queued output. Does nothing
 * unless the slot holds session `id` (0: whichever it holds).
 */
void telnet_session_close(struct telnet_session *s, u32 id, const char *reason);

/* Whether `out` belongs to a telnet session, and which (for `who` and `exit`). */
bool telnet_out_session(const struct shell_out *out, struct telnet_session **s);

/* Wake the network thread (any context; mgmt/net.c). */
void net_wake(void);

#endif
