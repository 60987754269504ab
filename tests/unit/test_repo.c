/* repo/repo: init, open, the config object, sealing helpers. */
#define TH_WANT_REPO
#include "helpers.h"

#include "repo/objects.h"
#include "repo/objlock.h"
#include "repo/repo.h"
#include "util/cleanup.h"
#include "util/hex.h"

#include <ctype.h>
#include <jansson.h>
#include <time.h>
#include <unistd.h>

struct fx {
	char dir[PATH_MAX];
	struct cairn_repo *repo;
	char cfg_path[PATH_MAX];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->repo = th_repo_init(f->dir, sizeof(f->dir), "repo", 0);
	th_obj_path(f->cfg_path, sizeof(f->cfg_path), f->dir, "config");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	cairn_repo_free(f->repo);
	th_rm_rf(f->dir);
	free(f);
	return 0;
}

static int open_dir(const char *dir, const char *pass)
{
	struct cairn_repo *r = NULL;
	int rc = th_repo_open(dir, pass, &r);
	if (rc == 0)
		assert_non_null(r);
	cairn_repo_free(r);
	return rc;
}

/* ---- init ---- */

static void test_init_defaults(void **state)
{
	struct fx *f = *state;
	const struct cairn_repo_config *c = &f->repo->config;
	assert_int_equal(c->version, CAIRN_FORMAT_VERSION);
	assert_int_equal(c->chunk_size, CAIRN_CHUNK_SIZE_DEFAULT);
	assert_int_equal(c->pack_size, CAIRN_PACK_SIZE_DEFAULT);
	assert_int_equal(c->tree_fanout, CAIRN_TREE_FANOUT);
	assert_int_equal(c->compression, CAIRN_COMP_AUTO);
	assert_int_equal(c->compression_level, 0);
	assert_true(c->created > 1700000000 && c->created <= (int64_t)time(NULL));
	static const uint8_t zero[16];
	assert_memory_not_equal(c->id, zero, 16);

	/* The objects init writes: a config and one key object. */
	struct th_keys k;
	th_list(f->repo->store, "", &k);
	assert_int_equal(k.n, 2);
	th_keys_free(&k);
	th_list(f->repo->store, "keys/", &k);
	assert_int_equal(k.n, 1);
	assert_int_equal(strlen(k.v[0]), 5 + 2 * CAIRN_KEY_ID_LEN);
	assert_string_equal(k.v[0] + 5, f->repo->key_name);
	th_keys_free(&k);

	/* The config header is in the clear, the body is not. */
	size_t len;
	uint8_t *cfg = th_read_file(f->cfg_path, &len);
	assert_true(len > CAIRN_CONFIG_HEADER_LEN + CAIRN_AEAD_OVERHEAD);
	assert_memory_equal(cfg, CAIRN_CONFIG_MAGIC, CAIRN_MAGIC_LEN);
	assert_int_equal(cairn_le32(cfg + 8), CAIRN_FORMAT_VERSION);
	assert_null(memmem(cfg, len, "chunk_size", 10));
	free(cfg);
}

static void test_init_params(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "repo-params");
	struct cairn_store *s = NULL;
	ck_ok(cairn_store_local_open(dir, &s));
	struct cairn_init_params p = { .chunk_size = 1u << 20, .pack_size = 1u << 19, .compression_level = 7,
				       .scrypt_log2n = 10 };
	struct cairn_repo *r = NULL;
	ck_ok(cairn_repo_init(s, "pw", 2, &p, &r));
	assert_int_equal(r->config.chunk_size, 1u << 20);
	/* A pack holds at least one chunk. */
	assert_int_equal(r->config.pack_size, 1u << 20);
	assert_int_equal(r->config.compression_level, 7);
	uint8_t id[16];
	memcpy(id, r->config.id, 16);
	cairn_repo_free(r);

	/* Open sees what init wrote. */
	r = NULL;
	ck_ok(th_repo_open(dir, "pw", &r));
	assert_int_equal(r->config.chunk_size, 1u << 20);
	assert_int_equal(r->config.pack_size, 1u << 20);
	assert_int_equal(r->config.compression_level, 7);
	/* A level alone is zstd at that level, and what backups write. */
	assert_int_equal(r->config.compression, CAIRN_COMP_ZSTD);
	assert_int_equal(r->compression.algo, CAIRN_COMP_ZSTD);
	assert_int_equal(r->compression.level, 7);
	assert_int_equal(r->config.tree_fanout, CAIRN_TREE_FANOUT);
	assert_memory_equal(r->config.id, id, 16);
	cairn_repo_free(r);
	th_rm_rf(dir);

	/* lz4 is stored as such and read back; backups of that handle write
	 * lz4 unless told otherwise. */
	th_tmpdir(dir, sizeof(dir), "repo-lz4");
	ck_ok(cairn_store_local_open(dir, &s));
	p = (struct cairn_init_params){ .compression = CAIRN_COMP_LZ4, .scrypt_log2n = 10 };
	ck_ok(cairn_repo_init(s, "pw", 2, &p, &r));
	cairn_repo_free(r);
	ck_ok(th_repo_open(dir, "pw", &r));
	assert_int_equal(r->config.compression, CAIRN_COMP_LZ4);
	assert_int_equal(r->config.compression_level, 0);
	assert_int_equal(r->compression.algo, CAIRN_COMP_LZ4);
	cairn_repo_set_compression(r, &(struct cairn_comp_mode){ CAIRN_COMP_ZSTD, -3 });
	assert_int_equal(r->compression.level, -3);
	assert_int_equal(r->config.compression, CAIRN_COMP_LZ4);
	cairn_repo_free(r);
	th_rm_rf(dir);

	/* Limits of the chunk size. */
	static const uint32_t good[] = { CAIRN_CHUNK_SIZE_MIN, CAIRN_CHUNK_SIZE_MAX };
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		th_tmpdir(dir, sizeof(dir), "repo-chunk");
		ck_ok(cairn_store_local_open(dir, &s));
		p = (struct cairn_init_params){ .chunk_size = good[i], .scrypt_log2n = 10 };
		ck_ok(cairn_repo_init(s, "pw", 2, &p, &r));
		assert_int_equal(r->config.chunk_size, good[i]);
		cairn_repo_free(r);
		th_rm_rf(dir);
	}
}

/* A key family (init with .family): same id, master, chunk, pack and
 * compression; its own key object and passphrase; a fresh instance that
 * open reads back; the fingerprint shared. */
static void test_init_family(void **state)
{
	(void)state;
	char a[PATH_MAX], b[PATH_MAX];
	th_tmpdir(a, sizeof(a), "repo-fam-a");
	th_tmpdir(b, sizeof(b), "repo-fam-b");
	struct cairn_store *s = NULL;
	ck_ok(cairn_store_local_open(a, &s));
	struct cairn_init_params p = { .chunk_size = 1u << 14, .pack_size = 1u << 20, .compression = CAIRN_COMP_LZ4,
				       .scrypt_log2n = 10 };
	struct cairn_repo *ra = NULL, *rb = NULL;
	ck_ok(cairn_repo_init(s, "pa", 2, &p, &ra));
	assert_memory_equal(ra->config.instance, ra->config.id, 16);
	ck_ok(cairn_store_local_open(b, &s));
	/* What the caller gives besides the family is ignored. */
	struct cairn_init_params q = { .chunk_size = 1u << 16, .compression_level = 9, .scrypt_log2n = 10,
				       .family = ra };
	ck_ok(cairn_repo_init(s, "pb", 2, &q, &rb));
	assert_memory_equal(rb->config.id, ra->config.id, 16);
	assert_memory_not_equal(rb->config.instance, rb->config.id, 16);
	assert_int_equal(rb->config.chunk_size, 1u << 14);
	assert_int_equal(rb->config.pack_size, 1u << 20);
	assert_int_equal(rb->config.compression, CAIRN_COMP_LZ4);
	uint8_t inst[16];
	memcpy(inst, rb->config.instance, 16);
	char fa[CAIRN_FINGERPRINT_HEX + 1], fb[CAIRN_FINGERPRINT_HEX + 1];
	ck_ok(cairn_repo_fingerprint(ra, fa));
	cairn_repo_free(rb);
	rb = NULL;
	/* Its own passphrase opens it, the source's does not. */
	ck_err(th_repo_open(b, "pa", &rb), CAIRN_EPASSPHRASE);
	ck_ok(th_repo_open(b, "pb", &rb));
	assert_memory_equal(rb->config.instance, inst, 16);
	assert_memory_equal(rb->config.id, ra->config.id, 16);
	ck_ok(cairn_repo_fingerprint(rb, fb));
	assert_string_equal(fa, fb);
	cairn_repo_free(rb);
	cairn_repo_free(ra);
	th_rm_rf(a);
	th_rm_rf(b);
}

