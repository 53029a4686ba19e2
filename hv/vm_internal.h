/* Pieces of VM construction shared by hv/vm.c and hv/vm_build.c (not a public interface). */
#ifndef HV_HV_VM_INTERNAL_H
#define HV_HV_VM_INTERNAL_H

#include "hv/vm.h"

/* Format an error message into err (nothing when err is NULL or errlen 0). */
void vm_set_err(char *err, size_t errlen, const char *fmt, ...) __printf(3, 4);

/* Devices, nested tables, vCPUs and the guest image of a VM whose RAM exists. */
int vm_build(struct vm *vm, char *err, size_t errlen);
/* After the vCPU threads stopped: clear RAM, reset devices, load the image again. */
int vm_reload(struct vm *vm, char *err, size_t errlen);
/* Free everything (threads must have ended); works on partly built VMs. */
void vm_free(struct vm *vm);

/* The small platform devices (debug-exit port, PIC, test device): hv/vm_devices.c. */
int vm_add_platform_devices(struct vm *vm);
void vm_reset_platform_devices(struct vm *vm);
void vm_free_platform_devices(struct vm *vm);

#endif
