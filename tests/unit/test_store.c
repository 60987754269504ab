/* Store layer tests: the conformance suite on the local driver, then what is
 * specific to the local driver, the test wrappers and cairn_store_open. */
#include "store_conformance.h"
#include "app/settings.h"
#include "engine/engine.h"
#include "util/time.h"
#include "store/registry.h"
#include "store/testwrap.h"

#include "util/cleanup.h"
#include "util/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* Scratch directories */

static void make_tmpdir(char *buf, size_t size)
{
	const char *base = getenv("CAIRN_TEST_TMP");
	if (!base || !*base)
		base = "/tmp";
	snprintf(buf, size, "%s/store-XXXXXX", base);
	assert_non_null(mkdtemp(buf));
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup_local(void **state)
{
	struct sc_fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	make_tmpdir(f->dir, sizeof(f->dir));
	sc_ok(cairn_store_local_open(f->dir, &f->store));
	*state = f;
	return 0;
}

static int teardown_local(void **state)
{
	struct sc_fixture *f = *state;
	cairn_store_free(f->store);
	rm_rf(f->dir);
	free(f);
	return 0;
}

static struct sc_fixture *fixture(void **state)
{
	return *state;
}

/* Counts regular files (and temp files) below dir. */
static int files_seen, tmp_seen;
static int count_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	if (type == FTW_F) {
		files_seen++;
		if (!strncmp(path + ftw->base, ".tmp.", 5))
			tmp_seen++;
	}
	return 0;
}

static void count_files(const char *dir)
{
	files_seen = tmp_seen = 0;
	assert_int_equal(nftw(dir, count_one, 16, FTW_PHYS), 0);
}

/* Local driver */

static void test_local_bad_keys(void **state)
{
	struct cairn_store *s = fixture(state)->store;
	static const char *const bad[] = {
		"", "/abs", "../x", "a/../b", "a/..", "..", ".", "a/./b", "a//b", "a/", "/",
		".tmp.x", "a/.tmp.y/b",
	};
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint64_t size;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(cairn_store_put(s, bad[i], "x", 1, 0), CAIRN_EINVAL);
		assert_non_null(strstr(cairn_error_message(), "invalid object key"));
		assert_int_equal(cairn_store_get(s, bad[i], 0, CAIRN_STORE_TO_END, &b), CAIRN_EINVAL);
		assert_int_equal(cairn_store_stat(s, bad[i], &size), CAIRN_EINVAL);
		assert_int_equal(cairn_store_del(s, bad[i]), CAIRN_EINVAL);
	}
	size_t n = 0;
	assert_int_equal(cairn_store_list(s, "/x", sc_count_cb, &n), CAIRN_EINVAL);
	assert_int_equal(cairn_store_list(s, "../", sc_count_cb, &n), CAIRN_EINVAL);
	assert_int_equal(cairn_store_list(s, "a/../b", sc_count_cb, &n), CAIRN_EINVAL);
	/* Dots inside a name are fine. */
	sc_ok(cairn_store_put(s, "a..b/c.d/..e", "x", 1, 0));
	sc_expect_object(s, "a..b/c.d/..e", (const uint8_t *)"x", 1);
	/* Nothing escaped the root. */
	count_files(fixture(state)->dir);
	assert_int_equal(files_seen, 1);
	cairn_buf_free(&b);
}

static void test_local_layout(void **state)
{
	struct sc_fixture *f = fixture(state);
	char path[PATH_MAX + 64];
	struct stat st;

	/* Private whatever the umask: 0700 directories, 0600 objects (a
	 * umask of 0177 would leave a directory without search permission). */
	mode_t um = umask(022);
	sc_ok(cairn_store_put(f->store, "packs/ab/cd", "hello", 5, 0));
	umask(0177);
	sc_ok(cairn_store_put(f->store, "packs/ef/gh", "hello", 5, CAIRN_PUT_CREATE_ONLY));
	umask(um);
	static const char *const files[] = { "packs/ab/cd", "packs/ef/gh" }, *const dirs[] = { "packs", "packs/ab", "packs/ef" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_size, 5);
		assert_int_equal(st.st_mode & 07777, 0600);
	}
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, dirs[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0700);
	}
	assert_true(cairn_store_has(f->store, CAIRN_STORE_FEAT_LOCAL | CAIRN_STORE_FEAT_RANGE_GET |
						     CAIRN_STORE_FEAT_CREATE_ONLY));
	assert_false(cairn_store_has(f->store, CAIRN_STORE_FEAT_SERVER_COPY));
	assert_string_equal(f->store->ops->name, "local");
}

static void test_local_no_temp_files(void **state)
{
	struct sc_fixture *f = fixture(state);
	char key[32];

	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "t/%d/o%d", i % 5, i);
		sc_ok(cairn_store_put(f->store, key, key, strlen(key), i % 2 ? CAIRN_PUT_CREATE_ONLY : 0));
	}
	sc_ok(cairn_store_put(f->store, "t/0/o0", "x", 1, 0));
	assert_int_equal(cairn_store_put(f->store, "t/0/o0", "y", 1, CAIRN_PUT_CREATE_ONLY), CAIRN_EEXIST);
	count_files(f->dir);
	assert_int_equal(tmp_seen, 0);
	assert_int_equal(files_seen, 50);
}

