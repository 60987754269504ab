/* The RPO report (drreport.h). */
#include "app/drreport.h"
#include "app/drtoken.h"
#include "app/open.h"
#include "app/policy.h"
#include "repo/group.h"
#include "repo/manifest.h"
#include "state/drills.h"
#include "state/failovers.h"
#include "state/jobs.h"
#include "state/policies.h"
#include "state/repos.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One repository the report looks into. */
struct drrepo {
	char *key;   /* cairn_dr_uri_public: how it is compared */
	char *uri;   /* as stored */
	char *cred;  /* NULL: the one that applies */
	char *alias; /* registered name, or NULL */
	json_t *roles;
	char *error; /* "unreachable: ..." */
	json_t *vols, *grps; /* name -> {created_us, id, size} of the newest */
};

struct report {
	struct drrepo *v;
	size_t n, cap;
};

static void report_clear(struct report *rp)
{
	for (size_t i = 0; i < rp->n; i++) {
		struct drrepo *r = &rp->v[i];
		free(r->key);
		free(r->uri);
		free(r->cred);
		free(r->alias);
		free(r->error);
		json_decref(r->roles);
		json_decref(r->vols);
		json_decref(r->grps);
	}
	free(rp->v);
}

static char *key_of(const char *uri)
{
	char *k = NULL;
	if (cairn_dr_uri_public(uri, &k) < 0) {
		cairn_error_clear();
		k = strdup(uri);
	}
	return k;
}

static struct drrepo *find(struct report *rp, const char *uri)
{
	_cleanup_free_ char *k = key_of(uri);
	for (size_t i = 0; k && i < rp->n; i++)
		if (strcmp(rp->v[i].key, k) == 0)
			return &rp->v[i];
	return NULL;
}

static int add(struct report *rp, const char *uri, const char *cred, const char *alias, const char *role)
{
	struct drrepo *r = find(rp, uri);
	if (!r) {
		if (cairn_array_grow(&rp->v, &rp->cap, rp->n, sizeof(*rp->v), 4) < 0)
			return cairn_error_nomem();
		r = &rp->v[rp->n++];
		memset(r, 0, sizeof(*r));
		r->key = key_of(uri);
		r->uri = strdup(uri);
		r->roles = json_array();
		if (!r->key || !r->uri)
			return cairn_error_nomem();
	}
	if (cred && !r->cred && !(r->cred = strdup(cred)))
		return cairn_error_nomem();
	if (alias && !r->alias && !(r->alias = strdup(alias)))
		return cairn_error_nomem();
	size_t i;
	json_t *x;
	json_array_foreach(r->roles, i, x) if (strcmp(json_string_value(x), role) == 0) return 0;
	json_array_append_new(r->roles, json_string(role));
	return 0;
}

static void newest_into(json_t *obj, const char *name, int64_t created_us, const char *id, uint64_t size)
{
	json_t *e = json_object_get(obj, name);
	if (e && json_integer_value(json_object_get(e, "created_us")) >= created_us)
		return;
	json_object_set_new(obj, name, json_pack("{s:I, s:s, s:I}", "created_us", (json_int_t)created_us, "id", id,
						 "size", (json_int_t)size));
}

/* Reads what r holds; a repository that does not open is "unreachable". */
static void look(const struct cairn_app *app, struct cairn_state *st, struct drrepo *r)
{
	r->vols = json_object();
	r->grps = json_object();
	struct cairn_repo_ref ref = { .uri = r->uri, .cred = r->cred };
	_cleanup_(cairn_repo_freep) struct cairn_repo *repo = NULL;
	struct cairn_manifest_list ml;
	struct cairn_group_backup_list gl;
	int q = cairn_app_repo_open(app, st, &ref, &repo);
	if (q >= 0 && (q = cairn_manifest_list_load(repo, &ml)) >= 0) {
		if ((q = cairn_group_backup_list_load(repo, &gl)) >= 0) {
			for (size_t i = 0; i < ml.n; i++)
				newest_into(r->vols, ml.v[i]->volume, ml.v[i]->created_us, ml.v[i]->idhex, ml.v[i]->size);
			for (size_t i = 0; i < gl.n; i++) {
				const struct cairn_group_backup *g = gl.v[i];
				uint64_t size = 0;
				for (size_t k = 0; k < g->nmembers; k++)
					for (size_t m = 0; m < ml.n; m++)
						if (memcmp(ml.v[m]->id, g->members[k].backup, CAIRN_BACKUP_ID_LEN) == 0)
							size += ml.v[m]->size;
				newest_into(r->grps, g->name, g->created_us, g->idhex, size);
			}
			cairn_group_backup_list_free(&gl);
		}
		cairn_manifest_list_free(&ml);
	}
	if (q < 0) {
		char msg[600];
		snprintf(msg, sizeof(msg), "unreachable: %s", cairn_error_message());
		cairn_error_clear();
		r->error = strdup(msg);
	}
}

