#!/bin/bash
# t36: failover and failback at the DR site (cairn dr failover|failback,
# docs/design.md §15) on local repositories: a primary repository A whose
# policy copies to B (A's key family); a DR host (its own state directory)
# that imported both and keeps a standby of the volume from B.  Failover
# hands the standby over and resumes the imported policy against B with
# the standby as its source; its next backup stores about the change, not
# the volume; failback copies the DR backups to A and writes only what
# changed onto the old primary volume.  Idempotent reruns; a failback that
# failed after its copy step continues; bad input.
. "$(dirname "$0")/lib.sh"

A=$TD/a  # the primary repository
B=$TD/b  # the DR repository (A's key family)
SP=$TD/sp # the primary host's state directory
SD=$TD/sd # the DR host's state directory
VOL=$TD/prim/vol.img
SB=$TD/dr/standby.img
MIB=$((1 << 20))

dr() { CAIRN_STATE_DIR=$SD cairn "$@"; }

t_setup()
{
	mkdir -p "$TD/prim" "$TD/dr"
	new_repo "$A" --chunk-size 64K
	CAIRN_FROM_PASSPHRASE=$CAIRN_PASSPHRASE cairn init --repo "$B" --copy-keys-from "$A" -q >/dev/null ||
		fail "init --copy-keys-from"
	rand_file "$VOL" $((24 * MIB)) 71
	export CAIRN_STATE_DIR=$SP
	cairn policy create p --volume "$VOL" --repo "$A" --every 1d --snapshot none --copy-to "$B" -q || fail "policy create"
	cairn policy run p --json >r1.json || fail "run 1"
	change "$VOL" 3 1 72
	cairn policy run p --json >r2.json || fail "run 2"
	[ "$(jq -r .copy.ok r2.json)" = true ] || fail "copy not ok: $(cat r2.json)"
	cairn export-details --repo "$A" --with-policies >"$TD/token-a"
	cairn export-details --repo "$B" >"$TD/token-b"
	unset CAIRN_STATE_DIR
	# The DR host: A's policies (paused), B registered, a standby from B.
	dr import "$(cat "$TD/token-a")" --as prim -q || fail "import A"
	dr import "$(cat "$TD/token-b")" --as dr -q || fail "import B"
	dr standby create sb --volume vol.img --repo dr --to "$SB" -q >/dev/null || fail "standby create"
	[ "$(dr policy show p --json | jq -r .paused)" = true ] || fail "the imported policy is not paused"
	cp "$VOL" "$TD/prim/old.img" # the primary volume as it was at the disaster
	touch "$TD/ready"
}
test_case "setup: A with a policy copying to B; the DR host imported both and keeps a standby" t_setup

need_setup()
{
	[ -f "$TD/ready" ] || skip "setup did not complete"
}

t_bad_input()
{
	need_setup
	expect_fail -m "no policy named 'nosuch'" dr dr failover --policy nosuch
	expect_fail -m "no standby named 'nosuch'" dr dr failover --standby nosuch
	expect_fail -c 2 -m "not both" dr dr failover --policy p --standby sb
	expect_fail -c 2 -m "needs --policy" dr dr failover
	expect_fail -c 2 -m "needs --policy P and --to" dr dr failback --policy p
	expect_fail -c 2 -m "go with" dr dr report --policy p
	expect_fail -m "is not failed over" dr dr failback --policy p --to "$A"
	[ "$(dr policy show p --json | jq -r .paused)" = true ] || fail "bad input changed the policy"
}
test_case "bad input: unknown policy or standby, both, failback before failover" t_bad_input

t_failover()
{
	need_setup
	local newest
	newest=$(cairn list --repo "$B" --json | jq -r 'sort_by(.created) | .[-1].id')
	dr dr failover --policy p --json >fo.json || fail "failover"
	[ "$(jq -r .already fo.json)" = false ] || fail "first failover says already"
	[ "$(jget fo.json .backup)" = "$newest" ] || fail "handed over $(jget fo.json .backup), want $newest"
	cairn restore "$newest" want.img --repo "$B" -q
	same_file want.img "$SB"
	jq -e '.rto_s < 5' fo.json >/dev/null || fail "RTO $(jq .rto_s fo.json)"
	dr policy show p --json >p.json
	[ "$(jq -r .paused p.json)" = false ] || fail "the policy is still paused"
	[ "$(jget p.json .repo)" = "$B" ] || fail "policy repo $(jq -r .repo p.json), want $B"
	[ "$(jget p.json .source)" = "$SB" ] || fail "policy source $(jq -r .source p.json), want the standby"
	# Again: already, nothing changes; the standby takes no update.
	dr dr failover --standby sb >again.out || fail "second failover"
	grep -q "failed over already" again.out || fail "rerun says: $(cat again.out)"
	expect_fail -m "is failed over" dr standby update sb
	dr dr report --json >rep.json || true
	jq -e '.failovers[0].standby == "sb" and .failovers[0].state == "failed-over"' rep.json >/dev/null ||
		fail "dr report has no failover: $(jq -c .failovers rep.json)"
	# Its backups are newer by design: status says failed over, not late.
	dr standby status sb --json >st.json || fail "standby status exits non-zero for a failed-over standby"
	jq -e '.[0].failed_over' st.json >/dev/null || fail "standby status: $(cat st.json)"
	rm -f want.img
	echo "$newest" >"$TD/failed-over"
}
test_case "failover: the standby holds the newest copy; the imported policy runs against B on the standby" t_failover

