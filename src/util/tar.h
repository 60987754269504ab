/* Writing tar archives (POSIX.1-2001 pax over ustar), for restore-file's
 * `-` destination: what `tar -x` of GNU tar, bsdtar and busybox read.
 *
 * A member is one ustar header block, preceded by a pax extended header
 * ('x') when something does not fit ustar: a path or link target longer
 * than its field (or a path that cannot be split at a '/' into ustar's
 * prefix and name), a size of 8 GiB or more, an id above 2097151, a time
 * before 1970 or with nanoseconds (pax keeps them: "mtime=1.000000001").
 * Data follows in 512-byte blocks, the last padded with zeros; two zero
 * blocks end the archive.  Pure functions over buffers (unit tested). */
#ifndef CAIRN_UTIL_TAR_H
#define CAIRN_UTIL_TAR_H

#include "util/buf.h"

#include <stdint.h>

#define CAIRN_TAR_BLOCK 512

enum cairn_tar_type {
	CAIRN_TAR_FILE = '0',
	CAIRN_TAR_HARDLINK = '1',
	CAIRN_TAR_SYMLINK = '2',
	CAIRN_TAR_CHR = '3',
	CAIRN_TAR_BLK = '4',
	CAIRN_TAR_DIR = '5',
	CAIRN_TAR_FIFO = '6',
};

struct cairn_tar_member {
	const char *path;     /* relative, '/'-separated; a directory's without the trailing '/' */
	enum cairn_tar_type type;
	uint32_t mode;        /* permission bits (07777) */
	uint32_t uid, gid;
	uint64_t size;        /* bytes of data that follow (files only) */
	int64_t mtime_ns, atime_ns;
	const char *linkname; /* symlink target, or the hard link's first path */
	uint32_t devmajor, devminor;
};

/* Appends m's header block(s) to out. */
int cairn_tar_header(const struct cairn_tar_member *m, struct cairn_buf *out);
/* Bytes of zeros that pad size bytes of data to a whole block. */
static inline uint64_t cairn_tar_padding(uint64_t size)
{
	return (CAIRN_TAR_BLOCK - size % CAIRN_TAR_BLOCK) % CAIRN_TAR_BLOCK;
}
/* Appends the end of the archive (two zero blocks). */
int cairn_tar_end(struct cairn_buf *out);

#endif
