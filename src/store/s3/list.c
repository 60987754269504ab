/* Listing: ListObjectsV2 pages of up to max_keys keys, followed through
 * continuation tokens until the server says the listing is complete. */
#include "store/s3/s3.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cairn_s3_list(struct cairn_store *st, const char *prefix, cairn_store_list_fn fn, void *ud)
{
	struct s3_store *s = to_s3(st);
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT, query = CAIRN_BUF_INIT;
	_cleanup_free_ char *full = NULL, *token = NULL;
	char maxkeys[16];
	int r;

	if (!prefix)
		prefix = "";
	if (*prefix == '/')
		return cairn_error_set(CAIRN_EINVAL, "invalid list prefix '%s' for store %s", prefix, st->uri);
	if (asprintf(&full, "%s%s", s->cfg.prefix, prefix) < 0) {
		full = NULL;
		return cairn_error_set(CAIRN_ENOMEM, "out of memory");
	}
	size_t plen = strlen(s->cfg.prefix), flen = strlen(full);
	snprintf(maxkeys, sizeof(maxkeys), "%u", s->cfg.max_keys);

	for (;;) {
		_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
		struct cairn_s3_list_page page;

		/* Parameters in signing (sorted) order. */
		cairn_buf_clear(&query);
		if ((token && (r = cairn_s3_query_add(&query, "continuation-token", token)) < 0) ||
		    (r = cairn_s3_query_add(&query, "list-type", "2")) < 0 ||
		    (r = cairn_s3_query_add(&query, "max-keys", maxkeys)) < 0 ||
		    (*full && (r = cairn_s3_query_add(&query, "prefix", full)) < 0) ||
		    (r = cairn_buf_append_u8(&query, 0)) < 0)
			return cairn_error_set(CAIRN_ENOMEM, "out of memory");
		struct s3_call c = { .method = "GET", .query = (const char *)query.data, .out = &body };
		if ((r = cairn_s3_call(s, &c, &rs)) < 0)
			return r;
		if (rs.status != 200)
			return cairn_s3_fail(s, "list", NULL, &rs);
		if ((r = cairn_s3_parse_list(body.data, body.len, &page)) < 0)
			return cairn_error_prefix(r, "list of %s", st->uri);

		for (size_t i = 0; i < page.n; i++) {
			const char *k = page.v[i].key;
			/* The server promises the prefix; a key without it
			 * is not one of ours to report. */
			if (strncmp(k, full, flen) != 0)
				continue;
			r = fn(k + plen, page.v[i].size, ud);
			if (r != 0) {
				cairn_s3_list_page_free(&page);
				return r;
			}
		}
		bool more = page.truncated;
		if (more && token && !strcmp(token, page.next_token)) {
			cairn_s3_list_page_free(&page);
			return cairn_error_set(CAIRN_EIO, "list of %s: the server repeated a continuation token",
					       st->uri);
		}
		free(token);
		token = more ? page.next_token : NULL;
		if (more)
			page.next_token = NULL;
		cairn_s3_list_page_free(&page);
		if (!more)
			return 0;
	}
}
