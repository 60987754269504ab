/* Restore: manifest -> tree -> chunk ids -> packs read by range in parallel
 * -> open, decompress, verify id -> pwrite.  Zero chunks stay holes in a
 * file and are zeroed on a device.  A file target is written under a
 * temporary name and renamed into place only when complete, so a failed
 * restore never leaves a half-written file where the volume should be.
 *
 * Work proceeds in rounds of up to ROUND_CHUNKS chunks: the round's blobs
 * are sorted by pack and offset and merged into range reads of at most
 * RANGE_MAX bytes, which the workers fetch and unpack.  Memory: the round's
 * item list plus one range buffer and one run buffer per worker (four
 * times the cores, or the store's parallelism if larger: 8 on S3).
 */
#include "engine/engine.h"
#include "engine/packrange.h"
#include "engine/tuning.h"
#include "repo/index.h"
#include "repo/lease.h"
#include "repo/objects.h"
#include "repo/pack.h"
#include "repo/tree.h"
#include "source/chunker.h"
#include "source/tagcache.h"
#include "source/volume.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/log.h"
#include "util/path.h"
#include "util/time.h"
#include "util/tmpfile.h"

#include <blkid/blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROUND_CHUNKS 32768
#define RANGE_MAX (4u << 20)
#define RANGE_GAP (256u << 10)
/* Restore workers, at most (each holds 2 x RANGE_MAX). */
#define MAX_RWORKERS 32

struct item {
	uint64_t chunk;
	struct cairn_blob_ref ref;
	uint8_t tag[16]; /* delta: the chunk's change tag, when has_tag */
	uint8_t has_tag;
	uint8_t same; /* delta: the target already holds this chunk */
};

struct range {
	uint32_t pack;
	uint64_t start, end;
	size_t first, count; /* items */
};

struct rjob {
	struct cairn_repo *repo;
	struct cairn_index *idx;
	const struct cairn_manifest *m;
	int fd;
	int dfd; /* same target opened O_DIRECT, or -1 */
	bool device;
	const char *target;

	struct item *items;
	size_t nitems;
	struct range *ranges;
	size_t nranges, next_range, ranges_done;
	uint64_t round; /* bumps when a new round is published */
	bool quit;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	int error;
	char errmsg[1024];

	uint64_t bytes_written, bytes_fetched, zero_bytes;
	bool profile; /* CAIRN_PROFILE: seconds per stage, summed over workers */
	double t_get, t_decode, t_write, t_idle;
	/* the calling thread: tree walk and index lookups, per-round setup
	 * (allocation, sort), waiting for the round's workers */
	double t_walk, t_setup, t_wait;

	/* zero runs on a device, merged */
	uint64_t zero_start, zero_len;

	/* --delta: the target is rewritten in place where it differs */
	bool delta;
	struct cairn_tagcache_reader *tc; /* this backup's change tags, or NULL */
	uint64_t tc_next;                 /* chunk number of the next entry in tc */
	uint64_t bytes_compared, chunks_same;
	struct cairn_change_cursor differs; /* delta: where the target may differ; m == NULL: anywhere */
};

static void rjob_fail(struct rjob *j, int r)
{
	pthread_mutex_lock(&j->lock);
	if (!j->error) {
		j->error = r;
		cairn_error_copy(j->errmsg, sizeof(j->errmsg));
	}
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
}

/* Writes chunks [first, first + n) held contiguously in buf.  Full
 * 4 KiB-aligned runs go through the O_DIRECT descriptor when there is one:
 * no copy into the page cache, whose fresh pages cost more than the copy. */
static int write_run(struct rjob *j, const uint8_t *buf, uint64_t first, size_t len)
{
	int fd = j->dfd >= 0 && len % 4096 == 0 ? j->dfd : j->fd;
	return cairn_pwrite_all(fd, buf, len, first * j->m->chunk_size, j->target);
}

