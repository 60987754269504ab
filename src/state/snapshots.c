/* The snapshot registry (snapshots.h); schema in state.h. */
#include "state/snapshots.h"
#include "crypto/crypto.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/time.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLS                                                                                               \
	"id, name, volume, path, method, kind, created, dev, ino, size, mtime_ns, ctime_ns, repo_id, backup_id," \
	" volume_name"

void cairn_snap_record_clear(struct cairn_snap_record *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->volume);
	free(r->path);
	free(r->volume_name);
	memset(r, 0, sizeof(*r));
}

void cairn_snap_records_free(struct cairn_snap_record *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cairn_snap_record_clear(&v[i]);
	free(v);
}

int cairn_snap_new_id(char ret[CAIRN_SNAP_ID_LEN + 1])
{
	uint8_t b[CAIRN_SNAP_ID_LEN / 2];
	int r = cairn_random(b, sizeof(b));
	if (r < 0)
		return r;
	cairn_hex_encode(b, sizeof(b), ret);
	return 0;
}

static void bind_text_or_null(sqlite3_stmt *s, int col, const char *v)
{
	if (v && *v)
		sqlite3_bind_text(s, col, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, col);
}

int cairn_snap_add(struct cairn_state *st, const struct cairn_snap_record *r)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int rc = cairn_state_prepare(st, "INSERT INTO snapshots (" COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &s);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(s, 1, r->id, -1, SQLITE_TRANSIENT);
	bind_text_or_null(s, 2, r->name);
	sqlite3_bind_text(s, 3, r->volume, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, r->path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, cairn_snap_method_name(r->method), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, r->kind == CAIRN_SNAP_BASE ? "base" : "user", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, r->created_us);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)r->ident.dev);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)r->ident.ino);
	sqlite3_bind_int64(s, 10, (sqlite3_int64)r->ident.size);
	sqlite3_bind_int64(s, 11, r->ident.mtime_ns);
	sqlite3_bind_int64(s, 12, r->ident.ctime_ns);
	bind_text_or_null(s, 13, r->repo_id);
	bind_text_or_null(s, 14, r->backup_id);
	bind_text_or_null(s, 15, r->volume_name);
	int step = sqlite3_step(s);
	if (step == SQLITE_CONSTRAINT || (step & 0xff) == SQLITE_CONSTRAINT)
		return cairn_error_set(CAIRN_EEXIST, "%s already has a snapshot named '%s'", r->volume,
				       r->name ? r->name : "");
	if (step != SQLITE_DONE)
		return cairn_state_sqlite_error(st, step, "record snapshot");
	return 0;
}

static int dup_text(sqlite3_stmt *s, int col, char **ret)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	*ret = NULL;
	if (!t)
		return 0;
	*ret = strdup((const char *)t);
	return *ret ? 0 : cairn_error_nomem();
}

static int read_row(struct cairn_state *st, sqlite3_stmt *s, struct cairn_snap_record *r)
{
	memset(r, 0, sizeof(*r));
	const char *id = (const char *)sqlite3_column_text(s, 0);
	const char *method = (const char *)sqlite3_column_text(s, 4);
	const char *kind = (const char *)sqlite3_column_text(s, 5);
	if (!id || strlen(id) != CAIRN_SNAP_ID_LEN || !method || !kind ||
	    cairn_snap_method_parse(method, &r->method) < 0)
		return cairn_error_set(CAIRN_ECORRUPT, "state database %s: a snapshot row is damaged",
				       cairn_state_path(st));
	memcpy(r->id, id, sizeof(r->id));
	r->kind = strcmp(kind, "base") == 0 ? CAIRN_SNAP_BASE : CAIRN_SNAP_USER;
	r->created_us = sqlite3_column_int64(s, 6);
	r->ident.dev = (uint64_t)sqlite3_column_int64(s, 7);
	r->ident.ino = (uint64_t)sqlite3_column_int64(s, 8);
	r->ident.size = (uint64_t)sqlite3_column_int64(s, 9);
	r->ident.mtime_ns = sqlite3_column_int64(s, 10);
	r->ident.ctime_ns = sqlite3_column_int64(s, 11);
	const char *repo = (const char *)sqlite3_column_text(s, 12), *backup = (const char *)sqlite3_column_text(s, 13);
	if (repo)
		snprintf(r->repo_id, sizeof(r->repo_id), "%s", repo);
	if (backup)
		snprintf(r->backup_id, sizeof(r->backup_id), "%s", backup);
	int rc;
	if ((rc = dup_text(s, 1, &r->name)) < 0 || (rc = dup_text(s, 2, &r->volume)) < 0 ||
	    (rc = dup_text(s, 3, &r->path)) < 0 || (rc = dup_text(s, 14, &r->volume_name)) < 0) {
		cairn_snap_record_clear(r);
		return rc;
	}
	if (!r->volume || !r->path) {
		cairn_snap_record_clear(r);
		return cairn_error_set(CAIRN_ECORRUPT, "state database %s: a snapshot row is damaged",
				       cairn_state_path(st));
	}
	return 0;
}

