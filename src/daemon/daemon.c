/* The daemon's scheduling pass (daemon.h). */
#include "daemon/daemon.h"
#include "daemon/schedule.h"
#include "state/groups.h"
#include "state/jobs.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

int cairn_policy_volumes(struct cairn_state *st, const struct cairn_policy *p, char ***ret, size_t *ret_n)
{
	if (p->kind == CAIRN_POLICY_VOLUME) {
		char **v = calloc(1, sizeof(char *));
		if (!v || !(v[0] = strdup(p->source))) {
			free(v);
			return cairn_error_nomem();
		}
		*ret = v;
		*ret_n = 1;
		return 0;
	}
	struct cairn_group g;
	int r = cairn_group_get(st, p->source, &g);
	if (r < 0)
		return cairn_error_prefix(r, "policy %s", p->name);
	*ret = g.volumes;
	*ret_n = g.nvolumes;
	g.volumes = NULL;
	g.nvolumes = 0;
	cairn_group_clear(&g);
	return 0;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static int queue_due(struct cairn_state *st, const struct cairn_daemon_tick_opts *o, struct cairn_daemon_tick_result *res)
{
	struct cairn_policy *v = NULL;
	size_t n = 0;
	int r = cairn_policy_list(st, &v, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r >= 0; i++) {
		const struct cairn_policy *p = &v[i];
		if (p->paused)
			continue;
		struct cairn_job last;
		bool resume = false;
		int q = cairn_job_last_of(st, p->name, "backup", &last);
		if (q < 0 && q != CAIRN_ENOTFOUND) {
			r = q;
			break;
		}
		if (q >= 0) {
			bool busy = last.state == CAIRN_JOB_QUEUED || last.state == CAIRN_JOB_ACTIVE;
			resume = last.state == CAIRN_JOB_CANCELED && last.stop && strcmp(last.stop, "shutdown") == 0;
			cairn_job_clear(&last);
			if (busy)
				continue;
		}
		struct cairn_cron cron;
		if (p->cron && cairn_cron_parse(p->cron, &cron) < 0) {
			cairn_log_warn("policy %s: %s (skipped)", p->name, cairn_error_message());
			continue;
		}
		int64_t next = resume ? o->now : cairn_schedule_next(p->every, p->cron ? &cron : NULL, p->created, p->last_run);
		if (next < 0)
			continue;
		if (next > o->now) {
			if (next < res->next_due)
				res->next_due = next;
			continue;
		}
		struct cairn_job_new jn = { .kind = "backup", .policy = p->name, .source = p->source, .repo = p->repo };
		int64_t id;
		if ((r = cairn_job_create(st, &jn, &id)) < 0)
			break;
		/* The slot is taken now: however long the daemon was away, this
		 * is one run, and the next is counted from it. */
		if ((r = cairn_policy_set_last_run(st, p->name, o->now)) < 0)
			break;
		cairn_log_info("policy %s is due: queued job %lld", p->name, (long long)id);
		res->queued++;
		/* Due again at once only if the run ends before its interval. */
		int64_t again = cairn_schedule_next(p->every, p->cron ? &cron : NULL, p->created, o->now);
		if (again >= 0 && again < res->next_due)
			res->next_due = again;
	}
	cairn_policies_free(v, n);
	return r;
}

static int start_queued(struct cairn_state *st, const struct cairn_daemon_tick_opts *o,
			struct cairn_daemon_tick_result *res)
{
	struct cairn_job *jobs = NULL;
	size_t n = 0;
	int r = cairn_job_list(st, 0, &jobs, &n);
	if (r < 0)
		return r;
	unsigned running = o->running;
	/* The list is newest first: start the oldest first. */
	for (size_t k = n; k-- > 0 && r >= 0;) {
		struct cairn_job *j = &jobs[k];
		if (j->state != CAIRN_JOB_QUEUED || !j->policy)
			continue;
		if (running >= o->max_jobs) {
			res->waiting++;
			continue;
		}
		struct cairn_policy p;
		int q = cairn_policy_get(st, j->policy, &p);
		if (q == CAIRN_ENOTFOUND || (q >= 0 && p.paused)) {
			r = cairn_job_finish(st, j->id, CAIRN_JOB_CANCELED, "cancel",
					     q >= 0 ? "the policy was paused" : "the policy was deleted", NULL, 0);
			if (q >= 0)
				cairn_policy_clear(&p);
			continue;
		}
		if (q < 0) {
			r = q;
			break;
		}
		char **vols = NULL;
		size_t nv = 0;
		q = cairn_policy_volumes(st, &p, &vols, &nv);
		if (q >= 0)
			q = cairn_job_start(st, j->id, (const char *const *)vols, nv);
		free_strv(vols, nv);
		if (q == CAIRN_EBUSY) {
			cairn_log_debug("job %lld waits: %s", (long long)j->id, cairn_error_message());
			res->waiting++;
			cairn_policy_clear(&p);
			continue;
		}
		int64_t pid = 0;
		if (q >= 0)
			q = o->spawn(&p, j->id, o->ud, &pid);
		if (q >= 0) {
			(void)cairn_job_set_runner(st, j->id, pid);
			res->started++;
			running++;
		} else {
			char msg[1024];
			cairn_error_copy(msg, sizeof(msg));
			cairn_log_warn("job %lld of policy %s did not start: %s", (long long)j->id, p.name, msg);
			r = cairn_job_finish(st, j->id, CAIRN_JOB_FAILED, NULL, msg, NULL, 0);
		}
		cairn_policy_clear(&p);
	}
	cairn_jobs_free(jobs, n);
	return r;
}

/* Reaps dead jobs, queues the due policies (when queue is set) and starts
 * what the limits allow. */
static int tick(struct cairn_state *st, const struct cairn_daemon_tick_opts *o, bool queue,
		struct cairn_daemon_tick_result *ret)
{
	struct cairn_daemon_tick_result res = { .next_due = INT64_MAX };
	size_t reaped = 0;
	int r = cairn_job_reap(st, &reaped);
	res.reaped = (unsigned)reaped;
	if (r >= 0 && !o->stopping && queue)
		r = queue_due(st, o, &res);
	if (r >= 0 && !o->stopping)
		r = start_queued(st, o, &res);
	if (ret)
		*ret = res;
	return r;
}

int cairn_daemon_tick(struct cairn_state *st, const struct cairn_daemon_tick_opts *o,
		      struct cairn_daemon_tick_result *ret)
{
	return tick(st, o, true, ret);
}

int cairn_daemon_tick_start_only(struct cairn_state *st, const struct cairn_daemon_tick_opts *o,
				 struct cairn_daemon_tick_result *ret)
{
	return tick(st, o, false, ret);
}
