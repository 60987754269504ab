/* compress/: per-chunk zstd or lz4 with the "store raw when it does not
 * pay" rule, the probe, and the --compression modes. */
#include "helpers.h"

#include "compress/compress.h"
#include "compress/fszip.h"
#include "util/cleanup.h"

#include <zlib.h>
#include <zstd.h>

#define CAIRN_STR_(x) #x
#define CAIRN_STR(x) CAIRN_STR_(x)

static int setup(void **state)
{
	struct cairn_comp *z = NULL;
	struct cairn_comp_mode m = { CAIRN_COMP_ZSTD, 1 };
	ck_ok(cairn_comp_new(&m, &z));
	*state = z;
	return 0;
}

static int teardown(void **state)
{
	cairn_comp_free(*state);
	return 0;
}

static void round_trip(struct cairn_comp *z, const uint8_t *in, size_t len, size_t *ret_clen)
{
	size_t cap = cairn_comp_bound(len);
	assert_true(cap >= len);
	uint8_t *c = malloc(cap);
	uint8_t *back = malloc(len ? len : 1);
	assert_non_null(c);
	assert_non_null(back);
	size_t clen = 12345;
	enum cairn_comp_used used = 99;
	ck_ok(cairn_comp_compress(z, in, len, c, cap, &clen, &used));
	assert_true(clen == 0 ? used == CAIRN_COMP_USED_RAW : used != CAIRN_COMP_USED_RAW);
	if (clen) {
		/* Compressed only when it saves at least 1/32. */
		assert_true(clen < len - len / 32);
		ck_ok(cairn_comp_decompress(z, used, c, clen, back, len));
		assert_memory_equal(back, in, len);
	}
	*ret_clen = clen;
	free(c);
	free(back);
}

static void test_round_trip(void **state)
{
	struct cairn_comp *z = *state;
	static const size_t sizes[] = { 4096, 65536, 65536 + 17, 1u << 20 };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint8_t *d = malloc(sizes[i]);
		assert_non_null(d);
		th_fill_text(d, sizes[i], i);
		size_t clen;
		round_trip(z, d, sizes[i], &clen);
		assert_true(clen > 0);
		assert_true(clen < sizes[i] / 2);
		/* Zeros compress to almost nothing. */
		memset(d, 0, sizes[i]);
		round_trip(z, d, sizes[i], &clen);
		assert_true(clen > 0 && clen < 256);
		free(d);
	}
}

static void test_levels(void **state)
{
	(void)state;
	static const int levels[] = { -5, 1, 3, 19 };
	uint8_t d[20000];
	th_fill_text(d, sizeof(d), 9);
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
		struct cairn_comp *z = NULL;
		struct cairn_comp_mode m = { CAIRN_COMP_ZSTD, levels[i] };
		ck_ok(cairn_comp_new(&m, &z));
		size_t clen;
		round_trip(z, d, sizeof(d), &clen);
		assert_true(clen > 0);
		cairn_comp_free(z);
	}
	cairn_comp_free(NULL);
}

static void test_incompressible(void **state)
{
	struct cairn_comp *z = *state;
	static const size_t sizes[] = { 1, 100, 4096, 65536 };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint8_t *d = th_data(sizes[i], 100 + i);
		size_t clen;
		round_trip(z, d, sizes[i], &clen);
		assert_int_equal(clen, 0);
		free(d);
	}
	/* Empty input: nothing to gain. */
	size_t clen = 1;
	uint8_t out[64];
	enum cairn_comp_used used;
	ck_ok(cairn_comp_compress(z, "", 0, out, sizeof(out), &clen, &used));
	assert_int_equal(clen, 0);
	assert_int_equal(used, CAIRN_COMP_USED_RAW);
}

/* Saving less than 1/32 is not worth a decompression pass. */
static void test_barely_compressible(void **state)
{
	struct cairn_comp *z = *state;
	enum { N = 65536 };
	uint8_t *d = th_data(N, 5);
	/* About 1% of the chunk is a run of zeros: zstd saves that much, which
	 * is below the 1/32 threshold. */
	memset(d + 1000, 0, N / 100);
	size_t clen;
	round_trip(z, d, N, &clen);
	assert_int_equal(clen, 0);
	free(d);
}

