/* A volume's backup as a job (backup.h). */
#include "app/backup.h"
#include "app/seen.h"
#include "app/snapreg.h"
#include "source/volume.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/log.h"
#include "util/path.h"

#include <pthread.h>
#include <stdlib.h>

/* The repository's key derivation (scrypt, ~0.1 s of CPU) runs on its own
 * thread while the snapshot is taken: neither needs the other. */
struct open_job {
	struct cairn_repo_prep prep;
	struct cairn_repo *repo;
	int r;
	char err[1024];
};

static void *open_main(void *arg)
{
	struct open_job *o = arg;
	o->r = cairn_repo_open(o->prep.store, o->prep.pass, o->prep.plen, &o->repo);
	o->prep.store = NULL; /* taken */
	if (o->r < 0)
		cairn_error_copy(o->err, sizeof(o->err));
	return NULL;
}

/* Opens the repository and, where a reflink can be made, snapshots the
 * volume (an absolute path) while the key is derived; on failure neither
 * is left.  Under AUTO a volume with no reflink gets an LVM snapshot, or
 * is read live, in cairn_snap_backup() (never copied).  A reflink takes milliseconds, so one made for a backup that is
 * then refused (a wrong passphrase, a volume busy with another job) costs
 * nothing.  A copy or an LVM snapshot is not tried here:
 * cairn_snap_backup() takes it after the passphrase is verified and the
 * volume is claimed (*path stays NULL), as is every snapshot when frozen
 * (the file systems are frozen only then, in the job). */
static int open_and_snapshot(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo_ref *ref,
			     const char *volume, const char *name, const char *const *tags, size_t ntags,
			     enum cairn_snap_method method, bool frozen, struct cairn_repo **ret_repo,
			     struct cairn_snap_taken *taken)
{
	int r = cairn_backup_check_names(name, tags, ntags);
	struct open_job o = { .r = 0 };
	if (r >= 0)
		r = cairn_app_repo_prepare(app, NULL, ref, &o.prep);
	if (r < 0)
		return r;
	pthread_t t;
	bool threaded = pthread_create(&t, NULL, open_main, &o) == 0;
	if (!threaded)
		open_main(&o);
	bool overlap = (method == CAIRN_SNAP_AUTO || method == CAIRN_SNAP_REFLINK) && !frozen;
	char snap_err[1024];
	struct cairn_snap_registry reg;
	cairn_app_snap_registry(st, &reg);
	r = overlap ? cairn_snap_take_new(&reg, volume, CAIRN_SNAP_REFLINK, app->state_dir, taken) : -1;
	if (r < 0 && overlap)
		cairn_error_copy(snap_err, sizeof(snap_err));
	if (threaded)
		pthread_join(t, NULL);
	cairn_app_repo_prep_clear(&o.prep);
	if (o.r < 0) { /* wrong passphrase, damaged key: that error, not the snapshot's */
		if (r >= 0)
			cairn_snap_release(taken, 0);
		return cairn_error_set(o.r, "%s", o.err);
	}
	if (r < 0 && method == CAIRN_SNAP_REFLINK) {
		cairn_repo_free(o.repo);
		return cairn_error_set(r, "%s", snap_err);
	}
	*ret_repo = o.repo;
	return 0;
}

int cairn_app_backup_prepare(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo_ref *ref,
			     struct cairn_app_backup *o, struct cairn_app_backup_prep *ret)
{
	int resolve = cairn_path_resolve(o->source, "source", &ret->abs);
	bool resolved = resolve >= 0;
	if (resolved && cairn_volume_stable_path(ret->abs, &ret->stable) < 0)
		ret->stable = NULL;
	o->volume = ret->stable ? ret->stable : resolved ? ret->abs : o->source;
	o->taken = &ret->taken;
	if (o->snapshot == CAIRN_SNAP_NONE)
		return cairn_app_repo_open(app, NULL, ref, &ret->repo);
	if (!resolved)
		return resolve;
	return open_and_snapshot(app, st, ref, ret->abs,
				 o->name ? o->name : cairn_path_base(ret->stable ? ret->stable : ret->abs), o->tags,
				 o->ntags, o->snapshot, o->nfreeze > 0, &ret->repo, &ret->taken);
}

void cairn_app_backup_prep_clear(struct cairn_app_backup_prep *p)
{
	cairn_snap_release(&p->taken, 0);
	cairn_repo_free(p->repo);
	free(p->abs);
	free(p->stable);
	*p = (struct cairn_app_backup_prep)CAIRN_APP_BACKUP_PREP_INIT;
}

int cairn_app_backup_in_job(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
			    const struct cairn_app_backup *o, struct cairn_app_job *j, struct cairn_manifest **ret,
			    struct cairn_snap_backup_info *ret_info)
{
	struct cairn_app_seen seen;
	cairn_app_seen_begin(&seen, app, j->st, repo);
	_cleanup_(cairn_manifest_list_free) struct cairn_manifest_list list = { 0 };
	struct cairn_snap_registry reg;
	cairn_app_snap_registry(st, &reg);
	struct cairn_snap_backup_opts so = {
		.backup = { .source = o->source, .volume = o->name, .name_option = o->name_option, .list = &list,
			    .policy = o->policy, .policy_id = o->policy_id, .full = o->full, .no_catalog = o->no_catalog, .tags = o->tags,
			    .ntags = o->ntags, .progress = cairn_app_job_progress, .progress_ud = j,
			    .state_dir = app->state_dir },
		.snapshot = o->snapshot, .registry = st ? &reg : NULL, .state_dir = app->state_dir,
		.taken = o->taken && o->taken->path ? o->taken : NULL, .freeze = o->freeze, .nfreeze = o->nfreeze,
		.max_freeze_ms = o->max_freeze_ms,
	};
	int r = cairn_app_seen_load(&seen, repo, &list);
	if (r < 0) {
		if (so.taken)
			cairn_snap_release(so.taken, r);
	} else {
		r = cairn_snap_backup(repo, &so, ret, ret_info);
	}
	if (r >= 0) {
		cairn_app_seen_record(&seen, *ret);
		/* In the job's log too, whatever -q says (util/log.h). */
		if (o->nfreeze)
			cairn_log_info("file systems frozen for %.3f s", ret_info->frozen_seconds);
		if (ret_info->why_live)
			cairn_log_info("snapshot: none (%s); consistency: %s", ret_info->why_live,
				       (*ret)->consistency ? (*ret)->consistency : "?");
		else
			cairn_log_info("snapshot: %s; consistency: %s", cairn_snap_method_name(ret_info->method),
				       (*ret)->consistency ? (*ret)->consistency : "?");
	}
	cairn_app_seen_end(&seen);
	return r;
}

int cairn_app_backup(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
		     const struct cairn_app_backup *o, struct cairn_manifest **ret,
		     struct cairn_snap_backup_info *ret_info)
{
	*ret = NULL;
	/* A job row, claiming the volume: one job per volume at a time. */
	struct cairn_app_job j;
	int r = cairn_app_job_begin(app, st, "backup", o->policy, o->volume, o->uri, &o->volume, 1, &j);
	if (r < 0) {
		if (o->taken)
			cairn_snap_release(o->taken, r);
		return r;
	}
	cairn_app_job_chain(&j, &o->progress);
	r = cairn_app_backup_in_job(app, st, repo, o, &j, ret, ret_info);
	cairn_app_progress_done(&o->progress);
	r = cairn_app_job_end(&j, r, r >= 0 ? (*ret)->idhex : NULL);
	if (r < 0) {
		cairn_manifest_free(*ret);
		*ret = NULL;
	}
	return r;
}