static void test_local_temp_not_listed(void **state)
{
	struct sc_fixture *f = fixture(state);
	char path[PATH_MAX + 64];
	size_t n = 0;

	sc_ok(cairn_store_put(f->store, "packs/a", "x", 1, 0));
	/* What a crash in the middle of a put leaves behind. */
	snprintf(path, sizeof(path), "%s/packs/.tmp.b.123.abcdef", f->dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/.tmp.top.1.2", f->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);

	sc_ok(cairn_store_list(f->store, "", sc_count_cb, &n));
	assert_int_equal(n, 1);
	n = 0;
	sc_ok(cairn_store_list(f->store, "packs/", sc_count_cb, &n));
	assert_int_equal(n, 1);
	n = 0;
	sc_ok(cairn_store_list(f->store, "packs/.tmp", sc_count_cb, &n));
	assert_int_equal(n, 0);
}

static void test_local_missing_root(void **state)
{
	struct sc_fixture *f = fixture(state);
	char root[PATH_MAX + 64];
	struct cairn_store *s = NULL;
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint64_t size;
	size_t n = 0;

	snprintf(root, sizeof(root), "%s/not/yet/here", f->dir);
	sc_ok(cairn_store_local_open(root, &s));
	/* Opening creates nothing. */
	assert_int_equal(access(root, F_OK), -1);
	assert_int_equal(cairn_store_get(s, "k", 0, CAIRN_STORE_TO_END, &b), CAIRN_ENOTFOUND);
	assert_int_equal(cairn_store_stat(s, "a/k", &size), CAIRN_ENOTFOUND);
	sc_ok(cairn_store_del(s, "a/k"));
	sc_ok(cairn_store_list(s, "", sc_count_cb, &n));
	assert_int_equal(n, 0);
	/* put does not grow a tree at a mistyped path either. */
	assert_int_equal(cairn_store_put(s, "a/k", "x", 1, 0), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_message(), "does not exist"));
	assert_int_equal(cairn_store_put(s, "k", "x", 1, 0), CAIRN_ENOTFOUND);
	assert_int_equal(access(root, F_OK), -1);

	mode_t um = umask(022);
	sc_ok(cairn_store_create(s));
	umask(um);
	sc_ok(cairn_store_create(s)); /* idempotent */
	sc_ok(cairn_store_put(s, "a/k", "x", 1, 0));
	sc_expect_object(s, "a/k", (const uint8_t *)"x", 1);
	cairn_store_free(s);
	/* Every directory create made is private. */
	struct stat st;
	static const char *const made[] = { "not", "not/yet", "not/yet/here" };
	for (size_t i = 0; i < ARRAY_SIZE(made); i++) {
		snprintf(root, sizeof(root), "%s/%s", f->dir, made[i]);
		assert_int_equal(stat(root, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0700);
	}

	/* Trailing slashes on the root are harmless. */
	snprintf(root, sizeof(root), "%s/not/yet/here//", f->dir);
	sc_ok(cairn_store_local_open(root, &s));
	sc_expect_object(s, "a/k", (const uint8_t *)"x", 1);
	cairn_store_free(s);

	/* create on a path that is a file fails. */
	snprintf(root, sizeof(root), "%s/not/yet/here/a/k", f->dir);
	sc_ok(cairn_store_local_open(root, &s));
	assert_true(cairn_store_create(s) < 0);
	cairn_store_free(s);
	cairn_buf_free(&b);
}

static void test_local_not_found_message(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_buf b = CAIRN_BUF_INIT;
	char want[PATH_MAX + 64];

	assert_int_equal(cairn_store_get(f->store, "keys/x", 0, CAIRN_STORE_TO_END, &b), CAIRN_ENOTFOUND);
	snprintf(want, sizeof(want), "object keys/x not found in %s", f->dir);
	assert_string_equal(cairn_error_message(), want);
	cairn_buf_free(&b);
}

static void test_local_put_into_file_parent(void **state)
{
	struct cairn_store *s = fixture(state)->store;
	sc_ok(cairn_store_put(s, "f", "x", 1, 0));
	assert_true(cairn_store_put(s, "f/g", "y", 1, 0) < 0);
	sc_expect_object(s, "f", (const uint8_t *)"x", 1);
}

static void test_local_enospc(void **state)
{
	struct sc_fixture *f = fixture(state);
	char mnt[PATH_MAX + 64];
	struct cairn_store *s = NULL;
	uint64_t size;

	if (geteuid() != 0)
		skip();
	snprintf(mnt, sizeof(mnt), "%s/small", f->dir);
	assert_int_equal(mkdir(mnt, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") < 0) {
		print_message("skipping: cannot mount tmpfs: %s\n", strerror(errno));
		skip();
	}

	const size_t n = 4u << 20;
	uint8_t *d = sc_data(n, 9);
	sc_ok(cairn_store_local_open(mnt, &s));
	sc_ok(cairn_store_put(s, "packs/small", "ok", 2, 0));
	int r = cairn_store_put(s, "packs/big", d, n, 0);
	char msg[1024];
	cairn_error_copy(msg, sizeof(msg));
	int r2 = cairn_store_put(s, "big", d, n, CAIRN_PUT_CREATE_ONLY);
	int rs = cairn_store_stat(s, "packs/big", &size);
	count_files(mnt);
	/* Room again: the failed puts left nothing that holds space. */
	uint8_t *d2 = sc_data(700u << 10, 10);
	int r3 = cairn_store_put(s, "packs/after", d2, 700u << 10, 0);
	cairn_store_free(s);
	umount2(mnt, MNT_DETACH);
	free(d);
	free(d2);

	assert_int_equal(r, CAIRN_ENOSPC);
	assert_non_null(strstr(msg, mnt));
	assert_non_null(strstr(msg, "packs/big"));
	assert_int_equal(r2, CAIRN_ENOSPC);
	assert_int_equal(rs, CAIRN_ENOTFOUND);
	assert_int_equal(tmp_seen, 0);
	assert_int_equal(files_seen, 1);
	sc_ok(r3);
}

/* Fault wrapper */

static struct cairn_store *fault_store(struct sc_fixture *f, unsigned ops, unsigned at, bool persistent,
				       int code)
{
	struct cairn_fault_params p = { .ops = ops, .fail_at = at, .persistent = persistent, .code = code };
	struct cairn_store *w = NULL;
	sc_ok(cairn_store_fault_wrap(f->store, &p, &w));
	f->store = w; /* the wrapper owns the local store now */
	return w;
}

static void test_fault_transient(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_store *s = fault_store(f, CAIRN_FAULT_PUT, 3, false, CAIRN_EIO);
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint64_t size;

	sc_ok(cairn_store_put(s, "a/1", "1", 1, 0));
	sc_ok(cairn_store_get(s, "a/1", 0, CAIRN_STORE_TO_END, &b)); /* not counted */
	sc_ok(cairn_store_put(s, "a/2", "2", 1, 0));
	assert_int_equal(cairn_store_put(s, "a/3", "3", 1, 0), CAIRN_EIO);
	assert_string_equal(cairn_error_message(), "injected fault: put #3");
	assert_int_equal(cairn_store_stat(s, "a/3", &size), CAIRN_ENOTFOUND);
	sc_ok(cairn_store_put(s, "a/3", "3", 1, 0));
	sc_ok(cairn_store_put(s, "a/4", "4", 1, 0));
	sc_expect_object(s, "a/3", (const uint8_t *)"3", 1);
	/* Wrapping is transparent. */
	assert_string_equal(s->ops->name, "local");
	assert_true(cairn_store_has(s, CAIRN_STORE_FEAT_CREATE_ONLY | CAIRN_STORE_FEAT_LOCAL));
	assert_string_equal(s->uri, f->dir);
	assert_null(s->ops->copy);
	assert_non_null(s->ops->create);
	sc_ok(cairn_store_create(s));
	cairn_buf_free(&b);
}

static void test_fault_persistent(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_store *s = fault_store(f, CAIRN_FAULT_GET | CAIRN_FAULT_STAT, 2, true, CAIRN_ENOSPC);
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint64_t size;
	size_t n = 0;

	sc_ok(cairn_store_put(s, "k", "v", 1, 0));
	sc_ok(cairn_store_get(s, "k", 0, CAIRN_STORE_TO_END, &b));
	assert_int_equal(cairn_store_stat(s, "k", &size), CAIRN_ENOSPC);
	assert_string_equal(cairn_error_message(), "injected fault: stat #2");
	assert_int_equal(cairn_store_get(s, "k", 0, CAIRN_STORE_TO_END, &b), CAIRN_ENOSPC);
	assert_string_equal(cairn_error_message(), "injected fault: get #3");
	assert_int_equal(b.len, 0);
	assert_int_equal(cairn_store_stat(s, "k", &size), CAIRN_ENOSPC);
	/* Kinds not selected keep working. */
	sc_ok(cairn_store_list(s, "", sc_count_cb, &n));
	assert_int_equal(n, 1);
	sc_ok(cairn_store_del(s, "k"));
	cairn_buf_free(&b);
}

static void test_fault_all_kinds(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_store *s = fault_store(f, CAIRN_FAULT_ALL, 5, false, CAIRN_ENOTFOUND);
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint64_t size;
	size_t n = 0;

	sc_ok(cairn_store_put(s, "k", "v", 1, 0));                   /* 1 */
	sc_ok(cairn_store_get(s, "k", 0, CAIRN_STORE_TO_END, &b));   /* 2 */
	sc_ok(cairn_store_stat(s, "k", &size));                      /* 3 */
	sc_ok(cairn_store_list(s, "", sc_count_cb, &n));             /* 4 */
	assert_int_equal(cairn_store_del(s, "k"), CAIRN_ENOTFOUND);  /* 5 */
	assert_string_equal(cairn_error_message(), "injected fault: del #5");
	sc_ok(cairn_store_stat(s, "k", &size)); /* the del did not happen */
	/* Wrappers stack. */
	s = fault_store(f, CAIRN_FAULT_LIST, 1, false, CAIRN_EIO);
	assert_int_equal(cairn_store_list(s, "", sc_count_cb, &n), CAIRN_EIO);
	assert_string_equal(cairn_error_message(), "injected fault: list #1");
	cairn_buf_free(&b);
}

static void test_fault_never(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_store *s = fault_store(f, CAIRN_FAULT_ALL, 0, true, CAIRN_EIO);
	for (int i = 0; i < 20; i++)
		sc_ok(cairn_store_put(s, "k", "v", 1, 0));
}

static void test_fault_bad_params(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_fault_params p = { .ops = CAIRN_FAULT_ALL, .fail_at = 1, .code = 0 };
	struct cairn_store *w = NULL;
	assert_int_equal(cairn_store_fault_wrap(f->store, &p, &w), CAIRN_EINVAL);
	assert_null(w);
	/* The store stays the caller's on failure (teardown frees it). */
}

static int diff_bytes(const uint8_t *a, const uint8_t *b, size_t n, size_t *at)
{
	int d = 0;
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i]) {
			d++;
			*at = i;
		}
	return d;
}

