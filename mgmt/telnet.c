/* Telnet server, network-thread side: listener, accepting and refusing, moving bytes, closing. */
#include "mgmt/telnet.h"
#include "lib/cmdline.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "asm/time.h"
#include "kernel/log.h"
#include "kernel/thread.h"
#include "lwip/tcp.h"

/* How long a closing session may take to send its last output before the connection is cut. */
#define TELNET_CLOSE_FLUSH_NS (10 * NSEC_PER_SEC)
/* A session asked to close whose thread is stuck in a command is cut after this long. */
#define TELNET_CLOSE_FORCE_NS (30 * NSEC_PER_SEC)

struct telnet_session telnet_sessions[TELNET_MAX_SESSIONS_LIMIT];
struct telnet_config telnet_cfg;
struct telnet_counters telnet_stats;
bool telnet_running;

static struct tcp_pcb *listener;
static u32 next_id = 1;

void telnet_parse_config(const char *cmdline, struct telnet_config *cfg)
{
	u64 v;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	cfg->port = TELNET_DEFAULT_PORT;
	cfg->max_sessions = TELNET_DEFAULT_SESSIONS;
	cfg->idle_s = TELNET_DEFAULT_IDLE_S;
	err = cmdline_get(cmdline, "password", cfg->password, sizeof(cfg->password));
	if (err == -ENOSPC) {
		pr_err("telnet: password= longer than %d characters: telnet stays off\n",
		       TELNET_PW_MAX);
		cfg->password[0] = '\0';
	}
	err = cmdline_get_u64(cmdline, "telnet_port", 1, 65535, &v);
	if (!err)
		cfg->port = (u16)v;
	else if (err != -ENOENT)
		pr_err("telnet: telnet_port= wants 1-65535: using %u\n", cfg->port);
	err = cmdline_get_u64(cmdline, "telnet_max", 1, TELNET_MAX_SESSIONS_LIMIT, &v);
	if (!err)
		cfg->max_sessions = (u32)v;
	else if (err != -ENOENT)
		pr_err("telnet: telnet_max= wants 1-%d: using %u\n", TELNET_MAX_SESSIONS_LIMIT,
		       cfg->max_sessions);
	err = cmdline_get_u64(cmdline, "telnet_idle", 0, 7 * 24 * 3600, &v);
	if (!err)
		cfg->idle_s = (u32)v;
	else if (err != -ENOENT)
		pr_err("telnet: telnet_idle= wants seconds (0: never): using %u\n", cfg->idle_s);
}

static u32 ring_used(u32 head, u32 tail) { return head - tail; }

/* Wake the session's thread; [L] held. The thread is valid until it sets thread_done. */
static void wake_session(struct telnet_session *s)
{
	if (s->thread && !s->thread_done)
		thread_wake(s->thread);
}

/* Protocol replies go out with the session's output; [L] held. Lost (and counted) when full. */
static void queue_reply(void *ctx, const u8 *b, size_t n)
{
	struct telnet_session *s = ctx;

	if (TELNET_TX_BUF - ring_used(s->tx_head, s->tx_tail) < n) {
		s->tx_dropped++;
		return;
	}
	for (size_t i = 0; i < n; i++)
		s->tx[s->tx_head++ % TELNET_TX_BUF] = b[i];
}

/*
 * Give back receive window for input the shell has consumed, keeping room in
 * the ring for a whole window of data (each received byte yields at most one
 * data byte). Returns how many bytes to pass to tcp_recved. [L] held.
 */
static u32 window_to_open(struct telnet_session *s)
{
	u32 used = ring_used(s->rx_head, s->rx_tail);
	s64 room = (s64)TELNET_RX_BUF - TCP_WND - used + s->rx_unacked;
	u32 k = room <= 0 ? 0 : (u32)MIN((u64)room, s->rx_unacked);

	s->rx_unacked -= k;
	return k;
}

/*
 * Input: run the protocol over the segment and keep the data bytes; the
 * segment is freed at once. The window is reopened only as the shell reads
 * (window_to_open), so a flood throttles the sender instead of using buffers.
 */
