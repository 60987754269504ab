/* What the daemon announces (docs/design.md, "Metrics and alerts"), checked once per pass
 * from the local state, and its delivery off the scheduling thread.
 *
 * Failed jobs: every job that ends failed, whoever ran it, once.  The mark
 * 'failed_job' is the highest id up to which every job has ended and been
 * looked at; a failure above a job still running is recorded as announced
 * ('job:<id>') until the mark passes it.  A daemon started on a state
 * without the mark starts from the jobs there, not their past failures.
 *
 * RPO: a policy with a target (--rpo), not paused, whose newest restore
 * point (or, when it replicates, newest off-site copy) is older than the
 * target is announced once when the breach begins (rpo_breaches); the
 * breach ends when the target is met again, and the next one is announced
 * anew.  A policy that never made one is dated from its creation.
 *
 * Delivery: each event goes to each notifier that asks for its kind, on a
 * thread of its own (at most CAIRN_ALERTS_INFLIGHT at once; more are
 * dropped with a warning), so a slow or hanging webhook never holds up the
 * scheduling; the result is logged. */
#ifndef CAIRN_DAEMON_ALERTS_H
#define CAIRN_DAEMON_ALERTS_H

#include "http/http.h"
#include "state/state.h"

#include <stddef.h>
#include <stdint.h>

#define CAIRN_ALERTS_INFLIGHT 32

/* Sets the failed-job mark when there is none. */
int cairn_alerts_init(struct cairn_state *st);

/* The events due at now (JSON bodies, app/notify.h), marked as announced
 * in st.  *ret: malloc'd array of malloc'd strings. */
int cairn_alerts_collect(struct cairn_state *st, int64_t now, const char *host, char ***ret, size_t *ret_n);

struct cairn_alerts;
/* env (borrowed, may be NULL): the HTTP retry settings. */
int cairn_alerts_new(const struct cairn_http_env *env, struct cairn_alerts **ret);
/* Hands body to every notifier of st that wants its kind (returns at once). */
void cairn_alerts_post(struct cairn_alerts *a, struct cairn_state *st, const char *body);
/* Waits up to wait_s for deliveries under way, then frees (accepts NULL;
 * deliveries still running then keep their own copies and are left). */
void cairn_alerts_free(struct cairn_alerts *a, unsigned wait_s);

#endif
