/* A virtual CPU: one hypervisor thread running one guest CPU. */
#ifndef HV_HV_VCPU_H
#define HV_HV_VCPU_H

#include "hv/types.h"
#include "hv/exit.h"
#include "hv/virt.h"
#include "kernel/thread.h"

struct vm;
struct vlapic;
struct shadow_cpu;

/* General registers, in hardware encoding order (RAX=0 ... R15=15), then RIP, RFLAGS. */
enum vcpu_reg {
	VCPU_RAX, VCPU_RCX, VCPU_RDX, VCPU_RBX, VCPU_RSP, VCPU_RBP, VCPU_RSI, VCPU_RDI,
	VCPU_R8, VCPU_R9, VCPU_R10, VCPU_R11, VCPU_R12, VCPU_R13, VCPU_R14, VCPU_R15,
	VCPU_NR_GPRS
};

struct vcpu_regs {
	u64 gpr[VCPU_NR_GPRS];
	u64 rip;
	u64 rflags;
};

enum vcpu_state {
	VCPU_IDLE,     /* created, thread not started or VM not running */
	VCPU_RUNNING,  /* in or around guest mode */
	VCPU_HALTED,   /* guest executed HLT, waiting for an interrupt */
	VCPU_PAUSED,   /* VM paused */
	VCPU_STOPPED,  /* thread finished */
};

/* Requests to a vCPU thread from elsewhere (bits of vcpu->requests). */
#define VCPU_REQ_STOP BIT(0)     /* leave the run loop and end the thread */
#define VCPU_REQ_PAUSE BIT(1)    /* park until VCPU_REQ_PAUSE is cleared */
#define VCPU_REQ_EVENT BIT(2)    /* an interrupt was posted: re-evaluate injection */
#define VCPU_REQ_INIT BIT(3)     /* INIT IPI: back to wait-for-SIPI */
#define VCPU_REQ_SIPI BIT(4)     /* start-up IPI: start in real mode at sipi_vector << 12 */
#define VCPU_REQ_NMI BIT(5)      /* an NMI was sent to it */
#define VCPU_REQ_SNAPSHOT BIT(6) /* record registers into vcpu->snapshot */

/* Registers as the vCPU thread last recorded them (for the shell). */
struct vcpu_snapshot {
	u32 seq;                /* bumped at each snapshot; 0 = never taken */
	enum vcpu_state state;
	struct vcpu_regs regs;
	struct vcpu_sregs sregs;
};

struct vcpu_stats {
	u64 exits[EXIT_NR];
	u64 exit_ns[EXIT_NR];   /* time spent handling each kind (host side) */
	u64 guest_ns;           /* time in guest mode (entry to exit) */
	u64 total_exits;
	u64 injected_irqs;
};

/*
 * Locking: `regs`, `arch`, `stats`, `event` and `lapic` belong to the vCPU
 * thread (others read stats racily for display). `requests` is atomic.
 * `state` is written by the vCPU thread (and by the VM before it starts).
 */
struct vcpu {
	struct vm *vm;
	u32 id;
	struct thread *thread;
	enum vcpu_state state;
	u32 requests;
	struct vcpu_regs regs;
	void *arch;             /* backend data: VMCB or VMCS and friends */
	struct vcpu_event event;    /* an exception/NMI to inject at the next entry */
	struct vlapic *lapic;
	struct shadow_cpu *shadow;  /* shadow paging state (hv/mmu/shadow.h); NULL with nested paging */
	struct vcpu_stats stats;
	u64 last_exit_ns;
	u32 last_cpu;           /* CPU it last entered the guest on */
	u64 wake_deadline_ns;   /* HLT: when the LAPIC timer fires (0: none) */
	bool wait_sipi;         /* an AP before its start-up IPI (or after INIT) */
	bool halted;            /* in HLT: waits for an interrupt before running again */
	u8 sipi_vector;         /* with VCPU_REQ_SIPI */
	bool in_guest;          /* between the last request check and the exit (atomic) */
	u32 tsc_aux;            /* IA32_TSC_AUX as the guest set it */
	struct vcpu_snapshot snapshot;
	u32 snapshot_wait_seq;  /* used by the one caller of vcpu_get_snapshot at a time */
	/* Where the guest starts (vCPU 0: the loader's state; others wait for SIPI). */
	bool has_boot_state;
	struct vcpu_regs boot_regs;
	struct vcpu_sregs boot_sregs;
};

/*
 * The vCPU's registers: asks its thread to record them and waits (or gives
 * the last record when the thread has ended). -ENOENT if it never ran.
 * Callers serialize (the VM admin lock).
 */
int vcpu_get_snapshot(struct vcpu *v, struct vcpu_snapshot *out);

/* The body of a vCPU thread: runs the guest until the VM stops it. */
void vcpu_thread_main(void *arg);
/* INIT and start-up IPIs from another vCPU's LAPIC (any thread). */
void vcpu_send_init(struct vcpu *v);
void vcpu_send_sipi(struct vcpu *v, u8 vector);
/* Architectural reset state (SDM vol. 3A 9.1.1) for a vCPU, real mode at CS:IP. */
void vcpu_reset_state(struct vcpu_regs *r, struct vcpu_sregs *s, u16 cs_selector, u64 cs_base,
		      u64 ip);

/* Ask the vCPU to notice its requests soon: wake it if halted, IPI it if in guest mode. */
void vcpu_kick(struct vcpu *v);
void vcpu_request(struct vcpu *v, u32 req);

/*
 * Queue an exception for the guest, delivered at the next entry. A second
 * exception while one is pending becomes #DF (and a third ends the VM with a
 * triple fault), as on hardware. #PF takes its address with vcpu_queue_page_fault.
 */
void vcpu_queue_exception(struct vcpu *v, u8 vector, bool has_error_code, u32 error_code);
void vcpu_queue_page_fault(struct vcpu *v, u32 error_code, u64 cr2);

/* Read guest memory at a guest-virtual address through the guest's page tables. */
int vcpu_read_gva(struct vcpu *v, gva_t gva, void *buf, u32 len);
int vcpu_write_gva(struct vcpu *v, gva_t gva, const void *buf, u32 len);

#endif
