/* util/: buffers, the bounds-checked reader, hex, errors, time. */
#include "helpers.h"

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/env.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/proc.h"
#include "util/path.h"
#include "util/time.h"
#include "util/tmpfile.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/wait.h>

/* ---- buf ---- */

static void test_buf_append(void **state)
{
	(void)state;
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint8_t *src = th_data(10000, 1);
	size_t off = 0;
	for (size_t step = 1; off < 10000; step = step * 3 + 1) {
		size_t n = MIN(step, 10000 - off);
		ck_ok(cairn_buf_append(&b, src + off, n));
		off += n;
		assert_int_equal(b.len, off);
		assert_true(b.cap >= b.len);
	}
	assert_memory_equal(b.data, src, 10000);
	/* Appending nothing (even from NULL) changes nothing. */
	ck_ok(cairn_buf_append(&b, NULL, 0));
	assert_int_equal(b.len, 10000);
	cairn_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	free(src);
}

/* Large work buffers (huge-page hint): aligned to 2 MiB, usable to the
 * length asked, freed with free(); the cairn_buf variant keeps a buffer
 * that is large enough and empties it either way. */
static void test_buf_large(void **state)
{
	(void)state;
	uint8_t *p = cairn_alloc_large(3u << 20);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % (2u << 20), 0);
	memset(p, 0xa5, 3u << 20);
	assert_int_equal(p[(3u << 20) - 1], 0xa5);
	free(p);
	p = cairn_alloc_large(0);
	assert_non_null(p);
	free(p);
	assert_null(cairn_alloc_large(SIZE_MAX));

	struct cairn_buf b = CAIRN_BUF_INIT;
	ck_ok(cairn_buf_append(&b, "abc", 3));
	ck_ok(cairn_buf_reserve_large(&b, 5u << 20));
	assert_int_equal(b.len, 0);
	assert_true(b.cap >= 5u << 20);
	assert_int_equal((uintptr_t)b.data % (2u << 20), 0);
	uint8_t *before = b.data;
	ck_ok(cairn_buf_append(&b, "xyz", 3));
	ck_ok(cairn_buf_reserve_large(&b, 1u << 20)); /* large enough: kept, emptied */
	assert_ptr_equal(b.data, before);
	assert_int_equal(b.len, 0);
	ck_ok(cairn_buf_append(&b, "xyz", 3));
	ck_err(cairn_buf_reserve_large(&b, SIZE_MAX), CAIRN_ENOMEM); /* left as it was */
	assert_ptr_equal(b.data, before);
	assert_int_equal(b.len, 3);
	/* It grows like any buffer afterwards. */
	ck_ok(cairn_buf_reserve(&b, 6u << 20));
	assert_true(b.cap >= 6u << 20);
	cairn_buf_free(&b);
}

static void test_buf_append_ints(void **state)
{
	(void)state;
	struct cairn_buf b = CAIRN_BUF_INIT;
	ck_ok(cairn_buf_append_u8(&b, 0xab));
	ck_ok(cairn_buf_append_le16(&b, 0x1234));
	ck_ok(cairn_buf_append_le32(&b, 0xdeadbeef));
	ck_ok(cairn_buf_append_le64(&b, 0x0102030405060708ull));
	static const uint8_t want[] = { 0xab, 0x34, 0x12, 0xef, 0xbe, 0xad, 0xde,
					0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01 };
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	assert_int_equal(cairn_le16(b.data + 1), 0x1234);
	assert_int_equal(cairn_le32(b.data + 3), 0xdeadbeef);
	assert_true(cairn_le64(b.data + 7) == 0x0102030405060708ull);

	uint8_t t[8];
	cairn_put_le16(t, 0xfffe);
	assert_int_equal(cairn_le16(t), 0xfffe);
	cairn_put_le32(t, 0x80000001u);
	assert_int_equal(cairn_le32(t), 0x80000001u);
	cairn_put_le64(t, UINT64_MAX - 5);
	assert_true(cairn_le64(t) == UINT64_MAX - 5);
	cairn_buf_free(&b);
}

static void test_buf_reserve(void **state)
{
	(void)state;
	struct cairn_buf b = CAIRN_BUF_INIT;
	ck_ok(cairn_buf_reserve(&b, 0));
	ck_ok(cairn_buf_reserve(&b, 100));
	assert_true(b.cap >= 100);
	assert_int_equal(b.len, 0);
	uint8_t *before = b.data;
	size_t cap = b.cap;
	/* Enough room already: no reallocation. */
	ck_ok(cairn_buf_reserve(&b, 50));
	assert_ptr_equal(b.data, before);
	assert_int_equal(b.cap, cap);
	ck_ok(cairn_buf_append(&b, "abc", 3));
	ck_ok(cairn_buf_reserve(&b, 1000000));
	assert_true(b.cap - b.len >= 1000000);
	assert_memory_equal(b.data, "abc", 3);
	/* len + extra overflows: refused without allocating. */
	ck_err(cairn_buf_reserve(&b, SIZE_MAX), CAIRN_ENOMEM);
	ck_err(cairn_buf_reserve(&b, SIZE_MAX - 1), CAIRN_ENOMEM);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "abc", 3);

	/* clear keeps the memory. */
	cap = b.cap;
	cairn_buf_clear(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, cap);
	cairn_buf_free(&b);
	cairn_buf_free(&b); /* twice is fine */
	cairn_buf_free(NULL);
}

