/* Shell commands `cpus` and `threads`: host CPUs and scheduler threads from a snapshot. */
#include "mgmt/shell.h"
#include "lib/string.h"
#include "asm/percpu.h"
#include "asm/time.h"
#include "mm/kmalloc.h"
#include "kernel/thread.h"

#define NS_PER_SEC 1000000000ULL
#define NS_PER_USEC 1000ULL
#define SNAPSHOT_SLACK 16 /* room for threads created between counting and copying */

/* One thread as seen at snapshot time. */
struct thread_snap {
	u32 id;
	char name[THREAD_NAME_MAX];
	u32 cpu;
	u32 running_on; /* CPU whose `current` it is, or CPU_ANY */
	enum thread_state state;
	bool is_idle;
	u64 runtime_ns;
	u64 switches;
};

struct snapshot {
	struct thread_snap *v;
	size_t n, cap;
	size_t total; /* threads seen while copying (may exceed cap) */
};

static void count_thread(const struct thread *t, void *ctx) { (*(size_t *)ctx)++; }

/* Called under the thread-list lock: copy only, no output. */
static void copy_thread(const struct thread *t, void *ctx)
{
	struct snapshot *s = ctx;
	struct thread_snap *e;
	u32 cpu = READ_ONCE(t->cpu);

	s->total++;
	if (s->n == s->cap)
		return;
	e = &s->v[s->n++];
	e->id = t->id;
	memcpy(e->name, t->name, sizeof(e->name));
	e->name[sizeof(e->name) - 1] = '\0';
	e->cpu = cpu;
	e->running_on = CPU_ANY;
	if (cpu < nr_cpus && percpu_table[cpu] && READ_ONCE(percpu_table[cpu]->current) == t)
		e->running_on = cpu;
	e->state = READ_ONCE(t->state);
	e->is_idle = t->is_idle;
	e->runtime_ns = thread_runtime_ns(t);
	e->switches = READ_ONCE(t->switches);
}

/* Copy every thread, sorted by id. Returns 0 or -ENOMEM; free s->v with kfree. */
static int snapshot_take(struct snapshot *s)
{
	size_t count = 0;

	thread_for_each(count_thread, &count);
	s->cap = count + SNAPSHOT_SLACK;
	s->v = kmalloc(s->cap * sizeof(*s->v));
	if (!s->v)
		return -ENOMEM;
	s->n = s->total = 0;
	thread_for_each(copy_thread, s);
	for (size_t i = 1; i < s->n; i++) {
		struct thread_snap tmp = s->v[i];
		size_t j = i;

		for (; j > 0 && s->v[j - 1].id > tmp.id; j--)
			s->v[j] = s->v[j - 1];
		s->v[j] = tmp;
	}
	return 0;
}

static const struct thread_snap *running_on(const struct snapshot *s, u32 cpu)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].running_on == cpu)
			return &s->v[i];
	return NULL;
}

/* CPU time of the CPU's idle thread as a share of the time since boot. */
static unsigned idle_percent(const struct snapshot *s, u32 cpu, u64 now)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].is_idle && s->v[i].cpu == cpu && now)
			return (unsigned)MIN(100, s->v[i].runtime_ns * 100 / now);
	return 0;
}

static int cmd_cpus(int argc, char **argv, struct shell_out *out)
{
	struct snapshot s;
	u64 now = time_now_ns();
	u32 online = 0;

	if (argc != 1)
		return SHELL_USAGE;
	if (snapshot_take(&s))
		return -ENOMEM;
	shell_printf(out, "CPU  APIC  ONLINE  LOAD  IDLE  CURRENT\n");
	for (u32 cpu = 0; cpu < nr_cpus && cpu < MAX_CPUS; cpu++) {
		struct percpu *p = percpu_table[cpu];
		const struct thread_snap *cur = running_on(&s, cpu);
		bool is_online = p && READ_ONCE(p->online);

		if (!p) {
			shell_printf(out, "%3u     -  no         -     -  -\n", cpu);
			continue;
		}
		online += is_online;
		shell_printf(out, "%3u  %4u  %-6s  %4u  %3u%%  ", cpu, p->apic_id,
			     is_online ? "yes" : "no", is_online ? sched_cpu_load(cpu) : 0,
			     idle_percent(&s, cpu, now));
		if (cur)
			shell_printf(out, "%s (#%u)\n", cur->name, cur->id);
		else
			shell_printf(out, "-\n");
	}
	shell_printf(out, "%u of %u CPUs online\n", online, nr_cpus);
	kfree(s.v);
	return 0;
}
SHELL_COMMAND(cpus, "cpus", "", "list host CPUs: APIC id, online, load, idle time, current thread",
	      cmd_cpus);

static void print_thread(struct shell_out *out, const struct thread_snap *e)
{
	const char *state = e->running_on != CPU_ANY ? "running" : thread_state_name(e->state);

	shell_printf(out, "%5u  %-*s %3u  %-9s %6llu.%06llu  %llu\n", e->id, THREAD_NAME_MAX - 1,
		     e->name, e->cpu, state, (unsigned long long)(e->runtime_ns / NS_PER_SEC),
		     (unsigned long long)(e->runtime_ns % NS_PER_SEC / NS_PER_USEC),
		     (unsigned long long)e->switches);
}

static int cmd_threads(int argc, char **argv, struct shell_out *out)
{
	struct snapshot s;

	if (argc != 1)
		return SHELL_USAGE;
	if (snapshot_take(&s))
		return -ENOMEM;
	shell_printf(out, "   ID  %-*s CPU  STATE       CPU-TIME(s)  SWITCHES\n",
		     THREAD_NAME_MAX - 1, "NAME");
	for (size_t i = 0; i < s.n; i++)
		print_thread(out, &s.v[i]);
	shell_printf(out, "%zu threads", s.total);
	if (s.total > s.n)
		shell_printf(out, " (%zu created while listing, not shown)", s.total - s.n);
	shell_printf(out, "\n");
	kfree(s.v);
	return 0;
}
SHELL_COMMAND(threads, "threads", "", "list threads: id, name, CPU, state, CPU time, switches",
	      cmd_threads);
