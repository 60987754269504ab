#include "source/volume.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int cairn_fd_size(int fd, const char *path, uint64_t *ret_size, bool *ret_is_device)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return cairn_error_errno(errno, "stat %s", path);
	if (S_ISBLK(st.st_mode)) {
		uint64_t size = 0;
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			return cairn_error_errno(errno, "size of %s", path);
		*ret_size = size;
		if (ret_is_device)
			*ret_is_device = true;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return cairn_error_set(CAIRN_EINVAL, "%s is neither a regular file nor a block device", path);
	*ret_size = (uint64_t)st.st_size;
	if (ret_is_device)
		*ret_is_device = false;
	return 0;
}

int cairn_volume_open(const char *path, struct cairn_volume **ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cairn_error_errno(errno, "cannot open source %s", path);
	struct cairn_volume *v = calloc(1, sizeof(*v));
	if (!v)
		return CAIRN_ENOMEM;
	v->fd = -1;
	int r = cairn_fd_size(fd, path, &v->size, &v->is_device);
	if (r < 0) {
		cairn_volume_free(v);
		return r;
	}
	const char *base = strrchr(path, '/');
	base = base && base[1] ? base + 1 : path;
	v->path = strdup(path);
	v->name = strdup(base);
	if (!v->path || !v->name) {
		cairn_volume_free(v);
		return CAIRN_ENOMEM;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	v->fd = TAKE_FD(fd);
	*ret = v;
	return 0;
}

int cairn_volume_read(struct cairn_volume *v, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(v->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cairn_error_errno(errno, "read %s at offset %llu", v->path, (unsigned long long)off);
		}
		if (n == 0)
			return cairn_error_set(CAIRN_EIO, "%s shrank while it was read (end at %llu)", v->path,
					       (unsigned long long)off);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

void cairn_volume_free(struct cairn_volume *v)
{
	if (!v)
		return;
	if (v->fd >= 0)
		close(v->fd);
	free(v->path);
	free(v->name);
	free(v);
}
