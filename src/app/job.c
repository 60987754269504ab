/* Job rows, logs and cancellation (job.h). */
#include "app/job.h"
#include "util/cancel.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UPDATE_EVERY 0.25 /* seconds between row updates */

static void job_log_sink(int level, const char *line, void *ud)
{
	struct cairn_app_job *j = ud;
	if (j->st && j->id)
		(void)cairn_job_log(j->st, j->id, level, line);
}

static void attach(const struct cairn_app *app, struct cairn_app_job *j)
{
	j->t0 = cairn_now();
	j->last_update = 0;
	j->delay_ms = app->test_job_delay_ms;
	if (j->st && j->id)
		cairn_log_set_sink(job_log_sink, j);
}

/* Set once the process's first job has taken app->queued_job: a command
 * that begins more jobs (a group restore's members) makes rows for the
 * others. */
static bool queued_taken;

#define BUSY_POLL_MS 500 /* how often a queued job looks at a busy volume again */

/* Makes the daemon's queued row (app->queued_job) ours: claims the
 * volumes as a job of our own would, and names this process its runner.
 * A volume another job holds is waited for, the row staying queued (the
 * API and `cairn status` show it so), instead of failing a request that
 * was accepted: the claim is taken when the holder ends.  A cancel of
 * the row, or a signal to this process (the daemon stopping), ends the
 * wait. */
static int take_queued(const struct cairn_app *app, struct cairn_state *st, const char *const *volumes,
		       size_t nvolumes, struct cairn_app_job *j)
{
	queued_taken = true;
	int64_t id = app->queued_job;
	bool said = false;
	int r;
	while ((r = cairn_job_start(st, id, volumes, nvolumes)) == CAIRN_EBUSY) {
		if (!said) {
			/* In the job's log, where its reader looks. */
			(void)cairn_job_log(st, id, 1, cairn_error_message());
			(void)cairn_job_log(st, id, 1, "queued until the volume is free");
			said = true;
		}
		cairn_error_clear();
		struct timespec ts = { 0, BUSY_POLL_MS * 1000000L };
		nanosleep(&ts, NULL);
		if (cairn_cancel_check())
			return cairn_error_set(CAIRN_ECANCELED, "job %lld: stopped while waiting for a busy volume",
					       (long long)id);
		/* A cancel of a queued row only marks it (no process to signal
		 * yet as far as the canceller knows): look at the row. */
		struct cairn_job row;
		if (cairn_job_get(st, id, &row) == 0) {
			bool queued = row.state == CAIRN_JOB_QUEUED;
			cairn_job_clear(&row);
			if (!queued)
				return cairn_error_set(CAIRN_ECANCELED, "job %lld: canceled while waiting for a busy volume",
						       (long long)id);
		}
		cairn_error_clear();
	}
	if (r < 0)
		return cairn_error_prefix(r, "job %lld", (long long)id);
	if (said)
		(void)cairn_job_log(st, id, 1, "the volume is free: started");
	j->id = id;
	return 0;
}

int cairn_app_job_begin(const struct cairn_app *app, struct cairn_state *st, const char *kind, const char *policy,
			const char *source, const char *repo, const char *const *volumes, size_t nvolumes,
			struct cairn_app_job *j)
{
	memset(j, 0, sizeof(*j));
	bool adopt = app->queued_job && !queued_taken;
	if (!st) {
		if (cairn_app_state_open(app, false, &st) < 0) {
			cairn_log_info("no job record: %s", cairn_error_message());
			cairn_error_clear();
			j->t0 = cairn_now();
			j->delay_ms = app->test_job_delay_ms;
			return 0;
		}
		j->own_st = true;
	}
	j->st = st;
	struct cairn_job_new n = { .kind = kind, .policy = policy, .source = source, .repo = repo };
	int r = adopt ? take_queued(app, st, volumes, nvolumes, j) : cairn_job_begin(st, &n, volumes, nvolumes, &j->id);
	if (r < 0) {
		if (j->own_st)
			cairn_state_free(st);
		memset(j, 0, sizeof(*j));
		return r;
	}
	attach(app, j);
	return 0;
}

