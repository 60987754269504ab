/* XFS and btrfs catalogs through a read-only loop mount (mntscan.h). */
#include "source/mntscan.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_DEPTH 2100
#define TARGET_BUF 4096
#define FIEMAP_BATCH 256
/* Flags of extents whose bytes are not plainly at fe_physical. */
#define UNPLACEABLE                                                                                          \
	(FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_ENCODED | FIEMAP_EXTENT_DATA_ENCRYPTED | \
	 FIEMAP_EXTENT_NOT_ALIGNED | FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_DATA_TAIL)

/* ---- btrfs: its logical addresses to device bytes ---- */

struct chunk {
	uint64_t logical, length, physical;
};

struct chunkmap {
	struct chunk *v;
	size_t n, cap;
};

/* tree_search: the ioctl failed (errno says why). */
#define SEARCH_FAILED 2

/* Calls fn with each item (header and bytes) a BTRFS_IOC_TREE_SEARCH of
 * key's range finds, in key order; key fixes objectid and type, so the
 * search goes on after the last offset seen.  0, fn's first nonzero
 * return, or SEARCH_FAILED. */
static int tree_search(int fd, const struct btrfs_ioctl_search_key *key,
		       int (*fn)(const struct btrfs_ioctl_search_header *h, const uint8_t *item, void *ud), void *ud)
{
	struct btrfs_ioctl_search_args args;
	memset(&args, 0, sizeof(args));
	args.key = *key;
	struct btrfs_ioctl_search_key *k = &args.key;
	for (;;) {
		k->nr_items = 4096;
		if (ioctl(fd, BTRFS_IOC_TREE_SEARCH, &args) < 0)
			return SEARCH_FAILED;
		if (k->nr_items == 0)
			return 0;
		size_t at = 0;
		uint64_t last = 0;
		for (uint32_t i = 0; i < k->nr_items; i++) {
			struct btrfs_ioctl_search_header h;
			if (sizeof(args.buf) - at < sizeof(h))
				return errno = EIO, SEARCH_FAILED;
			memcpy(&h, args.buf + at, sizeof(h));
			at += sizeof(h);
			if (h.len > sizeof(args.buf) - at)
				return errno = EIO, SEARCH_FAILED;
			int r = fn(&h, (const uint8_t *)args.buf + at, ud);
			if (r)
				return r;
			at += h.len;
			last = h.offset;
		}
		if (last >= k->max_offset)
			return 0;
		k->min_offset = last + 1;
	}
}

struct chunk_load {
	struct chunkmap *m;
	char *reason;
	size_t cap;
};

static int chunk_item(const struct btrfs_ioctl_search_header *h, const uint8_t *item, void *ud)
{
	struct chunk_load *cl = ud;
	if (h->type != BTRFS_CHUNK_ITEM_KEY || h->len < sizeof(struct btrfs_chunk))
		return 0;
	struct btrfs_chunk c;
	memcpy(&c, item, sizeof(c));
	uint64_t type = le64toh(c.type);
	if (type & BTRFS_BLOCK_GROUP_PROFILE_MASK & ~BTRFS_BLOCK_GROUP_DUP) {
		snprintf(cl->reason, cl->cap, "btrfs: a RAID profile (chunk flags %#llx): cairn maps single-device "
			 "file systems only", (unsigned long long)type);
		return 1;
	}
	struct chunkmap *m = cl->m;
	if (cairn_array_grow(&m->v, &m->cap, m->n, sizeof(*m->v), 16) < 0)
		return cairn_error_nomem();
	m->v[m->n++] = (struct chunk){ h->offset, le64toh(c.length), le64toh(c.stripe.offset) };
	return 0;
}

/* Reads the chunk tree (single-device profiles only: SINGLE or DUP, whose
 * first stripe holds the bytes).  1 with reason set when it cannot be
 * mapped. */
static int chunkmap_load(int dirfd, struct chunkmap *m, char *reason, size_t cap)
{
	struct btrfs_ioctl_search_key k = { .tree_id = BTRFS_CHUNK_TREE_OBJECTID,
					    .min_objectid = BTRFS_FIRST_CHUNK_TREE_OBJECTID,
					    .max_objectid = BTRFS_FIRST_CHUNK_TREE_OBJECTID,
					    .min_type = BTRFS_CHUNK_ITEM_KEY,
					    .max_type = BTRFS_CHUNK_ITEM_KEY,
					    .max_offset = UINT64_MAX,
					    .max_transid = UINT64_MAX };
	struct chunk_load cl = { m, reason, cap };
	int r = tree_search(dirfd, &k, chunk_item, &cl);
	if (r == SEARCH_FAILED) {
		snprintf(reason, cap, "btrfs: its chunk tree cannot be searched: %s", strerror(errno));
		return 1;
	}
	return r;
}

