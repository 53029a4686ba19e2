/* Shell core: the command table, line execution, `help`, and the session loop. */
#include "mgmt/shell.h"
#include "lib/cmdline.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "kernel/log.h"

#define SHELL_PRINTF_MAX 512
#define HELP_COLUMN 26

extern const struct shell_command __start_shell_cmds[];
extern const struct shell_command __stop_shell_cmds[];

/* Entries in the table (computed on addresses: the bounds are two different symbols). */
static size_t table_len(void)
{
	return ((uintptr_t)__stop_shell_cmds - (uintptr_t)__start_shell_cmds) /
	       sizeof(struct shell_command);
}

void shell_write(struct shell_out *out, const char *s, size_t len)
{
	if (len) {
		out->write(s, len, out->ctx);
		out->written += len;
	}
}

void shell_printf(struct shell_out *out, const char *fmt, ...)
{
	char buf[SHELL_PRINTF_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	shell_write(out, buf, MIN((size_t)n, sizeof(buf) - 1));
}

static bool is_valid(const struct shell_command *c) { return c->name && c->name[0] && c->fn; }

const struct shell_command *shell_find(const char *name)
{
	for (size_t i = 0; i < table_len(); i++)
		if (is_valid(&__start_shell_cmds[i]) && strcmp(__start_shell_cmds[i].name, name) == 0)
			return &__start_shell_cmds[i];
	return NULL;
}

/* The command whose name comes next after prev's in byte order (first when prev is NULL). */
static const struct shell_command *next_by_name(const struct shell_command *prev)
{
	const struct shell_command *best = NULL;

	for (size_t i = 0; i < table_len(); i++) {
		const struct shell_command *c = &__start_shell_cmds[i];

		if (!is_valid(c) || (prev && strcmp(c->name, prev->name) <= 0))
			continue;
		if (!best || strcmp(c->name, best->name) < 0)
			best = c;
	}
	return best;
}

size_t shell_check_table(void)
{
	size_t n = 0;

	for (size_t i = 0; i < table_len(); i++) {
		const struct shell_command *c = &__start_shell_cmds[i];

		if (!is_valid(c)) {
			pr_err("shell: command entry %p has no name or handler\n", (const void *)c);
			continue;
		}
		if (shell_find(c->name) != c)
			pr_err("shell: command '%s' defined twice; the second is ignored\n", c->name);
		else
			n++;
	}
	return n;
}

void shell_print_usage(struct shell_out *out, const struct shell_command *cmd)
{
	shell_printf(out, "usage: %s%s%s\n", cmd->name, cmd->usage[0] ? " " : "", cmd->usage);
}

static int cmd_help(int argc, char **argv, struct shell_out *out)
{
	const struct shell_command *c;

	if (argc > 2)
		return SHELL_USAGE;
	if (argc == 2) {
		c = shell_find(argv[1]);
		if (!c) {
			shell_printf(out, "unknown command '%s' (try 'help')\n", argv[1]);
			return -ENOENT;
		}
		shell_print_usage(out, c);
		shell_printf(out, "  %s\n", c->help);
		return 0;
	}
	shell_printf(out, "commands (help <command> for one):\n");
	for (c = next_by_name(NULL); c; c = next_by_name(c)) {
		int w = (int)(strlen(c->name) + 1 + strlen(c->usage));

		shell_printf(out, "  %s %s%*s %s\n", c->name, c->usage,
			     w < HELP_COLUMN ? HELP_COLUMN - w : 0, "", c->help);
	}
	return 0;
}
SHELL_COMMAND(help, "help", "[command]", "list the commands, or show how to use one", cmd_help);

static const char *error_text(int err)
{
	switch (-err) {
	case EPERM: return "not permitted";
	case ENOENT: return "not found";
	case EIO: return "I/O error";
	case ENOMEM: return "out of memory";
	case EBUSY: return "busy";
	case ENODEV: return "no such device";
	case ERANGE: return "out of range";
	case ENOSYS: return "not supported";
	case ETIMEDOUT: return "timed out";
	default: return "failed";
	}
}

int shell_exec(struct shell_out *out, char *line)
{
	char *argv[SHELL_MAX_ARGS + 1];
	const struct shell_command *c;
	const char *msg = "";
	size_t before;
	int argc, err;

	argc = cmdline_split(line, argv, ARRAY_SIZE(argv), &msg);
	if (argc < 0) {
		shell_printf(out, "error: %s\n", msg);
		return argc;
	}
	if (argc == 0)
		return 0;
	c = shell_find(argv[0]);
	if (!c) {
		shell_printf(out, "unknown command '%s' (try 'help')\n", argv[0]);
		return -ENOENT;
	}
	before = out->written;
	err = c->fn(argc, argv, out);
	if (err == SHELL_USAGE)
		shell_print_usage(out, c);
	else if (err < 0 && out->written == before)
		shell_printf(out, "%s: %s (error %d)\n", c->name, error_text(err), err);
	return err;
}

static void session_echo(const char *s, size_t len, void *ctx)
{
	struct shell_out *out = ctx;

	shell_write(out, s, len);
}

void shell_session_init(struct shell_session *s, struct shell_out out,
			int (*read_byte)(void *ctx), void *read_ctx)
{
	s->out = out;
	s->read_byte = read_byte;
	s->read_ctx = read_ctx;
	lineedit_init(&s->le, SHELL_PROMPT, session_echo, &s->out);
}

void shell_session_run(struct shell_session *s)
{
	const char *line;
	size_t n;
	int c;

	lineedit_start(&s->le);
	while ((c = s->read_byte(s->read_ctx)) >= 0) {
		if (lineedit_feed(&s->le, (u8)c) != LINEEDIT_LINE)
			continue;
		line = lineedit_line(&s->le);
		n = strnlen(line, LINEEDIT_LINE_MAX);
		memcpy(s->line, line, n);
		s->line[n] = '\0';
		shell_exec(&s->out, s->line);
		lineedit_start(&s->le);
	}
}
