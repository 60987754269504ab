/* state/cred: validation, round trips, encryption at rest, the state key,
 * tampering, references, immutability, and turning a credential into store
 * options for a URI. */
#include "helpers.h"

#include "crypto/crypto.h"
#include "state/cred.h"
#include "util/cleanup.h"

#include <dirent.h>
#include <regex.h>
#include <time.h>

#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETs3"
#define AZ_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define AZ_SAS "sv=2022-11-02&ss=b&srt=sco&sp=rwdlac&se=2030-01-01T00:00:00Z&sig=SASsecretSIGvalue%3D"
#define GOOG_SECRET "bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ"
#define PASSPHRASE "credential passphrase: correct horse"

static void reopen(struct th_state_fx *f)
{
	cairn_state_free(f->st);
	f->st = NULL;
	ck_ok(cairn_state_open(f->dir, NULL, &f->st));
}

static char *path_in(const char *dir, const char *name)
{
	static char buf[PATH_MAX];
	int n = snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	return buf;
}

/* Credentials whose strings are literals (not to be freed). */
static struct cairn_cred s3_cred(void)
{
	return (struct cairn_cred){ .provider = CAIRN_CRED_S3,
				    .s3_access_key = "AKIAEXAMPLEACCESS",
				    .s3_secret_key = S3_SECRET,
				    .s3_region = "eu-west-3",
				    .s3_endpoint = "http://127.0.0.1:8080",
				    .s3_disable_ssl = true,
				    .passphrase = PASSPHRASE };
}

static struct cairn_cred azure_cred(void)
{
	return (struct cairn_cred){ .provider = CAIRN_CRED_AZURE, .azure_account = "devstoreaccount1", .azure_key = AZ_KEY };
}

static struct cairn_cred google_cred(void)
{
	return (struct cairn_cred){ .provider = CAIRN_CRED_GOOGLE,
				    .google_project_id = "my-project-123",
				    .google_access_key = "GOOG1EXAMPLEACCESSID",
				    .google_secret = GOOG_SECRET };
}

static void create(struct th_state_fx *f, const struct cairn_cred *c, char uuid[CAIRN_CRED_UUID_LEN + 1])
{
	ck_ok(cairn_cred_create(f->st, c, uuid));
}

/* Whether any file of the state directory contains needle. */
static bool dir_contains(const char *dir, const void *needle, size_t n)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	bool found = false;
	for (struct dirent *e; !found && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		size_t len;
		uint8_t *p = th_read_file(path_in(dir, e->d_name), &len);
		found = memmem(p, len, needle, n) != NULL;
		free(p);
	}
	closedir(d);
	return found;
}

/* ---- validation ---- */

