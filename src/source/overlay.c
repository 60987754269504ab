/* The overlay file (overlay.h). */
#include "source/overlay.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/tmpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "CAIRNOVL"
#define VERSION 1
#define HEADER 4096u
#define BS CAIRN_OVERLAY_BLOCK
#define COPY_RUN (1u << 20)
#define TMP_TAG ".cairn-overlay-"

struct cairn_overlay {
	int fd;
	char *path;
	uint64_t size, nblocks, data_off;
	uint8_t backup[16];
	char volume[CAIRN_OVERLAY_VOLUME_MAX + 1];
	uint8_t *map; /* (nblocks + 7) / 8 bytes */
	size_t map_len;
	/* Readers share it, a writer holds it alone: a block's bytes and its
	 * bit change together as far as readers can see. */
	pthread_rwlock_t lock;
};

static size_t map_bytes(uint64_t nblocks)
{
	return (size_t)((nblocks + 7) / 8);
}

static bool written(const struct cairn_overlay *o, uint64_t b)
{
	return o->map[b / 8] & (1u << (b % 8));
}

static struct cairn_overlay *overlay_new(const char *path)
{
	struct cairn_overlay *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->fd = -1;
	if (!(o->path = strdup(path))) {
		free(o);
		return NULL;
	}
	pthread_rwlock_init(&o->lock, NULL);
	return o;
}

static int set_geometry(struct cairn_overlay *o, uint64_t size)
{
	o->size = size;
	o->nblocks = (size + BS - 1) / BS;
	o->map_len = map_bytes(o->nblocks);
	o->data_off = HEADER + (o->map_len + BS - 1) / BS * BS;
	if (!(o->map = calloc(1, o->map_len ? o->map_len : 1)))
		return cairn_error_nomem();
	return 0;
}

/* Reads and checks the header and the map of the open o->fd. */
static int load(struct cairn_overlay *o)
{
	uint8_t h[HEADER];
	ssize_t got = pread(o->fd, h, sizeof(h), 0);
	if (got < 0)
		return cairn_error_errno(errno, "read overlay %s", o->path);
	if (got != (ssize_t)sizeof(h) || memcmp(h, MAGIC, 8) != 0)
		return cairn_error_set(CAIRN_EINVAL, "%s is not a cairn overlay", o->path);
	if (cairn_le32(h + 8) != VERSION || cairn_le32(h + 12) != BS)
		return cairn_error_set(CAIRN_EVERSION, "overlay %s has version %u and block size %u; this cairn reads version %u with %u",
				       o->path, cairn_le32(h + 8), cairn_le32(h + 12), VERSION, BS);
	uint32_t vlen = cairn_le32(h + 40);
	if (vlen > CAIRN_OVERLAY_VOLUME_MAX || memchr(h + 44, 0, vlen))
		return cairn_error_set(CAIRN_ECORRUPT, "overlay %s has a damaged header", o->path);
	memcpy(o->backup, h + 24, 16);
	memcpy(o->volume, h + 44, vlen);
	o->volume[vlen] = 0;
	int r = set_geometry(o, cairn_le64(h + 16));
	if (r < 0)
		return r;
	got = pread(o->fd, o->map, o->map_len, HEADER);
	if (got < 0)
		return cairn_error_errno(errno, "read overlay %s", o->path);
	if ((size_t)got != o->map_len)
		return cairn_error_set(CAIRN_ECORRUPT, "overlay %s is truncated", o->path);
	/* Bits past the last block would name blocks that do not exist. */
	if (o->nblocks % 8 && (o->map[o->map_len - 1] >> (o->nblocks % 8)))
		return cairn_error_set(CAIRN_ECORRUPT, "overlay %s has a damaged map", o->path);
	return 0;
}