/* Bytes per second of the newest finished restore from r (0: none). */
static double restore_rate(const struct cairn_job *jobs, size_t nj, const struct drrepo *r)
{
	for (size_t i = 0; i < nj; i++) {
		const struct cairn_job *j = &jobs[i];
		if (strcmp(j->kind, "restore") != 0 || j->state != CAIRN_JOB_DONE || !j->repo || j->elapsed_s <= 0 ||
		    !j->bytes_done)
			continue;
		_cleanup_free_ char *k = key_of(j->repo);
		if (k && strcmp(k, r->key) == 0)
			return (double)j->bytes_done / j->elapsed_s;
	}
	return 0;
}

struct item {
	const char *kind, *name;
	const struct cairn_policy *p; /* may be NULL */
};

static json_t *item_json(struct report *rp, const struct item *it, const struct cairn_job *jobs, size_t nj,
			 int64_t now)
{
	bool group = strcmp(it->kind, "group") == 0;
	_cleanup_free_ char *pkey = it->p ? key_of(it->p->repo) : NULL;
	json_t *repos = json_array();
	int64_t best_off = 0;
	const struct drrepo *off = NULL, *prim = NULL;
	uint64_t off_size = 0, prim_size = 0;
	for (size_t i = 0; i < rp->n; i++) {
		const struct drrepo *r = &rp->v[i];
		bool primary = pkey && strcmp(pkey, r->key) == 0;
		json_t *e = r->error ? NULL : json_object_get(group ? r->grps : r->vols, it->name);
		if (!e && !primary)
			continue;
		int64_t us = e ? json_integer_value(json_object_get(e, "created_us")) : 0;
		uint64_t size = e ? (uint64_t)json_integer_value(json_object_get(e, "size")) : 0;
		double rate = restore_rate(jobs, nj, r);
		char t[48];
		cairn_time_format_us(us, t, sizeof(t));
		json_t *o = json_pack("{s:s, s:o, s:b, s:o, s:I, s:o, s:o, s:I, s:o, s:o, s:o}", "uri", r->uri, "name",
				      r->alias ? json_string(r->alias) : json_null(), "primary", primary, "newest",
				      e ? json_string(t) : json_null(), "newest_us", (json_int_t)us, "age_s",
				      e ? json_integer((now * 1000000 - us) / 1000000) : json_null(), "backup",
				      e ? json_incref(json_object_get(e, "id")) : json_null(), "size", (json_int_t)size,
				      "restore_rate", rate > 0 ? json_real(rate) : json_null(), "rto_s",
				      rate > 0 && e ? json_real((double)size / rate) : json_null(), "error",
				      r->error ? json_string(r->error) : json_null());
		json_array_append_new(repos, o);
		if (!e)
			continue;
		if (primary) {
			prim = r;
			prim_size = size;
		} else if (us > best_off) {
			best_off = us;
			off = r;
			off_size = size;
		}
	}
	/* A policy import made (paused, into a registered repository) waits
	 * for failover on this host: its target is shown, not checked. */
	bool waiting = false;
	if (it->p && it->p->paused) {
		const struct drrepo *pr = find(rp, it->p->repo);
		size_t i;
		json_t *x;
		json_array_foreach(pr ? pr->roles : NULL, i, x) waiting = waiting || !strcmp(json_string_value(x), "registered");
	}
	int64_t target = it->p && !waiting ? it->p->rpo : 0;
	json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", it->kind, "name", it->name, "policy",
			      it->p ? json_string(it->p->name) : json_null(), "primary",
			      it->p ? json_string(it->p->repo) : json_null(), "rpo_target_s",
			      it->p && it->p->rpo ? json_integer(it->p->rpo) : json_null());
	json_object_set_new(j, "target_checked", json_boolean(target != 0));
	int64_t rpo = off ? (now * 1000000 - best_off) / 1000000 : -1;
	if (rpo < 0 && off)
		rpo = 0;
	json_object_set_new(j, "rpo_s", off ? json_integer(rpo) : json_null());
	json_object_set_new(j, "offsite_repo", off ? json_string(off->uri) : json_null());
	char why[512] = "";
	if (target && !off)
		snprintf(why, sizeof(why), "no off-site copy (target %llds)", (long long)target);
	else if (target && rpo > target)
		snprintf(why, sizeof(why), "RPO %llds > target %llds (newest off-site copy in %s)", (long long)rpo,
			 (long long)target, off->uri);
	json_object_set_new(j, "breached", json_boolean(why[0] != 0));
	json_object_set_new(j, "breach", why[0] ? json_string(why) : json_null());
	json_object_set_new(j, "repositories", repos);
	/* The newest copy into one of its off-site repositories. */
	json_t *lc = json_null();
	for (size_t i = 0; i < nj; i++) {
		const struct cairn_job *c = &jobs[i];
		if (strcmp(c->kind, "copy") != 0 || !c->repo || c->state == CAIRN_JOB_QUEUED ||
		    c->state == CAIRN_JOB_ACTIVE)
			continue;
		const struct drrepo *d = find(rp, c->repo);
		if (!d || (pkey && strcmp(d->key, pkey) == 0) ||
		    !json_object_get(group ? d->grps : d->vols, it->name))
			continue;
		lc = json_pack("{s:I, s:s, s:f, s:I, s:I, s:s, s:o}", "job", (json_int_t)c->id, "state",
			       cairn_job_state_name(c->state), "seconds", c->elapsed_s, "bytes", (json_int_t)c->bytes_done,
			       "completed", (json_int_t)c->completed, "to", c->repo, "result",
			       c->result ? json_string(c->result) : json_null());
		break;
	}
	json_object_set_new(j, "last_copy", lc);
	/* RTO from where a failover would restore: the newest off-site copy,
	 * else the primary. */
	const struct drrepo *from = off ? off : prim;
	double rate = from ? restore_rate(jobs, nj, from) : 0;
	uint64_t size = off ? off_size : prim_size;
	json_object_set_new(j, "rto_s", rate > 0 ? json_real((double)size / rate) : json_null());
	return j;
}