static void test_buf_steal(void **state)
{
	(void)state;
	struct cairn_buf b = CAIRN_BUF_INIT;
	size_t len = 99;
	assert_null(cairn_buf_steal(&b, &len));
	assert_int_equal(len, 0);

	ck_ok(cairn_buf_append(&b, "hello", 5));
	uint8_t *p = cairn_buf_steal(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 5);
	assert_memory_equal(p, "hello", 5);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	/* The buffer is reusable after a steal and owns nothing of p. */
	ck_ok(cairn_buf_append(&b, "x", 1));
	assert_memory_equal(p, "hello", 5);
	free(p);
	p = cairn_buf_steal(&b, NULL);
	assert_non_null(p);
	free(p);
	cairn_buf_free(&b);
}

/* ---- reader ---- */

static void test_reader(void **state)
{
	(void)state;
	static const uint8_t d[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 };
	struct cairn_reader r;
	cairn_reader_init(&r, d, sizeof(d));
	assert_int_equal(cairn_reader_u8(&r), 1);
	assert_int_equal(cairn_reader_le16(&r), 0x0302);
	assert_int_equal(cairn_reader_le32(&r), 0x07060504);
	assert_true(cairn_reader_le64(&r) == 0x0f0e0d0c0b0a0908ull);
	const uint8_t *p = cairn_reader_bytes(&r, 2);
	assert_ptr_equal(p, d + 15);
	assert_int_equal(r.left, 0);
	assert_false(r.bad);
	/* Zero bytes at the end is fine. */
	assert_non_null(cairn_reader_bytes(&r, 0));
	assert_false(r.bad);
	/* One past the end: bad, and reads return zeros. */
	assert_int_equal(cairn_reader_u8(&r), 0);
	assert_true(r.bad);
}

