/* In-memory index and index objects (format.h INDEX). */
#include "repo/index.h"
#include "repo/idxcache.h"
#include "repo/objects.h"
#include "repo/pack.h"
#include "repo/record.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"

#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <limits.h>
#include <fcntl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pack_slot {
	uint8_t id[CAIRN_PACK_ID_LEN];
	bool fresh;
	int64_t condemned; /* unix seconds; 0: live (format.h PRUNE) */
};

struct cairn_index {
	pthread_rwlock_t lock;
	struct cairn_blob_ref *entries;
	size_t n, cap;
	uint32_t *slots; /* entry index + 1; 0 = empty */
	size_t nslots;   /* power of two */
	struct pack_slot *packs;
	size_t npacks, packcap;
	uint32_t *pslots;
	size_t npslots;
	bool hide_condemned;
	/* The local index cache (idxcache.h), when loaded with one: its pack
	 * table is packs[0 .. its npacks), its entries are looked up after the
	 * RAM ones (which hold only what it lacks, and copies in live packs
	 * of blobs it places in condemned ones: shadowed counts those). */
	struct cairn_idxcache *cache;
	uint64_t shadowed;
	int cache_bad; /* a page failed its check: warned once, file dropped */
};

/* Ids are HMAC outputs: their first bytes are already uniformly spread. */
static inline uint64_t id_hash(const uint8_t *id)
{
	uint64_t h;
	memcpy(&h, id, sizeof(h));
	return h;
}

int cairn_index_new(struct cairn_index **ret)
{
	struct cairn_index *idx = calloc(1, sizeof(*idx));
	if (!idx)
		return cairn_error_nomem();
	pthread_rwlock_init(&idx->lock, NULL);
	*ret = idx;
	return 0;
}

void cairn_index_free(struct cairn_index *idx)
{
	if (!idx)
		return;
	pthread_rwlock_destroy(&idx->lock);
	cairn_idxcache_close(idx->cache);
	free(idx->entries);
	free(idx->slots);
	free(idx->packs);
	free(idx->pslots);
	free(idx);
}

static int rehash(uint32_t **slots, size_t *nslots, size_t want, size_t n, const void *base, size_t stride)
{
	size_t ns = 1024;
	while (ns * 7 / 10 < want)
		ns *= 2;
	uint32_t *s = calloc(ns, sizeof(*s));
	if (!s)
		return cairn_error_nomem();
	for (size_t i = 0; i < n; i++) {
		const uint8_t *id = (const uint8_t *)base + i * stride;
		size_t j = id_hash(id) & (ns - 1);
		while (s[j])
			j = (j + 1) & (ns - 1);
		s[j] = (uint32_t)(i + 1);
	}
	free(*slots);
	*slots = s;
	*nslots = ns;
	return 0;
}

static long find_pack_locked(struct cairn_index *idx, const uint8_t *id)
{
	if (!idx->npslots)
		return -1;
	size_t j = id_hash(id) & (idx->npslots - 1);
	while (idx->pslots[j]) {
		uint32_t e = idx->pslots[j] - 1;
		if (memcmp(idx->packs[e].id, id, CAIRN_PACK_ID_LEN) == 0)
			return e;
		j = (j + 1) & (idx->npslots - 1);
	}
	return -1;
}

/* A pack is condemned only while every index object naming it says so: one
 * that lists it live (a backup that adopted it) makes it live again, since
 * a backup may then use its blobs.  Of two condemnations the earlier one
 * counts. */
static int add_pack_locked(struct cairn_index *idx, const uint8_t *id, bool fresh, int64_t condemned,
			   uint32_t *ret_slot)
{
	long e = find_pack_locked(idx, id);
	if (e >= 0) {
		struct pack_slot *p = &idx->packs[e];
		if (fresh)
			p->fresh = true;
		if (!condemned || fresh)
			p->condemned = 0;
		else if (p->condemned && condemned < p->condemned)
			p->condemned = condemned;
		*ret_slot = (uint32_t)e;
		return 0;
	}
	if (idx->npacks == idx->packcap) {
		size_t cap = idx->packcap ? idx->packcap * 2 : 64;
		struct pack_slot *p = realloc(idx->packs, cap * sizeof(*p));
		if (!p)
			return cairn_error_nomem();
		idx->packs = p;
		idx->packcap = cap;
	}
	if ((idx->npacks + 1) > idx->npslots * 7 / 10) {
		int r = rehash(&idx->pslots, &idx->npslots, idx->npacks + 1, idx->npacks, idx->packs,
			       sizeof(struct pack_slot));
		if (r < 0)
			return r;
	}
	memcpy(idx->packs[idx->npacks].id, id, CAIRN_PACK_ID_LEN);
	idx->packs[idx->npacks].fresh = fresh;
	idx->packs[idx->npacks].condemned = fresh ? 0 : condemned;
	size_t j = id_hash(id) & (idx->npslots - 1);
	while (idx->pslots[j])
		j = (j + 1) & (idx->npslots - 1);
	idx->pslots[j] = (uint32_t)(idx->npacks + 1);
	*ret_slot = (uint32_t)idx->npacks++;
	return 0;
}

int cairn_index_add_pack(struct cairn_index *idx, const uint8_t pack_id[CAIRN_PACK_ID_LEN], bool fresh,
			 uint32_t *ret_slot)
{
	pthread_rwlock_wrlock(&idx->lock);
	int r = add_pack_locked(idx, pack_id, fresh, 0, ret_slot);
	pthread_rwlock_unlock(&idx->lock);
	return r;
}

int cairn_index_add_pack_condemned(struct cairn_index *idx, const uint8_t pack_id[CAIRN_PACK_ID_LEN],
				   int64_t condemned, uint32_t *ret_slot)
{
	pthread_rwlock_wrlock(&idx->lock);
	int r = add_pack_locked(idx, pack_id, false, condemned, ret_slot);
	pthread_rwlock_unlock(&idx->lock);
	return r;
}

int64_t cairn_index_pack_condemned(struct cairn_index *idx, uint32_t slot)
{
	return slot < idx->npacks ? idx->packs[slot].condemned : 0;
}

void cairn_index_set_pack_condemned(struct cairn_index *idx, uint32_t slot, int64_t condemned)
{
	pthread_rwlock_wrlock(&idx->lock);
	if (slot < idx->npacks)
		idx->packs[slot].condemned = condemned;
	pthread_rwlock_unlock(&idx->lock);
}

void cairn_index_hide_condemned(struct cairn_index *idx, bool hide)
{
	idx->hide_condemned = hide;
}

int cairn_index_find_pack(struct cairn_index *idx, const uint8_t pack_id[CAIRN_PACK_ID_LEN], uint32_t *ret_slot)
{
	pthread_rwlock_rdlock(&idx->lock);
	long e = find_pack_locked(idx, pack_id);
	pthread_rwlock_unlock(&idx->lock);
	if (e < 0)
		return CAIRN_ENOTFOUND;
	*ret_slot = (uint32_t)e;
	return 0;
}

const uint8_t *cairn_index_pack_id(struct cairn_index *idx, uint32_t slot)
{
	return slot < idx->npacks ? idx->packs[slot].id : NULL;
}

