/* Notifiers, alert marks and backup statistics in the state database
 * (notify.h; schema in state.h, version 17). */
#include "state/notify.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cairn_notifier_clear(struct cairn_notifier *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->target);
	memset(n, 0, sizeof(*n));
}

void cairn_notifiers_free(struct cairn_notifier *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cairn_notifier_clear(&v[i]);
	free(v);
}

static const struct {
	const char *name;
	unsigned bit;
} event_names[] = { { "failure", CAIRN_NOTIFY_FAILURE }, { "rpo", CAIRN_NOTIFY_RPO } };

int cairn_notify_events_parse(const char *s, unsigned *ret)
{
	unsigned bits = 0;
	const char *p = s;
	for (;;) {
		size_t len = strcspn(p, ",");
		size_t i;
		for (i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
			if (strlen(event_names[i].name) == len && strncmp(p, event_names[i].name, len) == 0)
				break;
		if (i == sizeof(event_names) / sizeof(event_names[0]))
			return cairn_error_set(CAIRN_EINVAL, "unknown event '%.*s' in '%s' (failure, rpo)", (int)len, p,
					       s);
		bits |= event_names[i].bit;
		if (!p[len])
			break;
		p += len + 1;
	}
	*ret = bits;
	return 0;
}

void cairn_notify_events_format(unsigned events, char *buf, size_t size)
{
	size_t off = 0;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
		if ((events & event_names[i].bit) && off < size)
			off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? "," : "", event_names[i].name);
}

static int dup_col(sqlite3_stmt *s, int col, char **ret)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	*ret = t ? strdup((const char *)t) : NULL;
	return t && !*ret ? cairn_error_nomem() : 0;
}

int cairn_notifier_add(struct cairn_state *st, const struct cairn_notifier *n)
{
	int q = cairn_state_name_check("notifier", n->name);
	if (q < 0)
		return q;
	char ev[32];
	cairn_notify_events_format(n->events ? n->events : CAIRN_NOTIFY_ALL, ev, sizeof(ev));
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	if ((q = cairn_state_prepare(st, "INSERT INTO notifiers (name, created, kind, target, events, timeout_s)"
					 " VALUES (?,?,?,?,?,?)", &s)) < 0)
		return q;
	sqlite3_bind_text(s, 1, n->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, n->created ? n->created : (int64_t)time(NULL));
	sqlite3_bind_text(s, 3, n->exec ? "exec" : "webhook", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, n->target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, ev, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 6, n->timeout_s ? n->timeout_s : 10);
	q = cairn_state_step_done(st, s, "add notifier");
	if (q == CAIRN_EEXIST)
		return cairn_error_set(CAIRN_EEXIST, "a notifier named %s exists", n->name);
	return q;
}

#define NOTIFIER_COLS "name, created, kind, target, events, timeout_s"

static int read_notifier(sqlite3_stmt *s, struct cairn_notifier *n)
{
	memset(n, 0, sizeof(*n));
	int q;
	if ((q = dup_col(s, 0, &n->name)) < 0 || (q = dup_col(s, 3, &n->target)) < 0) {
		cairn_notifier_clear(n);
		return q;
	}
	n->created = sqlite3_column_int64(s, 1);
	const char *kind = (const char *)sqlite3_column_text(s, 2);
	n->exec = kind && strcmp(kind, "exec") == 0;
	const char *ev = (const char *)sqlite3_column_text(s, 4);
	if (!ev || cairn_notify_events_parse(ev, &n->events) < 0) {
		cairn_error_clear();
		n->events = CAIRN_NOTIFY_ALL; /* a word a newer cairn knows: announce rather than stay silent */
	}
	n->timeout_s = (unsigned)sqlite3_column_int64(s, 5);
	return 0;
}

int cairn_notifier_get(struct cairn_state *st, const char *name, struct cairn_notifier *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT " NOTIFIER_COLS " FROM notifiers WHERE name = ?", &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return cairn_error_set(CAIRN_ENOTFOUND, "no notifier named %s", name);
	if (rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "read notifier");
	return read_notifier(s, ret);
}

