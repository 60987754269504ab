/* The HTTP client: a pool of curl easy handles behind a counting slot
 * limit, and the retry loop around one request (http.h).
 *
 * Each attempt takes a slot and an idle handle (or makes one), resets it
 * with curl_easy_reset (which keeps the handle's live connections, so
 * keep-alive works across requests and threads), sets it up from the
 * request, performs, and hands the handle back.  Slots are held for one
 * attempt only, never across a backoff sleep or across requests, so callers
 * that issue requests from inside other work (multipart parts) cannot
 * deadlock on them.  DNS results and TLS sessions are shared between the
 * handles through a curl share object.
 */
#include "http/http.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define ERR_BODY_MAX (64u << 10)
/* A Content-Length beyond this is not trusted for preallocation. */
#define RESERVE_MAX (1ull << 30)

struct cairn_http_client {
	struct cairn_http_opts o; /* o.env is not kept: the options' lifetime */
	char *stats;              /* o.env->stats, copied; NULL: none */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned active;  /* attempts running */
	CURL **idle;      /* handles waiting for an attempt, at most o.connections */
	size_t nidle;

	CURLSH *share;
	pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];

	bool limited;
	struct cairn_ratelimit rl;

	atomic_uint_fast64_t requests, retries, failures, sent, received;
};

