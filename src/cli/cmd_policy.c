/* cairn policy create|list|show|delete|pause|resume|run. */
#include "app/policynew.h"
#include "app/replicate.h"
#include "cli/jobs.h"
#include "daemon/daemon.h"
#include "daemon/schedule.h"
#include "engine/retention.h"
#include "source/volume.h"
#include "state/cred.h"
#include "state/groups.h"
#include "state/policies.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cli_keep_parse(const char *verb, const struct keep_args *a, struct cairn_keep_rules *ret)
{
	memset(ret, 0, sizeof(*ret));
	const char *v[6] = { a->last, a->hourly, a->daily, a->weekly, a->monthly, a->yearly };
	int *d[6] = { &ret->last, &ret->hourly, &ret->daily, &ret->weekly, &ret->monthly, &ret->yearly };
	static const char *const names[6] = { "last", "hourly", "daily", "weekly", "monthly", "yearly" };
	for (int i = 0; i < 6; i++)
		if (v[i] && cairn_keep_count_parse(v[i], d[i]) < 0)
			return cli_usage(verb, "invalid --keep-%s '%s' (a number from 1, or 'unlimited')", names[i], v[i]);
	if (a->within && cairn_keep_within_parse(a->within, &ret->within) < 0)
		return cli_usage(verb, "%s", cairn_error_message());
	return 0;
}

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static void schedule_text(const struct cairn_policy *p, char *buf, size_t size)
{
	if (p->cron) {
		snprintf(buf, size, "cron %s", p->cron);
	} else {
		char iv[32];
		cairn_interval_format(p->every, iv, sizeof(iv));
		snprintf(buf, size, "every %s", iv);
	}
}

static int64_t next_run(const struct cairn_policy *p)
{
	struct cairn_cron c;
	if (p->cron && cairn_cron_parse(p->cron, &c) < 0)
		return -1;
	return cairn_schedule_next(p->every, p->cron ? &c : NULL, p->created, p->last_run);
}

static void keep_text(const struct cairn_policy *p, char *buf, size_t size)
{
	struct cairn_keep_rules r;
	if (cairn_app_policy_rules(p, &r) < 0 || cairn_keep_rules_empty(&r)) {
		snprintf(buf, size, "all");
		return;
	}
	cairn_keep_rules_format(&r, buf, size);
}

