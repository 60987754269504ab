#include "crypto/crypto.h"
#include "util/buf.h"
#include "util/error.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int crypto_fail(const char *what)
{
	return cairn_error_set(CAIRN_ECRYPTO, "OpenSSL %s failed", what);
}

int cairn_random(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		return crypto_fail("RAND_bytes");
	return 0;
}

static int derive(const char *alg, OSSL_PARAM *params, uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, alg, NULL);
	if (!kdf)
		return crypto_fail("EVP_KDF_fetch");
	EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (!ctx)
		return crypto_fail("EVP_KDF_CTX_new");
	int ok = EVP_KDF_derive(ctx, out, outlen, params);
	EVP_KDF_CTX_free(ctx);
	if (ok != 1)
		return crypto_fail(alg);
	return 0;
}

#define HUGE_MIN ((size_t)4 << 20)

static void *huge_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return n >= HUGE_MIN ? cairn_alloc_large(n) : malloc(n);
}

static void *huge_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return realloc(p, n);
}

static void huge_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

void cairn_crypto_use_huge_pages(void)
{
	(void)CRYPTO_set_mem_functions(huge_malloc, huge_realloc, huge_free);
}

int cairn_kdf_scrypt(const char *pass, size_t passlen, const uint8_t *salt, size_t saltlen,
		     uint64_t n, uint32_t r, uint32_t p, uint8_t *out, size_t outlen)
{
	uint64_t maxmem = 128 * n * r * 2 + (1u << 20);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pass, passlen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
		OSSL_PARAM_construct_end(),
	};
	return derive("SCRYPT", params, out, outlen);
}

int cairn_hkdf(const uint8_t *ikm, size_t ikmlen, const char *label, uint8_t *out, size_t outlen)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)label, strlen(label)),
		OSSL_PARAM_construct_end(),
	};
	return derive("HKDF", params, out, outlen);
}

/* SHA-256's implementation, fetched once: with EVP_sha256() every call
 * looks it up again (OpenSSL 3), which costs more than hashing a short
 * input such as an API token (daemon/api.c checks one per request). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int cairn_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 32;
	pthread_once(&sha256_once, sha256_fetch);
	if (EVP_Digest(data, len, out, &n, sha256_md ? sha256_md : EVP_sha256(), NULL) != 1)
		return crypto_fail("EVP_Digest");
	return 0;
}

/* HMAC: the keyed context is prepared once; each id dups nothing and only
 * re-inits with the same key (OpenSSL 3 keeps the key when key == NULL),
 * which skips the two key-pad compressions per call. */
struct cairn_hasher {
	EVP_MAC_CTX *ctx;
};

int cairn_hasher_new(const uint8_t key[CAIRN_KEY_LEN], struct cairn_hasher **ret)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return crypto_fail("EVP_MAC_fetch");
	struct cairn_hasher *h = calloc(1, sizeof(*h));
	if (!h) {
		EVP_MAC_free(mac);
		return cairn_error_nomem();
	}
	h->ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	if (!h->ctx || EVP_MAC_init(h->ctx, key, CAIRN_KEY_LEN, params) != 1) {
		cairn_hasher_free(h);
		return crypto_fail("EVP_MAC_init");
	}
	*ret = h;
	return 0;
}

int cairn_hasher_id(struct cairn_hasher *h, const void *data, size_t len, uint8_t out[CAIRN_ID_LEN])
{
	size_t outl = 0;
	if (EVP_MAC_init(h->ctx, NULL, 0, NULL) != 1 || EVP_MAC_update(h->ctx, data, len) != 1 ||
	    EVP_MAC_final(h->ctx, out, &outl, CAIRN_ID_LEN) != 1 || outl != CAIRN_ID_LEN)
		return crypto_fail("HMAC");
	return 0;
}

void cairn_hasher_free(struct cairn_hasher *h)
{
	if (!h)
		return;
	EVP_MAC_CTX_free(h->ctx);
	free(h);
}

struct cairn_aead {
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
};

int cairn_aead_new(const uint8_t key[CAIRN_KEY_LEN], struct cairn_aead **ret)
{
	struct cairn_aead *a = calloc(1, sizeof(*a));
	if (!a)
		return cairn_error_nomem();
	a->enc = EVP_CIPHER_CTX_new();
	a->dec = EVP_CIPHER_CTX_new();
	if (!a->enc || !a->dec || EVP_EncryptInit_ex(a->enc, EVP_aes_256_gcm(), NULL, key, NULL) != 1 ||
	    EVP_DecryptInit_ex(a->dec, EVP_aes_256_gcm(), NULL, key, NULL) != 1) {
		cairn_aead_free(a);
		return crypto_fail("AES-256-GCM init");
	}
	*ret = a;
	return 0;
}

