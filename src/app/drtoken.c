/* The export token (drtoken.h). */
#include "app/drtoken.h"
#include "crypto/crypto.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/hex.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void sum_of(const char *s, size_t n, char out[CAIRN_DR_TOKEN_SUM_HEX + 1])
{
	uint8_t h[32];
	cairn_sha256(s, n, h);
	cairn_hex_encode(h, CAIRN_DR_TOKEN_SUM_HEX / 2, out);
	out[CAIRN_DR_TOKEN_SUM_HEX] = 0;
}

int cairn_dr_token_encode(const json_t *doc, char **ret)
{
	_cleanup_free_ char *js = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (!js)
		return cairn_error_nomem();
	size_t n = strlen(js), pre = strlen(CAIRN_DR_TOKEN_PREFIX);
	size_t enc = (n * 4 + 2) / 3;
	char *out = malloc(pre + enc + 1 + CAIRN_DR_TOKEN_SUM_HEX + 1);
	if (!out)
		return cairn_error_nomem();
	memcpy(out, CAIRN_DR_TOKEN_PREFIX, pre);
	char *o = out + pre;
	const uint8_t *in = (const uint8_t *)js;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = b64url[v >> 18 & 63];
		*o++ = b64url[v >> 12 & 63];
		*o++ = b64url[v >> 6 & 63];
		*o++ = b64url[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		*o++ = b64url[v >> 18 & 63];
		*o++ = b64url[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*o++ = b64url[v >> 18 & 63];
		*o++ = b64url[v >> 12 & 63];
		*o++ = b64url[v >> 6 & 63];
	}
	char sum[CAIRN_DR_TOKEN_SUM_HEX + 1];
	sum_of(out + pre, (size_t)(o - (out + pre)), sum);
	*o++ = '.';
	memcpy(o, sum, CAIRN_DR_TOKEN_SUM_HEX + 1);
	*ret = out;
	return 0;
}

static int b64val(int c)
{
	const char *p = c ? strchr(b64url, c) : NULL;
	return p ? (int)(p - b64url) : -1;
}

#define DAMAGED "the token is truncated or damaged (its checksum does not match): paste the whole line 'cairn export-details' printed"

int cairn_dr_token_decode(const char *token, json_t **ret, char *ret_sum)
{
	/* Without blanks: a terminal or a mail may wrap a long line. */
	size_t len = strlen(token);
	_cleanup_free_ char *t = malloc(len + 1);
	if (!t)
		return cairn_error_nomem();
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (token[i] != ' ' && token[i] != '\n' && token[i] != '\r' && token[i] != '\t')
			t[n++] = token[i];
	t[n] = 0;
	if (strncmp(t, "cairn", 5) != 0 || !strchr(t, ':'))
		return cairn_error_set(CAIRN_EINVAL, "not an export token (one starts with '%s'; "
						     "'cairn export-details' prints it)", CAIRN_DR_TOKEN_PREFIX);
	size_t pre = strlen(CAIRN_DR_TOKEN_PREFIX);
	if (strncmp(t, CAIRN_DR_TOKEN_PREFIX, pre) != 0) {
		char *colon = strchr(t, ':');
		*colon = 0;
		return cairn_error_set(CAIRN_EINVAL, "export token version '%.16s' is not known to this cairn "
						     "(made by a newer one?); this one reads '%.*s'", t, (int)pre - 1,
				       CAIRN_DR_TOKEN_PREFIX);
	}
	char *body = t + pre, *dot = strrchr(body, '.');
	if (!dot || strlen(dot + 1) != CAIRN_DR_TOKEN_SUM_HEX)
		return cairn_error_set(CAIRN_EINVAL, DAMAGED);
	*dot = 0;
	char sum[CAIRN_DR_TOKEN_SUM_HEX + 1];
	sum_of(body, strlen(body), sum);
	for (char *p = dot + 1; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	if (strcmp(sum, dot + 1) != 0)
		return cairn_error_set(CAIRN_EINVAL, DAMAGED);
	size_t bn = strlen(body);
	if (bn % 4 == 1)
		return cairn_error_set(CAIRN_EINVAL, DAMAGED);
	_cleanup_free_ uint8_t *js = malloc(bn * 3 / 4 + 3);
	if (!js)
		return cairn_error_nomem();
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < bn; i++) {
		int v = b64val((unsigned char)body[i]);
		if (v < 0)
			return cairn_error_set(CAIRN_EINVAL, DAMAGED);
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			js[o++] = (uint8_t)(acc >> bits);
		}
	}
	json_error_t je;
	json_t *doc = json_loadb((const char *)js, o, JSON_REJECT_DUPLICATES, &je);
	if (!doc || !json_is_object(doc)) {
		json_decref(doc);
		return cairn_error_set(CAIRN_EINVAL, "the export token's document does not parse (%s)",
				       doc ? "not an object" : je.text);
	}
	json_int_t v = json_integer_value(json_object_get(doc, "v"));
	if (v != CAIRN_DR_TOKEN_VERSION) {
		json_decref(doc);
		return cairn_error_set(CAIRN_EINVAL, "export token document version %lld is not known to this cairn",
				       (long long)v);
	}
	if (ret_sum)
		memcpy(ret_sum, sum, CAIRN_DR_TOKEN_SUM_HEX + 1);
	*ret = doc;
	return 0;
}

