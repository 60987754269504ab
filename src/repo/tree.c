/* Merkle trees: streaming builder, ordered walk, and two-tree diff. */
#include "repo/tree.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/parallel.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t zero_id[CAIRN_ID_LEN];

unsigned cairn_tree_levels(uint64_t nchunks, uint32_t fanout)
{
	unsigned h = 1;
	uint64_t cover = fanout;
	while (cover < nchunks) {
		h++;
		if (cover > UINT64_MAX / fanout)
			break; /* fanout^h exceeds any 64-bit count */
		cover *= fanout;
	}
	return h;
}

int cairn_tree_builder_init(struct cairn_tree_builder *b, uint64_t nchunks, uint32_t fanout,
			    struct cairn_hasher *hasher, cairn_tree_emit_fn emit, void *ud)
{
	memset(b, 0, sizeof(*b));
	b->fanout = fanout;
	b->nchunks = nchunks;
	b->levels = cairn_tree_levels(nchunks, fanout);
	if (b->levels > CAIRN_TREE_MAX_LEVELS)
		return cairn_error_set(CAIRN_EINVAL, "volume too large for the tree");
	b->hasher = hasher;
	b->emit = emit;
	b->ud = ud;
	for (unsigned l = 1; l <= b->levels; l++) {
		b->pending[l] = malloc(CAIRN_NODE_HEADER_LEN + (size_t)fanout * CAIRN_ID_LEN);
		if (!b->pending[l]) {
			cairn_tree_builder_free(b);
			return cairn_error_nomem();
		}
	}
	return 0;
}

void cairn_tree_builder_free(struct cairn_tree_builder *b)
{
	for (unsigned l = 0; l <= CAIRN_TREE_MAX_LEVELS; l++) {
		free(b->pending[l]);
		b->pending[l] = NULL;
	}
}

static int add_at(struct cairn_tree_builder *b, unsigned level, const uint8_t id[CAIRN_ID_LEN]);

/* Closes the pending node of a level: its id goes one level up (or is the root). */
static int close_node(struct cairn_tree_builder *b, unsigned level, uint8_t out[CAIRN_ID_LEN])
{
	uint8_t *node = b->pending[level];
	uint32_t n = b->count[level];
	b->count[level] = 0;
	int allzero = 1;
	for (uint32_t i = 0; i < n && allzero; i++)
		allzero = cairn_id_is_zero(node + CAIRN_NODE_HEADER_LEN + (size_t)i * CAIRN_ID_LEN);
	if (allzero) {
		memset(out, 0, CAIRN_ID_LEN);
		return 0;
	}
	node[0] = (uint8_t)level;
	node[1] = node[2] = node[3] = 0;
	cairn_put_le32(node + 4, n);
	size_t len = CAIRN_NODE_HEADER_LEN + (size_t)n * CAIRN_ID_LEN;
	int r = cairn_hasher_id(b->hasher, node, len, out);
	if (r < 0)
		return r;
	b->nodes_emitted++;
	return b->emit(out, node, len, b->ud);
}

static int add_at(struct cairn_tree_builder *b, unsigned level, const uint8_t id[CAIRN_ID_LEN])
{
	memcpy(b->pending[level] + CAIRN_NODE_HEADER_LEN + (size_t)b->count[level] * CAIRN_ID_LEN, id,
	       CAIRN_ID_LEN);
	if (++b->count[level] < b->fanout || level == b->levels)
		return 0;
	uint8_t up[CAIRN_ID_LEN];
	int r = close_node(b, level, up);
	if (r < 0)
		return r;
	return add_at(b, level + 1, up);
}

int cairn_tree_builder_push(struct cairn_tree_builder *b, const uint8_t id[CAIRN_ID_LEN])
{
	if (b->pushed >= b->nchunks)
		return cairn_error_set(CAIRN_EINVAL, "tree builder: more chunks than the volume has");
	b->pushed++;
	return add_at(b, 1, id);
}

/* n zero ids at a level.  Whole nodes of zeros are never filled in: a node
 * that would hold only zero ids has the zero id itself, so fanout of them
 * at one level are one zero id a level up.  Costs O(levels x fanout) per
 * run, whatever n. */
