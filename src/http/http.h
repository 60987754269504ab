/* The HTTP transfer layer (docs/design.md §4: beside util/, below store/): one
 * libcurl client shared by the object-store drivers (S3, GCS and Azure
 * Blob).  It knows nothing of any provider: a driver builds the
 * URL, the headers and the body, names the response headers it wants, and
 * maps the status and error body to CAIRN_E* codes itself.
 *
 * What the client adds to a plain curl_easy_perform():
 *  - a pool of easy handles, so connections (keep-alive), DNS results and
 *    TLS sessions are reused; at most `connections` requests run at once,
 *    callers beyond that wait for a free slot;
 *  - retries with exponential backoff and full jitter on 5xx (but 501
 *    and 505, which will not change), 429,
 *    connection resets, refused connections and timeouts (plus whatever
 *    the driver's retry_fn adds, e.g. S3's 400 RequestTimeout), bounded both
 *    in attempts and in total time;
 *  - timeouts: connecting, and a stall detector (no byte moved for
 *    stall_seconds aborts the attempt, which is then retried);
 *  - one token-bucket upload limit over every thread of the client;
 *  - counters of what really went over the wire, retries included.
 *
 * TLS: certificates and host names are always verified; plain http:// is
 * refused unless the client was made with allow_http.
 *
 * Thread-safe: one client serves every thread of a store.  Secrets (e.g.
 * the password of CURLOPT_AWS_SIGV4) are passed to curl only, never logged
 * or put in a message; a URL that holds one is shown as the request's
 * log_url.
 */
#ifndef CAIRN_HTTP_HTTP_H
#define CAIRN_HTTP_HTTP_H

#include "util/buf.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The CAIRN_HTTP_* environment variables as written (NULL or "" = unset),
 * read once at start by src/app/settings.c: for tests and for operators
 * on bad links.  Checked where they are used, with a warning about a bad
 * one (the default is used instead). */
struct cairn_http_env {
	const char *max_attempts;       /* CAIRN_HTTP_MAX_ATTEMPTS */
	const char *retry_seconds;      /* CAIRN_HTTP_RETRY_SECONDS */
	const char *stall_seconds;      /* CAIRN_HTTP_STALL_SECONDS */
	const char *backoff_ms;         /* CAIRN_HTTP_BACKOFF_MS */
	const char *connect_timeout_ms; /* CAIRN_HTTP_CONNECT_TIMEOUT_MS */
	const char *stats;              /* CAIRN_HTTP_STATS: a file */
};

struct cairn_http_opts {
	unsigned connections;        /* requests in flight at once; 0 = 8 */
	uint64_t limit_upload;       /* request-body bytes per second over all threads; 0 = unlimited */
	bool allow_http;             /* accept plain http:// URLs */
	unsigned connect_timeout_ms; /* 0 = 10000 */
	unsigned stall_seconds;      /* abort an attempt that moves no byte this long; 0 = 60 */
	unsigned max_attempts;       /* attempts per request, first included; 0 = 8 */
	unsigned max_retry_ms;       /* no new attempt after this long since the first; 0 = 120000 */
	unsigned backoff_base_ms;    /* first retry waits up to this; 0 = 100 */
	unsigned backoff_cap_ms;     /* no wait longer than this; 0 = 10000 */
	unsigned attempt_timeout_ms; /* an attempt not done in this long is aborted (and retried,
				      * as a stall is); 0 = no limit (bodies of any size) */
	/* Where unset fields look before the defaults, and where the
	 * counters go when the client is freed (stats); NULL: none. */
	const struct cairn_http_env *env;
};

/* Fills unset (zero) fields with the defaults above, after o->env's
 * values (fields already set win over them). */
void cairn_http_opts_finish(struct cairn_http_opts *o);

struct cairn_http_client;

/* NULL once libcurl is loaded (http/curl_load.c: cairn loads it on first
 * use); else why it could not be. */
const char *cairn_curl_load_error(void);

/* o may be NULL (defaults).  The options are copied. */
int cairn_http_client_new(const struct cairn_http_opts *o, struct cairn_http_client **ret);
/* Accepts NULL.  With env.stats (CAIRN_HTTP_STATS=FILE) set, appends the
 * counters as one JSON line to FILE first (benchmarks, tests). */
void cairn_http_client_free(struct cairn_http_client *c);

#define CAIRN_HTTP_MAX_WANT 4
/* range_last meaning "to the end of the object". */
#define CAIRN_HTTP_RANGE_END UINT64_MAX

struct cairn_http_request {
	const char *method;          /* GET, HEAD, PUT, POST, DELETE */
	const char *url;             /* complete and already percent-encoded */
	/* The URL as messages and logs show it, when url carries a secret
	 * (an Azure SAS token in its query); NULL: url itself. */
	const char *log_url;
	const char *const *headers;  /* "Name: value" lines, NULL-terminated; may be NULL */
	const void *body;            /* request body (PUT, POST), borrowed; may be NULL if body_len is 0 */
	size_t body_len;
	bool range;                  /* send "Range: bytes=range_first-range_last" */
	uint64_t range_first, range_last; /* range_last may be CAIRN_HTTP_RANGE_END */

	/* Authentication done by curl: CURLOPT_AWS_SIGV4 ("aws:amz:REGION:s3")
	 * with username/password (set separately, so an access key may hold
	 * a ':'). */
	const char *aws_sigv4;
	const char *username, *password;

