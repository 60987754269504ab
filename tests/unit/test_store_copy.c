/* Server-side copy between two stores (the copy_from op, store.h), on
 * every driver that has it: local directories (always), Ceph RGW and
 * Swift's s3api (CAIRN_TEST_S3_SERVERS, as test_store_s3.c), and Azurite
 * (CAIRN_TEST_AZURE_*, as test_store_azure.c).  A group whose server is
 * not configured reports its tests skipped.
 *
 * Each test copies from a store at one prefix to a store at another, in
 * the same container (bucket) or in a second one, and checks the result
 * byte for byte, and, on the servers, that the bytes did not cross this
 * host (the destination's xfer counters move only a few KiB of headers
 * and XML whatever the object's size).
 */
/* store_remote.h brings the conformance suite, which this file does not
 * run: its unused test functions are not a warning here. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "store_remote.h"

#include "store/testwrap.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What crossed the host for one copy, at most, whatever its size. */
#define WIRE_MAX (16u << 10)

enum kind { LOCAL, S3, AZURE };

struct backend {
	enum kind kind;
	char name[32];
	char endpoint[256], access[128], secret[256], region[64];
	char container[2][600]; /* bucket / container / directory of each side */
	const char *small;     /* URI parameters that make big-object paths kick in at 1 MiB */
};

static struct backend backends[4];
static size_t nbackends;
static struct backend *cur;
static char tmpdir[512];
static unsigned serial;

/* ---- opening stores ---- */

static int open_side(int side, const char *prefix, const char *extra, struct cairn_store **ret)
{
	char uri[1024];
	const char *c = cur->container[side];
	switch (cur->kind) {
	case LOCAL: {
		snprintf(uri, sizeof(uri), "%s/%s", c, prefix);
		if (mkdir(uri, 0700) < 0 && errno != EEXIST)
			return CAIRN_EIO;
		return cairn_store_open(uri, ret);
	}
	case S3: {
		struct cairn_store_opts o = { .s3 = { .access_key = cur->access, .secret_key = cur->secret } };
		snprintf(uri, sizeof(uri), "s3://%s/%s?endpoint=%s&region=%s%s%s", c, prefix, cur->endpoint,
			 cur->region, extra ? "&" : "", extra ? extra : "");
		return cairn_store_open_opts(uri, &o, ret);
	}
	case AZURE: {
		struct cairn_store_opts o = { .azure.key = cur->secret };
		snprintf(uri, sizeof(uri), "azure://%s/%s/%s?endpoint=%s%s%s", cur->access, c, prefix, cur->endpoint,
			 extra ? "&" : "", extra ? extra : "");
		return cairn_store_open_opts(uri, &o, ret);
	}
	}
	return CAIRN_EINVAL;
}

static int group_setup(void **state)
{
	(void)state;
	for (int side = 0; side < 2; side++) {
		struct cairn_store *s = NULL;
		if (cur->kind == LOCAL) {
			if (mkdir(cur->container[side], 0700) < 0 && errno != EEXIST)
				return -1;
			continue;
		}
		sc_ok(open_side(side, "x", NULL, &s));
		sc_ok(cairn_store_create(s));
		cairn_store_free(s);
	}
	return 0;
}

/* A pair of stores: a the source, b the destination. */
struct pair {
	struct cairn_store *a, *b;
};

static void pair_open(struct pair *p, int side_b, const char *extra_b)
{
	char pa[32], pb[32];
	serial++;
	snprintf(pa, sizeof(pa), "src%u", serial);
	snprintf(pb, sizeof(pb), "dst%u", serial);
	sc_ok(open_side(0, pa, NULL, &p->a));
	sc_ok(open_side(side_b, pb, extra_b, &p->b));
}

static void empty(struct cairn_store *s)
{
	struct cairn_key_list keys;
	if (cairn_store_list_keys(s, "", &keys) == 0) {
		(void)cairn_store_del_many(s, (const char *const *)keys.v, keys.n);
		cairn_key_list_free(&keys);
	}
}

static void pair_close(struct pair *p)
{
	empty(p->a);
	empty(p->b);
	cairn_store_free(p->a);
	cairn_store_free(p->b);
}

