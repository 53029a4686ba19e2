/* lwIP port: compiler and platform definitions (lwip/arch.h asks for these). */
#ifndef HV_MGMT_LWIP_ARCH_CC_H
#define HV_MGMT_LWIP_ARCH_CC_H

#include "lib/types.h"

/* Freestanding build: no <limits.h>, <inttypes.h> or <ctype.h> from a libc. */
#define LWIP_NO_LIMITS_H 1
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H 1
#define LWIP_NO_UNISTD_H 1

#define BYTE_ORDER LITTLE_ENDIAN
#define SSIZE_MAX 0x7fffffffffffffffLL
typedef long ssize_t;

/* printf formats for lwIP's own types (u8_t ... are the <stdint.h> types). */
#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

/* Diagnostics go to the hypervisor log; an assertion is a broken invariant of the stack. */
void lwip_port_diag(const char *fmt, ...) __printf(1, 2);
void __noreturn lwip_port_assert(const char *msg, const char *file, int line);
#define LWIP_PLATFORM_DIAG(x) do { lwip_port_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) lwip_port_assert((x), __FILE__, __LINE__)

/* Random numbers for TCP initial sequence numbers, ports and DHCP transaction ids. */
u32 lwip_port_rand(void);
#define LWIP_RAND() lwip_port_rand()

#endif
