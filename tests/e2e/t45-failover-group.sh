#!/bin/bash
# t45: the two ends of issue 20 [failover] (docs/design.md §14, §16).
# 1. A standby updated by the arrival of a restore point: a policy
#    replicating to a DR repository B with a standby on it (named by a
#    different path to B: compared by instance, not URI text); after the
#    daemon's run of the policy (backup + copy) the standby holds the new
#    restore point though it has no --every; a standby of the same volume
#    on the primary repository (another instance) is not touched.  An
#    import's re-read on a DR host marks its standby the same way.
# 2. Failback of a group policy: a group of two volumes, a group standby
#    from B, failover, a backup at the DR site, failback to A: A holds the
#    DR group backup, each primary volume equals the DR site's with about
#    the change written, the policy is switched back, a rerun is a no-op.
. "$(dirname "$0")/lib.sh"

A=$TD/a  # the primary repository
B=$TD/b  # the DR repository (A's key family)
MIB=$((1 << 20))

newest() { cairn list --repo "$1" --json | jq -r 'sort_by(.created) | .[-1].id'; }

t_setup()
{
	new_repo "$A" --chunk-size 64K
	CAIRN_FROM_PASSPHRASE=$CAIRN_PASSPHRASE cairn init --repo "$B" --copy-keys-from "$A" -q >/dev/null ||
		fail "init --copy-keys-from"
	ln -s "$B" "$TD/b-link" # B by another name
	touch "$TD/ready"
}
test_case "setup: A and B, one key family" t_setup

need_setup() { [ -f "$TD/ready" ] || skip "setup did not complete"; }

t_arrival()
{
	need_setup
	local vol=$TD/p1/vol.img held0 held1 id
	mkdir -p "$TD/p1"
	rand_file "$vol" $((8 * MIB)) 81
	export CAIRN_STATE_DIR=$TD/s1
	cairn policy create p --volume "$vol" --repo "$A" --every 1d --snapshot none --copy-to "$B" -q || fail "policy create"
	cairn policy run p -q >/dev/null || fail "run 1"
	cairn standby create sb --volume vol.img --repo "$TD/b-link" --to "$TT/sb.img" -q >/dev/null || fail "standby create"
	cairn standby create sa --volume vol.img --repo "$A" --to "$TT/sa.img" -q >/dev/null || fail "standby create on A"
	held0=$(cairn standby show sb --json | jq -r .backup)
	[ "$held0" = "$(newest "$B")" ] || fail "standby create holds $held0"
	held1=$(cairn standby show sa --json | jq -r .backup)
	change "$vol" 2 1 82
	# Due now again (every 1d from its creation: a new policy is due at once).
	cairn policy delete p -q && cairn policy create p --volume "$vol" --repo "$A" --every 1d --snapshot none \
		--copy-to "$B" -q || fail "policy recreate"
	cairn daemon --once --no-api 2>daemon.err || fail "daemon: $(tail -5 daemon.err)"
	id=$(newest "$B")
	[ "$id" != "$held0" ] || fail "the daemon's run copied nothing to B: $(tail -5 daemon.err)"
	grep -q "standby sb: a restore point arrived" daemon.err || fail "the daemon did not start sb's update: $(cat daemon.err)"
	[ "$(cairn standby show sb --json | jq -r .backup)" = "$id" ] ||
		fail "standby sb holds $(cairn standby show sb --json | jq -r .backup), want the copied $id"
	cairn restore "$id" want.img --repo "$B" -q
	same_file want.img "$TT/sb.img"
	# A's standby follows another instance: nothing arrived there by copy.
	[ "$(cairn standby show sa --json | jq -r .backup)" = "$held1" ] || fail "the standby on A was updated"
	! grep -q "standby sa" daemon.err || fail "the daemon started sa: $(grep 'standby sa' daemon.err)"
	# Nothing marked now: the next pass starts no update.
	cairn daemon --once --no-api 2>daemon2.err || fail "daemon 2"
	! grep -q "a restore point arrived" daemon2.err || fail "a second pass updated again: $(cat daemon2.err)"
	# cairn copy by hand marks too (the daemon updates it on its next pass).
	change "$vol" 4 1 83
	id=$(cairn backup --repo "$A" -q "$vol")
	CAIRN_TO_PASSPHRASE=$CAIRN_PASSPHRASE cairn copy "$id" --repo "$A" --to "$TD/b-link" -q || fail "copy"
	[ -f "$CAIRN_STATE_DIR/standby/sb/arrived" ] || fail "cairn copy did not mark standby sb"
	[ ! -f "$CAIRN_STATE_DIR/standby/sa/arrived" ] || fail "cairn copy marked the standby on A"
	cairn daemon --once --no-api 2>daemon3.err || fail "daemon 3"
	[ "$(cairn standby show sb --json | jq -r .backup)" = "$id" ] || fail "standby sb did not take the copied $id"
	[ ! -f "$CAIRN_STATE_DIR/standby/sb/arrived" ] || fail "the mark stayed after the update"
	cairn policy delete p -q
	unset CAIRN_STATE_DIR
	rm -f want.img
}
test_case "arrival: the daemon updates a standby on B right after a policy's copy lands there (no --every)" t_arrival

