/* repo/tree: the streaming builder, node parsing, walk and diff. */
#define TH_WANT_REPO
#include "helpers.h"

#include "repo/index.h"
#include "repo/pack.h"
#include "repo/tree.h"
#include "util/cleanup.h"

#define F CAIRN_TREE_FANOUT

static const uint8_t zero_id[CAIRN_ID_LEN];

/* ---- an in-memory node map: id -> node bytes ---- */

struct node {
	uint8_t id[CAIRN_ID_LEN];
	uint8_t *data;
	size_t len;
};

struct nodemap {
	struct node *v;
	size_t n, cap;
	uint32_t *slots; /* index + 1 */
	size_t nslots;
};

static uint64_t h64(const uint8_t *id)
{
	uint64_t h;
	memcpy(&h, id, sizeof(h));
	return h;
}

static void map_rehash(struct nodemap *m, size_t ns)
{
	free(m->slots);
	m->slots = calloc(ns, sizeof(*m->slots));
	assert_non_null(m->slots);
	m->nslots = ns;
	for (size_t i = 0; i < m->n; i++) {
		size_t j = h64(m->v[i].id) & (ns - 1);
		while (m->slots[j])
			j = (j + 1) & (ns - 1);
		m->slots[j] = (uint32_t)(i + 1);
	}
}

static struct node *map_find(struct nodemap *m, const uint8_t *id)
{
	if (!m->nslots)
		return NULL;
	size_t j = h64(id) & (m->nslots - 1);
	while (m->slots[j]) {
		struct node *e = &m->v[m->slots[j] - 1];
		if (!memcmp(e->id, id, CAIRN_ID_LEN))
			return e;
		j = (j + 1) & (m->nslots - 1);
	}
	return NULL;
}

/* Returns 1 if added, 0 if present. */
static int map_add(struct nodemap *m, const uint8_t *id, const uint8_t *data, size_t len)
{
	struct node *e = map_find(m, id);
	if (e) {
		assert_int_equal(e->len, len);
		assert_memory_equal(e->data, data, len);
		return 0;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 256;
		m->v = realloc(m->v, m->cap * sizeof(*m->v));
		assert_non_null(m->v);
	}
	if (2 * (m->n + 1) > m->nslots)
		map_rehash(m, m->nslots ? 2 * m->nslots : 1024);
	e = &m->v[m->n];
	memcpy(e->id, id, CAIRN_ID_LEN);
	e->data = malloc(len);
	assert_non_null(e->data);
	memcpy(e->data, data, len);
	e->len = len;
	size_t j = h64(id) & (m->nslots - 1);
	while (m->slots[j])
		j = (j + 1) & (m->nslots - 1);
	m->slots[j] = (uint32_t)(++m->n);
	return 1;
}

static void map_free(struct nodemap *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].data);
	free(m->v);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* ---- fixture: a hasher, the node map, and optionally a real repository
 * where emitted nodes are stored as tree blobs in packs ---- */

struct fx {
	struct cairn_hasher *hasher; /* for the builder */
	struct cairn_hasher *check;  /* same key, to verify ids independently */
	struct nodemap map;
	size_t emitted, fresh; /* per build */
	int fail_emit_at;      /* 1-based emit call that fails; 0 = never */
	/* Repository mode. */
	char dir[PATH_MAX];
	struct cairn_repo *repo;
	struct cairn_index *idx;
	struct cairn_blob_codec codec;
	struct cairn_aead *aead;
	struct cairn_pack_writer w;
	struct cairn_blob_ref *refs;
	size_t nrefs, refcap;
};

static int setup_mem(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	uint8_t key[CAIRN_KEY_LEN];
	th_fill(key, sizeof(key), 11);
	ck_ok(cairn_hasher_new(key, &f->hasher));
	ck_ok(cairn_hasher_new(key, &f->check));
	*state = f;
	return 0;
}

static int setup_repo(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->repo = th_repo_init(f->dir, sizeof(f->dir), "tree", 4096);
	ck_ok(cairn_repo_hasher(f->repo, &f->hasher));
	ck_ok(cairn_repo_hasher(f->repo, &f->check));
	ck_ok(cairn_index_new(&f->idx));
	ck_ok(cairn_blob_codec_init(&f->codec, f->repo));
	ck_ok(cairn_repo_aead(f->repo, &f->aead));
	ck_ok(cairn_pack_writer_begin(&f->w));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	cairn_hasher_free(f->hasher);
	cairn_hasher_free(f->check);
	map_free(&f->map);
	if (f->repo) {
		cairn_pack_writer_free(&f->w);
		cairn_aead_free(f->aead);
		cairn_blob_codec_free(&f->codec);
		cairn_index_free(f->idx);
		cairn_repo_free(f->repo);
		th_rm_rf(f->dir);
	}
	free(f->refs);
	free(f);
	return 0;
}

static int emit(const uint8_t id[CAIRN_ID_LEN], const uint8_t *node, size_t len, void *ud)
{
	struct fx *f = ud;
	f->emitted++;
	if (f->fail_emit_at && (int)f->emitted == f->fail_emit_at)
		return cairn_error_set(CAIRN_EIO, "emit fails on purpose");
	/* The id is the keyed hash of the node, and the node parses as what
	 * its header says. */
	uint8_t want[CAIRN_ID_LEN];
	ck_ok(cairn_hasher_id(f->check, node, len, want));
	assert_memory_equal(id, want, CAIRN_ID_LEN);
	assert_true(len >= CAIRN_NODE_HEADER_LEN);
	uint32_t count = cairn_le32(node + 4);
	assert_true(count >= 1 && count <= F);
	const uint8_t *ids = NULL;
	ck_ok(cairn_tree_node_parse(node, len, node[0], count, &ids));
	assert_ptr_equal(ids, node + CAIRN_NODE_HEADER_LEN);
	/* Never an all-zero node. */
	int allzero = 1;
	for (uint32_t i = 0; i < count && allzero; i++)
		allzero = cairn_id_is_zero(ids + (size_t)i * CAIRN_ID_LEN);
	assert_false(allzero);
	if (!map_add(&f->map, id, node, len))
		return 0;
	f->fresh++;
	if (!f->repo)
		return 0;
	/* Store the new node as a tree blob in the current pack. */
	struct cairn_buf sealed = CAIRN_BUF_INIT;
	struct cairn_blob_ref ref;
	memset(&ref, 0, sizeof(ref));
	memcpy(ref.id, id, CAIRN_ID_LEN);
	ref.type = CAIRN_BLOB_TREE;
	ref.raw_len = (uint32_t)len;
	ck_ok(cairn_blob_encode(&f->codec, id, node, len, true, &sealed, &ref.flags, &ref.stored_len));
	ck_ok(cairn_pack_writer_add(&f->w, &ref, sealed.data));
	cairn_buf_free(&sealed);
	if (f->nrefs == f->refcap) {
		f->refcap = f->refcap ? 2 * f->refcap : 256;
		f->refs = realloc(f->refs, f->refcap * sizeof(*f->refs));
		assert_non_null(f->refs);
	}
	f->refs[f->nrefs++] = ref;
	return 0;
}

