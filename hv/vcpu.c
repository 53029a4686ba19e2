/* vCPU threads: the run loop, event injection, HLT, kicks, INIT/SIPI, pausing. */
#include "hv/vcpu.h"
#include "hv/exit_handlers.h"
#include "hv/vm.h"
#include "hv/dev/vlapic.h"
#include "kernel/log.h"
#include "kernel/smp.h"
#include "lib/string.h"
#include "asm/cpu.h"
#include "asm/time.h"

#define X86_VEC_DF 8
#define X86_VEC_PF 14

void vcpu_reset_state(struct vcpu_regs *r, struct vcpu_sregs *s, u16 cs_selector, u64 cs_base,
		      u64 ip)
{
	memset(r, 0, sizeof(*r));
	memset(s, 0, sizeof(*s));
	r->rip = ip;
	r->rflags = X86_RFLAGS_FIXED;
	for (int i = 0; i < VCPU_SEG_NR; i++) {
		s->seg[i].limit = 0xffff;
		s->seg[i].attr = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(3); /* data, r/w, accessed */
	}
	s->seg[VCPU_SEG_CS].selector = cs_selector;
	s->seg[VCPU_SEG_CS].base = cs_base;
	s->seg[VCPU_SEG_CS].attr = SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_TYPE(0xb); /* code, r/x, accessed */
	s->seg[VCPU_SEG_TR].attr = SEG_ATTR_P | SEG_ATTR_TYPE(0xb);  /* busy 32-bit TSS */
	s->seg[VCPU_SEG_LDTR].attr = SEG_ATTR_P | SEG_ATTR_TYPE(0x2); /* LDT */
	s->gdt_limit = s->idt_limit = 0xffff;
	s->cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
	s->dr7 = 0x400;
}

/* v->thread is set and cleared under the VM's state lock, so a kick never sees a freed thread. */
void vcpu_kick(struct vcpu *v)
{
	u64 f = spin_lock_irqsave(&v->vm->state_lock);
	struct thread *t = v->thread;

	if (t) {
		thread_wake(t);
		if (__atomic_load_n(&v->in_guest, __ATOMIC_SEQ_CST))
			smp_send_resched(READ_ONCE(t->cpu));
	}
	spin_unlock_irqrestore(&v->vm->state_lock, f);
}

void vcpu_request(struct vcpu *v, u32 req)
{
	__atomic_fetch_or(&v->requests, req, __ATOMIC_SEQ_CST);
	vcpu_kick(v);
}

void vcpu_send_init(struct vcpu *v) { vcpu_request(v, VCPU_REQ_INIT); }

void vcpu_send_sipi(struct vcpu *v, u8 vector)
{
	WRITE_ONCE(v->sipi_vector, vector);
	vcpu_request(v, VCPU_REQ_SIPI);
}

void vcpu_queue_exception(struct vcpu *v, u8 vector, bool has_error_code, u32 error_code)
{
	if (v->event.pending && v->event.type == EVENT_EXCEPTION) {
		if (v->event.vector == X86_VEC_DF) {
			vm_end(v->vm, VM_CRASHED, "vcpu %u: triple fault (exception %u while "
			       "delivering #DF)", v->id, vector);
			return;
		}
		vector = X86_VEC_DF; /* a second exception before the first was delivered */
		has_error_code = true;
		error_code = 0;
	}
	v->event = (struct vcpu_event){ .pending = true, .type = EVENT_EXCEPTION, .vector = vector,
					.has_error_code = has_error_code, .error_code = error_code };
}

void vcpu_queue_page_fault(struct vcpu *v, u32 error_code, u64 cr2)
{
	vcpu_queue_exception(v, X86_VEC_PF, true, error_code);
	if (v->event.vector == X86_VEC_PF)
		v->event.cr2 = cr2;
}

static u32 take_requests(struct vcpu *v, u32 mask)
{
	return __atomic_fetch_and(&v->requests, ~mask, __ATOMIC_SEQ_CST) & mask;
}

static void apply_state(struct vcpu *v, const struct vcpu_regs *r, const struct vcpu_sregs *s)
{
	v->regs = *r;
	virt->set_sregs(v, s);
	v->event.pending = false;
}

/* Power-on or INIT: vCPU 0 starts where the loader said, the others wait for SIPI. */
static void vcpu_power_on(struct vcpu *v)
{
	v->halted = false;
	if (v->lapic)
		vlapic_reset(v->lapic);
	v->wait_sipi = !v->has_boot_state;
	if (v->has_boot_state)
		apply_state(v, &v->boot_regs, &v->boot_sregs);
}