static json_t *policy_json(struct cairn_state *st, const struct cairn_policy *p)
{
	char created[48], last[48], next[48], sched[300];
	cairn_time_format(p->created, created, sizeof(created));
	cairn_time_format(p->last_run, last, sizeof(last));
	int64_t nx = next_run(p);
	cairn_time_format(nx < 0 ? 0 : nx, next, sizeof(next));
	schedule_text(p, sched, sizeof(sched));
	json_t *keep = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:o}", "last", p->keep_last, "hourly", p->keep_hourly,
				 "daily", p->keep_daily, "weekly", p->keep_weekly, "monthly", p->keep_monthly, "yearly",
				 p->keep_yearly, "within", opt_str(p->keep_within));
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:i, s:s, s:b, s:s, s:o, s:o, s:I}", "name",
			      p->name, "created", created, "kind", p->kind == CAIRN_POLICY_GROUP ? "group" : "volume",
			      "source", p->source, "repo", json_string(p->repo), "cred", opt_str(p->cred), "every_s",
			      p->every ? json_integer(p->every) : json_null(), "cron", opt_str(p->cron), "full_every",
			      (int)p->full_every, "snapshot", p->snapshot, "paused", p->paused, "schedule", sched,
			      "last_run", p->last_run ? json_string(last) : json_null(), "next_run",
			      p->paused || nx < 0 ? json_null() : json_string(next), "runs", (json_int_t)p->backups);
	json_object_set_new(j, "keep", keep);
	json_object_set_new(j, "id", json_string(p->id));
	json_object_set_new(j, "retention_scope", json_string(p->scope == CAIRN_SCOPE_VOLUME ? "volume" : "policy"));
	json_object_set_new(j, "rpo_s", p->rpo ? json_integer(p->rpo) : json_null());
	json_object_set_new(j, "catalog", json_boolean(!p->no_catalog));
	if (p->copy_to) {
		char lc[48];
		cairn_time_format(p->last_copy, lc, sizeof(lc));
		json_object_set_new(j, "copy",
				    json_pack("{s:s, s:o, s:o, s:b, s:o, s:o}", "to", p->copy_to, "cred",
					      opt_str(p->copy_cred), "every_s",
					      p->copy_every ? json_integer(p->copy_every) : json_null(), "after_backup",
					      p->copy_every == 0, "keep", opt_str(p->copy_keep), "last_copy",
					      p->last_copy ? json_string(lc) : json_null()));
	} else {
		json_object_set_new(j, "copy", json_null());
	}
	_cleanup_free_ char *vol = NULL;
	if (p->kind == CAIRN_POLICY_VOLUME && cairn_app_policy_volume_name(p, &vol) >= 0)
		json_object_set_new(j, "volume_name", json_string(vol));
	struct cairn_job last_job;
	if (cairn_job_last_of(st, p->name, "backup", &last_job) >= 0) {
		json_object_set_new(j, "last_job",
				    json_pack("{s:I, s:s, s:o, s:o}", "id", (json_int_t)last_job.id, "state",
					      cairn_job_state_name(last_job.state), "result", opt_str(last_job.result),
					      "error", opt_str(last_job.error)));
		cairn_job_clear(&last_job);
	} else {
		json_object_set_new(j, "last_job", json_null());
	}
	return j;
}

struct create_args {
	const char *volume, *group, *every, *cron, *full_every, *snapshot, *name, *scope;
	struct keep_args keep;
	const char *rpo; /* --rpo DURATION: the RPO target `dr report` checks */
	/* Replication (app/replicate.h). */
	const char *copy_to, *copy_cred, *copy_every;
	bool copy_after_backup;
	struct keep_args copy_keep;
	bool no_catalog; /* the backups keep no file catalog */
};

/* The replication options of policy create into p (copy_keep: room for
 * the rules' text; p->copy_cred is malloc'd); the destination must be a
 * repository already. */
static int policy_copy_args(struct cli_global *g, struct cairn_state *st, const struct create_args *a,
			    struct cairn_policy *p, char *copy_keep, size_t size)
{
	const struct keep_args *k = &a->copy_keep;
	bool keep = k->last || k->hourly || k->daily || k->weekly || k->monthly || k->yearly || k->within;
	if (!a->copy_to) {
		if (a->copy_cred || a->copy_every || a->copy_after_backup || keep)
			return cli_usage("policy", "--copy-cred, --copy-every, --copy-after-backup and --copy-keep-* go "
						   "with --copy-to URI");
		return 0;
	}
	if (a->copy_every && a->copy_after_backup)
		return cli_usage("policy", "give --copy-every INTERVAL or --copy-after-backup (the default), not both");
	if (a->copy_every && cairn_interval_parse(a->copy_every, "--copy-every", &p->copy_every) < 0)
		return cli_usage("policy", "%s", cairn_error_message());
	struct cairn_keep_rules rules;
	int r = cli_keep_parse("policy", k, &rules);
	if (r != 0)
		return r;
	cairn_app_copy_keep_format(&rules, copy_keep, size);
	p->copy_keep = copy_keep[0] ? copy_keep : NULL;
	/* Like the policy's own repository: it must be there (no passphrase
	 * needed to tell), its credential stored by UUID. */
	_cleanup_(cairn_cred_freep) struct cairn_cred *cred = NULL;
	struct cairn_repo_ref ref = { .uri = a->copy_to, .cred = a->copy_cred, .connections = g->connections };
	if ((r = cairn_app_repo_check(cli_app(g), st, &ref, NULL, &cred)) < 0)
		return cli_fail(cairn_error_prefix(r, "--copy-to"));
	if (cred && !(p->copy_cred = strdup(cred->uuid)))
		return cli_fail(cairn_error_nomem());
	static char abscopy[PATH_MAX];
	p->copy_to = (char *)a->copy_to;
	if (!strstr(a->copy_to, "://") && realpath(a->copy_to, abscopy))
		p->copy_to = abscopy;
	return 0;
}

