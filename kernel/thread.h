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
 * Fields are written by the CPU that runs the thread or under its run queue's
 * lock, except `name` (set at creation).
 */
struct thread {
	u64 rsp;                  /* saved stack pointer while switched out */
	u32 id;
	char name[THREAD_NAME_MAX];
	enum thread_state state;
	u32 cpu;                  /* CPU whose run queue holds it */
	u64 affinity;             /* bitmask of allowed CPUs */
	bool is_idle;
	void *stack;              /* base of its kernel stack */
	u64 runtime_ns;           /* CPU time consumed */
	u64 last_start_ns;        /* when it was last switched in */
	u64 wake_at_ns;           /* for sleeps */
	u64 switches;             /* times switched in */
	thread_fn fn;
	void *arg;
	struct list_node rq_node;     /* run queue link */
	struct list_node all_node;    /* global thread list */
	struct list_node wait_node;   /* wait queue / sleep list link */
	int wake_reason;
	void *owner_data;             /* for the creator (e.g. the vCPU) */
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

/* Snapshot for the shell: calls fn for every thread under the thread list lock. */
void thread_for_each(void (*fn)(const struct thread *t, void *ctx), void *ctx);
/* Per-CPU load: runnable threads on its queue (excluding idle). */
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
