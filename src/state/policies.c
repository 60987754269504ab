/* Policies in the state database (policies.h; schema in state.h). */
#include "state/policies.h"
#include "crypto/crypto.h"
#include "util/hex.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <stdlib.h>
#include <string.h>

void cairn_policy_clear(struct cairn_policy *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->id);
	free(p->source);
	free(p->volume_name);
	free(p->repo);
	free(p->cred);
	free(p->cron);
	free(p->keep_within);
	free(p->snapshot);
	free(p->copy_to);
	free(p->copy_cred);
	free(p->copy_keep);
	memset(p, 0, sizeof(*p));
}

void cairn_policies_free(struct cairn_policy *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cairn_policy_clear(&v[i]);
	free(v);
}

int cairn_policy_name_check(const char *name)
{
	return cairn_state_name_check("policy", name);
}

int cairn_policy_create(struct cairn_state *st, const struct cairn_policy *p)
{
	int r = cairn_policy_name_check(p->name);
	if (r < 0)
		return r;
	if ((!p->every) == (!p->cron))
		return cairn_error_set(CAIRN_EINVAL, "a policy needs either an interval or a cron schedule");
	uint8_t idb[16];
	char id[33];
	if ((r = cairn_random(idb, sizeof(idb))) < 0)
		return r;
	cairn_hex_encode(idb, sizeof(idb), id);
	if (p->id) {
		if (strlen(p->id) != 32 || strspn(p->id, "0123456789abcdef") != 32)
			return cairn_error_set(CAIRN_EINVAL, "policy %s: invalid id '%s'", p->name, p->id);
		memcpy(id, p->id, 33);
	}
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	r = cairn_state_prepare(st,
				"INSERT INTO policies (name, created, kind, source, repo, cred, every_s, cron, keep_last,"
				" keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly, keep_within,"
				" full_every, snapshot, paused, id, volume_name, retention_scope, rpo_s, copy_to,"
				" copy_cred, copy_every_s, copy_keep, no_catalog)"
				" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
				&s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, p->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, cairn_wall_now());
	sqlite3_bind_text(s, 3, p->kind == CAIRN_POLICY_GROUP ? "group" : "volume", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, p->source, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, p->repo, -1, SQLITE_TRANSIENT);
	cairn_state_bind_opt(s, 6, p->cred);
	if (p->every)
		sqlite3_bind_int64(s, 7, p->every);
	else
		sqlite3_bind_null(s, 7);
	cairn_state_bind_opt(s, 8, p->cron);
	sqlite3_bind_int(s, 9, p->keep_last);
	sqlite3_bind_int(s, 10, p->keep_hourly);
	sqlite3_bind_int(s, 11, p->keep_daily);
	sqlite3_bind_int(s, 12, p->keep_weekly);
	sqlite3_bind_int(s, 13, p->keep_monthly);
	sqlite3_bind_int(s, 14, p->keep_yearly);
	cairn_state_bind_opt(s, 15, p->keep_within);
	sqlite3_bind_int64(s, 16, p->full_every);
	sqlite3_bind_text(s, 17, p->snapshot ? p->snapshot : "auto", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 18, p->paused);
	sqlite3_bind_text(s, 19, id, -1, SQLITE_TRANSIENT);
	cairn_state_bind_opt(s, 20, p->volume_name);
	sqlite3_bind_text(s, 21, p->scope == CAIRN_SCOPE_VOLUME ? "volume" : "policy", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 22, p->rpo > 0 ? p->rpo : 0);
	cairn_state_bind_opt(s, 23, p->copy_to);
	cairn_state_bind_opt(s, 24, p->copy_to ? p->copy_cred : NULL);
	sqlite3_bind_int64(s, 25, p->copy_to && p->copy_every > 0 ? p->copy_every : 0);
	cairn_state_bind_opt(s, 26, p->copy_to ? p->copy_keep : NULL);
	sqlite3_bind_int(s, 27, p->no_catalog);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		return cairn_error_set(CAIRN_EEXIST, "a policy named '%s' exists already", p->name);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "create policy");
	return 0;
}

static int dup_col(sqlite3_stmt *s, int col, char **ret)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	*ret = t ? strdup((const char *)t) : NULL;
	return t && !*ret ? cairn_error_nomem() : 0;
}

#define POLICY_COLS                                                                                            \
	"name, created, kind, source, repo, cred, every_s, cron, keep_last, keep_hourly, keep_daily, keep_weekly," \
	" keep_monthly, keep_yearly, keep_within, full_every, snapshot, paused, last_run, backups, id, volume_name," \
	" retention_scope, rpo_s, copy_to, copy_cred, copy_every_s, copy_keep, last_copy," \
	" no_catalog"

