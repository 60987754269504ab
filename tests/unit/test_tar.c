/* util/tar.c: pax over ustar headers. */
#include "helpers.h"

#include "util/buf.h"
#include "util/tar.h"

#include <stdlib.h>
#include <string.h>

/* The checksum of a header block as a reader computes it. */
static unsigned sum_of(const uint8_t *h)
{
	unsigned s = 0;
	for (size_t i = 0; i < CAIRN_TAR_BLOCK; i++)
		s += (i >= 148 && i < 156) ? ' ' : h[i];
	return s;
}

static void check_block(const uint8_t *h)
{
	assert_memory_equal(h + 257, "ustar", 6);
	assert_memory_equal(h + 263, "00", 2);
	assert_int_equal(strtoul((const char *)h + 148, NULL, 8), sum_of(h));
}

static void test_tar_short(void **state)
{
	(void)state;
	struct cairn_buf b = CAIRN_BUF_INIT;
	struct cairn_tar_member m = { .path = "etc/passwd", .type = CAIRN_TAR_FILE, .mode = 0644, .uid = 1000,
				      .gid = 100, .size = 12345, .mtime_ns = 1600000000ll * 1000000000 };
	assert_int_equal(cairn_tar_header(&m, &b), 0);
	assert_int_equal(b.len, CAIRN_TAR_BLOCK); /* no pax header needed */
	check_block(b.data);
	assert_string_equal((const char *)b.data, "etc/passwd");
	assert_int_equal(strtoul((const char *)b.data + 100, NULL, 8), 0644);
	assert_int_equal(strtoul((const char *)b.data + 108, NULL, 8), 1000);
	assert_int_equal(strtoull((const char *)b.data + 124, NULL, 8), 12345);
	assert_int_equal(strtoull((const char *)b.data + 136, NULL, 8), 1600000000);
	assert_int_equal(b.data[156], '0');
	assert_int_equal(cairn_tar_padding(12345), 512 - 12345 % 512);
	assert_int_equal(cairn_tar_padding(1024), 0);
	/* A directory's name ends in '/'. */
	cairn_buf_clear(&b);
	m = (struct cairn_tar_member){ .path = "a/dir", .type = CAIRN_TAR_DIR, .mode = 0755 };
	assert_int_equal(cairn_tar_header(&m, &b), 0);
	assert_string_equal((const char *)b.data, "a/dir/");
	cairn_buf_free(&b);
}

/* The value of key in the pax records of an 'x' header at p. */
static char *pax_value(const uint8_t *p, const char *key)
{
	assert_int_equal(p[156], 'x');
	check_block(p);
	size_t len = strtoull((const char *)p + 124, NULL, 8);
	const char *rec = (const char *)p + CAIRN_TAR_BLOCK, *end = rec + len;
	while (rec < end) {
		char *sp;
		size_t n = strtoul(rec, &sp, 10);
		assert_true(n > 0 && rec + n <= end);
		assert_int_equal(rec[n - 1], '\n'); /* the length counts itself */
		const char *k = sp + 1, *eq = memchr(k, '=', n);
		if ((size_t)(eq - k) == strlen(key) && !memcmp(k, key, strlen(key)))
			return strndup(eq + 1, (size_t)(rec + n - 1 - eq - 1));
		rec += n;
	}
	return NULL;
}

static void test_tar_pax(void **state)
{
	(void)state;
	struct cairn_buf b = CAIRN_BUF_INIT;
	char path[400];
	memset(path, 'n', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	path[200] = '/';
	char target[200];
	memset(target, 't', sizeof(target) - 1);
	target[sizeof(target) - 1] = 0;
	struct cairn_tar_member m = { .path = path, .type = CAIRN_TAR_SYMLINK, .mode = 0777, .linkname = target,
				      .mtime_ns = 1600000000ll * 1000000000 + 5, .atime_ns = -1500000000 };
	assert_int_equal(cairn_tar_header(&m, &b), 0);
	char *v = pax_value(b.data, "path");
	assert_non_null(v);
	assert_string_equal(v, path);
	free(v);
	assert_non_null(v = pax_value(b.data, "linkpath"));
	assert_string_equal(v, target);
	free(v);
	assert_non_null(v = pax_value(b.data, "mtime"));
	assert_string_equal(v, "1600000000.000000005");
	free(v);
	assert_non_null(v = pax_value(b.data, "atime"));
	assert_string_equal(v, "-1.500000000");
	free(v);
	/* The member's own block follows the padded records. */
	size_t len = strtoull((const char *)b.data + 124, NULL, 8);
	size_t at = CAIRN_TAR_BLOCK + len + cairn_tar_padding(len);
	assert_int_equal(b.len, at + CAIRN_TAR_BLOCK);
	check_block(b.data + at);
	assert_int_equal(b.data[at + 156], '2');

	/* 8 GiB and more: size in pax, 0 in ustar's field. */
	cairn_buf_clear(&b);
	m = (struct cairn_tar_member){ .path = "big", .type = CAIRN_TAR_FILE, .mode = 0600, .size = 9ull << 30,
				       .uid = 5000000 };
	assert_int_equal(cairn_tar_header(&m, &b), 0);
	assert_non_null(v = pax_value(b.data, "size"));
	assert_string_equal(v, "9663676416");
	free(v);
	assert_non_null(v = pax_value(b.data, "uid"));
	assert_string_equal(v, "5000000");
	free(v);

	/* A path of 150 + 1 + 90 bytes splits into ustar's prefix and name. */
	cairn_buf_clear(&b);
	memset(path, 'p', 241);
	path[150] = '/';
	path[241] = 0;
	m = (struct cairn_tar_member){ .path = path, .type = CAIRN_TAR_FILE, .mode = 0600 };
	assert_int_equal(cairn_tar_header(&m, &b), 0);
	assert_int_equal(b.len, CAIRN_TAR_BLOCK);
	assert_int_equal(strnlen((const char *)b.data + 345, 155), 150);
	assert_int_equal(strnlen((const char *)b.data, 100), 90);

	/* The end: two zero blocks. */
	cairn_buf_clear(&b);
	assert_int_equal(cairn_tar_end(&b), 0);
	assert_int_equal(b.len, 2 * CAIRN_TAR_BLOCK);
	for (size_t i = 0; i < b.len; i++)
		assert_int_equal(b.data[i], 0);
	/* A member needs a path. */
	m = (struct cairn_tar_member){ .path = "", .type = CAIRN_TAR_FILE };
	assert_true(cairn_tar_header(&m, &b) < 0);
	cairn_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tar_short),
		cmocka_unit_test(test_tar_pax),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
