/* Key objects (format.h KEY OBJECT) and passphrase management. */
#define TH_WANT_REPO
#include "helpers.h"

#include "repo/repo.h"
#include "util/cleanup.h"
#include "util/hex.h"

#include <time.h>

/* ---- the key object codec ---- */

static void make_key(uint8_t master[32], uint8_t obj[CAIRN_KEY_OBJECT_LEN], const char *pass)
{
	th_fill(master, 32, 5);
	ck_ok(cairn_key_object_make(master, pass, strlen(pass), 10, obj));
}

static void test_key_object_round_trip(void **state)
{
	(void)state;
	uint8_t master[32], obj[CAIRN_KEY_OBJECT_LEN], back[32];
	int64_t before = (int64_t)time(NULL);
	make_key(master, obj, "pass one");
	assert_memory_equal(obj, CAIRN_KEY_MAGIC, CAIRN_MAGIC_LEN);
	struct cairn_key_object k;
	ck_ok(cairn_key_object_parse(obj, sizeof(obj), &k));
	assert_int_equal(k.version, CAIRN_FORMAT_VERSION);
	assert_int_equal(k.log2n, 10);
	assert_int_equal(k.r, CAIRN_SCRYPT_R);
	assert_int_equal(k.p, CAIRN_SCRYPT_P);
	assert_true(k.created >= before && k.created <= (int64_t)time(NULL));
	assert_memory_equal(k.salt, obj + 16, CAIRN_KEY_SALT_LEN);
	assert_int_equal(obj[15], 0); /* reserved */
	ck_ok(cairn_key_object_unwrap(&k, obj, "pass one", 8, back));
	assert_memory_equal(back, master, 32);
	/* The master secret is not in the clear. */
	assert_null(memmem(obj, sizeof(obj), master, 32));

	/* Wrong passphrases, including a prefix and an empty one. */
	ck_err(cairn_key_object_unwrap(&k, obj, "pass two", 8, back), CAIRN_EPASSPHRASE);
	ck_err(cairn_key_object_unwrap(&k, obj, "pass on", 7, back), CAIRN_EPASSPHRASE);
	ck_err(cairn_key_object_unwrap(&k, obj, "", 0, back), CAIRN_EPASSPHRASE);

	/* Two objects for one secret and passphrase differ (random salt). */
	uint8_t obj2[CAIRN_KEY_OBJECT_LEN];
	ck_ok(cairn_key_object_make(master, "pass one", 8, 10, obj2));
	assert_memory_not_equal(obj + 16, obj2 + 16, CAIRN_KEY_SALT_LEN);
}

/* The header is bound into the wrapped secret: changing any header field
 * of a valid object (that still parses) makes unwrapping fail. */
static void test_key_object_header_bound(void **state)
{
	(void)state;
	uint8_t master[32], obj[CAIRN_KEY_OBJECT_LEN], back[32];
	make_key(master, obj, "pw");
	static const size_t at[] = { 14 /* p: 1 -> 3 */, 15 /* reserved */, 16 /* salt */, 47, 48 /* created */,
				     55 };
	for (size_t i = 0; i < ARRAY_SIZE(at); i++) {
		uint8_t t[CAIRN_KEY_OBJECT_LEN];
		memcpy(t, obj, sizeof(t));
		t[at[i]] ^= 2;
		struct cairn_key_object k;
		if (cairn_key_object_parse(t, sizeof(t), &k) < 0)
			continue;
		ck_err(cairn_key_object_unwrap(&k, t, "pw", 2, back), CAIRN_EPASSPHRASE);
	}
	/* The wrapped secret itself. */
	for (size_t i = CAIRN_KEY_HEADER_LEN; i < CAIRN_KEY_OBJECT_LEN; i += 5) {
		uint8_t t[CAIRN_KEY_OBJECT_LEN];
		memcpy(t, obj, sizeof(t));
		t[i] ^= 1;
		struct cairn_key_object k;
		ck_ok(cairn_key_object_parse(t, sizeof(t), &k));
		ck_err(cairn_key_object_unwrap(&k, t, "pw", 2, back), CAIRN_EPASSPHRASE);
	}
}

