/* The store conformance suite: what every driver (local, S3, Azure, GCS)
 * must do, written against struct cairn_store only.
 *
 * A driver's test file includes this header, writes a setup that opens an
 * empty store into a struct sc_fixture (set as cmocka's *state) and a
 * teardown, and lists CAIRN_STORE_CONFORMANCE_TESTS(setup, teardown) among
 * its tests.  Each check uses its own key prefix, so the checks also pass
 * when run one after another on one store.
 *
 * Everything is static: the unit-test build compiles one .c per module.
 */
#ifndef CAIRN_TESTS_STORE_CONFORMANCE_H
#define CAIRN_TESTS_STORE_CONFORMANCE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"
#include "store/store.h"

struct sc_fixture {
	struct cairn_store *store; /* the store under test, empty at setup */
	char dir[PATH_MAX];        /* for drivers that need a scratch directory */
	void *driver_data;
};

/* Deterministic bytes, different per seed (xorshift). */
static void sc_fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 0x1234567;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

static uint8_t *sc_data(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	sc_fill(p, n, seed);
	return p;
}

#define sc_ok(expr)                                                                        \
	do {                                                                               \
		int sc_r_ = (expr);                                                        \
		if (sc_r_ != 0)                                                            \
			fail_msg("%s = %d (%s): %s", #expr, sc_r_, cairn_error_name(sc_r_), \
				 cairn_error_message());                                   \
	} while (0)

static void sc_expect_object(struct cairn_store *s, const char *key, const uint8_t *data, size_t len)
{
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint64_t size = 0;

	sc_ok(cairn_store_get(s, key, 0, CAIRN_STORE_TO_END, &b));
	assert_int_equal(b.len, len);
	if (len)
		assert_memory_equal(b.data, data, len);
	sc_ok(cairn_store_stat(s, key, &size));
	assert_int_equal(size, len);
	cairn_buf_free(&b);
}

static void sc_put_get(struct cairn_store *s)
{
	static const size_t sizes[] = { 0, 1, 2, 100, 4095, 4096, 4097, 65536, 1000003 };
	char key[64];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *d = sc_data(sizes[i], i);
		snprintf(key, sizeof(key), "pg/%02zu/obj-%zu", i % 3, sizes[i]);
		sc_ok(cairn_store_put(s, key, d, sizes[i], 0));
		sc_expect_object(s, key, d, sizes[i]);
		free(d);
	}
	/* A reused, already large buffer must come back with exactly the new
	 * object and nothing of the old one. */
	struct cairn_buf b = CAIRN_BUF_INIT;
	sc_ok(cairn_store_get(s, "pg/02/obj-1000003", 0, CAIRN_STORE_TO_END, &b));
	sc_ok(cairn_store_get(s, "pg/00/obj-0", 0, CAIRN_STORE_TO_END, &b));
	assert_int_equal(b.len, 0);
	sc_ok(cairn_store_get(s, "pg/01/obj-1", 0, CAIRN_STORE_TO_END, &b));
	assert_int_equal(b.len, 1);
	cairn_buf_free(&b);
}

static void sc_large(struct cairn_store *s)
{
	const size_t n = 5u << 20;
	uint8_t *d = sc_data(n, 77);
	sc_ok(cairn_store_put(s, "large/five-mib", d, n, 0));
	sc_expect_object(s, "large/five-mib", d, n);
	free(d);
}

