/* cairn drill: recovery drills (app/drill.h, docs/design.md §15).
 *
 *   cairn drill (--volume V | --group G) [--at BACKUP] [--scratch DIR]
 *               [--verify-command CMD] [--every INTERVAL|off]
 *   cairn drill list          recent drills and the drill schedules
 *   cairn drill run KIND:NAME a schedule's drill now (what the daemon runs)
 *
 * A verb of its own rather than `dr drill`: it restores and checks (a job),
 * where `dr report` only reads. */
#include "app/drill.h"
#include "cli/cli.h"
#include "daemon/schedule.h"
#include "state/drills.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct drill_args {
	const char *volume, *group, *at, *scratch, *verify, *every;
};
static const struct cli_opt drill_opts[] = {
	{ "volume", 0, OPT_STRING, CLI_ARG(struct drill_args, volume) },
	{ "group", 0, OPT_STRING, CLI_ARG(struct drill_args, group) },
	{ "at", 0, OPT_STRING, CLI_ARG(struct drill_args, at) },
	{ "scratch", 0, OPT_STRING, CLI_ARG(struct drill_args, scratch) },
	{ "verify-command", 0, OPT_STRING, CLI_ARG(struct drill_args, verify) },
	{ "every", 0, OPT_STRING, CLI_ARG(struct drill_args, every) },
	{ NULL, 0, 0, NULL, 0 },
};

static int check_drill(struct cli_ctx *c)
{
	const struct drill_args *a = c->args;
	if (c->pos.n > 0) {
		const char *sub = c->pos.v[0];
		if (!strcmp(sub, "list"))
			return c->pos.n == 1 ? 0 : cli_usage("drill", "'drill list' takes no argument");
		if (!strcmp(sub, "run"))
			return c->pos.n == 2 && strchr(c->pos.v[1], ':')
				       ? 0
				       : cli_usage("drill", "'drill run' takes one schedule: volume:NAME or group:NAME");
		return cli_usage("drill", "unknown subcommand '%s'", sub);
	}
	if (!a->volume == !a->group)
		return cli_usage("drill", "name one of --volume V or --group G");
	if ((a->volume && !*a->volume) || (a->group && !*a->group))
		return cli_usage("drill", "an empty name");
	if (a->verify && !*a->verify)
		return cli_usage("drill", "--verify-command is empty");
	int64_t every;
	if (a->every && strcmp(a->every, "off") != 0 && cairn_interval_parse(a->every, "--every", &every) < 0)
		return cli_usage("drill", "%s", cairn_error_message());
	if (a->every && a->at)
		return cli_usage("drill", "--every drills the newest restore point: no --at");
	return 0;
}

static int drill_list(struct cli_global *g)
{
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	int r = cli_state_open(g, true, &st);
	if (r == CAIRN_ENOTFOUND) {
		cairn_error_clear();
		if (g->json)
			cli_print_json(json_pack("{s:[], s:[]}", "drills", "schedules"));
		return EXIT_OK;
	}
	if (r < 0)
		return cli_fail(r);
	struct cairn_drill_row *v = NULL;
	struct cairn_drill_schedule *sv = NULL;
	size_t n = 0, sn = 0;
	if ((r = cairn_drill_list(st, 50, &v, &n)) < 0 || (r = cairn_drill_schedule_list(st, &sv, &sn)) < 0) {
		cairn_drill_rows_free(v, n);
		return cli_fail(r);
	}
	if (g->json) {
		json_t *d = json_array(), *s = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(d, json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:f, s:f, s:I, s:b, s:s?, s:I}",
							   "id", (json_int_t)v[i].id, "kind", v[i].kind, "name",
							   v[i].name, "repo", v[i].repo, "backup", v[i].backup,
							   "started", (json_int_t)v[i].started, "restore_s",
							   v[i].restore_s, "check_s", v[i].check_s, "bytes",
							   (json_int_t)v[i].bytes, "ok", v[i].ok, "message",
							   v[i].message, "job", (json_int_t)v[i].job));
		for (size_t i = 0; i < sn; i++)
			json_array_append_new(s, json_pack("{s:s, s:s, s:s?, s:I, s:s?, s:s?, s:I}", "kind", sv[i].kind,
							   "name", sv[i].name, "repo", sv[i].repo, "every_s",
							   (json_int_t)sv[i].every, "verify_command",
							   sv[i].verify_command, "scratch", sv[i].scratch, "last_run",
							   (json_int_t)sv[i].last_run));
		cli_print_json(json_pack("{s:o, s:o}", "drills", d, "schedules", s));
	} else {
		printf("%-20s  %-6s  %-16s  %-6s  %8s  %8s  %s\n", "STARTED", "KIND", "NAME", "RESULT", "RESTORE",
		       "CHECK", "MESSAGE");
		for (size_t i = 0; i < n; i++) {
			char t[48];
			cairn_time_format(v[i].started, t, sizeof(t));
			printf("%-20s  %-6s  %-16s  %-6s  %7.1fs  %7.1fs  %s\n", t, v[i].kind, v[i].name,
			       v[i].ok ? "ok" : "FAILED", v[i].restore_s, v[i].check_s, v[i].message ? v[i].message : "");
		}
		for (size_t i = 0; i < sn; i++) {
			char every[32];
			cairn_interval_format(sv[i].every, every, sizeof(every));
			printf("schedule: %s %s every %s%s%s\n", sv[i].kind, sv[i].name, every, sv[i].repo ? " from " : "",
			       sv[i].repo ? sv[i].repo : "");
		}
	}
	cairn_drill_rows_free(v, n);
	cairn_drill_schedules_free(sv, sn);
	return EXIT_OK;
}

