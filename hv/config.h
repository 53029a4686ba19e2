/* VM configuration: the text file GRUB loads as a module, parsed into vm_config entries. */
#ifndef HV_HV_CONFIG_H
#define HV_HV_CONFIG_H

#include "lib/types.h"

#define VM_NAME_MAX 32
#define VM_MAX_VCPUS 16
#define VM_MAX_EXTRA_MODULES 4
#define VM_MODNAME_MAX 64
#define VM_CMDLINE_MAX 256
#define CONFIG_MAX_VMS 16

enum vm_mmu_mode { VM_MMU_AUTO = 0, VM_MMU_NESTED, VM_MMU_SHADOW };

struct vm_config {
	char name[VM_NAME_MAX];           /* [A-Za-z0-9_-], unique */
	u64 memory;                       /* bytes, multiple of 2 MiB, >= 2 MiB */
	u32 vcpus;                        /* 1..VM_MAX_VCPUS */
	char kernel[VM_MODNAME_MAX];      /* name of the boot module holding the kernel */
	char cmdline[VM_CMDLINE_MAX];     /* given to the guest (after the image name) */
	u32 nr_modules;
	char modules[VM_MAX_EXTRA_MODULES][VM_MODNAME_MAX]; /* extra boot modules for the guest */
	bool autostart;
	u64 cpu_affinity;                 /* host CPUs its vCPUs may run on; 0 = any */
	enum vm_mmu_mode mmu;
	bool testdev;                     /* attach the test device (hv/dev/testdev.h) */
	u32 shadow_pages;                 /* shadow MMU budget in pages; 0: by memory size */
	bool shadow_cache;                /* keep shadow tables across CR3 loads (default yes) */
	u32 line;                         /* where the entry starts in the file (for messages) */
};

struct vm_config_set {
	u32 nr;
	struct vm_config vms[CONFIG_MAX_VMS];
};

/*
 * Parse a configuration text (see README "VM configuration"). On error returns
 * -EINVAL and writes "line N: what is wrong" into err; the set then holds the
 * entries parsed before the bad line, none of them partial. Host-testable.
 */
int config_parse(const char *text, size_t len, struct vm_config_set *set, char *err,
		 size_t errlen);

/* Fill defaults: 1 vCPU, 32 MiB, no modules, autostart off, any CPU, mmu auto, shadow cache on. */
void config_defaults(struct vm_config *c);

#endif
