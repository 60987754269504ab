/* The local directory driver: key "packs/ab/cd" is the file <root>/packs/ab/cd.
 *
 * Atomicity comes from the filesystem: put writes a temporary file in the
 * object's own directory, fsyncs it and renames it over the key (rename is
 * atomic within a directory), then fsyncs the directory so the new entry
 * survives a crash.  Temporary names start with ".tmp.", a component that
 * keys may not use, so list can hide them and a crash leaves nothing that
 * looks like an object.
 *
 * A repository is private to its owner whatever the umask (as restic's):
 * directories are made 0700 and objects 0600, so key objects, and the
 * sizes and names of everything else, are not for other users to read.
 * Directories that already exist (the repository's own, if the operator
 * made it) keep their mode.
 *
 * The driver keeps no mutable state of its own: every call works only on its
 * own file descriptors, so concurrent calls from many threads are safe.
 */
#include "store/store.h"
#include "store/testwrap.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_PREFIX ".tmp."
#define DIR_MODE 0700
#define FILE_MODE 0600
#define TMP_PREFIX_LEN (sizeof(TMP_PREFIX) - 1)

struct local_store {
	struct cairn_store base; /* first: the ops downcast */
	char *root;              /* directory path, no trailing '/' (unless "/") */
	bool no_direct_io;       /* CAIRN_NO_DIRECT_IO: every write through the page cache */
};

static const struct cairn_store_ops local_ops;

static struct local_store *to_local(struct cairn_store *s)
{
	return (struct local_store *)s;
}

/* Checks one complete path component of a key. */
static bool component_valid(const char *p, size_t n)
{
	if (n == 0)
		return false;
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return false;
	/* Reserved for our temporary files, which list hides. */
	if (n >= TMP_PREFIX_LEN && memcmp(p, TMP_PREFIX, TMP_PREFIX_LEN) == 0)
		return false;
	return true;
}

/* Keys must stay inside the root and map to exactly one file: no leading
 * '/', no empty, "." or ".." components. */
static int key_check(struct cairn_store *s, const char *key)
{
	const char *p = key;

	if (!key || !*key || *key == '/')
		goto bad;
	for (;;) {
		const char *e = strchrnul(p, '/');
		if (!component_valid(p, (size_t)(e - p)))
			goto bad;
		if (!*e)
			return 0;
		p = e + 1;
	}
bad:
	return cairn_error_set(CAIRN_EINVAL, "invalid object key '%s' for store %s", key ? key : "(null)",
			       s->uri);
}

/* A list prefix: "" or complete components followed by any partial one. */
static int prefix_check(struct cairn_store *s, const char *prefix)
{
	const char *p = prefix;

	if (*p == '/')
		goto bad;
	for (;;) {
		const char *e = strchr(p, '/');
		if (!e)
			return 0;
		if (!component_valid(p, (size_t)(e - p)))
			goto bad;
		p = e + 1;
	}
bad:
	return cairn_error_set(CAIRN_EINVAL, "invalid list prefix '%s' for store %s", prefix, s->uri);
}

static int join(const char *root, const char *key, char **ret)
{
	char *p;
	if (asprintf(&p, "%s/%s", root, key) < 0)
		return cairn_error_nomem();
	*ret = p;
	return 0;
}

static int not_found(struct cairn_store *s, const char *key)
{
	return cairn_error_set(CAIRN_ENOTFOUND, "object %s not found in %s", key, s->uri);
}

/* Makes room for n bytes without preserving old contents: realloc would
 * copy bytes we are about to overwrite, which matters for multi-MiB reads. */
static int buf_ensure(struct cairn_buf *b, size_t n)
{
	if (b->cap >= n)
		return 0;
	free(b->data);
	b->data = malloc(n);
	b->len = 0;
	b->cap = b->data ? n : 0;
	if (!b->data)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory allocating %zu bytes", n);
	return 0;
}

