/* Shared helpers of the unit tests: assertions that print cairn's error
 * message, scratch directories, deterministic data, and small repositories.
 *
 * Everything is static (each test_<module>.c is its own executable) and
 * marked unused so a test that needs only part of it stays warning-clean.
 */
#ifndef CAIRN_TESTS_HELPERS_H
#define CAIRN_TESTS_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/settings.h"
#include "cairn/error.h"
#include "state/state.h"
#include "util/error.h"

#define TH_UNUSED __attribute__((unused))

/* cairn reads its environment once, at start (app/settings.c): a test
 * that changes it has the settings read again. */
static TH_UNUSED void th_setenv(const char *name, const char *value)
{
	setenv(name, value, 1);
	(void)cairn_settings_init();
}
static TH_UNUSED void th_unsetenv(const char *name)
{
	unsetenv(name);
	(void)cairn_settings_init();
}

/* Asserts expr == 0 and shows the code and message otherwise. */
#define ck_ok(expr)                                                                                 \
	do {                                                                                        \
		int ck_r_ = (expr);                                                                 \
		if (ck_r_ != 0)                                                                     \
			fail_msg("%s = %d (%s): %s", #expr, ck_r_, cairn_error_name(ck_r_),          \
				 cairn_error_message());                                            \
	} while (0)

/* Asserts expr returns exactly the error code want. */
#define ck_err(expr, want)                                                                          \
	do {                                                                                        \
		int ck_r_ = (expr);                                                                 \
		int ck_w_ = (want);                                                                 \
		if (ck_r_ != ck_w_)                                                                 \
			fail_msg("%s = %d (%s), expected %d (%s); message: %s", #expr, ck_r_,        \
				 cairn_error_name(ck_r_), ck_w_, cairn_error_name(ck_w_),             \
				 cairn_error_message());                                            \
	} while (0)

/* Scratch directories under $CAIRN_TEST_TMP (meson sets it) or /tmp. */
static TH_UNUSED void th_tmpdir(char *buf, size_t size, const char *what)
{
	const char *base = getenv("CAIRN_TEST_TMP");
	if (!base || !*base)
		base = "/tmp";
	snprintf(buf, size, "%s/%s-XXXXXX", base, what);
	assert_non_null(mkdtemp(buf));
}

static int th_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static TH_UNUSED void th_rm_rf(const char *path)
{
	nftw(path, th_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Deterministic bytes, different per seed (xorshift64). */
static TH_UNUSED void th_fill(void *buf, size_t n, uint64_t seed)
{
	uint8_t *p = buf;
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 29);
	}
}

static TH_UNUSED uint8_t *th_data(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	th_fill(p, n, seed);
	return p;
}

/* Compressible text-like bytes. */
static TH_UNUSED void th_fill_text(void *buf, size_t n, uint64_t seed)
{
	static const char *const words[] = { "cairn ", "volume ", "chunk ", "pack ", "tree ", "backup ",
					     "restore ", "index\n" };
	uint8_t *p = buf;
	uint64_t x = seed + 1;
	size_t i = 0;
	while (i < n) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		const char *w = words[(x >> 33) % 8];
		for (; *w && i < n; w++)
			p[i++] = (uint8_t)*w;
	}
}

/* Reads a whole file into a malloc'd buffer. */
static TH_UNUSED uint8_t *th_read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	uint8_t *p = malloc(n ? (size_t)n : 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*ret_len = (size_t)n;
	return p;
}

static TH_UNUSED void th_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Flips one bit of byte `at` of a file (at < 0 counts from the end). */
static TH_UNUSED void th_flip_file_byte(const char *path, long at)
{
	size_t len;
	uint8_t *p = th_read_file(path, &len);
	size_t i = at < 0 ? len - (size_t)(-at) : (size_t)at;
	assert_true(i < len);
	p[i] ^= 0x40;
	th_write_file(path, p, len);
	free(p);
}

#ifdef TH_WANT_REPO
#include "repo/pack.h"
#include "repo/repo.h"
#include "store/store.h"
#include "store/testwrap.h"

#define TH_PASS "correct horse battery staple"
#define TH_PASS_LEN (sizeof(TH_PASS) - 1)

