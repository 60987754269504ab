/* source/changes and source/fiemap: change maps, the chunk cursor, and the
 * extent-map comparison that decides what an incremental reads. */
#include "helpers.h"

#include "source/changes.h"
#include "source/fiemap.h"
#include "util/cleanup.h"

#include <linux/fiemap.h>

#define KiB 1024ull

static void test_map_merges(void **state)
{
	(void)state;
	struct cairn_change_map m = CAIRN_CHANGE_MAP_INIT;
	ck_ok(cairn_change_map_add(&m, 0, 10));
	ck_ok(cairn_change_map_add(&m, 10, 5));  /* touching: merges */
	ck_ok(cairn_change_map_add(&m, 12, 10)); /* overlapping: merges */
	ck_ok(cairn_change_map_add(&m, 100, 0)); /* empty: ignored */
	ck_ok(cairn_change_map_add(&m, 100, 1));
	assert_int_equal(m.n, 2);
	assert_int_equal(m.v[0].off, 0);
	assert_int_equal(m.v[0].len, 22);
	assert_int_equal(m.v[1].off, 100);
	assert_int_equal(m.bytes, 23);
	/* Out of order is refused: a producer bug must not lose changes. */
	ck_err(cairn_change_map_add(&m, 50, 1), CAIRN_EINVAL);
	ck_err(cairn_change_map_add(&m, UINT64_MAX - 1, 10), CAIRN_EINVAL);
	cairn_change_map_free(&m);
	cairn_change_map_free(&m);
	cairn_change_map_free(NULL);
}