/* The destination's counters (zeros for local, which has none). */
static struct cairn_store_xfer xfer(struct cairn_store *s)
{
	struct cairn_store_xfer x = { 0 };
	int r = cairn_store_xfer(s, &x);
	assert_true(r == 0 || (r == CAIRN_EUNSUPPORTED && cur->kind == LOCAL));
	return x;
}

/* Copies size bytes from a to b and checks the result and the wire. */
static void copy_and_check(struct pair *p, size_t size, unsigned min_requests)
{
	uint8_t *d = sc_data(size, size + serial);
	sc_ok(cairn_store_put(p->a, "packs/ab/obj", d, size, 0));
	struct cairn_store_xfer before = xfer(p->b);
	sc_ok(cairn_store_copy_from(p->b, p->a, "packs/ab/obj", "packs/cd/copy"));
	struct cairn_store_xfer after = xfer(p->b);
	sc_expect_object(p->b, "packs/cd/copy", d, size);
	sc_expect_object(p->a, "packs/ab/obj", d, size);
	if (cur->kind != LOCAL) {
		uint64_t wire = (after.bytes_sent - before.bytes_sent) + (after.bytes_received - before.bytes_received);
		print_message("    %s: %zu bytes copied, %" PRIu64 " bytes through the host in %" PRIu64 " requests\n",
			      cur->name, size, wire, after.requests - before.requests);
		assert_true(wire < WIRE_MAX);
		assert_true(after.requests - before.requests >= min_requests);
	}
	free(d);
}

/* ---- tests ---- */

static void test_same_container(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, 0, NULL);
	copy_and_check(&p, 200000, 1);
	pair_close(&p);
}

static void test_other_container(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, 1, NULL);
	copy_and_check(&p, 300001, 1);
	pair_close(&p);
}

static void test_empty_object(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, 1, NULL);
	copy_and_check(&p, 0, 1);
	pair_close(&p);
}

/* Above the multipart (block) threshold: UploadPartCopy in several parts
 * on S3 (init + 4 parts + complete at least). */
static void test_large(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, 1, cur->small);
	copy_and_check(&p, (3u << 20) + (1u << 19) + 12345, cur->kind == S3 ? 6 : 1);
	pair_close(&p);
}

/* Create-only: an existing destination is left alone. */
static void test_create_only(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p, 1, NULL);
	sc_ok(cairn_store_put(p.a, "k", "source", 6, 0));
	sc_ok(cairn_store_put(p.b, "k", "there", 5, 0));
	assert_int_equal(cairn_store_copy_from(p.b, p.a, "k", "k"), CAIRN_EEXIST);
	sc_expect_object(p.b, "k", (const uint8_t *)"there", 5);
	/* Copying onto itself is the same refusal. */
	assert_int_equal(cairn_store_copy_from(p.a, p.a, "k", "k"), CAIRN_EEXIST);
	sc_expect_object(p.a, "k", (const uint8_t *)"source", 6);
	pair_close(&p);
}

/* A caller that knows the source's size and lets an existing
 * destination stand (copy_from_ex without CAIRN_PUT_CREATE_ONLY, as a
 * copy of a whole pack does): no HEAD at either end, so on S3 the copy is
 * one request; an existing destination is success, kept or replaced;
 * create-only with a known size still refuses it. */
