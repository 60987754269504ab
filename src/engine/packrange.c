#include "engine/packrange.h"
#include "repo/objects.h"
#include "repo/pack.h"
#include "util/error.h"

int cairn_pack_range_get(struct cairn_repo *repo, struct cairn_index *idx, uint32_t pack, uint64_t start,
			 uint64_t end, struct cairn_buf *buf)
{
	char key[CAIRN_OBJECT_NAME_MAX];
	const uint8_t *pack_id = cairn_index_pack_id(idx, pack);
	int r = cairn_object_get_range(repo, CAIRN_OBJ_PACK, pack_id, start, end - start, buf);
	if (r == CAIRN_ENOTFOUND || r == CAIRN_EINVAL || (r >= 0 && buf->len != end - start))
		cairn_pack_key(pack_id, key);
	if (r == CAIRN_ENOTFOUND)
		return cairn_error_set(CAIRN_ENOTFOUND, "pack %s is missing from the repository", key);
	if (r == CAIRN_EINVAL || (r >= 0 && buf->len != end - start))
		return cairn_error_set(CAIRN_ECORRUPT, "pack %s is truncated", key);
	return r < 0 ? r : 0;
}
