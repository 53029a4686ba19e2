/* SVM vCPUs: VMCB set-up, the VMRUN path, and the per-vCPU virt_ops. */
#include "arch/x86/svm/svm_internal.h"
#include "arch/x86/svm/svm_shadow.h"
#include "hv/vcpu.h"
#include "hv/vm.h"
#include "mm/frame.h"
#include "asm/cpu.h"
#include "asm/page.h"
#include "asm/percpu.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "kernel/log.h"

#define X86_VEC_PF 14
#define X86_VEC_MC 18

/* svm_entry.asm: world switch with GIF clear. */
void svm_vmrun(u64 *gprs, u64 guest_vmcb_pa, u64 host_vmcb_pa);

/* The stub indexes v->regs.gpr by hardware register number. */
_Static_assert(offsetof(struct vcpu_regs, gpr) == 0, "svm_entry.asm: gpr[] first");
_Static_assert(VCPU_RCX == 1 && VCPU_RDX == 2 && VCPU_RBX == 3 && VCPU_RBP == 5 &&
	       VCPU_RSI == 6 && VCPU_RDI == 7 && VCPU_R8 == 8 && VCPU_R15 == 15,
	       "svm_entry.asm register offsets");
_Static_assert(sizeof(struct svm_vcpu) <= PAGE_SIZE, "svm_vcpu fits its page");

static inline struct svm_vcpu *to_svm(struct vcpu *v) { return v->arch; }

/*
 * The vCPU whose next entry is to fail on purpose (virt_ops.debug_corrupt),
 * or NULL. Only compared, never dereferenced; svm_vcpu_destroy withdraws it.
 */
static struct vcpu *svm_corrupt_target;

/*
 * Allocate the vCPU's VMCB (one page) and its private page, program the
 * intercepts and put the guest in the x86 reset state. The VM's nested
 * tables must exist (vm_init). vCPU thread or VM creator; may allocate.
 */
int svm_vcpu_init(struct vcpu *v)
{
	struct svm_vm *svm_vm = v->vm->arch;
	struct svm_vcpu *sv;
	paddr_t vmcb_pa, priv_pa;

	if (!svm_vm || (!svm_vm->npt.root_pa && !v->vm->shadow))
		return -EINVAL;
	vmcb_pa = frame_alloc_zeroed(0);
	priv_pa = frame_alloc_zeroed(0);
	if (!vmcb_pa || !priv_pa) {
		if (vmcb_pa)
			frame_free(vmcb_pa, 0);
		if (priv_pa)
			frame_free(priv_pa, 0);
		return -ENOMEM;
	}
	sv = phys_to_virt(priv_pa);
	sv->vmcb = phys_to_virt(vmcb_pa);
	sv->vmcb_pa = vmcb_pa;
	svm_vmcb_init(sv->vmcb, svm_iopm_pa, svm_msrpm_pa, svm_vm->npt.root_pa);
	v->arch = sv;
	if (v->vm->shadow && svm_shadow_vcpu_init(v, sv->vmcb)) {
		svm_vcpu_destroy(v);
		return -ENOMEM;
	}
	return 0;
}

void svm_vcpu_destroy(struct vcpu *v)
{
	struct svm_vcpu *sv = to_svm(v);
	struct vcpu *target = v;

	__atomic_compare_exchange_n(&svm_corrupt_target, &target, NULL, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_ACQUIRE);
	if (!sv)
		return;
	if (v->shadow)
		svm_shadow_vcpu_destroy(v);
	frame_free(sv->vmcb_pa, 0);
	frame_free(virt_to_phys(sv), 0);
	v->arch = NULL;
}

/*
 * The part that runs with GIF clear: nothing (interrupt, NMI, preemption) can
 * come between choosing the ASID for this CPU and the VMRUN, nor between the
 * #VMEXIT and reloading the host's GS base.
 */
static u32 svm_enter_exit(struct vcpu *v, struct svm_vcpu *sv)
{
	u32 cpu = cpu_id();
	struct svm_cpu *sc = &svm_cpus[cpu];
	struct vmcb *vmcb = sv->vmcb;
	u8 tlb;

	sc->stats.migrations += sv->asid.generation && sv->asid.cpu != cpu;
	tlb = svm_asid_prepare(&sc->asid, cpu, &sv->asid, svm_has(SVM_FEAT_FLUSH_BY_ASID));
	sc->stats.entries++;
	sc->stats.flush_all += tlb == SVM_TLB_CONTROL_FLUSH_ALL;
	sc->stats.flush_asid += tlb == SVM_TLB_CONTROL_FLUSH_ASID;
	vmcb->ctl.tlb_control = tlb;
	vmcb->ctl.asid = sv->asid.asid;
	vmcb->ctl.clean = 0;

	/* IF=1 only while GIF=0: a host interrupt now makes the guest exit, and waits for STGI. */
	irq_enable();
	svm_vmrun(v->regs.gpr, sv->vmcb_pa, sc->host_vmcb_pa);
	irq_disable();

	vmcb->ctl.tlb_control = SVM_TLB_CONTROL_NOTHING;
	return cpu;
}

