/* The store layer: where repository objects live (docs/design.md §7).
 *
 * A store is a flat namespace of write-once objects named by '/'-separated
 * keys ("packs/ab/abcd...").  Each driver provides one const ops table
 * (pgBackRest's StorageInterface): required calls first, optional ones after;
 * optional calls may be NULL and the inline wrappers below supply the default
 * or CAIRN_EUNSUPPORTED (git's odb/source.h).  Drivers embed struct
 * cairn_store as their first member and downcast in their ops (libgit2).
 *
 * All calls are safe to make from several threads at once on one store.
 * Errors: negative CAIRN_E* with the per-thread message set; a missing object
 * is CAIRN_ENOTFOUND, a conditional create that finds the key is CAIRN_EEXIST,
 * a full disk is CAIRN_ENOSPC.
 */
#ifndef CAIRN_STORE_STORE_H
#define CAIRN_STORE_STORE_H

#include "cairn/error.h"
#include "http/http.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Feature bits a store advertises (struct cairn_store's features). */
enum {
	CAIRN_STORE_FEAT_RANGE_GET = 1u << 0,   /* get with offset/length is cheap */
	CAIRN_STORE_FEAT_CREATE_ONLY = 1u << 1, /* put with CAIRN_PUT_CREATE_ONLY is atomic */
	CAIRN_STORE_FEAT_SERVER_COPY = 1u << 2, /* copy without moving bytes through us */
	CAIRN_STORE_FEAT_LOCAL = 1u << 3,       /* objects are files on this host */
};

/* Flags for put. */
enum {
	/* Fail with CAIRN_EEXIST instead of replacing an existing object. */
	CAIRN_PUT_CREATE_ONLY = 1u << 0,
	/* Not under the store's object lock (cairn_store_lock_set): for
	 * objects their owner deletes or replaces (leases, activity markers,
	 * holds, index objects: format.h OBJECT LOCK). */
	CAIRN_PUT_NO_RETENTION = 1u << 1,
};

/* Object Lock (S3): how long each object put is retained, and how hard.
 * COMPLIANCE: nobody, the bucket's owner included, can delete or
 * overwrite an object version before its date; GOVERNANCE: a user with
 * s3:BypassGovernanceRetention can. */
enum cairn_lock_mode {
	CAIRN_LOCK_COMPLIANCE,
	CAIRN_LOCK_GOVERNANCE,
};
struct cairn_store_lock {
	int64_t seconds; /* from each put; 0: no retention */
	enum cairn_lock_mode mode;
};

/* Length value meaning "to the end of the object". */
#define CAIRN_STORE_TO_END UINT64_MAX
/* Size value meaning "not known to the caller" (copy_from). */
#define CAIRN_STORE_SIZE_UNKNOWN UINT64_MAX

struct cairn_store;
struct cairn_store_xfer;
struct cairn_store_sweep;

/* Called once per key by list; return non-zero to stop (that value is
 * returned by list).  size is the object's size in bytes.  key is borrowed
 * for the duration of the call only. */
typedef int (*cairn_store_list_fn)(const char *key, uint64_t size, void *ud);

struct cairn_store_ops {
	const char *name; /* "local", "s3", ... */

	/* Required. */
	/* Reads len bytes at off (len may be CAIRN_STORE_TO_END) into out, which
	 * is cleared first.  Reading past the end returns the bytes that exist;
	 * an offset past the end returns CAIRN_EINVAL. */
	int (*get)(struct cairn_store *s, const char *key, uint64_t off, uint64_t len,
		   struct cairn_buf *out);
	/* Writes the whole object atomically: readers see the old object, no
	 * object, or the complete new one, never a part. */
	int (*put)(struct cairn_store *s, const char *key, const void *data, size_t len,
		   unsigned flags);
	/* Size of an object, CAIRN_ENOTFOUND if missing. */
	int (*stat)(struct cairn_store *s, const char *key, uint64_t *ret_size);
	/* Deletes; deleting a missing object is not an error. */
	int (*del)(struct cairn_store *s, const char *key);
	/* Calls fn for every key starting with prefix (any order). */
	int (*list)(struct cairn_store *s, const char *prefix, cairn_store_list_fn fn, void *ud);
	void (*free)(struct cairn_store *s);

