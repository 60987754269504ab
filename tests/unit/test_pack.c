/* repo/pack: the blob codec, the pack writer, reading and parsing TOCs. */
#define TH_WANT_REPO
#include "helpers.h"

#include "repo/index.h"
#include "repo/pack.h"
#include "repo/record.h"
#include "util/cleanup.h"

static int setup(void **state)
{
	*state = th_codec_fx_new("pack");
	return 0;
}

static int teardown(void **state)
{
	th_codec_fx_free(*state);
	return 0;
}

/* Encodes plain into a fresh buffer; fills ref (pack 0, offset 0). */
static void encode(struct th_codec_fx *f, const void *plain, size_t len, bool compress, uint8_t type, struct cairn_buf *out,
		   struct cairn_blob_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	ck_ok(cairn_hasher_id(f->codec.hasher, plain, len, ref->id));
	cairn_buf_clear(out);
	ck_ok(cairn_blob_encode(&f->codec, ref->id, plain, len, compress, out, &ref->flags, &ref->stored_len));
	assert_int_equal(out->len, ref->stored_len);
	ref->raw_len = (uint32_t)len;
	ref->type = type;
}

/* ---- blobs ---- */

static void test_blob_compressed(void **state)
{
	struct th_codec_fx *f = *state;
	enum { N = 4096 };
	uint8_t plain[N], out[N];
	th_fill_text(plain, N, 1);
	struct cairn_buf sealed = CAIRN_BUF_INIT;
	struct cairn_blob_ref ref;
	encode(f, plain, N, true, CAIRN_BLOB_CHUNK, &sealed, &ref);
	assert_int_equal(ref.flags, CAIRN_BLOB_ZSTD);
	assert_true(ref.stored_len < N / 2);
	ck_ok(cairn_blob_decode(&f->codec, &ref, sealed.data, out));
	assert_memory_equal(out, plain, N);
	cairn_buf_free(&sealed);
}

static void test_blob_raw(void **state)
{
	struct th_codec_fx *f = *state;
	enum { N = 4096 };
	uint8_t plain[N], out[N];
	struct cairn_buf sealed = CAIRN_BUF_INIT;
	struct cairn_blob_ref ref;
	/* Incompressible: stored raw even when compression is asked for. */
	th_fill(plain, N, 2);
	encode(f, plain, N, true, CAIRN_BLOB_CHUNK, &sealed, &ref);
	assert_int_equal(ref.flags, 0);
	assert_int_equal(ref.stored_len, N + CAIRN_AEAD_OVERHEAD);
	ck_ok(cairn_blob_decode(&f->codec, &ref, sealed.data, out));
	assert_memory_equal(out, plain, N);
	/* Compressible, but compression not asked for. */
	th_fill_text(plain, N, 3);
	encode(f, plain, N, false, CAIRN_BLOB_CHUNK, &sealed, &ref);
	assert_int_equal(ref.flags, 0);
	assert_int_equal(ref.stored_len, N + CAIRN_AEAD_OVERHEAD);
	ck_ok(cairn_blob_decode(&f->codec, &ref, sealed.data, out));
	assert_memory_equal(out, plain, N);
	/* Plaintext does not show through. */
	assert_memory_not_equal(sealed.data + CAIRN_AEAD_NONCE_LEN, plain, 64);
	cairn_buf_free(&sealed);
}

static void test_blob_empty(void **state)
{
	struct th_codec_fx *f = *state;
	uint8_t out[1];
	struct cairn_buf sealed = CAIRN_BUF_INIT;
	struct cairn_blob_ref ref;
	encode(f, "", 0, true, CAIRN_BLOB_CHUNK, &sealed, &ref);
	assert_int_equal(ref.flags, 0);
	assert_int_equal(ref.stored_len, CAIRN_AEAD_OVERHEAD);
	ck_ok(cairn_blob_decode(&f->codec, &ref, sealed.data, out));
	cairn_buf_free(&sealed);
}

/* A TOC entry claiming a compressed blob with an empty payload (stored_len
 * is just the seal overhead), opened by a codec that has not decoded
 * anything yet (empty scratch buffer): refused without touching a NULL
 * buffer (clang's UBSan flags the NULL + 0 in cairn_aead_open; found by
 * fuzz_open_sealed). */
static void test_blob_compressed_empty_payload(void **state)
{
	struct th_codec_fx *f = *state;
	struct cairn_blob_codec c;
	ck_ok(cairn_blob_codec_init(&c, f->repo));
	uint8_t sealed[CAIRN_AEAD_OVERHEAD], out[100];
	th_fill(sealed, sizeof(sealed), 1);
	struct cairn_blob_ref ref;
	memset(&ref, 0, sizeof(ref));
	ref.flags = CAIRN_BLOB_ZSTD;
	ref.stored_len = CAIRN_AEAD_OVERHEAD;
	ref.raw_len = sizeof(out);
	ck_err(cairn_blob_decode(&c, &ref, sealed, out), CAIRN_ECORRUPT);
	cairn_blob_codec_free(&c);
}

