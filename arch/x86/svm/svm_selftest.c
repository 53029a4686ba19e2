/* SVM backend self-test: tiny guests driven through virt_ops, without the core's run loop. */
#include "arch/x86/svm/svm_selftest.h"
#include "arch/x86/svm/svm_internal.h"
#include "hv/vm.h"
#include "hv/vcpu.h"
#include "kernel/smp.h"
#include "kernel/thread.h"
#include "mm/kmalloc.h"
#include "asm/cpu.h"
#include "asm/msr.h"
#include "asm/percpu.h"
#include "asm/time.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "kernel/log.h"

#define BLOB(n) extern const u8 svm_st_##n##_start[], svm_st_##n##_end[]
BLOB(real);
BLOB(irq);
BLOB(tf);
BLOB(loop);
BLOB(spin);
BLOB(pm);
BLOB(lm);

#define ST_MEM (4ULL << 20)
#define ST_CODE 0x1000ULL
#define ST_STACK 0x8000ULL
#define ST_DATA 0x3000ULL
#define ST_PML4 0x10000ULL
#define ST_SMP_EXITS 20000
#define ST_MIGRATE_EVERY 500
#define ST_MAX_THREADS (2 * MAX_CPUS)
/* A guest register, for printing. */
#define R(v, r) ((unsigned long long)(v)->regs.gpr[VCPU_##r])

struct st {
	selftest_say_fn say;
	void *ctx;
	int failed;
	const struct virt_ops *ops;
	struct vm *vm;
	char why[120];     /* first failed expectation of the current check */
};

static void st_expect(struct st *t, bool ok, const char *fmt, ...) __printf(3, 4);
static void st_expect(struct st *t, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok || t->why[0])
		return;
	va_start(ap, fmt);
	kvsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
}

static void st_report(struct st *t, const char *name)
{
	char line[200];

	if (t->why[0])
		t->failed++;
	ksnprintf(line, sizeof(line), "%s: svm %s%s%s", t->why[0] ? "FAIL" : "PASS", name,
		  t->why[0] ? ": " : "", t->why);
	t->say(t->ctx, line);
	t->why[0] = 0;
}

/* One entry; host interrupts that exit the guest are taken here, as the core does. */
static int st_run(struct st *t, struct vcpu *v, struct vm_exit *e, u64 *extints)
{
	int err;

	for (;;) {
		irq_disable();
		err = t->ops->vcpu_run(v, e);
		irq_enable();
		if (err || e->reason != EXIT_EXTINT)
			return err;
		if (extints)
			(*extints)++;
	}
}

/* Run and expect a given exit; the result is in *e either way. */
static bool st_step(struct st *t, struct vcpu *v, struct vm_exit *e, enum exit_reason want)
{
	int err = st_run(t, v, e, NULL);

	st_expect(t, !err && e->reason == want, "rip %#llx: wanted exit reason %d, got %d (%s, err %d)",
		  (unsigned long long)v->regs.rip, want, e->reason, svm_exit_name(e->hw_code), err);
	return !err && e->reason == want;
}

/* Instructions that need the decoder on CPUs without NRIPS: check insn_len, step over. */
static void st_skip(struct st *t, struct vcpu *v, const struct vm_exit *e, u32 len)
{
	bool nrip = svm_has(SVM_FEAT_NRIPS) || e->reason == EXIT_IO;

	st_expect(t, e->insn_len == (nrip ? len : 0), "%s: insn_len %u, expected %u",
		  svm_exit_name(e->hw_code), e->insn_len, nrip ? len : 0);
	v->regs.rip += len;
}

static struct vcpu *st_vcpu_new(struct st *t, u32 id)
{
	struct vcpu *v = kzalloc(sizeof(*v));

	if (!v)
		return NULL;
	v->vm = t->vm;
	v->id = id;
	if (t->ops->vcpu_init(v)) {
		kfree(v);
		return NULL;
	}
	return v;
}

static void st_vcpu_free(struct st *t, struct vcpu *v)
{
	t->ops->vcpu_destroy(v);
	kfree(v);
}

static void st_load(struct st *t, const u8 *start, const u8 *end)
{
	gmem_write(&t->vm->mem, ST_CODE, start, (u64)(end - start));
}

