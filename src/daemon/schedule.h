/* Schedules of policies: an interval (--every 15m) or a cron expression
 * (--cron "M H DoM Mon DoW"), both in local time, and when a policy is due.
 *
 * A policy is due once its next run time has come: for an interval, the
 * last run's start plus the interval (a new policy is due at once); for
 * cron, the first matching minute after the last run (or after the policy
 * was made).  A daemon that was down for many periods finds the policy due
 * once and runs it once: the next run time is then counted from that run,
 * so downtime never causes a burst of catch-up runs. */
#ifndef CAIRN_DAEMON_SCHEDULE_H
#define CAIRN_DAEMON_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "30s", "15m", "1h30m", "2d" (s, m = minutes, h, d, w), at least 1 s and
 * at most 366 days.  CAIRN_EINVAL with a message naming what. */
int cairn_interval_parse(const char *s, const char *what, int64_t *ret_seconds);
/* "1h30m" */
void cairn_interval_format(int64_t seconds, char *buf, size_t size);

/* Cron: five fields, each "*", "N", "N-M", lists "a,b", steps "* /S" and
 * "N-M/S"; months jan..dec and weekdays sun..sat by name too; weekday 7 is
 * Sunday; @hourly, @daily, @weekly, @monthly, @yearly.  When both the day
 * of month and the weekday are restricted, either may match (Vixie cron). */
struct cairn_cron {
	uint64_t minute;   /* bit per minute 0..59 */
	uint32_t hour;     /* 0..23 */
	uint32_t dom;      /* 1..31 */
	uint16_t month;    /* 1..12 */
	uint8_t dow;       /* 0..6, Sunday 0 */
	bool dom_any, dow_any; /* the field was "*" (or a step over it) */
};
/* Also refuses expressions that never match (Feb 30). */
int cairn_cron_parse(const char *s, struct cairn_cron *ret);
/* The first minute strictly after `after` (unix seconds) that matches,
 * local time; -1 when none within 8 years. */
int64_t cairn_cron_next(const struct cairn_cron *c, int64_t after);

/* When a policy with this schedule (every > 0, or cron) should next run. */
int64_t cairn_schedule_next(int64_t every, const struct cairn_cron *cron, int64_t created, int64_t last_run);

/* What the daemon's scheduled children (import policies, scheduled copies,
 * standby updates, drills: daemon/imports.h and its siblings) share: the
 * names of the rows due at a time, and the earliest next one. */
struct cairn_due_list {
	char **names; /* malloc'd strings */
	size_t n, cap;
	int64_t next_due; /* INT64_MAX: none */
};
#define CAIRN_DUE_LIST_INIT { .next_due = INT64_MAX }
/* true when a row scheduled every `every` seconds (<= 0: never), made at
 * created and last started at last (0: never), is due at now; else false,
 * with its next time folded into d->next_due. */
bool cairn_due_at(struct cairn_due_list *d, int64_t now, int64_t every, int64_t created, int64_t last);
/* Adds a copy of name to d. */
int cairn_due_add(struct cairn_due_list *d, const char *name);
/* Hands d to the caller's *ret, *ret_n and *ret_next_due (may be NULL)
 * when r >= 0 (returns 0), else frees it (returns r). */
int cairn_due_finish(struct cairn_due_list *d, int r, char ***ret, size_t *ret_n, int64_t *ret_next_due);

#endif