static bool have_item(json_t *items, const char *kind, const char *name)
{
	size_t i;
	json_t *x;
	json_array_foreach(items, i, x) if (!strcmp(json_string_value(json_object_get(x, "kind")), kind) &&
					     !strcmp(json_string_value(json_object_get(x, "name")), name)) return true;
	return false;
}

/* Each item's last recovery drill (state/drills.h): "drill" (null: never
 * drilled, "drill_flag" says so) and a failed one is a breach. */
static int attach_drills(struct cairn_state *st, json_t *all)
{
	size_t i;
	json_t *it;
	json_array_foreach(all, i, it)
	{
		struct cairn_drill_row d;
		int q = st ? cairn_drill_last(st, json_string_value(json_object_get(it, "kind")),
					      json_string_value(json_object_get(it, "name")), &d)
			   : CAIRN_ENOTFOUND;
		if (q == CAIRN_ENOTFOUND) {
			cairn_error_clear();
			json_object_set_new(it, "drill", json_null());
			json_object_set_new(it, "drill_flag", json_string("never drilled"));
			continue;
		}
		if (q < 0)
			return q;
		char t[48];
		cairn_time_format(d.started, t, sizeof(t));
		json_object_set_new(it, "drill", json_pack("{s:s, s:I, s:b, s:s?, s:f, s:f, s:f, s:I, s:s, s:s}",
							   "when", t, "started", (json_int_t)d.started, "ok", d.ok,
							   "message", d.message, "restore_s", d.restore_s, "check_s",
							   d.check_s, "rto_s", d.restore_s + d.check_s, "bytes",
							   (json_int_t)d.bytes, "backup", d.backup, "repo", d.repo));
		json_object_set_new(it, "drill_flag", d.ok ? json_null() : json_string("last drill failed"));
		if (!d.ok && !json_is_true(json_object_get(it, "breached"))) {
			char why[1100];
			snprintf(why, sizeof(why), "last drill failed (%s): %s", t, d.message ? d.message : "");
			json_object_set_new(it, "breached", json_true());
			json_object_set_new(it, "breach", json_string(why));
		}
		cairn_drill_row_clear(&d);
	}
	return 0;
}

/* The standbys handed over (app/failover.h): when, which restore point,
 * the RTO measured, and how far failback got. */
static json_t *failovers_json(struct cairn_state *st)
{
	json_t *a = json_array();
	struct cairn_failover *v = NULL;
	size_t n = 0;
	if (!st || cairn_failover_list(st, &v, &n) < 0) {
		cairn_error_clear();
		return a;
	}
	static const char *const steps[] = { "none", "copied", "restored", "switched" };
	for (size_t i = 0; i < n; i++) {
		const struct cairn_failover *f = &v[i];
		json_t *o = json_pack("{s:s, s:s, s:I, s:s?, s:I, s:f, s:s, s:s, s:s}", "standby", f->standby, "state",
				      f->failed_back ? "failed-back" : "failed-over", "failed_over_at",
				      (json_int_t)f->started, "backup", f->backup, "backup_created_us",
				      (json_int_t)f->backup_created, "rto_s", f->rto_ms / 1000.0, "repository", f->dr_uri,
				      "target", f->target, "failback_step", steps[f->step >= 0 && f->step <= 3 ? f->step : 0]);
		json_object_set_new(o, "failback_to", f->failback_to ? json_string(f->failback_to) : json_null());
		json_object_set_new(o, "failback_bytes_written", json_integer((json_int_t)f->failback_bytes));
		json_object_set_new(o, "failed_back_at", f->failback_done ? json_integer(f->failback_done) : json_null());
		json_object_set_new(o, "policies", json_loads(f->policies ? f->policies : "[]", 0, NULL) ?: json_array());
		json_array_append_new(a, o);
	}
	cairn_failovers_free(v, n);
	return a;
}

