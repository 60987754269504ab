/* check: structure always, every blob's bytes with --read-data.
 *
 * Order: index objects, then pack TOCs against the index, then (with
 * --read-data) every blob, then every backup's tree.  Damaged or missing
 * blobs are collected in a set so that each backup can be told how much of
 * it is affected.  Tree nodes already found whole are not walked twice, so
 * the cost is O(unique nodes), not O(backups x volume). */
#include "engine/engine.h"
#include "engine/packsort.h"
#include "engine/tuning.h"
#include "repo/group.h"
#include "repo/hold.h"
#include "repo/idxcache.h"
#include "repo/catalog.h"
#include "repo/index.h"
#include "repo/lease.h"
#include "repo/objects.h"
#include "repo/pack.h"
#include "repo/tree.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ck {
	struct cairn_repo *repo;
	const struct cairn_check_opts *o;
	struct cairn_check_stats *st;
	struct cairn_index *idx;
	struct cairn_index *bad;  /* ids of damaged or missing blobs */
	struct cairn_index *good; /* tree nodes verified whole */
	struct cairn_blob_codec codec;
	uint64_t missing, damaged; /* of the backup being walked */
	uint64_t total_bytes;      /* of all packs, for progress (--read-data) */
	const char *tmp_dir;       /* the sort's runs (NULL: packsort.h's default) */
	char *tmp_dir_buf;
	double last_progress;
};

static void report(struct ck *c, bool force)
{
	double now = cairn_now();
	if (c->o->progress && (force || now - c->last_progress > 0.1)) {
		c->o->progress(c->st->bytes_read, c->total_bytes, c->o->progress_ud);
		c->last_progress = now;
	}
}

static int sum_size(const char *name, const uint8_t *id, uint64_t size, void *ud)
{
	(void)name, (void)id;
	*(uint64_t *)ud += size;
	return 0;
}

