/* The record of backups seen (seen.h). */
#include "app/seen.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/time.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void cairn_app_seen_begin(struct cairn_app_seen *s, const struct cairn_app *app, struct cairn_state *st,
			  const struct cairn_repo *repo)
{
	memset(s, 0, sizeof(*s));
	s->app = app;
	s->st = st;
	cairn_hex_encode(repo->config.instance, sizeof(repo->config.instance), s->repo_id);
}

void cairn_app_seen_end(struct cairn_app_seen *s)
{
	if (s->own)
		cairn_state_free(s->st);
	memset(s, 0, sizeof(*s));
}

/* The database, or NULL (said once, in a debug line). */
static struct cairn_state *db(struct cairn_app_seen *s)
{
	if (s->st || s->unavailable)
		return s->st;
	if (cairn_app_state_open(s->app, false, &s->st) < 0) {
		cairn_log_debug("no record of the backups seen (state database: %s)", cairn_error_message());
		cairn_error_clear();
		s->st = NULL;
		s->unavailable = true;
		return NULL;
	}
	s->own = true;
	return s->st;
}

/* A failure to update the record never fails the command. */
static void failed(struct cairn_app_seen *s, const char *what)
{
	cairn_log_debug("record of the backups seen not %s: %s", what, cairn_error_message());
	cairn_error_clear();
	(void)s;
}

void cairn_app_seen_observe(struct cairn_app_seen *s, const struct cairn_manifest_list *l, int64_t listed_us,
		      struct cairn_seen_report *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct cairn_state *st = db(s);
	if (st && cairn_seen_observe(st, s->repo_id, l, listed_us, ret) < 0) {
		memset(ret, 0, sizeof(*ret));
		failed(s, "read or updated");
	}
}

int cairn_app_seen_load(struct cairn_app_seen *s, struct cairn_repo *repo, struct cairn_manifest_list *ret)
{
	int64_t listed_us = cairn_wall_now_us();
	int r = cairn_manifest_list_load(repo, ret);
	if (r < 0)
		return r;
	struct cairn_seen_report vanished;
	cairn_app_seen_observe(s, ret, listed_us, &vanished);
	if (vanished.vanished) {
		char msg[1024];
		cairn_app_seen_describe(&vanished, msg, sizeof(msg));
		cairn_log_info("%s", msg);
	}
	return 0;
}

void cairn_app_seen_record(struct cairn_app_seen *s, const struct cairn_manifest *m)
{
	struct cairn_state *st = db(s);
	if (st && cairn_seen_record(st, s->repo_id, m) < 0)
		failed(s, "updated");
}

void cairn_app_seen_forget(struct cairn_app_seen *s, const struct cairn_forget_item *it)
{
	struct cairn_state *st = it->keep ? NULL : db(s);
	if (!st)
		return;
	/* A damaged object's volume and time are unknown: only a row the
	 * record has is marked. */
	bool known = it->created_us != 0;
	int r = cairn_seen_forgotten(st, s->repo_id, it->idhex, known && !it->group ? it->series : NULL,
				     it->created_us);
	for (size_t i = 0; r >= 0 && i < it->nmembers && it->members; i++)
		r = cairn_seen_forgotten(st, s->repo_id, it->members[i].backup_hex, it->members[i].volume,
					 it->created_us);
	if (r < 0)
		failed(s, "updated");
}

int cairn_app_seen_acknowledge(struct cairn_app_seen *s, const char *spec)
{
	char id[2 * CAIRN_BACKUP_ID_LEN + 1];
	size_t n = strlen(spec);
	if (n != 2 * CAIRN_BACKUP_ID_LEN || strspn(spec, "0123456789abcdefABCDEF") != n)
		return 0;
	for (size_t i = 0; i <= n; i++)
		id[i] = (char)tolower((unsigned char)spec[i]);
	struct cairn_state *st = db(s);
	int r = st ? cairn_seen_acknowledge(st, s->repo_id, id) : 0;
	if (r < 0) {
		failed(s, "updated");
		return 0;
	}
	return r;
}

void cairn_app_seen_describe(const struct cairn_seen_report *r, char *buf, size_t size)
{
	char created[48];
	cairn_time_format(r->created_us / 1000000, created, sizeof(created));
	snprintf(buf, size,
		 "%zu backup%s this host saw before %s gone from the repository (the newest: %s of %s, created %s): "
		 "forgotten by another host, deleted from the store, or is this an older copy of the repository? "
		 "('cairn forget ID' stops reporting one)",
		 r->vanished, r->vanished == 1 ? "" : "s", r->vanished == 1 ? "is" : "are", r->id, r->volume, created);
}
