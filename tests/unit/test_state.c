/* state/: opening the state database, migrations, permissions, the state
 * key and sealed secrets. */
#include "helpers.h"

#include "crypto/crypto.h"
#include "state/state.h"
#include "util/cleanup.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char *path_in(const char *dir, const char *name)
{
	static char buf[PATH_MAX];
	int n = snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	return buf;
}

static unsigned mode_of(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_mode & 07777;
}

static int scalar_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

static bool has_table(sqlite3 *db, const char *name)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_schema WHERE name = '%s'", name);
	return scalar_int(db, sql) == 1;
}

/* ---- opening ---- */

static void test_open_creates_private_files(void **state)
{
	(void)state;
	char base[PATH_MAX], dir[PATH_MAX];
	th_tmpdir(base, sizeof(base), "state-open");
	/* Missing parents are made too. */
	assert_true(snprintf(dir, sizeof(dir), "%s/a/b/state", base) < (int)sizeof(dir));
	mode_t old = umask(0);
	struct cairn_state *st = NULL;
	ck_ok(cairn_state_open(dir, NULL, &st));
	umask(old);
	assert_int_equal(mode_of(dir), 0700);
	assert_int_equal(mode_of(path_in(base, "a")), 0700);
	assert_int_equal(mode_of(path_in(dir, "state.db")), 0600);
	/* The WAL files exist while the database is open, and are private too. */
	ck_ok(cairn_state_exec(st, "CREATE TABLE t (x)"));
	assert_int_equal(mode_of(path_in(dir, "state.db-wal")), 0600);
	assert_int_equal(mode_of(path_in(dir, "state.db-shm")), 0600);
	assert_string_equal(cairn_state_path(st), path_in(dir, "state.db"));
	assert_string_equal(cairn_state_key_path(st), path_in(dir, "secret.key"));

	sqlite3 *db = cairn_state_db(st);
	assert_int_equal(scalar_int(db, "PRAGMA user_version"), cairn_state_schema_version());
	assert_true(cairn_state_schema_version() >= 1);
	assert_true(has_table(db, "credentials"));
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	assert_int_equal(scalar_int(db, "PRAGMA secure_delete"), 1);
	/* No key file until a secret is sealed. */
	assert_int_not_equal(access(path_in(dir, "secret.key"), F_OK), 0);
	cairn_state_free(st);
	cairn_state_free(NULL);

	/* Reopening finds the same schema and data; a database left with
	 * loose permissions is made private again. */
	assert_int_equal(chmod(path_in(dir, "state.db"), 0644), 0);
	ck_ok(cairn_state_open(dir, NULL, &st));
	assert_int_equal(mode_of(path_in(dir, "state.db")), 0600);
	assert_true(has_table(cairn_state_db(st), "t"));
	cairn_state_free(st);
	th_rm_rf(base);
}

static void test_open_no_create(void **state)
{
	(void)state;
	char base[PATH_MAX], dir[PATH_MAX];
	th_tmpdir(base, sizeof(base), "state-nocreate");
	assert_true(snprintf(dir, sizeof(dir), "%s/none", base) < (int)sizeof(dir));
	struct cairn_state_params p = { .no_create = true };
	struct cairn_state *st = NULL;
	ck_err(cairn_state_open(dir, &p, &st), CAIRN_ENOTFOUND);
	assert_null(st);
	assert_int_not_equal(access(dir, F_OK), 0);
	/* An existing database opens (and is migrated) without create. */
	ck_ok(cairn_state_open(dir, NULL, &st));
	cairn_state_free(st);
	ck_ok(cairn_state_open(dir, &p, &st));
	cairn_state_free(st);
	ck_err(cairn_state_open("", NULL, &st), CAIRN_EINVAL);
	ck_err(cairn_state_open(NULL, NULL, &st), CAIRN_EINVAL);
	th_rm_rf(base);
}