static void test_fault_corrupt(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_fault_params p = { .corrupt_prefix = "packs/" };
	struct cairn_store *s = NULL;
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint8_t *d = sc_data(10000, 3);
	size_t at = 0;

	sc_ok(cairn_store_fault_wrap(f->store, &p, &s));
	f->store = s;
	sc_ok(cairn_store_put(s, "packs/x", d, 10000, 0));
	sc_ok(cairn_store_put(s, "index/x", d, 10000, 0));

	sc_ok(cairn_store_get(s, "packs/x", 0, CAIRN_STORE_TO_END, &b));
	assert_int_equal(b.len, 10000);
	assert_int_equal(diff_bytes(b.data, d, 10000, &at), 1);
	assert_int_equal(at, 5000);
	sc_ok(cairn_store_get(s, "packs/x", 100, 50, &b));
	assert_int_equal(b.len, 50);
	assert_int_equal(diff_bytes(b.data, d + 100, 50, &at), 1);
	/* Other keys and the stored bytes are untouched. */
	sc_ok(cairn_store_get(s, "index/x", 0, CAIRN_STORE_TO_END, &b));
	assert_int_equal(diff_bytes(b.data, d, 10000, &at), 0);
	sc_ok(cairn_store_put(s, "packs/empty", "", 0, 0));
	sc_ok(cairn_store_get(s, "packs/empty", 0, CAIRN_STORE_TO_END, &b));
	assert_int_equal(b.len, 0);

	struct cairn_store *raw = NULL;
	sc_ok(cairn_store_local_open(f->dir, &raw));
	sc_expect_object(raw, "packs/x", d, 10000);
	cairn_store_free(raw);
	cairn_buf_free(&b);
	free(d);
}

