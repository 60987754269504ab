/* Jobs in the state database (jobs.h; schema in state.h). */
#include "state/jobs.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/procid.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = { "queued", "active", "done", "failed", "canceled" };

const char *cairn_job_state_name(enum cairn_job_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "unknown";
}

static enum cairn_job_state state_parse(const char *s)
{
	for (unsigned i = 0; s && i < ARRAY_SIZE(state_names); i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum cairn_job_state)i;
	return CAIRN_JOB_FAILED;
}

void cairn_job_clear(struct cairn_job *j)
{
	if (!j)
		return;
	free(j->kind);
	free(j->policy);
	free(j->source);
	free(j->repo);
	free(j->error);
	free(j->result);
	free(j->stop);
	free(j->host);
	memset(j, 0, sizeof(*j));
}

void cairn_jobs_free(struct cairn_job *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cairn_job_clear(&v[i]);
	free(v);
}

static void bind_self(sqlite3_stmt *s, int first)
{
	struct cairn_proc_id me;
	cairn_proc_id_self(&me);
	sqlite3_bind_text(s, first, me.host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, first + 1, me.boot_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, first + 2, me.pid);
	sqlite3_bind_int64(s, first + 3, (sqlite3_int64)me.start);
}

int cairn_job_create(struct cairn_state *st, const struct cairn_job_new *n, int64_t *ret_id)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st,
				    "INSERT INTO jobs (kind, policy, source, repo, state, queued, heartbeat, host,"
				    " boot_id, pid, pid_start) VALUES (?,?,?,?,'queued',?,?,?,?,?,?)",
				    &s);
	if (r < 0)
		return r;
	int64_t now = cairn_wall_now();
	sqlite3_bind_text(s, 1, n->kind, -1, SQLITE_TRANSIENT);
	cairn_state_bind_opt(s, 2, n->policy);
	sqlite3_bind_text(s, 3, n->source ? n->source : "", -1, SQLITE_TRANSIENT);
	cairn_state_bind_opt(s, 4, n->repo);
	sqlite3_bind_int64(s, 5, now);
	sqlite3_bind_int64(s, 6, now);
	bind_self(s, 7);
	if ((r = cairn_state_step_done(st, s, "create job")) < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(cairn_state_db(st));
	return 0;
}

static int holder_busy(struct cairn_state *st, const char *volume, int64_t holder)
{
	struct cairn_job j;
	if (cairn_job_get(st, holder, &j) < 0)
		return cairn_error_set(CAIRN_EBUSY, "%s is busy: job %lld is using it", volume, (long long)holder);
	int r = cairn_error_set(CAIRN_EBUSY, "%s is busy: job %lld (%s%s%s) is using it; see 'cairn status'", volume,
				(long long)holder, j.kind, j.policy ? " of policy " : "", j.policy ? j.policy : "");
	cairn_job_clear(&j);
	return r;
}

