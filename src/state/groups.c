/* Consistency groups in the state database (groups.h; schema in state.h). */
#include "state/groups.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void cairn_group_clear(struct cairn_group *g)
{
	if (!g)
		return;
	free(g->name);
	free_strv(g->names, g->names ? g->nvolumes : 0);
	free_strv(g->volumes, g->nvolumes);
	free_strv(g->freeze, g->nfreeze);
	free(g->config);
	free(g->pre_hook);
	free(g->post_hook);
	memset(g, 0, sizeof(*g));
}

void cairn_groups_free(struct cairn_group *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cairn_group_clear(&v[i]);
	free(v);
}

int cairn_group_name_check(const char *name)
{
	return cairn_state_name_check("group", name);
}

static int add_members(struct cairn_state *st, const char *group, const char *kind, char *const *v,
		       char *const *names, size_t n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(
		st, "INSERT INTO group_members (group_name, kind, pos, path, name) VALUES (?,?,?,?,?)", &s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, group, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)i);
		sqlite3_bind_text(s, 4, v[i], -1, SQLITE_TRANSIENT);
		cairn_state_bind_opt(s, 5, names ? names[i] : NULL);
		int rc = sqlite3_step(s);
		if (rc != SQLITE_DONE)
			return cairn_state_sqlite_error(st, rc, "add group member");
	}
	return 0;
}

int cairn_group_create(struct cairn_state *st, const struct cairn_group *g)
{
	int r = cairn_group_name_check(g->name);
	if (r < 0)
		return r;
	if ((r = cairn_state_begin(st)) < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	r = cairn_state_prepare(st,
				"INSERT INTO groups (name, created, config, pre_hook, post_hook, max_freeze_ms)"
				" VALUES (?,?,?,?,?,?)",
				&s);
	if (r >= 0) {
		sqlite3_bind_text(s, 1, g->name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 2, g->created ? g->created : (sqlite3_int64)time(NULL));
		cairn_state_bind_opt(s, 3, g->config);
		cairn_state_bind_opt(s, 4, g->pre_hook);
		cairn_state_bind_opt(s, 5, g->post_hook);
		sqlite3_bind_int64(s, 6, g->max_freeze_ms ? g->max_freeze_ms : CAIRN_GROUP_MAX_FREEZE_MS_DEFAULT);
		int rc = sqlite3_step(s);
		if ((rc & 0xff) == SQLITE_CONSTRAINT)
			r = cairn_error_set(CAIRN_EEXIST, "a group named '%s' exists already", g->name);
		else if (rc != SQLITE_DONE)
			r = cairn_state_sqlite_error(st, rc, "create group");
	}
	if (r >= 0)
		r = add_members(st, g->name, "volume", g->volumes, g->names, g->nvolumes);
	if (r >= 0)
		r = add_members(st, g->name, "freeze", g->freeze, NULL, g->nfreeze);
	if (r >= 0)
		r = cairn_state_commit(st);
	if (r < 0)
		cairn_state_rollback(st);
	return r;
}

static int dup_col(sqlite3_stmt *s, int col, char **ret)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	*ret = t ? strdup((const char *)t) : NULL;
	return t && !*ret ? cairn_error_nomem() : 0;
}

static int load_members(struct cairn_state *st, struct cairn_group *g)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(
		st, "SELECT kind, path, name FROM group_members WHERE group_name = ? ORDER BY kind, pos", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, g->name, -1, SQLITE_TRANSIENT);
	size_t capv = 0, capf = 0, capn = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(s, 0);
		bool vol = kind && strcmp(kind, "volume") == 0;
		char ***v = vol ? &g->volumes : &g->freeze;
		size_t *n = vol ? &g->nvolumes : &g->nfreeze, *cap = vol ? &capv : &capf;
		if ((r = cairn_array_grow(v, cap, *n, sizeof(char *), 4)) < 0 || (r = dup_col(s, 1, &(*v)[*n])) < 0)
			return r;
		if (!(*v)[*n])
			return cairn_error_set(CAIRN_ECORRUPT, "group %s: a member row is damaged", g->name);
		/* Names kept beside the volumes, all NULL when none was given. */
		if (vol && ((r = cairn_array_grow(&g->names, &capn, *n, sizeof(char *), 4)) < 0 ||
			    (r = dup_col(s, 2, &g->names[*n])) < 0))
			return r;
		(*n)++;
	}
	return rc == SQLITE_DONE ? 0 : cairn_state_sqlite_error(st, rc, "read group members");
}

static int read_group(struct cairn_state *st, sqlite3_stmt *s, struct cairn_group *g)
{
	memset(g, 0, sizeof(*g));
	int r;
	if ((r = dup_col(s, 0, &g->name)) < 0 || (r = dup_col(s, 2, &g->config)) < 0 ||
	    (r = dup_col(s, 3, &g->pre_hook)) < 0 || (r = dup_col(s, 4, &g->post_hook)) < 0)
		goto fail;
	if (!g->name) {
		r = cairn_error_set(CAIRN_ECORRUPT, "state database: a group row is damaged");
		goto fail;
	}
	g->created = sqlite3_column_int64(s, 1);
	g->max_freeze_ms = (unsigned)sqlite3_column_int64(s, 5);
	if ((r = load_members(st, g)) < 0)
		goto fail;
	return 0;
fail:
	cairn_group_clear(g);
	return r;
}

#define GROUP_COLS "name, created, config, pre_hook, post_hook, max_freeze_ms"

int cairn_group_get(struct cairn_state *st, const char *name, struct cairn_group *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "SELECT " GROUP_COLS " FROM groups WHERE name = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return cairn_error_set(CAIRN_ENOTFOUND, "no group named '%s' (see 'cairn group list')", name);
	if (rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "read group");
	return read_group(st, s, ret);
}

int cairn_group_list(struct cairn_state *st, struct cairn_group **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "SELECT " GROUP_COLS " FROM groups ORDER BY name", &s);
	if (r < 0)
		return r;
	struct cairn_group *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((r = cairn_array_grow(&v, &cap, n, sizeof(*v), 8)) < 0 || (r = read_group(st, s, &v[n])) < 0) {
			cairn_groups_free(v, n);
			return r;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		cairn_groups_free(v, n);
		return cairn_state_sqlite_error(st, rc, "list groups");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int cairn_group_delete(struct cairn_state *st, const char *name)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "DELETE FROM groups WHERE name = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "delete group");
	if (sqlite3_changes(cairn_state_db(st)) == 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no group named '%s'", name);
	return 0;
}