static void test_known_size_may_replace(void **state)
{
	(void)state;
	struct pair p;
	const size_t size = 100000;
	pair_open(&p, 1, NULL);
	uint8_t *d = sc_data(size, 77 + serial);
	sc_ok(cairn_store_put(p.a, "packs/ab/obj", d, size, 0));
	struct cairn_store_xfer a0 = xfer(p.a), b0 = xfer(p.b);
	sc_ok(cairn_store_copy_from_ex(p.b, p.a, "packs/ab/obj", "packs/ab/obj", size, 0));
	struct cairn_store_xfer a1 = xfer(p.a), b1 = xfer(p.b);
	sc_expect_object(p.b, "packs/ab/obj", d, size);
	if (cur->kind != LOCAL) {
		print_message("    %s: %" PRIu64 " request(s) at the source, %" PRIu64 " at the destination\n", cur->name,
			      a1.requests - a0.requests, b1.requests - b0.requests);
		assert_int_equal(a1.requests - a0.requests, 0); /* no HEAD of the source */
		/* The CopyObject alone (Swift's s3api first answers 501 to its
		 * If-None-Match, which the driver then drops). */
		if (cur->kind == S3)
			assert_int_equal(b1.requests - b0.requests, strcmp(cur->name, "swift") == 0 ? 2 : 1);
	}
	/* Again onto the copy: success, the same bytes. */
	sc_ok(cairn_store_copy_from_ex(p.b, p.a, "packs/ab/obj", "packs/ab/obj", size, 0));
	sc_expect_object(p.b, "packs/ab/obj", d, size);
	/* Onto other bytes: success, and the key holds one of the two whole. */
	sc_ok(cairn_store_put(p.b, "k", "there", 5, 0));
	sc_ok(cairn_store_copy_from_ex(p.b, p.a, "packs/ab/obj", "k", size, 0));
	struct cairn_buf got = CAIRN_BUF_INIT;
	sc_ok(cairn_store_get(p.b, "k", 0, CAIRN_STORE_TO_END, &got));
	assert_true((got.len == 5 && memcmp(got.data, "there", 5) == 0) ||
		    (got.len == size && memcmp(got.data, d, size) == 0));
	cairn_buf_free(&got);
	/* Create-only with a known size: still refused. */
	assert_int_equal(cairn_store_copy_from_ex(p.b, p.a, "packs/ab/obj", "packs/ab/obj", size, CAIRN_PUT_CREATE_ONLY),
			 CAIRN_EEXIST);
	free(d);
	pair_close(&p);
}

static void test_missing_source(void **state)
{
	(void)state;
	struct pair p;
	uint64_t size;
	pair_open(&p, 1, NULL);
	assert_int_equal(cairn_store_copy_from(p.b, p.a, "packs/none", "packs/none"), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_message(), "packs/none"));
	assert_int_equal(cairn_store_stat(p.b, "packs/none", &size), CAIRN_ENOTFOUND);
	pair_close(&p);
}

/* Through the test wrappers, as the binary opens stores under
 * CAIRN_TEST_FAULT / CAIRN_TEST_COUNT: the source is unwrapped, the copy
 * is counted, and an injected put fault fails it. */
static void test_wrapped(void **state)
{
	(void)state;
	struct pair p;
	struct cairn_store *wa, *wb, *fb;
	struct cairn_store_counts n;
	pair_open(&p, 1, NULL);
	sc_ok(cairn_store_put(p.a, "k", "abc", 3, 0));
	sc_ok(cairn_store_count_wrap(p.a, &wa));
	struct cairn_fault_params fp = { .ops = CAIRN_FAULT_PUT, .fail_at = 2, .code = CAIRN_EIO };
	sc_ok(cairn_store_fault_wrap(p.b, &fp, &fb));
	sc_ok(cairn_store_count_wrap(fb, &wb));
	assert_ptr_equal(cairn_store_unwrap(wb), p.b);
	sc_ok(cairn_store_copy_from(wb, wa, "k", "k1"));
	assert_int_equal(cairn_store_copy_from(wb, wa, "k", "k2"), CAIRN_EIO);
	cairn_store_count_get(wb, &n);
	assert_int_equal(n.copy_from, 2);
	assert_int_equal(n.bytes_put, 0);
	sc_expect_object(wb, "k1", (const uint8_t *)"abc", 3);
	p.a = wa;
	p.b = wb;
	pair_close(&p);
}

/* Stores the driver cannot reach server-side: CAIRN_EUNSUPPORTED before
 * any request, so the caller reads and writes instead. */
