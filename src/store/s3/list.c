/* Listing: ListObjectsV2 pages of up to max_keys keys, followed through
 * continuation tokens until the server says the listing is complete (the
 * loop is store/httpstore.c's). */
#include "store/s3/s3.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdio.h>

static int list_page(struct cairn_store *st, const char *full, const char *token,
		     struct cairn_httpstore_page *ret)
{
	struct s3_store *s = to_s3(st);
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT, query = CAIRN_BUF_INIT;
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	char maxkeys[16];
	int r;

	snprintf(maxkeys, sizeof(maxkeys), "%u", s->cfg.max_keys);
	/* Parameters in signing (sorted) order. */
	if ((token && (r = cairn_httpstore_query_add(&query, "continuation-token", token)) < 0) ||
	    (r = cairn_httpstore_query_add(&query, "list-type", "2")) < 0 ||
	    (r = cairn_httpstore_query_add(&query, "max-keys", maxkeys)) < 0 ||
	    (*full && (r = cairn_httpstore_query_add(&query, "prefix", full)) < 0) ||
	    (r = cairn_buf_append_u8(&query, 0)) < 0)
		return cairn_error_nomem();
	struct s3_call c = { .method = "GET", .query = (const char *)query.data, .out = &body,
				.out_max = CAIRN_HTTPSTORE_REPLY_MAX };
	if ((r = cairn_s3_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status != 200)
		return cairn_s3_fail(s, "list", NULL, &rs);
	if ((r = cairn_s3_parse_list(body.data, body.len, ret)) < 0)
		return cairn_error_prefix(r, "list of %s", st->uri);
	return 0;
}

int cairn_s3_list(struct cairn_store *st, const char *prefix, cairn_store_list_fn fn, void *ud)
{
	const struct cairn_httpstore_lister l = {
		.store_prefix = to_s3(st)->cfg.prefix,
		.repeated = "the server repeated a continuation token",
		.page = list_page,
	};
	return cairn_httpstore_list(st, &l, prefix, fn, ud);
}