t_import_arrival()
{
	need_setup
	local vol=$TD/p1/vol.img id
	export CAIRN_STATE_DIR=$TD/s2
	cairn export-details --repo "$B" >"$TD/token-b"
	cairn import "$(cat "$TD/token-b")" --as dr -q || fail "import B"
	cairn standby create sd --volume vol.img --repo dr --to "$TT/sd.img" -q >/dev/null || fail "standby create"
	change "$vol" 5 1 84
	id=$(CAIRN_STATE_DIR=$TD/s1 cairn backup --repo "$A" -q "$vol")
	CAIRN_STATE_DIR=$TD/s1 CAIRN_TO_PASSPHRASE=$CAIRN_PASSPHRASE cairn copy "$id" --repo "$A" --to "$B" -q || fail "copy"
	cairn repos sync dr -q || fail "repos sync"
	[ -f "$CAIRN_STATE_DIR/standby/sd/arrived" ] || fail "the import's re-read did not mark standby sd"
	cairn daemon --once --no-api 2>daemon.err || fail "daemon"
	[ "$(cairn standby show sd --json | jq -r .backup)" = "$id" ] || fail "standby sd did not take $id after the re-read"
	unset CAIRN_STATE_DIR
}
test_case "arrival: an import's re-read that finds a new restore point updates the DR host's standby" t_import_arrival

dr() { CAIRN_STATE_DIR=$TD/sd3 cairn "$@"; }