static int claim(struct cairn_state *st, int64_t id, const char *volume)
{
	_cleanup_stmt_ sqlite3_stmt *q = NULL;
	int r = cairn_state_prepare(st, "SELECT job FROM job_volumes WHERE volume = ?", &q);
	if (r < 0)
		return r;
	sqlite3_bind_text(q, 1, volume, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		int64_t holder = sqlite3_column_int64(q, 0);
		if (holder == id)
			return 0;
		return holder_busy(st, volume, holder);
	}
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "read volume claims");
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	if ((r = cairn_state_prepare(st, "INSERT INTO job_volumes (volume, job) VALUES (?,?)", &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, volume, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, id);
	return cairn_state_step_done(st, s, "claim volume");
}

int cairn_job_start(struct cairn_state *st, int64_t id, const char *const *volumes, size_t nvolumes)
{
	int r = cairn_job_reap(st, NULL);
	if (r < 0)
		return r;
	if ((r = cairn_state_begin(st)) < 0)
		return r;
	for (size_t i = 0; i < nvolumes && r >= 0; i++)
		r = claim(st, id, volumes[i]);
	if (r >= 0) {
		_cleanup_stmt_ sqlite3_stmt *s = NULL;
		r = cairn_state_prepare(st,
					"UPDATE jobs SET state = 'active', started = ?, heartbeat = ?, host = ?,"
					" boot_id = ?, pid = ?, pid_start = ? WHERE id = ? AND state = 'queued'",
					&s);
		if (r >= 0) {
			int64_t now = cairn_wall_now();
			sqlite3_bind_int64(s, 1, now);
			sqlite3_bind_int64(s, 2, now);
			bind_self(s, 3);
			sqlite3_bind_int64(s, 7, id);
			r = cairn_state_step_done(st, s, "start job");
		}
		if (r >= 0 && sqlite3_changes(cairn_state_db(st)) == 0)
			r = cairn_error_set(CAIRN_EINVAL, "job %lld is not queued (canceled?)", (long long)id);
	}
	if (r >= 0)
		r = cairn_state_commit(st);
	if (r < 0)
		cairn_state_rollback(st);
	return r;
}

static int delete_job(struct cairn_state *st, int64_t id)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "DELETE FROM jobs WHERE id = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	return cairn_state_step_done(st, s, "delete job");
}

int cairn_job_begin(struct cairn_state *st, const struct cairn_job_new *n, const char *const *volumes,
		    size_t nvolumes, int64_t *ret_id)
{
	int64_t id;
	int r = cairn_job_create(st, n, &id);
	if (r < 0)
		return r;
	if ((r = cairn_job_start(st, id, volumes, nvolumes)) < 0) {
		/* It never ran: no row, the message says why. */
		char msg[1024];
		cairn_error_copy(msg, sizeof(msg));
		(void)delete_job(st, id);
		return cairn_error_set(r, "%s", msg);
	}
	*ret_id = id;
	return 0;
}

int cairn_job_set_runner(struct cairn_state *st, int64_t id, int64_t pid)
{
	uint64_t start = 0;
	(void)cairn_proc_start_time((pid_t)pid, &start);
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "UPDATE jobs SET pid = ?, pid_start = ? WHERE id = ? AND state = 'active'", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, pid);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)start);
	sqlite3_bind_int64(s, 3, id);
	return cairn_state_step_done(st, s, "update job");
}

int cairn_job_progress(struct cairn_state *st, int64_t id, uint64_t done, uint64_t total, double elapsed_s,
		       bool *ret_cancel)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st,
				    "UPDATE jobs SET bytes_done = ?, bytes_total = ?, elapsed_ms = ?, heartbeat = ?"
				    " WHERE id = ? RETURNING cancel",
				    &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)done);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)total);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)(elapsed_s * 1000));
	sqlite3_bind_int64(s, 4, cairn_wall_now());
	sqlite3_bind_int64(s, 5, id);
	int rc = sqlite3_step(s);
	bool cancel = false;
	if (rc == SQLITE_ROW) {
		cancel = sqlite3_column_int(s, 0) != 0;
		rc = sqlite3_step(s);
	}
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "update job progress");
	if (ret_cancel)
		*ret_cancel = cancel;
	return 0;
}

static int release(struct cairn_state *st, int64_t id)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "DELETE FROM job_volumes WHERE job = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	return cairn_state_step_done(st, s, "release volumes");
}

static int trim(struct cairn_state *st)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st,
				    "DELETE FROM jobs WHERE state IN ('done', 'failed', 'canceled') AND id NOT IN"
				    " (SELECT id FROM jobs WHERE state IN ('done', 'failed', 'canceled')"
				    " ORDER BY id DESC LIMIT ?)",
				    &s);
	if (r < 0)
		return r;
	sqlite3_bind_int(s, 1, CAIRN_JOB_KEEP);
	return cairn_state_step_done(st, s, "trim jobs");
}

