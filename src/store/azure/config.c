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
 *   secondary=URL    a read-only secondary endpoint (the -secondary host): taken out of
 *                    the URI before it gets here (store/uri.h,
 *                    store/secondary.c)
 *
 * The account in the URI is authoritative: a credential or
 * AZURE_STORAGE_ACCOUNT naming another account is an error.  Credentials,
 * first found wins: the options' account key or SAS token (a credential),
 * then the environment's AZURE_STORAGE_KEY, then AZURE_STORAGE_SAS_TOKEN
 * (as read at start into opts.env).
 * An endpoint in the URI wins over the options' endpoint, but a stored
 * credential's key or SAS goes only to its own endpoint (the default
 * when it has none): a URI endpoint naming another is refused
 * (store/uri.h).
 *
 * Plain http: an endpoint written in the URI may be http:// (the user
 * asked for it on the command line); one from the options only with
 * disable_ssl.  TLS certificates are always verified otherwise.
 */
#include "store/azure/azure.h"
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

static const struct cairn_uri_endpoint_rules endpoint_rules = {
	.ssl_hint = "disable_ssl",
	.query_hint = " (a SAS token goes in AZURE_STORAGE_SAS_TOKEN or a credential)",
	/* The path is signed as it is sent (the Shared Key canonical
	 * resource): nothing in it may need encoding. */
	.plain_path = true,
	.cred_create = "cairn cred create --provider azure ... --azure-endpoint",
	.cred_ssl = "--azure-disable-ssl",
};

/* An environment value (store.h's struct cairn_store_env), NULL when unset. */
static const char *env(const char *v)
{
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
	const struct cairn_uri_param known[] = {
		{ "endpoint", &p->endpoint },
		{ "block_size", &p->block_size },
		{ "block_threshold", &p->threshold },
		{ "max_results", &p->max_results },
	};
	/* Only the name of an unknown parameter goes into the message: its
	 * value could be a secret (sig=...). */
	return cairn_uri_parse_params(uri, q, known, ARRAY_SIZE(known),
				      "the account key or SAS token comes from a credential or the environment");
}

static int credentials(struct cairn_azure_config *c, const struct cairn_store_opts *o, const char *uri)
{
	const struct cairn_store_env *e = cairn_store_opts_env(o);
	const char *key = o && o->azure.key && *o->azure.key ? o->azure.key : NULL;
	const char *sas = o && o->azure.sas && *o->azure.sas ? o->azure.sas : NULL;
	const char *src = "the credential";
	size_t n = strcspn(uri, "?");

	if (key && sas)
		return cairn_error_set(CAIRN_EAUTH, "the credential has both an account key and a SAS token: "
						    "give one");
	if (!key && !sas) {
		const char *acct = env(e->azure.account);
		if (acct && strcasecmp(acct, c->account) != 0)
			return cairn_error_set(CAIRN_EINVAL,
					       "AZURE_STORAGE_ACCOUNT is '%.64s', but the repository URI names account "
					       "'%s'",
					       acct, c->account);
		if ((key = env(e->azure.key)))
			src = "AZURE_STORAGE_KEY";
		else if ((sas = env(e->azure.sas_token)))
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
		return cairn_uri_bad(uri ? uri : "", "not an azure:// URI");
	const char *rest = uri + 8;
	if (strchr(uri, '#'))
		return cairn_uri_bad(uri, "fragments (#) are not allowed");

	size_t alen = strcspn(rest, "/?");
	if (alen == 0)
		return cairn_uri_bad(uri, "no storage account (azure://ACCOUNT/CONTAINER/PREFIX)");
	if (!account_ok(rest, alen))
		return cairn_uri_bad(uri, "the storage account name must be 3 to 24 lower-case letters and digits");
	if (!(c->account = strndup(rest, alen)))
		return oom();
	rest += alen;
	if (*rest == '/')
		rest++;
	size_t clen = strcspn(rest, "/?");
	if (clen == 0)
		return cairn_uri_bad(uri, "no container (azure://ACCOUNT/CONTAINER/PREFIX)");
	if (!container_ok(rest, clen))
		return cairn_uri_bad(uri, "the container name must be 3 to 63 of a-z, 0-9 and '-', starting and "
				    "ending with a letter or digit, without '--'");
	if (!(c->container = strndup(rest, clen)))
		return oom();
	const char *pstart = rest + clen;
	size_t plen = strcspn(pstart, "?");
	if ((r = cairn_uri_parse_prefix(uri, pstart, plen, true, &c->prefix)) < 0)
		return r;
	if (pstart[plen] == '?' && (r = parse_params(uri, pstart + plen + 1, &p)) < 0)
		return r;

	if (o && o->azure.account && *o->azure.account && strcasecmp(o->azure.account, c->account) != 0)
		return cairn_error_set(CAIRN_EINVAL,
				       "the credential is for Azure account '%.64s', but the repository URI names "
				       "account '%s'",
				       o->azure.account, c->account);

	/* The default names its scheme: https whatever disable_ssl says. */
	_cleanup_free_ char *dflt = NULL;
	if (asprintf(&dflt, "https://%s.blob.core.windows.net", c->account) < 0) {
		dflt = NULL;
		return oom();
	}
	struct cairn_uri_endpoint ep;
	if ((r = cairn_uri_endpoint_parse(uri, p.endpoint, o, dflt, &endpoint_rules, &ep)) < 0)
		return r;
	c->scheme = ep.scheme;
	c->host = ep.host;
	c->path = ep.path;
	c->endpoint = ep.url;
	c->allow_http = !strcmp(c->scheme, "http");

	c->block_size = CAIRN_AZURE_BLOCK_SIZE_DEFAULT;
	c->block_threshold = CAIRN_AZURE_THRESHOLD_DEFAULT;
	if (p.block_size) {
		if (cairn_uri_parse_size(p.block_size, CAIRN_AZURE_BLOCK_SIZE_MIN, CAIRN_AZURE_BLOCK_SIZE_MAX,
					 &c->block_size) < 0)
			return cairn_uri_bad(uri, "block_size must be a size from 16K to 4000M");
		c->block_threshold = c->block_size;
	}
	if (p.threshold && cairn_uri_parse_size(p.threshold, CAIRN_AZURE_BLOCK_SIZE_MIN, CAIRN_AZURE_PUT_BLOB_MAX,
						&c->block_threshold) < 0)
		return cairn_uri_bad(uri, "block_threshold must be a size from 16K to 5000M");
	c->max_results = CAIRN_AZURE_MAX_RESULTS;
	if (p.max_results && cairn_uri_parse_count(p.max_results, 1, CAIRN_AZURE_MAX_RESULTS, &c->max_results) < 0)
		return cairn_uri_bad(uri, "max_results must be a number from 1 to 5000");
	c->connections = cairn_uri_connections(o);
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
