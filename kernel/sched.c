/*
 * Kernel threads and the per-CPU scheduler: round-robin run queues, time
 * slices enforced by a one-shot LAPIC timer (no periodic tick: an idle CPU
 * with nothing to wake sleeps until an interrupt), sleeping, migration.
 */
#include "kernel/thread.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/smp.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "asm/cpu.h"
#include "asm/irq_vectors.h"
#include "asm/lapic.h"
#include "asm/percpu.h"
#include "asm/time.h"
#include "asm/trap.h"
#include "mm/kmalloc.h"

/* Sleepers woken per timer interrupt; more are woken at once by the next one. */
#define SCHED_WAKE_BATCH 16
/* Shortest timer interval programmed, so a late deadline cannot storm interrupts. */
#define SCHED_MIN_TIMER_NS 20000ULL

/*
 * One per CPU. `lock` protects every field and the threads on its lists
 * (see struct thread). Taken with interrupts off.
 */
struct run_queue {
	struct spinlock lock;
	struct list_node runnable; /* RUNNABLE threads waiting for the CPU (not current) */
	u32 nr_runnable;
	struct thread *idle;
	struct list_node sleepers; /* sorted by wake_at_ns */
	bool need_resched;
	u64 timer_deadline;        /* armed one-shot deadline, 0 when stopped */
};

static struct run_queue runqueues[MAX_CPUS];
/* threads_lock protects all_threads and next_thread_id. */
static struct spinlock threads_lock = SPINLOCK_INIT;
static struct list_node all_threads = LIST_INIT(all_threads);
static u32 next_thread_id = 1;

struct thread *switch_to(struct thread *prev, struct thread *next);
void thread_entry_trampoline(void);
void thread_start(struct thread *prev);

static const char *const state_names[] = {
	[THREAD_RUNNABLE] = "runnable", [THREAD_BLOCKED] = "blocked", [THREAD_DEAD] = "dead",
};