static int finish_locked(struct cairn_state *st, int64_t id, enum cairn_job_state state, const char *stop,
			 const char *error, const char *result, double elapsed_s, bool keep_elapsed)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st,
				    keep_elapsed ? "UPDATE jobs SET state = ?, stop = ?, error = ?, result = ?,"
						   " completed = ? WHERE id = ?"
						 : "UPDATE jobs SET state = ?, stop = ?, error = ?, result = ?,"
						   " completed = ?, elapsed_ms = ? WHERE id = ?",
				    &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, cairn_job_state_name(state), -1, SQLITE_STATIC);
	cairn_state_bind_opt(s, 2, stop);
	cairn_state_bind_opt(s, 3, error);
	cairn_state_bind_opt(s, 4, result);
	sqlite3_bind_int64(s, 5, cairn_wall_now());
	if (keep_elapsed) {
		sqlite3_bind_int64(s, 6, id);
	} else {
		sqlite3_bind_int64(s, 6, (sqlite3_int64)(elapsed_s * 1000));
		sqlite3_bind_int64(s, 7, id);
	}
	if ((r = cairn_state_step_done(st, s, "finish job")) < 0)
		return r;
	return release(st, id);
}

int cairn_job_finish(struct cairn_state *st, int64_t id, enum cairn_job_state state, const char *stop,
		     const char *error, const char *result, double elapsed_s)
{
	int r = cairn_state_begin(st);
	if (r < 0)
		return r;
	r = finish_locked(st, id, state, stop, error, result, elapsed_s, false);
	if (r >= 0)
		r = trim(st);
	if (r >= 0)
		r = cairn_state_commit(st);
	if (r < 0)
		cairn_state_rollback(st);
	return r;
}

int cairn_job_log(struct cairn_state *st, int64_t id, int level, const char *line)
{
	int r = cairn_state_begin(st);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *a = NULL, *b = NULL, *c = NULL;
	r = cairn_state_prepare(st,
				"INSERT INTO job_log (job, seq, time, level, line)"
				" SELECT id, log_lines, ?, ?, ? FROM jobs WHERE id = ?",
				&a);
	if (r >= 0) {
		sqlite3_bind_int64(a, 1, cairn_wall_now());
		sqlite3_bind_int(a, 2, level);
		sqlite3_bind_text(a, 3, line, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(a, 4, id);
		r = cairn_state_step_done(st, a, "append to job log");
	}
	if (r >= 0)
		r = cairn_state_prepare(st,
					"UPDATE jobs SET log_lines = log_lines + 1,"
					" log_dropped = MAX(0, log_lines + 1 - ?) WHERE id = ?",
					&b);
	if (r >= 0) {
		sqlite3_bind_int(b, 1, CAIRN_JOB_LOG_MAX);
		sqlite3_bind_int64(b, 2, id);
		r = cairn_state_step_done(st, b, "append to job log");
	}
	if (r >= 0)
		r = cairn_state_prepare(st,
					"DELETE FROM job_log WHERE job = ? AND seq < (SELECT log_dropped FROM jobs WHERE id = ?)",
					&c);
	if (r >= 0) {
		sqlite3_bind_int64(c, 1, id);
		sqlite3_bind_int64(c, 2, id);
		r = cairn_state_step_done(st, c, "trim job log");
	}
	if (r >= 0)
		r = cairn_state_commit(st);
	if (r < 0)
		cairn_state_rollback(st);
	return r;
}

#define JOB_COLS                                                                                               \
	"id, kind, policy, source, repo, state, bytes_done, bytes_total, elapsed_ms, queued, started, completed," \
	" heartbeat, error, result, stop, host, pid, cancel, log_lines, log_dropped"

static int dup_col(sqlite3_stmt *s, int col, char **ret)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	*ret = t ? strdup((const char *)t) : NULL;
	return t && !*ret ? cairn_error_nomem() : 0;
}

