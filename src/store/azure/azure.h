/* Internal interface of the Azure Blob Storage driver (store/azure/).
 *
 * Files, one concern each (as store/s3/):
 *   config.c   the URI and the options: account, container, prefix,
 *              endpoint, credentials (Shared Key or SAS token), knobs
 *   auth.c     Shared Key signing (the canonical string-to-sign, HMAC-SHA256
 *              with the decoded account key) and SAS token checks
 *   parse.c    the XML documents we read: List Blobs pages, errors (over
 *              the strict, bounded reader of store/xml.c)
 *   error.c    reply -> CAIRN_E* code and one clear message
 *   request.c  URL building, the x-ms-* headers, signing, one request
 *              through the HTTP client
 *   store.c    the store ops: get, put, stat, del, create, open/free
 *   list.c     List Blobs pages with prefix and marker continuation
 *   blocks.c   Put Block in parallel + Put Block List, for large objects
 *   copy.c     server-side copy from another store of the account (Put
 *              Blob From URL, Copy Blob)
 *
 * What the S3 driver does alike is beside this folder: store/uri.c (URI
 * pieces: prefix, parameters, sizes, endpoint), store/xml.c and
 * store/httpstore.c (keys, get replies, create-only checks, failure
 * wording, the listing loop, parallel parts).
 *
 * Secrets: the account key and the SAS token live in secret memory and go
 * into requests only (the key as a signature, the SAS in the query string).
 * Every URL that carries a SAS is logged and reported without its query's
 * SAS part (cairn_http_request.log_url); messages never quote a SAS or a
 * signature.
 */
#ifndef CAIRN_STORE_AZURE_AZURE_H
#define CAIRN_STORE_AZURE_AZURE_H

#include "http/http.h"
#include "store/httpstore.h"
#include "store/store.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The REST API version we speak (x-ms-version). */
#define CAIRN_AZURE_VERSION "2021-12-02"

#define CAIRN_AZURE_BLOCK_SIZE_DEFAULT (8u << 20)
#define CAIRN_AZURE_THRESHOLD_DEFAULT (32u << 20)
#define CAIRN_AZURE_BLOCK_SIZE_MIN (16u << 10)
#define CAIRN_AZURE_BLOCK_SIZE_MAX (4000ull << 20) /* Put Block limit */
#define CAIRN_AZURE_PUT_BLOB_MAX (5000ull << 20)   /* Put Blob limit */
#define CAIRN_AZURE_MAX_BLOCKS 50000
#define CAIRN_AZURE_MAX_RESULTS 5000

/* ---- configuration (config.c) ---- */

enum cairn_azure_auth {
	CAIRN_AZURE_AUTH_KEY, /* Shared Key: Authorization header on every request */
	CAIRN_AZURE_AUTH_SAS, /* SAS token appended to every URL */
};

struct cairn_azure_config {
	char *account;
	char *container;
	char *prefix;          /* "" or "dir/sub/" (always ends with '/') */
	char *scheme;          /* "https" or "http" */
	char *host;            /* host[:port] of the endpoint */
	char *path;            /* path of the endpoint, "" or "/p" (no trailing '/') */
	char *endpoint;        /* scheme://host[path], for messages */
	bool allow_http;
	size_t block_size;
	size_t block_threshold; /* larger objects go up as blocks */
	unsigned max_results;  /* List Blobs page size (1..5000) */
	unsigned connections;
	uint64_t limit_upload;

	enum cairn_azure_auth auth;
	const char *auth_source; /* "the credential" or the environment variable, for messages */
	uint8_t *key;          /* decoded account key, secret memory */
	size_t key_len;
	char *sas;             /* SAS token without '?', secret memory */
	size_t sas_size;
	char sas_start[40];    /* its st= and se= (not secrets), decoded; "" if absent */
	char sas_expiry[40];
};