static int policy_create(struct cli_global *g, struct cairn_state *st, const char *name, const struct create_args *a)
{
	struct cairn_policy p = { .name = (char *)name };
	int r;
	if (cairn_policy_name_check(name) < 0)
		return cli_usage("policy", "%s", cairn_error_message());
	if (!!a->volume == !!a->group)
		return cli_usage("policy", "give what to protect: --volume SOURCE or --group GROUP (one of them)");
	if (!!a->every == !!a->cron)
		return cli_usage("policy", "give a schedule: --every INTERVAL or --cron \"M H DoM Mon DoW\" (one of them)");
	const char *uri = cli_repo_uri(g);
	if (!uri)
		return cli_usage("policy", "give the repository with --repo URI");
	if (a->every && cairn_interval_parse(a->every, "--every", &p.every) < 0)
		return cli_usage("policy", "%s", cairn_error_message());
	if (a->rpo && cairn_interval_parse(a->rpo, "--rpo", &p.rpo) < 0)
		return cli_usage("policy", "%s", cairn_error_message());
	struct cairn_cron cron;
	if (a->cron && cairn_cron_parse(a->cron, &cron) < 0)
		return cli_usage("policy", "%s", cairn_error_message());
	p.cron = (char *)a->cron;
	p.no_catalog = a->no_catalog;
	struct cairn_keep_rules rules;
	if ((r = cli_keep_parse("policy", &a->keep, &rules)) != 0)
		return r;
	p.keep_last = rules.last;
	p.keep_hourly = rules.hourly;
	p.keep_daily = rules.daily;
	p.keep_weekly = rules.weekly;
	p.keep_monthly = rules.monthly;
	p.keep_yearly = rules.yearly;
	char within[64] = "";
	cairn_keep_within_format(&rules.within, within, sizeof(within));
	p.keep_within = within[0] ? within : NULL;
	char copy_keep[256] = "";
	if ((r = policy_copy_args(g, st, a, &p, copy_keep, sizeof(copy_keep))) != 0)
		return r;
	if (a->full_every) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(a->full_every, &end, 10);
		if (a->full_every[0] < '0' || a->full_every[0] > '9' || *end || errno || v < 1 || v > 100000)
			return cli_usage("policy", "invalid --full-every '%s' (a number from 1: every Nth backup reads "
						   "everything)", a->full_every);
		p.full_every = (unsigned)v;
	}
	if (a->scope && strcmp(a->scope, "policy") != 0 && strcmp(a->scope, "volume") != 0)
		return cli_usage("policy", "--retention-scope takes policy (only the backups the policy made) or "
					   "volume (every backup of its volume or group)");
	p.scope = a->scope && strcmp(a->scope, "volume") == 0 ? CAIRN_SCOPE_VOLUME : CAIRN_SCOPE_POLICY;
	if (a->name && a->group)
		return cli_usage("policy", "--name names the volume of a volume policy; a group's volumes go by "
					   "their names in the group");
	if (a->name && cairn_backup_check_names(a->name, NULL, 0) < 0)
		return cli_usage("policy", "%s", cairn_error_message());
	p.volume_name = (char *)a->name;
	enum cairn_snap_method method;
	p.snapshot = (char *)(a->snapshot ? a->snapshot : "auto");
	if (cairn_snap_method_parse(p.snapshot, &method) < 0)
		return cli_usage("policy", "--snapshot takes auto, reflink, copy or none");
	struct cairn_repo_ref ref;
	cli_repo_ref(g, &ref);
	ref.uri = uri;
	r = cairn_app_policy_create(cli_app(g), st, &p, a->volume, a->group, &ref);
	free(p.copy_cred);
	if (r < 0)
		return cli_fail(r);
	struct cairn_policy made;
	if ((r = cairn_policy_get(st, name, &made)) < 0)
		return cli_fail(r);
	if (g->json) {
		cli_print_json(policy_json(st, &made));
	} else if (g->verbosity >= 0) {
		char sched[300], keep[256];
		schedule_text(&made, sched, sizeof(sched));
		keep_text(&made, keep, sizeof(keep));
		fprintf(stderr, "created policy %s: %s %s to %s, %s, keep %s%s\n", name,
			made.kind == CAIRN_POLICY_GROUP ? "group" : "volume", made.source, made.repo, sched, keep,
			made.full_every ? " (with full reads)" : "");
		if (made.copy_to) {
			char every[64] = "after each backup";
			if (made.copy_every)
				snprintf(every, sizeof(every), "every %llds", (long long)made.copy_every);
			fprintf(stderr, "  copies to %s %s, keep there %s\n", made.copy_to, every,
				made.copy_keep ? made.copy_keep : "all");
		}
	}
	cairn_policy_clear(&made);
	return EXIT_OK;
}

