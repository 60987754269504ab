/* Recovery drills (`cairn drill`, docs/design.md §15): restore a volume's
 * or a group's newest restore point (or a chosen one) to a scratch
 * directory, check what came back (a file system check of the type
 * libblkid finds, or the user's command), measure the RTO, record the
 * verdict in the state database (state/drills.h), and remove the scratch
 * copy whatever happened.  One job row of kind "drill". */
#ifndef CAIRN_APP_DRILL_H
#define CAIRN_APP_DRILL_H

#include "app/app.h"
#include "app/job.h"
#include "repo/repo.h"

#include <jansson.h>

struct cairn_app_drill {
	bool group;           /* name is a group's, else a volume's */
	const char *name;
	const char *uri;      /* the repository, for the rows */
	const char *at;       /* a backup id (prefix) or NULL: the newest */
	const char *scratch;  /* parent directory; NULL: STATE_DIR/drills */
	const char *verify_command; /* instead of the file system check; NULL none */
	struct cairn_app_progress progress;
};

/* Runs the drill.  Returns a negative error when it could not be run
 * (nothing recorded: no such volume, scratch too small, canceled); else 0
 * and *ret (owned): {"kind", "name", "repo", "backup", "ok", "message",
 * "restore_s", "check_s", "bytes", "rto_s", "drill" (row id), "job",
 * "members": [{"volume", "backup", "size", "bytes", "fs_type"|null,
 * "check", "ok", "message"}]}: a restore or a check that failed is a
 * failed drill ("ok": false), recorded as such. */
int cairn_app_drill_run(const struct cairn_app *app, struct cairn_repo *repo, const struct cairn_app_drill *o,
			json_t **ret);

#endif
