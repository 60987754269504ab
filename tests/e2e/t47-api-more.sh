#!/bin/bash
# t47: more of the daemon's API (docs/api.md): a consistency group created
# through POST /api/v1/groups by the same app call as `cairn group create`
# (the same refusals, the CLI sees the group), over the socket and TCP
# (401 without a token, 403 with a read-only one); an API job on a volume
# another job holds waits in the queue and then runs; a webhook event
# pending when the daemon stops is delivered once after it starts again.
# Every response is checked against docs/openapi.yaml.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apilib.sh"

SPEC=$E2E_DIR/../../docs/openapi.yaml
SOCK=$CAIRN_STATE_DIR/cairn.sock
A=$TD/a.img
B=$TD/b.img
R=$TD/repo
trap 'kill "$(cat "$TD/daemon.pid" 2>/dev/null)" 2>/dev/null; e2e_cleanup' EXIT

# req: over the socket or TCP (apilib.sh).
req()
{
	req_sock_tcp "$@"
}

t_setup()
{
	command -v curl >/dev/null || fail "curl is missing (scripts/install-deps)"
	python3 -c 'import jsonschema, yaml' 2>/dev/null || fail "python3-jsonschema or python3-yaml is missing"
	rand_file "$A" $((1 << 20)) 4701
	rand_file "$B" $((1 << 20)) 4702
	mkdir -p "$TD/mnt" "$TD/cfgs"
	echo '<domain/>' >"$TD/cfgs/dom.xml"
	new_repo "$R"
	free_port >"$TD/port"
	start_daemon
	cairn token create admin >"$TD/admin.tok"
	cairn token create viewer --read-only >"$TD/viewer.tok"
	touch "$TD/ready"
}
test_case "setup: two image volumes, a repository, the daemon, a full and a read-only token" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

t_group_create()
{
	need_setup
	local adm view
	adm=$(cat "$TD/admin.tok") view=$(cat "$TD/viewer.tok")
	expect 201 -- POST /api/v1/groups -d "{\"name\": \"app\", \"volumes\": [\"$A\", {\"path\": \"$B\", \"name\": \"db\"}], \"freeze\": [\"$TD/mnt\"], \"config\": \"$TD/cfgs/dom.xml\", \"pre_hook\": \"true\", \"max_freeze_s\": 2.5}"
	jq -e --arg a "$A" --arg b "$B" '.name == "app" and .volumes[0].path == $a and .volumes[0].name == null and
		.volumes[1] == {path: $b, name: "db"} and .max_freeze_ms == 2500 and .pre_hook == "true" and .post_hook == null' \
		"$TT/r.body" >/dev/null || fail "the created group: $(cat "$TT/r.body")"
	# The CLI sees it, as the API does.
	cairn group list --json >g.json
	jq -e --arg b "$B" '.[] | select(.name == "app") | .volume_names == [null, "db"] and .volumes[1] == $b and .max_freeze_s == 2.5' \
		g.json >/dev/null || fail "cairn group list: $(cat g.json)"
	expect 200 -- GET /api/v1/groups/app
	# Over TCP with a full token; the read-only one and none are refused.
	expect 201 -- --tcp "$adm" POST /api/v1/groups -d "{\"name\": \"solo\", \"volumes\": [\"$A\"]}"
	expect 403 read_only_token -- --tcp "$view" POST /api/v1/groups -d "{\"name\": \"ro\", \"volumes\": [\"$A\"]}"
	expect 401 -- --tcp none POST /api/v1/groups -d "{\"name\": \"ro\", \"volumes\": [\"$A\"]}"
	expect 401 -- --tcp bogus POST /api/v1/groups -d "{\"name\": \"ro\", \"volumes\": [\"$A\"]}"
}
test_case "POST /api/v1/groups makes the group the CLI lists; over TCP a full token may, a read-only one 403, none 401" t_group_create