/* The device byte of btrfs logical address l, for n bytes: false when no
 * one chunk holds them. */
static bool chunkmap_find(const struct chunkmap *m, uint64_t l, uint64_t n, uint64_t *ret)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct chunk *c = &m->v[i];
		if (l >= c->logical && l - c->logical < c->length && n <= c->length - (l - c->logical)) {
			*ret = c->physical + (l - c->logical);
			return true;
		}
	}
	return false;
}

/* ---- the walk ---- */

struct walk {
	const struct cairn_fs_visitor *v;
	const char *type;
	uint64_t base; /* of the file system in the volume */
	dev_t dev;     /* of the mount: never left */
	bool btrfs;
	struct chunkmap chunks;
	char reason[512];
	struct cairn_cat_extent *ext;
	size_t next, extcap;
	struct fiemap *fm;
	uint64_t entries;
	uint8_t inl[CAIRN_CAT_INLINE_MAX]; /* a small file's bytes (INLINE_BYTES) */
};

/* file_extents: the file's bytes are in no extent of the volume; read
 * them through the mount instead. */
#define INLINE_BYTES 2

/* Returns 1: no catalog of this file system (reason set). */
static int skip(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int skip(struct walk *w, const char *fmt, ...)
{
	if (!*w->reason) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(w->reason, sizeof(w->reason), fmt, ap);
		va_end(ap);
	}
	return 1;
}

static int64_t ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Appends x to w->ext: one extent of the catalog where the file system
 * cut a contiguous run of plain bytes in pieces. */
static int add_extent(struct walk *w, const struct cairn_cat_extent *x)
{
	struct cairn_cat_extent *p = w->next ? &w->ext[w->next - 1] : NULL;
	if (p && !p->compression && !x->compression && p->file_offset + p->length == x->file_offset &&
	    p->volume_offset + p->length == x->volume_offset && p->unwritten == x->unwritten &&
	    p->shared == x->shared) {
		p->length += x->length;
		return 0;
	}
	if (cairn_array_grow(&w->ext, &w->extcap, w->next, sizeof(*w->ext), 16) < 0)
		return cairn_error_nomem();
	w->ext[w->next++] = *x;
	return 0;
}

struct encoded {
	struct walk *w;
	const char *name;
	uint64_t ino, pos; /* the next file offset an item must start at */
	bool shared;
};

