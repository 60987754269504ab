/* The repository index in memory: blob id -> where the blob is stored.
 *
 * It is the union of all index objects (format.h INDEX) plus the packs this
 * process wrote or adopted.  Memory: 52 bytes per blob in RAM plus a 4-byte
 * slot at most 70% full, and the entries array doubles as it grows: 70-95
 * bytes per blob measured (4M and 1M blobs).  Loaded with cairn_index_load_cached, the
 * bulk stays on disk in the local index cache (repo/idxcache.h) and RAM
 * holds the pack table, 8 bytes per 78 cached blobs and what is not cached
 * yet.  Lookups take a read lock, inserts a write lock, so backup
 * workers can look up while the writer thread inserts.
 */
#ifndef CAIRN_REPO_INDEX_H
#define CAIRN_REPO_INDEX_H

#include "repo/format.h"
#include "repo/pack.h"
#include "repo/repo.h"

#include <stdbool.h>
#include <stdio.h>
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

/* Condemned packs (format.h PRUNE): prune has taken their blobs out of
 * use at the unix time they carry, and may delete them later.  A pack is
 * condemned only while every index object naming it says so; adding it
 * as live (or fresh) makes it live.  add_pack_condemned adds a pack as
 * condemned at time t (if it is new, or was condemned later than t). */
int cairn_index_add_pack_condemned(struct cairn_index *idx, const uint8_t pack_id[CAIRN_PACK_ID_LEN], int64_t t,
				   uint32_t *ret_slot);
/* 0 for a live pack. */
int64_t cairn_index_pack_condemned(struct cairn_index *idx, uint32_t slot);
void cairn_index_set_pack_condemned(struct cairn_index *idx, uint32_t slot, int64_t t);
/* Backups must not reuse a blob whose only copy lies in a condemned pack:
 * with hide set, cairn_index_lookup does not find such blobs (inserting
 * one again then indexes the new copy).  Restore and check see them. */
void cairn_index_hide_condemned(struct cairn_index *idx, bool hide);
/* Borrowed pointer, valid until the next add_pack. */
const uint8_t *cairn_index_pack_id(struct cairn_index *idx, uint32_t slot);
size_t cairn_index_npacks(struct cairn_index *idx);

/* Inserts ref; returns 1 if added, 0 if the id was already known.  A
 * known id whose entry lies in a condemned pack is replaced by a ref in a
 * live pack (returns 1). */
int cairn_index_insert(struct cairn_index *idx, const struct cairn_blob_ref *ref);
/* 0 and *ret filled, or CAIRN_ENOTFOUND (no message set: it is expected). */
int cairn_index_lookup(struct cairn_index *idx, const uint8_t id[CAIRN_ID_LEN], struct cairn_blob_ref *ret);
size_t cairn_index_count(struct cairn_index *idx);

/* For prune, which walks and rewrites the whole index on one thread: the
 * position of an id's entry (-1 if unknown; condemned ones included) and
 * the entry array itself (borrowed, valid until the next insert; entries
 * may be changed in place except for their ids). */
long cairn_index_lookup_pos(struct cairn_index *idx, const uint8_t id[CAIRN_ID_LEN]);
struct cairn_blob_ref *cairn_index_entries(struct cairn_index *idx, size_t *ret_n);

typedef int (*cairn_index_fn)(const struct cairn_blob_ref *ref, void *ud);
int cairn_index_foreach(struct cairn_index *idx, cairn_index_fn fn, void *ud);
/* Every entry cairn_index_lookup can return, once each (condemned ones
 * included): the RAM ones, then, with a cache (cairn_index_load_cached),
 * the cache's in id order but those RAM shadows, read a page at a time,
 * so memory stays what the load took.  A cache page that fails its check
 * stops the walk with CAIRN_ECORRUPT (and drops the file).  fn returning
 * non-zero stops it too, with that value. */
int cairn_index_foreach_resolved(struct cairn_index *idx, cairn_index_fn fn, void *ud);
/* A temporary file for sorted runs of entries in dir, unlinked (O_TMPFILE
 * where the file system has it), open for writing and reading back: the
 * cache rebuild's runs, and engine/packsort.c's. */
int cairn_index_run_file(const char *dir, FILE **ret);

/* Loads every index object of the repository.  A damaged index object is a
 * hard error when strict, otherwise it is skipped and counted in
 * *ret_damaged (may be NULL). */
int cairn_index_load(struct cairn_index *idx, struct cairn_repo *repo, bool strict, size_t *ret_damaged);
/* Same, reporting each damaged index object to fn instead of the log. */
typedef void (*cairn_damage_fn)(const char *object, const char *what, void *ud);
int cairn_index_load_ex(struct cairn_index *idx, struct cairn_repo *repo, bool strict, cairn_damage_fn fn, void *ud,
			size_t *ret_damaged, size_t *ret_objects);

/* Tests: entries per sorted run when the cache is built (0: the default,
 * 1M); see index.c. */
void cairn_index_set_cache_run_entries(size_t n);
/* Loads the index for lookups (backup, restore, diff) through the local
 * index cache of state_dir (repo/idxcache.h): the cache when it still
 * matches the repository's index objects, with the objects added since
 * loaded into RAM on top (merged into the cache once they pass a
 * threshold); the whole index, rebuilding the cache, when it is missing,
 * damaged or older than a prune or repair (rebuilt from the index objects
 * in sorted runs of bounded size, never the whole index in RAM).  Damaged index objects are
 * skipped (not strict).  state_dir NULL: cairn_index_load.  With a cache,
 * cairn_index_entries and cairn_index_lookup_pos see only the RAM part:
 * prune, check and repair load the whole index instead. */
