/* Change tracking from extent maps (FIEMAP).
 *
 * A snapshot on XFS or btrfs is a reflink clone: it shares every extent
 * with the volume it was taken from until one of them is written, and a
 * write to a shared extent always goes to new blocks (copy on write).  So
 * between a base snapshot (still existing, so none of its blocks can be
 * reused) and a newer snapshot of the same volume, a logical range that
 * maps to the same physical blocks in both holds the same bytes.  Every
 * other range may have changed.
 *
 * The comparison is conservative: a range counts as unchanged only when
 * both files map it to the same physical bytes with the same state
 * (written / unwritten), or both read it as zeros without storing data
 * (a hole or an unwritten extent on either side: XFS clones leave holes
 * where the source has unwritten extents).  Extents whose
 * location the file system cannot vouch for (delayed allocation, inline or
 * tail data, unknown location, not block-aligned, encrypted) count as
 * changed; compressed (encoded) extents count as unchanged only when both
 * files hold the very same extent.  Memory: 32 bytes per extent of each
 * file.
 */
#ifndef CAIRN_SOURCE_FIEMAP_H
#define CAIRN_SOURCE_FIEMAP_H

#include "source/changes.h"

#include <stdint.h>

struct cairn_extent {
	uint64_t logical, physical, length;
	uint32_t flags; /* FIEMAP_EXTENT_* */
};

struct cairn_extent_map {
	struct cairn_extent *v;
	size_t n, cap;
};

/* Reads the extent map of an open regular file (FIEMAP_FLAG_SYNC: dirty
 * data is written first, so nothing is left in delayed allocation).
 * CAIRN_EUNSUPPORTED when the file system has no FIEMAP. */
int cairn_extent_map_read(int fd, const char *path, struct cairn_extent_map *ret);
void cairn_extent_map_free(struct cairn_extent_map *m);

/* Adds to out every range of [0, size) where the two maps may differ
 * (see above). */
int cairn_extent_map_diff(const struct cairn_extent_map *base, const struct cairn_extent_map *cur, uint64_t size,
			  struct cairn_change_map *out);

/* Both steps for two open files, which must be on one file system
 * (CAIRN_EUNSUPPORTED otherwise).  Sets out->method to "fiemap". */
int cairn_fiemap_changes(int base_fd, const char *base_path, int cur_fd, const char *cur_path, uint64_t size,
			 struct cairn_change_map *out);

#endif