static int read_job(sqlite3_stmt *s, struct cairn_job *j)
{
	memset(j, 0, sizeof(*j));
	int r;
	if ((r = dup_col(s, 1, &j->kind)) < 0 || (r = dup_col(s, 2, &j->policy)) < 0 ||
	    (r = dup_col(s, 3, &j->source)) < 0 || (r = dup_col(s, 4, &j->repo)) < 0 ||
	    (r = dup_col(s, 13, &j->error)) < 0 || (r = dup_col(s, 14, &j->result)) < 0 ||
	    (r = dup_col(s, 15, &j->stop)) < 0 || (r = dup_col(s, 16, &j->host)) < 0) {
		cairn_job_clear(j);
		return r;
	}
	if (!j->kind || !j->source) {
		cairn_job_clear(j);
		return cairn_error_set(CAIRN_ECORRUPT, "state database: a job row is damaged");
	}
	j->id = sqlite3_column_int64(s, 0);
	j->state = state_parse((const char *)sqlite3_column_text(s, 5));
	j->bytes_done = (uint64_t)sqlite3_column_int64(s, 6);
	j->bytes_total = (uint64_t)sqlite3_column_int64(s, 7);
	j->elapsed_s = (double)sqlite3_column_int64(s, 8) / 1000.0;
	j->queued = sqlite3_column_int64(s, 9);
	j->started = sqlite3_column_int64(s, 10);
	j->completed = sqlite3_column_int64(s, 11);
	j->heartbeat = sqlite3_column_int64(s, 12);
	j->pid = sqlite3_column_int64(s, 17);
	j->cancel = sqlite3_column_int(s, 18) != 0;
	j->log_lines = (uint64_t)sqlite3_column_int64(s, 19);
	j->log_dropped = (uint64_t)sqlite3_column_int64(s, 20);
	return 0;
}

int cairn_job_get(struct cairn_state *st, int64_t id, struct cairn_job *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return cairn_error_set(CAIRN_ENOTFOUND, "no job %lld (see 'cairn status')", (long long)id);
	if (rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "read job");
	return read_job(s, ret);
}

static int collect(struct cairn_state *st, sqlite3_stmt *s, struct cairn_job **v, size_t *n, size_t *cap)
{
	int rc, r;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((r = cairn_array_grow(v, cap, *n, sizeof(**v), 16)) < 0 || (r = read_job(s, &(*v)[*n])) < 0)
			return r;
		(*n)++;
	}
	return rc == SQLITE_DONE ? 0 : cairn_state_sqlite_error(st, rc, "list jobs");
}