int cairn_index_load_cached(struct cairn_index *idx, struct cairn_repo *repo, const char *state_dir,
			    size_t *ret_damaged);

/* Merges the repository's small index objects (under an eighth of the
 * usual size: one per backup of a little-changed volume) into objects of
 * the usual size when there are at least min_small (>= 2) of them: writes
 * the new objects create-only, then deletes the ones merged.  Takes the
 * lease, as repair does.  *ret_old: objects merged and deleted; *ret_new:
 * objects written. */
int cairn_index_compact(struct cairn_repo *repo, size_t min_small, size_t *ret_old, size_t *ret_new);

/* Background compaction, after a backup's (or copy's) own work: when at
 * least CAIRN_INDEX_COMPACT_BACKGROUND small index objects are not in the
 * local index cache idx was loaded with (all of them when it has none),
 * merges the smallest of them, at most CAIRN_INDEX_COMPACT_BACKGROUND_MAX
 * and one object's worth of entries (CAIRN_INDEX_OBJECT_ENTRIES, about
 * 14 MiB of RAM), as cairn_index_compact does.  Objects the cache names
 * are left alone, so this host's cache stays valid.  16: every backup
 * reads each object newer than its cache one by one at start-up (a GET
 * each, 20-50 ms on S3), so 16 keep that under the 1 s start-up aimed at,
 * and a merge costs a read of at most 16 x 1/8 object.  A busy lease
 * (prune, repair) or an append-only credential skips it (0, nothing
 * done). */
#define CAIRN_INDEX_COMPACT_BACKGROUND 16
#define CAIRN_INDEX_COMPACT_BACKGROUND_MAX 256
int cairn_index_compact_background(struct cairn_index *idx, struct cairn_repo *repo, size_t *ret_old,
				   size_t *ret_new);
/* counts[s] (s < n) gets how many entries lie in pack slot s: from the
 * local index cache's pack table and the RAM entries, without walking
 * every cached entry (a copy asks it of a 50M-blob source). */
int cairn_index_count_by_pack(struct cairn_index *idx, uint32_t *counts, size_t n);
/* The names (32 bytes each, sorted) of the index objects the local index
 * cache idx was loaded with holds; NULL and 0 without one.  Borrowed. */
const uint8_t *cairn_index_cached_objects(struct cairn_index *idx, size_t *ret_n);

/* Loads one index object (key "index/<64 hex>", size as its listing gave
 * it or CAIRN_SIZE_UNKNOWN): CAIRN_ENOTFOUND when it is gone,
 * CAIRN_ECORRUPT / CAIRN_EVERSION when damaged (also when larger than
 * format.h allows, then unread).  obj and body are scratch buffers. */
int cairn_index_load_object(struct cairn_index *idx, struct cairn_repo *repo, struct cairn_aead *a, const char *key,
			    uint64_t size, struct cairn_buf *obj, struct cairn_buf *body);

/* Adopts packs no index object names (left by an interrupted backup): reads
 * their TOCs and adds their chunks as fresh (not their tree nodes, whose
 * children may never have been uploaded: index.c).  Returns the number
 * adopted.
 * Fails with CAIRN_ECORRUPT when a pack the index names (and does not hold
 * condemned) is missing from the store. */
int cairn_index_adopt_orphans(struct cairn_index *idx, struct cairn_repo *repo);

/* Writes the fresh packs with their blobs (cairn_index_write_picked()),
 * then marks them not fresh; *ret_bytes gets the bytes written.  No-op
 * when nothing is fresh. */
int cairn_index_write_fresh(struct cairn_index *idx, struct cairn_repo *repo, uint64_t *ret_bytes);

/* Called after each index object is stored, with its key and size. */
typedef int (*cairn_index_written_fn)(const char *key, uint64_t bytes, void *ud);
/* Writes the packs at the slots s < npick with pick[s] set, with all their
 * entries, as index objects (cairn_index_encode, cairn_index_put) of at
 * most CAIRN_INDEX_OBJECT_ENTRIES entries each, a pack's entries never
 * split (format.h INDEX); written (may be NULL) hears of each object. */
int cairn_index_write_picked(struct cairn_index *idx, struct cairn_repo *repo, const bool *pick, size_t npick,
			     cairn_index_written_fn written, void *ud);

/* Encodes an index object body naming the packs at slots (in that order)
 * and the entries at the given positions, each of which must lie in one
 * of those packs: version 2 when a pack is condemned, else version 1. */
int cairn_index_encode(struct cairn_index *idx, const uint32_t *slots, size_t nslots, const uint32_t *entries,
		       size_t nentries, struct cairn_buf *body);
/* Seals body as an index object under a new random name (ret_key gets
 * "index/<64 hex>") and writes it create-only. */
int cairn_index_put(struct cairn_repo *repo, const void *body, size_t len, char ret_key[96], uint64_t *ret_bytes);

/* Codec of an index object's opened body (fuzzed).  Decoding inserts into idx
 * with the object's pack ids mapped to slots of idx. */
int cairn_index_decode(struct cairn_index *idx, const uint8_t *data, size_t len);

#endif
