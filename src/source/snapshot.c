#include "source/snapshot.h"
#include "source/chunker.h"
#include "source/lvm.h"
#include "source/volume.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/log.h"
#include "util/time.h"

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
};

const char *cairn_snap_method_name(enum cairn_snap_method m)
{
	return (unsigned)m < ARRAY_SIZE(method_names) ? method_names[m] : "?";
}

int cairn_snap_method_parse(const char *s, enum cairn_snap_method *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(method_names); i++)
		if (s && strcmp(s, method_names[i]) == 0) {
			*ret = (enum cairn_snap_method)i;
			return 0;
		}
	return cairn_error_set(CAIRN_EINVAL, "unknown snapshot method '%s' (want auto, reflink, copy, lvm or none)",
			       s ? s : "");
}

int cairn_snap_dir(const char *volume, const char *state_dir, char **ret)
{
	struct stat st;
	if (stat(volume, &st) < 0)
		return cairn_error_errno(errno, "cannot open source %s", volume);
	char *d = NULL;
	int n;
	if (S_ISBLK(st.st_mode)) {
		if (!state_dir)
			return cairn_error_set(CAIRN_EINVAL, "a snapshot of a block device needs a state directory");
		n = asprintf(&d, "%s/snapshots", state_dir);
	} else {
		const char *slash = strrchr(volume, '/');
		if (!slash)
			n = asprintf(&d, ".cairn-snapshots");
		else if (slash == volume)
			n = asprintf(&d, "/.cairn-snapshots");
		else
			n = asprintf(&d, "%.*s/.cairn-snapshots", (int)(slash - volume), volume);
	}
	if (n < 0)
		return CAIRN_ENOMEM;
	*ret = d;
	return 0;
}

static void identity_from_stat(const struct stat *st, uint64_t size, struct cairn_snap_identity *ret)
{
	ret->dev = st->st_dev;
	ret->ino = st->st_ino;
	ret->size = size;
	ret->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	ret->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

int cairn_snap_identity_of(const char *path, struct cairn_snap_identity *ret)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return cairn_error_errno(errno, "snapshot %s", path);
	struct cairn_lvm_lv lv;
	if (S_ISBLK(st.st_mode) && cairn_lvm_lookup(path, &lv) == 1) {
		/* An LV's device numbers change across activations: its thin id
		 * and size identify it. */
		*ret = (struct cairn_snap_identity){ .ino = lv.thin_id, .size = lv.size };
		return 0;
	}
	identity_from_stat(&st, (uint64_t)st.st_size, ret);
	return 0;
}

bool cairn_snap_identity_matches(const char *path, const struct cairn_snap_identity *want)
{
	struct cairn_snap_identity now;
	if (cairn_snap_identity_of(path, &now) < 0)
		return false;
	return now.dev == want->dev && now.ino == want->ino && now.size == want->size &&
	       now.mtime_ns == want->mtime_ns && now.ctime_ns == want->ctime_ns;
}

/* Copies [off, off + len) by reading and writing, leaving all-zero 64 KiB
 * pieces as holes: for block devices, which copy_file_range refuses. */
