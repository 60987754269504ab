/* The bytes of a file system's compressed extent (format.h CATALOG,
 * EXTENT bit 2): btrfs's zlib and zstd extents decompressed with zlib and
 * libzstd, for restore-file.  A pure function of the bytes, so that unit
 * tests reach it without a repository or a file system. */
#ifndef CAIRN_COMPRESS_FSZIP_H
#define CAIRN_COMPRESS_FSZIP_H

#include "util/catentry.h"

#include <stddef.h>
#include <stdint.h>

/* Decompresses the on-disk bytes in (in_len, padding after the stream's
 * end allowed) of an extent compressed with algorithm (enum
 * cairn_cat_compression) into out (out_cap bytes: the extent's
 * ram_length), *ret_len the bytes written.  btrfs compresses a file's last
 * extent only up to the file's size, so fewer bytes than out_cap is no
 * damage by itself: the caller checks they cover what the file uses.  0;
 * CAIRN_ECORRUPT (with a message) for bytes that do not decompress or
 * decompress to more than out_cap; CAIRN_EUNSUPPORTED for an algorithm
 * this cairn cannot read (lzo). */
int cairn_fszip_decompress(enum cairn_cat_compression algorithm, const uint8_t *in, size_t in_len, uint8_t *out,
			   size_t out_cap, size_t *ret_len);

/* "zlib", "lzo", "zstd" ("none" for a plain extent, "?" unknown). */
const char *cairn_fszip_name(unsigned algorithm);

#endif
