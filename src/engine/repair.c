/* repair index: the packs' own tables of contents are the truth; rebuild
 * the index from them, write it, and only then remove the old objects, so
 * a crash in between leaves both (harmless duplicates), never neither.
 *
 * A pack whose table of contents cannot be read may still hold intact
 * blobs: those the old index objects place there that still open and match
 * their ids are carried over, so that a repair never makes restorable data
 * unreachable, nor lets backups lean on blobs that are gone. */
#include "engine/bypack.h"
#include "engine/engine.h"
#include "repo/index.h"
#include "repo/lease.h"
#include "repo/objects.h"
#include "repo/pack.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <stdlib.h>
#include <string.h>

/* What the old index objects say about the packs of damaged[], into prev:
 * each object is read into an index of its own and dropped after, so RAM
 * holds the damaged packs' entries, not the whole old index.  Not strict:
 * an index object that is damaged too is simply missing.  An id the
 * objects place in two of these packs keeps its first entry (the new
 * index already holds any copy in a sound pack: carry_over does not
 * replace it). */
static int load_damaged_entries(struct cairn_repo *repo, struct cairn_index *prev,
				const uint8_t (*damaged)[CAIRN_PACK_ID_LEN], size_t ndamaged)
{
	struct cairn_key_list keys = { 0 };
	struct cairn_aead *a = NULL;
	_cleanup_(cairn_buf_freep) struct cairn_buf obj = CAIRN_BUF_INIT, body = CAIRN_BUF_INIT;
	_cleanup_free_ uint32_t *to = NULL; /* slot in one -> slot in prev + 1 (0: not damaged) */
	int r = cairn_object_list_names(repo, CAIRN_OBJ_INDEX, false, &keys);
	if (r >= 0)
		r = cairn_repo_aead(repo, &a);
	for (size_t i = 0; i < keys.n && r >= 0; i++) {
		if (cairn_object_name_parse(CAIRN_OBJ_INDEX, keys.v[i], NULL) < 0)
			continue;
		_cleanup_(cairn_index_freep) struct cairn_index *one = NULL;
		if ((r = cairn_index_new(&one)) < 0)
			break;
		int q = cairn_index_load_object(one, repo, a, keys.v[i], keys.size[i], &obj, &body);
		if (q == CAIRN_ENOTFOUND || q == CAIRN_ECORRUPT || q == CAIRN_EVERSION) {
			cairn_error_clear();
			continue;
		}
		if ((r = q) < 0)
			break;
		size_t np = cairn_index_npacks(one), n;
		free(to);
		if (!(to = calloc(np ? np : 1, sizeof(*to)))) {
			r = cairn_error_nomem();
			break;
		}
		bool any = false;
		for (size_t d = 0; d < ndamaged && r >= 0; d++) {
			uint32_t s, p;
			if (cairn_index_find_pack(one, damaged[d], &s) < 0 || s >= np)
				continue;
			if ((r = cairn_index_add_pack(prev, damaged[d], false, &p)) >= 0) {
				to[s] = p + 1;
				any = true;
			}
		}
		const struct cairn_blob_ref *e = cairn_index_entries(one, &n);
		for (size_t k = 0; any && k < n && r >= 0; k++) {
			if (e[k].pack >= np || !to[e[k].pack])
				continue;
			struct cairn_blob_ref ref = e[k];
			ref.pack = to[e[k].pack] - 1;
			r = cairn_index_insert(prev, &ref);
		}
	}
	cairn_aead_free(a);
	cairn_key_list_free(&keys);
	return r < 0 ? r : 0;
}

/* Carries into idx the blobs that the old index places in the packs of
 * damaged[] (whose TOCs could not be read) and that still open and match
 * their ids there: a truncated pack keeps its front, a flipped byte in the
 * TOC leaves every blob whole.  The packs are carried condemned (format.h
 * PRUNE): restore and check find their blobs, backups store their own
 * copies instead of leaning on a damaged pack, and prune copies what old
 * backups still need into new packs.  Returns the number carried. */
