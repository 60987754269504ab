/* prune (prune.h; the protocol is format.h PRUNE).
 *
 *   1  take the lease
 *   2  list the backups, then read every index object (in that order: a
 *      backup writes its index object before its manifest, so every
 *      manifest we see has its blobs in an object we then read)
 *   3  packs no index object names: read their tables of contents and
 *      condemn them (a running backup that owns one indexes it as live
 *      soon, which un-condemns it)
 *   4  mark every blob reachable from a backup's tree (skipping subtrees
 *      already marked: O(unique nodes)); a missing one stops prune
 *   5  classify packs: fully used, partly used, unused, condemned earlier;
 *      choose which partly used packs to repack (most unused first, until
 *      what stays unused is below --max-unused)
 *   6  copy the referenced blobs of those packs (and of condemned packs a
 *      late backup still needs) into new packs; condemn the sources
 *   7  write the new index: live packs in "main" objects, condemned packs
 *      in "doomed" ones; then delete the index objects read in 2
 *   8  activity markers: with none live, everything condemned may go now;
 *      else only what was condemned at least a window ago.  Backups that
 *      finished since 2 are walked first: a pack they need stays
 *   9  delete those packs, then rewrite the doomed objects without them
 *
 * Killed anywhere, the repository stays consistent: before 7 only new
 * packs exist (orphans, reused or condemned later); between 7 and its
 * deletions both index generations exist (live wins, so nothing is
 * condemned); after 7 condemned packs are named by doomed objects, and
 * check accepts them missing. */
#include "engine/prune.h"
#include "repo/catalog.h"
#include "repo/index.h"
#include "repo/lease.h"
#include "repo/objects.h"
#include "repo/objlock.h"
#include "repo/pack.h"
#include "repo/tree.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/time.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define UPLOAD_ALIGN 4096

enum pk_state {
	PK_KEEP,    /* live, stays */
	PK_REPACK,  /* live, chosen for repacking */
	PK_UNUSED,  /* live, nothing referenced: condemned now */
	PK_RESCUE,  /* condemned, but a backup needs blobs only it holds */
	PK_WAITING, /* condemned earlier, nothing referenced */
	PK_MISSING, /* named by the index, not in the store */
	PK_NEW,     /* written by this prune */
};

struct pk {
	uint64_t size; /* in the store */
	uint64_t bytes, live_bytes;
	uint32_t count, live_count;
	uint8_t state;
	bool exists;
	bool keep_now; /* a late backup needs it: not deleted this run */
};

struct prune {
	struct cairn_repo *repo;
	const struct cairn_prune_opts *o;
	struct cairn_prune_stats *st;
	struct cairn_index *idx;
	struct cairn_blob_codec codec;
	struct cairn_lease *lease;
	int64_t now, window;
	struct cairn_key_list old_index; /* read in 2: deleted in 7 */
	struct cairn_key_list written;   /* index objects this prune wrote */
	struct cairn_key_list doomed;    /* the doomed ones among them */
	uint8_t *marked;                 /* one bit per entry position */
	struct pk *pk;
	size_t npk, pkcap;
	uint32_t *first, *by_pack; /* entries grouped by pack slot */
	size_t grouped_packs;
	size_t nodes;
	uint8_t (*seen_backups)[CAIRN_BACKUP_ID_LEN];
	size_t nseen;
	uint64_t pdone, ptotal; /* progress: bytes repacked of bytes to repack */
};

static bool bit(const uint8_t *b, size_t i)
{
	return b[i >> 3] & (1u << (i & 7));
}

