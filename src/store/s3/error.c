/* Failed replies -> CAIRN_E* codes and one clear line.
 *
 * The S3 error code decides where it is known (the auth failures first,
 * whatever status they come with), the HTTP status otherwise.  Messages
 * name the operation, the object or bucket, the endpoint and the cause;
 * the only credential they may name is the access key id, which is not a
 * secret (cloud consoles and `cairn cred list` show it). */
#include "store/s3/s3.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>

static bool is(const char *code, const char *want)
{
	return !strcmp(code, want);
}

int cairn_s3_error_map(const struct cairn_s3_config *cfg, const char *uri, const char *op, const char *key,
		       long status, unsigned attempts, const struct cairn_s3_error *e)
{
	const char *code = e ? e->code : "";
	const char *msg = e ? e->message : "";
	const char *ep = cfg->endpoint;
	struct cairn_httpstore_what w;

	cairn_httpstore_what(&w, key, "bucket", cfg->bucket, code, msg, attempts);

	/* Credentials: whatever the status. */
	if (is(code, "SignatureDoesNotMatch"))
		return cairn_error_set(CAIRN_EAUTH,
				       "%s rejected the request signature: the secret key is wrong for access key "
				       "'%s' (SignatureDoesNotMatch)",
				       ep, cfg->access_key);
	if (is(code, "InvalidAccessKeyId"))
		return cairn_error_set(CAIRN_EAUTH, "%s does not know access key '%s' (InvalidAccessKeyId)", ep,
				       cfg->access_key);
	if (is(code, "RequestTimeTooSkewed"))
		return cairn_error_set(CAIRN_EAUTH,
				       "%s rejected the request time: this host's clock is off (RequestTimeTooSkewed)",
				       ep);
	if (is(code, "ExpiredToken") || is(code, "InvalidToken") || is(code, "TokenRefreshRequired"))
		return cairn_error_set(CAIRN_EAUTH, "%s rejected the session token (%s)", ep, code);
	if (is(code, "AuthorizationHeaderMalformed") && e->region[0])
		return cairn_error_set(CAIRN_EINVAL,
				       "bucket %s is in region '%s', not '%s': add ?region=%s to the repository URI",
				       cfg->bucket, e->region, cfg->region, e->region);
	if (is(code, "NoSuchBucket") || (status == 404 && !key && !*code))
		return cairn_error_set(CAIRN_ENOTREPO, "bucket %s does not exist at %s ('cairn init' creates it)",
				       cfg->bucket, ep);
	if (is(code, "PermanentRedirect") || is(code, "TemporaryRedirect") || status == 301 || status == 307)
		return cairn_error_set(CAIRN_EINVAL,
				       "bucket %s is served by another region or endpoint%s%s: set ?region= or "
				       "?endpoint= in the repository URI",
				       cfg->bucket, e && e->endpoint[0] ? " " : "", e ? e->endpoint : "");
	if (is(code, "EntityTooSmall"))
		return cairn_error_set(CAIRN_EINVAL,
				       "%s refused a multipart part of %s as too small: use a larger ?part_size= "
				       "(5M for AWS and GCS) (EntityTooSmall)",
				       ep, key ? key : "?");
	if (is(code, "InvalidBucketName"))
		return cairn_error_set(CAIRN_EINVAL, "'%s' is not a valid bucket name for %s%s", cfg->bucket, ep,
				       w.det);
	if (is(code, "BucketAlreadyExists"))
		return cairn_error_set(CAIRN_EPERM, "bucket name %s is already taken by another account at %s",
				       cfg->bucket, ep);

	if (status == 404 && is(code, "NoSuchUpload"))
		return cairn_error_set(CAIRN_ENOTFOUND, "%s of %s in %s: the multipart upload is gone%s", op, w.obj,
				       uri, w.det);
	if (status == 403)
		return cairn_error_set(CAIRN_EPERM, "%s denied %s of %s in %s%s", ep, op, w.obj, uri,
				       *w.det ? w.det : " (AccessDenied)");
	return cairn_httpstore_status_error(ep, uri, op, status, &w);
}

bool cairn_s3_retryable(long status, const struct cairn_buf *err_body, void *ud)
{
	(void)ud;
	if (status != 400 && status != 409)
		return false;
	struct cairn_s3_error e;
	if (cairn_s3_parse_error(err_body->data, err_body->len, &e) < 0)
		return false;
	/* RequestTimeout: the server gave up waiting for our body (a stall on
	 * the way); OperationAborted: a conflicting operation on the same
	 * bucket or key was in progress.  Both say "try again". */
	return is(e.code, "RequestTimeout") || is(e.code, "OperationAborted");
}

/* The reply of a HEAD has no body to tell why it failed: ask again with a
 * GET that carries one (a one-byte range of the object, or a one-key
 * listing of the bucket). */
static int explain(struct s3_store *s, const char *key, struct cairn_http_response *rs)
{
	struct s3_call c = { .method = "GET", .key = key };
	if (key) {
		c.range = true;
		c.first = 0;
		c.last = 0;
	} else {
		c.query = "list-type=2&max-keys=1";
	}
	return cairn_s3_call(s, &c, rs);
}

int cairn_s3_fail(struct s3_store *s, const char *op, const char *key, const struct cairn_http_response *rs)
{
	struct cairn_s3_error e;
	long status = rs->status;
	unsigned attempts = rs->attempts;

	if (status == 404 && key && atomic_load(&s->bucket_seen))
		return cairn_s3_error_map(&s->cfg, s->base.uri, op, key, status, attempts, NULL);
	int parsed = cairn_s3_parse_error(rs->err_body.data, rs->err_body.len, &e);
	if (parsed == 0 && is(e.code, "NoSuchKey"))
		atomic_store(&s->bucket_seen, true);
	if (parsed == 0 || rs->err_body.len ||
	    status == 412 || status == 416 || status >= 500 || status == 429 || status < 400) {
		/* A body that is not S3 XML (a proxy's HTML page) still maps by
		 * its status; e is zeroed then. */
		return cairn_s3_error_map(&s->cfg, s->base.uri, op, key, status, attempts, &e);
	}
	_cleanup_(cairn_http_response_freep) struct cairn_http_response why = CAIRN_HTTP_RESPONSE_INIT;
	if (explain(s, key, &why) == 0 && why.status >= 400 &&
	    cairn_s3_parse_error(why.err_body.data, why.err_body.len, &e) == 0) {
		if (is(e.code, "NoSuchKey"))
			atomic_store(&s->bucket_seen, true);
		return cairn_s3_error_map(&s->cfg, s->base.uri, op, key, status, attempts, &e);
	}
	return cairn_s3_error_map(&s->cfg, s->base.uri, op, key, status, attempts, NULL);
}
