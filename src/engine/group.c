/* Group backups: the pre-hook, one frozen instant for every volume's
 * snapshot, the post-hook, then a backup of each snapshot (with extent-map
 * change tracking against its base), and last the group object that names
 * them and holds the config document (repo/group.h). */
#include "engine/engine.h"
#include "crypto/crypto.h"
#include "repo/group.h"
#include "repo/names.h"
#include "source/freeze.h"
#include "source/volume.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/log.h"
#include "util/path.h"
#include "util/proc.h"
#include "util/time.h"
#include "util/tmpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HOOK_TIMEOUT_S 600

static int run_hook(const struct cairn_group_spec *g, const char *phase, const char *cmd)
{
	char label[96], ename[160], ephase[64];
	snprintf(label, sizeof(label), "%s-hook of group %s", phase, g->name);
	snprintf(ename, sizeof(ename), "CAIRN_GROUP=%s", g->name);
	snprintf(ephase, sizeof(ephase), "CAIRN_HOOK=%s", phase);
	const char *env[] = { ename, ephase, NULL };
	return cairn_run_hook(label, cmd, env, HOOK_TIMEOUT_S);
}

static int read_config(const char *path, uint8_t **ret, size_t *ret_len)
{
	/* Not through another user's link (util/path.h): the document is
	 * stored in the repository and restored with the volumes. */
	_cleanup_(cairn_path_clear) struct cairn_path p = CAIRN_PATH_INIT;
	int r = cairn_path_open(path, "the group's config", O_RDONLY | O_NONBLOCK, false, &p);
	if (r < 0)
		return r;
	int fd = p.fd;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return cairn_error_set(CAIRN_EINVAL, "the group's config %s is not a regular file", path);
	if ((uint64_t)st.st_size > CAIRN_GROUP_CONFIG_MAX)
		return cairn_error_set(CAIRN_EINVAL, "the group's config %s is larger than 16 MiB", path);
	uint8_t *b = malloc((size_t)st.st_size + 1);
	if (!b)
		return cairn_error_nomem();
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(b);
			return cairn_error_errno(n < 0 ? errno : EIO, "read %s", path);
		}
		got += (size_t)n;
	}
	*ret = b;
	*ret_len = got;
	return 0;
}

/* The config's base name becomes a file name at group restore: it must
 * pass the rule every reader checks (repo/names.h). */
static int check_config_name(const char *path)
{
	const char *name = cairn_path_base(path), *why = cairn_name_problem(name, true);
	if (!why)
		return 0;
	return cairn_error_set(CAIRN_EINVAL, "the group's config %s cannot be stored under its name: it %s; rename it",
			       path, why);
}

/* What backs up one member: the parts of cairn_group_backup_run's state
 * it needs. */
struct member_ctx {
	struct cairn_repo *repo;
	const struct cairn_group_backup_opts *o;
	const struct cairn_manifest_list *list;
	char **names;
	struct cairn_group_backup *gb;
	struct cairn_snap_taken *snaps;
	struct cairn_manifest **members;
	struct cairn_freeze *fz; /* while frozen */
};

/* Backs up member i: from its snapshot (kept as the base or released
 * either way), or, when it has none, live while frozen. */
static int backup_member(struct member_ctx *c, size_t i, bool live)
{
	const struct cairn_group_spec *g = c->o->group;
	const struct cairn_group_backup_opts *o = c->o;
	if (cairn_cancel_check())
		return cairn_error_set(CAIRN_ECANCELED, "interrupted");
	struct cairn_snap_backup_opts so = {
		.backup = { .source = g->volumes[i], .volume = c->names[i], .list = c->list, .full = o->full,
			    .no_catalog = o->no_catalog,
			    .tags = o->tags, .ntags = o->ntags, .state_dir = o->state_dir, .group_id = c->gb->id,
			    .policy = o->policy, .policy_id = o->policy_id, .frozen = live ? c->fz : NULL,
			    .progress = o->progress,
			    .progress_ud = o->progress_ud },
		.snapshot = live ? CAIRN_SNAP_NONE : c->snaps[i].method, .registry = o->registry,
		.state_dir = o->state_dir, .taken = &c->snaps[i], /* live: the volume's descriptor */
		.why_live = live ? "read while frozen" : NULL,
	};
	struct cairn_snap_backup_info info;
	int r = cairn_snap_backup(c->repo, &so, &c->members[i], &info);
	if (r < 0)
		return cairn_error_prefix(r, "volume %s", g->volumes[i]);
	return 0;
}