static void test_open_not_a_database(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "state-garbage");
	uint8_t junk[8192];
	th_fill(junk, sizeof(junk), 7);
	th_write_file(path_in(dir, "state.db"), junk, sizeof(junk));
	struct cairn_state *st = NULL;
	ck_err(cairn_state_open(dir, NULL, &st), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), "state.db"));
	/* A state directory that is a file. */
	char f[PATH_MAX];
	assert_true(snprintf(f, sizeof(f), "%s/file", dir) < (int)sizeof(f));
	th_write_file(f, "x", 1);
	ck_err(cairn_state_open(f, NULL, &st), CAIRN_EINVAL);
	th_rm_rf(dir);
}

/* ---- migrations ---- */

static sqlite3 *raw_db(const char *dir)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path_in(dir, "m.db"), &db), SQLITE_OK);
	return db;
}

static void test_migrate_in_order_once(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "state-migrate");
	/* Step 2 fails if step 1 did not run first; re-running step 1 fails. */
	const struct cairn_state_migration m[] = {
		{ "one", "CREATE TABLE a (x); INSERT INTO a VALUES (1);" },
		{ "two", "CREATE TABLE b (y); INSERT INTO b SELECT x + 1 FROM a;" },
		{ "three", "CREATE TABLE c (z)" },
	};
	sqlite3 *db = raw_db(dir);
	ck_ok(cairn_state_migrate(db, "m.db", m, 1));
	assert_int_equal(scalar_int(db, "PRAGMA user_version"), 1);
	assert_true(has_table(db, "a"));
	assert_false(has_table(db, "b"));
	/* Adding steps applies only the new ones. */
	ck_ok(cairn_state_migrate(db, "m.db", m, 3));
	assert_int_equal(scalar_int(db, "PRAGMA user_version"), 3);
	assert_int_equal(scalar_int(db, "SELECT y FROM b"), 2);
	assert_true(has_table(db, "c"));
	/* Nothing to do: nothing runs (step 1 would fail: table a exists). */
	ck_ok(cairn_state_migrate(db, "m.db", m, 3));
	assert_int_equal(scalar_int(db, "SELECT count(*) FROM a"), 1);
	sqlite3_close(db);
	th_rm_rf(dir);
}

static void test_migrate_failure_rolls_back_that_step(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "state-migfail");
	const struct cairn_state_migration m[] = {
		{ "one", "CREATE TABLE a (x)" },
		/* The first statement works, the second does not: all of step 2 goes. */
		{ "broken", "CREATE TABLE b (y); CREATE TABLE a (x);" },
		{ "three", "CREATE TABLE c (z)" },
	};
	sqlite3 *db = raw_db(dir);
	int r = cairn_state_migrate(db, "m.db", m, 3);
	assert_true(r < 0);
	assert_non_null(strstr(cairn_error_message(), "migration 2 (broken)"));
	assert_int_equal(scalar_int(db, "PRAGMA user_version"), 1);
	assert_true(has_table(db, "a"));
	assert_false(has_table(db, "b"));
	assert_false(has_table(db, "c"));
	assert_true(sqlite3_get_autocommit(db)); /* no transaction left open */
	sqlite3_close(db);
	th_rm_rf(dir);
}

static void test_too_new_database_refused(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "state-new");
	struct cairn_state *st = NULL;
	ck_ok(cairn_state_open(dir, NULL, &st));
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", cairn_state_schema_version() + 1);
	ck_ok(cairn_state_exec(st, sql));
	cairn_state_free(st);
	st = NULL;
	ck_err(cairn_state_open(dir, NULL, &st), CAIRN_EVERSION);
	assert_null(st);
	const char *msg = cairn_error_message();
	assert_non_null(strstr(msg, "newer cairn"));
	assert_non_null(strstr(msg, "state.db"));
	/* The database is left as it was. */
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path_in(dir, "state.db"), &db), SQLITE_OK);
	assert_int_equal(scalar_int(db, "PRAGMA user_version"), cairn_state_schema_version() + 1);
	sqlite3_close(db);

	sqlite3 *raw = raw_db(dir);
	assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 5", NULL, NULL, NULL), SQLITE_OK);
	const struct cairn_state_migration m[] = { { "one", "CREATE TABLE a (x)" } };
	ck_err(cairn_state_migrate(raw, "m.db", m, 1), CAIRN_EVERSION);
	assert_false(has_table(raw, "a"));
	sqlite3_close(raw);
	th_rm_rf(dir);
}

