/* Failover and failback at the DR site (failover.h). */
#include "app/failover.h"
#include "app/copy.h"
#include "app/drexport.h"
#include "app/open.h"
#include "app/policy.h"
#include "app/restore.h"
#include "app/standby.h"
#include "repo/group.h"
#include "repo/manifest.h"
#include "source/volume.h"
#include "state/failovers.h"
#include "state/groups.h"
#include "state/policies.h"
#include "state/standbys.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The name a policy's backups go by: its volume's, or its group's. */
static int policy_unit(const struct cairn_policy *p, char **ret)
{
	if (p->kind == CAIRN_POLICY_GROUP)
		return (*ret = strdup(p->source)) ? 0 : cairn_error_nomem();
	return cairn_app_policy_volume_name(p, ret);
}

/* The standby that protects policy p's volume or group (one; by its source). */
static int standby_of_policy(struct cairn_state *st, const struct cairn_policy *p, char **ret)
{
	_cleanup_free_ char *unit = NULL;
	int r = policy_unit(p, &unit);
	if (r < 0)
		return r;
	struct cairn_standby *v = NULL;
	size_t n = 0, found = 0;
	if ((r = cairn_standby_list(st, &v, &n)) < 0)
		return r;
	const char *name = NULL;
	for (size_t i = 0; i < n; i++)
		if (v[i].group == (p->kind == CAIRN_POLICY_GROUP) && strcmp(v[i].source, unit) == 0) {
			name = v[i].name;
			found++;
		}
	if (found == 1)
		r = (*ret = strdup(name)) ? 0 : cairn_error_nomem();
	else if (found == 0)
		r = cairn_error_set(CAIRN_ENOTFOUND, "no standby of %s '%s' (policy %s; see 'cairn standby create')",
				    p->kind == CAIRN_POLICY_GROUP ? "group" : "volume", unit, p->name);
	else
		r = cairn_error_set(CAIRN_EINVAL, "%zu standbys of '%s': name one with --standby", found, unit);
	cairn_standbys_free(v, n);
	return r;
}

/* The repository a standby reads from, resolved from its alias. */
static int standby_repo(const struct cairn_app *app, const struct cairn_standby *sb, char **ret_uri, char **ret_cred)
{
	char *uri = NULL, *cred = NULL;
	if (cairn_app_repo_alias(app, sb->uri, &uri, &cred) <= 0 || !uri) {
		free(uri);
		free(cred);
		uri = strdup(sb->uri);
		cred = sb->cred ? strdup(sb->cred) : NULL;
		if (!uri || (sb->cred && !cred)) {
			free(uri);
			free(cred);
			return cairn_error_nomem();
		}
	} else if (sb->cred) {
		free(cred);
		if (!(cred = strdup(sb->cred))) {
			free(uri);
			return cairn_error_nomem();
		}
	}
	*ret_uri = uri;
	*ret_cred = cred;
	return 0;
}

/* The members of group name as JSON in e: "members": [{path, volume,
 * named}] (volume: the name its backups go by; named: given, not the
 * default), "freeze" (mount points) and "config"; nothing when the group
 * is not defined here. */
static int group_members_json(struct cairn_state *st, const char *name, json_t *e)
{
	struct cairn_group g;
	int r = cairn_group_get(st, name, &g);
	if (r == CAIRN_ENOTFOUND) {
		cairn_error_clear();
		return 0;
	}
	if (r < 0)
		return r;
	json_t *m = json_array();
	for (size_t i = 0; i < g.nvolumes; i++) {
		const char *given = g.names ? g.names[i] : NULL;
		_cleanup_free_ char *stable = NULL;
		if (!given && cairn_volume_stable_path(g.volumes[i], &stable) < 0)
			cairn_error_clear();
		json_array_append_new(m, json_pack("{s:s, s:s, s:b}", "path", g.volumes[i], "volume",
						   given ? given : cairn_path_base(stable ? stable : g.volumes[i]),
						   "named", given != NULL));
	}
	json_object_set_new(e, "members", m);
	json_t *fz = json_array();
	for (size_t i = 0; i < g.nfreeze; i++)
		json_array_append_new(fz, json_string(g.freeze[i]));
	json_object_set_new(e, "freeze", fz);
	if (g.config)
		json_object_set_new(e, "config", json_string(g.config));
	cairn_group_clear(&g);
	return 0;
}