static int zeros_at(struct cairn_tree_builder *b, unsigned level, uint64_t n)
{
	while (n) {
		if (b->count[level] == 0 && level < b->levels && n >= b->fanout) {
			int r = zeros_at(b, level + 1, n / b->fanout);
			if (r < 0)
				return r;
			n %= b->fanout;
			continue;
		}
		/* Fill the pending node up to its end (or n).  The root never
		 * fills past fanout while pushed <= nchunks; refused, not spun on. */
		uint32_t k = (uint32_t)MIN((uint64_t)(b->fanout - b->count[level]), n);
		if (!k)
			return cairn_error_set(CAIRN_EINVAL, "tree builder: more chunks than the tree holds");
		memset(b->pending[level] + CAIRN_NODE_HEADER_LEN + (size_t)b->count[level] * CAIRN_ID_LEN, 0,
		       (size_t)k * CAIRN_ID_LEN);
		b->count[level] += k;
		n -= k;
		if (b->count[level] == b->fanout && level < b->levels) {
			uint8_t up[CAIRN_ID_LEN];
			int r = close_node(b, level, up);
			if (r < 0 || (r = add_at(b, level + 1, up)) < 0)
				return r;
		}
	}
	return 0;
}

int cairn_tree_builder_push_zeros(struct cairn_tree_builder *b, uint64_t n)
{
	if (n > b->nchunks - b->pushed)
		return cairn_error_set(CAIRN_EINVAL, "tree builder: more chunks than the volume has");
	b->pushed += n;
	return zeros_at(b, 1, n);
}

static uint64_t span(uint32_t fanout, unsigned level);

int cairn_tree_builder_push_node(struct cairn_tree_builder *b, unsigned level, const uint8_t id[CAIRN_ID_LEN],
				 uint64_t count)
{
	uint64_t s = span(b->fanout, level);
	/* Aligned on the node's first chunk, every pending node below its
	 * level is empty: the id goes one level up as a closed node's would. */
	if (level == 0 || level >= b->levels || b->pushed % s || count == 0 || count > s ||
	    count > b->nchunks - b->pushed || (count < s && b->pushed + count != b->nchunks))
		return cairn_error_set(CAIRN_EINVAL, "tree builder: a level-%u node does not fit at chunk %llu", level,
				       (unsigned long long)b->pushed);
	b->pushed += count;
	return add_at(b, level + 1, id);
}

int cairn_tree_builder_finish(struct cairn_tree_builder *b, uint8_t root[CAIRN_ID_LEN])
{
	if (b->pushed != b->nchunks)
		return cairn_error_set(CAIRN_EINVAL, "tree builder: %llu of %llu chunks pushed",
				       (unsigned long long)b->pushed, (unsigned long long)b->nchunks);
	for (unsigned l = 1; l < b->levels; l++) {
		if (b->count[l] == 0)
			continue;
		uint8_t up[CAIRN_ID_LEN];
		int r = close_node(b, l, up);
		if (r < 0)
			return r;
		memcpy(b->pending[l + 1] + CAIRN_NODE_HEADER_LEN + (size_t)b->count[l + 1] * CAIRN_ID_LEN, up,
		       CAIRN_ID_LEN);
		b->count[l + 1]++;
	}
	return close_node(b, b->levels, root);
}

int cairn_tree_node_parse(const uint8_t *data, size_t len, unsigned want_level, uint32_t want_count,
			  const uint8_t **ret_ids)
{
	if (len < CAIRN_NODE_HEADER_LEN)
		return cairn_error_set(CAIRN_ECORRUPT, "tree node too short");
	uint32_t count = cairn_le32(data + 4);
	if (data[0] != want_level || data[1] || data[2] || data[3])
		return cairn_error_set(CAIRN_ECORRUPT, "tree node has level %u, expected %u", data[0], want_level);
	if (count != want_count || len != CAIRN_NODE_HEADER_LEN + (size_t)count * CAIRN_ID_LEN)
		return cairn_error_set(CAIRN_ECORRUPT, "tree node has %u children, expected %u", count, want_count);
	*ret_ids = data + CAIRN_NODE_HEADER_LEN;
	return 0;
}