int cairn_job_list(struct cairn_state *st, size_t recent, struct cairn_job **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *a = NULL, *b = NULL;
	struct cairn_job *v = NULL;
	size_t n = 0, cap = 0;
	int r = cairn_state_prepare(st,
				    "SELECT " JOB_COLS " FROM jobs WHERE state IN ('queued', 'active') ORDER BY id DESC",
				    &a);
	if (r >= 0)
		r = collect(st, a, &v, &n, &cap);
	if (r >= 0)
		r = cairn_state_prepare(st,
					"SELECT " JOB_COLS " FROM jobs WHERE state NOT IN ('queued', 'active')"
					" ORDER BY id DESC LIMIT ?",
					&b);
	if (r >= 0) {
		sqlite3_bind_int64(b, 1, (sqlite3_int64)recent);
		r = collect(st, b, &v, &n, &cap);
	}
	if (r < 0) {
		cairn_jobs_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int cairn_job_last_of(struct cairn_state *st, const char *policy, const char *kind, struct cairn_job *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st,
				    "SELECT " JOB_COLS " FROM jobs WHERE policy = ? AND kind = ? ORDER BY id DESC LIMIT 1",
				    &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, policy, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, kind, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return CAIRN_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "read job");
	return read_job(s, ret);
}

int cairn_job_cancel(struct cairn_state *st, int64_t id, enum cairn_job_state *ret_state)
{
	int r = cairn_job_reap(st, NULL);
	if (r < 0)
		return r;
	struct cairn_job j;
	if ((r = cairn_job_get(st, id, &j)) < 0)
		return r;
	enum cairn_job_state was = j.state;
	cairn_job_clear(&j);
	if (ret_state)
		*ret_state = was;
	if (was != CAIRN_JOB_QUEUED && was != CAIRN_JOB_ACTIVE)
		return cairn_error_set(CAIRN_EINVAL, "job %lld has finished already (%s)", (long long)id,
				       cairn_job_state_name(was));
	if (was == CAIRN_JOB_QUEUED)
		return cairn_job_finish(st, id, CAIRN_JOB_CANCELED, "cancel", "canceled before it started", NULL, 0);
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	if ((r = cairn_state_prepare(st, "UPDATE jobs SET cancel = 1 WHERE id = ?", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	return cairn_state_step_done(st, s, "cancel job");
}

int cairn_job_reap(struct cairn_state *st, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st,
				    "SELECT id, state, host, boot_id, pid, pid_start, heartbeat FROM jobs"
				    " WHERE state IN ('queued', 'active')",
				    &s);
	if (r < 0)
		return r;
	struct dead {
		int64_t id;
		bool active;
		char who[300];
	} *v = NULL;
	size_t n = 0, cap = 0;
	int64_t now = cairn_wall_now();
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cairn_proc_id p = { 0 };
		const char *host = (const char *)sqlite3_column_text(s, 2);
		const char *boot = (const char *)sqlite3_column_text(s, 3);
		snprintf(p.host, sizeof(p.host), "%s", host ? host : "");
		snprintf(p.boot_id, sizeof(p.boot_id), "%s", boot ? boot : "");
		p.pid = sqlite3_column_int64(s, 4);
		p.start = (uint64_t)sqlite3_column_int64(s, 5);
		int alive = cairn_proc_id_alive(&p);
		if (alive == CAIRN_PROC_UNKNOWN)
			alive = sqlite3_column_int64(s, 6) + CAIRN_JOB_STALE_S < now ? CAIRN_PROC_DEAD : CAIRN_PROC_ALIVE;
		if (alive != CAIRN_PROC_DEAD)
			continue;
		if ((r = cairn_array_grow(&v, &cap, n, sizeof(*v), 8)) < 0) {
			free(v);
			return r;
		}
		v[n].id = sqlite3_column_int64(s, 0);
		const char *state = (const char *)sqlite3_column_text(s, 1);
		v[n].active = state && strcmp(state, "active") == 0;
		snprintf(v[n].who, sizeof(v[n].who), "pid %lld on %s", (long long)p.pid, p.host);
		n++;
	}
	if (rc != SQLITE_DONE) {
		free(v);
		return cairn_state_sqlite_error(st, rc, "list jobs");
	}
	sqlite3_reset(s);
	for (size_t i = 0; i < n && r >= 0; i++) {
		char msg[400];
		if ((r = cairn_state_begin(st)) < 0)
			break;
		if (v[i].active)
			snprintf(msg, sizeof(msg), "the process running it (%s) ended without finishing it", v[i].who);
		else
			snprintf(msg, sizeof(msg), "the process that queued it (%s) ended before it started", v[i].who);
		r = finish_locked(st, v[i].id, v[i].active ? CAIRN_JOB_FAILED : CAIRN_JOB_CANCELED,
				  v[i].active ? NULL : "shutdown", msg, NULL, 0, true);
		if (r >= 0)
			r = cairn_state_commit(st);
		if (r < 0)
			cairn_state_rollback(st);
	}
	free(v);
	if (r >= 0 && ret_n)
		*ret_n = n;
	return r;
}

int cairn_job_log_each(struct cairn_state *st, int64_t id, cairn_job_log_fn fn, void *ud)
{
	struct cairn_job j;
	int r = cairn_job_get(st, id, &j);
	if (r < 0)
		return r;
	cairn_job_clear(&j);
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	if ((r = cairn_state_prepare(st, "SELECT time, level, line FROM job_log WHERE job = ? ORDER BY seq", &s)) < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(s, 2);
		if ((r = fn(sqlite3_column_int64(s, 0), sqlite3_column_int(s, 1), line ? line : "", ud)) != 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : cairn_state_sqlite_error(st, rc, "read job log");
}