/* The policies to switch: the one named, else the paused ones (imported
 * from the primary) of the standby's volume or group.  As JSON, each as it
 * is now: what failback restores. */
static int policies_to_switch(struct cairn_state *st, const struct cairn_standby *sb, const char *only, json_t **ret)
{
	struct cairn_policy *v = NULL;
	size_t n = 0;
	int r = cairn_policy_list(st, &v, &n);
	if (r < 0)
		return r;
	json_t *a = json_array();
	for (size_t i = 0; i < n && r >= 0; i++) {
		const struct cairn_policy *p = &v[i];
		if (only ? strcmp(p->name, only) != 0 : !p->paused)
			continue;
		if ((p->kind == CAIRN_POLICY_GROUP) != sb->group)
			continue;
		_cleanup_free_ char *unit = NULL;
		if ((r = policy_unit(p, &unit)) < 0)
			break;
		if (strcmp(unit, sb->source) != 0)
			continue;
		json_t *e = json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:s, s:b}", "name", p->name, "repo", p->repo, "cred",
				      p->cred, "source", p->source, "volume_name", p->volume_name, "volume", unit,
				      "paused", p->paused);
		/* A group's member volumes as they are now (the primary's,
		 * as imported): where failback writes each member back. */
		if (p->kind == CAIRN_POLICY_GROUP && (r = group_members_json(st, p->source, e)) < 0) {
			json_decref(e);
			break;
		}
		json_array_append_new(a, e);
	}
	cairn_policies_free(v, n);
	if (r < 0) {
		json_decref(a);
		return r;
	}
	*ret = a;
	return 0;
}

/* Points the recorded policies at the DR repository and the standby, and
 * resumes them; idempotent (a rerun after a kill finishes the job). */
static int switch_to_dr(struct cairn_state *st, const struct cairn_failover *f, const struct cairn_standby *sb,
			json_t *out)
{
	json_error_t e;
	json_t *a = json_loads(f->policies, 0, &e);
	if (!json_is_array(a)) {
		json_decref(a);
		return cairn_error_set(CAIRN_EINVAL, "the failover record of standby %s is damaged", f->standby);
	}
	size_t i;
	json_t *p;
	int r = 0;
	json_array_foreach(a, i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *volume = json_string_value(json_object_get(p, "volume"));
		/* A volume policy reads the standby's image under the
		 * volume's own name, so its backups continue the series and
		 * the first finds the copied restore point as its parent; a
		 * group policy keeps its group (whose members the operator
		 * points at the standby's images). */
		const char *source = sb->group ? json_string_value(json_object_get(p, "source")) : sb->target;
		if ((r = cairn_policy_set_target(st, name, f->dr_uri, f->dr_cred, source, sb->group ? NULL : volume)) < 0)
			break;
		if ((r = cairn_policy_set_paused(st, name, false)) < 0)
			break;
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}", "name", name, "repo", f->dr_uri, "source",
						     source, "volume", volume));
	}
	json_decref(a);
	return r;
}

