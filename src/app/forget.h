/* A forget as a job (cairn forget, a policy's retention at its repository
 * and at its copy's). */
#ifndef CAIRN_APP_FORGET_H
#define CAIRN_APP_FORGET_H

#include "app/app.h"
#include "engine/engine.h"
#include "engine/retention.h"

struct cairn_state;
struct cairn_repo;

/* A forget over repo as a job (none when fo->dry_run): by fo's rules, or
 * of the backups names (cairn_forget_named) when nnames.  The row names
 * policy (may be NULL), source and uri; intro, when not NULL, is the job
 * log's first line.  Each decision is also recorded in the backups-seen
 * record before fo->decision sees it; a name that matches no backup but
 * one this host reported as vanished is acknowledged there (no longer
 * reported) and then passed to fo->gone, when set. */
struct cairn_app_forget {
	const char *policy, *source, *uri, *intro;
	const char *const *names;
	size_t nnames;
	bool daemon_child;
};
int cairn_app_forget_job(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
			 const struct cairn_app_forget *o, const struct cairn_forget_opts *fo,
			 struct cairn_forget_stats *ret);

#endif
