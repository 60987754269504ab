/* Server-side copy (the store's copy_from op): an object of another S3
 * store on the same endpoint is copied by the server, so its bytes never
 * cross this host (issue [dr]: copies between repositories).
 *
 * Reach: the source must be an S3 store (not GCS, whose XML API names the
 * header differently) on the same endpoint (scheme, host[:port], path)
 * signed with the same access key; its bucket and prefix may differ.  A
 * different access key may or may not be allowed to read the source, and
 * a refusal would surface as a failed copy of every object: such a pair
 * is CAIRN_EUNSUPPORTED, and the caller reads and writes instead.
 *
 * Requests: a HEAD of the source (its size, and CAIRN_ENOTFOUND when it
 * is missing), then
 *   - up to ?copy_threshold= (default and at most 5 GiB, CopyObject's
 *     limit): one CopyObject, PUT with x-amz-copy-source: /BUCKET/KEY
 *     (encoded like a URL path; libcurl's SigV4 signs it with the other
 *     headers);
 *   - above it: a multipart upload whose parts are UploadPartCopy
 *     (x-amz-copy-source-range, signed by sigv4.c), part_size each as for
 *     uploads, in parallel, completed and aborted with multipart.c's calls.
 * The upload's multipart_threshold does not apply: one CopyObject is the
 * fastest way wherever it is allowed.  On Ceph RGW it is near instant
 * (64 MiB in 0.02 s, 256 MiB in 0.15 s: the copy shares the source's
 * stored data), while UploadPartCopy copies the bytes (256 MiB in 8 MiB
 * parts: 14 s).
 * CopyObject and UploadPartCopy may answer 200 with an <Error> body (the
 * server failed after it started answering): that is a failure, retried
 * like a 5xx when its code says so.
 *
 * The caller may give the source's size (then there is no HEAD of the
 * source: a same-family copy knows it from the source's index) and may
 * let an existing destination stand (no CAIRN_PUT_CREATE_ONLY: then there
 * is no HEAD of the destination either, and a 412 is success), so that a
 * copy of a whole pack is one request.
 *
 * Create-only: the destination is checked with a HEAD first, then the
 * CopyObject carries If-None-Match: * as puts do, for servers that apply
 * it to a copy (412: the key is there).  Ceph RGW honours it on a put but
 * ignores it on a copy (tried: the copy replaces the object), so there,
 * as with every multipart copy, the check is not atomic: two writers of
 * one key at once may both find it missing and the later copy wins.
 * That is harmless for cairn's content-named objects (see store.c).  A
 * server that answers 501 to the header (Swift's s3api) makes the driver
 * drop conditional writes, as a put's 501 does.
 *
 * Object Lock: the copy gets the retention a put would (see the end of
 * cairn_s3_copy_from).
 *
 * Counters: every request goes through the destination's HTTP client
 * (the source's HEAD through the source's), so the xfer counters show the
 * requests, and bytes_sent/bytes_received only the XML of the replies.
 */
#include "store/s3/s3.h"
#include "store/testwrap.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/parallel.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_TRIES 3
#define COPY_OBJECT_MAX (5ull << 30)

static bool again(const struct cairn_s3_error *e)
{
	return !strcmp(e->code, "InternalError") || !strcmp(e->code, "SlowDown") ||
	       !strcmp(e->code, "ServiceUnavailable");
}

/* ---- reach ---- */

static bool same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static int unsupported(struct s3_store *s, struct cairn_store *src, const char *why)
{
	return cairn_error_set(CAIRN_EUNSUPPORTED, "no server-side copy from %s to %s: %s", src->uri, s->base.uri,
			       why);
}

/* "x-amz-copy-source: /BUCKET/PREFIXKEY", encoded as a URL path. */
static int copy_source(const struct s3_store *src, const char *key, struct cairn_buf *out)
{
	cairn_buf_clear(out);
	const char *h = "x-amz-copy-source: /";
	if (cairn_buf_append(out, h, strlen(h)) < 0 ||
	    cairn_buf_append(out, src->cfg.bucket, strlen(src->cfg.bucket)) < 0)
		return cairn_error_nomem();
	/* url_end adds "/" + the encoded full key and the NUL. */
	return cairn_httpstore_url_end(out, src->cfg.prefix, key, NULL);
}

static void withdraw_create_only(struct s3_store *s)
{
	if (!atomic_exchange(&s->cond_unsupported, true)) {
		__atomic_fetch_and(&s->base.features, ~(unsigned)CAIRN_STORE_FEAT_CREATE_ONLY, __ATOMIC_RELAXED);
		cairn_log_info("%s does not implement conditional writes: create-only copies check, then copy",
			       s->cfg.endpoint);
	}
}

