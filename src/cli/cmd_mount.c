/* cairn mount BACKUP|VOLUME|GROUP-BACKUP DIR, cairn umount DIR. */
#include "cli/cli.h"
#include "mount/mount.h"
#include "repo/group.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mount_args {
	bool allow_other, foreground;
	const char *overlay, *cache;
};
static const struct cli_opt mount_opts[] = {
	{ "allow-other", 0, OPT_FLAG, CLI_ARG(struct mount_args, allow_other) },
	{ "foreground", 'f', OPT_FLAG, CLI_ARG(struct mount_args, foreground) },
	{ "overlay", 0, OPT_STRING, CLI_ARG(struct mount_args, overlay) },
	{ "cache", 0, OPT_STRING, CLI_ARG(struct mount_args, cache) },
	{ NULL, 0, 0, NULL, 0 },
};

struct mounted_ctx {
	struct cli_global *g;
	const char *dir, *overlay;
};

static void on_mounted(const char *const *paths, const struct cairn_manifest *const *ms, size_t n, void *ud)
{
	struct mounted_ctx *c = ud;
	if (c->g->json) {
		json_t *imgs = json_array();
		for (size_t i = 0; i < n; i++) {
			char created[64], path[PATH_MAX];
			cairn_time_format_us(ms[i]->created_us, created, sizeof(created));
			snprintf(path, sizeof(path), "%s/%s", c->dir, paths[i]);
			json_array_append_new(imgs, json_pack("{s:s, s:s, s:s, s:s, s:I}", "path", path, "id", ms[i]->idhex,
							      "volume", ms[i]->volume, "created", created, "size",
							      (json_int_t)ms[i]->size));
		}
		json_t *o = json_pack("{s:s, s:o, s:b}", "dir", c->dir, "images", imgs, "writable", c->overlay != NULL);
		json_object_set_new(o, "overlay", c->overlay ? json_string(c->overlay) : json_null());
		cli_print_json(o);
	} else if (c->g->verbosity >= 0) {
		fprintf(stderr, "mounted %zu image%s at %s%s:\n", n, n == 1 ? "" : "s", c->dir,
			c->overlay ? " (writes go to the overlay)" : " (read-only)");
		for (size_t i = 0; i < n; i++) {
			char sz[32];
			cli_human_size(ms[i]->size, sz, sizeof(sz));
			fprintf(stderr, "  %s/%s  (%s, backup %.12s)\n", c->dir, paths[i], sz, ms[i]->idhex);
		}
		fprintf(stderr, "unmount with: cairn umount %s\n", c->dir);
	}
}

/* The backups SPEC names: every backup of the volume SPEC, else the backup
 * SPEC, else the members of the group backup SPEC.  *ret borrows from l. */
static int resolve(struct cairn_repo *repo, const struct cairn_manifest_list *l, const char *spec,
		   struct cairn_manifest ***ret, size_t *ret_n)
{
	struct cairn_manifest **v = calloc(l->n ? l->n : 1, sizeof(*v));
	if (!v)
		return cairn_error_nomem();
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i]->volume, spec) == 0)
			v[n++] = l->v[i];
	struct cairn_manifest *m = NULL;
	int r = 0;
	if (!n && (r = cairn_manifest_resolve(l, spec, &m)) >= 0)
		v[n++] = m;
	if (!n && r == CAIRN_ENOTFOUND) {
		struct cairn_group_backup_list gl;
		struct cairn_group_backup *gb = NULL;
		int gr = cairn_group_backup_list_load(repo, &gl);
		if (gr >= 0 && cairn_group_backup_resolve(&gl, spec, &gb) >= 0) {
			for (size_t k = 0; k < gb->nmembers; k++)
				for (size_t i = 0; i < l->n; i++)
					if (memcmp(l->v[i]->id, gb->members[k].backup, CAIRN_BACKUP_ID_LEN) == 0)
						v[n++] = l->v[i];
			if (!n)
				r = cairn_error_set(CAIRN_ENOTFOUND, "group backup %.12s has none of its backups left", gb->idhex);
		} else if (gr >= 0) {
			r = cairn_error_set(CAIRN_ENOTFOUND, "no backup, volume or group backup is named '%s' ('cairn list')",
					    spec);
		} else {
			r = gr;
		}
		if (gr >= 0)
			cairn_group_backup_list_free(&gl);
	}
	if (!n) {
		free(v);
		return r < 0 ? r : cairn_error_set(CAIRN_ENOTFOUND, "nothing to mount for '%s'", spec);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int check_mount(struct cli_ctx *c)
{
	const struct mount_args *a = c->args;
	uint64_t v;
	if (a->cache && (cli_parse_size(a->cache, &v) < 0 || v == 0))
		return cli_usage("mount", "--cache takes a size such as 256M");
	return 0;
}

static int run_mount(struct cli_ctx *c)
{
	const struct mount_args *a = c->args;
	struct cli_global *g = c->g;
	struct cairn_repo *repo = c->repo;
	struct cairn_manifest_list l;
	struct cairn_seen_report vanished;
	int r = cairn_app_backups_list(cli_app(g), repo, &l, &vanished);
	if (r < 0)
		return cli_fail(r);
	cli_seen_warn(&vanished);
	_cleanup_free_ struct cairn_manifest **ms = NULL;
	size_t n = 0;
	uint64_t cache = 0;
	if (a->cache)
		cli_parse_size(a->cache, &cache);
	struct mounted_ctx mc = { .g = g, .dir = c->pos.v[1], .overlay = a->overlay };
	if ((r = resolve(repo, &l, c->pos.v[0], &ms, &n)) >= 0) {
		struct cairn_mount_opts o = { .dir = c->pos.v[1], .allow_other = a->allow_other,
					      .foreground = a->foreground, .overlay = a->overlay,
					      .state_dir = cli_state_dir(g), .cache_bytes = cache,
					      .mounted = on_mounted, .ud = &mc };
		r = cairn_mount_run(repo, ms, n, &o);
	}
	cairn_manifest_list_free(&l);
	return r < 0 ? cli_fail(r) : EXIT_OK;
}

const struct cli_cmd cli_cmd_mount = {
	.verb = "mount", .run = run_mount, .opts = mount_opts, .args_size = sizeof(struct mount_args),
	.pos_min = 2, .pos_max = 2, .pos_few = "need BACKUP (or VOLUME, or GROUP-BACKUP) and DIR",
	.pos_many = "need BACKUP (or VOLUME, or GROUP-BACKUP) and DIR", .needs = CLI_NEEDS_REPO,
	.check = check_mount,
};

static int run_umount(struct cli_ctx *c)
{
	int r = cairn_mount_unmount(c->pos.v[0]);
	if (r < 0)
		return cli_fail(r);
	if (c->g->json)
		cli_print_json(json_pack("{s:s, s:b}", "dir", c->pos.v[0], "unmounted", 1));
	else if (c->g->verbosity >= 0)
		fprintf(stderr, "unmounted %s\n", c->pos.v[0]);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_umount = {
	.verb = "umount", .run = run_umount, .pos_min = 1, .pos_max = 1, .pos_few = "need DIR",
	.needs = CLI_NEEDS_NOTHING,
};