static void sc_range_get(struct cairn_store *s)
{
	const size_t n = 3u << 20;
	uint8_t *d = sc_data(n, 5);
	struct cairn_buf b = CAIRN_BUF_INIT;
	static const struct {
		uint64_t off, len;
	} r[] = {
		{ 0, 0 }, { 0, 1 }, { 1, 1 }, { 0, 4096 }, { 4095, 2 }, { 1000, 1u << 20 },
		{ (3u << 20) - 1, 1 }, { (3u << 20) - 10, 100 }, /* runs past the end */
		{ 3u << 20, 10 },                                /* at the end: empty */
		{ 12345, CAIRN_STORE_TO_END }, { 0, (3u << 20) + 1 },
	};

	sc_ok(cairn_store_put(s, "range/obj", d, n, 0));
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		uint64_t want = r[i].off >= n ? 0 : (r[i].len < n - r[i].off ? r[i].len : n - r[i].off);
		sc_ok(cairn_store_get(s, "range/obj", r[i].off, r[i].len, &b));
		assert_int_equal(b.len, want);
		if (want)
			assert_memory_equal(b.data, d + r[i].off, want);
	}
	/* An offset past the end is a caller bug, not an empty read. */
	assert_int_equal(cairn_store_get(s, "range/obj", n + 1, 1, &b), CAIRN_EINVAL);
	assert_int_equal(cairn_store_get(s, "range/obj", UINT64_MAX - 1, CAIRN_STORE_TO_END, &b),
			 CAIRN_EINVAL);

	sc_ok(cairn_store_put(s, "range/empty", "", 0, 0));
	sc_ok(cairn_store_get(s, "range/empty", 0, 10, &b));
	assert_int_equal(b.len, 0);
	assert_int_equal(cairn_store_get(s, "range/empty", 1, 10, &b), CAIRN_EINVAL);
	cairn_buf_free(&b);
	free(d);
}

static void sc_missing(struct cairn_store *s)
{
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint64_t size = 42;

	assert_int_equal(cairn_store_get(s, "missing/none", 0, CAIRN_STORE_TO_END, &b), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_message(), "missing/none"));
	assert_int_equal(cairn_store_get(s, "missing/none", 10, 10, &b), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_store_stat(s, "missing/none", &size), CAIRN_ENOTFOUND);
	assert_int_equal(size, 42);
	assert_non_null(strstr(cairn_error_message(), "missing/none"));
	/* An inner node of the key space is not an object either. */
	sc_ok(cairn_store_put(s, "missing/dir/obj", "x", 1, 0));
	assert_int_equal(cairn_store_get(s, "missing/dir", 0, CAIRN_STORE_TO_END, &b), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_store_stat(s, "missing/dir", &size), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_store_stat(s, "missing/dir/obj/below", &size), CAIRN_ENOTFOUND);
	cairn_buf_free(&b);
}

static void sc_del(struct cairn_store *s)
{
	uint64_t size;

	sc_ok(cairn_store_put(s, "del/a", "abc", 3, 0));
	sc_ok(cairn_store_del(s, "del/a"));
	assert_int_equal(cairn_store_stat(s, "del/a", &size), CAIRN_ENOTFOUND);
	sc_ok(cairn_store_del(s, "del/a"));
	sc_ok(cairn_store_del(s, "del/never/existed"));
	/* The key can be written again after a delete. */
	sc_ok(cairn_store_put(s, "del/a", "de", 2, CAIRN_PUT_CREATE_ONLY));
	sc_expect_object(s, "del/a", (const uint8_t *)"de", 2);
}

static void sc_create_only(struct cairn_store *s)
{
	sc_ok(cairn_store_put(s, "co/key", "first", 5, CAIRN_PUT_CREATE_ONLY));
	assert_int_equal(cairn_store_put(s, "co/key", "second!", 7, CAIRN_PUT_CREATE_ONLY), CAIRN_EEXIST);
	assert_non_null(strstr(cairn_error_message(), "co/key"));
	sc_expect_object(s, "co/key", (const uint8_t *)"first", 5);
	/* Without the flag, put replaces. */
	sc_ok(cairn_store_put(s, "co/key", "second!", 7, 0));
	sc_expect_object(s, "co/key", (const uint8_t *)"second!", 7);
	sc_ok(cairn_store_put(s, "co/key", "3", 1, 0));
	sc_expect_object(s, "co/key", (const uint8_t *)"3", 1);
	/* Create-only of a fresh key in a fresh directory. */
	sc_ok(cairn_store_put(s, "co/new/dir/key", "", 0, CAIRN_PUT_CREATE_ONLY));
	sc_expect_object(s, "co/new/dir/key", NULL, 0);
}

static int sc_count_cb_early(const char *key, uint64_t size, void *ud)
{
	(void)key;
	(void)size;
	(*(size_t *)ud)++;
	return 0;
}

/* Overwrite rules across sizes: whatever the driver does for large objects
 * (S3: multipart above a threshold) a put replaces the whole object, and a
 * create-only put of an existing key changes nothing. */
