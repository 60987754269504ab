/* The jobs: backup, restore, check, diff, repair.  Each runs to completion
 * on the calling thread (using worker threads inside) and reports progress
 * through a callback, so the CLI, the daemon and the HTTP API drive them the
 * same way. */
#ifndef CAIRN_ENGINE_ENGINE_H
#define CAIRN_ENGINE_ENGINE_H

#include "repo/manifest.h"
#include "repo/repo.h"
#include "source/changes.h"
#include "util/cancel.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* done/total in bytes; called at most ~10 times a second from the job's
 * thread. */
typedef void (*cairn_progress_fn)(uint64_t done, uint64_t total, void *ud);

/* cairn_cancel_requested (util/cancel.h), set by a signal handler: jobs
 * stop at the next safe point with CAIRN_ECANCELED and leave the
 * repository consistent. */

/* Worker threads for CPU work: CAIRN_THREADS, else the number of cores. */
unsigned cairn_engine_threads(void);

struct cairn_backup_opts {
	const char *source;
	const char *volume;    /* NULL: the source's base name */
	bool full;             /* re-read and re-verify everything (core: always) */
	const char *const *tags;
	size_t ntags;
	const char *state_dir; /* local state (change-tag cache); NULL: none */
	/* Ranges that may differ from the snapshot the parent backup read
	 * (source/changes.h); NULL reads everything.  Used only when the
	 * parent's change-tag cache is there and the size is unchanged. */
	const struct cairn_change_map *changes;
	/* Made for this group backup (repo/group.h); NULL: none. */
	const uint8_t *group_id;
	/* The name recorded as the backup's source, when the bytes are read from
	 * a snapshot of it (source is then the snapshot); NULL: source. */
	const char *source_name;
	cairn_progress_fn progress;
	void *progress_ud;
};

/* Backs up a volume; *ret is the new backup's manifest (owned). */
int cairn_backup_run(struct cairn_repo *repo, const struct cairn_backup_opts *o, struct cairn_manifest **ret);

struct cairn_restore_opts {
	const char *target;
	bool force;
	/* Rewrite an existing target in place, only where it differs from the
	 * backup (Veeam's quick rollback): the result is byte-identical to a
	 * full restore.  Chunks are compared by this backup's change tags when
	 * the state directory has them (the volume's latest backup made on
	 * this host), else by id. */
	bool delta;
	const char *state_dir;
	cairn_progress_fn progress;
	void *progress_ud;
};

struct cairn_restore_stats {
	uint64_t bytes_written; /* data written to the target */
	uint64_t bytes_fetched; /* read from the store */
	uint64_t zero_bytes;    /* left as holes / zeroed */
	uint64_t bytes_compared; /* --delta: read from the target to compare */
	uint64_t chunks_same;    /* --delta: chunks the target already held */
	const char *compared_by; /* --delta: "change tags" or "ids"; static */
	double seconds;
	bool target_is_device;
};

int cairn_restore_run(struct cairn_repo *repo, const struct cairn_manifest *m, const struct cairn_restore_opts *o,
		      struct cairn_restore_stats *ret);

/* check: every problem is reported through fn (one line of text each). */
struct cairn_check_opts {
	bool read_data;
	void (*problem)(const char *object, const char *what, void *ud);
	void (*affected)(const struct cairn_manifest *m, uint64_t missing, uint64_t damaged, void *ud);
	void *ud;
};
struct cairn_check_stats {
	uint64_t packs, blobs, backups, index_objects;
	uint64_t problems, backups_affected;
	uint64_t bytes_read;
};
/* Returns 0 when the repository is sound, CAIRN_ECORRUPT when problems were
 * found (each already reported), another error if checking itself failed. */
int cairn_check_run(struct cairn_repo *repo, const struct cairn_check_opts *o, struct cairn_check_stats *ret);

/* diff: fn(offset, length) for each changed byte range, in order, merged. */
typedef int (*cairn_range_fn)(uint64_t offset, uint64_t length, void *ud);
int cairn_diff_run(struct cairn_repo *repo, const struct cairn_manifest *a, const struct cairn_manifest *b,
		   cairn_range_fn fn, void *ud, uint64_t *ret_changed_bytes);

/* repair index: rebuilds the index from pack TOCs and replaces the index
 * objects.  Returns packs read; damaged packs are reported through problem. */
struct cairn_repair_stats {
	uint64_t packs, blobs, damaged_packs, old_index_objects;
};
int cairn_repair_index(struct cairn_repo *repo, void (*problem)(const char *object, const char *what, void *ud),
		       void *ud, struct cairn_repair_stats *ret);

#endif
