#include "app/backup.h"
#include "cli/cli.h"
#include "cli/jobs.h"
#include "source/snapshot.h"
#include "source/volume.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/io.h"
#include "util/log.h"
#include "util/time.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


json_t *cli_manifest_json(const struct cairn_manifest *m)
{
	char created[48], parent[33];
	cairn_time_format_us(m->created_us, created, sizeof(created));
	/* RFC 3339 with seconds is what scripts compare; keep the micros out. */
	cairn_time_format(m->created_us / 1000000, created, sizeof(created));
	cairn_hex_encode(m->parent, sizeof(m->parent), parent);
	json_t *tags = json_array();
	for (size_t i = 0; i < m->ntags; i++)
		json_array_append_new(tags, json_string(m->tags[i]));
	/* consistency: null for a backup made before it was recorded. */
	json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:s, s:o, s:o, s:s, s:s, s:o}",
			 "id", m->idhex,
			 "volume", m->volume, "created", created, "size", (json_int_t)m->size, "bytes_read",
			 (json_int_t)m->stats.bytes_read, "bytes_new", (json_int_t)m->stats.bytes_new, "bytes_stored",
			 (json_int_t)m->stats.bytes_stored, "chunks_new", (json_int_t)m->stats.chunks_new,
			 "bytes_hashed", (json_int_t)m->stats.bytes_hashed, "seconds",
			 m->stats.seconds, "change_tracking", m->change_tracking, "parent",
			 m->has_parent ? json_string(parent) : json_null(), "tags", tags, "hostname",
			 m->hostname ? m->hostname : "", "source", m->source ? m->source : "", "consistency",
			 m->consistency ? json_string(m->consistency) : json_null());
	/* The file catalog (format.h CATALOG): whether there is one, and
	 * why not; its cost in stats. */
	if (j) {
		json_object_set_new(j, "catalog", json_boolean(m->has_catalog));
		json_object_set_new(j, "catalog_reason",
				    m->has_catalog ? json_null()
						   : json_string(m->catalog_none ? m->catalog_none
										 : "made before cairn kept catalogs"));
		json_object_set_new(j, "catalog_nodes_new", json_integer((json_int_t)m->stats.catalog_nodes_new));
		json_object_set_new(j, "catalog_bytes_new", json_integer((json_int_t)m->stats.catalog_bytes_new));
		json_object_set_new(j, "catalog_seconds", json_real(m->stats.catalog_seconds));
	}
	return j;
}

/* Whether the volume changed while it was read: true, false, or null when
 * that was not checked (a snapshot was read, or a block device, which has
 * no change clock, or a backup made before it was recorded). */
json_t *cli_change_during_read_json(const struct cairn_manifest *m)
{
	const char *c = m->consistency;
	if (c && strcmp(c, "changed-during-read") == 0)
		return json_true();
	if (c && (strcmp(c, "unchanged") == 0 || strcmp(c, "frozen") == 0))
		return json_false();
	return json_null();
}

void cli_print_consistency_advice(const struct cairn_manifest *m)
{
	if (!m->consistency || strcmp(m->consistency, "changed-during-read") != 0)
		return;
	fprintf(stderr,
		"%s changed while it was read: backup %.12s is kept but marked changed-during-read (it may not\n"
		"be one instant).  For one instant: back it up with --freeze MOUNTPOINT (the file system that\n"
		"writes to it, frozen while it is read), in a consistency group with --freeze (group backup,\n"
		"or group backup --freeze-during-read), or with --snapshot copy while nothing writes to it.\n",
		m->volume, m->idhex);
}

