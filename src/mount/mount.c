/* The FUSE file system of `cairn mount` (mount.h).
 *
 * The tree is fixed when mounting: the root lists one directory per
 * volume, each holding its images.  An image's reader (engine/volread.h)
 * is opened on its first open(2), in the daemon: opening walks the
 * backup's tree, which a mount of a volume's hundred backups should not
 * pay for images nobody reads.  The kernel caches pages (a backup never
 * changes, and with an overlay every write passes through here).
 */
#define FUSE_USE_VERSION 312
#include "mount/mount.h"
#include "engine/volread.h"
#include "repo/index.h"
#include "repo/lease.h"
#include "source/overlay.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/proc.h"

#include <dirent.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* FUSE threads: every request in flight holds one while it waits for
 * its chunks, so at least the kernel's read-ahead requests and a few
 * more for a second reader. */
#define MAX_BACKGROUND 32
#define MAX_THREADS (MAX_BACKGROUND + 16)
/* libfuse 3.14 asks the kernel for requests of at most 1 MiB (max_pages
 * 256, from its buffer size). */
#define IO_BLKSIZE (1 << 20)

struct image {
	char *path;      /* "volume/name.img" */
	size_t vol_len;  /* of "volume" */
	struct cairn_manifest *m;
	pthread_mutex_t lock; /* opening vr */
	struct cairn_volread *vr;
	struct cairn_overlay *ov;
};

struct fs {
	struct cairn_repo *repo;
	struct cairn_index *idx;
	const struct cairn_mount_opts *o;
	struct image *img;
	size_t n;
	uid_t uid;
	gid_t gid;
	char real_dir[PATH_MAX]; /* the mount point, resolved before mounting */
	atomic_bool readahead_raised;
};

int cairn_mount_image_path(const struct cairn_manifest *m, char **ret)
{
	time_t t = (time_t)(m->created_us / 1000000);
	struct tm tm;
	char when[32];
	if (!gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H%M%SZ", &tm))
		snprintf(when, sizeof(when), "%lld", (long long)t);
	_cleanup_free_ char *vol = strdup(m->volume && *m->volume ? m->volume : "volume");
	if (!vol)
		return cairn_error_nomem();
	/* A directory name: no slash, not "." or "..". */
	for (char *p = vol; *p; p++)
		if (*p == '/')
			*p = '_';
	if (vol[0] == '.')
		vol[0] = '_';
	if (asprintf(ret, "%s/%s-%.8s.img", vol, when, m->idhex) < 0)
		return cairn_error_nomem();
	return 0;
}

static struct fs *fs_of(void)
{
	return fuse_get_context()->private_data;
}

/* The image at path ("/volume/name"), or NULL; *ret_dir tells a volume's
 * directory ("/volume"). */
static struct image *lookup(struct fs *fs, const char *path, bool *ret_dir)
{
	*ret_dir = false;
	if (*path == '/')
		path++;
	size_t len = strlen(path);
	for (size_t i = 0; i < fs->n; i++) {
		struct image *im = &fs->img[i];
		if (strcmp(im->path, path) == 0)
			return im;
		if (len == im->vol_len && strncmp(im->path, path, len) == 0)
			*ret_dir = true;
	}
	return NULL;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* The kernel sends at most max_background read-ahead requests at
	 * once (12 by default): with 1 MiB requests that is 12 MiB in flight,
	 * less than the raised read-ahead window below, and every request
	 * waits a round trip through this process.  More in flight keeps the
	 * volume reader's workers busy on a loaded machine, where each hand
	 * over from a worker to a FUSE thread to the reader waits for a CPU. */
	conn->max_background = MAX_BACKGROUND;
	conn->congestion_threshold = MAX_BACKGROUND * 3 / 4;
	/* Nothing here changes behind the kernel's back. */
	cfg->kernel_cache = 1;
	cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 3600;
	return fs_of();
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	struct fs *fs = fs_of();
	memset(st, 0, sizeof(*st));
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	bool dir;
	struct image *im = strcmp(path, "/") == 0 ? NULL : lookup(fs, path, &dir);
	if (strcmp(path, "/") == 0 || (!im && dir)) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		/* The time of the newest backup shown. */
		for (size_t i = 0; i < fs->n; i++)
			if (fs->img[i].m->created_us / 1000000 > st->st_mtim.tv_sec)
				st->st_mtim.tv_sec = (time_t)(fs->img[i].m->created_us / 1000000);
		st->st_ctim = st->st_atim = st->st_mtim;
		return 0;
	}
	if (!im)
		return -ENOENT;
	st->st_mode = S_IFREG | (im->ov ? 0644 : 0444);
	st->st_nlink = 1;
	st->st_size = (off_t)im->m->size;
	st->st_blocks = (blkcnt_t)((im->m->size + 511) / 512);
	/* The size of the kernel's read requests: cat and cp read in units
	 * of st_blksize (128 KiB at the 4 KiB default), eight times fewer
	 * system calls this way. */
	st->st_blksize = IO_BLKSIZE;
	st->st_mtim.tv_sec = st->st_ctim.tv_sec = st->st_atim.tv_sec = (time_t)(im->m->created_us / 1000000);
	st->st_mtim.tv_nsec = (long)(im->m->created_us % 1000000) * 1000;
	return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	(void)off, (void)fi, (void)flags;
	struct fs *fs = fs_of();
	bool root = strcmp(path, "/") == 0, dir = false;
	if (!root && (lookup(fs, path, &dir) || !dir))
		return lookup(fs, path, &dir) ? -ENOTDIR : -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	size_t plen = root ? 0 : strlen(path + 1);
	for (size_t i = 0; i < fs->n; i++) {
		struct image *im = &fs->img[i];
		if (root) {
			/* Each volume once: images of one volume are adjacent. */
			if (i && fs->img[i - 1].vol_len == im->vol_len &&
			    strncmp(fs->img[i - 1].path, im->path, im->vol_len) == 0)
				continue;
			char name[PATH_MAX];
			snprintf(name, sizeof(name), "%.*s", (int)im->vol_len, im->path);
			fill(buf, name, NULL, 0, 0);
		} else if (im->vol_len == plen && strncmp(im->path, path + 1, plen) == 0) {
			fill(buf, im->path + im->vol_len + 1, NULL, 0, 0);
		}
	}
	return 0;
}

