/* daemon/schedule: intervals, cron expressions and when policies are due. */
#include "helpers.h"

#include "daemon/schedule.h"
#include "util/cleanup.h"

#include <time.h>

static int64_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi };
	return (int64_t)timegm(&tm);
}

static int setup_tz(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static void test_interval(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int64_t want;
	} ok[] = { { "30s", 30 }, { "15m", 900 }, { "1h30m", 5400 }, { "2d", 172800 }, { "1w", 604800 },
		   { "1h1m1s", 3661 }, { "366d", 366 * 86400 }, { "1s", 1 } };
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		int64_t v;
		ck_ok(cairn_interval_parse(ok[i].s, "--every", &v));
		assert_int_equal(v, ok[i].want);
	}
	static const char *const bad[] = { "", "15", "m", "0s", "15x", "-5m", "1.5h", "367d", "15m ", " 15m",
					   "99999999999s", "1h-1m" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t v;
		ck_err(cairn_interval_parse(bad[i], "--every", &v), CAIRN_EINVAL);
	}
	char buf[32];
	cairn_interval_format(5400, buf, sizeof(buf));
	assert_string_equal(buf, "1h30m");
	cairn_interval_format(90061, buf, sizeof(buf));
	assert_string_equal(buf, "1d1h1m1s");
}

static void expect_next(const char *expr, int64_t after, int64_t want)
{
	struct cairn_cron c;
	ck_ok(cairn_cron_parse(expr, &c));
	int64_t got = cairn_cron_next(&c, after);
	if (got != want) {
		char g[48], w[48];
		time_t gt = (time_t)got, wt = (time_t)want;
		strftime(g, sizeof(g), "%F %T %a", gmtime(&gt));
		strftime(w, sizeof(w), "%F %T %a", gmtime(&wt));
		fail_msg("'%s' after %lld: got %s, expected %s", expr, (long long)after, g, w);
	}
}

static void test_cron_next(void **state)
{
	(void)state;
	int64_t t0 = utc(2024, 1, 10, 12, 34); /* a Wednesday */
	expect_next("* * * * *", t0, t0 + 60);
	expect_next("* * * * *", t0 + 59, t0 + 60);
	expect_next("30 2 * * *", t0, utc(2024, 1, 11, 2, 30));
	expect_next("*/15 * * * *", t0, utc(2024, 1, 10, 12, 45));
	expect_next("0 */6 * * *", t0, utc(2024, 1, 10, 18, 0));
	expect_next("5,35 * * * *", t0, utc(2024, 1, 10, 12, 35));
	expect_next("0 9-17/4 * * *", t0, utc(2024, 1, 10, 13, 0));
	expect_next("0 0 1 * *", t0, utc(2024, 2, 1, 0, 0));
	expect_next("0 0 * * sun", t0, utc(2024, 1, 14, 0, 0));
	expect_next("0 0 * * 7", t0, utc(2024, 1, 14, 0, 0));
	expect_next("0 0 * * mon-fri", utc(2024, 1, 12, 23, 0), utc(2024, 1, 15, 0, 0)); /* Fri -> Mon */
	expect_next("0 0 29 feb *", t0, utc(2024, 2, 29, 0, 0));
	expect_next("0 0 29 feb *", utc(2024, 3, 1, 0, 0), utc(2028, 2, 29, 0, 0));
	expect_next("0 12 31 * *", t0, utc(2024, 1, 31, 12, 0));
	expect_next("0 12 31 * *", utc(2024, 1, 31, 12, 0), utc(2024, 3, 31, 12, 0));
	/* Day of month and weekday both given: either matches (Vixie cron). */
	expect_next("0 0 13 * fri", t0, utc(2024, 1, 12, 0, 0));
	expect_next("0 0 11 * fri", t0, utc(2024, 1, 11, 0, 0));
	/* One of them "*": both must match. */
	expect_next("0 0 */2 * mon", t0, utc(2024, 1, 15, 0, 0));
	expect_next("@hourly", t0, utc(2024, 1, 10, 13, 0));
	expect_next("@daily", t0, utc(2024, 1, 11, 0, 0));
	expect_next("@weekly", t0, utc(2024, 1, 14, 0, 0));
	expect_next("@monthly", t0, utc(2024, 2, 1, 0, 0));
	expect_next("@yearly", t0, utc(2025, 1, 1, 0, 0));
	expect_next("59 23 31 dec *", t0, utc(2024, 12, 31, 23, 59));
	expect_next("0 0 1 jan,jul *", t0, utc(2024, 7, 1, 0, 0));
}