static void test_init_bad(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	static const uint32_t bad[] = { 1, 2048, 3000, 65535, 65537, CAIRN_CHUNK_SIZE_MAX * 2, UINT32_MAX };
	for (size_t i = 0; i < ARRAY_SIZE(bad) + 1; i++) {
		th_tmpdir(dir, sizeof(dir), "repo-bad");
		struct cairn_store *s = NULL;
		ck_ok(cairn_store_local_open(dir, &s));
		struct cairn_init_params p = { .chunk_size = i < ARRAY_SIZE(bad) ? bad[i] : 0, .scrypt_log2n = 10 };
		struct cairn_repo *r = NULL;
		/* The last round: a good chunk size and an empty passphrase. */
		if (i < ARRAY_SIZE(bad))
			ck_err(cairn_repo_init(s, "pw", 2, &p, &r), CAIRN_EINVAL);
		else
			ck_err(cairn_repo_init(s, "", 0, &p, &r), CAIRN_EINVAL);
		assert_null(r);
		/* Nothing was written. */
		assert_int_equal(open_dir(dir, "pw"), CAIRN_ENOTREPO);
		struct cairn_store *s2 = NULL;
		ck_ok(cairn_store_local_open(dir, &s2));
		struct th_keys k;
		th_list(s2, "", &k);
		assert_int_equal(k.n, 0);
		th_keys_free(&k);
		cairn_store_free(s2);
		th_rm_rf(dir);
	}
}

/* An scrypt cost below what readers accept would make a repository that
 * can never be opened: refused up front. */
static void test_init_bad_cost(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "repo-cost");
	struct cairn_store *s = NULL;
	ck_ok(cairn_store_local_open(dir, &s));
	struct cairn_init_params p = { .scrypt_log2n = 9 };
	struct cairn_repo *r = NULL;
	int rc = cairn_repo_init(s, "pw", 2, &p, &r);
	cairn_repo_free(r);
	if (rc == 0)
		fail_msg("init with scrypt 2^9 succeeded; open then says: %d (%s)", open_dir(dir, "pw"),
			 cairn_error_message());
	ck_err(rc, CAIRN_EINVAL);
	assert_int_equal(open_dir(dir, "pw"), CAIRN_ENOTREPO);
	th_rm_rf(dir);
}

static void test_init_over_existing(void **state)
{
	struct fx *f = *state;
	struct cairn_store *s = NULL;
	ck_ok(cairn_store_local_open(f->dir, &s));
	struct cairn_init_params p = { .scrypt_log2n = 10 };
	struct cairn_repo *r = NULL;
	ck_err(cairn_repo_init(s, "another", 7, &p, &r), CAIRN_EEXIST);
	assert_null(r);
	/* The existing repository is untouched: one key, old passphrase. */
	ck_ok(open_dir(f->dir, TH_PASS));
	ck_err(open_dir(f->dir, "another"), CAIRN_EPASSPHRASE);
	struct th_keys k;
	th_list(f->repo->store, "keys/", &k);
	assert_int_equal(k.n, 1);
	th_keys_free(&k);
}

/* The store directory does not exist yet: init creates it. */
static void test_init_creates_dir(void **state)
{
	(void)state;
	char base[PATH_MAX], dir[PATH_MAX + 16];
	th_tmpdir(base, sizeof(base), "repo-mk");
	snprintf(dir, sizeof(dir), "%s/new", base);
	struct cairn_store *s = NULL;
	ck_ok(cairn_store_local_open(dir, &s));
	struct cairn_init_params p = { .scrypt_log2n = 10 };
	struct cairn_repo *r = NULL;
	ck_ok(cairn_repo_init(s, "pw", 2, &p, &r));
	cairn_repo_free(r);
	ck_ok(open_dir(dir, "pw"));
	th_rm_rf(base);
}

/* ---- open ---- */

static void test_open(void **state)
{
	struct fx *f = *state;
	struct cairn_repo *r = NULL;
	ck_ok(th_repo_open(f->dir, TH_PASS, &r));
	assert_memory_equal(r->config.id, f->repo->config.id, 16);
	assert_int_equal(r->config.chunk_size, f->repo->config.chunk_size);
	assert_int_equal(r->config.pack_size, f->repo->config.pack_size);
	assert_true(r->config.created == f->repo->config.created);
	assert_string_equal(r->key_name, f->repo->key_name);
	cairn_repo_free(r);
	ck_err(open_dir(f->dir, "nope"), CAIRN_EPASSPHRASE);
	cairn_repo_free(NULL);
}

static void test_open_not_repo(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "repo-none");
	/* Empty directory. */
	ck_err(open_dir(dir, "pw"), CAIRN_ENOTREPO);
	/* Missing directory. */
	char missing[PATH_MAX + 16];
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	ck_err(open_dir(missing, "pw"), CAIRN_ENOTREPO);
	/* A config file of something else, or too short for a header. */
	th_obj_path(path, sizeof(path), dir, "config");
	th_write_file(path, "[core]\n\trepositoryformatversion = 0\n", 36);
	ck_err(open_dir(dir, "pw"), CAIRN_ENOTREPO);
	th_write_file(path, "CAIRNCFG", 8);
	ck_err(open_dir(dir, "pw"), CAIRN_ENOTREPO);
	th_write_file(path, "", 0);
	ck_err(open_dir(dir, "pw"), CAIRN_ENOTREPO);
	th_rm_rf(dir);
}

static void test_open_other_version(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *cfg = th_read_file(f->cfg_path, &len);
	static const uint32_t versions[] = { 0, 2, 99, UINT32_MAX };
	for (size_t i = 0; i < ARRAY_SIZE(versions); i++) {
		cairn_put_le32(cfg + 8, versions[i]);
		th_write_file(f->cfg_path, cfg, len);
		/* Refused before any key is tried: the passphrase does not
		 * matter, and the message names the version. */
		ck_err(open_dir(f->dir, TH_PASS), CAIRN_EVERSION);
		ck_err(open_dir(f->dir, "wrong"), CAIRN_EVERSION);
		char want[32];
		snprintf(want, sizeof(want), "%u", versions[i]);
		assert_non_null(strstr(cairn_error_message(), want));
	}
	/* Only the header: also a version error, not "not a repository". */
	cairn_put_le32(cfg + 8, 2);
	th_write_file(f->cfg_path, cfg, CAIRN_CONFIG_HEADER_LEN);
	ck_err(open_dir(f->dir, TH_PASS), CAIRN_EVERSION);
	free(cfg);
}

static void test_open_tampered_config(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *cfg = th_read_file(f->cfg_path, &len);
	/* Any byte of the sealed body. */
	for (size_t i = CAIRN_CONFIG_HEADER_LEN; i < len; i += 9) {
		cfg[i] ^= 0x08;
		th_write_file(f->cfg_path, cfg, len);
		ck_err(open_dir(f->dir, TH_PASS), CAIRN_ECORRUPT);
		cfg[i] ^= 0x08;
	}
	cfg[len - 1] ^= 0x08;
	th_write_file(f->cfg_path, cfg, len);
	ck_err(open_dir(f->dir, TH_PASS), CAIRN_ECORRUPT);
	cfg[len - 1] ^= 0x08;
	/* Truncated body, nothing after the header, an extra byte. */
	th_write_file(f->cfg_path, cfg, len - 1);
	ck_err(open_dir(f->dir, TH_PASS), CAIRN_ECORRUPT);
	th_write_file(f->cfg_path, cfg, CAIRN_CONFIG_HEADER_LEN + 10);
	ck_err(open_dir(f->dir, TH_PASS), CAIRN_ECORRUPT);
	th_write_file(f->cfg_path, cfg, CAIRN_CONFIG_HEADER_LEN);
	ck_err(open_dir(f->dir, TH_PASS), CAIRN_ECORRUPT);
	uint8_t *longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, cfg, len);
	longer[len] = 0;
	th_write_file(f->cfg_path, longer, len + 1);
	ck_err(open_dir(f->dir, TH_PASS), CAIRN_ECORRUPT);
	free(longer);
	/* Intact again. */
	th_write_file(f->cfg_path, cfg, len);
	ck_ok(open_dir(f->dir, TH_PASS));
	free(cfg);
}

