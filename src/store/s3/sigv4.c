/* AWS Signature Version 4 computed here, for the one request libcurl 7.88
 * signs wrongly: UploadPartCopy (copy.c), whose headers x-amz-copy-source
 * and x-amz-copy-source-range have names that are prefixes of each other.
 * libcurl sorts the canonical headers as whole "name:value" lines, and
 * '-' sorts before ':', so it puts x-amz-copy-source-range first where
 * SigV4 sorts by name (curl 8.10 fixed it, curl/curl#14370).  Every other
 * request keeps CURLOPT_AWS_SIGV4 (request.c).
 *
 * The canonical request is made from exactly the headers sent (Host
 * included: it is sent explicitly so that what is signed is what goes
 * out), the URL's path as request.c encodes it (already canonical) and
 * the caller's query string (already sorted and encoded).
 */
#include "store/s3/s3.h"
#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_HDR 12

static int hmac(const void *key, size_t klen, const char *data, uint8_t out[32])
{
	unsigned int n = 32;
	if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)data, strlen(data), out, &n) || n != 32)
		return cairn_error_set(CAIRN_ECRYPTO, "HMAC-SHA256 failed");
	return 0;
}

struct hline {
	char name[64];
	const char *value;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct hline *)a)->name, ((const struct hline *)b)->name);
}

static int add(struct cairn_buf *b, const char *s)
{
	return cairn_buf_append(b, s, strlen(s));
}

int cairn_s3_sigv4(const char *access_key, const char *secret, const char *region, const char *method,
		   const char *path, size_t path_len, const char *query, const char *const *headers,
		   const char *payload, const char *date, char *ret, size_t size)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf creq = CAIRN_BUF_INIT, sts = CAIRN_BUF_INIT,
						    names = CAIRN_BUF_INIT;
	char day[9], hex[65], scope[128];
	struct hline h[MAX_HDR];
	uint8_t k[32], digest[32];
	size_t n = 0;
	int r = 0;

	if (strlen(date) != 16)
		return cairn_error_set(CAIRN_EINVAL, "bad SigV4 date '%s'", date);
	memcpy(day, date, 8);
	day[8] = 0;

	/* Canonical headers: names lower-cased, values trimmed, by name. */
	for (size_t i = 0; headers[i]; i++) {
		const char *colon = strchr(headers[i], ':');
		if (!colon || n == MAX_HDR || (size_t)(colon - headers[i]) >= sizeof(h[n].name))
			return cairn_error_set(CAIRN_EINVAL, "bad or too many request headers to sign");
		size_t nl = (size_t)(colon - headers[i]);
		for (size_t j = 0; j < nl; j++)
			h[n].name[j] = (char)tolower((unsigned char)headers[i][j]);
		h[n].name[nl] = 0;
		h[n].value = colon + 1;
		while (*h[n].value == ' ')
			h[n].value++;
		n++;
	}
	qsort(h, n, sizeof(h[0]), by_name);

	if ((r = add(&creq, method)) >= 0 && (r = add(&creq, "\n")) >= 0 &&
	    (r = cairn_buf_append(&creq, path, path_len)) >= 0 && (r = add(&creq, "\n")) >= 0 &&
	    (r = add(&creq, query ? query : "")) >= 0)
		r = add(&creq, "\n");
	for (size_t i = 0; r >= 0 && i < n; i++)
		if ((r = add(&creq, h[i].name)) >= 0 && (r = add(&creq, ":")) >= 0 && (r = add(&creq, h[i].value)) >= 0)
			r = add(&creq, "\n");
	if (r >= 0)
		r = add(&creq, "\n");
	/* The signed header names also go into Authorization. */
	for (size_t i = 0; r >= 0 && i < n; i++)
		if (i == 0 || (r = add(&names, ";")) >= 0)
			r = add(&names, h[i].name);
	if (r >= 0)
		r = cairn_buf_append_u8(&names, 0);
	if (r >= 0 && (r = add(&creq, (const char *)names.data)) >= 0 && (r = add(&creq, "\n")) >= 0)
		r = add(&creq, payload);
	if (r < 0)
		return cairn_error_nomem();

	if ((r = cairn_sha256(creq.data, creq.len, digest)) < 0)
		return r;
	cairn_hex_encode(digest, sizeof(digest), hex);
	snprintf(scope, sizeof(scope), "%s/%s/s3/aws4_request", day, region);
	if (add(&sts, "AWS4-HMAC-SHA256\n") < 0 || add(&sts, date) < 0 || add(&sts, "\n") < 0 || add(&sts, scope) < 0 ||
	    add(&sts, "\n") < 0 || add(&sts, hex) < 0 || cairn_buf_append_u8(&sts, 0) < 0)
		return cairn_error_nomem();

	/* The signing key: an HMAC chain from "AWS4" + secret. */
	size_t slen = strlen(secret);
	_cleanup_free_ char *k0 = malloc(slen + 5);
	if (!k0)
		return cairn_error_nomem();
	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, secret, slen + 1);
	r = hmac(k0, slen + 4, day, k);
	cairn_wipe(k0, slen + 4);
	if (r < 0 || (r = hmac(k, 32, region, k)) < 0 || (r = hmac(k, 32, "s3", k)) < 0 ||
	    (r = hmac(k, 32, "aws4_request", k)) < 0 || (r = hmac(k, 32, (const char *)sts.data, digest)) < 0) {
		cairn_wipe(k, sizeof(k));
		return r;
	}
	cairn_wipe(k, sizeof(k));
	cairn_hex_encode(digest, sizeof(digest), hex);
	if ((size_t)snprintf(ret, size, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
			     access_key, scope, (const char *)names.data, hex) >= size)
		return cairn_error_set(CAIRN_EINVAL, "access key too long to sign with");
	return 0;
}