/* The byte-histogram sample decides before zstd runs: it must not turn
 * away chunks that compress because part of them is text or because random
 * bytes repeat. */
static void test_sampled_skip(void **state)
{
	struct cairn_comp *z = *state;
	enum { N = 65536 };
	uint8_t *d = th_data(N, 7);
	size_t clen;
	round_trip(z, d, N, &clen);
	assert_int_equal(clen, 0);
	/* Half text, half random: still worth it. */
	th_fill_text(d, N / 2, 3);
	round_trip(z, d, N, &clen);
	assert_true(clen > 0 && clen < N - N / 4);
	/* One random 4 KiB block repeated: random bytes, but all matches. */
	for (size_t i = 4096; i < N; i += 4096)
		memcpy(d + i, d + N / 2, 4096);
	memcpy(d, d + N / 2, 4096);
	round_trip(z, d, N, &clen);
	assert_true(clen > 0 && clen < N / 8);
	free(d);
}

static void test_wrong_size(void **state)
{
	struct cairn_comp *z = *state;
	enum { N = 10000 };
	uint8_t d[N], c[N + 1024], back[N + 64];
	th_fill_text(d, N, 1);
	size_t clen = 0;
	enum cairn_comp_used used;
	ck_ok(cairn_comp_compress(z, d, N, c, sizeof(c), &clen, &used));
	assert_true(clen > 0);
	ck_err(cairn_comp_decompress(z, CAIRN_COMP_USED_ZSTD, c, clen, back, N - 1), CAIRN_ECORRUPT);
	ck_err(cairn_comp_decompress(z, CAIRN_COMP_USED_ZSTD, c, clen, back, N + 1), CAIRN_ECORRUPT);
	ck_err(cairn_comp_decompress(z, CAIRN_COMP_USED_ZSTD, c, clen, back, N + 64), CAIRN_ECORRUPT);
	ck_err(cairn_comp_decompress(z, CAIRN_COMP_USED_ZSTD, c, clen, back, 0), CAIRN_ECORRUPT);
	/* Truncated frames. */
	ck_err(cairn_comp_decompress(z, CAIRN_COMP_USED_ZSTD, c, clen - 1, back, N), CAIRN_ECORRUPT);
	ck_err(cairn_comp_decompress(z, CAIRN_COMP_USED_ZSTD, c, clen / 2, back, N), CAIRN_ECORRUPT);
	ck_err(cairn_comp_decompress(z, CAIRN_COMP_USED_ZSTD, c, 0, back, N), CAIRN_ECORRUPT);
	/* The context is still good. */
	ck_ok(cairn_comp_decompress(z, CAIRN_COMP_USED_ZSTD, c, clen, back, N));
	assert_memory_equal(back, d, N);
}

static void test_garbage(void **state)
{
	struct cairn_comp *z = *state;
	uint8_t out[4096];
	for (uint64_t seed = 0; seed < 50; seed++) {
		uint8_t g[300];
		th_fill(g, sizeof(g), seed);
		ck_err(cairn_comp_decompress(z, CAIRN_COMP_USED_ZSTD, g, sizeof(g), out, sizeof(out)), CAIRN_ECORRUPT);
	}
	/* A valid frame magic followed by garbage. */
	uint8_t g[64];
	th_fill(g, sizeof(g), 77);
	g[0] = 0x28;
	g[1] = 0xb5;
	g[2] = 0x2f;
	g[3] = 0xfd;
	ck_err(cairn_comp_decompress(z, CAIRN_COMP_USED_ZSTD, g, sizeof(g), out, sizeof(out)), CAIRN_ECORRUPT);

	/* Two frames back to back decode to more than expected. */
	uint8_t d[1000], c[4096];
	th_fill_text(d, sizeof(d), 2);
	size_t clen = 0;
	enum cairn_comp_used used;
	ck_ok(cairn_comp_compress(z, d, sizeof(d), c, sizeof(c) / 2, &clen, &used));
	assert_true(clen > 0);
	memcpy(c + clen, c, clen);
	ck_err(cairn_comp_decompress(z, CAIRN_COMP_USED_ZSTD, c, 2 * clen, out, sizeof(d)), CAIRN_ECORRUPT);
}

