/* Metrics and alerts: the Prometheus exposition's escaping and numbers
 * (daemon/metrics.h), the alert events' JSON (app/notify.h), notifiers and
 * RPO breach marks in the state (state/notify.h), failures announced once
 * and status --failed's rule (daemon/alerts.h). */
#include "helpers.h"

#include "app/notify.h"
#include "daemon/alerts.h"
#include "daemon/metrics.h"
#include "state/jobs.h"
#include "state/notify.h"
#include "state/policies.h"
#include "state/standbys.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *text(struct cairn_buf *b)
{
	cairn_buf_append_u8(b, 0);
	b->len--;
	return (char *)b->data;
}

static void test_exposition(void **state)
{
	(void)state;
	struct cairn_buf b = CAIRN_BUF_INIT;
	ck_ok(cairn_metrics_family(&b, "cairn_x", "gauge", "Back\\slash and\nnewline \"kept\"."));
	assert_string_equal(text(&b), "# HELP cairn_x Back\\\\slash and\\nnewline \"kept\".\n# TYPE cairn_x gauge\n");
	cairn_buf_clear(&b);
	const char *labels[] = { "repo", "/srv/a\"b\\c\nd", "policy", "p1", NULL };
	ck_ok(cairn_metrics_sample(&b, "cairn_x", labels, 42));
	assert_string_equal(text(&b), "cairn_x{repo=\"/srv/a\\\"b\\\\c\\nd\",policy=\"p1\"} 42\n");
	cairn_buf_clear(&b);
	ck_ok(cairn_metrics_sample(&b, "cairn_y", NULL, 1.5));
	ck_ok(cairn_metrics_sample(&b, "cairn_y", NULL, NAN));
	ck_ok(cairn_metrics_sample(&b, "cairn_y", NULL, 1796669203));
	ck_ok(cairn_metrics_sample(&b, "cairn_y", NULL, 18446744073709551615.0));
	assert_string_equal(text(&b), "cairn_y 1.5\ncairn_y NaN\ncairn_y 1796669203\ncairn_y 1.8446744073709552e+19\n");
	cairn_buf_free(&b);
}