static void set_bit(uint8_t *b, size_t i)
{
	b[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int keylist_add(struct cairn_key_list *l, const char *key)
{
	char *k = strdup(key);
	if (!k || cairn_array_grow(&l->v, &l->cap, l->n, sizeof(char *), 16) < 0) {
		free(k);
		return cairn_error_nomem();
	}
	l->v[l->n++] = k;
	return 0;
}

/* A safe point: reports progress (through which a job's cancel arrives),
 * honours a cancel and keeps the lease. */
static int alive(struct prune *p)
{
	if (p->o->progress)
		p->o->progress(p->pdone, p->ptotal, p->o->progress_ud);
	if (cairn_cancel_requested)
		return cairn_error_set(CAIRN_ECANCELED, "interrupted");
	return p->lease ? cairn_lease_keepalive(p->lease) : 0;
}

static bool want_doomed(struct prune *p, uint32_t s);

/* ---- 4: marking ---- */

/* Marks the blob id (what: "chunk", "tree node", "catalog node"): 1 when
 * it was not marked yet (the caller goes on to its children), 0 when it
 * was or is the zero id, or missing outside strict. */
static int mark_id(struct prune *p, const struct cairn_manifest *m, uint8_t *bits, size_t nbits, bool strict,
		   bool *ret_hit, const uint8_t *id, const char *what)
{
	if (cairn_id_is_zero(id))
		return 0;
	long pos = cairn_index_lookup_pos(p->idx, id);
	if (pos < 0 || (size_t)pos >= nbits) {
		if (!strict)
			return 0;
		char hex[2 * CAIRN_ID_LEN + 1];
		cairn_hex_encode(id, CAIRN_ID_LEN, hex);
		return cairn_error_set(CAIRN_ECORRUPT,
				       "backup %s needs %s %.16s, which no index object or pack holds; nothing was "
				       "deleted (run 'cairn check')",
				       m->idhex, what, hex);
	}
	if (bit(bits, (size_t)pos))
		return 0;
	set_bit(bits, (size_t)pos);
	if (ret_hit) {
		size_t n;
		const struct cairn_blob_ref *e = cairn_index_entries(p->idx, &n);
		if (e[pos].pack < p->npk && want_doomed(p, e[pos].pack)) {
			p->pk[e[pos].pack].keep_now = true;
			*ret_hit = true;
		}
	}
	return 1;
}

/* A node of m that cannot be read (r): skipped outside strict, else
 * damage, whatever the cause. */
static int unreadable(const struct cairn_manifest *m, bool strict, int r)
{
	if (!strict && (r == CAIRN_ENOTFOUND || r == CAIRN_ECORRUPT))
		return 0;
	if (r == CAIRN_ENOTFOUND || r == CAIRN_EINVAL)
		r = CAIRN_ECORRUPT;
	return cairn_error_prefix(r, "backup %s: nothing was deleted (run 'cairn check')", m->idhex);
}

static int mark_node(struct prune *p, const struct cairn_manifest *m, uint8_t *bits, size_t nbits, bool strict,
		     bool *ret_hit, const uint8_t *id, unsigned level, uint64_t k, uint64_t nchunks)
{
	int r = mark_id(p, m, bits, nbits, strict, ret_hit, id, level ? "tree node" : "chunk");
	if (r <= 0)
		return r;
	if (level == 0)
		return 0;
	if (++p->nodes % 64 == 0 && (r = alive(p)) < 0)
		return r;
	uint32_t want = cairn_tree_node_count(nchunks, m->fanout, level, k);
	_cleanup_(cairn_buf_freep) struct cairn_buf node = CAIRN_BUF_INIT;
	const uint8_t *ids = NULL;
	r = cairn_blob_read(p->repo, p->idx, &p->codec, id, &node);
	if (r >= 0)
		r = want ? cairn_tree_node_parse(node.data, node.len, level, want, &ids)
			 : cairn_error_set(CAIRN_ECORRUPT, "tree node beyond the volume's end");
	if (r < 0)
		return unreadable(m, strict, r);
	/* The recursion reuses no buffer of ours: walk a copy. */
	_cleanup_free_ uint8_t *kids = malloc((size_t)want * CAIRN_ID_LEN);
	if (!kids)
		return cairn_error_nomem();
	memcpy(kids, ids, (size_t)want * CAIRN_ID_LEN);
	for (uint32_t i = 0; i < want; i++)
		if ((r = mark_node(p, m, bits, nbits, strict, ret_hit, kids + (size_t)i * CAIRN_ID_LEN, level - 1,
				   k * m->fanout + i, nchunks)) < 0)
			return r;
	return 0;
}

/* A catalog node and what it refers to (format.h CATALOG), as mark_node
 * does for the tree: an unchanged directory is marked once, however many
 * backups share it. */
static int mark_catalog(struct prune *p, const struct cairn_manifest *m, uint8_t *bits, size_t nbits, bool strict,
			bool *ret_hit, const uint8_t *id)
{
	int r = mark_id(p, m, bits, nbits, strict, ret_hit, id, "catalog node");
	if (r <= 0)
		return r;
	if (++p->nodes % 64 == 0 && (r = alive(p)) < 0)
		return r;
	_cleanup_(cairn_buf_freep) struct cairn_buf node = CAIRN_BUF_INIT;
	_cleanup_free_ uint8_t *kids = NULL;
	size_t nkids = 0;
	r = cairn_blob_read(p->repo, p->idx, &p->codec, id, &node);
	if (r >= 0)
		r = cairn_catalog_node_children(node.data, node.len, &kids, &nkids);
	if (r < 0)
		return unreadable(m, strict, r);
	cairn_buf_free(&node);
	for (size_t i = 0; i < nkids; i++)
		if ((r = mark_catalog(p, m, bits, nbits, strict, ret_hit, kids + i * CAIRN_ID_LEN)) < 0)
			return r;
	return 0;
}

static int mark_backup(struct prune *p, const struct cairn_manifest *m, uint8_t *bits, size_t nbits, bool strict,
		       bool *ret_hit)
{
	if (m->has_catalog) {
		int r = mark_catalog(p, m, bits, nbits, strict, ret_hit, m->catalog);
		if (r < 0)
			return r;
	}
	uint64_t nchunks = (m->size + m->chunk_size - 1) / m->chunk_size;
	if (m->chunk_size != p->repo->config.chunk_size || m->fanout != p->repo->config.tree_fanout ||
	    m->levels != cairn_tree_levels(nchunks, m->fanout)) {
		if (!strict)
			return 0;
		return cairn_error_set(CAIRN_ECORRUPT,
				       "backup %s does not match the repository's chunk size or tree shape; nothing "
				       "was deleted (run 'cairn check')",
				       m->idhex);
	}
	if (!nchunks)
		return 0;
	return mark_node(p, m, bits, nbits, strict, ret_hit, m->root, m->levels, 0, nchunks);
}

/* ---- grouping entries by pack ---- */

static int group_by_pack(struct prune *p)
{
	size_t n, np = cairn_index_npacks(p->idx);
	const struct cairn_blob_ref *e = cairn_index_entries(p->idx, &n);
	free(p->first);
	free(p->by_pack);
	p->first = calloc(np + 1, sizeof(uint32_t));
	p->by_pack = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!p->first || !p->by_pack)
		return cairn_error_nomem();
	for (size_t i = 0; i < n; i++)
		p->first[e[i].pack + 1]++;
	for (size_t s = 0; s < np; s++)
		p->first[s + 1] += p->first[s];
	_cleanup_free_ uint32_t *fill = malloc((np ? np : 1) * sizeof(uint32_t));
	if (!fill)
		return cairn_error_nomem();
	memcpy(fill, p->first, np * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		p->by_pack[fill[e[i].pack]++] = (uint32_t)i;
	p->grouped_packs = np;
	return 0;
}

/* ---- 6: repacking ---- */

struct pending {
	uint32_t pos;
	uint32_t offset;
};

struct repacker {
	struct cairn_pack_writer w;
	bool open;
	struct pending *pend;
	size_t npend, cap;
	uint8_t *upload; /* page-aligned copy: the local store writes it O_DIRECT */
	size_t upload_cap;
};

static int flush_pack(struct prune *p, struct repacker *rp)
{
	if (!rp->open || rp->w.n == 0)
		return 0;
	int r = cairn_pack_writer_finish(&rp->w, p->codec.aead);
	if (r < 0)
		return r;
	size_t len = rp->w.data.len;
	if (len > rp->upload_cap) {
		free(rp->upload);
		rp->upload_cap = (len + UPLOAD_ALIGN - 1) & ~(size_t)(UPLOAD_ALIGN - 1);
		if (posix_memalign((void **)&rp->upload, UPLOAD_ALIGN, rp->upload_cap) != 0) {
			rp->upload = NULL;
			rp->upload_cap = 0;
			return cairn_error_nomem();
		}
	}
	memcpy(rp->upload, rp->w.data.data, len);
	if ((r = cairn_object_put(p->repo, CAIRN_OBJ_PACK, rp->w.id, rp->upload, len, CAIRN_PUT_CREATE_ONLY)) < 0)
		return r;
	uint32_t slot;
	if ((r = cairn_index_add_pack(p->idx, rp->w.id, false, &slot)) < 0)
		return r;
	size_t n;
	struct cairn_blob_ref *e = cairn_index_entries(p->idx, &n);
	for (size_t i = 0; i < rp->npend; i++) {
		e[rp->pend[i].pos].pack = slot;
		e[rp->pend[i].pos].offset = rp->pend[i].offset;
	}
	p->st->packs_written++;
	rp->npend = 0;
	rp->open = false;
	return 0;
}

static int repack_one(struct prune *p, struct repacker *rp, uint32_t s, struct cairn_buf *src, struct cairn_buf *plain,
		      uint64_t *done, uint64_t total)
{
	char key[80];
	size_t n;
	/* Up to the end of the last blob it holds that is needed: no more is
	 * read, whatever the pack's size. */
	uint64_t need = 0;
	for (uint32_t j = p->first[s]; j < p->first[s + 1]; j++) {
		const struct cairn_blob_ref *ref = &cairn_index_entries(p->idx, &n)[p->by_pack[j]];
		if (bit(p->marked, p->by_pack[j]))
			need = MAX(need, (uint64_t)ref->offset + ref->stored_len);
	}
	const uint8_t *pack_id = cairn_index_pack_id(p->idx, s);
	cairn_pack_key(pack_id, key);
	int r = need ? cairn_object_get_range(p->repo, CAIRN_OBJ_PACK, pack_id, 0, need, src) : 0;
	if (r < 0)
		return cairn_error_prefix(r, "repacking %s", key);
	for (uint32_t j = p->first[s]; j < p->first[s + 1]; j++) {
		uint32_t pos = p->by_pack[j];
		if (!bit(p->marked, pos))
			continue;
		struct cairn_blob_ref ref = cairn_index_entries(p->idx, &n)[pos];
		char hex[2 * CAIRN_ID_LEN + 1];
		if ((uint64_t)ref.offset + ref.stored_len > src->len) {
			cairn_hex_encode(ref.id, CAIRN_ID_LEN, hex);
			return cairn_error_set(CAIRN_ECORRUPT, "pack %s is truncated: blob %.16s lies past its end (run 'cairn check')",
					       key, hex);
		}
		const uint8_t *sealed = src->data + ref.offset;
		/* Copied sealed, as the id binds it and not the pack; checked
		 * first, so damage is never spread into a new pack. */
		uint8_t aad[1 + CAIRN_ID_LEN];
		cairn_blob_aad(aad, ref.id);
		if ((r = cairn_buf_reserve(plain, ref.stored_len)) < 0)
			return r;
		if (cairn_aead_open(p->codec.aead, aad, sizeof(aad), sealed, ref.stored_len, plain->data) < 0) {
			cairn_hex_encode(ref.id, CAIRN_ID_LEN, hex);
			return cairn_error_set(CAIRN_ECORRUPT,
					       "blob %.16s in %s is damaged; prune stopped before deleting anything (run "
					       "'cairn check')",
					       hex, key);
		}
		if (rp->open && (rp->w.data.len + ref.stored_len > p->repo->config.pack_size || rp->w.n >= 8192) &&
		    (r = flush_pack(p, rp)) < 0)
			return r;
		if (!rp->open) {
			if ((r = cairn_pack_writer_begin(&rp->w)) < 0)
				return r;
			rp->open = true;
		}
		if ((r = cairn_pack_writer_add(&rp->w, &ref, sealed)) < 0)
			return r;
		if ((r = cairn_array_grow(&rp->pend, &rp->cap, rp->npend, sizeof(*rp->pend), 1024)) < 0)
			return r;
		rp->pend[rp->npend++] = (struct pending){ pos, ref.offset };
		*done += ref.stored_len;
	}
	p->pdone = *done;
	p->ptotal = total;
	return 0;
}

static int repack(struct prune *p)
{
	uint64_t total = 0, done = 0;
	for (size_t s = 0; s < p->npk; s++)
		if (p->pk[s].state == PK_REPACK || p->pk[s].state == PK_RESCUE)
			total += p->pk[s].live_bytes;
	if (!total)
		return 0;
	p->ptotal = total;
	struct repacker rp = { 0 };
	_cleanup_(cairn_buf_freep) struct cairn_buf src = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf plain = CAIRN_BUF_INIT;
	int r = 0;
	for (size_t s = 0; s < p->npk && r >= 0; s++) {
		if (p->pk[s].state != PK_REPACK && p->pk[s].state != PK_RESCUE)
			continue;
		if ((r = alive(p)) < 0)
			break;
		r = repack_one(p, &rp, (uint32_t)s, &src, &plain, &done, total);
	}
	if (r >= 0)
		r = flush_pack(p, &rp);
	cairn_pack_writer_free(&rp.w);
	free(rp.pend);
	free(rp.upload);
	if (r < 0)
		return r;
	for (size_t s = 0; s < p->npk; s++) {
		if (p->pk[s].state == PK_REPACK) {
			cairn_index_set_pack_condemned(p->idx, (uint32_t)s, p->now);
			p->st->packs_repacked++;
		} else if (p->pk[s].state == PK_RESCUE) {
			p->st->packs_rescued++; /* keeps its condemnation time */
		}
	}
	p->st->bytes_repacked = done;
	return 0;
}

/* ---- 7, 9: writing index objects ---- */

struct written {
	struct prune *p;
	bool doomed;
};

static int on_written(const char *key, uint64_t bytes, void *ud)
{
	(void)bytes;
	struct written *w = ud;
	w->p->st->index_objects_written++;
	int r = keylist_add(&w->p->written, key);
	if (r >= 0 && w->doomed)
		r = keylist_add(&w->p->doomed, key);
	return r;
}

/* Writes the packs chosen by want(slot) with all their entries, in objects
 * of at most CAIRN_INDEX_OBJECT_ENTRIES entries (a pack is never split). */
static int write_objects(struct prune *p, bool (*want)(struct prune *, uint32_t), bool doomed)
{
	size_t np = cairn_index_npacks(p->idx);
	_cleanup_free_ bool *pick = malloc((np ? np : 1) * sizeof(bool));
	if (!pick)
		return cairn_error_nomem();
	for (uint32_t s = 0; s < np; s++)
		pick[s] = want(p, s);
	struct written w = { p, doomed };
	return cairn_index_write_picked(p->idx, p->repo, pick, np, on_written, &w);
}

static enum pk_state state_of(struct prune *p, uint32_t s)
{
	return s < p->npk ? (enum pk_state)p->pk[s].state : PK_NEW;
}

static bool want_live(struct prune *p, uint32_t s)
{
	enum pk_state st = state_of(p, s);
	return st == PK_NEW || st == PK_KEEP;
}

static bool want_doomed(struct prune *p, uint32_t s)
{
	enum pk_state st = state_of(p, s);
	return st == PK_REPACK || st == PK_UNUSED || st == PK_RESCUE || st == PK_WAITING;
}

static bool want_survivor(struct prune *p, uint32_t s)
{
	return want_doomed(p, s) && p->pk[s].exists;
}

static int delete_keys(struct prune *p, struct cairn_key_list *l)
{
	int r = 0;
	for (size_t i = 0; i < l->n && r >= 0; i++)
		r = cairn_object_delete_name(p->repo, CAIRN_OBJ_INDEX, l->v[i]);
	return r;
}

/* ---- the run ---- */

struct listed_pack {
	uint8_t id[CAIRN_PACK_ID_LEN];
	uint64_t size;
};

struct pack_listing {
	struct listed_pack *v;
	size_t n, cap;
};

static int collect_pack(const char *name, const uint8_t *id, uint64_t size, void *ud)
{
	(void)name;
	struct pack_listing *l = ud;
	int r = cairn_array_grow(&l->v, &l->cap, l->n, sizeof(*l->v), 1024);
	if (r < 0)
		return r;
	memcpy(l->v[l->n].id, id, CAIRN_PACK_ID_LEN);
	l->v[l->n++].size = size;
	return 0;
}

static int load_index(struct prune *p, struct cairn_key_list *keys, const struct cairn_key_list *skip1,
		      const struct cairn_key_list *skip2)
{
	struct cairn_aead *a = NULL;
	int r = cairn_repo_aead(p->repo, &a);
	if (r < 0)
		return r;
	_cleanup_(cairn_buf_freep) struct cairn_buf obj = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	for (size_t i = 0; i < keys->n && r >= 0; i++) {
		if (cairn_object_name_parse(CAIRN_OBJ_INDEX, keys->v[i], NULL) < 0)
			continue;
		if ((skip1 && skip1->n && bsearch(&keys->v[i], skip1->v, skip1->n, sizeof(char *), cmp_str)) ||
		    (skip2 && skip2->n && bsearch(&keys->v[i], skip2->v, skip2->n, sizeof(char *), cmp_str)))
			continue;
		int q = cairn_index_load_object(p->idx, p->repo, a, keys->v[i], keys->size[i], &obj, &body);
		if (q == CAIRN_ENOTFOUND)
			continue;
		if (q == CAIRN_ECORRUPT || q == CAIRN_EVERSION) {
			/* Its packs become orphans below, read from their own
			 * tables of contents; the object itself is replaced. */
			cairn_log_warn("index object %s is damaged (%s); its packs are read directly", keys->v[i],
				       cairn_error_message());
		} else if (q < 0) {
			r = q;
			break;
		}
		if (skip1)
			continue;
		if ((r = keylist_add(&p->old_index, keys->v[i])) < 0)
			break;
		p->st->index_objects++;
	}
	cairn_aead_free(a);
	return r;
}

static int adopt_orphans(struct prune *p, const struct pack_listing *pl)
{
	struct cairn_aead *a = p->codec.aead;
	for (size_t i = 0; i < pl->n; i++) {
		uint32_t slot;
		if (cairn_index_find_pack(p->idx, pl->v[i].id, &slot) == 0)
			continue;
		_cleanup_free_ struct cairn_toc_entry *toc = NULL;
		size_t n = 0;
		int r = cairn_pack_read_toc(p->repo, a, pl->v[i].id, &toc, &n, NULL);
		if (r == CAIRN_ENOTFOUND)
			continue;
		if (r == CAIRN_ECORRUPT || r == CAIRN_EINVAL) {
			/* Not ours to judge: check reports it, prune leaves it. */
			cairn_log_warn("%s (left alone)", cairn_error_message());
			continue;
		}
		if (r < 0)
			return r;
		if ((r = cairn_index_add_pack_condemned(p->idx, pl->v[i].id, p->now, &slot)) < 0)
			return r;
		for (size_t k = 0; k < n; k++) {
			struct cairn_blob_ref ref = toc[k].ref;
			ref.pack = slot;
			if ((r = cairn_index_insert(p->idx, &ref)) < 0)
				return r;
		}
		p->st->orphan_packs++;
		if ((r = alive(p)) < 0)
			return r;
	}
	return 0;
}

struct cand {
	uint32_t slot;
	uint64_t used, unused;
};

static int most_unused_first(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	/* unused/used, compared without dividing */
	unsigned __int128 l = (unsigned __int128)x->unused * y->used, r = (unsigned __int128)y->unused * x->used;
	if (l != r)
		return l > r ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Whether pack slot s is under object lock: then it cannot go before its
 * date, so it is neither condemned nor repacked (its blobs would only be
 * stored twice), and is counted as kept by the lock. */
static int pack_locked(struct prune *p, uint32_t s, bool *ret)
{
	int64_t until;
	*ret = false;
	if (!p->repo->config.object_lock_days)
		return 0;
	int r = cairn_repo_lock_until(p->repo, CAIRN_OBJ_PACK, cairn_index_pack_id(p->idx, s), &until);
	if (r < 0)
		return r;
	/* The server's clock judges: the real one, not a test's. */
	if (until <= (int64_t)time(NULL))
		return 0;
	*ret = true;
	p->st->packs_locked++;
	p->st->bytes_locked += p->pk[s].size;
	if (until > p->st->locked_until)
		p->st->locked_until = until;
	return 0;
}

static int classify(struct prune *p, const struct pack_listing *pl)
{
	size_t n, np = cairn_index_npacks(p->idx);
	const struct cairn_blob_ref *e = cairn_index_entries(p->idx, &n);
	p->npk = np;
	if (!(p->pk = calloc(np ? np : 1, sizeof(*p->pk))))
		return cairn_error_nomem();
	for (size_t i = 0; i < pl->n; i++) {
		uint32_t slot;
		if (cairn_index_find_pack(p->idx, pl->v[i].id, &slot) == 0 && slot < np) {
			p->pk[slot].exists = true;
			p->pk[slot].size = pl->v[i].size;
			p->st->repo_bytes += pl->v[i].size;
			p->st->packs++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct pk *k = &p->pk[e[i].pack];
		k->count++;
		k->bytes += e[i].stored_len;
		if (bit(p->marked, i)) {
			k->live_count++;
			k->live_bytes += e[i].stored_len;
		}
	}
	_cleanup_free_ struct cand *c = malloc((np ? np : 1) * sizeof(*c));
	if (!c)
		return cairn_error_nomem();
	size_t nc = 0;
	uint64_t used = 0, unused_after = 0;
	for (uint32_t s = 0; s < np; s++) {
		struct pk *k = &p->pk[s];
		bool condemned = cairn_index_pack_condemned(p->idx, s) != 0;
		if (!k->exists) {
			if (k->live_count) {
				char key[80];
				cairn_pack_key(cairn_index_pack_id(p->idx, s), key);
				return cairn_error_set(CAIRN_ECORRUPT,
						       "%s is missing but backups need %u of its blobs; nothing was "
						       "deleted (run 'cairn check')",
						       key, k->live_count);
			}
			k->state = PK_MISSING;
		} else if (condemned) {
			k->state = k->live_count ? PK_RESCUE : PK_WAITING;
		} else if (!k->live_count) {
			bool locked;
			int r = pack_locked(p, s, &locked);
			if (r < 0)
				return r;
			k->state = locked ? PK_KEEP : PK_UNUSED;
			p->st->packs_unused += !locked;
			if (locked)
				p->st->unused_bytes += k->bytes;
		} else {
			k->state = PK_KEEP;
			used += k->live_bytes;
			p->st->used_bytes += k->live_bytes;
			uint64_t unused = k->bytes - k->live_bytes;
			p->st->unused_bytes += unused;
			unused_after += unused;
			if (unused)
				c[nc++] = (struct cand){ s, k->live_bytes, unused };
		}
		if (k->state == PK_RESCUE)
			p->st->used_bytes += k->live_bytes;
		if (k->state == PK_UNUSED)
			p->st->unused_bytes += k->bytes;
	}
	uint64_t max_after;
	if (p->o->unlimited)
		max_after = UINT64_MAX;
	else if (p->o->max_unused_bytes)
		max_after = p->o->max_unused_bytes;
	else {
		double pct = p->o->max_unused_pct > 0 ? p->o->max_unused_pct : 0;
		max_after = pct >= 100 ? UINT64_MAX : (uint64_t)((double)used * pct / (100.0 - pct));
	}
	if (nc)
		qsort(c, nc, sizeof(*c), most_unused_first);
	for (size_t i = 0; i < nc && unused_after > max_after; i++) {
		bool locked;
		int r = pack_locked(p, c[i].slot, &locked);
		if (r < 0)
			return r;
		if (locked)
			continue;
		p->pk[c[i].slot].state = PK_REPACK;
		unused_after -= c[i].unused;
	}
	p->st->unused_after = unused_after;
	return 0;
}

static bool in_list(uint8_t (*v)[CAIRN_BACKUP_ID_LEN], size_t n, const uint8_t *id)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i], id, CAIRN_BACKUP_ID_LEN) == 0)
			return true;
	return false;
}

