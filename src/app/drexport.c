/* Export details and import (drexport.h). */
#include "app/drexport.h"
#include "app/standbyarrival.h"
#include "app/drtoken.h"
#include "app/job.h"
#include "app/open.h"
#include "app/policy.h"
#include "repo/group.h"
#include "repo/manifest.h"
#include "state/cred.h"
#include "state/groups.h"
#include "state/policies.h"
#include "state/repos.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/time.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *strv_json(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, opt_str(v ? v[i] : NULL));
	return a;
}

/* {name: {backups, newest_us}} of what a repository holds. */
static void count_into(json_t *obj, const char *name, int64_t created_us)
{
	json_t *e = json_object_get(obj, name);
	if (!e) {
		e = json_pack("{s:I, s:I}", "backups", (json_int_t)0, "newest_us", (json_int_t)0);
		json_object_set_new(obj, name, e);
	}
	json_object_set_new(e, "backups", json_integer(json_integer_value(json_object_get(e, "backups")) + 1));
	if (created_us > json_integer_value(json_object_get(e, "newest_us")))
		json_object_set_new(e, "newest_us", json_integer(created_us));
}

static json_t *named_array(json_t *obj)
{
	json_t *a = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		char t[48];
		int64_t us = json_integer_value(json_object_get(v, "newest_us"));
		cairn_time_format_us(us, t, sizeof(t));
		json_array_append_new(a, json_pack("{s:s, s:O, s:O, s:s}", "name", k, "backups",
						   json_object_get(v, "backups"), "newest_us",
						   json_object_get(v, "newest_us"), "newest", t));
	}
	return a;
}

static bool in_strs(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return true;
	return false;
}

static json_t *group_def_json(const struct cairn_group *g)
{
	json_t *j = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:i}", "name", g->name, "volumes",
			      strv_json(g->volumes, g->nvolumes), "names", g->names ? strv_json(g->names, g->nvolumes)
										  : json_null(),
			      "freeze", strv_json(g->freeze, g->nfreeze), "config", opt_str(g->config), "pre_hook",
			      opt_str(g->pre_hook), "post_hook", opt_str(g->post_hook), "max_freeze_ms",
			      (int)g->max_freeze_ms);
	return j;
}

static json_t *policy_def_json(const struct cairn_policy *p)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:o, s:i, s:i, s:i, s:i, s:i, s:i, s:o, s:i, s:s, s:s, s:I}",
			      "name", p->name, "id", p->id, "kind", p->kind == CAIRN_POLICY_GROUP ? "group" : "volume",
			      "source", p->source, "volume_name", opt_str(p->volume_name), "cron", opt_str(p->cron),
			      "every_s", (json_int_t)p->every, "keep_within", opt_str(p->keep_within), "keep_last",
			      p->keep_last, "keep_hourly", p->keep_hourly, "keep_daily", p->keep_daily, "keep_weekly",
			      p->keep_weekly, "keep_monthly", p->keep_monthly, "keep_yearly", p->keep_yearly,
			      "paused_at_export", json_boolean(p->paused), "full_every", (int)p->full_every,
			      "snapshot", p->snapshot, "retention_scope",
			      p->scope == CAIRN_SCOPE_VOLUME ? "volume" : "policy", "rpo_s", (json_int_t)p->rpo);
	/* Only when set: tokens of policies with catalogs stay as they were. */
	if (j && p->no_catalog)
		json_object_set_new(j, "no_catalog", json_true());
	return j;
}

static bool same_repo(const char *a, const char *b)
{
	_cleanup_free_ char *pa = NULL, *pb = NULL;
	if (cairn_dr_uri_public(a, &pa) < 0 || cairn_dr_uri_public(b, &pb) < 0) {
		cairn_error_clear();
		return strcmp(a, b) == 0;
	}
	return strcmp(pa, pb) == 0;
}

