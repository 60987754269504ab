/* The local index cache: the repository index as a file in the state
 * directory, sorted by blob id in pages read on demand, so that a backup
 * or a restore looks blobs up without loading every index object into RAM.
 *
 * It is a copy, never the truth: it names the set of index objects it was
 * built from, and repo/index.c uses it only when every one of them is
 * still in the repository (objects added since are loaded into RAM on top
 * of it; an object gone means prune or repair rewrote the index, and the
 * cache is rebuilt).  Every byte is authenticated with a key derived from
 * the repository's local key (repo.h keys->local) and a random salt of the
 * file, so a file planted in the state directory, one of another
 * repository, or one damaged on disk is refused, never trusted.
 *
 * Layout (little-endian; pages of CAIRN_IDXCACHE_PAGE bytes):
 *
 *   page 0   header: "CAIRNIX1", version u32 (2), page size u32, repo id
 *            (16), salt (16), count u64 (entries), npages u64 (entry
 *            pages), nobjects u32, npacks u32, trailer offset u64, trailer
 *            length u64, trailer tag (16), zeros; the page's tag in its
 *            last 16 bytes.
 *   pages 1..npages
 *            entries sorted by id, CAIRN_IDXCACHE_PER_PAGE records of 52
 *            bytes a page (repo/record.h's index record, the pack field
 *            holding a position in the trailer's pack table), zeros, the
 *            page's tag in its last 16 bytes.
 *   trailer  the names of the index objects (32 bytes each, sorted), the
 *            pack table (id 32, condemned time u64, entries u64: how many
 *            of the file's entries lie in the pack; version 2, so a copy
 *            tells a pack it wants whole without walking every entry),
 *            and one fence per entry page (the first 8 bytes of its
 *            first id).  A file of version 1 is rebuilt.
 *
 * Tags are GMAC (crypto.h) under key = HKDF(local key, label naming the
 * salt): one key per file, and a page's number as the nonce, so no nonce
 * repeats under one key.  The header and trailer are checked when the file
 * is opened (the trailer is about 1/500 of the file); an entry page each
 * time a lookup reads it (about a microsecond).  A page
 * that fails makes the lookup fail with CAIRN_ECORRUPT; the caller drops
 * the file (cairn_idxcache_discard) and the next open rebuilds it.
 *
 * A lookup reads the fences (in RAM: 8 bytes per 78 entries) and one
 * entry page with pread() (not mmap: mapped pages count in the RSS, and
 * the kernel maps 16 neighbours on each fault, so a large backup's
 * lookups would map most of the file; a read copies 4 KiB from the page
 * cache).  The file is replaced by rename, never changed in place, so two
 * processes writing it at once each put a whole file there and a reader
 * keeps the one it opened.
 */
#ifndef CAIRN_REPO_IDXCACHE_H
#define CAIRN_REPO_IDXCACHE_H

#include "repo/format.h"

#include <stddef.h>
#include <stdint.h>

#define CAIRN_IDXCACHE_PAGE 4096
#define CAIRN_IDXCACHE_TAG 16
#define CAIRN_IDXCACHE_PER_PAGE ((CAIRN_IDXCACHE_PAGE - CAIRN_IDXCACHE_TAG) / CAIRN_INDEX_ENTRY_LEN)

struct cairn_idxcache;

/* "<state_dir>/cache/<repo id hex>/index", creating the directories.
 * Callers pass the repository's instance (repo.h), never its id: two
 * members of a key family share the id and must not share a cache. */
int cairn_idxcache_path(const char *state_dir, const uint8_t repo_id[16], char **ret);

/* Maps and checks the cache at path: CAIRN_ENOTFOUND when there is none,
 * CAIRN_ECORRUPT (message set) when it is damaged, of another version or
 * of another repository. */
int cairn_idxcache_open(const char *path, const uint8_t local_key[32], const uint8_t repo_id[16],
			struct cairn_idxcache **ret);
void cairn_idxcache_close(struct cairn_idxcache *c);
static inline void cairn_idxcache_closep(struct cairn_idxcache **p)
{
	cairn_idxcache_close(*p);
}

uint64_t cairn_idxcache_count(const struct cairn_idxcache *c);
/* The index object names it was built from, sorted (32 bytes each). */
size_t cairn_idxcache_nobjects(const struct cairn_idxcache *c);
const uint8_t *cairn_idxcache_objects(const struct cairn_idxcache *c);
size_t cairn_idxcache_npacks(const struct cairn_idxcache *c);
/* Pack i's id (32 bytes, borrowed) and condemned time (0: live). */
const uint8_t *cairn_idxcache_pack(const struct cairn_idxcache *c, size_t i, int64_t *ret_condemned);

/* How many of the file's entries lie in pack i. */
uint64_t cairn_idxcache_pack_entries(const struct cairn_idxcache *c, size_t i);

/* 0 with *ret filled (pack: a position in the pack table), CAIRN_ENOTFOUND,
 * or CAIRN_ECORRUPT when the page it lies in fails its check.  Safe from
 * several threads at once. */
int cairn_idxcache_lookup(struct cairn_idxcache *c, const uint8_t id[CAIRN_ID_LEN], struct cairn_blob_ref *ret);
/* The i-th entry in id order (i < count); CAIRN_ECORRUPT as above. */
int cairn_idxcache_get(struct cairn_idxcache *c, uint64_t i, struct cairn_blob_ref *ret);

/* Removes the file at the cache's path if it is still the one mapped. */
void cairn_idxcache_discard(struct cairn_idxcache *c);

/* Writes a cache to path (a temporary name, fsync, rename): the object
 * names (sorted, 32 bytes each), the pack table, and the entries that
 * next yields in strictly increasing id order (it returns 1 with *ret
 * filled, 0 at the end, or a negative error). */
struct cairn_idxcache_pack_rec {
	uint8_t id[CAIRN_PACK_ID_LEN];
	int64_t condemned;
};
typedef int (*cairn_idxcache_next_fn)(void *ud, struct cairn_blob_ref *ret);
int cairn_idxcache_write(const char *path, const uint8_t local_key[32], const uint8_t repo_id[16],
			 const uint8_t *objects, size_t nobjects, const struct cairn_idxcache_pack_rec *packs,
			 size_t npacks, cairn_idxcache_next_fn next, void *ud);

#endif
