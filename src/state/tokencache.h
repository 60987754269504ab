/* The API tokens (state/tokens.h) held in memory for the daemon's hot
 * path: checking a bearer token without a query on api_tokens or a write.
 * Revocation stays immediate: before it trusts what it holds, every check
 * looks whether anything was committed to the database since it read the
 * table (the WAL-index header in shared memory, which every commit
 * rewrites, and, when that changed or cannot be read, PRAGMA data_version
 * on a connection of the cache's own, which never writes: both see other
 * connections' commits, this process's and the CLI's alike), and reads
 * the table again when so.
 * Thread-safe (a mutex): the API's server threads share one. */
#ifndef CAIRN_STATE_TOKENCACHE_H
#define CAIRN_STATE_TOKENCACHE_H

#include "state/state.h"

#include <stdbool.h>
#include <stdint.h>

struct cairn_token_cache;

/* A cache reading through st, which it takes (freed with it, also on
 * failure); st must not be used for anything else. */
int cairn_token_cache_new(struct cairn_state *st, struct cairn_token_cache **ret);
/* Accepts NULL. */
void cairn_token_cache_free(struct cairn_token_cache *c);

/* The token a request presented, like cairn_token_check but writing
 * nothing: 1 (and *ret_read_only) when it is one of the table's rows as of
 * now and its use was recorded within the last minute; CAIRN_EAUTH (the
 * error set) when it is none; 0 when cairn_token_check must decide (its
 * use is due to be recorded); another negative code when the database
 * could not be read. */
int cairn_token_cache_check(struct cairn_token_cache *c, const char *token, int64_t now, bool *ret_read_only);

#endif
