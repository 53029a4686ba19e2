/* Vendor-neutral handling of VM exits. */
#ifndef HV_HV_EXIT_HANDLERS_H
#define HV_HV_EXIT_HANDLERS_H

#include "hv/exit.h"

struct vcpu;

enum exit_action {
	EXIT_ACTION_RESUME, /* enter the guest again */
	EXIT_ACTION_HALT,   /* the guest waits for an interrupt */
	EXIT_ACTION_END,    /* the VM has ended (vm_end was called) */
};

/* Act on one exit of v (on v's thread). */
enum exit_action hv_handle_exit(struct vcpu *v, struct vm_exit *e);

#endif