static void sc_overwrite(struct cairn_store *s)
{
	static const size_t sizes[] = { 3, (6u << 20) + 7, 1, (2u << 20) - 1, 0, (3u << 20) + 1 };
	uint8_t *prev = NULL;
	size_t prev_len = 0;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *d = sc_data(sizes[i], 300 + i);
		sc_ok(cairn_store_put(s, "ow/key", d, sizes[i], 0));
		sc_expect_object(s, "ow/key", d, sizes[i]);
		if (prev) {
			/* Create-only leaves the current version alone. */
			assert_int_equal(cairn_store_put(s, "ow/key", prev, prev_len, CAIRN_PUT_CREATE_ONLY),
					 CAIRN_EEXIST);
			sc_expect_object(s, "ow/key", d, sizes[i]);
		}
		free(prev);
		prev = d;
		prev_len = sizes[i];
	}
	free(prev);
	/* A large create-only put of a fresh key. */
	uint8_t *d = sc_data(5u << 20, 9);
	sc_ok(cairn_store_put(s, "ow/fresh-large", d, 5u << 20, CAIRN_PUT_CREATE_ONLY));
	sc_expect_object(s, "ow/fresh-large", d, 5u << 20);
	free(d);
}

/* Batch delete (cairn_store_del_many: the driver's, or one del per key). */
static void sc_del_many(struct cairn_store *s)
{
	char *keys[40];
	size_t n = 0;
	for (int i = 0; i < 40; i++) {
		assert_true(asprintf(&keys[i], "dmany/%02d/k%d", i % 5, i) > 0);
		if (i % 4)
			sc_ok(cairn_store_put(s, keys[i], "x", 1, 0));
	}
	sc_ok(cairn_store_put(s, "dmany-stays", "y", 1, 0));
	sc_ok(cairn_store_del_many(s, (const char *const *)keys, 40));
	sc_ok(cairn_store_del_many(s, (const char *const *)keys, 40)); /* all missing now */
	sc_ok(cairn_store_del_many(s, NULL, 0));
	sc_ok(cairn_store_list(s, "dmany/", sc_count_cb_early, &n));
	assert_int_equal(n, 0);
	sc_expect_object(s, "dmany-stays", (const uint8_t *)"y", 1);
	for (int i = 0; i < 40; i++)
		free(keys[i]);
}

struct sc_listed {
	char **keys;
	uint64_t *sizes;
	size_t n, cap;
	int stop_after; /* return 7 from the callback after this many; 0 = never */
};

static int sc_list_cb(const char *key, uint64_t size, void *ud)
{
	struct sc_listed *l = ud;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->keys = realloc(l->keys, l->cap * sizeof(*l->keys));
		l->sizes = realloc(l->sizes, l->cap * sizeof(*l->sizes));
		assert_non_null(l->keys);
		assert_non_null(l->sizes);
	}
	l->keys[l->n] = strdup(key);
	l->sizes[l->n] = size;
	l->n++;
	if (l->stop_after && (int)l->n >= l->stop_after)
		return 7;
	return 0;
}

static int sc_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sc_listed_free(struct sc_listed *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->keys[i]);
	free(l->keys);
	free(l->sizes);
	memset(l, 0, sizeof(*l));
}

/* Seven pages at the S3 and Azure suites' page size of 100: enough to
 * cross page boundaries inside every prefix without a slow server
 * (Swift: ~30 ms a put) spending a minute filling it. */
#define SC_LIST_N 700

/* The keys the list check makes: SC_LIST_N, or fewer for a store whose
 * page size is smaller in proportion (the same pages to cross, fewer
 * puts: test_store_s3.c on Swift, whose every put costs the server a
 * round of its own backends).  Set before the tests run. */
static int sc_list_n = SC_LIST_N;

static void sc_list_key(char *buf, size_t size, int i)
{
	snprintf(buf, size, "list/%02x/%d/obj%05d", i % 16, (i / 16) % 4, i);
}

/* Lists prefix and compares, as a set, with the keys of sc_list_key that
 * start with it (sizes are i % 7). */