static bool not_implemented(const struct cairn_http_response *rs)
{
	struct cairn_s3_error e;
	if (rs->status == 501)
		return true;
	return rs->status == 400 && cairn_s3_parse_error(rs->err_body.data, rs->err_body.len, &e) == 0 &&
	       !strcmp(e.code, "NotImplemented");
}

/* ---- CopyObject ---- */

static int copy_object(struct s3_store *s, const char *src_hdr, const char *key, uint64_t size)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf reply = CAIRN_BUF_INIT;
	int r;

	for (int attempt = 1;; attempt++) {
		_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
		bool conditional = !atomic_load(&s->cond_unsupported) && s->cfg.cond == CAIRN_S3_COND_IF_NONE_MATCH;
		const char *hdr[] = { src_hdr, conditional ? "If-None-Match: *" : NULL, NULL };
		struct s3_call c = { .method = "PUT", .key = key, .body = "", .headers = hdr, .out = &reply,
				     .out_max = CAIRN_HTTPSTORE_REPLY_MAX };
		if ((r = cairn_s3_call(s, &c, &rs)) < 0)
			return r;
		if (rs.status == 200) {
			char etag[256];
			struct cairn_s3_error e;
			if ((r = cairn_s3_parse_copy(reply.data, reply.len, etag, sizeof(etag), &e)) < 0)
				return cairn_error_prefix(r, "copy to %s in %s", key, s->base.uri);
			if (r == 0)
				return 0;
			if (again(&e) && attempt < COPY_TRIES)
				continue;
			return cairn_s3_error_map(&s->cfg, s->base.uri, "copy", key, again(&e) ? 500 : 400,
						  (unsigned)attempt, &e);
		}
		if (conditional && rs.status == 412) {
			/* A retried copy may have found its own first attempt's
			 * result: the same size is ours (cairn's keys name their
			 * content). */
			uint64_t have;
			if ((rs.attempts > 1 || attempt > 1) && cairn_store_stat(&s->base, key, &have) == 0 &&
			    have == size)
				return 0;
			return cairn_httpstore_exists(&s->base, key);
		}
		if (conditional && not_implemented(&rs)) {
			withdraw_create_only(s);
			continue;
		}
		return cairn_s3_fail(s, "copy", key, &rs);
	}
}

/* ---- UploadPartCopy ---- */

struct mpc {
	struct s3_store *s;
	const char *key, *src_hdr;
	uint64_t size, part_size;
	unsigned nparts;
	char *upload_id_q;
	char **etags;
};

static int copy_part(void *ud, unsigned i)
{
	struct mpc *m = ud;
	_cleanup_(cairn_buf_freep) struct cairn_buf reply = CAIRN_BUF_INIT;
	char query[1200], range[96];
	int r;

	if ((size_t)snprintf(query, sizeof(query), "partNumber=%u&%s", i + 1, m->upload_id_q) >= sizeof(query))
		return cairn_error_set(CAIRN_EIO, "multipart upload id too long");
	uint64_t first = (uint64_t)i * m->part_size;
	uint64_t last = MIN(first + m->part_size, m->size) - 1;
	snprintf(range, sizeof(range), "x-amz-copy-source-range: bytes=%" PRIu64 "-%" PRIu64, first, last);
	const char *hdr[] = { m->src_hdr, range, NULL };

	for (int attempt = 1;; attempt++) {
		_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
		struct s3_call c = { .method = "PUT", .key = m->key, .query = query, .body = "", .headers = hdr,
				     .out = &reply, .out_max = CAIRN_HTTPSTORE_REPLY_MAX };
		char op[48];
		snprintf(op, sizeof(op), "copy of part %u", i + 1);
		/* Not through libcurl's signing: see sigv4.c. */
		if ((r = cairn_s3_call_signed(m->s, &c, &rs)) < 0)
			return r;
		if (rs.status != 200)
			return cairn_s3_fail(m->s, op, m->key, &rs);
		char etag[256];
		struct cairn_s3_error e;
		if ((r = cairn_s3_parse_copy(reply.data, reply.len, etag, sizeof(etag), &e)) < 0)
			return cairn_error_prefix(r, "%s to %s in %s", op, m->key, m->s->base.uri);
		if (r == 1) {
			if (again(&e) && attempt < COPY_TRIES)
				continue;
			return cairn_s3_error_map(&m->s->cfg, m->s->base.uri, op, m->key, again(&e) ? 500 : 400,
						  (unsigned)attempt, &e);
		}
		if (!etag[0])
			return cairn_error_set(CAIRN_EIO, "%s to %s in %s: the reply has no ETag", op, m->key,
					       m->s->base.uri);
		if (!(m->etags[i] = strdup(etag)))
			return cairn_error_nomem();
		return 0;
	}
}