static int local_get(struct cairn_store *s, const char *key, uint64_t off, uint64_t len,
		     struct cairn_buf *out)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	cairn_buf_clear(out);
	r = key_check(s, key);
	if (r < 0)
		return r;
	r = join(to_local(s)->root, key, &path);
	if (r < 0)
		return r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return not_found(s, key);
		return cairn_error_errno(errno, "open %s", path);
	}
	if (fstat(fd, &st) < 0)
		return cairn_error_errno(errno, "stat %s", path);
	/* A directory is an inner node of the key space, not an object. */
	if (!S_ISREG(st.st_mode))
		return not_found(s, key);

	uint64_t size = (uint64_t)st.st_size;
	if (off > size)
		return cairn_error_set(CAIRN_EINVAL,
				       "offset %" PRIu64 " is past the end of object %s in %s (%" PRIu64
				       " bytes)",
				       off, key, s->uri, size);
	uint64_t want = MIN(len, size - off);
	if (want > SIZE_MAX)
		return cairn_error_set(CAIRN_ENOMEM, "object %s is too large to read at once", key);
	size_t n = (size_t)want;
	r = buf_ensure(out, n);
	if (r < 0)
		return r;

	size_t done = 0;
	while (done < n) {
		ssize_t k = pread(fd, out->data + done, n - done, (off_t)(off + done));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return cairn_error_errno(errno, "read %s", path);
		}
		/* Objects are replaced by rename, so our inode never shrinks;
		 * stop rather than spin if something truncated it anyway. */
		if (k == 0)
			break;
		done += (size_t)k;
	}
	out->len = done;
	return 0;
}

/* Opens the directory path[0..dirlen); path is restored, errno kept. */
static int open_dir(char *path, size_t dirlen)
{
	char c = path[dirlen];
	path[dirlen] = 0;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = errno;
	path[dirlen] = c;
	errno = err;
	return fd;
}

static int fsync_dir(char *path, size_t dirlen)
{
	char c = path[dirlen];
	int r = 0;

	path[dirlen] = 0;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		r = cairn_error_errno(errno, "sync directory %s", path);
	if (fd >= 0)
		close(fd);
	path[dirlen] = c;
	return r;
}

/* mkdir with exactly DIR_MODE, whatever the umask took away; -1 and errno
 * otherwise.  The new directory is opened, not followed, to be fixed. */
static int make_dir(const char *path)
{
	if (mkdir(path, DIR_MODE) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || ((st.st_mode & 07777) != DIR_MODE && fchmod(fd, DIR_MODE) < 0)) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		errno = err;
		return -1;
	}
	close(fd);
	return 0;
}

/* Creates the directories between the root (which must exist: a typo in a
 * repository path should not grow a new tree) and the object.  `full` is
 * root/key, keystart indexes the key in it. */
static int mkdir_parents(struct cairn_store *s, char *full, size_t keystart)
{
	for (char *p = strchr(full + keystart, '/'); p; p = strchr(p + 1, '/')) {
		int r = 0;

		*p = 0;
		if (make_dir(full) == 0) {
			/* A new directory's entry is durable only once its
			 * parent is synced, like the object's own entry. */
			char *q = strrchr(full, '/');
			r = fsync_dir(full, q == full ? 1 : (size_t)(q - full));
		} else if (errno == ENOENT) {
			r = cairn_error_set(CAIRN_ENOTFOUND, "store directory %s does not exist",
					    to_local(s)->root);
		} else if (errno == ENOTDIR) {
			r = cairn_error_set(CAIRN_EIO, "create directory %s: a parent is not a directory",
					    full);
		} else if (errno != EEXIST) {
			r = cairn_error_errno(errno, "create directory %s", full);
		}
		*p = '/';
		if (r < 0)
			return r;
	}
	return 0;
}

/* Large page-aligned objects (packs) are written with O_DIRECT: the bytes
 * go from our buffer to the disk without a copy into the page cache, which
 * the next backup would not read anyway, and without evicting the volume
 * being read.  The unaligned tail goes through the page cache.  Any
 * filesystem that refuses O_DIRECT (tmpfs) gets plain writes. */
#define DIRECT_ALIGN 4096
#define DIRECT_MIN (1u << 20)

static int write_data(int fd, const uint8_t *data, size_t len, const char *path, bool no_direct_io)
{
	size_t direct = len & ~(size_t)(DIRECT_ALIGN - 1);
	if (((uintptr_t)data % DIRECT_ALIGN) != 0 || direct < DIRECT_MIN || no_direct_io)
		return cairn_write_all(fd, data, len, path);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_DIRECT) < 0)
		return cairn_write_all(fd, data, len, path);
	size_t done = 0;
	while (done < direct) {
		ssize_t k = write(fd, data + done, direct - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EINVAL && done == 0)
			break; /* refused after all: write it buffered */
		if (k < 0) {
			int err = errno;
			fcntl(fd, F_SETFL, fl);
			return cairn_error_errno(err, "write %s", path);
		}
		done += (size_t)k;
		if (done % DIRECT_ALIGN)
			break; /* short odd write: finish buffered */
	}
	if (fcntl(fd, F_SETFL, fl) < 0)
		return cairn_error_errno(errno, "fcntl %s", path);
	return cairn_write_all(fd, data + done, len - done, path);
}

