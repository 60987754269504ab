/* Bearer tokens of the daemon's HTTP API (`cairn token`; schema in
 * state.h, table api_tokens).  A token is "cairn_" and 64 random hex
 * digits, shown once when made; only its SHA-256 is stored, so a copy of
 * state.db lets no one in.  The token carries 256 random bits: a plain
 * hash is enough (no salt or slow KDF: nothing to guess). */
#ifndef CAIRN_STATE_TOKENS_H
#define CAIRN_STATE_TOKENS_H

#include "state/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAIRN_TOKEN_PREFIX "cairn_"
#define CAIRN_TOKEN_LEN (6 + 64)   /* prefix + hex digits */
#define CAIRN_TOKEN_HASH_LEN 64    /* hex digits of SHA-256 */

struct cairn_token {
	char *name;
	bool read_only;
	int64_t created, last_used; /* unix seconds; last_used 0: never */
};
void cairn_token_clear(struct cairn_token *t);
void cairn_tokens_free(struct cairn_token *v, size_t n);

/* The stored form of a token: SHA-256, hex. */
int cairn_token_hash(const char *token, char ret[CAIRN_TOKEN_HASH_LEN + 1]);
/* Equal, taking the same time whatever the first difference (both
 * CAIRN_TOKEN_HASH_LEN hex digits). */
bool cairn_token_hash_equal(const char *a, const char *b);

/* Makes a token called name (CAIRN_EEXIST when there is one); ret gets
 * the token itself, the only time anyone sees it. */
int cairn_token_create(struct cairn_state *st, const char *name, bool read_only, char ret[CAIRN_TOKEN_LEN + 1]);
int cairn_token_list(struct cairn_state *st, struct cairn_token **ret, size_t *ret_n);
/* CAIRN_ENOTFOUND when there is none. */
int cairn_token_revoke(struct cairn_state *st, const char *name);
/* The token a request presented: CAIRN_EAUTH unless it is one of ours
 * (compared in constant time against every row); *ret (may be NULL)
 * gets its row.  Records when it was last used (once a minute at most). */
int cairn_token_check(struct cairn_state *st, const char *token, int64_t now, struct cairn_token *ret);

#endif
