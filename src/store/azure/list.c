/* Listing: List Blobs pages of up to max_results blobs under the prefix,
 * followed through NextMarker until the service returns none. */
#include "store/azure/azure.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cairn_azure_list(struct cairn_store *st, const char *prefix, cairn_store_list_fn fn, void *ud)
{
	struct azure_store *s = to_azure(st);
	_cleanup_(cairn_buf_freep) struct cairn_buf body = CAIRN_BUF_INIT, query = CAIRN_BUF_INIT;
	_cleanup_free_ char *full = NULL, *marker = NULL;
	char max[16];
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
	snprintf(max, sizeof(max), "%u", s->cfg.max_results);

	for (;;) {
		_cleanup_(cairn_http_response_freep) struct cairn_http_response rs = CAIRN_HTTP_RESPONSE_INIT;
		struct cairn_azure_list_page page;

		cairn_buf_clear(&query);
		if ((r = cairn_azure_query_add(&query, "restype", "container")) < 0 ||
		    (r = cairn_azure_query_add(&query, "comp", "list")) < 0 ||
		    (*full && (r = cairn_azure_query_add(&query, "prefix", full)) < 0) ||
		    (marker && (r = cairn_azure_query_add(&query, "marker", marker)) < 0) ||
		    (r = cairn_azure_query_add(&query, "maxresults", max)) < 0 ||
		    (r = cairn_buf_append_u8(&query, 0)) < 0)
			return cairn_error_set(CAIRN_ENOMEM, "out of memory");
		struct azure_call c = { .method = "GET", .query = (const char *)query.data, .out = &body };
		if ((r = cairn_azure_call(s, &c, &rs)) < 0)
			return r;
		if (rs.status != 200)
			return cairn_azure_fail(s, "list", NULL, &rs);
		if ((r = cairn_azure_parse_list(body.data, body.len, &page)) < 0)
			return cairn_error_prefix(r, "list of %s", st->uri);

		for (size_t i = 0; i < page.n; i++) {
			const char *k = page.v[i].name;
			/* The service promises the prefix; a name without it
			 * is not one of ours to report. */
			if (strncmp(k, full, flen) != 0 || !k[plen])
				continue;
			r = fn(k + plen, page.v[i].size, ud);
			if (r != 0) {
				cairn_azure_list_page_free(&page);
				return r;
			}
		}
		if (page.next_marker && marker && !strcmp(marker, page.next_marker)) {
			cairn_azure_list_page_free(&page);
			return cairn_error_set(CAIRN_EIO, "list of %s: the service repeated a continuation marker",
					       st->uri);
		}
		free(marker);
		marker = TAKE_PTR(page.next_marker);
		cairn_azure_list_page_free(&page);
		if (!marker)
			return 0;
	}
}
