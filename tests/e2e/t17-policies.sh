#!/bin/bash
# t11: policies, the daemon, jobs (status, log, cancel), and bad input.
. "$(dirname "$0")/lib.sh"

R=$TD/repo

t_setup()
{
	new_repo "$R"
	rand_file "$TD/vol.img" $((4 << 20)) 11
	rand_file "$TD/vol2.img" $((4 << 20)) 12
	rand_file "$TD/big.img" $((32 << 20)) 13
	rand_file "$TD/ga.img" $((1 << 20)) 14
	rand_file "$TD/gb.img" $((1 << 20)) 15
	cairn group create grp --volume "$TD/ga.img" --volume "$TD/gb.img" -q
	touch "$TD/ready"
}
test_case "setup: a repository, images, a group" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

# jobs_json: status --json of every job.
jobs_json()
{
	cairn status --all --json
}

# wait_active KIND SOURCE-SUBSTRING: prints the id of the first active job
# matching, waiting up to 30 s.
wait_active()
{
	local i id
	for i in $(seq 1 300); do
		id=$(jobs_json | jq -r --arg k "$1" --arg s "$2" \
			'[.[] | select(.state == "active" and .kind == $k and (.source | contains($s)))][0].id // empty')
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1
	done
	return 1
}

job_field() # ID FILTER
{
	jobs_json | jq -r --argjson id "$1" ".[] | select(.id == \$id) | $2"
}

t_bad_input()
{
	need_setup
	expect_fail -c 2 -m "unknown subcommand" cairn policy frob
	expect_fail -c 2 -m "missing subcommand" cairn policy
	expect_fail -m "no policy named 'nosuch'" cairn policy show nosuch
	expect_fail -m "no policy named 'nosuch'" cairn policy run nosuch
	expect_fail -m "no policy named 'nosuch'" cairn policy delete nosuch
	expect_fail -m "no policy named 'nosuch'" cairn policy pause nosuch
	expect_fail -c 2 -m "invalid cron schedule" cairn policy create p --volume "$TD/vol.img" --repo "$R" --cron "61 * * * *"
	expect_fail -c 2 -m "invalid cron schedule" cairn policy create p --volume "$TD/vol.img" --repo "$R" --cron "* * *"
	expect_fail -c 2 -m "never matches" cairn policy create p --volume "$TD/vol.img" --repo "$R" --cron "0 0 30 2 *"
	expect_fail -c 2 -m "invalid --every '15'" cairn policy create p --volume "$TD/vol.img" --repo "$R" --every 15
	expect_fail -c 2 -m "invalid --every" cairn policy create p --volume "$TD/vol.img" --repo "$R" --every 0s
	expect_fail -c 2 -m "one of them" cairn policy create p --volume "$TD/vol.img" --repo "$R" --every 1h --cron "@daily"
	expect_fail -c 2 -m "give a schedule" cairn policy create p --volume "$TD/vol.img" --repo "$R"
	expect_fail -c 2 -m "--volume SOURCE or --group GROUP" cairn policy create p --repo "$R" --every 1h
	expect_fail -c 2 -m "--volume SOURCE or --group GROUP" cairn policy create p --volume "$TD/vol.img" --group grp --repo "$R" --every 1h
	expect_fail -c 2 -m "--repo" cairn policy create p --volume "$TD/vol.img" --every 1h
	expect_fail -c 2 -m "invalid --keep-daily" cairn policy create p --volume "$TD/vol.img" --repo "$R" --every 1h --keep-daily x
	expect_fail -c 2 -m "invalid --keep-last" cairn policy create p --volume "$TD/vol.img" --repo "$R" --every 1h --keep-last 0
	expect_fail -c 2 -m "invalid duration '7x' for --keep-within" cairn policy create p --volume "$TD/vol.img" --repo "$R" --every 1h --keep-within 7x
	expect_fail -c 2 -m "invalid --full-every" cairn policy create p --volume "$TD/vol.img" --repo "$R" --every 1h --full-every 0
	expect_fail -c 2 -m "--snapshot takes" cairn policy create p --volume "$TD/vol.img" --repo "$R" --every 1h --snapshot magic
	expect_fail -c 2 -m "invalid policy name" cairn policy create "a b" --volume "$TD/vol.img" --repo "$R" --every 1h
	expect_fail -m "no such file" cairn policy create p --volume "$TD/nosuch.img" --repo "$R" --every 1h
	expect_fail -m "no group named" cairn policy create p --group nosuch --repo "$R" --every 1h
	expect_fail -m "not a cairn repository" cairn policy create p --volume "$TD/vol.img" --repo "$TT" --every 1h
	expect_fail -c 2 -m "go with 'policy create'" cairn policy list --every 1h
	expect_fail -c 2 -m "invalid job id" cairn log abc
	expect_fail -m "no job 99999" cairn log 99999
	expect_fail -c 2 -m "missing JOB" cairn cancel
	expect_fail -m "no job 99999" cairn cancel 99999
	expect_fail -c 2 -m "invalid --jobs" cairn daemon --jobs 0
	expect_fail -c 2 -m "--watch and --json" cairn status --watch --json
	cairn policy list --json | jq -e 'length == 0' >/dev/null || fail "a refused policy was stored"
}
test_case "bad input: one clear line each, nothing stored" t_bad_input

