/* Listing: List Blobs pages of up to max_results blobs under the prefix,
 * followed through NextMarker until the service returns none (the loop is
 * store/httpstore.c's). */
#include "store/azure/azure.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdio.h>

static int list_page(struct cairn_store *st, const char *full, const char *marker,
		     struct cairn_httpstore_page *ret)
{
	struct azure_store *s = to_azure(st);
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT, query = CAIRN_BUF_INIT;
	_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
	char max[16];
	int r;

	snprintf(max, sizeof(max), "%u", s->cfg.max_results);
	if ((r = cairn_httpstore_query_add(&query, "restype", "container")) < 0 ||
	    (r = cairn_httpstore_query_add(&query, "comp", "list")) < 0 ||
	    (*full && (r = cairn_httpstore_query_add(&query, "prefix", full)) < 0) ||
	    (marker && (r = cairn_httpstore_query_add(&query, "marker", marker)) < 0) ||
	    (r = cairn_httpstore_query_add(&query, "maxresults", max)) < 0 ||
	    (r = cairn_buf_append_u8(&query, 0)) < 0)
		return cairn_error_nomem();
	struct azure_call c = { .method = "GET", .query = (const char *)query.data, .out = &body,
				.out_max = CAIRN_HTTPSTORE_REPLY_MAX };
	if ((r = cairn_azure_call(s, &c, &rs)) < 0)
		return r;
	if (rs.status != 200)
		return cairn_azure_fail(s, "list", NULL, &rs);
	if ((r = cairn_azure_parse_list(body.data, body.len, ret)) < 0)
		return cairn_error_prefix(r, "list of %s", st->uri);
	return 0;
}

int cairn_azure_list(struct cairn_store *st, const char *prefix, cairn_store_list_fn fn, void *ud)
{
	const struct cairn_httpstore_lister l = {
		.store_prefix = to_azure(st)->cfg.prefix,
		/* A blob named as the store's prefix itself ("dir/") is no
		 * key of the store. */
		.skip_store_prefix = true,
		.repeated = "the service repeated a continuation marker",
		.page = list_page,
	};
	return cairn_httpstore_list(st, &l, prefix, fn, ud);
}
