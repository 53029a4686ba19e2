/* Choosing and enabling the hardware-virtualization backend. */
#include "hv/virt.h"
#include "kernel/log.h"
#include "kernel/smp.h"
#include "asm/percpu.h"

const struct virt_ops *virt;

static const struct virt_ops *candidate;
static int enable_err[MAX_CPUS];

static void enable_here(void *arg)
{
	enable_err[cpu_id()] = candidate->cpu_enable();
}

int virt_init(void)
{
	char what[512];
	int failed = 0;

	candidate = svm_probe();
	if (!candidate)
		candidate = vmx_probe();
	if (!candidate) {
		pr_warn("virt: this CPU has neither usable SVM nor usable VMX: VMs cannot run\n");
		return -ENODEV;
	}
	smp_call_on_all(enable_here, NULL);
	for (u32 cpu = 0; cpu < nr_cpus; cpu++) {
		if (percpu_table[cpu] && percpu_table[cpu]->online && enable_err[cpu]) {
			pr_err("virt: enabling %s failed on CPU %u (%d)\n", candidate->name, cpu,
			       enable_err[cpu]);
			failed++;
		}
	}
	if (failed) {
		pr_err("virt: %s unusable: VMs cannot run\n", candidate->name);
		return -ENODEV;
	}
	candidate->describe(what, sizeof(what));
	pr_info("virt: %s on %u CPUs: %s\n", candidate->name, smp_online_cpus(), what);
	virt = candidate;
	return 0;
}
