/* Change-tag cache (tagcache.h): sealed segments of the entries of chunks
 * with data, a sealed directory of them, and a sealed header naming the
 * directory; updated by appending what changed. */
#include "source/tagcache.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "CAIRNTC2"
#define ENTRY_LEN (4 + 16 + CAIRN_ID_LEN)
#define DIRENT_LEN (8 + 8 + 4 + 4 + 32)
#define BODY_LEN (16 + 16 + 8 + 4 + 4 + 8 + 4 + 4 + 32)
#define HEADER_USED (8 + 4 + BODY_LEN + CAIRN_AEAD_OVERHEAD)

_Static_assert(HEADER_USED <= CAIRN_TAGCACHE_HEADER_LEN, "the header fits its region");

/* The header's body. */
struct head {
	struct cairn_tagcache_key key;
	uint32_t span;
	uint64_t dir_off;
	uint32_t dir_len, nseg;
	uint8_t dir_hash[32];
};

/* A directory entry. */
struct seg {
	uint64_t k, off;
	uint32_t len, n;
	uint8_t hash[32];
};

static uint32_t span_for(const struct cairn_tagcache_key *k)
{
	uint64_t nchunks = k->chunk_size ? (k->size + k->chunk_size - 1) / k->chunk_size : 0;
	uint64_t span = (nchunks + CAIRN_TAGCACHE_SEGMENTS_MAX - 1) / CAIRN_TAGCACHE_SEGMENTS_MAX;
	return (uint32_t)MAX(span, (uint64_t)CAIRN_TAGCACHE_SPAN_MIN);
}

static uint64_t nchunks_of(const struct cairn_tagcache_key *k)
{
	return k->chunk_size ? (k->size + k->chunk_size - 1) / k->chunk_size : 0;
}

static void seg_aad(uint8_t aad[9], uint64_t k)
{
	aad[0] = 'S';
	cairn_put_le64(aad + 1, k);
}

static void seg_put(uint8_t *p, const struct seg *s)
{
	cairn_put_le64(p, s->k);
	cairn_put_le64(p + 8, s->off);
	cairn_put_le32(p + 16, s->len);
	cairn_put_le32(p + 20, s->n);
	memcpy(p + 24, s->hash, 32);
}

static void seg_get(const uint8_t *p, struct seg *s)
{
	s->k = cairn_le64(p);
	s->off = cairn_le64(p + 8);
	s->len = cairn_le32(p + 16);
	s->n = cairn_le32(p + 20);
	memcpy(s->hash, p + 24, 32);
}

static int mkdir_p(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		int r = mkdir(path, 0700);
		*p = '/';
		if (r < 0 && errno != EEXIST)
			return cairn_error_errno(errno, "create %s", path);
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return cairn_error_errno(errno, "create %s", path);
	return 0;
}

