/* The S3 store: struct cairn_store_ops over S3's REST API (store.h).
 *
 * Keys map to objects PREFIX + key in the bucket.  Objects up to the
 * multipart threshold go up in one PUT, which S3 makes visible atomically;
 * larger ones in parts (multipart.c), visible only once completed.  Either
 * way readers see the old object, none, or the complete new one.
 *
 * Create-only puts send If-None-Match: * (GCS: x-goog-if-generation-match:
 * 0), which the server enforces atomically: 412 means the key exists.
 * Servers that do not implement conditional writes (OpenStack Swift's
 * s3api answers 501) make the driver fall back, for the rest of the
 * store's life, to HEAD then PUT.  That fallback has a race: two writers
 * of one key may both see it missing and the second PUT replaces the
 * first.  cairn's create-only keys are either unique by construction
 * (random manifest and index names, content-named keys) or written by
 * `init` (config), so the race only matters for two concurrent inits of
 * one repository.  CAIRN_STORE_FEAT_CREATE_ONLY is withdrawn as soon as
 * the fallback is in use.  Create-only puts above the multipart threshold
 * check then put on every server (conditional completion of multipart
 * uploads is too recent to rely on); cairn's create-only objects (config,
 * keys, manifests, index objects) are far below it with the defaults.
 *
 * Thread safety: the configuration is read-only after open; the HTTP client
 * is thread-safe; the few facts learned about the server are atomics.
 */
