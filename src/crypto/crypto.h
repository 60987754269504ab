/* Cryptographic primitives, all from OpenSSL 3 libcrypto (never hand-written).
 *
 *   ids      HMAC-SHA-256 keyed with the repository's id key: ids of chunks and
 *            tree nodes reveal nothing about content to someone without keys.
 *   AEAD     AES-256-GCM, 12-byte random nonce, 16-byte tag; sealed layout is
 *            nonce || ciphertext || tag (CAIRN_AEAD_OVERHEAD bytes more).
 *   KDF      scrypt (EVP_KDF "SCRYPT") turns a passphrase into a key-wrapping key.
 *   HKDF     derives the subkeys from the random master secret.
 *
 * Contexts (hasher, aead) are created once per thread and reused (zstd's
 * rule: creation is the expensive part); they are not thread-safe.
 */
#ifndef CAIRN_CRYPTO_CRYPTO_H
#define CAIRN_CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CAIRN_ID_LEN 32
#define CAIRN_KEY_LEN 32
#define CAIRN_AEAD_NONCE_LEN 12
#define CAIRN_AEAD_TAG_LEN 16
#define CAIRN_AEAD_OVERHEAD (CAIRN_AEAD_NONCE_LEN + CAIRN_AEAD_TAG_LEN)

/* Fills buf with cryptographically strong random bytes. */
/* Routes OpenSSL's large allocations (scrypt's 32 MiB work area and
 * up) to huge pages (util/buf.h cairn_alloc_large): the key derivation
 * of every repository open first-touches that memory, 8,192 faults of
 * 4 KiB (each also a host fault on a VM) against 16 of 2 MiB; measured
 * 0.10 -> 0.08 CPU-s per open.  Call first in main(), before OpenSSL
 * allocates anything; later it does nothing. */
void cairn_crypto_use_huge_pages(void);

int cairn_random(void *buf, size_t len);

/* scrypt with the given cost; out receives outlen bytes. */
int cairn_kdf_scrypt(const char *pass, size_t passlen, const uint8_t *salt, size_t saltlen,
		     uint64_t n, uint32_t r, uint32_t p, uint8_t *out, size_t outlen);

/* HKDF-SHA-256(ikm, salt = none, info = label). */
int cairn_hkdf(const uint8_t *ikm, size_t ikmlen, const char *label, uint8_t *out, size_t outlen);

/* Plain SHA-256 (used for object names where a keyed id is not needed). */
int cairn_sha256(const void *data, size_t len, uint8_t out[32]);

/* Keyed id hashing. */
struct cairn_hasher;
int cairn_hasher_new(const uint8_t key[CAIRN_KEY_LEN], struct cairn_hasher **ret);
int cairn_hasher_id(struct cairn_hasher *h, const void *data, size_t len, uint8_t out[CAIRN_ID_LEN]);
void cairn_hasher_free(struct cairn_hasher *h);

/* AES-256-GCM.  aad may be NULL/0.  seal writes len + CAIRN_AEAD_OVERHEAD
 * bytes to out; open writes inlen - CAIRN_AEAD_OVERHEAD bytes and returns
 * CAIRN_ECORRUPT when authentication fails (nothing in out may be used then). */
struct cairn_aead;
int cairn_aead_new(const uint8_t key[CAIRN_KEY_LEN], struct cairn_aead **ret);
int cairn_aead_seal(struct cairn_aead *a, const void *aad, size_t aadlen, const void *in, size_t len,
		    uint8_t *out);
int cairn_aead_open(struct cairn_aead *a, const void *aad, size_t aadlen, const uint8_t *in, size_t inlen,
		    uint8_t *out);
void cairn_aead_free(struct cairn_aead *a);

/* GMAC (AES-256-GCM over additional data only): a keyed 16-byte tag at
 * several GB/s, used to tell that a chunk is unchanged since the previous
 * backup without recomputing its HMAC id.  The nonce is derived from the
 * chunk's index; the tags never leave the host, and are stored sealed
 * (source/tagcache.h), so the GHASH key cannot be learned from them. */
struct cairn_gmac;
int cairn_gmac_new(const uint8_t key[CAIRN_KEY_LEN], struct cairn_gmac **ret);
int cairn_gmac_tag(struct cairn_gmac *g, uint64_t index, const void *data, size_t len, uint8_t out[16]);
void cairn_gmac_free(struct cairn_gmac *g);

/* Memory for secrets: pages of their own (zeroed, 64-byte aligned), left
 * out of core dumps (MADV_DONTDUMP) and locked (mlock) where allowed, wiped
 * and unmapped on free.  cairn_secret_free accepts NULL; its len is not
 * needed (kept for the callers' symmetry). */
void *cairn_secret_alloc(size_t len);
void cairn_secret_free(void *p, size_t len);
void cairn_wipe(void *p, size_t len);

#endif
