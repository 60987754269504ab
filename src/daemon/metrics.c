/* Prometheus metrics of the local state (metrics.h). */
#include "daemon/metrics.h"
#include "app/drtoken.h"
#include "state/jobs.h"
#include "state/notify.h"
#include "state/policies.h"
#include "state/standbys.h"
#include "util/cleanup.h"
#include "util/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put(struct cairn_buf *out, const char *s)
{
	return cairn_buf_append(out, s, strlen(s));
}

/* Escapes for HELP (label: also '"'). */
static int put_escaped(struct cairn_buf *out, const char *s, bool label)
{
	for (; *s; s++) {
		const char *e = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : label && *s == '"' ? "\\\"" : NULL;
		int r = e ? put(out, e) : cairn_buf_append(out, s, 1);
		if (r < 0)
			return r;
	}
	return 0;
}

int cairn_metrics_family(struct cairn_buf *out, const char *name, const char *type, const char *help)
{
	int r;
	if ((r = put(out, "# HELP ")) < 0 || (r = put(out, name)) < 0 || (r = put(out, " ")) < 0 ||
	    (r = put_escaped(out, help, false)) < 0 || (r = put(out, "\n# TYPE ")) < 0 || (r = put(out, name)) < 0 ||
	    (r = put(out, " ")) < 0 || (r = put(out, type)) < 0 || (r = put(out, "\n")) < 0)
		return r;
	return 0;
}

int cairn_metrics_sample(struct cairn_buf *out, const char *name, const char *const *labels, double value)
{
	int r = put(out, name);
	for (size_t i = 0; r >= 0 && labels && labels[i]; i += 2) {
		if ((r = put(out, i ? ",": "{")) < 0 || (r = put(out, labels[i])) < 0 || (r = put(out, "=\"")) < 0 ||
		    (r = put_escaped(out, labels[i + 1] ? labels[i + 1] : "", true)) < 0 || (r = put(out, "\"")) < 0)
			return r;
	}
	if (r >= 0 && labels && labels[0])
		r = put(out, "}");
	char num[64];
	if (isnan(value))
		snprintf(num, sizeof(num), " NaN\n");
	else if (value == floor(value) && fabs(value) < 9e15)
		snprintf(num, sizeof(num), " %.0f\n", value);
	else
		snprintf(num, sizeof(num), " %.17g\n", value);
	return r < 0 ? r : put(out, num);
}

/* Each query's rows, one sample per row: the label columns first (text),
 * the value last. */
static int query_samples(struct cairn_state *st, struct cairn_buf *out, const char *name, const char *type,
			 const char *help, const char *sql, const char *const *label_names, bool uri, int64_t now)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = cairn_state_prepare(st, sql, &s);
	if (r < 0)
		return r;
	if (sqlite3_bind_parameter_count(s) >= 1)
		sqlite3_bind_int64(s, 1, now);
	size_t nl = 0;
	while (label_names[nl])
		nl++;
	bool header = false;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_type(s, (int)nl) == SQLITE_NULL)
			continue;
		if (!header && (r = cairn_metrics_family(out, name, type, help)) < 0)
			return r;
		header = true;
		const char *labels[2 * 4 + 1] = { NULL };
		for (size_t i = 0; i < nl && i < 4; i++) {
			labels[2 * i] = label_names[i];
			const unsigned char *t = sqlite3_column_text(s, (int)i);
			labels[2 * i + 1] = t ? (const char *)t : "";
		}
		/* A repository URI may carry a secret (a SAS token): the label
		 * gets what an export token would show. */
		_cleanup_free_ char *pub = NULL;
		if (uri && cairn_dr_uri_public(labels[1], &pub) >= 0)
			labels[1] = pub;
		cairn_error_clear();
		if ((r = cairn_metrics_sample(out, name, labels, sqlite3_column_double(s, (int)nl))) < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return cairn_state_sqlite_error(st, rc, "metrics");
	return 0;
}

static const char *const L_POLICY[] = { "policy", NULL };
static const char *const L_JOBS[] = { "kind", "state", NULL };
static const char *const L_REPO[] = { "repo", NULL };
static const char *const L_STANDBY[] = { "standby", NULL };

/* The newest successful backup job of each policy that still exists. */
#define LAST_DONE(KIND) \
	"SELECT j.* FROM jobs j WHERE j.kind = '" KIND "' AND j.state = 'done' AND j.policy IN (SELECT name FROM" \
	" policies) AND j.id = (SELECT max(id) FROM jobs k WHERE k.policy = j.policy AND k.kind = '" KIND "'" \
	" AND k.state = 'done')"
/* When each policy's newest restore point was made: its recorded
 * statistics, or (rows from before them) its last successful job. */
#define POINT \
	"SELECT p.name AS policy, coalesce(b.created, d.started) AS t FROM policies p" \
	" LEFT JOIN backup_stats b ON b.policy = p.name LEFT JOIN (" LAST_DONE("backup") ") d ON d.policy = p.name"

