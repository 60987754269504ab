/* Jobs the daemon's HTTP API queues for commands other than a policy's
 * run (a restore, a copy, a forget, a standby's update, a failover).
 *
 * The API checks the request, then makes a queued job row (no policy) and
 * writes the command line that runs it, as a JSON array of words without
 * the program's name, to STATE_DIR/api-jobs/ID.json.  The daemon's loop
 * takes the file of each queued row it finds one for and runs the command
 * as its child (`cairn WORDS... --state-dir DIR`) with CAIRN_QUEUED_JOB=ID
 * in its environment: the command's first job then adopts the row
 * (app->queued_job, app/job.c) instead of making its own, so the CLI's
 * code runs the job and the row, its log and its progress are the ones the
 * API handed out.  The child's stderr goes to STATE_DIR/api-jobs/ID.err:
 * a command that ends without finishing the row (it failed before its
 * job began, or it makes no row) has the row settled from its exit status
 * and the last line it wrote there. */
#ifndef CAIRN_DAEMON_JOBQ_H
#define CAIRN_DAEMON_JOBQ_H

#include "state/jobs.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CAIRN_JOBQ_ENV "CAIRN_QUEUED_JOB"

/* Makes the queued row n and its command line (a JSON array of strings;
 * borrowed).  The row is canceled again if the file cannot be written. */
int cairn_jobq_put(const char *state_dir, struct cairn_state *st, const struct cairn_job_new *n, json_t *words,
		   int64_t *ret_id);
/* Takes job id's command line (the file is removed): *ret_words, a
 * NULL-terminated malloc'd array of malloc'd strings (cairn_jobq_words_free).
 * CAIRN_ENOTFOUND: the row is not one the API queued (or it was taken). */
int cairn_jobq_take(const char *state_dir, int64_t id, char ***ret_words);
void cairn_jobq_words_free(char **words);
/* The file the child's stderr goes to. */
void cairn_jobq_err_path(const char *state_dir, int64_t id, char *buf, size_t size);
/* The child of job id exited with wait status `status`: a row it left
 * queued or active ends done (exit 0) or failed (the last line of its
 * stderr); the stderr file is removed. */
int cairn_jobq_settle(const char *state_dir, struct cairn_state *st, int64_t id, int status);
/* Removes the command lines of rows no longer queued (canceled before
 * the daemon took them, or reaped after a daemon went away). */
int cairn_jobq_sweep(const char *state_dir, struct cairn_state *st);

#endif
