#!/bin/bash
# bench/failover.sh - warm standby, failover and failback (issue 20,
# "Targets") on the seed scenario of bench/dr.sh: a 20 GiB sparse volume
# holding 5 GiB of random data on XFS (a loop device, reflink=1), Ceph RGW
# on 127.0.0.1 with two buckets of one key family (`init
# --copy-keys-from`).  Method and numbers: docs/benchmarks.md ("Standby,
# failover and failback").
#
# One run, two hosts on this machine (two state directories, as in
# tests/e2e/t36-failover.sh):
#   primary host: a policy backs the volume up to bucket A and copies to
#     bucket B (`policy run`: backup, then copy);
#   DR host: imports A (with its policies, paused) and B, and creates a
#     standby of the volume from B on the same XFS (`standby create`).
# Timed steps:
#   1. a change of 64 MiB on the primary (64 writes of 1 MiB of new random
#      data at seeded offsets scattered over the data region), `policy
#      run` (backup + copy), then `standby update` on the DR host
#      (target < 2 s; bytes written from its --json)
#   2. `dr failover --policy p` of the standby that is now current (RTO,
#      target < 1 s; the wall time and the rto_s it reports)
#   3. a scattered 64 MiB change of the failed-over volume (the standby's
#      image), a backup at the DR site (`policy run` against B), then
#      `dr failback --policy p --to A`: the DR backup copied to A and
#      restored by delta onto the original volume (target: bytes written
#      < 2x the change; the volume is then compared with the standby)
#   4. bench/secondary.sh against the same RGW (restore through the
#      secondary endpoint vs the primary; target within 1.2x)
#
# Environment:
#   BENCH_DIR          default /var/tmp/cairn-bench
#   FO_SIZE_GIB        volume size, default 20
#   FO_DATA_GIB        random data in it, default 5 (at 1 GiB from the start)
#   FO_CHANGE_MIB      each change, default 64
#   FO_VERIFY          1 (default): compare the failed-back volume with the
#                      standby (reads both; untimed); 0: skip
#   RUNS               runs of the whole scenario (each on a fresh RGW and
#                      fresh buckets), default 1
#   SEC_SIZE_MIB, SEC_ROUNDS   passed to bench/secondary.sh (256, 3 here)
#   CAIRN              cairn binary, default build/cairn
#   BENCH_RESULTS      default bench/results (writes failover-latest.md)
# Needs root (loop device, mount) and Ceph RGW (scripts/install-deps servers).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/cairn-bench}
SIZE_GIB=${FO_SIZE_GIB:-20}
DATA_GIB=${FO_DATA_GIB:-5}
CHANGE_MIB=${FO_CHANGE_MIB:-64}
VERIFY=${FO_VERIFY:-1}
RUNS=${RUNS:-1}
CAIRN=${CAIRN:-$ROOT/build/cairn}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}

die() { echo "bench/failover: $*" >&2; exit 1; }
say() { echo "bench/failover: $*" >&2; }

