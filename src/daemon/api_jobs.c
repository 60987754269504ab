/* Resources that run as jobs of the CLI's commands (api_jobs.h).
 *
 * The request is checked here with the calls the command makes first
 * (the repository opens, the backup resolves, the standby exists, a held
 * backup is not forgotten), so that what a client got wrong is a 400, 404
 * or 409 and nothing is queued; the work itself is the command's, run by
 * the daemon as its child (daemon/jobq.h).  Every word handed to the
 * command is either ours, a resolved id, or a checked value that cannot
 * be read as an option. */
#include "daemon/api_jobs.h"
#include "app/backups.h"
#include "app/open.h"
#include "app/standby.h"
#include "daemon/api.h"
#include "daemon/jobq.h"
#include "daemon/schedule.h"
#include "repo/hold.h"
#include "repo/repo.h"
#include "state/groups.h"
#include "state/repos.h"
#include "state/standbys.h"
#include "util/error.h"
#include "util/hex.h"

#include <stdio.h>
#include <string.h>

/* A body field: a string or absent (NULL); anything else is refused, as
 * is a string a command would read as an option. */
static int str_field(json_t *body, const char *key, const char **ret)
{
	json_t *v = json_object_get(body, key);
	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !json_string_length(v))
		return cairn_error_set(CAIRN_EINVAL, "%s must be a non-empty string", key);
	if (json_string_value(v)[0] == '-')
		return cairn_error_set(CAIRN_EINVAL, "%s must not start with '-'", key);
	*ret = json_string_value(v);
	return 0;
}

static int bool_field(json_t *body, const char *key, bool *ret)
{
	json_t *v = json_object_get(body, key);
	*ret = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return cairn_error_set(CAIRN_EINVAL, "%s must be true or false", key);
	*ret = json_is_true(v);
	return 0;
}

/* A path on the daemon's host: absolute (the daemon's working directory
 * is no client's). */
static int path_field(json_t *body, const char *key, bool required, const char **ret)
{
	int r = str_field(body, key, ret);
	if (r < 0)
		return r;
	if (!*ret)
		return required ? cairn_error_set(CAIRN_EINVAL, "give %s (an absolute path on the daemon's host)", key) : 0;
	if ((*ret)[0] != '/')
		return cairn_error_set(CAIRN_EINVAL, "%s must be an absolute path on the daemon's host", key);
	return 0;
}

/* Refuses fields not in known (a typo is not silently ignored); body NULL:
 * none given, an error when need. */
static int body_check(struct cairn_api_req *rq, bool need, const char *const *known)
{
	if (!rq->json)
		return need ? cairn_error_set(CAIRN_EINVAL, "give the request as a JSON object") : 0;
	return cairn_api_check_fields(rq, known);
}

/* The repository a request names: a registered repository's name or a
 * URI, with a credential (given, or the registered one).  Opened here as
 * the command will open it, so that a bad reference is refused now; the
 * command gets --repo URI [--cred REF] (appended to words). */
static int repo_open(struct cairn_api_req *rq, struct cairn_state *st, const char *given, const char *cred,
		     json_t *words, struct cairn_repo **ret, char **ret_uri)
{
	if (!given)
		return cairn_error_set(CAIRN_EINVAL, "give the repository: repo");
	struct cairn_repo_reg reg = { 0 };
	const char *uri = given;
	if (!strstr(given, "://") && given[0] != '/' && cairn_repo_reg_get(st, given, &reg) >= 0) {
		uri = reg.uri;
		if (!cred)
			cred = reg.cred;
	}
	cairn_error_clear();
	struct cairn_repo_ref ref = { .uri = uri, .cred = cred, .cred_pass_first = true };
	int r = cairn_app_repo_open(cairn_api_app(rq), st, &ref, ret);
	if (r >= 0) {
		json_array_append_new(words, json_string("--repo"));
		json_array_append_new(words, json_string(uri));
		if (cred) {
			json_array_append_new(words, json_string("--cred"));
			json_array_append_new(words, json_string(cred));
		}
		if (ret_uri && !(*ret_uri = strdup(uri)))
			r = cairn_error_nomem();
	}
	cairn_repo_reg_clear(&reg);
	return r;
}

