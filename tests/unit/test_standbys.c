/* state/standbys: rows of warm standby volumes (add, get, list, the
 * pending update and its finish, delete), and a state database of schema
 * version 11 upgraded with its jobs, their logs and the id counter kept,
 * taking jobs of kind standby afterwards. */
#include "helpers.h"

#include "state/jobs.h"
#include "state/standbys.h"

static void test_rows(void **state)
{
	struct th_state_fx *f = *state;
	struct cairn_standby s = { .name = "db", .created = 1700000000, .source = "db.img", .uri = "/srv/dr",
				   .target = "/var/lib/dr/db.img", .every = 300 };
	ck_ok(cairn_standby_add(f->st, &s));
	assert_int_equal(cairn_standby_add(f->st, &s), CAIRN_EEXIST);
	struct cairn_standby g = { .name = "app", .created = 1700000001, .group = true, .source = "app",
				   .uri = "dr", .cred = "c1", .target = "/var/lib/dr/app" };
	ck_ok(cairn_standby_add(f->st, &g));
	struct cairn_standby bad = s;
	bad.name = "a b";
	assert_int_equal(cairn_standby_add(f->st, &bad), CAIRN_EINVAL);

	struct cairn_standby r;
	ck_ok(cairn_standby_get(f->st, "db", &r));
	assert_string_equal(r.source, "db.img");
	assert_string_equal(r.target, "/var/lib/dr/db.img");
	assert_false(r.group);
	assert_int_equal(r.every, 300);
	assert_null(r.backup);
	assert_null(r.cred);
	assert_null(r.pending);
	cairn_standby_clear(&r);

	ck_ok(cairn_standby_set_pending(f->st, "db", "{\"backup\":\"ab\"}"));
	ck_ok(cairn_standby_get(f->st, "db", &r));
	assert_string_equal(r.pending, "{\"backup\":\"ab\"}");
	cairn_standby_clear(&r);
	/* Finishing records the restore point and clears pending at once. */
	ck_ok(cairn_standby_set_applied(f->st, "db", "ab", 1700000005000000, 1700000010, 250, 4096, "x=y\n"));
	ck_ok(cairn_standby_set_last_run(f->st, "db", 1700000009));
	ck_ok(cairn_standby_get(f->st, "db", &r));
	assert_null(r.pending);
	assert_string_equal(r.backup, "ab");
	assert_int_equal(r.backup_created, 1700000005000000);
	assert_int_equal(r.applied, 1700000010);
	assert_int_equal(r.apply_ms, 250);
	assert_int_equal(r.bytes_written, 4096);
	assert_string_equal(r.fingerprint, "x=y\n");
	assert_int_equal(r.last_run, 1700000009);
	cairn_standby_clear(&r);

	struct cairn_standby *v = NULL;
	size_t n = 0;
	ck_ok(cairn_standby_list(f->st, &v, &n));
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "app"); /* by name */
	assert_true(v[0].group);
	assert_string_equal(v[0].cred, "c1");
	cairn_standbys_free(v, n);

	ck_ok(cairn_standby_delete(f->st, "db"));
	assert_int_equal(cairn_standby_get(f->st, "db", &r), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_standby_delete(f->st, "db"), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_standby_set_pending(f->st, "db", NULL), CAIRN_ENOTFOUND);
}

static int64_t scalar(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void test_upgraded_from_11(void **state)
{
	struct th_state_fx *f = *state;
	cairn_state_free(f->st);
	f->st = NULL;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/state.db", f->dir);
	unlink(path);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	ck_ok(cairn_state_migrate_to(db, path, 11));
	assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = ON;"
					  "INSERT INTO jobs (id, kind, source, state, queued) VALUES (7, 'import', 'dr', 'done', 1);"
					  "INSERT INTO job_log (job, seq, time, level, line) VALUES (7, 1, 1, 1, 'arrived');"
					  "DELETE FROM jobs WHERE id = 7;"
					  "INSERT INTO jobs (id, kind, source, state, queued) VALUES (5, 'import', 'dr', 'done', 1);"
					  "INSERT INTO job_log (job, seq, time, level, line) VALUES (5, 1, 1, 1, 'arrived');",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ck_ok(cairn_state_open(f->dir, NULL, &f->st));
	sqlite3 *d = cairn_state_db(f->st);
	assert_int_equal(scalar(d, "SELECT count(*) FROM jobs WHERE id = 5 AND kind = 'import'"), 1);
	assert_int_equal(scalar(d, "SELECT count(*) FROM job_log WHERE job = 5"), 1);
	/* The id of a deleted job is never reused. */
	ck_ok(cairn_state_exec(f->st, "INSERT INTO jobs (kind, source, state, queued) VALUES ('standby', 's', 'queued', 2)"));
	assert_int_equal(scalar(d, "SELECT max(id) FROM jobs WHERE kind = 'standby'"), 8);
	assert_int_equal(scalar(d, "SELECT count(*) FROM standbys"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rows, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_upgraded_from_11, th_state_setup, th_state_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
