/* Management network: the network thread, the lwIP interface on a netdev, DHCP or static address. */
#include "mgmt/net.h"
#include "mgmt/telnet.h"
#include "drivers/pci.h"
#include "lib/cmdline.h"
#include "lib/string.h"
#include "asm/spinlock.h"
#include "asm/time.h"
#include "kernel/log.h"
#include "kernel/thread.h"
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#define NET_RX_BUDGET 64           /* frames per poll before other work gets a turn */
#define NET_SLEEP_MAX_NS (100 * NSEC_PER_MSEC) /* with interrupts: poll at least this often */
#define NET_SLEEP_POLLED_NS (5 * NSEC_PER_MSEC) /* without interrupts */
#define NET_DHCP_WARN_NS (15 * NSEC_PER_SEC)
#define NET_MAX_FRAGS 8
#define NET_MTU 1500

struct net_addr_cfg {
	bool dhcp;
	u32 ip, mask, gw; /* host byte order */
};

static struct netif net_if;
static struct netdev *net_dev;
static struct thread *net_thread;
static struct net_addr_cfg addr_cfg;
static u64 rx_no_pbuf, loops;

/* info_lock protects info_* (written by the network thread, read by `net`). */
static struct spinlock info_lock = SPINLOCK_INIT;
static bool info_link, info_have_addr;
static u32 info_ip, info_mask, info_gw;

void net_wake(void)
{
	struct thread *t = READ_ONCE(net_thread);

	if (t)
		thread_wake(t);
}

static void net_notify(struct netdev *nd) { net_wake(); }

/* A received frame: copy it into a pool pbuf and give it to lwIP (network thread). */
static void net_rx(struct netdev *nd, const void *frame, size_t len)
{
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);

	if (!p) {
		rx_no_pbuf++;
		nd->stats.rx_dropped++;
		return;
	}
	pbuf_take(p, frame, (u16_t)len);
	if (net_if.input(p, &net_if) != ERR_OK) {
		pbuf_free(p);
		nd->stats.rx_dropped++;
	}
}

static err_t net_linkoutput(struct netif *ni, struct pbuf *p)
{
	static u8 flat[ETH_FRAME_MAX];
	struct netdev_frag frags[NET_MAX_FRAGS];
	struct pbuf *q = p;
	int n = 0, err;

	for (; q && n < NET_MAX_FRAGS; q = q->next)
		frags[n++] = (struct netdev_frag){ q->payload, q->len };
	if (q || p->tot_len > ETH_FRAME_MAX) {
		if (p->tot_len > sizeof(flat)) {
			net_dev->stats.tx_errors++;
			return ERR_IF;
		}
		frags[0] = (struct netdev_frag){ flat, pbuf_copy_partial(p, flat, p->tot_len, 0) };
		n = 1;
	}
	err = net_dev->ops->xmit(net_dev, frags, n);
	if (err == -EBUSY) {
		net_dev->ops->poll(net_dev, 0); /* reclaim finished transmissions, then retry */
		err = net_dev->ops->xmit(net_dev, frags, n);
	}
	if (err) {
		if (err == -EBUSY)
			net_dev->stats.tx_busy++;
		else
			net_dev->stats.tx_errors++;
		return ERR_IF;
	}
	return ERR_OK;
}

static err_t net_netif_init(struct netif *ni)
{
	ni->name[0] = 'e';
	ni->name[1] = 'n';
	ni->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(ni->hwaddr, net_dev->mac, ETH_HWADDR_LEN);
	ni->mtu = NET_MTU;
	ni->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	ni->output = etharp_output;
	ni->linkoutput = net_linkoutput;
	netif_set_hostname(ni, "hv");
	return ERR_OK;
}

