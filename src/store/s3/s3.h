/* Internal interface of the S3 driver (store/s3/), which also serves
 * Google Cloud Storage through its S3-compatible XML API.
 *
 * Files, one concern each (pgBackRest's storage/s3/):
 *   config.c     the URI and the options: bucket, prefix, endpoint,
 *                addressing, region, keys, knobs
 *   parse.c      the S3 documents we read: ListObjectsV2 pages, errors,
 *                multipart replies, DeleteObjects results
 *   error.c      reply -> CAIRN_E* code and one clear message
 *   request.c    URL building (path-style / virtual-hosted), signing
 *                headers, one request through the HTTP client
 *   store.c      the store ops: get, put, stat, del, create, open/free
 *   list.c       ListObjectsV2 pages with continuation tokens
 *   multipart.c  uploads above the multipart threshold, parts in parallel
 *   delete.c     DeleteObjects (1000 keys a request)
 *   copy.c       server-side copy from another S3 store (CopyObject,
 *                UploadPartCopy)
 *   sigv4.c      SigV4 computed here for UploadPartCopy, which libcurl
 *                7.88 signs wrongly
 *
 * What the Azure driver does alike is beside this folder: store/uri.c
 * (URI pieces: prefix, parameters, sizes, endpoint), store/xml.c (the
 * strict, bounded XML reader) and store/httpstore.c (keys, get replies,
 * create-only checks, failure wording, the listing loop, parallel parts).
 *
 * Signing is CURLOPT_AWS_SIGV4.  libcurl 7.88 signs what it is given and
 * does not canonicalise, so requests are built in canonical form here:
 * x-amz-content-sha256 is always sent, object keys are percent-encoded
 * (keeping '/'), and query strings are written sorted and encoded.
 */
#ifndef CAIRN_STORE_S3_S3_H
#define CAIRN_STORE_S3_S3_H

#include "http/http.h"
#include "store/httpstore.h"
#include "store/store.h"
#include "store/xml.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- configuration (config.c) ---- */

enum cairn_s3_flavor {
	CAIRN_S3_FLAVOR_S3,  /* AWS or any S3-compatible server */
	CAIRN_S3_FLAVOR_GCS, /* Google Cloud Storage, XML API with HMAC keys */
};

/* How a create-only put asks the server not to overwrite. */
enum cairn_s3_cond {
	CAIRN_S3_COND_IF_NONE_MATCH,   /* If-None-Match: * (AWS, RGW, MinIO; Swift answers 501) */
	CAIRN_S3_COND_GOOG_GENERATION, /* x-goog-if-generation-match: 0 (GCS) */
};

#define CAIRN_S3_PART_SIZE_DEFAULT (8u << 20)
#define CAIRN_S3_THRESHOLD_DEFAULT (32u << 20)
#define CAIRN_S3_PART_SIZE_MIN (1u << 20)
#define CAIRN_S3_PART_SIZE_MAX (5ull << 30)
#define CAIRN_S3_MAX_PARTS 10000

struct cairn_s3_config {
	enum cairn_s3_flavor flavor;
	char *bucket;
	char *prefix;        /* "" or "dir/sub/" (always ends with '/') */
	char *scheme;        /* "https" or "http" */
	char *host;          /* host[:port] of the endpoint */
	char *path;          /* path of the endpoint, "" or "/p" (no trailing '/') */
	char *endpoint;      /* scheme://host[path], for messages */
	char *region;
	bool virtual_host;   /* bucket.host/key instead of host/bucket/key */
	bool aws;            /* an amazonaws.com endpoint */
	bool allow_http;
	size_t part_size;
	size_t multipart_threshold; /* larger objects go up in parts */
	size_t copy_threshold; /* larger server-side copies go in parts (copy.c) */
	unsigned max_keys;   /* ListObjectsV2 page size (1..1000) */
	unsigned delete_batch; /* keys per DeleteObjects request (1..1000) */
	unsigned connections;
	uint64_t limit_upload;
	bool multi_delete;   /* DeleteObjects exists (not on GCS) */
	enum cairn_s3_cond cond;
	char *access_key;
	char *secret_key;    /* in secret memory (cairn_secret_alloc) */
	size_t secret_size;
	char *session_token; /* AWS_SESSION_TOKEN, secret memory too; NULL if none */
	size_t token_size;
	char *project_id;    /* GCS bucket creation; NULL if none */
};

/* Parses an s3:// or gs:// URI with the options (o may be NULL) and their
 * environment (cairn_store_opts_env) into ret (zeroed first; free with cairn_s3_config_free even
 * on failure).  Never puts a secret into the error message. */
int cairn_s3_config_parse(const char *uri, const struct cairn_store_opts *o, struct cairn_s3_config *ret);
void cairn_s3_config_free(struct cairn_s3_config *c);

/* ---- S3 documents (parse.c) ---- */