static int read_policy(sqlite3_stmt *s, struct cairn_policy *p)
{
	memset(p, 0, sizeof(*p));
	int r;
	if ((r = dup_col(s, 0, &p->name)) < 0 || (r = dup_col(s, 3, &p->source)) < 0 ||
	    (r = dup_col(s, 4, &p->repo)) < 0 || (r = dup_col(s, 5, &p->cred)) < 0 ||
	    (r = dup_col(s, 7, &p->cron)) < 0 || (r = dup_col(s, 14, &p->keep_within)) < 0 ||
	    (r = dup_col(s, 16, &p->snapshot)) < 0 || (r = dup_col(s, 20, &p->id)) < 0 ||
	    (r = dup_col(s, 21, &p->volume_name)) < 0 || (r = dup_col(s, 24, &p->copy_to)) < 0 ||
	    (r = dup_col(s, 25, &p->copy_cred)) < 0 || (r = dup_col(s, 27, &p->copy_keep)) < 0) {
		cairn_policy_clear(p);
		return r;
	}
	if (!p->name || !p->source || !p->repo || !p->snapshot || !p->id) {
		cairn_policy_clear(p);
		return cairn_error_set(CAIRN_ECORRUPT, "state database: a policy row is damaged");
	}
	const char *kind = (const char *)sqlite3_column_text(s, 2);
	p->kind = kind && strcmp(kind, "group") == 0 ? CAIRN_POLICY_GROUP : CAIRN_POLICY_VOLUME;
	p->created = sqlite3_column_int64(s, 1);
	p->every = sqlite3_column_int64(s, 6);
	p->keep_last = sqlite3_column_int(s, 8);
	p->keep_hourly = sqlite3_column_int(s, 9);
	p->keep_daily = sqlite3_column_int(s, 10);
	p->keep_weekly = sqlite3_column_int(s, 11);
	p->keep_monthly = sqlite3_column_int(s, 12);
	p->keep_yearly = sqlite3_column_int(s, 13);
	p->full_every = (unsigned)sqlite3_column_int64(s, 15);
	p->paused = sqlite3_column_int(s, 17) != 0;
	p->last_run = sqlite3_column_int64(s, 18);
	p->backups = (uint64_t)sqlite3_column_int64(s, 19);
	const char *scope = (const char *)sqlite3_column_text(s, 22);
	p->scope = scope && strcmp(scope, "volume") == 0 ? CAIRN_SCOPE_VOLUME : CAIRN_SCOPE_POLICY;
	p->rpo = sqlite3_column_int64(s, 23);
	p->copy_every = sqlite3_column_int64(s, 26);
	p->last_copy = sqlite3_column_int64(s, 28);
	p->no_catalog = sqlite3_column_int(s, 29) != 0;
	return 0;
}

int cairn_policy_get(struct cairn_state *st, const char *name, struct cairn_policy *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "SELECT " POLICY_COLS " FROM policies WHERE name = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return cairn_error_set(CAIRN_ENOTFOUND, "no policy named '%s' (see 'cairn policy list')", name);
	if (rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "read policy");
	return read_policy(s, ret);
}

int cairn_policy_list(struct cairn_state *st, struct cairn_policy **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "SELECT " POLICY_COLS " FROM policies ORDER BY name", &s);
	if (r < 0)
		return r;
	struct cairn_policy *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((r = cairn_array_grow(&v, &cap, n, sizeof(*v), 8)) < 0 || (r = read_policy(s, &v[n])) < 0) {
			cairn_policies_free(v, n);
			return r;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		cairn_policies_free(v, n);
		return cairn_state_sqlite_error(st, rc, "list policies");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int update(struct cairn_state *st, const char *sql, const char *name, int64_t v, bool with_v)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, sql, &s);
	if (r < 0)
		return r;
	if (with_v) {
		sqlite3_bind_int64(s, 1, v);
		sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	}
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "update policy");
	if (sqlite3_changes(cairn_state_db(st)) == 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no policy named '%s' (see 'cairn policy list')", name);
	return 0;
}

int cairn_policy_delete(struct cairn_state *st, const char *name)
{
	return update(st, "DELETE FROM policies WHERE name = ?", name, 0, false);
}

int cairn_policy_set_paused(struct cairn_state *st, const char *name, bool paused)
{
	return update(st, "UPDATE policies SET paused = ? WHERE name = ?", name, paused, true);
}

int cairn_policy_set_target(struct cairn_state *st, const char *name, const char *repo, const char *cred,
			    const char *source, const char *volume_name)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "UPDATE policies SET repo = ?, cred = ?, source = ?, volume_name = ? WHERE name = ?",
				    &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, repo, -1, SQLITE_TRANSIENT);
	cairn_state_bind_opt(s, 2, cred);
	sqlite3_bind_text(s, 3, source, -1, SQLITE_TRANSIENT);
	cairn_state_bind_opt(s, 4, volume_name);
	sqlite3_bind_text(s, 5, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "update policy");
	if (sqlite3_changes(cairn_state_db(st)) == 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no policy named '%s' (see 'cairn policy list')", name);
	return 0;
}

int cairn_policy_set_last_run(struct cairn_state *st, const char *name, int64_t t)
{
	return update(st, "UPDATE policies SET last_run = ? WHERE name = ?", name, t, true);
}

int cairn_policy_set_last_copy(struct cairn_state *st, const char *name, int64_t t)
{
	return update(st, "UPDATE policies SET last_copy = ? WHERE name = ?", name, t, true);
}

int cairn_policy_count_backup(struct cairn_state *st, const char *name)
{
	return update(st, "UPDATE policies SET backups = backups + 1 WHERE name = ?", name, 0, false);
}