static void raise_readahead(const char *real);

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of();
	if (*fs->real_dir && !atomic_exchange(&fs->readahead_raised, true))
		raise_readahead(fs->real_dir);
	bool dir;
	struct image *im = lookup(fs, path, &dir);
	if (!im)
		return dir ? -EISDIR : -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY && !im->ov)
		return -EROFS;
	int r = 0;
	pthread_mutex_lock(&im->lock);
	if (!im->vr) {
		struct cairn_volread_opts vo = { .cache_bytes = fs->o->cache_bytes };
		r = cairn_volread_open(fs->repo, fs->idx, NULL, im->m, &vo, &im->vr);
		if (r < 0) {
			cairn_log_warn("cannot open %s: %s", im->path, cairn_error_message());
			r = r == CAIRN_ENOMEM ? -ENOMEM : -EIO;
		}
	}
	pthread_mutex_unlock(&im->lock);
	if (r < 0)
		return r;
	fi->fh = (uint64_t)(im - fs->img);
	fi->keep_cache = 1;
	return 0;
}

static ssize_t base_read(void *ud, void *buf, size_t len, uint64_t off)
{
	struct image *im = ud;
	return cairn_volread_pread(im->vr, buf, len, off);
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	struct image *im = &fs_of()->img[fi->fh];
	cairn_log_debug("read %s: %zu bytes at %lld", im->path, size, (long long)off);
	ssize_t r = im->ov ? cairn_overlay_pread(im->ov, buf, size, (uint64_t)off, base_read, im)
			   : cairn_volread_pread(im->vr, buf, size, (uint64_t)off);
	return (int)r; /* bytes, or a negative errno (EIO: damage or an unreadable repository) */
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	struct image *im = &fs_of()->img[fi->fh];
	if (!im->ov)
		return -EROFS;
	ssize_t r = cairn_overlay_pwrite(im->ov, buf, size, (uint64_t)off, base_read, im);
	if (r < 0)
		cairn_log_warn("write to %s at %lld failed: %s", im->path, (long long)off, strerror((int)-r));
	return (int)r;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path, (void)datasync;
	struct image *im = &fs_of()->img[fi->fh];
	return im->ov ? cairn_overlay_sync(im->ov) : 0;
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	return fs_fsync(path, 1, fi);
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)fi;
	bool dir;
	struct image *im = lookup(fs_of(), path, &dir);
	if (!im)
		return dir ? -EISDIR : -ENOENT;
	/* A disk keeps its size: O_TRUNC and truncate to the same size are
	 * fine, any other size is not. */
	if (!im->ov)
		return -EROFS;
	return (uint64_t)size == im->m->size ? 0 : -EPERM;
}

