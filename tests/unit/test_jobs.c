/* state/policies and state/jobs: rows, volume claims, cancel, logs, and the
 * detection of jobs whose process died. */
#include "helpers.h"

#include "state/drills.h"
#include "state/jobs.h"
#include "state/policies.h"
#include "util/cleanup.h"

#include <sys/wait.h>
#include <time.h>

static struct cairn_state *st_of(void **state)
{
	return ((struct th_state_fx *)*state)->st;
}

static void test_policies(void **state)
{
	struct cairn_state *st = st_of(state);
	struct cairn_policy p = { .name = "nightly", .kind = CAIRN_POLICY_VOLUME, .source = "/img/a.img",
				  .repo = "/backup/repo", .cron = "30 2 * * *", .keep_daily = 7, .keep_weekly = -1,
				  .keep_within = "2d", .full_every = 7 };
	ck_ok(cairn_policy_create(st, &p));
	ck_err(cairn_policy_create(st, &p), CAIRN_EEXIST);
	struct cairn_policy q = { .name = "fast", .kind = CAIRN_POLICY_GROUP, .source = "app", .repo = "s3://b/p",
				  .cred = "00000000-0000-4000-8000-000000000001", .every = 900, .snapshot = "none" };
	ck_ok(cairn_policy_create(st, &q));
	struct cairn_policy bad = q;
	bad.name = "a b";
	ck_err(cairn_policy_create(st, &bad), CAIRN_EINVAL);
	bad.name = "both";
	bad.cron = "* * * * *";
	ck_err(cairn_policy_create(st, &bad), CAIRN_EINVAL);
	bad.every = 0;
	bad.cron = NULL;
	ck_err(cairn_policy_create(st, &bad), CAIRN_EINVAL);

	struct cairn_policy got;
	ck_ok(cairn_policy_get(st, "nightly", &got));
	assert_string_equal(got.source, "/img/a.img");
	assert_string_equal(got.cron, "30 2 * * *");
	assert_int_equal(got.every, 0);
	assert_int_equal(got.keep_daily, 7);
	assert_int_equal(got.keep_weekly, -1);
	assert_string_equal(got.keep_within, "2d");
	assert_int_equal(got.full_every, 7);
	assert_string_equal(got.snapshot, "auto");
	assert_false(got.paused);
	assert_int_equal(got.last_run, 0);
	assert_int_equal(got.scope, CAIRN_SCOPE_POLICY);
	assert_null(got.volume_name);
	assert_int_equal(strlen(got.id), 32);
	assert_int_equal(strspn(got.id, "0123456789abcdef"), 32);
	char id1[33];
	snprintf(id1, sizeof(id1), "%s", got.id);
	cairn_policy_clear(&got);
	/* Every policy its own id; name and scope kept. */
	struct cairn_policy w = p;
	w.name = "wide";
	w.volume_name = "db";
	w.scope = CAIRN_SCOPE_VOLUME;
	ck_ok(cairn_policy_create(st, &w));
	ck_ok(cairn_policy_get(st, "wide", &got));
	assert_int_equal(got.scope, CAIRN_SCOPE_VOLUME);
	assert_string_equal(got.volume_name, "db");
	assert_string_not_equal(got.id, id1);
	cairn_policy_clear(&got);
	ck_ok(cairn_policy_delete(st, "wide"));
	ck_err(cairn_policy_get(st, "nosuch", &got), CAIRN_ENOTFOUND);

	ck_ok(cairn_policy_set_paused(st, "fast", true));
	ck_ok(cairn_policy_set_last_run(st, "fast", 1234));
	ck_ok(cairn_policy_count_backup(st, "fast"));
	ck_ok(cairn_policy_count_backup(st, "fast"));
	struct cairn_policy *v = NULL;
	size_t n = 0;
	ck_ok(cairn_policy_list(st, &v, &n));
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "fast");
	assert_true(v[0].paused);
	assert_int_equal(v[0].kind, CAIRN_POLICY_GROUP);
	assert_string_equal(v[0].cred, q.cred);
	assert_int_equal(v[0].every, 900);
	assert_int_equal(v[0].last_run, 1234);
	assert_int_equal(v[0].backups, 2);
	cairn_policies_free(v, n);
	ck_ok(cairn_policy_delete(st, "fast"));
	ck_err(cairn_policy_delete(st, "fast"), CAIRN_ENOTFOUND);
	ck_err(cairn_policy_set_paused(st, "fast", false), CAIRN_ENOTFOUND);
}

