/* VMX capabilities: control fields computed from the allowed-0/allowed-1 MSRs, CR fixed bits, the description. */
#include "arch/x86/vmx/vmx_internal.h"
#include "asm/cpu.h"
#include "lib/printf.h"
#include "lib/string.h"

/*
 * What the backend asks of each control field (SDM vol. 3C 25.6-25.8). NEED
 * bits must be available, WANT bits are taken when available, DYNAMIC bits
 * are switched at run time (so both settings must be allowed), FORBID bits
 * would need set-up the backend does not do (virtual-APIC page, bitmaps,
 * posted interrupts...) and must not be forced on by the CPU.
 */
#define PIN_NEED (PIN_EXT_INTR_EXITING | PIN_NMI_EXITING)
/*
 * The VMX-preemption timer bounds how long the guest keeps the CPU even when
 * a host interrupt is not recognized (Bochs 2.7 does not make host
 * interrupts exit a guest that runs with RFLAGS.IF=0): taken when offered.
 */
#define PIN_WANT (PIN_NEED | PIN_PREEMPTION_TIMER)
#define PIN_FORBID (PIN_VIRTUAL_NMIS | PIN_POSTED_INTERRUPTS)

/* Every port and every MSR exits: unconditional I/O exiting, no I/O or MSR bitmaps. */
#define PROC_NEED (PROC_HLT_EXITING | PROC_UNCOND_IO_EXITING | PROC_MWAIT_EXITING | \
		   PROC_MONITOR_EXITING | PROC_SECONDARY_CONTROLS)
#define PROC_WANT (PROC_NEED | PROC_INVLPG_EXITING)
#define PROC_DYNAMIC PROC_INTR_WINDOW_EXITING
#define PROC_FORBID (PROC_TPR_SHADOW | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS |        \
		     PROC_MONITOR_TRAP_FLAG | PROC_TERTIARY_CONTROLS | PROC_NMI_WINDOW_EXITING | \
		     PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING | PROC_RDTSC_EXITING |       \
		     PROC_MOV_DR_EXITING)

#define PROC2_NEED (PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST)
#define PROC2_FORBID ((u32) ~(PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_VPID))

#define EXIT_NEED (EXIT_CTL_HOST_ADDR_SPACE_SIZE | EXIT_CTL_SAVE_IA32_EFER | \
		   EXIT_CTL_LOAD_IA32_EFER | EXIT_CTL_SAVE_IA32_PAT | EXIT_CTL_LOAD_IA32_PAT)
#define EXIT_WANT (EXIT_NEED | EXIT_CTL_SAVE_DEBUG_CONTROLS)
/* Acknowledge-interrupt-on-exit stays off: the host takes the interrupt when it enables them. */
#define EXIT_FORBID (EXIT_CTL_ACK_INTR_ON_EXIT | EXIT_CTL_LOAD_PERF_GLOBAL_CTRL | \
		     EXIT_CTL_SAVE_PREEMPTION_TIMER)

#define ENTRY_NEED (ENTRY_CTL_LOAD_IA32_EFER | ENTRY_CTL_LOAD_IA32_PAT)
#define ENTRY_WANT (ENTRY_NEED | ENTRY_CTL_LOAD_DEBUG_CONTROLS)
#define ENTRY_DYNAMIC ENTRY_CTL_IA32E_MODE_GUEST
#define ENTRY_FORBID (ENTRY_CTL_TO_SMM | ENTRY_CTL_DEACT_DUAL_MONITOR | \
		      ENTRY_CTL_LOAD_PERF_GLOBAL_CTRL)

/* CR4 bits a guest may change without an exit (the CPUID policy can offer them). */
#define CR4_GUEST_OWNED (X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE | \
			 X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE |               \
			 X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_FSGSBASE |              \
			 X86_CR4_SMEP | X86_CR4_SMAP)

#define CR_LOW32 0xffffffffULL

int vmx_ctl_adjust(u64 cap, u32 want, u32 need, u32 dynamic, u32 forbid, u32 *out, u32 *bad)
{
	u32 must_be_1 = (u32)cap;         /* allowed-0 settings: a 1 means the bit must be 1 */
	u32 may_be_1 = (u32)(cap >> 32);  /* allowed-1 settings: a 0 means the bit must be 0 */

	*bad = (need | dynamic) & ~may_be_1;
	*bad |= (dynamic | forbid) & must_be_1;
	*out = ((want | need | must_be_1) & may_be_1) & ~dynamic;
	return *bad ? -ENODEV : 0;
}

struct ctl_spec {
	const char *name;
	u32 want, need, dynamic, forbid;
};