/* encode appends to what out already holds. */
static void test_blob_encode_appends(void **state)
{
	struct th_codec_fx *f = *state;
	uint8_t a[1000], b[3000], out[3000];
	th_fill_text(a, sizeof(a), 4);
	th_fill(b, sizeof(b), 5);
	struct cairn_buf buf = CAIRN_BUF_INIT;
	struct cairn_blob_ref ra, rb;
	memset(&ra, 0, sizeof(ra));
	memset(&rb, 0, sizeof(rb));
	ck_ok(cairn_hasher_id(f->codec.hasher, a, sizeof(a), ra.id));
	ck_ok(cairn_hasher_id(f->codec.hasher, b, sizeof(b), rb.id));
	ck_ok(cairn_blob_encode(&f->codec, ra.id, a, sizeof(a), true, &buf, &ra.flags, &ra.stored_len));
	size_t first = buf.len;
	uint8_t *copy = malloc(first);
	assert_non_null(copy);
	memcpy(copy, buf.data, first);
	ck_ok(cairn_blob_encode(&f->codec, rb.id, b, sizeof(b), true, &buf, &rb.flags, &rb.stored_len));
	assert_int_equal(buf.len, first + rb.stored_len);
	assert_memory_equal(buf.data, copy, first);
	ra.raw_len = sizeof(a);
	rb.raw_len = sizeof(b);
	ck_ok(cairn_blob_decode(&f->codec, &ra, buf.data, out));
	assert_memory_equal(out, a, sizeof(a));
	ck_ok(cairn_blob_decode(&f->codec, &rb, buf.data + first, out));
	assert_memory_equal(out, b, sizeof(b));
	free(copy);
	cairn_buf_free(&buf);
}

static void check_damage(struct th_codec_fx *f, bool compress)
{
	enum { N = 2048 };
	uint8_t plain[N], out[N + 64];
	if (compress)
		th_fill_text(plain, N, 6);
	else
		th_fill(plain, N, 6);
	struct cairn_buf sealed = CAIRN_BUF_INIT;
	struct cairn_blob_ref ref, bad;
	encode(f, plain, N, compress, CAIRN_BLOB_CHUNK, &sealed, &ref);
	assert_int_equal(ref.flags, compress ? CAIRN_BLOB_ZSTD : 0);

	/* A flipped byte in the nonce, the ciphertext, the tag. */
	size_t at[] = { 0, CAIRN_AEAD_NONCE_LEN - 1, CAIRN_AEAD_NONCE_LEN, sealed.len / 2,
			sealed.len - CAIRN_AEAD_TAG_LEN - 1, sealed.len - CAIRN_AEAD_TAG_LEN, sealed.len - 1 };
	for (size_t i = 0; i < ARRAY_SIZE(at); i++) {
		sealed.data[at[i]] ^= 0x10;
		ck_err(cairn_blob_decode(&f->codec, &ref, sealed.data, out), CAIRN_ECORRUPT);
		sealed.data[at[i]] ^= 0x10;
	}
	/* Looked up under another id: the id is the additional data. */
	bad = ref;
	bad.id[5] ^= 1;
	ck_err(cairn_blob_decode(&f->codec, &bad, sealed.data, out), CAIRN_ECORRUPT);
	/* Wrong raw_len, either way. */
	bad = ref;
	bad.raw_len = N - 1;
	ck_err(cairn_blob_decode(&f->codec, &bad, sealed.data, out), CAIRN_ECORRUPT);
	bad.raw_len = N + 1;
	ck_err(cairn_blob_decode(&f->codec, &bad, sealed.data, out), CAIRN_ECORRUPT);
	bad.raw_len = 0;
	ck_err(cairn_blob_decode(&f->codec, &bad, sealed.data, out), CAIRN_ECORRUPT);
	/* Wrong stored_len. */
	bad = ref;
	bad.stored_len = ref.stored_len - 1;
	ck_err(cairn_blob_decode(&f->codec, &bad, sealed.data, out), CAIRN_ECORRUPT);
	bad.stored_len = CAIRN_AEAD_OVERHEAD - 1;
	ck_err(cairn_blob_decode(&f->codec, &bad, sealed.data, out), CAIRN_ECORRUPT);
	bad.stored_len = 0;
	ck_err(cairn_blob_decode(&f->codec, &bad, sealed.data, out), CAIRN_ECORRUPT);
	/* The compression flag toggled. */
	bad = ref;
	bad.flags ^= CAIRN_BLOB_ZSTD;
	ck_err(cairn_blob_decode(&f->codec, &bad, sealed.data, out), CAIRN_ECORRUPT);
	/* And the intact blob still decodes. */
	ck_ok(cairn_blob_decode(&f->codec, &ref, sealed.data, out));
	assert_memory_equal(out, plain, N);
	cairn_buf_free(&sealed);
}

