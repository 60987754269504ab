#include "compress/compress.h"
#include "util/error.h"

#include <lz4.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

struct cairn_comp {
	struct cairn_comp_mode mode;
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
	void *lz4_state; /* LZ4_sizeofState() bytes: not on the thread's stack */
};

static const char *const algo_names[] = {
	[CAIRN_COMP_AUTO] = "auto",
	[CAIRN_COMP_ZSTD] = "zstd",
	[CAIRN_COMP_LZ4] = "lz4",
	[CAIRN_COMP_NONE] = "none",
};

const char *cairn_comp_algo_name(enum cairn_comp_algo a)
{
	return (unsigned)a < sizeof(algo_names) / sizeof(algo_names[0]) ? algo_names[a] : "?";
}

int cairn_comp_algo_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(algo_names) / sizeof(algo_names[0]); i++)
		if (strcmp(name, algo_names[i]) == 0)
			return (int)i;
	return -1;
}

int cairn_comp_mode_parse(const char *s, struct cairn_comp_mode *ret)
{
	struct cairn_comp_mode m = { 0 };
	if (strncmp(s, "zstd:", 5) == 0) {
		char *end;
		long l = strtol(s + 5, &end, 10);
		if (!s[5] || *end || l < CAIRN_COMP_ZSTD_LEVEL_MIN || l > CAIRN_COMP_ZSTD_LEVEL_MAX || l == 0)
			return cairn_error_set(CAIRN_EINVAL, "invalid zstd level '%s' (%d..%d, not 0)", s + 5,
					       CAIRN_COMP_ZSTD_LEVEL_MIN, CAIRN_COMP_ZSTD_LEVEL_MAX);
		m.algo = CAIRN_COMP_ZSTD;
		m.level = (int)l;
	} else {
		int a = cairn_comp_algo_from_name(s);
		if (a < 0)
			return cairn_error_set(CAIRN_EINVAL, "unknown compression '%s' (auto, zstd[:LEVEL], lz4, none)",
					       s);
		m.algo = (enum cairn_comp_algo)a;
		if (m.algo == CAIRN_COMP_ZSTD)
			m.level = CAIRN_COMP_ZSTD_LEVEL_DEFAULT;
	}
	*ret = m;
	return 0;
}

const char *cairn_comp_mode_format(const struct cairn_comp_mode *m, char *buf, size_t size)
{
	if (m->algo == CAIRN_COMP_ZSTD)
		snprintf(buf, size, "zstd:%d", m->level);
	else
		snprintf(buf, size, "%s", cairn_comp_algo_name(m->algo));
	return buf;
}

int cairn_comp_new(const struct cairn_comp_mode *m, struct cairn_comp **ret)
{
	struct cairn_comp *z = calloc(1, sizeof(*z));
	if (!z)
		return cairn_error_nomem();
	z->mode = m ? *m : (struct cairn_comp_mode){ CAIRN_COMP_AUTO, 0 };
	if (z->mode.algo == CAIRN_COMP_AUTO)
		z->mode.level = CAIRN_COMP_AUTO_LEVEL;
	z->c = ZSTD_createCCtx();
	z->d = ZSTD_createDCtx();
	z->lz4_state = malloc((size_t)LZ4_sizeofState());
	if (!z->c || !z->d || !z->lz4_state) {
		cairn_comp_free(z);
		return cairn_error_nomem();
	}
	if (z->mode.level)
		ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, z->mode.level);
	/* No checksum or size fields we don't need: the AEAD tag and the
	 * chunk id already cover integrity and the raw length is in the TOC. */
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_checksumFlag, 0);
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_contentSizeFlag, 1);
	*ret = z;
	return 0;
}

void cairn_comp_free(struct cairn_comp *z)
{
	if (!z)
		return;
	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z->lz4_state);
	free(z);
}

size_t cairn_comp_bound(size_t len)
{
	size_t zb = ZSTD_compressBound(len);
	size_t lb = len <= LZ4_MAX_INPUT_SIZE ? (size_t)LZ4_compressBound((int)len) : 0;
	return zb > lb ? zb : lb;
}