static int encoded_item(const struct btrfs_ioctl_search_header *h, const uint8_t *item, void *ud)
{
	struct encoded *en = ud;
	struct walk *w = en->w;
	const char *name = en->name;
	struct btrfs_file_extent_item fi;
	if (h->type != BTRFS_EXTENT_DATA_KEY || h->objectid != en->ino || h->len < sizeof(fi)) {
		if (h->type == BTRFS_EXTENT_DATA_KEY && h->len >= offsetof(struct btrfs_file_extent_item, disk_bytenr))
			return skip(w, "btrfs: '%s' has an inline extent beside others, past the %u bytes a catalog "
				    "holds itself", name, CAIRN_CAT_INLINE_MAX);
		return skip(w, "btrfs: an extent item of '%s' cannot be read", name);
	}
	memcpy(&fi, item, sizeof(fi));
	if (fi.type != BTRFS_FILE_EXTENT_REG && fi.type != BTRFS_FILE_EXTENT_PREALLOC)
		return skip(w, "btrfs: '%s' has an extent of type %u cairn cannot place", name, fi.type);
	if (fi.encryption || fi.other_encoding)
		return skip(w, "btrfs: '%s' has encrypted or encoded extents", name);
	uint64_t disk = le64toh(fi.disk_bytenr), disk_len = le64toh(fi.disk_num_bytes);
	uint64_t off = le64toh(fi.offset), len = le64toh(fi.num_bytes), ram = le64toh(fi.ram_bytes);
	/* One after the other from FIEMAP's start: a gap would read as zeros
	 * where FIEMAP saw data. */
	if (h->offset != en->pos || len == 0 || h->offset > UINT64_MAX - len)
		return skip(w, "btrfs: the extent items of '%s' do not cover what FIEMAP reports (at %llu)", name,
			    (unsigned long long)en->pos);
	en->pos = h->offset + len;
	if (disk == 0)
		return 0; /* a hole */
	struct cairn_cat_extent x = { .file_offset = h->offset, .length = len, .shared = en->shared };
	uint64_t phys;
	if (fi.compression == CAIRN_CAT_PLAIN) {
		if (!chunkmap_find(&w->chunks, disk + off, len, &phys))
			return skip(w, "btrfs: an extent of '%s' lies in no chunk of its chunk tree", name);
		x.unwritten = fi.type == BTRFS_FILE_EXTENT_PREALLOC;
	} else {
		if (fi.compression > CAIRN_CAT_COMPRESSION_MAX)
			return skip(w, "btrfs: '%s' has extents compressed in a way cairn does not know (%u)", name,
				    fi.compression);
		if (!disk_len || disk_len > CAIRN_CAT_ZEXTENT_MAX || !ram || ram > CAIRN_CAT_ZEXTENT_MAX || off > ram ||
		    len > ram - off)
			return skip(w, "btrfs: a compressed extent of '%s' is out of range", name);
		if (!chunkmap_find(&w->chunks, disk, disk_len, &phys))
			return skip(w, "btrfs: an extent of '%s' lies in no chunk of its chunk tree", name);
		x.compression = fi.compression;
		x.disk_length = disk_len;
		x.ram_length = ram;
		x.data_offset = off;
	}
	x.volume_offset = w->base + phys;
	return add_extent(w, &x);
}

/* btrfs's compressed extents in from .. to of the file open at fd (inode
 * ino): FIEMAP says only where one starts (FIEMAP_EXTENT_ENCODED), so its
 * EXTENT_DATA items say the rest (on-disk length, algorithm, the part of
 * the decompressed bytes the file uses).  They must cover the range as
 * FIEMAP did. */
static int btrfs_encoded(struct walk *w, int fd, const char *name, uint64_t ino, uint64_t from, uint64_t to,
			 bool shared)
{
	struct btrfs_ioctl_search_key k = { .tree_id = 0, /* the subvolume fd is in */
					    .min_objectid = ino,
					    .max_objectid = ino,
					    .min_type = BTRFS_EXTENT_DATA_KEY,
					    .max_type = BTRFS_EXTENT_DATA_KEY,
					    .min_offset = from,
					    .max_offset = to - 1,
					    .max_transid = UINT64_MAX };
	struct encoded en = { w, name, ino, from, shared };
	int r = tree_search(fd, &k, encoded_item, &en);
	if (r == SEARCH_FAILED)
		return skip(w, "btrfs: the extents of '%s' cannot be searched: %s", name, strerror(errno));
	if (r)
		return r;
	if (en.pos < to)
		return skip(w, "btrfs: the extent items of '%s' do not cover what FIEMAP reports (at %llu)", name,
			    (unsigned long long)en.pos);
	return 0;
}

/* The extents of the regular file open at fd (inode ino) into w->ext;
 * INLINE_BYTES for a small file whose bytes no extent places in the
 * volume. */