static int rw_copy(int in, const char *in_path, int out, const char *out_path, uint64_t off, uint64_t len,
		   uint64_t *copied)
{
	enum { BUF = 8 << 20, PIECE = 64 << 10 };
	_cleanup_free_ uint8_t *buf = malloc(BUF);
	if (!buf)
		return CAIRN_ENOMEM;
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

static int ensure_dir_of(const char *path)
{
	_cleanup_free_ char *d = strdup(path);
	if (!d)
		return CAIRN_ENOMEM;
	char *slash = strrchr(d, '/');
	if (!slash || slash == d)
		return 0;
	*slash = 0;
	if (mkdir(d, 0700) < 0 && errno != EEXIST)
		return cairn_error_errno(errno, "cannot create %s", d);
	return 0;
}

int cairn_snap_take(const char *volume, const char *path, enum cairn_snap_method want,
		    struct cairn_snap_taken *ret)
{
	double t0 = cairn_now();
	memset(ret, 0, sizeof(*ret));
	if (want == CAIRN_SNAP_NONE)
		return cairn_error_set(CAIRN_EINVAL, "no snapshot method");
	/* O_NONBLOCK: a FIFO given as the source must be refused, not wait
	 * for a writer; files and block devices ignore the flag. */
	_cleanup_close_ int in = open(volume, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (in < 0)
		return cairn_error_errno(errno, "cannot open source %s", volume);
	struct stat st;
	uint64_t size;
	bool device;
	if (fstat(in, &st) < 0)
		return cairn_error_errno(errno, "stat %s", volume);
	int r = cairn_fd_size(in, volume, &size, &device);
	if (r < 0)
		return r;
	if ((r = ensure_dir_of(path)) < 0)
		return r;
	_cleanup_close_ int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return cairn_error_errno(errno, "cannot create snapshot %s", path);

	enum cairn_snap_method m = want;
	if (m == CAIRN_SNAP_AUTO || m == CAIRN_SNAP_REFLINK) {
		if (!device && ioctl(out, FICLONE, in) == 0) {
			m = CAIRN_SNAP_REFLINK;
		} else if (m == CAIRN_SNAP_REFLINK) {
			int e = errno;
			unlink(path);
			if (device)
				return cairn_error_set(CAIRN_EUNSUPPORTED, "%s is a block device: no reflink snapshot",
						       volume);
			if (e == EOPNOTSUPP || e == EXDEV || e == EINVAL || e == ENOTTY)
				return cairn_error_set(CAIRN_EUNSUPPORTED,
						       "the file system of %s cannot make reflink snapshots (XFS with "
						       "reflink=1 or btrfs can)",
						       volume);
			return cairn_error_errno(e, "reflink %s to %s", volume, path);
		} else {
			m = CAIRN_SNAP_COPY;
		}
	}
	if (m == CAIRN_SNAP_COPY) {
		uint64_t need = data_bytes(in, &st, size);
		struct statvfs vs;
		if (fstatvfs(out, &vs) == 0 && (uint64_t)vs.f_bavail * vs.f_frsize < need + (64u << 20)) {
			unlink(path);
			return cairn_error_set(CAIRN_ENOSPC,
					       "no room for a copy snapshot of %s (%llu MiB of data) beside it; use a "
					       "reflink file system (XFS, btrfs) or free space",
					       volume, (unsigned long long)(need >> 20));
		}
		r = sparse_copy(in, volume, out, path, size, &ret->bytes_copied);
		if (r < 0) {
			unlink(path);
			return r;
		}
	}
	/* Read-only, durable, and remembered as it is now. */
	if (fchmod(out, 0400) < 0 || fsync(out) < 0 || fstat(out, &st) < 0) {
		r = cairn_error_errno(errno, "finish snapshot %s", path);
		unlink(path);
		return r;
	}
	identity_from_stat(&st, (uint64_t)st.st_size, &ret->id);
	ret->method = m;
	ret->seconds = cairn_now() - t0;
	return 0;
}

int cairn_snap_remove(const char *path)
{
	struct stat st;
	struct cairn_lvm_lv lv;
	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
		if (cairn_lvm_lookup(path, &lv) != 1)
			return cairn_error_set(CAIRN_EINVAL, "%s is a block device but no LVM snapshot; not removing it",
					       path);
		return cairn_lvm_remove(lv.vg, lv.lv);
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return cairn_error_errno(errno, "cannot remove snapshot %s", path);
	return 0;
}

int cairn_snap_discard(const char *path, int r)
{
	char msg[1024];
	if (r < 0)
		cairn_error_copy(msg, sizeof(msg));
	if (cairn_snap_remove(path) < 0 && r < 0)
		cairn_error_set(r, "%s", msg);
	return r;
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

int cairn_volume_check_idle(const char *volume)
{
	struct stat st;
	if (stat(volume, &st) < 0)
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

int cairn_snap_revert(const char *path, enum cairn_snap_method method, const char *volume, bool force)
{
	int r;
	if (!force && (r = cairn_volume_check_idle(volume)) < 0)
		return cairn_error_prefix(r, "refusing to revert (use --force to revert anyway)");
	if (method == CAIRN_SNAP_LVM) {
		struct cairn_lvm_lv lv;
		if (cairn_lvm_lookup(path, &lv) != 1)
			return cairn_error_set(CAIRN_ENOTFOUND, "LVM snapshot %s is gone", path);
		return cairn_lvm_merge(lv.vg, lv.lv);
	}
	_cleanup_close_ int in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return cairn_error_errno(errno, "cannot open snapshot %s", path);
	uint64_t size;
	if ((r = cairn_fd_size(in, path, &size, NULL)) < 0)
		return r;
	struct stat vst;
	if (stat(volume, &vst) < 0)
		return cairn_error_errno(errno, "volume %s", volume);

	if (S_ISBLK(vst.st_mode)) {
		_cleanup_close_ int out = open(volume, O_WRONLY | O_CLOEXEC | (force ? 0 : O_EXCL));
		if (out < 0)
			return cairn_error_errno(errno, "cannot open %s", volume);
		uint64_t dsize;
		if ((r = cairn_fd_size(out, volume, &dsize, NULL)) < 0)
			return r;
		if (dsize < size)
			return cairn_error_set(CAIRN_ETOOSMALL, "%s is smaller than the snapshot", volume);
		/* A device has no holes: write every byte, zeros included. */
		_cleanup_free_ uint8_t *buf = malloc(8u << 20);
		if (!buf)
			return CAIRN_ENOMEM;
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

	/* An image file: build the reverted file beside it, then swap it in. */
	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, "%s.cairn-revert-XXXXXX", volume) < 0)
		return CAIRN_ENOMEM;
	_cleanup_close_ int out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0)
		return cairn_error_errno(errno, "cannot create %s", tmp);
	bool cloned = method == CAIRN_SNAP_REFLINK && ioctl(out, FICLONE, in) == 0;
	uint64_t copied = 0;
	if (!cloned)
		r = sparse_copy(in, path, out, tmp, size, &copied);
	else
		r = 0;
	if (r >= 0 && (fchown(out, vst.st_uid, vst.st_gid) < 0 || fchmod(out, vst.st_mode & 07777) < 0))
		r = cairn_error_errno(errno, "set owner and mode of %s", tmp);
	if (r >= 0 && fsync(out) < 0)
		r = cairn_error_errno(errno, "fsync %s", tmp);
	if (r >= 0 && rename(tmp, volume) < 0)
		r = cairn_error_errno(errno, "rename %s to %s", tmp, volume);
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return cairn_fsync_parent(volume);
}
