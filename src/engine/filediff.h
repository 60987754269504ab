/* diff --files: the files added, removed and changed between two backups
 * of one volume, from their catalogs (repo/catalog.h) and the chunk ids of
 * their trees; no chunk of data is read.
 *
 * The two catalogs are walked side by side, by name; a directory whose
 * catalog node id is the same in both is the same subtree and is skipped
 * without being read.  An entry in both is changed when
 *   - its metadata differs: type, size, mode, owner, mtime, ctime, symlink
 *     target, device number (a directory: type, mode and owner only; its
 *     size and times follow its contents, which are reported themselves);
 *   - or (files) its extents differ (its blocks moved: counted as a change,
 *     though a defragmenter that kept ctime may move a file unchanged);
 *   - or (files) a chunk holding its data has another id in B, and that
 *     chunk holds nothing but this file's blocks: then its bytes changed.
 *   - or (files whose bytes the catalog holds inline: ext4 inline_data,
 *     btrfs inline extents) those bytes differ, compared as they are; a
 *     file inline in one catalog and in extents in the other counts as
 *     extents that differ.
 * A changed chunk that also holds other bytes (small files are packed
 * many to a chunk; file system metadata) does not prove this file changed:
 * with its metadata identical such a file is reported apart, as MAYBE
 * ("content may have changed: shares a changed chunk").  Data written
 * without touching mtime and ctime is the only way for that to hide a
 * real change, which is exactly the case MAYBE flags.
 *
 * Bytes changed under the file system (raw writes to the device) leave
 * the catalog as it was: a directory whose node is the same is skipped
 * whole, so they are seen only in directories that changed otherwise, or
 * everywhere with every_file (which walks every file of both catalogs,
 * comparing chunk ids: still no data read, but O(files)).
 */
#ifndef CAIRN_ENGINE_FILEDIFF_H
#define CAIRN_ENGINE_FILEDIFF_H

#include "engine/engine.h"

#include <stdint.h>

enum cairn_filediff_status {
	CAIRN_FILEDIFF_ADDED = 'A',
	CAIRN_FILEDIFF_REMOVED = 'D',
	CAIRN_FILEDIFF_MODIFIED = 'M',
	CAIRN_FILEDIFF_MAYBE = '?',
};

/* Why an entry counts as changed (bits). */
enum {
	CAIRN_FILEDIFF_TYPE = 1 << 0,
	CAIRN_FILEDIFF_SIZE = 1 << 1,
	CAIRN_FILEDIFF_MODE = 1 << 2,
	CAIRN_FILEDIFF_OWNER = 1 << 3,
	CAIRN_FILEDIFF_MTIME = 1 << 4,
	CAIRN_FILEDIFF_CTIME = 1 << 5,
	CAIRN_FILEDIFF_TARGET = 1 << 6,
	CAIRN_FILEDIFF_RDEV = 1 << 7,
	CAIRN_FILEDIFF_EXTENTS = 1 << 8,
	CAIRN_FILEDIFF_CONTENT = 1 << 9,
	CAIRN_FILEDIFF_SHARED = 1 << 10, /* a shared chunk changed (MAYBE) */
};
#define CAIRN_FILEDIFF_NREASONS 11
/* "type", "size", ... for bit i. */
const char *cairn_filediff_reason_name(unsigned bit);

/* Called for each difference in byte order of the paths; is_dir says the
 * entry (in B, or in A when removed) is a directory. */
typedef int (*cairn_filediff_fn)(enum cairn_filediff_status s, const char *path, unsigned reasons, bool is_dir,
				 void *ud);

struct cairn_filediff_stats {
	uint64_t added, removed, modified, maybe;
	uint64_t dirs_skipped; /* unchanged subtrees skipped whole */
};

/* Compares backups a and b (of one repository and chunk size).
 * CAIRN_ENOTFOUND when one has no catalog. */
int cairn_filediff_run(struct cairn_repo *repo, const struct cairn_manifest *a, const struct cairn_manifest *b,
		       const char *state_dir, bool every_file, cairn_filediff_fn fn, void *ud,
		       struct cairn_filediff_stats *ret);

#endif