static void vcpu_start_at_sipi(struct vcpu *v, u8 vector)
{
	struct vcpu_regs r;
	struct vcpu_sregs s;

	vcpu_reset_state(&r, &s, (u16)(vector << 8), (u64)vector << 12, 0);
	apply_state(v, &r, &s);
	v->wait_sipi = false;
}

static void handle_init_sipi(struct vcpu *v)
{
	u32 req = take_requests(v, VCPU_REQ_INIT | VCPU_REQ_SIPI);

	if (req & VCPU_REQ_INIT) {
		if (v->lapic)
			vlapic_init_reset(v->lapic);
		v->wait_sipi = true;
		v->halted = false;
	}
	if ((req & VCPU_REQ_SIPI) && v->wait_sipi)
		vcpu_start_at_sipi(v, READ_ONCE(v->sipi_vector));
}

/* Choose what to deliver at this entry: a re-injection, an exception, an NMI, an interrupt. */
static void inject_events(struct vcpu *v)
{
	struct vcpu_event e;
	int vec;

	if (virt->take_interrupted_event(v, &e)) {
		virt->inject_event(v, &e);
		return;
	}
	if (!v->event.pending && take_requests(v, VCPU_REQ_NMI))
		v->event = (struct vcpu_event){ .pending = true, .type = EVENT_NMI, .vector = 2 };
	if (v->event.pending) {
		virt->inject_event(v, &v->event);
		v->event.pending = false;
		return;
	}
	vec = v->lapic ? vlapic_pending_vector(v->lapic) : -1;
	if (vec < 0) {
		virt->request_irq_window(v, false);
		return;
	}
	if (!virt->irq_allowed(v)) {
		virt->request_irq_window(v, true);
		return;
	}
	e = (struct vcpu_event){ .pending = true, .type = EVENT_EXTINT, .vector = (u8)vec };
	virt->inject_event(v, &e);
	vlapic_accept(v->lapic, (u8)vec);
	virt->request_irq_window(v, false);
	v->stats.injected_irqs++;
}

/* Record registers for the shell (on the vCPU's thread: the backend state is here). */
static void take_snapshot(struct vcpu *v)
{
	struct vcpu_snapshot *s = &v->snapshot;

	s->regs = v->regs;
	virt->get_sregs(v, &s->sregs);
	s->state = v->state;
	__atomic_fetch_add(&s->seq, 1, __ATOMIC_RELEASE);
	vm_vcpu_changed(v->vm);
}

static void serve_snapshot(struct vcpu *v)
{
	if (take_requests(v, VCPU_REQ_SNAPSHOT))
		take_snapshot(v);
}

/* Does something end the wait: INIT/SIPI always; for a HLT also an interrupt or NMI? */
static bool has_wakeup(struct vcpu *v)
{
	u32 req;

	serve_snapshot(v);
	req = READ_ONCE(v->requests);
	if (req & (VCPU_REQ_INIT | VCPU_REQ_SIPI))
		return true;
	if (v->wait_sipi)
		return false;
	if ((req & VCPU_REQ_NMI) || v->event.pending)
		return true;
	if (!v->lapic)
		return false;
	vlapic_update(v->lapic, time_now_ns());
	return (v->regs.rflags & X86_RFLAGS_IF) && vlapic_pending_vector(v->lapic) >= 0;
}

/*
 * The guest executed HLT (or waits for SIPI): sleep until an interrupt, the
 * LAPIC timer, or a request. v->halted stays set when only a pause or stop
 * request woke it, so a paused HLT is still a HLT after resume.
 */
static void vcpu_wait(struct vcpu *v)
{
	v->state = VCPU_HALTED;
	thread_set_event_deadline(0);
	for (;;) {
		take_requests(v, VCPU_REQ_EVENT);
		if (has_wakeup(v)) {
			v->halted = false;
			break;
		}
		if (READ_ONCE(v->requests) & (VCPU_REQ_STOP | VCPU_REQ_PAUSE))
			break;
		v->wake_deadline_ns = v->lapic ? vlapic_next_event_ns(v->lapic) : 0;
		thread_block_until(v->wake_deadline_ns);
	}
	v->wake_deadline_ns = 0;
	v->state = VCPU_RUNNING;
}

