/* The glue the HTTP object-store drivers share (httpstore.h). */
#include "store/httpstore.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int oom(void)
{
	return cairn_error_nomem();
}

/* ---- keys ---- */

int cairn_httpstore_key_check(const struct cairn_store *s, const char *prefix, const char *key, bool no_backslash)
{
	if (!key || !*key || *key == '/')
		goto bad;
	for (const char *p = key; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || (no_backslash && *p == '\\'))
			goto bad;
	if (strlen(prefix) + strlen(key) > CAIRN_HTTPSTORE_KEY_MAX)
		return cairn_error_set(CAIRN_EINVAL, "object key '%.64s...' is too long for %s", key, s->uri);
	return 0;
bad:
	return cairn_error_set(CAIRN_EINVAL, "invalid object key '%s' for store %s", key ? key : "(null)", s->uri);
}

int cairn_httpstore_url_end(struct cairn_buf *out, const char *prefix, const char *key, const char *query)
{
	int r = 0;
	if (key && (r = cairn_buf_append(out, "/", 1)) >= 0 &&
	    (r = cairn_http_append_encoded(out, prefix, strlen(prefix), true)) >= 0)
		r = cairn_http_append_encoded(out, key, strlen(key), true);
	if (r >= 0 && query && *query && (r = cairn_buf_append(out, "?", 1)) >= 0)
		r = cairn_buf_append(out, query, strlen(query));
	if (r >= 0)
		r = cairn_buf_append_u8(out, 0);
	if (r < 0)
		return oom();
	out->len--; /* the NUL stays, uncounted */
	return 0;
}

int cairn_httpstore_query_add(struct cairn_buf *b, const char *name, const char *value)
{
	if ((b->len && cairn_buf_append(b, "&", 1) < 0) || cairn_buf_append(b, name, strlen(name)) < 0 ||
	    cairn_buf_append(b, "=", 1) < 0 || cairn_http_append_encoded(b, value, strlen(value), false) < 0)
		return oom();
	return 0;
}

/* ---- get and stat ---- */

bool cairn_httpstore_range(uint64_t off, uint64_t len, uint64_t *ret_first, uint64_t *ret_last)
{
	if (off == 0 && len == CAIRN_STORE_TO_END)
		return false;
	*ret_first = off;
	*ret_last = len == CAIRN_STORE_TO_END || len - 1 > UINT64_MAX - 1 - off ? CAIRN_HTTP_RANGE_END : off + len - 1;
	return true;
}

int cairn_httpstore_past_end(const struct cairn_store *s, const char *key, uint64_t off, uint64_t size)
{
	return cairn_error_set(CAIRN_EINVAL,
			       "offset %" PRIu64 " is past the end of object %s in %s (%" PRIu64 " bytes)", off, key,
			       s->uri, size);
}

int cairn_httpstore_get_empty(struct cairn_store *s, const char *key, uint64_t off)
{
	uint64_t size;
	int r = cairn_store_stat(s, key, &size);
	if (r < 0)
		return r;
	return off > size ? cairn_httpstore_past_end(s, key, off, size) : 0;
}

