/* repo/idxcache and cairn_index_load_cached: the local index cache answers
 * as the in-RAM index does, and a cache that is truncated, damaged, of
 * another repository or stale is detected and rebuilt, never trusted. */
#define TH_WANT_REPO
#include "helpers.h"

#include "repo/idxcache.h"
#include "repo/index.h"
#include "repo/pack.h"
#include "store/testwrap.h"
#include "util/cleanup.h"
#include "util/hex.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

struct fx {
	struct th_codec_fx *c;
	struct cairn_repo *repo;
	char state[PATH_MAX];
	char *path; /* the cache file */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->c = th_codec_fx_new("idxcache");
	f->repo = f->c->repo;
	th_tmpdir(f->state, sizeof(f->state), "idxstate");
	ck_ok(cairn_idxcache_path(f->state, f->repo->config.id, &f->path));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	th_codec_fx_free(f->c);
	th_rm_rf(f->state);
	free(f->path);
	free(f);
	return 0;
}

/* Writes one index object: pack pack_seed (condemned at t when t > 0)
 * holding blobs seed .. seed+n-1. */
static void put_object(struct fx *f, uint64_t pack_seed, uint64_t seed, size_t n, int64_t t)
{
	struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	uint8_t pid[CAIRN_PACK_ID_LEN];
	th_fill(pid, sizeof(pid), pack_seed + 1000000);
	uint32_t slot;
	if (t)
		ck_ok(cairn_index_add_pack_condemned(idx, pid, t, &slot));
	else
		ck_ok(cairn_index_add_pack(idx, pid, true, &slot));
	for (size_t i = 0; i < n; i++) {
		struct cairn_blob_ref r = th_blob_ref(seed + i, slot);
		assert_int_equal(cairn_index_insert(idx, &r), 1);
	}
	bool pick = true;
	ck_ok(cairn_index_write_picked(idx, f->repo, &pick, 1, NULL, NULL));
	cairn_index_free(idx);
}

/* Both indexes give the same answer for blobs seed .. seed+n-1 (present
 * or not, same pack id, same fields). */
static void same_answers(struct cairn_index *a, struct cairn_index *b, uint64_t seed, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cairn_blob_ref want = th_blob_ref(seed + i, 0), ra, rb;
		int qa = cairn_index_lookup(a, want.id, &ra), qb = cairn_index_lookup(b, want.id, &rb);
		assert_int_equal(qa, qb);
		if (qa < 0)
			continue;
		assert_memory_equal(ra.id, rb.id, CAIRN_ID_LEN);
		assert_memory_equal(cairn_index_pack_id(a, ra.pack), cairn_index_pack_id(b, rb.pack), CAIRN_PACK_ID_LEN);
		assert_int_equal(ra.offset, rb.offset);
		assert_int_equal(ra.stored_len, rb.stored_len);
		assert_int_equal(ra.raw_len, rb.raw_len);
		assert_int_equal(ra.type, rb.type);
		assert_int_equal(ra.flags, rb.flags);
	}
}

static struct cairn_index *load_ram(struct fx *f)
{
	struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	ck_ok(cairn_index_load(idx, f->repo, true, NULL));
	return idx;
}

static struct cairn_index *load_cached(struct fx *f)
{
	struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	ck_ok(cairn_index_load_cached(idx, f->repo, f->state, NULL));
	return idx;
}

static ino_t cache_ino(struct fx *f)
{
	struct stat st;
	if (stat(f->path, &st) < 0)
		return 0;
	return st.st_ino;
}

static size_t cache_objects(struct fx *f)
{
	struct cairn_idxcache *c = NULL;
	ck_ok(cairn_idxcache_open(f->path, f->repo->keys->local, f->repo->config.id, &c));
	size_t n = cairn_idxcache_nobjects(c);
	cairn_idxcache_close(c);
	return n;
}

static int count_fn(const struct cairn_blob_ref *ref, void *ud)
{
	(void)ref;
	(*(size_t *)ud)++;
	return 0;
}

/* ---- lookups equal the in-RAM index ---- */