/* Pre-hook, freeze, a snapshot of every volume (or, with
 * freeze_during_read, a live read of each that has no instant snapshot),
 * thaw, post-hook.  live[i] says which members were read here. */
static int take_all(struct member_ctx *c, bool *live, struct cairn_group_backup_cost *cost)
{
	const struct cairn_group_spec *g = c->o->group;
	const struct cairn_snap_registry *reg = c->o->registry;
	bool during = c->o->freeze_during_read;
	int r;
	if (g->pre_hook && (r = run_hook(g, "pre", g->pre_hook)) < 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", cairn_error_message());
		return cairn_error_set(r, "%s; nothing was frozen", msg);
	}
	struct cairn_freeze *fz = NULL;
	if (g->nfreeze)
		r = cairn_freeze_begin(g->freeze, g->nfreeze, g->max_freeze_ms, &fz);
	else
		r = 0;
	for (size_t i = 0; r >= 0 && i < g->nvolumes; i++) {
		r = cairn_snap_take_new(reg, g->volumes[i], during ? CAIRN_SNAP_INSTANT : CAIRN_SNAP_AUTO,
					c->o->state_dir, &c->snaps[i]);
		if (r == CAIRN_EUNSUPPORTED && during) {
			cairn_log_info("%s: read while frozen", cairn_error_message());
			cairn_error_clear();
			live[i] = true;
			r = 0;
		}
		if (r >= 0 && i == 0)
			cairn_test_hold("CAIRN_TEST_FREEZE_HOLD_MS");
	}
	/* Still frozen: the members with no snapshot are read now. */
	c->fz = fz;
	for (size_t i = 0; r >= 0 && i < g->nvolumes; i++)
		if (live[i])
			r = backup_member(c, i, true);
	c->fz = NULL;
	for (size_t i = 0; i < g->nvolumes; i++) {
		if (live[i])
			cost->nread_frozen++;
		else if (c->snaps[i].method == CAIRN_SNAP_COPY) {
			cost->ncopied++;
			cost->bytes_copied += c->snaps[i].bytes_copied;
		} else if (c->snaps[i].path)
			cost->ninstant++;
	}
	double frozen = 0;
	if (fz) {
		int e = cairn_freeze_end(fz, &frozen);
		if (r >= 0)
			r = e;
	}
	c->gb->frozen_seconds = frozen;
	if (g->post_hook) {
		int p = run_hook(g, "post", g->post_hook);
		if (p < 0) {
			if (r >= 0)
				r = p;
			else
				cairn_log_warn("%s", cairn_error_message());
		}
	}
	return r;
}

