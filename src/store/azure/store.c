/* The Azure Blob store: struct cairn_store_ops over the Blob service REST
 * API (store.h).
 *
 * Keys map to block blobs PREFIX + key in the container.  Objects up to
 * the block threshold go up in one Put Blob, which the service makes
 * visible atomically; larger ones as blocks committed by one Put Block
 * List (blocks.c), which is atomic too: uncommitted blocks are never
 * visible, and the service garbage-collects those of a failed upload.
 * Either way readers see the old object, none, or the complete new one.
 *
 * Create-only puts send If-None-Match: * with the Put Blob or the Put
 * Block List, which the service enforces atomically (409
 * BlobAlreadyExists, or 412 ConditionNotMet): CAIRN_STORE_FEAT_CREATE_ONLY.
 * A retried create-only put that finds the key may be finding its own
 * first attempt: it is ours if the blob holds exactly our bytes.
 *
 * Thread safety: the configuration is read-only after open and the HTTP
 * client is thread-safe.
 */
#include "store/azure/azure.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The service's blob name limit, prefix included. */
#define KEY_MAX 1024

int cairn_azure_key_check(struct azure_store *s, const char *key)
{
	if (!key || !*key || *key == '/')
		goto bad;
	for (const char *p = key; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			goto bad;
	if (strlen(s->cfg.prefix) + strlen(key) > KEY_MAX)
		return cairn_error_set(CAIRN_EINVAL, "object key '%.64s...' is too long for %s", key, s->base.uri);
	return 0;
bad:
	return cairn_error_set(CAIRN_EINVAL, "invalid object key '%s' for store %s", key ? key : "(null)",
			       s->base.uri);
}

static int parse_length(const char *v, uint64_t *ret)
{
	if (!v || !*v)
		return -1;
	uint64_t n = 0;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*ret = n;
	return 0;
}

static int az_stat(struct cairn_store *st, const char *key, uint64_t *ret_size)
{
	struct azure_store *s = to_azure(st);
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	static const char *const want[] = { "Content-Length", NULL };
	int r;

	if ((r = cairn_azure_key_check(s, key)) < 0)
		return r;
	struct azure_call c = { .method = "HEAD", .key = key, .want = want };
	if ((r = cairn_azure_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status == 403) {
		/* A HEAD's reply has no body to tell why (a wrong key or a
		 * skewed clock): ask again with a one-byte GET, which has one. */
		_cleanup_(cairn_http_response_freep) struct cairn_http_response why = CAIRN_HTTP_RESPONSE_INIT;
		struct azure_call g = { .method = "GET", .key = key, .range = true, .first = 0, .last = 0 };
		if (cairn_azure_call(s, &g, &why) == 0 && why.status == 403 && why.err_body.len)
			return cairn_azure_fail(s, "stat", key, &why);
	}
	if (rs.status != 200)
		return cairn_azure_fail(s, "stat", key, &rs);
	uint64_t size;
	if (parse_length(rs.headers[1], &size) < 0)
		return cairn_error_set(CAIRN_EIO, "stat of object %s in %s: the reply has no valid Content-Length",
				       key, st->uri);
	*ret_size = size;
	return 0;
}

static int past_end(struct cairn_store *st, const char *key, uint64_t off, uint64_t size)
{
	return cairn_error_set(CAIRN_EINVAL,
			       "offset %" PRIu64 " is past the end of object %s in %s (%" PRIu64 " bytes)", off, key,
			       st->uri, size);
}

static int az_get(struct cairn_store *st, const char *key, uint64_t off, uint64_t len, struct cairn_buf *out)
{
	struct azure_store *s = to_azure(st);
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	uint64_t size;
	int r;

	cairn_buf_clear(out);
	if ((r = cairn_azure_key_check(s, key)) < 0)
		return r;
	if (len == 0) {
		/* Nothing to read, but the object must exist and off be valid. */
		if ((r = az_stat(st, key, &size)) < 0)
			return r;
		return off > size ? past_end(st, key, off, size) : 0;
	}
	struct azure_call c = { .method = "GET", .key = key, .out = out };
	if (off > 0 || len != CAIRN_STORE_TO_END) {
		c.range = true;
		c.first = off;
		c.last = len == CAIRN_STORE_TO_END || len - 1 > UINT64_MAX - 1 - off ? CAIRN_HTTP_RANGE_END
										   : off + len - 1;
	}
	if ((r = cairn_azure_call(s, &c, &rs)) < 0) {
		cairn_buf_clear(out);
		return r;
	}
	if (rs.status == 206) {
		/* Azure answers 416 for a range that starts at or past the end;
		 * Azurite answers 206 with nothing: tell the two apart. */
		if (out->len == 0) {
			if ((r = az_stat(st, key, &size)) < 0)
				return r;
			if (off > size)
				return past_end(st, key, off, size);
			return 0;
		}
		if (out->len > len)
			out->len = (size_t)len;
		return 0;
	}
	if (rs.status == 200) {
		/* The whole object, range or not (a server may ignore the range). */
		if (off > out->len) {
			size = out->len;
			cairn_buf_clear(out);
			return past_end(st, key, off, size);
		}
		if (off) {
			memmove(out->data, out->data + off, out->len - (size_t)off);
			out->len -= (size_t)off;
		}
		if (out->len > len)
			out->len = (size_t)len;
		return 0;
	}
	cairn_buf_clear(out);
	if (rs.status == 416) {
		/* InvalidRange: the offset is at or past the end (or the
		 * blob is empty).  At the end is an empty read. */
		if ((r = az_stat(st, key, &size)) < 0)
			return r;
		if (off >= size)
			return off == size ? 0 : past_end(st, key, off, size);
		return cairn_error_set(CAIRN_EIO, "get of object %s in %s: the service refused range %" PRIu64 "+",
				       key, st->uri, off);
	}
	return cairn_azure_fail(s, "get", key, &rs);
}

/* After a retried create-only put found the key, the blob may be our own
 * first attempt's: it is ours if it holds exactly our bytes. */
static bool is_ours(struct cairn_store *st, const char *key, const void *data, size_t len)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf b = CAIRN_BUF_INIT;
	if (az_get(st, key, 0, CAIRN_STORE_TO_END, &b) < 0)
		return false;
	return b.len == len && (len == 0 || memcmp(b.data, data, len) == 0);
}

static int az_put(struct cairn_store *st, const char *key, const void *data, size_t len, unsigned flags)
{
	struct azure_store *s = to_azure(st);
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	bool create_only = flags & CAIRN_PUT_CREATE_ONLY;
	int r;

	if ((r = cairn_azure_key_check(s, key)) < 0)
		return r;
	if (len > 0 && !data)
		return cairn_error_set(CAIRN_EINVAL, "put of %s: no data", key);
	if (len > s->cfg.block_threshold || len > CAIRN_AZURE_PUT_BLOB_MAX)
		return cairn_azure_put_blocks(s, key, data, len, create_only);

	const char *hdr[3] = { "x-ms-blob-type: BlockBlob", NULL, NULL };
	if (create_only)
		hdr[1] = "If-None-Match: *";
	struct azure_call c = { .method = "PUT", .key = key, .body = data ? data : "", .len = len, .headers = hdr };
	if ((r = cairn_azure_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status == 201 || rs.status == 200)
		return 0;
	if (create_only && (rs.status == 409 || rs.status == 412)) {
		char code[64];
		cairn_azure_reply_code(&rs, code, sizeof(code));
		if (!strcmp(code, "BlobAlreadyExists") || !strcmp(code, "ConditionNotMet") || rs.status == 412) {
			if (rs.attempts > 1 && is_ours(st, key, data, len))
				return 0;
			return cairn_error_set(CAIRN_EEXIST, "object %s already exists in %s", key, st->uri);
		}
	}
	return cairn_azure_fail(s, "put", key, &rs);
}

static int az_del(struct cairn_store *st, const char *key)
{
	struct azure_store *s = to_azure(st);
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	int r;

	if ((r = cairn_azure_key_check(s, key)) < 0)
		return r;
	struct azure_call c = { .method = "DELETE", .key = key };
	if ((r = cairn_azure_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status == 202 || rs.status == 200 || rs.status == 204)
		return 0;
	if (rs.status == 404) {
		/* A missing blob is not an error; a missing container is. */
		char code[64];
		cairn_azure_reply_code(&rs, code, sizeof(code));
		if (strcmp(code, "ContainerNotFound") != 0)
			return 0;
	}
	return cairn_azure_fail(s, "delete", key, &rs);
}

/* Does the container exist?  A one-blob listing answers with the least
 * permission: a container SAS with 'l' may list but not read the
 * container's properties. */
static int container_exists(struct azure_store *s, bool *ret)
{
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	struct azure_call c = { .method = "GET", .query = "comp=list&maxresults=1&restype=container" };
	char code[64];
	int r;

	if ((r = cairn_azure_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status == 200) {
		*ret = true;
		return 0;
	}
	cairn_azure_reply_code(&rs, code, sizeof(code));
	if (rs.status == 404 && (!strcmp(code, "ContainerNotFound") || !*code)) {
		*ret = false;
		return 0;
	}
	return cairn_azure_fail(s, "create", NULL, &rs);
}

static int az_create(struct cairn_store *st)
{
	struct azure_store *s = to_azure(st);
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	bool exists = false;
	char code[64];
	int r;

	if ((r = container_exists(s, &exists)) < 0)
		return r;
	if (exists)
		return 0;
	struct azure_call c = { .method = "PUT", .query = "restype=container", .body = "", .len = 0 };
	if ((r = cairn_azure_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status == 201 || rs.status == 200)
		return 0;
	cairn_azure_reply_code(&rs, code, sizeof(code));
	if (rs.status == 409 && !strcmp(code, "ContainerAlreadyExists"))
		return 0; /* made by someone else meanwhile, also ours */
	if (rs.status == 403 && !strncmp(code, "Authorization", 13) && strcmp(code, "AuthorizationFailure") != 0)
		return cairn_error_set(CAIRN_EPERM,
				       "container %s does not exist in account %s, and the %s may not create it "
				       "(%s): create the container, or use a credential that may",
				       s->cfg.container, s->cfg.account,
				       s->cfg.auth == CAIRN_AZURE_AUTH_SAS ? "SAS token" : "account key", code);
	return cairn_azure_fail(s, "create", NULL, &rs);
}

static int az_xfer(struct cairn_store *st, struct cairn_store_xfer *ret)
{
	struct cairn_http_counters n;
	cairn_http_counters_get(to_azure(st)->http, &n);
	*ret = (struct cairn_store_xfer){
		.requests = n.requests,
		.retries = n.retries,
		.bytes_sent = n.bytes_sent,
		.bytes_received = n.bytes_received,
	};
	return 0;
}

static void az_free(struct cairn_store *st)
{
	struct azure_store *s = to_azure(st);
	if (!s)
		return;
	cairn_http_client_free(s->http);
	cairn_azure_config_free(&s->cfg);
	free(s->base.uri);
	free(s);
}

static const struct cairn_store_ops azure_ops = {
	.name = "azure",
	.features = CAIRN_STORE_FEAT_RANGE_GET | CAIRN_STORE_FEAT_CREATE_ONLY,
	.get = az_get,
	.put = az_put,
	.stat = az_stat,
	.del = az_del,
	.list = cairn_azure_list,
	.free = az_free,
	.create = az_create,
	.xfer = az_xfer,
};

int cairn_store_azure_open(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret)
{
	struct azure_store *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	s->base.ops = &azure_ops;
	if ((r = cairn_azure_config_parse(uri, o, &s->cfg)) < 0)
		goto fail;
	struct cairn_http_opts ho = {
		.connections = s->cfg.connections,
		.limit_upload = s->cfg.limit_upload,
		.allow_http = s->cfg.allow_http,
	};
	if ((r = cairn_http_client_new(&ho, &s->http)) < 0)
		goto fail;
	if (!(s->base.uri = strdup(uri))) {
		r = cairn_error_set(CAIRN_ENOMEM, "out of memory");
		goto fail;
	}
	s->base.parallelism = s->cfg.connections;
	cairn_log_debug("azure: account %s, container %s, endpoint %s, %s", s->cfg.account, s->cfg.container,
			s->cfg.endpoint, s->cfg.auth == CAIRN_AZURE_AUTH_KEY ? "Shared Key" : "SAS token");
	*ret = &s->base;
	return 0;
fail:
	az_free(&s->base);
	return r;
}