static void tmp_name(char *buf, size_t size, const char *base)
{
	uint64_t rnd;
	/* Uniqueness only has to beat other writers of the same key; O_EXCL
	 * catches the rest, so a clock fallback is good enough. */
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		rnd = (uint64_t)ts.tv_nsec * 2654435761u ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)buf;
	}
	/* Bounded so long keys cannot push the name past NAME_MAX. */
	snprintf(buf, size, TMP_PREFIX "%.64s.%ld.%016" PRIx64, base, (long)getpid(), rnd);
}

/* Publishes tmp as base; with create_only, fails if base exists. */
static int publish(struct cairn_store *s, int dfd, const char *tmp, const char *base, const char *key,
		   const char *path, bool create_only)
{
	if (!create_only) {
		if (renameat(dfd, tmp, dfd, base) < 0)
			return cairn_error_errno(errno, "rename into %s", path);
		return 0;
	}
	if (renameat2(dfd, tmp, dfd, base, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EEXIST)
		goto exists;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return cairn_error_errno(errno, "rename into %s", path);
	/* Filesystems without RENAME_NOREPLACE: link() never replaces either. */
	if (linkat(dfd, tmp, dfd, base, 0) < 0) {
		if (errno == EEXIST)
			goto exists;
		return cairn_error_errno(errno, "link %s", path);
	}
	unlinkat(dfd, tmp, 0);
	return 0;
exists:
	return cairn_error_set(CAIRN_EEXIST, "object %s already exists in %s", key, s->uri);
}

/* Writes the temporary file's content (the object's bytes) into fd. */
typedef int (*fill_fn)(int fd, const char *path, void *ud);

/* Makes object key atomically: a temporary file in the key's directory
 * that fill writes, synced, then renamed over the key (or not, for
 * CAIRN_PUT_CREATE_ONLY when it exists).  put and copy_from. */
static int write_object(struct cairn_store *s, const char *key, unsigned flags, fill_fn fill, void *ud)
{
	struct local_store *l = to_local(s);
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int dfd = -1;
	_cleanup_close_ int fd = -1;
	char tmp[NAME_MAX + 1];
	int r;

	r = key_check(s, key);
	if (r < 0)
		return r;
	r = join(l->root, key, &path);
	if (r < 0)
		return r;
	size_t keystart = strlen(l->root) + 1;
	char *slash = strrchr(path + keystart, '/');
	size_t dirlen = slash ? (size_t)(slash - path) : keystart - 1;
	const char *base = path + dirlen + 1;

	dfd = open_dir(path, dirlen);
	if (dfd < 0 && errno == ENOENT) {
		r = mkdir_parents(s, path, keystart);
		if (r < 0)
			return r;
		dfd = open_dir(path, dirlen);
	}
	if (dfd < 0) {
		int err = errno;
		path[dirlen] = 0;
		if (err == ENOENT)
			return cairn_error_set(CAIRN_ENOTFOUND, "store directory %s does not exist", path);
		return cairn_error_errno(err, "open directory %s", path);
	}

	for (int tries = 0; fd < 0; tries++) {
		tmp_name(tmp, sizeof(tmp), base);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
		if (fd < 0 && (errno != EEXIST || tries >= 16))
			return cairn_error_errno(errno, "create temporary file for %s", path);
	}
	/* Exactly FILE_MODE, whatever the umask took away. */
	if (fchmod(fd, FILE_MODE) < 0) {
		r = cairn_error_errno(errno, "create temporary file for %s", path);
		unlinkat(dfd, tmp, 0);
		return r;
	}

	r = fill(fd, path, ud);
	if (r >= 0 && fsync(fd) < 0)
		r = cairn_error_errno(errno, "sync %s", path);
	/* close can be the first to report a full disk on network filesystems. */
	if (close(TAKE_FD(fd)) < 0 && r >= 0)
		r = cairn_error_errno(errno, "close %s", path);
	if (r >= 0)
		r = publish(s, dfd, tmp, base, key, path, flags & CAIRN_PUT_CREATE_ONLY);
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		return r;
	}
	if (fsync(dfd) < 0) {
		path[dirlen] = 0;
		return cairn_error_errno(errno, "sync directory %s", path);
	}
	return 0;
}

