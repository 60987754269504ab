/* The volume reader (volread.h).
 *
 * The cache is a table of entries by chunk number, each QUEUED (waiting for
 * a worker), FETCHING, READY (data holds the verified plain chunk) or
 * FAILED (err and why say what went wrong; removed once nobody waits on
 * it).  Entries sit on one use list, most recent first; eviction takes the
 * least recently used READY entry nobody holds, preferring those read at
 * least once over read-ahead not yet consumed.
 *
 * Workers take QUEUED entries, chunks a reader waits for (the demand queue)
 * before read-ahead (the ahead queue), and merge with each the following
 * chunks stored next to it in the same pack into one ranged get of at
 * most RANGE_MAX bytes: chunks of a volume mostly sit in their packs in
 * volume order, so a read-ahead of 32 MiB is eight gets, not 512.  A
 * demand fetch also takes up to AROUND_MAX following chunks that nobody
 * asked for yet when they come in the same get: a random reader (a
 * booting VM) is likely to want them and they cost no extra round trip.
 */
#include "engine/volread.h"
#include "engine/engine.h"
#include "engine/packrange.h"
#include "repo/pack.h"
#include "repo/tree.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RANGE_MAX (4u << 20)
#define RANGE_GAP (64u << 10)
#define AROUND_MAX (512u << 10)
#define READAHEAD_MAX (32u << 20)
#define MAX_WORKERS 16

enum state { QUEUED, FETCHING, READY, FAILED };
enum queue { NONE, DEMAND, AHEAD };

struct entry {
	uint64_t chunk;
	enum state state;
	enum queue queue;
	unsigned pins;   /* readers waiting on or copying from it */
	bool unread;     /* fetched ahead and not read yet */
	int err;         /* FAILED: a negative errno */
	char *why;       /* FAILED: the message */
	uint8_t *data;   /* READY: the chunk's plain bytes */
	struct entry *hnext;              /* hash chain */
	struct entry *uprev, *unext;      /* use list */
	struct entry *qprev, *qnext;      /* its queue */
};

struct list {
	struct entry *head, *tail;
};

struct cairn_volread {
	struct cairn_repo *repo;
	struct cairn_index *idx;
	bool own_idx;
	char idhex[2 * CAIRN_BACKUP_ID_LEN + 1];
	uint64_t size, nchunks;
	uint32_t csize;
	uint8_t *ids; /* nchunks ids; zero: a chunk of zeros */

	pthread_mutex_t lock;
	pthread_cond_t work;  /* workers: something queued, or quit */
	pthread_cond_t done;  /* readers: an entry changed state or left */
	struct entry **table;
	size_t nbuckets, nentries, max_entries;
	struct entry *ufirst, *ulast; /* use list */
	struct list demand, ahead;
	unsigned ra_chunks, nthreads, started;
	bool quiet;
	pthread_t threads[MAX_WORKERS];
	bool quit;
	unsigned room_waiters; /* readers waiting for a free slot */
	uint64_t last_chunk; /* sequential detection: the chunk read last */
	uint64_t *plan;      /* chunks of the plan, ascending */
	size_t nplan;
	struct cairn_volread_stats st;
};

/* ---- the table, lists and queues (under lock) ---- */

static size_t bucket(const struct cairn_volread *v, uint64_t chunk)
{
	return (size_t)((chunk * 0x9E3779B97F4A7C15ull) >> 20) & (v->nbuckets - 1);
}

static struct entry *find(struct cairn_volread *v, uint64_t chunk)
{
	for (struct entry *e = v->table[bucket(v, chunk)]; e; e = e->hnext)
		if (e->chunk == chunk)
			return e;
	return NULL;
}

static void use_unlink(struct cairn_volread *v, struct entry *e)
{
	if (e->uprev)
		e->uprev->unext = e->unext;
	else
		v->ufirst = e->unext;
	if (e->unext)
		e->unext->uprev = e->uprev;
	else
		v->ulast = e->uprev;
	e->uprev = e->unext = NULL;
}

