/* Change-tag cache (tagcache.h): sealed blocks streamed in chunk order. */
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
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "CAIRNTC1"
#define ENTRY_LEN (16 + CAIRN_ID_LEN)

static void make_header(uint8_t h[CAIRN_TAGCACHE_HEADER_LEN], const struct cairn_tagcache_key *k)
{
	memcpy(h, MAGIC, 8);
	memcpy(h + 8, k->repo_id, 16);
	memcpy(h + 24, k->backup_id, 16);
	cairn_put_le64(h + 40, k->size);
	cairn_put_le32(h + 48, k->chunk_size);
	cairn_put_le32(h + 52, 0);
}

static void block_aad(uint8_t aad[1 + CAIRN_TAGCACHE_HEADER_LEN + 8], const uint8_t *header, uint64_t block)
{
	aad[0] = 'L';
	memcpy(aad + 1, header, CAIRN_TAGCACHE_HEADER_LEN);
	cairn_put_le64(aad + 1 + CAIRN_TAGCACHE_HEADER_LEN, block);
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

struct cairn_tagcache_reader {
	int fd;
	uint8_t header[CAIRN_TAGCACHE_HEADER_LEN];
	struct cairn_aead *aead;
	struct cairn_buf sealed, plain;
	size_t pos; /* next entry within plain */
	uint64_t block;
};

void cairn_tagcache_reader_free(struct cairn_tagcache_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	cairn_aead_free(r->aead);
	cairn_buf_free(&r->sealed);
	cairn_buf_free(&r->plain);
	free(r);
}

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cairn_error_errno(errno, "read change-tag cache");
		if (n == 0)
			return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache is truncated");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cairn_tagcache_open(const char *path, const uint8_t local_key[CAIRN_KEY_LEN],
			const struct cairn_tagcache_key *want, struct cairn_tagcache_reader **ret)
{
	struct cairn_tagcache_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return cairn_error_nomem();
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		cairn_tagcache_reader_free(r);
		return CAIRN_ENOTFOUND;
	}
	uint8_t expect[CAIRN_TAGCACHE_HEADER_LEN];
	make_header(expect, want);
	int rc = read_full(r->fd, r->header, sizeof(r->header));
	if (rc < 0 || memcmp(r->header, expect, sizeof(expect)) != 0) {
		cairn_tagcache_reader_free(r);
		return CAIRN_ENOTFOUND; /* another backup's, or not ours: not usable */
	}
	if ((rc = cairn_aead_new(local_key, &r->aead)) < 0) {
		cairn_tagcache_reader_free(r);
		return rc;
	}
	(void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	*ret = r;
	return 0;
}

int cairn_tagcache_next(struct cairn_tagcache_reader *r, struct cairn_tag_entry *ret)
{
	if (r->pos + ENTRY_LEN > r->plain.len) {
		uint8_t len4[4], aad[1 + CAIRN_TAGCACHE_HEADER_LEN + 8];
		int rc = read_full(r->fd, len4, 4);
		if (rc < 0)
			return rc;
		uint32_t n = cairn_le32(len4);
		if (n < CAIRN_AEAD_OVERHEAD || n > CAIRN_AEAD_OVERHEAD + CAIRN_TAGCACHE_BLOCK * ENTRY_LEN)
			return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache has a bad block length");
		cairn_buf_clear(&r->sealed);
		if ((rc = cairn_buf_reserve(&r->sealed, n)) < 0 || (rc = read_full(r->fd, r->sealed.data, n)) < 0)
			return rc;
		block_aad(aad, r->header, r->block++);
		cairn_buf_clear(&r->plain);
		if ((rc = cairn_buf_reserve(&r->plain, n)) < 0)
			return rc;
		if (cairn_aead_open(r->aead, aad, sizeof(aad), r->sealed.data, n, r->plain.data) < 0)
			return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache is damaged");
		r->plain.len = n - CAIRN_AEAD_OVERHEAD;
		r->pos = 0;
		if (r->plain.len % ENTRY_LEN || r->plain.len == 0)
			return cairn_error_set(CAIRN_ECORRUPT, "change-tag cache block has a bad size");
	}
	memcpy(ret->tag, r->plain.data + r->pos, 16);
	memcpy(ret->id, r->plain.data + r->pos + 16, CAIRN_ID_LEN);
	r->pos += ENTRY_LEN;
	return 0;
}