/* A backup's whole id (hex) from what a client gave; CAIRN_ENOTFOUND
 * (404) when the repository has none such.  *ret_group: a group backup. */
static int backup_of(struct cairn_repo *repo, const char *spec, char hex[2 * CAIRN_BACKUP_ID_LEN + 1],
		     uint8_t id[CAIRN_BACKUP_ID_LEN], bool *ret_group)
{
	if (!spec)
		return cairn_error_set(CAIRN_EINVAL, "give the backup (an id, a unique prefix or VOLUME@latest)");
	char what[CAIRN_APP_WHAT_MAX];
	int r = cairn_app_backup_resolve_any(repo, spec, false, id, what);
	if (r < 0)
		return r;
	cairn_hex_encode(id, CAIRN_BACKUP_ID_LEN, hex);
	if (ret_group)
		*ret_group = strncmp(what, "group ", 6) == 0;
	return 0;
}

static void add(json_t *words, const char *w)
{
	json_array_append_new(words, json_string(w));
}

/* Queues the command and answers 202 with the job and its Location. */
static int queue(struct cairn_api_req *rq, struct cairn_state *st, const char *kind, const char *source,
		 const char *repo, json_t *words)
{
	struct cairn_job_new n = { .kind = kind, .source = source, .repo = repo };
	int64_t id;
	int r = cairn_jobq_put(cairn_api_app(rq)->state_dir, st, &n, words, &id);
	if (r < 0)
		return r;
	char loc[64];
	snprintf(loc, sizeof(loc), "/api/v1/jobs/%lld", (long long)id);
	json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "job", (json_int_t)id, "kind", kind, "state", "queued", "location",
			      loc);
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	struct MHD_Response *resp =
		text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE) : NULL;
	if (!resp) {
		free(text);
		return cairn_error_nomem();
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
	rq->response = resp;
	rq->status = 202;
	return 0;
}

#define STATE(rq, st)                                      \
	struct cairn_state *st = cairn_api_state(rq);      \
	if (!st)                                           \
		return CAIRN_EIO

/* POST /api/v1/restores: a volume's backup to a target path or device
 * (`cairn restore`), or a group backup into a directory (`cairn group
 * restore`). */
int cairn_api_post_restores(struct cairn_api_req *rq)
{
	STATE(rq, st);
	static const char *const known[] = { "repo", "cred", "backup", "target", "force", "delta", NULL };
	const char *repo_arg, *cred, *spec, *target;
	bool force, delta;
	int r;
	if ((r = body_check(rq, true, known)) < 0 || (r = str_field(rq->json, "repo", &repo_arg)) < 0 ||
	    (r = str_field(rq->json, "cred", &cred)) < 0 || (r = str_field(rq->json, "backup", &spec)) < 0 ||
	    (r = path_field(rq->json, "target", true, &target)) < 0 || (r = bool_field(rq->json, "force", &force)) < 0 ||
	    (r = bool_field(rq->json, "delta", &delta)) < 0)
		return r;
	if (!spec)
		return cairn_error_set(CAIRN_EINVAL, "give the backup (an id, a unique prefix or VOLUME@latest)");
	json_t *words = json_array();
	struct cairn_repo *repo = NULL;
	char *uri = NULL, hex[2 * CAIRN_BACKUP_ID_LEN + 1];
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	bool group = false;
	if ((r = repo_open(rq, st, repo_arg, cred, words, &repo, &uri)) >= 0)
		r = backup_of(repo, spec, hex, id, &group);
	cairn_repo_free(repo);
	if (r >= 0 && group && delta)
		r = cairn_error_set(CAIRN_EINVAL, "delta restores a volume's backup; %s is a group backup", spec);
	if (r >= 0) {
		if (group) {
			add(words, "group"), add(words, "restore"), add(words, hex), add(words, "--to"), add(words, target);
		} else {
			add(words, "restore"), add(words, hex), add(words, target);
			if (delta)
				add(words, "--delta");
		}
		if (force)
			add(words, "--force");
		char src[4200];
		snprintf(src, sizeof(src), "%s%s -> %s", group ? "group " : "", hex, target);
		r = queue(rq, st, "restore", src, uri, words);
	}
	json_decref(words);
	free(uri);
	return r;
}