static const struct family {
	const char *name, *type, *help;
	const char *const *labels;
	const char *sql; /* ?1 is now */
	bool uri;        /* the first label is a repository URI */
} families[] = {
	{ "cairn_policy_last_success_timestamp_seconds", "gauge",
	  "When the policy's newest successful backup finished (unix seconds).", L_POLICY,
	  "SELECT policy, completed FROM (" LAST_DONE("backup") ") ORDER BY policy" },
	{ "cairn_policy_last_duration_seconds", "gauge", "How long the policy's newest successful backup took.",
	  L_POLICY, "SELECT policy, elapsed_ms / 1000.0 FROM (" LAST_DONE("backup") ") ORDER BY policy" },
	{ "cairn_policy_last_bytes_processed", "gauge",
	  "Bytes the policy's newest backup read from its volumes.", L_POLICY,
	  "SELECT b.policy, b.bytes_read FROM backup_stats b JOIN policies p ON p.name = b.policy ORDER BY 1" },
	{ "cairn_policy_last_bytes_new", "gauge",
	  "Bytes of new chunks (before compression) the policy's newest backup added.", L_POLICY,
	  "SELECT b.policy, b.bytes_new FROM backup_stats b JOIN policies p ON p.name = b.policy ORDER BY 1" },
	{ "cairn_policy_last_bytes_stored", "gauge",
	  "Bytes the policy's newest backup wrote to its repository.", L_POLICY,
	  "SELECT b.policy, b.bytes_stored FROM backup_stats b JOIN policies p ON p.name = b.policy ORDER BY 1" },
	{ "cairn_policy_stored_bytes_total", "counter",
	  "Bytes all the policy's backups recorded on this host wrote to its repository.", L_POLICY,
	  "SELECT b.policy, b.stored_total FROM backup_stats b JOIN policies p ON p.name = b.policy ORDER BY 1" },
	{ "cairn_policy_restore_point_timestamp_seconds", "gauge",
	  "When the policy's newest restore point was taken (unix seconds).", L_POLICY,
	  "SELECT policy, t FROM (" POINT ") ORDER BY policy" },
	{ "cairn_policy_rpo_seconds", "gauge",
	  "Age of the policy's newest restore point: the data a loss now would take.", L_POLICY,
	  "SELECT policy, max(0, ?1 - t) FROM (" POINT ") ORDER BY policy" },
	{ "cairn_policy_copy_rpo_seconds", "gauge",
	  "Age of the policy's newest restore point copied off-site (--copy-to).", L_POLICY,
	  "SELECT p.name, max(0, ?1 - (SELECT max(b.started) FROM jobs b WHERE b.policy = p.name AND"
	  " b.kind = 'backup' AND b.state = 'done' AND b.started <= c.started)) FROM policies p"
	  " JOIN (" LAST_DONE("copy") ") c ON c.policy = p.name WHERE p.copy_to IS NOT NULL ORDER BY 1" },
	{ "cairn_policy_last_copy_success_timestamp_seconds", "gauge",
	  "When the policy's newest successful off-site copy finished (unix seconds).", L_POLICY,
	  "SELECT policy, completed FROM (" LAST_DONE("copy") ") ORDER BY policy" },
	{ "cairn_policy_replicates", "gauge", "1 when the policy copies its restore points off-site (--copy-to).",
	  L_POLICY, "SELECT name, copy_to IS NOT NULL FROM policies ORDER BY name" },
	{ "cairn_policy_rpo_target_seconds", "gauge", "The policy's RPO target (--rpo).", L_POLICY,
	  "SELECT name, rpo_s FROM policies WHERE rpo_s > 0 ORDER BY name" },
	{ "cairn_policy_paused", "gauge", "1 when the policy is paused.", L_POLICY,
	  "SELECT name, paused FROM policies ORDER BY name" },
	{ "cairn_policy_failing", "gauge",
	  "Jobs of the policy that failed since its last success of the same kind (cairn status --failed).",
	  L_POLICY,
	  "SELECT p.name, (SELECT count(*) FROM jobs f WHERE f.policy = p.name AND f.state = 'failed' AND NOT EXISTS"
	  " (SELECT 1 FROM jobs d WHERE d.policy = f.policy AND d.kind = f.kind AND d.state = 'done' AND"
	  " d.id > f.id)) FROM policies p ORDER BY 1" },
	{ "cairn_jobs", "gauge",
	  "Jobs in the local state by kind and state (the newest finished ones are kept, see cairn status --all).",
	  L_JOBS, "SELECT kind, state, count(*) FROM jobs GROUP BY kind, state ORDER BY kind, state" },
	{ "cairn_repository_written_bytes_total", "counter",
	  "Bytes this host's policy backups wrote to the repository (its growth; prune is not counted).", L_REPO,
	  "SELECT repo, bytes FROM repo_written ORDER BY repo", true },
	{ "cairn_standby_lag_seconds", "gauge",
	  "Age of the restore point the standby volume holds (what a failover to it would lose).", L_STANDBY,
	  "SELECT name, CASE WHEN backup_created > 0 THEN max(0, ?1 - backup_created / 1000000) END FROM standbys"
	  " ORDER BY name" },
	{ "cairn_standby_last_update_timestamp_seconds", "gauge",
	  "When the standby volume was last updated (unix seconds).", L_STANDBY,
	  "SELECT name, CASE WHEN applied > 0 THEN applied END FROM standbys ORDER BY name" },
};

int cairn_metrics_render(struct cairn_state *st, int64_t now, struct cairn_buf *out)
{
	/* One read transaction: the numbers of one scrape agree. */
	int r = cairn_state_exec(st, "BEGIN");
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]) && r >= 0; i++)
		r = query_samples(st, out, families[i].name, families[i].type, families[i].help, families[i].sql,
				  families[i].labels, families[i].uri, now);
	if (r >= 0 && (r = cairn_metrics_family(out, "cairn_metrics_timestamp_seconds", "gauge",
						"When these metrics were read from the local state.")) >= 0)
		r = cairn_metrics_sample(out, "cairn_metrics_timestamp_seconds", NULL, (double)now);
	sqlite3_exec(cairn_state_db(st), "COMMIT", NULL, NULL, NULL);
	return r;
}
