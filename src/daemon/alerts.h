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
 * Delivery: each event is recorded for each notifier that asks for its
 * kind (state/outbox.h) in the pass that announces it, then delivered on
 * a thread of its own (at most CAIRN_ALERTS_INFLIGHT at once; the rest
 * wait in the table for a later pass), so a slow or hanging webhook never
 * holds up the scheduling.  Each delivery keeps the notifier's timeout
 * and the HTTP client's retries; a row is removed once delivered, and one
 * that failed is tried again 30 s later, doubling up to an hour, until
 * CAIRN_ALERTS_GIVE_UP_S after the event.  A daemon that stops or dies
 * with rows pending delivers them when it starts again (at least once: an
 * event delivered just before a crash, not yet recorded, goes again). */
#ifndef CAIRN_DAEMON_ALERTS_H
#define CAIRN_DAEMON_ALERTS_H

#include "http/http.h"
#include "state/state.h"

#include <stddef.h>
#include <stdint.h>

#define CAIRN_ALERTS_INFLIGHT 32
#define CAIRN_ALERTS_GIVE_UP_S (24 * 3600)

/* Sets the failed-job mark when there is none. */
int cairn_alerts_init(struct cairn_state *st);

/* The events due at now (JSON bodies, app/notify.h), marked as announced
 * in st.  *ret: malloc'd array of malloc'd strings. */
int cairn_alerts_collect(struct cairn_state *st, int64_t now, const char *host, char ***ret, size_t *ret_n);

struct cairn_alerts;
/* env (borrowed, may be NULL): the HTTP retry settings. */
int cairn_alerts_new(const struct cairn_http_env *env, struct cairn_alerts **ret);
/* Records body for every notifier of st that wants its kind (delivered
 * by the next pump). */
int cairn_alerts_post(struct cairn_alerts *a, struct cairn_state *st, const char *body, int64_t now);
/* Records the deliveries that ended and starts those due (the first pump
 * of a daemon: every pending one).  Returns at once. */
void cairn_alerts_pump(struct cairn_alerts *a, struct cairn_state *st, int64_t now);
/* Waits up to wait_s for deliveries under way, records what ended (st may
 * be NULL), then frees (accepts NULL; deliveries still running then keep
 * their own copies and are left, their rows pending). */
void cairn_alerts_free(struct cairn_alerts *a, struct cairn_state *st, unsigned wait_s);

#endif
