/* restore-file (restorefile.h).
 *
 * Four steps, so that nothing is written before everything was looked at:
 * collect (the catalog alone: every entry to extract, with its place under
 * DEST), order (directories first, in tree order, then everything else in
 * the volume order of its data, which is the order the plan fetches in),
 * check (what exists under DEST already), write.  Targets are named by
 * their path under DEST ("etc/passwd") and reached one component at a
 * time from DEST's descriptor with O_NOFOLLOW. */
#include "engine/restorefile.h"
#include "engine/volread.h"
#include "repo/catalog.h"
#include "repo/lease.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "compress/fszip.h"
#include "util/io.h"
#include "util/log.h"
#include "util/tar.h"
#include "util/time.h"
#include "util/tmpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define IO_BUF (1u << 20)
#define TMP_TAG ".cairn-rf."

struct vol {
	const struct cairn_manifest *m;
	struct cairn_catalog *cat;
	struct cairn_volread *vr;
	bool partitioned;
};

struct node {
	char *rel;     /* under DEST; "" is DEST itself */
	char *catpath; /* in the catalog, for messages */
	size_t vol;
	char fs[16];   /* its file system ("p1"; "" for a whole volume) */
	struct cairn_cat_entry e; /* name unused; target, extents and inline data owned */
	uint64_t first;  /* volume offset of its first data byte (ordering) */
	size_t seq;      /* collection order */
	size_t link_to;  /* a hard link: the node written first; else SIZE_MAX */
	bool done;       /* written (a hard link's first may be skipped) */
};

struct rf {
	struct cairn_repo *repo;
	struct cairn_index *idx;
	const struct cairn_restorefile_opts *o;
	struct cairn_restorefile_stats *st;
	struct vol *vols;
	size_t nvols;
	struct node *nodes;
	size_t n, cap;
	size_t *ord; /* write order */
	int destfd;
	uint64_t total, done;
	double last;
	uint8_t *buf;
};

static void rf_free(struct rf *rf)
{
	for (size_t i = 0; i < rf->n; i++) {
		free(rf->nodes[i].rel);
		free(rf->nodes[i].catpath);
		free((char *)rf->nodes[i].e.target);
		free((struct cairn_cat_extent *)rf->nodes[i].e.extents);
		free((uint8_t *)rf->nodes[i].e.inline_data);
	}
	free(rf->nodes);
	for (size_t i = 0; i < rf->nvols; i++) {
		cairn_volread_close(rf->vols[i].vr);
		cairn_catalog_free(rf->vols[i].cat);
	}
	free(rf->vols);
	free(rf->ord);
	free(rf->buf);
	if (rf->destfd >= 0)
		close(rf->destfd);
}

/* ---- collect ---- */

static bool is_component(const char *s)
{
	return *s && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/');
}

struct collect {
	struct rf *rf;
	size_t vol;
	const char *top;    /* the PATH as given to the catalog */
	const char *relbase; /* its place under DEST */
};

static int on_entry(const char *path, const struct cairn_cat_entry *e, void *ud)
{
	struct collect *c = ud;
	struct rf *rf = c->rf;
	bool is_top = strcmp(path, c->top) == 0;
	if (!is_top && !is_component(e->name))
		return cairn_error_set(CAIRN_ECORRUPT, "the catalog of backup %s is damaged: an entry in %s is named '%s'",
				       rf->vols[c->vol].m->idhex, path, e->name);
	int r = cairn_array_grow(&rf->nodes, &rf->cap, rf->n, sizeof(*rf->nodes), 64);
	if (r < 0)
		return r;
	struct node *nd = &rf->nodes[rf->n];
	memset(nd, 0, sizeof(*nd));
	nd->vol = c->vol;
	nd->seq = rf->n;
	nd->link_to = SIZE_MAX;
	nd->e = *e;
	nd->e.name = NULL;
	nd->e.target = NULL;
	nd->e.extents = NULL;
	nd->e.nextents = 0;
	nd->e.inline_data = NULL;
	rf->n++;
	/* Below the top, path is top + "/" + the names walked. */
	const char *sub = is_top ? "" : path + strlen(c->top);
	while (*sub == '/')
		sub++;
	if (asprintf(&nd->rel, "%s%s%s", c->relbase, *c->relbase && *sub ? "/" : "", sub) < 0) {
		nd->rel = NULL;
		return cairn_error_nomem();
	}
	if (!(nd->catpath = strdup(path)))
		return cairn_error_nomem();
	if (rf->vols[c->vol].partitioned) {
		const char *p = path + 1;
		size_t len = strcspn(p, "/");
		if (len < sizeof(nd->fs))
			memcpy(nd->fs, p, len);
	}
	if (e->target && !(nd->e.target = strdup(e->target)))
		return cairn_error_nomem();
	if (e->type == CAIRN_CAT_FILE && e->nextents) {
		if (!(nd->e.extents = cairn_memdup(e->extents, e->nextents * sizeof(*e->extents))))
			return cairn_error_nomem();
		nd->e.nextents = e->nextents;
	}
	if (e->type == CAIRN_CAT_FILE && e->inline_data &&
	    !(nd->e.inline_data = cairn_memdup(e->inline_data, e->inline_len)))
		return cairn_error_nomem();
	nd->first = UINT64_MAX;
	for (size_t i = 0; i < nd->e.nextents; i++)
		if (!nd->e.extents[i].unwritten && nd->e.extents[i].file_offset < e->size) {
			nd->first = nd->e.extents[i].volume_offset;
			break;
		}
	if (e->type == CAIRN_CAT_SYMLINK && !e->target)
		return cairn_error_set(CAIRN_ECORRUPT, "the catalog of backup %s is damaged: symlink %s has no target",
				       rf->vols[c->vol].m->idhex, path);
	return 0;
}