static void test_equal_to_ram(void **state)
{
	struct fx *f = *state;
	put_object(f, 1, 0, 5000, 0);
	put_object(f, 2, 5000, 7000, 0);
	put_object(f, 3, 13000, 300, 1700000000);
	put_object(f, 4, 11000, 2000, 0); /* 1000 blobs also in pack 2 */
	struct cairn_index *ram = load_ram(f);
	assert_int_equal(cache_ino(f), 0);
	struct cairn_index *c1 = load_cached(f); /* builds the cache */
	ino_t ino = cache_ino(f);
	assert_true(ino != 0);
	assert_int_equal(cache_objects(f), 4);
	struct cairn_index *c2 = load_cached(f); /* uses it */
	assert_int_equal(cache_ino(f), ino);
	same_answers(ram, c1, 0, 14000);
	same_answers(ram, c2, 0, 14000);
	assert_int_equal(cairn_index_count(c2), cairn_index_count(ram));
	assert_int_equal(cairn_index_npacks(c2), cairn_index_npacks(ram));
	size_t n = 0;
	ck_ok(cairn_index_foreach(c2, count_fn, &n));
	assert_int_equal(n, cairn_index_count(ram));
	/* check's walk (foreach_resolved) visits each entry once too: it once
	 * walked the cache a second time after foreach had. */
	n = 0;
	ck_ok(cairn_index_foreach_resolved(c2, count_fn, &n));
	assert_int_equal(n, cairn_index_count(ram));
	/* Condemned packs are condemned there too, and hidden from backups. */
	uint8_t pid[CAIRN_PACK_ID_LEN];
	uint32_t slot;
	th_fill(pid, sizeof(pid), 3 + 1000000);
	ck_ok(cairn_index_find_pack(c2, pid, &slot));
	assert_int_equal(cairn_index_pack_condemned(c2, slot), 1700000000);
	struct cairn_blob_ref r = th_blob_ref(13200, 0), got;
	ck_ok(cairn_index_lookup(c2, r.id, &got));
	cairn_index_hide_condemned(c2, true);
	ck_err(cairn_index_lookup(c2, r.id, &got), CAIRN_ENOTFOUND);
	/* A blob stored again in a live pack wins over the condemned copy. */
	uint32_t live;
	uint8_t nid[CAIRN_PACK_ID_LEN];
	th_fill(nid, sizeof(nid), 99);
	ck_ok(cairn_index_add_pack(c2, nid, true, &live));
	r.pack = live;
	assert_int_equal(cairn_index_insert(c2, &r), 1);
	ck_ok(cairn_index_lookup(c2, r.id, &got));
	assert_int_equal(got.pack, live);
	assert_int_equal(cairn_index_count(c2), cairn_index_count(ram));
	/* A known live blob is not inserted again. */
	struct cairn_blob_ref k = th_blob_ref(42, live);
	assert_int_equal(cairn_index_insert(c2, &k), 0);
	cairn_index_free(ram);
	cairn_index_free(c1);
	cairn_index_free(c2);
}

/* A cache built in sorted runs (as a large repository's is) answers as the
 * RAM index does: duplicates across runs keep the copy in a live pack,
 * whichever run holds it; after the build only what is newer than the
 * cache is in RAM. */
static void test_built_in_runs(void **state)
{
	struct fx *f = *state;
	put_object(f, 1, 0, 5000, 0);
	put_object(f, 2, 5000, 7000, 0);
	put_object(f, 3, 13000, 300, 1700000000);
	put_object(f, 4, 11000, 2000, 0);  /* 1000 blobs also in pack 2 */
	put_object(f, 5, 13100, 100, 0);   /* live copies of condemned blobs */
	put_object(f, 6, 12900, 50, 1600000000); /* condemned copies of live blobs */
	struct cairn_index *ram = load_ram(f);
	for (size_t run = 1; run <= 4096; run *= 64) {
		cairn_index_set_cache_run_entries(run);
		if (f->path)
			unlink(f->path);
		struct cairn_index *c = load_cached(f); /* built in runs */
		assert_true(cache_ino(f) != 0);
		assert_int_equal(cache_objects(f), 6);
		size_t nram = 0;
		(void)cairn_index_entries(c, &nram);
		assert_int_equal(nram, 0); /* all of it in the cache */
		same_answers(ram, c, 0, 14000);
		assert_int_equal(cairn_index_count(c), cairn_index_count(ram));
		assert_int_equal(cairn_index_npacks(c), cairn_index_npacks(ram));
		cairn_index_hide_condemned(c, true);
		cairn_index_hide_condemned(ram, true);
		same_answers(ram, c, 12800, 600);
		cairn_index_hide_condemned(ram, false);
		cairn_index_free(c);
		struct cairn_index *again = load_cached(f); /* used as is */
		same_answers(ram, again, 0, 14000);
		cairn_index_free(again);
	}
	cairn_index_set_cache_run_entries(0);
	cairn_index_free(ram);
}