/* Many chunks through one context, as a backup worker does. */
static void test_context_reuse(void **state)
{
	struct cairn_comp *z = *state;
	for (int i = 0; i < 200; i++) {
		uint8_t d[3000];
		if (i % 3 == 0)
			th_fill(d, sizeof(d), (uint64_t)i);
		else
			th_fill_text(d, sizeof(d), (uint64_t)i);
		size_t clen;
		round_trip(z, d, sizeof(d), &clen);
		assert_true(i % 3 == 0 ? clen == 0 : clen > 0);
	}
}

static struct cairn_comp *comp_of(enum cairn_comp_algo algo, int level)
{
	struct cairn_comp *z = NULL;
	struct cairn_comp_mode m = { algo, level };
	ck_ok(cairn_comp_new(&m, &z));
	return z;
}

/* What each mode uses on compressible data, and that it comes back. */
static void test_modes_round_trip(void **state)
{
	(void)state;
	static const struct {
		enum cairn_comp_algo algo;
		int level;
		enum cairn_comp_used used;
	} cases[] = {
		{ CAIRN_COMP_AUTO, 0, CAIRN_COMP_USED_ZSTD },  { CAIRN_COMP_ZSTD, 1, CAIRN_COMP_USED_ZSTD },
		{ CAIRN_COMP_ZSTD, -3, CAIRN_COMP_USED_ZSTD }, { CAIRN_COMP_ZSTD, 19, CAIRN_COMP_USED_ZSTD },
		{ CAIRN_COMP_LZ4, 0, CAIRN_COMP_USED_LZ4 },    { CAIRN_COMP_NONE, 0, CAIRN_COMP_USED_RAW },
	};
	enum { N = 65536 };
	uint8_t *d = malloc(N), *c = malloc(cairn_comp_bound(N)), *back = malloc(N);
	assert_non_null(d);
	assert_non_null(c);
	assert_non_null(back);
	th_fill_text(d, N, 11);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cairn_comp *z = comp_of(cases[i].algo, cases[i].level);
		size_t clen = 1;
		enum cairn_comp_used used = 99;
		ck_ok(cairn_comp_compress(z, d, N, c, cairn_comp_bound(N), &clen, &used));
		assert_int_equal(used, cases[i].used);
		if (used == CAIRN_COMP_USED_RAW) {
			assert_int_equal(clen, 0);
		} else {
			assert_true(clen > 0 && clen < N / 2);
			memset(back, 0xaa, N);
			ck_ok(cairn_comp_decompress(z, used, c, clen, back, N));
			assert_memory_equal(back, d, N);
		}
		cairn_comp_free(z);
	}
	/* One context decodes both algorithms, whatever it writes. */
	struct cairn_comp *lz = comp_of(CAIRN_COMP_LZ4, 0), *zs = comp_of(CAIRN_COMP_ZSTD, 3);
	size_t clen;
	enum cairn_comp_used used;
	ck_ok(cairn_comp_compress(lz, d, N, c, cairn_comp_bound(N), &clen, &used));
	assert_int_equal(used, CAIRN_COMP_USED_LZ4);
	ck_ok(cairn_comp_decompress(zs, CAIRN_COMP_USED_LZ4, c, clen, back, N));
	assert_memory_equal(back, d, N);
	/* lz4 bytes called zstd, and an unknown algorithm, are damage. */
	ck_err(cairn_comp_decompress(zs, CAIRN_COMP_USED_ZSTD, c, clen, back, N), CAIRN_ECORRUPT);
	ck_err(cairn_comp_decompress(zs, CAIRN_COMP_USED_RAW, c, clen, back, N), CAIRN_ECORRUPT);
	cairn_comp_free(lz);
	cairn_comp_free(zs);
	free(d);
	free(c);
	free(back);
}

