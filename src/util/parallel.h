/* Running n independent parts on a few threads: the parts of a multipart
 * upload, the blocks of an Azure blob, the leaves under a tree node. */
#ifndef CAIRN_UTIL_PARALLEL_H
#define CAIRN_UTIL_PARALLEL_H

/* Runs part(ud, i) for every i < n on min(n, threads) threads, the
 * caller's included (so it works if no thread can be started).  After the
 * first failure no part starts; that failure's code is returned with its
 * message set in the caller's thread.  part must be thread-safe; what it
 * uses bounds itself (an HTTP client's slot limit keeps a store's
 * connections bounded when several large puts run at once). */
int cairn_parallel(unsigned n, unsigned threads, int (*part)(void *ud, unsigned i), void *ud);

/* Starts fn(arg) on a detached thread (nobody joins it: fn owns arg and
 * says when it is done its own way).  0, or pthread_create's error as a
 * negative errno (fn then never runs and arg stays the caller's). */
int cairn_thread_detached(void *(*fn)(void *), void *arg);

#endif
