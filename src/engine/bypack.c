/* Counting sort of index positions by pack slot (bypack.h). */
#include "engine/bypack.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

int cairn_bypack_build(struct cairn_bypack *bp, struct cairn_index *idx)
{
	size_t n, np = cairn_index_npacks(idx);
	const struct cairn_blob_ref *e = cairn_index_entries(idx, &n);
	cairn_bypack_free(bp);
	/* Positions and counts are 32-bit: 4 bytes a blob, not 8. */
	if (n > UINT32_MAX || np >= UINT32_MAX)
		return cairn_error_set(CAIRN_EINVAL, "index too large to group by pack (%zu entries)", n);
	bp->first = calloc(np + 2, sizeof(uint32_t));
	bp->pos = malloc((n ? n : 1) * sizeof(uint32_t));
	_cleanup_free_ uint32_t *fill = malloc((np ? np : 1) * sizeof(uint32_t));
	if (!bp->first || !bp->pos || !fill) {
		cairn_bypack_free(bp);
		return cairn_error_nomem();
	}
	for (size_t i = 0; i < n; i++)
		if (e[i].pack < np)
			bp->first[e[i].pack + 1]++;
	for (size_t s = 0; s < np; s++)
		bp->first[s + 1] += bp->first[s];
	memcpy(fill, bp->first, np * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		if (e[i].pack < np)
			bp->pos[fill[e[i].pack]++] = (uint32_t)i;
	bp->npacks = np;
	return 0;
}

void cairn_bypack_free(struct cairn_bypack *bp)
{
	free(bp->first);
	free(bp->pos);
	bp->first = bp->pos = NULL;
	bp->npacks = 0;
}