static void vcpu_park(struct vcpu *v)
{
	v->state = VCPU_PAUSED;
	thread_set_event_deadline(0);
	vm_vcpu_changed(v->vm);
	while ((READ_ONCE(v->requests) & (VCPU_REQ_PAUSE | VCPU_REQ_STOP)) == VCPU_REQ_PAUSE) {
		serve_snapshot(v);
		thread_block_until(0);
	}
	v->state = VCPU_RUNNING;
}

/* One entry into the guest and the handling of its exit. Returns false to end the thread. */
static bool vcpu_enter(struct vcpu *v)
{
	struct vm_exit exit;
	u64 t_entry, t_exit;
	int err, action;

	take_requests(v, VCPU_REQ_EVENT);
	if (v->lapic)
		vlapic_update(v->lapic, time_now_ns());
	inject_events(v);
	thread_set_event_deadline(v->lapic ? vlapic_next_event_ns(v->lapic) : 0);

	irq_disable();
	__atomic_store_n(&v->in_guest, true, __ATOMIC_SEQ_CST);
	if (READ_ONCE(v->requests)) {
		__atomic_store_n(&v->in_guest, false, __ATOMIC_SEQ_CST);
		irq_enable();
		return true;
	}
	t_entry = time_now_ns();
	v->last_cpu = v->thread->cpu;
	err = virt->vcpu_run(v, &exit);
	t_exit = time_now_ns();
	__atomic_store_n(&v->in_guest, false, __ATOMIC_SEQ_CST);
	irq_enable();

	v->stats.guest_ns += t_exit - t_entry;
	if (err && exit.reason != EXIT_INVALID_STATE) {
		vm_end(v->vm, VM_CRASHED, "vcpu %u: VM entry failed (%d)", v->id, err);
		return false;
	}
	action = hv_handle_exit(v, &exit);
	v->stats.exits[exit.reason]++;
	v->stats.exit_ns[exit.reason] += time_now_ns() - t_exit;
	v->stats.total_exits++;
	if (action == EXIT_ACTION_HALT)
		v->halted = true;
	return action != EXIT_ACTION_END;
}

static void vcpu_loop(struct vcpu *v)
{
	for (;;) {
		u32 req;

		serve_snapshot(v);
		req = READ_ONCE(v->requests);
		if (req & VCPU_REQ_STOP)
			return;
		if (req & VCPU_REQ_PAUSE) {
			vcpu_park(v);
			continue;
		}
		if (req & (VCPU_REQ_INIT | VCPU_REQ_SIPI))
			handle_init_sipi(v);
		if (v->wait_sipi || v->halted) {
			vcpu_wait(v);
			continue;
		}
		if (!vcpu_enter(v))
			return;
	}
}

void vcpu_thread_main(void *arg)
{
	struct vcpu *v = arg;
	int err;
	u64 f;

	err = thread_enable_fpu();
	if (!err)
		err = virt->vcpu_init(v);
	if (err) {
		vm_end(v->vm, VM_CRASHED, "vcpu %u: cannot set up the virtual CPU (%d)", v->id, err);
	} else {
		vcpu_power_on(v);
		v->state = VCPU_RUNNING;
		vcpu_loop(v);
		take_snapshot(v); /* what `regs` shows once the thread is gone */
		virt->vcpu_destroy(v);
	}
	thread_set_event_deadline(0);
	f = spin_lock_irqsave(&v->vm->state_lock);
	v->thread = NULL;
	v->state = VCPU_STOPPED;
	spin_unlock_irqrestore(&v->vm->state_lock, f);
	__atomic_fetch_sub(&v->vm->threads_alive, 1, __ATOMIC_SEQ_CST);
	vm_vcpu_changed(v->vm);
}

static bool snapshot_done(void *arg)
{
	struct vcpu *v = arg;

	return __atomic_load_n(&v->snapshot.seq, __ATOMIC_ACQUIRE) != v->snapshot_wait_seq ||
	       !READ_ONCE(v->thread);
}

int vcpu_get_snapshot(struct vcpu *v, struct vcpu_snapshot *out)
{
	v->snapshot_wait_seq = __atomic_load_n(&v->snapshot.seq, __ATOMIC_ACQUIRE);
	if (READ_ONCE(v->thread)) {
		vcpu_request(v, VCPU_REQ_SNAPSHOT);
		wait_event(&v->vm->wq, snapshot_done, v);
	}
	*out = v->snapshot;
	return out->seq ? 0 : -ENOENT;
}
