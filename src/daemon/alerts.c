/* Alerts from the daemon (alerts.h). */
#include "daemon/alerts.h"
#include "app/notify.h"
#include "state/jobs.h"
#include "state/notify.h"
#include "state/outbox.h"
#include "state/policies.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "util/parallel.h"

#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MARK "failed_job"

int cairn_alerts_init(struct cairn_state *st)
{
	int64_t mark;
	int r = cairn_alert_mark_get(st, MARK, &mark);
	if (r < 0 || mark > 0)
		return r;
	/* Jobs still running are looked at when they end; the rest are past. */
	struct cairn_job *v = NULL;
	size_t n = 0;
	if ((r = cairn_job_list(st, 1, &v, &n)) < 0)
		return r;
	int64_t low = INT64_MAX, high = 0;
	for (size_t i = 0; i < n; i++) {
		if ((v[i].state == CAIRN_JOB_QUEUED || v[i].state == CAIRN_JOB_ACTIVE) && v[i].id - 1 < low)
			low = v[i].id - 1;
		if (v[i].id > high)
			high = v[i].id;
	}
	mark = low != INT64_MAX ? low : high;
	cairn_jobs_free(v, n);
	return cairn_alert_mark_set(st, MARK, mark > 0 ? mark : 0);
}

struct list {
	char **v;
	size_t n, cap;
};

static int add(struct list *l, char *body)
{
	if (cairn_array_grow(&l->v, &l->cap, l->n, sizeof(char *), 4) < 0) {
		free(body);
		return cairn_error_nomem();
	}
	l->v[l->n++] = body;
	return 0;
}

static int collect_failures(struct cairn_state *st, int64_t now, const char *host, struct list *l)
{
	int64_t mark;
	int r = cairn_alert_mark_get(st, MARK, &mark);
	if (r < 0)
		return r;
	int64_t next = mark;
	bool blocked = false;
	for (int64_t id = mark + 1; r >= 0; id++) {
		struct cairn_job j;
		int q = cairn_job_get(st, id, &j);
		if (q == CAIRN_ENOTFOUND) {
			cairn_error_clear();
			/* A gap (a deleted row) or the end: look for the next id. */
			_cleanup_stmt_ sqlite3_stmt *s = NULL;
			if ((r = cairn_state_prepare(st, "SELECT min(id) FROM jobs WHERE id > ?", &s)) < 0)
				break;
			sqlite3_bind_int64(s, 1, id);
			if (sqlite3_step(s) != SQLITE_ROW || sqlite3_column_type(s, 0) == SQLITE_NULL)
				break;
			if (!blocked)
				next = id;
			id = sqlite3_column_int64(s, 0) - 1;
			continue;
		}
		if (q < 0) {
			r = q;
			break;
		}
		if (j.state == CAIRN_JOB_QUEUED || j.state == CAIRN_JOB_ACTIVE) {
			blocked = true;
		} else if (j.state == CAIRN_JOB_FAILED) {
			char name[40];
			snprintf(name, sizeof(name), "job:%lld", (long long)id);
			int64_t done = 0;
			if ((r = cairn_alert_mark_get(st, name, &done)) >= 0 && !done) {
				char *body = NULL;
				if ((r = cairn_notify_event_failure(&j, now, host, &body)) >= 0)
					r = add(l, body);
				if (r >= 0 && blocked)
					r = cairn_alert_mark_set(st, name, 1);
			}
		}
		if (!blocked)
			next = id;
		cairn_job_clear(&j);
	}
	if (r >= 0 && next != mark && (r = cairn_alert_mark_set(st, MARK, next)) >= 0)
		r = cairn_alert_marks_drop_jobs(st, next);
	return r;
}

