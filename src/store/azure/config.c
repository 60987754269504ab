/* Repository URI + options + environment -> struct cairn_azure_config.
 *
 *   azure://ACCOUNT/CONTAINER[/PREFIX][?PARAM=VALUE&...]
 *
 * Parameters (values may be percent-encoded):
 *   endpoint=URL     the blob service, "https://host[:port][/path]"; the
 *                    container goes after its path, so an emulator's
 *                    path-style endpoint names the account itself
 *                    (Azurite: http://127.0.0.1:10000/devstoreaccount1).
 *                    Default: https://ACCOUNT.blob.core.windows.net
 *   block_size=SIZE  size of the blocks of large objects (default 8M)
 *   block_threshold=SIZE  objects larger than this go up as blocks
 *                    (Put Block + Put Block List), smaller ones in one Put
 *                    Blob (default 32M, or block_size when that is given)
 *   max_results=N    List Blobs page size, 1..5000 (default 5000)
 *
 * The account in the URI is authoritative: a credential or
 * AZURE_STORAGE_ACCOUNT naming another account is an error.  Credentials,
 * first found wins: the options' account key or SAS token (a credential),
 * then the environment's AZURE_STORAGE_KEY, then AZURE_STORAGE_SAS_TOKEN.
 * An endpoint in the URI wins over the options' endpoint.
 *
 * Plain http: an endpoint written in the URI may be http:// (the user
 * asked for it on the command line); one from the options only with
 * disable_ssl.  TLS certificates are always verified otherwise.
 */
#include "store/azure/azure.h"
#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int oom(void)
{
	return cairn_error_set(CAIRN_ENOMEM, "out of memory");
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into a new string; NULL on a bad escape or a
 * decoded NUL. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		int a = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
		int b = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
		if (a < 0 || b < 0 || (a == 0 && b == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(a * 16 + b);
		i += 2;
	}
	*o = 0;
	return out;
}

/* "8M", "5MiB", "1048576", "1g": binary multiples. */
static int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 0: break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: return -1;
	}
	if (shift && *end == 'i')
		end++;
	if (*end == 'B' || (*end == 'b' && !shift))
		end++;
	if (*end || v > (UINT64_MAX >> shift))
		return -1;
	*ret = (uint64_t)v << shift;
	return 0;
}

/* The query is left out of messages: whatever was put there by mistake
 * (a SAS token?) is not repeated. */
static int bad_uri(const char *uri, const char *why)
{
	size_t n = strcspn(uri, "?");
	return cairn_error_set(CAIRN_EINVAL, "repository URI '%.*s%s': %s", (int)MIN(n, 512), uri,
			       uri[n] ? "?..." : "", why);
}

/* Storage account names: 3 to 24 lower-case letters and digits. */
static bool account_ok(const char *s, size_t n)
{
	if (n < 3 || n > 24)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Container names: 3 to 63 of a-z, 0-9 and '-', starting and ending with
 * a letter or digit, no "--". */
static bool container_ok(const char *s, size_t n)
{
	if (n < 3 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!islower(c) && !isdigit(c) && c != '-')
			return false;
		if (c == '-' && s[i + 1] == '-')
			return false;
	}
	return true;
}

/* The prefix from the URI's path: components joined with '/', plus a
 * trailing '/', or "" for none. */
static int parse_prefix(const char *uri, const char *p, size_t n, char **ret)
{
	_cleanup_free_ char *d = pct_decode(p, n);
	if (!d)
		return bad_uri(uri, "bad percent-encoding in the prefix");
	char *s = d;
	while (*s == '/')
		s++;
	size_t len = strlen(s);
	while (len && s[len - 1] == '/')
		s[--len] = 0;
	for (const char *c = s; *c;) {
		const char *e = strchrnul(c, '/');
		size_t k = (size_t)(e - c);
		if (k == 0 || (k == 1 && c[0] == '.') || (k == 2 && c[0] == '.' && c[1] == '.'))
			return bad_uri(uri, "the prefix may not have empty, '.' or '..' components");
		c = *e ? e + 1 : e;
	}
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
			return bad_uri(uri, "the prefix may not hold control characters or '\\'");
	char *out;
	if (asprintf(&out, "%s%s", s, len ? "/" : "") < 0)
		return oom();
	*ret = out;
	return 0;
}

