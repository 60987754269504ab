#include "source/snapshot.h"
#include "source/chunker.h"
#include "source/lvm.h"
#include "source/volume.h"
#include "util/cancel.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/log.h"
#include "util/path.h"
#include "util/time.h"
#include "util/tmpfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static const char *const method_names[] = {
	[CAIRN_SNAP_AUTO] = "auto",
	[CAIRN_SNAP_REFLINK] = "reflink",
	[CAIRN_SNAP_COPY] = "copy",
	[CAIRN_SNAP_NONE] = "none",
	[CAIRN_SNAP_LVM] = "lvm",
	[CAIRN_SNAP_INSTANT] = "instant",
};

const char *cairn_snap_method_name(enum cairn_snap_method m)
{
	return (unsigned)m < ARRAY_SIZE(method_names) ? method_names[m] : "?";
}

int cairn_snap_method_parse(const char *s, enum cairn_snap_method *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(method_names); i++)
		if (i != CAIRN_SNAP_INSTANT && s && strcmp(s, method_names[i]) == 0) {
			*ret = (enum cairn_snap_method)i;
			return 0;
		}
	return cairn_error_set(CAIRN_EINVAL, "unknown snapshot method '%s' (want auto, reflink, copy, lvm or none)",
			       s ? s : "");
}