/* The sealed bytes of blob id, as stored. */
static int blob_fetch(struct cairn_repo *repo, struct cairn_index *idx, const uint8_t id[CAIRN_ID_LEN],
		      struct cairn_blob_ref *ref, struct cairn_buf *sealed)
{
	char hex[2 * CAIRN_ID_LEN + 1], key[80];
	if (cairn_index_lookup(idx, id, ref) < 0) {
		cairn_hex_encode(id, CAIRN_ID_LEN, hex);
		return cairn_error_set(CAIRN_ENOTFOUND, "blob %.16s is missing from the repository index", hex);
	}
	cairn_pack_key(cairn_index_pack_id(idx, ref->pack), key);
	int r = cairn_store_get(repo->store, key, ref->offset, ref->stored_len, sealed);
	if (r == CAIRN_ENOTFOUND)
		return cairn_error_set(CAIRN_ENOTFOUND, "pack %s is missing", key);
	if (r == CAIRN_EINVAL || (r >= 0 && sealed->len != ref->stored_len))
		return cairn_error_set(CAIRN_ECORRUPT, "pack %s is truncated", key);
	return r < 0 ? r : 0;
}

/* Opens (authenticates, decompresses) a fetched blob into out. */
static int blob_open(struct cairn_index *idx, struct cairn_blob_codec *codec, const struct cairn_blob_ref *ref,
		     const struct cairn_buf *sealed, struct cairn_buf *out)
{
	cairn_buf_clear(out);
	int r = cairn_buf_reserve(out, ref->raw_len ? ref->raw_len : 1);
	if (r < 0)
		return r;
	if ((r = cairn_blob_decode(codec, ref, sealed->data, out->data)) < 0) {
		char key[80];
		cairn_pack_key(cairn_index_pack_id(idx, ref->pack), key);
		return cairn_error_prefix(r, "in %s", key);
	}
	out->len = ref->raw_len;
	return 0;
}

int cairn_blob_read(struct cairn_repo *repo, struct cairn_index *idx, struct cairn_blob_codec *codec,
		    const uint8_t id[CAIRN_ID_LEN], struct cairn_buf *out)
{
	struct cairn_blob_ref ref;
	_cleanup_(cairn_buf_freep) struct cairn_buf sealed = CAIRN_BUF_INIT;
	int r = blob_fetch(repo, idx, id, &ref, &sealed);
	return r < 0 ? r : blob_open(idx, codec, &ref, &sealed, out);
}

/* Number of entries at a level: level 0 = chunks. */
static uint64_t level_width(uint64_t nchunks, uint32_t fanout, unsigned level)
{
	uint64_t w = nchunks;
	for (unsigned l = 0; l < level; l++)
		w = (w + fanout - 1) / fanout;
	return w;
}

static uint64_t span(uint32_t fanout, unsigned level)
{
	uint64_t s = 1;
	for (unsigned l = 0; l < level; l++)
		s *= fanout;
	return s;
}

uint32_t cairn_tree_node_count(uint64_t nchunks, uint32_t fanout, unsigned level, uint64_t k)
{
	uint64_t below = level_width(nchunks, fanout, level - 1);
	uint64_t first = k * fanout;
	return first >= below ? 0 : (uint32_t)MIN((uint64_t)fanout, below - first);
}

/* The child count node k of a level must have. */
static int node_want(struct cairn_tree_src *src, unsigned level, uint64_t k, uint64_t nchunks, uint32_t *want)
{
	uint64_t below = level_width(nchunks, src->fanout, level - 1);
	uint64_t first = k * src->fanout;
	if (first >= below)
		return cairn_error_set(CAIRN_ECORRUPT, "tree is deeper than the volume needs");
	*want = (uint32_t)MIN((uint64_t)src->fanout, below - first);
	return 0;
}