static void use_front(struct cairn_volread *v, struct entry *e)
{
	if (v->ufirst == e)
		return;
	if (e->uprev || e->unext || v->ulast == e)
		use_unlink(v, e);
	e->unext = v->ufirst;
	if (v->ufirst)
		v->ufirst->uprev = e;
	v->ufirst = e;
	if (!v->ulast)
		v->ulast = e;
}

static struct list *queue_of(struct cairn_volread *v, enum queue q)
{
	return q == DEMAND ? &v->demand : &v->ahead;
}

static void dequeue(struct cairn_volread *v, struct entry *e)
{
	if (e->queue == NONE)
		return;
	struct list *l = queue_of(v, e->queue);
	if (e->qprev)
		e->qprev->qnext = e->qnext;
	else
		l->head = e->qnext;
	if (e->qnext)
		e->qnext->qprev = e->qprev;
	else
		l->tail = e->qprev;
	e->qprev = e->qnext = NULL;
	e->queue = NONE;
}

static void enqueue(struct cairn_volread *v, struct entry *e, enum queue q)
{
	struct list *l = queue_of(v, q);
	e->queue = q;
	e->qnext = NULL;
	e->qprev = l->tail;
	if (l->tail)
		l->tail->qnext = e;
	else
		l->head = e;
	l->tail = e;
}

static void entry_remove(struct cairn_volread *v, struct entry *e)
{
	struct entry **pp = &v->table[bucket(v, e->chunk)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	dequeue(v, e);
	use_unlink(v, e);
	v->nentries--;
	free(e->data);
	free(e->why);
	free(e);
}

/* Makes room for one entry: a free slot, or the least recently used READY
 * entry nobody holds (read ones first; unread read-ahead only when
 * may_drop_unread).  false when there is none. */
static bool make_room(struct cairn_volread *v, bool may_drop_unread)
{
	if (v->nentries < v->max_entries)
		return true;
	struct entry *victim = NULL;
	for (struct entry *e = v->ulast; e; e = e->uprev) {
		if (e->state != READY || e->pins)
			continue;
		if (!e->unread) {
			victim = e;
			break;
		}
		if (may_drop_unread && !victim)
			victim = e;
	}
	if (!victim)
		return false;
	entry_remove(v, victim);
	return true;
}

static int start_workers(struct cairn_volread *v);

/* A new QUEUED entry for chunk on queue q; NULL on ENOMEM. */
static struct entry *entry_new(struct cairn_volread *v, uint64_t chunk, enum queue q)
{
	struct entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->chunk = chunk;
	e->state = QUEUED;
	size_t b = bucket(v, chunk);
	e->hnext = v->table[b];
	v->table[b] = e;
	v->nentries++;
	use_front(v, e);
	enqueue(v, e, q);
	pthread_cond_signal(&v->work);
	return e;
}

static bool is_zero(const struct cairn_volread *v, uint64_t chunk)
{
	return cairn_id_is_zero(v->ids + chunk * CAIRN_ID_LEN);
}

/* Queues chunk for read-ahead if it is neither there nor zeros and there
 * is room without dropping what was fetched ahead and not read yet. */
static void ahead_one(struct cairn_volread *v, uint64_t chunk)
{
	if (chunk >= v->nchunks || is_zero(v, chunk))
		return;
	struct entry *e = find(v, chunk);
	if (e)
		return;
	if (!make_room(v, false))
		return;
	if ((e = entry_new(v, chunk, AHEAD)))
		e->unread = true;
}

/* After a read of chunk: read-ahead along the plan when chunk is in it,
 * else along the volume when reads run sequentially. */
static void read_ahead(struct cairn_volread *v, uint64_t chunk)
{
	if (v->nplan) {
		size_t lo = 0, hi = v->nplan;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (v->plan[mid] < chunk)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < v->nplan && v->plan[lo] == chunk) {
			for (size_t k = lo + 1; k < v->nplan && k <= lo + v->ra_chunks; k++)
				ahead_one(v, v->plan[k]);
			return;
		}
	}
	bool sequential = chunk == v->last_chunk + 1 || chunk == v->last_chunk;
	v->last_chunk = chunk;
	if (!sequential)
		return;
	for (uint64_t k = chunk + 1; k < v->nchunks && k <= chunk + v->ra_chunks; k++)
		ahead_one(v, k);
}

