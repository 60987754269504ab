/* The store conformance suite and Azure-specific checks against a real
 * Azure Blob service: Azurite, which scripts/run-tests starts on
 * 127.0.0.1.  The server is described by the environment:
 *
 *   CAIRN_TEST_AZURE_ENDPOINT=http://127.0.0.1:PORT/devstoreaccount1
 *   CAIRN_TEST_AZURE_ACCOUNT=devstoreaccount1
 *   CAIRN_TEST_AZURE_KEY=<base64 account key>
 *
 * Without CAIRN_TEST_AZURE_ENDPOINT every test is skipped with a message.
 * Each test gets its own prefix in one container per run; the stores use
 * small blocks (256 KiB above 1 MiB) and pages (100 blobs), so the suite
 * covers block-list uploads and marker continuation.  SAS tokens are made
 * here with the account key (account and container SAS, Azure's
 * documented string-to-sign); tests/e2e/t9-azure.sh makes its own with
 * python3, independently of this code.
 */
#include "store_remote.h"

#include "crypto/crypto.h"
#include "store/azure/azure.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <time.h>
#include <unistd.h>

static char endpoint[256], account[64], key[256], container[64];

#define SMALL "block_size=256K&block_threshold=1M&max_results=100"
#define BLOCK (256u << 10)

static void load_server(void)
{
	const char *e = getenv("CAIRN_TEST_AZURE_ENDPOINT");
	const char *a = getenv("CAIRN_TEST_AZURE_ACCOUNT");
	const char *k = getenv("CAIRN_TEST_AZURE_KEY");
	if (!e || !*e)
		return;
	if (!a || !*a || !k || !*k) {
		fprintf(stderr, "test_store_azure: CAIRN_TEST_AZURE_ACCOUNT or _KEY missing\n");
		return;
	}
	snprintf(endpoint, sizeof(endpoint), "%s", e);
	snprintf(account, sizeof(account), "%s", a);
	snprintf(key, sizeof(key), "%s", k);
	snprintf(container, sizeof(container), "cairn-unit-%ld", (long)getpid());
}

/* azure://ACCOUNT/CONTAINER/PREFIX?endpoint=...[&extra] */
static void uri_of(char *buf, size_t size, const char *cont, const char *prefix, const char *extra)
{
	int n = snprintf(buf, size, "azure://%s/%s%s%s?endpoint=%s%s%s", account, cont ? cont : container,
			 prefix && *prefix ? "/" : "", prefix ? prefix : "", endpoint, extra ? "&" : "",
			 extra ? extra : "");
	assert_true(n > 0 && (size_t)n < size); /* a cut URI would test another repository */
}

static int open_with(const struct cairn_store_opts *o, const char *cont, const char *prefix, const char *extra,
		     struct cairn_store **ret)
{
	char uri[1024];
	uri_of(uri, sizeof(uri), cont, prefix, extra);
	return cairn_store_open_opts(uri, o, ret);
}

/* PREFIX in this run's container with the account key (sr_open_fn). */
static int open_store(const char *prefix, const char *extra, struct cairn_store **ret)
{
	struct cairn_store_opts o = { .azure.key = key };
	return open_with(&o, NULL, prefix, extra, ret);
}

static int group_setup(void **state)
{
	(void)state;
	return sr_create(open_store);
}

static int setup_azure(void **state)
{
	return sr_setup(state, open_store, SMALL);
}

/* ---- SAS tokens, made with the account key ---- */