static int do_range(struct rjob *j, struct cairn_blob_codec *c, const struct range *rg, struct cairn_buf *buf,
		    uint8_t *out, size_t out_cap)
{
	char key[CAIRN_OBJECT_NAME_MAX];
	double t0 = j->profile ? cairn_now() : 0, tw = 0;
	const uint8_t *pack_id = cairn_index_pack_id(j->idx, rg->pack);
	int r = cairn_pack_range_get(j->repo, j->idx, rg->pack, rg->start, rg->end, buf);
	double t1 = j->profile ? cairn_now() : 0;
	if (r < 0)
		return r;
	uint64_t fetched = buf->len, written = 0;
	const struct item *prev = NULL;
	const uint8_t *prev_plain = NULL;
	uint32_t csize = j->m->chunk_size;
	/* Chunks that follow each other in the volume are gathered into one
	 * write: a pack mostly holds a volume's chunks in order. */
	uint64_t run_first = 0;
	size_t run_len = 0;
	for (size_t i = rg->first; i < rg->first + rg->count; i++) {
		const struct item *it = &j->items[i];
		uint64_t off = it->chunk * csize;
		uint32_t want = (uint32_t)MIN((uint64_t)csize, j->m->size - off);
		if (it->ref.raw_len != want || it->ref.type != CAIRN_BLOB_CHUNK)
			return cairn_error_set(CAIRN_ECORRUPT, "chunk %llu has a wrong length or type in the index",
					       (unsigned long long)it->chunk);
		if (run_len && (run_first * csize + run_len != off || run_len + csize > out_cap)) {
			double ts = j->profile ? cairn_now() : 0;
			if ((r = write_run(j, out, run_first, run_len)) < 0)
				return r;
			if (j->profile)
				tw += cairn_now() - ts;
			written += run_len;
			/* A duplicate's plain text may sit in the run just written. */
			if (prev_plain && prev && prev->ref.offset == it->ref.offset) {
				memmove(out, prev_plain, want);
				prev_plain = out;
			} else {
				prev_plain = NULL;
			}
			run_len = 0;
		}
		if (!run_len)
			run_first = it->chunk;
		uint8_t *dst = out + run_len;
		if (prev && prev->ref.offset == it->ref.offset && prev_plain) {
			if (dst != prev_plain)
				memcpy(dst, prev_plain, want);
		} else {
			r = cairn_blob_decode(c, &it->ref, buf->data + (it->ref.offset - rg->start), dst);
			if (r < 0) {
				cairn_pack_key(pack_id, key);
				return cairn_error_prefix(r, "in %s", key);
			}
		}
		prev = it;
		prev_plain = dst;
		run_len += want;
	}
	if (run_len) {
		double ts = j->profile ? cairn_now() : 0;
		if ((r = write_run(j, out, run_first, run_len)) < 0)
			return r;
		if (j->profile)
			tw += cairn_now() - ts;
		written += run_len;
	}
	pthread_mutex_lock(&j->lock);
	if (j->profile) {
		double t2 = cairn_now();
		j->t_get += t1 - t0;
		j->t_write += tw;
		j->t_decode += t2 - t1 - tw;
	}
	j->bytes_fetched += fetched;
	j->bytes_written += written;
	pthread_mutex_unlock(&j->lock);
	return 0;
}

static void *rworker_main(void *arg)
{
	struct rjob *j = arg;
	struct cairn_blob_codec codec;
	struct cairn_buf buf = CAIRN_BUF_INIT;
	size_t out_cap = MAX((size_t)RANGE_MAX, (size_t)j->m->chunk_size);
	void *out = NULL;
	int r = cairn_blob_codec_init(&codec, j->repo);
	/* Both buffers are refilled for every range: huge pages spare the
	 * faults of first use and the per-page pinning of direct writes. */
	if (r >= 0 && !(out = cairn_alloc_large(out_cap)))
		r = cairn_error_nomem();
	if (r >= 0)
		r = cairn_buf_reserve_large(&buf, RANGE_MAX);
	if (r < 0) {
		cairn_blob_codec_free(&codec);
		cairn_buf_free(&buf);
		free(out);
		rjob_fail(j, r);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&j->lock);
		double ti = j->profile ? cairn_now() : 0;
		while (!j->quit && !j->error && j->next_range >= j->nranges)
			pthread_cond_wait(&j->cond, &j->lock);
		if (j->profile)
			j->t_idle += cairn_now() - ti;
		if (j->quit || j->error) {
			pthread_mutex_unlock(&j->lock);
			break;
		}
		struct range rg = j->ranges[j->next_range++];
		pthread_mutex_unlock(&j->lock);
		r = cairn_cancel_requested ? cairn_error_set(CAIRN_ECANCELED, "interrupted")
					   : do_range(j, &codec, &rg, &buf, out, out_cap);
		if (r < 0) {
			rjob_fail(j, r);
			break;
		}
		pthread_mutex_lock(&j->lock);
		j->ranges_done++;
		pthread_cond_broadcast(&j->cond);
		pthread_mutex_unlock(&j->lock);
	}
	cairn_buf_free(&buf);
	free(out);
	cairn_blob_codec_free(&codec);
	return NULL;
}

static int by_location(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	if (x->ref.pack != y->ref.pack)
		return x->ref.pack < y->ref.pack ? -1 : 1;
	if (x->ref.offset != y->ref.offset)
		return x->ref.offset < y->ref.offset ? -1 : 1;
	return x->chunk < y->chunk ? -1 : x->chunk > y->chunk;
}

/* ---- --delta: find what the target already holds ---- */

#define COMPARE_RUN (8u << 20)

struct compare_slice {
	struct rjob *j;
	size_t first, count; /* items, in volume order */
	int r;
	char errmsg[1024];
	uint64_t bytes, same;
};

/* Marks items whose chunk the target already holds: by change tag (a
 * GMAC, ~10 GB/s) when this backup's tags are known, else by id. */