static int policy_list(struct cli_global *g, struct cairn_state *st)
{
	struct cairn_policy *v = NULL;
	size_t n = 0;
	int r = cairn_policy_list(st, &v, &n);
	if (r < 0)
		return cli_fail(r);
	if (g->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, policy_json(st, &v[i]));
		cli_print_json(a);
	} else {
		printf("%-16s  %-6s  %-28s  %-22s  %-24s  %-20s  %s\n", "NAME", "KIND", "SOURCE", "SCHEDULE", "KEEP",
		       "NEXT RUN", "REPO");
		for (size_t i = 0; i < n; i++) {
			char sched[300], keep[256], next[48] = "paused";
			schedule_text(&v[i], sched, sizeof(sched));
			keep_text(&v[i], keep, sizeof(keep));
			int64_t nx = next_run(&v[i]);
			if (!v[i].paused)
				cairn_time_format(nx < 0 ? 0 : nx, next, sizeof(next));
			printf("%-16s  %-6s  %-28s  %-22s  %-24s  %-20s  %s\n", v[i].name,
			       v[i].kind == CAIRN_POLICY_GROUP ? "group" : "volume", v[i].source, sched, keep, next,
			       v[i].repo);
		}
	}
	cairn_policies_free(v, n);
	return EXIT_OK;
}

/* The backups (group backups) of the policy's series in its repository:
 * those it made (*own) and all of them (*all), as its retention sees them. */
static int count_backups(struct cli_global *g, struct cairn_state *st, const struct cairn_policy *p, uint64_t *own,
			 uint64_t *all)
{
	_cleanup_free_ char *vol = NULL;
	int r = p->kind == CAIRN_POLICY_VOLUME ? cairn_app_policy_volume_name(p, &vol) : 0;
	struct cairn_repo *repo = NULL;
	struct cairn_repo_ref ref;
	cairn_app_policy_repo_ref(p, g->connections, g->limit_upload, &ref);
	if (r < 0 || (r = cairn_app_repo_open(cli_app(g), st, &ref, &repo)) < 0)
		return r;
	for (int pass = 0; pass < 2 && r >= 0; pass++) {
		struct cairn_forget_opts fo = { .volume = vol, .group = vol ? NULL : p->source,
						.policy_id = pass ? NULL : p->id, .rules = { .last = -1 }, .dry_run = true };
		struct cairn_forget_stats fs;
		r = cairn_forget_run(repo, &fo, &fs);
		if (r == CAIRN_ENOTFOUND) {
			cairn_error_clear();
			r = 0;
		}
		*(pass ? all : own) = fs.kept;
	}
	cairn_repo_free(repo);
	return r;
}