/* Writes the current pack and indexes its blobs. */
static void flush(struct fx *f)
{
	if (!f->repo || f->nrefs == 0)
		return;
	ck_ok(cairn_pack_writer_finish(&f->w, f->aead));
	char key[80];
	cairn_pack_key(f->w.id, key);
	ck_ok(cairn_store_put(f->repo->store, key, f->w.data.data, f->w.data.len, CAIRN_PUT_CREATE_ONLY));
	uint32_t slot;
	ck_ok(cairn_index_add_pack(f->idx, f->w.id, true, &slot));
	for (size_t i = 0; i < f->nrefs; i++) {
		f->refs[i].pack = slot;
		assert_int_equal(cairn_index_insert(f->idx, &f->refs[i]), 1);
	}
	f->nrefs = 0;
	ck_ok(cairn_pack_writer_begin(&f->w));
}

/* Builds the tree of ids[0..n); returns its levels. */
static unsigned build(struct fx *f, const uint8_t *ids, uint64_t n, uint8_t root[CAIRN_ID_LEN])
{
	struct cairn_tree_builder b;
	f->emitted = f->fresh = 0;
	ck_ok(cairn_tree_builder_init(&b, n, F, f->hasher, emit, f));
	assert_int_equal(b.levels, cairn_tree_levels(n, F));
	for (uint64_t i = 0; i < n; i++)
		ck_ok(cairn_tree_builder_push(&b, ids + i * CAIRN_ID_LEN));
	memset(root, 0xee, CAIRN_ID_LEN);
	ck_ok(cairn_tree_builder_finish(&b, root));
	assert_int_equal(b.nodes_emitted, f->emitted);
	unsigned levels = b.levels;
	cairn_tree_builder_free(&b);
	flush(f);
	return levels;
}

/* Chunk ids: pseudo-random per (i, version). */
static void chunk_id(uint8_t *out, uint64_t i, uint64_t version)
{
	th_fill(out, CAIRN_ID_LEN, i * 1000003 + version * 7919 + 1);
}

static uint8_t *make_ids(uint64_t n, uint64_t version)
{
	uint8_t *ids = malloc(n ? n * CAIRN_ID_LEN : 1);
	assert_non_null(ids);
	for (uint64_t i = 0; i < n; i++)
		chunk_id(ids + i * CAIRN_ID_LEN, i, version);
	return ids;
}

static uint64_t nodes_for(uint64_t n)
{
	uint64_t total = 0, w = n;
	unsigned levels = cairn_tree_levels(n, F);
	for (unsigned l = 1; l <= levels; l++) {
		w = (w + F - 1) / F;
		total += w;
	}
	return total;
}

/* ---- levels and node counts ---- */

static void test_levels(void **state)
{
	(void)state;
	assert_int_equal(cairn_tree_levels(0, F), 1);
	assert_int_equal(cairn_tree_levels(1, F), 1);
	assert_int_equal(cairn_tree_levels(256, F), 1);
	assert_int_equal(cairn_tree_levels(257, F), 2);
	assert_int_equal(cairn_tree_levels(65536, F), 2);
	assert_int_equal(cairn_tree_levels(65537, F), 3);
	assert_int_equal(cairn_tree_levels(16777216, F), 3);
	assert_int_equal(cairn_tree_levels(16777217, F), 4);
	assert_int_equal(cairn_tree_levels(UINT64_MAX, F), 8);
	assert_int_equal(cairn_tree_levels(5, 2), 3);
	assert_int_equal(cairn_tree_levels(8, 2), 3);
	assert_int_equal(cairn_tree_levels(9, 2), 4);
}

static void test_node_count(void **state)
{
	(void)state;
	assert_int_equal(cairn_tree_node_count(257, F, 1, 0), 256);
	assert_int_equal(cairn_tree_node_count(257, F, 1, 1), 1);
	assert_int_equal(cairn_tree_node_count(257, F, 1, 2), 0);
	assert_int_equal(cairn_tree_node_count(257, F, 2, 0), 2);
	assert_int_equal(cairn_tree_node_count(257, F, 2, 1), 0);
	assert_int_equal(cairn_tree_node_count(65537, F, 3, 0), 2);
	assert_int_equal(cairn_tree_node_count(65537, F, 2, 1), 1);
	assert_int_equal(cairn_tree_node_count(70000, F, 1, 273), 70000 - 273 * 256);
	assert_int_equal(cairn_tree_node_count(1, F, 1, 0), 1);
	assert_int_equal(cairn_tree_node_count(0, F, 1, 0), 0);
}

/* ---- the builder ---- */

static void check_build(struct fx *f, uint64_t n)
{
	uint8_t *ids = make_ids(n, 0);
	uint8_t root[CAIRN_ID_LEN];
	unsigned levels = build(f, ids, n, root);
	assert_int_equal(levels, cairn_tree_levels(n, F));
	if (n == 0) {
		assert_memory_equal(root, zero_id, CAIRN_ID_LEN);
		assert_int_equal(f->emitted, 0);
		free(ids);
		return;
	}
	assert_int_equal(f->emitted, nodes_for(n));
	/* The root is a node of the top level with the right child count. */
	struct node *r = map_find(&f->map, root);
	assert_non_null(r);
	const uint8_t *kids;
	ck_ok(cairn_tree_node_parse(r->data, r->len, levels, cairn_tree_node_count(n, F, levels, 0), &kids));
	/* Descending along child 0 leads to the first chunk id; along the
	 * last child to the last chunk id. */
	const uint8_t *first = kids, *last = kids + (size_t)(cairn_le32(r->data + 4) - 1) * CAIRN_ID_LEN;
	for (unsigned l = levels; l > 1; l--) {
		struct node *a = map_find(&f->map, first), *z = map_find(&f->map, last);
		assert_non_null(a);
		assert_non_null(z);
		assert_int_equal(a->data[0], l - 1);
		first = a->data + CAIRN_NODE_HEADER_LEN;
		last = z->data + CAIRN_NODE_HEADER_LEN + (size_t)(cairn_le32(z->data + 4) - 1) * CAIRN_ID_LEN;
	}
	assert_memory_equal(first, ids, CAIRN_ID_LEN);
	assert_memory_equal(last, ids + (n - 1) * CAIRN_ID_LEN, CAIRN_ID_LEN);
	free(ids);
}