/* A state database of schema version 5 (before policy ids), as the
 * previous release left it, opens: its policies get ids of their own and
 * keep their retention to themselves. */
static void test_policies_upgraded(void **state)
{
	struct th_state_fx *f = *state;
	cairn_state_free(f->st);
	f->st = NULL;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/state.db", f->dir);
	unlink(path);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	ck_ok(cairn_state_migrate_to(db, path, 5));
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO policies (name, created, kind, source, repo, every_s, keep_last)"
				      " VALUES ('old', 1, 'volume', '/img/a.img', '/backup/repo', 60, 2),"
				      " ('older', 1, 'volume', '/img/b.img', '/backup/repo', 60, 0)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ck_ok(cairn_state_open(f->dir, NULL, &f->st));
	struct cairn_policy a, b;
	ck_ok(cairn_policy_get(f->st, "old", &a));
	ck_ok(cairn_policy_get(f->st, "older", &b));
	assert_int_equal(strlen(a.id), 32);
	assert_int_equal(strspn(a.id, "0123456789abcdef"), 32);
	assert_int_equal(strlen(b.id), 32);
	assert_string_not_equal(a.id, b.id);
	assert_int_equal(a.scope, CAIRN_SCOPE_POLICY);
	assert_null(a.volume_name);
	assert_int_equal(a.keep_last, 2);
	assert_string_equal(a.snapshot, "auto");
	cairn_policy_clear(&a);
	cairn_policy_clear(&b);
}

static int count_lines(int64_t time, int level, const char *line, void *ud)
{
	(void)time;
	(void)level;
	(void)line;
	(*(int *)ud)++;
	return 0;
}

/* Schema step 11 rebuilds the jobs table for the 'import' kind: rows,
 * their logs, their claims and the id counter survive it. */
static void test_jobs_rebuilt_for_import(void **state)
{
	struct th_state_fx *f = *state;
	cairn_state_free(f->st);
	f->st = NULL;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/state.db", f->dir);
	unlink(path);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
	ck_ok(cairn_state_migrate_to(db, path, 10));
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO jobs (id, kind, source, state, queued) VALUES (7, 'backup', '/v/a', 'active', 1),"
				      " (9, 'restore', '/v/b', 'done', 2);"
				      "DELETE FROM jobs WHERE id = 9;"
				      "INSERT INTO job_log (job, seq, time, level, line) VALUES (7, 1, 1, 1, 'kept line');"
				      "INSERT INTO job_volumes (volume, job) VALUES ('/v/a', 7);"
				      "INSERT INTO jobs (kind, source, state, queued) VALUES ('check', '/r', 'done', 3);"
				      "INSERT INTO jobs (id, kind, source, state, queued) VALUES (12, 'prune', '/r', 'done', 4);"
				      "DELETE FROM jobs WHERE id = 12",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO jobs (kind, source, state, queued) VALUES ('import', 'r', 'done', 1)",
					  NULL, NULL, NULL),
			     SQLITE_OK);
	sqlite3_close(db);
	ck_ok(cairn_state_open(f->dir, NULL, &f->st));
	struct cairn_job j;
	ck_ok(cairn_job_get(f->st, 7, &j));
	assert_int_equal(j.log_lines, 0);
	cairn_job_clear(&j);
	int lines = 0;
	ck_ok(cairn_job_log_each(f->st, 7, count_lines, &lines));
	assert_int_equal(lines, 1);
	ck_ok(cairn_job_get(f->st, 10, &j));
	assert_string_equal(j.kind, "check");
	cairn_job_clear(&j);
	/* The claim is kept; a new job's id follows the highest ever given. */
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_prepare_v2(cairn_state_db(f->st), "SELECT job FROM job_volumes WHERE volume = '/v/a'",
					    -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(q, 0), 7);
	sqlite3_finalize(q);
	struct cairn_job_new n = { .kind = "import", .source = "repo-1", .repo = "/r" };
	int64_t id;
	ck_ok(cairn_job_create(f->st, &n, &id));
	assert_int_equal(id, 13);
}