static void test_key_object_parse_bad(void **state)
{
	(void)state;
	uint8_t master[32], obj[CAIRN_KEY_OBJECT_LEN + 1];
	make_key(master, obj, "pw");
	obj[CAIRN_KEY_OBJECT_LEN] = 0;
	struct cairn_key_object k;
	/* The layout of format.h: a 56-byte header and the 60-byte wrapped
	 * secret.  (The "124 bytes" in format.h's KEY OBJECT heading does not
	 * match its own field list.) */
	assert_int_equal(CAIRN_KEY_HEADER_LEN, 8 + 4 + 4 + CAIRN_KEY_SALT_LEN + 8);
	assert_int_equal(CAIRN_KEY_OBJECT_LEN, CAIRN_KEY_HEADER_LEN + 60);

	/* Sizes. */
	static const size_t sizes[] = { 0, 8, 12, CAIRN_KEY_HEADER_LEN, CAIRN_KEY_OBJECT_LEN - 1,
					CAIRN_KEY_OBJECT_LEN + 1 };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		ck_err(cairn_key_object_parse(obj, sizes[i], &k), CAIRN_ECORRUPT);
	/* Magic. */
	for (size_t i = 0; i < CAIRN_MAGIC_LEN; i++) {
		uint8_t t[CAIRN_KEY_OBJECT_LEN];
		memcpy(t, obj, sizeof(t));
		t[i] ^= 0x20;
		ck_err(cairn_key_object_parse(t, sizeof(t), &k), CAIRN_ECORRUPT);
	}
	/* Version. */
	uint8_t t[CAIRN_KEY_OBJECT_LEN];
	memcpy(t, obj, sizeof(t));
	cairn_put_le32(t + 8, 2);
	ck_err(cairn_key_object_parse(t, sizeof(t), &k), CAIRN_EVERSION);
	cairn_put_le32(t + 8, 0);
	ck_err(cairn_key_object_parse(t, sizeof(t), &k), CAIRN_EVERSION);
	/* scrypt parameters: N below 2^10 or above 2^22, r or p zero. */
	static const struct {
		uint8_t log2n, r, p;
	} bad[] = { { 0, 8, 1 },  { 9, 8, 1 },	{ 23, 8, 1 }, { 63, 8, 1 }, { 255, 8, 1 },
		    { 15, 0, 1 }, { 15, 8, 0 }, { 15, 255, 1 }, { 15, 8, 255 } };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(t, obj, sizeof(t));
		t[12] = bad[i].log2n;
		t[13] = bad[i].r;
		t[14] = bad[i].p;
		int r = cairn_key_object_parse(t, sizeof(t), &k);
		if (r != CAIRN_ECORRUPT)
			fail_msg("log2n=%u r=%u p=%u: %d (%s)", bad[i].log2n, bad[i].r, bad[i].p, r, cairn_error_name(r));
	}
	/* Limits that are accepted. */
	memcpy(t, obj, sizeof(t));
	t[12] = 22;
	ck_ok(cairn_key_object_parse(t, sizeof(t), &k));
	t[12] = 10;
	ck_ok(cairn_key_object_parse(t, sizeof(t), &k));
}

/* A key object from a hostile store must not make the reader spend more
 * than the format allows: r and p are fixed at 8 and 1 by the format, so
 * a header asking for r = 32 and p = 16 at N = 2^22 (16 GiB per lane) is
 * refused before any scrypt runs. */
static void test_key_object_parse_cost_bound(void **state)
{
	(void)state;
	uint8_t master[32], t[CAIRN_KEY_OBJECT_LEN];
	make_key(master, t, "pw");
	struct cairn_key_object k;
	t[12] = 22;
	t[13] = 32;
	t[14] = 16;
	ck_err(cairn_key_object_parse(t, sizeof(t), &k), CAIRN_ECORRUPT);
}

/* ---- keys of a repository ---- */

/* Only dir and repo of the fixture are used here. */
static int setup(void **state)
{
	*state = th_codec_fx_new("keys");
	return 0;
}

static int teardown(void **state)
{
	th_codec_fx_free(*state);
	return 0;
}

static void list_keys(struct th_codec_fx *f, struct cairn_key_info **ret, size_t *ret_n)
{
	*ret = NULL;
	ck_ok(cairn_repo_key_list(f->repo, ret, ret_n));
	assert_non_null(*ret);
}