static void iso_time(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void append_enc(struct cairn_buf *b, const char *name, const char *v)
{
	if (b->len)
		assert_int_equal(cairn_buf_append(b, "&", 1), 0);
	assert_int_equal(cairn_buf_append(b, name, strlen(name)), 0);
	assert_int_equal(cairn_buf_append(b, "=", 1), 0);
	assert_int_equal(cairn_http_append_encoded(b, v, strlen(v), false), 0);
}

/* An account SAS (sr absent, ss=b, srt=sco) or, with cont, a container SAS
 * (sr=c), valid from an hour ago for `hours` hours (negative: expired);
 * signed with sign_key (base64) — another key makes an invalid token.
 * Version 2019-12-12 string-to-sign (no encryption scope). */
static char *make_sas(const char *perm, int hours, const char *cont, const char *sign_key)
{
	char st[32], se[32], sig[45], sts[512];
	uint8_t *k;
	size_t klen;
	time_t now = time(NULL);
	iso_time(now - 3600, st);
	iso_time(now + (time_t)hours * 3600, se);
	if (cont)
		snprintf(sts, sizeof(sts), "%s\n%s\n%s\n/blob/%s/%s\n\n\nhttps,http\n2019-12-12\nc\n\n\n\n\n\n", perm,
			 st, se, account, cont);
	else
		snprintf(sts, sizeof(sts), "%s\n%s\nb\nsco\n%s\n%s\n\nhttps,http\n2019-12-12\n", account, perm, st,
			 se);
	sc_ok(cairn_azure_key_decode(sign_key, &k, &klen));
	sc_ok(cairn_azure_hmac_b64(k, klen, sts, strlen(sts), sig));
	cairn_secret_free(k, klen);
	struct cairn_buf b = CAIRN_BUF_INIT;
	append_enc(&b, "sv", "2019-12-12");
	if (cont) {
		append_enc(&b, "sr", "c");
	} else {
		append_enc(&b, "ss", "b");
		append_enc(&b, "srt", "sco");
	}
	append_enc(&b, "sp", perm);
	append_enc(&b, "st", st);
	append_enc(&b, "se", se);
	append_enc(&b, "spr", "https,http");
	append_enc(&b, "sig", sig);
	assert_int_equal(cairn_buf_append_u8(&b, 0), 0);
	return (char *)b.data;
}

/* The signature part of a token: what must never be shown. */
static const char *sig_of(const char *sas)
{
	return strstr(sas, "sig=") + 4;
}

/* ---- Azure-specific ---- */

static void test_block_sizes(void **state)
{
	struct cairn_store *s = sr_store(state);
	struct cairn_store_xfer x0, x1;
	struct cairn_buf b = CAIRN_BUF_INIT;
	const size_t threshold = 1u << 20;
	const size_t sizes[] = { threshold, threshold + 1, 4 * BLOCK + 1, 9 * BLOCK + 12345 };
	char k[64];

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint8_t *d = sc_data(sizes[i], 100 + i);
		snprintf(k, sizeof(k), "blk/obj-%zu", sizes[i]);
		sc_ok(cairn_store_xfer(s, &x0));
		sc_ok(cairn_store_put(s, k, d, sizes[i], 0));
		sc_ok(cairn_store_xfer(s, &x1));
		/* At the threshold one Put Blob; above it a block per 256 KiB
		 * and the commit. */
		uint64_t want = sizes[i] <= threshold ? 1 : (sizes[i] + BLOCK - 1) / BLOCK + 1;
		assert_int_equal(x1.requests - x0.requests, want);
		sc_expect_object(s, k, d, sizes[i]);
		/* A range across a block boundary. */
		sc_ok(cairn_store_get(s, k, BLOCK - 5, 10, &b));
		assert_int_equal(b.len, 10);
		assert_memory_equal(b.data, d + BLOCK - 5, 10);
		free(d);
	}
	/* Blocks replaced by a small object and back; create-only of a
	 * block-sized object. */
	sr_large_replace(s, "blk/x", "blk/new", 3 * threshold + 1);
	/* Overwriting blocks with other blocks: the new blob, whole (each
	 * upload has its own block ids, so nothing of the old one stays). */
	uint8_t *e = sc_data(3 * threshold + 1, 8);
	sc_ok(cairn_store_put(s, "blk/new", e, 3 * threshold + 1, 0));
	sc_expect_object(s, "blk/new", e, 3 * threshold + 1);
	free(e);
	cairn_buf_free(&b);
}

