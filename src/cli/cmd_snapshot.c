/* cairn snapshot create|list|delete|revert: local restore points. */
#include "app/snapreg.h"
#include "cli/cli.h"
#include "state/snapshots.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/path.h"
#include "util/time.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *snap_json(const struct cairn_snap_record *r)
{
	char created[48];
	cairn_time_format(r->created_us / 1000000, created, sizeof(created));
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "id", r->id, "volume", r->volume, "path", r->path,
			      "method", cairn_snap_method_name(r->method), "kind",
			      r->kind == CAIRN_SNAP_BASE ? "base" : "user", "created", created, "size",
			      (json_int_t)r->ident.size);
	json_object_set_new(j, "name", r->name ? json_string(r->name) : json_null());
	json_object_set_new(j, "intact", json_boolean(cairn_snap_identity_matches(r->path, r->method, &r->ident)));
	if (r->kind == CAIRN_SNAP_BASE) {
		json_object_set_new(j, "backup", json_string(r->backup_id));
		json_object_set_new(j, "repository", json_string(r->repo_id));
	}
	return j;
}

/* Deletes the oldest user snapshots of volume beyond keep. */
static int apply_keep(struct cairn_state *st, const char *volume, unsigned keep, bool json)
{
	struct cairn_snap_record *v = NULL;
	size_t n = 0, users = 0;
	int r = cairn_snap_list(st, volume, &v, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		users += v[i].kind == CAIRN_SNAP_USER;
	for (size_t i = 0; i < n && users > keep && r >= 0; i++) {
		if (v[i].kind != CAIRN_SNAP_USER)
			continue;
		if ((r = cairn_snap_remove(v[i].path, v[i].method)) >= 0 && (r = cairn_snap_forget(st, v[i].id)) >= 0) {
			users--;
			if (!json)
				fprintf(stderr, "deleted snapshot %s (--keep %u)\n", v[i].id, keep);
		}
	}
	cairn_snap_records_free(v, n);
	return r;
}

static int snap_create(struct cli_global *g, struct cairn_state *st, const char *volume_arg, const char *name,
		       const char *method_s, const char *keep_s)
{
	enum cairn_snap_method method;
	if (cairn_snap_method_parse(method_s, &method) < 0 || method == CAIRN_SNAP_NONE)
		return cli_usage("snapshot", "--method takes auto, reflink, copy or lvm");
	unsigned long keep = 0;
	if (keep_s) {
		char *end;
		errno = 0;
		keep = strtoul(keep_s, &end, 10);
		if (errno || *end || !*keep_s || keep == 0 || keep > 100000)
			return cli_usage("snapshot", "--keep takes a number of snapshots from 1");
	}
	if (name && (!*name || strlen(name) > 128 || strchr(name, '/') || strchr(name, '@')))
		return cli_usage("snapshot", "--name must be 1 to 128 characters without '/' or '@'");
	_cleanup_free_ char *volume = NULL;
	int r = cairn_path_resolve(volume_arg, "volume", &volume);
	if (r < 0)
		return cli_fail(r);
	struct cairn_snap_record rec = { .kind = CAIRN_SNAP_USER, .volume = volume, .name = (char *)name };
	_cleanup_(cairn_snap_taken_releasep) struct cairn_snap_taken taken = CAIRN_SNAP_TAKEN_INIT;
	struct cairn_snap_registry reg;
	cairn_app_snap_registry(st, &reg);
	if ((r = cairn_snap_take_new(&reg, volume, method, cli_state_dir(g), &taken)) < 0)
		return cli_fail(r);
	/* Named and recorded while cairn holds it: never a leftover. */
	if ((r = cairn_snap_keep(&taken)) < 0)
		return cli_fail(r);
	memcpy(rec.id, taken.id, sizeof(rec.id));
	rec.path = taken.path;
	rec.method = taken.method;
	rec.created_us = cairn_wall_now_us();
	rec.ident = taken.ident;
	if ((r = cairn_snap_add(st, &rec)) < 0) {
		cairn_snap_remove(taken.path, taken.method);
		return cli_fail(r);
	}
	if (keep && (r = apply_keep(st, volume, (unsigned)keep, g->json)) < 0)
		return cli_fail(r);
	if (taken.method == CAIRN_SNAP_COPY && !g->json && g->verbosity >= 0) {
		char sz[32];
		cli_human_size(taken.bytes_copied, sz, sizeof(sz));
		fprintf(stderr, "cairn: warning: %s is not on a reflink file system: the snapshot is a copy of %s "
				"(XFS or btrfs make instant snapshots)\n",
			volume, sz);
	}
	if (g->json) {
		json_t *j = snap_json(&rec);
		json_object_set_new(j, "seconds", json_real(taken.seconds));
		json_object_set_new(j, "bytes_copied", json_integer((json_int_t)taken.bytes_copied));
		cli_print_json(j);
	} else {
		printf("%s\n", rec.id);
		if (g->verbosity >= 0)
			fprintf(stderr, "snapshot %s of %s (%s) in %.2f s\n", rec.id, volume,
				cairn_snap_method_name(taken.method), taken.seconds);
	}
	return EXIT_OK;
}

static json_t *leftover_json(const struct cairn_snap_leftover *l)
{
	char created[48];
	cairn_time_format(l->mtime, created, sizeof(created));
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "id", l->id, "kind", "leftover", "path", l->path,
			      "created", created, "size", (json_int_t)l->size, "allocated", (json_int_t)l->allocated);
	json_object_set_new(j, "process", l->pid ? json_integer(l->pid) : json_null());
	return j;
}

