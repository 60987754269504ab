/* The record of backups this host has seen (state/seen.h), best effort: a
 * use case that cannot open the state database works as before and says
 * so in a debug line.  One per job, the database opened on first use. */
#ifndef CAIRN_APP_SEEN_H
#define CAIRN_APP_SEEN_H

#include "app/app.h"
#include "engine/retention.h"
#include "repo/manifest.h"
#include "state/seen.h"

struct cairn_app_seen {
	const struct cairn_app *app;
	struct cairn_state *st; /* borrowed, or owned when own */
	bool own, unavailable;
	char repo_id[33];
};
/* st may be NULL: the app's state database is opened when first needed. */
void cairn_app_seen_begin(struct cairn_app_seen *s, const struct cairn_app *app, struct cairn_state *st,
			  const struct cairn_repo *repo);
void cairn_app_seen_end(struct cairn_app_seen *s);
/* Records l, a listing of the repository's backups that began at
 * listed_us (unix microseconds), and says what vanished since this host
 * last looked (*ret zero when that cannot be told). */
void cairn_app_seen_observe(struct cairn_app_seen *s, const struct cairn_manifest_list *l, int64_t listed_us,
			    struct cairn_seen_report *ret);
/* Loads the repository's backups for a backup to go on with (its
 * cairn_backup_opts.list) and records them; what vanished is only logged
 * (info: the job's log has it). */
int cairn_app_seen_load(struct cairn_app_seen *s, struct cairn_repo *repo, struct cairn_manifest_list *ret);
/* Records a backup made here. */
void cairn_app_seen_record(struct cairn_app_seen *s, const struct cairn_manifest *m);
/* A forget decision: a unit about to be forgotten (and a group backup's
 * members) is marked forgotten here; kept ones are left alone. */
void cairn_app_seen_forget(struct cairn_app_seen *s, const struct cairn_forget_item *it);
/* 'forget ID' of a backup that is gone already: 1 when this host reported
 * it as vanished (it no longer does), else 0. */
int cairn_app_seen_acknowledge(struct cairn_app_seen *s, const char *spec);
/* The warning about what vanished, one line. */
void cairn_app_seen_describe(const struct cairn_seen_report *r, char *buf, size_t size);

#endif
