/* compress/: per-chunk zstd with the "store raw when it does not pay" rule. */
#include "helpers.h"

#include "compress/compress.h"
#include "util/cleanup.h"

static int setup(void **state)
{
	struct cairn_zctx *z = NULL;
	ck_ok(cairn_zctx_new(1, &z));
	*state = z;
	return 0;
}

static int teardown(void **state)
{
	cairn_zctx_free(*state);
	return 0;
}

static void round_trip(struct cairn_zctx *z, const uint8_t *in, size_t len, size_t *ret_clen)
{
	size_t cap = cairn_compress_bound(len);
	assert_true(cap >= len);
	uint8_t *c = malloc(cap);
	uint8_t *back = malloc(len ? len : 1);
	assert_non_null(c);
	assert_non_null(back);
	size_t clen = 12345;
	ck_ok(cairn_compress(z, in, len, c, cap, &clen));
	if (clen) {
		/* Compressed only when it saves at least 1/32. */
		assert_true(clen < len - len / 32);
		ck_ok(cairn_decompress(z, c, clen, back, len));
		assert_memory_equal(back, in, len);
	}
	*ret_clen = clen;
	free(c);
	free(back);
}

static void test_round_trip(void **state)
{
	struct cairn_zctx *z = *state;
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
		struct cairn_zctx *z = NULL;
		ck_ok(cairn_zctx_new(levels[i], &z));
		size_t clen;
		round_trip(z, d, sizeof(d), &clen);
		assert_true(clen > 0);
		cairn_zctx_free(z);
	}
	cairn_zctx_free(NULL);
}

static void test_incompressible(void **state)
{
	struct cairn_zctx *z = *state;
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
	ck_ok(cairn_compress(z, "", 0, out, sizeof(out), &clen));
	assert_int_equal(clen, 0);
}

/* Saving less than 1/32 is not worth a decompression pass. */
static void test_barely_compressible(void **state)
{
	struct cairn_zctx *z = *state;
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
	struct cairn_zctx *z = *state;
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
	struct cairn_zctx *z = *state;
	enum { N = 10000 };
	uint8_t d[N], c[N + 1024], back[N + 64];
	th_fill_text(d, N, 1);
	size_t clen = 0;
	ck_ok(cairn_compress(z, d, N, c, sizeof(c), &clen));
	assert_true(clen > 0);
	ck_err(cairn_decompress(z, c, clen, back, N - 1), CAIRN_ECORRUPT);
	ck_err(cairn_decompress(z, c, clen, back, N + 1), CAIRN_ECORRUPT);
	ck_err(cairn_decompress(z, c, clen, back, N + 64), CAIRN_ECORRUPT);
	ck_err(cairn_decompress(z, c, clen, back, 0), CAIRN_ECORRUPT);
	/* Truncated frames. */
	ck_err(cairn_decompress(z, c, clen - 1, back, N), CAIRN_ECORRUPT);
	ck_err(cairn_decompress(z, c, clen / 2, back, N), CAIRN_ECORRUPT);
	ck_err(cairn_decompress(z, c, 0, back, N), CAIRN_ECORRUPT);
	/* The context is still good. */
	ck_ok(cairn_decompress(z, c, clen, back, N));
	assert_memory_equal(back, d, N);
}

static void test_garbage(void **state)
{
	struct cairn_zctx *z = *state;
	uint8_t out[4096];
	for (uint64_t seed = 0; seed < 50; seed++) {
		uint8_t g[300];
		th_fill(g, sizeof(g), seed);
		ck_err(cairn_decompress(z, g, sizeof(g), out, sizeof(out)), CAIRN_ECORRUPT);
	}
	/* A valid frame magic followed by garbage. */
	uint8_t g[64];
	th_fill(g, sizeof(g), 77);
	g[0] = 0x28;
	g[1] = 0xb5;
	g[2] = 0x2f;
	g[3] = 0xfd;
	ck_err(cairn_decompress(z, g, sizeof(g), out, sizeof(out)), CAIRN_ECORRUPT);

	/* Two frames back to back decode to more than expected. */
	uint8_t d[1000], c[4096];
	th_fill_text(d, sizeof(d), 2);
	size_t clen = 0;
	ck_ok(cairn_compress(z, d, sizeof(d), c, sizeof(c) / 2, &clen));
	assert_true(clen > 0);
	memcpy(c + clen, c, clen);
	ck_err(cairn_decompress(z, c, 2 * clen, out, sizeof(d)), CAIRN_ECORRUPT);
}

/* Many chunks through one context, as a backup worker does. */
static void test_context_reuse(void **state)
{
	struct cairn_zctx *z = *state;
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
