/* <string.h> for lwIP (built with -nostdinc): the hypervisor's own routines. */
#ifndef HV_MGMT_LWIP_STRING_H
#define HV_MGMT_LWIP_STRING_H

#include "lib/string.h"

#endif
