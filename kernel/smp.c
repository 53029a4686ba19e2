/* SMP: AP start-up (INIT-SIPI-SIPI), cross-CPU function calls, TLB shootdown. */
#include "kernel/smp.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "lib/list.h"
#include "lib/string.h"
#include "asm/acpi.h"
#include "asm/cpu.h"
#include "asm/gdt.h"
#include "asm/irq_vectors.h"
#include "asm/lapic.h"
#include "asm/msr.h"
#include "asm/page.h"
#include "asm/percpu.h"
#include "asm/spinlock.h"
#include "asm/time.h"
#include "asm/trap.h"
#include "mm/frame.h"
#include "mm/kmalloc.h"
#include "mm/paging.h"

/* Physical layout of the start-up area (inside the first 1 MiB, kept from the allocator). */
#define TRAMPOLINE_PHYS 0x8000UL
#define TRAMP_PML4_PHYS 0x9000UL
#define TRAMP_PDPT_PHYS 0xa000UL
#define TRAMP_PD_PHYS 0xb000UL
#define AP_START_TIMEOUT_MS 1000

struct tramp_params {
	u64 cr3_low;
	u64 efer;
	u64 stack;
	u64 entry;
	u64 arg;
} __packed;

extern const u8 trampoline_start[], trampoline_end[], trampoline_params[];

/* One queued cross-CPU call. `pending` counts CPUs still to run it. */
struct smp_call {
	struct list_node node;
	smp_call_fn fn;
	void *arg;
	u32 *pending;   /* shared by all targets of one request */
	bool free_after; /* allocated for a non-waiting request */
};

/* Per-CPU call queue; lock protects the list. */
struct call_queue {
	struct spinlock lock;
	struct list_node calls;
};

static struct call_queue call_queues[MAX_CPUS];
static u32 online_count = 1;
static void (*ap_main)(void);

u32 smp_online_cpus(void) { return READ_ONCE(online_count); }

static void serve_calls(void)
{
	struct call_queue *q = &call_queues[cpu_id()];

	for (;;) {
		struct smp_call *c = NULL;
		u64 f = spin_lock_irqsave(&q->lock);

		if (!list_empty(&q->calls)) {
			c = list_first_entry(&q->calls, struct smp_call, node);
			list_del(&c->node);
		}
		spin_unlock_irqrestore(&q->lock, f);
		if (!c)
			return;
		c->fn(c->arg);
		if (c->free_after)
			kfree(c);
		else
			__atomic_fetch_sub(c->pending, 1, __ATOMIC_RELEASE);
	}
}

static void ipi_call_handler(struct trap_frame *tf)
{
	lapic_eoi();
	serve_calls();
}

static bool cpu_is_online(u32 cpu)
{
	return cpu < MAX_CPUS && percpu_table[cpu] && READ_ONCE(percpu_table[cpu]->online);
}

static void queue_call(u32 cpu, struct smp_call *c)
{
	struct call_queue *q = &call_queues[cpu];
	u64 f = spin_lock_irqsave(&q->lock);

	list_add_tail(&q->calls, &c->node);
	spin_unlock_irqrestore(&q->lock, f);
	lapic_send_ipi(percpu_table[cpu]->apic_id, VEC_IPI_CALL, APIC_DM_FIXED);
}

/* Wait for *pending to drop to zero, serving our own queue meanwhile (no deadlock). */
static void wait_pending(u32 *pending)
{
	while (__atomic_load_n(pending, __ATOMIC_ACQUIRE) != 0) {
		serve_calls();
		cpu_relax();
	}
}

int smp_call_on_cpu(u32 cpu, smp_call_fn fn, void *arg, bool wait)
{
	if (!cpu_is_online(cpu))
		return -EINVAL;
	if (cpu == cpu_id()) {
		u64 f = irq_save();

		fn(arg);
		irq_restore(f);
		return 0;
	}
	if (wait) {
		u32 pending = 1;
		struct smp_call c = { .fn = fn, .arg = arg, .pending = &pending };

		queue_call(cpu, &c);
		wait_pending(&pending);
		return 0;
	}
	struct smp_call *c = kzalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->arg = arg;
	c->free_after = true;
	queue_call(cpu, c);
	return 0;
}

void smp_call_on_all(smp_call_fn fn, void *arg)
{
	struct smp_call calls[MAX_CPUS];
	u32 self = cpu_id(), pending = 0;
	u64 f;

	for (u32 cpu = 0; cpu < nr_cpus; cpu++) {
		if (cpu == self || !cpu_is_online(cpu))
			continue;
		calls[cpu] = (struct smp_call){ .fn = fn, .arg = arg, .pending = &pending };
		__atomic_fetch_add(&pending, 1, __ATOMIC_RELAXED);
		queue_call(cpu, &calls[cpu]);
	}
	f = irq_save();
	fn(arg);
	irq_restore(f);
	wait_pending(&pending);
}

struct flush_range {
	u64 va, size;
};

#define TLB_FLUSH_PAGES_MAX 64

static void flush_local(void *arg)
{
	const struct flush_range *r = arg;

	if (r->size == 0 || r->size > TLB_FLUSH_PAGES_MAX * PAGE_SIZE) {
		flush_tlb_local();
		return;
	}
	for (u64 a = ALIGN_DOWN(r->va, PAGE_SIZE); a < r->va + r->size; a += PAGE_SIZE)
		invlpg((const void *)a);
}