/* The vols[] slot of m, opening its catalog the first time. */
static int vol_of(struct rf *rf, const struct cairn_manifest *m, size_t *ret)
{
	for (size_t i = 0; i < rf->nvols; i++)
		if (rf->vols[i].m == m) {
			*ret = i;
			return 0;
		}
	struct vol *v = realloc(rf->vols, (rf->nvols + 1) * sizeof(*v));
	if (!v)
		return cairn_error_nomem();
	rf->vols = v;
	v = &rf->vols[rf->nvols];
	memset(v, 0, sizeof(*v));
	v->m = m;
	rf->nvols++;
	int r = cairn_catalog_open(rf->repo, rf->idx, m, &v->cat);
	if (r < 0)
		return r;
	const struct cairn_catalog_fs *fs;
	size_t nfs;
	if ((r = cairn_catalog_filesystems(v->cat, &fs, &nfs)) < 0)
		return r;
	v->partitioned = nfs != 1 || fs[0].name[0];
	*ret = rf->nvols - 1;
	return 0;
}

static int collect(struct rf *rf, const struct cairn_restorefile_item *it)
{
	/* PATH as the catalog names it: absolute, one '/' between names, no
	 * "." (its last name is the one it gets under DEST).  A ".." would
	 * name something outside what was asked for: refused. */
	size_t plen = strlen(it->path);
	_cleanup_free_ char *path = malloc(plen + 2);
	if (!path)
		return cairn_error_nomem();
	size_t len = 0;
	for (const char *p = it->path; *p;) {
		size_t k = strcspn(p, "/");
		if (k == 2 && p[0] == '.' && p[1] == '.')
			return cairn_error_set(CAIRN_EINVAL, "%s: a path with '..' is refused", it->path);
		if (k && !(k == 1 && p[0] == '.')) {
			path[len++] = '/';
			memcpy(path + len, p, k);
			len += k;
		}
		p += k;
		while (*p == '/')
			p++;
	}
	if (!len)
		path[len++] = '/';
	path[len] = 0;
	size_t vol = 0;
	int r = vol_of(rf, it->m, &vol);
	if (r < 0)
		return r;
	const char *base = strrchr(path, '/') + 1;
	struct collect c = { rf, vol, path, base };
	return cairn_catalog_walk(rf->vols[vol].cat, path, on_entry, &c);
}

/* ---- order ---- */