static void identity_from_stat(const struct stat *st, uint64_t size, struct cairn_snap_identity *ret)
{
	ret->dev = st->st_dev;
	ret->ino = st->st_ino;
	ret->size = size;
	ret->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	ret->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

/* Copies [off, off + len) by reading and writing, leaving all-zero 64 KiB
 * pieces as holes: for block devices, which copy_file_range refuses. */
static int rw_copy(int in, const char *in_path, int out, const char *out_path, uint64_t off, uint64_t len,
		   uint64_t *copied)
{
	enum { BUF = 8 << 20, PIECE = 64 << 10 };
	_cleanup_free_ uint8_t *buf = malloc(BUF);
	if (!buf)
		return cairn_error_nomem();
	while (len) {
		if (cairn_cancel_check())
			return cairn_error_set(CAIRN_ECANCELED, "interrupted");
		size_t n = (size_t)MIN((uint64_t)BUF, len);
		ssize_t got = pread(in, buf, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return cairn_error_errno(errno, "read %s", in_path);
		if (got == 0)
			return cairn_error_set(CAIRN_EIO, "%s shrank while it was copied", in_path);
		for (size_t at = 0; at < (size_t)got; at += PIECE) {
			size_t pl = MIN((size_t)PIECE, (size_t)got - at);
			if (cairn_chunk_is_zero(buf + at, pl))
				continue;
			int r = cairn_pwrite_all(out, buf + at, pl, off + at, out_path);
			if (r == CAIRN_ENOSPC)
				return cairn_error_set(CAIRN_ENOSPC, "no space left for the snapshot %s", out_path);
			if (r < 0)
				return r;
			*copied += pl;
		}
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	return 0;
}

/* Copies the data ranges of in (holes stay holes; a device has none). */
static int sparse_copy(int in, const char *in_path, int out, const char *out_path, uint64_t size,
		       uint64_t *ret_copied)
{
	uint64_t pos = 0, copied = 0;
	bool by_rw = false;
	while (pos < size) {
		off_t data = lseek(in, (off_t)pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			data = (off_t)pos; /* no SEEK_DATA: copy everything */
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > size)
			hole = (off_t)size;
		loff_t src = data, dst = data;
		size_t left = (size_t)(hole - data);
		if (by_rw) {
			int r = rw_copy(in, in_path, out, out_path, (uint64_t)data, left, &copied);
			if (r < 0)
				return r;
			left = 0;
		}
		while (left) {
			if (cairn_cancel_check())
				return cairn_error_set(CAIRN_ECANCELED, "interrupted");
			ssize_t n = copy_file_range(in, &src, out, &dst, left > (1u << 30) ? 1u << 30 : left, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == ENOSPC)
				return cairn_error_set(CAIRN_ENOSPC, "no space left for the snapshot %s", out_path);
			if (n < 0 && (errno == EINVAL || errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS)) {
				/* Not between these two (a block device): read and write. */
				by_rw = true;
				int r = rw_copy(in, in_path, out, out_path, (uint64_t)src, left, &copied);
				if (r < 0)
					return r;
				break;
			}
			if (n < 0)
				return cairn_error_errno(errno, "copy %s to %s", in_path, out_path);
			if (n == 0)
				return cairn_error_set(CAIRN_EIO, "%s shrank while it was copied", in_path);
			left -= (size_t)n;
			copied += (uint64_t)n;
		}
		pos = (uint64_t)hole;
	}
	if (ftruncate(out, (off_t)size) < 0)
		return cairn_error_errno(errno, "size %s", out_path);
	*ret_copied = copied;
	return 0;
}

/* Bytes a sparse copy of fd would write (its allocated blocks). */
static uint64_t data_bytes(int fd, const struct stat *st, uint64_t size)
{
	if (S_ISBLK(st->st_mode))
		return size;
	uint64_t alloc = (uint64_t)st->st_blocks * 512;
	(void)fd;
	return alloc < size ? alloc : size;
}

/* ---- where snapshots live ---- */

#define SNAP_DIR_NAME ".cairn-snapshots"
#define SNAP_TAG ".cairn-snap-"    /* BASE.ID SNAP_TAG PID-XXXXXX: being made or used */
#define REVERT_TAG ".cairn-revert-" /* VOLUME REVERT_TAG PID-XXXXXX: a reverted image being built */
#define WHAT_DIR "snapshot directory"

/* path's directory part and last component (malloc'd). */
static int split(const char *path, char **ret_dir, char **ret_name)
{
	const char *slash = strrchr(path, '/');
	*ret_dir = slash == path ? strdup("/") : slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	*ret_name = strdup(slash ? slash + 1 : path);
	if (!*ret_dir || !*ret_name) {
		free(*ret_dir);
		free(*ret_name);
		return cairn_error_nomem();
	}
	return 0;
}

static char *join(const char *dir, const char *name)
{
	char *p = NULL;
	return asprintf(&p, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name) < 0 ? NULL : p;
}

int cairn_snap_dir_open(const char *dir, int *ret_fd)
{
	_cleanup_free_ char *parent = NULL, *name = NULL;
	int r = split(dir, &parent, &name);
	if (r < 0)
		return r;
	/* The parent is walked; the directory itself is never a link. */
	_cleanup_(cairn_path_clear) struct cairn_path p = CAIRN_PATH_INIT;
	if ((r = cairn_path_open(parent, WHAT_DIR, O_PATH | O_DIRECTORY, false, &p)) < 0)
		return r == CAIRN_ENOTFOUND ? cairn_error_set(r, "%s %s does not exist", WHAT_DIR, dir) : r;
	return cairn_path_private_dir(p.fd, name, dir, WHAT_DIR, false, ret_fd);
}

/* STATE_DIR/snapshots, made when missing. */
static int open_state_dir(const char *state_dir, int *ret_fd, char **ret_dir)
{
	if (!state_dir)
		return cairn_error_set(CAIRN_EINVAL, "snapshots need a state directory");
	_cleanup_(cairn_path_clear) struct cairn_path p = CAIRN_PATH_INIT;
	int r = cairn_path_open(state_dir, "state directory", O_PATH | O_DIRECTORY, false, &p);
	if (r < 0)
		return r;
	_cleanup_free_ char *dir = join(p.abs, "snapshots");
	if (!dir)
		return cairn_error_nomem();
	if ((r = cairn_path_private_dir(p.fd, "snapshots", dir, WHAT_DIR, true, ret_fd)) < 0)
		return r;
	*ret_dir = TAKE_PTR(dir);
	return 0;
}

/* The top directory of the file system dev that holds dirfd (at abs):
 * going up while st_dev stays the same. */
static int mount_root(int dirfd, const char *abs, dev_t dev, int *ret_fd, char **ret_abs)
{
	_cleanup_free_ char *path = strdup(abs);
	_cleanup_close_ int cur = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!path)
		return cairn_error_nomem();
	if (cur < 0)
		return cairn_error_errno(errno, "cannot open %s", abs);
	while (strcmp(path, "/") != 0) {
		int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		struct stat st;
		if (up < 0 || fstat(up, &st) < 0 || st.st_dev != dev) {
			if (up >= 0)
				close(up);
			break;
		}
		close(cur);
		cur = up;
		char *slash = strrchr(path, '/');
		if (slash == path || !slash)
			strcpy(path, "/");
		else
			*slash = 0;
	}
	*ret_fd = TAKE_FD(cur);
	*ret_abs = TAKE_PTR(path);
	return 0;
}

/* Whether the file system of dirfd makes reflinks of in (st): tried on a
 * nameless file (O_TMPFILE), so that one that cannot gets no snapshot
 * directory.  1 yes, 0 no, -1 cannot tell. */
static int reflink_works(int dirfd, int in, const struct stat *st)
{
	_cleanup_close_ int t = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (t < 0)
		return -1;
	uint64_t blk = st->st_blksize > 0 ? (uint64_t)st->st_blksize : 4096;
	/* One block; a smaller file whole (length 0: to its end). */
	struct file_clone_range fcr = { .src_fd = in, .src_length = (uint64_t)st->st_size >= blk ? blk : 0 };
	if (ioctl(t, FICLONERANGE, &fcr) == 0)
		return 1;
	return errno == EOPNOTSUPP || errno == EXDEV || errno == EINVAL || errno == ENOTTY ? 0 : -1;
}

/* DIR/.cairn-snapshots in atfd (at abs), made when missing: 1 and *ret_fd,
 * or 0 when it cannot be made here (no permission, a read-only file
 * system): the caller tries elsewhere. */
static int private_snapdir_in(int atfd, const char *abs, int *ret_fd, char **ret_dir)
{
	_cleanup_free_ char *dir = join(abs, SNAP_DIR_NAME);
	if (!dir)
		return cairn_error_nomem();
	if (mkdirat(atfd, SNAP_DIR_NAME, 0700) < 0 && errno != EEXIST) {
		if (errno == EACCES || errno == EPERM || errno == EROFS)
			return 0;
		return cairn_error_errno(errno, "cannot create %s %s", WHAT_DIR, dir);
	}
	int r = cairn_path_private_dir(atfd, SNAP_DIR_NAME, dir, WHAT_DIR, false, ret_fd);
	if (r < 0)
		return r;
	*ret_dir = TAKE_PTR(dir);
	return 1;
}

/* The directory a reflink snapshot of the volume v (vst) goes to, on its
 * file system: the state directory's, its file system's root's, or as a
 * last resort its own directory's (see snapshot.h). */
static int reflink_dir(const struct cairn_path *v, const struct stat *vst, const char *state_dir, int *ret_fd,
		       char **ret_dir)
{
	int fd;
	char *dir = NULL;
	int r = open_state_dir(state_dir, &fd, &dir);
	if (r < 0)
		return r;
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_dev == vst->st_dev) {
		*ret_fd = fd;
		*ret_dir = dir;
		return 0;
	}
	close(fd);
	free(dir);
	_cleanup_free_ char *vdir = NULL, *vname = NULL, *rabs = NULL;
	_cleanup_close_ int root = -1;
	if ((r = split(v->abs, &vdir, &vname)) < 0 || (r = mount_root(v->dirfd, vdir, vst->st_dev, &root, &rabs)) < 0)
		return r;
	if ((r = private_snapdir_in(root, rabs, ret_fd, ret_dir)) != 0)
		return r < 0 ? r : 0;
	if ((r = private_snapdir_in(v->dirfd, vdir, ret_fd, ret_dir)) != 0)
		return r < 0 ? r : 0;
	/* AUTO then makes a copy under the state directory. */
	return cairn_error_set(CAIRN_EUNSUPPORTED,
			       "no reflink snapshot of %s: neither %s nor %s, on its file system, can be written",
			       v->abs, rabs, vdir);
}

/* Leftovers go before a new snapshot is made where they lie: their space
 * may be what it needs. */
static void sweep(int dirfd, const char *dir, cairn_snap_known_fn known, void *ud)
{
	if (known)
		cairn_snap_leftovers(dirfd, dir, true, known, ud, NULL, NULL);
}

/* Creates the snapshot file for the volume named base in dirfd (taken
 * over, with dir, by ret) under its temporary name. */
static int new_file(int dirfd, char *dir, const char *base, struct cairn_snap_taken *ret)
{
	ret->dirfd = dirfd;
	ret->dir = dir;
	char final[160];
	snprintf(final, sizeof(final), "%.100s.%s", base, ret->id);
	int r = cairn_tmp_create(dirfd, dir, final, SNAP_TAG, &ret->fd, &ret->name);
	if (r < 0)
		return r;
	return (ret->path = join(dir, ret->name)) ? 0 : cairn_error_nomem();
}

static int take_reflink(const struct cairn_path *v, const struct stat *st, const char *state_dir,
			cairn_snap_known_fn known, void *ud, struct cairn_snap_taken *ret)
{
	if (reflink_works(v->dirfd, v->fd, st) == 0)
		return cairn_error_set(CAIRN_EUNSUPPORTED,
				       "the file system of %s cannot make reflink snapshots (XFS with reflink=1 or "
				       "btrfs can)",
				       v->abs);
	int dfd;
	char *dir;
	int r = reflink_dir(v, st, state_dir, &dfd, &dir);
	if (r < 0)
		return r;
	sweep(dfd, dir, known, ud);
	if ((r = new_file(dfd, dir, v->name, ret)) < 0)
		return cairn_snap_release(ret, r);
	if (ioctl(ret->fd, FICLONE, v->fd) == 0)
		return 0;
	int e = errno;
	if (e == EOPNOTSUPP || e == EXDEV || e == EINVAL || e == ENOTTY)
		r = cairn_error_set(CAIRN_EUNSUPPORTED,
				    "the file system of %s cannot make reflink snapshots (XFS with reflink=1 or btrfs "
				    "can)",
				    v->abs);
	else
		r = cairn_error_errno(e, "reflink %s to %s", v->abs, ret->path);
	return cairn_snap_release(ret, r);
}

static int take_copy(const struct cairn_path *v, const struct stat *st, uint64_t size, const char *volume,
		     const char *state_dir, cairn_snap_known_fn known, void *ud, struct cairn_snap_taken *ret)
{
	int dfd;
	char *dir;
	int r = open_state_dir(state_dir, &dfd, &dir);
	if (r < 0)
		return r;
	sweep(dfd, dir, known, ud);
	uint64_t need = data_bytes(v->fd, st, size);
	struct statvfs vs;
	if (fstatvfs(dfd, &vs) == 0 && (uint64_t)vs.f_bavail * vs.f_frsize < need + (64u << 20)) {
		r = cairn_error_set(CAIRN_ENOSPC,
				    "no room for a copy snapshot of %s (%llu MiB of data) in %s; use a reflink file "
				    "system (XFS, btrfs) or free space",
				    volume, (unsigned long long)(need >> 20), dir);
		close(dfd);
		free(dir);
		return r;
	}
	if ((r = new_file(dfd, dir, v->name, ret)) < 0)
		return cairn_snap_release(ret, r);
	if ((r = sparse_copy(v->fd, volume, ret->fd, ret->path, size, &ret->bytes_copied)) < 0)
		return cairn_snap_release(ret, r);
	cairn_test_hold("CAIRN_TEST_SNAP_HOLD_MS");
	return 0;
}

/* A logical volume gets an LVM snapshot beside it: 1 when volume is none. */
static int take_lvm(const char *volume, enum cairn_snap_method want, struct cairn_snap_taken *ret)
{
	struct cairn_lvm_lv lv, snap;
	if (cairn_lvm_lookup(volume, &lv) != 1) {
		if (want == CAIRN_SNAP_LVM)
			return cairn_error_set(CAIRN_EUNSUPPORTED, "%s is not an LVM logical volume", volume);
		return 1;
	}
	char name[160];
	snprintf(name, sizeof(name), "%.100s-cairn-%s", lv.lv, ret->id);
	int r = cairn_lvm_snapshot(&lv, name, &ret->path);
	if (r < 0)
		return r;
	ret->method = CAIRN_SNAP_LVM;
	/* An LV's device numbers change across activations: its thin id and
	 * size identify it. */
	if (cairn_lvm_lookup(ret->path, &snap) != 1)
		return cairn_snap_release(ret, cairn_error_set(CAIRN_EIO, "LVM snapshot %s did not appear", ret->path));
	ret->ident = (struct cairn_snap_identity){ .ino = snap.thin_id, .size = snap.size };
	return 0;
}

int cairn_snap_take(const char *volume, const char *state_dir, const char *id, enum cairn_snap_method want,
		    cairn_snap_known_fn known, void *known_ud, struct cairn_snap_taken *ret)
{
	double t0 = cairn_now();
	*ret = (struct cairn_snap_taken)CAIRN_SNAP_TAKEN_INIT;
	snprintf(ret->id, sizeof(ret->id), "%s", id);
	if (want == CAIRN_SNAP_NONE)
		return cairn_error_set(CAIRN_EINVAL, "no snapshot method");
	/* O_NONBLOCK: a FIFO given as the source must be refused, not wait
	 * for a writer; files and block devices ignore the flag. */
	_cleanup_(cairn_path_clear) struct cairn_path v = CAIRN_PATH_INIT;
	int r = cairn_path_open(volume, "source", O_RDONLY | O_NONBLOCK, false, &v);
	if (r < 0)
		return r;
	if (want == CAIRN_SNAP_AUTO || want == CAIRN_SNAP_LVM || want == CAIRN_SNAP_INSTANT) {
		if ((r = take_lvm(volume, want, ret)) <= 0) {
			ret->seconds = cairn_now() - t0;
			return r;
		}
	}
	struct stat st;
	uint64_t size;
	bool device;
	if (fstat(v.fd, &st) < 0)
		return cairn_error_errno(errno, "stat %s", volume);
	if ((r = cairn_fd_size(v.fd, volume, &size, &device)) < 0)
		return r;
	enum cairn_snap_method m = want;
	if (m == CAIRN_SNAP_AUTO || m == CAIRN_SNAP_REFLINK || m == CAIRN_SNAP_INSTANT) {
		r = device ? cairn_error_set(CAIRN_EUNSUPPORTED, "%s is a block device: no reflink snapshot", volume)
			   : take_reflink(&v, &st, state_dir, known, known_ud, ret);
		if (r == CAIRN_EUNSUPPORTED && want == CAIRN_SNAP_INSTANT) {
			/* The volume as this walk found it, for a live read: no
			 * second walk that a swapped link could meet. */
			ret->method = CAIRN_SNAP_NONE;
			ret->fd = fcntl(v.fd, F_DUPFD_CLOEXEC, 3);
			ret->path = strdup(v.abs);
			return r;
		}
		if (r < 0 && (r != CAIRN_EUNSUPPORTED || want != CAIRN_SNAP_AUTO))
			return r;
		m = r < 0 ? CAIRN_SNAP_COPY : CAIRN_SNAP_REFLINK;
	}
	if (m == CAIRN_SNAP_COPY && (r = take_copy(&v, &st, size, volume, state_dir, known, known_ud, ret)) < 0)
		return r;
	/* Read-only, durable, and remembered as it is now. */
	if (fchmod(ret->fd, 0400) < 0 || fsync(ret->fd) < 0 || fstat(ret->fd, &st) < 0)
		return cairn_snap_release(ret, cairn_error_errno(errno, "finish snapshot %s", ret->path));
	identity_from_stat(&st, (uint64_t)st.st_size, &ret->ident);
	ret->method = m;
	ret->seconds = cairn_now() - t0;
	return 0;
}

int cairn_snap_keep(struct cairn_snap_taken *t)
{
	if (t->kept || t->fd < 0) {
		t->kept = true;
		return 0;
	}
	size_t len;
	pid_t pid;
	if (!cairn_tmp_parse(t->name, SNAP_TAG, &len, &pid))
		return cairn_error_set(CAIRN_EINVAL, "snapshot %s has no temporary name", t->path);
	_cleanup_free_ char *final = strndup(t->name, len), *path = final ? join(t->dir, final) : NULL;
	if (!path)
		return cairn_error_nomem();
	/* Our own directory: only another snapshot of this id could be at
	 * final, and it is not replaced. */
	int r = renameat2(t->dirfd, t->name, t->dirfd, final, RENAME_NOREPLACE);
	if (r < 0 && errno == EINVAL) /* a file system without it */
		r = linkat(t->dirfd, t->name, t->dirfd, final, 0) < 0 ? -1 : unlinkat(t->dirfd, t->name, 0);
	if (r < 0 && errno == EEXIST)
		return cairn_error_set(CAIRN_EEXIST, "snapshot %s/%s exists already", t->dir, final);
	if (r < 0)
		return cairn_error_errno(errno, "rename %s to %s", t->path, final);
	struct stat st;
	free(t->name);
	free(t->path);
	t->name = TAKE_PTR(final);
	t->path = TAKE_PTR(path);
	t->kept = true;
	if (fstat(t->fd, &st) < 0)
		return cairn_error_errno(errno, "stat %s", t->path);
	identity_from_stat(&st, (uint64_t)st.st_size, &t->ident);
	return 0;
}

int cairn_snap_release(struct cairn_snap_taken *t, int r)
{
	char msg[1024];
	if (r < 0)
		cairn_error_copy(msg, sizeof(msg));
	if (!t->kept && t->dirfd >= 0 && t->name) {
		/* Before closing: the lock is ours until the name is gone. */
		if (unlinkat(t->dirfd, t->name, 0) < 0 && errno != ENOENT)
			cairn_log_warn("could not remove snapshot %s: %s", t->path, strerror(errno));
	} else if (!t->kept && t->method == CAIRN_SNAP_LVM && t->path &&
		   cairn_snap_remove(t->path, CAIRN_SNAP_LVM) < 0) {
		cairn_log_warn("%s", cairn_error_message());
	}
	if (t->fd >= 0)
		close(t->fd);
	if (t->dirfd >= 0)
		close(t->dirfd);
	free(t->path);
	free(t->dir);
	free(t->name);
	char id[sizeof(t->id)];
	memcpy(id, t->id, sizeof(id));
	*t = (struct cairn_snap_taken)CAIRN_SNAP_TAKEN_INIT;
	memcpy(t->id, id, sizeof(id));
	if (r < 0)
		cairn_error_set(r, "%s", msg);
	return r;
}

/* ---- recorded snapshots ---- */

/* The checked directory of the recorded snapshot file path, and the
 * file's name in it.  CAIRN_ENOTFOUND when the directory is gone. */
static int recorded_dir(const char *path, int *ret_dfd, char **ret_name)
{
	_cleanup_free_ char *dir = NULL;
	int r = split(path, &dir, ret_name);
	if (r >= 0 && (r = cairn_snap_dir_open(dir, ret_dfd)) < 0) {
		free(*ret_name);
		*ret_name = NULL;
	}
	return r;
}

static bool same_identity(const struct cairn_snap_identity *a, const struct cairn_snap_identity *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns &&
	       a->ctime_ns == b->ctime_ns;
}

int cairn_snap_open(const char *path, enum cairn_snap_method method, const struct cairn_snap_identity *want,
		    int *ret_fd)
{
	*ret_fd = -1;
	if (method == CAIRN_SNAP_LVM) {
		struct cairn_lvm_lv lv;
		if (cairn_lvm_lookup(path, &lv) != 1 || lv.thin_id != want->ino || lv.size != want->size)
			return cairn_error_set(CAIRN_ECORRUPT, "snapshot %s changed or is missing since it was taken", path);
		return 0;
	}
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int dfd = -1;
	int r = recorded_dir(path, &dfd, &name);
	if (r == CAIRN_ENOTFOUND)
		return cairn_error_set(CAIRN_ECORRUPT, "snapshot %s changed or is missing since it was taken", path);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	struct cairn_snap_identity now;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		identity_from_stat(&st, (uint64_t)st.st_size, &now);
		if (same_identity(&now, want)) {
			*ret_fd = TAKE_FD(fd);
			return 0;
		}
	}
	return cairn_error_set(CAIRN_ECORRUPT, "snapshot %s changed or is missing since it was taken", path);
}

