/* <stdlib.h> for lwIP (built with -nostdinc): netif.c wants atoi (mgmt/net_port.c). */
#ifndef HV_MGMT_LWIP_STDLIB_H
#define HV_MGMT_LWIP_STDLIB_H

int atoi(const char *s);

#endif
