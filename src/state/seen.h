/* What this host has seen of each repository's backups (table
 * seen_backups, state.h): a high-water record that notices backups which
 * vanished from the store without a forget from this host: the newest
 * manifest deleted by someone with write access to the store (@latest
 * then silently means an older backup: a rollback), or recent backups
 * hidden.
 *
 * WHAT IS KEPT, AND WHY SO LITTLE
 *   Per repository and volume name, the CAIRN_SEEN_PER_VOLUME newest
 *   backups seen (id, volume, created time, when first recorded here, and
 *   whether this host forgot it), by created time; older rows are dropped.
 *   So the record grows with the number of volumes, never with the number
 *   of backups, and still always holds the newest backup ever seen of each
 *   volume (the high-water mark): deleting it, or the newest few, is
 *   noticed however many backups the repository keeps.  Hiding an older
 *   backup, beyond the newest few, is not; neither is a volume this host
 *   never listed.  A vanished row is reported until this host forgets it
 *   ('cairn forget ID' acknowledges it) or CAIRN_SEEN_PER_VOLUME newer
 *   backups of its volume have been seen, which bounds the noise when
 *   another host's retention forgets recent backups.
 *
 * RACES
 *   A backup recorded after a listing began (by a concurrent command on
 *   this host) is not expected in that listing.  A forget marks its rows
 *   forgotten before it deletes, and a row marked forgotten is never made
 *   live again by a listing that still showed the backup.
 */
#ifndef CAIRN_STATE_SEEN_H
#define CAIRN_STATE_SEEN_H

#include "repo/manifest.h"
#include "state/state.h"

#include <stddef.h>
#include <stdint.h>

#define CAIRN_SEEN_PER_VOLUME 8

/* Backups seen here before that a listing did not show. */
struct cairn_seen_report {
	size_t vanished;
	/* The newest of them (by created time); empty when none. */
	char id[2 * CAIRN_BACKUP_ID_LEN + 1];
	char volume[256];
	int64_t created_us;
};

/* Compares the record of repository repo_id (32 hex) with l, a listing of
 * its backups (damaged ones count as present) that began at listed_us
 * (unix microseconds), then records the newest backups l shows.  *ret
 * says what vanished. */
int cairn_seen_observe(struct cairn_state *st, const char *repo_id, const struct cairn_manifest_list *l,
		       int64_t listed_us, struct cairn_seen_report *ret);

/* Records one backup made here (a listing would have shown it). */
int cairn_seen_record(struct cairn_state *st, const char *repo_id, const struct cairn_manifest *m);

/* This host is about to forget backup id (of volume, created_us; volume
 * may be NULL when unknown): it is not reported as vanished. */
int cairn_seen_forgotten(struct cairn_state *st, const char *repo_id, const char *id, const char *volume,
			 int64_t created_us);

/* Marks backup id as forgotten here if the record holds it unforgotten:
 * 1 when it did (a vanished backup acknowledged), 0 when not. */
int cairn_seen_acknowledge(struct cairn_state *st, const char *repo_id, const char *id);

#endif
