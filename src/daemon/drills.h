/* Recovery drills on a schedule (`cairn drill --every INTERVAL`,
 * state/drills.h): which are due.  The daemon runs each due one as
 * `cairn drill run KIND:NAME`, a job of kind drill. */
#ifndef CAIRN_DAEMON_DRILLS_H
#define CAIRN_DAEMON_DRILLS_H

#include "state/state.h"

#include <stddef.h>
#include <stdint.h>

/* The schedules ("volume:NAME" or "group:NAME", a malloc'd array of
 * malloc'd strings) whose drill is due at now (every_s since the last
 * run started, or since the schedule was made); each is marked as started
 * at now.  *ret_next_due (may be NULL) gets the earliest next one
 * (INT64_MAX: none). */
int cairn_daemon_drills_due(struct cairn_state *st, int64_t now, char ***ret, size_t *ret_n, int64_t *ret_next_due);

#endif