bool cairn_snap_identity_matches(const char *path, enum cairn_snap_method method,
				 const struct cairn_snap_identity *want)
{
	int fd;
	if (cairn_snap_open(path, method, want, &fd) < 0)
		return false;
	if (fd >= 0)
		close(fd);
	return true;
}

int cairn_snap_remove(const char *path, enum cairn_snap_method method)
{
	if (method == CAIRN_SNAP_LVM) {
		struct cairn_lvm_lv lv;
		if (cairn_lvm_lookup(path, &lv) != 1)
			return 0; /* gone already */
		return cairn_lvm_remove(lv.vg, lv.lv);
	}
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int dfd = -1;
	int r = recorded_dir(path, &dfd, &name);
	if (r == CAIRN_ENOTFOUND)
		return 0;
	if (r < 0)
		return cairn_error_prefix(r, "not removing snapshot %s", path);
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return cairn_error_errno(errno, "cannot remove snapshot %s", path);
	return 0;
}

/* ---- leftovers ---- */

void cairn_snap_leftovers_free(struct cairn_snap_leftover *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].path);
	free(v);
}

/* Whether entry is named like a snapshot file, BASE.ID or BASE.ID
 * SNAP_TAG PID-XXXXXX; its id, and its process (0: not named). */
static bool snapshot_name(const char *entry, char id[17], pid_t *ret_pid)
{
	size_t len = strlen(entry), nl;
	pid_t pid = 0;
	if (cairn_tmp_parse(entry, SNAP_TAG, &nl, &pid))
		len = nl;
	if (len < 18 || entry[len - 17] != '.' || strspn(entry + len - 16, "0123456789abcdef") != 16)
		return false;
	memcpy(id, entry + len - 16, 16);
	id[16] = 0;
	*ret_pid = pid;
	return true;
}