t_create_list_show()
{
	need_setup
	cairn policy create p1 --volume "$TD/vol.img" --repo "$R" --every 1h --keep-last 2 --full-every 2 --snapshot none -q
	expect_fail -m "exists already" cairn policy create p1 --volume "$TD/vol.img" --repo "$R" --every 1h
	cairn policy create nightly --volume "$TD/vol2.img" --repo "$R" --cron "30 2 * * *" --keep-daily 7 \
		--keep-weekly 4 --keep-within 2d --snapshot none -q
	cairn policy create g1 --group grp --repo "$R" --every 1h --keep-last 1 -q
	cairn policy list --json >l.json
	jq -e 'length == 3 and ([.[].name] == ["g1", "nightly", "p1"])' l.json >/dev/null || fail "list: $(cat l.json)"
	jq -e '.[] | select(.name == "p1") | .kind == "volume" and .every_s == 3600 and .keep.last == 2 and
		.full_every == 2 and (.source | startswith("/")) and (.repo | startswith("/"))' l.json >/dev/null ||
		fail "p1: $(jq -c '.[] | select(.name == "p1")' l.json)"
	jq -e '.[] | select(.name == "nightly") | .cron == "30 2 * * *" and .keep.daily == 7 and .keep.within == "2d"
		and .next_run != null' l.json >/dev/null || fail "nightly: $(jq -c '.[] | select(.name == "nightly")' l.json)"
	jq -e '.[] | select(.name == "g1") | .kind == "group" and .source == "grp"' l.json >/dev/null || fail "g1"
	cairn policy list >l.txt
	head -n1 l.txt | grep -q "NAME.*SCHEDULE.*KEEP.*NEXT RUN" || fail "list header: $(head -n1 l.txt)"
	cairn policy show nightly >s.txt
	grep -q "cron 30 2 \* \* \*" s.txt || fail "show: $(cat s.txt)"
	cairn policy pause nightly -q
	cairn policy show nightly --json | jq -e '.paused and .next_run == null' >/dev/null || fail "not paused"
	cairn policy resume nightly -q
	cairn policy show nightly --json | jq -e '(.paused | not) and .next_run != null' >/dev/null || fail "not resumed"
}
test_case "policy create, list, show, pause, resume" t_create_list_show

