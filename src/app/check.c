/* A check as a job (check.h). */
#include "app/check.h"
#include "app/seen.h"
#include "util/time.h"

#include <stdio.h>
#include <string.h>

struct checking {
	const struct cairn_app_check *o;
	struct cairn_app_seen seen;
	int64_t listed_us; /* before the check began: the listing came later */
	struct cairn_app_check_result *ret;
};

static void on_listed(const struct cairn_manifest_list *l, void *ud)
{
	struct checking *c = ud;
	cairn_app_seen_observe(&c->seen, l, c->listed_us, &c->ret->vanished);
}

static void on_problem(const char *object, const char *what, void *ud)
{
	const struct checking *c = ud;
	if (c->o->problem)
		c->o->problem(object, what, c->o->ud);
}

static void on_affected(const struct cairn_manifest *m, uint64_t missing, uint64_t damaged, void *ud)
{
	const struct checking *c = ud;
	if (c->o->affected)
		c->o->affected(m, missing, damaged, c->o->ud);
}

int cairn_app_check(const struct cairn_app *app, struct cairn_repo *repo, const struct cairn_app_check *o,
		    struct cairn_app_check_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct checking c = { .o = o, .listed_us = cairn_wall_now_us(), .ret = ret };
	cairn_app_seen_begin(&c.seen, app, NULL, repo);
	struct cairn_check_opts co = { .read_data = o->read_data, .problem = on_problem, .affected = on_affected,
				       .listed = on_listed, .ud = &c,
				       .progress = o->progress.fn, .progress_ud = o->progress.ud,
				       .state_dir = app->state_dir };
	struct cairn_app_job j;
	int r = cairn_app_job_begin(app, NULL, "check", NULL, o->uri, o->uri, NULL, 0, &j);
	if (r < 0) {
		cairn_app_seen_end(&c.seen);
		return r;
	}
	ret->ran = true;
	r = cairn_check_run(repo, &co, &ret->stats);
	cairn_app_progress_done(&o->progress);
	cairn_app_seen_end(&c.seen);
	/* Backups seen here before and gone now are not damage to what is
	 * there, but may be a rollback: the result says so. */
	if (ret->vanished.vanished)
		cairn_app_seen_describe(&ret->vanished, ret->gone, sizeof(ret->gone));
	const struct cairn_check_stats *st = &ret->stats;
	char result[1200];
	if (ret->gone[0])
		snprintf(result, sizeof(result), "%llu backups, %llu packs, %llu blobs%s: no damage, but %s",
			 (unsigned long long)st->backups, (unsigned long long)st->packs, (unsigned long long)st->blobs,
			 o->read_data ? " (all data read)" : "", ret->gone);
	else
		snprintf(result, sizeof(result), "%llu backups, %llu packs, %llu blobs%s: no problems",
			 (unsigned long long)st->backups, (unsigned long long)st->packs, (unsigned long long)st->blobs,
			 o->read_data ? " (all data read)" : "");
	return cairn_app_job_end(&j, r, r >= 0 ? result : NULL);
}
