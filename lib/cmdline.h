/* Command-line helpers: split shell lines into argv, parse numbers, read boot options. */
#ifndef HV_LIB_CMDLINE_H
#define HV_LIB_CMDLINE_H

#include "lib/types.h"

/*
 * Split `line` in place into words. Words are separated by spaces or tabs;
 * double quotes group a word that may hold spaces ("" is an empty word);
 * a backslash makes the next character literal, inside quotes too.
 * argv has room for `max_argv` pointers: at most max_argv - 1 words are
 * accepted and argv[argc] is set to NULL.
 * Returns argc (>= 0), or on bad input a negative error with *errmsg set to
 * a static message: -EINVAL for an unterminated quote or a trailing
 * backslash, -E2BIG for too many words. `errmsg` may be NULL.
 */
int cmdline_split(char *line, char **argv, int max_argv, const char **errmsg);

/*
 * Parse a whole string as an integer within [min, max]: decimal or 0x-prefixed
 * hexadecimal; the signed form also takes a leading '-' or '+'.
 * Returns 0 and stores *out, -EINVAL if `s` is not entirely a number,
 * -ERANGE if it is out of range (or overflows 64 bits). *out is untouched on error.
 */
int cmdline_parse_u64(const char *s, u64 min, u64 max, u64 *out);
int cmdline_parse_s64(const char *s, s64 min, s64 max, s64 *out);

/*
 * Parse a size: an unsigned number as above, optionally followed by one of
 * K, M, G, T (either case; powers of 1024), and no more than `max` bytes.
 * Errors as for cmdline_parse_u64.
 */
int cmdline_parse_size(const char *s, u64 max, u64 *out);

/*
 * The hypervisor command line is words separated by spaces, each `key` or
 * `key=value`; a value may be double-quoted to hold spaces. When a key is
 * given more than once, the last one counts.
 */

/*
 * Copy the value of `key` into buf (NUL-terminated; "" when the key is given
 * without '='). Returns 0, -ENOENT when the key is absent, -ENOSPC when the
 * value does not fit in len bytes (buf then holds nothing useful but is
 * NUL-terminated when len > 0). A NULL cmdline counts as empty.
 */
int cmdline_get(const char *cmdline, const char *key, char *buf, size_t len);

/*
 * cmdline_get followed by cmdline_parse_u64 on the value: 0, -ENOENT, -EINVAL,
 * or -ERANGE (also for a value too long to be a number).
 */
int cmdline_get_u64(const char *cmdline, const char *key, u64 min, u64 max, u64 *out);

/*
 * True when the flag is set: `key` alone, or `key=value` with a value other
 * than 0, no, off or false. False when absent.
 */
bool cmdline_has_flag(const char *cmdline, const char *key);

#endif
