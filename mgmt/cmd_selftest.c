/* The `selftest` command: built-in checks that print PASS/FAIL lines. */
#include "mgmt/shell.h"
#include "kernel/selftest.h"
#include "arch/x86/svm/svm_selftest.h"
#include "lib/string.h"

static void say_line(void *ctx, const char *line)
{
	shell_printf(ctx, "%s\n", line);
}

static int cmd_selftest(int argc, char **argv, struct shell_out *out)
{
	if (argc != 2)
		return SHELL_USAGE;
	if (!strcmp(argv[1], "sched")) {
		selftest_sched(say_line, out);
		return 0;
	}
	if (!strcmp(argv[1], "svm") || !strcmp(argv[1], "svm-bochs")) {
		svm_selftest(!strcmp(argv[1], "svm-bochs"), say_line, out);
		return 0;
	}
	shell_printf(out, "selftest: unknown suite '%s' (try: sched, svm, svm-bochs)\n", argv[1]);
	return -EINVAL;
}
SHELL_COMMAND(selftest, "selftest", "sched|svm|svm-bochs",
	      "run built-in checks of the scheduler and SMP code; prints PASS/FAIL", cmd_selftest);
