/* Merkle trees of chunk ids (format.h TREE). */
#ifndef CAIRN_REPO_TREE_H
#define CAIRN_REPO_TREE_H

#include "repo/format.h"
#include "repo/index.h"
#include "repo/pack.h"

#include <stdint.h>

#define CAIRN_TREE_MAX_LEVELS 16

/* Smallest h >= 1 with fanout^h >= nchunks. */
unsigned cairn_tree_levels(uint64_t nchunks, uint32_t fanout);

/* Called for every non-zero node the builder completes: store it. */
typedef int (*cairn_tree_emit_fn)(const uint8_t id[CAIRN_ID_LEN], const uint8_t *node, size_t len, void *ud);

/* Builds a tree from chunk ids pushed in order; memory is one pending node
 * per level, whatever the volume size. */
struct cairn_tree_builder {
	uint32_t fanout;
	unsigned levels;
	uint64_t nchunks, pushed;
	uint8_t *pending[CAIRN_TREE_MAX_LEVELS + 1]; /* [1..levels]: header + ids */
	uint32_t count[CAIRN_TREE_MAX_LEVELS + 1];
	struct cairn_hasher *hasher; /* borrowed */
	cairn_tree_emit_fn emit;
	void *ud;
	uint64_t nodes_emitted;
};

int cairn_tree_builder_init(struct cairn_tree_builder *b, uint64_t nchunks, uint32_t fanout,
			    struct cairn_hasher *hasher, cairn_tree_emit_fn emit, void *ud);
int cairn_tree_builder_push(struct cairn_tree_builder *b, const uint8_t id[CAIRN_ID_LEN]);
/* n chunks of zeros (a hole) in a row: the same tree as n pushes of the
 * zero id, at a cost per run (O(levels x fanout)), not per chunk. */
int cairn_tree_builder_push_zeros(struct cairn_tree_builder *b, uint64_t n);
/* A subtree built before (the node of a level, 1 <= level < levels, over
 * count chunks) whose chunks come next: the same tree as pushing them one
 * by one, at a cost of O(levels).  The next chunk must be the node's first
 * (a multiple of fanout^level); count < fanout^level only for the last. */
int cairn_tree_builder_push_node(struct cairn_tree_builder *b, unsigned level, const uint8_t id[CAIRN_ID_LEN],
				 uint64_t count);
int cairn_tree_builder_finish(struct cairn_tree_builder *b, uint8_t root[CAIRN_ID_LEN]);
void cairn_tree_builder_free(struct cairn_tree_builder *b);

/* Children that node k of a level must have (0: no such node). */
uint32_t cairn_tree_node_count(uint64_t nchunks, uint32_t fanout, unsigned level, uint64_t k);

/* Parses an opened node (fuzzed): checks level and count. *ret_ids borrows
 * from data. */
int cairn_tree_node_parse(const uint8_t *data, size_t len, unsigned want_level, uint32_t want_count,
			  const uint8_t **ret_ids);

/* Where a walk reads nodes from. */
struct cairn_tree_src {
	struct cairn_repo *repo;
	struct cairn_index *idx;
	struct cairn_blob_codec *codec;
	uint32_t fanout;
};

/* Calls fn for runs of chunks in order.  ids == NULL means count chunks of
 * zeros (a hole); otherwise ids holds count chunk ids. */
typedef int (*cairn_tree_leaf_fn)(uint64_t first, uint64_t count, const uint8_t *ids, void *ud);
int cairn_tree_walk(struct cairn_tree_src *src, const uint8_t root[CAIRN_ID_LEN], unsigned levels,
		    uint64_t nchunks, cairn_tree_leaf_fn fn, void *ud);

/* The data chunks of a tree, ascending by position; holes take no room,
 * so memory follows the data (40 bytes a data chunk), not the apparent
 * size: for readers that look ids up at random (diff --files). */
struct cairn_tree_chunk {
	uint64_t pos;
	uint8_t id[CAIRN_ID_LEN];
};
struct cairn_tree_data {
	struct cairn_tree_chunk *v;
	size_t n, cap;
	uint64_t nchunks;
};
int cairn_tree_data_load(struct cairn_tree_src *src, const uint8_t root[CAIRN_ID_LEN], unsigned levels,
			 uint64_t nchunks, struct cairn_tree_data *ret);
/* The id of chunk c (c < nchunks): borrowed, the zero id in a hole. */
const uint8_t *cairn_tree_data_id(const struct cairn_tree_data *t, uint64_t c);
void cairn_tree_data_free(struct cairn_tree_data *t);

/* Calls fn(first, count) for runs of chunks that differ between two trees,
 * visiting only the nodes whose ids differ.  Chunks past a tree's end count
 * as zeros. */
typedef int (*cairn_tree_diff_fn)(uint64_t first, uint64_t count, void *ud);
int cairn_tree_diff(struct cairn_tree_src *src, const uint8_t root_a[CAIRN_ID_LEN], unsigned levels_a,
		    uint64_t n_a, const uint8_t root_b[CAIRN_ID_LEN], unsigned levels_b, uint64_t n_b,
		    cairn_tree_diff_fn fn, void *ud);

/* Reads a blob by id through the index: fetch, open, verify. */
int cairn_blob_read(struct cairn_repo *repo, struct cairn_index *idx, struct cairn_blob_codec *codec,
		    const uint8_t id[CAIRN_ID_LEN], struct cairn_buf *out);

#endif