/* ---- global init ---- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	/* Once per process, before any handle exists; never cleaned up, as
	 * other code in the process may use curl too. */
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	(void)h;
	(void)access;
	struct cairn_http_client *c = ud;
	pthread_mutex_lock(&c->share_lock[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
	(void)h;
	struct cairn_http_client *c = ud;
	pthread_mutex_unlock(&c->share_lock[data]);
}

int cairn_http_client_new(const struct cairn_http_opts *o, struct cairn_http_client **ret)
{
	const char *unloaded = cairn_curl_load_error();
	if (unloaded)
		return cairn_error_set(CAIRN_ENET, "%s", unloaded);
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return cairn_error_set(CAIRN_ENET, "libcurl initialisation failed: %s", curl_easy_strerror(global_rc));

	struct cairn_http_client *c = calloc(1, sizeof(*c));
	if (!c)
		return cairn_error_nomem();
	if (o)
		c->o = *o;
	cairn_http_opts_finish(&c->o);
	const char *stats = c->o.env ? c->o.env->stats : NULL;
	c->o.env = NULL;
	c->stats = stats && *stats ? strdup(stats) : NULL;
	c->idle = calloc(c->o.connections, sizeof(*c->idle));
	c->share = curl_share_init();
	if (!c->idle || !c->share || (stats && *stats && !c->stats)) {
		free(c->stats);
		free(c->idle);
		if (c->share)
			curl_share_cleanup(c->share);
		free(c);
		return cairn_error_nomem();
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_lock[i], NULL);
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	c->limited = c->o.limit_upload > 0;
	cairn_ratelimit_init(&c->rl, c->o.limit_upload, cairn_now());
	atomic_init(&c->requests, 0);
	atomic_init(&c->retries, 0);
	atomic_init(&c->failures, 0);
	atomic_init(&c->sent, 0);
	atomic_init(&c->received, 0);
	*ret = c;
	return 0;
}

static void dump_stats(struct cairn_http_client *c, const char *path)
{
	struct cairn_http_counters n;
	cairn_http_counters_get(c, &n);
	_cleanup_fclose_ FILE *f = fopen(path, "ae");
	if (!f) {
		cairn_log_warn("CAIRN_HTTP_STATS: cannot open %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f,
		"{\"requests\":%" PRIu64 ",\"retries\":%" PRIu64 ",\"failures\":%" PRIu64
		",\"bytes_sent\":%" PRIu64 ",\"bytes_received\":%" PRIu64 "}\n",
		n.requests, n.retries, n.failures, n.bytes_sent, n.bytes_received);
}

void cairn_http_client_free(struct cairn_http_client *c)
{
	if (!c)
		return;
	if (c->stats)
		dump_stats(c, c->stats);
	struct cairn_http_counters n;
	cairn_http_counters_get(c, &n);
	if (n.requests)
		cairn_log_info("http: %" PRIu64 " requests (%" PRIu64 " retried), %" PRIu64 " bytes sent, %" PRIu64
			       " received",
			       n.requests, n.retries, n.bytes_sent, n.bytes_received);
	for (size_t i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	free(c->idle);
	curl_share_cleanup(c->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_lock[i]);
	cairn_ratelimit_destroy(&c->rl);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c->stats);
	free(c);
}

void cairn_http_counters_get(struct cairn_http_client *c, struct cairn_http_counters *ret)
{
	*ret = (struct cairn_http_counters){
		.requests = atomic_load(&c->requests),
		.retries = atomic_load(&c->retries),
		.failures = atomic_load(&c->failures),
		.bytes_sent = atomic_load(&c->sent),
		.bytes_received = atomic_load(&c->received),
	};
}

void cairn_http_response_free(struct cairn_http_response *rs)
{
	if (!rs)
		return;
	cairn_buf_free(&rs->err_body);
	for (int i = 0; i < CAIRN_HTTP_MAX_WANT; i++) {
		free(rs->headers[i]);
		rs->headers[i] = NULL;
	}
	rs->status = 0;
	rs->attempts = 0;
}

/* ---- the handle pool ---- */

static CURL *acquire(struct cairn_http_client *c)
{
	CURL *h = NULL;
	pthread_mutex_lock(&c->lock);
	while (c->active >= c->o.connections)
		pthread_cond_wait(&c->cond, &c->lock);
	c->active++;
	if (c->nidle)
		h = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->lock);
	if (!h)
		h = curl_easy_init();
	if (!h) {
		pthread_mutex_lock(&c->lock);
		c->active--;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
	return h;
}

static void release(struct cairn_http_client *c, CURL *h, bool keep)
{
	pthread_mutex_lock(&c->lock);
	if (keep && c->nidle < c->o.connections) {
		c->idle[c->nidle++] = h;
		h = NULL;
	}
	c->active--;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (h)
		curl_easy_cleanup(h);
}

/* ---- one attempt ---- */

struct xfer {
	struct cairn_http_client *c;
	const struct cairn_http_request *rq;
	struct cairn_http_response *rs;
	CURL *h;
	size_t pos;            /* next body byte to hand to curl */
	curl_off_t ul, dl;     /* bytes already added to the counters */
	uint64_t retry_after_ms;
	uint64_t max;          /* most 2xx body bytes taken (UINT64_MAX: no limit) */
	uint64_t announced;    /* a Content-Length above max, else 0 */
	bool too_big;
	bool oom;
};

static long status_now(struct xfer *x)
{
	long st = 0;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &st);
	return st;
}

static bool is_2xx(long st)
{
	return st >= 200 && st < 300;
}

/* Trims spaces and the line end from [*p, *p + *n). */
static void trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == '\r' || (*p)[*n - 1] == '\n' || (*p)[*n - 1] == ' ' ||
		      (*p)[*n - 1] == '\t'))
		(*n)--;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * nitems;

	/* A new status line (after "100 Continue"): only the final block's
	 * headers count. */
	if (len >= 5 && strncasecmp(buf, "HTTP/", 5) == 0) {
		for (int i = 0; i < CAIRN_HTTP_MAX_WANT; i++) {
			free(x->rs->headers[i]);
			x->rs->headers[i] = NULL;
		}
		x->retry_after_ms = 0;
		return len;
	}
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return len;
	size_t nlen = (size_t)(colon - buf);
	const char *v = colon + 1;
	size_t vlen = len - nlen - 1;
	trim(&v, &vlen);

	const char *const *want = x->rq->want_headers;
	for (int i = 0; want && want[i] && i < CAIRN_HTTP_MAX_WANT; i++) {
		if (strlen(want[i]) != nlen || strncasecmp(want[i], buf, nlen) != 0)
			continue;
		free(x->rs->headers[i]);
		x->rs->headers[i] = strndup(v, vlen);
		if (!x->rs->headers[i]) {
			x->oom = true;
			return 0;
		}
	}
	if (nlen == 11 && strncasecmp(buf, "Retry-After", 11) == 0) {
		/* Seconds only; an HTTP date is rare from object stores. */
		uint64_t s = 0;
		size_t i = 0;
		for (; i < vlen && v[i] >= '0' && v[i] <= '9' && s < 100000; i++)
			s = s * 10 + (uint64_t)(v[i] - '0');
		if (i == vlen && vlen)
			x->retry_after_ms = s * 1000;
	}
	if (nlen == 14 && strncasecmp(buf, "Content-Length", 14) == 0 && x->rq->out && is_2xx(status_now(x))) {
		uint64_t n = 0;
		bool huge = false;
		for (size_t i = 0; i < vlen && v[i] >= '0' && v[i] <= '9' && !huge; i++) {
			huge = n > (UINT64_MAX - 9) / 10;
			n = n * 10 + (uint64_t)(v[i] - '0');
		}
		/* More than asked for: refused before a byte of it arrives. */
		if (huge || n > x->max) {
			x->announced = huge ? UINT64_MAX : n;
			x->too_big = true;
			return 0;
		}
		/* One allocation for the whole body instead of doublings. */
		if (n <= RESERVE_MAX && cairn_buf_reserve(x->rq->out, (size_t)n) < 0) {
			x->oom = true;
			return 0;
		}
	}
	return len;
}