static int file_extents(struct walk *w, int fd, const char *name, uint64_t ino, uint64_t size)
{
	w->next = 0;
	uint64_t start = 0;
	for (;;) {
		memset(w->fm, 0, sizeof(*w->fm));
		w->fm->fm_start = start;
		w->fm->fm_length = FIEMAP_MAX_OFFSET - start;
		w->fm->fm_extent_count = FIEMAP_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, w->fm) < 0)
			return skip(w, "%s: FIEMAP of '%s' failed: %s", w->type, name, strerror(errno));
		if (!w->fm->fm_mapped_extents)
			return 0;
		for (uint32_t i = 0; i < w->fm->fm_mapped_extents; i++) {
			const struct fiemap_extent *x = &w->fm->fm_extents[i];
			if (x->fe_logical >= size && size)
				return 0; /* preallocated past the end: not the file's */
			/* btrfs keeps small files inline in its metadata
			 * (max_inline, 2 KiB by default), compressed or not:
			 * bytes a catalog cannot point at, but can hold when
			 * they are few. */
			if (x->fe_flags & UNPLACEABLE && size && size <= CAIRN_CAT_INLINE_MAX)
				return INLINE_BYTES;
			bool shared = x->fe_flags & FIEMAP_EXTENT_SHARED;
			int r;
			if (w->btrfs && (x->fe_flags & UNPLACEABLE) == FIEMAP_EXTENT_ENCODED) {
				/* Compressed: placed with its decompression. */
				if (x->fe_length == 0 || x->fe_logical > UINT64_MAX - x->fe_length)
					return skip(w, "btrfs: FIEMAP of '%s' gave an empty extent", name);
				if ((r = btrfs_encoded(w, fd, name, ino, x->fe_logical, x->fe_logical + x->fe_length,
						       shared)) != 0)
					return r;
			} else if (x->fe_flags & UNPLACEABLE) {
				return skip(w,
					    "%s: '%s' has data cairn cannot place in the volume (inline or encrypted "
					    "extents, flags %#x) and is larger than the %u bytes a catalog holds itself",
					    w->type, name, x->fe_flags, CAIRN_CAT_INLINE_MAX);
			} else {
				uint64_t phys = x->fe_physical;
				if (w->btrfs && !chunkmap_find(&w->chunks, x->fe_physical, x->fe_length, &phys))
					return skip(w, "btrfs: an extent of '%s' lies in no chunk of its chunk tree", name);
				struct cairn_cat_extent e = { .volume_offset = w->base + phys,
							      .file_offset = x->fe_logical,
							      .length = x->fe_length,
							      .unwritten = x->fe_flags & FIEMAP_EXTENT_UNWRITTEN,
							      .shared = shared };
				if ((r = add_extent(w, &e)) < 0)
					return r;
			}
			start = x->fe_logical + x->fe_length;
			if (x->fe_flags & FIEMAP_EXTENT_LAST)
				return 0;
		}
	}
}

/* The size bytes (at most CAIRN_CAT_INLINE_MAX) of the file open at fd
 * into w->inl, read through the mount: INLINE_BYTES, or 1 (reason set). */
static int file_bytes(struct walk *w, int fd, const char *name, uint64_t size)
{
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, w->inl + got, (size_t)size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return skip(w, "%s: '%s' cannot be read: %s", w->type, name, strerror(errno));
		if (n == 0)
			return skip(w, "%s: '%s' reads shorter than its size", w->type, name);
		got += (size_t)n;
	}
	return INLINE_BYTES;
}

