/* Standby updates started by an arrival (docs/design.md §14): when a copy
 * (cairn copy, a policy's replication) or an import's re-read lands a
 * restore point of a volume or group that a standby on this host follows
 * in the same repository, the standby is marked; the daemon sees the mark
 * and runs the standby's update (app/standby.h, never half-applied) right
 * after, one at a time per standby, without waiting for its --every.
 *
 * "The same repository" is the same instance (repo.h: a copy in the same
 * key family has an instance of its own), never the same URI text: an
 * alias, a path with a trailing slash or an s3:// and a local view of one
 * repository name one thing.  The mark is a file STATE/standby/NAME/arrived
 * (no schema): a mark made while an update runs stays for the next one,
 * so nothing that arrives is missed and two updates never overlap. */
#ifndef CAIRN_APP_STANDBYARRIVAL_H
#define CAIRN_APP_STANDBYARRIVAL_H

#include "app/app.h"
#include "repo/repo.h"
#include "state/state.h"

#include <stdbool.h>
#include <stddef.h>

/* Marks each standby of st that follows volume (or group; both NULL: any
 * source) in repo, the repository a restore point just landed in (st
 * NULL: opened here, when there is one).  An
 * arrival never fails what brought it: a standby whose repository cannot
 * be read is logged and skipped.  Returns how many were marked. */
size_t cairn_app_standby_arrived(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo *repo,
				 const char *volume, const char *group);

/* true when an arrival marked standby name since the last call; the mark
 * is removed (the caller starts the update now). */
bool cairn_app_standby_take_arrival(const struct cairn_app *app, const char *name);

#endif
