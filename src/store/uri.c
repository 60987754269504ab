/* The pieces of repository URIs the object-store drivers share (uri.h). */
#include "store/uri.h"
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
	return cairn_error_nomem();
}

size_t cairn_uri_scheme_len(const char *uri)
{
	const char *sep = strstr(uri, "://");
	if (!sep || sep == uri || !isalpha((unsigned char)uri[0]))
		return 0;
	for (const char *p = uri; p < sep; p++)
		if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
			return 0;
	return (size_t)(sep - uri);
}

int cairn_uri_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *cairn_uri_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		int a = i + 2 < n ? cairn_uri_hexval((unsigned char)s[i + 1]) : -1;
		int b = i + 2 < n ? cairn_uri_hexval((unsigned char)s[i + 2]) : -1;
		/* A NUL would cut the string short where the caller does not
		 * look. */
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

/* The query is left out of messages: whatever was put there by mistake (a
 * secret, a SAS token) is not repeated. */
int cairn_uri_bad(const char *uri, const char *why)
{
	size_t n = strcspn(uri, "?");
	return cairn_error_set(CAIRN_EINVAL, "repository URI '%.*s%s': %s", (int)MIN(n, 512), uri,
			       uri[n] ? "?..." : "", why);
}

int cairn_uri_parse_prefix(const char *uri, const char *p, size_t n, bool no_backslash, char **ret)
{
	_cleanup_free_ char *d = cairn_uri_decode(p, n);
	if (!d)
		return cairn_uri_bad(uri, "bad percent-encoding in the prefix");
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
			return cairn_uri_bad(uri, "the prefix may not have empty, '.' or '..' components");
		c = *e ? e + 1 : e;
	}
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || (no_backslash && *c == '\\'))
			return cairn_uri_bad(uri, no_backslash ? "the prefix may not hold control characters or '\\'"
							       : "the prefix may not hold control characters");
	char *out;
	if (asprintf(&out, "%s%s", s, len ? "/" : "") < 0)
		return oom();
	*ret = out;
	return 0;
}

int cairn_uri_parse_params(const char *uri, const char *q, const struct cairn_uri_param *known, size_t n,
			   const char *hint)
{
	while (*q) {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		if (len == 0) {
			q++;
			continue;
		}
		if (!eq)
			return cairn_uri_bad(uri, "a parameter has no value (want NAME=VALUE)");
		size_t klen = (size_t)(eq - q);
		char **dst = NULL;
		for (size_t i = 0; i < n && !dst; i++)
			if (strlen(known[i].name) == klen && !memcmp(q, known[i].name, klen))
				dst = known[i].value;
		/* Only the name goes into the message: a value could be a
		 * secret someone tried to put into the URI. */
		if (!dst) {
			char names[256] = "";
			for (size_t i = 0, used = 0; i < n && used < sizeof(names); i++)
				used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
							 known[i].name);
			return cairn_error_set(CAIRN_EINVAL, "repository URI: unknown parameter '%.*s' (known: %s; %s)",
					       (int)MIN(klen, 64), q, names, hint);
		}
		if (*dst)
			return cairn_error_set(CAIRN_EINVAL, "repository URI: parameter '%.*s' given twice",
					       (int)klen, q);
		*dst = cairn_uri_decode(eq + 1, len - klen - 1);
		if (!*dst)
			return cairn_uri_bad(uri, "bad percent-encoding in a parameter");
		if (!**dst)
			return cairn_error_set(CAIRN_EINVAL, "repository URI: parameter '%.*s' is empty",
					       (int)klen, q);
		q += len;
	}
	return 0;
}

int cairn_uri_parse_size(const char *s, uint64_t min, uint64_t max, size_t *ret)
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
	uint64_t size = (uint64_t)v << shift;
	if (size < min || size > max || size > SIZE_MAX)
		return -1;
	*ret = (size_t)size;
	return 0;
}

int cairn_uri_parse_count(const char *s, unsigned long min, unsigned long max, unsigned *ret)
{
	char *end;
	errno = 0;
	unsigned long k = strtoul(s, &end, 10);
	if (errno || *end || !isdigit((unsigned char)s[0]) || k < min || k > max)
		return -1;
	*ret = (unsigned)k;
	return 0;
}

