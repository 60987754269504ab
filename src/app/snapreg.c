/* The snapshot registry and group spec engine borrows (snapreg.h). */
#include "app/snapreg.h"
#include "state/snapshots.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int dir_note(void *ud, const char *dir)
{
	return cairn_snap_dir_note(ud, dir);
}

static int base_get(void *ud, const char *repo_id, const char *volume_name, struct cairn_snap_base *ret)
{
	struct cairn_snap_record rec;
	int r = cairn_snap_get_base(ud, repo_id, volume_name, &rec);
	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->id, sizeof(ret->id), "%s", rec.id);
	ret->path = rec.path; /* taken */
	rec.path = NULL;
	ret->method = rec.method;
	ret->ident = rec.ident;
	snprintf(ret->repo_id, sizeof(ret->repo_id), "%s", rec.repo_id);
	snprintf(ret->backup_id, sizeof(ret->backup_id), "%s", rec.backup_id);
	ret->created_us = rec.created_us;
	cairn_snap_record_clear(&rec);
	return 0;
}

static int base_add(void *ud, const struct cairn_snap_base *b)
{
	struct cairn_snap_record rec = { .kind = CAIRN_SNAP_BASE, .volume = (char *)b->volume, .path = b->path,
					 .method = b->method, .created_us = b->created_us, .ident = b->ident,
					 .volume_name = (char *)b->volume_name };
	snprintf(rec.id, sizeof(rec.id), "%s", b->id);
	snprintf(rec.repo_id, sizeof(rec.repo_id), "%s", b->repo_id);
	snprintf(rec.backup_id, sizeof(rec.backup_id), "%s", b->backup_id);
	return cairn_snap_add(ud, &rec);
}

/* Removes a snapshot's file and record; failures are only logged (the
 * backup they follow has succeeded). */
static void drop_snapshot(struct cairn_state *st, const struct cairn_snap_record *r)
{
	if (cairn_snap_remove(r->path, r->method) < 0)
		cairn_log_warn("could not remove snapshot %s: %s", r->path, cairn_error_message());
	else if (cairn_snap_forget(st, r->id) < 0)
		cairn_log_warn("could not forget snapshot %s: %s", r->id, cairn_error_message());
}

static void base_drop_others(void *ud, const char *repo_id, const char *volume, const char *volume_name,
			     const char *keep_id)
{
	struct cairn_state *st = ud;
	struct cairn_snap_record old;
	while (cairn_snap_get_base(st, repo_id, volume_name, &old) == 0) {
		if (keep_id && strcmp(old.id, keep_id) == 0) {
			/* The newest is ours: look for older ones by listing. */
			cairn_snap_record_clear(&old);
			break;
		}
		drop_snapshot(st, &old);
		cairn_snap_record_clear(&old);
	}
	if (!keep_id)
		return;
	struct cairn_snap_record *v = NULL;
	size_t n = 0;
	if (cairn_snap_list(st, volume, &v, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (v[i].kind == CAIRN_SNAP_BASE && strcmp(v[i].id, keep_id) != 0 &&
			    strcmp(v[i].repo_id, repo_id) == 0 && v[i].volume_name &&
			    strcmp(v[i].volume_name, volume_name) == 0)
				drop_snapshot(st, &v[i]);
	cairn_snap_records_free(v, n);
}

void cairn_app_snap_registry(struct cairn_state *st, struct cairn_snap_registry *ret)
{
	*ret = (struct cairn_snap_registry){ .known = cairn_snap_known_cb, .dir_note = dir_note,
					     .base_get = base_get, .base_add = base_add,
					     .base_drop_others = base_drop_others, .ud = st };
}

void cairn_app_group_spec(const struct cairn_group *g, struct cairn_group_spec *ret)
{
	*ret = (struct cairn_group_spec){
		.name = g->name, .volumes = (const char *const *)g->volumes, .nvolumes = g->nvolumes,
		.names = (const char *const *)g->names, .freeze = (const char *const *)g->freeze,
		.nfreeze = g->nfreeze, .config = g->config, .pre_hook = g->pre_hook, .post_hook = g->post_hook,
		.max_freeze_ms = g->max_freeze_ms,
	};
}
