/* daemon/daemon: the scheduling pass with injected time and a fake spawn:
 * due runs, catch-up after downtime, the job limit, one job per volume,
 * pause, resume after a shutdown, and reaping. */
#include "helpers.h"

#include "daemon/daemon.h"
#include "state/groups.h"
#include "state/jobs.h"
#include "state/policies.h"
#include "util/cleanup.h"

#include <sys/wait.h>
#include <time.h>

#define T0 1704888000 /* 2024-01-10 12:00 UTC */

struct spawned {
	int64_t job[32];
	char policy[32][32];
	size_t n;
	bool fail;
};

static int fake_spawn(const struct cairn_policy *p, int64_t job, void *ud, int64_t *ret_pid)
{
	struct spawned *s = ud;
	if (s->fail)
		return cairn_error_set(CAIRN_EIO, "cannot fork (test)");
	assert_true(s->n < 32);
	s->job[s->n] = job;
	snprintf(s->policy[s->n], sizeof(s->policy[0]), "%s", p->name);
	s->n++;
	*ret_pid = getpid(); /* alive: the job stays active until finished */
	return 0;
}

static void set_now(int64_t t)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", (long long)t);
	th_setenv("CAIRN_TEST_NOW", buf);
}

static int setup(void **state)
{
	setenv("TZ", "UTC", 1);
	tzset();
	set_now(T0);
	return th_state_setup(state);
}

static int teardown(void **state)
{
	th_unsetenv("CAIRN_TEST_NOW");
	return th_state_teardown(state);
}

static void add_policy(struct cairn_state *st, const char *name, const char *volume, int64_t every, const char *cron)
{
	struct cairn_policy p = { .name = (char *)name, .kind = CAIRN_POLICY_VOLUME, .source = (char *)volume,
				  .repo = "/r", .every = every, .cron = (char *)cron };
	ck_ok(cairn_policy_create(st, &p));
}

static struct cairn_daemon_tick_result tick(struct cairn_state *st, struct spawned *s, int64_t now, unsigned max,
					    unsigned running)
{
	set_now(now);
	struct cairn_daemon_tick_opts o = { .now = now, .max_jobs = max, .running = running, .spawn = fake_spawn,
					    .ud = s };
	struct cairn_daemon_tick_result r;
	ck_ok(cairn_daemon_tick(st, &o, &r));
	return r;
}

static void finish(struct cairn_state *st, int64_t job, enum cairn_job_state state, const char *stop)
{
	ck_ok(cairn_job_finish(st, job, state, stop, state == CAIRN_JOB_DONE ? NULL : "x", NULL, 1));
}

static void test_interval_and_catch_up(void **state)
{
	struct cairn_state *st = ((struct th_state_fx *)*state)->st;
	struct spawned s = { 0 };
	add_policy(st, "p", "/v/a", 900, NULL);
	struct cairn_daemon_tick_result r = tick(st, &s, T0, 2, 0);
	assert_int_equal(r.queued, 1); /* a new interval policy is due at once */
	assert_int_equal(r.started, 1);
	assert_int_equal(s.n, 1);
	/* Still running: nothing new, even when due again. */
	r = tick(st, &s, T0 + 1000, 2, 1);
	assert_int_equal(r.queued + r.started, 0);
	finish(st, s.job[0], CAIRN_JOB_DONE, NULL);
	/* Counted from the last start (T0): due at T0 + 900. */
	r = tick(st, &s, T0 + 1000, 2, 0);
	assert_int_equal(r.started, 1);
	finish(st, s.job[1], CAIRN_JOB_DONE, NULL);
	r = tick(st, &s, T0 + 1500, 2, 0);
	assert_int_equal(r.queued, 0);
	assert_int_equal(r.next_due, T0 + 1900);
	/* Ten days of downtime: one run, not 960. */
	int64_t back = T0 + 10 * 86400;
	r = tick(st, &s, back, 2, 0);
	assert_int_equal(r.queued, 1);
	assert_int_equal(r.started, 1);
	finish(st, s.job[2], CAIRN_JOB_DONE, NULL);
	r = tick(st, &s, back + 1, 2, 0);
	assert_int_equal(r.queued, 0);
	r = tick(st, &s, back + 899, 2, 0);
	assert_int_equal(r.queued, 0);
	r = tick(st, &s, back + 900, 2, 0);
	assert_int_equal(r.queued, 1);
	assert_int_equal(s.n, 4);
}