/* Loads node k of a level into buf; ret_ids points into buf. */
static int load_node(struct cairn_tree_src *src, const uint8_t id[CAIRN_ID_LEN], unsigned level, uint64_t k,
		     uint64_t nchunks, struct cairn_buf *buf, const uint8_t **ret_ids, uint32_t *ret_count)
{
	uint32_t want = 0;
	int r = node_want(src, level, k, nchunks, &want);
	if (r < 0 || (r = cairn_blob_read(src->repo, src->idx, src->codec, id, buf)) < 0)
		return r;
	if ((r = cairn_tree_node_parse(buf->data, buf->len, level, want, ret_ids)) < 0)
		return r;
	*ret_count = want;
	return 0;
}

struct walk {
	struct cairn_tree_src *src;
	uint64_t nchunks;
	cairn_tree_leaf_fn fn;
	void *ud;
	struct cairn_buf bufs[CAIRN_TREE_MAX_LEVELS + 1];
	/* the sealed leaves under one level-2 node, fetched together */
	const uint8_t *leaf_ids;
	struct cairn_buf *leaf_sealed;
	struct cairn_blob_ref *leaf_refs;
	uint32_t leaf_cap;
};

/* Zero ids (holes) are not fetched. */
static int fetch_leaf(void *ud, unsigned i)
{
	struct walk *w = ud;
	const uint8_t *id = w->leaf_ids + (size_t)i * CAIRN_ID_LEN;
	if (cairn_id_is_zero(id))
		return 0;
	return blob_fetch(w->src->repo, w->src->idx, id, &w->leaf_refs[i], &w->leaf_sealed[i]);
}

static int walk_node(struct walk *w, const uint8_t id[CAIRN_ID_LEN], unsigned level, uint64_t k);

/* The leaves under a level-2 node, in order.  A restore walks the tree
 * before and between its rounds, and on a network store each node is a
 * round trip: one by one, the 256 leaves under a node cost 256 GETs in a
 * row (0.5-0.8 s of a 4 GiB restore on RGW).  So they are fetched on the
 * store's parallelism first, then opened and handed on in order. */
static int walk_leaves(struct walk *w, const uint8_t *ids, uint32_t count, uint64_t k)
{
	/* count <= fanout = leaf_cap: load_node checked it against node_want. */
	w->leaf_ids = ids;
	int r = cairn_parallel(count, cairn_store_parallelism(w->src->repo->store), fetch_leaf, w);
	for (uint32_t i = 0; r >= 0 && i < count; i++) {
		const uint8_t *id = ids + (size_t)i * CAIRN_ID_LEN;
		uint64_t kk = k * w->src->fanout + i;
		if (cairn_id_is_zero(id)) {
			r = walk_node(w, id, 1, kk); /* a hole: no fetch */
			continue;
		}
		const uint8_t *leaf;
		uint32_t want = 0;
		if ((r = node_want(w->src, 1, kk, w->nchunks, &want)) < 0 ||
		    (r = blob_open(w->src->idx, w->src->codec, &w->leaf_refs[i], &w->leaf_sealed[i], &w->bufs[1])) < 0 ||
		    (r = cairn_tree_node_parse(w->bufs[1].data, w->bufs[1].len, 1, want, &leaf)) < 0)
			break;
		r = w->fn(kk * w->src->fanout, want, leaf, w->ud);
	}
	return r;
}

static int walk_node(struct walk *w, const uint8_t id[CAIRN_ID_LEN], unsigned level, uint64_t k)
{
	uint64_t first = k * span(w->src->fanout, level);
	if (cairn_id_is_zero(id)) {
		uint64_t end = MIN(w->nchunks, first + span(w->src->fanout, level));
		return end > first ? w->fn(first, end - first, NULL, w->ud) : 0;
	}
	const uint8_t *ids;
	uint32_t count;
	int r = load_node(w->src, id, level, k, w->nchunks, &w->bufs[level], &ids, &count);
	if (r < 0)
		return r;
	if (level == 1)
		return w->fn(first, count, ids, w->ud);
	if (level == 2)
		return walk_leaves(w, ids, count, k);
	for (uint32_t i = 0; i < count; i++) {
		/* The buffer of this level stays valid: children use lower levels. */
		if ((r = walk_node(w, ids + (size_t)i * CAIRN_ID_LEN, level - 1, k * w->src->fanout + i)) < 0)
			return r;
	}
	return 0;
}

