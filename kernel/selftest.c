/* Scheduler and SMP self-test: run by the `selftest sched` shell command. */
#include "kernel/selftest.h"
#include "kernel/smp.h"
#include "kernel/thread.h"
#include "lib/printf.h"
#include "asm/percpu.h"
#include "asm/time.h"

#define MS (1000ULL * 1000)

struct st {
	selftest_say_fn say;
	void *ctx;
	int failures;
};

static void say(struct st *st, const char *fmt, ...) __printf(2, 3);
static void say(struct st *st, const char *fmt, ...)
{
	char line[160];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	st->say(st->ctx, line);
}

static void check(struct st *st, bool ok, const char *what, const char *detail)
{
	say(st, "%s: %s%s%s", ok ? "PASS" : "FAIL", what, detail[0] ? " - " : "", detail);
	if (!ok)
		st->failures++;
}

/* A count of finished helper threads that the test waits on. */
struct done_count {
	struct wait_queue wq;
	u32 done, want;
};

static bool all_done(void *arg)
{
	struct done_count *d = arg;

	return __atomic_load_n(&d->done, __ATOMIC_ACQUIRE) >= d->want;
}

static void mark_done(struct done_count *d)
{
	__atomic_fetch_add(&d->done, 1, __ATOMIC_RELEASE);
	wake_up_all(&d->wq);
}

static void done_init(struct done_count *d, u32 want)
{
	wait_queue_init(&d->wq);
	d->done = 0;
	d->want = want;
}

/* 1: a thread created for each CPU runs on that CPU. */
struct where_arg {
	struct done_count *d;
	u32 want_cpu, ran_on;
};

static void where_thread(void *p)
{
	struct where_arg *a = p;

	a->ran_on = cpu_id();
	mark_done(a->d);
}

static void test_per_cpu(struct st *st)
{
	static struct where_arg args[MAX_CPUS];
	struct done_count d;
	u32 n = nr_cpus, bad = 0, started = 0;
	char detail[64];

	done_init(&d, 0);
	for (u32 c = 0; c < n; c++) {
		args[c] = (struct where_arg){ .d = &d, .want_cpu = c, .ran_on = ~0u };
		if (thread_create("st-where", where_thread, &args[c], c))
			started++;
	}
	d.want = started;
	wait_event(&d.wq, all_done, &d);
	for (u32 c = 0; c < n; c++)
		bad += args[c].ran_on != c;
	ksnprintf(detail, sizeof(detail), "%u threads, %u on the wrong CPU", started, bad);
	check(st, started == n && bad == 0, "a thread runs on every CPU", detail);
}

/* 2: two busy threads on one CPU both progress (time-slice preemption). */
struct spin_arg {
	struct done_count *d;
	volatile bool *stop;
	u64 count;
	u32 cpu_seen;
};

static void spin_thread(void *p)
{
	struct spin_arg *a = p;

	while (!READ_ONCE(*a->stop))
		a->count++;
	a->cpu_seen = cpu_id();
	mark_done(a->d);
}

static void test_preemption(struct st *st)
{
	static struct spin_arg a[2];
	volatile bool stop = false;
	struct done_count d;
	u32 cpu = nr_cpus - 1;
	u64 c0, c1, p0, p1;
	struct thread *t[2];
	char detail[96];

	done_init(&d, 2);
	for (int i = 0; i < 2; i++) {
		a[i] = (struct spin_arg){ .d = &d, .stop = &stop };
		t[i] = thread_create("st-spin", spin_thread, &a[i], cpu);
	}
	if (!t[0] || !t[1]) {
		check(st, false, "preemption", "could not create threads");
		return;
	}
	thread_sleep_ns(100 * MS);
	c0 = a[0].count;
	c1 = a[1].count;
	thread_sleep_ns(200 * MS);
	p0 = a[0].count - c0;
	p1 = a[1].count - c1;
	stop = true;
	wait_event(&d.wq, all_done, &d);
	ksnprintf(detail, sizeof(detail), "CPU %u, progress in 200 ms: %llu and %llu", cpu,
		  (unsigned long long)p0, (unsigned long long)p1);
	check(st, p0 > 0 && p1 > 0 && a[0].cpu_seen == cpu && a[1].cpu_seen == cpu,
	      "two busy threads on one CPU both progress", detail);
}

/* 3: sleeping takes at least the time asked, and not much more. */
static void test_sleep(struct st *st)
{
	static const u64 asks[] = { 1 * MS, 20 * MS, 100 * MS };
	char detail[96];

	for (unsigned i = 0; i < ARRAY_SIZE(asks); i++) {
		u64 t0 = time_now_ns(), took;

		thread_sleep_ns(asks[i]);
		took = time_now_ns() - t0;
		ksnprintf(detail, sizeof(detail), "asked %llu us, took %llu us",
			  (unsigned long long)(asks[i] / 1000), (unsigned long long)(took / 1000));
		check(st, took >= asks[i] && took < asks[i] + 50 * MS, "sleep timing", detail);
	}
}

/* 4: a thread moves itself through every CPU; another moves a busy thread. */
struct tour_arg {
	struct done_count *d;
	u32 visited, wrong;
};

static void tour_thread(void *p)
{
	struct tour_arg *a = p;
	struct thread *self = current_thread();

	for (u32 round = 0; round < 3; round++) {
		for (u32 c = 0; c < nr_cpus; c++) {
			if (thread_set_affinity(self, BIT(c)) == 0 && cpu_id() == c)
				a->visited++;
			else
				a->wrong++;
		}
	}
	mark_done(a->d);
}