int cairn_group_backup_run(struct cairn_repo *repo, const struct cairn_group_backup_opts *o,
			   struct cairn_group_backup **ret, struct cairn_manifest ***ret_members,
			   struct cairn_group_backup_cost *ret_cost)
{
	const struct cairn_group_spec *g = o->group;
	struct cairn_group_backup_cost cost = { 0 };
	if (g->nvolumes == 0)
		return cairn_error_set(CAIRN_EINVAL, "group %s has no volumes", g->name);
	/* Frozen is what makes a live read one instant. */
	if (o->freeze_during_read && g->nfreeze == 0)
		return cairn_error_set(CAIRN_EINVAL,
				       "group %s freezes no file system: --freeze-during-read needs a group made with "
				       "--freeze MOUNTPOINT",
				       g->name);
	_cleanup_(cairn_group_backup_freep) struct cairn_group_backup *gb = calloc(1, sizeof(*gb));
	struct cairn_snap_taken *snaps = calloc(g->nvolumes, sizeof(*snaps));
	struct cairn_manifest **members = calloc(g->nvolumes, sizeof(*members));
	bool *live = calloc(g->nvolumes, sizeof(*live));
	struct cairn_manifest_list own = { 0 };
	char **names = NULL;
	int r = 0;
	if (!gb || !snaps || !members || !live) {
		r = cairn_error_nomem();
		goto out;
	}
	for (size_t i = 0; i < g->nvolumes; i++)
		snaps[i] = (struct cairn_snap_taken)CAIRN_SNAP_TAKEN_INIT;
	if (g->config && (r = check_config_name(g->config)) < 0)
		goto out;
	if (g->config && (r = read_config(g->config, &gb->config, &gb->config_len)) < 0)
		goto out;
	if ((r = cairn_random(gb->id, sizeof(gb->id))) < 0)
		goto out;
	cairn_hex_encode(gb->id, sizeof(gb->id), gb->idhex);
	gb->created_us = cairn_wall_now_us();

	/* Every member's name under the series rule before anything is frozen. */
	if (!o->list && (r = cairn_manifest_list_load(repo, &own)) < 0)
		goto out;
	const struct cairn_manifest_list *list = o->list ? o->list : &own;
	if (!(names = calloc(g->nvolumes, sizeof(*names)))) {
		r = cairn_error_nomem();
		goto out;
	}
	for (size_t i = 0; i < g->nvolumes && r >= 0; i++) {
		_cleanup_free_ char *stable = NULL;
		if ((r = cairn_volume_stable_path(g->volumes[i], &stable)) < 0)
			break;
		const char *given = g->names ? g->names[i] : NULL;
		if (!(names[i] = strdup(given ? given : cairn_path_base(stable)))) {
			r = cairn_error_nomem();
			break;
		}
		if ((r = cairn_series_check(list, names[i], stable, given != NULL,
					    o->name_option ? o->name_option : "'cairn group create --volume-name'")) < 0)
			r = cairn_error_prefix(r, "group %s: volume %s", g->name, g->volumes[i]);
	}
	if (r < 0)
		goto out;

	struct member_ctx mc = { .repo = repo, .o = o, .list = list, .names = names, .gb = gb, .snaps = snaps,
				 .members = members };
	r = take_all(&mc, live, &cost);
	cost.frozen_seconds = gb->frozen_seconds;
	if (r < 0)
		goto out;
	if (g->nfreeze)
		cairn_log_info("group %s: file systems frozen for %.3f s", g->name, gb->frozen_seconds);

	gb->members = calloc(g->nvolumes, sizeof(*gb->members));
	if (!gb->members) {
		r = cairn_error_nomem();
		goto out;
	}
	for (size_t i = 0; i < g->nvolumes && r >= 0; i++) {
		if (!live[i] && (r = backup_member(&mc, i, false)) < 0)
			break;
		struct cairn_group_member *m = &gb->members[gb->nmembers];
		if (!(m->volume = strdup(members[i]->volume))) {
			r = cairn_error_nomem();
			break;
		}
		memcpy(m->backup, members[i]->id, sizeof(m->backup));
		memcpy(m->backup_hex, members[i]->idhex, sizeof(m->backup_hex));
		gb->nmembers++;
	}
	if (r < 0)
		goto out;

	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	if (!(gb->name = strdup(g->name)) || !(gb->hostname = strdup(host))) {
		r = cairn_error_nomem();
		goto out;
	}
	if (g->config) {
		if (!(gb->config_name = strdup(cairn_path_base(g->config)))) {
			r = cairn_error_nomem();
			goto out;
		}
	}
	if (g->nfreeze) {
		if (!(gb->freeze = calloc(g->nfreeze, sizeof(char *)))) {
			r = cairn_error_nomem();
			goto out;
		}
		for (size_t i = 0; i < g->nfreeze; i++, gb->nfreeze++)
			if (!(gb->freeze[i] = strdup(g->freeze[i]))) {
				r = cairn_error_nomem();
				goto out;
			}
	}
	if ((r = cairn_group_backup_write(repo, gb, NULL)) < 0)
		goto out;
	*ret = TAKE_PTR(gb);
	*ret_members = members;
	members = NULL;
	if (ret_cost)
		*ret_cost = cost;
out:
	for (size_t i = 0; snaps && i < g->nvolumes; i++)
		cairn_snap_release(&snaps[i], r);
	free(snaps);
	free(live);
	for (size_t i = 0; members && i < g->nvolumes; i++)
		cairn_manifest_free(members[i]);
	free(members);
	for (size_t i = 0; names && i < g->nvolumes; i++)
		free(names[i]);
	free(names);
	cairn_manifest_list_free(&own);
	return r;
}

