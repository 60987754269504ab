/* The store conformance suite and S3-specific checks against real servers
 * (Ceph RGW, OpenStack Swift with s3api) that scripts/run-tests starts on
 * 127.0.0.1.  The servers are described by the environment:
 *
 *   CAIRN_TEST_S3_SERVERS="rgw swift"      names to run against
 *   CAIRN_TEST_<NAME>_ENDPOINT=http://127.0.0.1:PORT
 *   CAIRN_TEST_<NAME>_ACCESS_KEY, CAIRN_TEST_<NAME>_SECRET_KEY
 *   CAIRN_TEST_<NAME>_REGION (default us-east-1)
 *   CAIRN_TEST_<NAME>_MIN_PART (bytes; the server's multipart minimum)
 *
 * Without CAIRN_TEST_S3_SERVERS every test is skipped with a message.
 * Each test gets its own prefix in one bucket per server, so the suite
 * also checks that prefixes isolate stores.
 */
#include "store_remote.h"

#include "store/s3/s3.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <ctype.h>
#include <unistd.h>

struct server {
	char name[32];
	char endpoint[256];
	char access[128];
	char secret[128];
	char region[64];
	size_t min_part;
	char bucket[64];
};

static struct server servers[4];
static size_t nservers;
static struct server *cur; /* the server of the group running */

static const char *env_for(const char *name, const char *what, char *buf, size_t size)
{
	char var[96];
	snprintf(var, sizeof(var), "CAIRN_TEST_%s_%s", name, what);
	for (char *p = var; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	const char *v = getenv(var);
	snprintf(buf, size, "%s", v ? v : "");
	return v;
}

static void load_servers(void)
{
	const char *list = getenv("CAIRN_TEST_S3_SERVERS");
	if (!list)
		return;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *save = NULL, *t = strtok_r(buf, " ,", &save); t && nservers < ARRAY_SIZE(servers);
	     t = strtok_r(NULL, " ,", &save)) {
		struct server *s = &servers[nservers];
		char part[32];
		snprintf(s->name, sizeof(s->name), "%s", t);
		if (!env_for(t, "ENDPOINT", s->endpoint, sizeof(s->endpoint)) ||
		    !env_for(t, "ACCESS_KEY", s->access, sizeof(s->access)) ||
		    !env_for(t, "SECRET_KEY", s->secret, sizeof(s->secret))) {
			fprintf(stderr, "test_store_s3: server %s: CAIRN_TEST_%s_ENDPOINT, _ACCESS_KEY or "
					"_SECRET_KEY missing; skipping it\n", t, t);
			continue;
		}
		if (!env_for(t, "REGION", s->region, sizeof(s->region)))
			snprintf(s->region, sizeof(s->region), "us-east-1");
		env_for(t, "MIN_PART", part, sizeof(part));
		s->min_part = part[0] ? strtoull(part, NULL, 10) : (5u << 20);
		snprintf(s->bucket, sizeof(s->bucket), "cairn-unit-%ld-%s", (long)getpid(), t);
		nservers++;
	}
}

static struct cairn_store_opts server_opts(const struct server *sv)
{
	return (struct cairn_store_opts){ .s3 = { .access_key = sv->access, .secret_key = sv->secret } };
}

/* s3://BUCKET/PREFIX?endpoint=...&region=...[&extra] */
static void server_uri(char *buf, size_t size, const struct server *sv, const char *bucket, const char *prefix,
		       const char *extra)
{
	snprintf(buf, size, "s3://%s%s%s?endpoint=%s&region=%s%s%s", bucket ? bucket : sv->bucket,
		 prefix && *prefix ? "/" : "", prefix ? prefix : "", sv->endpoint, sv->region, extra ? "&" : "",
		 extra ? extra : "");
}

/* The listing page size the tests use: 100, so that the conformance
 * suite's list check (SC_LIST_N keys) crosses seven pages.  Swift's s3api
 * serves each put with requests of its own to its account, container and
 * object servers, and filling 700 keys took it minutes of a loaded
 * machine: there the check fills 30% of the keys (sc_list_n, set by
 * main) at 30% of the page size, the same seven pages to cross. */
static unsigned page_keys(const struct server *sv)
{
	return !strcmp(sv->name, "swift") ? 30 : 100;
}

/* Keys per batch delete request: S3's most, 1000, except on Swift, whose
 * s3api deletes each key of a batch (missing ones too) with requests to
 * its object and container servers: there test_del_many's two batches are
 * of 100 (the driver's splitting is the same; Ceph RGW takes the batches
 * of 1000). */