int cairn_aead_seal(struct cairn_aead *a, const void *aad, size_t aadlen, const void *in, size_t len,
		    uint8_t *out)
{
	int outl = 0, fin = 0;
	int r = cairn_random(out, CAIRN_AEAD_NONCE_LEN);
	if (r < 0)
		return r;
	if (len > INT32_MAX || aadlen > INT32_MAX)
		return cairn_error_set(CAIRN_EINVAL, "AEAD input too large");
	uint8_t *ct = out + CAIRN_AEAD_NONCE_LEN;
	if (EVP_EncryptInit_ex(a->enc, NULL, NULL, NULL, out) != 1)
		return crypto_fail("EVP_EncryptInit_ex");
	if (aadlen && EVP_EncryptUpdate(a->enc, NULL, &outl, aad, (int)aadlen) != 1)
		return crypto_fail("EVP_EncryptUpdate(aad)");
	if (EVP_EncryptUpdate(a->enc, ct, &outl, in, (int)len) != 1)
		return crypto_fail("EVP_EncryptUpdate");
	if (EVP_EncryptFinal_ex(a->enc, outl ? ct + outl : ct, &fin) != 1)
		return crypto_fail("EVP_EncryptFinal_ex");
	if (EVP_CIPHER_CTX_ctrl(a->enc, EVP_CTRL_GCM_GET_TAG, CAIRN_AEAD_TAG_LEN, ct + len) != 1)
		return crypto_fail("GCM tag");
	return 0;
}

int cairn_aead_open(struct cairn_aead *a, const void *aad, size_t aadlen, const uint8_t *in, size_t inlen,
		    uint8_t *out)
{
	int outl = 0, fin = 0;
	if (inlen < CAIRN_AEAD_OVERHEAD)
		return cairn_error_set(CAIRN_ECORRUPT, "encrypted object too short (%zu bytes)", inlen);
	if (inlen > INT32_MAX || aadlen > INT32_MAX)
		return cairn_error_set(CAIRN_EINVAL, "AEAD input too large");
	size_t len = inlen - CAIRN_AEAD_OVERHEAD;
	const uint8_t *ct = in + CAIRN_AEAD_NONCE_LEN;
	if (EVP_DecryptInit_ex(a->dec, NULL, NULL, NULL, in) != 1)
		return crypto_fail("EVP_DecryptInit_ex");
	if (aadlen && EVP_DecryptUpdate(a->dec, NULL, &outl, aad, (int)aadlen) != 1)
		return crypto_fail("EVP_DecryptUpdate(aad)");
	if (EVP_DecryptUpdate(a->dec, out, &outl, ct, (int)len) != 1)
		return crypto_fail("EVP_DecryptUpdate");
	if (EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_GCM_SET_TAG, CAIRN_AEAD_TAG_LEN, (void *)(ct + len)) != 1)
		return crypto_fail("GCM tag");
	if (EVP_DecryptFinal_ex(a->dec, outl ? out + outl : out, &fin) != 1) {
		cairn_wipe(out, len);
		return cairn_error_set(CAIRN_ECORRUPT, "authentication failed");
	}
	return 0;
}

void cairn_aead_free(struct cairn_aead *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->enc);
	EVP_CIPHER_CTX_free(a->dec);
	free(a);
}

struct cairn_gmac {
	EVP_CIPHER_CTX *ctx;
};

int cairn_gmac_new(const uint8_t key[CAIRN_KEY_LEN], struct cairn_gmac **ret)
{
	struct cairn_gmac *g = calloc(1, sizeof(*g));
	if (!g)
		return cairn_error_nomem();
	g->ctx = EVP_CIPHER_CTX_new();
	if (!g->ctx || EVP_EncryptInit_ex(g->ctx, EVP_aes_256_gcm(), NULL, key, NULL) != 1) {
		cairn_gmac_free(g);
		return crypto_fail("GMAC init");
	}
	*ret = g;
	return 0;
}

int cairn_gmac_tag(struct cairn_gmac *g, uint64_t index, const void *data, size_t len, uint8_t out[16])
{
	uint8_t iv[CAIRN_AEAD_NONCE_LEN] = { 0 };
	int outl = 0;
	for (int i = 0; i < 8; i++)
		iv[i] = (uint8_t)(index >> (8 * i));
	if (len > INT32_MAX)
		return cairn_error_set(CAIRN_EINVAL, "GMAC input too large");
	if (EVP_EncryptInit_ex(g->ctx, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(g->ctx, NULL, &outl, data, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(g->ctx, out, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_GET_TAG, 16, out) != 1)
		return crypto_fail("GMAC");
	return 0;
}

void cairn_gmac_free(struct cairn_gmac *g)
{
	if (!g)
		return;
	EVP_CIPHER_CTX_free(g->ctx);
	free(g);
}

void cairn_wipe(void *p, size_t len)
{
	if (p)
		OPENSSL_cleanse(p, len);
}

/* Each secret gets pages of its own: MADV_DONTDUMP and mlock work on whole
 * pages, and a page shared with the heap would either put the secret in a
 * core dump or keep other data out of it.  The mapping's size sits in front
 * of the secret, so free needs no length (callers' lengths may differ from
 * the allocated one). */
#define SECRET_HEADER 64

void *cairn_secret_alloc(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (len > SIZE_MAX - SECRET_HEADER - page)
		return NULL;
	size_t total = (len + SECRET_HEADER + page - 1) / page * page;
	uint8_t *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	/* Best effort both: kernels before 3.4 have no MADV_DONTDUMP, and
	 * unprivileged users may have no mlock budget. */
	(void)madvise(m, total, MADV_DONTDUMP);
	(void)mlock(m, total);
	memcpy(m, &total, sizeof(total));
	return m + SECRET_HEADER;
}

void cairn_secret_free(void *p, size_t len)
{
	(void)len;
	if (!p)
		return;
	uint8_t *m = (uint8_t *)p - SECRET_HEADER;
	size_t total;
	memcpy(&total, m, sizeof(total));
	OPENSSL_cleanse(m, total);
	(void)munlock(m, total);
	munmap(m, total);
}
