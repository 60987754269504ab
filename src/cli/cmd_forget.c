/* cairn forget, cairn hold, cairn release. */
#include "app/backups.h"
#include "cli/jobs.h"
#include "engine/retention.h"
#include "repo/group.h"
#include "repo/hold.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	struct cli_global *g;
	const struct cairn_keep_rules *rules;
	json_t *arr;
	bool header;
};

static void on_decision(const struct cairn_forget_item *it, void *ud)
{
	struct out *o = ud;
	char created[48], reasons[256];
	/* A damaged object's time is unknown (0). */
	if (it->created_us)
		cairn_time_format(it->created_us / 1000000, created, sizeof(created));
	else
		snprintf(created, sizeof(created), "?");
	cairn_keep_reasons(it->keep, o->rules, reasons, sizeof(reasons));
	if (o->arr) {
		json_t *rs = json_array();
		char *save = NULL;
		for (char *t = strtok_r(reasons, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(rs, json_string(t + strspn(t, " ")));
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id", it->idhex, "type",
				      it->group ? "group" : "volume", it->group ? "group" : "volume", it->series,
				      "created", created, "action", it->keep ? "keep" : "forget", "reasons", rs);
		if (!it->created_us)
			json_object_set_new(j, "created", json_null());
		if (it->note)
			json_object_set_new(j, "note", json_string(it->note));
		if (it->group)
			json_object_set_new(j, "members", json_integer((json_int_t)it->nmembers));
		json_array_append_new(o->arr, j);
		return;
	}
	if (!o->header) {
		printf("%-20s  %-32s  %-20s  %-6s  %s\n", "SERIES", "ID", "CREATED", "ACTION", "WHY KEPT");
		o->header = true;
	}
	char series[96];
	snprintf(series, sizeof(series), "%s%s", it->group ? "group " : "", it->series);
	printf("%-20s  %-32s  %-20s  %-6s  %s%s%s\n", series, it->idhex, created, it->keep ? "keep" : "forget",
	       reasons, it->note ? (reasons[0] ? "; " : "") : "", it->note ? it->note : "");
}

/* "N under object lock" (a static buffer: one use per line). */
static const char *cli_count_locked(uint64_t n)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "%llu under object lock", (unsigned long long)n);
	return buf;
}

static void print_result(struct cli_global *g, json_t *arr, bool dry_run, const struct cairn_forget_stats *fs)
{
	if (arr)
		cli_print_json(json_pack("{s:b, s:I, s:I, s:o}", "dry_run", dry_run, "kept", (json_int_t)fs->kept,
					 "forgotten", (json_int_t)fs->forgotten, "backups", arr));
	else if (g->verbosity >= 0)
		fprintf(stderr, "%s %llu, kept %llu%s%s%s%s\n", dry_run ? "would forget" : "forgot",
			(unsigned long long)fs->forgotten, (unsigned long long)fs->kept,
			fs->locked ? " (" : "", fs->locked ? cli_count_locked(fs->locked) : "", fs->locked ? ")" : "",
			dry_run ? " (dry run: nothing deleted)"
				: fs->forgotten ? "; 'cairn prune' frees their data" : "");
}

/* A name that matches no backup: one this host saw and reported gone is
 * acknowledged, and no longer reported. */
/* A name that matches no backup: one this host saw and reported gone was
 * acknowledged (app/policy.h), and is no longer reported. */
static bool acknowledged_gone(const char *spec, void *ud)
{
	struct out *o = ud;
	if (o->arr)
		json_array_append_new(o->arr, json_pack("{s:s, s:s}", "id", spec, "action", "gone"));
	else if (o->g->verbosity >= 0)
		fprintf(stderr, "backup %s is gone from the repository already: no longer reported as vanished\n",
			spec);
	return true;
}

