/* Partitions (libblkid) and ext2/3/4 file systems (libext2fs) of a volume,
 * read through the volume's descriptor: no mount, no root, no path.
 *
 * Damage never fails a backup: whatever libext2fs refuses, and whatever
 * it gives that cannot be right (a name with '/', extents out of order or
 * past the file system, a directory reached twice), skips that file
 * system with the reason. */
#include "source/extscan.h"
#include "source/mntscan.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <blkid/blkid.h>
#include <errno.h>
#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Deeper than any path of PATH_MAX bytes can go: a loop in a damaged
 * file system stops here if the visited-set did not catch it. */
#define MAX_DEPTH 2100
/* A symlink's target and its NUL (format.h CATALOG: at most 4095 bytes). */
#define TARGET_BUF 4096

/* ---- the io_manager: reads of [base, base + size) of a descriptor ---- */

struct fdio {
	int fd;
	uint64_t base, size;
};

static struct struct_io_manager fd_io_manager;

/* The name carries the descriptor and the window, since open() gets
 * nothing else: "cairn-fd:<fd>:<base>:<size>". */
static errcode_t fdio_open(const char *name, int flags, io_channel *channel)
{
	int fd;
	unsigned long long base, size;
	if (flags & IO_FLAG_RW)
		return EROFS;
	if (sscanf(name, "cairn-fd:%d:%llu:%llu", &fd, &base, &size) != 3)
		return EINVAL;
	io_channel io = calloc(1, sizeof(*io));
	struct fdio *d = calloc(1, sizeof(*d));
	char *nm = strdup(name);
	if (!io || !d || !nm) {
		free(io);
		free(d);
		free(nm);
		return ENOMEM;
	}
	d->fd = fd;
	d->base = base;
	d->size = size;
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = &fd_io_manager;
	io->name = nm;
	io->block_size = 1024;
	io->refcount = 1;
	io->private_data = d;
	*channel = io;
	return 0;
}

static errcode_t fdio_close(io_channel io)
{
	if (--io->refcount > 0)
		return 0;
	free(io->private_data);
	free(io->name);
	free(io);
	return 0;
}

static errcode_t fdio_set_blksize(io_channel io, int blksize)
{
	io->block_size = blksize;
	return 0;
}