/* The config of another repository (same passphrase) does not open with
 * this repository's keys. */
static void test_open_foreign_config(void **state)
{
	struct fx *f = *state;
	char dir2[PATH_MAX], cfg2[PATH_MAX];
	struct cairn_repo *r2 = th_repo_init(dir2, sizeof(dir2), "repo-2", 0);
	cairn_repo_free(r2);
	th_obj_path(cfg2, sizeof(cfg2), dir2, "config");
	size_t len;
	uint8_t *c = th_read_file(cfg2, &len);
	th_write_file(f->cfg_path, c, len);
	ck_err(open_dir(f->dir, TH_PASS), CAIRN_ECORRUPT);
	free(c);
	th_rm_rf(dir2);
}

/* Writes a config body sealed with the repository's own key (as a future
 * or buggy writer would) and opens it. */
static int open_with_body(struct fx *f, const char *body, uint32_t header_version)
{
	uint8_t header[CAIRN_CONFIG_HEADER_LEN];
	memcpy(header, CAIRN_CONFIG_MAGIC, CAIRN_MAGIC_LEN);
	cairn_put_le32(header + 8, header_version);
	struct cairn_aead *a = NULL;
	ck_ok(cairn_repo_aead(f->repo, &a));
	struct cairn_buf sealed = CAIRN_BUF_INIT, obj = CAIRN_BUF_INIT;
	ck_ok(cairn_repo_seal(a, 'C', header, sizeof(header), body, strlen(body), &sealed));
	ck_ok(cairn_buf_append(&obj, header, sizeof(header)));
	ck_ok(cairn_buf_append(&obj, sealed.data, sealed.len));
	th_write_file(f->cfg_path, obj.data, obj.len);
	cairn_buf_free(&sealed);
	cairn_buf_free(&obj);
	cairn_aead_free(a);
	return open_dir(f->dir, TH_PASS);
}

#define BODY(version, chunk, fanout, comp)                                                                \
	"{\"version\":" version ",\"id\":\"00112233445566778899aabbccddeeff\",\"created\":\"2026-11-25T14:20:04Z\"," \
	"\"chunk_size\":" chunk ",\"pack_size\":16777216,\"tree_fanout\":" fanout ",\"compression\":\"" comp  \
	"\",\"compression_level\":1}"

static void test_open_config_body(void **state)
{
	struct fx *f = *state;
	ck_ok(open_with_body(f, BODY("1", "65536", "256", "zstd"), 1));
	/* The body's version is checked too. */
	ck_err(open_with_body(f, BODY("2", "65536", "256", "zstd"), 1), CAIRN_EVERSION);
	ck_err(open_with_body(f, BODY("1", "65537", "256", "zstd"), 1), CAIRN_ECORRUPT);
	ck_err(open_with_body(f, BODY("1", "65536", "128", "zstd"), 1), CAIRN_ECORRUPT);
	ck_err(open_with_body(f, BODY("1", "65536", "256", "lz4"), 1), CAIRN_ECORRUPT);
	ck_err(open_with_body(f, "{}", 1), CAIRN_ECORRUPT);
	ck_err(open_with_body(f, "not json", 1), CAIRN_ECORRUPT);
	/* A header with another version is refused before the body is
	 * looked at. */
	ck_err(open_with_body(f, BODY("1", "65536", "256", "zstd"), 2), CAIRN_EVERSION);
}

/* ---- config JSON parser ---- */

static int parse_cfg(const char *s, struct cairn_repo_config *c)
{
	memset(c, 0, sizeof(*c));
	return cairn_config_parse_json((const uint8_t *)s, strlen(s), c);
}

