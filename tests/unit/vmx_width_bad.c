/*
 * Compile-time width checks of the VMCS accessors (tests/unit/vmx.test.mk):
 * CASE=0 holds correct uses and must compile; every other CASE is one wrong
 * use (a field of another width, the high half of a 64-bit field, a field
 * chosen at run time) and must not compile.
 */
#include "arch/x86/vmx/vmx_ops.h"

u64 width_probe(u32 runtime_field);
u64 width_probe(u32 runtime_field)
{
	u64 sum = 0;

#if CASE == 0
	sum += vmcs_read16(GUEST_CS_SELECTOR);
	sum += vmcs_read32(VM_EXIT_REASON);
	sum += vmcs_read64(GUEST_IA32_EFER);
	sum += vmcs_readnat(GUEST_RIP);
	vmcs_write16(HOST_TR_SELECTOR, 0x18);
	vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, 1);
	vmcs_write64(EPT_POINTER, 0);
	vmcs_writenat(HOST_RSP, 0);
	sum += vmcs_read_any(runtime_field); /* run-time fields go through the unchecked form */
#elif CASE == 1
	sum += vmcs_read16(GUEST_RIP);          /* natural width through the 16-bit reader */
#elif CASE == 2
	sum += vmcs_read32(GUEST_IA32_EFER);    /* 64-bit through the 32-bit reader */
#elif CASE == 3
	sum += vmcs_read64(VM_EXIT_REASON);     /* 32-bit through the 64-bit reader */
#elif CASE == 4
	sum += vmcs_readnat(GUEST_CS_SELECTOR); /* 16-bit through the natural-width reader */
#elif CASE == 5
	vmcs_write32(GUEST_CR0, 0);             /* natural width through the 32-bit writer */
#elif CASE == 6
	vmcs_write64(GUEST_IA32_EFER + 1, 0);   /* the high half of a 64-bit field */
#elif CASE == 7
	vmcs_write16(runtime_field, 0);         /* a field that is not a constant */
#elif CASE == 8
	vmcs_writenat(VM_ENTRY_CONTROLS, 0);    /* 32-bit through the natural-width writer */
#endif
	return sum;
}