/* Group restore writes the config document as NAME TMP_TAG PID -XXXXXX
 * beside its place (util/tmpfile.h), then renames it. */
#define TMP_TAG ".cairn-tmp-"

static int write_config(const struct cairn_path *d, const struct cairn_group_backup *gb, bool force)
{
	const char *name = gb->config_name;
	struct stat st;
	/* Not following a link: one planted at the name is replaced, its
	 * target never written. */
	if (!force && fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return cairn_error_set(CAIRN_EEXIST, "%s/%s exists; use --force to overwrite it", d->abs, name);
	cairn_tmp_sweep(d->fd, d->abs, name, TMP_TAG, "a group restore");
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *tmp = NULL;
	int r = cairn_tmp_create(d->fd, d->abs, name, TMP_TAG, &fd, &tmp);
	if (r < 0)
		return r;
	if ((r = cairn_write_all(fd, gb->config, gb->config_len, tmp)) >= 0 && fsync(fd) < 0)
		r = cairn_error_errno(errno, "fsync %s/%s", d->abs, tmp);
	if (r >= 0)
		r = cairn_tmp_commit(d->fd, d->abs, tmp, name, fd);
	if (r < 0)
		unlinkat(d->fd, tmp, 0);
	return r;
}

int cairn_group_restore_run(struct cairn_repo *repo, const struct cairn_group_backup *gb, const char *dir,
			    bool force, cairn_progress_fn progress, void *ud, struct cairn_manifest_list *l)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return cairn_error_errno(errno, "cannot create %s", dir);
	/* Every file goes through this descriptor: the names come from the
	 * group object (checked when it was read, repo/names.h). */
	_cleanup_(cairn_path_clear) struct cairn_path d = CAIRN_PATH_INIT;
	int r = cairn_path_open(dir, "directory", O_PATH | O_DIRECTORY, false, &d);
	if (r < 0)
		return r;
	/* Every member first, so a missing one fails before anything is written. */
	struct cairn_manifest **ms = calloc(gb->nmembers, sizeof(*ms));
	if (!ms)
		return cairn_error_nomem();
	for (size_t i = 0; i < gb->nmembers && r >= 0; i++) {
		r = cairn_manifest_resolve(l, gb->members[i].backup_hex, &ms[i]);
		if (r < 0)
			r = cairn_error_prefix(r, "group backup %.12s: volume %s", gb->idhex, gb->members[i].volume);
	}
	for (size_t i = 0; i < gb->nmembers && r >= 0; i++) {
		_cleanup_free_ char *target = NULL;
		if (asprintf(&target, "%s/%s", dir, gb->members[i].volume) < 0) {
			r = cairn_error_nomem();
			break;
		}
		struct cairn_restore_opts ro = { .target = target, .target_in = &d, .force = force,
						 .progress = progress, .progress_ud = ud };
		r = cairn_restore_run(repo, ms[i], &ro, NULL);
	}
	if (r >= 0 && gb->config_name)
		r = write_config(&d, gb, force);
	free(ms);
	return r;
}
