/* repair index: the packs' own tables of contents are the truth; rebuild
 * the index from them, write it, and only then remove the old objects, so
 * a crash in between leaves both (harmless duplicates), never neither. */
#include "engine/engine.h"
#include "repo/index.h"
#include "repo/lease.h"
#include "repo/pack.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

int cairn_repair_index(struct cairn_repo *repo, void (*problem)(const char *object, const char *what, void *ud),
		       void *ud, struct cairn_repair_stats *ret)
{
	struct cairn_repair_stats st = { 0 };
	struct cairn_key_list old = { 0 }, packs = { 0 };
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	struct cairn_aead *a = NULL;
	/* Prune must not delete a pack we index, nor we an index object it
	 * relies on: both take the lease.  (Packs it had condemned become live
	 * again, which is safe: their blobs are merely kept longer.) */
	struct cairn_lease *lease = NULL;
	int r = cairn_lease_acquire(repo, "repair", 0, &lease);
	if (r < 0)
		return r;
	if (r >= 0)
		r = cairn_index_new(&idx);
	if (r >= 0)
		r = cairn_store_list_keys(repo->store, "index/", &old);
	if (r >= 0)
		r = cairn_store_list_keys(repo->store, "packs/", &packs);
	if (r >= 0)
		r = cairn_repo_aead(repo, &a);
	for (size_t i = 0; r >= 0 && i < packs.n; i++) {
		uint8_t pid[CAIRN_PACK_ID_LEN];
		if (cairn_pack_key_parse(packs.v[i], pid) < 0)
			continue;
		struct cairn_toc_entry *toc = NULL;
		size_t n = 0;
		int q = cairn_pack_read_toc(repo->store, a, pid, &toc, &n, NULL);
		if (q == CAIRN_ECORRUPT || q == CAIRN_EINVAL) {
			st.damaged_packs++;
			if (problem)
				problem(packs.v[i], cairn_error_message(), ud);
			continue;
		}
		if (q < 0) {
			r = q;
			break;
		}
		uint32_t slot;
		if ((r = cairn_index_add_pack(idx, pid, true, &slot)) >= 0)
			for (size_t k = 0; k < n && r >= 0; k++) {
				struct cairn_blob_ref ref = toc[k].ref;
				ref.pack = slot;
				r = cairn_index_insert(idx, &ref);
			}
		free(toc);
		st.packs++;
		if (r >= 0)
			r = cairn_lease_keepalive(lease);
	}
	cairn_aead_free(a);
	if (r >= 0)
		r = cairn_index_write_fresh(idx, repo, NULL);
	st.blobs = cairn_index_count(idx);
	/* The new object is durable: the old ones can go. */
	if (r >= 0)
		r = cairn_lease_ensure(lease, 60);
	for (size_t i = 0; r >= 0 && i < old.n; i++) {
		r = cairn_store_del(repo->store, old.v[i]);
		st.old_index_objects++;
	}
	cairn_key_list_free(&old);
	cairn_key_list_free(&packs);
	cairn_lease_release(lease);
	if (ret)
		*ret = st;
	return r;
}
