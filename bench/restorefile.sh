#!/bin/bash
# bench/restorefile.sh - restore-file of one file from a backup in Ceph RGW
# on 127.0.0.1 (issue [files], target: a 10 MiB file in under 1 s,
# fetching under 4x its size).
#
# bench/make_image.sh's 4 GiB ext4 image (base.img) is backed up (with its
# catalog) into a bucket of RGW; then, RUNS times each, restore-file of
#   - the file nearest 10 MiB (a compressible log),
#   - the incompressible file (photo, video) nearest 10 MiB,
# into a fresh directory, timed (wall seconds), with the chunks and bytes
# restore-file says it fetched and the bytes that crossed this host
# (CAIRN_HTTP_STATS: requests and replies, every request of the command:
# the index, the catalog and tree nodes too), and restore-file's own
# seconds (its --json "seconds": from the index loaded to the file in
# place, without opening the repository, whose passphrase work (scrypt)
# every command pays: `cairn list` is timed alongside as that floor).
# "cold" runs start without
# a local index cache (a fresh state directory: the index objects are
# fetched), "warm" runs reuse it (what a second restore-file on the same
# host does).  Medians printed, every run in the log.
#
# Environment:
#   BENCH_DIR   default /var/tmp/cairn-bench (the image: BENCH_DIR/img,
#               built when missing; BENCH_IMG=DIR names another built one)
#   RUNS        default 5
#   CAIRN       cairn binary, default build/cairn
#   CAIRN_BASE  a second cairn binary (an earlier build) to compare with in
#               the same run: its restore-files alternate with CAIRN's on
#               the same backup and server, and get rows of their own
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/cairn-bench}
RUNS=${RUNS:-5}
CAIRN=${CAIRN:-$ROOT/build/cairn}
IMG=${BENCH_IMG:-$BENCH_DIR/img}
die() { echo "bench/restorefile: $*" >&2; exit 1; }
say() { echo "bench/restorefile: $*" >&2; }
[ -x "$CAIRN" ] || die "no cairn binary at $CAIRN (make)"
command -v radosgw >/dev/null || die "Ceph RGW missing (scripts/install-deps servers)"
if [ ! -f "$IMG/SHA256SUMS" ]; then
	say "building the benchmark image in $IMG (a few minutes)"
	mkdir -p "$BENCH_DIR"
	"$ROOT/bench/make_image.sh" "$IMG" >"$BENCH_DIR/make_image.log" 2>&1 || die "make_image.sh failed"