/* ---- the workers ---- */

/* Everything one ranged get brings: entries (FETCHING, in pack order) and
 * their refs. */
struct batch {
	struct entry *e[RANGE_MAX / 4096];
	struct cairn_blob_ref ref[RANGE_MAX / 4096];
	size_t n;
	uint64_t start, end;
};

static int lookup(struct cairn_volread *v, uint64_t chunk, struct cairn_blob_ref *ref)
{
	const uint8_t *id = v->ids + chunk * CAIRN_ID_LEN;
	if (cairn_index_lookup(v->idx, id, ref) < 0) {
		char hex[2 * CAIRN_ID_LEN + 1];
		cairn_hex_encode(id, CAIRN_ID_LEN, hex);
		return cairn_error_set(CAIRN_ENOTFOUND, "chunk %llu (blob %.16s) of backup %.12s is missing from the repository",
				       (unsigned long long)chunk, hex, v->idhex);
	}
	uint32_t want = (uint32_t)MIN((uint64_t)v->csize, v->size - chunk * v->csize);
	if (ref->raw_len != want || ref->type != CAIRN_BLOB_CHUNK)
		return cairn_error_set(CAIRN_ECORRUPT, "chunk %llu of backup %.12s has a wrong length or type in the index",
				       (unsigned long long)chunk, v->idhex);
	return 0;
}

/* Takes the first queued entry and the ones that can share its get (under
 * lock).  The first's lookup failing fails it alone. */
static int take_batch(struct cairn_volread *v, struct batch *b)
{
	struct list *l = v->demand.head ? &v->demand : &v->ahead;
	struct entry *e = l->head;
	bool demand = l == &v->demand;
	dequeue(v, e);
	e->state = FETCHING;
	b->n = 1;
	b->e[0] = e;
	int r = lookup(v, e->chunk, &b->ref[0]);
	if (r < 0)
		return r;
	b->start = b->ref[0].offset;
	b->end = b->start + b->ref[0].stored_len;
	uint64_t around = 0;
	size_t cap = sizeof(b->e) / sizeof(b->e[0]);
	for (uint64_t c = e->chunk + 1; c < v->nchunks && b->n < cap; c++) {
		if (is_zero(v, c))
			break;
		struct entry *n = find(v, c);
		bool fresh = false;
		if (n && n->state != QUEUED)
			break;
		if (!n) {
			/* Nobody asked for it: only around a demand fetch, and
			 * not when a plan says what will be read (restore-file
			 * of a small file would fetch 8 chunks for one). */
			if (!demand || v->nplan || around + v->csize > AROUND_MAX || v->nentries >= v->max_entries)
				break;
			fresh = true;
		}
		struct cairn_blob_ref ref;
		if (lookup(v, c, &ref) < 0)
			break; /* its own fetch reports it */
		if (ref.pack != b->ref[0].pack || ref.offset < b->end || ref.offset > b->end + RANGE_GAP ||
		    ref.offset + ref.stored_len - b->start > RANGE_MAX)
			break;
		if (fresh) {
			if (!(n = entry_new(v, c, AHEAD)))
				break;
			n->unread = true;
			around += v->csize;
		}
		dequeue(v, n);
		n->state = FETCHING;
		b->e[b->n] = n;
		b->ref[b->n++] = ref;
		b->end = ref.offset + ref.stored_len;
	}
	return 0;
}

