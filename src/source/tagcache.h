/* The change-tag cache: local state that lets a full-read backup skip the
 * HMAC of chunks that did not change since the previous backup.
 *
 * For every chunk of the last backup of a volume it keeps the chunk's GMAC
 * tag (crypto.h) and its id.  The next backup reads every chunk, computes
 * the tag (~6x cheaper than the id) and reuses the id when the tag matches
 * and the repository still indexes that id; otherwise it hashes as usual.
 * --full ignores the cache.  A cache belongs to one backup id: it is used
 * only when that backup is the parent of the new one, and replaced (write
 * to a temporary file, fsync, rename) only after the new manifest is
 * written.  It is never needed: deleting it costs one slower backup.
 *
 * File: header (56 bytes) = magic "CAIRNTC1" | repository id (16) |
 * backup id (16) | volume size u64 | chunk size u32 | reserved u32; then
 * blocks of up to CAIRN_TAGCACHE_BLOCK entries, each as u32 sealed length |
 * seal(local key, A = "L" || header || block number u64, entries), an entry
 * being tag (16) | id (32).  Memory: one block (768 KiB) per reader/writer.
 */
#ifndef CAIRN_SOURCE_TAGCACHE_H
#define CAIRN_SOURCE_TAGCACHE_H

#include "crypto/crypto.h"

#include <stdbool.h>
#include <stdint.h>

#define CAIRN_TAGCACHE_BLOCK 16384
#define CAIRN_TAGCACHE_HEADER_LEN 56

struct cairn_tag_entry {
	uint8_t tag[16];
	uint8_t id[CAIRN_ID_LEN];
};

struct cairn_tagcache_key {
	uint8_t repo_id[16];
	uint8_t backup_id[16];
	uint64_t size;
	uint32_t chunk_size;
};

/* Path of a volume's cache under a state directory (malloc'd). */
int cairn_tagcache_path(const char *state_dir, const uint8_t repo_id[16], const char *volume, char **ret);

struct cairn_tagcache_reader;
/* CAIRN_ENOTFOUND when there is no usable cache for exactly this key. */
int cairn_tagcache_open(const char *path, const uint8_t local_key[CAIRN_KEY_LEN],
			const struct cairn_tagcache_key *want, struct cairn_tagcache_reader **ret);
/* Entry of the next chunk, in order; CAIRN_ECORRUPT / CAIRN_EIO stop use. */
int cairn_tagcache_next(struct cairn_tagcache_reader *r, struct cairn_tag_entry *ret);
void cairn_tagcache_reader_free(struct cairn_tagcache_reader *r);

struct cairn_tagcache_writer;
int cairn_tagcache_create(const char *path, const uint8_t local_key[CAIRN_KEY_LEN],
			  const struct cairn_tagcache_key *key, struct cairn_tagcache_writer **ret);
int cairn_tagcache_append(struct cairn_tagcache_writer *w, const struct cairn_tag_entry *e);
/* Flushes, fsyncs and renames into place. */
int cairn_tagcache_commit(struct cairn_tagcache_writer *w);
/* Frees; an uncommitted cache's temporary file is removed. */
void cairn_tagcache_writer_free(struct cairn_tagcache_writer *w);

#endif