/* A key family member (instance != id, repo.h): a cache built in runs is
 * written under its instance, as it is named and checked, so the next load
 * uses it instead of rebuilding it every time. */
static void test_runs_family_member(void **state)
{
	struct fx *f = *state;
	put_object(f, 1, 0, 3000, 0);
	put_object(f, 2, 3000, 3000, 0);
	f->repo->config.instance[0] ^= 0x5a;
	free(f->path);
	f->path = NULL;
	ck_ok(cairn_idxcache_path(f->state, f->repo->config.instance, &f->path));
	cairn_index_set_cache_run_entries(1000);
	cairn_index_free(load_cached(f)); /* built in runs */
	ino_t ino = cache_ino(f);
	assert_true(ino != 0);
	struct cairn_idxcache *c = NULL;
	ck_ok(cairn_idxcache_open(f->path, f->repo->keys->local, f->repo->config.instance, &c));
	assert_int_equal(cairn_idxcache_count(c), 6000);
	cairn_idxcache_close(c);
	struct cairn_index *again = load_cached(f); /* used, not rebuilt */
	assert_int_equal(cache_ino(f), ino);
	size_t nram = 1;
	(void)cairn_index_entries(again, &nram);
	assert_int_equal(nram, 0);
	struct cairn_index *ram = load_ram(f);
	same_answers(ram, again, 0, 6100);
	cairn_index_set_cache_run_entries(0);
	cairn_index_free(again);
	cairn_index_free(ram);
}

/* Entries per pack from the cache's pack table and the RAM part equal a
 * walk of every entry: with a delta on top, and with RAM copies shadowing
 * cached ones in a condemned pack. */
struct walk_counts {
	uint32_t *v;
	size_t n;
};

static int walk_count(const struct cairn_blob_ref *ref, void *ud)
{
	struct walk_counts *w = ud;
	assert_true(ref->pack < w->n);
	w->v[ref->pack]++;
	return 0;
}

static void same_counts(struct cairn_index *idx)
{
	size_t n = cairn_index_npacks(idx);
	uint32_t *got = calloc(n, sizeof(uint32_t)), *want = calloc(n, sizeof(uint32_t));
	assert_non_null(got);
	assert_non_null(want);
	struct walk_counts w = { want, n };
	ck_ok(cairn_index_foreach(idx, walk_count, &w));
	ck_ok(cairn_index_count_by_pack(idx, got, n));
	assert_memory_equal(got, want, n * sizeof(uint32_t));
	free(got);
	free(want);
}

static void test_count_by_pack(void **state)
{
	struct fx *f = *state;
	put_object(f, 1, 0, 3000, 0);
	put_object(f, 2, 3000, 2000, 1700000000);
	put_object(f, 3, 4000, 2000, 0); /* 1000 also in condemned pack 2 */
	cairn_index_free(load_cached(f));
	put_object(f, 4, 6000, 500, 0);    /* newer: in RAM */
	put_object(f, 5, 3500, 100, 0);    /* live copies of cached condemned blobs */
	struct cairn_index *idx = load_cached(f);
	same_counts(idx);
	cairn_index_free(idx);
	put_object(f, 6, 9000, 10, 0); /* RAM only, nothing shadowed */
	unlink(f->path);
	put_object(f, 7, 9100, 10, 0);
	cairn_index_free(load_cached(f));
	put_object(f, 8, 9200, 10, 0);
	idx = load_cached(f);
	same_counts(idx);
	uint8_t pid[CAIRN_PACK_ID_LEN];
	uint32_t slot, counts[16];
	th_fill(pid, sizeof(pid), 1 + 1000000);
	ck_ok(cairn_index_find_pack(idx, pid, &slot));
	assert_true(cairn_index_npacks(idx) <= 16);
	ck_ok(cairn_index_count_by_pack(idx, counts, cairn_index_npacks(idx)));
	assert_int_equal(counts[slot], 3000);
	cairn_index_free(idx);
}

