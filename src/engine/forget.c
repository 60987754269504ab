/* forget: the keep rules over the repository's backups (retention.h). */
#include "engine/retention.h"
#include "repo/group.h"
#include "repo/hold.h"
#include "repo/manifest.h"
#include "repo/objects.h"
#include "repo/objlock.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/time.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct unit {
	bool group;
	const char *series;
	const char *idhex;
	const uint8_t *id;
	int64_t created_us;
	const struct cairn_group_backup *gb; /* group units */
	unsigned keep;
	const char *note;
	bool in_rules; /* evaluated by the rules (else kept by note) */
	char lock_note[96]; /* the note of a unit kept by object lock */
};

struct group_ids {
	uint8_t (*v)[CAIRN_BACKUP_ID_LEN];
	size_t n, cap;
};

static int collect_group(const char *name, const uint8_t *id, uint64_t size, void *ud)
{
	(void)name, (void)size;
	struct group_ids *g = ud;
	int r = cairn_array_grow(&g->v, &g->cap, g->n, sizeof(*g->v), 16);
	if (r < 0)
		return r;
	memcpy(g->v[g->n++], id, CAIRN_BACKUP_ID_LEN);
	return 0;
}

static bool has_id(const struct group_ids *g, const uint8_t *id)
{
	for (size_t i = 0; i < g->n; i++)
		if (memcmp(g->v[i], id, CAIRN_BACKUP_ID_LEN) == 0)
			return true;
	return false;
}

static const struct cairn_group_backup *find_group(const struct cairn_group_backup_list *l, const uint8_t *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (memcmp(l->v[i]->id, id, CAIRN_BACKUP_ID_LEN) == 0)
			return l->v[i];
	return NULL;
}

/* Whether a member of the group backup was made by the policy. */
static bool group_made_by(const struct cairn_group_backup *gb, const struct cairn_manifest_list *ml,
			  const char *policy_id)
{
	for (size_t i = 0; i < gb->nmembers; i++)
		for (size_t k = 0; k < ml->n; k++)
			if (memcmp(ml->v[k]->id, gb->members[i].backup, CAIRN_BACKUP_ID_LEN) == 0)
				return strcmp(ml->v[k]->policy_id, policy_id) == 0;
	return false;
}

static int by_series_newest(const void *a, const void *b)
{
	const struct unit *x = a, *y = b;
	int c = strcmp(x->series, y->series);
	if (c)
		return c;
	if (x->group != y->group)
		return x->group ? 1 : -1;
	if (x->created_us != y->created_us)
		return x->created_us > y->created_us ? -1 : 1;
	return -memcmp(x->id, y->id, CAIRN_BACKUP_ID_LEN);
}

static bool unit_held(const struct unit *u, const struct cairn_hold_list *holds)
{
	if (cairn_hold_find(holds, u->id))
		return true;
	if (u->gb)
		for (size_t i = 0; i < u->gb->nmembers; i++)
			if (cairn_hold_find(holds, u->gb->members[i].backup))
				return true;
	return false;
}

static uint64_t id_order(const uint8_t *id)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | id[i];
	return v;
}

/* Runs the rules over u[from..to) (one series, newest first). */
static int apply_series(struct unit *u, size_t from, size_t to, const struct cairn_forget_opts *o, int64_t now,
			const struct cairn_hold_list *holds)
{
	size_t n = 0;
	for (size_t i = from; i < to; i++)
		n += u[i].in_rules;
	_cleanup_free_ int64_t *t = malloc((n ? n : 1) * sizeof(*t));
	_cleanup_free_ uint64_t *ord = malloc((n ? n : 1) * sizeof(*ord));
	_cleanup_free_ unsigned *keep = calloc(n ? n : 1, sizeof(*keep));
	_cleanup_free_ size_t *at = malloc((n ? n : 1) * sizeof(*at));
	if (!t || !ord || !keep || !at)
		return cairn_error_nomem();
	size_t k = 0;
	for (size_t i = from; i < to; i++)
		if (u[i].in_rules) {
			t[k] = u[i].created_us;
			ord[k] = id_order(u[i].id);
			at[k++] = i;
		}
	int r = cairn_retention_apply(t, ord, n, &o->rules, now, keep);
	if (r < 0)
		return r;
	for (size_t j = 0; j < n; j++)
		u[at[j]].keep = keep[j];
	for (size_t i = from; i < to; i++)
		if (unit_held(&u[i], holds))
			u[i].keep |= CAIRN_KEEP_HELD;
	return 0;
}