static void test_build_sizes(void **state)
{
	struct fx *f = *state;
	static const uint64_t sizes[] = { 0, 1, 2, 255, 256, 257, 511, 512, 65535, 65536, 65537, 70000 };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		check_build(f, sizes[i]);
}

/* One chunk: the root is the id of the node [1,0,0,0, 1,0,0,0, id]. */
static void test_build_one(void **state)
{
	struct fx *f = *state;
	uint8_t id[CAIRN_ID_LEN], root[CAIRN_ID_LEN], node[CAIRN_NODE_HEADER_LEN + CAIRN_ID_LEN], want[CAIRN_ID_LEN];
	chunk_id(id, 0, 0);
	assert_int_equal(build(f, id, 1, root), 1);
	memset(node, 0, CAIRN_NODE_HEADER_LEN);
	node[0] = 1;
	node[4] = 1;
	memcpy(node + CAIRN_NODE_HEADER_LEN, id, CAIRN_ID_LEN);
	ck_ok(cairn_hasher_id(f->check, node, sizeof(node), want));
	assert_memory_equal(root, want, CAIRN_ID_LEN);
	assert_int_equal(f->emitted, 1);
}

static void test_build_zeros(void **state)
{
	struct fx *f = *state;
	static const uint64_t sizes[] = { 1, 256, 257, 65537, 70000 };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint64_t n = sizes[i];
		uint8_t *ids = calloc(n, CAIRN_ID_LEN);
		assert_non_null(ids);
		uint8_t root[CAIRN_ID_LEN];
		build(f, ids, n, root);
		assert_memory_equal(root, zero_id, CAIRN_ID_LEN);
		assert_int_equal(f->emitted, 0);
		free(ids);
	}
	/* Sparse: only chunk 300 of 70000 is data; one node per level. */
	uint8_t *ids = calloc(70000, CAIRN_ID_LEN);
	assert_non_null(ids);
	chunk_id(ids + 300 * CAIRN_ID_LEN, 300, 0);
	uint8_t root[CAIRN_ID_LEN];
	unsigned levels = build(f, ids, 70000, root);
	assert_int_equal(levels, 3);
	assert_int_equal(f->emitted, 3);
	assert_memory_not_equal(root, zero_id, CAIRN_ID_LEN);
	free(ids);
}

static void test_build_canonical(void **state)
{
	struct fx *f = *state;
	uint8_t *ids = make_ids(70000, 1);
	uint8_t r1[CAIRN_ID_LEN], r2[CAIRN_ID_LEN];
	build(f, ids, 70000, r1);
	assert_int_equal(f->fresh, nodes_for(70000));
	build(f, ids, 70000, r2);
	assert_memory_equal(r1, r2, CAIRN_ID_LEN);
	/* Same ids, same nodes: nothing new. */
	assert_int_equal(f->fresh, 0);
	assert_int_equal(f->emitted, nodes_for(70000));

	/* The shape depends on the chunk count: an extra zero chunk at the
	 * end is a different volume. */
	uint8_t *more = calloc(70001, CAIRN_ID_LEN);
	assert_non_null(more);
	memcpy(more, ids, (size_t)70000 * CAIRN_ID_LEN);
	build(f, more, 70001, r2);
	assert_memory_not_equal(r1, r2, CAIRN_ID_LEN);
	/* Only the last level-1 node and the path above it changed. */
	assert_int_equal(f->fresh, 3);
	free(more);
	free(ids);
}

static void check_one_change(struct fx *f, uint64_t n, uint64_t at)
{
	/* Start from an empty map: earlier cases share subtrees with this one. */
	map_free(&f->map);
	uint8_t *ids = make_ids(n, 2);
	uint8_t r1[CAIRN_ID_LEN], r2[CAIRN_ID_LEN];
	unsigned levels = build(f, ids, n, r1);
	chunk_id(ids + at * CAIRN_ID_LEN, at, 99);
	build(f, ids, n, r2);
	assert_memory_not_equal(r1, r2, CAIRN_ID_LEN);
	if (f->fresh != levels)
		fail_msg("n=%llu at=%llu: %zu new nodes, expected %u", (unsigned long long)n, (unsigned long long)at,
			 f->fresh, levels);
	/* Changing it back brings back the old root and no new node. */
	chunk_id(ids + at * CAIRN_ID_LEN, at, 2);
	build(f, ids, n, r2);
	assert_memory_equal(r1, r2, CAIRN_ID_LEN);
	assert_int_equal(f->fresh, 0);
	free(ids);
}

static void test_build_one_change(void **state)
{
	struct fx *f = *state;
	check_one_change(f, 1, 0);
	check_one_change(f, 256, 100);
	check_one_change(f, 257, 256);
	check_one_change(f, 65536, 0);
	check_one_change(f, 65536, 65535);
	check_one_change(f, 65537, 0);
	check_one_change(f, 65537, 255);
	check_one_change(f, 65537, 256);
	check_one_change(f, 65537, 40000);
	check_one_change(f, 65537, 65536);
	check_one_change(f, 70000, 69999);
}

/* A change that makes a whole level-1 node zero removes it: one new node
 * fewer. */
static void test_build_change_to_zero(void **state)
{
	struct fx *f = *state;
	uint8_t *ids = make_ids(70000, 3);
	memset(ids, 0, (size_t)255 * CAIRN_ID_LEN); /* chunks 0..254 zero */
	uint8_t r1[CAIRN_ID_LEN], r2[CAIRN_ID_LEN];
	build(f, ids, 70000, r1);
	memset(ids + 255 * CAIRN_ID_LEN, 0, CAIRN_ID_LEN);
	build(f, ids, 70000, r2);
	assert_memory_not_equal(r1, r2, CAIRN_ID_LEN);
	assert_int_equal(f->fresh, 2);
	free(ids);
}

static void test_builder_misuse(void **state)
{
	struct fx *f = *state;
	struct cairn_tree_builder b;
	uint8_t id[CAIRN_ID_LEN], root[CAIRN_ID_LEN];
	chunk_id(id, 0, 0);
	/* More pushes than chunks. */
	ck_ok(cairn_tree_builder_init(&b, 2, F, f->hasher, emit, f));
	ck_ok(cairn_tree_builder_push(&b, id));
	ck_ok(cairn_tree_builder_push(&b, id));
	ck_err(cairn_tree_builder_push(&b, id), CAIRN_EINVAL);
	ck_ok(cairn_tree_builder_finish(&b, root));
	cairn_tree_builder_free(&b);
	/* Finish before every chunk was pushed. */
	ck_ok(cairn_tree_builder_init(&b, 3, F, f->hasher, emit, f));
	ck_ok(cairn_tree_builder_push(&b, id));
	ck_err(cairn_tree_builder_finish(&b, root), CAIRN_EINVAL);
	cairn_tree_builder_free(&b);
	/* A tree deeper than CAIRN_TREE_MAX_LEVELS. */
	ck_err(cairn_tree_builder_init(&b, (uint64_t)1 << 20, 2, f->hasher, emit, f), CAIRN_EINVAL);
	cairn_tree_builder_free(&b);
}