/* Parses an azure:// URI with the options (o may be NULL) and their
 * environment (cairn_store_opts_env) into ret (zeroed first; free with cairn_azure_config_free
 * even on failure).  Never puts a secret into the error message. */
int cairn_azure_config_parse(const char *uri, const struct cairn_store_opts *o, struct cairn_azure_config *ret);
void cairn_azure_config_free(struct cairn_azure_config *c);

/* ---- authentication (auth.c) ---- */

/* The Shared Key string-to-sign of a request (Azure Storage "Authorize with
 * Shared Key", versions 2015-02-21 and later): method, the standard headers
 * among `headers` ("Name: value" lines, NULL-terminated; names
 * case-insensitive), content_length (empty when 0), the x-ms-* headers
 * canonicalised and sorted, and the canonicalised resource
 * "/ACCOUNT" + path + one "\nname:value" line per query parameter (names
 * lower-cased and sorted, values decoded, repeated names joined by ',').
 * path is the request's encoded URL path, query its encoded query string
 * (without '?'; may be NULL or "").  out is cleared first and stays
 * NUL-terminated. */
int cairn_azure_string_to_sign(const char *method, const char *const *headers, uint64_t content_length,
			       const char *account, const char *path, const char *query, struct cairn_buf *out);

/* base64(HMAC-SHA256(key, data)) into out (44 characters and a NUL). */
int cairn_azure_hmac_b64(const uint8_t *key, size_t key_len, const void *data, size_t len, char out[45]);

/* Decodes a base64 account key into secret memory (*ret, *ret_len);
 * CAIRN_EAUTH for anything that is not base64 (the key is never quoted). */
int cairn_azure_key_decode(const char *b64, uint8_t **ret, size_t *ret_len);

/* Checks a SAS token (leading '?' dropped) and copies it into secret
 * memory: it must be a query string of URL-safe characters holding a sig=
 * parameter.  Fills c->sas, c->sas_size, c->sas_start and c->sas_expiry.
 * `source` names where it came from, for the message. */
int cairn_azure_sas_set(struct cairn_azure_config *c, const char *token, const char *source);

/* ISO 8601 UTC "2024-05-01T12:00:00Z" (seconds and 'Z' optional, as SAS
 * times are written; a date alone is midnight) -> seconds since the epoch;
 * -1 if malformed. */
int64_t cairn_azure_parse_time(const char *s);

/* RFC 1123 date for x-ms-date ("Sun, 06 Nov 1994 08:49:37 GMT"). */
void cairn_azure_date(time_t t, char out[32]);

/* ---- XML documents (parse.c) ---- */

struct cairn_azure_error {
	char code[64];      /* "BlobNotFound", "AuthenticationFailed", ... ("" if none) */
	char message[256];  /* first line of <Message> */
	char detail[256];   /* first line of <AuthenticationErrorDetail> */
};

/* Error document (root <Error>); CAIRN_ECORRUPT for anything else, e.g. an
 * HTML page from a proxy.  ret is always initialised. */
int cairn_azure_parse_error(const void *doc, size_t len, struct cairn_azure_error *ret);

/* One List Blobs page (root <EnumerationResults>): its blobs, and as
 * ret->next the NextMarker (NULL when the listing is complete).  Free ret
 * with cairn_httpstore_page_free, also on failure. */
int cairn_azure_parse_list(const void *doc, size_t len, struct cairn_httpstore_page *ret);

/* ---- the store ---- */

struct azure_store {
	struct cairn_store base;    /* first: the ops downcast */
	struct cairn_azure_config cfg;
	struct cairn_http_client *http;
	atomic_bool no_put_from_url; /* the service answered 501 to Put Blob From URL (Azurite) */
};

static inline struct azure_store *to_azure(struct cairn_store *s)
{
	return (struct azure_store *)s;
}

/* ---- requests (request.c) ---- */

/* Index in cairn_http_response.headers of x-ms-error-code, which every
 * call captures (HEAD replies carry their error only there); a call's own
 * want headers follow it. */