static void test_features(void **state)
{
	struct cairn_store *s = sr_store(state);
	assert_string_equal(s->ops->name, "azure");
	assert_true(cairn_store_has(s, CAIRN_STORE_FEAT_CREATE_ONLY));
	assert_true(cairn_store_has(s, CAIRN_STORE_FEAT_RANGE_GET));
	assert_int_equal(cairn_store_parallelism(s), 8);
	sc_ok(cairn_store_put(s, "feat/a", "1", 1, CAIRN_PUT_CREATE_ONLY));
	assert_int_equal(cairn_store_put(s, "feat/a", "2", 1, CAIRN_PUT_CREATE_ONLY), CAIRN_EEXIST);
	sc_expect_object(s, "feat/a", (const uint8_t *)"1", 1);
}

static void test_special_keys(void **state)
{
	struct cairn_store *s = sr_store(state);
	struct sc_listed l = { 0 };
	sr_special_keys(s);
	/* A listing prefix with characters to encode. */
	sc_ok(cairn_store_list(s, "sp/a b+", sc_list_cb, &l));
	assert_int_equal(l.n, 1);
	sc_listed_free(&l);
}

static void test_prefix_isolation(void **state)
{
	(void)state;
	sr_prefix_isolation(open_store);
}

static void test_wrong_key(void **state)
{
	(void)state;
	struct cairn_store *s = NULL;
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint64_t size;
	size_t n = 0;
	/* base64 of 64 bytes, not the account's. */
	const char *bad = "d3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmc=";
	struct cairn_store_opts o = { .azure.key = bad };
	sc_ok(open_with(&o, NULL, "auth", NULL, &s));
	assert_int_equal(cairn_store_stat(s, "config", &size), CAIRN_EAUTH);
	assert_non_null(strstr(cairn_error_message(), "account key"));
	assert_non_null(strstr(cairn_error_message(), "is wrong"));
	assert_non_null(strstr(cairn_error_message(), account));
	sr_assert_no_secret(bad);
	assert_int_equal(cairn_store_get(s, "config", 0, CAIRN_STORE_TO_END, &b), CAIRN_EAUTH);
	sr_assert_no_secret(bad);
	assert_int_equal(cairn_store_put(s, "config", "x", 1, 0), CAIRN_EAUTH);
	assert_int_equal(cairn_store_list(s, "", sc_count_cb, &n), CAIRN_EAUTH);
	assert_int_equal(cairn_store_del(s, "config"), CAIRN_EAUTH);
	assert_int_equal(cairn_store_create(s), CAIRN_EAUTH);
	sr_assert_no_secret(bad);
	cairn_store_free(s);
	cairn_buf_free(&b);
}