/* INVLPG is intercepted (for counting); the guest's translation still has to go. */
static void svm_finish_invlpg(struct svm_vcpu *sv, const struct vm_exit *exit)
{
	if (svm_has(SVM_FEAT_DECODE_ASSISTS))
		svm_invlpga(exit->invlpg.gva, sv->asid.asid);
	else
		sv->asid.flush = true;
}

/* A requested failed entry: VMRUN refuses a guest whose EFER.SVME is clear (APM 15.5.1). */
static void svm_corrupt_now(struct vcpu *v, struct vmcb *vmcb)
{
	struct vcpu *target = v;

	if (__atomic_compare_exchange_n(&svm_corrupt_target, &target, NULL, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		vmcb->save.efer &= ~EFER_SVME;
}

/*
 * virt_ops.debug_corrupt: the vCPU's next VMRUN fails (VMEXIT_INVALID), which
 * the core reports as EXIT_INVALID_STATE and ends the VM crashed. Any thread,
 * VM admin lock held; -EBUSY while another request waits for its vCPU.
 */
int svm_debug_corrupt(struct vcpu *v)
{
	struct vcpu *none = NULL;

	if (!__atomic_compare_exchange_n(&svm_corrupt_target, &none, v, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return -EBUSY;
	vcpu_kick(v);
	return 0;
}

/* virt_ops.counters: sums of the per-CPU counters (racy reads, for display). */
void svm_counters(char *buf, size_t len)
{
	struct svm_cpu_stats sum = { 0 };
	u64 handed_out = 0;

	for (u32 i = 0; i < MAX_CPUS; i++) {
		const struct svm_cpu_stats *s = &svm_cpus[i].stats;

		sum.entries += READ_ONCE(s->entries);
		sum.migrations += READ_ONCE(s->migrations);
		handed_out += READ_ONCE(svm_cpus[i].asid.handed_out);
		sum.flush_all += READ_ONCE(s->flush_all);
		sum.flush_asid += READ_ONCE(s->flush_asid);
	}
	ksnprintf(buf, len, "entries %llu, vCPU migrations %llu, ASIDs handed out %llu, "
		  "full TLB flushes %llu, ASID flushes %llu", (unsigned long long)sum.entries,
		  (unsigned long long)sum.migrations, (unsigned long long)handed_out,
		  (unsigned long long)sum.flush_all, (unsigned long long)sum.flush_asid);
}

/*
 * When the core has moved RIP past the instruction that exited, that
 * instruction completed: an interrupt shadow it executed in (STI; HLT) is
 * over, or the next interrupt would wait for a needless interrupt window.
 */
static void svm_sync_shadow(struct vcpu *v, struct vmcb *vmcb)
{
	if (v->regs.rip != vmcb->save.rip)
		vmcb->ctl.int_state &= ~SVM_INT_STATE_SHADOW;
}

/*
 * Enter the guest once (virt_ops.vcpu_run; vCPU thread, host interrupts off
 * on entry and on return). CLGI; STI; VMRUN; CLI; STGI: with V_INTR_MASKING
 * the host's IF=1 makes a host interrupt exit the guest (INTR intercept), and
 * GIF=0 holds it pending; the core takes it when it enables interrupts again
 * (timer, IPI: the scheduler may switch threads there).
 */
int svm_vcpu_run(struct vcpu *v, struct vm_exit *exit)
{
	struct svm_vcpu *sv = to_svm(v);
	struct vmcb *vmcb = sv->vmcb;
	bool machine_check;
	u32 cpu;

	svm_sync_shadow(v, vmcb);
	vmcb->save.rax = v->regs.gpr[VCPU_RAX];
	vmcb->save.rsp = v->regs.gpr[VCPU_RSP];
	vmcb->save.rip = v->regs.rip;
	vmcb->save.rflags = v->regs.rflags;
	if (v->shadow)
		svm_shadow_before_run(v, sv);
	if (READ_ONCE(svm_corrupt_target) == v)
		svm_corrupt_now(v, vmcb);

	svm_clgi();
	if (!svm_cpus[cpu_id()].enabled) {
		svm_stgi();
		memset(exit, 0, sizeof(*exit));
		exit->reason = EXIT_INVALID_STATE;
		exit->invalid.what = "SVM is not enabled on this CPU";
		return -ENODEV;
	}
	cpu = svm_enter_exit(v, sv);

	sv->exitintinfo = vmcb->ctl.exitintinfo;
	vmcb->ctl.eventinj = 0; /* consumed by VMRUN: delivered, or now in EXITINTINFO */
	v->regs.gpr[VCPU_RAX] = vmcb->save.rax;
	v->regs.gpr[VCPU_RSP] = vmcb->save.rsp;
	v->regs.rip = vmcb->save.rip;
	v->regs.rflags = vmcb->save.rflags;
	svm_exit_decode(vmcb, v->regs.gpr[VCPU_RCX], svm_caps.features, exit);
	if (exit->reason == EXIT_INVLPG)
		svm_finish_invlpg(sv, exit);
	v->last_cpu = cpu;
	machine_check = exit->hw_code == SVM_EXIT_EXCP_BASE + X86_VEC_MC;
	svm_stgi();

	/* An intercepted #MC was the host's: let its handler see it (APM 15.12 note on #MC). */
	if (machine_check)
		__asm__ __volatile__("int $18");
	return exit->reason == EXIT_INVALID_STATE ? -EINVAL : 0;
}

void svm_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
	svm_vmcb_get_sregs(to_svm(v)->vmcb, s);
	if (v->shadow)
		svm_shadow_get_sregs(v, s);
}

void svm_set_sregs(struct vcpu *v, const struct vcpu_sregs *s)
{
	svm_vmcb_set_sregs(to_svm(v)->vmcb, s);
	if (v->shadow)
		svm_shadow_set_sregs(v, to_svm(v)->vmcb, s);
}

int svm_get_msr(struct vcpu *v, u32 index, u64 *value)
{
	if (v->shadow && index == MSR_EFER)
		return svm_shadow_get_efer(v, value);
	return svm_vmcb_get_msr(to_svm(v)->vmcb, index, value);
}

int svm_set_msr(struct vcpu *v, u32 index, u64 value)
{
	if (v->shadow && index == MSR_EFER)
		return svm_shadow_set_efer(v, to_svm(v)->vmcb, value);
	return svm_vmcb_set_msr(to_svm(v)->vmcb, index, value);
}

void svm_inject_event(struct vcpu *v, const struct vcpu_event *e)
{
	struct vmcb *vmcb = to_svm(v)->vmcb;

	/* SVM does not load CR2 when it delivers a #PF (APM 15.20): do it here. */
	if (e->type == EVENT_EXCEPTION && e->vector == X86_VEC_PF)
		vmcb->save.cr2 = e->cr2;
	vmcb->ctl.eventinj = svm_event_encode(e);
}

bool svm_irq_allowed(struct vcpu *v)
{
	struct vmcb *vmcb = to_svm(v)->vmcb;

	svm_sync_shadow(v, vmcb);
	return svm_vmcb_irq_allowed(vmcb);
}

void svm_request_irq_window(struct vcpu *v, bool on) { svm_vmcb_irq_window(to_svm(v)->vmcb, on); }

bool svm_take_interrupted_event(struct vcpu *v, struct vcpu_event *e)
{
	struct svm_vcpu *sv = to_svm(v);
	bool valid = svm_event_decode(sv->exitintinfo, e);

	sv->exitintinfo = 0;
	/* A #PF cut short keeps its CR2: intercepted #PF and NPF leave guest CR2 alone (APM 15.12). */
	if (valid && e->type == EVENT_EXCEPTION && e->vector == X86_VEC_PF)
		e->cr2 = sv->vmcb->save.cr2;
	return valid;
}

void svm_flush_guest_tlb(struct vcpu *v) { to_svm(v)->asid.flush = true; }

void svm_dump(struct vcpu *v, void (*say)(void *ctx, const char *line), void *ctx)
{
	struct svm_vcpu *sv = to_svm(v);
	char buf[96];

	ksnprintf(buf, sizeof(buf), "svm: vmcb=%#llx asid=%u on cpu %u gen %llu",
		  (unsigned long long)sv->vmcb_pa, sv->asid.asid, sv->asid.cpu,
		  (unsigned long long)sv->asid.generation);
	say(ctx, buf);
	svm_vmcb_dump(sv->vmcb, say, ctx);
}
