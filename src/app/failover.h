/* Failover and failback at the DR site (docs/design.md §15).
 *
 * failover  a standby (app/standby.h) stops taking scheduled updates, is
 *           brought to the newest restore point that has arrived (or a
 *           chosen one) and handed over; the policies imported from the
 *           primary (paused since import) are pointed at the repository
 *           the standby reads from, with the standby's image as their
 *           source and the volume's original name, and resumed: their
 *           next backup is an incremental against the newest copied
 *           restore point (one key family, so chunk ids match).  What the
 *           policies were before is recorded (state/failovers.h), with the
 *           restore point handed over and the RTO (command start to
 *           handover), for `dr report` and for failback.
 * failback  three recorded steps, each idempotent, so a rerun after a kill
 *           continues: the DR site's backups copied to the primary
 *           repository (incremental), the newest restore point written by
 *           delta onto the primary volume (only what differs is written),
 *           the policies switched back as they were.
 */
#ifndef CAIRN_APP_FAILOVER_H
#define CAIRN_APP_FAILOVER_H

#include "app/app.h"
#include "app/job.h"
#include "state/state.h"

#include <jansson.h>

struct cairn_app_failover {
	const char *policy, *standby; /* exactly one */
	const char *at;               /* a BACKUP; NULL: the newest */
	struct cairn_app_progress progress;
};

/* *ret (owned): {standby, already, target, group, backup, backup_created,
 * rto_s, repository, policies: [{name, repo, source, volume}], update:
 * {...}}.  Failing over a standby failed over already changes nothing
 * (already: true) but makes sure its policies are switched. */
int cairn_app_failover(const struct cairn_app *app, struct cairn_state *st, const struct cairn_app_failover *o,
		       json_t **ret);

struct cairn_app_failback {
	const char *policy;
	const char *to;            /* the primary repository's URI */
	const char *to_cred;       /* or NULL */
	const char *volume_target; /* NULL: the policy's source before failover */
	struct cairn_app_progress progress;
};

/* *ret (owned): {policy, standby, already, to, target, steps: [{step,
 * done: "now"|"before"}], copy: {...}, restore: {backup, bytes_written,
 * ...}}.  CAIRN_EINVAL when the policy is not failed over. */
int cairn_app_failback(const struct cairn_app *app, struct cairn_state *st, const struct cairn_app_failback *o,
		       json_t **ret);

#endif
