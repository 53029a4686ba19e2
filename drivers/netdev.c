/* Host network interfaces: the driver list and the registry the network stack reads. */
#include "drivers/netdev.h"
#include "lib/printf.h"
#include "kernel/log.h"

/* Each driver's probe; a new driver adds one line. */
static int (*const probes[])(void) = {
	e1000_probe,
	virtio_net_probe,
};

/* Written only during boot (netdev_probe_all), read-only afterwards. */
static struct netdev *devs[NETDEV_MAX];
static int nr_devs;

int netdev_register(struct netdev *nd)
{
	if (nr_devs == NETDEV_MAX) {
		pr_warn("netdev: more than %d interfaces; %s device ignored\n", NETDEV_MAX,
			nd->driver);
		return -ENOSPC;
	}
	ksnprintf(nd->name, sizeof(nd->name), "eth%d", nr_devs);
	devs[nr_devs++] = nd;
	return 0;
}

int netdev_probe_all(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++)
		probes[i]();
	return nr_devs;
}

struct netdev *netdev_get(int i) { return i >= 0 && i < nr_devs ? devs[i] : NULL; }

int netdev_count(void) { return nr_devs; }

void netdev_irq(struct netdev *nd)
{
	void (*notify)(struct netdev *) = READ_ONCE(nd->notify);

	nd->stats.irqs++;
	if (notify)
		notify(nd);
}