/* One breach check; t: when the data is from (0: never: the policy's creation). */
static int check_rpo(struct cairn_state *st, const struct cairn_policy *p, const char *what, int64_t t, int64_t now,
		     const char *host, struct list *l)
{
	int64_t age = now - (t ? t : p->created);
	if (age <= p->rpo)
		return cairn_rpo_breach_close(st, p->name, what);
	int r = cairn_rpo_breach_open(st, p->name, what, now);
	if (r <= 0)
		return r;
	cairn_log_warn("policy %s: RPO target broken: newest %s is %lld s old (target %lld s)", p->name,
		       strcmp(what, "copy") == 0 ? "off-site copy" : "restore point", (long long)age, (long long)p->rpo);
	char *body = NULL;
	if ((r = cairn_notify_event_rpo(p->name, what, age, p->rpo, now, host, &body)) < 0)
		return r;
	return add(l, body);
}

static int collect_rpo(struct cairn_state *st, int64_t now, const char *host, struct list *l)
{
	struct cairn_policy *v = NULL;
	size_t n = 0;
	int r = cairn_policy_list(st, &v, &n);
	for (size_t i = 0; i < n && r >= 0; i++) {
		const struct cairn_policy *p = &v[i];
		if (p->rpo <= 0 || p->paused)
			continue;
		int64_t point, copied;
		if ((r = cairn_policy_point_times(st, p->name, &point, &copied)) < 0)
			break;
		r = check_rpo(st, p, "backup", point, now, host, l);
		if (r >= 0 && p->copy_to)
			r = check_rpo(st, p, "copy", copied, now, host, l);
	}
	cairn_policies_free(v, n);
	return r;
}

int cairn_alerts_collect(struct cairn_state *st, int64_t now, const char *host, char ***ret, size_t *ret_n)
{
	struct list l = { 0 };
	int r = collect_failures(st, now, host, &l);
	if (r >= 0)
		r = collect_rpo(st, now, host, &l);
	/* What was marked is announced: hand over what was made even after
	 * a later error (the marks of the rest were not set). */
	*ret = l.v;
	*ret_n = l.n;
	return r;
}

/* ---- delivery ---- */

/* A delivery's outcome, handed from its thread to the next pump (only
 * the daemon's thread touches the state database). */
struct result {
	int64_t id, created;
	unsigned attempts;
	bool ok;
	char *error;
	char *notifier;
};

struct cairn_alerts {
	const struct cairn_http_env *env;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned inflight;
	int64_t busy[CAIRN_ALERTS_INFLIGHT]; /* outbox ids under way (0: free) */
	struct result *done;                  /* finished, not yet recorded */
	size_t ndone, capdone;
	bool pumped; /* the first pump takes every pending row, due or not */
};

struct delivery {
	struct cairn_alerts *a;
	struct cairn_notifier n;
	char *body;
	struct result res;
};

int cairn_alerts_new(const struct cairn_http_env *env, struct cairn_alerts **ret)
{
	struct cairn_alerts *a = calloc(1, sizeof(*a));
	if (!a)
		return cairn_error_nomem();
	a->env = env;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->idle, NULL);
	*ret = a;
	return 0;
}

static void delivery_free(struct delivery *d)
{
	cairn_notifier_clear(&d->n);
	free(d->body);
	free(d->res.error);
	free(d->res.notifier);
	free(d);
}

static void *deliver_thread(void *arg)
{
	struct delivery *d = arg;
	struct cairn_alerts *a = d->a;
	d->res.ok = cairn_notify_deliver(&d->n, d->body, a->env) >= 0;
	if (!d->res.ok) {
		d->res.error = strdup(cairn_error_message());
		cairn_error_clear();
	}
	int64_t id = d->res.id;
	pthread_mutex_lock(&a->lock);
	/* Recorded by the next pump; without room the row stays pending and
	 * is tried again (at least once, never lost). */
	if (cairn_array_grow(&a->done, &a->capdone, a->ndone, sizeof(*a->done), 8) >= 0) {
		a->done[a->ndone++] = d->res;
		memset(&d->res, 0, sizeof(d->res));
	}
	for (size_t i = 0; i < CAIRN_ALERTS_INFLIGHT; i++)
		if (a->busy[i] == id)
			a->busy[i] = 0;
	if (--a->inflight == 0)
		pthread_cond_broadcast(&a->idle);
	pthread_mutex_unlock(&a->lock);
	delivery_free(d);
	return NULL;
}