static int fs_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	struct fs *fs = fs_of();
	memset(sv, 0, sizeof(*sv));
	uint64_t total = 0;
	for (size_t i = 0; i < fs->n; i++)
		total += fs->img[i].m->size;
	sv->f_bsize = sv->f_frsize = 4096;
	sv->f_blocks = total / 4096;
	sv->f_files = fs->n;
	sv->f_namemax = 255;
	return 0;
}

static const struct fuse_operations ops = {
	.init = fs_init,
	.getattr = fs_getattr,
	.readdir = fs_readdir,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.flush = fs_flush,
	.fsync = fs_fsync,
	.truncate = fs_truncate,
	.statfs = fs_statfs,
};

/* The mount point must be an empty directory: a mount over files hides
 * them, which nobody asking for a backup's images means to do. */
static int check_dir(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return cairn_error_errno(errno, "mount point %s", dir);
	if (!S_ISDIR(st.st_mode))
		return cairn_error_set(CAIRN_EINVAL, "mount point %s is not a directory", dir);
	DIR *d = opendir(dir);
	if (!d)
		return cairn_error_errno(errno, "mount point %s", dir);
	struct dirent *e;
	int r = 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			r = cairn_error_set(CAIRN_EEXIST, "mount point %s is not empty (it holds %s)", dir, e->d_name);
			break;
		}
	closedir(d);
	return r;
}

static void fs_clear(struct fs *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		if (fs->img[i].vr) {
			/* -vv: how the image was read (did the reads find their
			 * chunks fetched ahead, how many gets). */
			struct cairn_volread_stats st;
			cairn_volread_stats(fs->img[i].vr, &st);
			cairn_log_debug("%s: %llu bytes read, %llu chunks fetched in %llu gets (%llu bytes), %llu reads "
					"of a fetched chunk, %llu of zeros, %llu tree nodes fetched",
					fs->img[i].path, (unsigned long long)st.bytes_read,
					(unsigned long long)st.chunks_fetched, (unsigned long long)st.gets,
					(unsigned long long)st.bytes_fetched, (unsigned long long)st.cache_hits,
					(unsigned long long)st.zero_chunks, (unsigned long long)st.nodes_fetched);
		}
		cairn_volread_close(fs->img[i].vr);
		cairn_overlay_close(fs->img[i].ov);
		free(fs->img[i].path);
		pthread_mutex_destroy(&fs->img[i].lock);
	}
	free(fs->img);
	cairn_index_free(fs->idx);
}

/* By volume, then by when the backup was made (names have a second's
 * resolution: two backups within one second sort by time, not by id). */
static int by_path(const void *a, const void *b)
{
	const struct image *x = a, *y = b;
	size_t len = MIN(x->vol_len, y->vol_len);
	int c = strncmp(x->path, y->path, len);
	if (c == 0 && x->vol_len != y->vol_len)
		c = x->vol_len < y->vol_len ? -1 : 1;
	if (c == 0 && x->m->created_us != y->m->created_us)
		c = x->m->created_us < y->m->created_us ? -1 : 1;
	return c ? c : strcmp(x->path, y->path);
}

