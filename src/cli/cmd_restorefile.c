/* cairn restore-file BACKUP PATH... DEST (engine/restorefile.h). */
#include "cli/cli.h"
#include "engine/restorefile.h"
#include "repo/group.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rf_args {
	bool force;
	const char *preserve;
};
static const struct cli_opt rf_opts[] = {
	{ "force", 'f', OPT_FLAG, CLI_ARG(struct rf_args, force) },
	{ "preserve", 0, OPT_STRING, CLI_ARG(struct rf_args, preserve) },
	{ NULL, 0, 0, NULL, 0 },
};

static int rf_check(struct cli_ctx *c)
{
	const struct rf_args *a = c->args;
	if (a->preserve && strcmp(a->preserve, "owner") != 0)
		return cli_usage("restore-file", "--preserve takes 'owner', not '%s'", a->preserve);
	const char *dest = c->pos.v[c->pos.n - 1];
	if (!*dest)
		return cli_usage("restore-file", "DEST is empty");
	return 0;
}

/* The items of the PATHs: of backup spec, or for a group backup each
 * VOLUME:/path of its member of that volume. */
static int resolve_items(struct cairn_repo *repo, const struct cairn_manifest_list *l, const char *spec,
			 const struct cli_list *paths, struct cairn_restorefile_item *items)
{
	struct cairn_manifest *m = NULL;
	int r = cairn_manifest_resolve(l, spec, &m);
	if (r >= 0) {
		for (size_t i = 0; i < paths->n; i++)
			items[i] = (struct cairn_restorefile_item){ m, paths->v[i] };
		return 0;
	}
	if (r != CAIRN_ENOTFOUND)
		return r;
	char why[512];
	cairn_error_copy(why, sizeof(why));
	struct cairn_group_backup_list gl;
	if (cairn_group_backup_list_load(repo, &gl) < 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "%s", why);
	struct cairn_group_backup *gb = NULL;
	r = cairn_group_backup_resolve(&gl, spec, &gb);
	if (r < 0) {
		cairn_group_backup_list_free(&gl);
		return cairn_error_set(CAIRN_ENOTFOUND, "%s", why);
	}
	for (size_t i = 0; r >= 0 && i < paths->n; i++) {
		const char *p = paths->v[i], *colon = strchr(p, ':');
		if (!colon) {
			r = cairn_error_set(CAIRN_EINVAL, "%s is a group backup: name a file as VOLUME:/path (%s)", spec, p);
			break;
		}
		const struct cairn_group_member *mem = NULL;
		for (size_t k = 0; k < gb->nmembers; k++)
			if (strlen(gb->members[k].volume) == (size_t)(colon - p) &&
			    !memcmp(gb->members[k].volume, p, (size_t)(colon - p)))
				mem = &gb->members[k];
		if (!mem) {
			r = cairn_error_set(CAIRN_ENOTFOUND, "group backup %.12s has no volume %.*s", gb->idhex,
					    (int)(colon - p), p);
			break;
		}
		if ((r = cairn_manifest_resolve(l, mem->backup_hex, &m)) >= 0)
			items[i] = (struct cairn_restorefile_item){ m, colon + 1 };
	}
	cairn_group_backup_list_free(&gl);
	return r;
}

static json_t *stats_json(const struct cairn_restorefile_stats *st)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "files", (json_int_t)st->files, "dirs",
			 (json_int_t)st->dirs, "symlinks", (json_int_t)st->symlinks, "hardlinks",
			 (json_int_t)st->hardlinks, "special", (json_int_t)st->special, "skipped",
			 (json_int_t)st->skipped, "bytes", (json_int_t)st->bytes, "chunks_fetched",
			 (json_int_t)st->chunks_fetched, "bytes_fetched", (json_int_t)st->bytes_fetched, "nodes_fetched",
			 (json_int_t)st->nodes_fetched, "seconds",
			 st->seconds);
}

static int run_restorefile(struct cli_ctx *c)
{
	const struct rf_args *a = c->args;
	struct cli_global *g = c->g;
	struct cairn_repo *repo = c->repo;
	const char *dest = c->pos.v[c->pos.n - 1];
	bool stream = strcmp(dest, "-") == 0;
	struct cli_list paths = { c->pos.v + 1, c->pos.n - 2 };
	struct cairn_manifest_list l;
	struct cairn_seen_report vanished;
	int r = cairn_app_backups_list(cli_app(g), repo, &l, &vanished);
	if (r < 0)
		return cli_fail(r);
	cli_seen_warn(&vanished);
	_cleanup_free_ struct cairn_restorefile_item *items = calloc(paths.n, sizeof(*items));
	if (!items)
		r = cairn_error_nomem();
	if (r >= 0)
		r = resolve_items(repo, &l, c->pos.v[0], &paths, items);
	struct cairn_restorefile_stats st;
	memset(&st, 0, sizeof(st));
	if (r >= 0) {
		struct cli_progress prog;
		cli_progress_init(&prog, "restore-file", g);
		struct cairn_restorefile_opts o = {
			.mode = stream ? CAIRN_RF_STREAM : CAIRN_RF_DIR, .dest = stream ? "-" : dest, .out_fd = 1,
			.force = a->force, .preserve_owner = a->preserve != NULL, .state_dir = cli_state_dir(g),
			.progress = cli_progress_cb, .progress_ud = &prog,
		};
		r = cairn_restorefile_run(repo, items, paths.n, &o, &st);
		cli_progress_done(&prog);
	}
	if (r >= 0 && g->json) {
		json_t *j = stats_json(&st);
		json_object_set_new(j, "backup", json_string(items[0].m->idhex));
		json_object_set_new(j, "dest", json_string(dest));
		if (stream)
			json_object_set_new(j, "tar", json_boolean(st.tar));
		/* The stream owns standard output. */
		if (stream) {
			char *s = json_dumps(j, JSON_COMPACT);
			if (s)
				fprintf(stderr, "%s\n", s);
			free(s);
			json_decref(j);
		} else {
			cli_print_json(j);
		}
	} else if (r >= 0 && g->verbosity >= 0) {
		char b[32], f[32];
		cli_human_size(st.bytes, b, sizeof(b));
		cli_human_size(st.bytes_fetched, f, sizeof(f));
		fprintf(stderr,
			"restored %llu files (%s), %llu directories, %llu symlinks, %llu hard links%s to %s from %.12s: "
			"fetched %llu chunks (%s) in %.2f s\n",
			(unsigned long long)st.files, b, (unsigned long long)st.dirs, (unsigned long long)st.symlinks,
			(unsigned long long)st.hardlinks, st.special ? " and special files" : "",
			stream ? (st.tar ? "a tar on standard output" : "standard output") : dest, items[0].m->idhex,
			(unsigned long long)st.chunks_fetched, f, st.seconds);
		if (st.skipped)
			fprintf(stderr, "skipped %llu entries (see the warnings above)\n", (unsigned long long)st.skipped);
	}
	cairn_manifest_list_free(&l);
	return r < 0 ? cli_fail(r) : EXIT_OK;
}

const struct cli_cmd cli_cmd_restore_file = {
	.verb = "restore-file", .run = run_restorefile, .opts = rf_opts, .args_size = sizeof(struct rf_args),
	.pos_min = 3, .pos_max = CLI_POS_ANY, .pos_few = "need BACKUP, at least one PATH and DEST",
	.needs = CLI_NEEDS_REPO, .check = rf_check,
};
