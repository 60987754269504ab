/* What the suites of the stores on a server (test_store_s3.c on Ceph RGW
 * and Swift, test_store_azure.c on Azurite) share beyond the conformance
 * suite: the per-test fixture (a fresh prefix per test, emptied at
 * teardown), the checks of keys and prefixes every HTTP store must pass,
 * and the skip when no server is configured.
 *
 * The including file supplies how to open its store: an sr_open_fn that
 * opens PREFIX (with extra URI parameters, "a=1&b=2", or NULL) on its
 * server with its own credentials.
 *
 * Everything is static (each test_<module>.c is its own executable) and
 * marked unused, as in helpers.h.
 */
#ifndef CAIRN_TESTS_STORE_REMOTE_H
#define CAIRN_TESTS_STORE_REMOTE_H

#include "store_conformance.h"

#include "helpers.h"
#include "util/error.h"

#define SR_UNUSED __attribute__((unused))

typedef int (*sr_open_fn)(const char *prefix, const char *extra, struct cairn_store **ret);

/* Numbers the prefixes of one run: t1, t2, ..., iso3, ... */
static unsigned sr_serial;

/* The group's container (bucket), made once before its tests. */
static SR_UNUSED int sr_create(sr_open_fn open)
{
	struct cairn_store *s = NULL;
	sc_ok(open(NULL, NULL, &s));
	sc_ok(cairn_store_create(s));
	cairn_store_free(s);
	return 0;
}

/* A cmocka setup: the store at a prefix of its own, in a struct
 * sc_fixture. */
static SR_UNUSED int sr_setup(void **state, sr_open_fn open, const char *extra)
{
	struct sc_fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "t%u", ++sr_serial);
	sc_ok(open(f->dir, extra, &f->store));
	*state = f;
	return 0;
}

/* A cmocka teardown: removes what the test left (also exercising the
 * batch delete), frees the fixture. */
static SR_UNUSED int sr_teardown(void **state)
{
	struct sc_fixture *f = *state;
	struct cairn_key_list keys;
	if (cairn_store_list_keys(f->store, "", &keys) == 0) {
		int r = cairn_store_del_many(f->store, (const char *const *)keys.v, keys.n);
		if (r < 0)
			fprintf(stderr, "teardown: %s\n", cairn_error_message());
		cairn_key_list_free(&keys);
	}
	cairn_store_free(f->store);
	free(f);
	return 0;
}

static SR_UNUSED struct cairn_store *sr_store(void **state)
{
	return ((struct sc_fixture *)*state)->store;
}

/* The last message must never hold a secret. */
static SR_UNUSED void sr_assert_no_secret(const char *secret)
{
	const char *m = cairn_error_message();
	if (strstr(m, secret))
		fail_msg("the message shows a secret: %s", m);
}

/* Keys with characters URLs and signatures must encode come back, and
 * list; keys no store takes are refused before any request. */
static SR_UNUSED void sr_special_keys(struct cairn_store *s)
{
	static const char *const keys[] = { "sp/a b+c=d&e", "sp/é~x(1)", "sp/100%/x", "sp/semi;colon:q?x#y" };
	struct sc_listed l = { 0 };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		sc_ok(cairn_store_put(s, keys[i], keys[i], strlen(keys[i]), 0));
		sc_expect_object(s, keys[i], (const uint8_t *)keys[i], strlen(keys[i]));
	}
	sc_ok(cairn_store_list(s, "sp/", sc_list_cb, &l));
	assert_int_equal(l.n, sizeof(keys) / sizeof(keys[0]));
	qsort(l.keys, l.n, sizeof(*l.keys), sc_strcmp);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *k = (char *)keys[i];
		assert_non_null(bsearch(&k, l.keys, l.n, sizeof(*l.keys), sc_strcmp));
	}
	sc_listed_free(&l);
	assert_int_equal(cairn_store_put(s, "", "x", 1, 0), CAIRN_EINVAL);
	assert_int_equal(cairn_store_put(s, "/abs", "x", 1, 0), CAIRN_EINVAL);
	assert_int_equal(cairn_store_put(s, "ctl\n", "x", 1, 0), CAIRN_EINVAL);
}