int cairn_app_failover(const struct cairn_app *app, struct cairn_state *st, const struct cairn_app_failover *o,
		       json_t **ret)
{
	double t0 = cairn_now();
	_cleanup_free_ char *sbname = NULL;
	int r;
	if (o->policy) {
		struct cairn_policy p;
		if ((r = cairn_policy_get(st, o->policy, &p)) < 0)
			return r;
		r = standby_of_policy(st, &p, &sbname);
		cairn_policy_clear(&p);
		if (r < 0)
			return r;
	} else if (!(sbname = strdup(o->standby))) {
		return cairn_error_nomem();
	}
	struct cairn_standby sb;
	if ((r = cairn_standby_get(st, sbname, &sb)) < 0)
		return r;
	struct cairn_failover f = { 0 };
	json_t *out = json_object(), *pols = json_array();
	json_object_set_new(out, "standby", json_string(sb.name));
	json_object_set_new(out, "target", json_string(sb.target));
	json_object_set_new(out, "group", json_boolean(sb.group));
	r = cairn_failover_get(st, sb.name, &f);
	if (r >= 0 && !f.failed_back) {
		/* Failed over already: nothing is applied; the policies are
		 * made sure of (a kill may have come between the record and
		 * their switch). */
		json_object_set_new(out, "already", json_true());
		r = switch_to_dr(st, &f, &sb, pols);
		goto done;
	}
	if (r < 0 && r != CAIRN_ENOTFOUND)
		goto done;
	cairn_error_clear();
	cairn_failover_clear(&f);
	json_object_set_new(out, "already", json_false());
	/* The newest restore point that has arrived (or --at). */
	struct cairn_app_standby_update uo = { .at = o->at, .progress = o->progress };
	struct cairn_app_standby_result ur;
	r = cairn_app_standby_update(app, st, sb.name, &uo, &ur);
	if (r < 0 && !o->at && sb.backup && r != CAIRN_EPERM && r != CAIRN_ECANCELED) {
		/* The DR repository cannot be read (a disaster seldom spares
		 * just one site): what the standby holds is handed over, and
		 * the output says why it is not newer. */
		cairn_log_warn("standby %s: not updated (%s); handing over restore point %.12s", sb.name,
				  cairn_error_message(), sb.backup);
		json_object_set_new(out, "update_error", json_string(cairn_error_message()));
		cairn_error_clear();
		r = 0;
		memset(&ur, 0, sizeof(ur));
		snprintf(ur.from, sizeof(ur.from), "%s", sb.backup);
		snprintf(ur.to, sizeof(ur.to), "%s", sb.backup);
	}
	if (r < 0)
		goto done;
	json_object_set_new(out, "update", json_pack("{s:s, s:s, s:b, s:s, s:I, s:f}", "from", ur.from, "to", ur.to,
						     "changed", ur.changed, "mode", ur.mode ? ur.mode : "none",
						     "bytes_written", (json_int_t)ur.bytes_written, "seconds",
						     ur.seconds));
	cairn_standby_clear(&sb);
	if ((r = cairn_standby_get(st, sbname, &sb)) < 0)
		goto done;
	json_t *before = NULL;
	if ((r = policies_to_switch(st, &sb, o->policy, &before)) < 0)
		goto done;
	f.standby = strdup(sb.name);
	f.started = cairn_wall_now();
	f.backup = sb.backup ? strdup(sb.backup) : NULL;
	f.backup_created = sb.backup_created;
	f.target = strdup(sb.target);
	f.policies = json_dumps(before, JSON_COMPACT);
	json_decref(before);
	if ((r = standby_repo(app, &sb, &f.dr_uri, &f.dr_cred)) < 0)
		goto done;
	if (!f.standby || !f.target || !f.policies || (sb.backup && !f.backup)) {
		r = cairn_error_nomem();
		goto done;
	}
	/* The handover: from here the standby takes no update. */
	f.rto_ms = (int64_t)((cairn_now() - t0) * 1000);
	if ((r = cairn_failover_put(st, &f)) < 0)
		goto done;
	r = switch_to_dr(st, &f, &sb, pols);
	cairn_log_info("failover of standby %s: restore point %s handed over at %s in %.3f s", sb.name,
		       f.backup ? f.backup : "(none)", f.target, f.rto_ms / 1000.0);
done:
	if (r >= 0) {
		const struct cairn_failover *g = &f;
		json_object_set_new(out, "backup", g->backup ? json_string(g->backup) : json_null());
		json_object_set_new(out, "backup_created_us", json_integer(g->backup_created));
		json_object_set_new(out, "rto_s", json_real(g->rto_ms / 1000.0));
		json_object_set_new(out, "failed_over_at", json_integer(g->started));
		json_object_set_new(out, "repository", json_string(g->dr_uri));
		json_object_set_new(out, "policies", json_incref(pols));
		*ret = json_incref(out);
	}
	json_decref(pols);
	json_decref(out);
	cairn_failover_clear(&f);
	cairn_standby_clear(&sb);
	return r;
}

