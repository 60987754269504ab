/* Pending notifications (outbox.h). */
#include "state/outbox.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

void cairn_outbox_items_free(struct cairn_outbox_item *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].notifier);
		free(v[i].body);
	}
	free(v);
}

int cairn_outbox_put(struct cairn_state *st, const char *notifier, const char *body, int64_t now, int64_t *ret_id)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "INSERT INTO notify_outbox (notifier, body, created, next_try) VALUES (?,?,?,?)",
				    &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, notifier, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, body, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, now);
	if ((r = cairn_state_step_done(st, s, "record a notification")) < 0)
		return r;
	if (ret_id)
		*ret_id = sqlite3_last_insert_rowid(cairn_state_db(st));
	return 0;
}

int cairn_outbox_due(struct cairn_state *st, int64_t now, size_t max, struct cairn_outbox_item **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "SELECT id, notifier, body, created, attempts FROM notify_outbox"
					" WHERE next_try <= ? ORDER BY id LIMIT ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, (int64_t)max);
	struct cairn_outbox_item *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((r = cairn_array_grow(&v, &cap, n, sizeof(*v), 8)) < 0)
			break;
		struct cairn_outbox_item *it = &v[n++];
		memset(it, 0, sizeof(*it));
		it->id = sqlite3_column_int64(s, 0);
		it->notifier = strdup((const char *)sqlite3_column_text(s, 1));
		it->body = strdup((const char *)sqlite3_column_text(s, 2));
		it->created = sqlite3_column_int64(s, 3);
		it->attempts = (unsigned)sqlite3_column_int64(s, 4);
		if (!it->notifier || !it->body) {
			r = cairn_error_nomem();
			break;
		}
	}
	if (r >= 0 && rc != SQLITE_DONE)
		r = cairn_state_sqlite_error(st, rc, "read pending notifications");
	if (r < 0) {
		cairn_outbox_items_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int cairn_outbox_remove(struct cairn_state *st, int64_t id)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "DELETE FROM notify_outbox WHERE id = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, id);
	return cairn_state_step_done(st, s, "remove a notification");
}

int cairn_outbox_retry(struct cairn_state *st, int64_t id, int64_t next_try, const char *error)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "UPDATE notify_outbox SET attempts = attempts + 1, next_try = ?, last_error = ?"
					" WHERE id = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, next_try);
	cairn_state_bind_opt(s, 2, error);
	sqlite3_bind_int64(s, 3, id);
	return cairn_state_step_done(st, s, "reschedule a notification");
}

int cairn_outbox_count(struct cairn_state *st, size_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "SELECT count(*) FROM notify_outbox", &s);
	if (r < 0)
		return r;
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return cairn_state_sqlite_error(st, rc, "count pending notifications");
	*ret = (size_t)sqlite3_column_int64(s, 0);
	return 0;
}
