/* Server-side copy (the store's copy_from op) from another Azure store of
 * the same account on the same endpoint: the service copies the blob, so
 * its bytes never cross this host (issue [dr]: copies between
 * repositories).  Another account or endpoint is CAIRN_EUNSUPPORTED (the
 * caller then reads and writes).
 *
 * The source is named by its URL with a read-only service SAS: the
 * source store's own SAS token when it has one, else one signed here with
 * its account key (sv=2018-11-09, sr=b, sp=r, valid for an hour; the
 * string-to-sign of that version: permissions, start, expiry,
 * /blob/ACCOUNT/CONTAINER/BLOB, identifier, IP, protocol, version,
 * resource, snapshot time, and the five response headers, all but the
 * ones we set empty).
 *
 * Requests: a HEAD of the source (its size; CAIRN_ENOTFOUND when missing),
 * a HEAD of the destination (create-only), then
 *   - Put Blob From URL (synchronous, up to 5000 MiB) with
 *     If-None-Match: *;
 *   - or Copy Blob (x-ms-copy-source, any size; asynchronous: the reply
 *     says x-ms-copy-status success or pending, and a pending copy is
 *     polled with HEAD until it ends) for larger blobs, and for servers
 *     without Put Blob From URL.  Azurite (3.35) answers 501 to Put Blob
 *     From URL and to Put Block From URL, so on Azurite the driver uses
 *     Copy Blob after the first 501, for the rest of the store's life.
 * Put Block From URL (blocks of a blob above 5000 MiB) is not used:
 * Copy Blob covers those sizes in one request, and no test server has it.
 *
 * A caller that gives the source's size saves its HEAD; one that lets an
 * existing destination stand (no CAIRN_PUT_CREATE_ONLY) saves the
 * destination's, and the copy's 409/412 is then success.
 *
 * Create-only: the HEAD check, then If-None-Match: * on the copy, which
 * the service applies to the destination atomically (409/412: it is
 * there).  A retried copy that finds the key with the source's size
 * takes it as its own first attempt's.
 */
#include "store/azure/azure.h"
#include "store/testwrap.h"
#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SAS_VERSION "2018-11-09"
#define SAS_LIFETIME 3600
#define POLL_MAX_SECONDS (6 * 3600)

static bool same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static int unsupported(struct azure_store *s, struct cairn_store *src, const char *why)
{
	return cairn_error_set(CAIRN_EUNSUPPORTED, "no server-side copy from %s to %s: %s", src->uri, s->base.uri,
			       why);
}

/* "x-ms-copy-source: URL?SAS" of src_key in src (a secret: wiped by the
 * caller). */
static int source_header(struct azure_store *src, const char *key, struct cairn_buf *out)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf url = CAIRN_BUF_INIT, q = CAIRN_BUF_INIT;
	_cleanup_free_ char *sts = NULL;
	int r;

	if ((r = cairn_azure_url(&src->cfg, key, NULL, &url, NULL)) < 0)
		return r;
	cairn_buf_clear(out);
	const char *h = "x-ms-copy-source: ";
	if (cairn_buf_append(out, h, strlen(h)) < 0 || cairn_buf_append(out, url.data, url.len) < 0 ||
	    cairn_buf_append_u8(out, '?') < 0)
		return cairn_error_nomem();
	if (src->cfg.auth == CAIRN_AZURE_AUTH_SAS) {
		if (cairn_buf_append(out, src->cfg.sas, strlen(src->cfg.sas)) < 0 || cairn_buf_append_u8(out, 0) < 0)
			return cairn_error_nomem();
		out->len--;
		return 0;
	}

	char se[32], sig[45];
	time_t t = time(NULL) + SAS_LIFETIME;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(se, sizeof(se), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* The canonical resource names the blob unencoded. */
	int n = asprintf(&sts, "r\n\n%s\n/blob/%s/%s/%s%s\n\n\n\n" SAS_VERSION "\nb\n\n\n\n\n\n", se,
			 src->cfg.account, src->cfg.container, src->cfg.prefix, key);
	if (n < 0) {
		sts = NULL;
		return cairn_error_nomem();
	}
	r = cairn_azure_hmac_b64(src->cfg.key, src->cfg.key_len, sts, (size_t)n, sig);
	if (r < 0)
		return r;
	/* Parameters in any order; sig last by habit. */
	if ((r = cairn_httpstore_query_add(&q, "sv", SAS_VERSION)) < 0 || (r = cairn_httpstore_query_add(&q, "sr", "b")) < 0 ||
	    (r = cairn_httpstore_query_add(&q, "sp", "r")) < 0 || (r = cairn_httpstore_query_add(&q, "se", se)) < 0 ||
	    (r = cairn_httpstore_query_add(&q, "sig", sig)) < 0)
		r = cairn_error_nomem();
	if (r >= 0 && (cairn_buf_append(out, q.data, q.len) < 0 || cairn_buf_append_u8(out, 0) < 0))
		r = cairn_error_nomem();
	cairn_wipe(sig, sizeof(sig));
	if (q.data)
		cairn_wipe(q.data, q.len);
	if (r < 0)
		return r;
	out->len--;
	return 0;
}

/* The copy found the key there: ours if a retry and the size matches. */
static int exists(struct azure_store *s, const char *key, const struct cairn_http_response *rs, uint64_t size)
{
	uint64_t have;
	if (rs->attempts > 1 && cairn_store_stat(&s->base, key, &have) == 0 && have == size)
		return 0;
	return cairn_httpstore_exists(&s->base, key);
}

