/* The jobs: backup, restore, check, diff, repair.  Each runs to completion
 * on the calling thread (using worker threads inside) and reports progress
 * through a callback, so that every front end drives them the same way,
 * through the application layer (src/app).  What engine needs from the
 * state database (the snapshot registry, a group's definition) is lent to
 * it as arguments. */
#ifndef CAIRN_ENGINE_ENGINE_H
#define CAIRN_ENGINE_ENGINE_H

#include "repo/manifest.h"
#include "repo/repo.h"
#include "source/changes.h"
#include "source/freeze.h"
#include "source/snapshot.h"
#include "repo/group.h"
#include "util/cancel.h"
#include "util/path.h"
#include "source/overlay.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* done/total in bytes; called at most ~10 times a second from the job's
 * thread. */
typedef void (*cairn_progress_fn)(uint64_t done, uint64_t total, void *ud);

/* cairn_cancel_requested (util/cancel.h), set by a signal handler: jobs
 * stop at the next safe point with CAIRN_ECANCELED and leave the
 * repository consistent. */

/* Worker threads for CPU work: the tuning's (engine/tuning.h), else the
 * number of cores. */
unsigned cairn_engine_threads(void);

/* What a job that reads backups does first: its activity marker (prune
 * waits for it, repo/lease.h) and the index (cached under state_dir when
 * not NULL).  Both owned by the caller; on error neither is left. */
struct cairn_activity;
struct cairn_index;
int cairn_engine_read_begin(struct cairn_repo *repo, const char *kind, const char *state_dir,
			    struct cairn_activity **ret_activity, struct cairn_index **ret_idx);

/* What a job that added an index object does last (backup, copy): merges
 * small index objects when enough have gathered (repo/index.h
 * cairn_index_compact_background), logging what it did.  A failure is
 * only warned of: the job's own work is done and safe. */
void cairn_engine_compact_index(struct cairn_index *idx, struct cairn_repo *repo);

/* CAIRN_PROFILE (engine/tuning.h): prints, once per process, the seconds
 * from the process's start to now, "the start-up" of job (called where a
 * backup, restore or copy is about to handle its first chunk). */
void cairn_engine_profile_startup(const char *job);

struct cairn_backup_opts {
	const char *source;
	/* NULL: the base name of the source's stable path
	 * (cairn_volume_stable_path), under the series rule
	 * (cairn_series_check); given: that name, whatever backups it has. */
	const char *volume;
	/* How the user gives a volume name, for the series rule's refusal;
	 * NULL: "--name". */
	const char *name_option;
	/* The repository's backups (cairn_manifest_list_load), when the caller
	 * has them already; NULL: loaded here.  Borrowed. */
	const struct cairn_manifest_list *list;
	bool full;             /* re-read and re-verify everything (core: always) */
	const char *const *tags;
	size_t ntags;
	const char *state_dir; /* local state (change-tag cache); NULL: none */
	/* Ranges that may differ from the snapshot the parent backup read
	 * (source/changes.h); NULL reads everything.  Used only when the
	 * parent's change-tag cache is there and the size is unchanged.
	 * Either given, or asked for once the parent is known: changes_for
	 * returns 0 with *ret set (owned by ud), or non-zero to read
	 * everything (with the reason logged). */
	const struct cairn_change_map *changes;
	int (*changes_for)(const struct cairn_manifest *parent, void *ud, const struct cairn_change_map **ret);
	void *changes_ud;
	/* Made for this group backup (repo/group.h); NULL: none. */
	const uint8_t *group_id;
	/* Made by this policy: its name and id (32 hex, state/policies.h),
	 * recorded in the manifest; NULL: by hand. */
	const char *policy, *policy_id;
	/* The volume's stable path, recorded as the backup's source, when the
	 * bytes are read from a snapshot of it (source is then the snapshot);
	 * NULL: the stable path of source. */
	const char *source_name;
	/* With source_fd_set, the bytes are read from source_fd (a snapshot
	 * cairn holds open, source/snapshot.h), never by opening source. */
	bool source_fd_set;
	int source_fd;
	/* How the bytes relate to one instant, recorded as the manifest's
	 * consistency (format.h MANIFEST).  from_snapshot: source is a
	 * snapshot ("snapshot").  Otherwise source is the live volume: a
	 * file's size, mtime and ctime are compared before and after the
	 * read ("changed-during-read" when they differ, else "unchanged", or
	 * "frozen" when the file systems on it were frozen by frozen, NULL:
	 * not frozen, and its watchdog had not thawed them when the read
	 * ended); a block device has no such clock ("unchecked", or
	 * "frozen"). */
	bool from_snapshot;
	const struct cairn_freeze *frozen;
	/* No file catalog (format.h CATALOG): `backup --no-catalog`. */
	bool no_catalog;
	cairn_progress_fn progress;
	void *progress_ud;
};

