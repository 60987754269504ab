#!/bin/bash
# t41: metrics (cairn metrics, Prometheus text), alerting rules, notifiers
# (webhook and --exec) for failed jobs and RPO breaches, status --failed.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
LISTEN=$E2E_DIR/hooklisten.py
# Fast retries against the local listeners.
export CAIRN_HTTP_BACKOFF_MS=50

t_setup()
{
	new_repo "$R"
	rand_file "$TD/vol.img" $((4 << 20)) 41
	rand_file "$TD/vol2.img" $((1 << 20)) 42
	touch "$TD/ready"
}
test_case "setup: a repository and images" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

need_promtool()
{
	command -v promtool >/dev/null || skip "promtool is not installed (scripts/install-deps installs Debian's prometheus)"
}

# listen MODE NAME: starts a webhook receiver; sets URL_NAME... prints the URL.
# Its pid goes to $TT/pids (killed by stop_listeners).
listen()
{
	python3 "$LISTEN" "$1" "$TT/$2.port" "$TT/$2.out" >/dev/null 2>&1 &
	echo $! >>"$TT/pids"
	local i
	for i in $(seq 1 100); do
		[ -s "$TT/$2.port" ] && { echo "http://127.0.0.1:$(cat "$TT/$2.port")/hook"; return 0; }
		sleep 0.1
	done
	fail "listener $2 did not start"
}

stop_listeners()
{
	[ -f "$TT/pids" ] || return 0
	local p
	while read -r p; do kill "$p" 2>/dev/null || true; done <"$TT/pids"
}

# metric NAME LABELS: the value of one sample of `cairn metrics` (saved in m.txt).
metric()
{
	awk -v k="$1$2" '$1 == k { print $2; found = 1 } END { exit !found }' m.txt || fail "no sample $1$2 in the metrics"
}

# failing_policy NAME [OPTION...]: a policy whose volume is gone (its runs fail).
failing_policy()
{
	local name=$1
	shift
	cp "$TD/vol2.img" "$TT/gone.img"
	cairn policy create "$name" --volume "$TT/gone.img" --repo "$R" --every 1h -q "$@"
	rm "$TT/gone.img"
}

