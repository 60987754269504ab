/* Multipart upload, for objects above the multipart threshold:
 * initiate, upload the parts in parallel, complete; abort on any failure,
 * so a failed put leaves no billable upload behind.
 *
 * Parts are part_size bytes (the last one less), doubled as often as
 * needed to stay within S3's 10000 parts.  They go up from
 * min(parts, connections) threads, the caller's included
 * (cairn_parallel).  Each part is retried by the HTTP layer; a
 * part that still fails fails the put.
 *
 * Completion is special in two ways: S3 may answer 200 with an <Error>
 * body (retried here, as AWS asks), and a retried completion whose first
 * attempt did complete answers NoSuchUpload, which is success when the
 * object now has our size.
 */
#include "store/s3/s3.h"
#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/parallel.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPLETE_TRIES 3

struct mpu {
	struct s3_store *s;
	const char *key;
	const uint8_t *data;
	size_t len, part_size;
	unsigned nparts;
	bool md5; /* under Object Lock: each part carries Content-MD5 */
	char *upload_id_q; /* "uploadId=<encoded>" */
	char **etags;      /* each written by the part's own thread */
};

static int upload_part(void *ud, unsigned i)
{
	struct mpu *m = ud;
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	static const char *const want[] = { "ETag", NULL };
	char query[1200];
	int r;

	/* partNumber sorts before uploadId. */
	if ((size_t)snprintf(query, sizeof(query), "partNumber=%u&%s", i + 1, m->upload_id_q) >= sizeof(query))
		return cairn_error_set(CAIRN_EIO, "multipart upload id too long");
	size_t off = (size_t)i * m->part_size;
	char md5[64];
	const char *hdr[2] = { md5, NULL };
	if (m->md5 && (r = cairn_s3_md5_header(m->data + off, MIN(m->part_size, m->len - off), md5)) < 0)
		return r;
	struct s3_call c = { .method = "PUT",
			     .key = m->key,
			     .query = query,
			     .body = m->data + off,
			     .len = MIN(m->part_size, m->len - off),
			     .headers = m->md5 ? hdr : NULL,
			     .want = want };
	if ((r = cairn_s3_call(m->s, &c, &rs)) < 0)
		return r;
	if (rs.status != 200) {
		char op[48];
		snprintf(op, sizeof(op), "upload of part %u", i + 1);
		return cairn_s3_fail(m->s, op, m->key, &rs);
	}
	if (!rs.headers[0] || !*rs.headers[0])
		return cairn_error_set(CAIRN_EIO, "upload of part %u of %s in %s: the reply has no ETag", i + 1,
				       m->key, m->s->base.uri);
	m->etags[i] = TAKE_PTR(rs.headers[0]);
	return 0;
}

static void abort_upload(struct mpu *m)
{
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	char saved[1024];
	/* Keep the message of the failure that made us abort. */
	cairn_error_copy(saved, sizeof(saved));
	struct s3_call c = { .method = "DELETE", .key = m->key, .query = m->upload_id_q };
	if (cairn_s3_call(m->s, &c, &rs) < 0 || (rs.status != 204 && rs.status != 200 && rs.status != 404))
		cairn_log_warn("could not abort the multipart upload of %s in %s (status %ld): the server "
			       "keeps its parts until a lifecycle rule removes them",
			       m->key, m->s->base.uri, rs.status);
	cairn_error_set(0, "%s", saved);
}

static int xml_part(struct cairn_buf *b, unsigned n, const char *etag)
{
	char num[48];
	snprintf(num, sizeof(num), "<Part><PartNumber>%u</PartNumber><ETag>", n);
	int r = cairn_buf_append(b, num, strlen(num));
	for (const char *p = etag; r >= 0 && *p; p++) {
		if (*p == '&')
			r = cairn_buf_append(b, "&amp;", 5);
		else if (*p == '<')
			r = cairn_buf_append(b, "&lt;", 4);
		else if (*p == '>')
			r = cairn_buf_append(b, "&gt;", 4);
		else
			r = cairn_buf_append(b, p, 1);
	}
	if (r >= 0)
		r = cairn_buf_append(b, "</ETag></Part>", 14);
	return r;
}