size_t cairn_index_npacks(struct cairn_index *idx)
{
	return idx->npacks;
}

static long lookup_locked(struct cairn_index *idx, const uint8_t *id)
{
	if (!idx->nslots)
		return -1;
	size_t j = id_hash(id) & (idx->nslots - 1);
	while (idx->slots[j]) {
		uint32_t e = idx->slots[j] - 1;
		if (memcmp(idx->entries[e].id, id, CAIRN_ID_LEN) == 0)
			return e;
		j = (j + 1) & (idx->nslots - 1);
	}
	return -1;
}

/* A lookup in the cache.  A page that fails its check is reported once,
 * the file is dropped (the next load rebuilds it) and its blobs count as
 * unknown: a backup then stores them again, a restore fails on them. */
static int cache_lookup(struct cairn_index *idx, const uint8_t *id, struct cairn_blob_ref *ret)
{
	int r = cairn_idxcache_lookup(idx->cache, id, ret);
	if (r == 0 || r == CAIRN_ENOTFOUND)
		return r;
	if (!__atomic_exchange_n(&idx->cache_bad, 1, __ATOMIC_ACQ_REL)) {
		cairn_log_warn("%s: not using it, it will be rebuilt", cairn_error_message());
		cairn_idxcache_discard(idx->cache);
	}
	return CAIRN_ENOTFOUND;
}

static int insert_locked(struct cairn_index *idx, const struct cairn_blob_ref *ref)
{
	long e = lookup_locked(idx, ref->id);
	if (e >= 0) {
		/* A copy in a live pack beats one in a condemned pack: prune
		 * may delete the latter, and a backup that stored the blob
		 * again must index its own copy. */
		struct cairn_blob_ref *old = &idx->entries[e];
		if (ref->pack < idx->npacks && old->pack < idx->npacks && idx->packs[old->pack].condemned &&
		    !idx->packs[ref->pack].condemned) {
			*old = *ref;
			return 1;
		}
		return 0;
	}
	bool shadow = false;
	if (idx->cache) {
		struct cairn_blob_ref old;
		int q = cache_lookup(idx, ref->id, &old);
		if (q == 0) {
			if (!(ref->pack < idx->npacks && old.pack < idx->npacks && idx->packs[old.pack].condemned &&
			      !idx->packs[ref->pack].condemned))
				return 0;
			shadow = true; /* as above: the live copy wins */
		}
	}
	if (idx->n == idx->cap) {
		size_t cap = idx->cap ? idx->cap * 2 : 4096;
		struct cairn_blob_ref *p = realloc(idx->entries, cap * sizeof(*p));
		if (!p)
			return cairn_error_nomem();
		idx->entries = p;
		idx->cap = cap;
	}
	if (idx->n + 1 > idx->nslots * 7 / 10) {
		int r = rehash(&idx->slots, &idx->nslots, idx->n + 1, idx->n, idx->entries,
			       sizeof(struct cairn_blob_ref));
		if (r < 0)
			return r;
	}
	idx->entries[idx->n] = *ref;
	size_t j = id_hash(ref->id) & (idx->nslots - 1);
	while (idx->slots[j])
		j = (j + 1) & (idx->nslots - 1);
	idx->slots[j] = (uint32_t)(idx->n + 1);
	idx->n++;
	idx->shadowed += shadow;
	return 1;
}

int cairn_index_insert(struct cairn_index *idx, const struct cairn_blob_ref *ref)
{
	pthread_rwlock_wrlock(&idx->lock);
	int r = insert_locked(idx, ref);
	pthread_rwlock_unlock(&idx->lock);
	return r;
}

int cairn_index_lookup(struct cairn_index *idx, const uint8_t id[CAIRN_ID_LEN], struct cairn_blob_ref *ret)
{
	pthread_rwlock_rdlock(&idx->lock);
	long e = lookup_locked(idx, id);
	struct cairn_blob_ref ref;
	int r = CAIRN_ENOTFOUND;
	if (e >= 0) {
		ref = idx->entries[e];
		r = 0;
	} else if (idx->cache) {
		r = cache_lookup(idx, id, &ref);
	}
	if (r == 0 && idx->hide_condemned && idx->packs[ref.pack].condemned)
		r = CAIRN_ENOTFOUND;
	if (r == 0 && ret)
		*ret = ref;
	pthread_rwlock_unlock(&idx->lock);
	return r;
}

long cairn_index_lookup_pos(struct cairn_index *idx, const uint8_t id[CAIRN_ID_LEN])
{
	pthread_rwlock_rdlock(&idx->lock);
	long e = lookup_locked(idx, id);
	pthread_rwlock_unlock(&idx->lock);
	return e;
}

struct cairn_blob_ref *cairn_index_entries(struct cairn_index *idx, size_t *ret_n)
{
	*ret_n = idx->n;
	return idx->entries;
}

size_t cairn_index_count(struct cairn_index *idx)
{
	return idx->n + (idx->cache ? cairn_idxcache_count(idx->cache) - idx->shadowed : 0);
}

int cairn_index_foreach(struct cairn_index *idx, cairn_index_fn fn, void *ud)
{
	for (size_t i = 0; i < idx->n; i++) {
		int r = fn(&idx->entries[i], ud);
		if (r)
			return r;
	}
	uint64_t nc = idx->cache ? cairn_idxcache_count(idx->cache) : 0;
	for (uint64_t i = 0; i < nc; i++) {
		struct cairn_blob_ref ref;
		int r = cairn_idxcache_get(idx->cache, i, &ref);
		if (r < 0)
			return r;
		if (idx->shadowed && lookup_locked(idx, ref.id) >= 0)
			continue;
		if ((r = fn(&ref, ud)))
			return r;
	}
	return 0;
}

/* ---- index objects ---- */

