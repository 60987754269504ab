#!/bin/bash
# t4: interrupted backups and restores.  A killed backup leaves no backup
# behind, the repository stays consistent, and the next run reuses the
# packs already written.  A killed restore never leaves a half-written
# file under the target's name.
. "$(dirname "$0")/lib.sh"

R=$TD/repo
BIG=$TD/big.img
BIG_MIB=256

# start_backup REPO IMAGE: starts a one-thread backup in the background;
# its pid in $BG, its stderr in $TT/bg.err.
start_backup()
{
	CAIRN_THREADS=1 "$CAIRN" backup --repo "$1" "$2" >"$TT/bg.out" 2>"$TT/bg.err" &
	BG=$!
}

# stop_bg MSG: kills and reaps our background cairn ($BG), then fails.
stop_bg()
{
	kill -9 "$BG" 2>/dev/null || true
	wait "$BG" 2>/dev/null || true
	fail "$1: $(head -n1 "$TT/bg.err")"
}

t_setup()
{
	rand_file "$BIG" $((BIG_MIB << 20)) 4242
	new_repo "$R"
	rand_file small.img $((1 << 20)) 1
	cairn backup --repo "$R" -q small.img >/dev/null
}
test_case "setup: a repository with one backup and a ${BIG_MIB} MiB random image" t_setup

t_kill9()
{
	local base
	base=$(npacks "$R")
	start_backup "$R" "$BIG"
	# Two new packs (32 MiB of the 256) are written: kill.
	wait_for_pack "$R" "$BG" $((base + 2)) || stop_bg "the backup ended before writing two packs"
	kill9_running "$BG" "the backup (make the image bigger)"
	[ ! -s bg.out ] || fail "the killed backup printed an id: $(cat bg.out)"
	[ "$(backup_count "$R")" -eq 1 ] || fail "a backup killed with -9 is listed"
	[ "$(find "$R/backups" -type f | wc -l)" -eq 1 ] || fail "a manifest was written by the killed backup"
	echo "packs after kill: $(npacks "$R") (before: $base)" >&2
}
test_case "kill -9 mid-backup: no new backup is listed" t_kill9

t_check_after_kill()
{
	cairn check --repo "$R" || fail "check fails after a killed backup (unindexed packs are not damage)"
	cairn check --repo "$R" --read-data || fail "check --read-data fails after a killed backup"
}
test_case "kill -9 mid-backup: check passes (unindexed packs are not errors)" t_check_after_kill

t_rerun()
{
	local rerun clean
	cairn backup --repo "$R" --json "$BIG" >rerun.json
	new_repo fresh
	cairn backup --repo fresh --json "$BIG" >clean.json
	rerun=$(jget rerun.json .bytes_stored)
	clean=$(jget clean.json .bytes_stored)
	echo "re-run stored $rerun, a clean full backup $clean" >&2
	[ "$rerun" -lt $((clean - (8 << 20))) ] ||
		fail "re-run stored $rerun bytes, a clean full backup $clean: the packs of the killed run were not reused"
	[ "$(backup_count "$R")" -eq 2 ] || fail "re-run backup not listed"
	cairn restore --repo "$R" "$(jget rerun.json .id)" r.img
	same_file "$BIG" r.img
	rm -f r.img
	cairn check --repo "$R" --read-data
}
test_case "re-run after kill -9 succeeds, reuses the written packs, restores byte-identically" t_rerun

t_sigint()
{
	local sig rc n repo
	for sig in INT TERM; do
		repo=$TT/repo-$sig
		new_repo "$repo"
		start_backup "$repo" "$BIG"
		wait_for_pack "$repo" "$BG" 1 || stop_bg "the backup ended before writing a pack"
		kill -"$sig" "$BG"
		rc=0
		wait "$BG" || rc=$?
		cat bg.err >&2
		[ $rc -ne 0 ] || fail "backup interrupted by SIG$sig exited 0"
		[ $rc -lt 128 ] || fail "backup died of signal $((rc - 128)) on SIG$sig instead of stopping cleanly"
		n=$(wc -l <bg.err)
		[ "$n" -eq 1 ] || fail "SIG$sig: $n lines on stderr, expected one"
		[ ! -s bg.out ] || fail "SIG$sig: the interrupted backup printed an id"
		[ "$(backup_count "$repo")" -eq 0 ] || fail "a backup interrupted by SIG$sig is listed"
		[ -z "$(find "$repo" -name '.tmp.*')" ] || fail "SIG$sig left temporary objects in the repository"
		cairn check --repo "$repo" || fail "check fails after SIG$sig"
	done
}
test_case "SIGINT/SIGTERM mid-backup: exits non-zero with one line; no backup listed" t_sigint

t_concurrent()
{
	local p1 p2 p3 rc=0 v
	new_repo repo
	# A and B share 32 MiB (a dedup race), C is its own.
	dd if="$BIG" of=a.img bs=1M count=64 status=none
	dd if="$BIG" of=b.img bs=1M skip=32 count=64 status=none
	dd if="$BIG" of=c.img bs=1M skip=128 count=64 status=none
	CAIRN_THREADS=1 cairn backup --repo repo -q --state-dir sa a.img >ida 2>erra & p1=$!
	CAIRN_THREADS=1 cairn backup --repo repo -q --state-dir sb b.img >idb 2>errb & p2=$!
	CAIRN_THREADS=1 cairn backup --repo repo -q --state-dir sc c.img >idc 2>errc & p3=$!
	wait $p1 || rc=$?
	wait $p2 || rc=$?
	wait $p3 || rc=$?
	cat erra errb errc >&2
	[ $rc -eq 0 ] || fail "a concurrent backup failed: $(cat erra errb errc | head -n1)"
	[ "$(backup_count repo)" -eq 3 ] || fail "not all three concurrent backups are listed"
	for v in a b c; do
		cairn restore --repo repo "$(cat id$v)" r$v.img
		same_file $v.img r$v.img
	done
	cairn check --repo repo --read-data
}
test_case "three concurrent backups into one repository all restore; check passes" t_concurrent