int cairn_app_dr_export(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
			const struct cairn_dr_export_opts *o, json_t **ret)
{
	(void)app;
	_cleanup_free_ char *uri = NULL;
	int r = cairn_dr_uri_public(o->uri, &uri);
	if (r < 0)
		return r;
	char id[33], fp[CAIRN_FINGERPRINT_HEX + 1];
	cairn_hex_encode(repo->config.id, 16, id);
	if ((r = cairn_repo_fingerprint(repo, fp)) < 0)
		return r;
	struct cairn_manifest_list ml;
	if ((r = cairn_manifest_list_load(repo, &ml)) < 0)
		return r;
	struct cairn_group_backup_list gl;
	if ((r = cairn_group_backup_list_load(repo, &gl)) < 0) {
		cairn_manifest_list_free(&ml);
		return r;
	}
	json_t *vols = json_object(), *grps = json_object(), *want_vols = json_array();
	if (o->volume)
		json_array_append_new(want_vols, json_string(o->volume));
	for (size_t i = 0; i < gl.n; i++) {
		if (o->volume || (o->group && strcmp(gl.v[i]->name, o->group) != 0))
			continue;
		count_into(grps, gl.v[i]->name, gl.v[i]->created_us);
		for (size_t k = 0; o->group && k < gl.v[i]->nmembers; k++)
			if (!in_strs(want_vols, gl.v[i]->members[k].volume))
				json_array_append_new(want_vols, json_string(gl.v[i]->members[k].volume));
	}
	for (size_t i = 0; i < ml.n; i++)
		if ((!o->volume && !o->group) || in_strs(want_vols, ml.v[i]->volume))
			count_into(vols, ml.v[i]->volume, ml.v[i]->created_us);
	cairn_manifest_list_free(&ml);
	cairn_group_backup_list_free(&gl);
	if ((o->volume && !json_object_size(vols)) || (o->group && !json_object_size(grps))) {
		json_decref(vols);
		json_decref(grps);
		json_decref(want_vols);
		return cairn_error_set(CAIRN_ENOTFOUND, "the repository holds no backup of %s '%s'",
				       o->volume ? "volume" : "group", o->volume ? o->volume : o->group);
	}
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	json_t *doc = json_pack("{s:i, s:s, s:s, s:s, s:I, s:s, s:o, s:o}", "v", CAIRN_DR_TOKEN_VERSION, "uri", uri,
				"id", id, "fingerprint", fp, "exported", (json_int_t)cairn_wall_now(), "host", host,
				"volumes", named_array(vols), "groups", named_array(grps));
	if (o->with_policies && st) {
		json_t *gdefs = json_array(), *pdefs = json_array();
		struct cairn_policy *pv = NULL;
		size_t pn = 0;
		if ((r = cairn_policy_list(st, &pv, &pn)) < 0)
			goto out;
		for (size_t i = 0; i < pn && r >= 0; i++) {
			const struct cairn_policy *p = &pv[i];
			if (!same_repo(p->repo, o->uri))
				continue;
			bool want;
			if (p->kind == CAIRN_POLICY_GROUP) {
				want = json_object_get(grps, p->source) || (!o->volume && !o->group) ||
				       (o->group && strcmp(o->group, p->source) == 0);
			} else {
				_cleanup_free_ char *vn = NULL;
				if ((r = cairn_app_policy_volume_name(p, &vn)) < 0)
					break;
				want = json_object_get(vols, vn) || (!o->volume && !o->group) ||
				       (o->volume && strcmp(o->volume, vn) == 0);
			}
			if (want)
				json_array_append_new(pdefs, policy_def_json(p));
			if (want && p->kind == CAIRN_POLICY_GROUP && !json_object_get(grps, p->source))
				json_object_set_new(grps, p->source, json_object());
		}
		cairn_policies_free(pv, pn);
		/* The definitions of the groups it holds or a policy protects. */
		struct cairn_group *gv = NULL;
		size_t gn = 0;
		if (r >= 0 && (r = cairn_group_list(st, &gv, &gn)) >= 0) {
			for (size_t i = 0; i < gn; i++)
				if (json_object_get(grps, gv[i].name))
					json_array_append_new(gdefs, group_def_json(&gv[i]));
			cairn_groups_free(gv, gn);
		}
	out:
		json_object_set_new(doc, "group_defs", gdefs);
		json_object_set_new(doc, "policies", pdefs);
	}
	json_decref(vols);
	json_decref(grps);
	json_decref(want_vols);
	if (r < 0) {
		json_decref(doc);
		return r;
	}
	*ret = doc;
	return 0;
}

