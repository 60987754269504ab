/* Local state: one SQLite database per host, shared by the CLI and the
 * daemon, for what does not belong in a repository: credentials, snapshots,
 * groups, policies, jobs and job logs, and the backups seen.
 *
 * FILES (in the state directory, --state-dir / CAIRN_STATE_DIR)
 *
 *   state.db        the database, WAL mode (state.db-wal and state.db-shm
 *                   exist while a connection is open).  Created 0600; the
 *                   directory is created 0700.
 *   secret.key      32 random bytes, 0600, created the first time a secret
 *                   is sealed.  Never stored in the database, so a copy of
 *                   state.db alone (a backup of /var/lib, a bug report)
 *                   reveals no secret.  CAIRN_STATE_KEY_FILE (the CLI) or
 *                   cairn_state_params.key_file puts it elsewhere, e.g. on
 *                   another filesystem or a tmpfs filled by a secret manager.
 *                   Losing it loses the stored secrets (not the database).
 *
 * CONCURRENCY
 *
 *   WAL lets readers run beside one writer; every connection waits up to
 *   busy_timeout_ms (default 10 s) for a lock instead of failing at once,
 *   and writers take the lock at BEGIN (IMMEDIATE), so a daemon and CLI
 *   commands can share the file.  A struct cairn_state is one connection:
 *   use it from one thread at a time (a daemon opens one per thread).
 *
 * SCHEMA (PRAGMA user_version = number of migrations applied)
 *
 *   Migrations are an ordered list in state.c; step i (from 0) takes the
 *   database from version i to i+1 in one IMMEDIATE transaction that also
 *   sets user_version, so a crash or a failure leaves the previous version
 *   intact, and two processes opening a fresh database at once apply each
 *   step once.  Adding a table is appending one line to that list.  A
 *   database whose version is above the list's length was written by a
 *   newer cairn and is refused (CAIRN_EVERSION) rather than misread.
 *
 *   version 1
 *     credentials            one immutable row per credential (cred.h)
 *       uuid TEXT PK          random version-4 UUID, lowercase, 36 chars
 *       name TEXT UNIQUE      optional label, [A-Za-z0-9._-], 1..64 chars
 *       provider TEXT         's3' | 'azure' | 'google'
 *       created INTEGER       unix seconds
 *       key_id TEXT           id of the state key that sealed the secrets
 *                             (16 hex digits; see cairn_state_key_id)
 *       s3_access_key, s3_region, s3_endpoint TEXT, s3_disable_ssl INTEGER
 *       azure_account TEXT
 *       google_project_id, google_access_key TEXT
 *       s3_secret_key, azure_key, azure_sas, google_secret,
 *       passphrase BLOB       sealed secrets (cairn_state_seal), NULL if unset
 *     trigger credentials_immutable: any UPDATE of a credential is refused.
 *
 *   version 2
 *     snapshots              local snapshots (snapshots.h)
 *       id TEXT PK            16 hex digits
 *       name TEXT             optional label, unique per volume
 *       volume TEXT           absolute path of the snapshotted volume
 *       path TEXT UNIQUE      the snapshot file
 *       method TEXT           'reflink' | 'copy' | 'lvm'
 *       kind TEXT             'user' (snapshot create) | 'base' (kept by a
 *                             backup for the next incremental)
 *       created INTEGER       unix microseconds
 *       dev, ino, size, mtime_ns, ctime_ns INTEGER
 *                             identity of the file when it was made: a
 *                             snapshot that no longer matches is not
 *                             trusted as a base
 *       repo_id, backup_id, volume_name TEXT
 *                             base only: the backup that read it
 *
 *   version 3
 *     groups                 consistency groups (groups.h)
 *       name TEXT PK, created INTEGER (unix seconds),
 *       config TEXT           absolute path of the config document, or NULL
 *       pre_hook, post_hook TEXT   shell commands, or NULL
 *       max_freeze_ms INTEGER the watchdog's limit
 *     group_members          a group's volumes and mount points to freeze
 *       group_name TEXT -> groups (ON DELETE CASCADE), kind TEXT
 *       ('volume' | 'freeze'), pos INTEGER (order), path TEXT
 *
 *   version 4
 *     policies               scheduled backups with retention (policies.h)
 *       name TEXT PK, created INTEGER (unix seconds),
 *       kind TEXT ('volume' | 'group'), source TEXT (absolute volume path
 *       or group name), repo TEXT (URI), cred TEXT (credential UUID) or NULL
 *       every_s INTEGER | cron TEXT  exactly one is set: seconds between
 *                             runs, or "M H DoM Mon DoW" (daemon/schedule.h)
 *       keep_last .. keep_yearly INTEGER  0 unset, -1 unlimited
 *       keep_within TEXT      "1y2m3d4h" or NULL (engine/retention.h)
 *       full_every INTEGER    every Nth backup re-reads everything; 0 never
 *       snapshot TEXT         snapshot method ('auto', 'reflink', ...)
 *       paused INTEGER, last_run INTEGER (unix seconds the last run was
 *       started, 0 never), backups INTEGER (backups completed)
 *
 *   version 5
 *     jobs                   every backup, restore, check, forget and
 *                            prune run (jobs.h)
 *       id INTEGER PK (autoincrement), kind TEXT, policy TEXT or NULL,
 *       source TEXT (volume path, group name or repository), repo TEXT
 *       state TEXT            'queued' | 'active' | 'done' | 'failed' | 'canceled'
 *       bytes_done, bytes_total, elapsed_ms INTEGER
 *       queued, started, completed, heartbeat INTEGER (unix seconds)
 *       error, result TEXT; stop TEXT ('cancel' | 'shutdown', canceled jobs)
 *       host, boot_id TEXT, pid, pid_start INTEGER: the process that runs
 *                             it (queued: that queued it), to detect death
 *       cancel INTEGER        a cancel was asked for
 *       log_lines, log_dropped INTEGER
 *     job_log                the last CAIRN_JOB_LOG_MAX lines of each job
 *       job INTEGER -> jobs (ON DELETE CASCADE), seq INTEGER, time INTEGER,
 *       level INTEGER (0 warning, 1 info, 2 debug), line TEXT
 *     job_volumes            volumes claimed by active jobs: one job each
 *       volume TEXT PK, job INTEGER -> jobs (ON DELETE CASCADE)
 *
 *   version 6
 *     credentials gains
 *       azure_endpoint TEXT, azure_disable_ssl INTEGER (0 | 1)
 *       seal INTEGER          how the secrets were sealed: 1 (rows of
 *                             versions 1 to 5) binds credential UUID and
 *                             column only, 2 (every row written since)
 *                             binds the endpoint and the other non-secret
 *                             fields too; cred.c seals 1-rows again as 2
 *                             on first use
 *
 *   version 7
 *     snapshot_dirs          every directory cairn made snapshot files in
 *                            (source/snapshot.h), so `snapshot list` finds
 *                            what killed runs left in them
 *       path TEXT PK, created INTEGER (unix seconds)
 *
 *   version 8
 *     policies gains
 *       id TEXT UNIQUE        32 random hex digits, for life: recorded in
 *                             every manifest the policy makes (format.h
 *                             MANIFEST policy_id); existing rows get one
 *       volume_name TEXT      the name its volume backups go by, or NULL:
 *                             the volume's default name
 *       retention_scope TEXT  'policy' (its keep rules forget only the
 *                             backups it made) | 'volume' (every backup of
 *                             its volume or group)
 *
 *   version 9
 *     seen_backups           the newest backups seen of each volume of each
 *                            repository, to notice ones that vanish (seen.h)
 *       repo_id TEXT, id TEXT  the repository's and the backup's ids (hex);
 *                             PK (repo_id, id)
 *       volume TEXT, created INTEGER (unix microseconds, the manifest's)
 *       seen INTEGER          unix microseconds it was first recorded here
 *       forgotten INTEGER     1: forgotten by this host (or a vanished one
 *                             acknowledged), never reported
 *
 *   version 10
 *     group_members gains
 *       name TEXT             a volume's name in its backups ('group create
 *                             --volume-name'), or NULL: its default name
 *
 *   version 11
 *     repositories           repositories registered by `cairn import`
 *                            (repos.h), named where a URI is taken
 *       name TEXT PK          its alias ([A-Za-z0-9._-], 1..64)
 *       uri TEXT UNIQUE       without secrets; cred TEXT (UUID or name) or NULL
 *       repo_id TEXT          the repository's id (32 hex digits)
 *       fingerprint TEXT      its key fingerprint (repo.h)
 *       imported INTEGER      unix seconds of the first import
 *       newest INTEGER        unix microseconds of the newest backup read
 *       backups INTEGER       backups and group backups it held then
 *       every_s INTEGER       `import --every`: seconds between re-reads, or NULL
 *       last_import INTEGER   unix seconds the last re-read started (0 never)
 *       token_sum TEXT        checksum of the token imported last
 *     policies gains
 *       rpo_s INTEGER         RPO target in seconds (`--rpo`), 0 none
 *     jobs                   rebuilt, its kinds gaining 'import' (its logs,
 *                            claims and id counter kept)
 *
 *   version 12
 *     policies gains         replication (`policy create --copy-to`)
 *       copy_to, copy_cred TEXT, copy_every_s INTEGER, copy_keep TEXT,
 *       last_copy INTEGER
 *
 *   version 13
 *     standbys               warm standby volumes (standbys.h)
 *       name TEXT PK          [A-Za-z0-9._-], 1..64
 *       created INTEGER       unix seconds
 *       kind TEXT             'volume' | 'group'; source TEXT: its name
 *       uri TEXT, cred TEXT   the repository it follows (cred: UUID, name or NULL)
 *       target TEXT           absolute path: image, device or (group) directory
 *       every_s INTEGER       `--every`: seconds between updates, or NULL
 *       backup TEXT           the restore point held (backup or group backup id)
 *       backup_created INTEGER  its creation, unix microseconds
 *       applied INTEGER       unix seconds of the last update; apply_ms, bytes_written: its cost
 *       fingerprint TEXT      what the target looked like when left (app/standby.c)
 *       pending TEXT          an update past its commit point, not yet finished
 *                             (JSON, app/standby.c), or NULL
 *       last_run INTEGER      unix seconds the daemon last started an update
 *     jobs                   rebuilt, its kinds gaining 'standby'
 *   version 14
 *     drills                 recovery drills (drills.h), one row per run
 *       id INTEGER PK         kind TEXT ('volume'|'group'), name TEXT
 *       repo TEXT, backup TEXT  what was restored, from where
 *       started INTEGER       unix seconds
 *       restore_s REAL, check_s REAL, bytes INTEGER  the measured RTO
 *       result TEXT           'ok' or 'failed'; message TEXT; job INTEGER
 *     drill_schedules        `drill --every`: (kind, name) PK, repo, every_s,
 *                            verify_command, scratch, created, last_run
 *     jobs                   rebuilt, its kinds gaining 'drill' (after 'standby')
 *
 *   version 15
 *     failovers              a standby handed over (app/failover.c), one row
 *       standby TEXT PK       per standby; state 'failed-over' | 'failed-back'
 *       started INTEGER, backup TEXT, backup_created INTEGER, rto_ms INTEGER
 *       dr_uri TEXT, dr_cred TEXT, target TEXT  where it ran from and to
 *       policies TEXT         JSON: each switched policy as it was before
 *       step INTEGER          failback's progress: 0 none, 1 copied,
 *                             2 restored, 3 switched back
 *       failback_to, failback_backup TEXT, failback_bytes, failback_done INTEGER
 *
 *   version 16 (step 15)
 *     api_tokens             bearer tokens of the daemon's HTTP API (tokens.h)
 *       name TEXT PK          [A-Za-z0-9._-], 1..64
 *       hash TEXT UNIQUE      SHA-256 of the token, 64 hex digits (the
 *                             token itself is shown once and never stored)
 *       read_only INTEGER     1: GET only
 *       created, last_used INTEGER  unix seconds (last_used 0: never)
 *
 *   version 17 (step 16)
 *     notifiers              where alerts go (notify.h): name TEXT PK,
 *       created INTEGER, kind TEXT ('webhook' | 'exec'), target TEXT (the
 *       URL or the shell command), events TEXT ("failure,rpo"),
 *       timeout_s INTEGER (per attempt)
 *     alert_marks            name TEXT PK, value INTEGER: how far the daemon
 *                            has looked ('failed_job': the highest job id
 *                            whose failure was announced)
 *     rpo_breaches           an RPO target broken, announced once:
 *       policy TEXT, what TEXT ('backup' | 'copy'), since INTEGER (unix s)
 *     backup_stats           each policy's newest backup (metrics): policy
 *       TEXT PK, job INTEGER, repo TEXT, backup TEXT, created INTEGER (unix
 *       seconds), seconds REAL, bytes_read, bytes_new, bytes_stored INTEGER,
 *       stored_total INTEGER (bytes stored by all its backups so far)
 *     repo_written           bytes this host's policy backups stored in each
 *       repository (repo TEXT PK, bytes INTEGER)
 *
 *   version 18 (step 17)
 *     policies gains         no_catalog INTEGER (0/1): the policy's backups
 *                            keep no file catalog (`policy create --no-catalog`)
 *
 *   version 19 (step 18)
 *     notify_outbox          alerts not yet delivered (outbox.h): id INTEGER
 *       PK, notifier TEXT, body TEXT (the event's JSON), created INTEGER
 *       (unix s), attempts INTEGER (failed so far), next_try INTEGER (unix
 *       s), last_error TEXT; a row goes once its notifier took the event
 *
 * SEALED SECRETS
 *
 *   AES-256-GCM (crypto.h layout: nonce || ciphertext || tag) under a key
 *   derived with HKDF-SHA-256 from the state key and a label naming the
 *   purpose ("cairn state: credentials v1"); the additional data binds each
 *   secret to its place (cred.c: credential UUID and field name), so a
 *   sealed value copied to another row or column does not open, and (seal
 *   2) to the credential's endpoint, SSL flag and other non-secret fields,
 *   so that editing them does not redirect the secret: it stops opening.
 */
