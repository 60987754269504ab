/* Retry policy of the HTTP client: which failures are transient, how long
 * to wait before the next attempt, and the bounds. */
#include "http/http.h"
#include "util/log.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t cairn_http_backoff_ms(unsigned retry, unsigned base_ms, unsigned cap_ms, uint64_t rnd)
{
	if (retry == 0)
		return 0;
	/* base * 2^(retry-1), saturating at cap without overflowing. */
	uint64_t ceil = base_ms;
	for (unsigned i = 1; i < retry && ceil < cap_ms; i++)
		ceil *= 2;
	if (ceil > cap_ms)
		ceil = cap_ms;
	/* Full jitter: spreading the retries of many clients over the whole
	 * window is what keeps a throttled server from seeing them in waves. */
	return rnd % (ceil + 1);
}

bool cairn_http_curl_retryable(int code)
{
	switch ((CURLcode)code) {
	case CURLE_COULDNT_CONNECT:     /* refused: a restarting server */
	case CURLE_SEND_ERROR:          /* reset while sending */
	case CURLE_RECV_ERROR:          /* reset while receiving */
	case CURLE_GOT_NOTHING:         /* closed without a reply */
	case CURLE_PARTIAL_FILE:        /* body shorter than announced */
	case CURLE_OPERATION_TIMEDOUT:  /* connect timeout or stall */
	case CURLE_SSL_CONNECT_ERROR:   /* handshake cut short */
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		/* Not retried: unresolvable hosts, certificate failures, bad
		 * URLs, our own callbacks failing (out of memory): another
		 * attempt would fail the same way, only later. */
		return false;
	}
}

bool cairn_http_not_tls(int code, const char *errbuf)
{
	/* A reset in the middle of a handshake is CURLE_SSL_CONNECT_ERROR
	 * too, and worth another attempt; only the text tells them apart. */
	return (CURLcode)code == CURLE_SSL_CONNECT_ERROR && errbuf && strstr(errbuf, "wrong version number");
}

bool cairn_http_stalled(int code, const char *errbuf)
{
	/* CURLE_OPERATION_TIMEDOUT is a connect timeout too; the stall
	 * detector (CURLOPT_LOW_SPEED_*) is the one that says "too slow". */
	return (CURLcode)code == CURLE_OPERATION_TIMEDOUT && errbuf && strstr(errbuf, "too slow");
}

/* e is the variable name's value (NULL: unset). */
static unsigned env_uint(const char *name, const char *e, unsigned dflt, unsigned max)
{
	if (!e || !*e)
		return dflt;
	char *end;
	errno = 0;
	unsigned long v = strtoul(e, &end, 10);
	if (errno || *end || v == 0 || v > max || !isdigit((unsigned char)e[0])) {
		/* Not fatal (the defaults are safe), but never silent; the value
		 * is not echoed, as it may hold anything, newlines too. */
		cairn_log_warn("ignoring %s: want a whole number from 1 to %u; using %u", name, max, dflt);
		return dflt;
	}
	return (unsigned)v;
}

void cairn_http_opts_finish(struct cairn_http_opts *o)
{
	static const struct cairn_http_env none;
	const struct cairn_http_env *e = o->env ? o->env : &none;

	if (!o->connections)
		o->connections = 8;
	if (!o->max_attempts)
		o->max_attempts = env_uint("CAIRN_HTTP_MAX_ATTEMPTS", e->max_attempts, 8, 100);
	if (!o->max_retry_ms)
		o->max_retry_ms = env_uint("CAIRN_HTTP_RETRY_SECONDS", e->retry_seconds, 120, 86400) * 1000u;
	if (!o->stall_seconds)
		o->stall_seconds = env_uint("CAIRN_HTTP_STALL_SECONDS", e->stall_seconds, 60, 86400);
	if (!o->backoff_base_ms)
		o->backoff_base_ms = env_uint("CAIRN_HTTP_BACKOFF_MS", e->backoff_ms, 100, 60000);
	if (!o->backoff_cap_ms)
		o->backoff_cap_ms = 10000;
	if (o->backoff_cap_ms < o->backoff_base_ms)
		o->backoff_cap_ms = o->backoff_base_ms;
	if (!o->connect_timeout_ms)
		o->connect_timeout_ms = env_uint("CAIRN_HTTP_CONNECT_TIMEOUT_MS", e->connect_timeout_ms, 10000, 600000);
}