int cairn_index_decode(struct cairn_index *idx, const uint8_t *data, size_t len)
{
	struct cairn_reader rd;
	cairn_reader_init(&rd, data, len);
	const uint8_t *magic = cairn_reader_bytes(&rd, 4);
	uint32_t version = cairn_reader_le32(&rd);
	if (!magic || rd.bad || memcmp(magic, CAIRN_INDEX_MAGIC, 4) != 0)
		return cairn_error_set(CAIRN_ECORRUPT, "index object is truncated or has a bad magic");
	if (version != 1 && version != 2)
		return cairn_error_set(CAIRN_EVERSION, "index object version %u is not supported", version);
	uint32_t npacks = cairn_reader_le32(&rd);
	size_t pack_rec = CAIRN_PACK_ID_LEN + (version == 2 ? 8 : 0);
	if (rd.bad || (uint64_t)npacks * pack_rec > rd.left)
		return cairn_error_set(CAIRN_ECORRUPT, "index object truncated");
	if (npacks > CAIRN_INDEX_PACKS_MAX)
		return cairn_error_set(CAIRN_ECORRUPT, "index object lists %u packs, more than the %u allowed", npacks,
				       CAIRN_INDEX_PACKS_MAX);
	_cleanup_free_ uint32_t *map = malloc((npacks ? npacks : 1) * sizeof(uint32_t));
	if (!map)
		return cairn_error_nomem();
	pthread_rwlock_wrlock(&idx->lock);
	int r = 0;
	for (uint32_t i = 0; i < npacks && r >= 0; i++) {
		const uint8_t *pid = cairn_reader_bytes(&rd, CAIRN_PACK_ID_LEN);
		uint64_t condemned = version == 2 ? cairn_reader_le64(&rd) : 0;
		if (condemned > INT64_MAX)
			r = cairn_error_set(CAIRN_ECORRUPT, "index object has an invalid pack record");
		else
			r = add_pack_locked(idx, pid, false, (int64_t)condemned, &map[i]);
	}
	uint32_t n = cairn_reader_le32(&rd);
	if (r >= 0 && (rd.bad || (uint64_t)n * CAIRN_INDEX_ENTRY_LEN != rd.left))
		r = cairn_error_set(CAIRN_ECORRUPT, "index object has a wrong length");
	if (r >= 0 && n > CAIRN_INDEX_ENTRIES_MAX)
		r = cairn_error_set(CAIRN_ECORRUPT, "index object has %u entries, more than the %u allowed", n,
				    CAIRN_INDEX_ENTRIES_MAX);
	for (uint32_t i = 0; i < n && r >= 0; i++) {
		struct cairn_blob_ref ref;
		uint32_t p = cairn_index_rec_decode(cairn_reader_bytes(&rd, CAIRN_REC_LEN), &ref);
		if (p >= npacks || ref.type > CAIRN_BLOB_CATALOG || !cairn_blob_flags_valid(ref.flags) ||
		    ref.stored_len < CAIRN_AEAD_OVERHEAD ||
		    ref.raw_len > CAIRN_CHUNK_SIZE_MAX + CAIRN_NODE_HEADER_LEN + CAIRN_TREE_FANOUT * CAIRN_ID_LEN) {
			r = cairn_error_set(CAIRN_ECORRUPT, "index object has an invalid entry");
			break;
		}
		ref.pack = map[p];
		r = insert_locked(idx, &ref);
	}
	pthread_rwlock_unlock(&idx->lock);
	return r < 0 ? r : 0;
}

int cairn_index_load(struct cairn_index *idx, struct cairn_repo *repo, bool strict, size_t *ret_damaged)
{
	return cairn_index_load_ex(idx, repo, strict, NULL, NULL, ret_damaged, NULL);
}