static void test_blob_damage_compressed(void **state)
{
	check_damage(*state, true);
}

static void test_blob_damage_raw(void **state)
{
	check_damage(*state, false);
}

/* A blob sealed under an id that is not the id of its content (a writer
 * bug, or a forged index entry) authenticates but is still refused. */
static void test_blob_content_not_matching_id(void **state)
{
	struct th_codec_fx *f = *state;
	uint8_t plain[500], out[500];
	th_fill_text(plain, sizeof(plain), 8);
	struct cairn_blob_ref ref;
	memset(&ref, 0, sizeof(ref));
	ck_ok(cairn_hasher_id(f->codec.hasher, "something else", 14, ref.id));
	struct cairn_buf sealed = CAIRN_BUF_INIT;
	for (int compress = 0; compress < 2; compress++) {
		cairn_buf_clear(&sealed);
		ck_ok(cairn_blob_encode(&f->codec, ref.id, plain, sizeof(plain), compress, &sealed, &ref.flags,
					&ref.stored_len));
		ref.raw_len = sizeof(plain);
		ck_err(cairn_blob_decode(&f->codec, &ref, sealed.data, out), CAIRN_ECORRUPT);
	}
	cairn_buf_free(&sealed);
}

/* Another repository's codec cannot open our blobs. */
static void test_blob_other_repo(void **state)
{
	struct th_codec_fx *f = *state;
	char dir2[PATH_MAX];
	struct cairn_repo *r2 = th_repo_init(dir2, sizeof(dir2), "pack2", 4096);
	struct cairn_blob_codec c2;
	ck_ok(cairn_blob_codec_init(&c2, r2));
	uint8_t plain[100], out[100];
	th_fill(plain, sizeof(plain), 9);
	struct cairn_buf sealed = CAIRN_BUF_INIT;
	struct cairn_blob_ref ref;
	encode(f, plain, sizeof(plain), false, CAIRN_BLOB_CHUNK, &sealed, &ref);
	ck_err(cairn_blob_decode(&c2, &ref, sealed.data, out), CAIRN_ECORRUPT);
	/* Ids differ too: they are keyed. */
	uint8_t id2[CAIRN_ID_LEN];
	ck_ok(cairn_hasher_id(c2.hasher, plain, sizeof(plain), id2));
	assert_memory_not_equal(id2, ref.id, CAIRN_ID_LEN);
	cairn_buf_free(&sealed);
	cairn_blob_codec_free(&c2);
	cairn_blob_codec_free(&c2); /* idempotent */
	cairn_repo_free(r2);
	th_rm_rf(dir2);
}

/* ---- packs ---- */

struct pack_blob {
	uint8_t *plain;
	size_t len;
	struct cairn_blob_ref ref;
};

/* Builds a pack of n blobs (mixed kinds and sizes) in w. */
static struct pack_blob *build_pack(struct th_codec_fx *f, struct cairn_pack_writer *w, size_t n)
{
	struct pack_blob *b = calloc(n ? n : 1, sizeof(*b));
	assert_non_null(b);
	struct cairn_buf sealed = CAIRN_BUF_INIT;
	ck_ok(cairn_pack_writer_begin(w));
	assert_int_equal(w->n, 0);
	assert_int_equal(w->data.len, 0);
	size_t expect_off = 0;
	for (size_t i = 0; i < n; i++) {
		b[i].len = 100 + (i * 997) % 5000;
		b[i].plain = malloc(b[i].len);
		assert_non_null(b[i].plain);
		if (i % 2)
			th_fill(b[i].plain, b[i].len, 1000 + i);
		else
			th_fill_text(b[i].plain, b[i].len, 1000 + i);
		encode(f, b[i].plain, b[i].len, true, i % 3 == 0 ? CAIRN_BLOB_TREE : CAIRN_BLOB_CHUNK, &sealed,
		       &b[i].ref);
		b[i].ref.offset = 0xdeadbeef;
		ck_ok(cairn_pack_writer_add(w, &b[i].ref, sealed.data));
		assert_int_equal(b[i].ref.offset, expect_off);
		expect_off += b[i].ref.stored_len;
	}
	assert_int_equal(w->data.len, expect_off);
	ck_ok(cairn_pack_writer_finish(w, f->aead));
	/* The trailer. */
	assert_memory_equal(w->data.data + w->data.len - CAIRN_MAGIC_LEN, CAIRN_PACK_MAGIC, CAIRN_MAGIC_LEN);
	uint32_t toclen = cairn_le32(w->data.data + w->data.len - CAIRN_PACK_TRAILER_LEN);
	assert_int_equal(toclen, 4 + n * CAIRN_TOC_ENTRY_LEN + CAIRN_AEAD_OVERHEAD);
	assert_int_equal(w->data.len, expect_off + toclen + CAIRN_PACK_TRAILER_LEN);
	cairn_buf_free(&sealed);
	return b;
}