/* What killed runs left in every snapshot directory cairn made: shown
 * after the snapshots (arr: --json), not removed (the next snapshot made
 * in the directory removes them).  STATE_DIR/snapshots, where every copy
 * goes, is looked at even before a snapshot there was recorded: a run
 * killed while making the first one leaves it unrecorded (a backup copies
 * only when asked, so that may be the first). */
static int list_leftovers(struct cairn_state *st, const char *state_dir, json_t *arr)
{
	char **dirs = NULL;
	size_t nd = 0;
	int r = cairn_snap_dirs(st, &dirs, &nd);
	if (r < 0)
		return r;
	/* By its real path, as snapshots are made there (source/snapshot.c). */
	_cleanup_free_ char *own = NULL, *real = state_dir ? realpath(state_dir, NULL) : NULL;
	if (real && asprintf(&own, "%s/snapshots", real) < 0)
		own = NULL;
	for (size_t d = 0; own && d < nd; d++)
		if (strcmp(dirs[d], own) == 0) {
			free(own);
			own = NULL;
		}
	for (size_t d = 0; d < nd + (own != NULL); d++) {
		const char *dir = d < nd ? dirs[d] : own;
		_cleanup_close_ int fd = -1;
		if ((r = cairn_snap_dir_open(dir, &fd)) == CAIRN_ENOTFOUND)
			continue;
		struct cairn_snap_leftover *v = NULL;
		size_t n = 0;
		if (r >= 0)
			r = cairn_snap_leftovers(fd, dir, false, cairn_snap_known_cb, st, &v, &n);
		if (r < 0) {
			/* One directory that cannot be read hides nothing else. */
			cairn_log_warn("%s", cairn_error_message());
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (arr) {
				json_array_append_new(arr, leftover_json(&v[i]));
				continue;
			}
			char created[48], size[32], disk[32];
			cairn_time_format(v[i].mtime, created, sizeof(created));
			cli_human_size(v[i].size, size, sizeof(size));
			cli_human_size(v[i].allocated, disk, sizeof(disk));
			printf("%-16s  %-20s  %-7s  %-4s  %-10s  %-12s  ", v[i].id, created, "-", "left", size, "-");
			cli_print_escaped(stdout, v[i].path);
			printf("  (left by an interrupted run, %s on disk; the next snapshot made there removes it)\n",
			       disk);
		}
		cairn_snap_leftovers_free(v, n);
	}
	cairn_snap_dirs_free(dirs, nd);
	return 0;
}

static int snap_list(struct cli_global *g, struct cairn_state *st, const char *volume_arg)
{
	char volume[PATH_MAX];
	const char *vol = NULL;
	if (volume_arg)
		vol = realpath(volume_arg, volume) ? volume : volume_arg;
	struct cairn_snap_record *v = NULL;
	size_t n = 0;
	int r = cairn_snap_list(st, vol, &v, &n);
	if (r < 0)
		return cli_fail(r);
	if (g->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, snap_json(&v[i]));
		if (!volume_arg)
			r = list_leftovers(st, cli_state_dir(g), arr);
		cli_print_json(arr);
	} else {
		printf("%-16s  %-20s  %-7s  %-4s  %-10s  %-12s  %s\n", "ID", "CREATED", "METHOD", "KIND", "SIZE", "NAME",
		       "VOLUME");
		for (size_t i = 0; i < n; i++) {
			char created[48], size[32];
			cairn_time_format(v[i].created_us / 1000000, created, sizeof(created));
			cli_human_size(v[i].ident.size, size, sizeof(size));
			printf("%-16s  %-20s  %-7s  %-4s  %-10s  %-12s  ", v[i].id, created,
			       cairn_snap_method_name(v[i].method), v[i].kind == CAIRN_SNAP_BASE ? "base" : "user", size,
			       v[i].name ? v[i].name : "-");
			cli_print_escaped(stdout, v[i].volume);
			if (!cairn_snap_identity_matches(v[i].path, v[i].method, &v[i].ident))
				fputs("  (changed or missing!)", stdout);
			fputc('\n', stdout);
		}
		if (!volume_arg)
			r = list_leftovers(st, cli_state_dir(g), NULL);
	}
	cairn_snap_records_free(v, n);
	return r < 0 ? cli_fail(r) : EXIT_OK;
}

