/* Warm standby volumes (docs/design.md §14): an image file, a block
 * device or (for a consistency group) a directory of images plus the
 * group's config document, kept at the DR site equal to a restore point of
 * a repository, so that recovery starts from a volume that is already
 * there.  State: state/standbys.h.
 *
 * An update writes only the chunks that differ between the restore point
 * the standby holds and the new one (the tree diff of engine's diff, then
 * restore --delta limited to those ranges), and is never half-applied:
 *
 *   stage   reflink (FICLONE works on the target's file system): the new
 *           data goes into a reflink clone of each image beside it
 *           (NAME.cairn-standby-next); else into a sparse redo journal per
 *           image in the state directory (STATE/standby/NAME/), holding
 *           the new bytes of the changed ranges.  All fsynced.
 *   commit  the standby's row gets `pending`: the restore point, and per
 *           image its clone or its journal and ranges.  The commit point:
 *           before it the old image stands, after it the new one will.
 *   apply   clones are renamed over the images (config document last);
 *           journals are copied into the images in place, fsynced.
 *           Idempotent: re-running it is harmless.
 *   finish  the row records the new restore point, its cost and the
 *           images' fingerprints, and clears pending; staging files go.
 *
 * Whoever opens the standby next (update, show, status, list) finishes a
 * pending update (apply + finish, no repository needed) and removes the
 * staging files of one that stopped before its commit point.  A lock file
 * in STATE/standby/NAME/ keeps two processes from working on one standby.
 */
#ifndef CAIRN_APP_STANDBY_H
#define CAIRN_APP_STANDBY_H

#include "app/app.h"
#include "app/job.h"
#include "state/standbys.h"

#include <stdbool.h>
#include <stdint.h>

struct cairn_app_standby_create {
	const char *name;
	const char *volume, *group; /* exactly one */
	const char *uri, *cred;     /* the repository (or its registered alias) */
	const char *target;
	int64_t every; /* seconds; 0 none */
	bool force;    /* overwrite a target that holds data */
	struct cairn_app_progress progress;
};

struct cairn_app_standby_update {
	const char *at; /* a BACKUP (group backup for a group); NULL: the newest */
	bool force;     /* rewrite a target that changed behind the standby's back */
	int64_t job;    /* a row the daemon made for this run; 0: make one */
	struct cairn_app_progress progress;
};

/* What a create or an update did. */
struct cairn_app_standby_result {
	char from[33], to[33]; /* restore points held before ("" none) and now */
	int64_t to_created_us;
	bool changed;   /* false: it held that restore point already */
	bool recovered; /* an interrupted update was finished first */
	const char *mode; /* "full", "reflink", "journal", "none"; static */
	uint64_t bytes_changed; /* by the tree diff (0 for full, or with --force) */
	uint64_t bytes_written; /* into the image(s) */
	uint64_t bytes_fetched; /* from the repository */
	double seconds;
};

/* Records the standby and brings it to the newest restore point (a full
 * restore); the row is removed again when that fails. */
int cairn_app_standby_create(const struct cairn_app *app, struct cairn_state *st, const struct cairn_app_standby_create *o,
			     struct cairn_app_standby_result *ret);
/* Finishes an interrupted update, then applies o->at or the newest
 * restore point.  A target whose fingerprint is not the one the standby
 * left is refused (CAIRN_EPERM) unless o->force. */
int cairn_app_standby_update(const struct cairn_app *app, struct cairn_state *st, const char *name,
			     const struct cairn_app_standby_update *o, struct cairn_app_standby_result *ret);
/* Finishes or discards an interrupted update of the standby, if no other
 * process works on it (nothing needs the repository); *ret_recovered
 * (may be NULL) says whether one was finished. */
int cairn_app_standby_recover(const struct cairn_app *app, struct cairn_state *st, const char *name,
			      bool *ret_recovered);
/* Removes the standby's row and its staging files; its image stays. */
int cairn_app_standby_delete(const struct cairn_app *app, struct cairn_state *st, const char *name);

/* A standby against its repository. */
struct cairn_app_standby_status {
	struct cairn_standby sb;
	char newest[33];          /* the newest restore point there ("" unknown) */
	int64_t newest_created_us;
	int64_t lag_s;            /* now - the held restore point's creation; -1 none */
	bool behind;              /* the repository has a newer one */
	bool late;                /* behind, and held one older than 2 x every (or none held) */
	bool failed_over;         /* handed over by 'dr failover' (never late) */
	char *error;              /* why the repository could not be read, or NULL */
};
void cairn_app_standby_statuses_free(struct cairn_app_standby_status *v, size_t n);
/* Every standby (name NULL) or one. */
int cairn_app_standby_status(const struct cairn_app *app, struct cairn_state *st, const char *name,
			     struct cairn_app_standby_status **ret, size_t *ret_n);

#endif
