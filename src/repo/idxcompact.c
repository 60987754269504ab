/* Compaction of small index objects (index.h cairn_index_compact). */
#include "repo/index.h"
#include "repo/lease.h"
#include "repo/objects.h"
#include "repo/objlock.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

/* An object under an eighth of the size writers aim for (format.h INDEX:
 * CAIRN_INDEX_OBJECT_ENTRIES entries) is small: one backup of a volume
 * that changed little writes one. */
#define SMALL_BYTES ((uint64_t)CAIRN_INDEX_OBJECT_ENTRIES * CAIRN_INDEX_ENTRY_LEN / 8)

static int count_written(const char *key, uint64_t bytes, void *ud)
{
	(void)key;
	(void)bytes;
	(*(size_t *)ud)++;
	return 0;
}

/* What one compaction may take: small objects (not those named in skip,
 * sorted, 32 bytes each) when at least min_small of them are there, the
 * smallest first, up to max_objects of them and max_bytes in all (0: no
 * limit).  try_once: a busy lease (prune or repair at work) is not an
 * error, the compaction is just skipped. */
struct compact_limits {
	size_t min_small, max_objects;
	uint64_t max_bytes;
	const uint8_t *skip;
	size_t nskip;
	bool try_once;
};

static int cmp_name(const void *a, const void *b)
{
	return memcmp(a, b, CAIRN_INDEX_NAME_LEN);
}

struct candidate {
	size_t key; /* position in the listing */
	uint64_t size;
};

static int cmp_candidate(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	return x->size < y->size ? -1 : x->size > y->size;
}

static int compact(struct cairn_repo *repo, const struct compact_limits *lim, size_t *ret_old, size_t *ret_new)
{
	*ret_old = *ret_new = 0;
	_cleanup_(cairn_key_list_freep) struct cairn_key_list keys = { 0 };
	int r = cairn_store_list_keys(repo->store, "index/", &keys);
	if (r < 0)
		return r;
	_cleanup_free_ struct candidate *cand = malloc((keys.n ? keys.n : 1) * sizeof(*cand));
	if (!cand)
		return cairn_error_nomem();
	size_t nsmall = 0;
	for (size_t i = 0; i < keys.n; i++) {
		uint8_t name[CAIRN_INDEX_NAME_LEN];
		if (cairn_object_name_parse(CAIRN_OBJ_INDEX, keys.v[i], name) < 0 || keys.size[i] >= SMALL_BYTES ||
		    (lim->nskip && bsearch(name, lim->skip, lim->nskip, CAIRN_INDEX_NAME_LEN, cmp_name)))
			continue;
		cand[nsmall++] = (struct candidate){ .key = i, .size = keys.size[i] };
	}
	if (nsmall < MAX(lim->min_small, (size_t)2))
		return 0;
	/* Smallest first, within the limits: many objects for little work. */
	qsort(cand, nsmall, sizeof(*cand), cmp_candidate);
	size_t take = 0;
	uint64_t bytes = 0;
	while (take < nsmall && (!lim->max_objects || take < lim->max_objects) &&
	       (!lim->max_bytes || bytes + cand[take].size <= lim->max_bytes))
		bytes += cand[take++].size;
	if (take < 2)
		return 0;
	/* An append-only credential would write the merged object and then
	 * fail to delete the old ones, leaving one more object each time. */
	if (lim->try_once && (r = cairn_repo_may_delete(repo, "index compaction")) < 0) {
		cairn_log_debug("index objects not compacted: %s", cairn_error_message());
		return r == CAIRN_EPERM ? 0 : r;
	}
	/* Prune and repair rewrite the index under the lease: not at once with
	 * us.  Backups only add objects, which we neither read nor delete. */
	struct cairn_lease *lease = NULL;
	/* Named for what it is: a prune refused by a backup's background
	 * merge says so, not "repair". */
	if ((r = cairn_lease_acquire(repo, lim->try_once ? "index merge" : "repair", 0, &lease)) < 0) {
		if (r == CAIRN_EBUSY && lim->try_once) {
			cairn_log_debug("index objects not compacted: %s", cairn_error_message());
			return 0;
		}
		return r;
	}
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	_cleanup_free_ bool *merged = calloc(keys.n ? keys.n : 1, sizeof(bool));
	struct cairn_aead *a = NULL;
	if (!merged)
		r = cairn_error_nomem();
	if (r >= 0)
		r = cairn_index_new(&idx);
	if (r >= 0)
		r = cairn_repo_aead(repo, &a);
	_cleanup_(cairn_buf_freep) struct cairn_buf obj = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	for (size_t c = 0; r >= 0 && c < take; c++) {
		size_t i = cand[c].key;
		r = cairn_index_load_object(idx, repo, a, keys.v[i], keys.size[i], &obj, &body);
		if (r == CAIRN_ENOTFOUND || r == CAIRN_ECORRUPT || r == CAIRN_EVERSION) {
			/* Gone, or damaged: left as it is (check reports it). */
			cairn_log_debug("not compacting %s: %s", keys.v[i], cairn_error_message());
			r = 0;
			continue;
		}
		if (r >= 0)
			merged[i] = true;
		if (r >= 0)
			r = cairn_lease_keepalive(lease);
	}
	cairn_aead_free(a);
	/* Every pack and entry read, in objects of the usual size, written
	 * create-only before any old one goes: a reader in between sees
	 * entries twice, never none. */
	size_t np = r >= 0 ? cairn_index_npacks(idx) : 0;
	_cleanup_free_ bool *pick = malloc(np ? np : 1);
	if (r >= 0 && !pick)
		r = cairn_error_nomem();
	if (r >= 0) {
		memset(pick, 1, np ? np : 1);
		r = cairn_index_write_picked(idx, repo, pick, np, count_written, ret_new);
	}
	if (r >= 0)
		r = cairn_lease_ensure(lease, 60);
	for (size_t i = 0; r >= 0 && i < keys.n; i++)
		if (merged[i]) {
			r = cairn_store_del(repo->store, keys.v[i]);
			if (r == CAIRN_ENOTFOUND)
				r = 0;
			*ret_old += r >= 0;
		}
	cairn_lease_release(lease);
	return r;
}

int cairn_index_compact(struct cairn_repo *repo, size_t min_small, size_t *ret_old, size_t *ret_new)
{
	struct compact_limits lim = { .min_small = min_small };
	return compact(repo, &lim, ret_old, ret_new);
}

int cairn_index_compact_background(struct cairn_index *idx, struct cairn_repo *repo, size_t *ret_old,
				   size_t *ret_new)
{
	*ret_old = *ret_new = 0;
	struct compact_limits lim = { .min_small = CAIRN_INDEX_COMPACT_BACKGROUND,
				      .max_objects = CAIRN_INDEX_COMPACT_BACKGROUND_MAX,
				      .max_bytes = (uint64_t)CAIRN_INDEX_OBJECT_ENTRIES * CAIRN_INDEX_ENTRY_LEN,
				      .try_once = true };
	lim.skip = cairn_index_cached_objects(idx, &lim.nskip);
	return compact(repo, &lim, ret_old, ret_new);
}
