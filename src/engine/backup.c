/* Backup: source -> fixed chunks -> ids -> new chunks compressed, sealed,
 * packed and uploaded -> tree -> index object -> manifest (docs/design.md §4).
 *
 * Threads:  one reader lays out batches of consecutive chunks (holes,
 * change map, cached change tags) and asks the kernel to read them ahead;
 * a hole SEEK_DATA found is one batch of its own however long (a record
 * per run, not per chunk: the tree and the tag cache take it whole);
 * with a change map, a prefetcher asks for the changed ranges further
 * ahead; N workers read the batch's part of the source (or map it, with
 * as engine/tuning.h says), hash, test against the index, compress and seal its
 * chunks; the calling thread (the writer) takes batches back in order,
 * appends new blobs to the pack, feeds the tree builder and hands full
 * packs to uploaders.  A catalog thread reads the volume's file systems
 * meanwhile and seals the catalog's new nodes (engine/catalog.h); the
 * writer puts them into the packs between batches.
 * Memory is bounded by the batch ring and the pack buffers, whatever the
 * volume size:  NSLOTS x sealed batch (+ NSLOTS x batch, unless the
 * source is mapped) + (U + UPLOAD_QUEUE + 1) x pack_size, where U
 * uploaders (the store's parallelism: 2 for a local directory, the
 * connection count, 8 by default, for S3) each hold a pack in flight:
 * about 32 + 64 MiB locally, 32 + 160 MiB on S3 with the defaults, plus
 * the index (format.h), NSLOTS x BATCH_CHUNKS_MAX chunk records (2 MiB)
 * and CATALOG_QUEUE_MAX of sealed catalog nodes. */
#include "engine/catalog.h"
#include "engine/engine.h"
#include "engine/tuning.h"
#include "repo/index.h"
#include "repo/lease.h"
#include "repo/names.h"
#include "repo/objects.h"
#include "repo/pack.h"
#include "repo/tree.h"
#include "source/changes.h"
#include "source/chunker.h"
#include "source/tagcache.h"
#include "source/volinfo.h"
#include "source/volume.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/log.h"
#include "util/time.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BATCH_BYTES (4u << 20)
/* A batch holds at most BATCH_BYTES of chunks to read, but may span up to
 * this many chunks of the volume: the reader lays out strides of
 * BATCH_BYTES and merges those with little or nothing to read (unchanged
 * since the parent, holes).  An incremental with 1,784 scattered changed
 * chunks in 4 GiB then takes ~40 batches instead of 1,024, and each batch
 * costs a round of thread hand-offs (~0.4 ms on 2 cores). */
#define BATCH_CHUNKS_MAX 2048u
/* Eight in flight: with four, an incremental's batches (a few scattered
 * chunks each, faulted in from a cold snapshot) kept both workers waiting
 * for the one batch the writer needed next (0.76 s against 0.66 s). */
#define NSLOTS 8
#define UPLOAD_QUEUE 1
/* Uploaders: cairn_repo_parallelism(), at most this many. */
#define MAX_UPLOADERS 32
/* Pack buffers are recycled, never freed mid-backup: fresh memory costs a
 * page fault per 4 KiB (and on VMs a host fault too), reused memory nothing. */
#define NPACKBUFS_MAX (MAX_UPLOADERS + UPLOAD_QUEUE + 1)
/* Keeps a pack's TOC small even when chunks compress to almost nothing. */
#define PACK_MAX_BLOBS 8192
/* Sealed catalog nodes waiting for the writer, at most (about): the
 * catalog thread waits beyond it. */
#define CATALOG_QUEUE_MAX (4u << 20)

enum chunk_kind { CHUNK_ZERO, CHUNK_KNOWN, CHUNK_NEW };

struct chunk_out {
	uint8_t id[CAIRN_ID_LEN];
	uint8_t tag[16];
	uint8_t kind;
	uint8_t flags;
	uint32_t raw_len;
	uint32_t stored_len;
	size_t sealed_at; /* offset in the batch's sealed buffer */
};

enum slot_state { SLOT_FREE, SLOT_READ, SLOT_DONE };

/* What the reader lays out about each chunk of a stride or a batch. */
struct chunk_marks {
	uint8_t *hole;                  /* chunk lies in a hole of a sparse file */
	uint8_t *skip;                  /* unchanged (change map) with a cached id: not read */
	uint8_t *has_cached;            /* cached[i] is valid */
	struct cairn_tag_entry *cached; /* previous backup's tag and id */
};

static int marks_alloc(struct chunk_marks *m, uint32_t n)
{
	m->hole = calloc(n, 1);
	m->skip = calloc(n, 1);
	m->has_cached = calloc(n, 1);
	m->cached = calloc(n, sizeof(*m->cached));
	return m->hole && m->skip && m->has_cached && m->cached ? 0 : cairn_error_nomem();
}

static void marks_free(struct chunk_marks *m)
{
	free(m->hole);
	free(m->skip);
	free(m->has_cached);
	free(m->cached);
}

/* Copies n chunks' marks from src to chunk `at` on of dst. */
static void marks_copy(struct chunk_marks *dst, uint32_t at, const struct chunk_marks *src, uint32_t n)
{
	memcpy(dst->hole + at, src->hole, n);
	memcpy(dst->skip + at, src->skip, n);
	memcpy(dst->has_cached + at, src->has_cached, n);
	memcpy(dst->cached + at, src->cached, n * sizeof(*src->cached));
}

struct batch {
	enum slot_state state;
	uint64_t seq;
	uint64_t offset; /* of the first chunk in the volume */
	uint32_t nchunks;
	size_t len;
	uint8_t *in;   /* when not mapped: the runs read, one after another */
	uint32_t *at;  /* when not mapped: chunk i's bytes are in[at[i] x chunk size] */
	bool mapped;   /* the chunks' bytes are in view, at their offsets */
	struct cairn_volume_view view;
	struct cairn_buf sealed;
	struct chunk_out *out;
	struct chunk_marks m;
	/* A hole batch: this many chunks of a hole, no per-chunk record
	 * (nchunks is 0).  A sparse 1 TiB image is otherwise 16M chunk
	 * records through the ring, the tree builder and the tag cache. */
	uint64_t hole_chunks;
};

struct upload {
	uint8_t *data;
	size_t len;
	uint8_t id[CAIRN_PACK_ID_LEN];
};

/* Where threads wait, for CAIRN_PROFILE=1: the stage that waits least is
 * the bottleneck. */
enum { W_READER, W_WORKER, W_UPLOADER, W_PACKBUF, W_UPLOAD_SLOT, W_WRITER, W_CATALOG, W_CATALOG_QUEUE, W_COUNT };
static const char *const wait_names[W_COUNT] = { "reader waits for a free slot", "workers wait for a read batch",
						   "uploaders wait for a pack", "writer waits for a pack buffer",
						   "writer waits for an upload slot", "writer waits for a processed batch",
						   "writer waits for the catalog", "catalog waits for the writer" };

/* What the reader found out about the next BATCH_BYTES of the volume
 * before it knows which batch takes them. */
struct stride {
	uint64_t offset;
	uint32_t nchunks, to_read; /* chunks, and those neither in a hole nor skipped */
	struct chunk_marks m;
	bool ready; /* laid out, not yet in a batch */
};

struct job {
	struct cairn_repo *repo;
	struct cairn_volume *vol;
	struct cairn_index *idx;
	uint32_t chunk_size;
	uint32_t chunks_per_batch; /* chunks to read per batch, at most */
	uint32_t batch_chunks_max; /* chunks spanned per batch, at most */
	uint64_t nbatches;         /* UINT64_MAX until the reader has laid out the last one */
	uint64_t read_pos;         /* reader: volume offset of the next stride */
	uint64_t hole_from, hole_to; /* reader: no data in [from, to) (SEEK_DATA said so) */
	struct stride stride;      /* reader only */

	/* One lock, and a condition variable per kind of waiter: a broadcast
	 * to all of them woke 4-10 threads per hand-off, most of which went
	 * back to sleep (10,000 context switches in a 0.6 s incremental). */
	pthread_mutex_t lock;
	pthread_cond_t reader_cv;     /* a slot was freed */
	pthread_cond_t worker_cv;     /* a batch was laid out, or the last one was */
	pthread_cond_t writer_cv;     /* a batch was processed, a pack buffer or upload slot freed */
	pthread_cond_t uploader_cv;   /* a pack was queued, or the queue closed */
	pthread_cond_t prefetcher_cv; /* the reader laid out more of the volume */
	pthread_cond_t catalog_cv;    /* the writer took the catalog's queue */
	struct batch slots[NSLOTS];
	uint64_t next_read, next_work, next_write;
	int error;  /* first error, 0 if none */
	char errmsg[1024];
	bool stop;

