/* POST /api/v1/repositories/{repo}/backups/{id}/restore-file (api_catalog.h):
 * `cairn restore-file` through the API, for the dashboard's file browser. */
#include "app/backups.h"
#include "daemon/api_catalog.h"
#include "daemon/api_req.h"
#include "engine/restorefile.h"
#include "repo/manifest.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

#define PATHS_MAX 1000

/* The body's paths: "path" (one) or "paths" (a list), each absolute. */
static int body_paths(json_t *body, const char ***ret, size_t *ret_n)
{
	json_t *one = json_object_get(body, "path"), *many = json_object_get(body, "paths");
	if (!!one == !!many)
		return cairn_error_set(CAIRN_EINVAL, "give what to restore: path (one) or paths (a list)");
	size_t n = one ? 1 : json_array_size(many);
	if (many && (!json_is_array(many) || !n || n > PATHS_MAX))
		return cairn_error_set(CAIRN_EINVAL, "paths must be a list of 1 to %d paths", PATHS_MAX);
	const char **v = calloc(n, sizeof(*v));
	if (!v)
		return cairn_error_nomem();
	for (size_t i = 0; i < n; i++) {
		json_t *p = one ? one : json_array_get(many, i);
		if (!json_is_string(p) || json_string_value(p)[0] != '/') {
			free(v);
			return cairn_error_set(CAIRN_EINVAL, "a path to restore must be absolute (\"/etc/hosts\")");
		}
		v[i] = json_string_value(p);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int cairn_api_post_restore_file(struct cairn_api_req *rq)
{
	if (!rq->json)
		return cairn_error_set(CAIRN_EINVAL, "give {path or paths, target, force?} as a JSON object");
	const char *key;
	json_t *v;
	json_object_foreach(rq->json, key, v)
		if (strcmp(key, "path") && strcmp(key, "paths") && strcmp(key, "target") && strcmp(key, "force"))
			return cairn_error_set(CAIRN_EINVAL, "unknown field %s", key);
	json_t *t = json_object_get(rq->json, "target"), *f = json_object_get(rq->json, "force");
	if (!json_is_string(t) || json_string_value(t)[0] != '/')
		return cairn_error_set(CAIRN_EINVAL, "target must be an absolute directory on the daemon's host");
	if (f && !json_is_boolean(f))
		return cairn_error_set(CAIRN_EINVAL, "force must be true or false");
	const char **paths = NULL;
	size_t n = 0;
	int r = body_paths(rq->json, &paths, &n);
	if (r < 0)
		return r;
	struct cairn_repo *repo = NULL;
	struct cairn_manifest *m = NULL;
	struct cairn_restorefile_item *items = calloc(n, sizeof(*items));
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	char what[CAIRN_APP_WHAT_MAX], spec[128];
	cairn_app_lower_id(rq->m.params[1], spec, sizeof(spec));
	if (!items)
		r = cairn_error_nomem();
	if (r >= 0 && (r = cairn_api_repo_of(rq, &repo)) >= 0 &&
	    (r = cairn_app_backup_resolve_any(repo, spec, false, id, what)) >= 0)
		r = cairn_manifest_read(repo, id, &m);
	struct cairn_restorefile_stats st;
	memset(&st, 0, sizeof(st));
	if (r >= 0) {
		for (size_t i = 0; i < n; i++)
			items[i] = (struct cairn_restorefile_item){ m, paths[i] };
		struct cairn_restorefile_opts o = { .mode = CAIRN_RF_DIR, .dest = json_string_value(t),
						    .force = f && json_is_true(f),
						    .state_dir = cairn_api_app(rq)->state_dir };
		r = cairn_restorefile_run(repo, items, n, &o, &st);
	}
	json_t *reply = NULL;
	if (r >= 0)
		reply = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "backup", m->idhex, "target",
				  json_string_value(t), "files", (json_int_t)st.files, "dirs", (json_int_t)st.dirs,
				  "symlinks", (json_int_t)st.symlinks, "skipped", (json_int_t)st.skipped, "bytes",
				  (json_int_t)st.bytes, "chunks_fetched", (json_int_t)st.chunks_fetched, "seconds",
				  st.seconds);
	cairn_manifest_free(m);
	cairn_repo_free(repo);
	free(items);
	free(paths);
	return r < 0 ? r : cairn_api_reply(rq, 200, reply);
}
