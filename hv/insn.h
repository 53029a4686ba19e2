/* Guest instructions seen from the hypervisor: fetch, length, MMIO emulation. */
#ifndef HV_HV_INSN_H
#define HV_HV_INSN_H

#include "hv/types.h"
#include "hv/decode.h"

struct vcpu;
struct vcpu_sregs;
struct vm_exit;

/* The mode the guest's code runs in: CR0.PE, EFER.LMA, CS.L, CS.D. */
enum x86_mode vcpu_code_mode(const struct vcpu_sregs *s);

/*
 * Translate a guest-virtual address with the guest's paging. Returns 0, or
 * -EFAULT with *pfec set (the guest must get #PF), or -EIO when the guest's
 * page tables are not in its RAM.
 */
int vcpu_translate(struct vcpu *v, const struct vcpu_sregs *s, gva_t gva, u32 access,
		   gpa_t *gpa, u32 *pfec);

/* Decode the instruction at CS:RIP. Returns 0, or -EFAULT/-EIO/-EINVAL (undecodable). */
int vcpu_decode_current(struct vcpu *v, const struct vcpu_sregs *s, struct x86_insn *insn);

/* Length of the instruction at CS:RIP (for exits without NRIP): 0 if it cannot be read. */
u32 vcpu_insn_length(struct vcpu *v);

/*
 * Emulate the instruction at CS:RIP whose access to gpa caused a nested page
 * fault: its memory operands go to the VM's MMIO bus (or RAM when the address
 * is RAM). Returns 0 (RIP advanced), or -errno after ending or faulting the
 * guest as appropriate (the vCPU's pending event holds any exception).
 */
int hv_emulate_mmio(struct vcpu *v, const struct vm_exit *e);

#endif
