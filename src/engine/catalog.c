/* Backup's file catalog: source/extscan.c reports the file systems,
 * repo/catwrite.c turns them into nodes.  The writer refusing what a
 * damaged file system gave (two entries of one name, a file of more
 * extents than a catalog holds) is that file system's damage, not the
 * backup's failure. */
#include "engine/catalog.h"
#include "source/extscan.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

struct adapter {
	struct cairn_catalog_writer *w;
	char fs_name[16];
	char why[512]; /* the writer's refusal, as the file system's reason */
	unsigned damaged;
	uint64_t entries;
};

/* Writer errors of kind EINVAL are the file system's damage (1). */
static int judge(struct adapter *a, int r)
{
	if (r != CAIRN_EINVAL)
		return r < 0 ? r : 0;
	snprintf(a->why, sizeof(a->why), "the file system could not be read: %s", cairn_error_message());
	return 1;
}

static int v_fs_begin(void *ud, const char *name, uint64_t offset, uint64_t size, const char *fs_type)
{
	struct adapter *a = ud;
	snprintf(a->fs_name, sizeof(a->fs_name), "%s", name);
	*a->why = 0;
	return cairn_catalog_fs_begin(a->w, name, offset, size, fs_type);
}

static int v_fs_end(void *ud, const struct cairn_cat_entry *root)
{
	struct adapter *a = ud;
	return judge(a, cairn_catalog_fs_end(a->w, root));
}

static int v_fs_skip(void *ud, const char *reason)
{
	struct adapter *a = ud;
	const char *why = reason && *reason ? reason : a->why;
	if (!strncmp(why, "the file system could not be read", 33)) {
		a->damaged++;
		cairn_log_warn("no file catalog of %s%s: %s", *a->fs_name ? "partition " : "the volume", a->fs_name,
			       why);
	}
	return cairn_catalog_fs_skip(a->w, why);
}

static int v_dir_begin(void *ud)
{
	struct adapter *a = ud;
	return judge(a, cairn_catalog_dir_begin(a->w));
}

static int v_entry(void *ud, const struct cairn_cat_entry *e)
{
	struct adapter *a = ud;
	if (++a->entries % 4096 == 0 && cairn_cancel_check())
		return cairn_error_set(CAIRN_ECANCELED, "interrupted");
	return judge(a, cairn_catalog_add(a->w, e));
}

static int v_dir_end(void *ud, uint8_t ret_id[32])
{
	struct adapter *a = ud;
	return judge(a, cairn_catalog_dir_end(a->w, ret_id));
}

int cairn_catalog_build(int fd, uint64_t size, struct cairn_hasher *hasher, cairn_catalog_emit_fn emit, void *ud,
			struct cairn_catalog_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	_cleanup_(cairn_catalog_writer_freep) struct cairn_catalog_writer *w = NULL;
	int r = cairn_catalog_writer_new(hasher, emit, ud, &w);
	if (r < 0)
		return r;
	struct adapter a = { .w = w };
	const struct cairn_fs_visitor v = { v_fs_begin, v_fs_end, v_fs_skip, v_dir_begin, v_entry, v_dir_end, &a };
	if ((r = cairn_fs_scan(fd, size, &v)) < 0)
		return r;
	ret->damaged = a.damaged;
	r = cairn_catalog_writer_finish(w, ret->root);
	if (r == CAIRN_ENOTFOUND) {
		snprintf(ret->reason, sizeof(ret->reason), "%s", cairn_error_message());
		return 0;
	}
	if (r < 0)
		return r;
	ret->has_root = true;
	return 0;
}
