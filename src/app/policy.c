/* Policy runs and retention (policy.h). */
#include "app/policy.h"
#include "app/backup.h"
#include "app/group.h"
#include "app/job.h"
#include "app/open.h"
#include "app/replicate.h"
#include "app/seen.h"
#include "app/snapreg.h"
#include "source/volume.h"
#include "state/groups.h"
#include "state/notify.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cairn_app_policy_outcome_clear(struct cairn_app_policy_outcome *o)
{
	json_decref(o->forgotten);
	memset(o, 0, sizeof(*o));
}

static void on_forgotten(const struct cairn_forget_item *it, void *ud)
{
	json_t *arr = ud;
	if (it->keep)
		return;
	char created[48];
	cairn_time_format(it->created_us / 1000000, created, sizeof(created));
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "id", it->idhex, "type",
					     it->group ? "group" : "volume", it->group ? "group" : "volume",
					     it->series, "created", created));
}

static int run_retention(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
			 const struct cairn_policy *p, const char *volume, bool daemon_child,
			 struct cairn_app_policy_outcome *out)
{
	struct cairn_forget_opts fo = { 0 };
	_cleanup_free_ char *own_volume = NULL;
	int r = cairn_app_policy_rules(p, &fo.rules);
	if (r < 0 || cairn_keep_rules_empty(&fo.rules))
		return r;
	if ((r = cairn_app_policy_forget_opts(p, volume, &fo, &own_volume)) < 0)
		return r;
	const char *series = p->kind == CAIRN_POLICY_GROUP ? p->source : volume;
	char rules[256], intro[512];
	cairn_keep_rules_format(&fo.rules, rules, sizeof(rules));
	bool own = p->scope == CAIRN_SCOPE_POLICY;
	snprintf(intro, sizeof(intro), "policy %s: retention of %s%s: keep %s", p->name, series,
		 own ? " (the backups this policy made)" : " (every backup of it)", rules);
	json_t *forgotten = json_array();
	fo.decision = on_forgotten;
	fo.ud = forgotten;
	struct cairn_app_forget o = { .policy = p->name, .source = series, .uri = p->repo, .intro = intro,
				      .daemon_child = daemon_child };
	struct cairn_forget_stats fs;
	r = cairn_app_forget_job(app, st, repo, &o, &fo, &fs);
	if (r >= 0 && out) {
		out->retention = true;
		out->kept = fs.kept;
		json_decref(out->forgotten);
		out->forgotten = json_incref(forgotten);
	}
	json_decref(forgotten);
	return r;
}

/* What metrics show of a policy's newest backup (state/notify.h): a group
 * backup's members add up; its time is the earliest member's (the group's
 * one instant is never later than that). */
static void stats_add(struct cairn_backup_stats_row *s, const struct cairn_manifest *m)
{
	int64_t created = m->created_us / 1000000;
	if (!s->created || created < s->created)
		s->created = created;
	s->bytes_read += m->stats.bytes_read;
	s->bytes_new += m->stats.bytes_new;
	s->bytes_stored += m->stats.bytes_stored;
}

static int backup_volume(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
			 const struct cairn_policy *p, bool full, struct cairn_app_job *j, char *result,
			 size_t result_size, char **ret_volume, struct cairn_backup_stats_row *stats)
{
	struct cairn_app_backup o = { .source = p->source, .name = p->volume_name,
				      .name_option = CAIRN_APP_POLICY_NAME_OPTION, .policy = p->name,
				      .policy_id = p->id, .full = full, .snapshot = CAIRN_SNAP_AUTO,
				      .no_catalog = p->no_catalog };
	if (cairn_snap_method_parse(p->snapshot, &o.snapshot) < 0)
		return cairn_error_set(CAIRN_EINVAL, "policy %s: unknown snapshot method '%s'", p->name, p->snapshot);
	struct cairn_manifest *m = NULL;
	struct cairn_snap_backup_info info;
	int r = cairn_app_backup_in_job(app, st, repo, &o, j, &m, &info);
	if (r >= 0) {
		snprintf(result, result_size, "%s", m->idhex);
		stats_add(stats, m);
		char rd[32], nw[32];
		cairn_app_human_size(m->stats.bytes_read, rd, sizeof(rd));
		cairn_app_human_size(m->stats.bytes_new, nw, sizeof(nw));
		cairn_log_info("backup %s of %s: read %s, new %s in %.2f s (%s)", m->idhex, m->volume, rd, nw,
			       m->stats.seconds, m->change_tracking);
		*ret_volume = strdup(m->volume);
		if (!*ret_volume)
			r = cairn_error_nomem();
	}
	cairn_manifest_free(m);
	return r;
}

