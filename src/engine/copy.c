/* Copies of backups between repositories (copy.h). */
#include "engine/copy.h"
#include "repo/catnode.h"
#include "repo/group.h"
#include "repo/hold.h"
#include "repo/index.h"
#include "repo/lease.h"
#include "repo/objects.h"
#include "repo/pack.h"
#include "repo/tree.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/parallel.h"
#include "util/time.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Ranges of one source pack closer than this are read in one request. */
#define COALESCE_GAP (256u << 10)
#define COALESCE_SPAN (16u << 20)
/* Blobs in one destination pack at most (as backup's PACK_MAX_BLOBS). */
#define PACK_MAX_BLOBS 65536

/* What to copy: a backup, or a group backup with its members. */
struct item {
	int64_t created_us;
	struct cairn_manifest *m;       /* borrowed from the source list; NULL for a group */
	struct cairn_group_backup *g;   /* borrowed */
};

struct copier {
	struct cairn_repo *src, *dst;
	const struct cairn_copy_opts *o;
	struct cairn_copy_stats *st;
	bool family;
	struct cairn_index *sidx, *didx;
	/* Blobs this run has planned (dry run) or sent, by id, with the
	 * source pack in its own table: what a later backup of the same run
	 * finds without asking the destination. */
	struct cairn_index *planned;
	/* Blobs the source index has in each of its packs, by slot (counted
	 * at the first send): what tells a pack wanted whole. */
	uint32_t *spack_n;
	size_t nspacks;
	/* Tree nodes whose subtree this run has seen complete at the
	 * destination (adopted packs' nodes are not trusted before). */
	struct cairn_index *done;
	uint32_t adopted_lo, adopted_hi; /* slots of packs adopted as orphans */
	/* Unrelated repositories: the destination's id of each source catalog
	 * node this run rebuilt (offset: its slot in catids), so that a later
	 * backup of the run reads only the subtrees that changed. */
	struct cairn_index *catmap;
	struct cairn_buf catids;
	struct cairn_blob_codec scodec, dcodec;
	/* The current backup's blobs to send (same family): source refs,
	 * pack slots of planned. */
	struct cairn_blob_ref *todo;
	size_t ntodo, todo_cap;
	/* The open destination pack. */
	struct cairn_pack_writer pw;
	bool pack_open;
	uint32_t pack_slot;
	struct cairn_buf node, plain, sealed, span;
	/* Sending threads share the open pack, the counts and progress. */
	pthread_mutex_t lock;
	uint64_t progress_done, progress_total;
	uint64_t raw_sent; /* plaintext bytes of the chunks sent (or planned) */
	double last_progress;
};

static void progress(struct copier *c, bool force)
{
	if (!c->o->progress)
		return;
	double now = cairn_now();
	if (!force && now - c->last_progress < 0.1)
		return;
	c->last_progress = now;
	c->o->progress(c->progress_done, c->progress_total, c->o->progress_ud);
}

static int in_set(struct cairn_index *idx, const uint8_t id[CAIRN_ID_LEN])
{
	return cairn_index_lookup(idx, id, NULL) == 0;
}

static int set_add(struct cairn_index *idx, const struct cairn_blob_ref *ref)
{
	int r = cairn_index_insert(idx, ref);
	return r < 0 ? r : 0;
}

/* ---- destination packs ---- */

static int pack_flush(struct copier *c)
{
	if (!c->pack_open)
		return 0;
	c->pack_open = false;
	int r = cairn_pack_writer_finish(&c->pw, c->dcodec.aead);
	if (r < 0)
		return r;
	r = cairn_object_put(c->dst, CAIRN_OBJ_PACK, c->pw.id, c->pw.data.data, c->pw.data.len, CAIRN_PUT_CREATE_ONLY);
	if (r < 0)
		return r;
	c->st->bytes_sent += c->pw.data.len;
	return 0;
}

/* Appends a sealed blob (verified by the caller) to the open pack and
 * indexes it at the destination. */
static int pack_add(struct copier *c, struct cairn_blob_ref *ref, const uint8_t *sealed)
{
	int r;
	if (!c->pack_open) {
		if ((r = cairn_pack_writer_begin(&c->pw)) < 0 ||
		    (r = cairn_index_add_pack(c->didx, c->pw.id, true, &c->pack_slot)) < 0)
			return r;
		c->pack_open = true;
	}
	ref->pack = c->pack_slot;
	if ((r = cairn_pack_writer_add(&c->pw, ref, sealed)) < 0 || (r = cairn_index_insert(c->didx, ref)) < 0)
		return r;
	c->st->blobs_sent++;
	if (c->family) {
		c->progress_done += ref->stored_len;
		progress(c, false);
	}
	if (c->pw.data.len >= c->dst->config.pack_size || c->pw.n >= PACK_MAX_BLOBS)
		return pack_flush(c);
	return 0;
}

/* ---- same key family: collect what the destination lacks ---- */

static int todo_add(struct copier *c, const struct cairn_blob_ref *sref)
{
	struct cairn_blob_ref ref = *sref;
	int r = cairn_index_add_pack(c->planned, cairn_index_pack_id(c->sidx, sref->pack), false, &ref.pack);
	if (r < 0 || (r = set_add(c->planned, &ref)) < 0)
		return r;
	if (cairn_array_grow(&c->todo, &c->todo_cap, c->ntodo, sizeof(*c->todo), 256) < 0)
		return cairn_error_nomem();
	c->todo[c->ntodo++] = ref;
	c->progress_total += ref.stored_len;
	return 0;
}

/* Reads node id (level) from the source, unless pre holds it already:
 * its child ids in c->node (or pre). */
static int read_node(struct copier *c, const uint8_t id[CAIRN_ID_LEN], unsigned level, const struct cairn_buf *pre,
		     const uint8_t **ret_ids, uint32_t *ret_n)
{
	int r;
	if (!pre || !pre->len) {
		if ((r = cairn_blob_read(c->src, c->sidx, &c->scodec, id, &c->node)) < 0)
			return cairn_error_prefix(r, "source");
		pre = &c->node;
	}
	if (pre->len < CAIRN_NODE_HEADER_LEN)
		return cairn_error_set(CAIRN_ECORRUPT, "source: tree node too short");
	uint32_t n = cairn_le32(pre->data + 4);
	if ((r = cairn_tree_node_parse(pre->data, pre->len, level, n, ret_ids)) < 0)
		return cairn_error_prefix(r, "source");
	*ret_n = n;
	return 0;
}

/* The children of one node that are nodes themselves, read from the
 * source at once: a walk reads one node per 16 MiB of data (at 64 KiB
 * chunks), each a request, which one at a time added seconds to a first
 * copy of a few GiB. */
struct kids_read {
	struct copier *c;
	const uint8_t *ids;
	struct cairn_buf *bufs; /* bufs[i].len 0: not read (collect reads it if it needs it) */
};

static int read_kid(void *ud, unsigned i)
{
	struct kids_read *k = ud;
	struct copier *c = k->c;
	const uint8_t *id = k->ids + (size_t)i * CAIRN_ID_LEN;
	/* What collect would skip without reading (as far as is known now). */
	struct cairn_blob_ref dref;
	if (cairn_id_is_zero(id) || in_set(c->planned, id) || in_set(c->done, id) ||
	    (cairn_index_lookup(c->didx, id, &dref) == 0 && (dref.pack < c->adopted_lo || dref.pack >= c->adopted_hi)) ||
	    cairn_index_lookup(c->sidx, id, NULL) < 0)
		return 0;
	if (cairn_cancel_check())
		return CAIRN_ECANCELED;
	struct cairn_blob_codec codec;
	int r = cairn_blob_codec_init(&codec, c->src);
	if (r < 0)
		return r;
	r = cairn_blob_read(c->src, c->sidx, &codec, id, &k->bufs[i]);
	cairn_blob_codec_free(&codec);
	if (r < 0 && r != CAIRN_ECANCELED) {
		/* collect reads it again if it still needs it, and says why it
		 * cannot: a sibling may have made this read unneeded. */
		cairn_buf_clear(&k->bufs[i]);
		cairn_error_clear();
		r = 0;
	}
	return r;
}