/* cairn forget BACKUP...: those backups, whatever the rules would say. */
static int forget_named(struct cli_global *g, const struct cli_list *pos, bool dry_run)
{
	struct cairn_repo *repo = NULL;
	int r = cli_open_repo(g, &repo);
	if (r < 0)
		return cli_fail(r);
	struct cairn_keep_rules none = { 0 };
	struct out o = { .g = g, .rules = &none, .arr = g->json ? json_array() : NULL };
	struct cairn_forget_opts fo = { .dry_run = dry_run, .decision = on_decision,
					.gone = dry_run ? NULL : acknowledged_gone, .ud = &o };
	char src[300];
	snprintf(src, sizeof(src), "backup %s%s", pos->v[0], pos->n > 1 ? " and more" : "");
	const struct cairn_app_forget fj = { .source = src, .uri = cli_repo_uri(g), .names = (const char *const *)pos->v,
					     .nnames = pos->n };
	struct cairn_forget_stats fs = { 0 };
	r = cairn_app_forget_job(cli_app(g), NULL, repo, &fj, &fo, &fs);
	cairn_repo_free(repo);
	if (r < 0) {
		json_decref(o.arr);
		return cli_fail(r);
	}
	print_result(g, o.arr, dry_run, &fs);
	return EXIT_OK;
}

struct forget_args {
	struct keep_args k;
	const char *volume, *policy, *group;
	bool dry_run;
	struct cairn_keep_rules rules; /* from k */
};
#define K(field) CLI_ARG(struct forget_args, k.field)
static const struct cli_opt forget_opts[] = {
	{ "volume", 0, OPT_STRING, CLI_ARG(struct forget_args, volume) },
	{ "policy", 0, OPT_STRING, CLI_ARG(struct forget_args, policy) },
	{ "group", 0, OPT_STRING, CLI_ARG(struct forget_args, group) },
	{ "keep-last", 0, OPT_STRING, K(last) },
	{ "keep-hourly", 0, OPT_STRING, K(hourly) },
	{ "keep-daily", 0, OPT_STRING, K(daily) },
	{ "keep-weekly", 0, OPT_STRING, K(weekly) },
	{ "keep-monthly", 0, OPT_STRING, K(monthly) },
	{ "keep-yearly", 0, OPT_STRING, K(yearly) },
	{ "keep-within", 0, OPT_STRING, K(within) },
	{ "dry-run", 'n', OPT_FLAG, CLI_ARG(struct forget_args, dry_run) },
	{ NULL, 0, 0, NULL, 0 },
};
#undef K

/* What is opened depends on what is forgotten: backups named (the
 * repository), a policy's (the state database too). */
static int check_forget(struct cli_ctx *c)
{
	struct forget_args *a = c->args;
	if (c->pos.n && (a->volume || a->policy || a->group))
		return cli_usage("forget", "give backups or one of --volume, --group and --policy, not both");
	if (!!a->volume + !!a->policy + !!a->group > 1)
		return cli_usage("forget", "give at most one of --volume, --group and --policy");
	return cli_keep_parse("forget", &a->k, &a->rules);
}

