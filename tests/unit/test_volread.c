/* engine/volread (random access to a backup's image: a cache far smaller
 * than the volume, many threads at once, zeros without fetching, damage as
 * -EIO, plans) and source/overlay (the map of written blocks: written zeros
 * are not never-written blocks, partial blocks, reopening, apply). */
#define TH_WANT_REPO
#include "helpers.h"

#include "engine/engine.h"
#include "engine/volread.h"
#include "repo/manifest.h"
#include "repo/pack.h"
#include "repo/tree.h"
#include "source/overlay.h"
#include "util/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>

#define CS 4096
#define NCHUNKS 300

struct fx {
	char dir[PATH_MAX];
	char work[PATH_MAX];
	struct cairn_repo *repo;
	uint8_t *vol; /* the volume backed up */
	size_t size;
	struct cairn_manifest *m;
};
static struct fx g_wide; /* test_lazy_tree's volume, made on first use */

/* The volume: data chunks, every fifth a chunk of zeros, a last chunk of
 * 1000 bytes. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->repo = th_repo_init(f->dir, sizeof(f->dir), "volread-repo", CS);
	th_tmpdir(f->work, sizeof(f->work), "volread-work");
	f->size = (size_t)(NCHUNKS - 1) * CS + 1000;
	f->vol = calloc(1, f->size);
	assert_non_null(f->vol);
	for (size_t c = 0; c < NCHUNKS; c++)
		if (c % 5 != 3)
			th_fill(f->vol + c * CS, MIN((size_t)CS, f->size - c * CS), 1000 + c);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/vol", f->work);
	th_write_file(path, f->vol, f->size);
	th_setenv("CAIRN_THREADS", "2");
	struct cairn_backup_opts o = { .source = path, .volume = "vol" };
	ck_ok(cairn_backup_run(f->repo, &o, &f->m));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	cairn_manifest_free(f->m);
	cairn_manifest_free(g_wide.m);
	free(g_wide.vol);
	cairn_repo_free(f->repo);
	th_rm_rf(f->dir);
	th_rm_rf(f->work);
	free(f->vol);
	free(f);
	th_unsetenv("CAIRN_THREADS");
	return 0;
}

static struct cairn_volread *open_small(struct fx *f)
{
	/* A cache of 8 chunks (raised to the least the reader needs): far
	 * smaller than the volume's 300. */
	struct cairn_volread_opts o = { .cache_bytes = 8 * CS, .readahead_chunks = 4, .threads = 3 };
	struct cairn_volread *v = NULL;
	ck_ok(cairn_volread_open(f->repo, NULL, NULL, f->m, &o, &v));
	assert_int_equal(cairn_volread_size(v), f->size);
	return v;
}

static void test_sequential(void **state)
{
	struct fx *f = *state;
	struct cairn_volread *v = open_small(f);
	uint8_t *got = malloc(f->size + 10);
	assert_non_null(got);
	/* Odd-sized reads across chunk edges, to the end and past it. */
	size_t done = 0;
	while (done < f->size) {
		ssize_t n = cairn_volread_pread(v, got + done, 10000, done);
		assert_true(n > 0);
		done += (size_t)n;
	}
	assert_int_equal(done, f->size);
	assert_memory_equal(got, f->vol, f->size);
	assert_int_equal(cairn_volread_pread(v, got, 100, f->size), 0);
	assert_int_equal(cairn_volread_pread(v, got, 100, f->size - 10), 10);
	struct cairn_volread_stats st;
	cairn_volread_stats(v, &st);
	/* Zero chunks cost nothing; each data chunk is fetched once; ranged
	 * gets merge neighbours. */
	assert_int_equal(st.chunks_fetched, NCHUNKS - NCHUNKS / 5);
	assert_true(st.zero_chunks >= NCHUNKS / 5);
	assert_true(st.gets < st.chunks_fetched);
	free(got);
	cairn_volread_close(v);
}

/* A get's merge looks past zero chunks: the volume's data chunks lie in
 * their pack one after another, every fifth chunk of the volume a hole
 * between them; a sequential read fetches them in a few gets, not one
 * per run between holes (60 runs). */
