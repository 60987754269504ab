/* Warm standby volumes in the state database (standbys.h; schema in state.h). */
#include "state/standbys.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

void cairn_standby_clear(struct cairn_standby *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->source);
	free(s->uri);
	free(s->cred);
	free(s->target);
	free(s->backup);
	free(s->fingerprint);
	free(s->pending);
	memset(s, 0, sizeof(*s));
}

void cairn_standbys_free(struct cairn_standby *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cairn_standby_clear(&v[i]);
	free(v);
}

int cairn_standby_add(struct cairn_state *st, const struct cairn_standby *s)
{
	int q = cairn_state_name_check("standby", s->name);
	if (q < 0)
		return q;
	_cleanup_stmt_ sqlite3_stmt *stmt = NULL;
	q = cairn_state_prepare(st,
				"INSERT INTO standbys (name, created, kind, source, uri, cred, target, every_s)"
				" VALUES (?,?,?,?,?,?,?,?)",
				&stmt);
	if (q < 0)
		return q;
	sqlite3_bind_text(stmt, 1, s->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, s->created);
	sqlite3_bind_text(stmt, 3, s->group ? "group" : "volume", -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, s->source, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 5, s->uri, -1, SQLITE_TRANSIENT);
	cairn_state_bind_opt(stmt, 6, s->cred);
	sqlite3_bind_text(stmt, 7, s->target, -1, SQLITE_TRANSIENT);
	if (s->every > 0)
		sqlite3_bind_int64(stmt, 8, s->every);
	else
		sqlite3_bind_null(stmt, 8);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		return cairn_error_set(CAIRN_EEXIST, "a standby named '%s' exists already", s->name);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "add standby");
	return 0;
}

static int dup_col(sqlite3_stmt *s, int col, char **ret)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	*ret = t ? strdup((const char *)t) : NULL;
	return t && !*ret ? cairn_error_nomem() : 0;
}

#define COLS                                                                                                  \
	"name, created, kind, source, uri, cred, target, every_s, backup, backup_created, applied, apply_ms," \
	" bytes_written, fingerprint, pending, last_run"

static int read_row(sqlite3_stmt *s, struct cairn_standby *r)
{
	memset(r, 0, sizeof(*r));
	int q;
	if ((q = dup_col(s, 0, &r->name)) < 0 || (q = dup_col(s, 3, &r->source)) < 0 || (q = dup_col(s, 4, &r->uri)) < 0 ||
	    (q = dup_col(s, 5, &r->cred)) < 0 || (q = dup_col(s, 6, &r->target)) < 0 ||
	    (q = dup_col(s, 8, &r->backup)) < 0 || (q = dup_col(s, 13, &r->fingerprint)) < 0 ||
	    (q = dup_col(s, 14, &r->pending)) < 0) {
		cairn_standby_clear(r);
		return q;
	}
	const unsigned char *kind = sqlite3_column_text(s, 2);
	if (!r->name || !r->source || !r->uri || !r->target || !kind) {
		cairn_standby_clear(r);
		return cairn_error_set(CAIRN_ECORRUPT, "state database: a standby row is damaged");
	}
	r->group = strcmp((const char *)kind, "group") == 0;
	r->created = sqlite3_column_int64(s, 1);
	r->every = sqlite3_column_int64(s, 7);
	r->backup_created = sqlite3_column_int64(s, 9);
	r->applied = sqlite3_column_int64(s, 10);
	r->apply_ms = sqlite3_column_int64(s, 11);
	r->bytes_written = (uint64_t)sqlite3_column_int64(s, 12);
	r->last_run = sqlite3_column_int64(s, 15);
	return 0;
}

int cairn_standby_get(struct cairn_state *st, const char *name, struct cairn_standby *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT " COLS " FROM standbys WHERE name = ?", &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return cairn_error_set(CAIRN_ENOTFOUND, "no standby named '%s' (see 'cairn standby list')", name);
	if (rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "read standby");
	return read_row(s, ret);
}

int cairn_standby_list(struct cairn_state *st, struct cairn_standby **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT " COLS " FROM standbys ORDER BY name", &s);
	if (q < 0)
		return q;
	struct cairn_standby *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 8;
			struct cairn_standby *nv = realloc(v, nc * sizeof(*v));
			if (!nv) {
				cairn_standbys_free(v, n);
				return cairn_error_nomem();
			}
			v = nv;
			cap = nc;
		}
		if ((q = read_row(s, &v[n])) < 0) {
			cairn_standbys_free(v, n);
			return q;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		cairn_standbys_free(v, n);
		return cairn_state_sqlite_error(st, rc, "list standbys");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Runs an UPDATE or DELETE by name; CAIRN_ENOTFOUND when no row matched. */
static int by_name(struct cairn_state *st, sqlite3_stmt *s, int col, const char *name, const char *what)
{
	sqlite3_bind_text(s, col, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, what);
	if (sqlite3_changes(cairn_state_db(st)) == 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no standby named '%s' (see 'cairn standby list')", name);
	return 0;
}

int cairn_standby_delete(struct cairn_state *st, const char *name)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "DELETE FROM standbys WHERE name = ?", &s);
	return q < 0 ? q : by_name(st, s, 1, name, "delete standby");
}

int cairn_standby_set_pending(struct cairn_state *st, const char *name, const char *pending)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "UPDATE standbys SET pending = ? WHERE name = ?", &s);
	if (q < 0)
		return q;
	cairn_state_bind_opt(s, 1, pending);
	return by_name(st, s, 2, name, "update standby");
}

int cairn_standby_set_applied(struct cairn_state *st, const char *name, const char *backup, int64_t backup_created,
			      int64_t applied, int64_t apply_ms, uint64_t bytes_written, const char *fingerprint)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st,
				    "UPDATE standbys SET backup = ?, backup_created = ?, applied = ?, apply_ms = ?,"
				    " bytes_written = ?, fingerprint = ?, pending = NULL WHERE name = ?",
				    &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, backup, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, backup_created);
	sqlite3_bind_int64(s, 3, applied);
	sqlite3_bind_int64(s, 4, apply_ms);
	sqlite3_bind_int64(s, 5, (int64_t)bytes_written);
	cairn_state_bind_opt(s, 6, fingerprint);
	return by_name(st, s, 7, name, "update standby");
}

int cairn_standby_set_last_run(struct cairn_state *st, const char *name, int64_t t)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "UPDATE standbys SET last_run = ? WHERE name = ?", &s);
	if (q < 0)
		return q;
	sqlite3_bind_int64(s, 1, t);
	return by_name(st, s, 2, name, "update standby");
}