static void test_validate(void **state)
{
	(void)state;
	struct cairn_cred c;
	c = s3_cred();
	ck_ok(cairn_cred_validate(&c));
	c = azure_cred();
	ck_ok(cairn_cred_validate(&c));
	c = google_cred();
	ck_ok(cairn_cred_validate(&c));
	c = azure_cred();
	c.azure_key = NULL;
	c.azure_sas = AZ_SAS;
	ck_ok(cairn_cred_validate(&c));
	c = s3_cred();
	c.s3_endpoint = "minio.local:9000";
	c.s3_disable_ssl = false;
	c.name = "prod-eu_1.backup";
	ck_ok(cairn_cred_validate(&c));
	c = azure_cred();
	c.azure_endpoint = "http://127.0.0.1:10000/devstoreaccount1";
	c.azure_disable_ssl = true;
	ck_ok(cairn_cred_validate(&c));

	/* Each bad credential and a word its message must contain. */
	struct {
		struct cairn_cred c;
		const char *want;
	} bad[] = {
		{ { .provider = CAIRN_CRED_NONE }, "--provider" },
		{ { .provider = CAIRN_CRED_S3, .s3_secret_key = S3_SECRET }, "--s3-access-key" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK" }, "--s3-secret-key" },
		{ { .provider = CAIRN_CRED_AZURE, .azure_key = AZ_KEY }, "--azure-account-name" },
		{ { .provider = CAIRN_CRED_AZURE, .azure_account = "acct" }, "--azure-account-key or --azure-sas" },
		{ { .provider = CAIRN_CRED_AZURE, .azure_account = "acct", .azure_key = AZ_KEY, .azure_sas = AZ_SAS },
		  "not both" },
		{ { .provider = CAIRN_CRED_AZURE, .azure_account = "Bad_Name", .azure_key = AZ_KEY },
		  "--azure-account-name" },
		{ { .provider = CAIRN_CRED_AZURE, .azure_account = "acct", .azure_key = "not base64!" },
		  "--azure-account-key" },
		{ { .provider = CAIRN_CRED_AZURE, .azure_account = "acct", .azure_sas = "?sv=1&sig=x" }, "--azure-sas" },
		{ { .provider = CAIRN_CRED_AZURE, .azure_account = "acct", .azure_sas = "sv=1&sp=r" }, "--azure-sas" },
		{ { .provider = CAIRN_CRED_GOOGLE, .google_access_key = "G", .google_secret = GOOG_SECRET },
		  "--google-project-id" },
		{ { .provider = CAIRN_CRED_GOOGLE, .google_project_id = "p", .google_secret = GOOG_SECRET },
		  "--google-hmac-access-key" },
		{ { .provider = CAIRN_CRED_GOOGLE, .google_project_id = "p", .google_access_key = "G" },
		  "--google-hmac-secret" },
		/* Fields of another provider. */
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = S3_SECRET, .azure_sas = AZ_SAS },
		  "--azure-sas does not apply to --provider s3" },
		{ { .provider = CAIRN_CRED_AZURE, .azure_account = "acct", .azure_key = AZ_KEY, .s3_region = "r" },
		  "--s3-region does not apply" },
		{ { .provider = CAIRN_CRED_GOOGLE, .google_project_id = "p", .google_access_key = "G",
		    .google_secret = GOOG_SECRET, .s3_disable_ssl = true },
		  "--s3-disable-ssl" },
		/* Malformed values. */
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "", .s3_secret_key = S3_SECRET }, "empty" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = "with space" }, "--s3-secret-key" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "A\nK", .s3_secret_key = S3_SECRET }, "control" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = S3_SECRET,
		    .s3_endpoint = "ftp://host" },
		  "--s3-endpoint" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = S3_SECRET,
		    .s3_endpoint = "https://" },
		  "--s3-endpoint" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = S3_SECRET,
		    .s3_endpoint = "https://h", .s3_disable_ssl = true },
		  "contradicts" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = S3_SECRET,
		    .s3_endpoint = "http://h:9000" },
		  "plain http://: add --s3-disable-ssl" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = S3_SECRET, .s3_region = "eu west" },
		  "--s3-region" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = S3_SECRET, .passphrase = "" },
		  "--encryption-passphrase" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = S3_SECRET, .name = "a b" },
		  "--name" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = S3_SECRET, .name = "-x" },
		  "--name" },
		/* Azure endpoints and their http flag. */
		{ { .provider = CAIRN_CRED_AZURE, .azure_account = "acct", .azure_key = AZ_KEY,
		    .azure_endpoint = "http://127.0.0.1:10000/acct" },
		  "--azure-endpoint is plain http://: add --azure-disable-ssl" },
		{ { .provider = CAIRN_CRED_AZURE, .azure_account = "acct", .azure_key = AZ_KEY, .azure_disable_ssl = true },
		  "--azure-disable-ssl needs an http:// --azure-endpoint" },
		{ { .provider = CAIRN_CRED_AZURE, .azure_account = "acct", .azure_key = AZ_KEY,
		    .azure_endpoint = "https://h/a b" },
		  "--azure-endpoint" },
		{ { .provider = CAIRN_CRED_AZURE, .azure_account = "acct", .azure_key = AZ_KEY,
		    .azure_endpoint = "https://h/a%2Fb" },
		  "-._~/" },
		{ { .provider = CAIRN_CRED_AZURE, .azure_account = "acct", .azure_key = AZ_KEY,
		    .azure_endpoint = "https://user@h" },
		  "no user, query" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = S3_SECRET,
		    .s3_endpoint = "https://h?sig=x" },
		  "no user, query" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = S3_SECRET, .azure_disable_ssl = true },
		  "--azure-disable-ssl does not apply to --provider s3" },
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = S3_SECRET,
		    .azure_endpoint = "https://h" },
		  "--azure-endpoint does not apply" },
		/* A name that looks like a UUID prefix. */
		{ { .provider = CAIRN_CRED_S3, .s3_access_key = "AK", .s3_secret_key = S3_SECRET, .name = "dead-beef" },
		  "UUID" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cairn_error_clear();
		int r = cairn_cred_validate(&bad[i].c);
		if (r != CAIRN_EINVAL)
			fail_msg("case %zu: validate = %d, expected EINVAL", i, r);
		const char *msg = cairn_error_message();
		if (!strstr(msg, bad[i].want))
			fail_msg("case %zu: message '%s' lacks '%s'", i, msg, bad[i].want);
		/* Messages name options, never values. */
		static const char *const secrets[] = { S3_SECRET, AZ_KEY, AZ_SAS, GOOG_SECRET, "with space",
						       "not base64!", "sig=x" };
		for (size_t k = 0; k < ARRAY_SIZE(secrets); k++)
			if (strstr(msg, secrets[k]))
				fail_msg("case %zu: message '%s' shows a secret", i, msg);
	}
	/* Too long. */
	char *big = malloc(CAIRN_CRED_FIELD_MAX + 2);
	assert_non_null(big);
	memset(big, 'k', CAIRN_CRED_FIELD_MAX + 1);
	big[CAIRN_CRED_FIELD_MAX + 1] = 0;
	c = s3_cred();
	c.s3_secret_key = big;
	ck_err(cairn_cred_validate(&c), CAIRN_EINVAL);
	assert_non_null(strstr(cairn_error_message(), "longer"));
	free(big);
}

static void test_provider_names(void **state)
{
	(void)state;
	enum cairn_cred_provider p;
	ck_ok(cairn_cred_provider_parse("s3", &p));
	assert_int_equal(p, CAIRN_CRED_S3);
	ck_ok(cairn_cred_provider_parse("azure", &p));
	assert_int_equal(p, CAIRN_CRED_AZURE);
	ck_ok(cairn_cred_provider_parse("google", &p));
	assert_int_equal(p, CAIRN_CRED_GOOGLE);
	ck_err(cairn_cred_provider_parse("S3", &p), CAIRN_EINVAL);
	ck_err(cairn_cred_provider_parse("gcs", &p), CAIRN_EINVAL);
	ck_err(cairn_cred_provider_parse(NULL, &p), CAIRN_EINVAL);
	assert_string_equal(cairn_cred_provider_name(CAIRN_CRED_GOOGLE), "google");
	assert_string_equal(cairn_cred_provider_name(CAIRN_CRED_NONE), "");
}

/* ---- round trips ---- */

