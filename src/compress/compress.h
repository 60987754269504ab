/* Per-chunk zstd compression (the zstd library, small public API).
 *
 * A chunk is stored compressed only when that saves at least 1/32 of it:
 * incompressible data (media, archives, encrypted files) is then stored raw
 * and restores without a decompression pass.  Chunks of 16 KiB and more
 * whose sampled bytes look uniformly random are stored raw without trying
 * zstd at all (a failed pass costs 10x the sample test).  Contexts are per
 * thread. */
#ifndef CAIRN_COMPRESS_COMPRESS_H
#define CAIRN_COMPRESS_COMPRESS_H

#include <stddef.h>

struct cairn_zctx;

int cairn_zctx_new(int level, struct cairn_zctx **ret);
void cairn_zctx_free(struct cairn_zctx *z);

/* Worst-case output size for len input bytes. */
size_t cairn_compress_bound(size_t len);

/* Compresses in into out (cap >= cairn_compress_bound(len)).  *ret_len is the
 * compressed size, or 0 when compression does not pay (store raw). */
int cairn_compress(struct cairn_zctx *z, const void *in, size_t len, void *out, size_t cap, size_t *ret_len);

/* Decompresses exactly expected bytes; anything else is CAIRN_ECORRUPT. */
int cairn_decompress(struct cairn_zctx *z, const void *in, size_t len, void *out, size_t expected);

#endif