/* POST /api/v1/restores/file: files of a backup to a directory on the
 * daemon's host (`cairn restore-file`). */
int cairn_api_post_restores_file(struct cairn_api_req *rq)
{
	STATE(rq, st);
	static const char *const known[] = { "repo", "cred", "backup", "paths", "dest", "force", NULL };
	const char *repo_arg, *cred, *spec, *dest;
	bool force;
	int r;
	if ((r = body_check(rq, true, known)) < 0 || (r = str_field(rq->json, "repo", &repo_arg)) < 0 ||
	    (r = str_field(rq->json, "cred", &cred)) < 0 || (r = str_field(rq->json, "backup", &spec)) < 0 ||
	    (r = path_field(rq->json, "dest", true, &dest)) < 0 || (r = bool_field(rq->json, "force", &force)) < 0)
		return r;
	json_t *paths = json_object_get(rq->json, "paths");
	if (!json_is_array(paths) || !json_array_size(paths))
		return cairn_error_set(CAIRN_EINVAL, "give paths: the files and directories to restore (an array)");
	size_t i;
	json_t *p;
	json_array_foreach(paths, i, p) {
		const char *s = json_string_value(p);
		if (!s || !*s || s[0] == '-')
			return cairn_error_set(CAIRN_EINVAL, "paths[%zu] must be a path in the backup (\"/etc/fstab\", "
							     "or VOLUME:PATH in a group backup)", i);
	}
	if (!spec)
		return cairn_error_set(CAIRN_EINVAL, "give the backup (an id, a unique prefix or VOLUME@latest)");
	json_t *words = json_array();
	struct cairn_repo *repo = NULL;
	char *uri = NULL, hex[2 * CAIRN_BACKUP_ID_LEN + 1];
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	if ((r = repo_open(rq, st, repo_arg, cred, words, &repo, &uri)) >= 0)
		r = backup_of(repo, spec, hex, id, NULL);
	cairn_repo_free(repo);
	if (r >= 0) {
		add(words, "restore-file"), add(words, hex);
		json_array_foreach(paths, i, p)
			add(words, json_string_value(p));
		add(words, dest);
		if (force)
			add(words, "--force");
		char src[4200];
		snprintf(src, sizeof(src), "files of %s -> %s", hex, dest);
		r = queue(rq, st, "restore", src, uri, words);
	}
	json_decref(words);
	free(uri);
	return r;
}

/* POST /api/v1/copies: backups to another repository (`cairn copy`). */
int cairn_api_post_copies(struct cairn_api_req *rq)
{
	STATE(rq, st);
	static const char *const known[] = { "repo", "cred", "backups", "volume", "group", "all",
					     "to", "to_cred", "no_holds", NULL };
	const char *repo_arg, *cred, *volume, *group, *to, *to_cred;
	bool all, no_holds;
	int r;
	if ((r = body_check(rq, true, known)) < 0 || (r = str_field(rq->json, "repo", &repo_arg)) < 0 ||
	    (r = str_field(rq->json, "cred", &cred)) < 0 || (r = str_field(rq->json, "volume", &volume)) < 0 ||
	    (r = str_field(rq->json, "group", &group)) < 0 || (r = str_field(rq->json, "to", &to)) < 0 ||
	    (r = str_field(rq->json, "to_cred", &to_cred)) < 0 || (r = bool_field(rq->json, "all", &all)) < 0 ||
	    (r = bool_field(rq->json, "no_holds", &no_holds)) < 0)
		return r;
	json_t *ids = json_object_get(rq->json, "backups");
	if (ids && !json_is_null(ids) && (!json_is_array(ids) || !json_array_size(ids)))
		return cairn_error_set(CAIRN_EINVAL, "backups must be a non-empty array of backup ids");
	bool some = ids && json_is_array(ids);
	if (some + !!volume + !!group + all != 1)
		return cairn_error_set(CAIRN_EINVAL, "give what to copy: backups, volume, group or all (one of them)");
	if (!to)
		return cairn_error_set(CAIRN_EINVAL, "give the destination repository: to");
	json_t *words = json_array();
	struct cairn_repo *repo = NULL;
	char *uri = NULL;
	if ((r = repo_open(rq, st, repo_arg, cred, words, &repo, &uri)) >= 0)
		add(words, "copy");
	size_t i;
	json_t *b;
	if (some)
		json_array_foreach(ids, i, b) {
			char hex[2 * CAIRN_BACKUP_ID_LEN + 1];
			uint8_t id[CAIRN_BACKUP_ID_LEN];
			if (r < 0)
				break;
			if (!json_is_string(b))
				r = cairn_error_set(CAIRN_EINVAL, "backups[%zu] must be a backup id", i);
			else if ((r = backup_of(repo, json_string_value(b), hex, id, NULL)) >= 0)
				add(words, hex);
		}
	cairn_repo_free(repo);
	if (r >= 0) {
		if (volume)
			add(words, "--volume"), add(words, volume);
		if (group)
			add(words, "--group"), add(words, group);
		if (all)
			add(words, "--all");
		add(words, "--to"), add(words, to);
		if (to_cred)
			add(words, "--to-cred"), add(words, to_cred);
		if (no_holds)
			add(words, "--no-holds");
		r = queue(rq, st, "copy", uri, to, words);
	}
	json_decref(words);
	free(uri);
	return r;
}