int cairn_notifier_list(struct cairn_state *st, struct cairn_notifier **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT " NOTIFIER_COLS " FROM notifiers ORDER BY name", &s);
	if (q < 0)
		return q;
	struct cairn_notifier *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cairn_array_grow(&v, &cap, n, sizeof(*v), 4) < 0) {
			cairn_notifiers_free(v, n);
			return cairn_error_nomem();
		}
		if ((q = read_notifier(s, &v[n])) < 0) {
			cairn_notifiers_free(v, n);
			return q;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		cairn_notifiers_free(v, n);
		return cairn_state_sqlite_error(st, rc, "list notifiers");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int cairn_notifier_remove(struct cairn_state *st, const char *name)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "DELETE FROM notifiers WHERE name = ?", &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	if ((q = cairn_state_step_done(st, s, "remove notifier")) < 0)
		return q;
	if (sqlite3_changes(cairn_state_db(st)) == 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no notifier named %s", name);
	return 0;
}

int cairn_alert_mark_get(struct cairn_state *st, const char *name, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT value FROM alert_marks WHERE name = ?", &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "read alert mark");
	*ret = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	return 0;
}

int cairn_alert_mark_set(struct cairn_state *st, const char *name, int64_t value)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "INSERT INTO alert_marks (name, value) VALUES (?, ?)"
					" ON CONFLICT (name) DO UPDATE SET value = excluded.value", &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, value);
	return cairn_state_step_done(st, s, "set alert mark");
}

int cairn_rpo_breach_open(struct cairn_state *st, const char *policy, const char *what, int64_t since)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "INSERT OR IGNORE INTO rpo_breaches (policy, what, since) VALUES (?,?,?)", &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, policy, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, what, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, since);
	if ((q = cairn_state_step_done(st, s, "record RPO breach")) < 0)
		return q;
	return sqlite3_changes(cairn_state_db(st)) > 0 ? 1 : 0;
}

int cairn_rpo_breach_close(struct cairn_state *st, const char *policy, const char *what)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "DELETE FROM rpo_breaches WHERE policy = ? AND what = ?", &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, policy, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, what, -1, SQLITE_TRANSIENT);
	return cairn_state_step_done(st, s, "forget RPO breach");
}

void cairn_backup_stats_clear(struct cairn_backup_stats_row *r)
{
	if (!r)
		return;
	free(r->policy);
	free(r->repo);
	free(r->backup);
	memset(r, 0, sizeof(*r));
}

void cairn_backup_stats_free(struct cairn_backup_stats_row *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cairn_backup_stats_clear(&v[i]);
	free(v);
}

int cairn_backup_stats_record(struct cairn_state *st, const struct cairn_backup_stats_row *r)
{
	int q = cairn_state_begin(st);
	if (q < 0)
		return q;
	_cleanup_stmt_ sqlite3_stmt *s = NULL, *w = NULL;
	q = cairn_state_prepare(st,
				"INSERT INTO backup_stats (policy, job, repo, backup, created, seconds, bytes_read,"
				" bytes_new, bytes_stored, stored_total) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?9)"
				" ON CONFLICT (policy) DO UPDATE SET job = ?2, repo = ?3, backup = ?4, created = ?5,"
				" seconds = ?6, bytes_read = ?7, bytes_new = ?8, bytes_stored = ?9,"
				" stored_total = stored_total + ?9",
				&s);
	if (q >= 0) {
		sqlite3_bind_text(s, 1, r->policy, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 2, r->job);
		sqlite3_bind_text(s, 3, r->repo, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 4, r->backup, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 5, r->created);
		sqlite3_bind_double(s, 6, r->seconds);
		sqlite3_bind_int64(s, 7, (int64_t)r->bytes_read);
		sqlite3_bind_int64(s, 8, (int64_t)r->bytes_new);
		sqlite3_bind_int64(s, 9, (int64_t)r->bytes_stored);
		q = cairn_state_step_done(st, s, "record backup statistics");
	}
	if (q >= 0)
		q = cairn_state_prepare(st, "INSERT INTO repo_written (repo, bytes) VALUES (?1, ?2)"
					    " ON CONFLICT (repo) DO UPDATE SET bytes = bytes + ?2", &w);
	if (q >= 0) {
		sqlite3_bind_text(w, 1, r->repo, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(w, 2, (int64_t)r->bytes_stored);
		q = cairn_state_step_done(st, w, "record repository bytes");
	}
	if (q >= 0)
		q = cairn_state_commit(st);
	if (q < 0)
		cairn_state_rollback(st);
	return q;
}

int cairn_backup_stats_list(struct cairn_state *st, struct cairn_backup_stats_row **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT policy, job, repo, backup, created, seconds, bytes_read, bytes_new,"
					" bytes_stored, stored_total FROM backup_stats ORDER BY policy", &s);
	if (q < 0)
		return q;
	struct cairn_backup_stats_row *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cairn_array_grow(&v, &cap, n, sizeof(*v), 8) < 0) {
			cairn_backup_stats_free(v, n);
			return cairn_error_nomem();
		}
		struct cairn_backup_stats_row *r = &v[n];
		memset(r, 0, sizeof(*r));
		n++;
		if ((q = dup_col(s, 0, &r->policy)) < 0 || (q = dup_col(s, 2, &r->repo)) < 0 ||
		    (q = dup_col(s, 3, &r->backup)) < 0) {
			cairn_backup_stats_free(v, n);
			return q;
		}
		r->job = sqlite3_column_int64(s, 1);
		r->created = sqlite3_column_int64(s, 4);
		r->seconds = sqlite3_column_double(s, 5);
		r->bytes_read = (uint64_t)sqlite3_column_int64(s, 6);
		r->bytes_new = (uint64_t)sqlite3_column_int64(s, 7);
		r->bytes_stored = (uint64_t)sqlite3_column_int64(s, 8);
		r->stored_total = (uint64_t)sqlite3_column_int64(s, 9);
	}
	if (rc != SQLITE_DONE) {
		cairn_backup_stats_free(v, n);
		return cairn_state_sqlite_error(st, rc, "list backup statistics");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void cairn_repo_written_free(struct cairn_repo_written *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].repo);
	free(v);
}

