/* The local state database: opening, migrations, the state key, sealing.
 * The schema and file layout are described in state.h. */
#include "state/state.h"
#include "crypto/crypto.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A CHECK cannot be altered: a step that adds job kinds rebuilds the jobs
 * table with KINDS (a string of quoted names).  Dropping jobs cascades to
 * its logs and claims (foreign keys are on), so they are saved and put
 * back, and so is the AUTOINCREMENT counter (ids of deleted jobs are never
 * reused).  The text each step ran is what this expands to with its kinds. */
#define JOBS_REBUILD(KINDS) \
	"CREATE TABLE jobs_new (" \
	" id INTEGER PRIMARY KEY AUTOINCREMENT," \
	" kind TEXT NOT NULL CHECK (kind IN (" KINDS "))," \
	" policy TEXT," \
	" source TEXT NOT NULL," \
	" repo TEXT," \
	" state TEXT NOT NULL CHECK (state IN ('queued', 'active', 'done', 'failed', 'canceled'))," \
	" bytes_done INTEGER NOT NULL DEFAULT 0, bytes_total INTEGER NOT NULL DEFAULT 0," \
	" elapsed_ms INTEGER NOT NULL DEFAULT 0," \
	" queued INTEGER NOT NULL, started INTEGER, completed INTEGER, heartbeat INTEGER," \
	" error TEXT, result TEXT, stop TEXT CHECK (stop IS NULL OR stop IN ('cancel', 'shutdown'))," \
	" host TEXT, boot_id TEXT, pid INTEGER, pid_start INTEGER," \
	" cancel INTEGER NOT NULL DEFAULT 0," \
	" log_lines INTEGER NOT NULL DEFAULT 0, log_dropped INTEGER NOT NULL DEFAULT 0" \
	") STRICT;" \
	"INSERT INTO jobs_new SELECT * FROM jobs;" \
	"CREATE TABLE job_log_save AS SELECT * FROM job_log;" \
	"CREATE TABLE job_volumes_save AS SELECT * FROM job_volumes;" \
	"CREATE TABLE jobs_seq_save AS SELECT seq FROM sqlite_sequence WHERE name = 'jobs';" \
	"DROP TABLE jobs;" \
	"ALTER TABLE jobs_new RENAME TO jobs;" \
	"INSERT INTO job_log SELECT * FROM job_log_save;" \
	"INSERT INTO job_volumes SELECT * FROM job_volumes_save;" \
	"DELETE FROM sqlite_sequence WHERE name = 'jobs';" \
	"INSERT INTO sqlite_sequence (name, seq)" \
	" SELECT 'jobs', max(coalesce((SELECT max(seq) FROM jobs_seq_save), 0), coalesce((SELECT max(id) FROM jobs), 0));" \
	"DROP TABLE job_log_save; DROP TABLE job_volumes_save; DROP TABLE jobs_seq_save;" \
	"CREATE INDEX jobs_by_state ON jobs (state, id);" \
	"CREATE INDEX jobs_by_policy ON jobs (policy, kind, id);"

/* The schema, oldest first.  Step i takes user_version i to i+1; never edit
 * a step that has shipped, append a new one. */