/* An object newer than the cache gone while the load reads it (merged by
 * another backup's background compaction): listed again, not a rebuild of
 * the whole cache. */
static void test_delta_vanished(void **state)
{
	struct fx *f = *state;
	put_object(f, 1, 0, 1000, 0);
	cairn_index_free(load_cached(f));
	ino_t ino = cache_ino(f);
	put_object(f, 2, 1000, 500, 0);
	put_object(f, 3, 1500, 500, 0);
	/* The first get (of a newer object) finds nothing, once. */
	struct cairn_fault_params p = { .ops = CAIRN_FAULT_GET, .fail_at = 1, .code = CAIRN_ENOTFOUND };
	struct cairn_store *w = NULL;
	ck_ok(cairn_store_fault_wrap(f->repo->store, &p, &w));
	f->repo->store = w;
	struct cairn_index *idx = load_cached(f);
	assert_int_equal(cache_ino(f), ino);
	struct cairn_index *ram = load_ram(f);
	same_answers(ram, idx, 0, 2100);
	assert_int_equal(cairn_index_count(idx), 2000);
	cairn_index_free(idx);
	cairn_index_free(ram);
}

/* Ids sharing their first 8 bytes across pages: the fences tie. */
static int next_fn(void *ud, struct cairn_blob_ref *ret)
{
	uint64_t *i = ud;
	if (*i >= 1000)
		return 0;
	memset(ret, 0, sizeof(*ret));
	memset(ret->id, 0xab, 8);
	ret->id[30] = (uint8_t)(*i >> 8);
	ret->id[31] = (uint8_t)*i;
	ret->offset = (uint32_t)*i;
	ret->stored_len = 100;
	ret->pack = (uint32_t)(*i % 2);
	(*i)++;
	return 1;
}

static int dup_fn(void *ud, struct cairn_blob_ref *ret)
{
	uint64_t *i = ud;
	if (*i >= 3)
		return 0;
	memset(ret, 0, sizeof(*ret));
	ret->id[0] = *i == 2 ? 1 : 0; /* 0, 0: a repeated id */
	(*i)++;
	return 1;
}

static void test_equal_prefixes(void **state)
{
	struct fx *f = *state;
	struct cairn_idxcache_pack_rec packs[2] = { { .condemned = 0 }, { .condemned = 5 } };
	packs[1].id[0] = 1;
	uint64_t i = 0;
	ck_ok(cairn_idxcache_write(f->path, f->repo->keys->local, f->repo->config.id, NULL, 0, packs, 2, next_fn,
				   &i));
	struct cairn_idxcache *c = NULL;
	ck_ok(cairn_idxcache_open(f->path, f->repo->keys->local, f->repo->config.id, &c));
	assert_int_equal(cairn_idxcache_count(c), 1000);
	int64_t t;
	cairn_idxcache_pack(c, 1, &t);
	assert_int_equal(t, 5);
	for (uint64_t j = 0; j < 1000; j++) {
		struct cairn_blob_ref want, got;
		uint64_t k = j;
		next_fn(&k, &want);
		ck_ok(cairn_idxcache_lookup(c, want.id, &got));
		assert_int_equal(got.offset, j);
		assert_int_equal(got.pack, j % 2);
		ck_ok(cairn_idxcache_get(c, j, &got));
		assert_int_equal(got.offset, j);
	}
	uint8_t absent[CAIRN_ID_LEN];
	memset(absent, 0xab, sizeof(absent));
	ck_err(cairn_idxcache_lookup(c, absent, NULL), CAIRN_ENOTFOUND);
	memset(absent, 0, sizeof(absent));
	ck_err(cairn_idxcache_lookup(c, absent, NULL), CAIRN_ENOTFOUND);
	cairn_idxcache_close(c);
	/* Entries out of order are refused and leave nothing behind. */
	unlink(f->path);
	uint64_t j = 0;
	ck_err(cairn_idxcache_write(f->path, f->repo->keys->local, f->repo->config.id, NULL, 0, packs, 2, dup_fn, &j),
	       CAIRN_EINVAL);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", f->path);
	*strrchr(dir, '/') = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)))
		assert_true(de->d_name[0] == '.');
	closedir(d);
}