int cairn_index_load_object(struct cairn_index *idx, struct cairn_repo *repo, struct cairn_aead *a, const char *key,
			    uint64_t size, struct cairn_buf *obj, struct cairn_buf *body)
{
	uint8_t name[CAIRN_INDEX_NAME_LEN];
	if (cairn_object_name_parse(CAIRN_OBJ_INDEX, key, name) < 0)
		return cairn_error_set(CAIRN_EINVAL, "%s is not an index object name", key);
	int r = cairn_object_read(repo->store, CAIRN_OBJ_INDEX, key, size, obj);
	if (r >= 0)
		r = cairn_repo_unseal(a, CAIRN_AAD_INDEX, name, sizeof(name), obj->data, obj->len, body);
	if (r >= 0)
		r = cairn_index_decode(idx, body->data, body->len);
	return r;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prune replaces index objects by writing the new ones before deleting the
 * old (format.h PRUNE): an object that vanished between our listing and
 * our read is covered by one that a fresh listing shows, so the listing is
 * repeated until a pass finds nothing gone (a few times at most). */
#define LOAD_PASSES 5

/* Index object names, 32 bytes each. */
struct names {
	uint8_t *v;
	size_t n, cap;
};

static void names_free(struct names *l)
{
	free(l->v);
}

static int names_add(struct names *l, const uint8_t *name)
{
	if (cairn_array_grow(&l->v, &l->cap, l->n, CAIRN_INDEX_NAME_LEN, 64) < 0)
		return cairn_error_nomem();
	memcpy(l->v + l->n++ * CAIRN_INDEX_NAME_LEN, name, CAIRN_INDEX_NAME_LEN);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return memcmp(a, b, CAIRN_INDEX_NAME_LEN);
}

static void names_sort(struct names *l)
{
	if (l->n)
		qsort(l->v, l->n, CAIRN_INDEX_NAME_LEN, cmp_name);
}

static bool names_has(const uint8_t *v, size_t n, const uint8_t *name)
{
	return n && bsearch(name, v, n, CAIRN_INDEX_NAME_LEN, cmp_name);
}

/* Called after each index object load_all read whole (building the
 * cache in runs); a negative return stops the load. */
struct load_hook {
	int (*after_object)(struct cairn_index *idx, void *ud);
	void *ud;
};

static int load_all(struct cairn_index *idx, struct cairn_repo *repo, bool strict, cairn_damage_fn fn, void *ud,
		    size_t *ret_damaged, size_t *ret_objects, struct names *loaded, const struct load_hook *hook);

int cairn_index_load_ex(struct cairn_index *idx, struct cairn_repo *repo, bool strict, cairn_damage_fn fn, void *ud,
			size_t *ret_damaged, size_t *ret_objects)
{
	return load_all(idx, repo, strict, fn, ud, ret_damaged, ret_objects, NULL, NULL);
}

/* loaded (may be NULL) gets the names of the objects read whole. */
static int load_all(struct cairn_index *idx, struct cairn_repo *repo, bool strict, cairn_damage_fn fn, void *ud,
		    size_t *ret_damaged, size_t *ret_objects, struct names *loaded, const struct load_hook *hook)
{
	struct cairn_aead *a = NULL;
	int r = cairn_repo_aead(repo, &a);
	if (r < 0)
		return r;
	_cleanup_(cairn_buf_freep) struct cairn_buf obj = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	struct cairn_key_list done = { 0 }; /* loaded or found damaged, sorted */
	size_t damaged = 0, objects = 0;
	for (int pass = 0; pass < LOAD_PASSES && r >= 0; pass++) {
		struct cairn_key_list names;
		if ((r = cairn_store_list_keys(repo->store, "index/", &names)) < 0) {
			cairn_key_list_free(&names);
			break;
		}
		if (pass == 0)
			objects = names.n;
		size_t vanished = 0, ndone = done.n;
		for (size_t i = 0; i < names.n && r >= 0; i++) {
			if (cairn_object_name_parse(CAIRN_OBJ_INDEX, names.v[i], NULL) < 0)
				continue; /* not a name cairn writes: check reports it */
			if (ndone && bsearch(&names.v[i], done.v, ndone, sizeof(char *), cmp_strp))
				continue;
			r = cairn_index_load_object(idx, repo, a, names.v[i], names.size[i], &obj, &body);
			if (r == CAIRN_ENOTFOUND) {
				vanished++;
				r = 0;
				continue;
			}
			if (r == CAIRN_ECORRUPT || r == CAIRN_EVERSION) {
				damaged++;
				if (fn)
					fn(names.v[i], cairn_error_message(), ud);
				cairn_error_prefix(r, "index object %s is damaged", names.v[i]);
				if (strict)
					break;
				if (!fn)
					cairn_log_warn("%s (skipped)", cairn_error_message());
				r = 0;
			} else if (r >= 0 && loaded) {
				uint8_t name[CAIRN_INDEX_NAME_LEN];
				if (cairn_object_name_parse(CAIRN_OBJ_INDEX, names.v[i], name) >= 0)
					r = names_add(loaded, name);
			}
			if (r >= 0 && hook)
				r = hook->after_object(idx, hook->ud);
			if (r >= 0) {
				char *k = strdup(names.v[i]);
				if (!k || cairn_array_grow(&done.v, &done.cap, done.n, sizeof(char *), 64) < 0) {
					free(k);
					r = cairn_error_nomem();
				} else {
					done.v[done.n++] = k;
				}
			}
		}
		cairn_key_list_free(&names);
		if (done.n)
			qsort(done.v, done.n, sizeof(char *), cmp_strp);
		if (!vanished)
			break;
		cairn_log_debug("%zu index object(s) were replaced while being read; listing again", vanished);
	}
	cairn_aead_free(a);
	cairn_key_list_free(&done);
	if (ret_objects)
		*ret_objects = objects;
	if (ret_damaged)
		*ret_damaged = damaged;
	return r;
}

/* ---- loading through the local index cache (idxcache.h) ---- */

/* Empties idx, as cairn_index_new left it. */
static void reset(struct cairn_index *idx)
{
	cairn_idxcache_close(idx->cache);
	free(idx->entries);
	free(idx->slots);
	free(idx->packs);
	free(idx->pslots);
	idx->cache = NULL;
	idx->entries = NULL;
	idx->n = idx->cap = 0;
	idx->slots = NULL;
	idx->nslots = 0;
	idx->packs = NULL;
	idx->npacks = idx->packcap = 0;
	idx->pslots = NULL;
	idx->npslots = 0;
	idx->shadowed = 0;
	idx->cache_bad = 0;
}

static int write_cache_from(struct cairn_index *idx, struct cairn_repo *repo, const char *path,
			    const struct names *objects);

/* Entries to write: the cache's (if any) and the RAM ones, merged in id
 * order; a RAM entry wins over the cache's entry for the same id. */
struct merge {
	struct cairn_index *idx;
	uint32_t *perm; /* RAM entries sorted by id */
	size_t j;
	uint64_t i, nc;
	struct cairn_blob_ref c; /* cache entry i, when i < nc */
};

static int cmp_perm_idx_ud(const void *a, const void *b, void *ud)
{
	const struct cairn_blob_ref *e = ud;
	return memcmp(e[*(const uint32_t *)a].id, e[*(const uint32_t *)b].id, CAIRN_ID_LEN);
}

static int merge_next(void *ud, struct cairn_blob_ref *ret)
{
	struct merge *m = ud;
	struct cairn_index *idx = m->idx;
	bool have_c = m->i < m->nc, have_r = m->j < idx->n;
	if (!have_c && !have_r)
		return 0;
	const struct cairn_blob_ref *r = have_r ? &idx->entries[m->perm[m->j]] : NULL;
	int d = !have_c ? 1 : !have_r ? -1 : memcmp(m->c.id, r->id, CAIRN_ID_LEN);
	if (d < 0) {
		*ret = m->c;
	} else {
		*ret = *r;
		m->j++;
	}
	if (d <= 0 && ++m->i < m->nc) {
		int q = cairn_idxcache_get(idx->cache, m->i, &m->c);
		if (q < 0)
			return q;
	}
	return 1;
}

static int write_cache_from(struct cairn_index *idx, struct cairn_repo *repo, const char *path,
			    const struct names *objects)
{
	struct merge m = { .idx = idx };
	_cleanup_free_ struct cairn_idxcache_pack_rec *packs =
		malloc((idx->npacks ? idx->npacks : 1) * sizeof(*packs));
	m.perm = malloc((idx->n ? idx->n : 1) * sizeof(uint32_t));
	int r = 0;
	if (!packs || !m.perm)
		r = cairn_error_nomem();
	for (size_t s = 0; r >= 0 && s < idx->npacks; s++) {
		memcpy(packs[s].id, idx->packs[s].id, CAIRN_PACK_ID_LEN);
		packs[s].condemned = idx->packs[s].condemned;
	}
	if (r >= 0) {
		for (size_t i = 0; i < idx->n; i++)
			m.perm[i] = (uint32_t)i;
		qsort_r(m.perm, idx->n, sizeof(uint32_t), cmp_perm_idx_ud, idx->entries);
		m.nc = idx->cache ? cairn_idxcache_count(idx->cache) : 0;
		if (m.nc)
			r = cairn_idxcache_get(idx->cache, 0, &m.c);
	}
	if (r >= 0)
		r = cairn_idxcache_write(path, repo->keys->local, repo->config.instance, objects->v, objects->n, packs,
					 idx->npacks, merge_next, &m);
	free(m.perm);
	return r;
}

/* RAM entries on top of the cache past which a load merges them into it:
 * a sixteenth of the cache (so merging costs O(1) per entry over time),
 * at least 256k and at most 1M entries (about 70 MiB of RAM). */
static uint64_t delta_max(uint64_t cached)
{
	return MIN(MAX(cached / 16, (uint64_t)262144), (uint64_t)1048576);
}

/* 0: loaded with the cache; 1: the cache is missing, damaged or stale (idx
 * is to be reset and loaded whole); < 0: an error. */
static int load_with_cache(struct cairn_index *idx, struct cairn_repo *repo, const char *path,
			   size_t *ret_damaged)
{
	_cleanup_(cairn_key_list_freep) struct cairn_key_list keys = { 0 };
	_cleanup_(names_free) struct names listed = { 0 }, loaded = { 0 };
	int r = cairn_store_list_keys(repo->store, "index/", &keys);
	if (r < 0)
		return r;
	for (size_t i = 0; i < keys.n; i++) {
		uint8_t name[CAIRN_INDEX_NAME_LEN];
		if (cairn_object_name_parse(CAIRN_OBJ_INDEX, keys.v[i], name) >= 0 && (r = names_add(&listed, name)) < 0)
			return r;
	}
	names_sort(&listed);

	struct cairn_idxcache *c = NULL;
	r = cairn_idxcache_open(path, repo->keys->local, repo->config.instance, &c);
	if (r == CAIRN_ENOTFOUND) {
		cairn_log_debug("no index cache yet: building it");
		return 1;
	}
	if (r < 0) {
		cairn_log_warn("%s: rebuilding it", cairn_error_message());
		return 1;
	}
	size_t nco = cairn_idxcache_nobjects(c);
	const uint8_t *co = cairn_idxcache_objects(c);
	for (size_t i = 0; i < nco; i++)
		if (!names_has(listed.v, listed.n, co + i * CAIRN_INDEX_NAME_LEN)) {
			/* Prune or repair rewrote the index: the cache may name
			 * blobs that are gone. */
			cairn_log_debug("index objects were replaced since the index cache was built: rebuilding it");
			cairn_idxcache_close(c);
			return 1;
		}
	pthread_rwlock_wrlock(&idx->lock);
	for (size_t i = 0; r >= 0 && i < cairn_idxcache_npacks(c); i++) {
		int64_t condemned;
		const uint8_t *pid = cairn_idxcache_pack(c, i, &condemned);
		uint32_t slot;
		r = add_pack_locked(idx, pid, false, condemned, &slot);
		if (r >= 0 && slot != i)
			r = 1; /* a pack twice: not a file we wrote */
	}
	idx->cache = c;
	pthread_rwlock_unlock(&idx->lock);
	if (r != 0)
		return r;

	/* Objects added since (other hosts' backups, ours): into RAM. */
	struct cairn_aead *a = NULL;
	if ((r = cairn_repo_aead(repo, &a)) < 0)
		return r;
	_cleanup_(cairn_buf_freep) struct cairn_buf obj = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	size_t damaged = 0, added = 0;
	/* An object newer than the cache that vanished while we read was
	 * merged (a backup's background compaction writes the merged object
	 * before deleting the small ones) or replaced by prune: listing again
	 * finds what replaced it, as load_all does.  Only a vanished object
	 * the cache names means a rebuild. */
	for (int pass = 0; r == 0 && pass < LOAD_PASSES; pass++) {
		size_t vanished = 0, nprev = loaded.n;
		if (pass > 0) {
			cairn_key_list_free(&keys);
			keys = (struct cairn_key_list){ 0 };
			if ((r = cairn_store_list_keys(repo->store, "index/", &keys)) < 0)
				break;
			listed.n = 0;
			for (size_t i = 0; r >= 0 && i < keys.n; i++) {
				uint8_t name[CAIRN_INDEX_NAME_LEN];
				if (cairn_object_name_parse(CAIRN_OBJ_INDEX, keys.v[i], name) >= 0)
					r = names_add(&listed, name);
			}
			names_sort(&listed);
			for (size_t i = 0; r >= 0 && i < nco; i++)
				if (!names_has(listed.v, listed.n, co + i * CAIRN_INDEX_NAME_LEN))
					r = 1;
		}
		for (size_t i = 0; i < keys.n && r == 0; i++) {
			uint8_t name[CAIRN_INDEX_NAME_LEN];
			if (cairn_object_name_parse(CAIRN_OBJ_INDEX, keys.v[i], name) < 0 || names_has(co, nco, name) ||
			    names_has(loaded.v, nprev, name))
				continue;
			r = cairn_index_load_object(idx, repo, a, keys.v[i], keys.size[i], &obj, &body);
			if (r == CAIRN_ENOTFOUND) {
				vanished++;
				r = 0;
			} else if (r == CAIRN_ECORRUPT || r == CAIRN_EVERSION) {
				damaged++;
				cairn_error_prefix(r, "index object %s is damaged", keys.v[i]);
				cairn_log_warn("%s (skipped)", cairn_error_message());
				r = 0;
			} else if (r >= 0) {
				added++;
				r = names_add(&loaded, name);
			}
		}
		names_sort(&loaded);
		if (!vanished)
			break;
		cairn_log_debug("%zu index object(s) newer than the cache were replaced while being read; listing again",
				vanished);
		if (pass + 1 == LOAD_PASSES)
			r = 1; /* still moving: the whole load copes */
	}
	cairn_aead_free(a);
	if (r != 0)
		return r;
	cairn_log_debug("index: %llu entries in the cache, %zu from %zu newer index object(s)",
			(unsigned long long)cairn_idxcache_count(c), idx->n, added);
	if (idx->n > delta_max(cairn_idxcache_count(c))) {
		/* Only objects still listed: one read and then merged away is
		 * covered by the merged object, which was read too. */
		size_t keep = 0;
		for (size_t i = 0; i < loaded.n; i++)
			if (names_has(listed.v, listed.n, loaded.v + i * CAIRN_INDEX_NAME_LEN))
				memmove(loaded.v + keep++ * CAIRN_INDEX_NAME_LEN, loaded.v + i * CAIRN_INDEX_NAME_LEN,
					CAIRN_INDEX_NAME_LEN);
		loaded.n = keep;
		for (size_t i = 0; i < nco && r >= 0; i++)
			r = names_add(&loaded, co + i * CAIRN_INDEX_NAME_LEN);
		names_sort(&loaded);
		if (r >= 0)
			r = write_cache_from(idx, repo, path, &loaded);
		if (r < 0)
			cairn_log_warn("index cache not updated: %s", cairn_error_message());
		r = 0;
	}
	if (ret_damaged)
		*ret_damaged = damaged;
	return 0;
}

/* ---- building the cache in sorted runs ----
 *
 * A cache missing or stale (a prune or repair replaced index objects) is
 * rebuilt from every index object.  Loading them all into RAM first would
 * cost the repository's size in memory (70-95 bytes a blob: 700 MiB at 10M
 * blobs) on the very backup that was to need little; instead the objects
 * are read one after another into RAM until RUN_ENTRIES entries are there,
 * which are sorted by id and written to a temporary file (a run) and
 * dropped, keeping only the pack table (about 100 blobs a pack).  The runs
 * are then merged into the cache file (a heap over their heads), and the
 * cache is opened as on any later load.  Memory: one run, the pack table
 * and a read buffer per run; the index is read once and written twice.
 *
 * Duplicates: within a run insert_locked already kept the copy in a live
 * pack; between runs the merge does the same with the packs' final state
 * (a pack is condemned only if every object says so, known once all are
 * read).  The runs are unlinked files (O_TMPFILE where the file system
 * has it) in the cache's directory: nothing else can open them. */
#define RUN_ENTRIES_DEFAULT (1u << 20) /* about 56 MiB of entries and 8 MiB of slots */
static size_t run_entries = RUN_ENTRIES_DEFAULT;

void cairn_index_set_cache_run_entries(size_t n)
{
	run_entries = n ? n : RUN_ENTRIES_DEFAULT;
}

#define RUN_BUFFER (64u << 10)

struct run {
	FILE *f;
	struct cairn_blob_ref head;
};

struct runs {
	const char *dir; /* where the run files go */
	struct run *v;
	size_t n, cap;
	size_t *heap; /* positions in v, by head id */
	size_t nheap;
	struct cairn_index *idx;
	uint64_t written;
};

static void runs_free(struct runs *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].f)
			fclose(rs->v[i].f);
	free(rs->v);
	free(rs->heap);
}

