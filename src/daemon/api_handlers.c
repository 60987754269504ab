/* The resources of the daemon's HTTP API (docs/api.md) and its route
 * table.  Reads come from the state database; mutations make the same
 * calls as the CLI's commands (app/, state/); a policy run is queued as
 * a job row that the daemon's scheduler starts (202 and the job's id). */
#include "app/backups.h"
#include "app/credview.h"
#include "app/drreport.h"
#include "app/group.h"
#include "app/open.h"
#include "app/policynew.h"
#include "daemon/api_catalog.h"
#include "daemon/api.h"
#include "daemon/api_req.h"
#include "daemon/api_jobs.h"
#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "daemon/schedule.h"
#include "engine/engine.h"
#include "engine/retention.h"
#include "source/snapshot.h"
#include "repo/hold.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "state/cred.h"
#include "state/groups.h"
#include "state/jobs.h"
#include "state/policies.h"
#include "state/repos.h"
#include "state/standbys.h"
#include "util/error.h"
#include "util/hex.h"

#include <cairn/cairn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *opt_time(int64_t t)
{
	return t ? json_integer(t) : json_null();
}

static struct cairn_state *need_state(struct cairn_api_req *rq)
{
	return cairn_api_state(rq);
}
#define STATE_OR_FAIL(rq, st)                     \
	struct cairn_state *st = need_state(rq); \
	if (!st)                                  \
		return CAIRN_EIO

/* ---- status ---- */

static json_t *status_json(const struct cairn_api_daemon_status *s, int64_t started, int64_t now)
{
	return json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:b, s:o}, s:{s:i, s:i}}", "service", "cairn", "version",
			 CAIRN_VERSION_STRING, "daemon", "pid", (json_int_t)getpid(), "started", (json_int_t)started,
			 "uptime_s", (json_int_t)(now - started), "stopping", s->stopping, "last_tick",
			 opt_time(s->last_tick), "jobs", "running", (int)s->running_jobs, "max", (int)s->max_jobs);
}

/* Cheap: no database, the document made at most once a second, on the
 * server's own thread (cairn_api_route_quick; bench/api.sh drives it at
 * 1,000 requests a second while a backup runs). */
static int get_status(struct cairn_api_req *rq)
{
	return cairn_api_status_reply(rq, status_json);
}

/* ---- jobs ---- */

static json_t *job_json(const struct cairn_job *j)
{
	json_t *o = json_pack("{s:I, s:s, s:o, s:s, s:o, s:s, s:I, s:I, s:f, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:I}",
			      "id", (json_int_t)j->id, "kind", j->kind, "policy", opt_str(j->policy), "source",
			      j->source ? j->source : "", "repo", opt_str(j->repo), "state",
			      cairn_job_state_name(j->state), "bytes_done", (json_int_t)j->bytes_done, "bytes_total",
			      (json_int_t)j->bytes_total, "elapsed_s", j->elapsed_s, "queued", opt_time(j->queued),
			      "started", opt_time(j->started), "completed", opt_time(j->completed), "error",
			      opt_str(j->error), "result", opt_str(j->result), "stop", opt_str(j->stop),
			      "cancel_requested", j->cancel, "log_lines", (json_int_t)j->log_lines);
	return o;
}

static int get_jobs(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	size_t recent = 20;
	const char *q = cairn_api_query(rq, "recent");
	if (q) {
		char *end;
		unsigned long v = strtoul(q, &end, 10);
		if (*q < '0' || *q > '9' || *end || v > 1000)
			return cairn_error_set(CAIRN_EINVAL, "recent takes a number from 0 to 1000");
		recent = v;
	}
	struct cairn_job *v = NULL;
	size_t n = 0;
	int r = cairn_job_list(st, recent, &v, &n);
	if (r < 0)
		return r;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, job_json(&v[i]));
	cairn_jobs_free(v, n);
	return cairn_api_reply(rq, 200, json_pack("{s:o}", "jobs", a));
}

