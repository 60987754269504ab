/* The index grouped by pack, built once in O(packs + blobs).
 *
 * check and repair visit packs one by one and need the entries each pack
 * holds; asking the whole index for every pack is O(packs x blobs), hours
 * at 1 TiB.  A counting sort of the entries' positions by pack slot gives
 * every pack its range instead: 4 bytes per blob and 4 per pack. */
#ifndef CAIRN_ENGINE_BYPACK_H
#define CAIRN_ENGINE_BYPACK_H

#include "repo/index.h"

#include <stddef.h>
#include <stdint.h>

struct cairn_bypack {
	uint32_t *first; /* npacks + 1: pack s holds pos[first[s] .. first[s+1]) */
	uint32_t *pos;   /* entry positions (cairn_index_entries), index order within a pack */
	size_t npacks;
};

#define CAIRN_BYPACK_INIT { NULL, NULL, 0 }

/* Groups the entries idx holds now; valid until idx gains an entry or a
 * pack.  Entries whose pack slot is out of range are left out. */
int cairn_bypack_build(struct cairn_bypack *bp, struct cairn_index *idx);
void cairn_bypack_free(struct cairn_bypack *bp);
static inline void cairn_bypack_freep(struct cairn_bypack *bp)
{
	cairn_bypack_free(bp);
}

/* The positions of the entries in pack slot (none for a slot beyond the
 * table known at build time). */
static inline const uint32_t *cairn_bypack_of(const struct cairn_bypack *bp, uint32_t slot, size_t *ret_n)
{
	if (slot >= bp->npacks) {
		*ret_n = 0;
		return bp->pos;
	}
	*ret_n = bp->first[slot + 1] - bp->first[slot];
	return bp->pos + bp->first[slot];
}

#endif