/* Real mode at 0000:1000 with the stack at 0x8000. */
static void st_real_mode(struct st *t, struct vcpu *v)
{
	struct vcpu_sregs s;

	t->ops->get_sregs(v, &s);
	memset(&v->regs, 0, sizeof(v->regs));
	s.seg[VCPU_SEG_CS].selector = 0;
	s.seg[VCPU_SEG_CS].base = 0;
	s.cr0 = X86_CR0_ET;
	s.efer = 0;
	t->ops->set_sregs(v, &s);
	v->regs.rip = ST_CODE;
	v->regs.rflags = X86_RFLAGS_FIXED;
	v->regs.gpr[VCPU_RSP] = ST_STACK;
}

/* Flat segments: 32-bit (long = false) or 64-bit code. */
static void st_flat_mode(struct st *t, struct vcpu *v, bool lm)
{
	struct vcpu_sregs s;
	int i;

	t->ops->get_sregs(v, &s);
	for (i = 0; i < VCPU_SEG_NR; i++) {
		s.seg[i].selector = i == VCPU_SEG_CS ? 0x8 : 0x10;
		s.seg[i].base = 0;
		s.seg[i].limit = 0xffffffff;
		s.seg[i].attr = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(3) | SEG_ATTR_DB | SEG_ATTR_G;
	}
	s.seg[VCPU_SEG_CS].attr = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(0xb) | SEG_ATTR_G |
				  (lm ? SEG_ATTR_L : SEG_ATTR_DB);
	s.seg[VCPU_SEG_TR].attr = SEG_ATTR_P | SEG_ATTR_TYPE(0xb);
	s.seg[VCPU_SEG_TR].selector = 0;
	s.seg[VCPU_SEG_LDTR].attr = SEG_ATTR_P | SEG_ATTR_TYPE(2);
	s.seg[VCPU_SEG_LDTR].selector = 0;
	s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | (lm ? X86_CR0_PG | X86_CR0_WP : 0);
	s.cr4 = lm ? X86_CR4_PAE : 0;
	s.efer = lm ? EFER_LME | EFER_LMA : 0;
	s.cr3 = lm ? ST_PML4 : 0;
	t->ops->set_sregs(v, &s);
	memset(&v->regs, 0, sizeof(v->regs));
	v->regs.rip = ST_CODE;
	v->regs.rflags = X86_RFLAGS_FIXED;
	v->regs.gpr[VCPU_RSP] = ST_STACK;
}

/* CPUID, port I/O of each size, register round trips through VMCB and stub, HLT. */
static void st_case_real(struct st *t, struct vcpu *v)
{
	struct vm_exit e;

	st_load(t, svm_st_real_start, svm_st_real_end);
	st_real_mode(t, v);
	v->regs.gpr[VCPU_RBX] = 0x1111111111111111ULL;
	v->regs.gpr[VCPU_RDX] = 0x2222222222222222ULL;
	v->regs.gpr[VCPU_R12] = 0x1212121212121212ULL;
	if (!st_step(t, v, &e, EXIT_CPUID))
		return;
	st_expect(t, (u16)v->regs.gpr[VCPU_RAX] == 0x1234, "cpuid: ax %#llx", R(v, RAX));
	st_skip(t, v, &e, 2);
	if (!st_step(t, v, &e, EXIT_IO))
		return;
	st_expect(t, e.io.port == 0x80 && e.io.size == 1 && !e.io.in && !e.io.string,
		  "out 0x80: port %#x size %u in %d", e.io.port, e.io.size, e.io.in);
	st_expect(t, (u8)v->regs.gpr[VCPU_RAX] == 0x5a, "out 0x80: al %#llx", R(v, RAX));
	st_skip(t, v, &e, 2);
	if (!st_step(t, v, &e, EXIT_IO))
		return;
	st_expect(t, e.io.port == 0x3f8 && e.io.size == 1 && !e.io.in, "out dx: port %#x", e.io.port);
	st_skip(t, v, &e, 1);
	if (!st_step(t, v, &e, EXIT_IO))
		return;
	st_expect(t, e.io.port == 0x3f8 && e.io.size == 2 && e.io.in, "in ax, dx: size %u in %d",
		  e.io.size, e.io.in);
	v->regs.gpr[VCPU_RAX] = (v->regs.gpr[VCPU_RAX] & ~0xffffULL) | 0xabcd;
	st_skip(t, v, &e, 1);
	if (!st_step(t, v, &e, EXIT_IO))
		return;
	st_expect(t, e.io.size == 4 && (u16)v->regs.gpr[VCPU_RAX] == 0xabcd, "out eax: size %u eax %#llx",
		  e.io.size, R(v, RAX));
	st_skip(t, v, &e, 2);
	if (!st_step(t, v, &e, EXIT_HLT))
		return;
	st_skip(t, v, &e, 1);
	st_expect(t, (u16)v->regs.gpr[VCPU_RSI] == 0xbeef, "si %#llx", R(v, RSI));
	st_expect(t, v->regs.gpr[VCPU_RBX] == 0x1111111111111111ULL &&
		  v->regs.gpr[VCPU_R12] == 0x1212121212121212ULL &&
		  v->regs.gpr[VCPU_RDX] == 0x22222222222203f8ULL,
		  "registers not preserved: rbx %#llx rdx %#llx", R(v, RBX), R(v, RDX));
}

