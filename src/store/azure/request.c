/* Building and sending one Azure Blob request.
 *
 * URLs are the endpoint, then the container, then the object's full key
 * (store prefix + key) percent-encoded keeping '/':
 *     https://ACCOUNT.blob.core.windows.net/CONTAINER/KEY       (default)
 *     http://127.0.0.1:10000/devstoreaccount1/CONTAINER/KEY     (an emulator's path-style endpoint)
 * The Shared Key canonical resource is "/ACCOUNT" + that URL path, so the
 * emulator's account appears twice there, as the service expects.
 *
 * Every request carries x-ms-date and x-ms-version.  With a key, the
 * Authorization header is computed over exactly the header lines that are
 * sent (a Content-Type is always given for a body, so that libcurl adds
 * none of its own).  With a SAS, the token is appended to the query and
 * the URL shown in logs and messages is the one without it.
 */
#include "store/azure/azure.h"
#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int oom(void)
{
	return cairn_error_nomem();
}

static int add(struct cairn_buf *b, const char *s)
{
	return cairn_buf_append(b, s, strlen(s));
}

int cairn_azure_url(const struct cairn_azure_config *cfg, const char *key, const char *query, struct cairn_buf *out,
		    size_t *ret_path_off)
{
	cairn_buf_clear(out);
	int r = add(out, cfg->scheme);
	if (r >= 0)
		r = add(out, "://");
	if (r >= 0)
		r = add(out, cfg->host);
	size_t path_off = out->len;
	if (r >= 0)
		r = add(out, cfg->path);
	if (r >= 0 && (r = add(out, "/")) >= 0)
		r = add(out, cfg->container);
	if (r < 0)
		return oom();
	if ((r = cairn_httpstore_url_end(out, cfg->prefix, key, query)) < 0)
		return r;
	if (ret_path_off)
		*ret_path_off = path_off;
	return 0;
}

int cairn_azure_urls(const struct cairn_azure_config *cfg, const char *key, const char *query,
		     struct cairn_buf *sent, struct cairn_buf *shown, size_t *ret_path_off)
{
	int r = cairn_azure_url(cfg, key, query, shown, ret_path_off);
	if (r < 0)
		return r;
	cairn_buf_clear(sent);
	/* One allocation: no copy of the token is left behind by a realloc. */
	size_t need = shown->len + 2 + (cfg->auth == CAIRN_AZURE_AUTH_SAS ? strlen(cfg->sas) : 0);
	if (cairn_buf_reserve(sent, need) < 0 || cairn_buf_append(sent, shown->data, shown->len) < 0)
		return oom();
	/* The token goes last in the query; the shown URL stops before it. */
	if (cfg->auth == CAIRN_AZURE_AUTH_SAS &&
	    (cairn_buf_append_u8(sent, query && *query ? '&' : '?') < 0 || add(sent, cfg->sas) < 0))
		return oom();
	if (cairn_buf_append_u8(sent, 0) < 0)
		return oom();
	sent->len--;
	return 0;
}

int cairn_azure_call(struct azure_store *s, const struct azure_call *c, struct cairn_http_response *rs)
{
	const struct cairn_azure_config *cfg = &s->cfg;
	_cleanup_(cairn_buf_freep) struct cairn_buf url = CAIRN_BUF_INIT, full = CAIRN_BUF_INIT,
						    sts = CAIRN_BUF_INIT;
	const char *hdr[24], *want[CAIRN_HTTP_MAX_WANT + 1];
	char date[64], range[96], auth[160], d[32];
	size_t n = 0, path_off;
	int r;

	if ((r = cairn_azure_urls(cfg, c->key, c->query, &full, &url, &path_off)) < 0)
		return r;

	cairn_azure_date(time(NULL), d);
	snprintf(date, sizeof(date), "x-ms-date: %s", d);
	hdr[n++] = date;
	hdr[n++] = "x-ms-version: " CAIRN_AZURE_VERSION;
	if (c->range) {
		if (c->last == CAIRN_HTTP_RANGE_END)
			snprintf(range, sizeof(range), "x-ms-range: bytes=%" PRIu64 "-", c->first);
		else
			snprintf(range, sizeof(range), "x-ms-range: bytes=%" PRIu64 "-%" PRIu64, c->first, c->last);
		hdr[n++] = range;
	}
	bool has_type = false;
	for (size_t i = 0; c->headers && c->headers[i]; i++) {
		if (n + 3 > ARRAY_SIZE(hdr))
			return cairn_error_set(CAIRN_EINVAL, "too many request headers");
		if (!strncasecmp(c->headers[i], "Content-Type:", 13))
			has_type = true;
		hdr[n++] = c->headers[i];
	}
	if (c->len && !has_type)
		hdr[n++] = "Content-Type: application/octet-stream";
	hdr[n] = NULL;

	if (cfg->auth == CAIRN_AZURE_AUTH_KEY) {
		const char *q = strchr((const char *)url.data + path_off, '?');
		_cleanup_free_ char *path = strndup((const char *)url.data + path_off,
						    q ? (size_t)(q - (const char *)url.data) - path_off
						      : url.len - path_off);
		if (!path)
			return oom();
		char sig[45];
		if ((r = cairn_azure_string_to_sign(c->method, hdr, c->len, cfg->account, path, q ? q + 1 : NULL,
						    &sts)) < 0 ||
		    (r = cairn_azure_hmac_b64(cfg->key, cfg->key_len, sts.data, sts.len, sig)) < 0)
			return r;
		snprintf(auth, sizeof(auth), "Authorization: SharedKey %s:%s", cfg->account, sig);
		hdr[n++] = auth;
		hdr[n] = NULL;
	}

	size_t nw = 0;
	want[nw++] = "x-ms-error-code";
	for (size_t i = 0; c->want && c->want[i] && nw < CAIRN_HTTP_MAX_WANT; i++)
		want[nw++] = c->want[i];
	want[nw] = NULL;

	struct cairn_http_request rq = {
		.method = c->method,
		.url = (const char *)full.data,
		.log_url = (const char *)url.data,
		.headers = hdr,
		.body = c->body,
		.body_len = c->len,
		.out = c->out,
		.out_max = c->out_max,
		.want_headers = want,
	};
	r = cairn_http_perform(s->http, &rq, rs);
	if (cfg->auth == CAIRN_AZURE_AUTH_SAS)
		cairn_wipe(full.data, full.len);
	return r;
}