int cairn_snap_leftovers(int dirfd, const char *dir, bool remove, cairn_snap_known_fn known, void *known_ud,
			 struct cairn_snap_leftover **ret, size_t *ret_n)
{
	struct cairn_snap_leftover *v = NULL;
	size_t n = 0, cap = 0;
	int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_(closedirp) DIR *dp = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dp) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		return cairn_error_errno(e, "cannot list %s %s", WHAT_DIR, dir);
	}
	struct dirent *e;
	int r = 0;
	while (r >= 0 && (e = readdir(dp))) {
		char id[17];
		pid_t pid;
		int fd;
		struct stat st;
		/* The lock first, then the records: a run records a snapshot
		 * before it lets go of its lock. */
		if (!snapshot_name(e->d_name, id, &pid) || cairn_tmp_claim(dirfd, e->d_name, pid, &fd, &st) != 1)
			continue;
		_cleanup_free_ char *path = join(dir, e->d_name);
		if (!path) {
			close(fd);
			r = cairn_error_nomem();
			break;
		}
		if (known(path, &st, known_ud)) {
			close(fd);
			continue;
		}
		if (remove) {
			if (unlinkat(dirfd, e->d_name, 0) == 0)
				cairn_log_info("removed snapshot %s (%llu MiB), left by an interrupted run", path,
					       (unsigned long long)((uint64_t)st.st_blocks * 512 >> 20));
		} else if (ret && (r = cairn_array_grow(&v, &cap, n, sizeof(*v), 8)) >= 0) {
			v[n] = (struct cairn_snap_leftover){ .path = TAKE_PTR(path), .size = (uint64_t)st.st_size,
							     .allocated = (uint64_t)st.st_blocks * 512,
							     .mtime = st.st_mtim.tv_sec, .pid = (int)pid };
			memcpy(v[n].id, id, sizeof(id));
			n++;
		}
		close(fd);
	}
	if (r < 0 || !ret) {
		cairn_snap_leftovers_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ---- is anything using the volume? ---- */

static bool same_file(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* A loop device whose backing file is the volume. */
static int check_loop(const struct stat *vst, const char *volume)
{
	_cleanup_(closedirp) DIR *d = opendir("/sys/block");
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "loop", 4) != 0)
			continue;
		char p[PATH_MAX], back[PATH_MAX];
		snprintf(p, sizeof(p), "/sys/block/%s/loop/backing_file", e->d_name);
		_cleanup_fclose_ FILE *f = fopen(p, "re");
		if (!f || !fgets(back, sizeof(back), f))
			continue;
		back[strcspn(back, "\n")] = 0;
		struct stat bst;
		if (stat(back, &bst) == 0 && same_file(&bst, vst))
			return cairn_error_set(CAIRN_EBUSY, "%s is attached to /dev/%s", volume, e->d_name);
	}
	return 0;
}