/* Remembers that the subtree of node id is complete at the destination. */
static int mark_done(struct copier *c, const uint8_t id[CAIRN_ID_LEN], enum cairn_blob_type type)
{
	struct cairn_blob_ref mark = { .type = (uint8_t)type };
	memcpy(mark.id, id, CAIRN_ID_LEN);
	return set_add(c->done, &mark);
}

/* Collects the blobs of the subtree id (at level) the destination lacks.
 * A node the destination has in an indexed pack stands for its whole
 * subtree: index objects are written after every blob below the nodes
 * they list (here and in backups).  One in a pack adopted from an
 * interrupted copy does not: its children are checked. */
static int collect(struct copier *c, const uint8_t id[CAIRN_ID_LEN], unsigned level, const struct cairn_buf *pre)
{
	if (cairn_id_is_zero(id) || in_set(c->planned, id) || (level > 0 && in_set(c->done, id)))
		return 0;
	if (cairn_cancel_check())
		return CAIRN_ECANCELED;
	struct cairn_blob_ref dref, sref;
	bool have = cairn_index_lookup(c->didx, id, &dref) == 0;
	if (have && (level == 0 || dref.pack < c->adopted_lo || dref.pack >= c->adopted_hi))
		return 0;
	if (!have && cairn_index_lookup(c->sidx, id, &sref) < 0) {
		char hex[2 * CAIRN_ID_LEN + 1];
		cairn_hex_encode(id, CAIRN_ID_LEN, hex);
		return cairn_error_set(CAIRN_ECORRUPT, "source: blob %.16s is missing from the index", hex);
	}
	int r;
	if (level > 0) {
		const uint8_t *ids = NULL;
		uint32_t n = 0;
		if ((r = read_node(c, id, level, pre, &ids, &n)) < 0)
			return r;
		/* c->node is reused below: keep the ids. */
		_cleanup_free_ uint8_t *kids = malloc((size_t)n * CAIRN_ID_LEN + 1);
		if (!kids)
			return cairn_error_nomem();
		memcpy(kids, ids, (size_t)n * CAIRN_ID_LEN);
		struct cairn_buf *bufs = NULL;
		if (level > 1 && n > 1) {
			if (!(bufs = calloc(n, sizeof(*bufs))))
				return cairn_error_nomem();
			struct kids_read k = { c, kids, bufs };
			r = cairn_parallel(n, MAX(1u, MIN(cairn_repo_parallelism(c->src), 8u)), read_kid, &k);
		}
		for (uint32_t i = 0; r >= 0 && i < n; i++)
			r = collect(c, kids + (size_t)i * CAIRN_ID_LEN, level - 1, bufs ? &bufs[i] : NULL);
		for (uint32_t i = 0; bufs && i < n; i++)
			cairn_buf_free(&bufs[i]);
		free(bufs);
		if (r < 0)
			return r;
		if ((r = mark_done(c, id, CAIRN_BLOB_TREE)) < 0)
			return r;
	}
	return have ? 0 : todo_add(c, &sref);
}

/* Collects the catalog nodes below id (format.h CATALOG) the destination
 * lacks.  Catalog nodes have content ids like tree nodes, and backups and
 * copies index them after the nodes below them: one the destination has in
 * an indexed pack stands for its subtree (an unchanged directory), one in a
 * pack adopted from an interrupted copy does not. */
static int collect_catalog(struct copier *c, const uint8_t id[CAIRN_ID_LEN])
{
	if (cairn_id_is_zero(id) || in_set(c->planned, id) || in_set(c->done, id))
		return 0;
	if (cairn_cancel_check())
		return CAIRN_ECANCELED;
	struct cairn_blob_ref dref, sref;
	bool have = cairn_index_lookup(c->didx, id, &dref) == 0;
	if (have && (dref.pack < c->adopted_lo || dref.pack >= c->adopted_hi))
		return 0;
	char hex[2 * CAIRN_ID_LEN + 1];
	cairn_hex_encode(id, CAIRN_ID_LEN, hex);
	if (!have && cairn_index_lookup(c->sidx, id, &sref) < 0)
		return cairn_error_set(CAIRN_ECORRUPT, "source: catalog node %.16s is missing from the index", hex);
	if (!have && sref.type != CAIRN_BLOB_CATALOG)
		return cairn_error_set(CAIRN_ECORRUPT, "source: blob %.16s is not a catalog node", hex);
	int r = cairn_blob_read(c->src, c->sidx, &c->scodec, id, &c->node);
	if (r < 0)
		return cairn_error_prefix(r, "source");
	_cleanup_free_ uint8_t *kids = NULL;
	size_t n = 0;
	if ((r = cairn_catalog_node_children(c->node.data, c->node.len, &kids, &n)) < 0)
		return cairn_error_prefix(r, "source: catalog node %.16s", hex);
	for (size_t i = 0; i < n; i++)
		if ((r = collect_catalog(c, kids + i * CAIRN_ID_LEN)) < 0)
			return r;
	if ((r = mark_done(c, id, CAIRN_BLOB_CATALOG)) < 0)
		return r;
	return have ? 0 : todo_add(c, &sref);
}

static int by_pack_offset(const void *a, const void *b)
{
	const struct cairn_blob_ref *x = a, *y = b;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* One thread's part of sending: its own contexts and buffers. */
struct sender {
	struct copier *c;
	struct cairn_blob_codec codec; /* the destination's keys (the family's) */
	struct cairn_buf span, plain;
};

static void sender_free(struct sender *w)
{
	cairn_blob_codec_free(&w->codec);
	cairn_buf_free(&w->span);
	cairn_buf_free(&w->plain);
}

static void count(struct copier *c, uint64_t blobs, uint64_t bytes, uint64_t done)
{
	pthread_mutex_lock(&c->lock);
	c->st->blobs_sent += blobs;
	c->st->bytes_sent += bytes;
	c->progress_done += done;
	progress(c, false);
	pthread_mutex_unlock(&c->lock);
}

/* Appends a verified sealed blob to the shared open pack; the thread that
 * fills the pack seals its TOC and uploads it, outside the lock. */
static int pack_add_shared(struct sender *w, struct cairn_blob_ref *ref, const uint8_t *sealed)
{
	struct copier *c = w->c;
	struct cairn_pack_writer full = { 0 };
	bool flush = false;
	int r = 0;
	pthread_mutex_lock(&c->lock);
	if (!c->pack_open) {
		if ((r = cairn_pack_writer_begin(&c->pw)) < 0 ||
		    (r = cairn_index_add_pack(c->didx, c->pw.id, true, &c->pack_slot)) < 0)
			goto out;
		c->pack_open = true;
	}
	ref->pack = c->pack_slot;
	if ((r = cairn_pack_writer_add(&c->pw, ref, sealed)) < 0 || (r = cairn_index_insert(c->didx, ref)) < 0)
		goto out;
	c->st->blobs_sent++;
	c->progress_done += ref->stored_len;
	progress(c, false);
	if (c->pw.data.len >= c->dst->config.pack_size || c->pw.n >= PACK_MAX_BLOBS) {
		full = c->pw;
		memset(&c->pw, 0, sizeof(c->pw));
		c->pack_open = false;
		flush = true;
	}
out:
	pthread_mutex_unlock(&c->lock);
	if (r >= 0 && flush) {
		r = cairn_pack_writer_finish(&full, w->codec.aead);
		if (r >= 0)
			r = cairn_object_put(c->dst, CAIRN_OBJ_PACK, full.id, full.data.data, full.data.len,
					     CAIRN_PUT_CREATE_ONLY);
		if (r >= 0)
			count(c, 0, full.data.len, 0);
	}
	cairn_pack_writer_free(&full);
	return r;
}

static bool same_entry(const struct cairn_blob_ref *x, const struct cairn_blob_ref *y)
{
	return memcmp(x->id, y->id, CAIRN_ID_LEN) == 0 && x->offset == y->offset && x->stored_len == y->stored_len &&
	       x->raw_len == y->raw_len && x->type == y->type && x->flags == y->flags;
}

/* Whether a pack's TOC lists exactly the blobs refs[0, n) (sorted by
 * offset, as a pack writer lays them out). */
static bool toc_is(const struct cairn_toc_entry *toc, size_t nt, const struct cairn_blob_ref *refs, size_t n)
{
	if (nt != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!same_entry(&toc[i].ref, &refs[i]))
			return false;
	return true;
}

/* Whether every blob of refs[0, n) is in the TOC where refs say. */
static bool toc_has(const struct cairn_toc_entry *toc, size_t nt, const struct cairn_blob_ref *refs, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		while (j < nt && toc[j].ref.offset < refs[i].offset)
			j++;
		if (j == nt || !same_entry(&toc[j].ref, &refs[i]))
			return false;
	}
	return true;
}