static int policy_show(struct cli_global *g, struct cairn_state *st, const char *name)
{
	struct cairn_policy p;
	int r = cairn_policy_get(st, name, &p);
	if (r < 0)
		return cli_fail(r);
	json_t *j = policy_json(st, &p);
	/* What the repository holds, not what was run: retention and hands
	 * elsewhere may have forgotten some.  Best effort: the policy is shown
	 * when its repository cannot be read. */
	uint64_t own = 0, all = 0;
	char why[512] = "";
	if (count_backups(g, st, &p, &own, &all) < 0) {
		cairn_error_copy(why, sizeof(why));
		json_object_set_new(j, "backups", json_null());
		json_object_set_new(j, "series_backups", json_null());
		json_object_set_new(j, "backups_error", json_string(why));
	} else {
		json_object_set_new(j, "backups", json_integer((json_int_t)own));
		json_object_set_new(j, "series_backups", json_integer((json_int_t)all));
	}
	if (g->json) {
		cli_print_json(j);
	} else {
		char sched[300], keep[256];
		schedule_text(&p, sched, sizeof(sched));
		keep_text(&p, keep, sizeof(keep));
		json_t *lj = json_object_get(j, "last_job");
		const char *vol = json_string_value(json_object_get(j, "volume_name"));
		bool own_scope = p.scope == CAIRN_SCOPE_POLICY;
		printf("policy:     %s\n", p.name);
		printf("protects:   %s %s%s%s%s\n", p.kind == CAIRN_POLICY_GROUP ? "group" : "volume", p.source,
		       vol ? " (backups named " : "", vol ? vol : "", vol ? ")" : "");
		printf("repository: %s%s%s\n", p.repo, p.cred ? " with credential " : "", p.cred ? p.cred : "");
		printf("schedule:   %s%s\n", sched, p.paused ? " (paused)" : "");
		printf("keep:       %s%s\n", keep,
		       strcmp(keep, "all") == 0 ? ""
		       : own_scope	      ? ", of the backups this policy made"
					      : ", of every backup of its series (--retention-scope volume)");
		if (p.full_every)
			printf("full read:  every %u%s backup\n", p.full_every,
			       p.full_every == 1 ? "" : p.full_every == 2 ? "nd" : p.full_every == 3 ? "rd" : "th");
		printf("snapshot:   %s\n", p.snapshot);
		if (p.no_catalog)
			printf("catalog:    none (--no-catalog): no file listing or file restore of its backups\n");
		if (p.copy_to) {
			char lc[48] = "never", every[64] = "after each backup";
			if (p.last_copy)
				cairn_time_format(p.last_copy, lc, sizeof(lc));
			if (p.copy_every)
				snprintf(every, sizeof(every), "every %llds", (long long)p.copy_every);
			printf("copies to:  %s %s, keep there %s (last copy %s)\n", p.copy_to, every,
			       p.copy_keep ? p.copy_keep : "all", lc);
		}
		if (why[0])
			printf("backups:    unknown (%s); %llu runs\n", why, (unsigned long long)p.backups);
		else
			printf("backups:    %llu made by this policy in the repository, %llu in its series; %llu runs\n",
			       (unsigned long long)own, (unsigned long long)all, (unsigned long long)p.backups);
		printf("last run:   %s\n", json_is_string(json_object_get(j, "last_run"))
						   ? json_string_value(json_object_get(j, "last_run"))
						   : "never");
		printf("next run:   %s\n", json_is_string(json_object_get(j, "next_run"))
						   ? json_string_value(json_object_get(j, "next_run"))
						   : "-");
		if (json_is_object(lj))
			printf("last job:   %lld (%s)\n", (long long)json_integer_value(json_object_get(lj, "id")),
			       json_string_value(json_object_get(lj, "state")));
		json_decref(j);
	}
	cairn_policy_clear(&p);
	return EXIT_OK;
}