static void test_holes_merge(void **state)
{
	struct fx *f = *state;
	struct cairn_volread_opts o = { .cache_bytes = 2 * NCHUNKS * CS, .readahead_chunks = NCHUNKS, .threads = 1 };
	struct cairn_volread *v = NULL;
	ck_ok(cairn_volread_open(f->repo, NULL, NULL, f->m, &o, &v));
	uint8_t *got = malloc(f->size);
	assert_non_null(got);
	for (size_t done = 0; done < f->size;) {
		ssize_t n = cairn_volread_pread(v, got + done, CS, done);
		assert_true(n > 0);
		done += (size_t)n;
	}
	assert_memory_equal(got, f->vol, f->size);
	struct cairn_volread_stats st;
	cairn_volread_stats(v, &st);
	assert_int_equal(st.chunks_fetched, NCHUNKS - NCHUNKS / 5);
	assert_true(st.gets <= 12);
	free(got);
	cairn_volread_close(v);
}

struct reader {
	struct fx *f;
	struct cairn_volread *v;
	unsigned seed;
	int bad;
};

static void *random_reads(void *arg)
{
	struct reader *rd = arg;
	uint8_t buf[3 * CS];
	for (int i = 0; i < 400; i++) {
		uint64_t off = (uint64_t)rand_r(&rd->seed) % rd->f->size;
		size_t len = 1 + (size_t)rand_r(&rd->seed) % sizeof(buf);
		ssize_t n = cairn_volread_pread(rd->v, buf, len, off);
		size_t want = (size_t)MIN((uint64_t)len, rd->f->size - off);
		if (n != (ssize_t)want || memcmp(buf, rd->f->vol + off, want) != 0)
			rd->bad++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fx *f = *state;
	struct cairn_volread *v = open_small(f);
	struct reader rd[6];
	pthread_t th[6];
	for (int i = 0; i < 6; i++) {
		rd[i] = (struct reader){ .f = f, .v = v, .seed = 77u + (unsigned)i };
		assert_int_equal(pthread_create(&th[i], NULL, random_reads, &rd[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(rd[i].bad, 0);
	}
	cairn_volread_close(v);
}

static void test_plan(void **state)
{
	struct fx *f = *state;
	struct cairn_volread *v = open_small(f);
	/* Three extents, given out of order; the plan sorts them. */
	struct cairn_volread_range rg[] = { { 200 * CS + 5, 9 * CS }, { 10 * CS, 20 * CS }, { 100 * CS, 3 } };
	ck_ok(cairn_volread_plan(v, rg, 3));
	uint8_t *buf = malloc(20 * CS);
	assert_non_null(buf);
	for (size_t k = 0; k < 3; k++) {
		size_t i = (k + 1) % 3; /* in volume order */
		assert_int_equal(cairn_volread_pread(v, buf, rg[i].len, rg[i].off), (ssize_t)rg[i].len);
		assert_memory_equal(buf, f->vol + rg[i].off, rg[i].len);
	}
	struct cairn_volread_stats st;
	cairn_volread_stats(v, &st);
	/* Only the planned chunks (and a few around them) were fetched. */
	assert_true(st.chunks_fetched <= 20 + 10 + 1 + 3 * 8);
	ck_ok(cairn_volread_plan(v, NULL, 0));
	free(buf);
	cairn_volread_close(v);
}

/* The one pack file of the repository (the test's volume fits in one). */
static void pack_paths(struct fx *f, char paths[][3 * PATH_MAX], int *n)
{
	char d[PATH_MAX + 16];
	snprintf(d, sizeof(d), "%s/packs", f->dir);
	*n = 0;
	DIR *top = opendir(d);
	assert_non_null(top);
	struct dirent *e;
	while ((e = readdir(top)) && *n < 8) {
		if (e->d_name[0] == '.')
			continue;
		char sub[2 * PATH_MAX];
		snprintf(sub, sizeof(sub), "%s/%s", d, e->d_name);
		DIR *s = opendir(sub);
		if (!s)
			continue;
		struct dirent *p;
		while ((p = readdir(s)) && *n < 8)
			if (p->d_name[0] != '.')
				snprintf(paths[(*n)++], 3 * PATH_MAX, "%s/%s", sub, p->d_name);
		closedir(s);
	}
	closedir(top);
}

static void test_damage(void **state)
{
	struct fx *f = *state;
	/* Open first (the tree is read), then damage the largest pack in its
	 * first half, where the data chunks are. */
	struct cairn_volread *v = open_small(f);
	char paths[8][3 * PATH_MAX];
	int n;
	pack_paths(f, paths, &n);
	assert_true(n >= 1);
	int big = 0;
	struct stat st, sb;
	for (int i = 0; i < n; i++) {
		assert_int_equal(stat(paths[i], &st), 0);
		assert_int_equal(stat(paths[big], &sb), 0);
		if (st.st_size > sb.st_size)
			big = i;
	}
	assert_int_equal(stat(paths[big], &sb), 0);
	th_flip_file_byte(paths[big], (long)sb.st_size / 3);
	uint8_t buf[CS];
	int eio = 0, ok = 0;
	for (size_t c = 0; c < NCHUNKS; c++) {
		size_t len = MIN((size_t)CS, f->size - c * CS);
		ssize_t r = cairn_volread_pread(v, buf, len, c * CS);
		if (r == -EIO) {
			eio++;
			assert_true(strlen(cairn_error_message()) > 0);
			continue;
		}
		assert_int_equal(r, (ssize_t)len);
		assert_memory_equal(buf, f->vol + c * CS, len); /* never wrong data */
		ok++;
	}
	assert_true(eio >= 1);
	assert_true(ok > NCHUNKS / 2);
	/* It stays an error on a second read, not a cached wrong chunk. */
	cairn_volread_close(v);
	th_flip_file_byte(paths[big], (long)sb.st_size / 3);
}

/* ---- the lazy tree ---- */

/* A wide volume: WIDE_LEAVES leaves of the tree (256 chunks each), every
 * one holding a data chunk, the rest holes; a dense run in leaf 3.  Made
 * once, in f's repository. */
#define WIDE_LEAVES 40
#define WIDE_CHUNKS (WIDE_LEAVES * 256)

static struct fx *wide(struct fx *f)
{
	if (g_wide.m)
		return &g_wide;
	g_wide.repo = f->repo;
	g_wide.size = (size_t)WIDE_CHUNKS * CS;
	g_wide.vol = calloc(1, g_wide.size);
	assert_non_null(g_wide.vol);
	for (size_t l = 0; l < WIDE_LEAVES; l++)
		th_fill(g_wide.vol + (l * 256 + l % 200) * CS, CS, 5000 + l);
	th_fill(g_wide.vol + 3 * 256 * CS, 100 * CS, 77);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/wide", f->work);
	th_write_file(path, g_wide.vol, g_wide.size);
	struct cairn_backup_opts o = { .source = path, .volume = "wide" };
	ck_ok(cairn_backup_run(f->repo, &o, &g_wide.m));
	assert_int_equal(g_wide.m->levels, 2);
	return &g_wide;
}

static struct cairn_volread *open_wide(struct fx *w, unsigned threads)
{
	struct cairn_volread_opts o = { .cache_bytes = 8 * CS, .readahead_chunks = 4, .threads = threads };
	struct cairn_volread *v = NULL;
	ck_ok(cairn_volread_open(w->repo, NULL, NULL, w->m, &o, &v));
	return v;
}

static void test_lazy_tree(void **state)
{
	struct fx *w = wide(*state);
	struct cairn_volread *v = open_wide(w, 3);
	struct cairn_volread_stats st;
	/* Opening reads the root alone. */
	cairn_volread_stats(v, &st);
	assert_int_equal(st.nodes_fetched, 1);
	/* One small read: the leaf on its path, not the volume's 40. */
	uint8_t buf[2 * CS];
	size_t c = 30 * 256 + 30;
	assert_int_equal(cairn_volread_pread(v, buf, 100, c * CS + 7), 100);
	assert_memory_equal(buf, w->vol + c * CS + 7, 100);
	cairn_volread_stats(v, &st);
	assert_int_equal(st.nodes_fetched, w->m->levels);
	assert_int_equal(st.chunks_fetched, 1);
	assert_true(st.node_bytes_fetched > 0 && st.node_bytes_fetched < 3 * 256 * CAIRN_ID_LEN);
	/* A read in the same leaf costs no node. */
	assert_int_equal(cairn_volread_pread(v, buf, 10, (c + 50) * CS), 10);
	assert_memory_equal(buf, w->vol + (c + 50) * CS, 10);
	cairn_volread_stats(v, &st);
	assert_int_equal(st.nodes_fetched, w->m->levels);
	cairn_volread_close(v);

	/* The whole volume, sequentially, through a node cache far smaller
	 * than the tree: each node once (the root kept), bytes right. */
	v = open_wide(w, 3);
	uint8_t *got = malloc(w->size);
	assert_non_null(got);
	for (size_t done = 0; done < w->size;) {
		ssize_t n = cairn_volread_pread(v, got + done, 3 * CS + 11, done);
		assert_true(n > 0);
		done += (size_t)n;
	}
	assert_memory_equal(got, w->vol, w->size);
	cairn_volread_stats(v, &st);
	assert_int_equal(st.nodes_fetched, 1 + WIDE_LEAVES);
	assert_int_equal(st.chunks_fetched, WIDE_LEAVES + 100 - 1);
	free(got);
	cairn_volread_close(v);

	/* Random readers at once, nodes evicted and loaded under them. */
	v = open_wide(w, 4);
	struct reader rd[6];
	pthread_t th[6];
	for (int i = 0; i < 6; i++) {
		rd[i] = (struct reader){ .f = w, .v = v, .seed = 300u + (unsigned)i };
		assert_int_equal(pthread_create(&th[i], NULL, random_reads, &rd[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(rd[i].bad, 0);
	}
	cairn_volread_close(v);

	/* A plan across leaves: its nodes are loaded along it. */
	v = open_wide(w, 2);
	struct cairn_volread_range rg[] = { { 3 * 256 * CS, 100 * CS }, { (20 * 256 + 20) * CS, CS } };
	ck_ok(cairn_volread_plan(v, rg, 2));
	uint8_t *pb = malloc(100 * CS);
	assert_non_null(pb);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(cairn_volread_pread(v, pb, rg[i].len, rg[i].off), (ssize_t)rg[i].len);
		assert_memory_equal(pb, w->vol + rg[i].off, rg[i].len);
	}
	cairn_volread_stats(v, &st);
	assert_int_equal(st.nodes_fetched, 3);
	free(pb);
	cairn_volread_close(v);
}

/* Damage to one leaf node: -EIO (with a message) for the chunks under
 * it, right bytes elsewhere, and never wrong bytes. */
static void test_tree_damage(void **state)
{
	struct fx *f = *state;
	struct fx *w = wide(f);
	/* Where leaf 20 sits: its id from the root, its place from the index. */
	struct cairn_index *idx = NULL;
	ck_ok(cairn_index_new(&idx));
	ck_ok(cairn_index_load_cached(idx, w->repo, NULL, NULL));
	struct cairn_blob_codec codec;
	ck_ok(cairn_blob_codec_init(&codec, w->repo));
	struct cairn_buf root = CAIRN_BUF_INIT;
	ck_ok(cairn_blob_read(w->repo, idx, &codec, w->m->root, &root));
	const uint8_t *ids;
	ck_ok(cairn_tree_node_parse(root.data, root.len, 2, WIDE_LEAVES, &ids));
	struct cairn_blob_ref ref;
	ck_ok(cairn_index_lookup(idx, ids + 20 * CAIRN_ID_LEN, &ref));
	assert_int_equal(ref.type, CAIRN_BLOB_TREE);
	char key[80], path[PATH_MAX + 100];
	cairn_pack_key(cairn_index_pack_id(idx, ref.pack), key);
	snprintf(path, sizeof(path), "%s/%s", f->dir, key);
	cairn_buf_free(&root);
	cairn_blob_codec_free(&codec);
	cairn_index_free(idx);

	th_flip_file_byte(path, (long)ref.offset + 40);
	struct cairn_volread *v = open_wide(w, 2);
	uint8_t buf[CS];
	for (int pass = 0; pass < 2; pass++) {
		size_t c = 20 * 256 + 20;
		assert_int_equal(cairn_volread_pread(v, buf, CS, c * CS), -EIO);
		assert_non_null(strstr(cairn_error_message(), "tree node"));
		/* A hole under the damaged leaf is no proof of zeros either. */
		assert_int_equal(cairn_volread_pread(v, buf, CS, (c + 1) * CS), -EIO);
		c = 21 * 256 + 21;
		assert_int_equal(cairn_volread_pread(v, buf, CS, c * CS), CS);
		assert_memory_equal(buf, w->vol + c * CS, CS);
	}
	cairn_volread_close(v);
	th_flip_file_byte(path, (long)ref.offset + 40);
}

/* ---- overlay ---- */

static uint8_t *g_base;
static size_t g_base_len;

static ssize_t base_read(void *ud, void *buf, size_t len, uint64_t off)
{
	(void)ud;
	if (off >= g_base_len)
		return 0;
	len = MIN(len, g_base_len - (size_t)off);
	memcpy(buf, g_base + off, len);
	return (ssize_t)len;
}

static void test_overlay(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/ov", f->work);
	unlink(path);
	const size_t size = 10 * CAIRN_OVERLAY_BLOCK + 100; /* a partial last block */
	g_base_len = size;
	g_base = th_data(size, 5);
	uint8_t *want = malloc(size), *got = malloc(size);
	assert_non_null(want);
	assert_non_null(got);
	memcpy(want, g_base, size);
	uint8_t id[16], other[16];
	memset(id, 0xab, sizeof(id));
	memset(other, 0xcd, sizeof(other));
	struct cairn_overlay *o = NULL;
	ck_ok(cairn_overlay_open(path, size, id, "vol", &o));
	assert_int_equal(cairn_overlay_blocks(o), 0);
	/* Nothing written: the base shows through. */
	assert_int_equal(cairn_overlay_pread(o, got, size, 0, base_read, NULL), (ssize_t)size);
	assert_memory_equal(got, want, size);
	/* Unaligned bytes inside a block, a run over two block edges, whole
	 * zero blocks (written zeros, not holes), the last partial block. */
	uint8_t data[3 * CAIRN_OVERLAY_BLOCK];
	th_fill(data, sizeof(data), 9);
	struct {
		size_t off, len;
		bool zero;
	} w[] = { { 100, 50, false }, { CAIRN_OVERLAY_BLOCK * 3 - 10, CAIRN_OVERLAY_BLOCK + 20, false },
		  { CAIRN_OVERLAY_BLOCK * 6, 2 * CAIRN_OVERLAY_BLOCK, true }, { size - 60, 60, false } };
	uint8_t zeros[2 * CAIRN_OVERLAY_BLOCK] = { 0 };
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		const uint8_t *src = w[i].zero ? zeros : data;
		assert_int_equal(cairn_overlay_pwrite(o, src, w[i].len, w[i].off, base_read, NULL), (ssize_t)w[i].len);
		memcpy(want + w[i].off, src, w[i].len);
	}
	assert_int_equal(cairn_overlay_pread(o, got, size, 0, base_read, NULL), (ssize_t)size);
	assert_memory_equal(got, want, size);
	/* Blocks 0, 2, 3, 4, 6, 7, 10. */
	assert_int_equal(cairn_overlay_blocks(o), 7);
	/* A disk does not grow. */
	assert_int_equal(cairn_overlay_pwrite(o, data, 10, size, base_read, NULL), -ENOSPC);
	assert_int_equal(cairn_overlay_pwrite(o, data, 100, size - 10, base_read, NULL), 10);
	memcpy(want + size - 10, data, 10);
	ck_ok(cairn_overlay_sync(o));
	cairn_overlay_close(o);

	/* Reopened, it continues; for another backup it is refused. */
	ck_err(cairn_overlay_open(path, size, other, "vol", &o), CAIRN_EINVAL);
	assert_non_null(strstr(cairn_error_message(), "belongs to backup"));
	ck_err(cairn_overlay_open(path, size + 1, id, "vol", &o), CAIRN_EINVAL);
	ck_ok(cairn_overlay_open(path, size, id, "vol", &o));
	assert_int_equal(cairn_overlay_pread(o, got, size, 0, base_read, NULL), (ssize_t)size);
	assert_memory_equal(got, want, size);
	cairn_overlay_close(o);

	/* Applied over a copy of the base: the base plus the writes. */
	ck_ok(cairn_overlay_open_existing(path, &o));
	assert_memory_equal(cairn_overlay_backup(o), id, 16);
	assert_string_equal(cairn_overlay_volume(o), "vol");
	char target[PATH_MAX + 16];
	snprintf(target, sizeof(target), "%s/target", f->work);
	th_write_file(target, g_base, size);
	int fd = open(target, O_RDWR);
	assert_true(fd >= 0);
	uint64_t bytes = 0;
	ck_ok(cairn_overlay_apply(o, fd, target, &bytes));
	close(fd);
	assert_int_equal(bytes, 6 * CAIRN_OVERLAY_BLOCK + 100);
	size_t len;
	uint8_t *t = th_read_file(target, &len);
	assert_int_equal(len, size);
	assert_memory_equal(t, want, size);
	free(t);
	cairn_overlay_close(o);

	/* Not an overlay, and a damaged map. */
	th_write_file(target, "junk", 4);
	ck_err(cairn_overlay_open_existing(target, &o), CAIRN_EINVAL);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t last = 0xff; /* bits past the last block */
	assert_int_equal(pwrite(fd, &last, 1, 4096 + (10 / 8)), 1);
	close(fd);
	ck_err(cairn_overlay_open_existing(path, &o), CAIRN_ECORRUPT);
	free(want);
	free(got);
	free(g_base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_holes_merge),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_overlay),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_lazy_tree),
		cmocka_unit_test(test_tree_damage),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