static void test_config_parse(void **state)
{
	(void)state;
	struct cairn_repo_config c;
	ck_ok(parse_cfg(BODY("1", "4096", "256", "zstd"), &c));
	assert_int_equal(c.version, 1);
	assert_int_equal(c.chunk_size, 4096);
	assert_int_equal(c.pack_size, 16777216);
	assert_int_equal(c.tree_fanout, 256);
	assert_int_equal(c.compression_level, 1);
	assert_true(c.created == 1795616404);
	static const uint8_t id[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	assert_memory_equal(c.id, id, 16);
	/* No instance: the id (format.h CONFIG). */
	assert_memory_equal(c.instance, id, 16);
	{
		static const char with_inst[] =
			"{\"version\":1,\"id\":\"00112233445566778899aabbccddeeff\",\"created\":\"2026-11-25T14:20:04Z\","
			"\"chunk_size\":65536,\"pack_size\":16777216,\"tree_fanout\":256,\"compression\":\"auto\","
			"\"compression_level\":0,\"instance\":\"ffeeddccbbaa99887766554433221100\"}";
		ck_ok(parse_cfg(with_inst, &c));
		assert_memory_equal(c.id, id, 16);
		assert_int_equal(c.instance[0], 0xff);
		assert_int_equal(c.instance[15], 0x00);
		static const char *const bad_inst[] = { "\"abc\"", "\"FFEEDDCCBBAA9988776655443322110z\"", "12", "null" };
		for (size_t i = 0; i < ARRAY_SIZE(bad_inst); i++) {
			char buf[512];
			snprintf(buf, sizeof(buf),
				 "{\"version\":1,\"id\":\"00112233445566778899aabbccddeeff\",\"created\":"
				 "\"2026-11-25T14:20:04Z\",\"chunk_size\":65536,\"pack_size\":16777216,\"tree_fanout\":256,"
				 "\"compression\":\"auto\",\"compression_level\":0,\"instance\":%s}",
				 bad_inst[i]);
			ck_err(parse_cfg(buf, &c), CAIRN_ECORRUPT);
		}
	}

	ck_err(parse_cfg(BODY("2", "4096", "256", "zstd"), &c), CAIRN_EVERSION);
	ck_err(parse_cfg(BODY("0", "4096", "256", "zstd"), &c), CAIRN_EVERSION);
	ck_err(parse_cfg(BODY("1", "2048", "256", "zstd"), &c), CAIRN_ECORRUPT);
	ck_err(parse_cfg(BODY("1", "33554432", "256", "zstd"), &c), CAIRN_ECORRUPT);
	ck_err(parse_cfg(BODY("1", "-4096", "256", "zstd"), &c), CAIRN_ECORRUPT);
	ck_err(parse_cfg(BODY("1", "\"4096\"", "256", "zstd"), &c), CAIRN_ECORRUPT);
	ck_err(parse_cfg(BODY("1", "4096", "0", "zstd"), &c), CAIRN_ECORRUPT);
	ck_err(parse_cfg(BODY("1", "4096", "256", ""), &c), CAIRN_ECORRUPT);

	/* The compression modes (format.h CONFIG): a level for zstd only. */
#define BODY_COMP(comp, level)                                                                                    \
	"{\"version\":1,\"id\":\"00112233445566778899aabbccddeeff\",\"created\":\"2026-11-25T14:20:04Z\","        \
	"\"chunk_size\":65536,\"pack_size\":16777216,\"tree_fanout\":256,\"compression\":\"" comp               \
	"\",\"compression_level\":" level "}"
	static const struct {
		const char *body;
		int algo, level; /* algo -1: refused */
	} comps[] = {
		{ BODY_COMP("auto", "0"), CAIRN_COMP_AUTO, 0 }, { BODY_COMP("lz4", "0"), CAIRN_COMP_LZ4, 0 },
		{ BODY_COMP("none", "0"), CAIRN_COMP_NONE, 0 }, { BODY_COMP("zstd", "-5"), CAIRN_COMP_ZSTD, -5 },
		{ BODY_COMP("zstd", "22"), CAIRN_COMP_ZSTD, 22 }, { BODY_COMP("auto", "3"), -1, 0 },
		{ BODY_COMP("lz4", "1"), -1, 0 },	       { BODY_COMP("zstd", "0"), -1, 0 },
		{ BODY_COMP("gzip", "0"), -1, 0 },	       { BODY_COMP("zstd:3", "3"), -1, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(comps); i++) {
		if (comps[i].algo < 0) {
			ck_err(parse_cfg(comps[i].body, &c), CAIRN_ECORRUPT);
			continue;
		}
		ck_ok(parse_cfg(comps[i].body, &c));
		assert_int_equal(c.compression, comps[i].algo);
		assert_int_equal(c.compression_level, comps[i].level);
	}
#undef BODY_COMP

	/* Object lock (format.h CONFIG): optional; days and mode together. */
#define BODY_LOCK(extra)                                                                                          \
	"{\"version\":1,\"id\":\"00112233445566778899aabbccddeeff\",\"created\":\"2026-11-25T14:20:04Z\","        \
	"\"chunk_size\":65536,\"pack_size\":16777216,\"tree_fanout\":256,\"compression\":\"auto\","             \
	"\"compression_level\":0" extra "}"
	ck_ok(parse_cfg(BODY_LOCK(""), &c));
	assert_int_equal(c.object_lock_days, 0);
	ck_ok(parse_cfg(BODY_LOCK(",\"object_lock_days\":30,\"object_lock_mode\":\"compliance\""), &c));
	assert_int_equal(c.object_lock_days, 30);
	assert_int_equal(c.object_lock_mode, CAIRN_LOCK_COMPLIANCE);
	ck_ok(parse_cfg(BODY_LOCK(",\"object_lock_days\":36500,\"object_lock_mode\":\"governance\""), &c));
	assert_int_equal(c.object_lock_days, 36500);
	assert_int_equal(c.object_lock_mode, CAIRN_LOCK_GOVERNANCE);
	static const char *const bad_locks[] = {
		BODY_LOCK(",\"object_lock_days\":30"),
		BODY_LOCK(",\"object_lock_mode\":\"compliance\""),
		BODY_LOCK(",\"object_lock_days\":0,\"object_lock_mode\":\"compliance\""),
		BODY_LOCK(",\"object_lock_days\":36501,\"object_lock_mode\":\"compliance\""),
		BODY_LOCK(",\"object_lock_days\":-1,\"object_lock_mode\":\"compliance\""),
		BODY_LOCK(",\"object_lock_days\":\"30\",\"object_lock_mode\":\"compliance\""),
		BODY_LOCK(",\"object_lock_days\":30,\"object_lock_mode\":\"COMPLIANCE\""),
		BODY_LOCK(",\"object_lock_days\":30,\"object_lock_mode\":null"),
		BODY_LOCK(",\"object_lock_days\":1.5,\"object_lock_mode\":\"compliance\""),
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad_locks); i++)
		if (parse_cfg(bad_locks[i], &c) != CAIRN_ECORRUPT)
			fail_msg("accepted: %s", bad_locks[i]);
#undef BODY_LOCK

	/* Every field is required. */
	static const char *const fields[] = { "version",     "id",	"created",	   "chunk_size",
					      "pack_size",   "tree_fanout", "compression", "compression_level" };
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		json_error_t err;
		json_t *j = json_loads(BODY("1", "4096", "256", "zstd"), 0, &err);
		assert_non_null(j);
		assert_int_equal(json_object_del(j, fields[i]), 0);
		char *s = json_dumps(j, 0);
		int r = parse_cfg(s, &c);
		if (r != CAIRN_ECORRUPT)
			fail_msg("without %s: %d (%s)", fields[i], r, cairn_error_name(r));
		free(s);
		json_decref(j);
	}

	/* Bad values of the other fields. */
	static const struct {
		const char *field;
		const char *json;
	} bad[] = {
		{ "id", "\"0011\"" },
		{ "id", "\"00112233445566778899aabbccddeefg\"" },
		{ "id", "\"00112233445566778899aabbccddeeff00\"" },
		{ "pack_size", "1024" },
		{ "pack_size", "4294967296" },
		{ "compression_level", "23" },
		{ "compression_level", "-1000" },
		{ "created", "\"not a time\"" },
		{ "created", "5" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_error_t err;
		json_t *j = json_loads(BODY("1", "4096", "256", "zstd"), 0, &err);
		json_t *v = json_loads(bad[i].json, JSON_DECODE_ANY, &err);
		assert_non_null(j);
		assert_non_null(v);
		json_object_set_new(j, bad[i].field, v);
		char *s = json_dumps(j, 0);
		int r = parse_cfg(s, &c);
		if (r != CAIRN_ECORRUPT)
			fail_msg("%s = %s: %d (%s)", bad[i].field, bad[i].json, r, cairn_error_name(r));
		free(s);
		json_decref(j);
	}

	static const char *const not_json[] = { "", "{", "[1]", "\"x\"", "{\"version\":1} trailing" };
	for (size_t i = 0; i < ARRAY_SIZE(not_json); i++)
		ck_err(parse_cfg(not_json[i], &c), CAIRN_ECORRUPT);
}

/* ---- sealing helpers ---- */

static void test_seal_unseal(void **state)
{
	struct fx *f = *state;
	struct cairn_aead *a = NULL;
	ck_ok(cairn_repo_aead(f->repo, &a));
	uint8_t name[32];
	th_fill(name, sizeof(name), 1);
	struct cairn_buf sealed = CAIRN_BUF_INIT, open = CAIRN_BUF_INIT;
	const char *msg = "the body of an object";
	ck_ok(cairn_repo_seal(a, 'M', name, 16, msg, strlen(msg), &sealed));
	assert_int_equal(sealed.len, strlen(msg) + CAIRN_AEAD_OVERHEAD);
	ck_ok(cairn_repo_unseal(a, 'M', name, 16, sealed.data, sealed.len, &open));
	assert_int_equal(open.len, strlen(msg));
	assert_memory_equal(open.data, msg, strlen(msg));

	/* Another type letter or name: refused. */
	ck_err(cairn_repo_unseal(a, 'I', name, 16, sealed.data, sealed.len, &open), CAIRN_ECORRUPT);
	ck_err(cairn_repo_unseal(a, 'M', name, 15, sealed.data, sealed.len, &open), CAIRN_ECORRUPT);
	ck_err(cairn_repo_unseal(a, 'M', name + 1, 16, sealed.data, sealed.len, &open), CAIRN_ECORRUPT);
	for (size_t l = 0; l < CAIRN_AEAD_OVERHEAD; l++)
		ck_err(cairn_repo_unseal(a, 'M', name, 16, sealed.data, l, &open), CAIRN_ECORRUPT);
	/* Names longer than the additional-data buffer are refused. */
	uint8_t longname[65] = { 0 };
	ck_err(cairn_repo_seal(a, 'M', longname, sizeof(longname), msg, 1, &sealed), CAIRN_EINVAL);
	ck_err(cairn_repo_unseal(a, 'M', longname, sizeof(longname), sealed.data, sealed.len, &open), CAIRN_EINVAL);
	/* The output buffer is replaced, not appended to. */
	ck_ok(cairn_repo_seal(a, 'T', name, 32, "", 0, &sealed));
	assert_int_equal(sealed.len, CAIRN_AEAD_OVERHEAD);
	ck_ok(cairn_repo_unseal(a, 'T', name, 32, sealed.data, sealed.len, &open));
	assert_int_equal(open.len, 0);

	/* The id key and the encryption key are different keys. */
	struct cairn_hasher *h = NULL;
	ck_ok(cairn_repo_hasher(f->repo, &h));
	uint8_t id1[CAIRN_ID_LEN];
	ck_ok(cairn_hasher_id(h, "x", 1, id1));
	cairn_hasher_free(h);
	assert_memory_not_equal(f->repo->keys->id, f->repo->keys->enc, CAIRN_KEY_LEN);

	cairn_buf_free(&sealed);
	cairn_buf_free(&open);
	cairn_aead_free(a);
}

/* Two repositories give different ids to the same chunk. */
static void test_ids_keyed(void **state)
{
	struct fx *f = *state;
	char dir2[PATH_MAX];
	struct cairn_repo *r2 = th_repo_init(dir2, sizeof(dir2), "repo-ids", 0);
	struct cairn_hasher *h1 = NULL, *h2 = NULL;
	ck_ok(cairn_repo_hasher(f->repo, &h1));
	ck_ok(cairn_repo_hasher(r2, &h2));
	uint8_t a[CAIRN_ID_LEN], b[CAIRN_ID_LEN];
	ck_ok(cairn_hasher_id(h1, "chunk", 5, a));
	ck_ok(cairn_hasher_id(h2, "chunk", 5, b));
	assert_memory_not_equal(a, b, CAIRN_ID_LEN);
	cairn_hasher_free(h1);
	cairn_hasher_free(h2);
	cairn_repo_free(r2);
	th_rm_rf(dir2);
}

/* The fingerprint is the same at every open of one repository, differs
 * between repositories, and is 32 lower-case hex digits. */
static void test_fingerprint(void **state)
{
	struct fx *f = *state;
	char a[CAIRN_FINGERPRINT_HEX + 1], b[CAIRN_FINGERPRINT_HEX + 1], c[CAIRN_FINGERPRINT_HEX + 1];
	ck_ok(cairn_repo_fingerprint(f->repo, a));
	assert_int_equal(strspn(a, "0123456789abcdef"), CAIRN_FINGERPRINT_HEX);
	assert_int_equal(strlen(a), CAIRN_FINGERPRINT_HEX);
	struct cairn_repo *again = NULL;
	ck_ok(th_repo_open(f->dir, TH_PASS, &again));
	ck_ok(cairn_repo_fingerprint(again, b));
	assert_string_equal(a, b);
	cairn_repo_free(again);
	char dir2[PATH_MAX];
	struct cairn_repo *r2 = th_repo_init(dir2, sizeof(dir2), "repo-fp", 0);
	ck_ok(cairn_repo_fingerprint(r2, c));
	assert_string_not_equal(a, c);
	cairn_repo_free(r2);
	th_rm_rf(dir2);
}

/* ---- object names (format.h OBJECTS) ---- */

static void test_object_names(void **state)
{
	(void)state;
	uint8_t id[64];
	const char *b = "0123456789abcdef0123456789abcdef";
	char k[200];
	snprintf(k, sizeof(k), "backups/%s", b);
	ck_ok(cairn_object_name_parse(CAIRN_OBJ_MANIFEST, k, id));
	assert_int_equal(id[0], 0x01);
	assert_int_equal(id[15], 0xef);
	/* One spelling: upper case, other lengths, more components or another
	 * kind's prefix are no manifest names. */
	snprintf(k, sizeof(k), "backups/%s", "0123456789ABCDEF0123456789abcdef");
	assert_int_equal(cairn_object_name_parse(CAIRN_OBJ_MANIFEST, k, id), -1);
	snprintf(k, sizeof(k), "backups/%s0", b);
	assert_int_equal(cairn_object_name_parse(CAIRN_OBJ_MANIFEST, k, id), -1);
	snprintf(k, sizeof(k), "backups/%.31s", b);
	assert_int_equal(cairn_object_name_parse(CAIRN_OBJ_MANIFEST, k, id), -1);
	snprintf(k, sizeof(k), "backups/x/%s", b);
	assert_int_equal(cairn_object_name_parse(CAIRN_OBJ_MANIFEST, k, id), -1);
	snprintf(k, sizeof(k), "holds/%s", b);
	assert_int_equal(cairn_object_name_parse(CAIRN_OBJ_MANIFEST, k, id), -1);
	ck_ok(cairn_object_name_parse(CAIRN_OBJ_HOLD, k, NULL));
	snprintf(k, sizeof(k), "groups/%s", b);
	ck_ok(cairn_object_name_parse(CAIRN_OBJ_GROUP, k, NULL));
	snprintf(k, sizeof(k), "lease/%s", b);
	ck_ok(cairn_object_name_parse(CAIRN_OBJ_LEASE, k, NULL));
	snprintf(k, sizeof(k), "running/%s", b);
	ck_ok(cairn_object_name_parse(CAIRN_OBJ_MARKER, k, NULL));
	ck_ok(cairn_object_name_parse(CAIRN_OBJ_KEY, "keys/0123456789abcdef", id));
	assert_int_equal(cairn_object_name_parse(CAIRN_OBJ_KEY, "keys/0123456789ABCDEF", id), -1);
	ck_ok(cairn_object_name_parse(CAIRN_OBJ_CONFIG, "config", NULL));
	assert_int_equal(cairn_object_name_parse(CAIRN_OBJ_CONFIG, "config2", NULL), -1);

	/* packs/<xx>/<64 hex>, xx its first two digits, lower case. */
	snprintf(k, sizeof(k), "index/%s%s", b, b);
	ck_ok(cairn_object_name_parse(CAIRN_OBJ_INDEX, k, id));
	snprintf(k, sizeof(k), "packs/01/%s%s", b, b);
	ck_ok(cairn_object_name_parse(CAIRN_OBJ_PACK, k, id));
	assert_int_equal(id[31], 0xef);
	snprintf(k, sizeof(k), "packs/02/%s%s", b, b);
	assert_int_equal(cairn_object_name_parse(CAIRN_OBJ_PACK, k, id), -1);
	snprintf(k, sizeof(k), "packs/AB/AB%.62s", b);
	assert_int_equal(cairn_object_name_parse(CAIRN_OBJ_PACK, k, id), -1);
	snprintf(k, sizeof(k), "packs/%s%s", b, b);
	assert_int_equal(cairn_object_name_parse(CAIRN_OBJ_PACK, k, id), -1);
	assert_int_equal(cairn_object_name_parse(CAIRN_OBJ_PACK, "packs/01", id), -1);

	assert_int_equal(cairn_object_kind_of("backups/ANYTHING"), CAIRN_OBJ_MANIFEST);
	assert_int_equal(cairn_object_kind_of("packs/zz/y"), CAIRN_OBJ_PACK);
	assert_int_equal(cairn_object_kind_of("config"), CAIRN_OBJ_CONFIG);
	assert_int_equal(cairn_object_kind_of("README"), -1);
	assert_int_equal(cairn_object_kind_of("backups"), -1);
}

/* ---- size caps (format.h OBJECTS) ---- */

static void test_object_read_caps(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "caps");
	struct cairn_store *local = NULL, *s = NULL;
	ck_ok(cairn_store_local_open(dir, &local));
	ck_ok(cairn_store_count_wrap(local, &s));
	const uint64_t cap = cairn_object_kind(CAIRN_OBJ_CONFIG)->max;
	assert_int_equal(cap, CAIRN_CONFIG_OBJECT_MAX);
	uint8_t *big = th_data(cap + 100, 7);
	struct cairn_buf out = CAIRN_BUF_INIT;
	struct cairn_store_counts n;

	/* At the cap: read whole. */
	ck_ok(cairn_store_put(s, "config", big, cap, 0));
	ck_ok(cairn_object_read(s, CAIRN_OBJ_CONFIG, "config", CAIRN_SIZE_UNKNOWN, &out));
	assert_int_equal(out.len, cap);
	assert_memory_equal(out.data, big, cap);

	/* One byte over, size unknown: one get of cap + 1 bytes, refused. */
	ck_ok(cairn_store_put(s, "config", big, cap + 1, 0));
	cairn_store_count_get(s, &n);
	uint64_t got0 = n.bytes_got, gets0 = n.get;
	ck_err(cairn_object_read(s, CAIRN_OBJ_CONFIG, "config", CAIRN_SIZE_UNKNOWN, &out), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), "config is larger than the cap of 65536 bytes for configs"));
	assert_int_equal(out.len, 0);
	cairn_store_count_get(s, &n);
	assert_int_equal(n.get - gets0, 1);
	assert_true(n.bytes_got - got0 <= cap + 1);

	/* Far over (sparse, 1 GiB), size unknown: still cap + 1 bytes at most. */
	char path[PATH_MAX];
	th_obj_path(path, sizeof(path), dir, "config");
	assert_int_equal(truncate(path, 1ll << 30), 0);
	got0 = n.bytes_got;
	ck_err(cairn_object_read(s, CAIRN_OBJ_CONFIG, "config", CAIRN_SIZE_UNKNOWN, &out), CAIRN_ECORRUPT);
	cairn_store_count_get(s, &n);
	assert_true(n.bytes_got - got0 <= cap + 1);

	/* Over by its listed size: not read at all, the size named. */
	gets0 = n.get;
	ck_err(cairn_object_read(s, CAIRN_OBJ_MANIFEST, "backups/x", 1ull << 30, &out), CAIRN_ECORRUPT);
	assert_non_null(
		strstr(cairn_error_message(), "backups/x is 1073741824 bytes, over the cap of 1048576 bytes for manifests"));
	cairn_store_count_get(s, &n);
	assert_int_equal(n.get, gets0);

	/* Missing objects stay missing; packs are read by ranges only. */
	ck_err(cairn_object_read(s, CAIRN_OBJ_HOLD, "holds/none", CAIRN_SIZE_UNKNOWN, &out), CAIRN_ENOTFOUND);
	ck_err(cairn_object_read(s, CAIRN_OBJ_PACK, "packs/ab/x", 10, &out), CAIRN_EINVAL);

	/* Writers are told before they write what readers would refuse. */
	ck_ok(cairn_object_fits(CAIRN_OBJ_MANIFEST, CAIRN_MANIFEST_OBJECT_MAX));
	ck_err(cairn_object_fits(CAIRN_OBJ_MANIFEST, CAIRN_MANIFEST_OBJECT_MAX + 1), CAIRN_EINVAL);
	ck_ok(cairn_object_fits(CAIRN_OBJ_PACK, 1u << 30));
	/* Every kind but packs has a cap, the index's below 1 GiB. */
	for (int k = 0; k < CAIRN_OBJ_KINDS; k++)
		assert_true(k == CAIRN_OBJ_PACK || (cairn_object_kind(k)->max && cairn_object_kind(k)->max < (1ull << 30)));

	cairn_buf_free(&out);
	free(big);
	cairn_store_free(s);
	th_rm_rf(dir);
}