/* The latest retain-until date (object lock) of the objects forgetting u
 * deletes: its manifest, or its group object and its members' manifests;
 * 0 when none is retained. */
static int unit_locked_until(struct cairn_repo *repo, const struct unit *u, int64_t *ret)
{
	int64_t t, max = 0;
	*ret = 0;
	if (!repo->config.object_lock_days)
		return 0;
	int r = cairn_repo_lock_until(repo, u->group ? CAIRN_OBJ_GROUP : CAIRN_OBJ_MANIFEST, u->id, &t);
	if (r < 0 && r != CAIRN_ENOTFOUND)
		return r;
	max = r < 0 ? 0 : t;
	for (size_t i = 0; u->gb && i < u->gb->nmembers; i++) {
		if ((r = cairn_repo_lock_until(repo, CAIRN_OBJ_MANIFEST, u->gb->members[i].backup, &t)) < 0 &&
		    r != CAIRN_ENOTFOUND)
			return r;
		if (r >= 0 && t > max)
			max = t;
	}
	cairn_error_clear();
	/* The server's clock judges: the real one. */
	*ret = max > (int64_t)time(NULL) ? max : 0;
	return 0;
}

static int delete_unit(struct cairn_repo *repo, const struct unit *u, struct cairn_forget_stats *st)
{
	int r;
	if (u->group) {
		/* The group object first: a group backup is never left with
		 * members missing, only members left without a group.  One
		 * that does not open (no gb) goes alone. */
		if ((r = cairn_object_delete(repo, CAIRN_OBJ_GROUP, u->id)) < 0)
			return r;
		st->groups_deleted++;
		for (size_t i = 0; u->gb && i < u->gb->nmembers; i++) {
			if ((r = cairn_object_delete(repo, CAIRN_OBJ_MANIFEST, u->gb->members[i].backup)) < 0)
				return r;
			st->manifests_deleted++;
		}
		return 0;
	}
	if ((r = cairn_object_delete(repo, CAIRN_OBJ_MANIFEST, u->id)) < 0)
		return r;
	st->manifests_deleted++;
	return 0;
}

/* What forgetting looks at: the backups, the group backups (and the ids of
 * every group object, readable or not), the holds. */
struct forget_lists {
	struct cairn_manifest_list ml;
	struct cairn_group_backup_list gl;
	struct cairn_hold_list holds;
	struct group_ids gids;
};

static void forget_lists_free(struct forget_lists *fl)
{
	free(fl->gids.v);
	cairn_hold_list_free(&fl->holds);
	cairn_group_backup_list_free(&fl->gl);
	cairn_manifest_list_free(&fl->ml);
}

static int forget_lists_load(struct cairn_repo *repo, struct forget_lists *fl)
{
	int r = cairn_manifest_list_load(repo, &fl->ml);
	if (r >= 0)
		r = cairn_group_backup_list_load(repo, &fl->gl);
	if (r >= 0)
		r = cairn_object_list(repo, CAIRN_OBJ_GROUP, collect_group, &fl->gids);
	if (r >= 0)
		r = cairn_hold_list_load(repo, &fl->holds);
	return r;
}

static int by_id(const void *a, const void *b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, CAIRN_BACKUP_ID_LEN);
}

/* Whether some kept unit has u's id: then its object is not deleted, as
 * the object is the kept one.  Names read from the store are canonical, so
 * this should never happen; it is what made a second spelling of the
 * newest backup's name delete that backup. */
