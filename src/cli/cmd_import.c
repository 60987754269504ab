/* cairn import TOKEN and cairn repos list|remove|sync: registered
 * repositories (app/drexport.h, state/repos.h). */
#include "app/drexport.h"
#include "app/drtoken.h"
#include "cli/cli.h"
#include "daemon/schedule.h"
#include "state/repos.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct import_args {
	const char *as, *every, *job;
	bool list;
};
static const struct cli_opt import_opts[] = {
	{ "as", 0, OPT_STRING, CLI_ARG(struct import_args, as) },
	{ "every", 0, OPT_STRING, CLI_ARG(struct import_args, every) },
	{ "list", 0, OPT_FLAG, CLI_ARG(struct import_args, list) },
	{ "job", 0, OPT_STRING, CLI_ARG(struct import_args, job) },
	{ NULL, 0, 0, NULL, 0 },
};

static int repos_list(struct cli_global *g, struct cairn_state *st)
{
	struct cairn_repo_reg *v = NULL;
	size_t n = 0;
	int r = cairn_repo_reg_list(st, &v, &n);
	if (r < 0)
		return cli_fail(r);
	if (g->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++) {
			char t[48];
			cairn_time_format_us(v[i].newest, t, sizeof(t));
			json_array_append_new(
				a, json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:o, s:I, s:o, s:I}", "name", v[i].name, "uri",
					     v[i].uri, "id", v[i].repo_id, "fingerprint", v[i].fingerprint, "cred",
					     v[i].cred ? json_string(v[i].cred) : json_null(), "imported",
					     (json_int_t)v[i].imported, "newest", v[i].newest ? json_string(t) : json_null(),
					     "backups", (json_int_t)v[i].backups, "every_s",
					     v[i].every ? json_integer(v[i].every) : json_null(), "last_import",
					     (json_int_t)v[i].last_import));
		}
		cli_print_json(a);
	} else {
		printf("%-16s  %-8s  %-20s  %7s  %-8s  %s\n", "NAME", "ID", "NEWEST", "BACKUPS", "EVERY", "URI");
		for (size_t i = 0; i < n; i++) {
			char t[48] = "-", every[32] = "-";
			if (v[i].newest)
				cairn_time_format(v[i].newest / 1000000, t, sizeof(t));
			if (v[i].every)
				snprintf(every, sizeof(every), "%llds", (long long)v[i].every);
			printf("%-16s  %-8.8s  %-20.20s  %7llu  %-8s  %s\n", v[i].name, v[i].repo_id, t,
			       (unsigned long long)v[i].backups, every, v[i].uri);
		}
	}
	cairn_repo_regs_free(v, n);
	return EXIT_OK;
}

/* The token from the argument, or from stdin for "-". */
static int read_token(const char *arg, char **ret)
{
	if (strcmp(arg, "-") != 0)
		return (*ret = strdup(arg)) ? 0 : cairn_error_nomem();
	size_t cap = 0, n = 0;
	char *buf = NULL;
	int ch;
	while ((ch = getchar()) != EOF) {
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 4096;
			if (cap > (16u << 20)) {
				free(buf);
				return cairn_error_set(CAIRN_EINVAL, "the token on stdin is too long");
			}
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return cairn_error_nomem();
			}
			buf = nb;
		}
		buf[n++] = (char)ch;
	}
	if (!buf)
		return cairn_error_set(CAIRN_EINVAL, "no token on stdin");
	buf[n] = 0;
	*ret = buf;
	return 0;
}

static int check_import(struct cli_ctx *c)
{
	const struct import_args *a = c->args;
	if (a->list && c->pos.n)
		return cli_usage("import", "--list takes no token");
	if (!a->list && c->pos.n != 1)
		return cli_usage("import", "give the TOKEN 'cairn export-details' printed (or - to read it from stdin)");
	if (a->as && cairn_state_name_check("repository", a->as) < 0)
		return cli_usage("import", "--as: %s", cairn_error_message());
	if (a->job)
		return cli_usage("import", "--job goes with 'cairn repos sync'");
	return 0;
}