/* Every kind's name built from an id parses back to that id; its letter
 * is the one format.h gives it. */
static void test_object_name_build(void **state)
{
	(void)state;
	static const char letters[CAIRN_OBJ_KINDS] = {
		[CAIRN_OBJ_CONFIG] = 'C', [CAIRN_OBJ_KEY] = 'K',      [CAIRN_OBJ_PACK] = 'T',
		[CAIRN_OBJ_INDEX] = 'I',  [CAIRN_OBJ_MANIFEST] = 'M', [CAIRN_OBJ_GROUP] = 'G',
		[CAIRN_OBJ_HOLD] = 'H',   [CAIRN_OBJ_LEASE] = 'L',    [CAIRN_OBJ_MARKER] = 'R',
	};
	for (int k = 0; k < CAIRN_OBJ_KINDS; k++) {
		const struct cairn_object_kind_info *ki = cairn_object_kind(k);
		assert_int_equal(ki->aad, letters[k]);
		assert_true(ki->idlen <= CAIRN_OBJECT_ID_MAX);
		for (int round = 0; round < 50; round++) {
			uint8_t id[CAIRN_OBJECT_ID_MAX], back[CAIRN_OBJECT_ID_MAX];
			char name[CAIRN_OBJECT_NAME_MAX], again[CAIRN_OBJECT_NAME_MAX], hex[2 * CAIRN_OBJECT_ID_MAX + 1];
			ck_ok(cairn_random(id, sizeof(id)));
			if (round == 0)
				memset(id, 0, sizeof(id));
			cairn_object_name(k, ki->idlen ? id : NULL, name);
			assert_true(strlen(name) < sizeof(name));
			assert_int_equal(strncmp(name, ki->prefix, strlen(ki->prefix)), 0);
			assert_int_equal(cairn_object_kind_of(name), k);
			memset(back, 0xaa, sizeof(back));
			ck_ok(cairn_object_name_parse(k, name, back));
			assert_memory_equal(back, id, ki->idlen);
			if (!ki->idlen) {
				assert_string_equal(name, "config");
				continue;
			}
			cairn_hex_encode(id, ki->idlen, hex);
			if (k == CAIRN_OBJ_PACK) /* its directory: the first two digits */
				assert_memory_equal(name + strlen("packs/"), hex, 2);
			assert_string_equal(name + strlen(name) - 2 * ki->idlen, hex);
			ck_ok(cairn_object_name_hex(k, hex, again));
			assert_string_equal(again, name);
			/* No other kind takes it for one of its own. */
			for (int o = 0; o < CAIRN_OBJ_KINDS; o++)
				if (o != k)
					assert_int_equal(cairn_object_name_parse(o, name, NULL), -1);
		}
	}
	/* Ids in any other spelling are refused, with no name left behind. */
	char out[CAIRN_OBJECT_NAME_MAX] = "x";
	ck_err(cairn_object_name_hex(CAIRN_OBJ_MANIFEST, "0123456789ABCDEF0123456789abcdef", out), CAIRN_EINVAL);
	assert_string_equal(out, "");
	ck_err(cairn_object_name_hex(CAIRN_OBJ_MANIFEST, "0123", out), CAIRN_EINVAL);
	ck_err(cairn_object_name_hex(CAIRN_OBJ_CONFIG, "", out), CAIRN_EINVAL);
}