static const struct cairn_state_migration migrations[] = {
	{ "credentials",
	  "CREATE TABLE credentials ("
	  " uuid TEXT PRIMARY KEY NOT NULL CHECK (length(uuid) = 36),"
	  " name TEXT UNIQUE,"
	  " provider TEXT NOT NULL CHECK (provider IN ('s3', 'azure', 'google')),"
	  " created INTEGER NOT NULL,"
	  " key_id TEXT NOT NULL,"
	  " s3_access_key TEXT, s3_region TEXT, s3_endpoint TEXT,"
	  " s3_disable_ssl INTEGER NOT NULL DEFAULT 0,"
	  " azure_account TEXT,"
	  " google_project_id TEXT, google_access_key TEXT,"
	  " s3_secret_key BLOB, azure_key BLOB, azure_sas BLOB, google_secret BLOB,"
	  " passphrase BLOB"
	  ") STRICT;"
	  "CREATE TRIGGER credentials_immutable BEFORE UPDATE ON credentials"
	  " BEGIN SELECT RAISE(ABORT, 'credentials are immutable: delete and create again'); END;" },
	{ "snapshots",
	  "CREATE TABLE snapshots ("
	  " id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 16),"
	  " name TEXT,"
	  " volume TEXT NOT NULL,"
	  " path TEXT NOT NULL UNIQUE,"
	  " method TEXT NOT NULL CHECK (method IN ('reflink', 'copy', 'lvm')),"
	  " kind TEXT NOT NULL CHECK (kind IN ('user', 'base')),"
	  " created INTEGER NOT NULL,"
	  " dev INTEGER NOT NULL, ino INTEGER NOT NULL, size INTEGER NOT NULL,"
	  " mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
	  " repo_id TEXT, backup_id TEXT, volume_name TEXT"
	  ") STRICT;"
	  "CREATE UNIQUE INDEX snapshots_by_name ON snapshots (volume, name) WHERE name IS NOT NULL;"
	  "CREATE INDEX snapshots_by_base ON snapshots (repo_id, volume_name) WHERE kind = 'base';" },
	{ "groups",
	  "CREATE TABLE groups ("
	  " name TEXT PRIMARY KEY NOT NULL,"
	  " created INTEGER NOT NULL,"
	  " config TEXT,"
	  " pre_hook TEXT, post_hook TEXT,"
	  " max_freeze_ms INTEGER NOT NULL"
	  ") STRICT;"
	  "CREATE TABLE group_members ("
	  " group_name TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,"
	  " kind TEXT NOT NULL CHECK (kind IN ('volume', 'freeze')),"
	  " pos INTEGER NOT NULL,"
	  " path TEXT NOT NULL,"
	  " PRIMARY KEY (group_name, kind, pos)"
	  ") STRICT;" },
	{ "policies",
	  "CREATE TABLE policies ("
	  " name TEXT PRIMARY KEY NOT NULL,"
	  " created INTEGER NOT NULL,"
	  " kind TEXT NOT NULL CHECK (kind IN ('volume', 'group')),"
	  " source TEXT NOT NULL,"
	  " repo TEXT NOT NULL,"
	  " cred TEXT,"
	  " every_s INTEGER CHECK (every_s IS NULL OR every_s > 0),"
	  " cron TEXT,"
	  " keep_last INTEGER NOT NULL DEFAULT 0, keep_hourly INTEGER NOT NULL DEFAULT 0,"
	  " keep_daily INTEGER NOT NULL DEFAULT 0, keep_weekly INTEGER NOT NULL DEFAULT 0,"
	  " keep_monthly INTEGER NOT NULL DEFAULT 0, keep_yearly INTEGER NOT NULL DEFAULT 0,"
	  " keep_within TEXT,"
	  " full_every INTEGER NOT NULL DEFAULT 0 CHECK (full_every >= 0),"
	  " snapshot TEXT NOT NULL DEFAULT 'auto',"
	  " paused INTEGER NOT NULL DEFAULT 0,"
	  " last_run INTEGER NOT NULL DEFAULT 0,"
	  " backups INTEGER NOT NULL DEFAULT 0,"
	  " CHECK ((every_s IS NULL) <> (cron IS NULL))"
	  ") STRICT;" },
	{ "jobs",
	  "CREATE TABLE jobs ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " kind TEXT NOT NULL CHECK (kind IN ('backup', 'restore', 'copy', 'check', 'forget', 'prune')),"
	  " policy TEXT,"
	  " source TEXT NOT NULL,"
	  " repo TEXT,"
	  " state TEXT NOT NULL CHECK (state IN ('queued', 'active', 'done', 'failed', 'canceled')),"
	  " bytes_done INTEGER NOT NULL DEFAULT 0, bytes_total INTEGER NOT NULL DEFAULT 0,"
	  " elapsed_ms INTEGER NOT NULL DEFAULT 0,"
	  " queued INTEGER NOT NULL, started INTEGER, completed INTEGER, heartbeat INTEGER,"
	  " error TEXT, result TEXT, stop TEXT CHECK (stop IS NULL OR stop IN ('cancel', 'shutdown')),"
	  " host TEXT, boot_id TEXT, pid INTEGER, pid_start INTEGER,"
	  " cancel INTEGER NOT NULL DEFAULT 0,"
	  " log_lines INTEGER NOT NULL DEFAULT 0, log_dropped INTEGER NOT NULL DEFAULT 0"
	  ") STRICT;"
	  "CREATE INDEX jobs_by_state ON jobs (state, id);"
	  "CREATE INDEX jobs_by_policy ON jobs (policy, kind, id);"
	  "CREATE TABLE job_log ("
	  " job INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
	  " seq INTEGER NOT NULL,"
	  " time INTEGER NOT NULL,"
	  " level INTEGER NOT NULL,"
	  " line TEXT NOT NULL,"
	  " PRIMARY KEY (job, seq)"
	  ") STRICT, WITHOUT ROWID;"
	  "CREATE TABLE job_volumes ("
	  " volume TEXT PRIMARY KEY NOT NULL,"
	  " job INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE"
	  ") STRICT;"
	  "CREATE INDEX job_volumes_by_job ON job_volumes (job);" },
	{ "credentials bound to their endpoint",
	  "ALTER TABLE credentials ADD COLUMN azure_endpoint TEXT;"
	  "ALTER TABLE credentials ADD COLUMN azure_disable_ssl INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE credentials ADD COLUMN seal INTEGER NOT NULL DEFAULT 1;" },
	{ "snapshot directories",
	  "CREATE TABLE snapshot_dirs ("
	  " path TEXT PRIMARY KEY NOT NULL,"
	  " created INTEGER NOT NULL"
	  ") STRICT;" },
	{ "policy ids, volume names and retention scope",
	  "ALTER TABLE policies ADD COLUMN id TEXT CHECK (id IS NULL OR length(id) = 32);"
	  "ALTER TABLE policies ADD COLUMN volume_name TEXT;"
	  "ALTER TABLE policies ADD COLUMN retention_scope TEXT NOT NULL DEFAULT 'policy'"
	  " CHECK (retention_scope IN ('policy', 'volume'));"
	  "UPDATE policies SET id = lower(hex(randomblob(16)));"
	  "CREATE UNIQUE INDEX policies_by_id ON policies (id);" },
	{ "backups seen",
	  "CREATE TABLE seen_backups ("
	  " repo_id TEXT NOT NULL CHECK (length(repo_id) = 32),"
	  " id TEXT NOT NULL CHECK (length(id) = 32),"
	  " volume TEXT NOT NULL,"
	  " created INTEGER NOT NULL,"
	  " seen INTEGER NOT NULL,"
	  " forgotten INTEGER NOT NULL DEFAULT 0,"
	  " PRIMARY KEY (repo_id, id)"
	  ") STRICT, WITHOUT ROWID;"
	  "CREATE INDEX seen_by_volume ON seen_backups (repo_id, volume, created);" },
	{ "group member names",
	  "ALTER TABLE group_members ADD COLUMN name TEXT;" },
	{ "registered repositories, RPO targets and import jobs",
	  "CREATE TABLE repositories ("
	  " name TEXT PRIMARY KEY NOT NULL,"
	  " uri TEXT NOT NULL UNIQUE,"
	  " repo_id TEXT NOT NULL CHECK (length(repo_id) = 32),"
	  " fingerprint TEXT NOT NULL,"
	  " cred TEXT,"
	  " imported INTEGER NOT NULL,"
	  " newest INTEGER NOT NULL DEFAULT 0,"
	  " backups INTEGER NOT NULL DEFAULT 0,"
	  " every_s INTEGER CHECK (every_s IS NULL OR every_s > 0),"
	  " last_import INTEGER NOT NULL DEFAULT 0,"
	  " token_sum TEXT"
	  ") STRICT;"
	  "ALTER TABLE policies ADD COLUMN rpo_s INTEGER NOT NULL DEFAULT 0 CHECK (rpo_s >= 0);"
	  /* The jobs table rebuilt with 'import' among its kinds. */
	  JOBS_REBUILD("'backup', 'restore', 'copy', 'check', 'forget', 'prune', 'import'") },
	{ "policy replication",
	  "ALTER TABLE policies ADD COLUMN copy_to TEXT;"
	  "ALTER TABLE policies ADD COLUMN copy_cred TEXT;"
	  "ALTER TABLE policies ADD COLUMN copy_every_s INTEGER NOT NULL DEFAULT 0 CHECK (copy_every_s >= 0);"
	  "ALTER TABLE policies ADD COLUMN copy_keep TEXT;"
	  "ALTER TABLE policies ADD COLUMN last_copy INTEGER NOT NULL DEFAULT 0;" },
	{ "standby volumes and standby jobs",
	  "CREATE TABLE standbys ("
	  " name TEXT PRIMARY KEY NOT NULL,"
	  " created INTEGER NOT NULL,"
	  " kind TEXT NOT NULL CHECK (kind IN ('volume', 'group')),"
	  " source TEXT NOT NULL,"
	  " uri TEXT NOT NULL, cred TEXT,"
	  " target TEXT NOT NULL,"
	  " every_s INTEGER CHECK (every_s IS NULL OR every_s > 0),"
	  " backup TEXT, backup_created INTEGER NOT NULL DEFAULT 0,"
	  " applied INTEGER NOT NULL DEFAULT 0, apply_ms INTEGER NOT NULL DEFAULT 0,"
	  " bytes_written INTEGER NOT NULL DEFAULT 0,"
	  " fingerprint TEXT, pending TEXT,"
	  " last_run INTEGER NOT NULL DEFAULT 0"
	  ") STRICT;"
	  /* The jobs table rebuilt with 'standby' among its kinds. */
	  JOBS_REBUILD("'backup', 'restore', 'copy', 'check', 'forget', 'prune', 'import', 'standby'") },
	{ "recovery drills",
	  "CREATE TABLE drills ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " kind TEXT NOT NULL CHECK (kind IN ('volume', 'group')),"
	  " name TEXT NOT NULL,"
	  " repo TEXT NOT NULL,"
	  " backup TEXT NOT NULL,"
	  " started INTEGER NOT NULL,"
	  " restore_s REAL NOT NULL DEFAULT 0, check_s REAL NOT NULL DEFAULT 0,"
	  " bytes INTEGER NOT NULL DEFAULT 0,"
	  " result TEXT NOT NULL CHECK (result IN ('ok', 'failed')),"
	  " message TEXT,"
	  " job INTEGER"
	  ") STRICT;"
	  "CREATE INDEX drills_by_item ON drills (kind, name, id);"
	  "CREATE TABLE drill_schedules ("
	  " kind TEXT NOT NULL CHECK (kind IN ('volume', 'group')),"
	  " name TEXT NOT NULL,"
	  " repo TEXT,"
	  " every_s INTEGER NOT NULL CHECK (every_s > 0),"
	  " verify_command TEXT,"
	  " scratch TEXT,"
	  " created INTEGER NOT NULL,"
	  " last_run INTEGER NOT NULL DEFAULT 0,"
	  " PRIMARY KEY (kind, name)"
	  ") STRICT;"
	  /* The jobs table rebuilt with 'drill' among its kinds. */
	  JOBS_REBUILD("'backup', 'restore', 'copy', 'check', 'forget', 'prune', 'import', 'standby', 'drill'") },
	{ "failovers",
	  "CREATE TABLE failovers ("
	  " standby TEXT PRIMARY KEY NOT NULL,"
	  " state TEXT NOT NULL CHECK (state IN ('failed-over', 'failed-back')),"
	  " started INTEGER NOT NULL,"
	  " backup TEXT, backup_created INTEGER NOT NULL DEFAULT 0,"
	  " rto_ms INTEGER NOT NULL DEFAULT 0,"
	  " dr_uri TEXT NOT NULL, dr_cred TEXT,"
	  " target TEXT NOT NULL,"
	  " policies TEXT NOT NULL DEFAULT '[]',"
	  " step INTEGER NOT NULL DEFAULT 0 CHECK (step BETWEEN 0 AND 3),"
	  " failback_to TEXT, failback_backup TEXT,"
	  " failback_bytes INTEGER NOT NULL DEFAULT 0, failback_done INTEGER NOT NULL DEFAULT 0"
	  ") STRICT;" },
	/* Step 15. */
	{ "API tokens",
	  "CREATE TABLE api_tokens ("
	  " name TEXT PRIMARY KEY NOT NULL,"
	  " hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),"
	  " read_only INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1)),"
	  " created INTEGER NOT NULL,"
	  " last_used INTEGER NOT NULL DEFAULT 0"
	  ") STRICT;" },
	/* Step 16. */
	{ "notifiers, alert marks and backup statistics",
	  "CREATE TABLE notifiers ("
	  " name TEXT PRIMARY KEY NOT NULL,"
	  " created INTEGER NOT NULL,"
	  " kind TEXT NOT NULL CHECK (kind IN ('webhook', 'exec')),"
	  " target TEXT NOT NULL,"
	  " events TEXT NOT NULL,"
	  " timeout_s INTEGER NOT NULL CHECK (timeout_s BETWEEN 1 AND 3600)"
	  ") STRICT;"
	  "CREATE TABLE alert_marks ("
	  " name TEXT PRIMARY KEY NOT NULL,"
	  " value INTEGER NOT NULL"
	  ") STRICT;"
	  "CREATE TABLE rpo_breaches ("
	  " policy TEXT NOT NULL,"
	  " what TEXT NOT NULL CHECK (what IN ('backup', 'copy')),"
	  " since INTEGER NOT NULL,"
	  " PRIMARY KEY (policy, what)"
	  ") STRICT;"
	  "CREATE TABLE backup_stats ("
	  " policy TEXT PRIMARY KEY NOT NULL,"
	  " job INTEGER NOT NULL,"
	  " repo TEXT NOT NULL,"
	  " backup TEXT NOT NULL,"
	  " created INTEGER NOT NULL,"
	  " seconds REAL NOT NULL,"
	  " bytes_read INTEGER NOT NULL, bytes_new INTEGER NOT NULL, bytes_stored INTEGER NOT NULL,"
	  " stored_total INTEGER NOT NULL"
	  ") STRICT;"
	  "CREATE TABLE repo_written ("
	  " repo TEXT PRIMARY KEY NOT NULL,"
	  " bytes INTEGER NOT NULL"
	  ") STRICT;" },
	{ "policies without a file catalog",
	  "ALTER TABLE policies ADD COLUMN no_catalog INTEGER NOT NULL DEFAULT 0 CHECK (no_catalog IN (0, 1));" },
	{ "pending notifications",
	  "CREATE TABLE notify_outbox ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " notifier TEXT NOT NULL,"
	  " body TEXT NOT NULL,"
	  " created INTEGER NOT NULL,"
	  " attempts INTEGER NOT NULL DEFAULT 0,"
	  " next_try INTEGER NOT NULL,"
	  " last_error TEXT"
	  ") STRICT;"
	  "CREATE INDEX notify_outbox_by_due ON notify_outbox (next_try, id);" },
};

