/* Job rows for CLI commands and the policy runner (jobs.h). */
#include "cli/jobs.h"
#include "engine/retention.h"
#include "repo/group.h"
#include "source/volume.h"
#include "state/cred.h"
#include "state/groups.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/log.h"
#include "util/time.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UPDATE_EVERY 0.25 /* seconds between row updates */

static void job_log_sink(int level, const char *line, void *ud)
{
	struct cli_job *j = ud;
	if (j->st && j->id)
		(void)cairn_job_log(j->st, j->id, level, line);
}

static void attach(struct cli_job *j)
{
	j->t0 = cairn_now();
	j->last_update = 0;
	if (j->st && j->id)
		cairn_log_set_sink(job_log_sink, j);
}

int cli_job_begin(struct cli_global *g, struct cairn_state *st, const char *kind, const char *policy,
		  const char *source, const char *repo, const char *const *volumes, size_t nvolumes,
		  struct cli_job *j)
{
	memset(j, 0, sizeof(*j));
	if (!st) {
		if (cli_state_open(g, false, &st) < 0) {
			cairn_log_info("no job record: %s", cairn_error_message());
			cairn_error_clear();
			j->t0 = cairn_now();
			return 0;
		}
		j->own_st = true;
	}
	j->st = st;
	struct cairn_job_new n = { .kind = kind, .policy = policy, .source = source, .repo = repo };
	int r = cairn_job_begin(st, &n, volumes, nvolumes, &j->id);
	if (r < 0) {
		if (j->own_st)
			cairn_state_free(st);
		memset(j, 0, sizeof(*j));
		return r;
	}
	attach(j);
	return 0;
}

int cli_job_adopt(struct cairn_state *st, int64_t id, struct cli_job *j)
{
	memset(j, 0, sizeof(*j));
	struct cairn_job row;
	int r = cairn_job_get(st, id, &row);
	if (r < 0)
		return r;
	bool active = row.state == CAIRN_JOB_ACTIVE;
	cairn_job_clear(&row);
	if (!active)
		return cairn_error_set(CAIRN_EINVAL, "job %lld is not active (canceled?)", (long long)id);
	if ((r = cairn_job_set_runner(st, id, getpid())) < 0)
		return r;
	j->st = st;
	j->id = id;
	attach(j);
	return 0;
}

/* Tests only: CAIRN_TEST_JOB_DELAY=MS sleeps that long at every progress
 * report, so a test can catch a job while it runs (cancel, SIGTERM,
 * kill -9, a busy volume, a held lease). */
static void test_delay(void)
{
	static long ms = -1;
	if (ms < 0) {
		const char *e = getenv("CAIRN_TEST_JOB_DELAY");
		ms = e && *e ? strtol(e, NULL, 10) : 0;
		if (ms < 0)
			ms = 0;
	}
	if (ms > 0) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
}

void cli_job_progress(uint64_t done, uint64_t total, void *ud)
{
	struct cli_job *j = ud;
	test_delay();
	j->done = done;
	j->total = total;
	if (j->prog)
		cli_progress_cb(done, total, j->prog);
	if (!j->st || !j->id)
		return;
	double now = cairn_now();
	if (now - j->last_update < UPDATE_EVERY && done != total)
		return;
	j->last_update = now;
	bool cancel = false;
	if (cairn_job_progress(j->st, j->id, done, total, now - j->t0, &cancel) < 0) {
		cairn_error_clear();
		return; /* a busy database must not stop the job */
	}
	if (cancel && !j->cancel_seen) {
		j->cancel_seen = true;
		cairn_log_info("cancel requested: stopping at the next safe point");
		cairn_cancel_requested = 1;
	}
}

