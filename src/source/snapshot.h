/* Local snapshots of volumes: the mechanics (docs/design.md §6).  What is
 * recorded about each snapshot lives in the state database
 * (state/snapshots.h); this file makes, checks, reverts to and removes
 * them.
 *
 * Mechanisms, best first:
 *   reflink  FICLONE of an image file on XFS or btrfs into a snapshot
 *            directory on the image's own file system: instant, shares
 *            every extent, and the extent maps of two such snapshots tell
 *            what changed (source/fiemap.h).
 *   copy     a sparse copy (data ranges only, copy_file_range) under the
 *            state directory: works everywhere, costs a full read and write
 *            of the volume's data and its space; block devices always.
 *   lvm      an LVM snapshot of a logical volume (source/lvm.h): a thin
 *            snapshot of a thin LV (change tracking by thin_delta), or a
 *            classic COW snapshot of a thick LV; at /dev/VG/NAME.
 *
 * WHERE SNAPSHOT FILES LIVE (README, "Snapshots and permissions")
 *
 *   Only in a directory that only cairn's user can write: made 0700,
 *   opened O_NOFOLLOW|O_DIRECTORY and used only when fstat of that
 *   descriptor says it belongs to the effective uid and gives group and
 *   others no permission (util/path.h).  One that fails is refused with a
 *   line naming it and why, never reused or replaced.  Every snapshot file
 *   is created, opened, renamed and removed through that directory's
 *   descriptor, and handed on as an open descriptor, never reopened by
 *   path:
 *     STATE_DIR/snapshots   copies, block devices, and reflinks when the
 *                           state directory is on the volume's file system;
 *     ROOT/.cairn-snapshots reflinks otherwise, at the root of the volume's
 *                           file system (the top directory of its st_dev);
 *     DIR/.cairn-snapshots  beside the image, for reflinks only when ROOT
 *                           cannot be written (and where cairn kept all
 *                           snapshots before: those recorded there stay
 *                           usable, under the same checks).
 *   The volume, a revert's target and the snapshot's directory are walked
 *   without following another user's symbolic link (util/path.h).
 *
 * NAMES AND LEFTOVERS
 *
 *   A snapshot is made as BASE.ID.cairn-snap-PID-XXXXXX (util/tmpfile.h:
 *   locked, named after its process) and keeps that name while a run uses
 *   it; one that is kept (a backup's base, a user snapshot) is renamed
 *   BASE.ID and recorded before its lock is let go.  A run killed with
 *   SIGKILL therefore leaves either a temporary whose process is gone or a
 *   BASE.ID in no record, its lock free: a leftover, which `snapshot list`
 *   shows and the next snapshot made in that directory removes.
 *
 * A snapshot file is made read-only (0400) and its identity (device,
 * inode, size, mtime, ctime) is recorded when it is kept; a snapshot whose
 * identity changed since is not trusted as the base of an incremental,
 * nor reverted to.
 */
#ifndef CAIRN_SOURCE_SNAPSHOT_H
#define CAIRN_SOURCE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

enum cairn_snap_method {
	/* Snapshots (`snapshot create`, a group's frozen instant): LVM,
	 * else reflink, else copy.  A backup (engine.h cairn_snap_backup):
	 * an instant snapshot where one exists, else the live volume, never
	 * a copy unless asked. */
	CAIRN_SNAP_AUTO = 0,
	CAIRN_SNAP_REFLINK,
	CAIRN_SNAP_COPY,
	CAIRN_SNAP_NONE, /* backup only: read the live volume */
	CAIRN_SNAP_LVM,
	/* Internal, never parsed: LVM, else reflink, else CAIRN_EUNSUPPORTED
	 * (a snapshot that costs nothing, or none). */
	CAIRN_SNAP_INSTANT,
};

const char *cairn_snap_method_name(enum cairn_snap_method m);
int cairn_snap_method_parse(const char *s, enum cairn_snap_method *ret);