/* Several processes opening one fresh database at once: each migration
 * step runs once, and everyone ends up with the full schema. */
static void test_concurrent_open(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "state-race");
	enum { N = 4 };
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct cairn_state *st = NULL;
			int r = cairn_state_open(dir, NULL, &st);
			if (r == 0) {
				const char *kid;
				r = cairn_state_key_id(st, true, &kid);
			}
			if (r != 0)
				fprintf(stderr, "child: %s\n", cairn_error_message());
			cairn_state_free(st);
			_exit(r == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < N; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	struct cairn_state *st = NULL;
	ck_ok(cairn_state_open(dir, NULL, &st));
	assert_int_equal(scalar_int(cairn_state_db(st), "PRAGMA user_version"), cairn_state_schema_version());
	cairn_state_free(st);
	/* One key, no temporary files left behind. */
	size_t len;
	free(th_read_file(path_in(dir, "secret.key"), &len));
	assert_int_equal(len, CAIRN_STATE_KEY_LEN);
	int entries = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));)
		entries += strstr(e->d_name, ".tmp") != NULL;
	closedir(d);
	assert_int_equal(entries, 0);
	th_rm_rf(dir);
}

/* The child's side of in_child, in a fresh process image. */
static int child_sql(const char *dir, const char *sql)
{
	struct cairn_state *c = NULL;
	int r = cairn_state_open(dir, NULL, &c);
	if (r == 0)
		r = cairn_state_exec(c, sql);
	cairn_state_free(c);
	return r == 0 ? 0 : 1;
}

/* Runs sql in another process with a connection of its own (another
 * cairn command: status, cancel), which closes it again.  Executed anew,
 * not only forked: a fork would inherit SQLite's idea of our locks. */
static void in_child(const char *dir, const char *sql)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test_state", "--child-sql", dir, sql, (char *)NULL);
		_exit(127);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* UPDATE t SET n = n + 1 RETURNING x, on connection st. */
static int touch_and_read(struct cairn_state *st)
{
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(cairn_state_db(st), "UPDATE t SET n = n + 1 RETURNING x", -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int x = sqlite3_column_int(s, 0);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	return x;
}

/* Two connections in one process (a command's job row and its record of
 * backups seen): opening the second must not strip the first of its locks
 * (closing any descriptor of a file drops the process's POSIX locks on
 * it).  Without them another process that closes its connection thinks it
 * was the last, checkpoints and removes the WAL under us, and the first
 * connection goes on in a stale copy: a job never saw its cancel. */
static void test_second_connection_keeps_locks(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "state-two");
	struct cairn_state *a = NULL, *b = NULL;
	ck_ok(cairn_state_open(dir, NULL, &a));
	ck_ok(cairn_state_exec(a, "CREATE TABLE t (x INTEGER, n INTEGER); INSERT INTO t VALUES (0, 0);"));
	assert_int_equal(touch_and_read(a), 0);
	ck_ok(cairn_state_open(dir, NULL, &b));
	for (int round = 1; round <= 3; round++) {
		in_child(dir, "SELECT count(*) FROM t");
		assert_int_equal(touch_and_read(a), round - 1);
		char sql[64];
		snprintf(sql, sizeof(sql), "UPDATE t SET x = %d", round);
		in_child(dir, sql);
		assert_int_equal(touch_and_read(a), round);
	}
	cairn_state_free(b);
	cairn_state_free(a);
	th_rm_rf(dir);
}