static void test_builder_emit_error(void **state)
{
	struct fx *f = *state;
	uint8_t *ids = make_ids(300, 4);
	uint8_t root[CAIRN_ID_LEN];
	struct cairn_tree_builder b;
	/* The first node completes during the 256th push. */
	f->emitted = 0;
	f->fail_emit_at = 1;
	ck_ok(cairn_tree_builder_init(&b, 300, F, f->hasher, emit, f));
	int r = 0;
	uint64_t i;
	for (i = 0; i < 300 && r == 0; i++)
		r = cairn_tree_builder_push(&b, ids + i * CAIRN_ID_LEN);
	ck_err(r, CAIRN_EIO);
	assert_int_equal(i, 256);
	cairn_tree_builder_free(&b);
	/* The last node fails in finish. */
	f->emitted = 0;
	f->fail_emit_at = 3;
	ck_ok(cairn_tree_builder_init(&b, 300, F, f->hasher, emit, f));
	for (i = 0; i < 300; i++)
		ck_ok(cairn_tree_builder_push(&b, ids + i * CAIRN_ID_LEN));
	ck_err(cairn_tree_builder_finish(&b, root), CAIRN_EIO);
	cairn_tree_builder_free(&b);
	f->fail_emit_at = 0;
	free(ids);
}

/* ---- node parsing ---- */

static void test_node_parse(void **state)
{
	(void)state;
	enum { COUNT = 3 };
	uint8_t node[CAIRN_NODE_HEADER_LEN + COUNT * CAIRN_ID_LEN + 1];
	memset(node, 0, sizeof(node));
	node[0] = 2;
	cairn_put_le32(node + 4, COUNT);
	th_fill(node + CAIRN_NODE_HEADER_LEN, COUNT * CAIRN_ID_LEN, 5);
	size_t len = CAIRN_NODE_HEADER_LEN + COUNT * CAIRN_ID_LEN;
	const uint8_t *ids = NULL;
	ck_ok(cairn_tree_node_parse(node, len, 2, COUNT, &ids));
	assert_ptr_equal(ids, node + CAIRN_NODE_HEADER_LEN);

	ck_err(cairn_tree_node_parse(node, len, 1, COUNT, &ids), CAIRN_ECORRUPT);
	ck_err(cairn_tree_node_parse(node, len, 3, COUNT, &ids), CAIRN_ECORRUPT);
	ck_err(cairn_tree_node_parse(node, len, 2 + 256, COUNT, &ids), CAIRN_ECORRUPT);
	ck_err(cairn_tree_node_parse(node, len, 2, COUNT - 1, &ids), CAIRN_ECORRUPT);
	ck_err(cairn_tree_node_parse(node, len, 2, COUNT + 1, &ids), CAIRN_ECORRUPT);
	ck_err(cairn_tree_node_parse(node, len - 1, 2, COUNT, &ids), CAIRN_ECORRUPT);
	ck_err(cairn_tree_node_parse(node, len + 1, 2, COUNT, &ids), CAIRN_ECORRUPT);
	ck_err(cairn_tree_node_parse(node, len - CAIRN_ID_LEN, 2, COUNT, &ids), CAIRN_ECORRUPT);
	for (size_t l = 0; l < CAIRN_NODE_HEADER_LEN; l++)
		ck_err(cairn_tree_node_parse(node, l, 2, COUNT, &ids), CAIRN_ECORRUPT);
	/* Reserved bytes must be zero. */
	for (int i = 1; i < 4; i++) {
		node[i] = 1;
		ck_err(cairn_tree_node_parse(node, len, 2, COUNT, &ids), CAIRN_ECORRUPT);
		node[i] = 0;
	}
	/* The count field disagrees with the length. */
	cairn_put_le32(node + 4, COUNT + 1);
	ck_err(cairn_tree_node_parse(node, len, 2, COUNT + 1, &ids), CAIRN_ECORRUPT);
	/* A count so large that count * 32 wraps in 32 bits. */
	cairn_put_le32(node + 4, 0x08000000u);
	ck_err(cairn_tree_node_parse(node, CAIRN_NODE_HEADER_LEN, 2, 0x08000000u, &ids), CAIRN_ECORRUPT);
	cairn_put_le32(node + 4, 0);
	ck_ok(cairn_tree_node_parse(node, CAIRN_NODE_HEADER_LEN, 2, 0, &ids));
}

/* ---- walk (through a real repository) ---- */

struct collect {
	uint8_t *ids;
	uint64_t n, next;
	size_t runs, holes;
};

static int collect_leaf(uint64_t first, uint64_t count, const uint8_t *ids, void *ud)
{
	struct collect *c = ud;
	if (first != c->next)
		fail_msg("run starts at %llu, expected %llu", (unsigned long long)first, (unsigned long long)c->next);
	assert_true(count > 0);
	assert_true(first + count <= c->n);
	if (ids)
		memcpy(c->ids + first * CAIRN_ID_LEN, ids, count * CAIRN_ID_LEN);
	else {
		memset(c->ids + first * CAIRN_ID_LEN, 0, count * CAIRN_ID_LEN);
		c->holes++;
	}
	c->runs++;
	c->next = first + count;
	return 0;
}

static struct cairn_tree_src src_of(struct fx *f)
{
	return (struct cairn_tree_src){ .repo = f->repo, .idx = f->idx, .codec = &f->codec, .fanout = F };
}

static void check_walk(struct fx *f, const uint8_t *ids, uint64_t n)
{
	uint8_t root[CAIRN_ID_LEN];
	unsigned levels = build(f, ids, n, root);
	struct cairn_tree_src src = src_of(f);
	struct collect c = { .n = n };
	c.ids = malloc(n ? n * CAIRN_ID_LEN : 1);
	assert_non_null(c.ids);
	memset(c.ids, 0xaa, n * CAIRN_ID_LEN);
	ck_ok(cairn_tree_walk(&src, root, levels, n, collect_leaf, &c));
	assert_true(c.next == n);
	if (n)
		assert_memory_equal(c.ids, ids, n * CAIRN_ID_LEN);
	free(c.ids);
}