static int run_import(struct cli_ctx *c)
{
	const struct import_args *a = c->args;
	struct cli_global *g = c->g;
	if (a->list)
		return repos_list(g, c->st);
	int64_t every = -1;
	if (a->every && cairn_interval_parse(a->every, "--every", &every) < 0)
		return cli_usage("import", "%s", cairn_error_message());
	_cleanup_free_ char *tok = NULL;
	int r = read_token(c->pos.v[0], &tok);
	json_t *doc = NULL;
	char sum[CAIRN_DR_TOKEN_SUM_HEX + 1];
	if (r >= 0)
		r = cairn_dr_token_decode(tok, &doc, sum);
	if (r < 0)
		return cli_fail(r);
	const char *cred = g->cred && *g->cred ? g->cred : getenv("CAIRN_CRED");
	struct cairn_dr_import_opts o = { .cred = cred && *cred ? cred : NULL, .name = a->as, .every = every };
	json_t *res = NULL;
	r = cairn_app_dr_import(cli_app(g), c->st, doc, sum, &o, &res);
	json_decref(doc);
	if (r < 0)
		return cli_fail(r);
	if (g->json) {
		cli_print_json(res);
		return EXIT_OK;
	}
	size_t i;
	json_t *line;
	if (g->verbosity >= 0) {
		json_array_foreach(json_object_get(res, "actions"), i, line) fprintf(stderr, "%s\n",
									     json_string_value(line));
		if (!json_is_true(json_object_get(res, "changed")))
			fprintf(stderr, "nothing changed: this token was imported already\n");
	}
	printf("%s\n", json_string_value(json_object_get(res, "name")));
	json_decref(res);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_import = {
	.verb = "import", .run = run_import, .opts = import_opts, .args_size = sizeof(struct import_args),
	.pos_max = CLI_POS_ANY, .needs = CLI_NEEDS_STATE, .check = check_import,
};

/* ---- cairn repos ---- */

static int check_repos(struct cli_ctx *c)
{
	const struct import_args *a = c->args;
	const char *sub = c->pos.v[0];
	bool list = !strcmp(sub, "list");
	if (!list && strcmp(sub, "remove") && strcmp(sub, "sync"))
		return cli_usage("repos", "unknown subcommand '%s'", sub);
	if ((list && c->pos.n != 1) || (!list && c->pos.n != 2))
		return cli_usage("repos", list ? "'repos list' takes no argument" : "'repos %s' needs one NAME", sub);
	if (a->as || a->every || a->list)
		return cli_usage("repos", "--as, --every and --list go with 'cairn import'");
	if (a->job && strcmp(sub, "sync") != 0)
		return cli_usage("repos", "--job goes with 'repos sync'");
	return 0;
}

static int run_repos(struct cli_ctx *c)
{
	const struct import_args *a = c->args;
	struct cli_global *g = c->g;
	const char *sub = c->pos.v[0];
	if (!strcmp(sub, "list"))
		return repos_list(g, c->st);
	const char *name = c->pos.v[1];
	int r;
	if (!strcmp(sub, "remove")) {
		if ((r = cairn_repo_reg_delete(c->st, name)) < 0)
			return cli_fail(r);
		if (g->verbosity >= 0)
			fprintf(stderr, "removed %s from the registered repositories (the repository itself, its groups "
					"and policies stay)\n", name);
		return EXIT_OK;
	}
	int64_t job = a->job ? strtoll(a->job, NULL, 10) : 0;
	uint64_t n = 0;
	if ((r = cairn_app_dr_sync(cli_app(g), c->st, name, job, &n)) < 0)
		return cli_fail(r);
	if (g->json)
		cli_print_json(json_pack("{s:s, s:I}", "name", name, "arrived", (json_int_t)n));
	else
		printf("%llu new restore point(s) in %s\n", (unsigned long long)n, name);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_repos = {
	.verb = "repos", .run = run_repos, .opts = import_opts, .args_size = sizeof(struct import_args),
	.pos_min = 1, .pos_max = 2, .pos_few = "missing subcommand: list, remove or sync",
	.needs = CLI_NEEDS_STATE, .check = check_repos, .job = "import", .help_sub = false,
};
