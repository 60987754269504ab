#include "cli/cli.h"
#include "repo/index.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_problem(const char *object, const char *what, void *ud)
{
	(void)ud;
	fprintf(stderr, "cairn: warning: skipping %s: %s\n", object, what);
}

static int check_repair(struct cli_ctx *c)
{
	if (strcmp(c->pos.v[0], "index") != 0)
		return cli_usage("repair", "only 'cairn repair index' exists");
	return 0;
}

struct repair_args {
	bool compact;
};
static const struct cli_opt repair_opts[] = {
	{ "compact", 0, OPT_FLAG, CLI_ARG(struct repair_args, compact) },
	{ NULL, 0, 0, NULL, 0 },
};

/* --compact: merge small index objects (repo/index.h), nothing rebuilt. */
static int run_compact(struct cli_ctx *c)
{
	struct cli_global *g = c->g;
	struct cairn_repo *repo = TAKE_PTR(c->repo);
	size_t merged = 0, written = 0;
	int r = cairn_index_compact(repo, 2, &merged, &written);
	cairn_repo_free(repo);
	if (r < 0)
		return cli_fail(r);
	if (g->json)
		cli_print_json(json_pack("{s:I, s:I}", "merged_index_objects", (json_int_t)merged,
					 "written_index_objects", (json_int_t)written));
	else if (g->verbosity >= 0)
		fprintf(stderr, "%zu small index object(s) merged into %zu\n", merged, written);
	return EXIT_OK;
}

static int run_repair(struct cli_ctx *c)
{
	struct cli_global *g = c->g;
	if (((const struct repair_args *)c->args)->compact)
		return run_compact(c);
	struct cairn_repo *repo = TAKE_PTR(c->repo);
	int r;
	struct cairn_repair_stats st = { 0 };
	r = cairn_repair_index(repo, on_problem, NULL, &st);
	cairn_repo_free(repo);
	if (r < 0)
		return cli_fail(r);
	if (g->json)
		cli_print_json(json_pack("{s:I, s:I, s:I, s:I, s:I}", "packs", (json_int_t)st.packs, "blobs",
					 (json_int_t)st.blobs, "damaged_packs", (json_int_t)st.damaged_packs,
					 "carried_blobs", (json_int_t)st.carried_blobs, "replaced_index_objects",
					 (json_int_t)st.old_index_objects));
	else if (g->verbosity >= 0 && !st.damaged_packs)
		fprintf(stderr, "index rebuilt from %llu packs (%llu blobs); %llu old index object(s) replaced\n",
			(unsigned long long)st.packs, (unsigned long long)st.blobs,
			(unsigned long long)st.old_index_objects);
	else if (g->verbosity >= 0)
		fprintf(stderr,
			"index rebuilt from %llu packs (%llu blobs); %llu old index object(s) replaced; "
			"%llu damaged pack(s): kept the %llu blob(s) in them that still verify; "
			"run 'cairn check --read-data' to see what is lost\n",
			(unsigned long long)st.packs, (unsigned long long)st.blobs,
			(unsigned long long)st.old_index_objects, (unsigned long long)st.damaged_packs,
			(unsigned long long)st.carried_blobs);
	/* The index is whole again, the damage is not. */
	return st.damaged_packs ? EXIT_DAMAGED : EXIT_OK;
}

const struct cli_cmd cli_cmd_repair = {
	.verb = "repair", .run = run_repair, .pos_min = 1, .pos_max = 1,
	.pos_few = "only 'cairn repair index' exists", .pos_many = "only 'cairn repair index' exists",
	.check = check_repair, .needs = CLI_NEEDS_REPO, .opts = repair_opts, .args_size = sizeof(struct repair_args),
};