/* The failover row whose policies include name, and that policy's entry. */
static int failover_of_policy(struct cairn_state *st, const char *name, struct cairn_failover *ret, json_t **ret_p)
{
	struct cairn_failover *v = NULL;
	size_t n = 0;
	int r = cairn_failover_list(st, &v, &n);
	if (r < 0)
		return r;
	ssize_t best = -1;
	json_t *bp = NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *a = json_loads(v[i].policies, 0, NULL);
		size_t k;
		json_t *p;
		json_array_foreach(a, k, p) if (strcmp(json_string_value(json_object_get(p, "name")) ?: "", name) == 0)
		{
			/* The latest failover that switched it. */
			json_decref(bp);
			bp = json_incref(p);
			best = (ssize_t)i;
		}
		json_decref(a);
	}
	if (best < 0) {
		cairn_failovers_free(v, n);
		return cairn_error_set(CAIRN_EINVAL, "policy %s is not failed over (see 'cairn dr failover')", name);
	}
	*ret = v[best];
	memset(&v[best], 0, sizeof(v[best]));
	cairn_failovers_free(v, n);
	*ret_p = bp;
	return 0;
}

static void step_out(json_t *steps, const char *step, bool now)
{
	json_array_append_new(steps, json_pack("{s:s, s:s}", "step", step, "done", now ? "now" : "before"));
}

/* Where failback writes a group's member volume: DIR/VOLUME with
 * --volume-target DIR, else the member's path recorded at failover. */
static int member_target(const json_t *orig, const char *dir, const char *volume, char **ret)
{
	if (dir)
		return asprintf(ret, "%s/%s", dir, volume) < 0 ? cairn_error_nomem() : 0;
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(orig, "members"), i, m)
	{
		const char *path = json_string_value(json_object_get(m, "path"));
		if (path && strcmp(json_string_value(json_object_get(m, "volume")) ?: "", volume) == 0)
			return (*ret = strdup(path)) ? 0 : cairn_error_nomem();
	}
	return cairn_error_set(CAIRN_ENOTFOUND, "volume %s of the group backup was no member of the group at "
						"failover: give --volume-target DIR (each member to DIR/VOLUME)",
			       volume);
}

/* Step 2 for a group: each member of the newest group backup of group at
 * the primary written by delta onto its volume.  A rerun after a kill
 * writes again only what still differs. */
