/* Shell commands for VMs: vms, vm <op>, vcpus, exits, regs, console. */
#include "mgmt/shell.h"
#include "hv/vm.h"
#include "hv/dev/vuart.h"
#include "lib/cmdline.h"
#include "lib/string.h"
#include "asm/time.h"

#define NS_PER_MS 1000000ULL
#define CONSOLE_ESCAPE 0x1d /* Ctrl-] */
#define CONSOLE_POLL_NS (20 * NS_PER_MS)

static u64 vm_uptime_ns(const struct vm *vm)
{
	if (!vm->started_ns)
		return 0;
	return (vm->ended_ns ? vm->ended_ns : time_now_ns()) - vm->started_ns;
}

static void print_vm_row(struct vm *vm, void *ctx)
{
	struct shell_out *out = ctx;
	u64 ms = vm_uptime_ns(vm) / NS_PER_MS;

	shell_printf(out, "%-3u %-16s %-8s %-5u %7llu %7llu.%03llu", vm->id, vm->name,
		     vm_state_name(vm->state), vm->nr_vcpus, (unsigned long long)(vm->mem.total >> 20),
		     (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
	if (vm->reason[0])
		shell_printf(out, "  %s", vm->reason);
	shell_printf(out, "\n");
}

static int cmd_vms(int argc, char **argv, struct shell_out *out)
{
	if (argc != 1)
		return SHELL_USAGE;
	if (!virt)
		shell_printf(out, "(no hardware virtualization: VMs cannot run)\n");
	shell_printf(out, "ID  NAME             STATE    VCPUS MEM(MiB) UPTIME(s)\n");
	vm_admin_lock();
	vm_for_each(print_vm_row, out);
	vm_admin_unlock();
	return 0;
}
SHELL_COMMAND(vms, "vms", "", "list VMs: id, name, state, vCPUs, memory, uptime, why it ended",
	      cmd_vms);

/* Look a VM up under the admin lock; prints the error itself. */
static struct vm *find_vm(struct shell_out *out, const char *name)
{
	struct vm *vm = vm_find(name);

	if (!vm)
		shell_printf(out, "no VM named '%s' (see 'vms')\n", name);
	return vm;
}

static int vm_create_cmd(struct shell_out *out, const char *name)
{
	const struct vm_config *cfg = vm_boot_config_find(name);
	char err[160];
	struct vm *vm;

	if (!cfg) {
		shell_printf(out, "vm create: no entry [vm %s] in the configuration module\n", name);
		return -ENOENT;
	}
	if (vm_create(cfg, &vm, err, sizeof(err))) {
		shell_printf(out, "vm create: %s\n", err);
		return -EINVAL;
	}
	shell_printf(out, "created VM %u '%s'\n", vm->id, vm->name);
	return 0;
}

static int cmd_vm(int argc, char **argv, struct shell_out *out)
{
	static const struct {
		const char *op;
		int (*fn)(struct vm *vm, char *err, size_t errlen);
		const char *done;
	} ops[] = {
		{ "start", vm_start, "started" }, { "pause", vm_pause, "paused" },
		{ "resume", vm_resume, "resumed" }, { "reset", vm_reset, "reset" },
		{ "destroy", vm_destroy, "destroyed" },
	};
	char err[160] = "";
	int ret = -ENOENT;

	if (argc != 3)
		return SHELL_USAGE;
	vm_admin_lock();
	if (!strcmp(argv[1], "create")) {
		ret = vm_create_cmd(out, argv[2]);
		vm_admin_unlock();
		return ret;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		struct vm *vm;

		if (strcmp(argv[1], ops[i].op))
			continue;
		vm = find_vm(out, argv[2]);
		if (vm) {
			ret = ops[i].fn(vm, err, sizeof(err));
			if (ret)
				shell_printf(out, "vm %s: %s\n", argv[1], err);
			else
				shell_printf(out, "VM '%s' %s\n", argv[2], ops[i].done);
		}
		vm_admin_unlock();
		return ret ? -ENOENT : 0;
	}
	vm_admin_unlock();
	shell_printf(out, "vm: unknown operation '%s'\n", argv[1]);
	return SHELL_USAGE;
}
SHELL_COMMAND(vm, "vm", "start|pause|resume|reset|destroy|create <vm>",
	      "change a VM's state, or create one from the configuration module", cmd_vm);

static const char *vcpu_state_name(enum vcpu_state s)
{
	static const char *const names[] = { "idle", "running", "halted", "paused", "stopped" };

	return s < ARRAY_SIZE(names) ? names[s] : "?";
}

static int cmd_vcpus(int argc, char **argv, struct shell_out *out)
{
	struct vm *vm;

	if (argc != 2)
		return SHELL_USAGE;
	vm_admin_lock();
	vm = find_vm(out, argv[1]);
	if (vm) {
		shell_printf(out, "VCPU STATE    CPU      EXITS  GUEST(ms)  INJECTED\n");
		for (u32 i = 0; i < vm->nr_vcpus; i++) {
			struct vcpu *v = vm->vcpus[i];

			shell_printf(out, "%-4u %-8s %-3u %10llu %10llu %9llu\n", v->id,
				     vcpu_state_name(READ_ONCE(v->state)), READ_ONCE(v->last_cpu),
				     (unsigned long long)READ_ONCE(v->stats.total_exits),
				     (unsigned long long)(READ_ONCE(v->stats.guest_ns) / NS_PER_MS),
				     (unsigned long long)READ_ONCE(v->stats.injected_irqs));
		}
	}
	vm_admin_unlock();
	return vm ? 0 : -ENOENT;
}
SHELL_COMMAND(vcpus, "vcpus", "<vm>",
	      "list a VM's vCPUs: state, host CPU, exits, time in the guest, interrupts injected",
	      cmd_vcpus);

static int cmd_exits(int argc, char **argv, struct shell_out *out)
{
	struct vm *vm;

	if (argc != 2)
		return SHELL_USAGE;
	vm_admin_lock();
	vm = find_vm(out, argv[1]);
	if (vm) {
		u64 ms = vm_uptime_ns(vm) / NS_PER_MS;

		shell_printf(out, "REASON              COUNT     PER-SEC   HANDLING(us)\n");
		for (int r = 1; r < EXIT_NR; r++) {
			u64 count = 0, ns = 0;

			for (u32 i = 0; i < vm->nr_vcpus; i++) {
				count += READ_ONCE(vm->vcpus[i]->stats.exits[r]);
				ns += READ_ONCE(vm->vcpus[i]->stats.exit_ns[r]);
			}
			if (!count)
				continue;
			shell_printf(out, "%-16s %10llu %10llu %14llu\n", exit_reason_name(r),
				     (unsigned long long)count,
				     (unsigned long long)(ms ? count * 1000 / ms : 0),
				     (unsigned long long)(ns / 1000));
		}
	}
	vm_admin_unlock();
	return vm ? 0 : -ENOENT;
}
SHELL_COMMAND(exits, "exits", "<vm>",
	      "VM exits by reason: counts, rate per second of uptime, time spent handling",
	      cmd_exits);

static void print_segment(struct shell_out *out, const char *name, const struct vcpu_segment *s)
{
	shell_printf(out, "%-4s sel=%04x base=%016llx limit=%08x attr=%04x\n", name, s->selector,
		     (unsigned long long)s->base, s->limit, s->attr);
}

static void print_regs(struct shell_out *out, const struct vcpu_snapshot *s)
{
	static const char *const gpr[VCPU_NR_GPRS] = { "RAX", "RCX", "RDX", "RBX", "RSP", "RBP",
						       "RSI", "RDI", "R8", "R9", "R10", "R11",
						       "R12", "R13", "R14", "R15" };
	static const char *const seg[VCPU_SEG_NR] = { "ES", "CS", "SS", "DS", "FS", "GS", "TR", "LDTR" };
	const struct vcpu_sregs *sr = &s->sregs;

	for (int i = 0; i < VCPU_NR_GPRS; i++)
		shell_printf(out, "%-3s=%016llx%s", gpr[i], (unsigned long long)s->regs.gpr[i],
			     (i % 4 == 3) ? "\n" : " ");
	shell_printf(out, "RIP=%016llx RFLAGS=%016llx\n", (unsigned long long)s->regs.rip,
		     (unsigned long long)s->regs.rflags);
	shell_printf(out, "CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx\n",
		     (unsigned long long)sr->cr0, (unsigned long long)sr->cr2,
		     (unsigned long long)sr->cr3, (unsigned long long)sr->cr4);
	shell_printf(out, "EFER=%016llx GDT=%016llx/%04x IDT=%016llx/%04x\n",
		     (unsigned long long)sr->efer, (unsigned long long)sr->gdt_base, sr->gdt_limit,
		     (unsigned long long)sr->idt_base, sr->idt_limit);
	for (int i = 0; i < VCPU_SEG_NR; i++)
		print_segment(out, seg[i], &sr->seg[i]);
}

static int cmd_regs(int argc, char **argv, struct shell_out *out)
{
	struct vcpu_snapshot snap;
	struct vm *vm;
	u64 id;
	int ret = -ENOENT;

	if (argc != 3)
		return SHELL_USAGE;
	vm_admin_lock();
	vm = find_vm(out, argv[1]);
	if (vm && cmdline_parse_u64(argv[2], 0, vm->nr_vcpus - 1, &id)) {
		shell_printf(out, "regs: VM '%s' has vCPUs 0-%u\n", vm->name, vm->nr_vcpus - 1);
	} else if (vm) {
		ret = vcpu_get_snapshot(vm->vcpus[id], &snap);
		if (ret)
			shell_printf(out, "regs: vCPU %llu of '%s' has not run yet\n",
				     (unsigned long long)id, vm->name);
		else
			print_regs(out, &snap);
	}
	vm_admin_unlock();
	return ret ? -ENOENT : 0;
}
SHELL_COMMAND(regs, "regs", "<vm> <vcpu>", "show a vCPU's registers", cmd_regs);

/* Print console output after *pos; returns false if the VM went away. */
static void console_flush(struct shell_out *out, struct vuart *u, u64 *pos)
{
	char buf[256];
	bool lost = false;
	size_t n;

	while ((n = vuart_console_read(u, pos, buf, sizeof(buf), &lost)) > 0) {
		if (lost)
			shell_printf(out, "\n[console: older output was lost]\n");
		lost = false;
		shell_write(out, buf, n);
	}
}

static int cmd_console(int argc, char **argv, struct shell_out *out)
{
	struct vm *vm;
	u64 pos = 0;

	if (argc != 2)
		return SHELL_USAGE;
	vm_admin_lock();
	vm = find_vm(out, argv[1]);
	if (!vm) {
		vm_admin_unlock();
		return -ENOENT;
	}
	console_flush(out, vm->uart, &pos);
	if (!out->poll_byte) {
		vm_admin_unlock();
		return 0;
	}
	shell_printf(out, "\n[attached to '%s': Ctrl-] detaches]\n", vm->name);
	for (;;) {
		int c = out->poll_byte(out->ctx);

		if (c == CONSOLE_ESCAPE)
			break;
		if (c >= 0) {
			u8 b = (u8)c;

			vuart_console_input(vm->uart, &b, 1);
			continue;
		}
		console_flush(out, vm->uart, &pos);
		thread_sleep_ns(CONSOLE_POLL_NS);
	}
	shell_printf(out, "\n[detached from '%s']\n", vm->name);
	vm_admin_unlock();
	return 0;
}
SHELL_COMMAND(console, "console", "<vm>",
	      "show a VM's serial output and type into it (Ctrl-] detaches)", cmd_console);