static void print_addr(const char *what)
{
	u32 ip = info_ip, m = info_mask, g = info_gw;

	pr_info("net: %s %u.%u.%u.%u/%d gateway %u.%u.%u.%u (%s)\n", what, ip >> 24,
		(ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff, net_prefix_len(m), g >> 24,
		(g >> 16) & 0xff, (g >> 8) & 0xff, g & 0xff, addr_cfg.dhcp ? "DHCP" : "static");
}

/* lwIP status callback: the address changed (DHCP bound, renewed, or lost). */
static void net_status_changed(struct netif *ni)
{
	u32 ip = lwip_ntohl(ip4_addr_get_u32(netif_ip4_addr(ni)));
	u64 f = spin_lock_irqsave(&info_lock);
	bool changed = ip != info_ip;

	info_ip = ip;
	info_mask = lwip_ntohl(ip4_addr_get_u32(netif_ip4_netmask(ni)));
	info_gw = lwip_ntohl(ip4_addr_get_u32(netif_ip4_gw(ni)));
	info_have_addr = ip != 0;
	spin_unlock_irqrestore(&info_lock, f);
	if (changed && ip)
		print_addr("address");
	else if (changed)
		pr_info("net: %s has no address\n", net_dev->name);
}

static void check_link(void)
{
	bool up = net_dev->ops->link_up(net_dev);

	if (up == netif_is_link_up(&net_if))
		return;
	WRITE_ONCE(info_link, up);
	pr_info("net: %s link %s\n", net_dev->name, up ? "up" : "down");
	if (up)
		netif_set_link_up(&net_if);
	else
		netif_set_link_down(&net_if);
}

static void net_bring_up(void)
{
	ip4_addr_t ip, mask, gw;

	lwip_init();
	ip4_addr_set_u32(&ip, addr_cfg.dhcp ? 0 : lwip_htonl(addr_cfg.ip));
	ip4_addr_set_u32(&mask, addr_cfg.dhcp ? 0 : lwip_htonl(addr_cfg.mask));
	ip4_addr_set_u32(&gw, addr_cfg.dhcp ? 0 : lwip_htonl(addr_cfg.gw));
	net_dev->rx = net_rx;
	net_dev->notify = net_notify;
	netif_add(&net_if, &ip, &mask, &gw, NULL, net_netif_init, ethernet_input);
	netif_set_status_callback(&net_if, net_status_changed);
	netif_set_default(&net_if);
	if (net_dev->ops->open(net_dev))
		pr_err("net: %s would not start\n", net_dev->name);
	netif_set_up(&net_if);
	check_link();
	if (addr_cfg.dhcp)
		dhcp_start(&net_if);
	else
		net_status_changed(&net_if);
}

/* The one thread that calls lwIP: poll the NIC, serve telnet, run lwIP's timers, sleep. */
static void net_thread_fn(void *arg)
{
	const struct telnet_config *tcfg = arg;
	bool polled = strcmp(net_dev->irq_kind, "polled") == 0;
	u64 start = time_now_ns();
	bool warned = false;

	net_bring_up();
	if (tcfg->password[0])
		telnet_start(tcfg);
	for (;;) {
		int got = net_dev->ops->poll(net_dev, NET_RX_BUDGET);
		u64 sleep_ns;

		loops++;
		check_link();
		telnet_service();
		sys_check_timeouts();
		if (addr_cfg.dhcp && !warned && !info_have_addr &&
		    time_now_ns() - start > NET_DHCP_WARN_NS) {
			warned = true;
			pr_warn("net: no DHCP lease yet; still asking (ip=A.B.C.D/N sets one)\n");
		}
		if (got == NET_RX_BUDGET)
			continue;
		sleep_ns = (u64)sys_timeouts_sleeptime() * NSEC_PER_MSEC;
		sleep_ns = MIN(sleep_ns, polled ? NET_SLEEP_POLLED_NS : NET_SLEEP_MAX_NS);
		thread_block_until(time_now_ns() + sleep_ns);
	}
}

/* "A.B.C.D" into host byte order. */
static int parse_ip(const char *s, u32 *out)
{
	u32 v = 0;

	for (int i = 0; i < 4; i++) {
		char part[4];
		size_t n = 0;
		u64 b;

		while (*s >= '0' && *s <= '9' && n < sizeof(part) - 1)
			part[n++] = *s++;
		part[n] = '\0';
		if (cmdline_parse_u64(part, 0, 255, &b) || (i < 3 && *s++ != '.'))
			return -EINVAL;
		v = v << 8 | (u32)b;
	}
	if (*s)
		return -EINVAL;
	*out = v;
	return 0;
}

/* ip=A.B.C.D/LEN and gw=A.B.C.D; DHCP when ip= is absent or bad. */
static void parse_addr_config(const char *cmdline, struct net_addr_cfg *c)
{
	char buf[40], *slash;
	u64 len = 24;

	c->dhcp = true;
	if (cmdline_get(cmdline, "ip", buf, sizeof(buf)) || !strcmp(buf, "dhcp"))
		return;
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (parse_ip(buf, &c->ip) || (slash && cmdline_parse_u64(slash + 1, 1, 32, &len)) ||
	    !c->ip) {
		pr_err("net: bad ip= option (want ip=A.B.C.D/LEN): using DHCP\n");
		return;
	}
	c->mask = (u32)GENMASK(31, 32 - len);
	c->gw = 0;
	if (!cmdline_get(cmdline, "gw", buf, sizeof(buf)) && parse_ip(buf, &c->gw))
		pr_err("net: bad gw= option (want gw=A.B.C.D): no gateway\n");
	c->dhcp = false;
}

void net_init(const char *cmdline)
{
	static struct telnet_config tcfg;
	struct thread *t;
	char opt[8];
	int n;

	if (cmdline_get(cmdline, "net", opt, sizeof(opt)) == 0 && !cmdline_has_flag(cmdline, "net")) {
		pr_info("net: off (net=off on the command line)\n");
		return;
	}
	pci_init();
	n = netdev_probe_all();
	if (n == 0) {
		pr_info("net: no network interface found (drivers: e1000, virtio-net legacy)\n");
		return;
	}
	net_dev = netdev_get(0);
	parse_addr_config(cmdline, &addr_cfg);
	telnet_parse_config(cmdline, &tcfg);
	pr_info("net: using %s (%s)%s, address by %s\n", net_dev->name, net_dev->driver,
		n > 1 ? "; others unused" : "", addr_cfg.dhcp ? "DHCP" : "ip= option");
	if (!tcfg.password[0])
		pr_info("telnet: off (no password= on the command line)\n");
	t = thread_create("net", net_thread_fn, &tcfg, CPU_ANY);
	if (!t)
		pr_err("net: cannot create the network thread\n");
	WRITE_ONCE(net_thread, t);
}

int net_get_info(struct net_info *ni)
{
	u64 f;

	memset(ni, 0, sizeof(*ni));
	if (!net_dev || !READ_ONCE(net_thread))
		return -ENODEV;
	ni->running = true;
	ni->nd = net_dev;
	ni->dhcp = addr_cfg.dhcp;
	f = spin_lock_irqsave(&info_lock);
	ni->link = info_link;
	ni->have_addr = info_have_addr;
	ni->ip = info_ip;
	ni->mask = info_mask;
	ni->gw = info_gw;
	spin_unlock_irqrestore(&info_lock, f);
	ni->rx_no_pbuf = READ_ONCE(rx_no_pbuf);
	ni->loops = READ_ONCE(loops);
	return 0;
}
