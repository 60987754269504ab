/* Unit tests of the Azure Blob driver's pure pieces (no server): the
 * Shared Key string-to-sign and signature, URLs with and without a SAS
 * token, the azure:// URI grammar with the options and the environment,
 * SAS checks, error mapping and the XML parsers.  The store against a real
 * server (Azurite) is tests/unit/test_store_azure.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers.h"
#include "store/azure/azure.h"
#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The Azure Storage emulator's well-known account key: public, documented
 * by Microsoft, not a secret. */
#define EMU_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define EMU_EP "http://127.0.0.1:10000/devstoreaccount1"
/* A made-up SAS token; "SECRETSIG" marks the part that must never show. */
#define SAS "sv=2019-12-12&ss=b&srt=sco&sp=rwdlac&st=2020-01-01T00%3A00%3A00Z&se=2030-01-01T00%3A00%3A00Z&spr=https%2Chttp&sig=SECRETSIG%2Babc%3D"

#define ok(expr)                                                                              \
	do {                                                                                  \
		int r_ = (expr);                                                              \
		if (r_ != 0)                                                                  \
			fail_msg("%s = %d (%s): %s", #expr, r_, cairn_error_name(r_), cairn_error_message()); \
	} while (0)

static void clear_env(void)
{
	th_unsetenv("AZURE_STORAGE_KEY");
	th_unsetenv("AZURE_STORAGE_SAS_TOKEN");
	th_unsetenv("AZURE_STORAGE_ACCOUNT");
}

static int parse(const char *uri, const struct cairn_store_opts *o, struct cairn_azure_config *c)
{
	int r = cairn_azure_config_parse(uri, o, c);
	if (r < 0)
		cairn_azure_config_free(c);
	return r;
}

static int parse_key(const char *uri, struct cairn_azure_config *c)
{
	struct cairn_store_opts o = { .azure.key = EMU_KEY };
	return parse(uri, &o, c);
}

/* ---- Shared Key ---- */

static void test_string_to_sign(void **state)
{
	(void)state;
	struct cairn_buf b = CAIRN_BUF_INIT;
	char sig[45];
	uint8_t *key;
	size_t klen;

	/* A Put Blob on an emulator's path-style URL: the account appears
	 * twice in the canonical resource; If-None-Match and Content-Type
	 * take their standard slots, Content-Length is the body's size. */
	const char *const h1[] = { "x-ms-date: Sun, 11 Oct 2009 21:49:13 GMT", "x-ms-version: 2021-12-02",
				   "x-ms-blob-type: BlockBlob", "If-None-Match: *",
				   "Content-Type: application/octet-stream", NULL };
	static const char want1[] = "PUT\n\n\n11\n\napplication/octet-stream\n\n\n\n*\n\n\n"
				    "x-ms-blob-type:BlockBlob\nx-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\n"
				    "x-ms-version:2021-12-02\n/devstoreaccount1/devstoreaccount1/cont/dir/a%20b";
	ok(cairn_azure_string_to_sign("PUT", h1, 11, "devstoreaccount1", "/devstoreaccount1/cont/dir/a%20b", NULL,
				      &b));
	assert_string_equal((const char *)b.data, want1);
	assert_int_equal(b.len, strlen(want1));

	/* The signature, computed independently with python3:
	 *   import base64, hmac, hashlib
	 *   key = base64.b64decode(EMU_KEY)
	 *   base64.b64encode(hmac.new(key, want1.encode(), hashlib.sha256).digest())
	 */
	ok(cairn_azure_key_decode(EMU_KEY, &key, &klen));
	assert_int_equal(klen, 64);
	ok(cairn_azure_hmac_b64(key, klen, b.data, b.len, sig));
	assert_string_equal(sig, "rg6OgPgXyQjV+hmfJQS2H4LpWA++NeDHNeGFsO6qvAk=");

	/* The example of the REST reference ("Authorize with Shared Key"):
	 * Get Container Metadata; query parameters sorted by name, a
	 * bodiless request has an empty Content-Length. */
	const char *const h2[] = { "x-ms-version: 2009-09-19", "x-ms-date: Sun, 11 Oct 2009 21:49:13 GMT", NULL };
	static const char want2[] = "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\n"
				    "x-ms-version:2009-09-19\n/myaccount/myaccount/mycontainer\ncomp:metadata\n"
				    "restype:container\ntimeout:20";
	ok(cairn_azure_string_to_sign("GET", h2, 0, "myaccount", "/myaccount/mycontainer",
				      "restype=container&comp=metadata&timeout=20", &b));
	assert_string_equal((const char *)b.data, want2);
	/* python3 as above, over want2 */
	ok(cairn_azure_hmac_b64(key, klen, b.data, b.len, sig));
	assert_string_equal(sig, "Su5rvibNeMxB7A4I87rOtEgCDtdICsL8v5H+yJs0W+M=");

	/* Query values are decoded, names lower-cased, repeated names
	 * joined sorted; x-ms- header names lower-cased, values' white space
	 * folded; header names match case-insensitively; x-ms-range is a
	 * canonical header, not the Range slot. */
	const char *const h3[] = { "X-MS-Date: d", "x-ms-meta-Foo:   a   b  ", "x-ms-range: bytes=0-9",
				   "content-type: t", "Range: bytes=1-2", NULL };
	static const char want3[] = "GET\n\n\n\n\nt\n\n\n\n\n\nbytes=1-2\nx-ms-date:d\nx-ms-meta-foo:a b\n"
				    "x-ms-range:bytes=0-9\n/acct/c\ncomp:list\nmarker:2!abc\nmaxresults:100\n"
				    "prefix:a/b c+d\nrestype:container\nx:1,2";
	ok(cairn_azure_string_to_sign("GET", h3, 0, "acct", "/c",
				      "restype=container&comp=list&prefix=a%2Fb%20c+d&marker=2%21abc&maxresults=100&X=2&x=1",
				      &b));
	assert_string_equal((const char *)b.data, want3);

	/* The root path is "/". */
	ok(cairn_azure_string_to_sign("GET", NULL, 0, "acct", "", NULL, &b));
	assert_string_equal((const char *)b.data, "GET\n\n\n\n\n\n\n\n\n\n\n\n/acct/");

	cairn_secret_free(key, klen);
	cairn_buf_free(&b);
}

static void test_key_decode(void **state)
{
	(void)state;
	uint8_t *key;
	size_t n;
	ok(cairn_azure_key_decode("YWJj", &key, &n));
	assert_int_equal(n, 3);
	assert_memory_equal(key, "abc", 3);
	cairn_secret_free(key, n);
	assert_int_equal(cairn_azure_key_decode("not base64!", &key, &n), CAIRN_EAUTH);
	assert_null(strstr(cairn_error_message(), "not base64!"));
	assert_int_equal(cairn_azure_key_decode("", &key, &n), CAIRN_EAUTH);
	assert_int_equal(cairn_azure_key_decode("YWJ", &key, &n), CAIRN_EAUTH); /* truncated */
}

static void test_dates(void **state)
{
	(void)state;
	char d[32];
	cairn_azure_date(1255297753, d);
	assert_string_equal(d, "Sun, 11 Oct 2009 21:49:13 GMT");
	cairn_azure_date(0, d);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	assert_int_equal(cairn_azure_parse_time("2009-10-11T21:49:13Z"), 1255297753);
	assert_int_equal(cairn_azure_parse_time("2009-10-11T21:49:13.1234567Z"), 1255297753);
	assert_int_equal(cairn_azure_parse_time("2009-10-11T21:49Z"), 1255297740);
	assert_int_equal(cairn_azure_parse_time("2009-10-11"), 1255219200);
	assert_int_equal(cairn_azure_parse_time("2009-13-11"), -1);
	assert_int_equal(cairn_azure_parse_time("yesterday"), -1);
	assert_int_equal(cairn_azure_parse_time("2009-10-11T21:49:13Zjunk"), -1);
}

/* ---- URLs ---- */

static void test_urls(void **state)
{
	(void)state;
	struct cairn_azure_config c;
	struct cairn_buf sent = CAIRN_BUF_INIT, shown = CAIRN_BUF_INIT;
	size_t off;
	clear_env();

	/* Default endpoint: the account in the host name. */
	ok(parse_key("azure://myacct/backups/vol/a", &c));
	assert_string_equal(c.endpoint, "https://myacct.blob.core.windows.net");
	assert_string_equal(c.prefix, "vol/a/");
	ok(cairn_azure_url(&c, "packs/ab/x y", NULL, &shown, &off));
	assert_string_equal((const char *)shown.data,
			    "https://myacct.blob.core.windows.net/backups/vol/a/packs/ab/x%20y");
	assert_string_equal((const char *)shown.data + off, "/backups/vol/a/packs/ab/x%20y");
	ok(cairn_azure_url(&c, NULL, "restype=container", &shown, NULL));
	assert_string_equal((const char *)shown.data, "https://myacct.blob.core.windows.net/backups?restype=container");
	/* With a key, what is sent is what is shown. */
	ok(cairn_azure_urls(&c, "k", "comp=block", &sent, &shown, NULL));
	assert_string_equal((const char *)sent.data, (const char *)shown.data);
	cairn_azure_config_free(&c);

	/* An emulator's path-style endpoint holds the account. */
	ok(parse_key("azure://devstoreaccount1/c01?endpoint=" EMU_EP, &c));
	assert_string_equal(c.prefix, "");
	assert_true(c.allow_http);
	ok(cairn_azure_url(&c, "config", NULL, &shown, &off));
	assert_string_equal((const char *)shown.data, EMU_EP "/c01/config");
	assert_string_equal((const char *)shown.data + off, "/devstoreaccount1/c01/config");
	cairn_azure_config_free(&c);

	/* A SAS token goes at the end of every URL that is sent, and never
	 * into the one that is shown. */
	struct cairn_store_opts o = { .azure.sas = "?" SAS };
	ok(parse("azure://devstoreaccount1/c01/p?endpoint=" EMU_EP, &o, &c));
	assert_int_equal(c.auth, CAIRN_AZURE_AUTH_SAS);
	assert_string_equal(c.sas_start, "2020-01-01T00:00:00Z");
	assert_string_equal(c.sas_expiry, "2030-01-01T00:00:00Z");
	ok(cairn_azure_urls(&c, "k", NULL, &sent, &shown, NULL));
	assert_string_equal((const char *)sent.data, EMU_EP "/c01/p/k?" SAS);
	assert_string_equal((const char *)shown.data, EMU_EP "/c01/p/k");
	ok(cairn_azure_urls(&c, NULL, "restype=container&comp=list", &sent, &shown, NULL));
	assert_string_equal((const char *)sent.data, EMU_EP "/c01?restype=container&comp=list&" SAS);
	assert_string_equal((const char *)shown.data, EMU_EP "/c01?restype=container&comp=list");
	assert_null(strstr((const char *)shown.data, "SECRETSIG"));
	cairn_azure_config_free(&c);

	cairn_buf_free(&sent);
	cairn_buf_free(&shown);
}

/* ---- the URI, the options, the environment ---- */

static void expect_bad(const char *uri, const struct cairn_store_opts *o, int code, const char *what)
{
	struct cairn_azure_config c;
	int r = parse(uri, o, &c);
	if (r != code)
		fail_msg("%s: got %d (%s), want %d", uri, r, cairn_error_message(), code);
	if (what && !strstr(cairn_error_message(), what))
		fail_msg("%s: message '%s' lacks '%s'", uri, cairn_error_message(), what);
	assert_null(strstr(cairn_error_message(), "SECRETSIG"));
	assert_null(strstr(cairn_error_message(), EMU_KEY));
}

static void test_uri(void **state)
{
	(void)state;
	struct cairn_azure_config c;
	struct cairn_store_opts key = { .azure.key = EMU_KEY };
	clear_env();

	ok(parse_key("azure://acct1/cont/a/b/", &c));
	assert_string_equal(c.account, "acct1");
	assert_string_equal(c.container, "cont");
	assert_string_equal(c.prefix, "a/b/");
	assert_int_equal(c.block_size, CAIRN_AZURE_BLOCK_SIZE_DEFAULT);
	assert_int_equal(c.block_threshold, CAIRN_AZURE_THRESHOLD_DEFAULT);
	assert_int_equal(c.max_results, 5000);
	assert_int_equal(c.connections, 8);
	assert_false(c.allow_http);
	assert_int_equal(c.auth, CAIRN_AZURE_AUTH_KEY);
	assert_string_equal(c.auth_source, "the credential");
	cairn_azure_config_free(&c);

	ok(parse_key("azure://acct1/cont?block_size=1M&max_results=7", &c));
	assert_int_equal(c.block_size, 1u << 20);
	assert_int_equal(c.block_threshold, 1u << 20);
	assert_int_equal(c.max_results, 7);
	cairn_azure_config_free(&c);
	ok(parse_key("azure://acct1/cont?block_size=256K&block_threshold=2M", &c));
	assert_int_equal(c.block_size, 256u << 10);
	assert_int_equal(c.block_threshold, 2u << 20);
	cairn_azure_config_free(&c);

	/* The URI's endpoint wins over the options'; an options' http://
	 * endpoint needs disable_ssl. */
	struct cairn_store_opts ep = { .azure.key = EMU_KEY, .endpoint = "https://other.example:8443/x/" };
	ok(parse("azure://acct1/cont?endpoint=https%3A%2F%2Fmine.example", &ep, &c));
	assert_string_equal(c.endpoint, "https://mine.example");
	cairn_azure_config_free(&c);
	ok(parse("azure://acct1/cont", &ep, &c));
	assert_string_equal(c.endpoint, "https://other.example:8443/x");
	cairn_azure_config_free(&c);
	ep.endpoint = EMU_EP;
	expect_bad("azure://acct1/cont", &ep, CAIRN_EINVAL, "disable_ssl");
	ep.disable_ssl = true;
	ok(parse("azure://acct1/cont", &ep, &c));
	assert_true(c.allow_http);
	cairn_azure_config_free(&c);

	expect_bad("azure://", &key, CAIRN_EINVAL, "no storage account");
	expect_bad("azure://acct1", &key, CAIRN_EINVAL, "no container");
	expect_bad("azure://acct1/", &key, CAIRN_EINVAL, "no container");
	expect_bad("azure://Acct1/cont", &key, CAIRN_EINVAL, "account name");
	expect_bad("azure://ab/cont", &key, CAIRN_EINVAL, "account name");
	expect_bad("azure://acct1/Cont", &key, CAIRN_EINVAL, "container name");
	expect_bad("azure://acct1/a--b", &key, CAIRN_EINVAL, "container name");
	expect_bad("azure://acct1/-ab", &key, CAIRN_EINVAL, "container name");
	expect_bad("azure://acct1/cont/../x", &key, CAIRN_EINVAL, "'..'");
	expect_bad("azure://acct1/cont/a//b", &key, CAIRN_EINVAL, "empty");
	expect_bad("azure://acct1/cont#frag", &key, CAIRN_EINVAL, "fragments");
	expect_bad("azure://acct1/cont?block_size=1k", &key, CAIRN_EINVAL, "block_size");
	expect_bad("azure://acct1/cont?max_results=5001", &key, CAIRN_EINVAL, "max_results");
	expect_bad("azure://acct1/cont?endpoint=ftp://x", &key, CAIRN_EINVAL, "only http");
	expect_bad("azure://acct1/cont?endpoint=https://u:p@host", &key, CAIRN_EINVAL, "only scheme");
	/* A SAS put into the URI is refused without being repeated. */
	expect_bad("azure://acct1/cont?sig=SECRETSIG", &key, CAIRN_EINVAL, "unknown parameter 'sig'");
	expect_bad("azure://acct1/cont?endpoint=https://h/p%3Fsig%3DSECRETSIG", &key, CAIRN_EINVAL, NULL);
	expect_bad("azure://acct1/cont?endpoint=x&endpoint=y", &key, CAIRN_EINVAL, "twice");
	expect_bad("s3://acct1/cont", &key, CAIRN_EINVAL, "not an azure");
}

/* A stored credential's key or SAS (opts.cred set) goes only to its own
 * endpoint, else https://ACCOUNT.blob.core.windows.net. */
static void test_cred_binding(void **state)
{
	(void)state;
	struct cairn_azure_config c;
	clear_env();
	struct cairn_store_opts o = { .cred = "0f0f0f0f-0000-4000-8000-000000000003", .azure.sas = SAS };

	ok(parse("azure://acct1/cont", &o, &c));
	assert_string_equal(c.endpoint, "https://acct1.blob.core.windows.net");
	cairn_azure_config_free(&c);
	ok(parse("azure://acct1/cont?endpoint=https://acct1.blob.core.windows.net:443", &o, &c));
	cairn_azure_config_free(&c);
	const char *other[] = { "http://127.0.0.1:10000/acct1", "https://127.0.0.1:10000/acct1",
				"http://acct1.blob.core.windows.net", "https://acct2.blob.core.windows.net",
				"https://acct1.blob.core.windows.net/x" };
	for (size_t i = 0; i < ARRAY_SIZE(other); i++) {
		char uri[256];
		snprintf(uri, sizeof(uri), "azure://acct1/cont?endpoint=%s", other[i]);
		int r = parse(uri, &o, &c);
		if (r != CAIRN_EPERM)
			fail_msg("%s: %s, want EPERM", uri, cairn_error_name(r));
		const char *msg = cairn_error_message();
		assert_non_null(strstr(msg, "credential 0f0f0f0f-0000-4000-8000-000000000003 is bound to "
					    "https://acct1.blob.core.windows.net, but the repository URI names endpoint"));
		assert_non_null(strstr(msg, "--azure-endpoint"));
		assert_null(strstr(msg, "SECRETSIG"));
	}
	/* Its own endpoint, http with disable_ssl. */
	o.endpoint = EMU_EP;
	o.disable_ssl = true;
	ok(parse("azure://acct1/cont?endpoint=" EMU_EP, &o, &c));
	assert_true(c.allow_http);
	cairn_azure_config_free(&c);
	expect_bad("azure://acct1/cont?endpoint=http://127.0.0.1:10001/devstoreaccount1", &o, CAIRN_EPERM,
		   "bound to " EMU_EP);
	expect_bad("azure://acct1/cont?endpoint=http://127.0.0.1:10000/other", &o, CAIRN_EPERM, NULL);
	/* Without a stored credential the URI decides, as before. */
	o.cred = NULL;
	ok(parse("azure://acct1/cont?endpoint=http://127.0.0.1:10001/x", &o, &c));
	cairn_azure_config_free(&c);
}

static void test_credentials(void **state)
{
	(void)state;
	struct cairn_azure_config c;
	clear_env();

	expect_bad("azure://acct1/cont", NULL, CAIRN_EAUTH, "AZURE_STORAGE_KEY");
	struct cairn_store_opts both = { .azure.key = EMU_KEY, .azure.sas = SAS };
	expect_bad("azure://acct1/cont", &both, CAIRN_EAUTH, "both");
	struct cairn_store_opts other = { .azure.account = "other1", .azure.key = EMU_KEY };
	expect_bad("azure://acct1/cont", &other, CAIRN_EINVAL, "account 'other1'");
	/* Account names are DNS labels: case does not matter. */
	struct cairn_store_opts upper = { .azure.account = "ACCT1", .azure.key = EMU_KEY };
	ok(parse("azure://acct1/cont", &upper, &c));
	cairn_azure_config_free(&c);
	struct cairn_store_opts badkey = { .azure.key = "%%%" };
	expect_bad("azure://acct1/cont", &badkey, CAIRN_EAUTH, "base64");

	/* The environment, when the options have nothing. */
	th_setenv("AZURE_STORAGE_SAS_TOKEN", SAS);
	ok(parse("azure://acct1/cont", NULL, &c));
	assert_int_equal(c.auth, CAIRN_AZURE_AUTH_SAS);
	assert_string_equal(c.auth_source, "AZURE_STORAGE_SAS_TOKEN");
	cairn_azure_config_free(&c);
	th_setenv("AZURE_STORAGE_KEY", EMU_KEY);
	ok(parse("azure://acct1/cont", NULL, &c));
	assert_int_equal(c.auth, CAIRN_AZURE_AUTH_KEY); /* the key first */
	assert_string_equal(c.auth_source, "AZURE_STORAGE_KEY");
	cairn_azure_config_free(&c);
	/* The options win over the environment. */
	struct cairn_store_opts sas = { .azure.sas = SAS };
	ok(parse("azure://acct1/cont", &sas, &c));
	assert_int_equal(c.auth, CAIRN_AZURE_AUTH_SAS);
	cairn_azure_config_free(&c);
	th_setenv("AZURE_STORAGE_ACCOUNT", "acct1");
	ok(parse("azure://acct1/cont", NULL, &c));
	cairn_azure_config_free(&c);
	th_setenv("AZURE_STORAGE_ACCOUNT", "acct2");
	expect_bad("azure://acct1/cont", NULL, CAIRN_EINVAL, "AZURE_STORAGE_ACCOUNT is 'acct2'");
	th_setenv("AZURE_STORAGE_KEY", "x y");
	th_unsetenv("AZURE_STORAGE_ACCOUNT");
	expect_bad("azure://acct1/cont", NULL, CAIRN_EAUTH, "AZURE_STORAGE_KEY");
	clear_env();

	/* SAS shapes. */
	struct cairn_store_opts s = { 0 };
	s.azure.sas = "sv=2019-12-12&sp=r";
	expect_bad("azure://acct1/cont", &s, CAIRN_EAUTH, "no signature");
	s.azure.sas = "sv=2019 12&sig=SECRETSIG";
	expect_bad("azure://acct1/cont", &s, CAIRN_EAUTH, "not a URL query");
	s.azure.sas = "sig=SECRETSIG#x";
	expect_bad("azure://acct1/cont", &s, CAIRN_EAUTH, "not a URL query");
	s.azure.sas = "?";
	expect_bad("azure://acct1/cont", &s, CAIRN_EAUTH, "empty");
	/* Times that are not times are not kept (nothing else from the
	 * token may reach a message). */
	s.azure.sas = "se=SECRETSIG&sig=x";
	ok(parse("azure://acct1/cont", &s, &c));
	assert_string_equal(c.sas_expiry, "");
	cairn_azure_config_free(&c);
}

/* ---- errors ---- */

static int map(const struct cairn_azure_config *c, const char *key, long status, const char *code,
	       const char *detail)
{
	struct cairn_azure_error e = { 0 };
	if (code)
		snprintf(e.code, sizeof(e.code), "%s", code);
	if (detail)
		snprintf(e.detail, sizeof(e.detail), "%s", detail);
	/* 2025-06-01T00:00:00Z: after the test SAS's start, before its expiry. */
	return cairn_azure_error_map(c, "azure://acct1/cont", "get", key, status, 1, code, &e, 1748736000);
}

static void expect_msg(const char *want)
{
	if (!strstr(cairn_error_message(), want))
		fail_msg("message '%s' lacks '%s'", cairn_error_message(), want);
	assert_null(strstr(cairn_error_message(), "SECRETSIG"));
	assert_null(strstr(cairn_error_message(), EMU_KEY));
}

static void test_error_map(void **state)
{
	(void)state;
	struct cairn_azure_config k, sas, expired;
	clear_env();
	ok(parse_key("azure://acct1/cont", &k));
	struct cairn_store_opts so = { .azure.sas = SAS };
	ok(parse("azure://acct1/cont", &so, &sas));
	so.azure.sas = "se=2021-01-01T00:00:00Z&sig=SECRETSIG";
	ok(parse("azure://acct1/cont", &so, &expired));

	assert_int_equal(map(&k, "config", 404, "BlobNotFound", NULL), CAIRN_ENOTFOUND);
	expect_msg("object config not found in azure://acct1/cont");
	assert_int_equal(map(&k, "config", 404, "", NULL), CAIRN_ENOTFOUND);
	assert_int_equal(map(&k, "config", 404, "ContainerNotFound", NULL), CAIRN_ENOTREPO);
	expect_msg("container cont does not exist in account acct1");
	assert_int_equal(map(&k, NULL, 404, "", NULL), CAIRN_ENOTREPO);

	/* Authentication: the key, or the token, named as the cause. */
	assert_int_equal(map(&k, "config", 403, "AuthenticationFailed", "The MAC signature found ..."), CAIRN_EAUTH);
	expect_msg("account key for account 'acct1' (from the credential) is wrong");
	assert_null(strstr(cairn_error_message(), "MAC signature"));
	assert_int_equal(map(&k, "config", 403, "AuthorizationFailure", NULL), CAIRN_EAUTH);
	expect_msg("account key for account 'acct1' (from the credential) is wrong");
	assert_int_equal(map(&k, "config", 403, "AuthenticationFailed",
			     "Request date header too old: 'Fri, 21 Dec 2012 21:49:13 GMT'"),
			 CAIRN_EAUTH);
	expect_msg("this host's clock is off");
	assert_int_equal(map(&sas, "config", 403, "AuthenticationFailed", "Signature did not match"), CAIRN_EAUTH);
	expect_msg("SAS token (from the credential): it is invalid");
	assert_int_equal(map(&sas, "config", 403, "AuthenticationFailed",
			     "Signature not valid in the specified time frame"),
			 CAIRN_EAUTH);
	expect_msg("expired or not yet valid");
	assert_int_equal(map(&expired, "config", 403, "AuthorizationFailure", NULL), CAIRN_EAUTH);
	expect_msg("it expired at 2021-01-01T00:00:00Z");
	assert_int_equal(map(&sas, "config", 403, "AuthorizationPermissionMismatch", NULL), CAIRN_EPERM);
	expect_msg("does not permit get of object config");
	assert_int_equal(map(&k, "config", 403, "AuthorizationPermissionMismatch", NULL), CAIRN_EPERM);
	assert_int_equal(map(&k, "config", 400, "InvalidAuthenticationInfo", NULL), CAIRN_EAUTH);
	assert_int_equal(map(&k, "config", 403, "", NULL), CAIRN_EPERM);

	assert_int_equal(map(&k, "config", 409, "BlobAlreadyExists", NULL), CAIRN_EEXIST);
	assert_int_equal(map(&k, "config", 412, "ConditionNotMet", NULL), CAIRN_EEXIST);
	assert_int_equal(map(&k, "config", 416, "InvalidRange", NULL), CAIRN_EINVAL);
	assert_int_equal(map(&k, "config", 400, "InvalidBlockList", NULL), CAIRN_EIO);
	assert_int_equal(map(&k, "config", 503, "ServerBusy", NULL), CAIRN_ENET);
	expect_msg("server error 503 (ServerBusy)");
	assert_int_equal(map(&k, "config", 500, "", NULL), CAIRN_ENET);
	assert_int_equal(map(&k, "config", 429, "", NULL), CAIRN_ENET);
	assert_int_equal(map(&k, "config", 501, "", NULL), CAIRN_EUNSUPPORTED);
	assert_int_equal(map(&k, "config", 400, "Md5Mismatch", NULL), CAIRN_EIO);
	expect_msg("HTTP status 400 (Md5Mismatch)");

	cairn_azure_config_free(&k);
	cairn_azure_config_free(&sas);
	cairn_azure_config_free(&expired);
}

/* ---- XML ---- */

static void test_parse_list(void **state)
{
	(void)state;
	struct cairn_httpstore_page p;
	static const char page1[] =
		"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>"
		"<EnumerationResults ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" ContainerName=\"c\">"
		"<Prefix>p/</Prefix><Marker/><MaxResults>2</MaxResults><Blobs>"
		"<Blob><Name>p/a&amp;b</Name><Properties><Creation-Time>Tue, 01 Dec 2026 09:08:37 GMT</Creation-Time>"
		"<Content-Length>12</Content-Length><BlobType>BlockBlob</BlobType></Properties><OrMetadata/></Blob>"
		"<BlobPrefix><Name>p/dir/</Name></BlobPrefix>"
		"<Blob><Name>p/z</Name><Properties><Content-Length>0</Content-Length></Properties></Blob>"
		"</Blobs><NextMarker>2!88!MDAwMDE1IXAveiEwMDAwMjgh</NextMarker></EnumerationResults>";
	ok(cairn_azure_parse_list(page1, sizeof(page1) - 1, &p));
	assert_int_equal(p.n, 2);
	assert_string_equal(p.v[0].key, "p/a&b");
	assert_int_equal(p.v[0].size, 12);
	assert_string_equal(p.v[1].key, "p/z");
	assert_int_equal(p.v[1].size, 0);
	assert_string_equal(p.next, "2!88!MDAwMDE1IXAveiEwMDAwMjgh");
	cairn_httpstore_page_free(&p);

	static const char last[] = "<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>";
	ok(cairn_azure_parse_list(last, sizeof(last) - 1, &p));
	assert_int_equal(p.n, 0);
	assert_null(p.next);
	cairn_httpstore_page_free(&p);
	static const char nomarker[] = "<EnumerationResults><Blobs><Blob><Name>x</Name><Properties>"
				       "<Content-Length>5</Content-Length></Properties></Blob></Blobs>"
				       "</EnumerationResults>";
	ok(cairn_azure_parse_list(nomarker, sizeof(nomarker) - 1, &p));
	assert_int_equal(p.n, 1);
	assert_null(p.next);
	cairn_httpstore_page_free(&p);

	static const char *const bad[] = {
		"",
		"<Error><Code>x</Code></Error>",
		"<EnumerationResults><Blobs><Blob><Name>x</Name></Blob></Blobs></EnumerationResults>",
		"<EnumerationResults><Blobs><Blob><Properties><Content-Length>1</Content-Length></Properties>"
		"</Blob></Blobs></EnumerationResults>",
		"<EnumerationResults><Blobs><Blob><Name>x</Name><Properties><Content-Length>-1</Content-Length>"
		"</Properties></Blob></Blobs></EnumerationResults>",
		"<EnumerationResults><Blobs><Blob><Name>x</Name><Properties><Content-Length>99999999999999999999"
		"</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
		"<EnumerationResults><Blobs><Blob><Name></Name><Properties><Content-Length>1</Content-Length>"
		"</Properties></Blob></Blobs></EnumerationResults>",
		"<EnumerationResults><Blobs>",
		"<!DOCTYPE x [<!ENTITY a \"b\">]><EnumerationResults/>",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = cairn_azure_parse_list(bad[i], strlen(bad[i]), &p);
		if (r != CAIRN_ECORRUPT)
			fail_msg("bad listing %zu: got %d", i, r);
		assert_int_equal(p.n, 0);
		assert_null(p.v);
	}
}

static void test_parse_error(void **state)
{
	(void)state;
	struct cairn_azure_error e;
	static const char doc[] = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Error>\n"
				  "  <Code>AuthenticationFailed</Code>\n  <Message>Server failed to authenticate the "
				  "request.\nRequestId:6e401c16\nTime:2026-12-01T09:08:37.512Z</Message>\n"
				  "  <AuthenticationErrorDetail>Signature did not match. String to sign used was r\n"
				  "</AuthenticationErrorDetail>\n</Error>";
	ok(cairn_azure_parse_error(doc, sizeof(doc) - 1, &e));
	assert_string_equal(e.code, "AuthenticationFailed");
	assert_string_equal(e.message, "Server failed to authenticate the request.");
	assert_string_equal(e.detail, "Signature did not match. String to sign used was r");
	assert_int_equal(cairn_azure_parse_error("<html>503</html>", 16, &e), CAIRN_ECORRUPT);
	assert_string_equal(e.code, "");
	assert_int_equal(cairn_azure_parse_error("", 0, &e), CAIRN_ECORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_string_to_sign), cmocka_unit_test(test_key_decode),
		cmocka_unit_test(test_dates),          cmocka_unit_test(test_urls),
		cmocka_unit_test(test_uri),            cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_cred_binding),
		cmocka_unit_test(test_error_map),      cmocka_unit_test(test_parse_list),
		cmocka_unit_test(test_parse_error),
	};
	return cmocka_run_group_tests_name("azure", tests, NULL, NULL);
}
