/* Compaction of small index objects (index.h cairn_index_compact). */
#include "repo/index.h"
#include "repo/lease.h"
#include "repo/objects.h"
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

int cairn_index_compact(struct cairn_repo *repo, size_t min_small, size_t *ret_old, size_t *ret_new)
{
	*ret_old = *ret_new = 0;
	/* Prune and repair rewrite the index under the lease: not at once with
	 * us.  Backups only add objects, which we neither read nor delete. */
	struct cairn_lease *lease = NULL;
	int r = cairn_lease_acquire(repo, "repair", 0, &lease);
	if (r < 0)
		return r;
	_cleanup_(cairn_key_list_freep) struct cairn_key_list keys = { 0 };
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	_cleanup_free_ bool *merged = NULL;
	struct cairn_aead *a = NULL;
	size_t nsmall = 0;
	if ((r = cairn_store_list_keys(repo->store, "index/", &keys)) >= 0)
		r = cairn_index_new(&idx);
	if (r >= 0 && !(merged = calloc(keys.n ? keys.n : 1, sizeof(bool))))
		r = cairn_error_nomem();
	for (size_t i = 0; r >= 0 && i < keys.n; i++)
		nsmall += cairn_object_name_parse(CAIRN_OBJ_INDEX, keys.v[i], NULL) >= 0 && keys.size[i] < SMALL_BYTES;
	if (r < 0 || nsmall < MAX(min_small, (size_t)2)) {
		cairn_lease_release(lease);
		return r;
	}
	if ((r = cairn_repo_aead(repo, &a)) < 0) {
		cairn_lease_release(lease);
		return r;
	}
	_cleanup_(cairn_buf_freep) struct cairn_buf obj = CAIRN_BUF_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT;
	for (size_t i = 0; r >= 0 && i < keys.n; i++) {
		if (cairn_object_name_parse(CAIRN_OBJ_INDEX, keys.v[i], NULL) < 0 || keys.size[i] >= SMALL_BYTES)
			continue;
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
	size_t np = cairn_index_npacks(idx);
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
