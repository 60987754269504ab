/* One ranged read of a pack, as restore and the volume reader do it: a
 * missing pack or a short answer is named in the message. */
#ifndef CAIRN_ENGINE_PACKRANGE_H
#define CAIRN_ENGINE_PACKRANGE_H

#include "repo/index.h"
#include "repo/repo.h"
#include "util/buf.h"

#include <stdint.h>

/* Reads [start, end) of the pack in index slot `pack` into buf (replacing
 * its contents): 0, CAIRN_ENOTFOUND (the pack is missing), CAIRN_ECORRUPT
 * (it is shorter than the index says), or the store's error. */
int cairn_pack_range_get(struct cairn_repo *repo, struct cairn_index *idx, uint32_t pack, uint64_t start,
			 uint64_t end, struct cairn_buf *buf);

#endif