int cairn_app_job_adopt(const struct cairn_app *app, struct cairn_state *st, int64_t id, struct cairn_app_job *j)
{
	memset(j, 0, sizeof(*j));
	struct cairn_job row;
	int r = cairn_job_get(st, id, &row);
	if (r < 0)
		return r;
	bool active = row.state == CAIRN_JOB_ACTIVE;
	cairn_job_clear(&row);
	if (!active)
		return cairn_error_set(CAIRN_EINVAL, "job %lld is not active (canceled?)", (long long)id);
	if ((r = cairn_job_set_runner(st, id, getpid())) < 0)
		return r;
	j->st = st;
	j->id = id;
	attach(app, j);
	return 0;
}

void cairn_app_job_progress(uint64_t done, uint64_t total, void *ud)
{
	struct cairn_app_job *j = ud;
	if (j->delay_ms) {
		struct timespec ts = { j->delay_ms / 1000, (long)(j->delay_ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	j->done = done;
	j->total = total;
	if (j->chain)
		j->chain(done, total, j->chain_ud);
	if (!j->st || !j->id)
		return;
	double now = cairn_now();
	if (now - j->last_update < UPDATE_EVERY && done != total)
		return;
	j->last_update = now;
	bool cancel = false;
	if (cairn_job_progress(j->st, j->id, done, total, now - j->t0, &cancel) < 0) {
		cairn_error_clear();
		return; /* a busy database must not stop the job */
	}
	if (cancel && !j->cancel_seen) {
		j->cancel_seen = true;
		cairn_log_info("cancel requested: stopping at the next safe point");
		cairn_cancel_requested = 1;
	}
}

int cairn_app_job_end(struct cairn_app_job *j, int r, const char *result)
{
	cairn_log_set_sink(NULL, NULL);
	if (!j->st || !j->id) {
		if (j->own_st)
			cairn_state_free(j->st);
		memset(j, 0, sizeof(*j));
		return r;
	}
	char msg[1024] = "";
	if (r < 0)
		cairn_error_copy(msg, sizeof(msg));
	enum cairn_job_state state = r >= 0 ? CAIRN_JOB_DONE : r == CAIRN_ECANCELED ? CAIRN_JOB_CANCELED : CAIRN_JOB_FAILED;
	const char *stop = NULL;
	if (state == CAIRN_JOB_CANCELED) {
		stop = j->cancel_seen || !j->daemon_child ? "cancel" : "shutdown";
		if (!strcmp(stop, "shutdown"))
			snprintf(msg, sizeof(msg), "stopped at a safe point: the daemon is shutting down (the next run "
						   "resumes)");
		else if (j->cancel_seen)
			snprintf(msg, sizeof(msg), "canceled at a safe point ('cairn cancel')");
	}
	double el = cairn_now() - j->t0;
	if (r >= 0)
		(void)cairn_job_log(j->st, j->id, 1, result ? result : "done");
	else
		(void)cairn_job_log(j->st, j->id, 0, msg[0] ? msg : cairn_error_name(r));
	if (r >= 0 && j->total)
		(void)cairn_job_progress(j->st, j->id, j->done, j->total, el, NULL);
	if (cairn_job_finish(j->st, j->id, state, stop, r < 0 ? (msg[0] ? msg : cairn_error_name(r)) : NULL, result,
			     el) < 0)
		cairn_log_warn("job %lld not recorded as finished: %s", (long long)j->id, cairn_error_message());
	if (r < 0)
		cairn_error_set(r, "%s", msg); /* keep the job's reason for the caller */
	if (j->own_st)
		cairn_state_free(j->st);
	memset(j, 0, sizeof(*j));
	return r;
}

void cairn_app_job_chain(struct cairn_app_job *j, const struct cairn_app_progress *p)
{
	j->chain = p ? p->fn : NULL;
	j->chain_ud = p ? p->ud : NULL;
}

void cairn_app_progress_done(const struct cairn_app_progress *p)
{
	if (p && p->done)
		p->done(p->ud);
}