/* Fills e from st (and the file at dirfd/name for symlinks and files). */
static int describe(struct walk *w, int dirfd, const char *name, const struct stat *st, struct cairn_cat_entry *e,
		    char *tbuf)
{
	memset(e, 0, sizeof(*e));
	e->name = name;
	e->mode = st->st_mode;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->size = (uint64_t)st->st_size;
	e->atime_ns = 0; /* not recorded: format.h (ENTRY) says why */
	e->mtime_ns = ns(st->st_mtim);
	e->ctime_ns = ns(st->st_ctim);
	e->nlink = (uint32_t)st->st_nlink;
	e->inode = st->st_ino;
	switch (st->st_mode & S_IFMT) {
	case S_IFREG: {
		e->type = CAIRN_CAT_FILE;
		int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			return skip(w, "%s: '%s' cannot be opened: %s", w->type, name, strerror(errno));
		int r = file_extents(w, fd, name, st->st_ino, e->size);
		if (r == INLINE_BYTES)
			r = file_bytes(w, fd, name, e->size);
		close(fd);
		if (r == INLINE_BYTES) {
			e->inline_data = w->inl;
			e->inline_len = (size_t)e->size;
			return 0;
		}
		e->extents = w->ext;
		e->nextents = w->next;
		return r;
	}
	case S_IFDIR:
		e->type = CAIRN_CAT_DIR;
		return 0;
	case S_IFLNK: {
		e->type = CAIRN_CAT_SYMLINK;
		ssize_t n = readlinkat(dirfd, name, tbuf, TARGET_BUF);
		if (n <= 0 || n >= TARGET_BUF)
			return skip(w, "%s: the symlink '%s' cannot be read", w->type, name);
		tbuf[n] = 0;
		e->target = tbuf;
		e->size = (uint64_t)n;
		return 0;
	}
	case S_IFCHR:
		e->type = CAIRN_CAT_CHR;
		break;
	case S_IFBLK:
		e->type = CAIRN_CAT_BLK;
		break;
	case S_IFIFO:
		e->type = CAIRN_CAT_FIFO;
		break;
	case S_IFSOCK:
		e->type = CAIRN_CAT_SOCK;
		break;
	default:
		return skip(w, "%s: '%s' has an unknown file type", w->type, name);
	}
	e->rdev = st->st_rdev;
	e->size = 0;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reports the contents of the directory open at fd (taken); <0 error,
 * 1 no catalog, 0 done. */
static int walk_dir(struct walk *w, int fd, unsigned depth)
{
	if (depth > MAX_DEPTH) {
		close(fd);
		return skip(w, "%s: directories nest deeper than %u", w->type, MAX_DEPTH);
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return skip(w, "%s: a directory cannot be read: %s", w->type, strerror(errno));
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	struct dirent *de;
	errno = 0;
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (cairn_array_grow(&names, &cap, n, sizeof(*names), 64) < 0 || !(names[n] = strdup(de->d_name)))
			r = cairn_error_nomem();
		else
			n++;
	}
	if (r == 0 && errno)
		r = skip(w, "%s: a directory cannot be read: %s", w->type, strerror(errno));
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	if (r == 0)
		r = w->v->dir_begin(w->v->ud);
	char *tbuf = r == 0 ? malloc(TARGET_BUF) : NULL;
	if (r == 0 && !tbuf)
		r = cairn_error_nomem();
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (++w->entries % 1024 == 0 && cairn_cancel_check()) {
			r = cairn_error_set(CAIRN_ECANCELED, "interrupted");
			break;
		}
		struct stat st;
		if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = skip(w, "%s: '%s' cannot be looked at: %s", w->type, names[i], strerror(errno));
			break;
		}
		if (st.st_dev != w->dev && !w->btrfs) {
			r = skip(w, "%s: '%s' is on another device", w->type, names[i]);
			break;
		}
		struct cairn_cat_entry e;
		if ((r = describe(w, dirfd(d), names[i], &st, &e, tbuf)) != 0)
			break;
		if (e.type == CAIRN_CAT_DIR) {
			int cfd = openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				r = skip(w, "%s: the directory '%s' cannot be opened: %s", w->type, names[i],
					 strerror(errno));
				break;
			}
			if ((r = walk_dir(w, cfd, depth + 1)) != 0)
				break;
			if ((r = w->v->dir_end(w->v->ud, e.subtree_id)) != 0)
				break;
		}
		r = w->v->entry(w->v->ud, &e);
	}
	free(tbuf);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

/* ---- the loop device and the mount ---- */

/* A read-only, autoclearing loop device over [offset, offset + size) of
 * fd: its open descriptor, or -errno. */
static int loop_attach(int fd, uint64_t offset, uint64_t size, char *dev, size_t cap)
{
	_cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	for (int tries = 0; tries < 16; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			return -errno;
		snprintf(dev, cap, "/dev/loop%d", n);
		int lfd = open(dev, O_RDONLY | O_CLOEXEC);
		if (lfd < 0)
			return -errno;
		struct loop_config cfg;
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)fd;
		cfg.info.lo_offset = offset;
		cfg.info.lo_sizelimit = size;
		cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0)
			return lfd;
		int e = errno;
		close(lfd);
		if (e != EBUSY)
			return -e;
		/* Another process took that device meanwhile. */
	}
	return -EBUSY;
}

/* The child: a private mount namespace, the mount, its errno (0: mounted)
 * on report, then waiting for the parent to close hold.  Only system
 * calls here: the parent has threads. */
static void child_main(const char *dev, const char *dir, const char *type, const char *opts, const char *opts2,
		       int report, int hold)
{
	int err = 0;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		err = errno;
	unsigned long fl = MS_RDONLY | MS_NODEV | MS_NOSUID | MS_NOEXEC;
	if (!err && mount(dev, dir, type, fl, opts) < 0) {
		err = errno;
		if (opts2 && mount(dev, dir, type, fl, opts2) == 0)
			err = 0;
	}
	if (write(report, &err, sizeof(err)) != sizeof(err) || err)
		_exit(1);
	char c;
	while (read(hold, &c, 1) > 0 || errno == EINTR)
		;
	_exit(0);
}