static bool kept_elsewhere(const struct unit *u, const uint8_t *const *kept, size_t nkept)
{
	return nkept && bsearch(&u->id, kept, nkept, sizeof(*kept), by_id);
}

/* Reports every unit to o->decision, then deletes those not kept (unless
 * a dry run). */
static int report_and_delete(struct cairn_repo *repo, const struct unit *u, size_t nu,
			     const struct cairn_forget_opts *o, struct cairn_forget_stats *st)
{
	_cleanup_free_ const uint8_t **kept = malloc((nu ? nu : 1) * sizeof(*kept));
	size_t nkept = 0;
	if (!kept)
		return cairn_error_nomem();
	for (size_t i = 0; i < nu; i++)
		if (u[i].keep)
			kept[nkept++] = u[i].id;
	if (nkept)
		qsort(kept, nkept, sizeof(*kept), by_id);
	for (size_t i = 0; i < nu; i++) {
		if (u[i].keep)
			st->kept++;
		else
			st->forgotten++;
		if (o->decision) {
			struct cairn_forget_item it = { .group = u[i].group, .idhex = u[i].idhex, .series = u[i].series,
							.created_us = u[i].created_us, .keep = u[i].keep,
							.note = u[i].note, .nmembers = u[i].gb ? u[i].gb->nmembers : 0,
							.members = u[i].gb ? u[i].gb->members : NULL };
			o->decision(&it, o->ud);
		}
	}
	for (size_t i = 0; i < nu && !o->dry_run; i++) {
		if (u[i].keep)
			continue;
		if (kept_elsewhere(&u[i], kept, nkept)) {
			cairn_log_warn("not deleting %s %s: it is also kept", u[i].group ? "group backup" : "backup",
				       u[i].idhex);
			continue;
		}
		if (cairn_cancel_requested)
			return cairn_error_set(CAIRN_ECANCELED, "interrupted");
		int r = delete_unit(repo, &u[i], st);
		if (r < 0)
			return r;
		cairn_log_info("forgot %s %s of %s", u[i].group ? "group backup" : "backup", u[i].idhex,
			       u[i].series);
	}
	return 0;
}