struct cairn_s3_error {
	char code[64];      /* "NoSuchKey", "SignatureDoesNotMatch", ... ("" if none) */
	char message[256];
	char bucket[256];   /* BucketName */
	char region[64];    /* Region (AuthorizationHeaderMalformed, redirects) */
	char endpoint[256]; /* Endpoint (PermanentRedirect) */
};

/* Error document (root <Error>); CAIRN_ECORRUPT for anything else, e.g.
 * an HTML page from a proxy.  ret is always initialised. */
int cairn_s3_parse_error(const void *doc, size_t len, struct cairn_s3_error *ret);

/* One ListObjectsV2 page (root <ListBucketResult>): its keys, and as
 * ret->next the NextContinuationToken when <IsTruncated> is true (NULL
 * when it is false); a truncated page without a token is CAIRN_ECORRUPT.
 * Free ret with cairn_httpstore_page_free, also on failure. */
int cairn_s3_parse_list(const void *doc, size_t len, struct cairn_httpstore_page *ret);

/* <InitiateMultipartUploadResult><UploadId>; *ret is owned. */
int cairn_s3_parse_upload_id(const void *doc, size_t len, char **ret);

/* CompleteMultipartUpload's reply, which can be an error even with status
 * 200: 0 for <CompleteMultipartUploadResult>, 1 for <Error> (err filled),
 * CAIRN_ECORRUPT otherwise. */
int cairn_s3_parse_complete(const void *doc, size_t len, struct cairn_s3_error *err);

/* The reply of CopyObject or UploadPartCopy, which can be an error even
 * with status 200: 0 for <CopyObjectResult> or <CopyPartResult> (its
 * ETag into etag, "" if none or longer than etag_size), 1 for <Error>
 * (err filled), CAIRN_ECORRUPT otherwise (an empty body too). */
int cairn_s3_parse_copy(const void *doc, size_t len, char *etag, size_t etag_size, struct cairn_s3_error *err);

/* DeleteObjects' reply (root <DeleteResult>): returns how many <Error>
 * entries are real failures (NoSuchKey is not one) and describes the
 * first of them in first/first_key. */
int cairn_s3_parse_delete(const void *doc, size_t len, struct cairn_s3_error *first, char *first_key,
			  size_t keysize);

/* ListMultipartUploads' reply (root <ListMultipartUploadsResult>): the
 * uploads in progress, and where the next page starts when <IsTruncated>
 * is true (a truncated page without NextKeyMarker is CAIRN_ECORRUPT).
 * Free with cairn_s3_uploads_free, also on failure. */
struct cairn_s3_upload {
	char *key, *upload_id;
	int64_t initiated; /* unix time */
};
struct cairn_s3_uploads {
	struct cairn_s3_upload *v;
	size_t n, cap;
	char *next_key, *next_upload_id; /* NULL on the last page */
};
int cairn_s3_parse_uploads(const void *doc, size_t len, struct cairn_s3_uploads *ret);
void cairn_s3_uploads_free(struct cairn_s3_uploads *u);

/* ---- the store ---- */

struct s3_store {
	struct cairn_store base;    /* first: the ops downcast */
	struct cairn_s3_config cfg;
	struct cairn_http_client *http;
	char *sigv4;                /* "aws:amz:REGION:s3" */
	atomic_bool cond_unsupported;  /* server answered 501 to a conditional put */
	atomic_bool multi_delete_unsupported;
	atomic_bool bucket_seen;    /* some request on the bucket succeeded */
	struct cairn_store_lock lock; /* set once after open (lock_set), before any put */
};

static inline struct s3_store *to_s3(struct cairn_store *s)
{
	return (struct s3_store *)s;
}

/* ---- requests (request.c) ---- */

struct s3_call {
	const char *method;
	const char *key;              /* key within the store (the prefix is added); NULL: the bucket */
	const char *query;            /* canonical query string (sorted, encoded), or NULL */
	const void *body;
	size_t len;
	const char *sha256;           /* hex SHA-256 of the body; NULL: UNSIGNED-PAYLOAD */
	const char *const *headers;   /* extra "Name: value" lines, NULL-terminated */
	bool range;
	uint64_t first, last;
	struct cairn_buf *out;        /* 2xx body; NULL discards */
	uint64_t out_max;             /* most body bytes taken (http.h); 0: no limit */
	const char *const *want;      /* response headers to capture */
};

/* One request with retries; 0 when a reply came (any status). */
int cairn_s3_call(struct s3_store *s, const struct s3_call *c, struct cairn_http_response *rs);

/* As cairn_s3_call, signed by sigv4.c instead of libcurl: for requests
 * with headers whose names are prefixes of each other (UploadPartCopy),
 * which libcurl 7.88 signs in the wrong order. */
int cairn_s3_call_signed(struct s3_store *s, const struct s3_call *c, struct cairn_http_response *rs);