/* Step 14 rebuilds jobs again for 'drill' (logs, claims and the id
 * counter kept), and the drill rows and schedules read back. */
static void test_jobs_rebuilt_for_drill(void **state)
{
	struct th_state_fx *f = *state;
	cairn_state_free(f->st);
	f->st = NULL;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/state.db", f->dir);
	unlink(path);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
	ck_ok(cairn_state_migrate_to(db, path, 13));
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO jobs (id, kind, source, state, queued) VALUES (7, 'standby', '/v/a', 'active', 1);"
				      "INSERT INTO job_log (job, seq, time, level, line) VALUES (7, 1, 1, 1, 'kept line');"
				      "INSERT INTO job_volumes (volume, job) VALUES ('/v/a', 7);"
				      "INSERT INTO jobs (id, kind, source, state, queued) VALUES (20, 'prune', '/r', 'done', 4);"
				      "DELETE FROM jobs WHERE id = 20",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO jobs (kind, source, state, queued) VALUES ('drill', 'r', 'done', 1)",
					  NULL, NULL, NULL),
			     SQLITE_OK);
	sqlite3_close(db);
	ck_ok(cairn_state_open(f->dir, NULL, &f->st));
	int lines = 0;
	ck_ok(cairn_job_log_each(f->st, 7, count_lines, &lines));
	assert_int_equal(lines, 1);
	struct cairn_job_new n = { .kind = "drill", .source = "volume v", .repo = "/r" };
	int64_t id;
	ck_ok(cairn_job_create(f->st, &n, &id));
	assert_int_equal(id, 21);
	/* Drill rows: the newest of an item is its last. */
	struct cairn_drill_row a = { .kind = "volume", .name = "v", .repo = "/r", .backup = "ab", .started = 5,
				     .restore_s = 1.5, .check_s = 0.5, .bytes = 42, .ok = true, .job = id };
	struct cairn_drill_row b = a;
	b.ok = false;
	b.message = "e2fsck failed";
	b.started = 6;
	ck_ok(cairn_drill_record(f->st, &a, NULL));
	ck_ok(cairn_drill_record(f->st, &b, NULL));
	struct cairn_drill_row last;
	ck_ok(cairn_drill_last(f->st, "volume", "v", &last));
	assert_false(last.ok);
	assert_string_equal(last.message, "e2fsck failed");
	assert_int_equal(last.bytes, 42);
	assert_int_equal(last.job, id);
	assert_true(last.restore_s == 1.5);
	cairn_drill_row_clear(&last);
	ck_err(cairn_drill_last(f->st, "group", "v", &last), CAIRN_ENOTFOUND);
	/* Schedules: set replaces, delete of none is ENOTFOUND. */
	struct cairn_drill_schedule s = { .kind = "volume", .name = "v", .every = 60, .created = 1 };
	ck_ok(cairn_drill_schedule_set(f->st, &s));
	s.every = 120;
	ck_ok(cairn_drill_schedule_set(f->st, &s));
	struct cairn_drill_schedule *v = NULL;
	size_t nv = 0;
	ck_ok(cairn_drill_schedule_list(f->st, &v, &nv));
	assert_int_equal(nv, 1);
	assert_int_equal(v[0].every, 120);
	assert_null(v[0].repo);
	cairn_drill_schedules_free(v, nv);
	ck_ok(cairn_drill_schedule_delete(f->st, "volume", "v"));
	ck_err(cairn_drill_schedule_delete(f->st, "volume", "v"), CAIRN_ENOTFOUND);
}

