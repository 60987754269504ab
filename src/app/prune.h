/* A prune of a repository as a job (a dry run makes no row). */
#ifndef CAIRN_APP_PRUNE_H
#define CAIRN_APP_PRUNE_H

#include "app/app.h"
#include "app/job.h"
#include "engine/prune.h"

struct cairn_app_prune {
	const char *uri; /* the repository, for the row */
	struct cairn_prune_opts opts; /* its progress is the job's */
	struct cairn_app_progress progress;
};
int cairn_app_prune(const struct cairn_app *app, struct cairn_repo *repo, const struct cairn_app_prune *o,
		    struct cairn_prune_stats *ret);

#endif