static int job_id(struct cairn_api_req *rq, int64_t *ret)
{
	char *end;
	const char *s = rq->m.params[0];
	long long v = strtoll(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || v <= 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no job %s (job ids are numbers)", s);
	*ret = v;
	return 0;
}

static int get_job(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	int64_t id;
	int r = job_id(rq, &id);
	struct cairn_job j;
	if (r < 0 || (r = cairn_job_get(st, id, &j)) < 0)
		return r;
	json_t *o = job_json(&j);
	cairn_job_clear(&j);
	return cairn_api_reply(rq, 200, o);
}

static int log_line(int64_t time, int level, const char *line, void *ud)
{
	static const char *levels[] = { "warning", "info", "debug" };
	json_array_append_new(ud, json_pack("{s:I, s:s, s:s}", "time", (json_int_t)time, "level",
					    levels[level >= 0 && level <= 2 ? level : 1], "line", line));
	return 0;
}

static int get_job_log(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	int64_t id;
	int r = job_id(rq, &id);
	if (r < 0)
		return r;
	json_t *a = json_array();
	if ((r = cairn_job_log_each(st, id, log_line, a)) < 0) {
		json_decref(a);
		return r;
	}
	return cairn_api_reply(rq, 200, json_pack("{s:I, s:o}", "job", (json_int_t)id, "lines", a));
}

static int post_job_cancel(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	int64_t id;
	enum cairn_job_state was;
	int r = job_id(rq, &id);
	if (r < 0)
		return r;
	if ((r = cairn_job_cancel(st, id, &was)) == CAIRN_EINVAL)
		return cairn_api_error(rq, 409, "finished", "%s", cairn_error_message());
	if (r < 0)
		return r;
	return cairn_api_reply(rq, 202, json_pack("{s:I, s:s}", "id", (json_int_t)id, "was", cairn_job_state_name(was)));
}

/* ---- a job's events (Server-Sent Events) ---- */

/* A stream has a thread of its own, its poller, which looks at the jobs
 * every 200 ms and leaves what changed in out; libmicrohttpd's thread,
 * which serves every connection, only copies out (stream_read) and
 * suspends the connection while there is nothing to send: the poller
 * resumes it when there is. */
struct stream {
	struct cairn_api *api;
	struct MHD_Connection *conn;
	/* The poller's own: */
	struct cairn_state *st; /* for the stream's life */
	int64_t job;            /* 0: every job (/api/v1/events) */
	json_t *seen;           /* every job: "id" -> "state bytes_done" last sent */
	bool started, ended;
	enum cairn_job_state state;
	uint64_t done, log_lines;
	char *next;             /* events of the last look */
	size_t next_len;
	/* Shared, under lock: */
	pthread_mutex_t lock;
	pthread_cond_t wake;    /* the poller looks again at once */
	char *out;              /* events not yet sent */
	size_t len, off;
	bool eos;               /* nothing more after out */
	bool suspended;         /* stream_read suspended the connection */
	bool parked;            /* ... and cairn_api_park counted it */
	bool closed;            /* the response is gone: the poller frees the stream */
	time_t last_send;
};

static void emit(struct stream *s, const char *event, json_t *data)
{
	char *d = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (!d)
		return;
	char *line = NULL;
	int n = asprintf(&line, "event: %s\ndata: %s\n\n", event, d);
	free(d);
	if (n < 0)
		return;
	char *b = realloc(s->next, s->next_len + (size_t)n);
	if (b) {
		memcpy(b + s->next_len, line, (size_t)n);
		s->next = b;
		s->next_len += (size_t)n;
	}
	free(line);
}

struct log_tail {
	struct stream *s;
	uint64_t seen, skip;
};

static int tail_line(int64_t time, int level, const char *line, void *ud)
{
	struct log_tail *t = ud;
	if (t->seen++ < t->skip)
		return 0;
	static const char *levels[] = { "warning", "info", "debug" };
	emit(t->s, "log", json_pack("{s:I, s:I, s:s, s:s}", "job", (json_int_t)t->s->job, "time", (json_int_t)time,
				    "level", levels[level >= 0 && level <= 2 ? level : 1], "line", line));
	return 0;
}

/* Looks at the job once; queues what changed. */
static void poll_job(struct stream *s)
{
	struct cairn_job j;
	if (cairn_job_get(s->st, s->job, &j) < 0) {
		emit(s, "error", json_pack("{s:I, s:s}", "job", (json_int_t)s->job, "message", cairn_error_message()));
		s->ended = true;
		return;
	}
	bool over = j.state != CAIRN_JOB_QUEUED && j.state != CAIRN_JOB_ACTIVE;
	if (!over && (!s->started || j.state != s->state))
		emit(s, "state", job_json(&j));
	else if (j.bytes_done != s->done)
		emit(s, "progress", json_pack("{s:I, s:I, s:I, s:f}", "job", (json_int_t)j.id, "bytes_done",
					      (json_int_t)j.bytes_done, "bytes_total", (json_int_t)j.bytes_total,
					      "elapsed_s", j.elapsed_s));
	if (j.log_lines > s->log_lines) {
		/* The log keeps its last lines (log_dropped before them):
		 * skip what was sent already. */
		uint64_t first = j.log_dropped;
		struct log_tail t = { .s = s, .skip = s->log_lines > first ? s->log_lines - first : 0 };
		(void)cairn_job_log_each(s->st, s->job, tail_line, &t);
		s->log_lines = j.log_lines;
	}
	s->started = true;
	s->state = j.state;
	s->done = j.bytes_done;
	if (over) {
		emit(s, "end", job_json(&j));
		s->ended = true;
	}
	cairn_job_clear(&j);
}

/* Every job: a "job" event for each queued, active or recent job whose
 * state or progress changed since the last look (all of them at first). */
static void poll_all(struct stream *s)
{
	struct cairn_job *v = NULL;
	size_t n = 0;
	if (cairn_job_list(s->st, 20, &v, &n) < 0) {
		cairn_error_clear();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char key[32], val[64];
		snprintf(key, sizeof(key), "%lld", (long long)v[i].id);
		snprintf(val, sizeof(val), "%s %llu", cairn_job_state_name(v[i].state),
			 (unsigned long long)v[i].bytes_done);
		const char *was = json_string_value(json_object_get(s->seen, key));
		if (was && strcmp(was, val) == 0)
			continue;
		json_object_set_new(s->seen, key, json_string(val));
		emit(s, "job", job_json(&v[i]));
	}
	cairn_jobs_free(v, n);
}

static void stream_free(struct stream *s)
{
	cairn_api_pool_give(s->api, s->st);
	json_decref(s->seen);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s->next);
	free(s->out);
	free(s);
}

/* The poller (cairn_api_spawn): looks when out is sent, resumes the
 * connection when there is something, and frees the stream when the
 * response is gone. */
