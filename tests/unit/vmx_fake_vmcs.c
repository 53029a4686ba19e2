/* Host stand-in for the current VMCS: VMREAD/VMWRITE on a software store, with the CPU's failures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "tests/unit/vmx_fake_vmcs.h"

u64 fake_vmcs[FAKE_VMCS_SLOTS];
static bool fake_vmcs_known[FAKE_VMCS_SLOTS];
u32 fake_vmcs_error;
int fake_vmcs_failures;
u32 fake_vmcs_failed_field;

/* Every field of enum vmcs_field exists in the fake VMCS. */
void fake_vmcs_reset(void)
{
	memset(fake_vmcs, 0, sizeof(fake_vmcs));
	memset(fake_vmcs_known, 0, sizeof(fake_vmcs_known));
	for (size_t i = 0; i < fake_vmcs_nr_fields; i++)
		fake_vmcs_known[fake_vmcs_fields[i].field] = true;
	fake_vmcs_error = 0;
	fake_vmcs_failures = 0;
	fake_vmcs_failed_field = 0;
}

static u64 width_mask(u32 field)
{
	switch (VMCS_FIELD_WIDTH(field)) {
	case VMCS_WIDTH_16: return 0xffffULL;
	case VMCS_WIDTH_32: return 0xffffffffULL;
	default: return ~0ULL;
	}
}

static bool supported(u32 field)
{
	return field < FAKE_VMCS_SLOTS && !(field & VMCS_ENC_HIGH) && fake_vmcs_known[field];
}

bool vmx_vmread(u32 field, u64 *value)
{
	if (field == VM_INSTRUCTION_ERROR) {
		*value = fake_vmcs_error;
		return true;
	}
	if (!supported(field)) {
		fake_vmcs_error = 12; /* VMREAD/VMWRITE from/to unsupported VMCS component */
		return false;
	}
	*value = fake_vmcs[field];
	return true;
}

bool vmx_vmwrite(u32 field, u64 value)
{
	if (!supported(field)) {
		fake_vmcs_error = 12;
		return false;
	}
	if (VMCS_FIELD_TYPE(field) == VMCS_TYPE_EXIT_INFO) {
		fake_vmcs_error = 13; /* VMWRITE to read-only VMCS component */
		return false;
	}
	fake_vmcs[field] = value & width_mask(field);
	return true;
}

/* What vmx_run.c does in the hypervisor: here the tests count the failures. */
void vmx_vmread_failed(u32 field, const char *func, int line)
{
	fake_vmcs_failures++;
	fake_vmcs_failed_field = field;
}

void vmx_vmwrite_failed(u32 field, u64 value, const char *func, int line)
{
	fake_vmcs_failures++;
	fake_vmcs_failed_field = field;
}
