/* Address -> function name lookup over the table the build embeds (scripts/gen-ksyms.sh). */
#ifndef HV_LIB_KSYMS_H
#define HV_LIB_KSYMS_H

#include "lib/types.h"

/*
 * Name of the function containing `addr` and the offset into it, or NULL when
 * the address is outside the kernel text.
 */
const char *ksym_lookup(u64 addr, u64 *offset);

#endif
