/* The registry of local snapshots (table snapshots, state.h): what
 * source/snapshot.h made, where, of which volume, and whether a backup
 * keeps it as the base of the volume's next incremental.
 *
 * Two kinds:
 *   user  made by `cairn snapshot create`, kept until deleted or pushed out
 *         by --keep;
 *   base  made by a backup: the snapshot the backup read, kept (reflink
 *         only) so the next backup of the same volume into the same
 *         repository can compare extent maps with it.  At most one per
 *         (repository, volume name); replaced by every successful backup.
 *
 * A snapshot is referred to by its id (16 hex digits), a unique prefix of
 * at least 4 of them, or VOLUME@NAME.
 */
#ifndef CAIRN_STATE_SNAPSHOTS_H
#define CAIRN_STATE_SNAPSHOTS_H

#include "source/snapshot.h"
#include "state/state.h"

#include <stdbool.h>
#include <stdint.h>

#define CAIRN_SNAP_ID_LEN 16 /* hex digits */

enum cairn_snap_kind { CAIRN_SNAP_USER, CAIRN_SNAP_BASE };

struct cairn_snap_record {
	char id[CAIRN_SNAP_ID_LEN + 1];
	char *name;   /* user label, or NULL */
	char *volume; /* absolute path of the volume */
	char *path;   /* the snapshot file */
	enum cairn_snap_method method;
	enum cairn_snap_kind kind;
	int64_t created_us;
	struct cairn_snap_identity ident;
	/* base only */
	char repo_id[33];
	char backup_id[33];
	char *volume_name;
};

void cairn_snap_record_clear(struct cairn_snap_record *r);
void cairn_snap_records_free(struct cairn_snap_record *v, size_t n);

/* A fresh random snapshot id. */
int cairn_snap_new_id(char ret[CAIRN_SNAP_ID_LEN + 1]);

/* Inserts a record; CAIRN_EEXIST when the volume already has a snapshot of
 * that name. */
int cairn_snap_add(struct cairn_state *st, const struct cairn_snap_record *r);
/* Every snapshot (volume NULL) or those of one volume, oldest first. */
int cairn_snap_list(struct cairn_state *st, const char *volume, struct cairn_snap_record **ret, size_t *ret_n);
/* Resolves an id, a unique id prefix or VOLUME@NAME (VOLUME as given or
 * its absolute path).  CAIRN_ENOTFOUND, CAIRN_EAMBIGUOUS. */
int cairn_snap_get(struct cairn_state *st, const char *ref, struct cairn_snap_record *ret);
/* The base snapshot kept for (repository, volume name), CAIRN_ENOTFOUND. */
int cairn_snap_get_base(struct cairn_state *st, const char *repo_id, const char *volume_name,
			struct cairn_snap_record *ret);
/* 1 when a snapshot record names this file (by path, or by device and
 * inode), 0 when none does. */
int cairn_snap_known(struct cairn_state *st, const char *path, uint64_t dev, uint64_t ino);
/* cairn_snap_known as a cairn_snap_known_fn (ud: the state); an error
 * answers true. */
bool cairn_snap_known_cb(const char *path, const struct stat *st, void *ud);

/* Notes a directory snapshot files were made in (table snapshot_dirs). */
int cairn_snap_dir_note(struct cairn_state *st, const char *dir);
/* Every directory that may hold snapshot files: those noted, and those of
 * the recorded file snapshots; distinct, sorted (*ret malloc'd strings). */
int cairn_snap_dirs(struct cairn_state *st, char ***ret, size_t *ret_n);
void cairn_snap_dirs_free(char **v, size_t n);
/* Removes the record (not the file). */
int cairn_snap_forget(struct cairn_state *st, const char *id);

#endif
