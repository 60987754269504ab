/* The record of backups seen (seen.h); schema in state.h. */
#include "state/seen.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the CAIRN_SEEN_PER_VOLUME newest rows of each volume of a
 * repository (ties by id, so every host drops the same ones). */
#define TRIM_SQL                                                                                                \
	"DELETE FROM seen_backups WHERE repo_id = ?1 AND id IN (SELECT id FROM (SELECT id, row_number() OVER"   \
	" (PARTITION BY volume ORDER BY created DESC, id DESC) AS n FROM seen_backups WHERE repo_id = ?1)"     \
	" WHERE n > ?2)"

static int trim(struct cairn_state *st, const char *repo_id)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, TRIM_SQL, &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, repo_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 2, CAIRN_SEEN_PER_VOLUME);
	return cairn_state_step_done(st, s, "trim the record of backups seen");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int by_volume_newest(const void *a, const void *b)
{
	const struct cairn_manifest *x = *(const struct cairn_manifest *const *)a;
	const struct cairn_manifest *y = *(const struct cairn_manifest *const *)b;
	int c = strcmp(x->volume, y->volume);
	if (c)
		return c;
	if (x->created_us != y->created_us)
		return x->created_us > y->created_us ? -1 : 1;
	return -strcmp(x->idhex, y->idhex);
}

/* Counts the rows recorded before the listing began that it lacks. */
static int find_vanished(struct cairn_state *st, const char *repo_id, const char **present, size_t npresent,
			 int64_t listed_us, struct cairn_seen_report *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st,
				    "SELECT id, volume, created FROM seen_backups"
				    " WHERE repo_id = ? AND forgotten = 0 AND seen < ?",
				    &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, repo_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, listed_us);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		const char *volume = (const char *)sqlite3_column_text(s, 1);
		int64_t created = sqlite3_column_int64(s, 2);
		if (!id || !volume || bsearch(&id, present, npresent, sizeof(*present), cmp_str))
			continue;
		if (ret->vanished++ == 0 || created > ret->created_us ||
		    (created == ret->created_us && strcmp(id, ret->id) > 0)) {
			snprintf(ret->id, sizeof(ret->id), "%s", id);
			snprintf(ret->volume, sizeof(ret->volume), "%s", volume);
			ret->created_us = created;
		}
	}
	return rc == SQLITE_DONE ? 0 : cairn_state_sqlite_error(st, rc, "read the record of backups seen");
}

/* Records backups v[0..n) (a row marked forgotten stays so). */
static int insert_seen(struct cairn_state *st, const char *repo_id, const struct cairn_manifest *const *v, size_t n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st,
				    "INSERT INTO seen_backups (repo_id, id, volume, created, seen) VALUES (?,?,?,?,?)"
				    " ON CONFLICT (repo_id, id) DO NOTHING",
				    &s);
	int64_t now = cairn_wall_now_us();
	for (size_t i = 0; i < n && r >= 0; i++) {
		if (!v[i])
			continue;
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, repo_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, v[i]->idhex, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 3, v[i]->volume, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 4, v[i]->created_us);
		sqlite3_bind_int64(s, 5, now);
		r = cairn_state_step_done(st, s, "record a backup seen");
	}
	return r;
}

/* Records the newest CAIRN_SEEN_PER_VOLUME backups of each volume of l:
 * older ones would be trimmed at once. */
static int record_newest(struct cairn_state *st, const char *repo_id, const struct cairn_manifest_list *l)
{
	if (l->n == 0)
		return 0;
	_cleanup_free_ const struct cairn_manifest **v = malloc(l->n * sizeof(*v));
	if (!v)
		return cairn_error_nomem();
	memcpy(v, l->v, l->n * sizeof(*v));
	qsort(v, l->n, sizeof(*v), by_volume_newest);
	const char *volume = NULL;
	for (size_t i = 0, k = 0; i < l->n; i++) {
		k = volume && strcmp(v[i]->volume, volume) == 0 ? k + 1 : 0;
		volume = v[i]->volume;
		if (k >= CAIRN_SEEN_PER_VOLUME)
			v[i] = NULL;
	}
	return insert_seen(st, repo_id, v, l->n);
}

int cairn_seen_record(struct cairn_state *st, const char *repo_id, const struct cairn_manifest *m)
{
	int r = insert_seen(st, repo_id, &m, 1);
	return r < 0 ? r : trim(st, repo_id);
}

int cairn_seen_observe(struct cairn_state *st, const char *repo_id, const struct cairn_manifest_list *l,
		       int64_t listed_us, struct cairn_seen_report *ret)
{
	memset(ret, 0, sizeof(*ret));
	size_t np = l->n + l->damaged;
	_cleanup_free_ const char **present = malloc((np ? np : 1) * sizeof(*present));
	if (!present)
		return cairn_error_nomem();
	for (size_t i = 0; i < l->n; i++)
		present[i] = l->v[i]->idhex;
	for (size_t i = 0; i < l->damaged; i++)
		present[l->n + i] = l->bad[i].idhex;
	qsort(present, np, sizeof(*present), cmp_str);
	int r = cairn_state_begin(st);
	if (r < 0)
		return r;
	if ((r = find_vanished(st, repo_id, present, np, listed_us, ret)) >= 0 &&
	    (r = record_newest(st, repo_id, l)) >= 0 && (r = trim(st, repo_id)) >= 0)
		r = cairn_state_commit(st);
	if (r < 0)
		cairn_state_rollback(st);
	return r;
}

int cairn_seen_forgotten(struct cairn_state *st, const char *repo_id, const char *id, const char *volume,
			 int64_t created_us)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = volume ? cairn_state_prepare(st,
					     "INSERT INTO seen_backups (repo_id, id, volume, created, seen, forgotten)"
					     " VALUES (?,?,?,?,?,1) ON CONFLICT (repo_id, id) DO UPDATE SET forgotten = 1",
					     &s)
		       : cairn_state_prepare(st, "UPDATE seen_backups SET forgotten = 1 WHERE repo_id = ? AND id = ?",
					     &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, repo_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
	if (volume) {
		sqlite3_bind_text(s, 3, volume, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 4, created_us);
		sqlite3_bind_int64(s, 5, cairn_wall_now_us());
	}
	if ((r = cairn_state_step_done(st, s, "record a backup forgotten")) < 0)
		return r;
	return volume ? trim(st, repo_id) : 0;
}

int cairn_seen_acknowledge(struct cairn_state *st, const char *repo_id, const char *id)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(
		st, "UPDATE seen_backups SET forgotten = 1 WHERE repo_id = ? AND id = ? AND forgotten = 0", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, repo_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
	if ((r = cairn_state_step_done(st, s, "acknowledge a backup gone")) < 0)
		return r;
	return sqlite3_changes(cairn_state_db(st)) > 0 ? 1 : 0;
}