/* Splits one endpoint into ret.  from_uri: it was written in the repository
 * URI (then http:// needs nothing more). */
static int split_endpoint(const char *uri, const char *ep, bool from_uri, bool disable_ssl,
			  const struct cairn_uri_endpoint_rules *rules, struct cairn_uri_endpoint *ret)
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
					       "endpoint %s is plain http: set %s or name the endpoint in the "
					       "repository URI (?endpoint=)",
					       ep, rules->ssl_hint);
	} else if (strstr(ep, "://")) {
		return cairn_error_set(CAIRN_EINVAL, "endpoint %s: only http:// and https:// are supported", ep);
	} else {
		scheme = disable_ssl ? "http" : "https";
	}
	size_t hlen = strcspn(rest, "/");
	const char *path = rest + hlen;
	if (hlen == 0)
		return cairn_uri_bad(uri, "the endpoint has no host");
	/* user:password@host would put a secret into every message, and a
	 * query could be a token. */
	if (memchr(rest, '@', hlen) || strpbrk(rest, "?#")) {
		char why[256];
		snprintf(why, sizeof(why), "the endpoint may hold only scheme://host[:port][/path]%s",
			 rules->query_hint);
		return cairn_uri_bad(uri, why);
	}
	for (size_t i = 0; i < hlen; i++) {
		unsigned char ch = (unsigned char)rest[i];
		if (!isalnum(ch) && ch != '.' && ch != '-' && ch != ':' && ch != '[' && ch != ']' && ch != '_')
			return cairn_uri_bad(uri, "the endpoint's host has invalid characters");
	}
	for (const char *q = path; rules->plain_path && *q; q++)
		if (!isalnum((unsigned char)*q) && !strchr("/-._~", *q))
			return cairn_uri_bad(uri, "the endpoint's path may hold only letters, digits and -._~/");
	size_t plen = strlen(path);
	while (plen && path[plen - 1] == '/')
		plen--;
	ret->scheme = strdup(scheme);
	ret->host = strndup(rest, hlen);
	ret->path = strndup(path, plen);
	if (!ret->scheme || !ret->host || !ret->path)
		return oom();
	for (char *h = ret->host; *h; h++)
		*h = (char)tolower((unsigned char)*h);
	if (asprintf(&ret->url, "%s://%s%s", ret->scheme, ret->host, ret->path) < 0) {
		ret->url = NULL;
		return oom();
	}
	return 0;
}

static void endpoint_clear(struct cairn_uri_endpoint *e)
{
	free(e->scheme);
	free(e->host);
	free(e->path);
	free(e->url);
	memset(e, 0, sizeof(*e));
}

/* The port e connects to: the one in its host, else the scheme's. */
static const char *endpoint_port(const struct cairn_uri_endpoint *e, size_t *ret_hostlen)
{
	const char *h = e->host;
	/* "[::1]:9000": the colons of an IPv6 address are not the port's. */
	const char *after = h[0] == '[' && strchr(h, ']') ? strchr(h, ']') + 1 : h + strcspn(h, ":");
	const char *colon = strchr(after, ':');
	*ret_hostlen = colon ? (size_t)(colon - h) : strlen(h);
	if (colon && colon[1])
		return colon + 1;
	return strcmp(e->scheme, "https") == 0 ? "443" : "80";
}

/* Do both endpoints reach the same host, port and path?  (Hosts are in
 * lower case and paths without a trailing '/' already.) */
static bool same_place(const struct cairn_uri_endpoint *a, const struct cairn_uri_endpoint *b)
{
	size_t alen, blen;
	const char *ap = endpoint_port(a, &alen), *bp = endpoint_port(b, &blen);
	return alen == blen && memcmp(a->host, b->host, alen) == 0 && strcmp(ap, bp) == 0 &&
	       strcmp(a->path, b->path) == 0;
}

/* The refusal of a URI endpoint that a stored credential is not bound to.
 * Both URLs are safe to print: split_endpoint refused user info, queries
 * and fragments. */
