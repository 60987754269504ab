/* Authentication: Shared Key signatures and SAS tokens.
 *
 * Shared Key ("Authorize with Shared Key" in the Azure Storage REST
 * reference): every request carries
 *     Authorization: SharedKey ACCOUNT:base64(HMAC-SHA256(key, StringToSign))
 * where key is the base64-decoded account key and StringToSign is built
 * from the request itself (cairn_azure_string_to_sign).  The signer reads
 * the very header lines that are sent, so what is signed and what goes on
 * the wire cannot drift apart.  x-ms-date stands in for Date, which stays
 * empty.
 *
 * SAS tokens are query strings signed by whoever made them; we only check
 * their shape, keep them in secret memory and read their validity times
 * (st=, se=, not secrets) so that a rejected token can be explained as
 * expired without quoting it.
 */
#include "store/azure/azure.h"
#include "store/uri.h"
#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int oom(void)
{
	return cairn_error_nomem();
}

/* Appends s[0..n) percent-decoded ('+' stays '+': Azure decodes it so).
 * Unlike cairn_uri_decode, which refuses them, a '%' without two hex
 * digits is kept as it is: this reads queries we send (for signing) and
 * SAS times, and has nothing to refuse. */
static int append_decoded(struct cairn_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int a, c;
		if (s[i] == '%' && i + 2 < n && (a = cairn_uri_hexval((unsigned char)s[i + 1])) >= 0 &&
		    (c = cairn_uri_hexval((unsigned char)s[i + 2])) >= 0) {
			if (cairn_buf_append_u8(b, (uint8_t)(a * 16 + c)) < 0)
				return cairn_error_nomem();
			i += 2;
		} else if (cairn_buf_append_u8(b, (uint8_t)s[i]) < 0) {
			return cairn_error_nomem();
		}
	}
	return 0;
}

/* ---- the string to sign ---- */

/* The value of header `name` among the lines, trimmed; NULL if absent. */
static const char *header_value(const char *const *headers, const char *name, size_t *ret_len)
{
	size_t n = strlen(name);
	for (size_t i = 0; headers && headers[i]; i++) {
		const char *h = headers[i];
		if (strncasecmp(h, name, n) != 0 || h[n] != ':')
			continue;
		const char *v = h + n + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t len = strlen(v);
		while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		*ret_len = len;
		return v;
	}
	return NULL;
}

struct canon_header {
	char name[64];
	const char *value;
	size_t len;
};

static int cmp_header(const void *a, const void *b)
{
	return strcmp(((const struct canon_header *)a)->name, ((const struct canon_header *)b)->name);
}

/* "name:value\n" with the value's runs of white space folded to one space. */
static int append_canon_header(struct cairn_buf *b, const struct canon_header *h)
{
	if (cairn_buf_append(b, h->name, strlen(h->name)) < 0 || cairn_buf_append_u8(b, ':') < 0)
		return cairn_error_nomem();
	bool space = false;
	for (size_t i = 0; i < h->len; i++) {
		char c = h->value[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = true;
			continue;
		}
		if (space && cairn_buf_append_u8(b, ' ') < 0)
			return cairn_error_nomem();
		space = false;
		if (cairn_buf_append_u8(b, (uint8_t)c) < 0)
			return cairn_error_nomem();
	}
	return cairn_buf_append_u8(b, '\n') < 0 ? cairn_error_nomem() : 0;
}

struct qparam {
	char *name;  /* lower-cased, decoded */
	char *value; /* decoded */
};