static void *compare_main(void *arg)
{
	struct compare_slice *cs = arg;
	struct rjob *j = cs->j;
	uint32_t csize = j->m->chunk_size;
	struct cairn_hasher *h = NULL;
	struct cairn_gmac *g = NULL;
	void *buf = NULL;
	int r = cairn_repo_hasher(j->repo, &h);
	if (r >= 0)
		r = cairn_gmac_new(j->repo->keys->tag, &g);
	if (r >= 0 && posix_memalign(&buf, 4096, COMPARE_RUN) != 0)
		r = cairn_error_nomem();
	size_t per_run = COMPARE_RUN / csize ? COMPARE_RUN / csize : 1;
	for (size_t i = cs->first; r >= 0 && i < cs->first + cs->count;) {
		if (cairn_cancel_check()) {
			r = cairn_error_set(CAIRN_ECANCELED, "interrupted");
			break;
		}
		/* A run of consecutive chunks is read at once. */
		size_t k = i + 1;
		while (k < cs->first + cs->count && k - i < per_run && j->items[k].chunk == j->items[k - 1].chunk + 1)
			k++;
		uint64_t off = j->items[i].chunk * csize;
		uint64_t end = MIN((j->items[k - 1].chunk + 1) * csize, j->m->size);
		size_t len = (size_t)(end - off);
		ssize_t got = pread(j->fd, buf, len, (off_t)off);
		if (got < 0) {
			r = cairn_error_errno(errno, "read %s", j->target);
			break;
		}
		cs->bytes += (uint64_t)got;
		for (size_t t = i; t < k; t++) {
			struct item *it = &j->items[t];
			size_t at = (size_t)(it->chunk * csize - off), n = it->ref.raw_len;
			if (at + n > (size_t)got)
				continue; /* short target: rewrite */
			const uint8_t *p = (const uint8_t *)buf + at;
			uint8_t mac[CAIRN_ID_LEN];
			if (it->has_tag) {
				if ((r = cairn_gmac_tag(g, it->chunk, p, n, mac)) < 0)
					break;
				it->same = memcmp(mac, it->tag, 16) == 0;
			} else {
				if ((r = cairn_hasher_id(h, p, n, mac)) < 0)
					break;
				it->same = memcmp(mac, it->ref.id, CAIRN_ID_LEN) == 0;
			}
			cs->same += it->same;
		}
		i = k;
	}
	if (r < 0)
		cairn_error_copy(cs->errmsg, sizeof(cs->errmsg));
	cs->r = r;
	free(buf);
	cairn_gmac_free(g);
	cairn_hasher_free(h);
	return NULL;
}

/* Drops the items of the round that the target already holds. */
static int delta_filter(struct rjob *j)
{
	unsigned n = cairn_engine_threads();
	if (n > 16)
		n = 16;
	if (n > j->nitems)
		n = (unsigned)j->nitems;
	struct compare_slice cs[16];
	pthread_t th[16];
	unsigned started = 0;
	size_t per = (j->nitems + n - 1) / n;
	for (unsigned t = 0; t < n; t++) {
		size_t first = t * per;
		cs[t] = (struct compare_slice){ .j = j, .first = first,
						 .count = first < j->nitems ? MIN(per, j->nitems - first) : 0 };
	}
	for (unsigned t = 1; t < n; t++)
		if (pthread_create(&th[t], NULL, compare_main, &cs[t]) == 0)
			started = t;
		else
			break;
	/* The calling thread takes the first slice, and any that did not start. */
	compare_main(&cs[0]);
	for (unsigned t = started + 1; t < n; t++)
		compare_main(&cs[t]);
	for (unsigned t = 1; t <= started; t++)
		pthread_join(th[t], NULL);
	for (unsigned t = 0; t < n; t++) {
		j->bytes_compared += cs[t].bytes;
		j->chunks_same += cs[t].same;
		if (cs[t].r < 0)
			return cairn_error_set(cs[t].r, "%s", cs[t].errmsg);
	}
	size_t w = 0;
	for (size_t i = 0; i < j->nitems; i++)
		if (!j->items[i].same)
			j->items[w++] = j->items[i];
	j->nitems = w;
	return 0;
}

/* A range the backup holds as zeros: make sure the target reads as zeros
 * there, reading only what the target stores (holes are zeros already). */
static int delta_zeros(struct rjob *j, uint64_t off, uint64_t len)
{
	uint32_t csize = j->m->chunk_size;
	_cleanup_free_ uint8_t *buf = malloc(COMPARE_RUN);
	if (!buf)
		return cairn_error_nomem();
	uint64_t end = off + len, pos = off;
	while (pos < end) {
		uint64_t seg_end = end;
		if (!j->device) {
			off_t data = lseek(j->fd, (off_t)pos, SEEK_DATA);
			if (data < 0 && errno == ENXIO)
				break;
			if (data >= 0) {
				if ((uint64_t)data >= end)
					break;
				/* Chunk-aligned, so a punched chunk is whole. */
				pos = MAX(pos, (uint64_t)data / csize * csize);
				off_t hole = lseek(j->fd, data, SEEK_HOLE);
				if (hole >= 0 && (uint64_t)hole < end)
					seg_end = ((uint64_t)hole + csize - 1) / csize * csize;
				seg_end = MIN(seg_end, end);
			}
		}
		while (pos < seg_end) {
			if (cairn_cancel_check())
				return cairn_error_set(CAIRN_ECANCELED, "interrupted");
			size_t n = (size_t)MIN((uint64_t)COMPARE_RUN, seg_end - pos);
			ssize_t got = pread(j->fd, buf, n, (off_t)pos);
			if (got < 0)
				return cairn_error_errno(errno, "read %s", j->target);
			if (got == 0)
				return 0; /* past the target's end: the final size makes zeros */
			j->bytes_compared += (uint64_t)got;
			for (size_t at = 0; at < (size_t)got; at += csize) {
				size_t cl = MIN((size_t)csize, (size_t)got - at);
				if (cairn_chunk_is_zero(buf + at, cl)) {
					j->chunks_same++;
					continue;
				}
				uint64_t zoff = pos + at;
				if (j->device) {
					uint64_t range[2] = { zoff, cl };
					if (ioctl(j->fd, BLKZEROOUT, range) < 0)
						return cairn_error_errno(errno, "zeroing %s", j->target);
				} else if (fallocate(j->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)zoff,
						     (off_t)cl) < 0) {
					return cairn_error_errno(errno, "punching a hole in %s", j->target);
				}
				j->bytes_written += cl;
			}
			pos += (uint64_t)got;
		}
		pos = seg_end;
	}
	j->zero_bytes += len;
	return 0;
}