struct cairn_tagcache_writer {
	int fd;
	char *path, *tmp;
	uint8_t header[CAIRN_TAGCACHE_HEADER_LEN];
	struct cairn_aead *aead;
	struct cairn_buf plain, sealed;
	uint64_t block;
	bool committed;
};

void cairn_tagcache_writer_free(struct cairn_tagcache_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (!w->committed && w->tmp)
		unlink(w->tmp);
	free(w->path);
	free(w->tmp);
	cairn_aead_free(w->aead);
	cairn_buf_free(&w->plain);
	cairn_buf_free(&w->sealed);
	free(w);
}

int cairn_tagcache_create(const char *path, const uint8_t local_key[CAIRN_KEY_LEN],
			  const struct cairn_tagcache_key *key, struct cairn_tagcache_writer **ret)
{
	struct cairn_tagcache_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return cairn_error_nomem();
	w->fd = -1;
	size_t n = strlen(path) + 16;
	w->path = strdup(path);
	w->tmp = malloc(n);
	int r = 0;
	if (!w->path || !w->tmp)
		r = cairn_error_nomem();
	if (r >= 0) {
		snprintf(w->tmp, n, "%s.XXXXXX", path);
		w->fd = mkostemp(w->tmp, O_CLOEXEC);
		if (w->fd < 0) {
			r = cairn_error_errno(errno, "create %s", w->tmp);
			free(w->tmp);
			w->tmp = NULL;
		}
	}
	if (r >= 0)
		r = cairn_aead_new(local_key, &w->aead);
	if (r >= 0) {
		make_header(w->header, key);
		r = cairn_write_all(w->fd, w->header, sizeof(w->header), w->tmp);
	}
	if (r < 0) {
		cairn_tagcache_writer_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

static int flush_block(struct cairn_tagcache_writer *w)
{
	if (!w->plain.len)
		return 0;
	uint8_t aad[1 + CAIRN_TAGCACHE_HEADER_LEN + 8], len4[4];
	block_aad(aad, w->header, w->block++);
	cairn_buf_clear(&w->sealed);
	int r = cairn_buf_reserve(&w->sealed, w->plain.len + CAIRN_AEAD_OVERHEAD);
	if (r < 0)
		return r;
	if ((r = cairn_aead_seal(w->aead, aad, sizeof(aad), w->plain.data, w->plain.len, w->sealed.data)) < 0)
		return r;
	uint32_t n = (uint32_t)(w->plain.len + CAIRN_AEAD_OVERHEAD);
	cairn_put_le32(len4, n);
	if ((r = cairn_write_all(w->fd, len4, 4, w->tmp)) < 0 ||
	    (r = cairn_write_all(w->fd, w->sealed.data, n, w->tmp)) < 0)
		return r;
	cairn_buf_clear(&w->plain);
	return 0;
}

int cairn_tagcache_append(struct cairn_tagcache_writer *w, const struct cairn_tag_entry *e)
{
	int r = cairn_buf_append(&w->plain, e->tag, 16);
	if (r >= 0)
		r = cairn_buf_append(&w->plain, e->id, CAIRN_ID_LEN);
	if (r >= 0 && w->plain.len >= (size_t)CAIRN_TAGCACHE_BLOCK * ENTRY_LEN)
		r = flush_block(w);
	return r;
}

int cairn_tagcache_commit(struct cairn_tagcache_writer *w)
{
	int r = flush_block(w);
	if (r >= 0 && fsync(w->fd) < 0)
		r = cairn_error_errno(errno, "sync %s", w->tmp);
	if (r >= 0 && rename(w->tmp, w->path) < 0)
		r = cairn_error_errno(errno, "rename %s", w->tmp);
	if (r >= 0)
		w->committed = true;
	return r;
}