/* Writes a new overlay through a temporary renamed into place. */
static int create(struct cairn_overlay *o, uint64_t size, const uint8_t backup[16], const char *volume)
{
	size_t vlen = strlen(volume);
	if (vlen > CAIRN_OVERLAY_VOLUME_MAX)
		vlen = CAIRN_OVERLAY_VOLUME_MAX;
	int r = set_geometry(o, size);
	if (r < 0)
		return r;
	memcpy(o->backup, backup, 16);
	memcpy(o->volume, volume, vlen);
	_cleanup_free_ char *d = strdup(o->path), *b = strdup(o->path);
	if (!d || !b)
		return cairn_error_nomem();
	const char *dir = dirname(d), *name = basename(b);
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cairn_error_errno(errno, "overlay %s: directory %s", o->path, dir);
	_cleanup_free_ char *tmp = NULL;
	int fd = -1;
	if ((r = cairn_tmp_create(dfd, dir, name, TMP_TAG, &fd, &tmp)) < 0)
		return r;
	uint8_t h[HEADER] = { 0 };
	memcpy(h, MAGIC, 8);
	cairn_put_le32(h + 8, VERSION);
	cairn_put_le32(h + 12, BS);
	cairn_put_le64(h + 16, size);
	memcpy(h + 24, backup, 16);
	cairn_put_le32(h + 40, (uint32_t)vlen);
	memcpy(h + 44, volume, vlen);
	r = cairn_pwrite_all(fd, h, sizeof(h), 0, o->path);
	if (r >= 0 && ftruncate(fd, (off_t)(o->data_off + o->nblocks * BS)) < 0)
		r = cairn_error_errno(errno, "size overlay %s", o->path);
	if (r >= 0 && fsync(fd) < 0)
		r = cairn_error_errno(errno, "fsync overlay %s", o->path);
	if (r >= 0)
		r = cairn_tmp_commit(dfd, dir, tmp, name, fd);
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		close(fd);
		return r;
	}
	o->fd = fd;
	return 0;
}

int cairn_overlay_open(const char *path, uint64_t size, const uint8_t backup[16], const char *volume,
		       struct cairn_overlay **ret)
{
	_cleanup_(cairn_overlay_closep) struct cairn_overlay *o = overlay_new(path);
	if (!o)
		return cairn_error_nomem();
	int r;
	o->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (o->fd < 0 && errno != ENOENT)
		return cairn_error_errno(errno, "overlay %s", path);
	if (o->fd < 0) {
		if ((r = create(o, size, backup, volume)) < 0)
			return r;
	} else {
		struct stat st;
		if (fstat(o->fd, &st) < 0)
			return cairn_error_errno(errno, "overlay %s", path);
		if (!S_ISREG(st.st_mode))
			return cairn_error_set(CAIRN_EINVAL, "overlay %s is not a regular file", path);
		if ((r = load(o)) < 0)
			return r;
		if (memcmp(o->backup, backup, 16) != 0 || o->size != size) {
			char hex[33];
			cairn_hex_encode(o->backup, 16, hex);
			return cairn_error_set(CAIRN_EINVAL, "overlay %s belongs to backup %.12s of %s, not to this one", path,
					       hex, o->volume);
		}
	}
	*ret = TAKE_PTR(o);
	return 0;
}

int cairn_overlay_open_existing(const char *path, struct cairn_overlay **ret)
{
	_cleanup_(cairn_overlay_closep) struct cairn_overlay *o = overlay_new(path);
	if (!o)
		return cairn_error_nomem();
	o->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0)
		return cairn_error_errno(errno, "overlay %s", path);
	int r = load(o);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(o);
	return 0;
}

uint64_t cairn_overlay_size(const struct cairn_overlay *o)
{
	return o->size;
}

const uint8_t *cairn_overlay_backup(const struct cairn_overlay *o)
{
	return o->backup;
}

const char *cairn_overlay_volume(const struct cairn_overlay *o)
{
	return o->volume;
}

uint64_t cairn_overlay_blocks(struct cairn_overlay *o)
{
	uint64_t n = 0;
	pthread_rwlock_rdlock(&o->lock);
	for (size_t i = 0; i < o->map_len; i++)
		n += (uint64_t)__builtin_popcount(o->map[i]);
	pthread_rwlock_unlock(&o->lock);
	return n;
}

static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	/* The overlay file is sized for every block: short is zeros (a file
	 * cut short by hand reads as never-written holes would). */
	memset((uint8_t *)buf + done, 0, len - done);
	return (ssize_t)len;
}

/* Reads [off, off + len) within the image, under the lock. */
static ssize_t read_locked(struct cairn_overlay *o, uint8_t *buf, size_t len, uint64_t off,
			   cairn_overlay_base_fn base, void *ud)
{
	size_t done = 0;
	while (done < len) {
		uint64_t pos = off + done, b = pos / BS;
		bool w = written(o, b);
		/* A run of blocks all written or all not. */
		uint64_t e = b + 1;
		while (e * BS < off + len && written(o, e) == w)
			e++;
		size_t n = (size_t)MIN(e * BS, off + len) - (size_t)pos;
		ssize_t got = w ? pread_full(o->fd, buf + done, n, o->data_off + pos) : base(ud, buf + done, n, pos);
		if (got < 0)
			return got;
		if ((size_t)got != n)
			return -EIO; /* the image below is shorter than it says */
		done += n;
	}
	return (ssize_t)done;
}

ssize_t cairn_overlay_pread(struct cairn_overlay *o, void *buf, size_t len, uint64_t off,
			    cairn_overlay_base_fn base, void *ud)
{
	if (off >= o->size)
		return 0;
	len = (size_t)MIN((uint64_t)len, o->size - off);
	pthread_rwlock_rdlock(&o->lock);
	ssize_t r = read_locked(o, buf, len, off, base, ud);
	pthread_rwlock_unlock(&o->lock);
	return r;
}