/* Bytes sampled by the probe: SAMPLE_RUNS runs of SAMPLE_RUN bytes spread
 * evenly over the chunk, so a chunk that is half text is not judged by its
 * random half alone. */
#define SAMPLE_RUNS 16
#define SAMPLE_RUN 64
#define SAMPLE_MIN_LEN (16u << 10)
/* Sum of squared byte counts of the 1 KiB sample: uniform random bytes give
 * about 1024 + 1024 * 1023 / 256 = 5116 (standard deviation ~100); text,
 * tables and anything with a skewed byte distribution give several times
 * that.  Below the threshold zstd would not save 1/32 either: on the
 * benchmark image the test skips 19,668 of 19,668 incompressible chunks
 * and 432 barely compressible ones (1.6 MiB of savings in 2.5 GiB). */
#define RANDOM_SQUARES_MAX 8000

/* Whether the chunk looks like random bytes (media, archives, ciphertext):
 * a 1 KiB byte histogram costs ~3 us where a failed zstd pass costs ~30 us. */
bool cairn_comp_looks_incompressible(const void *in, size_t len)
{
	const uint8_t *p = in;
	if (len < SAMPLE_MIN_LEN)
		return false;
	uint32_t count[256] = { 0 };
	size_t step = len / SAMPLE_RUNS;
	for (size_t k = 0; k < SAMPLE_RUNS; k++) {
		const uint8_t *q = p + k * step;
		for (size_t i = 0; i < SAMPLE_RUN; i++)
			count[q[i]]++;
	}
	uint64_t squares = 0;
	for (size_t i = 0; i < 256; i++)
		squares += (uint64_t)count[i] * count[i];
	return squares < RANDOM_SQUARES_MAX;
}

int cairn_comp_compress(struct cairn_comp *z, const void *in, size_t len, void *out, size_t cap, size_t *ret_len,
			enum cairn_comp_used *ret_used)
{
	*ret_len = 0;
	*ret_used = CAIRN_COMP_USED_RAW;
	if (z->mode.algo == CAIRN_COMP_NONE || len == 0 || cairn_comp_looks_incompressible(in, len))
		return 0;
	size_t n;
	enum cairn_comp_used used;
	if (z->mode.algo == CAIRN_COMP_LZ4) {
		if (len > LZ4_MAX_INPUT_SIZE)
			return 0;
		int k = LZ4_compress_fast_extState(z->lz4_state, in, out, (int)len, cap > INT32_MAX ? INT32_MAX : (int)cap,
						   1);
		if (k <= 0)
			return cairn_error_set(CAIRN_EIO, "lz4: compression failed");
		n = (size_t)k;
		used = CAIRN_COMP_USED_LZ4;
	} else {
		n = ZSTD_compress2(z->c, out, cap, in, len);
		if (ZSTD_isError(n))
			return cairn_error_set(CAIRN_EIO, "zstd: %s", ZSTD_getErrorName(n));
		used = CAIRN_COMP_USED_ZSTD;
	}
	if (n < len - len / 32) {
		*ret_len = n;
		*ret_used = used;
	}
	return 0;
}

int cairn_comp_decompress(struct cairn_comp *z, enum cairn_comp_used algo, const void *in, size_t len, void *out,
			  size_t expected)
{
	if (algo == CAIRN_COMP_USED_LZ4) {
		if (len > INT32_MAX || expected > INT32_MAX)
			return cairn_error_set(CAIRN_ECORRUPT, "lz4: too large");
		int k = LZ4_decompress_safe(in, out, (int)len, (int)expected);
		if (k < 0 || (size_t)k != expected)
			return cairn_error_set(CAIRN_ECORRUPT, "lz4: %s",
					       k < 0 ? "malformed data" : "wrong decompressed size");
		return 0;
	}
	if (algo != CAIRN_COMP_USED_ZSTD)
		return cairn_error_set(CAIRN_ECORRUPT, "unknown compression");
	size_t n = ZSTD_decompressDCtx(z->d, out, expected, in, len);
	if (ZSTD_isError(n) || n != expected)
		return cairn_error_set(CAIRN_ECORRUPT, "zstd: %s",
				       ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong decompressed size");
	return 0;
}