static void check_uuid_v4(const char *u)
{
	regex_t re;
	assert_int_equal(regcomp(&re, "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	if (regexec(&re, u, 0, NULL, 0) != 0)
		fail_msg("'%s' is not a version-4 UUID", u);
	regfree(&re);
}

static void test_round_trip(void **state)
{
	struct th_state_fx *f = *state;
	char u1[CAIRN_CRED_UUID_LEN + 1], u2[CAIRN_CRED_UUID_LEN + 1], u3[CAIRN_CRED_UUID_LEN + 1],
		u4[CAIRN_CRED_UUID_LEN + 1];
	struct cairn_cred c1 = s3_cred(), c2 = azure_cred(), c3 = google_cred(), c4 = azure_cred();
	c1.name = "prod";
	c4.azure_key = NULL;
	c4.azure_sas = AZ_SAS;
	c4.azure_endpoint = "http://127.0.0.1:10000/devstoreaccount1";
	c4.azure_disable_ssl = true;
	int64_t before = (int64_t)time(NULL);
	create(f, &c1, u1);
	create(f, &c2, u2);
	create(f, &c3, u3);
	create(f, &c4, u4);
	check_uuid_v4(u1);
	check_uuid_v4(u2);
	assert_string_not_equal(u1, u2);
	reopen(f);

	/* list: every credential, oldest first, no secrets. */
	struct cairn_cred *v = NULL;
	size_t n = 0;
	ck_ok(cairn_cred_list(f->st, &v, &n));
	assert_int_equal(n, 4);
	assert_string_equal(v[0].uuid, u1);
	assert_string_equal(v[1].uuid, u2);
	assert_string_equal(v[2].uuid, u3);
	assert_string_equal(v[3].uuid, u4);
	assert_string_equal(v[0].name, "prod");
	assert_null(v[1].name);
	assert_int_equal(v[0].provider, CAIRN_CRED_S3);
	assert_string_equal(v[0].s3_access_key, "AKIAEXAMPLEACCESS");
	assert_string_equal(v[0].s3_region, "eu-west-3");
	assert_string_equal(v[0].s3_endpoint, "http://127.0.0.1:8080");
	assert_true(v[0].s3_disable_ssl);
	assert_true(v[0].has_passphrase);
	assert_false(v[1].has_passphrase);
	assert_true(v[1].has_azure_key && !v[1].has_azure_sas);
	assert_true(!v[3].has_azure_key && v[3].has_azure_sas);
	assert_null(v[1].azure_endpoint);
	assert_false(v[1].azure_disable_ssl);
	assert_string_equal(v[3].azure_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
	assert_true(v[3].azure_disable_ssl);
	assert_string_equal(v[2].google_project_id, "my-project-123");
	assert_string_equal(v[2].google_access_key, "GOOG1EXAMPLEACCESSID");
	assert_true(v[0].created >= before && v[0].created <= (int64_t)time(NULL));
	for (size_t i = 0; i < n; i++) {
		assert_null(v[i].s3_secret_key);
		assert_null(v[i].azure_key);
		assert_null(v[i].azure_sas);
		assert_null(v[i].google_secret);
		assert_null(v[i].passphrase);
	}
	cairn_cred_list_free(v, n);

	/* get with secrets: all of them back. */
	struct cairn_cred *g = NULL;
	ck_ok(cairn_cred_get(f->st, u1, true, &g));
	assert_string_equal(g->s3_secret_key, S3_SECRET);
	assert_string_equal(g->passphrase, PASSPHRASE);
	assert_string_equal(g->s3_access_key, "AKIAEXAMPLEACCESS");
	cairn_cred_free(g);
	ck_ok(cairn_cred_get(f->st, u2, true, &g));
	assert_string_equal(g->azure_key, AZ_KEY);
	assert_string_equal(g->azure_account, "devstoreaccount1");
	assert_null(g->azure_sas);
	assert_null(g->passphrase);
	cairn_cred_free(g);
	ck_ok(cairn_cred_get(f->st, u3, true, &g));
	assert_string_equal(g->google_secret, GOOG_SECRET);
	cairn_cred_free(g);
	ck_ok(cairn_cred_get(f->st, u4, true, &g));
	assert_string_equal(g->azure_sas, AZ_SAS);
	cairn_cred_free(g);
	/* Without secrets. */
	ck_ok(cairn_cred_get(f->st, u1, false, &g));
	assert_null(g->s3_secret_key);
	assert_true(g->has_passphrase);
	cairn_cred_free(g);
	cairn_cred_free(NULL);
	cairn_cred_list_free(NULL, 0);

	/* An invalid credential stores nothing. */
	struct cairn_cred bad = s3_cred();
	bad.s3_secret_key = NULL;
	ck_err(cairn_cred_create(f->st, &bad, u1), CAIRN_EINVAL);
	ck_ok(cairn_cred_list(f->st, &v, &n));
	assert_int_equal(n, 4);
	cairn_cred_list_free(v, n);
}

static void test_duplicate_name(void **state)
{
	struct th_state_fx *f = *state;
	char u[CAIRN_CRED_UUID_LEN + 1], u2[CAIRN_CRED_UUID_LEN + 1];
	struct cairn_cred c = s3_cred();
	c.name = "same";
	create(f, &c, u);
	ck_err(cairn_cred_create(f->st, &c, u2), CAIRN_EEXIST);
	assert_non_null(strstr(cairn_error_message(), "same"));
	assert_null(strstr(cairn_error_message(), S3_SECRET));
	struct cairn_cred *v = NULL;
	size_t n = 0;
	ck_ok(cairn_cred_list(f->st, &v, &n));
	assert_int_equal(n, 1);
	cairn_cred_list_free(v, n);
}

/* ---- encryption at rest ---- */

static void test_secrets_encrypted_at_rest(void **state)
{
	struct th_state_fx *f = *state;
	char u[CAIRN_CRED_UUID_LEN + 1];
	struct cairn_cred a = s3_cred(), b = azure_cred(), c = google_cred(), d = azure_cred();
	d.azure_key = NULL;
	d.azure_sas = AZ_SAS;
	create(f, &a, u);
	create(f, &b, u);
	create(f, &c, u);
	create(f, &d, u);
	/* While open (WAL present) and after close (checkpointed). */
	for (int pass = 0; pass < 2; pass++) {
		static const char *const secrets[] = { S3_SECRET, AZ_KEY, AZ_SAS, GOOG_SECRET, PASSPHRASE };
		for (size_t i = 0; i < ARRAY_SIZE(secrets); i++)
			if (dir_contains(f->dir, secrets[i], strlen(secrets[i])))
				fail_msg("pass %d: a state file contains '%s' in the clear", pass, secrets[i]);
		/* The search works: non-secret columns are plaintext. */
		assert_true(dir_contains(f->dir, "AKIAEXAMPLEACCESS", 17));
		assert_true(dir_contains(f->dir, "GOOG1EXAMPLEACCESSID", 20));
		cairn_state_free(f->st);
		f->st = NULL;
	}
	assert_int_not_equal(access(path_in(f->dir, "state.db-wal"), F_OK), 0);
	reopen(f);
}

static void test_delete_overwrites_sealed_bytes(void **state)
{
	struct th_state_fx *f = *state;
	char u[CAIRN_CRED_UUID_LEN + 1];
	struct cairn_cred a = s3_cred();
	create(f, &a, u);
	/* The sealed secret as stored. */
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(cairn_state_db(f->st), "SELECT s3_secret_key FROM credentials", -1, &s,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	size_t n = (size_t)sqlite3_column_bytes(s, 0);
	uint8_t *sealed = malloc(n);
	assert_non_null(sealed);
	memcpy(sealed, sqlite3_column_blob(s, 0), n);
	sqlite3_finalize(s);
	reopen(f);
	assert_true(dir_contains(f->dir, sealed, n));
	ck_ok(cairn_cred_delete(f->st, u, NULL));
	cairn_state_free(f->st);
	f->st = NULL;
	assert_false(dir_contains(f->dir, sealed, n));
	free(sealed);
	reopen(f);
}

/* ---- the state key ---- */

static void test_wrong_or_missing_key(void **state)
{
	struct th_state_fx *f = *state;
	char u[CAIRN_CRED_UUID_LEN + 1], u2[CAIRN_CRED_UUID_LEN + 1];
	struct cairn_cred a = s3_cred();
	create(f, &a, u);
	struct cairn_cred *g = NULL;
	char keypath[PATH_MAX];
	snprintf(keypath, sizeof(keypath), "%s", path_in(f->dir, "secret.key"));

	/* Another key: "sealed with another key", not "damaged". */
	uint8_t other[CAIRN_STATE_KEY_LEN];
	th_fill(other, sizeof(other), 99);
	size_t len;
	uint8_t *orig = th_read_file(keypath, &len);
	th_write_file(keypath, other, sizeof(other));
	reopen(f);
	ck_err(cairn_cred_get(f->st, u, true, &g), CAIRN_EPERM);
	assert_non_null(strstr(cairn_error_message(), u));
	assert_non_null(strstr(cairn_error_message(), "secret.key"));
	assert_non_null(strstr(cairn_error_message(), "key"));
	/* Listing needs no key. */
	struct cairn_cred *v = NULL;
	size_t n = 0;
	ck_ok(cairn_cred_list(f->st, &v, &n));
	assert_int_equal(n, 1);
	cairn_cred_list_free(v, n);

	/* Missing key: a clear error on reading, and creating is refused
	 * rather than sealing new secrets under a new key. */
	assert_int_equal(unlink(keypath), 0);
	reopen(f);
	ck_err(cairn_cred_get(f->st, u, true, &g), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_message(), "missing"));
	assert_non_null(strstr(cairn_error_message(), "CAIRN_STATE_KEY_FILE"));
	ck_err(cairn_cred_create(f->st, &a, u2), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_message(), "1 stored credential"));
	assert_int_not_equal(access(keypath, F_OK), 0);

	/* A damaged key file. */
	th_write_file(keypath, orig, 31);
	reopen(f);
	ck_err(cairn_cred_get(f->st, u, true, &g), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), "31 bytes"));

	/* The right key again: everything opens. */
	th_write_file(keypath, orig, len);
	reopen(f);
	ck_ok(cairn_cred_get(f->st, u, true, &g));
	assert_string_equal(g->s3_secret_key, S3_SECRET);
	cairn_cred_free(g);
	free(orig);

	/* Once the credentials sealed with a lost key are deleted, a new key
	 * may be made. */
	assert_int_equal(unlink(keypath), 0);
	reopen(f);
	ck_ok(cairn_cred_delete(f->st, u, NULL));
	create(f, &a, u2);
	ck_ok(cairn_cred_get(f->st, u2, true, &g));
	cairn_cred_free(g);
}

