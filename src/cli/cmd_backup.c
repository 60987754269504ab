#include "cli/cli.h"
#include "cli/jobs.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/time.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

json_t *cli_manifest_json(const struct cairn_manifest *m);

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
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:s, s:o, s:o, s:s}", "id", m->idhex,
			 "volume", m->volume, "created", created, "size", (json_int_t)m->size, "bytes_read",
			 (json_int_t)m->stats.bytes_read, "bytes_new", (json_int_t)m->stats.bytes_new, "bytes_stored",
			 (json_int_t)m->stats.bytes_stored, "chunks_new", (json_int_t)m->stats.chunks_new,
			 "bytes_hashed", (json_int_t)m->stats.bytes_hashed, "seconds",
			 m->stats.seconds, "change_tracking", m->change_tracking, "parent",
			 m->has_parent ? json_string(parent) : json_null(), "tags", tags, "hostname",
			 m->hostname ? m->hostname : "");
}

int cmd_backup(int argc, char **argv, struct cli_global *g)
{
	const char *name = NULL, *snapshot = "auto";
	bool full = false;
	_cleanup_(cli_list_freep) struct cli_list tags = { 0 };
	_cleanup_(cli_list_freep) struct cli_list pos = { 0 };
	const struct cli_opt opts[] = {
		{ "name", 'n', OPT_STRING, &name },
		{ "full", 0, OPT_FLAG, &full },
		{ "tag", 't', OPT_LIST, &tags },
		{ "snapshot", 0, OPT_STRING, &snapshot },
		{ NULL, 0, 0, NULL },
	};
	int r = cli_parse(argc, argv, opts, g, &pos);
	if (r)
		return r;
	if (g->help) {
		cli_help("backup");
		return EXIT_OK;
	}
	cairn_log_level = g->verbosity;
	if (pos.n != 1)
		return cli_usage("backup", pos.n ? "give exactly one SOURCE" : "missing SOURCE");
	enum cairn_snap_method method;
	if (cairn_snap_method_parse(snapshot, &method) < 0)
		return cli_usage("backup", "--snapshot takes auto, reflink, copy, lvm or none");
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	if (method != CAIRN_SNAP_NONE && (r = cli_state_open(g, false, &st)) < 0)
		return cli_fail(r);
	struct cairn_repo *repo = NULL;
	if ((r = cli_open_repo(g, &repo)) < 0)
		return cli_fail(r);
	struct cli_progress prog;
	cli_progress_init(&prog, "backup", g);
	prog.store = repo->store;
	/* A job row, claiming the volume: one job per volume at a time. */
	char abs[PATH_MAX];
	const char *vol = realpath(pos.v[0], abs) ? abs : pos.v[0];
	struct cli_job job;
	if ((r = cli_job_begin(g, st, "backup", NULL, vol, cli_repo_uri(g), &vol, 1, &job)) < 0) {
		cairn_repo_free(repo);
		return cli_fail(r);
	}
	job.prog = &prog;
	struct cairn_snap_backup_opts o = {
		.backup = { .source = pos.v[0], .volume = name, .full = full, .tags = tags.v, .ntags = tags.n,
			    .progress = cli_job_progress, .progress_ud = &job, .state_dir = cli_state_dir(g) },
		.snapshot = method, .state = st, .state_dir = cli_state_dir(g),
	};
	struct cairn_manifest *m = NULL;
	struct cairn_snap_backup_info info;
	r = cairn_snap_backup(repo, &o, &m, &info);
	cli_progress_done(&prog);
	r = cli_job_end(&job, r, r >= 0 ? m->idhex : NULL);
	cairn_repo_free(repo);
	if (r < 0)
		return cli_fail(r);
	if (g->json) {
		json_t *j = cli_manifest_json(m);
		json_object_set_new(j, "snapshot", json_string(cairn_snap_method_name(info.method)));
		json_object_set_new(j, "snapshot_seconds", json_real(info.snapshot_seconds));
		json_object_set_new(j, "snapshot_bytes_copied", json_integer((json_int_t)info.bytes_copied));
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
			} else {
				fprintf(stderr, "; snapshot: %s)\n", cairn_snap_method_name(info.method));
			}
		}
	}
	cairn_manifest_free(m);
	return EXIT_OK;
}