fi
W=$BENCH_DIR/restorefile
LOG=$W.log
rm -rf "$W"
mkdir -p "$W"
: >"$LOG"
export CAIRN_PASSPHRASE=cairn-bench-passphrase CAIRN_NO_PROGRESS=1
RGW_DIR=$W/rgw
RGW_UP=0
cleanup() {
	[ "$RGW_UP" = 1 ] && CEPH_RGW_DIR=$RGW_DIR "$ROOT/scripts/servers/start-ceph-rgw.sh" stop >>"$LOG" 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
envval() { echo "$1" | sed -n "s/^$2=//p"; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

say "starting Ceph RGW"
port=$(free_port)
RGW_UP=1
env=$(CEPH_RGW_DIR=$RGW_DIR CEPH_RGW_PORT=$port CEPH_MON_PORT=$((port + 1)) CEPH_RGW_MEM=$((4 << 30)) \
	"$ROOT/scripts/servers/start-ceph-rgw.sh" start 2>>"$LOG") || die "Ceph RGW did not start, see $LOG"
EP=$(envval "$env" S3_ENDPOINT)
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
AWS_ACCESS_KEY_ID=$(envval "$env" S3_ACCESS_KEY)
AWS_SECRET_ACCESS_KEY=$(envval "$env" S3_SECRET_KEY)
REPO="s3://files-bench/repo?endpoint=$EP&region=us-east-1"

export CAIRN_STATE_DIR=$W/state
"$CAIRN" init --repo "$REPO" -q >>"$LOG" 2>&1 || die "init failed, see $LOG"
say "backing up $IMG/base.img"
"$CAIRN" backup --repo "$REPO" --name vol --snapshot none -q "$IMG/base.img" >"$W/id" 2>>"$LOG" ||
	die "backup failed, see $LOG"
ID=$(cat "$W/id")
"$CAIRN" catalog --repo "$REPO" "$ID" / --recursive --json >"$W/cat.json" 2>>"$LOG" || die "catalog failed, see $LOG"
# The files nearest 10 MiB: any, and an incompressible one.
read -r F1 S1 < <(jq -r '[.[] | select(.type == "file")] | min_by((.size - 10485760) | fabs) | "\(.path) \(.size)"' "$W/cat.json")
read -r F2 S2 < <(jq -r '[.[] | select(.type == "file" and (.path | test("\\.(jpg|mp4)$")))] |
	min_by((.size - 10485760) | fabs) | "\(.path) \(.size)"' "$W/cat.json")

BINS=(cairn)
declare -A BIN=([cairn]=$CAIRN)
if [ -n "${CAIRN_BASE:-}" ]; then
	[ -x "$CAIRN_BASE" ] || die "no cairn binary at CAIRN_BASE=$CAIRN_BASE"
	BINS+=(base)
	BIN[base]=$CAIRN_BASE
fi

# one NAME FILE STATE [BUILD]: restore-file of FILE with state directory
# STATE (by BUILD's binary, default cairn); appends "seconds chunks
# bytes_fetched http_bytes engine_seconds http_requests" to W/NAME.
one() {
	local name=$1 file=$2 state=$3 bin=${BIN[${4:-cairn}]} t0 t1 http
	rm -rf "$W/out" "$W/stats"
	t0=$(date +%s.%N)
	CAIRN_STATE_DIR=$state CAIRN_HTTP_STATS=$W/stats "$bin" restore-file --repo "$REPO" --json "$ID" "$file" \
		"$W/out" >"$W/rf.json" 2>>"$LOG" || die "restore-file failed, see $LOG"
	t1=$(date +%s.%N)
	http=$(python3 -c '
import json, sys
js = [json.loads(l) for l in open(sys.argv[1])]
print(sum(j["bytes_sent"] + j["bytes_received"] for j in js), sum(j["requests"] for j in js))' "$W/stats")
	echo "$(echo "$t1 - $t0" | bc) $(jq -r '.chunks_fetched' "$W/rf.json") $(jq -r '.bytes_fetched' "$W/rf.json")" \
		"${http% *} $(jq -r '.seconds' "$W/rf.json") ${http#* }" | tee -a "$LOG" >>"$W/$name"
	# Right bytes, or the numbers mean nothing.
	debugfs -R "dump \"$file\" $W/ref" "$IMG/base.img" >/dev/null 2>&1
	cmp "$W/ref" "$W/out/$(basename "$file")" || die "restore-file of $file differs from the image's"
}

for run in $(seq 1 "$RUNS"); do
	for f in 1 2; do
		file=F$f
		for b in "${BINS[@]}"; do
			rm -rf "$W/cold-state"
			one "$b-cold$f" "${!file}" "$W/cold-state" "$b"
			one "$b-warm$f" "${!file}" "$W/state" "$b"
		done
	done
	t0=$(date +%s.%N)
	"$CAIRN" list --repo "$REPO" >/dev/null 2>>"$LOG"
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc >>"$W/list"
done

col() { awk -v c="$2" '{print $c}' "$W/$1" | median; }
echo "restore-file from Ceph RGW on 127.0.0.1, $RUNS runs each, medians (machine shared: noisy)"
printf '%-44s %-5s %-5s %8s %8s %7s %12s %12s %8s %6s\n' file build cache seconds engine chunks fetched http requests \
	x-size
for f in 1 2; do
	file=F$f size=S$f
	for b in "${BINS[@]}"; do
		for c in cold warm; do
			printf '%-44s %-5s %-5s %8.3f %8.3f %7s %12s %12s %8s %6.2f\n' "${!file} (${!size})" "$b" $c \
				"$(col "$b-$c$f" 1)" "$(col "$b-$c$f" 5)" "$(col "$b-$c$f" 2)" "$(col "$b-$c$f" 3)" \
				"$(col "$b-$c$f" 4)" "$(col "$b-$c$f" 6)" "$(echo "$(col "$b-$c$f" 3) / ${!size}" | bc -l)"
		done
	done
done
echo "cairn list (opening the repository, the floor of every command): $(median <"$W/list") s"