static void test_walk(void **state)
{
	struct fx *f = *state;
	static const uint64_t sizes[] = { 1, 255, 256, 257, 300, 65536, 65537, 70000 };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint8_t *ids = make_ids(sizes[i], 10 + i);
		check_walk(f, ids, sizes[i]);
		free(ids);
	}
	/* n = 0: nothing to visit. */
	struct cairn_tree_src src = src_of(f);
	struct collect c = { .n = 0 };
	ck_ok(cairn_tree_walk(&src, zero_id, 1, 0, collect_leaf, &c));
	assert_int_equal(c.runs, 0);
}

static void test_walk_sparse(void **state)
{
	struct fx *f = *state;
	uint64_t n = 70000;
	uint8_t *ids = make_ids(n, 20);
	/* Zero chunks inside nodes, whole zero level-1 nodes, a whole zero
	 * level-2 node (chunks 0..65535 would be too much: use 256..511 and
	 * a zero tail). */
	memset(ids + 5 * CAIRN_ID_LEN, 0, 10 * CAIRN_ID_LEN);
	memset(ids + 256 * CAIRN_ID_LEN, 0, 512 * CAIRN_ID_LEN);
	memset(ids + 65536 * CAIRN_ID_LEN, 0, (size_t)(n - 65536) * CAIRN_ID_LEN);
	check_walk(f, ids, n);

	/* All zeros: one hole covering the volume, no node read. */
	memset(ids, 0, n * CAIRN_ID_LEN);
	uint8_t root[CAIRN_ID_LEN];
	unsigned levels = build(f, ids, n, root);
	assert_memory_equal(root, zero_id, CAIRN_ID_LEN);
	struct cairn_tree_src src = src_of(f);
	struct collect c = { .n = n };
	c.ids = malloc(n * CAIRN_ID_LEN);
	assert_non_null(c.ids);
	ck_ok(cairn_tree_walk(&src, root, levels, n, collect_leaf, &c));
	assert_int_equal(c.runs, 1);
	assert_int_equal(c.holes, 1);
	assert_true(c.next == n);
	free(c.ids);
	free(ids);
}

static void test_walk_mismatch(void **state)
{
	struct fx *f = *state;
	uint8_t *ids = make_ids(300, 30);
	uint8_t root[CAIRN_ID_LEN];
	unsigned levels = build(f, ids, 300, root);
	struct cairn_tree_src src = src_of(f);
	struct collect c = { .n = 70000 };
	c.ids = malloc((size_t)70000 * CAIRN_ID_LEN);
	assert_non_null(c.ids);
	/* Wrong depth for the volume. */
	ck_err(cairn_tree_walk(&src, root, levels + 1, 300, collect_leaf, &c), CAIRN_ECORRUPT);
	c.next = 0;
	ck_err(cairn_tree_walk(&src, root, levels, 70000, collect_leaf, &c), CAIRN_ECORRUPT);
	/* Same depth, one chunk fewer: the last node has too many children. */
	c.next = 0;
	c.n = 299;
	ck_err(cairn_tree_walk(&src, root, levels, 299, collect_leaf, &c), CAIRN_ECORRUPT);
	/* A root the index does not know. */
	uint8_t unknown[CAIRN_ID_LEN];
	chunk_id(unknown, 1, 12345);
	c.next = 0;
	c.n = 300;
	ck_err(cairn_tree_walk(&src, unknown, levels, 300, collect_leaf, &c), CAIRN_ENOTFOUND);
	/* A chunk id used as a node id (level 1 node where a level 2 was
	 * expected): the node's level is checked. */
	struct node *r = map_find(&f->map, root);
	assert_non_null(r);
	const uint8_t *l1 = r->data + CAIRN_NODE_HEADER_LEN; /* a level-1 node id */
	c.next = 0;
	ck_err(cairn_tree_walk(&src, l1, levels, 300, collect_leaf, &c), CAIRN_ECORRUPT);
	free(c.ids);
	free(ids);
}

static int stop_leaf(uint64_t first, uint64_t count, const uint8_t *ids, void *ud)
{
	(void)first;
	(void)count;
	(void)ids;
	int *calls = ud;
	return ++*calls == 2 ? CAIRN_ECANCELED : 0;
}

static void test_walk_callback_stops(void **state)
{
	struct fx *f = *state;
	uint8_t *ids = make_ids(1000, 31);
	uint8_t root[CAIRN_ID_LEN];
	unsigned levels = build(f, ids, 1000, root);
	struct cairn_tree_src src = src_of(f);
	int calls = 0;
	ck_err(cairn_tree_walk(&src, root, levels, 1000, stop_leaf, &calls), CAIRN_ECANCELED);
	assert_int_equal(calls, 2);
	free(ids);
}

/* ---- diff ---- */

struct diffc {
	uint8_t *seen; /* per chunk */
	uint64_t total, next;
	size_t calls;
};

static int collect_diff(uint64_t first, uint64_t count, void *ud)
{
	struct diffc *d = ud;
	assert_true(count > 0);
	if (first + count > d->total)
		fail_msg("diff run %llu+%llu is past the end (%llu)", (unsigned long long)first,
			 (unsigned long long)count, (unsigned long long)d->total);
	/* Runs come in order and never overlap. */
	assert_true(first >= d->next);
	for (uint64_t i = first; i < first + count; i++)
		d->seen[i] = 1;
	d->next = first + count;
	d->calls++;
	return 0;
}

static uint64_t store_gets(struct fx *f)
{
	struct cairn_store_counts c;
	cairn_store_count_get(f->repo->store, &c);
	return c.get;
}

/* Diffs two trees both ways and compares with a chunk-by-chunk compare;
 * returns the number of node reads of the a->b diff. */
static uint64_t check_diff(struct fx *f, const uint8_t *a, uint64_t na, const uint8_t *b, uint64_t nb)
{
	uint8_t ra[CAIRN_ID_LEN], rb[CAIRN_ID_LEN];
	unsigned la = build(f, a, na, ra), lb = build(f, b, nb, rb);
	uint64_t total = MAX(na, nb);
	uint8_t *want = calloc(total ? total : 1, 1);
	assert_non_null(want);
	uint64_t nwant = 0;
	for (uint64_t i = 0; i < total; i++) {
		const uint8_t *x = i < na ? a + i * CAIRN_ID_LEN : zero_id;
		const uint8_t *y = i < nb ? b + i * CAIRN_ID_LEN : zero_id;
		want[i] = memcmp(x, y, CAIRN_ID_LEN) != 0;
		nwant += want[i];
	}
	struct cairn_tree_src src = src_of(f);
	uint64_t gets = 0;
	for (int dir = 0; dir < 2; dir++) {
		struct diffc d = { .total = total };
		d.seen = calloc(total ? total : 1, 1);
		assert_non_null(d.seen);
		uint64_t before = store_gets(f);
		if (dir == 0)
			ck_ok(cairn_tree_diff(&src, ra, la, na, rb, lb, nb, collect_diff, &d));
		else
			ck_ok(cairn_tree_diff(&src, rb, lb, nb, ra, la, na, collect_diff, &d));
		if (dir == 0)
			gets = store_gets(f) - before;
		for (uint64_t i = 0; i < total; i++)
			if (d.seen[i] != want[i])
				fail_msg("diff %s (%llu vs %llu chunks): chunk %llu reported %d, expected %d",
					 dir ? "b->a" : "a->b", (unsigned long long)na, (unsigned long long)nb,
					 (unsigned long long)i, d.seen[i], want[i]);
		if (nwant == 0)
			assert_int_equal(d.calls, 0);
		free(d.seen);
	}
	free(want);
	return gets;
}