static void print_result(json_t *res)
{
	const char *msg = json_string_value(json_object_get(res, "message"));
	char b[32];
	cli_human_size((uint64_t)json_integer_value(json_object_get(res, "bytes")), b, sizeof(b));
	bool ok = json_is_true(json_object_get(res, "ok"));
	/* The failure's line is the one a log shows; the members follow. */
	fprintf(ok ? stdout : stderr, "drill %s %s %s: %s\n", json_string_value(json_object_get(res, "kind")),
		json_string_value(json_object_get(res, "name")), ok ? "passed" : "FAILED", msg ? msg : "");
	printf("restore point %.12s: restored %s in %.2f s, checked in %.2f s (RTO %.2f s)\n",
	       json_string_value(json_object_get(res, "backup")), b,
	       json_number_value(json_object_get(res, "restore_s")), json_number_value(json_object_get(res, "check_s")),
	       json_number_value(json_object_get(res, "rto_s")));
	size_t i;
	json_t *m;
	json_t *mem = json_object_get(res, "members");
	if (json_array_size(mem) > 1)
		json_array_foreach(mem, i, m) printf("  %s: %s\n", json_is_true(json_object_get(m, "ok")) ? "ok" : "FAILED",
						     json_string_value(json_object_get(m, "message")));
}

static int run_drill(struct cli_ctx *c)
{
	const struct drill_args *a = c->args;
	struct cli_global *g = c->g;
	if (c->pos.n == 1)
		return drill_list(g);
	struct cairn_app_drill o = { .group = a->group != NULL, .name = a->group ? a->group : a->volume, .at = a->at,
				     .scratch = a->scratch, .verify_command = a->verify };
	_cleanup_(cairn_drill_schedule_clear) struct cairn_drill_schedule sched = { 0 };
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	int r;
	if (c->pos.n == 2) {
		/* A schedule's drill: its settings, not options. */
		char kind[16];
		const char *colon = strchr(c->pos.v[1], ':');
		snprintf(kind, sizeof(kind), "%.*s", (int)(colon - c->pos.v[1]), c->pos.v[1]);
		if ((r = cli_state_open(g, true, &st)) < 0 ||
		    (r = cairn_drill_schedule_get(st, kind, colon + 1, &sched)) < 0)
			return cli_fail(r);
		o = (struct cairn_app_drill){ .group = !strcmp(sched.kind, "group"), .name = sched.name,
					      .scratch = sched.scratch, .verify_command = sched.verify_command };
		if (sched.repo)
			g->repo = sched.repo;
	}
	if (a->every && c->pos.n == 0 && !strcmp(a->every, "off")) {
		const char *kind = o.group ? "group" : "volume";
		if ((r = cli_state_open(g, true, &st)) < 0 || (r = cairn_drill_schedule_delete(st, kind, o.name)) < 0)
			return cli_fail(r);
		if (g->verbosity >= 0)
			fprintf(stderr, "drill schedule of %s %s removed\n", kind, o.name);
		return EXIT_OK;
	}
	struct cairn_repo_ref ref;
	cli_repo_ref(g, &ref);
	if (!ref.uri)
		return cli_usage("drill", "no repository: name one with --repo (or register one with 'cairn import')");
	o.uri = ref.uri;
	if (a->every && c->pos.n == 0) {
		if (!st && (r = cli_state_open(g, false, &st)) < 0)
			return cli_fail(r);
		const char *kind = o.group ? "group" : "volume";
		int64_t every = 0;
		cairn_interval_parse(a->every, "--every", &every);
		bool given = (g->repo && *g->repo) || getenv("CAIRN_REPO");
		struct cairn_drill_schedule s = { .kind = (char *)kind, .name = (char *)o.name,
						  .repo = given ? (char *)ref.uri : NULL, .every = every,
						  .verify_command = (char *)a->verify, .scratch = (char *)a->scratch,
						  .created = cairn_wall_now(), .last_run = cairn_wall_now() };
		if ((r = cairn_drill_schedule_set(st, &s)) < 0)
			return cli_fail(r);
		if (g->verbosity >= 0)
			fprintf(stderr, "drill schedule of %s %s: every %s (the daemon runs it); drilling now\n", kind,
				o.name, a->every);
	}
	_cleanup_(cairn_repo_freep) struct cairn_repo *repo = NULL;
	if ((r = cairn_app_repo_open(cli_app(g), st, &ref, &repo)) < 0)
		return cli_fail(r);
	struct cli_progress prog;
	o.progress = cli_progress_job(&prog, "drill", g, repo);
	json_t *res = NULL;
	if ((r = cairn_app_drill_run(cli_app(g), repo, &o, &res)) < 0)
		return cli_fail(r);
	bool ok = json_is_true(json_object_get(res, "ok"));
	if (g->json)
		cli_print_json(json_incref(res));
	else
		print_result(res);
	json_decref(res);
	return ok ? EXIT_OK : EXIT_FAIL;
}

const struct cli_cmd cli_cmd_drill = {
	.verb = "drill", .run = run_drill, .opts = drill_opts, .args_size = sizeof(struct drill_args),
	.pos_min = 0, .pos_max = 2, .check = check_drill, .job = "drill",
};