/* IF=0: no injection allowed; the window opens after STI; an injected vector runs its handler. */
static void st_case_irq(struct st *t, struct vcpu *v)
{
	static const u16 ivt_20[2] = { 0x1100, 0 };
	struct vcpu_event ev = { .pending = true, .type = EVENT_EXTINT, .vector = 0x20 };
	struct vm_exit e;

	st_load(t, svm_st_irq_start, svm_st_irq_end);
	gmem_write(&t->vm->mem, 0x20 * 4, ivt_20, sizeof(ivt_20));
	st_real_mode(t, v);
	if (!st_step(t, v, &e, EXIT_HYPERCALL))
		return;
	st_skip(t, v, &e, 3);
	st_expect(t, !t->ops->irq_allowed(v), "irq_allowed with IF=0");
	t->ops->request_irq_window(v, true);
	if (!st_step(t, v, &e, EXIT_IRQ_WINDOW))
		return;
	st_expect(t, t->ops->irq_allowed(v), "no irq_allowed in the window (rflags %#llx)",
		  (unsigned long long)v->regs.rflags);
	t->ops->inject_event(v, &ev);
	st_expect(t, !t->ops->irq_allowed(v), "irq_allowed with an event pending");
	t->ops->request_irq_window(v, false);
	if (!st_step(t, v, &e, EXIT_IO))
		return;
	st_expect(t, e.io.port == 0x81 && v->regs.rip == 0x1100, "handler: port %#x rip %#llx", e.io.port,
		  (unsigned long long)v->regs.rip);
	st_skip(t, v, &e, 2);
	if (!st_step(t, v, &e, EXIT_HYPERCALL))
		return;
	st_expect(t, v->regs.rip == ST_CODE + 6 && (v->regs.rflags & X86_RFLAGS_IF),
		  "after iret: rip %#llx", (unsigned long long)v->regs.rip);
}

static void st_case_triple_fault(struct st *t, struct vcpu *v)
{
	struct vm_exit e;

	st_load(t, svm_st_tf_start, svm_st_tf_end);
	st_real_mode(t, v);
	st_step(t, v, &e, EXIT_TRIPLE_FAULT);
}

/* Paging off: RAM writes land, unmapped GPAs give NPF, VMLOAD gives #UD. */
static void st_case_pm(struct st *t, struct vcpu *v)
{
	struct vm_exit e;
	u32 data = 0;

	st_load(t, svm_st_pm_start, svm_st_pm_end);
	st_flat_mode(t, v, false);
	if (!st_step(t, v, &e, EXIT_NPF))
		return;
	gmem_read(&t->vm->mem, ST_DATA, &data, sizeof(data));
	st_expect(t, data == 0xcafebabe, "RAM at 0x3000 holds %#x", data);
	st_expect(t, e.npf.gpa == 0xfee00030 && !e.npf.write && !e.npf.present,
		  "npf read: gpa %#llx w %d p %d", (unsigned long long)e.npf.gpa, e.npf.write,
		  e.npf.present);
	v->regs.rip += 5;
	v->regs.gpr[VCPU_RAX] = 0x600dd00d;
	if (!st_step(t, v, &e, EXIT_NPF))
		return;
	st_expect(t, e.npf.gpa == 0xfec00000 && e.npf.write, "npf write: gpa %#llx",
		  (unsigned long long)e.npf.gpa);
	st_expect(t, (u32)v->regs.gpr[VCPU_RAX] == 0x600dd00d, "eax %#llx", R(v, RAX));
	v->regs.rip += 5;
	v->regs.gpr[VCPU_RAX] = 0x5000; /* page-aligned: QEMU checks rAX before the intercept */
	if (!st_step(t, v, &e, EXIT_EXCEPTION))
		return;
	st_expect(t, e.exc.vector == 6 && e.hw_code == SVM_EXIT_VMLOAD, "vmload: vector %u", e.exc.vector);
	v->regs.rip += 3;
	st_step(t, v, &e, EXIT_HLT);
}

