/* Shell commands for the management network: net (interface, address, counters) and pci. */
#include "mgmt/net.h"
#include "mgmt/telnet.h"
#include "drivers/pci.h"

static void print_ip(struct shell_out *out, u32 ip)
{
	shell_printf(out, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

static void print_counters(struct shell_out *out, const struct netdev_stats *st, u64 no_pbuf)
{
	shell_printf(out, "  rx: %llu packets, %llu bytes, %llu errors, %llu dropped (%llu no buffer)\n",
		     (unsigned long long)st->rx_packets, (unsigned long long)st->rx_bytes,
		     (unsigned long long)st->rx_errors, (unsigned long long)st->rx_dropped,
		     (unsigned long long)no_pbuf);
	shell_printf(out, "  tx: %llu packets, %llu bytes, %llu errors, %llu ring full\n",
		     (unsigned long long)st->tx_packets, (unsigned long long)st->tx_bytes,
		     (unsigned long long)st->tx_errors, (unsigned long long)st->tx_busy);
	shell_printf(out, "  interrupts: %llu\n", (unsigned long long)st->irqs);
}

static void print_device(struct shell_out *out, const struct netdev *nd, bool used)
{
	char addr[16] = "-";
	const u8 *m = nd->mac;

	if (nd->pci)
		pci_format_addr(nd->pci, addr, sizeof(addr));
	shell_printf(out, "%s: %s at %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, %s", nd->name,
		     nd->driver, addr, m[0], m[1], m[2], m[3], m[4], m[5], nd->irq_kind);
	if (nd->irq_vector)
		shell_printf(out, " vector %#x", nd->irq_vector);
	shell_printf(out, "%s\n", used ? "" : " (not used)");
}

static int cmd_net(int argc, char **argv, struct shell_out *out)
{
	struct net_info ni;

	if (argc != 1)
		return SHELL_USAGE;
	if (net_get_info(&ni)) {
		shell_printf(out, "net: no network interface in use\n");
		return 0;
	}
	print_device(out, ni.nd, true);
	shell_printf(out, "  link %s, ", ni.link ? "up" : "down");
	if (ni.have_addr) {
		shell_printf(out, "address ");
		print_ip(out, ni.ip);
		shell_printf(out, "/%d, gateway ", net_prefix_len(ni.mask));
		print_ip(out, ni.gw);
		shell_printf(out, " (%s)\n", ni.dhcp ? "DHCP" : "static");
	} else {
		shell_printf(out, "no address yet (%s)\n", ni.dhcp ? "DHCP" : "static");
	}
	print_counters(out, &ni.nd->stats, ni.rx_no_pbuf);
	for (int i = 0; i < netdev_count(); i++)
		if (netdev_get(i) != ni.nd)
			print_device(out, netdev_get(i), false);
	if (READ_ONCE(telnet_running))
		shell_printf(out, "telnet: port %u, up to %u sessions, idle timeout %u s\n",
			     telnet_cfg.port, telnet_cfg.max_sessions, telnet_cfg.idle_s);
	else
		shell_printf(out, "telnet: off\n");
	return 0;
}
SHELL_COMMAND(net, "net", "", "management network: interface, address, link, counters", cmd_net);

static int cmd_pci(int argc, char **argv, struct shell_out *out)
{
	if (argc != 1)
		return SHELL_USAGE;
	for (int i = 0; i < pci_count(); i++) {
		const struct pci_dev *d = pci_get(i);
		char addr[16];

		pci_format_addr(d, addr, sizeof(addr));
		shell_printf(out, "%s %04x:%04x class %02x.%02x.%02x irq %u%s%s%s\n", addr,
			     d->vendor, d->device, d->class_code, d->subclass, d->prog_if,
			     d->irq_line, d->msi_cap ? " msi" : "", d->msix_cap ? " msi-x" : "",
			     d->claimed ? " (in use)" : "");
	}
	shell_printf(out, "%d PCI functions\n", pci_count());
	return 0;
}
SHELL_COMMAND(pci, "pci", "", "list the PCI functions found at boot", cmd_pci);
