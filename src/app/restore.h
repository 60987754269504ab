/* A restore of one backup onto a target as a job (group restores: group.h). */
#ifndef CAIRN_APP_RESTORE_H
#define CAIRN_APP_RESTORE_H

#include "app/app.h"
#include "app/job.h"
#include "engine/engine.h"

struct cairn_app_restore {
	const char *target;
	const char *uri; /* the repository, for the row */
	bool force, delta;
	struct cairn_app_progress progress;
	/* --from-overlay: an overlay file of `cairn mount --overlay`, of this
	 * backup, whose writes go over the restored volume; NULL: none. */
	const char *overlay;
};
/* Restores m onto o->target as a job (claiming the target when it
 * exists); with delta, the backup's base snapshot, when this host keeps
 * it, narrows what is compared. */
int cairn_app_restore(const struct cairn_app *app, struct cairn_repo *repo, const struct cairn_manifest *m,
		      const struct cairn_app_restore *o, struct cairn_restore_stats *ret);

#endif