static int not_bound(const struct cairn_store_opts *o, const struct cairn_uri_endpoint_rules *rules,
		     const struct cairn_uri_endpoint *bound, const struct cairn_uri_endpoint *want)
{
	char who[160], how[512];
	snprintf(who, sizeof(who), "%s%s%s%s", o->cred, o->cred_name ? " ('" : "",
		 o->cred_name ? o->cred_name : "", o->cred_name ? "')" : "");
	bool http = strcmp(want->scheme, "http") == 0;
	if (rules->cred_create)
		snprintf(how, sizeof(how), "create a credential for that endpoint ('%s %s%s%s') and choose it with "
			 "--cred", rules->cred_create, want->url, http ? " " : "", http ? rules->cred_ssl : "");
	else
		snprintf(how, sizeof(how), "%s", rules->no_endpoint_hint);
	return cairn_error_set(CAIRN_EPERM,
			       "credential %s is bound to %s, but the repository URI names endpoint %s: its "
			       "secrets are not sent there; %s",
			       who, bound->url, want->url, how);
}

int cairn_uri_endpoint_parse(const char *uri, const char *uri_ep, const struct cairn_store_opts *o, const char *dflt,
			     const struct cairn_uri_endpoint_rules *rules, struct cairn_uri_endpoint *ret)
{
	struct cairn_uri_endpoint e = { 0 }, bound = { 0 };
	bool disable_ssl = o && o->disable_ssl;
	const char *own = o && o->endpoint && *o->endpoint ? o->endpoint : dflt;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (uri_ep)
		r = split_endpoint(uri, uri_ep, true, disable_ssl, rules, &e);
	else
		r = split_endpoint(uri, own, false, disable_ssl, rules, &e);
	/* A stored credential's secrets go where it says, over TLS unless it
	 * says otherwise, whatever a URI (typed, pasted, or kept in a policy)
	 * names: checked here, before any connection. */
	if (r >= 0 && uri_ep && o && o->cred) {
		r = split_endpoint(uri, own, false, disable_ssl, rules, &bound);
		if (r >= 0 && (!same_place(&bound, &e) ||
			       (strcmp(e.scheme, bound.scheme) != 0 && strcmp(e.scheme, "https") != 0)))
			r = not_bound(o, rules, &bound, &e);
		endpoint_clear(&bound);
	}
	if (r < 0) {
		endpoint_clear(&e);
		return r;
	}
	*ret = e;
	return 0;
}

unsigned cairn_uri_connections(const struct cairn_store_opts *o)
{
	unsigned n = o && o->connections ? o->connections : 8;
	return n > 256 ? 256 : n;
}

void cairn_uri_secondary_free(struct cairn_uri_secondary *s)
{
	if (!s)
		return;
	free(s->primary);
	free(s->secondary);
	free(s->primary_name);
	free(s->secondary_name);
	memset(s, 0, sizeof(*s));
}

static bool param_is(const char *q, size_t klen, const char *name)
{
	return strlen(name) == klen && memcmp(q, name, klen) == 0;
}

/* Appends "&" (unless first) and p[0..n) to the stream. */
static void put_param(FILE *f, bool *first, const char *p, size_t n)
{
	if (!*first)
		fputc('&', f);
	fwrite(p, 1, n, f);
	*first = false;
}

