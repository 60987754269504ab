/* Blobs and packs (format.h BLOB, PACK).
 *
 * A blob codec holds one thread's contexts (id hasher, AEAD, compressor); encoding
 * and decoding a blob never allocates once the scratch buffer has grown.
 */
#ifndef CAIRN_REPO_PACK_H
#define CAIRN_REPO_PACK_H

#include "compress/compress.h"
#include "repo/format.h"
#include "repo/repo.h"
#include "util/buf.h"

#include <stdbool.h>
#include <string.h>

struct cairn_blob_codec {
	struct cairn_hasher *hasher;
	struct cairn_aead *aead;
	struct cairn_comp *comp; /* compresses as repo->compression says */
	struct cairn_buf scratch;
};

int cairn_blob_codec_init(struct cairn_blob_codec *c, const struct cairn_repo *repo);
void cairn_blob_codec_free(struct cairn_blob_codec *c);

/* A blob's additional data: its letter and its id (format.h BLOB). */
static inline void cairn_blob_aad(uint8_t aad[1 + CAIRN_ID_LEN], const uint8_t id[CAIRN_ID_LEN])
{
	aad[0] = CAIRN_AAD_BLOB;
	memcpy(aad + 1, id, CAIRN_ID_LEN);
}

/* Seals plain (whose id the caller computed) and appends it to out;
 * compress = compress as the codec's repository handle says (it may still
 * store raw).  *ret_flags gets CAIRN_BLOB_ZSTD or CAIRN_BLOB_LZ4 when compressed;
 * *ret_stored the number of bytes appended. */
int cairn_blob_encode(struct cairn_blob_codec *c, const uint8_t id[CAIRN_ID_LEN], const void *plain, size_t len,
		      bool compress, struct cairn_buf *out, uint8_t *ret_flags, uint32_t *ret_stored);

/* Opens a sealed blob of ref into out (ref->raw_len bytes) and verifies its
 * id.  Returns CAIRN_ECORRUPT with a message naming the blob on any damage. */
int cairn_blob_decode(struct cairn_blob_codec *c, const struct cairn_blob_ref *ref, const uint8_t *sealed,
		      uint8_t *out);

/* One TOC entry; ref.pack is unused (0) and ref.offset is the offset. */
struct cairn_toc_entry {
	struct cairn_blob_ref ref;
};

/* Accumulates blobs into one pack in memory. */
struct cairn_pack_writer {
	uint8_t id[CAIRN_PACK_ID_LEN];
	struct cairn_buf data;
	struct cairn_toc_entry *toc;
	size_t n, cap;
};

/* Starts a new pack with a fresh random id (buffers are reused). */
int cairn_pack_writer_begin(struct cairn_pack_writer *w);
/* Appends an already sealed blob; ref->offset is set. */
int cairn_pack_writer_add(struct cairn_pack_writer *w, struct cairn_blob_ref *ref, const uint8_t *sealed);
/* Appends the sealed TOC and the trailer; w->data is then the whole pack. */
int cairn_pack_writer_finish(struct cairn_pack_writer *w, struct cairn_aead *a);
void cairn_pack_writer_free(struct cairn_pack_writer *w);

/* Reads and opens a pack's TOC (a stat and one ranged get, two when the
 * TOC is over 16 KiB).  *ret is malloc'd. */
int cairn_pack_read_toc(struct cairn_repo *repo, struct cairn_aead *a, const uint8_t pack_id[CAIRN_PACK_ID_LEN],
			struct cairn_toc_entry **ret, size_t *ret_n, uint64_t *ret_pack_size);

/* The sealed TOC of a pack of n blobs, with the trailer: the bytes at the
 * end of the pack that cairn_pack_read_toc_sized needs (format.h PACK). */
static inline uint64_t cairn_pack_tail_len(size_t n)
{
	return CAIRN_AEAD_OVERHEAD + 4 + (uint64_t)n * CAIRN_TOC_ENTRY_LEN + CAIRN_PACK_TRAILER_LEN;
}

/* As cairn_pack_read_toc for a pack whose size the caller knows (from a
 * record of its own, e.g. the index): no stat, and one ranged get of its
 * last tail_len bytes when they hold the TOC (cairn_pack_tail_len), else
 * a second.  A wrong size reads no trailer there: CAIRN_ECORRUPT (or the
 * store's CAIRN_EINVAL for an offset past the end). */
int cairn_pack_read_toc_sized(struct cairn_repo *repo, struct cairn_aead *a, const uint8_t pack_id[CAIRN_PACK_ID_LEN],
			      uint64_t size, uint64_t tail_len, struct cairn_toc_entry **ret, size_t *ret_n);

/* Opens the TOC of pack pack_id, size bytes long, from its last tail_len
 * bytes (tail) in memory.  When the TOC begins before them, *ret_need
 * says how many are needed and nothing else is returned (0 otherwise).
 * CAIRN_ECORRUPT when they do not end in a trailer or the TOC does not
 * authenticate or parse. */
int cairn_pack_open_tail(struct cairn_aead *a, const uint8_t pack_id[CAIRN_PACK_ID_LEN], const uint8_t *tail,
			 size_t tail_len, uint64_t size, struct cairn_toc_entry **ret, size_t *ret_n, uint64_t *ret_need);

/* Parses an opened TOC body; data_end is where the blobs end in the pack
 * (every entry must lie below it).  Fuzzed. */
int cairn_toc_parse(const uint8_t *data, size_t len, uint64_t data_end, struct cairn_toc_entry **ret,
		    size_t *ret_n);

/* Store key of a pack: "packs/ab/<64 hex>" (cairn_object_name()). */
void cairn_pack_key(const uint8_t pack_id[CAIRN_PACK_ID_LEN], char out[80]);
/* Parses a pack key back to its id; CAIRN_EINVAL if it is not one. */
int cairn_pack_key_parse(const char *key, uint8_t pack_id[CAIRN_PACK_ID_LEN]);

#endif
