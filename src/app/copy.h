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
	const struct cairn_repo_ref *to;
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

/* Opens the destination, then copies from src as a job. */
int cairn_app_copy(const struct cairn_app *app, struct cairn_repo *src, const struct cairn_app_copy *o,
		   struct cairn_app_copy_result *ret);

#endif
