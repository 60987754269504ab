/* libFuzzer target: an opened index object body, decoded into a fresh
 * index; whatever it accepts must be consistent. */
#include "cairn/error.h"
#include "repo/index.h"

#include <stdlib.h>

struct check {
	struct cairn_index *idx;
	size_t n;
};

static int check_entry(const struct cairn_blob_ref *ref, void *ud)
{
	struct check *c = ud;
	struct cairn_blob_ref got;
	if (ref->pack >= cairn_index_npacks(c->idx) || cairn_index_pack_id(c->idx, ref->pack) == NULL)
		abort();
	if (ref->type > CAIRN_BLOB_CATALOG || ref->stored_len < CAIRN_AEAD_OVERHEAD)
		abort();
	if (cairn_index_lookup(c->idx, ref->id, &got) != 0 || got.pack != ref->pack)
		abort();
	c->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cairn_index *idx = NULL;
	if (cairn_index_new(&idx) != 0)
		abort();
	/* Partly applied objects (decode failed half way) must be consistent
	 * too: load skips damaged objects and goes on with the index. */
	(void)cairn_index_decode(idx, data, size);
	struct check c = { idx, 0 };
	if (cairn_index_foreach(idx, check_entry, &c) != 0 || c.n != cairn_index_count(idx))
		abort();
	cairn_index_free(idx);
	return 0;
}