/* Damaged lz4 blocks: truncated, wrong size, flipped bytes, garbage. */
static void test_lz4_corrupt(void **state)
{
	(void)state;
	struct cairn_comp *z = comp_of(CAIRN_COMP_LZ4, 0);
	enum { N = 20000 };
	uint8_t d[N], c[N + 1024], back[N + 64], bad[N + 1024];
	th_fill_text(d, N, 4);
	size_t clen = 0;
	enum cairn_comp_used used;
	ck_ok(cairn_comp_compress(z, d, N, c, sizeof(c), &clen, &used));
	assert_int_equal(used, CAIRN_COMP_USED_LZ4);
	ck_err(cairn_comp_decompress(z, used, c, clen, back, N - 1), CAIRN_ECORRUPT);
	ck_err(cairn_comp_decompress(z, used, c, clen, back, N + 1), CAIRN_ECORRUPT);
	ck_err(cairn_comp_decompress(z, used, c, clen - 1, back, N), CAIRN_ECORRUPT);
	ck_err(cairn_comp_decompress(z, used, c, clen / 2, back, N), CAIRN_ECORRUPT);
	ck_err(cairn_comp_decompress(z, used, c, 0, back, N), CAIRN_ECORRUPT);
	/* A flipped byte either fails to decode or decodes to other bytes
	 * (which the blob's id then catches); never out of bounds (asan). */
	int failed = 0;
	for (size_t i = 0; i < clen; i += 13) {
		memcpy(bad, c, clen);
		bad[i] ^= 0x5a;
		if (cairn_comp_decompress(z, used, bad, clen, back, N) < 0)
			failed++;
		else
			assert_true(i > 0);
	}
	assert_true(failed > 0);
	for (uint64_t seed = 0; seed < 50; seed++) {
		th_fill(bad, 300, seed);
		int r = cairn_comp_decompress(z, used, bad, 300, back, sizeof(back));
		assert_true(r == CAIRN_ECORRUPT);
	}
	/* The context is still good. */
	ck_ok(cairn_comp_decompress(z, used, c, clen, back, N));
	assert_memory_equal(back, d, N);
	cairn_comp_free(z);
}

/* The probe: random chunks are stored raw in every mode, without a pass. */
static void test_probe(void **state)
{
	(void)state;
	enum { N = 65536 };
	uint8_t *d = th_data(N, 21), *c = malloc(cairn_comp_bound(N));
	assert_non_null(c);
	assert_true(cairn_comp_looks_incompressible(d, N));
	static const enum cairn_comp_algo algos[] = { CAIRN_COMP_AUTO, CAIRN_COMP_ZSTD, CAIRN_COMP_LZ4 };
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++) {
		struct cairn_comp *z = comp_of(algos[i], algos[i] == CAIRN_COMP_ZSTD ? 3 : 0);
		size_t clen = 1;
		enum cairn_comp_used used = 99;
		memset(c, 0x77, cairn_comp_bound(N));
		ck_ok(cairn_comp_compress(z, d, N, c, cairn_comp_bound(N), &clen, &used));
		assert_int_equal(used, CAIRN_COMP_USED_RAW);
		assert_int_equal(clen, 0);
		/* Untouched output: the compressor never ran. */
		assert_int_equal(c[0], 0x77);
		cairn_comp_free(z);
	}
	/* Text, zeros and short chunks are not judged random. */
	th_fill_text(d, N, 2);
	assert_false(cairn_comp_looks_incompressible(d, N));
	memset(d, 0, N);
	assert_false(cairn_comp_looks_incompressible(d, N));
	free(d);
	d = th_data(4096, 3);
	assert_false(cairn_comp_looks_incompressible(d, 4096));
	free(d);
	free(c);
}