static int restore_group(const struct cairn_app *app, struct cairn_repo *dst, const struct cairn_app_failback *o,
			 const char *group, const json_t *orig, json_t *out, char ret_id[33], uint64_t *ret_written)
{
	struct cairn_group_backup_list gl = { 0 };
	struct cairn_manifest_list ml = { 0 };
	bool have_ml = false;
	struct cairn_group_backup *gb = NULL;
	_cleanup_free_ char *spec = NULL;
	int r = cairn_group_backup_list_load(dst, &gl);
	if (r < 0)
		return r;
	if (asprintf(&spec, "%s@latest", group) < 0)
		r = cairn_error_nomem();
	if (r >= 0 && (r = cairn_group_backup_resolve(&gl, spec, &gb)) < 0)
		r = cairn_error_prefix(r, "%s holds no group backup of group '%s'", o->to, group);
	if (r >= 0 && (r = cairn_manifest_list_load(dst, &ml)) >= 0)
		have_ml = true;
	uint64_t written = 0, compared = 0, fetched = 0;
	json_t *members = json_array();
	for (size_t i = 0; r >= 0 && i < gb->nmembers; i++) {
		const struct cairn_group_member *mb = &gb->members[i];
		struct cairn_manifest *m;
		_cleanup_free_ char *target = NULL;
		if ((r = cairn_manifest_resolve(&ml, mb->backup_hex, &m)) < 0) {
			r = cairn_error_prefix(r, "group backup %.12s: volume %s", gb->idhex, mb->volume);
			break;
		}
		if ((r = member_target(orig, o->volume_target, mb->volume, &target)) < 0)
			break;
		struct cairn_app_restore ro = { .target = target, .uri = o->to, .force = true, .delta = true,
						.progress = o->progress };
		struct cairn_restore_stats rs = { 0 };
		if ((r = cairn_app_restore(app, dst, m, &ro, &rs)) < 0)
			break;
		written += rs.bytes_written;
		compared += rs.bytes_compared;
		fetched += rs.bytes_fetched;
		json_array_append_new(members, json_pack("{s:s, s:s, s:s, s:I}", "volume", mb->volume, "backup",
							 m->idhex, "target", target, "bytes_written",
							 (json_int_t)rs.bytes_written));
	}
	if (r >= 0) {
		snprintf(ret_id, 33, "%s", gb->idhex);
		*ret_written = written;
		json_object_set_new(out, "restore", json_pack("{s:s, s:I, s:I, s:I, s:O}", "backup", gb->idhex,
							       "bytes_written", (json_int_t)written, "bytes_compared",
							       (json_int_t)compared, "bytes_fetched", (json_int_t)fetched,
							       "members", members));
	}
	json_decref(members);
	if (have_ml)
		cairn_manifest_list_free(&ml);
	cairn_group_backup_list_free(&gl);
	return r;
}

/* Step 3 for a group: its member volumes (which the operator pointed at
 * the standby's images at the DR site) as recorded at failover.  A delete
 * and a create: a kill between them leaves no group, and the rerun, the
 * switch step not being recorded, creates it. */
static int group_switch_back(struct cairn_state *st, const char *name, const json_t *orig)
{
	const json_t *members = json_object_get(orig, "members");
	size_t n = json_array_size(members);
	if (!n)
		return 0;
	struct cairn_group g = { 0 };
	int r = cairn_group_get(st, name, &g);
	if (r < 0 && r != CAIRN_ENOTFOUND)
		return r;
	bool exists = r >= 0, same = exists && g.nvolumes == n;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(g.volumes[i], json_string_value(json_object_get(json_array_get(members, i), "path")) ?: "") ==
		       0;
	if (same) {
		cairn_group_clear(&g);
		return 0;
	}
	cairn_error_clear();
	/* The definition as it is, with the recorded members (and their
	 * names when given: a default name follows its path). */
	char **vols = calloc(n, sizeof(char *)), **names = calloc(n, sizeof(char *)), **freeze = NULL;
	bool any_named = false;
	if (!vols || !names) {
		r = cairn_error_nomem();
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *m = json_array_get(members, i);
		bool named = json_is_true(json_object_get(m, "named"));
		if (!(vols[i] = strdup(json_string_value(json_object_get(m, "path")) ?: "")) ||
		    (named && !(names[i] = strdup(json_string_value(json_object_get(m, "volume")) ?: "")))) {
			r = cairn_error_nomem();
			goto out;
		}
		any_named = any_named || named;
	}
	struct cairn_group ng = exists ? g : (struct cairn_group){ .max_freeze_ms = CAIRN_GROUP_MAX_FREEZE_MS_DEFAULT };
	ng.name = (char *)name;
	ng.volumes = vols;
	ng.nvolumes = n;
	ng.names = any_named ? names : NULL;
	const char *config = json_string_value(json_object_get(orig, "config"));
	ng.config = (char *)config;
	/* The mount points frozen at the primary, as recorded. */
	const json_t *fz = json_object_get(orig, "freeze");
	size_t nf = json_array_size(fz);
	if (json_is_array(fz)) {
		if (nf && !(freeze = calloc(nf, sizeof(char *)))) {
			r = cairn_error_nomem();
			goto out;
		}
		for (size_t i = 0; i < nf; i++)
			freeze[i] = (char *)json_string_value(json_array_get(fz, i));
		ng.freeze = freeze;
		ng.nfreeze = nf;
	}
	if (exists && (r = cairn_group_delete(st, name)) < 0)
		goto out;
	r = cairn_group_create(st, &ng);
out:
	for (size_t i = 0; i < n; i++) {
		free(vols ? vols[i] : NULL);
		free(names ? names[i] : NULL);
	}
	free(vols);
	free(names);
	free(freeze); /* borrowed strings */
	cairn_group_clear(&g);
	return r;
}