static void test_sas(void **state)
{
	(void)state;
	struct cairn_store *s = NULL;
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint64_t size;
	size_t n = 0;

	/* An account SAS does everything, creating containers included. */
	char *acct = make_sas("rwdlac", 2, NULL, key);
	struct cairn_store_opts o = { .azure.sas = acct };
	char cont[80];
	snprintf(cont, sizeof(cont), "%s-sas", container);
	sc_ok(open_with(&o, cont, "p", SMALL, &s));
	sc_ok(cairn_store_create(s));
	sc_ok(cairn_store_put(s, "a", "alpha", 5, CAIRN_PUT_CREATE_ONLY));
	assert_int_equal(cairn_store_put(s, "a", "x", 1, CAIRN_PUT_CREATE_ONLY), CAIRN_EEXIST);
	uint8_t *d = sc_data(3u << 20, 3);
	sc_ok(cairn_store_put(s, "big", d, 3u << 20, 0));
	sc_expect_object(s, "big", d, 3u << 20);
	sc_ok(cairn_store_get(s, "big", 1000, 10, &b));
	assert_memory_equal(b.data, d + 1000, 10);
	sc_ok(cairn_store_list(s, "", sc_count_cb, &n));
	assert_int_equal(n, 2);
	sc_ok(cairn_store_del(s, "a"));
	assert_int_equal(cairn_store_stat(s, "a", &size), CAIRN_ENOTFOUND);
	cairn_store_free(s);

	/* A container SAS (sr=c) reads, writes, lists, deletes; create of a
	 * container that exists passes (it only lists). */
	char *cs = make_sas("racwdl", 2, cont, key);
	o.azure.sas = cs;
	sc_ok(open_with(&o, cont, "p", SMALL, &s));
	sc_ok(cairn_store_create(s));
	sc_expect_object(s, "big", d, 3u << 20);
	sc_ok(cairn_store_put(s, "c", "c", 1, 0));
	sc_ok(cairn_store_del(s, "c"));
	cairn_store_free(s);
	/* ...but cannot make a container: a clear line saying so. */
	char other[80];
	snprintf(other, sizeof(other), "%s-nosas", container);
	char *cs_other = make_sas("racwdl", 2, other, key);
	o.azure.sas = cs_other;
	sc_ok(open_with(&o, other, "p", NULL, &s));
	assert_int_equal(cairn_store_create(s), CAIRN_EPERM);
	assert_non_null(strstr(cairn_error_message(), "may not create it"));
	sr_assert_no_secret(sig_of(cs_other));
	cairn_store_free(s);

	/* Read-only: puts are refused naming the permission. */
	char *ro = make_sas("rl", 2, cont, key);
	o.azure.sas = ro;
	sc_ok(open_with(&o, cont, "p", NULL, &s));
	sc_ok(cairn_store_stat(s, "big", &size));
	assert_int_equal(cairn_store_put(s, "ro", "x", 1, 0), CAIRN_EPERM);
	assert_non_null(strstr(cairn_error_message(), "does not permit put"));
	sr_assert_no_secret(sig_of(ro));
	cairn_store_free(s);

	/* Expired: named as such, by its expiry time. */
	char *ex = make_sas("racwdl", -1, cont, key);
	o.azure.sas = ex;
	sc_ok(open_with(&o, cont, "p", NULL, &s));
	assert_int_equal(cairn_store_stat(s, "big", &size), CAIRN_EAUTH);
	assert_non_null(strstr(cairn_error_message(), "SAS token"));
	assert_non_null(strstr(cairn_error_message(), "expired at"));
	sr_assert_no_secret(sig_of(ex));
	assert_int_equal(cairn_store_list(s, "", sc_count_cb, &n), CAIRN_EAUTH);
	assert_non_null(strstr(cairn_error_message(), "expired at"));
	sr_assert_no_secret(sig_of(ex));
	cairn_store_free(s);

	/* Signed with another key: invalid. */
	char *wrong = make_sas("racwdl", 2, cont, "d3Jvbmc=");
	o.azure.sas = wrong;
	sc_ok(open_with(&o, cont, "p", NULL, &s));
	assert_int_equal(cairn_store_get(s, "big", 0, 10, &b), CAIRN_EAUTH);
	assert_non_null(strstr(cairn_error_message(), "SAS token"));
	assert_non_null(strstr(cairn_error_message(), "invalid"));
	sr_assert_no_secret(sig_of(wrong));
	cairn_store_free(s);

	/* Clean up with the key. */
	sc_ok(open_with(&(struct cairn_store_opts){ .azure.key = key }, cont, "p", NULL, &s));
	sc_ok(cairn_store_del(s, "big"));
	cairn_store_free(s);
	free(acct);
	free(cs);
	free(cs_other);
	free(ro);
	free(ex);
	free(wrong);
	free(d);
	cairn_buf_free(&b);
}

static void test_missing_container(void **state)
{
	(void)state;
	struct cairn_store *s = NULL;
	char cont[80];
	uint64_t size;
	snprintf(cont, sizeof(cont), "%s-missing", container);
	struct cairn_store_opts o = { .azure.key = key };
	sc_ok(open_with(&o, cont, "p", NULL, &s));
	assert_int_equal(cairn_store_stat(s, "config", &size), CAIRN_ENOTREPO);
	assert_non_null(strstr(cairn_error_message(), "does not exist in account"));
	assert_non_null(strstr(cairn_error_message(), cont));
	assert_non_null(strstr(cairn_error_message(), account));
	sr_missing_container(s);
	cairn_store_free(s);
}

