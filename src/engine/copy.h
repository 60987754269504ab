/* Copies of backups between repositories (docs/design.md, "Copies and key
 * families").  Only what the destination lacks is sent; per backup the
 * blobs go first (packs), then the index object(s), then the manifest, and
 * for a group backup its members then the group object: an interrupted
 * copy is invisible, and the next one resumes (it adopts the packs the
 * interrupted one left, as backups do).
 *
 * Same key family (same id and key fingerprint): trees are walked top-down
 * and a node the destination has (in a pack an index object names) stands
 * for its whole subtree; sealed blobs move without being decrypted for
 * good (each is opened once with the shared key to verify its id), packs
 * re-assembled from them, or whole when every blob of a source pack is
 * wanted (on the server side where the stores can).  Unrelated
 * repositories: every chunk is opened, verified, given the destination's
 * id, compressed and sealed anew, and the trees rebuilt; when the parent
 * backup was copied before, only the chunks that differ from it (tree
 * diff at the source) are read.  A backup's file catalog goes with it:
 * within a family its nodes move sealed like tree nodes (a node the
 * destination has stands for its subtree); between unrelated repositories
 * each is opened, verified, its children's ids rewritten bottom-up and
 * re-sealed under the destination's keys.
 */
#ifndef CAIRN_ENGINE_COPY_H
#define CAIRN_ENGINE_COPY_H

#include "engine/engine.h"
#include "repo/manifest.h"
#include "repo/repo.h"

#include <stdbool.h>
#include <stdint.h>

struct cairn_copy_opts {
	/* What to copy: backups or group backups by spec ("latest",
	 * "VOLUME@latest", an id or a unique prefix), every backup of a
	 * volume, every group backup of a group, or all.  A backup that
	 * belongs to a group backup brings the whole group backup. */
	const char *const *specs;
	size_t nspecs;
	const char *volume;
	const char *group;
	bool all;
	bool no_holds; /* copy no holds (else each copied backup keeps its hold) */
	bool dry_run;  /* compute what would be sent; write nothing */
	const char *state_dir; /* index caches of both repositories; NULL: none */
	cairn_progress_fn progress;
	void *progress_ud;
	/* Each backup as it is copied (skipped: the destination had it). */
	void (*backup_done)(const struct cairn_manifest *m, bool skipped, void *ud);
	void *ud;
};

struct cairn_copy_stats {
	bool same_family;
	uint64_t backups_copied, backups_skipped;
	uint64_t groups_copied, groups_skipped;
	uint64_t holds_copied;
	uint64_t blobs_sent;   /* sealed blobs written to the destination */
	uint64_t bytes_sent;   /* their sealed bytes (packs, index objects, manifests) */
	uint64_t bytes_skipped; /* logical bytes of the copied backups not sent */
	uint64_t packs_whole;  /* source packs copied whole */
	uint64_t packs_server_side; /* of those, copied by the store without passing here */
	/* File catalog nodes (format.h CATALOG) among blobs_sent, and their
	 * sealed bytes: an incremental copy sends the changed directories'. */
	uint64_t catalog_nodes_sent, catalog_bytes_sent;
	double seconds;
};

/* Copies from src to dst as o says.  CAIRN_ENOTFOUND for a spec naming
 * nothing, CAIRN_EINVAL when the repositories cannot exchange backups
 * (chunk sizes differ, or they are one repository). */
int cairn_copy_run(struct cairn_repo *src, struct cairn_repo *dst, const struct cairn_copy_opts *o,
		   struct cairn_copy_stats *ret);

#endif