static bool not_implemented(const struct cairn_http_response *rs)
{
	char code[64];
	if (rs->status == 501)
		return true;
	cairn_azure_reply_code(rs, code, sizeof(code));
	return !strcmp(code, "NotImplemented");
}

/* 1: Put Blob From URL is not there (use Copy Blob). */
static int put_from_url(struct azure_store *s, const char *src_hdr, const char *key, uint64_t size)
{
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	const char *hdr[] = { "x-ms-blob-type: BlockBlob", src_hdr, "If-None-Match: *", NULL };
	struct azure_call c = { .method = "PUT", .key = key, .body = "", .len = 0, .headers = hdr };
	int r;

	if ((r = cairn_azure_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status == 201 || rs.status == 200)
		return 0;
	if (cairn_azure_reply_exists(&rs))
		return exists(s, key, &rs, size);
	if (not_implemented(&rs))
		return 1;
	return cairn_azure_fail(s, "copy", key, &rs);
}

/* Waits for a pending Copy Blob to end. */
static int poll_copy(struct azure_store *s, const char *key)
{
	static const char *const want[] = { "x-ms-copy-status", "x-ms-copy-status-description", NULL };
	struct timespec delay = { 0, 50 * 1000 * 1000 };
	time_t deadline = time(NULL) + POLL_MAX_SECONDS;
	int r;

	for (;;) {
		_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
		nanosleep(&delay, NULL);
		if (delay.tv_sec < 2) {
			delay.tv_nsec *= 2;
			if (delay.tv_nsec >= 1000 * 1000 * 1000) {
				delay.tv_sec++;
				delay.tv_nsec -= 1000 * 1000 * 1000;
			}
		}
		struct azure_call c = { .method = "HEAD", .key = key, .want = want };
		if ((r = cairn_azure_call(s, &c, &rs)) < 0)
			return r;
		if (rs.status != 200)
			return cairn_azure_fail(s, "copy status", key, &rs);
		const char *st = rs.headers[1] ? rs.headers[1] : "";
		if (!strcmp(st, "success"))
			return 0;
		if (strcmp(st, "pending") != 0)
			return cairn_error_set(CAIRN_EIO, "copy to %s in %s ended %s%s%s", key, s->base.uri,
					       *st ? st : "without a status", rs.headers[2] ? ": " : "",
					       rs.headers[2] ? rs.headers[2] : "");
		if (time(NULL) > deadline)
			return cairn_error_set(CAIRN_ENET, "copy to %s in %s still pending after %d s", key,
					       s->base.uri, POLL_MAX_SECONDS);
	}
}

static int copy_blob(struct azure_store *s, const char *src_hdr, const char *key, uint64_t size)
{
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	static const char *const want[] = { "x-ms-copy-status", NULL };
	const char *hdr[] = { src_hdr, "If-None-Match: *", NULL };
	struct azure_call c = { .method = "PUT", .key = key, .body = "", .len = 0, .headers = hdr, .want = want };
	int r;

	if ((r = cairn_azure_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status == 202 || rs.status == 201 || rs.status == 200) {
		const char *st = rs.headers[1] ? rs.headers[1] : "";
		if (!strcmp(st, "success"))
			return 0;
		if (!strcmp(st, "pending"))
			return poll_copy(s, key);
		return cairn_error_set(CAIRN_EIO, "copy to %s in %s: the service answered copy status '%s'", key,
				       s->base.uri, st);
	}
	if (cairn_azure_reply_exists(&rs))
		return exists(s, key, &rs, size);
	return cairn_azure_fail(s, "copy", key, &rs);
}

int cairn_azure_copy_from(struct cairn_store *st, struct cairn_store *src_store, const char *src_key,
			  const char *dst_key, uint64_t size, unsigned flags)
{
	struct azure_store *s = to_azure(st);
	_cleanup_(cairn_buf_freep) struct cairn_buf hdr = CAIRN_BUF_INIT;
	bool create_only = flags & CAIRN_PUT_CREATE_ONLY;
	int r;

	src_store = cairn_store_unwrap(src_store);
	if (src_store->ops != st->ops)
		return unsupported(s, src_store, "the source is not an Azure store");
	struct azure_store *src = to_azure(src_store);
	if (!same(s->cfg.scheme, src->cfg.scheme) || !same(s->cfg.host, src->cfg.host) ||
	    !same(s->cfg.path, src->cfg.path) || !same(s->cfg.account, src->cfg.account))
		return unsupported(s, src_store, "another account or endpoint");
	if ((r = cairn_azure_key_check(src, src_key)) < 0 || (r = cairn_azure_key_check(s, dst_key)) < 0)
		return r;
	if (size == CAIRN_STORE_SIZE_UNKNOWN && (r = cairn_store_stat(src_store, src_key, &size)) < 0)
		return r;
	if (create_only && (r = cairn_httpstore_absent(st, dst_key)) < 0)
		return r;
	if ((r = source_header(src, src_key, &hdr)) < 0)
		goto out;

	r = 1;
	if (size <= CAIRN_AZURE_PUT_BLOB_MAX && !atomic_load(&s->no_put_from_url)) {
		r = put_from_url(s, (const char *)hdr.data, dst_key, size);
		if (r == 1 && !atomic_exchange(&s->no_put_from_url, true))
			cairn_log_info("%s does not implement Put Blob From URL: server-side copies use Copy Blob",
				       s->cfg.endpoint);
	}
	if (r == 1)
		r = copy_blob(s, (const char *)hdr.data, dst_key, size);
out:
	if (hdr.data)
		cairn_wipe(hdr.data, hdr.len);
	if (r == CAIRN_EEXIST && !create_only) {
		cairn_error_clear(); /* If-None-Match kept the one there */
		r = 0;
	}
	return r;
}