static int cmp_qparam(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

static char *decode_dup(const char *s, size_t n, bool lower)
{
	struct cairn_buf b = CAIRN_BUF_INIT;
	if (append_decoded(&b, s, n) < 0 || cairn_buf_append_u8(&b, 0) < 0) {
		cairn_buf_free(&b);
		return NULL;
	}
	if (lower)
		for (size_t i = 0; i < b.len; i++)
			b.data[i] = (uint8_t)tolower(b.data[i]);
	return (char *)b.data;
}

static void qparams_free(struct qparam *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

/* The query's "\nname:v1,v2" lines, names sorted. */
static int append_canon_query(struct cairn_buf *b, const char *query)
{
	if (!query || !*query)
		return 0;
	size_t max = 1;
	for (const char *p = query; *p; p++)
		max += *p == '&';
	struct qparam *v = calloc(max, sizeof(*v));
	size_t n = 0;
	int r = 0;
	if (!v)
		return cairn_error_nomem();
	for (const char *p = query; *p;) {
		size_t len = strcspn(p, "&");
		if (len) {
			const char *eq = memchr(p, '=', len);
			size_t nlen = eq ? (size_t)(eq - p) : len;
			v[n].name = decode_dup(p, nlen, true);
			v[n].value = eq ? decode_dup(eq + 1, len - nlen - 1, false) : strdup("");
			n++;
			if (!v[n - 1].name || !v[n - 1].value) {
				r = cairn_error_nomem();
				goto out;
			}
		}
		p += len;
		if (*p == '&')
			p++;
	}
	qsort(v, n, sizeof(*v), cmp_qparam);
	for (size_t i = 0; i < n && r == 0; i++) {
		bool first = i == 0 || strcmp(v[i - 1].name, v[i].name) != 0;
		if (first)
			r = cairn_buf_append_u8(b, '\n') < 0 || cairn_buf_append(b, v[i].name, strlen(v[i].name)) < 0 ||
					    cairn_buf_append_u8(b, ':') < 0
				    ? cairn_error_nomem()
				    : 0;
		else
			r = cairn_buf_append_u8(b, ',') < 0 ? cairn_error_nomem() : 0;
		if (r == 0 && cairn_buf_append(b, v[i].value, strlen(v[i].value)) < 0)
			r = cairn_error_nomem();
	}
out:
	qparams_free(v, n);
	return r;
}

int cairn_azure_string_to_sign(const char *method, const char *const *headers, uint64_t content_length,
			       const char *account, const char *path, const char *query, struct cairn_buf *out)
{
	/* The standard headers, in the order the service wants them. */
	static const char *const standard[] = {
		"Content-Encoding", "Content-Language", "Content-Length", "Content-MD5", "Content-Type", "Date",
		"If-Modified-Since", "If-Match", "If-None-Match", "If-Unmodified-Since", "Range",
	};
	struct canon_header ms[32];
	size_t nms = 0;
	int r;

	cairn_buf_clear(out);
	if (cairn_buf_append(out, method, strlen(method)) < 0 || cairn_buf_append_u8(out, '\n') < 0)
		return oom();
	for (size_t i = 0; i < ARRAY_SIZE(standard); i++) {
		char num[24];
		const char *v = NULL;
		size_t len = 0;
		if (!strcmp(standard[i], "Content-Length")) {
			/* Empty, not "0", for bodiless requests (versions since 2015-02-21). */
			if (content_length) {
				len = (size_t)snprintf(num, sizeof(num), "%llu", (unsigned long long)content_length);
				v = num;
			}
		} else {
			v = header_value(headers, standard[i], &len);
		}
		if ((v && cairn_buf_append(out, v, len) < 0) || cairn_buf_append_u8(out, '\n') < 0)
			return oom();
	}

	for (size_t i = 0; headers && headers[i]; i++) {
		const char *h = headers[i];
		if (strncasecmp(h, "x-ms-", 5) != 0)
			continue;
		size_t nlen = strcspn(h, ":");
		if (!h[nlen] || nlen >= sizeof(ms[0].name))
			return cairn_error_set(CAIRN_EINVAL, "malformed request header");
		if (nms == ARRAY_SIZE(ms))
			return cairn_error_set(CAIRN_EINVAL, "too many x-ms- headers");
		for (size_t k = 0; k < nlen; k++)
			ms[nms].name[k] = (char)tolower((unsigned char)h[k]);
		ms[nms].name[nlen] = 0;
		ms[nms].value = header_value(&headers[i], ms[nms].name, &ms[nms].len);
		nms++;
	}
	qsort(ms, nms, sizeof(ms[0]), cmp_header);
	for (size_t i = 0; i < nms; i++)
		if (append_canon_header(out, &ms[i]) < 0)
			return oom();

	if (cairn_buf_append_u8(out, '/') < 0 || cairn_buf_append(out, account, strlen(account)) < 0 ||
	    cairn_buf_append(out, path && *path ? path : "/", path && *path ? strlen(path) : 1) < 0)
		return oom();
	if ((r = append_canon_query(out, query)) < 0)
		return oom();
	if (cairn_buf_append_u8(out, 0) < 0)
		return oom();
	out->len--; /* the NUL stays, uncounted */
	return 0;
}

int cairn_azure_hmac_b64(const uint8_t *key, size_t key_len, const void *data, size_t len, char out[45])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned mlen = 0;
	if (key_len > INT32_MAX || !HMAC(EVP_sha256(), key, (int)key_len, data, len, mac, &mlen) || mlen != 32)
		return cairn_error_set(CAIRN_ECRYPTO, "HMAC-SHA256 failed");
	EVP_EncodeBlock((unsigned char *)out, mac, 32);
	cairn_wipe(mac, sizeof(mac));
	return 0;
}

int cairn_azure_key_decode(const char *b64, uint8_t **ret, size_t *ret_len)
{
	size_t n = strlen(b64);
	int outl = 0, fin = 0;
	if (n == 0 || n > 4096)
		return cairn_error_set(CAIRN_EAUTH, "the Azure account key is %s", n ? "too long" : "empty");
	uint8_t *key = cairn_secret_alloc(n);
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	if (!key || !ctx) {
		cairn_secret_free(key, n);
		EVP_ENCODE_CTX_free(ctx);
		return oom();
	}
	EVP_DecodeInit(ctx);
	int ok = EVP_DecodeUpdate(ctx, key, &outl, (const unsigned char *)b64, (int)n) >= 0 &&
		 EVP_DecodeFinal(ctx, key + outl, &fin) == 1;
	EVP_ENCODE_CTX_free(ctx);
	/* Only the base64 alphabet and padding: OpenSSL skips white space. */
	for (const char *p = b64; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || *p == '+' || *p == '/' || *p == '=';
	if (!ok || outl + fin == 0) {
		cairn_secret_free(key, n);
		return cairn_error_set(CAIRN_EAUTH, "the Azure account key is not valid base64");
	}
	/* Exactly the key's size, which secret_free is told again later. */
	size_t len = (size_t)(outl + fin);
	uint8_t *exact = cairn_secret_alloc(len);
	if (exact)
		memcpy(exact, key, len);
	cairn_secret_free(key, n);
	if (!exact)
		return oom();
	*ret = exact;
	*ret_len = len;
	return 0;
}

/* ---- SAS tokens ---- */

static bool sas_char(unsigned char c)
{
	return isalnum(c) || strchr("-._~%=&,:+/!*'();@$", c);
}

int64_t cairn_azure_parse_time(const char *s)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	struct tm tm = { 0 };
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
		return -1;
	const char *p = s + n;
	if (*p == 'T') {
		int k = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &k) != 2)
			return -1;
		p += 1 + k;
		if (*p == ':') {
			if (sscanf(p + 1, "%2d%n", &sec, &k) != 1)
				return -1;
			p += 1 + k;
			if (*p == '.') /* fractions of a second */
				for (p++; isdigit((unsigned char)*p); p++)
					;
		}
		if (*p == 'Z')
			p++;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm);
}