static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct telnet_session *s = arg;
	u32 n;
	u64 f;

	if (!s || !p) {
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		if (s) { /* FIN: the client sends no more; the shell finishes what it has */
			f = spin_lock_irqsave(&s->lock);
			s->rx_eof = true;
			if (!s->close_reason)
				s->close_reason = "closed by the client";
			wake_session(s);
			spin_unlock_irqrestore(&s->lock, f);
		}
		return ERR_OK;
	}
	f = spin_lock_irqsave(&s->lock);
	for (struct pbuf *q = p; q && !s->close_req && !s->rx_eof; q = q->next) {
		for (u16 i = 0; i < q->len; i++) {
			int d = telnet_proto_feed(&s->proto, ((u8 *)q->payload)[i], queue_reply, s);

			if (d >= 0 && ring_used(s->rx_head, s->rx_tail) < TELNET_RX_BUF)
				s->rx[s->rx_head++ % TELNET_RX_BUF] = (u8)d;
		}
	}
	s->bytes_in += p->tot_len;
	s->rx_unacked += p->tot_len;
	s->last_input_ns = time_now_ns();
	n = window_to_open(s);
	wake_session(s);
	spin_unlock_irqrestore(&s->lock, f);
	if (n)
		tcp_recved(pcb, (u16_t)n);
	pbuf_free(p);
	return ERR_OK;
}

/* The connection was reset or aborted; lwIP has freed the pcb. */
static void on_err(void *arg, err_t err)
{
	struct telnet_session *s = arg;
	u64 f;

	if (!s)
		return;
	f = spin_lock_irqsave(&s->lock);
	s->pcb = NULL;
	s->conn_gone = true;
	s->close_req = true;
	if (!s->close_reason)
		s->close_reason = err == ERR_RST ? "reset by the client" : "connection lost";
	wake_session(s);
	spin_unlock_irqrestore(&s->lock, f);
}

/* Detach our callbacks and close (or abort when lwIP has no memory to send the FIN). */
static void close_pcb(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_sent(pcb, NULL);
	if (tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
}

/* Refuse a connection with one line of explanation. */
static void refuse(struct tcp_pcb *pcb, const char *why)
{
	char msg[96];
	int n = ksnprintf(msg, sizeof(msg), "hv: %s\r\n", why);

	tcp_write(pcb, msg, (u16_t)MIN((size_t)n, sizeof(msg) - 1), TCP_WRITE_FLAG_COPY);
	tcp_output(pcb);
	close_pcb(pcb);
}

static struct telnet_session *free_slot(void)
{
	u32 used = 0;
	struct telnet_session *slot = NULL;

	for (u32 i = 0; i < TELNET_MAX_SESSIONS_LIMIT; i++) {
		struct telnet_session *s = &telnet_sessions[i];

		if (READ_ONCE(s->in_use))
			used++;
		else if (!slot)
			slot = s;
	}
	return used < telnet_cfg.max_sessions ? slot : NULL;
}

static void setup_slot(struct telnet_session *s, struct tcp_pcb *pcb)
{
	const ip_addr_t *a = &pcb->remote_ip;
	u32 ip = lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(a)));
	u64 f = spin_lock_irqsave(&s->lock);
	size_t n;

	memset((u8 *)s + sizeof(s->lock), 0, offsetof(struct telnet_session, shell) - sizeof(s->lock));
	s->in_use = true;
	s->id = next_id++;
	ksnprintf(s->peer, sizeof(s->peer), "%u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 0xff,
		  (ip >> 8) & 0xff, ip & 0xff, pcb->remote_port);
	s->since_ns = s->last_input_ns = time_now_ns();
	s->phase = TELNET_LOGIN;
	s->pcb = pcb;
	telnet_proto_init(&s->proto);
	n = telnet_proto_open(&s->proto, s->tx);
	s->tx_head = (u32)n;
	spin_unlock_irqrestore(&s->lock, f);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct telnet_session *s;
	char name[THREAD_NAME_MAX];
	struct thread *t;
	u64 f;

	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	s = free_slot();
	if (!s) {
		telnet_stats.refused_full++;
		refuse(pcb, "too many sessions; try again later");
		return ERR_OK;
	}
	setup_slot(s, pcb);
	ksnprintf(name, sizeof(name), "telnet%u", s->id);
	t = thread_create(name, telnet_session_thread, s, CPU_ANY);
	if (!t) {
		s->in_use = false;
		telnet_stats.refused_nomem++;
		refuse(pcb, "out of memory; try again later");
		return ERR_OK;
	}
	f = spin_lock_irqsave(&s->lock);
	s->thread = t;
	spin_unlock_irqrestore(&s->lock, f);
	telnet_stats.accepted++;
	tcp_arg(pcb, s);
	tcp_recv(pcb, on_recv);
	tcp_err(pcb, on_err);
	tcp_nagle_disable(pcb); /* echo each keystroke at once */
	ip_set_option(pcb, SOF_KEEPALIVE);
	pr_info("telnet: session %u from %s\n", s->id, s->peer);
	return ERR_OK;
}

