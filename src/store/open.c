/* Repository URI -> store: the scheme's driver from the registry, then the
 * test wrappers set up at start (testwrap.h). */
#include "store/registry.h"
#include "store/secondary.h"
#include "store/testwrap.h"
#include "store/uri.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <string.h>

static const struct cairn_store_env no_env;
static const struct cairn_store_env *env_default = &no_env;

void cairn_store_set_env(const struct cairn_store_env *e)
{
	env_default = e ? e : &no_env;
}

const struct cairn_store_env *cairn_store_env_default(void)
{
	return env_default;
}

int cairn_store_open(const char *uri, struct cairn_store **ret)
{
	return cairn_store_open_opts(uri, NULL, ret);
}

int cairn_store_open_opts(const char *uri, const struct cairn_store_opts *o, struct cairn_store **ret)
{
	_cleanup_(cairn_store_freep) struct cairn_store *s = NULL;
	int r;

	if (!uri || !*uri)
		return cairn_error_set(CAIRN_EINVAL, "empty repository URI");
	const struct cairn_store_scheme *e = cairn_store_scheme_of(uri);
	if (!e)
		return cairn_error_set(CAIRN_EUNSUPPORTED, "repository URI scheme '%.*s' is not supported yet",
				       (int)cairn_uri_scheme_len(uri), uri);
	/* A credential of another provider family cannot open it. */
	if (e->provider && o && o->provider && !cairn_store_scheme_serves(e, o->provider))
		return cairn_error_set(CAIRN_EINVAL, "a credential for provider '%s' cannot open %.*s:// repositories",
				       o->provider, (int)cairn_uri_scheme_len(uri), uri);
	/* Local paths may hold '?': only object stores have parameters. */
	if (!e->provider) {
		if ((r = e->open(uri, o, &s)) < 0)
			return r;
		if ((r = cairn_store_test_wrap(&s)) < 0)
			return r;
		*ret = TAKE_PTR(s);
		return 0;
	}
	_cleanup_(cairn_uri_secondary_free) struct cairn_uri_secondary sp = { 0 };
	if ((r = cairn_uri_secondary_split(uri, e->options == CAIRN_STORE_OPTIONS_S3, &sp)) < 0)
		return r;
	if ((r = e->open(sp.primary, o, &s)) < 0)
		return r;
	if ((r = cairn_store_test_wrap(&s)) < 0)
		return r;
	if (sp.secondary) {
		/* The same options (credential, limits) for both: a stored
		 * credential bound to the primary's endpoint refuses another,
		 * as for ?endpoint= (store/uri.h). */
		_cleanup_(cairn_store_freep) struct cairn_store *sec = NULL, *w = NULL;
		if ((r = e->open(sp.secondary, o, &sec)) < 0)
			return cairn_error_prefix(r, "the secondary endpoint");
		if ((r = cairn_store_test_wrap(&sec)) < 0)
			return r;
		if ((r = cairn_store_secondary_wrap(s, sec, uri, sp.primary_name, sp.secondary_name, &w)) < 0)
			return r;
		/* The wrapper owns both now. */
		sec = NULL;
		s = TAKE_PTR(w);
	}
	*ret = TAKE_PTR(s);
	return 0;
}