int cairn_tree_walk(struct cairn_tree_src *src, const uint8_t root[CAIRN_ID_LEN], unsigned levels,
		    uint64_t nchunks, cairn_tree_leaf_fn fn, void *ud)
{
	if (levels != cairn_tree_levels(nchunks, src->fanout))
		return cairn_error_set(CAIRN_ECORRUPT, "tree has %u levels, the volume needs %u", levels,
				       cairn_tree_levels(nchunks, src->fanout));
	if (nchunks == 0)
		return 0;
	struct walk w = { .src = src, .nchunks = nchunks, .fn = fn, .ud = ud };
	int r = 0;
	if (levels >= 2) {
		w.leaf_sealed = calloc(src->fanout, sizeof(*w.leaf_sealed));
		w.leaf_refs = calloc(src->fanout, sizeof(*w.leaf_refs));
		w.leaf_cap = src->fanout;
		if (!w.leaf_sealed || !w.leaf_refs)
			r = cairn_error_nomem();
	}
	if (r >= 0)
		r = walk_node(&w, root, levels, 0);
	for (unsigned l = 0; l <= CAIRN_TREE_MAX_LEVELS; l++)
		cairn_buf_free(&w.bufs[l]);
	for (uint32_t i = 0; w.leaf_sealed && i < w.leaf_cap; i++)
		cairn_buf_free(&w.leaf_sealed[i]);
	free(w.leaf_sealed);
	free(w.leaf_refs);
	return r;
}

/* ---- diff ---- */

/* One side of a diff at a virtual level: a real node (or chunk) that may sit
 * lower than the virtual level when its tree is shallower. */
struct side {
	const uint8_t *id;
	unsigned real;   /* level of the node id names */
	uint64_t k;      /* index of that node within its real level */
	uint64_t n;      /* chunks in this tree */
};

struct diff {
	struct cairn_tree_src *src;
	uint64_t total;
	cairn_tree_diff_fn fn;
	void *ud;
	struct cairn_buf bufs[2][CAIRN_TREE_MAX_LEVELS + 1];
	uint8_t *scratch[2][CAIRN_TREE_MAX_LEVELS + 1]; /* child id arrays */
};

/* Child ids of a side at virtual level v into out[fanout]; zero when absent. */
static int children(struct diff *d, int which, const struct side *s, unsigned v, uint8_t *out, uint64_t *kids_k)
{
	uint32_t f = d->src->fanout;
	memset(out, 0, (size_t)f * CAIRN_ID_LEN);
	if (cairn_id_is_zero(s->id))
		return 0;
	if (s->real < v) { /* shallower tree: it is child 0 of a virtual node */
		memcpy(out, s->id, CAIRN_ID_LEN);
		*kids_k = s->k;
		return 0;
	}
	const uint8_t *ids;
	uint32_t count;
	int r = load_node(d->src, s->id, s->real, s->k, s->n, &d->bufs[which][v], &ids, &count);
	if (r < 0)
		return r;
	memcpy(out, ids, (size_t)count * CAIRN_ID_LEN);
	*kids_k = s->k * f;
	return 0;
}

