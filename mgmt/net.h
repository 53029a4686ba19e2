/* Management network: lwIP on the first host NIC, driven by one network thread. */
#ifndef HV_MGMT_NET_H
#define HV_MGMT_NET_H

#include "lib/types.h"
#include "drivers/netdev.h"

/*
 * Boot CPU, from kmain after the scheduler is up: read the network options
 * of the command line (net=off, ip=A.B.C.D/LEN, gw=A.B.C.D, password=,
 * telnet_port=, telnet_max=, telnet_idle=), scan PCI, probe the NIC drivers
 * and start the network thread on the first interface. Logs one line and
 * does nothing more when there is no NIC.
 */
void net_init(const char *cmdline);

/* What `net` prints; a consistent snapshot of the address part. */
struct net_info {
	bool running;          /* the network thread drives an interface */
	struct netdev *nd;     /* that interface (NULL when !running) */
	bool link;
	bool dhcp;             /* address from DHCP (else static) */
	bool have_addr;
	u32 ip, mask, gw;      /* host byte order */
	u64 rx_no_pbuf;        /* frames dropped because lwIP had no buffer */
	u64 loops;             /* network thread iterations */
};
int net_get_info(struct net_info *ni);

/* Leading one bits of a netmask (host byte order): 255.255.255.0 -> 24. */
static inline int net_prefix_len(u32 mask)
{
	int n = 0;

	for (; mask & BIT(31); mask <<= 1)
		n++;
	return n;
}

#endif
