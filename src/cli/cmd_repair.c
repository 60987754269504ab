#include "cli/cli.h"
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

static int run_repair(struct cli_ctx *c)
{
	struct cli_global *g = c->g;
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
	.check = check_repair, .needs = CLI_NEEDS_REPO,
};
