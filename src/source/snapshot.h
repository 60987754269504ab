/* Local snapshots of volumes: the mechanics (DESIGN.md §6).  What is
 * recorded about each snapshot lives in the state database
 * (state/snapshots.h); this file makes, checks, reverts to and removes
 * them.
 *
 * Mechanisms, best first:
 *   reflink  FICLONE of an image file on XFS or btrfs into a file beside it
 *            (DIR/.cairn-snapshots/): instant, shares every extent, and the
 *            extent maps of two such snapshots tell what changed
 *            (source/fiemap.h).
 *   copy     a sparse copy (data ranges only, copy_file_range): works
 *            everywhere, costs a full read and write of the volume's data
 *            and its space; image files get it beside them, block devices
 *            under the state directory.
 *   lvm      an LVM snapshot of a logical volume (source/lvm.h): a thin
 *            snapshot of a thin LV (change tracking by thin_delta), or a
 *            classic COW snapshot of a thick LV; at /dev/VG/NAME.
 *
 * A snapshot file is made read-only (0400) and its identity (device,
 * inode, size, mtime, ctime) is recorded when it is taken; a snapshot whose
 * identity changed since is not trusted as the base of an incremental.
 */
#ifndef CAIRN_SOURCE_SNAPSHOT_H
#define CAIRN_SOURCE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cairn_snap_method {
	CAIRN_SNAP_AUTO = 0, /* reflink when the file system can, else copy */
	CAIRN_SNAP_REFLINK,
	CAIRN_SNAP_COPY,
	CAIRN_SNAP_NONE, /* backup only: read the live volume */
	CAIRN_SNAP_LVM,
};

const char *cairn_snap_method_name(enum cairn_snap_method m);
int cairn_snap_method_parse(const char *s, enum cairn_snap_method *ret);

struct cairn_snap_identity {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

/* What taking a snapshot produced. */
struct cairn_snap_taken {
	enum cairn_snap_method method;
	struct cairn_snap_identity id;
	uint64_t bytes_copied; /* copy only */
	double seconds;
};

/* Directory where snapshots of a volume go: DIR/.cairn-snapshots for an
 * image file DIR/NAME, STATE_DIR/snapshots for a block device (malloc'd). */
int cairn_snap_dir(const char *volume, const char *state_dir, char **ret);

/* Snapshots volume (an image file or a block device) into the new file
 * path.  want AUTO tries reflink then copy (ret->method says which; the
 * caller warns about a copy's cost); REFLINK fails with
 * CAIRN_EUNSUPPORTED where the file system cannot; COPY first checks that
 * the file system of path has room for the volume's data (CAIRN_ENOSPC).
 * Nothing is left at path on failure. */
int cairn_snap_take(const char *volume, const char *path, enum cairn_snap_method want,
		    struct cairn_snap_taken *ret);

/* Identity of an existing file. */
int cairn_snap_identity_of(const char *path, struct cairn_snap_identity *ret);
/* Whether the file at path is still exactly the snapshot that was taken. */
bool cairn_snap_identity_matches(const char *path, const struct cairn_snap_identity *want);

/* Returns the volume to the snapshot.  An image file is replaced
 * atomically (clone or copy into a temporary file beside it, keeping the
 * volume's owner and mode, then rename); a block device is overwritten in
 * place.  Refuses with CAIRN_EBUSY while the volume is mounted or open for
 * writing, unless force. */
int cairn_snap_revert(const char *path, enum cairn_snap_method method, const char *volume, bool force);

/* Removes a snapshot (a file, or an LVM snapshot at /dev/VG/NAME); a
 * missing one is not an error. */
int cairn_snap_remove(const char *path);
/* Removes the snapshot an operation that failed with r leaves behind and
 * returns r; r's message stays the one to tell, whatever the removal
 * says. */
int cairn_snap_discard(const char *path, int r);

/* CAIRN_EBUSY with a message naming the reason (mounted on, attached to a
 * loop device, open for writing by a process) when something uses the
 * volume; 0 when nothing does. */
int cairn_volume_check_idle(const char *volume);

#endif
