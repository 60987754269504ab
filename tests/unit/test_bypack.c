/* engine/bypack: the index grouped by pack in one pass (check, repair). */
#include "helpers.h"

#include "engine/bypack.h"
#include "repo/index.h"
#include "util/cleanup.h"

/* Entries spread over packs in a scrambled order: every pack gets exactly
 * its entries, each once, in index order; an empty pack and a slot past
 * the table get none. */
static void test_groups(void **state)
{
	(void)state;
	enum { NPACKS = 7, N = 5000 };
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	uint32_t slot[NPACKS];
	for (int p = 0; p < NPACKS; p++) {
		uint8_t pid[CAIRN_PACK_ID_LEN];
		th_fill(pid, sizeof(pid), 1000 + (uint64_t)p);
		ck_ok(cairn_index_add_pack(idx, pid, false, &slot[p]));
	}
	for (uint32_t i = 0; i < N; i++) {
		struct cairn_blob_ref ref = { .offset = i, .raw_len = 1, .stored_len = 1 };
		th_fill(ref.id, sizeof(ref.id), i);
		/* pack 3 stays empty */
		uint32_t p = (i * 2654435761u) % NPACKS;
		ref.pack = slot[p == 3 ? 4 : p];
		assert_int_equal(cairn_index_insert(idx, &ref), 1);
	}
	struct cairn_bypack bp = CAIRN_BYPACK_INIT;
	ck_ok(cairn_bypack_build(&bp, idx));
	size_t ne, total = 0;
	const struct cairn_blob_ref *e = cairn_index_entries(idx, &ne);
	assert_int_equal(ne, N);
	_cleanup_free_ uint8_t *seen = calloc(N, 1);
	assert_non_null(seen);
	for (uint32_t s = 0; s < NPACKS; s++) {
		size_t n;
		const uint32_t *pos = cairn_bypack_of(&bp, slot[s], &n);
		if (s == 3)
			assert_int_equal(n, 0);
		for (size_t k = 0; k < n; k++) {
			assert_true(pos[k] < N);
			assert_int_equal(e[pos[k]].pack, slot[s]);
			assert_int_equal(seen[pos[k]], 0);
			seen[pos[k]] = 1;
			if (k)
				assert_true(pos[k] > pos[k - 1]);
		}
		total += n;
	}
	assert_int_equal(total, N);
	size_t n;
	(void)cairn_bypack_of(&bp, NPACKS + 5, &n);
	assert_int_equal(n, 0);
	/* Rebuilding frees the previous grouping (asan checks). */
	ck_ok(cairn_bypack_build(&bp, idx));
	cairn_bypack_free(&bp);
	cairn_bypack_free(&bp);
}

/* An empty index groups to nothing. */
static void test_empty(void **state)
{
	(void)state;
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	_cleanup_(cairn_bypack_freep) struct cairn_bypack bp = CAIRN_BYPACK_INIT;
	ck_ok(cairn_bypack_build(&bp, idx));
	size_t n;
	(void)cairn_bypack_of(&bp, 0, &n);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