int cairn_forget_run(struct cairn_repo *repo, const struct cairn_forget_opts *o, struct cairn_forget_stats *ret)
{
	struct cairn_forget_stats st = { 0 };
	if (ret)
		*ret = st;
	if (cairn_keep_rules_empty(&o->rules))
		return cairn_error_set(CAIRN_EINVAL, "no keep rule given: forgetting needs at least one --keep-* option");
	int64_t now = o->now ? o->now : cairn_wall_now();
	struct forget_lists fl = { 0 };
	_cleanup_free_ struct unit *u = NULL;
	size_t nu = 0;
	int r = forget_lists_load(repo, &fl);
	if (r >= 0 && !(u = calloc(fl.ml.n + fl.gl.n + 1, sizeof(*u))))
		r = cairn_error_nomem();
	if (r < 0)
		goto out;

	bool want_groups = !o->volume, want_volumes = !o->group;
	size_t members_seen = 0;
	if (want_groups)
		for (size_t i = 0; i < fl.gl.n; i++) {
			const struct cairn_group_backup *gb = fl.gl.v[i];
			if (o->group && strcmp(gb->name, o->group) != 0)
				continue;
			if (o->policy_id && !group_made_by(gb, &fl.ml, o->policy_id))
				continue;
			u[nu++] = (struct unit){ .group = true, .series = gb->name, .idhex = gb->idhex, .id = gb->id,
						 .created_us = gb->created_us, .gb = gb, .in_rules = true };
		}
	if (want_volumes)
		for (size_t i = 0; i < fl.ml.n; i++) {
			const struct cairn_manifest *m = fl.ml.v[i];
			if (o->volume && strcmp(m->volume, o->volume) != 0)
				continue;
			if (o->policy_id && strcmp(m->policy_id, o->policy_id) != 0)
				continue;
			struct unit x = { .series = m->volume, .idhex = m->idhex, .id = m->id,
					  .created_us = m->created_us, .in_rules = true };
			if (m->in_group && has_id(&fl.gids, m->group_id)) {
				members_seen++;
				if (find_group(&fl.gl, m->group_id))
					continue; /* the group's rules decide */
				x.in_rules = false;
				x.keep = CAIRN_KEEP_OTHER;
				x.note = "its group backup object is damaged";
			}
			u[nu++] = x;
		}
	if (o->policy_id && nu == 0 && members_seen == 0) {
		r = cairn_error_set(CAIRN_ENOTFOUND, "policy %s has made no backup%s%s%s in the repository",
				    o->policy ? o->policy : o->policy_id, o->volume || o->group ? " of " : "",
				    o->group ? "group " : o->volume ? "volume " : "",
				    o->group ? o->group : o->volume ? o->volume : "");
		goto out;
	}
	if (o->volume && nu == 0 && members_seen == 0) {
		r = cairn_error_set(CAIRN_ENOTFOUND, "no backup of volume '%s' in the repository", o->volume);
		goto out;
	}
	if (o->group && nu == 0) {
		r = cairn_error_set(CAIRN_ENOTFOUND, "no group backup of group '%s' in the repository", o->group);
		goto out;
	}
	if (nu)
		qsort(u, nu, sizeof(*u), by_series_newest);
	for (size_t from = 0; from < nu && r >= 0;) {
		size_t to = from + 1;
		while (to < nu && strcmp(u[to].series, u[from].series) == 0 && u[to].group == u[from].group)
			to++;
		r = apply_series(u, from, to, o, now, &fl.holds);
		st.series++;
		from = to;
	}
	/* What the rules would forget but the object lock still retains
	 * stays, saying until when. */
	for (size_t i = 0; i < nu && r >= 0; i++) {
		int64_t until;
		if (u[i].keep || (r = unit_locked_until(repo, &u[i], &until)) < 0 || !until)
			continue;
		char date[40];
		cairn_time_format(until, date, sizeof(date));
		snprintf(u[i].lock_note, sizeof(u[i].lock_note), "under object lock until %s", date);
		u[i].keep = CAIRN_KEEP_OTHER;
		u[i].note = u[i].lock_note;
		st.locked++;
	}
	bool any = false;
	for (size_t i = 0; i < nu; i++)
		any |= !u[i].keep;
	if (r >= 0 && !o->dry_run && any)
		r = cairn_repo_may_delete(repo, "forget");
	if (r >= 0)
		r = report_and_delete(repo, u, nu, o, &st);
out:
	forget_lists_free(&fl);
	if (ret)
		*ret = st;
	return r;
}

/* ---- forgetting backups by name ---- */

/* What one spec names.  Exactly one of m, gb, bad and gid is set. */
struct named {
	const struct cairn_manifest *m;
	const struct cairn_group_backup *gb;
	const struct cairn_damaged_manifest *bad; /* a manifest that does not open */
	const uint8_t *gid;                       /* a group object that does not open */
};

#define FORGET_PREFIX_MIN 4

static bool prefix_of(const char *hex, const char *spec, size_t sl)
{
	return sl <= 2 * CAIRN_BACKUP_ID_LEN && strncasecmp(hex, spec, sl) == 0;
}

