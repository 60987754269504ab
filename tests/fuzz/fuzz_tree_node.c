/* libFuzzer target: an opened tree node.  Input: the level (u8) and child
 * count (u32) the walker expects, then the node plaintext. */
#include "cairn/error.h"
#include "repo/tree.h"
#include "util/buf.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5)
		return 0;
	unsigned level = data[0];
	uint32_t count = cairn_le32(data + 1);
	const uint8_t *node = data + 5;
	size_t len = size - 5;
	const uint8_t *ids = NULL;
	if (cairn_tree_node_parse(node, len, level, count, &ids) != 0)
		return 0;
	if (ids != node + CAIRN_NODE_HEADER_LEN || len != CAIRN_NODE_HEADER_LEN + (size_t)count * CAIRN_ID_LEN ||
	    node[0] != level)
		abort();
	return 0;
}
