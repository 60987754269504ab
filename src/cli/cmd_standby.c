/* cairn standby create|update|list|show|delete|status: warm standby
 * volumes (app/standby.h), the command line over the app layer. */
#include "app/standby.h"
#include "cli/cli.h"
#include "daemon/schedule.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct standby_args {
	const char *volume, *group, *to, *every, *at;
	bool force;
};
static const struct cli_opt standby_opts[] = {
	{ "volume", 0, OPT_STRING, CLI_ARG(struct standby_args, volume) },
	{ "group", 0, OPT_STRING, CLI_ARG(struct standby_args, group) },
	{ "to", 0, OPT_STRING, CLI_ARG(struct standby_args, to) },
	{ "every", 0, OPT_STRING, CLI_ARG(struct standby_args, every) },
	{ "at", 0, OPT_STRING, CLI_ARG(struct standby_args, at) },
	{ "force", 'f', OPT_FLAG, CLI_ARG(struct standby_args, force) },
	{ NULL, 0, 0, NULL, 0 },
};

/* --repo, else CAIRN_REPO; a registered repository's alias is kept as
 * such (app/standby.c resolves it at each use). */
static const char *repo_arg(struct cli_global *g)
{
	if (g->repo && *g->repo)
		return g->repo;
	const char *e = getenv("CAIRN_REPO");
	return e && *e ? e : NULL;
}

static const char *const subs[] = { "create", "update", "list", "show", "delete", "status", NULL };

static int check_standby(struct cli_ctx *c)
{
	const struct standby_args *a = c->args;
	const char *sub = c->pos.v[0];
	size_t k = 0;
	while (subs[k] && strcmp(subs[k], sub) != 0)
		k++;
	if (!subs[k])
		return cli_usage("standby", "unknown subcommand '%s'", sub);
	bool create = !strcmp(sub, "create"), update = !strcmp(sub, "update");
	bool list = !strcmp(sub, "list"), status = !strcmp(sub, "status");
	if (list && c->pos.n != 1)
		return cli_usage("standby", "'standby list' takes no argument");
	if (status && c->pos.n > 2)
		return cli_usage("standby", "'standby status' takes at most one NAME");
	if (!list && !status && c->pos.n != 2)
		return cli_usage("standby", "'standby %s' needs one NAME", sub);
	if (!create && (a->volume || a->group || a->to || a->every))
		return cli_usage("standby", "--volume, --group, --to and --every go with 'standby create'");
	if (!update && a->at)
		return cli_usage("standby", "--at goes with 'standby update'");
	if (!create && !update && a->force)
		return cli_usage("standby", "--force goes with 'standby create' and 'standby update'");
	if (create) {
		if (cairn_state_name_check("standby", c->pos.v[1]) < 0)
			return cli_usage("standby", "%s", cairn_error_message());
		if (!a->volume == !a->group)
			return cli_usage("standby", "give one of --volume V or --group G");
		if (!a->to)
			return cli_usage("standby", "give the standby's place with --to PATH|DEVICE (a directory for a group)");
		if (!repo_arg(c->g))
			return cli_usage("standby", "give the repository the standby follows with --repo URI "
						    "(or CAIRN_REPO)");
	}
	return 0;
}

static void print_result(struct cli_global *g, const char *name, const struct cairn_app_standby_result *res)
{
	if (g->json) {
		cli_print_json(json_pack("{s:s, s:o, s:s, s:b, s:b, s:s, s:I, s:I, s:I, s:f}", "name", name, "from",
					 *res->from ? json_string(res->from) : json_null(), "to", res->to, "changed",
					 res->changed, "recovered", res->recovered, "mode", res->mode ? res->mode : "none",
					 "bytes_changed", (json_int_t)res->bytes_changed, "bytes_written",
					 (json_int_t)res->bytes_written, "bytes_fetched", (json_int_t)res->bytes_fetched,
					 "seconds", res->seconds));
		return;
	}
	if (g->verbosity >= 0) {
		if (res->recovered)
			fprintf(stderr, "finished an interrupted update first\n");
		if (!res->changed)
			fprintf(stderr, "standby %s holds restore point %.12s already\n", name, res->to);
		else
			fprintf(stderr, "standby %s: %.12s -> %.12s (%s): %llu bytes written, %llu fetched, %.2f s\n",
				name, *res->from ? res->from : "(none)", res->to, res->mode,
				(unsigned long long)res->bytes_written, (unsigned long long)res->bytes_fetched,
				res->seconds);
	}
	printf("%s\n", res->to);
}

