/* Address types of the virtualization core (first KVM's naming). */
#ifndef HV_HV_TYPES_H
#define HV_HV_TYPES_H

#include "lib/types.h"

typedef u64 gpa_t; /* guest-physical address */
typedef u64 gva_t; /* guest-virtual (linear) address */
typedef u64 gfn_t; /* guest frame number */
typedef u64 hpa_t; /* host-physical address */

#define GPA_INVALID (~0ULL)

#endif