t_group_refused()
{
	need_setup
	local n0
	expect 200 -- GET /api/v1/groups
	n0=$(jq '.groups | length' "$TT/r.body")
	expect 409 already_exists -- POST /api/v1/groups -d "{\"name\": \"app\", \"volumes\": [\"$A\"]}"
	expect 404 not_found -- POST /api/v1/groups -d "{\"name\": \"g1\", \"volumes\": [\"$TD/nosuch.img\"]}"
	expect 404 not_found -- POST /api/v1/groups -d "{\"name\": \"g1\", \"volumes\": [\"$A\"], \"freeze\": [\"$TD/nosuch\"]}"
	expect 404 not_found -- POST /api/v1/groups -d "{\"name\": \"g1\", \"volumes\": [\"$A\"], \"config\": \"$TD/nosuch.xml\"}"
	expect 400 malformed_json -- POST /api/v1/groups -d '{"name": '
	expect 400 invalid_request -- POST /api/v1/groups -d "{\"volumes\": [\"$A\"]}"
	expect 400 invalid_request -- POST /api/v1/groups -d '{"name": "g1"}'
	expect 400 invalid_request -- POST /api/v1/groups -d '{"name": "g1", "volumes": []}'
	expect 400 invalid_request -- POST /api/v1/groups -d "{\"name\": \"a b\", \"volumes\": [\"$A\"]}"
	expect 400 invalid_request -- POST /api/v1/groups -d '{"name": "g1", "volumes": ["rel.img"]}'
	expect 400 invalid_request -- POST /api/v1/groups -d "{\"name\": \"g1\", \"volumes\": [\"$A\"], \"colour\": 1}"
	expect 400 invalid_request -- POST /api/v1/groups -d "{\"name\": \"g1\", \"volumes\": [\"$A\"], \"freeze\": [\"$A\"]}"
	grep -q "not a directory" "$TT/r.body" || fail "the freeze refusal does not say why: $(cat "$TT/r.body")"
	expect 400 invalid_request -- POST /api/v1/groups -d "{\"name\": \"g1\", \"volumes\": [\"$A\"], \"pre_hook\": \"\"}"
	expect 400 invalid_request -- POST /api/v1/groups -d "{\"name\": \"g1\", \"volumes\": [\"$A\"], \"max_freeze_s\": 0}"
	expect 400 invalid_request -- POST /api/v1/groups -d "{\"name\": \"g1\", \"volumes\": [{\"path\": \"$A\", \"name\": \"x\"}, {\"path\": \"$B\", \"name\": \"x\"}]}"
	grep -q "given twice" "$TT/r.body" || fail "the duplicate name refusal does not say why: $(cat "$TT/r.body")"
	# The CLI refuses the same definitions with the app's same words.
	expect_fail -m "given twice" cairn group create g1 --volume "$A" --volume "$B" --volume-name x --volume-name x
	expect_fail -m "not a directory" cairn group create g1 --volume "$A" --freeze "$A"
	expect_fail -c 2 -m "at least one volume" cairn group create g1
	expect 200 -- GET /api/v1/groups
	[ "$(jq '.groups | length' "$TT/r.body")" = "$n0" ] || fail "a refused request made a group"
}
test_case "refused groups: 409 exists, 404 missing volume, mount point or config, 400 bad body; the CLI refuses alike; nothing made" t_group_refused

# job_state ID: the job's state as the API has it.
job_state()
{
	expect 200 -- GET "/api/v1/jobs/$1"
	jq -r .state "$TT/r.body"
}

# queued_behind_backup OUT [DELAY_MS]: a slow backup of A (its id to OUT,
# DELAY_MS at each of its safe points, default 700) holds the volume's
# claim for some seconds; an API restore of the first backup onto
# A is queued meanwhile and must stay queued behind it.  Sets BPID (the
# backup) and JOB (the restore's job).
queued_behind_backup()
{
	local i st
	CAIRN_TEST_JOB_DELAY=${2:-700} CAIRN_THREADS=1 "$CAIRN" backup --repo "$R" -q --snapshot none "$A" >"$1" 2>b.err &
	BPID=$!
	for i in $(seq 1 100); do
		cairn status --json >s.json 2>/dev/null || true
		jq -e '(if type == "array" then . else .jobs end) | .[] | select(.kind == "backup" and .state == "active")' \
			s.json >/dev/null && break
		sleep 0.1
	done
	expect 202 -- POST /api/v1/restores -d "{\"repo\": \"$R\", \"backup\": \"$(cat "$TD/id-a1")\", \"target\": \"$A\", \"force\": true}"
	JOB=$(jq -r .job "$TT/r.body")
	sleep 2
	kill -0 "$BPID" 2>/dev/null || fail "the backup ended too soon to hold the volume (raise its delay)"
	st=$(job_state "$JOB")
	[ "$st" = queued ] || fail "job $JOB on a busy volume is $st, expected queued: $(cat "$TT/r.body")"
}

t_busy_waits()
{
	need_setup
	local bpid job
	cairn backup --repo "$R" -q --snapshot none "$A" >"$TD/id-a1" || fail "backup"
	cp "$A" "$TD/a.v1"
	rand_file "$A" $((32 << 20)) 4703
	cp "$A" "$TD/a.v2"
	queued_behind_backup "$TD/id-a2"
	bpid=$BPID job=$JOB
	expect 200 -- GET "/api/v1/jobs/$job/log"
	jq -r '.lines[].line' "$TT/r.body" | grep -q "busy" || fail "the waiting job's log does not say why: $(cat "$TT/r.body")"
	wait "$bpid" || fail "the backup holding the volume failed: $(cat b.err)"
	expect 200 -- GET "/api/v1/jobs/$job/events"
	grep -q '^event: end' "$TT/r.body" || fail "job $job: no end event"
	expect 200 -- GET "/api/v1/jobs/$job"
	[ "$(jq -r .state "$TT/r.body")" = done ] || fail "job $job: $(cat "$TT/r.body")"
	cmp "$TD/a.v1" "$A" || fail "the restore did not write the first backup"
	# It ran after the backup: that backup has the second content whole.
	cairn restore --repo "$R" -q "$(cat "$TD/id-a2")" "$TD/a2.out" || fail "restore of the second backup"
	cmp "$TD/a.v2" "$TD/a2.out" || fail "the backup that held the volume is not the second content"
}
test_case "an API restore onto a volume a backup holds waits queued (its log says why), then runs after it: both intact" t_busy_waits

