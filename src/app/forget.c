/* A forget as a job (forget.h). */
#include "app/forget.h"
#include "app/job.h"
#include "app/seen.h"
#include "util/log.h"

struct forgetting {
	const struct cairn_forget_opts *fo;
	struct cairn_app_seen seen;
};

static void on_decision(const struct cairn_forget_item *it, void *ud)
{
	struct forgetting *f = ud;
	/* This host's forgets are not "vanished". */
	if (!f->fo->dry_run)
		cairn_app_seen_forget(&f->seen, it);
	if (f->fo->decision)
		f->fo->decision(it, f->fo->ud);
}

static bool on_gone(const char *spec, void *ud)
{
	struct forgetting *f = ud;
	if (cairn_app_seen_acknowledge(&f->seen, spec) != 1)
		return false;
	f->fo->gone(spec, f->fo->ud);
	return true;
}

int cairn_app_forget_job(const struct cairn_app *app, struct cairn_state *st, struct cairn_repo *repo,
			 const struct cairn_app_forget *o, const struct cairn_forget_opts *fo,
			 struct cairn_forget_stats *ret)
{
	struct cairn_app_job j = { 0 };
	int r;
	memset(ret, 0, sizeof(*ret));
	if (!fo->dry_run) {
		if ((r = cairn_app_job_begin(app, st, "forget", o->policy, o->source, o->uri, NULL, 0, &j)) < 0)
			return r;
		j.daemon_child = o->daemon_child;
	}
	if (o->intro)
		cairn_log_info("%s", o->intro);
	struct forgetting f = { .fo = fo };
	cairn_app_seen_begin(&f.seen, app, st, repo);
	struct cairn_forget_opts mine = *fo;
	mine.decision = on_decision;
	mine.gone = fo->gone ? on_gone : NULL;
	mine.ud = &f;
	char result[128];
	if (o->nnames) {
		r = cairn_forget_named(repo, o->names, o->nnames, &mine, ret);
		snprintf(result, sizeof(result), "forgot %llu", (unsigned long long)ret->forgotten);
	} else {
		r = cairn_forget_run(repo, &mine, ret);
		snprintf(result, sizeof(result), "kept %llu, forgot %llu", (unsigned long long)ret->kept,
			 (unsigned long long)ret->forgotten);
	}
	cairn_app_seen_end(&f.seen);
	if (!fo->dry_run)
		r = cairn_app_job_end(&j, r, r >= 0 ? result : NULL);
	return r;
}