int cairn_s3_call_signed(struct s3_store *s, const struct s3_call *c, struct cairn_http_response *rs)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf url = CAIRN_BUF_INIT;
	char date[32], host_h[300], date_h[48], sha_h[96], auth_h[600];
	_cleanup_free_ char *token_h = NULL;
	const char *send[MAX_HDR + 2];
	size_t ns = 0;
	int r;

	if ((r = cairn_s3_url(&s->cfg, c->key, c->query, &url)) < 0)
		return r;
	const char *u = (const char *)url.data;
	const char *host = strstr(u, "://") + 3;
	const char *path = strchr(host, '/');
	const char *q = strchr(path, '?');
	size_t path_len = q ? (size_t)(q - path) : strlen(path);

	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
	const char *payload = c->sha256 ? c->sha256 : (c->len || c->body ? "UNSIGNED-PAYLOAD" : EMPTY_SHA256);

	snprintf(host_h, sizeof(host_h), "Host: %.*s", (int)(path - host), host);
	snprintf(date_h, sizeof(date_h), "x-amz-date: %s", date);
	snprintf(sha_h, sizeof(sha_h), "x-amz-content-sha256: %s", payload);
	send[ns++] = host_h;
	send[ns++] = date_h;
	send[ns++] = sha_h;
	if (s->cfg.session_token) {
		if (asprintf(&token_h, "x-amz-security-token: %s", s->cfg.session_token) < 0) {
			token_h = NULL;
			return cairn_error_nomem();
		}
		send[ns++] = token_h;
	}
	for (size_t i = 0; c->headers && c->headers[i]; i++) {
		if (ns + 1 >= MAX_HDR)
			return cairn_error_set(CAIRN_EINVAL, "too many request headers");
		send[ns++] = c->headers[i];
	}
	send[ns] = NULL;

	memcpy(auth_h, "Authorization: ", 15);
	if ((r = cairn_s3_sigv4(s->cfg.access_key, s->cfg.secret_key, s->cfg.region, c->method, path, path_len,
				c->query, send, payload, date, auth_h + 15, sizeof(auth_h) - 15)) < 0)
		return r;
	send[ns++] = auth_h;
	send[ns] = NULL;

	struct cairn_http_request rq = {
		.method = c->method,
		.url = u,
		.headers = send,
		.body = c->body,
		.body_len = c->len,
		.out = c->out,
		.out_max = c->out_max,
		.want_headers = c->want,
		.retry_fn = cairn_s3_retryable,
	};
	r = cairn_http_perform(s->http, &rq, rs);
	if (token_h)
		cairn_wipe(token_h, strlen(token_h));
	return r;
}
