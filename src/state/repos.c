/* Registered repositories in the state database (repos.h; schema in state.h). */
#include "state/repos.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

void cairn_repo_reg_clear(struct cairn_repo_reg *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->uri);
	free(r->repo_id);
	free(r->fingerprint);
	free(r->cred);
	free(r->token_sum);
	memset(r, 0, sizeof(*r));
}

void cairn_repo_regs_free(struct cairn_repo_reg *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cairn_repo_reg_clear(&v[i]);
	free(v);
}

int cairn_repo_reg_add(struct cairn_state *st, const struct cairn_repo_reg *r)
{
	int q = cairn_state_name_check("repository", r->name);
	if (q < 0)
		return q;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	q = cairn_state_prepare(st,
				"INSERT INTO repositories (name, uri, repo_id, fingerprint, cred, imported, newest, backups,"
				" every_s, last_import, token_sum) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
				&s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, r->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, r->uri, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, r->repo_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, r->fingerprint, -1, SQLITE_TRANSIENT);
	cairn_state_bind_opt(s, 5, r->cred);
	sqlite3_bind_int64(s, 6, r->imported);
	sqlite3_bind_int64(s, 7, r->newest);
	sqlite3_bind_int64(s, 8, (int64_t)r->backups);
	if (r->every > 0)
		sqlite3_bind_int64(s, 9, r->every);
	else
		sqlite3_bind_null(s, 9);
	sqlite3_bind_int64(s, 10, r->last_import);
	cairn_state_bind_opt(s, 11, r->token_sum);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		return cairn_error_set(CAIRN_EEXIST, "a repository named '%s' or at that URI is registered already",
				       r->name);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "register repository");
	return 0;
}

static int dup_col(sqlite3_stmt *s, int col, char **ret)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	*ret = t ? strdup((const char *)t) : NULL;
	return t && !*ret ? cairn_error_nomem() : 0;
}

#define REG_COLS "name, uri, repo_id, fingerprint, cred, imported, newest, backups, every_s, last_import, token_sum"

static int read_reg(sqlite3_stmt *s, struct cairn_repo_reg *r)
{
	memset(r, 0, sizeof(*r));
	int q;
	if ((q = dup_col(s, 0, &r->name)) < 0 || (q = dup_col(s, 1, &r->uri)) < 0 ||
	    (q = dup_col(s, 2, &r->repo_id)) < 0 || (q = dup_col(s, 3, &r->fingerprint)) < 0 ||
	    (q = dup_col(s, 4, &r->cred)) < 0 || (q = dup_col(s, 10, &r->token_sum)) < 0) {
		cairn_repo_reg_clear(r);
		return q;
	}
	if (!r->name || !r->uri || !r->repo_id || !r->fingerprint) {
		cairn_repo_reg_clear(r);
		return cairn_error_set(CAIRN_ECORRUPT, "state database: a repository row is damaged");
	}
	r->imported = sqlite3_column_int64(s, 5);
	r->newest = sqlite3_column_int64(s, 6);
	r->backups = (uint64_t)sqlite3_column_int64(s, 7);
	r->every = sqlite3_column_int64(s, 8);
	r->last_import = sqlite3_column_int64(s, 9);
	return 0;
}

static int get_by(struct cairn_state *st, const char *col_sql, const char *v, bool quiet, struct cairn_repo_reg *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, col_sql, &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, v, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return quiet ? CAIRN_ENOTFOUND
			     : cairn_error_set(CAIRN_ENOTFOUND,
					       "no registered repository named '%s' (see 'cairn repos list')", v);
	if (rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "read repository");
	return read_reg(s, ret);
}

int cairn_repo_reg_get(struct cairn_state *st, const char *name, struct cairn_repo_reg *ret)
{
	return get_by(st, "SELECT " REG_COLS " FROM repositories WHERE name = ?", name, false, ret);
}

int cairn_repo_reg_by_uri(struct cairn_state *st, const char *uri, struct cairn_repo_reg *ret)
{
	return get_by(st, "SELECT " REG_COLS " FROM repositories WHERE uri = ?", uri, true, ret);
}

int cairn_repo_reg_list(struct cairn_state *st, struct cairn_repo_reg **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, "SELECT " REG_COLS " FROM repositories ORDER BY name", &s);
	if (q < 0)
		return q;
	struct cairn_repo_reg *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((q = cairn_array_grow(&v, &cap, n, sizeof(*v), 4)) < 0 || (q = read_reg(s, &v[n])) < 0) {
			cairn_repo_regs_free(v, n);
			return q;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		cairn_repo_regs_free(v, n);
		return cairn_state_sqlite_error(st, rc, "list repositories");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Runs sql with ?1 = the name and ?2.. bound by the caller's values. */
static int update(struct cairn_state *st, const char *sql, const char *name, const int64_t *iv, size_t ni,
		  const char *tv, bool with_t)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int q = cairn_state_prepare(st, sql, &s);
	if (q < 0)
		return q;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	for (size_t i = 0; i < ni; i++) {
		if (iv[i] == INT64_MIN)
			sqlite3_bind_null(s, (int)i + 2);
		else
			sqlite3_bind_int64(s, (int)i + 2, iv[i]);
	}
	if (with_t)
		cairn_state_bind_opt(s, (int)ni + 2, tv);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "update repository");
	if (sqlite3_changes(cairn_state_db(st)) == 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no registered repository named '%s' (see 'cairn repos list')",
				       name);
	return 0;
}

int cairn_repo_reg_delete(struct cairn_state *st, const char *name)
{
	return update(st, "DELETE FROM repositories WHERE name = ?1", name, NULL, 0, NULL, false);
}

int cairn_repo_reg_set_seen(struct cairn_state *st, const char *name, int64_t newest, uint64_t backups)
{
	int64_t v[2] = { newest, (int64_t)backups };
	return update(st, "UPDATE repositories SET newest = ?2, backups = ?3 WHERE name = ?1", name, v, 2, NULL, false);
}

int cairn_repo_reg_set_last_import(struct cairn_state *st, const char *name, int64_t t)
{
	return update(st, "UPDATE repositories SET last_import = ?2 WHERE name = ?1", name, &t, 1, NULL, false);
}

int cairn_repo_reg_set_every(struct cairn_state *st, const char *name, int64_t every)
{
	int64_t v = every > 0 ? every : INT64_MIN;
	return update(st, "UPDATE repositories SET every_s = ?2 WHERE name = ?1", name, &v, 1, NULL, false);
}

int cairn_repo_reg_set_cred(struct cairn_state *st, const char *name, const char *cred)
{
	return update(st, "UPDATE repositories SET cred = ?2 WHERE name = ?1", name, NULL, 0, cred, true);
}

int cairn_repo_reg_set_token_sum(struct cairn_state *st, const char *name, const char *sum)
{
	return update(st, "UPDATE repositories SET token_sum = ?2 WHERE name = ?1", name, NULL, 0, sum, true);
}
