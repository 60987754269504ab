/* repo/index: the in-memory index, index objects, and orphan adoption. */
#define TH_WANT_REPO
#include "helpers.h"

#include "repo/index.h"
#include "repo/record.h"
#include "repo/pack.h"
#include "util/cleanup.h"
#include "util/hex.h"

#include <pthread.h>

static void rand_id(uint8_t *id, uint64_t seed)
{
	th_fill(id, CAIRN_ID_LEN, seed);
}

static void assert_ref_equal(const struct cairn_blob_ref *a, const struct cairn_blob_ref *b)
{
	assert_memory_equal(a->id, b->id, CAIRN_ID_LEN);
	assert_int_equal(a->pack, b->pack);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->stored_len, b->stored_len);
	assert_int_equal(a->raw_len, b->raw_len);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->flags, b->flags);
}

/* ---- in memory ---- */

static int count_fn(const struct cairn_blob_ref *ref, void *ud)
{
	(void)ref;
	size_t *n = ud;
	(*n)++;
	return 0;
}

static int stop_fn(const struct cairn_blob_ref *ref, void *ud)
{
	(void)ref;
	size_t *n = ud;
	return ++*n == 10 ? 42 : 0;
}

static void test_insert_lookup_many(void **state)
{
	(void)state;
	enum { N = 100000 };
	struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	assert_int_equal(cairn_index_count(idx), 0);
	struct cairn_blob_ref got;
	uint8_t id[CAIRN_ID_LEN];
	rand_id(id, 1);
	ck_err(cairn_index_lookup(idx, id, &got), CAIRN_ENOTFOUND);

	for (uint64_t i = 0; i < N; i++) {
		struct cairn_blob_ref r = th_blob_ref(i, (uint32_t)(i % 7));
		assert_int_equal(cairn_index_insert(idx, &r), 1);
	}
	assert_int_equal(cairn_index_count(idx), N);
	for (uint64_t i = 0; i < N; i++) {
		struct cairn_blob_ref want = th_blob_ref(i, (uint32_t)(i % 7));
		ck_ok(cairn_index_lookup(idx, want.id, &got));
		assert_ref_equal(&got, &want);
	}
	/* Lookup without a result pointer is a membership test. */
	struct cairn_blob_ref r0 = th_blob_ref(0, 0);
	ck_ok(cairn_index_lookup(idx, r0.id, NULL));
	/* Unknown ids. */
	for (uint64_t i = 0; i < 1000; i++) {
		rand_id(id, 10000000 + i);
		ck_err(cairn_index_lookup(idx, id, &got), CAIRN_ENOTFOUND);
	}
	/* Duplicates return 0 and keep the first location. */
	for (uint64_t i = 0; i < N; i += 97) {
		struct cairn_blob_ref dup = th_blob_ref(i, 99);
		dup.offset = 12345;
		assert_int_equal(cairn_index_insert(idx, &dup), 0);
		struct cairn_blob_ref want = th_blob_ref(i, (uint32_t)(i % 7));
		ck_ok(cairn_index_lookup(idx, want.id, &got));
		assert_ref_equal(&got, &want);
	}
	assert_int_equal(cairn_index_count(idx), N);

	size_t seen = 0;
	ck_ok(cairn_index_foreach(idx, count_fn, &seen));
	assert_int_equal(seen, N);
	seen = 0;
	assert_int_equal(cairn_index_foreach(idx, stop_fn, &seen), 42);
	assert_int_equal(seen, 10);
	cairn_index_free(idx);
	cairn_index_free(NULL);
}