static void test_cron_bad(void **state)
{
	(void)state;
	static const char *const bad[] = { "",
					   "* * * *",
					   "* * * * * *",
					   "60 * * * *",
					   "* 24 * * *",
					   "* * 0 * *",
					   "* * 32 * *",
					   "* * * 13 *",
					   "* * * * 8",
					   "*/0 * * * *",
					   "5-1 * * * *",
					   "a * * * *",
					   "1,,2 * * * *",
					   "1- * * * *",
					   "* * * foo *",
					   "0 0 30 feb *", /* never */
					   "0 0 31 apr,jun *",
					   "@often",
					   "*/ * * * *" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cairn_cron c;
		int r = cairn_cron_parse(bad[i], &c);
		if (r != CAIRN_EINVAL)
			fail_msg("'%s' parsed (%d)", bad[i], r);
	}
}

static void test_due(void **state)
{
	(void)state;
	int64_t created = utc(2024, 1, 10, 12, 0);
	/* Every 15 minutes: due at once, then 15 minutes after each run. */
	assert_int_equal(cairn_schedule_next(900, NULL, created, 0), created);
	assert_int_equal(cairn_schedule_next(900, NULL, created, created + 10), created + 910);
	/* Catch-up: a run after a day of downtime counts from itself, so the
	 * next one is 15 minutes later, not a burst of 96. */
	int64_t back = created + 86400 + 7;
	assert_true(cairn_schedule_next(900, NULL, created, created + 10) <= back);
	assert_int_equal(cairn_schedule_next(900, NULL, created, back), back + 900);
	struct cairn_cron c;
	ck_ok(cairn_cron_parse("30 2 * * *", &c));
	assert_int_equal(cairn_schedule_next(0, &c, created, 0), utc(2024, 1, 11, 2, 30));
	assert_int_equal(cairn_schedule_next(0, &c, created, utc(2024, 1, 11, 2, 30)), utc(2024, 1, 12, 2, 30));
	/* Down for a week: due (the missed slot), once; then the next slot. */
	int64_t late = utc(2024, 1, 18, 9, 0);
	assert_true(cairn_schedule_next(0, &c, created, utc(2024, 1, 11, 2, 30)) <= late);
	assert_int_equal(cairn_schedule_next(0, &c, created, late), utc(2024, 1, 19, 2, 30));
}

static void test_local_time(void **state)
{
	(void)state;
	/* Cron is local time: 02:30 in Berlin (UTC+1 in January). */
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	struct cairn_cron c;
	ck_ok(cairn_cron_parse("30 2 * * *", &c));
	int64_t t = cairn_cron_next(&c, utc(2024, 1, 10, 12, 0));
	if (t != utc(2024, 1, 11, 1, 30))
		skip(); /* no zoneinfo for Europe/Berlin here */
	/* Across the spring change (31 March 2024, 02:00 -> 03:00) a daily
	 * 03:30 still comes once a day. */
	ck_ok(cairn_cron_parse("30 3 * * *", &c));
	int64_t a = cairn_cron_next(&c, utc(2024, 3, 30, 12, 0));
	int64_t b = cairn_cron_next(&c, a);
	assert_int_equal(a, utc(2024, 3, 31, 1, 30)); /* 03:30 CEST */
	assert_int_equal(b - a, 86400);
	setenv("TZ", "UTC", 1);
	tzset();
}

/* The due list of the daemon's scheduled children: due rows are listed
 * in order, the earliest later one is kept, unscheduled rows never are,
 * and a failure frees the list and hands back nothing. */
static void test_due_list(void **state)
{
	(void)state;
	struct cairn_due_list d = CAIRN_DUE_LIST_INIT;
	int64_t now = 1800000000;
	assert_true(cairn_due_at(&d, now, 3600, now - 7200, 0));          /* never run: due */
	assert_false(cairn_due_at(&d, now, 3600, now - 7200, now - 600)); /* due in 50 min */
	assert_false(cairn_due_at(&d, now, 60, now - 7200, now - 30));    /* due in 30 s */
	assert_false(cairn_due_at(&d, now, 0, now - 7200, 0));            /* no schedule */
	assert_true(cairn_due_at(&d, now, 60, now - 7200, now - 60));
	assert_int_equal(d.next_due, now + 30);
	for (int i = 0; i < 20; i++) {
		char name[16];
		snprintf(name, sizeof(name), "r%d", i);
		ck_ok(cairn_due_add(&d, name));
	}
	char **names = NULL;
	size_t n = 0;
	int64_t next = 0;
	ck_ok(cairn_due_finish(&d, 0, &names, &n, &next));
	assert_int_equal(n, 20);
	assert_string_equal(names[0], "r0");
	assert_string_equal(names[19], "r19");
	assert_int_equal(next, now + 30);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	struct cairn_due_list e = CAIRN_DUE_LIST_INIT;
	ck_ok(cairn_due_add(&e, "x"));
	assert_int_equal(cairn_due_finish(&e, CAIRN_EIO, &names, &n, NULL), CAIRN_EIO);
	assert_null(names);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interval),
		cmocka_unit_test_setup(test_cron_next, setup_tz),
		cmocka_unit_test_setup(test_cron_bad, setup_tz),
		cmocka_unit_test_setup(test_due, setup_tz),
		cmocka_unit_test(test_due_list),
		cmocka_unit_test(test_local_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
