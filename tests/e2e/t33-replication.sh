#!/bin/bash
# t33: replication in policies (policy create --copy-to): a copy after each
# backup, the destination's own retention, a failed copy that does not fail
# the backup and is caught up by the next copy, copies on a schedule by
# the daemon, and bad input.
. "$(dirname "$0")/lib.sh"

A=$TD/a # the policies' repository
B=$TD/b # a member of A's key family, same passphrase
C=$TD/c # unrelated, its own passphrase
CPASS='the copy passphrase (e2e)'

t_setup()
{
	new_repo "$A"
	CAIRN_FROM_PASSPHRASE=$CAIRN_PASSPHRASE cairn init --repo "$B" --copy-keys-from "$A" -q >/dev/null || fail "init --copy-keys-from"
	CAIRN_PASSPHRASE=$CPASS new_repo "$C"
	rand_file "$TD/vol.img" $((2 << 20)) 31
	rand_file "$TD/v2.img" $((1 << 20)) 32
	touch "$TD/ready"
}
test_case "setup: a repository, a key-family copy, an unrelated one" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

# list_ids REPO [PASS]: the backup ids of REPO, oldest first.
list_ids()
{
	CAIRN_PASSPHRASE=${2:-$CAIRN_PASSPHRASE} cairn list --repo "$1" --json | jq -r 'sort_by(.created) | .[].id'
}

t_after_backup()
{
	need_setup
	export CAIRN_STATE_DIR=$TT/state
	expect_ok cairn policy create rep --volume "$TD/vol.img" --repo "$A" --every 1d --snapshot none \
		--keep-last 5 --copy-to "$B" --copy-keep-last 2
	grep -q "copies to $B after each backup, keep there last=2" "$TT/.err" || fail "create did not say: $(cat "$TT/.err")"
	local i
	for i in 1 2 3; do
		scatter_write "$TD/vol.img" $((100 + i)) 3 >/dev/null
		cairn policy run rep --json >run$i.json || fail "policy run $i failed"
		[ "$(jq -r .copy.ok run$i.json)" = true ] || fail "run $i: copy not ok: $(cat run$i.json)"
		[ "$(jq -r .copy.backups_copied run$i.json)" = 1 ] || fail "run $i copied $(jq .copy run$i.json)"
	done
	[ "$(list_ids "$A" | wc -l)" = 3 ] || fail "source holds $(list_ids "$A" | wc -l) backups"
	# The destination's own keep rule: its 2 newest, the source's newest two.
	[ "$(list_ids "$B" | tr '\n' ' ')" = "$(list_ids "$A" | tail -n 2 | tr '\n' ' ')" ] ||
		fail "destination holds $(list_ids "$B" | tr '\n' ' '), want the source's newest two"
	cairn restore vol.img@latest "$TD/r.img" --repo "$B" -q || fail "restore from the copy"
	same_file "$TD/vol.img" "$TD/r.img"
	rm -f "$TD/r.img"
	# Jobs: a copy job and a forget job at the destination, both the policy's.
	cairn status --all --json >j.json
	[ "$(jq '[.[] | select(.kind == "copy" and .policy == "rep" and .state == "done")] | length' j.json)" = 3 ] ||
		fail "copy jobs: $(jq -c '[.[] | select(.kind == "copy")]' j.json)"
	jq -e --arg b "$B" '[.[] | select(.kind == "forget" and .policy == "rep" and .repo == $b)] | length > 0' j.json \
		>/dev/null || fail "no forget job at the destination"
	cairn policy show rep --json | jq -e '.copy.to != null and .copy.after_backup and .copy.last_copy != null' \
		>/dev/null || fail "policy show --json has no copy: $(cairn policy show rep --json | jq -c .copy)"
	cairn policy show rep | grep -q "copies to:  $B after each backup" || fail "policy show says no copy"
}
test_case "a copy after each backup; the destination keeps its own last 2; jobs and show say so" t_after_backup

