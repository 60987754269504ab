/* A backup of one volume as a job: its row (claiming the volume), the
 * backups-seen record (the repository's backups loaded for the backup to
 * go on with, the new one recorded), the snapshot, the backup itself. */
#ifndef CAIRN_APP_BACKUP_H
#define CAIRN_APP_BACKUP_H

#include "app/app.h"
#include "app/job.h"
#include "app/open.h"
#include "engine/engine.h"
#include "source/snapshot.h"

struct cairn_app_backup {
	const char *source;   /* as given */
	const char *volume;   /* the job's claim (the stable name, else the absolute path) */
	const char *uri;      /* the repository, for the row */
	const char *name;     /* the backup's volume name (NULL: the default) */
	const char *name_option; /* how a refusal names that option (NULL: --name) */
	const char *policy, *policy_id;
	const char *const *tags;
	size_t ntags;
	bool full;
	bool no_catalog; /* engine.h cairn_backup_opts */
	enum cairn_snap_method snapshot;
	/* Mount points to freeze around the snapshot or the live read
	 * (engine.h cairn_snap_backup_opts); no snapshot is taken before the
	 * job then. */
	const char *const *freeze;
	size_t nfreeze;
	unsigned max_freeze_ms;
	/* A snapshot taken already (cairn_snap_take_new), or NULL: released
	 * when the job cannot run. */
	struct cairn_snap_taken *taken;
	struct cairn_app_progress progress;
};

/* What a backup needs before its job (cairn_app_backup_prepare). */
struct cairn_app_backup_prep {
	char *abs;    /* the source resolved (NULL: it could not be) */
	char *stable; /* the name the volume goes by (NULL: abs is) */
	struct cairn_repo *repo;
	struct cairn_snap_taken taken;
};
#define CAIRN_APP_BACKUP_PREP_INIT { .taken = CAIRN_SNAP_TAKEN_INIT }
/* Resolves o->source (another user's symbolic link is refused,
 * util/path.h), opens ref's repository and, where a reflink can be made,
 * snapshots the volume while the key is derived (st lends the snapshot
 * registry).  Sets o->volume (the job's claim, borrowed from ret) and
 * o->taken.  With snapshot NONE an unresolved source is left to the
 * backup to refuse. */
int cairn_app_backup_prepare(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo_ref *ref,
			     struct cairn_app_backup *o, struct cairn_app_backup_prep *ret);
/* Frees what is left of p (a snapshot not handed on is released). */
void cairn_app_backup_prep_clear(struct cairn_app_backup_prep *p);

/* The backup in a job already begun (j): st lends engine the snapshot
 * registry (NULL: none), j's database keeps the backups-seen record.
 * *ret is the new backup's manifest (owned). */
int cairn_app_backup_in_job(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
			    const struct cairn_app_backup *o, struct cairn_app_job *j, struct cairn_manifest **ret,
			    struct cairn_snap_backup_info *ret_info);

/* The backup as a job of its own (st may be NULL: the app's database is
 * opened for the row, and no snapshot registry is lent).  *ret owned. */
int cairn_app_backup(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
		     const struct cairn_app_backup *o, struct cairn_manifest **ret,
		     struct cairn_snap_backup_info *ret_info);

#endif
