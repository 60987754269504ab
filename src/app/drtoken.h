/* The export token of `cairn export-details` and `cairn import`
 * (docs/design.md §13): one line a user pastes from one host into another,
 *
 *   cairn1:<base64url of a JSON document>.<checksum>
 *
 * where the checksum is the first 16 hex digits of SHA-256 over the
 * base64url text, so that a truncated or mangled paste is refused with
 * one clear line instead of being half-read.  "cairn1" is the token's
 * version: a reader refuses one it does not know.  The document never
 * holds a secret (no keys, passphrases or credential secrets; the URI
 * loses its user info and every query parameter that is not a known,
 * harmless one: cairn_dr_uri_public). */
#ifndef CAIRN_APP_DRTOKEN_H
#define CAIRN_APP_DRTOKEN_H

#include <jansson.h>
#include <stddef.h>

#define CAIRN_DR_TOKEN_PREFIX "cairn1:"
#define CAIRN_DR_TOKEN_VERSION 1
#define CAIRN_DR_TOKEN_SUM_HEX 16

/* The token of doc (*ret malloc'd, NUL-terminated, one line). */
int cairn_dr_token_encode(const json_t *doc, char **ret);
/* The document of a token (*ret owned: json_decref); ret_sum (may be
 * NULL, CAIRN_DR_TOKEN_SUM_HEX + 1 bytes) gets its checksum.  Blanks
 * around the token and line breaks inside it (a wrapped paste) are
 * ignored.  CAIRN_EINVAL with one line saying what is wrong: not a token,
 * a version this cairn does not know, truncated or damaged. */
int cairn_dr_token_decode(const char *token, json_t **ret, char *ret_sum);

/* uri without secrets (*ret malloc'd): a local path made absolute; in
 * scheme://..., the user info dropped, and of the query only the known
 * harmless parameters kept (endpoint, itself without user info or query;
 * region, style and the drivers' sizes). */
int cairn_dr_uri_public(const char *uri, char **ret);

#endif
