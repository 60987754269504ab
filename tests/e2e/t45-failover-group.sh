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

# change IMG OFFSET_MIB SIZE_MIB SEED: overwrite a contiguous range with random bytes.
change()
{
	python3 - "$1" "$2" "$3" "$4" <<'PY'
import random, sys
path, off, n, seed = sys.argv[1], int(sys.argv[2]) << 20, int(sys.argv[3]) << 20, int(sys.argv[4])
with open(path, "r+b") as f:
    f.seek(off)
    f.write(random.Random(seed).randbytes(n))
PY
}

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

test_done
