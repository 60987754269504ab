#include "source/volume.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

int cairn_volume_open_fd(int fd, const char *path, struct cairn_volume **ret)
{
	struct cairn_volume *v = calloc(1, sizeof(*v));
	if (!v)
		return cairn_error_nomem();
	v->fd = -1;
	int r = cairn_fd_size(fd, path, &v->size, &v->is_device);
	if (r < 0) {
		cairn_volume_free(v);
		return r;
	}
	v->path = strdup(path);
	v->name = strdup(cairn_path_base(path));
	if (!v->path || !v->name) {
		cairn_volume_free(v);
		return cairn_error_nomem();
	}
	if ((v->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		r = cairn_error_errno(errno, "cannot open source %s", path);
		cairn_volume_free(v);
		return r;
	}
	(void)posix_fadvise(v->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	*ret = v;
	return 0;
}

int cairn_volume_stable_path(const char *path, char **ret)
{
	_cleanup_free_ char *real = realpath(path, NULL);
	if (!real)
		return cairn_error_errno(errno, "cannot open source %s", path);
	struct stat st, mst;
	if (stat(real, &st) < 0)
		return cairn_error_errno(errno, "cannot open source %s", path);
	if (S_ISBLK(st.st_mode)) {
		char sys[96], name[256];
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/name", major(st.st_rdev), minor(st.st_rdev));
		_cleanup_close_ int fd = open(sys, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, name, sizeof(name) - 1) : -1;
		while (n > 0 && name[n - 1] == '\n')
			n--;
		if (n > 0) {
			name[n] = 0;
			char *mapper = NULL;
			if (!strchr(name, '/') && asprintf(&mapper, "/dev/mapper/%s", name) >= 0) {
				/* Only a name that leads back to this very device. */
				if (stat(mapper, &mst) == 0 && S_ISBLK(mst.st_mode) && mst.st_rdev == st.st_rdev) {
					*ret = mapper;
					return 0;
				}
				free(mapper);
			}
		}
	}
	*ret = TAKE_PTR(real);
	return 0;
}

int cairn_volume_same_as(const char *path, const struct stat *st)
{
	struct stat o;
	if (stat(path, &o) < 0)
		return -1;
	if (S_ISBLK(st->st_mode))
		return S_ISBLK(o.st_mode) && o.st_rdev == st->st_rdev;
	return S_ISREG(o.st_mode) && o.st_dev == st->st_dev && o.st_ino == st->st_ino;
}

int cairn_volume_open(const char *path, struct cairn_volume **ret)
{
	/* O_NONBLOCK: a FIFO given as the source must be refused, not wait
	 * for a writer; files and block devices ignore the flag.  Another
	 * user's symbolic link on the way is refused (util/path.h). */
	_cleanup_(cairn_path_clear) struct cairn_path p = CAIRN_PATH_INIT;
	int r = cairn_path_open(path, "source", O_RDONLY | O_NONBLOCK, false, &p);
	if (r < 0)
		return r;
	return cairn_volume_open_fd(p.fd, path, ret);
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

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14; glibc 2.36 has it, older headers may not */
#endif

/* The view is an address range reserved for the whole batch; each run the
 * caller faults in gets its own file mapping in it.  One mapping of the
 * whole range let the kernel map every page of each large page-cache folio
 * a run touched: an incremental's wide batch (128 MiB of volume, 4 MiB of
 * it read) counted 128 MiB of the cached holes around its runs in the
 * process's RSS. */
int cairn_volume_view_map(struct cairn_volume *v, uint64_t off, size_t len, struct cairn_volume_view *view)
{
	*view = (struct cairn_volume_view){ 0 };
	if (len == 0 || off % (uint64_t)sysconf(_SC_PAGESIZE) != 0 || off + len > v->size)
		return CAIRN_EUNSUPPORTED;
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return CAIRN_EUNSUPPORTED; /* an address space too small */
	view->map_len = len;
	view->data = p;
	view->off = off;
	return 0;
}

int cairn_volume_view_fault(struct cairn_volume *v, struct cairn_volume_view *view, size_t start, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t a = start / page * page;
	size_t b = MIN(start + len, view->map_len);
	if (a >= b)
		return 0;
	size_t mapped = (b - a + page - 1) / page * page;
	if (mmap(view->data + a, mapped, PROT_READ, MAP_SHARED | MAP_FIXED, v->fd, (off_t)(view->off + a)) ==
	    MAP_FAILED) {
		/* A file system without mmap: the caller reads instead.  The
		 * failed call may have unmapped the range already; reserve it
		 * again, or another mapping could land there and be torn down
		 * with the view. */
		(void)mmap(view->data + a, mapped, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
			   0);
		return CAIRN_EUNSUPPORTED;
	}
	/* Each byte is read once, front to back: read ahead, and let the pages
	 * go once passed (they stay in the page cache, not in this process). */
	(void)madvise(view->data + a, mapped, MADV_SEQUENTIAL);
	for (;;) {
		if (madvise(view->data + a, b - a, MADV_POPULATE_READ) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EINVAL)
			return CAIRN_EUNSUPPORTED;
		if (errno == EFAULT) /* past the end of the file: it shrank */
			return cairn_error_set(CAIRN_EIO, "%s shrank while it was read (offset %llu is gone)", v->path,
					       (unsigned long long)(view->off + a));
		return cairn_error_errno(errno == EHWPOISON ? EIO : errno, "read %s between offsets %llu and %llu",
					 v->path, (unsigned long long)(view->off + a),
					 (unsigned long long)(view->off + b));
	}
}

void cairn_volume_view_unmap(struct cairn_volume_view *view)
{
	if (view->data)
		munmap(view->data, view->map_len);
	*view = (struct cairn_volume_view){ 0 };
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