t_run_retention()
{
	need_setup
	local i id
	for i in 1 2 3; do
		scatter_write "$TD/vol.img" $((100 + i)) 8 65536 >/dev/null
		cairn policy run p1 >id.$i || fail "run $i"
		[ "$(wc -c <id.$i)" = 33 ] || fail "policy run printed '$(cat id.$i)'"
	done
	# keep-last 2 ran after each backup.
	cairn list --repo "$R" --volume vol.img --json >l.json
	[ "$(jq length l.json)" = 2 ] || fail "expected 2 backups of vol.img, got $(jq length l.json)"
	jq -e --arg a "$(cat id.2)" --arg b "$(cat id.3)" '[.[].id] == [$a, $b]' l.json >/dev/null ||
		fail "the wrong backups were kept"
	jobs_json >j.json
	[ "$(jq '[.[] | select(.policy == "p1" and .kind == "backup" and .state == "done")] | length' j.json)" = 3 ] ||
		fail "expected 3 done backup jobs of p1"
	[ "$(jq '[.[] | select(.policy == "p1" and .kind == "forget" and .state == "done")] | length' j.json)" = 3 ] ||
		fail "expected 3 forget jobs of p1"
	jq -e '[.[] | select(.policy == "p1" and .kind == "backup")][0] | .bytes_processed == 4194304 and
		.bytes_total == 4194304 and .elapsed_s > 0 and (.completed | test("Z$")) and .error == null' j.json \
		>/dev/null || fail "job fields: $(jq -c '[.[] | select(.policy == "p1")][0]' j.json)"
	# --full-every 2: the second run read everything.
	id=$(jq -r '[.[] | select(.policy == "p1" and .kind == "backup")] | sort_by(.id) | .[1].id' j.json)
	cairn log "$id" >log.txt
	grep -q "policy p1: full backup of volume" log.txt || fail "run 2 was not full: $(cat log.txt)"
	grep -q "$(cat id.2)" log.txt || fail "the log lacks the backup id"
	id=$(jq -r '[.[] | select(.policy == "p1" and .kind == "backup")] | sort_by(.id) | .[2].id' j.json)
	cairn log "$id" | grep -q "policy p1: backup of volume" || fail "run 3 should not be full"
	cairn log "$id" --json | jq -e '.state == "done" and (.lines | length) >= 2' >/dev/null || fail "log --json"
	# The group policy: one group backup; the job held both volumes.
	cairn policy run g1 >gid
	cairn group list --backups --repo "$R" --json | jq -e --arg g "$(cat gid)" '.[] | select(.id == $g)' >/dev/null ||
		fail "no group backup $(cat gid)"
	cairn check --repo "$R" -q
}
test_case "policy run: backup job, retention as a forget job, full every Nth, group policies" t_run_retention