struct cairn_state {
	sqlite3 *db;
	char *path;     /* DIR/state.db */
	char *key_path; /* the state key file */
	uint8_t *key;   /* secret memory, CAIRN_STATE_KEY_LEN bytes; NULL until loaded */
	char key_id[CAIRN_STATE_KEY_ID_LEN + 1];
	int busy_ms;    /* how long to wait for another connection's lock */
};

int cairn_state_schema_version(void)
{
	return (int)ARRAY_SIZE(migrations);
}

sqlite3 *cairn_state_db(struct cairn_state *st)
{
	return st->db;
}

const char *cairn_state_path(const struct cairn_state *st)
{
	return st->path;
}

const char *cairn_state_key_path(const struct cairn_state *st)
{
	return st->key_path;
}

/* ---- errors ---- */

static int map_sqlite(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return CAIRN_EBUSY;
	case SQLITE_FULL:
		return CAIRN_ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return CAIRN_ECORRUPT;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return CAIRN_EPERM;
	case SQLITE_NOMEM:
		return cairn_error_nomem();
	case SQLITE_CONSTRAINT:
		return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ? CAIRN_EEXIST
											    : CAIRN_EINVAL;
	default:
		return CAIRN_EIO;
	}
}

static int db_error(sqlite3 *db, const char *path, int rc, const char *what)
{
	/* sqlite3_errmsg names constraints and columns, never bound values, so
	 * a secret being inserted cannot end up in the message. */
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	return cairn_error_set(map_sqlite(rc), "state database %s: %s: %s", path, what, msg);
}