	/* pack buffers: page-aligned so the local store can write them O_DIRECT */
	uint8_t *packbufs[NPACKBUFS_MAX];
	size_t npackbufs, packbufs_made, packbuf_cap;
	unsigned nuploaders;
	size_t npackbufs_max; /* nuploaders + UPLOAD_QUEUE + 1 */

	/* uploads */
	struct upload queue[UPLOAD_QUEUE];
	size_t qhead, qlen;
	bool uploads_closed;
	uint64_t bytes_uploaded;

	/* writer state */
	struct cairn_pack_writer pack;
	uint32_t pack_slot;
	bool pack_open;
	struct cairn_blob_codec codec; /* writer's, for tree nodes and the TOC */
	struct cairn_buf node_sealed;
	struct cairn_backup_stats stats;
	uint8_t root[CAIRN_ID_LEN];
	/* The file catalog (engine/catalog.h), made by catalog_main while the
	 * chunks are read: its result and time are the catalog thread's until
	 * catalog_done. */
	bool no_catalog;
	struct cairn_catalog_result catalog;
	double catalog_seconds;
	struct cairn_buf catalog_queue; /* under lock: struct cairn_blob_ref, then its sealed bytes, ... */
	struct cairn_buf catalog_taken; /* writer's: the queue it took */
	struct cairn_buf catalog_last;  /* the catalog's last node (its root), once catalog_done */
	bool catalog_done;              /* under lock */
	int catalog_fd;                 /* the catalog thread's own open of the volume, or -1 */

	/* change tags (source/tagcache.h) */
	struct cairn_tagcache_reader *tc_in; /* reader thread only */
	struct cairn_tagcache_writer *tc_out; /* writer only */
	bool tc_in_broken;
	bool tags; /* compute tags at all */
	const struct cairn_change_map *changes; /* NULL: read everything */
	struct cairn_change_cursor change_cursor; /* reader thread only */
	uint64_t laid_out; /* volume bytes the reader handed to batches; under lock */
	uint64_t bytes_hashed;
	uint64_t done_bytes; /* volume bytes consumed, for progress */
	bool map_source; /* read through cairn_volume_view; cleared if unsupported */
	bool profile;
	double waited[W_COUNT]; /* seconds, summed over threads; under lock */
};

static pthread_cond_t *waiter_cv(struct job *j, int which)
{
	switch (which) {
	case W_READER:
		return &j->reader_cv;
	case W_WORKER:
		return &j->worker_cv;
	case W_UPLOADER:
		return &j->uploader_cv;
	case W_CATALOG_QUEUE:
		return &j->catalog_cv;
	default: /* the writer's four waits */
		return &j->writer_cv;
	}
}

static void timed_wait(struct job *j, int which)
{
	double t = j->profile ? cairn_now() : 0;
	pthread_cond_wait(waiter_cv(j, which), &j->lock);
	if (j->profile)
		j->waited[which] += cairn_now() - t;
}

/* Under the lock: every waiter rechecks (stop, the end of the volume). */
static void wake_all(struct job *j)
{
	pthread_cond_broadcast(&j->reader_cv);
	pthread_cond_broadcast(&j->worker_cv);
	pthread_cond_broadcast(&j->writer_cv);
	pthread_cond_broadcast(&j->uploader_cv);
	pthread_cond_broadcast(&j->prefetcher_cv);
	pthread_cond_broadcast(&j->catalog_cv);
}

static void job_fail(struct job *j, int r)
{
	pthread_mutex_lock(&j->lock);
	if (!j->error) {
		j->error = r;
		cairn_error_copy(j->errmsg, sizeof(j->errmsg));
	}
	j->stop = true;
	wake_all(j);
	pthread_mutex_unlock(&j->lock);
}

/* ---- reader: finds holes and feeds change tags, in order ---- */

/* Chunks wholly in holes of a sparse image are neither read nor tested. */
static void mark_holes(struct job *j, struct stride *s)
{
	struct cairn_chunker c = CAIRN_CHUNKER_INIT(j->chunk_size, j->vol->size);
	if (j->vol->is_device) {
		memset(s->m.hole, 0, s->nchunks);
		return;
	}
	/* A long hole costs one SEEK_DATA, not one per stride: a sparse 1 TiB
	 * image holding 1 GiB is otherwise 262,144 of them per backup. */
	uint64_t end = MIN(s->offset + (uint64_t)s->nchunks * j->chunk_size, j->vol->size);
	if (s->offset >= j->hole_from && end <= j->hole_to) {
		memset(s->m.hole, 1, s->nchunks);
		return;
	}
	cairn_chunker_mark_holes(&c, j->vol->fd, s->offset / j->chunk_size, s->nchunks, s->m.hole);
	if (s->nchunks && s->m.hole[s->nchunks - 1] && end < j->vol->size) {
		off_t data = lseek(j->vol->fd, (off_t)end, SEEK_DATA);
		if (data >= 0 || errno == ENXIO) {
			j->hole_from = end;
			j->hole_to = data >= 0 ? (uint64_t)data : j->vol->size;
		}
	}
}

/* The next run of chunks to read (neither in a hole nor skipped) from
 * chunk *i on, as bytes [*start, *stop) of the batch; false when none is
 * left. */
static bool next_run(const struct job *j, const struct batch *b, uint32_t *i, size_t *start, size_t *stop)
{
	while (*i < b->nchunks && (b->m.hole[*i] || b->m.skip[*i]))
		(*i)++;
	if (*i >= b->nchunks)
		return false;
	uint32_t k = *i;
	while (k < b->nchunks && !b->m.hole[k] && !b->m.skip[k])
		k++;
	*start = (size_t)*i * j->chunk_size;
	*stop = MIN((size_t)k * j->chunk_size, b->len);
	*i = k;
	return true;
}

/* Makes the batch's chunks readable, run by run: faulted into a mapping of
 * the volume where it can be mapped, else read into in[].  Workers read
 * their own batches, so reading is as parallel as hashing. */
static int read_batch(struct job *j, struct batch *b, uint64_t *bytes_read)
{
	bool mapped = false;
	if (__atomic_load_n(&j->map_source, __ATOMIC_RELAXED)) {
		int r = cairn_volume_view_map(j->vol, b->offset, b->len, &b->view);
		mapped = r >= 0;
		if (r == CAIRN_EUNSUPPORTED)
			__atomic_store_n(&j->map_source, false, __ATOMIC_RELAXED);
	}
	b->mapped = mapped;
	uint64_t got = 0;
	uint32_t i = 0;
	size_t start, stop;
	while (next_run(j, b, &i, &start, &stop)) {
		int r;
		if (mapped) {
			r = cairn_volume_view_fault(j->vol, &b->view, start, stop - start);
		} else {
			/* The layout keeps a batch's runs within BATCH_BYTES. */
			r = cairn_volume_read(j->vol, b->offset + start, b->in + got, stop - start);
			for (uint32_t k = (uint32_t)(start / j->chunk_size); k < i; k++)
				b->at[k] = (uint32_t)(got / j->chunk_size) + (k - (uint32_t)(start / j->chunk_size));
		}
		if (r == CAIRN_EUNSUPPORTED) { /* kernel before 5.14: read from here on */
			__atomic_store_n(&j->map_source, false, __ATOMIC_RELAXED);
			cairn_volume_view_unmap(&b->view);
			return read_batch(j, b, bytes_read);
		}
		if (r < 0)
			return r;
		got += stop - start;
	}
	*bytes_read += got;
	return 0;
}

/* When every chunk of the batch is unchanged (ids from the cache) or a
 * hole, fills its output and returns true. */
static bool fill_trivial(struct job *j, struct batch *b)
{
	for (uint32_t i = 0; i < b->nchunks; i++)
		if (!b->m.skip[i] && !b->m.hole[i])
			return false;
	cairn_buf_clear(&b->sealed);
	for (uint32_t i = 0; i < b->nchunks; i++) {
		struct chunk_out *o = &b->out[i];
		o->raw_len = (uint32_t)MIN((size_t)j->chunk_size, b->len - (size_t)i * j->chunk_size);
		if (b->m.skip[i]) {
			memcpy(o->id, b->m.cached[i].id, CAIRN_ID_LEN);
			memcpy(o->tag, b->m.cached[i].tag, sizeof(o->tag));
			o->kind = cairn_id_is_zero(o->id) ? CHUNK_ZERO : CHUNK_KNOWN;
		} else {
			memset(o->id, 0, CAIRN_ID_LEN);
			memset(o->tag, 0, sizeof(o->tag));
			o->kind = CHUNK_ZERO;
		}
	}
	return true;
}

