/* Sweep: multipart uploads that a killed backup started and never
 * completed or aborted.  S3 keeps (and bills) their parts until they are
 * aborted or a lifecycle rule removes them.  Only uploads below the
 * store's packs/ (the only objects cairn uploads in parts) and started
 * before the caller's cut-off are aborted: a bucket may hold other
 * software's uploads, and a running backup's upload is young. */
#include "store/s3/s3.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

static int list_page(struct s3_store *s, const char *prefix, const char *key_marker, const char *id_marker,
		     struct cairn_s3_uploads *ret)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT, query = CAIRN_BUF_INIT;
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	int r;
	/* Parameters in signing (sorted) order. */
	if ((key_marker && (r = cairn_httpstore_query_add(&query, "key-marker", key_marker)) < 0) ||
	    (r = cairn_httpstore_query_add(&query, "prefix", prefix)) < 0 ||
	    (id_marker && (r = cairn_httpstore_query_add(&query, "upload-id-marker", id_marker)) < 0) ||
	    (r = cairn_httpstore_query_add(&query, "uploads", "")) < 0 || (r = cairn_buf_append_u8(&query, 0)) < 0)
		return cairn_error_nomem();
	struct s3_call c = { .method = "GET", .query = (const char *)query.data, .out = &body,
				.out_max = CAIRN_HTTPSTORE_REPLY_MAX };
	if ((r = cairn_s3_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status != 200)
		return cairn_s3_fail(s, "list of multipart uploads", NULL, &rs);
	if ((r = cairn_s3_parse_uploads(body.data, body.len, ret)) < 0)
		return cairn_error_prefix(r, "list of multipart uploads in %s", s->base.uri);
	return 0;
}

static int abort_one(struct s3_store *s, const char *key, const char *upload_id)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf query = CAIRN_BUF_INIT;
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	int r;
	if ((r = cairn_httpstore_query_add(&query, "uploadId", upload_id)) < 0 ||
	    (r = cairn_buf_append_u8(&query, 0)) < 0)
		return cairn_error_nomem();
	struct s3_call c = { .method = "DELETE", .key = key, .query = (const char *)query.data };
	if ((r = cairn_s3_call(s, &c, &rs)) < 0)
		return r;
	/* 404 NoSuchUpload: completed or aborted meanwhile. */
	if (rs.status != 204 && rs.status != 200 && rs.status != 404)
		return cairn_s3_fail(s, "abort of a multipart upload", key, &rs);
	return 0;
}

int cairn_s3_sweep(struct cairn_store *st, int64_t before, struct cairn_store_sweep *ret)
{
	struct s3_store *s = to_s3(st);
	_cleanup_free_ char *prefix = NULL, *key_marker = NULL, *id_marker = NULL;
	if (asprintf(&prefix, "%spacks/", s->cfg.prefix) < 0) {
		prefix = NULL;
		return cairn_error_nomem();
	}
	size_t plen = strlen(s->cfg.prefix);
	for (unsigned page = 0;; page++) {
		struct cairn_s3_uploads u = { 0 }; /* also when list_page fails before parsing */
		int r = list_page(s, prefix, key_marker, id_marker, &u);
		for (size_t i = 0; r >= 0 && i < u.n; i++) {
			const struct cairn_s3_upload *up = &u.v[i];
			if (up->initiated >= before || strncmp(up->key, prefix, strlen(prefix)) != 0)
				continue;
			if ((r = abort_one(s, up->key + plen, up->upload_id)) >= 0) {
				cairn_log_info("aborted the multipart upload of %s left by an interrupted backup",
					       up->key + plen);
				ret->removed++;
			}
		}
		if (r >= 0 && u.next_key && key_marker && !strcmp(u.next_key, key_marker) && id_marker &&
		    u.next_upload_id && !strcmp(u.next_upload_id, id_marker))
			r = cairn_error_set(CAIRN_ECORRUPT, "the server repeated a multipart upload marker");
		if (r < 0 || !u.next_key || page > 100000) {
			cairn_s3_uploads_free(&u);
			return r < 0 ? r : 0;
		}
		free(key_marker);
		free(id_marker);
		key_marker = TAKE_PTR(u.next_key);
		id_marker = TAKE_PTR(u.next_upload_id);
		cairn_s3_uploads_free(&u);
	}
}