int cairn_repo_written_list(struct cairn_state *st, struct cairn_repo_written **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT repo, bytes FROM repo_written ORDER BY repo", &s);
	if (q < 0)
		return q;
	struct cairn_repo_written *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cairn_array_grow(&v, &cap, n, sizeof(*v), 4) < 0) {
			cairn_repo_written_free(v, n);
			return cairn_error_nomem();
		}
		v[n].bytes = (uint64_t)sqlite3_column_int64(s, 1);
		if ((q = dup_col(s, 0, &v[n].repo)) < 0) {
			cairn_repo_written_free(v, n);
			return q;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		cairn_repo_written_free(v, n);
		return cairn_state_sqlite_error(st, rc, "list repository bytes");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int cairn_alert_marks_drop_jobs(struct cairn_state *st, int64_t id)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "DELETE FROM alert_marks WHERE name LIKE 'job:%'"
					" AND CAST(substr(name, 5) AS INTEGER) <= ?", &s);
	if (q < 0)
		return q;
	sqlite3_bind_int64(s, 1, id);
	return cairn_state_step_done(st, s, "drop alert marks");
}

int cairn_policy_point_times(struct cairn_state *st, const char *policy, int64_t *ret_point, int64_t *ret_copied)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(
		st,
		"SELECT coalesce((SELECT created FROM backup_stats WHERE policy = ?1),"
		"  (SELECT started FROM jobs WHERE policy = ?1 AND kind = 'backup' AND state = 'done'"
		"   ORDER BY id DESC LIMIT 1), 0),"
		" coalesce((SELECT max(b.started) FROM jobs b WHERE b.policy = ?1 AND b.kind = 'backup'"
		"  AND b.state = 'done' AND b.started <= (SELECT started FROM jobs WHERE policy = ?1"
		"  AND kind = 'copy' AND state = 'done' ORDER BY id DESC LIMIT 1)), 0)",
		&s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, policy, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "read restore point times");
	*ret_point = sqlite3_column_int64(s, 0);
	*ret_copied = sqlite3_column_int64(s, 1);
	return 0;
}

int cairn_jobs_failed_unresolved(struct cairn_state *st, int64_t **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(
		st,
		"SELECT f.id FROM jobs f WHERE f.state = 'failed'"
		" AND (f.policy IS NULL OR f.policy IN (SELECT name FROM policies))"
		" AND NOT EXISTS (SELECT 1 FROM jobs d WHERE d.state = 'done' AND d.kind = f.kind AND d.id > f.id"
		"  AND ((f.policy IS NOT NULL AND d.policy = f.policy)"
		"   OR (f.policy IS NULL AND d.policy IS NULL AND d.source = f.source)))"
		" ORDER BY f.id DESC",
		&s);
	if (q < 0)
		return q;
	int64_t *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cairn_array_grow(&v, &cap, n, sizeof(*v), 8) < 0) {
			free(v);
			return cairn_error_nomem();
		}
		v[n++] = sqlite3_column_int64(s, 0);
	}
	if (rc != SQLITE_DONE) {
		free(v);
		return cairn_state_sqlite_error(st, rc, "list failed jobs");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