/* Prefix "isoN" and "isoNb" are two stores: neither sees the other's
 * keys, though one name starts with the other. */
static SR_UNUSED void sr_prefix_isolation(sr_open_fn open)
{
	struct cairn_store *a = NULL, *ab = NULL;
	size_t n = 0;
	char pa[32], pab[48];
	snprintf(pa, sizeof(pa), "iso%u", ++sr_serial);
	snprintf(pab, sizeof(pab), "%sb", pa);
	sc_ok(open(pa, NULL, &a));
	sc_ok(open(pab, NULL, &ab));
	sc_ok(cairn_store_put(a, "k", "a", 1, 0));
	sc_ok(cairn_store_put(ab, "k", "ab", 2, 0));
	sc_ok(cairn_store_list(a, "", sc_count_cb, &n));
	assert_int_equal(n, 1);
	sc_expect_object(a, "k", (const uint8_t *)"a", 1);
	sc_expect_object(ab, "k", (const uint8_t *)"ab", 2);
	sc_ok(cairn_store_del(a, "k"));
	sc_ok(cairn_store_del(ab, "k"));
	cairn_store_free(a);
	cairn_store_free(ab);
}

/* A store whose container (bucket) does not exist yet: every op says so
 * with CAIRN_ENOTREPO; create makes it, idempotently, and then the store
 * works.  (What the message names is the driver's to check.) */
static SR_UNUSED void sr_missing_container(struct cairn_store *s)
{
	struct cairn_buf b = CAIRN_BUF_INIT;
	size_t n = 0;
	assert_int_equal(cairn_store_get(s, "config", 0, 10, &b), CAIRN_ENOTREPO);
	assert_int_equal(cairn_store_put(s, "config", "x", 1, 0), CAIRN_ENOTREPO);
	assert_int_equal(cairn_store_list(s, "", sc_count_cb, &n), CAIRN_ENOTREPO);
	assert_int_equal(cairn_store_del(s, "config"), CAIRN_ENOTREPO);
	sc_ok(cairn_store_create(s));
	sc_ok(cairn_store_create(s));
	sc_ok(cairn_store_put(s, "config", "x", 1, 0));
	sc_expect_object(s, "config", (const uint8_t *)"x", 1);
	sc_ok(cairn_store_del(s, "config"));
	cairn_buf_free(&b);
}

/* An object of size bytes (above the driver's part or block threshold) at
 * key replaces a small one and is replaced by one; create-only of it is
 * refused while key exists (which stays as it was) and makes new_key. */
static SR_UNUSED void sr_large_replace(struct cairn_store *s, const char *key, const char *new_key, size_t size)
{
	uint8_t *d = sc_data(size, 7);
	sc_ok(cairn_store_put(s, key, "small", 5, 0));
	sc_ok(cairn_store_put(s, key, d, size, 0));
	sc_expect_object(s, key, d, size);
	sc_ok(cairn_store_put(s, key, "small", 5, 0));
	sc_expect_object(s, key, (const uint8_t *)"small", 5);
	assert_int_equal(cairn_store_put(s, key, d, size, CAIRN_PUT_CREATE_ONLY), CAIRN_EEXIST);
	assert_non_null(strstr(cairn_error_message(), key));
	sc_expect_object(s, key, (const uint8_t *)"small", 5);
	sc_ok(cairn_store_put(s, new_key, d, size, CAIRN_PUT_CREATE_ONLY));
	sc_expect_object(s, new_key, d, size);
	free(d);
}

static SR_UNUSED void sr_skip_all(void **state)
{
	(void)state;
	skip();
}

/* main()'s answer without a server: says why and reports every test of the
 * group as skipped, by its name, so none counts as passed. */
static SR_UNUSED int sr_run_skipped(const char *group, const struct CMUnitTest *tests, size_t n, const char *why)
{
	struct CMUnitTest *skipped = calloc(n, sizeof(*skipped));
	assert_non_null(skipped);
	for (size_t i = 0; i < n; i++) {
		skipped[i].name = tests[i].name;
		skipped[i].test_func = sr_skip_all;
	}
	fprintf(stderr, "%s\n", why);
	int failed = _cmocka_run_group_tests(group, skipped, n, NULL, NULL);
	free(skipped);
	return failed;
}

#endif
