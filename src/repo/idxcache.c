/* Local index cache (idxcache.h): a sorted, paged, authenticated file. */
#include "repo/idxcache.h"
#include "crypto/crypto.h"
#include "repo/record.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "CAIRNIX1"
#define VERSION 2 /* 2: the pack table holds each pack's entry count */
#define PAGE CAIRN_IDXCACHE_PAGE
#define PER_PAGE CAIRN_IDXCACHE_PER_PAGE
#define BODY (PAGE - CAIRN_IDXCACHE_TAG)
#define PACK_REC (CAIRN_PACK_ID_LEN + 8 + 8)
#define NMACS 8
/* GMAC nonces: entry page p uses p; these two are out of their range. */
#define NONCE_HEADER UINT64_MAX
#define NONCE_TRAILER (UINT64_MAX - 1)

enum {
	H_MAGIC = 0,
	H_VERSION = 8,
	H_PAGE = 12,
	H_REPO = 16,
	H_SALT = 32,
	H_COUNT = 48,
	H_NPAGES = 56,
	H_NOBJECTS = 64,
	H_NPACKS = 68,
	H_TRAILER_OFF = 72,
	H_TRAILER_LEN = 80,
	H_TRAILER_TAG = 88,
};

struct cairn_idxcache {
	char *path;
	dev_t dev;
	ino_t ino;
	int fd;
	uint64_t size;
	uint64_t count, npages;
	size_t nobjects, npacks;
	uint8_t *trailer; /* objects, packs (fences are copied out) */
	const uint8_t *objects, *packs;
	uint64_t *fences; /* first 8 bytes of each page's first id, big-endian value */
	/* GMAC contexts for the lookups of several threads (a context is not
	 * thread-safe); gmac is macs[0].g. */
	struct {
		pthread_mutex_t lock;
		struct cairn_gmac *g;
	} macs[NMACS];
	struct cairn_gmac *gmac;
	/* cairn_idxcache_get's page (one thread) */
	uint8_t getbuf[PAGE];
	uint64_t getpage; /* + 1; 0: none */
};

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int derive_key(const uint8_t local_key[32], const uint8_t salt[16], struct cairn_gmac **ret, size_t n)
{
	char label[64];
	char hex[33];
	uint8_t key[CAIRN_KEY_LEN];
	cairn_hex_encode(salt, 16, hex);
	snprintf(label, sizeof(label), "cairn index cache %s", hex);
	int r = cairn_hkdf(local_key, 32, label, key, sizeof(key));
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = cairn_gmac_new(key, &ret[i]);
	cairn_wipe(key, sizeof(key));
	return r;
}

static int mkdir_one(const char *p)
{
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return cairn_error_errno(errno, "create %s", p);
	return 0;
}

int cairn_idxcache_path(const char *state_dir, const uint8_t repo_id[16], char **ret)
{
	char repo[33];
	cairn_hex_encode(repo_id, 16, repo);
	size_t n = strlen(state_dir) + 64;
	_cleanup_free_ char *p = malloc(n);
	if (!p)
		return cairn_error_nomem();
	int r;
	snprintf(p, n, "%s/cache", state_dir);
	if ((r = mkdir_one(p)) < 0)
		return r;
	snprintf(p, n, "%s/cache/%s", state_dir, repo);
	if ((r = mkdir_one(p)) < 0)
		return r;
	snprintf(p, n, "%s/cache/%s/index", state_dir, repo);
	*ret = p;
	p = NULL;
	return 0;
}

void cairn_idxcache_close(struct cairn_idxcache *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->trailer);
	for (size_t i = 0; i < NMACS; i++) {
		cairn_gmac_free(c->macs[i].g);
		pthread_mutex_destroy(&c->macs[i].lock);
	}
	free(c->fences);
	free(c->path);
	free(c);
}

