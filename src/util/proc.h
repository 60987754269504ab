/* Running a user's hook command (`/bin/sh -c CMD`), with extra environment
 * variables and a time limit.  Its stdout and stderr are cairn's stderr, so
 * what a hook says reaches the operator's log.  Both hooks and helper
 * programs get cairn's environment without its secrets (util/env.h). */
#ifndef CAIRN_UTIL_PROC_H
#define CAIRN_UTIL_PROC_H

/* Runs cmd and waits up to timeout_s (killing it after).  env is a
 * NULL-terminated list of "NAME=value" added to cairn's environment (may be
 * NULL).  Returns 0 when it exited 0; CAIRN_EIO with a message naming what
 * (label) and how it failed (exit status, signal, timeout) otherwise. */
int cairn_run_hook(const char *label, const char *cmd, const char *const *env, unsigned timeout_s);
/* The same with input[0..len) on the command's stdin (then closed); NULL:
 * stdin is cairn's. */
#include <stddef.h>
int cairn_run_hook_input(const char *label, const char *cmd, const char *const *env, const void *input, size_t len,
			 unsigned timeout_s);

struct cairn_buf;

/* Runs argv[0] (looked up in PATH) with argv, no shell, stdin from
 * /dev/null, and collects its stdout into out (at most 64 MiB); its stderr
 * goes to out_err when not NULL (at most 64 KiB, the rest dropped), else to
 * cairn's stderr.  Returns 0 when it exited 0; CAIRN_ENOTFOUND when the
 * program is not installed; CAIRN_EIO naming the program and its exit
 * status (and the first line of its stderr) otherwise. */
int cairn_run_capture(const char *const *argv, struct cairn_buf *out, struct cairn_buf *out_err, unsigned timeout_s);

#endif