static void problem(struct ck *c, const char *object, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(struct ck *c, const char *object, const char *fmt, ...)
{
	char what[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	c->st->problems++;
	if (c->o->problem)
		c->o->problem(object, what, c->o->ud);
}

/* A name under a known prefix that is not spelt as cairn writes it
 * (format.h OBJECTS): every reader skips it, so that it can neither double
 * an object nor stand in for one; check names it and leaves it alone. */
static void odd_name(struct ck *c, enum cairn_object_kind k, const char *key)
{
	problem(c, key,
		"not a canonical object name (cairn's are %s, in lower-case hex): every command ignores it; "
		"remove it if nothing of yours put it there",
		cairn_object_kind(k)->layout);
}

struct names_seen {
	struct ck *c;
	enum cairn_object_kind kind;
};

static int check_name(const char *name, const uint8_t *id, uint64_t size, void *ud)
{
	(void)size;
	struct names_seen *n = ud;
	if (!id)
		odd_name(n->c, n->kind, name);
	return 0;
}

/* Every prefix but packs/ (check_packs looks at those names as it lists
 * them); the config has one name, which is either there or not. */
static int check_names(struct ck *c)
{
	for (int k = 0; k < CAIRN_OBJ_KINDS; k++) {
		if (k == CAIRN_OBJ_CONFIG || k == CAIRN_OBJ_PACK)
			continue;
		struct names_seen n = { c, (enum cairn_object_kind)k };
		int r = cairn_object_list_any(c->repo, n.kind, check_name, &n);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Holds, leases and markers that do not open (damaged, or larger than
 * format.h allows, then unread) still count: a hold keeps its backup, a
 * lease blocks prune, a marker defers prune's deletions. */
static int check_presence(struct ck *c)
{
	struct cairn_hold_list hl;
	int r = cairn_hold_list_load(c->repo, &hl);
	if (r < 0)
		return r;
	for (size_t i = 0; i < hl.n; i++) {
		const struct cairn_hold *h = &hl.v[i];
		char key[CAIRN_OBJECT_NAME_MAX];
		cairn_object_name(CAIRN_OBJ_HOLD, h->backup, key);
		if (h->damaged)
			problem(c, key, "%s; it still holds backup %s ('cairn release %s' removes it)", h->why,
				h->backup_hex, h->backup_hex);
	}
	cairn_hold_list_free(&hl);
	for (int leases = 1; leases >= 0; leases--) {
		struct cairn_presence *v = NULL;
		size_t n = 0;
		if ((r = cairn_presence_list(c->repo, leases, &v, &n)) < 0)
			return r;
		for (size_t i = 0; i < n; i++)
			if (v[i].damaged)
				problem(c, v[i].key, "%s; %s", v[i].why,
					leases ? "it blocks prune and repair index until it is deleted"
					       : "prune defers its deletions for the safety window until it is deleted");
		free(v);
	}
	return 0;
}

static void on_damaged_index(const char *object, const char *what, void *ud)
{
	problem(ud, object, "%s", what);
}

/* Reads every index object one at a time (each into an index of its own,
 * dropped after), reporting the damaged ones: *ret_damaged of *ret_objects. */
static int verify_index_objects(struct ck *c, size_t *ret_damaged, size_t *ret_objects)
{
	struct cairn_key_list keys = { 0 };
	struct cairn_aead *a = NULL;
	_cleanup_(cairn_buf_freep) struct cairn_buf obj = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	int r = cairn_object_list_names(c->repo, CAIRN_OBJ_INDEX, false, &keys);
	if (r >= 0)
		r = cairn_repo_aead(c->repo, &a);
	*ret_damaged = *ret_objects = 0;
	for (size_t i = 0; i < keys.n && r >= 0; i++) {
		if (cairn_object_name_parse(CAIRN_OBJ_INDEX, keys.v[i], NULL) < 0)
			continue;
		(*ret_objects)++;
		_cleanup_(cairn_index_freep) struct cairn_index *one = NULL;
		if ((r = cairn_index_new(&one)) < 0)
			break;
		r = cairn_index_load_object(one, c->repo, a, keys.v[i], keys.size[i], &obj, &body);
		if (r == CAIRN_ENOTFOUND) {
			r = 0; /* replaced by a prune meanwhile: its successor is listed too */
		} else if (r == CAIRN_ECORRUPT || r == CAIRN_EVERSION) {
			problem(c, keys.v[i], "%s", cairn_error_message());
			(*ret_damaged)++;
			r = 0;
		}
	}
	cairn_aead_free(a);
	cairn_key_list_free(&keys);
	return r;
}

static void ignore_damage(const char *object, const char *what, void *ud)
{
	(void)object, (void)what, (void)ud; /* reported by verify_index_objects */
}

/* The index for the check.  With a state directory, through the local
 * index cache (repo/idxcache.h): RAM holds the pack table and the cache's
 * fences, not the index.  Every index object is read all the same, one at
 * a time, so that damage to one is found.  A cache built while a damaged
 * one was whole would still hold its entries, so with damage (a rare
 * path) the index is loaded whole into RAM, without them, as before the
 * cache existed; so it is without a state directory. */
static int load_index(struct ck *c, size_t *ret_objects)
{
	if (!c->o->state_dir || cairn_engine_tuning()->no_index_cache)
		return cairn_index_load_ex(c->idx, c->repo, false, on_damaged_index, c, NULL, ret_objects);
	size_t damaged = 0;
	int r = verify_index_objects(c, &damaged, ret_objects);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = NULL;
	if (damaged || cairn_idxcache_path(c->o->state_dir, c->repo->config.instance, &path) < 0)
		return cairn_index_load_ex(c->idx, c->repo, false, ignore_damage, NULL, NULL, NULL);
	char *slash = strrchr(path, '/');
	if (slash && (c->tmp_dir_buf = strndup(path, (size_t)(slash - path))))
		c->tmp_dir = c->tmp_dir_buf;
	return cairn_index_load_cached(c->idx, c->repo, c->o->state_dir, NULL);
}

static void mark_bad(struct ck *c, const uint8_t id[CAIRN_ID_LEN])
{
	struct cairn_blob_ref ref = { 0 };
	memcpy(ref.id, id, CAIRN_ID_LEN);
	(void)cairn_index_insert(c->bad, &ref);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Blobs the index places in a pack (grouped once by an external sort,
 * packsort.h: the whole index is walked once, not once per pack, and
 * never held in RAM), checked against that pack's TOC. */
static int by_id(const void *a, const void *b)
{
	return memcmp(((const struct cairn_toc_entry *)a)->ref.id, ((const struct cairn_toc_entry *)b)->ref.id,
		      CAIRN_ID_LEN);
}

static uint64_t check_indexed(struct ck *c, const struct cairn_blob_ref *e, size_t n,
			      const struct cairn_toc_entry *toc, size_t ntoc)
{
	uint64_t mismatches = 0;
	for (size_t i = 0; i < n; i++) {
		const struct cairn_blob_ref *ref = &e[i];
		struct cairn_toc_entry key = { .ref = *ref };
		const struct cairn_toc_entry *t = bsearch(&key, toc, ntoc, sizeof(*toc), by_id);
		if (!t || t->ref.offset != ref->offset || t->ref.stored_len != ref->stored_len ||
		    t->ref.raw_len != ref->raw_len || t->ref.flags != ref->flags || t->ref.type != ref->type) {
			mark_bad(c, ref->id);
			mismatches++;
		}
	}
	return mismatches;
}

static void mark_lost(struct ck *c, const struct cairn_blob_ref *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mark_bad(c, e[i].id);
}

/* The index's packs in the order of their names, one group at a time:
 * the pack listing (sorted by name) is merged with it. */
struct groups {
	struct cairn_packsort *ps;
	bool have, taken;
	uint32_t slot;
	const struct cairn_blob_ref *v;
	size_t n;
};

static int groups_advance(struct groups *g)
{
	int r = cairn_packsort_next(g->ps, &g->slot, &g->v, &g->n);
	g->have = r > 0;
	return r < 0 ? r : 0;
}

/* Entries of the packs whose ids sort before pid (NULL: all that are
 * left): the listing passed them by, so they are missing (reported below)
 * and their blobs lost.  Then, when pid is the indexed pack at slot, its
 * own entries in *ret (none: n 0). */
static int groups_upto(struct ck *c, struct groups *g, const uint8_t *pid, bool indexed, uint32_t slot,
		       const struct cairn_blob_ref **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	int r = 0;
	if (g->taken) {
		g->taken = false;
		r = groups_advance(g);
	}
	while (r >= 0 && g->have &&
	       (!pid || memcmp(cairn_index_pack_id(c->idx, g->slot), pid, CAIRN_PACK_ID_LEN) < 0)) {
		mark_lost(c, g->v, g->n);
		r = groups_advance(g);
	}
	if (r >= 0 && indexed && g->have && g->slot == slot) {
		*ret = g->v;
		*ret_n = g->n;
		g->taken = true; /* handed out: dropped by the next call */
	}
	return r;
}

static int read_pack_data(struct ck *c, const char *key, const uint8_t pack_id[CAIRN_PACK_ID_LEN],
			  struct cairn_toc_entry *toc, size_t n, uint64_t size)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf data = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf plain = CAIRN_BUF_INIT;
	int r = cairn_object_get_range(c->repo, CAIRN_OBJ_PACK, pack_id, 0, size, &data);
	if (r < 0)
		return r;
	c->st->bytes_read += data.len;
	report(c, false);
	for (size_t i = 0; i < n; i++) {
		const struct cairn_blob_ref *ref = &toc[i].ref;
		if ((r = cairn_buf_reserve(&plain, ref->raw_len ? ref->raw_len : 1)) < 0)
			return r;
		if (ref->offset + (uint64_t)ref->stored_len > data.len ||
		    cairn_blob_decode(&c->codec, ref, data.data + ref->offset, plain.data) < 0) {
			char hex[2 * CAIRN_ID_LEN + 1];
			cairn_hex_encode(ref->id, CAIRN_ID_LEN, hex);
			problem(c, key, "blob %.16s at offset %u is damaged", hex, ref->offset);
			mark_bad(c, ref->id);
		}
	}
	return 0;
}

static int check_packs(struct ck *c)
{
	struct cairn_key_list names;
	int r = cairn_object_list_names(c->repo, CAIRN_OBJ_PACK, true, &names);
	if (r < 0)
		return r;
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	if (c->o->read_data && c->o->progress && (r = cairn_object_list_any(c->repo, CAIRN_OBJ_PACK, sum_size, &c->total_bytes)) < 0) {
		cairn_key_list_free(&names);
		return r;
	}
	size_t npacks = cairn_index_npacks(c->idx);
	_cleanup_free_ uint8_t *seen = calloc(npacks ? npacks : 1, 1);
	_cleanup_free_ uint32_t *key = NULL;
	_cleanup_(cairn_packsort_freep) struct cairn_packsort *ps = NULL;
	if (!seen)
		r = cairn_error_nomem();
	else if ((r = cairn_packsort_id_order(c->idx, &key)) >= 0)
		r = cairn_packsort_new(c->idx, key, npacks, c->tmp_dir, c->o->sort_run_entries, &ps);
	struct groups g = { .ps = ps };
	if (r >= 0)
		r = groups_advance(&g);
	if (r < 0) {
		cairn_key_list_free(&names);
		return r;
	}
	for (size_t i = 0; i < names.n && r >= 0; i++) {
		uint8_t pid[CAIRN_PACK_ID_LEN];
		if (cairn_pack_key_parse(names.v[i], pid) < 0) {
			odd_name(c, CAIRN_OBJ_PACK, names.v[i]);
			continue;
		}
		if (cairn_cancel_requested) {
			r = cairn_error_set(CAIRN_ECANCELED, "interrupted");
			break;
		}
		uint32_t slot;
		bool indexed = cairn_index_find_pack(c->idx, pid, &slot) == 0 && slot < npacks;
		if (indexed)
			seen[slot] = 1;
		const struct cairn_blob_ref *mine;
		size_t nmine;
		if ((r = groups_upto(c, &g, pid, indexed, slot, &mine, &nmine)) < 0)
			break;
		c->st->packs++;
		struct cairn_toc_entry *toc = NULL;
		size_t n = 0;
		uint64_t size = 0;
		int q = cairn_pack_read_toc(c->repo, c->codec.aead, pid, &toc, &n, &size);
		if (q == CAIRN_ECORRUPT || q == CAIRN_EINVAL) {
			problem(c, names.v[i], "%s", cairn_error_message());
			mark_lost(c, mine, nmine);
			continue;
		}
		if (q < 0) {
			r = q;
			break;
		}
		c->st->blobs += n;
		if (!indexed) {
			/* Left by an interrupted backup: harmless, reused later. */
			free(toc);
			continue;
		}
		if (n)
			qsort(toc, n, sizeof(*toc), by_id);
		uint64_t mismatches = check_indexed(c, mine, nmine, toc, n);
		if (mismatches)
			problem(c, names.v[i], "%llu index entries disagree with the pack's table of contents",
				(unsigned long long)mismatches);
		if (c->o->read_data)
			r = read_pack_data(c, names.v[i], pid, toc, n, size);
		free(toc);
	}
	cairn_key_list_free(&names);
	/* The index's packs after the last one listed are missing too. */
	const struct cairn_blob_ref *none;
	size_t nnone;
	if (r >= 0)
		r = groups_upto(c, &g, NULL, false, 0, &none, &nnone);
	for (uint32_t s = 0; r >= 0 && s < npacks; s++) {
		if (seen[s])
			continue;
		/* Condemned packs are deleted by prune before the index object
		 * naming them (format.h PRUNE): their absence is no damage in
		 * itself, only if a backup still needs one of their blobs. */
		char key[80];
		cairn_pack_key(cairn_index_pack_id(c->idx, s), key);
		if (!cairn_index_pack_condemned(c->idx, s))
			problem(c, key, "pack is named by the index but missing from the repository");
		/* (its blobs were marked lost as the listing passed it) */
	}
	return r;
}

/* Walks a tree: counts missing and damaged chunks; returns < 0 only for
 * errors that stop the check (not for damage). */
static int walk(struct ck *c, const struct cairn_manifest *m, const uint8_t *id, unsigned level, uint64_t k,
		uint64_t nchunks, bool *ret_whole)
{
	*ret_whole = true;
	if (cairn_id_is_zero(id))
		return 0;
	if (level == 0) {
		struct cairn_blob_ref ref;
		uint64_t off = k * m->chunk_size;
		uint32_t want = (uint32_t)MIN((uint64_t)m->chunk_size, m->size - off);
		if (cairn_index_lookup(c->idx, id, &ref) < 0) {
			c->missing++;
			*ret_whole = false;
		} else if (cairn_index_lookup(c->bad, id, NULL) == 0 || ref.raw_len != want ||
			   ref.type != CAIRN_BLOB_CHUNK) {
			c->damaged++;
			*ret_whole = false;
		}
		return 0;
	}
	if (cairn_index_lookup(c->good, id, NULL) == 0)
		return 0;
	_cleanup_(cairn_buf_freep) struct cairn_buf node = CAIRN_BUF_INIT;
	uint32_t want = cairn_tree_node_count(nchunks, m->fanout, level, k);
	const uint8_t *ids = NULL;
	int r = cairn_blob_read(c->repo, c->idx, &c->codec, id, &node);
	if (r >= 0)
		r = want ? cairn_tree_node_parse(node.data, node.len, level, want, &ids)
			 : cairn_error_set(CAIRN_ECORRUPT, "tree node beyond the volume's end");
	if (r == CAIRN_ENOTFOUND || r == CAIRN_ECORRUPT || r == CAIRN_EINVAL) {
		char hex[2 * CAIRN_ID_LEN + 1];
		cairn_hex_encode(id, CAIRN_ID_LEN, hex);
		problem(c, m->idhex, "tree node %.16s (level %u): %s", hex, level, cairn_error_message());
		uint64_t span = 1;
		for (unsigned l = 0; l < level; l++)
			span *= m->fanout;
		c->damaged += MIN(span, nchunks - MIN(nchunks, k * span));
		*ret_whole = false;
		return 0;
	}
	if (r < 0)
		return r;
	/* Children come from a copy: the recursion reuses no buffer of ours. */
	_cleanup_free_ uint8_t *kids = malloc((size_t)want * CAIRN_ID_LEN);
	if (!kids)
		return cairn_error_nomem();
	memcpy(kids, ids, (size_t)want * CAIRN_ID_LEN);
	bool whole = true;
	for (uint32_t i = 0; i < want; i++) {
		bool w;
		if ((r = walk(c, m, kids + (size_t)i * CAIRN_ID_LEN, level - 1, k * m->fanout + i, nchunks, &w)) < 0)
			return r;
		whole = whole && w;
	}
	if (whole) {
		struct cairn_blob_ref ref = { 0 };
		memcpy(ref.id, id, CAIRN_ID_LEN);
		(void)cairn_index_insert(c->good, &ref);
	}
	*ret_whole = whole;
	return 0;
}

/* Walks a backup's file catalog (format.h CATALOG): a node missing or
 * damaged is a problem of the backup (its files cannot be listed), though
 * no chunk of it is lost.  Whole subtrees seen before are skipped. */
static int walk_catalog(struct ck *c, const struct cairn_manifest *m, const uint8_t *id, bool *ret_whole)
{
	*ret_whole = true;
	if (cairn_id_is_zero(id) || cairn_index_lookup(c->good, id, NULL) == 0)
		return 0;
	_cleanup_(cairn_buf_freep) struct cairn_buf node = CAIRN_BUF_INIT;
	_cleanup_free_ uint8_t *kids = NULL;
	size_t nkids = 0;
	struct cairn_blob_ref ref;
	int r = cairn_blob_read(c->repo, c->idx, &c->codec, id, &node);
	if (r >= 0 && (cairn_index_lookup(c->idx, id, &ref) < 0 || ref.type != CAIRN_BLOB_CATALOG))
		r = cairn_error_set(CAIRN_ECORRUPT, "not indexed as a catalog node");
	if (r >= 0)
		r = cairn_catalog_node_children(node.data, node.len, &kids, &nkids);
	if (r == CAIRN_ENOTFOUND || r == CAIRN_ECORRUPT || r == CAIRN_EINVAL) {
		char hex[2 * CAIRN_ID_LEN + 1];
		cairn_hex_encode(id, CAIRN_ID_LEN, hex);
		problem(c, m->idhex, "catalog node %.16s: %s", hex, cairn_error_message());
		*ret_whole = false;
		return 0;
	}
	if (r < 0)
		return r;
	cairn_buf_free(&node);
	bool whole = true;
	for (size_t i = 0; i < nkids; i++) {
		bool w;
		if ((r = walk_catalog(c, m, kids + i * CAIRN_ID_LEN, &w)) < 0)
			return r;
		whole = whole && w;
	}
	if (whole) {
		memset(&ref, 0, sizeof(ref));
		memcpy(ref.id, id, CAIRN_ID_LEN);
		(void)cairn_index_insert(c->good, &ref);
	}
	*ret_whole = whole;
	return 0;
}

int cairn_check_run(struct cairn_repo *repo, const struct cairn_check_opts *o, struct cairn_check_stats *ret)
{
	struct cairn_check_stats st = { 0 };
	struct ck c = { .repo = repo, .o = o, .st = &st };
	_cleanup_(cairn_activity_endp) struct cairn_activity *activity = NULL;
	int r;
	if ((r = cairn_activity_begin(repo, "check", &activity)) < 0)
		return r;
	if ((r = cairn_index_new(&c.idx)) < 0 || (r = cairn_index_new(&c.bad)) < 0 ||
	    (r = cairn_index_new(&c.good)) < 0 || (r = cairn_blob_codec_init(&c.codec, repo)) < 0)
		goto out;
	if ((r = check_names(&c)) < 0)
		goto out;
	size_t nobj = 0;
	if ((r = load_index(&c, &nobj)) < 0)
		goto out;
	st.index_objects = nobj;
	if ((r = check_packs(&c)) < 0)
		goto out;
	struct cairn_manifest_list l;
	if ((r = cairn_manifest_list_load(repo, &l)) < 0)
		goto out;
	if (o->listed)
		o->listed(&l, o->ud);
	for (size_t i = 0; i < l.damaged; i++) {
		char key[CAIRN_OBJECT_NAME_MAX];
		(void)cairn_object_name_hex(CAIRN_OBJ_MANIFEST, l.bad[i].idhex, key);
		problem(&c, key, "%s", l.bad[i].why);
	}
	struct cairn_group_backup_list gl;
	if ((r = cairn_group_backup_list_load(repo, &gl)) < 0) {
		cairn_manifest_list_free(&l);
		goto out;
	}
	for (size_t i = 0; i < gl.damaged; i++) {
		char key[CAIRN_OBJECT_NAME_MAX];
		(void)cairn_object_name_hex(CAIRN_OBJ_GROUP, gl.bad[i], key);
		problem(&c, key, "%s; 'cairn forget %s' removes it, its members stay as backups", gl.why[i],
			gl.bad[i]);
	}
	cairn_group_backup_list_free(&gl);
	if ((r = check_presence(&c)) < 0) {
		cairn_manifest_list_free(&l);
		goto out;
	}
	for (size_t i = 0; i < l.n && r >= 0; i++) {
		const struct cairn_manifest *m = l.v[i];
		st.backups++;
		c.missing = c.damaged = 0;
		uint64_t nchunks = (m->size + m->chunk_size - 1) / m->chunk_size;
		bool whole;
		if (m->chunk_size != repo->config.chunk_size || m->levels != cairn_tree_levels(nchunks, m->fanout)) {
			problem(&c, m->idhex, "manifest does not match the repository's chunk size or tree shape");
			c.damaged = nchunks;
		} else if (nchunks) {
			r = walk(&c, m, m->root, m->levels, 0, nchunks, &whole);
		}
		if (r >= 0 && m->has_catalog)
			r = walk_catalog(&c, m, m->catalog, &whole);
		if (r >= 0 && (c.missing || c.damaged)) {
			st.backups_affected++;
			if (o->affected)
				o->affected(m, c.missing, c.damaged, o->ud);
		}
	}
	cairn_manifest_list_free(&l);
out:
	cairn_blob_codec_free(&c.codec);
	cairn_index_free(c.idx);
	cairn_index_free(c.bad);
	cairn_index_free(c.good);
	free(c.tmp_dir_buf);
	if (ret)
		*ret = st;
	if (r < 0)
		return r;
	return st.problems || st.backups_affected ? cairn_error_set(CAIRN_ECORRUPT, "%llu problem(s) found, %llu backup(s) affected",
					     (unsigned long long)st.problems, (unsigned long long)st.backups_affected)
			   : 0;
}
