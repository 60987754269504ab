/* What the object-store drivers (store/s3/, store/azure/) parse the same
 * way in their repository URIs: percent-decoding, the prefix, the
 * ?NAME=VALUE parameters, sizes and counts, and the endpoint.  The grammar
 * of each scheme (s3://BUCKET, azure://ACCOUNT/CONTAINER) stays in the
 * driver's config.c; these are the pieces between the slashes.
 *
 * Secrets: a URI may hold one by mistake (?sig=..., user:password@host),
 * so no message here repeats a URI's query, a parameter's value or an
 * endpoint's user info.
 */
#ifndef CAIRN_STORE_URI_H
#define CAIRN_STORE_URI_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the "scheme" in "scheme://rest" (RFC 3986 characters), or 0
 * when uri is a path: "./a://b" and "dir/x://y" are paths. */
size_t cairn_uri_scheme_len(const char *uri);

/* The value of a hex digit, -1 for anything else. */
int cairn_uri_hexval(int c);

/* Percent-decodes s[0..n) into a new string; NULL on a bad escape, an
 * escape of NUL, or no memory. */
char *cairn_uri_decode(const char *s, size_t n);

/* CAIRN_EINVAL with "repository URI '<uri without its query>': why". */
int cairn_uri_bad(const char *uri, const char *why);

/* The store's prefix from the (encoded) path p[0..n) of a URI: decoded,
 * leading and trailing slashes dropped, components joined by '/' with one
 * more at the end, or "" for none.  Empty, "." and ".." components and
 * control characters are refused, and so is '\\' when no_backslash (Azure
 * turns it into '/' in blob names).  *ret is owned by the caller. */
int cairn_uri_parse_prefix(const char *uri, const char *p, size_t n, bool no_backslash, char **ret);

/* A parameter a driver knows: its name and where its decoded value goes
 * (owned by the caller, NULL while not given). */
struct cairn_uri_param {
	const char *name;
	char **value;
};

/* Parses the query q ("a=1&b=2", without '?') into the n known
 * parameters.  Unknown names, names given twice, missing or empty values
 * and bad escapes are CAIRN_EINVAL; an unknown name is quoted (never its
 * value) with the list of known ones and `hint`, which says where secrets
 * go instead. */
int cairn_uri_parse_params(const char *uri, const char *q, const struct cairn_uri_param *known, size_t n,
			   const char *hint);

/* A size, "8M", "5MiB", "1048576", "1g" (binary multiples), from min to
 * max; -1 when malformed or out of range (the caller says which range). */
int cairn_uri_parse_size(const char *s, uint64_t min, uint64_t max, size_t *ret);

/* A decimal count from min to max; -1 otherwise. */
int cairn_uri_parse_count(const char *s, unsigned long min, unsigned long max, unsigned *ret);

/* Where a driver talks to: "scheme://host[:port][/path]". */
struct cairn_uri_endpoint {
	char *scheme; /* "https" or "http" */
	char *host;   /* host[:port], lower case */
	char *path;   /* "" or "/p" (no trailing '/') */
	char *url;    /* scheme://host[path], for messages */
};

/* What the drivers' endpoints differ in. */
struct cairn_uri_endpoint_rules {
	/* How to allow a plain http:// endpoint from the options, for the
	 * message ("disable_ssl (--s3-disable-ssl)"). */
	const char *ssl_hint;
	/* Appended to the refusal of user info, a query or a fragment ("" or
	 * " (a SAS token goes in ...)"). */
	const char *query_hint;
	/* The path may hold only letters, digits and -._~/ (Azure signs it
	 * as it is sent). */
	bool plain_path;
	/* How a stored credential for another endpoint is made, for the
	 * refusal: the create command up to the endpoint option ("cairn cred
	 * create --provider s3 ... --s3-endpoint") and the option that allows
	 * http ("--s3-disable-ssl"); NULL when the provider's credentials
	 * have no endpoint (Google), with no_endpoint_hint saying what to do
	 * instead. */
	const char *cred_create, *cred_ssl, *no_endpoint_hint;
};

/* The endpoint of a store: the URI's ?endpoint= (uri_ep, may be NULL),
 * else the options' (o may be NULL), else dflt.  One written in the URI
 * may be http:// (the user asked for it on the command line); one from the
 * options only with o->disable_ssl; one without a scheme is https, or http
 * with disable_ssl.  ret is zeroed first and filled only on success.
 *
 * A stored credential's secrets (o->cred set) are bound to the endpoint
 * the options or dflt give: a URI endpoint is accepted only when it is the
 * same host, port and path, over the same scheme or https.  Anything else
 * is CAIRN_EPERM with one line naming the credential, both endpoints and
 * how to make a credential for the URI's; nothing has been sent. */
int cairn_uri_endpoint_parse(const char *uri, const char *uri_ep, const struct cairn_store_opts *o, const char *dflt,
			     const struct cairn_uri_endpoint_rules *rules, struct cairn_uri_endpoint *ret);

/* The connections a store opens (o->connections, 8 by default, at most
 * 256). */
unsigned cairn_uri_connections(const struct cairn_store_opts *o);

/* A repository URI's read-only secondary (docs/design.md §7): what the
 * object-store schemes take besides their drivers' own parameters.
 *   secondary=URL          another endpoint serving the same objects
 *                          (Azure's ACCOUNT-secondary.blob... host of a
 *                          read-access geo-redundant account, an S3
 *                          replica's endpoint)
 *   secondary_bucket=NAME  s3://, gs://: the replica's bucket, when its
 *                          name differs (alone: same endpoint, other bucket)
 * The split gives the primary's URI (uri without those two) and the
 * secondary's (uri with endpoint= set to URL and the bucket replaced), to
 * be opened by the driver as any other URI, and display names for
 * messages: the endpoint (or for the default one, the URI without its
 * query).  Shown only after the driver has accepted both endpoints, which
 * refuses user info and queries in them.  No secondary: *ret_secondary
 * is NULL and *ret_primary a copy of uri. */
struct cairn_uri_secondary {
	char *primary, *secondary;           /* URIs */
	char *primary_name, *secondary_name; /* for messages */
};
int cairn_uri_secondary_split(const char *uri, bool allow_bucket, struct cairn_uri_secondary *ret);
void cairn_uri_secondary_free(struct cairn_uri_secondary *s);

#endif