static void test_claims_and_cancel(void **state)
{
	struct cairn_state *st = st_of(state);
	const char *a[] = { "/v/a" }, *ab[] = { "/v/a", "/v/b" }, *b[] = { "/v/b" };
	struct cairn_job_new n = { .kind = "backup", .policy = "p", .source = "/v/a", .repo = "/r" };
	int64_t j1, j2, j3;
	ck_ok(cairn_job_begin(st, &n, a, 1, &j1));
	/* A group job needing a and b waits for a; the row is not kept. */
	struct cairn_job_new g = { .kind = "backup", .source = "grp", .repo = "/r" };
	int r = cairn_job_begin(st, &g, ab, 2, &j2);
	ck_err(r, CAIRN_EBUSY);
	assert_non_null(strstr(cairn_error_message(), "/v/a is busy: job"));
	struct cairn_job *v = NULL;
	size_t cnt = 0;
	ck_ok(cairn_job_list(st, 10, &v, &cnt));
	assert_int_equal(cnt, 1);
	cairn_jobs_free(v, cnt);
	/* Another volume is free; the claim of the failed group job was undone. */
	ck_ok(cairn_job_begin(st, &g, b, 1, &j3));
	ck_ok(cairn_job_finish(st, j3, CAIRN_JOB_DONE, NULL, NULL, "id", 1.5));

	bool cancel = true;
	ck_ok(cairn_job_progress(st, j1, 10, 100, 0.5, &cancel));
	assert_false(cancel);
	enum cairn_job_state was;
	ck_ok(cairn_job_cancel(st, j1, &was));
	assert_int_equal(was, CAIRN_JOB_ACTIVE);
	ck_ok(cairn_job_progress(st, j1, 20, 100, 0.7, &cancel));
	assert_true(cancel);
	ck_ok(cairn_job_finish(st, j1, CAIRN_JOB_CANCELED, "cancel", "canceled", NULL, 0.8));
	ck_err(cairn_job_cancel(st, j1, &was), CAIRN_EINVAL);
	ck_err(cairn_job_cancel(st, 9999, &was), CAIRN_ENOTFOUND);
	/* Volumes are free again. */
	ck_ok(cairn_job_begin(st, &g, ab, 2, &j2));
	struct cairn_job j;
	ck_ok(cairn_job_get(st, j1, &j));
	assert_int_equal(j.state, CAIRN_JOB_CANCELED);
	assert_string_equal(j.stop, "cancel");
	assert_int_equal(j.bytes_done, 20);
	assert_int_equal(j.bytes_total, 100);
	assert_true(j.completed > 0 && j.started > 0);
	assert_true(j.elapsed_s > 0.7 && j.elapsed_s < 0.9);
	cairn_job_clear(&j);
	/* A queued job is canceled at once. */
	int64_t q;
	ck_ok(cairn_job_create(st, &n, &q));
	ck_ok(cairn_job_cancel(st, q, &was));
	assert_int_equal(was, CAIRN_JOB_QUEUED);
	ck_ok(cairn_job_get(st, q, &j));
	assert_int_equal(j.state, CAIRN_JOB_CANCELED);
	cairn_job_clear(&j);
	const char *c[] = { "/v/c" };
	ck_err(cairn_job_start(st, q, c, 1), CAIRN_EINVAL);
	/* last_of finds the newest of a policy and kind. */
	ck_ok(cairn_job_last_of(st, "p", "backup", &j));
	assert_int_equal(j.id, q);
	cairn_job_clear(&j);
	assert_int_equal(cairn_job_last_of(st, "p", "forget", &j), CAIRN_ENOTFOUND);
}

static int collect_line(int64_t t, int level, const char *line, void *ud)
{
	(void)t;
	(void)level;
	char **first = ud;
	if (!*first)
		*first = strdup(line);
	return 0;
}

