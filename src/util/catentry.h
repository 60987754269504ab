/* One file of a file catalog (format.h CATALOG): what the file system
 * scanner (source/extscan.h) produces and the catalog (repo/catalog.h)
 * stores and gives back.  A plain value below both source/ and repo/, so
 * that neither includes the other (like util/volinfo.h). */
#ifndef CAIRN_UTIL_CATENTRY_H
#define CAIRN_UTIL_CATENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cairn_cat_type {
	CAIRN_CAT_FILE = 1,
	CAIRN_CAT_DIR = 2,
	CAIRN_CAT_SYMLINK = 3,
	CAIRN_CAT_CHR = 4,
	CAIRN_CAT_BLK = 5,
	CAIRN_CAT_FIFO = 6,
	CAIRN_CAT_SOCK = 7,
};
#define CAIRN_CAT_TYPE_MAX CAIRN_CAT_SOCK

/* The most bytes of a file an entry holds inline (format.h
 * CAIRN_CATALOG_INLINE_DATA_MAX): scanners keep larger files' bytes in
 * extents, or have no catalog of them. */
#define CAIRN_CAT_INLINE_MAX 4096

/* Where file_offset .. file_offset + length of a file lie in the VOLUME
 * (the backed-up image, a partition's offset included), so that a reader
 * needs nothing but the volume's bytes (restore-file, diff --files, mount).
 * An unwritten (uninitialised) extent is allocated but reads as zeros.
 * Bytes of the file no extent covers are a hole (zeros).  Extents come in
 * file_offset order and do not overlap; the last may end past size (the
 * file system's block rounding): bytes past size are not the file's. */
struct cairn_cat_extent {
	uint64_t volume_offset;
	uint64_t file_offset;
	uint64_t length;
	bool unwritten;
	/* The file system shares these blocks with another file or snapshot
	 * (reflink, btrfs snapshot; FIEMAP_EXTENT_SHARED): a fact, not a
	 * difference in how it reads. */
	bool shared;
	/* A compressed extent (btrfs compress=zlib/lzo/zstd, chattr +c):
	 * compression is not CAIRN_CAT_PLAIN.  The volume holds disk_length
	 * bytes at volume_offset, which decompress to ram_length bytes; the
	 * file's length bytes at file_offset are those from data_offset on
	 * (a partly overwritten or cloned extent uses a part).  All three
	 * are 0 for a plain extent, whose bytes lie at volume_offset. */
	uint8_t compression;  /* enum cairn_cat_compression */
	uint64_t disk_length;
	uint64_t ram_length;
	uint64_t data_offset;
};

/* How an extent's bytes are stored (format.h CATALOG, EXTENT bit 2); the
 * numbers are btrfs's (BTRFS_COMPRESS_*). */
enum cairn_cat_compression {
	CAIRN_CAT_PLAIN = 0,
	CAIRN_CAT_ZLIB = 1,
	CAIRN_CAT_LZO = 2,
	CAIRN_CAT_ZSTD = 3,
};
#define CAIRN_CAT_COMPRESSION_MAX CAIRN_CAT_ZSTD
/* The most on-disk and decompressed bytes of one compressed extent
 * (format.h CAIRN_CATALOG_ZEXTENT_MAX; btrfs's are 128 KiB at most). */
#define CAIRN_CAT_ZEXTENT_MAX (16u << 20)

/* The volume bytes an extent's data occupies: disk_length for a
 * compressed one, length for a plain one. */
static inline uint64_t cairn_cat_extent_disk_len(const struct cairn_cat_extent *x)
{
	return x->compression ? x->disk_length : x->length;
}

/* Strings and arrays are borrowed: from whoever hands the entry over,
 * valid until its call returns (callbacks) or until the entry is freed
 * (cairn_catalog_lookup). */
struct cairn_cat_entry {
	const char *name;   /* one path component; "" for a file system's root */
	enum cairn_cat_type type;
	uint32_t mode;      /* st_mode: type bits and permissions */
	uint32_t uid, gid;
	uint64_t size;      /* bytes (a symlink: its target's length) */
	int64_t atime_ns, mtime_ns, ctime_ns; /* since the epoch */
	uint32_t nlink;     /* hard links: entries of one inode share inode */
	uint64_t inode;     /* in its file system (a partition's own numbers) */
	uint64_t rdev;      /* device files: makedev(major, minor) */
	const char *target; /* symlinks: the target; NULL otherwise */
	const struct cairn_cat_extent *extents; /* regular files */
	size_t nextents;
	/* Regular files whose bytes live in the file system's metadata, not
	 * in data blocks (ext4 inline_data, btrfs inline extents, a small
	 * btrfs file whose extent is compressed): its first inline_len bytes
	 * (1..CAIRN_CAT_INLINE_MAX, at most size), kept in the catalog
	 * itself; bytes past them up to size read as zeros.  Such a file has
	 * no extents.  NULL for every other entry. */
	const uint8_t *inline_data;
	size_t inline_len;
	/* Directories: the id of the catalog node that lists it (format.h
	 * CATALOG).  Equal ids in one repository mean equal subtrees, so a
	 * comparison of two catalogs skips them (diff --files).  All zeros
	 * for an empty directory and for anything else. */
	uint8_t subtree_id[32];
};

#endif