static void test_busy_timeout(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "state-busy");
	struct cairn_state_params p = { .busy_timeout_ms = 50 };
	struct cairn_state *a = NULL, *b = NULL;
	ck_ok(cairn_state_open(dir, &p, &a));
	ck_ok(cairn_state_open(dir, &p, &b));
	ck_ok(cairn_state_begin(a));
	/* A second writer waits, then fails with EBUSY; a reader is not blocked. */
	ck_err(cairn_state_begin(b), CAIRN_EBUSY);
	assert_int_equal(scalar_int(cairn_state_db(b), "SELECT count(*) FROM credentials"), 0);
	ck_ok(cairn_state_commit(a));
	ck_ok(cairn_state_begin(b));
	cairn_state_rollback(b);
	cairn_state_rollback(b); /* harmless outside a transaction */
	cairn_state_free(a);
	cairn_state_free(b);
	th_rm_rf(dir);
}

static void test_sqlite_errors_mapped(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "state-err");
	struct cairn_state *st = NULL;
	ck_ok(cairn_state_open(dir, NULL, &st));
	ck_ok(cairn_state_exec(st, "CREATE TABLE u (k TEXT PRIMARY KEY); INSERT INTO u VALUES ('a')"));
	ck_err(cairn_state_exec(st, "INSERT INTO u VALUES ('a')"), CAIRN_EEXIST);
	assert_non_null(strstr(cairn_error_message(), "UNIQUE"));
	assert_non_null(strstr(cairn_error_message(), cairn_state_path(st)));
	sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "SELEKT 1", &s);
	assert_true(r < 0);
	assert_null(s);
	cairn_state_free(st);
	th_rm_rf(dir);
}

/* ---- the state key and sealing ---- */

static void test_key_created_once_and_private(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "state-key");
	struct cairn_state *st = NULL;
	const char *kid;
	ck_ok(cairn_state_open(dir, NULL, &st));
	ck_err(cairn_state_key_id(st, false, &kid), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_message(), "secret.key"));
	mode_t old = umask(0);
	ck_ok(cairn_state_key_id(st, true, &kid));
	umask(old);
	char first[CAIRN_STATE_KEY_ID_LEN + 1];
	assert_int_equal(strlen(kid), CAIRN_STATE_KEY_ID_LEN);
	strcpy(first, kid);
	assert_int_equal(mode_of(path_in(dir, "secret.key")), 0600);
	size_t len;
	uint8_t *key = th_read_file(path_in(dir, "secret.key"), &len);
	assert_int_equal(len, CAIRN_STATE_KEY_LEN);
	cairn_state_free(st);

	/* Another handle reads the same key; creating again keeps it. */
	ck_ok(cairn_state_open(dir, NULL, &st));
	ck_ok(cairn_state_key_id(st, true, &kid));
	assert_string_equal(kid, first);
	cairn_state_free(st);
	uint8_t *again = th_read_file(path_in(dir, "secret.key"), &len);
	assert_memory_equal(key, again, CAIRN_STATE_KEY_LEN);
	free(again);

	/* The database never holds the key. */
	uint8_t *db = th_read_file(path_in(dir, "state.db"), &len);
	assert_null(memmem(db, len, key, CAIRN_STATE_KEY_LEN));
	free(db);
	free(key);

	/* A damaged key file is refused with its path. */
	th_write_file(path_in(dir, "secret.key"), "short", 5);
	ck_ok(cairn_state_open(dir, NULL, &st));
	ck_err(cairn_state_key_id(st, true, &kid), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), "secret.key"));
	assert_non_null(strstr(cairn_error_message(), "5 bytes"));
	cairn_state_free(st);
	th_rm_rf(dir);
}

static void test_key_file_elsewhere(void **state)
{
	(void)state;
	char dir[PATH_MAX], kdir[PATH_MAX], kpath[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "state-kf");
	th_tmpdir(kdir, sizeof(kdir), "state-kf-key");
	assert_true(snprintf(kpath, sizeof(kpath), "%s/cairn.key", kdir) < (int)sizeof(kpath));
	struct cairn_state_params p = { .key_file = kpath };
	struct cairn_state *st = NULL;
	const char *kid;
	ck_ok(cairn_state_open(dir, &p, &st));
	assert_string_equal(cairn_state_key_path(st), kpath);
	ck_ok(cairn_state_key_id(st, true, &kid));
	cairn_state_free(st);
	assert_int_equal(mode_of(kpath), 0600);
	assert_int_not_equal(access(path_in(dir, "secret.key"), F_OK), 0);
	/* A key file in a directory that does not exist is an error, not created. */
	assert_true(snprintf(kpath, sizeof(kpath), "%s/no/such/dir/key", kdir) < (int)sizeof(kpath));
	ck_ok(cairn_state_open(dir, &p, &st));
	int r = cairn_state_key_id(st, true, &kid);
	assert_true(r < 0);
	assert_non_null(strstr(cairn_error_message(), kpath));
	cairn_state_free(st);
	th_rm_rf(dir);
	th_rm_rf(kdir);
}

