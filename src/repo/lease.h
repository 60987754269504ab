/* The prune lease and activity markers (format.h LEASE, ACTIVITY).
 *
 * Only prune (and index repair) changes what other writers rely on, so only
 * they take the repository's one exclusive lease: a small object with an
 * expiry that its holder renews while it works, so a crashed holder blocks
 * others only until it expires (or at once on its own host, where a dead
 * pid is recognised).  Backups and other readers of the index never wait
 * for it; instead they announce themselves with an activity marker, which
 * tells prune whether it may delete what it has just taken out of use now
 * or must leave it for the safety window (format.h PRUNE). */
#ifndef CAIRN_REPO_LEASE_H
#define CAIRN_REPO_LEASE_H

#include "repo/repo.h"
#include "util/procid.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CAIRN_PRESENCE_ID_LEN (format.h): object names of 32 hex. */
#define CAIRN_LEASE_TTL_DEFAULT 600 /* seconds */

/* What a lease or marker object holds. */
struct cairn_presence {
	char key[64];    /* "lease/<32 hex>" or "running/<32 hex>" */
	char kind[16];   /* "prune", "repair", "index merge" / "backup", "restore", "check", ... */
	struct cairn_proc_id who;
	int64_t created; /* unix seconds */
	int64_t expires; /* leases; 0 for markers */
	bool damaged;    /* does not open: its age and owner are unknown */
	char why[256];   /* damaged: what is wrong with it */
};

/* JSON codec of the opened body (parse is fuzzed). */
int cairn_presence_encode(const struct cairn_presence *p, char **ret_json);
int cairn_presence_parse(const uint8_t *data, size_t len, struct cairn_presence *ret);

/* Every lease ('L', prefix "lease/") or marker ('R', "running/"); *ret is
 * malloc'd. */
int cairn_presence_list(struct cairn_repo *repo, bool leases, struct cairn_presence **ret, size_t *ret_n);

/* ---- the lease ---- */

struct cairn_lease;

/* Takes the lease for kind ("prune") for ttl seconds (0: the default):
 * CAIRN_EBUSY, naming the holder, while another live lease exists.
 * Expired leases, and those of dead processes on this host, are removed. */
int cairn_lease_acquire(struct cairn_repo *repo, const char *kind, int64_t ttl, struct cairn_lease **ret);
/* Renews the lease when a third of its time has passed.  CAIRN_ETIMEOUT
 * when it has expired already (the holder stalled): another prune may own
 * the repository now, so the caller must stop before changing anything. */
int cairn_lease_keepalive(struct cairn_lease *l);
/* The lease must stay valid for at least margin more seconds (renewing if
 * needed): called before every destructive step. */
int cairn_lease_ensure(struct cairn_lease *l, int64_t margin);
/* Deletes the lease object and frees; accepts NULL. */
void cairn_lease_release(struct cairn_lease *l);

/* ---- activity markers ---- */

struct cairn_activity;

/* Writes running/<random> for a job of kind that reads the index (backup,
 * restore, check, diff) before it does so.  A store that refuses the
 * write (read-only credentials) is not an error for readers: *ret is then
 * NULL and the failure is logged; backups fail as they would anyway. */
int cairn_activity_begin(struct cairn_repo *repo, const char *kind, struct cairn_activity **ret);
/* Deletes the marker and frees; accepts NULL. */
void cairn_activity_end(struct cairn_activity *a);
static inline void cairn_activity_endp(struct cairn_activity **a)
{
	cairn_activity_end(*a);
}

/* Whether a marker still stands for a running job: a process seen alive
 * on this host (whatever the window), or else one younger than window
 * seconds at now that is not a dead process on this host. */
bool cairn_activity_live(const struct cairn_presence *p, int64_t now, int64_t window);

#endif