static int open_run_file(const char *dir, FILE **ret)
{
	int fd = -1;
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
	if (fd < 0) {
		char tmpl[PATH_MAX];
		if ((size_t)snprintf(tmpl, sizeof(tmpl), "%s/index-run-XXXXXX", dir) >= sizeof(tmpl))
			return cairn_error_set(CAIRN_EINVAL, "%s: path too long", dir);
		if ((fd = mkostemp(tmpl, O_CLOEXEC)) < 0)
			return cairn_error_errno(errno, "cannot create a temporary file in %s", dir);
		unlink(tmpl);
	}
	FILE *f = fdopen(fd, "w+");
	if (!f) {
		int e = errno;
		close(fd);
		return cairn_error_errno(e, "fdopen");
	}
	*ret = f;
	return 0;
}

static int cmp_ref_id(const void *a, const void *b)
{
	return memcmp(((const struct cairn_blob_ref *)a)->id, ((const struct cairn_blob_ref *)b)->id, CAIRN_ID_LEN);
}

/* Writes the RAM entries to a new run, sorted, and empties them (the pack
 * table stays). */
static int spill(struct cairn_index *idx, struct runs *rs)
{
	if (!idx->n)
		return 0;
	if (cairn_array_grow(&rs->v, &rs->cap, rs->n, sizeof(*rs->v), 16) < 0)
		return cairn_error_nomem();
	struct run *run = &rs->v[rs->n];
	*run = (struct run){ 0 };
	int r = open_run_file(rs->dir, &run->f);
	if (r < 0)
		return r;
	rs->n++;
	qsort(idx->entries, idx->n, sizeof(*idx->entries), cmp_ref_id);
	if (fwrite(idx->entries, sizeof(*idx->entries), idx->n, run->f) != idx->n || fflush(run->f) != 0)
		return cairn_error_errno(errno, "cannot write a temporary file in %s", rs->dir);
	rs->written += idx->n;
	idx->n = 0;
	memset(idx->slots, 0, idx->nslots * sizeof(*idx->slots));
	return 0;
}