int cairn_state_sqlite_error(struct cairn_state *st, int rc, const char *what)
{
	return db_error(st->db, st->path, rc, what);
}

int cairn_state_step_done(struct cairn_state *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : cairn_state_sqlite_error(st, rc, what);
}

int cairn_state_prepare(struct cairn_state *st, const char *sql, sqlite3_stmt **ret_stmt)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, ret_stmt, NULL);
	if (rc != SQLITE_OK)
		return cairn_state_sqlite_error(st, rc, "prepare");
	return 0;
}

static int db_exec(sqlite3 *db, const char *path, const char *sql, const char *what)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_error(db, path, rc, what);
}

int cairn_state_name_check(const char *kind, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n ||
	    name[0] == '.' || name[0] == '-')
		return cairn_error_set(CAIRN_EINVAL,
				       "invalid %s name '%s' (letters, digits, '.', '_', '-'; up to 64; not starting "
				       "with '.' or '-')",
				       kind, name ? name : "");
	return 0;
}

int cairn_state_exec(struct cairn_state *st, const char *sql)
{
	return db_exec(st->db, st->path, sql, "exec");
}

int cairn_state_begin(struct cairn_state *st)
{
	return db_exec(st->db, st->path, "BEGIN IMMEDIATE", "begin transaction");
}

