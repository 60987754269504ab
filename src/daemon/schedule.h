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

#endif
