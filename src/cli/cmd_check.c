#include "app/check.h"
#include "cli/cli.h"
#include "cli/jobs.h"
#include "state/seen.h"
#include "util/time.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>

struct out {
	bool json;
	json_t *problems, *affected;
};

static void on_problem(const char *object, const char *what, void *ud)
{
	struct out *o = ud;
	if (o->json)
		json_array_append_new(o->problems, json_pack("{s:s, s:s}", "object", object, "problem", what));
	else
		printf("damaged: %s: %s\n", object, what);
}

static void on_affected(const struct cairn_manifest *m, uint64_t missing, uint64_t damaged, void *ud)
{
	struct out *o = ud;
	if (o->json)
		json_array_append_new(o->affected, json_pack("{s:s, s:s, s:I, s:I}", "id", m->idhex, "volume", m->volume,
							     "missing_chunks", (json_int_t)missing,
							     "damaged_chunks", (json_int_t)damaged));
	else
		printf("affected: backup %s (%s): %llu chunk(s) missing, %llu damaged\n", m->idhex, m->volume,
		       (unsigned long long)missing, (unsigned long long)damaged);
}

struct check_args {
	bool read_data, strict;
};
static const struct cli_opt check_opts[] = {
	{ "read-data", 0, OPT_FLAG, CLI_ARG(struct check_args, read_data) },
	{ "strict", 0, OPT_FLAG, CLI_ARG(struct check_args, strict) },
	{ NULL, 0, 0, NULL, 0 },
};

static int run_check(struct cli_ctx *c)
{
	const struct check_args *a = c->args;
	struct cli_global *g = c->g;
	bool read_data = a->read_data, strict = a->strict;
	struct cairn_repo *repo = TAKE_PTR(c->repo);
	int r;
	struct out out = { .json = g->json, .problems = json_array(), .affected = json_array() };
	struct cli_progress prog;
	struct cairn_app_check o = { .uri = cli_repo_uri(g), .read_data = read_data, .problem = on_problem,
				     .affected = on_affected, .ud = &out,
				     .progress = cli_progress_job(&prog, "check", g, repo) };
	struct cairn_app_check_result res;
	r = cairn_app_check(cli_app(g), repo, &o, &res);
	cairn_repo_free(repo);
	if (!res.ran) {
		json_decref(out.problems);
		json_decref(out.affected);
		return cli_fail(r);
	}
	const struct cairn_check_stats st = res.stats;
	const char *gone = res.gone;
	bool strict_fail = r == 0 && strict && gone[0];
	if (g->json) {
		json_t *j = json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "ok", r == 0 && !strict_fail,
				      "read_data", read_data, "packs", (json_int_t)st.packs, "blobs",
				      (json_int_t)st.blobs, "backups", (json_int_t)st.backups, "index_objects",
				      (json_int_t)st.index_objects, "bytes_read", (json_int_t)st.bytes_read, "problems",
				      out.problems, "affected", out.affected);
		json_object_set_new(j, "vanished", cli_seen_json(&res.vanished));
		cli_print_json(j);
	} else {
		json_decref(out.problems);
		json_decref(out.affected);
	}
	if (r == CAIRN_ECORRUPT) {
		fprintf(stderr, "cairn: check found damage: %s\n", cairn_error_message());
		return EXIT_DAMAGED;
	}
	if (r < 0)
		return cli_fail(r);
	if (strict_fail) {
		fprintf(stderr, "cairn: check --strict: %s\n", gone);
		return EXIT_DAMAGED;
	}
	cli_seen_warn(&res.vanished);
	if (!g->json && g->verbosity >= 0)
		fprintf(stderr, "%s: %llu backups, %llu packs, %llu blobs%s\n",
			gone[0] ? "no damage in what is there" : "no problems", (unsigned long long)st.backups,
			(unsigned long long)st.packs, (unsigned long long)st.blobs,
			read_data ? ", all data read and verified" : "");
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_check = {
	.verb = "check", .run = run_check, .opts = check_opts, .args_size = sizeof(struct check_args),
	.pos_max = 0, .needs = CLI_NEEDS_REPO, .job = "check",
};