static size_t on_write(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * nitems;

	if (is_2xx(status_now(x))) {
		if (x->rq->out && len > x->max - MIN(x->max, x->rq->out->len)) {
			x->too_big = true;
			return 0; /* CURLE_WRITE_ERROR */
		}
		if (x->rq->out && cairn_buf_append(x->rq->out, buf, len) < 0) {
			x->oom = true;
			return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
		}
		return len;
	}
	struct cairn_buf *e = &x->rs->err_body;
	size_t take = e->len < ERR_BODY_MAX ? MIN(len, ERR_BODY_MAX - e->len) : 0;
	if (take && cairn_buf_append(e, buf, take) < 0) {
		x->oom = true;
		return 0;
	}
	return len;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems, left = x->rq->body_len - x->pos;
	if (n > left)
		n = left;
	/* An interrupt ends a body upload (a pack) here rather than after
	 * it: under --limit-upload that could be hours away. */
	if (n && cairn_cancel_check())
		return CURL_READFUNC_ABORT;
	if (x->c->limited && n) {
		size_t piece = cairn_ratelimit_piece(&x->c->rl);
		if (n > piece)
			n = piece;
		cairn_ratelimit_take(&x->c->rl, n);
	}
	if (n)
		memcpy(buf, (const uint8_t *)x->rq->body + x->pos, n);
	x->pos += n;
	return n;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
	struct xfer *x = ud;
	/* curl rewinds to resend a body (e.g. on a redirect or auth retry). */
	if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->rq->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->pos = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static void count_progress(struct xfer *x, curl_off_t dlnow, curl_off_t ulnow)
{
	if (ulnow > x->ul) {
		atomic_fetch_add(&x->c->sent, (uint64_t)(ulnow - x->ul));
		x->ul = ulnow;
	}
	if (dlnow > x->dl) {
		atomic_fetch_add(&x->c->received, (uint64_t)(dlnow - x->dl));
		x->dl = dlnow;
	}
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal;
	(void)ultotal;
	count_progress(ud, dlnow, ulnow);
	return 0;
}

static bool url_is_http(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0;
}

/* Bodies up to this size are sent from memory with the headers. */
#define SMALL_BODY (1u << 20)

static bool has_header(const struct cairn_http_request *rq, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; rq->headers && rq->headers[i]; i++)
		if (strncasecmp(rq->headers[i], name, n) == 0 && rq->headers[i][n] == ':')
			return true;
	return false;
}

/* Sets the handle up for one attempt; the header list is the caller's to
 * free after the transfer. */
static int setup(struct xfer *x, struct curl_slist **hl, char *errbuf)
{
	const struct cairn_http_request *rq = x->rq;
	const struct cairn_http_opts *o = &x->c->o;
	CURL *h = x->h;
	struct curl_slist *l = NULL, *t;
	char line[96];

	curl_easy_reset(h);
	/* Threads: no SIGALRM-based DNS timeouts. */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_URL, rq->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, o->allow_http ? "http,https" : "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SHARE, x->c->share);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cairn/0.1");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)o->stall_seconds);
	/* The stall detector averages over a few seconds: small requests that
	 * want a firm limit (alerts' webhooks) set one. */
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)o->attempt_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L << 10);
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L << 10);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);

	const char *m = rq->method;
	bool body = false;
	if (rq->body_len && rq->body_len <= SMALL_BODY) {
		/* Small bodies go out with the headers, in one write and with
		 * no "Expect: 100-continue" (which libcurl otherwise sends with
		 * every PUT): a separate tiny body segment meets the server's
		 * delayed ACK, 40 ms per request. */
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		if (strcmp(m, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
		if (!has_header(rq, "Content-Type")) {
			if (!(t = curl_slist_append(l, "Content-Type: application/octet-stream")))
				goto oom;
			l = t;
		}
	} else if (!strcmp(m, "GET")) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(m, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(m, "PUT")) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
		body = true;
	} else if (!strcmp(m, "POST")) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		body = true;
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
		if (rq->body_len) {
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
			body = true;
		}
	}
	if (body) {
		/* No waiting for "100 Continue" before a large body: an error
		 * reply still stops the upload.  (Removing the header with
		 * "Expect:" is not possible: libcurl 7.88 signs the empty
		 * header and the server then rejects the signature.) */
		curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
	}
	if (rq->aws_sigv4) {
		curl_easy_setopt(h, CURLOPT_AWS_SIGV4, rq->aws_sigv4);
		curl_easy_setopt(h, CURLOPT_USERNAME, rq->username ? rq->username : "");
		curl_easy_setopt(h, CURLOPT_PASSWORD, rq->password ? rq->password : "");
	}

	for (size_t i = 0; rq->headers && rq->headers[i]; i++) {
		if (!(t = curl_slist_append(l, rq->headers[i])))
			goto oom;
		l = t;
	}
	if (rq->range) {
		if (rq->range_last == CAIRN_HTTP_RANGE_END)
			snprintf(line, sizeof(line), "Range: bytes=%" PRIu64 "-", rq->range_first);
		else
			snprintf(line, sizeof(line), "Range: bytes=%" PRIu64 "-%" PRIu64, rq->range_first,
				 rq->range_last);
		if (!(t = curl_slist_append(l, line)))
			goto oom;
		l = t;
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
	*hl = l;
	return 0;
oom:
	curl_slist_free_all(l);
	return cairn_error_nomem();
}

