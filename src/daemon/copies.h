/* Replication on a schedule (`policy create --copy-to URI --copy-every
 * INTERVAL`, app/replicate.h): which policies' copies are due.  The daemon
 * runs each due one as `cairn policy copy NAME`, a job of kind copy. */
#ifndef CAIRN_DAEMON_COPIES_H
#define CAIRN_DAEMON_COPIES_H

#include "state/state.h"

#include <stddef.h>
#include <stdint.h>

/* The names (malloc'd array of malloc'd strings) of the active policies
 * whose copy is due at now (copy_every set, and that long since the last
 * copy started, or since the policy was made); each is marked as started
 * at now.  *ret_next_due (may be NULL) gets the earliest next one
 * (INT64_MAX: none). */
int cairn_daemon_copies_due(struct cairn_state *st, int64_t now, char ***ret, size_t *ret_n, int64_t *ret_next_due);

#endif