int cairn_state_commit(struct cairn_state *st)
{
	return db_exec(st->db, st->path, "COMMIT", "commit");
}

void cairn_state_rollback(struct cairn_state *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- migrations ---- */

static int user_version(sqlite3 *db, const char *path, int *ret)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		int r = db_error(db, path, rc, "read schema version");
		sqlite3_finalize(s);
		return r;
	}
	*ret = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return 0;
}

int cairn_state_migrate(sqlite3 *db, const char *path, const struct cairn_state_migration *m, size_t n)
{
	int v, r;

	for (;;) {
		if ((r = user_version(db, path, &v)) < 0)
			return r;
		if (v < 0 || (size_t)v > n)
			return cairn_error_set(CAIRN_EVERSION,
					       "state database %s has schema version %d, but this cairn knows "
					       "versions up to %zu: it was written by a newer cairn (upgrade cairn, "
					       "or use another --state-dir)",
					       path, v, n);
		if ((size_t)v == n)
			return 0;
		if ((r = db_exec(db, path, "BEGIN IMMEDIATE", "begin migration")) < 0)
			return r;
		/* Another process may have migrated while we waited for the lock. */
		int now;
		if ((r = user_version(db, path, &now)) < 0)
			goto fail;
		if (now != v) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			continue;
		}
		char what[128], set[64];
		snprintf(what, sizeof(what), "migration %d (%s)", v + 1, m[v].what);
		if ((r = db_exec(db, path, m[v].sql, what)) < 0)
			goto fail;
		snprintf(set, sizeof(set), "PRAGMA user_version = %d", v + 1);
		if ((r = db_exec(db, path, set, what)) < 0)
			goto fail;
		if ((r = db_exec(db, path, "COMMIT", what)) < 0)
			goto fail;
		cairn_log_debug("state database %s: migrated to schema version %d (%s)", path, v + 1, m[v].what);
	}
