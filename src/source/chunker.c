#include "source/chunker.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

uint64_t cairn_chunker_count(const struct cairn_chunker *c)
{
	return (c->size + c->chunk_size - 1) / c->chunk_size;
}

void cairn_chunker_range(const struct cairn_chunker *c, uint64_t i, uint64_t *ret_off, uint32_t *ret_len)
{
	uint64_t off = i * c->chunk_size;
	*ret_off = off;
	*ret_len = off >= c->size ? 0 : (uint32_t)(c->size - off < c->chunk_size ? c->size - off : c->chunk_size);
}

bool cairn_chunk_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	/* A word-wise test settles most data chunks at once; then one memcmp of
	 * the buffer against itself shifted by 16 bytes covers the rest. */
	if (len < 16)
		return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
	uint64_t w[2];
	memcpy(w, p, 16);
	if (w[0] | w[1])
		return false;
	return memcmp(p, p + 16, len - 16) == 0;
}

void cairn_chunker_mark_holes(const struct cairn_chunker *c, int fd, uint64_t first, uint32_t n, uint8_t *hole)
{
	memset(hole, 0, n);
	uint64_t start = first * c->chunk_size;
	if (start >= c->size)
		return;
	uint64_t end = (first + n) * c->chunk_size;
	if (end > c->size)
		end = c->size;
	uint64_t pos = start;
	while (pos < end) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
		if (data < 0 && errno != ENXIO)
			return; /* no SEEK_DATA here: treat everything as data */
		/* ENXIO: no data after pos, the rest is a hole */
		uint64_t hole_end = data < 0 || (uint64_t)data > end ? end : (uint64_t)data;
		/* chunks wholly inside [pos, hole_end) */
		for (uint64_t k = (pos - start + c->chunk_size - 1) / c->chunk_size; k < n; k++) {
			uint64_t cs = start + k * c->chunk_size;
			uint64_t ce = cs + c->chunk_size < end ? cs + c->chunk_size : end;
			if (ce > hole_end)
				break;
			hole[k] = 1;
		}
		if (hole_end >= end)
			return;
		off_t next = lseek(fd, (off_t)hole_end, SEEK_HOLE);
		if (next < 0)
			return;
		pos = (uint64_t)next;
	}
}
