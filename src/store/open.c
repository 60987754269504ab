/* Repository URI -> store, plus the test wrappers the environment asks for.
 *
 * The environment hooks exist so the end-to-end tests can inject faults into
 * (and count the store calls of) the real binary without a test-only build.
 */
#include "store/store.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Length of the "scheme" in "scheme://rest" (RFC 3986 characters), or 0 when
 * uri is a path: "./a://b" and "dir/x://y" are paths. */
static size_t scheme_len(const char *uri)
{
	const char *sep = strstr(uri, "://");
	if (!sep || sep == uri || !isalpha((unsigned char)uri[0]))
		return 0;
	for (const char *p = uri; p < sep; p++)
		if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
			return 0;
	return (size_t)(sep - uri);
}

static int open_uri(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret)
{
	_cleanup_(cairn_store_freep) struct cairn_store *s = NULL;
	const char *path = uri;
	int r;

	if (!uri || !*uri)
		return cairn_error_set(CAIRN_EINVAL, "empty repository URI");

	size_t n = scheme_len(uri);
	if (n == 2 && (strncasecmp(uri, "s3", 2) == 0 || strncasecmp(uri, "gs", 2) == 0)) {
		/* A credential of another provider family cannot open it. */
		if (o && o->provider && strcmp(o->provider, "s3") != 0 && strcmp(o->provider, "google") != 0)
			return cairn_error_set(CAIRN_EINVAL, "a credential for provider '%s' cannot open %.*s:// "
					       "repositories", o->provider, (int)n, uri);
		r = cairn_store_s3_open(uri, o, &s);
		if (r < 0)
			return r;
		*ret = TAKE_PTR(s);
		return 0;
	}
	if (n == 5 && strncasecmp(uri, "azure", 5) == 0) {
		if (o && o->provider && strcmp(o->provider, "azure") != 0)
			return cairn_error_set(CAIRN_EINVAL, "a credential for provider '%s' cannot open azure:// "
					       "repositories", o->provider);
		r = cairn_store_azure_open(uri, o, &s);
		if (r < 0)
			return r;
		*ret = TAKE_PTR(s);
		return 0;
	}
	if (n > 0) {
		if (n != 4 || strncasecmp(uri, "file", 4) != 0)
			return cairn_error_set(CAIRN_EUNSUPPORTED,
					       "repository URI scheme '%.*s' is not supported yet", (int)n,
					       uri);
		path = uri + 7;
		/* file://localhost/p is the same as file:///p (RFC 8089). */
		if (strncasecmp(path, "localhost/", 10) == 0)
			path += 9;
		if (path[0] != '/')
			return cairn_error_set(CAIRN_EINVAL,
					       "repository URI '%s': a file URI needs an absolute path (file:///path)",
					       uri);
	}

	r = cairn_store_local_open(path, &s);
	if (r < 0)
		return r;
	/* Messages should name the repository the way the user wrote it. */
	char *u = strdup(uri);
	if (!u)
		return cairn_error_nomem();
	free(s->uri);
	s->uri = u;
	*ret = TAKE_PTR(s);
	return 0;
}

static int bad_spec(const char *spec, const char *why, const char *item)
{
	return cairn_error_set(CAIRN_EINVAL, "CAIRN_TEST_FAULT='%s': %s '%s'", spec, why, item);
}

static int parse_ops(const char *spec, char *v, unsigned *ret)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "get", CAIRN_FAULT_GET },   { "put", CAIRN_FAULT_PUT },   { "stat", CAIRN_FAULT_STAT },
		{ "del", CAIRN_FAULT_DEL },   { "list", CAIRN_FAULT_LIST }, { "all", CAIRN_FAULT_ALL },
	};
	unsigned ops = 0;
	char *t;

	/* strsep, not strtok: "put+" and "put++get" are typos to report. */
	while ((t = strsep(&v, "+"))) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (!strcmp(t, names[i].name))
				break;
		if (i == ARRAY_SIZE(names))
			return bad_spec(spec, "unknown op (want get, put, stat, del, list or all)", t);
		ops |= names[i].bit;
	}
	*ret = ops;
	return 0;
}