/* 8: which condemned packs may go now; walks backups that appeared since 2. */
static int decide_deletions(struct prune *p, bool *ret_any)
{
	*ret_any = false;
	struct cairn_presence *mk = NULL;
	size_t nmk = 0;
	int r = cairn_presence_list(p->repo, false, &mk, &nmk);
	if (r < 0)
		return r;
	uint64_t live = 0, here = 0;
	int64_t oldest_here = INT64_MAX;
	for (size_t i = 0; i < nmk; i++) {
		if (cairn_activity_live(&mk[i], p->now, p->window)) {
			live++;
			/* Known to run: no window, not even 0, makes the packs it may
			 * use safe (those condemned before it started, below). */
			if (!mk[i].damaged && cairn_proc_id_alive(&mk[i].who) == CAIRN_PROC_ALIVE) {
				here++;
				oldest_here = MIN(oldest_here, mk[i].created);
			}
			if (mk[i].damaged)
				cairn_log_warn("damaged activity marker (%s): deletions wait for the safety window until %s "
					       "is removed",
					       mk[i].why, mk[i].key);
		} else if (!p->o->dry_run) {
			cairn_log_info("removing the stale activity marker %s (%s on %s, pid %lld)", mk[i].key,
				       mk[i].kind, mk[i].who.host, (long long)mk[i].who.pid);
			(void)cairn_object_delete_name(p->repo, CAIRN_OBJ_MARKER, mk[i].key);
		}
	}
	free(mk);
	p->st->running = live;
	p->st->deferred = live && (p->window > 0 || here);

	if (!p->o->dry_run) {
		/* Backups that finished since 2 may use blobs we condemned: their
		 * index objects first (they may name a pack live again), then
		 * their trees. */
		struct cairn_key_list keys;
		if ((r = cairn_object_list_names(p->repo, CAIRN_OBJ_INDEX, false, &keys)) >= 0) {
			if (p->written.n)
				qsort(p->written.v, p->written.n, sizeof(char *), cmp_str);
			r = load_index(p, &keys, &p->old_index, &p->written);
		}
		cairn_key_list_free(&keys);
		if (r < 0)
			return r;
		struct cairn_manifest_list ml;
		if ((r = cairn_manifest_list_load(p->repo, &ml)) < 0)
			return r;
		size_t n;
		(void)cairn_index_entries(p->idx, &n);
		_cleanup_free_ uint8_t *bits = calloc(n / 8 + 1, 1);
		if (!bits)
			r = cairn_error_nomem();
		for (size_t i = 0; i < ml.n && r >= 0; i++) {
			if (in_list(p->seen_backups, p->nseen, ml.v[i]->id))
				continue;
			bool hit = false;
			r = mark_backup(p, ml.v[i], bits, n, false, &hit);
			cairn_log_debug("backup %s appeared during prune", ml.v[i]->idhex);
		}
		cairn_manifest_list_free(&ml);
		if (r < 0)
			return r;
	}
	for (uint32_t s = 0; s < p->npk; s++) {
		struct pk *k = &p->pk[s];
		if (!want_doomed(p, s))
			continue;
		int64_t c = cairn_index_pack_condemned(p->idx, s);
		if (!c && p->o->dry_run && (k->state == PK_REPACK || k->state == PK_UNUSED))
			c = p->now; /* what a real run would have condemned by now */
		/* A job that started well after c (an hour: the doomed index
		 * objects are written after c, and later on a slow store) loaded
		 * an index where the pack is condemned, so it does not use it. */
		bool blocked_here = here && oldest_here <= c + 3600;
		bool due = !k->keep_now && c && !blocked_here && (p->window == 0 || !live || c + p->window <= p->now);
		if (due) {
			*ret_any = true;
		} else {
			p->st->packs_waiting++;
			p->st->bytes_waiting += k->size;
			k->keep_now = true;
		}
	}
	return 0;
}