static unsigned delete_batch(const struct server *sv)
{
	return !strcmp(sv->name, "swift") ? 100 : 1000;
}

/* The part size the tests use: the server's minimum, so that multipart
 * uploads of a few MiB have several parts. */
static const char *part_param(const struct server *sv)
{
	static char p[96];
	snprintf(p, sizeof(p), "part_size=%zu&max_keys=%u&delete_batch=%u",
		 sv->min_part < (1u << 20) ? (size_t)(1u << 20) : sv->min_part, page_keys(sv), delete_batch(sv));
	return p;
}

/* PREFIX on the server of the group running, with its keys (sr_open_fn). */
static int open_store(const char *prefix, const char *extra, struct cairn_store **ret)
{
	char uri[1024];
	struct cairn_store_opts o = server_opts(cur);
	server_uri(uri, sizeof(uri), cur, NULL, prefix, extra);
	return cairn_store_open_opts(uri, &o, ret);
}

static int group_setup(void **state)
{
	(void)state;
	return sr_create(open_store);
}

static int setup_s3(void **state)
{
	return sr_setup(state, open_store, part_param(cur));
}

static bool is_swift(void)
{
	return !strcmp(cur->name, "swift");
}

/* ---- S3-specific ---- */

static void test_multipart_sizes(void **state)
{
	struct cairn_store *s = sr_store(state);
	size_t part = cur->min_part < (1u << 20) ? (1u << 20) : cur->min_part;
	const size_t sizes[] = { part - 1, part, part + 1, 3 * part + 12345 };
	struct cairn_buf b = CAIRN_BUF_INIT;
	char key[64];

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint8_t *d = sc_data(sizes[i], 100 + i);
		snprintf(key, sizeof(key), "mp/obj-%zu", sizes[i]);
		sc_ok(cairn_store_put(s, key, d, sizes[i], 0));
		sc_expect_object(s, key, d, sizes[i]);
		/* A range across a part boundary. */
		if (sizes[i] > part + 10) {
			sc_ok(cairn_store_get(s, key, part - 5, 10, &b));
			assert_int_equal(b.len, 10);
			assert_memory_equal(b.data, d + part - 5, 10);
		}
		free(d);
	}
	/* Multipart replaced by a small object and back; create-only of a
	 * multipart-sized object. */
	sr_large_replace(s, "mp/obj-x", "mp/new", 2 * part + 1);
	cairn_buf_free(&b);
}

static void test_create_only_feature(void **state)
{
	struct cairn_store *s = sr_store(state);
	sc_ok(cairn_store_put(s, "feat/a", "1", 1, CAIRN_PUT_CREATE_ONLY));
	assert_int_equal(cairn_store_put(s, "feat/a", "2", 1, CAIRN_PUT_CREATE_ONLY), CAIRN_EEXIST);
	/* Swift's s3api has no conditional PUT (501): the driver falls back
	 * and stops claiming atomic create-only. */
	assert_int_equal(cairn_store_has(s, CAIRN_STORE_FEAT_CREATE_ONLY), !is_swift());
	assert_true(cairn_store_has(s, CAIRN_STORE_FEAT_RANGE_GET));
}

static void test_special_keys(void **state)
{
	sr_special_keys(sr_store(state));
}

static void test_prefix_isolation(void **state)
{
	(void)state;
	sr_prefix_isolation(open_store);
}

static void test_del_many(void **state)
{
	struct cairn_store *s = sr_store(state);
	/* Two batches: 1.2 times the server's batch size (1200 keys, or 120
	 * on Swift). */
	const int N = (int)delete_batch(cur) * 6 / 5, edge = N / 20;
	char **keys = calloc((size_t)N + 2, sizeof(*keys));
	size_t n = 0;
	assert_non_null(keys);
	for (int i = 0; i < N; i++) {
		assert_true(asprintf(&keys[i], "dm/%04d", i) > 0);
		/* Existing and missing keys in both batches. */
		if (i % 3 && (i < edge || i >= N - edge))
			sc_ok(cairn_store_put(s, keys[i], "x", 1, 0));
	}
	keys[N] = strdup("dm/never-existed");
	sc_ok(cairn_store_put(s, "dm-keep", "k", 1, 0));
	sc_ok(cairn_store_del_many(s, (const char *const *)keys, N + 1));
	sc_ok(cairn_store_list(s, "dm/", sc_count_cb, &n));
	assert_int_equal(n, 0);
	sc_expect_object(s, "dm-keep", (const uint8_t *)"k", 1);
	sc_ok(cairn_store_del_many(s, NULL, 0));
	for (int i = 0; i <= N; i++)
		free(keys[i]);
	free(keys);
}

