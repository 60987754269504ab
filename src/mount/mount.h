/* `cairn mount`: backups as image files in a FUSE file system, read
 * lazily from the repository (engine/volread.h), writable into an overlay
 * file (source/overlay.h) for instant recovery.  A front end beside cli/
 * and daemon/: it serves the kernel's requests for as long as the mount
 * stands. */
#ifndef CAIRN_MOUNT_MOUNT_H
#define CAIRN_MOUNT_MOUNT_H

#include "repo/manifest.h"
#include "repo/repo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cairn_mount_opts {
	const char *dir;         /* the mount point: an empty directory */
	bool allow_other;        /* other users may read (fuse.conf user_allow_other for non-root) */
	bool foreground;         /* serve in this process, not a daemon */
	const char *overlay;     /* the overlay file (one image only); NULL: read-only */
	const char *state_dir;   /* the index cache; NULL: none */
	uint64_t cache_bytes;    /* per image; 0: the default */
	/* Called once mounted, before the process becomes a daemon (so its
	 * output reaches the caller's terminal), with each image's path
	 * relative to dir. */
	void (*mounted)(const char *const *paths, const struct cairn_manifest *const *ms, size_t n, void *ud);
	void *ud;
};

/* The name of m's image in the tree: "<volume>/<time>-<id prefix>.img",
 * time in UTC as 2026-12-07T183012Z.  *ret is malloc'd. */
int cairn_mount_image_path(const struct cairn_manifest *m, char **ret);

/* Mounts the images of ms[0..n) (borrowed; each may be of another volume)
 * at o->dir and serves them until unmounted (cairn umount, fusermount3 -u,
 * SIGINT or SIGTERM).  Returns in the daemon once it unmounted; without
 * foreground the calling process exits 0 once the mount stands (the
 * daemon carries on).  Errors before mounting are returned with a
 * message: DIR not an empty directory, an overlay for several images or
 * of another backup, FUSE unavailable. */
int cairn_mount_run(struct cairn_repo *repo, struct cairn_manifest *const *ms, size_t n,
		    const struct cairn_mount_opts *o);

/* Unmounts a cairn mount at dir (fusermount3 -u): 0, or an error naming
 * why (not mounted, busy). */
int cairn_mount_unmount(const char *dir);

#endif