static void test_mode_parse(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
		enum cairn_comp_algo algo;
		int level;
	} good[] = {
		{ "auto", "auto", CAIRN_COMP_AUTO, 0 },
		{ "zstd", "zstd:" CAIRN_STR(CAIRN_COMP_ZSTD_LEVEL_DEFAULT), CAIRN_COMP_ZSTD, CAIRN_COMP_ZSTD_LEVEL_DEFAULT },
		{ "zstd:1", "zstd:1", CAIRN_COMP_ZSTD, 1 },
		{ "zstd:-5", "zstd:-5", CAIRN_COMP_ZSTD, -5 },
		{ "zstd:22", "zstd:22", CAIRN_COMP_ZSTD, 22 },
		{ "lz4", "lz4", CAIRN_COMP_LZ4, 0 },
		{ "none", "none", CAIRN_COMP_NONE, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct cairn_comp_mode m;
		char buf[32];
		ck_ok(cairn_comp_mode_parse(good[i].in, &m));
		assert_int_equal(m.algo, good[i].algo);
		assert_int_equal(m.level, good[i].level);
		assert_string_equal(cairn_comp_mode_format(&m, buf, sizeof(buf)), good[i].out);
	}
	static const char *const bad[] = { "", "bogus", "zstd:", "zstd:0", "zstd:23", "zstd:-101", "zstd:3x",
					   "lz4:1", "ZSTD", "auto:3", "none ", "gzip" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cairn_comp_mode m;
		ck_err(cairn_comp_mode_parse(bad[i], &m), CAIRN_EINVAL);
	}
	assert_int_equal(cairn_comp_algo_from_name("lz4"), CAIRN_COMP_LZ4);
	assert_int_equal(cairn_comp_algo_from_name("zstd:1"), -1);
}

/* ---- compress/fszip.c: btrfs's compressed extents ---- */

/* 128 KiB of text, a whole btrfs extent's worth. */
static uint8_t *fs_text(size_t n)
{
	uint8_t *p = malloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)("cairn btrfs extent "[i % 19] + (i / 4096) % 3);
	return p;
}

/* One zstd frame as btrfs streams it (no content size, a 2^17 window),
 * then zeros up to a 4 KiB sector: *ret_len bytes in all. */
static uint8_t *fs_zstd(const uint8_t *src, size_t n, size_t *ret_len, size_t *ret_frame)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 17)));
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0)));
	size_t cap = ZSTD_compressBound(n) + 4096;
	uint8_t *out = calloc(1, cap);
	ZSTD_inBuffer ib = { src, n, 0 };
	ZSTD_outBuffer ob = { out, cap, 0 };
	assert_int_equal(ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_end), 0);
	ZSTD_freeCCtx(c);
	*ret_frame = ob.pos;
	*ret_len = (ob.pos + 4095) / 4096 * 4096;
	return out;
}

static uint8_t *fs_zlib(const uint8_t *src, size_t n, size_t *ret_len, size_t *ret_stream)
{
	uLongf len = compressBound(n) + 4096;
	uint8_t *out = calloc(1, len);
	assert_int_equal(compress2(out, &len, src, n, 3), Z_OK);
	*ret_stream = len;
	*ret_len = (len + 4095) / 4096 * 4096;
	return out;
}

#ifdef CAIRN_HAVE_LZO
#include <lzo/lzo1x.h>

/* btrfs's lzo framing of src (fs/btrfs/lzo.c): total length, then a
 * length and LZO1X data per 4 KiB of input, no header across a 4 KiB
 * sector (zeros up to the next instead). */
static uint8_t *fs_lzo(const uint8_t *src, size_t n, size_t *ret_len)
{
	assert_int_equal(lzo_init(), LZO_E_OK);
	uint8_t *out = calloc(1, n + n / 8 + 65536);
	_cleanup_free_ uint8_t *wrk = malloc(LZO1X_1_MEM_COMPRESS);
	size_t at = 4;
	for (size_t i = 0; i < n; i += 4096) {
		if (4096 - at % 4096 < 4)
			at += 4096 - at % 4096;
		lzo_uint len = 0;
		assert_int_equal(lzo1x_1_compress(src + i, n - i < 4096 ? n - i : 4096, out + at + 4, &len, wrk),
				 LZO_E_OK);
		cairn_put_le32(out + at, (uint32_t)len);
		at += 4 + len;
	}
	cairn_put_le32(out, (uint32_t)at);
	*ret_len = (at + 4095) / 4096 * 4096;
	return out;
}

