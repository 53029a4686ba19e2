/* Debug commands: deliberate faults (to check the fatal-error report). */
#include "mgmt/shell.h"
#include "kernel/debug.h"

static int cmd_crash(int argc, char **argv, struct shell_out *out)
{
	if (argc != 2)
		return SHELL_USAGE;
	shell_printf(out, "crashing on purpose: %s\n", argv[1]);
	if (debug_crash(argv[1]) == -EINVAL) {
		shell_printf(out, "crash: unknown kind '%s' (one of %s)\n", argv[1], DEBUG_CRASH_KINDS);
		return -EINVAL;
	}
	return 0;
}
SHELL_COMMAND(crash, "crash", DEBUG_CRASH_KINDS,
	      "stop the whole system with a deliberate fault (for testing)", cmd_crash);