static json_t *standby_json(const struct cairn_standby *s)
{
	char t[48] = "";
	if (s->backup_created)
		cairn_time_format_us(s->backup_created, t, sizeof(t));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:b, s:I}", "name", s->name,
			 "kind", s->group ? "group" : "volume", "source", s->source, "repo", s->uri, "cred",
			 s->cred ? json_string(s->cred) : json_null(), "target", s->target, "every_s",
			 s->every ? json_integer(s->every) : json_null(), "backup",
			 s->backup ? json_string(s->backup) : json_null(), "backup_created",
			 s->backup_created ? json_string(t) : json_null(), "applied", (json_int_t)s->applied,
			 "apply_ms", (json_int_t)s->apply_ms, "bytes_written", (json_int_t)s->bytes_written,
			 "pending", s->pending != NULL, "created", (json_int_t)s->created);
}

static int run_list(struct cli_global *g, struct cairn_state *st, const char *name)
{
	struct cairn_standby *v = NULL;
	size_t n = 0;
	int r;
	bool rec = false;
	if (name && (r = cairn_app_standby_recover(cli_app(g), st, name, &rec)) < 0)
		return cli_fail(r);
	if (name) {
		if (!(v = calloc(1, sizeof(*v))))
			return cli_fail(cairn_error_nomem());
		if ((r = cairn_standby_get(st, name, v)) < 0) {
			free(v);
			return cli_fail(r);
		}
		n = 1;
	} else if ((r = cairn_standby_list(st, &v, &n)) < 0) {
		return cli_fail(r);
	}
	if (g->json) {
		json_t *out = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(out, standby_json(&v[i]));
		if (name) {
			json_t *one = json_incref(json_array_get(out, 0));
			json_decref(out);
			out = one;
		}
		cli_print_json(out);
	} else if (name) {
		const struct cairn_standby *s = &v[0];
		char t[48] = "-", a[48] = "-";
		if (s->backup_created)
			cairn_time_format_us(s->backup_created, t, sizeof(t));
		if (s->applied)
			cairn_time_format(s->applied, a, sizeof(a));
		printf("name:           %s\n%s:%*s%s\nrepository:     %s%s%s\ntarget:         %s\n", s->name,
		       s->group ? "group" : "volume", s->group ? 10 : 9, "", s->source, s->uri, s->cred ? " cred " : "",
		       s->cred ? s->cred : "", s->target);
		if (s->every)
			printf("every:          %llds\n", (long long)s->every);
		printf("holds:          %s (made %s)\napplied:        %s, %.3f s, %llu bytes written\n",
		       s->backup ? s->backup : "-", t, a, (double)s->apply_ms / 1000, (unsigned long long)s->bytes_written);
		if (s->pending)
			printf("pending:        an interrupted update (the next update finishes it)\n");
	} else {
		printf("%-16s  %-6s  %-16s  %-12s  %-20s  %s\n", "NAME", "KIND", "SOURCE", "HOLDS", "MADE", "TARGET");
		for (size_t i = 0; i < n; i++) {
			char t[48] = "-";
			if (v[i].backup_created)
				cairn_time_format(v[i].backup_created / 1000000, t, sizeof(t));
			printf("%-16s  %-6s  %-16s  %-12.12s  %-20.20s  %s\n", v[i].name, v[i].group ? "group" : "volume",
			       v[i].source, v[i].backup ? v[i].backup : "-", t, v[i].target);
		}
	}
	cairn_standbys_free(v, n);
	return EXIT_OK;
}

static void fmt_age(int64_t s, char *buf, size_t size)
{
	if (s < 0)
		snprintf(buf, size, "-");
	else if (s < 120)
		snprintf(buf, size, "%llds", (long long)s);
	else if (s < 7200)
		snprintf(buf, size, "%lldm", (long long)(s / 60));
	else if (s < 172800)
		snprintf(buf, size, "%lldh", (long long)(s / 3600));
	else
		snprintf(buf, size, "%lldd", (long long)(s / 86400));
}

