#include "app/snapreg.h"
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
#include <pthread.h>
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
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:s, s:o, s:o, s:s, s:s}", "id", m->idhex,
			 "volume", m->volume, "created", created, "size", (json_int_t)m->size, "bytes_read",
			 (json_int_t)m->stats.bytes_read, "bytes_new", (json_int_t)m->stats.bytes_new, "bytes_stored",
			 (json_int_t)m->stats.bytes_stored, "chunks_new", (json_int_t)m->stats.chunks_new,
			 "bytes_hashed", (json_int_t)m->stats.bytes_hashed, "seconds",
			 m->stats.seconds, "change_tracking", m->change_tracking, "parent",
			 m->has_parent ? json_string(parent) : json_null(), "tags", tags, "hostname",
			 m->hostname ? m->hostname : "", "source", m->source ? m->source : "");
}

/* The repository's key derivation (scrypt, ~0.1 s of CPU) runs on its own
 * thread while the snapshot is taken: neither needs the other. */
struct open_job {
	struct cairn_repo_prep prep;
	struct cairn_repo *repo;
	int r;
	char err[1024];
};

static void *open_main(void *arg)
{
	struct open_job *o = arg;
	o->r = cairn_repo_open(o->prep.store, o->prep.pass, o->prep.plen, &o->repo);
	o->prep.store = NULL; /* taken */
	if (o->r < 0)
		cairn_error_copy(o->err, sizeof(o->err));
	return NULL;
}

/* Opens the repository and, where a reflink can be made, snapshots the
 * volume (an absolute path) while the key is derived; on failure neither
 * is left.  A reflink takes milliseconds, so one made for a backup that is
 * then refused (a wrong passphrase, a volume busy with another job) costs
 * nothing.  A copy or an LVM snapshot is not tried here:
 * cairn_snap_backup() takes it after the passphrase is verified and the
 * volume is claimed (*path stays NULL). */
static int open_and_snapshot(struct cli_global *g, struct cairn_state *st, const char *volume, const char *name,
			     const struct cli_list *tags, enum cairn_snap_method method, struct cairn_repo **ret_repo,
			     struct cairn_snap_taken *taken)
{
	int r = cairn_backup_check_names(name, (const char *const *)tags->v, tags->n);
	struct open_job o = { .r = 0 };
	if (r >= 0)
		r = cli_repo_prepare(g, &o.prep);
	if (r < 0)
		return r;
	pthread_t t;
	bool threaded = pthread_create(&t, NULL, open_main, &o) == 0;
	if (!threaded)
		open_main(&o);
	bool overlap = method == CAIRN_SNAP_AUTO || method == CAIRN_SNAP_REFLINK;
	char snap_err[1024];
	struct cairn_snap_registry reg;
	cairn_app_snap_registry(st, &reg);
	r = overlap ? cairn_snap_take_new(&reg, volume, CAIRN_SNAP_REFLINK, cli_state_dir(g), taken) : -1;
	if (r < 0 && overlap)
		cairn_error_copy(snap_err, sizeof(snap_err));
	if (threaded)
		pthread_join(t, NULL);
	cairn_app_repo_prep_clear(&o.prep);
	if (o.r < 0) { /* wrong passphrase, damaged key: that error, not the snapshot's */
		if (r >= 0)
			cairn_snap_release(taken, 0);
		return cairn_error_set(o.r, "%s", o.err);
	}
	if (r < 0 && method == CAIRN_SNAP_REFLINK) {
		cairn_repo_free(o.repo);
		return cairn_error_set(r, "%s", snap_err);
	}
	*ret_repo = o.repo;
	return 0;
}

struct backup_args {
	const char *name, *snapshot;
	bool full;
	struct cli_list tags;
	enum cairn_snap_method method; /* from snapshot */
};
static const struct cli_opt backup_opts[] = {
	{ "name", 'n', OPT_STRING, CLI_ARG(struct backup_args, name) },
	{ "full", 0, OPT_FLAG, CLI_ARG(struct backup_args, full) },
	{ "tag", 't', OPT_LIST, CLI_ARG(struct backup_args, tags) },
	{ "snapshot", 0, OPT_STRING, CLI_ARG(struct backup_args, snapshot) },
	{ NULL, 0, 0, NULL, 0 },
};