static const struct cairn_key_info *find_kid(const struct cairn_key_info *v, size_t n, const char *kid)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].kid, kid))
			return &v[i];
	return NULL;
}

static void test_init_open(void **state)
{
	struct th_codec_fx *f = *state;
	assert_int_equal(strlen(f->repo->key_name), 2 * CAIRN_KEY_ID_LEN);
	struct cairn_repo *r = NULL;
	ck_ok(th_repo_open(f->dir, TH_PASS, &r));
	assert_string_equal(r->key_name, f->repo->key_name);
	assert_memory_equal(r->keys->master, f->repo->keys->master, 32);
	assert_memory_equal(r->keys->enc, f->repo->keys->enc, CAIRN_KEY_LEN);
	assert_memory_equal(r->keys->id, f->repo->keys->id, CAIRN_KEY_LEN);
	assert_memory_not_equal(r->keys->enc, r->keys->id, CAIRN_KEY_LEN);
	cairn_repo_free(r);

	r = NULL;
	ck_err(th_repo_open(f->dir, "wrong", &r), CAIRN_EPASSPHRASE);
	assert_null(r);
	ck_err(th_repo_open(f->dir, TH_PASS "x", &r), CAIRN_EPASSPHRASE);
	ck_err(th_repo_open(f->dir, "", &r), CAIRN_EPASSPHRASE);
}

static void test_key_add_list_remove(void **state)
{
	struct th_codec_fx *f = *state;
	struct cairn_key_info *v = NULL;
	size_t n = 0;
	list_keys(f, &v, &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].kid, f->repo->key_name);
	assert_true(v[0].current);
	assert_int_equal(v[0].log2n, 10);
	assert_true(v[0].created > 1700000000);
	free(v);

	/* Add a second passphrase. */
	char kid2[2 * CAIRN_KEY_ID_LEN + 1];
	ck_ok(cairn_repo_key_add(f->repo, "second pass", 11, 10, kid2));
	assert_int_equal(strlen(kid2), 2 * CAIRN_KEY_ID_LEN);
	assert_string_not_equal(kid2, f->repo->key_name);
	ck_err(cairn_repo_key_add(f->repo, "", 0, 10, NULL), CAIRN_EINVAL);
	list_keys(f, &v, &n);
	assert_int_equal(n, 2);
	const struct cairn_key_info *k1 = find_kid(v, n, f->repo->key_name), *k2 = find_kid(v, n, kid2);
	assert_non_null(k1);
	assert_non_null(k2);
	assert_true(k1->current);
	assert_false(k2->current);
	free(v);

	/* Both passphrases open the repository, with the same keys. */
	struct cairn_repo *r = NULL;
	ck_ok(th_repo_open(f->dir, "second pass", &r));
	assert_string_equal(r->key_name, kid2);
	assert_memory_equal(r->keys->master, f->repo->keys->master, 32);
	/* Opened with the second key, the first can be removed but not the
	 * second (the one in use). */
	list_keys(f, &v, &n);
	free(v);
	ck_err(cairn_repo_key_remove(r, kid2), CAIRN_EBUSY);
	cairn_repo_free(r);

	/* The key in use cannot be removed. */
	ck_err(cairn_repo_key_remove(f->repo, f->repo->key_name), CAIRN_EBUSY);
	/* Unknown keys. */
	ck_err(cairn_repo_key_remove(f->repo, "0000000000000000"), CAIRN_ENOTFOUND);
	/* Names that are not key names never reach outside keys/. */
	ck_err(cairn_repo_key_remove(f->repo, "../config"), CAIRN_EINVAL);
	assert_true(cairn_repo_key_remove(f->repo, "") < 0);
	assert_true(cairn_repo_key_remove(f->repo, "/") < 0);
	r = NULL;
	ck_ok(th_repo_open(f->dir, TH_PASS, &r));
	cairn_repo_free(r);

	/* Remove the second key: its passphrase no longer opens. */
	ck_ok(cairn_repo_key_remove(f->repo, kid2));
	list_keys(f, &v, &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].kid, f->repo->key_name);
	free(v);
	r = NULL;
	ck_err(th_repo_open(f->dir, "second pass", &r), CAIRN_EPASSPHRASE);
	ck_err(cairn_repo_key_remove(f->repo, kid2), CAIRN_ENOTFOUND);
	/* The last key stays. */
	ck_err(cairn_repo_key_remove(f->repo, f->repo->key_name), CAIRN_EBUSY);
	list_keys(f, &v, &n);
	assert_int_equal(n, 1);
	free(v);
}

