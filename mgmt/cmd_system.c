/* Shell commands about the hypervisor itself: version, uptime, log, reboot, power-off. */
#include "mgmt/shell.h"
#include "lib/cmdline.h"
#include "lib/string.h"
#include "asm/power.h"
#include "asm/time.h"
#include "kernel/log.h"
#include "kernel/version.h"

#define NS_PER_SEC 1000000000ULL
#define NS_PER_USEC 1000ULL

static int cmd_version(int argc, char **argv, struct shell_out *out)
{
	if (argc != 1)
		return SHELL_USAGE;
	shell_printf(out, "%s %s (build %s, gcc %s)\n", HV_NAME, HV_VERSION, HV_BUILD_ID,
		     __VERSION__);
	return 0;
}
SHELL_COMMAND(version, "version", "", "show the hypervisor version", cmd_version);

static int cmd_uptime(int argc, char **argv, struct shell_out *out)
{
	u64 ns = time_now_ns();
	u64 s = ns / NS_PER_SEC;

	if (argc != 1)
		return SHELL_USAGE;
	shell_printf(out, "up %llu.%06llu s (%llud %02llu:%02llu:%02llu)\n",
		     (unsigned long long)s, (unsigned long long)(ns % NS_PER_SEC / NS_PER_USEC),
		     (unsigned long long)(s / 86400), (unsigned long long)(s / 3600 % 24),
		     (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
	return 0;
}
SHELL_COMMAND(uptime, "uptime", "", "show the time since boot", cmd_uptime);

static int cmd_reboot(int argc, char **argv, struct shell_out *out)
{
	if (argc != 1)
		return SHELL_USAGE;
	shell_printf(out, "rebooting\n");
	machine_reboot();
}
SHELL_COMMAND(reboot, "reboot", "", "reset the machine", cmd_reboot);

static int cmd_poweroff(int argc, char **argv, struct shell_out *out)
{
	if (argc != 1)
		return SHELL_USAGE;
	shell_printf(out, "powering off\n");
	machine_poweroff();
}
SHELL_COMMAND(poweroff, "poweroff", "", "switch the machine off (ACPI S5)", cmd_poweroff);

static const char *const log_level_names[] = {
	"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
};

static void log_line_out(const char *line, size_t len, void *ctx)
{
	shell_write(ctx, line, len);
}

static int cmd_log_level(int argc, char **argv, struct shell_out *out)
{
	int old = log_get_console_level();
	u64 level;

	if (argc == 2) {
		shell_printf(out, "console log level: %d (%s)\n", old, log_level_names[old & 7]);
		return 0;
	}
	if (cmdline_parse_u64(argv[2], LOG_EMERG, LOG_DEBUG, &level))
		return SHELL_USAGE;
	log_set_console_level((int)level);
	shell_printf(out, "console log level: %d (%s), was %d (%s)\n", (int)level,
		     log_level_names[level], old, log_level_names[old & 7]);
	return 0;
}

static int cmd_log(int argc, char **argv, struct shell_out *out)
{
	if (argc == 1) {
		log_dump(log_line_out, out);
		return 0;
	}
	if (strcmp(argv[1], "level") == 0 && argc <= 3)
		return cmd_log_level(argc, argv, out);
	return SHELL_USAGE;
}
SHELL_COMMAND(log, "log", "[level [0-7]]",
	      "print the log buffer; show or set the console log level", cmd_log);
