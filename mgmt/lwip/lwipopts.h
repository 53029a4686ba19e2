/* lwIP configuration for the management network: one NIC, IPv4, DHCP, ICMP, TCP (telnet). */
#ifndef HV_MGMT_LWIP_LWIPOPTS_H
#define HV_MGMT_LWIP_LWIPOPTS_H

/*
 * Threading: no OS layer. One network thread (mgmt/net.c) is the only caller
 * of lwIP; interrupt handlers never touch lwIP, they only wake that thread.
 * So no locking inside lwIP (SYS_LIGHTWEIGHT_PROT 0) and only the raw API.
 */
#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_TIMERS 1 /* sys_check_timeouts() from the network thread */

/*
 * Memory: everything static, sized for the limits the telnet server
 * enforces (at most TELNET_MAX_SESSIONS_LIMIT = 8 sessions) so that no
 * single client can starve the others.
 *
 * MEM_SIZE: lwIP's heap holds transmitted data (tcp_write copies into
 * PBUF_RAM) until it is acknowledged, and DHCP/ICMP replies. 8 sessions x
 * TCP_SND_BUF (11.4 KiB) is ~92 KiB plus segment headers; 192 KiB leaves
 * room for ICMP echo replies of full frames and for sessions that are
 * closing while new ones open.
 */
#define MEM_ALIGNMENT 8
#define MEM_SIZE (192 * 1024)
#define MEMP_OVERFLOW_CHECK 0
#define MEMP_SANITY_CHECK 0

/*
 * Receive buffers: the driver copies each frame from its DMA ring into one
 * pool pbuf (PBUF_POOL_BUFSIZE holds a full 1514-byte frame, so a frame is
 * never a chain). 96 buffers: the NIC rings are 64 frames; TCP input is
 * copied into the session's buffer and freed at once (out-of-order segments
 * are not queued), so a flood on one connection cannot exhaust the pool; a
 * frame that finds the pool empty is dropped and counted.
 */
#define PBUF_POOL_SIZE 96
#define PBUF_POOL_BUFSIZE 1536
#define MEMP_NUM_PBUF 32 /* PBUF_REF/ROM headers: few, we copy data */

/*
 * TCP: 8 sessions + the listener's accepted-and-refused connections + TIME_WAIT
 * ones (lwIP reuses the oldest TIME_WAIT pcb when the pool is empty).
 */
#define LWIP_TCP 1
#define MEMP_NUM_TCP_PCB 16
#define MEMP_NUM_TCP_PCB_LISTEN 2
#define TCP_MSS 1460
/*
 * Receive window 4 segments: a flooding client can have at most ~5.8 KiB in
 * flight to us; the telnet server reopens the window (tcp_recved) only as
 * its shell reads, so a slow shell throttles the sender (mgmt/telnet.h).
 */
#define TCP_WND (4 * TCP_MSS)
/*
 * Send buffer 8 segments per connection: line redraws and command output
 * come in bursts of a few KiB; the peer (or QEMU's slirp) acknowledges every
 * other segment, so a deeper pipe keeps output flowing. Up to 32 segments of
 * any size may be queued (echo produces many small ones).
 */
#define TCP_SND_BUF (8 * TCP_MSS)
#define TCP_SND_QUEUELEN 32
#define MEMP_NUM_TCP_SEG 256 /* 8 sessions x TCP_SND_QUEUELEN */
/* Out-of-order segments are dropped, not queued: bounded memory per connection. */
#define TCP_QUEUE_OOSEQ 0
#define TCP_LISTEN_BACKLOG 0
/* Keepalive finds peers that vanished without FIN or RST (cable pulled, VM killed). */
#define LWIP_TCP_KEEPALIVE 1
#define TCP_KEEPIDLE_DEFAULT 60000UL
#define TCP_KEEPINTVL_DEFAULT 10000UL
#define TCP_KEEPCNT_DEFAULT 3U

/* IPv4 only; no fragmentation or reassembly (nothing here needs it, less to attack). */
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define IP_REASSEMBLY 0
#define IP_FRAG 0
#define LWIP_ICMP 1 /* echo replies (ping) */
#define LWIP_RAW 0
#define LWIP_UDP 1  /* DHCP */
#define MEMP_NUM_UDP_PCB 2
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define LWIP_AUTOIP 0

/* ARP: a management LAN talks to a gateway and a few admin hosts. */
#define LWIP_ARP 1
#define ARP_TABLE_SIZE 16
#define ARP_QUEUEING 1
#define MEMP_NUM_ARP_QUEUE 16
#define ETHARP_SUPPORT_STATIC_ENTRIES 0

/*
 * DHCP by default. The ARP probe for a conflicting address (RFC 2131 3.1.5)
 * is off: it delays the address by a second or more at every boot and the
 * management LAN's DHCP server is trusted.
 */
#define LWIP_DHCP 1
#define DHCP_DOES_ARP_CHECK 0
#define LWIP_NETIF_HOSTNAME 1

/* One interface; the thread learns link and address changes through callbacks. */
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 1
#define LWIP_HAVE_LOOPIF 0
#define LWIP_NETIF_LOOPBACK 0
#define LWIP_SINGLE_NETIF 1

/* Counters come from the driver (`net`); lwIP's own statistics are off. */
#define LWIP_STATS 0
#define LWIP_STATS_DISPLAY 0

/* Software checksums, checked on every received packet. */
#define CHECKSUM_GEN_IP 1
#define CHECKSUM_GEN_TCP 1
#define CHECKSUM_GEN_UDP 1
#define CHECKSUM_GEN_ICMP 1
#define CHECKSUM_CHECK_IP 1
#define CHECKSUM_CHECK_TCP 1
#define CHECKSUM_CHECK_UDP 1
#define CHECKSUM_CHECK_ICMP 1

#define LWIP_DEBUG 0

#endif