fail:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int cairn_state_migrate_to(sqlite3 *db, const char *path, int version)
{
	if (version < 0 || version > cairn_state_schema_version())
		return cairn_error_set(CAIRN_EINVAL, "no schema version %d", version);
	return cairn_state_migrate(db, path, migrations, (size_t)version);
}

/* ---- opening ---- */

/* Creates dir and its missing parents, new ones 0700. */
static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return cairn_error_set(CAIRN_EINVAL, "state directory path too long");
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return cairn_error_errno(errno, "create state directory %s", path);
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return cairn_error_errno(errno, "create state directory %s", path);
	struct stat sb;
	if (stat(path, &sb) < 0)
		return cairn_error_errno(errno, "state directory %s", path);
	if (!S_ISDIR(sb.st_mode))
		return cairn_error_set(CAIRN_EINVAL, "state directory %s is not a directory", path);
	return 0;
}

/* SQLite gives new files 0644 minus the umask, and its -wal and -shm files
 * the database file's mode: making the database 0600 first makes all three
 * private.  An existing database is never opened here: closing any
 * descriptor of a file drops every POSIX lock this process holds on it, so
 * a second connection in one process (a command's job row and its record
 * of backups seen) would silently strip the first of its locks. */
static int precreate_db(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		close(fd); /* new: no connection can hold a lock on it yet */
		return 0;
	}
	if (errno != EEXIST)
		return cairn_error_errno(errno, "create state database %s", path);
	struct stat sb;
	if (lstat(path, &sb) < 0)
		return cairn_error_errno(errno, "state database %s", path);
	if (!S_ISREG(sb.st_mode))
		return cairn_error_set(CAIRN_EINVAL, "state database %s is not a regular file", path);
	if ((sb.st_mode & 077) && chmod(path, sb.st_mode & 0700) < 0)
		return cairn_error_errno(errno, "make state database %s private", path);
	return 0;
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

void cairn_state_free(struct cairn_state *st)
{
	if (!st)
		return;
	sqlite3_close_v2(st->db);
	cairn_secret_free(st->key, CAIRN_STATE_KEY_LEN);
	free(st->path);
	free(st->key_path);
	free(st);
}

static int pragma(struct cairn_state *st, const char *sql, const char *want)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, sql, &s);
	if (r < 0)
		return r;
	int rc, waited = 0;
	/* Switching a new database to WAL needs its exclusive lock, and
	 * SQLite returns SQLITE_BUSY at once, without the busy handler, when
	 * another connection opening it at the same time holds a shared one
	 * (waiting could deadlock the two): wait here instead. */
	while (((rc = sqlite3_step(s)) & 0xff) == SQLITE_BUSY && waited < st->busy_ms) {
		sqlite3_reset(s);
		usleep(10000);
		waited += 10;
	}
	for (; rc == SQLITE_ROW; rc = sqlite3_step(s))
		if (want) {
			const char *got = (const char *)sqlite3_column_text(s, 0);
			if (!got || strcmp(got, want) != 0)
				return cairn_error_set(CAIRN_EIO, "state database %s: %s gave '%s', not '%s'",
						       st->path, sql, got ? got : "", want);
		}
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, sql);
	return 0;
}