int cli_job_end(struct cli_job *j, int r, const char *result)
{
	cairn_log_set_sink(NULL, NULL);
	if (!j->st || !j->id) {
		if (j->own_st)
			cairn_state_free(j->st);
		memset(j, 0, sizeof(*j));
		return r;
	}
	char msg[1024] = "";
	if (r < 0)
		cairn_error_copy(msg, sizeof(msg));
	enum cairn_job_state state = r >= 0 ? CAIRN_JOB_DONE : r == CAIRN_ECANCELED ? CAIRN_JOB_CANCELED : CAIRN_JOB_FAILED;
	const char *stop = NULL;
	if (state == CAIRN_JOB_CANCELED) {
		stop = j->cancel_seen || !j->daemon_child ? "cancel" : "shutdown";
		if (!strcmp(stop, "shutdown"))
			snprintf(msg, sizeof(msg), "stopped at a safe point: the daemon is shutting down (the next run "
						   "resumes)");
		else if (j->cancel_seen)
			snprintf(msg, sizeof(msg), "canceled at a safe point ('cairn cancel')");
	}
	double el = cairn_now() - j->t0;
	if (r >= 0)
		(void)cairn_job_log(j->st, j->id, 1, result ? result : "done");
	else
		(void)cairn_job_log(j->st, j->id, 0, msg[0] ? msg : cairn_error_name(r));
	if (r >= 0 && j->total)
		(void)cairn_job_progress(j->st, j->id, j->done, j->total, el, NULL);
	if (cairn_job_finish(j->st, j->id, state, stop, r < 0 ? (msg[0] ? msg : cairn_error_name(r)) : NULL, result,
			     el) < 0)
		cairn_log_warn("job %lld not recorded as finished: %s", (long long)j->id, cairn_error_message());
	if (r < 0)
		cairn_error_set(r, "%s", msg); /* keep the job's reason for the caller */
	if (j->own_st)
		cairn_state_free(j->st);
	memset(j, 0, sizeof(*j));
	return r;
}

/* ---- policies ---- */

int cli_open_repo_with(struct cli_global *g, struct cairn_state *st, const char *uri, const char *cred_ref,
		       struct cairn_repo **ret)
{
	_cleanup_(cairn_cred_freep) struct cairn_cred *cred = NULL;
	int r;
	if (cred_ref)
		r = cairn_cred_get(st, cred_ref, true, &cred);
	else
		r = cairn_cred_resolve(st, NULL, uri, &cred);
	if (r < 0)
		return r;
	struct cairn_store_opts o = { .connections = g->connections, .limit_upload = g->limit_upload };
	if ((r = cairn_cred_store_opts(cred, uri, &o)) < 0)
		return r;
	struct cairn_store *s = NULL;
	if ((r = cairn_store_open_opts(uri, &o, &s)) < 0)
		return r;
	uint64_t size;
	if ((r = cairn_store_stat(s, "config", &size)) < 0) {
		cairn_store_free(s);
		if (r == CAIRN_ENOTFOUND)
			return cairn_error_set(CAIRN_ENOTREPO, "%s is not a cairn repository (run 'cairn init' first)", uri);
		return r;
	}
	char *pass = NULL;
	size_t plen = 0;
	/* The policy's own credential is the most specific source. */
	if (cred && cred->passphrase) {
		plen = strlen(cred->passphrase);
		pass = cairn_secret_alloc(plen + 1);
		if (!pass) {
			cairn_store_free(s);
			return cairn_error_nomem();
		}
		memcpy(pass, cred->passphrase, plen + 1);
	} else if ((r = cli_repo_passphrase(g, false, NULL, &pass, &plen)) < 0) {
		cairn_store_free(s);
		return r;
	}
	r = cairn_repo_open(s, pass, plen, ret);
	cli_passphrase_free(pass, plen);
	return r;
}

int cli_policy_rules(const struct cairn_policy *p, struct cairn_keep_rules *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->last = p->keep_last;
	ret->hourly = p->keep_hourly;
	ret->daily = p->keep_daily;
	ret->weekly = p->keep_weekly;
	ret->monthly = p->keep_monthly;
	ret->yearly = p->keep_yearly;
	if (p->keep_within)
		return cairn_keep_within_parse(p->keep_within, &ret->within);
	return 0;
}

void cli_policy_outcome_clear(struct cli_policy_outcome *o)
{
	json_decref(o->forgotten);
	memset(o, 0, sizeof(*o));
}