int telnet_start(const struct telnet_config *cfg)
{
	struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	err_t err;

	telnet_cfg = *cfg;
	for (u32 i = 0; i < TELNET_MAX_SESSIONS_LIMIT; i++)
		spin_lock_init(&telnet_sessions[i].lock);
	if (!pcb)
		return -ENOMEM;
	err = tcp_bind(pcb, IP4_ADDR_ANY, cfg->port);
	if (err != ERR_OK) {
		tcp_close(pcb);
		pr_err("telnet: cannot listen on port %u (%d)\n", cfg->port, err);
		return -EBUSY;
	}
	listener = tcp_listen(pcb);
	if (!listener) {
		tcp_close(pcb);
		return -ENOMEM;
	}
	tcp_accept(listener, on_accept);
	WRITE_ONCE(telnet_running, true);
	pr_info("telnet: listening on port %u, up to %u sessions, idle timeout %u s\n", cfg->port,
		cfg->max_sessions, cfg->idle_s);
	return 0;
}

/* Move queued output into TCP as far as its send buffer allows; [L] held. */
static void push_output(struct telnet_session *s)
{
	bool progress = false;

	while (s->tx_head != s->tx_tail) {
		u32 off = s->tx_tail % TELNET_TX_BUF;
		u32 n = MIN(ring_used(s->tx_head, s->tx_tail), TELNET_TX_BUF - off);

		n = MIN(n, (u32)tcp_sndbuf(s->pcb));
		if (n == 0 || tcp_write(s->pcb, &s->tx[off], (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		s->tx_tail += n;
		s->bytes_out += n;
		progress = true;
	}
	if (progress) {
		tcp_output(s->pcb);
		wake_session(s); /* a writer may be waiting for room */
	}
}

/*
 * Close the connection when the session is over: at once when the thread is
 * done and the output is sent (or cannot be sent in time), or by force when
 * asked to close and the thread does not finish. [L] held.
 */
static void maybe_close(struct telnet_session *s, u64 now)
{
	bool drained = s->tx_head == s->tx_tail;

	if (!s->pcb || !(s->thread_done || s->close_req))
		return;
	if (!s->close_started_ns)
		s->close_started_ns = now;
	if (s->thread_done ? !drained && now - s->close_started_ns < TELNET_CLOSE_FLUSH_NS
			   : now - s->close_started_ns < TELNET_CLOSE_FORCE_NS)
		return;
	close_pcb(s->pcb);
	s->pcb = NULL;
	s->conn_gone = true;
	wake_session(s);
}

static void service_one(struct telnet_session *s, u64 now)
{
	u64 f = spin_lock_irqsave(&s->lock);
	u32 reopen = 0;

	if (!s->in_use) {
		spin_unlock_irqrestore(&s->lock, f);
		return;
	}
	if (s->pcb && !s->conn_gone)
		push_output(s);
	if (s->pcb && s->rx_unacked)
		reopen = window_to_open(s);
	if (reopen)
		tcp_recved(s->pcb, (u16_t)reopen);
	maybe_close(s, now);
	if (!s->pcb && s->thread_done) {
		s->in_use = false;
		pr_info("telnet: session %u (%s) closed: %s\n", s->id, s->peer,
			s->close_reason ? s->close_reason : "logged out");
	}
	spin_unlock_irqrestore(&s->lock, f);
}

void telnet_service(void)
{
	u64 now = time_now_ns();

	if (!telnet_running)
		return;
	for (u32 i = 0; i < TELNET_MAX_SESSIONS_LIMIT; i++)
		service_one(&telnet_sessions[i], now);
}