/* The size a pack holding exactly refs[0, n) has, when they tile it from
 * its start (as a pack writer lays them out), else 0: then the pack holds
 * bytes the index does not account for, and is not sent whole. */
static uint64_t whole_size(const struct cairn_blob_ref *refs, size_t n)
{
	uint64_t end = 0;
	for (size_t i = 0; i < n; i++) {
		if (refs[i].offset != end)
			return 0;
		end += refs[i].stored_len;
	}
	return end + cairn_pack_tail_len(n);
}

/* A whole source pack whose every blob is wanted (refs[0, n): the
 * source index's entries of that pack, which tile it up to a TOC of n
 * entries: size bytes in all), copied under its own name (its TOC is
 * sealed with the pack id, which it keeps).  Returns 1, with nothing
 * written, when the pack turns out to hold more than refs.
 *
 * On the server side where the stores can: one request on S3 (the size
 * is the index's, and an existing copy of a pack is the same bytes: no
 * HEAD at either end), then the TOC read back from the destination at
 * that size (one more) is compared with the index entries (the blobs
 * themselves are the source's bytes; their tags are checked on restore
 * and by check --read-data).  A pack that the index does not describe
 * whole (a blob in it lost to a duplicate elsewhere) has its TOC
 * elsewhere: it is read by the pack's real size and must list every blob
 * of refs where the index says.  Otherwise (no server-side copy) the pack
 * is read once, its TOC compared in memory, and every blob opened and its
 * id recomputed as the pack passes through. */
