/* Replication in policies (replicate.h). */
#include "app/replicate.h"
#include "app/job.h"
#include "app/open.h"
#include "app/forget.h"
#include "app/policyopts.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const count_names[] = { "last", "hourly", "daily", "weekly", "monthly", "yearly" };

static int *count_of(struct cairn_keep_rules *r, size_t i)
{
	int *v[] = { &r->last, &r->hourly, &r->daily, &r->weekly, &r->monthly, &r->yearly };
	return v[i];
}

int cairn_app_copy_keep_parse(const char *text, struct cairn_keep_rules *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!text || !*text)
		return 0;
	_cleanup_free_ char *copy = strdup(text);
	if (!copy)
		return cairn_error_nomem();
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return cairn_error_set(CAIRN_EINVAL, "copy keep rule '%s' is not NAME=VALUE", tok);
		*eq = 0;
		const char *v = eq + 1;
		if (strcmp(tok, "within") == 0) {
			if (cairn_keep_within_parse(v, &ret->within) < 0)
				return CAIRN_EINVAL;
			continue;
		}
		size_t i = 0;
		while (i < 6 && strcmp(tok, count_names[i]) != 0)
			i++;
		if (i == 6)
			return cairn_error_set(CAIRN_EINVAL, "unknown copy keep rule '%s'", tok);
		if (cairn_keep_count_parse(v, count_of(ret, i)) < 0)
			return cairn_error_set(CAIRN_EINVAL, "copy keep rule %s: '%s' is not a number from 1 or 'unlimited'",
					       tok, v);
	}
	return 0;
}

void cairn_app_copy_keep_format(const struct cairn_keep_rules *rules, char *buf, size_t size)
{
	struct cairn_keep_rules r = *rules;
	size_t n = 0;
	buf[0] = 0;
	for (size_t i = 0; i < 6 && n < size; i++) {
		int v = *count_of(&r, i);
		if (!v)
			continue;
		char num[16];
		snprintf(num, sizeof(num), "%d", v);
		n += (size_t)snprintf(buf + n, size - n, "%s%s=%s", n ? "," : "", count_names[i],
				      v < 0 ? "unlimited" : num);
	}
	char within[64];
	cairn_keep_within_format(&r.within, within, sizeof(within));
	if (within[0] && n < size)
		snprintf(buf + n, size - n, "%swithin=%s", n ? "," : "", within);
}

void cairn_app_policy_copy_ref(const struct cairn_policy *p, const struct cairn_pass_source *pass,
			       unsigned connections, struct cairn_repo_ref *ret)
{
	bool own = pass && ((pass->file && *pass->file) || pass->value);
	*ret = (struct cairn_repo_ref){ .uri = p->copy_to, .cred = p->copy_cred, .cred_pass_first = true,
					.pass = own ? pass : NULL, .connections = connections };
}

struct retention_at {
	const struct cairn_app *app;
	struct cairn_state *st;
	const struct cairn_policy *p;
	const char *volume;
	bool daemon_child;
};

/* The copy keep rules over the destination, as the policy's own rules run
 * over its repository (the copies carry the policy's id). */
static int retention_at_destination(struct cairn_repo *dst, void *ud)
{
	struct retention_at *ra = ud;
	struct cairn_forget_opts fo = { 0 };
	int r = cairn_app_copy_keep_parse(ra->p->copy_keep, &fo.rules);
	if (r < 0 || cairn_keep_rules_empty(&fo.rules))
		return r;
	_cleanup_free_ char *own_volume = NULL;
	if ((r = cairn_app_policy_forget_opts(ra->p, ra->volume, &fo, &own_volume)) < 0)
		return r;
	char rules[256], intro[512];
	cairn_keep_rules_format(&fo.rules, rules, sizeof(rules));
	snprintf(intro, sizeof(intro), "policy %s: retention at the copy %s: keep %s", ra->p->name, ra->p->copy_to,
		 rules);
	struct cairn_app_forget o = { .policy = ra->p->name, .source = fo.group ? fo.group : fo.volume,
				      .uri = ra->p->copy_to, .intro = intro, .daemon_child = ra->daemon_child };
	struct cairn_forget_stats fs;
	return cairn_app_forget_job(ra->app, ra->st, dst, &o, &fo, &fs);
}

int cairn_app_policy_replicate(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *src,
			       const struct cairn_policy *p, const struct cairn_app_replicate *o,
			       struct cairn_app_copy_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!p->copy_to)
		return cairn_error_set(CAIRN_EINVAL, "policy %s has no replication target (policy create --copy-to)",
				       p->name);
	(void)cairn_policy_set_last_copy(st, p->name, cairn_wall_now());
	_cleanup_(cairn_repo_freep) struct cairn_repo *opened = NULL;
	int r;
	if (!src) {
		struct cairn_repo_ref ref;
		cairn_app_policy_repo_ref(p, o->connections, 0, &ref);
		if ((r = cairn_app_repo_open(app, st, &ref, &opened)) < 0)
			return r;
		src = opened;
	}
	_cleanup_free_ char *volume = NULL;
	if (p->kind == CAIRN_POLICY_VOLUME && (r = cairn_app_policy_volume_name(p, &volume)) < 0)
		return r;
	struct cairn_repo_ref to;
	cairn_app_policy_copy_ref(p, o->to_pass, o->connections, &to);
	struct retention_at ra = { .app = app, .st = st, .p = p, .volume = volume, .daemon_child = o->daemon_child };
	struct cairn_app_copy c = { .from_uri = p->repo, .policy = p->name, .st = st, .daemon_child = o->daemon_child,
				    .to = &to, .with_destination = retention_at_destination, .ud = &ra };
	if (o->progress)
		c.progress = *o->progress;
	c.opts.volume = volume;
	c.opts.group = p->kind == CAIRN_POLICY_GROUP ? p->source : NULL;
	c.opts.state_dir = app->state_dir;
	cairn_log_info("policy %s: copy of %s %s to %s", p->name, p->kind == CAIRN_POLICY_GROUP ? "group" : "volume",
		       p->kind == CAIRN_POLICY_GROUP ? p->source : volume, p->copy_to);
	r = cairn_app_copy(app, src, &c, ret);
	if (r < 0 && !ret->ran) {
		/* The destination did not open (gone, wrong passphrase): still a
		 * failed copy job of the policy, where monitoring looks. */
		char msg[1024];
		cairn_error_copy(msg, sizeof(msg));
		struct cairn_app_job j;
		if (cairn_app_job_begin(app, st, "copy", p->name, p->repo, p->copy_to, NULL, 0, &j) >= 0)
			(void)cairn_app_job_end(&j, r, NULL);
		cairn_error_set(r, "%s", msg);
	}
	if (r < 0)
		cairn_error_prefix(r, "policy %s: copy to %s", p->name, p->copy_to);
	return r;
}