/* The SigV4 Authorization value (without "Authorization: ") of a request
 * whose headers are exactly `headers` ("Name: value", NULL-terminated,
 * at most 12; Host, x-amz-date and x-amz-content-sha256 among them), with
 * path[0..path_len) its encoded path, query its canonical query (or
 * NULL), payload the body's hash or UNSIGNED-PAYLOAD, date the x-amz-date
 * (YYYYMMDDTHHMMSSZ).  Pure: tests check it against AWS's examples. */
int cairn_s3_sigv4(const char *access_key, const char *secret, const char *region, const char *method,
		   const char *path, size_t path_len, const char *query, const char *const *headers,
		   const char *payload, const char *date, char *ret, size_t size);

/* The full key of an object (prefix + key) percent-encoded as a URL path. */
int cairn_s3_url(const struct cairn_s3_config *cfg, const char *key, const char *query, struct cairn_buf *out);

/* ---- errors (error.c) ---- */

/* Maps a failed reply to a code and sets one clear message naming the
 * operation, the object or bucket and the cause.  op: "get", "put", ...;
 * key NULL for bucket-level requests; e may be NULL (HEAD has no body). */
int cairn_s3_error_map(const struct cairn_s3_config *cfg, const char *uri, const char *op, const char *key,
		       long status, unsigned attempts, const struct cairn_s3_error *e);

/* Maps the reply in rs, parsing its error body; a HEAD's bodiless failure
 * is explained by repeating the request as a one-byte GET. */
int cairn_s3_fail(struct s3_store *s, const char *op, const char *key, const struct cairn_http_response *rs);

/* The S3 replies worth retrying beyond 5xx and 429 (retry_fn). */
bool cairn_s3_retryable(long status, const struct cairn_buf *err_body, void *ud);

/* ---- operations in their own files ---- */

int cairn_s3_list(struct cairn_store *s, const char *prefix, cairn_store_list_fn fn, void *ud);
int cairn_s3_put_multipart(struct s3_store *s, const char *key, const uint8_t *data, size_t len, unsigned flags);
int cairn_s3_del_many(struct cairn_store *s, const char *const *keys, size_t n);
int cairn_s3_sweep(struct cairn_store *s, int64_t before, struct cairn_store_sweep *ret);
/* Server-side copy from another S3 store on the same endpoint (copy.c). */
int cairn_s3_copy_from(struct cairn_store *s, struct cairn_store *src, const char *src_key, const char *dst_key,
			uint64_t size, unsigned flags);
/* Completes (CompleteMultipartUpload, with its retries) or aborts the
 * multipart upload upload_id_q ("uploadId=ENC") of key, len bytes in
 * nparts parts with those ETags: multipart.c's, for copy.c. */
int cairn_s3_mpu_complete(struct s3_store *s, const char *key, uint64_t len, const char *upload_id_q, char **etags,
			  unsigned nparts);
void cairn_s3_mpu_abort(struct s3_store *s, const char *key, const char *upload_id_q);
/* Object Lock (lock.c). */
int cairn_s3_lock_set(struct cairn_store *s, const struct cairn_store_lock *l);
int cairn_s3_lock_until(struct cairn_store *s, const char *key, int64_t *ret_until);
/* The headers of a put under the lock (none when the store has no lock or
 * flags has CAIRN_PUT_NO_RETENTION): mode, retain-until and, with md5,
 * Content-MD5 of data; appended to hdr at *n (room for 3 more), their
 * text in h. */
struct cairn_s3_lock_hdrs {
	char mode[64], until[96], md5[64];
	char date[48]; /* the retain-until date alone */
};
int cairn_s3_lock_headers(struct s3_store *s, unsigned flags, const void *data, size_t len, bool md5,
			  struct cairn_s3_lock_hdrs *h, const char **hdr, size_t *n);
/* "Content-MD5: <base64>" of data. */
int cairn_s3_md5_header(const void *data, size_t len, char out[64]);
/* PutObjectRetention: the retention of h (made by cairn_s3_lock_headers)
 * on key's current version, for servers that do not take it from
 * CreateMultipartUpload (Ceph RGW 16). */
int cairn_s3_lock_retention_put(struct s3_store *s, const char *key, const struct cairn_s3_lock_hdrs *h);
/* The store's retention (now + its seconds) on key, when it has one: for
 * server-side copies (copy.c), which take no retention headers on every
 * server. */
int cairn_s3_lock_retain(struct s3_store *s, const char *key);
/* del in a locked store: by version, refusing a retained one. */
int cairn_s3_lock_del(struct s3_store *s, const char *key);
/* CAIRN_EINVAL (one line) unless the bucket has Object Lock enabled. */
int cairn_s3_lock_bucket_check(struct s3_store *s);
/* An x-amz date ("2026-12-08T15:19:20.000Z"): unix seconds, -1 if invalid. */
int64_t cairn_s3_parse_date(const char *v);

/* Checks a key: non-empty, no leading '/', no control characters, not
 * too long. */
static inline int cairn_s3_key_check(struct s3_store *s, const char *key)
{
	return cairn_httpstore_key_check(&s->base, s->cfg.prefix, key, false);
}

#endif