static void test_seal_unseal(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "state-seal");
	struct cairn_state *st = NULL;
	ck_ok(cairn_state_open(dir, NULL, &st));
	static const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	uint8_t *sealed = NULL;
	size_t slen = 0;
	ck_ok(cairn_state_seal(st, "label", "aad", 3, secret, strlen(secret), &sealed, &slen));
	assert_int_equal(slen, strlen(secret) + CAIRN_AEAD_OVERHEAD);
	assert_null(memmem(sealed, slen, secret, strlen(secret)));
	char *out = NULL;
	size_t n = 0;
	ck_ok(cairn_state_unseal(st, "label", "aad", 3, sealed, slen, &out, &n));
	assert_int_equal(n, strlen(secret));
	assert_string_equal(out, secret);
	cairn_secret_free(out, n + 1);

	/* Other additional data, another label, a flipped bit, a short input. */
	ck_err(cairn_state_unseal(st, "label", "aaD", 3, sealed, slen, &out, &n), CAIRN_ECORRUPT);
	ck_err(cairn_state_unseal(st, "other", "aad", 3, sealed, slen, &out, &n), CAIRN_ECORRUPT);
	for (size_t i = 0; i < slen; i += 7) {
		sealed[i] ^= 1;
		ck_err(cairn_state_unseal(st, "label", "aad", 3, sealed, slen, &out, &n), CAIRN_ECORRUPT);
		sealed[i] ^= 1;
	}
	ck_err(cairn_state_unseal(st, "label", "aad", 3, sealed, CAIRN_AEAD_OVERHEAD - 1, &out, &n),
	       CAIRN_ECORRUPT);
	/* Another key (a new state directory) does not open it. */
	char dir2[PATH_MAX];
	th_tmpdir(dir2, sizeof(dir2), "state-seal2");
	struct cairn_state *st2 = NULL;
	ck_ok(cairn_state_open(dir2, NULL, &st2));
	const char *kid;
	ck_ok(cairn_state_key_id(st2, true, &kid));
	ck_err(cairn_state_unseal(st2, "label", "aad", 3, sealed, slen, &out, &n), CAIRN_ECORRUPT);
	cairn_state_free(st2);
	/* Without the key file: a clear error, not a crash. */
	cairn_state_free(st);
	assert_int_equal(unlink(path_in(dir, "secret.key")), 0);
	ck_ok(cairn_state_open(dir, NULL, &st));
	ck_err(cairn_state_unseal(st, "label", "aad", 3, sealed, slen, &out, &n), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_message(), "missing"));
	cairn_state_free(st);
	free(sealed);
	th_rm_rf(dir);
	th_rm_rf(dir2);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--child-sql") == 0)
		return child_sql(argv[2], argv[3]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_creates_private_files),
		cmocka_unit_test(test_open_no_create),
		cmocka_unit_test(test_open_not_a_database),
		cmocka_unit_test(test_migrate_in_order_once),
		cmocka_unit_test(test_migrate_failure_rolls_back_that_step),
		cmocka_unit_test(test_too_new_database_refused),
		cmocka_unit_test(test_concurrent_open),
		cmocka_unit_test(test_second_connection_keeps_locks),
		cmocka_unit_test(test_busy_timeout),
		cmocka_unit_test(test_sqlite_errors_mapped),
		cmocka_unit_test(test_key_created_once_and_private),
		cmocka_unit_test(test_key_file_elsewhere),
		cmocka_unit_test(test_seal_unseal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
