/* Repository URI -> store: the scheme's driver from the registry, then the
 * test wrappers set up at start (testwrap.h). */
#include "store/registry.h"
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
	if ((r = e->open(uri, o, &s)) < 0)
		return r;
	if ((r = cairn_store_test_wrap(&s)) < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}
