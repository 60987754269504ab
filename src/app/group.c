/* Group backups and restores as jobs (group.h). */
#include "app/group.h"
#include "app/snapreg.h"
#include "source/volume.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

int cairn_app_stable_paths(const char *const *in, size_t n, bool dirs, char ***ret)
{
	char **v = calloc(n ? n : 1, sizeof(char *));
	if (!v)
		return cairn_error_nomem();
	for (size_t i = 0; i < n; i++) {
		char abs[PATH_MAX];
		struct stat st;
		int r = 0;
		if (!realpath(in[i], abs) || stat(abs, &st) < 0)
			r = cairn_error_errno(errno, "%s %s", dirs ? "mount point" : "volume", in[i]);
		else if (dirs && !S_ISDIR(st.st_mode))
			r = cairn_error_set(CAIRN_EINVAL, "freeze %s is not a directory (give a mount point)", in[i]);
		else if (!dirs && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
			r = cairn_error_set(CAIRN_EINVAL, "volume %s is neither an image file nor a block device", in[i]);
		else if (!dirs)
			r = cairn_volume_stable_path(abs, &v[i]);
		else if (!(v[i] = strdup(abs)))
			r = cairn_error_nomem();
		if (r < 0) {
			cairn_app_paths_free(v, i);
			return r;
		}
	}
	*ret = v;
	return 0;
}

void cairn_app_paths_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int cairn_app_group_create(struct cairn_state *st, const struct cairn_app_group_new *n)
{
	int r;
	if ((r = cairn_group_name_check(n->name)) < 0)
		return r;
	if (n->nvolumes == 0)
		return cairn_error_set(CAIRN_EINVAL, "a group needs at least one volume");
	for (size_t i = 0; n->names && i < n->nvolumes; i++) {
		if (!n->names[i])
			continue;
		if ((r = cairn_backup_check_names(n->names[i], NULL, 0)) < 0)
			return r;
		for (size_t k = 0; k < i; k++)
			if (n->names[k] && strcmp(n->names[i], n->names[k]) == 0)
				return cairn_error_set(CAIRN_EINVAL, "volume name %s is given twice", n->names[i]);
	}
	if (n->max_freeze_ms > 3600 * 1000)
		return cairn_error_set(CAIRN_EINVAL, "the longest freeze is at most 3600 s");
	if ((n->pre_hook && !*n->pre_hook) || (n->post_hook && !*n->post_hook))
		return cairn_error_set(CAIRN_EINVAL, "a hook command may not be empty");
	struct cairn_group grp = { .name = (char *)n->name, .pre_hook = (char *)n->pre_hook,
				   .post_hook = (char *)n->post_hook, .max_freeze_ms = n->max_freeze_ms,
				   .names = (char **)n->names };
	char cfg[PATH_MAX];
	if (n->config) {
		struct stat cs;
		if (!realpath(n->config, cfg) || stat(cfg, &cs) < 0)
			return cairn_error_errno(errno, "config %s", n->config);
		if (!S_ISREG(cs.st_mode))
			return cairn_error_set(CAIRN_EINVAL, "config %s is not a regular file", n->config);
		grp.config = cfg;
	}
	if ((r = cairn_app_stable_paths(n->volumes, n->nvolumes, false, &grp.volumes)) < 0)
		return r;
	grp.nvolumes = n->nvolumes;
	if ((r = cairn_app_stable_paths(n->freeze, n->nfreeze, true, &grp.freeze)) >= 0) {
		grp.nfreeze = n->nfreeze;
		r = cairn_group_create(st, &grp);
		cairn_app_paths_free(grp.freeze, grp.nfreeze);
	}
	cairn_app_paths_free(grp.volumes, grp.nvolumes);
	return r;
}