struct seen_objects {
	char names[8][CAIRN_OBJECT_NAME_MAX];
	bool canonical[8];
	uint8_t ids[8][CAIRN_BACKUP_ID_LEN];
	size_t n;
};

static int see_object(const char *name, const uint8_t *id, uint64_t size, void *ud)
{
	struct seen_objects *s = ud;
	assert_true(s->n < 8);
	assert_true(size > 0);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
	s->canonical[s->n] = id != NULL;
	if (id)
		memcpy(s->ids[s->n], id, CAIRN_BACKUP_ID_LEN);
	s->n++;
	return 0;
}

/* Sealed objects by kind and id: put, get, list, delete through a local
 * store. */
static void test_object_sealed(void **state)
{
	struct fx *f = *state;
	struct cairn_repo *repo = f->repo;
	uint8_t id[CAIRN_BACKUP_ID_LEN], other[CAIRN_BACKUP_ID_LEN];
	ck_ok(cairn_random(id, sizeof(id)));
	memcpy(other, id, sizeof(id));
	other[0] ^= 1;
	const char *msg = "{\"version\":1}";
	uint64_t bytes = 0;
	ck_ok(cairn_object_put_sealed(repo, NULL, CAIRN_OBJ_MANIFEST, id, msg, strlen(msg), CAIRN_PUT_CREATE_ONLY,
				      &bytes));
	assert_int_equal(bytes, strlen(msg) + CAIRN_AEAD_OVERHEAD);
	/* Create-only: the same name twice is refused. */
	ck_err(cairn_object_put_sealed(repo, NULL, CAIRN_OBJ_MANIFEST, id, msg, strlen(msg), CAIRN_PUT_CREATE_ONLY,
				       NULL),
	       CAIRN_EEXIST);

	struct cairn_aead *a = NULL;
	ck_ok(cairn_repo_aead(repo, &a));
	struct cairn_buf obj = CAIRN_BUF_INIT, body = CAIRN_BUF_INIT;
	ck_ok(cairn_object_get_sealed(repo, a, CAIRN_OBJ_MANIFEST, id, CAIRN_SIZE_UNKNOWN, &obj, &body));
	assert_int_equal(body.len, strlen(msg));
	assert_memory_equal(body.data, msg, body.len);
	/* Stored sealed, under its canonical name. */
	char name[CAIRN_OBJECT_NAME_MAX], path[PATH_MAX];
	cairn_object_name(CAIRN_OBJ_MANIFEST, id, name);
	th_obj_path(path, sizeof(path), f->dir, name);
	size_t len;
	uint8_t *raw = th_read_file(path, &len);
	assert_int_equal(len, bytes);
	assert_null(memmem(raw, len, "version", 7));
	free(raw);
	/* Bound to its kind and id: as another kind, or under another id, it
	 * does not open. */
	ck_err(cairn_object_open(a, CAIRN_OBJ_GROUP, id, obj.data, obj.len, &body), CAIRN_ECORRUPT);
	ck_err(cairn_object_open(a, CAIRN_OBJ_MANIFEST, other, obj.data, obj.len, &body), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), "does not open"));
	ck_err(cairn_object_get_sealed(repo, a, CAIRN_OBJ_MANIFEST, other, CAIRN_SIZE_UNKNOWN, &obj, &body),
	       CAIRN_ENOTFOUND);

	/* The config, keys and packs are not sealed whole under their id. */
	ck_err(cairn_object_put_sealed(repo, a, CAIRN_OBJ_KEY, id, msg, strlen(msg), 0, NULL), CAIRN_EINVAL);
	ck_err(cairn_object_put_sealed(repo, a, CAIRN_OBJ_CONFIG, NULL, msg, strlen(msg), 0, NULL), CAIRN_EINVAL);
	ck_err(cairn_object_open(a, CAIRN_OBJ_PACK, id, obj.data, obj.len, &body), CAIRN_EINVAL);

	/* Ranges of objects read by ranges (packs), written as given. */
	uint8_t pid[CAIRN_PACK_ID_LEN];
	ck_ok(cairn_random(pid, sizeof(pid)));
	ck_ok(cairn_object_put(repo, CAIRN_OBJ_PACK, pid, "0123456789", 10, 0));
	ck_ok(cairn_object_get_range(repo, CAIRN_OBJ_PACK, pid, 3, 4, &obj));
	assert_int_equal(obj.len, 4);
	assert_memory_equal(obj.data, "3456", 4);

	/* Listing yields canonical names only, with their ids; list_any the
	 * others too, without an id. */
	ck_ok(cairn_object_put_sealed(repo, a, CAIRN_OBJ_MANIFEST, other, msg, strlen(msg), 0, NULL));
	char odd1[CAIRN_OBJECT_NAME_MAX], hex[2 * CAIRN_BACKUP_ID_LEN + 1];
	cairn_hex_encode(id, sizeof(id), hex);
	for (char *p = hex; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	snprintf(odd1, sizeof(odd1), "backups/%s", hex);
	ck_ok(cairn_store_put(repo->store, odd1, "x", 1, 0));
	ck_ok(cairn_store_put(repo->store, "backups/0123", "x", 1, 0));
	struct seen_objects seen = { 0 };
	ck_ok(cairn_object_list(repo, CAIRN_OBJ_MANIFEST, see_object, &seen));
	assert_int_equal(seen.n, 2);
	for (size_t i = 0; i < seen.n; i++) {
		assert_true(seen.canonical[i]);
		assert_true(memcmp(seen.ids[i], id, sizeof(id)) == 0 || memcmp(seen.ids[i], other, sizeof(id)) == 0);
		char want[CAIRN_OBJECT_NAME_MAX];
		cairn_object_name(CAIRN_OBJ_MANIFEST, seen.ids[i], want);
		assert_string_equal(seen.names[i], want);
	}
	memset(&seen, 0, sizeof(seen));
	ck_ok(cairn_object_list_any(repo, CAIRN_OBJ_MANIFEST, see_object, &seen));
	assert_int_equal(seen.n, 4);
	size_t odd = 0;
	for (size_t i = 0; i < seen.n; i++)
		odd += !seen.canonical[i];
	assert_int_equal(odd, 2);
	struct cairn_key_list names;
	ck_ok(cairn_object_list_names(repo, CAIRN_OBJ_MANIFEST, false, &names));
	assert_int_equal(names.n, 2);
	for (size_t i = 0; i < names.n; i++) {
		ck_ok(cairn_object_name_parse(CAIRN_OBJ_MANIFEST, names.v[i], NULL));
		assert_int_equal(names.size[i], bytes);
	}
	cairn_key_list_free(&names);
	ck_ok(cairn_object_list_names(repo, CAIRN_OBJ_MANIFEST, true, &names));
	assert_int_equal(names.n, 4);
	cairn_key_list_free(&names);

	/* Deleting by id, or by canonical name only: an odd name is left. */
	ck_ok(cairn_object_delete(repo, CAIRN_OBJ_MANIFEST, id));
	ck_err(cairn_object_get_sealed(repo, a, CAIRN_OBJ_MANIFEST, id, CAIRN_SIZE_UNKNOWN, &obj, &body),
	       CAIRN_ENOTFOUND);
	ck_err(cairn_object_delete_name(repo, CAIRN_OBJ_MANIFEST, odd1), CAIRN_EINVAL);
	cairn_object_name(CAIRN_OBJ_MANIFEST, other, name);
	ck_err(cairn_object_delete_name(repo, CAIRN_OBJ_HOLD, name), CAIRN_EINVAL);
	ck_ok(cairn_object_delete_name(repo, CAIRN_OBJ_MANIFEST, name));
	ck_ok(cairn_object_delete(repo, CAIRN_OBJ_PACK, pid));
	memset(&seen, 0, sizeof(seen));
	ck_ok(cairn_object_list_any(repo, CAIRN_OBJ_MANIFEST, see_object, &seen));
	assert_int_equal(seen.n, 2);
	assert_false(seen.canonical[0] || seen.canonical[1]);
	memset(&seen, 0, sizeof(seen));
	ck_ok(cairn_object_list_any(repo, CAIRN_OBJ_PACK, see_object, &seen));
	assert_int_equal(seen.n, 0);

	cairn_aead_free(a);
	cairn_buf_free(&obj);
	cairn_buf_free(&body);
}

