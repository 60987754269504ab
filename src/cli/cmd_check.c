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
	struct cairn_app_seen seen;
	int64_t listed_us; /* before the check began: the listing came later */
	struct cairn_seen_report vanished;
};

static void on_listed(const struct cairn_manifest_list *l, void *ud)
{
	struct out *o = ud;
	cairn_app_seen_observe(&o->seen, l, o->listed_us, &o->vanished);
}

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
	struct out out = { .json = g->json, .problems = json_array(), .affected = json_array(),
			   .listed_us = cairn_wall_now_us() };
	cairn_app_seen_begin(&out.seen, cli_app(g), NULL, repo);
	struct cli_progress prog;
	cli_progress_init(&prog, "check", g);
	prog.store = repo->store;
	struct cairn_check_opts o = { .read_data = read_data, .problem = on_problem, .affected = on_affected,
				      .listed = on_listed, .ud = &out, .progress = cli_progress_cb,
				      .progress_ud = &prog };
	struct cairn_check_stats st;
	struct cairn_app_job job;
	if ((r = cairn_app_job_begin(cli_app(g), NULL, "check", NULL, cli_repo_uri(g), cli_repo_uri(g), NULL, 0, &job)) < 0) {
		cairn_app_seen_end(&out.seen);
		cairn_repo_free(repo);
		return cli_fail(r);
	}
	r = cairn_check_run(repo, &o, &st);
	cli_progress_done(&prog);
	cairn_app_seen_end(&out.seen);
	/* Backups seen here before and gone now are not damage to what is
	 * there, but may be a rollback: a warning, and with --strict a
	 * failure like damage. */
	char gone[1024] = "";
	if (out.vanished.vanished)
		cairn_app_seen_describe(&out.vanished, gone, sizeof(gone));
	char result[1200];
	if (gone[0])
		snprintf(result, sizeof(result), "%llu backups, %llu packs, %llu blobs%s: no damage, but %s",
			 (unsigned long long)st.backups, (unsigned long long)st.packs, (unsigned long long)st.blobs,
			 read_data ? " (all data read)" : "", gone);
	else
		snprintf(result, sizeof(result), "%llu backups, %llu packs, %llu blobs%s: no problems",
			 (unsigned long long)st.backups, (unsigned long long)st.packs, (unsigned long long)st.blobs,
			 read_data ? " (all data read)" : "");
	(void)cairn_app_job_end(&job, r, r >= 0 ? result : NULL);
	cairn_repo_free(repo);
	bool strict_fail = r == 0 && strict && gone[0];
	if (g->json) {
		json_t *j = json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "ok", r == 0 && !strict_fail,
				      "read_data", read_data, "packs", (json_int_t)st.packs, "blobs",
				      (json_int_t)st.blobs, "backups", (json_int_t)st.backups, "index_objects",
				      (json_int_t)st.index_objects, "bytes_read", (json_int_t)st.bytes_read, "problems",
				      out.problems, "affected", out.affected);
		json_object_set_new(j, "vanished", cli_seen_json(&out.vanished));
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
	cli_seen_warn(&out.vanished);
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