int cairn_app_failback(const struct cairn_app *app, struct cairn_state *st, const struct cairn_app_failback *o,
		       json_t **ret)
{
	struct cairn_policy p;
	int r = cairn_policy_get(st, o->policy, &p);
	if (r < 0)
		return r;
	struct cairn_failover f = { 0 };
	json_t *orig = NULL, *out = json_object(), *steps = json_array();
	_cleanup_(cairn_repo_freep) struct cairn_repo *src = NULL, *dst = NULL;
	_cleanup_free_ char *volume = NULL;
	if ((r = failover_of_policy(st, o->policy, &f, &orig)) < 0)
		goto out;
	/* A group's members go to their recorded volumes (or DIR/VOLUME). */
	const char *target = o->volume_target ? o->volume_target
			     : p.kind == CAIRN_POLICY_GROUP ? NULL
							    : json_string_value(json_object_get(orig, "source"));
	json_object_set_new(out, "policy", json_string(p.name));
	json_object_set_new(out, "standby", json_string(f.standby));
	json_object_set_new(out, "to", json_string(o->to));
	json_object_set_new(out, "target", target ? json_string(target) : json_null());
	json_object_set_new(out, "already", json_boolean(f.failed_back));
	if (f.failed_back) {
		json_object_set_new(out, "bytes_written", json_integer((json_int_t)f.failback_bytes));
		goto out;
	}
	bool group = p.kind == CAIRN_POLICY_GROUP;
	if ((r = policy_unit(&p, &volume)) < 0)
		goto out;
	if (group && !o->volume_target && !json_is_array(json_object_get(orig, "members"))) {
		r = cairn_error_set(CAIRN_EINVAL, "failback of group policy %s: the failover recorded no member volumes "
						  "of group %s: give --volume-target DIR (each member is written to "
						  "DIR/VOLUME)", p.name, volume);
		goto out;
	}
	/* Step 1: what the DR site made, copied back (incremental: what the
	 * primary has is skipped). */
	struct cairn_repo_ref from, to = { .uri = o->to, .cred = o->to_cred };
	cairn_app_policy_repo_ref(&p, 0, 0, &from);
	if (f.step < CAIRN_FAILBACK_COPIED) {
		int which;
		if ((r = cairn_app_repo_open_pair(app, st, &from, &to, &src, &dst, &which)) < 0) {
			if (which)
				r = cairn_app_copy_destination_error(&to, r);
			goto out;
		}
		struct cairn_app_copy co = { .from_uri = p.repo, .policy = p.name, .st = st, .to = &to, .dst = dst,
					     .opts = { .volume = group ? NULL : volume, .group = group ? volume : NULL,
						       .state_dir = app->state_dir },
					     .progress = o->progress };
		struct cairn_app_copy_result cr;
		if ((r = cairn_app_copy(app, src, &co, &cr)) < 0)
			goto out;
		json_object_set_new(out, "copy", json_pack("{s:I, s:I, s:I, s:f}", "backups_copied",
							    (json_int_t)cr.stats.backups_copied, "backups_skipped",
							    (json_int_t)cr.stats.backups_skipped, "bytes_sent",
							    (json_int_t)cr.stats.bytes_sent, "seconds", cr.stats.seconds));
		if ((r = cairn_failover_set_step(st, f.standby, CAIRN_FAILBACK_COPIED, o->to, NULL, 0, 0)) < 0)
			goto out;
		step_out(steps, "copy", true);
	} else {
		step_out(steps, "copy", false);
	}
	/* Step 2: the primary volume brought to the newest restore point by
	 * delta: only the chunks that differ are written. */
	uint64_t written = f.failback_bytes;
	if (f.step < CAIRN_FAILBACK_RESTORED) {
		if (!dst && (r = cairn_app_repo_open(app, st, &to, &dst)) < 0)
			goto out;
		if (group) {
			char gid[33];
			if ((r = restore_group(app, dst, o, volume, orig, out, gid, &written)) < 0 ||
			    (r = cairn_failover_set_step(st, f.standby, CAIRN_FAILBACK_RESTORED, NULL, gid, written,
							 0)) < 0)
				goto out;
			step_out(steps, "restore", true);
			goto restored;
		}
		struct cairn_manifest_list l;
		if ((r = cairn_manifest_list_load(dst, &l)) < 0)
			goto out;
		struct cairn_manifest *m = cairn_manifest_latest(&l, volume);
		if (!m) {
			cairn_manifest_list_free(&l);
			r = cairn_error_set(CAIRN_ENOTFOUND, "%s holds no backup of volume '%s'", o->to, volume);
			goto out;
		}
		struct cairn_app_restore ro = { .target = target, .uri = o->to, .force = true, .delta = true,
						.progress = o->progress };
		struct cairn_restore_stats rs = { 0 };
		r = cairn_app_restore(app, dst, m, &ro, &rs);
		if (r >= 0) {
			written = rs.bytes_written;
			json_object_set_new(out, "restore", json_pack("{s:s, s:I, s:I, s:I, s:f}", "backup", m->idhex,
								       "bytes_written", (json_int_t)rs.bytes_written,
								       "bytes_compared", (json_int_t)rs.bytes_compared,
								       "bytes_fetched", (json_int_t)rs.bytes_fetched,
								       "seconds", rs.seconds));
			r = cairn_failover_set_step(st, f.standby, CAIRN_FAILBACK_RESTORED, NULL, m->idhex, written, 0);
		}
		cairn_manifest_list_free(&l);
		if (r < 0)
			goto out;
		step_out(steps, "restore", true);
	} else {
		step_out(steps, "restore", false);
	}
restored:
	json_object_set_new(out, "bytes_written", json_integer((json_int_t)written));
	/* Step 3: the policy as it was, against the primary repository;
	 * the standby takes updates again. */
	const char *ocred = json_string_value(json_object_get(orig, "cred"));
	const char *orepo = json_string_value(json_object_get(orig, "repo"));
	bool same = orepo && strcmp(orepo, o->to) == 0;
	if ((r = cairn_policy_set_target(st, p.name, o->to, same ? ocred : o->to_cred,
					 json_string_value(json_object_get(orig, "source")),
					 json_string_value(json_object_get(orig, "volume_name")))) < 0 ||
	    (r = cairn_policy_set_paused(st, p.name, json_is_true(json_object_get(orig, "paused")))) < 0 ||
	    (group && (r = group_switch_back(st, volume, orig)) < 0) ||
	    (r = cairn_failover_set_step(st, f.standby, CAIRN_FAILBACK_SWITCHED, NULL, NULL, 0, cairn_wall_now())) < 0)
		goto out;
	step_out(steps, "switch", true);
	cairn_log_info("failback of policy %s to %s: %llu bytes written to %s", p.name, o->to,
		       (unsigned long long)written, target ? target : "the group's volumes");
out:
	if (r >= 0) {
		json_object_set_new(out, "steps", json_incref(steps));
		*ret = json_incref(out);
	}
	json_decref(steps);
	json_decref(out);
	json_decref(orig);
	cairn_failover_clear(&f);
	cairn_policy_clear(&p);
	return r;
}