t_retention_own_backups()
{
	need_setup
	local i fid
	rand_file "$TD/own.img" $((1 << 20)) 16
	# Two backups by hand, one tagged nightly, then a policy keeping 2.
	cairn backup --repo "$R" -q --snapshot none "$TD/own.img" --tag nightly >m1
	scatter_write "$TD/own.img" 300 4 >/dev/null
	cairn backup --repo "$R" -q --snapshot none "$TD/own.img" >m2
	cairn policy create own --volume "$TD/own.img" --repo "$R" --every 1h --keep-last 2 --snapshot none -q
	for i in 1 2 3; do
		scatter_write "$TD/own.img" $((300 + i)) 4 >/dev/null
		cairn policy run own >p$i 2>run$i.err
	done
	# Its rules counted only its own backups: the first of them went, and
	# neither backup made by hand.
	cairn list --repo "$R" --volume own.img --json >l.json
	jq -e --arg a "$(cat m1)" --arg b "$(cat m2)" --arg c "$(cat p2)" --arg d "$(cat p3)" \
		'[.[].id] == [$a, $b, $c, $d]' l.json >/dev/null || fail "kept: $(jq -c '[.[].id]' l.json)"
	jq -e '.[0].tags == ["nightly"]' l.json >/dev/null || fail "the nightly backup is not the first"
	# The summary names what was forgotten, and so does the forget job's log.
	grep -q "retention kept 2 and forgot 1 of the backups it made" run3.err || fail "summary: $(cat run3.err)"
	grep -q "forgot backup $(cat p1) of own.img" run3.err || fail "summary lacks $(cat p1): $(cat run3.err)"
	grep -q "forgot 0" run2.err || fail "run 2 said: $(cat run2.err)"
	fid=$(jobs_json | jq -r '[.[] | select(.policy == "own" and .kind == "forget")] | max_by(.id) | .id')
	cairn log "$fid" >log.txt
	grep -q "forgot backup $(cat p1) of own.img" log.txt || fail "the forget job's log: $(cat log.txt)"
	scatter_write "$TD/own.img" 304 4 >/dev/null
	cairn policy run own --json >r.json
	jq -e --arg c "$(cat p2)" '.retention.scope == "policy" and .retention.kept == 2 and
		([.retention.forgotten[].id] == [$c]) and .retention.forgotten[0].volume == "own.img"' r.json >/dev/null ||
		fail "run --json: $(jq -c .retention r.json)"
	jget r.json .backup >p4
	# show counts what the repository holds, not runs.
	cairn policy show own --json >s.json
	jq -e '.backups == 2 and .series_backups == 4 and .runs == 4 and .retention_scope == "policy" and
		.volume_name == "own.img"' s.json >/dev/null || fail "show: $(jq -c '{backups, series_backups, runs}' s.json)"
	cairn policy show own | grep -Eq "^backups: +2 made by this policy in the repository, 4 in its series; 4 runs" ||
		fail "show: $(cairn policy show own | grep backups)"
	# forget --policy follows the same rule.
	cairn forget --policy own --keep-last 1 --dry-run --json >f.json
	jq -e --arg d "$(cat p3)" '[.backups[] | select(.action == "forget") | .id] == [$d] and (.backups | length) == 2' \
		f.json >/dev/null || fail "forget --policy: $(jq -c '[.backups[] | {id, action}]' f.json)"
	# --retention-scope volume: every backup of the volume counts.
	cairn policy create wide --volume "$TD/own.img" --repo "$R" --every 1h --keep-last 2 --retention-scope volume \
		--snapshot none -q
	cairn policy show wide --json | jq -e '.retention_scope == "volume"' >/dev/null || fail "scope not stored"
	cairn policy show wide | grep -q "of every backup of its series" || fail "show does not say the scope"
	scatter_write "$TD/own.img" 305 4 >/dev/null
	cairn policy run wide >w1 2>w.err
	cairn list --repo "$R" --volume own.img --json >l.json
	jq -e --arg a "$(cat p4)" --arg b "$(cat w1)" '[.[].id] == [$a, $b]' l.json >/dev/null ||
		fail "scope volume kept $(jq -c '[.[].id]' l.json)"
	for i in m1 m2 p3; do
		grep -q "forgot backup $(cat $i) of own.img" w.err || fail "$i not named: $(cat w.err)"
	done
	expect_fail -c 2 -m "--retention-scope takes" cairn policy create bad --volume "$TD/own.img" --repo "$R" \
		--every 1h --retention-scope all
	cairn policy delete own -q
	cairn policy delete wide -q
}
test_case "policy retention forgets only its own backups (manual ones stay), or the whole volume's with --retention-scope volume; summary, log and show name and count them" t_retention_own_backups

t_status_format()
{
	need_setup
	cairn status >s.txt
	head -n1 s.txt | grep -Eq "SOURCE +STATE +BYTES-PROCESSED +TIME-ELAPSED +COMPLETED +ERROR" ||
		fail "status header: $(head -n1 s.txt)"
	cairn status --json | jq -e 'length > 0 and (.[0] | has("id") and has("kind") and has("policy") and
		has("source") and has("state") and has("bytes_processed") and has("bytes_total") and has("elapsed_s")
		and has("started") and has("completed") and has("error"))' >/dev/null || fail "status --json fields"
	# --watch without a terminal prints a table per refresh until stopped.
	local rc=0
	timeout -s INT 2.5 "$CAIRN" status --watch --interval 0.5 >w.txt 2>&1 || rc=$?
	[ $rc = 124 ] || fail "status --watch ended by itself (exit $rc) before it was interrupted: $(tail -n1 w.txt)"
	[ "$(grep -c "^ID " w.txt)" -ge 3 ] || fail "status --watch refreshed $(grep -c "^ID " w.txt) times"
}
test_case "status: the columns, --json fields, --watch refreshes" t_status_format

