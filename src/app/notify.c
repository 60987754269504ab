/* Alert events and their delivery (notify.h). */
#include "app/notify.h"
#include "util/error.h"
#include "util/proc.h"
#include "util/time.h"

#include <cairn/cairn.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The fields every event has. */
static json_t *event_new(const char *kind, int64_t now, const char *host, const char *policy, const char *message)
{
	char ts[48];
	cairn_time_format(now, ts, sizeof(ts));
	return json_pack("{s:i, s:s, s:s, s:I, s:o, s:o, s:s}", "version", 1, "kind", kind, "time", ts, "time_unix",
			 (json_int_t)now, "host", opt_str(host), "policy", opt_str(policy), "message",
			 message ? message : "");
}

static int dump(json_t *ev, char **ret)
{
	if (!ev)
		return cairn_error_nomem();
	char *s = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(ev);
	if (!s)
		return cairn_error_nomem();
	*ret = s;
	return 0;
}

int cairn_notify_event_failure(const struct cairn_job *j, int64_t now, const char *host, char **ret)
{
	char msg[1200];
	snprintf(msg, sizeof(msg), "%s job %lld%s%s of %s failed: %s", j->kind, (long long)j->id,
		 j->policy ? " of policy " : "", j->policy ? j->policy : "", j->source, j->error ? j->error : "(no reason recorded)");
	/* One line, however the error was worded. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	json_t *ev = event_new("failure", now, host, j->policy, msg);
	if (ev && json_object_update_new(ev, json_pack("{s:I, s:s, s:s, s:o, s:o}", "job_id", (json_int_t)j->id,
							 "job_kind", j->kind, "source", j->source, "repo",
							 opt_str(j->repo), "error", opt_str(j->error))) < 0) {
		json_decref(ev);
		ev = NULL;
	}
	return dump(ev, ret);
}

int cairn_notify_event_rpo(const char *policy, const char *what, int64_t age_s, int64_t target_s, int64_t now,
			   const char *host, char **ret)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "policy %s: the newest %s is %lld s old, above its RPO target of %lld s", policy,
		 strcmp(what, "copy") == 0 ? "off-site copy" : "restore point", (long long)age_s, (long long)target_s);
	json_t *ev = event_new("rpo", now, host, policy, msg);
	if (ev && json_object_update_new(ev, json_pack("{s:s, s:I, s:I}", "what", what, "rpo_seconds",
							 (json_int_t)age_s, "rpo_target_seconds",
							 (json_int_t)target_s)) < 0) {
		json_decref(ev);
		ev = NULL;
	}
	return dump(ev, ret);
}

int cairn_notify_event_test(const char *notifier, int64_t now, const char *host, char **ret)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "test event for notifier %s ('cairn notify test')", notifier);
	return dump(event_new("test", now, host, NULL, msg), ret);
}

unsigned cairn_notify_event_bit(const char *kind)
{
	if (strcmp(kind, "failure") == 0)
		return CAIRN_NOTIFY_FAILURE;
	if (strcmp(kind, "rpo") == 0)
		return CAIRN_NOTIFY_RPO;
	return 0;
}

/* The URL as logs show it: scheme and host only, for the path or query of
 * a webhook often is its secret (Slack's, a token parameter). */
static void url_shown(const char *url, char *buf, size_t size)
{
	const char *p = strstr(url, "://");
	size_t host = p ? (size_t)(p + 3 - url) + strcspn(p + 3, "/?#") : strlen(url);
	const char *at = memchr(url, '@', host); /* user info: a password */
	if (p && at)
		snprintf(buf, size, "%.*s%.*s%s", (int)(p + 3 - url), url, (int)(host - (size_t)(at + 1 - url)), at + 1,
			 url[host] ? "/..." : "");
	else
		snprintf(buf, size, "%.*s%s", (int)host, url, url[host] ? "/..." : "");
}

static int deliver_webhook(const struct cairn_notifier *n, const char *body, const struct cairn_http_env *env)
{
	struct cairn_http_opts o = { .connections = 1, .allow_http = true, .stall_seconds = n->timeout_s,
				     .attempt_timeout_ms = n->timeout_s * 1000, .env = env };
	struct cairn_http_client *c = NULL;
	int r = cairn_http_client_new(&o, &c);
	if (r < 0)
		return cairn_error_prefix(r, "notifier %s", n->name);
	const char *headers[] = { "Content-Type: application/json", "User-Agent: cairn/" CAIRN_VERSION_STRING,
				  "Expect:", NULL };
	char shown[256];
	url_shown(n->target, shown, sizeof(shown));
	struct cairn_http_request rq = { .method = "POST", .url = n->target, .log_url = shown, .headers = headers, .body = body,
					 .body_len = strlen(body), .out_max = 1 << 20 };
	struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	r = cairn_http_perform(c, &rq, &rs);
	if (r < 0)
		r = cairn_error_prefix(r, "notifier %s", n->name);
	else if (rs.status < 200 || rs.status > 299)
		r = cairn_error_set(CAIRN_EIO, "notifier %s: %s answered HTTP %ld (after %u attempt(s))", n->name,
				    shown, rs.status, rs.attempts);
	cairn_http_response_free(&rs);
	cairn_http_client_free(c);
	return r;
}

int cairn_notify_deliver(const struct cairn_notifier *n, const char *body, const struct cairn_http_env *env)
{
	if (!n->exec)
		return deliver_webhook(n, body, env);
	char label[128];
	snprintf(label, sizeof(label), "notifier %s (--exec)", n->name);
	const char *kind = strstr(body, "\"kind\":\"");
	char kenv[64] = "CAIRN_EVENT=";
	if (kind)
		snprintf(kenv, sizeof(kenv), "CAIRN_EVENT=%.*s", (int)strcspn(kind + 8, "\""), kind + 8);
	const char *extra[] = { kenv, NULL };
	return cairn_run_hook_input(label, n->target, extra, body, strlen(body), n->timeout_s);
}