	/* Body of a 2xx reply goes here (cleared at every attempt); NULL
	 * discards it.  Other replies' bodies go to the response's err_body. */
	struct cairn_buf *out;
	/* The most bytes of a 2xx body the caller takes: a reply that
	 * announces or sends more fails the request (CAIRN_EIO, not retried)
	 * instead of growing out.  0: the range's length when a range with an
	 * end is asked for, else no limit. */
	uint64_t out_max;
	/* Response headers to capture (case-insensitive names), NULL-terminated,
	 * at most CAIRN_HTTP_MAX_WANT; may be NULL. */
	const char *const *want_headers;
	/* Replies the driver also wants retried (e.g. S3 400 RequestTimeout);
	 * may be NULL.  5xx (but 501 and 505) and 429 are always retried. */
	bool (*retry_fn)(long status, const struct cairn_buf *err_body, void *ud);
	void *ud;
};

struct cairn_http_response {
	long status;                 /* of the last attempt */
	unsigned attempts;           /* attempts made, >= 1 */
	struct cairn_buf err_body;   /* body of a non-2xx reply, at most 64 KiB kept */
	char *headers[CAIRN_HTTP_MAX_WANT]; /* values of want_headers, NULL when absent */
};

/* Zeroed response, ready for cairn_http_perform. */
#define CAIRN_HTTP_RESPONSE_INIT { 0 }
void cairn_http_response_free(struct cairn_http_response *rs);
static inline void cairn_http_response_freep(struct cairn_http_response *rs)
{
	cairn_http_response_free(rs);
}

/* Performs rq, retrying as described at the top; rs is reset first.
 * Returns 0 when a reply arrived (any status: the caller maps it; a 5xx
 * or 429 here means the retries are exhausted), CAIRN_ENET when no reply
 * did (connection refused, reset, timeout, TLS failure, after the retries)
 * with a message naming the method, URL and cause, CAIRN_EIO for a 2xx
 * body longer than the request's out_max (or range), CAIRN_EINVAL for a
 * URL the client refuses (http:// without allow_http), CAIRN_ENOMEM. */
int cairn_http_perform(struct cairn_http_client *c, const struct cairn_http_request *rq,
		       struct cairn_http_response *rs);

/* What went over the wire, every attempt counted: bytes_sent and
 * bytes_received are request and response body bytes as curl moved them,
 * updated while transfers run (progress can poll them). */
struct cairn_http_counters {
	uint64_t requests;       /* attempts made */
	uint64_t retries;        /* attempts that were repeats */
	uint64_t failures;       /* requests given up on (transport or retryable status) */
	uint64_t bytes_sent;
	uint64_t bytes_received;
};
void cairn_http_counters_get(struct cairn_http_client *c, struct cairn_http_counters *ret);

/* ---- pieces with no I/O, exposed for unit tests ---- */

/* Full-jitter exponential backoff (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): the wait before retry n (n = 1 for the first
 * retry) is uniform in [0, min(cap, base * 2^(n-1))], drawn from rnd. */
uint64_t cairn_http_backoff_ms(unsigned retry, unsigned base_ms, unsigned cap_ms, uint64_t rnd);

/* Is a curl result (CURLcode value) a transient transport failure? */
bool cairn_http_curl_retryable(int curl_code);

/* Did an attempt end because the server sent nothing for stall_seconds
 * (libcurl's "Operation too slow"), rather than for another reason?
 * errbuf is curl's error text. */
bool cairn_http_stalled(int curl_code, const char *errbuf);

/* Did a TLS handshake get an answer that is not TLS at all (OpenSSL's
 * "wrong version number"), as from a plain-http server behind an
 * https:// URL?  errbuf is curl's error text. */
bool cairn_http_not_tls(int curl_code, const char *errbuf);

/* A token bucket shared by threads: `rate` bytes per second with a burst of
 * a quarter second (at least 16 KiB).  A taker may go into debt and then
 * waits until the debt is paid, so concurrent takers together never exceed
 * the rate over any longer interval. */
struct cairn_ratelimit {
	pthread_mutex_t lock;
	double rate;   /* bytes per second; 0 = unlimited */
	double burst;
	double tokens;
	double last;   /* time of the last refill, seconds */
};
void cairn_ratelimit_init(struct cairn_ratelimit *rl, uint64_t rate, double now);
void cairn_ratelimit_destroy(struct cairn_ratelimit *rl);
/* Takes n bytes' worth of tokens at time now and returns how long the
 * taker must wait (seconds, >= 0).  No clock inside: tests drive it. */
double cairn_ratelimit_reserve(struct cairn_ratelimit *rl, size_t n, double now);
/* reserve() at the monotonic clock, then sleeps the wait. */
void cairn_ratelimit_take(struct cairn_ratelimit *rl, size_t n);
/* The most a body read callback should hand to one take, so each wait is
 * short compared with the stall timeout. */
size_t cairn_ratelimit_piece(const struct cairn_ratelimit *rl);

/* Appends s[0..n) percent-encoded as RFC 3986 (and AWS SigV4) want:
 * unreserved characters A-Z a-z 0-9 - . _ ~ stay, '/' stays when
 * keep_slash, every other byte becomes %XX (upper-case hex). */
int cairn_http_append_encoded(struct cairn_buf *b, const char *s, size_t n, bool keep_slash);

#endif
