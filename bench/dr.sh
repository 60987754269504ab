#!/bin/bash
# bench/dr.sh - disaster-recovery copies (issue [dr]), the seed scenario:
# a 20 GiB sparse volume holding 5 GiB of random data, backed up to a
# bucket of Ceph RGW on 127.0.0.1 and copied to a second bucket of the
# same server (a repository of the same key family: `init
# --copy-keys-from`, so packs go by server-side CopyObject), then once to
# Azurite (an unrelated repository: every blob decrypted, verified and
# re-sealed through this host).  Method and numbers: docs/benchmarks.md
# ("Disaster-recovery copies").
#
# Steps, each timed (wall seconds, with the bytes that crossed this host
# as libcurl counted them: CAIRN_HTTP_STATS, requests and response
# bodies of both repositories):
#   1. first backup to the source bucket
#   2. first copy to the second bucket
#   3. a change of 64 MiB (64 writes of 1 MiB of new random data at
#      seeded offsets of the data region), incremental backup, then copy
#   4. a copy with nothing new
#   5. restore of the newest backup from the source and from the copy
#      (both compared with the volume, untimed)
#   6. first copy of both backups to Azurite (unrelated keys)
# The data is random, so compression plays no part: what is measured is
# reading, hashing, sealing and moving bytes.  The volume is an image file
# on XFS (a loop device, reflink=1), as a VM disk on a host with instant
# snapshots: each backup takes a reflink snapshot (cairn's default, --snapshot
# auto) and the incremental reads only the extents that changed since the
# previous one (fiemap).  DR_FS=ext4 keeps it on BENCH_DIR's file system
# (no reflink: each backup reads the whole image, with change tags).
#
# Environment:
#   BENCH_DIR          default /var/tmp/cairn-bench
#   DR_SIZE_GIB        volume size, default 20
#   DR_DATA_GIB        random data in it, default 5 (at 1 GiB from the start)
#   DR_CHANGE_MIB      the change, default 64
#   DR_AZURE           1 (default): also copy to Azurite; 0: skip
#   DR_FS              xfs (default; needs root) or host
#   CAIRN              cairn binary, default build/cairn
#   DR_BEFORE          another cairn binary (e.g. main's): its first copy
#                      of the same backup is timed too, to a third bucket
#                      of the same repository family, in the same run (the
#                      row copy1_before, and its ratio); default none
#   DR_BEFORE_ORDER    before-first (default) or after-first: which of the
#                      two first copies runs first
#   DR_FIRST_ONLY      1: stop after the first backup and copy (no change,
#                      restores or Azurite); default 0
#   BENCH_RESULTS      default bench/results (writes dr-latest.md)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/cairn-bench}
SIZE_GIB=${DR_SIZE_GIB:-20}
DATA_GIB=${DR_DATA_GIB:-5}
CHANGE_MIB=${DR_CHANGE_MIB:-64}
DR_AZURE=${DR_AZURE:-1}
DR_FS=${DR_FS:-xfs}
CAIRN=${CAIRN:-$ROOT/build/cairn}
DR_BEFORE=${DR_BEFORE:-}
DR_BEFORE_ORDER=${DR_BEFORE_ORDER:-before-first}
DR_FIRST_ONLY=${DR_FIRST_ONLY:-0}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}

die() { echo "bench/dr: $*" >&2; exit 1; }
say() { echo "bench/dr: $*" >&2; }