static void sc_list_expect(struct cairn_store *s, const char *prefix)
{
	struct sc_listed l = { 0 };
	char key[64];
	size_t want = 0;

	sc_ok(cairn_store_list(s, prefix, sc_list_cb, &l));
	if (l.n)
		qsort(l.keys, l.n, sizeof(*l.keys), sc_strcmp);
	for (size_t i = 1; i < l.n; i++)
		if (!strcmp(l.keys[i - 1], l.keys[i]))
			fail_msg("list '%s' reported %s twice", prefix, l.keys[i]);
	for (int i = 0; i < sc_list_n; i++) {
		sc_list_key(key, sizeof(key), i);
		if (strncmp(key, prefix, strlen(prefix)) != 0)
			continue;
		want++;
		char *k = key;
		char **hit = l.n ? bsearch(&k, l.keys, l.n, sizeof(*l.keys), sc_strcmp) : NULL;
		if (!hit)
			fail_msg("list '%s' missed %s", prefix, key);
	}
	for (size_t i = 0; i < l.n; i++)
		if (strncmp(l.keys[i], prefix, strlen(prefix)) != 0 || strncmp(l.keys[i], "list/", 5) != 0)
			fail_msg("list '%s' reported stray key %s", prefix, l.keys[i]);
	assert_int_equal(l.n, want);
	sc_listed_free(&l);
}

/* Filling the listing's keys from several threads: network stores take
 * a round trip per put, and the listing is what is under test. */
#define SC_FILL_THREADS 8

struct sc_filler {
	struct cairn_store *s;
	int id;
	char err[512];
};

static void *sc_fill_main(void *arg)
{
	struct sc_filler *f = arg;
	char key[64];
	uint8_t data[8];
	for (int i = f->id; i < sc_list_n; i += SC_FILL_THREADS) {
		sc_list_key(key, sizeof(key), i);
		sc_fill(data, sizeof(data), (uint64_t)i);
		if (cairn_store_put(f->s, key, data, (size_t)(i % 7), 0) < 0) {
			snprintf(f->err, sizeof(f->err), "put %s: %s", key, cairn_error_message());
			break;
		}
	}
	return NULL;
}

static void sc_list(struct cairn_store *s)
{
	struct sc_listed l = { 0 };
	pthread_t tid[SC_FILL_THREADS];
	struct sc_filler fl[SC_FILL_THREADS];

	for (int i = 0; i < SC_FILL_THREADS; i++) {
		fl[i] = (struct sc_filler){ .s = s, .id = i };
		assert_int_equal(pthread_create(&tid[i], NULL, sc_fill_main, &fl[i]), 0);
	}
	for (int i = 0; i < SC_FILL_THREADS; i++)
		pthread_join(tid[i], NULL);
	for (int i = 0; i < SC_FILL_THREADS; i++)
		if (fl[i].err[0])
			fail_msg("filler %d: %s", i, fl[i].err);
	/* Neighbours that share a string prefix but are outside "list/". */
	sc_ok(cairn_store_put(s, "listx", "n", 1, 0));
	sc_ok(cairn_store_put(s, "listy/a", "n", 1, 0));
	sc_ok(cairn_store_put(s, "list0/a", "n", 1, 0));

	sc_list_expect(s, "list/");
	sc_list_expect(s, "list/0");
	sc_list_expect(s, "list/0a/");
	sc_list_expect(s, "list/0a/3");
	sc_list_expect(s, "list/0a/3/");
	sc_list_expect(s, "list/0a/3/obj0");
	sc_list_expect(s, "list/0f/2/obj00");
	sc_list_expect(s, "list/0f/2/obj00047");
	sc_list_expect(s, "list/zz");
	sc_list_expect(s, "nothing/here/");

	/* The empty prefix lists everything, including the neighbours. */
	sc_ok(cairn_store_list(s, "", sc_list_cb, &l));
	size_t in_list = 0, neighbours = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (!strncmp(l.keys[i], "list/", 5))
			in_list++;
		else if (!strcmp(l.keys[i], "listx") || !strcmp(l.keys[i], "listy/a") ||
			 !strcmp(l.keys[i], "list0/a"))
			neighbours++;
	}
	assert_int_equal(in_list, sc_list_n);
	assert_int_equal(neighbours, 3);
	sc_listed_free(&l);

	/* Sizes are reported. */
	sc_ok(cairn_store_list(s, "list/03/1/", sc_list_cb, &l));
	assert_true(l.n > 0);
	for (size_t i = 0; i < l.n; i++) {
		int idx = atoi(strstr(l.keys[i], "obj") + 3);
		assert_int_equal(l.sizes[i], (uint64_t)(idx % 7));
	}
	sc_listed_free(&l);

	/* A non-zero callback result stops the listing and is returned. */
	l.stop_after = 5;
	assert_int_equal(cairn_store_list(s, "list/", sc_list_cb, &l), 7);
	assert_int_equal(l.n, 5);
	sc_listed_free(&l);

	/* Deleted keys disappear from the listing. */
	sc_ok(cairn_store_del(s, "listx"));
	sc_ok(cairn_store_list(s, "listx", sc_list_cb, &l));
	assert_int_equal(l.n, 0);
	sc_listed_free(&l);
}