static void test_unsupported(void **state)
{
	(void)state;
	struct pair p;
	struct cairn_store *other = NULL;
	char uri[1024];
	pair_open(&p, 1, NULL);
	sc_ok(cairn_store_put(p.a, "k", "abc", 3, 0));

	/* Another driver: an S3 store (no request is made to open it) or a
	 * local directory. */
	struct cairn_store_opts o = { .s3 = { .access_key = "AKIDEXAMPLE", .secret_key = "secret" } };
	sc_ok(cairn_store_open_opts("s3://nobucket/p?endpoint=http://127.0.0.1:9&region=us-east-1", &o, &other));
	if (cur->kind != S3) {
		assert_int_equal(cairn_store_copy_from(p.b, other, "k", "k"), CAIRN_EUNSUPPORTED);
		assert_int_equal(cairn_store_copy_from(other, p.a, "k", "k"), CAIRN_EUNSUPPORTED);
	} else {
		/* Same driver, another endpoint; then another access key. */
		assert_int_equal(cairn_store_copy_from(p.b, other, "k", "k"), CAIRN_EUNSUPPORTED);
		cairn_store_free(other);
		snprintf(uri, sizeof(uri), "s3://%s/p?endpoint=%s&region=%s", cur->container[0], cur->endpoint,
			 cur->region);
		sc_ok(cairn_store_open_opts(uri, &o, &other));
		assert_int_equal(cairn_store_copy_from(p.b, other, "k", "k"), CAIRN_EUNSUPPORTED);
		assert_non_null(strstr(cairn_error_message(), "access key"));
		cairn_store_free(other);
		snprintf(uri, sizeof(uri), "%s/u", tmpdir);
		assert_int_equal(mkdir(uri, 0700) == 0 || errno == EEXIST, 1);
		sc_ok(cairn_store_open(uri, &other));
		assert_int_equal(cairn_store_copy_from(p.b, other, "k", "k"), CAIRN_EUNSUPPORTED);
	}
	if (cur->kind == AZURE) {
		/* Same driver, another endpoint. */
		struct cairn_store_opts ao = { .azure.key = cur->secret };
		snprintf(uri, sizeof(uri), "azure://%s/%s/p?endpoint=http://localhost:9/%s", cur->access,
			 cur->container[0], cur->access);
		cairn_store_free(other);
		sc_ok(cairn_store_open_opts(uri, &ao, &other));
		assert_int_equal(cairn_store_copy_from(p.b, other, "k", "k"), CAIRN_EUNSUPPORTED);
	}
	cairn_store_free(other);
	uint64_t size;
	assert_int_equal(cairn_store_stat(p.b, "k", &size), CAIRN_ENOTFOUND);
	pair_close(&p);
}

/* Into a bucket with Object Lock (Ceph RGW): the copy is retained as a
 * put would be. */
static void test_locked(void **state)
{
	(void)state;
	struct cairn_store *a = NULL, *b = NULL;
	char uri[1024];
	int64_t until = 0;
	if (cur->kind != S3 || strcmp(cur->name, "rgw") != 0)
		skip();
	struct cairn_store_opts o = { .s3 = { .access_key = cur->access, .secret_key = cur->secret } };
	serial++;
	snprintf(uri, sizeof(uri), "s3://%s/src%u?endpoint=%s&region=%s", cur->container[0], serial, cur->endpoint,
		 cur->region);
	sc_ok(cairn_store_open_opts(uri, &o, &a));
	snprintf(uri, sizeof(uri), "s3://%.40s-lock/dst%u?endpoint=%s&region=%s", cur->container[0], serial,
		 cur->endpoint, cur->region);
	sc_ok(cairn_store_open_opts(uri, &o, &b));
	struct cairn_store_lock l = { .seconds = 3600, .mode = CAIRN_LOCK_GOVERNANCE };
	sc_ok(cairn_store_lock_set(b, &l));
	sc_ok(cairn_store_create(b));
	sc_ok(cairn_store_put(a, "packs/x", "locked copy", 11, 0));
	sc_ok(cairn_store_copy_from(b, a, "packs/x", "packs/x"));
	sc_expect_object(b, "packs/x", (const uint8_t *)"locked copy", 11);
	sc_ok(cairn_store_lock_until(b, "packs/x", &until));
	assert_true(until > (int64_t)time(NULL) + 3000);
	sc_ok(cairn_store_del(a, "packs/x"));
	cairn_store_free(a);
	cairn_store_free(b); /* the locked object stays until the server goes */
}

/* ---- servers ---- */