static void test_key_file_param(void **state)
{
	struct th_state_fx *f = *state;
	char kdir[PATH_MAX], kpath[PATH_MAX], u[CAIRN_CRED_UUID_LEN + 1];
	th_tmpdir(kdir, sizeof(kdir), "cred-key");
	snprintf(kpath, sizeof(kpath), "%s", path_in(kdir, "k"));
	struct cairn_state_params p = { .key_file = kpath };
	cairn_state_free(f->st);
	ck_ok(cairn_state_open(f->dir, &p, &f->st));
	struct cairn_cred a = s3_cred();
	create(f, &a, u);
	assert_int_equal(access(kpath, F_OK), 0);
	assert_int_not_equal(access(path_in(f->dir, "secret.key"), F_OK), 0);
	/* Opened without the parameter, the key is not found. */
	reopen(f);
	struct cairn_cred *g = NULL;
	ck_err(cairn_cred_get(f->st, u, true, &g), CAIRN_ENOTFOUND);
	cairn_state_free(f->st);
	ck_ok(cairn_state_open(f->dir, &p, &f->st));
	ck_ok(cairn_cred_get(f->st, u, true, &g));
	cairn_cred_free(g);
	th_rm_rf(kdir);
}

/* ---- tampering ---- */

static void sql(struct th_state_fx *f, const char *q)
{
	char *err = NULL;
	if (sqlite3_exec(cairn_state_db(f->st), q, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", q, err);
}

static void test_tampered_ciphertext_refused(void **state)
{
	struct th_state_fx *f = *state;
	char u1[CAIRN_CRED_UUID_LEN + 1], u2[CAIRN_CRED_UUID_LEN + 1], q[512];
	struct cairn_cred a = s3_cred(), b = s3_cred();
	b.s3_secret_key = "another/secret/key/for/cred/two";
	create(f, &a, u1);
	create(f, &b, u2);
	struct cairn_cred *g = NULL;
	/* An attacker with write access to the database drops the trigger. */
	sql(f, "DROP TRIGGER credentials_immutable");

	/* Two bytes of the ciphertext swapped. */
	snprintf(q, sizeof(q),
		 "UPDATE credentials SET s3_secret_key = CAST(substr(s3_secret_key, 2, 1) ||"
		 " substr(s3_secret_key, 1, 1) || substr(s3_secret_key, 3) AS BLOB) WHERE uuid = '%s'",
		 u1);
	sql(f, q);
	ck_err(cairn_cred_get(f->st, u1, true, &g), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), u1));
	assert_non_null(strstr(cairn_error_message(), "s3-secret-key"));
	assert_non_null(strstr(cairn_error_message(), "altered or damaged"));

	/* A sealed value moved to another credential (AAD binds the UUID). */
	snprintf(q, sizeof(q),
		 "UPDATE credentials SET s3_secret_key = (SELECT s3_secret_key FROM credentials WHERE uuid = '%s'),"
		 " passphrase = NULL WHERE uuid = '%s'",
		 u2, u1);
	sql(f, q);
	ck_err(cairn_cred_get(f->st, u1, true, &g), CAIRN_ECORRUPT);
	/* ... or to another column of the same one (AAD binds the field). */
	snprintf(q, sizeof(q), "UPDATE credentials SET s3_secret_key = passphrase WHERE uuid = '%s'", u2);
	sql(f, q);
	ck_err(cairn_cred_get(f->st, u2, true, &g), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), u2));
	/* Truncated. */
	snprintf(q, sizeof(q), "UPDATE credentials SET s3_secret_key = x'0102' WHERE uuid = '%s'", u2);
	sql(f, q);
	ck_err(cairn_cred_get(f->st, u2, true, &g), CAIRN_ECORRUPT);
	/* A swapped key id is reported as another key, not used. */
	snprintf(q, sizeof(q), "UPDATE credentials SET key_id = '0000000000000000' WHERE uuid = '%s'", u2);
	sql(f, q);
	ck_err(cairn_cred_get(f->st, u2, true, &g), CAIRN_EPERM);
	/* Without secrets, the non-secret fields still read. */
	ck_ok(cairn_cred_get(f->st, u2, false, &g));
	cairn_cred_free(g);
}