static int resolve_named(const struct cairn_manifest_list *ml, const struct cairn_group_backup_list *gl,
			 const struct group_ids *gids, const char *spec, struct named *ret)
{
	size_t sl = strlen(spec);
	*ret = (struct named){ 0 };
	if (strcmp(spec, "latest") == 0 || (sl > 7 && strcmp(spec + sl - 7, "@latest") == 0)) {
		struct cairn_manifest *m = NULL;
		int r = cairn_manifest_resolve(ml, spec, &m);
		ret->m = m;
		return r;
	}
	if (sl == 0 || strspn(spec, "0123456789abcdefABCDEF") != sl)
		return cairn_error_set(CAIRN_ENOTFOUND,
				       "no backup matches '%s' (give an id or a prefix of one, latest or VOLUME@latest)",
				       spec);
	/* forget deletes: a digit or two is more likely a slip than a choice. */
	if (sl < FORGET_PREFIX_MIN)
		return cairn_error_set(CAIRN_EINVAL, "'%s' is too short to forget by: give at least %d digits of the id",
				       spec, FORGET_PREFIX_MIN);
	size_t matches = 0;
	for (size_t i = 0; i < ml->n; i++)
		if (prefix_of(ml->v[i]->idhex, spec, sl) && matches++ == 0)
			ret->m = ml->v[i];
	for (size_t i = 0; i < ml->damaged; i++)
		if (prefix_of(ml->bad[i].idhex, spec, sl) && matches++ == 0)
			ret->bad = &ml->bad[i];
	for (size_t i = 0; i < gids->n; i++) {
		char hex[2 * CAIRN_BACKUP_ID_LEN + 1];
		cairn_hex_encode(gids->v[i], CAIRN_BACKUP_ID_LEN, hex);
		if (!prefix_of(hex, spec, sl))
			continue;
		if (matches++ == 0) {
			ret->gb = find_group(gl, gids->v[i]);
			if (!ret->gb)
				ret->gid = gids->v[i];
		}
	}
	if (matches == 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no backup matches '%s'", spec);
	if (matches > 1)
		return cairn_error_set(CAIRN_EAMBIGUOUS, "backup id prefix '%s' matches %zu backups; give more digits",
				       spec, matches);
	return 0;
}

/* The readable group backup that lists id as a member, or NULL. */
static const struct cairn_group_backup *group_of_member(const struct cairn_group_backup_list *gl,
							const uint8_t id[CAIRN_BACKUP_ID_LEN])
{
	for (size_t i = 0; i < gl->n; i++)
		for (size_t k = 0; k < gl->v[i]->nmembers; k++)
			if (memcmp(gl->v[i]->members[k].backup, id, CAIRN_BACKUP_ID_LEN) == 0)
				return gl->v[i];
	return NULL;
}

/* member: the held member's group backup was named (spec), not the member. */
static int held_error(const struct cairn_hold *h, const char *spec, bool member)
{
	char who[160];
	if (member)
		snprintf(who, sizeof(who), "member backup %s of group backup '%s'", h->backup_hex, spec);
	else
		snprintf(who, sizeof(who), "'%s'", spec);
	const char *why = h->reason && *h->reason ? h->reason : NULL;
	return cairn_error_set(CAIRN_EBUSY, "%s is held%s%s%s: 'cairn release %s' first", who, why ? " (" : "",
			       why ? why : "", why ? ")" : "", h->backup_hex);
}

/* Room for the id a damaged object's unit has no list entry to borrow:
 * the binary id of a damaged manifest, the hex of a damaged group. */
struct unit_ids {
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	char hex[2 * CAIRN_BACKUP_ID_LEN + 1];
};

/* The unit a resolved name forgets (borrowing from the lists, or from
 * *own), or an error saying why it may not go. */
static int named_unit(const struct named *nm, const struct cairn_group_backup_list *gl,
		      const struct cairn_hold_list *holds, const char *spec, struct unit_ids *own, struct unit *ret)
{
	struct unit u;
	if (nm->m) {
		u = (struct unit){ .series = nm->m->volume, .idhex = nm->m->idhex, .id = nm->m->id,
				   .created_us = nm->m->created_us };
	} else if (nm->gb) {
		u = (struct unit){ .group = true, .series = nm->gb->name, .idhex = nm->gb->idhex, .id = nm->gb->id,
				   .created_us = nm->gb->created_us, .gb = nm->gb };
	} else if (nm->bad) {
		if (nm->bad->code == CAIRN_EVERSION)
			return cairn_error_set(CAIRN_EVERSION, "%s: upgrade cairn to read it, rather than forget it",
					       nm->bad->why);
		if (cairn_hex_decode(nm->bad->idhex, own->id, CAIRN_BACKUP_ID_LEN) < 0)
			return cairn_error_set(CAIRN_ECORRUPT, "%s", nm->bad->why);
		u = (struct unit){ .series = "?", .idhex = nm->bad->idhex, .id = own->id, .note = nm->bad->why };
	} else {
		cairn_hex_encode(nm->gid, CAIRN_BACKUP_ID_LEN, own->hex);
		u = (struct unit){ .group = true, .series = "?", .idhex = own->hex, .id = nm->gid,
				   .note = "its group backup object does not open; the members stay as backups" };
	}
	/* A member goes with its group backup, damaged or not. */
	const struct cairn_group_backup *g = u.group ? NULL : group_of_member(gl, u.id);
	if (g)
		return cairn_error_set(CAIRN_EINVAL,
				       "%sbackup %s%s%s belongs to group backup %s of %s: forget the group backup, "
				       "its members go with it",
				       nm->bad ? "damaged " : "", u.idhex, nm->bad ? "" : " of ", nm->bad ? "" : u.series,
				       g->idhex, g->name);
	const struct cairn_hold *h = cairn_hold_find(holds, u.id);
	if (h)
		return held_error(h, spec, false);
	for (size_t i = 0; u.gb && i < u.gb->nmembers; i++)
		if ((h = cairn_hold_find(holds, u.gb->members[i].backup)))
			return held_error(h, spec, true);
	*ret = u;
	return 0;
}

int cairn_forget_named(struct cairn_repo *repo, const char *const *specs, size_t n, const struct cairn_forget_opts *o,
		       struct cairn_forget_stats *ret)
{
	struct cairn_forget_stats st = { 0 };
	if (ret)
		*ret = st;
	if (!cairn_keep_rules_empty(&o->rules))
		return cairn_error_set(CAIRN_EINVAL, "forget takes backups or --keep-* rules, not both");
	if (n == 0)
		return cairn_error_set(CAIRN_EINVAL, "no backup named");
	struct forget_lists fl = { 0 };
	_cleanup_free_ struct unit *u = calloc(n, sizeof(*u));
	_cleanup_free_ struct unit_ids *own = calloc(n, sizeof(*own));
	size_t nu = 0;
	int r = u && own ? 0 : cairn_error_nomem();
	if (r >= 0)
		r = forget_lists_load(repo, &fl);
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct named nm;
		struct unit x;
		if ((r = resolve_named(&fl.ml, &fl.gl, &fl.gids, specs[i], &nm)) == CAIRN_ENOTFOUND && o->gone &&
		    o->gone(specs[i], o->ud)) {
			cairn_error_clear();
			r = 0;
			continue;
		}
		if (r < 0 || (r = named_unit(&nm, &fl.gl, &fl.holds, specs[i], &own[nu], &x)) < 0)
			break;
		int64_t until;
		if ((r = unit_locked_until(repo, &x, &until)) < 0)
			break;
		if (until) {
			char date[40];
			cairn_time_format(until, date, sizeof(date));
			r = cairn_error_set(CAIRN_EPERM, "%s %s is under object lock until %s: it can be forgotten then",
					    x.group ? "group backup" : "backup", x.idhex, date);
			break;
		}
		bool dup = false;
		for (size_t k = 0; k < nu && !dup; k++)
			dup = memcmp(u[k].id, x.id, CAIRN_BACKUP_ID_LEN) == 0;
		if (!dup)
			u[nu++] = x;
	}
	if (r >= 0 && !o->dry_run && nu)
		r = cairn_repo_may_delete(repo, "forget");
	if (r >= 0)
		r = report_and_delete(repo, u, nu, o, &st);
	forget_lists_free(&fl);
	if (ret)
		*ret = st;
	return r;
}
