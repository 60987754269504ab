/* Object Lock (store.h lock_set, lock_until; format.h OBJECT LOCK).
 *
 * A bucket must have Object Lock enabled when it is created (S3 cannot
 * enable it later on every server, and it turns versioning on): create
 * asks for it with x-amz-bucket-object-lock-enabled, and an existing
 * bucket is checked with GET ?object-lock.  Puts then carry the mode and
 * the retain-until date, with the Content-MD5 S3 requires on such puts;
 * a multipart upload carries them on CreateMultipartUpload, its parts
 * the MD5.
 *
 * Deletes in a locked store are by version: a plain DELETE in a versioned
 * bucket only adds a delete marker and leaves the version (and its bytes)
 * behind for good.  So del asks HEAD for the current version and its
 * date, refuses one still retained without sending anything, and deletes
 * that version; older versions (a hold replaced by `cairn hold`) follow,
 * so the key is gone, not uncovered.  A missing key still gets a
 * DELETE ?versionId=null, which removes nothing and makes no marker, so
 * that a credential without delete permission is found out
 * (cairn_repo_may_delete) the same way as in an unlocked bucket.
 */
#include "store/s3/s3.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Versions of one key a delete removes at most (a hold replaced often has
 * as many; the rest wait for the next delete). */
#define DELETE_VERSIONS_MAX 64

int cairn_s3_lock_set(struct cairn_store *st, const struct cairn_store_lock *l)
{
	struct s3_store *s = to_s3(st);
	if (s->cfg.flavor == CAIRN_S3_FLAVOR_GCS)
		return cairn_error_set(CAIRN_EUNSUPPORTED,
				       "%s: object lock is S3's (Google Cloud Storage's retention is not reached "
				       "through its XML API)",
				       st->uri);
	if (l->seconds < 0)
		return cairn_error_set(CAIRN_EINVAL, "negative object lock retention");
	s->lock = *l;
	return 0;
}

static void iso8601(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

int64_t cairn_s3_parse_date(const char *v)
{
	struct tm tm = { 0 };
	int n = 0;
	if (!v || sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			 &tm.tm_min, &tm.tm_sec, &n) != 6 || n < 19)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	return t < 0 ? -1 : (int64_t)t;
}