/* Concurrency: four threads put, get and overwrite at once.  Threads do not
 * call cmocka asserts (not thread-safe); they record their first failure. */
#define SC_THREADS 4
#define SC_ROUNDS 40

struct sc_thread {
	struct cairn_store *s;
	int id;
	char err[512];
};

/* Objects for the shared key describe themselves: an 8-byte seed and 8-byte
 * length header, then sc_fill(seed) bytes, so a reader can tell a complete
 * version from a torn one. */
static uint8_t *sc_versioned(uint64_t seed, size_t *ret_len)
{
	size_t n = 16 + (size_t)(seed % 97) * 1031;
	uint8_t *p = malloc(n);
	if (!p)
		return NULL;
	memcpy(p, &seed, 8);
	uint64_t n64 = n;
	memcpy(p + 8, &n64, 8);
	sc_fill(p + 16, n - 16, seed);
	*ret_len = n;
	return p;
}

static bool sc_versioned_ok(const uint8_t *p, size_t n)
{
	uint64_t seed, n64;
	size_t want;
	if (n < 16)
		return false;
	memcpy(&seed, p, 8);
	memcpy(&n64, p + 8, 8);
	if (n64 != n)
		return false;
	uint8_t *q = sc_versioned(seed, &want);
	bool ok = q && want == n && memcmp(p, q, n) == 0;
	free(q);
	return ok;
}

#define SC_TFAIL(t, ...)                                                      \
	do {                                                                  \
		if (!(t)->err[0])                                             \
			snprintf((t)->err, sizeof((t)->err), __VA_ARGS__);    \
		goto out;                                                     \
	} while (0)

static void *sc_thread_main(void *arg)
{
	struct sc_thread *t = arg;
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint8_t *d = NULL;
	char key[96];
	int r;

	for (int i = 0; i < SC_ROUNDS; i++) {
		/* Own keys, in directories every thread creates at once. */
		size_t n = (size_t)((i * 7919 + t->id * 104729) % (300 * 1024));
		uint64_t seed = (uint64_t)t->id * 100000 + (uint64_t)i;
		d = malloc(n ? n : 1);
		if (!d)
			SC_TFAIL(t, "oom");
		sc_fill(d, n, seed);
		snprintf(key, sizeof(key), "conc/%02d/t%d-%d", i % 8, t->id, i);
		r = cairn_store_put(t->s, key, d, n, i % 2 ? CAIRN_PUT_CREATE_ONLY : 0);
		if (r < 0)
			SC_TFAIL(t, "put %s: %s", key, cairn_error_message());
		r = cairn_store_get(t->s, key, 0, CAIRN_STORE_TO_END, &b);
		if (r < 0 || b.len != n || (n && memcmp(b.data, d, n)))
			SC_TFAIL(t, "get %s: r=%d len=%zu want %zu", key, r, b.len, n);
		if (n > 10) {
			r = cairn_store_get(t->s, key, n / 3, n / 2, &b);
			if (r < 0 || b.len != n / 2 || memcmp(b.data, d + n / 3, n / 2))
				SC_TFAIL(t, "range get %s: r=%d", key, r);
		}
		free(d);
		d = NULL;

		/* The shared key: every version read must be complete. */
		size_t vn;
		d = sc_versioned(seed, &vn);
		if (!d)
			SC_TFAIL(t, "oom");
		r = cairn_store_put(t->s, "conc/shared", d, vn, 0);
		if (r < 0)
			SC_TFAIL(t, "put shared: %s", cairn_error_message());
		free(d);
		d = NULL;
		r = cairn_store_get(t->s, "conc/shared", 0, CAIRN_STORE_TO_END, &b);
		if (r < 0 || !sc_versioned_ok(b.data, b.len))
			SC_TFAIL(t, "get shared: r=%d len=%zu: torn or wrong version", r, b.len);

		/* Exactly one create-only put of a contested key wins. */
		snprintf(key, sizeof(key), "conc/race/%d", i);
		r = cairn_store_put(t->s, key, &t->id, sizeof(t->id), CAIRN_PUT_CREATE_ONLY);
		if (r < 0 && r != CAIRN_EEXIST)
			SC_TFAIL(t, "create-only race %s: %s", key, cairn_error_message());
	}
out:
	free(d);
	cairn_buf_free(&b);
	return NULL;
}