void cairn_azure_date(time_t t, char out[32])
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	gmtime_r(&t, &tm);
	/* Not strftime: %a and %b follow the locale. */
	snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
		 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Copies the decoded value of parameter name (not a secret: st, se) into dst. */
static void sas_param(const char *tok, const char *name, char *dst, size_t size)
{
	size_t n = strlen(name);
	dst[0] = 0;
	for (const char *p = tok; *p;) {
		size_t len = strcspn(p, "&");
		if (len > n && !strncmp(p, name, n) && p[n] == '=') {
			struct cairn_buf b = CAIRN_BUF_INIT;
			if (append_decoded(&b, p + n + 1, len - n - 1) == 0)
				snprintf(dst, size, "%.*s", (int)b.len, (const char *)b.data);
			cairn_buf_free(&b);
			/* Only a time is kept: nothing else may end up in a message. */
			if (cairn_azure_parse_time(dst) < 0)
				dst[0] = 0;
			return;
		}
		p += len;
		if (*p == '&')
			p++;
	}
}

int cairn_azure_sas_set(struct cairn_azure_config *c, const char *token, const char *source)
{
	if (*token == '?')
		token++;
	size_t n = strlen(token);
	if (n == 0)
		return cairn_error_set(CAIRN_EAUTH, "the SAS token from %s is empty", source);
	for (const char *p = token; *p; p++)
		if (!sas_char((unsigned char)*p))
			return cairn_error_set(CAIRN_EAUTH,
					       "the SAS token from %s is not a URL query string (it holds a character "
					       "such as a space, '#' or a control character)",
					       source);
	bool sig = false;
	for (const char *p = token; *p;) {
		size_t len = strcspn(p, "&");
		if (len > 4 && !strncmp(p, "sig=", 4))
			sig = true;
		p += len;
		if (*p == '&')
			p++;
	}
	if (!sig)
		return cairn_error_set(CAIRN_EAUTH, "the SAS token from %s has no signature (sig=)", source);
	c->sas = cairn_secret_alloc(n + 1);
	if (!c->sas)
		return oom();
	memcpy(c->sas, token, n + 1);
	c->sas_size = n + 1;
	sas_param(token, "st", c->sas_start, sizeof(c->sas_start));
	sas_param(token, "se", c->sas_expiry, sizeof(c->sas_expiry));
	return 0;
}