static int complete(struct mpu *m)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT, reply = CAIRN_BUF_INIT;
	int r = cairn_buf_append(&body, "<CompleteMultipartUpload>", 25);
	for (unsigned i = 0; r >= 0 && i < m->nparts; i++)
		r = xml_part(&body, i + 1, m->etags[i]);
	if (r >= 0)
		r = cairn_buf_append(&body, "</CompleteMultipartUpload>", 26);
	if (r < 0)
		return cairn_error_nomem();
	uint8_t digest[32];
	char sha[65];
	if ((r = cairn_sha256(body.data, body.len, digest)) < 0)
		return r;
	cairn_hex_encode(digest, sizeof(digest), sha);
	const char *hdr[] = { "Content-Type: application/xml", NULL };

	for (int attempt = 1;; attempt++) {
		_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
		struct s3_call c = { .method = "POST", .key = m->key, .query = m->upload_id_q, .body = body.data,
				     .len = body.len, .sha256 = sha, .headers = hdr, .out = &reply,
				     .out_max = CAIRN_HTTPSTORE_REPLY_MAX };
		if ((r = cairn_s3_call(m->s, &c, &rs)) < 0)
			return r;
		if (rs.status == 200) {
			struct cairn_s3_error e;
			r = cairn_s3_parse_complete(reply.data, reply.len, &e);
			if (r == 0)
				return 0;
			if (r < 0)
				return cairn_error_prefix(r, "completing the multipart upload of %s in %s", m->key,
							  m->s->base.uri);
			/* 200 with an <Error>: retry while it says so. */
			bool again = !strcmp(e.code, "InternalError") || !strcmp(e.code, "SlowDown") ||
				     !strcmp(e.code, "ServiceUnavailable");
			if (!again || attempt >= COMPLETE_TRIES)
				return cairn_s3_error_map(&m->s->cfg, m->s->base.uri, "multipart completion", m->key,
							  again ? 500 : 400, (unsigned)attempt, &e);
			continue;
		}
		if (rs.status == 404 && (rs.attempts > 1 || attempt > 1)) {
			/* An earlier attempt may have completed it. */
			uint64_t size;
			if (cairn_store_stat(&m->s->base, m->key, &size) == 0 && size == m->len)
				return 0;
		}
		return cairn_s3_fail(m->s, "multipart completion", m->key, &rs);
	}
}

int cairn_s3_put_multipart(struct s3_store *s, const char *key, const uint8_t *data, size_t len, unsigned flags)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf reply = CAIRN_BUF_INIT, q = CAIRN_BUF_INIT;
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	_cleanup_free_ char *upload_id = NULL;
	struct mpu m = { .s = s, .key = key, .data = data, .len = len, .part_size = s->cfg.part_size };
	int r;

	while ((len + m.part_size - 1) / m.part_size > CAIRN_S3_MAX_PARTS)
		m.part_size *= 2;
	m.nparts = (unsigned)((len + m.part_size - 1) / m.part_size);

	/* The retention goes on the upload's start; its parts carry MD5s. */
	const char *hdr[4] = { NULL };
	size_t nh = 0;
	struct cairn_s3_lock_hdrs lh;
	if ((r = cairn_s3_lock_headers(s, flags, NULL, 0, false, &lh, hdr, &nh)) < 0)
		return r;
	m.md5 = nh > 0;
	struct s3_call init = { .method = "POST", .key = key, .query = "uploads=", .body = "", .out = &reply,
			       .out_max = CAIRN_HTTPSTORE_REPLY_MAX, .headers = hdr };
	if ((r = cairn_s3_call(s, &init, &rs)) < 0)
		return r;
	if (rs.status != 200)
		return cairn_s3_fail(s, "multipart start", key, &rs);
	if ((r = cairn_s3_parse_upload_id(reply.data, reply.len, &upload_id)) < 0)
		return cairn_error_prefix(r, "multipart upload of %s in %s", key, s->base.uri);
	if ((r = cairn_httpstore_query_add(&q, "uploadId", upload_id)) < 0 || (r = cairn_buf_append_u8(&q, 0)) < 0)
		return cairn_error_nomem();
	m.upload_id_q = (char *)q.data;
	m.etags = calloc(m.nparts, sizeof(*m.etags));
	if (!m.etags) {
		r = cairn_error_nomem();
		abort_upload(&m);
		return r;
	}

	if ((r = cairn_parallel(m.nparts, s->cfg.connections, upload_part, &m)) < 0 ||
	    (r = complete(&m)) < 0)
		abort_upload(&m);
	/* Ceph RGW 16 ignores the retention of CreateMultipartUpload: set it
	 * on the object (the same date; AWS has it already).  A failure
	 * leaves an object without retention: the put fails. */
	else if (m.md5)
		r = cairn_s3_lock_retention_put(s, key, &lh);
	else
		cairn_log_debug("s3: %s: %zu bytes in %u parts of %zu", key, len, m.nparts, m.part_size);
	for (unsigned i = 0; i < m.nparts; i++)
		free(m.etags[i]);
	free(m.etags);
	return r;
}

/* For multipart copies (copy.c), whose parts are UploadPartCopy. */
int cairn_s3_mpu_complete(struct s3_store *s, const char *key, uint64_t len, const char *upload_id_q, char **etags,
			  unsigned nparts)
{
	struct mpu m = { .s = s, .key = key, .len = (size_t)len, .nparts = nparts,
			 .upload_id_q = (char *)upload_id_q, .etags = etags };
	return complete(&m);
}

void cairn_s3_mpu_abort(struct s3_store *s, const char *key, const char *upload_id_q)
{
	struct mpu m = { .s = s, .key = key, .upload_id_q = (char *)upload_id_q };
	abort_upload(&m);
}