/* A process holding the volume open for writing (other than us). */
static int check_writers(const struct stat *vst, const char *volume)
{
	_cleanup_(closedirp) DIR *proc = opendir("/proc");
	if (!proc)
		return 0;
	pid_t self = getpid();
	struct dirent *pe;
	while ((pe = readdir(proc))) {
		char *end;
		long pid = strtol(pe->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		char fdpath[64];
		snprintf(fdpath, sizeof(fdpath), "/proc/%ld/fd", pid);
		_cleanup_(closedirp) DIR *fds = opendir(fdpath);
		if (!fds)
			continue;
		struct dirent *fe;
		while ((fe = readdir(fds))) {
			if (fe->d_name[0] == '.')
				continue;
			char link[PATH_MAX];
			snprintf(link, sizeof(link), "/proc/%ld/fd/%s", pid, fe->d_name);
			struct stat fst;
			if (stat(link, &fst) < 0 || !same_file(&fst, vst))
				continue;
			char info[PATH_MAX], line[256];
			snprintf(info, sizeof(info), "/proc/%ld/fdinfo/%s", pid, fe->d_name);
			_cleanup_fclose_ FILE *f = fopen(info, "re");
			unsigned long flags = 0;
			while (f && fgets(line, sizeof(line), f))
				if (sscanf(line, "flags: %lo", &flags) == 1)
					break;
			if ((flags & O_ACCMODE) != O_RDONLY) {
				char comm[64] = "?";
				char cp[64];
				snprintf(cp, sizeof(cp), "/proc/%ld/comm", pid);
				_cleanup_fclose_ FILE *c = fopen(cp, "re");
				if (c && fgets(comm, sizeof(comm), c))
					comm[strcspn(comm, "\n")] = 0;
				return cairn_error_set(CAIRN_EBUSY, "%s is open for writing by process %ld (%s)", volume,
						       pid, comm);
			}
		}
	}
	return 0;
}

int cairn_volume_check_idle(const char *volume, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return cairn_error_errno(errno, "volume %s", volume);
	if (S_ISBLK(st.st_mode)) {
		/* O_EXCL on a block device fails while it is mounted or claimed. */
		int fd = open(volume, O_RDONLY | O_EXCL | O_CLOEXEC);
		if (fd < 0 && errno == EBUSY)
			return cairn_error_set(CAIRN_EBUSY, "%s is in use (mounted?)", volume);
		if (fd >= 0)
			close(fd);
	} else {
		int r = check_loop(&st, volume);
		if (r < 0)
			return r;
	}
	return check_writers(&st, volume);
}

/* ---- revert ---- */

/* Writes every byte of in (size) over the device out: a device has no
 * holes, zeros included. */
static int revert_device(int in, const char *path, int out, const char *volume, uint64_t size)
{
	int r;
	uint64_t dsize;
	if ((r = cairn_fd_size(out, volume, &dsize, NULL)) < 0)
		return r;
	if (dsize < size)
		return cairn_error_set(CAIRN_ETOOSMALL, "%s is smaller than the snapshot", volume);
	_cleanup_free_ uint8_t *buf = malloc(8u << 20);
	if (!buf)
		return cairn_error_nomem();
	for (uint64_t off = 0; off < size;) {
		if (cairn_cancel_check())
			return cairn_error_set(CAIRN_ECANCELED, "interrupted while reverting %s", volume);
		size_t n = (size_t)MIN((uint64_t)(8u << 20), size - off);
		ssize_t got = pread(in, buf, n, (off_t)off);
		if (got <= 0)
			return cairn_error_errno(got < 0 ? errno : EIO, "read %s", path);
		if ((r = cairn_pwrite_all(out, buf, (size_t)got, off, volume)) < 0)
			return r;
		off += (uint64_t)got;
	}
	if (fsync(out) < 0)
		return cairn_error_errno(errno, "fsync %s", volume);
	return 0;
}

/* An image file: the reverted file is built as a temporary beside it,
 * through the directory's descriptor, and renamed over it. */
static int revert_file(int in, const char *path, enum cairn_snap_method method, const struct cairn_path *v,
		       const struct stat *vst, uint64_t size)
{
	_cleanup_free_ char *dir = NULL, *name = NULL, *tmp = NULL;
	int r = split(v->abs, &dir, &name);
	if (r < 0)
		return r;
	cairn_tmp_sweep(v->dirfd, dir, v->name, REVERT_TAG, "a revert");
	/* Built without a name where the file system allows: whoever else
	 * can write the directory gets only a moment to swap the name it is
	 * renamed from (cairn_tmp_commit tells when they did). */
	_cleanup_close_ int out = -1;
	bool anon = cairn_tmp_anon(v->dirfd, &out) >= 0;
	if (!anon && (r = cairn_tmp_create(v->dirfd, dir, v->name, REVERT_TAG, &out, &tmp)) < 0)
		return r;
	uint64_t copied = 0;
	if (!(method == CAIRN_SNAP_REFLINK && ioctl(out, FICLONE, in) == 0))
		r = sparse_copy(in, path, out, v->abs, size, &copied);
	if (r >= 0 && (fchown(out, vst->st_uid, vst->st_gid) < 0 || fchmod(out, vst->st_mode & 07777) < 0))
		r = cairn_error_errno(errno, "set owner and mode of the reverted %s", v->abs);
	if (r >= 0 && fsync(out) < 0)
		r = cairn_error_errno(errno, "fsync %s/%s", dir, tmp ? tmp : v->name);
	if (r >= 0 && anon)
		r = cairn_tmp_link(v->dirfd, dir, v->name, REVERT_TAG, out, &tmp);
	if (r >= 0)
		r = cairn_tmp_commit(v->dirfd, dir, tmp, v->name, out);
	if (r < 0) {
		if (tmp)
			unlinkat(v->dirfd, tmp, 0);
		return r;
	}
	_cleanup_close_ int dfd = openat(v->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		return cairn_error_errno(errno, "fsync %s", dir);
	return 0;
}

int cairn_snap_revert(int in, const char *path, enum cairn_snap_method method, const char *volume, bool force)
{
	_cleanup_(cairn_path_clear) struct cairn_path v = CAIRN_PATH_INIT;
	int r = cairn_path_open(volume, "volume", O_RDONLY | O_NONBLOCK, false, &v);
	if (r < 0)
		return r;
	if (!force && (r = cairn_volume_check_idle(v.abs, v.fd)) < 0)
		return cairn_error_prefix(r, "refusing to revert (use --force to revert anyway)");
	if (method == CAIRN_SNAP_LVM) {
		struct cairn_lvm_lv lv;
		if (cairn_lvm_lookup(path, &lv) != 1)
			return cairn_error_set(CAIRN_ENOTFOUND, "LVM snapshot %s is gone", path);
		return cairn_lvm_merge(lv.vg, lv.lv);
	}
	uint64_t size;
	struct stat vst;
	if ((r = cairn_fd_size(in, path, &size, NULL)) < 0)
		return r;
	if (fstat(v.fd, &vst) < 0)
		return cairn_error_errno(errno, "volume %s", volume);
	if (S_ISBLK(vst.st_mode)) {
		_cleanup_close_ int out = -1;
		if ((r = cairn_path_reopen(v.dirfd, v.name, v.fd, O_WRONLY | (force ? 0 : O_EXCL), volume, &out)) < 0)
			return r;
		return revert_device(in, path, out, volume, size);
	}
	if (!S_ISREG(vst.st_mode))
		return cairn_error_set(CAIRN_EINVAL, "volume %s is neither a file nor a block device", volume);
	return revert_file(in, path, method, &v, &vst, size);
}
