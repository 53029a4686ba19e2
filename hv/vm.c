/* Virtual machines: creation, lifecycle (start, pause, resume, reset, destroy), lookup. */
#include "hv/vm.h"
#include "hv/vm_internal.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "kernel/log.h"
#include "asm/time.h"
#include "mm/kmalloc.h"

#define LOW_RAM_MAX (3ULL << 30) /* guest RAM above this goes to 4 GiB: room for MMIO */

/* vms_lock protects the VM list and next_vm_id. */
static struct spinlock vms_lock = SPINLOCK_INIT;
static struct list_node vms = LIST_INIT(vms);
static u32 next_vm_id = 1;
static struct mutex admin_lock = { SPINLOCK_INIT, NULL, LIST_INIT(admin_lock.waiters) };

void vm_admin_lock(void) { mutex_lock(&admin_lock); }
void vm_admin_unlock(void) { mutex_unlock(&admin_lock); }

static const char *const state_names[] = {
	[VM_CREATED] = "created", [VM_RUNNING] = "running", [VM_PAUSED] = "paused",
	[VM_STOPPED] = "stopped", [VM_CRASHED] = "crashed",
};

const char *vm_state_name(enum vm_state s)
{
	return s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

void vm_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	kvsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static enum vm_state get_state(struct vm *vm)
{
	return READ_ONCE(vm->state);
}

static void set_state(struct vm *vm, enum vm_state s)
{
	u64 f = spin_lock_irqsave(&vm->state_lock);

	vm->state = s;
	spin_unlock_irqrestore(&vm->state_lock, f);
}

void vm_vcpu_changed(struct vm *vm) { wake_up_all(&vm->wq); }

void vm_end(struct vm *vm, enum vm_state final, const char *fmt, ...)
{
	char reason[VM_REASON_MAX];
	bool first = false;
	va_list ap;
	u64 f;

	va_start(ap, fmt);
	kvsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	f = spin_lock_irqsave(&vm->state_lock);
	if (vm->state == VM_RUNNING || vm->state == VM_PAUSED) {
		vm->state = final;
		strlcpy(vm->reason, reason, sizeof(vm->reason));
		vm->ended_ns = time_now_ns();
		first = true;
	}
	spin_unlock_irqrestore(&vm->state_lock, f);
	if (!first)
		return;
	printk(final == VM_CRASHED ? LOG_WARN : LOG_INFO, "vm %s: %s: %s\n", vm->name,
	       vm_state_name(final), reason);
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		vcpu_request(vm->vcpus[i], VCPU_REQ_STOP);
	wake_up_all(&vm->wq);
}

/* Wait-queue conditions. */
static bool all_threads_ended(void *arg)
{
	struct vm *vm = arg;

	return __atomic_load_n(&vm->threads_alive, __ATOMIC_SEQ_CST) == 0;
}

static bool all_parked(void *arg)
{
	struct vm *vm = arg;

	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		enum vcpu_state s = READ_ONCE(vm->vcpus[i]->state);

		if (s != VCPU_PAUSED && s != VCPU_STOPPED && READ_ONCE(vm->vcpus[i]->thread))
			return false;
	}
	return true;
}

/* Stop every vCPU thread and wait until all have ended. vm->lock held. */
static void stop_threads(struct vm *vm)
{
	for (u32 i = 0; i < vm->nr_vcpus; i++)
		vcpu_request(vm->vcpus[i], VCPU_REQ_STOP);
	wait_event(&vm->wq, all_threads_ended, vm);
}

static int start_threads(struct vm *vm, char *err, size_t errlen)
{
	u64 affinity = vm->cfg.cpu_affinity ? vm->cfg.cpu_affinity : ~0ULL;

	__atomic_store_n(&vm->threads_alive, vm->nr_vcpus, __ATOMIC_SEQ_CST);
	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		char name[THREAD_NAME_MAX];
		struct thread *t;
		u64 f;

		v->requests = 0;
		v->state = VCPU_IDLE;
		memset(&v->stats, 0, sizeof(v->stats));
		ksnprintf(name, sizeof(name), "%s/%u", vm->name, i);
		f = spin_lock_irqsave(&vm->state_lock);
		t = thread_create(name, vcpu_thread_main, v, CPU_ANY);
		v->thread = t;
		spin_unlock_irqrestore(&vm->state_lock, f);
		if (!t) {
			__atomic_fetch_sub(&vm->threads_alive, vm->nr_vcpus - i, __ATOMIC_SEQ_CST);
			vm_end(vm, VM_CRASHED, "out of memory for vCPU threads");
			vm_set_err(err, errlen, "out of memory for vCPU threads");
			return -ENOMEM;
		}
		t->owner_data = v;
		thread_set_affinity(t, affinity);
	}
	return 0;
}