static int backup_group(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
			const struct cairn_policy *p, const struct cairn_group *grp, bool full,
			struct cairn_app_job *j, char *result, size_t result_size,
			struct cairn_backup_stats_row *stats)
{
	struct cairn_app_group_backup o = { .group = grp, .policy = p->name, .policy_id = p->id, .full = full,
					    .no_catalog = p->no_catalog };
	struct cairn_app_group_made made;
	int r = cairn_app_group_backup_in_job(app, st, repo, &o, j, &made);
	if (r >= 0) {
		snprintf(result, result_size, "%s", made.gb->idhex);
		for (size_t i = 0; i < made.n; i++)
			stats_add(stats, made.members[i]);
		cairn_log_info("group backup %s of %s: %zu volume(s)", made.gb->idhex, made.gb->name,
			       made.gb->nmembers);
	}
	cairn_app_group_made_clear(&made);
	return r;
}

/* The copy after a backup: its failure is the copy job's and the
 * outcome's, never the run's (the backup is made; the next copy sends
 * what this one did not). */
static void replicate_after(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
			    const struct cairn_policy *p, const struct cairn_app_policy_run *ro,
			    struct cairn_app_policy_outcome *out)
{
	struct cairn_app_replicate o = { .to_pass = ro->to_pass, .connections = ro->connections,
					 .daemon_child = ro->daemon_child };
	struct cairn_app_copy_result res;
	int r = cairn_app_policy_replicate(app, st, repo, p, &o, &res);
	if (r < 0) {
		cairn_log_warn("%s (the backup stands; the next copy retries)", cairn_error_message());
		if (out)
			cairn_error_copy(out->copy_error, sizeof(out->copy_error));
		cairn_error_clear();
	}
	if (out) {
		out->copy_ran = true;
		out->copy_failed = r < 0;
		out->copy_backups = res.stats.backups_copied;
		out->copy_bytes = res.stats.bytes_sent;
	}
}

int cairn_app_policy_run(const struct cairn_app *app, struct cairn_state *st, const struct cairn_policy *p,
			 const struct cairn_app_policy_run *ro, struct cairn_app_policy_outcome *ret)
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
	struct cairn_app_job j;
	if (ro->job)
		r = cairn_app_job_adopt(app, st, ro->job, &j);
	else
		r = cairn_app_job_begin(app, st, "backup", p->name, p->source, p->repo, vols, nvols, &j);
	if (r < 0) {
		cairn_group_clear(&grp);
		return r;
	}
	if (!ro->job)
		(void)cairn_policy_set_last_run(st, p->name, cairn_wall_now());
	j.daemon_child = ro->daemon_child;
	j.chain = ro->progress;
	j.chain_ud = ro->progress_ud;
	bool full = p->full_every && (p->backups + 1) % p->full_every == 0;
	cairn_log_info("policy %s: %sbackup of %s %s to %s", p->name, full ? "full " : "",
		       p->kind == CAIRN_POLICY_GROUP ? "group" : "volume", p->source, p->repo);
	struct cairn_repo *repo = NULL;
	struct cairn_repo_ref ref;
	cairn_app_policy_repo_ref(p, ro->connections, ro->limit_upload, &ref);
	r = cairn_app_repo_open(app, st, &ref, &repo);
	char result[128] = "";
	_cleanup_free_ char *volume = NULL;
	struct cairn_backup_stats_row stats = { .policy = p->name, .repo = p->repo, .backup = result, .job = j.id };
	double t0 = cairn_now();
	if (r >= 0 && p->kind == CAIRN_POLICY_VOLUME)
		r = backup_volume(app, st, repo, p, full, &j, result, sizeof(result), &volume, &stats);
	else if (r >= 0)
		r = backup_group(app, st, repo, p, &grp, full, &j, result, sizeof(result), &stats);
	stats.seconds = cairn_now() - t0;
	if (ro->progress_done)
		ro->progress_done(ro->progress_ud);
	if (r >= 0)
		(void)cairn_policy_count_backup(st, p->name);
	r = cairn_app_job_end(&j, r, r >= 0 ? result : NULL);
	/* Metrics read it; a busy database costs them one point, not the run. */
	if (r >= 0 && stats.job && cairn_backup_stats_record(st, &stats) < 0) {
		cairn_log_warn("policy %s: backup statistics not recorded: %s", p->name, cairn_error_message());
		cairn_error_clear();
	}
	if (r >= 0 && ret)
		snprintf(ret->backup, sizeof(ret->backup), "%s", result);
	if (r >= 0)
		r = run_retention(app, st, repo, p, volume, ro->daemon_child, ret);
	if (r >= 0 && p->copy_to && p->copy_every == 0)
		replicate_after(app, st, repo, p, ro, ret);
	cairn_repo_free(repo);
	cairn_group_clear(&grp);
	return r;
}
