/* An open repository: its store, its configuration and its keys.
 *
 * The repo owns its store.  Secrets (master, encryption and id keys) live in
 * locked memory and are wiped by cairn_repo_free().  A repo is shared by all
 * threads of a job; per-thread crypto contexts come from cairn_repo_hasher()
 * and cairn_repo_aead() (contexts are not thread-safe, the repo is).
 */
#ifndef CAIRN_REPO_REPO_H
#define CAIRN_REPO_REPO_H

#include "compress/compress.h"
#include "crypto/crypto.h"
#include "repo/format.h"
#include "store/store.h"
#include "util/buf.h"

#include <stdint.h>

struct cairn_repo_config {
	uint8_t id[16];
	/* This repository among those sharing its id (a key family, `init
	 * --copy-keys-from`): the config's "instance", else the id.  Local
	 * state (index and change-tag caches, snapshot bases, seen backups)
	 * is keyed by it, never by id, so that two members of one family on
	 * a host never share a cache (format.h CONFIG). */
	uint8_t instance[16];
	uint32_t version;
	uint32_t chunk_size;
	uint32_t pack_size;
	uint32_t tree_fanout;
	enum cairn_comp_algo compression; /* format.h CONFIG */
	int compression_level;            /* zstd's; 0 for the others */
	int64_t created;                  /* unix seconds */
	/* Object lock (format.h CONFIG, OBJECT LOCK): days every locked
	 * object is retained from its write; 0: none. */
	uint32_t object_lock_days;
	enum cairn_lock_mode object_lock_mode;
};

struct cairn_secrets {
	uint8_t master[32];
	uint8_t enc[CAIRN_KEY_LEN];
	uint8_t id[CAIRN_KEY_LEN];
	uint8_t tag[CAIRN_KEY_LEN];   /* GMAC key for change tags (local only) */
	uint8_t local[CAIRN_KEY_LEN]; /* seals local state derived from the repo */
};

struct cairn_repo {
	struct cairn_store *store;
	struct cairn_repo_config config;
	struct cairn_secrets *keys; /* locked memory */
	char key_name[2 * CAIRN_KEY_ID_LEN + 1]; /* key object that opened it */
	/* What blobs written through this handle are compressed with: the
	 * config's, unless a backup asked otherwise (cairn_repo_set_compression). */
	struct cairn_comp_mode compression;
};

struct cairn_init_params {
	uint32_t chunk_size;   /* 0 = default */
	uint32_t pack_size;    /* 0 = default */
	/* CAIRN_COMP_AUTO with compression_level 0 = the default (auto);
	 * CAIRN_COMP_AUTO with a level = zstd at that level. */
	enum cairn_comp_algo compression;
	int compression_level;
	unsigned scrypt_log2n; /* 0 = default; tests use small values */
	/* A key family (`init --copy-keys-from`): when set, the new
	 * repository takes this one's id, master secret, chunk size, pack
	 * size, fanout and compression (the fields above but scrypt_log2n
	 * are ignored) and gets a random instance of its own. */
	const struct cairn_repo *family;
	/* `init --object-lock DAYS [--object-lock-mode M]`: 0 = none; the
	 * store must take it (S3 with Object Lock). */
	uint32_t object_lock_days;
	enum cairn_lock_mode object_lock_mode;
};

/* The most days of object lock init takes (S3's limit is 100 years). */
#define CAIRN_OBJECT_LOCK_DAYS_MAX 36500

/* Creates a repository in an empty store (creating the directory or bucket).
 * Fails with CAIRN_EEXIST if the store already holds a config, or data
 * without one (keys alone, from an interrupted init, are allowed). */
int cairn_repo_init(struct cairn_store *store, const char *pass, size_t passlen,
		    const struct cairn_init_params *p, struct cairn_repo **ret);

/* 1 (and the first key found) when the store holds backups, index objects
 * or packs, 0 when it holds none: for a store without a config. */
int cairn_repo_data_without_config(struct cairn_store *store, char ret_key[128]);

/* Opens a repository; takes ownership of store in every case. Errors:
 * CAIRN_ENOTREPO (no or foreign config), CAIRN_EVERSION (format version not
 * understood), CAIRN_EPASSPHRASE (no key opens), CAIRN_ECORRUPT. */
int cairn_repo_open(struct cairn_store *store, const char *pass, size_t passlen, struct cairn_repo **ret);

/* Object lock: "compliance" or "governance" (the config's spelling);
 * parse gives -1 for any other word. */
const char *cairn_lock_mode_name(enum cairn_lock_mode m);
int cairn_lock_mode_parse(const char *s);
/* Hands the config's retention to the store (CAIRN_EUNSUPPORTED, message
 * set, when the store cannot retain objects); open and init call it. */
int cairn_repo_lock_apply(struct cairn_repo *repo);
/* Test hook (CAIRN_TEST_OBJECT_LOCK_SECONDS, set by app/settings.c at
 * start): retain for this many seconds instead of the config's days, so
 * a test can see a lock run out.  0: off. */
void cairn_repo_set_test_lock_seconds(int64_t seconds);

/* The compression the config names, as a mode. */
struct cairn_comp_mode cairn_repo_config_compression(const struct cairn_repo_config *c);
/* Makes the blobs written through repo (by codecs set up afterwards)
 * compressed as m says instead of as the config says: `backup
 * --compression`.  Readers need nothing: each blob records its algorithm. */