/* Changed bytes the kernel is asked to read ahead of the workers: a
 * snapshot's page cache is its own (cold) even when the volume's is warm,
 * and scattered changes give the workers one synchronous 64 KiB read after
 * another.  WILLNEED lets the device work on many of them at once. */
#define PREFETCH_AHEAD (64u << 20)

/* The prefetcher has its own thread: WILLNEED waits while the device
 * queue is full, and in the reader that kept the first batch from the
 * workers for 0.1 s (112 MiB of changed chunks on the benchmark). */
static void *prefetcher_main(void *arg)
{
	struct job *j = arg;
	const struct cairn_change_map *m = j->changes;
	size_t next = 0, done = 0; /* ranges [done, next) prefetched, not yet handed out */
	uint64_t ahead = 0;         /* their changed bytes */
	for (;;) {
		pthread_mutex_lock(&j->lock);
		for (;;) {
			/* Ranges the reader handed out are the workers' now. */
			while (done < next && m->v[done].off + m->v[done].len <= j->laid_out)
				ahead -= m->v[done++].len;
			while (next < m->n && done == next && m->v[next].off + m->v[next].len <= j->laid_out)
				done = ++next; /* fell behind the reader: skip */
			/* Once all is laid out the reader has read ahead of every
			 * batch itself; and a range reaching past the volume's
			 * end would otherwise never count as handed out. */
			if (j->stop || next >= m->n || j->laid_out >= j->vol->size || ahead < PREFETCH_AHEAD)
				break;
			pthread_cond_wait(&j->prefetcher_cv, &j->lock);
		}
		bool stop = j->stop || next >= m->n || j->laid_out >= j->vol->size;
		pthread_mutex_unlock(&j->lock);
		if (stop)
			return NULL;
		for (int k = 0; k < 64 && next < m->n && ahead < PREFETCH_AHEAD; k++) {
			const struct cairn_range *r = &m->v[next++];
			uint64_t start = r->off / j->chunk_size * j->chunk_size;
			uint64_t end = MIN((r->off + r->len + j->chunk_size - 1) / j->chunk_size * j->chunk_size,
					   j->vol->size);
			(void)posix_fadvise(j->vol->fd, (off_t)start, (off_t)(end - start), POSIX_FADV_WILLNEED);
			ahead += r->len;
		}
	}
}

/* A worker faults a mapped batch in page by page, and on a cold volume
 * each fault waits for its own small read: a pread() of the whole run
 * asked the device for all of it at once.  So the reader, NSLOTS batches
 * ahead of the workers, asks the kernel to start reading the batch's runs;
 * for pages already cached this costs a page-cache lookup. */
static void read_ahead(struct job *j, const struct batch *b)
{
	uint32_t i = 0;
	size_t start, stop;
	while (next_run(j, b, &i, &start, &stop))
		(void)posix_fadvise(j->vol->fd, (off_t)(b->offset + start), (off_t)(stop - start), POSIX_FADV_WILLNEED);
}

/* Lays out the stride at j->read_pos: holes, the change map, cached tags,
 * and which chunks need reading. */
static void mark_stride(struct job *j, struct stride *s)
{
	s->offset = j->read_pos;
	s->nchunks = (uint32_t)MIN((j->vol->size - s->offset + j->chunk_size - 1) / j->chunk_size,
				   (uint64_t)j->chunks_per_batch);
	mark_holes(j, s);
	memset(s->m.skip, 0, s->nchunks);
	if (j->changes)
		cairn_change_cursor_mark(&j->change_cursor, j->chunk_size, s->offset / j->chunk_size, s->nchunks,
					 s->m.skip); /* skip[] = changed[] for now */
	s->to_read = 0;
	for (uint32_t i = 0; i < s->nchunks; i++) {
		s->m.has_cached[i] = 0;
		bool changed = s->m.skip[i];
		s->m.skip[i] = 0;
		if (j->tc_in && !j->tc_in_broken) {
			if (cairn_tagcache_next(j->tc_in, &s->m.cached[i]) < 0) {
				cairn_log_debug("change-tag cache unusable: %s", cairn_error_message());
				__atomic_store_n(&j->tc_in_broken, true, __ATOMIC_RELAXED);
			} else {
				s->m.has_cached[i] = 1;
				/* Outside the change map the parent's id still holds, as
				 * long as the repository still has that blob. */
				if (j->changes && !changed && !s->m.hole[i] &&
				    (cairn_id_is_zero(s->m.cached[i].id) ||
				     cairn_index_lookup(j->idx, s->m.cached[i].id, NULL) == 0))
					s->m.skip[i] = 1;
			}
		}
		if (!s->m.hole[i] && !s->m.skip[i])
			s->to_read++;
	}
	j->read_pos = MIN(s->offset + (uint64_t)s->nchunks * j->chunk_size, j->vol->size);
	s->ready = true;
}

/* Chunks from j->read_pos on that lie wholly in the hole SEEK_DATA found
 * (mark_holes), 0 if none. */
static uint64_t hole_run(const struct job *j)
{
	if (j->read_pos < j->hole_from || j->read_pos >= j->hole_to)
		return 0;
	uint64_t first = j->read_pos / j->chunk_size;
	uint64_t end = j->hole_to >= j->vol->size ? (j->vol->size + j->chunk_size - 1) / j->chunk_size
						  : j->hole_to / j->chunk_size;
	return end > first ? end - first : 0;
}

/* Makes b a hole batch of n chunks from j->read_pos: one record, whatever
 * n.  The parent's tags for those chunks are stepped over unread. */
static void fill_hole(struct job *j, struct batch *b, uint64_t n)
{
	b->offset = j->read_pos;
	b->nchunks = 0;
	b->hole_chunks = n;
	j->read_pos = MIN(j->read_pos + n * j->chunk_size, j->vol->size);
	b->len = (size_t)(j->read_pos - b->offset);
	if (j->tc_in && !j->tc_in_broken && cairn_tagcache_skip(j->tc_in, n) < 0) {
		cairn_log_debug("change-tag cache unusable: %s", cairn_error_message());
		__atomic_store_n(&j->tc_in_broken, true, __ATOMIC_RELAXED);
	}
}

/* Fills batch b with strides, from the one laid out but not taken on, as
 * long as its chunks to read fit in BATCH_BYTES.  A known hole ends the
 * batch, and makes one of its own (fill_hole). */
static void fill_batch(struct job *j, struct batch *b)
{
	struct stride *s = &j->stride;
	uint32_t to_read = 0;
	b->offset = s->ready ? s->offset : j->read_pos;
	b->nchunks = 0;
	b->hole_chunks = 0;
	for (;;) {
		if (!s->ready) {
			if (j->read_pos >= j->vol->size)
				break;
			uint64_t hole = hole_run(j);
			if (hole && b->nchunks)
				break;
			if (hole) {
				fill_hole(j, b, hole);
				return;
			}
			mark_stride(j, s);
		}
		if (b->nchunks && (to_read + s->to_read > j->chunks_per_batch ||
				   b->nchunks + s->nchunks > j->batch_chunks_max))
			break;
		marks_copy(&b->m, b->nchunks, &s->m, s->nchunks);
		b->nchunks += s->nchunks;
		to_read += s->to_read;
		s->ready = false;
	}
	b->len = (size_t)MIN((uint64_t)b->nchunks * j->chunk_size, j->vol->size - b->offset);
}

static void *reader_main(void *arg)
{
	struct job *j = arg;
	for (;;) {
		pthread_mutex_lock(&j->lock);
		uint64_t seq = j->next_read;
		struct batch *b = &j->slots[seq % NSLOTS];
		bool last = !j->stride.ready && j->read_pos >= j->vol->size;
		if (last) { /* everything is laid out */
			j->nbatches = seq;
			j->laid_out = j->vol->size;
			wake_all(j); /* workers and writer may be done */
		}
		while (!j->stop && !last && b->state != SLOT_FREE)
			timed_wait(j, W_READER);
		bool done = j->stop || last;
		pthread_mutex_unlock(&j->lock);
		if (done)
			return NULL;
		if (cairn_cancel_requested) {
			job_fail(j, cairn_error_set(CAIRN_ECANCELED, "interrupted"));
			return NULL;
		}
		b->seq = seq;
		fill_batch(j, b);
		/* Nothing to read or hash (an unchanged stretch, a hole): done
		 * here, the workers skip it.  Keeps an incremental of a large
		 * volume from paying thread hand-offs per unchanged batch. */
		bool trivial = fill_trivial(j, b);
		if (!trivial)
			read_ahead(j, b);
		pthread_mutex_lock(&j->lock);
		b->state = trivial ? SLOT_DONE : SLOT_READ;
		j->next_read++;
		j->laid_out = b->offset + b->len;
		/* Each batch is one worker's: wake one.  A trivial one goes
		 * straight to the writer, which may be waiting for it; a
		 * worker steps over it when it next looks for work. */
		if (trivial)
			pthread_cond_signal(&j->writer_cv);
		else
			pthread_cond_signal(&j->worker_cv);
		if (j->changes)
			pthread_cond_signal(&j->prefetcher_cv);
		pthread_mutex_unlock(&j->lock);
	}
}