static int copy_multipart(struct s3_store *s, const char *src_hdr, const char *key, uint64_t size)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf reply = CAIRN_BUF_INIT, q = CAIRN_BUF_INIT;
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	_cleanup_free_ char *upload_id = NULL;
	struct mpc m = { .s = s, .key = key, .src_hdr = src_hdr, .size = size, .part_size = s->cfg.part_size };
	int r;

	while ((size + m.part_size - 1) / m.part_size > CAIRN_S3_MAX_PARTS)
		m.part_size *= 2;
	m.nparts = (unsigned)((size + m.part_size - 1) / m.part_size);

	struct s3_call init = { .method = "POST", .key = key, .query = "uploads=", .body = "", .out = &reply,
			       .out_max = CAIRN_HTTPSTORE_REPLY_MAX };
	if ((r = cairn_s3_call(s, &init, &rs)) < 0)
		return r;
	if (rs.status != 200)
		return cairn_s3_fail(s, "multipart start", key, &rs);
	if ((r = cairn_s3_parse_upload_id(reply.data, reply.len, &upload_id)) < 0)
		return cairn_error_prefix(r, "multipart copy to %s in %s", key, s->base.uri);
	if ((r = cairn_httpstore_query_add(&q, "uploadId", upload_id)) < 0 || (r = cairn_buf_append_u8(&q, 0)) < 0)
		return cairn_error_nomem();
	m.upload_id_q = (char *)q.data;
	m.etags = calloc(m.nparts, sizeof(*m.etags));
	if (!m.etags)
		r = cairn_error_nomem();
	else if ((r = cairn_parallel(m.nparts, s->cfg.connections, copy_part, &m)) >= 0)
		r = cairn_s3_mpu_complete(s, key, size, m.upload_id_q, m.etags, m.nparts);
	if (r < 0)
		cairn_s3_mpu_abort(s, key, m.upload_id_q);
	else
		cairn_log_debug("s3: %s: copied %" PRIu64 " bytes in %u parts of %" PRIu64, key, size, m.nparts,
				m.part_size);
	for (unsigned i = 0; m.etags && i < m.nparts; i++)
		free(m.etags[i]);
	free(m.etags);
	return r;
}

int cairn_s3_copy_from(struct cairn_store *st, struct cairn_store *src_store, const char *src_key,
		       const char *dst_key, uint64_t size, unsigned flags)
{
	struct s3_store *s = to_s3(st);
	_cleanup_(cairn_buf_freep) struct cairn_buf hdr = CAIRN_BUF_INIT;
	bool create_only = flags & CAIRN_PUT_CREATE_ONLY;
	int r;

	src_store = cairn_store_unwrap(src_store);
	if (src_store->ops != st->ops)
		return unsupported(s, src_store, "the source is not an S3 store");
	struct s3_store *src = to_s3(src_store);
	if (s->cfg.flavor != CAIRN_S3_FLAVOR_S3)
		return unsupported(s, src_store, "not implemented for Google Cloud Storage");
	if (!same(s->cfg.scheme, src->cfg.scheme) || !same(s->cfg.host, src->cfg.host) ||
	    !same(s->cfg.path, src->cfg.path))
		return unsupported(s, src_store, "another endpoint");
	if (!same(s->cfg.access_key, src->cfg.access_key))
		return unsupported(s, src_store, "another access key");
	if ((r = cairn_s3_key_check(src, src_key)) < 0 || (r = cairn_s3_key_check(s, dst_key)) < 0)
		return r;

	if (size == CAIRN_STORE_SIZE_UNKNOWN && (r = cairn_store_stat(src_store, src_key, &size)) < 0)
		return r;
	if (create_only && (r = cairn_httpstore_absent(st, dst_key)) < 0)
		return r;
	if ((r = copy_source(src, src_key, &hdr)) < 0)
		return r;
	if (size > MIN((uint64_t)s->cfg.copy_threshold, COPY_OBJECT_MAX))
		r = copy_multipart(s, (const char *)hdr.data, dst_key, size);
	else
		r = copy_object(s, (const char *)hdr.data, dst_key, size);
	if (r == CAIRN_EEXIST && !create_only) {
		cairn_error_clear(); /* a server that honours If-None-Match kept it */
		return 0;
	}
	/* Under Object Lock a copy is retained as a put is (lock.c), set
	 * after the copy by PutObjectRetention: UploadPartCopy parts cannot
	 * carry the Content-MD5 a locked upload's parts need, and servers
	 * differ in what they take from CopyObject's headers.  A failure
	 * leaves the copy without retention: the copy fails. */
	if (r >= 0)
		r = cairn_s3_lock_retain(s, dst_key);
	return r;
}