static void *stream_poll(void *p)
{
	struct stream *s = p;
	pthread_mutex_lock(&s->lock);
	while (!s->closed) {
		if (s->off == s->len && !s->eos) {
			bool stopping = cairn_api_stopping(s->api);
			/* The database is read unlocked: stream_read never
			 * waits for it. */
			pthread_mutex_unlock(&s->lock);
			if (!stopping && s->job)
				poll_job(s);
			else if (!stopping)
				poll_all(s);
			pthread_mutex_lock(&s->lock);
			free(s->out);
			s->out = s->next;
			s->len = s->next_len;
			s->off = 0;
			s->next = NULL;
			s->next_len = 0;
			s->eos = s->ended || stopping;
			if (!s->len && !s->eos && time(NULL) - s->last_send >= 15) {
				/* A comment line keeps proxies and idle
				 * timers from closing a quiet stream. */
				static const char ka[] = ": keep-alive\n\n";
				if ((s->out = malloc(sizeof(ka)))) {
					memcpy(s->out, ka, sizeof(ka) - 1);
					s->len = sizeof(ka) - 1;
				}
			}
		}
		if (s->suspended && (s->off < s->len || s->eos)) {
			/* Suspended, the connection is not freed: resuming
			 * it unlocked is safe. */
			s->suspended = false;
			pthread_mutex_unlock(&s->lock);
			MHD_resume_connection(s->conn);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200 * 1000 * 1000;
		if (until.tv_nsec >= 1000 * 1000 * 1000) {
			until.tv_sec++;
			until.tv_nsec -= 1000 * 1000 * 1000;
		}
		if (!s->closed)
			pthread_cond_timedwait(&s->wake, &s->lock, &until);
	}
	pthread_mutex_unlock(&s->lock);
	stream_free(s);
	return NULL;
}

/* libmicrohttpd's thread: never waits (it serves every connection). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct stream *s = cls;
	ssize_t ret;
	pthread_mutex_lock(&s->lock);
	if (s->parked) {
		s->parked = false;
		cairn_api_unpark(s->api);
	}
	if (s->off < s->len) {
		size_t n = s->len - s->off < max ? s->len - s->off : max;
		memcpy(buf, s->out + s->off, n);
		s->off += n;
		s->last_send = time(NULL);
		if (s->off == s->len)
			pthread_cond_signal(&s->wake);
		ret = (ssize_t)n;
	} else if (s->eos || !cairn_api_park(s->api)) {
		ret = MHD_CONTENT_READER_END_OF_STREAM;
	} else {
		/* Nothing yet: 0 bytes would have libmicrohttpd ask again
		 * at once; suspended, it waits for the poller. */
		MHD_suspend_connection(s->conn);
		s->suspended = s->parked = true;
		ret = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* The response is gone (libmicrohttpd's thread). */
static void stream_closed(void *cls)
{
	struct stream *s = cls;
	pthread_mutex_lock(&s->lock);
	if (s->parked) {
		s->parked = false;
		cairn_api_unpark(s->api);
	}
	s->closed = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

/* A stream of job events: one job's (id > 0) until its end, or every
 * job's (0) until the client goes. */
static int start_stream(struct cairn_api_req *rq, int64_t id)
{
	struct stream *s = calloc(1, sizeof(*s));
	if (!s || (!id && !(s->seen = json_object()))) {
		free(s);
		return cairn_error_nomem();
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	s->api = rq->api;
	s->conn = rq->conn;
	s->job = id;
	s->last_send = time(NULL);
	/* The request's state connection goes with the stream. */
	s->st = rq->st;
	rq->st = NULL;
	const char *from = cairn_api_query(rq, "log_from");
	s->log_lines = from ? strtoull(from, NULL, 10) : 0;
	rq->response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_closed);
	if (!rq->response) {
		stream_free(s);
		return cairn_error_nomem();
	}
	int r = cairn_api_spawn(rq->api, stream_poll, s);
	if (r < 0) {
		MHD_destroy_response(rq->response); /* stream_closed: no poller frees it */
		rq->response = NULL;
		stream_free(s);
		return r;
	}
	MHD_add_response_header(rq->response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	rq->status = 200;
	return 0;
}

static int get_job_events(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	int64_t id;
	struct cairn_job j;
	int r = job_id(rq, &id);
	if (r < 0 || (r = cairn_job_get(st, id, &j)) < 0)
		return r;
	cairn_job_clear(&j);
	return start_stream(rq, id);
}

static int get_events(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	(void)st;
	return start_stream(rq, 0);
}

/* ---- policies ---- */

static json_t *policy_json(struct cairn_state *st, const struct cairn_policy *p)
{
	json_t *keep = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:o}", "last", p->keep_last, "hourly", p->keep_hourly,
				 "daily", p->keep_daily, "weekly", p->keep_weekly, "monthly", p->keep_monthly, "yearly",
				 p->keep_yearly, "within", opt_str(p->keep_within));
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:i, s:s, s:s, s:b, s:I, s:o, s:I, s:o}",
			      "name", p->name, "id", p->id ? p->id : "", "kind",
			      p->kind == CAIRN_POLICY_GROUP ? "group" : "volume", "source", p->source, "volume_name",
			      opt_str(p->volume_name), "repo", p->repo, "cred", opt_str(p->cred), "every_s",
			      p->every ? json_integer(p->every) : json_null(), "cron", opt_str(p->cron), "keep", keep,
			      "full_every", (int)p->full_every, "snapshot", p->snapshot ? p->snapshot : "auto",
			      "retention_scope", p->scope == CAIRN_SCOPE_VOLUME ? "volume" : "policy", "paused", p->paused,
			      "created", (json_int_t)p->created, "last_run", opt_time(p->last_run), "runs",
			      (json_int_t)p->backups, "rpo_s", p->rpo ? json_integer(p->rpo) : json_null());
	json_object_set_new(o, "copy",
			    p->copy_to ? json_pack("{s:s, s:o, s:o, s:o}", "to", p->copy_to, "every_s",
						   p->copy_every ? json_integer(p->copy_every) : json_null(), "keep",
						   opt_str(p->copy_keep), "last_copy", opt_time(p->last_copy))
				       : json_null());
	struct cairn_job last;
	if (cairn_job_last_of(st, p->name, "backup", &last) >= 0) {
		json_object_set_new(o, "last_job", json_pack("{s:I, s:s}", "id", (json_int_t)last.id, "state",
							     cairn_job_state_name(last.state)));
		cairn_job_clear(&last);
	} else {
		cairn_error_clear();
		json_object_set_new(o, "last_job", json_null());
	}
	return o;
}

static int get_policies(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	struct cairn_policy *v = NULL;
	size_t n = 0;
	int r = cairn_policy_list(st, &v, &n);
	if (r < 0)
		return r;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, policy_json(st, &v[i]));
	cairn_policies_free(v, n);
	return cairn_api_reply(rq, 200, json_pack("{s:o}", "policies", a));
}

static int get_policy(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	struct cairn_policy p;
	int r = cairn_policy_get(st, rq->m.params[0], &p);
	if (r < 0)
		return r;
	json_t *o = policy_json(st, &p);
	cairn_policy_clear(&p);
	return cairn_api_reply(rq, 200, o);
}

/* A body field: a string or absent (NULL); anything else is refused. */
static int body_str(struct cairn_api_req *rq, const char *key, const char **ret)
{
	json_t *v = json_object_get(rq->json, key);
	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return cairn_error_set(CAIRN_EINVAL, "%s must be a string", key);
	*ret = json_string_value(v);
	return 0;
}

/* An interval: "1h30m" or a number of seconds. */
static int body_interval(struct cairn_api_req *rq, const char *key, int64_t *ret)
{
	json_t *v = json_object_get(rq->json, key);
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*ret = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return cairn_error_set(CAIRN_EINVAL, "%s must be an interval (\"1h\", \"30m\") or seconds", key);
	return cairn_interval_parse(json_string_value(v), key, ret);
}