static int run_forget(struct cli_ctx *c)
{
	const struct forget_args *a = c->args;
	struct cli_global *g = c->g;
	const struct cli_list pos = c->pos;
	const char *volume = a->volume, *policy = a->policy, *group = a->group;
	bool dry_run = a->dry_run;
	struct cairn_forget_opts fo = { .volume = volume, .group = group, .dry_run = dry_run, .rules = a->rules };
	int r;
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	struct cairn_policy p = { 0 };
	struct cairn_repo_ref ref;
	cli_repo_ref(g, &ref);
	_cleanup_free_ char *pvol = NULL;
	if (policy) {
		if ((r = cli_state_open(g, false, &st)) < 0)
			return cli_fail(r);
		if ((r = cairn_policy_get(st, policy, &p)) < 0)
			return cli_fail(r);
		/* As when it runs (app/policy.h): its own rules, unless the
		 * command line gives some; its own backups, unless its scope is
		 * the volume. */
		if ((r = cairn_app_policy_forget_opts(&p, NULL, &fo, &pvol)) < 0) {
			cairn_policy_clear(&p);
			return cli_fail(r);
		}
		if (!g->repo)
			cairn_app_policy_repo_ref(&p, g->connections, g->limit_upload, &ref);
	}
	if (pos.n) {
		if (!cairn_keep_rules_empty(&fo.rules))
			return cli_usage("forget", "give backups or --keep-* rules, not both");
		return forget_named(g, &pos, dry_run);
	}
	if (cairn_keep_rules_empty(&fo.rules)) {
		cairn_policy_clear(&p);
		if (policy)
			return cli_usage("forget", "policy %s keeps everything: give --keep-* rules", policy);
		return cli_usage("forget", "nothing to keep: give at least one --keep-* rule");
	}
	if (!ref.uri) {
		cairn_policy_clear(&p);
		return cli_usage("forget", "no repository given: use --repo URI or set CAIRN_REPO");
	}
	struct cairn_repo *repo = NULL;
	if ((r = cairn_app_repo_open(cli_app(g), st, &ref, &repo)) < 0) {
		cairn_policy_clear(&p);
		return cli_fail(r);
	}
	struct out o = { .g = g, .rules = &fo.rules, .arr = g->json ? json_array() : NULL };
	fo.decision = on_decision;
	fo.ud = &o;
	char src[300];
	snprintf(src, sizeof(src), "%s%s", fo.group ? "group " : fo.volume ? "volume " : "",
		 fo.group ? fo.group : fo.volume ? fo.volume : ref.uri);
	const struct cairn_app_forget fj = { .policy = policy, .source = src, .uri = ref.uri };
	struct cairn_forget_stats fs = { 0 };
	r = cairn_app_forget_job(cli_app(g), st, repo, &fj, &fo, &fs);
	cairn_repo_free(repo);
	cairn_policy_clear(&p);
	if (r < 0) {
		json_decref(o.arr);
		return cli_fail(r);
	}
	print_result(g, o.arr, dry_run, &fs);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_forget = {
	.verb = "forget", .run = run_forget, .opts = forget_opts, .args_size = sizeof(struct forget_args),
	.pos_max = CLI_POS_ANY, .check = check_forget, .job = "forget",
};

/* hold --reason TEXT; release takes no option. */
struct hold_args {
	const char *reason;
};
static const struct cli_opt hold_opts[] = {
	{ "reason", 0, OPT_STRING, CLI_ARG(struct hold_args, reason) },
	{ NULL, 0, 0, NULL, 0 },
};
static const struct cli_opt release_opts[] = { { NULL, 0, 0, NULL, 0 } };

static int check_hold(struct cli_ctx *c)
{
	const struct hold_args *a = c->args;
	if (a->reason && strlen(a->reason) > CAIRN_HOLD_REASON_MAX)
		return cli_usage(c->cmd->verb, "--reason is longer than %d bytes", CAIRN_HOLD_REASON_MAX);
	return 0;
}

static int run_hold(struct cli_ctx *c)
{
	const struct hold_args *a = c->args;
	struct cli_global *g = c->g;
	bool hold = c->cmd->opts == hold_opts;
	const char *reason = a->reason;
	const struct cli_list pos = c->pos;
	struct cairn_repo *repo = TAKE_PTR(c->repo);
	int r;
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	char what[CAIRN_APP_WHAT_MAX];
	r = cairn_app_backup_resolve_any(repo, pos.v[0], !hold, id, what);
	if (r >= 0)
		r = hold ? cairn_hold_put(repo, id, reason) : cairn_hold_delete(repo, id);
	cairn_repo_free(repo);
	if (r < 0)
		return cli_fail(r);
	char hex[2 * CAIRN_BACKUP_ID_LEN + 1];
	cairn_hex_encode(id, sizeof(id), hex);
	if (g->json)
		cli_print_json(json_pack("{s:s, s:b, s:s}", "id", hex, "held", hold, "reason", reason ? reason : ""));
	else if (g->verbosity >= 0)
		fprintf(stderr, hold ? "held %s: forget keeps it until 'cairn release'\n"
				     : "released %s: retention rules apply to it again\n",
			what);
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_hold = {
	.verb = "hold", .run = run_hold, .opts = hold_opts, .args_size = sizeof(struct hold_args), .pos_min = 1,
	.pos_max = 1, .pos_few = "missing BACKUP", .pos_many = "give one BACKUP", .check = check_hold,
	.needs = CLI_NEEDS_REPO,
};

const struct cli_cmd cli_cmd_release = {
	.verb = "release", .run = run_hold, .opts = release_opts, .args_size = sizeof(struct hold_args),
	.pos_min = 1, .pos_max = 1, .pos_few = "missing BACKUP", .pos_many = "give one BACKUP",
	.needs = CLI_NEEDS_REPO,
};
