/* Group backups and restores as jobs (group.h). */
#include "app/group.h"
#include "app/snapreg.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cairn_app_group_made_clear(struct cairn_app_group_made *m)
{
	for (size_t i = 0; m->members && i < m->n; i++)
		cairn_manifest_free(m->members[i]);
	free(m->members);
	cairn_group_backup_free(m->gb);
	memset(m, 0, sizeof(*m));
}

int cairn_app_group_backup_in_job(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
				  const struct cairn_app_group_backup *o, struct cairn_app_job *j,
				  struct cairn_app_group_made *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct cairn_group_spec spec;
	cairn_app_group_spec(o->group, &spec);
	struct cairn_snap_registry reg;
	cairn_app_snap_registry(st, &reg);
	struct cairn_group_backup_opts go = { .group = &spec, .policy = o->policy, .policy_id = o->policy_id,
					      .full = o->full, .no_catalog = o->no_catalog, .tags = o->tags, .ntags = o->ntags, .registry = &reg,
					      .state_dir = app->state_dir, .freeze_during_read = o->freeze_during_read,
					      .progress = cairn_app_job_progress, .progress_ud = j };
	int r = cairn_group_backup_run(repo, &go, &ret->gb, &ret->members, &ret->cost);
	if (r >= 0) {
		ret->n = o->group->nvolumes;
		const struct cairn_group_backup_cost *c = &ret->cost;
		/* In the job's log whatever -q says (util/log.h). */
		cairn_log_info("group %s: %zu instant snapshot(s), %zu copied while frozen (%llu bytes), %zu read "
			       "while frozen; frozen %.3f s",
			       o->group->name, c->ninstant, c->ncopied, (unsigned long long)c->bytes_copied,
			       c->nread_frozen, c->frozen_seconds);
	}
	return r;
}

int cairn_app_group_backup(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
			   const struct cairn_app_group_backup *o, struct cairn_app_group_made *ret)
{
	memset(ret, 0, sizeof(*ret));
	const struct cairn_group *grp = o->group;
	struct cairn_app_job j;
	int r = cairn_app_job_begin(app, st, "backup", o->policy, grp->name, o->uri,
				    (const char *const *)grp->volumes, grp->nvolumes, &j);
	if (r < 0)
		return r;
	cairn_app_job_chain(&j, &o->progress);
	r = cairn_app_group_backup_in_job(app, st, repo, o, &j, ret);
	cairn_app_progress_done(&o->progress);
	r = cairn_app_job_end(&j, r, r >= 0 ? ret->gb->idhex : NULL);
	if (r < 0)
		cairn_app_group_made_clear(ret);
	return r;
}

int cairn_app_group_restore(const struct cairn_app *app, struct cairn_repo *repo, const struct cairn_group_backup *gb,
			    struct cairn_manifest_list *l, const struct cairn_app_group_restore *o)
{
	char src[512];
	snprintf(src, sizeof(src), "group %s -> %s", gb->name, o->to);
	struct cairn_app_job j = { 0 };
	int r = cairn_app_job_begin(app, NULL, "restore", NULL, src, o->uri, NULL, 0, &j);
	if (r < 0)
		return r;
	cairn_app_job_chain(&j, &o->progress);
	r = cairn_group_restore_run(repo, gb, o->to, o->force, cairn_app_job_progress, &j, l);
	cairn_app_progress_done(&o->progress);
	return cairn_app_job_end(&j, r, r >= 0 ? gb->idhex : NULL);
}