/* Starts the delivery of item it to n on a thread; CAIRN_EBUSY when
 * CAIRN_ALERTS_INFLIGHT are under way (the row waits for the next pass). */
static int start(struct cairn_alerts *a, const struct cairn_notifier *n, const struct cairn_outbox_item *it)
{
	struct delivery *d = calloc(1, sizeof(*d));
	if (!d)
		return cairn_error_nomem();
	d->a = a;
	d->n = *n;
	d->n.name = strdup(n->name);
	d->n.target = strdup(n->target);
	d->body = strdup(it->body);
	d->res = (struct result){ .id = it->id, .created = it->created, .attempts = it->attempts,
				  .notifier = strdup(n->name) };
	if (!d->n.name || !d->n.target || !d->body || !d->res.notifier) {
		delivery_free(d);
		return cairn_error_nomem();
	}
	pthread_mutex_lock(&a->lock);
	size_t slot = CAIRN_ALERTS_INFLIGHT;
	for (size_t i = 0; i < CAIRN_ALERTS_INFLIGHT && slot == CAIRN_ALERTS_INFLIGHT; i++)
		if (!a->busy[i])
			slot = i;
	if (slot < CAIRN_ALERTS_INFLIGHT) {
		a->busy[slot] = it->id;
		a->inflight++;
	}
	pthread_mutex_unlock(&a->lock);
	if (slot == CAIRN_ALERTS_INFLIGHT) {
		delivery_free(d);
		return CAIRN_EBUSY;
	}
	int rc = -cairn_thread_detached(deliver_thread, d);
	if (rc != 0) {
		pthread_mutex_lock(&a->lock);
		a->busy[slot] = 0;
		a->inflight--;
		pthread_mutex_unlock(&a->lock);
		delivery_free(d);
		return cairn_error_set(CAIRN_EIO, "notifier %s: no thread for the delivery (%s)", n->name, strerror(rc));
	}
	return 0;
}

static bool under_way(struct cairn_alerts *a, int64_t id)
{
	bool busy = false;
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < CAIRN_ALERTS_INFLIGHT && !busy; i++)
		busy = a->busy[i] == id;
	/* A delivery that ended after this pump's record() is not under way
	 * any more but its row is not updated yet: starting it again would
	 * send the event twice (or retry a failure without its backoff). */
	for (size_t i = 0; i < a->ndone && !busy; i++)
		busy = a->done[i].id == id;
	pthread_mutex_unlock(&a->lock);
	return busy;
}

/* When a row that failed `attempts` times is tried again: 30 s, doubling,
 * at most an hour apart. */
static int64_t retry_after(unsigned attempts)
{
	int64_t s = 30;
	for (unsigned i = 1; i < attempts && s < 3600; i++)
		s *= 2;
	return s < 3600 ? s : 3600;
}

/* Records the finished deliveries: delivered rows go, failed ones wait
 * for their next try (or are given up after CAIRN_ALERTS_GIVE_UP_S). */