int cairn_tagcache_path(const char *state_dir, const uint8_t repo_id[16], const char *volume, char **ret)
{
	uint8_t h[32];
	char repo[33], vol[33];
	int r = cairn_sha256(volume, strlen(volume), h);
	if (r < 0)
		return r;
	cairn_hex_encode(repo_id, 16, repo);
	cairn_hex_encode(h, 16, vol);
	size_t n = strlen(state_dir) + 128;
	char *p = malloc(n);
	if (!p)
		return cairn_error_nomem();
	snprintf(p, n, "%s/cache/%s", state_dir, repo);
	if ((r = mkdir_p(p)) < 0) {
		free(p);
		return r;
	}
	snprintf(p, n, "%s/cache/%s/%s.tags", state_dir, repo, vol);
	*ret = p;
	return 0;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cairn_error_errno(errno, "read change-tag cache");
		if (n == 0)
			return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache is truncated");
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads and opens the header: CAIRN_ECORRUPT when it is not a version 2
 * header that opens (another version, torn, damaged, not ours). */
static int read_head(int fd, struct cairn_aead *a, struct head *h)
{
	uint8_t raw[HEADER_USED], body[BODY_LEN], aad[1 + 8];
	int r = pread_full(fd, raw, sizeof(raw), 0);
	if (r < 0)
		return r;
	if (memcmp(raw, MAGIC, 8) != 0 || cairn_le32(raw + 8) != BODY_LEN + CAIRN_AEAD_OVERHEAD)
		return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache has another version");
	aad[0] = 'H';
	memcpy(aad + 1, MAGIC, 8);
	if (cairn_aead_open(a, aad, sizeof(aad), raw + 12, BODY_LEN + CAIRN_AEAD_OVERHEAD, body) < 0)
		return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache header is damaged");
	memcpy(h->key.repo_id, body, 16);
	memcpy(h->key.backup_id, body + 16, 16);
	h->key.size = cairn_le64(body + 32);
	h->key.chunk_size = cairn_le32(body + 40);
	h->span = cairn_le32(body + 44);
	h->dir_off = cairn_le64(body + 48);
	h->dir_len = cairn_le32(body + 56);
	h->nseg = cairn_le32(body + 60);
	memcpy(h->dir_hash, body + 64, 32);
	if (h->span != span_for(&h->key) ||
	    (h->nseg ? h->dir_len != (uint64_t)h->nseg * DIRENT_LEN + CAIRN_AEAD_OVERHEAD : h->dir_len != 0))
		return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache header is inconsistent");
	return 0;
}

static int write_head(int fd, struct cairn_aead *a, const struct head *h, const char *path)
{
	uint8_t raw[HEADER_USED], body[BODY_LEN], aad[1 + 8];
	memcpy(body, h->key.repo_id, 16);
	memcpy(body + 16, h->key.backup_id, 16);
	cairn_put_le64(body + 32, h->key.size);
	cairn_put_le32(body + 40, h->key.chunk_size);
	cairn_put_le32(body + 44, h->span);
	cairn_put_le64(body + 48, h->dir_off);
	cairn_put_le32(body + 56, h->dir_len);
	cairn_put_le32(body + 60, h->nseg);
	memcpy(body + 64, h->dir_hash, 32);
	memcpy(raw, MAGIC, 8);
	cairn_put_le32(raw + 8, BODY_LEN + CAIRN_AEAD_OVERHEAD);
	aad[0] = 'H';
	memcpy(aad + 1, MAGIC, 8);
	int r = cairn_aead_seal(a, aad, sizeof(aad), body, sizeof(body), raw + 12);
	if (r < 0)
		return r;
	/* One write well inside the first sector: it lands whole, or it
	 * fails authentication and the cache is not used. */
	return cairn_pwrite_all(fd, raw, sizeof(raw), 0, path);
}

/* Reads, opens and checks the directory h names: *ret gets nseg entries. */
static int read_dir(int fd, struct cairn_aead *a, const struct head *h, struct seg **ret)
{
	*ret = NULL;
	if (!h->nseg)
		return 0;
	_cleanup_free_ uint8_t *sealed = malloc(h->dir_len), *plain = malloc(h->dir_len);
	_cleanup_free_ struct seg *v = calloc(h->nseg, sizeof(*v));
	if (!sealed || !plain || !v)
		return cairn_error_nomem();
	int r = pread_full(fd, sealed, h->dir_len, h->dir_off);
	if (r < 0)
		return r;
	uint8_t aad = 'D', hash[32];
	size_t plen = h->dir_len - CAIRN_AEAD_OVERHEAD;
	if (cairn_aead_open(a, &aad, 1, sealed, h->dir_len, plain) < 0 || cairn_sha256(plain, plen, hash) < 0 ||
	    memcmp(hash, h->dir_hash, 32) != 0)
		return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache directory is damaged");
	uint64_t nchunks = nchunks_of(&h->key);
	for (uint32_t i = 0; i < h->nseg; i++) {
		seg_get(plain + (size_t)i * DIRENT_LEN, &v[i]);
		if ((i && v[i].k <= v[i - 1].k) || v[i].k * h->span >= nchunks || v[i].n == 0 || v[i].n > h->span ||
		    v[i].len != (uint64_t)v[i].n * ENTRY_LEN + CAIRN_AEAD_OVERHEAD ||
		    v[i].off < CAIRN_TAGCACHE_HEADER_LEN)
			return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache directory is inconsistent");
	}
	*ret = TAKE_PTR(v);
	return 0;
}

/* Reads segment s into plain and checks it against its directory entry. */
static int read_seg(int fd, struct cairn_aead *a, uint32_t span, const struct seg *s, struct cairn_buf *sealed,
		    struct cairn_buf *plain)
{
	cairn_buf_clear(sealed);
	cairn_buf_clear(plain);
	int r = cairn_buf_reserve(sealed, s->len);
	if (r < 0 || (r = cairn_buf_reserve(plain, s->len)) < 0 || (r = pread_full(fd, sealed->data, s->len, s->off)) < 0)
		return r;
	uint8_t aad[9], hash[32];
	seg_aad(aad, s->k);
	size_t plen = s->len - CAIRN_AEAD_OVERHEAD;
	if (cairn_aead_open(a, aad, sizeof(aad), sealed->data, s->len, plain->data) < 0 ||
	    cairn_sha256(plain->data, plen, hash) < 0 || memcmp(hash, s->hash, 32) != 0)
		return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache is damaged");
	plain->len = plen;
	for (uint32_t i = 0; i < s->n; i++) {
		uint32_t at = cairn_le32(plain->data + (size_t)i * ENTRY_LEN);
		if (at >= span || (i && at <= cairn_le32(plain->data + (size_t)(i - 1) * ENTRY_LEN)))
			return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache segment is inconsistent");
	}
	return 0;
}

/* ---- reader ---- */

struct cairn_tagcache_reader {
	int fd;
	struct cairn_aead *aead;
	struct head h;
	struct seg *dir;
	uint32_t at_seg;        /* first directory entry not behind chunk */
	uint64_t chunk, nchunks; /* the next chunk; of the volume */
	uint64_t cur_k;          /* segment in plain (UINT64_MAX: none yet) */
	struct cairn_buf sealed, plain;
	size_t pos; /* next entry within plain */
};

void cairn_tagcache_reader_free(struct cairn_tagcache_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	cairn_aead_free(r->aead);
	free(r->dir);
	cairn_buf_free(&r->sealed);
	cairn_buf_free(&r->plain);
	free(r);
}

int cairn_tagcache_open(const char *path, const uint8_t local_key[CAIRN_KEY_LEN],
			const struct cairn_tagcache_key *want, struct cairn_tagcache_reader **ret)
{
	struct cairn_tagcache_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return cairn_error_nomem();
	r->cur_k = UINT64_MAX;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		cairn_tagcache_reader_free(r);
		return CAIRN_ENOTFOUND;
	}
	int rc = cairn_aead_new(local_key, &r->aead);
	if (rc < 0) {
		cairn_tagcache_reader_free(r);
		return rc;
	}
	/* Another backup's, another version, damaged or not ours: not usable. */
	if (read_head(r->fd, r->aead, &r->h) < 0 || memcmp(r->h.key.repo_id, want->repo_id, 16) != 0 ||
	    memcmp(r->h.key.backup_id, want->backup_id, 16) != 0 || r->h.key.size != want->size ||
	    r->h.key.chunk_size != want->chunk_size || read_dir(r->fd, r->aead, &r->h, &r->dir) < 0) {
		cairn_tagcache_reader_free(r);
		return CAIRN_ENOTFOUND;
	}
	r->nchunks = nchunks_of(&r->h.key);
	*ret = r;
	return 0;
}

