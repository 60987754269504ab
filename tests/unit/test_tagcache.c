/* source/tagcache: the change-tag cache stores entries only for chunks
 * with data, updates in place by appending what changed, and is never
 * trusted when damaged, torn or of another version. */
#include "helpers.h"

#include "source/tagcache.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <sys/stat.h>

#define KiB 1024ull
#define GiB (1024ull * 1024 * 1024)
#define CS (64 * KiB)

static const uint8_t lkey[CAIRN_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

struct fx {
	char dir[512], path[600];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	th_tmpdir(f->dir, sizeof(f->dir), "tagcache");
	snprintf(f->path, sizeof(f->path), "%s/v.tags", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	th_rm_rf(f->dir);
	free(f);
	return 0;
}

static struct cairn_tagcache_key key_of(uint64_t size, uint8_t backup)
{
	struct cairn_tagcache_key k = { .size = size, .chunk_size = CS };
	memset(k.repo_id, 0xaa, 16);
	memset(k.backup_id, backup, 16);
	return k;
}

/* Data in runs of 16 chunks (1 MiB extents) every `every` chunks. */
static bool has_data(uint64_t i, uint64_t every)
{
	return i % every < 16;
}

/* The entry of chunk i in generation gen; zero where there is no data. */
static void entry_of(uint64_t i, uint64_t every, unsigned gen, uint64_t changed, struct cairn_tag_entry *e)
{
	memset(e, 0, sizeof(*e));
	if (!has_data(i, every))
		return;
	uint64_t seed = i * 7 + (i == changed ? gen : 0) + 1;
	th_fill(e->tag, sizeof(e->tag), seed);
	th_fill(e->id, sizeof(e->id), seed + 0x100000000ull);
}

static void write_gen(const char *path, uint64_t size, uint8_t backup, uint64_t every, unsigned gen, uint64_t changed)
{
	struct cairn_tagcache_key k = key_of(size, backup);
	struct cairn_tagcache_writer *w = NULL;
	ck_ok(cairn_tagcache_create(path, lkey, &k, &w));
	for (uint64_t i = 0; i < size / CS; i++) {
		struct cairn_tag_entry e;
		entry_of(i, every, gen, changed, &e);
		ck_ok(cairn_tagcache_append(w, &e));
	}
	ck_ok(cairn_tagcache_commit(w));
	cairn_tagcache_writer_free(w);
}

/* Reads every chunk's entry back and compares. */
static void read_gen(const char *path, uint64_t size, uint8_t backup, uint64_t every, unsigned gen, uint64_t changed)
{
	struct cairn_tagcache_key k = key_of(size, backup);
	struct cairn_tagcache_reader *r = NULL;
	ck_ok(cairn_tagcache_open(path, lkey, &k, &r));
	for (uint64_t i = 0; i < size / CS; i++) {
		struct cairn_tag_entry got, want;
		ck_ok(cairn_tagcache_next(r, &got));
		entry_of(i, every, gen, changed, &want);
		if (memcmp(&got, &want, sizeof(got)) != 0)
			fail_msg("chunk %llu differs", (unsigned long long)i);
	}
	/* Past the end is refused, not invented. */
	struct cairn_tag_entry e;
	ck_err(cairn_tagcache_next(r, &e), CAIRN_ECORRUPT);
	cairn_tagcache_reader_free(r);
}

static off_t size_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static ino_t ino_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/* A 1 TiB image holding 1 GiB in 1 MiB extents: the cache costs what the
 * data costs (well under 2 x 48 bytes per data chunk), not 48 bytes for
 * each of the 16M chunks of the apparent size. */
static void test_sparse(void **state)
{
	struct fx *f = *state;
	uint64_t size = 1024 * GiB, every = 1024; /* 16 of every 1024 chunks: 1/64 of the volume */
	uint64_t ndata = size / CS / every * 16;
	write_gen(f->path, size, 1, every, 0, UINT64_MAX);
	off_t sz = size_of(f->path);
	assert_true((uint64_t)sz < 2 * 48 * ndata);
	assert_true((uint64_t)sz > 48 * ndata);
	read_gen(f->path, size, 1, every, 0, UINT64_MAX);
}

/* An empty (all-hole) volume has a header and nothing else. */
static void test_all_holes(void **state)
{
	struct fx *f = *state;
	write_gen(f->path, 16 * GiB, 1, UINT64_MAX, 0, UINT64_MAX); /* i % UINT64_MAX < 16: first 16 only */
	assert_true(size_of(f->path) < 4096);
	read_gen(f->path, 16 * GiB, 1, UINT64_MAX, 0, UINT64_MAX);
}

/* The next backup updates the same file: one changed chunk appends one
 * segment and a directory, the rest is reused; the old backup's key no
 * longer opens it; unchanged content under a new backup appends no
 * segment at all. */
static void test_update_in_place(void **state)
{
	struct fx *f = *state;
	uint64_t size = 64 * GiB, every = 64; /* 16 of every 64 chunks */
	write_gen(f->path, size, 1, every, 0, UINT64_MAX);
	off_t before = size_of(f->path);
	ino_t ino = ino_of(f->path);
	write_gen(f->path, size, 2, every, 1, 5000);
	off_t after = size_of(f->path);
	assert_int_equal(ino_of(f->path), ino);
	/* One segment (4096 chunks, a quarter with data, 52 bytes each) plus
	 * the directory, not the whole file again. */
	assert_true(after - before < 4096 / 4 * 52 + 64 * 1024);
	assert_true(after - before < before / 4);
	read_gen(f->path, size, 2, every, 1, 5000);
	struct cairn_tagcache_key k1 = key_of(size, 1);
	struct cairn_tagcache_reader *r = NULL;
	ck_err(cairn_tagcache_open(f->path, lkey, &k1, &r), CAIRN_ENOTFOUND);
	/* Same content, new backup: only the directory and header change. */
	write_gen(f->path, size, 3, every, 1, 5000);
	assert_true(size_of(f->path) - after < 64 * 1024);
	read_gen(f->path, size, 3, every, 1, 5000);
}

/* Many updates, each touching another segment: the garbage they leave is
 * compacted away, so the file stays within 1.5 x its live size (+ slack). */
static void test_compaction(void **state)
{
	struct fx *f = *state;
	uint64_t size = 64 * GiB, every = 64;
	write_gen(f->path, size, 1, every, 0, UINT64_MAX);
	off_t first = size_of(f->path);
	for (unsigned g = 1; g <= 40; g++) {
		write_gen(f->path, size, (uint8_t)(g + 1), every, g, (uint64_t)g * 4096 * 3 % (size / CS));
		assert_true(size_of(f->path) <= first + first / 2 + 2 * 65536);
	}
	read_gen(f->path, size, 41, every, 40, 40ull * 4096 * 3 % (size / CS));
}

/* A flipped byte anywhere is caught: in the header the cache does not
 * open; in a segment the reader fails there with CAIRN_ECORRUPT and never
 * returns a wrong entry.  A cut-off file does not open. */
static void test_damage(void **state)
{
	struct fx *f = *state;
	uint64_t size = 64 * GiB, every = 64;
	struct cairn_tagcache_key k = key_of(size, 1);
	struct cairn_tagcache_reader *r = NULL;
	write_gen(f->path, size, 1, every, 0, UINT64_MAX);
	off_t sz = size_of(f->path);
	/* The header. */
	th_flip_file_byte(f->path, 40);
	ck_err(cairn_tagcache_open(f->path, lkey, &k, &r), CAIRN_ENOTFOUND);
	th_flip_file_byte(f->path, 40);
	read_gen(f->path, size, 1, every, 0, UINT64_MAX);
	/* The directory (written last, before the header). */
	th_flip_file_byte(f->path, -10);
	ck_err(cairn_tagcache_open(f->path, lkey, &k, &r), CAIRN_ENOTFOUND);
	th_flip_file_byte(f->path, -10);
	/* A segment in the middle: entries before it come back right, then
	 * the reader stops. */
	th_flip_file_byte(f->path, sz / 2);
	ck_ok(cairn_tagcache_open(f->path, lkey, &k, &r));
	uint64_t i = 0;
	int rc = 0;
	for (; i < size / CS; i++) {
		struct cairn_tag_entry got, want;
		if ((rc = cairn_tagcache_next(r, &got)) < 0)
			break;
		entry_of(i, every, 0, UINT64_MAX, &want);
		assert_memory_equal(&got, &want, sizeof(got));
	}
	assert_int_equal(rc, CAIRN_ECORRUPT);
	assert_true(i > 0 && i < size / CS);
	cairn_tagcache_reader_free(r);
	/* A writer reuses segments by hash without reading them back; told
	 * of the damage (as backup does when its reader trips), it writes
	 * them anew and the file is whole again. */
	struct cairn_tagcache_key k2 = key_of(size, 2);
	struct cairn_tagcache_writer *w = NULL;
	ck_ok(cairn_tagcache_create(f->path, lkey, &k2, &w));
	cairn_tagcache_distrust(w);
	for (uint64_t c = 0; c < size / CS; c++) {
		struct cairn_tag_entry e;
		entry_of(c, every, 0, UINT64_MAX, &e);
		ck_ok(cairn_tagcache_append(w, &e));
	}
	ck_ok(cairn_tagcache_commit(w));
	cairn_tagcache_writer_free(w);
	read_gen(f->path, size, 2, every, 0, UINT64_MAX);
	k = key_of(size, 2);
	sz = size_of(f->path);
	/* Cut off. */
	assert_int_equal(truncate(f->path, sz - 100), 0);
	ck_err(cairn_tagcache_open(f->path, lkey, &k, &r), CAIRN_ENOTFOUND);
	assert_int_equal(truncate(f->path, 100), 0);
	ck_err(cairn_tagcache_open(f->path, lkey, &k, &r), CAIRN_ENOTFOUND);
	/* And the next backup writes a whole new one. */
	write_gen(f->path, size, 3, every, 0, UINT64_MAX);
	read_gen(f->path, size, 3, every, 0, UINT64_MAX);
}

/* A torn header (half of it old bytes, half garbage) does not open; an
 * update abandoned before its commit leaves the previous state whole and
 * the file at its previous size. */
static void test_torn(void **state)
{
	struct fx *f = *state;
	uint64_t size = 64 * GiB, every = 64;
	write_gen(f->path, size, 1, every, 0, UINT64_MAX);
	off_t sz = size_of(f->path);
	struct cairn_tagcache_key k2 = key_of(size, 2);
	struct cairn_tagcache_writer *w = NULL;
	ck_ok(cairn_tagcache_create(f->path, lkey, &k2, &w));
	for (uint64_t i = 0; i < size / CS; i++) {
		struct cairn_tag_entry e;
		entry_of(i, every, 7, i, &e); /* every chunk changed */
		ck_ok(cairn_tagcache_append(w, &e));
	}
	cairn_tagcache_writer_free(w); /* no commit: a failed backup */
	assert_int_equal(size_of(f->path), sz);
	read_gen(f->path, size, 1, every, 0, UINT64_MAX);
	/* Appended garbage a killed backup left is cut by the next writer. */
	int fd = open(f->path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	uint8_t junk[4096];
	th_fill(junk, sizeof(junk), 9);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	/* Torn header: the second half of it is garbage (O_APPEND would make
	 * pwrite append, hence another descriptor). */
	fd = open(f->path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, 64, 64), 64);
	close(fd);
	struct cairn_tagcache_key k1 = key_of(size, 1);
	struct cairn_tagcache_reader *r = NULL;
	ck_err(cairn_tagcache_open(f->path, lkey, &k1, &r), CAIRN_ENOTFOUND);
	write_gen(f->path, size, 2, every, 0, UINT64_MAX);
	read_gen(f->path, size, 2, every, 0, UINT64_MAX);
}

/* A version 1 cache (magic CAIRNTC1) is not read, and the next backup
 * replaces it; so is one sealed under another local key, or of another
 * volume size. */
static void test_version(void **state)
{
	struct fx *f = *state;
	uint64_t size = 4 * GiB, every = 64;
	uint8_t old[56 + 4 + 64];
	memset(old, 0, sizeof(old));
	memcpy(old, "CAIRNTC1", 8);
	memset(old + 8, 0xaa, 16);
	memset(old + 24, 1, 16);
	th_write_file(f->path, old, sizeof(old));
	struct cairn_tagcache_key k = key_of(size, 1);
	struct cairn_tagcache_reader *r = NULL;
	ck_err(cairn_tagcache_open(f->path, lkey, &k, &r), CAIRN_ENOTFOUND);
	write_gen(f->path, size, 1, every, 0, UINT64_MAX);
	read_gen(f->path, size, 1, every, 0, UINT64_MAX);
	uint8_t other[CAIRN_KEY_LEN] = { 9 };
	ck_err(cairn_tagcache_open(f->path, other, &k, &r), CAIRN_ENOTFOUND);
	struct cairn_tagcache_key bigger = key_of(2 * size, 1);
	ck_err(cairn_tagcache_open(f->path, lkey, &bigger, &r), CAIRN_ENOTFOUND);
	/* A writer for another size starts a new file, which then opens. */
	write_gen(f->path, 2 * size, 2, every, 0, UINT64_MAX);
	read_gen(f->path, 2 * size, 2, every, 0, UINT64_MAX);
}

/* Like write_gen, but each run of chunks without data goes in with one
 * cairn_tagcache_append_zeros (the backup's hole batches). */
static void write_gen_runs(const char *path, uint64_t size, uint8_t backup, uint64_t every, unsigned gen,
			   uint64_t changed)
{
	struct cairn_tagcache_key k = key_of(size, backup);
	struct cairn_tagcache_writer *w = NULL;
	ck_ok(cairn_tagcache_create(path, lkey, &k, &w));
	uint64_t n = size / CS;
	for (uint64_t i = 0; i < n;) {
		if (!has_data(i, every)) {
			uint64_t e = i;
			while (e < n && !has_data(e, every))
				e++;
			ck_ok(cairn_tagcache_append_zeros(w, e - i));
			i = e;
			continue;
		}
		struct cairn_tag_entry e;
		entry_of(i, every, gen, changed, &e);
		ck_ok(cairn_tagcache_append(w, &e));
		i++;
	}
	ck_ok(cairn_tagcache_append_zeros(w, 0));
	ck_err(cairn_tagcache_append_zeros(w, 1), CAIRN_EINVAL); /* past the end */
	ck_ok(cairn_tagcache_commit(w));
	cairn_tagcache_writer_free(w);
}

/* Hole runs written whole (within a segment, across many, ending on a
 * segment's edge, at the start and the end) read back entry for entry as
 * chunk-by-chunk appends do, and update the same file in place. */
static void test_zero_runs(void **state)
{
	struct fx *f = *state;
	/* 16 data chunks of every 10000: holes cross segments (4096 chunks). */
	uint64_t size = 64 * GiB, every = 10000;
	write_gen_runs(f->path, size, 1, every, 0, UINT64_MAX);
	off_t runs = size_of(f->path);
	read_gen(f->path, size, 1, every, 0, UINT64_MAX);
	ino_t ino = ino_of(f->path);
	/* Chunk by chunk, same entries: the in-place update reuses every
	 * segment (only a directory and the header are written). */
	write_gen(f->path, size, 2, every, 0, UINT64_MAX);
	assert_int_equal(ino_of(f->path), ino);
	assert_true(size_of(f->path) - runs < 64 * 1024);
	read_gen(f->path, size, 2, every, 0, UINT64_MAX);
	/* Holes of exactly a segment, starting on its edge. */
	write_gen_runs(f->path, size, 3, 4096 * 2, 0, UINT64_MAX);
	read_gen(f->path, size, 3, 4096 * 2, 0, UINT64_MAX);
	/* Data in the first 16 chunks, then one hole to the end. */
	unlink(f->path);
	write_gen_runs(f->path, size, 4, UINT64_MAX, 0, UINT64_MAX);
	read_gen(f->path, size, 4, UINT64_MAX, 0, UINT64_MAX);
	assert_true(size_of(f->path) < 4096);
}

/* A reader steps over a hole with cairn_tagcache_skip, whatever the cache
 * holds there (data the previous backup saw where there is a hole now),
 * and the next entry is still the right one; skipping past the end is
 * refused. */
static void test_skip(void **state)
{
	struct fx *f = *state;
	uint64_t size = 64 * GiB, every = 64, n = size / CS;
	write_gen(f->path, size, 1, every, 0, UINT64_MAX);
	struct cairn_tagcache_key k = key_of(size, 1);
	struct cairn_tagcache_reader *r = NULL;
	ck_ok(cairn_tagcache_open(f->path, lkey, &k, &r));
	uint64_t i = 0, x = 7;
	while (i < n) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t skip = (x >> 33) % 9000; /* within a segment, or across several */
		if (skip > n - i)
			skip = n - i;
		ck_ok(cairn_tagcache_skip(r, skip));
		i += skip;
		for (int m = 0; m < 3 && i < n; m++, i++) {
			struct cairn_tag_entry got, want;
			ck_ok(cairn_tagcache_next(r, &got));
			entry_of(i, every, 0, UINT64_MAX, &want);
			if (memcmp(&got, &want, sizeof(got)) != 0)
				fail_msg("chunk %llu differs after a skip", (unsigned long long)i);
		}
	}
	ck_ok(cairn_tagcache_skip(r, 0));
	ck_err(cairn_tagcache_skip(r, 1), CAIRN_ECORRUPT);
	cairn_tagcache_reader_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sparse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
