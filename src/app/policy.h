/* Policies (state/policies.h) as use cases: one run of a policy (its
 * backup, then its retention as a forget job), and the retention a
 * policy's keep rules ask for, which 'forget --policy' runs the same way. */
#ifndef CAIRN_APP_POLICY_H
#define CAIRN_APP_POLICY_H

#include "app/app.h"
#include "app/forget.h"
#include "app/policyopts.h"
#include "engine/engine.h"
#include "engine/retention.h"
#include "state/policies.h"

#include <jansson.h>

/* What one run of a policy did. */
struct cairn_app_policy_outcome {
	char backup[33];    /* the new backup's (or group backup's) id */
	bool retention;     /* its keep rules ran */
	uint64_t kept;      /* units its rules kept */
	json_t *forgotten;  /* [{id, type, volume | group, created}] (owned) */
	/* Replication after the backup (copy_to without copy_every). */
	bool copy_ran, copy_failed;
	uint64_t copy_backups, copy_bytes; /* backups copied, bytes sent */
	char copy_error[512];
};
void cairn_app_policy_outcome_clear(struct cairn_app_policy_outcome *o);

struct cairn_app_policy_run {
	int64_t job;       /* the backup's row, made by the daemon (0: make one) */
	bool daemon_child; /* run by the daemon: SIGTERM means shutdown */
	unsigned connections;
	uint64_t limit_upload;
	/* The backup's progress (a terminal's bar; may be NULL); done is
	 * called once the backup has ended. */
	cairn_progress_fn progress;
	void (*progress_done)(void *ud);
	void *progress_ud;
	/* The replication target's passphrase, when given (may be NULL). */
	const struct cairn_pass_source *to_pass;
};
/* Runs one scheduled run of a policy: its backup (full every
 * full_every-th), then its retention as a forget job, over the backups it
 * made or, with scope volume, every backup of its volume or group, then,
 * when it replicates after each backup, its copy (app/replicate.h: a
 * failed copy is a failed copy job and ret->copy_failed, not a failed
 * run).  Each
 * backup forgotten is logged in the forget job's log.  ret may be NULL. */
int cairn_app_policy_run(const struct cairn_app *app, struct cairn_state *st, const struct cairn_policy *p,
			 const struct cairn_app_policy_run *o, struct cairn_app_policy_outcome *ret);

#endif