static void test_wrong_secret(void **state)
{
	(void)state;
	struct cairn_store *s = NULL;
	struct cairn_buf b = CAIRN_BUF_INIT;
	char uri[1024];
	uint64_t size;
	const char *bad = "wrong-secret-Zq9fT";
	struct cairn_store_opts o = { .s3 = { .access_key = cur->access, .secret_key = bad } };
	server_uri(uri, sizeof(uri), cur, NULL, "auth", NULL);
	sc_ok(cairn_store_open_opts(uri, &o, &s));
	assert_int_equal(cairn_store_stat(s, "config", &size), CAIRN_EAUTH);
	assert_non_null(strstr(cairn_error_message(), "secret key is wrong"));
	assert_non_null(strstr(cairn_error_message(), cur->access));
	sr_assert_no_secret(bad);
	assert_int_equal(cairn_store_get(s, "config", 0, CAIRN_STORE_TO_END, &b), CAIRN_EAUTH);
	sr_assert_no_secret(bad);
	assert_int_equal(cairn_store_put(s, "config", "x", 1, 0), CAIRN_EAUTH);
	sr_assert_no_secret(bad);
	size_t n = 0;
	assert_int_equal(cairn_store_list(s, "", sc_count_cb, &n), CAIRN_EAUTH);
	sr_assert_no_secret(bad);
	assert_int_equal(cairn_store_create(s), CAIRN_EAUTH);
	sr_assert_no_secret(bad);
	cairn_store_free(s);
	cairn_buf_free(&b);
}

static void test_unknown_access_key(void **state)
{
	(void)state;
	struct cairn_store *s = NULL;
	char uri[1024];
	uint64_t size;
	struct cairn_store_opts o = { .s3 = { .access_key = "nobody:unknown", .secret_key = cur->secret } };
	server_uri(uri, sizeof(uri), cur, NULL, "auth", NULL);
	sc_ok(cairn_store_open_opts(uri, &o, &s));
	assert_int_equal(cairn_store_stat(s, "config", &size), CAIRN_EAUTH);
	assert_non_null(strstr(cairn_error_message(), "nobody:unknown"));
	sr_assert_no_secret(cur->secret);
	assert_int_equal(cairn_store_put(s, "config", "x", 1, 0), CAIRN_EAUTH);
	sr_assert_no_secret(cur->secret);
	cairn_store_free(s);
}

static void test_missing_bucket(void **state)
{
	(void)state;
	struct cairn_store *s = NULL;
	char uri[1024], bucket[64];
	uint64_t size;
	struct cairn_store_opts o = server_opts(cur);
	snprintf(bucket, sizeof(bucket), "cairn-missing-%ld", (long)getpid());
	server_uri(uri, sizeof(uri), cur, bucket, "p", NULL);
	sc_ok(cairn_store_open_opts(uri, &o, &s));
	assert_int_equal(cairn_store_stat(s, "config", &size), CAIRN_ENOTREPO);
	assert_non_null(strstr(cairn_error_message(), "does not exist"));
	assert_non_null(strstr(cairn_error_message(), bucket));
	sr_missing_container(s);
	cairn_store_free(s);
}

static void test_env_keys(void **state)
{
	(void)state;
	struct cairn_store *s = NULL;
	char uri[1024];
	server_uri(uri, sizeof(uri), cur, NULL, "envkeys", NULL);
	th_setenv("AWS_ACCESS_KEY_ID", cur->access);
	th_setenv("AWS_SECRET_ACCESS_KEY", cur->secret);
	sc_ok(cairn_store_open(uri, &s));
	sc_ok(cairn_store_put(s, "k", "v", 1, 0));
	sc_expect_object(s, "k", (const uint8_t *)"v", 1);
	sc_ok(cairn_store_del(s, "k"));
	cairn_store_free(s);
	th_unsetenv("AWS_SECRET_ACCESS_KEY");
	s = NULL;
	assert_int_equal(cairn_store_open(uri, &s), CAIRN_EAUTH);
	assert_non_null(strstr(cairn_error_message(), "AWS_SECRET_ACCESS_KEY"));
	assert_null(s);
	th_unsetenv("AWS_ACCESS_KEY_ID");
}

