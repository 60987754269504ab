/* cairn prune [--dry-run] [--max-unused 5%] [--safety-window 24h]. */
#include "app/prune.h"
#include "cli/jobs.h"
#include "daemon/schedule.h"
#include "engine/prune.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_max_unused(const char *s, struct cairn_prune_opts *o)
{
	if (strcmp(s, "unlimited") == 0) {
		o->unlimited = true;
		return 0;
	}
	size_t n = strlen(s);
	if (n > 1 && s[n - 1] == '%') {
		char *end;
		double v = strtod(s, &end);
		if (end != s + n - 1 || !(v >= 0 && v < 100))
			return -1;
		o->max_unused_pct = v;
		return 0;
	}
	uint64_t b;
	if (cli_parse_size(s, &b) < 0 || b == 0)
		return -1;
	o->max_unused_bytes = b;
	return 0;
}

struct prune_args {
	bool dry_run;
	const char *max_unused, *window;
	struct cairn_prune_opts o; /* from them */
};
static const struct cli_opt prune_opts[] = {
	{ "dry-run", 'n', OPT_FLAG, CLI_ARG(struct prune_args, dry_run) },
	{ "max-unused", 0, OPT_STRING, CLI_ARG(struct prune_args, max_unused) },
	{ "safety-window", 0, OPT_STRING, CLI_ARG(struct prune_args, window) },
	{ NULL, 0, 0, NULL, 0 },
};

static int check_prune(struct cli_ctx *c)
{
	struct prune_args *a = c->args;
	struct cairn_prune_opts *o = &a->o;
	*o = (struct cairn_prune_opts){ .dry_run = a->dry_run, .max_unused_pct = 5, .window = -1 };
	if (a->max_unused && parse_max_unused(a->max_unused, o) < 0)
		return cli_usage("prune", "invalid --max-unused '%s': a percentage below 100%% (5%%), a size (1G) or "
					  "'unlimited'",
				 a->max_unused);
	if (a->window) {
		if (strcmp(a->window, "0") == 0)
			o->window = 0;
		else if (cairn_interval_parse(a->window, "--safety-window", &o->window) < 0)
			return cli_usage("prune", "%s (or 0: only when no backup can be running)", cairn_error_message());
	}
	return 0;
}

static int run_prune(struct cli_ctx *c)
{
	struct prune_args *a = c->args;
	struct cli_global *g = c->g;
	bool dry_run = a->dry_run;
	struct cairn_repo *repo = TAKE_PTR(c->repo);
	struct cli_progress prog;
	struct cairn_app_prune o = { .uri = cli_repo_uri(g), .opts = a->o,
				     .progress = cli_progress_job(&prog, dry_run ? "prune (dry run)" : "prune", g, NULL) };
	struct cairn_prune_stats st;
	int r = cairn_app_prune(cli_app(g), repo, &o, &st);
	cairn_repo_free(repo);
	if (r < 0)
		return cli_fail(r);
	char freed[32];
	cli_human_size(st.bytes_deleted, freed, sizeof(freed));
	if (g->json) {
		json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
					 "s:I, s:I, s:I, s:I, s:b, s:f}",
					 "dry_run", dry_run, "backups", (json_int_t)st.backups, "packs",
					 (json_int_t)st.packs, "blobs", (json_int_t)st.blobs, "repo_bytes",
					 (json_int_t)st.repo_bytes, "used_bytes", (json_int_t)st.used_bytes,
					 "unused_bytes", (json_int_t)st.unused_bytes, "orphan_packs",
					 (json_int_t)st.orphan_packs, "packs_unused", (json_int_t)st.packs_unused,
					 "packs_repacked", (json_int_t)st.packs_repacked, "bytes_repacked",
					 (json_int_t)st.bytes_repacked, "packs_written", (json_int_t)st.packs_written,
					 "packs_deleted", (json_int_t)st.packs_deleted, "bytes_deleted",
					 (json_int_t)st.bytes_deleted, "packs_waiting", (json_int_t)st.packs_waiting,
					 "bytes_waiting", (json_int_t)st.bytes_waiting, "unused_after",
					 (json_int_t)st.unused_after, "running", (json_int_t)st.running,
					 "leftovers_removed", (json_int_t)st.leftovers_removed, "deferred",
					 st.deferred, "seconds", st.seconds);
		if (j) {
			char until[40] = "";
			if (st.locked_until)
				cairn_time_format(st.locked_until, until, sizeof(until));
			json_object_set_new(j, "packs_locked", json_integer((json_int_t)st.packs_locked));
			json_object_set_new(j, "bytes_locked", json_integer((json_int_t)st.bytes_locked));
			json_object_set_new(j, "locked_until", st.locked_until ? json_string(until) : json_null());
		}
		cli_print_json(j);
	} else if (g->verbosity >= 0) {
		char repo_b[32], used[32], unused[32], rep[32], after[32], wait[32];
		cli_human_size(st.repo_bytes, repo_b, sizeof(repo_b));
		cli_human_size(st.used_bytes, used, sizeof(used));
		cli_human_size(st.unused_bytes, unused, sizeof(unused));
		cli_human_size(st.bytes_repacked, rep, sizeof(rep));
		cli_human_size(st.unused_after, after, sizeof(after));
		cli_human_size(st.bytes_waiting, wait, sizeof(wait));
		fprintf(stderr, "%llu backups, %llu packs (%s): %s used, %s unused\n", (unsigned long long)st.backups,
			(unsigned long long)st.packs, repo_b, used, unused);
		fprintf(stderr, "%s %llu unused pack(s) and repack%s %llu (%s copied); %s %llu pack(s), %s freed; "
				"%s stays unused\n",
			dry_run ? "would drop" : "dropped", (unsigned long long)st.packs_unused, dry_run ? "" : "ed",
			(unsigned long long)st.packs_repacked, rep, dry_run ? "would delete" : "deleted",
			(unsigned long long)st.packs_deleted, freed, after);
		if (st.packs_waiting)
			fprintf(stderr, "%llu pack(s) (%s) wait for the safety window: %llu backup(s) or restore(s) are "
					"running; a later prune deletes them\n",
				(unsigned long long)st.packs_waiting, wait, (unsigned long long)st.running);
		if (st.packs_locked) {
			char until[40], lk[32];
			cairn_time_format(st.locked_until, until, sizeof(until));
			cli_human_size(st.bytes_locked, lk, sizeof(lk));
			fprintf(stderr, "%llu pack(s) (%s) kept until %s: object lock\n",
				(unsigned long long)st.packs_locked, lk, until);
		}
		if (st.leftovers_removed)
			fprintf(stderr, "removed %llu leftover(s) of interrupted uploads\n",
				(unsigned long long)st.leftovers_removed);
		if (!dry_run)
			fprintf(stderr, "prune took %.2f s\n", st.seconds);
	}
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_prune = {
	.verb = "prune", .run = run_prune, .opts = prune_opts, .args_size = sizeof(struct prune_args),
	.pos_max = 0, .check = check_prune, .needs = CLI_NEEDS_REPO, .job = "prune",
};
