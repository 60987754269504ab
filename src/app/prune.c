/* A prune as a job (prune.h). */
#include "app/prune.h"

#include <stdio.h>
#include <string.h>

int cairn_app_prune(const struct cairn_app *app, struct cairn_repo *repo, const struct cairn_app_prune *o,
		    struct cairn_prune_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	bool dry_run = o->opts.dry_run;
	struct cairn_app_job j = { 0 };
	int r;
	if (!dry_run && (r = cairn_app_job_begin(app, NULL, "prune", NULL, o->uri, o->uri, NULL, 0, &j)) < 0)
		return r;
	/* A dry run's progress goes through the job too, to the bar only. */
	cairn_app_job_chain(&j, &o->progress);
	struct cairn_prune_opts po = o->opts;
	po.progress = cairn_app_job_progress;
	po.progress_ud = &j;
	r = cairn_prune_run(repo, &po, ret);
	cairn_app_progress_done(&o->progress);
	if (dry_run)
		return r;
	char result[200], freed[32];
	cairn_app_human_size(ret->bytes_deleted, freed, sizeof(freed));
	snprintf(result, sizeof(result), "deleted %llu pack(s) (%s), repacked %llu",
		 (unsigned long long)ret->packs_deleted, freed, (unsigned long long)ret->packs_repacked);
	return cairn_app_job_end(&j, r, r >= 0 ? result : NULL);
}
