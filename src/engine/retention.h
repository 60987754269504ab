/* Retention: which backups to keep (restic's forget policy, applied the
 * same way) and forgetting the others (`cairn forget`, and a policy after
 * each of its backups).
 *
 * KEEP RULES (restic's semantics, doc/060_forget.rst)
 *   The backups of one series (one volume, or one group) are taken newest
 *   first.  --keep-last N keeps the N newest.  --keep-hourly/daily/weekly/
 *   monthly/yearly N keep, for each of the N newest hours (days, ISO weeks,
 *   months, years) that have a backup, the newest backup of that period; a
 *   rule whose count is not used up also keeps the oldest backup of the
 *   series.  A count of -1 ("unlimited") has no limit.  --keep-within D
 *   keeps every backup made within D before the newest backup (not before
 *   now: a series that stopped long ago keeps its last stretch), D being
 *   "1y2m3d4h" (years, months, days, hours; m is months, as in restic).
 *   A backup is kept when any rule keeps it; the reasons are all of them.
 *   Periods are calendar periods in local time (TZ), like cron schedules.
 *   A backup dated in the future does not count as the newest for within.
 *   Every rule keeps at least the newest backup, so a non-empty rule set
 *   never forgets a whole series; an empty one is refused.
 *
 * HOLDS AND GROUPS
 *   A held backup (repo/hold.h) is kept whatever the rules say ("held").
 *   A group backup and its member backups are one unit: the rules run over
 *   the group's backups by their time; a hold on the group backup or on any
 *   member keeps the unit.  Forgetting one deletes the group object first,
 *   then the members' manifests (a crash in between leaves members that no
 *   longer belong to a group backup: plain backups of their volumes).
 *   Backups of a volume that belong to an existing group backup are left to
 *   the group's rules, never forgotten one by one; a member whose group
 *   object is damaged is kept.
 *
 * POLICIES
 *   A policy's rules run over the backups it made (the policy_id in their
 *   manifests, format.h MANIFEST; a group backup's by its members'), so
 *   backups made by hand, by another policy or before policies were
 *   recorded are neither counted nor forgotten; a policy made with
 *   --retention-scope volume runs them over every backup of its volume or
 *   group instead.
 */
#ifndef CAIRN_ENGINE_RETENTION_H
#define CAIRN_ENGINE_RETENTION_H

#include "repo/group.h"
#include "repo/repo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cairn_keep_within {
	int years, months, days, hours;
};

struct cairn_keep_rules {
	int last, hourly, daily, weekly, monthly, yearly; /* 0: unset, -1: unlimited */
	struct cairn_keep_within within;                 /* all zero: unset */
};

/* Reasons a backup is kept (a bit mask); 0 means it is forgotten. */
enum {
	CAIRN_KEEP_LAST = 1u << 0,
	CAIRN_KEEP_HOURLY = 1u << 1,
	CAIRN_KEEP_DAILY = 1u << 2,
	CAIRN_KEEP_WEEKLY = 1u << 3,
	CAIRN_KEEP_MONTHLY = 1u << 4,
	CAIRN_KEEP_YEARLY = 1u << 5,
	CAIRN_KEEP_WITHIN = 1u << 6,
	CAIRN_KEEP_HELD = 1u << 7,
	CAIRN_KEEP_OTHER = 1u << 8, /* kept outside the rules: see the note */
};

bool cairn_keep_rules_empty(const struct cairn_keep_rules *r);
bool cairn_keep_within_empty(const struct cairn_keep_within *w);
/* "7d", "1y6m", "36h": CAIRN_EINVAL with a message for anything else. */
int cairn_keep_within_parse(const char *s, struct cairn_keep_within *ret);
/* The canonical text of w ("1y6m"); "" when empty. */
void cairn_keep_within_format(const struct cairn_keep_within *w, char *buf, size_t size);
/* A count: a number >= 1 or "unlimited" (-1). */
int cairn_keep_count_parse(const char *s, int *ret);
/* "last, daily, within 7d" for a mask (within needs the rules). */
void cairn_keep_reasons(unsigned mask, const struct cairn_keep_rules *r, char *buf, size_t size);
/* "keep 7 daily, 4 weekly, within 2d" */
void cairn_keep_rules_format(const struct cairn_keep_rules *r, char *buf, size_t size);

/* The rules over one series: times_us[i] (unix microseconds) of n backups
 * in any order, ties broken by order[i] (larger = newer; may be NULL).
 * ret_keep[i] gets the reasons backup i is kept (0: forget).  now is the
 * present (unix seconds) for "not in the future".  Pure: no I/O. */
int cairn_retention_apply(const int64_t *times_us, const uint64_t *order, size_t n, const struct cairn_keep_rules *r,
			  int64_t now, unsigned *ret_keep);

/* ---- forget ---- */

struct cairn_forget_item {
	bool group;            /* a group backup (its members go with it) */
	const char *idhex;
	const char *series;    /* the volume or group name */
	int64_t created_us;
	unsigned keep;         /* reasons, 0: forgotten */
	const char *note;      /* why it was kept outside the rules, or NULL */
	size_t nmembers;       /* group backups */
	const struct cairn_group_member *members; /* group backups that open: nmembers */
};

struct cairn_forget_opts {
	const char *volume;        /* only this volume's backups (NULL: every series) */
	const char *group;         /* only this group's group backups */
	/* Only the backups this policy made (manifest policy_id; a group
	 * backup by its members'), named policy in messages; NULL: any. */
	const char *policy_id, *policy;
	struct cairn_keep_rules rules;
	bool dry_run;
	int64_t now;               /* unix seconds; 0: cairn_wall_now() */
	/* Every backup or group backup considered, newest first per series,
	 * before anything is deleted. */
	void (*decision)(const struct cairn_forget_item *it, void *ud);
	/* cairn_forget_named: a name that matches nothing; true when the
	 * caller takes care of it (a backup this host knew, gone already),
	 * and it is then skipped instead of failing the command. */
	bool (*gone)(const char *spec, void *ud);
	void *ud;
};

struct cairn_forget_stats {
	uint64_t kept, forgotten;     /* units (backups or group backups) */
	uint64_t manifests_deleted, groups_deleted;
	uint64_t series;
	uint64_t locked;              /* units the rules forget, kept by object lock */
};

/* Applies the rules to the repository's backups; deletes the forgotten ones
 * unless dry_run.  CAIRN_EINVAL for empty rules, CAIRN_ENOTFOUND when the
 * named volume or group has no backup. */
int cairn_forget_run(struct cairn_repo *repo, const struct cairn_forget_opts *o, struct cairn_forget_stats *ret);

/* Forgets the backups and group backups named by specs[0..n): ids, unique
 * id prefixes, "latest" or "VOLUME@latest".  A damaged manifest or group
 * object is named by its id (or a prefix): that is how one is removed.
 * Every name is resolved before anything is deleted, and the command fails
 * as a whole when one does not resolve (CAIRN_ENOTFOUND, CAIRN_EAMBIGUOUS),
 * is held (CAIRN_EBUSY: release it first), is a member of a group backup
 * (CAIRN_EINVAL: the group backup is the unit) or is under object lock
 * (CAIRN_EPERM, naming the date it can go).  A credential that may not
 * delete (append-only) is refused (CAIRN_EPERM) before anything goes.  o->rules must be empty;
 * o->volume and o->group are ignored; o->dry_run and o->decision apply. */
int cairn_forget_named(struct cairn_repo *repo, const char *const *specs, size_t n, const struct cairn_forget_opts *o,
		       struct cairn_forget_stats *ret);

#endif