static void test_events(void **state)
{
	(void)state;
	struct cairn_job j = { .id = 7, .kind = "backup", .policy = "db", .source = "/dev/vg/db", .repo = "s3://b/p",
			       .state = CAIRN_JOB_FAILED, .error = "cannot open /dev/vg/db:\nno such file" };
	char *s = NULL;
	ck_ok(cairn_notify_event_failure(&j, 1700000000, "host1", &s));
	json_error_t e;
	json_t *ev = json_loads(s, 0, &e);
	assert_non_null(ev);
	assert_null(strchr(s, '\n'));
	assert_int_equal(json_integer_value(json_object_get(ev, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(ev, "kind")), "failure");
	assert_string_equal(json_string_value(json_object_get(ev, "time")), "2023-11-14T22:13:20Z");
	assert_int_equal(json_integer_value(json_object_get(ev, "time_unix")), 1700000000);
	assert_string_equal(json_string_value(json_object_get(ev, "host")), "host1");
	assert_string_equal(json_string_value(json_object_get(ev, "policy")), "db");
	assert_int_equal(json_integer_value(json_object_get(ev, "job_id")), 7);
	assert_string_equal(json_string_value(json_object_get(ev, "job_kind")), "backup");
	assert_string_equal(json_string_value(json_object_get(ev, "source")), "/dev/vg/db");
	assert_string_equal(json_string_value(json_object_get(ev, "repo")), "s3://b/p");
	assert_string_equal(json_string_value(json_object_get(ev, "error")), "cannot open /dev/vg/db:\nno such file");
	const char *msg = json_string_value(json_object_get(ev, "message"));
	assert_null(strchr(msg, '\n')); /* one line for a person */
	assert_non_null(strstr(msg, "backup job 7 of policy db of /dev/vg/db failed"));
	json_decref(ev);
	free(s);

	/* A job run by hand: policy and repo null. */
	struct cairn_job h = { .id = 8, .kind = "restore", .source = "/x", .state = CAIRN_JOB_FAILED };
	ck_ok(cairn_notify_event_failure(&h, 1700000000, NULL, &s));
	ev = json_loads(s, 0, &e);
	assert_true(json_is_null(json_object_get(ev, "policy")));
	assert_true(json_is_null(json_object_get(ev, "repo")));
	assert_true(json_is_null(json_object_get(ev, "host")));
	json_decref(ev);
	free(s);

	ck_ok(cairn_notify_event_rpo("db", "copy", 7300, 3600, 1700000000, "h", &s));
	ev = json_loads(s, 0, &e);
	assert_string_equal(json_string_value(json_object_get(ev, "kind")), "rpo");
	assert_string_equal(json_string_value(json_object_get(ev, "what")), "copy");
	assert_int_equal(json_integer_value(json_object_get(ev, "rpo_seconds")), 7300);
	assert_int_equal(json_integer_value(json_object_get(ev, "rpo_target_seconds")), 3600);
	assert_non_null(strstr(json_string_value(json_object_get(ev, "message")), "off-site copy is 7300 s old"));
	json_decref(ev);
	free(s);

	assert_int_equal(cairn_notify_event_bit("failure"), CAIRN_NOTIFY_FAILURE);
	assert_int_equal(cairn_notify_event_bit("rpo"), CAIRN_NOTIFY_RPO);
	assert_int_equal(cairn_notify_event_bit("test"), 0);

	unsigned bits;
	ck_ok(cairn_notify_events_parse("rpo", &bits));
	assert_int_equal(bits, CAIRN_NOTIFY_RPO);
	ck_ok(cairn_notify_events_parse("failure,rpo,failure", &bits));
	assert_int_equal(bits, CAIRN_NOTIFY_ALL);
	ck_err(cairn_notify_events_parse("failure,", &bits), CAIRN_EINVAL);
	ck_err(cairn_notify_events_parse("", &bits), CAIRN_EINVAL);
	ck_err(cairn_notify_events_parse("fail", &bits), CAIRN_EINVAL);
	char buf[32];
	cairn_notify_events_format(CAIRN_NOTIFY_ALL, buf, sizeof(buf));
	assert_string_equal(buf, "failure,rpo");
}

static void test_state_rows(void **state)
{
	struct th_state_fx *f = *state;
	struct cairn_notifier n = { .name = "w", .target = "http://127.0.0.1/x", .events = CAIRN_NOTIFY_RPO,
				    .timeout_s = 5 };
	ck_ok(cairn_notifier_add(f->st, &n));
	ck_err(cairn_notifier_add(f->st, &n), CAIRN_EEXIST);
	n.name = "-bad";
	ck_err(cairn_notifier_add(f->st, &n), CAIRN_EINVAL);
	struct cairn_notifier g;
	ck_ok(cairn_notifier_get(f->st, "w", &g));
	assert_false(g.exec);
	assert_int_equal(g.events, CAIRN_NOTIFY_RPO);
	assert_int_equal(g.timeout_s, 5);
	cairn_notifier_clear(&g);
	ck_ok(cairn_notifier_remove(f->st, "w"));
	ck_err(cairn_notifier_remove(f->st, "w"), CAIRN_ENOTFOUND);

	/* A breach is new once, until it is closed. */
	assert_int_equal(cairn_rpo_breach_open(f->st, "p", "backup", 100), 1);
	assert_int_equal(cairn_rpo_breach_open(f->st, "p", "backup", 200), 0);
	assert_int_equal(cairn_rpo_breach_open(f->st, "p", "copy", 200), 1);
	ck_ok(cairn_rpo_breach_close(f->st, "p", "backup"));
	assert_int_equal(cairn_rpo_breach_open(f->st, "p", "backup", 300), 1);

	/* Statistics: the newest backup replaces, the totals add up. */
	struct cairn_backup_stats_row r = { .policy = "p", .repo = "/r", .backup = "ab", .job = 1, .created = 10,
					    .seconds = 1.5, .bytes_read = 100, .bytes_new = 50, .bytes_stored = 60 };
	ck_ok(cairn_backup_stats_record(f->st, &r));
	r.backup = "cd";
	r.created = 20;
	r.bytes_stored = 7;
	ck_ok(cairn_backup_stats_record(f->st, &r));
	struct cairn_backup_stats_row *v;
	size_t nv;
	ck_ok(cairn_backup_stats_list(f->st, &v, &nv));
	assert_int_equal(nv, 1);
	assert_string_equal(v[0].backup, "cd");
	assert_int_equal(v[0].created, 20);
	assert_int_equal(v[0].bytes_stored, 7);
	assert_int_equal(v[0].stored_total, 67);
	cairn_backup_stats_free(v, nv);
	struct cairn_repo_written *w;
	ck_ok(cairn_repo_written_list(f->st, &w, &nv));
	assert_int_equal(nv, 1);
	assert_int_equal(w[0].bytes, 67);
	cairn_repo_written_free(w, nv);
}

static int64_t job(struct cairn_state *st, const char *policy, const char *kind, const char *source,
		   enum cairn_job_state end)
{
	struct cairn_job_new jn = { .kind = kind, .policy = policy, .source = source, .repo = "/r" };
	int64_t id;
	ck_ok(cairn_job_begin(st, &jn, NULL, 0, &id));
	if (end != CAIRN_JOB_ACTIVE)
		ck_ok(cairn_job_finish(st, id, end, NULL, end == CAIRN_JOB_FAILED ? "boom" : NULL, NULL, 1));
	return id;
}

static size_t collect(struct cairn_state *st, int64_t now, char ***ret)
{
	size_t n;
	ck_ok(cairn_alerts_collect(st, now, "h", ret, &n));
	return n;
}

static void free_bodies(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void test_failures_once(void **state)
{
	struct cairn_state *st = ((struct th_state_fx *)*state)->st;
	struct cairn_policy p = { .name = "p", .kind = CAIRN_POLICY_VOLUME, .source = "/v", .repo = "/r",
				  .every = 3600, .snapshot = "auto" };
	ck_ok(cairn_policy_create(st, &p));
	job(st, "p", "backup", "/v", CAIRN_JOB_FAILED); /* before the daemon: not announced */
	ck_ok(cairn_alerts_init(st));
	char **b;
	assert_int_equal(collect(st, 1000, &b), 0);
	free(b);

	int64_t running = job(st, "p", "copy", "/v", CAIRN_JOB_ACTIVE);
	int64_t failed = job(st, "p", "backup", "/v", CAIRN_JOB_FAILED);
	size_t n = collect(st, 1000, &b);
	assert_int_equal(n, 1);
	char want[32];
	snprintf(want, sizeof(want), "\"job_id\":%lld", (long long)failed);
	assert_non_null(strstr(b[0], want));
	free_bodies(b, n);
	/* Above a running job: remembered, not announced twice. */
	assert_int_equal(collect(st, 1001, &b), 0);
	free(b);
	ck_ok(cairn_job_finish(st, running, CAIRN_JOB_FAILED, NULL, "late", NULL, 1));
	n = collect(st, 1002, &b);
	assert_int_equal(n, 1);
	snprintf(want, sizeof(want), "\"job_id\":%lld", (long long)running);
	assert_non_null(strstr(b[0], want));
	free_bodies(b, n);
	assert_int_equal(collect(st, 1003, &b), 0);
	free(b);

	/* status --failed: both failures stand until a success of their kind. */
	int64_t *ids;
	ck_ok(cairn_jobs_failed_unresolved(st, &ids, &n));
	assert_int_equal(n, 3);
	free(ids);
	job(st, "p", "backup", "/v", CAIRN_JOB_DONE);
	ck_ok(cairn_jobs_failed_unresolved(st, &ids, &n));
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], running); /* the copy */
	free(ids);
	/* Jobs by hand: cleared by a success of the same source. */
	job(st, NULL, "restore", "/x", CAIRN_JOB_FAILED);
	job(st, NULL, "restore", "/y", CAIRN_JOB_DONE);
	ck_ok(cairn_jobs_failed_unresolved(st, &ids, &n));
	assert_int_equal(n, 2);
	free(ids);
	job(st, NULL, "restore", "/x", CAIRN_JOB_DONE);
	ck_ok(cairn_policy_delete(st, "p")); /* a deleted policy's failures no longer count */
	ck_ok(cairn_jobs_failed_unresolved(st, &ids, &n));
	assert_int_equal(n, 0);
	free(ids);
	/* The failed restore by hand was announced too (any job). */
	n = collect(st, 1004, &b);
	assert_int_equal(n, 1);
	assert_non_null(strstr(b[0], "\"job_kind\":\"restore\""));
	free_bodies(b, n);
}