int cairn_tagcache_next(struct cairn_tagcache_reader *r, struct cairn_tag_entry *ret)
{
	if (r->chunk >= r->nchunks)
		return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache read past the volume's end");
	uint64_t k = r->chunk / r->h.span;
	uint32_t at = (uint32_t)(r->chunk % r->h.span);
	if (k != r->cur_k) {
		while (r->at_seg < r->h.nseg && r->dir[r->at_seg].k < k)
			r->at_seg++;
		cairn_buf_clear(&r->plain);
		r->pos = 0;
		if (r->at_seg < r->h.nseg && r->dir[r->at_seg].k == k) {
			int rc = read_seg(r->fd, r->aead, r->h.span, &r->dir[r->at_seg], &r->sealed, &r->plain);
			if (rc < 0)
				return rc;
		}
		r->cur_k = k;
	}
	r->chunk++;
	/* Entries of chunks skipped over (cairn_tagcache_skip) are passed by. */
	while (r->pos < r->plain.len && cairn_le32(r->plain.data + r->pos) < at)
		r->pos += ENTRY_LEN;
	if (r->pos < r->plain.len && cairn_le32(r->plain.data + r->pos) == at) {
		const uint8_t *e = r->plain.data + r->pos;
		memcpy(ret->tag, e + 4, 16);
		memcpy(ret->id, e + 20, CAIRN_ID_LEN);
		r->pos += ENTRY_LEN;
	} else {
		/* No data there: a zero chunk's tag and id are zero. */
		memset(ret, 0, sizeof(*ret));
	}
	return 0;
}