int cairn_state_open(const char *dir, const struct cairn_state_params *p, struct cairn_state **ret)
{
	static const struct cairn_state_params defaults = { 0 };
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	int r, rc;

	if (!p)
		p = &defaults;
	if (!dir || !*dir)
		return cairn_error_set(CAIRN_EINVAL, "no state directory");
	if (!(st = calloc(1, sizeof(*st))))
		return cairn_error_nomem();
	st->path = join(dir, CAIRN_STATE_DB_NAME);
	st->key_path = p->key_file && *p->key_file ? strdup(p->key_file) : join(dir, CAIRN_STATE_KEY_NAME);
	if (!st->path || !st->key_path)
		return cairn_error_nomem();

	if (p->no_create) {
		if (access(st->path, F_OK) < 0)
			return errno == ENOENT ? cairn_error_set(CAIRN_ENOTFOUND, "no state database at %s", st->path)
					       : cairn_error_errno(errno, "state database %s", st->path);
	} else {
		if ((r = mkdir_p(dir)) < 0)
			return r;
		if ((r = precreate_db(st->path)) < 0)
			return r;
	}

	rc = sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc != SQLITE_OK)
		return cairn_state_sqlite_error(st, rc, "open");
	sqlite3_extended_result_codes(st->db, 1);
	st->busy_ms = p->busy_timeout_ms > 0 ? p->busy_timeout_ms : 10000;
	sqlite3_busy_timeout(st->db, st->busy_ms);

	/* WAL: readers beside a writer (daemon + CLI).  synchronous=FULL: a
	 * credential whose UUID was printed survives a power cut.
	 * secure_delete: a deleted row's sealed secrets are overwritten, not
	 * left in free pages.  trusted_schema=OFF: a planted schema cannot make
	 * us run functions with side effects. */
	if ((r = pragma(st, "PRAGMA journal_mode = WAL", "wal")) < 0 ||
	    (r = pragma(st, "PRAGMA synchronous = FULL", NULL)) < 0 ||
	    (r = pragma(st, "PRAGMA foreign_keys = ON", NULL)) < 0 ||
	    (r = pragma(st, "PRAGMA secure_delete = ON", NULL)) < 0 ||
	    (r = pragma(st, "PRAGMA trusted_schema = OFF", NULL)) < 0)
		return r;
	if ((r = cairn_state_migrate(st->db, st->path, migrations, ARRAY_SIZE(migrations))) < 0)
		return r;
	cairn_log_debug("state database %s open (schema version %d)", st->path, cairn_state_schema_version());
	*ret = TAKE_PTR(st);
	return 0;
}

/* ---- the state key ---- */

static int set_key_id(struct cairn_state *st)
{
	uint8_t id[CAIRN_STATE_KEY_ID_LEN / 2];
	int r = cairn_hkdf(st->key, CAIRN_STATE_KEY_LEN, "cairn state: key id", id, sizeof(id));
	if (r < 0)
		return r;
	cairn_hex_encode(id, sizeof(id), st->key_id);
	return 0;
}

static int read_key(struct cairn_state *st, int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return cairn_error_errno(errno, "state key file %s", st->key_path);
	if (!S_ISREG(sb.st_mode))
		return cairn_error_set(CAIRN_EINVAL, "state key file %s is not a regular file", st->key_path);
	if (sb.st_size != CAIRN_STATE_KEY_LEN)
		return cairn_error_set(CAIRN_ECORRUPT, "state key file %s is damaged: %lld bytes, expected %d",
				       st->key_path, (long long)sb.st_size, CAIRN_STATE_KEY_LEN);
	uint8_t *k = cairn_secret_alloc(CAIRN_STATE_KEY_LEN);
	if (!k)
		return cairn_error_nomem();
	size_t n = 0;
	while (n < CAIRN_STATE_KEY_LEN) {
		ssize_t got = read(fd, k + n, CAIRN_STATE_KEY_LEN - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			int r = got < 0 ? cairn_error_errno(errno, "read state key file %s", st->key_path)
					: cairn_error_set(CAIRN_ECORRUPT, "state key file %s is truncated", st->key_path);
			cairn_secret_free(k, CAIRN_STATE_KEY_LEN);
			return r;
		}
		n += (size_t)got;
	}
	st->key = k;
	return 0;
}

/* Writes a new random key under a temporary name and links it into place,
 * so a concurrent creator either wins or finds ours, and a crash never
 * leaves a short key file. */