static int by_data(const void *a, const void *b, void *ud)
{
	const struct rf *rf = ud;
	const struct node *x = &rf->nodes[*(const size_t *)a], *y = &rf->nodes[*(const size_t *)b];
	if (x->vol != y->vol)
		return x->vol < y->vol ? -1 : 1;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_inode(const void *a, const void *b, void *ud)
{
	const struct rf *rf = ud;
	const struct node *x = &rf->nodes[*(const size_t *)a], *y = &rf->nodes[*(const size_t *)b];
	if (x->vol != y->vol)
		return x->vol < y->vol ? -1 : 1;
	int c = strcmp(x->fs, y->fs);
	if (c)
		return c;
	if (x->e.inode != y->e.inode)
		return x->e.inode < y->e.inode ? -1 : 1;
	/* The first in write order comes first: it is the one written. */
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_rel(const void *a, const void *b, void *ud)
{
	const struct rf *rf = ud;
	const struct node *x = &rf->nodes[*(const size_t *)a], *y = &rf->nodes[*(const size_t *)b];
	return strcmp(x->rel, y->rel);
}

/* Two PATHs landing on one target ("/a/x" and "/b/x" are both DEST/x):
 * refused before anything is written, unless both are directories,
 * which merge. */
static int check_clashes(struct rf *rf)
{
	_cleanup_free_ size_t *v = malloc((rf->n ? rf->n : 1) * sizeof(*v));
	if (!v)
		return cairn_error_nomem();
	for (size_t i = 0; i < rf->n; i++)
		v[i] = i;
	qsort_r(v, rf->n, sizeof(*v), by_rel, rf);
	for (size_t i = 1; i < rf->n; i++) {
		const struct node *a = &rf->nodes[v[i - 1]], *b = &rf->nodes[v[i]];
		if (!strcmp(a->rel, b->rel) && (a->e.type != CAIRN_CAT_DIR || b->e.type != CAIRN_CAT_DIR))
			return cairn_error_set(CAIRN_EEXIST, "%s and %s would both be %s/%s", a->catpath, b->catpath,
					       rf->o->mode == CAIRN_RF_DIR ? rf->o->dest : "", a->rel);
	}
	return 0;
}

static int order(struct rf *rf)
{
	int r = check_clashes(rf);
	if (r < 0)
		return r;
	if (!(rf->ord = malloc((rf->n ? rf->n : 1) * sizeof(*rf->ord))))
		return cairn_error_nomem();
	size_t k = 0;
	for (size_t i = 0; i < rf->n; i++)
		if (rf->nodes[i].e.type == CAIRN_CAT_DIR)
			rf->ord[k++] = i;
	size_t ndirs = k;
	for (size_t i = 0; i < rf->n; i++)
		if (rf->nodes[i].e.type != CAIRN_CAT_DIR)
			rf->ord[k++] = i;
	qsort_r(rf->ord + ndirs, rf->n - ndirs, sizeof(*rf->ord), by_data, rf);
	/* From here on seq is the place in the write order. */
	for (size_t i = 0; i < rf->n; i++)
		rf->nodes[rf->ord[i]].seq = i;
	/* Hard links: the entries with more than one link, grouped by inode;
	 * each group's first in write order is written, the others link to it. */
	_cleanup_free_ size_t *links = malloc((rf->n ? rf->n : 1) * sizeof(*links));
	if (!links)
		return cairn_error_nomem();
	size_t nl = 0;
	for (size_t i = 0; i < rf->n; i++)
		if (rf->nodes[i].e.type != CAIRN_CAT_DIR && rf->nodes[i].e.nlink > 1)
			links[nl++] = i;
	qsort_r(links, nl, sizeof(*links), by_inode, rf);
	for (size_t i = 1; i < nl; i++) {
		struct node *a = &rf->nodes[links[i - 1]], *b = &rf->nodes[links[i]];
		if (a->vol == b->vol && !strcmp(a->fs, b->fs) && a->e.inode == b->e.inode && a->e.type == b->e.type)
			b->link_to = a->link_to != SIZE_MAX ? a->link_to : links[i - 1];
	}
	for (size_t i = 0; i < rf->n; i++) {
		struct node *nd = &rf->nodes[i];
		if (nd->e.type != CAIRN_CAT_FILE || nd->link_to != SIZE_MAX)
			continue;
		rf->total += MIN(nd->e.inline_len, nd->e.size);
		for (size_t x = 0; x < nd->e.nextents; x++) {
			const struct cairn_cat_extent *e = &nd->e.extents[x];
			if (!e->unwritten && e->file_offset < nd->e.size)
				rf->total += MIN(e->length, nd->e.size - e->file_offset);
		}
	}
	return 0;
}

/* ---- reading a file's bytes ---- */

static int progress(struct rf *rf, uint64_t n)
{
	rf->done += n;
	double now = cairn_now();
	if (rf->o->progress && (now - rf->last >= 0.1 || rf->done == rf->total)) {
		rf->last = now;
		rf->o->progress(rf->done, rf->total, rf->o->progress_ud);
	}
	if (cairn_cancel_requested)
		return cairn_error_set(CAIRN_ECANCELED, "interrupted");
	return 0;
}

static int open_reader(struct rf *rf, struct vol *v);

static int write_zeros(int fd, uint64_t n, const char *what)
{
	static const uint8_t zeros[64 << 10];
	while (n) {
		size_t k = (size_t)MIN(n, (uint64_t)sizeof(zeros));
		int r = cairn_write_all(fd, zeros, k, what);
		if (r < 0)
			return r;
		n -= k;
	}
	return 0;
}

/* len bytes at volume offset off into buf, reading through v's plan. */
static int vol_bytes(struct vol *v, const struct node *nd, uint8_t *buf, size_t len, uint64_t off)
{
	ssize_t got = cairn_volread_pread(v->vr, buf, len, off);
	if (got < 0)
		return cairn_error_prefix(got == -ENOMEM ? CAIRN_ENOMEM : got == -ECANCELED ? CAIRN_ECANCELED : CAIRN_EIO,
					  "%s", nd->catpath);
	if ((size_t)got < len)
		return cairn_error_set(CAIRN_ECORRUPT, "the catalog of backup %s is damaged: %s has an extent past the volume's end",
				       v->m->idhex, nd->catpath);
	return 0;
}

/* The bytes of compressed extent x, of which the file uses need (from
 * x->data_offset): its on-disk bytes read and decompressed whole (format.h
 * bounds both) into *ret (malloc'd, x->ram_length bytes).  btrfs
 * compresses a last extent only up to the file's size: bytes past the
 * stream's output are zeros, but the output must cover what is used. */
static int unzip_extent(struct vol *v, const struct node *nd, const struct cairn_cat_extent *x, uint64_t need,
			uint8_t **ret)
{
	_cleanup_free_ uint8_t *disk = malloc(x->disk_length);
	_cleanup_free_ uint8_t *ram = malloc(x->ram_length);
	if (!disk || !ram)
		return cairn_error_nomem();
	int r = vol_bytes(v, nd, disk, x->disk_length, x->volume_offset);
	if (r < 0)
		return r;
	size_t got;
	if ((r = cairn_fszip_decompress(x->compression, disk, x->disk_length, ram, x->ram_length, &got)) < 0)
		return cairn_error_prefix(r, "%s (backup %s, volume offset %llu)", nd->catpath, v->m->idhex,
					  (unsigned long long)x->volume_offset);
	if (got < x->data_offset + need)
		return cairn_error_set(CAIRN_ECORRUPT,
				       "%s (backup %s, volume offset %llu): a %s-compressed extent decompresses to %zu "
				       "bytes, fewer than the %llu the file uses",
				       nd->catpath, v->m->idhex, (unsigned long long)x->volume_offset,
				       cairn_fszip_name(x->compression), got,
				       (unsigned long long)(x->data_offset + need));
	memset(ram + got, 0, x->ram_length - got);
	*ret = TAKE_PTR(ram);
	return 0;
}

/* The bytes of file nd into fd: at their offsets (stream false; holes and
 * unwritten extents are left as holes of a file already sized), or in
 * order with zeros for the holes (a stream). */
static int file_data(struct rf *rf, const struct node *nd, int fd, bool stream, const char *what)
{
	struct vol *v = &rf->vols[nd->vol];
	uint64_t size = nd->e.size, pos = 0;
	int r = 0;
	if (nd->e.inline_data) {
		/* Bytes the catalog holds itself: no chunk to fetch. */
		pos = MIN(nd->e.inline_len, size);
		r = stream ? cairn_write_all(fd, nd->e.inline_data, pos, what)
			   : cairn_pwrite_all(fd, nd->e.inline_data, pos, 0, what);
		if (r >= 0)
			r = progress(rf, pos);
	}
	for (size_t i = 0; i < nd->e.nextents && r >= 0; i++) {
		const struct cairn_cat_extent *x = &nd->e.extents[i];
		if (x->file_offset >= size)
			break;
		if (x->file_offset < pos)
			return cairn_error_set(CAIRN_ECORRUPT, "the catalog of backup %s is damaged: extents of %s overlap",
					       v->m->idhex, nd->catpath);
		uint64_t len = MIN(x->length, size - x->file_offset);
		if (x->unwritten)
			continue;
		if (stream && (r = write_zeros(fd, x->file_offset - pos, what)) < 0)
			return r;
		if ((r = open_reader(rf, v)) < 0)
			return r;
		if (x->compression) {
			_cleanup_free_ uint8_t *ram = NULL;
			if ((r = unzip_extent(v, nd, x, len, &ram)) < 0)
				return r;
			r = stream ? cairn_write_all(fd, ram + x->data_offset, len, what)
				   : cairn_pwrite_all(fd, ram + x->data_offset, len, x->file_offset, what);
			if (r < 0 || (r = progress(rf, len)) < 0)
				return r;
			pos = x->file_offset + len;
			continue;
		}
		for (uint64_t done = 0; done < len;) {
			size_t k = (size_t)MIN(len - done, (uint64_t)IO_BUF);
			if ((r = vol_bytes(v, nd, rf->buf, k, x->volume_offset + done)) < 0)
				return r;
			r = stream ? cairn_write_all(fd, rf->buf, k, what)
				   : cairn_pwrite_all(fd, rf->buf, k, x->file_offset + done, what);
			if (r < 0 || (r = progress(rf, k)) < 0)
				return r;
			done += k;
		}
		pos = x->file_offset + len;
	}
	if (r >= 0 && stream && pos < size)
		r = write_zeros(fd, size - pos, what);
	return r;
}

static int by_off(const void *a, const void *b)
{
	const struct cairn_volread_range *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* v's reader, opened on first use with its plan: the data extents of the
 * files to write from it. */
static int open_reader(struct rf *rf, struct vol *v)
{
	if (v->vr)
		return 0;
	size_t vi = (size_t)(v - rf->vols);
	struct cairn_volread_opts vo = { .quiet = true };
	int r = cairn_volread_open(rf->repo, rf->idx, NULL, v->m, &vo, &v->vr);
	if (r < 0)
		return r;
	size_t nr = 0, cap = 0;
	_cleanup_free_ struct cairn_volread_range *rg = NULL;
	for (size_t i = 0; i < rf->n; i++) {
		const struct node *nd = &rf->nodes[rf->ord[i]];
		if (nd->vol != vi || nd->e.type != CAIRN_CAT_FILE || nd->link_to != SIZE_MAX)
			continue;
		for (size_t x = 0; x < nd->e.nextents; x++) {
			const struct cairn_cat_extent *e = &nd->e.extents[x];
			if (e->unwritten || e->file_offset >= nd->e.size)
				continue;
			if ((r = cairn_array_grow(&rg, &cap, nr, sizeof(*rg), 64)) < 0)
				return r;
			rg[nr].off = e->volume_offset;
			rg[nr].len = e->compression ? e->disk_length : MIN(e->length, nd->e.size - e->file_offset);
			nr++;
		}
	}
	/* The plan wants ranges sorted and apart: merge. */
	qsort(rg, nr, sizeof(*rg), by_off);
	size_t u = 0;
	for (size_t i = 0; i < nr; i++) {
		if (u && rg[i].off <= rg[u - 1].off + rg[u - 1].len) {
			uint64_t end = MAX(rg[u - 1].off + rg[u - 1].len, rg[i].off + rg[i].len);
			rg[u - 1].len = end - rg[u - 1].off;
		} else {
			rg[u++] = rg[i];
		}
	}
	r = cairn_volread_plan(v->vr, rg, u);
	return r < 0 ? cairn_error_set(CAIRN_ENOMEM, "no memory for the reader's plan") : 0;
}


/* ---- into a directory ---- */

/* Opens the directory rel under DEST (len bytes of it), one component at
 * a time, never following a symlink: -errno of the failing step. */
static int open_rel_dir(struct rf *rf, const char *rel, size_t len)
{
	int fd = fcntl(rf->destfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	size_t at = 0;
	while (at < len) {
		size_t k = strcspn(rel + at, "/");
		if (at + k > len)
			k = len - at;
		char name[256];
		if (k >= sizeof(name)) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(name, rel + at, k);
		name[k] = 0;
		int nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int err = errno;
		close(fd);
		if (nfd < 0)
			return -err;
		fd = nfd;
		at += k;
		while (at < len && rel[at] == '/')
			at++;
	}
	return fd;
}

/* The directory holding rel, and rel's last component. */
static int open_parent(struct rf *rf, const char *rel, const char **ret_name)
{
	const char *slash = strrchr(rel, '/');
	*ret_name = slash ? slash + 1 : rel;
	return open_rel_dir(rf, rel, slash ? (size_t)(slash - rel) : 0);
}

static int dest_error(struct rf *rf, int err, const char *what, const char *rel)
{
	return cairn_error_errno(err, "%s %s/%s", what, rf->o->dest, rel);
}

/* Nothing is written before every target was checked. */
static int check_targets(struct rf *rf)
{
	for (size_t i = 0; i < rf->n; i++) {
		const struct node *nd = &rf->nodes[rf->ord[i]];
		if (!*nd->rel)
			continue;
		const char *name;
		_cleanup_close_ int pfd = open_parent(rf, nd->rel, &name);
		if (pfd < 0) {
			/* Missing: nothing below it exists.  Not a directory:
			 * an ancestor's own check says so (it is one of ours,
			 * or DEST's, which was opened). */
			if (pfd == -ENOENT || pfd == -ENOTDIR || pfd == -ELOOP)
				continue;
			return dest_error(rf, -pfd, "cannot open the directory of", nd->rel);
		}
		struct stat st;
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return dest_error(rf, errno, "cannot look at", nd->rel);
		}
		bool dir = nd->e.type == CAIRN_CAT_DIR;
		if (dir && S_ISDIR(st.st_mode))
			continue; /* merged into */
		if (!dir && S_ISDIR(st.st_mode))
			return cairn_error_set(CAIRN_EEXIST, "%s/%s exists and is a directory: not replaced by a %s",
					       rf->o->dest, nd->rel,
					       nd->e.type == CAIRN_CAT_SYMLINK ? "symlink" : "file");
		if (!rf->o->force)
			return cairn_error_set(CAIRN_EEXIST, "%s/%s exists%s (use --force to replace it)", rf->o->dest,
					       nd->rel,
					       dir ? (S_ISLNK(st.st_mode) ? " and is a symlink" : " and is not a directory")
						   : "");
	}
	return 0;
}

static int make_dirs(struct rf *rf)
{
	for (size_t i = 0; i < rf->n; i++) {
		const struct node *nd = &rf->nodes[rf->ord[i]];
		if (nd->e.type != CAIRN_CAT_DIR || !*nd->rel)
			continue;
		const char *name;
		_cleanup_close_ int pfd = open_parent(rf, nd->rel, &name);
		if (pfd < 0)
			return dest_error(rf, -pfd, "cannot open the directory of", nd->rel);
		/* Owner-only until its contents are in; its mode comes last. */
		if (mkdirat(pfd, name, 0700) < 0) {
			if (errno != EEXIST)
				return dest_error(rf, errno, "cannot create", nd->rel);
			struct stat st;
			if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				return dest_error(rf, errno, "cannot look at", nd->rel);
			if (!S_ISDIR(st.st_mode)) {
				/* Checked: force was given. */
				if (unlinkat(pfd, name, 0) < 0 || mkdirat(pfd, name, 0700) < 0)
					return dest_error(rf, errno, "cannot replace", nd->rel);
			}
		}
		rf->st->dirs++;
	}
	return 0;
}

static uint32_t perm(const struct rf *rf, const struct node *nd)
{
	/* Without the owner, set-id bits would lend the caller's identity. */
	return nd->e.mode & (rf->o->preserve_owner ? 07777u : 01777u);
}

/* The access time is the modification time where the catalog did not
 * record one (atime 0: every catalog since access times were left out). */
static void times_of(const struct node *nd, struct timespec ts[2])
{
	int64_t atime = nd->e.atime_ns ? nd->e.atime_ns : nd->e.mtime_ns;
	ts[0].tv_sec = atime / 1000000000;
	ts[0].tv_nsec = atime % 1000000000;
	ts[1].tv_sec = nd->e.mtime_ns / 1000000000;
	ts[1].tv_nsec = nd->e.mtime_ns % 1000000000;
	for (int i = 0; i < 2; i++)
		if (ts[i].tv_nsec < 0) {
			ts[i].tv_nsec += 1000000000;
			ts[i].tv_sec--;
		}
}

/* A fresh temporary name in pfd (not created). */
static int tmp_name(char out[32])
{
	uint8_t rnd[6];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return cairn_error_errno(errno, "no random bytes for a temporary name");
	snprintf(out, 32, TMP_TAG "%d-%02x%02x%02x%02x%02x%02x", (int)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
		 rnd[5]);
	return 0;
}

/* Renames tmp to name in pfd: over what is there only with force. */
static int put_in_place(struct rf *rf, int pfd, const char *tmp, const char *name, const struct node *nd)
{
	if (renameat2(pfd, tmp, pfd, name, rf->o->force ? 0 : RENAME_NOREPLACE) < 0) {
		int err = errno;
		(void)unlinkat(pfd, tmp, 0);
		if (err == EEXIST)
			return cairn_error_set(CAIRN_EEXIST, "%s/%s exists (use --force to replace it)", rf->o->dest,
					       nd->rel);
		return dest_error(rf, err, "cannot rename into", nd->rel);
	}
	return 0;
}

static int write_regular(struct rf *rf, int pfd, const char *name, const struct node *nd)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *tmp = NULL;
	int r = cairn_tmp_anon(pfd, &fd);
	if (r == CAIRN_EUNSUPPORTED)
		r = cairn_tmp_create(pfd, rf->o->dest, "", TMP_TAG, &fd, &tmp);
	if (r < 0)
		return r;
	_cleanup_free_ char *what = NULL;
	if (asprintf(&what, "%s/%s", rf->o->dest, nd->rel) < 0)
		what = NULL;
	const char *w = what ? what : nd->rel;
	struct timespec ts[2];
	times_of(nd, ts);
	if (ftruncate(fd, (off_t)nd->e.size) < 0)
		r = cairn_error_errno(errno, "cannot size %s", w);
	if (r >= 0)
		r = file_data(rf, nd, fd, false, w);
	if (r >= 0 && rf->o->preserve_owner && fchown(fd, nd->e.uid, nd->e.gid) < 0)
		r = cairn_error_errno(errno, "cannot set the owner of %s", w);
	if (r >= 0 && fchmod(fd, perm(rf, nd)) < 0)
		r = cairn_error_errno(errno, "cannot set the mode of %s", w);
	if (r >= 0 && futimens(fd, ts) < 0)
		r = cairn_error_errno(errno, "cannot set the times of %s", w);
	if (r >= 0 && !tmp)
		r = cairn_tmp_link(pfd, rf->o->dest, "", TMP_TAG, fd, &tmp);
	if (r < 0) {
		if (tmp)
			(void)unlinkat(pfd, tmp, 0);
		return r;
	}
	return put_in_place(rf, pfd, tmp, name, nd);
}

/* Symlinks, hard links, FIFOs and devices: made under a temporary name,
 * given their owner and times, renamed into place.  0 when made, 1 when
 * skipped (a device without the privilege), or an error. */
static int write_other(struct rf *rf, int pfd, const char *name, const struct node *nd)
{
	char tmp[32];
	int r = tmp_name(tmp);
	if (r < 0)
		return r;
	int made = 0;
	if (nd->link_to != SIZE_MAX) {
		const struct node *first = &rf->nodes[nd->link_to];
		const char *fname;
		_cleanup_close_ int ffd = open_parent(rf, first->rel, &fname);
		if (ffd < 0)
			return dest_error(rf, -ffd, "cannot open the directory of", first->rel);
		made = linkat(ffd, fname, pfd, tmp, 0);
		if (made < 0)
			return dest_error(rf, errno, "cannot link to", first->rel);
		return put_in_place(rf, pfd, tmp, name, nd);
	}
	switch (nd->e.type) {
	case CAIRN_CAT_SYMLINK:
		made = symlinkat(nd->e.target, pfd, tmp);
		break;
	case CAIRN_CAT_FIFO:
		made = mkfifoat(pfd, tmp, 0600);
		break;
	case CAIRN_CAT_CHR:
	case CAIRN_CAT_BLK:
		made = mknodat(pfd, tmp, (nd->e.type == CAIRN_CAT_CHR ? S_IFCHR : S_IFBLK) | 0600, (dev_t)nd->e.rdev);
		if (made < 0 && errno == EPERM) {
			cairn_log_warn("%s/%s: a device node needs root; skipped", rf->o->dest, nd->rel);
			return 1;
		}
		break;
	default:
		cairn_log_warn("%s/%s: a socket is not restored; skipped", rf->o->dest, nd->rel);
		return 1;
	}
	if (made < 0)
		return dest_error(rf, errno, "cannot create", nd->rel);
	struct timespec ts[2];
	times_of(nd, ts);
	if (rf->o->preserve_owner && fchownat(pfd, tmp, nd->e.uid, nd->e.gid, AT_SYMLINK_NOFOLLOW) < 0)
		r = dest_error(rf, errno, "cannot set the owner of", nd->rel);
	if (r >= 0 && nd->e.type != CAIRN_CAT_SYMLINK && fchmodat(pfd, tmp, perm(rf, nd), 0) < 0)
		r = dest_error(rf, errno, "cannot set the mode of", nd->rel);
	if (r >= 0 && utimensat(pfd, tmp, ts, AT_SYMLINK_NOFOLLOW) < 0)
		r = dest_error(rf, errno, "cannot set the times of", nd->rel);
	if (r < 0) {
		(void)unlinkat(pfd, tmp, 0);
		return r;
	}
	return put_in_place(rf, pfd, tmp, name, nd);
}

static int write_entries(struct rf *rf)
{
	for (size_t i = 0; i < rf->n; i++) {
		struct node *nd = &rf->nodes[rf->ord[i]];
		if (nd->e.type == CAIRN_CAT_DIR)
			continue;
		if (nd->link_to != SIZE_MAX && !rf->nodes[nd->link_to].done) {
			rf->st->skipped++;
			continue;
		}
		const char *name;
		_cleanup_close_ int pfd = open_parent(rf, nd->rel, &name);
		if (pfd < 0)
			return dest_error(rf, -pfd, "cannot open the directory of", nd->rel);
		int r = nd->e.type == CAIRN_CAT_FILE && nd->link_to == SIZE_MAX ? write_regular(rf, pfd, name, nd)
										 : write_other(rf, pfd, name, nd);
		if (r < 0)
			return r;
		if (r == 1) {
			rf->st->skipped++;
			continue;
		}
		nd->done = true;
		if (nd->link_to != SIZE_MAX)
			rf->st->hardlinks++;
		else if (nd->e.type == CAIRN_CAT_FILE)
			rf->st->files++;
		else if (nd->e.type == CAIRN_CAT_SYMLINK)
			rf->st->symlinks++;
		else
			rf->st->special++;
		if (nd->e.type == CAIRN_CAT_FILE)
			rf->st->bytes += nd->e.size;
	}
	return 0;
}

/* Directories' owners, modes and times, deepest first: writing their
 * contents changed their times. */
static int finish_dirs(struct rf *rf)
{
	for (size_t i = rf->n; i-- > 0;) {
		const struct node *nd = &rf->nodes[rf->ord[i]];
		if (nd->e.type != CAIRN_CAT_DIR || !*nd->rel)
			continue;
		_cleanup_close_ int fd = open_rel_dir(rf, nd->rel, strlen(nd->rel));
		if (fd < 0)
			return dest_error(rf, -fd, "cannot open", nd->rel);
		struct timespec ts[2];
		times_of(nd, ts);
		if (rf->o->preserve_owner && fchown(fd, nd->e.uid, nd->e.gid) < 0)
			return dest_error(rf, errno, "cannot set the owner of", nd->rel);
		if (fchmod(fd, perm(rf, nd)) < 0)
			return dest_error(rf, errno, "cannot set the mode of", nd->rel);
		if (futimens(fd, ts) < 0)
			return dest_error(rf, errno, "cannot set the times of", nd->rel);
	}
	return 0;
}

static int to_dir(struct rf *rf)
{
	const char *dest = rf->o->dest;
	if (mkdir(dest, 0755) < 0 && errno != EEXIST)
		return cairn_error_errno(errno, "cannot create %s", dest);
	rf->destfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rf->destfd < 0)
		return cairn_error_errno(errno, "cannot open %s", dest);
	int r;
	if ((r = check_targets(rf)) < 0 || (r = make_dirs(rf)) < 0 || (r = write_entries(rf)) < 0)
		return r;
	return finish_dirs(rf);
}

/* ---- into a stream ---- */

static int tar_flush(struct rf *rf, struct cairn_buf *b)
{
	int r = cairn_write_all(rf->o->out_fd, b->data, b->len, "standard output");
	cairn_buf_clear(b);
	return r;
}

static int to_tar(struct rf *rf)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf b = CAIRN_BUF_INIT;
	int r = 0;
	for (size_t i = 0; i < rf->n && r >= 0; i++) {
		struct node *nd = &rf->nodes[rf->ord[i]];
		if (!*nd->rel)
			continue;
		struct cairn_tar_member m = {
			.path = nd->rel, .mode = nd->e.mode & 07777, .uid = nd->e.uid, .gid = nd->e.gid,
			.mtime_ns = nd->e.mtime_ns, .atime_ns = nd->e.atime_ns,
		};
		if (nd->link_to != SIZE_MAX) {
			m.type = CAIRN_TAR_HARDLINK;
			m.linkname = rf->nodes[nd->link_to].rel;
		} else {
			switch (nd->e.type) {
			case CAIRN_CAT_FILE:
				m.type = CAIRN_TAR_FILE;
				m.size = nd->e.size;
				break;
			case CAIRN_CAT_DIR:
				m.type = CAIRN_TAR_DIR;
				break;
			case CAIRN_CAT_SYMLINK:
				m.type = CAIRN_TAR_SYMLINK;
				m.linkname = nd->e.target;
				break;
			case CAIRN_CAT_CHR:
			case CAIRN_CAT_BLK:
				m.type = nd->e.type == CAIRN_CAT_CHR ? CAIRN_TAR_CHR : CAIRN_TAR_BLK;
				m.devmajor = major((dev_t)nd->e.rdev);
				m.devminor = minor((dev_t)nd->e.rdev);
				break;
			case CAIRN_CAT_FIFO:
				m.type = CAIRN_TAR_FIFO;
				break;
			default:
				cairn_log_warn("%s: a socket has no place in a tar; skipped", nd->catpath);
				rf->st->skipped++;
				continue;
			}
		}
		if ((r = cairn_tar_header(&m, &b)) < 0)
			break;
		if (m.type == CAIRN_TAR_FILE) {
			static const uint8_t zeros[CAIRN_TAR_BLOCK];
			if ((r = tar_flush(rf, &b)) < 0 ||
			    (r = file_data(rf, nd, rf->o->out_fd, true, "standard output")) < 0)
				break;
			r = cairn_buf_append(&b, zeros, (size_t)cairn_tar_padding(m.size));
			rf->st->files++;
			rf->st->bytes += m.size;
		} else if (m.type == CAIRN_TAR_DIR) {
			rf->st->dirs++;
		} else if (m.type == CAIRN_TAR_HARDLINK) {
			rf->st->hardlinks++;
		} else if (m.type == CAIRN_TAR_SYMLINK) {
			rf->st->symlinks++;
		} else {
			rf->st->special++;
		}
		if (r >= 0 && b.len >= IO_BUF)
			r = tar_flush(rf, &b);
	}
	if (r >= 0 && (r = cairn_tar_end(&b)) >= 0)
		r = tar_flush(rf, &b);
	return r;
}

