/* The environment cairn gives the programs it starts.
 *
 * Hooks (a user's shell command) and helper programs (LVM tools,
 * thin_delta) inherit cairn's environment, less every variable that holds
 * a secret cairn reads: the repository passphrase, object-store keys and
 * tokens.  None of them needs one, and a hook's command, or anything it
 * runs, should not learn the passphrase of the repository by reading its
 * environment.  cairn_env_secrets is the one list of those variables; a
 * unit test fails when the code reads a variable it does not classify.
 * (cairn's own processes, the daemon's jobs, keep what they need: see
 * src/cli/cmd_daemon.c.) */
#ifndef CAIRN_UTIL_ENV_H
#define CAIRN_UTIL_ENV_H

#include <stdbool.h>

/* NULL-terminated. */
extern const char *const cairn_env_secrets[];

/* True when entry ("NAME=value" or "NAME") is one of cairn_env_secrets. */
bool cairn_env_is_secret(const char *entry);

/* *ret: a NULL-terminated array of the strings of extra ("NAME=value",
 * may be NULL), then those of environ that are not secret and not
 * overridden by extra.  The strings are borrowed; free the array. */
int cairn_env_for_child(const char *const *extra, char ***ret);

#endif
