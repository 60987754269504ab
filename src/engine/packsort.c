/* External sort of the index by pack (packsort.h). */
#include "engine/packsort.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_ENTRIES_DEFAULT (512u << 10)
#define RUN_BUFFER (32u << 10)

struct psrun {
	FILE *f;
	struct cairn_blob_ref head;
};

struct cairn_packsort {
	const uint32_t *key;
	size_t nkeys;
	const char *dir;
	size_t run_entries;
	/* filling: the current run; merging with no files: the only one */
	struct cairn_blob_ref *buf;
	size_t nbuf, pos;
	uint32_t *perm;   /* buf's positions in key order (counting sort) */
	uint32_t *counts; /* nkeys + 1 */
	struct psrun *runs;
	size_t nruns, cap;
	size_t *heap; /* positions in runs, by head */
	size_t nheap;
	struct cairn_blob_ref *group; /* what cairn_packsort_next hands out */
	size_t ngroup, gcap;
};

/* Within a pack the order does not matter (its entries are matched
 * against the pack's table of contents by id): the key alone sorts. */
static bool before(const struct cairn_packsort *ps, const struct cairn_blob_ref *a, const struct cairn_blob_ref *b)
{
	return ps->key[a->pack] < ps->key[b->pack];
}

/* Counting sort of buf's positions by key into perm: O(entries + keys),
 * 4 bytes an entry, and no entry moves (qsort would copy 52-byte entries
 * through a buffer as large as the run). */
static void sort_run(struct cairn_packsort *ps)
{
	memset(ps->counts, 0, (ps->nkeys + 1) * sizeof(*ps->counts));
	for (size_t i = 0; i < ps->nbuf; i++)
		ps->counts[ps->key[ps->buf[i].pack] + 1]++;
	for (size_t k = 0; k < ps->nkeys; k++)
		ps->counts[k + 1] += ps->counts[k];
	for (size_t i = 0; i < ps->nbuf; i++)
		ps->perm[ps->counts[ps->key[ps->buf[i].pack]]++] = (uint32_t)i;
}

static int spill(struct cairn_packsort *ps)
{
	if (!ps->nbuf)
		return 0;
	if (cairn_array_grow(&ps->runs, &ps->cap, ps->nruns, sizeof(*ps->runs), 16) < 0)
		return cairn_error_nomem();
	struct psrun *run = &ps->runs[ps->nruns];
	*run = (struct psrun){ 0 };
	int r = cairn_index_run_file(ps->dir, &run->f);
	if (r < 0)
		return r;
	ps->nruns++;
	sort_run(ps);
	for (size_t i = 0; i < ps->nbuf; i++)
		if (fwrite(&ps->buf[ps->perm[i]], sizeof(*ps->buf), 1, run->f) != 1)
			return cairn_error_errno(errno ? errno : EIO, "cannot write a temporary file in %s", ps->dir);
	if (fflush(run->f) != 0)
		return cairn_error_errno(errno ? errno : EIO, "cannot write a temporary file in %s", ps->dir);
	ps->nbuf = 0;
	return 0;
}

static int add(const struct cairn_blob_ref *ref, void *ud)
{
	struct cairn_packsort *ps = ud;
	if (ref->pack >= ps->nkeys)
		return 0;
	if (ps->nbuf == ps->run_entries) {
		int r = spill(ps);
		if (r < 0)
			return r;
	}
	ps->buf[ps->nbuf++] = *ref;
	return 0;
}

/* 1 with run i's next entry in its head, 0 at its end. */
static int run_advance(struct cairn_packsort *ps, size_t i)
{
	struct psrun *run = &ps->runs[i];
	if (fread(&run->head, sizeof(run->head), 1, run->f) == 1)
		return run->head.pack < ps->nkeys ? 1 : cairn_error_set(CAIRN_ECORRUPT, "temporary sort run damaged");
	if (ferror(run->f))
		return cairn_error_errno(EIO, "cannot read a temporary file in %s", ps->dir);
	return 0;
}

static bool heap_less(const struct cairn_packsort *ps, size_t a, size_t b)
{
	return before(ps, &ps->runs[ps->heap[a]].head, &ps->runs[ps->heap[b]].head);
}

static void heap_down(struct cairn_packsort *ps, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < ps->nheap && heap_less(ps, l, m))
			m = l;
		if (l + 1 < ps->nheap && heap_less(ps, l + 1, m))
			m = l + 1;
		if (m == i)
			return;
		size_t t = ps->heap[i];
		ps->heap[i] = ps->heap[m];
		ps->heap[m] = t;
		i = m;
	}
}