static int to_stream(struct rf *rf)
{
	if (rf->n == 1 && rf->nodes[0].e.type == CAIRN_CAT_FILE) {
		int r = file_data(rf, &rf->nodes[0], rf->o->out_fd, true, "standard output");
		if (r >= 0) {
			rf->st->files++;
			rf->st->bytes += rf->nodes[0].e.size;
		}
		return r;
	}
	rf->st->tar = true;
	if (isatty(rf->o->out_fd))
		return cairn_error_set(CAIRN_EINVAL, "not writing a tar to a terminal: redirect standard output");
	return to_tar(rf);
}

int cairn_restorefile_run(struct cairn_repo *repo, const struct cairn_restorefile_item *items, size_t n,
			  const struct cairn_restorefile_opts *o, struct cairn_restorefile_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	double t0 = cairn_now();
	_cleanup_(cairn_activity_endp) struct cairn_activity *activity = NULL;
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	int r = cairn_engine_read_begin(repo, "restore", o->state_dir, &activity, &idx);
	if (r < 0)
		return r;
	struct rf rf = { .repo = repo, .idx = idx, .o = o, .st = ret, .destfd = -1 };
	if (!(rf.buf = malloc(IO_BUF)))
		r = cairn_error_nomem();
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = collect(&rf, &items[i]);
	if (r >= 0)
		r = order(&rf);
	if (r >= 0)
		r = o->mode == CAIRN_RF_DIR ? to_dir(&rf) : to_stream(&rf);
	for (size_t i = 0; i < rf.nvols; i++) {
		if (!rf.vols[i].vr)
			continue;
		struct cairn_volread_stats vs;
		cairn_volread_stats(rf.vols[i].vr, &vs);
		ret->chunks_fetched += vs.chunks_fetched;
		ret->bytes_fetched += vs.bytes_fetched + vs.node_bytes_fetched;
		ret->nodes_fetched += vs.nodes_fetched;
	}
	ret->seconds = cairn_now() - t0;
	rf_free(&rf);
	return r;
}
