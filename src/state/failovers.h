/* Failovers (docs/design.md §15): a standby handed over at the DR site by
 * `cairn dr failover`, what the policies it switched were before (so that
 * `cairn dr failback` can switch them back), and how far a failback got
 * (its steps are recorded one by one, so a rerun after a kill continues).
 * Table failovers (state.h). */
#ifndef CAIRN_STATE_FAILOVERS_H
#define CAIRN_STATE_FAILOVERS_H

#include "state/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Failback steps, in order: done up to and including the recorded one. */
enum cairn_failback_step {
	CAIRN_FAILBACK_NONE = 0,
	CAIRN_FAILBACK_COPIED = 1,   /* the DR site's backups are in the primary repository */
	CAIRN_FAILBACK_RESTORED = 2, /* the primary volume equals the newest one */
	CAIRN_FAILBACK_SWITCHED = 3, /* the policies are as they were: failed back */
};

struct cairn_failover {
	char *standby;
	bool failed_back;
	int64_t started;      /* unix seconds */
	char *backup;         /* the restore point handed over (hex id) */
	int64_t backup_created; /* unix microseconds */
	int64_t rto_ms;       /* command start to handover */
	char *dr_uri;         /* the repository the standby reads from (resolved) */
	char *dr_cred;        /* or NULL */
	char *target;         /* where the volume (or the group's directory) is */
	/* JSON array of the switched policies as they were before:
	 * [{name, repo, cred, source, volume_name, paused}] */
	char *policies;
	int step;             /* enum cairn_failback_step */
	char *failback_to;    /* or NULL */
	char *failback_backup; /* the restore point written back (hex), or NULL */
	uint64_t failback_bytes; /* written to the primary volume */
	int64_t failback_done;   /* unix seconds; 0 not yet */
};

void cairn_failover_clear(struct cairn_failover *f);
void cairn_failovers_free(struct cairn_failover *v, size_t n);

/* Adds or replaces (a standby failed back may fail over again) the row of
 * f->standby: state failed over, step none. */
int cairn_failover_put(struct cairn_state *st, const struct cairn_failover *f);
/* CAIRN_ENOTFOUND quietly when the standby never failed over. */
int cairn_failover_get(struct cairn_state *st, const char *standby, struct cairn_failover *ret);
int cairn_failover_list(struct cairn_state *st, struct cairn_failover **ret, size_t *ret_n);
/* True when the standby is failed over now (its updates stop). */
bool cairn_failover_active(struct cairn_state *st, const char *standby);
/* A failback step done; target, backup and bytes are recorded when not
 * NULL / when step says so; SWITCHED marks the row failed back. */
int cairn_failover_set_step(struct cairn_state *st, const char *standby, int step, const char *to,
			    const char *backup, uint64_t bytes, int64_t now);

#endif
