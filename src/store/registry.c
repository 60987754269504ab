/* The table of repository URI schemes (registry.h). */
#include "store/registry.h"
#include "store/uri.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "/path", "relative/path", "file:///path" or "file://localhost/path". */
static int open_file(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret)
{
	_cleanup_(cairn_store_freep) struct cairn_store *s = NULL;
	const char *path = uri;
	int r;

	if (cairn_uri_scheme_len(uri) > 0) {
		path = uri + strlen("file://");
		/* file://localhost/p is the same as file:///p (RFC 8089). */
		if (strncasecmp(path, "localhost/", 10) == 0)
			path += 9;
		if (path[0] != '/')
			return cairn_error_set(CAIRN_EINVAL,
					       "repository URI '%s': a file URI needs an absolute path (file:///path)",
					       uri);
	}
	if ((r = cairn_store_local_open_opts(path, o, &s)) < 0)
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

static const struct cairn_store_scheme schemes[] = {
	{ "file", NULL, open_file, CAIRN_STORE_OPTIONS_NONE },
	{ "s3", "s3", cairn_store_s3_open, CAIRN_STORE_OPTIONS_S3 },
	{ "gs", "google", cairn_store_s3_open, CAIRN_STORE_OPTIONS_S3 },
	{ "azure", "azure", cairn_store_azure_open, CAIRN_STORE_OPTIONS_AZURE },
};

const struct cairn_store_scheme *cairn_store_scheme_of(const char *uri)
{
	if (!uri)
		return NULL;
	size_t n = cairn_uri_scheme_len(uri);
	if (n == 0)
		return &schemes[0];
	for (size_t i = 0; i < ARRAY_SIZE(schemes); i++)
		if (strlen(schemes[i].scheme) == n && strncasecmp(uri, schemes[i].scheme, n) == 0)
			return &schemes[i];
	return NULL;
}

const struct cairn_store_scheme *cairn_store_scheme_of_provider(const char *provider)
{
	for (size_t i = 0; provider && i < ARRAY_SIZE(schemes); i++)
		if (schemes[i].provider && strcmp(schemes[i].provider, provider) == 0)
			return &schemes[i];
	return NULL;
}

bool cairn_store_scheme_serves(const struct cairn_store_scheme *e, const char *provider)
{
	const struct cairn_store_scheme *p = cairn_store_scheme_of_provider(provider);
	return e && p && e->options == p->options;
}
