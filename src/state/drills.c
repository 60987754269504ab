/* Recovery drills in the state database (drills.h; schema in state.h). */
#include "state/drills.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

void cairn_drill_row_clear(struct cairn_drill_row *r)
{
	if (!r)
		return;
	free(r->kind);
	free(r->name);
	free(r->repo);
	free(r->backup);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

void cairn_drill_rows_free(struct cairn_drill_row *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cairn_drill_row_clear(&v[i]);
	free(v);
}

void cairn_drill_schedule_clear(struct cairn_drill_schedule *s)
{
	if (!s)
		return;
	free(s->kind);
	free(s->name);
	free(s->repo);
	free(s->verify_command);
	free(s->scratch);
	memset(s, 0, sizeof(*s));
}

void cairn_drill_schedules_free(struct cairn_drill_schedule *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cairn_drill_schedule_clear(&v[i]);
	free(v);
}

static int dup_col(sqlite3_stmt *s, int col, char **ret)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	*ret = t ? strdup((const char *)t) : NULL;
	return t && !*ret ? cairn_error_nomem() : 0;
}

int cairn_drill_record(struct cairn_state *st, const struct cairn_drill_row *r, int64_t *ret_id)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st,
				    "INSERT INTO drills (kind, name, repo, backup, started, restore_s, check_s, bytes,"
				    " result, message, job) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
				    &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, r->kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, r->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, r->repo, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, r->backup ? r->backup : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, r->started);
	sqlite3_bind_double(s, 6, r->restore_s);
	sqlite3_bind_double(s, 7, r->check_s);
	sqlite3_bind_int64(s, 8, (int64_t)r->bytes);
	sqlite3_bind_text(s, 9, r->ok ? "ok" : "failed", -1, SQLITE_STATIC);
	cairn_state_bind_opt(s, 10, r->message);
	if (r->job > 0)
		sqlite3_bind_int64(s, 11, r->job);
	else
		sqlite3_bind_null(s, 11);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "record drill");
	if (ret_id)
		*ret_id = sqlite3_last_insert_rowid(cairn_state_db(st));
	return 0;
}

#define ROW_COLS "id, kind, name, repo, backup, started, restore_s, check_s, bytes, result, message, job"

static int read_row(sqlite3_stmt *s, struct cairn_drill_row *r)
{
	memset(r, 0, sizeof(*r));
	int q;
	if ((q = dup_col(s, 1, &r->kind)) < 0 || (q = dup_col(s, 2, &r->name)) < 0 ||
	    (q = dup_col(s, 3, &r->repo)) < 0 || (q = dup_col(s, 4, &r->backup)) < 0 ||
	    (q = dup_col(s, 10, &r->message)) < 0) {
		cairn_drill_row_clear(r);
		return q;
	}
	r->id = sqlite3_column_int64(s, 0);
	r->started = sqlite3_column_int64(s, 5);
	r->restore_s = sqlite3_column_double(s, 6);
	r->check_s = sqlite3_column_double(s, 7);
	r->bytes = (uint64_t)sqlite3_column_int64(s, 8);
	const unsigned char *res = sqlite3_column_text(s, 9);
	r->ok = res && strcmp((const char *)res, "ok") == 0;
	r->job = sqlite3_column_int64(s, 11);
	return 0;
}

int cairn_drill_last(struct cairn_state *st, const char *kind, const char *name, struct cairn_drill_row *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT " ROW_COLS " FROM drills WHERE kind = ? AND name = ?"
					" ORDER BY id DESC LIMIT 1", &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return CAIRN_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "read drill");
	return read_row(s, ret);
}