struct put_data {
	const void *data;
	size_t len;
	bool no_direct_io;
};

static int fill_data(int fd, const char *path, void *ud)
{
	struct put_data *p = ud;
	return write_data(fd, p->data, p->len, path, p->no_direct_io);
}

static int local_put(struct cairn_store *s, const char *key, const void *data, size_t len,
		     unsigned flags)
{
	struct put_data p = { .data = data, .len = len, .no_direct_io = to_local(s)->no_direct_io };
	return write_object(s, key, flags, fill_data, &p);
}

static int local_stat(struct cairn_store *s, const char *key, uint64_t *ret_size)
{
	_cleanup_free_ char *path = NULL;
	struct stat st;
	int r;

	r = key_check(s, key);
	if (r < 0)
		return r;
	r = join(to_local(s)->root, key, &path);
	if (r < 0)
		return r;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return not_found(s, key);
		return cairn_error_errno(errno, "stat %s", path);
	}
	if (!S_ISREG(st.st_mode))
		return not_found(s, key);
	*ret_size = (uint64_t)st.st_size;
	return 0;
}

static int local_del(struct cairn_store *s, const char *key)
{
	_cleanup_free_ char *path = NULL;
	int r;

	r = key_check(s, key);
	if (r < 0)
		return r;
	r = join(to_local(s)->root, key, &path);
	if (r < 0)
		return r;
	/* No directory fsync: a delete lost in a crash leaves an unreferenced
	 * object that the next GC removes again, and GC deletes thousands of
	 * packs.  Empty directories stay, since a concurrent put may be about
	 * to create a file in them. */
	if (unlink(path) < 0 && errno != ENOENT && errno != ENOTDIR)
		return cairn_error_errno(errno, "delete %s", path);
	return 0;
}

struct walk {
	struct cairn_store *s;
	const char *prefix;
	size_t plen;
	cairn_store_list_fn fn;
	void *ud;
	char key[PATH_MAX];
};

/* Lists the directory dfd (consumed), whose entries have keys
 * w->key[0..klen) + name.  Subdirectories are entered only when some key
 * below them can start with the prefix, so listing "packs/ab" reads one
 * directory out of 256. */
static int walk_dir(struct walk *w, int dfd, size_t klen)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int r = cairn_error_errno(errno, "list %s", w->s->uri);
		close(dfd);
		return r;
	}

	int r = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				r = cairn_error_errno(errno, "list %s/%.*s", to_local(w->s)->root, (int)klen,
						      w->key);
			break;
		}
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, "..") ||
		    !strncmp(name, TMP_PREFIX, TMP_PREFIX_LEN))
			continue;
		size_t nlen = strlen(name);
		if (klen + nlen + 2 > sizeof(w->key)) {
			r = cairn_error_set(CAIRN_EIO, "list %s: key too long below %.*s", w->s->uri,
					    (int)klen, w->key);
			break;
		}
		memcpy(w->key + klen, name, nlen + 1);
		size_t n = klen + nlen;
		if (memcmp(w->key, w->prefix, MIN(n, w->plen)) != 0)
			continue;

		bool is_dir;
		uint64_t size = 0;
		if (de->d_type == DT_DIR) {
			is_dir = true;
		} else if (de->d_type == DT_REG || de->d_type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno == ENOENT) /* deleted while we list */
					continue;
				r = cairn_error_errno(errno, "stat %s/%s", to_local(w->s)->root, w->key);
				break;
			}
			if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
				continue;
			is_dir = S_ISDIR(st.st_mode);
			size = (uint64_t)st.st_size;
		} else {
			continue; /* symlinks, devices: not objects */
		}

		if (!is_dir) {
			if (n >= w->plen) {
				r = w->fn(w->key, size, w->ud);
				if (r != 0)
					break;
			}
			continue;
		}
		w->key[n] = '/';
		w->key[n + 1] = 0;
		if (n < w->plen && w->prefix[n] != '/')
			continue;
		int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			if (errno == ENOENT)
				continue;
			r = cairn_error_errno(errno, "open directory %s/%s", to_local(w->s)->root, w->key);
			break;
		}
		r = walk_dir(w, sub, n + 1);
		if (r != 0)
			break;
	}
	closedir(d);
	return r;
}