static int sc_count_cb(const char *key, uint64_t size, void *ud)
{
	(void)key;
	(void)size;
	(*(size_t *)ud)++;
	return 0;
}

static void sc_concurrent(struct cairn_store *s)
{
	pthread_t tid[SC_THREADS];
	struct sc_thread t[SC_THREADS];

	for (int i = 0; i < SC_THREADS; i++) {
		t[i] = (struct sc_thread){ .s = s, .id = i };
		assert_int_equal(pthread_create(&tid[i], NULL, sc_thread_main, &t[i]), 0);
	}
	for (int i = 0; i < SC_THREADS; i++)
		pthread_join(tid[i], NULL);
	for (int i = 0; i < SC_THREADS; i++)
		if (t[i].err[0])
			fail_msg("thread %d: %s", i, t[i].err);

	size_t n = 0;
	sc_ok(cairn_store_list(s, "conc/", sc_count_cb, &n));
	/* own keys + shared + one winner per race key */
	assert_int_equal(n, SC_THREADS * SC_ROUNDS + 1 + SC_ROUNDS);
	for (int i = 0; i < SC_ROUNDS; i++) {
		char key[32];
		struct cairn_buf b = CAIRN_BUF_INIT;
		snprintf(key, sizeof(key), "conc/race/%d", i);
		sc_ok(cairn_store_get(s, key, 0, CAIRN_STORE_TO_END, &b));
		assert_int_equal(b.len, sizeof(int));
		cairn_buf_free(&b);
	}
}

#define SC_TEST(name)                                          \
	static void sc_test_##name(void **state)               \
	{                                                      \
		sc_##name(((struct sc_fixture *)*state)->store); \
	}
SC_TEST(put_get)
SC_TEST(large)
SC_TEST(range_get)
SC_TEST(missing)
SC_TEST(del)
SC_TEST(create_only)
SC_TEST(overwrite)
SC_TEST(del_many)
SC_TEST(list)
SC_TEST(concurrent)
#undef SC_TEST

/* Entries for a cmocka test array; setup puts a struct sc_fixture with an
 * empty store in *state.  prefix (a string literal) names the run, since a
 * file may run the suite over several stores. */
#define SC_ENTRY(prefix, name, setup, teardown) \
	{ prefix #name, sc_test_##name, setup, teardown, NULL }
#define CAIRN_STORE_CONFORMANCE_TESTS(prefix, setup, teardown)   \
	SC_ENTRY(prefix, put_get, setup, teardown),              \
	SC_ENTRY(prefix, large, setup, teardown),                \
	SC_ENTRY(prefix, range_get, setup, teardown),            \
	SC_ENTRY(prefix, missing, setup, teardown),              \
	SC_ENTRY(prefix, del, setup, teardown),                  \
	SC_ENTRY(prefix, create_only, setup, teardown),          \
	SC_ENTRY(prefix, overwrite, setup, teardown),            \
	SC_ENTRY(prefix, del_many, setup, teardown),             \
	SC_ENTRY(prefix, list, setup, teardown),                 \
	SC_ENTRY(prefix, concurrent, setup, teardown)

#endif