/* An object over its kind's cap is refused before it is written, and one
 * found over it is not opened. */
static void test_object_sealed_cap(void **state)
{
	struct fx *f = *state;
	struct cairn_repo *repo = f->repo;
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	ck_ok(cairn_random(id, sizeof(id)));
	const size_t cap = CAIRN_HOLD_OBJECT_MAX;
	uint8_t *big = th_data(cap + 1, 3);
	ck_err(cairn_object_put_sealed(repo, NULL, CAIRN_OBJ_HOLD, id, big, cap - CAIRN_AEAD_OVERHEAD + 1, 0, NULL),
	       CAIRN_EINVAL);
	assert_non_null(strstr(cairn_error_message(), "over the cap"));
	struct seen_objects seen = { 0 };
	ck_ok(cairn_object_list_any(repo, CAIRN_OBJ_HOLD, see_object, &seen));
	assert_int_equal(seen.n, 0);
	/* At the cap exactly: written, and read back. */
	struct cairn_aead *a = NULL;
	ck_ok(cairn_repo_aead(repo, &a));
	uint64_t bytes = 0;
	ck_ok(cairn_object_put_sealed(repo, a, CAIRN_OBJ_HOLD, id, big, cap - CAIRN_AEAD_OVERHEAD, 0, &bytes));
	assert_int_equal(bytes, cap);
	struct cairn_buf obj = CAIRN_BUF_INIT, body = CAIRN_BUF_INIT;
	ck_ok(cairn_object_get_sealed(repo, a, CAIRN_OBJ_HOLD, id, bytes, &obj, &body));
	assert_int_equal(body.len, cap - CAIRN_AEAD_OVERHEAD);
	assert_memory_equal(body.data, big, body.len);
	/* One found larger (not written by cairn) is damage, unread. */
	ck_ok(cairn_object_put(repo, CAIRN_OBJ_HOLD, id, big, cap + 1, 0));
	ck_err(cairn_object_get_sealed(repo, a, CAIRN_OBJ_HOLD, id, CAIRN_SIZE_UNKNOWN, &obj, &body), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), "cap"));
	assert_int_equal(obj.len, 0);
	cairn_aead_free(a);
	cairn_buf_free(&obj);
	cairn_buf_free(&body);
	free(big);
}


/* ---- object lock ---- */

/* A local store that takes a lock and records, per put, whether the
 * object would be retained (flags without CAIRN_PUT_NO_RETENTION). */
struct lockrec {
	struct cairn_store base;
	struct cairn_store_ops ops;
	struct cairn_store *inner;
	struct cairn_store_lock lock;
	int lock_sets;
	char retained[64][80];
	size_t nretained;
	char unretained[64][80];
	size_t nunretained;
};