case $BENCH_DIR in /*) ;; *) die "BENCH_DIR must be absolute" ;; esac
[[ $SIZE_GIB =~ ^[1-9][0-9]*$ && $DATA_GIB =~ ^[1-9][0-9]*$ && $CHANGE_MIB =~ ^[1-9][0-9]*$ ]] ||
	die "DR_SIZE_GIB, DR_DATA_GIB and DR_CHANGE_MIB must be positive integers"
[ $((DATA_GIB + 1)) -le "$SIZE_GIB" ] || die "DR_DATA_GIB + 1 must fit in DR_SIZE_GIB"
[ -x "$CAIRN" ] || die "no cairn binary at $CAIRN (make)"
[ -z "$DR_BEFORE" ] || [ -x "$DR_BEFORE" ] || die "no cairn binary at DR_BEFORE=$DR_BEFORE"
case $DR_BEFORE_ORDER in before-first | after-first) ;; *) die "DR_BEFORE_ORDER: before-first or after-first" ;; esac
command -v radosgw >/dev/null || die "Ceph RGW missing (scripts/install-deps servers)"

W=$BENCH_DIR/dr
LOGDIR=$BENCH_DIR/logs
mkdir -p "$BENCH_DIR" "$LOGDIR" "$RESULTS"
exec 9>"$BENCH_DIR/.lock"
flock -n 9 || die "another bench run holds $BENCH_DIR/.lock"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG=$LOGDIR/dr-$STAMP.log
: >"$LOG"
rm -rf "$W"
mkdir -p "$W"
cp "$CAIRN" "$W/cairn"
CAIRN=$W/cairn
if [ -n "$DR_BEFORE" ]; then
	cp "$DR_BEFORE" "$W/cairn-before"
	DR_BEFORE=$W/cairn-before
fi

export CAIRN_PASSPHRASE=cairn-bench-passphrase CAIRN_TO_PASSPHRASE=cairn-bench-passphrase
export CAIRN_FROM_PASSPHRASE=cairn-bench-passphrase
export CAIRN_NO_PROGRESS=1 CAIRN_STATE_DIR=$W/state

. "$ROOT/bench/seed.sh"
RGW_DIR=$W/rgw AZ_DIR=$W/azurite
AZ_UP=0
X=$W/xfs
VOL=$W/vol.img
cleanup() {
	seed_xfs_umount "$X" "$W/xfs.fsimg"
	seed_rgw_stop "$RGW_DIR"
	[ "$AZ_UP" = 1 ] && AZURITE_DIR=$AZ_DIR "$ROOT/scripts/servers/start-azurite.sh" stop >>"$LOG" 2>&1
	rm -rf "$W/vol.img" "$W"/restore-*.img
}
trap cleanup EXIT

COPIES=2
[ -z "$DR_BEFORE" ] || COPIES=3
say "starting Ceph RGW (objects in RAM: $COPIES copies of ${DATA_GIB} GiB)"
seed_rgw_start "$RGW_DIR" $(((COPIES * DATA_GIB + 3) << 30))
EP=$SEED_EP
SRC="s3://dr-src/repo?endpoint=$EP&region=us-east-1"
DST="s3://dr-dst/repo?endpoint=$EP&region=us-east-1"
BEFORE_DST="s3://dr-before/repo?endpoint=$EP&region=us-east-1"

if [ "$DR_FS" = xfs ]; then
	[ "$(id -u)" = 0 ] || die "DR_FS=xfs needs root (loop device, mount); DR_FS=host runs without"
	seed_xfs_mount "$W/xfs.fsimg" $((SIZE_GIB + 8)) "$X"
	VOL=$X/vol.img
fi
say "building the volume: ${SIZE_GIB} GiB sparse, ${DATA_GIB} GiB random at 1 GiB, on $DR_FS"
seed_volume "$VOL" "$SIZE_GIB" "$DATA_GIB"

# step NAME CMD...: runs CMD with CAIRN_HTTP_STATS, records wall seconds
# and the bytes through this host (sent + received, every client).
declare -A SEC BYTES
step() {
	local name=$1 stats=$W/stats-$1 t0 t1
	shift
	rm -f "$stats"
	t0=$(date +%s.%N)
	CAIRN_HTTP_STATS=$stats "$@" >"$W/out-$name" 2>>"$LOG" || { cat "$W/out-$name" >>"$LOG"; die "$name failed, see $LOG"; }
	t1=$(date +%s.%N)
	SEC[$name]=$(echo "$t1 - $t0" | bc)
	BYTES[$name]=$( [ -f "$stats" ] && python3 -c '
import json, sys
print(sum(j["bytes_sent"] + j["bytes_received"] for j in map(json.loads, open(sys.argv[1]))))' "$stats" || echo 0)
	say "  $name: ${SEC[$name]} s, $(numfmt --to=iec-i --suffix=B "${BYTES[$name]}") through this host"
}

change() { seed_change "$VOL" "$CHANGE_MIB" "$DATA_GIB" 42; }

"$CAIRN" init --repo "$SRC" -q >>"$LOG" 2>&1 || die "init of the source failed, see $LOG"
"$CAIRN" init --repo "$DST" --copy-keys-from "$SRC" -q >>"$LOG" 2>&1 || die "init --copy-keys-from failed, see $LOG"
if [ -n "$DR_BEFORE" ]; then
	"$CAIRN" init --repo "$BEFORE_DST" --copy-keys-from "$SRC" -q >>"$LOG" 2>&1 ||
		die "init --copy-keys-from failed, see $LOG"
fi

say "first backup and first copy"
step backup1 "$CAIRN" backup "$VOL" --name vol --repo "$SRC" --json
copy_before() { step copy1_before "$DR_BEFORE" copy --volume vol --repo "$SRC" --to "$BEFORE_DST" --json; }
[ -n "$DR_BEFORE" ] && [ "$DR_BEFORE_ORDER" = before-first ] && copy_before
step copy1 "$CAIRN" copy --volume vol --repo "$SRC" --to "$DST" --json
[ -n "$DR_BEFORE" ] && [ "$DR_BEFORE_ORDER" = after-first ] && copy_before
cp "$W/out-copy1" "$W/copy1.json"
if [ "$DR_FIRST_ONLY" = 1 ]; then
	DR_AZURE=0
else
say "change of ${CHANGE_MIB} MiB, incremental backup and copy"
change
step backup2 "$CAIRN" backup "$VOL" --name vol --repo "$SRC" --json
step copy2 "$CAIRN" copy --volume vol --repo "$SRC" --to "$DST" --json
step copy3 "$CAIRN" copy --volume vol --repo "$SRC" --to "$DST" --json
say "restores of the newest backup"
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
step restore_src "$CAIRN" restore vol@latest "$W/restore-src.img" --repo "$SRC"
cmp "$VOL" "$W/restore-src.img" || die "restore from the source differs from the volume"
rm -f "$W/restore-src.img"
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
step restore_dst "$CAIRN" restore vol@latest "$W/restore-dst.img" --repo "$DST"
cmp "$VOL" "$W/restore-dst.img" || die "restore from the copy differs from the volume"
rm -f "$W/restore-dst.img"
fi

if [ "$DR_AZURE" = 1 ]; then
	say "starting Azurite; copy to an unrelated repository there"
	AZ_UP=1
	aenv=$(AZURITE_DIR=$AZ_DIR AZURITE_PORT=$(seed_free_port) "$ROOT/scripts/servers/start-azurite.sh" start 2>>"$LOG") ||
		die "Azurite did not start, see $LOG"
	export AZURE_STORAGE_KEY
	AZURE_STORAGE_KEY=$(seed_envval "$aenv" AZURE_KEY)
	AZ="azure://$(seed_envval "$aenv" AZURE_ACCOUNT)/cairn-dr/repo?endpoint=$(seed_envval "$aenv" AZURE_BLOB_ENDPOINT)"
	"$CAIRN" init --repo "$AZ" -q >>"$LOG" 2>&1 || die "init on Azurite failed, see $LOG"
	step copy_azure "$CAIRN" copy --volume vol --repo "$SRC" --to "$AZ" --json
fi

# What the copies reported about themselves.
field() { python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
d = d[0] if isinstance(d, list) else d
v = d
for k in sys.argv[2].split("."):
    v = v.get(k, "?") if isinstance(v, dict) else "?"
print(v)' "$W/out-$1" "$2" 2>/dev/null || echo "?"; }

gib() { echo "scale=2; $1 / 1073741824" | bc; }
mib() { echo "scale=1; $1 / 1048576" | bc; }
out=$RESULTS/dr-latest.md
opts=
[ -z "$DR_BEFORE" ] || opts+="DR_BEFORE=... DR_BEFORE_ORDER=$DR_BEFORE_ORDER "
[ "$DR_FIRST_ONLY" != 1 ] || opts+="DR_FIRST_ONLY=1 "
ratio() { echo "scale=2; ${SEC[backup1]} / ${SEC[$1]}" | bc; }
{
	echo "# Disaster-recovery copies ($STAMP)"
	echo
	echo "command: DR_SIZE_GIB=$SIZE_GIB DR_DATA_GIB=$DATA_GIB DR_CHANGE_MIB=$CHANGE_MIB DR_AZURE=$DR_AZURE DR_FS=$DR_FS ${opts}bench/dr.sh"
	[ "$DR_FIRST_ONLY" = 1 ] ||
		echo "change tracking: backup1 $(field backup1 change_tracking), backup2 $(field backup2 change_tracking), read $(field backup2 bytes_read) bytes (snapshot: $(field backup2 snapshot))"
	echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; cairn $("$CAIRN" --version | awk '{print $2}'), Ceph RGW $(radosgw --version 2>/dev/null | awk '{print $3}') on 127.0.0.1 (memstore)"
	echo
	echo "| step | seconds | through this host | copy: bytes sent / skipped |"
	echo "|---|---:|---:|---:|"
	for s in backup1 copy1_before copy1 backup2 copy2 copy3 restore_src restore_dst copy_azure; do
		[ -n "${SEC[$s]:-}" ] || continue
		extra=""
		case $s in copy*) extra="$(field "$s" bytes_sent) / $(field "$s" bytes_skipped)" ;; esac
		echo "| $s | ${SEC[$s]} | $(mib "${BYTES[$s]}") MiB | $extra |"
	done
	echo
	echo "Targets (issue [dr]):"
	if [ "$DR_FIRST_ONLY" != 1 ]; then
		echo "- incremental backup + copy of the ${CHANGE_MIB} MiB change: $(echo "${SEC[backup2]} + ${SEC[copy2]}" | bc) s (target < 5 s; Kasten 42 s + 6 min 4 s)"
		echo "- copy with nothing new: ${SEC[copy3]} s (target < 1 s)"
	fi
	echo "- first copy vs first backup: $(ratio copy1)x faster (target >= 3x);" \
		"$(mib "${BYTES[copy1]}") MiB through this host for $(gib $((DATA_GIB << 30))) GiB of data ($(echo "scale=3; 100 * ${BYTES[copy1]} / ($DATA_GIB * 1073741824)" | bc)%; target < 1%)"
	[ -z "$DR_BEFORE" ] || echo "- the same with DR_BEFORE's binary (copy1_before): $(ratio copy1_before)x faster"
	[ "$DR_FIRST_ONLY" = 1 ] ||
		echo "- restore at the destination ${SEC[restore_dst]} s vs at the source ${SEC[restore_src]} s"
} >"$out"
cat "$out"
