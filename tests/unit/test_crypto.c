/* crypto/: ids (HMAC-SHA-256), AEAD, scrypt, HKDF, SHA-256, secrets. */
#include "helpers.h"

#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/hex.h"

static void unhex(const char *hex, uint8_t *out, size_t len)
{
	ck_ok(cairn_hex_decode(hex, out, len));
}

/* RFC 4231 test case 2 (key "Jefe").  HMAC zero-pads keys shorter than the
 * block, so "Jefe" followed by 28 zero bytes is the same 32-byte key; the
 * expected value was checked with python's hmac module and openssl dgst. */
static void test_hmac_rfc4231_case2(void **state)
{
	(void)state;
	uint8_t key[CAIRN_KEY_LEN] = { 'J', 'e', 'f', 'e' };
	static const char msg[] = "what do ya want for nothing?";
	uint8_t want[CAIRN_ID_LEN], id[CAIRN_ID_LEN];
	unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, sizeof(want));
	struct cairn_hasher *h = NULL;
	ck_ok(cairn_hasher_new(key, &h));
	ck_ok(cairn_hasher_id(h, msg, strlen(msg), id));
	assert_memory_equal(id, want, CAIRN_ID_LEN);
	/* The context is reused: the same input gives the same id again. */
	uint8_t other[CAIRN_ID_LEN];
	ck_ok(cairn_hasher_id(h, "x", 1, other));
	assert_memory_not_equal(other, want, CAIRN_ID_LEN);
	ck_ok(cairn_hasher_id(h, msg, strlen(msg), id));
	assert_memory_equal(id, want, CAIRN_ID_LEN);
	cairn_hasher_free(h);
}

/* A full 32-byte key 00 01 .. 1f (python: hmac.new(bytes(range(32)), m, sha256)). */
static void test_hmac_32_byte_key(void **state)
{
	(void)state;
	uint8_t key[CAIRN_KEY_LEN];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	uint8_t want1[32], want2[32], id[32];
	unhex("099805f4ac310786968565c098db515cc50862b420ae31e20238312344bed36a", want1, 32);
	unhex("d38b42096d80f45f826b44a9d5607de72496a415d3f4a1a8c88e3bb9da8dc1cb", want2, 32);
	struct cairn_hasher *h = NULL;
	ck_ok(cairn_hasher_new(key, &h));
	for (int round = 0; round < 3; round++) {
		ck_ok(cairn_hasher_id(h, "what do ya want for nothing?", 28, id));
		assert_memory_equal(id, want1, 32);
		ck_ok(cairn_hasher_id(h, "", 0, id));
		assert_memory_equal(id, want2, 32);
	}
	cairn_hasher_free(h);

	/* Another key, other ids: ids reveal nothing without the key. */
	key[0] ^= 1;
	ck_ok(cairn_hasher_new(key, &h));
	ck_ok(cairn_hasher_id(h, "", 0, id));
	assert_memory_not_equal(id, want2, 32);
	cairn_hasher_free(h);
	cairn_hasher_free(NULL);
}

static void test_sha256(void **state)
{
	(void)state;
	uint8_t want[32], out[32];
	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
	ck_ok(cairn_sha256("abc", 3, out));
	assert_memory_equal(out, want, 32);
	unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, 32);
	ck_ok(cairn_sha256("", 0, out));
	assert_memory_equal(out, want, 32);
}

/* ---- AEAD ---- */

struct aead_case {
	struct cairn_aead *a;
	uint8_t key[CAIRN_KEY_LEN];
};

static int aead_setup(void **state)
{
	struct aead_case *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	th_fill(c->key, sizeof(c->key), 42);
	ck_ok(cairn_aead_new(c->key, &c->a));
	*state = c;
	return 0;
}

static int aead_teardown(void **state)
{
	struct aead_case *c = *state;
	cairn_aead_free(c->a);
	free(c);
	return 0;
}

static void test_aead_round_trip(void **state)
{
	struct aead_case *c = *state;
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 4096, 65536 + 3 };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t n = sizes[i];
		uint8_t *pt = th_data(n, i);
		uint8_t *ct = malloc(n + CAIRN_AEAD_OVERHEAD);
		uint8_t *back = malloc(n + 1);
		assert_non_null(ct);
		assert_non_null(back);
		ck_ok(cairn_aead_seal(c->a, "Aname", 5, pt, n, ct));
		if (n >= 16)
			assert_memory_not_equal(ct + CAIRN_AEAD_NONCE_LEN, pt, 16);
		ck_ok(cairn_aead_open(c->a, "Aname", 5, ct, n + CAIRN_AEAD_OVERHEAD, back));
		if (n)
			assert_memory_equal(back, pt, n);
		/* Without additional data. */
		ck_ok(cairn_aead_seal(c->a, NULL, 0, pt, n, ct));
		ck_ok(cairn_aead_open(c->a, NULL, 0, ct, n + CAIRN_AEAD_OVERHEAD, back));
		if (n)
			assert_memory_equal(back, pt, n);
		/* Sealed without aad does not open with some. */
		ck_err(cairn_aead_open(c->a, "A", 1, ct, n + CAIRN_AEAD_OVERHEAD, back), CAIRN_ECORRUPT);
		free(pt);
		free(ct);
		free(back);
	}
}