#define AZ_H_CODE 0
#define AZ_WANT_MAX (CAIRN_HTTP_MAX_WANT - 1)

struct azure_call {
	const char *method;
	const char *key;            /* key within the store (the prefix is added); NULL: the container */
	const char *query;          /* encoded query string without '?', any order; NULL for none */
	const void *body;
	size_t len;
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
	bool range;                 /* x-ms-range: bytes=first-last (last may be CAIRN_HTTP_RANGE_END) */
	uint64_t first, last;
	struct cairn_buf *out;      /* 2xx body; NULL discards */
	uint64_t out_max;           /* most body bytes taken (http.h); 0: no limit */
	const char *const *want;    /* response headers to capture, at most AZ_WANT_MAX; they land
				     * at headers[1..] of the response */
};

/* One request with retries; 0 when a reply came (any status). */
int cairn_azure_call(struct azure_store *s, const struct azure_call *c, struct cairn_http_response *rs);

/* The URL of an object (key) or of the container (key NULL) with the
 * encoded query (may be NULL), without any SAS: scheme://host[path]/container[/prefix+key][?query].
 * ret_path_off: where the path starts in it (for signing); may be NULL. */
int cairn_azure_url(const struct cairn_azure_config *cfg, const char *key, const char *query, struct cairn_buf *out,
		    size_t *ret_path_off);

/* The URL a request is sent to (sent: with the SAS token when the store
 * uses one) and the URL it is shown as in logs and messages (shown: never
 * with a SAS); ret_path_off as for cairn_azure_url. */
int cairn_azure_urls(const struct cairn_azure_config *cfg, const char *key, const char *query,
		     struct cairn_buf *sent, struct cairn_buf *shown, size_t *ret_path_off);

/* ---- errors (error.c) ---- */

/* Maps a failed reply to a code and sets one clear message naming the
 * operation, the object or container and the cause.  op: "get", "put", ...;
 * key NULL for container-level requests; code is the x-ms-error-code (or
 * the body's), e the parsed body (may be NULL: HEAD has none); now is the
 * current time (for telling an expired SAS). */
int cairn_azure_error_map(const struct cairn_azure_config *cfg, const char *uri, const char *op, const char *key,
			  long status, unsigned attempts, const char *code, const struct cairn_azure_error *e,
			  time_t now);

/* Maps the reply in rs, from its x-ms-error-code and error body. */
int cairn_azure_fail(struct azure_store *s, const char *op, const char *key, const struct cairn_http_response *rs);

/* The error code of a reply: the x-ms-error-code header, else the body's
 * <Code>, else "". */
const char *cairn_azure_reply_code(const struct cairn_http_response *rs, char *buf, size_t size);

/* Did a create-only request (If-None-Match: *) find the blob there?  409
 * BlobAlreadyExists, or 412 (ConditionNotMet). */
bool cairn_azure_reply_exists(const struct cairn_http_response *rs);

/* ---- operations in their own files ---- */

int cairn_azure_list(struct cairn_store *s, const char *prefix, cairn_store_list_fn fn, void *ud);
/* Put Block x N in parallel, then Put Block List (with If-None-Match: *
 * when create_only).  Returns CAIRN_EEXIST with a message when a
 * create-only commit finds the blob there. */
int cairn_azure_put_blocks(struct azure_store *s, const char *key, const uint8_t *data, size_t len,
			   bool create_only);
/* Server-side copy from another Azure store of the same account (copy.c). */
int cairn_azure_copy_from(struct cairn_store *s, struct cairn_store *src, const char *src_key, const char *dst_key,
			uint64_t size, unsigned flags);
/* Checks a key: non-empty, no leading '/', no control characters, no '\\'
 * (the service would make it a '/'), not too long. */
static inline int cairn_azure_key_check(struct azure_store *s, const char *key)
{
	return cairn_httpstore_key_check(&s->base, s->cfg.prefix, key, true);
}

#endif