static int check_backup(struct cli_ctx *c)
{
	struct backup_args *a = c->args;
	if (cairn_snap_method_parse(a->snapshot ? a->snapshot : "auto", &a->method) < 0)
		return cli_usage("backup", "--snapshot takes auto, reflink, copy, lvm or none");
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
	if (method != CAIRN_SNAP_NONE && (r = cli_state_open(g, false, &st)) < 0)
		return cli_fail(r);
	struct cairn_repo *repo = NULL;
	struct cairn_snap_taken taken = CAIRN_SNAP_TAKEN_INIT;
	_cleanup_free_ char *abs = NULL;
	/* Another user's symbolic link is refused here (util/path.h). */
	int resolve = cairn_path_resolve(pos.v[0], "source", &abs);
	bool resolved = resolve >= 0;
	/* The name the volume goes by (for the job's claim, its default name). */
	_cleanup_free_ char *stable = NULL;
	if (resolved && cairn_volume_stable_path(abs, &stable) < 0)
		stable = NULL;
	if (method == CAIRN_SNAP_NONE)
		r = cli_open_repo(g, &repo);
	else if (!resolved)
		r = resolve;
	else
		r = open_and_snapshot(g, st, abs, name ? name : cairn_path_base(stable ? stable : abs), &tags, method,
				      &repo, &taken);
	if (r < 0)
		return cli_fail(r);
	struct cli_progress prog;
	cli_progress_init(&prog, "backup", g);
	prog.store = repo->store;
	/* A job row, claiming the volume: one job per volume at a time. */
	const char *vol = stable ? stable : resolved ? abs : pos.v[0];
	struct cairn_app_job job;
	if ((r = cairn_app_job_begin(cli_app(g), st, "backup", NULL, vol, cli_repo_uri(g), &vol, 1, &job)) < 0) {
		cairn_snap_release(&taken, r);
		cairn_repo_free(repo);
		return cli_fail(r);
	}
	job.chain = cli_progress_cb;
	job.chain_ud = &prog;
	struct cairn_app_seen seen;
	cairn_app_seen_begin(&seen, cli_app(g), job.st, repo);
	_cleanup_(cairn_manifest_list_free) struct cairn_manifest_list list = { 0 };
	struct cairn_snap_registry reg;
	cairn_app_snap_registry(st, &reg);
	struct cairn_snap_backup_opts o = {
		.backup = { .source = pos.v[0], .volume = name, .list = &list, .full = full, .tags = tags.v,
			    .ntags = tags.n, .progress = cairn_app_job_progress, .progress_ud = &job,
			    .state_dir = cli_state_dir(g) },
		.snapshot = method, .registry = st ? &reg : NULL, .state_dir = cli_state_dir(g),
		.taken = taken.path ? &taken : NULL,
	};
	struct cairn_manifest *m = NULL;
	struct cairn_snap_backup_info info;
	if ((r = cairn_app_seen_load(&seen, repo, &list)) < 0) {
		cairn_snap_release(&taken, r);
	} else {
		r = cairn_snap_backup(repo, &o, &m, &info);
	}
	if (r >= 0)
		cairn_app_seen_record(&seen, m);
	cairn_app_seen_end(&seen);
	cli_progress_done(&prog);
	r = cairn_app_job_end(&job, r, r >= 0 ? m->idhex : NULL);
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

/* The repository is opened while the snapshot is taken (open_and_snapshot),
 * the state database only for a snapshot. */
const struct cli_cmd cli_cmd_backup = {
	.verb = "backup", .run = run_backup, .opts = backup_opts, .args_size = sizeof(struct backup_args),
	.pos_min = 1, .pos_max = 1, .pos_few = "missing SOURCE", .pos_many = "give exactly one SOURCE",
	.check = check_backup, .job = "backup",
};