int cairn_mnt_scan(int fd, uint64_t offset, uint64_t size, const char *fs_type, const struct cairn_fs_visitor *v)
{
	struct walk w = { .v = v, .type = fs_type, .base = offset, .btrfs = !strcmp(fs_type, "btrfs") };
	if (geteuid() != 0) {
		skip(&w, "%s: a catalog of it needs a read-only loop mount, which needs root (cairn ran as uid %u)",
		     fs_type, (unsigned)geteuid());
		return v->fs_skip(v->ud, w.reason);
	}
	char dev[64], dir[] = "/tmp/cairn-catalog.XXXXXX", proot[128];
	int lfd = loop_attach(fd, offset, size, dev, sizeof(dev));
	if (lfd < 0) {
		skip(&w, "%s: no loop device for its read-only mount: %s", fs_type, strerror(-lfd));
		return v->fs_skip(v->ud, w.reason);
	}
	int r = 0, report[2] = { -1, -1 }, hold[2] = { -1, -1 }, rootfd = -1;
	pid_t pid = -1;
	if (!mkdtemp(dir)) {
		*dir = 0;
		r = skip(&w, "%s: no directory to mount it on: %s", fs_type, strerror(errno));
	}
	/* XFS: never replay its log (the device is read-only) and accept the
	 * UUID of a file system mounted elsewhere (the snapshot's origin).
	 * btrfs: ro; if its log needs replaying, again without. */
	const char *opts = w.btrfs ? "" : "norecovery,nouuid", *opts2 = w.btrfs ? "rescue=nologreplay" : NULL;
	if (r == 0 && (pipe2(report, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0))
		r = skip(&w, "%s: %s", fs_type, strerror(errno));
	if (r == 0 && (pid = fork()) < 0)
		r = skip(&w, "%s: fork: %s", fs_type, strerror(errno));
	if (pid == 0) {
		close(hold[1]);
		child_main(dev, dir, fs_type, opts, opts2, report[1], hold[0]);
	}
	close(lfd); /* the mount holds the device now, or nothing does */
	if (r == 0) {
		close(report[1]);
		report[1] = -1;
		close(hold[0]);
		hold[0] = -1;
		int err = -1;
		if (read(report[0], &err, sizeof(err)) != sizeof(err))
			r = skip(&w, "%s: the mounting process failed", fs_type);
		else if (err)
			r = skip(&w, "%s: the read-only loop mount failed: %s", fs_type, strerror(err));
	}
	if (r == 0) {
		snprintf(proot, sizeof(proot), "/proc/%d/root%s", (int)pid, dir);
		rootfd = open(proot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			r = skip(&w, "%s: its mount cannot be reached: %s", fs_type, strerror(errno));
	}
	struct stat rst;
	if (r == 0 && fstat(rootfd, &rst) < 0)
		r = skip(&w, "%s: its root: %s", fs_type, strerror(errno));
	if (r == 0 && !(w.fm = calloc(1, sizeof(*w.fm) + FIEMAP_BATCH * sizeof(struct fiemap_extent))))
		r = cairn_error_nomem();
	if (r == 0 && w.btrfs)
		r = chunkmap_load(rootfd, &w.chunks, w.reason, sizeof(w.reason));
	if (r == 0) {
		w.dev = rst.st_dev;
		int dfd = dup(rootfd);
		r = dfd < 0 ? cairn_error_set(CAIRN_EIO, "dup: %s", strerror(errno)) : walk_dir(&w, dfd, 0);
	}
	struct cairn_cat_entry re;
	char none[1];
	if (r == 0 && (r = describe(&w, rootfd, ".", &rst, &re, none)) == 0) {
		re.name = "";
		if ((r = v->dir_end(v->ud, re.subtree_id)) == 0)
			r = v->fs_end(v->ud, &re);
	}
	if (r == 1)
		r = v->fs_skip(v->ud, w.reason);
	/* Let the child go: its namespace, the mount and the loop device go
	 * with it. */
	if (rootfd >= 0)
		close(rootfd);
	for (int i = 0; i < 2; i++) {
		if (report[i] >= 0)
			close(report[i]);
		if (hold[i] >= 0)
			close(hold[i]);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	if (*dir)
		rmdir(dir);
	free(w.fm);
	free(w.ext);
	free(w.chunks.v);
	return r;
}
