#include "app/restore.h"
#include "cli/cli.h"
#include "cli/jobs.h"
#include "state/seen.h"
#include "util/time.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>

struct restore_args {
	bool force, delta;
	const char *overlay;
};
static const struct cli_opt restore_opts[] = {
	{ "force", 'f', OPT_FLAG, CLI_ARG(struct restore_args, force) },
	{ "delta", 0, OPT_FLAG, CLI_ARG(struct restore_args, delta) },
	{ "from-overlay", 0, OPT_STRING, CLI_ARG(struct restore_args, overlay) },
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
	if (r >= 0) {
		struct cli_progress prog;
		struct cairn_app_restore o = { .target = pos.v[1], .uri = cli_repo_uri(g), .force = force, .delta = delta,
					       .progress = cli_progress_job(&prog, "restore", g, repo),
					       .overlay = a->overlay };
		r = cairn_app_restore(cli_app(g), repo, m, &o, &st);
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
			if (a->overlay)
				json_object_set_new(o, "overlay_bytes", json_integer((json_int_t)st.overlay_bytes));
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
			if (a->overlay) {
				char ob[32];
				cli_human_size(st.overlay_bytes, ob, sizeof(ob));
				fprintf(stderr, "  with the %s of writes in overlay %s\n", ob, a->overlay);
			}
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