static void test_fault_truncate(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_fault_params p = { .ops = CAIRN_FAULT_PUT, .fail_at = 2, .code = CAIRN_EIO,
					.truncate_put = true };
	struct cairn_store *s = NULL, *raw = NULL;
	uint8_t *d = sc_data(1001, 4);

	sc_ok(cairn_store_fault_wrap(f->store, &p, &s));
	f->store = s;
	sc_ok(cairn_store_put(s, "a", d, 1001, 0));
	assert_int_equal(cairn_store_put(s, "b", d, 1001, 0), CAIRN_EIO);
	assert_string_equal(cairn_error_message(), "injected fault: put #2");
	sc_ok(cairn_store_local_open(f->dir, &raw));
	sc_expect_object(raw, "b", d, 500);
	sc_expect_object(raw, "a", d, 1001);
	cairn_store_free(raw);
	free(d);
}

/* The whole conformance suite through a fault wrapper that never fires. */
static int setup_fault_passthrough(void **state)
{
	struct cairn_fault_params p = { .ops = CAIRN_FAULT_ALL, .code = CAIRN_EIO };
	struct cairn_store *w = NULL;
	setup_local(state);
	sc_ok(cairn_store_fault_wrap(fixture(state)->store, &p, &w));
	fixture(state)->store = w;
	return 0;
}

/* Counting wrapper */