static void record(struct cairn_alerts *a, struct cairn_state *st, int64_t now)
{
	pthread_mutex_lock(&a->lock);
	struct result *v = a->done;
	size_t n = a->ndone;
	a->done = NULL;
	a->ndone = a->capdone = 0;
	pthread_mutex_unlock(&a->lock);
	for (size_t i = 0; i < n; i++) {
		struct result *res = &v[i];
		int r;
		if (res->ok) {
			cairn_log_info("notifier %s: event delivered", res->notifier);
			r = cairn_outbox_remove(st, res->id);
		} else if (now - res->created >= CAIRN_ALERTS_GIVE_UP_S) {
			cairn_log_warn("%s; given up after %u attempt(s) over %lld s", res->error ? res->error : "delivery failed",
				       res->attempts + 1, (long long)(now - res->created));
			r = cairn_outbox_remove(st, res->id);
		} else {
			int64_t after = retry_after(res->attempts + 1);
			cairn_log_warn("%s; trying again in %lld s", res->error ? res->error : "delivery failed",
				       (long long)after);
			r = cairn_outbox_retry(st, res->id, now + after, res->error);
		}
		if (r < 0) {
			cairn_log_warn("alerts: %s", cairn_error_message());
			cairn_error_clear();
		}
		free(res->error);
		free(res->notifier);
	}
	free(v);
}

int cairn_alerts_post(struct cairn_alerts *a, struct cairn_state *st, const char *body, int64_t now)
{
	(void)a;
	struct cairn_notifier *v = NULL;
	size_t n = 0;
	int r = cairn_notifier_list(st, &v, &n);
	if (r < 0)
		return r;
	const char *kind = strstr(body, "\"kind\":\"");
	char k[16] = "";
	if (kind)
		snprintf(k, sizeof(k), "%.*s", (int)strcspn(kind + 8, "\""), kind + 8);
	unsigned bit = cairn_notify_event_bit(k);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (bit && !(v[i].events & bit))
			continue;
		if ((r = cairn_outbox_put(st, v[i].name, body, now, NULL)) < 0)
			cairn_error_prefix(r, "notifier %s: event not recorded", v[i].name);
	}
	cairn_notifiers_free(v, n);
	return r < 0 ? r : 0;
}

void cairn_alerts_pump(struct cairn_alerts *a, struct cairn_state *st, int64_t now)
{
	record(a, st, now);
	struct cairn_outbox_item *v = NULL;
	size_t n = 0;
	/* After a start every pending row is tried at once: it may have
	 * waited out its backoff while no daemon ran. */
	if (cairn_outbox_due(st, a->pumped ? now : INT64_MAX, 4 * CAIRN_ALERTS_INFLIGHT, &v, &n) < 0) {
		cairn_log_warn("alerts: %s", cairn_error_message());
		cairn_error_clear();
		return;
	}
	a->pumped = true;
	for (size_t i = 0; i < n; i++) {
		if (under_way(a, v[i].id))
			continue;
		struct cairn_notifier nf;
		int r = cairn_notifier_get(st, v[i].notifier, &nf);
		if (r == CAIRN_ENOTFOUND) {
			/* Removed ('cairn notify remove'): nobody to tell. */
			cairn_error_clear();
			(void)cairn_outbox_remove(st, v[i].id);
			continue;
		}
		if (r >= 0) {
			r = start(a, &nf, &v[i]);
			cairn_notifier_clear(&nf);
		}
		if (r == CAIRN_EBUSY)
			break; /* the rest on a later pass */
		if (r < 0) {
			cairn_log_warn("alerts: %s", cairn_error_message());
			cairn_error_clear();
		}
	}
	cairn_outbox_items_free(v, n);
}

void cairn_alerts_free(struct cairn_alerts *a, struct cairn_state *st, unsigned wait_s)
{
	if (!a)
		return;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_s;
	pthread_mutex_lock(&a->lock);
	while (a->inflight && pthread_cond_timedwait(&a->idle, &a->lock, &until) == 0)
		;
	bool left = a->inflight > 0;
	pthread_mutex_unlock(&a->lock);
	/* What ended is recorded; what did not stays pending for the next start. */
	if (st)
		record(a, st, (int64_t)time(NULL));
	if (left) {
		cairn_log_warn("alerts: %u delivery(ies) still under way; not waiting longer (they stay pending)",
			       a->inflight);
		return; /* their threads still use a: leave it */
	}
	pthread_cond_destroy(&a->idle);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
