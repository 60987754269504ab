/* The repository index in memory: blob id -> where the blob is stored.
 *
 * It is the union of all index objects (format.h INDEX) plus the packs this
 * process wrote or adopted.  Memory: 52 bytes per blob plus a 4-byte slot at
 * most 70% full, so about 58 bytes per blob (a 4 GiB volume at 64 KiB chunks
 * is 65,536 blobs = 3.8 MiB; 1 TiB is ~1 GiB at 64 KiB and ~60 MiB at
 * 1 MiB chunks).  Lookups take a read lock, inserts a write lock, so backup
 * workers can look up while the writer thread inserts.
 */
#ifndef CAIRN_REPO_INDEX_H
#define CAIRN_REPO_INDEX_H

#include "repo/format.h"
#include "repo/repo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cairn_index;

int cairn_index_new(struct cairn_index **ret);
void cairn_index_free(struct cairn_index *idx);
static inline void cairn_index_freep(struct cairn_index **p)
{
	cairn_index_free(*p);
}

/* Pack table.  A pack marked "fresh" was written or adopted by this process
 * and goes into the index object written by cairn_index_write_fresh(). */
int cairn_index_add_pack(struct cairn_index *idx, const uint8_t pack_id[CAIRN_PACK_ID_LEN], bool fresh,
			 uint32_t *ret_slot);
int cairn_index_find_pack(struct cairn_index *idx, const uint8_t pack_id[CAIRN_PACK_ID_LEN], uint32_t *ret_slot);
/* Borrowed pointer, valid until the next add_pack. */
const uint8_t *cairn_index_pack_id(struct cairn_index *idx, uint32_t slot);
size_t cairn_index_npacks(struct cairn_index *idx);

/* Inserts ref; returns 1 if added, 0 if the id was already known. */
int cairn_index_insert(struct cairn_index *idx, const struct cairn_blob_ref *ref);
/* 0 and *ret filled, or CAIRN_ENOTFOUND (no message set: it is expected). */
int cairn_index_lookup(struct cairn_index *idx, const uint8_t id[CAIRN_ID_LEN], struct cairn_blob_ref *ret);
size_t cairn_index_count(struct cairn_index *idx);

typedef int (*cairn_index_fn)(const struct cairn_blob_ref *ref, void *ud);
int cairn_index_foreach(struct cairn_index *idx, cairn_index_fn fn, void *ud);

/* Loads every index object of the repository.  A damaged index object is a
 * hard error when strict, otherwise it is skipped and counted in
 * *ret_damaged (may be NULL). */
int cairn_index_load(struct cairn_index *idx, struct cairn_repo *repo, bool strict, size_t *ret_damaged);
/* Same, reporting each damaged index object to fn instead of the log. */
typedef void (*cairn_damage_fn)(const char *object, const char *what, void *ud);
int cairn_index_load_ex(struct cairn_index *idx, struct cairn_repo *repo, bool strict, cairn_damage_fn fn, void *ud,
			size_t *ret_damaged, size_t *ret_objects);

/* Adopts packs no index object names (left by an interrupted backup): reads
 * their TOCs and adds their blobs as fresh.  Returns the number adopted. */
int cairn_index_adopt_orphans(struct cairn_index *idx, struct cairn_repo *repo);

/* Writes one index object holding the blobs of all fresh packs, then marks
 * them not fresh.  No-op when nothing is fresh. */
int cairn_index_write_fresh(struct cairn_index *idx, struct cairn_repo *repo, uint64_t *ret_bytes);

/* Codec of an index object's opened body (fuzzed).  Decoding inserts into idx
 * with the object's pack ids mapped to slots of idx. */
int cairn_index_decode(struct cairn_index *idx, const uint8_t *data, size_t len);

/* Store key of a pack: "packs/ab/<64 hex>". */
void cairn_pack_key(const uint8_t pack_id[CAIRN_PACK_ID_LEN], char out[80]);
/* Parses a pack key back to its id; CAIRN_EINVAL if it is not one. */
int cairn_pack_key_parse(const char *key, uint8_t pack_id[CAIRN_PACK_ID_LEN]);

#endif