static void test_count(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_store *s = NULL;
	struct cairn_store_counts c;
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint64_t size;
	size_t n = 0;

	sc_ok(cairn_store_count_wrap(f->store, &s));
	f->store = s;
	sc_ok(cairn_store_put(s, "a", "hello", 5, 0));
	sc_ok(cairn_store_put(s, "b/c", "hi", 2, 0));
	assert_int_equal(cairn_store_put(s, "a", "x", 1, CAIRN_PUT_CREATE_ONLY), CAIRN_EEXIST);
	sc_ok(cairn_store_get(s, "a", 1, 3, &b));
	sc_ok(cairn_store_get(s, "b/c", 0, CAIRN_STORE_TO_END, &b));
	assert_int_equal(cairn_store_get(s, "zz", 0, 1, &b), CAIRN_ENOTFOUND);
	sc_ok(cairn_store_stat(s, "a", &size));
	sc_ok(cairn_store_del(s, "a"));
	sc_ok(cairn_store_list(s, "", sc_count_cb, &n));
	sc_ok(cairn_store_list(s, "b/", sc_count_cb, &n));

	cairn_store_count_get(s, &c);
	assert_int_equal(c.put, 3);
	assert_int_equal(c.bytes_put, 7);
	assert_int_equal(c.get, 3);
	assert_int_equal(c.bytes_got, 5);
	assert_int_equal(c.stat, 1);
	assert_int_equal(c.del, 1);
	assert_int_equal(c.list, 2);
	assert_string_equal(s->ops->name, "local");
	assert_string_equal(s->uri, f->dir);

	/* Any other store reads as zeros. */
	struct cairn_store *raw = NULL;
	sc_ok(cairn_store_local_open(f->dir, &raw));
	memset(&c, 0xff, sizeof(c));
	cairn_store_count_get(raw, &c);
	assert_int_equal(c.get + c.put + c.stat + c.del + c.list + c.bytes_got + c.bytes_put, 0);
	assert_int_equal(cairn_store_count_dump_on_free(raw, "/dev/null"), CAIRN_EINVAL);
	cairn_store_free(raw);
	cairn_buf_free(&b);
}

static void test_count_concurrent(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_store *s = NULL;
	struct cairn_store_counts c;

	sc_ok(cairn_store_count_wrap(f->store, &s));
	f->store = s;
	sc_concurrent(s);
	cairn_store_count_get(s, &c);
	/* Per round and thread: an own put and a race put plus the shared put;
	 * an own get, a range get when the object has more than 10 bytes, and
	 * a shared get (mirrors sc_thread_main); then one get per race key. */
	uint64_t gets = SC_ROUNDS;
	for (int t = 0; t < SC_THREADS; t++)
		for (int i = 0; i < SC_ROUNDS; i++)
			gets += 2 + ((i * 7919 + t * 104729) % (300 * 1024) > 10);
	assert_int_equal(c.put, SC_THREADS * SC_ROUNDS * 3);
	assert_int_equal(c.get, gets);
	assert_int_equal(c.list, 1);
}

/* cairn_store_open */

/* What app/settings.c sets from CAIRN_TEST_FAULT and CAIRN_TEST_COUNT. */
static struct cairn_store_test_hooks hooks;

static void set_fault(const char *spec)
{
	hooks.fault = spec;
	cairn_store_set_test_hooks(&hooks);
}

static void set_count(const char *file)
{
	hooks.count = file;
	cairn_store_set_test_hooks(&hooks);
}

static void clear_env(void)
{
	hooks = (struct cairn_store_test_hooks){ 0 };
	cairn_store_set_test_hooks(NULL);
}

/* The registry: every scheme's provider, driver and options, asked by the
 * opener and by the credential code. */
static void test_registry(void **state)
{
	(void)state;
	const struct cairn_store_scheme *e = cairn_store_scheme_of("S3://b/p");
	assert_non_null(e);
	assert_string_equal(e->scheme, "s3");
	assert_string_equal(e->provider, "s3");
	assert_int_equal(e->options, CAIRN_STORE_OPTIONS_S3);
	e = cairn_store_scheme_of("gs://b");
	assert_non_null(e);
	assert_string_equal(e->provider, "google");
	assert_int_equal(e->options, CAIRN_STORE_OPTIONS_S3);
	e = cairn_store_scheme_of("azure://a/c");
	assert_non_null(e);
	assert_string_equal(e->provider, "azure");
	assert_int_equal(e->options, CAIRN_STORE_OPTIONS_AZURE);
	static const char *const local[] = { "/srv/repo", "rel/dir", "./a://b", "dir/x://y", "file:///x", "FILE:///x" };
	for (size_t i = 0; i < ARRAY_SIZE(local); i++) {
		e = cairn_store_scheme_of(local[i]);
		assert_non_null(e);
		assert_string_equal(e->scheme, "file");
		assert_null(e->provider);
		assert_int_equal(e->options, CAIRN_STORE_OPTIONS_NONE);
	}
	assert_null(cairn_store_scheme_of("ftp://h/x"));
	assert_null(cairn_store_scheme_of(NULL));

	assert_string_equal(cairn_store_scheme_of_provider("google")->scheme, "gs");
	assert_string_equal(cairn_store_scheme_of_provider("azure")->scheme, "azure");
	assert_null(cairn_store_scheme_of_provider("gcs"));
	assert_null(cairn_store_scheme_of_provider(NULL));
	/* An S3 credential opens gs:// (both speak S3), never azure://. */
	assert_true(cairn_store_scheme_serves(cairn_store_scheme_of("gs://b"), "s3"));
	assert_true(cairn_store_scheme_serves(cairn_store_scheme_of("s3://b"), "google"));
	assert_false(cairn_store_scheme_serves(cairn_store_scheme_of("s3://b"), "azure"));
	assert_false(cairn_store_scheme_serves(cairn_store_scheme_of("azure://a/c"), "s3"));
	assert_false(cairn_store_scheme_serves(cairn_store_scheme_of("azure://a/c"), "bogus"));
}

