/* Backups as the user names them: listing a repository's backups (and
 * recording them in this host's backups-seen record), and resolving a
 * BACKUP argument (an id in either case, a unique id prefix, VOLUME@latest,
 * repo/manifest.h and repo/group.h) to a backup or a group backup. */
#ifndef CAIRN_APP_BACKUPS_H
#define CAIRN_APP_BACKUPS_H

#include "app/app.h"
#include "repo/hold.h"
#include "repo/manifest.h"
#include "state/seen.h"

/* An id as typed (a backup id, a key id) may be upper case; names in a
 * repository are lower-case hex only (format.h OBJECTS).  Copies s to out
 * (truncated to size), lowered when it is all hex digits.  (Prefixes and
 * "VOLUME@latest" go to resolvers that compare ids case-insensitively.) */
void cairn_app_lower_id(const char *s, char *out, size_t size);

/* Loads the repository's backups into *ret and records them as seen here;
 * *ret_vanished says what vanished since this host last looked. */
int cairn_app_backups_list(const struct cairn_app *app, struct cairn_repo *repo, struct cairn_manifest_list *ret,
			   struct cairn_seen_report *ret_vanished);

/* A backup or a group backup by spec: its id and "backup ID of VOLUME" or
 * "group backup ID of GROUP" in what.  allow_gone: also a whole id whose
 * backup is gone or damaged (a hold on it must go before forget may remove
 * it).  CAIRN_ENOTFOUND says why the backup was not found. */
#define CAIRN_APP_WHAT_MAX 160
int cairn_app_backup_resolve_any(struct cairn_repo *repo, const char *spec, bool allow_gone,
				 uint8_t id[CAIRN_BACKUP_ID_LEN], char what[CAIRN_APP_WHAT_MAX]);

/* cairn_app_backups_list and the repository's holds (*ret_holds, freed
 * with cairn_hold_list_free); on failure neither is left to free. */
int cairn_app_backups_list_held(const struct cairn_app *app, struct cairn_repo *repo,
				struct cairn_manifest_list *ret, struct cairn_hold_list *ret_holds,
				struct cairn_seen_report *ret_vanished);
/* The hold that keeps m: its own, or its group backup's; NULL: none. */
const struct cairn_hold *cairn_app_backup_hold(const struct cairn_hold_list *holds, const struct cairn_manifest *m);

#endif
