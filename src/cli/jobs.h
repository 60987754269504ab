/* Jobs from the command line (state/jobs.h): every backup, restore, copy,
 * check, forget and prune a CLI command or a daemon child runs is a job
 * row; progress goes to the row (a few times a second), log lines to the
 * job's log, and a cancel asked for in the row stops the job at its next
 * safe point. */
#ifndef CAIRN_CLI_JOBS_H
#define CAIRN_CLI_JOBS_H

#include "cli/cli.h"
#include "state/jobs.h"
#include "state/policies.h"

struct cli_job {
	struct cairn_state *st; /* NULL: no state database (no row) */
	bool own_st;
	int64_t id;             /* 0: no row */
	double t0, last_update;
	struct cli_progress *prog; /* the terminal's bar, chained (may be NULL) */
	bool cancel_seen;       /* the row asked us to stop */
	bool daemon_child;      /* canceled by SIGTERM means "shutdown" */
	uint64_t done, total;
};

/* Starts a job row for kind on source (claiming volumes, absolute paths).
 * st may be NULL: the state directory's database is opened, and if it
 * cannot be, the command runs without a row (logged).  A volume in use by
 * another job is an error (CAIRN_EBUSY). */
int cli_job_begin(struct cli_global *g, struct cairn_state *st, const char *kind, const char *policy,
		  const char *source, const char *repo, const char *const *volumes, size_t nvolumes,
		  struct cli_job *j);
/* Adopts a row the daemon made active for this process (policy run --job). */
int cli_job_adopt(struct cairn_state *st, int64_t id, struct cli_job *j);
/* A cairn_progress_fn: draws the bar, updates the row, reads the cancel flag. */
void cli_job_progress(uint64_t done, uint64_t total, void *ud);
/* Ends the row from r (0 done, CAIRN_ECANCELED canceled, else failed with
 * the current error message); returns r. */
int cli_job_end(struct cli_job *j, int r, const char *result);

/* Opens uri with a policy's credential (its UUID, or NULL: the one
 * stored for the uri's provider) and passphrase: the credential's
 * encryption passphrase, else --passphrase-file, CAIRN_PASSPHRASE_FILE,
 * CAIRN_PASSPHRASE, else a prompt on a terminal. */
int cli_open_repo_with(struct cli_global *g, struct cairn_state *st, const char *uri, const char *cred,
		       struct cairn_repo **ret);

/* What one run of a policy did, for 'policy run' to report. */
struct cli_policy_outcome {
	char backup[33];    /* the new backup's (or group backup's) id */
	bool retention;     /* its keep rules ran */
	uint64_t kept;      /* units its rules kept */
	json_t *forgotten;  /* [{id, type, volume | group, created}] (owned) */
};
void cli_policy_outcome_clear(struct cli_policy_outcome *o);

/* Runs one scheduled run of a policy in this process: its backup (full
 * every full_every-th), then its retention as a forget job, over the
 * backups it made or, with scope volume, every backup of its volume or
 * group.  Each backup forgotten is logged in the forget job's log.  job is
 * the backup's row when the daemon made it (0: make one).  ret may be
 * NULL. */
int cli_policy_execute(struct cli_global *g, struct cairn_state *st, const struct cairn_policy *p, int64_t job,
		       bool daemon_child, struct cli_policy_outcome *ret);

/* The volume name a volume policy's backups go by (malloc'd): its
 * volume_name, else the default name of its source. */
int cli_policy_volume_name(const struct cairn_policy *p, char **ret);

/* How the series rule's refusal tells a policy's user to name its volume. */
#define CLI_POLICY_NAME_OPTION "'cairn policy create --name'"

/* The keep rules of a policy (CAIRN_EINVAL for a damaged keep_within). */
struct cairn_keep_rules;
int cli_policy_rules(const struct cairn_policy *p, struct cairn_keep_rules *ret);

#endif