static int run(struct prune *p)
{
	struct cairn_prune_stats *st = p->st;
	int r;
	/* A credential that may not delete (append-only) is told before
	 * anything is written. */
	if (!p->o->dry_run && (r = cairn_repo_may_delete(p->repo, "prune")) < 0)
		return r;
	if (!p->o->dry_run && (r = cairn_lease_acquire(p->repo, "prune", p->o->lease_ttl, &p->lease)) < 0)
		return r;
	/* 2 */
	struct cairn_manifest_list ml;
	if ((r = cairn_manifest_list_load(p->repo, &ml)) < 0)
		return r;
	if (ml.damaged) {
		r = cairn_error_set(CAIRN_ECORRUPT,
				    "backup %s is damaged (%s): prune cannot tell what it needs and deletes nothing (run "
				    "'cairn check')",
				    ml.bad[0].idhex, ml.bad[0].why);
		cairn_manifest_list_free(&ml);
		return r;
	}
	st->backups = ml.n;
	if (!(p->seen_backups = malloc((ml.n ? ml.n : 1) * CAIRN_BACKUP_ID_LEN))) {
		cairn_manifest_list_free(&ml);
		return cairn_error_nomem();
	}
	for (size_t i = 0; i < ml.n; i++)
		memcpy(p->seen_backups[p->nseen++], ml.v[i]->id, CAIRN_BACKUP_ID_LEN);
	struct cairn_key_list keys;
	if ((r = cairn_object_list_names(p->repo, CAIRN_OBJ_INDEX, false, &keys)) >= 0)
		r = load_index(p, &keys, NULL, NULL);
	cairn_key_list_free(&keys);
	if (r >= 0 && p->old_index.n)
		qsort(p->old_index.v, p->old_index.n, sizeof(char *), cmp_str);
	/* 3 */
	struct pack_listing pl = { 0 };
	if (r >= 0)
		r = cairn_object_list(p->repo, CAIRN_OBJ_PACK, collect_pack, &pl);
	if (r >= 0)
		r = adopt_orphans(p, &pl);
	/* 4 */
	size_t n = 0;
	if (r >= 0) {
		(void)cairn_index_entries(p->idx, &n);
		st->blobs = n;
		if (!(p->marked = calloc(n / 8 + 1, 1)))
			r = cairn_error_nomem();
	}
	for (size_t i = 0; i < ml.n && r >= 0; i++) {
		r = mark_backup(p, ml.v[i], p->marked, n, true, NULL);
		if (r >= 0)
			r = alive(p);
	}
	cairn_manifest_list_free(&ml);
	/* 5 */
	if (r >= 0)
		r = classify(p, &pl);
	free(pl.v);
	if (r >= 0)
		r = group_by_pack(p);
	if (r < 0)
		return r;
	if (p->o->dry_run) {
		for (size_t s = 0; s < p->npk; s++)
			if (p->pk[s].state == PK_REPACK) {
				st->packs_repacked++;
				st->bytes_repacked += p->pk[s].live_bytes;
			} else if (p->pk[s].state == PK_RESCUE) {
				st->packs_rescued++;
				st->bytes_repacked += p->pk[s].live_bytes;
			}
		bool any;
		if ((r = decide_deletions(p, &any)) < 0)
			return r;
		for (uint32_t s = 0; s < p->npk; s++)
			if (want_doomed(p, s) && !p->pk[s].keep_now) {
				/* As the run would find it: a retained pack stays. */
				bool locked = false;
				if (p->pk[s].state == PK_WAITING && (r = pack_locked(p, s, &locked)) < 0)
					return r;
				if (locked)
					continue;
				st->packs_deleted++;
				st->bytes_deleted += p->pk[s].size;
			}
		return 0;
	}
	/* 6 */
	if ((r = repack(p)) < 0)
		return r;
	for (size_t s = 0; s < p->npk; s++)
		if (p->pk[s].state == PK_UNUSED)
			cairn_index_set_pack_condemned(p->idx, (uint32_t)s, p->now);
	/* 7 */
	if ((r = alive(p)) < 0 || (r = group_by_pack(p)) < 0)
		return r;
	if ((r = write_objects(p, want_live, false)) < 0 || (r = write_objects(p, want_doomed, true)) < 0)
		return r;
	if ((r = cairn_lease_ensure(p->lease, 60)) < 0 || (r = delete_keys(p, &p->old_index)) < 0)
		return r;
	/* 8 */
	bool any;
	if ((r = decide_deletions(p, &any)) < 0)
		return r;
	if (!any)
		return 0;
	/* 9 */
	for (uint32_t s = 0; s < p->npk && r >= 0; s++) {
		if (!want_doomed(p, s) || p->pk[s].keep_now)
			continue;
		if ((r = alive(p)) < 0 || (r = cairn_lease_ensure(p->lease, 60)) < 0)
			break;
		if ((r = cairn_object_delete(p->repo, CAIRN_OBJ_PACK, cairn_index_pack_id(p->idx, s))) < 0) {
			/* Condemned before it was known to be locked (a lock
			 * the store reports only now): it stays condemned,
			 * and a later prune deletes it. */
			bool locked = false;
			if (r != CAIRN_EPERM || pack_locked(p, s, &locked) < 0 || !locked)
				break;
			cairn_error_clear();
			r = 0;
			continue;
		}
		p->pk[s].exists = false;
		st->packs_deleted++;
		st->bytes_deleted += p->pk[s].size;
	}
	if (r < 0)
		return r;
	struct cairn_key_list old_doomed = p->doomed;
	p->doomed = (struct cairn_key_list){ 0 };
	if ((r = group_by_pack(p)) >= 0 && (r = write_objects(p, want_survivor, true)) >= 0)
		r = delete_keys(p, &old_doomed);
	cairn_key_list_free(&old_doomed);
	return r;
}

