#include "app/snapreg.h"
#include "cli/cli.h"
#include "cli/jobs.h"
#include "state/seen.h"
#include "util/time.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

struct restore_args {
	bool force, delta;
};
static const struct cli_opt restore_opts[] = {
	{ "force", 'f', OPT_FLAG, CLI_ARG(struct restore_args, force) },
	{ "delta", 0, OPT_FLAG, CLI_ARG(struct restore_args, delta) },
	{ NULL, 0, 0, NULL, 0 },
};

static int run_restore(struct cli_ctx *c)
{
	const struct restore_args *a = c->args;
	struct cli_global *g = c->g;
	const struct cli_list pos = c->pos;
	bool force = a->force, delta = a->delta;
	struct cairn_repo *repo = TAKE_PTR(c->repo);
	int r;
	struct cairn_manifest_list l;
	struct cairn_seen_report vanished;
	if ((r = cairn_app_backups_list(cli_app(g), repo, &l, &vanished)) < 0) {
		cairn_repo_free(repo);
		return cli_fail(r);
	}
	/* Before the restore: "latest" may now mean an older backup. */
	cli_seen_warn(&vanished);
	struct cairn_manifest *m = NULL;
	r = cairn_manifest_resolve(&l, pos.v[0], &m);
	struct cairn_restore_stats st = { 0 };
	struct cairn_app_job job = { 0 };
	char abs[PATH_MAX], src[PATH_MAX + 128];
	const char *target = realpath(pos.v[1], abs) ? abs : NULL;
	if (r >= 0) {
		snprintf(src, sizeof(src), "%s -> %s", m->volume, target ? target : pos.v[1]);
		r = cairn_app_job_begin(cli_app(g), NULL, "restore", NULL, src, cli_repo_uri(g), &target, target ? 1 : 0, &job);
	}
	if (r >= 0) {
		struct cli_progress prog;
		cli_progress_init(&prog, "restore", g);
		prog.store = repo->store;
		job.chain = cli_progress_cb;
		job.chain_ud = &prog;
		struct cairn_restore_opts o = { .target = pos.v[1], .force = force, .delta = delta,
						.state_dir = cli_state_dir(g), .progress = cairn_app_job_progress,
						.progress_ud = &job };
		/* The backup's base snapshot, when kept, narrows what to compare. */
		struct cairn_change_map differs = CAIRN_CHANGE_MAP_INIT;
		struct cairn_state *state = NULL;
		struct cairn_snap_registry reg;
		if (delta && cli_state_open(g, true, &state) >= 0) {
			cairn_app_snap_registry(state, &reg);
			if (cairn_delta_known(&reg, repo, m, pos.v[1], &differs) >= 0)
				o.differs = &differs;
		}
		cairn_state_free(state);
		r = cairn_restore_run(repo, m, &o, &st);
		cairn_change_map_free(&differs);
		cli_progress_done(&prog);
		r = cairn_app_job_end(&job, r, r >= 0 ? m->idhex : NULL);
	}
	if (r >= 0) {
		if (g->json) {
			json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:b}", "id", m->idhex, "volume",
					      m->volume, "target", pos.v[1], "size", (json_int_t)m->size, "bytes_written",
					      (json_int_t)st.bytes_written, "bytes_fetched", (json_int_t)st.bytes_fetched,
					      "zero_bytes", (json_int_t)st.zero_bytes, "seconds", st.seconds, "delta",
					      delta);
			json_t *vi = json_object();
			if (m->info.logical_block_size)
				json_object_set_new(vi, "logical_block_size", json_integer(m->info.logical_block_size));
			if (m->info.fs_type)
				json_object_set_new(vi, "fs_type", json_string(m->info.fs_type));
			if (m->info.label)
				json_object_set_new(vi, "label", json_string(m->info.label));
			if (m->info.uuid)
				json_object_set_new(vi, "uuid", json_string(m->info.uuid));
			json_object_set_new(o, "volume_info", vi);
			json_object_set_new(o, "vanished", cli_seen_json(&vanished));
			if (delta) {
				json_object_set_new(o, "bytes_compared", json_integer((json_int_t)st.bytes_compared));
				json_object_set_new(o, "chunks_same", json_integer((json_int_t)st.chunks_same));
				json_object_set_new(o, "compared_by", json_string(st.compared_by));
			}
			cli_print_json(o);
		} else if (g->verbosity >= 0) {
			char sz[32], wr[32];
			cli_human_size(m->size, sz, sizeof(sz));
			cli_human_size(st.bytes_written, wr, sizeof(wr));
			if (delta) {
				char cmp[32];
				cli_human_size(st.bytes_compared, cmp, sizeof(cmp));
				fprintf(stderr, "restored %.12s (%s, %s) onto %s: compared %s by %s, rewrote %s in %.2f s\n",
					m->idhex, m->volume, sz, pos.v[1], cmp, st.compared_by, wr, st.seconds);
			} else {
				fprintf(stderr, "restored %.12s (%s, %s) to %s: wrote %s in %.2f s\n", m->idhex,
					m->volume, sz, pos.v[1], wr, st.seconds);
			}
			cli_print_volume_info(stderr, &m->info);
		}
	}
	cairn_manifest_list_free(&l);
	cairn_repo_free(repo);
	return r < 0 ? cli_fail(r) : EXIT_OK;
}

const struct cli_cmd cli_cmd_restore = {
	.verb = "restore", .run = run_restore, .opts = restore_opts, .args_size = sizeof(struct restore_args),
	.pos_min = 2, .pos_max = 2, .pos_few = "need BACKUP and TARGET", .pos_many = "need BACKUP and TARGET",
	.needs = CLI_NEEDS_REPO, .job = "restore",
};