/* Moves the change-tag reader to chunk `chunk`; on any trouble the tags
 * are dropped and comparing falls back to ids. */
static bool delta_tag(struct rjob *j, uint64_t chunk, const uint8_t id[CAIRN_ID_LEN], uint8_t tag[16])
{
	struct cairn_tag_entry e;
	bool have = false;
	while (j->tc && j->tc_next <= chunk) {
		if (cairn_tagcache_next(j->tc, &e) < 0) {
			cairn_log_debug("change-tag cache unusable, comparing by id: %s", cairn_error_message());
			cairn_tagcache_reader_free(j->tc);
			j->tc = NULL;
			return false;
		}
		j->tc_next++;
		have = j->tc_next == chunk + 1;
	}
	if (!have || !id || memcmp(e.id, id, CAIRN_ID_LEN) != 0)
		return false;
	memcpy(tag, e.tag, 16);
	return true;
}

/* Runs the current round: sort, merge into ranges, let the workers go, wait. */
static int run_round(struct rjob *j)
{
	if (j->nitems == 0)
		return 0;
	if (j->delta) {
		int r = delta_filter(j);
		if (r < 0 || j->nitems == 0)
			return r;
	}
	double ts = j->profile ? cairn_now() : 0;
	/* Items arrive in volume order: allocate their runs up front.  Direct
	 * writes that allocate take the inode lock exclusively (ext4, XFS);
	 * writes into allocated space run in parallel.  Holes stay holes. */
	if (!j->device && j->dfd >= 0 && !j->delta) {
		uint64_t cs = j->m->chunk_size;
		for (size_t i = 0; i < j->nitems;) {
			size_t k = i + 1;
			while (k < j->nitems && j->items[k].chunk == j->items[k - 1].chunk + 1)
				k++;
			uint64_t off = j->items[i].chunk * cs;
			uint64_t end = MIN((j->items[k - 1].chunk + 1) * cs, j->m->size);
			(void)fallocate(j->fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)(end - off));
			i = k;
		}
	}
	qsort(j->items, j->nitems, sizeof(*j->items), by_location);
	size_t nr = 0;
	for (size_t i = 0; i < j->nitems; i++) {
		const struct item *it = &j->items[i];
		uint64_t s = it->ref.offset, e = s + it->ref.stored_len;
		struct range *last = nr ? &j->ranges[nr - 1] : NULL;
		if (last && last->pack == it->ref.pack && s <= last->end + RANGE_GAP &&
		    MAX(e, last->end) - last->start <= RANGE_MAX) {
			last->end = MAX(e, last->end);
			last->count++;
			continue;
		}
		j->ranges[nr++] = (struct range){ it->ref.pack, s, e, i, 1 };
	}
	double tw = j->profile ? cairn_now() : 0;
	pthread_mutex_lock(&j->lock);
	j->nranges = nr;
	j->next_range = 0;
	j->ranges_done = 0;
	pthread_cond_broadcast(&j->cond);
	while (!j->error && j->ranges_done < nr)
		pthread_cond_wait(&j->cond, &j->lock);
	if (j->profile) {
		j->t_setup += tw - ts;
		j->t_wait += cairn_now() - tw;
	}
	int r = j->error;
	j->nranges = j->next_range = 0;
	pthread_mutex_unlock(&j->lock);
	j->nitems = 0;
	return r ? cairn_error_set(r, "%s", j->errmsg) : 0;
}

static int delta_zeros(struct rjob *j, uint64_t off, uint64_t len);

static int flush_zeros(struct rjob *j)
{
	if (!j->zero_len)
		return 0;
	if (j->delta) {
		int r = delta_zeros(j, j->zero_start, j->zero_len);
		j->zero_len = 0;
		return r;
	}
	if (j->device) {
		uint64_t range[2] = { j->zero_start, j->zero_len };
		if (ioctl(j->fd, BLKZEROOUT, range) < 0)
			return cairn_error_errno(errno, "zeroing %s", j->target);
	}
	j->zero_bytes += j->zero_len;
	j->zero_len = 0;
	return 0;
}

static int add_zeros(struct rjob *j, uint64_t first, uint64_t count)
{
	uint64_t off = first * j->m->chunk_size;
	uint64_t len = MIN(count * j->m->chunk_size, j->m->size - off);
	if (j->zero_len && j->zero_start + j->zero_len == off) {
		j->zero_len += len;
		return 0;
	}
	int r = flush_zeros(j);
	j->zero_start = off;
	j->zero_len = len;
	return r;
}

struct walk_ctx {
	struct rjob *j;
	cairn_progress_fn progress;
	void *ud;
	double last;
	uint64_t covered;
};

/* --delta with extent maps: a chunk outside every range where the target
 * may differ already holds the backup's bytes. */
