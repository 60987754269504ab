/* The index grouped by pack in bounded memory: an external sort.
 *
 * bypack.h groups the entries of an index held whole in RAM.  check
 * looks blobs up through the local index cache instead (repo/idxcache.h),
 * where the entries lie on disk sorted by id; to visit them pack by pack
 * it streams them (cairn_index_foreach_resolved) into runs of at most
 * run_entries entries, each sorted by its pack's key and written to an
 * unlinked temporary file, then merges the runs (a heap over their
 * heads) and hands out one pack's entries at a time.  Memory: one run
 * (52 bytes an entry and 4 of order, 512k entries by default: 28 MiB), a 32 KiB read
 * buffer per run (about 100 runs at 50M blobs), the keys (4 bytes a
 * pack) and the largest pack's entries.  Time: the index is read once,
 * written and read once more; O(blobs log runs).  A single run stays in
 * RAM and touches no file. */
#ifndef CAIRN_ENGINE_PACKSORT_H
#define CAIRN_ENGINE_PACKSORT_H

#include "repo/index.h"

#include <stddef.h>
#include <stdint.h>

struct cairn_packsort;

/* Sorts the entries idx resolves by key[their pack slot], which must be
 * distinct for distinct slots (in a pack, entries come in no set order;
 * each counting sort of a run costs O(run + nkeys)); entries whose slot is nkeys or beyond are left out.  key is
 * borrowed until cairn_packsort_free.  dir: where the runs go (NULL:
 * /var/tmp); run_entries 0: the default. */
int cairn_packsort_new(struct cairn_index *idx, const uint32_t *key, size_t nkeys, const char *dir,
		       size_t run_entries, struct cairn_packsort **ret);
void cairn_packsort_free(struct cairn_packsort *ps);
static inline void cairn_packsort_freep(struct cairn_packsort **p)
{
	cairn_packsort_free(*p);
}

/* The next pack's entries, in key order: 1 with *ret_slot and ret_v[0 ..
 * *ret_n) (borrowed until the next call), 0 at the end, or an error. */
int cairn_packsort_next(struct cairn_packsort *ps, uint32_t *ret_slot, const struct cairn_blob_ref **ret_v,
			size_t *ret_n);

/* Runs written to files (0 when the index fit in one), for tests. */
size_t cairn_packsort_runs(const struct cairn_packsort *ps);

/* Keys that put pack slots in the order of their ids, which is the order
 * of their canonical names (lower-case hex): (*ret)[slot] is the slot's
 * rank.  npacks entries, malloc'd. */
int cairn_packsort_id_order(struct cairn_index *idx, uint32_t **ret);

#endif