t_daemon_short_schedule()
{
	need_setup
	cairn policy pause p1 -q
	cairn policy pause g1 -q
	cairn policy pause nightly -q
	cairn policy create fast --volume "$TD/vol2.img" --repo "$R" --every 2s --keep-last 2 --snapshot none -q
	"$CAIRN" daemon --jobs 2 >d.out 2>d.err &
	local pid=$! rc=0 i
	for i in $(seq 1 150); do
		[ "$(jobs_json | jq '[.[] | select(.policy == "fast" and .kind == "backup" and .state == "done")] | length')" -ge 3 ] && break
		sleep 0.1
	done
	kill -TERM $pid
	wait $pid || rc=$?
	[ $rc = 0 ] || fail "daemon exited $rc on SIGTERM: $(tail -n3 d.err)"
	grep -q "daemon started" d.err || fail "no start line in the daemon's log"
	grep -Eq "job [0-9]+ \(policy fast\) started" d.err || fail "no job lines: $(head -n5 d.err)"
	grep -q "daemon stopped" d.err || fail "no stop line"
	jobs_json >j.json
	local n id
	n=$(jq '[.[] | select(.policy == "fast" and .kind == "backup" and .state == "done")] | length' j.json)
	[ "$n" -ge 3 ] || fail "the daemon ran fast $n times"
	[ "$(jq '[.[] | select(.policy == "fast" and .kind == "forget" and .state == "done")] | length' j.json)" -ge 3 ] ||
		fail "retention jobs missing"
	id=$(jq -r '[.[] | select(.policy == "fast" and .kind == "backup")][0].id' j.json)
	cairn log "$id" | grep -q "policy fast: backup of volume" || fail "no log for job $id"
	[ "$(cairn list --repo "$R" --volume vol2.img --json | jq length)" = 2 ] || fail "retention was not applied"
	[ "$(jq '[.[] | select(.policy != "fast" and .state == "active")] | length' j.json)" = 0 ] || fail "paused policies ran"
	cairn policy delete fast -q
}
test_case "daemon: a short schedule runs, status shows the jobs, logs exist, retention applied, SIGTERM exits 0" t_daemon_short_schedule

t_catch_up()
{
	need_setup
	# A state directory of its own, and injected time.
	export CAIRN_STATE_DIR=$TT/state
	local t0=1800000000
	CAIRN_TEST_NOW=$t0 cairn policy create q --volume "$TD/vol.img" --repo "$R" --every 15m --snapshot none -q
	count() { cairn status --all --json | jq '[.[] | select(.policy == "q" and .kind == "backup" and .state == "done")] | length'; }
	CAIRN_TEST_NOW=$t0 cairn daemon --once -q
	[ "$(count)" = 1 ] || fail "first pass ran $(count)"
	CAIRN_TEST_NOW=$((t0 + 600)) cairn daemon --once -q
	[ "$(count)" = 1 ] || fail "ran again before its interval"
	# Ten days down: one run, not 960.
	CAIRN_TEST_NOW=$((t0 + 864000)) cairn daemon --once -q
	[ "$(count)" = 2 ] || fail "catch-up ran $(($(count) - 1)) times"
	CAIRN_TEST_NOW=$((t0 + 864060)) cairn daemon --once -q
	[ "$(count)" = 2 ] || fail "a second catch-up run"
	CAIRN_TEST_NOW=$((t0 + 864000 + 900)) cairn daemon --once -q
	[ "$(count)" = 3 ] || fail "the next run did not come an interval after the catch-up"
}
test_case "daemon catch-up after downtime: one run, then the schedule (injected time)" t_catch_up