/* Query parameters that never hold a secret (the drivers' config.c). */
static const char *const harmless[] = { "endpoint", "region", "style", "part_size", "multipart_threshold",
					"max_keys", "block_size", "block_threshold", "max_results" };

/* Drops "user:pass@" from the authority of a URL-like s[0..n) into b. */
static int strip_userinfo(const char *s, size_t n, bool drop_query, struct cairn_buf *b)
{
	const char *sep = NULL;
	for (size_t i = 0; i + 2 < n; i++)
		if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
			sep = s + i + 3;
			break;
		}
	/* The endpoint is percent-encoded in the query ("http%3A%2F%2F"). */
	const char *enc = NULL;
	for (size_t i = 0; !sep && i + 6 < n; i++)
		if (strncasecmp(s + i, "%3A%2F%2F", 9) == 0) {
			enc = s + i + 9;
			break;
		}
	const char *auth = sep ? sep : enc;
	if (!auth)
		return cairn_buf_append(b, s, n);
	size_t alen = (size_t)(s + n - auth), end = 0;
	while (end < alen && auth[end] != '/' && auth[end] != '?' && auth[end] != '#' &&
	       !(auth[end] == '%' && end + 2 < alen && (strncasecmp(auth + end, "%2F", 3) == 0 ||
							  strncasecmp(auth + end, "%3F", 3) == 0)))
		end++;
	size_t at = end;
	for (size_t i = 0; i < end; i++) {
		if (auth[i] == '@')
			at = i;
		else if (i + 2 < end && strncasecmp(auth + i, "%40", 3) == 0)
			at = i + 2;
	}
	int r = cairn_buf_append(b, s, (size_t)(auth - s));
	const char *host = at < end ? auth + at + 1 : auth;
	size_t rest = (size_t)(s + n - host);
	if (drop_query) {
		for (size_t i = 0; i < rest; i++)
			if (host[i] == '?' || host[i] == '#' || (host[i] == '%' && i + 2 < rest &&
								 strncasecmp(host + i, "%3F", 3) == 0)) {
				rest = i;
				break;
			}
	}
	if (r >= 0)
		r = cairn_buf_append(b, host, rest);
	return r;
}

int cairn_dr_uri_public(const char *uri, char **ret)
{
	const char *sch = strstr(uri, "://");
	if (!sch || strchr(uri, '/') < sch || strncmp(uri, "file://", 7) == 0) {
		const char *p = strncmp(uri, "file://", 7) == 0 ? uri + 7 : uri;
		char abs[PATH_MAX];
		*ret = strdup(realpath(p, abs) ? abs : p);
		return *ret ? 0 : cairn_error_nomem();
	}
	_cleanup_(cairn_buf_free) struct cairn_buf b = CAIRN_BUF_INIT;
	const char *q = strchr(uri, '?');
	size_t base = q ? (size_t)(q - uri) : strlen(uri);
	const char *hash = memchr(uri, '#', base);
	if (hash)
		base = (size_t)(hash - uri);
	int r = strip_userinfo(uri, base, true, &b);
	bool first = true;
	for (const char *p = q ? q + 1 : NULL; r >= 0 && p && *p;) {
		const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		size_t nlen = eq ? (size_t)(eq - p) : (size_t)(end - p);
		for (size_t i = 0; i < sizeof(harmless) / sizeof(*harmless); i++) {
			if (strlen(harmless[i]) != nlen || strncmp(p, harmless[i], nlen) != 0 || !eq)
				continue;
			r = cairn_buf_append(&b, first ? "?" : "&", 1);
			if (r >= 0)
				r = cairn_buf_append(&b, p, nlen + 1);
			if (r >= 0 && strcmp(harmless[i], "endpoint") == 0)
				r = strip_userinfo(eq + 1, (size_t)(end - eq - 1), true, &b);
			else if (r >= 0)
				r = cairn_buf_append(&b, eq + 1, (size_t)(end - eq - 1));
			first = false;
		}
		p = amp ? amp + 1 : NULL;
	}
	if (r >= 0)
		r = cairn_buf_append(&b, "", 1);
	if (r < 0)
		return r;
	size_t l;
	*ret = (char *)cairn_buf_steal(&b, &l);
	return 0;
}
