#include "compress/compress.h"
#include "util/error.h"

#include <stdlib.h>
#include <zstd.h>

struct cairn_zctx {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
	int level;
};

int cairn_zctx_new(int level, struct cairn_zctx **ret)
{
	struct cairn_zctx *z = calloc(1, sizeof(*z));
	if (!z)
		return CAIRN_ENOMEM;
	z->c = ZSTD_createCCtx();
	z->d = ZSTD_createDCtx();
	z->level = level;
	if (!z->c || !z->d) {
		cairn_zctx_free(z);
		return CAIRN_ENOMEM;
	}
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, level);
	/* No checksum or size fields we don't need: the AEAD tag and the
	 * chunk id already cover integrity and the raw length is in the TOC. */
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_checksumFlag, 0);
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_contentSizeFlag, 1);
	*ret = z;
	return 0;
}

void cairn_zctx_free(struct cairn_zctx *z)
{
	if (!z)
		return;
	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

size_t cairn_compress_bound(size_t len)
{
	return ZSTD_compressBound(len);
}

int cairn_compress(struct cairn_zctx *z, const void *in, size_t len, void *out, size_t cap, size_t *ret_len)
{
	size_t n = ZSTD_compress2(z->c, out, cap, in, len);
	if (ZSTD_isError(n))
		return cairn_error_set(CAIRN_EIO, "zstd: %s", ZSTD_getErrorName(n));
	*ret_len = n < len - len / 32 ? n : 0;
	return 0;
}

int cairn_decompress(struct cairn_zctx *z, const void *in, size_t len, void *out, size_t expected)
{
	size_t n = ZSTD_decompressDCtx(z->d, out, expected, in, len);
	if (ZSTD_isError(n) || n != expected)
		return cairn_error_set(CAIRN_ECORRUPT, "zstd: %s",
				       ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong decompressed size");
	return 0;
}