static int policy_run(struct cli_global *g, struct cairn_state *st, const char *name, const char *job_arg)
{
	struct cairn_policy p;
	int r = cairn_policy_get(st, name, &p);
	if (r < 0)
		return cli_fail(r);
	int64_t job = 0;
	if (job_arg) {
		char *end;
		job = strtoll(job_arg, &end, 10);
		if (*end || job <= 0) {
			cairn_policy_clear(&p);
			return cli_usage("policy", "invalid --job '%s'", job_arg);
		}
		char prefix[128];
		snprintf(prefix, sizeof(prefix), "job %lld (policy %s): ", (long long)job, name);
		cairn_log_set_prefix(prefix);
	}
	struct cairn_app_policy_outcome out = { 0 };
	struct cli_progress prog;
	cli_progress_init(&prog, "backup", g);
	struct cairn_pass_source to_pass;
	cli_second_pass_source(true, NULL, &to_pass);
	to_pass.prompt = NULL; /* a scheduled run asks nobody */
	const struct cairn_app_policy_run ro = {
		.to_pass = &to_pass,
		.job = job, .daemon_child = job != 0, .connections = g->connections, .limit_upload = g->limit_upload,
		.progress = cli_progress_cb, .progress_done = cli_progress_end, .progress_ud = &prog,
	};
	r = cairn_app_policy_run(cli_app(g), st, &p, &ro, &out);
	bool own = p.scope == CAIRN_SCOPE_POLICY;
	cairn_policy_clear(&p);
	if (r < 0) {
		cairn_app_policy_outcome_clear(&out);
		return cli_fail(r);
	}
	struct cairn_job last;
	if (cairn_job_last_of(st, name, "backup", &last) >= 0) {
		if (g->json) {
			json_t *j = json_pack("{s:s, s:I, s:o}", "policy", name, "job", (json_int_t)last.id, "backup",
					      opt_str(last.result));
			json_object_set_new(j, "copy",
					    out.copy_ran ? json_pack("{s:b, s:I, s:I, s:o}", "ok", !out.copy_failed,
								     "backups_copied", (json_int_t)out.copy_backups,
								     "bytes_sent", (json_int_t)out.copy_bytes, "error",
								     out.copy_failed ? json_string(out.copy_error)
										     : json_null())
							 : json_null());
			json_object_set_new(j, "retention",
					    out.retention ? json_pack("{s:s, s:I, s:O}", "scope", own ? "policy" : "volume",
								      "kept", (json_int_t)out.kept, "forgotten",
								      out.forgotten)
							  : json_null());
			cli_print_json(j);
		} else if (last.result) {
			printf("%s\n", last.result);
		}
		cairn_job_clear(&last);
	}
	/* Every backup the policy's retention forgot is named, not only counted. */
	if (!g->json && out.retention && g->verbosity >= 0) {
		size_t n = json_array_size(out.forgotten);
		fprintf(stderr, "policy %s: retention kept %llu and forgot %zu of %s\n", name,
			(unsigned long long)out.kept, n, own ? "the backups it made" : "every backup of its series");
		for (size_t i = 0; i < n; i++) {
			json_t *it = json_array_get(out.forgotten, i);
			const char *type = json_string_value(json_object_get(it, "type"));
			fprintf(stderr, "  forgot %s %s of %s (created %s)\n",
				strcmp(type, "group") == 0 ? "group backup" : "backup",
				json_string_value(json_object_get(it, "id")),
				json_string_value(json_object_get(it, type)),
				json_string_value(json_object_get(it, "created")));
		}
	}
	if (!g->json && out.copy_ran && g->verbosity >= 0 && !out.copy_failed) {
		char sent[32];
		cairn_app_human_size(out.copy_bytes, sent, sizeof(sent));
		fprintf(stderr, "policy %s: copied %llu backup(s) to its copy repository, %s sent\n", name,
			(unsigned long long)out.copy_backups, sent);
	}
	cairn_app_policy_outcome_clear(&out);
	return EXIT_OK;
}

