#include "util/io.h"
#include "util/error.h"

#include <errno.h>
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
