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

int cmd_repair(int argc, char **argv, struct cli_global *g)
{
	_cleanup_(cli_list_freep) struct cli_list pos = { 0 };
	int r = cli_parse(argc, argv, NULL, g, &pos);
	if (r)
		return r;
	if (g->help) {
		cli_help("repair");
		return EXIT_OK;
	}
	cairn_log_level = g->verbosity;
	if (pos.n != 1 || strcmp(pos.v[0], "index") != 0)
		return cli_usage("repair", "only 'cairn repair index' exists");
	struct cairn_repo *repo = NULL;
	if ((r = cli_open_repo(g, &repo)) < 0)
		return cli_fail(r);
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
