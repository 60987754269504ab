/* source/volume: reads, and the mapped view the backup reads through: the
 * bytes it shows, the offsets it refuses, and a volume that shrinks under
 * it (an error return, never a SIGBUS). */
#include "helpers.h"

#include "source/volume.h"

#include <fcntl.h>
#include <sys/mman.h>

#define KiB 1024u

struct vfix {
	char dir[PATH_MAX];
	char path[PATH_MAX + 16];
	uint8_t *data; /* the file's bytes */
	size_t size;
};

/* A 1 MiB + 100 byte file of deterministic bytes: not a whole number of
 * pages, so the view's last page reaches past the end of the file. */
static int setup(void **state)
{
	struct vfix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	th_tmpdir(f->dir, sizeof(f->dir), "volume");
	snprintf(f->path, sizeof(f->path), "%s/vol.img", f->dir);
	f->size = 1024 * KiB + 100;
	f->data = malloc(f->size);
	assert_non_null(f->data);
	for (size_t i = 0; i < f->size; i++)
		f->data[i] = (uint8_t)(i * 2654435761u >> 13);
	int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->data, f->size), (ssize_t)f->size);
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct vfix *f = *state;
	th_rm_rf(f->dir);
	free(f->data);
	free(f);
	return 0;
}

static void test_read(void **state)
{
	struct vfix *f = *state;
	struct cairn_volume *v = NULL;
	ck_ok(cairn_volume_open(f->path, &v));
	assert_int_equal(v->size, f->size);
	assert_string_equal(v->name, "vol.img");
	static uint8_t buf[200 * KiB];
	ck_ok(cairn_volume_read(v, 12345, buf, sizeof(buf)));
	assert_memory_equal(buf, f->data + 12345, sizeof(buf));
	/* Reading past the end is an error, not a short read. */
	ck_err(cairn_volume_read(v, f->size - 50, buf, 100), CAIRN_EIO);
	assert_non_null(strstr(cairn_error_message(), "shrank"));
	cairn_volume_free(v);
}

static void test_view(void **state)
{
	struct vfix *f = *state;
	struct cairn_volume *v = NULL;
	ck_ok(cairn_volume_open(f->path, &v));
	struct cairn_volume_view view;
	/* The tail from 512 KiB on, in two faulted runs; unfaulted bytes are
	 * never touched here. */
	size_t off = 512 * KiB, len = f->size - off;
	ck_ok(cairn_volume_view_map(v, off, len, &view));
	assert_non_null(view.data);
	ck_ok(cairn_volume_view_fault(v, &view, 0, 64 * KiB));
	assert_memory_equal(view.data, f->data + off, 64 * KiB);
	ck_ok(cairn_volume_view_fault(v, &view, 100 * KiB + 7, len - 100 * KiB - 7));
	assert_memory_equal(view.data + 100 * KiB, f->data + off + 100 * KiB, len - 100 * KiB);
	/* Faulting nothing, or past the window, is a no-op. */
	ck_ok(cairn_volume_view_fault(v, &view, len, 0));
	ck_ok(cairn_volume_view_fault(v, &view, len + 4096, 4096));
	cairn_volume_view_unmap(&view);
	assert_null(view.data);
	cairn_volume_view_unmap(&view); /* twice is harmless */

	/* What the caller must read instead: an offset off the page grid, a
	 * window past the end, an empty one. */
	ck_err(cairn_volume_view_map(v, 100, 4096, &view), CAIRN_EUNSUPPORTED);
	ck_err(cairn_volume_view_map(v, 0, f->size + 1, &view), CAIRN_EUNSUPPORTED);
	ck_err(cairn_volume_view_map(v, 0, 0, &view), CAIRN_EUNSUPPORTED);
	assert_null(view.data);
	cairn_volume_free(v);
}

/* The source is truncated after it was mapped (a file backed up without a
 * snapshot, rewritten meanwhile): faulting the lost part fails with one
 * clear message; touching it would have raised SIGBUS. */
static void test_view_shrunk(void **state)
{
	struct vfix *f = *state;
	struct cairn_volume *v = NULL;
	ck_ok(cairn_volume_open(f->path, &v));
	struct cairn_volume_view view;
	ck_ok(cairn_volume_view_map(v, 0, f->size, &view));
	assert_int_equal(truncate(f->path, 256 * KiB), 0);
	ck_ok(cairn_volume_view_fault(v, &view, 0, 256 * KiB));
	assert_memory_equal(view.data, f->data, 256 * KiB);
	ck_err(cairn_volume_view_fault(v, &view, 512 * KiB, 64 * KiB), CAIRN_EIO);
	assert_non_null(strstr(cairn_error_message(), "shrank"));
	assert_non_null(strstr(cairn_error_message(), f->path));
	cairn_volume_view_unmap(&view);
	cairn_volume_free(v);
}

/* Only the runs faulted in are mapped from the file: the rest of the view
 * is no page of it, even where the page cache holds the file (it does here:
 * setup wrote it).  A wide batch's view would otherwise count every cached
 * page of the large folios its runs touch in the process's RSS. */
static void test_view_maps_only_runs(void **state)
{
	struct vfix *f = *state;
	struct cairn_volume *v = NULL;
	ck_ok(cairn_volume_open(f->path, &v));
	struct cairn_volume_view view;
	ck_ok(cairn_volume_view_map(v, 0, f->size, &view));
	ck_ok(cairn_volume_view_fault(v, &view, 0, 64 * KiB));
	unsigned char in_core[64];
	assert_int_equal(mincore(view.data, 64 * KiB, in_core), 0);
	for (size_t i = 0; i < 64 * KiB / 4096; i++)
		assert_int_equal(in_core[i] & 1, 1);
	assert_int_equal(mincore(view.data + 256 * KiB, 256 * KiB, in_core), 0);
	for (size_t i = 0; i < 256 * KiB / 4096; i++)
		assert_int_equal(in_core[i] & 1, 0);
	cairn_volume_view_unmap(&view);
	cairn_volume_free(v);
}

/* The path a source goes by: links and linked directories resolved; the
 * same file by any path is "the same", another file or nothing is not. */
static void test_stable_path(void **state)
{
	struct vfix *f = *state;
	char linkdir[PATH_MAX + 16], via[PATH_MAX + 32], other[PATH_MAX + 16], real[PATH_MAX];
	assert_non_null(realpath(f->path, real));
	snprintf(linkdir, sizeof(linkdir), "%s/ld", f->dir);
	snprintf(via, sizeof(via), "%s/vol.img", linkdir);
	snprintf(other, sizeof(other), "%s/other.img", f->dir);
	assert_int_equal(symlink(f->dir, linkdir), 0);
	char *p = NULL;
	ck_ok(cairn_volume_stable_path(via, &p));
	assert_string_equal(p, real);
	free(p);
	ck_err(cairn_volume_stable_path(other, &p), CAIRN_ENOTFOUND);
	assert_non_null(strstr(cairn_error_message(), "cannot open source"));
	struct stat st;
	assert_int_equal(stat(via, &st), 0);
	assert_int_equal(cairn_volume_same_as(f->path, &st), 1);
	assert_int_equal(cairn_volume_same_as(other, &st), -1);
	int fd = open(other, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(cairn_volume_same_as(other, &st), 0);
	assert_int_equal(cairn_volume_same_as(f->dir, &st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_shrunk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_maps_only_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stable_path, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