/* Splits an endpoint into scheme, host[:port] and path.  from_uri: it was
 * written in the repository URI (then http:// needs nothing more). */
static int parse_endpoint(struct cairn_azure_config *c, const char *uri, const char *ep, bool from_uri,
			  bool disable_ssl)
{
	const char *rest = ep;
	const char *scheme;
	if (strncasecmp(ep, "https://", 8) == 0) {
		scheme = "https";
		rest = ep + 8;
	} else if (strncasecmp(ep, "http://", 7) == 0) {
		scheme = "http";
		rest = ep + 7;
		if (!from_uri && !disable_ssl)
			return cairn_error_set(CAIRN_EINVAL,
					       "endpoint %s is plain http: set disable_ssl or name the endpoint in the "
					       "repository URI (?endpoint=)",
					       ep);
	} else if (strstr(ep, "://")) {
		return cairn_error_set(CAIRN_EINVAL, "endpoint %s: only http:// and https:// are supported", ep);
	} else {
		scheme = disable_ssl ? "http" : "https";
	}
	size_t hlen = strcspn(rest, "/");
	const char *path = rest + hlen;
	if (hlen == 0)
		return bad_uri(uri, "the endpoint has no host");
	/* user:password@host would put a secret into every message, and a
	 * query could be a SAS token. */
	if (memchr(rest, '@', hlen) || strpbrk(rest, "?#"))
		return bad_uri(uri, "the endpoint may hold only scheme://host[:port][/path] (a SAS token goes "
				    "in AZURE_STORAGE_SAS_TOKEN or a credential)");
	for (size_t i = 0; i < hlen; i++) {
		unsigned char ch = (unsigned char)rest[i];
		if (!isalnum(ch) && ch != '.' && ch != '-' && ch != ':' && ch != '[' && ch != ']' && ch != '_')
			return bad_uri(uri, "the endpoint's host has invalid characters");
	}
	for (const char *q = path; *q; q++)
		if (!isalnum((unsigned char)*q) && !strchr("/-._~", *q))
			return bad_uri(uri, "the endpoint's path may hold only letters, digits and -._~/");
	size_t plen = strlen(path);
	while (plen && path[plen - 1] == '/')
		plen--;
	c->scheme = strdup(scheme);
	c->host = strndup(rest, hlen);
	c->path = strndup(path, plen);
	if (!c->scheme || !c->host || !c->path)
		return oom();
	for (char *h = c->host; *h; h++)
		*h = (char)tolower((unsigned char)*h);
	return 0;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

struct params {
	char *endpoint, *block_size, *threshold, *max_results;
};

static void params_free(struct params *p)
{
	free(p->endpoint);
	free(p->block_size);
	free(p->threshold);
	free(p->max_results);
}

static int parse_params(const char *uri, const char *q, struct params *p)
{
	static const char known[] = "endpoint, block_size, block_threshold, max_results";
	while (*q) {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		if (n == 0) {
			q++;
			continue;
		}
		if (!eq)
			return bad_uri(uri, "a parameter has no value (want NAME=VALUE)");
		size_t klen = (size_t)(eq - q);
		char **dst = NULL;
		if (klen == 8 && !memcmp(q, "endpoint", 8))
			dst = &p->endpoint;
		else if (klen == 10 && !memcmp(q, "block_size", 10))
			dst = &p->block_size;
		else if (klen == 15 && !memcmp(q, "block_threshold", 15))
			dst = &p->threshold;
		else if (klen == 11 && !memcmp(q, "max_results", 11))
			dst = &p->max_results;
		/* Only the name goes into the message: a value could be a
		 * secret someone tried to put into the URI (sig=...). */
		if (!dst)
			return cairn_error_set(CAIRN_EINVAL,
					       "repository URI: unknown parameter '%.*s' (known: %s; the account key "
					       "or SAS token comes from a credential or the environment)",
					       (int)MIN(klen, 64), q, known);
		if (*dst)
			return cairn_error_set(CAIRN_EINVAL, "repository URI: parameter '%.*s' given twice",
					       (int)klen, q);
		*dst = pct_decode(eq + 1, n - klen - 1);
		if (!*dst)
			return bad_uri(uri, "bad percent-encoding in a parameter");
		if (!**dst)
			return cairn_error_set(CAIRN_EINVAL, "repository URI: parameter '%.*s' is empty",
					       (int)klen, q);
		q += n;
	}
	return 0;
}

static int credentials(struct cairn_azure_config *c, const struct cairn_store_opts *o, const char *uri)
{
	const char *key = o && o->azure_key && *o->azure_key ? o->azure_key : NULL;
	const char *sas = o && o->azure_sas && *o->azure_sas ? o->azure_sas : NULL;
	const char *src = "the credential";
	size_t n = strcspn(uri, "?");

	if (key && sas)
		return cairn_error_set(CAIRN_EAUTH, "the credential has both an account key and a SAS token: "
						    "give one");
	if (!key && !sas) {
		const char *acct = env("AZURE_STORAGE_ACCOUNT");
		if (acct && strcasecmp(acct, c->account) != 0)
			return cairn_error_set(CAIRN_EINVAL,
					       "AZURE_STORAGE_ACCOUNT is '%.64s', but the repository URI names account "
					       "'%s'",
					       acct, c->account);
		if ((key = env("AZURE_STORAGE_KEY")))
			src = "AZURE_STORAGE_KEY";
		else if ((sas = env("AZURE_STORAGE_SAS_TOKEN")))
			src = "AZURE_STORAGE_SAS_TOKEN";
		else
			return cairn_error_set(CAIRN_EAUTH,
					       "no credentials for %.*s: set AZURE_STORAGE_KEY (the account key) or "
					       "AZURE_STORAGE_SAS_TOKEN (or use a credential)",
					       (int)MIN(n, 512), uri);
	}
	c->auth_source = src;
	if (key) {
		c->auth = CAIRN_AZURE_AUTH_KEY;
		int r = cairn_azure_key_decode(key, &c->key, &c->key_len);
		if (r < 0)
			return cairn_error_prefix(r, "%s", src);
		return 0;
	}
	c->auth = CAIRN_AZURE_AUTH_SAS;
	return cairn_azure_sas_set(c, sas, src);
}

int cairn_azure_config_parse(const char *uri, const struct cairn_store_opts *o, struct cairn_azure_config *ret)
{
	struct cairn_azure_config *c = ret;
	_cleanup_(params_free) struct params p = { 0 };
	int r;

	memset(c, 0, sizeof(*c));
	if (!uri || strncasecmp(uri, "azure://", 8) != 0)
		return bad_uri(uri ? uri : "", "not an azure:// URI");
	const char *rest = uri + 8;
	if (strchr(uri, '#'))
		return bad_uri(uri, "fragments (#) are not allowed");

	size_t alen = strcspn(rest, "/?");
	if (alen == 0)
		return bad_uri(uri, "no storage account (azure://ACCOUNT/CONTAINER/PREFIX)");
	if (!account_ok(rest, alen))
		return bad_uri(uri, "the storage account name must be 3 to 24 lower-case letters and digits");
	if (!(c->account = strndup(rest, alen)))
		return oom();
	rest += alen;
	if (*rest == '/')
		rest++;
	size_t clen = strcspn(rest, "/?");
	if (clen == 0)
		return bad_uri(uri, "no container (azure://ACCOUNT/CONTAINER/PREFIX)");
	if (!container_ok(rest, clen))
		return bad_uri(uri, "the container name must be 3 to 63 of a-z, 0-9 and '-', starting and "
				    "ending with a letter or digit, without '--'");
	if (!(c->container = strndup(rest, clen)))
		return oom();
	const char *pstart = rest + clen;
	size_t plen = strcspn(pstart, "?");
	if ((r = parse_prefix(uri, pstart, plen, &c->prefix)) < 0)
		return r;
	if (pstart[plen] == '?' && (r = parse_params(uri, pstart + plen + 1, &p)) < 0)
		return r;

	if (o && o->azure_account && *o->azure_account && strcasecmp(o->azure_account, c->account) != 0)
		return cairn_error_set(CAIRN_EINVAL,
				       "the credential is for Azure account '%.64s', but the repository URI names "
				       "account '%s'",
				       o->azure_account, c->account);

	bool disable_ssl = o && o->disable_ssl;
	if (p.endpoint) {
		r = parse_endpoint(c, uri, p.endpoint, true, disable_ssl);
	} else if (o && o->endpoint && *o->endpoint) {
		r = parse_endpoint(c, uri, o->endpoint, false, disable_ssl);
	} else {
		_cleanup_free_ char *dflt = NULL;
		if (asprintf(&dflt, "https://%s.blob.core.windows.net", c->account) < 0)
			return oom();
		r = parse_endpoint(c, uri, dflt, false, false);
	}
	if (r < 0)
		return r;
	c->allow_http = !strcmp(c->scheme, "http");
	if (asprintf(&c->endpoint, "%s://%s%s", c->scheme, c->host, c->path) < 0) {
		c->endpoint = NULL;
		return oom();
	}

	uint64_t v;
	c->block_size = CAIRN_AZURE_BLOCK_SIZE_DEFAULT;
	c->block_threshold = CAIRN_AZURE_THRESHOLD_DEFAULT;
	if (p.block_size) {
		if (parse_size(p.block_size, &v) < 0 || v < CAIRN_AZURE_BLOCK_SIZE_MIN ||
		    v > CAIRN_AZURE_BLOCK_SIZE_MAX || v > SIZE_MAX)
			return bad_uri(uri, "block_size must be a size from 16K to 4000M");
		c->block_size = (size_t)v;
		c->block_threshold = (size_t)v;
	}
	if (p.threshold) {
		if (parse_size(p.threshold, &v) < 0 || v < CAIRN_AZURE_BLOCK_SIZE_MIN || v > CAIRN_AZURE_PUT_BLOB_MAX ||
		    v > SIZE_MAX)
			return bad_uri(uri, "block_threshold must be a size from 16K to 5000M");
		c->block_threshold = (size_t)v;
	}
	c->max_results = CAIRN_AZURE_MAX_RESULTS;
	if (p.max_results) {
		char *end;
		errno = 0;
		unsigned long k = strtoul(p.max_results, &end, 10);
		if (errno || *end || !isdigit((unsigned char)p.max_results[0]) || k < 1 || k > CAIRN_AZURE_MAX_RESULTS)
			return bad_uri(uri, "max_results must be a number from 1 to 5000");
		c->max_results = (unsigned)k;
	}
	c->connections = o && o->connections ? o->connections : 8;
	if (c->connections > 256)
		c->connections = 256;
	c->limit_upload = o ? o->limit_upload : 0;
	return credentials(c, o, uri);
}

void cairn_azure_config_free(struct cairn_azure_config *c)
{
	if (!c)
		return;
	free(c->account);
	free(c->container);
	free(c->prefix);
	free(c->scheme);
	free(c->host);
	free(c->path);
	free(c->endpoint);
	cairn_secret_free(c->key, c->key_len);
	cairn_secret_free(c->sas, c->sas_size);
	memset(c, 0, sizeof(*c));
}
