/* VMX instructions as inline functions, and VMCS accessors whose field width is checked at compile time. */
#ifndef HV_VMX_VMX_OPS_H
#define HV_VMX_VMX_OPS_H

#include "lib/types.h"
#include "asm/vmx.h"

/*
 * The instructions report failure in RFLAGS (SDM vol. 3C 31.2): CF=1
 * "VMfailInvalid" (no current VMCS), ZF=1 "VMfailValid" (the reason is in
 * the VM-instruction error field). Each wrapper returns true on success.
 */
static inline bool vmx_on(u64 region_pa)
{
	bool fail;

	__asm__ __volatile__("vmxon %[pa]" : "=@ccbe"(fail) : [pa] "m"(region_pa) : "cc", "memory");
	return !fail;
}

static inline void vmx_off(void) { __asm__ __volatile__("vmxoff" ::: "cc", "memory"); }

static inline bool vmx_vmclear(u64 vmcs_pa)
{
	bool fail;

	__asm__ __volatile__("vmclear %[pa]" : "=@ccbe"(fail) : [pa] "m"(vmcs_pa) : "cc", "memory");
	return !fail;
}

static inline bool vmx_vmptrld(u64 vmcs_pa)
{
	bool fail;

	__asm__ __volatile__("vmptrld %[pa]" : "=@ccbe"(fail) : [pa] "m"(vmcs_pa) : "cc", "memory");
	return !fail;
}

/* INVEPT/INVVPID descriptors (SDM vol. 3C 31.3, instruction reference). */
struct vmx_invept_desc {
	u64 eptp;
	u64 reserved;
};

struct vmx_invvpid_desc {
	u64 vpid;      /* bits 15:0; the rest must be zero */
	u64 linear;
};

static inline bool vmx_invept(u64 type, u64 eptp)
{
	struct vmx_invept_desc d = { eptp, 0 };
	bool fail;

	__asm__ __volatile__("invept %[d], %[t]" : "=@ccbe"(fail) : [d] "m"(d), [t] "r"(type)
			     : "cc", "memory");
	return !fail;
}

static inline bool vmx_invvpid(u64 type, u16 vpid, u64 linear)
{
	struct vmx_invvpid_desc d = { vpid, linear };
	bool fail;

	__asm__ __volatile__("invvpid %[d], %[t]" : "=@ccbe"(fail) : [d] "m"(d), [t] "r"(type)
			     : "cc", "memory");
	return !fail;
}

#ifndef HV_HOST_TEST
static inline bool vmx_vmread(u32 field, u64 *value)
{
	bool fail;
	u64 v;

	__asm__ __volatile__("vmread %[f], %[v]" : [v] "=r"(v), "=@ccbe"(fail) : [f] "r"((u64)field)
			     : "cc");
	*value = v;
	return !fail;
}

static inline bool vmx_vmwrite(u32 field, u64 value)
{
	bool fail;

	__asm__ __volatile__("vmwrite %[v], %[f]" : "=@ccbe"(fail) : [f] "r"((u64)field), [v] "rm"(value)
			     : "cc", "memory");
	return !fail;
}
#else
/* Host unit tests: the current VMCS is a software store (tests/unit/vmx_fake_vmcs.c). */
bool vmx_vmread(u32 field, u64 *value);
bool vmx_vmwrite(u32 field, u64 value);
#endif

/*
 * Called when VMREAD/VMWRITE fail: log the field and the VM-instruction error
 * in words with the caller, and mark the vCPU whose VMCS is current here so
 * that its next entry is refused and only its VM ends (vmx_run.c).
 */
void vmx_vmread_failed(u32 field, const char *func, int line);
void vmx_vmwrite_failed(u32 field, u64 value, const char *func, int line);

static inline u64 vmcs_read_at(u32 field, const char *func, int line)
{
	u64 v;

	if (unlikely(!vmx_vmread(field, &v))) {
		vmx_vmread_failed(field, func, line);
		return 0;
	}
	return v;
}

static inline void vmcs_write_at(u32 field, u64 value, const char *func, int line)
{
	if (unlikely(!vmx_vmwrite(field, value)))
		vmx_vmwrite_failed(field, value, func, line);
}

/* Any field, chosen at run time; a failure names the calling function and line. */
#define vmcs_read_any(f) vmcs_read_at((f), __func__, __LINE__)
#define vmcs_write_any(f, v) vmcs_write_at((f), (v), __func__, __LINE__)

/*
 * Width-checked accessors: the field must be a constant whose encoding says
 * the width in the name (bits 14:13, SDM vol. 3C 25.11.2), and 64-bit fields
 * are named by their full (not high-half) encoding. A mismatch does not
 * compile. Use vmcs_read_any/vmcs_write_any for fields chosen at run time.
 */
#define VMCS_CHECK_WIDTH(f, w)                                                        \
	_Static_assert(VMCS_FIELD_WIDTH(f) == (w) && !((f) & VMCS_ENC_HIGH) &&        \
			       !((f) & VMCS_ENC_RESERVED),                             \
		       "VMCS field " #f " used with an accessor of the wrong width")

#define vmcs_read16(f) ({ VMCS_CHECK_WIDTH(f, VMCS_WIDTH_16); (u16)vmcs_read_any(f); })
#define vmcs_read32(f) ({ VMCS_CHECK_WIDTH(f, VMCS_WIDTH_32); (u32)vmcs_read_any(f); })
#define vmcs_read64(f) ({ VMCS_CHECK_WIDTH(f, VMCS_WIDTH_64); vmcs_read_any(f); })
#define vmcs_readnat(f) ({ VMCS_CHECK_WIDTH(f, VMCS_WIDTH_NATURAL); vmcs_read_any(f); })

#define vmcs_write16(f, v) ({ VMCS_CHECK_WIDTH(f, VMCS_WIDTH_16); vmcs_write_any(f, (u16)(v)); })
#define vmcs_write32(f, v) ({ VMCS_CHECK_WIDTH(f, VMCS_WIDTH_32); vmcs_write_any(f, (u32)(v)); })
#define vmcs_write64(f, v) ({ VMCS_CHECK_WIDTH(f, VMCS_WIDTH_64); vmcs_write_any(f, (u64)(v)); })
#define vmcs_writenat(f, v) \
	({ VMCS_CHECK_WIDTH(f, VMCS_WIDTH_NATURAL); vmcs_write_any(f, (u64)(v)); })

#endif
