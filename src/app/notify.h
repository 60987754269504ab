/* Alerts (docs/design.md, "Metrics and alerts"): the JSON events cairn announces and their
 * delivery to a notifier (state/notify.h): a webhook gets an HTTP POST
 * through the http/ client (its retries with backoff on 5xx, 429 and
 * transport errors, and its stall timeout, here the notifier's timeout);
 * an exec notifier runs its command with the event on stdin and without
 * cairn's secrets in its environment (util/env.h), killed after the
 * timeout.
 *
 * EVENT (one JSON object, UTF-8, keys as below; absent ones are null)
 *   version       1
 *   kind          "failure" (a job failed), "rpo" (a policy's RPO target
 *                 is broken), "test" (`cairn notify test`)
 *   time          RFC 3339 UTC; time_unix: the same in unix seconds
 *   host          the host name
 *   policy        the policy's name (failure: the job's, null when run by hand)
 *   job_id, job_kind, source, repo, error   failure: the job's
 *   what          rpo: "backup" (the newest restore point) or "copy"
 *                 (the newest off-site copy)
 *   rpo_seconds, rpo_target_seconds    rpo: the age and the target
 *   message       one line for a person
 */
#ifndef CAIRN_APP_NOTIFY_H
#define CAIRN_APP_NOTIFY_H

#include "http/http.h"
#include "state/jobs.h"
#include "state/notify.h"

#include <stdint.h>

/* The events, as compact JSON (malloc'd, owned by the caller). */
int cairn_notify_event_failure(const struct cairn_job *j, int64_t now, const char *host, char **ret);
int cairn_notify_event_rpo(const char *policy, const char *what, int64_t age_s, int64_t target_s, int64_t now,
			   const char *host, char **ret);
int cairn_notify_event_test(const char *notifier, int64_t now, const char *host, char **ret);

/* The event kind of a body made above (CAIRN_NOTIFY_* bit; 0 for test). */
unsigned cairn_notify_event_bit(const char *kind);

/* Delivers body to n: 0, or CAIRN_ENET / CAIRN_EIO with a message naming
 * the notifier and what failed (the last HTTP status, the command's exit).
 * env: the CAIRN_HTTP_* settings (retries, backoff) or NULL.  Blocks for
 * as long as the retries take: the daemon calls it from a thread. */
int cairn_notify_deliver(const struct cairn_notifier *n, const char *body, const struct cairn_http_env *env);

#endif
