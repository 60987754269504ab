/* cairn dr failover | failback (app/failover.h): the command line over the
 * app layer; cmd_dr.c parses the options and calls here. */
#include "app/failover.h"
#include "cli/cli.h"
#include "cli/dr_failover.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>

static const char *js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

int cli_dr_failover(struct cli_ctx *c, const char *policy, const char *standby, const char *at)
{
	struct cli_global *g = c->g;
	if (c->pos.n != 1)
		return cli_usage("dr", "'dr failover' takes no argument");
	if (!policy == !standby)
		return cli_usage("dr", "'dr failover' needs --policy P or --standby NAME (not both)");
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	int r = cli_state_open(g, false, &st);
	if (r < 0)
		return cli_fail(r);
	struct cli_progress prog;
	struct cairn_app_failover o = { .policy = policy, .standby = standby, .at = at,
					.progress = cli_progress_job(&prog, "failover", g, NULL) };
	json_t *out = NULL;
	if ((r = cairn_app_failover(cli_app(g), st, &o, &out)) < 0)
		return cli_fail(r);
	if (g->json) {
		cli_print_json(out);
		return EXIT_OK;
	}
	bool group = json_is_true(json_object_get(out, "group"));
	if (json_is_true(json_object_get(out, "already")))
		printf("standby %s is failed over already (restore point %.12s)\n", js(out, "standby"), js(out, "backup"));
	else
		printf("standby %s failed over: restore point %.12s handed over in %.3f s\n", js(out, "standby"),
		       js(out, "backup"), json_number_value(json_object_get(out, "rto_s")));
	printf("%s: %s%s\n", group ? "directory" : "volume", js(out, "target"),
	       group ? " (the volumes' images and the group's config document)" : "");
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(out, "policies"), i, p)
		printf("policy %s: active against %s, source %s (volume %s)\n", js(p, "name"), js(p, "repo"),
		       js(p, "source"), js(p, "volume"));
	json_decref(out);
	return EXIT_OK;
}

int cli_dr_failback(struct cli_ctx *c, const char *policy, const char *to, const char *to_cred, const char *target)
{
	struct cli_global *g = c->g;
	if (c->pos.n != 1)
		return cli_usage("dr", "'dr failback' takes no argument");
	if (!policy || !to)
		return cli_usage("dr", "'dr failback' needs --policy P and --to PRIMARY_URI");
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	int r = cli_state_open(g, false, &st);
	if (r < 0)
		return cli_fail(r);
	struct cli_progress prog;
	struct cairn_app_failback o = { .policy = policy, .to = to, .to_cred = to_cred, .volume_target = target,
					.progress = cli_progress_job(&prog, "failback", g, NULL) };
	json_t *out = NULL;
	if ((r = cairn_app_failback(cli_app(g), st, &o, &out)) < 0)
		return cli_fail(r);
	if (g->json) {
		cli_print_json(out);
		return EXIT_OK;
	}
	char b[32];
	cli_human_size((uint64_t)json_integer_value(json_object_get(out, "bytes_written")), b, sizeof(b));
	/* A group's members went to the volumes recorded at failover. */
	const char *where = json_is_string(json_object_get(out, "target")) ? js(out, "target") : "the group's volumes";
	if (json_is_true(json_object_get(out, "already"))) {
		printf("policy %s is failed back already (%s written to %s)\n", js(out, "policy"), b, where);
	} else {
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(out, "steps"), i, s)
			printf("%s: %s\n", js(s, "step"), strcmp(js(s, "done"), "now") ? "done before" : "done");
		printf("policy %s failed back to %s: %s written to %s\n", js(out, "policy"), js(out, "to"), b, where);
	}
	json_decref(out);
	return EXIT_OK;
}