/* ---- damage ---- */

static void truncate_to(const char *path, off_t len)
{
	assert_int_equal(truncate(path, len), 0);
}

static void test_truncated(void **state)
{
	struct fx *f = *state;
	put_object(f, 1, 0, 3000, 0);
	cairn_index_free(load_cached(f));
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	off_t full = st.st_size;
	off_t cuts[] = { 0, 100, CAIRN_IDXCACHE_PAGE, full - 1, full / 2 };
	struct cairn_index *ram = load_ram(f);
	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		truncate_to(f->path, cuts[k]);
		struct cairn_idxcache *c = NULL;
		ck_err(cairn_idxcache_open(f->path, f->repo->keys->local, f->repo->config.id, &c), CAIRN_ECORRUPT);
		struct cairn_index *idx = load_cached(f); /* rebuilt */
		same_answers(ram, idx, 0, 3100);
		assert_int_equal(stat(f->path, &st), 0);
		assert_int_equal(st.st_size, full);
		cairn_index_free(idx);
	}
	/* Grown by a byte: refused too. */
	FILE *fp = fopen(f->path, "ab");
	assert_non_null(fp);
	fputc(0, fp);
	fclose(fp);
	struct cairn_idxcache *c = NULL;
	ck_err(cairn_idxcache_open(f->path, f->repo->keys->local, f->repo->config.id, &c), CAIRN_ECORRUPT);
	cairn_index_free(ram);
}

static void test_flipped_byte(void **state)
{
	struct fx *f = *state;
	put_object(f, 1, 0, 3000, 0);
	cairn_index_free(load_cached(f));
	struct cairn_index *ram = load_ram(f);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);

	/* In an entry page (an offset field of its 3rd record): the page
	 * fails when touched; no lookup returns the flipped value. */
	long at = 2 * CAIRN_IDXCACHE_PAGE + 2 * CAIRN_INDEX_ENTRY_LEN + 49;
	th_flip_file_byte(f->path, at);
	struct cairn_index *idx = load_cached(f); /* the header is fine: used */
	size_t missing = 0;
	for (uint64_t i = 0; i < 3000; i++) {
		struct cairn_blob_ref want, got;
		ck_ok(cairn_index_lookup(ram, th_blob_ref(i, 0).id, &want));
		int q = cairn_index_lookup(idx, want.id, &got);
		if (q == CAIRN_ENOTFOUND) {
			missing++;
			continue;
		}
		ck_ok(q);
		assert_int_equal(got.offset, want.offset);
		assert_int_equal(got.stored_len, want.stored_len);
	}
	assert_true(missing >= 1 && missing <= CAIRN_IDXCACHE_PER_PAGE);
	/* The damaged file was dropped; the next load rebuilds it. */
	assert_int_equal(cache_ino(f), 0);
	cairn_index_free(idx);
	idx = load_cached(f);
	same_answers(ram, idx, 0, 3000);
	cairn_index_free(idx);

	/* In the header, the trailer, the last page's tag: refused at open. */
	long where[] = { 20, 60, CAIRN_IDXCACHE_PAGE - 1, -1, -(long)(st.st_size - CAIRN_IDXCACHE_PAGE * 2) };
	for (size_t k = 0; k < sizeof(where) / sizeof(where[0]); k++) {
		th_flip_file_byte(f->path, where[k]);
		struct cairn_idxcache *c = NULL;
		int q = cairn_idxcache_open(f->path, f->repo->keys->local, f->repo->config.id, &c);
		if (q == 0) {
			/* A flip in an entry page (the last form): found on use. */
			uint64_t bad = 0;
			for (uint64_t i = 0; i < cairn_idxcache_count(c); i++) {
				struct cairn_blob_ref r;
				bad += cairn_idxcache_get(c, i, &r) == CAIRN_ECORRUPT;
			}
			assert_true(bad > 0);
			cairn_idxcache_close(c);
			unlink(f->path);
		} else {
			assert_int_equal(q, CAIRN_ECORRUPT);
		}
		idx = load_cached(f);
		same_answers(ram, idx, 0, 3000);
		cairn_index_free(idx);
		unlink(f->path);
		cairn_index_free(load_cached(f));
	}
	/* Not a cache at all. */
	th_write_file(f->path, "garbage", 7);
	idx = load_cached(f);
	same_answers(ram, idx, 0, 3000);
	cairn_index_free(idx);
	assert_int_equal(cache_objects(f), 1);
	cairn_index_free(ram);
}