static void test_aead_nonce_random(void **state)
{
	struct aead_case *c = *state;
	uint8_t a[16 + CAIRN_AEAD_OVERHEAD], b[16 + CAIRN_AEAD_OVERHEAD];
	ck_ok(cairn_aead_seal(c->a, NULL, 0, "same plaintext!!", 16, a));
	ck_ok(cairn_aead_seal(c->a, NULL, 0, "same plaintext!!", 16, b));
	assert_memory_not_equal(a, b, CAIRN_AEAD_NONCE_LEN);
	assert_memory_not_equal(a + CAIRN_AEAD_NONCE_LEN, b + CAIRN_AEAD_NONCE_LEN, 16);
}

static void test_aead_tamper(void **state)
{
	struct aead_case *c = *state;
	enum { N = 100 };
	uint8_t pt[N], ct[N + CAIRN_AEAD_OVERHEAD], out[N];
	th_fill(pt, N, 7);
	ck_ok(cairn_aead_seal(c->a, "Tpack", 5, pt, N, ct));
	/* Every single-byte flip anywhere in the sealed object fails. */
	for (size_t i = 0; i < sizeof(ct); i++) {
		ct[i] ^= 0x01;
		ck_err(cairn_aead_open(c->a, "Tpack", 5, ct, sizeof(ct), out), CAIRN_ECORRUPT);
		ct[i] ^= 0x01;
	}
	/* The aad: other letter, other name, shorter, longer, missing. */
	ck_err(cairn_aead_open(c->a, "Bpack", 5, ct, sizeof(ct), out), CAIRN_ECORRUPT);
	ck_err(cairn_aead_open(c->a, "Tpacj", 5, ct, sizeof(ct), out), CAIRN_ECORRUPT);
	ck_err(cairn_aead_open(c->a, "Tpac", 4, ct, sizeof(ct), out), CAIRN_ECORRUPT);
	ck_err(cairn_aead_open(c->a, "Tpackk", 6, ct, sizeof(ct), out), CAIRN_ECORRUPT);
	ck_err(cairn_aead_open(c->a, NULL, 0, ct, sizeof(ct), out), CAIRN_ECORRUPT);
	/* Truncated or extended. */
	ck_err(cairn_aead_open(c->a, "Tpack", 5, ct, sizeof(ct) - 1, out), CAIRN_ECORRUPT);
	/* Nonce/tag-only sizes. */
	ck_err(cairn_aead_open(c->a, "Tpack", 5, ct, CAIRN_AEAD_OVERHEAD, out), CAIRN_ECORRUPT);
	/* The context still works after failures. */
	ck_ok(cairn_aead_open(c->a, "Tpack", 5, ct, sizeof(ct), out));
	assert_memory_equal(out, pt, N);
}

static void test_aead_wrong_key(void **state)
{
	struct aead_case *c = *state;
	uint8_t ct[10 + CAIRN_AEAD_OVERHEAD], out[10];
	ck_ok(cairn_aead_seal(c->a, "x", 1, "0123456789", 10, ct));
	uint8_t key2[CAIRN_KEY_LEN];
	memcpy(key2, c->key, sizeof(key2));
	key2[31] ^= 0x80;
	struct cairn_aead *b = NULL;
	ck_ok(cairn_aead_new(key2, &b));
	ck_err(cairn_aead_open(b, "x", 1, ct, sizeof(ct), out), CAIRN_ECORRUPT);
	cairn_aead_free(b);
	cairn_aead_free(NULL);
}

static void test_aead_short(void **state)
{
	struct aead_case *c = *state;
	uint8_t in[CAIRN_AEAD_OVERHEAD] = { 0 }, out[8];
	for (size_t n = 0; n < CAIRN_AEAD_OVERHEAD; n++)
		ck_err(cairn_aead_open(c->a, NULL, 0, in, n, out), CAIRN_ECORRUPT);
	ck_err(cairn_aead_open(c->a, NULL, 0, NULL, 0, out), CAIRN_ECORRUPT);
	/* Exactly the overhead but random: an empty plaintext that does not
	 * authenticate. */
	ck_err(cairn_aead_open(c->a, NULL, 0, in, sizeof(in), out), CAIRN_ECORRUPT);
	/* A real empty plaintext does. */
	ck_ok(cairn_aead_seal(c->a, NULL, 0, NULL, 0, in));
	ck_ok(cairn_aead_open(c->a, NULL, 0, in, sizeof(in), out));
}

