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
 *
 * The tree is read lazily: a chunk's id is found by walking from the root
 * (loaded at open) down the nodes on its path, each loaded on first need
 * by the thread that needs it (the lock dropped while it is fetched;
 * others needing it wait) and kept in a node cache of its own, bounded
 * and least recently used first.  So opening costs one node, a read of a
 * few chunks O(levels) nodes, and reading the whole volume each node
 * once: the cost follows the reads, not the volume.  Read-ahead looks ids
 * up without loading (peek) where it must not wait (a worker merging
 * neighbours) and loads the next leaf where the reader can (the window
 * ahead of a sequential reader or a plan: one node per fanout chunks).
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
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define RANGE_MAX (4u << 20)
/* As restore's: a gap this small costs less to read than a round trip. */
#define RANGE_GAP (256u << 10)
/* Zero chunks a get's merge looks past for the next chunk of the pack. */
#define HOLES_MAX 1024
#define AROUND_MAX (512u << 10)
/* Around a demand fetch when readers keep reading what was fetched around
 * earlier ones (a boot reading its small part of the disk over and over):
 * a whole get, so that part comes in few round trips.  Judged over the
 * last AROUND_WINDOW chunks fetched around; a quarter used is enough. */
#define AROUND_DENSE RANGE_MAX
#define AROUND_WINDOW 1024
#define READAHEAD_MAX (128u << 20)
#define MAX_WORKERS 16
/* Tree nodes kept: a 64th of the chunk cache (4 MiB of 8 KiB leaves at
 * the default: the ids of 8 GiB of volume at 64 KiB chunks), at least
 * what a read-ahead window and every thread's path need. */
#define NODE_CACHE_SHARE 64

enum state { QUEUED, FETCHING, READY, FAILED };
enum queue { NONE, DEMAND, AHEAD };

/* An intrusive doubly linked list (the use lists and the queues). */
struct link {
	struct link *prev, *next;
};
struct list {
	struct link *head, *tail;
};
#define OWNER(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct entry {
	uint64_t chunk;
	uint8_t id[CAIRN_ID_LEN];
	enum state state;
	enum queue queue;
	unsigned pins;   /* readers waiting on or copying from it */
	bool unread;     /* fetched ahead and not read yet */
	bool around;     /* fetched around a demand fetch, nobody asking */
	int err;         /* FAILED: a negative errno */
	char *why;       /* FAILED: the message */
	uint8_t *data;   /* READY: the chunk's plain bytes */
	struct entry *hnext; /* hash chain */
	struct link use;     /* use list */
	struct link q;       /* its queue */
};

/* A tree node of the volume's tree: LOADING (a thread fetches it), READY
 * (ids holds its count child ids, verified) or FAILED (kept while pinned,
 * like a failed entry). */
enum nstate { N_LOADING, N_READY, N_FAILED };
struct tnode {
	unsigned level;
	uint64_t k; /* its number in its level */
	enum nstate state;
	unsigned pins; /* threads waiting for it; the root holds one for good */
	uint32_t count;
	uint8_t *ids;
	int err;
	char *why;
	struct tnode *hnext;
	struct link use;
};

struct cairn_volread {
	struct cairn_repo *repo;
	struct cairn_index *idx;
	bool own_idx;
	char idhex[2 * CAIRN_BACKUP_ID_LEN + 1];
	uint64_t size, nchunks;
	uint32_t csize;
	/* the tree */
	uint8_t root[CAIRN_ID_LEN];
	unsigned levels;
	uint32_t fanout;
	uint64_t span[CAIRN_TREE_MAX_LEVELS + 1]; /* chunks under a node of a level */
	struct tnode **ntable;
	size_t nnbuckets, nnodes, max_nodes;
	struct list nuse; /* nodes, most recent first */

