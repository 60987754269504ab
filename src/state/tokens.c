/* API tokens in the state database (tokens.h; schema in state.h). */
#include "state/tokens.h"
#include "crypto/crypto.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/hex.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cairn_token_clear(struct cairn_token *t)
{
	if (!t)
		return;
	free(t->name);
	memset(t, 0, sizeof(*t));
}

void cairn_tokens_free(struct cairn_token *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		cairn_token_clear(&v[i]);
	free(v);
}

int cairn_token_hash(const char *token, char ret[CAIRN_TOKEN_HASH_LEN + 1])
{
	uint8_t d[32];
	int r = cairn_sha256(token, strlen(token), d);
	if (r < 0)
		return r;
	cairn_hex_encode(d, sizeof(d), ret);
	ret[CAIRN_TOKEN_HASH_LEN] = 0;
	return 0;
}

bool cairn_token_hash_equal(const char *a, const char *b)
{
	return strlen(a) == CAIRN_TOKEN_HASH_LEN && strlen(b) == CAIRN_TOKEN_HASH_LEN &&
	       CRYPTO_memcmp(a, b, CAIRN_TOKEN_HASH_LEN) == 0;
}

int cairn_token_create(struct cairn_state *st, const char *name, bool read_only, char ret[CAIRN_TOKEN_LEN + 1])
{
	int r = cairn_state_name_check("token", name);
	if (r < 0)
		return r;
	uint8_t raw[32];
	if ((r = cairn_random(raw, sizeof(raw))) < 0)
		return r;
	char token[CAIRN_TOKEN_LEN + 1] = CAIRN_TOKEN_PREFIX;
	cairn_hex_encode(raw, sizeof(raw), token + strlen(CAIRN_TOKEN_PREFIX));
	token[CAIRN_TOKEN_LEN] = 0;
	cairn_wipe(raw, sizeof(raw));
	char hash[CAIRN_TOKEN_HASH_LEN + 1];
	if ((r = cairn_token_hash(token, hash)) < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	if ((r = cairn_state_prepare(st, "INSERT INTO api_tokens (name, hash, read_only, created) VALUES (?,?,?,?)",
				     &s)) < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 3, read_only);
	sqlite3_bind_int64(s, 4, (int64_t)time(NULL));
	int rc = sqlite3_step(s);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return cairn_error_set(CAIRN_EEXIST, "token %s exists (revoke it first: cairn token revoke %s)", name,
				       name);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "create token");
	memcpy(ret, token, sizeof(token));
	cairn_wipe(token, sizeof(token));
	return 0;
}

static int row(sqlite3_stmt *s, struct cairn_token *t)
{
	memset(t, 0, sizeof(*t));
	if (!(t->name = strdup((const char *)sqlite3_column_text(s, 0))))
		return cairn_error_nomem();
	t->read_only = sqlite3_column_int(s, 1) != 0;
	t->created = sqlite3_column_int64(s, 2);
	t->last_used = sqlite3_column_int64(s, 3);
	return 0;
}

int cairn_token_list(struct cairn_state *st, struct cairn_token **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "SELECT name, read_only, created, last_used FROM api_tokens ORDER BY name", &s);
	if (r < 0)
		return r;
	struct cairn_token *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cairn_array_grow(&v, &cap, n, sizeof(*v), 8) < 0 || row(s, &v[n]) < 0) {
			cairn_tokens_free(v, n);
			return cairn_error_nomem();
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		cairn_tokens_free(v, n);
		return cairn_state_sqlite_error(st, rc, "list tokens");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int cairn_token_revoke(struct cairn_state *st, const char *name)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, "DELETE FROM api_tokens WHERE name = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "revoke token");
	if (sqlite3_changes(cairn_state_db(st)) == 0)
		return cairn_error_set(CAIRN_ENOTFOUND, "no token called %s", name);
	return 0;
}

int cairn_token_check(struct cairn_state *st, const char *token, int64_t now, struct cairn_token *ret)
{
	char hash[CAIRN_TOKEN_HASH_LEN + 1];
	int r = cairn_token_hash(token, hash);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	if ((r = cairn_state_prepare(st, "SELECT name, read_only, created, last_used, hash FROM api_tokens", &s)) < 0)
		return r;
	/* Every row is compared, in constant time: neither the time taken nor
	 * an index lookup tells how much of a guess was right. */
	struct cairn_token found = { 0 };
	bool match = false;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(s, 4);
		if (h && cairn_token_hash_equal(hash, h) && !match) {
			if ((r = row(s, &found)) < 0)
				return r;
			match = true;
		}
	}
	if (rc != SQLITE_DONE) {
		cairn_token_clear(&found);
		return cairn_state_sqlite_error(st, rc, "check token");
	}
	if (!match)
		return cairn_error_set(CAIRN_EAUTH, "unknown or revoked token");
	if (now - found.last_used >= 60) {
		_cleanup_stmt_ sqlite3_stmt *u = NULL;
		if (cairn_state_prepare(st, "UPDATE api_tokens SET last_used = ? WHERE name = ?", &u) >= 0) {
			sqlite3_bind_int64(u, 1, now);
			sqlite3_bind_text(u, 2, found.name, -1, SQLITE_TRANSIENT);
			(void)sqlite3_step(u);
		}
		cairn_error_clear();
		found.last_used = now;
	}
	if (ret)
		*ret = found;
	else
		cairn_token_clear(&found);
	return 0;
}
