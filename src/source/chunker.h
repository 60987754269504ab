/* Fixed, volume-aligned chunking (docs/design.md §5): chunk i covers bytes
 * [i * chunk_size, min((i + 1) * chunk_size, size)).  A plain struct with an
 * INIT macro that allocates nothing (casync's cachunker.h). */
#ifndef CAIRN_SOURCE_CHUNKER_H
#define CAIRN_SOURCE_CHUNKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cairn_chunker {
	uint32_t chunk_size; /* a power of two */
	uint64_t size;       /* of the volume */
};

#define CAIRN_CHUNKER_INIT(chunk_size, size) { (chunk_size), (size) }

/* Number of chunks: ceil(size / chunk_size). */
uint64_t cairn_chunker_count(const struct cairn_chunker *c);
/* Offset and length of chunk i (length 0 past the end). */
void cairn_chunker_range(const struct cairn_chunker *c, uint64_t i, uint64_t *ret_off, uint32_t *ret_len);

/* True when every byte is zero: such a chunk is never stored. */
bool cairn_chunk_is_zero(const void *p, size_t len);

/* Sets hole[k] for each of the n chunks from chunk `first` that lies wholly
 * in a hole of fd (SEEK_DATA/SEEK_HOLE), so it need not be read at all.
 * Leaves hole[] all zero when the file system cannot tell. */
void cairn_chunker_mark_holes(const struct cairn_chunker *c, int fd, uint64_t first, uint32_t n, uint8_t *hole);

#endif