# start_restore ID TARGET: a one-thread restore in the background ($BG).
start_restore()
{
	CAIRN_THREADS=1 "$CAIRN" restore --repo "$R" "$1" "$2" >"$TT/bg.out" 2>"$TT/bg.err" &
	BG=$!
}

# wait_for_tmp TARGET PID: waits until TARGET.cairn-* holds some data.
wait_for_tmp()
{
	local i f
	for i in $(seq 1 3000); do
		for f in "$1".cairn-*; do
			[ -f "$f" ] && [ "$(stat -c %b "$f")" -gt 2048 ] && return 0
		done
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.005
	done
	return 1
}

t_restore_kill()
{
	start_restore "$(cairn list --repo "$R" --json | jq -r '.[-1].id')" t.img
	wait_for_tmp t.img "$BG" || stop_bg "the restore ended before it could be killed"
	kill9_running "$BG" "the restore"
	[ ! -e t.img ] || fail "a restore killed with -9 left a file under the target's name"
}
test_case "kill -9 mid-restore leaves nothing under the target's name" t_restore_kill

t_restore_int()
{
	local rc=0
	start_restore "$(cairn list --repo "$R" --json | jq -r '.[-1].id')" t.img
	wait_for_tmp t.img "$BG" || stop_bg "the restore ended before it could be interrupted"
	kill -INT "$BG"
	wait "$BG" || rc=$?
	cat bg.err >&2
	[ $rc -ne 0 ] && [ $rc -lt 128 ] || fail "restore interrupted by SIGINT exited $rc"
	[ "$(wc -l <bg.err)" -eq 1 ] || fail "interrupted restore printed $(wc -l <bg.err) lines on stderr"
	[ ! -e t.img ] || fail "an interrupted restore left the target"
	! ls t.img.cairn-* >/dev/null 2>&1 || fail "an interrupted restore left its temporary file"
}
test_case "SIGINT mid-restore: one line, no target, no temporary file" t_restore_int

# snap_of PID [SIZE]: the snapshot file process PID is making or using, once it
# is there (in the state directory: copies live there).
snap_of()
{
	local i f
	for i in $(seq 1 2000); do
		for f in "$CAIRN_STATE_DIR"/snapshots/*.cairn-snap-"$1"-*; do
			# With SIZE, only once the copy has reached it (the hold
			# comes after the copy; a slow build is still copying).
			[ -f "$f" ] && { [ -z "${2:-}" ] || [ "$(stat -c %s "$f")" = "$2" ]; } &&
				{ echo "$f"; return 0; }
		done
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.01
	done
	return 1
}

t_killed_snapshot()
{
	local killed holder left held rc=0
	new_repo srepo
	rand_file sv.img $((8 << 20)) 31
	rand_file sw.img $((4 << 20)) 32
	# Held by a test hook once its copy snapshot is made; killed there.
	CAIRN_TEST_SNAP_HOLD_MS=60000 "$CAIRN" backup --repo srepo --snapshot copy sv.img >/dev/null 2>&1 &
	killed=$!
	left=$(snap_of $killed $((8 << 20))) || { kill -9 $killed; fail "no snapshot file appeared for the backup"; }
	kill -9 $killed
	wait $killed || rc=$?
	[ $rc -eq 137 ] || fail "the backup was not killed while it held its snapshot (exit $rc)"
	[ -f "$left" ] || fail "the killed backup left no snapshot file (a leftover is expected: $left)"
	# snapshot list shows it, marked and sized, --json too.
	cairn snapshot list --json >l.json
	jq -e --arg p "$left" --argjson pid $killed '[.[] | select(.kind == "leftover" and .path == $p and
		.size == 8388608 and .allocated >= 8388608 and .process == $pid)] | length == 1' l.json >/dev/null ||
		fail "snapshot list --json does not show the leftover: $(cat l.json)"
	cairn snapshot list >l.txt
	grep -F "$left" l.txt | grep -q "left by an interrupted run, 8.00 MiB on disk" ||
		fail "snapshot list does not show the leftover: $(cat l.txt)"
	# A backup still running holds its own snapshot: never touched.
	CAIRN_TEST_SNAP_HOLD_MS=60000 "$CAIRN" backup --repo srepo --snapshot copy sw.img >/dev/null 2>&1 &
	holder=$!
	held=$(snap_of $holder) || { kill -9 $holder; fail "no snapshot file appeared for the running backup"; }
	# The next backup of the volume removes the leftover at once.
	cairn backup --repo srepo --snapshot copy sv.img -q >id
	cairn restore --repo srepo "$(cat id)" r.img
	same_file sv.img r.img
	[ ! -e "$left" ] || { kill -9 $holder; fail "the next backup kept the leftover $left"; }
	[ -f "$held" ] || { kill -9 $holder; fail "the next backup removed a running backup's snapshot $held"; }
	cairn snapshot list --json | jq -e '[.[] | select(.kind == "leftover")] | length == 0' >/dev/null ||
		{ kill -9 $holder; fail "snapshot list shows a running backup's snapshot as a leftover"; }
	kill -9 $holder
	wait $holder || true
}
test_case "a backup killed while it holds its copy snapshot: snapshot list shows the leftover; the next backup removes it, a running one's stays" t_killed_snapshot

test_done