/* "host:port" of a URL, for messages: the server an operator looks for,
 * without the path or query (which may be long, or carry a token). */
static void server_of(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://");
	bool tls = strncasecmp(url, "https://", 8) == 0;
	p = p ? p + 3 : url;
	size_t n = strcspn(p, "/?#");
	const char *at = memchr(p, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	const char *colon = NULL;
	for (size_t i = 0; i < n; i++)
		if (p[i] == ':')
			colon = p + i;
		else if (p[i] == ']')
			colon = NULL; /* an IPv6 address's colons */
	snprintf(out, size, "%.*s%s", (int)n, p, colon ? "" : tls ? ":443" : ":80");
}

/* The most bytes of a 2xx body rq takes (http.h out_max). */
static uint64_t body_max(const struct cairn_http_request *rq)
{
	uint64_t m = rq->out_max ? rq->out_max : UINT64_MAX;
	if (rq->range && rq->range_last != CAIRN_HTTP_RANGE_END && rq->range_last >= rq->range_first)
		m = MIN(m, rq->range_last - rq->range_first + 1);
	return m;
}

static uint64_t jitter_random(void)
{
	static _Thread_local uint64_t s;
	if (!s) {
		if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s) || !s) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			s = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&s;
			s |= 1;
		}
	}
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int cairn_http_perform(struct cairn_http_client *c, const struct cairn_http_request *rq,
		       struct cairn_http_response *rs)
{
	char errbuf[CURL_ERROR_SIZE];
	const char *shown = rq->log_url ? rq->log_url : rq->url;

	cairn_http_response_free(rs);
	if (url_is_http(rq->url) && !c->o.allow_http)
		return cairn_error_set(CAIRN_EINVAL,
				       "refusing plain http:// URL %s: TLS is required unless http is asked for",
				       shown);

