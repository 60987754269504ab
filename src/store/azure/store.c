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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	return cairn_httpstore_stat_reply(st, key, rs.headers[1], ret_size);
}

static int az_get(struct cairn_store *st, const char *key, uint64_t off, uint64_t len, struct cairn_buf *out)
{
	struct azure_store *s = to_azure(st);
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	int r;

	cairn_buf_clear(out);
	if ((r = cairn_azure_key_check(s, key)) < 0)
		return r;
	if (len == 0)
		return cairn_httpstore_get_empty(st, key, off);
	struct azure_call c = { .method = "GET", .key = key, .out = out, .out_max = cairn_httpstore_get_max(len) };
	c.range = cairn_httpstore_range(off, len, &c.first, &c.last);
	if ((r = cairn_azure_call(s, &c, &rs)) < 0) {
		cairn_buf_clear(out);
		return r;
	}
	if (rs.status == 206 && out->len == 0) {
		/* Azure answers 416 (InvalidRange) for a range that starts at
		 * or past the end; Azurite answers 206 with nothing: tell the
		 * two apart. */
		uint64_t size;
		if ((r = az_stat(st, key, &size)) < 0)
			return r;
		return off > size ? cairn_httpstore_past_end(st, key, off, size) : 0;
	}
	r = cairn_httpstore_get_reply(st, key, off, len, rs.status, "service", out);
	return r == 1 ? cairn_azure_fail(s, "get", key, &rs) : r;
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
	if (create_only && cairn_azure_reply_exists(&rs)) {
		if (rs.attempts > 1 && cairn_httpstore_is_ours(st, key, data, len))
			return 0;
		return cairn_httpstore_exists(st, key);
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
	return cairn_httpstore_xfer(to_azure(st)->http, ret);
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
	.get = az_get,
	.put = az_put,
	.stat = az_stat,
	.del = az_del,
	.list = cairn_azure_list,
	.free = az_free,
	.create = az_create,
	.xfer = az_xfer,
	.copy_from = cairn_azure_copy_from,
};

int cairn_store_azure_open(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret)
{
	struct azure_store *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return cairn_error_nomem();
	s->base.ops = &azure_ops;
	s->base.features = CAIRN_STORE_FEAT_RANGE_GET | CAIRN_STORE_FEAT_CREATE_ONLY;
	if ((r = cairn_azure_config_parse(uri, o, &s->cfg)) < 0)
		goto fail;
	struct cairn_http_opts ho = {
		.connections = s->cfg.connections,
		.limit_upload = s->cfg.limit_upload,
		.allow_http = s->cfg.allow_http,
		.env = &cairn_store_opts_env(o)->http,
	};
	if ((r = cairn_http_client_new(&ho, &s->http)) < 0)
		goto fail;
	if (!(s->base.uri = strdup(uri))) {
		r = cairn_error_nomem();
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