static void test_log(void **state)
{
	struct cairn_state *st = st_of(state);
	struct cairn_job_new n = { .kind = "check", .source = "/r", .repo = "/r" };
	int64_t id;
	ck_ok(cairn_job_begin(st, &n, NULL, 0, &id));
	for (int i = 0; i < CAIRN_JOB_LOG_MAX + 5; i++) {
		char line[32];
		snprintf(line, sizeof(line), "line %d", i);
		ck_ok(cairn_job_log(st, id, 1, line));
	}
	struct cairn_job j;
	ck_ok(cairn_job_get(st, id, &j));
	assert_int_equal(j.log_lines, CAIRN_JOB_LOG_MAX + 5);
	assert_int_equal(j.log_dropped, 5);
	cairn_job_clear(&j);
	char *first = NULL;
	ck_ok(cairn_job_log_each(st, id, collect_line, &first));
	assert_string_equal(first, "line 5");
	free(first);
	ck_err(cairn_job_log_each(st, 4242, collect_line, &first), CAIRN_ENOTFOUND);
}

static pid_t dead_pid(void)
{
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return p;
}

static void test_reap_dead(void **state)
{
	struct cairn_state *st = st_of(state);
	const char *a[] = { "/v/a" };
	struct cairn_job_new n = { .kind = "backup", .policy = "p", .source = "/v/a", .repo = "/r" };
	int64_t active, queued;
	ck_ok(cairn_job_begin(st, &n, a, 1, &active));
	ck_ok(cairn_job_create(st, &n, &queued));
	/* kill -9 of the processes: their pids are gone. */
	char sql[160];
	snprintf(sql, sizeof(sql), "UPDATE jobs SET pid = %d", (int)dead_pid());
	ck_ok(cairn_state_exec(st, sql));
	size_t reaped = 0;
	ck_ok(cairn_job_reap(st, &reaped));
	assert_int_equal(reaped, 2);
	struct cairn_job j;
	ck_ok(cairn_job_get(st, active, &j));
	assert_int_equal(j.state, CAIRN_JOB_FAILED);
	assert_non_null(strstr(j.error, "ended without finishing it"));
	cairn_job_clear(&j);
	ck_ok(cairn_job_get(st, queued, &j));
	assert_int_equal(j.state, CAIRN_JOB_CANCELED);
	cairn_job_clear(&j);
	/* The volume is free again. */
	int64_t again;
	ck_ok(cairn_job_begin(st, &n, a, 1, &again));
	/* A reused pid (same pid, another start time) is dead too. */
	snprintf(sql, sizeof(sql), "UPDATE jobs SET pid = %d, pid_start = 1 WHERE id = %lld", (int)getpid(),
		 (long long)again);
	ck_ok(cairn_state_exec(st, sql));
	ck_ok(cairn_job_reap(st, &reaped));
	assert_int_equal(reaped, 1);
	/* Another host's job is judged by its heartbeat. */
	int64_t other;
	ck_ok(cairn_job_begin(st, &n, a, 1, &other));
	snprintf(sql, sizeof(sql), "UPDATE jobs SET host = 'elsewhere', heartbeat = %lld WHERE id = %lld",
		 (long long)time(NULL) - 60, (long long)other);
	ck_ok(cairn_state_exec(st, sql));
	ck_ok(cairn_job_reap(st, &reaped));
	assert_int_equal(reaped, 0);
	snprintf(sql, sizeof(sql), "UPDATE jobs SET heartbeat = %lld WHERE id = %lld",
		 (long long)time(NULL) - CAIRN_JOB_STALE_S - 60, (long long)other);
	ck_ok(cairn_state_exec(st, sql));
	ck_ok(cairn_job_reap(st, &reaped));
	assert_int_equal(reaped, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_policies, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_jobs_rebuilt_for_import, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_policies_upgraded, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_jobs_rebuilt_for_drill, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_claims_and_cancel, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_log, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_reap_dead, th_state_setup, th_state_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