static void test_other_repository(void **state)
{
	struct fx *f = *state;
	put_object(f, 1, 0, 2000, 0);
	cairn_index_free(load_cached(f));
	/* Another repository's cache, planted at this one's path. */
	char dir2[PATH_MAX];
	struct cairn_repo *other = th_repo_init(dir2, sizeof(dir2), "idxother", 4096);
	struct cairn_index *o = NULL;
	ck_ok(cairn_index_new(&o));
	uint8_t pid[CAIRN_PACK_ID_LEN];
	th_fill(pid, sizeof(pid), 77);
	uint32_t slot;
	ck_ok(cairn_index_add_pack(o, pid, true, &slot));
	for (uint64_t i = 0; i < 500; i++) {
		struct cairn_blob_ref r = th_blob_ref(100000 + i, slot);
		assert_int_equal(cairn_index_insert(o, &r), 1);
	}
	ck_ok(cairn_index_write_fresh(o, other, NULL));
	cairn_index_free(o);
	struct cairn_index *oc = NULL;
	ck_ok(cairn_index_new(&oc));
	ck_ok(cairn_index_load_cached(oc, other, f->state, NULL));
	cairn_index_free(oc);
	char *opath = NULL;
	ck_ok(cairn_idxcache_path(f->state, other->config.id, &opath));
	assert_int_equal(rename(opath, f->path), 0);
	struct cairn_idxcache *c = NULL;
	ck_err(cairn_idxcache_open(f->path, f->repo->keys->local, f->repo->config.id, &c), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), "another repository"));
	struct cairn_index *idx = load_cached(f);
	struct cairn_blob_ref got;
	ck_err(cairn_index_lookup(idx, th_blob_ref(100000, 0).id, &got), CAIRN_ENOTFOUND);
	ck_ok(cairn_index_lookup(idx, th_blob_ref(1, 0).id, &got));
	cairn_index_free(idx);

	/* The same, with this repository's id written in: its tag fails. */
	size_t len;
	uint8_t *p = th_read_file(f->path, &len);
	ck_ok(cairn_index_new(&oc));
	ck_ok(cairn_index_load_cached(oc, other, f->state, NULL));
	cairn_index_free(oc);
	size_t olen;
	uint8_t *q = th_read_file(opath, &olen);
	memcpy(q + 16, f->repo->config.id, 16);
	th_write_file(f->path, q, olen);
	ck_err(cairn_idxcache_open(f->path, f->repo->keys->local, f->repo->config.id, &c), CAIRN_ECORRUPT);
	assert_non_null(strstr(cairn_error_message(), "fails its check"));
	idx = load_cached(f);
	ck_err(cairn_index_lookup(idx, th_blob_ref(100000, 0).id, &got), CAIRN_ENOTFOUND);
	ck_ok(cairn_index_lookup(idx, th_blob_ref(1, 0).id, &got));
	cairn_index_free(idx);
	free(p);
	free(q);
	free(opath);
	cairn_repo_free(other);
	th_rm_rf(dir2);
}

/* ---- stale caches ---- */