#ifndef CAIRN_STATE_STATE_H
#define CAIRN_STATE_STATE_H

#include "util/cleanup.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAIRN_STATE_DB_NAME "state.db"
#define CAIRN_STATE_KEY_NAME "secret.key"
#define CAIRN_STATE_KEY_LEN 32
#define CAIRN_STATE_KEY_ID_LEN 16 /* hex digits */

struct cairn_state;

struct cairn_state_params {
	const char *key_file; /* NULL: DIR/secret.key */
	bool no_create;       /* CAIRN_ENOTFOUND when DIR/state.db is missing; create nothing */
	int busy_timeout_ms;  /* 0: 10000 */
};

/* Opens (creating the directory and database unless p->no_create) and
 * migrates DIR/state.db.  p may be NULL. */
int cairn_state_open(const char *dir, const struct cairn_state_params *p, struct cairn_state **ret);
/* Closes; accepts NULL.  Wipes the state key from memory. */
void cairn_state_free(struct cairn_state *st);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct cairn_state *, cairn_state_free)

/* Borrowed. */
sqlite3 *cairn_state_db(struct cairn_state *st);
const char *cairn_state_path(const struct cairn_state *st);
const char *cairn_state_key_path(const struct cairn_state *st);
/* The schema version this binary creates and understands. */
int cairn_state_schema_version(void);