static int spill_when_full(struct cairn_index *idx, void *ud)
{
	return idx->n >= run_entries ? spill(idx, ud) : 0;
}

/* 1 with run i's next entry in its head, 0 at its end. */
static int run_advance(struct runs *rs, size_t i)
{
	struct run *run = &rs->v[i];
	if (fread(&run->head, sizeof(run->head), 1, run->f) == 1)
		return run->head.pack < rs->idx->npacks ? 1
							: cairn_error_set(CAIRN_ECORRUPT, "temporary index run damaged");
	if (ferror(run->f))
		return cairn_error_errno(EIO, "cannot read a temporary file in %s", rs->dir);
	return 0;
}

/* By id, then by run: runs are made in the order the objects were read,
 * so of two copies the merge meets first the one a RAM load keeps. */
static bool heap_less(const struct runs *rs, size_t a, size_t b)
{
	int d = memcmp(rs->v[rs->heap[a]].head.id, rs->v[rs->heap[b]].head.id, CAIRN_ID_LEN);
	return d < 0 || (d == 0 && rs->heap[a] < rs->heap[b]);
}

static void heap_down(struct runs *rs, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < rs->nheap && heap_less(rs, l, m))
			m = l;
		if (l + 1 < rs->nheap && heap_less(rs, l + 1, m))
			m = l + 1;
		if (m == i)
			return;
		size_t t = rs->heap[i];
		rs->heap[i] = rs->heap[m];
		rs->heap[m] = t;
		i = m;
	}
}

/* Replaces the heap's top run's head by its next entry (or drops it). */
static int heap_pop_head(struct runs *rs)
{
	int r = run_advance(rs, rs->heap[0]);
	if (r < 0)
		return r;
	if (r == 0)
		rs->heap[0] = rs->heap[--rs->nheap];
	heap_down(rs, 0);
	return 0;
}

/* cairn_idxcache_next_fn over the runs: each id once, the copy in a live
 * pack before one in a condemned pack. */
static int runs_next(void *ud, struct cairn_blob_ref *ret)
{
	struct runs *rs = ud;
	if (!rs->nheap)
		return 0;
	*ret = rs->v[rs->heap[0]].head;
	int r = heap_pop_head(rs);
	while (r >= 0 && rs->nheap && memcmp(rs->v[rs->heap[0]].head.id, ret->id, CAIRN_ID_LEN) == 0) {
		const struct cairn_blob_ref *other = &rs->v[rs->heap[0]].head;
		if (rs->idx->packs[ret->pack].condemned && !rs->idx->packs[other->pack].condemned)
			*ret = *other;
		r = heap_pop_head(rs);
	}
	return r < 0 ? r : 1;
}

static int merge_runs(struct cairn_index *idx, struct cairn_repo *repo, const char *path, struct runs *rs,
		      const struct names *objects)
{
	_cleanup_free_ struct cairn_idxcache_pack_rec *packs =
		malloc((idx->npacks ? idx->npacks : 1) * sizeof(*packs));
	rs->heap = malloc((rs->n ? rs->n : 1) * sizeof(*rs->heap));
	if (!packs || !rs->heap)
		return cairn_error_nomem();
	for (size_t s = 0; s < idx->npacks; s++) {
		memcpy(packs[s].id, idx->packs[s].id, CAIRN_PACK_ID_LEN);
		packs[s].condemned = idx->packs[s].condemned;
	}
	int r = 0;
	for (size_t i = 0; i < rs->n && r >= 0; i++) {
		if (fseek(rs->v[i].f, 0, SEEK_SET) != 0 || setvbuf(rs->v[i].f, NULL, _IOFBF, RUN_BUFFER) != 0)
			r = cairn_error_errno(errno, "cannot read a temporary file in %s", rs->dir);
		else if ((r = run_advance(rs, i)) > 0)
			rs->heap[rs->nheap++] = i;
	}
	if (r < 0)
		return r;
	for (size_t i = rs->nheap / 2 + 1; i-- > 0;)
		heap_down(rs, i);
	/* The instance, as every cache of this repository's is named and
	 * checked (idxcache.h): a key family's members share the id. */
	return cairn_idxcache_write(path, repo->keys->local, repo->config.instance, objects->v, objects->n, packs,
				    idx->npacks, runs_next, rs);
}

/* Builds the cache at path from every index object and loads idx with it
 * (build_cache's comment above). */
static int build_cache(struct cairn_index *idx, struct cairn_repo *repo, const char *path, size_t *ret_damaged)
{
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return cairn_error_nomem();
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	_cleanup_(runs_free) struct runs rs = { .dir = slash ? dir : ".", .idx = idx };
	_cleanup_(names_free) struct names loaded = { 0 };
	struct load_hook hook = { .after_object = spill_when_full, .ud = &rs };
	int r = load_all(idx, repo, false, NULL, NULL, ret_damaged, NULL, &loaded, &hook);
	if (r < 0)
		return r;
	names_sort(&loaded);
	if (!rs.n) {
		/* It all fit in one run: written from RAM.  Then used as the
		 * next load will use it, so that this load's RAM after the
		 * build is theirs and it knows which objects the cache holds
		 * (cairn_index_cached_objects). */
		if (write_cache_from(idx, repo, path, &loaded) < 0) {
			cairn_log_warn("index cache not written: %s", cairn_error_message());
			return 0; /* kept in RAM */
		}
	} else {
		if ((r = spill(idx, &rs)) >= 0)
			r = merge_runs(idx, repo, path, &rs, &loaded);
		cairn_log_debug("index cache built from %zu run(s) of up to %zu entries", rs.n, run_entries);
	}
	reset(idx);
	if (r < 0) {
		/* Without a cache the load is whole, in RAM, as before one existed. */
		cairn_log_warn("index cache not written: %s", cairn_error_message());
		return load_all(idx, repo, false, NULL, NULL, ret_damaged, NULL, NULL, NULL);
	}
	if ((r = load_with_cache(idx, repo, path, ret_damaged)) <= 0)
		return r;
	/* Replaced again while we built it (a prune on another host). */
	reset(idx);
	return load_all(idx, repo, false, NULL, NULL, ret_damaged, NULL, NULL, NULL);
}

struct by_pack {
	uint32_t *counts;
	size_t n;
};

static int count_by_pack_one(const struct cairn_blob_ref *ref, void *ud)
{
	struct by_pack *b = ud;
	if (ref->pack < b->n)
		b->counts[ref->pack]++;
	return 0;
}