int cairn_uri_secondary_split(const char *uri, bool allow_bucket, struct cairn_uri_secondary *ret)
{
	_cleanup_(cairn_uri_secondary_free) struct cairn_uri_secondary s = { 0 };
	_cleanup_free_ char *sec = NULL, *bucket = NULL, *ep = NULL;
	const char *sec_raw = NULL;
	size_t sec_rawlen = 0;

	memset(ret, 0, sizeof(*ret));
	size_t qpos = strcspn(uri, "?");
	const char *q = uri[qpos] ? uri + qpos + 1 : "";
	/* First pass: the two parameters, and the primary's endpoint for
	 * messages.  Anything else malformed is the driver's to report. */
	for (const char *p = q; *p;) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		char **dst = NULL;
		if (param_is(p, klen, "secondary"))
			dst = &sec;
		else if (param_is(p, klen, "secondary_bucket"))
			dst = &bucket;
		else if (param_is(p, klen, "endpoint") && eq && !ep)
			ep = cairn_uri_decode(eq + 1, len - klen - 1);
		if (dst) {
			if (*dst)
				return cairn_error_set(CAIRN_EINVAL, "repository URI: parameter '%.*s' given twice",
						       (int)klen, p);
			*dst = eq ? cairn_uri_decode(eq + 1, len - klen - 1) : NULL;
			if (!*dst)
				return cairn_uri_bad(uri, "bad percent-encoding or no value in a secondary parameter");
			if (!**dst)
				return cairn_error_set(CAIRN_EINVAL, "repository URI: parameter '%.*s' is empty",
						       (int)klen, p);
			if (dst == &sec) {
				sec_raw = eq + 1;
				sec_rawlen = len - klen - 1;
			}
		}
		p += len;
		if (*p)
			p++;
	}
	if (!sec && !bucket) {
		if (!(s.primary = strdup(uri)))
			return oom();
		*ret = s;
		memset(&s, 0, sizeof(s));
		return 0;
	}
	if (bucket && !allow_bucket)
		return cairn_uri_bad(uri, "secondary_bucket is for s3:// and gs:// URIs (an Azure secondary is "
				     "the same container at the -secondary host: secondary=URL)");
	if (bucket)
		for (const char *c = bucket; *c; c++)
			if (!isalnum((unsigned char)*c) && !strchr(".-_", *c))
				return cairn_uri_bad(uri, "secondary_bucket may hold only letters, digits, '.', '-' "
						     "and '_'");

	/* The base, with the bucket (what follows "scheme://" up to '/')
	 * replaced for the secondary. */
	size_t slen = cairn_uri_scheme_len(uri);
	if (slen == 0)
		return cairn_uri_bad(uri, "a secondary endpoint needs an object-store URI");
	const char *auth = uri + slen + 3;
	size_t alen = strcspn(auth, "/?");
	char *pbuf = NULL, *sbuf = NULL;
	size_t pn = 0, sn = 0;
	FILE *pf = open_memstream(&pbuf, &pn);
	FILE *sf = pf ? open_memstream(&sbuf, &sn) : NULL;
	if (!sf) {
		if (pf)
			fclose(pf);
		free(pbuf);
		return oom();
	}
	fwrite(uri, 1, qpos, pf);
	fwrite(uri, 1, (size_t)(auth - uri), sf);
	if (bucket)
		fputs(bucket, sf);
	else
		fwrite(auth, 1, alen, sf);
	fwrite(auth + alen, 1, (size_t)(uri + qpos - (auth + alen)), sf);
	bool pfirst = true, sfirst = true;
	fputc('?', pf);
	fputc('?', sf);
	for (const char *p = q; *p;) {
		size_t len = strcspn(p, "&");
		size_t klen = strcspn(p, "=&");
		if (len && !param_is(p, klen, "secondary") && !param_is(p, klen, "secondary_bucket")) {
			put_param(pf, &pfirst, p, len);
			/* The secondary's endpoint replaces the primary's. */
			if (!(sec && param_is(p, klen, "endpoint")))
				put_param(sf, &sfirst, p, len);
		}
		p += len;
		if (*p)
			p++;
	}
	if (sec) {
		put_param(sf, &sfirst, "endpoint=", 9);
		fwrite(sec_raw, 1, sec_rawlen, sf);
	}
	bool err = ferror(pf) || ferror(sf);
	err |= fclose(pf) != 0;
	err |= fclose(sf) != 0;
	s.primary = pbuf;
	s.secondary = sbuf;
	if (err)
		return oom();
	/* A trailing '?' with nothing after it is an empty query. */
	if (pfirst)
		s.primary[strlen(s.primary) - 1] = 0;

	size_t base = strcspn(s.primary, "?");
	if (ep)
		s.primary_name = strdup(ep);
	else
		s.primary_name = strndup(s.primary, base);
	if (sec)
		s.secondary_name = strdup(sec);
	else if (asprintf(&s.secondary_name, "%s (bucket %s)", s.primary_name, bucket) < 0)
		s.secondary_name = NULL;
	if (!s.primary_name || !s.secondary_name)
		return oom();
	*ret = s;
	memset(&s, 0, sizeof(s));
	return 0;
}