/* A whole extent, a short one, and damage: header lengths past the end,
 * a segment cut short, more output than ram_length. */
static void test_fszip_lzo(void **state)
{
	(void)state;
	const size_t n = 128 << 10;
	_cleanup_free_ uint8_t *src = fs_text(n);
	_cleanup_free_ uint8_t *out = malloc(n);
	for (size_t used = 70001; used <= n; used += n - 70001) {
		size_t disk, got = 0;
		_cleanup_free_ uint8_t *z = fs_lzo(src, used, &disk);
		ck_ok(cairn_fszip_decompress(CAIRN_CAT_LZO, z, disk, out, n, &got));
		assert_int_equal(got, used);
		assert_memory_equal(out, src, used);
	}
	/* Random bytes compress poorly: segments cross sectors, headers
	 * land next to their ends. */
	_cleanup_free_ uint8_t *rnd = malloc(n);
	for (size_t i = 0; i < n; i++)
		rnd[i] = (uint8_t)((i * 2654435761u) >> 13 ^ i >> 5);
	size_t disk, got;
	_cleanup_free_ uint8_t *r = fs_lzo(rnd, n, &disk);
	ck_ok(cairn_fszip_decompress(CAIRN_CAT_LZO, r, disk, out, n, &got));
	assert_int_equal(got, n);
	assert_memory_equal(out, rnd, n);
	assert_int_equal(cairn_fszip_decompress(CAIRN_CAT_LZO, r, disk, out, n - 1, &got), CAIRN_ECORRUPT);
	_cleanup_free_ uint8_t *z = fs_lzo(src, n, &disk);
	size_t total = cairn_le32(z);
	cairn_put_le32(z, (uint32_t)disk + 1); /* past the bytes */
	assert_int_equal(cairn_fszip_decompress(CAIRN_CAT_LZO, z, disk, out, n, &got), CAIRN_ECORRUPT);
	cairn_put_le32(z, (uint32_t)total);
	uint32_t seg = cairn_le32(z + 4);
	cairn_put_le32(z + 4, (uint32_t)total); /* a segment past the end */
	assert_int_equal(cairn_fszip_decompress(CAIRN_CAT_LZO, z, disk, out, n, &got), CAIRN_ECORRUPT);
	cairn_put_le32(z + 4, seg - 1); /* cut short */
	assert_int_equal(cairn_fszip_decompress(CAIRN_CAT_LZO, z, disk, out, n, &got), CAIRN_ECORRUPT);
	cairn_put_le32(z + 4, seg);
	ck_ok(cairn_fszip_decompress(CAIRN_CAT_LZO, z, disk, out, n, &got));
	assert_int_equal(cairn_fszip_decompress(CAIRN_CAT_LZO, z, total - 1, out, n, &got), CAIRN_ECORRUPT);
}
#endif

/* Each algorithm: a whole extent, and one whose stream holds fewer bytes
 * (a file's last extent, compressed up to the file's size), come out as
 * they went in; padding after the stream is ignored. */
static void test_fszip_round_trip(void **state)
{
	(void)state;
	const size_t n = 128 << 10;
	_cleanup_free_ uint8_t *src = fs_text(n);
	_cleanup_free_ uint8_t *out = malloc(n);
	for (int alg = CAIRN_CAT_ZLIB; alg <= CAIRN_CAT_ZSTD; alg += 2)
		for (size_t part = 0; part < 2; part++) {
			size_t used = part ? 70001 : n, disk, stream, got = 0;
			_cleanup_free_ uint8_t *z = alg == CAIRN_CAT_ZSTD ? fs_zstd(src, used, &disk, &stream)
									  : fs_zlib(src, used, &disk, &stream);
			assert_true(disk > stream || part || disk == stream);
			memset(out, 0xee, n);
			ck_ok(cairn_fszip_decompress(alg, z, disk, out, n, &got));
			assert_int_equal(got, used);
			assert_memory_equal(out, src, used);
			/* Exactly the stream, no padding. */
			ck_ok(cairn_fszip_decompress(alg, z, stream, out, n, &got));
			assert_int_equal(got, used);
		}
	assert_string_equal(cairn_fszip_name(CAIRN_CAT_ZSTD), "zstd");
	assert_string_equal(cairn_fszip_name(CAIRN_CAT_ZLIB), "zlib");
}