static bool known_same(struct rjob *j, uint64_t chunk)
{
	if (!j->differs.m)
		return false;
	uint8_t changed = 0;
	cairn_change_cursor_mark(&j->differs, j->m->chunk_size, chunk, 1, &changed);
	return !changed;
}

static int on_leaves(uint64_t first, uint64_t count, const uint8_t *ids, void *ud)
{
	struct walk_ctx *w = ud;
	struct rjob *j = w->j;
	int r;
	if (cairn_cancel_requested)
		return cairn_error_set(CAIRN_ECANCELED, "interrupted");
	if (j->differs.m && !ids) {
		/* A zero subtree: only its parts the target may have changed,
		 * run by run (a hole of a sparse volume is a few calls). */
		uint32_t cs = j->m->chunk_size;
		for (uint64_t c = first, end = first + count; c < end;) {
			uint64_t s = cairn_change_cursor_next(&j->differs, cs, c, end, true);
			j->chunks_same += s - c;
			if (s == end)
				break;
			uint64_t e = cairn_change_cursor_next(&j->differs, cs, s, end, false);
			if ((r = add_zeros(j, s, e - s)) < 0)
				return r;
			c = e;
		}
		w->covered = MIN((first + count) * (uint64_t)j->m->chunk_size, j->m->size);
		return 0;
	}
	for (uint64_t i = 0; i < count; i++) {
		if (ids && known_same(j, first + i)) {
			j->chunks_same++;
			continue;
		}
		const uint8_t *id = ids ? ids + i * CAIRN_ID_LEN : NULL;
		if (!id || cairn_id_is_zero(id)) {
			uint64_t n = ids ? 1 : count;
			if ((r = add_zeros(j, first + i, n)) < 0)
				return r;
			if (!ids)
				break;
			continue;
		}
		struct item *it = &j->items[j->nitems];
		it->chunk = first + i;
		it->same = 0;
		it->has_tag = j->delta && delta_tag(j, first + i, id, it->tag);
		if (cairn_index_lookup(j->idx, id, &it->ref) < 0) {
			char hex[2 * CAIRN_ID_LEN + 1];
			cairn_hex_encode(id, CAIRN_ID_LEN, hex);
			return cairn_error_set(CAIRN_ENOTFOUND, "chunk %llu (blob %.16s) is missing from the repository",
					       (unsigned long long)(first + i), hex);
		}
		if (++j->nitems == ROUND_CHUNKS && (r = run_round(j)) < 0)
			return r;
	}
	w->covered = MIN((first + count) * (uint64_t)j->m->chunk_size, j->m->size);
	double now = cairn_now();
	if (w->progress && now - w->last > 0.1) {
		w->progress(w->covered, j->m->size, w->ud);
		w->last = now;
	}
	return 0;
}

/* ---- the target ---- */

/* A device counts as empty when blkid finds no signature on it and these
 * regions read as zeros: its first and last EMPTY_EDGE bytes and
 * EMPTY_SAMPLES samples of EMPTY_SAMPLE bytes spread evenly across it.
 * About 18 MiB read, whatever the device's size; a partition table, LVM
 * label or file system whose start was wiped is still a signature, and
 * data left anywhere in bulk is found by the samples. */
#define EMPTY_EDGE (1u << 20)
#define EMPTY_SAMPLES 256
#define EMPTY_SAMPLE (64u << 10)
#define EMPTY_RULE                                                                              \
	"a device counts as empty only if blkid finds no file system, partition table, LVM, swap or " \
	"RAID signature on it and its first and last MiB and 256 evenly spaced 64 KiB samples read as zeros"

/* 1 and the first nonzero byte's offset in *ret_at if [off, off + len)
 * holds one, 0 if it reads as zeros (or ends first). */
static int find_nonzero(int fd, const char *target, uint8_t *buf, uint64_t off, uint64_t len, uint64_t *ret_at)
{
	while (len) {
		ssize_t got = pread(fd, buf, (size_t)MIN(len, (uint64_t)EMPTY_EDGE), (off_t)off);
		if (got < 0)
			return cairn_error_errno(errno, "read %s", target);
		if (got == 0)
			return 0;
		if (!cairn_chunk_is_zero(buf, (size_t)got)) {
			size_t i = 0;
			while (!buf[i])
				i++;
			*ret_at = off + i;
			return 1;
		}
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	return 0;
}

/* 1 and what blkid found in why if the device holds a signature (one it
 * cannot probe counts as one), 0 if none.  Bad checksums count: a damaged
 * file system is still somebody's data. */
static int find_signature(int fd, char *why, size_t whylen)
{
	blkid_probe pr = blkid_new_probe();
	if (!pr)
		return cairn_error_nomem();
	int found = -1;
	if (blkid_probe_set_device(pr, fd, 0, 0) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_BADCSUM);
		blkid_probe_enable_partitions(pr, 1);
		blkid_probe_set_partitions_flags(pr, BLKID_PARTS_FORCE_GPT);
		/* 0: one found; 1: nothing; -2: several; -1: an error. */
		found = blkid_do_safeprobe(pr);
	}
	const char *type = NULL;
	if (found == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) != 0 &&
	    blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) != 0)
		type = NULL;
	if (found == 0)
		snprintf(why, whylen, "blkid finds a signature (%s)", type ? type : "no type");
	else if (found == -2)
		snprintf(why, whylen, "blkid finds several signatures");
	else if (found != 1)
		snprintf(why, whylen, "blkid cannot probe it");
	blkid_free_probe(pr);
	return found != 1;
}

