/* Virtual machines: creation from a configuration, lifecycle, lookup. */
#ifndef HV_HV_VM_H
#define HV_HV_VM_H

#include "hv/types.h"
#include "hv/config.h"
#include "hv/iobus.h"
#include "hv/mmu/gmem.h"
#include "hv/vcpu.h"
#include "kernel/thread.h"
#include "lib/list.h"

enum vm_state {
	VM_CREATED,  /* built, never started (or reset and not started) */
	VM_RUNNING,
	VM_PAUSED,
	VM_STOPPED,  /* ended normally (e.g. the guest wrote the debug-exit port) */
	VM_CRASHED,  /* ended by a fault: triple fault, bad state, unhandled exit */
};

#define VM_REASON_MAX 160

struct vuart;
struct vpic;
struct debugexit;
struct testdev;
struct shadow_mmu;

/*
 * Locking: `lock` (a mutex) serializes lifecycle operations (start, pause,
 * resume, reset, destroy). `state`, `reason` and `exit_status` change under
 * `state_lock` (a spinlock: vCPU threads end the VM from guest-exit context).
 * Devices lock themselves. `mem`, `pio`, `mmio` and `vcpus` are fixed while
 * any vCPU runs.
 */
struct vm {
	u32 id;
	char name[VM_NAME_MAX];
	struct vm_config cfg;
	struct mutex lock;
	struct spinlock state_lock;
	enum vm_state state;
	char reason[VM_REASON_MAX];   /* why it stopped or crashed */
	int exit_status;              /* debug-exit status ((v<<1)|1), -1 if none */
	struct gmem mem;
	struct io_bus pio;
	struct io_bus mmio;
	u32 nr_vcpus;
	struct vcpu *vcpus[VM_MAX_VCPUS];
	u32 threads_alive;            /* vCPU threads still running (atomic) */
	struct wait_queue wq;         /* lifecycle waits: vCPUs parked, threads ended */
	void *arch;                   /* backend data: nested page tables */
	struct vuart *uart;           /* COM1 of the guest, with its console buffer */
	struct vpic *pic;
	struct debugexit *debugexit;
	struct testdev *testdev;      /* only with `testdev = yes` */
	struct shadow_mmu *shadow;    /* shadow paging (hv/mmu/shadow.h); NULL with nested paging */
	u64 created_ns, started_ns, ended_ns;
	struct list_node node;        /* on the global VM list */
};

const char *vm_state_name(enum vm_state s);

/*
 * Build a VM from a configuration: memory, devices, the guest image loaded,
 * vCPUs created (threads not started). On failure returns -errno and a
 * message in err; nothing is left allocated.
 */
int vm_create(const struct vm_config *cfg, struct vm **out, char *err, size_t errlen);
/* Lifecycle; each returns 0 or -EINVAL (wrong state) / -errno, with words in err. */
int vm_start(struct vm *vm, char *err, size_t errlen);
int vm_pause(struct vm *vm, char *err, size_t errlen);
int vm_resume(struct vm *vm, char *err, size_t errlen);
int vm_reset(struct vm *vm, char *err, size_t errlen);
/* Stop the vCPUs, free every page and device of the VM, remove it from the list. */
int vm_destroy(struct vm *vm, char *err, size_t errlen);

/*
 * End the VM from inside (a vCPU thread or a device): state becomes `final`
 * (VM_STOPPED or VM_CRASHED) with the reason, every vCPU is asked to stop.
 * The first call wins; later calls are ignored.
 */
void vm_end(struct vm *vm, enum vm_state final, const char *fmt, ...) __printf(3, 4);

/* Find by name or by decimal id; NULL if none. The VM list lock is not held after return. */
struct vm *vm_find(const char *name_or_id);
/* Call fn for each VM, in id order, under the VM list lock (fn must not block). */
void vm_for_each(void (*fn)(struct vm *vm, void *ctx), void *ctx);

/* Called by a vCPU thread when it parks (pause) or ends: wakes lifecycle waiters. */
void vm_vcpu_changed(struct vm *vm);

/* Create (and autostart) the VMs of the configuration module, if any. */
void vm_create_from_boot_config(void);
/* An entry of the boot configuration module by VM name (for `vm create`), or NULL. */
const struct vm_config *vm_boot_config_find(const char *name);

/*
 * Serializes management operations (shell and telnet sessions): hold it
 * from vm_find() to the end of what is done with the VM, so the VM cannot be
 * destroyed by another session meanwhile. A mutex: may sleep.
 */
void vm_admin_lock(void);
void vm_admin_unlock(void);

#endif
