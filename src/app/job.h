/* Jobs (state/jobs.h): every backup, restore, copy, check, forget and
 * prune a front end runs is a job row; progress goes to the row (a few
 * times a second), log lines to the job's log, and a cancel asked for in
 * the row stops the job at its next safe point. */
#ifndef CAIRN_APP_JOB_H
#define CAIRN_APP_JOB_H

#include "app/app.h"
#include "engine/engine.h"
#include "state/jobs.h"

struct cairn_app_job {
	struct cairn_state *st; /* NULL: no state database (no row) */
	bool own_st;
	int64_t id;             /* 0: no row */
	double t0, last_update;
	/* Progress is also handed on to this (a terminal's bar; may be NULL). */
	cairn_progress_fn chain;
	void *chain_ud;
	bool cancel_seen;       /* the row asked us to stop */
	bool daemon_child;      /* canceled by SIGTERM means "shutdown" */
	unsigned delay_ms;      /* app->test_job_delay_ms */
	uint64_t done, total;
};

/* A front end's view of a job's progress (a terminal's bar): fn sees
 * every report (may be NULL), done is called once the work has ended,
 * before the row is (may be NULL). */
struct cairn_app_progress {
	cairn_progress_fn fn;
	void (*done)(void *ud);
	void *ud;
};
/* Hands j's reports on to p (p may be NULL). */
void cairn_app_job_chain(struct cairn_app_job *j, const struct cairn_app_progress *p);
/* p->done, when there is one. */
void cairn_app_progress_done(const struct cairn_app_progress *p);

/* Starts a job row for kind on source (claiming volumes, absolute paths).
 * st may be NULL: the app's state database is opened, and if it cannot
 * be, the job runs without a row (logged).  A volume in use by another
 * job is an error (CAIRN_EBUSY). */
int cairn_app_job_begin(const struct cairn_app *app, struct cairn_state *st, const char *kind, const char *policy,
			const char *source, const char *repo, const char *const *volumes, size_t nvolumes,
			struct cairn_app_job *j);
/* Adopts a row the daemon made active for this process (policy run --job). */
int cairn_app_job_adopt(const struct cairn_app *app, struct cairn_state *st, int64_t id, struct cairn_app_job *j);
/* A cairn_progress_fn (ud: the job): updates the row, reads its cancel
 * flag, hands the report on to chain. */
void cairn_app_job_progress(uint64_t done, uint64_t total, void *ud);
/* Ends the row from r (0 done, CAIRN_ECANCELED canceled, else failed with
 * the current error message); returns r. */
int cairn_app_job_end(struct cairn_app_job *j, int r, const char *result);

#endif