/* Whether the device of dsize bytes holds nothing anyone could miss
 * (EMPTY_RULE); if not, what was found goes to why. */
static int device_looks_empty(int fd, const char *target, uint64_t dsize, char *why, size_t whylen, bool *ret)
{
	uint64_t at = 0;
	int r = find_signature(fd, why, whylen);
	if (r < 0)
		return r;
	*ret = false;
	if (r > 0)
		return 0;
	_cleanup_free_ uint8_t *buf = malloc(EMPTY_EDGE);
	if (!buf)
		return cairn_error_nomem();
	uint64_t edge = MIN(dsize, (uint64_t)EMPTY_EDGE);
	r = find_nonzero(fd, target, buf, 0, edge, &at);
	if (r == 0)
		r = find_nonzero(fd, target, buf, dsize - edge, edge, &at);
	uint64_t step = dsize > EMPTY_SAMPLE ? (dsize - EMPTY_SAMPLE) / (EMPTY_SAMPLES - 1) : 0;
	for (unsigned k = 0; r == 0 && k < EMPTY_SAMPLES; k++)
		r = find_nonzero(fd, target, buf, k * step / 4096 * 4096, EMPTY_SAMPLE, &at);
	if (r < 0)
		return r;
	if (r > 0)
		snprintf(why, whylen, "byte %llu is not zero", (unsigned long long)at);
	*ret = r == 0;
	return 0;
}

/* Opens a block device target exclusively (O_EXCL fails with EBUSY while it
 * is mounted or otherwise claimed) and checks that the volume fits. */
static int open_device(const struct cairn_path *p, const char *target, uint64_t size, int *ret_fd,
		       uint64_t *ret_dsize)
{
	int fd;
	int r = cairn_path_reopen(p->dirfd, p->name, p->fd, O_RDWR | O_EXCL, target, &fd);
	if (r == CAIRN_EBUSY)
		return cairn_error_set(CAIRN_EBUSY, "target %s is in use (mounted?); refusing to write to it", target);
	if (r < 0)
		return r;
	uint64_t dsize = 0;
	r = cairn_fd_size(fd, target, &dsize, NULL);
	if (r >= 0 && dsize < size)
		r = cairn_error_set(CAIRN_ETOOSMALL, "target %s holds %llu bytes, the volume needs %llu", target,
				    (unsigned long long)dsize, (unsigned long long)size);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	if (ret_dsize)
		*ret_dsize = dsize;
	return 0;
}

/* A file target is written as NAME TMP_TAG PID "-XXXXXX" beside it
 * (util/tmpfile.h): the next restore to it removes what a killed one left. */
#define TMP_TAG ".cairn-restore-"

/* The target as walked (util/path.h), and for a file the temporary file
 * beside it that becomes the target once complete. */
struct target {
	struct cairn_path p;
	char *dir; /* the directory holding it, for messages */
	char *tmp; /* its name in p.dirfd */
};

static void target_clear(struct target *t)
{
	cairn_path_clear(&t->p);
	free(t->dir);
	free(t->tmp);
}

/* Creates the temporary file for the target, sized, locked, and with the
 * owner and mode of the file it replaces (old, or NULL for a new file): a
 * VM image owned by a hypervisor's user must stay usable. */