/* Puts a counting wrapper around the repository's store to see how many
 * nodes a diff reads. */
static int setup_repo_counting(void **state)
{
	setup_repo(state);
	struct fx *f = *state;
	struct cairn_store *cnt = NULL;
	ck_ok(cairn_store_count_wrap(f->repo->store, &cnt));
	f->repo->store = cnt;
	return 0;
}

static void test_diff_same_size(void **state)
{
	struct fx *f = *state;
	uint64_t n = 65537;
	uint8_t *a = make_ids(n, 40), *b = malloc(n * CAIRN_ID_LEN);
	assert_non_null(b);

	/* Identical: no node is read at all. */
	memcpy(b, a, n * CAIRN_ID_LEN);
	assert_int_equal(check_diff(f, a, n, b, n), 0);

	/* One chunk: both sides read one node per level, nothing more. */
	chunk_id(b + 40000 * CAIRN_ID_LEN, 40000, 41);
	assert_int_equal(check_diff(f, a, n, b, n), 2 * 3);

	/* Runs across node boundaries, the first and the last chunk, a chunk
	 * turned to zero and a zero chunk turned to data. */
	memcpy(b, a, n * CAIRN_ID_LEN);
	for (uint64_t i = 250; i < 600; i++)
		chunk_id(b + i * CAIRN_ID_LEN, i, 42);
	chunk_id(b, 0, 42);
	chunk_id(b + (n - 1) * CAIRN_ID_LEN, n - 1, 42);
	memset(b + 1000 * CAIRN_ID_LEN, 0, CAIRN_ID_LEN);
	memset(a + 2000 * CAIRN_ID_LEN, 0, 300 * CAIRN_ID_LEN);
	check_diff(f, a, n, b, n);

	/* Everything differs. */
	free(b);
	b = make_ids(n, 43);
	check_diff(f, a, n, b, n);
	free(a);
	free(b);
}

static void test_diff_sizes(void **state)
{
	struct fx *f = *state;
	/* 300 chunks (2 levels) against 70000 (3 levels), the first 300 equal,
	 * with zero stretches in the larger one. */
	uint64_t na = 300, nb = 70000;
	uint8_t *b = make_ids(nb, 50);
	memset(b + 1000 * CAIRN_ID_LEN, 0, 1000 * CAIRN_ID_LEN);
	memset(b + 65536 * CAIRN_ID_LEN, 0, 100 * CAIRN_ID_LEN);
	uint8_t *a = malloc(na * CAIRN_ID_LEN);
	assert_non_null(a);
	memcpy(a, b, na * CAIRN_ID_LEN);
	check_diff(f, a, na, b, nb);
	/* And a change inside the common part. */
	chunk_id(a + 17 * CAIRN_ID_LEN, 17, 51);
	memset(a + 299 * CAIRN_ID_LEN, 0, CAIRN_ID_LEN);
	check_diff(f, a, na, b, nb);
	free(a);

	/* The larger tree's tail all zeros: only the changed chunks differ. */
	uint8_t *c = calloc(nb, CAIRN_ID_LEN);
	assert_non_null(c);
	a = make_ids(na, 52);
	memcpy(c, a, na * CAIRN_ID_LEN);
	check_diff(f, a, na, c, nb);
	chunk_id(c + 69999 * CAIRN_ID_LEN, 69999, 53);
	check_diff(f, a, na, c, nb);
	free(a);
	free(c);

	/* 256 (1 level) against 257 (2 levels) and 65536 against 65537. */
	a = make_ids(65537, 54);
	check_diff(f, a, 256, a, 257);
	check_diff(f, a, 65536, a, 65537);
	check_diff(f, a, 1, a, 65537);
	check_diff(f, a, 0, a, 300);
	free(a);
	free(b);
}

static void test_diff_zero_trees(void **state)
{
	struct fx *f = *state;
	uint64_t n = 70000;
	uint8_t *z = calloc(n, CAIRN_ID_LEN), *a = make_ids(n, 60);
	assert_non_null(z);
	assert_int_equal(check_diff(f, z, n, z, 300), 0);
	check_diff(f, z, n, a, n);
	check_diff(f, z, 300, a, n);
	free(z);
	free(a);
}

static void test_diff_mismatch(void **state)
{
	struct fx *f = *state;
	uint8_t *a = make_ids(300, 70);
	uint8_t root[CAIRN_ID_LEN];
	unsigned levels = build(f, a, 300, root);
	struct cairn_tree_src src = src_of(f);
	struct diffc d = { .total = 300 };
	d.seen = calloc(300, 1);
	assert_non_null(d.seen);
	ck_err(cairn_tree_diff(&src, root, levels + 1, 300, root, levels, 300, collect_diff, &d), CAIRN_ECORRUPT);
	ck_err(cairn_tree_diff(&src, root, levels, 300, root, levels, 70000, collect_diff, &d), CAIRN_ECORRUPT);
	free(d.seen);
	free(a);
}

/* ---- holes pushed as runs (cairn_tree_builder_push_zeros) ---- */

/* Builds the tree of ids[0..n) with the given fanout, pushing every run of
 * zero ids at least min_run long with one push_zeros call (the backup's
 * hole batches) and the rest one by one; returns the nodes emitted. */
static size_t build_runs(struct fx *f, uint32_t fanout, const uint8_t *ids, uint64_t n, uint64_t min_run,
			 uint8_t root[CAIRN_ID_LEN])
{
	struct cairn_tree_builder b;
	f->emitted = f->fresh = 0;
	ck_ok(cairn_tree_builder_init(&b, n, fanout, f->hasher, emit, f));
	for (uint64_t i = 0; i < n;) {
		uint64_t e = i;
		while (e < n && cairn_id_is_zero(ids + e * CAIRN_ID_LEN))
			e++;
		if (e - i >= min_run && e > i) {
			ck_ok(cairn_tree_builder_push_zeros(&b, e - i));
			i = e;
			continue;
		}
		ck_ok(cairn_tree_builder_push(&b, ids + i * CAIRN_ID_LEN));
		i++;
	}
	ck_ok(cairn_tree_builder_push_zeros(&b, 0)); /* nothing, harmlessly */
	memset(root, 0xee, CAIRN_ID_LEN);
	ck_ok(cairn_tree_builder_finish(&b, root));
	assert_int_equal(b.nodes_emitted, f->emitted);
	cairn_tree_builder_free(&b);
	return f->emitted;
}