struct cairn_snap_identity {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

/* Tells whether the snapshot file at path (st: its stat) is recorded in
 * the state database (state/snapshots.h): a recorded file is never a
 * leftover.  When it cannot tell, it must answer true. */
typedef bool (*cairn_snap_known_fn)(const char *path, const struct stat *st, void *ud);

/* A snapshot this process made: open, read-only and locked until
 * released.  An LVM snapshot has no descriptors (fd, dirfd -1). */
struct cairn_snap_taken {
	char id[17];
	enum cairn_snap_method method;
	struct cairn_snap_identity ident;
	uint64_t bytes_copied; /* copy only */
	double seconds;
	char *path; /* DIR/NAME, or /dev/VG/NAME */
	int fd;     /* the snapshot */
	int dirfd;  /* the directory it is in */
	char *dir;  /* that directory's path */
	char *name; /* its name there: the temporary one until kept */
	bool kept;
};
#define CAIRN_SNAP_TAKEN_INIT { .fd = -1, .dirfd = -1 }

/* Snapshots volume (an image file or a block device) under the snapshot
 * id id into the directory above, first removing the leftovers there
 * (known tells recorded files apart).  want AUTO tries LVM, reflink, then
 * copy (ret->method says which; the caller warns about a copy's cost);
 * INSTANT tries LVM then reflink and fails with CAIRN_EUNSUPPORTED (the
 * message says why) where neither exists, leaving in ret (method NONE,
 * nothing to remove: release it all the same) the volume's descriptor
 * from the same walk (fd, -1 if it could not be kept) and path, for a
 * live read; REFLINK
 * fails with CAIRN_EUNSUPPORTED where the file system cannot; COPY first
 * checks that the state directory's file system has room for the
 * volume's data (CAIRN_ENOSPC).  Nothing is left on failure. */
int cairn_snap_take(const char *volume, const char *state_dir, const char *id, enum cairn_snap_method want,
		    cairn_snap_known_fn known, void *known_ud, struct cairn_snap_taken *ret);
/* Gives a file snapshot its lasting name BASE.ID and refreshes its
 * identity (a rename changes its ctime): call before recording it, and
 * release it only after. */
int cairn_snap_keep(struct cairn_snap_taken *t);
/* Lets go of t: removes the snapshot unless it was kept (a file, or the
 * LVM snapshot), then closes it (its lock goes).  r is returned, its
 * message kept whatever the removal says. */
int cairn_snap_release(struct cairn_snap_taken *t, int r);
static inline void cairn_snap_taken_releasep(struct cairn_snap_taken *t)
{
	cairn_snap_release(t, 0);
}

/* Opens the private snapshot directory dir (no creating), for recorded
 * snapshots and leftovers: CAIRN_ENOTFOUND when it is gone, CAIRN_EPERM
 * (one line, naming it and why) when it fails the checks above. */
int cairn_snap_dir_open(const char *dir, int *ret_fd);

/* Opens the recorded snapshot at path through its directory and checks
 * that the descriptor is still exactly the snapshot that was kept (want):
 * CAIRN_ECORRUPT when it changed or is gone, CAIRN_EPERM when its
 * directory fails the checks.  An LVM snapshot is looked up (*ret_fd
 * -1). */
int cairn_snap_open(const char *path, enum cairn_snap_method method, const struct cairn_snap_identity *want,
		    int *ret_fd);
/* Whether cairn_snap_open would succeed. */
bool cairn_snap_identity_matches(const char *path, enum cairn_snap_method method,
				 const struct cairn_snap_identity *want);

/* Returns the volume to the snapshot open at in (from cairn_snap_open;
 * path names it in messages; an LVM snapshot by path alone).  An image
 * file is replaced atomically: the reverted file is built as a temporary
 * beside it (util/tmpfile.h), with the volume's owner and mode, renamed
 * into place relative to the directory's descriptor and then checked to be
 * what sits at the volume's name (CAIRN_EPERM, naming it, when someone
 * swapped it).  A block device is overwritten in place.  Refuses with
 * CAIRN_EBUSY while the volume is mounted or open for writing, unless
 * force. */
int cairn_snap_revert(int in, const char *path, enum cairn_snap_method method, const char *volume, bool force);

/* Removes a recorded snapshot (a file in its checked directory, or an LVM
 * snapshot); a missing one is not an error. */
int cairn_snap_remove(const char *path, enum cairn_snap_method method);

/* A snapshot file no run holds and no record names. */
struct cairn_snap_leftover {
	char id[17];   /* from its name */
	char *path;
	uint64_t size, allocated;
	int64_t mtime;
	int pid;       /* the process that made it, 0 when its name does not say */
};
void cairn_snap_leftovers_free(struct cairn_snap_leftover *v, size_t n);
/* The leftovers in the snapshot directory dirfd (dir: its path), removed
 * when remove (each logged); ret may be NULL.  A file whose lock a live
 * process holds is never touched. */
int cairn_snap_leftovers(int dirfd, const char *dir, bool remove, cairn_snap_known_fn known, void *known_ud,
			 struct cairn_snap_leftover **ret, size_t *ret_n);

/* CAIRN_EBUSY with a message naming the reason (mounted on, attached to a
 * loop device, open for writing by a process) when something uses the
 * volume open at fd (volume: its path); 0 when nothing does. */
int cairn_volume_check_idle(const char *volume, int fd);

#endif
