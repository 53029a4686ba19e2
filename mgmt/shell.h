/* Management shell: one command table for the serial console and (later) telnet sessions. */
#ifndef HV_MGMT_SHELL_H
#define HV_MGMT_SHELL_H

#include "lib/types.h"
#include "mgmt/lineedit.h"

#define SHELL_PROMPT "hv> "
#define SHELL_MAX_ARGS 16 /* words in a command line, command name included */

/*
 * Where a session's output goes; '\n' is a line break (the sink makes it
 * CR LF). `written` counts bytes sent through shell_write.
 */
struct shell_out {
	void (*write)(const char *s, size_t len, void *ctx);
	void *ctx;
	size_t written;
	/*
	 * The session's next input byte without waiting, or -1 when none is
	 * there; for commands that take raw input (`console`). NULL: none.
	 */
	int (*poll_byte)(void *ctx);
};

/*
 * A command handler: argv[0] is the command name, argv[argc] is NULL.
 * Returns 0, SHELL_USAGE to have the shell print the usage line, or another
 * negative error code; if the handler printed nothing, the shell prints a
 * generic message for that code. Runs in the session's thread, no locks held.
 */
typedef int (*shell_cmd_fn)(int argc, char **argv, struct shell_out *out);
#define SHELL_USAGE (-EINVAL)

struct shell_command {
	const char *name;  /* one word */
	const char *usage; /* arguments after the name, e.g. "[level [N]]"; "" for none */
	const char *help;  /* one line saying what it does */
	shell_cmd_fn fn;
};

/*
 * Register a command from any file, with no table to edit: the struct goes
 * into the `shell_cmds` section, which linker.ld gathers into an array between
 * __start_shell_cmds and __stop_shell_cmds (the host linker defines those
 * itself for unit tests). `ident` must be unique in the translation unit.
 *   SHELL_COMMAND(uptime, "uptime", "", "time since boot", cmd_uptime);
 */
#define SHELL_COMMAND(ident, name_, usage_, help_, fn_)                                  \
	static const struct shell_command shell_cmd_##ident                              \
		__attribute__((used, section("shell_cmds"), aligned(8))) = {             \
			.name = (name_), .usage = (usage_), .help = (help_), .fn = (fn_) \
		}

/* Formatted output to a session (lib/printf.h formats; lines over 512 bytes are cut). */
void shell_printf(struct shell_out *out, const char *fmt, ...) __printf(2, 3);
void shell_write(struct shell_out *out, const char *s, size_t len);

/* The command called `name`, or NULL. */
const struct shell_command *shell_find(const char *name);

/* Print the usage line of `cmd` ("usage: name args"). */
void shell_print_usage(struct shell_out *out, const struct shell_command *cmd);

/*
 * Run one command line: split it (in place), find the command, call it and
 * report errors ("unknown command 'x' (try 'help')", "usage: ...", bad quoting).
 * An empty line does nothing. Returns the handler's result or the error.
 */
int shell_exec(struct shell_out *out, char *line);

/*
 * Check the command table once at start-up: logs commands with no name or
 * handler and duplicate names (the first one wins). Returns the number of
 * commands.
 */
size_t shell_check_table(void);

/*
 * One interactive session: a line editor, an output sink and a blocking byte
 * source. read_byte() waits for the next input byte and returns it (0..255),
 * or a negative value when the session is over (telnet hang-up).
 */
struct shell_session {
	struct lineedit le;
	struct shell_out out;
	int (*read_byte)(void *ctx);
	void *read_ctx;
	char line[LINEEDIT_LINE_MAX + 1]; /* the line being executed (split in place) */
};

void shell_session_init(struct shell_session *s, struct shell_out out,
			int (*read_byte)(void *ctx), void *read_ctx);
/* Prompt, read, execute, until read_byte() reports the end of the session. */
void shell_session_run(struct shell_session *s);

/*
 * The serial console session on COM1 (after uart_init): never returns.
 * Its only wait for input is serial_read_byte() in mgmt/shell_serial.c.
 */
void __noreturn shell_run(void);

#endif
