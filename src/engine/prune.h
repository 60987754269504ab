/* prune: deletes what no backup references and repacks mostly-unused packs
 * (docs/design.md §5), safely beside backups running on other hosts.  The
 * protocol (lease, condemned packs, activity markers, safety window) is
 * specified in format.h PRUNE; this is the engine that follows it.
 *
 * Memory: the index (format.h INDEX: ~58 bytes per blob), one bit per
 * blob for marking, 4 bytes per blob for grouping entries by pack, ~64
 * bytes per pack, and two pack buffers (one read, one written): about
 * 67 bytes per blob plus 2 x pack_size, whatever the number of backups. */
#ifndef CAIRN_ENGINE_PRUNE_H
#define CAIRN_ENGINE_PRUNE_H

#include "engine/engine.h"

#include <stdbool.h>
#include <stdint.h>

#define CAIRN_PRUNE_WINDOW_DEFAULT (24 * 3600) /* seconds */

struct cairn_prune_opts {
	bool dry_run;
	/* Unused space tolerated after prune (restic's --max-unused): a
	 * percentage p of the used space (unused <= used * p / (100 - p)),
	 * or a number of bytes, or unlimited (only fully unused packs go). */
	double max_unused_pct;  /* used when max_unused_bytes is 0 and !unlimited; default 5 */
	uint64_t max_unused_bytes;
	bool unlimited;
	/* Condemned packs wait this long while backups run (format.h PRUNE);
	 * < 0: the default. */
	int64_t window;
	int64_t lease_ttl; /* 0: CAIRN_LEASE_TTL_DEFAULT */
	cairn_progress_fn progress; /* bytes repacked of the bytes to repack */
	void *progress_ud;
};

struct cairn_prune_stats {
	uint64_t backups, index_objects, packs, blobs;
	uint64_t repo_bytes;        /* pack bytes before */
	uint64_t used_bytes;        /* referenced blob bytes */
	uint64_t unused_bytes;      /* before: in live packs, not referenced */
	uint64_t orphan_packs;      /* found in no index object */
	uint64_t packs_unused;      /* live packs with nothing referenced: condemned now */
	uint64_t packs_repacked, bytes_repacked, packs_written;
	uint64_t packs_rescued;     /* condemned packs a late backup still needed */
	uint64_t packs_deleted, bytes_deleted;
	uint64_t packs_waiting;     /* condemned, not yet deleted (backups running) */
	uint64_t bytes_waiting;
	uint64_t unused_after;      /* in live packs after prune */
	uint64_t running;           /* live activity markers seen */
	uint64_t index_objects_written;
	uint64_t leftovers_removed; /* killed writes' temporaries and multipart uploads */
	/* Object lock: packs that would go (unused, or chosen for
	 * repacking) but are retained, kept live until a prune after
	 * locked_until (the latest of their dates, unix seconds). */
	uint64_t packs_locked, bytes_locked;
	int64_t locked_until;
	bool deferred;              /* deletions waited for the window */
	double seconds;
};

int cairn_prune_run(struct cairn_repo *repo, const struct cairn_prune_opts *o, struct cairn_prune_stats *ret);

#endif
