/* Shell command `mmu`: a VM's shadow MMU statistics, audit, budget and root cache. */
#include "mgmt/shell.h"
#include "hv/mmu/shadow.h"
#include "hv/virt.h"
#include "hv/vm.h"
#include "lib/cmdline.h"
#include "lib/string.h"

#define AUDIT_MAX_REPORTS 20
#define BUDGET_MIN 16
#define BUDGET_MAX (1u << 20)

static void print_stats(struct shell_out *out, struct vm *vm)
{
	struct shadow_stats st;
	u64 loads;

	shadow_mmu_get_stats(vm->shadow, &st);
	loads = st.root_hits + st.root_misses;
	shell_printf(out, "vm %s: shadow paging, root cache %s\n", vm->name,
		     shadow_mmu_cache_enabled(vm->shadow) ? "on" : "off");
	shell_printf(out, "pages:           %llu in use, budget %llu, peak %llu\n",
		     (unsigned long long)st.pages_in_use, (unsigned long long)st.budget,
		     (unsigned long long)st.pages_peak);
	shell_printf(out, "root_hits:       %llu\nroot_misses:     %llu\n",
		     (unsigned long long)st.root_hits, (unsigned long long)st.root_misses);
	shell_printf(out, "root_hit_rate:   %llu.%01llu%%\n",
		     (unsigned long long)(loads ? st.root_hits * 100 / loads : 0),
		     (unsigned long long)(loads ? st.root_hits * 1000 / loads % 10 : 0));
	shell_printf(out, "cr3_loads:       %llu\n", (unsigned long long)st.cr3_loads);
	shell_printf(out, "guest_faults:    %llu\nshadow_fills:    %llu\nmmio_faults:     %llu\n",
		     (unsigned long long)st.guest_faults, (unsigned long long)st.fills,
		     (unsigned long long)st.mmio_faults);
	shell_printf(out, "wp_emulations:   %llu\nwp0_emulations:  %llu\nentry_updates:   %llu\n",
		     (unsigned long long)st.wp_emulations, (unsigned long long)st.wp0_emulations,
		     (unsigned long long)st.pte_updates);
	shell_printf(out, "zaps:            %llu (write flooding %llu)\nreclaims:        %llu\n",
		     (unsigned long long)st.zaps, (unsigned long long)st.flood_zaps,
		     (unsigned long long)st.reclaims);
	shell_printf(out, "unsyncs:         %llu (out-of-sync pages are not used)\n",
		     (unsigned long long)st.unsyncs);
	shell_printf(out, "invlpg:          %llu\nremote_flushes:  %llu\nspurious:        %llu\n",
		     (unsigned long long)st.invlpgs, (unsigned long long)st.remote_flushes,
		     (unsigned long long)st.spurious);
	shell_printf(out, "rmap_longest:    %llu\n", (unsigned long long)st.rmap_max);
}

static void say_line(void *ctx, const char *line)
{
	shell_printf(ctx, "  %s\n", line);
}

static int mmu_audit(struct shell_out *out, struct vm *vm)
{
	u32 n = shadow_audit(vm->shadow, say_line, out, AUDIT_MAX_REPORTS);

	if (n)
		shell_printf(out, "audit: %u problem%s in the shadow tables of %s\n", n, n == 1 ? "" : "s",
			     vm->name);
	else
		shell_printf(out, "audit: clean (every shadow entry agrees with the guest tables)\n");
	return n ? -EIO : 0;
}

static int mmu_budget(struct shell_out *out, struct vm *vm, const char *arg)
{
	u64 pages;

	if (cmdline_parse_u64(arg, BUDGET_MIN, BUDGET_MAX, &pages)) {
		shell_printf(out, "mmu budget: pages must be %u .. %u\n", BUDGET_MIN, BUDGET_MAX);
		return -EINVAL;
	}
	shadow_mmu_configure(vm->shadow, (u32)pages, shadow_mmu_cache_enabled(vm->shadow));
	shell_printf(out, "%s: shadow page budget %llu\n", vm->name, (unsigned long long)pages);
	return 0;
}

static int mmu_cache(struct shell_out *out, struct vm *vm, const char *arg)
{
	struct shadow_stats st;
	bool on = !strcmp(arg, "on");

	if (!on && strcmp(arg, "off")) {
		shell_printf(out, "mmu cache: on or off\n");
		return -EINVAL;
	}
	shadow_mmu_get_stats(vm->shadow, &st);
	shadow_mmu_configure(vm->shadow, (u32)st.budget, on);
	shell_printf(out, "%s: root cache %s\n", vm->name, on ? "on" : "off");
	return 0;
}

/* mmu <vm> | mmu audit <vm> | mmu budget <vm> <pages> | mmu cache <vm> on|off */
static int cmd_mmu(int argc, char **argv, struct shell_out *out)
{
	const char *op = argc >= 3 ? argv[1] : "stats";
	const char *name = argc >= 3 ? argv[2] : argv[1];
	struct vm *vm;
	int ret = 0;

	if (argc < 2 || argc > 4 || (argc == 4) != (!strcmp(op, "budget") || !strcmp(op, "cache")) ||
	    (argc == 3 && strcmp(op, "audit")))
		return SHELL_USAGE;
	vm_admin_lock();
	vm = vm_find(name);
	if (!vm) {
		shell_printf(out, "no VM named '%s' (see 'vms')\n", name);
		ret = -ENOENT;
	} else if (!vm->shadow) {
		shell_printf(out, "vm %s: nested paging (%s): no shadow MMU\n", vm->name,
			     virt ? virt->name : "-");
		ret = argc > 2 ? -EINVAL : 0;
	} else if (!strcmp(op, "stats")) {
		print_stats(out, vm);
	} else if (!strcmp(op, "audit")) {
		ret = mmu_audit(out, vm);
	} else if (!strcmp(op, "budget")) {
		ret = mmu_budget(out, vm, argv[3]);
	} else {
		ret = mmu_cache(out, vm, argv[3]);
	}
	vm_admin_unlock();
	return ret;
}
SHELL_COMMAND(mmu, "mmu", "[audit|budget|cache] <vm> [pages|on|off]",
	      "shadow MMU of a VM: statistics; audit the shadow tables; set the page budget; "
	      "switch the root cache", cmd_mmu);