const char *thread_state_name(enum thread_state s)
{
	return s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

static struct run_queue *rq_of(u32 cpu) { return &runqueues[cpu]; }
static struct run_queue *this_rq(void) { return this_cpu()->rq; }

static bool cpu_usable(u32 cpu)
{
	return cpu < nr_cpus && percpu_table[cpu] && READ_ONCE(percpu_table[cpu]->online) &&
	       percpu_table[cpu]->rq;
}

/* Lock the run queue that holds t, following it if it moves meanwhile. */
static struct run_queue *lock_thread_rq(struct thread *t)
{
	for (;;) {
		u32 cpu = READ_ONCE(t->cpu);
		struct run_queue *rq = rq_of(cpu);

		spin_lock(&rq->lock);
		if (READ_ONCE(t->cpu) == cpu)
			return rq;
		spin_unlock(&rq->lock);
	}
}

/* Arm the one-shot timer for the next event on this CPU. rq locked, this CPU's. */
static void rq_program_timer(struct run_queue *rq, u64 now)
{
	struct thread *cur = this_cpu()->current;
	u64 deadline = 0;

	if (!list_empty(&rq->sleepers))
		deadline = list_first_entry(&rq->sleepers, struct thread, sleep_node)->wake_at_ns;
	if (rq->nr_runnable && !cur->is_idle && (!deadline || cur->slice_end_ns < deadline))
		deadline = cur->slice_end_ns;
	if (cur->event_deadline_ns && (!deadline || cur->event_deadline_ns < deadline))
		deadline = cur->event_deadline_ns;
	if (deadline == rq->timer_deadline && deadline > now)
		return;
	rq->timer_deadline = deadline;
	if (!deadline) {
		lapic_timer_stop();
		return;
	}
	lapic_timer_oneshot_ns(deadline > now + SCHED_MIN_TIMER_NS ? deadline - now
								   : SCHED_MIN_TIMER_NS);
}

/* Put t on cpu's run queue and make that CPU notice. rq of cpu locked by the caller. */
static void rq_enqueue(struct run_queue *rq, struct thread *t, u32 cpu)
{
	struct percpu *pc = percpu_table[cpu];

	t->cpu = cpu;
	list_add_tail(&rq->runnable, &t->rq_node);
	rq->nr_runnable++;
	if (cpu != cpu_id()) {
		smp_send_resched(cpu);
	} else if (pc->current) {
		if (pc->current->is_idle)
			rq->need_resched = true;
		else
			rq_program_timer(rq, time_now_ns()); /* start the current slice's clock */
	}
}

static void enqueue_on(struct thread *t, u32 cpu)
{
	struct run_queue *rq = rq_of(cpu);
	u64 f = spin_lock_irqsave(&rq->lock);

	rq_enqueue(rq, t, cpu);
	spin_unlock_irqrestore(&rq->lock, f);
}

static void free_thread(struct thread *t)
{
	u64 f = spin_lock_irqsave(&threads_lock);

	list_del(&t->all_node);
	spin_unlock_irqrestore(&threads_lock, f);
	kfree(t->fpu_alloc);
	kfree(t->stack);
	kfree(t);
}

/* Lock two run queues in a fixed order (by address), so two CPUs cannot deadlock. */
static void double_lock(struct run_queue *a, struct run_queue *b)
{
	if (a == b) {
		spin_lock(&a->lock);
	} else if (a < b) {
		spin_lock(&a->lock);
		spin_lock(&b->lock);
	} else {
		spin_lock(&b->lock);
		spin_lock(&a->lock);
	}
}

static void double_unlock(struct run_queue *a, struct run_queue *b)
{
	spin_unlock(&a->lock);
	if (a != b)
		spin_unlock(&b->lock);
}

/*
 * Move prev, just switched out, to the CPU it was asked to go to. It is still
 * marked on_cpu, so nobody else moves it meanwhile; both run queues are locked
 * while it changes hands, so it is never in neither.
 */
static void migrate_switched_out(struct run_queue *rq, struct thread *prev)
{
	struct run_queue *trq;
	u32 target;

	for (;;) {
		target = READ_ONCE(prev->migrate_to);
		trq = rq_of(target);
		double_lock(rq, trq);
		if (prev->migrate_to == target)
			break;
		double_unlock(rq, trq);
	}
	prev->migrate_to = CPU_ANY;
	prev->on_cpu = false;
	if (list_is_linked(&prev->rq_node)) {
		list_del(&prev->rq_node);
		rq->nr_runnable--;
	}
	if (prev->state == THREAD_RUNNABLE)
		rq_enqueue(trq, prev, target);
	else
		prev->cpu = target; /* blocked: its waker enqueues it there */
	double_unlock(rq, trq);
}

/* After a switch, on the new thread's stack: settle the thread switched out. */
static void finish_switch(struct thread *prev)
{
	struct run_queue *rq = this_rq();

	spin_lock(&rq->lock);
	if (prev->migrate_to != CPU_ANY && prev->state != THREAD_DEAD) {
		spin_unlock(&rq->lock);
		migrate_switched_out(rq, prev);
		return;
	}
	WRITE_ONCE(prev->on_cpu, false);
	spin_unlock(&rq->lock);
	if (prev->state == THREAD_DEAD)
		free_thread(prev);
}

/* The x87/SSE state of threads that have one (vCPUs), switched with the thread. */
static void fpu_save(u8 *area) { __asm__ __volatile__("fxsave64 (%0)" : : "r"(area) : "memory"); }
static void fpu_restore(const u8 *area)
{
	__asm__ __volatile__("fxrstor64 (%0)" : : "r"(area) : "memory");
}

/*
 * Pick the next thread and switch to it. Interrupts off, rq = this CPU's
 * run queue, locked by the caller; returns with it unlocked.
 */
static void schedule_locked(struct run_queue *rq)
{
	struct percpu *pc = this_cpu();
	struct thread *prev = pc->current, *next;
	u64 now = time_now_ns();

	rq->need_resched = false;
	if (prev->state == THREAD_RUNNABLE && !prev->is_idle && prev->migrate_to == CPU_ANY &&
	    !list_is_linked(&prev->rq_node)) {
		list_add_tail(&rq->runnable, &prev->rq_node);
		rq->nr_runnable++;
	}
	if (!list_empty(&rq->runnable)) {
		next = list_first_entry(&rq->runnable, struct thread, rq_node);
		list_del(&next->rq_node);
		rq->nr_runnable--;
	} else {
		next = rq->idle;
	}
	if (next == prev) {
		prev->slice_end_ns = now + SCHED_SLICE_NS;
		rq_program_timer(rq, now);
		spin_unlock(&rq->lock);
		return;
	}
	prev->runtime_ns += now - prev->last_start_ns;
	next->on_cpu = true;
	next->last_start_ns = now;
	next->slice_end_ns = now + SCHED_SLICE_NS;
	next->switches++;
	pc->current = next;
	rq_program_timer(rq, now);
	spin_unlock(&rq->lock);
	if (prev->fpu)
		fpu_save(prev->fpu);
	prev = switch_to(prev, next);
	if (current_thread()->fpu)
		fpu_restore(current_thread()->fpu);
	finish_switch(prev);
}

int thread_enable_fpu(void)
{
	struct thread *t = current_thread();
	void *raw;
	u64 f;

	if (t->fpu)
		return 0;
	raw = kzalloc(512 + 16);
	if (!raw)
		return -ENOMEM;
	f = irq_save();
	t->fpu_alloc = raw;
	t->fpu = (u8 *)ALIGN_UP((u64)raw, 16);
	/* A clean state: what FNINIT and the reset MXCSR (all exceptions masked) give. */
	__asm__ __volatile__("fninit");
	{
		u32 mxcsr = 0x1f80;
		__asm__ __volatile__("ldmxcsr %0" : : "m"(mxcsr));
	}
	fpu_save(t->fpu);
	irq_restore(f);
	return 0;
}

void thread_set_event_deadline(u64 deadline_ns)
{
	struct thread *t = current_thread();
	u64 f = irq_save();
	struct run_queue *rq = this_rq();

	if (t->event_deadline_ns != deadline_ns) {
		t->event_deadline_ns = deadline_ns;
		spin_lock(&rq->lock);
		rq_program_timer(rq, time_now_ns());
		spin_unlock(&rq->lock);
	}
	irq_restore(f);
}

static void schedule(void)
{
	u64 f = irq_save();
	struct run_queue *rq = this_rq();

	spin_lock(&rq->lock);
	schedule_locked(rq);
	irq_restore(f);
}

void thread_yield(void) { schedule(); }

void thread_start(struct thread *prev)
{
	struct thread *self;

	finish_switch(prev);
	irq_enable();
	self = current_thread();
	self->fn(self->arg);
	thread_exit();
}

void thread_exit(void)
{
	struct run_queue *rq;

	irq_disable();
	rq = this_rq();
	spin_lock(&rq->lock);
	current_thread()->state = THREAD_DEAD;
	schedule_locked(rq);
	panic("a dead thread was scheduled");
}

void thread_block(void)
{
	struct thread *t = current_thread();
	u64 f = irq_save();
	struct run_queue *rq = this_rq();

	spin_lock(&rq->lock);
	if (t->wake_pending) {
		t->wake_pending = false;
		spin_unlock(&rq->lock);
	} else {
		t->state = THREAD_BLOCKED;
		schedule_locked(rq);
	}
	irq_restore(f);
}

void thread_wake(struct thread *t)
{
	u64 f = irq_save();
	struct run_queue *rq = lock_thread_rq(t);

	if (t->state == THREAD_BLOCKED) {
		t->state = THREAD_RUNNABLE;
		t->wake_pending = false;
		if (!list_is_linked(&t->rq_node))
			rq_enqueue(rq, t, t->cpu);
	} else if (t->state == THREAD_RUNNABLE) {
		t->wake_pending = true;
	}
	spin_unlock(&rq->lock);
	irq_restore(f);
}

/* Insert into this CPU's sleep list, sorted. rq locked. */
static void sleep_list_add(struct run_queue *rq, struct thread *t)
{
	struct list_node *pos;

	list_for_each(pos, &rq->sleepers) {
		if (list_entry(pos, struct thread, sleep_node)->wake_at_ns > t->wake_at_ns)
			break;
	}
	list_insert_between(&t->sleep_node, pos->prev, pos);
}

static void sleep_list_remove(struct thread *t)
{
	struct run_queue *rq = rq_of(t->sleep_cpu);

	spin_lock(&rq->lock);
	if (list_is_linked(&t->sleep_node))
		list_del(&t->sleep_node);
	spin_unlock(&rq->lock);
}

void thread_sleep_ns(u64 ns)
{
	struct thread *t = current_thread();
	u64 until = time_now_ns() + ns;

	while (time_now_ns() < until) {
		u64 f = irq_save();
		struct run_queue *rq = this_rq();

		spin_lock(&rq->lock);
		t->wake_at_ns = until;
		t->sleep_cpu = cpu_id();
		t->wake_pending = false;
		sleep_list_add(rq, t);
		t->state = THREAD_BLOCKED;
		schedule_locked(rq);
		sleep_list_remove(t);
		irq_restore(f);
	}
}

void thread_block_until(u64 deadline_ns)
{
	struct thread *t = current_thread();
	u64 f = irq_save();
	struct run_queue *rq = this_rq();

	spin_lock(&rq->lock);
	if (t->wake_pending || (deadline_ns && time_now_ns() >= deadline_ns)) {
		t->wake_pending = false;
		spin_unlock(&rq->lock);
		irq_restore(f);
		return;
	}
	if (deadline_ns) {
		t->wake_at_ns = deadline_ns;
		t->sleep_cpu = cpu_id();
		sleep_list_add(rq, t);
	}
	t->state = THREAD_BLOCKED;
	schedule_locked(rq);
	if (deadline_ns)
		sleep_list_remove(t);
	irq_restore(f);
}

/* Timer interrupt and resched IPI: wake sleepers, end slices, re-arm. IRQs off. */
void sched_tick(void)
{
	struct run_queue *rq = this_rq();
	struct thread *cur = this_cpu()->current;
	struct thread *expired[SCHED_WAKE_BATCH];
	u32 n = 0;
	u64 now = time_now_ns();

	if (!rq || !cur)
		return;
	spin_lock(&rq->lock);
	rq->timer_deadline = 0;
	while (n < SCHED_WAKE_BATCH && !list_empty(&rq->sleepers)) {
		struct thread *t = list_first_entry(&rq->sleepers, struct thread, sleep_node);

		if (t->wake_at_ns > now)
			break;
		list_del(&t->sleep_node);
		expired[n++] = t;
	}
	if (rq->nr_runnable && (cur->is_idle || now >= cur->slice_end_ns))
		rq->need_resched = true;
	if (cur->migrate_to != CPU_ANY)
		rq->need_resched = true;
	spin_unlock(&rq->lock);
	for (u32 i = 0; i < n; i++)
		thread_wake(expired[i]);
	sched_preempt_if_needed();
}

void sched_preempt_if_needed(void)
{
	struct run_queue *rq = this_rq();

	spin_lock(&rq->lock);
	if (rq->need_resched) {
		this_cpu()->current->preemptions++;
		schedule_locked(rq);
		return;
	}
	rq_program_timer(rq, time_now_ns());
	spin_unlock(&rq->lock);
}

static void timer_irq(struct trap_frame *tf)
{
	lapic_eoi();
	sched_tick();
}

static u32 pick_cpu(u64 affinity)
{
	u32 best = CPU_ANY, best_load = ~0u;

	for (u32 cpu = 0; cpu < nr_cpus; cpu++) {
		u32 load;

		if (!(affinity & BIT(cpu)) || !cpu_usable(cpu))
			continue;
		load = sched_cpu_load(cpu);
		if (load < best_load) {
			best = cpu;
			best_load = load;
		}
	}
	return best;
}

static struct thread *thread_alloc(const char *name)
{
	struct thread *t = kzalloc(sizeof(*t));
	u64 f;

	if (!t)
		return NULL;
	strlcpy(t->name, name, sizeof(t->name));
	t->affinity = ~0ULL;
	t->migrate_to = CPU_ANY;
	list_init(&t->rq_node);
	list_init(&t->wait_node);
	list_init(&t->sleep_node);
	f = spin_lock_irqsave(&threads_lock);
	t->id = next_thread_id++;
	list_add_tail(&all_threads, &t->all_node);
	spin_unlock_irqrestore(&threads_lock, f);
	return t;
}

struct thread *thread_create(const char *name, thread_fn fn, void *arg, u32 cpu)
{
	struct thread *t;
	u64 *sp;

	if (cpu == CPU_ANY)
		cpu = pick_cpu(~0ULL);
	if (cpu == CPU_ANY || !cpu_usable(cpu))
		cpu = cpu_id();
	t = thread_alloc(name);
	if (!t)
		return NULL;
	t->stack = kmalloc(KERNEL_STACK_SIZE);
	if (!t->stack) {
		free_thread(t);
		return NULL;
	}
	t->fn = fn;
	t->arg = arg;
	/* Frame popped by switch_to: six callee-saved registers, then the return address. */
	sp = (u64 *)((u8 *)t->stack + KERNEL_STACK_SIZE - 24);
	*sp = (u64)thread_entry_trampoline;
	sp -= 6;
	memset(sp, 0, 6 * sizeof(u64));
	t->rsp = (u64)sp;
	t->state = THREAD_RUNNABLE;
	enqueue_on(t, cpu);
	return t;
}

int thread_migrate(struct thread *t, u32 cpu)
{
	struct run_queue *rq, *trq = rq_of(cpu);
	u64 f;

	if (!cpu_usable(cpu) || t->is_idle)
		return -EINVAL;
	f = irq_save();
	for (;;) {
		u32 from = READ_ONCE(t->cpu);

		rq = rq_of(from);
		double_lock(rq, trq);
		if (READ_ONCE(t->cpu) == from)
			break;
		double_unlock(rq, trq);
	}
	if (t->cpu == cpu && t->migrate_to == CPU_ANY) {
		double_unlock(rq, trq);
	} else if (t->on_cpu) {
		/* Running (or being switched out): it moves at its next switch-out. */
		u32 where = t->cpu;

		t->migrate_to = cpu;
		double_unlock(rq, trq);
		if (where == cpu_id())
			schedule();
		else
			smp_send_resched(where);
	} else if (t->state == THREAD_RUNNABLE) {
		list_del(&t->rq_node);
		rq->nr_runnable--;
		rq_enqueue(trq, t, cpu);
		double_unlock(rq, trq);
	} else {
		t->cpu = cpu;
		double_unlock(rq, trq);
	}
	irq_restore(f);
	return 0;
}

int thread_set_affinity(struct thread *t, u64 mask)
{
	u32 cpu;

	if (!mask)
		return -EINVAL;
	cpu = pick_cpu(mask);
	if (cpu == CPU_ANY)
		return -EINVAL;
	WRITE_ONCE(t->affinity, mask);
	if (!(mask & BIT(READ_ONCE(t->cpu))))
		return thread_migrate(t, cpu);
	return 0;
}

u32 sched_cpu_load(u32 cpu)
{
	struct run_queue *rq = rq_of(cpu);
	struct percpu *pc = percpu_table[cpu];
	u32 load = READ_ONCE(rq->nr_runnable);

	if (pc && pc->current && !READ_ONCE(pc->current->is_idle))
		load++;
	return load;
}

u64 thread_runtime_ns(const struct thread *t)
{
	u64 rt = READ_ONCE(t->runtime_ns);

	if (READ_ONCE(t->on_cpu))
		rt += time_now_ns() - READ_ONCE(t->last_start_ns);
	return rt;
}

void thread_for_each(void (*fn)(const struct thread *t, void *ctx), void *ctx)
{
	u64 f = spin_lock_irqsave(&threads_lock);
	struct list_node *pos;

	list_for_each(pos, &all_threads)
		fn(list_entry(pos, struct thread, all_node), ctx);
	spin_unlock_irqrestore(&threads_lock, f);
}

void sched_init(void)
{
	for (u32 i = 0; i < MAX_CPUS; i++) {
		struct run_queue *rq = &runqueues[i];

		spin_lock_init(&rq->lock);
		list_init(&rq->runnable);
		list_init(&rq->sleepers);
	}
	trap_set_handler(VEC_LAPIC_TIMER, timer_irq);
	trap_set_handler(VEC_IPI_RESCHED, timer_irq);
}

void sched_start_cpu(void)
{
	struct percpu *pc = this_cpu();
	struct run_queue *rq = rq_of(pc->cpu);
	char name[THREAD_NAME_MAX];
	struct thread *idle;

	ksnprintf(name, sizeof(name), "idle/%u", pc->cpu);
	idle = thread_alloc(name);
	if (!idle)
		panic("sched: no memory for the idle thread of CPU %u", pc->cpu);
	idle->is_idle = true;
	idle->cpu = pc->cpu;
	idle->on_cpu = true;
	idle->state = THREAD_RUNNABLE;
	idle->affinity = BIT(pc->cpu);
	idle->last_start_ns = time_now_ns();
	irq_disable();
	rq->idle = idle;
	pc->current = idle;
	pc->rq = rq;
	for (;;) {
		irq_disable();
		spin_lock(&rq->lock);
		if (rq->nr_runnable) {
			schedule_locked(rq);
			continue;
		}
		spin_unlock(&rq->lock);
		irq_enable_and_halt();
	}
}