static void test_reader_bad_sticky(void **state)
{
	(void)state;
	static const uint8_t d[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct cairn_reader r;
	cairn_reader_init(&r, d, sizeof(d));
	/* 8 bytes wanted, 7 there. */
	assert_true(cairn_reader_le64(&r) == 0);
	assert_true(r.bad);
	assert_int_equal(r.left, 7);
	/* Once bad, every read fails even if the bytes are there. */
	assert_int_equal(cairn_reader_u8(&r), 0);
	assert_int_equal(cairn_reader_le16(&r), 0);
	assert_int_equal(cairn_reader_le32(&r), 0);
	assert_null(cairn_reader_bytes(&r, 0));
	assert_true(r.bad);

	cairn_reader_init(&r, d, 3);
	assert_int_equal(cairn_reader_le32(&r), 0);
	assert_true(r.bad);
	cairn_reader_init(&r, d, 1);
	assert_int_equal(cairn_reader_le16(&r), 0);
	assert_true(r.bad);
	cairn_reader_init(&r, NULL, 0);
	assert_null(cairn_reader_bytes(&r, 1));
	assert_true(r.bad);
	/* Huge lengths do not wrap. */
	cairn_reader_init(&r, d, sizeof(d));
	assert_null(cairn_reader_bytes(&r, SIZE_MAX));
	assert_true(r.bad);
}

/* ---- hex ---- */

static void test_hex(void **state)
{
	(void)state;
	static const uint8_t bin[] = { 0x00, 0xff, 0x10, 0xab, 0x9c };
	char out[2 * sizeof(bin) + 1];
	memset(out, 'x', sizeof(out));
	cairn_hex_encode(bin, sizeof(bin), out);
	assert_string_equal(out, "00ff10ab9c");
	uint8_t back[sizeof(bin)];
	ck_ok(cairn_hex_decode(out, back, sizeof(back)));
	assert_memory_equal(back, bin, sizeof(bin));
	cairn_hex_encode(bin, 0, out);
	assert_string_equal(out, "");
	ck_ok(cairn_hex_decode("", back, 0));

	uint8_t all[256];
	char allhex[513];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	cairn_hex_encode(all, 256, allhex);
	uint8_t all2[256];
	ck_ok(cairn_hex_decode(allhex, all2, 256));
	assert_memory_equal(all, all2, 256);
}

static void test_hex_bad(void **state)
{
	(void)state;
	uint8_t out[4];
	ck_err(cairn_hex_decode("0g", out, 1), CAIRN_EINVAL);
	ck_err(cairn_hex_decode("g0", out, 1), CAIRN_EINVAL);
	ck_err(cairn_hex_decode("zz", out, 1), CAIRN_EINVAL);
	ck_err(cairn_hex_decode("0 ", out, 1), CAIRN_EINVAL);
	ck_err(cairn_hex_decode("-1", out, 1), CAIRN_EINVAL);
	/* One spelling per id: upper case is another name, not the same. */
	ck_err(cairn_hex_decode("00FF10AB9C", out, 5), CAIRN_EINVAL);
	ck_err(cairn_hex_decode("aB", out, 1), CAIRN_EINVAL);
	ck_err(cairn_hex_decode("Ab", out, 1), CAIRN_EINVAL);
	/* Too short: stops at the terminator, never reads past it. */
	ck_err(cairn_hex_decode("abc", out, 2), CAIRN_EINVAL);
	ck_err(cairn_hex_decode("a", out, 1), CAIRN_EINVAL);
	ck_err(cairn_hex_decode("", out, 1), CAIRN_EINVAL);
	/* Too long. */
	ck_err(cairn_hex_decode("aabbcc", out, 2), CAIRN_EINVAL);
	ck_err(cairn_hex_decode("a", out, 0), CAIRN_EINVAL);
}

/* ---- errors ---- */

static void test_error_set_prefix(void **state)
{
	(void)state;
	cairn_error_clear();
	assert_string_equal(cairn_error_message(), "");
	assert_int_equal(cairn_error_set(CAIRN_EIO, "read %s: %d", "x", 5), CAIRN_EIO);
	assert_string_equal(cairn_error_message(), "read x: 5");
	assert_int_equal(cairn_error_prefix(CAIRN_ECORRUPT, "pack %s", "ab"), CAIRN_ECORRUPT);
	assert_string_equal(cairn_error_message(), "pack ab: read x: 5");
	cairn_error_clear();
	cairn_error_prefix(CAIRN_EIO, "only");
	assert_string_equal(cairn_error_message(), "only");

	char small[6];
	cairn_error_set(CAIRN_EIO, "0123456789");
	cairn_error_copy(small, sizeof(small));
	assert_string_equal(small, "01234");
	cairn_error_copy(small, 0); /* nothing written, no crash */

	/* Long messages are cut, never overflow. */
	char big[3000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	cairn_error_set(CAIRN_EIO, "%s", big);
	assert_true(strlen(cairn_error_message()) < sizeof(big) - 1);
	assert_true(strlen(cairn_error_message()) > 100);
	cairn_error_prefix(CAIRN_EIO, "%s", big);
	assert_true(strlen(cairn_error_message()) < sizeof(big) - 1);
	cairn_error_set(CAIRN_EIO, "tail");
	cairn_error_prefix(CAIRN_EIO, "%s", big);
	assert_true(strlen(cairn_error_message()) < sizeof(big) - 1);
	cairn_error_clear();
}

static void test_error_from_errno(void **state)
{
	(void)state;
	assert_int_equal(cairn_error_from_errno(ENOMEM), CAIRN_ENOMEM);
	assert_int_equal(cairn_error_from_errno(ENOENT), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_error_from_errno(ENOTDIR), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_error_from_errno(EEXIST), CAIRN_EEXIST);
	assert_int_equal(cairn_error_from_errno(ENOSPC), CAIRN_ENOSPC);
	assert_int_equal(cairn_error_from_errno(EDQUOT), CAIRN_ENOSPC);
	assert_int_equal(cairn_error_from_errno(EACCES), CAIRN_EPERM);
	assert_int_equal(cairn_error_from_errno(EPERM), CAIRN_EPERM);
	assert_int_equal(cairn_error_from_errno(EROFS), CAIRN_EPERM);
	assert_int_equal(cairn_error_from_errno(EBUSY), CAIRN_EBUSY);
	assert_int_equal(cairn_error_from_errno(EINVAL), CAIRN_EINVAL);
	assert_int_equal(cairn_error_from_errno(EINTR), CAIRN_ECANCELED);
	assert_int_equal(cairn_error_from_errno(EIO), CAIRN_EIO);
	assert_int_equal(cairn_error_from_errno(EPIPE), CAIRN_EIO);

	assert_int_equal(cairn_error_errno(ENOENT, "open %s", "/x"), CAIRN_ENOTFOUND);
	char want[256];
	snprintf(want, sizeof(want), "open /x: %s", strerror(ENOENT));
	assert_string_equal(cairn_error_message(), want);
}

static void test_error_name(void **state)
{
	(void)state;
	static const struct {
		int code;
		const char *name;
	} t[] = {
		{ CAIRN_OK, "OK" },
		{ CAIRN_ENOMEM, "ENOMEM" },
		{ CAIRN_EINVAL, "EINVAL" },
		{ CAIRN_EIO, "EIO" },
		{ CAIRN_ENOTFOUND, "ENOTFOUND" },
		{ CAIRN_EEXIST, "EEXIST" },
		{ CAIRN_ECORRUPT, "ECORRUPT" },
		{ CAIRN_EPASSPHRASE, "EPASSPHRASE" },
		{ CAIRN_EVERSION, "EVERSION" },
		{ CAIRN_ENOTREPO, "ENOTREPO" },
		{ CAIRN_EAMBIGUOUS, "EAMBIGUOUS" },
		{ CAIRN_ENOSPC, "ENOSPC" },
		{ CAIRN_EBUSY, "EBUSY" },
		{ CAIRN_EPERM, "EPERM" },
		{ CAIRN_ECRYPTO, "ECRYPTO" },
		{ CAIRN_ECANCELED, "ECANCELED" },
		{ CAIRN_ETOOSMALL, "ETOOSMALL" },
		{ CAIRN_ENET, "ENET" },
		{ CAIRN_EAUTH, "EAUTH" },
		{ CAIRN_EUNSUPPORTED, "EUNSUPPORTED" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		assert_string_equal(cairn_error_name(t[i].code), t[i].name);
	assert_string_equal(cairn_error_name(1), "EUNKNOWN");
	assert_string_equal(cairn_error_name(-100), "EUNKNOWN");
	assert_string_equal(cairn_error_name(INT_MIN + 1), "EUNKNOWN");
}

static void *other_thread(void *arg)
{
	(void)arg;
	cairn_error_set(CAIRN_EIO, "from the other thread");
	return NULL;
}

static void test_error_per_thread(void **state)
{
	(void)state;
	cairn_error_set(CAIRN_EIO, "mine");
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_string_equal(cairn_error_message(), "mine");
}

/* ---- time ---- */

static void test_time_format_parse(void **state)
{
	(void)state;
	char buf[64];
	cairn_time_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	cairn_time_format(1795616404, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-25T14:20:04Z");
	assert_true(cairn_time_parse(buf) == 1795616404);
	assert_true(cairn_time_parse("1970-01-01T00:00:00Z") == 0);

	static const int64_t ts[] = { 1, 86399, 951782400 /* 2000-02-29 */, 1700000000, 4102444800 };
	for (size_t i = 0; i < ARRAY_SIZE(ts); i++) {
		cairn_time_format(ts[i], buf, sizeof(buf));
		assert_true(cairn_time_parse(buf) == ts[i]);
	}
	/* Offsets and fractions. */
	assert_true(cairn_time_parse("2026-11-25T16:20:04+02:00") == 1795616404);
	assert_true(cairn_time_parse("2026-11-25T13:50:04-00:30") == 1795616404);
	assert_true(cairn_time_parse("2026-11-25T14:20:04.999Z") == 1795616404);
}

static void test_time_parse_bad(void **state)
{
	(void)state;
	assert_true(cairn_time_parse("") == -1);
	assert_true(cairn_time_parse("garbage") == -1);
	assert_true(cairn_time_parse("2026-11-25") == -1);
	assert_true(cairn_time_parse("2026-11-25T14:20:04") == -1);  /* no zone */
	assert_true(cairn_time_parse("2026-11-25T14:20:04Zx") == -1);
	assert_true(cairn_time_parse("2026-13-25T14:20:04Z") == -1);
	assert_true(cairn_time_parse("2026-11-25T14:20:04+0200") == -1);
	assert_true(cairn_time_parse("2026-11-25T14:20:04+02:00junk") == -1);
	assert_true(cairn_time_parse_us("nope") == -1);
}

static void test_time_us(void **state)
{
	(void)state;
	char buf[64];
	int64_t us = 1795616404123456;
	cairn_time_format_us(us, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-25T14:20:04.123456Z");
	assert_true(cairn_time_parse_us(buf) == us);
	cairn_time_format_us(1795616404000001, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-25T14:20:04.000001Z");
	assert_true(cairn_time_parse_us(buf) == 1795616404000001);
	cairn_time_format_us(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000000Z");
	assert_true(cairn_time_parse_us(buf) == 0);

	/* Fewer and more digits than six; no fraction; offsets. */
	assert_true(cairn_time_parse_us("2026-11-25T14:20:04.5Z") == 1795616404500000);
	assert_true(cairn_time_parse_us("2026-11-25T14:20:04.1234567Z") == 1795616404123456);
	assert_true(cairn_time_parse_us("2026-11-25T14:20:04Z") == 1795616404000000);
	assert_true(cairn_time_parse_us("2026-11-25T15:20:04.25+01:00") == 1795616404250000);

	/* Round trip of many values, ordered as the values. */
	int64_t prev = -1;
	for (int64_t v = 1700000000000000; v < 1700000000000000 + 5000000; v += 333333) {
		cairn_time_format_us(v, buf, sizeof(buf));
		int64_t back = cairn_time_parse_us(buf);
		assert_true(back == v);
		assert_true(back > prev);
		prev = back;
	}
}

static void test_time_now(void **state)
{
	(void)state;
	double a = cairn_now();
	double b = cairn_now();
	assert_true(b >= a);
	th_unsetenv("CAIRN_TEST_NOW");
	int64_t w = cairn_wall_now();
	assert_true(w > 1700000000);
	int64_t wus = cairn_wall_now_us();
	assert_true(wus / 1000000 >= w);
	th_setenv("CAIRN_TEST_NOW", "1795616404");
	assert_true(cairn_wall_now() == 1795616404);
	assert_true(cairn_wall_now_us() == 1795616404000000);
	th_unsetenv("CAIRN_TEST_NOW");
}

static void test_path_base(void **state)
{
	(void)state;
	assert_string_equal(cairn_path_base("/srv/vm/disk.img"), "disk.img");
	assert_string_equal(cairn_path_base("disk.img"), "disk.img");
	assert_string_equal(cairn_path_base("/dev/loop3"), "loop3");
	/* No component after the last '/': the path as it is. */
	assert_string_equal(cairn_path_base("/srv/vm/"), "/srv/vm/");
	assert_string_equal(cairn_path_base("/"), "/");
}

/* ---- the environment of children ---- */

/* Sets every secret variable to "secret-value-NAME". */
static void set_secrets(void)
{
	for (size_t i = 0; cairn_env_secrets[i]; i++) {
		char v[128];
		snprintf(v, sizeof(v), "secret-value-%s", cairn_env_secrets[i]);
		assert_int_equal(setenv(cairn_env_secrets[i], v, 1), 0);
	}
	assert_int_equal(setenv("CAIRN_TEST_PLAIN", "plain-value", 1), 0);
}

static void unset_secrets(void)
{
	for (size_t i = 0; cairn_env_secrets[i]; i++)
		unsetenv(cairn_env_secrets[i]);
	unsetenv("CAIRN_TEST_PLAIN");
}

/* text (NUL-terminated) holds no secret value, and the plain variable. */
static void assert_no_secret_in(const char *text)
{
	assert_non_null(strstr(text, "CAIRN_TEST_PLAIN=plain-value"));
	assert_null(strstr(text, "secret-value-"));
}

static void test_env_for_child(void **state)
{
	(void)state;
	set_secrets();
	assert_true(cairn_env_is_secret("CAIRN_PASSPHRASE=x"));
	assert_true(cairn_env_is_secret("AWS_SECRET_ACCESS_KEY"));
	assert_false(cairn_env_is_secret("CAIRN_PASSPHRASE_FILE=/etc/p"));
	assert_false(cairn_env_is_secret("CAIRN_PASSPHRAS=x"));
	assert_int_equal(setenv("CAIRN_GROUP", "old", 1), 0);
	const char *extra[] = { "CAIRN_GROUP=new", "CAIRN_HOOK=pre", NULL };
	char **v = NULL;
	ck_ok(cairn_env_for_child(extra, &v));
	assert_string_equal(v[0], "CAIRN_GROUP=new");
	assert_string_equal(v[1], "CAIRN_HOOK=pre");
	size_t plain = 0, group = 0;
	for (size_t i = 0; v[i]; i++) {
		assert_false(cairn_env_is_secret(v[i]));
		plain += strcmp(v[i], "CAIRN_TEST_PLAIN=plain-value") == 0;
		group += strncmp(v[i], "CAIRN_GROUP=", 12) == 0;
	}
	assert_int_equal(plain, 1);
	assert_int_equal(group, 1); /* extra overrides, never duplicates */
	free(v);
	unsetenv("CAIRN_GROUP");
	unset_secrets();
}

static void test_env_hook_and_helper(void **state)
{
	(void)state;
	char dir[PATH_MAX], file[PATH_MAX + 16], cmd[PATH_MAX + 32];
	th_tmpdir(dir, sizeof(dir), "env");
	snprintf(file, sizeof(file), "%s/env.txt", dir);
	snprintf(cmd, sizeof(cmd), "env >'%s'", file);
	set_secrets();
	ck_ok(cairn_run_hook("test hook", cmd, NULL, 60));
	size_t n;
	char *text = (char *)th_read_file(file, &n);
	text = realloc(text, n + 1);
	text[n] = 0;
	assert_no_secret_in(text);
	free(text);

	const char *argv[] = { "env", NULL };
	struct cairn_buf out = CAIRN_BUF_INIT;
	ck_ok(cairn_run_capture(argv, &out, NULL, 60));
	ck_ok(cairn_buf_append_u8(&out, 0));
	assert_no_secret_in((const char *)out.data);
	cairn_buf_free(&out);
	unset_secrets();
	th_rm_rf(dir);
}

/* Names cairn's code knows as environment variables: every string literal
 * that looks like one (upper case with an underscore: "AWS_REGION"), and
 * every literal getenv() is called with ("HOME").  Each must be on the
 * secret list or on the list below of settings that hold no secret, so a
 * new secret variable cannot be read without being kept from children. */
static const char *const not_secret[] = {
	"AWS_DEFAULT_REGION", "AWS_REGION", "AZURE_STORAGE_ACCOUNT", "CAIRN_CRED",
	"CAIRN_HTTP_BACKOFF_MS", "CAIRN_HTTP_CONNECT_TIMEOUT_MS", "CAIRN_HTTP_MAX_ATTEMPTS",
	"CAIRN_HTTP_RETRY_SECONDS", "CAIRN_HTTP_STALL_SECONDS", "CAIRN_HTTP_STATS",
	/* Paths: a child that may read the file learns nothing from its name. */
	"CAIRN_NEW_PASSPHRASE_FILE", "CAIRN_FROM_PASSPHRASE_FILE", "CAIRN_TO_PASSPHRASE_FILE", "CAIRN_PASSPHRASE_FILE", "CAIRN_STATE_KEY_FILE",
	"CAIRN_NO_DIRECT_IO", "CAIRN_NO_INDEX_CACHE", "CAIRN_NO_PROGRESS", "CAIRN_MAP_SOURCE", "CAIRN_PROFILE", "CAIRN_REPO",
	"CAIRN_STATE_DIR", "CAIRN_THREADS", "CAIRN_KDF_MEMORY", "CAIRN_TEST_KDF_LOG2N", "HOME", "XDG_STATE_HOME",
	/* The id of the job row an API request queued (daemon/jobq.h): a number. */
	"CAIRN_QUEUED_JOB",
	NULL,
};

static bool listed(const char *const *list, const char *name)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

static bool env_like(const char *s, size_t n, bool after_getenv)
{
	bool underscore = false;
	if (n < 2 || !(s[0] >= 'A' && s[0] <= 'Z'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
		underscore |= s[i] == '_';
	}
	return underscore || after_getenv;
}

struct scan {
	size_t names, secrets_seen[64];
	char unknown[1024];
};

static void classify(const char *name, const char *path, struct scan *sc)
{
	sc->names++;
	for (size_t k = 0; cairn_env_secrets[k]; k++)
		if (strcmp(cairn_env_secrets[k], name) == 0) {
			sc->secrets_seen[k]++;
			return;
		}
	if (!listed(not_secret, name) && strncmp(name, "CAIRN_TEST_", 11) != 0) {
		size_t u = strlen(sc->unknown);
		snprintf(sc->unknown + u, sizeof(sc->unknown) - u, " %s (%s)", name, path);
	}
}

static void scan_text(const char *path, const char *t, size_t n, struct scan *sc)
{
	static const char *const prefixes[] = { "CAIRN_", "AWS_", "AZURE_", "GOOGLE_", "XDG_" };
	for (size_t i = 0; i < n; i++) {
		if (t[i] != '"')
			continue;
		size_t j = i + 1;
		while (j < n && t[j] != '"' && t[j] != '\n')
			j++;
		if (j >= n || t[j] != '"')
			continue;
		bool after_getenv = i >= 7 && memcmp(t + i - 7, "getenv(", 7) == 0;
		char name[128];
		size_t len = j - i - 1;
		if (len < sizeof(name) && env_like(t + i + 1, len, after_getenv)) {
			memcpy(name, t + i + 1, len);
			name[len] = 0;
			bool known = after_getenv;
			for (size_t k = 0; k < ARRAY_SIZE(prefixes); k++)
				known |= strncmp(name, prefixes[k], strlen(prefixes[k])) == 0;
			if (known)
				classify(name, path, sc);
		}
		i = j;
	}
}

static void scan_dir(const char *dir, struct scan *sc)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		size_t l = strlen(e->d_name);
		if (S_ISDIR(st.st_mode)) {
			scan_dir(path, sc);
		} else if (l > 2 && (!strcmp(e->d_name + l - 2, ".c") || !strcmp(e->d_name + l - 2, ".h"))) {
			size_t n;
			char *t = (char *)th_read_file(path, &n);
			scan_text(path, t, n, sc);
			free(t);
		}
	}
	closedir(d);
}

static void test_env_secret_list_complete(void **state)
{
	(void)state;
	struct scan sc = { 0 };
	assert_true(ARRAY_SIZE(sc.secrets_seen) >= 16);
	scan_dir(CAIRN_SOURCE_ROOT "/src", &sc);
	assert_true(sc.names > 20);
	if (sc.unknown[0])
		fail_msg("environment variables neither secret (util/env.c) nor known plain (test_util.c):%s",
			 sc.unknown);
	/* And no stale entry: each secret is one the code reads (env.c aside). */
	for (size_t k = 0; cairn_env_secrets[k]; k++)
		if (sc.secrets_seen[k] < 2)
			fail_msg("%s is on the secret list but no code names it", cairn_env_secrets[k]);
}

/* Walks that follow only links root or we own; a link another user owns
 * is refused, naming it (the owner change needs root: skipped without). */
static void test_path_walk(void **state)
{
	(void)state;
	char d[PATH_MAX], p[PATH_MAX + 64], q[PATH_MAX + 64];
	th_tmpdir(d, sizeof(d), "path");
	snprintf(p, sizeof(p), "%s/real", d);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/real/f.img", d);
	th_write_file(p, "data", 4);
	snprintf(q, sizeof(q), "%s/link", d);
	assert_int_equal(symlink("real", q), 0);
	snprintf(q, sizeof(q), "%s/flink", d);
	assert_int_equal(symlink("real/f.img", q), 0);

	struct cairn_path w = CAIRN_PATH_INIT;
	snprintf(q, sizeof(q), "%s/link/../link/./f.img", d);
	ck_ok(cairn_path_open(q, "source", O_RDONLY, false, &w));
	char want[PATH_MAX + 64], real[PATH_MAX];
	assert_non_null(realpath(d, real));
	snprintf(want, sizeof(want), "%s/real/f.img", real);
	assert_string_equal(w.abs, want);
	assert_string_equal(w.name, "f.img");
	char buf[8] = "";
	assert_int_equal(read(w.fd, buf, sizeof(buf)), 4);
	struct stat st;
	assert_int_equal(fstatat(w.dirfd, "f.img", &st, 0), 0);
	cairn_path_clear(&w);
	snprintf(q, sizeof(q), "%s/flink", d);
	ck_ok(cairn_path_open(q, "source", O_PATH, false, &w));
	assert_string_equal(w.abs, want);
	cairn_path_clear(&w);
	/* Missing: an error, or with missing_ok the directory to create it in. */
	snprintf(q, sizeof(q), "%s/link/new.img", d);
	ck_err(cairn_path_open(q, "target", O_RDONLY, false, &w), CAIRN_ENOTFOUND);
	ck_ok(cairn_path_open(q, "target", O_RDONLY, true, &w));
	assert_int_equal(w.fd, -1);
	assert_string_equal(w.name, "new.img");
	cairn_path_clear(&w);
	snprintf(q, sizeof(q), "%s/dangling", d);
	assert_int_equal(symlink("nowhere", q), 0);
	ck_err(cairn_path_open(q, "target", O_RDONLY, true, &w), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_message(), "does not resolve"));
	snprintf(q, sizeof(q), "%s/real/f.img/x", d);
	assert_true(cairn_path_open(q, "source", O_RDONLY, false, &w) < 0);

	if (geteuid() == 0) {
		snprintf(q, sizeof(q), "%s/flink", d);
		assert_int_equal(lchown(q, 65534, 65534), 0);
		ck_err(cairn_path_open(q, "source", O_RDONLY, false, &w), CAIRN_EPERM);
		assert_non_null(strstr(cairn_error_message(), "is a symbolic link owned by uid 65534"));
		assert_non_null(strstr(cairn_error_message(), "give the path it points to"));
		/* On the way, not only last. */
		snprintf(q, sizeof(q), "%s/link", d);
		assert_int_equal(lchown(q, 65534, 65534), 0);
		snprintf(q, sizeof(q), "%s/link/f.img", d);
		ck_err(cairn_path_open(q, "source", O_RDONLY, false, &w), CAIRN_EPERM);
	}
	assert_int_equal(w.fd, -1);
	th_rm_rf(d);
}

/* Private directories: made 0700; a link, a file, a directory of another
 * user or with group or other bits is refused, never changed. */
static void test_private_dir(void **state)
{
	(void)state;
	char d[PATH_MAX], p[PATH_MAX + 64];
	th_tmpdir(d, sizeof(d), "private");
	int dfd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	int fd = -1;
	ck_err(cairn_path_private_dir(dfd, "snaps", "D/snaps", "snapshot directory", false, &fd), CAIRN_ENOTFOUND);
	ck_ok(cairn_path_private_dir(dfd, "snaps", "D/snaps", "snapshot directory", true, &fd));
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	close(fd);
	ck_ok(cairn_path_private_dir(dfd, "snaps", "D/snaps", "snapshot directory", true, &fd)); /* again */
	close(fd);

	snprintf(p, sizeof(p), "%s/snaps", d);
	assert_int_equal(chmod(p, 0770), 0);
	ck_err(cairn_path_private_dir(dfd, "snaps", "D/snaps", "snapshot directory", true, &fd), CAIRN_EPERM);
	assert_non_null(strstr(cairn_error_message(), "refusing snapshot directory D/snaps: its mode 0770"));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0770); /* not repaired behind the owner's back */
	assert_int_equal(chmod(p, 0701), 0);
	ck_err(cairn_path_private_dir(dfd, "snaps", "D/snaps", "snapshot directory", true, &fd), CAIRN_EPERM);

	assert_int_equal(chmod(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/ln", d);
	assert_int_equal(symlink("snaps", p), 0);
	ck_err(cairn_path_private_dir(dfd, "ln", "D/ln", "snapshot directory", true, &fd), CAIRN_EPERM);
	assert_non_null(strstr(cairn_error_message(), "symbolic link"));
	snprintf(p, sizeof(p), "%s/file", d);
	th_write_file(p, "x", 1);
	ck_err(cairn_path_private_dir(dfd, "file", "D/file", "snapshot directory", true, &fd), CAIRN_EPERM);
	assert_non_null(strstr(cairn_error_message(), "not a directory"));

	if (geteuid() == 0) {
		snprintf(p, sizeof(p), "%s/theirs", d);
		assert_int_equal(mkdir(p, 0700), 0);
		assert_int_equal(chown(p, 65534, 65534), 0);
		ck_err(cairn_path_private_dir(dfd, "theirs", "D/theirs", "snapshot directory", true, &fd), CAIRN_EPERM);
		assert_non_null(strstr(cairn_error_message(), "owned by uid 65534"));
	}
	close(dfd);
	th_rm_rf(d);
}

/* Temporaries: O_EXCL beside a planted link, named after the process,
 * swept only when their process is gone and their lock free; a commit
 * that finds something else at the name says so. */
static void test_tmpfile(void **state)
{
	(void)state;
	char d[PATH_MAX], p[PATH_MAX + 64];
	th_tmpdir(d, sizeof(d), "tmpfile");
	int dfd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	int fd = -1;
	char *tmp = NULL;
	ck_ok(cairn_tmp_create(dfd, d, "vol.img", ".cairn-x-", &fd, &tmp));
	size_t nl;
	pid_t pid;
	assert_true(cairn_tmp_parse(tmp, ".cairn-x-", &nl, &pid));
	assert_int_equal(nl, strlen("vol.img"));
	assert_int_equal(pid, getpid());
	assert_false(cairn_tmp_parse("vol.img.cairn-x-12-short", ".cairn-x-", &nl, &pid));
	assert_false(cairn_tmp_parse("vol.img.cairn-x--AbCdEf", ".cairn-x-", &nl, &pid));
	assert_true(cairn_tmp_parse("a.cairn-x-b.cairn-x-7-AbCdEf", ".cairn-x-", &nl, &pid));
	assert_int_equal(nl, strlen("a.cairn-x-b"));
	assert_int_equal(pid, 7);
	/* Ours, and locked: not claimable. */
	int cfd;
	struct stat st;
	assert_int_equal(cairn_tmp_claim(dfd, tmp, pid = getpid(), &cfd, &st), 0);
	assert_int_equal(cairn_tmp_claim(dfd, tmp, 0, &cfd, &st), 0);

	/* A dead process's file is swept; a locked one and a live one stay. */
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	char gone[PATH_MAX + 64], held[PATH_MAX + 64], live[PATH_MAX + 64];
	snprintf(gone, sizeof(gone), "%s/vol.img.cairn-x-%d-Gone01", d, (int)dead);
	snprintf(held, sizeof(held), "%s/vol.img.cairn-x-%d-Held01", d, (int)dead);
	snprintf(live, sizeof(live), "%s/vol.img.cairn-x-1-Live01", d);
	th_write_file(gone, "g", 1);
	th_write_file(held, "h", 1);
	th_write_file(live, "l", 1);
	int hfd = open(held, O_RDONLY | O_CLOEXEC);
	assert_int_equal(flock(hfd, LOCK_EX), 0);
	cairn_tmp_sweep(dfd, d, "vol.img", ".cairn-x-", "a test");
	assert_int_equal(access(gone, F_OK), -1);
	assert_int_equal(access(held, F_OK), 0);
	assert_int_equal(access(live, F_OK), 0);
	snprintf(p, sizeof(p), "%s/%s", d, tmp);
	assert_int_equal(access(p, F_OK), 0);
	close(hfd);

	/* Commit: the temporary becomes the name. */
	ck_ok(cairn_tmp_commit(dfd, d, tmp, "vol.img", fd));
	snprintf(p, sizeof(p), "%s/vol.img", d);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	free(tmp);
	tmp = NULL;
	close(fd);
	/* Swapped for a link before the rename: the commit says so. */
	ck_ok(cairn_tmp_create(dfd, d, "vol.img", ".cairn-x-", &fd, &tmp));
	snprintf(p, sizeof(p), "%s/%s", d, tmp);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("/etc/hostname", p), 0);
	ck_err(cairn_tmp_commit(dfd, d, tmp, "vol.img", fd), CAIRN_EPERM);
	assert_non_null(strstr(cairn_error_message(), "is not the file cairn wrote"));
	/* A planted link at a name it tries is never followed: O_EXCL. */
	assert_int_equal(faccessat(dfd, "vol.img", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	free(tmp);
	close(fd);
	close(dfd);
	th_rm_rf(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_append),
		cmocka_unit_test(test_buf_append_ints),
		cmocka_unit_test(test_buf_large),
		cmocka_unit_test(test_buf_reserve),
		cmocka_unit_test(test_buf_steal),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_reader_bad_sticky),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_hex_bad),
		cmocka_unit_test(test_error_set_prefix),
		cmocka_unit_test(test_error_from_errno),
		cmocka_unit_test(test_error_name),
		cmocka_unit_test(test_error_per_thread),
		cmocka_unit_test(test_time_format_parse),
		cmocka_unit_test(test_time_parse_bad),
		cmocka_unit_test(test_time_us),
		cmocka_unit_test(test_time_now),
		cmocka_unit_test(test_path_base),
		cmocka_unit_test(test_env_for_child),
		cmocka_unit_test(test_env_hook_and_helper),
		cmocka_unit_test(test_env_secret_list_complete),
		cmocka_unit_test(test_path_walk),
		cmocka_unit_test(test_private_dir),
		cmocka_unit_test(test_tmpfile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