int cairn_app_dr_report(const struct cairn_app *app, struct cairn_state *st, int64_t now, json_t **ret)
{
	struct report rp = { 0 };
	struct cairn_policy *pv = NULL;
	struct cairn_repo_reg *rv = NULL;
	struct cairn_job *jobs = NULL;
	size_t pn = 0, rn = 0, nj = 0;
	int r = 0;
	json_t *items = json_array(), *bad = json_array(), *repos = json_array();
	if (st && ((r = cairn_policy_list(st, &pv, &pn)) < 0 || (r = cairn_repo_reg_list(st, &rv, &rn)) < 0 ||
		   (r = cairn_job_list(st, CAIRN_JOB_KEEP, &jobs, &nj)) < 0))
		goto out;
	for (size_t i = 0; i < pn && r >= 0; i++)
		r = add(&rp, pv[i].repo, pv[i].cred, NULL, "policy");
	for (size_t i = 0; i < rn && r >= 0; i++)
		r = add(&rp, rv[i].uri, rv[i].cred, rv[i].name, "registered");
	for (size_t i = 0; i < nj && r >= 0; i++)
		if (!strcmp(jobs[i].kind, "copy") && jobs[i].repo)
			r = add(&rp, jobs[i].repo, NULL, NULL, "copy destination");
	/* The repositories drills restored from. */
	struct cairn_drill_row *dv = NULL;
	size_t dn = 0;
	if (st && r >= 0 && (r = cairn_drill_list(st, CAIRN_JOB_KEEP, &dv, &dn)) >= 0)
		for (size_t i = 0; i < dn && r >= 0; i++)
			if (dv[i].repo && *dv[i].repo)
				r = add(&rp, dv[i].repo, NULL, NULL, "drill");
	cairn_drill_rows_free(dv, dn);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < rp.n; i++) {
		look(app, st, &rp.v[i]);
		json_array_append_new(repos, json_pack("{s:s, s:o, s:O, s:b, s:o}", "uri", rp.v[i].uri, "name",
						       rp.v[i].alias ? json_string(rp.v[i].alias) : json_null(), "roles",
						       rp.v[i].roles, "reachable", !rp.v[i].error, "error",
						       rp.v[i].error ? json_string(rp.v[i].error) : json_null()));
	}
	json_t *all = json_array();
	for (size_t i = 0; i < pn; i++) {
		_cleanup_free_ char *vn = NULL;
		struct item it = { .kind = pv[i].kind == CAIRN_POLICY_GROUP ? "group" : "volume", .p = &pv[i] };
		if (pv[i].kind == CAIRN_POLICY_GROUP)
			it.name = pv[i].source;
		else if ((r = cairn_app_policy_volume_name(&pv[i], &vn)) < 0)
			break;
		else
			it.name = vn;
		json_array_append_new(all, item_json(&rp, &it, jobs, nj, now));
	}
	/* What the repositories hold that no policy here protects. */
	for (size_t i = 0; i < rp.n && r >= 0; i++) {
		for (int g = 0; g < 2; g++) {
			const char *k;
			json_t *x;
			json_object_foreach(g ? rp.v[i].grps : rp.v[i].vols, k, x)
			{
				const char *kind = g ? "group" : "volume";
				if (have_item(all, kind, k))
					continue;
				struct item it = { .kind = kind, .name = k };
				json_array_append_new(all, item_json(&rp, &it, jobs, nj, now));
			}
		}
	}
	if (r >= 0 && (r = attach_drills(st, all)) < 0) {
		json_decref(all);
		goto out;
	}
	size_t i;
	json_t *x;
	json_array_foreach(all, i, x) json_array_append(json_is_true(json_object_get(x, "breached")) ? bad : items, x);
	json_decref(all);
out:
	if (r >= 0) {
		json_array_extend(bad, items);
		*ret = json_pack("{s:I, s:I, s:o, s:O}", "now", (json_int_t)now, "breached", (json_int_t)json_array_size(bad) -
			(json_int_t)json_array_size(items), "repositories", repos, "items", bad);
		json_object_set_new(*ret, "failovers", failovers_json(st));
	} else {
		json_decref(repos);
	}
	json_decref(items);
	json_decref(bad);
	cairn_policies_free(pv, pn);
	cairn_repo_regs_free(rv, rn);
	cairn_jobs_free(jobs, nj);
	report_clear(&rp);
	return r;
}