static int build(struct fs *fs, struct cairn_repo *repo, struct cairn_manifest *const *ms, size_t n,
		 const struct cairn_mount_opts *o)
{
	fs->repo = repo;
	fs->o = o;
	fs->uid = getuid();
	fs->gid = getgid();
	if (!(fs->img = calloc(n ? n : 1, sizeof(*fs->img))))
		return cairn_error_nomem();
	for (size_t i = 0; i < n; i++) {
		struct image *im = &fs->img[i];
		pthread_mutex_init(&im->lock, NULL);
		fs->n++;
		im->m = ms[i];
		int r = cairn_mount_image_path(ms[i], &im->path);
		if (r < 0)
			return r;
		im->vol_len = (size_t)(strchr(im->path, '/') - im->path);
	}
	/* Sorted, so a volume's images are adjacent (and listed in time order). */
	qsort(fs->img, fs->n, sizeof(*fs->img), by_path);
	for (size_t i = 1; i < fs->n; i++)
		if (strcmp(fs->img[i].path, fs->img[i - 1].path) == 0)
			return cairn_error_set(CAIRN_EINVAL, "backups %s and %s would share the name %s", fs->img[i - 1].m->idhex,
					       fs->img[i].m->idhex, fs->img[i].path);
	if (o->overlay) {
		if (fs->n != 1)
			return cairn_error_set(CAIRN_EINVAL, "--overlay makes one image writable, and this mount holds %zu: "
							     "mount one backup of one volume",
					       fs->n);
		struct cairn_manifest *m = fs->img[0].m;
		int r = cairn_overlay_open(o->overlay, m->size, m->id, m->volume, &fs->img[0].ov);
		if (r < 0)
			return r;
	}
	int r = cairn_index_new(&fs->idx);
	if (r >= 0)
		r = cairn_index_load_cached(fs->idx, repo, o->state_dir, NULL);
	return r;
}

/* The kernel reads ahead 128 KiB on a FUSE file by default: a sequential
 * reader (dd, a loop device) then has one or two requests in flight, and
 * each waits for a round trip through this process.  8 MiB keeps the
 * volume reader's workers busy (measured: a 256 MiB image read in 1.3 s
 * instead of 2.4 s).  Raising it takes root; without, the default stays.
 * The kernel sets it when it gets the answer to its INIT request, so it is
 * raised at the first open, after that.  The mount's device number comes
 * from /proc/self/mountinfo: a stat of the mount point would be a request
 * to this process. */
#define KERNEL_READAHEAD_KB 16384
static void raise_readahead(const char *real)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	char line[4096], dev[64] = "", found[64] = "";
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX];
		/* id parent major:minor root mount-point ... - fstype source options */
		if (sscanf(line, "%*s %*s %63s %*s %4095s", dev, mnt) == 2 && strcmp(mnt, real) == 0 &&
		    strstr(line, " - fuse.cairn "))
			snprintf(found, sizeof(found), "%s", dev); /* the last one is on top */
	}
	fclose(f);
	if (!*found)
		return;
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", found);
	FILE *ra = fopen(path, "we");
	if (!ra)
		return;
	fprintf(ra, "%d\n", KERNEL_READAHEAD_KB);
	if (fclose(ra) != 0)
		cairn_log_debug("cannot raise the read-ahead of %s", real);
}

/* Goes on in a child in a session of its own, stdio on /dev/null (a caller
 * reading our output sees its end), once that child is ready the parent
 * exits 0.  Unlike fuse_daemonize() the working directory stays: a
 * repository or overlay named by a relative path must still be there. */
static int daemonize(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		char c;
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	setsid();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	int ok = write(p[1], "1", 1) == 1 ? 0 : -1;
	close(p[1]);
	return ok;
}

