#include "util/io.h"
#include "util/cancel.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cairn_write_all(int fd, const void *data, size_t len, const char *path)
{
	const uint8_t *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cairn_error_errno(errno, "write %s", path);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cairn_pwrite_all(int fd, const void *data, size_t len, uint64_t off, const char *path)
{
	const uint8_t *p = data;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cairn_error_errno(errno, "write %s", path);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

volatile sig_atomic_t cairn_cancel_requested = 0;

int cairn_fsync_parent(const char *path)
{
	char *d = strdup(path);
	if (!d)
		return cairn_error_nomem();
	char *slash = strrchr(d, '/');
	const char *dir = ".";
	if (slash == d)
		dir = "/";
	else if (slash) {
		*slash = 0;
		dir = d;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;
	if (fd < 0 || fsync(fd) < 0)
		r = cairn_error_errno(errno, "fsync directory %s", dir);
	if (fd >= 0)
		close(fd);
	free(d);
	return r;
}

const char *cairn_path_base(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash && slash[1] ? slash + 1 : path;
}