/* The series rule: a backup whose volume name came by default (name_given
 * false) is refused (CAIRN_EEXIST, naming the other source and
 * name_option) when the newest backup of that name in l was made from
 * another source than path (a stable path, cairn_volume_stable_path) on
 * this host.  Sources are the same when host and path are equal, or the
 * recorded path names this very file or device now; failing that, when
 * both carry one file system UUID and the recorded path cannot name this
 * volume any more (another host, a path gone, a kernel device name such as
 * /dev/sdb that a reboot may give to another disk).  With name_given it
 * proceeds (logged when the source differs). */
int cairn_series_check(const struct cairn_manifest_list *l, const char *volume, const char *path, bool name_given,
		       const char *name_option);

/* CAIRN_EINVAL when a volume name (may be NULL) or tag is not allowed. */
int cairn_backup_check_names(const char *volume, const char *const *tags, size_t ntags);

/* Backs up a volume; *ret is the new backup's manifest (owned). */
int cairn_backup_run(struct cairn_repo *repo, const struct cairn_backup_opts *o, struct cairn_manifest **ret);

/* A backup that reads a snapshot of the volume, or the live volume
 * (docs/design.md §6).  The snapshot is taken with `snapshot`: AUTO takes an
 * instant one (LVM, or a reflink on XFS/btrfs) where one exists and
 * otherwise reads the live volume, checking it for change during the read
 * (never a copy: that costs a full read and write of the volume and is no
 * more one instant than the live read); COPY makes a sparse copy; NONE
 * reads the live volume.  When the
 * snapshot registry holds a base snapshot that the parent backup read, and
 * both are reflinks that still match, the extent maps of the two tell what
 * changed (source/fiemap.h) and only that is read.  After a successful
 * backup a reflink snapshot is kept as the new base (the old one is
 * removed); a copy is removed. */

/* A base snapshot as the registry keeps it: the snapshot a backup read,
 * kept so that the next backup of the same volume name into the same
 * repository compares extent maps with it. */
struct cairn_snap_base {
	char id[17];
	char *path; /* base_get: malloc'd, the caller frees it */
	enum cairn_snap_method method;
	struct cairn_snap_identity ident;
	char repo_id[33], backup_id[33];
	/* base_add only (borrowed) */
	const char *volume, *volume_name;
	int64_t created_us;
};

/* The local snapshot registry, which engine does not keep itself: the
 * application layer implements it over the state database
 * (app/snapreg.c).  Every function gets ud. */
struct cairn_snap_registry {
	/* 1 when a recorded snapshot names this file (source/snapshot.h's
	 * leftover rule); an error answers true. */
	cairn_snap_known_fn known;
	/* Notes a directory snapshot files were made in. */
	int (*dir_note)(void *ud, const char *dir);
	/* The base of (repository id, volume name): 0, CAIRN_ENOTFOUND, or
	 * an error. */
	int (*base_get)(void *ud, const char *repo_id, const char *volume_name, struct cairn_snap_base *ret);
	/* Records b as a base (CAIRN_EEXIST and other errors: not kept). */
	int (*base_add)(void *ud, const struct cairn_snap_base *b);
	/* Removes every other base of (repository id, volume name) of
	 * volume, file and record, than keep_id (NULL: all); failures are
	 * only logged (the backup they follow has succeeded). */
	void (*base_drop_others)(void *ud, const char *repo_id, const char *volume, const char *volume_name,
				 const char *keep_id);
	void *ud;
};