static struct lockrec *to_lr(struct cairn_store *s)
{
	return (struct lockrec *)s;
}

static int lr_get(struct cairn_store *s, const char *k, uint64_t off, uint64_t len, struct cairn_buf *out)
{
	return cairn_store_get(to_lr(s)->inner, k, off, len, out);
}

static int lr_put(struct cairn_store *s, const char *k, const void *d, size_t len, unsigned flags)
{
	struct lockrec *l = to_lr(s);
	if (l->lock.seconds && !(flags & CAIRN_PUT_NO_RETENTION) && l->nretained < 64)
		snprintf(l->retained[l->nretained++], 80, "%s", k);
	else if (l->nunretained < 64)
		snprintf(l->unretained[l->nunretained++], 80, "%s", k);
	return cairn_store_put(l->inner, k, d, len, flags & ~(unsigned)CAIRN_PUT_NO_RETENTION);
}

static int lr_stat(struct cairn_store *s, const char *k, uint64_t *ret)
{
	return cairn_store_stat(to_lr(s)->inner, k, ret);
}

static int lr_del(struct cairn_store *s, const char *k)
{
	return cairn_store_del(to_lr(s)->inner, k);
}

static int lr_list(struct cairn_store *s, const char *prefix, cairn_store_list_fn fn, void *ud)
{
	return cairn_store_list(to_lr(s)->inner, prefix, fn, ud);
}

static int lr_create(struct cairn_store *s)
{
	return cairn_store_create(to_lr(s)->inner);
}

static int lr_lock_set(struct cairn_store *s, const struct cairn_store_lock *l)
{
	to_lr(s)->lock = *l;
	to_lr(s)->lock_sets++;
	return 0;
}

static void lr_free(struct cairn_store *s)
{
	cairn_store_free(to_lr(s)->inner);
	free(s->uri);
	free(s);
}

static struct lockrec *lockrec_open(const char *dir)
{
	struct lockrec *l = calloc(1, sizeof(*l));
	assert_non_null(l);
	ck_ok(cairn_store_local_open(dir, &l->inner));
	l->ops = (struct cairn_store_ops){ .name = "lockrec", .get = lr_get, .put = lr_put, .stat = lr_stat,
					   .del = lr_del, .list = lr_list, .free = lr_free, .create = lr_create,
					   .lock_set = lr_lock_set };
	l->base.ops = &l->ops;
	l->base.uri = strdup(dir);
	l->base.features = l->inner->features;
	return l;
}

static bool recorded(char (*v)[80], size_t n, const char *prefix)
{
	for (size_t i = 0; i < n; i++)
		if (!strncmp(v[i], prefix, strlen(prefix)))
			return true;
	return false;
}

static void test_object_lock(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "repo-lock");
	/* A store that cannot retain objects: refused, nothing made. */
	struct cairn_store *s = NULL;
	struct cairn_repo *r = NULL;
	char sub[PATH_MAX + 8];
	snprintf(sub, sizeof(sub), "%s/x", dir);
	ck_ok(cairn_store_local_open(sub, &s));
	struct cairn_init_params p = { .scrypt_log2n = 10, .object_lock_days = 7 };
	ck_err(cairn_repo_init(s, "pw", 2, &p, &r), CAIRN_EUNSUPPORTED);
	assert_non_null(strstr(cairn_error_message(), "object lock needs an S3 repository"));
	assert_int_equal(access(sub, F_OK), -1);
	p.object_lock_days = CAIRN_OBJECT_LOCK_DAYS_MAX + 1;
	struct lockrec *l = lockrec_open(sub);
	ck_err(cairn_repo_init(&l->base, "pw", 2, &p, &r), CAIRN_EINVAL);

	/* Init hands the retention to the store before it creates anything,
	 * and the config and key are retained. */
	l = lockrec_open(dir);
	p = (struct cairn_init_params){ .scrypt_log2n = 10, .object_lock_days = 7,
					.object_lock_mode = CAIRN_LOCK_GOVERNANCE };
	ck_ok(cairn_repo_init(&l->base, "pw", 2, &p, &r));
	assert_int_equal(l->lock_sets, 1);
	assert_true(l->lock.seconds == 7 * 86400);
	assert_int_equal(l->lock.mode, CAIRN_LOCK_GOVERNANCE);
	assert_true(recorded(l->retained, l->nretained, "config"));
	assert_true(recorded(l->retained, l->nretained, "keys/"));
	cairn_repo_free(r);

	/* Open reads it back and hands it over again; the kinds are retained
	 * or not as format.h OBJECT LOCK says. */
	l = lockrec_open(dir);
	ck_ok(cairn_repo_open(&l->base, "pw", 2, &r));
	assert_int_equal(r->config.object_lock_days, 7);
	assert_int_equal(r->config.object_lock_mode, CAIRN_LOCK_GOVERNANCE);
	assert_int_equal(l->lock_sets, 1);
	assert_true(l->lock.seconds == 7 * 86400);
	uint8_t id[32] = { 1, 2, 3 };
	static const enum cairn_object_kind locked[] = { CAIRN_OBJ_PACK, CAIRN_OBJ_MANIFEST, CAIRN_OBJ_GROUP };
	static const enum cairn_object_kind unlocked[] = { CAIRN_OBJ_INDEX, CAIRN_OBJ_HOLD, CAIRN_OBJ_LEASE,
							   CAIRN_OBJ_MARKER };
	for (size_t i = 0; i < ARRAY_SIZE(locked); i++)
		ck_ok(cairn_object_put(r, locked[i], id, "x", 1, 0));
	for (size_t i = 0; i < ARRAY_SIZE(unlocked); i++)
		ck_ok(cairn_object_put(r, unlocked[i], id, "x", 1, 0));
	assert_true(recorded(l->retained, l->nretained, "packs/"));
	assert_true(recorded(l->retained, l->nretained, "backups/"));
	assert_true(recorded(l->retained, l->nretained, "groups/"));
	assert_false(recorded(l->retained, l->nretained, "index/"));
	assert_false(recorded(l->retained, l->nretained, "holds/"));
	assert_false(recorded(l->retained, l->nretained, "lease/"));
	assert_false(recorded(l->retained, l->nretained, "running/"));
	assert_true(recorded(l->unretained, l->nunretained, "running/"));
	/* A store without lock_until says nothing is retained. */
	int64_t until = -1;
	ck_ok(cairn_repo_lock_until(r, CAIRN_OBJ_PACK, id, &until));
	assert_true(until == 0);
	cairn_repo_free(r);

	/* The test knob replaces the days by seconds. */
	cairn_repo_set_test_lock_seconds(3);
	l = lockrec_open(dir);
	ck_ok(cairn_repo_open(&l->base, "pw", 2, &r));
	assert_true(l->lock.seconds == 3);
	cairn_repo_free(r);
	cairn_repo_set_test_lock_seconds(0);

	/* A repository without lock never hands one over. */
	th_rm_rf(dir);
	l = lockrec_open(dir);
	p = (struct cairn_init_params){ .scrypt_log2n = 10 };
	ck_ok(cairn_repo_init(&l->base, "pw", 2, &p, &r));
	assert_int_equal(l->lock_sets, 0);
	assert_int_equal(r->config.object_lock_days, 0);
	cairn_repo_free(r);
	th_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_defaults, setup, teardown),
		cmocka_unit_test(test_init_params),
		cmocka_unit_test(test_init_family),
		cmocka_unit_test(test_init_bad),
		cmocka_unit_test(test_init_bad_cost),
		cmocka_unit_test_setup_teardown(test_init_over_existing, setup, teardown),
		cmocka_unit_test(test_init_creates_dir),
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test(test_open_not_repo),
		cmocka_unit_test_setup_teardown(test_open_other_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_tampered_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_foreign_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_config_body, setup, teardown),
		cmocka_unit_test(test_config_parse),
		cmocka_unit_test(test_object_lock),
		cmocka_unit_test_setup_teardown(test_seal_unseal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_keyed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fingerprint, setup, teardown),
		cmocka_unit_test(test_object_names),
		cmocka_unit_test(test_object_read_caps),
		cmocka_unit_test(test_object_name_build),
		cmocka_unit_test_setup_teardown(test_object_sealed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_object_sealed_cap, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