static void test_cron_policy(void **state)
{
	struct cairn_state *st = ((struct th_state_fx *)*state)->st;
	struct spawned s = { 0 };
	add_policy(st, "nightly", "/v/n", 0, "30 2 * * *");
	struct cairn_daemon_tick_result r = tick(st, &s, T0, 2, 0);
	assert_int_equal(r.queued, 0); /* created at 12:00: next 02:30 */
	assert_int_equal(r.next_due, T0 + 14 * 3600 + 1800);
	r = tick(st, &s, T0 + 14 * 3600 + 1799, 2, 0);
	assert_int_equal(r.queued, 0);
	r = tick(st, &s, T0 + 14 * 3600 + 1800, 2, 0);
	assert_int_equal(r.started, 1);
	finish(st, s.job[0], CAIRN_JOB_DONE, NULL);
	/* Down for a week after that: one run at start-up. */
	r = tick(st, &s, T0 + 8 * 86400, 2, 0);
	assert_int_equal(r.started, 1);
	finish(st, s.job[1], CAIRN_JOB_DONE, NULL);
	r = tick(st, &s, T0 + 8 * 86400 + 60, 2, 0);
	assert_int_equal(r.queued, 0);
}

static void test_limits_and_volumes(void **state)
{
	struct cairn_state *st = ((struct th_state_fx *)*state)->st;
	struct spawned s = { 0 };
	add_policy(st, "a", "/v/a", 3600, NULL);
	add_policy(st, "b", "/v/b", 3600, NULL);
	add_policy(st, "c", "/v/c", 3600, NULL);
	add_policy(st, "a2", "/v/a", 3600, NULL); /* the same volume as a */
	char *gv[] = { "/v/b", "/v/d" };
	struct cairn_group g = { .name = "grp", .volumes = gv, .nvolumes = 2 };
	ck_ok(cairn_group_create(st, &g));
	struct cairn_policy gp = { .name = "g", .kind = CAIRN_POLICY_GROUP, .source = "grp", .repo = "/r", .every = 3600 };
	ck_ok(cairn_policy_create(st, &gp));
	/* At most 2 at once; a2 and g wait for their volumes anyway. */
	struct cairn_daemon_tick_result r = tick(st, &s, T0, 2, 0);
	assert_int_equal(r.queued, 5);
	assert_int_equal(r.started, 2);
	assert_int_equal(r.waiting, 3);
	r = tick(st, &s, T0 + 1, 2, 2);
	assert_int_equal(r.started, 0);
	/* Room for everything: only what has its volumes free starts. */
	r = tick(st, &s, T0 + 2, 10, 2);
	assert_int_equal(r.started, 1);
	assert_int_equal(s.n, 3);
	int running_a = -1;
	for (size_t i = 0; i < s.n; i++)
		if (!strcmp(s.policy[i], "a") || !strcmp(s.policy[i], "a2"))
			running_a = (int)i;
	assert_true(running_a >= 0);
	bool b_running = false;
	for (size_t i = 0; i < s.n; i++)
		b_running = b_running || !strcmp(s.policy[i], "b");
	assert_true(b_running); /* so the group (b + d) waits */
	for (size_t i = 0; i < s.n; i++)
		assert_string_not_equal(s.policy[i], "g");
	/* Finish everything: the rest start. */
	for (size_t i = 0; i < s.n; i++)
		finish(st, s.job[i], CAIRN_JOB_DONE, NULL);
	size_t before = s.n;
	r = tick(st, &s, T0 + 3, 10, 0);
	assert_int_equal(r.started, 2); /* the other of a/a2, and g */
	assert_int_equal(s.n, before + 2);
}