/* ---- import ---- */

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int str_list(const json_t *a, char ***ret, size_t *ret_n, bool nulls)
{
	size_t n = json_array_size(a);
	*ret = NULL;
	*ret_n = 0;
	if (!n)
		return 0;
	char **v = calloc(n, sizeof(char *));
	if (!v)
		return cairn_error_nomem();
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(a, i));
		if (!s && !nulls) {
			for (size_t k = 0; k < i; k++)
				free(v[k]);
			free(v);
			return cairn_error_set(CAIRN_EINVAL, "the export token's group definition is damaged");
		}
		if (s && !(v[i] = strdup(s)))
			return cairn_error_nomem();
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static bool strv_eq(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if ((a[i] == NULL) != (b[i] == NULL) || (a[i] && strcmp(a[i], b[i]) != 0))
			return false;
	return true;
}

static void action(json_t *acts, bool *changed, bool change, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void action(json_t *acts, bool *changed, bool change, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	json_array_append_new(acts, json_string(line));
	if (change)
		*changed = true;
}

/* A group's config document where this host has none at its path: the
 * one stored with its newest group backup, written under the state
 * directory (the token carries no document: it may hold secrets). */
static int fetch_config(const struct cairn_app *app, struct cairn_repo *repo, const char *group, char **ret_path)
{
	*ret_path = NULL;
	struct cairn_group_backup_list gl;
	int r = cairn_group_backup_list_load(repo, &gl);
	if (r < 0)
		return r;
	const struct cairn_group_backup *best = NULL;
	for (size_t i = 0; i < gl.n; i++)
		if (strcmp(gl.v[i]->name, group) == 0 && gl.v[i]->config && gl.v[i]->config_name)
			best = gl.v[i];
	if (best && app->state_dir) {
		char dir[4096], path[4400];
		snprintf(dir, sizeof(dir), "%s/imported", app->state_dir);
		(void)mkdir(dir, 0700);
		snprintf(dir, sizeof(dir), "%s/imported/%s", app->state_dir, group);
		(void)mkdir(dir, 0700);
		snprintf(path, sizeof(path), "%s/%s", dir, best->config_name);
		FILE *f = fopen(path, "wxe");
		if (!f && errno == EEXIST)
			f = fopen(path, "we");
		if (!f) {
			r = cairn_error_errno(errno, "group %s: write its config document %s", group, path);
		} else {
			size_t w = fwrite(best->config, 1, best->config_len, f);
			if (fclose(f) != 0 || w != best->config_len)
				r = cairn_error_errno(errno ? errno : EIO, "write %s", path);
			else if (!(*ret_path = strdup(path)))
				r = cairn_error_nomem();
		}
	}
	cairn_group_backup_list_free(&gl);
	return r;
}

static int import_group(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
			const json_t *d, json_t *acts, bool *changed)
{
	struct cairn_group g = { 0 };
	size_t nn = 0;
	int r;
	/* Before the first goto: out's cleanup must not skip an initialisation. */
	_cleanup_free_ char *fetched = NULL;
	const char *name = jstr(d, "name");
	if (!name)
		return cairn_error_set(CAIRN_EINVAL, "the export token's group definition has no name");
	if ((r = str_list(json_object_get(d, "volumes"), &g.volumes, &g.nvolumes, false)) < 0 ||
	    (r = str_list(json_object_get(d, "freeze"), &g.freeze, &g.nfreeze, false)) < 0 ||
	    (json_is_array(json_object_get(d, "names")) &&
	     (r = str_list(json_object_get(d, "names"), &g.names, &nn, true)) < 0))
		goto out;
	if (g.names && nn != g.nvolumes) {
		r = cairn_error_set(CAIRN_EINVAL, "the export token's group %s is damaged", name);
		goto out;
	}
	struct cairn_group have;
	if ((r = cairn_group_get(st, name, &have)) >= 0) {
		bool same = strv_eq(have.volumes, have.nvolumes, g.volumes, g.nvolumes);
		cairn_group_clear(&have);
		action(acts, changed, false, same ? "group %s: defined here already, unchanged"
						  : "group %s: defined here already with other volumes, kept as it is",
		       name);
		r = 0;
		goto out;
	}
	if (r != CAIRN_ENOTFOUND)
		goto out;
	cairn_error_clear();
	g.name = (char *)name;
	g.pre_hook = (char *)jstr(d, "pre_hook");
	g.post_hook = (char *)jstr(d, "post_hook");
	g.max_freeze_ms = (unsigned)json_integer_value(json_object_get(d, "max_freeze_ms"));
	if (!g.max_freeze_ms)
		g.max_freeze_ms = CAIRN_GROUP_MAX_FREEZE_MS_DEFAULT;
	const char *config = jstr(d, "config");
	if (config && access(config, R_OK) != 0) {
		if ((r = fetch_config(app, repo, name, &fetched)) < 0)
			goto out;
		config = fetched;
	}
	g.config = (char *)config;
	r = cairn_group_create(st, &g);
	g.name = NULL;
	g.pre_hook = g.post_hook = g.config = NULL;
	if (r >= 0)
		action(acts, changed, true, "group %s: defined (%zu volume(s)%s%s)", name, g.nvolumes,
		       fetched ? ", config document from its newest group backup: " : "", fetched ? fetched : "");
out:
	free_strv(g.volumes, g.nvolumes);
	free_strv(g.freeze, g.nfreeze);
	free_strv(g.names, nn);
	return r;
}

static int import_policy(struct cairn_state *st, const json_t *d, const char *uri, const char *cred_uuid,
			 json_t *acts, bool *changed)
{
	const char *name = jstr(d, "name"), *id = jstr(d, "id");
	if (!name || !id || !jstr(d, "source") || !jstr(d, "kind"))
		return cairn_error_set(CAIRN_EINVAL, "the export token's policy definition is damaged");
	struct cairn_policy have;
	int r = cairn_policy_get(st, name, &have);
	if (r >= 0) {
		bool same = strcmp(have.id, id) == 0;
		cairn_policy_clear(&have);
		action(acts, changed, false, same ? "policy %s: here already, unchanged"
						  : "policy %s: another policy of that name exists here, kept as it is",
		       name);
		return 0;
	}
	if (r != CAIRN_ENOTFOUND)
		return r;
	cairn_error_clear();
	struct cairn_policy p = {
		.name = (char *)name, .id = (char *)id,
		.kind = strcmp(jstr(d, "kind"), "group") == 0 ? CAIRN_POLICY_GROUP : CAIRN_POLICY_VOLUME,
		.source = (char *)jstr(d, "source"), .volume_name = (char *)jstr(d, "volume_name"),
		.repo = (char *)uri, .cred = (char *)cred_uuid,
		.every = json_integer_value(json_object_get(d, "every_s")), .cron = (char *)jstr(d, "cron"),
		.keep_last = (int)json_integer_value(json_object_get(d, "keep_last")),
		.keep_hourly = (int)json_integer_value(json_object_get(d, "keep_hourly")),
		.keep_daily = (int)json_integer_value(json_object_get(d, "keep_daily")),
		.keep_weekly = (int)json_integer_value(json_object_get(d, "keep_weekly")),
		.keep_monthly = (int)json_integer_value(json_object_get(d, "keep_monthly")),
		.keep_yearly = (int)json_integer_value(json_object_get(d, "keep_yearly")),
		.keep_within = (char *)jstr(d, "keep_within"),
		.full_every = (unsigned)json_integer_value(json_object_get(d, "full_every")),
		.snapshot = (char *)jstr(d, "snapshot"),
		.scope = jstr(d, "retention_scope") && strcmp(jstr(d, "retention_scope"), "volume") == 0
				 ? CAIRN_SCOPE_VOLUME : CAIRN_SCOPE_POLICY,
		/* Nothing runs here until failover resumes it. */
		.paused = true,
		.rpo = json_integer_value(json_object_get(d, "rpo_s")),
		.no_catalog = json_is_true(json_object_get(d, "no_catalog")),
	};
	if (p.cron)
		p.every = 0;
	if ((r = cairn_policy_create(st, &p)) < 0)
		return r;
	action(acts, changed, true, "policy %s: created paused ('cairn policy resume %s' starts it)", name, name);
	return 0;
}

/* Newest restore point (unix us) and the number of backups and group
 * backups a repository holds. */
static int newest_of(struct cairn_repo *repo, int64_t *ret_newest, uint64_t *ret_n)
{
	struct cairn_manifest_list ml;
	int r = cairn_manifest_list_load(repo, &ml);
	if (r < 0)
		return r;
	struct cairn_group_backup_list gl;
	if ((r = cairn_group_backup_list_load(repo, &gl)) < 0) {
		cairn_manifest_list_free(&ml);
		return r;
	}
	int64_t newest = 0;
	for (size_t i = 0; i < ml.n; i++)
		if (ml.v[i]->created_us > newest)
			newest = ml.v[i]->created_us;
	for (size_t i = 0; i < gl.n; i++)
		if (gl.v[i]->created_us > newest)
			newest = gl.v[i]->created_us;
	*ret_newest = newest;
	*ret_n = ml.n + gl.n;
	cairn_manifest_list_free(&ml);
	cairn_group_backup_list_free(&gl);
	return 0;
}

int cairn_app_dr_import(const struct cairn_app *app, struct cairn_state *st, const json_t *doc, const char *sum,
			const struct cairn_dr_import_opts *o, json_t **ret)
{
	const char *uri = jstr(doc, "uri"), *tid = jstr(doc, "id"), *tfp = jstr(doc, "fingerprint");
	if (!uri || !tid || !tfp || strlen(tid) != 32 || strlen(tfp) != CAIRN_FINGERPRINT_HEX)
		return cairn_error_set(CAIRN_EINVAL, "the export token names no repository (uri, id, fingerprint)");
	struct cairn_repo_ref ref = { .uri = uri, .cred = o->cred };
	_cleanup_(cairn_cred_freep) struct cairn_cred *cred = NULL;
	int r = cairn_app_repo_check(app, st, &ref, NULL, &cred);
	if (r < 0)
		return r;
	_cleanup_(cairn_repo_freep) struct cairn_repo *repo = NULL;
	if ((r = cairn_app_repo_open(app, st, &ref, &repo)) < 0)
		return r;
	char id[33], fp[CAIRN_FINGERPRINT_HEX + 1];
	cairn_hex_encode(repo->config.id, 16, id);
	if ((r = cairn_repo_fingerprint(repo, fp)) < 0)
		return r;
	if (strcmp(id, tid) != 0 || strcmp(fp, tfp) != 0)
		return cairn_error_set(CAIRN_EPERM, "repository at %s is not the one exported: id %s fingerprint %s, "
						    "the token names id %s fingerprint %s",
				       uri, id, fp, tid, tfp);
	int64_t newest;
	uint64_t nb;
	if ((r = newest_of(repo, &newest, &nb)) < 0)
		return r;
	json_t *acts = json_array();
	bool changed = false;
	char alias[80];
	struct cairn_repo_reg have;
	bool had = false;
	/* Groups and policies first, the registration last: a failure half
	 * way leaves no registration, and the next import adds what is
	 * missing (each step is idempotent). */
	r = cairn_repo_reg_by_uri(st, uri, &have);
	if (r >= 0) {
		had = true;
		snprintf(alias, sizeof(alias), "%s", have.name);
		if (strcmp(have.repo_id, id) != 0 || strcmp(have.fingerprint, fp) != 0) {
			r = cairn_error_set(CAIRN_EEXIST, "%s is registered here as '%s' with another id or fingerprint: "
							  "'cairn repos remove %s' first", uri, alias, alias);
			goto fail;
		}
	} else if (r == CAIRN_ENOTFOUND) {
		cairn_error_clear();
		if (o->name)
			snprintf(alias, sizeof(alias), "%s", o->name);
		else
			snprintf(alias, sizeof(alias), "repo-%.8s", id);
	} else {
		goto fail;
	}
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(doc, "group_defs"), i, d)
	{
		if ((r = import_group(app, st, repo, d, acts, &changed)) < 0)
			goto fail;
	}
	json_array_foreach(json_object_get(doc, "policies"), i, d)
	{
		if ((r = import_policy(st, d, uri, cred ? cred->uuid : NULL, acts, &changed)) < 0)
			goto fail;
	}
	if (had) {
		json_array_insert_new(acts, 0, json_sprintf("repository %s: registered already as '%s'", uri, alias));
		if (cred && (!have.cred || strcmp(have.cred, cred->uuid) != 0)) {
			if ((r = cairn_repo_reg_set_cred(st, alias, cred->uuid)) < 0)
				goto fail;
			action(acts, &changed, true, "repository %s: credential %s", alias, cred->uuid);
		}
		if (o->every >= 0 && o->every != have.every) {
			if ((r = cairn_repo_reg_set_every(st, alias, o->every)) < 0)
				goto fail;
			action(acts, &changed, true, "repository %s: re-read every %llds", alias, (long long)o->every);
		}
		if (sum && (!have.token_sum || strcmp(have.token_sum, sum) != 0) &&
		    (r = cairn_repo_reg_set_token_sum(st, alias, sum)) < 0)
			goto fail;
	} else {
		struct cairn_repo_reg reg = { .name = alias, .uri = (char *)uri, .repo_id = id, .fingerprint = fp,
					      .cred = cred ? cred->uuid : NULL, .imported = cairn_wall_now(),
					      .newest = newest, .backups = nb, .every = o->every > 0 ? o->every : 0,
					      .last_import = cairn_wall_now(), .token_sum = (char *)sum };
		if ((r = cairn_repo_reg_add(st, &reg)) < 0)
			goto fail;
		char t[48];
		cairn_time_format_us(newest, t, sizeof(t));
		json_array_insert_new(acts, 0, json_sprintf("repository %s: registered as '%s' (%llu backup(s), newest %s)",
							    uri, alias, (unsigned long long)nb, newest ? t : "none"));
		changed = true;
	}
	if (had)
		cairn_repo_reg_clear(&have);
	*ret = json_pack("{s:s, s:s, s:b, s:o}", "name", alias, "uri", uri, "changed", changed, "actions", acts);
	return 0;
fail:
	if (had)
		cairn_repo_reg_clear(&have);
	json_decref(acts);
	return r;
}