static void test_env(void **state)
{
	(void)state;
	struct cairn_store *s = NULL;
	char uri[1024];
	uri_of(uri, sizeof(uri), NULL, "envkeys", NULL);
	th_setenv("AZURE_STORAGE_KEY", key);
	th_setenv("AZURE_STORAGE_ACCOUNT", account);
	sc_ok(cairn_store_open(uri, &s));
	sc_ok(cairn_store_put(s, "k", "v", 1, 0));
	sc_expect_object(s, "k", (const uint8_t *)"v", 1);
	cairn_store_free(s);
	s = NULL;
	th_setenv("AZURE_STORAGE_ACCOUNT", "someoneelse");
	assert_int_equal(cairn_store_open(uri, &s), CAIRN_EINVAL);
	assert_null(s);
	th_unsetenv("AZURE_STORAGE_ACCOUNT");
	th_unsetenv("AZURE_STORAGE_KEY");
	char *sas = make_sas("rwdl", 1, container, key);
	th_setenv("AZURE_STORAGE_SAS_TOKEN", sas);
	sc_ok(cairn_store_open(uri, &s));
	sc_expect_object(s, "k", (const uint8_t *)"v", 1);
	sc_ok(cairn_store_del(s, "k"));
	cairn_store_free(s);
	th_unsetenv("AZURE_STORAGE_SAS_TOKEN");
	free(sas);
	s = NULL;
	assert_int_equal(cairn_store_open(uri, &s), CAIRN_EAUTH);
	assert_non_null(strstr(cairn_error_message(), "AZURE_STORAGE_KEY"));
}

static void test_unreachable(void **state)
{
	(void)state;
	struct cairn_store *s = NULL;
	uint64_t size;
	char *sas = make_sas("rl", 1, container, key);
	struct cairn_store_opts o = { .azure.sas = sas };
	th_setenv("CAIRN_HTTP_MAX_ATTEMPTS", "2");
	th_setenv("CAIRN_HTTP_BACKOFF_MS", "10");
	sc_ok(cairn_store_open_opts("azure://devstoreaccount1/c01/p?endpoint=http://127.0.0.1:9/devstoreaccount1",
				    &o, &s));
	assert_int_equal(cairn_store_stat(s, "config", &size), CAIRN_ENET);
	/* The URL in the message has no token. */
	assert_non_null(strstr(cairn_error_message(), "http://127.0.0.1:9/devstoreaccount1/c01/p/config"));
	sr_assert_no_secret(sig_of(sas));
	assert_null(strstr(cairn_error_message(), "sig="));
	cairn_store_free(s);
	th_unsetenv("CAIRN_HTTP_MAX_ATTEMPTS");
	th_unsetenv("CAIRN_HTTP_BACKOFF_MS");
	free(sas);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CAIRN_STORE_CONFORMANCE_TESTS("", setup_azure, sr_teardown),
		cmocka_unit_test_setup_teardown(test_block_sizes, setup_azure, sr_teardown),
		cmocka_unit_test_setup_teardown(test_features, setup_azure, sr_teardown),
		cmocka_unit_test_setup_teardown(test_special_keys, setup_azure, sr_teardown),
		cmocka_unit_test(test_prefix_isolation),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_sas),
		cmocka_unit_test(test_missing_container),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_unreachable),
	};

	th_unsetenv("AZURE_STORAGE_KEY");
	th_unsetenv("AZURE_STORAGE_SAS_TOKEN");
	th_unsetenv("AZURE_STORAGE_ACCOUNT");
	th_unsetenv("CAIRN_TEST_FAULT");
	th_unsetenv("CAIRN_TEST_COUNT");
	load_server();
	if (!endpoint[0])
		return sr_run_skipped("azure (no server)", tests, ARRAY_SIZE(tests),
				      "test_store_azure: no Azure server configured (CAIRN_TEST_AZURE_ENDPOINT is unset; "
				      "scripts/run-tests starts Azurite and sets it): skipping");
	return cmocka_run_group_tests_name("azure on Azurite", tests, group_setup, NULL);
}
