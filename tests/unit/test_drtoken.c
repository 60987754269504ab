/* app/drtoken: the export token round-trips; a truncated, damaged or
 * foreign token is refused with its reason; URIs lose their secrets. */
#include "helpers.h"

#include "app/drtoken.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

static json_t *sample(void)
{
	return json_pack("{s:i, s:s, s:s, s:s, s:[{s:s, s:i}]}", "v", 1, "uri", "s3://b/p?endpoint=http%3A%2F%2Fh%3A1",
			 "id", "00112233445566778899aabbccddeeff", "fingerprint", "ffeeddccbbaa99887766554433221100",
			 "volumes", "name", "vol.img", "backups", 3);
}

static void test_roundtrip(void **state)
{
	(void)state;
	/* Every length mod 3, so every base64 tail is exercised. */
	for (int pad = 0; pad < 3; pad++) {
		json_t *doc = sample();
		char extra[4] = "xxx";
		extra[pad] = 0;
		json_object_set_new(doc, "host", json_string(extra));
		char *tok = NULL;
		assert_int_equal(cairn_dr_token_encode(doc, &tok), 0);
		assert_non_null(strstr(tok, CAIRN_DR_TOKEN_PREFIX) == tok ? tok : NULL);
		assert_null(strchr(tok, '\n'));
		assert_null(strchr(tok, '='));
		json_t *back = NULL;
		char sum[CAIRN_DR_TOKEN_SUM_HEX + 1];
		assert_int_equal(cairn_dr_token_decode(tok, &back, sum), 0);
		assert_true(json_equal(doc, back));
		assert_string_equal(sum, strrchr(tok, '.') + 1);
		/* A wrapped paste (line breaks, blanks) still reads. */
		size_t n = strlen(tok);
		char *wrapped = malloc(n * 2 + 4);
		size_t o = 0;
		for (size_t i = 0; i < n; i++) {
			wrapped[o++] = tok[i];
			if (i % 40 == 39)
				wrapped[o++] = '\n';
		}
		wrapped[o] = 0;
		json_t *w = NULL;
		assert_int_equal(cairn_dr_token_decode(wrapped, &w, NULL), 0);
		assert_true(json_equal(doc, w));
		json_decref(w);
		free(wrapped);
		json_decref(back);
		json_decref(doc);
		free(tok);
	}
}

static void expect_refused(const char *tok, const char *why)
{
	json_t *doc = NULL;
	assert_int_equal(cairn_dr_token_decode(tok, &doc, NULL), CAIRN_EINVAL);
	assert_null(doc);
	if (!strstr(cairn_error_message(), why))
		fail_msg("'%s' does not say '%s'", cairn_error_message(), why);
	cairn_error_clear();
}

static void test_refused(void **state)
{
	(void)state;
	json_t *doc = sample();
	char *tok = NULL;
	assert_int_equal(cairn_dr_token_encode(doc, &tok), 0);
	size_t n = strlen(tok);
	/* Cut anywhere: refused, never half-read. */
	for (size_t cut = strlen(CAIRN_DR_TOKEN_PREFIX); cut < n; cut += 7) {
		char *t = strndup(tok, cut);
		expect_refused(t, "truncated or damaged");
		free(t);
	}
	/* One character changed, in the body or in the checksum. */
	for (size_t at = strlen(CAIRN_DR_TOKEN_PREFIX); at < n; at += 5) {
		if (tok[at] == '.')
			continue;
		char *t = strdup(tok);
		t[at] = t[at] == 'A' ? 'B' : t[at] == '0' ? '1' : 'A';
		expect_refused(t, "truncated or damaged");
		free(t);
	}
	expect_refused("", "not an export token");
	expect_refused("hello", "not an export token");
	char *v9 = strdup(tok);
	v9[5] = '9';
	expect_refused(v9, "version 'cairn9' is not known");
	free(v9);
	/* A checksummed document of another version. */
	json_object_set_new(doc, "v", json_integer(2));
	char *t2 = NULL;
	assert_int_equal(cairn_dr_token_encode(doc, &t2), 0);
	expect_refused(t2, "document version 2");
	free(t2);
	json_decref(doc);
	free(tok);
}

static void uri_is(const char *in, const char *want)
{
	char *out = NULL;
	assert_int_equal(cairn_dr_uri_public(in, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

static void test_uri_public(void **state)
{
	(void)state;
	uri_is("s3://bucket/prefix", "s3://bucket/prefix");
	uri_is("s3://bucket/p?endpoint=http%3A%2F%2F127.0.0.1%3A7480&region=us-east-1",
	       "s3://bucket/p?endpoint=http%3A%2F%2F127.0.0.1%3A7480&region=us-east-1");
	/* Secrets in the query go; so does user info, here and in the endpoint. */
	uri_is("azure://acct/cont/p?sig=SECRET&endpoint=http%3A%2F%2Fu%3Apw%40h%3A10000%2Fdevstoreaccount1%3Fsv%3DX",
	       "azure://acct/cont/p?endpoint=http%3A%2F%2Fh%3A10000%2Fdevstoreaccount1");
	uri_is("s3://user:pass@bucket/p?secret_key=S&max_keys=5", "s3://bucket/p?max_keys=5");
	uri_is("gs://b/p#frag", "gs://b/p");
	uri_is("/no/such/dir/repo", "/no/such/dir/repo");
	uri_is("file:///no/such/repo", "/no/such/repo");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_uri_public),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
