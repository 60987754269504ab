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
#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Feature bits a driver advertises. */
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
};

/* Length value meaning "to the end of the object". */
#define CAIRN_STORE_TO_END UINT64_MAX

struct cairn_store;
struct cairn_store_xfer;
struct cairn_store_sweep;

/* Called once per key by list; return non-zero to stop (that value is
 * returned by list).  size is the object's size in bytes.  key is borrowed
 * for the duration of the call only. */
typedef int (*cairn_store_list_fn)(const char *key, uint64_t size, void *ud);

struct cairn_store_ops {
	const char *name; /* "local", "s3", ... */
	unsigned features;

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
	const struct cairn_store_ops *ops;
	char *uri; /* as given by the user, for messages; owned */
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
	return (s->ops->features & feature) == feature;
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

/* How to reach an object store: what a credential (src/state/cred.h) or the
 * environment supplies.  Every field is optional (zero/NULL = unset);
 * parameters in the URI itself (?endpoint=, ?region=) win over these,
 * except that a stored credential's secrets (cred set) go only to its own
 * endpoint: see cairn_uri_endpoint_parse.  Strings are borrowed for the
 * duration of the open call only: drivers copy what they keep, and wipe
 * copies of secrets when freed. */
struct cairn_store_opts {
	const char *provider;     /* "s3", "azure", "google"; NULL: the URI's scheme decides */
	/* The stored credential the secrets below come from (its UUID, and its
	 * name or NULL, for messages).  Set: the secrets are bound to endpoint
	 * (else the provider's default) and to disable_ssl, and a URI's
	 * ?endpoint= naming another place is refused before any request. */
	const char *cred, *cred_name;
	/* Any object store */
	const char *endpoint;     /* "https://host[:port][/path]"; NULL: the provider's default */
	bool disable_ssl;         /* allow a plain http:// endpoint (see store/uri.h) */
	/* S3 and Google Cloud Storage (HMAC keys) */
	const char *access_key;
	const char *secret_key;
	const char *region;       /* S3 default "us-east-1"; GCS "auto" */
	const char *google_project_id; /* GCS: project a new bucket is made in */
	/* Azure Blob */
	const char *azure_account;
	const char *azure_key;    /* base64 Shared Key */
	const char *azure_sas;    /* SAS token, instead of the key */
	/* transfers */
	unsigned connections;     /* parallel transfers; 0 = the driver's default (8 for HTTP) */
	uint64_t limit_upload;    /* bytes per second over all uploads; 0 = unlimited */
};

/* Opens the store a repository URI names: "/path", "file:///path" or a
 * relative path (local); s3://, azure://, gs:// through their drivers with
 * the given options (o may be NULL: environment defaults).  Does not
 * create anything. */
int cairn_store_open_opts(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret);
/* Same as cairn_store_open_opts(uri, NULL, ret).  Does not
 * create anything.  For tests, the environment can wrap the store:
 * CAIRN_TEST_FAULT="ops=put+get,at=N,persistent=0|1,code=EIO,corrupt=PREFIX,
 * truncate=0|1" (all keys optional; defaults ops=all, at=0 (never), code=EIO)
 * adds the fault wrapper, and CAIRN_TEST_COUNT=FILE adds the counting wrapper
 * (outermost) that appends its counters to FILE when the store is freed. */
int cairn_store_open(const char *uri, struct cairn_store **ret);

/* Drivers. */
int cairn_store_local_open(const char *path, struct cairn_store **ret);
/* s3:// and gs:// URIs (store/s3/config.c has the grammar); o may be NULL. */
int cairn_store_s3_open(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret);
/* azure:// URIs (store/azure/config.c has the grammar); o may be NULL. */
int cairn_store_azure_open(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret);

/* Test wrappers (same shape, wrap another store; they take ownership of it
 * on success; on failure it stays the caller's). */

/* Fault injection (SQLite's test_vfs): the Nth call (counting every op from 1)
 * of the selected kinds fails with `code`; persistent faults keep failing
 * after N, transient ones fail once.  corrupt_get flips one byte in what get
 * returns for matching keys. */
enum {
	CAIRN_FAULT_GET = 1u << 0,
	CAIRN_FAULT_PUT = 1u << 1,
	CAIRN_FAULT_STAT = 1u << 2,
	CAIRN_FAULT_DEL = 1u << 3,
	CAIRN_FAULT_LIST = 1u << 4,
	CAIRN_FAULT_ALL = 0x1f,
};
struct cairn_fault_params {
	unsigned ops;        /* which calls count and may fail (CAIRN_FAULT_*) */
	unsigned fail_at;    /* 1-based index of the first failing call; 0 = never */
	bool persistent;     /* keep failing after the first fault */
	int code;            /* error to return, e.g. CAIRN_EIO, CAIRN_ENOSPC */
	const char *corrupt_prefix; /* flip a byte in gets of keys with this prefix; NULL = off */
	bool truncate_put;   /* on the failing put, store only half the object first */
};
int cairn_store_fault_wrap(struct cairn_store *inner, const struct cairn_fault_params *p,
			   struct cairn_store **ret);

/* Counting: counts calls and bytes per op kind, for tests and benchmarks. */
struct cairn_store_counts {
	uint64_t get, put, stat, del, list;
	uint64_t bytes_got, bytes_put;
};
int cairn_store_count_wrap(struct cairn_store *inner, struct cairn_store **ret);
/* Reads the counters of a store made by cairn_store_count_wrap (zeros for
 * any other store). */
void cairn_store_count_get(struct cairn_store *s, struct cairn_store_counts *ret);
/* Makes cairn_store_free() of a counting store append its counters as one
 * JSON line to path: {"uri":...,"get":N,"put":N,"stat":N,"del":N,"list":N,
 * "bytes_got":N,"bytes_put":N}.  Used for CAIRN_TEST_COUNT. */
int cairn_store_count_dump_on_free(struct cairn_store *s, const char *path);

#endif