static int parse_bool(const char *spec, const char *v, bool *ret)
{
	if (!strcmp(v, "0") || !strcmp(v, "1")) {
		*ret = v[0] == '1';
		return 0;
	}
	return bad_spec(spec, "want 0 or 1, not", v);
}

static int parse_code(const char *spec, const char *v, int *ret)
{
	/* Any code cairn_error_name knows, so tests can try new ones. */
	for (int c = -1; c > -64; c--) {
		const char *name = cairn_error_name(c);
		if (strcmp(name, "EUNKNOWN") != 0 && !strcmp(name, v)) {
			*ret = c;
			return 0;
		}
	}
	return bad_spec(spec, "unknown error code (want e.g. EIO, ENOSPC, ENOTFOUND, ECORRUPT)", v);
}

/* Parses spec into p; p->corrupt_prefix points into *ret_buf (caller frees). */
static int parse_fault(const char *spec, struct cairn_fault_params *p, char **ret_buf)
{
	_cleanup_free_ char *buf = strdup(spec);
	char *rest = buf, *item;
	int r;

	if (!buf)
		return cairn_error_nomem();
	*p = (struct cairn_fault_params){ .ops = CAIRN_FAULT_ALL, .code = CAIRN_EIO };

	while ((item = strsep(&rest, ","))) {
		char *v = strchr(item, '=');
		if (!v)
			return bad_spec(spec, "expected key=value, got", item);
		*v++ = 0;
		if (!strcmp(item, "ops")) {
			r = parse_ops(spec, v, &p->ops);
		} else if (!strcmp(item, "at")) {
			char *end;
			errno = 0;
			unsigned long at = strtoul(v, &end, 10);
			if (!*v || *end || errno || !isdigit((unsigned char)v[0]) || at > UINT_MAX)
				return bad_spec(spec, "at= wants a call number, not", v);
			p->fail_at = (unsigned)at;
			r = 0;
		} else if (!strcmp(item, "persistent")) {
			r = parse_bool(spec, v, &p->persistent);
		} else if (!strcmp(item, "truncate")) {
			r = parse_bool(spec, v, &p->truncate_put);
		} else if (!strcmp(item, "code")) {
			r = parse_code(spec, v, &p->code);
		} else if (!strcmp(item, "corrupt")) {
			p->corrupt_prefix = v;
			r = 0;
		} else {
			return bad_spec(spec,
					"unknown key (want ops, at, persistent, code, corrupt or truncate)",
					item);
		}
		if (r < 0)
			return r;
	}
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

int cairn_store_open(const char *uri, struct cairn_store **ret)
{
	return cairn_store_open_opts(uri, NULL, ret);
}

int cairn_store_open_opts(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret)
{
	_cleanup_(cairn_store_freep) struct cairn_store *s = NULL;
	int r;

	r = open_uri(uri, o, &s);
	if (r < 0)
		return r;

	const char *spec = getenv("CAIRN_TEST_FAULT");
	if (spec && *spec) {
		struct cairn_fault_params p;
		_cleanup_free_ char *buf = NULL;
		struct cairn_store *w;

		r = parse_fault(spec, &p, &buf);
		if (r < 0)
			return r;
		r = cairn_store_fault_wrap(s, &p, &w);
		if (r < 0)
			return r;
		s = w;
	}

	const char *count = getenv("CAIRN_TEST_COUNT");
	if (count && *count) {
		struct cairn_store *w;

		r = cairn_store_count_wrap(s, &w);
		if (r < 0)
			return r;
		s = w;
		r = cairn_store_count_dump_on_free(s, count);
		if (r < 0)
			return r;
	}

	*ret = TAKE_PTR(s);
	return 0;
}