static int copy_whole(struct sender *w, const uint8_t pack_id[CAIRN_PACK_ID_LEN], const struct cairn_blob_ref *refs,
		      size_t n, uint64_t size)
{
	struct copier *c = w->c;
	_cleanup_free_ struct cairn_toc_entry *toc = NULL;
	size_t nt = 0;
	uint64_t sent = 0;
	int r = cairn_object_copy(c->dst, c->src, CAIRN_OBJ_PACK, pack_id, size, 0);
	if (r == 0) {
		r = cairn_pack_read_toc_sized(c->dst, w->codec.aead, pack_id, size, cairn_pack_tail_len(n), &toc, &nt);
		bool same = r >= 0 && toc_is(toc, nt, refs, n);
		if (!same && (r >= 0 || r == CAIRN_ECORRUPT || r == CAIRN_EINVAL)) {
			cairn_error_clear();
			free(toc);
			toc = NULL;
			r = cairn_pack_read_toc(c->dst, w->codec.aead, pack_id, &toc, &nt, NULL);
			same = r >= 0 && toc_has(toc, nt, refs, n);
		}
		if (r < 0)
			return cairn_error_prefix(r, "destination, after a server-side copy");
		if (!same)
			return cairn_error_set(CAIRN_ECORRUPT, "destination: a pack copied on the server side differs "
							       "from its source");
		pthread_mutex_lock(&c->lock);
		c->st->packs_server_side++;
		pthread_mutex_unlock(&c->lock);
	} else if (r == CAIRN_EUNSUPPORTED) {
		cairn_error_clear();
		if ((r = cairn_object_get_range(c->src, CAIRN_OBJ_PACK, pack_id, 0, CAIRN_STORE_TO_END, &w->span)) < 0)
			return cairn_error_prefix(r, "source");
		uint64_t need = 0;
		if (w->span.len != size ||
		    cairn_pack_open_tail(w->codec.aead, pack_id, w->span.data, w->span.len, size, &toc, &nt, &need) < 0 ||
		    need || !toc_is(toc, nt, refs, n)) {
			cairn_error_clear();
			return 1; /* more than the index says: re-assembled instead */
		}
		for (size_t i = 0; i < n; i++) {
			if ((r = cairn_buf_reserve(&w->plain, refs[i].raw_len + 1)) < 0 ||
			    (r = cairn_blob_decode(&w->codec, &refs[i], w->span.data + refs[i].offset,
						   w->plain.data)) < 0)
				return cairn_error_prefix(r, "source");
		}
		r = cairn_object_put(c->dst, CAIRN_OBJ_PACK, pack_id, w->span.data, w->span.len, CAIRN_PUT_CREATE_ONLY);
		if (r < 0)
			return r;
		sent = size;
	} else {
		return r;
	}
	uint32_t slot;
	uint64_t done = 0;
	if ((r = cairn_index_add_pack(c->didx, pack_id, true, &slot)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct cairn_blob_ref ref = refs[i];
		ref.pack = slot;
		if ((r = cairn_index_insert(c->didx, &ref)) < 0)
			return r;
		done += ref.stored_len;
	}
	count(c, n, sent, done);
	pthread_mutex_lock(&c->lock);
	c->st->packs_whole++;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* Sends the blobs todo[lo, hi) of one source pack, re-assembled into
 * destination packs: read by coalesced ranges, each opened once with the
 * shared key to verify its id, then appended sealed as it was. */
static int send_some(struct sender *w, const uint8_t pid[CAIRN_PACK_ID_LEN], size_t lo, size_t hi)
{
	struct copier *c = w->c;
	int r;
	for (size_t i = lo; i < hi;) {
		size_t j = i + 1;
		uint64_t start = c->todo[i].offset, end = start + c->todo[i].stored_len;
		while (j < hi && c->todo[j].offset >= end && c->todo[j].offset - end <= COALESCE_GAP &&
		       c->todo[j].offset + c->todo[j].stored_len - start <= COALESCE_SPAN) {
			end = c->todo[j].offset + c->todo[j].stored_len;
			j++;
		}
		if ((r = cairn_object_get_range(c->src, CAIRN_OBJ_PACK, pid, start, end - start, &w->span)) < 0)
			return cairn_error_prefix(r, "source");
		if (w->span.len != end - start)
			return cairn_error_set(CAIRN_ECORRUPT, "source: a pack is truncated");
		for (size_t k = i; k < j; k++) {
			struct cairn_blob_ref ref = c->todo[k];
			const uint8_t *sealed = w->span.data + (ref.offset - start);
			if ((r = cairn_buf_reserve(&w->plain, ref.raw_len + 1)) < 0 ||
			    (r = cairn_blob_decode(&w->codec, &ref, sealed, w->plain.data)) < 0)
				return cairn_error_prefix(r, "source");
			if ((r = pack_add_shared(w, &ref, sealed)) < 0)
				return r;
		}
		i = j;
	}
	return 0;
}

/* The blobs of one source pack: [lo, hi) of todo; whole: they are all
 * the source index has in that pack. */
struct group {
	size_t lo, hi;
	uint64_t bytes;
	bool whole;
};

struct send_job {
	struct copier *c;
	struct group *g;
};

static int send_group(void *ud, unsigned gi)
{
	struct send_job *sj = ud;
	struct copier *c = sj->c;
	const struct group *g = &sj->g[gi];
	if (cairn_cancel_check())
		return CAIRN_ECANCELED;
	struct sender w = { .c = c };
	int r = cairn_blob_codec_init(&w.codec, c->dst);
	if (r < 0)
		return r;
	uint8_t pid[CAIRN_PACK_ID_LEN];
	memcpy(pid, cairn_index_pack_id(c->planned, c->todo[g->lo].pack), sizeof(pid));
	/* Wanted whole when the todo holds every blob the source index has in
	 * the pack and they tile it: told without a request.  A small pack
	 * (the last of a backup) is re-assembled with others' blobs instead,
	 * not to leave small packs at the destination. */
	r = 1;
	uint64_t size = g->whole && g->bytes >= c->src->config.pack_size / 2
				? whole_size(c->todo + g->lo, g->hi - g->lo)
				: 0;
	if (size)
		r = copy_whole(&w, pid, c->todo + g->lo, g->hi - g->lo, size);
	if (r > 0)
		r = send_some(&w, pid, g->lo, g->hi);
	sender_free(&w);
	return r;
}

static int count_source_packs(struct copier *c)
{
	c->nspacks = cairn_index_npacks(c->sidx);
	if (!(c->spack_n = calloc(c->nspacks ? c->nspacks : 1, sizeof(*c->spack_n))))
		return cairn_error_nomem();
	return cairn_index_count_by_pack(c->sidx, c->spack_n, c->nspacks);
}

/* Sends the current backup's todo: one part per source pack, on as many
 * threads as the stores serve well at once. */
static int send_todo(struct copier *c)
{
	if (!c->ntodo)
		return 0;
	qsort(c->todo, c->ntodo, sizeof(*c->todo), by_pack_offset);
	int r;
	if (!c->spack_n && (r = count_source_packs(c)) < 0)
		return r;
	cairn_engine_profile_startup("copy");
	struct group *g = NULL;
	size_t ng = 0, cap = 0;
	for (size_t i = 0; i < c->ntodo;) {
		size_t j = i;
		uint64_t bytes = 0;
		while (j < c->ntodo && c->todo[j].pack == c->todo[i].pack)
			bytes += c->todo[j++].stored_len;
		if (cairn_array_grow(&g, &cap, ng, sizeof(*g), 64) < 0) {
			free(g);
			return cairn_error_nomem();
		}
		uint32_t slot;
		bool whole = cairn_index_find_pack(c->sidx, cairn_index_pack_id(c->planned, c->todo[i].pack), &slot) == 0 &&
			     slot < c->nspacks && c->spack_n[slot] == j - i;
		g[ng++] = (struct group){ i, j, bytes, whole };
		i = j;
	}
	struct send_job sj = { c, g };
	unsigned threads = MAX(cairn_repo_parallelism(c->src), cairn_repo_parallelism(c->dst));
	r = cairn_parallel((unsigned)ng, MAX(1u, MIN(threads, 8u)), send_group, &sj);
	free(g);
	c->ntodo = 0;
	if (r < 0)
		return r;
	return pack_flush(c);
}

/* Adopted packs (an interrupted copy's) may hold nodes whose subtrees it
 * had not finished: complete those the source has, before any of them
 * is trusted or indexed.  Nodes the source lacks came from elsewhere (an
 * interrupted backup at the destination); no tree copied from this source
 * can name them. */
static int complete_adopted(struct copier *c)
{
	if (c->adopted_hi == c->adopted_lo)
		return 0;
	size_t n = 0;
	struct cairn_blob_ref *e = cairn_index_entries(c->didx, &n);
	struct cairn_blob_ref *nodes = NULL;
	size_t nn = 0, cap = 0;
	for (size_t i = 0; i < n; i++) {
		if (e[i].type == CAIRN_BLOB_CHUNK || e[i].pack < c->adopted_lo || e[i].pack >= c->adopted_hi)
			continue;
		if (cairn_array_grow(&nodes, &cap, nn, sizeof(*nodes), 64) < 0) {
			free(nodes);
			return cairn_error_nomem();
		}
		nodes[nn++] = e[i];
	}
	int r = 0;
	for (size_t i = 0; r >= 0 && i < nn; i++) {
		if (cairn_index_lookup(c->sidx, nodes[i].id, NULL) < 0)
			continue;
		if (nodes[i].type == CAIRN_BLOB_CATALOG) {
			r = collect_catalog(c, nodes[i].id);
			continue;
		}
		if ((r = cairn_blob_read(c->src, c->sidx, &c->scodec, nodes[i].id, &c->node)) < 0)
			break;
		unsigned level = c->node.len ? c->node.data[0] : 0;
		if (level == 0 || level > CAIRN_TREE_MAX_LEVELS) {
			r = cairn_error_set(CAIRN_ECORRUPT, "source: a tree node has level %u", level);
			break;
		}
		r = collect(c, nodes[i].id, level, NULL);
	}
	free(nodes);
	if (r >= 0 && !c->o->dry_run)
		r = send_todo(c);
	else
		c->ntodo = 0;
	return r;
}

/* ---- unrelated repositories: re-chunk-id, re-seal, rebuild the tree ---- */

struct rebuild {
	struct copier *c;
	struct cairn_tree_builder tb;
	struct cairn_tree_src ssrc, dsrc;
	uint64_t nchunks; /* the backup's */
	uint64_t pn;      /* its parent's */
	unsigned plevels; /* the parent's tree levels (0: no parent to reuse) */
	uint8_t proot_s[CAIRN_ID_LEN], proot_d[CAIRN_ID_LEN];
	/* One node per level and side, read on the way down: memory is levels
	 * x fanout ids whatever the volume size (no state per chunk). */
	struct cairn_buf mnode[CAIRN_TREE_MAX_LEVELS + 1];
	struct cairn_buf psnode[CAIRN_TREE_MAX_LEVELS + 1], pdnode[CAIRN_TREE_MAX_LEVELS + 1];
};

static int dst_has(struct copier *c, const uint8_t id[CAIRN_ID_LEN])
{
	return cairn_id_is_zero(id) || cairn_index_lookup(c->didx, id, NULL) == 0 || in_set(c->planned, id);
}

/* Stores plain under id at the destination unless it has it. */
static int put_plain(struct copier *c, const uint8_t id[CAIRN_ID_LEN], const uint8_t *plain, size_t len,
		     enum cairn_blob_type type)
{
	if (dst_has(c, id))
		return 0;
	struct cairn_blob_ref ref = { .type = (uint8_t)type, .raw_len = (uint32_t)len };
	memcpy(ref.id, id, CAIRN_ID_LEN);
	cairn_buf_clear(&c->sealed);
	/* Compressed as backups store them: chunks and catalog nodes. */
	int r = cairn_blob_encode(&c->dcodec, id, plain, len, type != CAIRN_BLOB_TREE, &c->sealed, &ref.flags,
				  &ref.stored_len);
	if (r < 0)
		return r;
	if (type == CAIRN_BLOB_CHUNK)
		c->raw_sent += len;
	if (type == CAIRN_BLOB_CATALOG) {
		c->st->catalog_nodes_sent++;
		c->st->catalog_bytes_sent += ref.stored_len;
	}
	if (c->o->dry_run) {
		/* Counted, remembered, not written. */
		c->st->blobs_sent++;
		c->st->bytes_sent += ref.stored_len;
		ref.pack = 0;
		return set_add(c->planned, &ref);
	}
	return pack_add(c, &ref, c->sealed.data);
}

static int rebuild_emit(const uint8_t id[CAIRN_ID_LEN], const uint8_t *node, size_t len, void *ud)
{
	struct rebuild *b = ud;
	return put_plain(b->c, id, node, len, CAIRN_BLOB_TREE);
}

/* The parent's node at the same place as the backup's: its id in the
 * source (s) and in the destination's copy (d).  Both NULL: none to reuse.
 * chain: the place is on the left edge above the parent's root (the
 * parent's tree is shorter), so the root is further down child 0. */
struct parent_ref {
	const uint8_t *s, *d;
	bool chain;
};

/* Chunks under a node of a level, saturated (fanout^8 overflows). */
static uint64_t rebuild_span(uint32_t fanout, unsigned level)
{
	uint64_t s = 1;
	for (unsigned l = 0; l < level; l++)
		s = s > UINT64_MAX / fanout ? UINT64_MAX : s * fanout;
	return s;
}

static int rebuild_read_node(struct cairn_tree_src *src, const uint8_t id[CAIRN_ID_LEN], unsigned level,
			     uint32_t want, struct cairn_buf *buf, const uint8_t **ids)
{
	int r = cairn_blob_read(src->repo, src->idx, src->codec, id, buf);
	return r < 0 ? r : cairn_tree_node_parse(buf->data, buf->len, level, want, ids);
}

/* The parent's trees are a shortcut only: unreadable, the source's chunks
 * are read instead. */
static void rebuild_parent_unread(void)
{
	cairn_log_info("copy: the parent's tree is unread here (%s): reading the source's chunks",
		       cairn_error_message());
	cairn_error_clear();
}

/* One chunk at the destination: the parent's copy when the parent has the
 * same chunk at this place, else read, re-id'd and stored. */
static int rebuild_chunk(struct rebuild *b, const uint8_t id[CAIRN_ID_LEN], const struct parent_ref *p)
{
	struct copier *c = b->c;
	if (cairn_id_is_zero(id))
		return cairn_tree_builder_push_zeros(&b->tb, 1);
	if (p->s && memcmp(id, p->s, CAIRN_ID_LEN) == 0)
		return cairn_tree_builder_push(&b->tb, p->d);
	if (cairn_cancel_check())
		return CAIRN_ECANCELED;
	uint8_t out[CAIRN_ID_LEN];
	int r = cairn_blob_read(c->src, c->sidx, &c->scodec, id, &c->plain);
	if (r < 0)
		return cairn_error_prefix(r, "source");
	if ((r = cairn_hasher_id(c->dcodec.hasher, c->plain.data, c->plain.len, out)) < 0 ||
	    (r = put_plain(c, out, c->plain.data, c->plain.len, CAIRN_BLOB_CHUNK)) < 0)
		return r;
	c->progress_done += c->plain.len;
	progress(c, false);
	return cairn_tree_builder_push(&b->tb, out);
}

/* The backup's node id (node k of its level) rebuilt into the destination's
 * tree builder, left to right.  A zero subtree (a hole) is one run; a
 * subtree the parent has at the same place is its copy's id, unread; only
 * the nodes above other data are read. */
static int rebuild_node(struct rebuild *b, const uint8_t id[CAIRN_ID_LEN], unsigned level, uint64_t k,
			const struct parent_ref *p)
{
	if (level == 0)
		return rebuild_chunk(b, id, p);
	uint32_t fanout = b->ssrc.fanout;
	uint64_t first = k * rebuild_span(fanout, level);
	uint64_t count = MIN(rebuild_span(fanout, level), b->nchunks - first);
	if (cairn_id_is_zero(id))
		return cairn_tree_builder_push_zeros(&b->tb, count);
	/* Equal ids: equal nodes, so equal chunks and count. */
	if (p->s && memcmp(id, p->s, CAIRN_ID_LEN) == 0 && level < b->tb.levels)
		return cairn_tree_builder_push_node(&b->tb, level, p->d, count);
	uint32_t want = cairn_tree_node_count(b->nchunks, fanout, level, k);
	const uint8_t *ids = NULL, *sids = NULL, *dids = NULL;
	int r = rebuild_read_node(&b->ssrc, id, level, want, &b->mnode[level], &ids);
	if (r < 0)
		return cairn_error_prefix(r, "source");
	uint32_t pwant = 0;
	if (p->s && !cairn_id_is_zero(p->s) && !cairn_id_is_zero(p->d) &&
	    (pwant = cairn_tree_node_count(b->pn, fanout, level, k)) > 0 &&
	    ((r = rebuild_read_node(&b->ssrc, p->s, level, pwant, &b->psnode[level], &sids)) < 0 ||
	     (r = rebuild_read_node(&b->dsrc, p->d, level, pwant, &b->pdnode[level], &dids)) < 0)) {
		rebuild_parent_unread();
		pwant = 0;
	}
	for (uint32_t i = 0; i < want; i++) {
		struct parent_ref kp = { 0 };
		if (p->chain && i == 0) {
			kp.chain = level - 1 > b->plevels;
			if (!kp.chain) {
				kp.s = b->proot_s;
				kp.d = b->proot_d;
			}
		} else if (i < pwant) {
			kp.s = sids + (size_t)i * CAIRN_ID_LEN;
			kp.d = dids + (size_t)i * CAIRN_ID_LEN;
		}
		/* This level's buffers stay valid: children use lower levels. */
		if ((r = rebuild_node(b, ids + (size_t)i * CAIRN_ID_LEN, level - 1, k * fanout + i, &kp)) < 0)
			return r;
	}
	return 0;
}

/* Where the parent's tree meets the backup's root: the parent's node at
 * the root's level and place 0 (down child 0 when the parent's tree is
 * taller), or the chain above the parent's root (when it is shorter). */
static struct parent_ref rebuild_parent_top(struct rebuild *b, unsigned levels)
{
	struct parent_ref top = { .s = b->proot_s, .d = b->proot_d };
	if (b->plevels < levels)
		return (struct parent_ref){ .chain = true };
	for (unsigned l = b->plevels; l > levels; l--) {
		const uint8_t *sids, *dids;
		uint32_t want = cairn_tree_node_count(b->pn, b->ssrc.fanout, l, 0);
		if (cairn_id_is_zero(top.s) || cairn_id_is_zero(top.d))
			return (struct parent_ref){ 0 };
		if (rebuild_read_node(&b->ssrc, top.s, l, want, &b->psnode[l], &sids) < 0 ||
		    rebuild_read_node(&b->dsrc, top.d, l, want, &b->pdnode[l], &dids) < 0) {
			rebuild_parent_unread();
			return (struct parent_ref){ 0 };
		}
		top.s = sids;
		top.d = dids;
	}
	return top;
}

/* The destination's tree of m: *root, with every blob stored.  parent_s
 * and parent_d: m's parent in the source and its copy at the destination
 * (same id), when there is one: then only subtrees that differ are read.
 * Memory is tree depth x fanout, not per chunk: a 16 TiB sparse image
 * costs its data, not its apparent size. */
static int rebuild_tree(struct copier *c, const struct cairn_manifest *m, const struct cairn_manifest *parent_s,
			const struct cairn_manifest *parent_d, uint8_t root[CAIRN_ID_LEN])
{
	struct rebuild b = {
		.c = c,
		.nchunks = (m->size + m->chunk_size - 1) / m->chunk_size,
		.ssrc = { c->src, c->sidx, &c->scodec, m->fanout },
		.dsrc = { c->dst, c->didx, &c->dcodec, m->fanout },
	};
	int r = 0;
	if (m->levels != cairn_tree_levels(b.nchunks, m->fanout))
		return cairn_error_set(CAIRN_ECORRUPT, "source: backup %s has %u tree levels for %llu chunks",
				       m->idhex, m->levels, (unsigned long long)b.nchunks);
	if (parent_s && parent_d) {
		uint64_t pn = (parent_s->size + parent_s->chunk_size - 1) / parent_s->chunk_size;
		/* The copy has the parent's shape, or it is not its copy. */
		if (parent_s->chunk_size == m->chunk_size && parent_d->size == parent_s->size &&
		    parent_d->chunk_size == parent_s->chunk_size && parent_s->levels == parent_d->levels &&
		    parent_s->levels == cairn_tree_levels(pn, m->fanout)) {
			b.pn = pn;
			b.plevels = parent_s->levels;
			memcpy(b.proot_s, parent_s->root, CAIRN_ID_LEN);
			memcpy(b.proot_d, parent_d->root, CAIRN_ID_LEN);
		}
	}
	c->progress_total = m->size;
	if ((r = cairn_tree_builder_init(&b.tb, b.nchunks, m->fanout, c->dcodec.hasher, rebuild_emit, &b)) < 0)
		return r;
	struct parent_ref top = b.plevels ? rebuild_parent_top(&b, m->levels) : (struct parent_ref){ 0 };
	r = rebuild_node(&b, m->root, m->levels, 0, &top);
	if (r >= 0)
		r = cairn_tree_builder_finish(&b.tb, root);
	cairn_tree_builder_free(&b.tb);
	for (unsigned l = 0; l <= CAIRN_TREE_MAX_LEVELS; l++) {
		cairn_buf_free(&b.mnode[l]);
		cairn_buf_free(&b.psnode[l]);
		cairn_buf_free(&b.pdnode[l]);
	}
	return r;
}

struct id_offsets {
	const uint8_t *base;
	size_t *v, n, cap;
};

static int take_offset(const uint8_t id[CAIRN_ID_LEN], void *ud)
{
	struct id_offsets *o = ud;
	if (cairn_array_grow(&o->v, &o->cap, o->n, sizeof(*o->v), 16) < 0)
		return cairn_error_nomem();
	o->v[o->n++] = (size_t)(id - o->base);
	return 0;
}

/* The destination's copy of source catalog node sid, bottom-up: the node
 * is read (its id verified), its children rebuilt first and their new ids
 * written where the old ones were (a node refers to children by id, and
 * ids differ between unrelated repositories), then its own id computed
 * and the node sealed under the destination's keys unless it has it.
 * Every source node is read (its new id is known only so), but only the
 * nodes the destination lacks are sent: an incremental copy sends the
 * changed directories and the path to the root. */
static int rebuild_catalog(struct copier *c, const uint8_t sid[CAIRN_ID_LEN], uint8_t ret[CAIRN_ID_LEN])
{
	struct cairn_blob_ref mref;
	if (cairn_id_is_zero(sid)) {
		memset(ret, 0, CAIRN_ID_LEN);
		return 0;
	}
	if (cairn_index_lookup(c->catmap, sid, &mref) == 0) {
		memcpy(ret, c->catids.data + mref.offset * CAIRN_ID_LEN, CAIRN_ID_LEN);
		return 0;
	}
	if (cairn_cancel_check())
		return CAIRN_ECANCELED;
	char hex[2 * CAIRN_ID_LEN + 1];
	cairn_hex_encode(sid, CAIRN_ID_LEN, hex);
	struct cairn_blob_ref sref;
	if (cairn_index_lookup(c->sidx, sid, &sref) < 0)
		return cairn_error_set(CAIRN_ECORRUPT, "source: catalog node %.16s is missing from the index", hex);
	if (sref.type != CAIRN_BLOB_CATALOG)
		return cairn_error_set(CAIRN_ECORRUPT, "source: blob %.16s is not a catalog node", hex);
	_cleanup_(cairn_buf_freep) struct cairn_buf node = CAIRN_BUF_INIT;
	int r = cairn_blob_read(c->src, c->sidx, &c->scodec, sid, &node);
	if (r < 0)
		return cairn_error_prefix(r, "source");
	struct id_offsets o = { .base = node.data };
	enum cairn_catalog_node_kind kind;
	if ((r = cairn_catalog_node_parse(node.data, node.len, &kind, NULL, take_offset, &o)) < 0) {
		free(o.v);
		return cairn_error_prefix(r, "source: catalog node %.16s", hex);
	}
	for (size_t i = 0; r >= 0 && i < o.n; i++) {
		uint8_t kid[CAIRN_ID_LEN];
		memcpy(kid, node.data + o.v[i], CAIRN_ID_LEN);
		r = rebuild_catalog(c, kid, node.data + o.v[i]);
	}
	free(o.v);
	if (r < 0)
		return r;
	if ((r = cairn_hasher_id(c->dcodec.hasher, node.data, node.len, ret)) < 0 ||
	    (r = put_plain(c, ret, node.data, node.len, CAIRN_BLOB_CATALOG)) < 0)
		return r;
	struct cairn_blob_ref map = { .offset = c->catids.len / CAIRN_ID_LEN };
	memcpy(map.id, sid, CAIRN_ID_LEN);
	if ((r = cairn_buf_append(&c->catids, ret, CAIRN_ID_LEN)) < 0)
		return r;
	return set_add(c->catmap, &map);
}

/* ---- one backup, one group backup ---- */

static const struct cairn_manifest *find_manifest(const struct cairn_manifest_list *l,
						  const uint8_t id[CAIRN_BACKUP_ID_LEN])
{
	for (size_t i = 0; i < l->n; i++)
		if (memcmp(l->v[i]->id, id, CAIRN_BACKUP_ID_LEN) == 0)
			return l->v[i];
	return NULL;
}

static int copy_hold(struct copier *c, const struct cairn_hold_list *holds, const uint8_t id[CAIRN_BACKUP_ID_LEN])
{
	if (c->o->no_holds || c->o->dry_run)
		return 0;
	const struct cairn_hold *h = cairn_hold_find(holds, id);
	if (!h)
		return 0;
	int r = cairn_hold_put(c->dst, id, h->reason ? h->reason : "");
	if (r >= 0)
		c->st->holds_copied++;
	return r;
}

static int copy_backup(struct copier *c, const struct cairn_manifest *m, const struct cairn_manifest_list *slist,
		       struct cairn_manifest_list *dlist, const struct cairn_hold_list *holds)
{
	if (find_manifest(dlist, m->id)) {
		c->st->backups_skipped++;
		if (c->o->backup_done)
			c->o->backup_done(m, true, c->o->ud);
		return 0;
	}
	if (m->chunk_size != c->dst->config.chunk_size && !c->family)
		return cairn_error_set(CAIRN_EINVAL,
				       "backup %s has %u KiB chunks and the destination %u KiB: unrelated "
				       "repositories exchange backups only with equal chunk sizes",
				       m->idhex, m->chunk_size >> 10, c->dst->config.chunk_size >> 10);
	if (m->fanout != CAIRN_TREE_FANOUT)
		return cairn_error_set(CAIRN_EINVAL, "backup %s has a tree fanout of %u", m->idhex, m->fanout);
	cairn_log_info("copying backup %s (%s)", m->idhex, m->volume);
	c->progress_done = c->progress_total = 0;
	uint64_t sent0 = c->st->bytes_sent, raw_sent = 0;
	int r;
	_cleanup_(cairn_manifest_freep) struct cairn_manifest *copy = NULL;
	char *json = NULL;
	if ((r = cairn_manifest_encode(m, &json)) < 0)
		return r;
	r = cairn_manifest_parse((const uint8_t *)json, strlen(json), &copy);
	free(json);
	json = NULL;
	if (r < 0)
		return r;
	/* The file catalog (format.h CATALOG) goes with the backup, its
	 * nodes before the manifest like the tree's: file restore works at
	 * the destination (a disaster-recovery site) as at the source. */
	if (c->family) {
		if ((r = collect(c, m->root, m->levels, NULL)) < 0 ||
		    (m->has_catalog && (r = collect_catalog(c, m->catalog)) < 0))
			return r;
		for (size_t i = 0; i < c->ntodo; i++) {
			if (c->todo[i].type == CAIRN_BLOB_CHUNK)
				raw_sent += c->todo[i].raw_len;
			if (c->todo[i].type == CAIRN_BLOB_CATALOG) {
				c->st->catalog_nodes_sent++;
				c->st->catalog_bytes_sent += c->todo[i].stored_len;
			}
		}
		if (c->o->dry_run) {
			c->st->blobs_sent += c->ntodo;
			for (size_t i = 0; i < c->ntodo; i++)
				c->st->bytes_sent += c->todo[i].stored_len;
			c->ntodo = 0;
		} else if ((r = send_todo(c)) < 0) {
			return r;
		}
	} else {
		const struct cairn_manifest *ps = m->has_parent ? find_manifest(slist, m->parent) : NULL;
		const struct cairn_manifest *pd = m->has_parent ? find_manifest(dlist, m->parent) : NULL;
		c->raw_sent = 0;
		if ((r = rebuild_tree(c, m, ps, pd, copy->root)) < 0 ||
		    (m->has_catalog && (r = rebuild_catalog(c, m->catalog, copy->catalog)) < 0))
			return r;
		raw_sent = c->raw_sent;
		if (!c->o->dry_run && (r = pack_flush(c)) < 0)
			return r;
	}
	c->st->bytes_skipped += m->size > raw_sent ? m->size - raw_sent : 0;
	progress(c, true);
	if (c->o->dry_run) {
		c->st->backups_copied++;
		if (c->o->backup_done)
			c->o->backup_done(m, false, c->o->ud);
		return 0;
	}
	/* Index objects, then the manifest: the backup exists at the
	 * destination only once everything it names is there. */
	uint64_t ibytes = 0;
	if ((r = cairn_index_write_fresh(c->didx, c->dst, &ibytes)) < 0)
		return r;
	c->st->bytes_sent += ibytes;
	if ((r = cairn_manifest_encode(copy, &json)) < 0)
		return r;
	uint64_t mbytes = 0;
	r = cairn_object_put_sealed(c->dst, NULL, CAIRN_OBJ_MANIFEST, copy->id, json, strlen(json),
				    CAIRN_PUT_CREATE_ONLY, &mbytes);
	free(json);
	if (r == CAIRN_EEXIST)
		r = 0; /* another copy wrote it meanwhile: the same backup */
	if (r < 0)
		return r;
	c->st->bytes_sent += mbytes;
	if ((r = copy_hold(c, holds, m->id)) < 0)
		return r;
	/* The new manifest joins the destination's list: a later backup of
	 * this run finds its parent there. */
	struct cairn_manifest **v = realloc(dlist->v, (dlist->n + 1) * sizeof(*v));
	if (!v)
		return cairn_error_nomem();
	dlist->v = v;
	dlist->v[dlist->n++] = TAKE_PTR(copy);
	c->st->backups_copied++;
	cairn_log_info("backup %s copied: %llu bytes sent", m->idhex, (unsigned long long)(c->st->bytes_sent - sent0));
	if (c->o->backup_done)
		c->o->backup_done(m, false, c->o->ud);
	return 0;
}

static int copy_group(struct copier *c, const struct cairn_group_backup *g, const struct cairn_manifest_list *slist,
		      struct cairn_manifest_list *dlist, const struct cairn_group_backup_list *dgroups,
		      const struct cairn_hold_list *holds)
{
	for (size_t i = 0; i < dgroups->n; i++)
		if (memcmp(dgroups->v[i]->id, g->id, CAIRN_BACKUP_ID_LEN) == 0) {
			c->st->groups_skipped++;
			return 0;
		}
	/* All members or nothing: each must be readable at the source
	 * before the first is copied. */
	for (size_t i = 0; i < g->nmembers; i++)
		if (!find_manifest(slist, g->members[i].backup))
			return cairn_error_set(CAIRN_ECORRUPT, "group backup %s: member %s (%s) is missing at the source",
					       g->idhex, g->members[i].backup_hex, g->members[i].volume);
	int r;
	for (size_t i = 0; i < g->nmembers; i++)
		if ((r = copy_backup(c, find_manifest(slist, g->members[i].backup), slist, dlist, holds)) < 0)
			return r;
	if (c->o->dry_run) {
		c->st->groups_copied++;
		return 0;
	}
	uint64_t bytes = 0;
	r = cairn_group_backup_write(c->dst, g, &bytes);
	if (r == CAIRN_EEXIST)
		r = 0;
	if (r < 0)
		return r;
	c->st->bytes_sent += bytes;
	c->st->groups_copied++;
	return copy_hold(c, holds, g->id);
}

/* ---- selection ---- */

static int item_older(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	return x->created_us < y->created_us ? -1 : x->created_us > y->created_us;
}

struct selection {
	struct item *v;
	size_t n, cap;
};

static const struct cairn_group_backup *group_of(const struct cairn_group_backup_list *gl,
						 const struct cairn_manifest *m)
{
	if (!m->in_group)
		return NULL;
	for (size_t i = 0; i < gl->n; i++)
		if (memcmp(gl->v[i]->id, m->group_id, CAIRN_BACKUP_ID_LEN) == 0)
			return gl->v[i];
	return NULL; /* its group run failed: a plain backup */
}

static int select_add(struct selection *s, struct cairn_manifest *m, struct cairn_group_backup *g)
{
	for (size_t i = 0; i < s->n; i++)
		if ((m && s->v[i].m == m) || (g && s->v[i].g == g))
			return 0;
	if (cairn_array_grow(&s->v, &s->cap, s->n, sizeof(*s->v), 16) < 0)
		return cairn_error_nomem();
	s->v[s->n++] = (struct item){ .created_us = m ? m->created_us : g->created_us, .m = m, .g = g };
	return 0;
}

static int select_backup(struct selection *s, const struct cairn_group_backup_list *gl, struct cairn_manifest *m)
{
	const struct cairn_group_backup *g = group_of(gl, m);
	return g ? select_add(s, NULL, (struct cairn_group_backup *)g) : select_add(s, m, NULL);
}

static int build_selection(const struct cairn_copy_opts *o, const struct cairn_manifest_list *l,
			   const struct cairn_group_backup_list *gl, struct selection *s)
{
	int r;
	for (size_t i = 0; i < l->n; i++)
		if (o->all || (o->volume && strcmp(l->v[i]->volume, o->volume) == 0))
			if ((r = select_backup(s, gl, l->v[i])) < 0)
				return r;
	bool found_group = false;
	for (size_t i = 0; i < gl->n; i++)
		if (o->all || (o->group && strcmp(gl->v[i]->name, o->group) == 0)) {
			found_group = true;
			if ((r = select_add(s, NULL, gl->v[i])) < 0)
				return r;
		}
	if (o->group && !found_group)
		return cairn_error_set(CAIRN_ENOTFOUND, "no group backup of group '%s' in the source", o->group);
	if (o->volume && !s->n)
		return cairn_error_set(CAIRN_ENOTFOUND, "no backup of volume '%s' in the source", o->volume);
	for (size_t i = 0; i < o->nspecs; i++) {
		struct cairn_manifest *m = NULL;
		r = cairn_manifest_resolve(l, o->specs[i], &m);
		if (r == 0) {
			if ((r = select_backup(s, gl, m)) < 0)
				return r;
			continue;
		}
		if (r != CAIRN_ENOTFOUND)
			return r;
		struct cairn_group_backup *g = NULL;
		cairn_error_clear();
		if (cairn_group_backup_resolve(gl, o->specs[i], &g) == 0) {
			if ((r = select_add(s, NULL, g)) < 0)
				return r;
			continue;
		}
		return cairn_error_set(CAIRN_ENOTFOUND, "no backup or group backup '%s' in the source", o->specs[i]);
	}
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), item_older);
	return 0;
}