static void free_blobs(struct pack_blob *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(b[i].plain);
	free(b);
}

static void put_pack(struct th_codec_fx *f, const uint8_t *id, const uint8_t *data, size_t len)
{
	char key[80];
	cairn_pack_key(id, key);
	ck_ok(cairn_store_put(f->repo->store, key, data, len, 0));
}

static void test_pack_round_trip(void **state)
{
	struct th_codec_fx *f = *state;
	enum { N = 40 };
	struct cairn_pack_writer w = { 0 };
	struct pack_blob *b = build_pack(f, &w, N);
	put_pack(f, w.id, w.data.data, w.data.len);

	struct cairn_toc_entry *toc = NULL;
	size_t n = 0;
	uint64_t size = 0;
	ck_ok(cairn_pack_read_toc(f->repo, f->aead, w.id, &toc, &n, &size));
	assert_int_equal(n, N);
	assert_int_equal(size, w.data.len);
	char key[80];
	cairn_pack_key(w.id, key);
	struct cairn_buf got = CAIRN_BUF_INIT;
	for (size_t i = 0; i < N; i++) {
		const struct cairn_blob_ref *e = &toc[i].ref;
		assert_memory_equal(e->id, b[i].ref.id, CAIRN_ID_LEN);
		assert_int_equal(e->type, b[i].ref.type);
		assert_int_equal(e->flags, b[i].ref.flags);
		assert_int_equal(e->raw_len, b[i].ref.raw_len);
		assert_int_equal(e->stored_len, b[i].ref.stored_len);
		assert_int_equal(e->offset, b[i].ref.offset);
		assert_int_equal(e->pack, 0);
		/* The entry locates the blob: fetch it by range and open it. */
		ck_ok(cairn_store_get(f->repo->store, key, e->offset, e->stored_len, &got));
		assert_int_equal(got.len, e->stored_len);
		uint8_t *out = malloc(e->raw_len);
		assert_non_null(out);
		ck_ok(cairn_blob_decode(&f->codec, e, got.data, out));
		assert_memory_equal(out, b[i].plain, b[i].len);
		free(out);
	}
	free(toc);
	cairn_buf_free(&got);

	/* The writer is reusable: a new pack with a new id. */
	uint8_t old_id[CAIRN_PACK_ID_LEN];
	memcpy(old_id, w.id, sizeof(old_id));
	struct pack_blob *b2 = build_pack(f, &w, 3);
	assert_memory_not_equal(old_id, w.id, CAIRN_PACK_ID_LEN);
	put_pack(f, w.id, w.data.data, w.data.len);
	ck_ok(cairn_pack_read_toc(f->repo, f->aead, w.id, &toc, &n, NULL));
	assert_int_equal(n, 3);
	assert_memory_equal(toc[2].ref.id, b2[2].ref.id, CAIRN_ID_LEN);
	free(toc);
	free_blobs(b2, 3);
	free_blobs(b, N);
	cairn_pack_writer_free(&w);
	cairn_pack_writer_free(&w);
	cairn_pack_writer_free(NULL);
}

/* A table of contents larger than what the first read of a pack's tail
 * takes (16 KiB: over 310 entries) is read with a second request, and
 * one that fits is read with the first: both give the same entries. */
static void test_pack_big_toc(void **state)
{
	struct th_codec_fx *f = *state;
	enum { N = 400 };
	struct cairn_pack_writer w = { 0 };
	struct pack_blob *b = build_pack(f, &w, N);
	assert_true(4 + N * CAIRN_TOC_ENTRY_LEN > (16u << 10));
	put_pack(f, w.id, w.data.data, w.data.len);
	struct cairn_toc_entry *toc = NULL;
	size_t n = 0;
	uint64_t size = 0;
	ck_ok(cairn_pack_read_toc(f->repo, f->aead, w.id, &toc, &n, &size));
	assert_int_equal(n, N);
	assert_int_equal(size, w.data.len);
	for (size_t i = 0; i < N; i += 97)
		assert_memory_equal(toc[i].ref.id, b[i].ref.id, CAIRN_ID_LEN);
	assert_memory_equal(toc[N - 1].ref.id, b[N - 1].ref.id, CAIRN_ID_LEN);
	free(toc);
	free_blobs(b, N);
	cairn_pack_writer_free(&w);
}