static int create_tmp(struct target *t, const char *target, uint64_t size, const struct stat *old, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	int r = cairn_tmp_create(t->p.dirfd, t->dir, t->p.name, TMP_TAG, &fd, &t->tmp);
	if (r < 0)
		return r;
	struct stat st;
	/* Owner first: a chown clears the set-id bits the mode may carry.  A
	 * refused chown (not root, NFS root_squash, vfat) is worth a warning,
	 * not a failed restore. */
	if (old && fstat(fd, &st) == 0 && (st.st_uid != old->st_uid || st.st_gid != old->st_gid) &&
	    fchown(fd, old->st_uid, old->st_gid) < 0)
		cairn_log_warn("%s keeps its old mode but not its owner %u:%u (%s)", target, (unsigned)old->st_uid,
			       (unsigned)old->st_gid, strerror(errno));
	if (old && fchmod(fd, old->st_mode & 07777) < 0)
		r = cairn_error_errno(errno, "cannot give %s/%s the mode of %s", t->dir, t->tmp, target);
	else if (ftruncate(fd, (off_t)size) < 0)
		r = cairn_error_errno(errno, "cannot size %s/%s", t->dir, t->tmp);
	if (r < 0) {
		unlinkat(t->p.dirfd, t->tmp, 0);
		return r;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Opens the target: walked without following another user's link (a
 * link root or cairn's user owns is restored through: the data goes to
 * the file or device it names, the temporary file lives beside that file
 * so the rename stays on one file system, and the link stays a link); for
 * files, a temporary file beside it (t->tmp). */
static int open_target(const struct cairn_restore_opts *o, uint64_t size, struct target *t, int *ret_fd,
		       bool *ret_device)
{
	struct stat st;
	int r = o->target_in ? cairn_path_open_at(o->target_in->fd, o->target_in->abs, cairn_path_base(o->target),
						  "target", O_PATH, true, &t->p)
			     : cairn_path_open(o->target, "target", O_PATH, true, &t->p);
	if (r < 0)
		return r;
	bool exists = t->p.fd >= 0;
	if (exists && fstat(t->p.fd, &st) < 0)
		return cairn_error_errno(errno, "target %s", o->target);
	if (!(t->dir = strdup(t->p.abs)))
		return cairn_error_nomem();
	char *slash = strrchr(t->dir, '/');
	if (slash == t->dir)
		slash[1] = 0; /* in / */
	else if (slash)
		*slash = 0;
	if (o->delta) {
		/* In place: only what differs is rewritten. */
		if (!exists)
			return cairn_error_errno(ENOENT, "target %s (--delta rewrites an existing volume)", o->target);
		if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
			return cairn_error_set(CAIRN_EINVAL, "target %s is neither a file nor a block device", o->target);
		*ret_device = S_ISBLK(st.st_mode);
		if (*ret_device)
			return open_device(&t->p, o->target, size, ret_fd, NULL);
		return cairn_path_reopen(t->p.dirfd, t->p.name, t->p.fd, O_RDWR, o->target, ret_fd);
	}
	if (exists && S_ISBLK(st.st_mode)) {
		int fd;
		uint64_t dsize;
		if ((r = open_device(&t->p, o->target, size, &fd, &dsize)) < 0)
			return r;
		bool empty = false;
		char why[128] = "";
		if (!o->force && (r = device_looks_empty(fd, o->target, dsize, why, sizeof(why), &empty)) >= 0 && !empty)
			r = cairn_error_set(CAIRN_EEXIST, "target %s is not empty: %s; use --force to overwrite it (%s)",
					    o->target, why, EMPTY_RULE);
		if (r < 0) {
			close(fd);
			return r;
		}
		*ret_fd = fd;
		*ret_device = true;
		return 0;
	}
	if (exists && !S_ISREG(st.st_mode))
		return cairn_error_set(CAIRN_EINVAL, "target %s is neither a file nor a block device", o->target);
	if (exists && st.st_size > 0 && !o->force)
		return cairn_error_set(CAIRN_EEXIST, "target %s exists and is not empty; use --force to overwrite it",
				       o->target);
	cairn_tmp_sweep(t->p.dirfd, t->dir, t->p.name, TMP_TAG, "a restore");
	*ret_device = false;
	return create_tmp(t, o->target, size, exists ? &st : NULL, ret_fd);
}

int cairn_restore_run(struct cairn_repo *repo, const struct cairn_manifest *m, const struct cairn_restore_opts *o,
		      struct cairn_restore_stats *ret)
{
	double t0 = cairn_now();
	if (m->chunk_size != repo->config.chunk_size || m->fanout != repo->config.tree_fanout)
		return cairn_error_set(CAIRN_ECORRUPT, "backup %s has a chunk size or fanout the repository does not use",
				       m->idhex);
	/* Before the index is read: a concurrent prune must know (format.h PRUNE). */
	_cleanup_(cairn_activity_endp) struct cairn_activity *activity = NULL;
	int r = cairn_activity_begin(repo, "restore", &activity);
	if (r < 0)
		return r;
	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	const char *cache_dir = cairn_engine_tuning()->no_index_cache ? NULL : o->state_dir;
	if ((r = cairn_index_new(&idx)) < 0 || (r = cairn_index_load_cached(idx, repo, cache_dir, NULL)) < 0)
		return r;
	double t_index = cairn_now() - t0;
	struct rjob j;
	memset(&j, 0, sizeof(j));
	j.repo = repo;
	j.idx = idx;
	j.m = m;
	j.target = o->target;
	j.profile = cairn_engine_tuning()->profile;
	j.delta = o->delta;
	if (o->delta && o->differs)
		j.differs = (struct cairn_change_cursor)CAIRN_CHANGE_CURSOR_INIT(o->differs);
	_cleanup_(target_clear) struct target t = { .p = CAIRN_PATH_INIT };
	if ((r = open_target(o, m->size, &t, &j.fd, &j.device)) < 0)
		return r;
	if (j.delta && o->state_dir) {
		/* This backup's change tags, if it was made here and is the
		 * volume's latest: comparing by tag is ~8x cheaper than by id. */
		_cleanup_free_ char *tc_path = NULL;
		struct cairn_tagcache_key key = { .size = m->size, .chunk_size = m->chunk_size };
		memcpy(key.repo_id, repo->config.instance, 16);
		memcpy(key.backup_id, m->id, 16);
		if (cairn_tagcache_path(o->state_dir, repo->config.instance, m->volume, &tc_path) >= 0 &&
		    cairn_tagcache_open(tc_path, repo->keys->local, &key, &j.tc) < 0)
			j.tc = NULL;
	}
	/* Filesystems without O_DIRECT (tmpfs) just get buffered writes. */
	/* --delta writes through the page cache: the compare just read every
	 * chunk it rewrites, so the pages are there (no fresh-page cost), and
	 * the writes of scattered chunks are merged at the final fsync instead
	 * of each waiting for the device (and a copy-on-write) on its own. */
	j.dfd = -1;
	if (!cairn_engine_tuning()->no_direct_io && !o->delta &&
	    cairn_path_reopen(t.p.dirfd, t.tmp ? t.tmp : t.p.name, j.fd, O_WRONLY | O_DIRECT, o->target, &j.dfd) < 0)
		j.dfd = -1;
	pthread_mutex_init(&j.lock, NULL);
	pthread_cond_init(&j.cond, NULL);
	j.items = malloc(ROUND_CHUNKS * sizeof(*j.items));
	j.ranges = malloc(ROUND_CHUNKS * sizeof(*j.ranges));
	/* Four times the cores: a worker waiting for its direct write leaves
	 * its core to one that is decrypting, and with two per core both cores
	 * still idled whenever three workers waited for the device (measured:
	 * 2.7-3.0 s against 2.9-3.8 s on the 2-core benchmark); at least the
	 * store's parallelism, so a network store has that many range reads
	 * in flight.  Each worker holds one range and one run of up to
	 * RANGE_MAX bytes. */
	unsigned nworkers = MAX(4 * cairn_engine_threads(), cairn_repo_parallelism(repo));
	if (nworkers > MAX_RWORKERS)
		nworkers = MAX_RWORKERS;
	pthread_t workers[MAX_RWORKERS];
	unsigned started = 0;
	if (!j.items || !j.ranges)
		r = cairn_error_nomem();
	if (r >= 0)
		cairn_engine_profile_startup("restore");
	for (unsigned i = 0; r >= 0 && i < nworkers; i++)
		if (pthread_create(&workers[i], NULL, rworker_main, &j) == 0)
			started++;
	if (r >= 0 && !started)
		r = cairn_error_set(CAIRN_ENOMEM, "cannot start threads");

	struct cairn_blob_codec codec;
	bool have_codec = false;
	if (r >= 0 && (r = cairn_blob_codec_init(&codec, repo)) >= 0)
		have_codec = true;
	if (r >= 0) {
		struct cairn_tree_src src = { repo, idx, &codec, m->fanout };
		struct walk_ctx w = { .j = &j, .progress = o->progress, .ud = o->progress_ud };
		uint64_t nchunks = (m->size + m->chunk_size - 1) / m->chunk_size;
		double tw = cairn_now();
		r = cairn_tree_walk(&src, m->root, m->levels, nchunks, on_leaves, &w);
		if (r >= 0)
			r = run_round(&j);
		if (r >= 0)
			r = flush_zeros(&j);
		j.t_walk = cairn_now() - tw - j.t_setup - j.t_wait;
	}
	if (have_codec)
		cairn_blob_codec_free(&codec);
	pthread_mutex_lock(&j.lock);
	j.quit = true;
	pthread_cond_broadcast(&j.cond);
	pthread_mutex_unlock(&j.lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(workers[i], NULL);

	if (j.dfd >= 0)
		close(j.dfd);
	if (j.profile) {
		fprintf(stderr, "cairn: profile: workers: get %.3f s, decode %.3f s, write %.3f s, idle %.3f s\n", j.t_get,
			j.t_decode, j.t_write, j.t_idle);
		fprintf(stderr,
			"cairn: profile: main: index %.3f s, tree walk and lookups %.3f s, round setup %.3f s, "
			"waiting for workers %.3f s\n",
			t_index, j.t_walk, j.t_setup, j.t_wait);
	}
	if (r >= 0 && j.delta && !j.device) {
		struct stat st;
		if (fstat(j.fd, &st) == 0 && (uint64_t)st.st_size != m->size && ftruncate(j.fd, (off_t)m->size) < 0)
			r = cairn_error_errno(errno, "size %s", o->target);
	}
	cairn_tagcache_reader_free(j.tc);
	uint64_t overlay_bytes = 0;
	if (r >= 0 && o->overlay)
		r = cairn_overlay_apply(o->overlay, j.fd, o->target, &overlay_bytes);
	double tf = cairn_now();
	if (r >= 0 && fsync(j.fd) < 0)
		r = cairn_error_errno(errno, "fsync %s", o->target);
	if (j.profile)
		fprintf(stderr, "cairn: profile: fsync %.3f s, total %.3f s\n", cairn_now() - tf, cairn_now() - t0);
	if (t.tmp && r >= 0)
		r = cairn_tmp_commit(t.p.dirfd, t.dir, t.tmp, t.p.name, j.fd);
	if (t.tmp && r < 0)
		unlinkat(t.p.dirfd, t.tmp, 0);
	if (close(j.fd) < 0 && r >= 0)
		r = cairn_error_errno(errno, "close %s", o->target);
	if (r >= 0 && o->progress)
		o->progress(m->size, m->size, o->progress_ud);
	if (r >= 0 && ret) {
		ret->bytes_written = j.bytes_written;
		ret->bytes_fetched = j.bytes_fetched;
		ret->zero_bytes = j.zero_bytes;
		ret->bytes_compared = j.bytes_compared;
		ret->chunks_same = j.chunks_same;
		ret->compared_by = !j.delta       ? NULL
				   : j.differs.m ? (j.tc_next ? "extent maps and change tags" : "extent maps and ids")
				   : j.tc_next   ? "change tags"
						 : "ids";
		ret->seconds = cairn_now() - t0;
		ret->target_is_device = j.device;
		ret->overlay_bytes = overlay_bytes;
		ret->bytes_written += overlay_bytes;
	}
	free(j.items);
	free(j.ranges);
	pthread_mutex_destroy(&j.lock);
	pthread_cond_destroy(&j.cond);
	return r;
}
