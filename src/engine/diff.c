/* diff: changed byte ranges between two backups, from their trees alone. */
#include "engine/engine.h"
#include "engine/tuning.h"
#include "repo/lease.h"
#include "repo/index.h"
#include "repo/pack.h"
#include "repo/tree.h"
#include "util/cleanup.h"
#include "util/error.h"

struct merge {
	uint64_t chunk_size, size; /* larger of the two sizes */
	uint64_t start, len;       /* pending run, in bytes */
	uint64_t total;
	cairn_range_fn fn;
	void *ud;
};

static int flush(struct merge *m)
{
	if (!m->len)
		return 0;
	m->total += m->len;
	int r = m->fn(m->start, m->len, m->ud);
	m->len = 0;
	return r;
}

static int on_changed(uint64_t first, uint64_t count, void *ud)
{
	struct merge *m = ud;
	uint64_t off = first * m->chunk_size;
	uint64_t len = MIN(count * m->chunk_size, m->size - off);
	if (m->len && m->start + m->len == off) {
		m->len += len;
		return 0;
	}
	int r = flush(m);
	m->start = off;
	m->len = len;
	return r;
}

int cairn_diff_run(struct cairn_repo *repo, const struct cairn_manifest *a, const struct cairn_manifest *b,
		   cairn_range_fn fn, void *ud, uint64_t *ret_changed_bytes)
{
	return cairn_diff_run_cached(repo, NULL, a, b, fn, ud, ret_changed_bytes);
}

int cairn_diff_run_cached(struct cairn_repo *repo, const char *state_dir, const struct cairn_manifest *a,
			  const struct cairn_manifest *b, cairn_range_fn fn, void *ud, uint64_t *ret_changed_bytes)
{
	if (a->chunk_size != b->chunk_size || a->fanout != b->fanout || a->chunk_size != repo->config.chunk_size)
		return cairn_error_set(CAIRN_EINVAL, "backups %s and %s use different chunk sizes", a->idhex, b->idhex);
	_cleanup_(cairn_activity_endp) struct cairn_activity *activity = NULL;
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	int r = cairn_engine_read_begin(repo, "diff", cairn_engine_tuning()->no_index_cache ? NULL : state_dir, &activity, &idx);
	if (r < 0)
		return r;
	struct cairn_blob_codec codec;
	if ((r = cairn_blob_codec_init(&codec, repo)) < 0)
		return r;
	struct cairn_tree_src src = { repo, idx, &codec, a->fanout };
	struct merge m = { .chunk_size = a->chunk_size, .size = MAX(a->size, b->size), .fn = fn, .ud = ud };
	uint64_t na = (a->size + a->chunk_size - 1) / a->chunk_size, nb = (b->size + b->chunk_size - 1) / b->chunk_size;
	r = cairn_tree_diff(&src, a->root, a->levels, na, b->root, b->levels, nb, on_changed, &m);
	if (r >= 0)
		r = flush(&m);
	cairn_blob_codec_free(&codec);
	if (r >= 0 && ret_changed_bytes)
		*ret_changed_bytes = m.total;
	return r;
}