static int diff_level(struct diff *d, const struct side *a, const struct side *b, unsigned v, uint64_t first)
{
	if (first >= d->total)
		return 0;
	if (cairn_id_is_zero(a->id) && cairn_id_is_zero(b->id))
		return 0;
	if (a->real == b->real && memcmp(a->id, b->id, CAIRN_ID_LEN) == 0)
		return 0;
	if (v == 0)
		return d->fn(first, 1, d->ud);
	uint32_t f = d->src->fanout;
	uint64_t ka = 0, kb = 0;
	int r;
	if ((r = children(d, 0, a, v, d->scratch[0][v], &ka)) < 0 ||
	    (r = children(d, 1, b, v, d->scratch[1][v], &kb)) < 0)
		return r;
	uint64_t sp = span(f, v - 1);
	for (uint32_t i = 0; i < f; i++) {
		struct side ca = { d->scratch[0][v] + (size_t)i * CAIRN_ID_LEN,
				   a->real < v ? a->real : v - 1, a->real < v ? ka : ka + i, a->n };
		struct side cb = { d->scratch[1][v] + (size_t)i * CAIRN_ID_LEN,
				   b->real < v ? b->real : v - 1, b->real < v ? kb : kb + i, b->n };
		/* A shallower side only has child 0. */
		if (a->real < v && i > 0)
			ca.id = zero_id;
		if (b->real < v && i > 0)
			cb.id = zero_id;
		if ((r = diff_level(d, &ca, &cb, v - 1, first + i * sp)) < 0)
			return r;
	}
	return 0;
}

int cairn_tree_diff(struct cairn_tree_src *src, const uint8_t root_a[CAIRN_ID_LEN], unsigned levels_a,
		    uint64_t n_a, const uint8_t root_b[CAIRN_ID_LEN], unsigned levels_b, uint64_t n_b,
		    cairn_tree_diff_fn fn, void *ud)
{
	if (levels_a != cairn_tree_levels(n_a, src->fanout) || levels_b != cairn_tree_levels(n_b, src->fanout))
		return cairn_error_set(CAIRN_ECORRUPT, "tree depth does not match the volume size");
	struct diff d = { .src = src, .total = MAX(n_a, n_b), .fn = fn, .ud = ud };
	unsigned v = MAX(levels_a, levels_b);
	int r = 0;
	for (unsigned l = 1; l <= v && r >= 0; l++)
		for (int w = 0; w < 2; w++)
			if (!(d.scratch[w][l] = malloc((size_t)src->fanout * CAIRN_ID_LEN)))
				r = cairn_error_nomem();
	struct side a = { root_a, levels_a, 0, n_a }, b = { root_b, levels_b, 0, n_b };
	if (r >= 0)
		r = diff_level(&d, &a, &b, v, 0);
	for (unsigned l = 0; l <= CAIRN_TREE_MAX_LEVELS; l++)
		for (int w = 0; w < 2; w++) {
			cairn_buf_free(&d.bufs[w][l]);
			free(d.scratch[w][l]);
		}
	return r;
}

static int take_data(uint64_t first, uint64_t count, const uint8_t *ids, void *ud)
{
	struct cairn_tree_data *t = ud;
	for (uint64_t i = 0; ids && i < count; i++) {
		const uint8_t *id = ids + i * CAIRN_ID_LEN;
		if (cairn_id_is_zero(id))
			continue;
		if (cairn_array_grow(&t->v, &t->cap, t->n, sizeof(*t->v), 256) < 0)
			return cairn_error_nomem();
		t->v[t->n].pos = first + i;
		memcpy(t->v[t->n++].id, id, CAIRN_ID_LEN);
	}
	return 0; /* a hole: nothing */
}

int cairn_tree_data_load(struct cairn_tree_src *src, const uint8_t root[CAIRN_ID_LEN], unsigned levels,
			 uint64_t nchunks, struct cairn_tree_data *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->nchunks = nchunks;
	int r = nchunks ? cairn_tree_walk(src, root, levels, nchunks, take_data, ret) : 0;
	if (r < 0)
		cairn_tree_data_free(ret);
	return r;
}

static int by_pos(const void *key, const void *elem)
{
	uint64_t c = *(const uint64_t *)key, p = ((const struct cairn_tree_chunk *)elem)->pos;
	return c < p ? -1 : c > p;
}

const uint8_t *cairn_tree_data_id(const struct cairn_tree_data *t, uint64_t c)
{
	const struct cairn_tree_chunk *x = t->n ? bsearch(&c, t->v, t->n, sizeof(*t->v), by_pos) : NULL;
	return x ? x->id : zero_id;
}

void cairn_tree_data_free(struct cairn_tree_data *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}