static void test_stale(void **state)
{
	struct fx *f = *state;
	put_object(f, 1, 0, 2000, 0);
	put_object(f, 2, 2000, 2000, 0);
	cairn_index_free(load_cached(f));
	ino_t ino = cache_ino(f);

	/* Another host's backup added an object: the cache stays, the new
	 * object is read on top of it. */
	put_object(f, 3, 4000, 1000, 0);
	struct cairn_index *idx = load_cached(f);
	assert_int_equal(cache_ino(f), ino);
	struct cairn_index *ram = load_ram(f);
	same_answers(ram, idx, 0, 5100);
	assert_int_equal(cairn_index_count(idx), 5000);
	cairn_index_free(idx);
	cairn_index_free(ram);

	/* A prune rewrote the index (new objects first, then the old ones
	 * deleted) and dropped pack 2: the cache is older than the prune. */
	struct th_keys k;
	th_list(f->repo->store, "index/", &k);
	put_object(f, 1, 0, 2000, 0);
	put_object(f, 3, 4000, 1000, 0);
	for (size_t i = 0; i < k.n; i++)
		ck_ok(cairn_store_del(f->repo->store, k.v[i]));
	th_keys_free(&k);
	idx = load_cached(f);
	assert_true(cache_ino(f) != ino);
	ram = load_ram(f);
	same_answers(ram, idx, 0, 5100);
	struct cairn_blob_ref got;
	ck_err(cairn_index_lookup(idx, th_blob_ref(2500, 0).id, &got), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_index_count(idx), 3000);
	assert_int_equal(cache_objects(f), 2);
	cairn_index_free(idx);
	cairn_index_free(ram);
}

/* Many entries added since the cache was built: merged into it. */
static void test_merge_delta(void **state)
{
	struct fx *f = *state;
	put_object(f, 1, 0, 1000, 0);
	cairn_index_free(load_cached(f));
	assert_int_equal(cache_objects(f), 1);
	put_object(f, 2, 1000, 140000, 0);
	put_object(f, 3, 141000, 140000, 0);
	struct cairn_index *idx = load_cached(f);
	assert_int_equal(cache_objects(f), 3);
	struct cairn_index *again = load_cached(f);
	struct cairn_index *ram = load_ram(f);
	same_answers(ram, idx, 0, 281100);
	same_answers(ram, again, 0, 281100);
	assert_int_equal(cairn_index_count(again), 281000);
	cairn_index_free(idx);
	cairn_index_free(again);
	cairn_index_free(ram);
}

/* ---- concurrent writers ---- */

struct writer_arg {
	struct fx *f;
	uint64_t pack, seed;
	int r;
};

static void *writer(void *p)
{
	struct writer_arg *w = p;
	struct cairn_index *idx = NULL;
	w->r = cairn_index_new(&idx);
	/* Each loads the index through the cache as a backup would. */
	if (w->r >= 0)
		w->r = cairn_index_load_cached(idx, w->f->repo, w->f->state, NULL);
	uint8_t pid[CAIRN_PACK_ID_LEN];
	th_fill(pid, sizeof(pid), w->pack + 1000000);
	uint32_t slot = 0;
	if (w->r >= 0)
		w->r = cairn_index_add_pack(idx, pid, true, &slot);
	for (uint64_t i = 0; w->r >= 0 && i < 3000; i++) {
		struct cairn_blob_ref r = th_blob_ref(w->seed + i, slot);
		w->r = cairn_index_insert(idx, &r);
	}
	if (w->r >= 0)
		w->r = cairn_index_write_fresh(idx, w->f->repo, NULL);
	cairn_index_free(idx);
	return NULL;
}

