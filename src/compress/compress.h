/* Per-chunk compression: zstd (the zstd library) or lz4 (liblz4), chosen
 * per repository and per backup, recorded per blob (format.h BLOB).
 *
 * A chunk is stored compressed only when that saves at least 1/32 of it:
 * incompressible data (media, archives, encrypted files) is then stored raw
 * and restores without a decompression pass.  Chunks of 16 KiB and more
 * whose sampled bytes look uniformly random are stored raw without trying
 * the compressor at all (a failed zstd pass costs 10x the sample test):
 * the probe runs in every mode but none, since no level of either
 * algorithm saves anything on such bytes.  A context is one thread's. */
#ifndef CAIRN_COMPRESS_COMPRESS_H
#define CAIRN_COMPRESS_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>

/* What a repository or a backup asks for (`--compression`). */
enum cairn_comp_algo {
	CAIRN_COMP_AUTO = 0, /* zstd at CAIRN_COMP_AUTO_LEVEL */
	CAIRN_COMP_ZSTD,
	CAIRN_COMP_LZ4,
	CAIRN_COMP_NONE,
};

/* The zstd level `auto` uses: the table of docs/design.md (compression)
 * picks it.  A repository stores "auto", not this number, so that a later
 * cairn may choose again. */
#define CAIRN_COMP_AUTO_LEVEL 3
/* `zstd` without a level. */
#define CAIRN_COMP_ZSTD_LEVEL_DEFAULT 3
#define CAIRN_COMP_ZSTD_LEVEL_MIN (-100)
#define CAIRN_COMP_ZSTD_LEVEL_MAX 22

struct cairn_comp_mode {
	enum cairn_comp_algo algo;
	int level; /* zstd only (not 0); 0 otherwise */
};

/* Parses "auto", "zstd", "zstd:LEVEL" (-100..22, not 0; negative levels
 * are zstd's --fast=N), "lz4" or "none".  CAIRN_EINVAL otherwise, with a
 * message. */
int cairn_comp_mode_parse(const char *s, struct cairn_comp_mode *ret);
/* The mode as the option spells it ("zstd:3"); buf of at least 16 bytes. */
const char *cairn_comp_mode_format(const struct cairn_comp_mode *m, char *buf, size_t size);
/* The config's "compression" name of an algorithm, and back (-1: none). */
const char *cairn_comp_algo_name(enum cairn_comp_algo a);
int cairn_comp_algo_from_name(const char *name);

/* What a compressed payload is, per blob. */
enum cairn_comp_used {
	CAIRN_COMP_USED_RAW = 0,
	CAIRN_COMP_USED_ZSTD,
	CAIRN_COMP_USED_LZ4,
};

struct cairn_comp;

/* A context compressing as m says (m NULL: auto) and decompressing both
 * algorithms. */
int cairn_comp_new(const struct cairn_comp_mode *m, struct cairn_comp **ret);
void cairn_comp_free(struct cairn_comp *z);

/* Worst-case output size for len input bytes, for either algorithm. */
size_t cairn_comp_bound(size_t len);

/* Compresses in into out (cap >= cairn_comp_bound(len)).  *ret_used is the
 * algorithm used and *ret_len the compressed size; CAIRN_COMP_USED_RAW
 * with *ret_len 0 when compression does not pay (store raw). */
int cairn_comp_compress(struct cairn_comp *z, const void *in, size_t len, void *out, size_t cap, size_t *ret_len,
			enum cairn_comp_used *ret_used);

/* Decompresses exactly expected bytes of what algo made; anything else is
 * CAIRN_ECORRUPT. */
int cairn_comp_decompress(struct cairn_comp *z, enum cairn_comp_used algo, const void *in, size_t len, void *out,
			  size_t expected);

/* Whether the probe would store these bytes raw without trying (exposed
 * for the tests and the measurement tool). */
bool cairn_comp_looks_incompressible(const void *in, size_t len);

#endif
