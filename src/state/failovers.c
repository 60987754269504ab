/* Failovers in the state database (failovers.h; schema in state.c). */
#include "state/failovers.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

void cairn_failover_clear(struct cairn_failover *f)
{
	if (!f)
		return;
	free(f->standby);
	free(f->backup);
	free(f->dr_uri);
	free(f->dr_cred);
	free(f->target);
	free(f->policies);
	free(f->failback_to);
	free(f->failback_backup);
	memset(f, 0, sizeof(*f));
}

void cairn_failovers_free(struct cairn_failover *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cairn_failover_clear(&v[i]);
	free(v);
}

int cairn_failover_put(struct cairn_state *st, const struct cairn_failover *f)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st,
				    "INSERT OR REPLACE INTO failovers (standby, state, started, backup, backup_created,"
				    " rto_ms, dr_uri, dr_cred, target, policies, step) VALUES (?,'failed-over',?,?,?,?,?,?,?,?,0)",
				    &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, f->standby, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, f->started);
	cairn_state_bind_opt(s, 3, f->backup);
	sqlite3_bind_int64(s, 4, f->backup_created);
	sqlite3_bind_int64(s, 5, f->rto_ms);
	sqlite3_bind_text(s, 6, f->dr_uri, -1, SQLITE_TRANSIENT);
	cairn_state_bind_opt(s, 7, f->dr_cred);
	sqlite3_bind_text(s, 8, f->target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 9, f->policies ? f->policies : "[]", -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "record failover");
	return 0;
}

static int dup_col(sqlite3_stmt *s, int col, char **ret)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	*ret = t ? strdup((const char *)t) : NULL;
	return t && !*ret ? cairn_error_nomem() : 0;
}

#define COLS                                                                                              \
	"standby, state, started, backup, backup_created, rto_ms, dr_uri, dr_cred, target, policies, step," \
	" failback_to, failback_backup, failback_bytes, failback_done"

static int read_row(sqlite3_stmt *s, struct cairn_failover *r)
{
	memset(r, 0, sizeof(*r));
	int q;
	if ((q = dup_col(s, 0, &r->standby)) < 0 || (q = dup_col(s, 3, &r->backup)) < 0 ||
	    (q = dup_col(s, 6, &r->dr_uri)) < 0 || (q = dup_col(s, 7, &r->dr_cred)) < 0 ||
	    (q = dup_col(s, 8, &r->target)) < 0 || (q = dup_col(s, 9, &r->policies)) < 0 ||
	    (q = dup_col(s, 11, &r->failback_to)) < 0 || (q = dup_col(s, 12, &r->failback_backup)) < 0) {
		cairn_failover_clear(r);
		return q;
	}
	const unsigned char *state = sqlite3_column_text(s, 1);
	r->failed_back = state && strcmp((const char *)state, "failed-back") == 0;
	r->started = sqlite3_column_int64(s, 2);
	r->backup_created = sqlite3_column_int64(s, 4);
	r->rto_ms = sqlite3_column_int64(s, 5);
	r->step = sqlite3_column_int(s, 10);
	r->failback_bytes = (uint64_t)sqlite3_column_int64(s, 13);
	r->failback_done = sqlite3_column_int64(s, 14);
	return 0;
}

int cairn_failover_get(struct cairn_state *st, const char *standby, struct cairn_failover *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT " COLS " FROM failovers WHERE standby = ?", &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, standby, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return CAIRN_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "read failover");
	return read_row(s, ret);
}

int cairn_failover_list(struct cairn_state *st, struct cairn_failover **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT " COLS " FROM failovers ORDER BY started", &s);
	if (q < 0)
		return q;
	struct cairn_failover *v = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cairn_failover *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			cairn_failovers_free(v, n);
			return cairn_error_nomem();
		}
		v = nv;
		if ((q = read_row(s, &v[n])) < 0) {
			cairn_failovers_free(v, n);
			return q;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		cairn_failovers_free(v, n);
		return cairn_state_sqlite_error(st, rc, "list failovers");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

bool cairn_failover_active(struct cairn_state *st, const char *standby)
{
	struct cairn_failover f;
	if (cairn_failover_get(st, standby, &f) < 0) {
		cairn_error_clear();
		return false;
	}
	bool active = !f.failed_back;
	cairn_failover_clear(&f);
	return active;
}

int cairn_failover_set_step(struct cairn_state *st, const char *standby, int step, const char *to,
			    const char *backup, uint64_t bytes, int64_t now)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st,
				    "UPDATE failovers SET step = ?, failback_to = coalesce(?, failback_to),"
				    " failback_backup = coalesce(?, failback_backup),"
				    " failback_bytes = CASE WHEN ? = 2 THEN ? ELSE failback_bytes END,"
				    " state = CASE WHEN ? = 3 THEN 'failed-back' ELSE state END,"
				    " failback_done = CASE WHEN ? = 3 THEN ? ELSE failback_done END WHERE standby = ?",
				    &s);
	if (q < 0)
		return q;
	sqlite3_bind_int(s, 1, step);
	cairn_state_bind_opt(s, 2, to);
	cairn_state_bind_opt(s, 3, backup);
	sqlite3_bind_int(s, 4, step);
	sqlite3_bind_int64(s, 5, (int64_t)bytes);
	sqlite3_bind_int(s, 6, step);
	sqlite3_bind_int(s, 7, step);
	sqlite3_bind_int64(s, 8, now);
	sqlite3_bind_text(s, 9, standby, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "record failback step");
	return 0;
}
