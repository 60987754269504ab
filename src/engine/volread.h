/* Random access to one backup's volume image: the reader behind `cairn
 * mount` (instant access) and `restore-file` (a few files' extents).
 *
 * A read is served from a bounded chunk cache; a chunk that is not there is
 * fetched (a ranged get of its pack, merged with its neighbours in the same
 * pack), opened and verified against its id before any byte of it is
 * returned.  Chunks of zeros (a hole in the tree, or the zero id) cost no
 * fetch.  Damage is -EIO and a repository that cannot be read another
 * negative errno: a reader never gets wrong bytes.
 *
 * Read-ahead: when reads run sequentially the next chunks are fetched by
 * background workers while the caller consumes the current one.  A caller
 * that knows what it will read (restore-file: a file's extents, in volume
 * order) hands that plan to cairn_volread_plan(), and the workers then
 * fetch ahead along the plan instead of along the volume.
 *
 * Memory: the cache holds at most cache_bytes of plain chunks (at least
 * the read-ahead window; chunks being fetched count), each fetching thread
 * one ranged get's buffer (at most 4 MiB), plus a cache of the tree's
 * nodes of a 64th of cache_bytes (at least a read-ahead window's leaves
 * and a path from the root per thread).  Neither grows with the volume.
 *
 * The tree is read lazily: opening loads its root, and a read the nodes
 * on the path to its chunks that are not cached, so a few small reads of
 * a large volume fetch O(levels) nodes, not the volume's ids.
 *
 * Thread safety: cairn_volread_pread(), cairn_volread_plan() and
 * cairn_volread_stats() may be called from any number of threads at once;
 * open and close from one.  Worker threads start on the first fetch, so a
 * reader opened before fork() (mount opens before it daemonizes) is usable
 * in the child.
 */
#ifndef CAIRN_ENGINE_VOLREAD_H
#define CAIRN_ENGINE_VOLREAD_H

#include "repo/index.h"
#include "repo/manifest.h"
#include "repo/repo.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cairn_volread;

struct cairn_volread_opts {
	/* Upper bound of the chunk cache in bytes; 0: the default
	 * (CAIRN_VOLREAD_CACHE_DEFAULT).  Raised to 4 chunks + read-ahead. */
	uint64_t cache_bytes;
	/* Chunks fetched ahead of a sequential reader or along a plan; 0: the
	 * default (two 4 MiB gets per thread, at most 64 MiB). */
	unsigned readahead_chunks;
	/* Fetching threads; 0: as restore, four per core or the store's
	 * parallelism if larger (at most 16). */
	unsigned threads;
	/* The caller reports the failures its reads meet (restore-file: one
	 * line): the workers do not log them as warnings too. */
	bool quiet;
};
#define CAIRN_VOLREAD_CACHE_DEFAULT (256ull << 20)

struct cairn_volread_stats {
	uint64_t chunks_fetched; /* chunks fetched and verified */
	uint64_t bytes_fetched;  /* bytes got from the store (ranged gets) */
	uint64_t gets;           /* ranged gets */
	uint64_t cache_hits;     /* chunk reads the cache served */
	uint64_t zero_chunks;    /* chunk reads served as zeros without a fetch */
	uint64_t bytes_read;     /* bytes returned to callers */
	uint64_t nodes_fetched;  /* tree nodes fetched and verified */
	uint64_t node_bytes_fetched; /* their stored bytes */
};

/* Opens a reader of m's image.  idx: the repository's index, borrowed and
 * shared between readers (read only; it must outlive the reader), or NULL
 * to load one (cached under state_dir when that is not NULL).  Reads the
 * root of m's tree (missing or damaged, it is an error here, with a
 * message; a node below is read when first needed, and its damage is
 * -EIO for the reads under it).
 * *ret owns a copy of what it needs of m. */
int cairn_volread_open(struct cairn_repo *repo, struct cairn_index *idx, const char *state_dir,
		       const struct cairn_manifest *m, const struct cairn_volread_opts *o, struct cairn_volread **ret);

/* The image's size in bytes. */
uint64_t cairn_volread_size(const struct cairn_volread *v);

/* Reads up to len bytes at off into buf: the number read (short only at
 * the end of the image, 0 past it), or a negative errno: -EIO when a chunk
 * is damaged or missing, -ENOMEM, -ECANCELED, -EIO for other repository
 * errors too (the message, from cairn_error_message() on this thread and
 * in the log, says which). */
ssize_t cairn_volread_pread(struct cairn_volread *v, void *buf, size_t len, uint64_t off);

/* Byte ranges a caller will read, sorted by offset, not overlapping. */
struct cairn_volread_range {
	uint64_t off, len;
};
/* Sets the plan: the ranges (copied) a caller is about to read in this
 * order.  Their chunks are fetched in parallel, in volume order, as far
 * ahead of the reader's position in the plan as read-ahead allows, and
 * kept until read (or evicted under memory pressure, then fetched again).
 * A new plan replaces the old; n == 0 clears it.  0 or -ENOMEM/-EINVAL. */
int cairn_volread_plan(struct cairn_volread *v, const struct cairn_volread_range *ranges, size_t n);

void cairn_volread_stats(struct cairn_volread *v, struct cairn_volread_stats *ret);

/* Stops the workers and frees; accepts NULL. */
void cairn_volread_close(struct cairn_volread *v);
static inline void cairn_volread_closep(struct cairn_volread **v)
{
	cairn_volread_close(*v);
}

#endif