static int run_status(struct cli_global *g, struct cairn_state *st, const char *name)
{
	struct cairn_app_standby_status *v = NULL;
	size_t n = 0;
	int r = cairn_app_standby_status(cli_app(g), st, name, &v, &n);
	if (r < 0)
		return cli_fail(r);
	bool bad = false;
	if (g->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *o = standby_json(&v[i].sb);
			char t[48];
			cairn_time_format_us(v[i].newest_created_us, t, sizeof(t));
			json_object_set_new(o, "newest", *v[i].newest ? json_string(v[i].newest) : json_null());
			json_object_set_new(o, "newest_created", *v[i].newest ? json_string(t) : json_null());
			json_object_set_new(o, "lag_s", v[i].lag_s >= 0 ? json_integer(v[i].lag_s) : json_null());
			json_object_set_new(o, "behind", json_boolean(v[i].behind));
			json_object_set_new(o, "late", json_boolean(v[i].late));
			json_object_set_new(o, "failed_over", json_boolean(v[i].failed_over));
			json_object_set_new(o, "error", v[i].error ? json_string(v[i].error) : json_null());
			json_array_append_new(a, o);
		}
		cli_print_json(a);
	} else {
		printf("%-16s  %-12s  %-6s  %-12s  %-8s  %s\n", "NAME", "HOLDS", "LAG", "NEWEST", "STATE", "TARGET");
	}
	for (size_t i = 0; i < n; i++) {
		const struct cairn_app_standby_status *s = &v[i];
		bad |= s->late || s->error;
		if (g->json)
			continue;
		char lag[32];
		fmt_age(s->lag_s, lag, sizeof(lag));
		const char *state = s->error ? "unknown" : s->failed_over ? "failover" : s->late ? "LATE" : s->behind ? "behind" : "current";
		printf("%-16s  %-12.12s  %-6s  %-12.12s  %-8s  %s\n", s->sb.name, s->sb.backup ? s->sb.backup : "-", lag,
		       *s->newest ? s->newest : "-", state, s->sb.target);
		if (s->error)
			fprintf(stderr, "cairn: standby %s: %s\n", s->sb.name, s->error);
	}
	cairn_app_standby_statuses_free(v, n);
	return bad ? EXIT_FAIL : EXIT_OK;
}

static int run_standby(struct cli_ctx *c)
{
	const struct standby_args *a = c->args;
	struct cli_global *g = c->g;
	const char *sub = c->pos.v[0], *name = c->pos.n > 1 ? c->pos.v[1] : NULL;
	int r;
	if (!strcmp(sub, "list") || !strcmp(sub, "show"))
		return run_list(g, c->st, name);
	if (!strcmp(sub, "status"))
		return run_status(g, c->st, name);
	if (!strcmp(sub, "delete")) {
		if ((r = cairn_app_standby_delete(cli_app(g), c->st, name)) < 0)
			return cli_fail(r);
		if (g->verbosity >= 0)
			fprintf(stderr, "deleted standby %s (its image stays where it is)\n", name);
		return EXIT_OK;
	}
	struct cairn_app_standby_result res;
	if (!strcmp(sub, "create")) {
		int64_t every = 0;
		if (a->every && cairn_interval_parse(a->every, "--every", &every) < 0)
			return cli_usage("standby", "%s", cairn_error_message());
		const char *cred = g->cred && *g->cred ? g->cred : getenv("CAIRN_CRED");
		struct cairn_app_standby_create o = { .name = name, .volume = a->volume, .group = a->group,
						      .uri = repo_arg(g), .cred = cred && *cred ? cred : NULL,
						      .target = a->to, .every = every, .force = a->force };
		if ((r = cairn_app_standby_create(cli_app(g), c->st, &o, &res)) < 0)
			return cli_fail(r);
	} else {
		struct cairn_app_standby_update o = { .at = a->at, .force = a->force };
		if ((r = cairn_app_standby_update(cli_app(g), c->st, name, &o, &res)) < 0)
			return cli_fail(r);
	}
	print_result(g, name, &res);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_standby = {
	.verb = "standby", .run = run_standby, .opts = standby_opts, .args_size = sizeof(struct standby_args),
	.pos_min = 1, .pos_max = 2, .pos_few = "missing subcommand: create, update, list, show, delete or status",
	.needs = CLI_NEEDS_STATE, .check = check_standby, .job = "standby", .help_sub = true,
};
