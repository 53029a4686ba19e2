/* Name and version of the hypervisor. */
#ifndef HV_KERNEL_VERSION_H
#define HV_KERNEL_VERSION_H

#define HV_NAME "hv"
#define HV_VERSION "0.1.0"
#ifndef HV_BUILD_ID
#define HV_BUILD_ID "dev"
#endif

#endif
