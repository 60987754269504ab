/* Opening a repository from a reference (open.h). */
#include "app/open.h"
#include "state/cred.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <pthread.h>
#include <string.h>

int cairn_app_store_open(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo_ref *ref,
			 struct cairn_store **ret, struct cairn_cred **ret_cred)
{
	_cleanup_(cairn_state_freep) struct cairn_state *own = NULL;
	_cleanup_(cairn_cred_freep) struct cairn_cred *cred = NULL;
	const char *uri = ref->uri, *cref = ref->cred && *ref->cred ? ref->cred : NULL;
	int r;

	if (ret_cred)
		*ret_cred = NULL;
	/* Only object stores and a named credential need the state database;
	 * reading it never creates it. */
	if (!st && (cref || cairn_cred_uri_provider(uri) != CAIRN_CRED_NONE) && app->state_dir) {
		if ((r = cairn_app_state_open(app, true, &own)) < 0 && r != CAIRN_ENOTFOUND)
			return r;
		st = own;
	}
	if ((r = cairn_cred_resolve(st, cref, uri, &cred)) < 0)
		return r;
	if (cred)
		cairn_log_info("using credential %s (%s)", cred->uuid, cairn_cred_provider_name(cred->provider));
	struct cairn_store_opts o = { .connections = ref->connections, .limit_upload = ref->limit_upload };
	if ((r = cairn_cred_store_opts(cred, uri, &o)) < 0)
		return r;
	if ((r = cairn_store_open_opts(uri, &o, ret)) < 0)
		return r;
	if (ret_cred)
		*ret_cred = TAKE_PTR(cred);
	return 0;
}

int cairn_app_repo_check(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo_ref *ref,
			 struct cairn_store **ret, struct cairn_cred **ret_cred)
{
	const char *uri = ref->uri;
	if (!uri)
		return cairn_error_set(CAIRN_EINVAL, "no repository given: use --repo URI or set CAIRN_REPO");
	_cleanup_(cairn_cred_freep) struct cairn_cred *cred = NULL;
	struct cairn_store *s = NULL;
	int r = cairn_app_store_open(app, st, ref, &s, &cred);
	if (r < 0)
		return r;
	uint64_t size;
	r = cairn_store_stat(s, "config", &size);
	if (r == CAIRN_ENOTFOUND) {
		char seen[128];
		r = cairn_repo_data_without_config(s, seen);
		cairn_store_free(s);
		if (r > 0)
			return cairn_error_set(CAIRN_ENOTREPO,
					       "%s has lost its config: it holds repository data (%s) but no "
					       "config object; restore the config from a copy",
					       uri, seen);
		return r < 0 ? r : cairn_error_set(CAIRN_ENOTREPO, "%s is not a cairn repository (run 'cairn init' first)", uri);
	}
	if (r < 0) {
		cairn_store_free(s);
		return r;
	}
	if (ret)
		*ret = s;
	else
		cairn_store_free(s);
	if (ret_cred)
		*ret_cred = TAKE_PTR(cred);
	return 0;
}

void cairn_app_repo_prep_clear(struct cairn_repo_prep *p)
{
	cairn_store_free(p->store);
	cairn_app_secret_free(p->pass, p->plen);
	*p = (struct cairn_repo_prep){ 0 };
}

int cairn_app_repo_prepare(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo_ref *ref,
			   struct cairn_repo_prep *p)
{
	*p = (struct cairn_repo_prep){ 0 };
	_cleanup_(cairn_cred_freep) struct cairn_cred *cred = NULL;
	struct cairn_store *s = NULL;
	int r = cairn_app_repo_check(app, st, ref, &s, &cred);
	if (r < 0)
		return r;
	const struct cairn_pass_source *src = ref->pass ? ref->pass : &app->pass;
	if (ref->cred_pass_first && cred && cred->passphrase)
		r = cairn_app_secret_copy(cred->passphrase, &p->pass, &p->plen);
	else
		r = cairn_app_passphrase(src, false, cred, &p->pass, &p->plen);
	if (r < 0) {
		cairn_store_free(s);
		return r;
	}
	p->store = s;
	return 0;
}

int cairn_app_repo_open(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo_ref *ref,
			struct cairn_repo **ret)
{
	struct cairn_repo_prep p;
	int r = cairn_app_repo_prepare(app, st, ref, &p);
	if (r < 0)
		return r;
	r = cairn_repo_open(p.store, p.pass, p.plen, ret);
	p.store = NULL;
	cairn_app_repo_prep_clear(&p);
	return r;
}

struct derive {
	struct cairn_repo_prep prep;
	struct cairn_repo *repo;
	int r;
	char err[1024];
};

static void *derive_main(void *ud)
{
	struct derive *d = ud;
	d->r = cairn_repo_open(d->prep.store, d->prep.pass, d->prep.plen, &d->repo);
	d->prep.store = NULL; /* the repo's now, or freed */
	if (d->r < 0)
		cairn_error_copy(d->err, sizeof(d->err));
	return NULL;
}

int cairn_app_repo_open_pair(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo_ref *a,
			     const struct cairn_repo_ref *b, struct cairn_repo **ret_a, struct cairn_repo **ret_b,
			     int *ret_which)
{
	struct derive da = { .r = 0 }, db = { .r = 0 };
	*ret_a = *ret_b = NULL;
	*ret_which = 0;
	int r = cairn_app_repo_prepare(app, st, a, &da.prep);
	if (r < 0)
		return r;
	if ((r = cairn_app_repo_prepare(app, st, b, &db.prep)) < 0) {
		cairn_app_repo_prep_clear(&da.prep);
		*ret_which = 1;
		return r;
	}
	pthread_t t;
	bool threaded = pthread_create(&t, NULL, derive_main, &db) == 0;
	derive_main(&da);
	if (threaded)
		pthread_join(t, NULL);
	else
		derive_main(&db);
	cairn_app_repo_prep_clear(&da.prep);
	cairn_app_repo_prep_clear(&db.prep);
	if (da.r < 0 || db.r < 0) {
		cairn_repo_free(da.repo);
		cairn_repo_free(db.repo);
		*ret_which = da.r < 0 ? 0 : 1;
		return da.r < 0 ? cairn_error_set(da.r, "%s", da.err) : cairn_error_set(db.r, "%s", db.err);
	}
	*ret_a = da.repo;
	*ret_b = db.repo;
	return 0;
}