/* ---- workers ---- */

static int process_batch(struct job *j, struct cairn_blob_codec *c, struct cairn_gmac *g, struct batch *b,
			 uint64_t *hashed)
{
	cairn_buf_clear(&b->sealed);
	uint64_t first = b->offset / j->chunk_size;
	for (uint32_t i = 0; i < b->nchunks; i++) {
		struct chunk_out *o = &b->out[i];
		size_t len = MIN((size_t)j->chunk_size, b->len - (size_t)i * j->chunk_size);
		o->raw_len = (uint32_t)len;
		if (b->m.skip[i]) {
			/* Unchanged since the base snapshot: not even read. */
			memcpy(o->id, b->m.cached[i].id, CAIRN_ID_LEN);
			memcpy(o->tag, b->m.cached[i].tag, sizeof(o->tag));
			o->kind = cairn_id_is_zero(o->id) ? CHUNK_ZERO : CHUNK_KNOWN;
			continue;
		}
		/* Read (not skipped, not in a hole): its bytes are at hand. */
		const uint8_t *p = b->m.hole[i] ? NULL
			: b->mapped ? b->view.data + (size_t)i * j->chunk_size
				    : b->in + (size_t)b->at[i] * j->chunk_size;
		if (b->m.hole[i] || cairn_chunk_is_zero(p, len)) {
			o->kind = CHUNK_ZERO;
			memset(o->id, 0, CAIRN_ID_LEN);
			memset(o->tag, 0, sizeof(o->tag));
			continue;
		}
		int r;
		if (g && (r = cairn_gmac_tag(g, first + i, p, len, o->tag)) < 0)
			return r;
		/* Unchanged since the parent (same keyed tag) and still indexed:
		 * the parent's id is this chunk's id, no HMAC needed. */
		if (g && b->m.has_cached[i] && memcmp(b->m.cached[i].tag, o->tag, 16) == 0 &&
		    !cairn_id_is_zero(b->m.cached[i].id) && cairn_index_lookup(j->idx, b->m.cached[i].id, NULL) == 0) {
			memcpy(o->id, b->m.cached[i].id, CAIRN_ID_LEN);
			o->kind = CHUNK_KNOWN;
			continue;
		}
		*hashed += len;
		r = cairn_hasher_id(c->hasher, p, len, o->id);
		if (r < 0)
			return r;
		if (cairn_index_lookup(j->idx, o->id, NULL) == 0) {
			o->kind = CHUNK_KNOWN;
			continue;
		}
		o->kind = CHUNK_NEW;
		o->sealed_at = b->sealed.len;
		if ((r = cairn_blob_encode(c, o->id, p, len, true, &b->sealed, &o->flags, &o->stored_len)) < 0)
			return r;
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct job *j = arg;
	struct cairn_blob_codec codec;
	struct cairn_gmac *gmac = NULL;
	uint64_t hashed = 0, bytes_read = 0;
	int r = cairn_blob_codec_init(&codec, j->repo);
	if (r >= 0 && j->tags && (r = cairn_gmac_new(j->repo->keys->tag, &gmac)) < 0)
		cairn_blob_codec_free(&codec);
	if (r < 0) {
		job_fail(j, r);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&j->lock);
		while (!j->stop && j->next_work < j->nbatches && j->next_work >= j->next_read)
			timed_wait(j, W_WORKER);
		if (j->stop || j->next_work >= j->nbatches) {
			pthread_mutex_unlock(&j->lock);
			break;
		}
		struct batch *b = &j->slots[j->next_work % NSLOTS];
		j->next_work++;
		bool done_already = b->state == SLOT_DONE; /* by the reader: nothing to do */
		pthread_mutex_unlock(&j->lock);
		if (done_already)
			continue;

		r = read_batch(j, b, &bytes_read);
		if (r >= 0)
			r = process_batch(j, &codec, gmac, b, &hashed);
		cairn_volume_view_unmap(&b->view);
		if (r < 0) {
			job_fail(j, r);
			break;
		}
		pthread_mutex_lock(&j->lock);
		b->state = SLOT_DONE;
		pthread_cond_signal(&j->writer_cv);
		pthread_mutex_unlock(&j->lock);
	}
	cairn_blob_codec_free(&codec);
	cairn_gmac_free(gmac);
	pthread_mutex_lock(&j->lock);
	j->bytes_hashed += hashed;
	j->stats.bytes_read += bytes_read;
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

/* ---- uploaders ---- */

static void *uploader_main(void *arg)
{
	struct job *j = arg;
	for (;;) {
		pthread_mutex_lock(&j->lock);
		while (j->qlen == 0 && !j->uploads_closed && !j->stop)
			timed_wait(j, W_UPLOADER);
		if (j->qlen == 0 || j->stop) {
			pthread_mutex_unlock(&j->lock);
			return NULL;
		}
		struct upload u = j->queue[j->qhead];
		j->qhead = (j->qhead + 1) % UPLOAD_QUEUE;
		j->qlen--;
		pthread_cond_signal(&j->writer_cv); /* an upload slot */
		pthread_mutex_unlock(&j->lock);

		int r = cairn_object_put(j->repo, CAIRN_OBJ_PACK, u.id, u.data, u.len, 0);
		pthread_mutex_lock(&j->lock);
		j->packbufs[j->npackbufs++] = u.data;
		pthread_cond_signal(&j->writer_cv); /* a pack buffer */
		pthread_mutex_unlock(&j->lock);
		if (r < 0) {
			char key[CAIRN_OBJECT_NAME_MAX];
			cairn_pack_key(u.id, key);
			cairn_error_prefix(r, "uploading %s", key);
			job_fail(j, r);
			return NULL;
		}
		pthread_mutex_lock(&j->lock);
		j->bytes_uploaded += u.len;
		pthread_mutex_unlock(&j->lock);
	}
}

/* ---- writer ---- */

/* A pack buffer from the pool, made on first need; waits for an uploader
 * to hand one back when all are in flight. */
static uint8_t *take_packbuf(struct job *j)
{
	pthread_mutex_lock(&j->lock);
	uint8_t *b = NULL;
	for (;;) {
		if (j->npackbufs) {
			b = j->packbufs[--j->npackbufs];
			break;
		}
		if (j->packbufs_made < j->npackbufs_max) {
			void *p = cairn_alloc_large(j->packbuf_cap); /* util/buf.h: huge pages */
			if (p) {
				j->packbufs_made++;
				b = p;
			}
			break;
		}
		if (j->stop)
			break;
		timed_wait(j, W_PACKBUF);
	}
	pthread_mutex_unlock(&j->lock);
	return b;
}

static int pack_flush(struct job *j)
{
	if (!j->pack_open)
		return 0;
	int r = cairn_pack_writer_finish(&j->pack, j->codec.aead);
	if (r < 0)
		return r;
	struct upload u;
	memcpy(u.id, j->pack.id, sizeof(u.id));
	if (j->pack.data.cap != j->packbuf_cap) {
		/* The buffer grew past its planned size (realloc): not ours to pool;
		 * copy into a pooled one so the pool keeps its size. */
		pthread_mutex_lock(&j->lock);
		j->packbufs_made--;
		pthread_mutex_unlock(&j->lock);
		uint8_t *copy = take_packbuf(j);
		if (!copy)
			return j->error ? j->error : cairn_error_nomem();
		memcpy(copy, j->pack.data.data, j->pack.data.len);
		u.len = j->pack.data.len;
		cairn_buf_free(&j->pack.data);
		u.data = copy;
	} else {
		u.data = cairn_buf_steal(&j->pack.data, &u.len);
	}
	j->pack_open = false;
	pthread_mutex_lock(&j->lock);
	while (j->qlen == UPLOAD_QUEUE && !j->stop)
		timed_wait(j, W_UPLOAD_SLOT);
	if (j->stop) {
		j->packbufs[j->npackbufs++] = u.data;
		pthread_mutex_unlock(&j->lock);
		return CAIRN_ECANCELED;
	}
	j->queue[(j->qhead + j->qlen) % UPLOAD_QUEUE] = u;
	j->qlen++;
	pthread_cond_signal(&j->uploader_cv);
	pthread_mutex_unlock(&j->lock);
	return 0;
}

/* Appends a sealed blob to the open pack unless the index already has it:
 * 1 when appended. */
static int add_blob(struct job *j, struct cairn_blob_ref *ref, const uint8_t *sealed)
{
	if (cairn_index_lookup(j->idx, ref->id, NULL) == 0)
		return 0; /* sealed twice in flight: keep the first */
	int r;
	if (!j->pack_open) {
		uint8_t *buf = take_packbuf(j);
		if (!buf)
			return j->error ? j->error : cairn_error_nomem();
		cairn_buf_free(&j->pack.data);
		j->pack.data = (struct cairn_buf){ buf, 0, j->packbuf_cap };
		if ((r = cairn_pack_writer_begin(&j->pack)) < 0)
			return r;
		if ((r = cairn_index_add_pack(j->idx, j->pack.id, true, &j->pack_slot)) < 0)
			return r;
		j->pack_open = true;
	}
	ref->pack = j->pack_slot;
	if ((r = cairn_pack_writer_add(&j->pack, ref, sealed)) < 0)
		return r;
	if ((r = cairn_index_insert(j->idx, ref)) < 0)
		return r;
	if (ref->type == CAIRN_BLOB_CHUNK) {
		j->stats.bytes_new += ref->raw_len;
		j->stats.chunks_new++;
	}
	if (j->pack.data.len >= j->repo->config.pack_size || j->pack.n >= PACK_MAX_BLOBS)
		r = pack_flush(j);
	return r < 0 ? r : 1;
}

/* Seals a node (tree or catalog) into out, its ref into *ref, unless the
 * index has it: 1 when sealed. */
static int seal_node(struct job *j, struct cairn_blob_codec *c, enum cairn_blob_type type, bool compress,
		     const uint8_t id[CAIRN_ID_LEN], const uint8_t *node, size_t len, struct cairn_buf *out,
		     struct cairn_blob_ref *ref)
{
	if (cairn_index_lookup(j->idx, id, NULL) == 0)
		return 0;
	*ref = (struct cairn_blob_ref){ .type = type, .raw_len = (uint32_t)len };
	memcpy(ref->id, id, CAIRN_ID_LEN);
	cairn_buf_clear(out);
	int r = cairn_blob_encode(c, id, node, len, compress, out, &ref->flags, &ref->stored_len);
	return r < 0 ? r : 1;
}

/* Stores a node (tree or catalog) unless the index has it: 1 when stored. */
static int store_node(struct job *j, enum cairn_blob_type type, bool compress, const uint8_t id[CAIRN_ID_LEN],
		      const uint8_t *node, size_t len)
{
	struct cairn_blob_ref ref;
	int r = seal_node(j, &j->codec, type, compress, id, node, len, &j->node_sealed, &ref);
	return r <= 0 ? r : add_blob(j, &ref, j->node_sealed.data);
}

static int emit_node(const uint8_t id[CAIRN_ID_LEN], const uint8_t *node, size_t len, void *ud)
{
	int r = store_node(ud, CAIRN_BLOB_TREE, false, id, node, len);
	return r < 0 ? r : 0;
}

static void count_catalog_node(struct job *j, size_t len)
{
	j->stats.catalog_nodes_new++;
	j->stats.catalog_bytes_new += len;
}

/* Catalog nodes are text-like: compressed.  An unchanged directory is in
 * the index already and costs nothing.  The writer's own, for a catalog
 * built without a thread of its own. */
static int emit_catalog_node(const uint8_t id[CAIRN_ID_LEN], const uint8_t *node, size_t len, void *ud)
{
	struct job *j = ud;
	int r = store_node(j, CAIRN_BLOB_CATALOG, true, id, node, len);
	if (r > 0)
		count_catalog_node(j, len);
	return r < 0 ? r : 0;
}

/* ---- the catalog thread ---- */

/* The catalog is read from the volume the chunks come from (the same
 * descriptor: a snapshot's bytes, or the live volume's while its chunks
 * are read, which the live check's two stats enclose), on a thread of its
 * own: serial after the last chunk it was a quarter of an incremental's
 * time on ext4 (0.14 of 0.57 s on the real-files benchmark).  It seals
 * the nodes the index lacks and queues them; the writer appends them to
 * the packs (drain_catalog).  The last node, the catalog's root, is held
 * back and goes into the packs after the tree's: the catalog's volume
 * node stays the last blob of a backup, as when the catalog was built
 * after the tree. */
struct catalog_thread {
	struct job *j;
	struct cairn_blob_codec codec;
	struct cairn_buf sealed, held; /* this node's; the one before, not queued yet */
	struct cairn_blob_ref held_ref;
	bool holding;
};

/* Appends a node's record (its ref, then its sealed bytes) to q. */
static int catalog_record(struct cairn_buf *q, const struct cairn_blob_ref *ref, const uint8_t *sealed)
{
	int r = cairn_buf_append(q, ref, sizeof(*ref));
	return r < 0 ? r : cairn_buf_append(q, sealed, ref->stored_len);
}

static int queue_catalog_node(const uint8_t id[CAIRN_ID_LEN], const uint8_t *node, size_t len, void *ud)
{
	struct catalog_thread *t = ud;
	struct job *j = t->j;
	struct cairn_blob_ref ref;
	int r = seal_node(j, &t->codec, CAIRN_BLOB_CATALOG, true, id, node, len, &t->sealed, &ref);
	if (r <= 0)
		return r;
	r = 0;
	/* This node is held; the one held before goes into the queue. */
	struct cairn_buf b = t->held;
	t->held = t->sealed;
	t->sealed = b;
	struct cairn_blob_ref prev = t->held_ref;
	t->held_ref = ref;
	bool queue = t->holding;
	t->holding = true;
	if (!queue)
		return 0;
	pthread_mutex_lock(&j->lock);
	while (!j->stop && j->catalog_queue.len >= CATALOG_QUEUE_MAX)
		timed_wait(j, W_CATALOG_QUEUE);
	size_t was = j->catalog_queue.len;
	if (!j->stop && (r = catalog_record(&j->catalog_queue, &prev, t->sealed.data)) < 0)
		j->catalog_queue.len = was; /* the job fails: nothing half-queued */
	bool stop = j->stop;
	/* The writer drains between batches anyway; a full queue wakes it. */
	if (j->catalog_queue.len >= CATALOG_QUEUE_MAX)
		pthread_cond_signal(&j->writer_cv);
	pthread_mutex_unlock(&j->lock);
	if (r >= 0 && stop)
		r = cairn_error_set(CAIRN_ECANCELED, "stopped"); /* the job's first error is kept */
	return r;
}

static void *catalog_main(void *arg)
{
	struct job *j = arg;
	struct catalog_thread t = { .j = j, .sealed = CAIRN_BUF_INIT, .held = CAIRN_BUF_INIT };
	double t0 = cairn_now();
	int r = cairn_blob_codec_init(&t.codec, j->repo);
	if (r >= 0) {
		r = cairn_catalog_build(j->catalog_fd, j->vol->size, t.codec.hasher, queue_catalog_node, &t,
					&j->catalog);
		cairn_blob_codec_free(&t.codec);
	}
	j->catalog_seconds = cairn_now() - t0;
	if (r < 0)
		job_fail(j, r);
	pthread_mutex_lock(&j->lock);
	if (r >= 0 && t.holding && (r = catalog_record(&j->catalog_last, &t.held_ref, t.held.data)) < 0) {
		pthread_mutex_unlock(&j->lock);
		job_fail(j, r);
		pthread_mutex_lock(&j->lock);
	}
	cairn_buf_free(&t.sealed);
	cairn_buf_free(&t.held);
	j->catalog_done = true;
	pthread_cond_signal(&j->writer_cv);
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

/* Writer: appends the nodes of records q (catalog_record) to the packs. */
static int add_catalog_records(struct job *j, const struct cairn_buf *q)
{
	int r = 0;
	for (size_t at = 0; r >= 0 && at < q->len;) {
		struct cairn_blob_ref ref;
		memcpy(&ref, q->data + at, sizeof(ref));
		at += sizeof(ref);
		if ((r = add_blob(j, &ref, q->data + at)) > 0)
			count_catalog_node(j, ref.raw_len);
		at += ref.stored_len;
	}
	return r < 0 ? r : 0;
}

/* Writer: appends the nodes the catalog thread queued so far. */
static int drain_catalog(struct job *j)
{
	pthread_mutex_lock(&j->lock);
	struct cairn_buf q = j->catalog_queue;
	j->catalog_queue = j->catalog_taken; /* empty, its memory kept */
	pthread_cond_signal(&j->catalog_cv);
	pthread_mutex_unlock(&j->lock);
	int r = add_catalog_records(j, &q);
	cairn_buf_clear(&q);
	j->catalog_taken = q;
	return r;
}

/* Writer, after the last batch: the rest of the catalog. */
static int finish_catalog(struct job *j)
{
	for (;;) {
		pthread_mutex_lock(&j->lock);
		while (!j->stop && !j->catalog_done && j->catalog_queue.len < CATALOG_QUEUE_MAX)
			timed_wait(j, W_CATALOG);
		bool done = j->catalog_done || j->stop;
		pthread_mutex_unlock(&j->lock);
		int r = drain_catalog(j);
		if (r < 0 || done)
			return r < 0 || j->stop ? r : add_catalog_records(j, &j->catalog_last);
	}
}

/* Without a thread of its own (none could be started): after the last
 * chunk, on the writer's. */
static int build_catalog(struct job *j)
{
	double t0 = cairn_now();
	int r = cairn_catalog_build(j->vol->fd, j->vol->size, j->codec.hasher, emit_catalog_node, j, &j->catalog);
	j->catalog_seconds = cairn_now() - t0;
	return r;
}

/* The next chunk's entry in the new tag cache (e), or the next `zeros`
 * chunks of a hole (e NULL). */
static void tags_out(struct job *j, const struct cairn_tag_entry *e, uint64_t zeros)
{
	if (!j->tc_out)
		return;
	/* The damaged part of the parent's cache is not kept. */
	if (__atomic_load_n(&j->tc_in_broken, __ATOMIC_RELAXED))
		cairn_tagcache_distrust(j->tc_out);
	if ((e ? cairn_tagcache_append(j->tc_out, e) : cairn_tagcache_append_zeros(j->tc_out, zeros)) < 0) {
		/* Local state only: drop it, keep backing up. */
		cairn_log_warn("change-tag cache not written: %s", cairn_error_message());
		cairn_tagcache_writer_free(j->tc_out);
		j->tc_out = NULL;
	}
}

/* A hole batch: the tree and the tag cache take the run whole. */
static int consume_hole(struct job *j, struct batch *b, struct cairn_tree_builder *tb)
{
	int r = cairn_tree_builder_push_zeros(tb, b->hole_chunks);
	if (r < 0)
		return r;
	tags_out(j, NULL, b->hole_chunks);
	j->done_bytes += b->len;
	return 0;
}

static int consume_batch(struct job *j, struct batch *b, struct cairn_tree_builder *tb)
{
	if (b->hole_chunks)
		return consume_hole(j, b, tb);
	for (uint32_t i = 0; i < b->nchunks; i++) {
		struct chunk_out *o = &b->out[i];
		int r;
		if (o->kind == CHUNK_NEW) {
			struct cairn_blob_ref ref = { .type = CAIRN_BLOB_CHUNK, .flags = o->flags,
						      .raw_len = o->raw_len, .stored_len = o->stored_len };
			memcpy(ref.id, o->id, CAIRN_ID_LEN);
			if ((r = add_blob(j, &ref, b->sealed.data + o->sealed_at)) < 0)
				return r;
		}
		if ((r = cairn_tree_builder_push(tb, o->id)) < 0)
			return r;
		if (j->tc_out) {
			struct cairn_tag_entry e;
			memcpy(e.tag, o->tag, sizeof(e.tag));
			memcpy(e.id, o->id, CAIRN_ID_LEN);
			tags_out(j, &e, 0);
		}
	}
	j->done_bytes += b->len;
	return 0;
}

static int run_pipeline(struct job *j, struct cairn_tree_builder *tb, const struct cairn_backup_opts *o)
{
	unsigned nworkers = cairn_engine_threads();
	pthread_t reader, prefetcher, catalog, workers[64], uploaders[MAX_UPLOADERS];
	if (nworkers > 64)
		nworkers = 64;
	unsigned started_workers = 0, started_uploaders = 0;
	bool reader_started = false, prefetcher_started = false, catalog_started = false;
	int r = 0;

	for (unsigned i = 0; i < j->nuploaders; i++)
		if (pthread_create(&uploaders[i], NULL, uploader_main, j) == 0)
			started_uploaders++;
	for (unsigned i = 0; i < nworkers; i++)
		if (pthread_create(&workers[i], NULL, worker_main, j) == 0)
			started_workers++;
	if (pthread_create(&reader, NULL, reader_main, j) == 0)
		reader_started = true;
	/* Without it the reader's read-ahead per batch still works. */
	if (j->changes && pthread_create(&prefetcher, NULL, prefetcher_main, j) == 0)
		prefetcher_started = true;
	/* Its own open file description of the volume: libblkid reads at the
	 * file offset, which the reader's SEEK_DATA moves.  Without it the
	 * writer builds the catalog after the last chunk. */
	if (!j->no_catalog) {
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", j->vol->fd);
		j->catalog_fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (j->catalog_fd >= 0 && pthread_create(&catalog, NULL, catalog_main, j) == 0)
			catalog_started = true;
	}
	if (!reader_started || !started_workers || !started_uploaders)
		job_fail(j, cairn_error_set(CAIRN_ENOMEM, "cannot start threads"));

	double last = 0;
	while (r >= 0) {
		pthread_mutex_lock(&j->lock);
		struct batch *b = &j->slots[j->next_write % NSLOTS];
		while (!j->stop && j->next_write < j->nbatches && b->state != SLOT_DONE &&
		       j->catalog_queue.len < CATALOG_QUEUE_MAX)
			timed_wait(j, W_WRITER);
		bool done = j->stop || j->next_write >= j->nbatches;
		bool ready = b->state == SLOT_DONE, catalog_nodes = j->catalog_queue.len > 0;
		pthread_mutex_unlock(&j->lock);
		if (done)
			break;
		if (catalog_nodes && (r = drain_catalog(j)) < 0) {
			job_fail(j, r);
			break;
		}
		if (!ready)
			continue;
		r = consume_batch(j, b, tb);
		pthread_mutex_lock(&j->lock);
		b->state = SLOT_FREE;
		/* A batch the reader finished (trivial) may be consumed before any
		 * worker stepped past it; once its slot is reused, no worker may
		 * take the slot for this batch.  Everything up to here is done,
		 * so the workers start after it.  No worker needs waking: this
		 * takes work away, and once the last batch is laid out
		 * (wake_all) no worker waits. */
		if (j->next_work <= j->next_write)
			j->next_work = j->next_write + 1;
		j->next_write++;
		pthread_cond_signal(&j->reader_cv);
		pthread_mutex_unlock(&j->lock);
		if (r < 0)
			job_fail(j, r);
		double now = cairn_now();
		if (o->progress && now - last > 0.1) {
			o->progress(j->done_bytes, j->vol->size, o->progress_ud);
			last = now;
		}
		/* The reader checks at every batch it lays out, but it may have
		 * laid out the last one long ago (the ring holds 32 MiB): the
		 * writer checks too, so a cancel stops the backup until its
		 * manifest is written. */
		if (r >= 0 && cairn_cancel_check()) {
			r = cairn_error_set(CAIRN_ECANCELED, "interrupted");
			job_fail(j, r);
		}
	}
	if (r >= 0 && !j->stop) {
		uint8_t root[CAIRN_ID_LEN];
		r = cairn_tree_builder_finish(tb, root);
		if (r >= 0 && catalog_started)
			r = finish_catalog(j);
		else if (r >= 0 && !j->no_catalog)
			r = build_catalog(j);
		if (r >= 0)
			r = pack_flush(j);
		if (r < 0)
			job_fail(j, r);
		memcpy(j->root, root, CAIRN_ID_LEN);
	}
	pthread_mutex_lock(&j->lock);
	j->uploads_closed = true;
	pthread_cond_broadcast(&j->uploader_cv);
	pthread_mutex_unlock(&j->lock);
	if (reader_started)
		pthread_join(reader, NULL);
	if (prefetcher_started)
		pthread_join(prefetcher, NULL);
	if (catalog_started)
		pthread_join(catalog, NULL);
	for (unsigned i = 0; i < started_workers; i++)
		pthread_join(workers[i], NULL);
	for (unsigned i = 0; i < started_uploaders; i++)
		pthread_join(uploaders[i], NULL);
	/* Drain packs still queued if we stopped early. */
	while (j->qlen) {
		j->packbufs[j->npackbufs++] = j->queue[j->qhead].data;
		j->qhead = (j->qhead + 1) % UPLOAD_QUEUE;
		j->qlen--;
	}
	if (j->profile)
		for (int i = 0; i < W_COUNT; i++)
			fprintf(stderr, "cairn: profile: %-36s %7.3f s\n", wait_names[i], j->waited[i]);
	if (j->error)
		return cairn_error_set(j->error, "%s", j->errmsg);
	if (o->progress)
		o->progress(j->done_bytes, j->vol->size, o->progress_ud);
	return 0;
}

static void job_free(struct job *j)
{
	for (int i = 0; i < NSLOTS; i++) {
		free(j->slots[i].in);
		free(j->slots[i].at);
		free(j->slots[i].out);
		marks_free(&j->slots[i].m);
		cairn_buf_free(&j->slots[i].sealed);
	}
	marks_free(&j->stride.m);
	cairn_pack_writer_free(&j->pack);
	for (size_t i = 0; i < j->npackbufs; i++)
		free(j->packbufs[i]);
	cairn_blob_codec_free(&j->codec);
	cairn_buf_free(&j->node_sealed);
	cairn_tagcache_reader_free(j->tc_in);
	cairn_tagcache_writer_free(j->tc_out);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->reader_cv);
	pthread_cond_destroy(&j->worker_cv);
	pthread_cond_destroy(&j->writer_cv);
	pthread_cond_destroy(&j->uploader_cv);
	pthread_cond_destroy(&j->prefetcher_cv);
	pthread_cond_destroy(&j->catalog_cv);
	cairn_buf_free(&j->catalog_queue);
	cairn_buf_free(&j->catalog_taken);
	cairn_buf_free(&j->catalog_last);
	if (j->catalog_fd >= 0)
		close(j->catalog_fd);
}

int cairn_backup_check_names(const char *volume, const char *const *tags, size_t ntags)
{
	const char *why;
	/* At most 64 bytes of it are echoed: it may be long or not text. */
	if (volume && (why = cairn_name_problem(volume, false)))
		return cairn_error_set(CAIRN_EINVAL, "invalid volume name '%.64s%s': it %s", volume,
				       strlen(volume) > 64 ? "..." : "", why);
	for (size_t i = 0; i < ntags; i++)
		if ((why = cairn_name_problem(tags[i], false)))
			return cairn_error_set(CAIRN_EINVAL, "invalid tag '%.64s%s': it %s", tags[i],
					       strlen(tags[i]) > 64 ? "..." : "", why);
	return 0;
}

/* What a live read of vol saw (engine.h cairn_backup_opts): before is the
 * file's stat when it was opened, NULL for a block device (or a file that
 * could not be stat'ed), which has no clock to compare.  The file system
 * stamps mtime and ctime at its clock's granularity (a few ms on ext4): a
 * write in the same tick as the last one before the read is not seen. */
static const char *live_consistency(const struct cairn_volume *vol, const struct stat *before,
				    const struct cairn_freeze *fz)
{
	struct stat after;
	/* Asked once the last byte is read: a freeze the watchdog ended
	 * before that did not hold for the whole read. */
	bool frozen = fz && cairn_freeze_held(fz);
	if (fz && !frozen)
		cairn_log_warn("the watchdog thawed the file systems before %s was read to its end "
			       "(--max-freeze): the backup is not recorded as frozen",
			       vol->path);
	if (!before)
		return frozen ? "frozen" : "unchecked";
	if (fstat(vol->fd, &after) < 0 || after.st_size != before->st_size ||
	    after.st_mtim.tv_sec != before->st_mtim.tv_sec || after.st_mtim.tv_nsec != before->st_mtim.tv_nsec ||
	    after.st_ctim.tv_sec != before->st_ctim.tv_sec || after.st_ctim.tv_nsec != before->st_ctim.tv_nsec) {
		cairn_log_warn("%s changed while it was read: the backup is kept, marked changed-during-read",
			       vol->path);
		return "changed-during-read";
	}
	return frozen ? "frozen" : "unchanged";
}

int cairn_backup_run(struct cairn_repo *repo, const struct cairn_backup_opts *o, struct cairn_manifest **ret)
{
	double t0 = cairn_now();
	_cleanup_(cairn_volume_freep) struct cairn_volume *vol = NULL;
	int r = o->source_fd_set ? cairn_volume_open_fd(o->source_fd, o->source, &vol)
				 : cairn_volume_open(o->source, &vol);
	if (r < 0)
		return r;
	/* A live file is checked for change during the read: its stat now and
	 * after the last byte is read (see live_consistency). */
	struct stat before;
	bool checkable = !o->from_snapshot && !vol->is_device && fstat(vol->fd, &before) == 0;
	if (!o->from_snapshot)
		cairn_test_hold("CAIRN_TEST_READ_HOLD_MS");
	_cleanup_free_ char *stable = NULL;
	if (!o->source_name && (r = cairn_volume_stable_path(o->source, &stable)) < 0)
		return r;
	const char *source_path = o->source_name ? o->source_name : stable;
	const char *volume = o->volume ? o->volume : cairn_path_base(source_path);
	if ((r = cairn_backup_check_names(volume, o->tags, o->ntags)) < 0)
		return r;
	/* Before the index is read: a concurrent prune must know (format.h PRUNE). */
	_cleanup_(cairn_activity_endp) struct cairn_activity *activity = NULL;
	if ((r = cairn_activity_begin(repo, "backup", &activity)) < 0)
		return r;

	/* The parent is only recorded here; full-read change tracking needs no
	 * data from it ([volumes] uses it for extent-map tracking). */
	struct cairn_manifest_list list = { 0 };
	const struct cairn_manifest_list *backups = o->list;
	if (!backups) {
		if ((r = cairn_manifest_list_load(repo, &list)) < 0)
			return r;
		backups = &list;
	}
	if (!o->volume && (r = cairn_series_check(backups, volume, source_path, false, o->name_option)) < 0) {
		cairn_manifest_list_free(&list);
		return r;
	}
	struct cairn_manifest *parent = cairn_manifest_latest(backups, volume);

	_cleanup_(cairn_index_freep) struct cairn_index *idx = NULL;
	/* Through the local index cache (repo/idxcache.h): RAM and start-up
	 * follow this backup's work, not the repository's size. */
	const char *cache_dir = cairn_engine_tuning()->no_index_cache ? NULL : o->state_dir;
	if ((r = cairn_index_new(&idx)) < 0 || (r = cairn_index_load_cached(idx, repo, cache_dir, NULL)) < 0) {
		cairn_manifest_list_free(&list);
		return r;
	}
	cairn_log_debug("backup: manifests and index loaded at %.3f s", cairn_now() - t0);
	cairn_index_hide_condemned(idx, true); /* never reuse what prune took out of use */
	int adopted = cairn_index_adopt_orphans(idx, repo);
	if (adopted < 0) {
		cairn_manifest_list_free(&list);
		return adopted;
	}
	if (adopted > 0)
		cairn_log_info("reusing %d pack(s) left by an interrupted backup", adopted);

	struct job j;
	memset(&j, 0, sizeof(j));
	j.catalog_fd = -1;
	pthread_mutex_init(&j.lock, NULL);
	pthread_cond_init(&j.reader_cv, NULL);
	pthread_cond_init(&j.worker_cv, NULL);
	pthread_cond_init(&j.writer_cv, NULL);
	pthread_cond_init(&j.uploader_cv, NULL);
	pthread_cond_init(&j.prefetcher_cv, NULL);
	pthread_cond_init(&j.catalog_cv, NULL);
	j.repo = repo;
	j.nuploaders = MIN(cairn_repo_parallelism(repo), MAX_UPLOADERS);
	j.npackbufs_max = j.nuploaders + UPLOAD_QUEUE + 1;
	j.profile = cairn_engine_tuning()->profile;
	j.vol = vol;
	j.idx = idx;
	j.no_catalog = o->no_catalog;
	j.chunk_size = repo->config.chunk_size;
	j.chunks_per_batch = MAX(1u, BATCH_BYTES / j.chunk_size);
	uint64_t batch_bytes = (uint64_t)j.chunks_per_batch * j.chunk_size;
	j.batch_chunks_max = MAX(j.chunks_per_batch, BATCH_CHUNKS_MAX);
	j.nbatches = UINT64_MAX;
	uint64_t nchunks = (vol->size + j.chunk_size - 1) / j.chunk_size;
	uint8_t backup_id[CAIRN_BACKUP_ID_LEN];
	if ((r = cairn_random(backup_id, sizeof(backup_id))) < 0) {
		cairn_manifest_list_free(&list);
		job_free(&j);
		return r;
	}
	_cleanup_free_ char *tc_path = NULL;
	if (o->state_dir && cairn_tagcache_path(o->state_dir, repo->config.instance, volume, &tc_path) < 0) {
		cairn_log_warn("no change-tag cache: %s", cairn_error_message());
		tc_path = NULL;
	}
	if (tc_path) {
		struct cairn_tagcache_key key = { .size = vol->size, .chunk_size = j.chunk_size };
		memcpy(key.repo_id, repo->config.instance, 16);
		if (parent && !o->full) {
			memcpy(key.backup_id, parent->id, 16);
			if (cairn_tagcache_open(tc_path, repo->keys->local, &key, &j.tc_in) < 0)
				j.tc_in = NULL;
		}
		memcpy(key.backup_id, backup_id, 16);
		if (cairn_tagcache_create(tc_path, repo->keys->local, &key, &j.tc_out) < 0) {
			cairn_log_warn("no change-tag cache: %s", cairn_error_message());
			j.tc_out = NULL;
		}
		j.tags = j.tc_out != NULL || j.tc_in != NULL;
	}
	/* A change map says which chunks to read; the others' ids come from the
	 * parent's change-tag cache, so without that cache it is of no use. */
	const char *tracking = "full-read";
	const struct cairn_change_map *changes = o->changes;
	if (!changes && o->changes_for && parent && !o->full && o->changes_for(parent, o->changes_ud, &changes) != 0)
		changes = NULL;
	if (changes && !o->full && parent && parent->size == vol->size && j.tc_in) {
		j.changes = changes;
		j.change_cursor = (struct cairn_change_cursor)CAIRN_CHANGE_CURSOR_INIT(changes);
		tracking = changes->method ? changes->method : "change-map";
	} else if (changes && !o->full) {
		cairn_log_info("reading the whole volume: %s",
			       !parent ? "no parent backup" :
			       parent->size != vol->size ? "the volume changed size" :
							   "no change-tag cache for the parent backup");
	}
	/* How the source is read (engine/tuning.h).  A full backup: pread()
	 * into reused buffers, since on the VMs measured (docs/benchmarks.md)
	 * the faults of a fresh mapping per batch cost about 13% more CPU than
	 * the copy they save.  A whole read against the parent's change tags
	 * (an incremental on ext4): mapped, since most chunks are only tagged
	 * there, and the copy was a third of that backup's CPU (the real-files
	 * benchmark: 0.78 against 1.04-1.19 CPU-s). */
	enum cairn_source_read how = cairn_engine_tuning()->source_read;
	j.map_source = how == CAIRN_SOURCE_READ_MAP || (how == CAIRN_SOURCE_READ_AUTO && j.tc_in && !j.changes);
	/* A pack closes once it reaches pack_size: room for one more chunk, the
	 * TOC of PACK_MAX_BLOBS entries and the trailer. */
	j.packbuf_cap = ((size_t)repo->config.pack_size + j.chunk_size + CAIRN_AEAD_OVERHEAD +
			 PACK_MAX_BLOBS * CAIRN_TOC_ENTRY_LEN + 65536 + 4095) & ~(size_t)4095;

	r = cairn_blob_codec_init(&j.codec, repo);
	if (marks_alloc(&j.stride.m, j.chunks_per_batch) < 0 && r >= 0)
		r = cairn_error_nomem();
	for (int i = 0; r >= 0 && i < NSLOTS; i++) {
		uint32_t n = j.batch_chunks_max;
		/* Huge pages (util/buf.h): the ring is filled once per batch. */
		j.slots[i].in = cairn_alloc_large(batch_bytes);
		j.slots[i].at = calloc(n, sizeof(uint32_t));
		j.slots[i].out = calloc(n, sizeof(struct chunk_out));
		int rm = marks_alloc(&j.slots[i].m, n);
		if (!j.slots[i].in || !j.slots[i].at || !j.slots[i].out || rm < 0)
			r = cairn_error_nomem();
		else
			r = cairn_buf_reserve_large(&j.slots[i].sealed, batch_bytes + batch_bytes / 8 + 4096);
	}
	struct cairn_tree_builder tb;
	memset(&tb, 0, sizeof(tb));
	if (r >= 0)
		r = cairn_tree_builder_init(&tb, nchunks, repo->config.tree_fanout, j.codec.hasher, emit_node, &j);
	if (r >= 0) {
		cairn_log_debug("backup: pipeline starts at %.3f s", cairn_now() - t0);
		cairn_engine_profile_startup("backup");
		r = run_pipeline(&j, &tb, o);
		cairn_log_debug("backup: pipeline done at %.3f s", cairn_now() - t0);
	}
	cairn_tree_builder_free(&tb);
	const char *consistency = "snapshot";
	if (r >= 0 && !o->from_snapshot)
		consistency = live_consistency(vol, checkable ? &before : NULL, o->frozen);

	uint64_t index_bytes = 0;
	if (r >= 0)
		r = cairn_index_write_fresh(idx, repo, &index_bytes);

	struct cairn_manifest *m = NULL;
	if (r >= 0) {
		m = calloc(1, sizeof(*m));
		if (!m)
			r = cairn_error_nomem();
	}
	if (r >= 0) {
		char host[256] = "";
		gethostname(host, sizeof(host) - 1);
		memcpy(m->id, backup_id, sizeof(m->id));
		cairn_hex_encode(m->id, sizeof(m->id), m->idhex);
		m->volume = strdup(volume);
		m->created_us = cairn_wall_now_us();
		m->hostname = strdup(host);
		m->source = strdup(source_path);
		m->size = vol->size;
		m->chunk_size = j.chunk_size;
		m->fanout = repo->config.tree_fanout;
		m->levels = cairn_tree_levels(nchunks, m->fanout);
		memcpy(m->root, j.root, CAIRN_ID_LEN);
		if (parent) {
			m->has_parent = true;
			memcpy(m->parent, parent->id, CAIRN_BACKUP_ID_LEN);
		}
		m->tags = calloc(o->ntags ? o->ntags : 1, sizeof(char *));
		m->ntags = o->ntags;
		for (size_t i = 0; m->tags && i < o->ntags; i++)
			m->tags[i] = strdup(o->tags[i]);
		m->change_tracking = strdup(tracking);
		if (j.catalog.has_root) {
			m->has_catalog = true;
			memcpy(m->catalog, j.catalog.root, CAIRN_ID_LEN);
		} else if (!(m->catalog_none = strdup(o->no_catalog ? "turned off (--no-catalog)" : j.catalog.reason))) {
			r = cairn_error_nomem();
		}
		m->consistency = strdup(consistency);
		if (r >= 0)
			r = cairn_volume_probe(vol->fd, vol->size, &m->info);
		m->stats = j.stats;
		m->stats.catalog_seconds = j.catalog_seconds;
		m->stats.bytes_hashed = j.bytes_hashed;
		m->stats.bytes_stored = j.bytes_uploaded + index_bytes;
		m->stats.seconds = cairn_now() - t0;
		if (r >= 0 && (!m->volume || !m->hostname || !m->source || !m->tags || !m->change_tracking ||
				   !m->consistency))
			r = cairn_error_nomem();
		if (r >= 0 && o->group_id) {
			m->in_group = true;
			memcpy(m->group_id, o->group_id, CAIRN_BACKUP_ID_LEN);
		}
		if (r >= 0 && o->policy) {
			if (!o->policy_id || strlen(o->policy_id) != 2 * CAIRN_POLICY_ID_LEN ||
			    strspn(o->policy_id, "0123456789abcdef") != 2 * CAIRN_POLICY_ID_LEN)
				r = cairn_error_set(CAIRN_EINVAL, "policy %s has no valid id", o->policy);
			else if (!(m->policy = strdup(o->policy)))
				r = cairn_error_nomem();
			else
				memcpy(m->policy_id, o->policy_id, sizeof(m->policy_id));
		}
	}
	if (r >= 0)
		r = cairn_manifest_write(repo, m, NULL);
	cairn_log_debug("backup: index and manifest written at %.3f s", cairn_now() - t0);
	if (r >= 0 && j.tc_out && cairn_tagcache_commit(j.tc_out) < 0)
		cairn_log_warn("change-tag cache not saved: %s", cairn_error_message());
	if (r >= 0) {
		m->stats.seconds = cairn_now() - t0;
		*ret = m;
		m = NULL;
	}
	/* After the backup's own work, which it neither delays nor risks. */
	if (r >= 0)
		cairn_engine_compact_index(idx, repo);
	cairn_manifest_free(m);
	cairn_manifest_list_free(&list);
	job_free(&j);
	return r;
}