/* `policy copy NAME`: the policy's replication now (what the daemon runs
 * every --copy-every); exit 1 when the copy fails. */
static int policy_copy(struct cli_global *g, struct cairn_state *st, const char *name)
{
	struct cairn_policy p;
	int r = cairn_policy_get(st, name, &p);
	if (r < 0)
		return cli_fail(r);
	struct cairn_pass_source to_pass;
	cli_second_pass_source(true, NULL, &to_pass);
	struct cli_progress prog;
	cli_progress_init(&prog, "copy", g);
	struct cairn_app_progress progress = { .fn = cli_progress_cb, .done = cli_progress_end, .ud = &prog };
	struct cairn_app_replicate o = { .to_pass = &to_pass, .connections = g->connections, .progress = &progress };
	struct cairn_app_copy_result res;
	r = cairn_app_policy_replicate(cli_app(g), st, NULL, &p, &o, &res);
	cairn_policy_clear(&p);
	if (r < 0)
		return cli_fail(r);
	char sent[32];
	cairn_app_human_size(res.stats.bytes_sent, sent, sizeof(sent));
	if (g->json)
		cli_print_json(json_pack("{s:s, s:I, s:I, s:I, s:I, s:f}", "policy", name, "backups_copied",
					 (json_int_t)res.stats.backups_copied, "backups_skipped",
					 (json_int_t)res.stats.backups_skipped, "blobs_sent", (json_int_t)res.stats.blobs_sent,
					 "bytes_sent", (json_int_t)res.stats.bytes_sent, "seconds", res.stats.seconds));
	else if (g->verbosity >= 0)
		fprintf(stderr, "policy %s: copied %llu backup(s) (%llu there already), %s sent in %.1f s\n", name,
			(unsigned long long)res.stats.backups_copied, (unsigned long long)res.stats.backups_skipped, sent,
			res.stats.seconds);
	return EXIT_OK;
}

struct policy_args {
	struct create_args a;
	const char *job;
};
#define A(field) CLI_ARG(struct policy_args, a.field)
static const struct cli_opt policy_opts[] = {
	{ "volume", 0, OPT_STRING, A(volume) },
	{ "group", 0, OPT_STRING, A(group) },
	{ "every", 0, OPT_STRING, A(every) },
	{ "cron", 0, OPT_STRING, A(cron) },
	{ "keep-last", 0, OPT_STRING, A(keep.last) },
	{ "keep-hourly", 0, OPT_STRING, A(keep.hourly) },
	{ "keep-daily", 0, OPT_STRING, A(keep.daily) },
	{ "keep-weekly", 0, OPT_STRING, A(keep.weekly) },
	{ "keep-monthly", 0, OPT_STRING, A(keep.monthly) },
	{ "keep-yearly", 0, OPT_STRING, A(keep.yearly) },
	{ "keep-within", 0, OPT_STRING, A(keep.within) },
	{ "full-every", 0, OPT_STRING, A(full_every) },
	{ "snapshot", 0, OPT_STRING, A(snapshot) },
	{ "name", 0, OPT_STRING, A(name) },
	{ "retention-scope", 0, OPT_STRING, A(scope) },
	{ "rpo", 0, OPT_STRING, A(rpo) },
	{ "copy-to", 0, OPT_STRING, A(copy_to) },
	{ "copy-cred", 0, OPT_STRING, A(copy_cred) },
	{ "copy-every", 0, OPT_STRING, A(copy_every) },
	{ "copy-after-backup", 0, OPT_FLAG, A(copy_after_backup) },
	{ "copy-keep-last", 0, OPT_STRING, A(copy_keep.last) },
	{ "copy-keep-hourly", 0, OPT_STRING, A(copy_keep.hourly) },
	{ "copy-keep-daily", 0, OPT_STRING, A(copy_keep.daily) },
	{ "copy-keep-weekly", 0, OPT_STRING, A(copy_keep.weekly) },
	{ "copy-keep-monthly", 0, OPT_STRING, A(copy_keep.monthly) },
	{ "copy-keep-yearly", 0, OPT_STRING, A(copy_keep.yearly) },
	{ "copy-keep-within", 0, OPT_STRING, A(copy_keep.within) },
	{ "no-catalog", 0, OPT_FLAG, A(no_catalog) },
	{ "job", 0, OPT_STRING, CLI_ARG(struct policy_args, job) },
	{ NULL, 0, 0, NULL, 0 },
};
#undef A