int cairn_index_count_by_pack(struct cairn_index *idx, uint32_t *counts, size_t n)
{
	memset(counts, 0, n * sizeof(*counts));
	struct by_pack b = { counts, n };
	/* A RAM entry shadowing a cached one (same id) would count twice:
	 * then walk every entry, as foreach skips the shadowed. */
	if (idx->shadowed)
		return cairn_index_foreach(idx, count_by_pack_one, &b);
	pthread_rwlock_rdlock(&idx->lock);
	for (size_t i = 0; i < idx->n; i++)
		(void)count_by_pack_one(&idx->entries[i], &b);
	size_t nc = idx->cache ? MIN(cairn_idxcache_npacks(idx->cache), n) : 0;
	for (size_t s = 0; s < nc; s++)
		counts[s] += (uint32_t)cairn_idxcache_pack_entries(idx->cache, s);
	pthread_rwlock_unlock(&idx->lock);
	return 0;
}

const uint8_t *cairn_index_cached_objects(struct cairn_index *idx, size_t *ret_n)
{
	*ret_n = idx->cache ? cairn_idxcache_nobjects(idx->cache) : 0;
	return idx->cache ? cairn_idxcache_objects(idx->cache) : NULL;
}

int cairn_index_load_cached(struct cairn_index *idx, struct cairn_repo *repo, const char *state_dir,
			    size_t *ret_damaged)
{
	_cleanup_free_ char *path = NULL;
	if (!state_dir || idx->n || idx->npacks || idx->cache)
		return cairn_index_load(idx, repo, false, ret_damaged);
	if (cairn_idxcache_path(state_dir, repo->config.instance, &path) < 0) {
		cairn_log_warn("no index cache: %s", cairn_error_message());
		return cairn_index_load(idx, repo, false, ret_damaged);
	}
	int r = load_with_cache(idx, repo, path, ret_damaged);
	if (r <= 0)
		return r;
	reset(idx);
	return build_cache(idx, repo, path, ret_damaged);
}

