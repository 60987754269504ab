/* engine/packsort: the index grouped by pack by an external sort (check).
 * It must hand out exactly the groups the in-RAM grouping (bypack) makes,
 * whatever the run size, with runs in files when the index does not fit
 * in one: memory is one run, not the index. */
#include "helpers.h"

#include "engine/bypack.h"
#include "engine/packsort.h"
#include "repo/index.h"
#include "util/cleanup.h"

#include <stdlib.h>
#include <string.h>

enum { NPACKS = 9, N = 6000 };

/* Entries spread over packs in a scrambled order; pack 3 stays empty. */
static void fill(struct cairn_index *idx, uint32_t slot[NPACKS])
{
	for (int p = 0; p < NPACKS; p++) {
		uint8_t pid[CAIRN_PACK_ID_LEN];
		th_fill(pid, sizeof(pid), 7000 + (uint64_t)p);
		ck_ok(cairn_index_add_pack(idx, pid, false, &slot[p]));
	}
	for (uint32_t i = 0; i < N; i++) {
		struct cairn_blob_ref ref = { .offset = i, .raw_len = 1, .stored_len = 1 + i % 5 };
		th_fill(ref.id, sizeof(ref.id), i);
		uint32_t p = (i * 2654435761u) % NPACKS;
		ref.pack = slot[p == 3 ? 4 : p];
		assert_int_equal(cairn_index_insert(idx, &ref), 1);
	}
}

/* Every run size gives bypack's groups, in key order, each entry whole. */
static void test_same_as_bypack(void **state)
{
	(void)state;
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	uint32_t slot[NPACKS];
	fill(idx, slot);
	struct cairn_bypack bp = CAIRN_BYPACK_INIT;
	ck_ok(cairn_bypack_build(&bp, idx));
	size_t ne;
	const struct cairn_blob_ref *e = cairn_index_entries(idx, &ne);
	_cleanup_free_ uint32_t *key = NULL;
	ck_ok(cairn_packsort_id_order(idx, &key));
	const size_t sizes[] = { 1, 7, 999, N, 0 };
	for (size_t z = 0; z < sizeof(sizes) / sizeof(*sizes); z++) {
		_cleanup_(cairn_packsort_freep) struct cairn_packsort *ps = NULL;
		ck_ok(cairn_packsort_new(idx, key, NPACKS, NULL, sizes[z], &ps));
		/* More entries than a run: runs in files, RAM holds one. */
		if (sizes[z] && sizes[z] < N)
			assert_int_equal(cairn_packsort_runs(ps), (N + sizes[z] - 1) / sizes[z]);
		else
			assert_int_equal(cairn_packsort_runs(ps), 0);
		uint32_t s, prev_key = 0;
		const struct cairn_blob_ref *v;
		size_t n, groups = 0, total = 0;
		int r;
		uint8_t seen_pack[NPACKS] = { 0 };
		while ((r = cairn_packsort_next(ps, &s, &v, &n)) > 0) {
			assert_true(s < NPACKS);
			assert_int_equal(seen_pack[s], 0); /* one group a pack */
			seen_pack[s] = 1;
			if (groups)
				assert_true(key[s] > prev_key);
			prev_key = key[s];
			size_t bn;
			const uint32_t *pos = cairn_bypack_of(&bp, s, &bn);
			assert_int_equal(n, bn);
			/* The same entries (bypack's in index order, ours in
			 * none): each of ours is one of bypack's, once. */
			_cleanup_free_ uint8_t *used = calloc(bn ? bn : 1, 1);
			assert_non_null(used);
			for (size_t k = 0; k < n; k++) {
				size_t j;
				for (j = 0; j < bn; j++)
					if (!used[j] && memcmp(&e[pos[j]], &v[k], sizeof(v[k])) == 0)
						break;
				assert_true(j < bn);
				used[j] = 1;
			}
			groups++;
			total += n;
		}
		assert_int_equal(r, 0);
		assert_int_equal(groups, NPACKS - 1); /* the empty pack has none */
		assert_int_equal(seen_pack[3], 0);
		assert_int_equal(total, N);
	}
	cairn_bypack_free(&bp);
}

/* Slots without a key (nkeys smaller than the table) are left out; an
 * empty index sorts to nothing and writes no run. */
static void test_edges(void **state)
{
	(void)state;
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	_cleanup_(cairn_packsort_freep) struct cairn_packsort *ps = NULL;
	uint32_t none = 0, s;
	const struct cairn_blob_ref *v;
	size_t n;
	ck_ok(cairn_packsort_new(idx, &none, 0, NULL, 3, &ps));
	assert_int_equal(cairn_packsort_next(ps, &s, &v, &n), 0);
	assert_int_equal(cairn_packsort_runs(ps), 0);
	cairn_packsort_free(ps);
	ps = NULL;
	uint32_t slot[NPACKS];
	fill(idx, slot);
	_cleanup_free_ uint32_t *key = NULL;
	ck_ok(cairn_packsort_id_order(idx, &key));
	/* Only the first two slots keep keys in range of nkeys = 2 when
	 * their keys are 0 and 1: give them those. */
	uint32_t k2[2] = { 1, 0 };
	ck_ok(cairn_packsort_new(idx, k2, 2, NULL, 100, &ps));
	size_t total = 0, groups = 0;
	uint32_t order[2];
	while (cairn_packsort_next(ps, &s, &v, &n) > 0) {
		assert_true(s < 2);
		order[groups++] = s;
		total += n;
	}
	assert_int_equal(groups, 2);
	assert_int_equal(order[0], 1); /* key 0 first */
	assert_int_equal(order[1], 0);
	struct cairn_bypack bp = CAIRN_BYPACK_INIT;
	ck_ok(cairn_bypack_build(&bp, idx));
	size_t n0, n1;
	(void)cairn_bypack_of(&bp, 0, &n0);
	(void)cairn_bypack_of(&bp, 1, &n1);
	assert_int_equal(total, n0 + n1);
	cairn_bypack_free(&bp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_bypack),
		cmocka_unit_test(test_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