static void test_two_writers(void **state)
{
	struct fx *f = *state;
	put_object(f, 1, 0, 1000, 0);
	struct writer_arg a = { .f = f, .pack = 2, .seed = 10000 }, b = { .f = f, .pack = 3, .seed = 20000 };
	pthread_t ta, tb;
	/* No cache yet: both build it at once. */
	assert_int_equal(pthread_create(&ta, NULL, writer, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, writer, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ck_ok(a.r);
	ck_ok(b.r);
	struct cairn_index *idx = load_cached(f);
	struct cairn_index *ram = load_ram(f);
	assert_int_equal(cairn_index_count(idx), 7000);
	same_answers(ram, idx, 10000, 3000);
	same_answers(ram, idx, 20000, 3000);
	struct cairn_blob_ref got;
	ck_ok(cairn_index_lookup(idx, th_blob_ref(10000, 0).id, &got));
	ck_ok(cairn_index_lookup(idx, th_blob_ref(22999, 0).id, &got));
	cairn_index_free(idx);
	cairn_index_free(ram);
	/* No temporary left behind. */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", f->path);
	*strrchr(dir, '/') = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	size_t files = 0;
	while ((de = readdir(d)))
		files += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files, 1);
}

/* A killed writer's temporary goes once it is an hour old. */
static void test_old_temporaries(void **state)
{
	struct fx *f = *state;
	put_object(f, 1, 0, 100, 0);
	char old[PATH_MAX + 16], young[PATH_MAX + 16];
	snprintf(old, sizeof(old), "%s.tmp-aaaaaa", f->path);
	snprintf(young, sizeof(young), "%s.tmp-bbbbbb", f->path);
	th_write_file(old, "x", 1);
	th_write_file(young, "y", 1);
	struct timespec ts[2] = { { .tv_sec = time(NULL) - 7200 }, { .tv_sec = time(NULL) - 7200 } };
	assert_int_equal(utimensat(AT_FDCWD, old, ts, 0), 0);
	cairn_index_free(load_cached(f)); /* writes the cache */
	assert_int_equal(access(old, F_OK), -1);
	assert_int_equal(access(young, F_OK), 0);
	assert_int_equal(cache_objects(f), 1);
	unlink(young);
}

/* ---- compaction of small index objects ---- */

static size_t count_index_objects(struct fx *f)
{
	struct th_keys k;
	th_list(f->repo->store, "index/", &k);
	size_t n = k.n;
	th_keys_free(&k);
	return n;
}

static void test_compact(void **state)
{
	struct fx *f = *state;
	size_t merged = 9, written = 9;
	/* One object: nothing to merge. */
	put_object(f, 1, 0, 1000, 0);
	ck_ok(cairn_index_compact(f->repo, 2, &merged, &written));
	assert_int_equal(merged, 0);
	assert_int_equal(written, 0);
	for (uint64_t p = 2; p <= 6; p++)
		put_object(f, p, p * 1000, 1000, p == 4 ? 1700000000 : 0);
	put_object(f, 7, 2500, 1000, 0); /* 500 blobs also in pack 2 */
	struct cairn_index *before = load_ram(f);
	struct cairn_index *cached = load_cached(f);
	/* Fewer small objects than asked for: nothing. */
	ck_ok(cairn_index_compact(f->repo, 100, &merged, &written));
	assert_int_equal(merged, 0);
	assert_int_equal(count_index_objects(f), 7);
	ck_ok(cairn_index_compact(f->repo, 2, &merged, &written));
	assert_int_equal(merged, 7);
	assert_int_equal(written, 1);
	assert_int_equal(count_index_objects(f), 1);
	struct cairn_index *after = load_ram(f);
	same_answers(before, after, 0, 8000);
	assert_int_equal(cairn_index_count(after), cairn_index_count(before));
	uint8_t pid[CAIRN_PACK_ID_LEN];
	uint32_t slot;
	th_fill(pid, sizeof(pid), 4 + 1000000);
	ck_ok(cairn_index_find_pack(after, pid, &slot));
	assert_int_equal(cairn_index_pack_condemned(after, slot), 1700000000);
	/* The local cache is older than the compaction: rebuilt. */
	struct cairn_index *c2 = load_cached(f);
	same_answers(before, c2, 0, 8000);
	assert_int_equal(cache_objects(f), 1);
	cairn_index_free(before);
	cairn_index_free(after);
	cairn_index_free(cached);
	cairn_index_free(c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_equal_to_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_built_in_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runs_family_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_by_pack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_vanished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_equal_prefixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_repository, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_delta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_temporaries, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