int cairn_s3_md5_header(const void *data, size_t len, char out[64])
{
	unsigned char md5[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;
	if (EVP_Digest(len ? data : "", len, md5, &mlen, EVP_md5(), NULL) != 1)
		return cairn_error_set(CAIRN_ECRYPTO, "MD5 of a locked put failed");
	memcpy(out, "Content-MD5: ", 13);
	EVP_EncodeBlock((unsigned char *)out + 13, md5, (int)mlen);
	return 0;
}

int cairn_s3_lock_headers(struct s3_store *s, unsigned flags, const void *data, size_t len, bool md5,
			  struct cairn_s3_lock_hdrs *h, const char **hdr, size_t *n)
{
	if (s->lock.seconds <= 0 || (flags & CAIRN_PUT_NO_RETENTION))
		return 0;
	char *date = h->date;
	/* The server's clock judges the date: the real one, not a test's. */
	iso8601((int64_t)time(NULL) + s->lock.seconds, date, sizeof(h->date));
	snprintf(h->mode, sizeof(h->mode), "x-amz-object-lock-mode: %s",
		 s->lock.mode == CAIRN_LOCK_GOVERNANCE ? "GOVERNANCE" : "COMPLIANCE");
	snprintf(h->until, sizeof(h->until), "x-amz-object-lock-retain-until-date: %s", date);
	hdr[(*n)++] = h->mode;
	hdr[(*n)++] = h->until;
	if (md5) {
		int r = cairn_s3_md5_header(data, len, h->md5);
		if (r < 0)
			return r;
		hdr[(*n)++] = h->md5;
	}
	return 0;
}

int cairn_s3_lock_retention_put(struct s3_store *s, const char *key, const struct cairn_s3_lock_hdrs *h)
{
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	char body[256], md5[64];
	int r, n = snprintf(body, sizeof(body),
			    "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>%s</Mode>"
			    "<RetainUntilDate>%s</RetainUntilDate></Retention>",
			    s->lock.mode == CAIRN_LOCK_GOVERNANCE ? "GOVERNANCE" : "COMPLIANCE", h->date);
	if ((r = cairn_s3_md5_header(body, (size_t)n, md5)) < 0)
		return r;
	const char *hdr[] = { md5, "Content-Type: application/xml", NULL };
	struct s3_call c = { .method = "PUT", .key = key, .query = "retention=", .body = body, .len = (size_t)n,
			     .headers = hdr };
	if ((r = cairn_s3_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status == 200 || rs.status == 204)
		return 0;
	return cairn_s3_fail(s, "retention of", key, &rs);
}

int cairn_s3_lock_retain(struct s3_store *s, const char *key)
{
	struct cairn_s3_lock_hdrs h;
	const char *hdr[4];
	size_t n = 0;
	int r = cairn_s3_lock_headers(s, 0, NULL, 0, false, &h, hdr, &n);
	if (r < 0 || n == 0)
		return r;
	return cairn_s3_lock_retention_put(s, key, &h);
}

/* HEAD: the current version's id (NULL when the server has none) and
 * retain-until (0: none). */
static int head(struct s3_store *s, const char *key, char **ret_version, int64_t *ret_until)
{
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	static const char *const want[] = { "x-amz-object-lock-retain-until-date", "x-amz-version-id", NULL };
	int r;
	*ret_until = 0;
	if (ret_version)
		*ret_version = NULL;
	if ((r = cairn_s3_key_check(s, key)) < 0)
		return r;
	struct s3_call c = { .method = "HEAD", .key = key, .want = want };
	if ((r = cairn_s3_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status == 404)
		return CAIRN_ENOTFOUND;
	if (rs.status != 200)
		return cairn_s3_fail(s, "stat", key, &rs);
	if (rs.headers[0] && *rs.headers[0]) {
		int64_t t = cairn_s3_parse_date(rs.headers[0]);
		if (t < 0)
			return cairn_error_set(CAIRN_EIO, "%s: object %s has a retain-until date '%s' that does not parse",
					       s->base.uri, key, rs.headers[0]);
		*ret_until = t;
	}
	if (ret_version && rs.headers[1] && *rs.headers[1] && strcmp(rs.headers[1], "null") != 0)
		*ret_version = TAKE_PTR(rs.headers[1]);
	return 0;
}

int cairn_s3_lock_until(struct cairn_store *st, const char *key, int64_t *ret_until)
{
	int r = head(to_s3(st), key, NULL, ret_until);
	if (r == CAIRN_ENOTFOUND)
		return cairn_error_set(r, "object %s not found in %s", key, st->uri);
	return r;
}

static int delete_version(struct s3_store *s, const char *key, const char *version)
{
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf q = CAIRN_BUF_INIT;
	int r;
	if ((r = cairn_httpstore_query_add(&q, "versionId", version)) < 0 || (r = cairn_buf_append_u8(&q, 0)) < 0)
		return cairn_error_nomem();
	struct s3_call c = { .method = "DELETE", .key = key, .query = (const char *)q.data };
	if ((r = cairn_s3_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status == 204 || rs.status == 200 || rs.status == 404)
		return 0;
	/* A missing key's null version: some servers answer 400 for it. */
	if (!strcmp(version, "null") && rs.status == 400)
		return 0;
	return cairn_s3_fail(s, "delete", key, &rs);
}

int cairn_s3_lock_del(struct s3_store *s, const char *key)
{
	int64_t now = (int64_t)time(NULL);
	for (int i = 0; i < DELETE_VERSIONS_MAX; i++) {
		_cleanup_free_ char *version = NULL;
		int64_t until;
		int r = head(s, key, &version, &until);
		if (r == CAIRN_ENOTFOUND)
			return i == 0 ? delete_version(s, key, "null") : 0;
		if (r < 0)
			return r;
		if (until > now) {
			char date[48];
			cairn_time_format(until, date, sizeof(date));
			return cairn_error_set(CAIRN_EPERM, "object %s in %s is under object lock until %s", key,
					       s->base.uri, date);
		}
		if ((r = delete_version(s, key, version ? version : "null")) < 0)
			return r;
		if (!version)
			return 0; /* an unversioned bucket: that was the object */
	}
	cairn_log_warn("%s in %s has more than %d versions: the older ones stay until the next delete", key,
		       s->base.uri, DELETE_VERSIONS_MAX);
	return 0;
}

/* Whether the bucket has Object Lock enabled: GET ?object-lock. */
int cairn_s3_lock_bucket_check(struct s3_store *s)
{
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	_cleanup_(cairn_buf_freep) struct cairn_buf reply = CAIRN_BUF_INIT;
	int r;
	struct s3_call c = { .method = "GET", .query = "object-lock=", .out = &reply,
			     .out_max = CAIRN_HTTPSTORE_REPLY_MAX };
	if ((r = cairn_s3_call(s, &c, &rs)) < 0)
		return r;
	bool enabled = false;
	if (rs.status == 200) {
		if ((r = cairn_buf_append_u8(&reply, 0)) < 0)
			return cairn_error_nomem();
		enabled = strstr((const char *)reply.data, "<ObjectLockEnabled>Enabled</ObjectLockEnabled>") != NULL;
	} else if (rs.status != 404 && rs.status != 400) {
		return cairn_s3_fail(s, "object lock check", NULL, &rs);
	}
	if (!enabled)
		return cairn_error_set(CAIRN_EINVAL,
				       "bucket %s at %s exists without Object Lock, which can only be enabled when a "
				       "bucket is created: give init a new bucket (it creates it with Object Lock)",
				       s->cfg.bucket, s->cfg.endpoint);
	return 0;
}