t_dr_backup()
{
	[ -f "$TD/failed-over" ] || skip "failover did not complete"
	change "$SB" 10 3 73
	dr policy run p --json >run.json || fail "backup at the DR site"
	local id new
	id=$(jget run.json .backup)
	new=$(cairn list --repo "$B" --json | jq -r --arg id "$id" '.[] | select(.id == $id) | .bytes_new')
	[ -n "$new" ] && [ "$new" != null ] || fail "no bytes_new for $id: $(cairn list --repo "$B" --json | jq -c '.[-1]')"
	echo "  DR backup: bytes_new $new for a 3 MiB change of a 24 MiB volume" >&2
	[ "$new" -le $((4 * MIB)) ] || fail "the DR backup stored $new bytes for a 3 MiB change"
	[ "$new" -ge $((3 * MIB)) ] || fail "the DR backup stored $new bytes, less than the change"
	cairn list --repo "$B" --json | jq -e --arg id "$id" '.[] | select(.id == $id) | .volume == "vol.img"' \
		>/dev/null || fail "the DR backup is not of volume vol.img"
	# Its parent: the copied restore point the standby was handed over at.
	cairn list --repo "$B" --json | jq -e --arg id "$id" --arg p "$(cat "$TD/failed-over")" \
		'.[] | select(.id == $id) | .parent == $p' >/dev/null || fail "the DR backup's parent is not the copied one"
	echo "$id" >"$TD/dr-id"
}
test_case "a backup at the DR site stores about the change, not the volume" t_dr_backup

t_failback()
{
	[ -f "$TD/dr-id" ] || skip "no DR backup"
	local id w
	id=$(cat "$TD/dr-id")
	cp "$TD/prim/old.img" old2.img
	dr dr failback --policy p --to "$A" --volume-target "$TT/old2.img" --json >fb.json || fail "failback"
	cairn list --repo "$A" --json | jq -e --arg id "$id" 'any(.[]; .id == $id)' >/dev/null ||
		fail "A does not hold the DR backup $id"
	[ "$(jget fb.json .restore.backup)" = "$id" ] || fail "restored $(jq -r .restore.backup fb.json), want $id"
	cairn restore "$id" want.img --repo "$A" -q
	same_file want.img old2.img
	w=$(jget fb.json .bytes_written)
	echo "  failback wrote $w bytes for a 3 MiB change" >&2
	[ "$w" -gt 0 ] && [ "$w" -lt $((6 * MIB)) ] || fail "failback wrote $w bytes for a 3 MiB change"
	dr policy show p --json >p.json
	[ "$(jget p.json .repo)" = "$A" ] || fail "policy repo $(jq -r .repo p.json), want $A"
	[ "$(jget p.json .source)" = "$VOL" ] || fail "policy source $(jq -r .source p.json), want $VOL"
	[ "$(jget p.json .paused)" = true ] || fail "the policy is not paused as it was before failover"
	# Again: failed back already; nothing written.
	dr dr failback --policy p --to "$A" >again.out || fail "second failback"
	grep -q "failed back already" again.out || fail "rerun says: $(cat again.out)"
	same_file want.img old2.img
	# The standby takes updates again.
	dr standby update sb --force -q >/dev/null || fail "standby update after failback"
	rm -f want.img old2.img
}
test_case "failback: A gets the DR backups, the old volume gets only what changed, the policy is switched back" t_failback

t_resume()
{
	[ -f "$TD/dr-id" ] || skip "no DR backup"
	# A second round, killed after the copy step: the rerun continues.
	# The DR repository unreadable: what the standby holds is handed over.
	mv "$B" "$B.away"
	dr dr failover --standby sb --json >fo2.json 2>fo2.err || { mv "$B.away" "$B"; fail "failover 2: $(cat fo2.err)"; }
	mv "$B.away" "$B"
	jq -e '.update_error != null and .already == false' fo2.json >/dev/null || fail "failover 2: $(cat fo2.json)"
	grep -q "not updated" fo2.err || fail "failover 2 did not warn: $(cat fo2.err)"
	change "$SB" 1 1 74
	dr policy run p --json >run.json || fail "backup 2 at the DR site"
	cp "$TD/prim/old.img" old3.img
	# The restore step fails (its target's directory is missing): the copy
	# step is recorded, the policy stays switched to the DR site.
	expect_fail -m "nosuch" dr dr failback --policy p --to "$A" --volume-target "$TT/nosuch/old.img"
	[ "$(dr policy show p --json | jq -r .repo)" = "$B" ] || fail "a failed failback switched the policy"
	dr dr failback --policy p --to "$A" --volume-target "$TT/old3.img" --json >fb.json || fail "resumed failback"
	[ "$(jq -r '.steps[0].done' fb.json)" = before ] || fail "the copy step ran again: $(jq -c .steps fb.json)"
	cairn restore "$(jget run.json .backup)" want.img --repo "$A" -q
	same_file want.img old3.img
	rm -f want.img old3.img
}
test_case "an unreadable DR repository at failover; a failback failed after its copy step continues with the restore" t_resume

test_done