int cairn_tagcache_skip(struct cairn_tagcache_reader *r, uint64_t n)
{
	if (n > r->nchunks - r->chunk)
		return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache read past the volume's end");
	r->chunk += n; /* next() loads the segment and passes entries by */
	return 0;
}

/* ---- writer ---- */

struct cairn_tagcache_writer {
	int fd;
	int locked_fd; /* compacted: the file replaced, locked until the rename */
	char *path;
	char *tmp;                 /* a new file being written; NULL: path updated in place */
	struct cairn_aead *aead;
	struct head h;             /* the new header */
	uint64_t nchunks;
	struct seg *old;           /* in place: the current directory */
	uint32_t nold, at_old;
	uint64_t old_end;          /* in place: the end of what the current header names */
	struct cairn_buf dir;      /* the new directory's plaintext */
	struct cairn_buf plain, sealed;
	uint64_t chunk, cur_k;
	uint64_t end;  /* where the next append goes */
	uint64_t live; /* sealed bytes of the segments the new directory names */
	bool distrust; /* reuse no segment of the current file from now on */
	bool committed;
};

void cairn_tagcache_writer_free(struct cairn_tagcache_writer *w)
{
	if (!w)
		return;
	if (!w->committed && w->tmp)
		unlink(w->tmp);
	else if (!w->committed && w->fd >= 0)
		(void)ftruncate(w->fd, (off_t)w->old_end); /* what we appended is garbage */
	if (w->fd >= 0)
		close(w->fd);
	if (w->locked_fd >= 0)
		close(w->locked_fd);
	free(w->path);
	free(w->tmp);
	free(w->old);
	cairn_aead_free(w->aead);
	cairn_buf_free(&w->dir);
	cairn_buf_free(&w->plain);
	cairn_buf_free(&w->sealed);
	free(w);
}

static int create_tmp(struct cairn_tagcache_writer *w)
{
	size_t n = strlen(w->path) + 16;
	w->tmp = malloc(n);
	if (!w->tmp)
		return cairn_error_nomem();
	snprintf(w->tmp, n, "%s.XXXXXX", w->path);
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		int r = cairn_error_errno(errno, "create %s", w->tmp);
		free(w->tmp);
		w->tmp = NULL;
		return r;
	}
	return 0;
}

/* Takes the file at path for an update in place if it is a version 2
 * cache of the same repository, volume size and chunk size, that no other
 * backup is updating, with a directory that opens.  Returns 1 if so. */
static int try_in_place(struct cairn_tagcache_writer *w)
{
	int fd = open(w->path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct head h;
	struct seg *old = NULL;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || read_head(fd, w->aead, &h) < 0 ||
	    memcmp(h.key.repo_id, w->h.key.repo_id, 16) != 0 || h.key.size != w->h.key.size ||
	    h.key.chunk_size != w->h.key.chunk_size || read_dir(fd, w->aead, &h, &old) < 0) {
		cairn_error_clear();
		close(fd);
		return 0;
	}
	uint64_t end = MAX((uint64_t)CAIRN_TAGCACHE_HEADER_LEN, h.dir_off + h.dir_len);
	for (uint32_t i = 0; i < h.nseg; i++)
		end = MAX(end, old[i].off + old[i].len);
	/* What a killed backup appended past that is garbage. */
	if (ftruncate(fd, (off_t)end) < 0) {
		free(old);
		close(fd);
		return 0;
	}
	w->fd = fd;
	w->old = old;
	w->nold = h.nseg;
	w->old_end = w->end = end;
	return 1;
}

