/* Kernel threads and the per-CPU preemptive scheduler (vCPUs are these threads). */
#ifndef HV_KERNEL_THREAD_H
#define HV_KERNEL_THREAD_H

#include "lib/types.h"
#include "lib/list.h"
#include "asm/spinlock.h"

#define THREAD_NAME_MAX 24
#define CPU_ANY (~0u)

enum thread_state {
	THREAD_RUNNABLE, /* on a run queue or running */
	THREAD_BLOCKED,  /* waiting (sleep, wait queue, mutex) */
	THREAD_DEAD,     /* finished, waiting to be reaped */
};

typedef void (*thread_fn)(void *arg);

/*
 * Locking: `state`, `cpu`, `rq_node`, `wake_pending`, `migrate_to` and
 * `on_cpu` under the run-queue lock of `cpu`; `sleep_node` and `wake_at_ns`
 * under the run-queue lock of `sleep_cpu`; `wait_node` under the lock of the
 * wait queue or mutex it is on; `all_node` under the thread-list lock;
 * accounting fields are written by the CPU running the thread; `name`, `fn`,
 * `arg` and `stack` are fixed at creation.
 */
struct thread {
	u64 rsp;                  /* saved stack pointer while switched out (offset 0: switch.asm) */
	u32 id;
	char name[THREAD_NAME_MAX];
	enum thread_state state;
	u32 cpu;                  /* CPU whose run queue holds it */
	u64 affinity;             /* bitmask of allowed CPUs */
	bool is_idle;
	bool on_cpu;              /* running right now on `cpu` */
	bool wake_pending;        /* woken while not yet blocked: next block returns at once */
	u32 migrate_to;           /* CPU_ANY, or where to move at the next switch-out */
	u32 sleep_cpu;            /* whose sleep list holds sleep_node */
	void *stack;              /* base of its kernel stack (NULL: boot stack) */
	u64 runtime_ns;           /* CPU time consumed */
	u64 last_start_ns;        /* when it was last switched in */
	u64 slice_end_ns;         /* when its current time slice ends */
	u64 wake_at_ns;           /* for sleeps */
	u64 switches;             /* times switched in */
	u64 preemptions;          /* times switched out by the timer */
	thread_fn fn;
	void *arg;
	struct list_node rq_node;     /* run queue link */
	struct list_node all_node;    /* global thread list */
	struct list_node wait_node;   /* wait queue / mutex waiter link */
	struct list_node sleep_node;  /* per-CPU sleep list link */
	void *owner_data;             /* for the creator (e.g. the vCPU) */
	u64 event_deadline_ns;        /* while it runs: the CPU's timer also fires then (0: none) */
	u8 *fpu;                      /* FXSAVE area (512 bytes, 16-aligned) or NULL */
	void *fpu_alloc;              /* what was allocated for it */
};

/* Start the scheduler structures; boot CPU, after kmalloc_init(). */
void sched_init(void);
/* Called on each CPU (boot CPU too) once it is ready: becomes that CPU's idle thread. */
void __noreturn sched_start_cpu(void);

/*
 * Create a thread running fn(arg) on CPU `cpu` (CPU_ANY: least loaded);
 * it starts runnable. Returns NULL when out of memory. When fn returns, the
 * thread exits.
 */
struct thread *thread_create(const char *name, thread_fn fn, void *arg, u32 cpu);
void __noreturn thread_exit(void);
void thread_yield(void);
void thread_sleep_ns(u64 ns);
/*
 * Block until thread_wake() or until time_now_ns() >= deadline_ns (0: no
 * deadline), whichever comes first. May return early (spurious wake-up).
 */
void thread_block_until(u64 deadline_ns);
/*
 * Give the current thread its own x87/SSE register state, saved and restored
 * when it is switched out and in (vCPU threads: the guest's FPU state lives in
 * the real registers while the thread runs). Returns 0 or -ENOMEM.
 */
int thread_enable_fpu(void);
/* Make the timer interrupt this CPU at deadline_ns while the current thread runs (0: none). */
void thread_set_event_deadline(u64 deadline_ns);
/* Restrict to a CPU mask and move the thread if needed. Returns 0 or -EINVAL. */
int thread_set_affinity(struct thread *t, u64 mask);
/* Move a runnable or blocked thread to another CPU's run queue. */
int thread_migrate(struct thread *t, u32 cpu);
/* Wake a blocked thread (no-op if runnable). Safe from IRQ context. */
void thread_wake(struct thread *t);

/* Called from the LAPIC timer interrupt: account time, maybe preempt. */
void sched_tick(void);
/* Time slice length. */
#define SCHED_SLICE_NS (10ULL * 1000 * 1000)

/* Block the current thread until thread_wake() (returns at once if a wake is pending). */
void thread_block(void);
/* Give up the CPU from interrupt context when the tick decided so (IRQ exit path). */
void sched_preempt_if_needed(void);
const char *thread_state_name(enum thread_state s);
/* CPU time of a thread including the running slice. */
u64 thread_runtime_ns(const struct thread *t);

/* Snapshot for the shell: calls fn for every thread under the thread list lock. */
void thread_for_each(void (*fn)(const struct thread *t, void *ctx), void *ctx);
/* Per-CPU load: runnable threads on its queue plus the running one (idle excluded). */
u32 sched_cpu_load(u32 cpu);


/* Wait queues. */
struct wait_queue {
	struct spinlock lock;
	struct list_node waiters;
};
void wait_queue_init(struct wait_queue *wq);
/* Sleep until cond() is true (rechecked after each wake-up). */
void wait_event(struct wait_queue *wq, bool (*cond)(void *), void *arg);
void wake_up_all(struct wait_queue *wq);
void wake_up_one(struct wait_queue *wq);

/* Sleeping mutex. */
struct mutex {
	struct spinlock lock;
	struct thread *owner;
	struct list_node waiters;
};
void mutex_init(struct mutex *m);
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);

#endif