case $BENCH_DIR in /*) ;; *) die "BENCH_DIR must be absolute" ;; esac
[[ $SIZE_GIB =~ ^[1-9][0-9]*$ && $DATA_GIB =~ ^[1-9][0-9]*$ && $CHANGE_MIB =~ ^[1-9][0-9]*$ && $RUNS =~ ^[1-9][0-9]*$ ]] ||
	die "FO_SIZE_GIB, FO_DATA_GIB, FO_CHANGE_MIB and RUNS must be positive integers"
[ $((DATA_GIB + 1)) -le "$SIZE_GIB" ] || die "FO_DATA_GIB + 1 must fit in FO_SIZE_GIB"
[ -x "$CAIRN" ] || die "no cairn binary at $CAIRN (make)"
command -v radosgw >/dev/null || die "Ceph RGW missing (scripts/install-deps servers)"

W=$BENCH_DIR/failover
LOGDIR=$BENCH_DIR/logs
mkdir -p "$BENCH_DIR" "$LOGDIR" "$RESULTS"
exec 9>"$BENCH_DIR/.lock"
flock -n 9 || die "another bench run holds $BENCH_DIR/.lock"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG=$LOGDIR/failover-$STAMP.log
: >"$LOG"
rm -rf "$W"
mkdir -p "$W"
cp "$CAIRN" "$W/cairn"
CAIRN=$W/cairn

export CAIRN_PASSPHRASE=cairn-bench-passphrase CAIRN_TO_PASSPHRASE=cairn-bench-passphrase
export CAIRN_FROM_PASSPHRASE=cairn-bench-passphrase
export CAIRN_NO_PROGRESS=1

. "$ROOT/bench/seed.sh"
RGW_DIR=$W/rgw
X=$W/xfs
VOL=$X/vol.img SB=$X/standby.img
cleanup() {
	seed_rgw_stop "$RGW_DIR"
	seed_xfs_umount "$X" "$W/xfs.fsimg"
}
trap cleanup EXIT

# The volume, once: later runs start from the volume as the previous
# failback left it (still 5 GiB of random data; their first backup is a
# full one to fresh buckets).
seed_xfs_mount "$W/xfs.fsimg" $((2 * SIZE_GIB + 8)) "$X"
say "building the volume: ${SIZE_GIB} GiB sparse, ${DATA_GIB} GiB random at 1 GiB, on XFS"
seed_volume "$VOL" "$SIZE_GIB" "$DATA_GIB"

# step NAME CMD...: runs CMD (its stdout to $W/out-NAME), records wall
# seconds in SEC[NAME].
declare -A SEC
step() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	"$@" >"$W/out-$name" 2>>"$LOG" || { cat "$W/out-$name" >>"$LOG"; die "$name failed, see $LOG"; }
	t1=$(date +%s.%N)
	SEC[$name]=$(echo "$t1 - $t0" | bc)
	say "  $name: ${SEC[$name]} s"
}
# jf NAME FILTER: a field of step NAME's --json output.
jf() { jq -r "$2" "$W/out-$1" 2>/dev/null || echo "?"; }

# change FILE SEED: CHANGE_MIB writes of 1 MiB scattered over the data.
change() { seed_change "$1" "$CHANGE_MIB" "$DATA_GIB" "$2"; }

prim() { CAIRN_STATE_DIR=$W/state-primary "$CAIRN" "$@"; }
dr() { CAIRN_STATE_DIR=$W/state-dr "$CAIRN" "$@"; }

ROWS=$W/rows
: >"$ROWS"
for run in $(seq "$RUNS"); do
	say "run $run of $RUNS: starting Ceph RGW (objects in RAM: 2 copies of ${DATA_GIB} GiB)"
	rm -rf "$RGW_DIR" "$W/state-primary" "$W/state-dr" "$SB"
	seed_rgw_start "$RGW_DIR" $(((2 * DATA_GIB + 3) << 30))
	EP=$SEED_EP
	A="s3://fo-a$run/repo?endpoint=$EP&region=us-east-1"
	B="s3://fo-b$run/repo?endpoint=$EP&region=us-east-1"

	"$CAIRN" init --repo "$A" -q >>"$LOG" 2>&1 || die "init of A failed, see $LOG"
	"$CAIRN" init --repo "$B" --copy-keys-from "$A" -q >>"$LOG" 2>&1 || die "init --copy-keys-from failed, see $LOG"
	prim policy create p --volume "$VOL" --repo "$A" --every 1d --copy-to "$B" -q >>"$LOG" 2>&1 ||
		die "policy create failed, see $LOG"
	say "primary: first backup and copy"
	step run1 prim policy run p --json
	[ "$(jf run1 .copy.ok)" = true ] || die "the first copy did not succeed: $(cat "$W/out-run1")"
	prim export-details --repo "$A" --with-policies >"$W/token-a"
	prim export-details --repo "$B" >"$W/token-b"
	dr import "$(cat "$W/token-a")" --as prim -q >>"$LOG" 2>&1 || die "import of A failed, see $LOG"
	dr import "$(cat "$W/token-b")" --as dr -q >>"$LOG" 2>&1 || die "import of B failed, see $LOG"
	say "DR host: standby of the volume from B"
	step standby_create dr standby create sb --volume vol.img --repo dr --to "$SB" --json

	say "primary: ${CHANGE_MIB} MiB change, backup + copy; DR host: standby update"
	change "$VOL" $((42 + run))
	step run2 prim policy run p --json
	[ "$(jf run2 .copy.ok)" = true ] || die "the second copy did not succeed: $(cat "$W/out-run2")"
	step standby_update dr standby update sb --json
	[ "$(jf standby_update .to)" = "$(jf run2 .backup)" ] ||
		die "the standby update applied $(jf standby_update .to), not $(jf run2 .backup)"

	say "DR host: failover"
	step failover dr dr failover --policy p --json
	[ "$(jf failover .already)" = false ] || die "failover says failed over already"

	say "DR host: ${CHANGE_MIB} MiB change of the failed-over volume, backup at the DR site; failback"
	change "$SB" $((142 + run))
	step dr_backup dr policy run p --json
	step failback dr dr failback --policy p --to "$A" --json
	[ "$(jf failback .restore.backup)" = "$(jf dr_backup .backup)" ] ||
		die "failback restored $(jf failback .restore.backup), not the DR backup $(jf dr_backup .backup)"
	if [ "$VERIFY" = 1 ]; then
		cmp "$VOL" "$SB" || die "the failed-back volume differs from the failed-over one"
	fi

	"$CAIRN" list --repo "$B" --json >"$W/list-b" 2>>"$LOG" || die "list of B failed, see $LOG"
	# bk ID: what a backup in B read and stored, and how it knew what changed.
	bk() { jq -r --arg id "$1" '.[] | select(.id == $id) |
		"read \(.bytes_read / 1048576 | floor) MiB (\(.change_tracking)), new \(.bytes_new / 1048576 | floor) MiB"' "$W/list-b"; }

	say "restore through the secondary endpoint (bench/secondary.sh)"
	S3_ENDPOINT=$EP S3_ACCESS_KEY=$AWS_ACCESS_KEY_ID S3_SECRET_KEY=$AWS_SECRET_ACCESS_KEY \
		SEC_SIZE_MIB=${SEC_SIZE_MIB:-256} SEC_ROUNDS=${SEC_ROUNDS:-3} BENCH_DIR=$W/secondary \
		CAIRN=$CAIRN "$ROOT/bench/secondary.sh" >"$W/out-secondary" 2>>"$LOG" ||
		die "bench/secondary.sh failed, see $LOG"
	cat "$W/out-secondary" >&2
	sec_ratio=$(sed -n 's|^secondary/primary \([0-9.]*\)x.*|\1|p' "$W/out-secondary")
	sec_line=$(head -1 "$W/out-secondary" | sed 's/^restore of //')

	change_b=$((CHANGE_MIB << 20))
	upd_w=$(jf standby_update .bytes_written)
	fb_w=$(jf failback .bytes_written)
	met() { if [ "$(echo "$1" | bc)" = 1 ]; then echo yes; else echo no; fi; }
	mib() { echo "scale=1; $1 / 1048576" | bc; }
	{
		echo "| $run | standby update after ${CHANGE_MIB} MiB | ${SEC[standby_update]} | written $(mib "$upd_w") MiB (changed $(mib "$(jf standby_update .bytes_changed)") MiB) | < 2 s | $(met "${SEC[standby_update]} < 2") |"
		echo "| $run | failover (RTO) | ${SEC[failover]} (rto_s $(jf failover .rto_s)) | | < 1 s | $(met "${SEC[failover]} < 1") |"
		echo "| $run | failback after ${CHANGE_MIB} MiB at the DR site | ${SEC[failback]} | written $(mib "$fb_w") MiB = $(echo "scale=2; $fb_w / $change_b" | bc)x the change | < 2x | $(met "$fb_w < 2 * $change_b") |"
		echo "| $run | restore via the secondary endpoint | $sec_line | | within 1.2x | $(met "$sec_ratio <= 1.2") (${sec_ratio}x) |"
		echo "| $run | (context) first backup + copy | ${SEC[run1]} | | | |"
		echo "| $run | (context) standby create (full restore) | ${SEC[standby_create]} | | | |"
		echo "| $run | (context) primary backup + copy of the change | ${SEC[run2]} | $(bk "$(jf run2 .backup)") | | |"
		echo "| $run | (context) backup at the DR site | ${SEC[dr_backup]} | $(bk "$(jf dr_backup .backup)") | | |"
		echo "| $run | (context) failback: copy / restore | $(jf failback .copy.seconds) / $(jf failback .restore.seconds) | copy sent $(jf failback .copy.bytes_sent) B; restore compared $(mib "$(jf failback .restore.bytes_compared)") MiB, fetched $(mib "$(jf failback .restore.bytes_fetched)") MiB | | |"
	} >>"$ROWS"
	seed_rgw_stop "$RGW_DIR"
done

out=$RESULTS/failover-latest.md
{
	echo "# Standby, failover and failback ($STAMP)"
	echo
	echo "command: RUNS=$RUNS FO_SIZE_GIB=$SIZE_GIB FO_DATA_GIB=$DATA_GIB FO_CHANGE_MIB=$CHANGE_MIB bench/failover.sh"
	echo "changes: $CHANGE_MIB writes of 1 MiB of random data at seeded scattered offsets of the data region (primary, then the failed-over volume)"
	echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg) at the end; cairn $("$CAIRN" --version | awk '{print $2}'), Ceph RGW $(radosgw --version 2>/dev/null | awk '{print $3}') on 127.0.0.1 (memstore), volume on XFS (loop, reflink=1)"
	echo
	echo "| run | step | seconds | bytes | target | met? |"
	echo "|---|---|---:|---|---|---|"
	cat "$ROWS"
} >"$out"
cat "$out"
