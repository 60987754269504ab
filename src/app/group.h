/* A consistency group's backup and restore as jobs: the backup claims
 * every volume of the group (state/groups.h) in its row. */
#ifndef CAIRN_APP_GROUP_H
#define CAIRN_APP_GROUP_H

#include "app/app.h"
#include "app/job.h"
#include "engine/engine.h"
#include "repo/group.h"
#include "state/groups.h"

struct cairn_app_group_backup {
	const struct cairn_group *group;
	const char *uri; /* the repository, for the row */
	const char *policy, *policy_id;
	const char *const *tags;
	size_t ntags;
	bool full;
	bool freeze_during_read; /* engine.h cairn_group_backup_opts */
	bool no_catalog;         /* engine.h cairn_backup_opts */
	struct cairn_app_progress progress;
};
/* What a group backup made: the group backup and its members' manifests
 * (one per volume of the group), all owned. */
struct cairn_app_group_made {
	struct cairn_group_backup *gb;
	struct cairn_manifest **members;
	size_t n;
	struct cairn_group_backup_cost cost; /* what its one instant cost */
};
void cairn_app_group_made_clear(struct cairn_app_group_made *m);

/* The group backup in a job already begun (j); st lends engine the
 * snapshot registry. */
int cairn_app_group_backup_in_job(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
				  const struct cairn_app_group_backup *o, struct cairn_app_job *j,
				  struct cairn_app_group_made *ret);
/* The group backup as a job of its own. */
int cairn_app_group_backup(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
			   const struct cairn_app_group_backup *o, struct cairn_app_group_made *ret);

struct cairn_app_group_restore {
	const char *to; /* the directory */
	const char *uri;
	bool force;
	struct cairn_app_progress progress;
};
/* Restores gb into o->to as a job; l is the repository's backups. */
int cairn_app_group_restore(const struct cairn_app *app, struct cairn_repo *repo, const struct cairn_group_backup *gb,
			    struct cairn_manifest_list *l, const struct cairn_app_group_restore *o);

/* A group to define (`cairn group create`, POST /api/v1/groups).  Paths
 * are resolved against the working directory (the API gives only
 * absolute ones).  Every check is here, so that the CLI and the API
 * refuse the same things with the same messages. */
struct cairn_app_group_new {
	const char *name;
	const char *const *volumes; /* image files or block devices */
	size_t nvolumes;
	const char *const *names; /* NULL, or one per volume (NULL entry: the default) */
	const char *const *freeze; /* mount points */
	size_t nfreeze;
	const char *pre_hook, *post_hook; /* NULL: none; never empty */
	const char *config;               /* a regular file or NULL */
	unsigned max_freeze_ms;           /* 0: the default; at most 3,600,000 */
};
/* Records the group: CAIRN_EINVAL for a bad definition, CAIRN_ENOTFOUND
 * for a volume, mount point or config that is not there, CAIRN_EEXIST
 * when the name is taken. */
int cairn_app_group_create(struct cairn_state *st, const struct cairn_app_group_new *n);

/* Absolute paths of the given volumes (by the path that survives reboots:
 * /dev/mapper/NAME, not /dev/dm-N) or, dirs, mount points; each must
 * exist.  *ret: n malloc'd strings in a malloc'd array (cairn_app_paths_free). */
int cairn_app_stable_paths(const char *const *in, size_t n, bool dirs, char ***ret);
void cairn_app_paths_free(char **v, size_t n);

#endif