static int adjust_one(const struct ctl_spec *s, u64 cap, u32 *out, char *why, size_t len)
{
	u32 bad;

	if (!vmx_ctl_adjust(cap, s->want, s->need, s->dynamic, s->forbid, out, &bad))
		return 0;
	ksnprintf(why, len, "%s controls %#x needed but not available, or forced on but not "
		  "supported (allowed settings %#llx)", s->name, bad, (unsigned long long)cap);
	return -ENODEV;
}

static int config_controls(const struct vmx_caps *caps, struct vmx_config *c, char *why,
			   size_t len)
{
	bool vpid_ok = (caps->ept_vpid & VMX_VPID_INVVPID) &&
		       (caps->ept_vpid & (VMX_VPID_INVVPID_SINGLE | VMX_VPID_INVVPID_ALL));
	const struct ctl_spec specs[] = {
		{ "pin-based", PIN_WANT, PIN_NEED, 0, PIN_FORBID },
		{ "processor-based", PROC_WANT, PROC_NEED, PROC_DYNAMIC, PROC_FORBID },
		{ "secondary processor-based", PROC2_NEED | (vpid_ok ? PROC2_ENABLE_VPID : 0),
		  PROC2_NEED, 0, PROC2_FORBID },
		{ "VM-exit", EXIT_WANT, EXIT_NEED, 0, EXIT_FORBID },
		{ "VM-entry", ENTRY_WANT, ENTRY_NEED, ENTRY_DYNAMIC, ENTRY_FORBID },
	};
	const u64 cap[] = { caps->pin, caps->proc, caps->proc2, caps->exit, caps->entry };
	u32 *out[] = { &c->pin, &c->proc, &c->proc2, &c->exit, &c->entry };

	if (!(caps->proc >> 32 & PROC_SECONDARY_CONTROLS)) {
		ksnprintf(why, len, "no secondary processor-based controls, so no EPT and no "
			  "unrestricted guest");
		return -ENODEV;
	}
	if (!(caps->proc2 >> 32 & PROC2_UNRESTRICTED_GUEST)) {
		ksnprintf(why, len, "no unrestricted guest: guests start in real mode (APs after "
			  "SIPI) and the backend has no real-mode emulation");
		return -ENODEV;
	}
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++)
		if (adjust_one(&specs[i], cap[i], out[i], why, len))
			return -ENODEV;
	c->vpid = (c->proc2 & PROC2_ENABLE_VPID) != 0;
	c->preempt_shift = caps->misc & VMX_MISC_PREEMPT_RATE;
	return 0;
}

static int config_ept(const struct vmx_caps *caps, struct vmx_config *c, char *why, size_t len)
{
	u64 e = caps->ept_vpid;

	if (!(e & VMX_EPT_WALK_4) || !(e & VMX_EPT_WB) || !(e & VMX_EPT_2M_PAGES)) {
		ksnprintf(why, len, "EPT lacks a 4-level walk, the WB memory type or 2 MiB pages "
			  "(EPT_VPID_CAP %#llx)", (unsigned long long)e);
		return -ENODEV;
	}
	if (!(e & VMX_EPT_INVEPT) || !(e & (VMX_EPT_INVEPT_SINGLE | VMX_EPT_INVEPT_ALL))) {
		ksnprintf(why, len, "no INVEPT (EPT_VPID_CAP %#llx)", (unsigned long long)e);
		return -ENODEV;
	}
	c->ept_1g = (e & VMX_EPT_1G_PAGES) != 0;
	c->invept_type = (e & VMX_EPT_INVEPT_SINGLE) ? INVEPT_SINGLE_CONTEXT : INVEPT_ALL_CONTEXT;
	c->invvpid_type = (e & VMX_VPID_INVVPID_SINGLE) ? INVVPID_SINGLE_CONTEXT
							  : INVVPID_ALL_CONTEXT;
	c->invvpid_addr = c->vpid && (e & VMX_VPID_INVVPID_ADDR);
	return 0;
}

/* Fixed bits of CR0 and CR4 in VMX operation (SDM vol. 3C A.7, A.8); PE and PG are free with unrestricted guest. */
static void config_cr(const struct vmx_caps *caps, struct vmx_config *c)
{
	c->cr0_on = caps->cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG);
	c->cr0_off = ~caps->cr0_fixed1;
	c->cr0_mask = (c->cr0_on | c->cr0_off) & CR_LOW32;
	c->cr4_on = caps->cr4_fixed0;
	c->cr4_off = ~caps->cr4_fixed1;
	c->cr4_mask = ~(CR4_GUEST_OWNED & caps->cr4_fixed1 & ~caps->cr4_fixed0) & CR_LOW32;
}

