/* The file systems on a volume, read without mounting: partitions found by
 * libblkid (MBR, GPT), ext2/3/4 walked by libext2fs through an io_manager
 * over the volume's open descriptor (the snapshot or source a backup
 * reads), never a path.  Each file system is reported to a visitor, which
 * builds the catalog (repo/catalog.h; engine/catalog.c joins the two). */
#ifndef CAIRN_SOURCE_EXTSCAN_H
#define CAIRN_SOURCE_EXTSCAN_H

#include "source/fsvisit.h"

#include <stdint.h>

/* Scans the volume open at fd (size bytes): a whole-volume file system is
 * named "", partitions "p<N>" after their number.  A file system that
 * cannot be read is skipped with its reason, never an error; errors are
 * the visitor's, or none at all. */
int cairn_fs_scan(int fd, uint64_t size, const struct cairn_fs_visitor *v);

#endif