int cairn_drill_list(struct cairn_state *st, size_t limit, struct cairn_drill_row **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT " ROW_COLS " FROM drills ORDER BY id DESC LIMIT ?", &s);
	if (q < 0)
		return q;
	sqlite3_bind_int64(s, 1, (int64_t)limit);
	struct cairn_drill_row *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cairn_array_grow(&v, &cap, n, sizeof(*v), 8) < 0) {
			cairn_drill_rows_free(v, n);
			return cairn_error_nomem();
		}
		if ((q = read_row(s, &v[n])) < 0) {
			cairn_drill_rows_free(v, n);
			return q;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		cairn_drill_rows_free(v, n);
		return cairn_state_sqlite_error(st, rc, "list drills");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int cairn_drill_schedule_set(struct cairn_state *st, const struct cairn_drill_schedule *d)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st,
				    "INSERT OR REPLACE INTO drill_schedules (kind, name, repo, every_s, verify_command,"
				    " scratch, created, last_run) VALUES (?,?,?,?,?,?,?,?)",
				    &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, d->kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, d->name, -1, SQLITE_TRANSIENT);
	cairn_state_bind_opt(s, 3, d->repo);
	sqlite3_bind_int64(s, 4, d->every);
	cairn_state_bind_opt(s, 5, d->verify_command);
	cairn_state_bind_opt(s, 6, d->scratch);
	sqlite3_bind_int64(s, 7, d->created);
	sqlite3_bind_int64(s, 8, d->last_run);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "save drill schedule");
	return 0;
}

int cairn_drill_schedule_delete(struct cairn_state *st, const char *kind, const char *name)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "DELETE FROM drill_schedules WHERE kind = ? AND name = ?", &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "delete drill schedule");
	if (sqlite3_changes(cairn_state_db(st)) == 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no drill schedule for %s '%s'", kind, name);
	return 0;
}

#define SCHED_COLS "kind, name, repo, every_s, verify_command, scratch, created, last_run"

static int read_sched(sqlite3_stmt *s, struct cairn_drill_schedule *d)
{
	memset(d, 0, sizeof(*d));
	int q;
	if ((q = dup_col(s, 0, &d->kind)) < 0 || (q = dup_col(s, 1, &d->name)) < 0 ||
	    (q = dup_col(s, 2, &d->repo)) < 0 || (q = dup_col(s, 4, &d->verify_command)) < 0 ||
	    (q = dup_col(s, 5, &d->scratch)) < 0) {
		cairn_drill_schedule_clear(d);
		return q;
	}
	d->every = sqlite3_column_int64(s, 3);
	d->created = sqlite3_column_int64(s, 6);
	d->last_run = sqlite3_column_int64(s, 7);
	return 0;
}

int cairn_drill_schedule_get(struct cairn_state *st, const char *kind, const char *name,
			     struct cairn_drill_schedule *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT " SCHED_COLS " FROM drill_schedules WHERE kind = ? AND name = ?", &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return cairn_error_set(CAIRN_ENOTFOUND, "no drill schedule for %s '%s'", kind, name);
	if (rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "read drill schedule");
	return read_sched(s, ret);
}

int cairn_drill_schedule_list(struct cairn_state *st, struct cairn_drill_schedule **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT " SCHED_COLS " FROM drill_schedules ORDER BY kind, name", &s);
	if (q < 0)
		return q;
	struct cairn_drill_schedule *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cairn_array_grow(&v, &cap, n, sizeof(*v), 8) < 0) {
			cairn_drill_schedules_free(v, n);
			return cairn_error_nomem();
		}
		if ((q = read_sched(s, &v[n])) < 0) {
			cairn_drill_schedules_free(v, n);
			return q;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		cairn_drill_schedules_free(v, n);
		return cairn_state_sqlite_error(st, rc, "list drill schedules");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int cairn_drill_schedule_set_last_run(struct cairn_state *st, const char *kind, const char *name, int64_t t)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "UPDATE drill_schedules SET last_run = ? WHERE kind = ? AND name = ?", &s);
	if (q < 0)
		return q;
	sqlite3_bind_int64(s, 1, t);
	sqlite3_bind_text(s, 2, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : cairn_state_sqlite_error(st, rc, "update drill schedule");
}
