/* Per-thread error message, set where a failure is detected.
 *
 * Pattern (libgit2): the function that sees the cause sets the message and
 * returns the code; callers above propagate the code untouched, or add context
 * with cairn_error_prefix().  Callbacks on libcurl's and the engine's worker threads set their own
 * thread's message and hand the code back to the caller's thread.
 */
#ifndef CAIRN_UTIL_ERROR_H
#define CAIRN_UTIL_ERROR_H

#include "cairn/error.h"

#include <stddef.h>

/* Sets this thread's message and returns code, so callers can write
 * `return cairn_error_set(CAIRN_EIO, "read %s: %s", path, strerror(errno));` */
int cairn_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to the current message; returns code. */
int cairn_error_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Maps an errno value to the closest cairn code (ENOSPC -> CAIRN_ENOSPC, ...). */
int cairn_error_from_errno(int err);

/* Sets a message from errno: "<what>: <strerror>" and returns the mapped code. */
int cairn_error_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets the message "out of memory" and returns CAIRN_ENOMEM: every failed
 * allocation reports through this, so the CLI never prints an older,
 * unrelated message for it. */
int cairn_error_nomem(void);

void cairn_error_clear(void);

/* Copies the current message into buf (for handing across threads). */
void cairn_error_copy(char *buf, size_t size);

#endif
