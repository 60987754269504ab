/* What a file system scanner reports (source/extscan.c for ext2/3/4,
 * source/mntscan.c for XFS and btrfs) to whoever builds the catalog
 * (engine/catalog.c). */
#ifndef CAIRN_SOURCE_FSVISIT_H
#define CAIRN_SOURCE_FSVISIT_H

#include "util/catentry.h"

#include <stdint.h>

/* The calls of a scan, in the order of repo/catalog.h's writer: fs_begin,
 * then either a tree (dir_begin, entry..., dir_end, ... fs_end) or
 * fs_skip with the reason there is none (a type cairn cannot read, damage
 * found part-way: what was reported of it is to be dropped).  A negative
 * return from the visitor stops the scan and is returned; 1 from a call
 * inside a file system says it is damaged: the scan calls fs_skip with
 * reason NULL (the visitor knows why) and goes on with the next. */
struct cairn_fs_visitor {
	int (*fs_begin)(void *ud, const char *name, uint64_t offset, uint64_t size, const char *fs_type);
	int (*fs_end)(void *ud, const struct cairn_cat_entry *root);
	int (*fs_skip)(void *ud, const char *reason);
	int (*dir_begin)(void *ud);
	int (*entry)(void *ud, const struct cairn_cat_entry *e);
	/* ret_id: what the visitor calls the directory (subtree_id of its entry). */
	int (*dir_end)(void *ud, uint8_t ret_id[32]);
	void *ud;
};

#endif
