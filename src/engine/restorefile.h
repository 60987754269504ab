/* restore-file: files and directory trees of backups, extracted from the
 * catalog (repo/catalog.h) and the chunks their extents use, read through
 * the volume reader (engine/volread.h) with one plan per volume, so only
 * those chunks are fetched, in parallel and in volume order.
 *
 * Into a directory (dest): everything happens relative to dest's
 * descriptor (openat, mkdirat, symlinkat, renameat with O_NOFOLLOW), never
 * through a path string, so nothing planted in dest (a symlink to
 * elsewhere) is followed, and a name from the catalog that is not one
 * component ("", ".", "..", holding '/') is refused as damage.  Before
 * anything is written every target is checked: an existing one that is
 * not a directory to merge into is refused unless force (then it is
 * replaced; a directory is never replaced by a file).  Each file is
 * written into a nameless temporary (or a locked one named ".cairn-rf")
 * in its directory and renamed into place complete, modes and times set:
 * a failure (a damaged chunk) leaves no partial file.  Directories get
 * their modes and times after their contents.
 *
 * Into a stream (out_fd): one regular file's bytes (raw), or a tar (pax
 * over ustar, util/tar.h) of everything, holes as zeros.
 *
 * Hard links are kept among what is extracted: entries of one inode of
 * one file system become links to the first written.  Set-user-id and
 * set-group-id bits are kept only with preserve_owner (the owner is not
 * the backup's otherwise).  Device nodes need root: without it they are
 * skipped with a warning, as are sockets always. */
#ifndef CAIRN_ENGINE_RESTOREFILE_H
#define CAIRN_ENGINE_RESTOREFILE_H

#include "engine/engine.h"
#include "repo/index.h"

#include <stdbool.h>
#include <stdint.h>

/* One PATH: a catalog path (absolute) of backup m. */
struct cairn_restorefile_item {
	const struct cairn_manifest *m;
	const char *path;
};

enum cairn_restorefile_mode {
	CAIRN_RF_DIR,    /* into the directory dest */
	CAIRN_RF_STREAM, /* to out_fd: one regular file's bytes, else a tar */
};

struct cairn_restorefile_opts {
	enum cairn_restorefile_mode mode;
	const char *dest; /* CAIRN_RF_DIR: created when missing (its parent must exist) */
	int out_fd;
	bool force;
	bool preserve_owner;
	const char *state_dir; /* the index cache; NULL: none */
	cairn_progress_fn progress;
	void *progress_ud;
};

struct cairn_restorefile_stats {
	uint64_t files, dirs, symlinks, hardlinks, special, skipped;
	uint64_t bytes;          /* of the files' contents (holes included) */
	uint64_t chunks_fetched; /* chunks fetched from the repository */
	uint64_t bytes_fetched;  /* bytes got from the store for them (and the nodes) */
	uint64_t nodes_fetched;  /* tree nodes on the paths to them */
	double seconds;
	bool tar; /* CAIRN_RF_STREAM wrote a tar */
};

/* Extracts the items.  Errors: CAIRN_ENOTFOUND (no catalog, a path not in
 * it), CAIRN_EEXIST (a target exists, no force), CAIRN_EINVAL (a path with
 * "..", a raw stream of something not a regular file), CAIRN_ECORRUPT
 * (damage in the catalog), CAIRN_EIO (a chunk damaged or missing), with
 * one-line messages. */
int cairn_restorefile_run(struct cairn_repo *repo, const struct cairn_restorefile_item *items, size_t n,
			  const struct cairn_restorefile_opts *o, struct cairn_restorefile_stats *ret);

#endif
