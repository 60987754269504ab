/* Policies (state/policies.h) as use cases: one run of a policy (its
 * backup, then its retention as a forget job), and the retention a
 * policy's keep rules ask for, which 'forget --policy' runs the same way. */
#ifndef CAIRN_APP_POLICY_H
#define CAIRN_APP_POLICY_H

#include "app/app.h"
#include "engine/engine.h"
#include "engine/retention.h"
#include "state/policies.h"

#include <jansson.h>

/* How the series rule's refusal tells a policy's user to name its volume. */
#define CAIRN_APP_POLICY_NAME_OPTION "'cairn policy create --name'"

struct cairn_repo_ref;
/* The reference of p's repository: its URI, its credential, whose
 * encryption passphrase comes first (else the app's passphrase sources). */
void cairn_app_policy_repo_ref(const struct cairn_policy *p, unsigned connections, uint64_t limit_upload,
			       struct cairn_repo_ref *ret);

/* The keep rules of a policy (CAIRN_EINVAL for a damaged keep_within). */
int cairn_app_policy_rules(const struct cairn_policy *p, struct cairn_keep_rules *ret);

/* The volume name a volume policy's backups go by (malloc'd): its
 * volume_name, else the default name of its source. */
int cairn_app_policy_volume_name(const struct cairn_policy *p, char **ret);

/* The forget options of p's retention: its keep rules unless fo has some,
 * its group or volume (volume: the name its backups carry; NULL: p's,
 * then *ret_volume holds it, owned), and with scope policy only the
 * backups it made. */
int cairn_app_policy_forget_opts(const struct cairn_policy *p, const char *volume, struct cairn_forget_opts *fo,
				 char **ret_volume);

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