/* Runs a prepared query and collects every row. */
static int collect(struct cairn_state *st, sqlite3_stmt *s, struct cairn_snap_record **ret, size_t *ret_n)
{
	struct cairn_snap_record *v = NULL;
	size_t n = 0, cap = 0;
	int rc, r = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((r = cairn_array_grow(&v, &cap, n, sizeof(*v), 16)) < 0)
			break;
		if ((r = read_row(st, s, &v[n])) < 0)
			break;
		n++;
	}
	if (r >= 0 && rc != SQLITE_DONE)
		r = cairn_state_sqlite_error(st, rc, "list snapshots");
	if (r < 0) {
		cairn_snap_records_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int cairn_snap_list(struct cairn_state *st, const char *volume, struct cairn_snap_record **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st,
				    volume ? "SELECT " COLS " FROM snapshots WHERE volume = ? ORDER BY created, rowid"
					   : "SELECT " COLS " FROM snapshots ORDER BY volume, created, rowid",
				    &s);
	if (r < 0)
		return r;
	if (volume)
		sqlite3_bind_text(s, 1, volume, -1, SQLITE_TRANSIENT);
	return collect(st, s, ret, ret_n);
}

static int take_one(struct cairn_snap_record *v, size_t n, const char *ref, struct cairn_snap_record *ret)
{
	if (n == 0) {
		cairn_snap_records_free(v, n);
		return cairn_error_set(CAIRN_ENOTFOUND, "no snapshot '%s'", ref);
	}
	if (n > 1) {
		cairn_snap_records_free(v, n);
		return cairn_error_set(CAIRN_EAMBIGUOUS, "snapshot '%s' is ambiguous: give more of its id", ref);
	}
	*ret = v[0];
	free(v);
	return 0;
}

int cairn_snap_get(struct cairn_state *st, const char *ref, struct cairn_snap_record *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct cairn_snap_record *v = NULL;
	size_t n = 0;
	int r;
	const char *at = strrchr(ref, '@');
	if (at) {
		/* VOLUME@NAME, VOLUME as written or as an absolute path. */
		_cleanup_free_ char *vol = strndup(ref, (size_t)(at - ref));
		if (!vol)
			return cairn_error_nomem();
		char abs[PATH_MAX];
		const char *absv = realpath(vol, abs) ? abs : vol;
		if ((r = cairn_state_prepare(st, "SELECT " COLS " FROM snapshots WHERE (volume = ? OR volume = ?) AND name = ?",
					     &s)) < 0)
			return r;
		sqlite3_bind_text(s, 1, vol, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, absv, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 3, at + 1, -1, SQLITE_TRANSIENT);
	} else {
		size_t len = strlen(ref);
		if (len < 4 || len > CAIRN_SNAP_ID_LEN || strspn(ref, "0123456789abcdef") != len)
			return cairn_error_set(CAIRN_ENOTFOUND,
					       "no snapshot '%s' (give an id, 4 or more of its hex digits, or VOLUME@NAME)",
					       ref);
		if ((r = cairn_state_prepare(st, "SELECT " COLS " FROM snapshots WHERE substr(id, 1, ?) = ?", &s)) < 0)
			return r;
		sqlite3_bind_int(s, 1, (int)len);
		sqlite3_bind_text(s, 2, ref, -1, SQLITE_TRANSIENT);
	}
	if ((r = collect(st, s, &v, &n)) < 0)
		return r;
	return take_one(v, n, ref, ret);
}

int cairn_snap_get_base(struct cairn_state *st, const char *repo_id, const char *volume_name,
			struct cairn_snap_record *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct cairn_snap_record *v = NULL;
	size_t n = 0;
	int r = cairn_state_prepare(st,
				    "SELECT " COLS " FROM snapshots WHERE kind = 'base' AND repo_id = ? AND volume_name = ?"
				    " ORDER BY created DESC, rowid DESC LIMIT 1",
				    &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, repo_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, volume_name, -1, SQLITE_TRANSIENT);
	if ((r = collect(st, s, &v, &n)) < 0)
		return r;
	if (n == 0) {
		free(v);
		return CAIRN_ENOTFOUND;
	}
	return take_one(v, n, volume_name, ret);
}

int cairn_snap_forget(struct cairn_state *st, const char *id)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "DELETE FROM snapshots WHERE id = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : cairn_state_sqlite_error(st, rc, "forget snapshot");
}

int cairn_snap_known(struct cairn_state *st, const char *path, uint64_t dev, uint64_t ino)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(
		st, "SELECT 1 FROM snapshots WHERE path = ? OR (method <> 'lvm' AND dev = ? AND ino = ?) LIMIT 1", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)dev);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)ino);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : cairn_state_sqlite_error(st, rc, "look up snapshot");
}

bool cairn_snap_known_cb(const char *path, const struct stat *st, void *ud)
{
	return cairn_snap_known(ud, path, (uint64_t)st->st_dev, (uint64_t)st->st_ino) != 0;
}

int cairn_snap_dir_note(struct cairn_state *st, const char *dir)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "INSERT OR IGNORE INTO snapshot_dirs (path, created) VALUES (?, ?)", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, dir, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, cairn_wall_now());
	int rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : cairn_state_sqlite_error(st, rc, "note snapshot directory");
}

void cairn_snap_dirs_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int cairn_snap_dirs(struct cairn_state *st, char ***ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	/* A recorded file's directory: its path before the last '/'. */
	int r = cairn_state_prepare(st,
				    "SELECT path FROM snapshot_dirs UNION "
				    "SELECT rtrim(rtrim(path, replace(path, '/', '')), '/') FROM snapshots"
				    " WHERE method <> 'lvm' ORDER BY 1",
				    &s);
	if (r < 0)
		return r;
	char **v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(s, 0);
		if (!p || !*p)
			continue;
		if ((r = cairn_array_grow(&v, &cap, n, sizeof(*v), 8)) < 0 || !(v[n] = strdup(p))) {
			cairn_snap_dirs_free(v, n);
			return r < 0 ? r : cairn_error_nomem();
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		cairn_snap_dirs_free(v, n);
		return cairn_state_sqlite_error(st, rc, "list snapshot directories");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
