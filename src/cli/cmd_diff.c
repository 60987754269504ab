#include "cli/cli.h"
#include "engine/filediff.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	bool json;
	json_t *ranges;
};

static int on_range(uint64_t off, uint64_t len, void *ud)
{
	struct out *o = ud;
	if (o->json)
		json_array_append_new(o->ranges, json_pack("{s:I, s:I}", "offset", (json_int_t)off, "length",
							   (json_int_t)len));
	else
		printf("%llu %llu\n", (unsigned long long)off, (unsigned long long)len);
	return 0;
}

struct diff_args {
	bool files, every_file;
};
static const struct cli_opt diff_opts[] = {
	{ "files", 0, OPT_FLAG, CLI_ARG(struct diff_args, files) },
	{ "every-file", 0, OPT_FLAG, CLI_ARG(struct diff_args, every_file) },
	{ NULL, 0, 0, NULL, 0 },
};

/* diff --files: one line a difference on stdout, as git's --name-status
 * (the path escaped as in every other message), or an array. */
struct file_out {
	bool json;
	json_t *files;
};

static int on_file(enum cairn_filediff_status s, const char *path, unsigned reasons, bool is_dir, void *ud)
{
	struct file_out *o = ud;
	if (!o->json) {
		printf("%c\t", (char)s);
		cli_print_escaped(stdout, path);
		fputs(is_dir && strcmp(path, "/") ? "/\n" : "\n", stdout);
		return 0;
	}
	const char *st = s == CAIRN_FILEDIFF_ADDED	 ? "added"
			 : s == CAIRN_FILEDIFF_REMOVED ? "removed"
			 : s == CAIRN_FILEDIFF_MODIFIED ? "modified"
							: "maybe";
	json_t *why = json_array();
	for (unsigned i = 0; i < CAIRN_FILEDIFF_NREASONS; i++)
		if (reasons & (1u << i))
			json_array_append_new(why, json_string(cairn_filediff_reason_name(i)));
	json_array_append_new(o->files, json_pack("{s:s, s:s, s:s, s:b, s:o}", "status", st, "letter",
						  (char[]){ (char)s, 0 }, "path", path, "dir", is_dir, "reasons", why));
	return 0;
}

static int run_files(struct cli_ctx *c, struct cairn_repo *repo, const struct cairn_manifest *a,
		     const struct cairn_manifest *b)
{
	struct cli_global *g = c->g;
	const struct diff_args *da = c->args;
	struct file_out out = { g->json, json_array() };
	struct cairn_filediff_stats st;
	int r = cairn_filediff_run(repo, a, b, cli_state_dir(g), da->every_file, on_file, &out, &st);
	if (r >= 0 && g->json)
		cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:O}", "a", a->idhex, "b", b->idhex, "added",
					 (json_int_t)st.added, "removed", (json_int_t)st.removed, "modified",
					 (json_int_t)st.modified, "maybe", (json_int_t)st.maybe, "files", out.files));
	else if (r >= 0 && g->verbosity >= 0)
		fprintf(stderr,
			"%llu added, %llu removed, %llu modified, %llu may have changed (share a changed chunk) "
			"between %.12s and %.12s\n",
			(unsigned long long)st.added, (unsigned long long)st.removed, (unsigned long long)st.modified,
			(unsigned long long)st.maybe, a->idhex, b->idhex);
	json_decref(out.files);
	return r;
}

static int run_diff(struct cli_ctx *c)
{
	const struct diff_args *da = c->args;
	struct cli_global *g = c->g;
	const struct cli_list pos = c->pos;
	struct cairn_repo *repo = TAKE_PTR(c->repo);
	int r;
	struct cairn_manifest_list l;
	if ((r = cairn_manifest_list_load(repo, &l)) < 0) {
		cairn_repo_free(repo);
		return cli_fail(r);
	}
	struct cairn_manifest *a = NULL, *b = NULL;
	struct out out = { g->json, json_array() };
	uint64_t changed = 0;
	r = cairn_manifest_resolve(&l, pos.v[0], &a);
	if (r >= 0)
		r = cairn_manifest_resolve(&l, pos.v[1], &b);
	if (r >= 0 && strcmp(a->volume, b->volume) != 0)
		cairn_log_warn("comparing backups of different volumes (%s, %s)", a->volume, b->volume);
	if (r >= 0 && da->files) {
		r = run_files(c, repo, a, b);
		json_decref(out.ranges);
		cairn_manifest_list_free(&l);
		cairn_repo_free(repo);
		return r < 0 ? cli_fail(r) : EXIT_OK;
	}
	if (r >= 0)
		r = cairn_diff_run_cached(repo, cli_state_dir(g), a, b, on_range, &out, &changed);
	if (r >= 0 && g->json)
		cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:O}", "a", a->idhex, "b", b->idhex, "size_a",
					 (json_int_t)a->size, "size_b", (json_int_t)b->size, "changed_bytes",
					 (json_int_t)changed, "ranges", out.ranges));
	else if (r >= 0 && g->verbosity >= 0) {
		char c[32];
		cli_human_size(changed, c, sizeof(c));
		fprintf(stderr, "%s changed between %.12s and %.12s%s\n", c, a->idhex, b->idhex,
			a->size != b->size ? " (the volume size changed too)" : "");
	}
	json_decref(out.ranges);
	cairn_manifest_list_free(&l);
	cairn_repo_free(repo);
	return r < 0 ? cli_fail(r) : EXIT_OK;
}

const struct cli_cmd cli_cmd_diff = {
	.verb = "diff", .run = run_diff, .opts = diff_opts, .args_size = sizeof(struct diff_args), .pos_min = 2, .pos_max = 2, .pos_few = "need two backups A and B",
	.pos_many = "need two backups A and B", .needs = CLI_NEEDS_REPO,
};