int cairn_httpstore_get_reply(struct cairn_store *s, const char *key, uint64_t off, uint64_t len, long status,
			      const char *peer, struct cairn_buf *out)
{
	uint64_t size;
	int r;

	if (status == 206) {
		if (out->len > len)
			out->len = (size_t)len;
		return 0;
	}
	if (status == 200) {
		/* The whole object, range or not (a server may ignore the range). */
		if (off > out->len) {
			size = out->len;
			cairn_buf_clear(out);
			return cairn_httpstore_past_end(s, key, off, size);
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
	if (status != 416)
		return 1;
	/* Unsatisfiable: the offset is at or past the end (or the object is
	 * empty).  At the end is an empty read. */
	if ((r = cairn_store_stat(s, key, &size)) < 0)
		return r;
	if (off >= size)
		return off == size ? 0 : cairn_httpstore_past_end(s, key, off, size);
	return cairn_error_set(CAIRN_EIO, "get of object %s in %s: the %s refused range %" PRIu64 "+", key, s->uri,
			       peer, off);
}

int cairn_httpstore_stat_reply(const struct cairn_store *s, const char *key, const char *content_length,
			       uint64_t *ret_size)
{
	uint64_t n = 0;
	const char *p = content_length;
	if (!p || !*p)
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
			goto bad;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*ret_size = n;
	return 0;
bad:
	return cairn_error_set(CAIRN_EIO, "stat of object %s in %s: the reply has no valid Content-Length", key,
			       s->uri);
}

/* ---- create-only puts ---- */

int cairn_httpstore_exists(const struct cairn_store *s, const char *key)
{
	return cairn_error_set(CAIRN_EEXIST, "object %s already exists in %s", key, s->uri);
}

int cairn_httpstore_absent(struct cairn_store *s, const char *key)
{
	uint64_t size;
	int r = cairn_store_stat(s, key, &size);
	if (r == 0)
		return cairn_httpstore_exists(s, key);
	return r == CAIRN_ENOTFOUND ? 0 : r;
}

bool cairn_httpstore_is_ours(struct cairn_store *s, const char *key, const void *data, size_t len)
{
	_cleanup_(cairn_buf_freep) struct cairn_buf b = CAIRN_BUF_INIT;
	/* One byte more than ours tells a longer object from it. */
	if (cairn_store_get(s, key, 0, (uint64_t)len + 1, &b) < 0)
		return false;
	return b.len == len && (len == 0 || memcmp(b.data, data, len) == 0);
}

/* ---- failures ---- */

void cairn_httpstore_what(struct cairn_httpstore_what *w, const char *key, const char *kind, const char *container,
			  const char *code, const char *msg, unsigned attempts)
{
	if (key)
		snprintf(w->obj, sizeof(w->obj), "object %s", key);
	else
		snprintf(w->obj, sizeof(w->obj), "%s %s", kind, container);
	if (*code && msg && *msg)
		snprintf(w->det, sizeof(w->det), " (%s: %s)", code, msg);
	else if (*code)
		snprintf(w->det, sizeof(w->det), " (%s)", code);
	else
		w->det[0] = 0;
	w->after[0] = 0;
	if (attempts > 1)
		snprintf(w->after, sizeof(w->after), " (after %u attempts)", attempts);
}

int cairn_httpstore_status_error(const char *ep, const char *uri, const char *op, long status,
				 const struct cairn_httpstore_what *w)
{
	switch (status) {
	case 404:
		return cairn_error_set(CAIRN_ENOTFOUND, "%s not found in %s", w->obj, uri);
	case 412:
		return cairn_error_set(CAIRN_EEXIST, "%s already exists in %s", w->obj, uri);
	case 416:
		return cairn_error_set(CAIRN_EINVAL, "%s of %s in %s: range past the end of the object", op, w->obj,
				       uri);
	case 405:
	case 501:
		return cairn_error_set(CAIRN_EUNSUPPORTED, "%s does not implement %s of %s%s", ep, op, w->obj,
				       *w->det ? w->det : " (NotImplemented)");
	}
	if (status >= 500 || status == 429)
		return cairn_error_set(CAIRN_ENET, "%s of %s in %s failed: server error %ld%s%s", op, w->obj, uri,
				       status, w->det, w->after);
	return cairn_error_set(CAIRN_EIO, "%s of %s in %s failed: HTTP status %ld%s%s", op, w->obj, uri, status,
			       w->det, w->after);
}

/* ---- listings ---- */

int cairn_httpstore_page_add(struct cairn_httpstore_page *p, char *key, uint64_t size)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct cairn_httpstore_entry *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return oom();
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (struct cairn_httpstore_entry){ .key = key, .size = size };
	return 0;
}

void cairn_httpstore_page_free(struct cairn_httpstore_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].key);
	free(p->v);
	free(p->next);
	memset(p, 0, sizeof(*p));
}

static void page_freep(struct cairn_httpstore_page *p)
{
	cairn_httpstore_page_free(p);
}

int cairn_httpstore_list(struct cairn_store *s, const struct cairn_httpstore_lister *l, const char *prefix,
			 cairn_store_list_fn fn, void *ud)
{
	_cleanup_free_ char *full = NULL, *next = NULL;
	int r;

	if (!prefix)
		prefix = "";
	if (*prefix == '/')
		return cairn_error_set(CAIRN_EINVAL, "invalid list prefix '%s' for store %s", prefix, s->uri);
	if (asprintf(&full, "%s%s", l->store_prefix, prefix) < 0) {
		full = NULL;
		return oom();
	}
	size_t plen = strlen(l->store_prefix), flen = strlen(full);

	for (;;) {
		_cleanup_(page_freep) struct cairn_httpstore_page page = { 0 };
		if ((r = l->page(s, full, next, &page)) < 0)
			return r;
		for (size_t i = 0; i < page.n; i++) {
			const char *k = page.v[i].key;
			/* The server promises the prefix; a name without it is
			 * not one of ours to report. */
			if (strncmp(k, full, flen) != 0 || (l->skip_store_prefix && !k[plen]))
				continue;
			if ((r = fn(k + plen, page.v[i].size, ud)) != 0)
				return r;
		}
		/* A server that keeps naming the same page would keep us here. */
		if (page.next && next && !strcmp(next, page.next))
			return cairn_error_set(CAIRN_EIO, "list of %s: %s", s->uri, l->repeated);
		free(next);
		next = TAKE_PTR(page.next);
		if (!next)
			return 0;
	}
}

/* ---- counters ---- */

int cairn_httpstore_xfer(struct cairn_http_client *http, struct cairn_store_xfer *ret)
{
	struct cairn_http_counters n;
	cairn_http_counters_get(http, &n);
	*ret = (struct cairn_store_xfer){
		.requests = n.requests,
		.retries = n.retries,
		.bytes_sent = n.bytes_sent,
		.bytes_received = n.bytes_received,
	};
	return 0;
}