static void test_cursor(void **state)
{
	(void)state;
	enum { CS = 65536, N = 64 };
	struct cairn_change_map m = CAIRN_CHANGE_MAP_INIT;
	ck_ok(cairn_change_map_add(&m, 1, 1));                   /* chunk 0 */
	ck_ok(cairn_change_map_add(&m, 5 * CS - 1, 2));          /* chunks 4 and 5 */
	ck_ok(cairn_change_map_add(&m, 20 * CS, 3 * CS));        /* chunks 20..22 exactly */
	ck_ok(cairn_change_map_add(&m, 40 * CS + 100, 30 * CS)); /* 40..70: past the batch */
	uint8_t changed[N];
	/* In batches of 16, then of 7 and 9: the same answer. */
	uint8_t want[N] = { 0 };
	want[0] = want[4] = want[5] = want[20] = want[21] = want[22] = 1;
	for (int i = 40; i < N; i++)
		want[i] = 1;
	for (int round = 0; round < 2; round++) {
		struct cairn_change_cursor c = CAIRN_CHANGE_CURSOR_INIT(&m);
		uint32_t total = 0;
		uint64_t first = 0;
		static const uint32_t sizes[2][6] = { { 16, 16, 16, 16, 0, 0 }, { 7, 9, 7, 9, 16, 16 } };
		for (int b = 0; b < 6 && first < N; b++) {
			uint32_t n = sizes[round][b];
			if (!n)
				break;
			total += cairn_change_cursor_mark(&c, CS, first, n, changed);
			assert_memory_equal(changed, want + first, n);
			first += n;
		}
		assert_int_equal(total, 30);
	}
	cairn_change_map_free(&m);
	/* An empty map changes nothing. */
	struct cairn_change_map e = CAIRN_CHANGE_MAP_INIT;
	struct cairn_change_cursor c = CAIRN_CHANGE_CURSOR_INIT(&e);
	assert_int_equal(cairn_change_cursor_mark(&c, CS, 0, N, changed), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(changed[i], 0);
}

/* cairn_change_cursor_next finds the runs cairn_change_cursor_mark marks,
 * a run per call (restore --delta over a hole). */
static void test_cursor_next(void **state)
{
	(void)state;
	enum { CS = 65536, N = 200 };
	struct cairn_change_map m = CAIRN_CHANGE_MAP_INIT;
	ck_ok(cairn_change_map_add(&m, 1, 1));                   /* chunk 0 */
	ck_ok(cairn_change_map_add(&m, 5 * CS - 1, 2));          /* chunks 4 and 5 */
	ck_ok(cairn_change_map_add(&m, 6 * CS, 1));              /* 6: touches 4..5's chunks */
	ck_ok(cairn_change_map_add(&m, 20 * CS, 3 * CS));        /* chunks 20..22 exactly */
	ck_ok(cairn_change_map_add(&m, 40 * CS + 100, 30 * CS)); /* 40..70 */
	uint8_t want[N];
	struct cairn_change_cursor mc = CAIRN_CHANGE_CURSOR_INIT(&m);
	cairn_change_cursor_mark(&mc, CS, 0, N, want);
	/* Walked in windows (zero subtrees of several sizes): runs alternate
	 * and agree with the marks chunk for chunk. */
	static const uint64_t windows[] = { 3, 1, 17, 2, 40, 100, 37 };
	struct cairn_change_cursor c = CAIRN_CHANGE_CURSOR_INIT(&m);
	uint64_t first = 0, calls = 0;
	for (size_t w = 0; w < ARRAY_SIZE(windows); w++) {
		uint64_t end = first + windows[w];
		for (uint64_t k = first; k < end;) {
			uint64_t s = cairn_change_cursor_next(&c, CS, k, end, true);
			calls++;
			for (; k < s; k++)
				assert_int_equal(want[k], 0);
			if (s == end)
				break;
			uint64_t e = cairn_change_cursor_next(&c, CS, s, end, false);
			calls++;
			assert_true(e > s);
			for (; k < e; k++)
				assert_int_equal(want[k], 1);
		}
		first = end;
	}
	assert_int_equal(first, N);
	assert_true(calls < 40);
	cairn_change_map_free(&m);
	/* An empty map: the whole window is unchanged, in one call. */
	struct cairn_change_map e = CAIRN_CHANGE_MAP_INIT;
	struct cairn_change_cursor ec = CAIRN_CHANGE_CURSOR_INIT(&e);
	assert_true(cairn_change_cursor_next(&ec, CS, 0, (uint64_t)1 << 40, true) == (uint64_t)1 << 40);
}

static struct cairn_extent_map extents(const struct cairn_extent *v, size_t n)
{
	struct cairn_extent_map m = { malloc(n * sizeof(*v) + 1), n, n };
	assert_non_null(m.v);
	if (n)
		memcpy(m.v, v, n * sizeof(*v));
	return m;
}

static void expect_diff(const struct cairn_extent *a, size_t na, const struct cairn_extent *b, size_t nb,
			uint64_t size, const struct cairn_range *want, size_t nwant)
{
	struct cairn_extent_map ma = extents(a, na), mb = extents(b, nb);
	struct cairn_change_map out = CAIRN_CHANGE_MAP_INIT;
	ck_ok(cairn_extent_map_diff(&ma, &mb, size, &out));
	if (out.n != nwant) {
		for (size_t i = 0; i < out.n; i++)
			print_message("got %llu+%llu\n", (unsigned long long)out.v[i].off,
				      (unsigned long long)out.v[i].len);
		fail_msg("%zu ranges, expected %zu", out.n, nwant);
	}
	for (size_t i = 0; i < nwant; i++) {
		assert_int_equal(out.v[i].off, want[i].off);
		assert_int_equal(out.v[i].len, want[i].len);
	}
	cairn_change_map_free(&out);
	cairn_extent_map_free(&ma);
	cairn_extent_map_free(&mb);
}

#define MB (1024 * KiB)

static void test_diff_shared_and_cow(void **state)
{
	(void)state;
	/* Base: one 4 MiB extent at physical 100 MiB.  Current: the same, but
	 * 64 KiB at 1 MiB were rewritten (copy on write to 900 MiB). */
	const struct cairn_extent base[] = { { 0, 100 * MB, 4 * MB, FIEMAP_EXTENT_SHARED | FIEMAP_EXTENT_LAST } };
	const struct cairn_extent cur[] = {
		{ 0, 100 * MB, 1 * MB, FIEMAP_EXTENT_SHARED },
		{ 1 * MB, 900 * MB, 64 * KiB, 0 },
		{ 1 * MB + 64 * KiB, 101 * MB + 64 * KiB, 3 * MB - 64 * KiB, FIEMAP_EXTENT_SHARED | FIEMAP_EXTENT_LAST },
	};
	const struct cairn_range want[] = { { 1 * MB, 64 * KiB } };
	expect_diff(base, 1, cur, 3, 4 * MB, want, 1);
	/* Identical maps: nothing changed, also with a hole in both. */
	expect_diff(base, 1, base, 1, 8 * MB, NULL, 0);
}

static void test_diff_holes(void **state)
{
	(void)state;
	/* Data appears where the base had a hole, and a hole where it had data. */
	const struct cairn_extent base[] = { { 0, 10 * MB, 1 * MB, 0 }, { 3 * MB, 20 * MB, 1 * MB, 0 } };
	const struct cairn_extent cur[] = { { 0, 10 * MB, 1 * MB, 0 }, { 2 * MB, 50 * MB, 512 * KiB, 0 } };
	const struct cairn_range want[] = { { 2 * MB, 512 * KiB }, { 3 * MB, 1 * MB } };
	expect_diff(base, 2, cur, 2, 5 * MB, want, 2);
	/* The file grew: the tail past the base's map counts as changed. */
	const struct cairn_range grown[] = { { 1 * MB, 1 * MB } };
	const struct cairn_extent big[] = { { 0, 10 * MB, 2 * MB, 0 } };
	expect_diff(base, 1, big, 1, 2 * MB, grown, 1);
}

static void test_diff_untrusted(void **state)
{
	(void)state;
	/* Same physical place, but one side cannot vouch for it. */
	static const uint32_t bad[] = { FIEMAP_EXTENT_DELALLOC, FIEMAP_EXTENT_UNKNOWN, FIEMAP_EXTENT_DATA_INLINE,
					FIEMAP_EXTENT_NOT_ALIGNED, FIEMAP_EXTENT_DATA_ENCRYPTED };
	const struct cairn_range all[] = { { 0, 1 * MB } };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const struct cairn_extent a[] = { { 0, 10 * MB, 1 * MB, 0 } };
		const struct cairn_extent b[] = { { 0, 10 * MB, 1 * MB, bad[i] } };
		expect_diff(a, 1, b, 1, 1 * MB, all, 1);
		expect_diff(b, 1, a, 1, 1 * MB, all, 1);
	}
	/* Written vs preallocated at the same place: not known to match. */
	const struct cairn_extent w[] = { { 0, 10 * MB, 1 * MB, 0 } };
	const struct cairn_extent u[] = { { 0, 10 * MB, 1 * MB, FIEMAP_EXTENT_UNWRITTEN } };
	expect_diff(w, 1, u, 1, 1 * MB, all, 1);
	expect_diff(u, 1, u, 1, 1 * MB, NULL, 0);
	/* Preallocated on one side, a hole on the other: zeros both. */
	expect_diff(u, 1, NULL, 0, 1 * MB, NULL, 0);
	expect_diff(NULL, 0, u, 1, 1 * MB, NULL, 0);
	const struct cairn_extent u2[] = { { 0, 90 * MB, 1 * MB, FIEMAP_EXTENT_UNWRITTEN } };
	expect_diff(u, 1, u2, 1, 1 * MB, NULL, 0);
	/* But data where the other side reads zeros has changed. */
	expect_diff(w, 1, NULL, 0, 1 * MB, all, 1);
}

