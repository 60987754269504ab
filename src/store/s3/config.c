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
 *   delete_batch=N   keys per batch delete (DeleteObjects) request,
 *                    1..1000 (default 1000, S3's most; tests set less)
 *   copy_threshold=SIZE  server-side copies of larger objects go by
 *                    UploadPartCopy in part_size parts, smaller ones by one
 *                    CopyObject (default and most 5G, CopyObject's limit;
 *                    tests set less)
 *   secondary=URL    a read-only secondary endpoint (and secondary_bucket=NAME): taken out of
 *                    the URI before it gets here (store/uri.h,
 *                    store/secondary.c)
 *
 * Precedence: the URI's parameters, then the options (a credential), then
 * the environment, as read at start into opts.env (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, AWS_REGION, AWS_DEFAULT_REGION; for gs:// first
 * GOOGLE_HMAC_ACCESS_KEY and GOOGLE_HMAC_SECRET).
 *
 * Plain http: an endpoint written in the URI may be http:// (the user
 * asked for it on the command line); an endpoint coming from the options
 * may be http:// only when disable_ssl is set; an endpoint without a
 * scheme is https, or http with disable_ssl.  TLS certificates are always
 * verified otherwise.  A stored credential's keys go only to its own
 * endpoint, or AWS's for the region (gs: storage.googleapis.com): a URI
 * endpoint naming another is refused (store/uri.h).
 */
