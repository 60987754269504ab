/* A restore as a job (restore.h). */
#include "app/restore.h"
#include "app/snapreg.h"
#include "source/overlay.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cairn_app_restore(const struct cairn_app *app, struct cairn_repo *repo, const struct cairn_manifest *m,
		      const struct cairn_app_restore *o, struct cairn_restore_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	/* The overlay first: one of another backup is refused before the
	 * target is touched. */
	_cleanup_(cairn_overlay_closep) struct cairn_overlay *ov = NULL;
	if (o->overlay) {
		int r = cairn_overlay_open_existing(o->overlay, &ov);
		if (r < 0)
			return r;
		if (memcmp(cairn_overlay_backup(ov), m->id, CAIRN_BACKUP_ID_LEN) != 0 || cairn_overlay_size(ov) != m->size) {
			char hex[2 * CAIRN_BACKUP_ID_LEN + 1];
			cairn_hex_encode(cairn_overlay_backup(ov), CAIRN_BACKUP_ID_LEN, hex);
			return cairn_error_set(CAIRN_EINVAL, "overlay %s belongs to backup %.12s of %s, not to %.12s; restore that backup with it",
					       o->overlay, hex, cairn_overlay_volume(ov), m->idhex);
		}
	}
	char abs[PATH_MAX], src[PATH_MAX + 128];
	const char *target = realpath(o->target, abs) ? abs : NULL;
	snprintf(src, sizeof(src), "%s -> %s", m->volume, target ? target : o->target);
	struct cairn_app_job j = { 0 };
	int r = cairn_app_job_begin(app, NULL, "restore", NULL, src, o->uri, &target, target ? 1 : 0, &j);
	if (r < 0)
		return r;
	cairn_app_job_chain(&j, &o->progress);
	struct cairn_restore_opts ro = { .target = o->target, .force = o->force, .delta = o->delta,
					 .state_dir = app->state_dir, .progress = cairn_app_job_progress,
					 .progress_ud = &j, .overlay = ov };
	/* The backup's base snapshot, when kept, narrows what to compare. */
	struct cairn_change_map differs = CAIRN_CHANGE_MAP_INIT;
	struct cairn_state *state = NULL;
	struct cairn_snap_registry reg;
	if (o->delta && cairn_app_state_open(app, true, &state) >= 0) {
		cairn_app_snap_registry(state, &reg);
		if (cairn_delta_known(&reg, repo, m, o->target, &differs) >= 0)
			ro.differs = &differs;
	}
	cairn_state_free(state);
	r = cairn_restore_run(repo, m, &ro, ret);
	cairn_change_map_free(&differs);
	cairn_app_progress_done(&o->progress);
	return cairn_app_job_end(&j, r, r >= 0 ? m->idhex : NULL);
}