int vmx_config_compute(const struct vmx_caps *caps, struct vmx_config *c, char *why, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->revision = caps->basic & VMX_BASIC_REVISION;
	if (((caps->basic & VMX_BASIC_VMCS_SIZE) >> VMX_BASIC_VMCS_SIZE_SHIFT) > 4096) {
		ksnprintf(why, len, "VMCS region larger than a page (IA32_VMX_BASIC %#llx)",
			  (unsigned long long)caps->basic);
		return -ENODEV;
	}
	if (!(caps->misc & VMX_MISC_SAVES_LMA)) {
		ksnprintf(why, len, "VM exits do not save EFER.LMA in the IA-32e mode control "
			  "(IA32_VMX_MISC bit 5)");
		return -ENODEV;
	}
	if (config_controls(caps, c, why, len) || config_ept(caps, c, why, len))
		return -ENODEV;
	config_cr(caps, c);
	return 0;
}

static bool allowed1(u64 cap, u32 bit) { return (cap >> 32 & bit) != 0; }

struct bit_name {
	u64 bit;
	const char *name;
};

/* Appends the names of the bits set, comma-separated, or "none". */
static size_t list_bits(char *buf, size_t len, size_t n, u64 value, const struct bit_name *t,
			size_t count)
{
	bool any = false;

	for (size_t i = 0; i < count && n < len; i++) {
		if (value & t[i].bit) {
			n += ksnprintf(buf + n, len - n, "%s%s", any ? "," : "", t[i].name);
			any = true;
		}
	}
	if (!any && n < len)
		n += ksnprintf(buf + n, len - n, "none");
	return n;
}

void vmx_caps_describe(const struct vmx_caps *caps, char *buf, size_t len)
{
	static const struct bit_name ept[] = {
		{ VMX_EPT_2M_PAGES, "2M" }, { VMX_EPT_1G_PAGES, "1G" }, { VMX_EPT_AD, "A/D" },
		{ VMX_EPT_EXECUTE_ONLY, "exec-only" },
	}, invept[] = {
		{ VMX_EPT_INVEPT_SINGLE, "single" }, { VMX_EPT_INVEPT_ALL, "all" },
	}, invvpid[] = {
		{ VMX_VPID_INVVPID_ADDR, "addr" }, { VMX_VPID_INVVPID_SINGLE, "single" },
		{ VMX_VPID_INVVPID_ALL, "all" }, { VMX_VPID_INVVPID_SINGLE_GLOBALS, "single-globals" },
	}, apic[] = {
		{ (u64)PROC_TPR_SHADOW << 32, "TPR-shadow" },
		{ PROC2_VIRT_APIC_ACCESSES, "APIC-access" },
		{ PROC2_VIRT_X2APIC_MODE, "x2APIC" },
		{ PROC2_APIC_REGISTER_VIRT, "register" },
		{ PROC2_VIRT_INTR_DELIVERY, "interrupt-delivery" },
		{ (u64)PIN_POSTED_INTERRUPTS << 48, "posted" },
	};
	u64 p2 = caps->proc2 >> 32;
	u64 apic_bits = p2 | (allowed1(caps->proc, PROC_TPR_SHADOW) ? (u64)PROC_TPR_SHADOW << 32 : 0) |
			(allowed1(caps->pin, PIN_POSTED_INTERRUPTS) ? (u64)PIN_POSTED_INTERRUPTS << 48 : 0);
	size_t n;

	n = ksnprintf(buf, len, "VMX rev %#llx%s; EPT %s: ",
		      (unsigned long long)(caps->basic & VMX_BASIC_REVISION),
		      (caps->basic & VMX_BASIC_TRUE_CTLS) ? " (true controls)" : "",
		      (p2 & PROC2_ENABLE_EPT) ? "yes" : "no");
	n = list_bits(buf, len, n, caps->ept_vpid, ept, ARRAY_SIZE(ept));
	if (n < len)
		n += ksnprintf(buf + n, len - n, "; VPID %s; unrestricted guest %s; INVEPT ",
			       (p2 & PROC2_ENABLE_VPID) ? "yes" : "no",
			       (p2 & PROC2_UNRESTRICTED_GUEST) ? "yes" : "no");
	n = list_bits(buf, len, n, (caps->ept_vpid & VMX_EPT_INVEPT) ? caps->ept_vpid : 0, invept,
		      ARRAY_SIZE(invept));
	if (n < len)
		n += ksnprintf(buf + n, len - n, "; INVVPID ");
	n = list_bits(buf, len, n, (caps->ept_vpid & VMX_VPID_INVVPID) ? caps->ept_vpid : 0,
		      invvpid, ARRAY_SIZE(invvpid));
	if (n < len)
		n += ksnprintf(buf + n, len - n, "; APIC virtualization ");
	n = list_bits(buf, len, n, apic_bits, apic, ARRAY_SIZE(apic));
	if (n < len)
		ksnprintf(buf + n, len - n, "%s",
			  allowed1(caps->pin, PIN_PREEMPTION_TIMER) ? "; preemption timer" : "");
}