static int read_at(struct cairn_idxcache *c, void *buf, uint64_t len, uint64_t off)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(c->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cairn_error_errno(errno, "read %s", c->path);
		if (n == 0)
			return cairn_error_set(CAIRN_ECORRUPT, "index cache %s is truncated", c->path);
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int bad(const char *path, const char *what)
{
	return cairn_error_set(CAIRN_ECORRUPT, "index cache %s %s", path, what);
}

int cairn_idxcache_open(const char *path, const uint8_t local_key[32], const uint8_t repo_id[16],
			struct cairn_idxcache **ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? CAIRN_ENOTFOUND : cairn_error_errno(errno, "open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return cairn_error_errno(errno, "stat %s", path);
	if (!S_ISREG(st.st_mode))
		return bad(path, "is not a regular file");
	if ((uint64_t)st.st_size < PAGE)
		return bad(path, "is truncated");
	struct cairn_idxcache *c = calloc(1, sizeof(*c));
	if (!c)
		return cairn_error_nomem();
	for (size_t i = 0; i < NMACS; i++)
		pthread_mutex_init(&c->macs[i].lock, NULL);
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->size = (uint64_t)st.st_size;
	c->path = strdup(path);
	c->fd = fd;
	fd = -1;
	int r = 0;
	uint8_t h[PAGE];
	if (!c->path) {
		r = cairn_error_nomem();
		goto fail;
	}
	if ((r = read_at(c, h, PAGE, 0)) < 0)
		goto fail;
	if (memcmp(h + H_MAGIC, MAGIC, 8) != 0) {
		r = bad(path, "has a bad magic");
		goto fail;
	}
	if (cairn_le32(h + H_VERSION) != VERSION || cairn_le32(h + H_PAGE) != PAGE) {
		r = bad(path, "is of another version");
		goto fail;
	}
	if (memcmp(h + H_REPO, repo_id, 16) != 0) {
		r = bad(path, "belongs to another repository");
		goto fail;
	}
	struct cairn_gmac *g[NMACS] = { 0 };
	r = derive_key(local_key, h + H_SALT, g, NMACS);
	for (size_t i = 0; i < NMACS; i++)
		c->macs[i].g = g[i];
	c->gmac = g[0];
	if (r < 0)
		goto fail;
	uint8_t tag[16];
	if ((r = cairn_gmac_tag(c->gmac, NONCE_HEADER, h, BODY, tag)) < 0)
		goto fail;
	if (memcmp(tag, h + BODY, 16) != 0) {
		r = bad(path, "fails its check (damaged, or not written with this repository's keys)");
		goto fail;
	}
	c->count = cairn_le64(h + H_COUNT);
	c->npages = cairn_le64(h + H_NPAGES);
	c->nobjects = cairn_le32(h + H_NOBJECTS);
	c->npacks = cairn_le32(h + H_NPACKS);
	uint64_t toff = cairn_le64(h + H_TRAILER_OFF), tlen = cairn_le64(h + H_TRAILER_LEN);
	/* The header is authentic, so these hold unless the file was cut or
	 * grown since: check them all the same before using them. */
	if (c->npages > (UINT64_MAX / PAGE) - 1 || toff != (c->npages + 1) * PAGE ||
	    tlen != (uint64_t)c->nobjects * 32 + (uint64_t)c->npacks * PACK_REC + c->npages * 8 ||
	    toff + tlen != (uint64_t)st.st_size || c->count > c->npages * PER_PAGE ||
	    (c->npages && c->count <= (c->npages - 1) * PER_PAGE)) {
		r = bad(path, "is truncated or has a wrong length");
		goto fail;
	}
	if (!(c->trailer = malloc(tlen ? tlen : 1))) {
		r = cairn_error_nomem();
		goto fail;
	}
	const uint8_t *t = c->trailer;
	if ((r = read_at(c, c->trailer, tlen, toff)) < 0 ||
	    (r = cairn_gmac_tag(c->gmac, NONCE_TRAILER, t, tlen, tag)) < 0)
		goto fail;
	if (memcmp(tag, h + H_TRAILER_TAG, 16) != 0) {
		r = bad(path, "fails its check (damaged trailer)");
		goto fail;
	}
	c->objects = t;
	c->packs = t + c->nobjects * 32;
	const uint8_t *f = c->packs + c->npacks * PACK_REC;
	c->fences = malloc((c->npages ? c->npages : 1) * sizeof(uint64_t));
	if (!c->fences) {
		r = cairn_error_nomem();
		goto fail;
	}
	for (uint64_t p = 0; p < c->npages; p++)
		c->fences[p] = be64(f + p * 8);
	/* The fences are in their array now: the rest of the trailer is
	 * what the accessors return. */
	if (c->npages) {
		uint8_t *shrunk = realloc(c->trailer, tlen - c->npages * 8 ? tlen - c->npages * 8 : 1);
		if (shrunk) {
			c->trailer = shrunk;
			c->objects = shrunk;
			c->packs = shrunk + c->nobjects * 32;
		}
	}
	(void)posix_fadvise(c->fd, 0, 0, POSIX_FADV_RANDOM);
	*ret = c;
	return 0;
fail:
	cairn_idxcache_close(c);
	return r;
}

uint64_t cairn_idxcache_count(const struct cairn_idxcache *c)
{
	return c->count;
}

size_t cairn_idxcache_nobjects(const struct cairn_idxcache *c)
{
	return c->nobjects;
}

const uint8_t *cairn_idxcache_objects(const struct cairn_idxcache *c)
{
	return c->objects;
}

size_t cairn_idxcache_npacks(const struct cairn_idxcache *c)
{
	return c->npacks;
}

const uint8_t *cairn_idxcache_pack(const struct cairn_idxcache *c, size_t i, int64_t *ret_condemned)
{
	const uint8_t *p = c->packs + i * PACK_REC;
	if (ret_condemned)
		*ret_condemned = (int64_t)cairn_le64(p + CAIRN_PACK_ID_LEN);
	return p;
}

uint64_t cairn_idxcache_pack_entries(const struct cairn_idxcache *c, size_t i)
{
	return cairn_le64(c->packs + i * PACK_REC + CAIRN_PACK_ID_LEN + 8);
}

/* The entry page p (0-based) read into pg and checked, on every read:
 * the file may change under us (another process's rename does not, but
 * whoever can write the state directory could), and a check costs about
 * a microsecond.  Read, not mapped: a process's mapped pages count in its
 * RSS, and a large backup's lookups would touch pages all over the file
 * (the kernel maps 16 neighbours on each fault too). */
static int page(struct cairn_idxcache *c, uint64_t p, uint8_t pg[PAGE])
{
	int r = read_at(c, pg, PAGE, (p + 1) * PAGE);
	if (r < 0)
		return r;
	uint8_t tag[16];
	size_t k = (size_t)(p % NMACS), tries = 0;
	while (pthread_mutex_trylock(&c->macs[k].lock) != 0) {
		k = (k + 1) % NMACS;
		if (++tries == NMACS) {
			pthread_mutex_lock(&c->macs[k].lock);
			break;
		}
	}
	r = cairn_gmac_tag(c->macs[k].g, p, pg, BODY, tag);
	pthread_mutex_unlock(&c->macs[k].lock);
	if (r < 0)
		return r;
	if (memcmp(tag, pg + BODY, 16) != 0)
		return cairn_error_set(CAIRN_ECORRUPT, "index cache %s: page %llu fails its check", c->path,
				       (unsigned long long)p + 1);
	return 0;
}

static int decode(struct cairn_idxcache *c, const uint8_t *rec, struct cairn_blob_ref *ret)
{
	uint32_t pack = cairn_index_rec_decode(rec, ret);
	if (pack >= c->npacks)
		return cairn_error_set(CAIRN_ECORRUPT, "index cache %s names an unknown pack", c->path);
	ret->pack = pack;
	return 0;
}

static uint64_t page_entries(const struct cairn_idxcache *c, uint64_t p)
{
	return p + 1 < c->npages ? PER_PAGE : c->count - p * PER_PAGE;
}

/* Binary search of one page: 0 and *ret, or CAIRN_ENOTFOUND. */
static int search_page(struct cairn_idxcache *c, uint64_t p, const uint8_t *id, struct cairn_blob_ref *ret)
{
	uint8_t pg[PAGE];
	int r = page(c, p, pg);
	if (r < 0)
		return r;
	size_t lo = 0, hi = page_entries(c, p);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const uint8_t *rec = pg + mid * CAIRN_INDEX_ENTRY_LEN;
		int d = memcmp(rec, id, CAIRN_ID_LEN);
		if (d == 0) {
			struct cairn_blob_ref tmp;
			r = decode(c, rec, ret ? ret : &tmp);
			return r;
		}
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return CAIRN_ENOTFOUND;
}

int cairn_idxcache_lookup(struct cairn_idxcache *c, const uint8_t id[CAIRN_ID_LEN], struct cairn_blob_ref *ret)
{
	if (!c->npages)
		return CAIRN_ENOTFOUND;
	/* The last page whose fence is <= the id's prefix.  Ids are uniform
	 * HMAC outputs, so this is where interpolation would land too; the
	 * fences make it exact and touch no entry page but the one. */
	uint64_t key = be64(id);
	uint64_t lo = 0, hi = c->npages;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (c->fences[mid] <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return CAIRN_ENOTFOUND;
	uint64_t p = lo - 1;
	int r = search_page(c, p, id, ret);
	/* Pages whose first ids share the 8-byte prefix: the id may lie on an
	 * earlier one. */
	while (r == CAIRN_ENOTFOUND && p > 0 && c->fences[p] == key)
		r = search_page(c, --p, id, ret);
	return r;
}

int cairn_idxcache_get(struct cairn_idxcache *c, uint64_t i, struct cairn_blob_ref *ret)
{
	if (i >= c->count)
		return CAIRN_ENOTFOUND;
	uint64_t p = i / PER_PAGE;
	if (c->getpage != p + 1) {
		c->getpage = 0;
		int r = page(c, p, c->getbuf);
		if (r < 0)
			return r;
		c->getpage = p + 1;
	}
	return decode(c, c->getbuf + (i % PER_PAGE) * CAIRN_INDEX_ENTRY_LEN, ret);
}

void cairn_idxcache_discard(struct cairn_idxcache *c)
{
	struct stat st;
	if (c->path && stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		(void)unlink(c->path);
}

/* ---- writing ---- */

#define WBUF (256 * PAGE)

struct writer {
	int fd;
	const char *tmp;
	struct cairn_gmac *gmac;
	uint8_t *buf; /* WBUF bytes of pages being filled */
	size_t nbuf;  /* whole pages in buf */
	uint64_t npages, count;
	size_t in_page; /* entries in the current page */
	uint64_t *fences;
	size_t fcap;
	uint64_t *pack_entries; /* per pack of the pack table */
	uint8_t last[CAIRN_ID_LEN];
};

static int flush_pages(struct writer *w)
{
	int r = cairn_write_all(w->fd, w->buf, w->nbuf * PAGE, w->tmp);
	w->nbuf = 0;
	return r;
}

static int close_page(struct writer *w)
{
	uint8_t *pg = w->buf + w->nbuf * PAGE;
	int r = cairn_gmac_tag(w->gmac, w->npages, pg, BODY, pg + BODY);
	if (r < 0)
		return r;
	w->npages++;
	w->in_page = 0;
	if (++w->nbuf == WBUF / PAGE)
		return flush_pages(w);
	return 0;
}

static int add_entry(struct writer *w, const struct cairn_blob_ref *e)
{
	if (w->count && memcmp(e->id, w->last, CAIRN_ID_LEN) <= 0)
		return cairn_error_set(CAIRN_EINVAL, "index cache entries out of order");
	memcpy(w->last, e->id, CAIRN_ID_LEN);
	uint8_t *pg = w->buf + w->nbuf * PAGE;
	if (w->in_page == 0) {
		memset(pg, 0, PAGE);
		if (cairn_array_grow(&w->fences, &w->fcap, w->npages, sizeof(uint64_t), 1024) < 0)
			return cairn_error_nomem();
		w->fences[w->npages] = be64(e->id);
	}
	cairn_index_rec_encode(pg + w->in_page * CAIRN_INDEX_ENTRY_LEN, e, e->pack);
	w->count++;
	w->pack_entries[e->pack]++;
	if (++w->in_page == PER_PAGE)
		return close_page(w);
	return 0;
}

/* Temporaries of writers killed before their rename: removed once an hour
 * old (a writer that is still at work renames long before). */
static void sweep_temporaries(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (!slash)
		return;
	*slash = 0;
	const char *base = slash + 1;
	size_t blen = strlen(base);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	time_t now = time(NULL);
	while ((de = readdir(d))) {
		struct stat st;
		if (strncmp(de->d_name, base, blen) != 0 || strncmp(de->d_name + blen, ".tmp-", 5) != 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime < now - 3600)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

int cairn_idxcache_write(const char *path, const uint8_t local_key[32], const uint8_t repo_id[16],
			 const uint8_t *objects, size_t nobjects, const struct cairn_idxcache_pack_rec *packs,
			 size_t npacks, cairn_idxcache_next_fn next, void *ud)
{
	if (nobjects > UINT32_MAX || npacks > UINT32_MAX)
		return cairn_error_set(CAIRN_EINVAL, "index cache too large");
	size_t n = strlen(path) + 32;
	_cleanup_free_ char *tmp = malloc(n);
	if (!tmp)
		return cairn_error_nomem();
	/* A unique name per writer: two processes rebuilding at once each
	 * write their own file, and the last rename wins whole. */
	sweep_temporaries(path);
	snprintf(tmp, n, "%s.tmp-XXXXXX", path);
	struct writer w = { .fd = mkostemp(tmp, O_CLOEXEC), .tmp = tmp };
	if (w.fd < 0)
		return cairn_error_errno(errno, "create %s", tmp);
	uint8_t h[PAGE];
	memset(h, 0, sizeof(h));
	memcpy(h + H_MAGIC, MAGIC, 8);
	cairn_put_le32(h + H_VERSION, VERSION);
	cairn_put_le32(h + H_PAGE, PAGE);
	memcpy(h + H_REPO, repo_id, 16);
	int r = cairn_random(h + H_SALT, 16);
	if (r >= 0)
		r = derive_key(local_key, h + H_SALT, &w.gmac, 1);
	if (r >= 0 && (!(w.buf = malloc(WBUF)) || !(w.pack_entries = calloc(npacks ? npacks : 1, sizeof(uint64_t)))))
		r = cairn_error_nomem();
	if (r >= 0)
		r = cairn_write_all(w.fd, h, PAGE, tmp); /* rewritten at the end */
	while (r >= 0) {
		struct cairn_blob_ref e;
		int q = next(ud, &e);
		if (q <= 0) {
			r = q;
			break;
		}
		if (e.pack >= npacks)
			r = cairn_error_set(CAIRN_EINVAL, "index cache entry names an unknown pack");
		else
			r = add_entry(&w, &e);
	}
	if (r >= 0 && w.in_page)
		r = close_page(&w);
	if (r >= 0)
		r = flush_pages(&w);
	/* The trailer. */
	uint64_t tlen = (uint64_t)nobjects * 32 + (uint64_t)npacks * PACK_REC + w.npages * 8;
	_cleanup_free_ uint8_t *t = r >= 0 ? malloc(tlen ? tlen : 1) : NULL;
	if (r >= 0 && !t)
		r = cairn_error_nomem();
	if (r >= 0) {
		uint8_t *p = t;
		if (nobjects)
			memcpy(p, objects, nobjects * 32);
		p += nobjects * 32;
		for (size_t i = 0; i < npacks; i++, p += PACK_REC) {
			memcpy(p, packs[i].id, CAIRN_PACK_ID_LEN);
			cairn_put_le64(p + CAIRN_PACK_ID_LEN, (uint64_t)packs[i].condemned);
			cairn_put_le64(p + CAIRN_PACK_ID_LEN + 8, w.pack_entries[i]);
		}
		for (uint64_t i = 0; i < w.npages; i++, p += 8)
			for (int b = 0; b < 8; b++)
				p[b] = (uint8_t)(w.fences[i] >> (56 - 8 * b));
		r = cairn_write_all(w.fd, t, tlen, tmp);
	}
	if (r >= 0) {
		cairn_put_le64(h + H_COUNT, w.count);
		cairn_put_le64(h + H_NPAGES, w.npages);
		cairn_put_le32(h + H_NOBJECTS, (uint32_t)nobjects);
		cairn_put_le32(h + H_NPACKS, (uint32_t)npacks);
		cairn_put_le64(h + H_TRAILER_OFF, (w.npages + 1) * PAGE);
		cairn_put_le64(h + H_TRAILER_LEN, tlen);
		r = cairn_gmac_tag(w.gmac, NONCE_TRAILER, t, tlen, h + H_TRAILER_TAG);
	}
	if (r >= 0)
		r = cairn_gmac_tag(w.gmac, NONCE_HEADER, h, BODY, h + BODY);
	if (r >= 0)
		r = cairn_pwrite_all(w.fd, h, PAGE, 0, tmp);
	if (r >= 0 && fsync(w.fd) < 0)
		r = cairn_error_errno(errno, "sync %s", tmp);
	if (r >= 0 && rename(tmp, path) < 0)
		r = cairn_error_errno(errno, "rename %s", tmp);
	if (r >= 0)
		(void)cairn_fsync_parent(path);
	if (r < 0)
		(void)unlink(tmp);
	close(w.fd);
	cairn_gmac_free(w.gmac);
	free(w.buf);
	free(w.fences);
	free(w.pack_entries);
	return r;
}
