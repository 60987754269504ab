/* A copy of backups to another repository as a job (engine/copy.h): the
 * destination opened from its own reference (its credential and
 * passphrase), a job row of kind "copy" with its log, and the bytes that
 * crossed this host. */
#ifndef CAIRN_APP_COPY_H
#define CAIRN_APP_COPY_H

#include "app/app.h"
#include "app/job.h"
#include "app/open.h"
#include "engine/copy.h"

struct cairn_app_copy {
	const char *from_uri; /* the source, for the row */
	const char *policy;   /* the policy replicating (the row's), or NULL */
	struct cairn_state *st; /* the state database to use (NULL: the app's, opened) */
	bool daemon_child;    /* run by the daemon: SIGTERM means shutdown */
	/* After a copy that wrote (not a dry run) and succeeded, with the
	 * destination still open (a policy's retention there); its error is
	 * the call's.  May be NULL. */
	int (*with_destination)(struct cairn_repo *dst, void *ud);
	void *ud;
	const struct cairn_repo_ref *to;
	/* The destination, opened already (cairn_app_repo_open_pair; borrowed);
	 * NULL: opened here from to. */
	struct cairn_repo *dst;
	struct cairn_copy_opts opts; /* progress: set from progress below */
	struct cairn_app_progress progress;
};

struct cairn_app_copy_result {
	bool ran; /* the job began */
	struct cairn_copy_stats stats;
	/* Bytes on the wire of both stores (received from the source, sent
	 * to the destination), retries included; host_known false for
	 * stores that do not count (local directories). */
	bool host_known;
	uint64_t host_bytes;
};

/* r with the message of a destination that did not open, naming it. */
int cairn_app_copy_destination_error(const struct cairn_repo_ref *to, int r);

/* Opens the destination (unless o->dst), then copies from src as a job. */
int cairn_app_copy(const struct cairn_app *app, struct cairn_repo *src, const struct cairn_app_copy *o,
		   struct cairn_app_copy_result *ret);

#endif
