/* Change maps: the byte ranges of a volume that may differ from a base
 * (the snapshot the parent backup read).  Everything outside the map is
 * known to be unchanged, so a backup takes those chunks' ids from the
 * parent instead of reading them: the cost of an incremental follows the
 * change, not the volume size (docs/design.md §6).
 *
 * Producers (source/fiemap.h for reflink snapshots, source/thin.h for LVM
 * thin metadata) add ranges in increasing order; overlapping or touching
 * ranges merge.  A change map never claims less than what changed: when a
 * producer cannot tell, it fails and the backup reads everything.
 */
#ifndef CAIRN_SOURCE_CHANGES_H
#define CAIRN_SOURCE_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cairn_range {
	uint64_t off, len;
};

struct cairn_change_map {
	struct cairn_range *v;
	size_t n, cap;
	uint64_t bytes; /* sum of the ranges' lengths */
	const char *method; /* "fiemap", "thin-delta": the manifest's change_tracking; static */
};

#define CAIRN_CHANGE_MAP_INIT { NULL, 0, 0, 0, NULL }

/* Adds [off, off + len); off must not be below the end of the previous
 * range's start (ranges come in order).  len 0 is ignored. */
int cairn_change_map_add(struct cairn_change_map *m, uint64_t off, uint64_t len);
void cairn_change_map_free(struct cairn_change_map *m);
static inline void cairn_change_map_freep(struct cairn_change_map *m)
{
	cairn_change_map_free(m);
}

/* Walks a change map chunk by chunk, in order: a cursor, no allocation. */
struct cairn_change_cursor {
	const struct cairn_change_map *m;
	size_t i; /* first range that may still overlap a chunk at or after the last asked */
};

#define CAIRN_CHANGE_CURSOR_INIT(map) { (map), 0 }

/* Sets changed[k] = 1 for each of the n chunks from chunk `first` (of
 * chunk_size bytes) that overlaps a range of the map, else 0.  Calls must
 * ask for increasing chunk numbers.  Returns the number of changed chunks. */
uint32_t cairn_change_cursor_mark(struct cairn_change_cursor *c, uint32_t chunk_size, uint64_t first, uint32_t n,
				  uint8_t *changed);

/* The first chunk from `from` on, and before `end`, that overlaps a range of
 * the map (changed true) or overlaps none (changed false); end if there is
 * none.  Cost per range passed, not per chunk: a hole of a sparse volume
 * is one call.  Calls must ask for increasing chunk numbers, as above. */
uint64_t cairn_change_cursor_next(struct cairn_change_cursor *c, uint32_t chunk_size, uint64_t from, uint64_t end,
				  bool changed);

#endif
