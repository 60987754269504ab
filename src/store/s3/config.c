/* Repository URI + options + environment -> struct cairn_s3_config.
 *
 *   s3://BUCKET[/PREFIX][?PARAM=VALUE&...]     AWS S3 or any S3-compatible server
 *   gs://BUCKET[/PREFIX][?PARAM=VALUE&...]     Google Cloud Storage (XML API, HMAC keys)
 *
 * Parameters (values may be percent-encoded):
 *   endpoint=URL     server, "https://host[:port][/path]" (default: AWS
 *                    https://s3.REGION.amazonaws.com; gs: https://storage.googleapis.com)
 *   region=R         signing region (default us-east-1; gs: auto)
 *   style=path|virtual   addressing: path-style host/bucket/key or
 *                    virtual-hosted bucket.host/key (default: virtual on
 *                    amazonaws.com when the bucket name allows it, path
 *                    everywhere else)
 *   part_size=SIZE   multipart part size (default 8M; AWS and GCS want at
 *                    least 5M, test servers can be told less); objects
 *                    larger than the threshold go up in parts
 *   multipart_threshold=SIZE  (default 32M, or part_size when that is given)
 *   max_keys=N       listing page size, 1..1000 (default 1000)
 *
 * Precedence: the URI's parameters, then the options (a credential), then
 * the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, AWS_REGION, AWS_DEFAULT_REGION; for gs:// first
 * GOOGLE_HMAC_ACCESS_KEY and GOOGLE_HMAC_SECRET).
 *
 * Plain http: an endpoint written in the URI may be http:// (the user
 * asked for it on the command line); an endpoint coming from the options
 * may be http:// only when disable_ssl is set; an endpoint without a
 * scheme is https, or http with disable_ssl.  TLS certificates are always
 * verified otherwise.
 */
#include "store/s3/s3.h"
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
		if (i + 2 >= n) {
			free(out);
			return NULL;
		}
		int a = hexval((unsigned char)s[i + 1]), b = hexval((unsigned char)s[i + 2]);
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

static bool bucket_char(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_';
}

/* Can the bucket be a DNS label in front of the host?  Lower case letters,
 * digits and '-', starting and ending alphanumeric; dots are refused too
 * because they break the wildcard TLS certificate (*.s3.amazonaws.com). */
static bool bucket_dns_ok(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '-'))
			return false;
	return true;
}

/* The query is left out of messages: whatever was put there by mistake
 * (a secret?) is not repeated. */
static int bad_uri(const char *uri, const char *why)
{
	size_t n = strcspn(uri, "?");
	return cairn_error_set(CAIRN_EINVAL, "repository URI '%.*s%s': %s", (int)MIN(n, 512), uri,
			       uri[n] ? "?..." : "", why);
}

/* The prefix from the URI's path: components joined with '/', plus a
 * trailing '/', or "" for none. */
static int parse_prefix(const char *uri, const char *p, size_t n, char **ret)
{
	_cleanup_free_ char *d = pct_decode(p, n);
	if (!d)
		return bad_uri(uri, "bad percent-encoding in the prefix");
	/* Leading and trailing slashes carry no meaning. */
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
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return bad_uri(uri, "the prefix may not hold control characters");
	char *out;
	if (asprintf(&out, "%s%s", s, len ? "/" : "") < 0)
		return oom();
	*ret = out;
	return 0;
}

/* Splits an endpoint into scheme, host[:port] and path.  from_uri: it was
 * written in the repository URI (then http:// needs nothing more). */