	/* Optional (NULL when not supported). */
	int (*copy)(struct cairn_store *s, const char *from, const char *to);
	/* Makes sure the store's container (directory, bucket) exists. */
	int (*create)(struct cairn_store *s);
	/* Deletes n keys in as few round trips as the store allows (S3
	 * DeleteObjects: 1000 a request); missing keys are not an error.  On
	 * failure some of the keys may be deleted. */
	int (*del_many)(struct cairn_store *s, const char *const *keys, size_t n);
	/* Transfer counters of drivers that talk to a server (struct
	 * cairn_store_xfer below). */
	int (*xfer)(struct cairn_store *s, struct cairn_store_xfer *ret);
	/* Removes what writes killed midway left behind and started before
	 * the unix time `before`: temporary files (local), incomplete
	 * multipart uploads (S3).  NULL where the service cleans up itself
	 * (Azure discards uncommitted blocks within a week). */
	int (*sweep)(struct cairn_store *s, int64_t before, struct cairn_store_sweep *ret);
	/* Copies object src_key of store src to dst_key of s (create-only:
	 * CAIRN_EEXIST if dst_key exists, as put with CAIRN_PUT_CREATE_ONLY
	 * where the store can tell) on the server side, without the bytes
	 * passing through this host: S3 CopyObject / UploadPartCopy, Azure
	 * Put Blob From URL.  CAIRN_EUNSUPPORTED when s cannot reach src that
	 * way (another driver, endpoint or account): the caller then reads
	 * and writes (a copy between repositories, issue [dr]).
	 * size: the source's size when the caller knows it (from a record of
	 * its own), else CAIRN_STORE_SIZE_UNKNOWN: the driver then asks the
	 * source (one request).  A wrong size is not detected here: a caller
	 * that gives one verifies what it copied.  flags: without
	 * CAIRN_PUT_CREATE_ONLY an existing dst_key is success (kept or
	 * replaced), so the driver need not look before it copies: for keys
	 * that name their content, whose every copy is the same bytes. */
	int (*copy_from)(struct cairn_store *s, struct cairn_store *src, const char *src_key, const char *dst_key,
			 uint64_t size, unsigned flags);
	/* Object Lock: every later put without CAIRN_PUT_NO_RETENTION (and
	 * every multipart upload, and every copy_from) carries a retention
	 * of l->seconds from then, in l->mode; create makes the bucket with Object Lock enabled
	 * and refuses an existing bucket without it.  NULL where objects
	 * cannot be retained (local, Azure): cairn_store_lock_set says
	 * CAIRN_EUNSUPPORTED. */
	int (*lock_set)(struct cairn_store *s, const struct cairn_store_lock *l);
	/* The unix time until which key is retained (Object Lock), 0 when it
	 * is not; CAIRN_ENOTFOUND if missing.  NULL: never retained. */
	int (*lock_until)(struct cairn_store *s, const char *key, int64_t *ret_until);
};

/* What sweep removed. */
struct cairn_store_sweep {
	uint64_t removed, bytes; /* bytes: 0 where the store does not tell */
};

/* What a network store really moved, retries included: for progress that
 * counts bytes on the wire, and for benchmarks (requests per MiB). */
struct cairn_store_xfer {
	uint64_t requests, retries, bytes_sent, bytes_received;
};

struct cairn_store {
	const struct cairn_store_ops *ops; /* shared by every store of the driver: never written */
	char *uri; /* as given by the user, for messages; owned */
	/* CAIRN_STORE_FEAT_* of this store: set by the driver's open; a
	 * driver may withdraw one it learns the server lacks (S3's
	 * conditional writes), with __atomic operations, as other threads
	 * read them through cairn_store_has. */
	unsigned features;
	/* Transfers worth running at once against this store (pack uploads
	 * of a backup, range reads of a restore); 0 = the default of 2.
	 * Network drivers set their connection count (8 by default). */
	unsigned parallelism;
};

static inline int cairn_store_get(struct cairn_store *s, const char *key, uint64_t off, uint64_t len,
				  struct cairn_buf *out)
{
	return s->ops->get(s, key, off, len, out);
}

static inline int cairn_store_put(struct cairn_store *s, const char *key, const void *data, size_t len,
				  unsigned flags)
{
	return s->ops->put(s, key, data, len, flags);
}