t_bad_input()
{
	need_setup
	expect_fail -c 2 -m "unknown subcommand 'frob'" cairn notify frob
	expect_fail -c 2 -m "missing subcommand" cairn notify
	expect_fail -c 2 -m "give one of --webhook URL or --exec CMD" cairn notify add
	expect_fail -c 2 -m "give one of" cairn notify add --webhook http://x --exec true
	expect_fail -c 2 -m "invalid --webhook 'ftp://x'" cairn notify add --webhook ftp://x
	expect_fail -c 2 -m "unknown event 'boom'" cairn notify add --webhook http://x --on failure,boom
	expect_fail -c 2 -m "invalid --timeout" cairn notify add --webhook http://x --timeout 0
	expect_fail -c 2 -m "invalid notifier name" cairn notify add --webhook http://x "a b"
	expect_fail -c 2 -m "go with 'notify add'" cairn notify list --on rpo
	expect_fail -m "no notifier named nosuch" cairn notify remove nosuch
	expect_fail -m "no notifier named nosuch" cairn notify test nosuch
	expect_fail -m "no notifier to test" cairn notify test
	expect_fail -c 2 -m "--failed goes with neither" cairn status --failed --watch
	expect_fail -m "--output" cairn metrics --output "$TT/nosuchdir/m.prom"
	[ ! -e "$TT/nosuchdir" ] || fail "a directory was made"
	cairn notify add --webhook http://127.0.0.1:9/x w -q
	expect_fail -m "a notifier named w exists" cairn notify add --exec true w
	[ "$(cairn notify list --json | jq -r '.[0].target')" = http://127.0.0.1:9/x ] || fail "the first notifier changed"
	cairn notify remove w -q
	[ "$(cairn notify list --json | jq length)" = 0 ] || fail "remove left it"
}
test_case "bad input: one line on stderr, exit status, nothing recorded" t_bad_input

t_metrics_after_run()
{
	need_setup
	cairn policy create pm --volume "$TD/vol.img" --repo "$R" --every 1h --rpo 2h -q
	local t0 t1
	t0=$(date +%s)
	cairn policy run pm -q
	t1=$(date +%s)
	cairn metrics >m.txt
	local v
	v=$(metric cairn_policy_last_bytes_processed '{policy="pm"}')
	[ "$v" = $((4 << 20)) ] || fail "bytes processed $v, expected $((4 << 20))"
	v=$(metric cairn_policy_last_bytes_stored '{policy="pm"}')
	[ "$v" -gt $((4 << 20)) ] || fail "bytes stored $v: random data stores at least its size"
	[ "$(metric cairn_policy_stored_bytes_total '{policy="pm"}')" = "$v" ] || fail "the total is not the one backup's"
	[ "$(metric cairn_policy_last_bytes_new '{policy="pm"}')" = $((4 << 20)) ] || fail "bytes new"
	for k in cairn_policy_last_success_timestamp_seconds cairn_policy_restore_point_timestamp_seconds; do
		v=$(metric $k '{policy="pm"}')
		[ "$v" -ge "$t0" ] && [ "$v" -le "$t1" ] || fail "$k $v outside the run's window [$t0, $t1]"
	done
	v=$(metric cairn_policy_rpo_seconds '{policy="pm"}')
	[ "$v" -ge 0 ] && [ "$v" -le $((t1 - t0 + 5)) ] || fail "RPO $v s right after the run"
	[ "$(metric cairn_policy_rpo_target_seconds '{policy="pm"}')" = 7200 ] || fail "RPO target"
	[ "$(metric cairn_policy_failing '{policy="pm"}')" = 0 ] || fail "failing"
	[ "$(metric cairn_jobs '{kind="backup",state="done"}')" = 1 ] || fail "job count"
	[ "$(metric cairn_repository_written_bytes_total "{repo=\"$R\"}")" -gt $((4 << 20)) ] || fail "repository bytes"
	grep -q '^# TYPE cairn_policy_stored_bytes_total counter$' m.txt || fail "no TYPE line"
	grep -q '^# HELP cairn_policy_rpo_seconds ' m.txt || fail "no HELP line"
	! grep -q copy_rpo m.txt || fail "an off-site RPO for a policy that does not replicate"
	# --output: the same text, in place atomically, readable.
	cairn metrics --output "$TT/cairn.prom"
	[ "$(stat -c %a "$TT/cairn.prom")" = 644 ] || fail "mode $(stat -c %a "$TT/cairn.prom")"
	diff <(grep -v '^cairn_metrics_timestamp\|rpo_seconds' m.txt) \
		<(grep -v '^cairn_metrics_timestamp\|rpo_seconds' "$TT/cairn.prom") || fail "--output differs"
	[ "$(find "$TT" -name '*cairn-tmp*' | wc -l)" = 0 ] || fail "a temporary was left"
	cp m.txt "$TD/metrics.txt"
	cairn policy delete pm -q
}
test_case "metrics after a policy run: bytes, timestamps in the run's window, job counts, --output" t_metrics_after_run

t_promtool()
{
	need_setup
	need_promtool
	[ -f "$TD/metrics.txt" ] || skip "no metrics from the earlier test"
	# A repository path that needs escaping in a label value.
	local q="$TD/re\"po\\x"
	new_repo "$q"
	cairn policy create pq --volume "$TD/vol2.img" --repo "$q" --every 1h -q
	cairn policy run pq -q
	cairn metrics >m.txt
	grep -qF 'cairn_repository_written_bytes_total{repo="'"$TD"'/re\"po\\x"}' m.txt || fail "label not escaped: $(grep written m.txt)"
	promtool check metrics <m.txt 2>&1 | tee pc.out || fail "promtool check metrics: $(cat pc.out)"
	promtool check rules "$E2E_DIR/../../contrib/prometheus/alerts.yml" || fail "promtool check rules"
	cairn policy delete pq -q
}
test_case "promtool: check metrics (with escaped labels) and check rules of contrib/prometheus/alerts.yml" t_promtool

t_failure_webhook()
{
	need_setup
	trap stop_listeners EXIT
	local url
	url=$(listen ok hook)
	cairn notify add --webhook "$url" --on failure hook -q
	failing_policy pf
	cairn daemon --once -q 2>d.err || true
	[ -s hook.out ] || fail "no event reached the webhook: $(tail -n3 d.err)"
	[ "$(wc -l <hook.out)" = 1 ] || fail "$(wc -l <hook.out) events, expected 1"
	[ "$(cat hook.out.ctype)" = application/json ] || fail "content type $(cat hook.out.ctype)"
	head -n1 hook.out >ev.json
	local id
	id=$(cairn status --all --json | jq -r '[.[] | select(.policy == "pf")][0].id')
	[ "$(jget ev.json .kind)" = failure ] || fail "kind"
	[ "$(jget ev.json .policy)" = pf ] || fail "policy"
	[ "$(jget ev.json .job_id)" = "$id" ] || fail "job id $(jget ev.json .job_id), expected $id"
	[ "$(jget ev.json .job_kind)" = backup ] || fail "job kind"
	[ "$(jget ev.json .version)" = 1 ] || fail "version"
	jget ev.json .error | grep -qi "gone.img" || fail "error does not name the source: $(jget ev.json .error)"
	jget ev.json .message | grep -q "failed" || fail "message"
	[ "$(jget ev.json .time_unix)" -le "$(date +%s)" ] || fail "time"
	# status --failed: exit 1, the job listed (text and JSON).
	local rc=0
	cairn status --failed >f.txt || rc=$?
	[ $rc = 1 ] || fail "status --failed exited $rc with a failure"
	grep -q "pf" f.txt || fail "the failed job is not shown"
	rc=0
	cairn status --failed --json >f.json || rc=$?
	[ $rc = 1 ] && [ "$(jq -r '.[0].id' f.json)" = "$id" ] || fail "--json: exit $rc, $(cat f.json)"
	cairn metrics >m.txt
	[ "$(metric cairn_policy_failing '{policy="pf"}')" = 1 ] || fail "metrics do not show the failure"
	# Announced once: another pass sends nothing.
	cairn daemon --once -q 2>d2.err || true
	[ "$(wc -l <hook.out)" = 1 ] || fail "announced again: $(wc -l <hook.out) events"
	cp "$TD/vol2.img" "$TT/gone.img"
	cairn policy run pf -q
	cairn status --failed || fail "status --failed still fails after a success"
	[ "$(cairn status --failed --json)" = "[]" ] || fail "--json after the success"
	cairn metrics >m.txt
	[ "$(metric cairn_policy_failing '{policy="pf"}')" = 0 ] || fail "metrics still show the failure"
	cairn daemon --once -q 2>d3.err || true
	[ "$(wc -l <hook.out)" = 1 ] || fail "an event without a failure"
	cairn policy delete pf -q
	cairn notify remove hook -q
}
test_case "failure: a failing policy posts the event JSON once; status --failed exits 1, then 0 after a success" t_failure_webhook

t_retries()
{
	need_setup
	trap stop_listeners EXIT
	local url
	url=$(listen fail:2 flaky)
	cairn notify add --webhook "$url" flaky -q
	cairn notify test flaky -q
	[ "$(cat flaky.out.count)" = 3 ] || fail "$(cat flaky.out.count) requests, expected 2 failures and a success"
	[ "$(jq -r .kind flaky.out)" = test ] || fail "the test event: $(cat flaky.out)"
	# A receiver that always fails: test exits 1 naming the status.
	stop_listeners
	: >"$TT/pids"
	url=$(listen fail:1000 bad)
	cairn notify add --webhook "$url" bad -q
	export CAIRN_HTTP_MAX_ATTEMPTS=3
	expect_fail -m "notifier bad: .* answered HTTP 500 \(after 3 attempt" cairn notify test bad
	unset CAIRN_HTTP_MAX_ATTEMPTS
	! grep -q "/hook" "$TT/.err" || fail "the webhook's path (often its secret) is in the message"
	[ "$(cat bad.out.count)" = 3 ] || fail "$(cat bad.out.count) attempts, expected 3"
	cairn notify remove flaky -q
	cairn notify remove bad -q
}
test_case "webhook retries: 500 twice then 200 is delivered on the 3rd attempt; always 500 fails after the attempts" t_retries

t_hang()
{
	need_setup
	trap stop_listeners EXIT
	local url
	url=$(listen hang hang)
	cairn notify add --webhook "$url" --timeout 2 hang -q
	failing_policy ph
	cairn policy create pg --volume "$TD/vol2.img" --repo "$R" --every 3s -q
	local t0 pid rc=0
	t0=$(date +%s)
	CAIRN_HTTP_MAX_ATTEMPTS=3 "$CAIRN" daemon >d.out 2>d.err &
	pid=$!
	sleep 8
	kill -TERM $pid
	wait $pid || rc=$?
	local t1
	t1=$(date +%s)
	[ $rc = 0 ] || fail "daemon exited $rc"
	[ -s hang.out.count ] || fail "the hanging listener got no request"
	# The failure's delivery hung meanwhile; pg still ran every 3 s.
	local n
	n=$(cairn status --all --json | jq '[.[] | select(.policy == "pg" and .state == "done")] | length')
	[ "$n" -ge 2 ] || fail "policy pg ran $n times in 8 s with a hanging webhook: $(tail -n5 d.err)"
	local starts
	starts=$(cairn status --all --json | jq -r '[.[] | select(.policy == "pg")] | sort_by(.id) | .[0:2] | map(.started) | join(" ")')
	echo "# pg started: $starts; daemon ran $((t1 - t0)) s"
	[ $((t1 - t0)) -le 25 ] || fail "the daemon took $((t1 - t0)) s to stop"
	grep -q "notifier hang" d.err || fail "the delivery's failure was not logged: $(tail -n5 d.err)"
	cairn policy delete ph -q
	cairn policy delete pg -q
	cairn notify remove hang -q
}
test_case "a hanging webhook times out without stalling the daemon (another policy runs on time)" t_hang

t_exec()
{
	need_setup
	cairn notify add --exec "echo \"\$CAIRN_EVENT\" >'$TT/kind'; env >'$TT/env'; cat >'$TT/ev.json'" --on failure ex -q
	failing_policy pe
	cairn daemon --once -q 2>d.err || true
	[ -s ev.json ] || fail "the command got no event: $(tail -n3 d.err)"
	[ "$(jget ev.json .kind)" = failure ] || fail "kind"
	[ "$(jget ev.json .policy)" = pe ] || fail "policy"
	[ "$(cat kind)" = failure ] || fail "CAIRN_EVENT=$(cat kind)"
	! grep -q '^CAIRN_PASSPHRASE=' env || fail "the passphrase reached the command's environment"
	cairn policy delete pe -q
	cairn notify remove ex -q
}
test_case "--exec: the command gets the event on stdin, CAIRN_EVENT, no secrets" t_exec

t_rpo_once()
{
	need_setup
	trap stop_listeners EXIT
	local url t0
	url=$(listen ok rpo)
	cairn notify add --webhook "$url" --on rpo rpo -q
	[ "$(cairn policy list --json | jq length)" = 0 ] || fail "policies of other tests are left"
	t0=$(date +%s)
	CAIRN_TEST_NOW=$t0 cairn policy create pr --volume "$TD/vol2.img" --repo "$R" --every 1d --rpo 1h -q
	CAIRN_TEST_NOW=$t0 cairn policy run pr -q
	CAIRN_TEST_NOW=$((t0 + 600)) cairn daemon --once -q
	[ ! -s rpo.out ] || fail "an event within the target: $(cat rpo.out)"
	CAIRN_TEST_NOW=$((t0 + 7200)) cairn daemon --once -q
	CAIRN_TEST_NOW=$((t0 + 7260)) cairn daemon --once -q
	CAIRN_TEST_NOW=$((t0 + 7320)) cairn daemon --once -q
	[ "$(wc -l <rpo.out)" = 1 ] || fail "$(wc -l <rpo.out) events for one breach"
	head -n1 rpo.out >ev.json
	[ "$(jget ev.json .kind)" = rpo ] || fail "kind"
	[ "$(jget ev.json .what)" = backup ] || fail "what"
	[ "$(jget ev.json .rpo_target_seconds)" = 3600 ] || fail "target"
	[ "$(jget ev.json .rpo_seconds)" = 7200 ] || fail "rpo $(jget ev.json .rpo_seconds)"
	CAIRN_TEST_NOW=$((t0 + 7200)) cairn metrics >m.txt
	[ "$(metric cairn_policy_rpo_seconds '{policy="pr"}')" = 7200 ] || fail "metrics RPO"
	# Met again, then broken again: a second event.
	CAIRN_TEST_NOW=$((t0 + 7400)) cairn policy run pr -q
	CAIRN_TEST_NOW=$((t0 + 7460)) cairn daemon --once -q
	[ "$(wc -l <rpo.out)" = 1 ] || fail "an event while the target is met"
	CAIRN_TEST_NOW=$((t0 + 7400 + 3700)) cairn daemon --once -q
	[ "$(wc -l <rpo.out)" = 2 ] || fail "the second breach was not announced"
	cairn policy delete pr -q
	cairn notify remove rpo -q
}
test_case "RPO breach: announced once per breach, again after it was met" t_rpo_once

test_done