static void test_counters_and_limit(void **state)
{
	(void)state;
	struct cairn_store *s = NULL;
	char uri[1024];
	struct cairn_store_xfer x0, x1;
	const size_t n = 3u << 20;
	uint8_t *d = sc_data(n, 9);
	struct cairn_store_opts o = server_opts(cur);
	o.limit_upload = 2u << 20; /* 2 MiB/s */
	o.connections = 3;
	server_uri(uri, sizeof(uri), cur, NULL, "limit", NULL);
	sc_ok(cairn_store_open_opts(uri, &o, &s));
	assert_int_equal(cairn_store_parallelism(s), 3);
	sc_ok(cairn_store_xfer(s, &x0));
	double t0 = cairn_now();
	sc_ok(cairn_store_put(s, "big", d, n, 0));
	double dt = cairn_now() - t0;
	sc_ok(cairn_store_xfer(s, &x1));
	/* 3 MiB at 2 MiB/s with a 0.5 MiB burst cannot take less than 1.25 s. */
	if (dt < 1.2)
		fail_msg("3 MiB went up in %.2f s despite a 2 MiB/s limit", dt);
	assert_true(x1.requests > x0.requests);
	assert_true(x1.bytes_sent - x0.bytes_sent >= n);
	sc_ok(cairn_store_del(s, "big"));
	cairn_store_free(s);
	free(d);
}

static void test_open_errors(void **state)
{
	(void)state;
	struct cairn_store *s = NULL;
	char uri[1024];
	/* An http:// endpoint from the options needs disable_ssl. */
	struct cairn_store_opts o = server_opts(cur);
	o.endpoint = cur->endpoint;
	snprintf(uri, sizeof(uri), "s3://%s/x", cur->bucket);
	assert_int_equal(cairn_store_open_opts(uri, &o, &s), CAIRN_EINVAL);
	assert_non_null(strstr(cairn_error_message(), "disable_ssl"));
	o.disable_ssl = true;
	sc_ok(cairn_store_open_opts(uri, &o, &s));
	size_t n = 0;
	sc_ok(cairn_store_list(s, "", sc_count_cb, &n));
	cairn_store_free(s);
}

#define S3_TESTS(setup, teardown)                                                              \
	CAIRN_STORE_CONFORMANCE_TESTS("", setup, teardown),                                    \
	cmocka_unit_test_setup_teardown(test_multipart_sizes, setup, teardown),                \
	cmocka_unit_test_setup_teardown(test_create_only_feature, setup, teardown),            \
	cmocka_unit_test_setup_teardown(test_special_keys, setup, teardown),                   \
	cmocka_unit_test_setup_teardown(test_del_many, setup, teardown),                       \
	cmocka_unit_test(test_prefix_isolation), cmocka_unit_test(test_wrong_secret),          \
	cmocka_unit_test(test_unknown_access_key), cmocka_unit_test(test_missing_bucket),      \
	cmocka_unit_test(test_env_keys), cmocka_unit_test(test_counters_and_limit),            \
	cmocka_unit_test(test_open_errors)

int main(void)
{
	const struct CMUnitTest tests[] = { S3_TESTS(setup_s3, sr_teardown) };
	int failed = 0;

	th_unsetenv("AWS_ACCESS_KEY_ID");
	th_unsetenv("AWS_SECRET_ACCESS_KEY");
	th_unsetenv("AWS_SESSION_TOKEN");
	th_unsetenv("CAIRN_TEST_FAULT");
	th_unsetenv("CAIRN_TEST_COUNT");
	load_servers();
	if (nservers == 0)
		return sr_run_skipped("s3 (no server)", tests, ARRAY_SIZE(tests),
				      "test_store_s3: no S3 server configured (CAIRN_TEST_S3_SERVERS is unset; "
				      "scripts/run-tests starts Ceph RGW and Swift and sets it): skipping");
	for (size_t i = 0; i < nservers; i++) {
		char name[sizeof(cur->name) + 8];
		cur = &servers[i];
		sc_list_n = (int)(SC_LIST_N * page_keys(cur) / 100);
		snprintf(name, sizeof(name), "s3 on %.31s", cur->name);
		failed += _cmocka_run_group_tests(name, tests, ARRAY_SIZE(tests), group_setup, NULL);
	}
	return failed;
}