static void test_pause_resume_and_shutdown(void **state)
{
	struct cairn_state *st = ((struct th_state_fx *)*state)->st;
	struct spawned s = { 0 };
	add_policy(st, "p", "/v/a", 3600, NULL);
	ck_ok(cairn_policy_set_paused(st, "p", true));
	struct cairn_daemon_tick_result r = tick(st, &s, T0, 2, 0);
	assert_int_equal(r.queued, 0);
	ck_ok(cairn_policy_set_paused(st, "p", false));
	r = tick(st, &s, T0 + 1, 2, 0);
	assert_int_equal(r.started, 1);
	/* The daemon stops: the job ends "shutdown"; the next start resumes at
	 * once instead of waiting an hour. */
	finish(st, s.job[0], CAIRN_JOB_CANCELED, "shutdown");
	r = tick(st, &s, T0 + 60, 2, 0);
	assert_int_equal(r.started, 1);
	/* A user's cancel does not: the next run is at its time. */
	finish(st, s.job[1], CAIRN_JOB_CANCELED, "cancel");
	r = tick(st, &s, T0 + 120, 2, 0);
	assert_int_equal(r.queued, 0);
	/* A job that cannot be spawned fails, and a paused policy's queued run
	 * is dropped. */
	s.fail = true;
	r = tick(st, &s, T0 + 60 + 3600, 2, 0);
	assert_int_equal(r.queued, 1);
	assert_int_equal(r.started, 0);
	struct cairn_job j;
	ck_ok(cairn_job_last_of(st, "p", "backup", &j));
	assert_int_equal(j.state, CAIRN_JOB_FAILED);
	assert_non_null(strstr(j.error, "cannot fork"));
	cairn_job_clear(&j);
	s.fail = false;
	struct cairn_daemon_tick_opts o = { .now = T0 + 2 * 3600 + 120, .max_jobs = 0, .spawn = fake_spawn, .ud = &s };
	set_now(o.now);
	ck_ok(cairn_daemon_tick(st, &o, &r)); /* queued, not started (limit 0) */
	assert_int_equal(r.queued, 1);
	ck_ok(cairn_policy_set_paused(st, "p", true));
	r = tick(st, &s, o.now + 1, 2, 0);
	ck_ok(cairn_job_last_of(st, "p", "backup", &j));
	assert_int_equal(j.state, CAIRN_JOB_CANCELED);
	cairn_job_clear(&j);
}

static void test_reap_in_tick(void **state)
{
	struct cairn_state *st = ((struct th_state_fx *)*state)->st;
	struct spawned s = { 0 };
	add_policy(st, "p", "/v/a", 60, NULL);
	struct cairn_daemon_tick_result r = tick(st, &s, T0, 2, 0);
	assert_int_equal(r.started, 1);
	/* Its process is killed (-9): the next tick fails it, frees the volume
	 * and, being due, runs the policy again. */
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	char sql[96];
	snprintf(sql, sizeof(sql), "UPDATE jobs SET pid = %d WHERE id = %lld", (int)p, (long long)s.job[0]);
	ck_ok(cairn_state_exec(st, sql));
	r = tick(st, &s, T0 + 120, 2, 0);
	assert_int_equal(r.reaped, 1);
	assert_int_equal(r.started, 1);
	struct cairn_job j;
	ck_ok(cairn_job_get(st, s.job[0], &j));
	assert_int_equal(j.state, CAIRN_JOB_FAILED);
	cairn_job_clear(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_interval_and_catch_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cron_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_and_volumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_resume_and_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reap_in_tick, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
