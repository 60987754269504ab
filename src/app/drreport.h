/* The RPO report (`cairn dr report`, docs/design.md §13): per volume and
 * group, the newest restore point in each repository it is protected in
 * (policies' repositories, registered ones, copy jobs' destinations),
 * the RPO now (age of the newest off-site restore point: one in a
 * repository other than the policy's own), the policy's target, the last
 * copy's duration and bytes, and an RTO estimate (its size over the
 * restore rate last measured from that repository). */
#ifndef CAIRN_APP_DRREPORT_H
#define CAIRN_APP_DRREPORT_H

#include "app/app.h"

#include <jansson.h>

/* *ret (owned):
 *   {"now": unix s, "breached": N,
 *    "repositories": [{uri, name|null, roles: [...], reachable, error|null}],
 *    "items": [{kind, name, policy|null, primary|null, rpo_target_s|null,
 *               target_checked (false for a paused policy of a registered
 *               repository: an imported one waiting for failover),
 *               rpo_s|null, offsite_repo|null, breached, breach|null,
 *               repositories: [{uri, name|null, primary, newest|null,
 *                               newest_us, age_s|null, backup|null, size,
 *                               restore_rate|null, rto_s|null, error|null}],
 *               last_copy: {job, state, seconds, bytes (its row's bytes
 *                           done), completed, to, result}|null,
 *               rto_s|null,
 *               drill: {when, started, ok, message, restore_s, check_s,
 *                       rto_s (measured: restore + check), bytes, backup,
 *                       repo}|null (the last recovery drill, drill.h),
 *               drill_flag: "never drilled"|"last drill failed"|null}]}
 * A failed last drill is a breach ("last drill failed ..."); never
 * drilled is flagged, not a breach.  Drills' repositories join the
 * report (role "drill").
 * Items that breach their target come first.  st may be NULL (no state
 * database: an empty report). */
int cairn_app_dr_report(const struct cairn_app *app, struct cairn_state *st, int64_t now, json_t **ret);

#endif