/* Opening needs no server: the features are the store's, the ops tables
 * the driver's own consts (GCS's without DeleteObjects). */
static void test_open_drivers(void **state)
{
	(void)state;
	struct cairn_store *s3 = NULL, *s3b = NULL, *gs = NULL;
	struct cairn_store_opts o = { .s3 = { .access_key = "ak", .secret_key = "sk" } };

	clear_env();
	sc_ok(cairn_store_open_opts("s3://bucket/p?endpoint=http://127.0.0.1:9", &o, &s3));
	sc_ok(cairn_store_open_opts("s3://other?endpoint=http://127.0.0.1:9", &o, &s3b));
	sc_ok(cairn_store_open_opts("gs://bucket/p", &o, &gs));
	assert_string_equal(s3->ops->name, "s3");
	assert_ptr_equal(s3->ops, s3b->ops);
	assert_non_null(s3->ops->del_many);
	assert_string_equal(gs->ops->name, "gcs");
	assert_null(gs->ops->del_many);
	assert_true(cairn_store_has(s3, CAIRN_STORE_FEAT_CREATE_ONLY | CAIRN_STORE_FEAT_RANGE_GET));
	assert_true(cairn_store_has(gs, CAIRN_STORE_FEAT_CREATE_ONLY | CAIRN_STORE_FEAT_RANGE_GET));
	assert_false(cairn_store_has(s3, CAIRN_STORE_FEAT_LOCAL));
	/* A withdrawn feature is that store's alone. */
	__atomic_fetch_and(&s3->features, ~(unsigned)CAIRN_STORE_FEAT_CREATE_ONLY, __ATOMIC_RELAXED);
	assert_false(cairn_store_has(s3, CAIRN_STORE_FEAT_CREATE_ONLY));
	assert_true(cairn_store_has(s3b, CAIRN_STORE_FEAT_CREATE_ONLY));
	cairn_store_free(s3);
	cairn_store_free(s3b);
	cairn_store_free(gs);
}

/* The environment reaches the store, the HTTP client, the engine and the
 * test hooks through app/settings.c alone, read when it is called. */
static void test_settings(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_store *s = NULL;
	static const char *const vars[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
					    "AZURE_STORAGE_SAS_TOKEN", "CAIRN_HTTP_STATS", "CAIRN_THREADS",
					    "CAIRN_PROFILE", "CAIRN_MAP_SOURCE", "CAIRN_NO_DIRECT_IO",
					    "CAIRN_TEST_NOW", "CAIRN_TEST_FAULT", "CAIRN_TEST_COUNT" };

	setenv("AWS_ACCESS_KEY_ID", "env-ak", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "env-sk", 1);
	setenv("AWS_REGION", "eu-north-1", 1);
	setenv("AZURE_STORAGE_SAS_TOKEN", "sv=1&sig=x", 1);
	setenv("CAIRN_HTTP_STATS", "/dev/null", 1);
	setenv("CAIRN_THREADS", "3", 1);
	setenv("CAIRN_PROFILE", "", 1); /* set at all is on */
	setenv("CAIRN_NO_DIRECT_IO", "1", 1);
	setenv("CAIRN_TEST_NOW", "1795616404", 1);
	setenv("CAIRN_TEST_FAULT", "ops=put,at=1,code=ENOSPC", 1);
	const struct cairn_settings *st = cairn_settings_init();
	assert_ptr_equal(cairn_store_env_default(), &st->store);
	assert_string_equal(st->store.aws.access_key_id, "env-ak");
	assert_string_equal(st->store.azure.sas_token, "sv=1&sig=x");
	assert_string_equal(st->store.http.stats, "/dev/null");
	assert_true(st->store.no_direct_io);
	assert_int_equal(cairn_engine_threads(), 3);
	assert_true(cairn_engine_tuning()->profile);
	assert_int_equal(cairn_engine_tuning()->source_read, CAIRN_SOURCE_READ_AUTO);
	assert_true(cairn_engine_tuning()->no_direct_io);
	assert_int_equal(cairn_wall_now(), 1795616404);
	/* The S3 driver takes the keys and region of the default environment. */
	sc_ok(cairn_store_open("s3://bucket?endpoint=http://127.0.0.1:9", &s));
	cairn_store_free(s);
	sc_ok(cairn_store_open(f->dir, &s));
	assert_int_equal(cairn_store_put(s, "a", "a", 1, 0), CAIRN_ENOSPC);
	cairn_store_free(s);

	for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
		unsetenv(vars[i]);
	st = cairn_settings_init();
	assert_null(st->store.aws.access_key_id);
	assert_false(cairn_engine_tuning()->profile);
	assert_int_equal(cairn_engine_tuning()->threads, 0);
	assert_true(cairn_wall_now() > 1700000000 && cairn_wall_now() != 1795616404);
	assert_int_equal(cairn_store_open("s3://bucket?endpoint=http://127.0.0.1:9", &s), CAIRN_EAUTH);
	sc_ok(cairn_store_open(f->dir, &s));
	sc_ok(cairn_store_put(s, "a", "a", 1, 0));
	cairn_store_free(s);
	/* CAIRN_MAP_SOURCE: unset is auto, 1 maps, 0 or "" reads. */
	setenv("CAIRN_MAP_SOURCE", "1", 1);
	assert_int_equal(cairn_settings_init()->engine.source_read, CAIRN_SOURCE_READ_MAP);
	setenv("CAIRN_MAP_SOURCE", "0", 1);
	assert_int_equal(cairn_settings_init()->engine.source_read, CAIRN_SOURCE_READ_PREAD);
	setenv("CAIRN_MAP_SOURCE", "", 1);
	assert_int_equal(cairn_settings_init()->engine.source_read, CAIRN_SOURCE_READ_PREAD);
	assert_int_equal(cairn_engine_tuning()->source_read, CAIRN_SOURCE_READ_PREAD);
	unsetenv("CAIRN_MAP_SOURCE");
	cairn_settings_init();
	clear_env();
}

