/* The change-tag cache: local state that lets a full-read backup skip the
 * HMAC of chunks that did not change since the previous backup.
 *
 * For every chunk of the last backup of a volume it keeps the chunk's GMAC
 * tag (crypto.h) and its id.  The next backup reads every chunk, computes
 * the tag (~6x cheaper than the id) and reuses the id when the tag matches
 * and the repository still indexes that id; otherwise it hashes as usual.
 * --full ignores the cache.  A cache belongs to one backup id: it is used
 * only when that backup is the parent of the new one, and updated only
 * after the new manifest is written.  It is never needed: deleting it
 * costs one slower backup.
 *
 * Only chunks with data have an entry (a zero or hole chunk's tag and id
 * are zero, which the reader returns for every chunk without one), so a
 * sparse volume's cache costs what its data costs.  Entries are grouped
 * in segments of a fixed span of chunks; a backup appends only the
 * segments whose entries changed, then a new directory, and commits by
 * rewriting the header in place (one sector, after an fsync).  Appended
 * garbage is compacted away (rewrite, fsync, rename) when it passes half
 * the live size.  A torn or damaged file fails authentication and is not
 * used (a full read); a crash before the header write leaves the previous
 * state whole.
 *
 * File (version 2): a 512-byte header region = magic "CAIRNTC2" | u32 n |
 * seal(local key, A = "H" || magic, body) of n bytes, body = repository
 * id (16) | backup id (16) | volume size u64 | chunk size u32 | span u32 |
 * directory offset u64 | directory length u32 | segments u32 |
 * SHA-256 of the directory's plaintext (32).  Directory = seal(A = "D",
 * per segment, by increasing number: number u64 | offset u64 | sealed
 * length u32 | entries u32 | SHA-256 of its plaintext (32)).  Segment k =
 * seal(A = "S" || k u64, entries by increasing chunk), an entry being
 * chunk - k * span u32 | tag (16) | id (32).  Every level is checked
 * against the hash the level above names.  Version 1 files (a header and
 * an entry for every chunk) are not read; the next backup replaces them.
 * Memory: one segment (span x 52 bytes, 208 KiB for most volumes) per
 * reader/writer, plus the directory.
 */
#ifndef CAIRN_SOURCE_TAGCACHE_H
#define CAIRN_SOURCE_TAGCACHE_H

#include "crypto/crypto.h"

#include <stdbool.h>
#include <stdint.h>

/* Chunks per segment: at least CAIRN_TAGCACHE_SPAN_MIN, more for volumes
 * of more than CAIRN_TAGCACHE_SEGMENTS_MAX x that many chunks, so that the
 * directory rewritten by each backup stays small (3.5 MiB at most). */
#define CAIRN_TAGCACHE_SPAN_MIN 4096u
#define CAIRN_TAGCACHE_SEGMENTS_MAX 65536u
#define CAIRN_TAGCACHE_HEADER_LEN 512

struct cairn_tag_entry {
	uint8_t tag[16];
	uint8_t id[CAIRN_ID_LEN];
};

struct cairn_tagcache_key {
	uint8_t repo_id[16]; /* the repository's instance (repo.h), not its id */
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
/* Steps over the next n chunks (a hole: their entries are not wanted), in
 * O(1) whatever n. */
int cairn_tagcache_skip(struct cairn_tagcache_reader *r, uint64_t n);
void cairn_tagcache_reader_free(struct cairn_tagcache_reader *r);

/* Updates the cache at path when it is one of this repository's for a
 * volume of this size and chunk size (whatever its backup), reusing its
 * unchanged segments; else writes a new one. */
struct cairn_tagcache_writer;
int cairn_tagcache_create(const char *path, const uint8_t local_key[CAIRN_KEY_LEN],
			  const struct cairn_tagcache_key *key, struct cairn_tagcache_writer **ret);
/* The entry of the next chunk, in order, for every chunk of the volume. */
int cairn_tagcache_append(struct cairn_tagcache_writer *w, const struct cairn_tag_entry *e);
/* n zero chunks in a row (a hole): the same file as n appends of a zero
 * entry, in O(1) whatever n. */
int cairn_tagcache_append_zeros(struct cairn_tagcache_writer *w, uint64_t n);
/* A segment is reused by its entries' hash, which the directory vouches
 * for, not by reading it back: a segment damaged on disk stays until a
 * reader trips over it.  Then the writer of the same backup is told, and
 * from there on it writes every segment anew. */
void cairn_tagcache_distrust(struct cairn_tagcache_writer *w);
/* Appends the changed segments and the directory, fsyncs, and writes the
 * header (or, for a new or compacted file, renames it into place). */
int cairn_tagcache_commit(struct cairn_tagcache_writer *w);
/* Frees; an uncommitted cache's temporary file is removed, or what it
 * appended to the existing file is cut off again. */
void cairn_tagcache_writer_free(struct cairn_tagcache_writer *w);

#endif
