/* What the object-store drivers over HTTP (store/s3/: S3 and GCS;
 * store/azure/: Azure Blob) do the same way around their requests: the
 * keys they accept, turning a GET's reply into get's result, the checks of
 * a create-only put, the words and the status-only cases of a failure's
 * message, the listing loop that follows continuations, and the transfer
 * counters.
 *
 * What a request looks like (URLs, signing, headers) and what an error
 * code means stay in the drivers: these helpers take a status, a reply
 * body or a callback and never build a request themselves.  Messages are
 * the ones both drivers gave before they shared them; where the two said
 * it differently (the "server" vs the "service"), the caller passes its
 * words.
 */
#ifndef CAIRN_STORE_HTTPSTORE_H
#define CAIRN_STORE_HTTPSTORE_H

#include "http/http.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- keys ---- */

/* The longest full key (store prefix + key) S3 and Azure Blob take. */
#define CAIRN_HTTPSTORE_KEY_MAX 1024

/* Checks a key of store s whose objects are named prefix + key: not empty,
 * no leading '/', no control characters, and no '\\' when no_backslash
 * (Azure turns it into '/'); not longer than CAIRN_HTTPSTORE_KEY_MAX with
 * the prefix.  CAIRN_EINVAL with a message otherwise. */
int cairn_httpstore_key_check(const struct cairn_store *s, const char *prefix, const char *key, bool no_backslash);

/* Ends an object-store URL in out (which holds scheme://host and the path
 * of the container): "/" + the full key (prefix + key) percent-encoded
 * keeping '/' when key is not NULL, then "?query" when query is not empty;
 * out stays NUL-terminated (the NUL not counted). */
int cairn_httpstore_url_end(struct cairn_buf *out, const char *prefix, const char *key, const char *query);

/* Appends "name=enc(value)" to a query string (with '&' before when b is
 * not empty); the caller chooses the order (SigV4 wants it sorted). */
int cairn_httpstore_query_add(struct cairn_buf *b, const char *name, const char *value);

/* ---- get and stat ---- */

/* The most bytes of an XML reply (a listing page, a batch delete's or a
 * multipart upload's answer) taken from a server: a page of 1000 keys of
 * 1024 bytes is under 2 MiB. */
#define CAIRN_HTTPSTORE_REPLY_MAX (32u << 20)

/* The most body bytes a get of len bytes takes (the request's out_max): len,
 * or 0 (no limit) for CAIRN_STORE_TO_END. */
static inline uint64_t cairn_httpstore_get_max(uint64_t len)
{
	return len == CAIRN_STORE_TO_END ? 0 : len;
}

/* Whether a get of len bytes at off needs a Range (not for the whole
 * object), and its first and last byte (last CAIRN_HTTP_RANGE_END for "to
 * the end", also when off + len would pass UINT64_MAX). */
bool cairn_httpstore_range(uint64_t off, uint64_t len, uint64_t *ret_first, uint64_t *ret_last);

/* get of len 0: nothing to read, but the object must exist (stat) and off
 * may not be past its end. */
int cairn_httpstore_get_empty(struct cairn_store *s, const char *key, uint64_t off);

/* The reply to a GET of len bytes at off, body in out: 206 is cut to len;
 * 200 is the whole object (a server may ignore the Range; the client took
 * no more than len bytes of it), cut to the window; 416 is an empty read
 * at the end, past_end after it (from a stat), or a range the `peer`
 * ("server", "service") refused.  Returns 1, with out cleared, for any
 * other status: the driver maps the failure. */
int cairn_httpstore_get_reply(struct cairn_store *s, const char *key, uint64_t off, uint64_t len, long status,
			      const char *peer, struct cairn_buf *out);

/* CAIRN_EINVAL: off is past the end of the object (size bytes). */
int cairn_httpstore_past_end(const struct cairn_store *s, const char *key, uint64_t off, uint64_t size);

/* The size of an object from the Content-Length of a HEAD's 200 reply
 * (value may be NULL); CAIRN_EIO if it has none that is valid. */