static void test_pack_empty(void **state)
{
	struct th_codec_fx *f = *state;
	struct cairn_pack_writer w = { 0 };
	struct pack_blob *b = build_pack(f, &w, 0);
	put_pack(f, w.id, w.data.data, w.data.len);
	struct cairn_toc_entry *toc = NULL;
	size_t n = 99;
	ck_ok(cairn_pack_read_toc(f->repo, f->aead, w.id, &toc, &n, NULL));
	assert_int_equal(n, 0);
	free(toc);
	free_blobs(b, 0);
	cairn_pack_writer_free(&w);
}

static int read_toc(struct th_codec_fx *f, const uint8_t *id)
{
	struct cairn_toc_entry *toc = NULL;
	size_t n = 0;
	int r = cairn_pack_read_toc(f->repo, f->aead, id, &toc, &n, NULL);
	free(toc);
	return r;
}

static void test_pack_damage(void **state)
{
	struct th_codec_fx *f = *state;
	struct cairn_pack_writer w = { 0 };
	struct pack_blob *b = build_pack(f, &w, 10);
	size_t len = w.data.len;
	uint8_t *p = malloc(len);
	assert_non_null(p);

	/* Missing pack. */
	ck_err(read_toc(f, w.id), CAIRN_ENOTFOUND);

	/* Truncated: by one byte, to half, to less than a trailer, to nothing. */
	size_t cuts[] = { len - 1, len - CAIRN_PACK_TRAILER_LEN, len / 2, 20, CAIRN_PACK_TRAILER_LEN, 1, 0 };
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		put_pack(f, w.id, w.data.data, cuts[i]);
		ck_err(read_toc(f, w.id), CAIRN_ECORRUPT);
	}
	/* Bad trailer: magic, toc_len too big, too small, off by one. */
	uint32_t toclen = cairn_le32(w.data.data + len - CAIRN_PACK_TRAILER_LEN);
	uint32_t bad_lens[] = { 0, CAIRN_AEAD_OVERHEAD - 1, CAIRN_AEAD_OVERHEAD, toclen - 1, toclen + 1,
				(uint32_t)len - CAIRN_PACK_TRAILER_LEN, (uint32_t)len - CAIRN_PACK_TRAILER_LEN + 1,
				(uint32_t)len, UINT32_MAX };
	for (size_t i = 0; i < ARRAY_SIZE(bad_lens); i++) {
		memcpy(p, w.data.data, len);
		cairn_put_le32(p + len - CAIRN_PACK_TRAILER_LEN, bad_lens[i]);
		put_pack(f, w.id, p, len);
		ck_err(read_toc(f, w.id), CAIRN_ECORRUPT);
	}
	for (size_t i = len - CAIRN_MAGIC_LEN; i < len; i++) {
		memcpy(p, w.data.data, len);
		p[i] ^= 0x20;
		put_pack(f, w.id, p, len);
		ck_err(read_toc(f, w.id), CAIRN_ECORRUPT);
	}
	/* Any flipped byte of the sealed TOC. */
	for (size_t i = len - CAIRN_PACK_TRAILER_LEN - toclen; i < len - CAIRN_PACK_TRAILER_LEN; i += 7) {
		memcpy(p, w.data.data, len);
		p[i] ^= 0x01;
		put_pack(f, w.id, p, len);
		ck_err(read_toc(f, w.id), CAIRN_ECORRUPT);
	}
	/* Extra bytes appended after the trailer. */
	uint8_t *longer = malloc(len + 5);
	assert_non_null(longer);
	memcpy(longer, w.data.data, len);
	memcpy(longer + len, "junk!", 5);
	put_pack(f, w.id, longer, len + 5);
	ck_err(read_toc(f, w.id), CAIRN_ECORRUPT);
	free(longer);
	/* The intact pack, stored under another pack's name: the TOC is bound
	 * to its pack id. */
	uint8_t other[CAIRN_PACK_ID_LEN];
	memcpy(other, w.id, sizeof(other));
	other[31] ^= 1;
	put_pack(f, other, w.data.data, len);
	ck_err(read_toc(f, other), CAIRN_ECORRUPT);
	/* And the intact pack under its own name reads. */
	put_pack(f, w.id, w.data.data, len);
	ck_ok(read_toc(f, w.id));

	free(p);
	free_blobs(b, 10);
	cairn_pack_writer_free(&w);
}

/* ---- TOC parser ---- */