static int check_policy(struct cli_ctx *c)
{
	const struct policy_args *pa = c->args;
	const struct create_args *a = &pa->a;
	const char *sub = c->pos.v[0];
	static const char *const subs[] = { "create", "list", "show", "delete", "pause", "resume", "run", "copy" };
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		known = known || strcmp(sub, subs[i]) == 0;
	if (!known)
		return cli_usage("policy", "unknown subcommand '%s'", sub);
	bool list = !strcmp(sub, "list"), create = !strcmp(sub, "create");
	if ((list && c->pos.n != 1) || (!list && c->pos.n != 2))
		return cli_usage("policy", list ? "'policy list' takes no argument" : "'policy %s' needs one NAME", sub);
	if (!create && (a->volume || a->group || a->every || a->cron || a->full_every || a->snapshot || a->name ||
			a->scope || a->keep.last || a->keep.hourly || a->keep.daily || a->keep.weekly ||
			a->keep.monthly || a->keep.yearly || a->keep.within || a->rpo || a->copy_to || a->copy_cred ||
			a->copy_every || a->copy_after_backup || a->no_catalog))
		return cli_usage("policy", "--volume, --group, --every, --cron, --keep-*, --retention-scope, --name, "
					   "--full-every, --snapshot and --no-catalog go with 'policy create'");
	if (pa->job && strcmp(sub, "run") != 0)
		return cli_usage("policy", "--job goes with 'policy run'");
	return 0;
}

static int run_policy(struct cli_ctx *c)
{
	struct policy_args *pa = c->args;
	struct create_args *a = &pa->a;
	struct cli_global *g = c->g;
	const struct cli_list pos = c->pos;
	const char *sub = pos.v[0], *job = pa->job;
	bool list = !strcmp(sub, "list"), create = !strcmp(sub, "create");
	struct cairn_state *st = c->st;
	int r;
	const char *name = pos.n > 1 ? pos.v[1] : NULL;
	if (create)
		return policy_create(g, st, name, a);
	if (list)
		return policy_list(g, st);
	if (!strcmp(sub, "show"))
		return policy_show(g, st, name);
	if (!strcmp(sub, "run"))
		return policy_run(g, st, name, job);
	if (!strcmp(sub, "copy"))
		return policy_copy(g, st, name);
	if (!strcmp(sub, "delete"))
		r = cairn_policy_delete(st, name);
	else
		r = cairn_policy_set_paused(st, name, !strcmp(sub, "pause"));
	if (r < 0)
		return cli_fail(r);
	const char *done = !strcmp(sub, "delete") ? "deleted" : !strcmp(sub, "pause") ? "paused" : "resumed";
	if (g->json)
		cli_print_json(json_pack("{s:s}", done, name));
	else if (g->verbosity >= 0)
		fprintf(stderr, "%s policy %s%s\n", done, name,
			!strcmp(sub, "delete") ? " (its backups and job history stay)" : "");
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_policy = {
	.verb = "policy", .run = run_policy, .opts = policy_opts, .args_size = sizeof(struct policy_args),
	.pos_min = 1, .pos_max = CLI_POS_ANY,
	.pos_few = "missing subcommand: create, list, show, delete, pause, resume, run or copy",
	.help_pos = "policy create", .check = check_policy, .needs = CLI_NEEDS_STATE, .job = "backup",
};
