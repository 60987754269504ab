/* Metrics in the Prometheus text exposition format (version 0.0.4), for
 * the daemon's /metrics and `cairn metrics` (docs/design.md, "Metrics and alerts").
 *
 * Everything comes from the local state database, a handful of queries:
 * a scrape never opens a repository.  So repository "size" is what this
 * host's policy backups stored in each repository (a counter of bytes
 * written, recorded after each backup), not the bytes a listing would
 * count: prune and other hosts are not in it.  The restore point a policy
 * last made (backup_stats, state/notify.h) dates its RPO; its off-site
 * copy is dated by the newest backup that started before the policy's
 * last successful copy started.  Standby lag is the age of the restore
 * point a standby holds (what a failover would lose). */
#ifndef CAIRN_DAEMON_METRICS_H
#define CAIRN_DAEMON_METRICS_H

#include "state/state.h"
#include "util/buf.h"

#include <stdint.h>

/* The content type to serve it with. */
#define CAIRN_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Appends the exposition of the state at now (unix seconds) to out, read
 * in one transaction of its own (st must not be in one).  Repository URIs
 * in labels lose their secrets (app/drtoken.h cairn_dr_uri_public). */
int cairn_metrics_render(struct cairn_state *st, int64_t now, struct cairn_buf *out);

/* ---- the format, exposed for unit tests ---- */

/* "# HELP name help\n# TYPE name type\n", help escaped (\\ and \n). */
int cairn_metrics_family(struct cairn_buf *out, const char *name, const char *type, const char *help);
/* One sample: name{k1="v1",...} value\n.  labels: NULL-terminated pairs
 * (key, value, key, value, ..., NULL); values escaped (\\, \" and \n). */
int cairn_metrics_sample(struct cairn_buf *out, const char *name, const char *const *labels, double value);

#endif
