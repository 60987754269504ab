/* What engine needs from the state database, lent as arguments: the
 * snapshot registry (engine.h struct cairn_snap_registry) over table
 * snapshots, and a consistency group's row as engine's group spec. */
#ifndef CAIRN_APP_SNAPREG_H
#define CAIRN_APP_SNAPREG_H

#include "engine/engine.h"
#include "state/groups.h"
#include "state/state.h"

/* The registry over st (borrowed: it must outlive *ret). */
void cairn_app_snap_registry(struct cairn_state *st, struct cairn_snap_registry *ret);

/* g as engine's group spec (borrowing every string of g). */
void cairn_app_group_spec(const struct cairn_group *g, struct cairn_group_spec *ret);

#endif