static int body_keep(struct cairn_api_req *rq, struct cairn_policy *p, char *within, size_t size)
{
	json_t *k = json_object_get(rq->json, "keep");
	if (!k || json_is_null(k))
		return 0;
	if (!json_is_object(k))
		return cairn_error_set(CAIRN_EINVAL, "keep must be an object: {\"last\": 7, \"daily\": 14, ...}");
	struct {
		const char *key;
		int *dst;
	} counts[] = { { "last", &p->keep_last },     { "hourly", &p->keep_hourly },   { "daily", &p->keep_daily },
		       { "weekly", &p->keep_weekly }, { "monthly", &p->keep_monthly }, { "yearly", &p->keep_yearly } };
	const char *key;
	json_t *v;
	json_object_foreach(k, key, v) {
		bool known = strcmp(key, "within") == 0;
		for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]) && !known; i++) {
			if (strcmp(key, counts[i].key) != 0)
				continue;
			known = true;
			if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > INT_MAX)
				return cairn_error_set(CAIRN_EINVAL, "keep.%s must be a count (-1: unlimited)", key);
			*counts[i].dst = (int)json_integer_value(v);
		}
		if (!known)
			return cairn_error_set(CAIRN_EINVAL, "keep.%s is not a keep rule (last, hourly, daily, weekly, "
							     "monthly, yearly, within)", key);
	}
	json_t *w = json_object_get(k, "within");
	if (w && !json_is_null(w)) {
		struct cairn_keep_within kw;
		if (!json_is_string(w))
			return cairn_error_set(CAIRN_EINVAL, "keep.within must be a duration (\"7d\")");
		int r = cairn_keep_within_parse(json_string_value(w), &kw);
		if (r < 0)
			return r;
		cairn_keep_within_format(&kw, within, size);
		p->keep_within = within;
	}
	return 0;
}

static const char *const policy_fields[] = { "name",	  "volume",   "group",	  "repo",	     "cred",
					     "every",	  "cron",     "keep",	  "full_every",	     "snapshot",
					     "rpo",	  "volume_name", "retention_scope", NULL };

static int check_fields(struct cairn_api_req *rq, const char *const *known)
{
	const char *key;
	json_t *v;
	json_object_foreach(rq->json, key, v) {
		size_t i = 0;
		while (known[i] && strcmp(known[i], key) != 0)
			i++;
		if (!known[i])
			return cairn_error_set(CAIRN_EINVAL, "unknown field %s", key);
	}
	return 0;
}

static int post_policies(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	if (!rq->json)
		return cairn_error_set(CAIRN_EINVAL, "give the policy as a JSON object");
	struct cairn_policy p = { 0 };
	const char *name, *volume, *group, *repo, *cred, *cron, *snapshot, *scope, *vname;
	int r;
	if ((r = check_fields(rq, policy_fields)) < 0 || (r = body_str(rq, "name", &name)) < 0 ||
	    (r = body_str(rq, "volume", &volume)) < 0 || (r = body_str(rq, "group", &group)) < 0 ||
	    (r = body_str(rq, "repo", &repo)) < 0 || (r = body_str(rq, "cred", &cred)) < 0 ||
	    (r = body_str(rq, "cron", &cron)) < 0 || (r = body_str(rq, "snapshot", &snapshot)) < 0 ||
	    (r = body_str(rq, "retention_scope", &scope)) < 0 || (r = body_str(rq, "volume_name", &vname)) < 0)
		return r;
	if (!name)
		return cairn_error_set(CAIRN_EINVAL, "give the policy's name");
	if ((r = cairn_policy_name_check(name)) < 0)
		return r;
	if (!repo)
		return cairn_error_set(CAIRN_EINVAL, "give the repository: repo");
	if (!!volume == !!group)
		return cairn_error_set(CAIRN_EINVAL, "give what to protect: volume or group (one of them)");
	if ((r = body_interval(rq, "every", &p.every)) < 0 || (r = body_interval(rq, "rpo", &p.rpo)) < 0)
		return r;
	if (!!p.every == !!cron)
		return cairn_error_set(CAIRN_EINVAL, "give a schedule: every or cron (one of them)");
	struct cairn_cron cr;
	if (cron && (r = cairn_cron_parse(cron, &cr)) < 0)
		return r;
	char within[64];
	if ((r = body_keep(rq, &p, within, sizeof(within))) < 0)
		return r;
	json_t *fe = json_object_get(rq->json, "full_every");
	if (fe && !json_is_null(fe)) {
		if (!json_is_integer(fe) || json_integer_value(fe) < 1 || json_integer_value(fe) > 100000)
			return cairn_error_set(CAIRN_EINVAL, "full_every must be a number from 1 (every Nth backup reads "
							     "everything)");
		p.full_every = (unsigned)json_integer_value(fe);
	}
	enum cairn_snap_method method;
	p.snapshot = (char *)(snapshot ? snapshot : "auto");
	if (cairn_snap_method_parse(p.snapshot, &method) < 0)
		return cairn_error_set(CAIRN_EINVAL, "snapshot takes auto, reflink, copy or none");
	if (scope && strcmp(scope, "policy") != 0 && strcmp(scope, "volume") != 0)
		return cairn_error_set(CAIRN_EINVAL, "retention_scope takes policy or volume");
	p.scope = scope && strcmp(scope, "volume") == 0 ? CAIRN_SCOPE_VOLUME : CAIRN_SCOPE_POLICY;
	if (vname && group)
		return cairn_error_set(CAIRN_EINVAL, "volume_name names the volume of a volume policy");
	if (vname && (r = cairn_backup_check_names(vname, NULL, 0)) < 0)
		return r;
	p.volume_name = (char *)vname;
	p.name = (char *)name;
	p.cron = (char *)cron;
	struct cairn_repo_ref ref = { .uri = repo, .cred = cred };
	if ((r = cairn_app_policy_create(cairn_api_app(rq), st, &p, volume, group, &ref)) < 0)
		return r;
	struct cairn_policy made;
	if ((r = cairn_policy_get(st, name, &made)) < 0)
		return r;
	json_t *o = policy_json(st, &made);
	cairn_policy_clear(&made);
	return cairn_api_reply(rq, 201, o);
}

static int delete_policy(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	int r = cairn_policy_delete(st, rq->m.params[0]);
	if (r < 0)
		return r;
	return cairn_api_reply(rq, 200, json_pack("{s:s, s:b}", "name", rq->m.params[0], "deleted", 1));
}

static int set_paused(struct cairn_api_req *rq, bool paused)
{
	STATE_OR_FAIL(rq, st);
	int r = cairn_policy_set_paused(st, rq->m.params[0], paused);
	if (r < 0)
		return r;
	return get_policy(rq);
}

