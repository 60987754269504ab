/* Policies (docs/design.md §2): what to protect (a volume or a group), where to
 * (a repository and a credential), when (every N seconds or a cron
 * schedule), how long to keep (restic's keep rules, engine/retention.h)
 * and how often to re-read everything (full every N).  Table policies
 * (state.h).  The daemon runs them; `cairn policy run` runs one now. */
#ifndef CAIRN_STATE_POLICIES_H
#define CAIRN_STATE_POLICIES_H

#include "state/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cairn_policy_kind {
	CAIRN_POLICY_VOLUME = 0,
	CAIRN_POLICY_GROUP = 1,
};

/* What a policy's keep rules may forget. */
enum cairn_retention_scope {
	CAIRN_SCOPE_POLICY = 0, /* the backups it made (manifest policy_id) */
	CAIRN_SCOPE_VOLUME = 1, /* every backup of its volume or group */
};

struct cairn_policy {
	char *name;
	char *id;       /* 32 hex digits, for life (set by create) */
	int64_t created; /* unix seconds */
	enum cairn_policy_kind kind;
	char *source;   /* absolute path of the volume, or the group's name */
	char *volume_name; /* volume policies: the backups' name; NULL: the default */
	char *repo;     /* repository URI */
	char *cred;     /* credential UUID, or NULL */
	int64_t every;  /* seconds between runs, or 0 when cron is set */
	char *cron;     /* "M H DoM Mon DoW", or NULL */
	/* keep rules: 0 unset, -1 unlimited; keep_within as text ("7d") or NULL */
	int keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly;
	char *keep_within;
	unsigned full_every; /* every Nth backup reads everything; 0: never */
	char *snapshot;      /* snapshot method name ("auto") */
	enum cairn_retention_scope scope;
	bool paused;
	int64_t last_run;    /* unix seconds the latest run was started (0: never) */
	uint64_t backups;    /* runs that completed a backup (for full_every) */
	int64_t rpo;         /* RPO target in seconds (`--rpo`, `dr report`); 0: none */
	/* Replication (`--copy-to`, app/policy.c): the repository new
	 * restore points are copied to, its credential (UUID or NULL), how
	 * often (seconds; 0: after each backup), the destination's own keep
	 * rules ("last=7,daily=30,within=90d"; NULL: none), and when the
	 * latest copy started (unix seconds; 0: never). */
	char *copy_to, *copy_cred, *copy_keep;
	int64_t copy_every, last_copy;
	bool no_catalog; /* its backups keep no file catalog (`--no-catalog`) */
};

void cairn_policy_clear(struct cairn_policy *p);
void cairn_policies_free(struct cairn_policy *v, size_t n);

/* Policy names: [A-Za-z0-9._-], 1..64, not starting with '.' or '-'. */
int cairn_policy_name_check(const char *name);

/* CAIRN_EEXIST if the name is taken.  created, last_run and backups are
 * set here, and id unless p->id is given (32 hex digits: an imported
 * policy keeps its id, so its retention still finds its backups). */
int cairn_policy_create(struct cairn_state *st, const struct cairn_policy *p);
/* CAIRN_ENOTFOUND with "no policy named ..." */
int cairn_policy_get(struct cairn_state *st, const char *name, struct cairn_policy *ret);
int cairn_policy_list(struct cairn_state *st, struct cairn_policy **ret, size_t *ret_n);
int cairn_policy_delete(struct cairn_state *st, const char *name);
int cairn_policy_set_paused(struct cairn_state *st, const char *name, bool paused);
/* Points a policy at another repository and source (failover and failback,
 * app/failover.h): repo, cred (NULL: none), source and volume_name (NULL:
 * the default) replace the row's, in one statement. */
int cairn_policy_set_target(struct cairn_state *st, const char *name, const char *repo, const char *cred,
			    const char *source, const char *volume_name);
/* Records that a run started at t (scheduling counts from it). */
int cairn_policy_set_last_run(struct cairn_state *st, const char *name, int64_t t);
/* Records that a replication copy started at t. */
int cairn_policy_set_last_copy(struct cairn_state *st, const char *name, int64_t t);
/* One more completed backup (for full_every). */
int cairn_policy_count_backup(struct cairn_state *st, const char *name);

#endif