	double t0 = cairn_now();
	for (unsigned attempt = 1;; attempt++) {
		rs->attempts = attempt;
		rs->status = 0;
		cairn_buf_clear(&rs->err_body);
		for (int i = 0; i < CAIRN_HTTP_MAX_WANT; i++) {
			free(rs->headers[i]);
			rs->headers[i] = NULL;
		}
		if (rq->out)
			cairn_buf_clear(rq->out);

		CURL *h = acquire(c);
		if (!h)
			return cairn_error_set(CAIRN_ENOMEM, "out of memory (curl handle)");
		struct xfer x = { .c = c, .rq = rq, .rs = rs, .h = h, .max = body_max(rq) };
		struct curl_slist *hl = NULL;
		errbuf[0] = 0;
		double ta = cairn_now();
		/* Small bodies bypass on_read: their tokens are taken here. */
		if (c->limited && rq->body_len && rq->body_len <= SMALL_BODY)
			cairn_ratelimit_take(&c->rl, rq->body_len);
		int r = setup(&x, &hl, errbuf);
		CURLcode cc = r < 0 ? CURLE_OUT_OF_MEMORY : curl_easy_perform(h);
		long st = status_now(&x);
		curl_off_t ul = 0, dl = 0;
		curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &ul);
		curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &dl);
		count_progress(&x, dl, ul);
		/* The handle keeps pointers to our stack; detach before reuse. */
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
		curl_slist_free_all(hl);
		/* A server that refuses a request before reading its body may
		 * leave the body in the connection, where it would be parsed
		 * as the next request (Ceph RGW answers that one 405): such a
		 * connection is closed, not reused. */
		bool keep = cc == CURLE_OK && (rq->body_len == 0 || is_2xx(st));
		release(c, h, keep);
		atomic_fetch_add(&c->requests, 1);

		if (r < 0 || x.oom)
			return cairn_error_set(CAIRN_ENOMEM, "%s %s: out of memory", rq->method, shown);
		/* Asking again would get the same: the object is not what the
		 * caller expects, or the server ignores the range. */
		if (x.too_big) {
			if (rq->out)
				cairn_buf_clear(rq->out);
			if (x.announced && x.announced != UINT64_MAX)
				return cairn_error_set(CAIRN_EIO,
						       "%s %s: the server sends %" PRIu64 " bytes, more than the %" PRIu64
						       " asked for",
						       rq->method, shown, x.announced, x.max);
			return cairn_error_set(CAIRN_EIO, "%s %s: the server sent more than the %" PRIu64 " bytes asked for",
					       rq->method, shown, x.max);
		}

		if (cc == CURLE_ABORTED_BY_CALLBACK && cairn_cancel_check())
			return cairn_error_set(CAIRN_ECANCELED, "interrupted");
		bool retry;
		char why[CURL_ERROR_SIZE + 128];
		if (cc != CURLE_OK) {
			/* Not TLS: every attempt would get the same answer. */
			bool plain = cairn_http_not_tls(cc, errbuf);
			retry = !plain && cairn_http_curl_retryable(cc);
			snprintf(why, sizeof(why), "%s%s", errbuf[0] ? errbuf : curl_easy_strerror(cc),
				 plain ? " (the server does not speak TLS there: if it serves plain HTTP, "
					 "give the endpoint as http://)"
				       : "");
			cairn_log_debug("http: %s %s: %s (%.3f s)", rq->method, shown, why, cairn_now() - ta);
		} else {
			rs->status = st;
			cairn_log_debug("http: %s %s -> %ld (%.3f s)", rq->method, shown, st, cairn_now() - ta);
			/* HTTP status 501 (the server lacks the method) and 505 will not change. */
			retry = (st >= 500 && st != 501 && st != 505) || st == 429 ||
				(rq->retry_fn && rq->retry_fn(st, &rs->err_body, rq->ud));
			if (!retry)
				return 0;
			snprintf(why, sizeof(why), "HTTP status %ld", st);
		}

		double elapsed_ms = (cairn_now() - t0) * 1000;
		uint64_t wait = cairn_http_backoff_ms(attempt, c->o.backoff_base_ms, c->o.backoff_cap_ms,
						      jitter_random());
		if (x.retry_after_ms > wait)
			wait = MIN(x.retry_after_ms, (uint64_t)c->o.backoff_cap_ms);
		/* No retries once interrupted: what runs now is clean-up. */
		if (!retry || attempt >= c->o.max_attempts || elapsed_ms + (double)wait > c->o.max_retry_ms ||
		    cairn_cancel_check()) {
			if (retry)
				atomic_fetch_add(&c->failures, 1);
			if (cc == CURLE_OK)
				return 0; /* a retryable status, exhausted: the caller maps it */
			if (cairn_http_stalled(cc, errbuf)) {
				/* libcurl's words name neither the server nor the knob. */
				char server[256];
				server_of(shown, server, sizeof(server));
				return cairn_error_set(CAIRN_ENET,
						       "%s %s: the server %s stopped answering (nothing for %u s, the "
						       "limit CAIRN_HTTP_STALL_SECONDS sets); cairn waited %.1f s in "
						       "all, over %u attempt%s",
						       rq->method, shown, server, c->o.stall_seconds, cairn_now() - t0,
						       attempt, attempt > 1 ? "s" : "");
			}
			if (attempt > 1)
				return cairn_error_set(CAIRN_ENET, "%s %s: %s (gave up after %u attempts in %.1f s)",
						       rq->method, shown, why, attempt, cairn_now() - t0);
			return cairn_error_set(CAIRN_ENET, "%s %s: %s", rq->method, shown, why);
		}
		cairn_log_debug("http: %s %s: %s; retry %u of %u in %" PRIu64 " ms", rq->method, shown, why,
				attempt, c->o.max_attempts - 1, wait);
		atomic_fetch_add(&c->retries, 1);
		sleep_ms(wait);
	}
}