int cairn_app_dr_sync(const struct cairn_app *app, struct cairn_state *st, const char *name, int64_t job,
		      uint64_t *ret_new)
{
	struct cairn_repo_reg reg;
	int r = cairn_repo_reg_get(st, name, &reg);
	if (r < 0)
		return r;
	struct cairn_app_job j;
	if (job)
		r = cairn_app_job_adopt(app, st, job, &j);
	else
		r = cairn_app_job_begin(app, st, "import", NULL, reg.name, reg.uri, NULL, 0, &j);
	if (r < 0) {
		cairn_repo_reg_clear(&reg);
		return r;
	}
	uint64_t arrived = 0;
	int64_t newest = reg.newest;
	struct cairn_repo_ref ref = { .uri = reg.uri, .cred = reg.cred };
	_cleanup_(cairn_repo_freep) struct cairn_repo *repo = NULL;
	struct cairn_manifest_list ml = { 0 };
	struct cairn_group_backup_list gl = { 0 };
	bool have_ml = false, have_gl = false;
	if ((r = cairn_repo_reg_set_last_import(st, reg.name, cairn_wall_now())) < 0)
		goto end;
	if ((r = cairn_app_repo_open(app, st, &ref, &repo)) < 0)
		goto end;
	char id[33];
	cairn_hex_encode(repo->config.id, 16, id);
	if (strcmp(id, reg.repo_id) != 0) {
		r = cairn_error_set(CAIRN_EPERM, "repository at %s is not the one registered as '%s': id %s, "
						 "registered %s", reg.uri, reg.name, id, reg.repo_id);
		goto end;
	}
	if ((r = cairn_manifest_list_load(repo, &ml)) < 0)
		goto end;
	have_ml = true;
	if ((r = cairn_group_backup_list_load(repo, &gl)) < 0)
		goto end;
	have_gl = true;
	char line[512], t[48];
	for (size_t i = 0; i < ml.n; i++) {
		const struct cairn_manifest *m = ml.v[i];
		if (m->created_us <= reg.newest)
			continue;
		cairn_time_format_us(m->created_us, t, sizeof(t));
		snprintf(line, sizeof(line), "arrived: backup %s of volume %s, made %s on %s", m->idhex, m->volume, t,
			 m->hostname ? m->hostname : "?");
		cairn_log_info("%s", line); /* into the job's log too */
		arrived++;
		if (m->created_us > newest)
			newest = m->created_us;
	}
	for (size_t i = 0; i < gl.n; i++) {
		const struct cairn_group_backup *g = gl.v[i];
		if (g->created_us <= reg.newest)
			continue;
		cairn_time_format_us(g->created_us, t, sizeof(t));
		snprintf(line, sizeof(line), "arrived: group backup %s of group %s (%zu volume(s)), made %s", g->idhex,
			 g->name, g->nmembers, t);
		cairn_log_info("%s", line); /* into the job's log too */
		arrived++;
		if (g->created_us > newest)
			newest = g->created_us;
	}
	if (!arrived) {
		snprintf(line, sizeof(line), "nothing new in %s since the last read (%zu backup(s))", reg.name,
			 ml.n + gl.n);
		cairn_log_info("%s", line);
	}
	r = cairn_repo_reg_set_seen(st, reg.name, newest, ml.n + gl.n);
	/* Standbys of this host that read this repository update next. */
	if (r >= 0 && arrived)
		(void)cairn_app_standby_arrived(app, st, repo, NULL, NULL);
end:
	if (have_ml)
		cairn_manifest_list_free(&ml);
	if (have_gl)
		cairn_group_backup_list_free(&gl);
	char result[64];
	snprintf(result, sizeof(result), "%llu new", (unsigned long long)arrived);
	r = cairn_app_job_end(&j, r, r >= 0 ? result : NULL);
	cairn_repo_reg_clear(&reg);
	if (r >= 0 && ret_new)
		*ret_new = arrived;
	return r;
}

int cairn_app_repo_alias(const struct cairn_app *app, const char *ref, char **ret_uri, char **ret_cred)
{
	*ret_uri = *ret_cred = NULL;
	if (!app->state_dir)
		return 0;
	_cleanup_(cairn_state_freep) struct cairn_state *st = NULL;
	int r = cairn_app_state_open(app, true, &st);
	if (r < 0) {
		cairn_error_clear();
		return 0;
	}
	struct cairn_repo_reg reg;
	if (ref) {
		r = cairn_repo_reg_get(st, ref, &reg);
		if (r < 0) {
			cairn_error_clear();
			return 0;
		}
	} else {
		struct cairn_repo_reg *v = NULL;
		size_t n = 0;
		if (cairn_repo_reg_list(st, &v, &n) < 0) {
			cairn_error_clear();
			return 0;
		}
		if (n != 1) {
			cairn_repo_regs_free(v, n);
			return 0;
		}
		reg = v[0];
		free(v);
	}
	*ret_uri = reg.uri;
	*ret_cred = reg.cred;
	reg.uri = reg.cred = NULL;
	cairn_repo_reg_clear(&reg);
	return 1;
}