/* Identity map 0-4 MiB and 4 GiB (not RAM) with 2 MiB guest pages. */
static void st_build_guest_tables(struct st *t)
{
	u64 pml4[1] = { (ST_PML4 + 0x1000) | 7 };
	u64 pdpt[5] = { (ST_PML4 + 0x2000) | 7, 0, 0, 0, (ST_PML4 + 0x3000) | 7 };
	u64 pd_low[2] = { 0x87, (2ULL << 20) | 0x87 };
	u64 pd_4g[1] = { (4ULL << 30) | 0x87 };

	gmem_write(&t->vm->mem, ST_PML4, pml4, sizeof(pml4));
	gmem_write(&t->vm->mem, ST_PML4 + 0x1000, pdpt, sizeof(pdpt));
	gmem_write(&t->vm->mem, ST_PML4 + 0x2000, pd_low, sizeof(pd_low));
	gmem_write(&t->vm->mem, ST_PML4 + 0x3000, pd_4g, sizeof(pd_4g));
}

static void st_case_lm(struct st *t, struct vcpu *v)
{
	struct vm_exit e;
	int i;

	st_load(t, svm_st_lm_start, svm_st_lm_end);
	st_build_guest_tables(t);
	st_flat_mode(t, v, true);
	for (i = 0; i < VCPU_NR_GPRS; i++)
		if (i != VCPU_RSP)
			v->regs.gpr[i] = 0x0101010100000000ULL * (u64)(i + 1) + (u64)i;
	if (!st_step(t, v, &e, EXIT_HYPERCALL))
		return;
	for (i = 0; i < VCPU_NR_GPRS; i++) {
		u64 want = i == VCPU_RSP ? ST_STACK : 0x0101010100000000ULL * (u64)(i + 1) + (u64)i + 1;

		st_expect(t, v->regs.gpr[i] == want, "gpr %d = %#llx, expected %#llx", i,
			  (unsigned long long)v->regs.gpr[i], (unsigned long long)want);
	}
	st_skip(t, v, &e, 3);
	if (!st_step(t, v, &e, EXIT_NPF))
		return;
	st_expect(t, e.npf.gpa == (4ULL << 30) && e.npf.write, "npf: gpa %#llx",
		  (unsigned long long)e.npf.gpa);
	st_expect(t, (u32)v->regs.gpr[VCPU_RAX] == 0xcafebabe, "rax %#llx", R(v, RAX));
}

/* A guest spinning with IF=0 still loses the CPU to host interrupts (EXIT_EXTINT). */
static void st_case_spin(struct st *t, struct vcpu *v)
{
	struct vm_exit e;
	u64 extints = 0, end;

	st_load(t, svm_st_spin_start, svm_st_spin_end);
	st_real_mode(t, v);
	end = time_now_ns() + 20000000ULL;
	while (time_now_ns() < end && extints < 50) {
		thread_set_event_deadline(time_now_ns() + 1000000ULL);
		irq_disable();
		t->ops->vcpu_run(v, &e);
		irq_enable();
		if (e.reason == EXIT_EXTINT)
			extints++;
		else
			st_expect(t, false, "unexpected exit %s", svm_exit_name(e.hw_code));
	}
	thread_set_event_deadline(0);
	st_expect(t, extints > 0, "no EXIT_EXTINT in 20 ms");
}

/* One vCPU thread of the SMP check: count in the guest, hop to the next CPU now and then. */
struct st_worker {
	struct st *t;
	struct vcpu *v;
	u32 ncpus;
	u64 exits, extints, cpus_seen;
	char why[120];
	u32 done;             /* atomic */
};

