/* SVM ASID allocation checked against a model of per-CPU, ASID-tagged TLBs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "arch/x86/svm/svm_internal.h"

static void test_first_entry_flushes_all(void **state)
{
	struct svm_asid_cpu c;
	struct svm_asid_vcpu a = { 0 }, b = { 0 };

	(void)state;
	svm_asid_cpu_init(&c, 16);
	/* Whatever the TLB held before the hypervisor is flushed by the very first VMRUN. */
	assert_int_equal(svm_asid_prepare(&c, 0, &a, false), SVM_TLB_CONTROL_FLUSH_ALL);
	assert_int_equal(a.asid, 1);
	assert_int_equal(svm_asid_prepare(&c, 0, &b, false), SVM_TLB_CONTROL_NOTHING);
	assert_int_equal(b.asid, 2);
	/* Coming back to the same CPU keeps the ASID and its translations. */
	assert_int_equal(svm_asid_prepare(&c, 0, &a, false), SVM_TLB_CONTROL_NOTHING);
	assert_int_equal(a.asid, 1);
	assert_int_equal(svm_asid_prepare(&c, 0, &b, false), SVM_TLB_CONTROL_NOTHING);
	assert_int_equal(b.asid, 2);
	assert_int_equal(c.handed_out, 2);
}

static void test_exhaustion_starts_generation(void **state)
{
	struct svm_asid_cpu c;
	struct svm_asid_vcpu v[4] = { 0 };
	u64 gen;

	(void)state;
	svm_asid_cpu_init(&c, 4); /* ASIDs 1..3 */
	assert_int_equal(svm_asid_prepare(&c, 0, &v[0], false), SVM_TLB_CONTROL_FLUSH_ALL);
	assert_int_equal(svm_asid_prepare(&c, 0, &v[1], false), SVM_TLB_CONTROL_NOTHING);
	assert_int_equal(svm_asid_prepare(&c, 0, &v[2], false), SVM_TLB_CONTROL_NOTHING);
	assert_int_equal(v[2].asid, 3);
	gen = c.generation;
	/* The fourth vCPU finds none left: new generation, everything flushed, ASID 1 again. */
	assert_int_equal(svm_asid_prepare(&c, 0, &v[3], false), SVM_TLB_CONTROL_FLUSH_ALL);
	assert_int_equal(v[3].asid, 1);
	assert_int_equal(c.generation, gen + 1);
	/* v[0] also held ASID 1, in the old generation: it must not share v[3]'s. */
	assert_int_equal(svm_asid_prepare(&c, 0, &v[0], false), SVM_TLB_CONTROL_NOTHING);
	assert_int_equal(v[0].asid, 2);
	assert_int_equal(svm_asid_prepare(&c, 0, &v[3], false), SVM_TLB_CONTROL_NOTHING);
	assert_int_equal(v[3].asid, 1);
	assert_int_equal(c.handed_out, 5);
}

static void test_migration_gets_fresh_asid(void **state)
{
	struct svm_asid_cpu c0, c1;
	struct svm_asid_vcpu a = { 0 }, b = { 0 };
	u32 old;

	(void)state;
	svm_asid_cpu_init(&c0, 16);
	svm_asid_cpu_init(&c1, 16);
	svm_asid_prepare(&c0, 0, &a, false);
	old = a.asid;
	svm_asid_prepare(&c1, 1, &a, false);
	assert_int_equal(a.cpu, 1);
	/* Back on CPU 0: its old ASID there may hold translations made stale on CPU 1. */
	svm_asid_prepare(&c0, 0, &b, false);
	assert_int_equal(svm_asid_prepare(&c0, 0, &a, false), SVM_TLB_CONTROL_NOTHING);
	assert_int_not_equal(a.asid, old);
	assert_int_not_equal(a.asid, b.asid);
}

static void test_flush_request(void **state)
{
	struct svm_asid_cpu c;
	struct svm_asid_vcpu a = { 0 };
	u32 old;

	(void)state;
	svm_asid_cpu_init(&c, 16);
	svm_asid_prepare(&c, 0, &a, true);
	old = a.asid;
	a.flush = true;
	assert_int_equal(svm_asid_prepare(&c, 0, &a, true), SVM_TLB_CONTROL_FLUSH_ASID);
	assert_int_equal(a.asid, old);
	assert_false(a.flush);
	/* Without flush-by-ASID (QEMU TCG) a fresh ASID does the same job. */
	a.flush = true;
	assert_int_equal(svm_asid_prepare(&c, 0, &a, false), SVM_TLB_CONTROL_NOTHING);
	assert_int_not_equal(a.asid, old);
	assert_int_equal(svm_asid_prepare(&c, 0, &a, false), SVM_TLB_CONTROL_NOTHING);
}