/* What must be an error, never bytes: more output than the extent's
 * ram_length, a stream cut short, damaged bytes, an unknown algorithm;
 * lzo is refused as unsupported. */
static void test_fszip_damage(void **state)
{
	(void)state;
	const size_t n = 128 << 10;
	_cleanup_free_ uint8_t *src = fs_text(n);
	_cleanup_free_ uint8_t *out = malloc(n);
	for (int alg = CAIRN_CAT_ZLIB; alg <= CAIRN_CAT_ZSTD; alg += 2) {
		size_t disk, stream, got = 7;
		_cleanup_free_ uint8_t *z = alg == CAIRN_CAT_ZSTD ? fs_zstd(src, n, &disk, &stream)
								  : fs_zlib(src, n, &disk, &stream);
		/* A byte more than ram_length. */
		assert_int_equal(cairn_fszip_decompress(alg, z, disk, out, n - 1, &got), CAIRN_ECORRUPT);
		assert_non_null(strstr(cairn_error_message(), "more than"));
		assert_int_equal(got, 0);
		/* Cut anywhere inside the stream. */
		for (size_t cut = 0; cut < stream; cut += stream / 7 + 1)
			assert_int_equal(cairn_fszip_decompress(alg, z, cut, out, n, &got), CAIRN_ECORRUPT);
		assert_int_equal(cairn_fszip_decompress(alg, z, stream - 1, out, n, &got), CAIRN_ECORRUPT);
		/* The header (zstd's magic, zlib's method byte) damaged. */
		z[0] ^= 0xff;
		assert_int_equal(cairn_fszip_decompress(alg, z, disk, out, n, &got), CAIRN_ECORRUPT);
		assert_non_null(strstr(cairn_error_message(), "does not decompress"));
		z[0] ^= 0xff;
		/* All zeros: no stream at all. */
		memset(z, 0, disk);
		assert_int_equal(cairn_fszip_decompress(alg, z, disk, out, n, &got), CAIRN_ECORRUPT);
	}
	/* zlib's adler32 catches a flipped byte in the data. */
	size_t disk, stream, got;
	_cleanup_free_ uint8_t *z = fs_zlib(src, n, &disk, &stream);
	z[stream / 2] ^= 0x10;
	assert_int_equal(cairn_fszip_decompress(CAIRN_CAT_ZLIB, z, disk, out, n, &got), CAIRN_ECORRUPT);
	uint8_t b[8] = { 0 };
#ifdef CAIRN_HAVE_LZO
	assert_int_equal(cairn_fszip_decompress(CAIRN_CAT_LZO, b, 8, out, n, &got), CAIRN_ECORRUPT);
#else
	assert_int_equal(cairn_fszip_decompress(CAIRN_CAT_LZO, b, 8, out, n, &got), CAIRN_EUNSUPPORTED);
	assert_non_null(strstr(cairn_error_message(), "lzo"));
#endif
	assert_int_equal(cairn_fszip_decompress((enum cairn_cat_compression)9, b, 8, out, n, &got), CAIRN_ECORRUPT);
	assert_int_equal(cairn_fszip_decompress(CAIRN_CAT_PLAIN, b, 8, out, n, &got), CAIRN_ECORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test(test_levels),
		cmocka_unit_test_setup_teardown(test_incompressible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sampled_skip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_barely_compressible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_context_reuse, setup, teardown),
		cmocka_unit_test(test_modes_round_trip),
		cmocka_unit_test(test_lz4_corrupt),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_mode_parse),
		cmocka_unit_test(test_fszip_round_trip),
		cmocka_unit_test(test_fszip_damage),
#ifdef CAIRN_HAVE_LZO
		cmocka_unit_test(test_fszip_lzo),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