/* DELETE /api/v1/repositories/{repo}/backups/{id}: forgets one backup
 * (`cairn forget ID`); a held one is refused (409 held) before anything
 * is queued. */
int cairn_api_delete_backup(struct cairn_api_req *rq)
{
	STATE(rq, st);
	int r = body_check(rq, false, (const char *const[]){ NULL });
	if (r < 0)
		return r;
	json_t *words = json_array();
	struct cairn_repo *repo = NULL;
	char *uri = NULL, hex[2 * CAIRN_BACKUP_ID_LEN + 1];
	uint8_t id[CAIRN_BACKUP_ID_LEN];
	bool group = false, held = false;
	struct cairn_hold_list holds = { 0 };
	if ((r = repo_open(rq, st, rq->m.params[0], cairn_api_query(rq, "cred"), words, &repo, &uri)) >= 0 &&
	    (r = backup_of(repo, rq->m.params[1], hex, id, &group)) >= 0 &&
	    (r = cairn_hold_list_load(repo, &holds)) >= 0) {
		held = cairn_hold_find(&holds, id) != NULL;
		cairn_hold_list_free(&holds);
	}
	cairn_repo_free(repo);
	if (r >= 0 && held)
		r = cairn_api_error(rq, 409, "held", "backup %s is held: release it first", hex);
	else if (r >= 0) {
		add(words, "forget"), add(words, hex);
		r = queue(rq, st, "forget", hex, uri, words);
	}
	json_decref(words);
	free(uri);
	return r;
}

/* The standby of the path, or 404. */
static int standby_exists(struct cairn_state *st, const char *name)
{
	struct cairn_standby s;
	int r = cairn_standby_get(st, name, &s);
	if (r >= 0)
		cairn_standby_clear(&s);
	return r;
}

/* POST /api/v1/standbys/{name}/update {at, force} (`cairn standby update`). */
int cairn_api_post_standby_update(struct cairn_api_req *rq)
{
	STATE(rq, st);
	const char *name = rq->m.params[0], *at = NULL;
	bool force = false;
	int r;
	if ((r = body_check(rq, false, (const char *const[]){ "at", "force", NULL })) < 0 ||
	    (rq->json && ((r = str_field(rq->json, "at", &at)) < 0 || (r = bool_field(rq->json, "force", &force)) < 0)) ||
	    (r = standby_exists(st, name)) < 0)
		return r;
	json_t *words = json_pack("[s, s, s]", "standby", "update", name);
	if (at)
		add(words, "--at"), add(words, at);
	if (force)
		add(words, "--force");
	char src[512];
	snprintf(src, sizeof(src), "standby %s", name);
	r = queue(rq, st, "standby", src, NULL, words);
	json_decref(words);
	return r;
}

/* POST /api/v1/standbys/{name}/failover {at} (`cairn dr failover
 * --standby NAME`). */
