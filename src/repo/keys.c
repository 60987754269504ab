/* Key objects: the master secret wrapped under a passphrase (format.h KEY). */
#include "repo/repo.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"

#include <string.h>
#include <time.h>

int cairn_key_object_parse(const uint8_t *data, size_t len, struct cairn_key_object *ret)
{
	if (len != CAIRN_KEY_OBJECT_LEN || memcmp(data, CAIRN_KEY_MAGIC, CAIRN_MAGIC_LEN) != 0)
		return cairn_error_set(CAIRN_ECORRUPT, "not a cairn key object");
	struct cairn_reader rd;
	cairn_reader_init(&rd, data + CAIRN_MAGIC_LEN, len - CAIRN_MAGIC_LEN);
	ret->version = cairn_reader_le32(&rd);
	ret->log2n = cairn_reader_u8(&rd);
	ret->r = cairn_reader_u8(&rd);
	ret->p = cairn_reader_u8(&rd);
	(void)cairn_reader_u8(&rd);
	memcpy(ret->salt, cairn_reader_bytes(&rd, CAIRN_KEY_SALT_LEN), CAIRN_KEY_SALT_LEN);
	ret->created = (int64_t)cairn_reader_le64(&rd);
	memcpy(ret->wrapped, cairn_reader_bytes(&rd, sizeof(ret->wrapped)), sizeof(ret->wrapped));
	if (ret->version != CAIRN_FORMAT_VERSION)
		return cairn_error_set(CAIRN_EVERSION, "key object has format version %u, this cairn reads %d",
				       ret->version, CAIRN_FORMAT_VERSION);
	/* Bound what a hostile store can make us spend: at most 4 GiB of
	 * scrypt memory (128 * N * r) and 4 lanes. */
	if (ret->log2n < CAIRN_SCRYPT_LOG2N_MIN || ret->log2n > CAIRN_SCRYPT_LOG2N_MAX || ret->r == 0 ||
	    ret->r > 32 || ret->p == 0 || ret->p > 4 || cairn_kdf_memory(ret->log2n, ret->r) > ((uint64_t)1 << 32))
		return cairn_error_set(CAIRN_ECORRUPT, "key object has unacceptable scrypt parameters");
	return 0;
}

int cairn_kdf_log2n_of_memory(uint64_t bytes, unsigned *ret_log2n)
{
	if (bytes < CAIRN_KDF_MEMORY_MIN || bytes > CAIRN_KDF_MEMORY_MAX || (bytes & (bytes - 1)))
		return cairn_error_set(CAIRN_EINVAL, "scrypt memory must be a power of two from %llu MiB to %llu MiB",
				       CAIRN_KDF_MEMORY_MIN >> 20, CAIRN_KDF_MEMORY_MAX >> 20);
	unsigned log2n = 0;
	while (cairn_kdf_memory(log2n, CAIRN_SCRYPT_R) < bytes)
		log2n++;
	*ret_log2n = log2n;
	return 0;
}

static void key_header(uint8_t out[CAIRN_KEY_HEADER_LEN], unsigned log2n, const uint8_t salt[32], int64_t created)
{
	memcpy(out, CAIRN_KEY_MAGIC, CAIRN_MAGIC_LEN);
	cairn_put_le32(out + 8, CAIRN_FORMAT_VERSION);
	out[12] = (uint8_t)log2n;
	out[13] = CAIRN_SCRYPT_R;
	out[14] = CAIRN_SCRYPT_P;
	out[15] = 0;
	memcpy(out + 16, salt, CAIRN_KEY_SALT_LEN);
	cairn_put_le64(out + 48, (uint64_t)created);
}

static int kek_aead(const uint8_t *salt, unsigned log2n, unsigned r, unsigned p, const char *pass, size_t passlen,
		    struct cairn_aead **ret)
{
	uint8_t *kek = cairn_secret_alloc(CAIRN_KEY_LEN);
	if (!kek)
		return cairn_error_nomem();
	int rc = cairn_kdf_scrypt(pass, passlen, salt, CAIRN_KEY_SALT_LEN, (uint64_t)1 << log2n, r, p, kek,
				  CAIRN_KEY_LEN);
	if (rc >= 0)
		rc = cairn_aead_new(kek, ret);
	cairn_secret_free(kek, CAIRN_KEY_LEN);
	return rc;
}

int cairn_key_object_unwrap(const struct cairn_key_object *k, const uint8_t *raw_header, const char *pass,
			    size_t passlen, uint8_t master[32])
{
	struct cairn_aead *a = NULL;
	int r = kek_aead(k->salt, k->log2n, k->r, k->p, pass, passlen, &a);
	if (r < 0)
		return r;
	uint8_t aad[1 + CAIRN_KEY_HEADER_LEN];
	aad[0] = CAIRN_AAD_KEY;
	memcpy(aad + 1, raw_header, CAIRN_KEY_HEADER_LEN);
	r = cairn_aead_open(a, aad, sizeof(aad), k->wrapped, sizeof(k->wrapped), master);
	cairn_aead_free(a);
	if (r == CAIRN_ECORRUPT)
		return cairn_error_set(CAIRN_EPASSPHRASE, "wrong passphrase");
	return r;
}

/* Builds a key object wrapping master under pass. */
int cairn_key_object_make(const uint8_t master[32], const char *pass, size_t passlen, unsigned log2n,
			  uint8_t out[CAIRN_KEY_OBJECT_LEN])
{
	uint8_t salt[CAIRN_KEY_SALT_LEN];
	int r = cairn_random(salt, sizeof(salt));
	if (r < 0)
		return r;
	if (log2n == 0)
		log2n = CAIRN_SCRYPT_LOG2N_DEFAULT;
	if (log2n < CAIRN_SCRYPT_LOG2N_MIN || log2n > CAIRN_SCRYPT_LOG2N_MAX)
		return cairn_error_set(CAIRN_EINVAL, "scrypt cost 2^%u is outside 2^%d..2^%d", log2n,
				       CAIRN_SCRYPT_LOG2N_MIN, CAIRN_SCRYPT_LOG2N_MAX);
	key_header(out, log2n, salt, (int64_t)time(NULL));
	struct cairn_aead *a = NULL;
	r = kek_aead(salt, log2n, CAIRN_SCRYPT_R, CAIRN_SCRYPT_P, pass, passlen, &a);
	if (r < 0)
		return r;
	uint8_t aad[1 + CAIRN_KEY_HEADER_LEN];
	aad[0] = CAIRN_AAD_KEY;
	memcpy(aad + 1, out, CAIRN_KEY_HEADER_LEN);
	r = cairn_aead_seal(a, aad, sizeof(aad), master, 32, out + CAIRN_KEY_HEADER_LEN);
	cairn_aead_free(a);
	return r;
}