static void test_diff_encoded(void **state)
{
	(void)state;
	/* btrfs compressed extents: the physical address is the extent's start
	 * for any part of it, so only the very same extent matches. */
	const struct cairn_extent a[] = { { 0, 10 * MB, 128 * KiB, FIEMAP_EXTENT_ENCODED } };
	const struct cairn_extent b[] = { { 0, 10 * MB, 64 * KiB, FIEMAP_EXTENT_ENCODED },
					  { 64 * KiB, 10 * MB, 64 * KiB, FIEMAP_EXTENT_ENCODED } };
	const struct cairn_range want[] = { { 0, 128 * KiB } };
	expect_diff(a, 1, b, 2, 128 * KiB, want, 1);
	expect_diff(a, 1, a, 1, 128 * KiB, NULL, 0);
	/* The same offsets from an unencoded extent do not match either. */
	const struct cairn_extent plain[] = { { 0, 10 * MB, 128 * KiB, 0 } };
	expect_diff(a, 1, plain, 1, 128 * KiB, want, 1);
}

/* On the file system the tests run on: a file compared with itself has no
 * changes; with another file (no shared extents) everything that holds
 * data differs.  (XFS and btrfs reflinks are tested end to end.) */
static void test_fiemap_real_files(void **state)
{
	(void)state;
	char dir[PATH_MAX], a[PATH_MAX + 8], b[PATH_MAX + 8];
	th_tmpdir(dir, sizeof(dir), "fiemap");
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	uint8_t *d = th_data(256 * KiB, 1);
	th_write_file(a, d, 256 * KiB);
	th_write_file(b, d, 256 * KiB);
	free(d);
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
	assert_true(fa >= 0 && fb >= 0);
	struct cairn_change_map m = CAIRN_CHANGE_MAP_INIT;
	int r = cairn_fiemap_changes(fa, a, fa, a, 256 * KiB, &m);
	if (r == CAIRN_EUNSUPPORTED) {
		print_message("no FIEMAP on %s: skipped\n", dir);
	} else {
		ck_ok(r);
		assert_int_equal(m.bytes, 0);
		assert_string_equal(m.method, "fiemap");
		ck_ok(cairn_fiemap_changes(fa, a, fb, b, 256 * KiB, &m));
		assert_int_equal(m.bytes, 256 * KiB);
	}
	cairn_change_map_free(&m);
	/* Not regular files: refused before any ioctl. */
	int dn = open("/dev/null", O_RDONLY);
	ck_err(cairn_fiemap_changes(dn, "/dev/null", fa, a, 1, &m), CAIRN_EUNSUPPORTED);
	close(dn);
	close(fa);
	close(fb);
	th_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_merges),        cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_diff_shared_and_cow), cmocka_unit_test(test_diff_holes),
		cmocka_unit_test(test_diff_untrusted),    cmocka_unit_test(test_diff_encoded),
		cmocka_unit_test(test_fiemap_real_files),
		cmocka_unit_test(test_cursor_next),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