/* Editing what a credential's secrets are bound to (its endpoint, SSL
 * flag, Azure account, provider or any other non-secret field but the
 * name) makes them fail to open, instead of redirecting them. */
static void test_binding_sealed(void **state)
{
	struct th_state_fx *f = *state;
	struct cairn_cred s3 = s3_cred(), az = azure_cred();
	s3.s3_endpoint = "https://minio.example:9000";
	s3.s3_disable_ssl = false;
	az.azure_key = NULL;
	az.azure_sas = AZ_SAS;
	static const struct {
		bool azure;
		const char *set;
	} edits[] = {
		{ false, "s3_endpoint = 'http://127.0.0.1:9'" },
		{ false, "s3_endpoint = NULL" },
		{ false, "s3_disable_ssl = 1" },
		{ false, "s3_region = 'us-east-2'" },
		{ false, "s3_access_key = 'AKIAOTHER'" },
		{ false, "provider = 'google'" },
		{ true, "azure_endpoint = 'http://127.0.0.1:9/devstoreaccount1', azure_disable_ssl = 1" },
		{ true, "azure_disable_ssl = 1" },
		{ true, "azure_account = 'attacker'" },
	};
	sql(f, "DROP TRIGGER credentials_immutable");
	for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
		char u[CAIRN_CRED_UUID_LEN + 1], q[512];
		struct cairn_cred *g = NULL;
		create(f, edits[i].azure ? &az : &s3, u);
		ck_ok(cairn_cred_get(f->st, u, true, &g));
		cairn_cred_free(g);
		g = NULL;
		snprintf(q, sizeof(q), "UPDATE credentials SET %s WHERE uuid = '%s'", edits[i].set, u);
		sql(f, q);
		int r = cairn_cred_get(f->st, u, true, &g);
		if (r != CAIRN_ECORRUPT)
			fail_msg("after SET %s: get = %s, want ECORRUPT", edits[i].set, cairn_error_name(r));
		const char *msg = cairn_error_message();
		assert_non_null(strstr(msg, u));
		assert_non_null(strstr(msg, "fails authentication"));
		assert_non_null(strstr(msg, "endpoint, SSL flag"));
		assert_null(strstr(msg, S3_SECRET));
		assert_null(strstr(msg, AZ_SAS));
		/* The fields alone still read (cred list works). */
		ck_ok(cairn_cred_get(f->st, u, false, &g));
		cairn_cred_free(g);
	}
	/* The name is only a label. */
	char u[CAIRN_CRED_UUID_LEN + 1], q[256];
	struct cairn_cred *g = NULL;
	create(f, &s3, u);
	snprintf(q, sizeof(q), "UPDATE credentials SET name = 'renamed' WHERE uuid = '%s'", u);
	sql(f, q);
	ck_ok(cairn_cred_get(f->st, "renamed", true, &g));
	assert_string_equal(g->s3_secret_key, S3_SECRET);
	cairn_cred_free(g);
	/* A seal this cairn does not know is refused, not guessed. */
	snprintf(q, sizeof(q), "UPDATE credentials SET seal = 3 WHERE uuid = '%s'", u);
	sql(f, q);
	ck_err(cairn_cred_get(f->st, u, true, &g), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), "unknown seal 3"));
	/* Nor is a bound row passed off as one of the old unbound kind. */
	snprintf(q, sizeof(q), "UPDATE credentials SET seal = 1 WHERE uuid = '%s'", u);
	sql(f, q);
	ck_err(cairn_cred_get(f->st, u, true, &g), CAIRN_ECORRUPT);
}

