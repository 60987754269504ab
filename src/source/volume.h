/* Volume sources: an image file or a block device, read-only.
 * ([volumes] adds snapshots, extent maps and attributes here.) */
#ifndef CAIRN_SOURCE_VOLUME_H
#define CAIRN_SOURCE_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cairn_volume {
	int fd;
	char *path;
	char *name;   /* default volume name: the base name */
	uint64_t size;
	bool is_device;
};

int cairn_volume_open(const char *path, struct cairn_volume **ret);
/* Reads exactly len bytes at off (short only at end of volume: error). */
int cairn_volume_read(struct cairn_volume *v, uint64_t off, void *buf, size_t len);
void cairn_volume_free(struct cairn_volume *v);
static inline void cairn_volume_freep(struct cairn_volume **v)
{
	cairn_volume_free(*v);
}

/* Size of an open regular file or block device. */
int cairn_fd_size(int fd, const char *path, uint64_t *ret_size, bool *ret_is_device);

#endif