/* Mount points, owned. */
struct cli_strv {
	char **v;
	size_t n;
};
static void cli_strv_freep(struct cli_strv *s)
{
	for (size_t i = 0; s->v && i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

struct backup_args {
	const char *name, *snapshot, *compression, *max_freeze;
	bool full, no_catalog;
	struct cli_list tags, freeze;
	enum cairn_snap_method method; /* from snapshot */
	struct cairn_comp_mode comp;   /* from compression */
	unsigned max_freeze_ms;        /* from max_freeze */
};
static const struct cli_opt backup_opts[] = {
	{ "name", 'n', OPT_STRING, CLI_ARG(struct backup_args, name) },
	{ "full", 0, OPT_FLAG, CLI_ARG(struct backup_args, full) },
	{ "tag", 't', OPT_LIST, CLI_ARG(struct backup_args, tags) },
	{ "no-catalog", 0, OPT_FLAG, CLI_ARG(struct backup_args, no_catalog) },
	{ "snapshot", 0, OPT_STRING, CLI_ARG(struct backup_args, snapshot) },
	{ "compression", 0, OPT_STRING, CLI_ARG(struct backup_args, compression) },
	{ "freeze", 0, OPT_LIST, CLI_ARG(struct backup_args, freeze) },
	{ "max-freeze", 0, OPT_STRING, CLI_ARG(struct backup_args, max_freeze) },
	{ NULL, 0, 0, NULL, 0 },
};

static int check_backup(struct cli_ctx *c)
{
	struct backup_args *a = c->args;
	if (cairn_snap_method_parse(a->snapshot ? a->snapshot : "auto", &a->method) < 0)
		return cli_usage("backup", "--snapshot takes auto, reflink, copy, lvm or none");
	if (a->compression) {
		int r = cli_parse_compression("backup", a->compression, &a->comp);
		if (r != 0)
			return r;
	}
	if (a->max_freeze && !a->freeze.n)
		return cli_usage("backup", "--max-freeze goes with --freeze");
	if (a->max_freeze && cli_parse_seconds_ms(a->max_freeze, &a->max_freeze_ms) < 0)
		return cli_usage("backup", "--max-freeze takes seconds, more than 0 and at most 3600");
	return 0;
}

static int run_backup(struct cli_ctx *c)
{
	const struct backup_args *a = c->args;
	struct cli_global *g = c->g;
	const struct cli_list pos = c->pos, tags = a->tags;
	const char *name = a->name;
	bool full = a->full;
	enum cairn_snap_method method = a->method;
	int r;
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	_cleanup_(cli_strv_freep) struct cli_strv fz = { 0 };
	if (a->freeze.n && (r = cli_absolute_paths(&a->freeze, true, &fz.v)) < 0)
		return cli_fail(r);
	fz.n = a->freeze.n;
	if (method != CAIRN_SNAP_NONE && (r = cli_state_open(g, false, &st)) < 0)
		return cli_fail(r);
	struct cairn_repo_ref ref;
	cli_repo_ref(g, &ref);
	struct cairn_app_backup o = { .source = pos.v[0], .uri = ref.uri, .name = name, .tags = tags.v,
				      .ntags = tags.n, .full = full, .snapshot = method,
				      .freeze = (const char *const *)fz.v, .nfreeze = fz.n,
				      .max_freeze_ms = a->max_freeze_ms, .no_catalog = a->no_catalog };
	_cleanup_(cairn_app_backup_prep_clear) struct cairn_app_backup_prep prep = CAIRN_APP_BACKUP_PREP_INIT;
	if ((r = cairn_app_backup_prepare(cli_app(g), st, &ref, &o, &prep)) < 0)
		return cli_fail(r);
	struct cairn_repo *repo = TAKE_PTR(prep.repo);
	if (a->compression)
		cairn_repo_set_compression(repo, &a->comp);
	char comp[32];
	cairn_comp_mode_format(&repo->compression, comp, sizeof(comp));
	struct cli_progress prog;
	o.progress = cli_progress_job(&prog, "backup", g, repo);
	struct cairn_manifest *m = NULL;
	struct cairn_snap_backup_info info;
	r = cairn_app_backup(cli_app(g), st, repo, &o, &m, &info);
	cairn_repo_free(repo);
	if (r < 0)
		return cli_fail(r);
	if (g->json) {
		json_t *j = cli_manifest_json(m);
		json_object_set_new(j, "snapshot", json_string(cairn_snap_method_name(info.method)));
		json_object_set_new(j, "snapshot_seconds", json_real(info.snapshot_seconds));
		json_object_set_new(j, "snapshot_bytes_copied", json_integer((json_int_t)info.bytes_copied));
		json_object_set_new(j, "snapshot_reason", info.why_live ? json_string(info.why_live) : json_null());
		json_object_set_new(j, "change_during_read", cli_change_during_read_json(m));
		json_object_set_new(j, "compression", json_string(comp));
		if (fz.n)
			json_object_set_new(j, "frozen_seconds", json_real(info.frozen_seconds));
		if (info.why_full_read)
			json_object_set_new(j, "full_read_because", json_string(info.why_full_read));
		cli_print_json(j);
	} else {
		printf("%s\n", m->idhex);
		if (g->verbosity >= 0) {
			char rd[32], nw[32], sd[32];
			cli_human_size(m->stats.bytes_read, rd, sizeof(rd));
			cli_human_size(m->stats.bytes_new, nw, sizeof(nw));
			cli_human_size(m->stats.bytes_stored, sd, sizeof(sd));
			fprintf(stderr, "backup %.12s of %s: read %s, new %s, stored %s in %.2f s (%s", m->idhex,
				m->volume, rd, nw, sd, m->stats.seconds, m->change_tracking);
			if (info.why_full_read)
				fprintf(stderr, ": %s", info.why_full_read);
			if (info.method == CAIRN_SNAP_COPY) {
				char cp[32];
				cli_human_size(info.bytes_copied, cp, sizeof(cp));
				fprintf(stderr, "; snapshot: a copy of %s, no reflink here)\n", cp);
			} else if (info.why_live) {
				fprintf(stderr, "; snapshot: none (%s)%s)\n", info.why_live,
					fz.n ? ", read while frozen" : "");
			} else {
				fprintf(stderr, "; snapshot: %s)\n", cairn_snap_method_name(info.method));
			}
			if (fz.n)
				fprintf(stderr, "file systems frozen for %.3f s\n", info.frozen_seconds);
		}
		cli_print_consistency_advice(m);
	}
	cairn_manifest_free(m);
	return EXIT_OK;
}

/* The repository is opened while the snapshot is taken
 * (cairn_app_backup_prepare), the state database only for a snapshot. */
const struct cli_cmd cli_cmd_backup = {
	.verb = "backup", .run = run_backup, .opts = backup_opts, .args_size = sizeof(struct backup_args),
	.pos_min = 1, .pos_max = 1, .pos_few = "missing SOURCE", .pos_many = "give exactly one SOURCE",
	.check = check_backup, .job = "backup",
};