/*
 * Random schedules of vCPUs over CPUs, against a model TLB: each (cpu, asid)
 * holds translations tagged (vcpu, epoch). A vCPU's epoch moves on whenever
 * its old translations become unusable: it asked for a flush, or it ran on
 * another CPU (where the guest may have changed and flushed its page tables
 * with native INVLPG/MOV CR3, which only reach that CPU's TLB). At every
 * VMRUN the TLB under the chosen ASID must hold nothing but this vCPU's
 * current-epoch translations.
 */
#define M_CPUS 3
#define M_VCPUS 7
#define M_ASIDS 5
#define M_STEPS 200000

struct tag {
	int vcpu;
	unsigned epoch;
};

struct model {
	struct tag tlb[M_CPUS][M_ASIDS][M_VCPUS * 4];
	int n[M_CPUS][M_ASIDS];
	unsigned epoch[M_VCPUS];
	int last_cpu[M_VCPUS];
};

static void model_run(struct model *m, int cpu, int vcpu, u32 asid, u8 tlb)
{
	int i, a;

	assert_true(asid >= 1 && asid < M_ASIDS);
	if (tlb == SVM_TLB_CONTROL_FLUSH_ALL)
		for (a = 0; a < M_ASIDS; a++)
			m->n[cpu][a] = 0;
	else if (tlb == SVM_TLB_CONTROL_FLUSH_ASID)
		m->n[cpu][asid] = 0;
	for (i = 0; i < m->n[cpu][asid]; i++) {
		assert_int_equal(m->tlb[cpu][asid][i].vcpu, vcpu);
		assert_int_equal(m->tlb[cpu][asid][i].epoch, m->epoch[vcpu]);
	}
	if (m->n[cpu][asid] == 0) {
		m->tlb[cpu][asid][0] = (struct tag){ vcpu, m->epoch[vcpu] };
		m->n[cpu][asid] = 1;
	}
}

static void random_schedule(bool flush_by_asid, unsigned seed)
{
	static struct model m;
	struct svm_asid_cpu c[M_CPUS];
	struct svm_asid_vcpu v[M_VCPUS];
	unsigned long flushes_all = 0, fresh = 0, handed_out = 0;
	int i;

	srand(seed);
	memset(&m, 0, sizeof(m));
	memset(v, 0, sizeof(v));
	for (i = 0; i < M_CPUS; i++)
		svm_asid_cpu_init(&c[i], M_ASIDS);
	for (i = 0; i < M_VCPUS; i++)
		m.last_cpu[i] = -1;
	for (i = 0; i < M_STEPS; i++) {
		int vc = rand() % M_VCPUS, cpu = rand() % 8 ? m.last_cpu[vc] : rand() % M_CPUS;
		struct svm_asid_vcpu old;
		u8 tlb;

		if (cpu < 0)
			cpu = rand() % M_CPUS;
		if (rand() % 16 == 0) {
			v[vc].flush = true;
			m.epoch[vc]++;
		}
		if (m.last_cpu[vc] != cpu)
			m.epoch[vc]++;
		m.last_cpu[vc] = cpu;
		old = v[vc];
		tlb = svm_asid_prepare(&c[cpu], cpu, &v[vc], flush_by_asid);
		fresh += old.cpu != v[vc].cpu || old.asid != v[vc].asid ||
			 old.generation != v[vc].generation;
		if (!flush_by_asid)
			assert_int_not_equal(tlb, SVM_TLB_CONTROL_FLUSH_ASID);
		flushes_all += tlb == SVM_TLB_CONTROL_FLUSH_ALL;
		model_run(&m, cpu, vc, v[vc].asid, tlb);
	}
	for (i = 0; i < M_CPUS; i++)
		handed_out += c[i].handed_out;
	assert_int_equal(handed_out, fresh);
	/* 7 vCPUs over 4 usable ASIDs: generations must turn over, but not at every entry. */
	assert_true(flushes_all > M_CPUS);
	assert_true(flushes_all < M_STEPS / 4);
}

static void test_random_schedules(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 5; seed++) {
		random_schedule(false, seed);
		random_schedule(true, seed);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_entry_flushes_all),
		cmocka_unit_test(test_exhaustion_starts_generation),
		cmocka_unit_test(test_migration_gets_fresh_asid),
		cmocka_unit_test(test_flush_request),
		cmocka_unit_test(test_random_schedules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
