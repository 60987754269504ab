/* Building and sending one S3 request.
 *
 * Addressing: path-style puts the bucket in the path
 * (scheme://host[/path]/BUCKET/KEY), virtual-hosted in the host name
 * (scheme://BUCKET.host/KEY); config.c decides which.  The object's full
 * key (store prefix + key) is percent-encoded keeping '/', which is the
 * canonical URI SigV4 signs for S3.  Query strings arrive already in
 * canonical form (sorted, encoded) from the callers, because libcurl 7.88
 * signs the query as it finds it in the URL.
 */
#include "store/s3/s3.h"
#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>

/* SHA-256 of the empty string: the payload hash of bodiless requests. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int oom(void)
{
	return cairn_error_nomem();
}

static int add(struct cairn_buf *b, const char *s)
{
	return cairn_buf_append(b, s, strlen(s));
}

int cairn_s3_url(const struct cairn_s3_config *cfg, const char *key, const char *query, struct cairn_buf *out)
{
	cairn_buf_clear(out);
	int r = add(out, cfg->scheme);
	if (r >= 0)
		r = add(out, "://");
	if (r >= 0 && cfg->virtual_host && (r = add(out, cfg->bucket)) >= 0)
		r = add(out, ".");
	if (r >= 0)
		r = add(out, cfg->host);
	if (r >= 0)
		r = add(out, cfg->path);
	if (r >= 0 && !cfg->virtual_host && (r = add(out, "/")) >= 0)
		r = add(out, cfg->bucket);
	/* A virtual-hosted bucket is the root path "/". */
	if (r >= 0 && !key && cfg->virtual_host)
		r = add(out, "/");
	if (r < 0)
		return oom();
	return cairn_httpstore_url_end(out, cfg->prefix, key, query);
}

int cairn_s3_call(struct s3_store *s, const struct s3_call *c, struct cairn_http_response *rs)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf url = CAIRN_BUF_INIT;
	const char *hdr[24];
	char sha[96];
	_cleanup_free_ char *token = NULL;
	size_t n = 0;
	int r;

	if ((r = cairn_s3_url(&s->cfg, c->key, c->query, &url)) < 0)
		return r;
	/* libcurl 7.88 signs an upload's payload as if it were empty unless
	 * the hash is given: always give it. */
	snprintf(sha, sizeof(sha), "x-amz-content-sha256: %s",
		 c->sha256 ? c->sha256 : (c->len || c->body ? "UNSIGNED-PAYLOAD" : EMPTY_SHA256));
	hdr[n++] = sha;
	if (s->cfg.session_token) {
		if (asprintf(&token, "x-amz-security-token: %s", s->cfg.session_token) < 0) {
			token = NULL;
			return oom();
		}
		hdr[n++] = token;
	}
	for (size_t i = 0; c->headers && c->headers[i]; i++) {
		if (n + 2 > ARRAY_SIZE(hdr))
			return cairn_error_set(CAIRN_EINVAL, "too many request headers");
		hdr[n++] = c->headers[i];
	}
	hdr[n] = NULL;

	struct cairn_http_request rq = {
		.method = c->method,
		.url = (const char *)url.data,
		.headers = hdr,
		.body = c->body,
		.body_len = c->len,
		.range = c->range,
		.range_first = c->first,
		.range_last = c->last,
		.aws_sigv4 = s->sigv4,
		.username = s->cfg.access_key,
		.password = s->cfg.secret_key,
		.out = c->out,
		.out_max = c->out_max,
		.want_headers = c->want,
		.retry_fn = cairn_s3_retryable,
	};
	r = cairn_http_perform(s->http, &rq, rs);
	if (token)
		cairn_wipe(token, strlen(token));
	if (r < 0)
		return r;
	if (rs->status >= 200 && rs->status < 300)
		atomic_store(&s->bucket_seen, true);
	return 0;
}
