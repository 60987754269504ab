/* A copy as a job (copy.h). */
#include "app/copy.h"
#include "app/standbyarrival.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>

static bool xfer_of(struct cairn_store *s, bool sent, uint64_t *ret)
{
	struct cairn_store_xfer x;
	if (cairn_store_xfer(s, &x) < 0)
		return false;
	*ret = sent ? x.bytes_sent : x.bytes_received;
	return true;
}

int cairn_app_copy_destination_error(const struct cairn_repo_ref *to, int r)
{
	return strstr(cairn_error_message(), to->uri) ? cairn_error_prefix(r, "destination")
						      : cairn_error_prefix(r, "destination %s", to->uri);
}

int cairn_app_copy(const struct cairn_app *app, struct cairn_repo *src, const struct cairn_app_copy *o,
		   struct cairn_app_copy_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	_cleanup_(cairn_repo_freep) struct cairn_repo *opened = NULL;
	struct cairn_repo *dst = o->dst;
	int r = 0;
	if (!dst && (r = cairn_app_repo_open(app, o->st, o->to, &opened)) < 0)
		return cairn_app_copy_destination_error(o->to, r);
	if (!dst)
		dst = opened;
	struct cairn_app_job j;
	if ((r = cairn_app_job_begin(app, o->st, "copy", o->policy, o->from_uri, o->to->uri, NULL, 0, &j)) < 0)
		return r;
	j.daemon_child = o->daemon_child;
	ret->ran = true;
	cairn_app_job_chain(&j, &o->progress);
	struct cairn_copy_opts co = o->opts;
	co.progress = cairn_app_job_progress;
	co.progress_ud = &j;
	uint64_t s0 = 0, d0 = 0, s1 = 0, d1 = 0;
	bool sk = xfer_of(src->store, false, &s0), dk = xfer_of(dst->store, true, &d0);
	r = cairn_copy_run(src, dst, &co, &ret->stats);
	cairn_app_progress_done(&o->progress);
	/* A local directory does not count: every byte it gave or took
	 * crossed this host (read or written here). */
	uint64_t host = 0;
	host += sk && xfer_of(src->store, false, &s1) ? s1 - s0 : 0;
	host += dk && xfer_of(dst->store, true, &d1) ? d1 - d0 : 0;
	ret->host_known = sk || dk;
	ret->host_bytes = host;
	const struct cairn_copy_stats *st = &ret->stats;
	char result[512], sent[32];
	cairn_app_human_size(st->bytes_sent, sent, sizeof(sent));
	snprintf(result, sizeof(result), "%s%llu backup(s) copied, %llu skipped; %llu blobs, %s sent",
		 co.dry_run ? "dry run: " : "", (unsigned long long)st->backups_copied,
		 (unsigned long long)st->backups_skipped, (unsigned long long)st->blobs_sent, sent);
	r = cairn_app_job_end(&j, r, r >= 0 ? result : NULL);
	if (r >= 0 && !co.dry_run && o->with_destination)
		r = o->with_destination(dst, o->ud);
	/* What landed wakes the standbys of this host that follow it there. */
	if (r >= 0 && !co.dry_run && st->backups_copied)
		(void)cairn_app_standby_arrived(app, o->st, dst, co.volume, co.group);
	return r;
}