/* ---- the run ---- */

static void copier_free(struct copier *c)
{
	cairn_index_free(c->sidx);
	cairn_index_free(c->didx);
	cairn_index_free(c->planned);
	cairn_index_free(c->done);
	cairn_index_free(c->catmap);
	cairn_buf_free(&c->catids);
	cairn_blob_codec_free(&c->scodec);
	cairn_blob_codec_free(&c->dcodec);
	cairn_pack_writer_free(&c->pw);
	free(c->todo);
	free(c->spack_n);
	cairn_buf_free(&c->node);
	cairn_buf_free(&c->plain);
	cairn_buf_free(&c->sealed);
	cairn_buf_free(&c->span);
}

int cairn_copy_run(struct cairn_repo *src, struct cairn_repo *dst, const struct cairn_copy_opts *o,
		   struct cairn_copy_stats *ret)
{
	double t0 = cairn_now();
	memset(ret, 0, sizeof(*ret));
	if (memcmp(src->config.instance, dst->config.instance, 16) == 0 &&
	    memcmp(src->config.id, dst->config.id, 16) == 0)
		return cairn_error_set(CAIRN_EINVAL, "source and destination are the same repository");
	char fs[CAIRN_FINGERPRINT_HEX + 1], fd[CAIRN_FINGERPRINT_HEX + 1];
	int r;
	if ((r = cairn_repo_fingerprint(src, fs)) < 0 || (r = cairn_repo_fingerprint(dst, fd)) < 0)
		return r;
	struct copier c = { .src = src, .dst = dst, .o = o, .st = ret, .lock = PTHREAD_MUTEX_INITIALIZER };
	c.family = strcmp(fs, fd) == 0 && memcmp(src->config.id, dst->config.id, 16) == 0;
	ret->same_family = c.family;
	if (!c.family && src->config.chunk_size != dst->config.chunk_size)
		return cairn_error_set(CAIRN_EINVAL,
				       "the source has %u KiB chunks and the destination %u KiB: unrelated "
				       "repositories exchange backups only with equal chunk sizes (make the "
				       "destination with 'cairn init --copy-keys-from' or --chunk-size %uK)",
				       src->config.chunk_size >> 10, dst->config.chunk_size >> 10,
				       src->config.chunk_size >> 10);
	cairn_log_info("copy: %s", c.family ? "same key family: sealed blobs move as they are"
					    : "unrelated repositories: blobs are re-sealed");
	/* Markers first (format.h PRUNE): a prune at either end must see us. */
	_cleanup_(cairn_activity_endp) struct cairn_activity *sa = NULL, *da = NULL;
	if ((r = cairn_activity_begin(src, "restore", &sa)) < 0)
		return r;
	if (!o->dry_run && (r = cairn_activity_begin(dst, "backup", &da)) < 0)
		return r;
	struct cairn_manifest_list slist = { 0 }, dlist = { 0 };
	struct cairn_group_backup_list sgroups = { 0 }, dgroups = { 0 };
	struct cairn_hold_list holds = { 0 };
	struct selection sel = { 0 };
	if ((r = cairn_manifest_list_load(src, &slist)) < 0 || (r = cairn_group_backup_list_load(src, &sgroups)) < 0 ||
	    (r = build_selection(o, &slist, &sgroups, &sel)) < 0 || (r = cairn_manifest_list_load(dst, &dlist)) < 0 ||
	    (r = cairn_group_backup_list_load(dst, &dgroups)) < 0 ||
	    (!o->no_holds && (r = cairn_hold_list_load(src, &holds)) < 0))
		goto out;
	if ((r = cairn_index_new(&c.sidx)) < 0 || (r = cairn_index_load_cached(c.sidx, src, o->state_dir, NULL)) < 0 ||
	    (r = cairn_index_new(&c.didx)) < 0 || (r = cairn_index_load_cached(c.didx, dst, o->state_dir, NULL)) < 0 ||
	    (r = cairn_index_new(&c.planned)) < 0 || (r = cairn_index_new(&c.done)) < 0)
		goto out;
	uint32_t dummy;
	static const uint8_t zero_pack[CAIRN_PACK_ID_LEN];
	if ((r = cairn_index_add_pack(c.done, zero_pack, false, &dummy)) < 0 ||
	    (r = cairn_blob_codec_init(&c.scodec, src)) < 0 || (r = cairn_blob_codec_init(&c.dcodec, dst)) < 0)
		goto out;
	if (!c.family && ((r = cairn_index_add_pack(c.planned, zero_pack, false, &dummy)) < 0 ||
			  (r = cairn_index_new(&c.catmap)) < 0 ||
			  (r = cairn_index_add_pack(c.catmap, zero_pack, false, &dummy)) < 0))
		goto out;
	cairn_index_hide_condemned(c.didx, true); /* never reuse what prune took out of use */
	if (!o->dry_run) {
		c.adopted_lo = (uint32_t)cairn_index_npacks(c.didx);
		int adopted = cairn_index_adopt_orphans(c.didx, dst);
		if (adopted < 0) {
			r = adopted;
			goto out;
		}
		c.adopted_hi = (uint32_t)cairn_index_npacks(c.didx);
		if (adopted > 0)
			cairn_log_info("reusing %d pack(s) left by an interrupted copy or backup", adopted);
		if (c.family && (r = complete_adopted(&c)) < 0)
			goto out;
	}
	for (size_t i = 0; i < sel.n; i++) {
		if (cairn_cancel_check()) {
			r = CAIRN_ECANCELED;
			goto out;
		}
		if (sel.v[i].g)
			r = copy_group(&c, sel.v[i].g, &slist, &dlist, &dgroups, &holds);
		else
			r = copy_backup(&c, sel.v[i].m, &slist, &dlist, &holds);
		if (r < 0)
			goto out;
	}
	ret->seconds = cairn_now() - t0;
	/* Each backup copied added an index object at the destination. */
	if (!o->dry_run)
		cairn_engine_compact_index(c.didx, dst);
out:
	free(sel.v);
	cairn_manifest_list_free(&slist);
	cairn_manifest_list_free(&dlist);
	cairn_group_backup_list_free(&sgroups);
	cairn_group_backup_list_free(&dgroups);
	cairn_hold_list_free(&holds);
	copier_free(&c);
	return r;
}
