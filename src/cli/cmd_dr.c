/* cairn dr SUBCOMMAND: disaster recovery.  `dr report` today (the RPO
 * report, app/drreport.h); failover and failback join it here. */
#include "app/drreport.h"
#include "cli/cli.h"
#include "cli/dr_failover.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void dur(json_t *v, char *buf, size_t size)
{
	if (!v || json_is_null(v)) {
		snprintf(buf, size, "-");
		return;
	}
	double s = json_number_value(v);
	if (s < 120)
		snprintf(buf, size, "%.0fs", s);
	else if (s < 7200)
		snprintf(buf, size, "%.0fm", s / 60);
	else if (s < 172800)
		snprintf(buf, size, "%.1fh", s / 3600);
	else
		snprintf(buf, size, "%.1fd", s / 86400);
}

static const char *js(json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : dflt;
}

static void print_report(json_t *rep)
{
	size_t i, k;
	json_t *it, *r;
	/* The breaches first, one line each, for a monitoring check's eye. */
	json_array_foreach(json_object_get(rep, "items"), i, it)
	{
		if (!json_is_true(json_object_get(it, "breached")))
			continue;
		const char *pol = json_string_value(json_object_get(it, "policy"));
		printf("BREACHED %s %s%s%s%s: %s\n", js(it, "kind", ""), js(it, "name", ""), pol ? " (policy " : "",
		       pol ? pol : "", pol ? ")" : "", js(it, "breach", ""));
	}
	json_array_foreach(json_object_get(rep, "repositories"), i, r) if (!json_is_true(json_object_get(r, "reachable")))
		printf("%s: %s\n", js(r, "uri", ""), js(r, "error", ""));
	printf("%-6s  %-16s  %-12s  %-20s  %7s  %7s  %7s  %7s  %s\n", "KIND", "NAME", "POLICY", "NEWEST", "AGE",
	       "RPO", "TARGET", "RTO", "REPOSITORY");
	json_array_foreach(json_object_get(rep, "items"), i, it)
	{
		char rpo[32], target[32];
		dur(json_object_get(it, "rpo_s"), rpo, sizeof(rpo));
		dur(json_object_get(it, "rpo_target_s"), target, sizeof(target));
		bool first = true;
		json_array_foreach(json_object_get(it, "repositories"), k, r)
		{
			char age[32], rrto[32], newest[48] = "-";
			if (!json_is_null(json_object_get(r, "newest")))
				cairn_time_format(json_integer_value(json_object_get(r, "newest_us")) / 1000000, newest,
						  sizeof(newest));
			dur(json_object_get(r, "age_s"), age, sizeof(age));
			dur(json_object_get(r, "rto_s"), rrto, sizeof(rrto));
			char where[600];
			snprintf(where, sizeof(where), "%s%s%s", js(r, "name", js(r, "uri", "")),
				 json_is_true(json_object_get(r, "primary")) ? " (primary)" : "",
				 json_is_null(json_object_get(r, "error")) ? "" : " unreachable");
			printf("%-6s  %-16s  %-12s  %-20s  %7s  %7s  %7s  %7s  %s\n", first ? js(it, "kind", "") : "",
			       first ? js(it, "name", "") : "", first ? js(it, "policy", "-") : "",
			       newest, age, first ? rpo : "", first ? target : "", rrto, where);
			first = false;
		}
		json_t *lc = json_object_get(it, "last_copy");
		if (json_is_object(lc)) {
			char b[32];
			cli_human_size((uint64_t)json_integer_value(json_object_get(lc, "bytes")), b, sizeof(b));
			printf("%-6s  last copy: job %lld %s, %.1f s, %s to %s\n", "", (long long)json_integer_value(
				       json_object_get(lc, "job")), js(lc, "state", ""),
			       json_number_value(json_object_get(lc, "seconds")), b, js(lc, "to", ""));
		}
		json_t *dr = json_object_get(it, "drill");
		if (json_is_object(dr))
			printf("%-6s  last drill: %s %s, RTO %.2f s (restore %.2f s, check %.2f s)%s%s\n", "",
			       js(dr, "when", ""), json_is_true(json_object_get(dr, "ok")) ? "ok" : "FAILED",
			       json_number_value(json_object_get(dr, "rto_s")),
			       json_number_value(json_object_get(dr, "restore_s")),
			       json_number_value(json_object_get(dr, "check_s")),
			       json_is_true(json_object_get(dr, "ok")) ? "" : ": ", json_is_true(json_object_get(dr, "ok")) ? "" : js(dr, "message", ""));
		else if (json_object_get(it, "drill_flag"))
			printf("%-6s  never drilled\n", "");
	}
}

/* Options of dr failover and failback (dr_failover.c). */
struct dr_args {
	const char *policy, *standby, *at, *to, *to_cred, *volume_target;
};
static const struct cli_opt dr_opts[] = {
	{ "policy", 0, OPT_STRING, CLI_ARG(struct dr_args, policy) },
	{ "standby", 0, OPT_STRING, CLI_ARG(struct dr_args, standby) },
	{ "at", 0, OPT_STRING, CLI_ARG(struct dr_args, at) },
	{ "to", 0, OPT_STRING, CLI_ARG(struct dr_args, to) },
	{ "to-cred", 0, OPT_STRING, CLI_ARG(struct dr_args, to_cred) },
	{ "volume-target", 0, OPT_STRING, CLI_ARG(struct dr_args, volume_target) },
	{ NULL, 0, 0, NULL, 0 },
};

static int run_dr(struct cli_ctx *c)
{
	struct cli_global *g = c->g;
	const char *sub = c->pos.v[0];
	const struct dr_args *a = c->args;
	bool fo = strcmp(sub, "failover") == 0, fb = strcmp(sub, "failback") == 0;
	if ((!fo && (a->standby || a->at)) || (!fb && (a->to || a->to_cred || a->volume_target)) ||
	    (!fo && !fb && a->policy))
		return cli_usage("dr", "--policy, --standby and --at go with 'dr failover'; --policy, --to, --to-cred"
				       " and --volume-target with 'dr failback'");
	if (fo)
		return cli_dr_failover(c, a->policy, a->standby, a->at);
	if (fb)
		return cli_dr_failback(c, a->policy, a->to, a->to_cred, a->volume_target);
	if (strcmp(sub, "report") != 0)
		return cli_usage("dr", "unknown subcommand '%s'", sub);
	if (c->pos.n != 1)
		return cli_usage("dr", "'dr report' takes no argument");
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	int r = cli_state_open(g, true, &st);
	if (r < 0 && r != CAIRN_ENOTFOUND)
		return cli_fail(r);
	cairn_error_clear();
	json_t *rep = NULL;
	if ((r = cairn_app_dr_report(cli_app(g), st, cairn_wall_now(), &rep)) < 0)
		return cli_fail(r);
	bool breached = json_integer_value(json_object_get(rep, "breached")) > 0;
	if (g->json)
		cli_print_json(json_incref(rep));
	else
		print_report(rep);
	json_decref(rep);
	return breached ? EXIT_FAIL : EXIT_OK;
}

const struct cli_cmd cli_cmd_dr = {
	.verb = "dr", .run = run_dr, .opts = dr_opts, .args_size = sizeof(struct dr_args), .pos_min = 1, .pos_max = CLI_POS_ANY, .pos_few = "missing subcommand: report, failover or failback",
	.help_sub = true,
};
