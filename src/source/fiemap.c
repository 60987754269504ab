#include "source/fiemap.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <errno.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#define FIEMAP_BATCH 512

/* Flags that make an extent's physical location meaningless for comparison. */
#define UNTRUSTED                                                                                     \
	(FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_DATA_INLINE |                  \
	 FIEMAP_EXTENT_DATA_TAIL | FIEMAP_EXTENT_NOT_ALIGNED | FIEMAP_EXTENT_DATA_ENCRYPTED)

static int push_extent(struct cairn_extent_map *m, const struct fiemap_extent *fe)
{
	int r = cairn_array_grow(&m->v, &m->cap, m->n, sizeof(*m->v), 256);
	if (r < 0)
		return r;
	m->v[m->n++] = (struct cairn_extent){ fe->fe_logical, fe->fe_physical, fe->fe_length, fe->fe_flags };
	return 0;
}

int cairn_extent_map_read(int fd, const char *path, struct cairn_extent_map *ret)
{
	memset(ret, 0, sizeof(*ret));
	size_t sz = sizeof(struct fiemap) + FIEMAP_BATCH * sizeof(struct fiemap_extent);
	_cleanup_free_ struct fiemap *fm = calloc(1, sz);
	if (!fm)
		return cairn_error_nomem();
	uint64_t start = 0;
	uint32_t flags = FIEMAP_FLAG_SYNC;
	for (;;) {
		memset(fm, 0, sz);
		fm->fm_start = start;
		fm->fm_length = FIEMAP_MAX_OFFSET - start;
		fm->fm_flags = flags;
		fm->fm_extent_count = FIEMAP_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
			int e = errno;
			cairn_extent_map_free(ret);
			if (e == EOPNOTSUPP || e == ENOTTY || e == EINVAL)
				return cairn_error_set(CAIRN_EUNSUPPORTED, "%s: the file system reports no extent map",
						       path);
			return cairn_error_errno(e, "extent map of %s", path);
		}
		/* Sync once; later batches see the same, already written, state. */
		flags = 0;
		if (fm->fm_mapped_extents == 0)
			return 0;
		bool last = false;
		for (uint32_t i = 0; i < fm->fm_mapped_extents; i++) {
			const struct fiemap_extent *fe = &fm->fm_extents[i];
			int r = push_extent(ret, fe);
			if (r < 0) {
				cairn_extent_map_free(ret);
				return r;
			}
			if (fe->fe_flags & FIEMAP_EXTENT_LAST)
				last = true;
		}
		const struct fiemap_extent *end = &fm->fm_extents[fm->fm_mapped_extents - 1];
		uint64_t next = end->fe_logical + end->fe_length;
		if (last || next <= start)
			return 0;
		start = next;
	}
}

void cairn_extent_map_free(struct cairn_extent_map *m)
{
	if (!m)
		return;
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* Position in one map during the sweep. */
struct side {
	const struct cairn_extent_map *m;
	size_t i; /* first extent ending after pos */
};

static const struct cairn_extent *covering(struct side *s, uint64_t pos)
{
	while (s->i < s->m->n && s->m->v[s->i].logical + s->m->v[s->i].length <= pos)
		s->i++;
	if (s->i < s->m->n && s->m->v[s->i].logical <= pos)
		return &s->m->v[s->i];
	return NULL;
}

/* Where the state of a side next changes after pos. */
static uint64_t boundary(struct side *s, const struct cairn_extent *e, uint64_t limit)
{
	uint64_t b;
	if (e)
		b = e->logical + e->length;
	else
		b = s->i < s->m->n ? s->m->v[s->i].logical : limit;
	return b < limit ? b : limit;
}

static bool same_bytes(const struct cairn_extent *a, const struct cairn_extent *b)
{
	if ((a->flags | b->flags) & UNTRUSTED)
		return false;
	if ((a->flags ^ b->flags) & FIEMAP_EXTENT_UNWRITTEN)
		return false;
	if ((a->flags | b->flags) & FIEMAP_EXTENT_ENCODED)
		/* Offsets inside a compressed extent are not reported: only the
		 * very same extent is known to hold the same bytes. */
		return (a->flags & b->flags & FIEMAP_EXTENT_ENCODED) && a->logical == b->logical &&
		       a->physical == b->physical && a->length == b->length;
	return a->physical - a->logical == b->physical - b->logical;
}

/* A hole, or an extent allocated but never written: both read as zeros.
 * (A reflink clone leaves holes where its source has unwritten extents.) */
static bool reads_zeros(const struct cairn_extent *e)
{
	return !e || ((e->flags & FIEMAP_EXTENT_UNWRITTEN) && !(e->flags & UNTRUSTED));
}

int cairn_extent_map_diff(const struct cairn_extent_map *base, const struct cairn_extent_map *cur, uint64_t size,
			  struct cairn_change_map *out)
{
	struct side a = { base, 0 }, b = { cur, 0 };
	uint64_t pos = 0;
	while (pos < size) {
		const struct cairn_extent *ea = covering(&a, pos), *eb = covering(&b, pos);
		uint64_t next = boundary(&a, ea, size);
		uint64_t nb = boundary(&b, eb, size);
		if (nb < next)
			next = nb;
		if (next <= pos)
			return cairn_error_set(CAIRN_ECORRUPT, "extent map does not advance at %llu",
					       (unsigned long long)pos);
		bool unchanged = (reads_zeros(ea) && reads_zeros(eb)) || (ea && eb && same_bytes(ea, eb));
		if (!unchanged) {
			int r = cairn_change_map_add(out, pos, next - pos);
			if (r < 0)
				return r;
		}
		pos = next;
	}
	return 0;
}

int cairn_fiemap_changes(int base_fd, const char *base_path, int cur_fd, const char *cur_path, uint64_t size,
			 struct cairn_change_map *out)
{
	struct stat sa, sb;
	if (fstat(base_fd, &sa) < 0)
		return cairn_error_errno(errno, "stat %s", base_path);
	if (fstat(cur_fd, &sb) < 0)
		return cairn_error_errno(errno, "stat %s", cur_path);
	if (!S_ISREG(sa.st_mode) || !S_ISREG(sb.st_mode))
		return cairn_error_set(CAIRN_EUNSUPPORTED, "extent maps need regular files");
	if (sa.st_dev != sb.st_dev)
		return cairn_error_set(CAIRN_EUNSUPPORTED, "%s and %s are on different file systems", base_path,
				       cur_path);
	struct cairn_extent_map ma, mb;
	int r = cairn_extent_map_read(base_fd, base_path, &ma);
	if (r < 0)
		return r;
	if ((r = cairn_extent_map_read(cur_fd, cur_path, &mb)) < 0) {
		cairn_extent_map_free(&ma);
		return r;
	}
	r = cairn_extent_map_diff(&ma, &mb, size, out);
	cairn_extent_map_free(&ma);
	cairn_extent_map_free(&mb);
	if (r >= 0)
		out->method = "fiemap";
	return r;
}