	pthread_mutex_t lock;
	pthread_cond_t work;  /* workers: something queued, or quit */
	pthread_cond_t done;  /* readers: an entry changed state or left */
	struct entry **table;
	size_t nbuckets, nentries, max_entries;
	struct list use; /* entries, most recent first */
	struct list demand, ahead;
	unsigned ra_chunks, nthreads, started;
	bool quiet;
	pthread_t threads[MAX_WORKERS];
	bool quit;
	unsigned room_waiters; /* readers waiting for a free slot */
	uint64_t last_chunk; /* sequential detection: the chunk read last */
	uint64_t seq_slack;  /* how far from it a read still counts as next */
	uint64_t ra_next;    /* the next chunk sequential read-ahead queues */
	size_t plan_next;    /* the next entry of the plan read-ahead queues */
	uint64_t *plan;      /* chunks of the plan, ascending */
	size_t nplan;
	unsigned plan_gen;   /* changes with the plan (read-ahead drops the lock) */
	unsigned around_fetched, around_used; /* chunks fetched around demand, of them read */
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

static bool linked(const struct list *l, const struct link *x)
{
	return x->prev || x->next || l->head == x;
}

static void list_unlink(struct list *l, struct link *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		l->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		l->tail = x->prev;
	x->prev = x->next = NULL;
}

static void list_push_front(struct list *l, struct link *x)
{
	x->prev = NULL;
	x->next = l->head;
	if (l->head)
		l->head->prev = x;
	else
		l->tail = x;
	l->head = x;
}

static void list_push_back(struct list *l, struct link *x)
{
	x->next = NULL;
	x->prev = l->tail;
	if (l->tail)
		l->tail->next = x;
	else
		l->head = x;
	l->tail = x;
}

/* Moves x to the front of l (adding it if it is not there). */
static void list_touch(struct list *l, struct link *x)
{
	if (l->head == x)
		return;
	if (linked(l, x))
		list_unlink(l, x);
	list_push_front(l, x);
}

static struct list *queue_of(struct cairn_volread *v, enum queue q)
{
	return q == DEMAND ? &v->demand : &v->ahead;
}

static void dequeue(struct cairn_volread *v, struct entry *e)
{
	if (e->queue == NONE)
		return;
	list_unlink(queue_of(v, e->queue), &e->q);
	e->queue = NONE;
}

static void enqueue(struct cairn_volread *v, struct entry *e, enum queue q)
{
	e->queue = q;
	list_push_back(queue_of(v, q), &e->q);
}

static struct entry *queue_head(struct list *l)
{
	return l->head ? OWNER(l->head, struct entry, q) : NULL;
}

static void entry_remove(struct cairn_volread *v, struct entry *e)
{
	struct entry **pp = &v->table[bucket(v, e->chunk)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	dequeue(v, e);
	list_unlink(&v->use, &e->use);
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
	for (struct link *l = v->use.tail; l; l = l->prev) {
		struct entry *e = OWNER(l, struct entry, use);
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

/* A new QUEUED entry for chunk (of id, not zeros) on queue q; NULL on
 * ENOMEM. */
static struct entry *entry_new(struct cairn_volread *v, uint64_t chunk, const uint8_t id[CAIRN_ID_LEN], enum queue q)
{
	struct entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->chunk = chunk;
	memcpy(e->id, id, CAIRN_ID_LEN);
	e->state = QUEUED;
	size_t b = bucket(v, chunk);
	e->hnext = v->table[b];
	v->table[b] = e;
	v->nentries++;
	list_push_front(&v->use, &e->use);
	enqueue(v, e, q);
	pthread_cond_signal(&v->work);
	return e;
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

/* ---- the tree's nodes (under lock) ---- */

static size_t nbucket(const struct cairn_volread *v, unsigned level, uint64_t k)
{
	return (size_t)(((k ^ ((uint64_t)level << 56)) * 0x9E3779B97F4A7C15ull) >> 20) & (v->nnbuckets - 1);
}

static struct tnode *node_find(struct cairn_volread *v, unsigned level, uint64_t k)
{
	for (struct tnode *n = v->ntable[nbucket(v, level, k)]; n; n = n->hnext)
		if (n->k == k && n->level == level)
			return n;
	return NULL;
}

static void node_remove(struct cairn_volread *v, struct tnode *n)
{
	struct tnode **pp = &v->ntable[nbucket(v, n->level, n->k)];
	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	list_unlink(&v->nuse, &n->use);
	v->nnodes--;
	free(n->ids);
	free(n->why);
	free(n);
}

/* Evicts least recently used nodes nobody holds down to max_nodes.  The
 * bound is soft: nodes being loaded are not evicted, so it is exceeded by
 * at most one node per thread loading. */
static void node_trim(struct cairn_volread *v)
{
	struct link *l = v->nuse.tail;
	while (v->nnodes > v->max_nodes && l) {
		struct tnode *n = OWNER(l, struct tnode, use);
		l = l->prev;
		if (n->state == N_READY && !n->pins)
			node_remove(v, n);
	}
}

/* The slot of chunk's path in its node at a level. */
static const uint8_t *node_child(const struct cairn_volread *v, const struct tnode *n, uint64_t chunk)
{
	return n->ids + ((chunk / v->span[n->level - 1]) % v->fanout) * CAIRN_ID_LEN;
}

/* Chunk's id if the nodes on its path are cached (zeros: a hole), without
 * loading anything: true, or false when a node is missing. */
static bool peek(struct cairn_volread *v, uint64_t chunk, uint8_t id[CAIRN_ID_LEN])
{
	struct tnode *leaf = node_find(v, 1, chunk / v->fanout);
	if (leaf && leaf->state == N_READY) {
		list_touch(&v->nuse, &leaf->use);
		memcpy(id, node_child(v, leaf, chunk), CAIRN_ID_LEN);
		return true;
	}
	const uint8_t *at = v->root;
	for (unsigned level = v->levels; level >= 1; level--) {
		if (cairn_id_is_zero(at))
			break;
		struct tnode *n = node_find(v, level, chunk / v->span[level]);
		if (!n || n->state != N_READY)
			return false;
		list_touch(&v->nuse, &n->use);
		at = node_child(v, n, chunk);
	}
	memcpy(id, at, CAIRN_ID_LEN);
	return true;
}

/* Fetches, verifies and parses node k of a level, named id by its parent
 * (without the lock). *ret_ids: its count child ids, malloc'd. */
static int node_fetch(struct cairn_volread *v, unsigned level, uint64_t k, const uint8_t id[CAIRN_ID_LEN],
		      uint8_t **ret_ids, uint32_t *ret_count, uint32_t *ret_stored)
{
	uint32_t want = cairn_tree_node_count(v->nchunks, v->fanout, level, k);
	if (!want)
		return cairn_error_set(CAIRN_ECORRUPT, "backup %.12s: its tree is deeper than the volume needs", v->idhex);
	struct cairn_blob_ref ref = { 0 };
	struct cairn_blob_codec codec;
	_cleanup_(cairn_buf_freep) struct cairn_buf buf = CAIRN_BUF_INIT;
	const uint8_t *ids;
	int r = cairn_blob_codec_init(&codec, v->repo);
	if (r < 0)
		return r;
	if (cairn_index_lookup(v->idx, id, &ref) >= 0 && ref.type != CAIRN_BLOB_TREE)
		r = cairn_error_set(CAIRN_ECORRUPT, "a tree node is a blob of another type in the index");
	if (r >= 0 && (r = cairn_blob_read(v->repo, v->idx, &codec, id, &buf)) >= 0)
		r = cairn_tree_node_parse(buf.data, buf.len, level, want, &ids);
	cairn_blob_codec_free(&codec);
	if (r < 0)
		return cairn_error_prefix(r, "backup %.12s: tree node %llu of level %u", v->idhex, (unsigned long long)k,
					  level);
	if (!(*ret_ids = malloc((size_t)want * CAIRN_ID_LEN)))
		return cairn_error_nomem();
	memcpy(*ret_ids, ids, (size_t)want * CAIRN_ID_LEN);
	*ret_count = want;
	*ret_stored = ref.stored_len;
	return 0;
}

/* Loads node k of a level, named id (copied: the parent holding it may be
 * evicted while the lock is dropped), into the cache: 0 or a CAIRN_E*
 * code (the node is then FAILED for the threads that waited for it). */
static int node_load(struct cairn_volread *v, unsigned level, uint64_t k, const uint8_t id[CAIRN_ID_LEN])
{
	struct tnode *n = calloc(1, sizeof(*n));
	if (!n)
		return cairn_error_nomem();
	n->level = level;
	n->k = k;
	n->state = N_LOADING;
	size_t b = nbucket(v, level, k);
	n->hnext = v->ntable[b];
	v->ntable[b] = n;
	v->nnodes++;
	list_push_front(&v->nuse, &n->use);
	node_trim(v);
	uint8_t named[CAIRN_ID_LEN];
	memcpy(named, id, CAIRN_ID_LEN);
	uint8_t *ids = NULL;
	uint32_t count = 0, stored = 0;
	pthread_mutex_unlock(&v->lock);
	int r = node_fetch(v, level, k, named, &ids, &count, &stored);
	pthread_mutex_lock(&v->lock);
	if (r >= 0) {
		n->ids = ids;
		n->count = count;
		n->state = N_READY;
		v->st.nodes_fetched++;
		v->st.node_bytes_fetched += stored;
	} else {
		n->state = N_FAILED;
		n->err = errno_of(r);
		n->why = strdup(cairn_error_message());
		if (!n->pins)
			node_remove(v, n);
	}
	pthread_cond_broadcast(&v->done);
	return r;
}

/* Chunk's id (zeros: a hole), loading the nodes on its path that are not
 * cached (under lock; it is dropped while a node is fetched): 0 or a
 * negative errno with the message set. */
static int resolve(struct cairn_volread *v, uint64_t chunk, uint8_t id[CAIRN_ID_LEN])
{
	while (!peek(v, chunk, id)) {
		/* The first node of the path that is not there: load it or
		 * wait for whoever does, then look again from the top. */
		const uint8_t *at = v->root;
		for (unsigned level = v->levels; level >= 1; level--) {
			uint64_t k = chunk / v->span[level];
			struct tnode *n = node_find(v, level, k);
			if (!n) {
				int r = node_load(v, level, k, at);
				if (r < 0)
					return errno_of(r);
				break;
			}
			if (n->state == N_READY) {
				at = node_child(v, n, chunk);
				if (cairn_id_is_zero(at))
					break; /* peek sees the hole now */
				continue;
			}
			n->pins++;
			while (n->state == N_LOADING)
				pthread_cond_wait(&v->done, &v->lock);
			n->pins--;
			if (n->state == N_FAILED) {
				int err = n->err;
				cairn_error_set(err == -ENOMEM ? CAIRN_ENOMEM : CAIRN_EIO, "%s",
						n->why ? n->why : "reading the tree failed");
				if (!n->pins)
					node_remove(v, n);
				return err;
			}
			break;
		}
	}
	return 0;
}

/* Queues chunk for read-ahead if it is neither there nor zeros and there
 * is room without dropping what was fetched ahead and not read yet.  Its
 * leaf is loaded if needed (the lock dropped meanwhile); false when that
 * fails, to stop a read-ahead window at damage instead of retrying it for
 * every chunk. */
static bool ahead_one(struct cairn_volread *v, uint64_t chunk)
{
	if (chunk >= v->nchunks || find(v, chunk))
		return true;
	uint8_t id[CAIRN_ID_LEN];
	if (!peek(v, chunk, id)) {
		if (resolve(v, chunk, id) < 0)
			return false;
		if (find(v, chunk))
			return true;
	}
	if (cairn_id_is_zero(id) || !make_room(v, false))
		return true;
	struct entry *e = entry_new(v, chunk, id, AHEAD);
	if (e)
		e->unread = true;
	return true;
}

/* After a read of chunks first..chunk: read-ahead along the plan when
 * chunk is in it, else along the volume when reads run sequentially (a
 * read starting where the last one ended, give or take seq_slack chunks:
 * the kernel's requests may come out of order).  The window is refilled
 * in one go once a quarter of it is consumed, so the workers find long
 * runs queued and fetch each with one get of up to RANGE_MAX. */
static void read_ahead(struct cairn_volread *v, uint64_t first, uint64_t chunk)
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
			if (v->plan_next <= lo || v->plan_next > lo + v->ra_chunks + 1)
				v->plan_next = lo + 1;
			if (v->plan_next <= lo + v->ra_chunks / 2) {
				size_t end = MIN(v->nplan, lo + 1 + v->ra_chunks);
				size_t from = v->plan_next;
				unsigned gen = v->plan_gen;
				v->plan_next = end;
				/* ahead_one may drop the lock: stop if the plan
				 * was replaced meanwhile. */
				for (size_t k = from; k < end; k++)
					if (!ahead_one(v, v->plan[k]) || gen != v->plan_gen)
						break;
			}
			return;
		}
	}
	uint64_t last = v->last_chunk;
	bool sequential = last != UINT64_MAX && first + v->seq_slack >= last && first <= last + v->seq_slack;
	v->last_chunk = chunk;
	if (!sequential)
		return;
	if (v->ra_next <= chunk || v->ra_next > chunk + v->ra_chunks + 1)
		v->ra_next = chunk + 1;
	if (v->ra_next <= chunk + v->ra_chunks / 4 * 3) {
		uint64_t end = MIN(v->nchunks, chunk + 1 + v->ra_chunks);
		uint64_t from = v->ra_next;
		v->ra_next = end;
		for (uint64_t k = from; k < end; k++)
			if (!ahead_one(v, k))
				break;
	}
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

static int lookup(struct cairn_volread *v, uint64_t chunk, const uint8_t id[CAIRN_ID_LEN], struct cairn_blob_ref *ref)
{
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
	struct entry *e = queue_head(l);
	bool demand = l == &v->demand;
	dequeue(v, e);
	e->state = FETCHING;
	b->n = 1;
	b->e[0] = e;
	int r = lookup(v, e->chunk, e->id, &b->ref[0]);
	if (r < 0)
		return r;
	b->start = b->ref[0].offset;
	b->end = b->start + b->ref[0].stored_len;
	uint64_t around = 0;
	uint64_t around_max = v->around_fetched >= 64 && v->around_used * 4 >= v->around_fetched ? AROUND_DENSE : AROUND_MAX;
	unsigned holes = 0;
	size_t cap = sizeof(b->e) / sizeof(b->e[0]);
	for (uint64_t c = e->chunk + 1; c < v->nchunks && b->n < cap; c++) {
		struct entry *n = find(v, c);
		bool fresh = false;
		uint8_t id[CAIRN_ID_LEN];
		if (n && n->state != QUEUED)
			break;
		if (n)
			memcpy(id, n->id, CAIRN_ID_LEN);
		else if (!peek(v, c, id))
			break; /* a worker does not wait for tree nodes */
		else if (cairn_id_is_zero(id)) {
			/* A hole is stored nowhere: the pack's next blob may
			 * well be the chunk after it (the benchmark image has
			 * 900 MiB of holes between its files; stopping here
			 * made a fifth more gets than restore's). */
			if (++holes > HOLES_MAX)
				break;
			continue;
		}
		if (!n) {
			/* Nobody asked for it: only around a demand fetch, and
			 * not when a plan says what will be read (restore-file
			 * of a small file would fetch 8 chunks for one). */
			if (!demand || v->nplan || around + v->csize > around_max || v->nentries >= v->max_entries)
				break;
			fresh = true;
		}
		struct cairn_blob_ref ref;
		if (lookup(v, c, id, &ref) < 0)
			break; /* its own fetch reports it */
		if (ref.pack != b->ref[0].pack || ref.offset < b->end || ref.offset > b->end + RANGE_GAP ||
		    ref.offset + ref.stored_len - b->start > RANGE_MAX)
			break;
		if (fresh) {
			if (!(n = entry_new(v, c, id, AHEAD)))
				break;
			n->unread = true;
			n->around = true;
			around += v->csize;
			if (++v->around_fetched > AROUND_WINDOW) {
				v->around_fetched /= 2;
				v->around_used /= 2;
			}
		}
		dequeue(v, n);
		n->state = FETCHING;
		b->e[b->n] = n;
		b->ref[b->n++] = ref;
		b->end = ref.offset + ref.stored_len;
	}
	return 0;
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
			one.e[0] = queue_head(l);
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
		size_t ok = 0, early = 0;
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
			if (ok == 0 && b->n > 1) {
				/* The first is the chunk a reader waits for (the
				 * queue's head): it goes before its neighbours are
				 * opened, up to 63 of them around a demand fetch. */
				pthread_mutex_lock(&v->lock);
				finish(v, b, 0, 1, 0);
				pthread_mutex_unlock(&v->lock);
				early = 1;
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
		finish(v, b, early, ok, 0);
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
 * lock; it is dropped while it waits and while it copies). */
static int read_chunk(struct cairn_volread *v, uint64_t chunk, size_t at, size_t n, uint8_t *out,
		      const uint64_t *ra)
{
	/* A chunk in the cache is not zeros; else its id says (looked up
	 * again if the entry is evicted while this waits for room). */
	uint8_t id[CAIRN_ID_LEN];
	bool have_id = false;
	int r = start_workers(v);
	if (r < 0)
		return errno_of(r);
	struct entry *e;
	for (;;) {
		e = find(v, chunk);
		if (e)
			break;
		if (!have_id) {
			if ((r = resolve(v, chunk, id)) < 0)
				return r;
			have_id = true;
			if (cairn_id_is_zero(id)) {
				v->st.zero_chunks++;
				if (ra)
					read_ahead(v, ra[0], ra[1]);
				pthread_mutex_unlock(&v->lock);
				memset(out, 0, n);
				pthread_mutex_lock(&v->lock);
				return 0;
			}
			continue; /* the lock may have been dropped */
		}
		if (make_room(v, true)) {
			if (!(e = entry_new(v, chunk, id, DEMAND)))
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
	list_touch(&v->use, &e->use);
	if (ra)
		read_ahead(v, ra[0], ra[1]);
	while (e->state == QUEUED || e->state == FETCHING)
		pthread_cond_wait(&v->done, &v->lock);
	if (e->state == FAILED) {
		e->pins--;
		if (!e->pins && v->room_waiters)
			pthread_cond_broadcast(&v->done);
		int err = e->err;
		cairn_error_set(err == -ENOMEM ? CAIRN_ENOMEM : CAIRN_EIO, "%s", e->why ? e->why : "read failed");
		if (!e->pins)
			entry_remove(v, e);
		return err;
	}
	if (e->unread && e->around)
		v->around_used++;
	e->unread = false;
	/* READY data never changes and is freed only by eviction, which skips
	 * pinned entries: the copy is made unlocked, under the pin.  Locked,
	 * the copies of a FUSE reader's many requests in flight (16 chunks
	 * each) took turns with each other and held up the workers handing
	 * over what they fetched. */
	pthread_mutex_unlock(&v->lock);
	memcpy(out, e->data + at, n);
	pthread_mutex_lock(&v->lock);
	e->pins--;
	if (!e->pins && v->room_waiters)
		pthread_cond_broadcast(&v->done);
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
	/* A sequential reader through the kernel (dd of a FUSE image, a loop
	 * device) has many long requests in flight, served by as many threads
	 * in any order: a read is "next" if it lies within a few requests'
	 * length of the last one.  Short reads (a VM's random reads) keep a
	 * short slack: a read landing near the last one by chance would start
	 * a read-ahead window of 128 MiB. */
	uint64_t n = last - first + 1;
	v->seq_slack = n < 4 ? 8 : MIN(8 + 16 * n, (uint64_t)v->ra_chunks);
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
		/* Read-ahead once per read, at its first chunk: judged by
		 * where the read starts against where the last one ended (a
		 * random read of two chunks is not a sequential reader). */
		uint64_t ra[2] = { first, last };
		r = read_chunk(v, c, at, n, out + done, c == first ? ra : NULL);
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
		/* Zero chunks stay in: their ids may not be loaded yet, and
		 * read-ahead skips them at no cost. */
		for (uint64_t c = ranges[i].off / v->csize; c <= (end - 1) / v->csize; c++)
			plan[k++] = c;
	}
	/* Sorted and unique: ranges may share a chunk, or come unsorted. */
	if (k)
		qsort(plan, k, sizeof(*plan), by_u64);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (!u || plan[u - 1] != plan[i])
			plan[u++] = plan[i];
	pthread_mutex_lock(&v->lock);
	free(v->plan);
	v->plan = plan;
	v->nplan = u;
	v->plan_next = MIN(u, (size_t)v->ra_chunks);
	unsigned gen = ++v->plan_gen;
	int r = u ? start_workers(v) : 0;
	for (size_t i = 0; r >= 0 && i < u && i < v->ra_chunks; i++)
		if (!ahead_one(v, v->plan[i]) || gen != v->plan_gen)
			break;
	pthread_mutex_unlock(&v->lock);
	return r < 0 ? errno_of(r) : 0;
}

/* ---- open, close ---- */

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
	v->last_chunk = UINT64_MAX;
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
	/* As restore: four per core (a worker waiting for the store leaves its
	 * core to one that decrypts), at least the store's parallelism. */
	v->nthreads = o && o->threads ? o->threads : MAX(4 * cairn_engine_threads(), par);
	v->quiet = o && o->quiet;
	if (v->nthreads > MAX_WORKERS)
		v->nthreads = MAX_WORKERS;
	/* Four gets of RANGE_MAX per worker, refilled at three quarters: a
	 * window counts volume bytes, and holes between the chunks (zeros are
	 * not fetched) and compression shrink what it holds to fetch; at two
	 * gets a worker, refilled at half, the workers of a whole-image read
	 * of the benchmark image waited for work. */
	uint64_t ra_default = MIN((uint64_t)READAHEAD_MAX, 4ull * v->nthreads * RANGE_MAX);
	v->ra_chunks = o && o->readahead_chunks ? o->readahead_chunks : (unsigned)MAX(1, ra_default / v->csize);
	uint64_t cache = o && o->cache_bytes ? o->cache_bytes : CAIRN_VOLREAD_CACHE_DEFAULT;
	v->max_entries = (size_t)MAX(cache / v->csize, (uint64_t)4 + v->ra_chunks + v->nthreads);
	for (v->nbuckets = 64; v->nbuckets < 2 * v->max_entries; v->nbuckets *= 2)
		;
	v->fanout = m->fanout;
	v->levels = m->levels;
	memcpy(v->root, m->root, CAIRN_ID_LEN);
	if (r >= 0 && m->levels != cairn_tree_levels(v->nchunks, m->fanout))
		r = cairn_error_set(CAIRN_ECORRUPT, "backup %.12s: its tree has %u levels, the volume needs %u", m->idhex,
				    m->levels, cairn_tree_levels(v->nchunks, m->fanout));
	v->span[0] = 1;
	for (unsigned l = 1; r >= 0 && l <= v->levels; l++)
		v->span[l] = v->span[l - 1] * v->fanout;
	/* Leaves for a read-ahead window (and one more) plus a path for every
	 * thread that may load at once. */
	uint64_t leaves = v->ra_chunks / v->fanout + 2;
	v->max_nodes = (size_t)MAX(cache / NODE_CACHE_SHARE / ((uint64_t)v->fanout * CAIRN_ID_LEN),
				   leaves + (uint64_t)v->levels * (v->nthreads + 2));
	for (v->nnbuckets = 64; v->nnbuckets < 2 * v->max_nodes; v->nnbuckets *= 2)
		;
	if (r >= 0 && (!(v->table = calloc(v->nbuckets, sizeof(*v->table))) ||
		       !(v->ntable = calloc(v->nnbuckets, sizeof(*v->ntable)))))
		r = cairn_error_nomem();
	/* The root, now (a backup whose tree cannot be read fails here, with
	 * a message), and for good. */
	if (r >= 0 && v->nchunks && !cairn_id_is_zero(v->root)) {
		pthread_mutex_lock(&v->lock);
		r = node_load(v, v->levels, 0, v->root);
		if (r >= 0)
			node_find(v, v->levels, 0)->pins++;
		pthread_mutex_unlock(&v->lock);
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
	while (v->use.head)
		entry_remove(v, OWNER(v->use.head, struct entry, use));
	while (v->nuse.head)
		node_remove(v, OWNER(v->nuse.head, struct tnode, use));
	if (v->own_idx)
		cairn_index_free(v->idx);
	free(v->table);
	free(v->ntable);
	free(v->plan);
	pthread_mutex_destroy(&v->lock);
	pthread_cond_destroy(&v->work);
	pthread_cond_destroy(&v->done);
	free(v);
}