static int adopt_pack(struct cairn_index *idx, struct cairn_repo *repo, struct cairn_aead *a,
		      const uint8_t pack_id[CAIRN_PACK_ID_LEN])
{
	_cleanup_free_ struct cairn_toc_entry *toc = NULL;
	size_t n = 0;
	int r = cairn_pack_read_toc(repo, a, pack_id, &toc, &n, NULL);
	if (r < 0)
		return r;
	uint32_t slot;
	if ((r = cairn_index_add_pack(idx, pack_id, true, &slot)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct cairn_blob_ref ref = toc[i].ref;
		/* Chunks only.  An interrupted writer may have uploaded a tree
		 * node's pack but not its children's: indexed, the node would
		 * tell a same-family copy (which skips a subtree whose root the
		 * destination has) that the whole subtree is there.  A writer
		 * that needs such a node stores it again; it is small.  So
		 * for catalog nodes (format.h CATALOG). */
		if (ref.type != CAIRN_BLOB_CHUNK)
			continue;
		ref.pack = slot;
		if ((r = cairn_index_insert(idx, &ref)) < 0)
			return r;
	}
	return 0;
}

int cairn_index_adopt_orphans(struct cairn_index *idx, struct cairn_repo *repo)
{
	struct cairn_key_list names;
	int r = cairn_store_list_keys(repo->store, "packs/", &names);
	struct cairn_aead *a = NULL;
	if (r >= 0)
		r = cairn_repo_aead(repo, &a);
	size_t known = cairn_index_npacks(idx);
	_cleanup_free_ uint8_t *listed = calloc(known / 8 + 1, 1);
	if (r >= 0 && !listed)
		r = cairn_error_nomem();
	int adopted = 0;
	for (size_t i = 0; i < names.n && r >= 0; i++) {
		uint8_t pid[CAIRN_PACK_ID_LEN];
		uint32_t slot;
		if (cairn_pack_key_parse(names.v[i], pid) < 0)
			continue;
		if (cairn_index_find_pack(idx, pid, &slot) == 0) {
			if (slot < known)
				listed[slot / 8] |= (uint8_t)(1u << (slot % 8));
			continue;
		}
		r = adopt_pack(idx, repo, a, pid);
		if (r == CAIRN_ECORRUPT || r == CAIRN_ENOTFOUND) {
			/* A pack we cannot read is no use to reuse; check reports it. */
			cairn_log_debug("not reusing %s: %s", names.v[i], cairn_error_message());
			r = 0;
		} else if (r >= 0) {
			adopted++;
		}
	}
	/* A pack the index names but the store does not have (deleted by hand,
	 * lost): a backup would deduplicate against blobs that are gone and be
	 * damaged from the start.  Asked once more by name, as a listing may
	 * lag on some stores.  repair index drops such packs from the index. */
	size_t missing = 0;
	char first[80] = "";
	for (size_t s = 0; r >= 0 && s < known; s++) {
		if (listed[s / 8] & (1u << (s % 8)) || cairn_index_pack_condemned(idx, (uint32_t)s))
			continue;
		char key[80];
		uint64_t size;
		cairn_pack_key(cairn_index_pack_id(idx, (uint32_t)s), key);
		int q = cairn_store_stat(repo->store, key, &size);
		if (q == CAIRN_ENOTFOUND) {
			if (!missing++)
				memcpy(first, key, sizeof(first));
		} else if (q < 0) {
			r = q;
		}
	}
	if (r >= 0 && missing)
		r = cairn_error_set(CAIRN_ECORRUPT,
				    "%zu pack(s) the index names are missing from the repository (%s%s): run "
				    "'cairn repair index', then back up again ('cairn check' names the damaged backups)",
				    missing, first, missing > 1 ? ", ..." : "");
	cairn_aead_free(a);
	cairn_key_list_free(&names);
	return r < 0 ? r : adopted;
}

/* Appends one entry record (format.h INDEX) whose pack is at position
 * pack_pos of the object's pack list. */
static int append_entry(struct cairn_buf *body, const struct cairn_blob_ref *e, uint32_t pack_pos)
{
	uint8_t rec[CAIRN_REC_LEN];
	cairn_index_rec_encode(rec, e, pack_pos);
	return cairn_buf_append(body, rec, sizeof(rec));
}

/* One object of cairn_index_write_picked(). */
static int put_picked(struct cairn_index *idx, struct cairn_repo *repo, const uint32_t *slots, size_t ns,
		      const uint32_t *ents, size_t ne, struct cairn_buf *body, cairn_index_written_fn written, void *ud)
{
	char key[96];
	uint64_t bytes = 0;
	pthread_rwlock_rdlock(&idx->lock);
	int r = cairn_index_encode(idx, slots, ns, ents, ne, body);
	pthread_rwlock_unlock(&idx->lock);
	if (r >= 0)
		r = cairn_index_put(repo, body->data, body->len, key, &bytes);
	if (r >= 0 && written)
		r = written(key, bytes, ud);
	return r;
}

int cairn_index_write_picked(struct cairn_index *idx, struct cairn_repo *repo, const bool *pick, size_t npick,
			     cairn_index_written_fn written, void *ud)
{
	/* The picked packs' entries grouped by pack (a counting sort). */
	pthread_rwlock_rdlock(&idx->lock);
	size_t np = MIN(npick, idx->npacks);
	_cleanup_free_ uint32_t *first = calloc(np + 1, sizeof(uint32_t));
	_cleanup_free_ uint32_t *fill = malloc((np ? np : 1) * sizeof(uint32_t));
	_cleanup_free_ uint32_t *by_pack = NULL;
	if (first && fill) {
		for (size_t i = 0; i < idx->n; i++)
			if (idx->entries[i].pack < np && pick[idx->entries[i].pack])
				first[idx->entries[i].pack + 1]++;
		for (size_t s = 0; s < np; s++)
			first[s + 1] += first[s];
		memcpy(fill, first, np * sizeof(uint32_t));
		if ((by_pack = malloc((first[np] ? first[np] : 1) * sizeof(uint32_t))))
			for (size_t i = 0; i < idx->n; i++)
				if (idx->entries[i].pack < np && pick[idx->entries[i].pack])
					by_pack[fill[idx->entries[i].pack]++] = (uint32_t)i;
	}
	pthread_rwlock_unlock(&idx->lock);
	if (!by_pack)
		return cairn_error_nomem();

	/* Whole packs into objects of at most CAIRN_INDEX_OBJECT_ENTRIES. */
	_cleanup_free_ uint32_t *slots = malloc((np ? np : 1) * sizeof(uint32_t));
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	if (!slots)
		return cairn_error_nomem();
	size_t ns = 0, from = 0;
	int r = 0;
	for (uint32_t s = 0; s < np && r >= 0; s++) {
		if (!pick[s])
			continue;
		if (ns && first[s + 1] - from > CAIRN_INDEX_OBJECT_ENTRIES) {
			r = put_picked(idx, repo, slots, ns, by_pack + from, first[s] - from, &body, written, ud);
			ns = 0;
			from = first[s];
		}
		slots[ns++] = s;
	}
	if (r >= 0 && ns)
		r = put_picked(idx, repo, slots, ns, by_pack + from, first[np] - from, &body, written, ud);
	return r;
}

static int add_bytes(const char *key, uint64_t bytes, void *ud)
{
	(void)key;
	*(uint64_t *)ud += bytes;
	return 0;
}

int cairn_index_write_fresh(struct cairn_index *idx, struct cairn_repo *repo, uint64_t *ret_bytes)
{
	uint64_t bytes = 0;
	pthread_rwlock_rdlock(&idx->lock);
	size_t np = idx->npacks, nfresh = 0;
	_cleanup_free_ bool *fresh = malloc((np ? np : 1) * sizeof(bool));
	for (size_t s = 0; fresh && s < np; s++)
		nfresh += (fresh[s] = idx->packs[s].fresh);
	pthread_rwlock_unlock(&idx->lock);
	if (ret_bytes)
		*ret_bytes = 0;
	if (!fresh)
		return cairn_error_nomem();
	if (!nfresh)
		return 0;
	int r = cairn_index_write_picked(idx, repo, fresh, np, add_bytes, &bytes);
	if (r < 0)
		return r;
	pthread_rwlock_wrlock(&idx->lock);
	for (size_t s = 0; s < np; s++)
		idx->packs[s].fresh = false;
	pthread_rwlock_unlock(&idx->lock);
	if (ret_bytes)
		*ret_bytes = bytes;
	return 0;
}

int cairn_index_encode(struct cairn_index *idx, const uint32_t *slots, size_t nslots, const uint32_t *entries,
		       size_t nentries, struct cairn_buf *body)
{
	cairn_buf_clear(body);
	if (nslots > UINT32_MAX || nentries > UINT32_MAX)
		return cairn_error_set(CAIRN_EINVAL, "index object too large");
	_cleanup_free_ uint32_t *map = malloc((idx->npacks ? idx->npacks : 1) * sizeof(uint32_t));
	if (!map)
		return cairn_error_nomem();
	memset(map, 0xff, (idx->npacks ? idx->npacks : 1) * sizeof(uint32_t));
	bool condemned = false;
	for (size_t i = 0; i < nslots; i++) {
		if (slots[i] >= idx->npacks)
			return cairn_error_set(CAIRN_EINVAL, "index object names an unknown pack slot");
		map[slots[i]] = (uint32_t)i;
		condemned = condemned || idx->packs[slots[i]].condemned;
	}
	uint32_t version = condemned ? 2 : 1;
	int r;
	if ((r = cairn_buf_reserve(body, 16 + nslots * (CAIRN_PACK_ID_LEN + 8) + nentries * CAIRN_INDEX_ENTRY_LEN)) <
		    0 ||
	    (r = cairn_buf_append(body, CAIRN_INDEX_MAGIC, 4)) < 0 || (r = cairn_buf_append_le32(body, version)) < 0 ||
	    (r = cairn_buf_append_le32(body, (uint32_t)nslots)) < 0)
		return r;
	for (size_t i = 0; i < nslots; i++) {
		if ((r = cairn_buf_append(body, idx->packs[slots[i]].id, CAIRN_PACK_ID_LEN)) < 0)
			return r;
		if (version == 2 && (r = cairn_buf_append_le64(body, (uint64_t)idx->packs[slots[i]].condemned)) < 0)
			return r;
	}
	if ((r = cairn_buf_append_le32(body, (uint32_t)nentries)) < 0)
		return r;
	for (size_t i = 0; i < nentries; i++) {
		if (entries[i] >= idx->n)
			return cairn_error_set(CAIRN_EINVAL, "index object names an unknown entry");
		const struct cairn_blob_ref *e = &idx->entries[entries[i]];
		if (map[e->pack] == UINT32_MAX)
			return cairn_error_set(CAIRN_EINVAL, "index entry lies in a pack the object does not list");
		if ((r = append_entry(body, e, map[e->pack])) < 0)
			return r;
	}
	return 0;
}

int cairn_index_put(struct cairn_repo *repo, const void *body, size_t len, char ret_key[96], uint64_t *ret_bytes)
{
	uint8_t name[CAIRN_INDEX_NAME_LEN];
	int r = cairn_random(name, sizeof(name));
	if (r < 0)
		return r;
	cairn_object_name(CAIRN_OBJ_INDEX, name, ret_key);
	return cairn_object_put_sealed(repo, NULL, CAIRN_OBJ_INDEX, name, body, len, CAIRN_PUT_CREATE_ONLY, ret_bytes);
}

/* ---- every resolved entry, for the commands that visit them all ---- */

int cairn_index_foreach_resolved(struct cairn_index *idx, cairn_index_fn fn, void *ud)
{
	/* cairn_index_foreach already gives RAM's entries, then the cache's in
	 * id order a page at a time, skipping those RAM shadows; what this adds
	 * is that a cache page failing its check condemns the cache, so the
	 * next load rebuilds it instead of failing the same way. */
	int r = cairn_index_foreach(idx, fn, ud);
	if (r == CAIRN_ECORRUPT && idx->cache)
		cairn_idxcache_discard(idx->cache);
	return r;
}

int cairn_index_run_file(const char *dir, FILE **ret)
{
	return open_run_file(dir, ret);
}