t_busy_cancel()
{
	need_setup
	local bpid job i
	rand_file "$A" $((32 << 20)) 4704
	cp "$A" "$TD/a.v3"
	# Slower: the cancel must be seen while it still holds the volume,
	# also on a machine whose every core is busy.
	queued_behind_backup /dev/null 1500
	bpid=$BPID job=$JOB
	expect 202 -- POST "/api/v1/jobs/$job/cancel"
	# The waiting command sees the cancel within a poll or two and ends,
	# giving back its slot; it must not wait for the backup to end.
	for i in $(seq 1 50); do
		pgrep -f "restore .*$A" >/dev/null || break
		sleep 0.1
	done
	pgrep -f "restore .*$A" >/dev/null && fail "the canceled job's command still waits for the volume"
	kill -0 "$bpid" 2>/dev/null || fail "the backup ended before the cancel was seen (raise its delay)"
	[ "$(job_state "$job")" = canceled ] || fail "job $job: $(cat "$TT/r.body")"
	wait "$bpid" || fail "the backup holding the volume failed: $(cat b.err)"
	cmp "$TD/a.v3" "$A" || fail "the canceled restore wrote the volume"
}
test_case "an API restore waiting queued for a busy volume, canceled, ends at once and never writes it" t_busy_cancel

# outbox: the rows of pending notifications in the state database.
outbox()
{
	sqlite3 "$CAIRN_STATE_DIR/state.db" "SELECT count(*) || ' ' || coalesce(max(attempts), 0) FROM notify_outbox"
}

t_notify_restart()
{
	need_setup
	command -v sqlite3 >/dev/null || skip "sqlite3 is missing"
	local hport i job lpid
	hport=$(free_port)
	cairn notify add --webhook "http://127.0.0.1:$hport/hook" --on failure --timeout 2 later -q
	# Quick retries: the receiver is down, each delivery fails fast.
	stop_daemon
	CAIRN_HTTP_MAX_ATTEMPTS=2 CAIRN_HTTP_BACKOFF_MS=50 start_daemon
	# A job that fails: a restore onto an existing file without force.
	expect 202 -- POST /api/v1/restores -d "{\"repo\": \"$R\", \"backup\": \"$(cat "$TD/id-a1")\", \"target\": \"$B\"}"
	job=$(jq -r .job "$TT/r.body")
	for i in $(seq 1 200); do
		grep -q "notifier later.*trying again" "$TD/d.err" && break
		sleep 0.1
	done
	[ "$(job_state "$job")" = failed ] || fail "job $job did not fail: $(cat "$TT/r.body")"
	grep -q "notifier later.*trying again" "$TD/d.err" || fail "no failed delivery logged: $(tail -n3 "$TD/d.err")"
	[ "$(outbox)" = "1 1" ] || fail "pending notifications (rows, attempts): $(outbox), expected 1 1"
	stop_daemon
	[ "$(outbox | cut -d' ' -f1)" = 1 ] || fail "the pending event did not survive the daemon's stop: $(outbox)"
	python3 "$E2E_DIR/hooklisten.py" ok "$TT/h.port" "$TT/h.out" "$hport" >/dev/null 2>&1 &
	lpid=$!
	for i in $(seq 1 50); do [ -s "$TT/h.port" ] && break; sleep 0.1; done
	start_daemon
	for i in $(seq 1 100); do [ -s "$TT/h.out" ] && break; sleep 0.1; done
	[ -s "$TT/h.out" ] || { kill "$lpid"; fail "the pending event was not delivered after the start: $(tail -n3 "$TD/d.err")"; }
	sleep 3 # a few more passes: nothing is sent again
	kill "$lpid" 2>/dev/null || true
	[ "$(wc -l <"$TT/h.out")" = 1 ] || fail "$(wc -l <"$TT/h.out") deliveries, expected 1"
	[ "$(jq -r .kind "$TT/h.out")" = failure ] && [ "$(jq -r .job_id "$TT/h.out")" = "$job" ] ||
		fail "the delivered event: $(cat "$TT/h.out")"
	[ "$(outbox | cut -d' ' -f1)" = 0 ] || fail "a delivered event is still pending: $(outbox)"
	cairn notify remove later -q
}
test_case "a webhook event pending while the receiver is down survives a daemon restart and is delivered once" t_notify_restart

test_done
