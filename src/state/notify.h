/* Alerts and the numbers metrics read (docs/design.md, "Metrics and alerts"): notifiers
 * (`cairn notify add`), how far the daemon has announced failed jobs, the
 * RPO breaches it announced, and each policy's newest backup statistics.
 * Tables notifiers, alert_marks, rpo_breaches, backup_stats, repo_written
 * (state.h, version 17: migration step 16). */
#ifndef CAIRN_STATE_NOTIFY_H
#define CAIRN_STATE_NOTIFY_H

#include "state/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Event kinds a notifier may ask for (bits of events). */
enum {
	CAIRN_NOTIFY_FAILURE = 1 << 0, /* a job failed */
	CAIRN_NOTIFY_RPO = 1 << 1,     /* a policy's RPO target is broken */
};
#define CAIRN_NOTIFY_ALL (CAIRN_NOTIFY_FAILURE | CAIRN_NOTIFY_RPO)

struct cairn_notifier {
	char *name;
	int64_t created;  /* unix seconds */
	bool exec;        /* target is a shell command; else a webhook URL */
	char *target;
	unsigned events;  /* CAIRN_NOTIFY_* bits */
	unsigned timeout_s; /* per attempt */
};

void cairn_notifier_clear(struct cairn_notifier *n);
void cairn_notifiers_free(struct cairn_notifier *v, size_t n);

/* "failure,rpo" into bits (CAIRN_EINVAL naming the bad word); and back
 * (buf of at least 16 bytes). */
int cairn_notify_events_parse(const char *s, unsigned *ret);
void cairn_notify_events_format(unsigned events, char *buf, size_t size);

/* CAIRN_EEXIST when the name is taken. */
int cairn_notifier_add(struct cairn_state *st, const struct cairn_notifier *n);
/* CAIRN_ENOTFOUND with "no notifier named ..." */
int cairn_notifier_get(struct cairn_state *st, const char *name, struct cairn_notifier *ret);
int cairn_notifier_list(struct cairn_state *st, struct cairn_notifier **ret, size_t *ret_n);
int cairn_notifier_remove(struct cairn_state *st, const char *name);

/* A mark (alert_marks); *ret 0 when unset. */
int cairn_alert_mark_get(struct cairn_state *st, const char *name, int64_t *ret);
int cairn_alert_mark_set(struct cairn_state *st, const char *name, int64_t value);

/* RPO breaches (what: "backup" or "copy").  open returns 1 when the breach
 * is new (to announce), 0 when it was already recorded; close forgets it
 * (the target is met again). */
int cairn_rpo_breach_open(struct cairn_state *st, const char *policy, const char *what, int64_t since);
int cairn_rpo_breach_close(struct cairn_state *st, const char *policy, const char *what);

/* Forgets the marks "job:<id>" of jobs up to id (alerts.c's record of
 * failures announced out of order). */
int cairn_alert_marks_drop_jobs(struct cairn_state *st, int64_t id);

/* When the policy's newest restore point was taken (its backup
 * statistics, else its newest successful backup job's start) and when the
 * newest one its last successful copy took off-site was (unix seconds;
 * 0: none known). */
int cairn_policy_point_times(struct cairn_state *st, const char *policy, int64_t *ret_point, int64_t *ret_copied);

/* Failed jobs with no later success of the same kind and policy (jobs run
 * by hand: of the same source), of policies that still exist, newest
 * first: their ids (malloc'd). */
int cairn_jobs_failed_unresolved(struct cairn_state *st, int64_t **ret, size_t *ret_n);

/* A policy's newest backup, for metrics. */
struct cairn_backup_stats_row {
	char *policy, *repo, *backup;
	int64_t job;
	int64_t created; /* unix seconds: the restore point's time */
	double seconds;
	uint64_t bytes_read, bytes_new, bytes_stored;
	uint64_t stored_total; /* every backup of the policy recorded here */
};
void cairn_backup_stats_clear(struct cairn_backup_stats_row *r);
void cairn_backup_stats_free(struct cairn_backup_stats_row *v, size_t n);
/* Records r as its policy's newest backup, adds bytes_stored to the
 * policy's and the repository's totals (r->stored_total is ignored). */
int cairn_backup_stats_record(struct cairn_state *st, const struct cairn_backup_stats_row *r);
int cairn_backup_stats_list(struct cairn_state *st, struct cairn_backup_stats_row **ret, size_t *ret_n);

/* Bytes this host's policy backups stored per repository. */
struct cairn_repo_written {
	char *repo;
	uint64_t bytes;
};
void cairn_repo_written_free(struct cairn_repo_written *v, size_t n);
int cairn_repo_written_list(struct cairn_state *st, struct cairn_repo_written **ret, size_t *ret_n);

#endif
