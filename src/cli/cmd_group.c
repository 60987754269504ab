/* cairn group create|list|delete|backup|restore: consistency groups. */
#include "app/group.h"
#include "cli/cli.h"
#include "cli/jobs.h"
#include "repo/group.h"
#include "source/volume.h"
#include "state/groups.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


static json_t *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Absolute paths of the given volumes or mount points (app/group.h). */
int cli_absolute_paths(const struct cli_list *in, bool dirs, char ***ret)
{
	return cairn_app_stable_paths(in->v, in->n, dirs, ret);
}

int cli_parse_seconds_ms(const char *s, unsigned *ret)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || end == s || (*end && strcmp(end, "s")) || !(d > 0) || d > 3600)
		return -1;
	*ret = (unsigned)lround(d * 1000);
	return *ret ? 0 : -1;
}

static int group_create(struct cli_global *g, struct cairn_state *st, const char *name, struct cli_list *vols,
			struct cli_list *names, struct cli_list *freeze, const char *pre, const char *post,
			const char *config, const char *max_freeze)
{
	if (names->n && names->n != vols->n)
		return cli_usage("group", "give one --volume-name per --volume, in their order (%zu names for %zu volumes)",
				 names->n, vols->n);
	struct cairn_app_group_new n = { .name = name, .volumes = vols->v, .nvolumes = vols->n,
					 .names = names->n ? names->v : NULL, .freeze = freeze->v, .nfreeze = freeze->n,
					 .pre_hook = pre, .post_hook = post, .config = config };
	if (max_freeze && cli_parse_seconds_ms(max_freeze, &n.max_freeze_ms) < 0)
		return cli_usage("group", "--max-freeze takes seconds, more than 0 and at most 3600");
	/* The checks are the app's (the API's POST /groups makes the same);
	 * a definition it refuses is the command line's fault. */
	int r = cairn_app_group_create(st, &n);
	if (r == CAIRN_EINVAL)
		return cli_usage("group", "%s", cairn_error_message());
	if (r < 0)
		return cli_fail(r);
	if (g->json)
		cli_print_json(json_pack("{s:s}", "created", name));
	else if (g->verbosity >= 0)
		fprintf(stderr, "created group %s (%zu volume(s), %zu file system(s) to freeze)\n", name, vols->n,
			freeze->n);
	return EXIT_OK;
}

static int group_list(struct cli_global *g, struct cairn_state *st)
{
	struct cairn_group *v = NULL;
	size_t n = 0;
	int r = cairn_group_list(st, &v, &n);
	if (r < 0)
		return cli_fail(r);
	if (g->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++) {
			char created[48];
			cairn_time_format(v[i].created, created, sizeof(created));
			json_array_append_new(
				a, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:f}", "name", v[i].name, "created",
					     created, "volumes", strv_json(v[i].volumes, v[i].nvolumes), "freeze",
					     strv_json(v[i].freeze, v[i].nfreeze), "config", opt_str(v[i].config),
					     "pre_hook", opt_str(v[i].pre_hook), "post_hook", opt_str(v[i].post_hook),
					     "max_freeze_s", v[i].max_freeze_ms / 1000.0));
			/* The names given at create, null where the default applies. */
			json_t *names = json_array();
			for (size_t k = 0; k < v[i].nvolumes; k++)
				json_array_append_new(names, opt_str(v[i].names ? v[i].names[k] : NULL));
			json_object_set_new(json_array_get(a, json_array_size(a) - 1), "volume_names", names);
		}
		cli_print_json(a);
	} else {
		printf("%-16s  %-7s  %-6s  %-10s  %s\n", "NAME", "VOLUMES", "FREEZE", "MAX-FREEZE", "CONFIG");
		for (size_t i = 0; i < n; i++) {
			char mf[32];
			snprintf(mf, sizeof(mf), "%.1fs", v[i].max_freeze_ms / 1000.0);
			printf("%-16s  %-7zu  %-6zu  %-10s  %s\n", v[i].name, v[i].nvolumes, v[i].nfreeze, mf,
			       v[i].config ? v[i].config : "-");
		}
	}
	cairn_groups_free(v, n);
	return EXIT_OK;
}