/* Runs and chunk-by-chunk pushes make the same tree, node for node. */
static void check_runs(struct fx *f, uint32_t fanout, const uint8_t *ids, uint64_t n)
{
	uint8_t a[CAIRN_ID_LEN], b[CAIRN_ID_LEN];
	size_t ea = build_runs(f, fanout, ids, n, UINT64_MAX, a); /* one by one */
	size_t eb = build_runs(f, fanout, ids, n, 1, b);
	assert_memory_equal(a, b, CAIRN_ID_LEN);
	assert_int_equal(ea, eb);
	assert_int_equal(f->fresh, 0); /* every node of b was one of a's */
}

static void test_push_zeros_same_tree(void **state)
{
	struct fx *f = *state;
	static const uint32_t fanouts[] = { 2, 3, 4, 256 };
	static const uint64_t sizes[] = { 1, 2, 3, 5, 16, 17, 255, 256, 257, 1000, 4097, 70000 };
	for (size_t fi = 0; fi < ARRAY_SIZE(fanouts); fi++)
		for (size_t si = 0; si < ARRAY_SIZE(sizes); si++) {
			uint32_t fo = fanouts[fi];
			uint64_t n = sizes[si];
			if (cairn_tree_levels(n, fo) > CAIRN_TREE_MAX_LEVELS)
				continue;
			uint8_t *ids = make_ids(n, 30 + si);
			/* A hole at the start, one in the middle, one at the end. */
			uint64_t third = n / 3 ? n / 3 : 1;
			memset(ids, 0, MIN(third, n) * CAIRN_ID_LEN);
			if (n > 4)
				memset(ids + (n / 2) * CAIRN_ID_LEN, 0, (n / 4) * CAIRN_ID_LEN);
			if (n > 2)
				memset(ids + (n - n / 5) * CAIRN_ID_LEN, 0, (n / 5) * CAIRN_ID_LEN);
			check_runs(f, fo, ids, n);
			/* All hole. */
			memset(ids, 0, n * CAIRN_ID_LEN);
			uint8_t root[CAIRN_ID_LEN];
			assert_int_equal(build_runs(f, fo, ids, n, 1, root), 0);
			assert_memory_equal(root, zero_id, CAIRN_ID_LEN);
			free(ids);
		}
	/* Random holes and data, fanout 4 (many levels for few chunks). */
	uint64_t n = 20000;
	uint8_t *ids = make_ids(n, 99);
	uint64_t x = 12345;
	for (uint64_t i = 0; i < n;) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t len = (x >> 33) % 700;
		if ((x >> 20) & 1)
			memset(ids + i * CAIRN_ID_LEN, 0, MIN(len, n - i) * CAIRN_ID_LEN);
		i += len + 1;
	}
	check_runs(f, 4, ids, n);
	check_runs(f, 256, ids, n);
	free(ids);
}

struct runs16 {
	uint64_t next, data, holes;
	const uint8_t (*want)[CAIRN_ID_LEN];
};

/* Walk callback for test_push_zeros_16t: runs in order, data chunks where
 * they were pushed (want[0..2]), every other chunk in a leaf zero. */
static int on_run(uint64_t first, uint64_t count, const uint8_t *ids, void *ud)
{
	struct runs16 *r = ud;
	assert_true(first == r->next);
	r->next = first + count;
	if (!ids) {
		r->holes++;
		return 0;
	}
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *id = ids + i * CAIRN_ID_LEN;
		if (cairn_id_is_zero(id))
			continue;
		assert_true(r->data < 3);
		assert_memory_equal(id, r->want[r->data], CAIRN_ID_LEN);
		r->data++;
	}
	return 0;
}

/* A 16 TiB volume of 64 KiB chunks (2^28) holding three chunks: built by
 * runs in O(levels x fanout) per run, walked back as holes and data. */
static void test_push_zeros_16t(void **state)
{
	struct fx *f = *state;
	uint64_t n = (uint64_t)1 << 28;
	static const uint64_t at[] = { 0, ((uint64_t)1 << 27) + 12345, ((uint64_t)1 << 28) - 1 };
	uint8_t data[3][CAIRN_ID_LEN];
	struct cairn_tree_builder b;
	f->emitted = 0;
	ck_ok(cairn_tree_builder_init(&b, n, F, f->hasher, emit, f));
	uint64_t pos = 0;
	for (size_t i = 0; i < ARRAY_SIZE(at); i++) {
		ck_ok(cairn_tree_builder_push_zeros(&b, at[i] - pos));
		chunk_id(data[i], at[i], 5);
		ck_ok(cairn_tree_builder_push(&b, data[i]));
		pos = at[i] + 1;
	}
	ck_err(cairn_tree_builder_push_zeros(&b, 1), CAIRN_EINVAL); /* past the end */
	uint8_t root[CAIRN_ID_LEN];
	ck_ok(cairn_tree_builder_finish(&b, root));
	unsigned levels = b.levels;
	cairn_tree_builder_free(&b);
	flush(f);
	assert_int_equal(levels, 4);
	/* A node per level along each of the three paths, the root shared. */
	assert_int_equal(f->emitted, 3 * 3 + 1);

	/* Walked back: the three chunks where they were pushed (collecting
	 * every id would take 8 GiB). */
	struct cairn_tree_src src = src_of(f);
	struct runs16 r16 = { 0, 0, 0, (const uint8_t(*)[CAIRN_ID_LEN])data };
	ck_ok(cairn_tree_walk(&src, root, levels, n, on_run, &r16));
	assert_true(r16.next == n);
	assert_int_equal(r16.data, 3);
	/* Holes come as whole zero subtrees: a few runs, not 2^28 chunks. */
	assert_true(r16.holes < 4 * 256 * 4);
}

/* ---- subtrees pushed whole (cairn_tree_builder_push_node) ---- */

/* The root of a tree of ids[0..n) alone: for a full subtree of a level,
 * or the last one of a tree, the id of its node in any tree. */
static void subtree_root(struct fx *f, const uint8_t *ids, uint64_t n, uint8_t root[CAIRN_ID_LEN])
{
	build(f, ids, n, root);
}

/* A tree rebuilt from whole subtrees of an earlier one (a copy's parent)
 * and a changed stretch pushed chunk by chunk is the tree built chunk by
 * chunk, node for node. */
