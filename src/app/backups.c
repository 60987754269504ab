/* Listing and resolving backups (backups.h). */
#include "app/backups.h"
#include "app/seen.h"
#include "repo/group.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/time.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void cairn_app_lower_id(const char *s, char *out, size_t size)
{
	bool hex = strspn(s, "0123456789abcdefABCDEF") == strlen(s);
	size_t i = 0;
	for (; s[i] && i + 1 < size; i++)
		out[i] = hex ? (char)tolower((unsigned char)s[i]) : s[i];
	if (size)
		out[i] = 0;
}

int cairn_app_backups_list(const struct cairn_app *app, struct cairn_repo *repo, struct cairn_manifest_list *ret,
			   struct cairn_seen_report *ret_vanished)
{
	memset(ret_vanished, 0, sizeof(*ret_vanished));
	int64_t listed_us = cairn_wall_now_us();
	int r = cairn_manifest_list_load(repo, ret);
	if (r < 0)
		return r;
	struct cairn_app_seen seen;
	cairn_app_seen_begin(&seen, app, NULL, repo);
	cairn_app_seen_observe(&seen, ret, listed_us, ret_vanished);
	cairn_app_seen_end(&seen);
	return 0;
}

/* spec is a whole backup id (in either case): decoded into id. */
static bool full_id(const char *spec, uint8_t id[CAIRN_BACKUP_ID_LEN])
{
	char hex[2 * CAIRN_BACKUP_ID_LEN + 2];
	cairn_app_lower_id(spec, hex, sizeof(hex));
	return strlen(hex) == 2 * CAIRN_BACKUP_ID_LEN && cairn_hex_decode(hex, id, CAIRN_BACKUP_ID_LEN) == 0;
}

int cairn_app_backup_resolve_any(struct cairn_repo *repo, const char *spec, bool allow_gone,
				 uint8_t id[CAIRN_BACKUP_ID_LEN], char what[CAIRN_APP_WHAT_MAX])
{
	struct cairn_manifest_list ml;
	int r = cairn_manifest_list_load(repo, &ml);
	if (r < 0)
		return r;
	struct cairn_manifest *m = NULL;
	r = cairn_manifest_resolve(&ml, spec, &m);
	if (r >= 0) {
		memcpy(id, m->id, CAIRN_BACKUP_ID_LEN);
		snprintf(what, CAIRN_APP_WHAT_MAX, "backup %s of %s", m->idhex, m->volume);
		cairn_manifest_list_free(&ml);
		return 0;
	}
	cairn_manifest_list_free(&ml);
	/* A hold on a damaged manifest must go before forget may remove it. */
	if ((r == CAIRN_ECORRUPT || r == CAIRN_EVERSION) && allow_gone && full_id(spec, id)) {
		snprintf(what, CAIRN_APP_WHAT_MAX, "damaged backup %s", spec);
		return 0;
	}
	if (r != CAIRN_ENOTFOUND)
		return r;
	char msg[512];
	cairn_error_copy(msg, sizeof(msg));
	struct cairn_group_backup_list gl;
	if ((r = cairn_group_backup_list_load(repo, &gl)) < 0)
		return r;
	struct cairn_group_backup *gb = NULL;
	r = cairn_group_backup_resolve(&gl, spec, &gb);
	if (r >= 0) {
		memcpy(id, gb->id, CAIRN_BACKUP_ID_LEN);
		snprintf(what, CAIRN_APP_WHAT_MAX, "group backup %s of %s", gb->idhex, gb->name);
	}
	cairn_group_backup_list_free(&gl);
	if (r == CAIRN_ENOTFOUND && allow_gone && full_id(spec, id)) {
		snprintf(what, CAIRN_APP_WHAT_MAX, "backup %s", spec);
		return 0;
	}
	if (r == CAIRN_ENOTFOUND)
		return cairn_error_set(CAIRN_ENOTFOUND, "%s", msg);
	return r;
}

int cairn_app_backups_list_held(const struct cairn_app *app, struct cairn_repo *repo,
				struct cairn_manifest_list *ret, struct cairn_hold_list *ret_holds,
				struct cairn_seen_report *ret_vanished)
{
	*ret_holds = (struct cairn_hold_list){ 0 };
	int r = cairn_app_backups_list(app, repo, ret, ret_vanished);
	if (r >= 0 && (r = cairn_hold_list_load(repo, ret_holds)) < 0)
		cairn_manifest_list_free(ret);
	return r;
}

const struct cairn_hold *cairn_app_backup_hold(const struct cairn_hold_list *holds, const struct cairn_manifest *m)
{
	const struct cairn_hold *h = cairn_hold_find(holds, m->id);
	if (!h && m->in_group)
		h = cairn_hold_find(holds, m->group_id);
	return h;
}
