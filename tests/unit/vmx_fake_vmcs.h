/* Host stand-in for the current VMCS (tests/unit/vmx_fake_vmcs.c) and the table of VMCS fields. */
#ifndef HV_TESTS_UNIT_VMX_FAKE_VMCS_H
#define HV_TESTS_UNIT_VMX_FAKE_VMCS_H

#include "arch/x86/vmx/vmx_internal.h"
#include "arch/x86/vmx/vmx_ops.h"

#define FAKE_VMCS_SLOTS 0x8000

/* The store, indexed by field encoding; only fields of the table exist. */
extern u64 fake_vmcs[FAKE_VMCS_SLOTS];
extern u32 fake_vmcs_error;         /* VM-instruction error of the last failure */
extern int fake_vmcs_failures;      /* vmx_vmread_failed/vmx_vmwrite_failed calls */
extern u32 fake_vmcs_failed_field;

/* Clear the store and the failure counters. */
void fake_vmcs_reset(void);

struct fake_vmcs_field {
	u32 field;
	const char *name;
	u32 width;  /* VMCS_WIDTH_* of its SDM appendix B group */
	u32 type;   /* VMCS_TYPE_* of its group */
};
extern const struct fake_vmcs_field fake_vmcs_fields[];
extern const size_t fake_vmcs_nr_fields;

#endif
