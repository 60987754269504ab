/* Freezing file systems for application-consistent group snapshots
 * (docs/design.md §6): FIFREEZE flushes a mounted file system and blocks every
 * writer until FITHAW, so snapshots taken in between see one instant.
 *
 * A frozen file system that nobody thaws blocks its writers forever, so a
 * watchdog process is forked before the first freeze.  It holds its own
 * descriptors of the mount points and waits on a pipe from cairn: when
 * cairn thaws and says so, it exits; when the pipe closes (cairn died, even
 * of SIGKILL) or the freeze has lasted max_freeze_ms, it thaws everything
 * itself.  It leaves cairn's session and process group (setsid), so a kill
 * of the group does not take it along.  cairn_freeze_end() reports a freeze
 * the watchdog had to end as CAIRN_ETIMEOUT: snapshots taken after that
 * moment are not consistent and must be dropped.
 */
#ifndef CAIRN_SOURCE_FREEZE_H
#define CAIRN_SOURCE_FREEZE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cairn_freeze;

/* Freezes every mount point (in order), after forking the watchdog.  On
 * any failure everything frozen so far is thawed and nothing stays frozen.
 * A mount point that is already frozen (by someone else) is an error. */
int cairn_freeze_begin(const char *const *mountpoints, size_t n, unsigned max_freeze_ms, struct cairn_freeze **ret);

/* Thaws (in reverse order), tells the watchdog, reaps it and frees f;
 * *ret_seconds (may be NULL) gets how long the freeze lasted.
 * CAIRN_ETIMEOUT when the watchdog had already thawed because max_freeze_ms
 * passed.  Accepts NULL. */
int cairn_freeze_end(struct cairn_freeze *f, double *ret_seconds);

/* Whether the file systems are still frozen by f: false once the
 * watchdog has thawed them (max_freeze_ms passed).  Asked after a read
 * made while frozen, before its result is recorded as one instant. */
bool cairn_freeze_held(const struct cairn_freeze *f);

/* The watchdog's pid (for tests). */
pid_t cairn_freeze_watchdog_pid(const struct cairn_freeze *f);

#endif