static void test_open_uris(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_store *s = NULL;
	struct cairn_buf b = CAIRN_BUF_INIT;
	char uri[PATH_MAX + 64];

	clear_env();
	sc_ok(cairn_store_put(f->store, "config", "c", 1, 0));

	sc_ok(cairn_store_open(f->dir, &s));
	assert_string_equal(s->ops->name, "local");
	assert_string_equal(s->uri, f->dir);
	sc_expect_object(s, "config", (const uint8_t *)"c", 1);
	cairn_store_free(s);

	snprintf(uri, sizeof(uri), "file://%s", f->dir);
	sc_ok(cairn_store_open(uri, &s));
	assert_string_equal(s->uri, uri);
	sc_expect_object(s, "config", (const uint8_t *)"c", 1);
	assert_int_equal(cairn_store_get(s, "nope", 0, 1, &b), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_message(), uri));
	cairn_store_free(s);

	snprintf(uri, sizeof(uri), "file://localhost%s", f->dir);
	sc_ok(cairn_store_open(uri, &s));
	sc_expect_object(s, "config", (const uint8_t *)"c", 1);
	cairn_store_free(s);

	sc_ok(cairn_store_open("some/relative/dir", &s));
	assert_string_equal(s->ops->name, "local");
	assert_string_equal(s->uri, "some/relative/dir");
	cairn_store_free(s);
	sc_ok(cairn_store_open("dir/with://colon", &s));
	cairn_store_free(s);

	s = NULL;
	/* s3:// and gs:// reach their driver, which wants keys. */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("GOOGLE_HMAC_ACCESS_KEY");
	unsetenv("GOOGLE_HMAC_SECRET");
	assert_int_equal(cairn_store_open("s3://bucket/prefix", &s), CAIRN_EAUTH);
	assert_non_null(strstr(cairn_error_message(), "AWS_ACCESS_KEY_ID"));
	assert_null(s);
	assert_int_equal(cairn_store_open("gs://bucket/prefix", &s), CAIRN_EAUTH);
	assert_non_null(strstr(cairn_error_message(), "GOOGLE_HMAC_ACCESS_KEY"));
	assert_null(s);
	struct cairn_store_opts az = { .provider = "azure", .s3 = { .access_key = "a", .secret_key = "b" } };
	assert_int_equal(cairn_store_open_opts("s3://bucket/prefix", &az, &s), CAIRN_EINVAL);
	assert_null(s);
	/* azure:// reaches its driver, which wants a key or a SAS token. */
	unsetenv("AZURE_STORAGE_KEY");
	unsetenv("AZURE_STORAGE_SAS_TOKEN");
	unsetenv("AZURE_STORAGE_ACCOUNT");
	assert_int_equal(cairn_store_open("azure://acct/container", &s), CAIRN_EAUTH);
	assert_non_null(strstr(cairn_error_message(), "AZURE_STORAGE_KEY"));
	assert_null(s);
	struct cairn_store_opts s3o = { .provider = "s3", .s3 = { .access_key = "a", .secret_key = "b" } };
	assert_int_equal(cairn_store_open_opts("azure://acct/container", &s3o, &s), CAIRN_EINVAL);
	assert_null(s);
	assert_int_equal(cairn_store_open("ftp://host/x", &s), CAIRN_EUNSUPPORTED);
	assert_non_null(strstr(cairn_error_message(), "'ftp'"));
	assert_int_equal(cairn_store_open("", &s), CAIRN_EINVAL);
	assert_int_equal(cairn_store_open("file://host/x", &s), CAIRN_EINVAL);
	assert_int_equal(cairn_store_open("file://", &s), CAIRN_EINVAL);
	assert_null(s);
	cairn_buf_free(&b);
}