static json_t *group_backup_json(const struct cairn_group_backup *gb)
{
	char created[48];
	cairn_time_format(gb->created_us / 1000000, created, sizeof(created));
	json_t *members = json_array();
	for (size_t i = 0; i < gb->nmembers; i++)
		json_array_append_new(members, json_pack("{s:s, s:s}", "volume", gb->members[i].volume, "backup",
							 gb->members[i].backup_hex));
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:f, s:o}", "id", gb->idhex, "group", gb->name, "created", created,
			 "members", members, "freeze", strv_json(gb->freeze, gb->nfreeze), "frozen_seconds",
			 gb->frozen_seconds, "config", opt_str(gb->config_name));
}

static int group_backup(struct cli_global *g, struct cairn_state *st, const char *name, bool full,
			bool during, bool no_catalog, struct cli_list *tags, const struct cairn_comp_mode *comp)
{
	struct cairn_group grp;
	int r = cairn_group_get(st, name, &grp);
	if (r < 0)
		return cli_fail(r);
	struct cairn_repo *repo = NULL;
	if ((r = cli_open_repo(g, &repo)) < 0) {
		cairn_group_clear(&grp);
		return cli_fail(r);
	}
	if (comp)
		cairn_repo_set_compression(repo, comp);
	struct cli_progress prog;
	struct cairn_app_group_backup o = { .group = &grp, .uri = cli_repo_uri(g), .tags = tags->v, .ntags = tags->n,
					    .full = full, .freeze_during_read = during, .no_catalog = no_catalog,
					    .progress = cli_progress_job(&prog, "group backup", g, repo) };
	struct cairn_app_group_made made;
	r = cairn_app_group_backup(cli_app(g), st, repo, &o, &made);
	const struct cairn_group_backup *gb = made.gb;
	struct cairn_manifest *const *members = made.members;
	if (r >= 0) {
		if (g->json) {
			json_t *j = group_backup_json(gb);
			json_t *arr = json_array();
			for (size_t i = 0; i < grp.nvolumes; i++) {
				json_t *mj = cli_manifest_json(members[i]);
				json_object_set_new(mj, "change_during_read", cli_change_during_read_json(members[i]));
				json_array_append_new(arr, mj);
			}
			json_object_set_new(j, "backups", arr);
			const struct cairn_group_backup_cost *cost = &made.cost;
			json_object_set_new(j, "cost",
					    json_pack("{s:I, s:I, s:I, s:I, s:f}", "instant_snapshots",
						      (json_int_t)cost->ninstant, "copied", (json_int_t)cost->ncopied,
						      "bytes_copied", (json_int_t)cost->bytes_copied, "read_frozen",
						      (json_int_t)cost->nread_frozen, "frozen_seconds",
						      cost->frozen_seconds));
			cli_print_json(j);
		} else {
			printf("%s\n", gb->idhex);
			if (g->verbosity >= 0) {
				fprintf(stderr, "group backup %.12s of %s: %zu volume(s)", gb->idhex, gb->name, gb->nmembers);
				if (gb->nfreeze)
					fprintf(stderr, ", frozen %.3f s", gb->frozen_seconds);
				/* What the one instant cost: a copy is a full read and
				 * write of the volume; a live read keeps it frozen. */
				const struct cairn_group_backup_cost *cost = &made.cost;
				if (cost->ncopied) {
					char cp[32];
					cli_human_size(cost->bytes_copied, cp, sizeof(cp));
					fprintf(stderr, "; %zu volume(s) with no instant snapshot copied (%s)%s", cost->ncopied,
						cp, gb->nfreeze ? " while frozen" : "");
				}
				if (cost->nread_frozen)
					fprintf(stderr, "; %zu volume(s) with no instant snapshot read while frozen",
						cost->nread_frozen);
				fputc('\n', stderr);
				for (size_t i = 0; i < grp.nvolumes; i++) {
					char rd[32];
					cli_human_size(members[i]->stats.bytes_read, rd, sizeof(rd));
					fprintf(stderr, "  %s  %.12s  read %s (%s; %s)\n", members[i]->volume,
						members[i]->idhex, rd, members[i]->change_tracking,
						members[i]->consistency ? members[i]->consistency : "?");
				}
				for (size_t i = 0; i < grp.nvolumes; i++)
					cli_print_consistency_advice(members[i]);
			}
		}
	}
	cairn_app_group_made_clear(&made);
	cairn_group_clear(&grp);
	cairn_repo_free(repo);
	return r < 0 ? cli_fail(r) : EXIT_OK;
}

