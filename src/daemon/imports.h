/* Import policies (`cairn import --every`, state/repos.h): which
 * registered repositories are due for a re-read.  The daemon runs each
 * due one as `cairn repos sync NAME`, a job of kind import. */
#ifndef CAIRN_DAEMON_IMPORTS_H
#define CAIRN_DAEMON_IMPORTS_H

#include "state/state.h"

#include <stddef.h>
#include <stdint.h>

/* The names (malloc'd array of malloc'd strings) of the registered
 * repositories whose re-read is due at now; each is marked as started at
 * now, so that it is due again one interval later however long it runs.
 * *ret_next_due (may be NULL) gets the earliest next one (INT64_MAX: none). */
int cairn_daemon_imports_due(struct cairn_state *st, int64_t now, char ***ret, size_t *ret_n, int64_t *ret_next_due);

#endif