static errcode_t fdio_read64(io_channel io, unsigned long long block, int count, void *data)
{
	struct fdio *d = io->private_data;
	uint64_t len = count < 0 ? (uint64_t)-count : (uint64_t)count * (uint64_t)io->block_size;
	uint64_t off = block * (uint64_t)io->block_size;
	if (off > d->size || len > d->size - off)
		return EXT2_ET_SHORT_READ;
	uint8_t *p = data;
	while (len) {
		ssize_t n = pread(d->fd, p, len, (off_t)(d->base + off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EXT2_ET_SHORT_READ;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static errcode_t fdio_read(io_channel io, unsigned long block, int count, void *data)
{
	return fdio_read64(io, block, count, data);
}

static errcode_t fdio_write(io_channel io, unsigned long block, int count, const void *data)
{
	(void)io, (void)block, (void)count, (void)data;
	return EROFS;
}

static errcode_t fdio_write64(io_channel io, unsigned long long block, int count, const void *data)
{
	(void)io, (void)block, (void)count, (void)data;
	return EROFS;
}

static errcode_t fdio_write_byte(io_channel io, unsigned long offset, int count, const void *data)
{
	(void)io, (void)offset, (void)count, (void)data;
	return EROFS;
}

static errcode_t fdio_flush(io_channel io)
{
	(void)io;
	return 0;
}

static struct struct_io_manager fd_io_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "cairn volume descriptor",
	.open = fdio_open,
	.close = fdio_close,
	.set_blksize = fdio_set_blksize,
	.read_blk = fdio_read,
	.write_blk = fdio_write,
	.flush = fdio_flush,
	.write_byte = fdio_write_byte,
	.read_blk64 = fdio_read64,
	.write_blk64 = fdio_write64,
};

static pthread_once_t et_once = PTHREAD_ONCE_INIT;
static void et_init(void)
{
	initialize_ext2_error_table();
}

/* ---- one ext file system ---- */

struct scan {
	ext2_filsys fs;
	const struct cairn_fs_visitor *v;
	uint64_t base; /* of the file system in the volume */
	uint8_t *seen; /* directory inodes entered */
	char reason[512];
	/* scratch of one file */
	struct cairn_cat_extent *ext;
	size_t next, extcap;
	uint8_t *inl; /* inline data (inl_len bytes of what the entry keeps) */
	size_t inl_len, inl_cap;
	uint64_t blksize;
	int err; /* of a block iteration callback */
};

/* Returns 1: the file system is damaged (reason set). */
static int damaged(struct scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int damaged(struct scan *s, const char *fmt, ...)
{
	if (!*s->reason) {
		va_list ap;
		va_start(ap, fmt);
		int n = snprintf(s->reason, sizeof(s->reason), "the file system could not be read: ");
		vsnprintf(s->reason + n, sizeof(s->reason) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return 1;
}

static int64_t xtime(uint32_t sec, uint32_t extra, bool has_extra)
{
	int64_t s = (int32_t)sec;
	int64_t ns = 0;
	if (has_extra) {
		s += (int64_t)(extra & EXT4_EPOCH_MASK) << 32;
		ns = extra >> EXT4_EPOCH_BITS;
		if (ns > 999999999)
			ns = 0;
	}
	return s * 1000000000 + ns;
}

static int add_extent(struct scan *s, uint64_t lblk, uint64_t pblk, uint64_t len, bool unwritten)
{
	if (!len)
		return 0;
	uint64_t blocks = ext2fs_blocks_count(s->fs->super);
	if (pblk >= blocks || len > blocks - pblk)
		return damaged(s, "an extent lies past the file system's end");
	uint64_t fo = lblk * s->blksize, vo = s->base + pblk * s->blksize, bl = len * s->blksize;
	if (s->next) {
		struct cairn_cat_extent *p = &s->ext[s->next - 1];
		if (fo < p->file_offset + p->length)
			return damaged(s, "a file's extents overlap or are out of order");
		/* Adjacent in both: one extent (block-mapped files come block by block). */
		if (p->unwritten == unwritten && p->file_offset + p->length == fo && p->volume_offset + p->length == vo) {
			p->length += bl;
			return 0;
		}
	}
	if (cairn_array_grow(&s->ext, &s->extcap, s->next, sizeof(*s->ext), 16) < 0)
		return cairn_error_nomem();
	s->ext[s->next++] = (struct cairn_cat_extent){ vo, fo, bl, unwritten };
	return 0;
}

static int block_cb(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref_blk, int ref_offset,
		    void *priv)
{
	(void)fs, (void)ref_blk, (void)ref_offset;
	struct scan *s = priv;
	if (blockcnt < 0)
		return 0;
	int r = add_extent(s, (uint64_t)blockcnt, *blocknr, 1, false);
	if (r != 0) {
		s->err = r;
		return BLOCK_ABORT;
	}
	return 0;
}

/* The bytes of a file with inline data (inline_data feature) into s->inl:
 * the first 60 sit in the inode's i_block, the rest in its system.data
 * extended attribute, so no extent of the volume holds them and the
 * catalog keeps them itself.  Past the inline bytes the file reads as
 * zeros, as the kernel reads it. */
static int file_inline(struct scan *s, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	s->inl_len = 0;
	uint64_t size = EXT2_I_SIZE(inode);
	if (!size)
		return 0;
	size_t have = 0;
	errcode_t err = ext2fs_inline_data_size(s->fs, ino, &have);
	if (!err && have > CAIRN_CAT_INLINE_MAX)
		return damaged(s, "inode %u has %zu bytes of inline data, more than a catalog holds (%u)", ino, have,
			       CAIRN_CAT_INLINE_MAX);
	if (!err && have > s->inl_cap) {
		uint8_t *p = realloc(s->inl, have);
		if (!p)
			return cairn_error_nomem();
		s->inl = p;
		s->inl_cap = have;
	}
	size_t got = have;
	if (!err && have)
		err = ext2fs_inline_data_get(s->fs, ino, (struct ext2_inode *)inode, s->inl, &got);
	if (err)
		return damaged(s, "inode %u: its inline data: %s", ino, error_message(err));
	s->inl_len = (size_t)MIN((uint64_t)MIN(got, have), size);
	return 0;
}

static int file_extents(struct scan *s, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	s->next = 0;
	errcode_t err;
	if (inode->i_flags & EXT4_EXTENTS_FL) {
		ext2_extent_handle_t h;
		if ((err = ext2fs_extent_open2(s->fs, ino, (struct ext2_inode *)inode, &h)))
			return damaged(s, "inode %u: %s", ino, error_message(err));
		int op = EXT2_EXTENT_ROOT, r = 0;
		for (;;) {
			struct ext2fs_extent x;
			err = ext2fs_extent_get(h, op, &x);
			if (err == EXT2_ET_EXTENT_NO_NEXT || err == EXT2_ET_NO_CURRENT_NODE)
				break;
			if (err) {
				r = damaged(s, "inode %u: %s", ino, error_message(err));
				break;
			}
			op = EXT2_EXTENT_NEXT_LEAF;
			if (!(x.e_flags & EXT2_EXTENT_FLAGS_LEAF))
				continue;
			if ((r = add_extent(s, x.e_lblk, x.e_pblk, x.e_len, x.e_flags & EXT2_EXTENT_FLAGS_UNINIT)) != 0)
				break;
		}
		ext2fs_extent_free(h);
		return r;
	}
	s->err = 0;
	err = ext2fs_block_iterate3(s->fs, ino, BLOCK_FLAG_DATA_ONLY | BLOCK_FLAG_READ_ONLY, NULL, block_cb, s);
	if (s->err)
		return s->err;
	if (err)
		return damaged(s, "inode %u: %s", ino, error_message(err));
	return 0;
}

static enum cairn_cat_type type_of(uint16_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return CAIRN_CAT_FILE;
	case S_IFDIR: return CAIRN_CAT_DIR;
	case S_IFLNK: return CAIRN_CAT_SYMLINK;
	case S_IFCHR: return CAIRN_CAT_CHR;
	case S_IFBLK: return CAIRN_CAT_BLK;
	case S_IFIFO: return CAIRN_CAT_FIFO;
	case S_IFSOCK: return CAIRN_CAT_SOCK;
	}
	return 0;
}

static int symlink_target(struct scan *s, ext2_ino_t ino, struct ext2_inode_large *inode, char *buf, size_t cap)
{
	uint64_t size = EXT2_I_SIZE(inode);
	if (size < 1 || size >= cap)
		return damaged(s, "symlink inode %u has a target of %" PRIu64 " bytes", ino, size);
	errcode_t err = 0;
	if (inode->i_flags & EXT4_INLINE_DATA_FL) {
		size_t got = cap - 1;
		err = ext2fs_inline_data_get(s->fs, ino, (struct ext2_inode *)inode, buf, &got);
		if (!err && got < size)
			err = EXT2_ET_SHORT_READ;
	} else if (ext2fs_is_fast_symlink((struct ext2_inode *)inode)) {
		if (size > sizeof(inode->i_block))
			return damaged(s, "symlink inode %u is damaged", ino);
		memcpy(buf, inode->i_block, size);
	} else {
		ext2_file_t f;
		unsigned got = 0;
		err = ext2fs_file_open2(s->fs, ino, (struct ext2_inode *)inode, 0, &f);
		if (!err) {
			err = ext2fs_file_read(f, buf, (unsigned)size, &got);
			ext2fs_file_close(f);
			if (!err && got != size)
				err = EXT2_ET_SHORT_READ;
		}
	}
	if (err)
		return damaged(s, "symlink inode %u: %s", ino, error_message(err));
	buf[size] = 0;
	if (strlen(buf) != size)
		return damaged(s, "symlink inode %u has a NUL in its target", ino);
	return 0;
}

/* Fills e for inode ino (strings and extents in s's scratch and tbuf). */
static int describe(struct scan *s, ext2_ino_t ino, struct ext2_inode_large *inode, const char *name,
		    struct cairn_cat_entry *e, char *tbuf, size_t tcap)
{
	memset(e, 0, sizeof(*e));
	e->name = name;
	e->type = type_of(inode->i_mode);
	if (!e->type)
		return damaged(s, "inode %u has an unknown file type", ino);
	e->mode = inode->i_mode;
	e->uid = inode_uid(*inode);
	e->gid = inode_gid(*inode);
	e->size = EXT2_I_SIZE(inode);
	e->nlink = inode->i_links_count;
	e->inode = ino;
	bool large = EXT2_INODE_SIZE(s->fs->super) > EXT2_GOOD_OLD_INODE_SIZE;
	unsigned xs = large ? inode->i_extra_isize : 0;
	e->ctime_ns = xtime(inode->i_ctime, inode->i_ctime_extra, xs >= 8);
	e->mtime_ns = xtime(inode->i_mtime, inode->i_mtime_extra, xs >= 12);
	/* i_atime is not recorded: format.h (ENTRY) says why. */
	e->atime_ns = 0;
	int r;
	switch (e->type) {
	case CAIRN_CAT_FILE:
		if (inode->i_flags & EXT4_INLINE_DATA_FL) {
			if ((r = file_inline(s, ino, inode)) != 0)
				return r;
			e->inline_data = s->inl_len ? s->inl : NULL;
			e->inline_len = s->inl_len;
			break;
		}
		if ((r = file_extents(s, ino, inode)) != 0)
			return r;
		e->extents = s->ext;
		e->nextents = s->next;
		break;
	case CAIRN_CAT_SYMLINK:
		if ((r = symlink_target(s, ino, inode, tbuf, tcap)) != 0)
			return r;
		e->target = tbuf;
		e->size = strlen(tbuf);
		break;
	case CAIRN_CAT_CHR:
	case CAIRN_CAT_BLK: {
		/* The old encoding in i_block[0], the new one in i_block[1]. */
		uint32_t old = inode->i_block[0], nw = inode->i_block[1];
		if (old)
			e->rdev = makedev((old >> 8) & 255, old & 255);
		else
			e->rdev = makedev((nw & 0xfff00) >> 8, (nw & 0xff) | ((nw >> 12) & 0xfff00));
		e->size = 0;
		break;
	}
	default:
		break;
	}
	return 0;
}

struct dirent_rec {
	char *name;
	ext2_ino_t ino;
};

struct dirents {
	struct dirent_rec *v;
	size_t n, cap;
	int err;
	bool bad_name;
};

static int dir_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset, int blocksize, char *buf,
		  void *priv)
{
	(void)dir, (void)offset, (void)blocksize, (void)buf;
	struct dirents *d = priv;
	if (entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE)
		return 0;
	int len = ext2fs_dirent_name_len(dirent);
	const char *nm = dirent->name;
	if ((len == 1 && nm[0] == '.') || (len == 2 && nm[0] == '.' && nm[1] == '.'))
		return 0;
	if (len < 1 || memchr(nm, '/', (size_t)len) || memchr(nm, 0, (size_t)len)) {
		d->bad_name = true;
		return DIRENT_ABORT;
	}
	if (cairn_array_grow(&d->v, &d->cap, d->n, sizeof(*d->v), 32) < 0 || !(d->v[d->n].name = strndup(nm, (size_t)len))) {
		d->err = cairn_error_nomem();
		return DIRENT_ABORT;
	}
	d->v[d->n++].ino = dirent->inode;
	return 0;
}

static void dirents_free(struct dirents *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].name);
	free(d->v);
}

/* Reports the contents of directory ino; <0 error, 1 damaged, 0 done. */
static int walk_dir(struct scan *s, ext2_ino_t ino, unsigned depth)
{
	if (depth > MAX_DEPTH)
		return damaged(s, "directories nest deeper than %u", MAX_DEPTH);
	if (ino < 1 || ino > s->fs->super->s_inodes_count)
		return damaged(s, "a directory entry names inode %u, out of range", ino);
	if (s->seen[ino / 8] & (1u << (ino % 8)))
		return damaged(s, "directory inode %u is reached twice (a loop)", ino);
	s->seen[ino / 8] |= (uint8_t)(1u << (ino % 8));
	struct dirents d = { 0 };
	errcode_t err = ext2fs_dir_iterate2(s->fs, ino, 0, NULL, dir_cb, &d);
	int r = 0;
	if (d.err)
		r = d.err;
	else if (d.bad_name)
		r = damaged(s, "directory inode %u holds a name with '/' or NUL", ino);
	else if (err)
		r = damaged(s, "directory inode %u: %s", ino, error_message(err));
	if (r == 0)
		r = s->v->dir_begin(s->v->ud);
	char *tbuf = NULL;
	if (r == 0 && !(tbuf = malloc(TARGET_BUF)))
		r = cairn_error_nomem();
	for (size_t i = 0; r == 0 && i < d.n; i++) {
		ext2_ino_t ci = d.v[i].ino;
		struct ext2_inode_large inode;
		memset(&inode, 0, sizeof(inode));
		if (ci < 1 || ci > s->fs->super->s_inodes_count) {
			r = damaged(s, "a directory entry names inode %u, out of range", ci);
			break;
		}
		if ((err = ext2fs_read_inode_full(s->fs, ci, (struct ext2_inode *)&inode, sizeof(inode)))) {
			r = damaged(s, "inode %u: %s", ci, error_message(err));
			break;
		}
		struct cairn_cat_entry e;
		if ((r = describe(s, ci, &inode, d.v[i].name, &e, tbuf, TARGET_BUF)) != 0)
			break;
		if (e.type == CAIRN_CAT_DIR) {
			/* The recursion reuses the extent scratch: a directory has none. */
			if ((r = walk_dir(s, ci, depth + 1)) != 0)
				break;
			if ((r = s->v->dir_end(s->v->ud, e.subtree_id)) != 0)
				break;
		}
		r = s->v->entry(s->v->ud, &e);
	}
	free(tbuf);
	dirents_free(&d);
	return r;
}

static int scan_ext(int fd, uint64_t offset, uint64_t size, const struct cairn_fs_visitor *v)
{
	pthread_once(&et_once, et_init);
	char name[96];
	snprintf(name, sizeof(name), "cairn-fd:%d:%" PRIu64 ":%" PRIu64, fd, offset, size);
	struct scan s = { .v = v, .base = offset };
	errcode_t err = ext2fs_open2(name, NULL, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0,
				     &fd_io_manager, &s.fs);
	int r = 0;
	if (err) {
		s.fs = NULL;
		r = damaged(&s, "%s", error_message(err));
	}
	if (r == 0) {
		s.blksize = s.fs->blocksize;
		s.seen = calloc(s.fs->super->s_inodes_count / 8 + 1, 1);
		if (!s.seen)
			r = cairn_error_nomem();
	}
	struct ext2_inode_large root;
	if (r == 0 && (err = ext2fs_read_inode_full(s.fs, EXT2_ROOT_INO, (struct ext2_inode *)&root, sizeof(root))))
		r = damaged(&s, "the root directory: %s", error_message(err));
	if (r == 0 && !LINUX_S_ISDIR(root.i_mode))
		r = damaged(&s, "the root is not a directory");
	if (r == 0)
		r = walk_dir(&s, EXT2_ROOT_INO, 0);
	struct cairn_cat_entry re;
	if (r == 0 && (r = describe(&s, EXT2_ROOT_INO, &root, "", &re, NULL, 0)) == 0 &&
	    (r = v->dir_end(v->ud, re.subtree_id)) == 0)
		r = v->fs_end(v->ud, &re);
	if (r == 1)
		r = v->fs_skip(v->ud, *s.reason ? s.reason : NULL);
	if (s.fs)
		ext2fs_close_free(&s.fs);
	free(s.seen);
	free(s.ext);
	free(s.inl);
	return r;
}

/* ---- the volume: partitions, then what each holds ---- */

/* The file system type libblkid sees in [offset, offset + size); "" none. */
static void probe_type(int fd, uint64_t offset, uint64_t size, char *type, size_t cap)
{
	*type = 0;
	blkid_probe pr = blkid_new_probe();
	if (!pr)
		return;
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)offset, (blkid_loff_t)size) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
		blkid_probe_enable_partitions(pr, 0);
		const char *v = NULL;
		if (blkid_do_safeprobe(pr) == 0 && blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0 && v)
			snprintf(type, cap, "%s", v);
	}
	blkid_free_probe(pr);
}