t_failed_copy()
{
	need_setup
	export CAIRN_STATE_DIR=$TT/state
	cairn policy create unrel --volume "$TD/v2.img" --repo "$A" --every 1d --snapshot none --copy-to "$C" -q ||
		fail "create"
	# C's passphrase is not given: the copy fails, the backup stands.
	local before
	before=$(list_ids "$A" | wc -l)
	cairn policy run unrel --json >run.json 2>run.err || fail "the run failed with its copy: $(cat run.err)"
	[ "$(list_ids "$A" | wc -l)" = $((before + 1)) ] || fail "no backup made"
	[ "$(jq -r .copy.ok run.json)" = false ] || fail "copy said ok: $(cat run.json)"
	jq -r .copy.error run.json | grep -qi "passphrase" || fail "copy error: $(jq -r .copy.error run.json)"
	cairn status --all --json | jq -e '[.[] | select(.kind == "copy" and .policy == "unrel" and .state == "failed")]
		| length == 1' >/dev/null || fail "no failed copy job"
	scatter_write "$TD/v2.img" 7 2 >/dev/null
	cairn policy run unrel -q >/dev/null 2>&1 || fail "second run"
	# The copy now, with its passphrase: both backups, re-sealed for C.
	CAIRN_TO_PASSPHRASE=$CPASS cairn policy copy unrel --json >c.json || fail "policy copy"
	[ "$(jq -r .backups_copied c.json)" = 2 ] || fail "caught up $(jq -r .backups_copied c.json) backups"
	CAIRN_PASSPHRASE=$CPASS cairn restore v2.img@latest "$TD/r2.img" --repo "$C" -q || fail "restore from C"
	same_file "$TD/v2.img" "$TD/r2.img"
	rm -f "$TD/r2.img"
	# Nothing new: nothing copied.
	CAIRN_TO_PASSPHRASE=$CPASS cairn policy copy unrel --json >c2.json || fail "policy copy again"
	[ "$(jq -r .backups_copied c2.json)" = 0 ] || fail "copied again: $(cat c2.json)"
}
test_case "a failed copy fails its copy job, not the backup; policy copy catches up" t_failed_copy

t_daemon_schedule()
{
	need_setup
	export CAIRN_STATE_DIR=$TT/state
	new_repo "$TD/b2"
	local t0
	t0=$(date +%s)
	CAIRN_TEST_NOW=$t0 cairn policy create sched --volume "$TD/v2.img" --name sched --repo "$A" --every 1d \
		--snapshot none --copy-to "$TD/b2" --copy-every 1h -q || fail "create"
	copies() { cairn status --all --json | jq '[.[] | select(.kind == "copy" and .policy == "sched")] | length'; }
	# First pass: the backup runs; its copy is due too (a new schedule is).
	CAIRN_TEST_NOW=$t0 cairn daemon --once -q || fail "daemon pass 1"
	[ "$(copies)" = 1 ] || fail "first pass: $(copies) copy jobs"
	CAIRN_TEST_NOW=$((t0 + 600)) cairn daemon --once -q || fail "daemon pass 2"
	[ "$(copies)" = 1 ] || fail "copied again before its interval"
	CAIRN_TEST_NOW=$((t0 + 3700)) cairn daemon --once -q || fail "daemon pass 3"
	[ "$(copies)" = 2 ] || fail "not copied an interval later: $(copies)"
	[ "$(list_ids "$TD/b2" | tr '\n' ' ')" = "$(cairn list --repo "$A" --volume sched --json | jq -r '.[].id' |
		tr '\n' ' ')" ] || fail "the copy does not hold the policy's backup"
}
test_case "the daemon copies every --copy-every (injected time)" t_daemon_schedule

t_bad_input()
{
	need_setup
	export CAIRN_STATE_DIR=$TT/state
	expect_fail -c 2 -m "go with --copy-to" cairn policy create x --volume "$TD/vol.img" --repo "$A" --every 1h \
		--copy-every 1h
	expect_fail -c 2 -m "not both" cairn policy create x --volume "$TD/vol.img" --repo "$A" --every 1h \
		--copy-to "$B" --copy-every 1h --copy-after-backup
	expect_fail -c 2 -m "copy-every" cairn policy create x --volume "$TD/vol.img" --repo "$A" --every 1h \
		--copy-to "$B" --copy-every soon
	expect_fail -c 2 -m "keep-last" cairn policy create x --volume "$TD/vol.img" --repo "$A" --every 1h \
		--copy-to "$B" --copy-keep-last 0
	expect_fail -m "copy-to.*$TD/nowhere" cairn policy create x --volume "$TD/vol.img" --repo "$A" --every 1h \
		--copy-to "$TD/nowhere"
	expect_fail -c 2 -m "go with 'policy create'" cairn policy run x --copy-to "$B"
	cairn policy create plain --volume "$TD/vol.img" --repo "$A" --every 1h -q || fail "create plain"
	expect_fail -m "no replication target" cairn policy copy plain
	expect_fail -m "no policy named" cairn policy copy nosuch
	cairn policy list --json | jq -e '.[] | select(.name == "x")' >/dev/null && fail "a refused policy was stored"
	return 0
}
test_case "bad input: copy options without --copy-to, both modes, bad values, a missing destination" t_bad_input

test_done
