/* Volume sources: an image file or a block device, read-only.
 * ([volumes] adds snapshots, extent maps and attributes here.) */
#ifndef CAIRN_SOURCE_VOLUME_H
#define CAIRN_SOURCE_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct cairn_volume {
	int fd;
	char *path;
	char *name;   /* default volume name: the base name */
	uint64_t size;
	bool is_device;
};

/* Opens the volume at path, walked without following another user's
 * symbolic link (util/path.h). */
int cairn_volume_open(const char *path, struct cairn_volume **ret);
/* The volume open at fd (duplicated; path names it in messages). */
int cairn_volume_open_fd(int fd, const char *path, struct cairn_volume **ret);
/* Reads exactly len bytes at off (short only at end of volume: error). */
int cairn_volume_read(struct cairn_volume *v, uint64_t off, void *buf, size_t len);

/* A read-only window onto part of a volume: the page cache's own pages,
 * mapped, so reading it copies nothing (a pread() into a buffer costs a
 * kernel memcpy of every byte, a seventh of a full backup's CPU).  Bytes
 * are faulted in with cairn_volume_view_fault() before they are touched:
 * an I/O error or a volume that shrank is then an error return, not a
 * SIGBUS.  Holes are never faulted, so they never enter the page cache. */
struct cairn_volume_view {
	uint8_t *data; /* the mapping; byte 0 is volume offset `off`; NULL: none */
	size_t map_len;
	uint64_t off;
};

/* Reserves the view of [off, off + len); off is a multiple of the page
 * size.  Nothing in it is readable until faulted in.  Returns
 * CAIRN_EUNSUPPORTED where the range cannot be reserved (the caller reads
 * instead), without setting an error message. */
int cairn_volume_view_map(struct cairn_volume *v, uint64_t off, size_t len, struct cairn_volume_view *view);
/* Maps [start, start + len) of the view (offsets within it; whole pages
 * around it), faults it in and reads ahead from the device as needed;
 * only what was faulted in counts in the process's RSS.
 * CAIRN_EUNSUPPORTED, without a message, where the volume cannot be
 * mapped or on kernels before 5.14 (no MADV_POPULATE_READ). */
int cairn_volume_view_fault(struct cairn_volume *v, struct cairn_volume_view *view, size_t start, size_t len);
void cairn_volume_view_unmap(struct cairn_volume_view *view);

void cairn_volume_free(struct cairn_volume *v);
static inline void cairn_volume_freep(struct cairn_volume **v)
{
	cairn_volume_free(*v);
}

/* The path a volume goes by across reboots, for the manifest's source and
 * the default volume name (its base name): the real path (symbolic links
 * resolved), except that a device-mapper device, numbered /dev/dm-N in
 * the order of activation, is named /dev/mapper/NAME.  *ret is malloc'd;
 * CAIRN_E* with "cannot open source PATH" when path does not resolve. */
int cairn_volume_stable_path(const char *path, char **ret);

/* 1 when path (as a manifest recorded it) names, here and now, the same
 * file or block device as st; 0 when it names another one; -1 when it
 * names nothing (gone, or unreadable). */
int cairn_volume_same_as(const char *path, const struct stat *st);

/* Size of an open regular file or block device. */
int cairn_fd_size(int fd, const char *path, uint64_t *ret_size, bool *ret_is_device);

#endif