static int errno_of(int r)
{
	switch (r) {
	case CAIRN_ENOMEM:
		return -ENOMEM;
	case CAIRN_ECANCELED:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

/* Marks the batch's entries [from, to) done (r >= 0) or failed (under lock). */
static void finish(struct cairn_volread *v, struct batch *b, size_t from, size_t to, int r)
{
	for (size_t i = from; i < to; i++) {
		struct entry *e = b->e[i];
		if (r >= 0) {
			e->state = READY;
			v->st.chunks_fetched++;
			continue;
		}
		e->state = FAILED;
		e->err = errno_of(r);
		e->why = strdup(cairn_error_message());
		if (!e->pins)
			entry_remove(v, e);
	}
	pthread_cond_broadcast(&v->done);
}

static void *worker_main(void *arg)
{
	struct cairn_volread *v = arg;
	struct cairn_blob_codec codec;
	struct cairn_buf buf = CAIRN_BUF_INIT;
	int cr = cairn_blob_codec_init(&codec, v->repo);
	_cleanup_free_ struct batch *b = malloc(sizeof(*b));
	if (!b && cr >= 0)
		cr = cairn_error_nomem();
	char why[512] = "";
	if (cr < 0)
		cairn_error_copy(why, sizeof(why));
	pthread_mutex_lock(&v->lock);
	for (;;) {
		while (!v->quit && !v->demand.head && !v->ahead.head)
			pthread_cond_wait(&v->work, &v->lock);
		if (v->quit)
			break;
		if (cr < 0) {
			/* This worker cannot open blobs: it fails what it takes
			 * (the reader says why) and leaves the rest to others. */
			struct list *l = v->demand.head ? &v->demand : &v->ahead;
			struct batch one = { .n = 1 };
			one.e[0] = l->head;
			dequeue(v, one.e[0]);
			cairn_error_set(cr, "%s", why);
			finish(v, &one, 0, 1, cr);
			break;
		}
		int r = take_batch(v, b);
		if (r < 0) {
			if (!v->quiet)
				cairn_log_warn("%s", cairn_error_message());
			finish(v, b, 0, b->n, r);
			continue;
		}
		pthread_mutex_unlock(&v->lock);
		r = cairn_pack_range_get(v->repo, v->idx, b->ref[0].pack, b->start, b->end, &buf);
		size_t ok = 0;
		for (; r >= 0 && ok < b->n; ok++) {
			struct entry *e = b->e[ok];
			if (!(e->data = malloc(v->csize))) {
				r = cairn_error_nomem();
				break;
			}
			r = cairn_blob_decode(&codec, &b->ref[ok], buf.data + (b->ref[ok].offset - b->start), e->data);
			if (r < 0) {
				r = cairn_error_prefix(r, "chunk %llu of backup %.12s", (unsigned long long)e->chunk,
						       v->idhex);
				break;
			}
		}
		if (r < 0 && !v->quiet)
			cairn_log_warn("%s", cairn_error_message());
		pthread_mutex_lock(&v->lock);
		if (ok || r >= 0) {
			v->st.bytes_fetched += buf.len;
			v->st.gets++;
		}
		/* Chunks opened before a damaged one are good. */
		finish(v, b, 0, ok, 0);
		finish(v, b, ok, b->n, r);
	}
	pthread_mutex_unlock(&v->lock);
	cairn_buf_free(&buf);
	cairn_blob_codec_free(&codec);
	return NULL;
}

static int start_workers(struct cairn_volread *v)
{
	while (v->started < v->nthreads) {
		if (pthread_create(&v->threads[v->started], NULL, worker_main, v) != 0)
			break;
		v->started++;
	}
	return v->started ? 0 : cairn_error_set(CAIRN_ENOMEM, "cannot start the reader's threads");
}

/* ---- reading ---- */

/* Copies [at, at + n) of chunk into out, fetching it if needed (under
 * lock; waits without it). */
static int read_chunk(struct cairn_volread *v, uint64_t chunk, size_t at, size_t n, uint8_t *out)
{
	if (is_zero(v, chunk)) {
		memset(out, 0, n);
		v->st.zero_chunks++;
		read_ahead(v, chunk);
		return 0;
	}
	int r = start_workers(v);
	if (r < 0)
		return errno_of(r);
	struct entry *e;
	for (;;) {
		e = find(v, chunk);
		if (e)
			break;
		if (make_room(v, true)) {
			if (!(e = entry_new(v, chunk, DEMAND)))
				return cairn_error_nomem(), -ENOMEM;
			break;
		}
		/* Every slot is being fetched or copied from: wait for one. */
		v->room_waiters++;
		pthread_cond_wait(&v->done, &v->lock);
		v->room_waiters--;
	}
	if (e->state == READY)
		v->st.cache_hits++;
	else if (e->queue == AHEAD) {
		dequeue(v, e);
		enqueue(v, e, DEMAND);
	}
	e->pins++;
	use_front(v, e);
	read_ahead(v, chunk);
	while (e->state == QUEUED || e->state == FETCHING)
		pthread_cond_wait(&v->done, &v->lock);
	e->pins--;
	if (!e->pins && v->room_waiters)
		pthread_cond_broadcast(&v->done);
	if (e->state == FAILED) {
		int err = e->err;
		cairn_error_set(err == -ENOMEM ? CAIRN_ENOMEM : CAIRN_EIO, "%s", e->why ? e->why : "read failed");
		if (!e->pins)
			entry_remove(v, e);
		return err;
	}
	e->unread = false;
	/* READY data never changes and is freed only by eviction, which skips
	 * pinned entries; the copy is short (one chunk) and done locked, which
	 * keeps this simple. */
	memcpy(out, e->data + at, n);
	return 0;
}

ssize_t cairn_volread_pread(struct cairn_volread *v, void *buf, size_t len, uint64_t off)
{
	if (off >= v->size || !len)
		return 0;
	len = (size_t)MIN((uint64_t)len, v->size - off);
	uint8_t *out = buf;
	uint64_t first = off / v->csize, last = (off + len - 1) / v->csize;
	pthread_mutex_lock(&v->lock);
	/* All chunks of a long read are asked for before waiting for the first,
	 * so they are fetched in parallel (as far as the cache allows). */
	for (uint64_t c = first + 1; c <= last; c++)
		ahead_one(v, c);
	size_t done = 0;
	int r = 0;
	for (uint64_t c = first; c <= last && r >= 0; c++) {
		uint64_t cstart = c * v->csize;
		size_t at = (size_t)(off + done - cstart);
		size_t n = (size_t)MIN((uint64_t)v->csize - at, (uint64_t)(len - done));
		if (cairn_cancel_requested) {
			r = -ECANCELED;
			cairn_error_set(CAIRN_ECANCELED, "interrupted");
			break;
		}
		r = read_chunk(v, c, at, n, out + done);
		if (r >= 0)
			done += n;
	}
	if (r >= 0)
		v->st.bytes_read += done;
	pthread_mutex_unlock(&v->lock);
	return r < 0 ? r : (ssize_t)done;
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int cairn_volread_plan(struct cairn_volread *v, const struct cairn_volread_range *ranges, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ranges[i].len || ranges[i].off >= v->size)
			continue;
		uint64_t end = MIN(ranges[i].off + ranges[i].len, v->size);
		count += (size_t)((end - 1) / v->csize - ranges[i].off / v->csize + 1);
	}
	uint64_t *plan = count ? malloc(count * sizeof(*plan)) : NULL;
	if (count && !plan)
		return cairn_error_nomem(), -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ranges[i].len || ranges[i].off >= v->size)
			continue;
		uint64_t end = MIN(ranges[i].off + ranges[i].len, v->size);
		for (uint64_t c = ranges[i].off / v->csize; c <= (end - 1) / v->csize; c++)
			if (!is_zero(v, c))
				plan[k++] = c;
	}
	/* Sorted and unique: ranges may share a chunk, or come unsorted. */
	qsort(plan, k, sizeof(*plan), by_u64);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (!u || plan[u - 1] != plan[i])
			plan[u++] = plan[i];
	pthread_mutex_lock(&v->lock);
	free(v->plan);
	v->plan = plan;
	v->nplan = u;
	int r = u ? start_workers(v) : 0;
	for (size_t i = 0; r >= 0 && i < u && i < v->ra_chunks; i++)
		ahead_one(v, plan[i]);
	pthread_mutex_unlock(&v->lock);
	return r < 0 ? errno_of(r) : 0;
}