static int post_policy_pause(struct cairn_api_req *rq)
{
	return set_paused(rq, true);
}

static int post_policy_resume(struct cairn_api_req *rq)
{
	return set_paused(rq, false);
}

/* Queues a run like a due schedule does (daemon.c): the scheduler starts
 * it within a second, in its own process, under the daemon's job limits. */
static int post_policy_run(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	struct cairn_policy p;
	int r = cairn_policy_get(st, rq->m.params[0], &p);
	if (r < 0)
		return r;
	struct cairn_job last;
	int q = cairn_job_last_of(st, p.name, "backup", &last);
	if (q >= 0) {
		bool busy = last.state == CAIRN_JOB_QUEUED || last.state == CAIRN_JOB_ACTIVE;
		int64_t id = last.id;
		cairn_job_clear(&last);
		if (busy) {
			cairn_policy_clear(&p);
			return cairn_api_error(rq, 409, "already_running", "policy %s has job %lld queued or running",
					       rq->m.params[0], (long long)id);
		}
	}
	cairn_error_clear();
	if (p.paused) {
		cairn_policy_clear(&p);
		return cairn_api_error(rq, 409, "paused", "policy %s is paused (resume it first)", rq->m.params[0]);
	}
	struct cairn_job_new jn = { .kind = "backup", .policy = p.name, .source = p.source, .repo = p.repo };
	int64_t id;
	r = cairn_job_create(st, &jn, &id);
	if (r >= 0)
		r = cairn_policy_set_last_run(st, p.name, (int64_t)time(NULL));
	cairn_policy_clear(&p);
	if (r < 0)
		return r;
	return cairn_api_reply(rq, 202, json_pack("{s:s, s:I, s:s}", "policy", rq->m.params[0], "job", (json_int_t)id,
						  "state", "queued"));
}

/* ---- groups and volumes ---- */

static json_t *group_json(const struct cairn_group *g)
{
	json_t *vols = json_array(), *fr = json_array();
	for (size_t i = 0; i < g->nvolumes; i++)
		json_array_append_new(vols, json_pack("{s:s, s:o}", "path", g->volumes[i], "name",
						      opt_str(g->names ? g->names[i] : NULL)));
	for (size_t i = 0; i < g->nfreeze; i++)
		json_array_append_new(fr, json_string(g->freeze[i]));
	return json_pack("{s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:i}", "name", g->name, "created", (json_int_t)g->created,
			 "volumes", vols, "freeze", fr, "config", opt_str(g->config), "pre_hook", opt_str(g->pre_hook),
			 "post_hook", opt_str(g->post_hook), "max_freeze_ms", (int)g->max_freeze_ms);
}

static int get_groups(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	struct cairn_group *v = NULL;
	size_t n = 0;
	int r = cairn_group_list(st, &v, &n);
	if (r < 0)
		return r;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, group_json(&v[i]));
	cairn_groups_free(v, n);
	return cairn_api_reply(rq, 200, json_pack("{s:o}", "groups", a));
}

static int get_group(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	struct cairn_group g;
	int r = cairn_group_get(st, rq->m.params[0], &g);
	if (r < 0)
		return r;
	json_t *o = group_json(&g);
	cairn_group_clear(&g);
	return cairn_api_reply(rq, 200, o);
}

/* An absolute path on the daemon's host from a JSON string (the daemon's
 * working directory is no client's). */
static int abs_path(json_t *v, const char *what, size_t i, const char **ret)
{
	const char *s = json_string_value(v);
	if (!s || s[0] != '/')
		return cairn_error_set(CAIRN_EINVAL, "%s[%zu] must be an absolute path on the daemon's host", what, i);
	*ret = s;
	return 0;
}

static const char *const group_fields[] = { "name",	 "volumes",   "freeze",	      "config",
					    "pre_hook", "post_hook", "max_freeze_s", NULL };

/* POST /api/v1/groups {name, volumes: [PATH | {path, name}], freeze?,
 * config?, pre_hook?, post_hook?, max_freeze_s?}: `cairn group create`
 * through the same app call (app/group.h). */
static int post_groups(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	if (!rq->json)
		return cairn_error_set(CAIRN_EINVAL, "give the group as a JSON object");
	struct cairn_app_group_new n = { 0 };
	const char *config;
	int r;
	if ((r = check_fields(rq, group_fields)) < 0 || (r = body_str(rq, "name", &n.name)) < 0 ||
	    (r = body_str(rq, "config", &config)) < 0 || (r = body_str(rq, "pre_hook", &n.pre_hook)) < 0 ||
	    (r = body_str(rq, "post_hook", &n.post_hook)) < 0)
		return r;
	if (!n.name)
		return cairn_error_set(CAIRN_EINVAL, "give the group's name");
	if (config && config[0] != '/')
		return cairn_error_set(CAIRN_EINVAL, "config must be an absolute path on the daemon's host");
	n.config = config;
	json_t *vols = json_object_get(rq->json, "volumes"), *fr = json_object_get(rq->json, "freeze");
	json_t *mf = json_object_get(rq->json, "max_freeze_s");
	if (!json_is_array(vols) || !json_array_size(vols))
		return cairn_error_set(CAIRN_EINVAL, "give volumes: an array of paths or {\"path\", \"name\"} objects");
	if (fr && !json_is_null(fr) && !json_is_array(fr))
		return cairn_error_set(CAIRN_EINVAL, "freeze must be an array of mount points");
	if (mf && !json_is_null(mf)) {
		double s = json_number_value(mf);
		if (!json_is_number(mf) || !(s > 0) || s > 3600)
			return cairn_error_set(CAIRN_EINVAL, "max_freeze_s takes seconds, more than 0 and at most 3600");
		n.max_freeze_ms = (unsigned)(s * 1000 + 0.5);
		if (!n.max_freeze_ms)
			n.max_freeze_ms = 1;
	}
	size_t nv = json_array_size(vols), nf = json_is_array(fr) ? json_array_size(fr) : 0;
	const char **paths = calloc(nv + nf + 1, sizeof(char *)), **names = calloc(nv, sizeof(char *));
	if (!paths || !names) {
		free(paths), free(names);
		return cairn_error_nomem();
	}
	bool named = false;
	size_t i;
	json_t *v;
	json_array_foreach(vols, i, v) {
		json_t *p = json_is_object(v) ? json_object_get(v, "path") : v;
		json_t *nm = json_is_object(v) ? json_object_get(v, "name") : NULL;
		if ((r = abs_path(p, "volumes", i, &paths[i])) < 0)
			break;
		if (nm && !json_is_null(nm) && !(names[i] = json_string_value(nm))) {
			r = cairn_error_set(CAIRN_EINVAL, "volumes[%zu].name must be a string", i);
			break;
		}
		named |= names[i] != NULL;
	}
	for (i = 0; r >= 0 && i < nf; i++)
		r = abs_path(json_array_get(fr, i), "freeze", i, &paths[nv + i]);
	if (r >= 0) {
		n.volumes = paths, n.nvolumes = nv;
		n.names = named ? names : NULL;
		n.freeze = paths + nv, n.nfreeze = nf;
		r = cairn_app_group_create(st, &n);
	}
	free(paths), free(names);
	if (r < 0)
		return r;
	struct cairn_group g;
	if ((r = cairn_group_get(st, n.name, &g)) < 0)
		return r;
	json_t *o = group_json(&g);
	cairn_group_clear(&g);
	return cairn_api_reply(rq, 201, o);
}