/* ---- KDFs ---- */

/* RFC 7914 section 12, third vector. */
static void test_scrypt_rfc7914(void **state)
{
	(void)state;
	uint8_t want[64], out[64];
	unhex("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
	      "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
	      want, 64);
	ck_ok(cairn_kdf_scrypt("password", 8, (const uint8_t *)"NaCl", 4, 1024, 8, 16, out, 64));
	assert_memory_equal(out, want, 64);

	/* Another salt or passphrase changes the key. */
	uint8_t other[64];
	ck_ok(cairn_kdf_scrypt("password", 8, (const uint8_t *)"NaCm", 4, 1024, 8, 16, other, 64));
	assert_memory_not_equal(out, other, 64);
	ck_ok(cairn_kdf_scrypt("passwore", 8, (const uint8_t *)"NaCl", 4, 1024, 8, 16, other, 64));
	assert_memory_not_equal(out, other, 64);
}

static void test_scrypt_bad_params(void **state)
{
	(void)state;
	uint8_t out[32];
	/* N must be a power of two greater than 1. */
	assert_true(cairn_kdf_scrypt("p", 1, (const uint8_t *)"s", 1, 1000, 8, 1, out, 32) < 0);
	assert_true(cairn_kdf_scrypt("p", 1, (const uint8_t *)"s", 1, 1, 8, 1, out, 32) < 0);
}

/* RFC 5869 test case 3: no salt, no info. */
static void test_hkdf_rfc5869_case3(void **state)
{
	(void)state;
	uint8_t ikm[22], want[42], out[42];
	memset(ikm, 0x0b, sizeof(ikm));
	unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8", want, 42);
	ck_ok(cairn_hkdf(ikm, sizeof(ikm), "", out, sizeof(out)));
	assert_memory_equal(out, want, 42);
}

static void test_hkdf_deterministic(void **state)
{
	(void)state;
	uint8_t m[32], a[32], b[32], c[32], d[64];
	th_fill(m, sizeof(m), 3);
	ck_ok(cairn_hkdf(m, 32, "cairn v1 encryption", a, 32));
	ck_ok(cairn_hkdf(m, 32, "cairn v1 encryption", b, 32));
	assert_memory_equal(a, b, 32);
	ck_ok(cairn_hkdf(m, 32, "cairn v1 id", c, 32));
	assert_memory_not_equal(a, c, 32);
	/* A longer output starts with the shorter one (HKDF-Expand). */
	ck_ok(cairn_hkdf(m, 32, "cairn v1 encryption", d, 64));
	assert_memory_equal(a, d, 32);
	m[0] ^= 1;
	ck_ok(cairn_hkdf(m, 32, "cairn v1 encryption", b, 32));
	assert_memory_not_equal(a, b, 32);
}

/* ---- GMAC change tags ---- */

/* GMAC is GCM with an empty plaintext: NIST GCM test case 13 (AES-256,
 * zero key, zero IV, no data) gives 530f8afbc74536b9a963b4f1c4cb738b; the
 * IV is the chunk index, little-endian, zero-padded to 12 bytes. */
static void test_gmac_known(void **state)
{
	(void)state;
	uint8_t key[CAIRN_KEY_LEN] = { 0 }, want[16], tag[16];
	unhex("530f8afbc74536b9a963b4f1c4cb738b", want, 16);
	struct cairn_gmac *g = NULL;
	ck_ok(cairn_gmac_new(key, &g));
	uint8_t dummy = 0;
	ck_ok(cairn_gmac_tag(g, 0, &dummy, 0, tag));
	assert_memory_equal(tag, want, 16);
	cairn_gmac_free(g);
	cairn_gmac_free(NULL);
}

/* A GMAC tag is what AES-GCM open accepts for (IV = index, empty
 * ciphertext, aad = data): cross-checks the nonce layout against the AEAD. */