/* ---- open, close ---- */

static int on_leaves(uint64_t first, uint64_t count, const uint8_t *ids, void *ud)
{
	struct cairn_volread *v = ud;
	if (ids)
		memcpy(v->ids + first * CAIRN_ID_LEN, ids, count * CAIRN_ID_LEN);
	return 0; /* holes stay zero ids */
}

int cairn_volread_open(struct cairn_repo *repo, struct cairn_index *idx, const char *state_dir,
		       const struct cairn_manifest *m, const struct cairn_volread_opts *o, struct cairn_volread **ret)
{
	if (m->chunk_size != repo->config.chunk_size || m->fanout != repo->config.tree_fanout || !m->chunk_size)
		return cairn_error_set(CAIRN_ECORRUPT, "backup %s has a chunk size or fanout the repository does not use",
				       m->idhex);
	struct cairn_volread *v = calloc(1, sizeof(*v));
	if (!v)
		return cairn_error_nomem();
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->work, NULL);
	pthread_cond_init(&v->done, NULL);
	v->repo = repo;
	v->size = m->size;
	v->csize = m->chunk_size;
	v->nchunks = (m->size + m->chunk_size - 1) / m->chunk_size;
	v->last_chunk = UINT64_MAX - 1;
	memcpy(v->idhex, m->idhex, sizeof(v->idhex));
	int r = 0;
	if (idx) {
		v->idx = idx;
	} else {
		v->own_idx = true;
		if ((r = cairn_index_new(&v->idx)) >= 0)
			r = cairn_index_load_cached(v->idx, repo, state_dir, NULL);
	}
	unsigned par = cairn_repo_parallelism(repo);
	v->nthreads = o && o->threads ? o->threads : MAX(4u, par);
	v->quiet = o && o->quiet;
	if (v->nthreads > MAX_WORKERS)
		v->nthreads = MAX_WORKERS;
	uint64_t ra_default = MIN((uint64_t)READAHEAD_MAX, (uint64_t)MAX(par, 4u) * (4u << 20));
	v->ra_chunks = o && o->readahead_chunks ? o->readahead_chunks : (unsigned)MAX(1, ra_default / v->csize);
	uint64_t cache = o && o->cache_bytes ? o->cache_bytes : CAIRN_VOLREAD_CACHE_DEFAULT;
	v->max_entries = (size_t)MAX(cache / v->csize, (uint64_t)4 + v->ra_chunks + v->nthreads);
	for (v->nbuckets = 64; v->nbuckets < 2 * v->max_entries; v->nbuckets *= 2)
		;
	if (r >= 0 && (!(v->table = calloc(v->nbuckets, sizeof(*v->table))) ||
		       !(v->ids = calloc(v->nchunks ? v->nchunks : 1, CAIRN_ID_LEN))))
		r = cairn_error_nomem();
	if (r >= 0 && v->nchunks) {
		struct cairn_blob_codec codec;
		if ((r = cairn_blob_codec_init(&codec, repo)) >= 0) {
			struct cairn_tree_src src = { repo, v->idx, &codec, m->fanout };
			r = cairn_tree_walk(&src, m->root, m->levels, v->nchunks, on_leaves, v);
			cairn_blob_codec_free(&codec);
		}
		if (r < 0)
			r = cairn_error_prefix(r, "backup %.12s", m->idhex);
	}
	if (r < 0) {
		cairn_volread_close(v);
		return r;
	}
	*ret = v;
	return 0;
}

uint64_t cairn_volread_size(const struct cairn_volread *v)
{
	return v->size;
}

void cairn_volread_stats(struct cairn_volread *v, struct cairn_volread_stats *ret)
{
	pthread_mutex_lock(&v->lock);
	*ret = v->st;
	pthread_mutex_unlock(&v->lock);
}

void cairn_volread_close(struct cairn_volread *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&v->lock);
	v->quit = true;
	pthread_cond_broadcast(&v->work);
	pthread_mutex_unlock(&v->lock);
	for (unsigned i = 0; i < v->started; i++)
		pthread_join(v->threads[i], NULL);
	while (v->ufirst)
		entry_remove(v, v->ufirst);
	if (v->own_idx)
		cairn_index_free(v->idx);
	free(v->table);
	free(v->ids);
	free(v->plan);
	pthread_mutex_destroy(&v->lock);
	pthread_cond_destroy(&v->work);
	pthread_cond_destroy(&v->done);
	free(v);
}
