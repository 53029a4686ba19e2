/* SVM ASID allocation: per-CPU generations, so a vCPU never runs on another's translations. */
#include "arch/x86/svm/svm_internal.h"

/*
 * TLB entries are tagged with the ASID (APM vol. 2 15.16). An ASID handed out
 * on a CPU is never given to anyone else on that CPU until the CPU starts a
 * new generation, which flushes every ASID on its next VMRUN. So an ASID
 * fresh from `next` holds no translations, and a vCPU that comes back to a
 * CPU (or finds its generation stale) simply takes a fresh one.
 */

void svm_asid_cpu_init(struct svm_asid_cpu *c, u32 nr_asids)
{
	c->generation = 1;
	c->max = nr_asids - 1;
	/* Exhausted on purpose: the first VMRUN on this CPU flushes whatever was there. */
	c->next = c->max + 1;
	c->handed_out = 0;
}

static u8 svm_asid_fresh(struct svm_asid_cpu *c, u32 cpu, struct svm_asid_vcpu *v)
{
	u8 tlb = SVM_TLB_CONTROL_NOTHING;

	if (c->next > c->max) {
		c->generation++;
		c->next = 1;
		tlb = SVM_TLB_CONTROL_FLUSH_ALL;
	}
	v->asid = c->next++;
	c->handed_out++;
	v->generation = c->generation;
	v->cpu = cpu;
	return tlb;
}

u8 svm_asid_prepare(struct svm_asid_cpu *c, u32 cpu, struct svm_asid_vcpu *v, bool flush_by_asid)
{
	bool flush = v->flush;

	v->flush = false;
	if (v->cpu != cpu || v->generation != c->generation)
		return svm_asid_fresh(c, cpu, v);
	if (!flush)
		return SVM_TLB_CONTROL_NOTHING;
	if (flush_by_asid)
		return SVM_TLB_CONTROL_FLUSH_ASID;
	return svm_asid_fresh(c, cpu, v);
}
