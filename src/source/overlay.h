/* A writable overlay over a read-only volume image (`cairn mount
 * --overlay FILE`, `cairn restore --from-overlay FILE`): every write to
 * the image lands in FILE; the image itself (a backup) never changes.
 *
 * FILE (all integers little-endian):
 *
 *   [0, 4096)        header: "CAIRNOVL" | u32 version (1) | u32 block size
 *                    (4096) | u64 image size | 16-byte backup id | u32
 *                    length of the volume name | the name (at most 255
 *                    bytes) | zeros
 *   [4096, data)     the map: bit b (byte b / 8, bit b % 8) set = block b
 *                    was written; data = 4096 + the map's bytes rounded up
 *                    to 4096
 *   [data, ...)      block b at data + b * 4096, sparse: space only for
 *                    written blocks
 *
 * The map is what tells a written block of zeros from one never written
 * (which reads from the image).  A write stores the block first and sets
 * its bit after, so a crash between the two loses that write (as a disk
 * loses writes not yet flushed) but never shows half of one; a flush
 * (cairn_overlay_sync) makes both durable.  A reopened overlay continues
 * where it stopped; it belongs to one backup, and opening it for another
 * is refused.  Writes of part of a block read the rest of it first (from
 * the overlay or the image).
 *
 * Memory: the map, one bit per 4 KiB of image (32 KiB per GiB).
 */
#ifndef CAIRN_SOURCE_OVERLAY_H
#define CAIRN_SOURCE_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CAIRN_OVERLAY_BLOCK 4096u
#define CAIRN_OVERLAY_VOLUME_MAX 255

struct cairn_overlay;

/* Reads the image below: like pread, the number of bytes read (len unless
 * past the end) or a negative errno. */
typedef ssize_t (*cairn_overlay_base_fn)(void *ud, void *buf, size_t len, uint64_t off);

/* Opens path for the image of backup (size bytes, of volume), creating it
 * if missing (mode 0600, through a temporary renamed into place).  An
 * existing overlay of another backup or size is refused (CAIRN_EINVAL,
 * naming the backup it belongs to). */
int cairn_overlay_open(const char *path, uint64_t size, const uint8_t backup[16], const char *volume,
		       struct cairn_overlay **ret);

/* Opens an existing overlay read-only (restore --from-overlay): whichever
 * backup it belongs to (see cairn_overlay_backup()). */
int cairn_overlay_open_existing(const char *path, struct cairn_overlay **ret);

uint64_t cairn_overlay_size(const struct cairn_overlay *o);
const uint8_t *cairn_overlay_backup(const struct cairn_overlay *o);
const char *cairn_overlay_volume(const struct cairn_overlay *o);
/* Blocks written so far. */
uint64_t cairn_overlay_blocks(struct cairn_overlay *o);

/* Reads through the overlay: written blocks from it, the rest from base.
 * Thread-safe (with each other and with writes).  Bytes read or a
 * negative errno. */
ssize_t cairn_overlay_pread(struct cairn_overlay *o, void *buf, size_t len, uint64_t off,
			    cairn_overlay_base_fn base, void *ud);
/* Writes into the overlay; a write starting at or past the end is -ENOSPC,
 * one running past it is cut short (a disk does not grow).  Bytes written
 * or a negative errno. */
ssize_t cairn_overlay_pwrite(struct cairn_overlay *o, const void *buf, size_t len, uint64_t off,
			     cairn_overlay_base_fn base, void *ud);
/* Makes the written blocks and the map durable.  0 or a negative errno. */
int cairn_overlay_sync(struct cairn_overlay *o);

/* Copies every written block onto fd (the restored volume, target names it
 * in messages).  0 or a cairn error. */
int cairn_overlay_apply(struct cairn_overlay *o, int fd, const char *target, uint64_t *ret_bytes);

void cairn_overlay_close(struct cairn_overlay *o);
static inline void cairn_overlay_closep(struct cairn_overlay **o)
{
	cairn_overlay_close(*o);
}

#endif