static void test_open_fault_env(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_store *s = NULL;
	struct cairn_buf b = CAIRN_BUF_INIT;
	uint8_t *d = sc_data(100, 1);
	size_t at = 0;

	set_fault("ops=put,at=2,code=ENOSPC");
	sc_ok(cairn_store_open(f->dir, &s));
	sc_ok(cairn_store_put(s, "a", "a", 1, 0));
	assert_int_equal(cairn_store_put(s, "b", "b", 1, 0), CAIRN_ENOSPC);
	assert_string_equal(cairn_error_message(), "injected fault: put #2");
	sc_ok(cairn_store_put(s, "b", "b", 1, 0));
	cairn_store_free(s);

	set_fault("ops=put+get,at=1,persistent=1");
	sc_ok(cairn_store_open(f->dir, &s));
	assert_int_equal(cairn_store_get(s, "a", 0, 1, &b), CAIRN_EIO);
	assert_int_equal(cairn_store_put(s, "c", "c", 1, 0), CAIRN_EIO);
	assert_int_equal(cairn_store_get(s, "a", 0, 1, &b), CAIRN_EIO);
	sc_ok(cairn_store_del(s, "b"));
	cairn_store_free(s);

	set_fault("corrupt=packs/");
	sc_ok(cairn_store_open(f->dir, &s));
	sc_ok(cairn_store_put(s, "packs/p", d, 100, 0));
	sc_ok(cairn_store_get(s, "packs/p", 0, CAIRN_STORE_TO_END, &b));
	assert_int_equal(diff_bytes(b.data, d, 100, &at), 1);
	cairn_store_free(s);

	set_fault("ops=all,at=1,truncate=1,code=ECORRUPT,persistent=0");
	sc_ok(cairn_store_open(f->dir, &s));
	assert_int_equal(cairn_store_put(s, "t", d, 100, 0), CAIRN_ECORRUPT);
	sc_ok(cairn_store_get(s, "t", 0, CAIRN_STORE_TO_END, &b));
	assert_int_equal(b.len, 50);
	cairn_store_free(s);

	set_fault("ops=stat+del+list,at=1,code=ENOTFOUND");
	sc_ok(cairn_store_open(f->dir, &s));
	sc_ok(cairn_store_get(s, "a", 0, 1, &b));
	assert_int_equal(cairn_store_del(s, "a"), CAIRN_ENOTFOUND);
	cairn_store_free(s);

	static const char *const bad[] = {
		"bogus=1", "ops=foo", "ops=put+", "ops=", "at=x", "at=-1", "at=1x", "at=99999999999",
		"code=EFOO", "code=OK", "persistent=2", "truncate=yes", "noequals", "at=1,,zz",
		"at=1,", "ops=put++get", "=1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		set_fault(bad[i]);
		s = NULL;
		int r = cairn_store_open(f->dir, &s);
		if (r != CAIRN_EINVAL)
			fail_msg("spec '%s' gave %d", bad[i], r);
		assert_non_null(strstr(cairn_error_message(), "CAIRN_TEST_FAULT"));
		assert_null(s);
	}
	/* Empty means off. */
	set_fault("");
	sc_ok(cairn_store_open(f->dir, &s));
	cairn_store_free(s);
	clear_env();
	cairn_buf_free(&b);
	free(d);
}

static void test_open_count_env(void **state)
{
	struct sc_fixture *f = fixture(state);
	struct cairn_store *s = NULL;
	struct cairn_buf b = CAIRN_BUF_INIT;
	char file[PATH_MAX + 64], line[PATH_MAX + 512], want[PATH_MAX + 512];

	snprintf(file, sizeof(file), "%s/counts.json", f->dir);
	set_count(file);
	set_fault("ops=get,at=2");
	sc_ok(cairn_store_open(f->dir, &s));
	sc_ok(cairn_store_put(s, "x/a", "abcd", 4, 0));
	sc_ok(cairn_store_get(s, "x/a", 1, 2, &b));
	/* The counter sits outside the fault wrapper: failed calls count. */
	assert_int_equal(cairn_store_get(s, "x/a", 0, 4, &b), CAIRN_EIO);
	cairn_store_free(s);
	clear_env();

	FILE *fp = fopen(file, "r");
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	snprintf(want, sizeof(want),
		 "{\"uri\":\"%s\",\"get\":2,\"put\":1,\"stat\":0,\"del\":0,\"list\":0,\"bytes_got\":2,"
		 "\"bytes_put\":4}\n",
		 f->dir);
	assert_string_equal(line, want);
	assert_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	cairn_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		CAIRN_STORE_CONFORMANCE_TESTS("local/", setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_local_bad_keys, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_local_layout, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_local_no_temp_files, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_local_temp_not_listed, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_local_missing_root, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_local_not_found_message, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_local_put_into_file_parent, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_local_enospc, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_fault_transient, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_fault_persistent, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_fault_all_kinds, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_fault_never, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_fault_bad_params, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_fault_corrupt, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_fault_truncate, setup_local, teardown_local),
		CAIRN_STORE_CONFORMANCE_TESTS("fault-passthrough/", setup_fault_passthrough, teardown_local),
		cmocka_unit_test_setup_teardown(test_count, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_count_concurrent, setup_local, teardown_local),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_open_drivers),
		cmocka_unit_test_setup_teardown(test_settings, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_open_uris, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_open_fault_env, setup_local, teardown_local),
		cmocka_unit_test_setup_teardown(test_open_count_env, setup_local, teardown_local),
	};
	clear_env();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