static void st_worker_fail(struct st_worker *w, const char *what, u64 a, u64 b)
{
	if (!w->why[0])
		ksnprintf(w->why, sizeof(w->why), "vcpu %u: %s (%#llx, %#llx)", w->v->id, what,
			  (unsigned long long)a, (unsigned long long)b);
}

static void st_worker_main(void *arg)
{
	struct st_worker *w = arg;
	struct vcpu *v = w->v;
	struct vm_exit e;
	u64 i;

	for (i = 1; i <= ST_SMP_EXITS && !w->why[0]; i++) {
		if (st_run(w->t, v, &e, &w->extints)) {
			st_worker_fail(w, "entry failed", v->regs.rip, 0);
			break;
		}
		if (e.reason != EXIT_IO || e.io.port != 0x80)
			st_worker_fail(w, "unexpected exit", e.hw_code, v->regs.rip);
		else if ((u32)v->regs.gpr[VCPU_RAX] != (u32)i)
			st_worker_fail(w, "guest count out of step", v->regs.gpr[VCPU_RAX], i);
		v->regs.rip += e.insn_len;
		w->exits++;
		w->cpus_seen |= BIT(v->last_cpu);
		if (i % ST_MIGRATE_EVERY == 0)
			thread_migrate(current_thread(), (cpu_id() + 1 + v->id) % w->ncpus);
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
}

static u32 st_online_cpus(void)
{
	u32 n = 0;

	while (n < MAX_CPUS && cpu_data(n) && cpu_data(n)->online)
		n++;
	return n;
}

/* vCPUs for every worker, then their threads; returns how many threads run (all: nw). */
static u32 st_start_workers(struct st *t, struct st_worker *w, u32 nw, u32 ncpus)
{
	u32 i;

	st_load(t, svm_st_loop_start, svm_st_loop_end);
	for (i = 0; i < nw; i++) {
		w[i].t = t;
		w[i].ncpus = ncpus;
		w[i].v = st_vcpu_new(t, 10 + i);
		if (!w[i].v)
			return 0;
		st_real_mode(t, w[i].v);
	}
	for (i = 0; i < nw; i++)
		if (!thread_create("svm-selftest", st_worker_main, &w[i], i % ncpus))
			return i;
	return nw;
}

#define ST_SMP_NAME "vCPU threads migrating between CPUs keep their state (ASIDs, VMSAVE/VMLOAD)"

/* 2 vCPU threads per CPU, each migrating around: counts stay exact, ASIDs never mix. */
static void st_case_smp(struct st *t)
{
	u32 ncpus = st_online_cpus(), nw = MIN(2 * ncpus, (u32)ST_MAX_THREADS), i, started;
	struct st_worker *w = kzalloc(sizeof(*w) * ST_MAX_THREADS);
	u64 t0 = time_now_ns(), exits = 0, ns, seen = 0;
	char line[160];

	if (!w) {
		st_expect(t, false, "out of memory");
		st_report(t, ST_SMP_NAME);
		return;
	}
	started = st_start_workers(t, w, nw, ncpus);
	st_expect(t, started == nw, "only %u of %u vCPU threads started", started, nw);
	for (i = 0; i < started; i++) {
		while (!__atomic_load_n(&w[i].done, __ATOMIC_ACQUIRE))
			thread_sleep_ns(5000000ULL);
		exits += w[i].exits;
		seen |= w[i].cpus_seen;
		st_expect(t, !w[i].why[0], "%s", w[i].why);
	}
	for (i = 0; i < nw && w[i].v; i++)
		st_vcpu_free(t, w[i].v);
	ns = time_now_ns() - t0;
	st_expect(t, ncpus < 2 || (seen & (seen - 1)), "vCPUs never ran on more than one CPU");
	ksnprintf(line, sizeof(line),
		  "svm smp: %u vCPU threads on %u CPUs, %llu exits in %llu ms (%llu exits/s)",
		  started, ncpus, (unsigned long long)exits, (unsigned long long)(ns / 1000000),
		  (unsigned long long)(ns ? exits * 1000000000ULL / ns : 0));
	t->say(t->ctx, line);
	st_report(t, ST_SMP_NAME);
	kfree(w);
}

/* Exits per second of one vCPU doing nothing but port writes, for a fixed time. */
static void st_measure(struct st *t, struct vcpu *v)
{
	struct vm_exit e;
	u64 n = 0, t0, ns, tsc0;
	char line[160];

	st_load(t, svm_st_loop_start, svm_st_loop_end);
	st_real_mode(t, v);
	t0 = time_now_ns();
	tsc0 = rdtsc();
	do {
		if (st_run(t, v, &e, NULL) || e.reason != EXIT_IO)
			break;
		v->regs.rip += e.insn_len;
		n++;
	} while ((n & 1023) || time_now_ns() - t0 < 500000000ULL);
	ns = time_now_ns() - t0;
	/* Under QEMU -icount shift=0 the TSC counts instructions: a repeatable cost per exit. */
	ksnprintf(line, sizeof(line),
		  "svm rate: one vCPU, %llu I/O exits in %llu ms = %llu exits/s, %llu TSC ticks per exit",
		  (unsigned long long)n, (unsigned long long)(ns / 1000000),
		  (unsigned long long)(ns ? n * 1000000000ULL / ns : 0),
		  (unsigned long long)(n ? (rdtsc() - tsc0) / n : 0));
	t->say(t->ctx, line);
}

static void st_enable_one(void *arg)
{
	const struct virt_ops *ops = arg;

	if (ops->cpu_enable())
		pr_err("svm selftest: cpu_enable failed on CPU %u\n", cpu_id());
}

static int st_setup(struct st *t)
{
	char desc[160];

	t->ops = svm_probe();
	if (!t->ops) {
		t->say(t->ctx, "FAIL: svm: no usable SVM on this CPU");
		return -ENODEV;
	}
	t->ops->describe(desc, sizeof(desc));
	t->say(t->ctx, desc);
	smp_call_on_all(st_enable_one, (void *)t->ops);
	t->vm = kzalloc(sizeof(*t->vm));
	if (!t->vm)
		return -ENOMEM;
	gmem_init(&t->vm->mem);
	if (gmem_add_ram(&t->vm->mem, 0, ST_MEM, &gmem_host_allocator) || t->ops->vm_init(t->vm)) {
		gmem_destroy(&t->vm->mem, &gmem_host_allocator);
		kfree(t->vm);
		t->vm = NULL;
		t->say(t->ctx, "FAIL: svm: cannot build the test VM");
		return -ENOMEM;
	}
	return 0;
}

/* The single-vCPU checks, in order; each ends in one PASS/FAIL line. */
static const struct {
	const char *name;
	void (*fn)(struct st *t, struct vcpu *v);
	bool on_bochs;        /* see svm_selftest.h */
} st_cases[] = {
	{ "real mode: cpuid, out/in of 1/2/4 bytes, hlt, registers", st_case_real, true },
	{ "interrupt window and injected interrupt", st_case_irq, true },
	{ "triple fault -> shutdown exit", st_case_triple_fault, false },
	{ "protected mode without paging: RAM, NPF read/write, #UD for VMLOAD", st_case_pm, true },
	{ "64-bit mode: all 16 registers round trip, guest page walk, NPF above RAM", st_case_lm, true },
	{ "guest spinning with interrupts off is interrupted by the host", st_case_spin, false },
};

int svm_selftest(bool bochs, selftest_say_fn say, void *ctx)
{
	struct st t = { .say = say, .ctx = ctx };
	struct vcpu *v;
	char line[120];

	if (st_setup(&t))
		return 1;
	v = st_vcpu_new(&t, 0);
	if (v) {
		for (size_t i = 0; i < ARRAY_SIZE(st_cases); i++) {
			if (bochs && !st_cases[i].on_bochs) {
				ksnprintf(line, sizeof(line), "SKIP: svm %s", st_cases[i].name);
				say(ctx, line);
				continue;
			}
			st_cases[i].fn(&t, v);
			st_report(&t, st_cases[i].name);
		}
		st_measure(&t, v);
		st_vcpu_free(&t, v);
		st_case_smp(&t);
	} else {
		st_expect(&t, false, "vcpu_init failed");
		st_report(&t, "vcpu");
	}
	t.ops->vm_destroy(t.vm);
	gmem_destroy(&t.vm->mem, &gmem_host_allocator);
	kfree(t.vm);
	ksnprintf(line, sizeof(line), "svm selftest: %d failed", t.failed);
	say(ctx, line);
	return t.failed;
}