/* The volumes this host protects: those of volume policies and of groups,
 * each with what protects it. */
static void volume_add(json_t *vols, const char *path, const char *field, const char *name)
{
	json_t *v = json_object_get(vols, path);
	if (!v) {
		v = json_pack("{s:s, s:[], s:[], s:[]}", "path", path, "policies", "groups", "standbys");
		json_object_set_new(vols, path, v);
	}
	if (field && name)
		json_array_append_new(json_object_get(v, field), json_string(name));
}

static int get_volumes(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	json_t *vols = json_object();
	struct cairn_policy *pv = NULL;
	size_t np = 0;
	int r = cairn_policy_list(st, &pv, &np);
	for (size_t i = 0; r >= 0 && i < np; i++)
		if (pv[i].kind == CAIRN_POLICY_VOLUME)
			volume_add(vols, pv[i].source, "policies", pv[i].name);
	cairn_policies_free(pv, np);
	struct cairn_group *gv = NULL;
	size_t ng = 0;
	if (r >= 0)
		r = cairn_group_list(st, &gv, &ng);
	for (size_t i = 0; r >= 0 && i < ng; i++)
		for (size_t k = 0; k < gv[i].nvolumes; k++)
			volume_add(vols, gv[i].volumes[k], "groups", gv[i].name);
	cairn_groups_free(gv, ng);
	if (r < 0) {
		json_decref(vols);
		return r;
	}
	json_t *a = json_array();
	const char *key;
	json_t *v;
	json_object_foreach(vols, key, v)
		json_array_append(a, v);
	json_decref(vols);
	return cairn_api_reply(rq, 200, json_pack("{s:o}", "volumes", a));
}

/* ---- standby volumes ---- */

static json_t *standby_json(const struct cairn_standby *s)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:I, s:I, s:b, s:I}", "name", s->name, "kind",
			 s->group ? "group" : "volume", "source", s->source, "repo", s->uri, "cred", opt_str(s->cred),
			 "target", s->target, "every_s", s->every ? json_integer(s->every) : json_null(), "backup",
			 opt_str(s->backup), "backup_created_us", opt_time(s->backup_created), "applied",
			 opt_time(s->applied), "apply_ms", (json_int_t)s->apply_ms, "bytes_written",
			 (json_int_t)s->bytes_written, "pending", s->pending != NULL, "created", (json_int_t)s->created);
}

static int get_standbys(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	struct cairn_standby *v = NULL;
	size_t n = 0;
	int r = cairn_standby_list(st, &v, &n);
	if (r < 0)
		return r;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, standby_json(&v[i]));
	cairn_standbys_free(v, n);
	return cairn_api_reply(rq, 200, json_pack("{s:o}", "standbys", a));
}

static int get_standby(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	struct cairn_standby s;
	int r = cairn_standby_get(st, rq->m.params[0], &s);
	if (r < 0)
		return r;
	json_t *o = standby_json(&s);
	cairn_standby_clear(&s);
	return cairn_api_reply(rq, 200, o);
}

/* ---- credentials (secrets go in, never out) ---- */

static int get_credentials(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	struct cairn_cred *v = NULL;
	size_t n = 0;
	int r = cairn_cred_list(st, &v, &n);
	if (r < 0)
		return r;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, cairn_app_cred_json(&v[i]));
	cairn_cred_list_free(v, n);
	return cairn_api_reply(rq, 200, json_pack("{s:o}", "credentials", a));
}

static const char *const cred_fields[] = { "provider",	 "name",	   "access_key", "secret_key",
					   "region",	 "endpoint",	   "disable_ssl", "account",
					   "key",	 "sas",		   "project_id",  "secret",
					   "passphrase", NULL };