/* ---- migrations ---- */

struct cairn_state_migration {
	const char *what; /* for messages: "credentials" */
	const char *sql;  /* one or more statements */
};

/* Brings db to version n by applying m[version..n-1], each step in its own
 * IMMEDIATE transaction.  path names the database in messages.  Exposed so
 * the unit tests can run other lists; cairn_state_open uses the real one. */
int cairn_state_migrate(sqlite3 *db, const char *path, const struct cairn_state_migration *m, size_t n);
/* Brings db to version (at most cairn_state_schema_version()) with the
 * real list: a database as an older cairn left it, for tests. */
int cairn_state_migrate_to(sqlite3 *db, const char *path, int version);

/* ---- helpers for the modules of src/state ---- */

/* Maps a SQLite result to a CAIRN_E* code and sets the message
 * "<what>: <sqlite message> (<database path>)".  db may be NULL. */
int cairn_state_sqlite_error(struct cairn_state *st, int rc, const char *what);
/* Steps a statement that returns no rows (INSERT, UPDATE, DELETE): 0, or
 * the error of cairn_state_sqlite_error with what. */
int cairn_state_step_done(struct cairn_state *st, sqlite3_stmt *s, const char *what);
/* Prepares one statement (ret_stmt owned by the caller: sqlite3_finalize). */
int cairn_state_prepare(struct cairn_state *st, const char *sql, sqlite3_stmt **ret_stmt);
/* Runs statements without results. */
int cairn_state_exec(struct cairn_state *st, const char *sql);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  rollback keeps the current error
 * message (it is called on the way out of a failure). */
