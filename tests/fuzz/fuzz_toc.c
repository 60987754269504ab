/* libFuzzer target: an opened pack table of contents.  Input: data_end
 * u64 (where the pack's blobs end) then the TOC plaintext. */
#include "cairn/error.h"
#include "repo/pack.h"
#include "util/buf.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	uint64_t data_end = cairn_le64(data);
	struct cairn_toc_entry *t = NULL;
	size_t n = 0;
	if (cairn_toc_parse(data + 8, size - 8, data_end, &t, &n) != 0)
		return 0;
	if (4 + (uint64_t)n * CAIRN_TOC_ENTRY_LEN != size - 8)
		abort();
	/* Every accepted entry lies inside the pack's data. */
	for (size_t i = 0; i < n; i++) {
		const struct cairn_blob_ref *e = &t[i].ref;
		if (e->type > CAIRN_BLOB_CATALOG || !cairn_blob_flags_valid(e->flags) || e->stored_len < CAIRN_AEAD_OVERHEAD ||
		    (uint64_t)e->offset + e->stored_len > data_end)
			abort();
	}
	free(t);
	return 0;
}