static const char *env_for(const char *name, const char *what, char *buf, size_t size)
{
	char var[96];
	snprintf(var, sizeof(var), "CAIRN_TEST_%s_%s", name, what);
	for (char *q = var; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	const char *v = getenv(var);
	snprintf(buf, size, "%s", v ? v : "");
	return v;
}

static void load(void)
{
	struct backend *b = &backends[nbackends++];
	b->kind = LOCAL;
	snprintf(b->name, sizeof(b->name), "local");
	th_tmpdir(tmpdir, sizeof(tmpdir), "store_copy");
	snprintf(b->container[0], sizeof(b->container[0]), "%s/a", tmpdir);
	snprintf(b->container[1], sizeof(b->container[1]), "%s/b", tmpdir);

	const char *list = getenv("CAIRN_TEST_S3_SERVERS");
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", list ? list : "");
	for (char *save = NULL, *t = strtok_r(buf, " ,", &save); t && nbackends < ARRAY_SIZE(backends) - 1;
	     t = strtok_r(NULL, " ,", &save)) {
		b = &backends[nbackends];
		b->kind = S3;
		snprintf(b->name, sizeof(b->name), "%s", t);
		if (!env_for(t, "ENDPOINT", b->endpoint, sizeof(b->endpoint)) ||
		    !env_for(t, "ACCESS_KEY", b->access, sizeof(b->access)) ||
		    !env_for(t, "SECRET_KEY", b->secret, sizeof(b->secret)))
			continue;
		if (!env_for(t, "REGION", b->region, sizeof(b->region)))
			snprintf(b->region, sizeof(b->region), "us-east-1");
		for (int i = 0; i < 2; i++)
			snprintf(b->container[i], sizeof(b->container[i]), "cairn-copy-%ld-%s-%c", (long)getpid(), t,
				 'a' + i);
		b->small = "copy_threshold=1M&part_size=1M";
		nbackends++;
	}

	const char *e = getenv("CAIRN_TEST_AZURE_ENDPOINT");
	const char *a = getenv("CAIRN_TEST_AZURE_ACCOUNT");
	const char *k = getenv("CAIRN_TEST_AZURE_KEY");
	if (e && *e && a && *a && k && *k) {
		b = &backends[nbackends++];
		b->kind = AZURE;
		snprintf(b->name, sizeof(b->name), "azurite");
		snprintf(b->endpoint, sizeof(b->endpoint), "%s", e);
		snprintf(b->access, sizeof(b->access), "%s", a);
		snprintf(b->secret, sizeof(b->secret), "%s", k);
		for (int i = 0; i < 2; i++)
			snprintf(b->container[i], sizeof(b->container[i]), "cairn-copy-%ld-%c", (long)getpid(),
				 'a' + i);
		b->small = "block_size=256K&block_threshold=1M";
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_container), cmocka_unit_test(test_other_container),
		cmocka_unit_test(test_empty_object),   cmocka_unit_test(test_large),
		cmocka_unit_test(test_create_only),    cmocka_unit_test(test_missing_source),
		cmocka_unit_test(test_wrapped),        cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_locked),         cmocka_unit_test(test_known_size_may_replace),
	};
	int failed = 0;
	bool s3 = false, azure = false;

	th_unsetenv("AWS_ACCESS_KEY_ID");
	th_unsetenv("AWS_SECRET_ACCESS_KEY");
	th_unsetenv("AWS_SESSION_TOKEN");
	th_unsetenv("AZURE_STORAGE_KEY");
	th_unsetenv("AZURE_STORAGE_SAS_TOKEN");
	th_unsetenv("AZURE_STORAGE_ACCOUNT");
	th_unsetenv("CAIRN_TEST_FAULT");
	th_unsetenv("CAIRN_TEST_COUNT");
	load();
	for (size_t i = 0; i < nbackends; i++) {
		char name[64];
		cur = &backends[i];
		s3 |= cur->kind == S3;
		azure |= cur->kind == AZURE;
		snprintf(name, sizeof(name), "copy on %s", cur->name);
		failed += _cmocka_run_group_tests(name, tests, ARRAY_SIZE(tests), group_setup, NULL);
	}
	if (!s3)
		failed += sr_run_skipped("copy on s3 (no server)", tests, ARRAY_SIZE(tests),
					 "test_store_copy: no S3 server configured (CAIRN_TEST_S3_SERVERS is unset; "
					 "scripts/run-tests starts Ceph RGW and Swift and sets it): skipping");
	if (!azure)
		failed += sr_run_skipped("copy on azure (no server)", tests, ARRAY_SIZE(tests),
					 "test_store_copy: no Azure server configured (CAIRN_TEST_AZURE_ENDPOINT is "
					 "unset; scripts/run-tests starts Azurite and sets it): skipping");
	th_rm_rf(tmpdir);
	return failed;
}