static void test_gmac_matches_gcm(void **state)
{
	(void)state;
	uint8_t key[CAIRN_KEY_LEN];
	th_fill(key, sizeof(key), 77);
	struct cairn_gmac *g = NULL;
	struct cairn_aead *a = NULL;
	ck_ok(cairn_gmac_new(key, &g));
	ck_ok(cairn_aead_new(key, &a));
	static const uint64_t idx[] = { 0, 1, 255, 256, 0x0102030405060708ull, UINT64_MAX };
	uint8_t data[5000];
	th_fill(data, sizeof(data), 78);
	for (size_t i = 0; i < ARRAY_SIZE(idx); i++) {
		uint8_t sealed[CAIRN_AEAD_OVERHEAD] = { 0 }, out[1];
		for (int b = 0; b < 8; b++)
			sealed[b] = (uint8_t)(idx[i] >> (8 * b));
		ck_ok(cairn_gmac_tag(g, idx[i], data, sizeof(data), sealed + CAIRN_AEAD_NONCE_LEN));
		ck_ok(cairn_aead_open(a, data, sizeof(data), sealed, sizeof(sealed), out));
		/* Deterministic. */
		uint8_t again[16];
		ck_ok(cairn_gmac_tag(g, idx[i], data, sizeof(data), again));
		assert_memory_equal(again, sealed + CAIRN_AEAD_NONCE_LEN, 16);
	}
	/* Index, data and key all change the tag. */
	uint8_t t0[16], t1[16];
	ck_ok(cairn_gmac_tag(g, 7, data, sizeof(data), t0));
	ck_ok(cairn_gmac_tag(g, 8, data, sizeof(data), t1));
	assert_memory_not_equal(t0, t1, 16);
	data[4999] ^= 1;
	ck_ok(cairn_gmac_tag(g, 7, data, sizeof(data), t1));
	assert_memory_not_equal(t0, t1, 16);
	data[4999] ^= 1;
	cairn_gmac_free(g);
	key[0] ^= 1;
	ck_ok(cairn_gmac_new(key, &g));
	ck_ok(cairn_gmac_tag(g, 7, data, sizeof(data), t1));
	assert_memory_not_equal(t0, t1, 16);
	cairn_gmac_free(g);
	cairn_aead_free(a);
}

/* ---- random, secrets ---- */

static void test_random(void **state)
{
	(void)state;
	uint8_t a[32] = { 0 }, b[32] = { 0 };
	ck_ok(cairn_random(a, sizeof(a)));
	ck_ok(cairn_random(b, sizeof(b)));
	assert_memory_not_equal(a, b, 32);
	ck_ok(cairn_random(a, 0));
}

static void test_secrets(void **state)
{
	(void)state;
	uint8_t *p = cairn_secret_alloc(96);
	assert_non_null(p);
	for (int i = 0; i < 96; i++)
		assert_int_equal(p[i], 0);
	memset(p, 0xaa, 96);
	cairn_secret_free(p, 96);
	cairn_secret_free(NULL, 96);

	uint8_t w[16];
	memset(w, 0x55, sizeof(w));
	cairn_wipe(w, sizeof(w));
	for (int i = 0; i < 16; i++)
		assert_int_equal(w[i], 0);
	cairn_wipe(NULL, 10);
}

/* The VmFlags of the mapping holding p (/proc/self/smaps), or "". */
static void vm_flags(const void *p, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	assert_non_null(f);
	char line[512];
	bool in = false;
	out[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0)
			snprintf(out, size, "%s", line + 8);
	}
	fclose(f);
}

static void test_secrets_not_dumped(void **state)
{
	(void)state;
	static const size_t sizes[] = { 1, 32, 4000, 4096, 10000 };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint8_t *p = cairn_secret_alloc(sizes[i]);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 64, 0);
		for (size_t k = 0; k < sizes[i]; k++)
			assert_int_equal(p[k], 0);
		memset(p, 0xaa, sizes[i]);
		char flags[512];
		vm_flags(p, flags, sizeof(flags));
		/* "dd": left out of core dumps (MADV_DONTDUMP). */
		if (!strstr(flags, " dd"))
			fail_msg("secret of %zu bytes: VmFlags '%s' lack dd", sizes[i], flags);
		vm_flags(p + sizes[i] - 1, flags, sizeof(flags));
		assert_non_null(strstr(flags, " dd"));
		/* The passphrase code frees with a length other than the one it
		 * allocated: free must not depend on it. */
		cairn_secret_free(p, i % 2 ? sizes[i] : 4096);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231_case2),
		cmocka_unit_test(test_hmac_32_byte_key),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test_setup_teardown(test_aead_round_trip, aead_setup, aead_teardown),
		cmocka_unit_test_setup_teardown(test_aead_nonce_random, aead_setup, aead_teardown),
		cmocka_unit_test_setup_teardown(test_aead_tamper, aead_setup, aead_teardown),
		cmocka_unit_test_setup_teardown(test_aead_wrong_key, aead_setup, aead_teardown),
		cmocka_unit_test_setup_teardown(test_aead_short, aead_setup, aead_teardown),
		cmocka_unit_test(test_scrypt_rfc7914),
		cmocka_unit_test(test_scrypt_bad_params),
		cmocka_unit_test(test_hkdf_rfc5869_case3),
		cmocka_unit_test(test_hkdf_deterministic),
		cmocka_unit_test(test_gmac_known),
		cmocka_unit_test(test_gmac_matches_gcm),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_secrets_not_dumped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
