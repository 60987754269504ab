/* cairn copy: backups to another repository (app/copy.h). */
#include "app/copy.h"
#include "app/drexport.h"
#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct copy_args {
	const char *to, *to_cred, *to_pass_file, *volume, *group;
	bool all, no_holds, dry_run;
};
static const struct cli_opt copy_opts[] = {
	{ "to", 0, OPT_STRING, CLI_ARG(struct copy_args, to) },
	{ "to-cred", 0, OPT_STRING, CLI_ARG(struct copy_args, to_cred) },
	{ "to-passphrase-file", 0, OPT_STRING, CLI_ARG(struct copy_args, to_pass_file) },
	{ "volume", 0, OPT_STRING, CLI_ARG(struct copy_args, volume) },
	{ "group", 0, OPT_STRING, CLI_ARG(struct copy_args, group) },
	{ "all", 0, OPT_FLAG, CLI_ARG(struct copy_args, all) },
	{ "no-holds", 0, OPT_FLAG, CLI_ARG(struct copy_args, no_holds) },
	{ "dry-run", 0, OPT_FLAG, CLI_ARG(struct copy_args, dry_run) },
	{ NULL, 0, 0, NULL, 0 },
};

static int check_copy(struct cli_ctx *c)
{
	const struct copy_args *a = c->args;
	if (!a->to || !*a->to)
		return cli_usage("copy", "no destination: give --to URI");
	int what = (c->pos.n > 0) + (a->volume != NULL) + (a->group != NULL) + a->all;
	if (what == 0)
		return cli_usage("copy", "nothing to copy: give BACKUP..., --volume V, --group G or --all");
	if (what > 1)
		return cli_usage("copy", "give one of BACKUP..., --volume, --group, --all");
	return 0;
}

struct out {
	struct cli_global *g;
	json_t *backups;
};

static void on_backup(const struct cairn_manifest *m, bool skipped, void *ud)
{
	struct out *o = ud;
	if (o->g->json)
		json_array_append_new(o->backups, json_pack("{s:s, s:s, s:b}", "id", m->idhex, "volume", m->volume,
							    "skipped", skipped));
	else if (o->g->verbosity > 0 || (!skipped && o->g->verbosity >= 0))
		fprintf(stderr, "%s %s (%s)\n", skipped ? "already there:" : "copied", m->idhex, m->volume);
}

static int run_copy(struct cli_ctx *c)
{
	const struct copy_args *a = c->args;
	struct cli_global *g = c->g;
	struct cairn_pass_source pass;
	cli_second_pass_source(true, a->to_pass_file, &pass);
	/* --to NAME: a repository registered by import (cairn repos list),
	 * with its credential unless --to-cred names another. */
	_cleanup_free_ char *alias_uri = NULL, *alias_cred = NULL;
	if (!strchr(a->to, '/') && !strstr(a->to, "://") &&
	    cairn_app_repo_alias(cli_app(g), a->to, &alias_uri, &alias_cred) < 0)
		cairn_error_clear();
	struct cairn_repo_ref from, to = { .uri = alias_uri ? alias_uri : a->to,
					   .cred = a->to_cred ? a->to_cred : alias_cred, .pass = &pass,
					   .connections = g->connections, .limit_upload = g->limit_upload };
	cli_repo_ref(g, &from);
	/* Both keys derived at once: a copy with nothing new costs little
	 * more than that. */
	_cleanup_(cairn_repo_freep) struct cairn_repo *src = NULL, *dst = NULL;
	int which, r = cairn_app_repo_open_pair(cli_app(g), NULL, &from, &to, &src, &dst, &which);
	if (r < 0)
		return cli_fail(which ? cairn_app_copy_destination_error(&to, r) : r);
	struct out out = { .g = g, .backups = json_array() };
	struct cli_progress prog;
	struct cairn_app_copy o = {
		.from_uri = cli_repo_uri(g), .to = &to, .dst = dst,
		.opts = { .specs = c->pos.v, .nspecs = c->pos.n, .volume = a->volume, .group = a->group, .all = a->all,
			  .no_holds = a->no_holds, .dry_run = a->dry_run, .state_dir = cli_app(g)->state_dir,
			  .backup_done = on_backup, .ud = &out },
		.progress = cli_progress_job(&prog, a->dry_run ? "copy (dry run)" : "copy", g, NULL),
	};
	struct cairn_app_copy_result res;
	r = cairn_app_copy(cli_app(g), src, &o, &res);
	if (r < 0) {
		json_decref(out.backups);
		return cli_fail(r);
	}
	const struct cairn_copy_stats *st = &res.stats;
	if (g->json) {
		json_t *j = json_pack("{s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:o}",
				      "from", cli_repo_uri(g), "to", a->to, "dry_run", a->dry_run, "same_key_family",
				      st->same_family, "backups_copied", (json_int_t)st->backups_copied,
				      "backups_skipped", (json_int_t)st->backups_skipped, "groups_copied",
				      (json_int_t)st->groups_copied, "groups_skipped", (json_int_t)st->groups_skipped,
				      "holds_copied", (json_int_t)st->holds_copied, "blobs_sent",
				      (json_int_t)st->blobs_sent, "bytes_sent", (json_int_t)st->bytes_sent,
				      "bytes_skipped", (json_int_t)st->bytes_skipped, "packs_whole",
				      (json_int_t)st->packs_whole, "packs_server_side", (json_int_t)st->packs_server_side,
				      "seconds", st->seconds, "backups", out.backups);
		json_object_set_new(j, "catalog_nodes_sent", json_integer((json_int_t)st->catalog_nodes_sent));
		json_object_set_new(j, "catalog_bytes_sent", json_integer((json_int_t)st->catalog_bytes_sent));
		json_object_set_new(j, "bytes_through_host",
				    res.host_known ? json_integer((json_int_t)res.host_bytes) : json_null());
		cli_print_json(j);
	} else {
		json_decref(out.backups);
		if (g->verbosity >= 0) {
			char sent[32], skipped[32], host[64] = "";
			cli_human_size(st->bytes_sent, sent, sizeof(sent));
			cli_human_size(st->bytes_skipped, skipped, sizeof(skipped));
			if (res.host_known) {
				char h[32];
				cli_human_size(res.host_bytes, h, sizeof(h));
				snprintf(host, sizeof(host), ", %s through this host", h);
			}
			fprintf(stderr,
				"%s%llu backup(s) copied, %llu already there; %llu blobs, %s %s (%s not needed)%s, "
				"%s, in %.1f s\n",
				a->dry_run ? "dry run: " : "", (unsigned long long)st->backups_copied,
				(unsigned long long)st->backups_skipped, (unsigned long long)st->blobs_sent, sent,
				a->dry_run ? "would be sent" : "sent", skipped, host,
				st->same_family ? "same key family" : "re-sealed (unrelated keys)", st->seconds);
		}
	}
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_copy = {
	.verb = "copy", .run = run_copy, .opts = copy_opts, .args_size = sizeof(struct copy_args),
	.pos_max = CLI_POS_ANY, .needs = CLI_NEEDS_NOTHING, .job = "copy", .check = check_copy,
};
