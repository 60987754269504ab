/* Standby schedules (`cairn standby create --every`, state/standbys.h):
 * which standbys are due for an update.  The daemon runs each due one as
 * `cairn standby update NAME`, a job of kind standby. */
#ifndef CAIRN_DAEMON_STANDBYS_H
#define CAIRN_DAEMON_STANDBYS_H

#include "state/state.h"

#include <stddef.h>
#include <stdint.h>

/* The names (malloc'd array of malloc'd strings) of the standbys whose
 * update is due at now; each is marked as started at now.  *ret_next_due
 * (may be NULL) gets the earliest next one (INT64_MAX: none). */
int cairn_daemon_standbys_due(struct cairn_state *st, int64_t now, char ***ret, size_t *ret_n, int64_t *ret_next_due);

#endif
