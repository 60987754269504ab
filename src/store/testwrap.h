/* Test wrappers around a store, and the switches that make every store
 * cairn_store_open_opts opens wrapped (CAIRN_TEST_FAULT, CAIRN_TEST_COUNT:
 * read by src/app/settings.c at start, so that the end-to-end tests can
 * inject faults into, and count the store calls of, the real binary).
 *
 * Each wrapper has its own ops table, made when it wraps: the inner
 * store's optional calls decide which of its own are NULL, and its name
 * is the inner store's, so wrapping is transparent.
 */
#ifndef CAIRN_STORE_TESTWRAP_H
#define CAIRN_STORE_TESTWRAP_H

#include "store/store.h"

/* Test wrappers (same shape, wrap another store; they take ownership of it
 * on success; on failure it stays the caller's). */

/* Fault injection (SQLite's test_vfs): the Nth call (counting every op from 1)
 * of the selected kinds fails with `code`; persistent faults keep failing
 * after N, transient ones fail once.  corrupt_get flips one byte in what get
 * returns for matching keys. */
enum {
	CAIRN_FAULT_GET = 1u << 0,
	CAIRN_FAULT_PUT = 1u << 1,  /* server-side copies (copy_from) count as puts */
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
	uint64_t copy_from; /* server-side copies asked of this store (as the destination) */
};
int cairn_store_count_wrap(struct cairn_store *inner, struct cairn_store **ret);
/* Reads the counters of a store made by cairn_store_count_wrap (zeros for
 * any other store). */
void cairn_store_count_get(struct cairn_store *s, struct cairn_store_counts *ret);
/* Makes cairn_store_free() of a counting store append its counters as one
 * JSON line to path: {"uri":...,"get":N,"put":N,"stat":N,"del":N,"list":N,
 * "bytes_got":N,"bytes_put":N}.  Used for CAIRN_TEST_COUNT. */
int cairn_store_count_dump_on_free(struct cairn_store *s, const char *path);

/* What every store cairn_store_open_opts opens gets wrapped in:
 * fault is a CAIRN_TEST_FAULT spec, "ops=put+get,at=N,persistent=0|1,
 * code=EIO,corrupt=PREFIX,truncate=0|1" (all keys optional; defaults
 * ops=all, at=0 (never), code=EIO), which adds the fault wrapper; count a
 * file (CAIRN_TEST_COUNT) that the counting wrapper (outermost) appends
 * its counters to when the store is freed.  NULL or "": none.  The
 * strings are borrowed for the life of the process (the environment's).
 * A bad spec is reported by the open. */
struct cairn_store_test_hooks {
	const char *fault;
	const char *count;
};
void cairn_store_set_test_hooks(const struct cairn_store_test_hooks *h);
/* Wraps *s as the hooks say (the open does it); on failure *s is still
 * the caller's.  A bad fault spec is CAIRN_EINVAL naming it. */
int cairn_store_test_wrap(struct cairn_store **s);

/* The store behind a test wrapper (NULL when s is not one of its kind). */
struct cairn_store *cairn_store_count_inner(struct cairn_store *s);
struct cairn_store *cairn_store_fault_inner(struct cairn_store *s);
/* The driver's store behind every test wrapper around s (s itself when
 * none), and behind a secondary wrapper (store/secondary.h) the one its
 * reads go to now: what a server-side copy (copy_from) must look at to
 * tell whether it can reach the source. */
struct cairn_store *cairn_store_unwrap(struct cairn_store *s);

#endif