static int post_credentials(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	if (!rq->json)
		return cairn_error_set(CAIRN_EINVAL, "give the credential as a JSON object");
	int r = check_fields(rq, cred_fields);
	if (r < 0)
		return r;
	const char *prov, *name, *access, *region, *endpoint, *account, *project;
	if ((r = body_str(rq, "provider", &prov)) < 0 || (r = body_str(rq, "name", &name)) < 0 ||
	    (r = body_str(rq, "access_key", &access)) < 0 || (r = body_str(rq, "region", &region)) < 0 ||
	    (r = body_str(rq, "endpoint", &endpoint)) < 0 || (r = body_str(rq, "account", &account)) < 0 ||
	    (r = body_str(rq, "project_id", &project)) < 0)
		return r;
	struct cairn_cred c = { 0 };
	if (!prov)
		return cairn_error_set(CAIRN_EINVAL, "give the provider: s3, azure or google");
	if ((r = cairn_cred_provider_parse(prov, &c.provider)) < 0)
		return r;
	json_t *ssl = json_object_get(rq->json, "disable_ssl");
	bool no_ssl = ssl && json_is_true(ssl);
	/* Non-secret fields are borrowed from the body; secrets are copied
	 * into locked memory (cairn_cred_secret_dup), wiped by clear. */
	struct {
		const char *key;
		char **dst;
	} secrets[] = { { "secret_key", &c.s3_secret_key }, { "key", &c.azure_key },	       { "sas", &c.azure_sas },
			{ "secret", &c.google_secret },	     { "passphrase", &c.passphrase } };
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]) && r >= 0; i++) {
		const char *v;
		if ((r = body_str(rq, secrets[i].key, &v)) >= 0 && v)
			r = cairn_cred_secret_dup(v, secrets[i].dst);
	}
	char uuid[CAIRN_CRED_UUID_LEN + 1];
	if (r >= 0) {
		c.name = (char *)name;
		if (c.provider == CAIRN_CRED_S3) {
			c.s3_access_key = (char *)access, c.s3_region = (char *)region, c.s3_endpoint = (char *)endpoint;
			c.s3_disable_ssl = no_ssl;
		} else if (c.provider == CAIRN_CRED_AZURE) {
			c.azure_account = (char *)account, c.azure_endpoint = (char *)endpoint;
			c.azure_disable_ssl = no_ssl;
		} else {
			c.google_project_id = (char *)project, c.google_access_key = (char *)access;
		}
		r = cairn_cred_validate(&c);
		if (r >= 0)
			r = cairn_cred_create(st, &c, uuid);
		c.name = c.s3_access_key = c.s3_region = c.s3_endpoint = c.azure_account = c.azure_endpoint = NULL;
		c.google_project_id = c.google_access_key = NULL;
	}
	cairn_cred_clear(&c);
	/* The body held secrets: wipe them before the request is freed. */
	const char *key;
	json_t *v;
	json_object_foreach(rq->json, key, v)
		if (json_is_string(v))
			explicit_bzero((char *)json_string_value(v), json_string_length(v));
	if (rq->body)
		explicit_bzero(rq->body, rq->body_len);
	if (r < 0)
		return r;
	struct cairn_cred *made = NULL;
	if ((r = cairn_cred_get(st, uuid, false, &made)) < 0)
		return r;
	json_t *o = cairn_app_cred_json(made);
	cairn_cred_free(made);
	return cairn_api_reply(rq, 201, o);
}

static int delete_credential(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	char uuid[CAIRN_CRED_UUID_LEN + 1];
	int r = cairn_cred_delete(st, rq->m.params[0], uuid);
	if (r < 0)
		return r;
	return cairn_api_reply(rq, 200, json_pack("{s:s, s:b}", "uuid", uuid, "deleted", 1));
}

/* ---- backups per repository ---- */

/* Opens the repository of the path's first parameter: a registered
 * repository's name ('cairn import') or a URI (percent-encoded), with
 * ?cred=REF; its passphrase as the daemon's jobs get theirs. */
static int open_repo(struct cairn_api_req *rq, struct cairn_state *st, struct cairn_repo **ret)
{
	const char *uri = rq->m.params[0], *cred = cairn_api_query(rq, "cred");
	struct cairn_repo_reg reg = { 0 };
	bool named = !strstr(uri, "://") && uri[0] != '/' && cairn_repo_reg_get(st, uri, &reg) >= 0;
	cairn_error_clear();
	if (named) {
		uri = reg.uri;
		if (!cred)
			cred = reg.cred;
	}
	struct cairn_repo_ref ref = { .uri = uri, .cred = cred, .cred_pass_first = true };
	int r = cairn_app_repo_open(cairn_api_app(rq), st, &ref, ret);
	cairn_repo_reg_clear(&reg);
	return r;
}

/* The same for the catalog routes (api_catalog.h). */
int cairn_api_repo_of(struct cairn_api_req *rq, struct cairn_repo **ret)
{
	STATE_OR_FAIL(rq, st);
	return open_repo(rq, st, ret);
}

static json_t *backup_json(const struct cairn_manifest *m, const struct cairn_hold_list *holds)
{
	const struct cairn_hold *h = cairn_app_backup_hold(holds, m);
	json_t *tags = json_array();
	for (size_t i = 0; i < m->ntags; i++)
		json_array_append_new(tags, json_string(m->tags[i]));
	char group[2 * CAIRN_BACKUP_ID_LEN + 1] = "";
	if (m->in_group)
		cairn_hex_encode(m->group_id, CAIRN_BACKUP_ID_LEN, group);
	return json_pack("{s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:b, s:o}", "id", m->idhex, "volume", m->volume,
			 "created_us", (json_int_t)m->created_us, "size", (json_int_t)m->size, "hostname",
			 opt_str(m->hostname), "tags", tags, "consistency", opt_str(m->consistency), "group",
			 m->in_group ? json_string(group) : json_null(), "held", h != NULL, "hold_reason",
			 h && h->reason ? json_string(h->reason) : json_null());
}

static int get_backups(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	struct cairn_repo *repo = NULL;
	int r = open_repo(rq, st, &repo);
	if (r < 0)
		return r;
	struct cairn_manifest_list l;
	struct cairn_hold_list holds;
	struct cairn_seen_report vanished;
	r = cairn_app_backups_list_held(cairn_api_app(rq), repo, &l, &holds, &vanished);
	cairn_repo_free(repo);
	if (r < 0)
		return r;
	const char *volume = cairn_api_query(rq, "volume");
	json_t *a = json_array();
	for (size_t i = 0; i < l.n; i++)
		if (!volume || strcmp(l.v[i]->volume, volume) == 0)
			json_array_append_new(a, backup_json(l.v[i], &holds));
	cairn_manifest_list_free(&l);
	cairn_hold_list_free(&holds);
	return cairn_api_reply(rq, 200, json_pack("{s:o, s:I}", "backups", a, "vanished", (json_int_t)vanished.vanished));
}

/* hold (with {reason}) or release, as 'cairn hold' and 'cairn release'. */
static int set_hold(struct cairn_api_req *rq, bool hold)
{
	STATE_OR_FAIL(rq, st);
	const char *reason = NULL;
	int r = check_fields(rq, (const char *const[]){ "reason", NULL });
	if (r < 0 || (rq->json && (r = body_str(rq, "reason", &reason)) < 0))
		return r;
	if (!hold && reason)
		return cairn_error_set(CAIRN_EINVAL, "release takes no reason");
	struct cairn_repo *repo = NULL;
	if ((r = open_repo(rq, st, &repo)) < 0)
		return r;
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	char what[CAIRN_APP_WHAT_MAX];
	r = cairn_app_backup_resolve_any(repo, rq->m.params[1], !hold, id, what);
	if (r >= 0)
		r = hold ? cairn_hold_put(repo, id, reason) : cairn_hold_delete(repo, id);
	cairn_repo_free(repo);
	if (r < 0)
		return r;
	char hex[2 * CAIRN_BACKUP_ID_LEN + 1];
	cairn_hex_encode(id, CAIRN_BACKUP_ID_LEN, hex);
	return cairn_api_reply(rq, 200, json_pack("{s:s, s:b, s:s}", "id", hex, "held", hold, "reason",
						  reason ? reason : ""));
}