int cairn_state_begin(struct cairn_state *st);
int cairn_state_commit(struct cairn_state *st);
void cairn_state_rollback(struct cairn_state *st);

static inline void cairn_sqlite3_stmt_freep(sqlite3_stmt **s)
{
	sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(cairn_sqlite3_stmt_freep)

/* Binds v as text, or NULL when v is NULL (an optional column). */
static inline void cairn_state_bind_opt(sqlite3_stmt *s, int col, const char *v)
{
	if (v)
		sqlite3_bind_text(s, col, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, col);
}

/* Names of policies, groups and the like: letters, digits, '.', '_', '-',
 * 1..64 bytes, not starting with '.' or '-'.  kind names the thing in the
 * error ("policy", "group"). */
int cairn_state_name_check(const char *kind, const char *name);

/* ---- the state key and sealed secrets ---- */

/* Id of the state key (16 hex digits and a NUL, borrowed): lets a reader
 * tell "sealed with another key" from "damaged".  Loads the key file, or
 * with create, makes it when it does not exist.  A missing key file without
 * create is CAIRN_ENOTFOUND; a key file of the wrong size CAIRN_ECORRUPT. */
int cairn_state_key_id(struct cairn_state *st, bool create, const char **ret);

/* Seals len bytes under the subkey for label with additional data aad,
 * creating the key file on first use.  *ret (malloc'd, owned) holds
 * len + CAIRN_AEAD_OVERHEAD bytes. */
int cairn_state_seal(struct cairn_state *st, const char *label, const void *aad, size_t aadlen, const void *in,
		     size_t len, uint8_t **ret, size_t *ret_len);
/* Opens what cairn_state_seal made into cairn_secret_alloc memory of
 * *ret_len + 1 bytes, NUL-terminated (free with cairn_secret_free(p,
 * *ret_len + 1)).  CAIRN_ECORRUPT when authentication fails. */
int cairn_state_unseal(struct cairn_state *st, const char *label, const void *aad, size_t aadlen,
		       const uint8_t *in, size_t len, char **ret, size_t *ret_len);

#endif
