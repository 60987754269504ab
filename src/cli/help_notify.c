/* Help texts of notify and metrics (cli_help() asks here first). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const char notify_text[] =
	"usage: cairn notify add (--webhook URL | --exec CMD) [--on failure,rpo]\n"
	"                        [--timeout SECONDS] [NAME]\n"
	"       cairn notify list [--json]\n"
	"       cairn notify remove NAME\n"
	"       cairn notify test [NAME] [--json]\n"
	"\n"
	"Notifiers are where 'cairn daemon' sends alerts: a JSON event when a job\n"
	"fails (any job, the daemon's or one run by hand, announced once), and\n"
	"when a policy with an RPO target (policy create --rpo) has its newest\n"
	"restore point, or its newest off-site copy when it replicates, older\n"
	"than the target (announced once per breach: again only after the target\n"
	"was met in between).  The daemon checks every second from the local\n"
	"state and delivers on threads of its own, so a slow or hanging receiver\n"
	"never delays a backup.\n"
	"\n"
	"add records a notifier (NAME: letters, digits, '.', '_', '-'; default\n"
	"'webhook' or 'exec', numbered when taken):\n"
	"  --webhook URL   POST the event (Content-Type: application/json) to URL;\n"
	"                  a 2xx answer delivers it; 5xx, 429, refused or reset\n"
	"                  connections and timeouts are retried with exponential\n"
	"                  backoff and jitter (CAIRN_HTTP_MAX_ATTEMPTS, default 8;\n"
	"                  CAIRN_HTTP_BACKOFF_MS; CAIRN_HTTP_RETRY_SECONDS, 120)\n"
	"  --exec CMD      run CMD with /bin/sh, the event on its stdin and\n"
	"                  CAIRN_EVENT=KIND in its environment (cairn's secrets\n"
	"                  removed, as for hooks); exit 0 delivers it\n"
	"  --on LIST       the events it wants: failure, rpo (default both)\n"
	"  --timeout S     an attempt with no answer for S seconds (a command:\n"
	"                  running longer) is given up; default 10\n"
	"The URL is stored as given in the state database (which is private to\n"
	"its owner): a webhook URL that embeds a token is a secret.  Messages and\n"
	"logs show only its scheme and host.\n"
	"\n"
	"list shows them; remove forgets one; test sends a test event (kind\n"
	"\"test\") to NAME or to every notifier now and exits 1 if one failed.\n"
	"\n"
	"The event (compact JSON; absent fields are null):\n"
	"  version 1, kind (failure | rpo | test), time (RFC 3339 UTC),\n"
	"  time_unix, host, policy, message (one line);\n"
	"  failure: job_id, job_kind, source, repo, error;\n"
	"  rpo: what (backup | copy), rpo_seconds, rpo_target_seconds.\n";

static const char metrics_text[] =
	"usage: cairn metrics [--output FILE]\n"
	"\n"
	"Prints the metrics the daemon serves at /metrics, in the Prometheus text\n"
	"format, read from the local state only (no repository is opened: cheap\n"
	"enough for every scrape).  --output FILE writes them to FILE atomically\n"
	"(a temporary renamed into place, mode 0644), for node_exporter's\n"
	"textfile collector, e.g. from a systemd timer.\n"
	"\n"
	"Per policy (label policy): cairn_policy_last_success_timestamp_seconds,\n"
	"cairn_policy_last_duration_seconds, cairn_policy_last_bytes_processed,\n"
	"cairn_policy_last_bytes_new, cairn_policy_last_bytes_stored,\n"
	"cairn_policy_stored_bytes_total, cairn_policy_restore_point_timestamp_seconds,\n"
	"cairn_policy_rpo_seconds (age of the newest restore point),\n"
	"cairn_policy_copy_rpo_seconds (of the newest off-site copy),\n"
	"cairn_policy_last_copy_success_timestamp_seconds, cairn_policy_replicates,\n"
	"cairn_policy_rpo_target_seconds, cairn_policy_paused, cairn_policy_failing\n"
	"(failed jobs since the last success, as 'status --failed').\n"
	"cairn_jobs{kind,state}: the jobs in the state (the newest 1000 finished\n"
	"are kept).  cairn_repository_written_bytes_total{repo}: what this host's\n"
	"policy backups wrote to each repository (its growth; prune and other\n"
	"hosts are not counted: the size itself would need a listing).\n"
	"cairn_standby_lag_seconds{standby}: age of the restore point a standby\n"
	"holds; cairn_standby_last_update_timestamp_seconds.\n"
	"Alerting rules for these: contrib/prometheus/alerts.yml.\n";

bool cli_help_notify(const char *verb)
{
	size_t len = strcspn(verb, " ");
	if (len == 6 && strncmp(verb, "notify", 6) == 0)
		fputs(notify_text, stdout);
	else if (len == 7 && strncmp(verb, "metrics", 7) == 0)
		fputs(metrics_text, stdout);
	else
		return false;
	fputs("\nGlobal options: see 'cairn --help'.\n", stdout);
	return true;
}