#include "store/s3/s3.h"
#include "store/uri.h"
#include "crypto/crypto.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int oom(void)
{
	return cairn_error_nomem();
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

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* An environment value (store.h's struct cairn_store_env), NULL when unset. */
static const char *env(const char *v)
{
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

static const struct cairn_uri_endpoint_rules endpoint_rules = {
	.ssl_hint = "disable_ssl (--s3-disable-ssl)",
	.query_hint = "",
	.cred_create = "cairn cred create --provider s3 ... --s3-endpoint",
	.cred_ssl = "--s3-disable-ssl",
};

/* Google credentials have no endpoint of their own. */
static const struct cairn_uri_endpoint_rules gcs_endpoint_rules = {
	.ssl_hint = "disable_ssl (--s3-disable-ssl)",
	.query_hint = "",
	.no_endpoint_hint = "google credentials reach only Google Cloud Storage: drop endpoint= from the URI, or "
			    "use an s3:// URI with an s3 credential for that endpoint",
};

struct params {
	char *endpoint, *region, *style, *part_size, *threshold, *max_keys;
	char *copy_threshold;
	char *delete_batch;
};

static void params_free(struct params *p)
{
	free(p->endpoint);
	free(p->region);
	free(p->style);
	free(p->part_size);
	free(p->threshold);
	free(p->max_keys);
	free(p->copy_threshold);
	free(p->delete_batch);
}

static int parse_params(const char *uri, const char *q, struct params *p)
{
	const struct cairn_uri_param known[] = {
		{ "endpoint", &p->endpoint },
		{ "region", &p->region },
		{ "style", &p->style },
		{ "part_size", &p->part_size },
		{ "multipart_threshold", &p->threshold },
		{ "max_keys", &p->max_keys },
		{ "copy_threshold", &p->copy_threshold },
		{ "delete_batch", &p->delete_batch },
	};
	return cairn_uri_parse_params(uri, q, known, ARRAY_SIZE(known),
				      "keys come from a credential or the environment");
}

static int keys(struct cairn_s3_config *c, const struct cairn_store_opts *o, const char *uri)
{
	const struct cairn_store_env *e = cairn_store_opts_env(o);
	const char *ak = o ? o->s3.access_key : NULL, *sk = o ? o->s3.secret_key : NULL;
	const char *akname = "AWS_ACCESS_KEY_ID", *skname = "AWS_SECRET_ACCESS_KEY";
	const char *akenv = e->aws.access_key_id, *skenv = e->aws.secret_access_key;
	bool from_env = false;

	if ((ak && *ak) || (sk && *sk)) {
		if (!ak || !*ak || !sk || !*sk)
			return cairn_error_set(CAIRN_EAUTH, "%s: the credential has %s but no %s", uri,
					       ak && *ak ? "an access key" : "a secret key",
					       ak && *ak ? "secret key" : "access key");
	} else {
		from_env = true;
		ak = sk = NULL;
		if (c->flavor == CAIRN_S3_FLAVOR_GCS && (env(e->google.hmac_access_key) || env(e->google.hmac_secret))) {
			akname = "GOOGLE_HMAC_ACCESS_KEY";
			skname = "GOOGLE_HMAC_SECRET";
			akenv = e->google.hmac_access_key;
			skenv = e->google.hmac_secret;
		}
		ak = env(akenv);
		sk = env(skenv);
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
	const char *tok = from_env && c->flavor == CAIRN_S3_FLAVOR_S3 ? env(e->aws.session_token) : NULL;
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
		return cairn_uri_bad(uri, "not an s3:// or gs:// URI");
	}

	size_t blen = strcspn(rest, "/?#");
	if (rest[blen] == '#')
		return cairn_uri_bad(uri, "fragments (#) are not allowed");
	if (blen == 0)
		return cairn_uri_bad(uri, "no bucket name (s3://BUCKET/PREFIX)");
	if (blen > 255)
		return cairn_uri_bad(uri, "the bucket name is too long");
	for (size_t i = 0; i < blen; i++)
		if (!bucket_char((unsigned char)rest[i]))
			return cairn_uri_bad(uri, "the bucket name may hold only letters, digits, '.', '-' and '_'");
	if (!(c->bucket = strndup(rest, blen)))
		return oom();
	const char *pstart = rest + blen;
	size_t plen = strcspn(pstart, "?#");
	if (pstart[plen] == '#')
		return cairn_uri_bad(uri, "fragments (#) are not allowed");
	if ((r = cairn_uri_parse_prefix(uri, pstart, plen, false, &c->prefix)) < 0)
		return r;
	if (pstart[plen] == '?' && (r = parse_params(uri, pstart + plen + 1, &p)) < 0)
		return r;

	bool gcs = c->flavor == CAIRN_S3_FLAVOR_GCS;

	/* Region first: the AWS default endpoint is built from it. */
	const char *region = p.region;
	if (!region && o && o->s3.region && *o->s3.region)
		region = o->s3.region;
	if (!region && !gcs) {
		const struct cairn_store_env *e = cairn_store_opts_env(o);
		region = env(e->aws.region) ? env(e->aws.region) : env(e->aws.default_region);
	}
	if (!region)
		region = gcs ? "auto" : "us-east-1";
	for (const char *q = region; *q; q++)
		if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_')
			return cairn_uri_bad(uri, "the region may hold only letters, digits, '-' and '_'");
	if (!(c->region = strdup(region)))
		return oom();

	/* Without a scheme: https, or http with disable_ssl. */
	_cleanup_free_ char *dflt = NULL;
	if (gcs)
		dflt = strdup("storage.googleapis.com");
	else if (asprintf(&dflt, "s3.%s.amazonaws.com", c->region) < 0)
		dflt = NULL;
	if (!dflt)
		return oom();
	struct cairn_uri_endpoint ep;
	const struct cairn_uri_endpoint_rules *rules = gcs ? &gcs_endpoint_rules : &endpoint_rules;
	if ((r = cairn_uri_endpoint_parse(uri, p.endpoint, o, dflt, rules, &ep)) < 0)
		return r;
	c->scheme = ep.scheme;
	c->host = ep.host;
	c->path = ep.path;
	c->endpoint = ep.url;
	c->allow_http = !strcmp(c->scheme, "http");
	/* The host without its port, for the AWS test. */
	_cleanup_free_ char *hostname = strndup(c->host, strcspn(c->host, ":"));
	if (!hostname)
		return oom();
	c->aws = !gcs && (ends_with(hostname, ".amazonaws.com") || !strcmp(hostname, "amazonaws.com"));

	if (p.style) {
		if (!strcmp(p.style, "virtual"))
			c->virtual_host = true;
		else if (strcmp(p.style, "path") != 0)
			return cairn_uri_bad(uri, "style must be 'path' or 'virtual'");
		if (c->virtual_host && !bucket_dns_ok(c->bucket))
			return cairn_uri_bad(uri, "virtual-hosted style needs a bucket name that is a DNS label "
					    "(a-z, 0-9, '-'; 3 to 63 characters)");
		if (c->virtual_host && c->path[0])
			return cairn_uri_bad(uri, "virtual-hosted style cannot be used with an endpoint path");
	} else {
		c->virtual_host = c->aws && bucket_dns_ok(c->bucket) && !c->path[0];
	}

	c->part_size = CAIRN_S3_PART_SIZE_DEFAULT;
	c->multipart_threshold = CAIRN_S3_THRESHOLD_DEFAULT;
	if (p.part_size) {
		if (cairn_uri_parse_size(p.part_size, CAIRN_S3_PART_SIZE_MIN, CAIRN_S3_PART_SIZE_MAX, &c->part_size) < 0)
			return cairn_uri_bad(uri, "part_size must be a size from 1M to 5G");
		c->multipart_threshold = c->part_size;
	}
	if (p.threshold && cairn_uri_parse_size(p.threshold, CAIRN_S3_PART_SIZE_MIN, CAIRN_S3_PART_SIZE_MAX,
						&c->multipart_threshold) < 0)
		return cairn_uri_bad(uri, "multipart_threshold must be a size from 1M to 5G");
	c->copy_threshold = CAIRN_S3_PART_SIZE_MAX;
	if (p.copy_threshold && cairn_uri_parse_size(p.copy_threshold, CAIRN_S3_PART_SIZE_MIN, CAIRN_S3_PART_SIZE_MAX,
						     &c->copy_threshold) < 0)
		return cairn_uri_bad(uri, "copy_threshold must be a size from 1M to 5G");
	c->max_keys = 1000;
	if (p.max_keys && cairn_uri_parse_count(p.max_keys, 1, 1000, &c->max_keys) < 0)
		return cairn_uri_bad(uri, "max_keys must be a number from 1 to 1000");
	c->delete_batch = 1000;
	if (p.delete_batch && cairn_uri_parse_count(p.delete_batch, 1, 1000, &c->delete_batch) < 0)
		return cairn_uri_bad(uri, "delete_batch must be a number from 1 to 1000");

	c->connections = cairn_uri_connections(o);
	c->limit_upload = o ? o->limit_upload : 0;
	/* GCS's XML API has no DeleteObjects, and asks for preconditions in
	 * its own header. */
	c->multi_delete = !gcs;
	c->cond = gcs ? CAIRN_S3_COND_GOOG_GENERATION : CAIRN_S3_COND_IF_NONE_MATCH;
	if (gcs && o && o->s3.project_id && *o->s3.project_id && !(c->project_id = strdup(o->s3.project_id)))
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