/* Whether a live marker says a job runs: then an old upload may still be
 * its own (a slow --limit-upload), and the sweep waits for a later prune. */
static bool any_job_running(struct prune *p)
{
	struct cairn_presence *mk = NULL;
	size_t nmk = 0;
	if (cairn_presence_list(p->repo, false, &mk, &nmk) < 0)
		return true;
	bool any = false;
	for (size_t i = 0; i < nmk && !any; i++)
		any = cairn_activity_live(&mk[i], p->now, p->window);
	free(mk);
	return any;
}

int cairn_prune_run(struct cairn_repo *repo, const struct cairn_prune_opts *o, struct cairn_prune_stats *ret)
{
	double t0 = cairn_now();
	struct cairn_prune_stats st = { 0 };
	struct prune p = { .repo = repo, .o = o, .st = &st, .now = cairn_wall_now(),
			   .window = o->window < 0 ? CAIRN_PRUNE_WINDOW_DEFAULT : o->window };
	int r = cairn_index_new(&p.idx);
	if (r >= 0)
		r = cairn_blob_codec_init(&p.codec, repo);
	if (r >= 0)
		r = run(&p);
	/* What killed writes left in the store (a half-written temporary, a
	 * multipart upload never completed): older than the window, and at
	 * least an hour, so that no running upload is touched. */
	if (r >= 0 && !o->dry_run && !any_job_running(&p)) {
		struct cairn_store_sweep sw;
		if (cairn_repo_sweep(repo, p.now - MAX(p.window, (int64_t)3600), &sw) < 0)
			cairn_log_warn("leftovers of interrupted uploads not removed: %s", cairn_error_message());
		st.leftovers_removed = sw.removed;
	}
	cairn_lease_release(p.lease);
	cairn_blob_codec_free(&p.codec);
	cairn_index_free(p.idx);
	cairn_key_list_free(&p.old_index);
	cairn_key_list_free(&p.written);
	cairn_key_list_free(&p.doomed);
	free(p.marked);
	free(p.pk);
	free(p.first);
	free(p.by_pack);
	free(p.seen_backups);
	st.seconds = cairn_now() - t0;
	if (ret)
		*ret = st;
	return r;
}