static void toc_entry(struct cairn_buf *b, uint8_t fill, uint8_t type, uint8_t flags, uint32_t raw, uint32_t stored,
		      uint64_t off)
{
	uint8_t id[CAIRN_ID_LEN];
	memset(id, fill, sizeof(id));
	ck_ok(cairn_buf_append(b, id, sizeof(id)));
	ck_ok(cairn_buf_append_u8(b, type));
	ck_ok(cairn_buf_append_u8(b, flags));
	ck_ok(cairn_buf_append_le16(b, 0));
	ck_ok(cairn_buf_append_le32(b, raw));
	ck_ok(cairn_buf_append_le32(b, stored));
	ck_ok(cairn_buf_append_le64(b, off));
}

static int parse(const struct cairn_buf *b, uint64_t data_end, size_t *ret_n)
{
	struct cairn_toc_entry *t = NULL;
	size_t n = 0;
	int r = cairn_toc_parse(b->data, b->len, data_end, &t, &n);
	if (r == 0 && ret_n)
		*ret_n = n;
	free(t);
	return r;
}

static void test_toc_parse(void **state)
{
	(void)state;
	struct cairn_buf b = CAIRN_BUF_INIT;
	ck_ok(cairn_buf_append_le32(&b, 3));
	toc_entry(&b, 0x11, CAIRN_BLOB_CHUNK, CAIRN_BLOB_ZSTD, 65536, 1000, 0);
	toc_entry(&b, 0x22, CAIRN_BLOB_TREE, 0, 100, 128, 1000);
	toc_entry(&b, 0x33, CAIRN_BLOB_CHUNK, 0, 4, 32, 1128); /* ends exactly at data_end */
	struct cairn_toc_entry *t = NULL;
	size_t n = 0;
	ck_ok(cairn_toc_parse(b.data, b.len, 1160, &t, &n));
	assert_int_equal(n, 3);
	assert_int_equal(t[0].ref.id[0], 0x11);
	assert_int_equal(t[0].ref.flags, CAIRN_BLOB_ZSTD);
	assert_int_equal(t[0].ref.raw_len, 65536);
	assert_int_equal(t[1].ref.type, CAIRN_BLOB_TREE);
	assert_int_equal(t[1].ref.stored_len, 128);
	assert_int_equal(t[1].ref.offset, 1000);
	assert_int_equal(t[2].ref.offset, 1128);
	free(t);
	/* One byte less room: the last entry sticks out. */
	ck_err(parse(&b, 1159, NULL), CAIRN_ECORRUPT);

	/* Empty TOC. */
	cairn_buf_clear(&b);
	ck_ok(cairn_buf_append_le32(&b, 0));
	n = 9;
	ck_ok(parse(&b, 0, &n));
	assert_int_equal(n, 0);
	cairn_buf_free(&b);
}

/* Flags: zstd (bit 0) and lz4 (bit 1) parse; both at once, or any other
 * bit, is damage (format.h BLOB). */