static int group_backups(struct cli_global *g, const char *name)
{
	struct cairn_repo *repo = NULL;
	int r = cli_open_repo(g, &repo);
	if (r < 0)
		return cli_fail(r);
	struct cairn_group_backup_list l;
	if ((r = cairn_group_backup_list_load(repo, &l)) < 0) {
		cairn_repo_free(repo);
		return cli_fail(r);
	}
	json_t *arr = g->json ? json_array() : NULL;
	if (!g->json)
		printf("%-16s  %-32s  %-20s  %-7s  %s\n", "GROUP", "ID", "CREATED", "VOLUMES", "CONFIG");
	for (size_t i = 0; i < l.n; i++) {
		const struct cairn_group_backup *gb = l.v[i];
		if (name && strcmp(gb->name, name) != 0)
			continue;
		if (arr) {
			json_array_append_new(arr, group_backup_json(gb));
			continue;
		}
		char created[48];
		cairn_time_format(gb->created_us / 1000000, created, sizeof(created));
		printf("%-16s  %-32s  %-20s  %-7zu  %s\n", gb->name, gb->idhex, created, gb->nmembers,
		       gb->config_name ? gb->config_name : "-");
	}
	if (arr)
		cli_print_json(arr);
	if (l.damaged == 1)
		r = cairn_error_set(CAIRN_ECORRUPT,
				    "group backup object groups/%s is damaged: 'cairn forget %s' removes it, its "
				    "members stay as backups",
				    l.bad[0], l.bad[0]);
	else if (l.damaged)
		r = cairn_error_set(CAIRN_ECORRUPT,
				    "%zu group backup objects are damaged, groups/%s first: 'cairn forget ID' removes "
				    "one, its members stay as backups ('cairn check' lists them)",
				    l.damaged, l.bad[0]);
	cairn_group_backup_list_free(&l);
	cairn_repo_free(repo);
	return r < 0 ? cli_fail(r) : EXIT_OK;
}

static int group_restore(struct cli_global *g, const char *spec, const char *to, bool force)
{
	if (!to)
		return cli_usage("group", "'group restore' needs --to DIR");
	struct cairn_repo *repo = NULL;
	int r = cli_open_repo(g, &repo);
	if (r < 0)
		return cli_fail(r);
	struct cairn_group_backup_list gl;
	struct cairn_manifest_list ml;
	if ((r = cairn_group_backup_list_load(repo, &gl)) < 0) {
		cairn_repo_free(repo);
		return cli_fail(r);
	}
	if ((r = cairn_manifest_list_load(repo, &ml)) < 0) {
		cairn_group_backup_list_free(&gl);
		cairn_repo_free(repo);
		return cli_fail(r);
	}
	struct cairn_group_backup *gb = NULL;
	r = cairn_group_backup_resolve(&gl, spec, &gb);
	if (r >= 0) {
		struct cli_progress prog;
		struct cairn_app_group_restore o = { .to = to, .uri = cli_repo_uri(g), .force = force,
						     .progress = cli_progress_job(&prog, "group restore", g, repo) };
		r = cairn_app_group_restore(cli_app(g), repo, gb, &ml, &o);
	}
	if (r >= 0) {
		if (g->json) {
			cli_print_json(group_backup_json(gb));
		} else if (g->verbosity >= 0) {
			fprintf(stderr, "restored group backup %.12s of %s to %s: %zu volume(s)%s%s\n", gb->idhex, gb->name,
				to, gb->nmembers, gb->config_name ? " and config " : "",
				gb->config_name ? gb->config_name : "");
		}
	}
	cairn_manifest_list_free(&ml);
	cairn_group_backup_list_free(&gl);
	cairn_repo_free(repo);
	return r < 0 ? cli_fail(r) : EXIT_OK;
}