int cairn_packsort_new(struct cairn_index *idx, const uint32_t *key, size_t nkeys, const char *dir,
		       size_t run_entries, struct cairn_packsort **ret)
{
	struct cairn_packsort *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return cairn_error_nomem();
	ps->key = key;
	ps->nkeys = nkeys;
	ps->dir = dir ? dir : "/var/tmp";
	ps->run_entries = run_entries ? run_entries : RUN_ENTRIES_DEFAULT;
	/* The buffer grows as entries come (a small index takes little),
	 * up to one run. */
	size_t want = MIN(ps->run_entries, MAX(cairn_index_count(idx), (size_t)1));
	int r = 0;
	ps->buf = malloc(want * sizeof(*ps->buf));
	ps->perm = malloc(want * sizeof(*ps->perm));
	ps->counts = calloc(nkeys + 1, sizeof(*ps->counts));
	if (!ps->buf || !ps->perm || !ps->counts)
		r = cairn_error_nomem();
	else if (want < ps->run_entries) {
		/* cairn_index_count is exact: one buffer of that size suffices
		 * unless entries arrive meanwhile, which add() then spills. */
		ps->run_entries = want;
	}
	if (r >= 0)
		r = cairn_index_foreach_resolved(idx, add, ps);
	if (r >= 0 && ps->nruns)
		r = spill(ps);
	if (r >= 0 && ps->nruns) {
		free(ps->buf);
		free(ps->perm);
		ps->buf = NULL;
		ps->perm = NULL;
		if (!(ps->heap = malloc(ps->nruns * sizeof(*ps->heap))))
			r = cairn_error_nomem();
		for (size_t i = 0; i < ps->nruns && r >= 0; i++) {
			if (fseek(ps->runs[i].f, 0, SEEK_SET) != 0 ||
			    setvbuf(ps->runs[i].f, NULL, _IOFBF, RUN_BUFFER) != 0)
				r = cairn_error_errno(errno, "cannot read a temporary file in %s", ps->dir);
			else if ((r = run_advance(ps, i)) > 0)
				ps->heap[ps->nheap++] = i;
		}
		for (size_t i = ps->nheap / 2 + 1; r >= 0 && i-- > 0;)
			heap_down(ps, i);
	} else if (r >= 0) {
		sort_run(ps);
	}
	if (r < 0) {
		cairn_packsort_free(ps);
		return r;
	}
	*ret = ps;
	return 0;
}

/* The smallest head: 1 with *ret, 0 when none is left. */
static int pop(struct cairn_packsort *ps, struct cairn_blob_ref *ret)
{
	if (!ps->nruns) {
		if (ps->pos == ps->nbuf)
			return 0;
		*ret = ps->buf[ps->perm[ps->pos++]];
		return 1;
	}
	if (!ps->nheap)
		return 0;
	*ret = ps->runs[ps->heap[0]].head;
	int r = run_advance(ps, ps->heap[0]);
	if (r < 0)
		return r;
	if (r == 0)
		ps->heap[0] = ps->heap[--ps->nheap];
	heap_down(ps, 0);
	return 1;
}

static const struct cairn_blob_ref *peek(const struct cairn_packsort *ps)
{
	if (!ps->nruns)
		return ps->pos < ps->nbuf ? &ps->buf[ps->perm[ps->pos]] : NULL;
	return ps->nheap ? &ps->runs[ps->heap[0]].head : NULL;
}

int cairn_packsort_next(struct cairn_packsort *ps, uint32_t *ret_slot, const struct cairn_blob_ref **ret_v,
			size_t *ret_n)
{
	ps->ngroup = 0;
	struct cairn_blob_ref e;
	int r = pop(ps, &e);
	if (r <= 0)
		return r;
	uint32_t slot = e.pack;
	for (;;) {
		if (cairn_array_grow(&ps->group, &ps->gcap, ps->ngroup, sizeof(*ps->group), 1024) < 0)
			return cairn_error_nomem();
		ps->group[ps->ngroup++] = e;
		const struct cairn_blob_ref *h = peek(ps);
		if (!h || h->pack != slot)
			break;
		if ((r = pop(ps, &e)) < 0)
			return r;
	}
	*ret_slot = slot;
	*ret_v = ps->group;
	*ret_n = ps->ngroup;
	return 1;
}

size_t cairn_packsort_runs(const struct cairn_packsort *ps)
{
	return ps->nruns;
}

void cairn_packsort_free(struct cairn_packsort *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->nruns; i++)
		if (ps->runs[i].f)
			fclose(ps->runs[i].f);
	free(ps->runs);
	free(ps->heap);
	free(ps->buf);
	free(ps->perm);
	free(ps->counts);
	free(ps->group);
	free(ps);
}

static int cmp_slot_id(const void *a, const void *b, void *idx)
{
	return memcmp(cairn_index_pack_id(idx, *(const uint32_t *)a), cairn_index_pack_id(idx, *(const uint32_t *)b),
		      CAIRN_PACK_ID_LEN);
}

int cairn_packsort_id_order(struct cairn_index *idx, uint32_t **ret)
{
	size_t np = cairn_index_npacks(idx);
	if (np >= UINT32_MAX)
		return cairn_error_set(CAIRN_EINVAL, "too many packs (%zu)", np);
	_cleanup_free_ uint32_t *perm = malloc((np ? np : 1) * sizeof(uint32_t));
	uint32_t *key = malloc((np ? np : 1) * sizeof(uint32_t));
	if (!perm || !key) {
		free(key);
		return cairn_error_nomem();
	}
	for (uint32_t s = 0; s < np; s++)
		perm[s] = s;
	qsort_r(perm, np, sizeof(*perm), cmp_slot_id, idx);
	for (uint32_t i = 0; i < np; i++)
		key[perm[i]] = i;
	*ret = key;
	return 0;
}
