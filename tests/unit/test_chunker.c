/* source/chunker: chunk boundaries, zero detection, holes of sparse files. */
#include "helpers.h"

#include "source/chunker.h"

#include <fcntl.h>

#define KiB 1024u

static void test_count_and_range(void **state)
{
	(void)state;
	static const struct {
		uint64_t size;
		uint64_t count;
		uint32_t last_len;
	} cases[] = {
		{ 0, 0, 0 },
		{ 1, 1, 1 },
		{ 64 * KiB - 1, 1, 64 * KiB - 1 },
		{ 64 * KiB, 1, 64 * KiB },
		{ 64 * KiB + 1, 2, 1 },
		{ 4ull << 30, 65536, 64 * KiB },
		{ (4ull << 30) + 4096, 65537, 4096 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cairn_chunker c = CAIRN_CHUNKER_INIT(64 * KiB, cases[i].size);
		assert_int_equal(cairn_chunker_count(&c), cases[i].count);
		if (!cases[i].count)
			continue;
		uint64_t off;
		uint32_t len;
		cairn_chunker_range(&c, cases[i].count - 1, &off, &len);
		assert_int_equal(off, (cases[i].count - 1) * 64 * KiB);
		assert_int_equal(len, cases[i].last_len);
		cairn_chunker_range(&c, cases[i].count, &off, &len);
		assert_int_equal(len, 0); /* past the end */
	}
}

static void test_is_zero(void **state)
{
	(void)state;
	static uint8_t buf[64 * KiB];
	memset(buf, 0, sizeof(buf));
	assert_true(cairn_chunk_is_zero(buf, 0));
	assert_true(cairn_chunk_is_zero(buf, 1));
	assert_true(cairn_chunk_is_zero(buf, 15));
	assert_true(cairn_chunk_is_zero(buf, 16));
	assert_true(cairn_chunk_is_zero(buf, sizeof(buf)));
	/* A single non-zero byte anywhere, including the first 16 and the last. */
	static const size_t at[] = { 0, 7, 15, 16, 17, 4095, 32768, sizeof(buf) - 1 };
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		buf[at[i]] = 0x80;
		assert_false(cairn_chunk_is_zero(buf, sizeof(buf)));
		buf[at[i]] = 0;
	}
	buf[14] = 1;
	assert_false(cairn_chunk_is_zero(buf, 15));
	assert_true(cairn_chunk_is_zero(buf, 14));
}

/* A sparse file: data at chunks 1 and 5 (chunk 5 only partly), holes
 * elsewhere; the last chunk is partial. */
static void test_mark_holes(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 16];
	th_tmpdir(dir, sizeof(dir), "chunker");
	snprintf(path, sizeof(path), "%s/sparse", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	const uint32_t cs = 64 * KiB;
	const uint64_t size = 8ull * cs + 4096;
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	static uint8_t data[64 * KiB];
	memset(data, 0xab, sizeof(data));
	assert_int_equal(pwrite(fd, data, cs, cs), (ssize_t)cs);
	assert_int_equal(pwrite(fd, data, 4096, 5 * cs + 8192), 4096);
	fsync(fd);

	struct cairn_chunker c = CAIRN_CHUNKER_INIT(cs, size);
	uint8_t hole[9];
	cairn_chunker_mark_holes(&c, fd, 0, 9, hole);
	/* Which of chunks 0..8 must be treated as data: 1 and 5 always. */
	assert_int_equal(hole[1], 0);
	assert_int_equal(hole[5], 0);
	/* A file system that reports holes (ext4, XFS, btrfs, tmpfs) marks the
	 * rest; one that cannot marks nothing, which is also correct. */
	int marked = 0;
	for (int i = 0; i < 9; i++)
		marked += hole[i];
	assert_true(marked == 0 || marked == 7);
	if (marked)
		assert_int_equal(hole[8], 1); /* the partial tail chunk is a hole too */

	/* A window in the middle: chunks 4..6. */
	cairn_chunker_mark_holes(&c, fd, 4, 3, hole);
	assert_int_equal(hole[1], 0);
	if (marked) {
		assert_int_equal(hole[0], 1);
		assert_int_equal(hole[2], 1);
	}
	/* A window past the end marks nothing. */
	memset(hole, 7, sizeof(hole));
	cairn_chunker_mark_holes(&c, fd, 20, 2, hole);
	assert_int_equal(hole[0], 0);
	assert_int_equal(hole[1], 0);
	close(fd);
	th_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_and_range),
		cmocka_unit_test(test_is_zero),
		cmocka_unit_test(test_mark_holes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
