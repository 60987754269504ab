/* The scheduler of `cairn daemon`: one pass ("tick") over the policies and
 * the job queue, with the time and the way jobs are started injected, so
 * that schedules, catch-up and the job limits are tested without sleeping
 * or forking (tests/unit/test_daemon.c).
 *
 * A tick
 *   1. reaps jobs whose process died (state/jobs.h);
 *   2. queues a backup job for each policy that is due (daemon/schedule.h)
 *      and has none queued or running; a policy whose last run was stopped
 *      by a daemon shutdown is due at once (the run resumes);
 *   3. starts queued jobs, oldest first, while fewer than max_jobs run:
 *      a job whose volumes (a group's: all of them) another job holds
 *      stays queued; the others are claimed and handed to spawn().
 */
#ifndef CAIRN_DAEMON_DAEMON_H
#define CAIRN_DAEMON_DAEMON_H

#include "state/policies.h"
#include "state/state.h"

#include <stdbool.h>
#include <stdint.h>

struct cairn_daemon_tick_opts {
	int64_t now;        /* unix seconds */
	unsigned max_jobs;  /* at once */
	unsigned running;   /* jobs of ours still running */
	bool stopping;      /* shutting down: queue and start nothing */
	/* Runs backup job `job` of policy p (already active, its volumes
	 * claimed) in the background; *ret_pid is the process running it. */
	int (*spawn)(const struct cairn_policy *p, int64_t job, void *ud, int64_t *ret_pid);
	void *ud;
};

struct cairn_daemon_tick_result {
	unsigned queued, started, waiting; /* waiting: queued, blocked by a busy volume or the limit */
	unsigned reaped;
	int64_t next_due; /* earliest next run of an idle policy; INT64_MAX: none */
};

int cairn_daemon_tick(struct cairn_state *st, const struct cairn_daemon_tick_opts *o,
		      struct cairn_daemon_tick_result *ret);
/* Steps 1 and 3 only: starts what is queued, queues nothing (daemon --once
 * after its first pass). */
int cairn_daemon_tick_start_only(struct cairn_state *st, const struct cairn_daemon_tick_opts *o,
				 struct cairn_daemon_tick_result *ret);

/* The volumes a policy's job claims (absolute paths; a group's members).
 * *ret is a malloc'd array of malloc'd strings (free each and it). */
int cairn_policy_volumes(struct cairn_state *st, const struct cairn_policy *p, char ***ret, size_t *ret_n);

#endif
