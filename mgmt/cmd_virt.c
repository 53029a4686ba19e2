/* Shell command `virt`: the virtualization backend (SVM or VMX), its counters and debug operations. */
#include "mgmt/shell.h"
#include "hv/vm.h"
#include "hv/virt.h"
#include "lib/cmdline.h"
#include "lib/string.h"
#include "kernel/smp.h"
#include "kernel/thread.h"
#include "asm/percpu.h"
#include "asm/time.h"

#define NS_PER_MS 1000000ULL
#define SHUFFLE_MAX_MS 60000
#define SHUFFLE_PERIOD_NS (2 * NS_PER_MS)
#define VIRT_LINE 512

static int virt_show(struct shell_out *out)
{
	char buf[VIRT_LINE];

	if (!virt) {
		shell_printf(out, "no hardware virtualization backend: VMs cannot run "
			     "(the boot log says why)\n");
		return 0;
	}
	virt->describe(buf, sizeof(buf));
	shell_printf(out, "backend: %s on %u CPUs\n", virt->name, smp_online_cpus());
	shell_printf(out, "offers: %s\n", buf);
	if (virt->counters) {
		virt->counters(buf, sizeof(buf));
		shell_printf(out, "counters: %s\n", buf);
	}
	return 0;
}

/* A VM by name or id, and optionally one of its vCPUs; prints the error itself. Admin lock held. */
static struct vcpu *find_vcpu(struct shell_out *out, int argc, char **argv)
{
	struct vm *vm = vm_find(argv[2]);
	u64 id = 0;

	if (!vm) {
		shell_printf(out, "no VM named '%s' (see 'vms')\n", argv[2]);
		return NULL;
	}
	if (argc > 3 && cmdline_parse_u64(argv[3], 0, vm->nr_vcpus - 1, &id)) {
		shell_printf(out, "VM '%s' has vCPUs 0 to %u\n", vm->name, vm->nr_vcpus - 1);
		return NULL;
	}
	return vm->vcpus[id];
}

/* Make one vCPU's next VM entry fail on purpose (virt_ops.debug_corrupt). */
static int virt_corrupt(struct shell_out *out, int argc, char **argv)
{
	struct vcpu *v;
	int err = -ENOENT;

	if (!virt->debug_corrupt) {
		shell_printf(out, "virt corrupt: the %s backend has no such debug operation\n",
			     virt->name);
		return -ENOSYS;
	}
	vm_admin_lock();
	v = find_vcpu(out, argc, argv);
	if (v) {
		err = virt->debug_corrupt(v);
		if (err == -EBUSY)
			shell_printf(out, "virt corrupt: another request is still waiting for its "
				     "vCPU to enter the guest\n");
		else if (err)
			shell_printf(out, "virt corrupt: failed (%d)\n", err);
		else
			shell_printf(out, "VM '%s' vcpu %u: its next VM entry will fail on purpose\n",
				     v->vm->name, v->id);
	}
	vm_admin_unlock();
	return err ? -EINVAL : 0;
}

/* The next online CPU after `cpu`. */
static u32 next_cpu(u32 cpu)
{
	for (u32 i = 1; i <= nr_cpus; i++) {
		u32 c = (cpu + i) % nr_cpus;

		if (percpu_table[c] && READ_ONCE(percpu_table[c]->online))
			return c;
	}
	return cpu;
}

/*
 * Ask each vCPU thread of vm that has entered the guest on the CPU it was last sent
 * to (so every move is one the vCPU lives through) to move to the next CPU.
 * Returns how many were asked.
 */
static u32 shuffle_once(struct vm *vm)
{
	u32 asked = 0;

	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		u64 f = spin_lock_irqsave(&vm->state_lock);
		struct thread *t = v->thread; /* set and cleared under the state lock */
		u32 cpu = t ? READ_ONCE(t->cpu) : CPU_ANY;

		if (t && READ_ONCE(v->last_cpu) == cpu && !thread_migrate(t, next_cpu(cpu)))
			asked++;
		spin_unlock_irqrestore(&vm->state_lock, f);
	}
	return asked;
}

/* Move a VM's vCPU threads between CPUs every 2 ms for a while (the scheduler migrating them). */
static int virt_shuffle(struct shell_out *out, int argc, char **argv)
{
	char before[VIRT_LINE] = "", after[VIRT_LINE] = "";
	u64 ms, end, asked = 0;
	struct vm *vm;

	if (argc != 4 || cmdline_parse_u64(argv[3], 1, SHUFFLE_MAX_MS, &ms)) {
		shell_printf(out, "virt shuffle <vm> <milliseconds, 1 to %u>\n", SHUFFLE_MAX_MS);
		return -EINVAL;
	}
	vm_admin_lock();
	vm = vm_find(argv[2]);
	if (!vm) {
		vm_admin_unlock();
		shell_printf(out, "no VM named '%s' (see 'vms')\n", argv[2]);
		return -ENOENT;
	}
	if (virt->counters)
		virt->counters(before, sizeof(before));
	end = time_now_ns() + ms * NS_PER_MS;
	while (time_now_ns() < end) {
		asked += shuffle_once(vm);
		thread_sleep_ns(SHUFFLE_PERIOD_NS);
	}
	if (virt->counters)
		virt->counters(after, sizeof(after));
	shell_printf(out, "VM '%s': %llu vCPU moves asked for in %llu ms\n", vm->name,
		     (unsigned long long)asked, (unsigned long long)ms);
	vm_admin_unlock();
	if (before[0]) {
		shell_printf(out, "before: %s\n", before);
		shell_printf(out, "after:  %s\n", after);
	}
	return 0;
}

static int cmd_virt(int argc, char **argv, struct shell_out *out)
{
	if (argc == 1)
		return virt_show(out);
	if (!virt) {
		shell_printf(out, "virt: no hardware virtualization backend\n");
		return -ENODEV;
	}
	if (!strcmp(argv[1], "corrupt") && (argc == 3 || argc == 4))
		return virt_corrupt(out, argc, argv);
	if (!strcmp(argv[1], "shuffle"))
		return virt_shuffle(out, argc, argv);
	return SHELL_USAGE;
}
SHELL_COMMAND(virt, "virt", "[corrupt <vm> [vcpu] | shuffle <vm> <ms>]",
	      "show the virtualization backend (SVM/VMX) and its counters; debug: make a vCPU's "
	      "next VM entry fail, or move a VM's vCPUs between CPUs for <ms>", cmd_virt);