void tlb_shootdown(u64 va, u64 size)
{
	struct flush_range r = { va, size };

	smp_call_on_all(flush_local, &r);
}

void smp_send_resched(u32 cpu)
{
	if (cpu_is_online(cpu) && cpu != cpu_id())
		lapic_send_ipi(percpu_table[cpu]->apic_id, VEC_IPI_RESCHED, APIC_DM_FIXED);
}

/* First C code of an AP, on its start-up stack with the trampoline's page table. */
static void __noreturn ap_entry(void *arg)
{
	struct percpu *p = arg;

	paging_load_kernel();
	cpu_setup(p, p->cpu, p->ist_stacks[0], p->ist_stacks[1], p->ist_stacks[2]);
	lapic_init_ap();
	WRITE_ONCE(p->online, true);
	__atomic_fetch_add(&online_count, 1, __ATOMIC_RELEASE);
	ap_main();
	panic("ap_main returned on CPU %u", p->cpu);
}

/* The start-up page table: identity map of the first 2 MiB + the kernel's upper half. */
static void build_trampoline_tables(void)
{
	u64 *pml4 = phys_to_virt(TRAMP_PML4_PHYS);
	u64 *pdpt = phys_to_virt(TRAMP_PDPT_PHYS);
	u64 *pd = phys_to_virt(TRAMP_PD_PHYS);
	const u64 *kpml4 = phys_to_virt(paging_kernel_cr3() & PAGE_MASK);

	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	memset(pd, 0, PAGE_SIZE);
	pd[0] = 0 | 0x83;                   /* 2 MiB page, present, writable */
	pdpt[0] = TRAMP_PD_PHYS | 0x3;
	pml4[0] = TRAMP_PDPT_PHYS | 0x3;
	for (int i = 256; i < 512; i++)
		pml4[i] = kpml4[i];
}

static struct percpu *alloc_percpu(u32 cpu, u32 apic_id)
{
	struct percpu *p = kzalloc(sizeof(*p));

	if (!p)
		return NULL;
	p->cpu = cpu;
	p->apic_id = apic_id;
	for (int i = 0; i < 3; i++) {
		p->ist_stacks[i] = kmalloc(IST_STACK_SIZE);
		if (!p->ist_stacks[i])
			return NULL;
	}
	return p;
}

/* Offset of a label inside the trampoline blob (labels of one assembly section). */
static size_t trampoline_offset(const u8 *label)
{
	return (size_t)((uintptr_t)label - (uintptr_t)trampoline_start);
}

static bool start_ap(u32 cpu, u32 apic_id)
{
	struct tramp_params *tp = phys_to_virt(TRAMPOLINE_PHYS + trampoline_offset(trampoline_params));
	struct percpu *p = alloc_percpu(cpu, apic_id);
	u8 *stack = kmalloc(KERNEL_STACK_SIZE);

	if (!p || !stack) {
		pr_err("smp: out of memory starting CPU %u\n", cpu);
		return false;
	}
	percpu_table[cpu] = p;
	tp->cr3_low = TRAMP_PML4_PHYS;
	tp->efer = rdmsr(MSR_EFER) & (EFER_LME | EFER_NXE);
	tp->stack = (u64)stack + KERNEL_STACK_SIZE;
	tp->entry = (u64)ap_entry;
	tp->arg = (u64)p;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	lapic_send_ipi(apic_id, 0, APIC_DM_INIT);
	mdelay(10);
	for (int sipi = 0; sipi < 2 && !READ_ONCE(p->online); sipi++) {
		lapic_send_ipi(apic_id, TRAMPOLINE_PHYS >> 12, APIC_DM_STARTUP);
		udelay(200);
	}
	for (u64 waited = 0; !READ_ONCE(p->online) && waited < AP_START_TIMEOUT_MS; waited++)
		mdelay(1);
	if (!READ_ONCE(p->online)) {
		pr_err("smp: CPU %u (APIC %u) did not start\n", cpu, apic_id);
		return false;
	}
	return true;
}

u32 smp_boot_aps(void (*ap_main_fn)(void))
{
	struct percpu *bsp = this_cpu();
	u32 cpu = 1;

	for (u32 i = 0; i < MAX_CPUS; i++) {
		spin_lock_init(&call_queues[i].lock);
		list_init(&call_queues[i].calls);
	}
	trap_set_handler(VEC_IPI_CALL, ipi_call_handler);
	bsp->apic_id = lapic_id();
	bsp->online = true;
	ap_main = ap_main_fn;
	memcpy(phys_to_virt(TRAMPOLINE_PHYS), trampoline_start, trampoline_offset(trampoline_end));
	build_trampoline_tables();

	for (u32 i = 0; i < acpi.nr_cpus && cpu < MAX_CPUS; i++) {
		const struct acpi_cpu *c = &acpi.cpus[i];

		if (!c->enabled || c->apic_id == bsp->apic_id)
			continue;
		nr_cpus = cpu + 1;
		if (start_ap(cpu, c->apic_id))
			cpu++;
		else
			nr_cpus = cpu;
	}
	pr_info("smp: %u of %u CPUs online (%s)\n", smp_online_cpus(), acpi.nr_cpus,
		lapic_is_x2apic() ? "x2APIC" : "xAPIC");
	return smp_online_cpus();
}