static void test_push_node(void **state)
{
	struct fx *f = *state;
	uint64_t n = 70000; /* levels 3: level-2 nodes of 65536 chunks, the last 4464 */
	uint8_t *ids = make_ids(n, 40);
	uint8_t *changed = make_ids(10, 41);
	memcpy(ids + 300 * CAIRN_ID_LEN, changed, 10 * CAIRN_ID_LEN);
	memset(ids + 1000 * CAIRN_ID_LEN, 0, 3000 * CAIRN_ID_LEN); /* a hole too */
	uint8_t want[CAIRN_ID_LEN], got[CAIRN_ID_LEN];
	assert_int_equal(build(f, ids, n, want), 3);

	/* The earlier tree's level-1 nodes 0 and 2..255, its last level-2 node. */
	static uint8_t subs[257][CAIRN_ID_LEN];
	for (uint64_t k = 0; k < 256; k++)
		if (k != 1)
			subtree_root(f, ids + k * 256 * CAIRN_ID_LEN, 256, subs[k]);
	subtree_root(f, ids + 65536 * CAIRN_ID_LEN, n - 65536, subs[256]);

	struct cairn_tree_builder b;
	f->fresh = 0;
	ck_ok(cairn_tree_builder_init(&b, n, F, f->hasher, emit, f));
	ck_ok(cairn_tree_builder_push_node(&b, 1, subs[0], 256));
	/* Not where a node starts, and not a level below the root. */
	ck_err(cairn_tree_builder_push_node(&b, 2, subs[256], 65536), CAIRN_EINVAL);
	ck_err(cairn_tree_builder_push_node(&b, 3, subs[2], 256), CAIRN_EINVAL);
	for (uint64_t i = 256; i < 512; i++)
		ck_ok(cairn_tree_builder_push(&b, ids + i * CAIRN_ID_LEN));
	ck_err(cairn_tree_builder_push_node(&b, 1, subs[2], 100), CAIRN_EINVAL); /* partial, not the last */
	for (uint64_t k = 2; k < 256; k++) {
		if (cairn_id_is_zero(subs[k]))
			ck_ok(cairn_tree_builder_push_zeros(&b, 256));
		else
			ck_ok(cairn_tree_builder_push_node(&b, 1, subs[k], 256));
	}
	ck_ok(cairn_tree_builder_push_node(&b, 2, subs[256], n - 65536)); /* the last, partial */
	ck_ok(cairn_tree_builder_finish(&b, got));
	cairn_tree_builder_free(&b);
	assert_memory_equal(got, want, CAIRN_ID_LEN);
	assert_int_equal(f->fresh, 0); /* its nodes were the chunk-by-chunk tree's */
	free(changed);
	free(ids);
}

/* ---- data chunks only (cairn_tree_data) ---- */

static void test_tree_data(void **state)
{
	struct fx *f = *state;
	uint64_t n = 70000, ndata = 0;
	uint8_t *ids = make_ids(n, 50);
	memset(ids + 5 * CAIRN_ID_LEN, 0, 10 * CAIRN_ID_LEN);
	memset(ids + 256 * CAIRN_ID_LEN, 0, 512 * CAIRN_ID_LEN);
	memset(ids + 65536 * CAIRN_ID_LEN, 0, (size_t)(n - 65536 - 1) * CAIRN_ID_LEN); /* all but the last */
	for (uint64_t c = 0; c < n; c++)
		ndata += !cairn_id_is_zero(ids + c * CAIRN_ID_LEN);
	uint8_t root[CAIRN_ID_LEN];
	unsigned levels = build(f, ids, n, root);
	struct cairn_tree_src src = src_of(f);
	struct cairn_tree_data t;
	ck_ok(cairn_tree_data_load(&src, root, levels, n, &t));
	assert_true(t.n == ndata); /* holes take no room */
	for (uint64_t c = 0; c < n; c++)
		assert_memory_equal(cairn_tree_data_id(&t, c), ids + c * CAIRN_ID_LEN, CAIRN_ID_LEN);
	cairn_tree_data_free(&t);
	/* An empty volume and an all-hole one: nothing, every id zero. */
	ck_ok(cairn_tree_data_load(&src, zero_id, 1, 0, &t));
	assert_true(t.n == 0);
	cairn_tree_data_free(&t);
	ck_ok(cairn_tree_data_load(&src, zero_id, 3, n, &t));
	assert_true(t.n == 0);
	assert_memory_equal(cairn_tree_data_id(&t, 12345), zero_id, CAIRN_ID_LEN);
	cairn_tree_data_free(&t);
	/* A wrong level count is refused, nothing held. */
	ck_err(cairn_tree_data_load(&src, root, levels + 1, n, &t), CAIRN_ECORRUPT);
	assert_null(t.v);
	free(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_node_count),
		cmocka_unit_test_setup_teardown(test_build_sizes, setup_mem, teardown),
		cmocka_unit_test_setup_teardown(test_build_one, setup_mem, teardown),
		cmocka_unit_test_setup_teardown(test_build_zeros, setup_mem, teardown),
		cmocka_unit_test_setup_teardown(test_build_canonical, setup_mem, teardown),
		cmocka_unit_test_setup_teardown(test_build_one_change, setup_mem, teardown),
		cmocka_unit_test_setup_teardown(test_build_change_to_zero, setup_mem, teardown),
		cmocka_unit_test_setup_teardown(test_builder_misuse, setup_mem, teardown),
		cmocka_unit_test_setup_teardown(test_builder_emit_error, setup_mem, teardown),
		cmocka_unit_test(test_node_parse),
		cmocka_unit_test_setup_teardown(test_push_node, setup_mem, teardown),
		cmocka_unit_test_setup_teardown(test_tree_data, setup_repo, teardown),
		cmocka_unit_test_setup_teardown(test_walk, setup_repo, teardown),
		cmocka_unit_test_setup_teardown(test_walk_sparse, setup_repo, teardown),
		cmocka_unit_test_setup_teardown(test_walk_mismatch, setup_repo, teardown),
		cmocka_unit_test_setup_teardown(test_walk_callback_stops, setup_repo, teardown),
		cmocka_unit_test_setup_teardown(test_diff_same_size, setup_repo_counting, teardown),
		cmocka_unit_test_setup_teardown(test_diff_sizes, setup_repo_counting, teardown),
		cmocka_unit_test_setup_teardown(test_diff_zero_trees, setup_repo_counting, teardown),
		cmocka_unit_test_setup_teardown(test_diff_mismatch, setup_repo_counting, teardown),
		cmocka_unit_test_setup_teardown(test_push_zeros_same_tree, setup_mem, teardown),
		cmocka_unit_test_setup_teardown(test_push_zeros_16t, setup_repo, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