static int post_hold(struct cairn_api_req *rq)
{
	return set_hold(rq, true);
}

static int post_release(struct cairn_api_req *rq)
{
	return set_hold(rq, false);
}

/* ---- the DR report ---- */

static int get_dr_report(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	json_t *j = NULL;
	int r = cairn_app_dr_report(cairn_api_app(rq), st, (int64_t)time(NULL), &j);
	if (r < 0)
		return r;
	return cairn_api_reply(rq, 200, j);
}

/* ---- metrics ---- */

/* The Prometheus exposition of the local state (daemon/metrics.h), as
 * `cairn metrics` prints it: read from the state only, never a repository,
 * so a scrape costs a few indexed queries. */
static int get_metrics(struct cairn_api_req *rq)
{
	STATE_OR_FAIL(rq, st);
	struct cairn_buf out = { 0 };
	int r = cairn_metrics_render(st, (int64_t)time(NULL), &out);
	struct MHD_Response *resp = NULL;
	if (r >= 0 && !(resp = MHD_create_response_from_buffer(out.len, out.data, MHD_RESPMEM_MUST_COPY)))
		r = cairn_error_nomem();
	cairn_buf_free(&out);
	if (r < 0)
		return r;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CAIRN_METRICS_CONTENT_TYPE);
	rq->status = 200;
	rq->response = resp;
	return 0;
}

/* check_fields for the other files of resources (api_jobs.c). */
int cairn_api_check_fields(struct cairn_api_req *rq, const char *const *known)
{
	return check_fields(rq, known);
}

/* ---- the table ---- */

#define V1 "/api/v1"
const struct cairn_api_route cairn_api_routes[] = {
	{ "GET", V1 "/status", get_status, CAIRN_API_READ },
	{ "GET", V1 "/volumes", get_volumes, CAIRN_API_READ },
	{ "GET", V1 "/groups", get_groups, CAIRN_API_READ },
	{ "GET", V1 "/groups/{name}", get_group, CAIRN_API_READ },
	{ "POST", V1 "/groups", post_groups, CAIRN_API_WRITE },
	{ "GET", V1 "/policies", get_policies, CAIRN_API_READ },
	{ "POST", V1 "/policies", post_policies, CAIRN_API_WRITE },
	{ "GET", V1 "/policies/{name}", get_policy, CAIRN_API_READ },
	{ "DELETE", V1 "/policies/{name}", delete_policy, CAIRN_API_WRITE },
	{ "POST", V1 "/policies/{name}/pause", post_policy_pause, CAIRN_API_WRITE },
	{ "POST", V1 "/policies/{name}/resume", post_policy_resume, CAIRN_API_WRITE },
	{ "POST", V1 "/policies/{name}/run", post_policy_run, CAIRN_API_WRITE },
	{ "GET", V1 "/jobs", get_jobs, CAIRN_API_READ },
	{ "GET", V1 "/jobs/{id}", get_job, CAIRN_API_READ },
	{ "GET", V1 "/jobs/{id}/log", get_job_log, CAIRN_API_READ },
	{ "GET", V1 "/jobs/{id}/events", get_job_events, CAIRN_API_READ },
	{ "GET", V1 "/events", get_events, CAIRN_API_READ },
	{ "POST", V1 "/jobs/{id}/cancel", post_job_cancel, CAIRN_API_WRITE },
	{ "GET", V1 "/standbys", get_standbys, CAIRN_API_READ },
	{ "GET", V1 "/standbys/{name}", get_standby, CAIRN_API_READ },
	{ "GET", V1 "/credentials", get_credentials, CAIRN_API_READ },
	{ "POST", V1 "/credentials", post_credentials, CAIRN_API_WRITE },
	{ "DELETE", V1 "/credentials/{ref}", delete_credential, CAIRN_API_WRITE },
	{ "GET", V1 "/repositories/{repo}/backups", get_backups, CAIRN_API_READ },
	{ "POST", V1 "/repositories/{repo}/backups/{id}/hold", post_hold, CAIRN_API_WRITE },
	{ "POST", V1 "/repositories/{repo}/backups/{id}/release", post_release, CAIRN_API_WRITE },
	{ "GET", V1 "/dr/report", get_dr_report, CAIRN_API_READ },
	/* A backup's file catalog (api_catalog.h). */
	{ "GET", V1 "/repositories/{repo}/backups/{id}/catalog", cairn_api_get_catalog, CAIRN_API_READ },
	{ "GET", V1 "/repositories/{repo}/backups/{id}/catalog/entry", cairn_api_get_catalog_entry, CAIRN_API_READ },
	/* No token on the Unix socket, a token on TCP unless --metrics-public
	 * (authorize() in api.c). */
	{ "GET", "/metrics", get_metrics, CAIRN_API_METRICS },
	/* Long work queued as jobs of the CLI's commands (api_jobs.c). */
	{ "POST", V1 "/restores", cairn_api_post_restores, CAIRN_API_WRITE },
	{ "POST", V1 "/restores/file", cairn_api_post_restores_file, CAIRN_API_WRITE },
	{ "POST", V1 "/copies", cairn_api_post_copies, CAIRN_API_WRITE },
	{ "DELETE", V1 "/repositories/{repo}/backups/{id}", cairn_api_delete_backup, CAIRN_API_WRITE },
	{ "POST", V1 "/standbys/{name}/update", cairn_api_post_standby_update, CAIRN_API_WRITE },
	{ "POST", V1 "/standbys/{name}/failover", cairn_api_post_standby_failover, CAIRN_API_WRITE },
	{ "POST", V1 "/standbys", cairn_api_post_standbys, CAIRN_API_WRITE },
	{ "DELETE", V1 "/standbys/{name}", cairn_api_delete_standby, CAIRN_API_WRITE },
	{ "DELETE", V1 "/groups/{name}", cairn_api_delete_group, CAIRN_API_WRITE },
};
const size_t cairn_api_nroutes = sizeof(cairn_api_routes) / sizeof(cairn_api_routes[0]);

bool cairn_api_route_quick(const struct cairn_api_route *r)
{
	return r->handler == get_status;
}