static int local_list(struct cairn_store *s, const char *prefix, cairn_store_list_fn fn, void *ud)
{
	_cleanup_free_ struct walk *w = NULL;
	_cleanup_free_ char *dir = NULL;
	int r;

	r = prefix_check(s, prefix);
	if (r < 0)
		return r;
	w = malloc(sizeof(*w));
	if (!w)
		return cairn_error_nomem();
	*w = (struct walk){ .s = s, .prefix = prefix, .plen = strlen(prefix), .fn = fn, .ud = ud };
	if (w->plen + 1 >= sizeof(w->key))
		return cairn_error_set(CAIRN_EINVAL, "list prefix too long");

	/* Start at the deepest directory the prefix names completely. */
	const char *slash = strrchr(prefix, '/');
	size_t klen = slash ? (size_t)(slash - prefix) + 1 : 0;
	memcpy(w->key, prefix, klen);
	w->key[klen] = 0;
	r = join(to_local(s)->root, w->key, &dir);
	if (r < 0)
		return r;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		/* Nothing stored below the prefix yet. */
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return cairn_error_errno(errno, "open directory %s", dir);
	}
	return walk_dir(w, dfd, klen);
}

static int local_create(struct cairn_store *s)
{
	_cleanup_free_ char *path = strdup(to_local(s)->root);
	struct stat st;

	if (!path)
		return cairn_error_nomem();
	for (char *p = path + 1;; p++) {
		char c = *p;
		if (c != '/' && c != 0)
			continue;
		*p = 0;
		if (make_dir(path) < 0 && errno != EEXIST)
			return cairn_error_errno(errno, "create directory %s", path);
		*p = c;
		if (!c)
			break;
	}
	if (stat(path, &st) < 0)
		return cairn_error_errno(errno, "stat %s", path);
	if (!S_ISDIR(st.st_mode))
		return cairn_error_set(CAIRN_EINVAL, "store path %s is not a directory", path);
	return 0;
}

static void local_free(struct cairn_store *s)
{
	struct local_store *l = to_local(s);
	free(l->root);
	free(l->base.uri);
	free(l);
}

/* Temporary files of puts killed midway (.tmp.*), older than before, in
 * dfd and its subdirectories down to depth levels. */
static int sweep_dir(int dfd, int64_t before, int depth, struct cairn_store_sweep *ret)
{
	_cleanup_(closedirp) DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return cairn_error_errno(errno, "read directory");
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		/* Only temporaries and directories need a stat: not every pack. */
		bool tmp = !strncmp(e->d_name, TMP_PREFIX, TMP_PREFIX_LEN);
		if (!tmp && e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth > 0) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int r = sub < 0 ? 0 : sweep_dir(sub, before, depth - 1, ret);
			if (r < 0)
				return r;
		} else if (S_ISREG(st.st_mode) && tmp &&
			   (int64_t)st.st_mtime < before && unlinkat(dirfd(d), e->d_name, 0) == 0) {
			ret->removed++;
			ret->bytes += (uint64_t)st.st_size;
		}
	}
	return 0;
}