static void test_migration(struct st *st)
{
	static struct tour_arg tour;
	static struct spin_arg spin;
	volatile bool stop = false;
	struct done_count d, ds;
	struct thread *t;
	u32 moved_ok = 0;
	char detail[160];
	size_t dl = 0;

	done_init(&d, 1);
	tour = (struct tour_arg){ .d = &d };
	if (!thread_create("st-tour", tour_thread, &tour, 0)) {
		check(st, false, "migration", "could not create thread");
		return;
	}
	wait_event(&d.wq, all_done, &d);
	ksnprintf(detail, sizeof(detail), "%u moves, %u wrong", tour.visited, tour.wrong);
	check(st, tour.wrong == 0 && tour.visited == 3 * nr_cpus, "a thread moves itself to every CPU",
	      detail);

	done_init(&ds, 1);
	spin = (struct spin_arg){ .d = &ds, .stop = &stop };
	t = thread_create("st-moved", spin_thread, &spin, 0);
	if (!t) {
		check(st, false, "migration", "could not create thread");
		return;
	}
	for (u32 c = 0; c < nr_cpus; c++) {
		u64 before;

		thread_migrate(t, c);
		thread_sleep_ns(20 * MS);
		before = spin.count;
		thread_sleep_ns(20 * MS);
		if (READ_ONCE(t->cpu) == c && spin.count > before)
			moved_ok++;
		else if (dl < sizeof(detail) / 2)
			dl += (size_t)ksnprintf(detail + dl, sizeof(detail) / 2 - dl,
						" [to %u: on %u, +%llu]", c, READ_ONCE(t->cpu),
						(unsigned long long)(spin.count - before));
	}
	stop = true;
	wait_event(&ds.wq, all_done, &ds);
	ksnprintf(detail + dl, sizeof(detail) - dl, "%srunning on the target CPU after %u of %u moves",
		  dl ? " " : "", moved_ok, nr_cpus);
	check(st, moved_ok == nr_cpus, "a busy thread is moved to every CPU", detail);
}

/* 5: cross-CPU calls reach the right CPU, and every CPU. */
static void record_cpu(void *p) { *(u32 *)p = cpu_id(); }
static void count_cpu(void *p) { __atomic_fetch_add((u32 *)p, 1, __ATOMIC_RELAXED); }

static void test_cross_calls(struct st *st)
{
	u32 right = 0, all = 0;
	char detail[96];

	for (u32 c = 0; c < nr_cpus; c++) {
		u32 seen = ~0u;

		if (smp_call_on_cpu(c, record_cpu, &seen, true) == 0 && seen == c)
			right++;
	}
	for (int i = 0; i < 100; i++)
		smp_call_on_all(count_cpu, &all);
	ksnprintf(detail, sizeof(detail), "%u/%u targeted calls right, %u of %u broadcast runs", right,
		  nr_cpus, all, 100 * smp_online_cpus());
	check(st, right == nr_cpus && all == 100 * smp_online_cpus(), "cross-CPU calls", detail);
}

/* 6: a mutex keeps a read-modify-write with a yield inside it exact. */
struct mutex_arg {
	struct done_count *d;
	struct mutex *m;
	u64 *counter;
};

#define MUTEX_ROUNDS 500
#define MUTEX_THREADS 4

static void mutex_thread(void *p)
{
	struct mutex_arg *a = p;

	for (int i = 0; i < MUTEX_ROUNDS; i++) {
		u64 v;

		mutex_lock(a->m);
		v = READ_ONCE(*a->counter);
		if ((i & 15) == 0)
			thread_yield();
		WRITE_ONCE(*a->counter, v + 1);
		mutex_unlock(a->m);
	}
	mark_done(a->d);
}

static void test_mutex(struct st *st)
{
	static struct mutex_arg args[MUTEX_THREADS];
	static struct mutex m;
	u64 counter = 0;
	struct done_count d;
	char detail[64];

	mutex_init(&m);
	done_init(&d, MUTEX_THREADS);
	for (int i = 0; i < MUTEX_THREADS; i++) {
		args[i] = (struct mutex_arg){ .d = &d, .m = &m, .counter = &counter };
		if (!thread_create("st-mutex", mutex_thread, &args[i], (u32)i % nr_cpus))
			d.want--;
	}
	wait_event(&d.wq, all_done, &d);
	ksnprintf(detail, sizeof(detail), "counter %llu, expected %u", (unsigned long long)counter,
		  d.want * MUTEX_ROUNDS);
	check(st, d.want == MUTEX_THREADS && counter == (u64)MUTEX_THREADS * MUTEX_ROUNDS,
	      "mutex excludes across CPUs and yields", detail);
}

int selftest_sched(selftest_say_fn say_fn, void *ctx)
{
	struct st st = { say_fn, ctx, 0 };

	say(&st, "selftest sched: %u CPUs online", smp_online_cpus());
	test_per_cpu(&st);
	test_preemption(&st);
	test_sleep(&st);
	test_migration(&st);
	test_cross_calls(&st);
	test_mutex(&st);
	say(&st, "selftest sched: %s (%d failed)", st.failures ? "FAIL" : "PASS", st.failures);
	return st.failures;
}
