/* Backups that read a snapshot (docs/design.md §6): snapshot the volume, compare
 * the new snapshot's extent map with the base snapshot the parent backup
 * read, back up only what changed, and keep the new snapshot as the next
 * base.  See engine.h (cairn_snap_backup) for the rules. */
#include "engine/engine.h"
#include "source/fiemap.h"
#include "source/lvm.h"
#include "source/volume.h"
#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/log.h"
#include "util/path.h"
#include "util/time.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct tracker {
	const char *repo_hex;
	const char *volume_name;
	const struct cairn_snap_taken *snap; /* the new snapshot */
	struct cairn_snap_base base;
	bool have_base;
	struct cairn_change_map map;
	const char *why_not; /* static: why extent maps were not used */
};

/* Called by the backup once the parent is known. */
static int changes_for(const struct cairn_manifest *parent, void *ud, const struct cairn_change_map **ret)
{
	struct tracker *t = ud;
	if (!t->have_base) {
		t->why_not = "no base snapshot";
		return 1;
	}
	if (strcmp(t->base.backup_id, parent->idhex) != 0) {
		t->why_not = "the base snapshot belongs to another backup than the parent";
		return 1;
	}
	if (t->base.method != CAIRN_SNAP_REFLINK && t->base.method != CAIRN_SNAP_LVM) {
		t->why_not = "the base snapshot is a copy";
		return 1;
	}
	_cleanup_close_ int bfd = -1;
	if (cairn_snap_open(t->base.path, t->base.method, &t->base.ident, &bfd) < 0) {
		cairn_log_info("%s", cairn_error_message());
		t->why_not = "the base snapshot changed or is gone";
		return 1;
	}
	if (t->base.method == CAIRN_SNAP_LVM) {
		struct cairn_lvm_lv a, b;
		if (cairn_lvm_lookup(t->base.path, &a) != 1 || cairn_lvm_lookup(t->snap->path, &b) != 1 || !a.thin ||
		    !b.thin || a.size != parent->size) {
			t->why_not = "the LVM snapshots are not thin snapshots of one pool";
			return 1;
		}
		if (cairn_lvm_thin_changes(&a, &b, parent->size, &t->map) < 0) {
			cairn_log_info("thin_delta not usable: %s", cairn_error_message());
			t->why_not = "thin_delta failed";
			cairn_change_map_free(&t->map);
			return 1;
		}
		*ret = &t->map;
		return 0;
	}
	int nfd = t->snap->fd;
	off_t size = lseek(nfd, 0, SEEK_END);
	if (size < 0 || (uint64_t)size != parent->size) {
		t->why_not = "the volume changed size";
		return 1;
	}
	double t0 = cairn_now();
	if (cairn_fiemap_changes(bfd, t->base.path, nfd, t->snap->path, (uint64_t)size, &t->map) < 0) {
		cairn_log_info("extent maps not usable: %s", cairn_error_message());
		t->why_not = "the extent maps cannot be compared";
		cairn_change_map_free(&t->map);
		return 1;
	}
	cairn_log_debug("extent maps compared in %.3f s: %zu changed ranges, %llu bytes", cairn_now() - t0, t->map.n,
			(unsigned long long)t->map.bytes);
	*ret = &t->map;
	return 0;
}

/* A fresh random snapshot id (16 hex digits). */
static int new_id(char ret[17])
{
	uint8_t b[8];
	int r = cairn_random(b, sizeof(b));
	if (r < 0)
		return r;
	cairn_hex_encode(b, sizeof(b), ret);
	return 0;
}

int cairn_snap_take_new(const struct cairn_snap_registry *reg, const char *volume, enum cairn_snap_method method,
			const char *state_dir, struct cairn_snap_taken *ret)
{
	char id[17];
	*ret = (struct cairn_snap_taken)CAIRN_SNAP_TAKEN_INIT;
	int r = new_id(id);
	if (r < 0)
		return r;
	cairn_log_debug("snapshot (%s) of %s", cairn_snap_method_name(method), volume);
	if ((r = cairn_snap_take(volume, state_dir, id, method, reg->known, reg->ud, ret)) < 0)
		return cairn_error_prefix(r, "snapshot of %s", volume);
	/* So that `snapshot list` looks there for what a killed run leaves. */
	if (ret->dir && reg->dir_note(reg->ud, ret->dir) < 0)
		cairn_log_warn("%s", cairn_error_message());
	return 0;
}

/* Reads the live volume (bo), frozen by fz when not NULL, then thaws.  A
 * read the watchdog cut short is kept (its manifest, written already,
 * does not say frozen: cairn_backup_opts), with a warning. */
static int live_read(struct cairn_repo *repo, struct cairn_backup_opts *bo, struct cairn_freeze *fz,
		     struct cairn_snap_backup_info *info, struct cairn_manifest **ret)
{
	if (fz) /* else as given (a group's members read while it is frozen) */
		bo->frozen = fz;
	int r = cairn_backup_run(repo, bo, ret);
	if (!fz)
		return r;
	char msg[1024] = "";
	if (r < 0)
		cairn_error_copy(msg, sizeof(msg));
	if (cairn_freeze_end(fz, &info->frozen_seconds) < 0 && r >= 0)
		cairn_log_info("%s; the backup is kept, not marked frozen", cairn_error_message());
	return r < 0 ? cairn_error_set(r, "%s", msg) : r;
}

