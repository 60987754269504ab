/* Jobs (docs/design.md §2): one row per run of backup, restore, check,
 * forget or prune, whoever started it (the daemon or a CLI command), with
 * its state, progress, times, error and a bounded log.  Tables jobs,
 * job_log and job_volumes (state.h).
 *
 * LIFECYCLE
 *   queued -> active -> done | failed | canceled.  A job becomes active by
 *   claiming its volumes (job_volumes): at most one job per volume at a
 *   time, across every process sharing the state directory.  The row names
 *   the process that runs it (host, boot id, pid, pid start time); a job
 *   whose process is gone (kill -9, a crash, a reboot) is marked failed by
 *   the next cairn_job_reap() (status, the daemon and every job start call
 *   it), and its claims are released.  Rows of another host (a shared
 *   state directory) are judged by their heartbeat instead: older than
 *   CAIRN_JOB_STALE_S, the job is dead.
 *
 * CANCEL
 *   cairn_job_cancel() sets a flag that the job's own progress updates
 *   read (a few times a second); the job then stops at its next safe point
 *   and ends canceled.  A queued job is canceled at once.
 *
 * LOG
 *   The last CAIRN_JOB_LOG_MAX lines of each job are kept (older ones are
 *   dropped and counted); the newest CAIRN_JOB_KEEP finished jobs are kept
 *   with their logs, older ones are deleted when new jobs start.
 */
#ifndef CAIRN_STATE_JOBS_H
#define CAIRN_STATE_JOBS_H

#include "state/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAIRN_JOB_LOG_MAX 2000
#define CAIRN_JOB_KEEP 1000
#define CAIRN_JOB_STALE_S 3600

enum cairn_job_state {
	CAIRN_JOB_QUEUED,
	CAIRN_JOB_ACTIVE,
	CAIRN_JOB_DONE,
	CAIRN_JOB_FAILED,
	CAIRN_JOB_CANCELED,
};
const char *cairn_job_state_name(enum cairn_job_state s);

struct cairn_job {
	int64_t id;
	char *kind;   /* "backup", "restore", "check", "forget", "prune" */
	char *policy; /* NULL when started by hand */
	char *source; /* volume path, group name, or the repository */
	char *repo;
	enum cairn_job_state state;
	uint64_t bytes_done, bytes_total;
	double elapsed_s;
	int64_t queued, started, completed, heartbeat; /* unix seconds; 0 unset */
	char *error;
	char *result; /* e.g. the new backup's id */
	char *stop;   /* canceled jobs: "cancel" (by a user) or "shutdown" (daemon stopping) */
	char *host;
	int64_t pid;
	bool cancel;  /* cancel requested */
	uint64_t log_lines, log_dropped;
};

void cairn_job_clear(struct cairn_job *j);
void cairn_jobs_free(struct cairn_job *v, size_t n);

struct cairn_job_new {
	const char *kind, *policy, *source, *repo;
};

/* Inserts a queued job owned (until it starts) by this process. */
int cairn_job_create(struct cairn_state *st, const struct cairn_job_new *n, int64_t *ret_id);
/* Claims the volumes (absolute paths) for job id and makes it active in
 * this process.  CAIRN_EBUSY, naming the job that holds one, when a live
 * job has it; CAIRN_EINVAL when the job is not queued (canceled meanwhile). */
int cairn_job_start(struct cairn_state *st, int64_t id, const char *const *volumes, size_t nvolumes);
/* create + start in one step (a CLI command). */
int cairn_job_begin(struct cairn_state *st, const struct cairn_job_new *n, const char *const *volumes,
		    size_t nvolumes, int64_t *ret_id);
/* The process running an active job is now pid (the daemon's child). */
int cairn_job_set_runner(struct cairn_state *st, int64_t id, int64_t pid);
/* Progress and heartbeat; *ret_cancel (may be NULL) tells whether a cancel
 * was asked for. */
int cairn_job_progress(struct cairn_state *st, int64_t id, uint64_t done, uint64_t total, double elapsed_s,
		       bool *ret_cancel);
/* Ends a job (state DONE, FAILED or CANCELED) and releases its volumes. */
int cairn_job_finish(struct cairn_state *st, int64_t id, enum cairn_job_state state, const char *stop,
		     const char *error, const char *result, double elapsed_s);
/* Appends a log line (level 0 warning, 1 info, 2 debug). */
int cairn_job_log(struct cairn_state *st, int64_t id, int level, const char *line);
/* Cancels a queued job, or asks an active one to stop.  CAIRN_ENOTFOUND,
 * CAIRN_EINVAL when it has finished.  *ret_state gets its state before. */
int cairn_job_cancel(struct cairn_state *st, int64_t id, enum cairn_job_state *ret_state);

int cairn_job_get(struct cairn_state *st, int64_t id, struct cairn_job *ret);
/* Queued and active jobs, then the newest `recent` finished ones, newest
 * first within each. */
int cairn_job_list(struct cairn_state *st, size_t recent, struct cairn_job **ret, size_t *ret_n);
/* The newest job of a policy and kind (CAIRN_ENOTFOUND when none). */
int cairn_job_last_of(struct cairn_state *st, const char *policy, const char *kind, struct cairn_job *ret);

/* Marks active jobs whose process is gone as failed, and queued jobs whose
 * creator is gone as canceled; releases their volumes.  *ret_n (may be
 * NULL) counts them. */
int cairn_job_reap(struct cairn_state *st, size_t *ret_n);

typedef int (*cairn_job_log_fn)(int64_t time, int level, const char *line, void *ud);
/* Every kept log line of a job, oldest first (CAIRN_ENOTFOUND: no job). */
int cairn_job_log_each(struct cairn_state *st, int64_t id, cairn_job_log_fn fn, void *ud);

#endif