/* A key object no reader would accept (scrypt cost below the readers'
 * minimum of 2^10) must not be written: it would be a passphrase that
 * silently never works. */
static void test_key_add_bad_cost(void **state)
{
	struct th_codec_fx *f = *state;
	char kid[2 * CAIRN_KEY_ID_LEN + 1];
	ck_err(cairn_repo_key_add(f->repo, "cheap", 5, 9, kid), CAIRN_EINVAL);
	struct cairn_key_info *v = NULL;
	size_t n = 0;
	list_keys(f, &v, &n);
	free(v);
	struct th_keys k;
	th_list(f->repo->store, "keys/", &k);
	assert_int_equal(k.n, 1);
	th_keys_free(&k);
	assert_int_equal(n, 1);
}

/* A damaged or foreign key object is skipped, not fatal, when another key
 * opens; list shows only readable keys. */
static void test_damaged_key_objects(void **state)
{
	struct th_codec_fx *f = *state;
	char kid2[2 * CAIRN_KEY_ID_LEN + 1], path[PATH_MAX], key[64];
	ck_ok(cairn_repo_key_add(f->repo, "other", 5, 10, kid2));
	snprintf(key, sizeof(key), "keys/%s", kid2);
	th_obj_path(path, sizeof(path), f->dir, key);
	th_write_file(path, "garbage", 7);
	ck_ok(cairn_store_put(f->repo->store, "keys/README", "hello", 5, 0));

	struct cairn_key_info *v = NULL;
	size_t n = 0;
	list_keys(f, &v, &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].kid, f->repo->key_name);
	free(v);

	struct cairn_repo *r = NULL;
	ck_ok(th_repo_open(f->dir, TH_PASS, &r));
	cairn_repo_free(r);
	r = NULL;
	ck_err(th_repo_open(f->dir, "other", &r), CAIRN_EPASSPHRASE);

	/* The good key's wrapped secret damaged: no key opens at all. */
	snprintf(key, sizeof(key), "keys/%s", f->repo->key_name);
	th_obj_path(path, sizeof(path), f->dir, key);
	th_flip_file_byte(path, -3);
	ck_err(th_repo_open(f->dir, TH_PASS, &r), CAIRN_EPASSPHRASE);
	/* No readable key object left. */
	th_write_file(path, "x", 1);
	ck_err(th_repo_open(f->dir, TH_PASS, &r), CAIRN_ECORRUPT);
}

/* --kdf-memory SIZE: memory 128 * N * r (r = 8), 16M..1G, powers of two. */
static void test_kdf_memory(void **state)
{
	(void)state;
	static const struct {
		uint64_t bytes;
		unsigned log2n;
	} good[] = { { 16ull << 20, 14 }, { 32ull << 20, 15 }, { 64ull << 20, 16 }, { 1ull << 30, 20 } };
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		unsigned l = 0;
		ck_ok(cairn_kdf_log2n_of_memory(good[i].bytes, &l));
		assert_int_equal(l, good[i].log2n);
		assert_true(cairn_kdf_memory(l, CAIRN_SCRYPT_R) == good[i].bytes);
	}
	assert_int_equal(cairn_kdf_memory(CAIRN_SCRYPT_LOG2N_DEFAULT, CAIRN_SCRYPT_R), 32u << 20);
	static const uint64_t bad[] = { 0, 1, 8ull << 20, (16ull << 20) - 1, 48ull << 20, 2ull << 30, 4ull << 30 };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		unsigned l = 99;
		ck_err(cairn_kdf_log2n_of_memory(bad[i], &l), CAIRN_EINVAL);
		assert_int_equal(l, 99);
	}
}

/* The work factor given to init and key add is what the key object's
 * header records (byte 12 log2 N, 13 r, 14 p), and such a key opens. */