static int parse_endpoint(struct cairn_s3_config *c, const char *uri, const char *ep, bool from_uri,
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
					       "endpoint %s is plain http: set disable_ssl (--s3-disable-ssl) or "
					       "name the endpoint in the repository URI (?endpoint=)",
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
	/* user:password@host would put a secret into every message. */
	if (memchr(rest, '@', hlen) || strpbrk(rest, "?#"))
		return bad_uri(uri, "the endpoint may hold only scheme://host[:port][/path]");
	for (size_t i = 0; i < hlen; i++) {
		unsigned char ch = (unsigned char)rest[i];
		if (!isalnum(ch) && ch != '.' && ch != '-' && ch != ':' && ch != '[' && ch != ']' && ch != '_')
			return bad_uri(uri, "the endpoint's host has invalid characters");
	}
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

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static int copy_secret(const char *v, char **ret, size_t *ret_size)
{
	size_t n = strlen(v) + 1;
	char *p = cairn_secret_alloc(n);
	if (!p)
		return oom();
	memcpy(p, v, n);
	*ret = p;
	*ret_size = n;
	return 0;
}

struct params {
	char *endpoint, *region, *style, *part_size, *threshold, *max_keys;
};

static void params_free(struct params *p)
{
	free(p->endpoint);
	free(p->region);
	free(p->style);
	free(p->part_size);
	free(p->threshold);
	free(p->max_keys);
}

static int parse_params(const char *uri, const char *q, struct params *p)
{
	static const char known[] = "endpoint, region, style, part_size, multipart_threshold, max_keys";
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
		else if (klen == 6 && !memcmp(q, "region", 6))
			dst = &p->region;
		else if (klen == 5 && !memcmp(q, "style", 5))
			dst = &p->style;
		else if (klen == 9 && !memcmp(q, "part_size", 9))
			dst = &p->part_size;
		else if (klen == 19 && !memcmp(q, "multipart_threshold", 19))
			dst = &p->threshold;
		else if (klen == 8 && !memcmp(q, "max_keys", 8))
			dst = &p->max_keys;
		/* Only the name goes into the message: a value could be a
		 * secret someone tried to put into the URI. */
		if (!dst)
			return cairn_error_set(CAIRN_EINVAL,
					       "repository URI: unknown parameter '%.*s' (known: %s; keys "
					       "come from a credential or the environment)",
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

static int keys(struct cairn_s3_config *c, const struct cairn_store_opts *o, const char *uri)
{
	const char *ak = o ? o->access_key : NULL, *sk = o ? o->secret_key : NULL;
	const char *akname = "AWS_ACCESS_KEY_ID", *skname = "AWS_SECRET_ACCESS_KEY";
	bool from_env = false;

	if ((ak && *ak) || (sk && *sk)) {
		if (!ak || !*ak || !sk || !*sk)
			return cairn_error_set(CAIRN_EAUTH, "%s: the credential has %s but no %s", uri,
					       ak && *ak ? "an access key" : "a secret key",
					       ak && *ak ? "secret key" : "access key");
	} else {
		from_env = true;
		ak = sk = NULL;
		if (c->flavor == CAIRN_S3_FLAVOR_GCS && (env("GOOGLE_HMAC_ACCESS_KEY") || env("GOOGLE_HMAC_SECRET"))) {
			akname = "GOOGLE_HMAC_ACCESS_KEY";
			skname = "GOOGLE_HMAC_SECRET";
		}
		ak = env(akname);
		sk = env(skname);
		if (!ak && !sk)
			return cairn_error_set(CAIRN_EAUTH,
					       "no credentials for %s: set %s and %s (or use a credential)", uri,
					       c->flavor == CAIRN_S3_FLAVOR_GCS ? "GOOGLE_HMAC_ACCESS_KEY" : akname,
					       c->flavor == CAIRN_S3_FLAVOR_GCS ? "GOOGLE_HMAC_SECRET" : skname);
		if (!ak || !sk)
			return cairn_error_set(CAIRN_EAUTH, "%s is set but %s is not", ak ? akname : skname,
					       ak ? skname : akname);
	}
	c->access_key = strdup(ak);
	if (!c->access_key)
		return oom();
	for (const char *p = ak; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return cairn_error_set(CAIRN_EAUTH, "the access key holds control characters");
	int r = copy_secret(sk, &c->secret_key, &c->secret_size);
	if (r < 0)
		return r;
	const char *tok = from_env && c->flavor == CAIRN_S3_FLAVOR_S3 ? env("AWS_SESSION_TOKEN") : NULL;
	if (tok && (r = copy_secret(tok, &c->session_token, &c->token_size)) < 0)
		return r;
	return 0;
}

int cairn_s3_config_parse(const char *uri, const struct cairn_store_opts *o, struct cairn_s3_config *ret)
{
	struct cairn_s3_config *c = ret;
	_cleanup_(params_free) struct params p = { 0 };
	int r;

	memset(c, 0, sizeof(*c));
	if (!uri)
		return cairn_error_set(CAIRN_EINVAL, "empty repository URI");
	const char *rest;
	if (strncasecmp(uri, "s3://", 5) == 0) {
		c->flavor = CAIRN_S3_FLAVOR_S3;
		rest = uri + 5;
	} else if (strncasecmp(uri, "gs://", 5) == 0) {
		c->flavor = CAIRN_S3_FLAVOR_GCS;
		rest = uri + 5;
	} else {
		return bad_uri(uri, "not an s3:// or gs:// URI");
	}

	size_t blen = strcspn(rest, "/?#");
	if (rest[blen] == '#')
		return bad_uri(uri, "fragments (#) are not allowed");
	if (blen == 0)
		return bad_uri(uri, "no bucket name (s3://BUCKET/PREFIX)");
	if (blen > 255)
		return bad_uri(uri, "the bucket name is too long");
	for (size_t i = 0; i < blen; i++)
		if (!bucket_char((unsigned char)rest[i]))
			return bad_uri(uri, "the bucket name may hold only letters, digits, '.', '-' and '_'");
	if (!(c->bucket = strndup(rest, blen)))
		return oom();
	const char *pstart = rest + blen;
	size_t plen = strcspn(pstart, "?#");
	if (pstart[plen] == '#')
		return bad_uri(uri, "fragments (#) are not allowed");
	if ((r = parse_prefix(uri, pstart, plen, &c->prefix)) < 0)
		return r;
	if (pstart[plen] == '?' && (r = parse_params(uri, pstart + plen + 1, &p)) < 0)
		return r;

	bool gcs = c->flavor == CAIRN_S3_FLAVOR_GCS;
	bool disable_ssl = o && o->disable_ssl;

	/* Region first: the AWS default endpoint is built from it. */
	const char *region = p.region;
	if (!region && o && o->region && *o->region)
		region = o->region;
	if (!region && !gcs)
		region = env("AWS_REGION") ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
	if (!region)
		region = gcs ? "auto" : "us-east-1";
	for (const char *q = region; *q; q++)
		if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_')
			return bad_uri(uri, "the region may hold only letters, digits, '-' and '_'");
	if (!(c->region = strdup(region)))
		return oom();

	if (p.endpoint) {
		r = parse_endpoint(c, uri, p.endpoint, true, disable_ssl);
	} else if (o && o->endpoint && *o->endpoint) {
		r = parse_endpoint(c, uri, o->endpoint, false, disable_ssl);
	} else {
		_cleanup_free_ char *dflt = NULL;
		if (gcs)
			dflt = strdup("storage.googleapis.com");
		else if (asprintf(&dflt, "s3.%s.amazonaws.com", c->region) < 0)
			dflt = NULL;
		if (!dflt)
			return oom();
		r = parse_endpoint(c, uri, dflt, false, disable_ssl);
	}
	if (r < 0)
		return r;
	c->allow_http = !strcmp(c->scheme, "http");
	if (asprintf(&c->endpoint, "%s://%s%s", c->scheme, c->host, c->path) < 0) {
		c->endpoint = NULL;
		return oom();
	}
	/* The host without its port, for the AWS test. */
	_cleanup_free_ char *hostname = strndup(c->host, strcspn(c->host, ":"));
	if (!hostname)
		return oom();
	c->aws = !gcs && (ends_with(hostname, ".amazonaws.com") || !strcmp(hostname, "amazonaws.com"));

	if (p.style) {
		if (!strcmp(p.style, "virtual"))
			c->virtual_host = true;
		else if (strcmp(p.style, "path") != 0)
			return bad_uri(uri, "style must be 'path' or 'virtual'");
		if (c->virtual_host && !bucket_dns_ok(c->bucket))
			return bad_uri(uri, "virtual-hosted style needs a bucket name that is a DNS label "
					    "(a-z, 0-9, '-'; 3 to 63 characters)");
		if (c->virtual_host && c->path[0])
			return bad_uri(uri, "virtual-hosted style cannot be used with an endpoint path");
	} else {
		c->virtual_host = c->aws && bucket_dns_ok(c->bucket) && !c->path[0];
	}

	uint64_t v;
	c->part_size = CAIRN_S3_PART_SIZE_DEFAULT;
	c->multipart_threshold = CAIRN_S3_THRESHOLD_DEFAULT;
	if (p.part_size) {
		if (parse_size(p.part_size, &v) < 0 || v < CAIRN_S3_PART_SIZE_MIN || v > CAIRN_S3_PART_SIZE_MAX ||
		    v > SIZE_MAX)
			return bad_uri(uri, "part_size must be a size from 1M to 5G");
		c->part_size = (size_t)v;
		c->multipart_threshold = (size_t)v;
	}
	if (p.threshold) {
		if (parse_size(p.threshold, &v) < 0 || v < CAIRN_S3_PART_SIZE_MIN || v > CAIRN_S3_PART_SIZE_MAX ||
		    v > SIZE_MAX)
			return bad_uri(uri, "multipart_threshold must be a size from 1M to 5G");
		c->multipart_threshold = (size_t)v;
	}
	c->max_keys = 1000;
	if (p.max_keys) {
		char *end;
		errno = 0;
		unsigned long k = strtoul(p.max_keys, &end, 10);
		if (errno || *end || !isdigit((unsigned char)p.max_keys[0]) || k < 1 || k > 1000)
			return bad_uri(uri, "max_keys must be a number from 1 to 1000");
		c->max_keys = (unsigned)k;
	}

	c->connections = o && o->connections ? o->connections : 8;
	if (c->connections > 256)
		c->connections = 256;
	c->limit_upload = o ? o->limit_upload : 0;
	/* GCS's XML API has no DeleteObjects, and asks for preconditions in
	 * its own header. */
	c->multi_delete = !gcs;
	c->cond = gcs ? CAIRN_S3_COND_GOOG_GENERATION : CAIRN_S3_COND_IF_NONE_MATCH;
	if (gcs && o && o->google_project_id && *o->google_project_id &&
	    !(c->project_id = strdup(o->google_project_id)))
		return oom();
	return keys(c, o, uri);
}

void cairn_s3_config_free(struct cairn_s3_config *c)
{
	if (!c)
		return;
	free(c->bucket);
	free(c->prefix);
	free(c->scheme);
	free(c->host);
	free(c->path);
	free(c->endpoint);
	free(c->region);
	free(c->access_key);
	cairn_secret_free(c->secret_key, c->secret_size);
	cairn_secret_free(c->session_token, c->token_size);
	free(c->project_id);
	memset(c, 0, sizeof(*c));
}
