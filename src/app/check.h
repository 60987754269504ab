/* A check of a repository as a job, with the backups-seen record: what
 * vanished since this host last looked is told apart from damage. */
#ifndef CAIRN_APP_CHECK_H
#define CAIRN_APP_CHECK_H

#include "app/app.h"
#include "app/job.h"
#include "engine/engine.h"
#include "state/seen.h"

struct cairn_app_check {
	const char *uri; /* the repository, for the row */
	bool read_data;
	/* Each problem and each backup it affects (cairn_check_opts). */
	void (*problem)(const char *object, const char *what, void *ud);
	void (*affected)(const struct cairn_manifest *m, uint64_t missing, uint64_t damaged, void *ud);
	void *ud;
	struct cairn_app_progress progress;
};
struct cairn_app_check_result {
	bool ran; /* the job began (else nothing below is set) */
	struct cairn_check_stats stats;
	struct cairn_seen_report vanished;
	char gone[1024]; /* the warning about what vanished ("": none) */
};
/* Checks repo as a job: CAIRN_ECORRUPT on damage.  Backups this host saw
 * that are gone are not damage (ret->gone says what). */
int cairn_app_check(const struct cairn_app *app, struct cairn_repo *repo, const struct cairn_app_check *o,
		    struct cairn_app_check_result *ret);

#endif