/* Backup workers look up while the writer inserts (read/write lock). */
struct worker {
	struct cairn_index *idx;
	uint64_t first, n;
	int insert;
	size_t found;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (uint64_t i = w->first; i < w->first + w->n; i++) {
		struct cairn_blob_ref r = th_blob_ref(i, 0), got;
		if (w->insert) {
			if (cairn_index_insert(w->idx, &r) != 1)
				return (void *)1;
		} else if (cairn_index_lookup(w->idx, r.id, &got) == 0) {
			if (got.offset != r.offset)
				return (void *)1;
			w->found++;
		}
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	(void)state;
	enum { T = 4, PER = 20000 };
	struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	/* The readers look for what the writers insert, while they insert. */
	pthread_t th[2 * T];
	struct worker w[2 * T];
	for (int i = 0; i < 2 * T; i++) {
		w[i] = (struct worker){ idx, (uint64_t)(i % T) * PER, PER, i < T, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 2 * T; i++) {
		void *ret = NULL;
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(cairn_index_count(idx), T * PER);
	for (uint64_t i = 0; i < T * PER; i++) {
		struct cairn_blob_ref want = th_blob_ref(i, 0), got;
		ck_ok(cairn_index_lookup(idx, want.id, &got));
		assert_ref_equal(&got, &want);
	}
	cairn_index_free(idx);
}

/* Ids that share their first 8 bytes (the hash) still resolve: probing. */
static void test_colliding_ids(void **state)
{
	(void)state;
	struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	for (uint64_t i = 0; i < 2000; i++) {
		struct cairn_blob_ref r = th_blob_ref(i, 0);
		memset(r.id, 0x5a, 8);
		assert_int_equal(cairn_index_insert(idx, &r), 1);
	}
	for (uint64_t i = 0; i < 2000; i++) {
		struct cairn_blob_ref want = th_blob_ref(i, 0), got;
		memset(want.id, 0x5a, 8);
		ck_ok(cairn_index_lookup(idx, want.id, &got));
		assert_ref_equal(&got, &want);
	}
	struct cairn_blob_ref other = th_blob_ref(99999, 0);
	memset(other.id, 0x5a, 8);
	ck_err(cairn_index_lookup(idx, other.id, NULL), CAIRN_ENOTFOUND);
	cairn_index_free(idx);
}

static void test_packs_table(void **state)
{
	(void)state;
	struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	assert_int_equal(cairn_index_npacks(idx), 0);
	assert_null(cairn_index_pack_id(idx, 0));
	uint8_t pid[CAIRN_PACK_ID_LEN];
	uint32_t slot = 99;
	rand_id(pid, 5);
	ck_err(cairn_index_find_pack(idx, pid, &slot), CAIRN_ENOTFOUND);

	enum { NP = 3000 };
	for (uint32_t i = 0; i < NP; i++) {
		rand_id(pid, 1000 + i);
		ck_ok(cairn_index_add_pack(idx, pid, i % 2, &slot));
		assert_int_equal(slot, i);
	}
	assert_int_equal(cairn_index_npacks(idx), NP);
	for (uint32_t i = 0; i < NP; i++) {
		rand_id(pid, 1000 + i);
		ck_ok(cairn_index_find_pack(idx, pid, &slot));
		assert_int_equal(slot, i);
		assert_memory_equal(cairn_index_pack_id(idx, i), pid, CAIRN_PACK_ID_LEN);
		/* Adding again gives the same slot. */
		ck_ok(cairn_index_add_pack(idx, pid, false, &slot));
		assert_int_equal(slot, i);
	}
	assert_int_equal(cairn_index_npacks(idx), NP);
	assert_null(cairn_index_pack_id(idx, NP));
	assert_null(cairn_index_pack_id(idx, UINT32_MAX));
	rand_id(pid, 1);
	ck_err(cairn_index_find_pack(idx, pid, &slot), CAIRN_ENOTFOUND);
	cairn_index_free(idx);
}

static void test_pack_key(void **state)
{
	(void)state;
	uint8_t pid[CAIRN_PACK_ID_LEN], back[CAIRN_PACK_ID_LEN];
	for (int i = 0; i < CAIRN_PACK_ID_LEN; i++)
		pid[i] = (uint8_t)(0xab + i);
	char key[80];
	cairn_pack_key(pid, key);
	assert_string_equal(key, "packs/ab/abacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9ca");
	ck_ok(cairn_pack_key_parse(key, back));
	assert_memory_equal(back, pid, CAIRN_PACK_ID_LEN);

	static const char *const bad[] = {
		"",
		"packs/",
		"packs/ab",
		"pack/ab/abacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9ca",
		"packs/ac/abacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9ca",
		"packs/ab/abacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9c",
		"packs/ab/abacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9ca0",
		"packs/ab/abacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cx",
		"packs/abxabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9ca",
		"packs/ab/.tmp.acadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9ca",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (cairn_pack_key_parse(bad[i], back) != CAIRN_EINVAL)
			fail_msg("'%s' parsed as a pack key", bad[i]);
}

/* ---- index objects: decode ---- */

static void body_start(struct cairn_buf *b, const char *magic, uint32_t version, uint32_t npacks, uint64_t seed)
{
	cairn_buf_clear(b);
	ck_ok(cairn_buf_append(b, magic, 4));
	ck_ok(cairn_buf_append_le32(b, version));
	ck_ok(cairn_buf_append_le32(b, npacks));
	for (uint32_t i = 0; i < npacks; i++) {
		uint8_t pid[CAIRN_PACK_ID_LEN];
		rand_id(pid, seed + i);
		ck_ok(cairn_buf_append(b, pid, sizeof(pid)));
	}
}

static void body_entry(struct cairn_buf *b, const struct cairn_blob_ref *r, uint32_t pack)
{
	ck_ok(cairn_buf_append(b, r->id, CAIRN_ID_LEN));
	ck_ok(cairn_buf_append_u8(b, r->type));
	ck_ok(cairn_buf_append_u8(b, r->flags));
	ck_ok(cairn_buf_append_le16(b, 0));
	ck_ok(cairn_buf_append_le32(b, r->raw_len));
	ck_ok(cairn_buf_append_le32(b, r->stored_len));
	ck_ok(cairn_buf_append_le32(b, pack));
	ck_ok(cairn_buf_append_le32(b, r->offset));
}

/* A valid body: 3 packs, 10 entries (entry i in pack i % 3). */
static void valid_body(struct cairn_buf *b)
{
	body_start(b, CAIRN_INDEX_MAGIC, 1, 3, 500);
	ck_ok(cairn_buf_append_le32(b, 10));
	for (uint64_t i = 0; i < 10; i++) {
		struct cairn_blob_ref r = th_blob_ref(i, 0);
		body_entry(b, &r, (uint32_t)(i % 3));
	}
}

static int decode_fresh(const struct cairn_buf *b)
{
	struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	int r = cairn_index_decode(idx, b->data, b->len);
	cairn_index_free(idx);
	return r;
}

static void test_decode(void **state)
{
	(void)state;
	struct cairn_buf b = CAIRN_BUF_INIT;
	valid_body(&b);
	struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	/* Two packs already known, one of them also named by the object: pack
	 * numbers of the object map onto this index's slots. */
	uint8_t pid[CAIRN_PACK_ID_LEN];
	uint32_t slot;
	rand_id(pid, 7777);
	ck_ok(cairn_index_add_pack(idx, pid, false, &slot));
	rand_id(pid, 501); /* the object's pack 1 */
	ck_ok(cairn_index_add_pack(idx, pid, false, &slot));
	assert_int_equal(slot, 1);
	ck_ok(cairn_index_decode(idx, b.data, b.len));
	assert_int_equal(cairn_index_npacks(idx), 4);
	assert_int_equal(cairn_index_count(idx), 10);
	uint32_t map[3];
	for (uint32_t p = 0; p < 3; p++) {
		rand_id(pid, 500 + p);
		ck_ok(cairn_index_find_pack(idx, pid, &map[p]));
	}
	assert_int_equal(map[1], 1);
	for (uint64_t i = 0; i < 10; i++) {
		struct cairn_blob_ref want = th_blob_ref(i, map[i % 3]), got;
		ck_ok(cairn_index_lookup(idx, want.id, &got));
		assert_ref_equal(&got, &want);
	}
	/* Decoding the same object again adds nothing. */
	ck_ok(cairn_index_decode(idx, b.data, b.len));
	assert_int_equal(cairn_index_count(idx), 10);
	assert_int_equal(cairn_index_npacks(idx), 4);
	cairn_index_free(idx);

	/* No packs and no entries is a valid (empty) object. */
	body_start(&b, CAIRN_INDEX_MAGIC, 1, 0, 0);
	ck_ok(cairn_buf_append_le32(&b, 0));
	ck_ok(decode_fresh(&b));
	cairn_buf_free(&b);
}

static void test_decode_bad(void **state)
{
	(void)state;
	struct cairn_buf b = CAIRN_BUF_INIT;

	/* Magic. */
	valid_body(&b);
	b.data[0] = 'X';
	ck_err(decode_fresh(&b), CAIRN_ECORRUPT);
	/* Version. */
	valid_body(&b);
	cairn_put_le32(b.data + 4, 3);
	ck_err(decode_fresh(&b), CAIRN_EVERSION);
	cairn_put_le32(b.data + 4, 0);
	ck_err(decode_fresh(&b), CAIRN_EVERSION);
	/* Every truncation, and one extra byte. */
	valid_body(&b);
	size_t len = b.len;
	for (size_t l = 0; l < len; l++) {
		b.len = l;
		int r = decode_fresh(&b);
		if (r != CAIRN_ECORRUPT)
			fail_msg("truncated to %zu of %zu: %d (%s)", l, len, r, cairn_error_name(r));
	}
	b.len = len;
	ck_ok(decode_fresh(&b));
	ck_ok(cairn_buf_append_u8(&b, 0));
	ck_err(decode_fresh(&b), CAIRN_ECORRUPT);
	/* An entry's flags: lz4 (bit 1) is valid; both algorithm bits, or a
	 * bit no algorithm has, is damage (format.h BLOB). */
	valid_body(&b);
	size_t flags_at = 12 + 3 * CAIRN_PACK_ID_LEN + 4 + 5 * CAIRN_INDEX_ENTRY_LEN + CAIRN_REC_FLAGS;
	b.data[flags_at] = CAIRN_BLOB_LZ4;
	ck_ok(decode_fresh(&b));
	static const uint8_t bad_flags[] = { CAIRN_BLOB_ZSTD | CAIRN_BLOB_LZ4, 1u << 2, 1u << 7 };
	for (size_t i = 0; i < ARRAY_SIZE(bad_flags); i++) {
		b.data[flags_at] = bad_flags[i];
		ck_err(decode_fresh(&b), CAIRN_ECORRUPT);
	}
	/* Counts that disagree with the length. */
	valid_body(&b);
	size_t count_at = 12 + 3 * CAIRN_PACK_ID_LEN;
	cairn_put_le32(b.data + count_at, 11);
	ck_err(decode_fresh(&b), CAIRN_ECORRUPT);
	cairn_put_le32(b.data + count_at, 9);
	ck_err(decode_fresh(&b), CAIRN_ECORRUPT);
	cairn_put_le32(b.data + count_at, UINT32_MAX);
	ck_err(decode_fresh(&b), CAIRN_ECORRUPT);
	valid_body(&b);
	cairn_put_le32(b.data + 8, 4);
	ck_err(decode_fresh(&b), CAIRN_ECORRUPT);
	cairn_put_le32(b.data + 8, UINT32_MAX);
	ck_err(decode_fresh(&b), CAIRN_ECORRUPT);
	/* An entry naming a pack the object does not list. */
	static const uint32_t bad_packs[] = { 3, 4, UINT32_MAX };
	for (size_t i = 0; i < ARRAY_SIZE(bad_packs); i++) {
		valid_body(&b);
		cairn_put_le32(b.data + count_at + 4 + 5 * CAIRN_INDEX_ENTRY_LEN + 44, bad_packs[i]);
		ck_err(decode_fresh(&b), CAIRN_ECORRUPT);
	}
	/* Bad type, a stored length shorter than a seal, a raw length larger
	 * than any blob. */
	valid_body(&b);
	b.data[count_at + 4 + 32] = 3; /* 2 is a catalog node */
	ck_err(decode_fresh(&b), CAIRN_ECORRUPT);
	valid_body(&b);
	cairn_put_le32(b.data + count_at + 4 + 40, CAIRN_AEAD_OVERHEAD - 1);
	ck_err(decode_fresh(&b), CAIRN_ECORRUPT);
	valid_body(&b);
	cairn_put_le32(b.data + count_at + 4 + 36, UINT32_MAX);
	ck_err(decode_fresh(&b), CAIRN_ECORRUPT);
	/* No packs but an entry. */
	body_start(&b, CAIRN_INDEX_MAGIC, 1, 0, 0);
	ck_ok(cairn_buf_append_le32(&b, 1));
	struct cairn_blob_ref r = th_blob_ref(1, 0);
	body_entry(&b, &r, 0);
	ck_err(decode_fresh(&b), CAIRN_ECORRUPT);
	cairn_buf_free(&b);
}

/* ---- index objects through a repository ---- */

static int setup(void **state)
{
	*state = th_codec_fx_new("index");
	return 0;
}

static int teardown(void **state)
{
	th_codec_fx_free(*state);
	return 0;
}

static size_t count_objects(struct th_codec_fx *f, const char *prefix)
{
	struct th_keys k;
	th_list(f->repo->store, prefix, &k);
	size_t n = k.n;
	th_keys_free(&k);
	return n;
}

/* Adds a pack id (fresh or not) with n made-up blobs seeded by seed. */
static uint32_t add_pack_blobs(struct cairn_index *idx, uint64_t pack_seed, bool fresh, uint64_t seed, size_t n)
{
	uint8_t pid[CAIRN_PACK_ID_LEN];
	uint32_t slot;
	rand_id(pid, pack_seed);
	ck_ok(cairn_index_add_pack(idx, pid, fresh, &slot));
	for (size_t i = 0; i < n; i++) {
		struct cairn_blob_ref r = th_blob_ref(seed + i, slot);
		assert_int_equal(cairn_index_insert(idx, &r), 1);
	}
	return slot;
}

static void expect_blobs(struct cairn_index *idx, uint64_t pack_seed, uint64_t seed, size_t n, bool present)
{
	uint8_t pid[CAIRN_PACK_ID_LEN];
	uint32_t slot = 0;
	rand_id(pid, pack_seed);
	if (present)
		ck_ok(cairn_index_find_pack(idx, pid, &slot));
	for (size_t i = 0; i < n; i++) {
		struct cairn_blob_ref want = th_blob_ref(seed + i, slot), got;
		if (!present) {
			ck_err(cairn_index_lookup(idx, want.id, &got), CAIRN_ENOTFOUND);
			continue;
		}
		ck_ok(cairn_index_lookup(idx, want.id, &got));
		assert_ref_equal(&got, &want);
	}
}

static void test_write_load(void **state)
{
	struct th_codec_fx *f = *state;
	struct cairn_index *a = NULL, *b = NULL, *c = NULL;
	ck_ok(cairn_index_new(&a));
	uint64_t bytes = 99;
	/* Nothing fresh: nothing written. */
	ck_ok(cairn_index_write_fresh(a, f->repo, &bytes));
	assert_int_equal(bytes, 0);
	assert_int_equal(count_objects(f, "index/"), 0);

	add_pack_blobs(a, 1, false, 1000, 50); /* known from elsewhere */
	add_pack_blobs(a, 2, true, 2000, 300);
	add_pack_blobs(a, 3, true, 3000, 7);
	ck_ok(cairn_index_write_fresh(a, f->repo, &bytes));
	assert_true(bytes > 0);
	assert_int_equal(count_objects(f, "index/"), 1);
	/* Packs are no longer fresh: a second call writes nothing. */
	ck_ok(cairn_index_write_fresh(a, f->repo, &bytes));
	assert_int_equal(bytes, 0);
	assert_int_equal(count_objects(f, "index/"), 1);

	/* A second index object holds only the packs fresh since. */
	add_pack_blobs(a, 4, true, 4000, 20);
	ck_ok(cairn_index_write_fresh(a, f->repo, NULL));
	assert_int_equal(count_objects(f, "index/"), 2);

	/* Loading sees exactly the fresh packs' blobs. */
	ck_ok(cairn_index_new(&b));
	size_t damaged = 99;
	ck_ok(cairn_index_load(b, f->repo, true, &damaged));
	assert_int_equal(damaged, 0);
	assert_int_equal(cairn_index_count(b), 327);
	assert_int_equal(cairn_index_npacks(b), 3);
	expect_blobs(b, 1, 1000, 50, false);
	expect_blobs(b, 2, 2000, 300, true);
	expect_blobs(b, 3, 3000, 7, true);
	expect_blobs(b, 4, 4000, 20, true);
	/* Loaded packs are not fresh. */
	ck_ok(cairn_index_write_fresh(b, f->repo, &bytes));
	assert_int_equal(bytes, 0);

	/* The first object alone, read as another index would. */
	struct th_keys k;
	th_list(f->repo->store, "index/", &k);
	assert_int_equal(k.n, 2);
	for (size_t i = 0; i < k.n; i++) {
		struct cairn_buf obj = CAIRN_BUF_INIT, body = CAIRN_BUF_INIT;
		uint8_t name[CAIRN_INDEX_NAME_LEN];
		assert_int_equal(strlen(k.v[i]), 6 + 2 * CAIRN_INDEX_NAME_LEN);
		ck_ok(cairn_hex_decode(k.v[i] + 6, name, sizeof(name)));
		ck_ok(cairn_store_get(f->repo->store, k.v[i], 0, CAIRN_STORE_TO_END, &obj));
		ck_ok(cairn_repo_unseal(f->aead, 'I', name, sizeof(name), obj.data, obj.len, &body));
		assert_memory_equal(body.data, CAIRN_INDEX_MAGIC, 4);
		assert_int_equal(cairn_le32(body.data + 4), 1);
		uint32_t np = cairn_le32(body.data + 8);
		assert_true(np == 2 || np == 1);
		ck_ok(cairn_index_new(&c));
		ck_ok(cairn_index_decode(c, body.data, body.len));
		assert_int_equal(cairn_index_count(c), np == 2 ? 307 : 20);
		cairn_index_free(c);
		c = NULL;
		/* Sealed with its own name: any other name fails. */
		name[0] ^= 1;
		ck_err(cairn_repo_unseal(f->aead, 'I', name, sizeof(name), obj.data, obj.len, &body), CAIRN_ECORRUPT);
		cairn_buf_free(&obj);
		cairn_buf_free(&body);
	}
	th_keys_free(&k);
	cairn_index_free(a);
	cairn_index_free(b);
}

static void damage_fn(const char *object, const char *what, void *ud)
{
	(void)what;
	int *calls = ud;
	assert_non_null(strstr(object, "index/"));
	(*calls)++;
}

/* Writers split at CAIRN_INDEX_OBJECT_ENTRIES, never inside a pack. */
static void test_write_split(void **state)
{
	struct th_codec_fx *f = *state;
	struct cairn_index *a = NULL, *b = NULL;
	const uint32_t lim = CAIRN_INDEX_OBJECT_ENTRIES;
	ck_ok(cairn_index_new(&a));
	add_pack_blobs(a, 1, true, 0, lim * 3 / 4);
	add_pack_blobs(a, 2, true, lim, lim / 2);
	add_pack_blobs(a, 3, true, 2 * lim, lim + 10); /* alone over the limit */
	add_pack_blobs(a, 4, false, 4 * lim, 10);     /* not fresh */
	uint64_t bytes = 0;
	ck_ok(cairn_index_write_fresh(a, f->repo, &bytes));
	assert_int_equal(count_objects(f, "index/"), 3);
	assert_true(bytes > (uint64_t)(lim * 9 / 4) * CAIRN_INDEX_ENTRY_LEN);
	ck_ok(cairn_index_new(&b));
	size_t damaged = 9;
	ck_ok(cairn_index_load(b, f->repo, true, &damaged));
	assert_int_equal(damaged, 0);
	assert_int_equal(cairn_index_count(b), lim * 3 / 4 + lim / 2 + lim + 10);
	assert_int_equal(cairn_index_npacks(b), 3);
	expect_blobs(b, 3, 2 * lim, lim + 10, true);
	cairn_index_free(a);
	cairn_index_free(b);
}

/* An index object larger than format.h allows is damage, known from its
 * listed size: not a byte of it is read. */
static void test_load_oversized(void **state)
{
	struct th_codec_fx *f = *state;
	struct cairn_index *a = NULL, *b = NULL;
	ck_ok(cairn_index_new(&a));
	add_pack_blobs(a, 1, true, 1000, 10);
	ck_ok(cairn_index_write_fresh(a, f->repo, NULL));
	char key[96], path[PATH_MAX];
	snprintf(key, sizeof(key), "index/%064d", 0);
	th_obj_path(path, sizeof(path), f->dir, key);
	th_write_file(path, "x", 1);
	assert_int_equal(truncate(path, 1ll << 30), 0);
	struct cairn_store *cw = NULL;
	ck_ok(cairn_store_count_wrap(f->repo->store, &cw));
	f->repo->store = cw;
	ck_ok(cairn_index_new(&b));
	size_t damaged = 0;
	int calls = 0;
	ck_ok(cairn_index_load_ex(b, f->repo, false, damage_fn, &calls, &damaged, NULL));
	assert_int_equal(damaged, 1);
	expect_blobs(b, 1, 1000, 10, true);
	struct cairn_store_counts n;
	cairn_store_count_get(cw, &n);
	assert_int_equal(n.get, 1); /* the good object only */
	assert_true(n.bytes_got < 4096);
	ck_err(cairn_index_load(b, f->repo, true, NULL), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), "is 1073741824 bytes, over the cap"));
	cairn_index_free(a);
	cairn_index_free(b);
}

static void test_load_damaged(void **state)
{
	struct th_codec_fx *f = *state;
	struct cairn_index *a = NULL, *b = NULL;
	ck_ok(cairn_index_new(&a));
	add_pack_blobs(a, 1, true, 1000, 10);
	ck_ok(cairn_index_write_fresh(a, f->repo, NULL));
	struct th_keys k1;
	th_list(f->repo->store, "index/", &k1);
	assert_int_equal(k1.n, 1);
	add_pack_blobs(a, 2, true, 2000, 10);
	ck_ok(cairn_index_write_fresh(a, f->repo, NULL));
	/* Foreign files under index/ are ignored. */
	char path[PATH_MAX];
	th_obj_path(path, sizeof(path), f->dir, "index/README");
	th_write_file(path, "not an index", 12);

	/* Damage the first object. */
	th_obj_path(path, sizeof(path), f->dir, k1.v[0]);
	th_flip_file_byte(path, 40);

	ck_ok(cairn_index_new(&b));
	ck_err(cairn_index_load(b, f->repo, true, NULL), CAIRN_ECORRUPT);
	cairn_index_free(b);

	ck_ok(cairn_index_new(&b));
	size_t damaged = 0, objects = 0;
	int calls = 0;
	ck_ok(cairn_index_load_ex(b, f->repo, false, damage_fn, &calls, &damaged, &objects));
	assert_int_equal(damaged, 1);
	assert_int_equal(calls, 1);
	assert_true(objects >= 2);
	expect_blobs(b, 2, 2000, 10, true);
	expect_blobs(b, 1, 1000, 10, false);
	cairn_index_free(b);

	/* Truncated below a seal. */
	th_write_file(path, "short", 5);
	ck_ok(cairn_index_new(&b));
	ck_ok(cairn_index_load(b, f->repo, false, &damaged));
	assert_int_equal(damaged, 1);
	expect_blobs(b, 2, 2000, 10, true);
	cairn_index_free(b);

	th_keys_free(&k1);
	cairn_index_free(a);
}

/* Writes a real pack of n blobs to the store, indexing nothing; returns
 * the blob refs (pack field unset) and the pack id.  The first ntree blobs
 * are typed tree nodes. */
static struct cairn_blob_ref *write_orphan_typed(struct th_codec_fx *f, size_t n, size_t ntree,
						 uint8_t pid[CAIRN_PACK_ID_LEN])
{
	struct cairn_pack_writer w = { 0 };
	struct cairn_blob_ref *refs = calloc(n, sizeof(*refs));
	assert_non_null(refs);
	struct cairn_buf sealed = CAIRN_BUF_INIT;
	ck_ok(cairn_pack_writer_begin(&w));
	for (size_t i = 0; i < n; i++) {
		uint8_t plain[300];
		th_fill_text(plain, sizeof(plain), 100 + i + (uint64_t)n * 1000);
		ck_ok(cairn_hasher_id(f->codec.hasher, plain, sizeof(plain), refs[i].id));
		refs[i].raw_len = sizeof(plain);
		refs[i].type = i < ntree ? CAIRN_BLOB_TREE : CAIRN_BLOB_CHUNK;
		cairn_buf_clear(&sealed);
		ck_ok(cairn_blob_encode(&f->codec, refs[i].id, plain, sizeof(plain), true, &sealed, &refs[i].flags,
					&refs[i].stored_len));
		ck_ok(cairn_pack_writer_add(&w, &refs[i], sealed.data));
	}
	ck_ok(cairn_pack_writer_finish(&w, f->aead));
	char key[80];
	cairn_pack_key(w.id, key);
	ck_ok(cairn_store_put(f->repo->store, key, w.data.data, w.data.len, CAIRN_PUT_CREATE_ONLY));
	memcpy(pid, w.id, CAIRN_PACK_ID_LEN);
	cairn_pack_writer_free(&w);
	cairn_buf_free(&sealed);
	return refs;
}

static struct cairn_blob_ref *write_orphan(struct th_codec_fx *f, size_t n, uint8_t pid[CAIRN_PACK_ID_LEN])
{
	return write_orphan_typed(f, n, 0, pid);
}

/* An interrupted writer's tree nodes are not adopted (their children may
 * be missing: a same-family copy would trust them for their subtree); its
 * chunks are. */
static void test_adopt_skips_nodes(void **state)
{
	struct th_codec_fx *f = *state;
	uint8_t p[CAIRN_PACK_ID_LEN];
	struct cairn_blob_ref *r = write_orphan_typed(f, 6, 2, p);
	struct cairn_index *a = NULL;
	ck_ok(cairn_index_new(&a));
	assert_int_equal(cairn_index_adopt_orphans(a, f->repo), 1);
	assert_int_equal(cairn_index_count(a), 4);
	for (size_t i = 0; i < 6; i++) {
		struct cairn_blob_ref got;
		if (i < 2)
			ck_err(cairn_index_lookup(a, r[i].id, &got), CAIRN_ENOTFOUND);
		else
			ck_ok(cairn_index_lookup(a, r[i].id, &got));
	}
	cairn_index_free(a);
	free(r);
}

static void test_adopt_orphans(void **state)
{
	struct th_codec_fx *f = *state;
	uint8_t p1[CAIRN_PACK_ID_LEN], p2[CAIRN_PACK_ID_LEN];
	struct cairn_index *a = NULL, *b = NULL;

	/* p1 is indexed (a completed backup); p2 is not (an interrupted one). */
	struct cairn_blob_ref *r1 = write_orphan(f, 5, p1);
	ck_ok(cairn_index_new(&a));
	assert_int_equal(cairn_index_adopt_orphans(a, f->repo), 1);
	ck_ok(cairn_index_write_fresh(a, f->repo, NULL));
	cairn_index_free(a);
	struct cairn_blob_ref *r2 = write_orphan(f, 8, p2);

	/* Junk under packs/: a key that is not a pack name, and a damaged
	 * pack with a valid name.  Neither is adopted, neither is an error. */
	char path[PATH_MAX], key[80];
	th_obj_path(path, sizeof(path), f->dir, "packs/zz");
	mkdir(path, 0700);
	th_obj_path(path, sizeof(path), f->dir, "packs/zz/not-a-pack");
	th_write_file(path, "x", 1);
	uint8_t p3[CAIRN_PACK_ID_LEN];
	rand_id(p3, 3333);
	cairn_pack_key(p3, key);
	ck_ok(cairn_store_put(f->repo->store, key, "garbage that is no pack at all, long enough", 43, 0));

	ck_ok(cairn_index_new(&a));
	ck_ok(cairn_index_load(a, f->repo, true, NULL));
	assert_int_equal(cairn_index_count(a), 5);
	assert_int_equal(cairn_index_adopt_orphans(a, f->repo), 1);
	assert_int_equal(cairn_index_count(a), 13);
	uint32_t slot;
	ck_ok(cairn_index_find_pack(a, p2, &slot));
	ck_err(cairn_index_find_pack(a, p3, &slot), CAIRN_ENOTFOUND);
	for (size_t i = 0; i < 8; i++) {
		struct cairn_blob_ref got;
		ck_ok(cairn_index_lookup(a, r2[i].id, &got));
		assert_int_equal(got.pack, slot);
		assert_int_equal(got.offset, r2[i].offset);
		assert_int_equal(got.stored_len, r2[i].stored_len);
		assert_int_equal(got.raw_len, r2[i].raw_len);
		assert_int_equal(got.flags, r2[i].flags);
	}
	/* Adopted packs are fresh: the next index object names them. */
	assert_int_equal(cairn_index_adopt_orphans(a, f->repo), 0);
	uint64_t bytes = 0;
	ck_ok(cairn_index_write_fresh(a, f->repo, &bytes));
	assert_true(bytes > 0);
	ck_ok(cairn_index_new(&b));
	ck_ok(cairn_index_load(b, f->repo, true, NULL));
	assert_int_equal(cairn_index_count(b), 13);
	assert_int_equal(cairn_index_adopt_orphans(b, f->repo), 0);
	cairn_index_free(a);
	cairn_index_free(b);
	free(r1);
	free(r2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_lookup_many),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_colliding_ids),
		cmocka_unit_test(test_packs_table),
		cmocka_unit_test(test_pack_key),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_bad),
		cmocka_unit_test_setup_teardown(test_write_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt_orphans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt_skips_nodes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