int vm_start(struct vm *vm, char *err, size_t errlen)
{
	int ret = 0;

	mutex_lock(&vm->lock);
	switch (get_state(vm)) {
	case VM_CREATED:
		vm->reason[0] = '\0';
		vm->exit_status = -1;
		vm->started_ns = time_now_ns();
		vm->ended_ns = 0;
		set_state(vm, VM_RUNNING);
		ret = start_threads(vm, err, errlen);
		break;
	case VM_STOPPED:
	case VM_CRASHED:
		vm_set_err(err, errlen, "VM '%s' has %s: 'vm reset %s' restarts it", vm->name,
			vm_state_name(get_state(vm)), vm->name);
		ret = -EINVAL;
		break;
	default:
		vm_set_err(err, errlen, "VM '%s' is already %s", vm->name, vm_state_name(get_state(vm)));
		ret = -EINVAL;
	}
	mutex_unlock(&vm->lock);
	return ret;
}

int vm_pause(struct vm *vm, char *err, size_t errlen)
{
	int ret = 0;

	mutex_lock(&vm->lock);
	if (get_state(vm) != VM_RUNNING) {
		vm_set_err(err, errlen, "VM '%s' is %s, not running", vm->name, vm_state_name(get_state(vm)));
		ret = -EINVAL;
	} else {
		set_state(vm, VM_PAUSED);
		for (u32 i = 0; i < vm->nr_vcpus; i++)
			vcpu_request(vm->vcpus[i], VCPU_REQ_PAUSE);
		wait_event(&vm->wq, all_parked, vm);
	}
	mutex_unlock(&vm->lock);
	return ret;
}

int vm_resume(struct vm *vm, char *err, size_t errlen)
{
	int ret = 0;

	mutex_lock(&vm->lock);
	if (get_state(vm) != VM_PAUSED) {
		vm_set_err(err, errlen, "VM '%s' is %s, not paused", vm->name, vm_state_name(get_state(vm)));
		ret = -EINVAL;
	} else {
		set_state(vm, VM_RUNNING);
		for (u32 i = 0; i < vm->nr_vcpus; i++) {
			__atomic_fetch_and(&vm->vcpus[i]->requests, ~VCPU_REQ_PAUSE, __ATOMIC_SEQ_CST);
			vcpu_kick(vm->vcpus[i]);
		}
	}
	mutex_unlock(&vm->lock);
	return ret;
}

int vm_reset(struct vm *vm, char *err, size_t errlen)
{
	enum vm_state was;
	int ret;

	mutex_lock(&vm->lock);
	was = get_state(vm);
	stop_threads(vm);
	set_state(vm, VM_CREATED);
	ret = vm_reload(vm, err, errlen);
	if (!ret && was != VM_CREATED) {
		vm->reason[0] = '\0';
		vm->exit_status = -1;
		vm->started_ns = time_now_ns();
		vm->ended_ns = 0;
		set_state(vm, VM_RUNNING);
		ret = start_threads(vm, err, errlen);
	} else if (ret) {
		set_state(vm, VM_CRASHED);
		strlcpy(vm->reason, err ? err : "reset failed", sizeof(vm->reason));
	}
	mutex_unlock(&vm->lock);
	return ret;
}

int vm_destroy(struct vm *vm, char *err, size_t errlen)
{
	u64 f;

	mutex_lock(&vm->lock);
	stop_threads(vm);
	f = spin_lock_irqsave(&vms_lock);
	list_del(&vm->node);
	spin_unlock_irqrestore(&vms_lock, f);
	mutex_unlock(&vm->lock);
	pr_info("vm %s: destroyed\n", vm->name);
	vm_free(vm);
	return 0;
}