t_sigterm_safe_point()
{
	need_setup
	export CAIRN_STATE_DIR=$TT/state
	cairn policy create slow --volume "$TD/big.img" --repo "$R" --every 1h --snapshot none -q
	local before pid rc=0 id
	before=$(backup_count "$R")
	CAIRN_TEST_JOB_DELAY=400 CAIRN_THREADS=1 "$CAIRN" daemon >d.out 2>d.err &
	pid=$!
	id=$(wait_active backup big.img) || { kill -9 $pid; fail "the job never became active"; }
	kill -TERM $pid
	wait $pid || rc=$?
	[ $rc = 0 ] || fail "daemon exited $rc"
	[ "$(job_field "$id" .state)" = canceled ] || fail "job $id is $(job_field "$id" .state): $(tail -n3 d.err)"
	[ "$(job_field "$id" .stop)" = shutdown ] || fail "stop: $(job_field "$id" .stop)"
	job_field "$id" .error | grep -q "shutting down" || fail "error: $(job_field "$id" .error)"
	[ "$(backup_count "$R")" = "$before" ] || fail "a half backup appeared"
	cairn check --repo "$R" -q
	# The next start resumes it at once (not an hour later).
	cairn daemon --once -q
	[ "$(cairn status --all --json | jq '[.[] | select(.policy == "slow" and .state == "done")] | length')" -ge 1 ] ||
		fail "the policy did not resume"
	[ "$(backup_count "$R")" = $((before + 1)) ] || fail "no backup after resuming"
	cairn restore --repo "$R" big.img@latest out.img -q
	same_file "$TD/big.img" out.img
}
test_case "SIGTERM: the daemon's job stops at a safe point; the next start resumes the policy" t_sigterm_safe_point

t_cancel_cli_job()
{
	need_setup
	local before pid rc=0 id
	before=$(backup_count "$R")
	# 1.5 s at each of its 8 batches: it still runs after the two
	# refused backups below, also on a loaded machine.
	CAIRN_TEST_JOB_DELAY=1500 CAIRN_THREADS=1 "$CAIRN" backup "$TD/big.img" --repo "$R" --snapshot none >b.out 2>b.err &
	pid=$!
	id=$(wait_active backup big.img) || { kill -9 $pid; fail "no active job"; }
	# A second job on the same volume is refused while it runs.
	expect_fail -m "is busy: job $id" cairn backup "$TD/big.img" --repo "$R" --snapshot none
	# Refused before it copies the volume for a snapshot.
	"$CAIRN" backup "$TD/big.img" --repo "$R" --snapshot copy -vv 2>busy.err && fail "a busy volume was backed up"
	grep -q "is busy: job $id" busy.err || fail "busy backup said: $(tail -n2 busy.err)"
	! grep -q "snapshot (copy)" busy.err || fail "the refused backup copied the volume first"
	cairn cancel "$id" 2>c.err
	grep -q "cancel requested" c.err || fail "cancel said: $(cat c.err)"
	wait $pid || rc=$?
	[ $rc != 0 ] || fail "the canceled backup exited 0"
	[ "$(wc -l <b.err)" = 1 ] || fail "backup printed $(wc -l <b.err) lines: $(cat b.err)"
	grep -qi "cancel" b.err || fail "backup said: $(cat b.err)"
	[ "$(job_field "$id" .state)" = canceled ] || fail "state $(job_field "$id" .state)"
	[ "$(job_field "$id" .stop)" = cancel ] || fail "stop $(job_field "$id" .stop)"
	[ "$(backup_count "$R")" = "$before" ] || fail "a canceled backup left a backup"
	expect_fail -m "has finished already" cairn cancel "$id"
	cairn check --repo "$R" -q
}
test_case "cancel JOB stops a CLI backup at a safe point; a busy volume is refused" t_cancel_cli_job

t_kill9_job()
{
	need_setup
	local pid id
	CAIRN_TEST_JOB_DELAY=400 CAIRN_THREADS=1 "$CAIRN" backup "$TD/big.img" --repo "$R" --snapshot none >/dev/null 2>&1 &
	pid=$!
	id=$(wait_active backup big.img) || { kill -9 $pid; fail "no active job"; }
	kill9_running $pid "the backup job"
	[ "$(job_field "$id" .state)" = failed ] || fail "a killed job is $(job_field "$id" .state)"
	job_field "$id" .error | grep -q "ended without finishing it" || fail "error: $(job_field "$id" .error)"
	# Its volume is free again, and the repository consistent.
	cairn backup "$TD/big.img" --repo "$R" --snapshot none -q >/dev/null
	cairn check --repo "$R" -q
}
test_case "kill -9 of a job: it does not stay active; its volume is released" t_kill9_job

test_done