static void test_rpo_once(void **state)
{
	struct cairn_state *st = ((struct th_state_fx *)*state)->st;
	struct cairn_policy p = { .name = "p", .kind = CAIRN_POLICY_VOLUME, .source = "/v", .repo = "/r",
				  .every = 86400, .snapshot = "auto", .rpo = 3600 };
	ck_ok(cairn_policy_create(st, &p));
	struct cairn_policy got;
	ck_ok(cairn_policy_get(st, "p", &got));
	int64_t created = got.created;
	cairn_policy_clear(&got);
	ck_ok(cairn_alerts_init(st));
	char **b;
	assert_int_equal(collect(st, created + 3600, &b), 0);
	free(b);
	/* Never backed up: dated from its creation. */
	size_t n = collect(st, created + 3601, &b);
	assert_int_equal(n, 1);
	assert_non_null(strstr(b[0], "\"rpo_seconds\":3601"));
	free_bodies(b, n);
	assert_int_equal(collect(st, created + 9000, &b), 0);
	free(b);
	struct cairn_backup_stats_row r = { .policy = "p", .repo = "/r", .backup = "ab", .job = 1,
					    .created = created + 9000 };
	ck_ok(cairn_backup_stats_record(st, &r));
	assert_int_equal(collect(st, created + 9001, &b), 0);
	free(b);
	n = collect(st, created + 9000 + 3601, &b);
	assert_int_equal(n, 1);
	free_bodies(b, n);

	/* And the metrics say the same. */
	struct cairn_buf m = CAIRN_BUF_INIT;
	ck_ok(cairn_metrics_render(st, created + 9000 + 3601, &m));
	assert_non_null(strstr(text(&m), "\ncairn_policy_rpo_seconds{policy=\"p\"} 3601\n"));
	assert_non_null(strstr(text(&m), "\ncairn_policy_rpo_target_seconds{policy=\"p\"} 3600\n"));
	assert_null(strstr(text(&m), "copy_rpo"));
	cairn_buf_clear(&m);

	/* Standby lag: the age of the restore point held; none before the first. */
	struct cairn_standby sb = { .name = "db", .created = 1, .source = "db.img", .uri = "/r", .target = "/t" };
	ck_ok(cairn_standby_add(st, &sb));
	ck_ok(cairn_metrics_render(st, 2000, &m));
	assert_null(strstr(text(&m), "cairn_standby_lag_seconds{"));
	cairn_buf_clear(&m);
	ck_ok(cairn_standby_set_applied(st, "db", "ab", 1500 * 1000000LL, 1600, 10, 4096, NULL));
	ck_ok(cairn_metrics_render(st, 2000, &m));
	assert_non_null(strstr(text(&m), "\ncairn_standby_lag_seconds{standby=\"db\"} 500\n"));
	assert_non_null(strstr(text(&m), "\ncairn_standby_last_update_timestamp_seconds{standby=\"db\"} 1600\n"));
	cairn_buf_clear(&m);

	/* A repository URI's secret never reaches a label. */
	struct cairn_backup_stats_row az = { .policy = "q", .repo = "azure://acct/cont/p?sig=SECRET", .backup = "ab",
					     .job = 2, .created = 1, .bytes_stored = 5 };
	ck_ok(cairn_backup_stats_record(st, &az));
	ck_ok(cairn_metrics_render(st, 2000, &m));
	assert_null(strstr(text(&m), "SECRET"));
	assert_non_null(strstr(text(&m), "\ncairn_repository_written_bytes_total{repo=\"azure://acct/cont/p\"} 5\n"));
	cairn_buf_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exposition),
		cmocka_unit_test(test_events),
		cmocka_unit_test_setup_teardown(test_state_rows, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_failures_once, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_rpo_once, th_state_setup, th_state_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