struct cairn_snap_backup_opts {
	struct cairn_backup_opts backup; /* source is the volume */
	enum cairn_snap_method snapshot;
	const struct cairn_snap_registry *registry; /* NULL: only snapshot NONE */
	const char *state_dir;           /* for snapshots of block devices */
	/* A snapshot the caller already took with cairn_snap_take_new (a
	 * group's, at its frozen instant); NULL: take one now.  Either way
	 * this function keeps it as the base or releases it, on every path. */
	struct cairn_snap_taken *taken;
	/* With snapshot NONE: why the live volume is read, for info->why_live
	 * (static; NULL: "--snapshot none"). */
	const char *why_live;
	/* File systems (mount points) to freeze, under a watchdog that thaws
	 * them after max_freeze_ms (source/freeze.h), while the snapshot is
	 * taken, or for the whole read when the live volume is read; not with
	 * taken.  A live read the watchdog cut short is kept, recorded as not
	 * frozen, with a warning. */
	const char *const *freeze;
	size_t nfreeze;
	unsigned max_freeze_ms; /* 0: CAIRN_BACKUP_MAX_FREEZE_MS_DEFAULT */
};
#define CAIRN_BACKUP_MAX_FREEZE_MS_DEFAULT 5000
/* Takes a snapshot of volume under a new id (source/snapshot.h: in its
 * checked directory, leftovers there removed first) and notes that
 * directory in the registry. */
int cairn_snap_take_new(const struct cairn_snap_registry *reg, const char *volume, enum cairn_snap_method method,
			const char *state_dir, struct cairn_snap_taken *ret);
struct cairn_snap_backup_info {
	enum cairn_snap_method method; /* what was used */
	double snapshot_seconds;
	uint64_t bytes_copied;     /* copy snapshots */
	bool kept_base;
	const char *why_full_read; /* static; NULL when extent maps were used or not expected */
	/* With method NONE: why (static), "no instant snapshot here" under
	 * AUTO, "--snapshot none" when asked; NULL otherwise. */
	const char *why_live;
	double frozen_seconds; /* with freeze */
};
int cairn_snap_backup(struct cairn_repo *repo, const struct cairn_snap_backup_opts *o, struct cairn_manifest **ret,
		      struct cairn_snap_backup_info *info);

/* Group backups (engine/group.c): pre-hook, freeze the group's file
 * systems (with a watchdog, source/freeze.h), snapshot every volume (an
 * instant snapshot, else a copy; or, with freeze_during_read, read the
 * volumes that have no instant snapshot while still frozen), thaw,
 * post-hook, then back up each snapshot and write the group object.  A
 * failing pre-hook aborts with nothing frozen; a freeze that outlasts
 * max_freeze_ms fails the group backup (the snapshots are dropped). */
/* What a group backup needs of a consistency group (the state database's
 * row, state/groups.h, is the application's to turn into this; all
 * borrowed). */
struct cairn_group_spec {
	const char *name;
	const char *const *volumes; /* absolute paths, in order */
	size_t nvolumes;
	/* NULL, or nvolumes entries: each volume's name in its backups, or
	 * NULL for the default (the series rule applies to it). */
	const char *const *names;
	const char *const *freeze; /* mount points, in order */
	size_t nfreeze;
	const char *config; /* absolute path, or NULL */
	const char *pre_hook, *post_hook;
	unsigned max_freeze_ms;
};
struct cairn_group_backup_opts {
	const struct cairn_group_spec *group;
	/* As in cairn_backup_opts: the repository's backups (NULL: loaded
	 * here), and how a member is named, for the series rule's refusal. */
	const struct cairn_manifest_list *list;
	const char *name_option;
	const char *policy, *policy_id; /* as in cairn_backup_opts */
	bool full;
	bool no_catalog; /* as in cairn_backup_opts */
	const char *const *tags;
	size_t ntags;
	const struct cairn_snap_registry *registry;
	const char *state_dir;
	/* Members with no instant snapshot (LVM, reflink) are read live while
	 * the file systems stay frozen (under the watchdog: a read that
	 * outlasts max_freeze_ms fails the group backup), instead of copied
	 * while frozen.  Needs a group with file systems to freeze. */
	bool freeze_during_read;
	cairn_progress_fn progress;
	void *progress_ud;
};
/* What keeping the group's one instant cost, for its summary. */
struct cairn_group_backup_cost {
	size_t ninstant;       /* members with an LVM or reflink snapshot */
	size_t ncopied;        /* members copied while frozen */
	size_t nread_frozen;   /* members read live while frozen */
	uint64_t bytes_copied; /* by the copies */
	double frozen_seconds; /* as the group backup's frozen_seconds */
};
/* *ret and *ret_members (group->nvolumes manifests, each owned; free the
 * array too) on success. */
