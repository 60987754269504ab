/* The 52-byte blob record of a pack's table of contents and of an index
 * object (format.h PACK, INDEX): one layout, named offsets.  The two
 * differ only in their last 8 bytes: a TOC record ends in the blob's
 * offset (u64), an index record in the pack's position in the object's
 * pack list (u32) and the offset (u32).  Below both pack.c and index.c. */
#ifndef CAIRN_REPO_RECORD_H
#define CAIRN_REPO_RECORD_H

#include "repo/format.h"
#include "util/buf.h"

#include <stdint.h>
#include <string.h>

enum {
	CAIRN_REC_ID = 0,           /* id (32) */
	CAIRN_REC_TYPE = 32,        /* u8, enum cairn_blob_type */
	CAIRN_REC_FLAGS = 33,       /* u8, CAIRN_BLOB_ZSTD or _LZ4 */
	CAIRN_REC_RESERVED = 34,    /* u16, 0 */
	CAIRN_REC_RAW_LEN = 36,     /* u32 */
	CAIRN_REC_STORED_LEN = 40,  /* u32 */
	CAIRN_REC_TOC_OFFSET = 44,  /* u64: TOC records */
	CAIRN_REC_INDEX_PACK = 44,  /* u32: index records */
	CAIRN_REC_INDEX_OFFSET = 48, /* u32: index records */
	CAIRN_REC_LEN = 52,
};

_Static_assert(CAIRN_REC_LEN == CAIRN_TOC_ENTRY_LEN && CAIRN_REC_LEN == CAIRN_INDEX_ENTRY_LEN,
	       "TOC and index records share one layout");

/* The first 44 bytes, common to both. */
static inline void cairn_rec_put_head(uint8_t rec[CAIRN_REC_LEN], const struct cairn_blob_ref *e)
{
	memcpy(rec + CAIRN_REC_ID, e->id, CAIRN_ID_LEN);
	rec[CAIRN_REC_TYPE] = e->type;
	rec[CAIRN_REC_FLAGS] = e->flags;
	cairn_put_le16(rec + CAIRN_REC_RESERVED, 0);
	cairn_put_le32(rec + CAIRN_REC_RAW_LEN, e->raw_len);
	cairn_put_le32(rec + CAIRN_REC_STORED_LEN, e->stored_len);
}

static inline void cairn_rec_get_head(const uint8_t rec[CAIRN_REC_LEN], struct cairn_blob_ref *e)
{
	memcpy(e->id, rec + CAIRN_REC_ID, CAIRN_ID_LEN);
	e->type = rec[CAIRN_REC_TYPE];
	e->flags = rec[CAIRN_REC_FLAGS];
	e->raw_len = cairn_le32(rec + CAIRN_REC_RAW_LEN);
	e->stored_len = cairn_le32(rec + CAIRN_REC_STORED_LEN);
}

static inline void cairn_toc_rec_encode(uint8_t rec[CAIRN_REC_LEN], const struct cairn_blob_ref *e)
{
	cairn_rec_put_head(rec, e);
	cairn_put_le64(rec + CAIRN_REC_TOC_OFFSET, e->offset);
}

/* Fills all of *e but its offset and pack, and returns the offset as
 * written (u64: the caller checks it against the pack). */
static inline uint64_t cairn_toc_rec_decode(const uint8_t rec[CAIRN_REC_LEN], struct cairn_blob_ref *e)
{
	cairn_rec_get_head(rec, e);
	return cairn_le64(rec + CAIRN_REC_TOC_OFFSET);
}

static inline void cairn_index_rec_encode(uint8_t rec[CAIRN_REC_LEN], const struct cairn_blob_ref *e,
					  uint32_t pack_pos)
{
	cairn_rec_put_head(rec, e);
	cairn_put_le32(rec + CAIRN_REC_INDEX_PACK, pack_pos);
	cairn_put_le32(rec + CAIRN_REC_INDEX_OFFSET, e->offset);
}

/* Fills all of *e but its pack, and returns the pack's position in the
 * object's pack list (the caller maps and checks it). */
static inline uint32_t cairn_index_rec_decode(const uint8_t rec[CAIRN_REC_LEN], struct cairn_blob_ref *e)
{
	cairn_rec_get_head(rec, e);
	e->offset = cairn_le32(rec + CAIRN_REC_INDEX_OFFSET);
	return cairn_le32(rec + CAIRN_REC_INDEX_PACK);
}

#endif