static int create_key(struct cairn_state *st)
{
	size_t n = strlen(st->key_path) + 16;
	_cleanup_free_ char *tmp = malloc(n);
	uint8_t *k = cairn_secret_alloc(CAIRN_STATE_KEY_LEN);
	int r;

	if (!tmp || !k) {
		cairn_secret_free(k, CAIRN_STATE_KEY_LEN);
		return cairn_error_nomem();
	}
	if ((r = cairn_random(k, CAIRN_STATE_KEY_LEN)) < 0) {
		cairn_secret_free(k, CAIRN_STATE_KEY_LEN);
		return r;
	}
	snprintf(tmp, n, "%s.tmp.XXXXXX", st->key_path);
	int fd = mkostemp(tmp, O_CLOEXEC); /* 0600 */
	if (fd < 0) {
		cairn_secret_free(k, CAIRN_STATE_KEY_LEN);
		return cairn_error_errno(errno, "create state key file %s", st->key_path);
	}
	r = cairn_write_all(fd, k, CAIRN_STATE_KEY_LEN, tmp);
	if (r >= 0 && fsync(fd) < 0)
		r = cairn_error_errno(errno, "sync state key file %s", tmp);
	close(fd);
	if (r >= 0 && link(tmp, st->key_path) < 0)
		r = errno == EEXIST ? 1 : cairn_error_errno(errno, "create state key file %s", st->key_path);
	unlink(tmp);
	if (r != 0) {
		cairn_secret_free(k, CAIRN_STATE_KEY_LEN);
		return r; /* 1: someone else's key is in place now */
	}
	/* The link must be durable before anything is sealed with the key. */
	_cleanup_free_ char *dir = strdup(st->key_path);
	if (dir) {
		char *slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = 0;
		int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	cairn_log_info("created state key file %s", st->key_path);
	st->key = k;
	return 0;
}

static int load_key(struct cairn_state *st, bool create)
{
	if (st->key)
		return 0;
	for (int tries = 0; tries < 2; tries++) {
		int fd = open(st->key_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		int r;
		if (fd >= 0) {
			r = read_key(st, fd);
			close(fd);
		} else if (errno != ENOENT) {
			return cairn_error_errno(errno, "open state key file %s", st->key_path);
		} else if (!create) {
			return cairn_error_set(CAIRN_ENOTFOUND,
					       "state key file %s is missing: the stored secrets cannot be "
					       "decrypted without it (restore it, or set CAIRN_STATE_KEY_FILE)",
					       st->key_path);
		} else if ((r = create_key(st)) == 1) {
			continue; /* lost a race: read the winner's key */
		}
		if (r < 0)
			return r;
		return set_key_id(st);
	}
	return cairn_error_set(CAIRN_EIO, "state key file %s: could not be created or read", st->key_path);
}

int cairn_state_key_id(struct cairn_state *st, bool create, const char **ret)
{
	int r = load_key(st, create);
	if (r < 0)
		return r;
	*ret = st->key_id;
	return 0;
}

static int subkey_aead(struct cairn_state *st, const char *label, struct cairn_aead **ret)
{
	uint8_t *k = cairn_secret_alloc(CAIRN_KEY_LEN);
	if (!k)
		return cairn_error_nomem();
	int r = cairn_hkdf(st->key, CAIRN_STATE_KEY_LEN, label, k, CAIRN_KEY_LEN);
	if (r >= 0)
		r = cairn_aead_new(k, ret);
	cairn_secret_free(k, CAIRN_KEY_LEN);
	return r;
}

int cairn_state_seal(struct cairn_state *st, const char *label, const void *aad, size_t aadlen, const void *in,
		     size_t len, uint8_t **ret, size_t *ret_len)
{
	struct cairn_aead *a = NULL;
	int r = load_key(st, true);
	if (r < 0 || (r = subkey_aead(st, label, &a)) < 0)
		return r;
	uint8_t *out = malloc(len + CAIRN_AEAD_OVERHEAD);
	if (!out) {
		cairn_aead_free(a);
		return cairn_error_nomem();
	}
	r = cairn_aead_seal(a, aad, aadlen, in, len, out);
	cairn_aead_free(a);
	if (r < 0) {
		free(out);
		return r;
	}
	*ret = out;
	*ret_len = len + CAIRN_AEAD_OVERHEAD;
	return 0;
}

int cairn_state_unseal(struct cairn_state *st, const char *label, const void *aad, size_t aadlen,
		       const uint8_t *in, size_t len, char **ret, size_t *ret_len)
{
	struct cairn_aead *a = NULL;
	if (len < CAIRN_AEAD_OVERHEAD)
		return cairn_error_set(CAIRN_ECORRUPT, "sealed secret too short (%zu bytes)", len);
	int r = load_key(st, false);
	if (r < 0 || (r = subkey_aead(st, label, &a)) < 0)
		return r;
	size_t n = len - CAIRN_AEAD_OVERHEAD;
	char *out = cairn_secret_alloc(n + 1);
	if (!out) {
		cairn_aead_free(a);
		return cairn_error_nomem();
	}
	r = cairn_aead_open(a, aad, aadlen, in, len, (uint8_t *)out);
	cairn_aead_free(a);
	if (r < 0) {
		cairn_secret_free(out, n + 1);
		return r;
	}
	out[n] = 0;
	*ret = out;
	*ret_len = n;
	return 0;
}