static int carry_over(struct cairn_repo *repo, struct cairn_index *idx, const uint8_t (*damaged)[CAIRN_PACK_ID_LEN],
		      size_t ndamaged, uint64_t *ret_blobs)
{
	_cleanup_(cairn_index_freep) struct cairn_index *prev = NULL;
	_cleanup_(cairn_buf_freep) struct cairn_buf pack = CAIRN_BUF_INIT, plain = CAIRN_BUF_INIT;
	/* Each damaged pack's entries, without a walk of the whole old index
	 * per pack. */
	_cleanup_(cairn_bypack_freep) struct cairn_bypack bp = CAIRN_BYPACK_INIT;
	struct cairn_blob_codec codec;
	int r = cairn_index_new(&prev);
	if (r >= 0)
		r = load_damaged_entries(repo, prev, damaged, ndamaged);
	if (r >= 0)
		r = cairn_bypack_build(&bp, prev);
	if (r >= 0)
		r = cairn_blob_codec_init(&codec, repo);
	if (r < 0)
		return r;
	uint64_t carried = 0;
	for (size_t i = 0; r >= 0 && i < ndamaged; i++) {
		uint32_t from, to = UINT32_MAX;
		if (cairn_index_find_pack(prev, damaged[i], &from) < 0)
			continue; /* the old index did not know it either */
		size_t n = 0, ne;
		const uint32_t *pos = cairn_bypack_of(&bp, from, &n);
		const struct cairn_blob_ref *all = cairn_index_entries(prev, &ne);
		/* Up to the end of the last blob the old index placed there. */
		uint64_t need = 0;
		for (size_t k = 0; k < n; k++)
			need = MAX(need, (uint64_t)all[pos[k]].offset + all[pos[k]].stored_len);
		if (!need || (r = cairn_object_get_range(repo, CAIRN_OBJ_PACK, damaged[i], 0, need, &pack)) < 0) {
			if (r == CAIRN_ENOTFOUND || r == CAIRN_EINVAL)
				r = 0; /* gone meanwhile: nothing to keep */
			continue;
		}
		for (size_t k = 0; r >= 0 && k < n; k++) {
			const struct cairn_blob_ref *e = &all[pos[k]];
			if ((uint64_t)e->offset + e->stored_len > pack.len)
				continue;
			if ((r = cairn_buf_reserve(&plain, e->raw_len ? e->raw_len : 1)) < 0)
				break;
			if (cairn_blob_decode(&codec, e, pack.data + e->offset, plain.data) < 0)
				continue; /* damaged: left out */
			if (to == UINT32_MAX &&
			    (r = cairn_index_add_pack_condemned(idx, damaged[i], cairn_wall_now(), &to)) < 0)
				break;
			struct cairn_blob_ref ref = *e;
			ref.pack = to;
			if ((r = cairn_index_insert(idx, &ref)) > 0)
				carried++;
		}
	}
	cairn_blob_codec_free(&codec);
	*ret_blobs = carried;
	return r < 0 ? r : 0;
}

/* Index objects (version 2) naming the condemned packs of idx, the
 * carried ones, with their entries. */
static int write_condemned(struct cairn_repo *repo, struct cairn_index *idx)
{
	size_t np = cairn_index_npacks(idx);
	_cleanup_free_ bool *pick = malloc((np ? np : 1) * sizeof(*pick));
	if (!pick)
		return cairn_error_nomem();
	for (uint32_t s = 0; s < np; s++)
		pick[s] = cairn_index_pack_condemned(idx, s) != 0;
	return cairn_index_write_picked(idx, repo, pick, np, NULL, NULL);
}

int cairn_repair_index(struct cairn_repo *repo, void (*problem)(const char *object, const char *what, void *ud),
		       void *ud, struct cairn_repair_stats *ret)
{
	struct cairn_repair_stats st = { 0 };
	struct cairn_key_list old = { 0 }, packs = { 0 };
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	struct cairn_aead *a = NULL;
	_cleanup_free_ uint8_t (*damaged)[CAIRN_PACK_ID_LEN] = NULL;
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
		r = cairn_object_list_names(repo, CAIRN_OBJ_INDEX, false, &old);
	if (r >= 0)
		r = cairn_object_list_names(repo, CAIRN_OBJ_PACK, false, &packs);
	if (r >= 0)
		r = cairn_repo_aead(repo, &a);
	for (size_t i = 0; r >= 0 && i < packs.n; i++) {
		uint8_t pid[CAIRN_PACK_ID_LEN];
		if (cairn_pack_key_parse(packs.v[i], pid) < 0)
			continue;
		struct cairn_toc_entry *toc = NULL;
		size_t n = 0;
		int q = cairn_pack_read_toc(repo, a, pid, &toc, &n, NULL);
		if (q == CAIRN_ECORRUPT || q == CAIRN_EINVAL) {
			if (problem)
				problem(packs.v[i], cairn_error_message(), ud);
			void *grown = realloc(damaged, (st.damaged_packs + 1) * sizeof(*damaged));
			if (!grown) {
				r = cairn_error_nomem();
				break;
			}
			damaged = grown;
			memcpy(damaged[st.damaged_packs++], pid, CAIRN_PACK_ID_LEN);
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
	if (r >= 0 && st.damaged_packs)
		r = carry_over(repo, idx, (const uint8_t(*)[CAIRN_PACK_ID_LEN])damaged, st.damaged_packs,
			       &st.carried_blobs);
	if (r >= 0)
		r = cairn_index_write_fresh(idx, repo, NULL);
	if (r >= 0 && st.carried_blobs)
		r = write_condemned(repo, idx);
	st.blobs = cairn_index_count(idx);
	/* The new object is durable: the old ones can go. */
	if (r >= 0)
		r = cairn_lease_ensure(lease, 60);
	for (size_t i = 0; r >= 0 && i < old.n; i++) {
		/* Canonical names only: one cairn does not write is no index
		 * object of ours. */
		r = cairn_object_delete_name(repo, CAIRN_OBJ_INDEX, old.v[i]);
		st.old_index_objects++;
	}
	cairn_key_list_free(&old);
	cairn_key_list_free(&packs);
	cairn_lease_release(lease);
	if (ret)
		*ret = st;
	return r;
}
