/* Catalogs of file systems libext2fs cannot read (XFS, btrfs), made from a
 * read-only loop mount of the bytes the backup read (source/extscan.h's
 * descriptor, a partition's window of it), as root only.
 *
 * The mount lives in a mount namespace of its own, held by a child
 * process: the parent walks it through /proc/<child>/root, and when the
 * parent is done, fails or dies (even by SIGKILL: the child has a
 * parent-death signal and waits on a pipe), the child exits, the
 * namespace and its mount go with it, and the loop device (autoclear)
 * detaches.  Nothing of it is ever visible in the host's mount table.
 *
 * Each file's extents come from FIEMAP: on a loop device of the volume a
 * physical offset is a volume offset (XFS: device bytes; btrfs: its
 * logical address, mapped through its chunk tree to device bytes), plus
 * the partition's offset.  Data cairn cannot place in the volume
 * (btrfs inline or compressed extents, RAID profiles) makes that file
 * system's catalog absent with the reason. */
#ifndef CAIRN_SOURCE_MNTSCAN_H
#define CAIRN_SOURCE_MNTSCAN_H

#include "source/fsvisit.h"

#include <stdint.h>

/* Reports the file system of type fs_type ("xfs", "btrfs") in [offset,
 * offset + size) of the volume open at fd to v, after v->fs_begin: a
 * tree then fs_end, or fs_skip with the reason there is none (not root,
 * the mount failed, data that cannot be placed).  Errors are the
 * visitor's, memory, and CAIRN_ECANCELED. */
int cairn_mnt_scan(int fd, uint64_t offset, uint64_t size, const char *fs_type, const struct cairn_fs_visitor *v);

#endif