#include "store/s3/s3.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int s3_stat(struct cairn_store *st, const char *key, uint64_t *ret_size)
{
	struct s3_store *s = to_s3(st);
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	static const char *const want[] = { "Content-Length", NULL };
	int r;

	if ((r = cairn_s3_key_check(s, key)) < 0)
		return r;
	struct s3_call c = { .method = "HEAD", .key = key, .want = want };
	if ((r = cairn_s3_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status != 200)
		return cairn_s3_fail(s, "stat", key, &rs);
	return cairn_httpstore_stat_reply(st, key, rs.headers[0], ret_size);
}

/* A 404 about the key (not the bucket). */
static bool missing_key(const struct cairn_http_response *rs)
{
	struct cairn_s3_error e;
	if (cairn_s3_parse_error(rs->err_body.data, rs->err_body.len, &e) < 0)
		return true;
	return strcmp(e.code, "NoSuchBucket") != 0;
}

static int s3_get(struct cairn_store *st, const char *key, uint64_t off, uint64_t len, struct cairn_buf *out)
{
	struct s3_store *s = to_s3(st);
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	int r;

	cairn_buf_clear(out);
	if ((r = cairn_s3_key_check(s, key)) < 0)
		return r;
	if (len == 0)
		return cairn_httpstore_get_empty(st, key, off);
	struct s3_call c = { .method = "GET", .key = key, .out = out, .out_max = cairn_httpstore_get_max(len) };
	c.range = cairn_httpstore_range(off, len, &c.first, &c.last);
	for (int tries = 0;; tries++) {
		if ((r = cairn_s3_call(s, &c, &rs)) < 0) {
			cairn_buf_clear(out);
			return r;
		}
		/* OpenStack Swift can answer 404 for an object that another
		 * client is overwriting at that moment (it is eventually
		 * consistent; RGW and AWS are not).  cairn reads only objects
		 * it knows exist, so a miss is confirmed once before it is
		 * reported. */
		if (rs.status != 404 || tries == 1 || !missing_key(&rs))
			break;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	r = cairn_httpstore_get_reply(st, key, off, len, rs.status, "server", out);
	return r == 1 ? cairn_s3_fail(s, "get", key, &rs) : r;
}

static void withdraw_create_only(struct s3_store *s)
{
	if (!atomic_exchange(&s->cond_unsupported, true)) {
		__atomic_fetch_and(&s->base.features, ~(unsigned)CAIRN_STORE_FEAT_CREATE_ONLY, __ATOMIC_RELAXED);
		cairn_log_info("%s does not implement conditional writes: create-only puts check, then put",
			       s->cfg.endpoint);
	}
}

static int s3_put(struct cairn_store *st, const char *key, const void *data, size_t len, unsigned flags)
{
	struct s3_store *s = to_s3(st);
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	bool create_only = flags & CAIRN_PUT_CREATE_ONLY;
	bool conditional = create_only && !atomic_load(&s->cond_unsupported);
	int r;

	if ((r = cairn_s3_key_check(s, key)) < 0)
		return r;
	if (len > 0 && !data)
		return cairn_error_set(CAIRN_EINVAL, "put of %s: no data", key);
	if (create_only && (!conditional || len > s->cfg.multipart_threshold)) {
		/* Not atomic (see the top of this file). */
		if ((r = cairn_httpstore_absent(st, key)) < 0)
			return r;
		conditional = false;
	}
	if (len > s->cfg.multipart_threshold)
		return cairn_s3_put_multipart(s, key, data, len, flags);

	const char *hdr[6] = { NULL };
	size_t nh = 0;
	struct cairn_s3_lock_hdrs lh;
	if (conditional)
		hdr[nh++] = s->cfg.cond == CAIRN_S3_COND_GOOG_GENERATION ? "x-goog-if-generation-match: 0"
									 : "If-None-Match: *";
	if ((r = cairn_s3_lock_headers(s, flags, data, len, true, &lh, hdr, &nh)) < 0)
		return r;
	struct s3_call c = { .method = "PUT", .key = key, .body = data ? data : "", .len = len, .headers = hdr };
	if ((r = cairn_s3_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status == 200 || rs.status == 201 || rs.status == 204)
		return 0;
	if (conditional && rs.status == 412) {
		if (rs.attempts > 1 && cairn_httpstore_is_ours(st, key, data, len))
			return 0;
		return cairn_httpstore_exists(st, key);
	}
	if (conditional && (rs.status == 501 || rs.status == 400)) {
		struct cairn_s3_error e;
		bool not_impl = rs.status == 501;
		if (!not_impl && cairn_s3_parse_error(rs.err_body.data, rs.err_body.len, &e) == 0)
			not_impl = !strcmp(e.code, "NotImplemented");
		if (not_impl) {
			withdraw_create_only(s);
			return s3_put(st, key, data, len, flags);
		}
	}
	return cairn_s3_fail(s, "put", key, &rs);
}

static int s3_del(struct cairn_store *st, const char *key)
{
	struct s3_store *s = to_s3(st);
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	int r;

	if ((r = cairn_s3_key_check(s, key)) < 0)
		return r;
	if (s->lock.seconds > 0)
		return cairn_s3_lock_del(s, key);
	struct s3_call c = { .method = "DELETE", .key = key };
	if ((r = cairn_s3_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status == 204 || rs.status == 200)
		return 0;
	if (rs.status == 404) {
		/* A missing key is not an error; a missing bucket is. */
		struct cairn_s3_error e;
		if (cairn_s3_parse_error(rs.err_body.data, rs.err_body.len, &e) < 0 || strcmp(e.code, "NoSuchBucket"))
			return 0;
	}
	return cairn_s3_fail(s, "delete", key, &rs);
}

static int s3_create(struct cairn_store *st)
{
	struct s3_store *s = to_s3(st);
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	_cleanup_free_ char *body = NULL, *project = NULL;
	int r;

	struct s3_call head = { .method = "HEAD" };
	if ((r = cairn_s3_call(s, &head, &rs)) < 0)
		return r;
	if (rs.status == 200)
		return s->lock.seconds > 0 ? cairn_s3_lock_bucket_check(s) : 0;
	if (rs.status != 404)
		return cairn_s3_fail(s, "create", NULL, &rs);

	/* Outside us-east-1, AWS wants the region in the body. */
	if (s->cfg.aws && strcmp(s->cfg.region, "us-east-1") != 0 &&
	    asprintf(&body,
		     "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		     "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>",
		     s->cfg.region) < 0)
		return cairn_error_nomem();
	const char *hdr[3] = { NULL, NULL, NULL };
	size_t nh = 0;
	if (s->lock.seconds > 0)
		hdr[nh++] = "x-amz-bucket-object-lock-enabled: true";
	if (s->cfg.project_id) {
		if (asprintf(&project, "x-goog-project-id: %s", s->cfg.project_id) < 0) {
			project = NULL;
			return cairn_error_nomem();
		}
		hdr[nh++] = project;
	}
	struct s3_call put = {
		.method = "PUT", .body = body ? body : "", .len = body ? strlen(body) : 0, .headers = hdr,
	};
	if ((r = cairn_s3_call(s, &put, &rs)) < 0)
		return r;
	if (rs.status == 200 || rs.status == 201 || rs.status == 204)
		return 0;
	struct cairn_s3_error e;
	if (rs.status == 409 && cairn_s3_parse_error(rs.err_body.data, rs.err_body.len, &e) == 0 &&
	    !strcmp(e.code, "BucketAlreadyOwnedByYou"))
		/* made by someone else at the same time, also ours */
		return s->lock.seconds > 0 ? cairn_s3_lock_bucket_check(s) : 0;
	return cairn_s3_fail(s, "create", NULL, &rs);
}

static int s3_xfer(struct cairn_store *st, struct cairn_store_xfer *ret)
{
	return cairn_httpstore_xfer(to_s3(st)->http, ret);
}

static void s3_free(struct cairn_store *st)
{
	struct s3_store *s = to_s3(st);
	if (!s)
		return;
	cairn_http_client_free(s->http);
	cairn_s3_config_free(&s->cfg);
	free(s->sigv4);
	free(s->base.uri);
	free(s);
}

/* S3 and GCS differ only in their name and in DeleteObjects, which GCS's
 * XML API lacks: two tables, both const. */
#define S3_OPS(NAME, DEL_MANY)                                                                          \
	{                                                                                               \
		.name = NAME, .get = s3_get, .put = s3_put, .stat = s3_stat, .del = s3_del,             \
		.list = cairn_s3_list, .free = s3_free, .create = s3_create, .del_many = DEL_MANY,      \
		.copy_from = cairn_s3_copy_from,                                                        \
		.xfer = s3_xfer, .sweep = cairn_s3_sweep, .lock_set = cairn_s3_lock_set,                \
		.lock_until = cairn_s3_lock_until,                                                      \
	}
static const struct cairn_store_ops s3_ops = S3_OPS("s3", cairn_s3_del_many);
static const struct cairn_store_ops gcs_ops = S3_OPS("gcs", NULL);

int cairn_store_s3_open(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret)
{
	struct s3_store *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return cairn_error_nomem();
	s->base.ops = &s3_ops;
	s->base.features = CAIRN_STORE_FEAT_RANGE_GET | CAIRN_STORE_FEAT_CREATE_ONLY;
	atomic_init(&s->cond_unsupported, false);
	atomic_init(&s->multi_delete_unsupported, false);
	atomic_init(&s->bucket_seen, false);
	if ((r = cairn_s3_config_parse(uri, o, &s->cfg)) < 0)
		goto fail;
	if (s->cfg.flavor == CAIRN_S3_FLAVOR_GCS)
		s->base.ops = &gcs_ops;
	struct cairn_http_opts ho = {
		.connections = s->cfg.connections,
		.limit_upload = s->cfg.limit_upload,
		.allow_http = s->cfg.allow_http,
		.env = &cairn_store_opts_env(o)->http,
	};
	if ((r = cairn_http_client_new(&ho, &s->http)) < 0)
		goto fail;
	s->base.uri = strdup(uri);
	if (asprintf(&s->sigv4, "aws:amz:%s:s3", s->cfg.region) < 0)
		s->sigv4 = NULL;
	if (!s->base.uri || !s->sigv4) {
		r = cairn_error_nomem();
		goto fail;
	}
	s->base.parallelism = s->cfg.connections;
	*ret = &s->base;
	return 0;
fail:
	s3_free(&s->base);
	return r;
}