static bool name_taken(const char *name)
{
	struct list_node *pos;

	list_for_each(pos, &vms)
		if (!strcmp(list_entry(pos, struct vm, node)->name, name))
			return true;
	return false;
}

/* Add to the list under a fresh id, unless the name is taken. */
static int vm_publish(struct vm *vm)
{
	u64 f = spin_lock_irqsave(&vms_lock);

	if (name_taken(vm->name)) {
		spin_unlock_irqrestore(&vms_lock, f);
		return -EEXIST;
	}
	vm->id = next_vm_id++;
	list_add_tail(&vms, &vm->node);
	spin_unlock_irqrestore(&vms_lock, f);
	return 0;
}

static int add_ram(struct vm *vm)
{
	u64 low = MIN(vm->cfg.memory, LOW_RAM_MAX);
	int err = gmem_add_ram(&vm->mem, 0, low, &gmem_host_allocator);

	if (!err && vm->cfg.memory > low)
		err = gmem_add_ram(&vm->mem, 1ULL << 32, vm->cfg.memory - low, &gmem_host_allocator);
	return err;
}

int vm_create(const struct vm_config *cfg, struct vm **out, char *err, size_t errlen)
{
	struct vm *vm;
	int ret;

	if (!virt) {
		vm_set_err(err, errlen, "this CPU offers no usable hardware virtualization");
		return -ENODEV;
	}
	if (cfg->vcpus < 1 || cfg->vcpus > VM_MAX_VCPUS || cfg->memory < GMEM_CHUNK_SIZE) {
		vm_set_err(err, errlen, "bad configuration for '%s'", cfg->name);
		return -EINVAL;
	}
	vm = kzalloc(sizeof(*vm));
	if (!vm) {
		vm_set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vm->cfg = *cfg;
	strlcpy(vm->name, cfg->name, sizeof(vm->name));
	mutex_init(&vm->lock);
	spin_lock_init(&vm->state_lock);
	wait_queue_init(&vm->wq);
	list_init(&vm->node);
	io_bus_init(&vm->pio);
	io_bus_init(&vm->mmio);
	gmem_init(&vm->mem);
	vm->exit_status = -1;
	vm->state = VM_CREATED;
	vm->created_ns = time_now_ns();

	ret = add_ram(vm);
	if (ret) {
		vm_set_err(err, errlen, "not enough host memory for %llu MiB of guest RAM",
			(unsigned long long)(cfg->memory >> 20));
		goto fail;
	}
	ret = vm_build(vm, err, errlen);
	if (ret)
		goto fail;
	ret = vm_publish(vm);
	if (ret) {
		vm_set_err(err, errlen, "a VM named '%s' exists already", vm->name);
		goto fail;
	}
	pr_info("vm %s: created (id %u, %u vCPUs, %llu MiB)\n", vm->name, vm->id, vm->nr_vcpus,
		(unsigned long long)(cfg->memory >> 20));
	*out = vm;
	return 0;
fail:
	vm_free(vm);
	return ret;
}

struct vm *vm_find(const char *name_or_id)
{
	struct vm *found = NULL;
	struct list_node *pos;
	u64 id = 0;
	bool numeric = name_or_id[0] != '\0';
	u64 f;

	for (const char *p = name_or_id; *p; p++) {
		if (*p < '0' || *p > '9' || id > 0xffffffffULL) {
			numeric = false;
			break;
		}
		id = id * 10 + (u64)(*p - '0');
	}
	f = spin_lock_irqsave(&vms_lock);
	list_for_each(pos, &vms) {
		struct vm *vm = list_entry(pos, struct vm, node);

		if (!strcmp(vm->name, name_or_id) || (numeric && vm->id == id)) {
			found = vm;
			break;
		}
	}
	spin_unlock_irqrestore(&vms_lock, f);
	return found;
}

void vm_for_each(void (*fn)(struct vm *vm, void *ctx), void *ctx)
{
	struct list_node *pos;
	u64 f = spin_lock_irqsave(&vms_lock);

	list_for_each(pos, &vms)
		fn(list_entry(pos, struct vm, node), ctx);
	spin_unlock_irqrestore(&vms_lock, f);
}