/* A snapshot the caller took is this function's to keep or release, on
 * every path. */
static int drop_taken(const struct cairn_snap_backup_opts *so, int r)
{
	return so->taken ? cairn_snap_release(so->taken, r) : r;
}

int cairn_snap_backup(struct cairn_repo *repo, const struct cairn_snap_backup_opts *so, struct cairn_manifest **ret,
		      struct cairn_snap_backup_info *info)
{
	const struct cairn_backup_opts *o = &so->backup;
	memset(info, 0, sizeof(*info));
	/* Another user's symbolic link is refused here (util/path.h); the
	 * snapshot machinery goes by the real path, the series by the stable
	 * one (volume.h). */
	_cleanup_free_ char *volume = NULL, *stable = NULL;
	int r = cairn_path_resolve(o->source, "source", &volume);
	if (r >= 0)
		r = cairn_volume_stable_path(volume, &stable);
	if (r < 0)
		return drop_taken(so, r);
	const char *volume_name = o->volume ? o->volume : cairn_path_base(stable);
	if ((r = cairn_backup_check_names(volume_name, o->tags, o->ntags)) < 0)
		return drop_taken(so, r);
	/* The series rule, before a snapshot is taken: a refused backup has
	 * read nothing. */
	_cleanup_(cairn_manifest_list_free) struct cairn_manifest_list own_list = { 0 };
	const struct cairn_manifest_list *list = o->list;
	if (!list) {
		if ((r = cairn_manifest_list_load(repo, &own_list)) < 0)
			return drop_taken(so, r);
		list = &own_list;
	}
	if ((r = cairn_series_check(list, volume_name, stable, o->volume != NULL, o->name_option)) < 0)
		return drop_taken(so, r);
	struct cairn_backup_opts bo = *o;
	bo.list = list;
	bo.volume = volume_name;
	bo.source_name = stable;
	/* Frozen from before the snapshot (or the live read) to after it. */
	struct cairn_freeze *fz = NULL;
	if (so->nfreeze && !so->taken &&
	    (r = cairn_freeze_begin(so->freeze, so->nfreeze,
				    so->max_freeze_ms ? so->max_freeze_ms : CAIRN_BACKUP_MAX_FREEZE_MS_DEFAULT, &fz)) < 0)
		return drop_taken(so, r);
	if (so->snapshot == CAIRN_SNAP_NONE) {
		info->method = CAIRN_SNAP_NONE;
		info->why_live = so->why_live ? so->why_live : "--snapshot none";
		/* The volume's descriptor from a failed INSTANT (a group's). */
		if (so->taken && so->taken->method == CAIRN_SNAP_NONE && so->taken->fd >= 0) {
			bo.source_fd_set = true;
			bo.source_fd = so->taken->fd;
		}
		return drop_taken(so, live_read(repo, &bo, fz, info, ret));
	}
	const struct cairn_snap_registry *reg = so->registry;
	if (!reg) {
		cairn_freeze_end(fz, NULL);
		return drop_taken(so, cairn_error_set(CAIRN_EINVAL, "a snapshot backup needs the state database"));
	}

	struct cairn_snap_base rec = { 0 };
	struct cairn_snap_taken own = CAIRN_SNAP_TAKEN_INIT;
	/* Taken by the caller (a group, at its frozen instant), or now.  AUTO
	 * takes only a snapshot that costs nothing; where there is none the
	 * live volume is read (and checked for change during the read): a
	 * copy would cost a full read and write of the volume, its size in
	 * free space, and would be no more one instant than the live read. */
	struct cairn_snap_taken *taken = so->taken ? so->taken : &own;
	enum cairn_snap_method want = so->snapshot == CAIRN_SNAP_AUTO ? CAIRN_SNAP_INSTANT : so->snapshot;
	if (!so->taken && (r = cairn_snap_take_new(reg, volume, want, so->state_dir, &own)) < 0) {
		if (want != CAIRN_SNAP_INSTANT || r != CAIRN_EUNSUPPORTED) {
			char msg[1024];
			cairn_error_copy(msg, sizeof(msg));
			cairn_freeze_end(fz, NULL);
			return cairn_error_set(r, "%s", msg);
		}
		cairn_log_info("reading the live volume: %s", cairn_error_message());
		info->method = CAIRN_SNAP_NONE;
		info->why_live = "no instant snapshot here";
		if (own.fd >= 0) { /* as the attempt found it (snapshot.h) */
			bo.source_fd_set = true;
			bo.source_fd = own.fd;
		}
		return cairn_snap_release(&own, live_read(repo, &bo, fz, info, ret));
	}
	if (fz) { /* the snapshot is the instant: thaw at once */
		r = cairn_freeze_end(fz, &info->frozen_seconds);
		if (r < 0)
			return cairn_snap_release(taken, r);
	}
	bo.from_snapshot = true;
	memcpy(rec.id, taken->id, sizeof(rec.id));
	info->method = taken->method;
	info->snapshot_seconds = taken->seconds;
	cairn_log_debug("snapshot (%s) in %.3f s", cairn_snap_method_name(taken->method), taken->seconds);
	info->bytes_copied = taken->bytes_copied;