int cairn_httpstore_stat_reply(const struct cairn_store *s, const char *key, const char *content_length,
			       uint64_t *ret_size);

/* ---- create-only puts ---- */

/* CAIRN_EEXIST: the object is there. */
int cairn_httpstore_exists(const struct cairn_store *s, const char *key);

/* 0 when the object is missing, CAIRN_EEXIST (message set) when it is
 * there, another error when stat failed: the check before a create-only
 * put that the server cannot make conditional (not atomic). */
int cairn_httpstore_absent(struct cairn_store *s, const char *key);

/* After a retried create-only put found the key, the object may be the
 * first attempt's: it is ours if it holds exactly our bytes. */
bool cairn_httpstore_is_ours(struct cairn_store *s, const char *key, const void *data, size_t len);

/* ---- failures ---- */

/* The words every failure message is made of. */
struct cairn_httpstore_what {
	char obj[1200];  /* "object KEY", or "bucket B" / "container C" for requests without a key */
	char det[400];   /* " (Code: message)", " (Code)" or "" */
	char after[64];  /* " (after N attempts)" when the request was retried, else "" */
};

/* Fills w.  key may be NULL (a request on the container: kind "bucket" or
 * "container", named container); code and msg are the service's ("" if
 * none; msg may be NULL). */
void cairn_httpstore_what(struct cairn_httpstore_what *w, const char *key, const char *kind, const char *container,
			  const char *code, const char *msg, unsigned attempts);

/* The mapping by status alone, once the driver's error codes and its own
 * statuses (403, and S3's NoSuchUpload, Azure's 401 and 409) said nothing:
 * 404 not found, 412 exists, 416 past the end, 405/501 unsupported, 5xx
 * and 429 a network error (the retries are spent), anything else EIO.
 * ep: the endpoint, uri: the store's, op: "get", "put", ... */
int cairn_httpstore_status_error(const char *ep, const char *uri, const char *op, long status,
				 const struct cairn_httpstore_what *w);

/* ---- listings ---- */

struct cairn_httpstore_entry {
	char *key;     /* the full name (the store's prefix included), owned */
	uint64_t size;
};

/* One page of a listing, as a driver's parser hands it over. */
struct cairn_httpstore_page {
	struct cairn_httpstore_entry *v;
	size_t n, cap;
	/* Where the next page starts (S3's continuation token, Azure's
	 * marker), never ""; NULL on the last page. */
	char *next;
};

/* Appends an entry, taking key on success (on failure it stays the
 * caller's). */
int cairn_httpstore_page_add(struct cairn_httpstore_page *p, char *key, uint64_t size);
void cairn_httpstore_page_free(struct cairn_httpstore_page *p);

/* Fetches the page of names starting with full (the store's prefix and the
 * caller's) that begins at next (NULL: the first page) into ret (zeroed
 * first, freed by the caller also on failure). */
typedef int (*cairn_httpstore_page_fn)(struct cairn_store *s, const char *full, const char *next,
				       struct cairn_httpstore_page *ret);

struct cairn_httpstore_lister {
	const char *store_prefix;  /* "" or "dir/" */
	/* Skip a name that is the store's prefix itself (Azure: a "dir/"
	 * blob is not a key of the store); S3 reports it as the key "". */
	bool skip_store_prefix;
	/* The message when a page names itself as the next: "the server
	 * repeated a continuation token". */
	const char *repeated;
	cairn_httpstore_page_fn page;
};

/* The store's list op: calls fn with the key (the store's prefix removed)
 * and size of every name under prefix, page after page until the last;
 * names the server sends outside the prefix are dropped.  A non-zero
 * return of fn stops the listing and is returned. */
int cairn_httpstore_list(struct cairn_store *s, const struct cairn_httpstore_lister *l, const char *prefix,
			 cairn_store_list_fn fn, void *ud);

/* ---- counters ---- */

/* The store's xfer op over its HTTP client's counters. */
int cairn_httpstore_xfer(struct cairn_http_client *http, struct cairn_store_xfer *ret);

#endif