int cli_policy_volume_name(const struct cairn_policy *p, char **ret)
{
	if (p->volume_name)
		return (*ret = strdup(p->volume_name)) ? 0 : cairn_error_nomem();
	/* As a backup names it (a device-mapper device by its stable name);
	 * a source that is gone by what was stored. */
	_cleanup_free_ char *stable = NULL;
	if (cairn_volume_stable_path(p->source, &stable) < 0)
		cairn_error_clear();
	return (*ret = strdup(cairn_path_base(stable ? stable : p->source))) ? 0 : cairn_error_nomem();
}

struct forgetting {
	json_t *arr;
	struct cli_seen seen;
};

static void on_forgotten(const struct cairn_forget_item *it, void *ud)
{
	struct forgetting *f = ud;
	json_t *arr = f->arr;
	if (it->keep)
		return;
	cli_seen_forget(&f->seen, it);
	char created[48];
	cairn_time_format(it->created_us / 1000000, created, sizeof(created));
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "id", it->idhex, "type",
					     it->group ? "group" : "volume", it->group ? "group" : "volume",
					     it->series, "created", created));
}

static int run_forget(struct cli_global *g, struct cairn_state *st, struct cairn_repo *repo,
		      const struct cairn_policy *p, const char *volume, bool daemon_child,
		      struct cli_policy_outcome *out)
{
	struct cairn_forget_opts fo = { 0 };
	int r = cli_policy_rules(p, &fo.rules);
	if (r < 0 || cairn_keep_rules_empty(&fo.rules))
		return r;
	struct cli_job j;
	const char *series = p->kind == CAIRN_POLICY_GROUP ? p->source : volume;
	if ((r = cli_job_begin(g, st, "forget", p->name, series, p->repo, NULL, 0, &j)) < 0)
		return r;
	j.daemon_child = daemon_child;
	char rules[256];
	cairn_keep_rules_format(&fo.rules, rules, sizeof(rules));
	bool own = p->scope == CAIRN_SCOPE_POLICY;
	cairn_log_info("policy %s: retention of %s%s: keep %s", p->name, series,
		       own ? " (the backups this policy made)" : " (every backup of it)", rules);
	if (p->kind == CAIRN_POLICY_GROUP)
		fo.group = p->source;
	else
		fo.volume = volume;
	fo.policy = p->name;
	fo.policy_id = own ? p->id : NULL;
	json_t *forgotten = json_array();
	struct forgetting f = { .arr = forgotten };
	cli_seen_begin(&f.seen, g, st, repo);
	fo.decision = on_forgotten;
	fo.ud = &f;
	struct cairn_forget_stats fs;
	r = cairn_forget_run(repo, &fo, &fs);
	cli_seen_end(&f.seen);
	char result[128];
	snprintf(result, sizeof(result), "kept %llu, forgot %llu", (unsigned long long)fs.kept,
		 (unsigned long long)fs.forgotten);
	r = cli_job_end(&j, r, r >= 0 ? result : NULL);
	if (r >= 0 && out) {
		out->retention = true;
		out->kept = fs.kept;
		json_decref(out->forgotten);
		out->forgotten = json_incref(forgotten);
	}
	json_decref(forgotten);
	return r;
}