	char repo_hex[33];
	cairn_hex_encode(repo->config.instance, sizeof(repo->config.instance), repo_hex);
	struct tracker t = { .repo_hex = repo_hex, .volume_name = volume_name, .snap = taken,
			     .map = CAIRN_CHANGE_MAP_INIT };
	r = reg->base_get(reg->ud, repo_hex, volume_name, &t.base);
	if (r == 0)
		t.have_base = true;
	else if (r != CAIRN_ENOTFOUND)
		cairn_log_warn("base snapshot unknown: %s", cairn_error_message());

	bo.source = taken->path;
	/* The descriptor it took, never the path again (an LVM snapshot is a
	 * device node of root's, read by path). */
	bo.source_fd_set = taken->fd >= 0;
	bo.source_fd = taken->fd;
	bo.changes = NULL;
	bo.changes_for = changes_for;
	bo.changes_ud = &t;
	struct cairn_manifest *m = NULL;
	r = cairn_backup_run(repo, &bo, &m);
	if (r >= 0 && t.why_not && !o->full && taken->method != CAIRN_SNAP_COPY &&
	    strcmp(m->change_tracking, "full-read") == 0)
		info->why_full_read = t.why_not;
	cairn_change_map_free(&t.map);
	if (r < 0) {
		cairn_snap_release(taken, r);
		if (t.have_base)
			free(t.base.path);
		return r;
	}

	/* Keep the new snapshot as the base for the next incremental (reflinks
	 * only: a copy shares nothing, so it would only cost space), then drop
	 * every older base of this volume in this repository. */
	bool keep = taken->method == CAIRN_SNAP_REFLINK;
	if (taken->method == CAIRN_SNAP_LVM) {
		/* A thin snapshot costs nothing to keep and thin_delta compares it;
		 * a classic one slows every write of the origin and fills up. */
		struct cairn_lvm_lv lv;
		keep = cairn_lvm_lookup(taken->path, &lv) == 1 && lv.thin;
	}
	/* Named and recorded while its lock is held: never a leftover. */
	if (keep && cairn_snap_keep(taken) < 0) {
		cairn_log_warn("base snapshot not kept (the next backup reads everything): %s", cairn_error_message());
		keep = false;
	}
	if (keep) {
		rec.volume = volume;
		rec.path = taken->path;
		rec.method = taken->method;
		rec.created_us = cairn_wall_now_us();
		rec.ident = taken->ident;
		snprintf(rec.repo_id, sizeof(rec.repo_id), "%s", repo_hex);
		snprintf(rec.backup_id, sizeof(rec.backup_id), "%s", m->idhex);
		rec.volume_name = volume_name;
		if (reg->base_add(reg->ud, &rec) < 0) {
			cairn_log_warn("base snapshot not recorded (the next backup reads everything): %s",
				       cairn_error_message());
			cairn_snap_remove(taken->path, taken->method);
			keep = false;
		}
	}
	cairn_snap_release(taken, 0);
	double t_clean = cairn_now();
	reg->base_drop_others(reg->ud, repo_hex, volume, volume_name, keep ? rec.id : NULL);
	if (t.have_base)
		free(t.base.path);
	cairn_log_debug("old base snapshots removed in %.3f s", cairn_now() - t_clean);
	info->kept_base = keep;
	*ret = m;
	return 0;
}

int cairn_delta_known(const struct cairn_snap_registry *reg, const struct cairn_repo *repo,
		      const struct cairn_manifest *m, const char *target, struct cairn_change_map *ret)
{
	char repo_hex[33];
	cairn_hex_encode(repo->config.instance, sizeof(repo->config.instance), repo_hex);
	struct cairn_snap_base base;
	int r = reg->base_get(reg->ud, repo_hex, m->volume, &base);
	if (r < 0)
		return r;
	_cleanup_close_ int bfd = -1;
	_cleanup_(cairn_path_clear) struct cairn_path tp = CAIRN_PATH_INIT;
	if (strcmp(base.backup_id, m->idhex) != 0 || base.method != CAIRN_SNAP_REFLINK || base.ident.size != m->size ||
	    cairn_snap_open(base.path, base.method, &base.ident, &bfd) < 0 ||
	    cairn_path_open(target, "target", O_RDONLY | O_NONBLOCK, false, &tp) < 0) {
		free(base.path);
		return CAIRN_ENOTFOUND;
	}
	*ret = (struct cairn_change_map)CAIRN_CHANGE_MAP_INIT;
	r = cairn_fiemap_changes(bfd, base.path, tp.fd, target, m->size, ret);
	free(base.path);
	if (r < 0)
		cairn_change_map_free(ret);
	return r;
}