t_group_failback()
{
	need_setup
	local gp=$TD/gp gdr=$TD/gdr gid w i
	mkdir -p "$gp"
	rand_file "$gp/v1.img" $((8 * MIB)) 91
	rand_file "$gp/v2.img" $((6 * MIB)) 92
	export CAIRN_STATE_DIR=$TD/sp3
	cairn group create g --volume "$gp/v1.img" --volume "$gp/v2.img" -q || fail "group create"
	cairn policy create gp --group g --repo "$A" --every 1d --snapshot none --copy-to "$B" -q || fail "policy create"
	cairn policy run gp --json >r1.json || fail "group run"
	[ "$(jq -r .copy.ok r1.json)" = true ] || fail "copy not ok: $(cat r1.json)"
	cairn export-details --repo "$A" --with-policies >"$TD/token-a3"
	cairn export-details --repo "$B" >"$TD/token-b3"
	unset CAIRN_STATE_DIR
	dr import "$(cat "$TD/token-a3")" --as prim -q || fail "import A"
	dr import "$(cat "$TD/token-b3")" --as dr -q || fail "import B"
	dr standby create gsb --group g --repo dr --to "$gdr" -q >/dev/null || fail "group standby create"
	same_file "$gp/v1.img" "$gdr/v1.img"
	cp "$gp/v1.img" "$TT/old1.img"
	cp "$gp/v2.img" "$TT/old2.img"
	expect_fail -m "is not failed over" dr dr failback --policy gp --to "$A"
	dr dr failover --policy gp --json >fo.json || fail "failover"
	[ "$(jq -r .group fo.json)" = true ] || fail "not a group failover: $(cat fo.json)"
	[ "$(dr policy show gp --json | jq -r .repo)" = "$B" ] || fail "the group policy does not back up to B"
	# The operator points the group at the standby's images; the DR site
	# runs there and backs up.
	# (named as the primary's members: the DR backups continue their series)
	dr group delete g -q && dr group create g --volume "$gdr/v1.img" --volume "$gdr/v2.img" \
		--volume-name v1.img --volume-name v2.img -q ||
		fail "group re-pointed"
	change "$gdr/v1.img" 2 1 93
	dr policy run gp --json >run.json || fail "group backup at the DR site"
	gid=$(jget run.json .backup)
	# Failback: the DR group backup to A, each member by delta onto its
	# primary volume (recorded at failover), the policy and group back.
	# A failback whose restore step fails (DIR/VOLUME under a missing
	# directory): the copy step is recorded, the policy stays at the DR site.
	expect_fail -m "nosuch" dr dr failback --policy gp --to "$A" --volume-target "$TT/nosuch"
	[ "$(dr policy show gp --json | jq -r .repo)" = "$B" ] || fail "a failed failback switched the policy"
	cmp -s "$TT/old1.img" "$gp/v1.img" || fail "a failed failback wrote the primary volume"
	dr dr failback --policy gp --to "$A" --json >fb.json || fail "group failback: $(cat fb.json)"
	[ "$(jq -r '.steps[0].done' fb.json)" = before ] || fail "the copy step ran again: $(jq -c .steps fb.json)"
	[ "$(jget fb.json .restore.backup)" = "$gid" ] || fail "restored $(jq -r .restore.backup fb.json), want $gid"
	cairn group list --backups --repo "$A" --json | jq -e --arg id "$gid" 'any(.[]; .id == $id)' >/dev/null ||
		fail "A does not hold the DR group backup $gid"
	for i in 1 2; do
		same_file "$gdr/v$i.img" "$gp/v$i.img"
	done
	cmp -s "$TT/old1.img" "$gp/v1.img" && fail "v1.img was not written"
	same_file "$TT/old2.img" "$gp/v2.img"
	w=$(jget fb.json .bytes_written)
	echo "  group failback wrote $w bytes for a 1 MiB change of 14 MiB" >&2
	[ "$w" -ge "$MIB" ] && [ "$w" -le $((2 * MIB)) ] || fail "group failback wrote $w bytes for a 1 MiB change"
	[ "$(jq -r '[.restore.members[] | select(.volume == "v2.img")][0].bytes_written' fb.json)" = 0 ] ||
		fail "the unchanged member was written: $(jq -c .restore.members fb.json)"
	dr policy show gp --json >p.json
	[ "$(jget p.json .repo)" = "$A" ] || fail "policy repo $(jq -r .repo p.json), want $A"
	[ "$(jget p.json .paused)" = true ] || fail "the policy is not paused as it was before failover"
	dr group list --json | jq -e --arg v "$gp/v1.img" '.[] | select(.name == "g") | .volumes[0] == $v' >/dev/null ||
		fail "group g not pointed back at the primary volumes: $(dr group list --json)"
	# Again: failed back already, nothing written.
	cp "$gp/v1.img" "$TT/now1.img"
	dr dr failback --policy gp --to "$A" >again.out || fail "second failback"
	grep -q "failed back already" again.out || fail "rerun says: $(cat again.out)"
	same_file "$TT/now1.img" "$gp/v1.img"
}
test_case "group failback: the DR group backup to A, each member by delta onto its volume, switched back, rerun a no-op" t_group_failback

test_done