struct group_args {
	const char *pre, *post, *config, *max_freeze, *to, *compression;
	bool full, force, backups, during, no_catalog;
	struct cli_list vols, names, freeze, tags;
	struct cairn_comp_mode comp; /* from compression */
};
#define A(field) CLI_ARG(struct group_args, field)
static const struct cli_opt group_opts[] = {
	{ "volume", 0, OPT_LIST, A(vols) },
	{ "volume-name", 0, OPT_LIST, A(names) },
	{ "freeze", 0, OPT_LIST, A(freeze) },
	{ "pre-hook", 0, OPT_STRING, A(pre) },
	{ "post-hook", 0, OPT_STRING, A(post) },
	{ "config", 0, OPT_STRING, A(config) },
	{ "max-freeze", 0, OPT_STRING, A(max_freeze) },
	{ "full", 0, OPT_FLAG, A(full) },
	{ "freeze-during-read", 0, OPT_FLAG, A(during) },
	{ "no-catalog", 0, OPT_FLAG, A(no_catalog) },
	{ "tag", 't', OPT_LIST, A(tags) },
	{ "compression", 0, OPT_STRING, A(compression) },
	{ "to", 0, OPT_STRING, A(to) },
	{ "force", 'f', OPT_FLAG, A(force) },
	{ "backups", 0, OPT_FLAG, A(backups) },
	{ NULL, 0, 0, NULL, 0 },
};
#undef A

static int check_group(struct cli_ctx *c)
{
	struct group_args *a = c->args;
	const char *sub = c->pos.v[0];
	bool create = !strcmp(sub, "create"), list = !strcmp(sub, "list"), del = !strcmp(sub, "delete"),
	     backup = !strcmp(sub, "backup"), restore = !strcmp(sub, "restore");
	if (!create && !list && !del && !backup && !restore)
		return cli_usage("group", "unknown subcommand '%s'", sub);
	if ((list && c->pos.n > 2) || (!list && c->pos.n != 2))
		return cli_usage("group", "wrong number of arguments for 'group %s'", sub);
	if (!create && (a->vols.n || a->names.n || a->freeze.n || a->pre || a->post || a->config || a->max_freeze))
		return cli_usage("group", "--volume, --volume-name, --freeze, --pre-hook, --post-hook, --config and "
					  "--max-freeze go with 'group create'");
	if (!backup && a->no_catalog)
		return cli_usage("group", "--no-catalog goes with 'group backup'");
	if (!backup && (a->full || a->tags.n || a->during || a->compression))
		return cli_usage("group", "--full, --tag, --freeze-during-read and --compression go with 'group backup'");
	int r;
	if (a->compression && (r = cli_parse_compression("group", a->compression, &a->comp)) != 0)
		return r;
	if (!restore && (a->to || a->force))
		return cli_usage("group", "--to and --force go with 'group restore'");
	return 0;
}

static int run_group(struct cli_ctx *c)
{
	const struct group_args *a = c->args;
	struct cli_global *g = c->g;
	const struct cli_list pos = c->pos;
	struct cli_list vols = a->vols, names = a->names, freeze = a->freeze, tags = a->tags;
	const char *pre = a->pre, *post = a->post, *config = a->config, *max_freeze = a->max_freeze, *to = a->to;
	bool full = a->full, force = a->force, backups = a->backups;
	const char *sub = pos.v[0];
	bool create = !strcmp(sub, "create"), list = !strcmp(sub, "list"), backup = !strcmp(sub, "backup"),
	     restore = !strcmp(sub, "restore");
	int r;
	if (restore)
		return group_restore(g, pos.v[1], to, force);
	if (list && backups)
		return group_backups(g, pos.n == 2 ? pos.v[1] : NULL);
	if (backups)
		return cli_usage("group", "--backups goes with 'group list'");
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	if ((r = cli_state_open(g, false, &st)) < 0)
		return cli_fail(r);
	if (create)
		return group_create(g, st, pos.v[1], &vols, &names, &freeze, pre, post, config, max_freeze);
	if (list)
		return group_list(g, st);
	if (backup)
		return group_backup(g, st, pos.v[1], full, a->during, a->no_catalog, &tags, a->compression ? &a->comp : NULL);
	if ((r = cairn_group_delete(st, pos.v[1])) < 0)
		return cli_fail(r);
	if (g->json)
		cli_print_json(json_pack("{s:s}", "deleted", pos.v[1]));
	else if (g->verbosity >= 0)
		fprintf(stderr, "deleted group %s (its backups stay in their repositories)\n", pos.v[1]);
	return EXIT_OK;
}

/* What is opened depends on the subcommand: restore and list --backups
 * read a repository, the others the state database. */
const struct cli_cmd cli_cmd_group = {
	.verb = "group", .run = run_group, .opts = group_opts, .args_size = sizeof(struct group_args),
	.pos_min = 1, .pos_max = CLI_POS_ANY,
	.pos_few = "missing subcommand: create, list, delete, backup or restore", .check = check_group,
	.job = "backup",
};