static int scan_one(int fd, const char *name, uint64_t offset, uint64_t size, const struct cairn_fs_visitor *v)
{
	char type[32];
	probe_type(fd, offset, size, type, sizeof(type));
	int r = v->fs_begin(v->ud, name, offset, size, type);
	if (r < 0)
		return r;
	if (!strcmp(type, "ext2") || !strcmp(type, "ext3") || !strcmp(type, "ext4"))
		return scan_ext(fd, offset, size, v);
	char why[128];
	if (!*type)
		snprintf(why, sizeof(why), "no file system found");
	else if (!strcmp(type, "xfs") || !strcmp(type, "btrfs"))
		return cairn_mnt_scan(fd, offset, size, type, v);
	else
		snprintf(why, sizeof(why), "%s: cairn keeps no catalog of this file system type", type);
	return v->fs_skip(v->ud, why);
}

int cairn_fs_scan(int fd, uint64_t size, const struct cairn_fs_visitor *v)
{
	blkid_probe pr = blkid_new_probe();
	if (!pr)
		return cairn_error_nomem();
	int r = 0, nparts = 0;
	if (blkid_probe_set_device(pr, fd, 0, (blkid_loff_t)size) == 0) {
		blkid_probe_enable_superblocks(pr, 0);
		blkid_probe_enable_partitions(pr, 1);
		blkid_partlist ls = blkid_probe_get_partitions(pr);
		nparts = ls ? blkid_partlist_numof_partitions(ls) : 0;
		for (int i = 0; r >= 0 && i < nparts; i++) {
			blkid_partition par = blkid_partlist_get_partition(ls, i);
			if (!par || blkid_partition_is_extended(par))
				continue;
			uint64_t start = (uint64_t)blkid_partition_get_start(par) * 512;
			uint64_t len = (uint64_t)blkid_partition_get_size(par) * 512;
			char name[16];
			snprintf(name, sizeof(name), "p%d", blkid_partition_get_partno(par));
			if (start >= size || len > size - start) {
				if ((r = v->fs_begin(v->ud, name, start, len, "")) >= 0)
					r = v->fs_skip(v->ud, "the partition lies past the volume's end");
				continue;
			}
			r = scan_one(fd, name, start, len, v);
		}
	}
	blkid_free_probe(pr);
	if (r >= 0 && nparts <= 0)
		r = scan_one(fd, "", 0, size, v);
	return r < 0 ? r : 0;
}
