/* The application layer: the use cases every front end calls (the command
 * line and the daemon today; an HTTP API and a FUSE mount later).  A front
 * end reads its settings (options, the environment) into a struct
 * cairn_app once, then calls the functions of app/: open a repository
 * from a reference (open.h), run a job with its row, log and cancellation
 * (job.h): a backup (backup.h), a restore (restore.h), a check (check.h),
 * a prune (prune.h), a group's backup and restore (group.h); run a
 * policy with its retention (policy.h), keep the record of backups seen
 * (seen.h), lend engine the snapshot registry (snapreg.h).
 * Layers: app calls engine, state, repo, source and store; front ends
 * call app. */
#ifndef CAIRN_APP_APP_H
#define CAIRN_APP_APP_H

#include "app/passphrase.h"
#include "state/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cairn_app {
	/* The state directory (NULL: none known: then no job rows, no
	 * stored credentials) and its key file (NULL: the default). */
	const char *state_dir;
	const char *state_key_file;
	/* Where the repository passphrase comes from when a repository
	 * reference names no other source. */
	struct cairn_pass_source pass;
	/* Tests only: every progress report of a job sleeps this long, so
	 * that a test can catch a job while it runs. */
	unsigned test_job_delay_ms;
	/* A queued job row (the daemon's API made it: daemon/jobq.h) that
	 * the first job this process begins adopts instead of making its
	 * own row; 0: none. */
	int64_t queued_job;
};

/* Opens the state database of app->state_dir.  no_create: CAIRN_ENOTFOUND
 * when there is none yet. */
int cairn_app_state_open(const struct cairn_app *app, bool no_create, struct cairn_state **ret);

/* Human sizes ("1.5 GiB"), as messages and logs give them. */
void cairn_app_human_size(uint64_t v, char *buf, size_t size);

#endif