/* Writes the map's bytes holding blocks [first, last]. */
static int store_map(struct cairn_overlay *o, uint64_t first, uint64_t last)
{
	size_t a = (size_t)(first / 8), z = (size_t)(last / 8);
	if (pwrite(o->fd, o->map + a, z - a + 1, (off_t)(HEADER + a)) != (ssize_t)(z - a + 1))
		return -EIO;
	return 0;
}

/* Whether [off, off + len) covers block b whole. */
static bool whole(const struct cairn_overlay *o, uint64_t b, uint64_t off, size_t len)
{
	return off <= b * BS && off + len >= MIN(b * BS + BS, o->size);
}

ssize_t cairn_overlay_pwrite(struct cairn_overlay *o, const void *buf, size_t len, uint64_t off,
			     cairn_overlay_base_fn base, void *ud)
{
	if (!len)
		return 0;
	if (off >= o->size)
		return -ENOSPC;
	len = (size_t)MIN((uint64_t)len, o->size - off);
	uint64_t first = off / BS, last = (off + len - 1) / BS;
	uint8_t edge[BS];
	ssize_t r = 0;
	pthread_rwlock_wrlock(&o->lock);
	/* The partial blocks at either end: their other bytes come first. */
	uint64_t ends[2] = { first, last };
	for (int k = 0; k < 2 && r >= 0; k++) {
		uint64_t b = ends[k], bstart = b * BS, bend = MIN(bstart + BS, o->size);
		if (k == 1 && last == first)
			break;
		if (whole(o, b, off, len))
			continue;
		size_t blen = (size_t)(bend - bstart);
		if ((r = read_locked(o, edge, blen, bstart, base, ud)) < 0)
			break;
		uint64_t from = MAX(off, bstart), to = MIN(off + len, bend);
		memcpy(edge + (from - bstart), (const uint8_t *)buf + (from - off), (size_t)(to - from));
		if (pwrite(o->fd, edge, blen, (off_t)(o->data_off + bstart)) != (ssize_t)blen)
			r = -EIO;
	}
	/* The whole blocks between. */
	uint64_t wstart = whole(o, first, off, len) ? first * BS : (first + 1) * BS;
	uint64_t wend = whole(o, last, off, len) ? MIN(last * BS + BS, o->size) : last * BS;
	if (r >= 0 && wend > wstart) {
		const uint8_t *p = (const uint8_t *)buf + (wstart - off);
		if (cairn_pwrite_all(o->fd, p, (size_t)(wend - wstart), o->data_off + wstart, o->path) < 0)
			r = -EIO;
	}
	if (r >= 0) {
		for (uint64_t b = first; b <= last; b++)
			o->map[b / 8] |= (uint8_t)(1u << (b % 8));
		r = store_map(o, first, last);
	}
	pthread_rwlock_unlock(&o->lock);
	return r < 0 ? r : (ssize_t)len;
}

int cairn_overlay_sync(struct cairn_overlay *o)
{
	return fdatasync(o->fd) < 0 ? -errno : 0;
}

int cairn_overlay_apply(struct cairn_overlay *o, int fd, const char *target, uint64_t *ret_bytes)
{
	_cleanup_free_ uint8_t *buf = malloc(COPY_RUN);
	if (!buf)
		return cairn_error_nomem();
	uint64_t bytes = 0;
	int r = 0;
	pthread_rwlock_rdlock(&o->lock);
	for (uint64_t b = 0; b < o->nblocks && r >= 0;) {
		if (!written(o, b)) {
			b++;
			continue;
		}
		uint64_t e = b + 1;
		while (e < o->nblocks && written(o, e) && (e - b) * BS < COPY_RUN)
			e++;
		uint64_t off = b * BS, len = MIN(e * BS, o->size) - off;
		ssize_t got = pread_full(o->fd, buf, (size_t)len, o->data_off + off);
		if (got < 0)
			r = cairn_error_errno((int)-got, "read overlay %s", o->path);
		else
			r = cairn_pwrite_all(fd, buf, (size_t)len, off, target);
		bytes += len;
		b = e;
	}
	pthread_rwlock_unlock(&o->lock);
	if (r >= 0 && ret_bytes)
		*ret_bytes = bytes;
	return r;
}

void cairn_overlay_close(struct cairn_overlay *o)
{
	if (!o)
		return;
	if (o->fd >= 0)
		close(o->fd);
	pthread_rwlock_destroy(&o->lock);
	free(o->map);
	free(o->path);
	free(o);
}