static int64_t scalar(struct th_state_fx *f, const char *q)
{
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(cairn_state_db(f->st), q, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* A row as the cairn before endpoint binding stored it (seal 1: the
 * additional data is "<uuid>/<column>"), sealed with the same label and
 * state key. */
static void insert_unbound(struct th_state_fx *f, const char *uuid, const char *name, const char *endpoint,
			   const char *secret)
{
	const char *kid;
	uint8_t *sealed = NULL;
	size_t len;
	char aad[128];
	ck_ok(cairn_state_key_id(f->st, true, &kid));
	snprintf(aad, sizeof(aad), "%s/s3_secret_key", uuid);
	ck_ok(cairn_state_seal(f->st, "cairn state: credentials v1", aad, strlen(aad), secret, strlen(secret), &sealed,
			       &len));
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(cairn_state_db(f->st),
					    "INSERT INTO credentials (uuid, name, provider, created, key_id,"
					    " s3_access_key, s3_endpoint, s3_disable_ssl, s3_secret_key, seal)"
					    " VALUES (?, ?, 's3', 1000, ?, 'AKIAOLD', ?, 1, ?, 1)",
					    -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, kid, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, sealed, (int)len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	free(sealed);
}

/* Credentials of the previous cairn open, and are sealed again, bound, on
 * first use: same UUID, name, creation time and place in the list; after
 * that, a changed endpoint no longer opens. */
static void test_unbound_resealed(void **state)
{
	struct th_state_fx *f = *state;
	const char *u1 = "11111111-1111-4111-8111-111111111111", *u2 = "22222222-2222-4222-8222-222222222222";
	char u3[CAIRN_CRED_UUID_LEN + 1], q[256];
	insert_unbound(f, u1, "old-one", "http://127.0.0.1:8080", S3_SECRET);
	insert_unbound(f, u2, "old-two", "http://127.0.0.1:8081", "second/secret");
	struct cairn_cred c = s3_cred();
	create(f, &c, u3);
	assert_int_equal(scalar(f, "SELECT count(*) FROM credentials WHERE seal = 1"), 2);
	int64_t rowid = scalar(f, "SELECT rowid FROM credentials WHERE name = 'old-one'");

	/* Without secrets nothing changes. */
	struct cairn_cred *g = NULL;
	ck_ok(cairn_cred_get(f->st, u1, false, &g));
	cairn_cred_free(g);
	assert_int_equal(scalar(f, "SELECT count(*) FROM credentials WHERE seal = 1"), 2);
	/* With secrets: the right secret, and the row is bound now. */
	ck_ok(cairn_cred_get(f->st, "old-one", true, &g));
	assert_string_equal(g->s3_secret_key, S3_SECRET);
	assert_string_equal(g->s3_endpoint, "http://127.0.0.1:8080");
	assert_int_equal(g->created, 1000);
	cairn_cred_free(g);
	assert_int_equal(scalar(f, "SELECT seal FROM credentials WHERE name = 'old-one'"), 2);
	assert_int_equal(scalar(f, "SELECT seal FROM credentials WHERE name = 'old-two'"), 1);
	assert_int_equal(scalar(f, "SELECT rowid FROM credentials WHERE name = 'old-one'"), rowid);
	struct cairn_cred *v = NULL;
	size_t n = 0;
	ck_ok(cairn_cred_list(f->st, &v, &n));
	assert_int_equal(n, 3);
	assert_string_equal(v[0].uuid, u1);
	assert_string_equal(v[1].uuid, u2);
	assert_string_equal(v[2].uuid, u3);
	cairn_cred_list_free(v, n);
	/* Used again: the same secret, nothing left to do. */
	reopen(f);
	ck_ok(cairn_cred_get(f->st, u1, true, &g));
	assert_string_equal(g->s3_secret_key, S3_SECRET);
	cairn_cred_free(g);
	/* Now its endpoint is bound. */
	sql(f, "DROP TRIGGER credentials_immutable");
	snprintf(q, sizeof(q), "UPDATE credentials SET s3_endpoint = 'http://attacker:80' WHERE uuid = '%s'", u1);
	sql(f, q);
	ck_err(cairn_cred_get(f->st, u1, true, &g), CAIRN_ECORRUPT);
	/* The other old one, through resolve (the implicit choice) as well. */
	snprintf(q, sizeof(q), "DELETE FROM credentials WHERE uuid IN ('%s', '%s')", u1, u3);
	sql(f, q);
	ck_ok(cairn_cred_resolve(f->st, NULL, "s3://bucket/p", &g));
	assert_string_equal(g->uuid, u2);
	assert_string_equal(g->s3_secret_key, "second/secret");
	cairn_cred_free(g);
	assert_int_equal(scalar(f, "SELECT count(*) FROM credentials WHERE seal = 1"), 0);
}

static void test_immutable(void **state)
{
	struct th_state_fx *f = *state;
	char u[CAIRN_CRED_UUID_LEN + 1], q[256];
	struct cairn_cred a = s3_cred();
	create(f, &a, u);
	snprintf(q, sizeof(q), "UPDATE credentials SET s3_region = 'us-east-2' WHERE uuid = '%s'", u);
	char *err = NULL;
	int rc = sqlite3_exec(cairn_state_db(f->st), q, NULL, NULL, &err);
	assert_int_equal(rc & 0xff, SQLITE_CONSTRAINT);
	assert_non_null(strstr(err, "immutable"));
	sqlite3_free(err);
	struct cairn_cred *g = NULL;
	ck_ok(cairn_cred_get(f->st, u, false, &g));
	assert_string_equal(g->s3_region, "eu-west-3");
	cairn_cred_free(g);
}

/* ---- references ---- */

/* Rows with chosen UUIDs (secrets not needed for lookups). */
static void insert_raw(struct th_state_fx *f, const char *uuid, const char *name)
{
	char q[512];
	snprintf(q, sizeof(q),
		 "INSERT INTO credentials (uuid, name, provider, created, key_id, s3_access_key) VALUES"
		 " ('%s', %s%s%s, 's3', 1, '0000000000000000', 'AK')",
		 uuid, name ? "'" : "", name ? name : "NULL", name ? "'" : "");
	sql(f, q);
}

static void test_references(void **state)
{
	struct th_state_fx *f = *state;
	insert_raw(f, "aaaa1111-0000-4000-8000-000000000001", "prod");
	insert_raw(f, "aaaa2222-0000-4000-8000-000000000002", NULL);
	insert_raw(f, "bbbb3333-0000-4000-8000-000000000003", "test.eu");
	struct cairn_cred *g = NULL;

	ck_ok(cairn_cred_get(f->st, "aaaa2222-0000-4000-8000-000000000002", false, &g));
	assert_string_equal(g->uuid, "aaaa2222-0000-4000-8000-000000000002");
	cairn_cred_free(g);
	/* Upper case is the same UUID. */
	ck_ok(cairn_cred_get(f->st, "AAAA2222-0000-4000-8000-000000000002", false, &g));
	assert_string_equal(g->uuid, "aaaa2222-0000-4000-8000-000000000002");
	cairn_cred_free(g);
	ck_ok(cairn_cred_get(f->st, "prod", false, &g));
	assert_string_equal(g->uuid, "aaaa1111-0000-4000-8000-000000000001");
	cairn_cred_free(g);
	ck_ok(cairn_cred_get(f->st, "test.eu", false, &g));
	assert_string_equal(g->name, "test.eu");
	cairn_cred_free(g);
	ck_ok(cairn_cred_get(f->st, "bbbb", false, &g));
	assert_string_equal(g->uuid, "bbbb3333-0000-4000-8000-000000000003");
	cairn_cred_free(g);
	ck_ok(cairn_cred_get(f->st, "aaaa2", false, &g));
	cairn_cred_free(g);

	ck_err(cairn_cred_get(f->st, "aaaa", false, &g), CAIRN_EAMBIGUOUS);
	assert_non_null(strstr(cairn_error_message(), "aaaa"));
	ck_err(cairn_cred_get(f->st, "bbb", false, &g), CAIRN_ENOTFOUND); /* too short */
	assert_non_null(strstr(cairn_error_message(), "at least 4"));
	ck_err(cairn_cred_get(f->st, "cccc", false, &g), CAIRN_ENOTFOUND);
	ck_err(cairn_cred_get(f->st, "Prod", false, &g), CAIRN_ENOTFOUND);
	ck_err(cairn_cred_get(f->st, "aaaa1111-0000-4000-8000-0000000000011", false, &g), CAIRN_ENOTFOUND);
	ck_err(cairn_cred_get(f->st, "", false, &g), CAIRN_EINVAL);
	ck_err(cairn_cred_get(f->st, NULL, false, &g), CAIRN_EINVAL);
	/* SQL wildcards are not wildcards. */
	ck_err(cairn_cred_get(f->st, "aaaa%", false, &g), CAIRN_ENOTFOUND);
	ck_err(cairn_cred_get(f->st, "' OR 1=1 --", false, &g), CAIRN_ENOTFOUND);
}

static void test_delete(void **state)
{
	struct th_state_fx *f = *state;
	insert_raw(f, "aaaa1111-0000-4000-8000-000000000001", "prod");
	insert_raw(f, "aaaa2222-0000-4000-8000-000000000002", NULL);
	char u[CAIRN_CRED_UUID_LEN + 1];
	/* Ambiguous or unknown: nothing deleted. */
	ck_err(cairn_cred_delete(f->st, "aaaa", u), CAIRN_EAMBIGUOUS);
	ck_err(cairn_cred_delete(f->st, "zzzz", u), CAIRN_ENOTFOUND);
	struct cairn_cred *v = NULL;
	size_t n = 0;
	ck_ok(cairn_cred_list(f->st, &v, &n));
	assert_int_equal(n, 2);
	cairn_cred_list_free(v, n);
	ck_ok(cairn_cred_delete(f->st, "prod", u));
	assert_string_equal(u, "aaaa1111-0000-4000-8000-000000000001");
	ck_err(cairn_cred_delete(f->st, "prod", u), CAIRN_ENOTFOUND);
	ck_ok(cairn_cred_delete(f->st, "aaaa", NULL)); /* unique now */
	ck_ok(cairn_cred_list(f->st, &v, &n));
	assert_int_equal(n, 0);
	cairn_cred_list_free(v, n);
}

/* ---- using credentials ---- */

static void test_uri_provider(void **state)
{
	(void)state;
	static const struct {
		const char *uri;
		enum cairn_cred_provider p;
	} cases[] = {
		{ "s3://bucket/prefix", CAIRN_CRED_S3 },
		{ "S3://bucket", CAIRN_CRED_S3 },
		{ "s3://b/p?endpoint=http://127.0.0.1:9000&region=x", CAIRN_CRED_S3 },
		{ "gs://bucket/prefix", CAIRN_CRED_GOOGLE },
		{ "azure://acct/container/prefix", CAIRN_CRED_AZURE },
		{ "/srv/repo", CAIRN_CRED_NONE },
		{ "repo", CAIRN_CRED_NONE },
		{ "file:///srv/repo", CAIRN_CRED_NONE },
		{ "./s3://x", CAIRN_CRED_NONE },
		{ "dir/s3://x", CAIRN_CRED_NONE },
		{ "ftp://host/x", CAIRN_CRED_NONE },
		{ "s3:/bucket", CAIRN_CRED_NONE },
		{ "", CAIRN_CRED_NONE },
		{ NULL, CAIRN_CRED_NONE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (cairn_cred_uri_provider(cases[i].uri) != cases[i].p)
			fail_msg("%s: provider %d, expected %d", cases[i].uri ? cases[i].uri : "(null)",
				 cairn_cred_uri_provider(cases[i].uri), cases[i].p);
}

static void test_store_opts(void **state)
{
	(void)state;
	struct cairn_cred s3 = s3_cred(), az = azure_cred(), gg = google_cred();
	static const struct cairn_store_env env;
	struct cairn_store_opts o = { .connections = 12, .limit_upload = 1 << 20, .env = &env,
				      .s3 = { .access_key = "stale" } };

	s3.name = "prod";
	ck_ok(cairn_cred_store_opts(&s3, "s3://bucket/p", &o));
	assert_string_equal(o.provider, "s3");
	/* The secrets are bound to the credential's endpoint (store/uri.h). */
	assert_ptr_equal(o.cred, s3.uuid);
	assert_string_equal(o.cred_name, "prod");
	assert_string_equal(o.s3.access_key, "AKIAEXAMPLEACCESS");
	assert_string_equal(o.s3.secret_key, S3_SECRET);
	assert_string_equal(o.s3.region, "eu-west-3");
	assert_string_equal(o.endpoint, "http://127.0.0.1:8080");
	assert_true(o.disable_ssl);
	assert_null(o.azure.account);
	/* Transfer options and the environment are the caller's and stay. */
	assert_int_equal(o.connections, 12);
	assert_int_equal(o.limit_upload, 1 << 20);
	assert_ptr_equal(o.env, &env);

	ck_ok(cairn_cred_store_opts(&gg, "gs://bucket", &o));
	assert_string_equal(o.provider, "google");
	assert_string_equal(o.s3.access_key, "GOOG1EXAMPLEACCESSID");
	assert_string_equal(o.s3.secret_key, GOOG_SECRET);
	assert_null(o.s3.region);
	assert_null(o.endpoint);
	assert_false(o.disable_ssl);

	ck_ok(cairn_cred_store_opts(&az, "azure://devstoreaccount1/c/p?endpoint=http://127.0.0.1:10000", &o));
	assert_string_equal(o.provider, "azure");
	assert_ptr_equal(o.cred, az.uuid);
	assert_null(o.cred_name);
	assert_null(o.endpoint);
	assert_false(o.disable_ssl);
	assert_string_equal(o.azure.account, "devstoreaccount1");
	assert_string_equal(o.azure.key, AZ_KEY);
	assert_null(o.azure.sas);
	assert_null(o.s3.access_key);
	assert_int_equal(o.connections, 12);

	/* The URI names another Azure account. */
	ck_err(cairn_cred_store_opts(&az, "azure://otheraccount/c", &o), CAIRN_EINVAL);
	assert_non_null(strstr(cairn_error_message(), "otheraccount"));
	assert_null(strstr(cairn_error_message(), AZ_KEY));

	/* Provider mismatches, in every direction, never echo the URI. */
	const struct cairn_cred *creds[] = { &s3, &az, &gg };
	const char *uris[] = { "s3://b?sig=URISECRET", "azure://devstoreaccount1/c?sig=URISECRET",
			       "gs://b?sig=URISECRET" };
	for (size_t i = 0; i < 3; i++)
		for (size_t k = 0; k < 3; k++) {
			if (i == k)
				continue;
			ck_err(cairn_cred_store_opts(creds[i], uris[k], &o), CAIRN_EINVAL);
			const char *msg = cairn_error_message();
			assert_non_null(strstr(msg, "is for"));
			assert_null(strstr(msg, "URISECRET"));
			assert_null(strstr(msg, S3_SECRET));
		}
	ck_err(cairn_cred_store_opts(&az, "gs://b", &o), CAIRN_EINVAL);
	assert_non_null(strstr(cairn_error_message(), "is for azure, but gs:// repositories need a google credential"));

	/* Local: nothing to fill, with or without a credential. */
	ck_ok(cairn_cred_store_opts(&s3, "/srv/repo", &o));
	assert_null(o.provider);
	assert_null(o.s3.access_key);
	assert_int_equal(o.connections, 12);
	/* No credential: the scheme's provider only, nothing bound. */
	ck_ok(cairn_cred_store_opts(NULL, "s3://b", &o));
	assert_string_equal(o.provider, "s3");
	assert_null(o.s3.access_key);
	assert_null(o.cred);
	/* An Azure credential's own endpoint and flag. */
	az.azure_endpoint = "http://127.0.0.1:10000/devstoreaccount1";
	az.azure_disable_ssl = true;
	ck_ok(cairn_cred_store_opts(&az, "azure://devstoreaccount1/c", &o));
	assert_string_equal(o.endpoint, "http://127.0.0.1:10000/devstoreaccount1");
	assert_true(o.disable_ssl);
}

static void test_resolve(void **state)
{
	struct th_state_fx *f = *state;
	struct cairn_cred *c = (void *)1;
	char us3[CAIRN_CRED_UUID_LEN + 1], us3b[CAIRN_CRED_UUID_LEN + 1], uaz[CAIRN_CRED_UUID_LEN + 1];

	/* Nothing stored: no credential (the driver's defaults), for any URI. */
	ck_ok(cairn_cred_resolve(f->st, NULL, "s3://b", &c));
	assert_null(c);
	ck_ok(cairn_cred_resolve(NULL, NULL, "s3://b", &c));
	assert_null(c);
	ck_err(cairn_cred_resolve(NULL, "prod", "s3://b", &c), CAIRN_ENOTFOUND);
	ck_err(cairn_cred_resolve(f->st, "prod", "s3://b", &c), CAIRN_ENOTFOUND);

	/* One credential: the default for its provider, a clear error for another. */
	struct cairn_cred a = azure_cred();
	create(f, &a, uaz);
	ck_ok(cairn_cred_resolve(f->st, NULL, "azure://devstoreaccount1/c", &c));
	assert_non_null(c);
	assert_string_equal(c->uuid, uaz);
	assert_string_equal(c->azure_key, AZ_KEY); /* with secrets */
	cairn_cred_free(c);
	ck_err(cairn_cred_resolve(f->st, NULL, "s3://b", &c), CAIRN_EINVAL);
	assert_non_null(strstr(cairn_error_message(), uaz));
	assert_non_null(strstr(cairn_error_message(), "s3:// repositories need an s3 credential"));
	/* A local repository needs none, and takes none by default. */
	ck_ok(cairn_cred_resolve(f->st, NULL, "/srv/repo", &c));
	assert_null(c);

	/* An S3 one too: each provider has its default. */
	struct cairn_cred s = s3_cred();
	s.name = "prod";
	create(f, &s, us3);
	ck_ok(cairn_cred_resolve(f->st, NULL, "s3://b", &c));
	assert_string_equal(c->uuid, us3);
	assert_string_equal(c->passphrase, PASSPHRASE);
	cairn_cred_free(c);
	ck_ok(cairn_cred_resolve(f->st, NULL, "azure://x/c", &c));
	assert_string_equal(c->uuid, uaz);
	cairn_cred_free(c);
	ck_err(cairn_cred_resolve(f->st, NULL, "gs://b", &c), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_message(), "none of the 2"));

	/* Two S3 credentials: --cred is needed. */
	struct cairn_cred s2 = s3_cred();
	create(f, &s2, us3b);
	ck_err(cairn_cred_resolve(f->st, NULL, "s3://b", &c), CAIRN_EAMBIGUOUS);
	assert_non_null(strstr(cairn_error_message(), "--cred"));
	ck_ok(cairn_cred_resolve(f->st, us3b, "s3://b", &c));
	assert_string_equal(c->uuid, us3b);
	cairn_cred_free(c);
	ck_ok(cairn_cred_resolve(f->st, "prod", "s3://b", &c));
	assert_string_equal(c->uuid, us3);
	cairn_cred_free(c);
	/* An explicit credential of the wrong provider. */
	ck_err(cairn_cred_resolve(f->st, uaz, "s3://b", &c), CAIRN_EINVAL);
	assert_null(c);
	ck_err(cairn_cred_resolve(f->st, "prod", "gs://b", &c), CAIRN_EINVAL);
	/* An explicit credential for a local repository (its passphrase). */
	ck_ok(cairn_cred_resolve(f->st, "prod", "/srv/repo", &c));
	assert_string_equal(c->passphrase, PASSPHRASE);
	cairn_cred_free(c);
	ck_err(cairn_cred_resolve(f->st, "nosuch", "/srv/repo", &c), CAIRN_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_provider_names),
		cmocka_unit_test_setup_teardown(test_round_trip, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_name, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_secrets_encrypted_at_rest, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_delete_overwrites_sealed_bytes, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_or_missing_key, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_key_file_param, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_tampered_ciphertext_refused, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_binding_sealed, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_unbound_resealed, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_immutable, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_references, th_state_setup, th_state_teardown),
		cmocka_unit_test_setup_teardown(test_delete, th_state_setup, th_state_teardown),
		cmocka_unit_test(test_uri_provider),
		cmocka_unit_test(test_store_opts),
		cmocka_unit_test_setup_teardown(test_resolve, th_state_setup, th_state_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