int cairn_mount_run(struct cairn_repo *repo, struct cairn_manifest *const *ms, size_t n,
		    const struct cairn_mount_opts *o)
{
	int r = check_dir(o->dir);
	if (r < 0)
		return r;
	struct fs fs = { 0 };
	if (!realpath(o->dir, fs.real_dir))
		fs.real_dir[0] = 0;
	if ((r = build(&fs, repo, ms, n, o)) < 0) {
		fs_clear(&fs);
		return r;
	}
	char opts[256];
	snprintf(opts, sizeof(opts), "fsname=cairn,subtype=cairn,default_permissions%s%s", o->overlay ? "" : ",ro",
		 o->allow_other ? ",allow_other" : "");
	char *argv[] = { "cairn", "-o", opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct fuse *f = fuse_new(&args, &ops, sizeof(ops), &fs);
	fuse_opt_free_args(&args); /* libfuse copied argv into it */
	if (!f) {
		fs_clear(&fs);
		return cairn_error_set(CAIRN_EUNSUPPORTED, "cannot start a FUSE file system (libfuse refused the options)");
	}
	if (fuse_mount(f, o->dir) != 0) {
		fuse_destroy(f);
		fs_clear(&fs);
		return cairn_error_set(CAIRN_EUNSUPPORTED,
				       "cannot mount at %s: FUSE is unavailable (no /dev/fuse or fusermount3?)%s", o->dir,
				       o->allow_other ? " or --allow-other is not allowed (user_allow_other in /etc/fuse.conf)"
						      : "");
	}
	if (o->mounted) {
		const char **paths = calloc(fs.n ? fs.n : 1, sizeof(*paths));
		struct cairn_manifest **sorted = calloc(fs.n ? fs.n : 1, sizeof(*sorted));
		for (size_t i = 0; paths && sorted && i < fs.n; i++) {
			paths[i] = fs.img[i].path;
			sorted[i] = fs.img[i].m;
		}
		if (paths && sorted)
			o->mounted(paths, (const struct cairn_manifest *const *)sorted, fs.n, o->ud);
		free(paths);
		free(sorted);
	}
	fflush(stdout);
	fflush(stderr);
	/* libfuse installs its handlers (unmount and return) only over the
	 * default ones; the CLI's (stop at a safe point) are not what a mount
	 * wants. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	struct fuse_session *se = fuse_get_session(f);
	if (fuse_set_signal_handlers(se) != 0 || (!o->foreground && daemonize() < 0)) {
		fuse_unmount(f);
		fuse_destroy(f);
		fs_clear(&fs);
		return cairn_error_set(CAIRN_EIO, "cannot set up the mount's process");
	}
	/* In the process that serves: a prune running meanwhile must keep what
	 * it takes out of use for its safety window (format.h PRUNE). */
	struct cairn_activity *activity = NULL;
	(void)cairn_activity_begin(repo, "mount", &activity);
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	if (cfg)
		fuse_loop_cfg_set_max_threads(cfg, MAX_THREADS);
	r = fuse_loop_mt(f, cfg);
	if (cfg)
		fuse_loop_cfg_destroy(cfg);
	fuse_remove_signal_handlers(se);
	fuse_unmount(f);
	fuse_destroy(f);
	cairn_activity_end(activity);
	fs_clear(&fs);
	return r < 0 ? cairn_error_set(CAIRN_EIO, "the FUSE loop failed: %s", strerror(-r)) : 0;
}

int cairn_mount_unmount(const char *dir)
{
	const char *argv[] = { "fusermount3", "-u", "--", dir, NULL };
	struct cairn_buf out = CAIRN_BUF_INIT, err = CAIRN_BUF_INIT;
	int r = cairn_run_capture(argv, &out, &err, 60);
	if (r == CAIRN_ENOTFOUND && geteuid() == 0) {
		/* Root needs no helper (nor did it to mount). */
		r = umount2(dir, 0) == 0 ? 0 : cairn_error_errno(errno, "cannot unmount %s", dir);
		cairn_buf_free(&out);
		cairn_buf_free(&err);
		return r;
	}
	if (r < 0) {
		/* fusermount3's own line says why (not mounted, busy). */
		char line[512];
		if (err.len) {
			size_t k = 0;
			while (k < err.len && k < sizeof(line) - 1 && err.data[k] != '\n')
				k++;
			memcpy(line, err.data, k);
			line[k] = 0;
		} else {
			snprintf(line, sizeof(line), "%s", cairn_error_message());
		}
		r = cairn_error_set(r, "cannot unmount %s: %s", dir, line);
	}
	cairn_buf_free(&out);
	cairn_buf_free(&err);
	return r;
}