static inline int cairn_store_stat(struct cairn_store *s, const char *key, uint64_t *ret_size)
{
	return s->ops->stat(s, key, ret_size);
}

static inline int cairn_store_del(struct cairn_store *s, const char *key)
{
	return s->ops->del(s, key);
}

static inline int cairn_store_list(struct cairn_store *s, const char *prefix, cairn_store_list_fn fn,
				   void *ud)
{
	return s->ops->list(s, prefix, fn, ud);
}

static inline bool cairn_store_has(const struct cairn_store *s, unsigned feature)
{
	return (__atomic_load_n(&s->features, __ATOMIC_RELAXED) & feature) == feature;
}

/* Deletes n keys: the driver's batch delete, or one del per key. */
static inline int cairn_store_del_many(struct cairn_store *s, const char *const *keys, size_t n)
{
	if (s->ops->del_many)
		return s->ops->del_many(s, keys, n);
	for (size_t i = 0; i < n; i++) {
		int r = s->ops->del(s, keys[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* copy_from with what the caller knows (size) and asks (flags). */
static inline int cairn_store_copy_from_ex(struct cairn_store *s, struct cairn_store *src, const char *src_key,
					   const char *dst_key, uint64_t size, unsigned flags)
{
	return s->ops->copy_from ? s->ops->copy_from(s, src, src_key, dst_key, size, flags) : CAIRN_EUNSUPPORTED;
}

/* Create-only, the size asked of the source. */
static inline int cairn_store_copy_from(struct cairn_store *s, struct cairn_store *src, const char *src_key,
					const char *dst_key)
{
	return cairn_store_copy_from_ex(s, src, src_key, dst_key, CAIRN_STORE_SIZE_UNKNOWN, CAIRN_PUT_CREATE_ONLY);
}

static inline int cairn_store_lock_set(struct cairn_store *s, const struct cairn_store_lock *l)
{
	return s->ops->lock_set ? s->ops->lock_set(s, l) : CAIRN_EUNSUPPORTED;
}

/* 0 in *ret_until for stores without object lock. */
static inline int cairn_store_lock_until(struct cairn_store *s, const char *key, int64_t *ret_until)
{
	*ret_until = 0;
	return s->ops->lock_until ? s->ops->lock_until(s, key, ret_until) : 0;
}

/* CAIRN_EUNSUPPORTED for stores that do not count (local). */
static inline int cairn_store_xfer(struct cairn_store *s, struct cairn_store_xfer *ret)
{
	return s->ops->xfer ? s->ops->xfer(s, ret) : CAIRN_EUNSUPPORTED;
}

static inline int cairn_store_sweep(struct cairn_store *s, int64_t before, struct cairn_store_sweep *ret)
{
	*ret = (struct cairn_store_sweep){ 0 };
	return s->ops->sweep ? s->ops->sweep(s, before, ret) : 0;
}

/* How many transfers the engine should keep in flight: memory for that
 * many packs (16 MiB each by default) is what it costs. */
static inline unsigned cairn_store_parallelism(const struct cairn_store *s)
{
	return s->parallelism ? s->parallelism : 2;
}

int cairn_store_create(struct cairn_store *s);

/* Every key under a prefix, collected (for callers that need the whole list
 * before acting on it, e.g. to sort it or to delete while iterating), with
 * the size the listing gave each: size[i] is v[i]'s (a caller that sorts v
 * must not use size afterwards). */
struct cairn_key_list {
	char **v;
	uint64_t *size;
	size_t n, cap;
};
int cairn_store_list_keys(struct cairn_store *s, const char *prefix, struct cairn_key_list *ret);
void cairn_key_list_free(struct cairn_key_list *l);
static inline void cairn_key_list_freep(struct cairn_key_list *l)
{
	cairn_key_list_free(l);
}

/* Frees any store; accepts NULL. */
void cairn_store_free(struct cairn_store *s);
static inline void cairn_store_freep(struct cairn_store **s)
{
	cairn_store_free(*s);
}

/* What the environment supplies below any option (AWS_*, GOOGLE_HMAC_*,
 * AZURE_STORAGE_*, CAIRN_HTTP_*, CAIRN_NO_DIRECT_IO): read once at start
 * by src/app/settings.c, never by the store itself.  Strings are borrowed
 * (the environment's own); NULL or "" = unset.  The CAIRN_HTTP_* values
 * are kept as written: the HTTP client checks them when it is made, and
 * warns there about a bad one, as it always did. */
struct cairn_store_env {
	struct {
		const char *access_key_id, *secret_access_key, *session_token;
		const char *region, *default_region;
	} aws;
	struct {
		const char *hmac_access_key, *hmac_secret;
	} google;
	struct {
		const char *account, *key, *sas_token;
	} azure;
	struct cairn_http_env http;
	bool no_direct_io; /* local: packs go through the page cache too */
};

/* The environment every store opened without its own (opts.env NULL)
 * uses: set once at start (app/settings.c); until then, an empty one. */
void cairn_store_set_env(const struct cairn_store_env *e);
const struct cairn_store_env *cairn_store_env_default(void);

/* S3 and Google Cloud Storage (HMAC keys). */
struct cairn_store_s3_opts {
	const char *access_key;
	const char *secret_key;
	const char *region;     /* S3 default "us-east-1"; GCS "auto" */
	const char *project_id; /* GCS: project a new bucket is made in */
};

/* Azure Blob. */
struct cairn_store_azure_opts {
	const char *account;
	const char *key; /* base64 Shared Key */
	const char *sas; /* SAS token, instead of the key */
};

/* How to reach an object store: what a credential (src/state/cred.h)
 * supplies, and the transfer limits.  Every field is optional (zero/NULL =
 * unset, and then the environment's value, if any, applies); parameters in
 * the URI itself (?endpoint=, ?region=) win over these, except that a
 * stored credential's secrets (cred set) go only to its own endpoint: see
 * cairn_uri_endpoint_parse.  Strings are borrowed for the duration of the
 * open call only: drivers copy what they keep, and wipe copies of secrets
 * when freed.  Which per-provider part a scheme reads is in its registry
 * entry (store/registry.h). */
struct cairn_store_opts {
	const char *provider;     /* "s3", "azure", "google"; NULL: the URI's scheme decides */
	/* The stored credential the secrets come from (its UUID, and its name
	 * or NULL, for messages).  Set: the secrets are bound to endpoint
	 * (else the provider's default) and to disable_ssl, and a URI's
	 * ?endpoint= naming another place is refused before any request. */
	const char *cred, *cred_name;
	/* Any object store */
	const char *endpoint;     /* "https://host[:port][/path]"; NULL: the provider's default */
	bool disable_ssl;         /* allow a plain http:// endpoint (see store/uri.h) */
	/* transfers */
	unsigned connections;     /* parallel transfers; 0 = the driver's default (8 for HTTP) */
	uint64_t limit_upload;    /* bytes per second over all uploads; 0 = unlimited */
	/* NULL: cairn_store_env_default() */
	const struct cairn_store_env *env;

	struct cairn_store_s3_opts s3;       /* s3://, gs:// */
	struct cairn_store_azure_opts azure; /* azure:// */
};

/* The environment o names, else the default (o may be NULL). */
static inline const struct cairn_store_env *cairn_store_opts_env(const struct cairn_store_opts *o)
{
	return o && o->env ? o->env : cairn_store_env_default();
}

/* Opens the store a repository URI names, through the driver its scheme's
 * registry entry names (store/registry.h): "/path", "file:///path" or a
 * relative path (local); s3://, azure://, gs:// with the given options (o
 * may be NULL: environment defaults only).  A credential's provider
 * (o->provider) must be one that serves the scheme.  Does not create
 * anything.  The test wrappers set up at start (store/testwrap.h) wrap
 * the store. */
int cairn_store_open_opts(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret);
/* Same as cairn_store_open_opts(uri, NULL, ret). */
int cairn_store_open(const char *uri, struct cairn_store **ret);

/* Drivers (reached through the registry). */
/* A directory; o may be NULL (and is, for cairn_store_local_open). */
int cairn_store_local_open_opts(const char *path, const struct cairn_store_opts *o, struct cairn_store **ret);
int cairn_store_local_open(const char *path, struct cairn_store **ret);
/* s3:// and gs:// URIs (store/s3/config.c has the grammar); o may be NULL. */
int cairn_store_s3_open(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret);
/* azure:// URIs (store/azure/config.c has the grammar); o may be NULL. */
int cairn_store_azure_open(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret);

#endif