int cairn_tagcache_create(const char *path, const uint8_t local_key[CAIRN_KEY_LEN],
			  const struct cairn_tagcache_key *key, struct cairn_tagcache_writer **ret)
{
	struct cairn_tagcache_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return cairn_error_nomem();
	w->fd = w->locked_fd = -1;
	w->h.key = *key;
	w->h.span = span_for(key);
	w->nchunks = nchunks_of(key);
	w->cur_k = 0;
	w->path = strdup(path);
	int r = w->path ? cairn_aead_new(local_key, &w->aead) : cairn_error_nomem();
	if (r >= 0 && !try_in_place(w)) {
		r = create_tmp(w);
		w->end = CAIRN_TAGCACHE_HEADER_LEN;
	}
	if (r < 0) {
		cairn_tagcache_writer_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

/* Ends segment cur_k: reuses the current file's copy if its entries are
 * the same, else seals and appends it. */
static int flush_seg(struct cairn_tagcache_writer *w)
{
	if (!w->plain.len)
		return 0;
	struct seg s = { .k = w->cur_k, .n = (uint32_t)(w->plain.len / ENTRY_LEN) };
	int r = cairn_sha256(w->plain.data, w->plain.len, s.hash);
	if (r < 0)
		return r;
	while (w->at_old < w->nold && w->old[w->at_old].k < s.k)
		w->at_old++;
	const struct seg *o = w->at_old < w->nold ? &w->old[w->at_old] : NULL;
	if (o && !w->distrust && o->k == s.k && o->n == s.n && memcmp(o->hash, s.hash, 32) == 0) {
		s.off = o->off;
		s.len = o->len;
	} else {
		uint8_t aad[9];
		seg_aad(aad, s.k);
		s.len = (uint32_t)(w->plain.len + CAIRN_AEAD_OVERHEAD);
		cairn_buf_clear(&w->sealed);
		if ((r = cairn_buf_reserve(&w->sealed, s.len)) < 0 ||
		    (r = cairn_aead_seal(w->aead, aad, sizeof(aad), w->plain.data, w->plain.len, w->sealed.data)) < 0 ||
		    (r = cairn_pwrite_all(w->fd, w->sealed.data, s.len, w->end, w->tmp ? w->tmp : w->path)) < 0)
			return r;
		s.off = w->end;
		w->end += s.len;
	}
	uint8_t d[DIRENT_LEN];
	seg_put(d, &s);
	if ((r = cairn_buf_append(&w->dir, d, sizeof(d))) < 0)
		return r;
	w->live += s.len;
	cairn_buf_clear(&w->plain);
	return 0;
}

void cairn_tagcache_distrust(struct cairn_tagcache_writer *w)
{
	w->distrust = true;
}

int cairn_tagcache_append(struct cairn_tagcache_writer *w, const struct cairn_tag_entry *e)
{
	if (w->chunk >= w->nchunks)
		return cairn_error_set(CAIRN_EINVAL, "change-tag cache written past the volume's end");
	uint64_t k = w->chunk / w->h.span;
	int r;
	if (k != w->cur_k) {
		if ((r = flush_seg(w)) < 0)
			return r;
		w->cur_k = k;
	}
	uint32_t at = (uint32_t)(w->chunk++ % w->h.span);
	static const uint8_t zero[CAIRN_ID_LEN];
	if (memcmp(e->id, zero, CAIRN_ID_LEN) == 0)
		return 0; /* a zero chunk: the reader's default */
	uint8_t b[ENTRY_LEN];
	cairn_put_le32(b, at);
	memcpy(b + 4, e->tag, 16);
	memcpy(b + 20, e->id, CAIRN_ID_LEN);
	return cairn_buf_append(&w->plain, b, sizeof(b));
}

int cairn_tagcache_append_zeros(struct cairn_tagcache_writer *w, uint64_t n)
{
	if (n > w->nchunks - w->chunk)
		return cairn_error_set(CAIRN_EINVAL, "change-tag cache written past the volume's end");
	if (!n)
		return 0;
	/* Zero chunks have no entry: only the segment the run ends in matters,
	 * and the segments it covers whole are left empty (not written). */
	uint64_t k = (w->chunk + n - 1) / w->h.span;
	if (k != w->cur_k) {
		int r = flush_seg(w);
		if (r < 0)
			return r;
		w->cur_k = k;
	}
	w->chunk += n;
	return 0;
}

/* Moves the live segments into a new file (w->tmp), dropping the garbage
 * earlier updates left; their sealed bytes are copied as they are. */
static int compact(struct cairn_tagcache_writer *w)
{
	int from = w->fd;
	w->fd = -1;
	int r = create_tmp(w);
	if (r < 0) {
		w->fd = from;
		return r;
	}
	/* Keeps the lock: no other backup updates the old file meanwhile. */
	w->locked_fd = from;
	w->end = CAIRN_TAGCACHE_HEADER_LEN;
	size_t nseg = w->dir.len / DIRENT_LEN;
	for (size_t i = 0; i < nseg && r >= 0; i++) {
		struct seg s;
		seg_get(w->dir.data + i * DIRENT_LEN, &s);
		cairn_buf_clear(&w->sealed);
		if ((r = cairn_buf_reserve(&w->sealed, s.len)) < 0 ||
		    (r = pread_full(from, w->sealed.data, s.len, s.off)) < 0 ||
		    (r = cairn_pwrite_all(w->fd, w->sealed.data, s.len, w->end, w->tmp)) < 0)
			break;
		s.off = w->end;
		w->end += s.len;
		seg_put(w->dir.data + i * DIRENT_LEN, &s);
	}
	return r;
}

int cairn_tagcache_commit(struct cairn_tagcache_writer *w)
{
	int r = flush_seg(w);
	if (r < 0)
		return r;
	w->h.nseg = (uint32_t)(w->dir.len / DIRENT_LEN);
	w->h.dir_len = w->h.nseg ? (uint32_t)(w->dir.len + CAIRN_AEAD_OVERHEAD) : 0;
	/* Garbage past half the live size: rewrite.  Amortized, each update
	 * writes O(what changed). */
	uint64_t live = CAIRN_TAGCACHE_HEADER_LEN + w->live + w->h.dir_len;
	if (!w->tmp && w->end + w->h.dir_len > live + live / 2 + 65536 && (r = compact(w)) < 0)
		return r;
	const char *name = w->tmp ? w->tmp : w->path;
	if (w->h.nseg) {
		uint8_t aad = 'D';
		if ((r = cairn_sha256(w->dir.data, w->dir.len, w->h.dir_hash)) < 0)
			return r;
		cairn_buf_clear(&w->sealed);
		if ((r = cairn_buf_reserve(&w->sealed, w->h.dir_len)) < 0 ||
		    (r = cairn_aead_seal(w->aead, &aad, 1, w->dir.data, w->dir.len, w->sealed.data)) < 0 ||
		    (r = cairn_pwrite_all(w->fd, w->sealed.data, w->h.dir_len, w->end, name)) < 0)
			return r;
	} else {
		memset(w->h.dir_hash, 0, sizeof(w->h.dir_hash));
	}
	w->h.dir_off = w->end;
	/* In place, the header is the commit: everything it names is durable
	 * before it is written. */
	if (!w->tmp && fdatasync(w->fd) < 0)
		return cairn_error_errno(errno, "sync %s", name);
	if ((r = write_head(w->fd, w->aead, &w->h, name)) < 0)
		return r;
	if (fdatasync(w->fd) < 0)
		return cairn_error_errno(errno, "sync %s", name);
	if (w->tmp && rename(w->tmp, w->path) < 0)
		return cairn_error_errno(errno, "rename %s", w->tmp);
	w->committed = true;
	return 0;
}
