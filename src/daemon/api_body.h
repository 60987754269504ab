/* The request body cap of the daemon's HTTP API (413 past it), as pure
 * decisions the server (api.c) applies and tests/unit/test_api.c checks:
 * from the announced length before anything is read, and chunk by chunk
 * for bodies sent without one. */
#ifndef CAIRN_DAEMON_API_BODY_H
#define CAIRN_DAEMON_API_BODY_H

#include <stdbool.h>
#include <stddef.h>

/* Does a Content-Length header (NULL: none) announce more than max bytes?
 * A value that is not a plain decimal number counts as too large: it
 * cannot be trusted to be small. */
bool cairn_api_length_too_large(const char *content_length, size_t max);
/* May a body of have bytes grow by n and stay within max (no overflow)? */
bool cairn_api_body_fits(size_t have, size_t n, size_t max);

#endif
