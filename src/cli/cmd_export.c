/* cairn export-details: the token a DR host imports (app/drexport.h). */
#include "app/drexport.h"
#include "app/drtoken.h"
#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>

struct export_args {
	const char *volume, *group;
	bool with_policies;
};
static const struct cli_opt export_opts[] = {
	{ "volume", 0, OPT_STRING, CLI_ARG(struct export_args, volume) },
	{ "group", 0, OPT_STRING, CLI_ARG(struct export_args, group) },
	{ "with-policies", 0, OPT_FLAG, CLI_ARG(struct export_args, with_policies) },
	{ NULL, 0, 0, NULL, 0 },
};

static int check_export(struct cli_ctx *c)
{
	const struct export_args *a = c->args;
	if (a->volume && a->group)
		return cli_usage("export-details", "give --volume V or --group G, not both");
	if (!cli_repo_uri(c->g))
		return cli_usage("export-details", "give the repository with --repo URI");
	return 0;
}

static int run_export(struct cli_ctx *c)
{
	const struct export_args *a = c->args;
	struct cli_global *g = c->g;
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	if (a->with_policies && cli_state_open(g, true, &st) < 0)
		cairn_error_clear(); /* no state here: no definitions to add */
	struct cairn_dr_export_opts o = { .uri = cli_repo_uri(g), .volume = a->volume, .group = a->group,
					  .with_policies = a->with_policies };
	json_t *doc = NULL;
	int r = cairn_app_dr_export(cli_app(g), st, c->repo, &o, &doc);
	if (r < 0)
		return cli_fail(r);
	if (g->json) {
		cli_print_json(doc);
		return EXIT_OK;
	}
	_cleanup_free_ char *tok = NULL;
	r = cairn_dr_token_encode(doc, &tok);
	json_decref(doc);
	if (r < 0)
		return cli_fail(r);
	printf("%s\n", tok);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_export_details = {
	.verb = "export-details", .run = run_export, .opts = export_opts, .args_size = sizeof(struct export_args),
	.pos_max = 0, .needs = CLI_NEEDS_REPO, .check = check_export,
};