int cairn_api_post_standby_failover(struct cairn_api_req *rq)
{
	STATE(rq, st);
	const char *name = rq->m.params[0], *at = NULL;
	int r;
	if ((r = body_check(rq, false, (const char *const[]){ "at", NULL })) < 0 ||
	    (rq->json && (r = str_field(rq->json, "at", &at)) < 0) || (r = standby_exists(st, name)) < 0)
		return r;
	json_t *words = json_pack("[s, s, s, s]", "dr", "failover", "--standby", name);
	if (at)
		add(words, "--at"), add(words, at);
	char src[512];
	snprintf(src, sizeof(src), "standby %s", name);
	r = queue(rq, st, "standby", src, NULL, words);
	json_decref(words);
	return r;
}

/* POST /api/v1/standbys {name, volume | group, repo, cred?, to, every?,
 * force?}: records the standby and brings it to the newest restore point
 * (`cairn standby create`: a full restore, so a job). */
int cairn_api_post_standbys(struct cairn_api_req *rq)
{
	STATE(rq, st);
	static const char *const known[] = { "name", "volume", "group", "repo", "cred", "to", "every", "force", NULL };
	const char *name, *volume, *group, *repo_arg, *cred, *to, *every;
	bool force;
	int r;
	if ((r = body_check(rq, true, known)) < 0 || (r = str_field(rq->json, "name", &name)) < 0 ||
	    (r = str_field(rq->json, "volume", &volume)) < 0 || (r = str_field(rq->json, "group", &group)) < 0 ||
	    (r = str_field(rq->json, "repo", &repo_arg)) < 0 || (r = str_field(rq->json, "cred", &cred)) < 0 ||
	    (r = path_field(rq->json, "to", true, &to)) < 0 || (r = str_field(rq->json, "every", &every)) < 0 ||
	    (r = bool_field(rq->json, "force", &force)) < 0)
		return r;
	if (!name)
		return cairn_error_set(CAIRN_EINVAL, "give the standby's name");
	if ((r = cairn_state_name_check("standby", name)) < 0)
		return r;
	if (!!volume == !!group)
		return cairn_error_set(CAIRN_EINVAL, "give what the standby follows: volume or group (one of them)");
	int64_t secs;
	if (every && (r = cairn_interval_parse(every, "every", &secs)) < 0)
		return r;
	if ((r = standby_exists(st, name)) >= 0)
		return cairn_error_set(CAIRN_EEXIST, "a standby named '%s' exists already", name);
	cairn_error_clear();
	json_t *words = json_array();
	struct cairn_repo *repo = NULL;
	char *uri = NULL;
	if ((r = repo_open(rq, st, repo_arg, cred, words, &repo, &uri)) >= 0) {
		cairn_repo_free(repo);
		add(words, "standby"), add(words, "create"), add(words, name);
		add(words, volume ? "--volume" : "--group"), add(words, volume ? volume : group);
		add(words, "--to"), add(words, to);
		if (every)
			add(words, "--every"), add(words, every);
		if (force)
			add(words, "--force");
		char src[512];
		snprintf(src, sizeof(src), "standby %s", name);
		r = queue(rq, st, "standby", src, uri, words);
	}
	json_decref(words);
	free(uri);
	return r;
}

/* DELETE /api/v1/standbys/{name}: the row and its staging files; the
 * image stays (`cairn standby delete`). */
int cairn_api_delete_standby(struct cairn_api_req *rq)
{
	STATE(rq, st);
	int r = cairn_app_standby_delete(cairn_api_app(rq), st, rq->m.params[0]);
	if (r < 0)
		return r;
	return cairn_api_reply(rq, 200, json_pack("{s:s, s:b}", "name", rq->m.params[0], "deleted", 1));
}

/* DELETE /api/v1/groups/{name}: the group (its backups stay; `cairn
 * group delete`). */
int cairn_api_delete_group(struct cairn_api_req *rq)
{
	STATE(rq, st);
	int r = cairn_group_delete(st, rq->m.params[0]);
	if (r < 0)
		return r;
	return cairn_api_reply(rq, 200, json_pack("{s:s, s:b}", "name", rq->m.params[0], "deleted", 1));
}
