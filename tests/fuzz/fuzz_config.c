/* libFuzzer target: the opened JSON body of the config object. */
#include "cairn/error.h"
#include "repo/repo.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cairn_repo_config c;
	if (cairn_config_parse_json(data, size, &c) != 0)
		return 0;
	/* What open promises about an accepted config. */
	if (c.version != CAIRN_FORMAT_VERSION || c.chunk_size < CAIRN_CHUNK_SIZE_MIN ||
	    c.chunk_size > CAIRN_CHUNK_SIZE_MAX || (c.chunk_size & (c.chunk_size - 1)) != 0 ||
	    c.pack_size < c.chunk_size || c.tree_fanout != CAIRN_TREE_FANOUT)
		abort();
	/* The instance is the id unless the config names another. */
	if (!memmem(data, size, "instance", 8) && memcmp(c.instance, c.id, 16) != 0)
		abort();
	/* Object lock: none, or 1..CAIRN_OBJECT_LOCK_DAYS_MAX days in a known mode. */
	if (c.object_lock_days > CAIRN_OBJECT_LOCK_DAYS_MAX ||
	    (c.object_lock_mode != CAIRN_LOCK_COMPLIANCE && c.object_lock_mode != CAIRN_LOCK_GOVERNANCE))
		abort();
	return 0;
}
