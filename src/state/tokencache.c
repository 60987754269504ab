/* API tokens held in memory, checked against the database's change
 * counter (tokencache.h). */
#include "state/tokencache.h"
#include "state/tokens.h"
#include "util/buf.h"
#include "util/error.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct cached_token {
	char hash[CAIRN_TOKEN_HASH_LEN + 1];
	bool read_only;
	int64_t last_used;
};

/* The WAL-index header (https://www.sqlite.org/walformat.html, 2.1):
 * the first 96 bytes of the shared memory every connection to a WAL
 * database maps, two copies of a 48-byte header that a writer rewrites on
 * every commit (its change counter, last frame and salts; the second copy
 * first, the first after a memory barrier).  Unchanged, nothing committed
 * since it was read: reading it is a memory compare, where PRAGMA
 * data_version is a read transaction (two fcntl locks and the VDBE),
 * which cost more than the whole /api/v1/status request otherwise. */
#define WAL_HDR_LEN 48

struct cairn_token_cache {
	pthread_mutex_t lock;
	struct cairn_state *st;
	sqlite3_stmt *version; /* PRAGMA data_version, prepared once */
	bool loaded;
	int64_t data_version; /* of the database when v was read */
	/* The WAL-index header read before the table was last checked
	 * (hdr_ok: it could be read, its two copies equal). */
	unsigned char hdr[WAL_HDR_LEN];
	bool hdr_ok;
	struct cached_token *v;
	size_t n;
};

int cairn_token_cache_new(struct cairn_state *st, struct cairn_token_cache **ret)
{
	struct cairn_token_cache *c = calloc(1, sizeof(*c));
	if (!c) {
		cairn_state_free(st);
		return cairn_error_nomem();
	}
	pthread_mutex_init(&c->lock, NULL);
	c->st = st;
	int rc = sqlite3_prepare_v3(cairn_state_db(st), "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
				    &c->version, NULL);
	if (rc != SQLITE_OK) {
		int r = cairn_state_sqlite_error(st, rc, "prepare PRAGMA data_version");
		cairn_token_cache_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void cairn_token_cache_free(struct cairn_token_cache *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->version);
	cairn_state_free(c->st);
	free(c->v);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The WAL-index header of the cache's connection: false when there is
 * none to read (not WAL, not mapped yet) or a writer is rewriting it. */
static bool wal_header(struct cairn_token_cache *c, unsigned char ret[WAL_HDR_LEN])
{
	sqlite3_file *f = NULL;
	void volatile *shm = NULL;
	if (sqlite3_file_control(cairn_state_db(c->st), "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f ||
	    !f->pMethods || f->pMethods->iVersion < 2 || !f->pMethods->xShmMap ||
	    f->pMethods->xShmMap(f, 0, 32768, 0, &shm) != SQLITE_OK || !shm)
		return false;
	/* The first copy, a barrier, the second: equal, they are one
	 * writer's whole header (SQLite's own readers check the same). */
	unsigned char second[WAL_HDR_LEN];
	memcpy(ret, (const void *)shm, WAL_HDR_LEN);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(second, (const unsigned char *)shm + WAL_HDR_LEN, WAL_HDR_LEN);
	return memcmp(ret, second, WAL_HDR_LEN) == 0;
}

static int data_version(struct cairn_token_cache *c, int64_t *ret)
{
	int rc = sqlite3_step(c->version);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(c->version, 0);
	sqlite3_reset(c->version);
	return rc == SQLITE_ROW ? 0 : cairn_state_sqlite_error(c->st, rc, "PRAGMA data_version");
}

/* Reads the table again.  The version is taken first: a change that
 * lands between the two reads is read now and read again next time, never
 * missed. */
static int load(struct cairn_token_cache *c, int64_t version)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(c->st, "SELECT hash, read_only, last_used FROM api_tokens", &s);
	if (r < 0)
		return r;
	struct cached_token *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(s, 0);
		if (!h || strlen(h) != CAIRN_TOKEN_HASH_LEN)
			continue;
		if (cairn_array_grow(&v, &cap, n, sizeof(*v), 8) < 0) {
			free(v);
			return cairn_error_nomem();
		}
		memcpy(v[n].hash, h, sizeof(v[n].hash));
		v[n].read_only = sqlite3_column_int(s, 1) != 0;
		v[n].last_used = sqlite3_column_int64(s, 2);
		n++;
	}
	if (rc != SQLITE_DONE) {
		free(v);
		return cairn_state_sqlite_error(c->st, rc, "read tokens");
	}
	free(c->v);
	c->v = v;
	c->n = n;
	c->data_version = version;
	c->loaded = true;
	return 0;
}

int cairn_token_cache_check(struct cairn_token_cache *c, const char *token, int64_t now, bool *ret_read_only)
{
	char hash[CAIRN_TOKEN_HASH_LEN + 1];
	int r = cairn_token_hash(token, hash);
	if (r < 0)
		return r;
	pthread_mutex_lock(&c->lock);
	/* The header is read first: a commit after it changes it, and is
	 * seen next time; one before it, data_version sees now. */
	unsigned char hdr[WAL_HDR_LEN] = { 0 };
	bool hdr_ok = wal_header(c, hdr);
	if (!c->loaded || !hdr_ok || !c->hdr_ok || memcmp(hdr, c->hdr, WAL_HDR_LEN) != 0) {
		int64_t version = 0;
		if ((r = data_version(c, &version)) >= 0 && (!c->loaded || version != c->data_version))
			r = load(c, version);
		memcpy(c->hdr, hdr, WAL_HDR_LEN);
		c->hdr_ok = r >= 0 && hdr_ok;
	}
	const struct cached_token *found = NULL;
	/* Every row compared, in constant time, as cairn_token_check does. */
	for (size_t i = 0; r >= 0 && i < c->n; i++)
		if (CRYPTO_memcmp(hash, c->v[i].hash, CAIRN_TOKEN_HASH_LEN) == 0 && !found)
			found = &c->v[i];
	if (r >= 0 && !found)
		r = cairn_error_set(CAIRN_EAUTH, "unknown or revoked token");
	else if (r >= 0 && now - found->last_used >= 60)
		r = 0; /* cairn_token_check records the use */
	else if (r >= 0) {
		*ret_read_only = found->read_only;
		r = 1;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}
