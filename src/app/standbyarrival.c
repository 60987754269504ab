/* Standby updates started by an arrival (standbyarrival.h). */
#include "app/standbyarrival.h"
#include "app/open.h"
#include "state/failovers.h"
#include "state/repos.h"
#include "state/standbys.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* STATE/standby/NAME/arrived (the directory made when missing). */
static int mark_path(const struct cairn_app *app, const char *name, bool create, char **ret)
{
	if (!app->state_dir)
		return cairn_error_set(CAIRN_EINVAL, "standby volumes need a state directory (--state-dir)");
	_cleanup_free_ char *top = NULL, *dir = NULL;
	if (asprintf(&top, "%s/standby", app->state_dir) < 0 || asprintf(&dir, "%s/%s", top, name) < 0)
		return cairn_error_nomem();
	if (create && ((mkdir(top, 0700) < 0 && errno != EEXIST) || (mkdir(dir, 0700) < 0 && errno != EEXIST)))
		return cairn_error_errno(errno, "cannot create %s", dir);
	return asprintf(ret, "%s/arrived", dir) < 0 ? cairn_error_nomem() : 0;
}

/* The repository sb reads, its registered alias resolved (as the
 * standby's update opens it; here without app/standby.h, which the
 * copy and the import that call this module are below). */
static int open_followed(const struct cairn_app *app, struct cairn_state *st, const struct cairn_standby *sb,
			 struct cairn_repo **ret)
{
	struct cairn_repo_reg reg = { 0 };
	bool alias = cairn_repo_reg_get(st, sb->uri, &reg) >= 0;
	if (!alias)
		cairn_error_clear();
	struct cairn_repo_ref ref = { .uri = alias ? reg.uri : sb->uri, .cred = sb->cred ? sb->cred : reg.cred };
	int r = cairn_app_repo_open(app, st, &ref, ret);
	if (alias)
		cairn_repo_reg_clear(&reg);
	return r;
}

static bool follows(const struct cairn_standby *sb, const char *volume, const char *group)
{
	if (!volume && !group)
		return true;
	if (sb->group)
		return group && strcmp(sb->source, group) == 0;
	return volume && strcmp(sb->source, volume) == 0;
}

size_t cairn_app_standby_arrived(const struct cairn_app *app, struct cairn_state *st, const struct cairn_repo *repo,
				 const char *volume, const char *group)
{
	struct cairn_standby *v = NULL;
	size_t n = 0, marked = 0;
	if (!app->state_dir)
		return 0;
	/* `cairn copy` runs without the state database open. */
	_cleanup_(cairn_state_freep) struct cairn_state *own = NULL;
	if (!st) {
		if (cairn_app_state_open(app, true, &own) < 0) {
			cairn_error_clear();
			return 0;
		}
		st = own;
	}
	if (cairn_standby_list(st, &v, &n) < 0) {
		cairn_log_warn("standbys: %s", cairn_error_message());
		cairn_error_clear();
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct cairn_standby *sb = &v[i];
		if (!follows(sb, volume, group) || cairn_failover_active(st, sb->name))
			continue;
		/* The same repository is the same instance, whatever its URI says. */
		_cleanup_(cairn_repo_freep) struct cairn_repo *there = NULL;
		if (open_followed(app, st, sb, &there) < 0) {
			cairn_log_warn("standby %s: %s (not updated on arrival)", sb->name, cairn_error_message());
			cairn_error_clear();
			continue;
		}
		if (memcmp(there->config.instance, repo->config.instance, sizeof(repo->config.instance)) != 0)
			continue;
		_cleanup_free_ char *path = NULL;
		_cleanup_close_ int fd = -1;
		if (mark_path(app, sb->name, true, &path) < 0 ||
		    (fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0) {
			if (path)
				cairn_error_errno(errno, "cannot create %s", path);
			cairn_log_warn("standby %s: %s", sb->name, cairn_error_message());
			cairn_error_clear();
			continue;
		}
		cairn_log_info("standby %s follows %s %s there: the daemon updates it next", sb->name,
			       sb->group ? "group" : "volume", sb->source);
		marked++;
	}
	cairn_standbys_free(v, n);
	return marked;
}

bool cairn_app_standby_take_arrival(const struct cairn_app *app, const char *name)
{
	_cleanup_free_ char *path = NULL;
	if (mark_path(app, name, false, &path) < 0) {
		cairn_error_clear();
		return false;
	}
	return unlink(path) == 0;
}