/* Creates a repository in a fresh scratch directory; fast scrypt. */
static TH_UNUSED struct cairn_repo *th_repo_init(char *dir, size_t dirsize, const char *what, uint32_t chunk_size)
{
	th_tmpdir(dir, dirsize, what);
	struct cairn_store *s = NULL;
	ck_ok(cairn_store_local_open(dir, &s));
	struct cairn_init_params p = { .chunk_size = chunk_size, .scrypt_log2n = 10 };
	struct cairn_repo *repo = NULL;
	ck_ok(cairn_repo_init(s, TH_PASS, TH_PASS_LEN, &p, &repo));
	return repo;
}

/* A fresh repository with one thread's codec and AEAD context, for the
 * tests of the layers that seal and parse objects (pack, index). */
struct th_codec_fx {
	char dir[PATH_MAX];
	struct cairn_repo *repo;
	struct cairn_blob_codec codec;
	struct cairn_aead *aead;
};

static TH_UNUSED struct th_codec_fx *th_codec_fx_new(const char *what)
{
	struct th_codec_fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->repo = th_repo_init(f->dir, sizeof(f->dir), what, 4096);
	ck_ok(cairn_blob_codec_init(&f->codec, f->repo));
	ck_ok(cairn_repo_aead(f->repo, &f->aead));
	return f;
}

static TH_UNUSED void th_codec_fx_free(struct th_codec_fx *f)
{
	cairn_aead_free(f->aead);
	cairn_blob_codec_free(&f->codec);
	cairn_repo_free(f->repo);
	th_rm_rf(f->dir);
	free(f);
}

static TH_UNUSED int th_repo_open(const char *dir, const char *pass, struct cairn_repo **ret)
{
	struct cairn_store *s = NULL;
	ck_ok(cairn_store_local_open(dir, &s));
	return cairn_repo_open(s, pass, strlen(pass), ret);
}

/* A blob reference made from a seed: id th_fill(i + 1), the other fields
 * varied with i, in pack slot pack (the index and index-cache tests). */
static TH_UNUSED struct cairn_blob_ref th_blob_ref(uint64_t i, uint32_t pack)
{
	struct cairn_blob_ref r;
	memset(&r, 0, sizeof(r));
	th_fill(r.id, CAIRN_ID_LEN, i + 1);
	r.pack = pack;
	r.offset = (uint32_t)(i * 7);
	r.stored_len = (uint32_t)(100 + i % 1000);
	r.raw_len = (uint32_t)(72 + i % 5000);
	r.type = (uint8_t)(i % 2);
	r.flags = (uint8_t)((i / 2) % 2);
	return r;
}

/* Path of a repository object (a key of the local store). */
static TH_UNUSED void th_obj_path(char *buf, size_t size, const char *dir, const char *key)
{
	int n = snprintf(buf, size, "%s/%s", dir, key);
	assert_true(n > 0 && (size_t)n < size);
}

/* Collects the keys under a prefix. */
struct th_keys {
	char **v;
	size_t n;
};

static int th_collect_key(const char *key, uint64_t size, void *ud)
{
	(void)size;
	struct th_keys *k = ud;
	char **v = realloc(k->v, (k->n + 1) * sizeof(*v));
	assert_non_null(v);
	k->v = v;
	k->v[k->n] = strdup(key);
	assert_non_null(k->v[k->n]);
	k->n++;
	return 0;
}

static TH_UNUSED void th_list(struct cairn_store *s, const char *prefix, struct th_keys *ret)
{
	ret->v = NULL;
	ret->n = 0;
	ck_ok(cairn_store_list(s, prefix, th_collect_key, ret));
}

static TH_UNUSED void th_keys_free(struct th_keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	k->v = NULL;
	k->n = 0;
}
#endif

/* A fresh state database in its own scratch directory, as cmocka state. */
struct th_state_fx {
	char dir[PATH_MAX];
	struct cairn_state *st;
};

static TH_UNUSED int th_state_setup(void **state)
{
	struct th_state_fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	th_tmpdir(f->dir, sizeof(f->dir), "state");
	ck_ok(cairn_state_open(f->dir, NULL, &f->st));
	*state = f;
	return 0;
}

static TH_UNUSED int th_state_teardown(void **state)
{
	struct th_state_fx *f = *state;
	cairn_state_free(f->st);
	th_rm_rf(f->dir);
	free(f);
	return 0;
}

#endif