struct snapshot_args {
	const char *name, *method, *keep;
	bool force;
};
static const struct cli_opt snapshot_opts[] = {
	{ "name", 'n', OPT_STRING, CLI_ARG(struct snapshot_args, name) },
	{ "method", 0, OPT_STRING, CLI_ARG(struct snapshot_args, method) },
	{ "keep", 0, OPT_STRING, CLI_ARG(struct snapshot_args, keep) },
	{ "force", 'f', OPT_FLAG, CLI_ARG(struct snapshot_args, force) },
	{ NULL, 0, 0, NULL, 0 },
};

static void init_snapshot(void *args)
{
	((struct snapshot_args *)args)->method = "auto";
}

static int check_snapshot(struct cli_ctx *c)
{
	const struct snapshot_args *a = c->args;
	const char *sub = c->pos.v[0];
	size_t n = c->pos.n;
	bool create = !strcmp(sub, "create"), list = !strcmp(sub, "list"), del = !strcmp(sub, "delete"),
	     revert = !strcmp(sub, "revert");
	if (!create && !list && !del && !revert)
		return cli_usage("snapshot", "unknown subcommand '%s'", sub);
	if ((list && n > 2) || (!list && n != 2))
		return cli_usage("snapshot", "wrong number of arguments for 'snapshot %s'", sub);
	if (!create && (a->name || a->keep || strcmp(a->method, "auto")))
		return cli_usage("snapshot", "--name, --keep and --method go with 'snapshot create'");
	if (a->force && !revert)
		return cli_usage("snapshot", "--force goes with 'snapshot revert'");
	return 0;
}

static int run_snapshot(struct cli_ctx *c)
{
	const struct snapshot_args *a = c->args;
	struct cli_global *g = c->g;
	const struct cli_list pos = c->pos;
	const char *sub = pos.v[0], *name = a->name, *method = a->method, *keep = a->keep;
	bool force = a->force;
	bool create = !strcmp(sub, "create"), list = !strcmp(sub, "list"), del = !strcmp(sub, "delete");
	struct cairn_state *st = c->st;
	int r;
	if (create)
		return snap_create(g, st, pos.v[1], name, method, keep);
	if (list)
		return snap_list(g, st, pos.n == 2 ? pos.v[1] : NULL);

	struct cairn_snap_record rec;
	if ((r = cairn_snap_get(st, pos.v[1], &rec)) < 0)
		return cli_fail(r);
	if (del) {
		if ((r = cairn_snap_remove(rec.path, rec.method)) >= 0)
			r = cairn_snap_forget(st, rec.id);
		if (r >= 0 && !g->json && g->verbosity >= 0)
			fprintf(stderr, "deleted snapshot %s of %s%s\n", rec.id, rec.volume,
				rec.kind == CAIRN_SNAP_BASE ? " (the next backup of it reads the whole volume)" : "");
		if (r >= 0 && g->json)
			cli_print_json(json_pack("{s:s, s:b}", "deleted", rec.id, "base", rec.kind == CAIRN_SNAP_BASE));
	} else {
		/* The descriptor whose identity was checked is what is copied. */
		int in = -1;
		if ((r = cairn_snap_open(rec.path, rec.method, &rec.ident, &in)) == CAIRN_ECORRUPT)
			r = cairn_error_set(CAIRN_ECORRUPT, "snapshot %s (%s) changed or is missing since it was taken; "
							    "not reverting to it",
					    rec.id, rec.path);
		else if (r >= 0 && (r = cairn_snap_revert(in, rec.path, rec.method, rec.volume, force)) >= 0 &&
			 rec.method == CAIRN_SNAP_LVM)
			/* lvconvert --merge consumed the snapshot. */
			r = cairn_snap_forget(st, rec.id);
		if (in >= 0)
			close(in);
		if (r >= 0 && g->json)
			cli_print_json(json_pack("{s:s, s:s}", "reverted", rec.volume, "snapshot", rec.id));
		else if (r >= 0 && g->verbosity >= 0)
			fprintf(stderr, "reverted %s to snapshot %s\n", rec.volume, rec.id);
	}
	cairn_snap_record_clear(&rec);
	return r < 0 ? cli_fail(r) : EXIT_OK;
}

const struct cli_cmd cli_cmd_snapshot = {
	.verb = "snapshot", .run = run_snapshot, .opts = snapshot_opts, .args_size = sizeof(struct snapshot_args),
	.init = init_snapshot, .pos_min = 1, .pos_max = CLI_POS_ANY,
	.pos_few = "missing subcommand: create, list, delete or revert", .check = check_snapshot,
	.needs = CLI_NEEDS_STATE,
};