void cairn_repo_set_compression(struct cairn_repo *repo, const struct cairn_comp_mode *m);

void cairn_repo_free(struct cairn_repo *r);
static inline void cairn_repo_freep(struct cairn_repo **r)
{
	cairn_repo_free(*r);
}

/* What the repository's store offers, for the layers above repo/: how
 * many requests it serves well at once, and the removal of what killed
 * writes left behind before `before` (unix seconds; store.h). */
static inline unsigned cairn_repo_parallelism(const struct cairn_repo *r)
{
	return cairn_store_parallelism(r->store);
}
static inline int cairn_repo_sweep(struct cairn_repo *r, int64_t before, struct cairn_store_sweep *ret)
{
	return cairn_store_sweep(r->store, before, ret);
}

int cairn_repo_hasher(const struct cairn_repo *r, struct cairn_hasher **ret);

/* The key fingerprint: 32 hex digits of HKDF-SHA256(M, info "cairn v1
 * fingerprint") (format.h CRYPTO), equal for every repository of one key
 * family (`init --copy-keys-from`) and telling nothing about its keys.
 * export-details prints it; import and copy compare it. */
#define CAIRN_FINGERPRINT_HEX 32
int cairn_repo_fingerprint(const struct cairn_repo *r, char ret[CAIRN_FINGERPRINT_HEX + 1]);
int cairn_repo_aead(const struct cairn_repo *r, struct cairn_aead **ret);

/* Seals an object body with the domain letter and name as additional data
 * (format.h CRYPTO); out is replaced. */
int cairn_repo_seal(struct cairn_aead *a, char type, const uint8_t *name, size_t namelen, const void *data,
		    size_t len, struct cairn_buf *out);
/* Opens what cairn_repo_seal made; CAIRN_ECORRUPT if it does not authenticate. */
int cairn_repo_unseal(struct cairn_aead *a, char type, const uint8_t *name, size_t namelen, const uint8_t *in,
		      size_t len, struct cairn_buf *out);

/* Keys (passphrases).  kid is the 16-hex name of a key object. */
struct cairn_key_info {
	char kid[2 * CAIRN_KEY_ID_LEN + 1];
	int64_t created;
	unsigned log2n, r, p; /* scrypt parameters */
	int current; /* the key this repo was opened with */
};
int cairn_repo_key_add(struct cairn_repo *r, const char *pass, size_t passlen, unsigned log2n,
		       char ret_kid[2 * CAIRN_KEY_ID_LEN + 1]);
/* Fills *ret (malloc'd, caller frees) with every readable key object. */
int cairn_repo_key_list(struct cairn_repo *r, struct cairn_key_info **ret, size_t *ret_n);
/* Refuses to remove the key in use or the last key. */
int cairn_repo_key_remove(struct cairn_repo *r, const char *kid);

/* The passphrase's work factor as `init` and `key add --kdf-memory` take
 * it: scrypt memory 128 * N * r bytes with r = 8, a power of two from 16
 * MiB (N = 2^14) to 1 GiB (N = 2^20); 32 MiB (2^15) by default.  Readers
 * accept more (format.h KEY OBJECT), within an open's budget (below). */
#define CAIRN_KDF_MEMORY_MIN (16ull << 20)
#define CAIRN_KDF_MEMORY_MAX (1ull << 30)
/* *ret_log2n for scrypt memory of bytes; CAIRN_EINVAL outside the range
 * above or not a power of two. */
int cairn_kdf_log2n_of_memory(uint64_t bytes, unsigned *ret_log2n);
/* The scrypt memory a key object with these parameters needs. */
static inline uint64_t cairn_kdf_memory(unsigned log2n, unsigned r)
{
	return ((uint64_t)128 << log2n) * r;
}

/* How many keys one open tries at most: costs (scrypt work, 128 * N * r *
 * p) in the order tried, cheapest first, taken while their sum stays
 * within budget (CAIRN_KEY_OPEN_BUDGET).  Exposed for tests. */
size_t cairn_key_budget_fit(const uint64_t *costs, size_t n, uint64_t budget);

/* Key object codec (exposed for tests and fuzzing). */
struct cairn_key_object {
	uint32_t version;
	uint8_t log2n, r, p;
	uint8_t salt[CAIRN_KEY_SALT_LEN];
	int64_t created;
	uint8_t wrapped[CAIRN_AEAD_OVERHEAD + 32];
};
int cairn_key_object_parse(const uint8_t *data, size_t len, struct cairn_key_object *ret);
int cairn_key_object_make(const uint8_t master[32], const char *pass, size_t passlen, unsigned log2n,
			  uint8_t out[CAIRN_KEY_OBJECT_LEN]);
/* Unwraps the master secret with a passphrase: CAIRN_EPASSPHRASE if wrong. */
int cairn_key_object_unwrap(const struct cairn_key_object *k, const uint8_t *raw_header, const char *pass,
			    size_t passlen, uint8_t master[32]);

/* Config parsing of the opened JSON body (fuzzed). */
int cairn_config_parse_json(const uint8_t *data, size_t len, struct cairn_repo_config *ret);

#endif