int cairn_group_backup_run(struct cairn_repo *repo, const struct cairn_group_backup_opts *o,
			   struct cairn_group_backup **ret, struct cairn_manifest ***ret_members,
			   struct cairn_group_backup_cost *ret_cost);
/* Restores every volume of a group backup to DIR/<volume> and its config
 * to DIR/<config name>; l is the repository's manifest list. */
int cairn_group_restore_run(struct cairn_repo *repo, const struct cairn_group_backup *gb, const char *dir,
			    bool force, cairn_progress_fn progress, void *ud, struct cairn_manifest_list *l);

/* For restore --delta onto a file: when the backup's base snapshot is still
 * kept and intact, the extent maps of that snapshot and the target tell
 * where the target can differ from the backup (*ret, owned by the caller;
 * method "fiemap").  CAIRN_ENOTFOUND when there is no such snapshot, or
 * another error when the maps cannot be compared: then compare all. */
int cairn_delta_known(const struct cairn_snap_registry *reg, const struct cairn_repo *repo, const struct cairn_manifest *m,
		      const char *target, struct cairn_change_map *ret);

struct cairn_restore_opts {
	const char *target;
	/* When not NULL, only the last component of target is looked up,
	 * in this directory (util/path.h, opened by the caller): group
	 * restore's members; target still names it in messages. */
	const struct cairn_path *target_in;
	bool force;
	/* Rewrite an existing target in place, only where it differs from the
	 * backup (Veeam's quick rollback): the result is byte-identical to a
	 * full restore.  Chunks are compared by this backup's change tags when
	 * the state directory has them (the volume's latest backup made on
	 * this host), else by id. */
	bool delta;
	const char *state_dir;
	/* --delta: outside these ranges the target is known to hold the
	 * backup's bytes already (from cairn_delta_known), so only they are
	 * compared; NULL compares everything. */
	const struct cairn_change_map *differs;
	cairn_progress_fn progress;
	void *progress_ud;
	/* --from-overlay: the blocks a mount's overlay holds (source/overlay.h),
	 * written over the restored volume before it is put in place; the
	 * caller checked that it belongs to this backup.  NULL: none. */
	struct cairn_overlay *overlay;
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
	uint64_t overlay_bytes; /* --from-overlay: written from the overlay */
};

int cairn_restore_run(struct cairn_repo *repo, const struct cairn_manifest *m, const struct cairn_restore_opts *o,
		      struct cairn_restore_stats *ret);

/* check: every problem is reported through fn (one line of text each). */
struct cairn_check_opts {
	bool read_data;
	void (*problem)(const char *object, const char *what, void *ud);
	void (*affected)(const struct cairn_manifest *m, uint64_t missing, uint64_t damaged, void *ud);
	/* The backups found, once listed (may be NULL). */
	void (*listed)(const struct cairn_manifest_list *l, void *ud);
	void *ud;
	/* --read-data: bytes of packs read so far of all packs' bytes. */
	cairn_progress_fn progress;
	void *progress_ud;
	/* The state directory (may be NULL): index lookups go through its
	 * local index cache and the by-pack grouping sorts in runs there, so
	 * the check's memory does not follow the repository's size.  Tests
	 * set sort_run_entries (0: packsort.h's default). */
	const char *state_dir;
	size_t sort_run_entries;
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
/* The same, looking blobs up through the local index cache of state_dir
 * (repo/idxcache.h: memory does not follow the repository's size); NULL
 * loads the whole index as cairn_diff_run does. */
int cairn_diff_run_cached(struct cairn_repo *repo, const char *state_dir, const struct cairn_manifest *a,
			  const struct cairn_manifest *b, cairn_range_fn fn, void *ud, uint64_t *ret_changed_bytes);

/* repair index: rebuilds the index from pack TOCs and replaces the index
 * objects.  Damaged packs are reported through problem; what the old index
 * said about their blobs is kept (carried_blobs). */
struct cairn_repair_stats {
	uint64_t packs, blobs, damaged_packs, carried_blobs, old_index_objects;
};
int cairn_repair_index(struct cairn_repo *repo, void (*problem)(const char *object, const char *what, void *ud),
		       void *ud, struct cairn_repair_stats *ret);

#endif