static void test_toc_parse_flags(void **state)
{
	(void)state;
	static const struct {
		uint8_t flags;
		bool ok;
	} cases[] = {
		{ 0, true },	 { CAIRN_BLOB_ZSTD, true }, { CAIRN_BLOB_LZ4, true }, { CAIRN_BLOB_ZSTD | CAIRN_BLOB_LZ4, false },
		{ 1u << 2, false }, { 1u << 7, false },	    { 0xff, false },	      { CAIRN_BLOB_LZ4 | 1u << 4, false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cairn_buf b = CAIRN_BUF_INIT;
		ck_ok(cairn_buf_append_le32(&b, 2));
		toc_entry(&b, 0x11, CAIRN_BLOB_CHUNK, CAIRN_BLOB_ZSTD, 65536, 1000, 0);
		toc_entry(&b, 0x22, CAIRN_BLOB_CHUNK, cases[i].flags, 65536, 1000, 1000);
		struct cairn_toc_entry *t = NULL;
		size_t n = 0;
		int r = cairn_toc_parse(b.data, b.len, 2000, &t, &n);
		if (cases[i].ok) {
			ck_ok(r);
			assert_int_equal(t[1].ref.flags, cases[i].flags);
		} else {
			assert_int_equal(r, CAIRN_ECORRUPT);
		}
		free(t);
		cairn_buf_free(&b);
	}
}

/* Blobs of every algorithm in one pack, written by codecs of three modes:
 * each entry keeps its flag and each blob opens with any codec. */
static void test_pack_mixed_algorithms(void **state)
{
	struct th_codec_fx *f = *state;
	static const struct cairn_comp_mode modes[] = {
		{ CAIRN_COMP_LZ4, 0 }, { CAIRN_COMP_ZSTD, 3 }, { CAIRN_COMP_NONE, 0 }, { CAIRN_COMP_AUTO, 0 }
	};
	static const uint8_t want[] = { CAIRN_BLOB_LZ4, CAIRN_BLOB_ZSTD, 0, CAIRN_BLOB_ZSTD };
	enum { N = 8192, M = ARRAY_SIZE(modes) };
	uint8_t plain[M][N], out[N];
	struct cairn_buf sealed[M];
	struct cairn_blob_ref ref[M];
	struct cairn_pack_writer w = { 0 };
	ck_ok(cairn_pack_writer_begin(&w));
	for (size_t i = 0; i < M; i++) {
		struct cairn_blob_codec c;
		cairn_repo_set_compression(f->repo, &modes[i]);
		ck_ok(cairn_blob_codec_init(&c, f->repo));
		th_fill_text(plain[i], N, 40 + i);
		sealed[i] = (struct cairn_buf)CAIRN_BUF_INIT;
		memset(&ref[i], 0, sizeof(ref[i]));
		ck_ok(cairn_hasher_id(c.hasher, plain[i], N, ref[i].id));
		ck_ok(cairn_blob_encode(&c, ref[i].id, plain[i], N, true, &sealed[i], &ref[i].flags, &ref[i].stored_len));
		ref[i].raw_len = N;
		assert_int_equal(ref[i].flags, want[i]);
		if (want[i])
			assert_true(ref[i].stored_len < N / 2);
		ck_ok(cairn_pack_writer_add(&w, &ref[i], sealed[i].data));
		cairn_blob_codec_free(&c);
	}
	ck_ok(cairn_pack_writer_finish(&w, f->aead));
	put_pack(f, w.id, w.data.data, w.data.len);
	struct cairn_toc_entry *toc = NULL;
	size_t n = 0;
	ck_ok(cairn_pack_read_toc(f->repo, f->aead, w.id, &toc, &n, NULL));
	assert_int_equal(n, M);
	for (size_t i = 0; i < M; i++) {
		assert_int_equal(toc[i].ref.flags, want[i]);
		/* f->codec was made for auto: it opens lz4 and raw blobs too. */
		ck_ok(cairn_blob_decode(&f->codec, &toc[i].ref, w.data.data + toc[i].ref.offset, out));
		assert_memory_equal(out, plain[i], N);
		/* The algorithm flag swapped, both set, or an unknown bit: damage. */
		struct cairn_blob_ref bad = toc[i].ref;
		static const uint8_t wrong[] = { CAIRN_BLOB_ZSTD, CAIRN_BLOB_LZ4, CAIRN_BLOB_ZSTD | CAIRN_BLOB_LZ4, 1u << 3 };
		for (size_t k = 0; k < ARRAY_SIZE(wrong); k++) {
			if (wrong[k] == want[i])
				continue;
			bad.flags = wrong[k];
			ck_err(cairn_blob_decode(&f->codec, &bad, w.data.data + bad.offset, out), CAIRN_ECORRUPT);
		}
		cairn_buf_free(&sealed[i]);
	}
	free(toc);
	cairn_pack_writer_free(&w);
}

static void test_toc_parse_lengths(void **state)
{
	(void)state;
	struct cairn_buf b = CAIRN_BUF_INIT;
	/* Shorter than the count. */
	for (size_t len = 0; len < 4; len++) {
		assert_int_equal(cairn_toc_parse((const uint8_t *)"\0\0\0\0", len, 100, &(struct cairn_toc_entry *){ NULL },
						 &(size_t){ 0 }),
				 CAIRN_ECORRUPT);
	}
	/* Count says 2, one entry there; count says 1, one byte extra; count
	 * huge. */
	ck_ok(cairn_buf_append_le32(&b, 2));
	toc_entry(&b, 1, 0, 0, 10, 40, 0);
	ck_err(parse(&b, 1000, NULL), CAIRN_ECORRUPT);
	cairn_put_le32(b.data, 1);
	ck_ok(parse(&b, 1000, NULL));
	ck_ok(cairn_buf_append_u8(&b, 0));
	ck_err(parse(&b, 1000, NULL), CAIRN_ECORRUPT);
	b.len--;
	cairn_put_le32(b.data, 0);
	ck_err(parse(&b, 1000, NULL), CAIRN_ECORRUPT);
	cairn_put_le32(b.data, UINT32_MAX);
	ck_err(parse(&b, 1000, NULL), CAIRN_ECORRUPT);
	/* A count whose byte size does not fit in 32 bits. */
	cairn_put_le32(b.data, 0x4ec4ec4fu);
	ck_err(parse(&b, 1000, NULL), CAIRN_ECORRUPT);
	cairn_buf_free(&b);
}

static void test_toc_parse_ranges(void **state)
{
	(void)state;
	static const struct {
		uint8_t type;
		uint32_t stored;
		uint64_t off;
		uint64_t data_end;
	} bad[] = {
		{ 3, 100, 0, 1000 },                       /* unknown type (2 is a catalog node) */
		{ 255, 100, 0, 1000 },                     /* unknown type */
		{ 0, CAIRN_AEAD_OVERHEAD - 1, 0, 1000 },   /* shorter than a seal */
		{ 0, 0, 0, 1000 },                         /* empty */
		{ 0, 100, 901, 1000 },                     /* past the end */
		{ 0, 100, 1000, 1000 },                    /* at the end */
		{ 0, 100, 5000, 1000 },                    /* beyond */
		{ 0, 1001, 0, 1000 },                      /* longer than the data */
		{ 0, 100, UINT64_MAX - 10, UINT64_MAX },   /* offset + length wraps */
		{ 0, UINT32_MAX, UINT64_MAX - 10, UINT64_MAX },
		{ 0, 100, (uint64_t)UINT32_MAX + 1, (uint64_t)1 << 40 }, /* offset beyond 32 bits */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cairn_buf b = CAIRN_BUF_INIT;
		ck_ok(cairn_buf_append_le32(&b, 2));
		toc_entry(&b, 1, 0, 0, 10, 40, 0);
		toc_entry(&b, 2, bad[i].type, 0, 10, bad[i].stored, bad[i].off);
		int r = parse(&b, bad[i].data_end, NULL);
		if (r != CAIRN_ECORRUPT)
			fail_msg("case %zu: %d (%s)", i, r, cairn_error_name(r));
		cairn_buf_free(&b);
	}
}

/* The one record layout (repo/record.h) puts each field where format.h
 * PACK and INDEX say, and reads back what it wrote. */
static void test_record_layout(void **state)
{
	(void)state;
	struct cairn_blob_ref e = { .type = CAIRN_BLOB_TREE, .flags = CAIRN_BLOB_ZSTD, .raw_len = 0x01020304,
				    .stored_len = 0x05060708, .offset = 0x090a0b0c, .pack = 77 };
	for (int i = 0; i < CAIRN_ID_LEN; i++)
		e.id[i] = (uint8_t)(0xa0 + i);
	uint8_t rec[CAIRN_REC_LEN];
	memset(rec, 0xff, sizeof(rec));
	cairn_toc_rec_encode(rec, &e);
	assert_memory_equal(rec, e.id, CAIRN_ID_LEN);
	assert_int_equal(rec[32], CAIRN_BLOB_TREE);
	assert_int_equal(rec[33], CAIRN_BLOB_ZSTD);
	assert_int_equal(rec[34] | rec[35], 0);
	static const uint8_t tail[] = { 4, 3, 2, 1, 8, 7, 6, 5, 0x0c, 0x0b, 0x0a, 0x09, 0, 0, 0, 0 };
	assert_memory_equal(rec + 36, tail, sizeof(tail));
	struct cairn_blob_ref d = { 0 };
	assert_int_equal(cairn_toc_rec_decode(rec, &d), 0x090a0b0c);
	assert_memory_equal(d.id, e.id, CAIRN_ID_LEN);
	assert_int_equal(d.type, e.type);
	assert_int_equal(d.flags, e.flags);
	assert_int_equal(d.raw_len, e.raw_len);
	assert_int_equal(d.stored_len, e.stored_len);

	memset(rec, 0xff, sizeof(rec));
	cairn_index_rec_encode(rec, &e, 0x11223344);
	static const uint8_t itail[] = { 4, 3, 2, 1, 8, 7, 6, 5, 0x44, 0x33, 0x22, 0x11, 0x0c, 0x0b, 0x0a, 0x09 };
	assert_memory_equal(rec + 36, itail, sizeof(itail));
	memset(&d, 0, sizeof(d));
	assert_int_equal(cairn_index_rec_decode(rec, &d), 0x11223344);
	assert_int_equal(d.offset, e.offset);
	assert_int_equal(d.raw_len, e.raw_len);
	assert_int_equal(d.stored_len, e.stored_len);
	assert_memory_equal(d.id, e.id, CAIRN_ID_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blob_compressed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_compressed_empty_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_encode_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_damage_compressed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_damage_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_content_not_matching_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_other_repo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_big_toc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_damage, setup, teardown),
		cmocka_unit_test(test_record_layout),
		cmocka_unit_test(test_toc_parse),
		cmocka_unit_test(test_toc_parse_lengths),
		cmocka_unit_test(test_toc_parse_flags),
		cmocka_unit_test_setup_teardown(test_pack_mixed_algorithms, setup, teardown),
		cmocka_unit_test(test_toc_parse_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