static int local_sweep(struct cairn_store *s, int64_t before, struct cairn_store_sweep *ret)
{
	int dfd = open(to_local(s)->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : cairn_error_errno(errno, "open directory %s", to_local(s)->root);
	/* Keys are at most "packs/ab/<name>": three levels. */
	return sweep_dir(dfd, before, 3, ret);
}

/* ---- server-side copy between two local stores ----
 *
 * The "server" is the kernel: the new object's temporary file is a
 * reflink of the source (FICLONE: Btrfs, XFS with reflink, bcachefs; no
 * data is written at all) where the filesystem allows, else filled by
 * copy_file_range (in the kernel, offloaded by NFS 4.2 and some others),
 * else by sendfile (still in the kernel, across filesystems too); never
 * through a buffer of ours.  Then it is published as put publishes, so
 * the copy is atomic and create-only in the same way. */

struct copy_src {
	int fd;
	uint64_t size;
	const char *src_path;
};

static int fill_copy(int fd, const char *path, void *ud)
{
	struct copy_src *c = ud;
	if (c->size == 0 || ioctl(fd, FICLONE, c->fd) == 0)
		return 0;
	off_t in = 0, out = 0;
	bool crange = true;
	while ((uint64_t)in < c->size) {
		size_t want = (size_t)MIN(c->size - (uint64_t)in, (uint64_t)1 << 30);
		ssize_t k;
		if (crange) {
			k = copy_file_range(c->fd, &in, fd, &out, want, 0);
			if (k < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL) &&
			    in == 0) {
				crange = false;
				continue;
			}
		} else {
			k = sendfile(fd, c->fd, &in, want);
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return cairn_error_errno(errno, "copy %s to %s", c->src_path, path);
		if (k == 0)
			return cairn_error_set(CAIRN_EIO, "copy %s to %s: the source ended at %jd of %" PRIu64 " bytes",
					       c->src_path, path, (intmax_t)in, c->size);
	}
	return 0;
}

/* The size hint is not needed: fstat costs no request. */
static int local_copy_from(struct cairn_store *s, struct cairn_store *src, const char *src_key, const char *dst_key,
			   uint64_t size, unsigned flags)
{
	_cleanup_free_ char *src_path = NULL, *dst_path = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	src = cairn_store_unwrap(src);
	if (src->ops != &local_ops)
		return cairn_error_set(CAIRN_EUNSUPPORTED, "no server-side copy from %s to %s: the source is not local",
				       src->uri, s->uri);
	if ((r = key_check(src, src_key)) < 0 || (r = key_check(s, dst_key)) < 0)
		return r;
	if ((r = join(to_local(src)->root, src_key, &src_path)) < 0 ||
	    (r = join(to_local(s)->root, dst_key, &dst_path)) < 0)
		return r;
	fd = open(src_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return not_found(src, src_key);
	if (fd < 0)
		return cairn_error_errno(errno, "open %s", src_path);
	if (fstat(fd, &st) < 0)
		return cairn_error_errno(errno, "stat %s", src_path);
	if (!S_ISREG(st.st_mode))
		return not_found(src, src_key);
	(void)size;
	/* Not to copy a whole object for nothing; publish decides for sure. */
	if (access(dst_path, F_OK) == 0)
		return flags & CAIRN_PUT_CREATE_ONLY
			       ? cairn_error_set(CAIRN_EEXIST, "object %s already exists in %s", dst_key, s->uri)
			       : 0;
	struct copy_src c = { .fd = fd, .size = (uint64_t)st.st_size, .src_path = src_path };
	r = write_object(s, dst_key, CAIRN_PUT_CREATE_ONLY, fill_copy, &c);
	if (r == CAIRN_EEXIST && !(flags & CAIRN_PUT_CREATE_ONLY)) {
		cairn_error_clear();
		r = 0;
	}
	return r;
}

static const struct cairn_store_ops local_ops = {
	.name = "local",
	.get = local_get,
	.put = local_put,
	.stat = local_stat,
	.del = local_del,
	.list = local_list,
	.free = local_free,
	.create = local_create,
	.sweep = local_sweep,
	.copy_from = local_copy_from,
};

int cairn_store_local_open(const char *path, struct cairn_store **ret)
{
	return cairn_store_local_open_opts(path, NULL, ret);
}

int cairn_store_local_open_opts(const char *path, const struct cairn_store_opts *o, struct cairn_store **ret)
{
	if (!path || !*path)
		return cairn_error_set(CAIRN_EINVAL, "empty store path");

	struct local_store *l = calloc(1, sizeof(*l));
	if (!l)
		return cairn_error_nomem();
	l->base.ops = &local_ops;
	l->base.features = CAIRN_STORE_FEAT_RANGE_GET | CAIRN_STORE_FEAT_CREATE_ONLY | CAIRN_STORE_FEAT_LOCAL;
	l->no_direct_io = cairn_store_opts_env(o)->no_direct_io;
	l->root = strdup(path);
	l->base.uri = strdup(path);
	if (!l->root || !l->base.uri) {
		local_free(&l->base);
		return cairn_error_nomem();
	}
	/* Keys are joined with '/', so drop trailing ones (keeping "/"). */
	size_t n = strlen(l->root);
	while (n > 1 && l->root[n - 1] == '/')
		l->root[--n] = 0;
	*ret = &l->base;
	return 0;
}