int cli_policy_execute(struct cli_global *g, struct cairn_state *st, const struct cairn_policy *p, int64_t job,
		       bool daemon_child, struct cli_policy_outcome *ret)
{
	struct cairn_group grp = { 0 };
	int r = 0;
	const char *vol1[1] = { p->source };
	const char *const *vols = vol1;
	size_t nvols = 1;
	if (p->kind == CAIRN_POLICY_GROUP) {
		if ((r = cairn_group_get(st, p->source, &grp)) < 0)
			return r;
		vols = (const char *const *)grp.volumes;
		nvols = grp.nvolumes;
	}
	struct cli_job j;
	struct cli_progress prog;
	cli_progress_init(&prog, "backup", g);
	if (job)
		r = cli_job_adopt(st, job, &j);
	else
		r = cli_job_begin(g, st, "backup", p->name, p->source, p->repo, vols, nvols, &j);
	if (r < 0) {
		cairn_group_clear(&grp);
		return r;
	}
	if (!job)
		(void)cairn_policy_set_last_run(st, p->name, cairn_wall_now());
	j.daemon_child = daemon_child;
	j.prog = &prog;
	bool full = p->full_every && (p->backups + 1) % p->full_every == 0;
	cairn_log_info("policy %s: %sbackup of %s %s to %s", p->name, full ? "full " : "",
		       p->kind == CAIRN_POLICY_GROUP ? "group" : "volume", p->source, p->repo);
	struct cairn_repo *repo = NULL;
	r = cli_open_repo_with(g, st, p->repo, p->cred, &repo);
	char result[128] = "";
	_cleanup_free_ char *volume = NULL;
	if (r >= 0 && p->kind == CAIRN_POLICY_VOLUME) {
		enum cairn_snap_method method = CAIRN_SNAP_AUTO;
		if (cairn_snap_method_parse(p->snapshot, &method) < 0)
			r = cairn_error_set(CAIRN_EINVAL, "policy %s: unknown snapshot method '%s'", p->name, p->snapshot);
		struct cli_seen seen;
		cli_seen_begin(&seen, g, st, repo);
		_cleanup_(cairn_manifest_list_free) struct cairn_manifest_list list = { 0 };
		struct cairn_snap_backup_opts o = {
			.backup = { .source = p->source, .volume = p->volume_name, .name_option = CLI_POLICY_NAME_OPTION,
				    .list = &list, .policy = p->name, .policy_id = p->id, .full = full,
				    .progress = cli_job_progress, .progress_ud = &j, .state_dir = cli_state_dir(g) },
			.snapshot = method, .state = st, .state_dir = cli_state_dir(g),
		};
		struct cairn_manifest *m = NULL;
		struct cairn_snap_backup_info info;
		if (r >= 0)
			r = cli_seen_load(&seen, repo, &list);
		if (r >= 0)
			r = cairn_snap_backup(repo, &o, &m, &info);
		if (r >= 0)
			cli_seen_record(&seen, m);
		cli_seen_end(&seen);
		if (r >= 0) {
			snprintf(result, sizeof(result), "%s", m->idhex);
			char rd[32], nw[32];
			cli_human_size(m->stats.bytes_read, rd, sizeof(rd));
			cli_human_size(m->stats.bytes_new, nw, sizeof(nw));
			cairn_log_info("backup %s of %s: read %s, new %s in %.2f s (%s)", m->idhex, m->volume, rd, nw,
				       m->stats.seconds, m->change_tracking);
			volume = strdup(m->volume);
			if (!volume)
				r = cairn_error_nomem();
		}
		cairn_manifest_free(m);
	} else if (r >= 0) {
		struct cairn_group_backup_opts o = { .group = &grp, .policy = p->name, .policy_id = p->id, .full = full,
						     .state = st, .state_dir = cli_state_dir(g),
						     .progress = cli_job_progress, .progress_ud = &j };
		struct cairn_group_backup *gb = NULL;
		struct cairn_manifest **members = NULL;
		r = cairn_group_backup_run(repo, &o, &gb, &members);
		if (r >= 0) {
			snprintf(result, sizeof(result), "%s", gb->idhex);
			cairn_log_info("group backup %s of %s: %zu volume(s)", gb->idhex, gb->name, gb->nmembers);
			for (size_t i = 0; i < grp.nvolumes; i++)
				cairn_manifest_free(members[i]);
			free(members);
			cairn_group_backup_free(gb);
		}
	}
	cli_progress_done(&prog);
	if (r >= 0)
		(void)cairn_policy_count_backup(st, p->name);
	r = cli_job_end(&j, r, r >= 0 ? result : NULL);
	if (r >= 0 && ret)
		snprintf(ret->backup, sizeof(ret->backup), "%s", result);
	if (r >= 0)
		r = run_forget(g, st, repo, p, volume, daemon_child, ret);
	cairn_repo_free(repo);
	cairn_group_clear(&grp);
	return r;
}