static void test_kdf_recorded(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 64], key[64];
	th_tmpdir(dir, sizeof(dir), "kdf");
	struct cairn_store *s = NULL;
	ck_ok(cairn_store_local_open(dir, &s));
	struct cairn_init_params p = { .scrypt_log2n = 14 };
	struct cairn_repo *repo = NULL;
	ck_ok(cairn_repo_init(s, TH_PASS, TH_PASS_LEN, &p, &repo));
	char kid2[2 * CAIRN_KEY_ID_LEN + 1];
	ck_ok(cairn_repo_key_add(repo, "second", 6, 11, kid2));
	const char *kids[] = { repo->key_name, kid2 };
	const unsigned want[] = { 14, 11 };
	for (size_t i = 0; i < 2; i++) {
		snprintf(key, sizeof(key), "keys/%s", kids[i]);
		th_obj_path(path, sizeof(path), dir, key);
		size_t n;
		uint8_t *obj = th_read_file(path, &n);
		assert_int_equal(n, CAIRN_KEY_OBJECT_LEN);
		assert_int_equal(obj[12], want[i]);
		assert_int_equal(obj[13], CAIRN_SCRYPT_R);
		assert_int_equal(obj[14], CAIRN_SCRYPT_P);
		free(obj);
	}
	struct cairn_repo *r = NULL;
	ck_ok(th_repo_open(dir, TH_PASS, &r));
	assert_string_equal(r->key_name, repo->key_name);
	cairn_repo_free(r);
	r = NULL;
	ck_ok(th_repo_open(dir, "second", &r));
	assert_string_equal(r->key_name, kid2);
	cairn_repo_free(r);
	cairn_repo_free(repo);
	th_rm_rf(dir);
}

/* One open's scrypt budget, keys taken cheapest first while they fit. */
static void test_key_budget_fit(void **state)
{
	(void)state;
	const uint64_t M = 1ull << 20, def = cairn_kdf_memory(CAIRN_SCRYPT_LOG2N_DEFAULT, CAIRN_SCRYPT_R);
	uint64_t c[2048];
	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		c[i] = def;
	/* 64 keys of the default cost fill 2 GiB; the 65th is not tried. */
	assert_int_equal(cairn_key_budget_fit(c, ARRAY_SIZE(c), CAIRN_KEY_OPEN_BUDGET), 64);
	assert_int_equal(cairn_key_budget_fit(c, 10, CAIRN_KEY_OPEN_BUDGET), 10);
	assert_int_equal(cairn_key_budget_fit(c, 0, CAIRN_KEY_OPEN_BUDGET), 0);
	/* A 1 GiB key (the most cairn writes) fits after 32 default ones. */
	c[32] = 1024 * M;
	assert_int_equal(cairn_key_budget_fit(c, 33, CAIRN_KEY_OPEN_BUDGET), 33);
	/* Another costs 2 GiB alone: never tried, nor anything after it. */
	const uint64_t big[] = { 16 * M, 4096 * M, 16 * M };
	assert_int_equal(cairn_key_budget_fit(big, 3, CAIRN_KEY_OPEN_BUDGET), 1);
	const uint64_t exact[] = { 1024 * M, 1024 * M, 1 };
	assert_int_equal(cairn_key_budget_fit(exact, 3, CAIRN_KEY_OPEN_BUDGET), 2);
	/* The largest cost a key object may declare cannot overflow the sum. */
	const uint64_t huge[] = { CAIRN_KEY_OPEN_BUDGET, 4ull << 32, UINT64_MAX };
	assert_int_equal(cairn_key_budget_fit(huge, 3, CAIRN_KEY_OPEN_BUDGET), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_object_round_trip),
		cmocka_unit_test(test_key_object_header_bound),
		cmocka_unit_test(test_key_object_parse_bad),
		cmocka_unit_test(test_key_object_parse_cost_bound),
		cmocka_unit_test(test_kdf_memory),
		cmocka_unit_test(test_kdf_recorded),
		cmocka_unit_test(test_key_budget_fit),
		cmocka_unit_test_setup_teardown(test_init_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_add_list_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_add_bad_cost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_key_objects, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
