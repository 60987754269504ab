/* forget: the keep rules over the repository's backups (retention.h). */
#include "engine/retention.h"
#include "repo/group.h"
#include "repo/hold.h"
#include "repo/manifest.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/time.h"

#include <stdlib.h>
#include <string.h>

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
};

struct group_ids {
	uint8_t (*v)[CAIRN_BACKUP_ID_LEN];
	size_t n, cap;
};

static int collect_group(const char *key, uint64_t size, void *ud)
{
	(void)size;
	struct group_ids *g = ud;
	const char *hex = key + strlen("groups/");
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	if (strlen(hex) != 2 * CAIRN_BACKUP_ID_LEN || cairn_hex_decode(hex, id, sizeof(id)) < 0)
		return 0;
	int r = cairn_array_grow(&g->v, &g->cap, g->n, sizeof(*g->v), 16);
	if (r < 0)
		return r;
	memcpy(g->v[g->n++], id, sizeof(id));
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
		return CAIRN_ENOMEM;
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

static int delete_unit(struct cairn_repo *repo, const struct unit *u, struct cairn_forget_stats *st)
{
	char key[64];
	int r;
	if (u->gb) {
		/* The group object first: a group backup is never left with
		 * members missing, only members left without a group. */
		snprintf(key, sizeof(key), "groups/%s", u->idhex);
		if ((r = cairn_store_del(repo->store, key)) < 0)
			return r;
		st->groups_deleted++;
		for (size_t i = 0; i < u->gb->nmembers; i++) {
			snprintf(key, sizeof(key), "backups/%s", u->gb->members[i].backup_hex);
			if ((r = cairn_store_del(repo->store, key)) < 0)
				return r;
			st->manifests_deleted++;
		}
		return 0;
	}
	snprintf(key, sizeof(key), "backups/%s", u->idhex);
	if ((r = cairn_store_del(repo->store, key)) < 0)
		return r;
	st->manifests_deleted++;
	return 0;
}

int cairn_forget_run(struct cairn_repo *repo, const struct cairn_forget_opts *o, struct cairn_forget_stats *ret)
{
	struct cairn_forget_stats st = { 0 };
	if (cairn_keep_rules_empty(&o->rules))
		return cairn_error_set(CAIRN_EINVAL, "no keep rule given: forgetting needs at least one --keep-* option");
	int64_t now = o->now ? o->now : cairn_wall_now();
	struct cairn_manifest_list ml = { 0 };
	struct cairn_group_backup_list gl = { 0 };
	struct cairn_hold_list holds = { 0 };
	struct group_ids gids = { 0 };
	_cleanup_free_ struct unit *u = NULL;
	size_t nu = 0;
	int r = cairn_manifest_list_load(repo, &ml);
	if (r >= 0)
		r = cairn_group_backup_list_load(repo, &gl);
	if (r >= 0)
		r = cairn_store_list(repo->store, "groups/", collect_group, &gids);
	if (r >= 0)
		r = cairn_hold_list_load(repo, &holds);
	if (r >= 0 && !(u = calloc(ml.n + gl.n + 1, sizeof(*u))))
		r = CAIRN_ENOMEM;
	if (r < 0)
		goto out;

	bool want_groups = !o->volume, want_volumes = !o->group;
	size_t members_seen = 0;
	if (want_groups)
		for (size_t i = 0; i < gl.n; i++) {
			const struct cairn_group_backup *gb = gl.v[i];
			if (o->group && strcmp(gb->name, o->group) != 0)
				continue;
			u[nu++] = (struct unit){ .group = true, .series = gb->name, .idhex = gb->idhex, .id = gb->id,
						 .created_us = gb->created_us, .gb = gb, .in_rules = true };
		}
	if (want_volumes)
		for (size_t i = 0; i < ml.n; i++) {
			const struct cairn_manifest *m = ml.v[i];
			if (o->volume && strcmp(m->volume, o->volume) != 0)
				continue;
			struct unit x = { .series = m->volume, .idhex = m->idhex, .id = m->id,
					  .created_us = m->created_us, .in_rules = true };
			if (m->in_group && has_id(&gids, m->group_id)) {
				members_seen++;
				if (find_group(&gl, m->group_id))
					continue; /* the group's rules decide */
				x.in_rules = false;
				x.keep = CAIRN_KEEP_OTHER;
				x.note = "its group backup object is damaged";
			}
			u[nu++] = x;
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
		r = apply_series(u, from, to, o, now, &holds);
		st.series++;
		from = to;
	}
	for (size_t i = 0; i < nu && r >= 0; i++) {
		if (u[i].keep)
			st.kept++;
		else
			st.forgotten++;
		if (o->decision) {
			struct cairn_forget_item it = { .group = u[i].group, .idhex = u[i].idhex, .series = u[i].series,
							.created_us = u[i].created_us, .keep = u[i].keep,
							.note = u[i].note, .nmembers = u[i].gb ? u[i].gb->nmembers : 0 };
			o->decision(&it, o->ud);
		}
	}
	for (size_t i = 0; i < nu && r >= 0 && !o->dry_run; i++) {
		if (u[i].keep)
			continue;
		if (cairn_cancel_requested) {
			r = cairn_error_set(CAIRN_ECANCELED, "interrupted");
			break;
		}
		r = delete_unit(repo, &u[i], &st);
		if (r >= 0)
			cairn_log_info("forgot %s %s of %s", u[i].group ? "group backup" : "backup", u[i].idhex,
				       u[i].series);
	}
out:
	free(gids.v);
	cairn_hold_list_free(&holds);
	cairn_group_backup_list_free(&gl);
	cairn_manifest_list_free(&ml);
	if (ret)
		*ret = st;
	return r;
}
